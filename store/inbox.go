package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// InboxState is where an inbox row is in its life.
type InboxState string

// Inbox states.
//
//	pending ──claim──▶ processing ──▶ done
//	   ▲                  │  ├──────▶ skipped  (no handler for its kind)
//	   └──retry/release───┘  └──────▶ dead     (gave up; RequeueInbox revives)
//
// A processing row whose lease expired (its dispatcher crashed or stalled)
// is claimable again, as if it were pending.
const (
	// InboxPending rows wait for a dispatcher from next_attempt_at on.
	InboxPending InboxState = "pending"
	// InboxProcessing rows are held by lease_owner until lease_until.
	InboxProcessing InboxState = "processing"
	// InboxDone rows were handled.
	InboxDone InboxState = "done"
	// InboxSkipped rows had no handler registered for their kind when they
	// were dispatched; they are kept, and can be requeued once one exists.
	InboxSkipped InboxState = "skipped"
	// InboxDead rows failed every attempt; last_error says why.
	InboxDead InboxState = "dead"
)

// Column bounds of the inbox table. Ops-only columns are truncated to fit
// rather than refused: refusing would make WeCom retry a callback forever
// over a field nobody dispatches on.
const (
	inboxReceiverMax = 64
	inboxDedupKeyMax = 80
	inboxKindMax     = 96
	inboxFromUserMax = 128
	inboxMsgIDMax    = 64
	inboxEventKeyMax = 255
	inboxOwnerMax    = 128
	// InboxErrorMax bounds last_error, in bytes (the column holds 1024
	// characters, so any UTF-8 text of this many bytes fits).
	InboxErrorMax = 1000
)

// InboxMessage is a callback to store: its identity for deduplication, a
// few fields for operators, and the payload the dispatcher needs.
type InboxMessage struct {
	Receiver   string // app name, or "contacts"
	DedupKey   string // wecom.Event.DedupKey
	Kind       string // wecom.Event.Kind
	FromUser   string
	AgentID    int64
	CreateTime int64 // WeCom's CreateTime, Unix seconds
	MsgID      string
	EventKey   string
	Payload    []byte // the decrypted XML
	// Dead, when set, stores the callback as dead with Dead as last_error
	// instead of pending: an authentic callback that must not be dispatched
	// (it does not parse, or it names another app), kept for operators.
	Dead string
}

// InboxRow is a row of the inbox table. Timestamps are Unix milliseconds
// (0 = not set), except CreateTime which is WeCom's, in seconds.
type InboxRow struct {
	ID            int64      `db:"id"`
	Receiver      string     `db:"receiver"`
	DedupKey      string     `db:"dedup_key"`
	Kind          string     `db:"kind"`
	FromUser      string     `db:"from_user"`
	AgentID       int64      `db:"agent_id"`
	CreateTime    int64      `db:"create_time"`
	MsgID         string     `db:"msg_id"`
	EventKey      string     `db:"event_key"`
	Payload       []byte     `db:"payload"`
	State         InboxState `db:"state"`
	Attempts      int        `db:"attempts"`
	LeaseOwner    string     `db:"lease_owner"`
	LeaseUntil    int64      `db:"lease_until"`
	NextAttemptAt int64      `db:"next_attempt_at"`
	LastError     string     `db:"last_error"`
	ReceivedAt    int64      `db:"received_at"`
	DoneAt        int64      `db:"done_at"`

	// Reclaimed is set by ClaimInbox on rows taken over from a dispatcher
	// whose lease had expired (it crashed, or stalled past its lease).
	Reclaimed bool `db:"-"`
	// PayloadErr is set by ListInbox and GetInbox on a row whose sealed payload does not
	// open (Payload is then nil): the row is listed all the same.
	PayloadErr error `db:"-"`
}

// Lease is the claim ClaimInbox gave on the row.
func (r InboxRow) Lease() InboxLease {
	return InboxLease{ID: r.ID, Owner: r.LeaseOwner, Attempt: r.Attempts}
}

