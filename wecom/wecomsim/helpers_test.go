package wecomsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/wecom"
)

// Test credentials. The apps: 1000002 sees the whole corp; 1000003 (the
// counselor app) sees 软件工程系 (4, with class 8), zhaolei, and tag 1
// (wangfang).
const (
	testCorpID     = "wwtestcorp0000001"
	testSecret     = "contacts-secret"
	appSecret      = "app-secret-whole-corp"
	counselorSecre = "app-secret-counselor"
	testToken      = "cbtoken"
	testAESKey     = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

var testBase = time.Date(2024, 9, 1, 8, 0, 0, 0, time.UTC)

type env struct {
	t   *testing.T
	sim *Sim
	srv *httptest.Server
}

// newEnv starts a simulator with the test fixture behind httptest.
func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	opts := Options{
		CorpID:        testCorpID,
		ContactSecret: testSecret,
		Clock:         func() time.Time { return testBase },
		Apps: []App{
			{AgentID: 1000002, Name: "一站式服务", Secret: appSecret},
			{AgentID: 1000003, Name: "辅导员助手", Secret: counselorSecre,
				Visible: Visible{Departments: []int64{4}, Users: []string{"zhaolei"}, Tags: []int64{1}}},
		},
		CallbackTimeout: 2 * time.Second,
	}
	for _, m := range mutate {
		m(&opts)
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return &env{t: t, sim: s, srv: srv}
}

// resp is a decoded API answer.
type resp map[string]any

func (r resp) code() int {
	v, _ := r["errcode"].(float64)
	return int(v)
}

func (r resp) str(k string) string {
	v, _ := r[k].(string)
	return v
}

func (e *env) do(method, path string, query url.Values, body []byte, contentType string) (int, []byte) {
	e.t.Helper()
	u := e.srv.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (e *env) decode(status int, b []byte) resp {
	e.t.Helper()
	if status != http.StatusOK {
		e.t.Fatalf("HTTP %d: %s", status, b)
	}
	var r resp
	if err := json.Unmarshal(b, &r); err != nil {
		e.t.Fatalf("decode %s: %v", b, err)
	}
	return r
}

// get calls a GET API with the token and query pairs ("k", "v", ...).
func (e *env) get(path, token string, kv ...string) resp {
	e.t.Helper()
	q := url.Values{}
	if token != "" {
		q.Set("access_token", token)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return e.decode(e.do(http.MethodGet, path, q, nil, ""))
}

// post calls a POST API with a JSON body (a string is sent verbatim).
func (e *env) post(path, token string, body any) resp {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case nil:
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	q := url.Values{}
	if token != "" {
		q.Set("access_token", token)
	}
	return e.decode(e.do(http.MethodPost, path, q, b, "application/json"))
}

// token fetches an access token for secret.
func (e *env) token(secret string) string {
	e.t.Helper()
	r := e.get("/cgi-bin/gettoken", "", "corpid", testCorpID, "corpsecret", secret)
	if r.code() != 0 {
		e.t.Fatalf("gettoken: %v", r)
	}
	return r.str("access_token")
}

func (e *env) contacts() string  { return e.token(testSecret) }
func (e *env) app() string       { return e.token(appSecret) }
func (e *env) counselor() string { return e.token(counselorSecre) }

// want fails unless r has errcode code.
func want(t *testing.T, r resp, code int) {
	t.Helper()
	if r.code() != code {
		t.Fatalf("errcode %d, want %d: %v", r.code(), code, r)
	}
}

// receiver is an httptest callback receiver that decrypts what it gets.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	crypt  *wecom.Crypter
	mu     sync.Mutex
	events []*wecom.Event
	hits   int
	// answer decides the response of the n-th request (1-based); nil = 200.
	answer func(n int, w http.ResponseWriter)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	c, err := wecom.NewCrypter(testToken, testAESKey, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, crypt: c, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := r.URL.RawQuery
		msg, err := c.Open(wecom.QueryValue(q, "msg_signature"), wecom.QueryValue(q, "timestamp"), wecom.QueryValue(q, "nonce"), body)
		rc.mu.Lock()
		rc.hits++
		n := rc.hits
		if err == nil {
			if ev, perr := wecom.ParseEvent(msg); perr == nil {
				rc.events = append(rc.events, ev)
			} else {
				t.Errorf("parse callback: %v", perr)
			}
		} else {
			t.Errorf("open callback: %v", err)
		}
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w)
			return
		}
		_, _ = w.Write([]byte("success"))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) config() Receiver {
	return Receiver{URL: rc.srv.URL + "/callback", Token: testToken, EncodingAESKey: testAESKey}
}

func (rc *receiver) got() []*wecom.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*wecom.Event(nil), rc.events...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.hits
}

// flush waits for callbacks (and jobs) with a deadline.
func (e *env) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.sim.WaitJobs(ctx); err != nil {
		e.t.Fatalf("WaitJobs: %v", err)
	}
	if err := e.sim.Flush(ctx); err != nil {
		e.t.Fatalf("Flush: %v", err)
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		switch y := x.(type) {
		case string:
			out = append(out, y)
		default:
			b, _ := json.Marshal(y)
			out = append(out, strings.Trim(string(b), `"`))
		}
	}
	return out
}
