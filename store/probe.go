package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ProbeWrite proves that a callback could be committed now: in one
// transaction it touches the inbox the way InsertInbox does (a statement
// that changes nothing but needs the table's write lock: SQLite's database
// lock, MySQL's table and metadata locks) and commits a heartbeat row, so
// that a database that answers pings but cannot write — the inbox locked,
// the server read-only, the disk full — fails it. Give it a short deadline:
// a locked store makes it wait, and waiting is the answer.
//
// prober names the instance (clipped to 128 bytes); the heartbeat is one
// row shared by every instance.
func (db *DB) ProbeWrite(ctx context.Context, prober string, now time.Time) error {
	err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
		// id 0 never exists (ids start at 1 on both engines).
		if _, err := tx.ExecContext(ctx, "UPDATE inbox SET state = state WHERE id = 0"); err != nil {
			return err
		}
		return db.upsert(ctx, tx, "store_probe", []string{"id", "prober", "probed_at"}, []string{"id"},
			[][]any{{1, clip(prober, probeProberMax), Millis(now)}})
	})
	if err != nil {
		return fmt.Errorf("store: write probe: %w", err)
	}
	return nil
}

// probeProberMax is store_probe.prober's width.
const probeProberMax = 128
