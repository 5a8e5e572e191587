package wecomsim

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// The PC web login (docs/wecom.md §4.2, docs 98171, 98152):
// GET /wwlogin/sso/login?login_type=CorpApp&appid=CORPID&agentid=AGENTID&redirect_uri=URLENCODED&state=STATE.
// On WeCom the page shows a QR code that a member scans with the WeCom app
// (or confirms in the desktop client); here a member picker stands in for
// the scan. Picking a member issues a code exactly as the OAuth authorize
// page does (issueCode, snsapi_base), which auth/getuserinfo exchanges for
// the userid, and redirects to redirect_uri?code=CODE&state=STATE. sim_userid
// picks without the page (tests); sim_cancel=1 is the member declining on
// the phone: back to redirect_uri?state=STATE without a code, as documented
// for a refused login.

// webLoginTemplate is the picker page, on the phone pages' layout and
// member list (phone_parts.html "groups").
var webLoginTemplate = template.Must(template.New("phone_layout.html").
	Funcs(template.FuncMap{"sub": func(a, b int) int { return a - b }}).
	ParseFS(phoneFS, "phone_layout.html", "phone_parts.html", "phone_weblogin.html"))

// webLoginRoutes registers the web-login page (called from pageRoutes).
func (s *Sim) webLoginRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /wwlogin/sso/login", s.serveWebLogin)
}

// webLoginRequest is a parsed web-login link.
type webLoginRequest struct {
	query    url.Values
	app      *App
	redirect *url.URL
	state    string
}

// parseWebLogin checks the link as the login page does before showing a QR
// code: login_type CorpApp (40058; ServiceApp, the third-party login, is
// not simulated), appid the corp id (40013), agentid a known app (40056),
// an absolute http(s) redirect_uri (40058) whose host is the app's trusted
// domain, port included, when one is configured (50001: the real page says
// the link cannot be opened), and state as for OAuth (84025; WeCom's page
// may accept more, the client never sends more).
func (s *Sim) parseWebLogin(q url.Values) (*webLoginRequest, *authorizeError) {
	wl := &webLoginRequest{query: q, state: q.Get("state")}
	if q.Get("login_type") != "CorpApp" {
		return nil, &authorizeError{Code: 40058, Message: "login_type 参数错误：企业自建应用登录填 CorpApp"}
	}
	if q.Get("appid") != s.opts.CorpID {
		return nil, &authorizeError{Code: 40013, Message: "appid 参数错误：不是本企业的 CorpID"}
	}
	id, err := strconv.ParseInt(q.Get("agentid"), 10, 64)
	if err != nil || s.apps[id] == nil {
		return nil, &authorizeError{Code: 40056, Message: "agentid 参数错误：没有这个应用"}
	}
	wl.app = s.apps[id]
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &authorizeError{Code: 40058, Message: "redirect_uri 参数错误：需要以 http:// 或 https:// 开头的完整地址"}
	}
	if td := wl.app.TrustedDomain; td != "" && !strings.EqualFold(u.Host, td) {
		return nil, &authorizeError{Code: 50001, Message: "该链接无法访问：redirect_uri 的域名 " + u.Host + " 不是应用「" + wl.app.Name + "」的可信域名 " + td}
	}
	wl.redirect = u
	if wl.state != "" && !validState(wl.state) {
		return nil, &authorizeError{Code: 84025, Message: "state 参数错误：只能是 a-zA-Z0-9，最长 128 字节"}
	}
	return wl, nil
}

// back is redirect_uri with the code (if any) and the state appended, its
// own query and fragment kept.
func (wl *webLoginRequest) back(code string) string {
	u := *wl.redirect
	// code before state, as the documented redirect reads.
	extra := "state=" + url.QueryEscape(wl.state)
	if code != "" {
		extra = "code=" + url.QueryEscape(code) + "&" + extra
	}
	if u.RawQuery == "" {
		u.RawQuery = extra
	} else {
		u.RawQuery += "&" + extra
	}
	return u.String()
}

type webLoginView struct {
	App    string
	Corp   string
	Query  string
	Hidden []hiddenField
	Groups []memberGroup
	Holder *memberRow // who holds the simulated phone, offered first
	Cancel string
	Action string
}

// serveWebLogin: GET /wwlogin/sso/login.
func (s *Sim) serveWebLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	wl, werr := s.parseWebLogin(q)
	if werr != nil {
		s.renderError(w, http.StatusBadRequest, "无法打开登录页", werr.Message, werr.Code)
		return
	}
	if q.Get("sim_cancel") != "" {
		http.Redirect(w, r, wl.back(""), http.StatusFound)
		return
	}
	userid := q.Get("sim_userid")
	if userid == "" {
		s.renderWebLoginPicker(w, r, wl)
		return
	}
	s.mu.Lock()
	m := s.st.user(userid)
	if m != nil && !s.st.visible(wl.app).user(m) {
		s.mu.Unlock()
		// "若用户不在agentid所指应用的可见范围，扫码时会提示无权限".
		s.renderError(w, http.StatusForbidden, "无权限登录", m.Name+"（"+m.UserID+"）不在应用「"+wl.app.Name+"」的可见范围内。", 50002)
		return
	}
	code, err := s.issueCode(OAuthLogin{UserID: userid, AgentID: wl.app.AgentID, Scope: scopeBase}, wl.redirect.Host)
	s.mu.Unlock()
	if err != nil {
		s.renderError(w, http.StatusForbidden, "无法登录", strings.TrimPrefix(err.Error(), "wecomsim: "), 50002)
		return
	}
	s.log.Info("web login", zap.String("userid", userid), zap.Int64("agent_id", wl.app.AgentID))
	http.Redirect(w, r, wl.back(code), http.StatusFound)
}

func (s *Sim) renderWebLoginPicker(w http.ResponseWriter, r *http.Request, wl *webLoginRequest) {
	base := s.opts.BaseURL + "/wwlogin/sso/login"
	link, hidden := pickerLinks(base, wl.query)
	v := webLoginView{App: wl.app.Name, Corp: s.opts.CorpID, Query: wl.query.Get("q"), Action: base,
		Cancel: link(url.Values{"sim_cancel": {"1"}}), Hidden: hidden}
	pick := func(u string) string { return link(url.Values{"sim_userid": {u}}) }
	s.mu.Lock()
	v.Groups, _ = s.memberGroups(v.Query, pick)
	if m := s.st.user(s.phoneHolder(r)); m != nil && m.Status == 1 {
		v.Holder = &memberRow{UserID: m.UserID, Name: m.Name, Position: m.Position, Initial: initial(m.Name),
			Color: avatarColor(m.UserID), WeChat: m.WeChatPlugin, Href: pick(m.UserID)}
	}
	s.mu.Unlock()

	var buf strings.Builder
	err := webLoginTemplate.ExecuteTemplate(&buf, "layout", phonePage{Title: "企业微信登录", Base: s.opts.BaseURL, Version: phoneAssetVersion, Data: v})
	if err != nil {
		s.log.Error("render page", zap.String("page", "weblogin"), zap.Error(err))
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(buf.String()))
}
