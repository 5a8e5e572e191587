// Package shareddemo builds the demo university's shared database: the
// tables a data center integrates from the business systems (timetables,
// exams, scores, the library, the campus network, the campus card,
// salaries, research), with deterministic rows for every demo student and
// faculty member, dated around now. The shipped data-module definitions
// (datamod/shipped) read exactly these tables.
//
// The current semester is the semesters table's latest start_date on or
// before today (China time); the timetable's teaching week counts from it.
package shareddemo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/demo"
)

var cst = time.FixedZone("CST", 8*3600)

// table is one shared table: its columns and their types per dialect.
type table struct {
	name string
	cols []col
}

type col struct {
	name string
	typ  string // a portable type: id, str(n), int, dec, money, date, datetime
}

var tables = []table{
	{"semesters", []col{{"semester", "str(16) PRIMARY KEY"}, {"name", "str(64)"}, {"start_date", "date"}, {"end_date", "date"}}},
	{"course_schedule", []col{{"id", "id"}, {"person_id", "str(32)"}, {"semester", "str(16)"}, {"course_code", "str(16)"}, {"course_name", "str(64)"},
		{"class_name", "str(64)"}, {"teacher", "str(64)"}, {"room", "str(32)"}, {"weekday", "int"}, {"start_period", "int"}, {"end_period", "int"}, {"weeks", "str(32)"}}},
	{"exam_schedule", []col{{"id", "id"}, {"person_id", "str(32)"}, {"semester", "str(16)"}, {"course_code", "str(16)"}, {"course_name", "str(64)"},
		{"exam_date", "date"}, {"exam_time", "str(16)"}, {"room", "str(32)"}, {"seat_no", "int"}, {"exam_type", "str(16)"}, {"status", "str(8)"}}},
	{"scores", []col{{"id", "id"}, {"person_id", "str(32)"}, {"semester", "str(16)"}, {"course_code", "str(16)"}, {"course_name", "str(64)"},
		{"course_type", "str(8)"}, {"credit", "dec"}, {"score", "dec"}, {"grade_point", "dec"}, {"exam_type", "str(16)"}}},
	{"library_loans", []col{{"id", "id"}, {"person_id", "str(32)"}, {"barcode", "str(16)"}, {"title", "str(128)"}, {"author", "str(64)"}, {"call_no", "str(32)"},
		{"borrowed_at", "date"}, {"due_date", "date"}, {"returned_at", "date NULL"}, {"status", "str(8)"}, {"fine", "money"}}},
	{"network_accounts", []col{{"id", "id"}, {"person_id", "str(32)"}, {"account", "str(32)"}, {"package", "str(32)"}, {"month", "str(7)"},
		{"balance", "money"}, {"online_minutes", "int"}, {"traffic_gb", "dec"}, {"updated_at", "datetime"}}},
	{"card_transactions", []col{{"id", "id"}, {"person_id", "str(32)"}, {"occurred_at", "datetime"}, {"merchant", "str(64)"}, {"kind", "str(8)"},
		{"amount", "money"}, {"balance", "money"}, {"terminal", "str(16)"}}},
	{"salary_slips", []col{{"id", "id"}, {"person_id", "str(32)"}, {"year", "int"}, {"month", "str(7)"}, {"gross_pay", "money"}, {"net_pay", "money"},
		{"base_pay", "money"}, {"grade_pay", "money"}, {"performance_pay", "money"}, {"allowance", "money"}, {"housing_fund", "money"},
		{"social_insurance", "money"}, {"income_tax", "money"}, {"id_number", "str(18)"}, {"bank_account", "str(19)"}, {"paid_at", "date"}}},
	{"research_records", []col{{"id", "id"}, {"person_id", "str(32)"}, {"category", "str(8)"}, {"kind", "str(16)"}, {"title", "str(200)"},
		{"role", "str(16)"}, {"source", "str(128)"}, {"level", "str(16)"}, {"year", "int"}, {"funding", "money"}, {"status", "str(8)"}}},
}

// Tables are the shared tables' names, in creation order.
func Tables() []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = t.name
	}
	return out
}

