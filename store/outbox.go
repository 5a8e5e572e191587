package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// OutboxRecipientMobile is an SMS recipient's number, sealed.
var OutboxRecipientMobile = SealedColumn{Table: "outbox_recipients", Key: "id", Column: "mobile"}

// OutboxMessageMobiles are a queued message's SMS numbers (a JSON list),
// sealed, until expansion gives each its recipient row.
var OutboxMessageMobiles = SealedColumn{Table: "outbox_messages", Key: "id", Column: "mobiles"}

// Outbox message states.
const (
	OutboxQueued   = "queued"
	OutboxSending  = "sending"
	OutboxDone     = "done"
	OutboxRecalled = "recalled"
	OutboxExpired  = "expired"
)

// OutboxMessage is a row of outbox_messages.
type OutboxMessage struct {
	ID         int64  `db:"id"`
	Producer   string `db:"producer"`
	Lane       int    `db:"lane"`
	MsgType    string `db:"msgtype"`
	Body       string `db:"body"`
	Safe       int    `db:"safe"`
	SMSText    string `db:"sms_text"`
	Recipients string `db:"recipients"`
	Named      int    `db:"named"`
	Actor      string `db:"actor"`
	State      string `db:"state"`
	SendAt     int64  `db:"send_at"`
	ExpireAt   int64  `db:"expire_at"`
	CreatedAt  int64  `db:"created_at"`
	ExpandedAt int64  `db:"expanded_at"`
	DoneAt     int64  `db:"done_at"`
	LeaseOwner string `db:"lease_owner"`
	LeaseUntil int64  `db:"lease_until"`
	LastError  string `db:"last_error"`
	// Mobiles are the SMS numbers the message names (open); MobilesRaw
	// their sealed column.
	Mobiles    []string `db:"-"`
	MobilesRaw []byte   `db:"mobiles"`
}

const outboxMessageCols = "id, producer, lane, msgtype, body, safe, sms_text, recipients, named, actor, state, send_at, expire_at, created_at, expanded_at, done_at, lease_owner, lease_until, last_error, mobiles"