// InboxLease names one claim of one row: the owner that claimed it and the
// attempt the claim started. Every write a dispatcher makes to a row it
// claimed is guarded by the lease, so a dispatcher that lost its lease (it
// expired and another took the row) cannot overwrite the new owner's work:
// the write fails with ErrConflict instead.
type InboxLease struct {
	ID      int64
	Owner   string
	Attempt int
}

const inboxColumns = "id, receiver, dedup_key, kind, from_user, agent_id, create_time, msg_id, event_key, payload, " +
	"state, attempts, lease_owner, lease_until, next_attempt_at, last_error, received_at, done_at"

// InsertInbox stores m unless a row with the same receiver and dedup key
// exists, and returns the row's id and whether it was new. A duplicate is
// not an error: it is WeCom re-sending a callback. The unique index decides,
// so concurrent deliveries of one callback to several instances store it
// once. The row is due immediately, or dead from the start when m.Dead says
// why it must not be dispatched.
func (db *DB) InsertInbox(ctx context.Context, m InboxMessage, now time.Time) (id int64, isNew bool, err error) {
	if m.Receiver == "" || len(m.Receiver) > inboxReceiverMax {
		return 0, false, fmt.Errorf("store: insert inbox: receiver %q must be 1 to %d bytes", m.Receiver, inboxReceiverMax)
	}
	if m.DedupKey == "" || len(m.DedupKey) > inboxDedupKeyMax {
		return 0, false, fmt.Errorf("store: insert inbox %s: dedup key %q must be 1 to %d bytes", m.Receiver, m.DedupKey, inboxDedupKeyMax)
	}
	ms := Millis(now)
	// Sealed (inbox.payload): it carries members' messages and, under
	// legacy contact rules, phone numbers and emails.
	payload, err := db.sealInboxPayload(m.Payload)
	if err != nil {
		return 0, false, fmt.Errorf("store: insert inbox %s/%s: %w", m.Receiver, m.DedupKey, err)
	}
	state, lastErr, doneAt := InboxPending, "", int64(0)
	if m.Dead != "" {
		state, lastErr, doneAt = InboxDead, ClipError(m.Dead), ms
	}
	args := []any{
		m.Receiver, m.DedupKey, clip(m.Kind, inboxKindMax), clip(m.FromUser, inboxFromUserMax), m.AgentID, m.CreateTime,
		clip(m.MsgID, inboxMsgIDMax), clip(m.EventKey, inboxEventKeyMax), payload, state, ms, ms, lastErr, doneAt,
	}
	const insert = `INSERT INTO inbox (receiver, dedup_key, kind, from_user, agent_id, create_time, msg_id, event_key, payload,
		state, next_attempt_at, received_at, last_error, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if db.dialect == MySQL {
		// On a duplicate, LAST_INSERT_ID(id) makes the statement report the
		// existing row's id, and changes nothing (0 rows affected). Unlike
		// INSERT IGNORE it does not turn other errors into warnings.
		var res sql.Result
		err := retryDeadlock(ctx, func() (err error) {
			res, err = db.ExecContext(ctx, insert+" ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)", args...)
			return err
		})
		if err != nil {
			return 0, false, fmt.Errorf("store: insert inbox %s/%s: %w", m.Receiver, m.DedupKey, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, false, fmt.Errorf("store: insert inbox %s/%s: %w", m.Receiver, m.DedupKey, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return 0, false, fmt.Errorf("store: insert inbox %s/%s: %w", m.Receiver, m.DedupKey, err)
		}
		return id, n == 1, nil
	}
	st, err := db.prepared(ctx, insert+" ON CONFLICT (receiver, dedup_key) DO NOTHING")
	if err != nil {
		return 0, false, fmt.Errorf("store: insert inbox %s/%s: prepare: %w", m.Receiver, m.DedupKey, err)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, false, fmt.Errorf("store: insert inbox %s/%s: %w", m.Receiver, m.DedupKey, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		id, err := res.LastInsertId()
		if err != nil {
			return 0, false, fmt.Errorf("store: insert inbox %s/%s: %w", m.Receiver, m.DedupKey, err)
		}
		return id, true, nil
	}
	// A duplicate: the row that won is committed (SQLite has one writer),
	// so this read finds it.
	err = db.GetContext(ctx, &id, "SELECT id FROM inbox WHERE receiver = ? AND dedup_key = ?", m.Receiver, m.DedupKey)
	if err != nil {
		return 0, false, notFound(err, "store: insert inbox %s/%s: read existing row", m.Receiver, m.DedupKey)
	}
	return id, false, nil
}

// ClaimInbox leases up to n due rows to owner until now+lease and returns
// them, oldest due first. Due rows are pending rows whose next_attempt_at
// has come, and processing rows whose lease expired (taken over first, so a
// backlog cannot starve them; they come back with Reclaimed set). Each claim
// counts as an attempt. Concurrent claimers, in this process or others,
// never get the same row while its lease runs: MySQL/MariaDB lock the
// chosen rows with SELECT … FOR UPDATE SKIP LOCKED, so claimers pass each
// other instead of queueing; SQLite has a single writer and its
// transactions begin IMMEDIATE.
func (db *DB) ClaimInbox(ctx context.Context, owner string, n int, now time.Time, lease time.Duration) ([]InboxRow, error) {
	if owner == "" || len(owner) > inboxOwnerMax {
		return nil, fmt.Errorf("store: claim inbox: owner %q must be 1 to %d bytes", owner, inboxOwnerMax)
	}
	if n <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("store: claim inbox for %s: lease %v must be positive", owner, lease)
	}
	if err := db.needSealer("claim inbox for "+owner, InboxPayload); err != nil {
		return nil, err
	}
	ms, until := Millis(now), Millis(now.Add(lease))
	var rows []InboxRow
	err := retryDeadlock(ctx, func() error {
		return db.claimTx(ctx, func(tx *sqlx.Tx) error {
			lock := ""
			if db.dialect == MySQL {
				lock = " FOR UPDATE SKIP LOCKED"
			}
			// The ORDER BY follows the index (state, next_attempt_at[, id]), so
			// the scan stops after n rows and locks only those.
			pick := "SELECT id FROM inbox WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?" + lock
			var expired, due []int64
			if err := tx.SelectContext(ctx, &expired, pick, InboxProcessing, ms, n); err != nil {
				return fmt.Errorf("pick expired leases: %w", err)
			}
			if len(expired) < n {
				if err := tx.SelectContext(ctx, &due, pick, InboxPending, ms, n-len(expired)); err != nil {
					return fmt.Errorf("pick due rows: %w", err)
				}
			}
			ids := append(expired, due...)
			if len(ids) == 0 {
				return nil
			}
			q, args, err := sqlx.In(`UPDATE inbox SET state = ?, lease_owner = ?, lease_until = ?, next_attempt_at = ?, attempts = attempts + 1
			WHERE id IN (?)`, InboxProcessing, owner, until, until, ids)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("lease %d rows: %w", len(ids), err)
			}
			q, args, err = sqlx.In("SELECT "+inboxColumns+" FROM inbox WHERE id IN (?)", ids)
			if err != nil {
				return err
			}
			var got []InboxRow
			if err := tx.SelectContext(ctx, &got, q, args...); err != nil {
				return fmt.Errorf("read %d leased rows: %w", len(ids), err)
			}
			byID := make(map[int64]InboxRow, len(got))
			for _, r := range got {
				byID[r.ID] = r
			}
			rows = make([]InboxRow, 0, len(ids))
			for i, id := range ids {
				r, ok := byID[id]
				if !ok {
					return fmt.Errorf("leased row %d vanished", id)
				}
				r.Reclaimed = i < len(expired)
				rows = append(rows, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim inbox for %s: %w", owner, err)
	}
	return db.openClaimedInbox(ctx, rows, now), nil
}

// claimTx runs fn in a transaction suited to claiming. On MySQL/MariaDB it
// is READ COMMITTED: locking reads then take no gap locks, so a claim does
// not hold up the inserts of callbacks arriving meanwhile.
func (db *DB) claimTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if db.dialect != MySQL {
		return db.WithTx(ctx, fn)
	}
	return db.withTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, fn)
}

// ExtendInboxLease moves the lease of a row being processed to until. It
// fails with ErrConflict when the lease was lost.
func (db *DB) ExtendInboxLease(ctx context.Context, l InboxLease, until time.Time) error {
	u := Millis(until)
	return db.leased(ctx, "extend lease of", l, "lease_until = ?, next_attempt_at = ?", u, u)
}

// CompleteInbox marks a row handled.
func (db *DB) CompleteInbox(ctx context.Context, l InboxLease, now time.Time) error {
	return db.leased(ctx, "complete", l, "state = ?, lease_owner = '', lease_until = 0, done_at = ?", InboxDone, Millis(now))
}

// SkipInbox marks a row that no handler claims, keeping why in last_error.
func (db *DB) SkipInbox(ctx context.Context, l InboxLease, reason string, now time.Time) error {
	return db.leased(ctx, "skip", l, "state = ?, lease_owner = '', lease_until = 0, last_error = ?, done_at = ?",
		InboxSkipped, ClipError(reason), Millis(now))
}

// RetryInbox puts a row whose attempt failed back to pending, due at.
func (db *DB) RetryInbox(ctx context.Context, l InboxLease, errMsg string, at time.Time) error {
	return db.leased(ctx, "retry", l, "state = ?, lease_owner = '', lease_until = 0, next_attempt_at = ?, last_error = ?",
		InboxPending, Millis(at), ClipError(errMsg))
}

// MarkInboxDead parks a row that will not be retried, with the error.
func (db *DB) MarkInboxDead(ctx context.Context, l InboxLease, errMsg string, now time.Time) error {
	return db.leased(ctx, "mark dead", l, "state = ?, lease_owner = '', lease_until = 0, last_error = ?, done_at = ?",
		InboxDead, ClipError(errMsg), Millis(now))
}

// ReleaseInbox gives back a claimed row that was not worked on (its
// dispatcher is stopping), due now; the claim does not count as an attempt.
func (db *DB) ReleaseInbox(ctx context.Context, l InboxLease, now time.Time) error {
	return db.leased(ctx, "release", l, "state = ?, lease_owner = '', lease_until = 0, next_attempt_at = ?, attempts = attempts - 1",
		InboxPending, Millis(now))
}

// FinishInbox moves the rows of leases that are still held to state (done,
// skipped or dead) with reason as last_error, in one transaction, and
// returns the leases that were lost (another dispatcher took the row over):
// those rows are left alone. The dispatcher records most outcomes this way,
// many rows per commit, because a commit per row capped dispatch far below
// the rate callbacks arrive.
func (db *DB) FinishInbox(ctx context.Context, leases []InboxLease, state InboxState, reason string, now time.Time) (lost []InboxLease, err error) {
	switch state {
	case InboxDone, InboxSkipped, InboxDead:
	default:
		return nil, fmt.Errorf("store: finish inbox rows as %q: not a final state", state)
	}
	if len(leases) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(leases))
	for i, l := range leases {
		ids[i] = l.ID
	}
	err = retryDeadlock(ctx, func() error {
		lost = lost[:0]
		return db.claimTx(ctx, func(tx *sqlx.Tx) error {
			lock := ""
			if db.dialect == MySQL {
				lock = " FOR UPDATE"
			}
			q, args, err := sqlx.In("SELECT id, lease_owner, attempts FROM inbox WHERE id IN (?) AND state = ?"+lock, ids, InboxProcessing)
			if err != nil {
				return err
			}
			var held []struct {
				ID      int64  `db:"id"`
				Owner   string `db:"lease_owner"`
				Attempt int    `db:"attempts"`
			}
			if err := tx.SelectContext(ctx, &held, q, args...); err != nil {
				return fmt.Errorf("check %d leases: %w", len(ids), err)
			}
			holds := make(map[InboxLease]bool, len(held))
			for _, h := range held {
				holds[InboxLease{ID: h.ID, Owner: h.Owner, Attempt: h.Attempt}] = true
			}
			mine := make([]int64, 0, len(leases))
			for _, l := range leases {
				if holds[l] {
					mine = append(mine, l.ID)
				} else {
					lost = append(lost, l)
				}
			}
			if len(mine) == 0 {
				return nil
			}
			q, args, err = sqlx.In("UPDATE inbox SET state = ?, lease_owner = '', lease_until = 0, last_error = ?, done_at = ? WHERE id IN (?)",
				state, ClipError(reason), Millis(now), mine)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("mark %d rows %s: %w", len(mine), state, err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: finish %d inbox rows as %s: %w", len(leases), state, err)
	}
	return lost, nil
}

// ReleaseInstanceInbox gives back, due now, the rows still leased by an
// earlier run of this instance: those whose lease_owner starts with prefix
// (the instance's name and a separator) other than owner (the current
// run). A restarted instance thereby resumes its own rows at once instead
// of waiting for their leases to run out. The interrupted claim still
// counts as an attempt, so a callback that takes its process down each time
// still ends dead after MaxAttempts. Only correct while no other running
// process uses the same instance name.
func (db *DB) ReleaseInstanceInbox(ctx context.Context, prefix, owner string, now time.Time) (int64, error) {
	if prefix == "" {
		return 0, errors.New("store: release inbox rows of an instance: empty instance prefix")
	}
	var res sql.Result
	err := retryDeadlock(ctx, func() (err error) {
		res, err = db.ExecContext(ctx, `UPDATE inbox SET state = ?, lease_owner = '', lease_until = 0, next_attempt_at = ?,
			last_error = ? WHERE state = ? AND SUBSTR(lease_owner, 1, ?) = ? AND lease_owner <> ?`,
			InboxPending, Millis(now), ClipError("released at the restart of instance "+strings.TrimRight(prefix, "/")+": its previous run stopped while holding it"),
			InboxProcessing, utf8.RuneCountInString(prefix), prefix, owner)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: release inbox rows of instance %s: %w", prefix, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: release inbox rows of instance %s: %w", prefix, err)
	}
	return n, nil
}

// leased updates a row only while l still holds it.
func (db *DB) leased(ctx context.Context, what string, l InboxLease, set string, args ...any) error {
	args = append(args, l.ID, InboxProcessing, l.Owner, l.Attempt)
	var res sql.Result
	err := retryDeadlock(ctx, func() (err error) {
		res, err = db.ExecContext(ctx, "UPDATE inbox SET "+set+" WHERE id = ? AND state = ? AND lease_owner = ? AND attempts = ?", args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: %s inbox %d: %w", what, l.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	// MySQL counts rows changed, not rows matched: an extension to the
	// lease_until the row already has changes nothing. Tell that apart
	// from a lost lease.
	var held int
	err = db.GetContext(ctx, &held, "SELECT COUNT(*) FROM inbox WHERE id = ? AND state = ? AND lease_owner = ? AND attempts = ?",
		l.ID, InboxProcessing, l.Owner, l.Attempt)
	if err != nil {
		return fmt.Errorf("store: %s inbox %d: check lease: %w", what, l.ID, err)
	}
	if held == 1 {
		return nil
	}
	return fmt.Errorf("store: %s inbox %d: lease of %s (attempt %d) was lost: %w", what, l.ID, l.Owner, l.Attempt, ErrConflict)
}

// RequeueInbox puts a dead or skipped row back to pending, due now, with its
// attempts reset: an operator's "try again" once the cause is fixed. It
// fails with ErrNotFound for no such row and ErrConflict for a row in
// another state.
func (db *DB) RequeueInbox(ctx context.Context, id int64, now time.Time) error {
	q, args, err := sqlx.In(`UPDATE inbox SET state = ?, attempts = 0, lease_owner = '', lease_until = 0, next_attempt_at = ?, done_at = 0
		WHERE id = ? AND state IN (?)`, InboxPending, Millis(now), id, []InboxState{InboxDead, InboxSkipped})
	if err != nil {
		return err
	}
	var res sql.Result
	err = retryDeadlock(ctx, func() (err error) {
		res, err = db.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: requeue inbox %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	r, err := db.GetInbox(ctx, id)
	if err != nil {
		return fmt.Errorf("store: requeue inbox %d: %w", id, err)
	}
	return fmt.Errorf("store: requeue inbox %d: state is %s, not dead or skipped: %w", id, r.State, ErrConflict)
}

// GetInbox returns one row, or ErrNotFound.
func (db *DB) GetInbox(ctx context.Context, id int64) (InboxRow, error) {
	var r InboxRow
	if err := db.GetContext(ctx, &r, "SELECT "+inboxColumns+" FROM inbox WHERE id = ?", id); err != nil {
		return InboxRow{}, notFound(err, "store: get inbox %d", id)
	}
	// Like ListInbox: a row whose payload does not open is still shown to
	// the operator, with PayloadErr saying why.
	rows := []InboxRow{r}
	if err := db.openListedInbox(rows); err != nil {
		return InboxRow{}, fmt.Errorf("store: get inbox %d: %w", id, err)
	}
	return rows[0], nil
}

// InboxQuery filters ListInbox. Zero fields do not filter.
type InboxQuery struct {
	State    InboxState
	Receiver string
	Kind     string
	Since    time.Time // rows received at or after
	BeforeID int64     // page: rows with a smaller id
	Limit    int       // default 100, at most 1000
}

func (q InboxQuery) where() (string, []any) {
	var where []string
	var args []any
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, q.State)
	}
	if q.Receiver != "" {
		where, args = append(where, "receiver = ?"), append(args, q.Receiver)
	}
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, q.Kind)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "received_at >= ?"), append(args, Millis(q.Since))
	}
	if q.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, q.BeforeID)
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// ListInbox returns rows matching q, newest first (operators look at the
// dead letters and the backlog).
func (db *DB) ListInbox(ctx context.Context, q InboxQuery) ([]InboxRow, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	where, args := q.where()
	query := "SELECT " + inboxColumns + " FROM inbox" + where + " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	var rows []InboxRow
	if err := db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("store: list inbox %+v: %w", q, err)
	}
	if err := db.openListedInbox(rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// RequeueInboxMatching requeues, like RequeueInbox, every row matching q
// (whose State must be dead or skipped; Limit and BeforeID are ignored), a
// thousand per transaction, and returns the ids it requeued, in order.
func (db *DB) RequeueInboxMatching(ctx context.Context, q InboxQuery, now time.Time) ([]int64, error) {
	if q.State != InboxDead && q.State != InboxSkipped {
		return nil, fmt.Errorf("store: requeue inbox rows %+v: state must be dead or skipped", q)
	}
	const batch = 1000
	q.Limit, q.BeforeID = 0, 0
	where, args := q.where()
	lock := ""
	if db.dialect == MySQL {
		lock = " FOR UPDATE"
	}
	var done []int64
	var after int64 // ids only grow: a row requeued and dead again is not taken twice
	for {
		var ids []int64
		err := retryDeadlock(ctx, func() error {
			ids = nil
			return db.claimTx(ctx, func(tx *sqlx.Tx) error {
				a := append(append([]any{}, args...), after, batch)
				if err := tx.SelectContext(ctx, &ids, "SELECT id FROM inbox"+where+" AND id > ? ORDER BY id LIMIT ?"+lock, a...); err != nil {
					return err
				}
				if len(ids) == 0 {
					return nil
				}
				uq, uargs, err := sqlx.In(`UPDATE inbox SET state = ?, attempts = 0, lease_owner = '', lease_until = 0, next_attempt_at = ?, done_at = 0
					WHERE id IN (?)`, InboxPending, Millis(now), ids)
				if err != nil {
					return err
				}
				_, err = tx.ExecContext(ctx, uq, uargs...)
				return err
			})
		})
		if err != nil {
			return done, fmt.Errorf("store: requeue inbox rows %+v (%d requeued before the error): %w", q, len(done), err)
		}
		done = append(done, ids...)
		if len(ids) < batch {
			return done, nil
		}
		after = ids[len(ids)-1]
	}
}

// InboxPurge selects rows for PurgeInboxMatching: one final state, rows
// that finished before Before, optionally of one receiver or kind.
type InboxPurge struct {
	State    InboxState // done, skipped or dead
	Before   time.Time
	Receiver string
	Kind     string
}

// PurgeInboxMatching deletes up to limit rows selected by p and returns how
// many it deleted; call it until it returns less than limit. Unlike
// PurgeInbox it can delete dead rows (an operator's decision).
func (db *DB) PurgeInboxMatching(ctx context.Context, p InboxPurge, limit int) (int64, error) {
	switch p.State {
	case InboxDone, InboxSkipped, InboxDead:
	default:
		return 0, fmt.Errorf("store: purge inbox rows %+v: state must be done, skipped or dead", p)
	}
	if p.Before.IsZero() {
		return 0, fmt.Errorf("store: purge inbox rows %+v: no cut-off time", p)
	}
	if limit <= 0 {
		return 0, nil
	}
	where := "state = ? AND done_at < ?"
	args := []any{p.State, Millis(p.Before)}
	if p.Receiver != "" {
		where, args = where+" AND receiver = ?", append(args, p.Receiver)
	}
	if p.Kind != "" {
		where, args = where+" AND kind = ?", append(args, p.Kind)
	}
	args = append(args, limit)
	q := "DELETE FROM inbox WHERE " + where + " LIMIT ?"
	if db.dialect != MySQL {
		q = "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE " + where + " LIMIT ?)"
	}
	var res sql.Result
	err := retryDeadlock(ctx, func() (err error) {
		res, err = db.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge inbox rows %+v: %w", p, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge inbox rows %+v: %w", p, err)
	}
	return n, nil
}

// CountInbox counts rows by state, for the given states (default: every
// state but done, which grows without bound and is better read from the
// dispatcher's counters). States with no rows are present with 0.
func (db *DB) CountInbox(ctx context.Context, states ...InboxState) (map[InboxState]int, error) {
	if len(states) == 0 {
		states = []InboxState{InboxPending, InboxProcessing, InboxSkipped, InboxDead}
	}
	q, args, err := sqlx.In("SELECT state, COUNT(*) AS n FROM inbox WHERE state IN (?) GROUP BY state", states)
	if err != nil {
		return nil, err
	}
	var got []struct {
		State InboxState `db:"state"`
		N     int        `db:"n"`
	}
	if err := db.SelectContext(ctx, &got, q, args...); err != nil {
		return nil, fmt.Errorf("store: count inbox: %w", err)
	}
	out := make(map[InboxState]int, len(states))
	for _, s := range states {
		out[s] = 0
	}
	for _, g := range got {
		out[g.State] = g.N
	}
	return out, nil
}

// PurgeInbox deletes up to limit done and skipped rows that finished before
// before, and returns how many it deleted. Dead rows stay until an operator
// requeues them. Keep finished rows well beyond WeCom's retry window: a
// purged row no longer deduplicates a late re-delivery.
func (db *DB) PurgeInbox(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	var q string
	if db.dialect == MySQL {
		q = "DELETE FROM inbox WHERE state IN (?, ?) AND done_at < ? LIMIT ?"
	} else {
		// SQLite is usually built without DELETE … LIMIT.
		q = "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE state IN (?, ?) AND done_at < ? LIMIT ?)"
	}
	var res sql.Result
	err := retryDeadlock(ctx, func() (err error) {
		res, err = db.ExecContext(ctx, q, InboxDone, InboxSkipped, Millis(before), limit)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge inbox before %s: %w", before.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge inbox: %w", err)
	}
	return n, nil
}

// retryDeadlock re-runs fn when MySQL/MariaDB chose it as the victim of a
// deadlock (ER_LOCK_DEADLOCK, 1213). InnoDB rolls the victim back whole, so
// re-running is safe and is the documented remedy. The inbox meets
// deadlocks in normal operation: a claim's SKIP LOCKED scan locks entries
// of the (state, next_attempt_at) index next to rows that a concurrent
// completion is moving out of it.
func retryDeadlock(ctx context.Context, fn func() error) error {
	const tries = 5
	for try := 1; ; try++ {
		err := fn()
		var me *mysql.MySQLError
		if err == nil || try == tries || !errors.As(err, &me) || me.Number != 1213 {
			return err
		}
		// A short random pause so the two sides do not collide again.
		t := time.NewTimer(time.Duration(try) * (time.Millisecond + rand.N(4*time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// ClipError bounds an error text to what last_error holds, cutting at a
// UTF-8 boundary and marking the cut.
func ClipError(s string) string {
	if len(s) <= InboxErrorMax {
		return s
	}
	return clip(s, InboxErrorMax-len("…")) + "…"
}

// clip returns at most n bytes of s, cut at a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
