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
}

// StartSyncRun records a run started at at with its plan's summary, as
// running, through q (nil: the pool), and returns its id.
func (db *DB) StartSyncRun(ctx context.Context, q sqlx.ExtContext, at time.Time, summary string) (int64, error) {
	res, err := db.ext(q).ExecContext(ctx, "INSERT INTO sync_runs (started_at, finished_at, status, summary, counts, failures) VALUES (?, 0, ?, ?, '{}', '[]')",
		Millis(at), SyncRunning, summary)
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

const syncRunCols = "id, started_at, finished_at, status, summary, counts, failures"

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
