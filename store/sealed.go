package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// Sealer is the Sealer the DB was opened with (nil: none).
func (db *DB) Sealer() *Sealer { return db.sealer }

// WithSealer returns a handle on the same connection pool that seals and
// opens with s: for wecomapp rekey and for tests that read one database
// with different keys. Close only the original handle.
func (db *DB) WithSealer(s *Sealer) *DB {
	c := *db
	c.sealer = s
	return &c
}

// SealedColumn is a column whose values are stored sealed (seal.go), in a
// table with an integer primary key, with an optional lookup column holding
// Sealer.Hash of the plaintext for HashPurpose.
type SealedColumn struct {
	Table       string
	Key         string // integer primary key column, the order of wecomapp rekey
	Column      string
	HashColumn  string // "" for none
	HashPurpose string // HashPhone, HashIDNumber, HashEmail, …
}

// AAD is the associated data binding a value to its column.
func (c SealedColumn) AAD() string { return c.Table + "." + c.Column }

func (c SealedColumn) String() string { return c.AAD() }

// InboxPayload is the callback inbox's payload: the decrypted callback XML
// carries members' message text and, for corps still under WeCom's legacy
// contact rules, phone numbers and email addresses in change_contact.
var InboxPayload = SealedColumn{Table: "inbox", Key: "id", Column: "payload"}

// sealedColumns is every sealed column of the schema. A migration that
// adds one registers it here, so wecomapp rekey re-encrypts it.
var sealedColumns = []SealedColumn{InboxPayload, MirrorMemberMobile, MirrorMemberEmail, OutboxRecipientMobile, OutboxMessageMobiles, APIKeySecret,
	HallApplicationValues, HallApplicationMobile, HallAttachmentData, AttendanceRecordRaw}

// SealedColumns lists every sealed column of the schema.
func SealedColumns() []SealedColumn { return slices.Clone(sealedColumns) }

// seal seals a value for c; an empty value stays empty (an optional field
// left blank says nothing worth hiding, and stays comparable with ”).
func (db *DB) seal(c SealedColumn, plain []byte) ([]byte, error) {
	if db.sealer == nil {
		return nil, fmt.Errorf("store: seal %s: %w", c, ErrNoSealer)
	}
	if len(plain) == 0 {
		return []byte{}, nil
	}
	return db.sealer.Seal(plain, c.AAD())
}

// open is the inverse of seal.
func (db *DB) open(c SealedColumn, v []byte) ([]byte, error) {
	if db.sealer == nil {
		return nil, fmt.Errorf("store: open %s: %w", c, ErrNoSealer)
	}
	if len(v) == 0 {
		return v, nil
	}
	return db.sealer.Open(v, c.AAD())
}

// needSealer fails an operation on sealed columns before it changes
// anything, when the DB has no Sealer.
func (db *DB) needSealer(what string, c SealedColumn) error {
	if db.sealer == nil {
		return fmt.Errorf("store: %s: column %s: %w", what, c, ErrNoSealer)
	}
	return nil
}

// RekeyStats is the progress of Rekey over one column.
type RekeyStats struct {
	Column   SealedColumn
	Scanned  int64 // rows read so far
	Resealed int64 // rows re-encrypted under the current key (plaintext ones included)
	Current  int64 // rows already under the current key (or empty), left alone
	LastKey  int64 // the primary key reached
}

