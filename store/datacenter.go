package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// DCDepartment is a row of the data center's department table (JZG_T_BM).
type DCDepartment struct {
	Code       string `db:"code"`
	Name       string `db:"name"`
	ParentCode string `db:"parent_code"`
	Kind       string `db:"kind"`
	SortOrder  int    `db:"sort_order"`
	Enabled    bool   `db:"enabled"`
	UpdatedAt  int64  `db:"updated_at"`
}

// DCFaculty is a row of the data center's faculty table (JZG_T_USER).
type DCFaculty struct {
	StaffNo   string `db:"staff_no"`
	Name      string `db:"name"`
	DeptCode  string `db:"dept_code"`
	Gender    int    `db:"gender"`
	Mobile    string `db:"mobile"`
	Email     string `db:"email"`
	Position  string `db:"position"`
	Category  string `db:"category"`
	IsLeader  bool   `db:"is_leader"`
	Status    string `db:"status"`
	UpdatedAt int64  `db:"updated_at"`
}

// DCStudent is a row of the data center's student table (XS_JBXX).
type DCStudent struct {
	StudentNo   string `db:"student_no"`
	Name        string `db:"name"`
	CollegeCode string `db:"college_code"`
	ClassCode   string `db:"class_code"`
	Major       string `db:"major"`
	Grade       int    `db:"grade"`
	Level       string `db:"level"`
	Gender      int    `db:"gender"`
	Mobile      string `db:"mobile"`
	Email       string `db:"email"`
	CounselorNo string `db:"counselor_no"`
	Status      string `db:"status"`
	UpdatedAt   int64  `db:"updated_at"`
}

// DataCenter is one night's distribution from the data center.
type DataCenter struct {
	Departments []DCDepartment
	Faculty     []DCFaculty
	Students    []DCStudent
}

// LoadDataCenter upserts a distribution into the intermediate tables in
// one transaction, as the data center's nightly job does: rows it no longer
// sends are left for org sync to judge, not deleted here.
func (db *DB) LoadDataCenter(ctx context.Context, dc DataCenter, now time.Time) error {
	ms := Millis(now)
	return db.WithTx(ctx, func(tx *sqlx.Tx) error {
		rows := make([][]any, 0, len(dc.Departments))
		for _, d := range dc.Departments {
			rows = append(rows, []any{d.Code, d.Name, d.ParentCode, d.Kind, d.SortOrder, boolInt(d.Enabled), ms})
		}
		if err := db.upsert(ctx, tx, "dc_departments",
			[]string{"code", "name", "parent_code", "kind", "sort_order", "enabled", "updated_at"}, []string{"code"}, rows); err != nil {
			return fmt.Errorf("load data center departments: %w", err)
		}
		rows = rows[:0]
		for _, f := range dc.Faculty {
			rows = append(rows, []any{f.StaffNo, f.Name, f.DeptCode, f.Gender, f.Mobile, f.Email, f.Position, f.Category, boolInt(f.IsLeader), f.Status, ms})
		}
		if err := db.upsert(ctx, tx, "dc_faculty",
			[]string{"staff_no", "name", "dept_code", "gender", "mobile", "email", "position", "category", "is_leader", "status", "updated_at"}, []string{"staff_no"}, rows); err != nil {
			return fmt.Errorf("load data center faculty: %w", err)
		}
		rows = rows[:0]
		for _, s := range dc.Students {
			rows = append(rows, []any{s.StudentNo, s.Name, s.CollegeCode, s.ClassCode, s.Major, s.Grade, s.Level, s.Gender, s.Mobile, s.Email, s.CounselorNo, s.Status, ms})
		}
		if err := db.upsert(ctx, tx, "dc_students",
			[]string{"student_no", "name", "college_code", "class_code", "major", "grade", "level", "gender", "mobile", "email", "counselor_no", "status", "updated_at"}, []string{"student_no"}, rows); err != nil {
			return fmt.Errorf("load data center students: %w", err)
		}
		return nil
	})
}

