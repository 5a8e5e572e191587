package wecomsim

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// noRedirect is a client that stops at the first redirect.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize requests the authorize page and returns the status, the
// Location and the body.
func (e *env) authorize(t *testing.T, q url.Values, cookies ...*http.Cookie) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/connect/oauth2/authorize?"+q.Encode(), nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func authQuery(redirect string, kv ...string) url.Values {
	q := url.Values{"appid": {testCorpID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"snsapi_base"}, "state": {"abc123"}, "agentid": {"1000002"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

func TestOAuthAuthorizeShortcut(t *testing.T) {
	rc := newAppRcv(t, nil)
	e := newEnv(t, withAppCallbacks(rc))
	app := e.app()
	home := rc.srv.URL + "/home?x=1"

	status, loc, _ := e.authorize(t, authQuery(home, "sim_userid", "wangfang"))
	if status != http.StatusFound {
		t.Fatalf("status %d, want 302", status)
	}
	u, _ := url.Parse(loc)
	if !strings.HasPrefix(loc, rc.srv.URL+"/home?x=1&code=") || u.Query().Get("state") != "abc123" {
		t.Fatalf("redirect %q", loc)
	}
	code := u.Query().Get("code")
	if code == "" || len(code) > 512 {
		t.Fatalf("code %q", code)
	}
	r := e.get("/cgi-bin/auth/getuserinfo", app, "code", code)
	want(t, r, 0)
	if r.str("userid") != "wangfang" || r.str("user_ticket") != "" || r.str("openid") != "" {
		t.Errorf("getuserinfo = %v", r)
	}
	want(t, e.get("/cgi-bin/auth/getuserinfo", app, "code", code), 40029) // single use

	// Expiry after 5 minutes on the simulator clock.
	_, loc, _ = e.authorize(t, authQuery(home, "sim_userid", "lihua"))
	code = mustQuery(t, loc, "code")
	e.sim.Advance(OAuthCodeTTL)
	app = e.app()
	want(t, e.get("/cgi-bin/auth/getuserinfo", app, "code", code), 40029)
	_, loc, _ = e.authorize(t, authQuery(home, "sim_userid", "lihua"))
	code = mustQuery(t, loc, "code")
	e.sim.Advance(OAuthCodeTTL - time.Second)
	want(t, e.get("/cgi-bin/auth/getuserinfo", app, "code", code), 0)

	// A visitor who is no member gets an openid; state may be empty.
	_, loc, _ = e.authorize(t, authQuery(home, "sim_openid", "oVisitor42", "state", ""))
	if mustQuery(t, loc, "state") != "" {
		t.Errorf("empty state came back as %q", mustQuery(t, loc, "state"))
	}
	r = e.get("/cgi-bin/auth/getuserinfo", app, "code", mustQuery(t, loc, "code"))
	if r.str("openid") != "oVisitor42" || r.str("userid") != "" {
		t.Errorf("visitor = %v", r)
	}

	want(t, e.get("/cgi-bin/auth/getuserinfo", app), 41008)
	want(t, e.get("/cgi-bin/auth/getuserinfo", e.contacts(), "code", "x"), 48002)
}

func mustQuery(t *testing.T, loc, k string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("code") == "" {
		t.Fatalf("redirect %q has no code", loc)
	}
	return u.Query().Get(k)
}

func TestOAuthAuthorizeErrors(t *testing.T) {
	rc := newAppRcv(t, nil)
	e := newEnv(t, withAppCallbacks(rc))
	home := rc.srv.URL + "/home"
	tests := []struct {
		name string
		q    url.Values
		code string
	}{
		{"state with punctuation", authQuery(home, "state", "a-b"), "84025"},
		{"state over 128 bytes", authQuery(home, "state", strings.Repeat("a", 129)), "84025"},
		{"another corp's appid", authQuery(home, "appid", "wwother"), "40013"},
		{"relative redirect_uri", authQuery("/home"), "40058"},
		{"javascript redirect_uri", authQuery("javascript:alert(1)"), "40058"},
		{"response_type token", authQuery(home, "response_type", "token"), "40058"},
		{"unknown scope", authQuery(home, "scope", "snsapi_userinfo"), "40058"},
		{"unknown agentid", authQuery(home, "agentid", "42"), "40056"},
		{"disabled member", authQuery(home, "sim_userid", "zhouqiang"), "50002"},
		{"privateinfo outside the visible range", authQuery(home, "agentid", "1000003", "scope", "snsapi_privateinfo", "sim_userid", "lihua"), "50002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, loc, body := e.authorize(t, tt.q)
			if status < 400 || loc != "" {
				t.Fatalf("status %d, location %q: want an error page", status, loc)
			}
			if !strings.Contains(body, `<code id="errcode">`+tt.code+`</code>`) {
				t.Errorf("error page lacks errcode %s:\n%s", tt.code, body)
			}
		})
	}
}

func TestOAuthTrustedDomainAndTickets(t *testing.T) {
	rc := newAppRcv(t, nil)
	e := newEnv(t, withAppCallbacks(rc))
	app, counselor := e.app(), e.counselor()

	// A redirect outside the trusted domain (another port) gets a code,
	// but getuserinfo answers 50001 and leaves the code usable.
	other := strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1) + "/home"
	_, loc, _ := e.authorize(t, authQuery(other, "sim_userid", "lihua"))
	code := mustQuery(t, loc, "code")
	want(t, e.get("/cgi-bin/auth/getuserinfo", app, "code", code), 50001)
	e.sim.mu.Lock()
	e.sim.apps[1000002].TrustedDomain = ""
	e.sim.mu.Unlock()
	want(t, e.get("/cgi-bin/auth/getuserinfo", app, "code", code), 0)

	home := rc.srv.URL + "/home"
	// snsapi_privateinfo, member in range: a user_ticket for getuserdetail.
	_, loc, _ = e.authorize(t, authQuery(home, "scope", "snsapi_privateinfo", "agentid", "1000003", "sim_userid", "wangfang"))
	r := e.get("/cgi-bin/auth/getuserinfo", counselor, "code", mustQuery(t, loc, "code"))
	want(t, r, 0)
	ticket := r.str("user_ticket")
	if r.str("userid") != "wangfang" || ticket == "" {
		t.Fatalf("privateinfo = %v", r)
	}
	d := e.post("/cgi-bin/auth/getuserdetail", counselor, obj{"user_ticket": ticket})
	want(t, d, 0)
	if d.str("userid") != "wangfang" || d.str("mobile") != "13800000003" || d.str("gender") != "2" || d.str("email") != "wangfang@example.edu.cn" || d.str("qr_code") == "" {
		t.Errorf("getuserdetail = %v", d)
	}
	want(t, e.post("/cgi-bin/auth/getuserdetail", app, obj{"user_ticket": ticket}), 84015) // another app's ticket
	want(t, e.post("/cgi-bin/auth/getuserdetail", counselor, obj{"user_ticket": "nope"}), 84015)
	want(t, e.post("/cgi-bin/auth/getuserdetail", counselor, obj{}), 84015)
	e.sim.Advance(UserTicketTTL)
	want(t, e.post("/cgi-bin/auth/getuserdetail", e.counselor(), obj{"user_ticket": ticket}), 84014)

	// snsapi_base outside the visible range: the userid, no ticket.
	_, loc, _ = e.authorize(t, authQuery(home, "agentid", "1000003", "sim_userid", "lihua"))
	r = e.get("/cgi-bin/auth/getuserinfo", e.counselor(), "code", mustQuery(t, loc, "code"))
	if r.str("userid") != "lihua" || r.str("user_ticket") != "" {
		t.Errorf("outside the range = %v", r)
	}
	// privateinfo without agentid counts as snsapi_base.
	_, loc, _ = e.authorize(t, authQuery(home, "agentid", "", "scope", "snsapi_privateinfo", "sim_userid", "lihua"))
	r = e.get("/cgi-bin/auth/getuserinfo", e.app(), "code", mustQuery(t, loc, "code"))
	if r.str("userid") != "lihua" || r.str("user_ticket") != "" {
		t.Errorf("privateinfo without agentid = %v", r)
	}
	// The admin shortcut.
	ac := e.post(AdminPrefix+"oauth/code", "", obj{"userid": "lihua", "agentid": 1000002})
	want(t, e.get("/cgi-bin/auth/getuserinfo", e.app(), "code", ac.str("code")), 0)
}

