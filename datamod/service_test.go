package datamod_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	_ "modernc.org/sqlite"

	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/datamod/shareddemo"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// now is a Wednesday of the 13th teaching week of 2026-2027-1 (which
// starts Monday 2026-09-07).
var now = time.Date(2026, 12, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

var (
	uniOnce sync.Once
	uni     *demo.University
)

func university() *demo.University {
	uniOnce.Do(func() {
		s := demo.Small()
		s.Year = 2026
		uni = demo.Generate(s)
	})
	return uni
}

// env is a service over a fresh small shared demo (SQLite, opened
// read-only as serve does) and a migrated main database holding the data
// center's students and their counselors.
type env struct {
	svc    *datamod.Service
	shared *sqlx.DB // the service's read-only handle
	rw     *sqlx.DB // a writable handle of the same database, for the tests' changes
	main   *store.DB
	dc     store.DataCenter
	logs   *observer.ObservedLogs
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	if err := shareddemo.Ensure(ctx, path, university(), now); err != nil {
		t.Fatal(err)
	}
	shared, dialect, err := datamod.Open(ctx, datamod.OpenOptions{Driver: "sqlite", DSN: "file:" + path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shared.Close() })
	rw, err := sqlx.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rw.Close() })
	return finishEnv(t, shared, rw, dialect)
}

func finishEnv(t *testing.T, shared, rw *sqlx.DB, dialect string) *env {
	t.Helper()
	ctx := context.Background()
	main := storetest.SQLite(t)
	dc := university().DataCenter()
	if err := main.LoadDataCenter(ctx, dc, now); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.WarnLevel)
	svc := datamod.New(datamod.Options{Shared: shared, Dialect: dialect, DB: main, Logger: zap.New(core), Now: func() time.Time { return now }})
	if err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, shared: shared, rw: rw, main: main, dc: dc, logs: logs}
}

// studentWithScores is an undergraduate of the earliest grade (the most
// scores) and their counselor.
func (e *env) studentWithScores(t *testing.T, skip ...string) store.DCStudent {
	t.Helper()
	var best store.DCStudent
	for _, s := range e.dc.Students {
		if s.CounselorNo == "" || s.ClassCode == "" || contains(skip, s.StudentNo) || contains(skip, s.CounselorNo) {
			continue
		}
		if best.StudentNo == "" || s.Grade < best.Grade {
			best = s
		}
	}
	if best.StudentNo == "" {
		t.Fatal("no student with a counselor")
	}
	return best
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ids are the ids of person's rows of table, straight from the shared
// database.
func ids(t *testing.T, db *sqlx.DB, table, person string) []string {
	t.Helper()
	var out []string
	if err := db.Select(&out, "SELECT CAST(id AS CHAR) FROM "+table+" WHERE person_id = ? ORDER BY id", person); err != nil {
		t.Fatal(err)
	}
	return out
}

func allRows(t *testing.T, svc *datamod.Service, key string, v datamod.Viewer, q datamod.Query) ([]datamod.Row, datamod.Result) {
	t.Helper()
	var rows []datamod.Row
	var first datamod.Result
	for page := 0; ; page++ {
		q.Page = page
		res, err := svc.List(context.Background(), key, v, q)
		if err != nil {
			t.Fatalf("List %s page %d: %v", key, page, err)
		}
		if page == 0 {
			first = res
		}
		rows = append(rows, res.Rows...)
		if !res.More {
			return rows, first
		}
		if page > 100 {
			t.Fatal("List never ends")
		}
	}
}

func keys(rows []datamod.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Key
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i])
		b, _ := strconv.Atoi(out[j])
		return a < b
	})
	return out
}

func cell(cells []datamod.Cell, label string) (datamod.Cell, bool) {
	for _, c := range cells {
		if c.Label == label {
			return c, true
		}
	}
	return datamod.Cell{}, false
}

