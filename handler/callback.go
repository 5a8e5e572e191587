package handler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

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

// validateReceivers refuses, at start-up, receivers that would fail on
// every callback: a name the inbox cannot store (1 to 64 of [A-Za-z0-9_-],
// which is also what the URL carries unescaped), a missing Crypter, or no
// Inbox to commit to.
func validateReceivers(rs map[string]*wecom.Crypter, ib *inbox.Inbox) error {
	if len(rs) > 0 && ib == nil {
		return errors.New("handler: callback receivers need an Inbox")
	}
	for name, c := range rs {
		if c == nil {
			return fmt.Errorf("handler: callback receiver %q has no Crypter", name)
		}
		if name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return fmt.Errorf("handler: callback receiver name %q must be 1 to 64 of A-Z, a-z, 0-9, '_' and '-'", name)
		}
	}
	return nil
}

// callbackReceiver resolves :app to its receiver, answering 404 for a name
// that is not configured.
func (s *server) callbackReceiver(c *gin.Context) (string, *wecom.Crypter, bool) {
	app := c.Param("app")
	cr, ok := s.Receivers[app]
	if !ok {
		logctx.L(c.Request.Context(), s.log).Info("callback for an unknown receiver", zap.String("receiver", app))
		c.String(http.StatusNotFound, "not found")
	}
	return app, cr, ok
}

// callbackVerify answers WeCom's URL verification, sent when an admin saves
// the callback settings: the decrypted echostr is the whole body, with
// nothing around it (wecom-api.md §2.1).
func (s *server) callbackVerify(c *gin.Context) error {
	app, cr, ok := s.callbackReceiver(c)
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
	plain, err := cr.VerifyURL(sig, ts, nonce, echo)
	if err != nil {
		return fmt.Errorf("callback %s: verify URL: %w", app, err)
	}
	logctx.L(c.Request.Context(), s.log).Info("callback URL verified", zap.String("receiver", app))
	c.Data(http.StatusOK, "text/plain; charset=utf-8", plain)
	return nil
}

// callbackReceive takes one callback: verify, decrypt, parse, commit it to
// the inbox, and only then answer 200 — with the encrypted passive reply
// if one applies, else "success". Anything refused is stored nowhere. A
// failure to store is a 500, so that WeCom delivers the callback again.
func (s *server) callbackReceive(c *gin.Context) error {
	app, cr, ok := s.callbackReceiver(c)
	if !ok {
		return nil
	}
	ctx := c.Request.Context()
	q := c.Request.URL.RawQuery
	sig, ts, nonce := wecom.QueryValue(q, "msg_signature"), wecom.QueryValue(q, "timestamp"), wecom.QueryValue(q, "nonce")
	if sig == "" || ts == "" || nonce == "" {
		return s.notACallback(c, app, "callback needs msg_signature, timestamp and nonce")
	}

	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	if err := readBody(c, buf); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			logctx.L(ctx, s.log).Warn("callback refused", zap.String("receiver", app), zap.String("reason", "body over the size cap"), zap.Int64("limit", tooBig.Limit))
			c.String(http.StatusRequestEntityTooLarge, "callback too large")
			return nil
		}
		return s.notACallback(c, app, "reading the body: "+err.Error())
	}

	// OpenEvent copies what it keeps, so the body buffer can be reused.
	ev, err := cr.OpenEvent(sig, ts, nonce, buf.Bytes())
	if err != nil {
		if errors.Is(err, wecom.ErrXML) {
			// No envelope, or a message that is not XML: not a callback.
			return s.notACallback(c, app, err.Error())
		}
		return fmt.Errorf("callback %s: %w", app, err)
	}
	a, err := s.Inbox.Accept(ctx, app, ev)
	if err != nil {
		return err
	}
	log := logctx.L(ctx, s.log)
	log.Debug("callback accepted", zap.String("receiver", app), zap.String("kind", ev.Kind()),
		zap.Int64("inbox_id", a.ID), zap.Bool("duplicate", a.Duplicate), zap.Bool("reply", a.Reply != nil))
	if a.Reply != nil {
		// The request's timestamp and nonce are as good as fresh ones
		// (wecom-api.md §2.2), and keep the reply reproducible.
		out, err := cr.Reply(a.Reply, ts, nonce)
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
// *http.MaxBytesError past maxCallbackBody.
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
