package wecomsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// OAuth scopes (docs/wecom.md §4.1), kept here rather than taken from
// package wecom so the simulator does not share the client's constants.
const (
	scopeBase        = "snsapi_base"        // silent: the userid (or openid)
	scopePrivateInfo = "snsapi_privateinfo" // asks consent: a user_ticket
)

// validState: the authorize page's state is a-zA-Z0-9, at most 128 bytes.
func validState(state string) bool {
	if state == "" || len(state) > 128 {
		return false
	}
	for i := 0; i < len(state); i++ {
		c := state[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// OAuth inside WeCom and the WeChat plugin (docs/wecom.md §4.1, docs
// 91022/96441/96442/96443). The authorize page stands in for the WeCom
// client: on the real server the client knows who is logged in; here a
// page asks "who are you?" — a member, a WeChat-plugin member or a visitor
// who is no member — unless the request names one with sim_userid or
// sim_openid, or the phone page set who holds the phone (phoneCookie).
// It then redirects to redirect_uri?code=CODE&state=STATE.

// OAuth lifetimes.
const (
	// OAuthCodeTTL: a code is single use and expires after 5 minutes
	// (40029 afterwards).
	OAuthCodeTTL = 5 * time.Minute
	// UserTicketTTL: a user_ticket is good for getuserdetail for 1800 s.
	UserTicketTTL = 1800 * time.Second
)

// maxOpenIDBytes bounds a visitor's openid ("≤64 bytes", §4.1).
const maxOpenIDBytes = 64

// oauthState holds issued codes and user tickets. Part of state (Reset
// clears it); guarded by Sim.mu.
type oauthState struct {
	codes   map[string]*oauthCode
	tickets map[string]*userTicket
}

func newOAuthState() *oauthState {
	return &oauthState{codes: map[string]*oauthCode{}, tickets: map[string]*userTicket{}}
}

type oauthCode struct {
	userID       string // a member (as spelled in contacts), or
	openID       string // a visitor
	scope        string
	agentID      int64
	redirectHost string // host:port of redirect_uri; "" skips the trusted-domain check
	issued       time.Time
	used         bool
}

type userTicket struct {
	userID  string
	agentID int64
	expires time.Time
}

// OAuthLogin says who logs in through OAuth, for IssueOAuthCode and the
// admin route oauth/code: a member (UserID) or a visitor who is no member
// (OpenID).
type OAuthLogin struct {
	UserID string `json:"userid,omitempty"`
	OpenID string `json:"openid,omitempty"`
	// AgentID is the app the link named (agentid); snsapi_privateinfo
	// without it counts as snsapi_base.
	AgentID int64 `json:"agentid,omitempty"`
	// Scope is "snsapi_base" (default) or "snsapi_privateinfo".
	Scope string `json:"scope,omitempty"`
	// RedirectURI, when set, is checked against the trusted domain of the
	// app that calls getuserinfo (50001 on mismatch).
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// IssueOAuthCode issues a code as the authorize page would after the
// person chose to log in — the test shortcut that skips the page.
func (s *Sim) IssueOAuthCode(l OAuthLogin) (string, error) {
	host := ""
	if l.RedirectURI != "" {
		u, err := url.Parse(l.RedirectURI)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("wecomsim: redirect_uri %q is not an absolute URL", l.RedirectURI)
		}
		host = u.Host
	}
	if l.Scope == "" {
		l.Scope = scopeBase
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCode(l, host)
}

// issueCode checks who logs in and stores a fresh code. Runs under s.mu.
func (s *Sim) issueCode(l OAuthLogin, redirectHost string) (string, error) {
	if l.Scope != scopeBase && l.Scope != scopePrivateInfo {
		return "", fmt.Errorf("wecomsim: scope %q: want %s or %s", l.Scope, scopeBase, scopePrivateInfo)
	}
	var app *App
	if l.AgentID != 0 {
		if app = s.apps[l.AgentID]; app == nil {
			return "", fmt.Errorf("wecomsim: no app %d", l.AgentID)
		}
	}
	if app == nil {
		// "agentid required — without it treated as snsapi_base" (§4.1).
		l.Scope = scopeBase
	}
	c := &oauthCode{scope: l.Scope, agentID: l.AgentID, redirectHost: strings.ToLower(redirectHost), issued: s.Now()}
	switch {
	case l.UserID != "":
		m := s.st.user(l.UserID)
		switch {
		case m == nil:
			return "", fmt.Errorf("wecomsim: no member %q", l.UserID)
		case m.Status != 1:
			return "", fmt.Errorf("wecomsim: member %s has status %d and cannot log in", m.UserID, m.Status)
		case l.Scope == scopePrivateInfo && !s.st.visible(app).user(m):
			// "member must be in the app's visible range or the page errors".
			return "", fmt.Errorf("wecomsim: %s is outside the visible range of app %d (snsapi_privateinfo)", m.UserID, app.AgentID)
		}
		c.userID = m.UserID
	case l.OpenID != "":
		if len(l.OpenID) > maxOpenIDBytes {
			return "", fmt.Errorf("wecomsim: openid longer than %d bytes", maxOpenIDBytes)
		}
		c.openID = l.OpenID
	default:
		return "", fmt.Errorf("wecomsim: OAuth login needs a userid or an openid")
	}
	code := newToken()[:64] // ≤512 bytes and URL-safe
	s.st.oauth.codes[code] = c
	s.pruneOAuth(c.issued)
	s.log.Info("oauth code issued", zap.String("userid", c.userID), zap.Bool("visitor", c.openID != ""),
		zap.String("scope", c.scope), zap.Int64("agent_id", c.agentID))
	return code, nil
}

// pruneOAuth forgets codes and tickets long dead, so a long-running
// simulator does not grow without bound.
func (s *Sim) pruneOAuth(now time.Time) {
	o := s.st.oauth
	if len(o.codes)+len(o.tickets) < 1024 {
		return
	}
	for k, c := range o.codes {
		if now.Sub(c.issued) > time.Hour {
			delete(o.codes, k)
		}
	}
	for k, t := range o.tickets {
		if now.Sub(t.expires) > time.Hour {
			delete(o.tickets, k)
		}
	}
}

// handleGetUserInfo: GET /cgi-bin/auth/getuserinfo?code=. Missing code
// 41008; unknown, used or expired (5 min) 40029; a redirect_uri whose host
// is not exactly the calling app's TrustedDomain (port included) 50001 —
// the check happens here, as the doc says, and does not use the code up.
// An app without a TrustedDomain accepts any redirect (a simulator
// convenience; a real app must configure one).
//
// A member gets {userid} (even outside the app's visible range), plus a
// user_ticket for snsapi_privateinfo when in the visible range; a visitor
// gets {openid}.
func (s *Sim) handleGetUserInfo(c *call) (obj, error) {
	code := c.query.Get("code")
	if code == "" {
		return nil, errf(41008, "code missing")
	}
	oc := s.st.oauth.codes[code]
	switch {
	case oc == nil:
		return nil, errf(40029, "unknown code")
	case oc.used:
		return nil, errf(40029, "code already used")
	case c.now.Sub(oc.issued) >= OAuthCodeTTL:
		return nil, errf(40029, "code issued %s ago (valid %s)", c.now.Sub(oc.issued).Round(time.Second), OAuthCodeTTL)
	}
	app := c.cred.appOf()
	if oc.redirectHost != "" && app.TrustedDomain != "" && oc.redirectHost != strings.ToLower(app.TrustedDomain) {
		return nil, errf(50001, "redirect_uri host %q is not app %d's trusted domain %q", oc.redirectHost, app.AgentID, app.TrustedDomain)
	}
	oc.used = true
	if oc.openID != "" {
		return obj{"openid": oc.openID}, nil
	}
	resp := obj{"userid": oc.userID}
	if m := s.st.user(oc.userID); m != nil && oc.scope == scopePrivateInfo && s.st.visible(app).user(m) {
		t := newToken()[:96]
		s.st.oauth.tickets[t] = &userTicket{userID: m.UserID, agentID: app.AgentID, expires: c.now.Add(UserTicketTTL)}
		resp["user_ticket"] = t
	}
	return resp, nil
}

// handleGetUserDetail: POST /cgi-bin/auth/getuserdetail {"user_ticket"}.
// Missing, unknown or another app's ticket 84015; expired 84014. Answers
// the member's sensitive fields (gender "0" when unknown).
func (s *Sim) handleGetUserDetail(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	v, _, err := f.str("user_ticket")
	if err != nil {
		return nil, err
	}
	t := s.st.oauth.tickets[v]
	app := c.cred.appOf()
	switch {
	case t == nil || t.agentID != app.AgentID:
		return nil, errf(84015, "unknown user_ticket")
	case !c.now.Before(t.expires):
		return nil, errf(84014, "user_ticket expired at %s", t.expires.Format(time.RFC3339))
	}
	m := s.st.user(t.userID)
	if m == nil {
		return nil, errf(84015, "member %s no longer exists", t.userID)
	}
	gender := m.Gender
	if gender == "" {
		gender = "0"
	}
	sum := sha256.Sum256([]byte(s.opts.CorpID + "/" + m.UserID))
	return obj{
		"userid":   m.UserID,
		"gender":   gender,
		"avatar":   m.Avatar,
		"qr_code":  "https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=sim" + hex.EncodeToString(sum[:8]),
		"mobile":   m.Mobile,
		"email":    m.Email,
		"biz_mail": m.BizMail,
		"address":  m.Address,
	}, nil
}

// authorizeRequest is a parsed authorize link.
type authorizeRequest struct {
	query       url.Values
	redirectURI string
	redirect    *url.URL
	scope       string
	state       string
	agentID     int64
	app         *App
}

// authorizeError is what the error page shows.
type authorizeError struct {
	Code    int
	Message string
}

// parseAuthorize validates the link's parameters as the WeCom client does
// before showing anything: appid the corp id, an absolute http(s)
// redirect_uri, response_type code, a known scope, state [a-zA-Z0-9]
// ≤128 bytes (84025; state may be empty), agentid a known app.
func (s *Sim) parseAuthorize(q url.Values) (*authorizeRequest, *authorizeError) {
	ar := &authorizeRequest{query: q, redirectURI: q.Get("redirect_uri"), scope: q.Get("scope"), state: q.Get("state")}
	if q.Get("appid") != s.opts.CorpID {
		return nil, &authorizeError{Code: 40013, Message: "appid 参数错误：不是本企业的 CorpID"}
	}
	u, err := url.Parse(ar.redirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &authorizeError{Code: 40058, Message: "redirect_uri 参数错误：需要以 http:// 或 https:// 开头的完整地址"}
	}
	ar.redirect = u
	if q.Get("response_type") != "code" {
		return nil, &authorizeError{Code: 40058, Message: "response_type 参数错误：只能是 code"}
	}
	if ar.scope != scopeBase && ar.scope != scopePrivateInfo {
		return nil, &authorizeError{Code: 40058, Message: "scope 参数错误：只能是 snsapi_base 或 snsapi_privateinfo"}
	}
	if ar.state != "" && !validState(ar.state) {
		return nil, &authorizeError{Code: 84025, Message: "state 参数错误：只能是 a-zA-Z0-9，最长 128 字节"}
	}
	if v := q.Get("agentid"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s.apps[id] == nil {
			return nil, &authorizeError{Code: 40056, Message: "agentid 参数错误：没有这个应用"}
		}
		ar.agentID, ar.app = id, s.apps[id]
	}
	return ar, nil
}

// redirectWith appends code and state to the redirect_uri, keeping its
// own query and fragment.
func (ar *authorizeRequest) redirectWith(code string) string {
	u := *ar.redirect
	add := "code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(ar.state)
	if u.RawQuery == "" {
		u.RawQuery = add
	} else {
		u.RawQuery += "&" + add
	}
	return u.String()
}

// serveAuthorize: GET /connect/oauth2/authorize. With sim_userid (a
// member) or sim_openid (a visitor) it redirects at once. Otherwise, for
// silent snsapi_base, the member holding the phone (set by the phone page)
// is logged in as the WeCom client would — sim_pick=1 shows the picker
// anyway; snsapi_privateinfo always asks, as the real consent page does.
func (s *Sim) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ar, aerr := s.parseAuthorize(q)
	if aerr != nil {
		s.renderError(w, http.StatusBadRequest, "无法打开授权页", aerr.Message, aerr.Code)
		return
	}
	login := OAuthLogin{AgentID: ar.agentID, Scope: ar.scope, UserID: q.Get("sim_userid"), OpenID: q.Get("sim_openid")}
	silent := ar.scope == scopeBase || ar.app == nil // privateinfo asks for consent
	if login.UserID == "" && login.OpenID == "" && silent && q.Get("sim_pick") == "" {
		login.UserID = s.phoneHolder(r)
	}
	if login.UserID == "" && login.OpenID == "" {
		s.renderAuthorizePicker(w, r, ar)
		return
	}
	s.mu.Lock()
	code, err := s.issueCode(login, ar.redirect.Host)
	s.mu.Unlock()
	if err != nil {
		s.renderError(w, http.StatusForbidden, "无法登录", err.Error(), 50002)
		return
	}
	http.Redirect(w, r, ar.redirectWith(code), http.StatusFound)
}