func TestShippedDefinitionsValidateAgainstTheDemo(t *testing.T) {
	e := newEnv(t)
	defs, err := datamod.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range defs {
		got = append(got, d.Key)
		if ps := e.svc.Validate(context.Background(), d); len(ps) > 0 {
			t.Errorf("%s: %v", d.Key, ps)
		}
	}
	want := "campus_card courses exams library_loans network_fee research salary scores"
	if strings.Join(got, " ") != want {
		t.Errorf("shipped %v, want %s", got, want)
	}
	stored, err := e.svc.Definitions(context.Background())
	if err != nil || len(stored) != len(defs) {
		t.Fatalf("seeded %d definitions (%v), want %d", len(stored), err, len(defs))
	}
}

func TestScoresAreTheStudentsOwnAndTheGPAIsWeightedByCredits(t *testing.T) {
	e := newEnv(t)
	testScores(t, e)
}

func testScores(t *testing.T, e *env) {
	ctx := context.Background()
	st := e.studentWithScores(t)
	v := datamod.Viewer{UserID: st.StudentNo}
	rows, res := allRows(t, e.svc, "scores", v, datamod.Query{})
	want := ids(t, e.shared, "scores", st.StudentNo)
	if len(want) == 0 {
		t.Fatalf("%s has no scores in the demo", st.StudentNo)
	}
	if got := keys(rows); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s's list shows rows %v, want their own %v", st.StudentNo, got, want)
	}
	// The GPA by hand: sum(grade_point × credit) / sum(credit).
	var recs []struct {
		GP     float64 `db:"grade_point"`
		Credit float64 `db:"credit"`
	}
	if err := e.shared.Select(&recs, "SELECT grade_point, credit FROM scores WHERE person_id = ?", st.StudentNo); err != nil {
		t.Fatal(err)
	}
	var num, den float64
	for _, r := range recs {
		num += r.GP * r.Credit
		den += r.Credit
	}
	gpa := fmt.Sprintf("%.2f", math.Round(num/den*100)/100)
	if c, ok := cell(res.Summary, "平均学分绩点"); !ok || c.Value != gpa {
		t.Errorf("GPA shows %+v, want %s", c, gpa)
	}
	if c, _ := cell(res.Summary, "已修学分"); c.Value != strconv.FormatFloat(den, 'f', 1, 64) {
		t.Errorf("credits show %q, want %.1f", c.Value, den)
	}
	if c, _ := cell(res.Summary, "课程数"); c.Value != strconv.Itoa(len(recs)) {
		t.Errorf("course count shows %q, want %d", c.Value, len(recs))
	}
	fig, err := e.svc.Figure(ctx, "scores", v)
	if err != nil || fig.Value != gpa {
		t.Errorf("tile figure %+v, %v; want the GPA %s", fig, err, gpa)
	}
	// Their own row opens; a row of another student's does not, though it exists.
	if _, err := e.svc.Detail(ctx, "scores", v, "", want[0]); err != nil {
		t.Errorf("own detail: %v", err)
	}
	other := e.studentWithScores(t, st.StudentNo)
	theirs := ids(t, e.shared, "scores", other.StudentNo)
	if len(theirs) == 0 {
		t.Fatal("the other student has no scores")
	}
	if _, err := e.svc.Detail(ctx, "scores", v, "", theirs[0]); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("another student's row key: %v, want ErrNotFound", err)
	}
	if _, err := e.svc.Detail(ctx, "scores", v, other.StudentNo, theirs[0]); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("another student's row as their subject: %v, want ErrNotFound", err)
	}
	if _, err := e.svc.List(ctx, "scores", v, datamod.Query{Subject: other.StudentNo}); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("another student as the subject: %v, want ErrNotFound", err)
	}
}

