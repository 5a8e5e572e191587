package store

import (
	"context"
	"fmt"
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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
