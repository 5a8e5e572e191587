package handler_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/guest"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/sms/smssim"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// Off-campus sign-in over HTTP: the number, the text in the simulated
// gateway, the code, the session, the return path.

type guestEnv struct {
	url      string
	db       *store.DB
	sessions *auth.Sessions
}

// startGuest serves the pages with a guest service (unless off), the
// simulated gateway at /smssim, and /whoami: the session's principal as
// JSON, read through the same session manager.
func startGuest(t *testing.T, off bool) *guestEnv {
	t.Helper()
	db := storetest.SQLite(t)
	co := coord.NewMemory(nil)
	sessions, err := auth.New(auth.Options{Coord: co})
	if err != nil {
		t.Fatal(err)
	}
	sim := smssim.New(smssim.Options{BasePath: "/smssim"})
	var svc *guest.Service
	if !off {
		svc, err = guest.New(guest.Options{Coord: co, SMS: sim, Template: "1001",
			Audit: func(ctx context.Context, e store.AuditEntry) error { return db.InsertAudit(ctx, nil, e) }})
		if err != nil {
			t.Fatal(err)
		}
	}
	h, err := handler.New(handler.Deps{Logger: zap.NewNop(), DB: db, Coord: co, Metrics: prometheus.NewRegistry(),
		Title: "海滨大学 一站式服务", Sessions: sessions, SMSSim: sim.Handler(), SMSSimMount: "/smssim", Guest: svc})
	if err != nil {
		t.Fatal(err)
	}
	whoami := sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := sessions.Current(r.Context())
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(p)
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/whoami" {
			whoami.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &guestEnv{url: srv.URL, db: db, sessions: sessions}
}

func guestBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// textedCode reads the newest code the number received from the
// simulated gateway's API, as a test phone would.
func (e *guestEnv) textedCode(t *testing.T, c *http.Client, e164 string) string {
	t.Helper()
	resp, err := c.Get(e.url + "/smssim/api/messages?mobile=" + url.QueryEscape(e164))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Messages []smssim.Text `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got.Messages) == 0 {
		t.Fatalf("gateway: %v, %d texts for %s", err, len(got.Messages), e164)
	}
	m := got.Messages[0]
	if !strings.Contains(m.Text, "您的验证码为"+m.Params[0]+"，5分钟内有效。如非本人操作请忽略。") {
		t.Fatalf("text %q", m.Text)
	}
	return m.Params[0]
}

func (e *guestEnv) whoami(t *testing.T, c *http.Client) (auth.Principal, bool) {
	t.Helper()
	resp, err := c.Get(e.url + "/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p auth.Principal
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&p) != nil {
		return p, false
	}
	return p, true
}

func requestCode(t *testing.T, e *guestEnv, c *http.Client, mobile, ret string) (int, string) {
	t.Helper()
	resp := post(t, c, e.url+"/guest/code", url.Values{"mobile": {mobile}, "return": {ret}})
	return resp.StatusCode, body(t, resp)
}

func guestSignIn(t *testing.T, e *guestEnv, c *http.Client, mobile, code, ret string) *http.Response {
	t.Helper()
	return post(t, c, e.url+"/guest/login", url.Values{"mobile": {mobile}, "code": {code}, "return": {ret}})
}

func TestGuestSignsInWithTextedCode(t *testing.T) {
	e := startGuest(t, false)
	c := guestBrowser()
	const ret = "/hall/apps/42?tab=mine"

	resp, err := c.Get(e.url + "/guest/login?return=" + url.QueryEscape(ret))
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/guest/code"`) || !strings.Contains(page, `name="return" value="/hall/apps/42?tab=mine"`) ||
		!strings.Contains(page, `href="/login?return=%2fhall%2fapps%2f42%3ftab%3dmine"`) {
		t.Fatalf("login page %d:\n%s", resp.StatusCode, page)
	}

	status, page := requestCode(t, e, c, "139 1234 5678", ret)
	if status != http.StatusOK || !strings.Contains(page, "验证码已发送至 139****5678") || !strings.Contains(page, `data-testid="guest-code"`) ||
		!strings.Contains(page, `action="/guest/login"`) {
		t.Fatalf("after requesting a code %d:\n%s", status, page)
	}
	code := e.textedCode(t, c, "+8613912345678")

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	resp = guestSignIn(t, e, c, "139 1234 5678", wrong, ret)
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="field-error">验证码不正确，还可以再试 4 次。`) {
		t.Fatalf("wrong code %d:\n%s", resp.StatusCode, page)
	}
	if _, ok := e.whoami(t, c); ok {
		t.Fatal("a wrong code signed in")
	}

	resp = guestSignIn(t, e, c, "139 1234 5678", code, ret)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != ret {
		t.Fatalf("sign-in %d to %q; want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), ret)
	}
	resp.Body.Close()
	p, ok := e.whoami(t, c)
	if !ok || p.UserID != "guest:+8613912345678" || p.Source != auth.SourcePhone || p.Name != "139****5678" || !guest.IsGuest(p) {
		t.Fatalf("session principal %+v, %v", p, ok)
	}
	// Signed in: the login page sends the guest on.
	resp, err = c.Get(e.url + "/guest/login?return=/hall/")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hall/" {
		t.Errorf("login page when signed in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp.Body.Close()

	// The code is spent: another browser cannot use it.
	other := guestBrowser()
	resp = guestSignIn(t, e, other, "13912345678", code, ret)
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "验证码已失效") {
		t.Errorf("reused code %d:\n%s", resp.StatusCode, page)
	}
	if _, ok := e.whoami(t, other); ok {
		t.Error("a reused code signed in")
	}

	rows, err := e.db.ListAudit(context.Background(), store.AuditFilter{Action: "guest."})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action)
		if r.Object != "guest/139****5678" || strings.Contains(r.After, "13912345678") || r.IP != "127.0.0.1" {
			t.Errorf("audit row %+v", r)
		}
	}
	if got := strings.Join(actions, " "); got != "guest.no_code guest.signed_in guest.code_wrong guest.code_sent" {
		t.Errorf("audit (newest first) %s", got)
	}
}

func TestGuestFormRefusals(t *testing.T) {
	e := startGuest(t, false)
	c := guestBrowser()

	status, page := requestCode(t, e, c, "010-62751234", "/hall/")
	if status != http.StatusBadRequest || !strings.Contains(page, `data-testid="field-error">这不是手机号`) || strings.Contains(page, `data-testid="guest-code"`) {
		t.Errorf("landline %d:\n%s", status, page)
	}
	status, page = requestCode(t, e, c, "", "/hall/")
	if status != http.StatusBadRequest || !strings.Contains(page, "请填写手机号。") {
		t.Errorf("no number %d", status)
	}

	if status, page := requestCode(t, e, c, "13800138000", "/hall/"); status != http.StatusOK {
		t.Fatalf("first code %d:\n%s", status, page)
	}
	resp := post(t, c, e.url+"/guest/code", url.Values{"mobile": {"13800138000"}})
	page = body(t, resp)
	wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || wait < 1 || wait > 60 ||
		!strings.Contains(page, `data-testid="guest-wait" data-seconds="`+strconv.Itoa(wait)+`">请 `+strconv.Itoa(wait)+` 秒后再试`) {
		t.Errorf("second code within a minute: %d, Retry-After %q:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), page)
	}

	// Asked again from the code step, the code field stays: the code sent
	// first still works.
	resp = post(t, c, e.url+"/guest/code", url.Values{"mobile": {"13800138000"}, "step": {"code"}})
	if page := body(t, resp); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, `data-testid="guest-code"`) {
		t.Errorf("resend within a minute: %d:\n%s", resp.StatusCode, page)
	}

	// A return path elsewhere is not followed.
	code := e.textedCode(t, c, "+8613800138000")
	resp = guestSignIn(t, e, c, "13800138000", code, "//evil.example/hall/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hall/" {
		t.Errorf("foreign return: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp.Body.Close()

	// Cross-site posts are refused like every other form's.
	resp = post(t, guestBrowser(), e.url+"/guest/code", url.Values{"mobile": {"13700137000"}}, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestGuestPagesOffWithoutService(t *testing.T) {
	e := startGuest(t, true)
	c := guestBrowser()
	resp, err := c.Get(e.url + "/guest/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /guest/login: %d", resp.StatusCode)
	}
	if status, _ := requestCode(t, e, c, "13912345678", "/hall/"); status != http.StatusNotFound {
		t.Errorf("POST /guest/code: %d", status)
	}
}

// TestAGuestIsNoMember: a guest's session opens neither the workbench nor
// member-only posts; the member sign-in page is shown to them, not skipped.
func TestAGuestIsNoMember(t *testing.T) {
	e := startGuest(t, false)
	c := guestBrowser()
	requestCode(t, e, c, "13912345678", "/hall/")
	code := e.textedCode(t, c, "+8613912345678")
	guestSignIn(t, e, c, "13912345678", code, "/hall/").Body.Close()
	if _, ok := e.whoami(t, c); !ok {
		t.Fatal("not signed in")
	}
	resp, _ := c.Get(e.url + "/app/")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login?return=") {
		t.Fatalf("/app/ as guest: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = c.Get(e.url + "/login?return=" + url.QueryEscape("/app/"))
	b := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, `data-testid="login"`) {
		t.Fatalf("/login as guest: %d", resp.StatusCode)
	}
	resp = post(t, c, e.url+"/app/fav", url.Values{"module": {"x"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /app/fav as guest: %d", resp.StatusCode)
	}
}
