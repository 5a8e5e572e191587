package handler_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/silenceper/wechat/v2/util"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
)

// The official vector (docs/wecom.md §2.3) is the "official" receiver.
const (
	vecToken     = "QDG6eK"
	vecAESKey    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vecReceiveID = "wx5823bf96d3bd56c7"
	vecQuery     = "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
	vecEcho      = "1616140317555161061"
	vecTime      = 1409659589 // the GET vector's timestamp
	vecAgentID   = 218

	vecPostQuery = "msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813&nonce=1372623149"
	vecPostTime  = 1409659813
	vecPostBody  = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)

// The demo university's receivers: one app and the contacts-sync tool, each
// with its own token and key.
const (
	corpID        = "ww7a1b2c3d4e5f6789"
	oaAgentID     = 1000002
	oaToken       = "oaCallbackToken"
	oaAESKey      = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	contactsToken = "contactsToken"
	contactsKey   = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
)

type env struct {
	h    http.Handler
	db   *store.DB
	ib   *inbox.Inbox
	oa   *wecom.Crypter
	cts  *wecom.Crypter
	logs *observer.ObservedLogs
	reg  *prometheus.Registry
	// clock is the server's time in Unix seconds: sealTime unless a test
	// replays a vector from another day.
	clock atomic.Int64
}

// sealTime is when seal signs callbacks, and the server's default clock.
const sealTime = 1740816000

