package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// AdminGrant is one row of admin_grants: userid holds an admin role. Depts
// are the department codes a dept_admin reaches (empty for other roles).
type AdminGrant struct {
	UserID    string
	Role      string
	Depts     []string
	GrantedBy string
	GrantedAt time.Time
}

// adminGrantRow is the stored form (depts comma-joined, time in ms).
type adminGrantRow struct {
	UserID    string `db:"userid"`
	Role      string `db:"role"`
	Depts     string `db:"depts"`
	GrantedBy string `db:"granted_by"`
	GrantedAt int64  `db:"granted_at"`
}

func (r adminGrantRow) grant() AdminGrant {
	g := AdminGrant{UserID: r.UserID, Role: r.Role, GrantedBy: r.GrantedBy, GrantedAt: Time(r.GrantedAt)}
	for _, d := range strings.Split(r.Depts, ",") {
		if d = strings.TrimSpace(d); d != "" {
			g.Depts = append(g.Depts, d)
		}
	}
	return g
}

const adminGrantCols = `userid, role, depts, granted_by, granted_at`

// ListGrants returns every admin grant, by userid then role.
func (db *DB) ListGrants(ctx context.Context) ([]AdminGrant, error) {
	var rows []adminGrantRow
	if err := db.SelectContext(ctx, &rows, `SELECT `+adminGrantCols+` FROM admin_grants ORDER BY userid, role`); err != nil {
		return nil, fmt.Errorf("store: list admin grants: %w", err)
	}
	out := make([]AdminGrant, len(rows))
	for i, r := range rows {
		out[i] = r.grant()
	}
	return out, nil
}

// GrantsOf returns userID's admin grants, by role; none is an empty list,
// not an error.
func (db *DB) GrantsOf(ctx context.Context, userID string) ([]AdminGrant, error) {
	var rows []adminGrantRow
	if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT `+adminGrantCols+` FROM admin_grants WHERE userid = ? ORDER BY role`), userID); err != nil {
		return nil, fmt.Errorf("store: admin grants of %s: %w", userID, err)
	}
	out := make([]AdminGrant, len(rows))
	for i, r := range rows {
		out[i] = r.grant()
	}
	return out, nil
}

// GetGrant reads one grant through q (pass the tx to read what the
// transaction is about to change; on MySQL the row is locked until it
// ends). A missing grant wraps ErrNotFound.
func (db *DB) GetGrant(ctx context.Context, q sqlx.QueryerContext, userID, role string) (AdminGrant, error) {
	if q == nil {
		q = db.DB
	}
	var r adminGrantRow
	err := sqlx.GetContext(ctx, q, &r, db.Rebind(`SELECT `+adminGrantCols+` FROM admin_grants WHERE userid = ? AND role = ?`+db.forUpdate()), userID, role)
	if err != nil {
		return AdminGrant{}, notFound(err, "store: admin grant %s/%s", userID, role)
	}
	return r.grant(), nil
}

// UpsertGrant creates the grant or replaces its depts, granter and time,
// through q (the tx that also writes the audit row).
func (db *DB) UpsertGrant(ctx context.Context, q sqlx.ExtContext, g AdminGrant) error {
	if g.UserID == "" || g.Role == "" {
		return errors.New("store: upsert admin grant: userid and role are required")
	}
	if q == nil {
		q = db.DB
	}
	row := []any{g.UserID, g.Role, strings.Join(g.Depts, ","), g.GrantedBy, Millis(g.GrantedAt)}
	if err := db.upsert(ctx, q, "admin_grants", strings.Split(adminGrantCols, ", "), []string{"userid", "role"}, [][]any{row}); err != nil {
		return fmt.Errorf("store: upsert admin grant %s/%s: %w", g.UserID, g.Role, err)
	}
	return nil
}

// DeleteGrant removes the grant through q and reports whether it existed.
func (db *DB) DeleteGrant(ctx context.Context, q sqlx.ExtContext, userID, role string) (bool, error) {
	if q == nil {
		q = db.DB
	}
	res, err := q.ExecContext(ctx, db.Rebind(`DELETE FROM admin_grants WHERE userid = ? AND role = ?`), userID, role)
	if err != nil {
		return false, fmt.Errorf("store: delete admin grant %s/%s: %w", userID, role, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: delete admin grant %s/%s: %w", userID, role, err)
	}
	return n > 0, nil
}

// CountRole counts the holders of role through q. Inside a transaction on
// MySQL the rows are locked (FOR UPDATE), so two transactions each revoking
// a different holder of the last two cannot both see "2" and leave none;
// SQLite transactions already serialize writers (BEGIN IMMEDIATE).
func (db *DB) CountRole(ctx context.Context, q sqlx.QueryerContext, role string) (int, error) {
	if q == nil {
		q = db.DB
	}
	// COUNT(*) … FOR UPDATE locks the rows it counts on InnoDB; selecting
	// the keys keeps the statement meaningful on both engines.
	var ids []string
	if err := sqlx.SelectContext(ctx, q, &ids, db.Rebind(`SELECT userid FROM admin_grants WHERE role = ?`+db.forUpdate()), role); err != nil {
		return 0, fmt.Errorf("store: count admin role %s: %w", role, err)
	}
	return len(ids), nil
}

// UnknownDepartments returns the codes among codes that are not in
// dc_departments, in the order given.
func (db *DB) UnknownDepartments(ctx context.Context, codes []string) ([]string, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT code FROM dc_departments WHERE code IN (?)`, codes)
	if err != nil {
		return nil, fmt.Errorf("store: look up departments: %w", err)
	}
	var found []string
	if err := db.SelectContext(ctx, &found, db.Rebind(q), args...); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: look up departments: %w", err)
	}
	known := make(map[string]bool, len(found))
	for _, c := range found {
		known[c] = true
	}
	var unknown []string
	for _, c := range codes {
		if !known[c] {
			unknown = append(unknown, c)
		}
	}
	return unknown, nil
}

// forUpdate is the locking-read suffix: MySQL's FOR UPDATE, nothing on
// SQLite (which has no row locks and needs none).
func (db *DB) forUpdate() string {
	if db.dialect == MySQL {
		return ` FOR UPDATE`
	}
	return ""
}