// Rekey re-encrypts every value of c that is not under the current key
// (sealed under a previous key, or plaintext written before the column was
// sealed), recomputing its hash column, in primary-key order and batches of
// batch rows, each batch its own transaction. It is resumable: values
// already under the current key are skipped, so a Rekey that was
// interrupted (its ctx cancelled, the process killed) just runs again. A
// value under a key the Sealer does not have stops it with ErrUnknownKey
// and the row named, having changed nothing in that batch. progress, if
// not nil, is called after each committed batch.
//
// Rows written meanwhile are sealed under the current key already, so
// Rekey can run beside serving instances that have the new key as
// security.data_key and the old one in security.previous_data_keys.
func (db *DB) Rekey(ctx context.Context, c SealedColumn, batch int, progress func(RekeyStats)) (RekeyStats, error) {
	st := RekeyStats{Column: c}
	if err := db.needSealer("rekey", c); err != nil {
		return st, err
	}
	if batch <= 0 {
		batch = 500
	}
	cur := db.sealer.CurrentKeyID()
	sel := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s > ? ORDER BY %s LIMIT ?", c.Key, c.Column, c.Table, c.Key, c.Key)
	upd := fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", c.Table, c.Column, c.Key)
	if c.HashColumn != "" {
		upd = fmt.Sprintf("UPDATE %s SET %s = ?, %s = ? WHERE %s = ?", c.Table, c.Column, c.HashColumn, c.Key)
	}
	var opts *sql.TxOptions
	if db.dialect == MySQL {
		// Lock the rows being rewritten so a concurrent writer's new value is
		// not overwritten with a re-sealed old one; READ COMMITTED so the
		// locking read takes no gap lock past the last row, which would hold
		// up inserts at the end of the table (callbacks arriving).
		sel += " FOR UPDATE"
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	for {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("store: rekey %s after %s %d: %w", c, c.Key, st.LastKey, err)
		}
		var n, resealed, current int64
		var last int64
		err := retryDeadlock(ctx, func() error {
			n, resealed, current, last = 0, 0, 0, st.LastKey
			return db.withTx(ctx, opts, func(tx *sqlx.Tx) error {
				rows, err := tx.QueryContext(ctx, sel, st.LastKey, batch)
				if err != nil {
					return err
				}
				type row struct {
					key int64
					v   []byte
				}
				var got []row
				for rows.Next() {
					var r row
					if err := rows.Scan(&r.key, &r.v); err != nil {
						rows.Close()
						return err
					}
					got = append(got, r)
				}
				if err := rows.Close(); err != nil {
					return err
				}
				if err := rows.Err(); err != nil {
					return err
				}
				for _, r := range got {
					n++
					last = r.key
					id, sealed := SealedKeyID(r.v)
					if len(r.v) == 0 || sealed && id == cur {
						current++
						continue
					}
					plain := r.v
					if sealed {
						if plain, err = db.sealer.Open(r.v, c.AAD()); err != nil {
							return fmt.Errorf("%s %d: %w", c.Key, r.key, err)
						}
					}
					v, err := db.sealer.Seal(plain, c.AAD())
					if err != nil {
						return fmt.Errorf("%s %d: %w", c.Key, r.key, err)
					}
					args := []any{v, r.key}
					if c.HashColumn != "" {
						args = []any{v, db.sealer.Hash(c.HashPurpose, string(plain)), r.key}
					}
					if _, err := tx.ExecContext(ctx, upd, args...); err != nil {
						return fmt.Errorf("%s %d: %w", c.Key, r.key, err)
					}
					resealed++
				}
				return nil
			})
		})
		if err != nil {
			return st, fmt.Errorf("store: rekey %s after %s %d: %w", c, c.Key, st.LastKey, err)
		}
		if n == 0 {
			return st, nil
		}
		st.Scanned += n
		st.Resealed += resealed
		st.Current += current
		st.LastKey = last
		if progress != nil {
			progress(st)
		}
		if n < int64(batch) {
			return st, nil
		}
	}
}

// RekeyAll runs Rekey over every sealed column, in SealedColumns order.
func (db *DB) RekeyAll(ctx context.Context, batch int, progress func(RekeyStats)) ([]RekeyStats, error) {
	var out []RekeyStats
	for _, c := range sealedColumns {
		st, err := db.Rekey(ctx, c, batch, progress)
		out = append(out, st)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// IsSealError reports an error of a sealed value that a retry will not
// cure: no Sealer, plaintext, an unknown key or a value that does not
// authenticate.
func IsSealError(err error) bool {
	return errors.Is(err, ErrNoSealer) || errors.Is(err, ErrNotSealed) || errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrSealBroken)
}

// sealInboxPayload seals an inbox payload for InsertInbox.
func (db *DB) sealInboxPayload(p []byte) ([]byte, error) {
	v, err := db.seal(InboxPayload, p)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// openInboxRow opens r.Payload in place.
func (db *DB) openInboxRow(r *InboxRow) error {
	p, err := db.open(InboxPayload, r.Payload)
	if err != nil {
		return fmt.Errorf("inbox %d: %w", r.ID, err)
	}
	r.Payload = p
	return nil
}

// openListedInbox opens the payloads of listed rows. A row whose payload
// does not open is listed all the same, with Payload nil and PayloadErr
// saying why: an operator looking at the dead letters must see it. No
// Sealer at all fails the listing.
func (db *DB) openListedInbox(rows []InboxRow) error {
	if err := db.needSealer("list inbox", InboxPayload); err != nil {
		return err
	}
	for i := range rows {
		if err := db.openInboxRow(&rows[i]); err != nil {
			rows[i].Payload, rows[i].PayloadErr = nil, err
		}
	}
	return nil
}

// openClaimedInbox opens the payloads of claimed rows. A row whose payload
// does not open (sealed under a key this instance lacks, altered, or
// plaintext from before sealing) would fail every attempt, and claimed
// oldest first it would hold up the queue's head: it is parked as dead at
// once with the reason, and left out; once the key is restored
// (security.previous_data_keys) or the row rekeyed, requeueing it
// dispatches it. If parking fails the row is left out all the same, and
// comes back when its lease runs out.
func (db *DB) openClaimedInbox(ctx context.Context, rows []InboxRow, now time.Time) []InboxRow {
	out := rows[:0]
	for _, r := range rows {
		if err := db.openInboxRow(&r); err != nil {
			_ = db.MarkInboxDead(ctx, r.Lease(), "payload does not open: "+err.Error(), now)
			continue
		}
		out = append(out, r)
	}
	return out
}