func sqlType(mysql bool, typ string) string {
	null := " NOT NULL"
	if t, ok := strings.CutSuffix(typ, " NULL"); ok {
		typ, null = t, " NULL"
	}
	if t, ok := strings.CutSuffix(typ, " PRIMARY KEY"); ok {
		typ, null = t, " NOT NULL PRIMARY KEY"
	}
	switch {
	case typ == "id":
		if mysql {
			return "BIGINT NOT NULL PRIMARY KEY"
		}
		return "INTEGER NOT NULL PRIMARY KEY"
	case strings.HasPrefix(typ, "str("):
		return "VARCHAR(" + strings.TrimSuffix(strings.TrimPrefix(typ, "str("), ")") + ")" + null
	case typ == "int":
		return "INTEGER" + null
	case typ == "dec":
		if mysql {
			return "DECIMAL(8,1)" + null
		}
		return "REAL" + null
	case typ == "money":
		if mysql {
			return "DECIMAL(12,2)" + null
		}
		return "REAL" + null
	case typ == "date":
		if mysql {
			return "DATE" + null
		}
		return "TEXT" + null
	case typ == "datetime":
		if mysql {
			return "DATETIME" + null
		}
		return "TEXT" + null
	}
	panic("shareddemo: unknown type " + typ)
}

// Build (re)creates the shared tables in db and fills them for u's
// students and faculty, dated around now. The same u and now give the
// same rows. db must be writable (the pages open the result read-only).
func Build(ctx context.Context, db *sqlx.DB, u *demo.University, now time.Time) error {
	mysql := db.DriverName() == "mysql"
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+tables[i].name); err != nil {
			return fmt.Errorf("shareddemo: drop %s: %w", tables[i].name, err)
		}
	}
	for _, t := range tables {
		var b strings.Builder
		b.WriteString("CREATE TABLE " + t.name + " (")
		for i, c := range t.cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.name + " " + sqlType(mysql, c.typ))
		}
		b.WriteString(")")
		if mysql {
			b.WriteString(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
		}
		if _, err := db.ExecContext(ctx, b.String()); err != nil {
			return fmt.Errorf("shareddemo: create %s: %w", t.name, err)
		}
	}
	g := newGen(u, now)
	w := &writer{ctx: ctx, db: db, mysql: mysql}
	if err := w.run(g); err != nil {
		return err
	}
	for _, t := range tables[1:] {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE INDEX %s_person ON %s (person_id)", t.name, t.name)); err != nil {
			return fmt.Errorf("shareddemo: index %s: %w", t.name, err)
		}
	}
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+metaTable); err != nil {
		return fmt.Errorf("shareddemo: drop %s: %w", metaTable, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+metaTable+" (fingerprint VARCHAR(64) NOT NULL)"); err != nil {
		return fmt.Errorf("shareddemo: create %s: %w", metaTable, err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO "+metaTable+" (fingerprint) VALUES (?)", Fingerprint(u, now)); err != nil {
		return fmt.Errorf("shareddemo: write %s: %w", metaTable, err)
	}
	return nil
}

// metaTable records what a shared demo was built from.
const metaTable = "shareddemo_meta"

// Fingerprint names what Build makes of u at now: the people (every
// userid) and the month, as the rows are dated around the day they were
// built.
func Fingerprint(u *demo.University, now time.Time) string {
	h := fnv.New64a()
	dc := u.DataCenter()
	for _, s := range dc.Students {
		h.Write([]byte(s.StudentNo + "\x00" + s.ClassCode + "\x00"))
	}
	for _, f := range dc.Faculty {
		h.Write([]byte(f.StaffNo + "\x00" + f.DeptCode + "\x00"))
	}
	return fmt.Sprintf("%s-%016x", now.In(cst).Format("2006-01"), h.Sum64())
}

// built is the fingerprint of the shared demo at path; "" when it has none.
func built(ctx context.Context, path string) string {
	db, err := sqlx.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return ""
	}
	defer db.Close()
	var fp string
	if err := db.GetContext(ctx, &fp, "SELECT fingerprint FROM "+metaTable); err != nil {
		return ""
	}
	return fp
}

