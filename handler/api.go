package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/notify"
)

// The ingest API: business systems (OA, the academic affairs system, the
// library…) submit messages to the message center, signed with an API key
// (package apikey), and read their results. These are machine calls: no
// session, no cross-origin check; the signature is the authentication.
//
//	POST /api/v1/messages       → 202 {"id","recipients","duplicate"}
//	GET  /api/v1/messages/{id}  → 200 notify.Status, for the key's own messages
//
// Every answer is JSON; a refusal is {"error": "...", "field": "..."}.

// DefaultAPIMaxBody caps an ingest request's body when Deps.APIMaxBody is
// 0: a message is a few kilobytes (a text is at most 2,048 bytes, a news
// message 8 articles, docs/wecom.md §6).
const DefaultAPIMaxBody = 64 << 10

// HeaderIdempotencyKey names the producer's key for a message: the same
// key again answers the first message and sends nothing more.
const HeaderIdempotencyKey = "Idempotency-Key"

// apiRoutes mounts the ingest API when it is configured.
func (s *server) apiRoutes(r *gin.Engine) {
	if s.APIKeys == nil || s.Messages == nil {
		return
	}
	api := r.Group("/api/v1")
	api.POST("/messages", s.apiSubmit)
	api.GET("/messages/:id", s.apiGet)
}

// apiFail is a refusal: status, what is wrong, the field or header at
// fault.
type apiFail struct {
	status int
	msg    string
	field  string
}

func (e *apiFail) Error() string { return e.msg }

