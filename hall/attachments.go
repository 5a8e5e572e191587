package hall

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/store"
)

// MaxAttachmentSize bounds one uploaded file (a phone photo of a
// certificate, a scanned PDF).
const MaxAttachmentSize = 10 << 20

// attachmentTypes are the files an applicant may attach, by the type
// their content (not their name) says, and the extensions they may have.
var attachmentTypes = map[string][]string{
	"application/pdf": {".pdf"},
	"image/jpeg":      {".jpg", ".jpeg"},
	"image/png":       {".png"},
	"image/webp":      {".webp"},
	// Word and Excel files are zip archives inside.
	"application/zip": {".docx", ".xlsx"},
}

// AttachmentError is an upload refused for what it is, in words for the
// uploader.
type AttachmentError struct{ Problem string }

func (e *AttachmentError) Error() string { return "hall: attachment: " + e.Problem }

// Attachment is an uploaded file as forms and pages show it.
type Attachment struct {
	Token       string
	Filename    string
	ContentType string
	Size        int
}

// owner is whose uploads a viewer's are.
func owner(v Viewer) string {
	if v.UserID != "" {
		return v.UserID
	}
	return "guest:" + v.Mobile
}

// Upload stores a file v attaches to a form they are filling in: its
// token goes into the form's attachment field; until the form is
// submitted only v may read it.
func (e *Engine) Upload(ctx context.Context, v Viewer, filename string, data []byte) (Attachment, error) {
	if v.UserID == "" && v.Mobile == "" {
		return Attachment{}, ErrNotFound
	}
	name := strings.TrimSpace(path.Base(strings.ReplaceAll(filename, "\\", "/")))
	switch {
	case len(data) == 0:
		return Attachment{}, &AttachmentError{"文件是空的"}
	case len(data) > MaxAttachmentSize:
		return Attachment{}, &AttachmentError{fmt.Sprintf("文件超过 %d MB", MaxAttachmentSize>>20)}
	case name == "" || name == "." || name == "/" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100:
		return Attachment{}, &AttachmentError{"文件名须为 1 到 100 个字"}
	}
	ct := http.DetectContentType(data)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	exts, ok := attachmentTypes[ct]
	ext := strings.ToLower(path.Ext(name))
	if !ok || !contains(exts, ext) {
		return Attachment{}, &AttachmentError{"只能上传 PDF、JPG、PNG、WebP 图片或 Word、Excel（.docx、.xlsx）文件"}
	}
	if ct == "application/zip" {
		ct = map[string]string{".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[ext]
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	sum := sha256.Sum256(data)
	a := store.HallAttachment{Token: base64.RawURLEncoding.EncodeToString(b), Owner: owner(v), Filename: name, ContentType: ct, Size: len(data),
		SHA256: hex.EncodeToString(sum[:]), Data: data, CreatedAt: store.Millis(e.now())}
	if _, err := e.db.InsertHallAttachment(ctx, a); err != nil {
		return Attachment{}, err
	}
	e.log.Info("hall attachment uploaded", zap.String("token", a.Token), zap.String("type", ct), zap.Int("bytes", len(data)))
	return Attachment{Token: a.Token, Filename: name, ContentType: ct, Size: len(data)}, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// File is an attachment's content for v: the uploader's own before the
// form is sent, afterwards anyone's who may read the application.
// Anything else is ErrNotFound (tokens cannot be probed).
func (e *Engine) File(ctx context.Context, token string, v Viewer) (Attachment, []byte, error) {
	a, err := e.db.HallAttachment(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return Attachment{}, nil, ErrNotFound
	}
	if err != nil {
		return Attachment{}, nil, err
	}
	allowed := a.Owner == owner(v) && (v.UserID != "" || v.Mobile != "")
	if !allowed && a.ApplicationID != 0 {
		_, err := e.application(ctx, a.ApplicationID, v)
		allowed = err == nil
	}
	if !allowed {
		return Attachment{}, nil, ErrNotFound
	}
	return Attachment{Token: a.Token, Filename: a.Filename, ContentType: a.ContentType, Size: a.Size}, a.Data, nil
}

// Attachments are the files named by tokens (an application's values), in
// order, without their content.
func (e *Engine) Attachments(ctx context.Context, tokens []string) ([]Attachment, error) {
	rows, err := e.db.HallAttachmentsByToken(ctx, tokens)
	if err != nil {
		return nil, err
	}
	by := map[string]store.HallAttachment{}
	for _, r := range rows {
		by[r.Token] = r
	}
	var out []Attachment
	for _, t := range tokens {
		if r, ok := by[t]; ok {
			out = append(out, Attachment{Token: r.Token, Filename: r.Filename, ContentType: r.ContentType, Size: r.Size})
		}
	}
	return out, nil
}

// attachmentTokens are the tokens in values' attachment fields.
func attachmentTokens(p *def.Process, values def.Values) []string {
	var out []string
	for _, f := range p.Fields {
		if f.Type != def.Attachment {
			continue
		}
		if ts, ok := values[f.Key].([]string); ok {
			out = append(out, ts...)
		}
	}
	return out
}

// usableAttachments answers, for the form's posted attachment tokens,
// which the applicant may attach: their own, not yet given to another
// application (appID: the one being resubmitted).
func (e *Engine) usableAttachments(ctx context.Context, p *def.Process, a def.Applicant, appID int64, raw map[string][]string) (func(string) bool, error) {
	var tokens []string
	for _, f := range p.Fields {
		if f.Type == def.Attachment {
			tokens = append(tokens, raw[f.Key]...)
		}
	}
	rows, err := e.db.HallAttachmentsByToken(ctx, tokens)
	if err != nil {
		return nil, err
	}
	me := owner(Viewer{UserID: a.UserID, Mobile: a.Mobile})
	ok := map[string]bool{}
	for _, r := range rows {
		if r.Owner == me && (r.ApplicationID == 0 || r.ApplicationID == appID) {
			ok[r.Token] = true
		}
	}
	return func(t string) bool { return ok[t] }, nil
}