func mustCrypter(t testing.TB, token, key, receiveID string) *wecom.Crypter {
	t.Helper()
	c, err := wecom.NewCrypter(token, key, receiveID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newEnv(t testing.TB, db *store.DB, logger *zap.Logger) *env {
	t.Helper()
	return newEnvWith(t, db, logger, nil)
}

// newEnvWith is newEnv with the handler's Deps adjusted by with.
func newEnvWith(t testing.TB, db *store.DB, logger *zap.Logger, with func(*handler.Deps)) *env {
	t.Helper()
	var logs *observer.ObservedLogs
	if logger == nil {
		var core zapcore.Core
		core, logs = observer.New(zapcore.DebugLevel)
		logger = zap.New(core)
	}
	e := &env{
		db:   db,
		oa:   mustCrypter(t, oaToken, oaAESKey, corpID),
		cts:  mustCrypter(t, contactsToken, contactsKey, corpID),
		logs: logs,
		reg:  prometheus.NewRegistry(),
	}
	e.clock.Store(sealTime)
	ib, err := inbox.New(db, inbox.Options{Logger: logger, Poll: 5 * time.Millisecond, StopGrace: 50 * time.Millisecond,
		Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	inbox.RegisterHelp(ib)
	e.ib = ib
	d := handler.Deps{
		Logger:  logger,
		DB:      db,
		Metrics: e.reg,
		Receivers: map[string]handler.Receiver{
			"oa":       {Crypter: e.oa, AgentID: oaAgentID},
			"contacts": {Crypter: e.cts},
			"official": {Crypter: mustCrypter(t, vecToken, vecAESKey, vecReceiveID), AgentID: vecAgentID},
		},
		Inbox: ib,
		Now:   func() time.Time { return time.Unix(e.clock.Load(), 0) },
		// Far from the 3 s default: a loaded test machine can stall a
		// commit for seconds, and only TestCallbackStoreDeadline is about
		// what happens then.
		Callback: handler.CallbackLimits{StoreTimeout: 30 * time.Second},
	}
	if with != nil {
		with(&d)
	}
	e.h, err = handler.New(d)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run starts the dispatcher for the rest of the test.
func (e *env) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.ib.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func (e *env) do(method, target string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func (e *env) rows(t testing.TB) []store.InboxRow {
	t.Helper()
	rows, err := e.db.ListInbox(context.Background(), store.InboxQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var nonceSeq atomic.Int64

// seal builds the query and body WeCom would POST for msg at sealTime.
func seal(t testing.TB, c *wecom.Crypter, msg []byte, agentID string) (query string, body []byte) {
	t.Helper()
	return sealAt(t, c, msg, agentID, fmt.Sprint(sealTime))
}

// sealAt is seal with the query's timestamp ts.
func sealAt(t testing.TB, c *wecom.Crypter, msg []byte, agentID, ts string) (query string, body []byte) {
	t.Helper()
	nonce := fmt.Sprint(1000000000 + nonceSeq.Add(1))
	body, sig, err := c.Seal(msg, agentID, ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return "msg_signature=" + sig + "&timestamp=" + ts + "&nonce=" + nonce, body
}

// forge changes the first character of the query's msg_signature.
func forge(query string) string {
	i := strings.Index(query, "msg_signature=") + len("msg_signature=")
	c := byte('0')
	if query[i] == '0' {
		c = '1'
	}
	return query[:i] + string(c) + query[i+1:]
}

func textMsg(msgID int, content string) *wecom.Event {
	return &wecom.Event{ToUserName: corpID, FromUserName: "zhangsan", CreateTime: 1740816000, MsgType: "text",
		Content: content, MsgID: fmt.Sprint(msgID), AgentID: 1000002}
}

func clickMsg(key string) *wecom.Event {
	return &wecom.Event{ToUserName: corpID, FromUserName: "lisi", CreateTime: 1740816000, MsgType: "event",
		Event: "click", EventKey: key, AgentID: 1000002}
}

func TestCallbackURLVerification(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), nil)
	// WeCom percent-encodes echostr, but a proxy or a hand-made request may
	// leave '+', '/' and '=' raw: '+' must not turn into a space.
	raw := strings.NewReplacer("%2F", "/", "%2B", "+", "%3D", "=").Replace(vecQuery)
	if !strings.Contains(raw, "+") {
		t.Fatal("the raw query lost its '+'")
	}
	forged := strings.Replace(vecQuery, "msg_signature=5c", "msg_signature=6c", 1)

	// verify is the GET WeCom sends for an echostr encrypted and signed for
	// the oa receiver at ts.
	verify := func(echo, ts string) string {
		enc, err := e.oa.Encrypt([]byte(echo))
		if err != nil {
			t.Fatal(err)
		}
		return verifyQuery(e.oa, enc, ts, "8675309")
	}
	now := time.Unix(sealTime, 0)
	// A captured callback: its Encrypt with its own signature, timestamp
	// and nonce, replayed as an echostr.
	secret := textMsg(7, "我的学号是 2023010001，密码是 hunter2")
	q, body := seal(t, e.oa, secret.XML(), "1000002")
	captured, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	capturedEnc, err := wecom.EnvelopeEncrypt(body)
	if err != nil {
		t.Fatal(err)
	}
	// A captured passive reply, which carries its own signature too.
	reply, err := e.oa.Reply((&wecom.Reply{ToUserName: "zhangsan", FromUserName: corpID, CreateTime: sealTime,
		MsgType: wecom.ReplyText, Content: "你的成绩单：高等数学 95"}).XML(), fmt.Sprint(sealTime), "4242")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Encrypt, MsgSignature, TimeStamp, Nonce string }
	if err := xml.Unmarshal(reply, &rep); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, target string
		at           int64 // the server's clock, Unix seconds
		status       int
		body         string // exact, when status is 200
		reason       string // in the "callback refused" log line
	}{
		{"official vector", "/wecom/callback/official?" + vecQuery, vecTime, 200, vecEcho, ""},
		{"raw + / = in echostr", "/wecom/callback/official?" + raw, vecTime, 200, vecEcho, ""},
		{"official vector two minutes later", "/wecom/callback/official?" + vecQuery, vecTime + 120, 200, vecEcho, ""},
		{"fresh echostr", "/wecom/callback/oa?" + verify("5927782749164417583", fmt.Sprint(sealTime)), sealTime, 200, "5927782749164417583", ""},
		{"forged signature", "/wecom/callback/official?" + forged, vecTime, 403, "", "signature mismatch"},
		{"another receiver's token", "/wecom/callback/oa?" + vecQuery, vecTime, 403, "", "signature mismatch"},
		{"no echostr", "/wecom/callback/official?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780", vecTime, 400, "", "echostr"},
		{"unknown app", "/wecom/callback/nosuchapp?" + vecQuery, vecTime, 404, "", ""},

		// Not a decryption oracle: authentic ciphertexts that are not an
		// echostr are refused, plaintext unseen.
		{"a captured callback's Encrypt as echostr", "/wecom/callback/oa?" + verifyQuery(e.oa, string(capturedEnc), captured.Get("timestamp"), captured.Get("nonce")), sealTime, 403, "", "echostr"},
		{"a captured passive reply as echostr", "/wecom/callback/oa?" + verifyQuery(e.oa, rep.Encrypt, rep.TimeStamp, rep.Nonce), sealTime, 403, "", "echostr"},
		{"markup as echostr", "/wecom/callback/oa?" + verify("<xml>1</xml>", fmt.Sprint(sealTime)), sealTime, 403, "", "echostr"},

		// Fresh requests only.
		{"official vector today", "/wecom/callback/official?" + vecQuery, sealTime, 403, "", "timestamp"},
		{"signed 30 days ago", "/wecom/callback/oa?" + verify("5927782749164417583", fmt.Sprint(now.AddDate(0, 0, -30).Unix())), sealTime, 403, "", "timestamp"},
		{"signed a year ahead", "/wecom/callback/oa?" + verify("5927782749164417583", fmt.Sprint(now.AddDate(1, 0, 0).Unix())), sealTime, 403, "", "timestamp"},
		{"timestamp abc", "/wecom/callback/oa?" + verify("5927782749164417583", "abc"), sealTime, 403, "", "timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Store(tt.at)
			logged := e.logs.FilterMessage("callback refused").Len()
			rec := e.do(http.MethodGet, tt.target, nil)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				if rec.Body.String() != tt.body {
					t.Errorf("body %q, want exactly %q", rec.Body, tt.body)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q", ct)
				}
			} else {
				for _, plain := range []string{"<xml", "hunter2", "高等数学", "zhangsan"} {
					if strings.Contains(rec.Body.String(), plain) {
						t.Errorf("the refusal shows plaintext: %q", rec.Body)
					}
				}
			}
			if tt.reason != "" {
				assertRefusalLogged(t, e.logs, logged, tt.reason)
			}
		})
	}
	if n := len(e.rows(t)); n != 0 {
		t.Errorf("URL verification stored %d rows", n)
	}
}

// verifyQuery is a URL-verification query for enc, signed by c.
func verifyQuery(c *wecom.Crypter, enc, ts, nonce string) string {
	return url.Values{"msg_signature": {c.Signature(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {enc}}.Encode()
}

// assertRefusalLogged checks that exactly one "callback refused" line was
// written since there were before, at warn, naming reason.
func assertRefusalLogged(t *testing.T, logs *observer.ObservedLogs, before int, reason string) {
	t.Helper()
	refused := logs.FilterMessage("callback refused").All()
	if len(refused) != before+1 {
		t.Fatalf("%d \"callback refused\" log lines written, want 1", len(refused)-before)
	}
	last := refused[len(refused)-1]
	if got, _ := last.ContextMap()["reason"].(string); !strings.Contains(got, reason) || last.Level != zapcore.WarnLevel {
		t.Errorf("refusal logged at %v with reason %q, want a warn naming %q", last.Level, got, reason)
	}
}

func TestCallbackReceive(t *testing.T) {
	unknown := []byte(`<xml><ToUserName><![CDATA[` + corpID + `]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
		`<CreateTime>1740816000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[campus_card_topup]]></Event>` +
		`<Amount>50</Amount></xml>`)
	updateUser := (&wecom.Event{ToUserName: corpID, FromUserName: "sys", CreateTime: 1740816000, MsgType: "event",
		Event: "change_contact", ChangeType: "update_user", Contact: &wecom.ContactChange{UserID: "zhangsan"}}).XML()
	unparsable := []byte("<xml><Content>unterminated")
	otherCorp := textMsg(20, "for another corp")
	otherCorp.ToUserName = "wwSomeOtherCorp"
	otherApp := textMsg(21, "for another app")
	otherApp.AgentID = 1000003
	batchDone := &wecom.Event{ToUserName: corpID, FromUserName: "sys", CreateTime: 1740816000, MsgType: "event",
		Event: "batch_job_result", BatchJob: &wecom.BatchJob{JobID: "job1", JobType: "sync_user"}}
	now := time.Unix(sealTime, 0)

	type request func(t *testing.T, e *env) (app, query string, body []byte)
	sealed := func(app string, msg func(e *env) (*wecom.Crypter, []byte, string)) request {
		return func(t *testing.T, e *env) (string, string, []byte) {
			c, m, agent := msg(e)
			q, b := seal(t, c, m, agent)
			return app, q, b
		}
	}
	oaMsg := func(ev *wecom.Event) request {
		return sealed("oa", func(e *env) (*wecom.Crypter, []byte, string) { return e.oa, ev.XML(), "1000002" })
	}
	oaAt := func(ev *wecom.Event, ts string) request {
		return func(t *testing.T, e *env) (string, string, []byte) {
			q, b := sealAt(t, e.oa, ev.XML(), "1000002", ts)
			return "oa", q, b
		}
	}
	tests := []struct {
		name   string
		req    request
		at     int64 // the server's clock, Unix seconds; 0 is sealTime
		status int
		body   string // exact
		stored int    // new rows
		reason string // in the "callback refused" log line
	}{
		{"text message", oaMsg(textMsg(1, "hello")), 0, 200, "success", 1, ""},
		{"the same message re-delivered", oaMsg(textMsg(1, "hello")), 0, 200, "success", 0, ""},
		{"and once more", oaMsg(textMsg(1, "hello")), 0, 200, "success", 0, ""},
		{"menu click A", oaMsg(clickMsg("menu_a")), 0, 200, "success", 1, ""},
		{"click differing only in EventKey", oaMsg(clickMsg("menu_b")), 0, 200, "success", 1, ""},
		{"contacts change", sealed("contacts", func(e *env) (*wecom.Crypter, []byte, string) { return e.cts, updateUser, "" }), 0, 200, "success", 1, ""},
		{"unknown event type", sealed("oa", func(e *env) (*wecom.Crypter, []byte, string) { return e.oa, unknown, "1000002" }), 0, 200, "success", 1, ""},
		{"app event without AgentID", oaMsg(batchDone), 0, 200, "success", 1, ""},
		{"official POST vector", func(*testing.T, *env) (string, string, []byte) {
			return "official", vecPostQuery, []byte(vecPostBody)
		}, vecPostTime, 200, "success", 1, ""},
		{"signed a minute ago", oaAt(textMsg(30, "a minute"), fmt.Sprint(now.Add(-time.Minute).Unix())), 0, 200, "success", 1, ""},

		// Authentic but not dispatchable: kept dead, answered success.
		{"decrypts to something that is not XML", sealed("oa", func(e *env) (*wecom.Crypter, []byte, string) {
			return e.oa, unparsable, "1000002"
		}), 0, 200, "success", 1, ""},
		{"the same unparsable bytes again", sealed("oa", func(e *env) (*wecom.Crypter, []byte, string) {
			return e.oa, unparsable, "1000002"
		}), 0, 200, "success", 0, ""},
		{"inner ToUserName of another corp", oaMsg(otherCorp), 0, 200, "success", 1, ""},
		{"inner AgentID of another app", oaMsg(otherApp), 0, 200, "success", 1, ""},

		// Refused, stored nowhere.
		{"signed 30 days ago", oaAt(textMsg(31, "old"), fmt.Sprint(now.AddDate(0, 0, -30).Unix())), 0, 403, "", 0, "timestamp"},
		{"signed a year ahead", oaAt(textMsg(32, "future"), fmt.Sprint(now.AddDate(1, 0, 0).Unix())), 0, 403, "", 0, "timestamp"},
		{"timestamp abc", oaAt(textMsg(33, "abc"), "abc"), 0, 403, "", 0, "timestamp"},
		{"official POST vector replayed today", func(*testing.T, *env) (string, string, []byte) {
			return "official", vecPostQuery, []byte(vecPostBody)
		}, 0, 403, "", 0, "timestamp"},
		{"forged signature", func(t *testing.T, e *env) (string, string, []byte) {
			q, b := seal(t, e.oa, textMsg(2, "forged").XML(), "1000002")
			return "oa", forge(q), b
		}, 0, 403, "", 0, "signature"},
		{"wrong receiveid", sealed("oa", func(*env) (*wecom.Crypter, []byte, string) {
			return mustCrypter(t, oaToken, oaAESKey, "wwSomeOtherCorp"), textMsg(3, "x").XML(), "1000002"
		}), 0, 403, "", 0, "receiveid mismatch"},
		{"sealed for another receiver", sealed("oa", func(e *env) (*wecom.Crypter, []byte, string) { return e.cts, updateUser, "" }), 0, 403, "", 0, "signature"},
		{"undecryptable Encrypt", func(t *testing.T, e *env) (string, string, []byte) {
			enc, ts := "bm90IGEgY2lwaGVydGV4dA==", fmt.Sprint(sealTime)
			return "oa", "msg_signature=" + e.oa.Signature(ts, "2", enc) + "&timestamp=" + ts + "&nonce=2",
				[]byte("<xml><ToUserName><![CDATA[" + corpID + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
		}, 0, 403, "", 0, "decrypt"},
		{"no Encrypt element", func(t *testing.T, e *env) (string, string, []byte) {
			return "oa", "msg_signature=" + strings.Repeat("a", 40) + "&timestamp=" + fmt.Sprint(sealTime) + "&nonce=2", []byte("<xml><Hello/></xml>")
		}, 0, 400, "", 0, "Encrypt"},
		{"no signature", func(t *testing.T, e *env) (string, string, []byte) {
			_, b := seal(t, e.oa, textMsg(4, "x").XML(), "1000002")
			return "oa", "timestamp=1&nonce=2", b
		}, 0, 400, "", 0, "msg_signature"},
		{"body over 1 MiB", func(t *testing.T, e *env) (string, string, []byte) {
			return "oa", "msg_signature=" + strings.Repeat("a", 40) + "&timestamp=" + fmt.Sprint(sealTime) + "&nonce=2", bytes.Repeat([]byte("x"), 1<<20+1)
		}, 0, 413, "", 0, "size cap"},
		{"unknown app", sealed("library", func(e *env) (*wecom.Crypter, []byte, string) { return e.oa, textMsg(5, "x").XML(), "1000002" }), 0, 404, "", 0, ""},
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.clock.Store(cmp.Or(tt.at, sealTime))
				before, logged := len(e.rows(t)), e.logs.FilterMessage("callback refused").Len()
				app, q, body := tt.req(t, e)
				rec := e.do(http.MethodPost, "/wecom/callback/"+app+"?"+q, body)
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.status, rec.Body)
				}
				if tt.body != "" && rec.Body.String() != tt.body {
					t.Errorf("body %q, want %q", rec.Body, tt.body)
				}
				if got := len(e.rows(t)) - before; got != tt.stored {
					t.Errorf("%d rows stored, want %d", got, tt.stored)
				}
				if tt.reason != "" {
					assertRefusalLogged(t, e.logs, logged, tt.reason)
				}
			})
		}
		// What landed where, and in which state.
		byKind := map[string][]store.InboxRow{}
		for _, r := range e.rows(t) {
			k := r.Receiver + " " + r.Kind + " " + string(r.State)
			byKind[k] = append(byKind[k], r)
		}
		want := map[string]int{
			"oa text pending": 2, "oa " + wecom.KindClick + " pending": 2, "contacts " + wecom.KindUpdateUser + " pending": 1,
			"oa event.campus_card_topup pending": 1, "official text pending": 1, "oa " + wecom.KindBatchJobResult + " pending": 1,
			"oa " + inbox.KindUnparsed + " dead": 1, "oa text dead": 2,
		}
		for k, n := range want {
			if len(byKind[k]) != n {
				t.Errorf("%s: %d rows, want %d", k, len(byKind[k]), n)
			}
		}
		if len(byKind) != len(want) {
			t.Errorf("rows by receiver, kind and state: %v", byKind)
		}
		// The unparsable callback is kept byte for byte, with the reason.
		if rs := byKind["oa "+inbox.KindUnparsed+" dead"]; len(rs) == 1 {
			if string(rs[0].Payload) != string(unparsable) || !strings.Contains(rs[0].LastError, "does not parse") {
				t.Errorf("unparsable callback stored as %q, last_error %q", rs[0].Payload, rs[0].LastError)
			}
		}
		// Each mismatch is stored with its reason, counted and logged.
		reasons := map[string]bool{}
		for _, r := range byKind["oa text dead"] {
			reasons[r.LastError] = true
		}
		for _, want := range []string{`ToUserName "wwSomeOtherCorp" is not this receiver's corp id "` + corpID + `"`, "AgentID 1000003 is not this app's agent id 1000002"} {
			if !reasons[want] {
				t.Errorf("no dead row with reason %q; have %v", want, reasons)
			}
		}
		if got := metricValue(t, e.reg, "wecomapp_callback_mismatch_total", map[string]string{"receiver": "oa"}); got != 2 {
			t.Errorf("wecomapp_callback_mismatch_total{receiver=oa} = %v, want 2", got)
		}
		if n := e.logs.FilterMessage("callback does not match its receiver; stored dead, not dispatched").FilterLevelExact(zapcore.WarnLevel).Len(); n != 2 {
			t.Errorf("%d mismatch warnings, want 2", n)
		}
		// The unknown event is kept byte for byte, and the dispatcher says
		// nobody handles it without refusing or retrying it.
		u := byKind["oa event.campus_card_topup pending"][0]
		if string(u.Payload) != string(unknown) {
			t.Errorf("unknown event stored as %s", u.Payload)
		}
		var dispatched sync.Map
		e.ib.Register(wecom.KindText, func(_ context.Context, ev *wecom.Event) error {
			dispatched.Store(ev.Content, true)
			return nil
		})
		e.run(t)
		waitFor(t, "the unknown event to be skipped", func() bool {
			r, err := e.db.GetInbox(context.Background(), u.ID)
			return err == nil && r.State == store.InboxSkipped
		})
		waitFor(t, "every pending row to be handled", func() bool {
			n, err := e.db.CountInbox(context.Background(), store.InboxPending, store.InboxProcessing)
			return err == nil && n[store.InboxPending]+n[store.InboxProcessing] == 0
		})
		// Dead rows are never dispatched.
		for _, content := range []string{otherCorp.Content, otherApp.Content} {
			if _, ok := dispatched.Load(content); ok {
				t.Errorf("the mismatched %q was dispatched", content)
			}
		}
		if _, ok := dispatched.Load("hello"); !ok {
			t.Error("the text message was not dispatched")
		}
	})
}

// metricValue reads the counter or gauge name with exactly labels from
// reg; 0 when it has no such series.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if fmt.Sprint(got) == fmt.Sprint(labels) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func TestCallbackHelpGetsPassiveReply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		var first string
		for i := range 2 { // the re-delivery gets the same answer
			q, body := seal(t, e.oa, textMsg(42, "帮助").XML(), "1000002")
			rec := e.do(http.MethodPost, "/wecom/callback/oa?"+q, body)
			if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "<xml><Encrypt>") {
				t.Fatalf("delivery %d: %d %q", i, rec.Code, rec.Body)
			}
			plain, err := e.oa.OpenReply(rec.Body.Bytes())
			if err != nil {
				t.Fatalf("delivery %d: reply does not open: %v", i, err)
			}
			rep, err := wecom.ParseReply(plain)
			if err != nil {
				t.Fatal(err)
			}
			if rep.MsgType != wecom.ReplyText || rep.Content != inbox.DefaultHelpText || rep.ToUserName != "zhangsan" || rep.FromUserName != corpID {
				t.Errorf("delivery %d: reply %+v", i, rep)
			}
			if i == 0 {
				first = string(plain)
			} else if string(plain) != first {
				t.Errorf("re-delivery got %s, first got %s", plain, first)
			}
		}
		if n := len(e.rows(t)); n != 1 {
			t.Errorf("%d rows, want 1", n)
		}
		// Anything else gets a plain "success".
		q, body := seal(t, e.oa, textMsg(43, "hello").XML(), "1000002")
		if rec := e.do(http.MethodPost, "/wecom/callback/oa?"+q, body); rec.Body.String() != "success" {
			t.Errorf("non-help text: %q", rec.Body)
		}
	})
}

