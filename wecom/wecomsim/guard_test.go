package wecomsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// adminReq sends a request to the admin API with the given headers.
func (e *env) adminReq(method, path, body string, header map[string]string) (int, string) {
	e.t.Helper()
	return e.reqPath(method, AdminPrefix+path, body, header)
}

// reqPath sends a request to any path of the simulator.
func (e *env) reqPath(method, path, body string, header map[string]string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// A web page the developer visits must not be able to make a member text
// the app: browsers send text/plain (and form) POSTs cross-site without a
// preflight.
func TestAdminTakesJSONOnly(t *testing.T) {
	app := newReceiver(t, nil)
	e := newEnv(t, func(o *Options) {
		o.Apps[0].CallbackURL, o.Apps[0].Token, o.Apps[0].EncodingAESKey = app.config().URL, testToken, testAESKey
	})
	text := `{"userid":"lihua","agentid":1000002,"content":"help"}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		status, body := e.adminReq(http.MethodPost, "members/text", text, map[string]string{"Content-Type": ct})
		if status != http.StatusUnsupportedMediaType || !strings.Contains(body, "application/json") {
			t.Errorf("Content-Type %q: HTTP %d %q, want 415 naming application/json", ct, status, body)
		}
	}
	if status, _ := e.adminReq(http.MethodPost, "reset", "", nil); status != http.StatusUnsupportedMediaType {
		t.Errorf("POST without a Content-Type: HTTP %d, want 415", status)
	}
	e.flush()
	if n := app.count(); n != 0 {
		t.Fatalf("refused requests sent %d callbacks", n)
	}
	if status, body := e.adminReq(http.MethodPost, "members/text", text, map[string]string{"Content-Type": "application/json; charset=utf-8"}); status != 200 {
		t.Fatalf("JSON: HTTP %d %s", status, body)
	}
	if n := app.count(); n != 1 {
		t.Fatalf("JSON request: %d callbacks, want 1", n)
	}
	if status, _ := e.adminReq(http.MethodGet, "snapshot", "", nil); status != 200 {
		t.Errorf("GET needs no Content-Type: HTTP %d", status)
	}
}

func TestAdminRefusesCrossOrigin(t *testing.T) {
	e := newEnv(t)
	body := `{"userid":"lihua","agentid":1000002,"content":"hi"}`
	json := map[string]string{"Content-Type": "application/json"}
	for name, h := range map[string]map[string]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
		"Origin of another site":    {"Origin": "https://evil.example"},
	} {
		for k, v := range json {
			h[k] = v
		}
		if status, _ := e.adminReq(http.MethodPost, "members/text", body, h); status != http.StatusForbidden {
			t.Errorf("%s: HTTP %d, want 403", name, status)
		}
		if status, _ := e.adminReq(http.MethodDelete, "faults", "", h); status != http.StatusForbidden {
			t.Errorf("%s DELETE: HTTP %d, want 403", name, status)
		}
	}
	same := map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL}
	if status, b := e.adminReq(http.MethodPost, "members/text", body, same); status != 200 {
		t.Fatalf("same-origin: HTTP %d %s", status, b)
	}
	// The phone page's forms are guarded the same way.
	status, _ := e.reqPath(http.MethodPost, "/phone/u/lihua/text", "agentid=1000002&content=x",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"})
	if status != http.StatusForbidden {
		t.Errorf("cross-site phone form: HTTP %d, want 403", status)
	}
}

// contact-callback accepts only receivers the simulator was configured
// with: anything else would let any local page or process aim its signed
// POSTs at an arbitrary host.
func TestContactCallbackRefusesOtherURLs(t *testing.T) {
	rc, other := newReceiver(t, nil), newReceiver(t, nil)
	e := newEnv(t, withReceiver(rc))
	json := map[string]string{"Content-Type": "application/json"}
	for _, u := range []string{other.config().URL, "http://169.254.169.254/latest/meta-data", "file:///etc/passwd"} {
		b, _ := jsonMarshal(Receiver{URL: u, Token: testToken, EncodingAESKey: testAESKey})
		status, body := e.adminReq(http.MethodPost, "contact-callback", b, json)
		if status != http.StatusForbidden || !strings.Contains(body, "callback_urls") {
			t.Errorf("%s: HTTP %d %q, want 403 naming simulator.callback_urls", u, status, body)
		}
	}
	if err := e.sim.SetContactCallback(other.config()); !errors.Is(err, ErrCallbackURL) {
		t.Errorf("SetContactCallback(other) = %v", err)
	}
	must(t, e.sim.AdminDeleteUser("lihua"))
	e.flush()
	if rc.count() != 1 || other.count() != 0 {
		t.Fatalf("callbacks: configured %d, other %d", rc.count(), other.count())
	}
	b, _ := jsonMarshal(rc.config())
	if status, body := e.adminReq(http.MethodPost, "contact-callback", b, json); status != 200 {
		t.Errorf("the configured receiver: HTTP %d %s", status, body)
	}
	if status, _ := e.adminReq(http.MethodPost, "contact-callback", `{"url":""}`, json); status != 200 {
		t.Errorf("switching callbacks off: HTTP %d", status)
	}

	t.Run("a batch job's callback URL too", func(t *testing.T) {
		tok := e.contacts()
		cb := other.config()
		want(t, e.submit(tok, "syncuser", memberCSV+"李华,lihua2,13900000001,,2,,,,,,,,,\n", &cb), 0)
		e.flush()
		if other.count() != 0 {
			t.Fatal("batch_job_result went to a URL nobody configured")
		}
		ds := e.sim.Deliveries()
		last := ds[len(ds)-1]
		if last.Kind != "batch_job_result" || last.Delivered || !strings.HasPrefix(last.Error, "refused") {
			t.Fatalf("delivery log %+v", last)
		}
	})
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func TestPublicBanner(t *testing.T) {
	for _, public := range []bool{false, true} {
		e := newEnv(t, func(o *Options) { o.Public = public })
		status, body := e.do(http.MethodGet, "/phone", nil, nil, "")
		if status != 200 {
			t.Fatalf("phone page: HTTP %d", status)
		}
		if got := strings.Contains(string(body), PublicBanner); got != public {
			t.Errorf("Public %v: banner shown %v", public, got)
		}
		if public {
			status, body = e.do(http.MethodGet, "/phone/u/lihua", nil, nil, "")
			if status != 200 || !strings.Contains(string(body), PublicBanner) {
				t.Errorf("inbox page: HTTP %d, banner %v", status, strings.Contains(string(body), PublicBanner))
			}
		}
	}
}

// Receivers refuse timestamps far from their clock, so every attempt —
// retries minutes later included — is signed with the wall-clock time,
// whatever the simulator's own clock says (here: 2024).
func TestCallbacksSignedWithWallClock(t *testing.T) {
	var mu sync.Mutex
	var stamps, nonces []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stamps = append(stamps, r.URL.Query().Get("timestamp"))
		nonces = append(nonces, r.URL.Query().Get("nonce"))
		n := len(stamps)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	e := newEnv(t, func(o *Options) {
		o.ContactCallback = Receiver{URL: srv.URL + "/cb", Token: testToken, EncodingAESKey: testAESKey}
	})
	must(t, e.sim.AdminDeleteUser("lihua"))
	e.flush()
	mu.Lock()
	defer mu.Unlock()
	if len(stamps) != 3 {
		t.Fatalf("%d attempts", len(stamps))
	}
	for i, s := range stamps {
		ts, err := strconv.ParseInt(s, 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("attempt %d signed at %q, not now", i+1, s)
		}
	}
	if nonces[0] == nonces[1] || nonces[1] == nonces[2] {
		t.Errorf("attempts reuse a nonce: %v", nonces)
	}
	for _, d := range e.sim.Deliveries() {
		if !d.Time.Equal(testBase) {
			t.Errorf("delivery log keeps the simulator clock: %v", d.Time)
		}
	}
}