// DataCenterCounts is how many rows each intermediate table holds.
type DataCenterCounts struct {
	Departments, Faculty, Students int
}

// CountDataCenter counts the intermediate tables' rows.
func (db *DB) CountDataCenter(ctx context.Context) (DataCenterCounts, error) {
	var c DataCenterCounts
	for _, q := range []struct {
		table string
		dst   *int
	}{{"dc_departments", &c.Departments}, {"dc_faculty", &c.Faculty}, {"dc_students", &c.Students}} {
		if err := db.GetContext(ctx, q.dst, "SELECT COUNT(*) FROM "+q.table); err != nil {
			return c, fmt.Errorf("store: count %s: %w", q.table, err)
		}
	}
	return c, nil
}

// DCStudentByNo returns one student row.
func (db *DB) DCStudentByNo(ctx context.Context, studentNo string) (DCStudent, error) {
	var st DCStudent
	err := db.GetContext(ctx, &st, `SELECT student_no, name, college_code, class_code, major, grade, level, gender, mobile, email,
		counselor_no, status, updated_at FROM dc_students WHERE student_no = ?`, studentNo)
	if err != nil {
		return st, notFound(err, "store: student %s", studentNo)
	}
	return st, nil
}

// DCFacultyByNo returns one faculty row.
func (db *DB) DCFacultyByNo(ctx context.Context, staffNo string) (DCFaculty, error) {
	var f DCFaculty
	err := db.GetContext(ctx, &f, `SELECT staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status, updated_at
		FROM dc_faculty WHERE staff_no = ?`, staffNo)
	if err != nil {
		return f, notFound(err, "store: faculty %s", staffNo)
	}
	return f, nil
}

// DataCenterLoad is a load of some of the intermediate tables, as
// ApplyDataCenter writes it.
type DataCenterLoad struct {
	// Rows are the rows to write. Only the tables named below are written;
	// rows given for another table are ignored.
	Rows DataCenter
	// Departments, Faculty and Students name the tables this load writes.
	// The others are only read (for Check).
	Departments, Faculty, Students bool
	// Replace makes each written table hold exactly its rows: rows whose
	// key is not among them are deleted. Without it rows are upserted and
	// the others left alone.
	Replace bool
	// DryRun reads, counts and checks, then rolls back.
	DryRun bool
	// Check, when set, is called inside the transaction after the tables
	// are read and the changes counted and before anything is written, with
	// every row the three tables hold: an error rolls back and is returned.
	// Reference checks and deletion guards run here, so they judge exactly
	// the rows this transaction replaces.
	Check func(current DataCenter, changes DataCenterChanges) error
}

// DataCenterTableChanges counts what a load does to one table.
type DataCenterTableChanges struct {
	Before    int // rows the table held
	Inserted  int // keys it did not hold
	Updated   int // keys it held with other values (or another letter case)
	Unchanged int // rows equal to what it held: written not at all, updated_at kept
	Deleted   int // rows it held that the load does not name (Replace only)
}

// DataCenterChanges counts what a load does to each table; tables the load
// does not write are zero but for Before.
type DataCenterChanges struct {
	Departments, Faculty, Students DataCenterTableChanges
}

var errDryRun = errors.New("store: dry run")