func TestCounselorsSeeTheirStudentsWhereTheDefinitionAllows(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := e.studentWithScores(t)
	counselor := datamod.Viewer{UserID: st.CounselorNo}
	students, err := e.svc.Students(ctx, counselor)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range students {
		found = found || s[0] == st.StudentNo && s[1] == st.Name
	}
	if !found {
		t.Fatalf("the counselor's picker %v lacks %s %s", students, st.StudentNo, st.Name)
	}
	rows, _ := allRows(t, e.svc, "scores", counselor, datamod.Query{Subject: st.StudentNo})
	if got, want := keys(rows), ids(t, e.shared, "scores", st.StudentNo); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the counselor sees %v of their student's scores, want %v", got, want)
	}
	if _, err := e.svc.Detail(ctx, "scores", counselor, st.StudentNo, rows[0].Key); err != nil {
		t.Errorf("the counselor opens their student's score: %v", err)
	}
	// Another counselor's student.
	var foreign store.DCStudent
	for _, s := range e.dc.Students {
		if s.CounselorNo != "" && s.CounselorNo != st.CounselorNo {
			foreign = s
			break
		}
	}
	if foreign.StudentNo == "" {
		t.Fatal("the demo has one counselor only")
	}
	if _, err := e.svc.List(ctx, "scores", counselor, datamod.Query{Subject: foreign.StudentNo}); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("another counselor's student: %v, want ErrNotFound", err)
	}
	// Salary allows no one but the person: not their student (who has
	// none), not a colleague.
	if _, err := e.svc.List(ctx, "salary", counselor, datamod.Query{Subject: st.StudentNo}); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("salary of the counselor's student: %v, want ErrNotFound", err)
	}
	if _, err := e.svc.List(ctx, "salary", counselor, datamod.Query{Subject: foreign.CounselorNo}); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("a colleague's salary: %v, want ErrNotFound", err)
	}
	slip := ids(t, e.shared, "salary_slips", foreign.CounselorNo)
	if _, err := e.svc.Detail(ctx, "salary", counselor, "", slip[0]); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("a colleague's salary slip by its key: %v, want ErrNotFound", err)
	}
	// A student is no one's counselor.
	if _, err := e.svc.List(ctx, "scores", datamod.Viewer{UserID: st.StudentNo}, datamod.Query{Subject: foreign.StudentNo}); !errors.Is(err, datamod.ErrNotFound) {
		t.Errorf("a student asking for another's scores: %v, want ErrNotFound", err)
	}
}

func TestFiltersChoicesAndPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := e.studentWithScores(t)
	v := datamod.Viewer{UserID: st.StudentNo}
	res, err := e.svc.List(ctx, "scores", v, datamod.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var sems []string
	if err := e.shared.Select(&sems, "SELECT DISTINCT semester FROM scores WHERE person_id = ? ORDER BY semester DESC", st.StudentNo); err != nil {
		t.Fatal(err)
	}
	if got := res.Choices["semester"]; strings.Join(got, ",") != strings.Join(sems, ",") || len(sems) < 2 {
		t.Fatalf("semester choices %v, want the student's own %v (newest first)", got, sems)
	}
	rows, fres := allRows(t, e.svc, "scores", v, datamod.Query{Filters: map[string]string{"semester": sems[1]}})
	want := 0
	if err := e.shared.Get(&want, "SELECT COUNT(*) FROM scores WHERE person_id = ? AND semester = ?", st.StudentNo, sems[1]); err != nil {
		t.Fatal(err)
	}
	if len(rows) != want {
		t.Errorf("semester %s shows %d rows, want %d", sems[1], len(rows), want)
	}
	for _, r := range rows {
		if c, _ := cell(r.Cells, "学期"); c.Value != sems[1] {
			t.Errorf("semester filter %s shows a row of %s", sems[1], c.Value)
		}
	}
	if c, _ := cell(fres.Summary, "课程数"); c.Value != strconv.Itoa(want) {
		t.Errorf("the summary of one semester counts %s, want %d", c.Value, want)
	}
	// Text: contains, with LIKE's wildcards taken literally.
	name := ""
	if c, ok := cell(rows[0].Cells, "课程"); ok {
		name = c.Value
	}
	part := string([]rune(name)[1:3])
	rows, _ = allRows(t, e.svc, "scores", v, datamod.Query{Filters: map[string]string{"course_name": part}})
	if len(rows) == 0 {
		t.Errorf("course name containing %q finds nothing", part)
	}
	for _, r := range rows {
		if c, _ := cell(r.Cells, "课程"); !strings.Contains(c.Value, part) {
			t.Errorf("course filter %q shows %q", part, c.Value)
		}
	}
	if rows, _ := allRows(t, e.svc, "scores", v, datamod.Query{Filters: map[string]string{"course_name": "%"}}); len(rows) != 0 {
		t.Errorf("a course name of %%: %d rows, want none (no wildcard)", len(rows))
	}
	// A value is a value, never SQL.
	for _, f := range []map[string]string{{"semester": "' OR '1'='1"}, {"course_name": "' OR 1=1 --"}} {
		if rows, _ := allRows(t, e.svc, "scores", v, datamod.Query{Filters: f}); len(rows) != 0 {
			t.Errorf("filter %v shows %d rows", f, len(rows))
		}
	}
	// Pages of 4 cover the list once, in order, More until the last.
	def, err := e.svc.Definition(ctx, "scores")
	if err != nil {
		t.Fatal(err)
	}
	full, _ := allRows(t, e.svc, "scores", v, datamod.Query{})
	def.PageSize = 4
	if err := e.svc.Put(ctx, def, "T00001"); err != nil {
		t.Fatal(err)
	}
	paged, _ := allRows(t, e.svc, "scores", v, datamod.Query{})
	if len(paged) != len(full) || len(full) <= 4 {
		t.Fatalf("pages of 4 show %d rows, the whole list %d", len(paged), len(full))
	}
	for i := range full {
		if paged[i].Key != full[i].Key {
			t.Fatalf("row %d: paged %s, whole %s", i, paged[i].Key, full[i].Key)
		}
	}
	first, _ := e.svc.List(ctx, "scores", v, datamod.Query{})
	if len(first.Rows) != 4 || !first.More {
		t.Errorf("first page: %d rows, More %v", len(first.Rows), first.More)
	}
	// A date range on the card: the days asked, whole.
	staff := e.dc.Faculty[0].StaffNo
	all, _ := allRows(t, e.svc, "campus_card", datamod.Viewer{UserID: staff}, datamod.Query{})
	day := ""
	if c, ok := cell(all[len(all)/2].Cells, "时间"); ok {
		day = c.Value[:10]
	}
	var wantDay int
	if err := e.shared.Get(&wantDay, "SELECT COUNT(*) FROM card_transactions WHERE person_id = ? AND substr(occurred_at, 1, 10) = ?", staff, day); err != nil {
		t.Fatal(err)
	}
	dayRows, _ := allRows(t, e.svc, "campus_card", datamod.Viewer{UserID: staff}, datamod.Query{Filters: map[string]string{"occurred_at": day + ".." + day}})
	if len(dayRows) != wantDay || wantDay == 0 {
		t.Errorf("card transactions of %s: %d, want %d", day, len(dayRows), wantDay)
	}
}

