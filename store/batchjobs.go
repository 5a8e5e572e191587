package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// BatchJob is a row of contacts_batch_jobs.
type BatchJob struct {
	JobID       string `db:"jobid"`
	Kind        string `db:"kind"`
	SubmittedAt int64  `db:"submitted_at"`
	FinishedAt  int64  `db:"finished_at"`
	Outcome     string `db:"outcome"`
}

// PutBatchJob records a job just submitted.
func (db *DB) PutBatchJob(ctx context.Context, q sqlx.ExtContext, jobID, kind string, at time.Time) error {
	if _, err := db.ext(q).ExecContext(ctx, "INSERT INTO contacts_batch_jobs (jobid, kind, submitted_at) VALUES (?, ?, ?)", jobID, kind, Millis(at)); err != nil {
		return fmt.Errorf("store: record batch job %s: %w", jobID, err)
	}
	return nil
}

// FinishBatchJob records how a job ended: finished, or lost (WeCom no
// longer knows it).
func (db *DB) FinishBatchJob(ctx context.Context, q sqlx.ExtContext, jobID, outcome string, at time.Time) error {
	if _, err := db.ext(q).ExecContext(ctx, "UPDATE contacts_batch_jobs SET finished_at = ?, outcome = ? WHERE jobid = ?", Millis(at), outcome, jobID); err != nil {
		return fmt.Errorf("store: finish batch job %s: %w", jobID, err)
	}
	return nil
}

// PendingBatchJobs lists the jobs not known to have finished, oldest
// first.
func (db *DB) PendingBatchJobs(ctx context.Context, q sqlx.ExtContext) ([]BatchJob, error) {
	var out []BatchJob
	if err := sqlx.SelectContext(ctx, db.ext(q), &out, "SELECT jobid, kind, submitted_at, finished_at, outcome FROM contacts_batch_jobs WHERE finished_at = 0 ORDER BY submitted_at, jobid"); err != nil {
		return nil, fmt.Errorf("store: pending batch jobs: %w", err)
	}
	return out, nil
}