// Ensure creates the demo's shared SQLite file at path when it is absent
// (serve with the simulator on, before opening it read-only), or rebuilds
// it when it was built from another university or in another month
// (Fingerprint): the card's transactions and the network's month stay
// recent. It builds into a temporary file renamed into place, so that an
// interrupted build leaves no half file to be taken for a whole one.
func Ensure(ctx context.Context, path string, u *demo.University, now time.Time) error {
	if _, err := os.Stat(path); err == nil {
		if built(ctx, path) == Fingerprint(u, now) {
			return nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("shareddemo: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("shareddemo: create directory for %s: %w", path, err)
	}
	tmp := path + ".building"
	_ = os.Remove(tmp)
	// No journal and no sync: the file is thrown away unless the whole
	// build succeeds.
	db, err := sqlx.Open("sqlite", "file:"+tmp+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return fmt.Errorf("shareddemo: open %s: %w", tmp, err)
	}
	db.SetMaxOpenConns(1)
	err = Build(ctx, db, u, now)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("shareddemo: move %s into place: %w", path, err)
	}
	return nil
}

// writer inserts rows table by table, in multi-row statements inside one
// transaction a table: the full scale's 1.5 million rows in seconds.
type writer struct {
	ctx    context.Context
	db     *sqlx.DB
	mysql  bool
	tx     *sqlx.Tx
	t      table
	rows   [][]any
	nextID int64
}

func (w *writer) begin(t string) error {
	for _, tt := range tables {
		if tt.name == t {
			w.t = tt
		}
	}
	w.nextID = 0
	tx, err := w.db.BeginTxx(w.ctx, nil)
	if err != nil {
		return fmt.Errorf("shareddemo: begin %s: %w", t, err)
	}
	w.tx = tx
	return nil
}

// add queues a row; the id column (when the table has one) is numbered
// here.
func (w *writer) add(vals ...any) error {
	if w.t.cols[0].typ == "id" {
		w.nextID++
		vals = append([]any{w.nextID}, vals...)
	}
	if len(vals) != len(w.t.cols) {
		return fmt.Errorf("shareddemo: %s row has %d values for %d columns", w.t.name, len(vals), len(w.t.cols))
	}
	w.rows = append(w.rows, vals)
	if len(w.rows)*len(w.t.cols) >= 8000 {
		return w.flush()
	}
	return nil
}

func (w *writer) flush() error {
	if len(w.rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + w.t.name + " (")
	for i, c := range w.t.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	b.WriteString(") VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(w.t.cols)), ", ") + ")"
	args := make([]any, 0, len(w.rows)*len(w.t.cols))
	for i, r := range w.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
		args = append(args, r...)
	}
	if _, err := w.tx.ExecContext(w.ctx, b.String(), args...); err != nil {
		return fmt.Errorf("shareddemo: insert into %s: %w", w.t.name, err)
	}
	w.rows = w.rows[:0]
	return nil
}

func (w *writer) commit() error {
	if err := w.flush(); err != nil {
		_ = w.tx.Rollback()
		return err
	}
	if err := w.tx.Commit(); err != nil {
		return fmt.Errorf("shareddemo: commit %s: %w", w.t.name, err)
	}
	return nil
}

// run writes every table from g.
func (w *writer) run(g *gen) error {
	steps := []struct {
		table string
		fill  func(w *writer) error
	}{
		{"semesters", g.semesters},
		{"course_schedule", g.courses},
		{"exam_schedule", g.exams},
		{"scores", g.scores},
		{"library_loans", g.loans},
		{"network_accounts", g.network},
		{"card_transactions", g.card},
		{"salary_slips", g.salary},
		{"research_records", g.research},
	}
	for _, st := range steps {
		if err := w.begin(st.table); err != nil {
			return err
		}
		if err := st.fill(w); err != nil {
			_ = w.tx.Rollback()
			return err
		}
		if err := w.commit(); err != nil {
			return err
		}
	}
	return nil
}

// academicYear is the year the semester's academic year begins (its
// September): the second semester of 2025–2026 starts in 2026 but belongs
// to 2025, before a student who entered in 2026.
func (s semester) academicYear() int {
	if s.Start.Month() < time.August {
		return s.Start.Year() - 1
	}
	return s.Start.Year()
}

// semester is one term of the academic calendar.
type semester struct {
	Code       string // 2026-2027-1
	Name       string
	Start, End time.Time // China time, Start a Monday
}

