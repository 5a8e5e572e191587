package wecomsim

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/wecom"
)

const webLoginBack = "https://h5.example.edu.cn/auth/wecom/callback?via=qr"

// webLoginEnv is a simulator whose hall app (1000002) trusts
// h5.example.edu.cn, with the web-login page mounted.
func webLoginEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(o *Options) { o.Apps[0].TrustedDomain = "h5.example.edu.cn" })
	// pageRoutes registers the page; registered here too until it does,
	// so this test does not depend on the order the two land in.
	if _, pattern := e.sim.pages.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/wwlogin/sso/login"}}); pattern == "" {
		e.sim.webLoginRoutes(e.sim.pages)
	}
	return e
}

func webLoginQuery(kv ...string) url.Values {
	q := url.Values{"login_type": {"CorpApp"}, "appid": {testCorpID}, "agentid": {"1000002"},
		"redirect_uri": {webLoginBack}, "state": {"st8x"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

// webLogin requests the page (or a link from it) and returns the status,
// the Location and the body.
func (e *env) webLogin(t *testing.T, link string, cookies ...*http.Cookie) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+link, nil)
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

// memberHref is the picker's link for userid, unescaped.
func memberHref(t *testing.T, page, userid string) string {
	t.Helper()
	m := regexp.MustCompile(`href="([^"]+)" data-userid="` + regexp.QuoteMeta(userid) + `"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page lists no %s", userid)
	}
	return html.UnescapeString(m[1])
}

func TestWebLoginPickerSignsInThePickedMember(t *testing.T) {
	e := webLoginEnv(t)
	status, _, page := e.webLogin(t, "/wwlogin/sso/login?"+webLoginQuery().Encode())
	if status != http.StatusOK {
		t.Fatalf("login page: %d\n%s", status, page)
	}
	for _, want := range []string{"登录「一站式服务」", "用企业微信扫码登录", `data-userid="wangfang"`, "王芳", `data-userid="lihua"`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(page, `data-userid="zhouqiang"`) {
		t.Error("a disabled member is offered")
	}

	// Search by name or by userid narrows the list.
	for _, q := range []string{"王芳", "wangf"} {
		_, _, found := e.webLogin(t, "/wwlogin/sso/login?"+webLoginQuery("q", q).Encode())
		if !strings.Contains(found, `data-userid="wangfang"`) || strings.Contains(found, `data-userid="lihua"`) {
			t.Errorf("search %q: want wangfang only", q)
		}
	}

	status, loc, body := e.webLogin(t, memberHref(t, page, "wangfang"))
	if status != http.StatusFound {
		t.Fatalf("picking wangfang: %d %s", status, body)
	}
	back, err := url.Parse(loc)
	if err != nil || back.Host != "h5.example.edu.cn" || back.Path != "/auth/wecom/callback" ||
		back.Query().Get("via") != "qr" || back.Query().Get("state") != "st8x" || back.Query().Get("code") == "" {
		t.Fatalf("redirected to %q, want the callback with its query, code and state", loc)
	}
	app := e.app()
	code := back.Query().Get("code")
	r := e.get("/cgi-bin/auth/getuserinfo", app, "code", code)
	want(t, r, 0)
	if r.str("userid") != "wangfang" || r.str("openid") != "" {
		t.Errorf("getuserinfo = %v, want wangfang", r)
	}
	want(t, e.get("/cgi-bin/auth/getuserinfo", app, "code", code), 40029) // single use
}

func TestWebLoginDeclineAndPhoneHolder(t *testing.T) {
	e := webLoginEnv(t)
	_, _, page := e.webLogin(t, "/wwlogin/sso/login?"+webLoginQuery().Encode(), &http.Cookie{Name: phoneCookie, Value: "lihua"})
	if !strings.Contains(page, `id="weblogin-holder"`) || !strings.Contains(page, "李华 扫码") {
		t.Error("the member holding the simulated phone is not offered first")
	}
	status, loc, _ := e.webLogin(t, "/wwlogin/sso/login?"+webLoginQuery("sim_cancel", "1").Encode())
	back, _ := url.Parse(loc)
	if status != http.StatusFound || back == nil || back.Query().Has("code") || back.Query().Get("state") != "st8x" {
		t.Errorf("declined login: %d %q, want the callback with state and no code", status, loc)
	}
}

func TestWebLoginRefusesBadLinks(t *testing.T) {
	e := webLoginEnv(t)
	for _, c := range []struct {
		name string
		q    url.Values
		code string
	}{
		{"wrong appid", webLoginQuery("appid", "wwother"), "40013"},
		{"no agentid", webLoginQuery("agentid", ""), "40056"},
		{"unknown agentid", webLoginQuery("agentid", "1000999"), "40056"},
		{"third-party login type", webLoginQuery("login_type", "ServiceApp"), "40058"},
		{"relative redirect", webLoginQuery("redirect_uri", "/auth/wecom/callback"), "40058"},
		{"redirect outside the trusted domain", webLoginQuery("redirect_uri", "https://evil.example.com/cb"), "50001"},
		{"trusted host, other port", webLoginQuery("redirect_uri", "https://h5.example.edu.cn:8443/cb"), "50001"},
		{"bad state", webLoginQuery("state", "a-b"), "84025"},
		{"disabled member", webLoginQuery("sim_userid", "zhouqiang"), "50002"},
		{"unknown member", webLoginQuery("sim_userid", "nobody"), "50002"},
		{"outside the app's visible range", webLoginQuery("agentid", "1000003", "sim_userid", "lihua"), "50002"},
	} {
		status, loc, body := e.webLogin(t, "/wwlogin/sso/login?"+c.q.Encode())
		if status < 400 || loc != "" || !strings.Contains(body, `<code id="errcode">`+c.code+`</code>`) {
			t.Errorf("%s: status %d, location %q, want the error page with errcode %s", c.name, status, loc, c.code)
		}
	}
	// The counselor app (1000003) sees wangfang: she can log in to it.
	status, loc, _ := e.webLogin(t, "/wwlogin/sso/login?"+webLoginQuery("agentid", "1000003", "sim_userid", "wangfang").Encode())
	if status != http.StatusFound || !strings.Contains(loc, "code=") {
		t.Errorf("wangfang to the counselor app: %d %q", status, loc)
	}
}

// TestWebLoginRoundTripWithTheClient: the link wecom.Client.WebLoginURL
// builds opens this page, and the code the redirect brings back is what
// the client's GetUserInfo turns into the member's userid, once.
func TestWebLoginRoundTripWithTheClient(t *testing.T) {
	e := webLoginEnv(t)
	corp, err := wecom.New(wecom.Options{
		BaseURL: e.srv.URL, LoginBaseURL: e.srv.URL, CorpID: testCorpID,
		Apps:       []wecom.AppConfig{{Name: "hall", AgentID: 1000002, Secret: appSecret}},
		Registerer: prometheus.NewRegistry(), Retry: wecom.RetryPolicy{MaxAttempts: 1}, Now: e.sim.Now,
		HTTPTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	hall, err := corp.App("hall")
	if err != nil {
		t.Fatal(err)
	}
	link, err := hall.WebLoginURL(webLoginBack, "qr1")
	if err != nil {
		t.Fatal(err)
	}
	page := strings.TrimPrefix(link, e.srv.URL)
	status, _, body := e.webLogin(t, page)
	if status != http.StatusOK {
		t.Fatalf("client's link opened %d: %s", status, body)
	}
	status, loc, _ := e.webLogin(t, memberHref(t, body, "liuyang"))
	back, _ := url.Parse(loc)
	if status != http.StatusFound || back == nil || back.Query().Get("state") != "qr1" {
		t.Fatalf("picking liuyang: %d %q", status, loc)
	}
	id, err := hall.GetUserInfo(context.Background(), back.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != "liuyang" {
		t.Errorf("identity = %+v, want liuyang", id)
	}
	if _, err := hall.GetUserInfo(context.Background(), back.Query().Get("code")); !wecom.IsCode(err, wecom.CodeInvalidCode) {
		t.Errorf("second exchange: %v, want 40029", err)
	}
}
