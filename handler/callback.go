package handler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/wecom"
)

// maxCallbackBody caps a callback POST. WeCom's callbacks are a few
// kilobytes (an approval change with a long history is the largest); a body
// anywhere near this is not from WeCom.
const maxCallbackBody = 1 << 20

// Receiver is one callback receiver: an app, or the contacts-sync tool.
type Receiver struct {
	Crypter *wecom.Crypter
	// AgentID is the app's agent id, which an app's callbacks carry when
	// they are app-related; 0 for the contacts-sync tool, whose callbacks
	// carry none, and then AgentID is not checked.
	AgentID int64
}

// CallbackLimits bound what one callback may cost. WeCom waits 5 seconds
// for an answer and then re-sends (docs/wecom.md §2.1), so everything here
// answers well inside that: a callback we cannot take now gets a fast 503
// and comes back, rather than a late answer WeCom no longer listens for.
type CallbackLimits struct {
	// MaxReaders caps the callback bodies read at once
	// (server.max_callback_readers, default 256). WeCom's bodies arrive
	// with their headers, so a reader holds its place for microseconds;
	// what fills the cap is slow or stalled senders, each held at most
	// server.read_timeout. When full, a callback is answered 503 at once
	// and its connection closed, so a flood of slow bodies cannot use up
	// the file limit.
	MaxReaders int
	// StoreTimeout bounds committing a callback to the inbox
	// (server.callback_store_timeout, default 3s). Past it the callback is
	// answered 503 with Retry-After, and WeCom re-sends it.
	StoreTimeout time.Duration
}

// Defaults of CallbackLimits (config.yaml repeats them).
const (
	DefaultMaxCallbackReaders   = 256
	DefaultCallbackStoreTimeout = 3 * time.Second
)

func (l CallbackLimits) withDefaults() CallbackLimits {
	if l.MaxReaders <= 0 {
		l.MaxReaders = DefaultMaxCallbackReaders
	}
	if l.StoreTimeout <= 0 {
		l.StoreTimeout = DefaultCallbackStoreTimeout
	}
	return l
}

// Retry-After values, in seconds. WeCom keeps its own retry schedule; the
// header is for any other client and for whoever reads the logs.
const (
	retryAfterBusy  = "1"
	retryAfterStore = "5"
)

// validateReceivers refuses, at start-up, receivers that would fail on
// every callback: a name the inbox cannot store (1 to 64 of [A-Za-z0-9_-],
// which is also what the URL carries unescaped), a missing Crypter, or no
// Inbox to commit to.
func validateReceivers(rs map[string]Receiver, ib *inbox.Inbox) error {
	if len(rs) > 0 && ib == nil {
		return errors.New("handler: callback receivers need an Inbox")
	}
	for name, r := range rs {
		if r.Crypter == nil {
			return fmt.Errorf("handler: callback receiver %q has no Crypter", name)
		}
		if r.AgentID < 0 {
			return fmt.Errorf("handler: callback receiver %q has agent id %d", name, r.AgentID)
		}
		if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return fmt.Errorf("handler: callback receiver name %q must be 1 to 64 of A-Z, a-z, 0-9, '_' and '-'", name)
		}
	}
	return nil
}

// callbackReceiver resolves :app to its receiver, answering 404 for a name
// that is not configured.
func (s *server) callbackReceiver(c *gin.Context) (string, Receiver, bool) {
	app := c.Param("app")
	r, ok := s.Receivers[app]
	if !ok {
		logctx.L(c.Request.Context(), s.log).Info("callback for an unknown receiver", zap.String("receiver", app))
		c.String(http.StatusNotFound, "not found")
	}
	return app, r, ok
}