func TestCallbackDatabaseDownIs500(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		q, body := seal(t, e.oa, textMsg(1, "hello").XML(), "1000002")
		db.Close()
		rec := e.do(http.MethodPost, "/wecom/callback/oa?"+q, body)
		if rec.Code != http.StatusInternalServerError || rec.Body.String() == "success" {
			t.Fatalf("status %d %q; want 500 so that WeCom retries", rec.Code, rec.Body)
		}
		if e.logs.FilterMessage("request failed").FilterLevelExact(zapcore.ErrorLevel).Len() != 1 {
			t.Error("the failure was not logged once at error")
		}
	})
}

// TestCallbackEndToEndSilenceper posts over real HTTP callbacks encrypted
// and signed by silenceper's util (an independent implementation of the
// protocol), three deliveries each, and checks each is handled once.
func TestCallbackEndToEndSilenceper(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		var mu sync.Mutex
		handled := map[string]int{}
		e.ib.Register("*", func(_ context.Context, ev *wecom.Event) error {
			mu.Lock()
			defer mu.Unlock()
			handled[ev.Kind()+"/"+ev.Content+ev.EventKey]++
			return nil
		})
		srv := httptest.NewServer(e.h)
		defer srv.Close()

		post := func(msg []byte, nonce string) (int, []byte) {
			t.Helper()
			enc, err := util.EncryptMsg([]byte("0123456789abcdef"), msg, corpID, oaAESKey)
			if err != nil {
				t.Fatal(err)
			}
			ts := "1740816000"
			q := url.Values{"msg_signature": {util.Signature(oaToken, ts, nonce, string(enc))}, "timestamp": {ts}, "nonce": {nonce}}
			body := "<xml><ToUserName><![CDATA[" + corpID + "]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[" + string(enc) + "]]></Encrypt></xml>"
			resp, err := http.Post(srv.URL+"/wecom/callback/oa?"+q.Encode(), "text/xml", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		msgs := [][]byte{textMsg(9001, "hello").XML(), clickMsg("menu_a").XML(), clickMsg("menu_b").XML()}
		for i, m := range msgs {
			for d := range 3 {
				if status, b := post(m, fmt.Sprint(500+10*i+d)); status != 200 || string(b) != "success" {
					t.Fatalf("message %d delivery %d: %d %q", i, d, status, b)
				}
			}
		}
		// help, with the reply read back by silenceper.
		status, b := post(textMsg(9002, "help").XML(), "777")
		if status != 200 {
			t.Fatalf("help: %d %q", status, b)
		}
		var env struct {
			Encrypt, MsgSignature, TimeStamp, Nonce string
		}
		if err := xml.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		if util.Signature(oaToken, env.TimeStamp, env.Nonce, env.Encrypt) != env.MsgSignature {
			t.Error("silenceper does not accept the reply's signature")
		}
		_, plain, err := util.DecryptMsg(corpID, env.Encrypt, oaAESKey)
		if err != nil || !strings.Contains(string(plain), "<MsgType><![CDATA[text]]></MsgType>") || !strings.Contains(string(plain), "工作台") {
			t.Errorf("silenceper decrypts the reply to %s, %v", plain, err)
		}

		e.run(t)
		for _, r := range e.rows(t) {
			waitFor(t, fmt.Sprintf("row %d to be done", r.ID), func() bool {
				got, err := e.db.GetInbox(context.Background(), r.ID)
				return err == nil && got.State == store.InboxDone
			})
		}
		mu.Lock()
		defer mu.Unlock()
		want := map[string]int{"text/hello": 1, "event.click/menu_a": 1, "event.click/menu_b": 1, "text/help": 1}
		if fmt.Sprint(handled) != fmt.Sprint(want) {
			t.Errorf("handled %v, want %v", handled, want)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkCallbackEndpoint measures callbacks acknowledged per second
// through the real HTTP handler: query parsing, signature check, AES
// decrypt, parse, the inbox commit and the reply hook. Every callback is a
// distinct message, so none is deduplicated.
//
// par1 runs GOMAXPROCS concurrent requests, par8 eight times as many: WeCom
// delivers many callbacks at once, and a server database commits
// concurrent transactions together (group commit), so it scales with them
// while SQLite's single writer does not.
func BenchmarkCallbackEndpoint(b *testing.B) {
	engines := []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"mysql", storetest.MySQL}}
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			for _, par := range []int{1, 8} {
				b.Run(fmt.Sprintf("par%d", par), func(b *testing.B) { benchCallbacks(b, eng.open(b), par) })
			}
		})
	}
}

