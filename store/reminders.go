package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ReminderRule is a row of reminder_rules.
type ReminderRule struct {
	ID         int64  `db:"id"`
	Name       string `db:"name"`
	Schedule   string `db:"schedule"`
	Audience   string `db:"audience"`
	Workdays   bool   `db:"workdays"`
	Recipients string `db:"recipients"`
	MsgType    string `db:"msgtype"`
	Body       string `db:"body"`
	Enabled    bool   `db:"enabled"`
	LastFired  int64  `db:"last_fired"`
	CreatedBy  string `db:"created_by"`
	UpdatedAt  int64  `db:"updated_at"`
	// Approval is ReminderPending while a rule reaching more members than
	// the broadcast threshold waits for a second admin; it does not fire
	// then. Reach is its member count when saved.
	Approval   string `db:"approval"`
	Reach      int    `db:"reach"`
	UpdatedBy  string `db:"updated_by"`
	ApprovedBy string `db:"approved_by"`
}

// ReminderPending is a rule waiting for a second admin.
const ReminderPending = "pending"

const reminderCols = "id, name, schedule, audience, workdays, recipients, msgtype, body, enabled, last_fired, created_by, updated_at, approval, reach, updated_by, approved_by"

// ListReminderRules lists every rule by id, through q (nil: the pool).
func (db *DB) ListReminderRules(ctx context.Context, q sqlx.ExtContext) ([]ReminderRule, error) {
	var out []ReminderRule
	if err := sqlx.SelectContext(ctx, db.ext(q), &out, "SELECT "+reminderCols+" FROM reminder_rules ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: list reminder rules: %w", err)
	}
	return out, nil
}

// PutReminderRule creates (ID 0) or replaces a rule at at, and returns
// its id.
func (db *DB) PutReminderRule(ctx context.Context, q sqlx.ExtContext, r ReminderRule, at time.Time) (int64, error) {
	ext := db.ext(q)
	if r.ID == 0 {
		res, err := ext.ExecContext(ctx, `INSERT INTO reminder_rules (name, schedule, audience, workdays, recipients, msgtype, body, enabled, last_fired, created_by, updated_at, approval, reach, updated_by, approved_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`, r.Name, r.Schedule, r.Audience, r.Workdays, r.Recipients, r.MsgType, r.Body, r.Enabled, r.CreatedBy, Millis(at),
			r.Approval, r.Reach, r.UpdatedBy, r.ApprovedBy)
		if err != nil {
			return 0, fmt.Errorf("store: create reminder rule %q: %w", r.Name, err)
		}
		return res.LastInsertId()
	}
	n, err := execCount(ctx, ext, `UPDATE reminder_rules SET name = ?, schedule = ?, audience = ?, workdays = ?, recipients = ?, msgtype = ?, body = ?, enabled = ?, updated_at = ?,
		approval = ?, reach = ?, updated_by = ?, approved_by = ? WHERE id = ?`,
		r.Name, r.Schedule, r.Audience, r.Workdays, r.Recipients, r.MsgType, r.Body, r.Enabled, Millis(at), r.Approval, r.Reach, r.UpdatedBy, r.ApprovedBy, r.ID)
	if err != nil {
		return 0, fmt.Errorf("store: update reminder rule %d: %w", r.ID, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("store: update reminder rule %d: %w", r.ID, ErrNotFound)
	}
	return r.ID, nil
}

// DeleteReminderRule removes rule id and says whether it existed.
func (db *DB) DeleteReminderRule(ctx context.Context, q sqlx.ExtContext, id int64) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "DELETE FROM reminder_rules WHERE id = ?", id)
	if err != nil {
		return false, fmt.Errorf("store: delete reminder rule %d: %w", id, err)
	}
	return n > 0, nil
}

// MarkReminderFired records that rule id fired at (for the console).
func (db *DB) MarkReminderFired(ctx context.Context, id int64, at time.Time) error {
	if _, err := db.ExecContext(ctx, "UPDATE reminder_rules SET last_fired = ? WHERE id = ? AND last_fired < ?", Millis(at), id, Millis(at)); err != nil {
		return fmt.Errorf("store: mark reminder rule %d fired: %w", id, err)
	}
	return nil
}
