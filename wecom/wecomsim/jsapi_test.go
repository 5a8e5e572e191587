package wecomsim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ticket fetches a JS-SDK ticket: the corp's with agent false, else the
// token's app's.
func (e *env) ticket(token string, agent bool) resp {
	e.t.Helper()
	if agent {
		return e.get("/cgi-bin/ticket/get", token, "type", "agent_config")
	}
	return e.get("/cgi-bin/get_jsapi_ticket", token)
}

func TestJSSignatureOfficialVector(t *testing.T) {
	got := JSSignature("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
		"Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value")
	if got != "0f9de62fce790f9a083d5c99e95740ceb90c27ed" {
		t.Fatalf("signature %s", got)
	}
	if JSSignature("t", "n", 1, "https://a/b?c=1#frag") != JSSignature("t", "n", 1, "https://a/b?c=1") {
		t.Error("the fragment is part of the signed url")
	}
}

func TestJSAPITicketsStable(t *testing.T) {
	e := newEnv(t)
	app, counselor := e.app(), e.counselor()

	first := e.ticket(app, false)
	want(t, first, 0)
	if first.str("ticket") == "" || first["expires_in"].(float64) != 7200 {
		t.Fatalf("corp ticket answer %v", first)
	}
	e.sim.Advance(100 * time.Second)
	again := e.ticket(app, false)
	if again.str("ticket") != first.str("ticket") || again["expires_in"].(float64) != 7100 {
		t.Errorf("within validity: %v, want the same ticket with 7100 s left", again)
	}
	if other := e.ticket(counselor, false); other.str("ticket") != first.str("ticket") {
		t.Error("the corp ticket differs between apps")
	}

	agentA, agentB := e.ticket(app, true), e.ticket(counselor, true)
	want(t, agentA, 0)
	want(t, agentB, 0)
	if agentA.str("ticket") == agentB.str("ticket") || agentA.str("ticket") == first.str("ticket") {
		t.Errorf("app tickets must be per app and differ from the corp ticket: %v %v", agentA, agentB)
	}
	if e.ticket(app, true).str("ticket") != agentA.str("ticket") {
		t.Error("app ticket changed within validity")
	}

	e.sim.Advance(TicketTTL)
	app = e.app() // the token expired too
	if e.ticket(app, false).str("ticket") == first.str("ticket") {
		t.Error("corp ticket not renewed after expiry")
	}
	// Tickets survive Reset, as tokens do.
	cur := e.ticket(app, true).str("ticket")
	e.sim.Reset()
	if e.ticket(app, true).str("ticket") != cur {
		t.Error("Reset replaced the app ticket")
	}

	want(t, e.ticket(e.contacts(), false), 48002)
	want(t, e.ticket(e.contacts(), true), 48002)
	want(t, e.get("/cgi-bin/ticket/get", app), 40058)
	want(t, e.get("/cgi-bin/ticket/get", app, "type", "jsapi"), 40058)
}

func TestJSAPITicketLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		for i := 4; i <= 6; i++ {
			o.Apps = append(o.Apps, App{AgentID: int64(1000000 + i), Name: fmt.Sprint("app", i), Secret: fmt.Sprint("secret", i)})
		}
	})
	tokens := []string{e.app(), e.counselor(), e.token("secret4"), e.token("secret5"), e.token("secret6")}

	// Corp ticket: 100 an hour per app, 400 per corp.
	for i := 0; i < 100; i++ {
		want(t, e.ticket(tokens[0], false), 0)
	}
	want(t, e.ticket(tokens[0], false), 45009)
	for _, tok := range tokens[1:4] {
		for i := 0; i < 100; i++ {
			want(t, e.ticket(tok, false), 0)
		}
	}
	want(t, e.ticket(tokens[4], false), 45009) // the corp's 400 are used up

	// The app ticket has its own 100 an hour per app.
	for i := 0; i < 100; i++ {
		want(t, e.ticket(tokens[0], true), 0)
	}
	want(t, e.ticket(tokens[0], true), 45009)
	want(t, e.ticket(tokens[1], true), 0)

	// An hour-limit block lasts an hour.
	e.sim.Advance(59 * time.Minute)
	want(t, e.ticket(tokens[0], true), 45009)
	e.sim.Advance(2 * time.Minute)
	want(t, e.ticket(tokens[0], true), 0)
	want(t, e.ticket(tokens[4], false), 0)
}

