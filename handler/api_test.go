package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// apiMessages is a message center that records what it is given and
// implements idempotency as notify.Submitter documents it: the same
// producer and key answer the first message, with Duplicate.
type apiMessages struct {
	mu      sync.Mutex
	calls   int
	msgs    []notify.Message // committed, id = index + 1
	byKey   map[string]int64
	refusal *notify.InvalidError // answered to every Submit when set
}

func (f *apiMessages) Submit(_ context.Context, m notify.Message) (notify.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.refusal != nil {
		return notify.Receipt{}, f.refusal
	}
	named := len(m.To.UserIDs) + len(m.To.Departments) + len(m.To.Tags) + len(m.To.Roles) + len(m.To.Mobiles)
	k := m.Producer + "\x00" + m.IdempotencyKey
	if id, ok := f.byKey[k]; ok && m.IdempotencyKey != "" {
		first := f.msgs[id-1].To
		return notify.Receipt{ID: id, Recipients: len(first.UserIDs) + len(first.Departments) + len(first.Tags) + len(first.Roles) + len(first.Mobiles), Duplicate: true}, nil
	}
	f.msgs = append(f.msgs, m)
	id := int64(len(f.msgs))
	if f.byKey == nil {
		f.byKey = map[string]int64{}
	}
	f.byKey[k] = id
	return notify.Receipt{ID: id, Recipients: named}, nil
}

func (f *apiMessages) Get(_ context.Context, id int64) (*notify.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id < 1 || id > int64(len(f.msgs)) {
		return nil, notify.ErrNotFound
	}
	m := f.msgs[id-1]
	st := &notify.Status{ID: id, Producer: m.Producer, Lane: m.Lane.String(), MsgType: m.Content.MsgType, State: "done",
		Counts: map[string]int{notify.OutcomeDelivered: len(m.To.UserIDs)}}
	for _, u := range m.To.UserIDs {
		st.Recipients = append(st.Recipients, notify.RecipientResult{UserID: u, Channel: "wecom", Outcome: notify.OutcomeDelivered})
	}
	return st, nil
}

func (f *apiMessages) committed() []notify.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notify.Message(nil), f.msgs...)
}

// apiEnv is the platform's HTTP handler with the ingest API, a key
// admin made for "oa" and a log that is searched for secrets.
type apiEnv struct {
	h      http.Handler
	db     *store.DB
	keys   *apikey.Keys
	msgs   *apiMessages
	clock  *testenv.Clock
	logs   *observer.ObservedLogs
	key    string // key id of oa's key
	secret string
}

// apiNow is the server's clock, and the default signing time.
var apiNow = time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)