// student, teacher: the people rows are made for.
type student struct {
	No, Name, Group, GroupName, College string // Group: the class (or the college's postgraduates)
	Grade                               int
}

type teacher struct {
	No, Name, College, Category string
	Teaching                    bool
}

type gen struct {
	now       time.Time // China time
	today     time.Time // midnight, China time
	sems      []semester
	current   int // index of the current semester in sems
	students  []student
	faculty   []teacher
	byCollege map[string][]int // college code → teaching faculty (indexes)
	isFaculty map[string]bool
}

func newGen(u *demo.University, now time.Time) *gen {
	g := &gen{now: now.In(cst), byCollege: map[string][]int{}, isFaculty: map[string]bool{}}
	g.today = time.Date(g.now.Year(), g.now.Month(), g.now.Day(), 0, 0, 0, 0, cst)
	year := demo.AcademicYear(now)
	for y := year - 5; y <= year; y++ {
		g.sems = append(g.sems,
			semester{Code: fmt.Sprintf("%d-%d-1", y, y+1), Name: fmt.Sprintf("%d-%d学年第一学期", y, y+1), Start: mondayOnOrAfter(time.Date(y, 9, 1, 0, 0, 0, 0, cst))},
			semester{Code: fmt.Sprintf("%d-%d-2", y, y+1), Name: fmt.Sprintf("%d-%d学年第二学期", y, y+1), Start: mondayOnOrAfter(time.Date(y+1, 2, 20, 0, 0, 0, 0, cst))})
	}
	for i := range g.sems {
		g.sems[i].End = g.sems[i].Start.AddDate(0, 0, 20*7-3) // 20 weeks, ending on a Friday
		if !g.sems[i].Start.After(g.today) {
			g.current = i
		}
	}
	byID := map[int]demo.Department{}
	for _, d := range u.Departments {
		byID[d.ID] = d
	}
	college := func(id int) demo.Department {
		d := byID[id]
		for d.Kind != demo.KindCollege && d.ParentID != 0 {
			d = byID[d.ParentID]
		}
		return d
	}
	dc := u.DataCenter()
	names := map[string]string{}
	for _, d := range dc.Departments {
		names[d.Code] = d.Name
	}
	for _, s := range dc.Students {
		st := student{No: s.StudentNo, Name: s.Name, Group: s.ClassCode, GroupName: names[s.ClassCode], College: s.CollegeCode, Grade: s.Grade}
		if st.Group == "" {
			st.Group, st.GroupName = "pg"+s.CollegeCode, names[s.CollegeCode]+"研究生"
		}
		g.students = append(g.students, st)
	}
	for _, f := range dc.Faculty {
		id, _ := strconv.Atoi(f.DeptCode)
		t := teacher{No: f.StaffNo, Name: f.Name, Category: f.Category, Teaching: byID[id].Kind == demo.KindTeaching && f.Category == demo.CatStaff}
		if c := college(id); c.Kind == demo.KindCollege {
			t.College = c.Code
		}
		g.faculty = append(g.faculty, t)
		g.isFaculty[t.No] = true
		if t.Teaching {
			g.byCollege[t.College] = append(g.byCollege[t.College], len(g.faculty)-1)
		}
	}
	return g
}

