package store_test

import (
	"context"
	"errors"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func TestMigrationNumberingIsContiguous(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.MySQL} {
		fsys, err := store.MigrationsFS(d)
		if err != nil {
			t.Fatal(err)
		}
		names, _ := fs.Glob(fsys, "*.sql")
		sort.Strings(names)
		for i, n := range names {
			v, _ := strconv.Atoi(n[:4])
			if v != i+1 {
				t.Fatalf("%s: migration %s has number %d, want %04d (numbers must be contiguous)", d, n, v, i+1)
			}
			b, _ := fs.ReadFile(fsys, n)
			if m := regexp.MustCompile(`\{\{[A-Z]+\}\}`).Find(b); m != nil {
				t.Fatalf("%s: %s has an unknown macro %s", d, n, m)
			}
		}
	}
}

func TestMigrateUpIsIdempotentAndReported(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate: applied %v, err %v", applied, err)
		}
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 {
			t.Fatal("no migrations reported")
		}
		for _, s := range st {
			if !s.Applied || s.AppliedAt.IsZero() {
				t.Fatalf("migration %s not applied: %+v", s.Name, s)
			}
		}
		if n, err := db.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("pending = %d, %v", n, err)
		}
	})
}

func TestFreshDatabaseReportsPending(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: "file:" + t.TempDir() + "/fresh.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.Pending(ctx)
	if err != nil || n == 0 {
		t.Fatalf("fresh database: pending = %d, %v; want every migration pending", n, err)
	}
}

func TestDataCenterLoadUpserts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dc := store.DataCenter{
			Departments: []store.DCDepartment{{Code: "001", Name: "计算机学院", Kind: "college", Enabled: true}},
			Faculty:     []store.DCFaculty{{StaffNo: "T0001", Name: "张老师", DeptCode: "001", Category: "staff", Status: "active"}},
			Students:    []store.DCStudent{{StudentNo: "2024001", Name: "李同学", CollegeCode: "001", Grade: 2024, Level: "undergraduate", Status: "enrolled"}},
		}
		if err := db.LoadDataCenter(ctx, dc, time.Now()); err != nil {
			t.Fatal(err)
		}
		// The next night the teacher became the college's head: the row is updated, not duplicated.
		dc.Faculty[0].Position, dc.Faculty[0].IsLeader = "院长", true
		if err := db.LoadDataCenter(ctx, dc, time.Now()); err != nil {
			t.Fatal(err)
		}
		c, err := db.CountDataCenter(ctx)
		if err != nil || c != (store.DataCenterCounts{Departments: 1, Faculty: 1, Students: 1}) {
			t.Fatalf("counts = %+v, %v", c, err)
		}
		f, err := db.DCFacultyByNo(ctx, "T0001")
		if err != nil || f.Position != "院长" || !f.IsLeader {
			t.Fatalf("faculty = %+v, %v", f, err)
		}
		if _, err := db.DCFacultyByNo(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing faculty: %v, want ErrNotFound", err)
		}
	})
}

func TestDuplicateKeyIsRecognised(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		q := "INSERT INTO dc_departments (code, name, parent_code, kind, sort_order, enabled, updated_at) VALUES ('X', 'x', '', 'office', 0, 1, 0)"
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
		_, err := db.ExecContext(ctx, q)
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v, not recognised as a unique violation", err)
		}
	})
}

func TestFailingMigrationIsNamed(t *testing.T) {
	// A migration whose SQL the engine refuses must name itself in the error.
	// We cannot add a bad file to the embedded set, so check the message
	// shape through a database that already has a conflicting table.
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: "file:" + t.TempDir() + "/conflict.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE dc_faculty (x INT)"); err != nil {
		t.Fatal(err)
	}
	_, err = db.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "migration 0001_datacenter.sql failed") || !strings.Contains(err.Error(), "dc_faculty") {
		t.Fatalf("err = %v; want it to name the migration and the reason", err)
	}
}