func TestOAuthPickerPage(t *testing.T) {
	rc := newAppRcv(t, nil)
	e := newEnv(t, withAppCallbacks(rc))
	home := rc.srv.URL + "/home"
	status, loc, body := e.authorize(t, authQuery(home))
	if status != http.StatusOK || loc != "" {
		t.Fatalf("picker: status %d, location %q", status, loc)
	}
	for _, s := range []string{`data-userid="lihua"`, `data-userid="s2023005"`, "计算机学院", "一站式服务", `name="sim_openid"`, `<span class="badge wechat">微信</span>`} {
		if !strings.Contains(body, s) {
			t.Errorf("picker lacks %q", s)
		}
	}
	for _, s := range []string{`data-userid="zhouqiang"`, `data-userid="wuming"`, `src="http`, `stylesheet" href="http`} {
		if strings.Contains(body, s) {
			t.Errorf("picker has %q (disabled members, or something loaded from elsewhere)", s)
		}
	}
	// The server-side search (no JavaScript).
	_, _, body = e.authorize(t, authQuery(home, "q", "王芳"))
	if !strings.Contains(body, `data-userid="wangfang"`) || strings.Contains(body, `data-userid="lihua"`) {
		t.Error("search for 王芳 does not narrow the list")
	}
	// Whoever holds the phone is logged in silently.
	status, loc, _ = e.authorize(t, authQuery(home), &http.Cookie{Name: phoneCookie, Value: "lihua"})
	if status != http.StatusFound {
		t.Fatalf("with the phone cookie: %d", status)
	}
	r := e.get("/cgi-bin/auth/getuserinfo", e.app(), "code", mustQuery(t, loc, "code"))
	if r.str("userid") != "lihua" {
		t.Errorf("phone holder = %v", r)
	}
	// …but not for snsapi_privateinfo (consent) or with sim_pick.
	for _, q := range []url.Values{authQuery(home, "scope", "snsapi_privateinfo"), authQuery(home, "sim_pick", "1")} {
		if status, _, _ := e.authorize(t, q, &http.Cookie{Name: phoneCookie, Value: "lihua"}); status != http.StatusOK {
			t.Errorf("%s: HTTP %d, want the picker", q.Encode(), status)
		}
	}
}