// callbackVerify answers WeCom's URL verification, sent when an admin saves
// the callback settings: the decrypted echostr is the whole body, with
// nothing around it (docs/wecom.md §2.1). Only a fresh request whose
// plaintext is shaped like an echostr is answered: any captured callback's
// Encrypt comes with a valid signature over it, and answering its
// plaintext would make this endpoint a decryption oracle.
func (s *server) callbackVerify(c *gin.Context) error {
	app, r, ok := s.callbackReceiver(c)
	if !ok {
		return nil
	}
	// QueryValue, not c.Query: echostr is base64, and a '+' WeCom leaves
	// unencoded must not become a space.
	q := c.Request.URL.RawQuery
	sig, ts, nonce, echo := wecom.QueryValue(q, "msg_signature"), wecom.QueryValue(q, "timestamp"), wecom.QueryValue(q, "nonce"), wecom.QueryValue(q, "echostr")
	if sig == "" || ts == "" || nonce == "" || echo == "" {
		return s.notACallback(c, app, "URL verification needs msg_signature, timestamp, nonce and echostr")
	}
	if err := wecom.CheckTimestamp(ts, s.Now()); err != nil {
		return fmt.Errorf("callback %s: verify URL: %w", app, err)
	}
	plain, err := r.Crypter.VerifyURL(sig, ts, nonce, echo)
	if err != nil {
		return fmt.Errorf("callback %s: verify URL: %w", app, err)
	}
	logctx.L(c.Request.Context(), s.log).Info("callback URL verified", zap.String("receiver", app))
	c.Data(http.StatusOK, "text/plain; charset=utf-8", plain)
	return nil
}

// callbackReceive takes one callback: check its timestamp, read, verify
// and decrypt it, commit it to the inbox, and only then answer 200 — with
// the encrypted passive reply if one applies, else "success".
//
// What is refused (stale, forged, not an envelope) is stored nowhere. What
// is authentic but cannot be dispatched — it does not parse, or its inner
// ToUserName or AgentID is not this receiver's — is stored as a dead row
// and answered "success", because WeCom would retry it and then drop it.
// When the inbox cannot commit in time the answer is a fast 503, so that
// WeCom delivers the callback again.
func (s *server) callbackReceive(c *gin.Context) error {
	app, r, ok := s.callbackReceiver(c)
	if !ok {
		return nil
	}
	ctx := c.Request.Context()
	q := c.Request.URL.RawQuery
	sig, ts, nonce := wecom.QueryValue(q, "msg_signature"), wecom.QueryValue(q, "timestamp"), wecom.QueryValue(q, "nonce")
	if sig == "" || ts == "" || nonce == "" {
		return s.notACallback(c, app, "callback needs msg_signature, timestamp and nonce")
	}
	// Before reading the body: a replay costs us nothing more than this.
	if err := wecom.CheckTimestamp(ts, s.Now()); err != nil {
		return fmt.Errorf("callback %s: %w", app, err)
	}

	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	select {
	case s.readers <- struct{}{}:
	default:
		s.m.unavailable.WithLabelValues(app, "readers_full").Inc()
		logctx.L(ctx, s.log).Debug("callback refused for now", zap.String("receiver", app), zap.String("reason", "too many callback bodies being read"))
		s.refuseBusy(c)
		return nil
	}
	err := readBody(c, buf)
	<-s.readers
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			logctx.L(ctx, s.log).Warn("callback refused", zap.String("receiver", app), zap.String("reason", "body over the size cap"), zap.Int64("limit", tooBig.Limit))
			c.String(http.StatusRequestEntityTooLarge, "callback too large")
			return nil
		}
		return s.notACallback(c, app, "reading the body: "+err.Error())
	}

	// Open returns a fresh slice, so the body buffer can be reused.
	msg, err := r.Crypter.Open(sig, ts, nonce, buf.Bytes())
	if err != nil {
		if errors.Is(err, wecom.ErrXML) {
			// No envelope: not a callback.
			return s.notACallback(c, app, err.Error())
		}
		return fmt.Errorf("callback %s: %w", app, err)
	}
	ev, err := wecom.ParseEvent(msg)
	if err != nil {
		// Authentic (it verified and decrypted) but not a message we can
		// read: keep it for an operator.
		return s.storeDead(c, app, msg, "does not parse: "+err.Error())
	}
	if reason := r.mismatch(ev); reason != "" {
		s.m.mismatch.WithLabelValues(app).Inc()
		logctx.L(ctx, s.log).Warn("callback does not match its receiver; stored dead, not dispatched",
			zap.String("receiver", app), zap.String("reason", reason), zap.String("kind", ev.Kind()))
		return s.storeDead(c, app, msg, reason)
	}

	a, err := s.commit(c, app, func(ctx context.Context) (inbox.Accepted, error) { return s.Inbox.Accept(ctx, app, ev) })
	if err != nil || a == nil {
		return err
	}
	log := logctx.L(ctx, s.log)
	log.Debug("callback accepted", zap.String("receiver", app), zap.String("kind", ev.Kind()),
		zap.Int64("inbox_id", a.ID), zap.Bool("duplicate", a.Duplicate), zap.Bool("reply", a.Reply != nil))
	if a.Reply != nil {
		// The request's timestamp and nonce are as good as fresh ones
		// (docs/wecom.md §2.2), and keep the reply reproducible.
		out, err := r.Crypter.Reply(a.Reply, ts, nonce)
		if err == nil {
			c.Data(http.StatusOK, "text/xml; charset=utf-8", out)
			return nil
		}
		// The callback is stored: losing the reply beats making WeCom retry.
		log.Error("encrypting the passive reply failed; answering success", zap.String("receiver", app), zap.Error(err))
	}
	c.String(http.StatusOK, "success")
	return nil
}