func newAPIEnv(t *testing.T, db *store.DB, co coord.Store, with func(*handler.Deps)) *apiEnv {
	t.Helper()
	e := &apiEnv{db: db, msgs: &apiMessages{}, clock: testenv.NewClock(apiNow)}
	if co == nil {
		co = coord.NewMemory(e.clock.Now)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e.logs = logs
	keys, err := apikey.New(apikey.Options{DB: db, Coord: co, Now: e.clock.Now, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	e.keys = keys
	d := handler.Deps{Logger: zap.New(core), DB: db, Coord: co, Now: e.clock.Now, APIKeys: keys, Messages: e.msgs}
	if with != nil {
		with(&d)
	}
	if e.h, err = handler.New(d); err != nil {
		t.Fatal(err)
	}
	e.key, e.secret = e.newKey(t, "oa", "tags:12,13 departments:5 userids", apikey.Rate{})
	return e
}

func (e *apiEnv) newKey(t *testing.T, system, scope string, rate apikey.Rate) (string, string) {
	t.Helper()
	sc, err := apikey.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := e.keys.Create(context.Background(), store.Actor{UserID: "cli:ops"}, apikey.Spec{System: system, Scope: sc, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	return k.ID, secret
}

var apiNonce int

// apiReq is a request signed as a producer signs it: key, timestamp now,
// a fresh nonce, the signature over timestamp, nonce and body.
func apiReq(method, path, key, secret, body, idem string) *http.Request {
	apiNonce++
	nonce := fmt.Sprintf("%032x", apiNonce)
	ts := strconv.FormatInt(apiNow.Unix(), 10)
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(apikey.HeaderKey, key)
	r.Header.Set(apikey.HeaderTimestamp, ts)
	r.Header.Set(apikey.HeaderNonce, nonce)
	r.Header.Set(apikey.HeaderSignature, apikey.Sign(secret, ts, nonce, []byte(body)))
	if idem != "" {
		r.Header.Set(handler.HeaderIdempotencyKey, idem)
	}
	return r
}

// resign signs r again after a header was changed.
func resign(r *http.Request, secret, body string) {
	r.Header.Set(apikey.HeaderSignature, apikey.Sign(secret, r.Header.Get(apikey.HeaderTimestamp), r.Header.Get(apikey.HeaderNonce), []byte(body)))
}

func (e *apiEnv) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *apiEnv) post(body, idem string) *httptest.ResponseRecorder {
	return e.do(apiReq(http.MethodPost, "/api/v1/messages", e.key, e.secret, body, idem))
}

type apiAnswer struct {
	ID         int64  `json:"id"`
	Recipients int    `json:"recipients"`
	Duplicate  bool   `json:"duplicate"`
	Error      string `json:"error"`
	Field      string `json:"field"`
}

func answer(t *testing.T, w *httptest.ResponseRecorder, status int) apiAnswer {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var a apiAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
	if status >= 400 && a.Error == "" {
		t.Errorf("refusal %d without an error: %s", status, w.Body)
	}
	return a
}

// noSecretsLogged fails the test for any log line holding a secret or a
// signature sent.
func (e *apiEnv) noSecretsLogged(t *testing.T, secrets ...string) {
	t.Helper()
	for _, l := range e.logs.All() {
		line := l.Message
		for k, v := range l.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("log line holds %q: %s", s, line)
			}
		}
	}
}

const apiText = `{"to":{"tags":[12],"userids":["T1001"]},"msgtype":"text","text":{"content":"明天 8:00-12:00 停水"},"lane":"reminder","send_at":"2026-12-01T18:00:00+08:00","expire_at":"2026-12-02T08:00:00+08:00","safe":1}`

func TestAPISubmitAndIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db, nil, nil)
		req := apiReq(http.MethodPost, "/api/v1/messages", e.key, e.secret, apiText, "notice-2026-1201-01")
		sig := req.Header.Get(apikey.HeaderSignature)
		a := answer(t, e.do(req), http.StatusAccepted)
		if a.ID == 0 || a.Recipients != 2 || a.Duplicate {
			t.Fatalf("answer %+v, want an id for 2 named recipients", a)
		}
		got := e.msgs.committed()
		if len(got) != 1 {
			t.Fatalf("%d messages committed", len(got))
		}
		m := got[0]
		sendAt, expireAt := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		if m.Producer != "api:oa" || m.IdempotencyKey != "notice-2026-1201-01" || m.Actor != e.key || m.Lane != notify.LaneReminder ||
			!m.SendAt.Equal(sendAt) || !m.ExpireAt.Equal(expireAt) || m.Content.MsgType != "text" || m.Content.Safe != 1 ||
			string(m.Content.Body) != `{"content":"明天 8:00-12:00 停水"}` ||
			len(m.To.Tags) != 1 || m.To.Tags[0] != 12 || len(m.To.UserIDs) != 1 || m.To.UserIDs[0] != "T1001" {
			t.Errorf("submitted %+v (body %s)", m, m.Content.Body)
		}

		// The producer retries (a lost answer): the same message, nothing more sent.
		again := answer(t, e.post(apiText, "notice-2026-1201-01"), http.StatusAccepted)
		if again.ID != a.ID || !again.Duplicate || again.Recipients != 2 {
			t.Errorf("retry answered %+v, want id %d duplicate", again, a.ID)
		}
		if n := len(e.msgs.committed()); n != 1 {
			t.Errorf("%d messages committed after the retry, want 1", n)
		}
		// Another key is another message; the default lane is broadcast.
		b := answer(t, e.post(`{"to":{"departments":[5,{"id":5,"children":true}]},"msgtype":"markdown","markdown":{"content":"**通知**"}}`, "notice-2026-1201-02"), http.StatusAccepted)
		if b.ID == a.ID || b.Duplicate {
			t.Errorf("a new idempotency key answered %+v", b)
		}
		if got := e.msgs.committed(); len(got) != 2 || got[1].Lane != notify.LaneBroadcast ||
			len(got[1].To.Departments) != 2 || got[1].To.Departments[0] != (notify.Department{ID: 5}) || got[1].To.Departments[1] != (notify.Department{ID: 5, Children: true}) {
			t.Errorf("second message %+v", got)
		}
		e.noSecretsLogged(t, e.secret, sig)
	})
}

func TestAPIAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db, nil, nil)
		var sigs []string
		for _, c := range []struct {
			name  string
			edit  func(r *http.Request)
			field string
		}{
			{"bad signature", func(r *http.Request) { resign(r, e.secret+"x", apiText) }, apikey.HeaderSignature},
			{"body changed after signing", func(r *http.Request) { resign(r, e.secret, strings.Replace(apiText, "12", "13", 1)) }, apikey.HeaderSignature},
			{"timestamp 6 minutes old", func(r *http.Request) {
				r.Header.Set(apikey.HeaderTimestamp, strconv.FormatInt(apiNow.Add(-6*time.Minute).Unix(), 10))
				resign(r, e.secret, apiText)
			}, apikey.HeaderTimestamp},
			{"timestamp 6 minutes ahead", func(r *http.Request) {
				r.Header.Set(apikey.HeaderTimestamp, strconv.FormatInt(apiNow.Add(6*time.Minute).Unix(), 10))
				resign(r, e.secret, apiText)
			}, apikey.HeaderTimestamp},
			{"unknown key", func(r *http.Request) { r.Header.Set(apikey.HeaderKey, "ak_0123456789abcdef") }, apikey.HeaderKey},
			{"no key", func(r *http.Request) { r.Header.Del(apikey.HeaderKey) }, apikey.HeaderKey},
			{"no signature", func(r *http.Request) { r.Header.Del(apikey.HeaderSignature) }, apikey.HeaderSignature},
		} {
			r := apiReq(http.MethodPost, "/api/v1/messages", e.key, e.secret, apiText, "idem-"+strings.ReplaceAll(c.name, " ", "-"))
			c.edit(r)
			sigs = append(sigs, r.Header.Get(apikey.HeaderSignature))
			w := e.do(r)
			if a := answer(t, w, http.StatusUnauthorized); a.Field != c.field {
				t.Errorf("%s: refused at %q (%s), want %q", c.name, a.Field, a.Error, c.field)
			}
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", c.name)
			}
		}
		// Within 5 minutes either way is accepted.
		r := apiReq(http.MethodPost, "/api/v1/messages", e.key, e.secret, apiText, "idem-skew")
		r.Header.Set(apikey.HeaderTimestamp, strconv.FormatInt(apiNow.Add(-4*time.Minute).Unix(), 10))
		resign(r, e.secret, apiText)
		answer(t, e.do(r), http.StatusAccepted)

		// A revoked key is refused from the next request on.
		if _, _, err := e.keys.Revoke(context.Background(), store.Actor{UserID: "cli:ops"}, e.key); err != nil {
			t.Fatal(err)
		}
		if a := answer(t, e.post(apiText, "idem-after-revoke"), http.StatusUnauthorized); a.Field != apikey.HeaderKey || !strings.Contains(a.Error, "revoked") {
			t.Errorf("revoked key: %+v", a)
		}
		if n := len(e.msgs.committed()); n != 1 {
			t.Errorf("%d messages committed, want only the one within the skew", n)
		}
		e.noSecretsLogged(t, append(sigs, e.secret)...)
	})
}