func benchCallbacks(b *testing.B, db *store.DB, parallelism int) {
	e := newEnv(b, db, zap.NewNop())
	type req struct {
		target string
		body   []byte
	}
	reqs := make([]req, b.N)
	base := int(time.Now().UnixNano() % 1e12)
	for i := range reqs {
		q, body := seal(b, e.oa, textMsg(base+i, "请问明天的课在哪个教室？").XML(), "1000002")
		reqs[i] = req{"/wecom/callback/oa?" + q, body}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := reqs[next.Add(1)-1]
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, r.target, bytes.NewReader(r.body)))
			if rec.Code != 200 {
				b.Errorf("status %d %q", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
}

func TestNewRefusesBadReceivers(t *testing.T) {
	db := storetest.SQLite(t)
	ib, err := inbox.New(db, inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	oa := handler.Receiver{Crypter: mustCrypter(t, oaToken, oaAESKey, corpID), AgentID: oaAgentID}
	tests := []struct {
		name         string
		receivers    map[string]handler.Receiver
		inbox        *inbox.Inbox
		metricsAllow []string
		wantErr      string
	}{
		{"fine", map[string]handler.Receiver{"oa": oa, "contacts": {Crypter: oa.Crypter}, "lib_2-x": oa}, ib, nil, ""},
		{"none", nil, nil, nil, ""},
		{"no inbox", map[string]handler.Receiver{"oa": oa}, nil, nil, "need an Inbox"},
		{"nil crypter", map[string]handler.Receiver{"oa": {AgentID: 1}}, ib, nil, "no Crypter"},
		{"negative agent id", map[string]handler.Receiver{"oa": {Crypter: oa.Crypter, AgentID: -1}}, ib, nil, "agent id -1"},
		{"slash in name", map[string]handler.Receiver{"a/b": oa}, ib, nil, "must be 1 to 64"},
		{"too long", map[string]handler.Receiver{strings.Repeat("a", 65): oa}, ib, nil, "must be 1 to 64"},
		{"metrics networks", nil, nil, []string{"10.0.0.0/8", "2001:db8::/32"}, ""},
		{"a metrics network that is no CIDR", nil, nil, []string{"10.0.0.1"}, "not a CIDR"},
	}
	for _, tt := range tests {
		_, err := handler.New(handler.Deps{Logger: zap.NewNop(), DB: db, Metrics: prometheus.NewRegistry(), Receivers: tt.receivers, Inbox: tt.inbox,
			MetricsAllow: tt.metricsAllow})
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