func invalid(field, format string, args ...any) *apiFail {
	return &apiFail{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// apiError answers a refusal, or a 500 for anything else (logged, never
// shown). The log line carries the key id the request named and why it was
// refused; never the signature or anything of the secret.
func (s *server) apiError(c *gin.Context, err error) {
	log := logctx.L(c.Request.Context(), s.log).With(zap.String("key_id", truncate(c.GetHeader(apikey.HeaderKey), 40)))
	var (
		f  *apiFail
		ae *apikey.Error
		ie *notify.InvalidError
	)
	switch {
	case errors.As(err, &f):
	case errors.As(err, &ae):
		f = &apiFail{msg: ae.Msg, field: ae.Field}
		switch {
		case errors.Is(ae, apikey.ErrUnauthorized):
			f.status = http.StatusUnauthorized
			c.Header("WWW-Authenticate", `Wecomapp-HMAC-SHA256 realm="wecomapp"`)
		case errors.Is(ae, apikey.ErrReplay):
			f.status = http.StatusConflict
		case errors.Is(ae, apikey.ErrRateLimited):
			f.status = http.StatusTooManyRequests
			c.Header("Retry-After", strconv.Itoa(ae.RetryAfterSeconds()))
		case errors.Is(ae, apikey.ErrOutOfScope):
			f.status = http.StatusForbidden
		case errors.Is(ae, apikey.ErrUnavailable):
			f.status = http.StatusServiceUnavailable
			c.Header("Retry-After", strconv.Itoa(ae.RetryAfterSeconds()))
		default:
			f.status = http.StatusBadRequest
		}
	case errors.As(err, &ie):
		f = &apiFail{status: http.StatusBadRequest, msg: ie.Problem, field: ie.Field}
	default:
		log.Error("api request failed", zap.Error(err), zap.String("path", c.Request.URL.Path))
		c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
		return
	}
	reason := f.msg
	if strings.HasPrefix(f.field, "to.mobiles") {
		reason = "(not logged: it may quote a phone number)"
	}
	log.Info("api request refused", zap.Int("status", f.status), zap.String("field", f.field), zap.String("reason", reason))
	body := gin.H{"error": f.msg}
	if f.field != "" {
		body["field"] = f.field
	}
	c.JSON(f.status, body)
}

// apiVerify reads the body (up to the cap) and authenticates the request.
func (s *server) apiVerify(c *gin.Context) (*apikey.Key, []byte, error) {
	limit := s.APIMaxBody
	if limit <= 0 {
		limit = DefaultAPIMaxBody
	}
	tooBig := &apiFail{status: http.StatusRequestEntityTooLarge, field: "body", msg: fmt.Sprintf("the body is larger than %d bytes", limit)}
	if c.Request.ContentLength > limit {
		return nil, nil, tooBig
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, tooBig
		}
		return nil, nil, invalid("body", "reading the body: %v", err)
	}
	h := c.Request.Header
	key, err := s.APIKeys.Verify(c.Request.Context(), apikey.Request{
		KeyID:     h.Get(apikey.HeaderKey),
		Timestamp: h.Get(apikey.HeaderTimestamp),
		Nonce:     h.Get(apikey.HeaderNonce),
		Signature: h.Get(apikey.HeaderSignature),
		Body:      body,
	})
	if err != nil {
		return nil, nil, err
	}
	return key, body, nil
}

// apiSubmit is POST /api/v1/messages: authenticate, read the message,
// check its recipients against the key's scope, submit it. 202 means the
// message is committed; the same Idempotency-Key again answers it with
// "duplicate": true and sends nothing more.
func (s *server) apiSubmit(c *gin.Context) {
	if err := s.apiSubmitErr(c); err != nil {
		s.apiError(c, err)
	}
}

func (s *server) apiSubmitErr(c *gin.Context) error {
	ctx := c.Request.Context()
	key, body, err := s.apiVerify(c)
	if err != nil {
		return err
	}
	idem := c.GetHeader(HeaderIdempotencyKey)
	if idem == "" {
		return invalid(HeaderIdempotencyKey, "header %s is required: the producer's own key for this message, so that a retry is not sent twice", HeaderIdempotencyKey)
	}
	if len(idem) > notify.MaxIdempotencyKey || strings.IndexFunc(idem, func(r rune) bool { return r < '!' || r > '~' }) >= 0 {
		return invalid(HeaderIdempotencyKey, "%s must be 1 to %d printable ASCII characters without spaces", HeaderIdempotencyKey, notify.MaxIdempotencyKey)
	}
	m, err := parseAPIMessage(body, s.Now())
	if err != nil {
		return err
	}
	if err := s.APIKeys.Permits(ctx, key, m.To); err != nil {
		return err
	}
	m.Producer, m.IdempotencyKey, m.Actor = key.Producer(), idem, key.ID
	rc, err := s.Messages.Submit(ctx, m)
	if err != nil {
		return fmt.Errorf("api: submit for %s: %w", key.ID, err)
	}
	// Recorded after the commit: should this fail, the 500 makes the
	// producer retry with the same Idempotency-Key, which answers the same
	// message and records it then.
	if err := s.APIKeys.Record(ctx, key, rc.ID); err != nil {
		return err
	}
	logctx.L(ctx, s.log).Info("api message accepted", zap.String("key_id", key.ID), zap.String("producer", m.Producer),
		zap.Int64("message_id", rc.ID), zap.Int("recipients", rc.Recipients), zap.Bool("duplicate", rc.Duplicate),
		zap.String("msgtype", m.Content.MsgType), zap.Stringer("lane", m.Lane))
	c.JSON(http.StatusAccepted, rc)
	return nil
}

// apiGet is GET /api/v1/messages/{id}: a message's per-recipient results,
// for the key that submitted it. Another key's message answers 404, as
// one that does not exist, so ids say nothing about other systems.
func (s *server) apiGet(c *gin.Context) {
	if err := s.apiGetErr(c); err != nil {
		s.apiError(c, err)
	}
}

func (s *server) apiGetErr(c *gin.Context) error {
	ctx := c.Request.Context()
	key, _, err := s.apiVerify(c)
	if err != nil {
		return err
	}
	notFound := &apiFail{status: http.StatusNotFound, field: "id", msg: "no message with this id was submitted with this key"}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return notFound
	}
	own, err := s.APIKeys.Owns(ctx, key, id)
	if err != nil {
		return err
	}
	if !own {
		return notFound
	}
	st, err := s.Messages.Get(ctx, id)
	if errors.Is(err, notify.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("api: get message %d for %s: %w", id, key.ID, err)
	}
	c.JSON(http.StatusOK, st)
	return nil
}

