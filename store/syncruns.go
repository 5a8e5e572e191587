package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Statuses of a sync run.
const (
	SyncRunning     = "running"
	SyncConverged   = "converged"
	SyncFailed      = "failed"
	SyncGuard       = "guard"
	SyncInterrupted = "interrupted"
)

// SyncRun is a row of sync_runs: one contacts sync run. Counts and
// Failures are JSON as the sync wrote them; StartedAt and FinishedAt are
// Unix milliseconds, FinishedAt 0 while running.
type SyncRun struct {
	ID         int64  `db:"id"`
	StartedAt  int64  `db:"started_at"`
	FinishedAt int64  `db:"finished_at"`
	Status     string `db:"status"`
	Summary    string `db:"summary"`
	Counts     string `db:"counts"`
	Failures   string `db:"failures"`
	Trigger    string `db:"trigger_by"` // schedule, cli, console, selfreg, start
	Actor      string `db:"actor"`      // who: cli:<user>, a userid, system
}

// SyncRunStart is what a run records as it starts.
type SyncRunStart struct {
	At      time.Time
	Summary string
	Trigger string
	Actor   string
	// PlanGz is the plan as gzip'd JSON lines (may be nil).
	PlanGz []byte
}

// StartSyncRun records a run as running, with its plan, through q (nil: the pool), and returns its id.
func (db *DB) StartSyncRun(ctx context.Context, q sqlx.ExtContext, r SyncRunStart) (int64, error) {
	res, err := db.ext(q).ExecContext(ctx, "INSERT INTO sync_runs (started_at, finished_at, status, summary, counts, failures, trigger_by, actor, plan_gz) VALUES (?, 0, ?, ?, '{}', '[]', ?, ?, ?)",
		Millis(r.At), SyncRunning, r.Summary, r.Trigger, r.Actor, r.PlanGz)
	if err != nil {
		return 0, fmt.Errorf("store: start sync run: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: start sync run: %w", err)
	}
	return id, nil
}

// FinishSyncRun records how run id ended at at: its status (SyncConverged,
// SyncFailed, SyncGuard, SyncInterrupted), counts and failures (JSON;
// empty is {} and []), through q (nil: the pool).
func (db *DB) FinishSyncRun(ctx context.Context, q sqlx.ExtContext, id int64, at time.Time, status string, counts, failures []byte) error {
	switch status {
	case SyncConverged, SyncFailed, SyncGuard, SyncInterrupted:
	default:
		return fmt.Errorf("store: finish sync run %d: status %q", id, status)
	}
	if len(counts) == 0 {
		counts = []byte("{}")
	}
	if len(failures) == 0 {
		failures = []byte("[]")
	}
	n, err := execCount(ctx, db.ext(q), "UPDATE sync_runs SET finished_at = ?, status = ?, counts = ?, failures = ? WHERE id = ?",
		Millis(at), status, string(counts), string(failures), id)
	if err != nil {
		return fmt.Errorf("store: finish sync run %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: finish sync run %d: %w", id, ErrNotFound)
	}
	return nil
}

// InterruptSyncRuns marks every run still running as interrupted at at,
// through q (nil: the pool), and says how many there were. Called by a run
// that holds the sync's lock: any other run still running was killed.
func (db *DB) InterruptSyncRuns(ctx context.Context, q sqlx.ExtContext, at time.Time) (int64, error) {
	n, err := execCount(ctx, db.ext(q), "UPDATE sync_runs SET finished_at = ?, status = ? WHERE status = ?", Millis(at), SyncInterrupted, SyncRunning)
	if err != nil {
		return 0, fmt.Errorf("store: interrupt sync runs: %w", err)
	}
	return n, nil
}

const syncRunCols = "id, started_at, finished_at, status, summary, counts, failures, trigger_by, actor"

// GetSyncRun returns run id, or ErrNotFound, through q (nil: the pool).
func (db *DB) GetSyncRun(ctx context.Context, q sqlx.ExtContext, id int64) (SyncRun, error) {
	var r SyncRun
	err := sqlx.GetContext(ctx, db.ext(q), &r, "SELECT "+syncRunCols+" FROM sync_runs WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("store: sync run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: sync run %d: %w", id, err)
	}
	return r, nil
}

// ListSyncRuns lists the latest limit runs (limit <= 0: 50), newest
// first, through q (nil: the pool).
func (db *DB) ListSyncRuns(ctx context.Context, q sqlx.ExtContext, limit int) ([]SyncRun, error) {
	if limit <= 0 {
		limit = 50
	}
	var rs []SyncRun
	if err := sqlx.SelectContext(ctx, db.ext(q), &rs, "SELECT "+syncRunCols+" FROM sync_runs ORDER BY id DESC LIMIT ?", limit); err != nil {
		return nil, fmt.Errorf("store: list sync runs: %w", err)
	}
	return rs, nil
}

// SyncRunPlan returns run id's plan as gzip'd JSON lines (nil when it was
// not kept), through q (nil: the pool).
func (db *DB) SyncRunPlan(ctx context.Context, q sqlx.ExtContext, id int64) ([]byte, error) {
	var b []byte
	err := sqlx.GetContext(ctx, db.ext(q), &b, "SELECT plan_gz FROM sync_runs WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: sync run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: sync run %d plan: %w", id, err)
	}
	return b, nil
}

// LastSyncRun returns the newest run, or ErrNotFound.
func (db *DB) LastSyncRun(ctx context.Context, q sqlx.ExtContext) (SyncRun, error) {
	rs, err := db.ListSyncRuns(ctx, q, 1)
	if err != nil {
		return SyncRun{}, err
	}
	if len(rs) == 0 {
		return SyncRun{}, fmt.Errorf("store: last sync run: %w", ErrNotFound)
	}
	return rs[0], nil
}

// Enrolment is a person who joined through self-registration (or was
// enrolled in the console).
type Enrolment struct {
	UserID     string `db:"userid"`
	Via        string `db:"via"`
	Actor      string `db:"actor"`
	EnrolledAt int64  `db:"enrolled_at"`
}

// PutEnrolment records an enrolment (again: the first one stays).
func (db *DB) PutEnrolment(ctx context.Context, q sqlx.ExtContext, e Enrolment) error {
	insert := "INSERT INTO contacts_enrolments (userid, via, actor, enrolled_at) VALUES (?, ?, ?, ?)"
	if db.dialect == MySQL {
		insert += " ON DUPLICATE KEY UPDATE userid = userid" // not INSERT IGNORE: that hides other errors
	} else {
		insert += " ON CONFLICT (userid) DO NOTHING"
	}
	_, err := db.ext(q).ExecContext(ctx, insert, e.UserID, e.Via, e.Actor, e.EnrolledAt)
	if err != nil {
		return fmt.Errorf("store: enrol %s: %w", e.UserID, err)
	}
	return nil
}

// Enrolments lists every enrolment by userid.
func (db *DB) Enrolments(ctx context.Context, q sqlx.ExtContext) ([]Enrolment, error) {
	var out []Enrolment
	if err := sqlx.SelectContext(ctx, db.ext(q), &out, "SELECT userid, via, actor, enrolled_at FROM contacts_enrolments ORDER BY userid"); err != nil {
		return nil, fmt.Errorf("store: list enrolments: %w", err)
	}
	return out, nil
}
