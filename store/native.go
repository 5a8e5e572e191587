package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Native workbench tiles (native_tiles, native_tile_pushes): which members'
// WeCom workbench tiles need their key figures pushed again, and how pushing
// went (package workbench/native does the pushing, docs/wecom.md §7).

// States of native_tiles.dirty.
const (
	// NativeTileCurrent: the tile shows the member's figures as of the last
	// push (or the last push was refused for good).
	NativeTileCurrent = 0
	// NativeTileDirty: touched since; waiting for a push round.
	NativeTileDirty = 1
	// NativeTileClaimed: taken by the push round in progress. A touch
	// during the round makes the row dirty again, so the member is pushed
	// once more with figures computed after the touch.
	NativeTileClaimed = 2
)

// NativeTileUserIDMax bounds a userid (WeCom's are at most 64 bytes).
const NativeTileUserIDMax = 64

// nativeChunk bounds the ids of one IN list or multi-row insert.
const nativeChunk = 500

// NativeTile is a row of native_tiles. Timestamps are Unix milliseconds
// (0 = not set).
type NativeTile struct {
	UserID        string `db:"userid"`
	Dirty         int    `db:"dirty"`
	TouchedAt     int64  `db:"touched_at"`
	PushedAt      int64  `db:"pushed_at"`
	PayloadHash   string `db:"payload_hash"`
	Attempts      int    `db:"attempts"`
	NextAttemptAt int64  `db:"next_attempt_at"`
	LastError     string `db:"last_error"`
	Refused       bool   `db:"refused"`
}

// NativeTileCounts counts native_tiles rows for operators.
type NativeTileCounts struct {
	// Dirty members wait for a push (Retrying of them after a failure).
	Dirty, Retrying int
	// Pushed members' tiles show their figures as of their last push.
	Pushed int
	// Refused members were refused by WeCom for good (outside the app's
	// visible range, unknown userid) and are not retried until touched.
	Refused int
}

const nativeTileColumns = "userid, dirty, touched_at, pushed_at, payload_hash, attempts, next_attempt_at, last_error, refused"