func TestVerifyJSSignature(t *testing.T) {
	e := newEnv(t)
	app, counselor := e.app(), e.counselor()
	corpT := e.ticket(app, false).str("ticket")
	appT := e.ticket(app, true).str("ticket")
	otherT := e.ticket(counselor, true).str("ticket")
	const page = "https://h5.example.edu.cn/hall/index.html?x=1"
	ts := testBase.Unix()
	sign := func(ticket, url string) string { return JSSignature(ticket, "nonce123", ts, url) }
	config := func(sig, url string) JSConfig {
		return JSConfig{CorpID: testCorpID, Timestamp: ts, NonceStr: "nonce123", Signature: sig, URL: url}
	}
	agent := func(agentID int64, sig string) JSConfig {
		c := config(sig, page)
		c.AgentConfig, c.AgentID = true, agentID
		return c
	}
	tests := []struct {
		name string
		cfg  JSConfig
		code int
	}{
		{"wx.config", config(sign(corpT, page), page), 0},
		{"wx.config from a page with a fragment", config(sign(corpT, page), page+"#/home"), 0},
		{"wx.config signed over the fragment", config(rawSign(corpT, "nonce123", ts, page+"#/home"), page+"#/home"), 40093},
		{"wx.config upper-case hex", config(strings.ToUpper(sign(corpT, page)), page), 0},
		{"wx.config of another page", config(sign(corpT, page), "https://h5.example.edu.cn/other"), 40093},
		{"wx.config signed with an app ticket", config(sign(appT, page), page), 42012},
		{"wx.config wrong corp", func() JSConfig { c := config(sign(corpT, page), page); c.CorpID = "wwother"; return c }(), 40013},
		{"wx.agentConfig", agent(1000002, sign(appT, page)), 0},
		{"wx.agentConfig signed with the corp ticket", agent(1000002, sign(corpT, page)), 42012},
		{"wx.agentConfig signed with another app's ticket", agent(1000002, sign(otherT, page)), 42012},
		{"wx.agentConfig of the other app", agent(1000003, sign(otherT, page)), 0},
		{"wx.agentConfig unknown agent", agent(1000009, sign(appT, page)), 40056},
		{"wx.agentConfig garbage", agent(1000002, "0123"), 40093},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := errCode(e.sim.VerifyJSSignature(tc.cfg)); code != tc.code {
				t.Errorf("errcode %d, want %d (%v)", code, tc.code, e.sim.VerifyJSSignature(tc.cfg))
			}
		})
	}

	// Over the admin API.
	var r resp
	r = e.decode(e.do(http.MethodPost, AdminPrefix+"jssdk/verify", nil, rawJSON(agent(1000002, sign(corpT, page))), "application/json"))
	want(t, r, 42012)
	r = e.decode(e.do(http.MethodPost, AdminPrefix+"jssdk/verify", nil, rawJSON(config(sign(corpT, page), page)), "application/json"))
	want(t, r, 0)

	// An expired ticket no longer verifies; the JSTicket helper follows.
	if v, ok := e.sim.JSTicket(0); !ok || v != corpT {
		t.Errorf("JSTicket(0) = %q, %v", v, ok)
	}
	e.sim.Advance(TicketTTL)
	if code := errCode(e.sim.VerifyJSSignature(config(sign(corpT, page), page))); code != 40093 {
		t.Errorf("expired ticket: errcode %d, want 40093", code)
	}
	if _, ok := e.sim.JSTicket(1000002); ok {
		t.Error("JSTicket reports an expired app ticket")
	}
}

// errCode is the errcode of a simulator error (0 for nil).
func errCode(err error) int {
	if err == nil {
		return 0
	}
	return asError(err).Code
}

// rawSign signs the url as given, fragment included, as a careless page
// (or silenceper's jsapi.GetConfig) does.
func rawSign(ticket, nonce string, ts int64, url string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("jsapi_ticket=%s&noncestr=%s&timestamp=%d&url=%s", ticket, nonce, ts, url)))
	return hex.EncodeToString(sum[:])
}
