package wecom_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

func TestOAuthGetUserInfo(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	issue := func(l wecomsim.OAuthLogin) string {
		t.Helper()
		code, err := e.sim.IssueOAuthCode(l)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}

	member := issue(wecomsim.OAuthLogin{UserID: "wangfang", AgentID: hallAgentID})
	id, err := hall.GetUserInfo(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	if !id.IsMember() || id.UserID != "wangfang" || id.OpenID != "" || id.UserTicket != "" {
		t.Errorf("member identity = %+v", id)
	}
	// A code is single-use.
	if _, err := hall.GetUserInfo(ctx, member); !wecom.IsCode(err, wecom.CodeInvalidCode) {
		t.Errorf("reused code: %v, want 40029", err)
	}

	visitor := issue(wecomsim.OAuthLogin{OpenID: "oVisitor001"})
	id, err = hall.GetUserInfo(ctx, visitor)
	if err != nil {
		t.Fatal(err)
	}
	if id.IsMember() || id.OpenID != "oVisitor001" {
		t.Errorf("visitor identity = %+v", id)
	}

	private := issue(wecomsim.OAuthLogin{UserID: "lihua", AgentID: hallAgentID, Scope: wecom.ScopePrivateInfo})
	id, err = hall.GetUserInfo(ctx, private)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserTicket == "" {
		t.Fatalf("snsapi_privateinfo gave no user_ticket: %+v", id)
	}
	d, err := hall.GetUserDetail(ctx, id.UserTicket)
	if err != nil {
		t.Fatal(err)
	}
	if d.UserID != "lihua" || d.Mobile != "13800000002" {
		t.Errorf("detail = %+v", d)
	}
	e.clock.Add(31 * time.Minute) // user_ticket lives 1800 s
	if _, err := hall.GetUserDetail(ctx, id.UserTicket); !wecom.IsCode(err, 84014) {
		t.Errorf("expired ticket: %v, want 84014", err)
	}
}

// TestOAuthCodeNotResentWhenUncertain: WeCom consumes a code on first
// sight, so a lost answer must not be followed by a second exchange.
func TestOAuthCodeNotResentWhenUncertain(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	if _, err := hall.GetUser(ctx, "lihua"); err != nil { // token and connection in place
		t.Fatal(err)
	}
	code, err := e.sim.IssueOAuthCode(wecomsim.OAuthLogin{UserID: "lihua", AgentID: hallAgentID})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/auth/getuserinfo", Status: 502, Times: 1})
	if _, err := hall.GetUserInfo(ctx, code); !wecom.Uncertain(err) {
		t.Errorf("err = %v, want an uncertain failure", err)
	}
	if n := e.calls("/cgi-bin/auth/getuserinfo"); n != 1 {
		t.Errorf("%d getuserinfo calls, want 1", n)
	}
}

// TestOAuthAuthorizeURLRoundTrip follows the authorize link on the
// simulator's page (as a member already signed in on the simulated phone)
// back to the redirect, then exchanges the code.
func TestOAuthAuthorizeURLRoundTrip(t *testing.T) {
	e := newEnv(t)
	corp := e.newCorp(t, e.store, func(o *wecom.Options) { o.OAuthBaseURL = e.url })
	hall, _ := corp.App("hall")
	link, err := hall.AuthorizeURL("https://h5.example.edu.cn/auth/callback?next=%2Fhall", wecom.ScopeBase, "st8x")
	if err != nil {
		t.Fatal(err)
	}
	page, _, _ := strings.Cut(link, "#")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(page + "&sim_userid=wangfang")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize page answered %d, want a redirect", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Host != "h5.example.edu.cn" || back.Query().Get("state") != "st8x" || back.Query().Get("next") != "/hall" {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	id, err := hall.GetUserInfo(ctx, back.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != "wangfang" {
		t.Errorf("identity = %+v", id)
	}
}

func TestWebLoginURL(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	link, err := hall.WebLoginURL("https://h5.example.edu.cn/auth/wecom/callback?via=qr", "st8x")
	if err != nil {
		t.Fatal(err)
	}
	// The documented link (docs/wecom.md §4.2), parameters in its order.
	want := "https://login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp&appid=" + e.sim.CorpID() +
		"&agentid=1000002&redirect_uri=https%3A%2F%2Fh5.example.edu.cn%2Fauth%2Fwecom%2Fcallback%3Fvia%3Dqr&state=st8x"
	if link != want {
		t.Errorf("WebLoginURL =\n  %s\nwant\n  %s", link, want)
	}

	corp := e.newCorp(t, e.store, func(o *wecom.Options) { o.LoginBaseURL = e.url + "/" })
	simHall, _ := corp.App("hall")
	link, err = simHall.WebLoginURL("http://127.0.0.1:8080/auth/wecom/callback", "abc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, e.url+"/wwlogin/sso/login?login_type=CorpApp&") {
		t.Errorf("with LoginBaseURL set: %s", link)
	}

	for _, c := range []struct{ redirect, state string }{
		{"https://h5.example.edu.cn/cb", ""},
		{"https://h5.example.edu.cn/cb", "has-dash"},
		{"https://h5.example.edu.cn/cb", strings.Repeat("a", wecom.MaxStateLen+1)},
		{"/auth/wecom/callback", "abc"},
		{"javascript:alert(1)", "abc"},
	} {
		if got, err := hall.WebLoginURL(c.redirect, c.state); err == nil {
			t.Errorf("WebLoginURL(%q, %q) = %q, want refused", c.redirect, c.state, got)
		}
	}
	contacts := e.contacts(t) // no agentid: no app to log in to
	if got, err := contacts.WebLoginURL("https://h5.example.edu.cn/cb", "abc"); err == nil {
		t.Errorf("WebLoginURL without an agentid = %q, want refused", got)
	}
	if _, err := wecom.New(wecom.Options{CorpID: "ww1", LoginBaseURL: "login.example"}); err == nil {
		t.Error("a LoginBaseURL without scheme was accepted")
	}
}