// The message types the API takes (notify.Msg*).
var apiMsgTypes = []string{notify.MsgText, notify.MsgTextCard, notify.MsgNews, notify.MsgMarkdown, notify.MsgTemplateCard}

// parseAPIMessage reads a request body: {"to":{…}, "msgtype":"text",
// "text":{…}, "lane", "send_at", "expire_at", "safe"}. The content is
// WeCom's message/send shape (docs/wecom.md §6); what the platform decides
// (agentid, touser/toparty/totag, the duplicate check) is not taken, and
// any field not listed is refused rather than ignored, so a misspelt
// send_at does not silently send at once.
func parseAPIMessage(body []byte, now time.Time) (notify.Message, error) {
	var m notify.Message
	top, err := decodeObject(body, "body")
	if err != nil {
		return m, err
	}
	var msgType string
	if raw, ok := top["msgtype"]; !ok {
		return m, invalid("msgtype", "msgtype is required: one of %s", strings.Join(apiMsgTypes, ", "))
	} else if err := json.Unmarshal(raw, &msgType); err != nil {
		return m, invalid("msgtype", "msgtype is a string: one of %s", strings.Join(apiMsgTypes, ", "))
	}
	if !slices.Contains(apiMsgTypes, msgType) {
		return m, invalid("msgtype", "unknown msgtype %q: one of %s", msgType, strings.Join(apiMsgTypes, ", "))
	}
	for _, name := range slices.Sorted(maps.Keys(top)) {
		switch name {
		case "to", "msgtype", msgType, "lane", "send_at", "expire_at", "safe":
		default:
			if slices.Contains(apiMsgTypes, name) {
				return m, invalid(name, "the body has %q but msgtype is %q", name, msgType)
			}
			return m, invalid(name, "unknown field %q", name)
		}
	}
	obj, ok := top[msgType]
	if !ok || !isJSONObject(obj) {
		return m, invalid(msgType, "msgtype %s needs its object: {\"msgtype\":%q,%q:{…}}", msgType, msgType, msgType)
	}
	m.Content = notify.Content{MsgType: msgType, Body: json.RawMessage(bytes.Clone(obj))}

	raw, ok := top["to"]
	if !ok {
		return m, invalid("to", "to is required: {\"userids\":[…], \"departments\":[…], \"tags\":[…], \"roles\":[…], \"mobiles\":[…]}")
	}
	if m.To, err = parseRecipients(raw); err != nil {
		return m, err
	}

	if raw, ok := top["lane"]; ok {
		var name string
		if json.Unmarshal(raw, &name) != nil {
			return m, invalid("lane", "lane is a string: approval, reminder or broadcast")
		}
		if m.Lane, err = notify.ParseLane(name); err != nil {
			return m, invalid("lane", "lane %q is not approval, reminder or broadcast", name)
		}
	} else {
		m.Lane = notify.LaneBroadcast
	}
	if m.SendAt, err = parseAPITime(top, "send_at"); err != nil {
		return m, err
	}
	if m.ExpireAt, err = parseAPITime(top, "expire_at"); err != nil {
		return m, err
	}
	if !m.ExpireAt.IsZero() {
		if !m.ExpireAt.After(now) {
			return m, invalid("expire_at", "expire_at %s has passed", m.ExpireAt.Format(time.RFC3339))
		}
		if !m.SendAt.IsZero() && !m.ExpireAt.After(m.SendAt) {
			return m, invalid("expire_at", "expire_at must be after send_at")
		}
	}
	if raw, ok := top["safe"]; ok {
		if json.Unmarshal(raw, &m.Content.Safe) != nil || m.Content.Safe != 0 && m.Content.Safe != 1 {
			return m, invalid("safe", "safe is 0 (shareable) or 1 (not shareable, watermarked)")
		}
		if m.Content.Safe == 1 && msgType == notify.MsgNews {
			// WeCom refuses it (40074, docs/wecom.md §6).
			return m, invalid("safe", "news messages cannot be safe")
		}
	}
	return m, nil
}