// nativeIDs checks and deduplicates ids.
func nativeIDs(what string, ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" || len(id) > NativeTileUserIDMax {
			return nil, fmt.Errorf("store: %s: userid %q must be 1 to %d bytes", what, id, NativeTileUserIDMax)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// TouchNativeTiles marks the members' tiles dirty as of at, creating their
// rows as needed, in one statement per 500 ids. Touching a dirty member
// again changes nothing but touched_at: it is pushed once. A member waiting
// out a backoff keeps it (a touch does not make WeCom accept sooner).
func (db *DB) TouchNativeTiles(ctx context.Context, ids []string, at time.Time) error {
	ids, err := nativeIDs("touch native tiles", ids)
	if err != nil {
		return err
	}
	ms := Millis(at)
	for chunk := range slices.Chunk(ids, nativeChunk) {
		var b strings.Builder
		b.WriteString("INSERT INTO native_tiles (userid, dirty, touched_at) VALUES ")
		args := make([]any, 0, 3*len(chunk))
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
			args = append(args, id, NativeTileDirty, ms)
		}
		if db.dialect == MySQL {
			b.WriteString(" ON DUPLICATE KEY UPDATE dirty = VALUES(dirty), touched_at = VALUES(touched_at)")
		} else {
			b.WriteString(" ON CONFLICT (userid) DO UPDATE SET dirty = excluded.dirty, touched_at = excluded.touched_at")
		}
		err := retryDeadlock(ctx, func() error {
			_, err := db.ExecContext(ctx, b.String(), args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: touch %d native tiles: %w", len(chunk), err)
		}
	}
	return nil
}

// ClaimDirtyNativeTiles marks up to limit dirty rows due at now claimed and
// returns them, longest waiting first. Rows a crashed round left claimed
// are claimed again. The caller holds the push lock, so claims do not
// compete; MySQL/MariaDB still lock the picked rows (SKIP LOCKED) so a
// stalled holder cannot block the next one.
func (db *DB) ClaimDirtyNativeTiles(ctx context.Context, now time.Time, limit int) ([]NativeTile, error) {
	if limit <= 0 {
		return nil, nil
	}
	var rows []NativeTile
	err := retryDeadlock(ctx, func() error {
		rows = nil
		return db.claimTx(ctx, func(tx *sqlx.Tx) error {
			lock := ""
			if db.dialect == MySQL {
				lock = " FOR UPDATE SKIP LOCKED"
			}
			q := "SELECT " + nativeTileColumns + " FROM native_tiles WHERE dirty > 0 AND next_attempt_at <= ? ORDER BY next_attempt_at, touched_at, userid LIMIT ?" + lock
			if err := tx.SelectContext(ctx, &rows, q, Millis(now), limit); err != nil {
				return fmt.Errorf("pick: %w", err)
			}
			ids := make([]string, len(rows))
			for i := range rows {
				ids[i] = rows[i].UserID
			}
			for chunk := range slices.Chunk(ids, nativeChunk) {
				q, args, err := sqlx.In("UPDATE native_tiles SET dirty = ? WHERE userid IN (?)", NativeTileClaimed, chunk)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return fmt.Errorf("claim: %w", err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim dirty native tiles: %w", err)
	}
	return rows, nil
}

// settleClaimed is the dirty value a settled row takes: current when it
// is still claimed, dirty when touched again during the round.
const settleClaimed = "dirty = CASE WHEN dirty = 2 THEN 0 ELSE dirty END"

// updateNativeTiles runs "UPDATE native_tiles SET <set> WHERE userid IN
// (ids)" (set's arguments first) in chunks, in tx when not nil.
func (db *DB) updateNativeTiles(ctx context.Context, ext sqlx.ExtContext, ids []string, set string, args ...any) error {
	if ext == nil {
		ext = db
	}
	for chunk := range slices.Chunk(ids, nativeChunk) {
		q, qargs, err := sqlx.In("UPDATE native_tiles SET "+set+" WHERE userid IN (?)", append(slices.Clip(args), chunk)...)
		if err != nil {
			return err
		}
		if _, err := ext.ExecContext(ctx, q, qargs...); err != nil {
			return err
		}
	}
	return nil
}

// MarkNativeTilesPushed records that WeCom accepted payload hash for ids at
// at: their attempts and error are cleared, the push is counted for the
// per-member limit (NativeTilePushes), and rows not touched again since
// their claim become current.
func (db *DB) MarkNativeTilesPushed(ctx context.Context, ids []string, hash string, at time.Time) error {
	ids, err := nativeIDs("mark native tiles pushed", ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	ms := Millis(at)
	err = retryDeadlock(ctx, func() error {
		return db.WithTx(ctx, func(tx *sqlx.Tx) error {
			if err := db.updateNativeTiles(ctx, tx, ids, settleClaimed+
				", pushed_at = ?, payload_hash = ?, attempts = 0, next_attempt_at = 0, last_error = '', refused = 0", ms, hash); err != nil {
				return err
			}
			for chunk := range slices.Chunk(ids, nativeChunk) {
				var b strings.Builder
				b.WriteString("INSERT INTO native_tile_pushes (userid, pushed_at) VALUES ")
				args := make([]any, 0, 2*len(chunk))
				for i, id := range chunk {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString("(?, ?)")
					args = append(args, id, ms)
				}
				if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: mark %d native tiles pushed: %w", len(ids), err)
	}
	return nil
}

// MarkNativeTilesCurrent settles claimed rows whose payload is what WeCom
// shows already (nothing to push): they become current unless touched
// again during the round.
func (db *DB) MarkNativeTilesCurrent(ctx context.Context, ids []string) error {
	ids, err := nativeIDs("mark native tiles current", ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	err = retryDeadlock(ctx, func() error {
		return db.updateNativeTiles(ctx, nil, ids, settleClaimed+", attempts = 0, next_attempt_at = 0, last_error = ''")
	})
	if err != nil {
		return fmt.Errorf("store: mark %d native tiles current: %w", len(ids), err)
	}
	return nil
}

// MarkNativeTileFailed records a failed push of id: it stays dirty, one
// more attempt is counted, and it is due again at next.
func (db *DB) MarkNativeTileFailed(ctx context.Context, id, errText string, next time.Time) error {
	return db.MarkNativeTilesFailed(ctx, []string{id}, errText, next)
}

// MarkNativeTilesFailed is MarkNativeTileFailed for several members that
// failed together (one batch call).
func (db *DB) MarkNativeTilesFailed(ctx context.Context, ids []string, errText string, next time.Time) error {
	ids, err := nativeIDs("mark native tiles failed", ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	err = retryDeadlock(ctx, func() error {
		return db.updateNativeTiles(ctx, nil, ids, "dirty = ?, attempts = attempts + 1, next_attempt_at = ?, last_error = ?",
			NativeTileDirty, Millis(next), ClipError(errText))
	})
	if err != nil {
		return fmt.Errorf("store: mark %d native tiles failed: %w", len(ids), err)
	}
	return nil
}

// MarkNativeTilesRefused records that WeCom refused ids for good (outside
// the app's visible range, unknown userid) with reason: the rows settle as
// current with refused set and are not retried until touched again.
func (db *DB) MarkNativeTilesRefused(ctx context.Context, ids []string, reason string) error {
	ids, err := nativeIDs("mark native tiles refused", ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	err = retryDeadlock(ctx, func() error {
		return db.updateNativeTiles(ctx, nil, ids, settleClaimed+", attempts = attempts + 1, next_attempt_at = 0, last_error = ?, refused = 1",
			ClipError(reason))
	})
	if err != nil {
		return fmt.Errorf("store: mark %d native tiles refused: %w", len(ids), err)
	}
	return nil
}

// DeferNativeTiles puts claimed rows back, dirty, due at next, without
// counting an attempt: the member's push quota is used up until then.
func (db *DB) DeferNativeTiles(ctx context.Context, ids []string, next time.Time) error {
	ids, err := nativeIDs("defer native tiles", ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	err = retryDeadlock(ctx, func() error {
		return db.updateNativeTiles(ctx, nil, ids, "dirty = ?, next_attempt_at = ?", NativeTileDirty, Millis(next))
	})
	if err != nil {
		return fmt.Errorf("store: defer %d native tiles: %w", len(ids), err)
	}
	return nil
}

// NativeTilePushes returns the push times of ids since since (inclusive),
// oldest first, for the per-member limit.
func (db *DB) NativeTilePushes(ctx context.Context, ids []string, since time.Time) (map[string][]time.Time, error) {
	ids, err := nativeIDs("read native tile pushes", ids)
	if err != nil {
		return nil, err
	}
	out := map[string][]time.Time{}
	for chunk := range slices.Chunk(ids, nativeChunk) {
		q, args, err := sqlx.In("SELECT userid, pushed_at FROM native_tile_pushes WHERE userid IN (?) AND pushed_at >= ? ORDER BY userid, pushed_at",
			chunk, Millis(since))
		if err != nil {
			return nil, err
		}
		var rows []struct {
			UserID   string `db:"userid"`
			PushedAt int64  `db:"pushed_at"`
		}
		if err := db.SelectContext(ctx, &rows, q, args...); err != nil {
			return nil, fmt.Errorf("store: read native tile pushes of %d members: %w", len(chunk), err)
		}
		for _, r := range rows {
			out[r.UserID] = append(out[r.UserID], Time(r.PushedAt))
		}
	}
	return out, nil
}

// PruneNativeTilePushes deletes push records older than before and says
// how many went.
func (db *DB) PruneNativeTilePushes(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, "DELETE FROM native_tile_pushes WHERE pushed_at < ?", Millis(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune native tile pushes: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// GetNativeTile reads one member's row (ErrNotFound when never touched).
func (db *DB) GetNativeTile(ctx context.Context, id string) (NativeTile, error) {
	var t NativeTile
	err := db.GetContext(ctx, &t, "SELECT "+nativeTileColumns+" FROM native_tiles WHERE userid = ?", id)
	if err != nil {
		return NativeTile{}, notFound(err, "store: native tile of %s", id)
	}
	return t, nil
}

// CountNativeTiles counts the rows by state.
func (db *DB) CountNativeTiles(ctx context.Context) (NativeTileCounts, error) {
	var c struct {
		Dirty    int `db:"dirty"`
		Retrying int `db:"retrying"`
		Pushed   int `db:"pushed"`
		Refused  int `db:"refused"`
	}
	err := db.GetContext(ctx, &c, `SELECT
		COALESCE(SUM(CASE WHEN dirty > 0 THEN 1 ELSE 0 END), 0) AS dirty,
		COALESCE(SUM(CASE WHEN dirty > 0 AND attempts > 0 THEN 1 ELSE 0 END), 0) AS retrying,
		COALESCE(SUM(CASE WHEN dirty = 0 AND refused = 0 AND pushed_at > 0 THEN 1 ELSE 0 END), 0) AS pushed,
		COALESCE(SUM(CASE WHEN dirty = 0 AND refused = 1 THEN 1 ELSE 0 END), 0) AS refused
		FROM native_tiles`)
	if err != nil {
		return NativeTileCounts{}, fmt.Errorf("store: count native tiles: %w", err)
	}
	return NativeTileCounts{Dirty: c.Dirty, Retrying: c.Retrying, Pushed: c.Pushed, Refused: c.Refused}, nil
}
