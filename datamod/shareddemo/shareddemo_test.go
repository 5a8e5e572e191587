package shareddemo_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/wecomapp/wecomapp/datamod/shareddemo"
	"github.com/wecomapp/wecomapp/demo"
)

var now = time.Date(2026, 12, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

func small() *demo.University {
	s := demo.Small()
	s.Year = 2026
	return demo.Generate(s)
}

func open(t testing.TB, path string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// digest is every table's rows, for comparing two builds.
func digest(t *testing.T, db *sqlx.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range shareddemo.Tables() {
		var s string
		// group_concat over the rows in key order: equal text, equal tables.
		if err := db.Get(&s, "SELECT COALESCE(group_concat(r, '|'), '') FROM (SELECT "+concatAll(t, db, table)+" AS r FROM "+table+" ORDER BY 1)"); err != nil {
			t.Fatal(err)
		}
		out[table] = s
	}
	return out
}

func concatAll(t *testing.T, db *sqlx.DB, table string) string {
	var cols []string
	if err := db.Select(&cols, "SELECT name FROM pragma_table_info(?)", table); err != nil {
		t.Fatal(err)
	}
	expr := ""
	for i, c := range cols {
		if i > 0 {
			expr += " || ',' || "
		}
		expr += "COALESCE(" + c + ", '')"
	}
	return expr
}

func TestEnsureBuildsEveryPersonsRowsOnceAndTheSameEachTime(t *testing.T) {
	ctx := context.Background()
	u := small()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	start := time.Now()
	if err := shareddemo.Ensure(ctx, a, u, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("small scale built in %v", time.Since(start))
	if err := shareddemo.Ensure(ctx, b, u, now); err != nil {
		t.Fatal(err)
	}
	da, db := open(t, a), open(t, b)
	ga, gb := digest(t, da), digest(t, db)
	for table := range ga {
		if ga[table] != gb[table] {
			t.Errorf("%s differs between two builds", table)
		}
		if ga[table] == "" {
			t.Errorf("%s is empty", table)
		}
	}
	dc := u.DataCenter()
	for _, s := range dc.Students {
		var n int
		if err := da.Get(&n, "SELECT COUNT(*) FROM course_schedule WHERE person_id = ?", s.StudentNo); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("student %s has no timetable", s.StudentNo)
		}
	}
	for _, f := range dc.Faculty {
		var n int
		if err := da.Get(&n, "SELECT COUNT(*) FROM salary_slips WHERE person_id = ?", f.StaffNo); err != nil {
			t.Fatal(err)
		}
		if n != 6 {
			t.Errorf("%s has %d salary slips, want 6", f.StaffNo, n)
		}
	}
	// Ensure leaves a file built this month from this university alone…
	if _, err := da.Exec("DELETE FROM semesters"); err != nil {
		t.Fatal(err)
	}
	da.Close()
	if err := shareddemo.Ensure(ctx, a, u, now.AddDate(0, 0, 10)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, a, "semesters"); n != 0 {
		t.Errorf("Ensure rebuilt a current file (%d semesters)", n)
	}
	// …and rebuilds one of another month.
	if err := shareddemo.Ensure(ctx, a, u, now.AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, a, "semesters"); n == 0 {
		t.Error("Ensure kept last month's file")
	}
}

func count(t *testing.T, path, table string) int {
	t.Helper()
	db := open(t, path)
	defer db.Close()
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGradePoint(t *testing.T) {
	for score, want := range map[float64]float64{100: 4, 90: 4, 89: 3.7, 84: 3.3, 78: 3, 60: 1, 59: 0} {
		if got := shareddemo.GradePoint(score); got != want {
			t.Errorf("GradePoint(%v) = %v, want %v", score, got, want)
		}
	}
}

// BenchmarkEnsureFull builds the full-scale demo's shared file (36,000
// people): go test -run X -bench EnsureFull -benchtime 1x ./datamod/shareddemo
func BenchmarkEnsureFull(b *testing.B) {
	s := demo.Full()
	s.Year = 2026
	u := demo.Generate(s)
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "shared.db")
		start := time.Now()
		if err := shareddemo.Ensure(context.Background(), path, u, now); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/build")
		db := open(b, path)
		total := 0
		for _, table := range shareddemo.Tables() {
			var n int
			if err := db.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d rows", table, n)
			total += n
		}
		b.ReportMetric(float64(total), "rows")
	}
}