// ApplyDataCenter writes a load in one transaction: new and changed rows
// are upserted with updated_at = now, unchanged rows are not written (their
// updated_at stays the time they last changed, so org sync can ask what
// changed), and with Replace rows the load does not name are deleted. Keys
// are matched without regard to letter case, as MySQL's collation and
// WeCom's userids do; a key that changes only in case is rewritten under
// its new spelling on both engines.
func (db *DB) ApplyDataCenter(ctx context.Context, load DataCenterLoad, now time.Time) (DataCenterChanges, error) {
	var ch DataCenterChanges
	ms := Millis(now)
	err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
		var cur DataCenter
		if err := db.selectDC(ctx, tx, &cur.Departments, dcDepartmentsTable, load.Departments); err != nil {
			return err
		}
		if err := db.selectDC(ctx, tx, &cur.Faculty, dcFacultyTable, load.Faculty); err != nil {
			return err
		}
		if err := db.selectDC(ctx, tx, &cur.Students, dcStudentsTable, load.Students); err != nil {
			return err
		}
		var plans []dcPlan
		ch.Departments.Before, ch.Faculty.Before, ch.Students.Before = len(cur.Departments), len(cur.Faculty), len(cur.Students)
		if load.Departments {
			p := planDC(dcDepartmentsTable, cur.Departments, load.Rows.Departments, load.Replace, ms, &ch.Departments)
			plans = append(plans, p)
		}
		if load.Faculty {
			plans = append(plans, planDC(dcFacultyTable, cur.Faculty, load.Rows.Faculty, load.Replace, ms, &ch.Faculty))
		}
		if load.Students {
			plans = append(plans, planDC(dcStudentsTable, cur.Students, load.Rows.Students, load.Replace, ms, &ch.Students))
		}
		if load.Check != nil {
			if err := load.Check(cur, ch); err != nil {
				return err
			}
		}
		if load.DryRun {
			return errDryRun
		}
		for _, p := range plans {
			if err := db.writeDC(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return ch, err
}

// ReadDataCenter returns every row of the intermediate tables, each table
// ordered by its key (byte order, the same on both engines).
func (db *DB) ReadDataCenter(ctx context.Context) (DataCenter, error) {
	var dc DataCenter
	if err := db.selectDC(ctx, db, &dc.Departments, dcDepartmentsTable, false); err != nil {
		return dc, err
	}
	if err := db.selectDC(ctx, db, &dc.Faculty, dcFacultyTable, false); err != nil {
		return dc, err
	}
	if err := db.selectDC(ctx, db, &dc.Students, dcStudentsTable, false); err != nil {
		return dc, err
	}
	return dc, nil
}

// dcTable describes one intermediate table to the generic load code.
type dcTable[T any] struct {
	name string
	cols []string // key first, updated_at last
	key  func(T) string
	args func(T, int64) []any
	// bare is the row without updated_at, so rows compare by value.
	bare func(T) T
}

var (
	dcDepartmentsTable = dcTable[DCDepartment]{
		name: "dc_departments",
		cols: []string{"code", "name", "parent_code", "kind", "sort_order", "enabled", "updated_at"},
		key:  func(d DCDepartment) string { return d.Code },
		args: func(d DCDepartment, ms int64) []any {
			return []any{d.Code, d.Name, d.ParentCode, d.Kind, d.SortOrder, boolInt(d.Enabled), ms}
		},
		bare: func(d DCDepartment) DCDepartment { d.UpdatedAt = 0; return d },
	}
	dcFacultyTable = dcTable[DCFaculty]{
		name: "dc_faculty",
		cols: []string{"staff_no", "name", "dept_code", "gender", "mobile", "email", "position", "category", "is_leader", "status", "updated_at"},
		key:  func(f DCFaculty) string { return f.StaffNo },
		args: func(f DCFaculty, ms int64) []any {
			return []any{f.StaffNo, f.Name, f.DeptCode, f.Gender, f.Mobile, f.Email, f.Position, f.Category, boolInt(f.IsLeader), f.Status, ms}
		},
		bare: func(f DCFaculty) DCFaculty { f.UpdatedAt = 0; return f },
	}
	dcStudentsTable = dcTable[DCStudent]{
		name: "dc_students",
		cols: []string{"student_no", "name", "college_code", "class_code", "major", "grade", "level", "gender", "mobile", "email", "counselor_no", "status", "updated_at"},
		key:  func(s DCStudent) string { return s.StudentNo },
		args: func(s DCStudent, ms int64) []any {
			return []any{s.StudentNo, s.Name, s.CollegeCode, s.ClassCode, s.Major, s.Grade, s.Level, s.Gender, s.Mobile, s.Email, s.CounselorNo, s.Status, ms}
		},
		bare: func(s DCStudent) DCStudent { s.UpdatedAt = 0; return s },
	}
)

// selectDC reads a whole table, locking its rows on MySQL when the load
// writes it (SQLite's BEGIN IMMEDIATE already holds the write lock).
func (db *DB) selectDC(ctx context.Context, q sqlx.QueryerContext, dst any, t interface{ sel() (string, string) }, lock bool) error {
	name, query := t.sel()
	if lock && db.dialect == MySQL {
		query += " FOR UPDATE"
	}
	if err := sqlx.SelectContext(ctx, q, dst, query); err != nil {
		return fmt.Errorf("store: read %s: %w", name, err)
	}
	switch rows := dst.(type) {
	case *[]DCDepartment:
		slices.SortFunc(*rows, func(a, b DCDepartment) int { return strings.Compare(a.Code, b.Code) })
	case *[]DCFaculty:
		slices.SortFunc(*rows, func(a, b DCFaculty) int { return strings.Compare(a.StaffNo, b.StaffNo) })
	case *[]DCStudent:
		slices.SortFunc(*rows, func(a, b DCStudent) int { return strings.Compare(a.StudentNo, b.StudentNo) })
	}
	return nil
}

func (t dcTable[T]) sel() (string, string) {
	return t.name, "SELECT " + strings.Join(t.cols, ", ") + " FROM " + t.name
}

// dcPlan is what a load writes to one table.
type dcPlan struct {
	table  string
	cols   []string
	delete []string // keys as stored
	upsert [][]any
}

// planDC diffs a table's current rows against the load's and counts the
// changes into ch.
func planDC[T comparable](t dcTable[T], cur, rows []T, replace bool, ms int64, ch *DataCenterTableChanges) dcPlan {
	p := dcPlan{table: t.name, cols: t.cols}
	held := make(map[string]T, len(cur))
	for _, r := range cur {
		held[strings.ToLower(t.key(r))] = r
	}
	named := make(map[string]bool, len(rows))
	for _, r := range rows {
		k := strings.ToLower(t.key(r))
		named[k] = true
		old, ok := held[k]
		switch {
		case !ok:
			ch.Inserted++
		case t.bare(old) == t.bare(r):
			ch.Unchanged++
			continue
		default:
			ch.Updated++
			if t.key(old) != t.key(r) {
				// A new spelling of the key: MySQL's upsert would keep the
				// old one and SQLite would add a second row.
				p.delete = append(p.delete, t.key(old))
			}
		}
		p.upsert = append(p.upsert, t.args(r, ms))
	}
	if replace {
		for _, r := range cur {
			if !named[strings.ToLower(t.key(r))] {
				ch.Deleted++
				p.delete = append(p.delete, t.key(r))
			}
		}
	}
	return p
}

// writeDC deletes, then upserts, so a re-spelt key is never both.
func (db *DB) writeDC(ctx context.Context, tx *sqlx.Tx, p dcPlan) error {
	const chunk = 400
	for start := 0; start < len(p.delete); start += chunk {
		keys := p.delete[start:min(start+chunk, len(p.delete))]
		q := fmt.Sprintf("DELETE FROM %s WHERE %s IN (%s)", p.table, p.cols[0], strings.TrimSuffix(strings.Repeat("?,", len(keys)), ","))
		args := make([]any, len(keys))
		for i, k := range keys {
			args[i] = k
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: delete %d rows from %s: %w", len(keys), p.table, err)
		}
	}
	if err := db.upsert(ctx, tx, p.table, p.cols, p.cols[:1], p.upsert); err != nil {
		return fmt.Errorf("store: load %s: %w", p.table, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