// TestAPINonceReplayAcrossInstances: two instances behind a load balancer,
// sharing the database and Redis: a request replayed to the other one is
// refused with 409, and nothing is submitted twice.
func TestAPINonceReplayAcrossInstances(t *testing.T) {
	addr := testenv.RedisAddr(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		prefix := fmt.Sprintf("wecomapp-test:%s:%d:", t.Name(), time.Now().UnixNano())
		redis := func() coord.Store {
			r := coord.NewRedis(coord.RedisOptions{Addr: addr, Prefix: prefix})
			if err := r.Ping(context.Background()); err != nil {
				t.Fatalf("%s is set but Redis is unreachable: %v", testenv.RedisAddrVar, err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}
		a := newAPIEnv(t, db, redis(), nil)
		b := newAPIEnv(t, db, redis(), nil)
		b.msgs = a.msgs // one message center behind both (the outbox is in the shared database)
		req := apiReq(http.MethodPost, "/api/v1/messages", a.key, a.secret, apiText, "idem-replayed")
		// A captured request sent again: the same headers and body.
		replay := func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/messages", strings.NewReader(apiText))
			r.Header = req.Header.Clone()
			return r
		}
		answer(t, a.do(req), http.StatusAccepted)
		if f := answer(t, b.do(replay()), http.StatusConflict); f.Field != apikey.HeaderNonce {
			t.Errorf("replay refused at %q", f.Field)
		}
		// And on the first instance as well.
		answer(t, a.do(replay()), http.StatusConflict)
		if n := len(a.msgs.committed()); n != 1 {
			t.Errorf("%d messages committed, want 1", n)
		}
	})
}

func TestAPIRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db, nil, nil)
		key, secret := e.newKey(t, "library", "tags:12", apikey.Rate{N: 2, Per: time.Minute})
		body := `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"还书提醒"}}`
		for i := range 2 {
			answer(t, e.do(apiReq(http.MethodPost, "/api/v1/messages", key, secret, body, fmt.Sprint("lib-", i))), http.StatusAccepted)
		}
		w := e.do(apiReq(http.MethodPost, "/api/v1/messages", key, secret, body, "lib-2"))
		answer(t, w, http.StatusTooManyRequests)
		if ra := w.Header().Get("Retry-After"); ra != "30" {
			t.Errorf("Retry-After %q, want 30 (2/min: a token every 30 s)", ra)
		}
		// The GET of results counts against the same allowance.
		w = e.do(apiReq(http.MethodGet, "/api/v1/messages/1", key, secret, "", ""))
		answer(t, w, http.StatusTooManyRequests)
		// oa's own key is not held up by the library's.
		answer(t, e.post(apiText, "oa-1"), http.StatusAccepted)
		e.clock.Advance(30 * time.Second)
		answer(t, e.do(apiReq(http.MethodPost, "/api/v1/messages", key, secret, body, "lib-2")), http.StatusAccepted)
	})
}

func TestAPIScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db, nil, nil)
		if err := db.PutMirrorDepartments(context.Background(), nil, []store.MirrorDepartment{
			{ID: 1, Name: "海滨大学"}, {ID: 5, Name: "计算机学院", ParentID: 1}, {ID: 7, Name: "软件工程系", ParentID: 5}, {ID: 6, Name: "外国语学院", ParentID: 1},
		}, apiNow); err != nil {
			t.Fatal(err)
		}
		// oa's key: tags 12 and 13, department 5 and below, any userid.
		for _, c := range []struct {
			to    string
			field string
		}{
			{`{"tags":[12,14]}`, "to.tags"},
			{`{"departments":[7,6]}`, "to.departments"},
			{`{"all":true}`, "to.all"},
			{`{"mobiles":["13800138000"]}`, "to.mobiles"},
			{`{"roles":["student"]}`, "to.roles"},
		} {
			body := `{"to":` + c.to + `,"msgtype":"text","text":{"content":"x"}}`
			if a := answer(t, e.post(body, "scope-"+c.to), http.StatusForbidden); a.Field != c.field {
				t.Errorf("to %s refused at %q (%s), want %q", c.to, a.Field, a.Error, c.field)
			}
		}
		if n := len(e.msgs.committed()); n != 0 {
			t.Fatalf("%d messages committed outside the scope", n)
		}
		answer(t, e.post(`{"to":{"departments":[7],"tags":[13],"userids":["S2024001"]},"msgtype":"text","text":{"content":"x"}}`, "scope-ok"), http.StatusAccepted)
	})
}

func TestAPIBadRequests(t *testing.T) {
	db := storetest.SQLite(t)
	e := newAPIEnv(t, db, nil, nil)
	for _, c := range []struct {
		name, body, field string
	}{
		{"not JSON", `{"to":`, "body"},
		{"not an object", `[1,2]`, "body"},
		{"two objects", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"}} {}`, "body"},
		{"no msgtype", `{"to":{"tags":[12]},"text":{"content":"x"}}`, "msgtype"},
		{"unknown msgtype", `{"to":{"tags":[12]},"msgtype":"voice","voice":{"media_id":"x"}}`, "msgtype"},
		{"msgtype without its object", `{"to":{"tags":[12]},"msgtype":"text"}`, "text"},
		{"object of another msgtype", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"markdown":{"content":"y"}}`, "markdown"},
		{"WeCom's own recipients", `{"touser":"T1001","msgtype":"text","text":{"content":"x"}}`, "touser"},
		{"no to", `{"msgtype":"text","text":{"content":"x"}}`, "to"},
		{"empty recipients", `{"to":{},"msgtype":"text","text":{"content":"x"}}`, "to"},
		{"empty lists", `{"to":{"tags":[],"userids":[]},"msgtype":"text","text":{"content":"x"}}`, "to"},
		{"tags as a string", `{"to":{"tags":"12|13"},"msgtype":"text","text":{"content":"x"}}`, "to.tags"},
		{"a bad userid", `{"to":{"userids":["T1001|T1002"]},"msgtype":"text","text":{"content":"x"}}`, "to.userids"},
		{"unknown recipient kind", `{"to":{"parties":[5]},"msgtype":"text","text":{"content":"x"}}`, "to.parties"},
		{"bad department", `{"to":{"departments":[{"id":5,"recursive":true}]},"msgtype":"text","text":{"content":"x"}}`, "to.departments"},
		{"bad lane", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"lane":"urgent"}`, "lane"},
		{"bad send_at", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"send_at":"2026-12-01 18:00"}`, "send_at"},
		{"send_at a number", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"send_at":1764583200}`, "send_at"},
		{"bad expire_at", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"expire_at":"tomorrow"}`, "expire_at"},
		{"expired already", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"expire_at":"2026-12-01T08:00:00Z"}`, "expire_at"},
		{"expires before it is sent", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"send_at":"2026-12-02T08:00:00Z","expire_at":"2026-12-02T07:00:00Z"}`, "expire_at"},
		{"bad safe", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"safe":2}`, "safe"},
		{"misspelt field", `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"x"},"sendat":"2026-12-02T08:00:00Z"}`, "sendat"},
	} {
		a := answer(t, e.post(c.body, "bad-"+strings.ReplaceAll(c.name, " ", "-")), http.StatusBadRequest)
		if a.Field != c.field {
			t.Errorf("%s: field %q (%s), want %q", c.name, a.Field, a.Error, c.field)
		}
	}
	// No Idempotency-Key.
	if a := answer(t, e.post(apiText, ""), http.StatusBadRequest); a.Field != handler.HeaderIdempotencyKey {
		t.Errorf("no Idempotency-Key: %+v", a)
	}
	if n := len(e.msgs.committed()); n != 0 {
		t.Fatalf("%d bad requests were submitted", n)
	}
	// What the message center refuses is a 400 with its field.
	e.msgs.refusal = &notify.InvalidError{Field: "text.content", Problem: "is empty"}
	if a := answer(t, e.post(`{"to":{"tags":[12]},"msgtype":"text","text":{"content":" "}}`, "empty-text"), http.StatusBadRequest); a.Field != "text.content" || a.Error != "is empty" {
		t.Errorf("message center refusal answered %+v", a)
	}
	// A phone number refused is told to the producer, never logged.
	smsKey, smsSecret := e.newKey(t, "admissions", "mobiles", apikey.Rate{})
	long := "+86 138 0013 8000 0000 0000 0000 0000"
	a := answer(t, e.do(apiReq(http.MethodPost, "/api/v1/messages", smsKey, smsSecret, `{"to":{"mobiles":["`+long+`"]},"msgtype":"text","text":{"content":"x"}}`, "m-1")), http.StatusBadRequest)
	if a.Field != "to.mobiles" {
		t.Errorf("an over-long mobile: %+v", a)
	}
	e.msgs.refusal = &notify.InvalidError{Field: "to.mobiles", Problem: `"1380013800x" is not a mobile number`}
	a = answer(t, e.do(apiReq(http.MethodPost, "/api/v1/messages", smsKey, smsSecret, `{"to":{"mobiles":["1380013800x"]},"msgtype":"text","text":{"content":"x"}}`, "m-2")), http.StatusBadRequest)
	if a.Field != "to.mobiles" || !strings.Contains(a.Error, "1380013800x") {
		t.Errorf("message center's mobile refusal answered %+v", a)
	}
	e.noSecretsLogged(t, "1380013800x", "138 0013", smsSecret)
}

