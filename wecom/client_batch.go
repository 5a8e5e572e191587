package wecom

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Media upload and asynchronous batch imports (§5.5), through our own
// plumbing: silenceper's material upload reads files by path or buffers
// through util.PostMultipartForm without a context, and it has no batch API.

// Media types of media/upload.
const (
	MediaFile  = "file"
	MediaImage = "image"
	MediaVoice = "voice"
	MediaVideo = "video"
)

// MaxMediaSize is media/upload's limit for files (20 MB).
const MaxMediaSize = 20 << 20

// Media is an uploaded temporary medium, valid 3 days and usable by every
// app of the corp.
type Media struct {
	ID        string
	Type      string
	CreatedAt time.Time
}

type mediaResponse struct {
	apiResponse
	Type      string `json:"type"`
	MediaID   string `json:"media_id"`
	CreatedAt string `json:"created_at"` // a string on the wire
}

// UploadMedia uploads r as a temporary medium of mediaType (MediaFile for
// batch CSVs). The body is read fully first so retries can resend it.
func (cl *Client) UploadMedia(ctx context.Context, mediaType, filename string, r io.Reader) (*Media, error) {
	const api = "media/upload"
	data, err := io.ReadAll(io.LimitReader(r, MaxMediaSize+1))
	if err != nil {
		return nil, fmt.Errorf("wecom: %s %s: read: %w", api, filename, err)
	}
	if len(data) > MaxMediaSize {
		return nil, fmt.Errorf("wecom: %s %s: larger than %d bytes", api, filename, MaxMediaSize)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename="%s"; filelength=%d`,
		strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(filename), len(data)))
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err == nil {
		_, err = pw.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("wecom: %s %s: build body: %w", api, filename, err)
	}
	var out mediaResponse
	spec := callSpec{api: api, idempotent: true, fields: []zap.Field{zap.String("filename", filename)}}
	err = cl.do(ctx, spec, func(cs *callState) error {
		out = mediaResponse{}
		return cs.postBody(api, url.Values{"type": {mediaType}}, mw.FormDataContentType(), body.Bytes(), &out)
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s %s: %w", api, filename, err)
	}
	m := &Media{ID: out.MediaID, Type: out.Type}
	if sec, err := strconv.ParseInt(out.CreatedAt, 10, 64); err == nil {
		m.CreatedAt = time.Unix(sec, 0)
	}
	return m, nil
}

// BatchCallback is where WeCom posts the batch_job_result event of a job,
// signed and encrypted with Token and EncodingAESKey.
type BatchCallback struct {
	URL            string `json:"url"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encodingaeskey"`
}

// BatchImport is a batch/syncuser, replaceuser or replaceparty request.
type BatchImport struct {
	MediaID string `json:"media_id"`
	// ToInvite (users only): nil keeps WeCom's default (invite).
	ToInvite *bool          `json:"to_invite,omitempty"`
	Callback *BatchCallback `json:"callback,omitempty"`
}

type jobResponse struct {
	apiResponse
	JobID string `json:"jobid"`
}

// BatchSyncUser upserts the members of the CSV (absent members untouched)
// and returns the job id.
func (cl *Client) BatchSyncUser(ctx context.Context, job BatchImport) (string, error) {
	return cl.batch(ctx, "batch/syncuser", job)
}

// BatchReplaceUser makes the CSV the full member list (WeCom refuses large
// deletions with 45026) and returns the job id.
func (cl *Client) BatchReplaceUser(ctx context.Context, job BatchImport) (string, error) {
	return cl.batch(ctx, "batch/replaceuser", job)
}

// BatchReplaceParty makes the CSV the full department tree (departments not
// in the file are deleted when empty) and returns the job id.
func (cl *Client) BatchReplaceParty(ctx context.Context, job BatchImport) (string, error) {
	job.ToInvite = nil // not a field of replaceparty
	return cl.batch(ctx, "batch/replaceparty", job)
}

// batch submits a job. Not idempotent: a second submission while the first
// runs fails with 302008, so it is resent only when WeCom certainly did not
// see the first.
func (cl *Client) batch(ctx context.Context, api string, job BatchImport) (string, error) {
	var out jobResponse
	err := cl.do(ctx, callSpec{api: api, fields: []zap.Field{zap.String("media_id", job.MediaID)}}, func(cs *callState) error {
		out = jobResponse{}
		return cs.postJSON(api, nil, job, &out)
	})
	if err != nil {
		return "", fmt.Errorf("wecom: %s media %s: %w", api, job.MediaID, err)
	}
	return out.JobID, nil
}

// Batch job statuses.
const (
	JobStarted  = 1
	JobRunning  = 2
	JobFinished = 3
)

// BatchResult is batch/getresult's answer. Rows are meaningful only once
// Status is JobFinished.
type BatchResult struct {
	Status     int              `json:"status"`
	Type       string           `json:"type"` // sync_user, replace_user, replace_party
	Total      int              `json:"total"`
	Percentage int              `json:"percentage"`
	Result     []BatchResultRow `json:"result"`
}

// BatchResultRow is one row's outcome: UserID for member jobs; PartyID and
// Action (bit-or of 1 created, 2 renamed, 4 moved, 8 re-ordered) for
// replace_party.
type BatchResultRow struct {
	UserID  string `json:"userid,omitempty"`
	PartyID int    `json:"partyid,omitempty"`
	Action  int    `json:"action,omitempty"`
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

type batchResultResponse struct {
	apiResponse
	BatchResult
}

// BatchGetResult reads a job's progress and per-row results.
func (cl *Client) BatchGetResult(ctx context.Context, jobID string) (*BatchResult, error) {
	const api = "batch/getresult"
	var out batchResultResponse
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		out = batchResultResponse{}
		return cs.getJSON(api, url.Values{"jobid": {jobID}}, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s %s: %w", api, jobID, err)
	}
	return &out.BatchResult, nil
}