// InsertOutboxMessage commits m (its ID and state ignored: queued) and,
// with idemKey, the producer's idempotency key, in one transaction. A key
// already used answers the message it names, duplicate true, and writes
// nothing.
func (db *DB) InsertOutboxMessage(ctx context.Context, m OutboxMessage, idemKey string) (id int64, duplicate bool, err error) {
	var mobiles []byte
	if len(m.Mobiles) > 0 {
		b, err := json.Marshal(m.Mobiles)
		if err != nil {
			return 0, false, err
		}
		if mobiles, err = db.seal(OutboxMessageMobiles, b); err != nil {
			return 0, false, fmt.Errorf("store: insert outbox message of %s: %w", m.Producer, err)
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		err = db.WithTx(ctx, func(tx *sqlx.Tx) error {
			if idemKey != "" {
				var have int64
				err := tx.GetContext(ctx, &have, "SELECT message_id FROM outbox_idempotency WHERE producer = ? AND idem_key = ?", m.Producer, idemKey)
				if err == nil {
					id, duplicate = have, true
					return nil
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO outbox_messages (producer, lane, msgtype, body, safe, sms_text, recipients, named, actor, state,
				send_at, expire_at, created_at, expanded_at, done_at, lease_owner, lease_until, last_error, mobiles)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', 0, '', ?)`,
				m.Producer, m.Lane, m.MsgType, m.Body, m.Safe, m.SMSText, m.Recipients, m.Named, m.Actor, OutboxQueued, m.SendAt, m.ExpireAt, m.CreatedAt, mobiles)
			if err != nil {
				return err
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
			if idemKey != "" {
				if _, err := tx.ExecContext(ctx, "INSERT INTO outbox_idempotency (producer, idem_key, message_id) VALUES (?, ?, ?)", m.Producer, idemKey, id); err != nil {
					return err
				}
			}
			return nil
		})
		if !IsUniqueViolation(err) {
			break
		}
		// Another instance committed the same key meanwhile: read it.
		duplicate = false
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: insert outbox message of %s: %w", m.Producer, err)
	}
	return id, duplicate, nil
}

// GetOutboxMessage returns message id, or ErrNotFound.
func (db *DB) GetOutboxMessage(ctx context.Context, id int64) (OutboxMessage, error) {
	var m OutboxMessage
	err := db.GetContext(ctx, &m, "SELECT "+outboxMessageCols+" FROM outbox_messages WHERE id = ?", id)
	if err != nil {
		return m, notFound(err, "store: outbox message %d", id)
	}
	if len(m.MobilesRaw) > 0 {
		b, err := db.open(OutboxMessageMobiles, m.MobilesRaw)
		if err != nil {
			return m, fmt.Errorf("store: outbox message %d: %w", id, err)
		}
		if err := json.Unmarshal(b, &m.Mobiles); err != nil {
			return m, fmt.Errorf("store: outbox message %d: numbers: %w", id, err)
		}
	}
	return m, nil
}

// ClaimDueMessages leases up to limit queued messages due by now (send_at
// passed, no live lease) to owner until leaseUntil, for expansion.
func (db *DB) ClaimDueMessages(ctx context.Context, owner string, now, leaseUntil int64, limit int) ([]OutboxMessage, error) {
	var ids []int64
	if err := db.SelectContext(ctx, &ids, "SELECT id FROM outbox_messages WHERE state = ? AND send_at <= ? AND lease_until < ? ORDER BY lane, send_at, id LIMIT ?",
		OutboxQueued, now, now, limit); err != nil {
		return nil, fmt.Errorf("store: due outbox messages: %w", err)
	}
	var out []OutboxMessage
	for _, id := range ids {
		n, err := execCount(ctx, db, "UPDATE outbox_messages SET lease_owner = ?, lease_until = ? WHERE id = ? AND state = ? AND lease_until < ?",
			owner, leaseUntil, id, OutboxQueued, now)
		if err != nil {
			return nil, fmt.Errorf("store: claim outbox message %d: %w", id, err)
		}
		if n == 1 {
			m, err := db.GetOutboxMessage(ctx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// OutboxRecipient is a row of outbox_recipients; Mobile is open.
type OutboxRecipient struct {
	ID         int64  `db:"id"`
	MessageID  int64  `db:"message_id"`
	Lane       int    `db:"lane"`
	UserID     string `db:"userid"`
	Mobile     string `db:"-"`
	MobileRaw  []byte `db:"mobile"`
	Channel    string `db:"channel"`
	Outcome    string `db:"outcome"`
	ErrCode    int    `db:"errcode"`
	Attempts   int    `db:"attempts"`
	NextAt     int64  `db:"next_at"`
	SentAt     int64  `db:"sent_at"`
	MsgID      string `db:"wecom_msgid"`
	Chunk      string `db:"chunk"`
	LeaseOwner string `db:"lease_owner"`
	LeaseUntil int64  `db:"lease_until"`
}

const outboxRecipientCols = "id, message_id, lane, userid, mobile, channel, outcome, errcode, attempts, next_at, sent_at, wecom_msgid, chunk, lease_owner, lease_until"

// ExpandOutboxMessage writes a claimed message's recipients (all pending,
// due at its send time) and marks it sending, in one transaction: a
// dispatcher that dies while expanding leaves nothing half-written. It
// does nothing when the message is no longer owner's queued message.
func (db *DB) ExpandOutboxMessage(ctx context.Context, owner string, id int64, rs []OutboxRecipient, now int64) (bool, error) {
	ok := false
	err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
		state, done := OutboxSending, int64(0)
		if len(rs) == 0 {
			state, done = OutboxDone, now // nobody to send to: done at once
		}
		n, err := execCount(ctx, tx, "UPDATE outbox_messages SET state = ?, expanded_at = ?, done_at = ?, lease_owner = '', lease_until = 0 WHERE id = ? AND state = ? AND lease_owner = ?",
			state, now, done, id, OutboxQueued, owner)
		if err != nil || n == 0 {
			return err
		}
		ok = true
		const batch = 500
		for start := 0; start < len(rs); start += batch {
			part := rs[start:min(start+batch, len(rs))]
			var sb strings.Builder
			sb.WriteString("INSERT INTO outbox_recipients (message_id, lane, userid, mobile, channel, outcome, errcode, attempts, next_at, sent_at, wecom_msgid, chunk, lease_owner, lease_until) VALUES ")
			args := make([]any, 0, len(part)*6)
			for i, r := range part {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, ?, ?, ?, ?, 0, 0, ?, 0, '', '', '', 0)")
				var mobile []byte
				if r.Mobile != "" {
					if mobile, err = db.seal(OutboxRecipientMobile, []byte(r.Mobile)); err != nil {
						return err
					}
				}
				outcome := r.Outcome
				if outcome == "" {
					outcome = "pending"
				}
				args = append(args, id, r.Lane, r.UserID, mobile, r.Channel, outcome, r.NextAt)
			}
			if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: expand outbox message %d: %w", id, err)
	}
	return ok, nil
}

// ClaimDueRecipients leases to owner, as one chunk, up to limit recipients
// of one message and channel due by now (pending or held, lanes in order),
// marking them sending; and first, any chunk whose sender's lease ran out
// mid-call (to be sent again exactly). It returns the rows, ordered by id.
func (db *DB) ClaimDueRecipients(ctx context.Context, owner, chunk string, now, leaseUntil int64, limit int) ([]OutboxRecipient, error) {
	// A chunk left sending by a dispatcher that died: take it whole.
	var stale []string
	if err := db.SelectContext(ctx, &stale, "SELECT DISTINCT chunk FROM outbox_recipients WHERE outcome = 'sending' AND lease_until < ? LIMIT 1", now); err != nil {
		return nil, fmt.Errorf("store: stale outbox chunks: %w", err)
	}
	if len(stale) > 0 {
		n, err := execCount(ctx, db, "UPDATE outbox_recipients SET lease_owner = ?, lease_until = ? WHERE chunk = ? AND outcome = 'sending' AND lease_until < ?",
			owner, leaseUntil, stale[0], now)
		if err != nil {
			return nil, fmt.Errorf("store: take over outbox chunk %s: %w", stale[0], err)
		}
		if n > 0 {
			return db.chunkRows(ctx, stale[0], owner)
		}
	}
	var head []OutboxRecipient
	if err := db.SelectContext(ctx, &head, "SELECT "+outboxRecipientCols+" FROM outbox_recipients WHERE outcome IN ('pending', 'held') AND next_at <= ? ORDER BY lane, next_at, id LIMIT 1", now); err != nil {
		return nil, fmt.Errorf("store: due outbox recipients: %w", err)
	}
	if len(head) == 0 {
		return nil, nil
	}
	var ids []int64
	if err := db.SelectContext(ctx, &ids, "SELECT id FROM outbox_recipients WHERE message_id = ? AND channel = ? AND outcome IN ('pending', 'held') AND next_at <= ? ORDER BY id LIMIT ?",
		head[0].MessageID, head[0].Channel, now, limit); err != nil {
		return nil, fmt.Errorf("store: due outbox recipients: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := db.leaseRows(ctx, owner, chunk, ids, leaseUntil); err != nil {
		return nil, err
	}
	return db.chunkRows(ctx, chunk, owner)
}

// leaseRows marks the rows of ids still pending or held as sending under
// chunk, leased to owner until leaseUntil.
func (db *DB) leaseRows(ctx context.Context, owner, chunk string, ids []int64, leaseUntil int64) error {
	q, args, err := sqlx.In("UPDATE outbox_recipients SET outcome = 'sending', chunk = ?, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id IN (?) AND outcome IN ('pending', 'held')",
		chunk, owner, leaseUntil, ids)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store: claim outbox recipients: %w", err)
	}
	return nil
}

func (db *DB) chunkRows(ctx context.Context, chunk, owner string) ([]OutboxRecipient, error) {
	var rs []OutboxRecipient
	if err := db.SelectContext(ctx, &rs, "SELECT "+outboxRecipientCols+" FROM outbox_recipients WHERE chunk = ? AND outcome = 'sending' AND lease_owner = ? ORDER BY id", chunk, owner); err != nil {
		return nil, fmt.Errorf("store: outbox chunk %s: %w", chunk, err)
	}
	for i := range rs {
		if len(rs[i].MobileRaw) > 0 {
			p, err := db.open(OutboxRecipientMobile, rs[i].MobileRaw)
			if err != nil {
				return nil, err
			}
			rs[i].Mobile = string(p)
		}
	}
	return rs, nil
}

// OutboxResult is the outcome of some recipients of a chunk.
type OutboxResult struct {
	IDs     []int64
	Outcome string
	ErrCode int
	NextAt  int64 // pending and held: when to try again
	SentAt  int64
	MsgID   string
	// ResponseCode is message/send's code for a button, vote or multiple
	// card (one use: message/update_template_card).
	ResponseCode string
}

// FinishOutboxChunk records a chunk's results (releasing its lease) in one
// transaction, and marks done each of its messages with nothing left to
// send.
func (db *DB) FinishOutboxChunk(ctx context.Context, owner string, results []OutboxResult, now int64) error {
	err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
		msgs := map[int64]bool{}
		for _, r := range results {
			if len(r.IDs) == 0 {
				continue
			}
			for start := 0; start < len(r.IDs); start += 1000 {
				part := r.IDs[start:min(start+1000, len(r.IDs))]
				q, args, err := sqlx.In(`UPDATE outbox_recipients SET outcome = ?, errcode = ?, next_at = ?, sent_at = ?, wecom_msgid = ?, response_code = ?, lease_owner = '', lease_until = 0
					WHERE id IN (?) AND lease_owner = ?`, r.Outcome, r.ErrCode, r.NextAt, r.SentAt, r.MsgID, r.ResponseCode, part, owner)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return err
				}
			}
			var ms []int64
			q, args, err := sqlx.In("SELECT DISTINCT message_id FROM outbox_recipients WHERE id IN (?)", r.IDs[:min(len(r.IDs), 1000)])
			if err != nil {
				return err
			}
			if err := tx.SelectContext(ctx, &ms, q, args...); err != nil {
				return err
			}
			for _, m := range ms {
				msgs[m] = true
			}
		}
		for m := range msgs {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET state = ?, done_at = ? WHERE id = ? AND state = ?
				AND NOT EXISTS (SELECT 1 FROM outbox_recipients WHERE message_id = ? AND outcome IN ('pending', 'held', 'sending'))`,
				OutboxDone, now, m, OutboxSending, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: finish outbox chunk: %w", err)
	}
	return nil
}

// DeferOutboxChunk keeps a chunk whose send failed uncertainly together,
// still sending, under a lease that ends at next: then it is taken over
// (by anyone) and the very same request is sent again.
func (db *DB) DeferOutboxChunk(ctx context.Context, owner string, ids []int64, next int64) error {
	q, args, err := sqlx.In("UPDATE outbox_recipients SET lease_until = ? WHERE id IN (?) AND lease_owner = ? AND outcome = 'sending'", next, ids, owner)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store: defer outbox chunk: %w", err)
	}
	return nil
}

// OutboxCounts counts a message's recipients by outcome.
func (db *DB) OutboxCounts(ctx context.Context, id int64) (map[string]int, error) {
	var rows []struct {
		Outcome string `db:"outcome"`
		N       int    `db:"n"`
	}
	if err := db.SelectContext(ctx, &rows, "SELECT outcome, COUNT(*) AS n FROM outbox_recipients WHERE message_id = ? GROUP BY outcome", id); err != nil {
		return nil, fmt.Errorf("store: outbox counts of %d: %w", id, err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Outcome] = r.N
	}
	return out, nil
}

// OutboxRecipientsOf lists a message's recipients by id (limit <= 0: all).
func (db *DB) OutboxRecipientsOf(ctx context.Context, id int64, limit int) ([]OutboxRecipient, error) {
	q := "SELECT " + outboxRecipientCols + " FROM outbox_recipients WHERE message_id = ? ORDER BY id"
	args := []any{id}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	var rs []OutboxRecipient
	if err := db.SelectContext(ctx, &rs, q, args...); err != nil {
		return nil, fmt.Errorf("store: recipients of outbox message %d: %w", id, err)
	}
	for i := range rs {
		if len(rs[i].MobileRaw) > 0 {
			p, err := db.open(OutboxRecipientMobile, rs[i].MobileRaw)
			if err != nil {
				return nil, err
			}
			rs[i].Mobile = string(p)
		}
	}
	return rs, nil
}

// WeChatPluginUsers are the people whose latest sign-in came from
// personal WeChat (the WeChat plugin): they cannot see markdown or
// template cards.
func (db *DB) WeChatPluginUsers(ctx context.Context) (map[string]bool, error) {
	var rows []struct {
		UserID string `db:"userid"`
		Client string `db:"client"`
		Last   int64  `db:"last_seen"`
	}
	if err := db.SelectContext(ctx, &rows, "SELECT userid, client, last_seen FROM person_clients WHERE client IN ('wechat', 'wecom')"); err != nil {
		return nil, fmt.Errorf("store: wechat plugin users: %w", err)
	}
	latest := map[string]struct {
		client string
		at     int64
	}{}
	for _, r := range rows {
		if l, ok := latest[r.UserID]; !ok || r.Last > l.at {
			latest[r.UserID] = struct {
				client string
				at     int64
			}{r.Client, r.Last}
		}
	}
	out := map[string]bool{}
	for u, l := range latest {
		if l.client == "wechat" {
			out[u] = true
		}
	}
	// An admin's mark wins over the sign-ins.
	marks, err := db.PersonChannels(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range marks {
		if m.Client == "wechat" {
			out[m.UserID] = true
		} else {
			delete(out, m.UserID)
		}
	}
	return out, nil
}

// PersonNotice is one message in a person's message center.
type PersonNotice struct {
	MessageID int64  `db:"message_id"`
	Producer  string `db:"producer"`
	Lane      int    `db:"lane"`
	MsgType   string `db:"msgtype"`
	Body      string `db:"body"`
	CreatedAt int64  `db:"created_at"`
	SentAt    int64  `db:"sent_at"`
	ReadAt    int64  `db:"read_at"`
	Outcome   string `db:"outcome"`
}

// NoticesOf lists the messages delivered to userID, newest first (limit
// <= 0: 50), optionally from one producer only.
func (db *DB) NoticesOf(ctx context.Context, userID, producer string, limit int) ([]PersonNotice, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT r.message_id, m.producer, m.lane, m.msgtype, m.body, m.created_at, r.sent_at, r.read_at, r.outcome
		FROM outbox_recipients r JOIN outbox_messages m ON m.id = r.message_id
		WHERE r.userid = ? AND r.outcome = 'delivered' AND m.state <> 'recalled'`
	args := []any{userID}
	if producer != "" {
		q += " AND m.producer = ?"
		args = append(args, producer)
	}
	q += " ORDER BY r.message_id DESC LIMIT ?"
	args = append(args, limit)
	var out []PersonNotice
	if err := db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("store: notices of %s: %w", userID, err)
	}
	return out, nil
}

// NoticeOf returns message id as delivered to userID (ErrNotFound when it
// was not: each person sees only their own).
func (db *DB) NoticeOf(ctx context.Context, userID string, id int64) (PersonNotice, error) {
	var n PersonNotice
	err := db.GetContext(ctx, &n, `SELECT r.message_id, m.producer, m.lane, m.msgtype, m.body, m.created_at, r.sent_at, r.read_at, r.outcome
		FROM outbox_recipients r JOIN outbox_messages m ON m.id = r.message_id
		WHERE r.userid = ? AND r.message_id = ? AND r.outcome = 'delivered' AND m.state <> 'recalled' LIMIT 1`, userID, id)
	if err != nil {
		return n, notFound(err, "store: notice %d of %s", id, userID)
	}
	return n, nil
}

// MarkNoticeRead records that userID opened message id (the first time
// counts).
func (db *DB) MarkNoticeRead(ctx context.Context, userID string, id int64, at int64) error {
	if _, err := db.ExecContext(ctx, "UPDATE outbox_recipients SET read_at = ? WHERE userid = ? AND message_id = ? AND read_at = 0", at, userID, id); err != nil {
		return fmt.Errorf("store: mark notice %d of %s read: %w", id, userID, err)
	}
	return nil
}

// UnreadNotices counts the messages delivered to userID not yet opened.
func (db *DB) UnreadNotices(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM outbox_recipients r JOIN outbox_messages m ON m.id = r.message_id
		WHERE r.userid = ? AND r.outcome = 'delivered' AND r.read_at = 0 AND m.state <> 'recalled'`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: unread notices of %s: %w", userID, err)
	}
	return n, nil
}

// RecallOutboxMessage marks message id recalled: its unsent recipients
// will not be sent, its delivered ones say recalled. It returns the WeCom
// msgids to recall.
func (db *DB) RecallOutboxMessage(ctx context.Context, id int64, now int64) ([]string, error) {
	var msgids []string
	err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE outbox_messages SET state = ?, done_at = ? WHERE id = ?", OutboxRecalled, now, id); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &msgids, "SELECT DISTINCT wecom_msgid FROM outbox_recipients WHERE message_id = ? AND outcome = 'delivered' AND wecom_msgid <> ''", id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE outbox_recipients SET outcome = 'recalled', lease_owner = '', lease_until = 0 WHERE message_id = ? AND outcome IN ('pending', 'held', 'delivered')", id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: recall outbox message %d: %w", id, err)
	}
	return msgids, nil
}

// OutboxBacklog counts the recipients waiting (pending, held or sending)
// by lane.
func (db *DB) OutboxBacklog(ctx context.Context) (map[int]int, error) {
	var rows []struct {
		Lane int `db:"lane"`
		N    int `db:"n"`
	}
	if err := db.SelectContext(ctx, &rows, "SELECT lane, COUNT(*) AS n FROM outbox_recipients WHERE outcome IN ('pending', 'held', 'sending') GROUP BY lane"); err != nil {
		return nil, fmt.Errorf("store: outbox backlog: %w", err)
	}
	out := map[int]int{}
	for _, r := range rows {
		out[r.Lane] = r.N
	}
	return out, nil
}

// OutboxWaiting counts a message's recipients not done yet: pending or in
// flight, and held by the quota governor with the latest time one of
// those is due again.
func (db *DB) OutboxWaiting(ctx context.Context, id int64) (pending, held int, heldUntil int64, err error) {
	var row struct {
		Pending sql.NullInt64 `db:"pending"`
		Held    sql.NullInt64 `db:"held"`
		Until   sql.NullInt64 `db:"until_at"`
	}
	err = db.GetContext(ctx, &row, `SELECT SUM(CASE WHEN outcome IN ('pending', 'sending') THEN 1 ELSE 0 END) AS pending,
		SUM(CASE WHEN outcome = 'held' THEN 1 ELSE 0 END) AS held,
		MAX(CASE WHEN outcome = 'held' THEN next_at ELSE 0 END) AS until_at
		FROM outbox_recipients WHERE message_id = ?`, id)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("store: outbox waiting of %d: %w", id, err)
	}
	return int(row.Pending.Int64), int(row.Held.Int64), row.Until.Int64, nil
}

// CountMirrorMembers is how many members the contacts mirror holds.
func (db *DB) CountMirrorMembers(ctx context.Context) (int, error) {
	var n int
	if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM contacts_members"); err != nil {
		return 0, fmt.Errorf("store: count mirror members: %w", err)
	}
	return n, nil
}

// OutboxResponseCode is the response_code message/send answered when it
// delivered message id to userID ("" when it answered none).
func (db *DB) OutboxResponseCode(ctx context.Context, id int64, userID string) (string, error) {
	var code string
	err := db.GetContext(ctx, &code, "SELECT response_code FROM outbox_recipients WHERE message_id = ? AND userid = ? AND outcome = 'delivered' ORDER BY id LIMIT 1", id, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: response code of message %d for %s: %w", id, userID, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: response code of message %d for %s: %w", id, userID, err)
	}
	return code, nil
}

// HeldOutboxRows are the rows of lane held back by the quota for these
// members, other than message except's: what a digest may fold in.
func (db *DB) HeldOutboxRows(ctx context.Context, lane int, userIDs []string, except int64) ([]OutboxRecipient, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In("SELECT "+outboxRecipientCols+" FROM outbox_recipients WHERE userid IN (?) AND outcome = 'held' AND lane = ? AND message_id <> ? AND channel <> 'sms' ORDER BY id",
		userIDs, lane, except)
	if err != nil {
		return nil, err
	}
	var rs []OutboxRecipient
	if err := db.SelectContext(ctx, &rs, q, args...); err != nil {
		return nil, fmt.Errorf("store: held outbox rows: %w", err)
	}
	return rs, nil
}

// ClaimOutboxRows leases the given rows to owner as chunk if they are
// still held or pending (another dispatcher may have taken some), and
// answers the ids it got.
func (db *DB) ClaimOutboxRows(ctx context.Context, owner, chunk string, ids []int64, leaseUntil int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if err := db.leaseRows(ctx, owner, chunk, ids, leaseUntil); err != nil {
		return nil, err
	}
	var got []int64
	if err := db.SelectContext(ctx, &got, "SELECT id FROM outbox_recipients WHERE chunk = ? AND lease_owner = ? AND outcome = 'sending' ORDER BY id", chunk, owner); err != nil {
		return nil, fmt.Errorf("store: claimed outbox rows: %w", err)
	}
	return got, nil
}

// PersonChannel is an admin's mark of the client a person reads
// messages in.
type PersonChannel struct {
	UserID string `db:"userid"`
	Client string `db:"client"` // wechat | wecom
	Note   string `db:"note"`
	SetBy  string `db:"set_by"`
	SetAt  int64  `db:"set_at"`
}

// PersonChannels lists the marks by userid.
func (db *DB) PersonChannels(ctx context.Context) ([]PersonChannel, error) {
	var out []PersonChannel
	if err := db.SelectContext(ctx, &out, "SELECT userid, client, note, set_by, set_at FROM person_channels ORDER BY userid"); err != nil {
		return nil, fmt.Errorf("store: person channels: %w", err)
	}
	return out, nil
}

// SetPersonChannel marks (client wechat or wecom) or unmarks (client "")
// a person, through q (nil: the pool), and answers the mark it replaced.
func (db *DB) SetPersonChannel(ctx context.Context, q sqlx.ExtContext, m PersonChannel) (before *PersonChannel, err error) {
	ext := db.ext(q)
	var old PersonChannel
	switch err := sqlx.GetContext(ctx, ext, &old, "SELECT userid, client, note, set_by, set_at FROM person_channels WHERE userid = ?", m.UserID); {
	case err == nil:
		before = &old
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: person channel of %s: %w", m.UserID, err)
	}
	if _, err := ext.ExecContext(ctx, "DELETE FROM person_channels WHERE userid = ?", m.UserID); err != nil {
		return nil, fmt.Errorf("store: unmark %s: %w", m.UserID, err)
	}
	if m.Client == "" {
		return before, nil
	}
	if _, err := ext.ExecContext(ctx, "INSERT INTO person_channels (userid, client, note, set_by, set_at) VALUES (?, ?, ?, ?, ?)", m.UserID, m.Client, m.Note, m.SetBy, m.SetAt); err != nil {
		return nil, fmt.Errorf("store: mark %s %s: %w", m.UserID, m.Client, err)
	}
	return before, nil
}