func TestAPIBodyTooLarge(t *testing.T) {
	db := storetest.SQLite(t)
	e := newAPIEnv(t, db, nil, func(d *handler.Deps) { d.APIMaxBody = 1024 })
	big := `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"` + strings.Repeat("长", 400) + `"}}`
	answer(t, e.post(big, "big"), http.StatusRequestEntityTooLarge)
	// Without a Content-Length (chunked), the reader stops at the cap.
	r := apiReq(http.MethodPost, "/api/v1/messages", e.key, e.secret, big, "big-chunked")
	r.ContentLength = -1
	answer(t, e.do(r), http.StatusRequestEntityTooLarge)
	// Under the cap it goes through.
	answer(t, e.post(`{"to":{"tags":[12]},"msgtype":"text","text":{"content":"短"}}`, "small"), http.StatusAccepted)

	// The default is 64 KiB.
	d := newAPIEnv(t, storetest.SQLite(t), nil, nil)
	huge := `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"` + strings.Repeat("x", handler.DefaultAPIMaxBody) + `"}}`
	answer(t, d.post(huge, "huge"), http.StatusRequestEntityTooLarge)
	if n := len(e.msgs.committed()) + len(d.msgs.committed()); n != 1 {
		t.Errorf("%d messages committed, want the small one", n)
	}
}

func TestAPIResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db, nil, nil)
		mine := answer(t, e.post(`{"to":{"userids":["T1001","S2024001"]},"msgtype":"text","text":{"content":"x"}}`, "r-1"), http.StatusAccepted)
		libKey, libSecret := e.newKey(t, "library", "userids", apikey.Rate{})
		theirs := answer(t, e.do(apiReq(http.MethodPost, "/api/v1/messages", libKey, libSecret, `{"to":{"userids":["T1001"]},"msgtype":"text","text":{"content":"y"}}`, "r-1")), http.StatusAccepted)

		w := e.do(apiReq(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", mine.ID), e.key, e.secret, "", ""))
		if w.Code != http.StatusOK {
			t.Fatalf("GET own message: %d %s", w.Code, w.Body)
		}
		var st notify.Status
		if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
			t.Fatal(err)
		}
		if st.ID != mine.ID || st.Producer != "api:oa" || len(st.Recipients) != 2 || st.Recipients[0].UserID != "T1001" || st.Recipients[1].Outcome != notify.OutcomeDelivered {
			t.Errorf("results %+v", st)
		}

		// Another system's message, one that does not exist, not an id: all 404.
		for _, path := range []string{fmt.Sprintf("/api/v1/messages/%d", theirs.ID), "/api/v1/messages/999", "/api/v1/messages/abc"} {
			a := answer(t, e.do(apiReq(http.MethodGet, path, e.key, e.secret, "", "")), http.StatusNotFound)
			if strings.Contains(a.Error, "library") {
				t.Errorf("%s: the refusal names the other system: %s", path, a.Error)
			}
		}
		// The library reads its own.
		answer(t, e.do(apiReq(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", theirs.ID), libKey, libSecret, "", "")), http.StatusOK)
		// oa rotates its key: the new key's retry of r-1 is the same message
		// (idempotency is per system), and the new key may read it.
		oaNew, oaNewSecret := e.newKey(t, "oa", "userids", apikey.Rate{})
		answer(t, e.do(apiReq(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", mine.ID), oaNew, oaNewSecret, "", "")), http.StatusNotFound)
		dup := answer(t, e.do(apiReq(http.MethodPost, "/api/v1/messages", oaNew, oaNewSecret, `{"to":{"userids":["T1001","S2024001"]},"msgtype":"text","text":{"content":"x"}}`, "r-1")), http.StatusAccepted)
		if dup.ID != mine.ID || !dup.Duplicate {
			t.Errorf("the new key's retry answered %+v, want message %d as a duplicate", dup, mine.ID)
		}
		answer(t, e.do(apiReq(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", mine.ID), oaNew, oaNewSecret, "", "")), http.StatusOK)

		// Signed the same way: a bad signature or a replay is refused.
		r := apiReq(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", mine.ID), e.key, e.secret, "", "")
		resign(r, libSecret, "")
		answer(t, e.do(r), http.StatusUnauthorized)
		r = apiReq(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", mine.ID), e.key, e.secret, "", "")
		answer(t, e.do(r.Clone(context.Background())), http.StatusOK)
		answer(t, e.do(r), http.StatusConflict)
	})
}

// TestAPINotConfigured: without keys or a message center there is no API.
func TestAPINotConfigured(t *testing.T) {
	db := storetest.SQLite(t)
	h, err := handler.New(handler.Deps{Logger: zap.NewNop(), DB: db})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/messages", strings.NewReader(apiText)))
	if w.Code != http.StatusNotFound {
		t.Errorf("POST /api/v1/messages without the API configured: %d", w.Code)
	}
}

// apiCoordDown is a coordination layer that does not answer.
type apiCoordDown struct{ coord.Store }

func (apiCoordDown) SetNX(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, fmt.Errorf("dial tcp 127.0.0.1:6379: connection refused")
}

func (apiCoordDown) Allow(context.Context, string, coord.Limit) (bool, time.Duration, error) {
	return false, 0, fmt.Errorf("dial tcp 127.0.0.1:6379: connection refused")
}

// TestAPICoordinationDown: with Redis down, nonces cannot be checked, so
// requests are not taken (a replay could pass): 503 with Retry-After, and
// the producer sends again with a fresh nonce.
func TestAPICoordinationDown(t *testing.T) {
	e := newAPIEnv(t, storetest.SQLite(t), apiCoordDown{coord.NewMemory(nil)}, nil)
	w := e.post(apiText, "down-1")
	answer(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if n := len(e.msgs.committed()); n != 0 {
		t.Errorf("%d messages taken without a nonce check", n)
	}
}
