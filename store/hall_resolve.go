package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The service hall's approver lookups over the data-center tables.

// ListDCDepartments reads every data-center department (the tree the
// resolver walks), by code.
func (db *DB) ListDCDepartments(ctx context.Context) ([]DCDepartment, error) {
	var out []DCDepartment
	if err := db.SelectContext(ctx, &out, "SELECT code, name, parent_code, kind, sort_order, enabled, updated_at FROM dc_departments ORDER BY code"); err != nil {
		return nil, fmt.Errorf("store: list dc departments: %w", err)
	}
	return out, nil
}

// HallFacultyIn lists the active faculty whose own department is one of
// depts: holding position (when set), leaders of it only (leaders), by
// staff number.
func (db *DB) HallFacultyIn(ctx context.Context, depts []string, position string, leaders bool) ([]string, error) {
	if len(depts) == 0 {
		return nil, nil
	}
	q := "SELECT staff_no FROM dc_faculty WHERE status = 'active' AND dept_code IN (?)"
	args := []any{depts}
	if position != "" {
		q += " AND position = ?"
		args = append(args, position)
	}
	if leaders {
		q += " AND is_leader = 1"
	}
	query, qargs, err := sqlx.In(q+" ORDER BY staff_no", args...)
	if err != nil {
		return nil, err
	}
	var out []string
	if err := db.SelectContext(ctx, &out, query, qargs...); err != nil {
		return nil, fmt.Errorf("store: hall faculty in %d departments: %w", len(depts), err)
	}
	return out, nil
}

// HallCountFaculty counts active faculty holding position (any, when
// empty) who lead their department (leaders).
func (db *DB) HallCountFaculty(ctx context.Context, position string, leaders bool) (int, error) {
	q := "SELECT COUNT(*) FROM dc_faculty WHERE status = 'active'"
	var args []any
	if position != "" {
		q += " AND position = ?"
		args = append(args, position)
	}
	if leaders {
		q += " AND is_leader = 1"
	}
	var n int
	if err := db.GetContext(ctx, &n, q, args...); err != nil {
		return 0, fmt.Errorf("store: count hall faculty: %w", err)
	}
	return n, nil
}

// HallCountCounseled counts enrolled students with a counselor.
func (db *DB) HallCountCounseled(ctx context.Context) (int, error) {
	var n int
	if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM dc_students WHERE status = 'enrolled' AND counselor_no <> ''"); err != nil {
		return 0, fmt.Errorf("store: count counseled students: %w", err)
	}
	return n, nil
}

// HallActiveMembers keeps those of userids who are active faculty or
// enrolled students, in the order given.
func (db *DB) HallActiveMembers(ctx context.Context, userids []string) ([]string, error) {
	if len(userids) == 0 {
		return nil, nil
	}
	active := map[string]bool{}
	for _, q := range []string{"SELECT staff_no FROM dc_faculty WHERE status = 'active' AND staff_no IN (?)",
		"SELECT student_no FROM dc_students WHERE status = 'enrolled' AND student_no IN (?)"} {
		query, args, err := sqlx.In(q, userids)
		if err != nil {
			return nil, err
		}
		var ids []string
		if err := db.SelectContext(ctx, &ids, query, args...); err != nil {
			return nil, fmt.Errorf("store: hall active members: %w", err)
		}
		for _, id := range ids {
			active[id] = true
		}
	}
	var out []string
	for _, u := range userids {
		if active[u] {
			out = append(out, u)
		}
	}
	return out, nil
}

// HallMembersIn lists the active faculty and enrolled students whose own
// department (a student's class, or college when without a class) is one
// of depts.
func (db *DB) HallMembersIn(ctx context.Context, depts []string) ([]string, error) {
	if len(depts) == 0 {
		return nil, nil
	}
	var out []string
	for _, c := range []struct {
		q    string
		args []any
	}{
		{"SELECT staff_no FROM dc_faculty WHERE status = 'active' AND dept_code IN (?) ORDER BY staff_no", []any{depts}},
		{"SELECT student_no FROM dc_students WHERE status = 'enrolled' AND (class_code IN (?) OR (class_code = '' AND college_code IN (?))) ORDER BY student_no", []any{depts, depts}},
	} {
		query, args, err := sqlx.In(c.q, c.args...)
		if err != nil {
			return nil, err
		}
		var ids []string
		if err := db.SelectContext(ctx, &ids, query, args...); err != nil {
			return nil, fmt.Errorf("store: hall members in %d departments: %w", len(depts), err)
		}
		out = append(out, ids...)
	}
	return out, nil
}