// decodeObject reads one JSON object and nothing after it, keeping its
// members raw. field names it in errors ("body" for the whole body).
func decodeObject(b []byte, field string) (map[string]json.RawMessage, error) {
	what := field
	if field == "body" {
		what = "the body"
	}
	if !isJSONObject(b) {
		return nil, invalid(field, "%s is not a JSON object", what)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var out map[string]json.RawMessage
	if err := dec.Decode(&out); err != nil {
		return nil, invalid(field, "%s is not valid JSON: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid(field, "%s has more after its JSON object", what)
	}
	return out, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// Bounds of one recipient value.
const (
	maxRoleKey = 64
	maxMobile  = 32
)

// parseRecipients reads "to". Departments are WeCom ids, or
// {"id":5,"children":true} to include the departments below.
func parseRecipients(raw json.RawMessage) (notify.Recipients, error) {
	var r notify.Recipients
	to, err := decodeObject(raw, "to")
	if err != nil {
		return r, err
	}
	for _, name := range slices.Sorted(maps.Keys(to)) {
		v, field := to[name], "to."+name
		switch name {
		case "userids":
			if json.Unmarshal(v, &r.UserIDs) != nil {
				return r, invalid(field, "userids is a list of WeCom userids")
			}
			for _, u := range r.UserIDs {
				if !apikey.ValidUserID(u) {
					return r, invalid(field, "%q is not a WeCom userid", truncate(u, 80))
				}
			}
		case "tags":
			if json.Unmarshal(v, &r.Tags) != nil {
				return r, invalid(field, "tags is a list of WeCom tag ids (numbers)")
			}
			for _, t := range r.Tags {
				if t <= 0 {
					return r, invalid(field, "%d is not a WeCom tag id", t)
				}
			}
		case "departments":
			var ds []json.RawMessage
			if json.Unmarshal(v, &ds) != nil {
				return r, invalid(field, "departments is a list of WeCom department ids, or {\"id\":5,\"children\":true}")
			}
			for _, d := range ds {
				dep, ok := parseDepartment(d)
				if !ok {
					return r, invalid(field, "%s is not a WeCom department id, or {\"id\":5,\"children\":true}", truncate(string(d), 80))
				}
				r.Departments = append(r.Departments, dep)
			}
		case "roles":
			if json.Unmarshal(v, &r.Roles) != nil {
				return r, invalid(field, "roles is a list of workbench role keys")
			}
			for _, k := range r.Roles {
				if k == "" || len(k) > maxRoleKey {
					return r, invalid(field, "%q is not a role key", truncate(k, 80))
				}
			}
		case "mobiles":
			if json.Unmarshal(v, &r.Mobiles) != nil {
				return r, invalid(field, "mobiles is a list of mobile numbers")
			}
			for i, p := range r.Mobiles {
				if strings.TrimSpace(p) == "" || len(p) > maxMobile {
					return r, invalid(field, "mobiles[%d] is not a mobile number", i)
				}
			}
		case "all":
			if json.Unmarshal(v, &r.All) != nil {
				return r, invalid(field, "all is true or false")
			}
		default:
			return r, invalid(field, "unknown recipient kind %q: userids, departments, tags, roles, mobiles or all", name)
		}
	}
	if r.Empty() {
		return r, invalid("to", "to names no recipient")
	}
	return r, nil
}

func parseDepartment(raw json.RawMessage) (notify.Department, bool) {
	var d notify.Department
	if json.Unmarshal(raw, &d.ID) != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if !isJSONObject(raw) || dec.Decode(&d) != nil {
			return d, false
		}
	}
	return d, d.ID > 0
}

// parseAPITime reads an optional RFC 3339 time.
func parseAPITime(top map[string]json.RawMessage, field string) (time.Time, error) {
	raw, ok := top[field]
	if !ok {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, invalid(field, "%s is an RFC 3339 time in a string, e.g. \"2026-12-01T08:00:00+08:00\"", field)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, invalid(field, "%s %q is not an RFC 3339 time, e.g. \"2026-12-01T08:00:00+08:00\"", field, truncate(s, 64))
	}
	return t, nil
}