func TestSensitiveFieldsAreMaskedButOnTheOwnDetailPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.dc.Faculty[0].StaffNo
	v := datamod.Viewer{UserID: staff}
	res, err := e.svc.List(ctx, "salary", v, datamod.Query{})
	if err != nil || len(res.Rows) == 0 {
		t.Fatalf("salary list: %d rows, %v", len(res.Rows), err)
	}
	net, _ := cell(res.Rows[0].Cells, "实发合计")
	if !net.Masked || net.Value != "****" {
		t.Errorf("net pay in the list: %+v, want masked", net)
	}
	row, err := e.svc.Detail(ctx, "salary", v, "", res.Rows[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	net, _ = cell(row.Cells, "实发合计")
	id, _ := cell(row.Cells, "身份证号")
	if net.Masked || !strings.HasPrefix(net.Value, "¥") || id.Masked || len(id.Value) != 18 {
		t.Errorf("own detail page: net %+v, id %+v; want both shown", net, id)
	}
	// An ID number listed is masked as mask.IDNumber does.
	def, _ := e.svc.Definition(ctx, "salary")
	for i := range def.Fields {
		if def.Fields[i].Column == "id_number" {
			def.Fields[i].List = true
		}
	}
	if err := e.svc.Put(ctx, def, "T00001"); err != nil {
		t.Fatal(err)
	}
	res, _ = e.svc.List(ctx, "salary", v, datamod.Query{})
	listed, _ := cell(res.Rows[0].Cells, "身份证号")
	if !listed.Masked || listed.Value != mask.IDNumber(id.Value) || listed.Value == id.Value {
		t.Errorf("listed ID number %+v, want %s", listed, mask.IDNumber(id.Value))
	}
	// Students have no salary rows.
	st := e.studentWithScores(t)
	if res, err := e.svc.List(ctx, "salary", datamod.Viewer{UserID: st.StudentNo}, datamod.Query{}); err != nil || len(res.Rows) != 0 {
		t.Errorf("a student's salary list: %d rows, %v", len(res.Rows), err)
	}
}

func TestTimetableIsTheCurrentTeachingWeek(t *testing.T) {
	e := newEnv(t)
	st := e.studentWithScores(t)
	res, err := e.svc.List(context.Background(), "courses", datamod.Viewer{UserID: st.StudentNo}, datamod.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Week == nil || res.Week.Week != 13 {
		t.Fatalf("timetable %+v, want week 13", res.Week)
	}
	var rows []struct {
		ID    int64  `db:"id"`
		Weeks string `db:"weeks"`
	}
	if err := e.shared.Select(&rows, "SELECT id, weeks FROM course_schedule WHERE person_id = ? AND semester = '2026-2027-1'", st.StudentNo); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, r := range rows {
		if datamod.InWeeks(r.Weeks, 13) {
			want[strconv.FormatInt(r.ID, 10)] = true
		}
	}
	got := map[string]bool{}
	for _, day := range res.Week.Days {
		for _, s := range day {
			got[s.Key] = true
			if s.Title == "" || s.Subtitle == "" || s.End < s.Start {
				t.Errorf("slot %+v", s)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
		t.Errorf("week 13 shows %v, want %v", got, want)
	}
}

func TestTheSharedDatabaseIsOpenedReadOnly(t *testing.T) {
	e := newEnv(t)
	if _, err := e.shared.Exec("DELETE FROM salary_slips"); err == nil {
		t.Error("the service's handle deleted rows of the shared database")
	}
	var n int
	if err := e.rw.Get(&n, "SELECT COUNT(*) FROM salary_slips"); err != nil || n == 0 {
		t.Errorf("salary slips left: %d, %v", n, err)
	}
}

func TestInWeeks(t *testing.T) {
	for _, c := range []struct {
		spec string
		in   []int
		out  []int
	}{
		{"1-16", []int{1, 8, 16}, []int{0, 17}},
		{"1-8,10-16", []int{1, 8, 10}, []int{9, 17}},
		{"1-16单", []int{1, 3, 15}, []int{2, 16}},
		{"2-16(双)", []int{2, 16}, []int{1, 3}},
		{"双", []int{2, 4}, []int{1}},
		{"3,5,7", []int{5}, []int{4}},
		{"", []int{1, 30}, nil},
	} {
		for _, n := range c.in {
			if !datamod.InWeeks(c.spec, n) {
				t.Errorf("%q excludes week %d", c.spec, n)
			}
		}
		for _, n := range c.out {
			if datamod.InWeeks(c.spec, n) {
				t.Errorf("%q includes week %d", c.spec, n)
			}
		}
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		v    any
		f    datamod.Format
		d    int
		want string
	}{
		{1234.5, datamod.Money, 0, "¥1,234.50"},
		{"-8.5", datamod.Money, 0, "-¥8.50"},
		{int64(750), datamod.Duration, 0, "12 小时 30 分"},
		{int64(45), datamod.Duration, 0, "45 分"},
		{int64(3), datamod.Weekday, 0, "周三"},
		{"2026-12-02 08:30:00", datamod.DateTime, 0, "2026-12-02 08:30"},
		{"2026-12-02 08:30:00", datamod.Date, 0, "2026-12-02"},
		{3.456, datamod.Number, 2, "3.46"},
		{85.0, datamod.Text, 0, "85"},
		{nil, datamod.Money, 0, ""},
	} {
		if got := datamod.FormatValue(c.v, c.f, c.d); got != c.want {
			t.Errorf("FormatValue(%v, %s, %d) = %q, want %q", c.v, c.f, c.d, got, c.want)
		}
	}
}

func TestAnAbsentSourceIsUnavailableAndOnlyThatModule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := datamod.Viewer{UserID: e.dc.Faculty[0].StaffNo}
	if _, err := e.rw.Exec("ALTER TABLE library_loans RENAME TO library_loans_old"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.List(ctx, "library_loans", staff, datamod.Query{}); !errors.Is(err, datamod.ErrUnavailable) {
		t.Errorf("a renamed table's list: %v, want ErrUnavailable", err)
	}
	if _, err := e.svc.Figure(ctx, "library_loans", staff); !errors.Is(err, datamod.ErrUnavailable) {
		t.Errorf("a renamed table's tile: %v, want ErrUnavailable", err)
	}
	if res, err := e.svc.List(ctx, "salary", staff, datamod.Query{}); err != nil || len(res.Rows) == 0 {
		t.Errorf("salary beside the renamed table: %d rows, %v", len(res.Rows), err)
	}
	// However often it fails, a module's outage is logged once a minute.
	for i := 0; i < 5; i++ {
		_, _ = e.svc.Figure(ctx, "library_loans", staff)
	}
	if n := e.logs.FilterField(zap.String("module", "library_loans")).Len(); n != 1 {
		t.Errorf("the outage was logged %d times, want once", n)
	}
	// Validate refuses the renamed table too.
	def, _ := e.svc.Definition(ctx, "library_loans")
	if ps := e.svc.Validate(ctx, def); len(ps) == 0 || ps[0].Path != "source" {
		t.Errorf("validating a definition over a missing table: %v", ps)
	}
	// The whole database gone.
	e.shared.Close()
	for _, key := range []string{"salary", "scores", "campus_card"} {
		if _, err := e.svc.List(ctx, key, staff, datamod.Query{}); !errors.Is(err, datamod.ErrUnavailable) {
			t.Errorf("%s with the shared database closed: %v, want ErrUnavailable", key, err)
		}
	}
	if _, err := e.svc.Figure(ctx, "campus_card", staff); !errors.Is(err, datamod.ErrUnavailable) {
		t.Errorf("tile with the shared database closed: %v, want ErrUnavailable", err)
	}
	if err := e.svc.Ping(ctx); !errors.Is(err, datamod.ErrUnavailable) {
		t.Errorf("Ping: %v", err)
	}
	// Not configured at all.
	none := datamod.New(datamod.Options{DB: e.main, Now: func() time.Time { return now }})
	if _, err := none.Figure(ctx, "campus_card", staff); !errors.Is(err, datamod.ErrUnavailable) {
		t.Errorf("no shared database: %v, want ErrUnavailable", err)
	}
}

func TestASlowSourceIsUnavailableAtItsTimeout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A view that counts to a billion before it answers.
	if _, err := e.rw.Exec(`CREATE VIEW slow_scores AS
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)
		SELECT s.* FROM scores s JOIN (SELECT MAX(x) AS m FROM c) ON 1 = 1`); err != nil {
		t.Fatal(err)
	}
	def, _ := e.svc.Definition(ctx, "scores")
	def.Key, def.Source, def.Timeout = "slow", "slow_scores", 200*time.Millisecond
	if err := e.svc.Put(ctx, def, "T00001"); err != nil {
		t.Fatal(err)
	}
	st := e.studentWithScores(t)
	v := datamod.Viewer{UserID: st.StudentNo}
	if _, err := e.svc.List(ctx, "slow", v, datamod.Query{}); !errors.Is(err, datamod.ErrUnavailable) {
		t.Errorf("slow list: %v, want ErrUnavailable", err)
	}
	if _, err := e.svc.Figure(ctx, "slow", v); !errors.Is(err, datamod.ErrUnavailable) {
		t.Errorf("slow tile: %v, want ErrUnavailable", err)
	}
	// The request's own deadline, already nearly spent, bounds it too.
	near, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := e.svc.List(near, "scores", v, datamod.Query{}); !errors.Is(err, datamod.ErrUnavailable) && err != nil {
		t.Errorf("a spent deadline: %v, want ErrUnavailable or an answer", err)
	}
	if _, err := e.svc.List(ctx, "scores", v, datamod.Query{}); err != nil {
		t.Errorf("scores beside the slow module: %v", err)
	}
}

func TestDefinitionsAreValidated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base, _ := e.svc.Definition(ctx, "scores")
	for _, c := range []struct {
		name string
		edit func(d *datamod.Definition)
		path string
	}{
		{"injected column", func(d *datamod.Definition) { d.Fields[0].Column = "score; DROP TABLE x" }, "fields[0].column"},
		{"injected source", func(d *datamod.Definition) { d.Source = "scores s, salary_slips" }, "source"},
		{"absent column", func(d *datamod.Definition) { d.Fields[1].Column = "rank" }, "fields[1].column"},
		{"absent source", func(d *datamod.Definition) { d.Source = "grades" }, "source"},
		{"person absent", func(d *datamod.Definition) { d.Person = "student_no" }, "person"},
		{"sum of text", func(d *datamod.Definition) { d.Summary[1].Column = "course_name" }, "summary[1].column"},
		{"weight absent", func(d *datamod.Definition) { d.Summary[0].Weight = "" }, "summary[0].weight"},
		{"week view without week", func(d *datamod.Definition) { d.View = datamod.WeekView }, "week"},
		{"filter on an injected column", func(d *datamod.Definition) { d.Filters[0].Column = "semester--" }, "filters[0].column"},
		{"where on an absent column", func(d *datamod.Definition) { d.Tile.Where = map[string]string{"1=1 OR x": "y"} }, "tile.where"},
		{"unknown format", func(d *datamod.Definition) { d.Fields[0].Format = "html" }, "fields[0].format"},
	} {
		d := clone(t, base)
		c.edit(&d)
		ps := e.svc.Validate(ctx, d)
		found := false
		for _, p := range ps {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%s: problems %v, want one at %s", c.name, ps, c.path)
		}
		if err := e.svc.Put(ctx, d, "T00001"); err == nil {
			t.Errorf("%s: saved", c.name)
		}
	}
	// Nothing refused reached the store.
	got, _ := e.svc.Definition(ctx, "scores")
	if got.Fields[0].Column != base.Fields[0].Column || got.Source != "scores" {
		t.Errorf("a refused definition was saved: %+v", got)
	}
}

func clone(t *testing.T, d datamod.Definition) datamod.Definition {
	t.Helper()
	c := d
	c.Fields = append([]datamod.Field(nil), d.Fields...)
	c.Filters = append([]datamod.Filter(nil), d.Filters...)
	c.Summary = append([]datamod.Figure(nil), d.Summary...)
	if d.Tile != nil {
		tile := *d.Tile
		c.Tile = &tile
	}
	return c
}

// TestMySQL runs the list and detail test with the shared demo on
// MariaDB/MySQL.
func TestMySQL(t *testing.T) {
	dsn := testenv.MySQLDSN(t)
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "wecomapp_shared_" + hex.EncodeToString(rnd[:])
	admin, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE " + name) })
	cfg.DBName = name
	rw, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rw.Close() })
	if err := shareddemo.Build(ctx, rw, university(), now); err != nil {
		t.Fatal(err)
	}
	shared, dialect, err := datamod.Open(ctx, datamod.OpenOptions{Driver: "mysql", DSN: cfg.FormatDSN()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shared.Close() })
	e := finishEnv(t, shared, rw, dialect)
	for _, d := range mustShipped(t) {
		if ps := e.svc.Validate(ctx, d); len(ps) > 0 {
			t.Errorf("%s on MySQL: %v", d.Key, ps)
		}
	}
	testScores(t, e)
	var teacher string
	if err := e.shared.Get(&teacher, "SELECT person_id FROM course_schedule WHERE person_id LIKE 'T%' ORDER BY id LIMIT 1"); err != nil {
		t.Fatal(err)
	}
	staff := datamod.Viewer{UserID: teacher}
	for _, key := range []string{"campus_card", "network_fee", "courses", "salary"} {
		res, err := e.svc.List(ctx, key, staff, datamod.Query{})
		if err != nil || len(res.Rows) == 0 {
			t.Errorf("%s on MySQL: %d rows, %v", key, len(res.Rows), err)
		}
	}
	fig, err := e.svc.Figure(ctx, "campus_card", staff)
	if err != nil || !strings.HasPrefix(fig.Value, "¥") {
		t.Errorf("card balance on MySQL: %+v, %v", fig, err)
	}
}

func mustShipped(t *testing.T) []datamod.Definition {
	t.Helper()
	ds, err := datamod.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