// mismatch says why ev cannot have been meant for r, or "". The signature
// and the ciphertext's receiveid already prove the sender holds r's keys;
// this catches a callback configured on the wrong app (several apps can
// share a token and key) or re-sent to another receiver's URL.
func (r Receiver) mismatch(ev *wecom.Event) string {
	if want := r.Crypter.ReceiveID(); ev.ToUserName != want {
		return fmt.Sprintf("ToUserName %q is not this receiver's corp id %q", truncate(ev.ToUserName, 64), want)
	}
	if r.AgentID != 0 && ev.AgentID != 0 && ev.AgentID != r.AgentID {
		return fmt.Sprintf("AgentID %d is not this app's agent id %d", ev.AgentID, r.AgentID)
	}
	return ""
}

// storeDead commits an authentic callback that must not be dispatched as a
// dead row, and answers "success".
func (s *server) storeDead(c *gin.Context, app string, raw []byte, reason string) error {
	a, err := s.commit(c, app, func(ctx context.Context) (inbox.Accepted, error) { return s.Inbox.AcceptDead(ctx, app, raw, reason) })
	if err != nil || a == nil {
		return err
	}
	c.String(http.StatusOK, "success")
	return nil
}

// commit runs an inbox write under the store deadline. It returns the
// outcome, or nil after answering 503 itself when the deadline passed, or
// the error to map. The write does not end when the client hangs up: a
// callback we could read is worth committing even if WeCom stopped
// waiting, since its re-delivery is then a duplicate.
func (s *server) commit(c *gin.Context, app string, write func(context.Context) (inbox.Accepted, error)) (*inbox.Accepted, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.Callback.StoreTimeout)
	defer cancel()
	a, err := write(ctx)
	if err == nil {
		return &a, nil
	}
	if ctx.Err() != nil {
		s.m.unavailable.WithLabelValues(app, "store_timeout").Inc()
		logctx.L(c.Request.Context(), s.log).Warn("callback not stored in time; answering 503 so that WeCom re-sends it",
			zap.String("receiver", app), zap.Duration("timeout", s.Callback.StoreTimeout), zap.Error(err))
		c.Header("Retry-After", retryAfterStore)
		c.String(http.StatusServiceUnavailable, "busy; try again")
		return nil, nil
	}
	return nil, fmt.Errorf("callback %s: %w", app, err)
}

// refuseBusy answers 503 without reading the body and closes the
// connection: the server would otherwise wait for the rest of the body
// before answering (to reuse the connection), which is exactly what a slow
// sender makes long.
func (s *server) refuseBusy(c *gin.Context) {
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now())
	c.Header("Connection", "close")
	c.Header("Retry-After", retryAfterBusy)
	c.String(http.StatusServiceUnavailable, "busy; try again")
}

// notACallback refuses a request that is not a callback envelope with a
// 400, logging why (the shared error mapping does not log client errors).
func (s *server) notACallback(c *gin.Context, app, reason string) error {
	logctx.L(c.Request.Context(), s.log).Warn("callback refused", zap.String("receiver", app), zap.String("reason", reason))
	return badRequest{"not a WeCom callback"}
}

var bodyPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 4096)) }}

func putBody(b *bytes.Buffer) {
	if b.Cap() > 64<<10 {
		return // do not keep the odd large body alive
	}
	b.Reset()
	bodyPool.Put(b)
}

// readBody reads the request body into buf, failing with
// *http.MaxBytesError past maxCallbackBody. How long it may take is the
// server's read deadline (server.read_timeout, see NewServer).
func readBody(c *gin.Context, buf *bytes.Buffer) error {
	if c.Request.ContentLength > maxCallbackBody {
		return &http.MaxBytesError{Limit: maxCallbackBody}
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, maxCallbackBody))
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// truncate cuts s to at most n bytes for a log line, at a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
