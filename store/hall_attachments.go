package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// HallAttachmentData is an uploaded file's content, sealed.
var HallAttachmentData = SealedColumn{Table: "hall_attachments", Key: "id", Column: "data"}

// HallAttachment is a row of hall_attachments; Data is open.
type HallAttachment struct {
	ID            int64  `db:"id"`
	Token         string `db:"token"`
	Owner         string `db:"owner"`
	Filename      string `db:"filename"`
	ContentType   string `db:"content_type"`
	Size          int    `db:"size"`
	SHA256        string `db:"sha256"`
	DataRaw       []byte `db:"data"`
	Data          []byte `db:"-"`
	ApplicationID int64  `db:"application_id"`
	CreatedAt     int64  `db:"created_at"`
}

// InsertHallAttachment stores a (its Data sealed).
func (db *DB) InsertHallAttachment(ctx context.Context, a HallAttachment) (int64, error) {
	sealed, err := db.seal(HallAttachmentData, a.Data)
	if err != nil {
		return 0, fmt.Errorf("store: hall attachment %s: %w", a.Filename, err)
	}
	res, err := db.ExecContext(ctx, `INSERT INTO hall_attachments (token, owner, filename, content_type, size, sha256, data, application_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`, a.Token, a.Owner, a.Filename, a.ContentType, a.Size, a.SHA256, sealed, a.CreatedAt)
	if err != nil {
		return 0, fmt.Errorf("store: insert hall attachment %s: %w", a.Filename, err)
	}
	return res.LastInsertId()
}

// HallAttachmentsByToken are the attachments with these tokens, without
// their content.
func (db *DB) HallAttachmentsByToken(ctx context.Context, tokens []string) ([]HallAttachment, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In("SELECT id, token, owner, filename, content_type, size, sha256, application_id, created_at FROM hall_attachments WHERE token IN (?) ORDER BY id", tokens)
	if err != nil {
		return nil, err
	}
	var out []HallAttachment
	if err := db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("store: hall attachments: %w", err)
	}
	return out, nil
}

// HallAttachment reads the attachment token with its content open.
func (db *DB) HallAttachment(ctx context.Context, token string) (HallAttachment, error) {
	var a HallAttachment
	if err := db.GetContext(ctx, &a, "SELECT id, token, owner, filename, content_type, size, sha256, data, application_id, created_at FROM hall_attachments WHERE token = ?", token); err != nil {
		return a, notFound(err, "store: hall attachment %s", token)
	}
	b, err := db.open(HallAttachmentData, a.DataRaw)
	if err != nil {
		return a, fmt.Errorf("store: hall attachment %s: %w", token, err)
	}
	a.Data, a.DataRaw = b, nil
	return a, nil
}

// LinkHallAttachments gives owner's unlinked attachments among tokens to
// application appID, through q, and answers how many it linked.
func (db *DB) LinkHallAttachments(ctx context.Context, q sqlx.ExtContext, appID int64, owner string, tokens []string) (int64, error) {
	if len(tokens) == 0 {
		return 0, nil
	}
	query, args, err := sqlx.In("UPDATE hall_attachments SET application_id = ? WHERE token IN (?) AND owner = ? AND (application_id = 0 OR application_id = ?)", appID, tokens, owner, appID)
	if err != nil {
		return 0, err
	}
	n, err := execCount(ctx, db.ext(q), query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: link hall attachments to %d: %w", appID, err)
	}
	return n, nil
}