func mondayOnOrAfter(t time.Time) time.Time {
	for t.Weekday() != time.Monday {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

func date(t time.Time) string     { return t.Format("2006-01-02") }
func datetime(t time.Time) string { return t.Format("2006-01-02 15:04:05") }

// rng is a generator seeded by the names given: the rows of one person do
// not depend on anyone else's.
func rng(parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(h.Sum64(), 20261202))
}

func money(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

func (g *gen) semesters(w *writer) error {
	for _, s := range g.sems {
		if err := w.add(s.Code, s.Name, date(s.Start), date(s.End)); err != nil {
			return err
		}
	}
	return nil
}

// course is one course a group takes in a semester.
type course struct {
	Code, Name, Type string
	Credit           float64
	Weekday, Start   int // periods Start and Start+1
	Weeks, Room      string
	Teacher          int // index into g.faculty, -1 none
}

var coursePool = []struct {
	name   string
	credit float64
	typ    string
}{
	{"高等数学", 5, "必修"}, {"线性代数", 3, "必修"}, {"概率论与数理统计", 3, "必修"}, {"大学英语", 3, "必修"}, {"大学物理", 4, "必修"},
	{"思想道德与法治", 3, "必修"}, {"中国近现代史纲要", 3, "必修"}, {"马克思主义基本原理", 3, "必修"}, {"体育", 1, "必修"},
	{"程序设计基础", 3, "必修"}, {"数据结构", 4, "必修"}, {"大学计算机", 2, "必修"}, {"军事理论", 2, "必修"}, {"形势与政策", 1, "必修"},
	{"大学生心理健康教育", 1, "必修"}, {"专业导论", 1, "必修"}, {"工程制图", 3, "必修"}, {"电路原理", 4, "必修"}, {"管理学原理", 3, "必修"},
	{"微观经济学", 3, "必修"}, {"海洋科学导论", 2, "必修"}, {"有机化学", 3, "必修"}, {"生物化学", 3, "必修"}, {"文献检索", 1, "选修"},
	{"创新创业基础", 2, "选修"}, {"中国传统文化", 2, "选修"}, {"影视鉴赏", 2, "选修"}, {"大学写作", 2, "选修"}, {"数据库原理", 3, "必修"},
	{"操作系统", 4, "必修"}, {"计算机网络", 3, "必修"}, {"机器学习导论", 3, "选修"}, {"统计学", 3, "必修"}, {"会计学基础", 3, "必修"},
	{"食品化学", 3, "必修"}, {"水产养殖学", 3, "必修"}, {"气象学", 3, "必修"}, {"材料力学", 4, "必修"}, {"市场营销", 2, "选修"}, {"公共演讲", 2, "选修"},
}

var buildings = []string{"第一教学楼", "第二教学楼", "第三教学楼", "实验楼", "文科楼", "理科楼"}

var slots = [][2]int{{1, 1}, {1, 3}, {2, 1}, {2, 5}, {3, 3}, {3, 7}, {4, 1}, {4, 5}, {5, 3}, {5, 7}, {1, 7}, {2, 9}}

// groupCourses are the six courses group takes in semester s (the same
// for every member: a class studies together).
func (g *gen) groupCourses(group, college string, s int) []course {
	r := rng("courses", group, g.sems[s].Code)
	picks := r.Perm(len(coursePool))[:6]
	sl := r.Perm(len(slots))
	teachers := g.byCollege[college]
	out := make([]course, 0, 6)
	for i, p := range picks {
		c := coursePool[p]
		weeks := "1-16"
		switch r.IntN(6) {
		case 0:
			weeks = "1-8"
		case 1:
			weeks = "9-16"
		case 2:
			weeks = "1-16单"
		case 3:
			weeks = "1-8,10-16"
		}
		t := -1
		if len(teachers) > 0 {
			t = teachers[r.IntN(len(teachers))]
		}
		out = append(out, course{
			Code: fmt.Sprintf("C%04d", 1000+p*7), Name: c.name, Type: c.typ, Credit: c.credit,
			Weekday: slots[sl[i]][0], Start: slots[sl[i]][1], Weeks: weeks, Teacher: t,
			Room: fmt.Sprintf("%s%c%d%02d", buildings[r.IntN(len(buildings))], 'A'+rune(r.IntN(3)), 1+r.IntN(5), 1+r.IntN(20)),
		})
	}
	return out
}

// groups are the distinct groups (classes), in first-seen order.
func (g *gen) groups() []student {
	seen := map[string]bool{}
	var out []student
	for _, s := range g.students {
		if !seen[s.Group] {
			seen[s.Group] = true
			out = append(out, s)
		}
	}
	return out
}

func (g *gen) teacherName(i int) string {
	if i < 0 {
		return "待定"
	}
	return g.faculty[i].Name
}

func (g *gen) courses(w *writer) error {
	sem := g.sems[g.current]
	cs := map[string][]course{}
	for _, grp := range g.groups() {
		cs[grp.Group] = g.groupCourses(grp.Group, grp.College, g.current)
	}
	for _, s := range g.students {
		for _, c := range cs[s.Group] {
			if err := w.add(s.No, sem.Code, c.Code, c.Name, s.GroupName, g.teacherName(c.Teacher), c.Room, c.Weekday, c.Start, c.Start+1, c.Weeks); err != nil {
				return err
			}
		}
	}
	// Each teacher's rows: the courses they teach, one a class.
	for _, grp := range g.groups() {
		for _, c := range cs[grp.Group] {
			if c.Teacher < 0 {
				continue
			}
			if err := w.add(g.faculty[c.Teacher].No, sem.Code, c.Code, c.Name, grp.GroupName, g.faculty[c.Teacher].Name, c.Room, c.Weekday, c.Start, c.Start+1, c.Weeks); err != nil {
				return err
			}
		}
	}
	return nil
}

var examTimes = []string{"08:30-10:30", "10:50-12:50", "14:30-16:30", "19:00-21:00"}

func (g *gen) exams(w *writer) error {
	for _, s := range g.students {
		for _, si := range []int{g.current - 1, g.current} {
			if si < 0 || g.sems[si].academicYear() < s.Grade {
				continue
			}
			sem := g.sems[si]
			r := rng("exams", s.Group, sem.Code)
			seat := rng("seat", s.No, sem.Code)
			for i, c := range g.groupCourses(s.Group, s.College, si)[:4] {
				day := sem.Start.AddDate(0, 0, 7*17+r.IntN(11))
				status := "已考"
				if !day.Before(g.today) {
					status = "未考"
				}
				typ := "期末考试"
				if i == 3 {
					typ = "考查"
				}
				if err := w.add(s.No, sem.Code, c.Code, c.Name, date(day), examTimes[r.IntN(len(examTimes))], c.Room,
					1+seat.IntN(60), typ, status); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// GradePoint is a score's grade point on the 4.0 scale the demo uses.
func GradePoint(score float64) float64 {
	switch {
	case score >= 90:
		return 4.0
	case score >= 85:
		return 3.7
	case score >= 82:
		return 3.3
	case score >= 78:
		return 3.0
	case score >= 75:
		return 2.7
	case score >= 72:
		return 2.3
	case score >= 68:
		return 2.0
	case score >= 64:
		return 1.5
	case score >= 60:
		return 1.0
	}
	return 0
}

func (g *gen) scores(w *writer) error {
	for _, s := range g.students {
		r := rng("scores", s.No)
		ability := 62 + r.Float64()*28
		for si := 0; si < g.current; si++ {
			if g.sems[si].academicYear() < s.Grade {
				continue
			}
			for _, c := range g.groupCourses(s.Group, s.College, si) {
				score := float64(int(ability + r.NormFloat64()*8))
				score = max(35, min(100, score))
				if err := w.add(s.No, g.sems[si].Code, c.Code, c.Name, c.Type, c.Credit, score, GradePoint(score), "正常考试"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

var books = []struct{ title, author, call string }{
	{"深入理解计算机系统", "Randal E. Bryant", "TP303/B83"}, {"算法导论", "Thomas H. Cormen", "TP301.6/C81"}, {"围城", "钱锺书", "I246.5/Q53"},
	{"活着", "余华", "I247.57/Y77"}, {"平凡的世界", "路遥", "I247.5/L94"}, {"海洋学导论", "冯士筰", "P7/F55"}, {"统计学习方法", "李航", "TP181/L42"},
	{"经济学原理", "N. Gregory Mankiw", "F0/M28"}, {"乡土中国", "费孝通", "C912.82/F38"}, {"红楼梦", "曹雪芹", "I242.4/C29"},
	{"人类简史", "尤瓦尔·赫拉利", "K02/H31"}, {"线性代数应该这样学", "Sheldon Axler", "O151.2/A97"}, {"食品化学", "阚建全", "TS201.2/K17"},
	{"三体", "刘慈欣", "I247.55/L72"}, {"管理学", "斯蒂芬·罗宾斯", "C93/L88"}, {"水产动物营养与饲料学", "李爱杰", "S963/L31"},
	{"现代汉语", "黄伯荣", "H1/H84"}, {"数字信号处理", "程佩青", "TN911.72/C49"}, {"材料力学", "刘鸿文", "TB301/L75"}, {"百年孤独", "加西亚·马尔克斯", "I775.45/M17"},
}

func (g *gen) loans(w *writer) error {
	add := func(no string) error {
		r := rng("loans", no)
		n := r.IntN(6)
		for i := 0; i < n; i++ {
			b := books[r.IntN(len(books))]
			borrowed := g.today.AddDate(0, 0, -1-r.IntN(90))
			due := borrowed.AddDate(0, 0, 30)
			var returned any
			status, fine := "借阅中", 0.0
			switch {
			case r.IntN(2) == 0:
				ret := borrowed.AddDate(0, 0, 1+r.IntN(28))
				if ret.After(g.today) {
					ret = g.today
				}
				returned, status = date(ret), "已归还"
			case due.Before(g.today):
				status = "已逾期"
				fine = money(float64(int(g.today.Sub(due).Hours()/24)) * 0.1)
			}
			if err := w.add(no, fmt.Sprintf("B%08d", 10000000+r.IntN(90000000)), b.title, b.author, b.call, date(borrowed), date(due), returned, status, fine); err != nil {
				return err
			}
		}
		return nil
	}
	return g.each(add)
}

// each calls fn for every student, then every faculty member (a staff
// member who studies too appears twice: rows once a person is enough, so
// their student record is skipped).
func (g *gen) each(fn func(no string) error) error {
	seen := make(map[string]bool, len(g.students)+len(g.faculty))
	for _, f := range g.faculty {
		seen[f.No] = true
	}
	for _, s := range g.students {
		if seen[s.No] {
			continue
		}
		if err := fn(s.No); err != nil {
			return err
		}
	}
	for _, f := range g.faculty {
		if err := fn(f.No); err != nil {
			return err
		}
	}
	return nil
}

var packages = []string{"校园网基础套餐 20元/月", "校园网不限时 30元/月", "教职工套餐 免费"}

func (g *gen) network(w *writer) error {
	monthStart := time.Date(g.today.Year(), g.today.Month(), 1, 0, 0, 0, 0, cst)
	return g.each(func(no string) error {
		r := rng("network", no)
		pkg := packages[r.IntN(2)]
		if g.isFaculty[no] {
			pkg = packages[2]
		}
		balance := money(5 + r.Float64()*120)
		for m := 2; m >= 0; m-- {
			start := monthStart.AddDate(0, -m, 0)
			days := 30
			updated := start.AddDate(0, 1, -1).Add(23*time.Hour + 59*time.Minute)
			if m == 0 {
				days = g.today.Day()
				updated = g.now.Add(-time.Duration(r.IntN(50)+5) * time.Minute).Truncate(time.Minute)
			}
			minutes := days * (60 + r.IntN(240))
			traffic := float64(int(float64(minutes)/60*0.8*10)) / 10
			if err := w.add(no, no, pkg, start.Format("2006-01"), balance, minutes, traffic, datetime(updated)); err != nil {
				return err
			}
			balance = money(max(0, balance-float64(r.IntN(15))))
		}
		return nil
	})
}

var merchants = []string{"第一食堂", "第二食堂", "第三食堂", "清真食堂", "教工餐厅", "校园超市", "浴室", "开水房", "图书馆复印室", "洗衣房", "咖啡厅"}

func (g *gen) card(w *writer) error {
	return g.each(func(no string) error {
		r := rng("card", no)
		balance := money(20 + r.Float64()*300)
		// The transactions of the last days, counted back from now so that
		// the newest is recent.
		n := 8 + r.IntN(8)
		times := make([]time.Time, n)
		at := g.now.Truncate(time.Minute)
		for i := n - 1; i >= 0; i-- {
			at = at.Add(-time.Duration(30+r.IntN(18*60)) * time.Minute)
			times[i] = at
		}
		for _, at := range times {
			m, k := merchants[r.IntN(len(merchants))], "消费"
			amount := -money(2 + r.Float64()*20)
			if balance+amount < 10 {
				m, k, amount = "自助圈存机", "充值", float64(100*(1+r.IntN(3)))
			}
			balance = money(balance + amount)
			if err := w.add(no, datetime(at), m, k, amount, balance, fmt.Sprintf("POS%05d", r.IntN(99999))); err != nil {
				return err
			}
		}
		return nil
	})
}

// idNumber is a well-formed (check digit and all) but invented resident
// ID number.
func idNumber(r *rand.Rand) string {
	regions := []string{"440106", "440304", "440802", "441502", "450102", "430104", "360102", "350203"}
	birth := time.Date(1965+r.IntN(35), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	s := regions[r.IntN(len(regions))] + birth.Format("20060102") + fmt.Sprintf("%03d", r.IntN(1000))
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range s {
		sum += int(c-'0') * weights[i]
	}
	return s + string("10X98765432"[sum%11])
}

func (g *gen) salary(w *writer) error {
	for _, f := range g.faculty {
		r := rng("salary", f.No)
		id := idNumber(r)
		bank := fmt.Sprintf("6222%015d", r.Int64N(1e15))
		base := float64(2800 + 200*r.IntN(12))
		grade := float64(600 + 50*r.IntN(30))
		if f.Category == demo.CatRetired {
			base, grade = base*0.9, 0
		}
		for m := 6; m >= 1; m-- {
			month := time.Date(g.today.Year(), g.today.Month(), 1, 0, 0, 0, 0, cst).AddDate(0, -m+1, 0)
			paid := month.AddDate(0, 0, 14)
			if paid.After(g.today) {
				month, paid = month.AddDate(0, -6, 0), paid.AddDate(0, -6, 0)
			}
			perf := money(1500 + r.Float64()*3500)
			allow := money(800 + r.Float64()*1200)
			if f.Category == demo.CatRetired {
				perf, allow = 0, money(600+r.Float64()*400)
			}
			gross := money(base + grade + perf + allow)
			fund := money(gross * 0.12)
			insurance := money(gross * 0.105)
			tax := money(max(0, (gross-fund-insurance-5000)*0.1-210))
			net := money(gross - fund - insurance - tax)
			if err := w.add(f.No, month.Year(), month.Format("2006-01"), gross, net, base, grade, perf, allow, fund, insurance, tax, id, bank, date(paid)); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	projectKinds = []string{"国家自然科学基金面上项目", "国家自然科学基金青年项目", "省自然科学基金项目", "横向合作项目", "教育部人文社科项目"}
	topics       = []string{"南海近岸海域", "粤西特色水产", "智慧校园数据治理", "海洋气象预报", "食品安全快速检测", "深度学习", "海岸带生态修复",
		"农产品冷链物流", "区域经济协同发展", "新型复合材料"}
	aspects  = []string{"关键技术研究", "机理与调控", "模型构建与应用", "评价体系研究", "优化方法研究"}
	journals = []string{"中国科学", "水产学报", "海洋学报", "计算机学报", "食品科学", "IEEE Transactions on Geoscience and Remote Sensing",
		"Aquaculture", "经济研究", "Journal of Marine Systems", "软件学报"}
)

func (g *gen) research(w *writer) error {
	year := g.today.Year()
	for _, f := range g.faculty {
		if !f.Teaching {
			continue
		}
		r := rng("research", f.No)
		n := r.IntN(7)
		recs := make([][]any, 0, n)
		for i := 0; i < n; i++ {
			y := year - r.IntN(5)
			title := topics[r.IntN(len(topics))] + aspects[r.IntN(len(aspects))]
			switch r.IntN(3) {
			case 0, 1:
				kind := projectKinds[r.IntN(len(projectKinds))]
				level := "省部级"
				if strings.HasPrefix(kind, "国家") {
					level = "国家级"
				} else if strings.HasPrefix(kind, "横向") {
					level = "横向"
				}
				status := "在研"
				if y < year-2 {
					status = "已结题"
				}
				role := "负责人"
				if r.IntN(3) == 0 {
					role = "参与人"
				}
				recs = append(recs, []any{"project", kind, title, role, kind, level, y, money(float64(5+r.IntN(60)) * 10000), status})
			default:
				kind, src := "期刊论文", journals[r.IntN(len(journals))]
				level := "北大核心"
				if strings.ContainsAny(src[:1], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
					level = "SCI"
				}
				recs = append(recs, []any{"paper", kind, title, []string{"第一作者", "通讯作者", "合作者"}[r.IntN(3)], src, level, y, 0.0, "已发表"})
			}
		}
		sort.SliceStable(recs, func(i, j int) bool { return recs[i][6].(int) > recs[j][6].(int) })
		for _, rec := range recs {
			if err := w.add(append([]any{f.No}, rec...)...); err != nil {
				return err
			}
		}
	}
	return nil
}
