package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The console's view of the outbox: the messages an admin sent, each
// recipient's outcome and whether they opened it in the H5 message center,
// and the broadcasts waiting for a second admin's approval.

// OutboxMessagesOf lists producer's messages newest first, those with id
// below before only when before > 0 (paging); limit <= 0 is 50.
func (db *DB) OutboxMessagesOf(ctx context.Context, producer string, before int64, limit int) ([]OutboxMessage, error) {
	if limit <= 0 {
		limit = 50
	}
	q := "SELECT " + outboxMessageCols + " FROM outbox_messages WHERE producer = ?"
	args := []any{producer}
	if before > 0 {
		q += " AND id < ?"
		args = append(args, before)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	var out []OutboxMessage
	if err := db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("store: outbox messages of %s: %w", producer, err)
	}
	return out, nil
}

// OutboxReadCount counts the recipients of message id who opened it in
// the H5 message center.
func (db *DB) OutboxReadCount(ctx context.Context, id int64) (int, error) {
	var n int
	if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM outbox_recipients WHERE message_id = ? AND read_at > 0", id); err != nil {
		return 0, fmt.Errorf("store: read count of outbox message %d: %w", id, err)
	}
	return n, nil
}

// OutboxReportRow is one recipient as the delivery report shows it: no
// phone number (the console's messages reach members only).
type OutboxReportRow struct {
	ID      int64  `db:"id"`
	UserID  string `db:"userid"`
	Channel string `db:"channel"`
	Outcome string `db:"outcome"`
	ErrCode int    `db:"errcode"`
	SentAt  int64  `db:"sent_at"`
	ReadAt  int64  `db:"read_at"`
}

// OutboxReport pages message id's recipients by row id: those after
// after, at most limit (<= 0: 100), optionally of one outcome only.
func (db *DB) OutboxReport(ctx context.Context, id int64, outcome string, after int64, limit int) ([]OutboxReportRow, error) {
	if limit <= 0 {
		limit = 100
	}
	q := "SELECT id, userid, channel, outcome, errcode, sent_at, read_at FROM outbox_recipients WHERE message_id = ? AND id > ?"
	args := []any{id, after}
	if outcome != "" {
		q += " AND outcome = ?"
		args = append(args, outcome)
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, limit)
	var out []OutboxReportRow
	if err := db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("store: report of outbox message %d: %w", id, err)
	}
	return out, nil
}

// NoticeProducersOf lists the producers of the messages delivered to
// userID (for the message center's source filter), by name.
func (db *DB) NoticeProducersOf(ctx context.Context, userID string) ([]string, error) {
	var out []string
	err := db.SelectContext(ctx, &out, `SELECT DISTINCT m.producer FROM outbox_recipients r JOIN outbox_messages m ON m.id = r.message_id
		WHERE r.userid = ? AND r.outcome = 'delivered' AND m.state <> 'recalled' ORDER BY m.producer`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: notice producers of %s: %w", userID, err)
	}
	return out, nil
}

// Message draft states.
const (
	DraftPending  = "pending"
	DraftSent     = "sent"
	DraftRejected = "rejected"
)

// MessageDraft is a row of message_drafts: a broadcast waiting for a
// second admin.
type MessageDraft struct {
	ID        int64  `db:"id"`
	CreatedBy string `db:"created_by"`
	CreatedAt int64  `db:"created_at"`
	FormToken string `db:"form_token"`
	Summary   string `db:"summary"`
	Message   string `db:"message"`
	Reach     int    `db:"reach"`
	State     string `db:"state"`
	DecidedBy string `db:"decided_by"`
	DecidedAt int64  `db:"decided_at"`
	MessageID int64  `db:"message_id"`
}

const messageDraftCols = "id, created_by, created_at, form_token, summary, message, reach, state, decided_by, decided_at, message_id"

// InsertMessageDraft saves d as pending and its audit row (whose object
// becomes "message/draft/<id>") in one transaction. The same creator's
// form token again answers the first draft, duplicate true, and writes
// nothing: a double click saves one draft.
func (db *DB) InsertMessageDraft(ctx context.Context, d MessageDraft, audit AuditEntry) (id int64, duplicate bool, err error) {
	if d.FormToken == "" {
		return 0, false, fmt.Errorf("store: message draft of %s: no form token", d.CreatedBy)
	}
	find := func() (bool, error) {
		err := db.GetContext(ctx, &id, "SELECT id FROM message_drafts WHERE created_by = ? AND form_token = ?", d.CreatedBy, d.FormToken)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	if duplicate, err = find(); err != nil || duplicate {
		return id, duplicate, err
	}
	err = db.WithTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO message_drafts (created_by, created_at, form_token, summary, message, reach, state, decided_by, decided_at, message_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, '', 0, 0)`, d.CreatedBy, d.CreatedAt, d.FormToken, truncate(d.Summary, 255), d.Message, d.Reach, DraftPending)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		audit.Object = fmt.Sprintf("message/draft/%d", id)
		return db.InsertAudit(ctx, tx, audit)
	})
	if IsUniqueViolation(err) {
		// The same form, submitted at once on another instance.
		if duplicate, err = find(); duplicate {
			return id, true, nil
		}
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: insert message draft of %s: %w", d.CreatedBy, err)
	}
	return id, false, nil
}

// GetMessageDraft returns draft id, or ErrNotFound.
func (db *DB) GetMessageDraft(ctx context.Context, id int64) (MessageDraft, error) {
	var d MessageDraft
	if err := db.GetContext(ctx, &d, "SELECT "+messageDraftCols+" FROM message_drafts WHERE id = ?", id); err != nil {
		return d, notFound(err, "store: message draft %d", id)
	}
	return d, nil
}

// MessageDrafts lists the drafts in state (all when ""), newest first, at
// most limit (<= 0: 50).
func (db *DB) MessageDrafts(ctx context.Context, state string, limit int) ([]MessageDraft, error) {
	if limit <= 0 {
		limit = 50
	}
	q := "SELECT " + messageDraftCols + " FROM message_drafts"
	var args []any
	if state != "" {
		q += " WHERE state = ?"
		args = append(args, state)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	var out []MessageDraft
	if err := db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("store: message drafts: %w", err)
	}
	return out, nil
}

// DecideMessageDraft moves pending draft id to state (DraftSent with the
// outbox message it became, or DraftRejected) by by, with its audit row,
// in one transaction. A draft is never sent on its author's say: DraftSent
// by its creator changes nothing. It reports whether the draft changed
// (false: decided already, or the creator tried to approve it).
func (db *DB) DecideMessageDraft(ctx context.Context, id int64, state, by string, at, messageID int64, audit AuditEntry) (bool, error) {
	if state != DraftSent && state != DraftRejected {
		return false, fmt.Errorf("store: message draft %d: %q is not a decision", id, state)
	}
	changed := false
	err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
		q := "UPDATE message_drafts SET state = ?, decided_by = ?, decided_at = ?, message_id = ? WHERE id = ? AND state = ?"
		args := []any{state, by, at, messageID, id, DraftPending}
		if state == DraftSent {
			q += " AND created_by <> ?"
			args = append(args, by)
		}
		n, err := execCount(ctx, tx, q, args...)
		if err != nil || n == 0 {
			return err
		}
		changed = true
		return db.InsertAudit(ctx, tx, audit)
	})
	if err != nil {
		return false, fmt.Errorf("store: decide message draft %d: %w", id, err)
	}
	return changed, nil
}
