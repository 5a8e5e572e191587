package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Actor is who performs an admin action and from where.
type Actor struct {
	UserID    string
	IP        string
	UserAgent string
}

// AuditEntry is one row of the audit log. Before and After are the object's
// state as JSON ("null" when it did not exist before or no longer exists).
type AuditEntry struct {
	ID        int64     `db:"id"`
	At        time.Time `db:"-"`
	AtMillis  int64     `db:"at"`
	Actor     string    `db:"actor"`
	Action    string    `db:"action"`
	Object    string    `db:"object"`
	Before    string    `db:"before_json"`
	After     string    `db:"after_json"`
	IP        string    `db:"ip"`
	UserAgent string    `db:"user_agent"`
}

// Audit builds an entry for actor doing action on object, marshalling
// before and after to JSON.
func Audit(actor Actor, action, object string, before, after any, at time.Time) (AuditEntry, error) {
	b, err := json.Marshal(before)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("store: audit %s: marshal before: %w", action, err)
	}
	a, err := json.Marshal(after)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("store: audit %s: marshal after: %w", action, err)
	}
	return AuditEntry{At: at, Actor: actor.UserID, Action: action, Object: object, Before: string(b), After: string(a),
		IP: truncate(actor.IP, 64), UserAgent: truncate(actor.UserAgent, 255)}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// InsertAudit writes e through q, so a change and its audit row commit in
// one transaction (pass the tx) or not at all.
func (db *DB) InsertAudit(ctx context.Context, q sqlx.ExtContext, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("store: audit entry needs an actor and an action")
	}
	if q == nil {
		q = db.DB
	}
	_, err := q.ExecContext(ctx, db.Rebind(`INSERT INTO audit_log (at, actor, action, object, before_json, after_json, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), Millis(e.At), e.Actor, e.Action, e.Object, e.Before, e.After, e.IP, e.UserAgent)
	if err != nil {
		return fmt.Errorf("store: insert audit %s %s: %w", e.Action, e.Object, err)
	}
	return nil
}

// AuditFilter narrows ListAudit. Zero fields match everything.
type AuditFilter struct {
	Actor  string
	Action string // prefix, e.g. "workbench."
	Object string // prefix
	Before int64  // only rows with id < Before (paging); 0 = newest
	Limit  int    // default 50, at most 500
}

// ListAudit returns audit rows newest first.
func (db *DB) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := `SELECT id, at, actor, action, object, before_json, after_json, ip, user_agent FROM audit_log WHERE 1=1`
	var args []any
	if f.Actor != "" {
		q += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		q += ` AND action LIKE ? ESCAPE '!'`
		args = append(args, likePrefix(f.Action))
	}
	if f.Object != "" {
		q += ` AND object LIKE ? ESCAPE '!'`
		args = append(args, likePrefix(f.Object))
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, f.Limit)
	var out []AuditEntry
	if err := db.SelectContext(ctx, &out, db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	for i := range out {
		out[i].At = Time(out[i].AtMillis)
	}
	return out, nil
}

// likePrefix escapes s for a LIKE prefix match with ESCAPE '!' (one
// escape character both dialects read the same way).
func likePrefix(s string) string {
	r := []rune{}
	for _, c := range s {
		if c == '%' || c == '_' || c == '!' {
			r = append(r, '!')
		}
		r = append(r, c)
	}
	return string(r) + "%"
}
