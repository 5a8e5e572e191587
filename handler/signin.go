package handler

import (
	"errors"
	"github.com/wecomapp/wecomapp/guest"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/cas"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/workbench"
)

// Sign-in: WeCom OAuth inside WeCom and WeChat, the web-login QR flow and
// CAS on a PC. Each round trip carries a state bound to this browser
// (auth.NewState), so nobody can sign someone else in with their own code
// or ticket (login CSRF); every code is used once.

// Client kinds recorded for the message center: personal WeChat through
// the WeChat plugin, or the WeCom client.
const (
	clientWeChat = "wechat"
	clientWeCom  = "wecom"
	clientPC     = "pc"
)

// clientOf tells the WeCom client ("wxwork" in its user agent) from
// personal WeChat ("MicroMessenger" without "wxwork") and a plain browser.
func clientOf(r *http.Request) string {
	ua := r.UserAgent()
	switch {
	case strings.Contains(ua, "wxwork"):
		return clientWeCom
	case strings.Contains(ua, "MicroMessenger"):
		return clientWeChat
	}
	return clientPC
}

// cameFromOAuth: the request carries a code and a state, so it is the end
// of an OAuth redirect (the app's home opened from WeCom, where the home
// URL is an OAuth link). Such a request is inside WeCom even when the user
// agent does not say so (the simulated phone runs in a desktop browser).
func cameFromOAuth(r *http.Request) bool {
	q := r.URL.Query()
	return q.Get("code") != "" && q.Get("state") != ""
}

// withoutOAuthParams is the URL a person asked for, minus code and state.
func withoutOAuthParams(u *url.URL) string {
	q := u.Query()
	q.Del("code")
	q.Del("state")
	out := u.Path
	if len(q) > 0 {
		out += "?" + q.Encode()
	}
	return out
}

// signInURL is where a request without a session goes: OAuth inside WeCom
// or WeChat (silent with snsapi_base), the sign-in chooser on a PC.
func signInURL(r *http.Request) string {
	ret := url.QueryEscape(auth.SafeReturnTo(withoutOAuthParams(r.URL)))
	if clientOf(r) != clientPC || cameFromOAuth(r) {
		return "/auth/wecom?return=" + ret
	}
	return "/login?return=" + ret
}

// login is the PC sign-in chooser.
func (s *server) login(c *gin.Context) error {
	ret := auth.SafeReturnTo(c.Query("return"))
	if ret == "/" {
		ret = "/app/"
	}
	if p, ok := s.Sessions.Current(c.Request.Context()); ok && !guest.IsGuest(p) {
		c.Redirect(http.StatusSeeOther, ret)
		return nil
	}
	if clientOf(c.Request) != clientPC {
		c.Redirect(http.StatusSeeOther, "/auth/wecom?return="+url.QueryEscape(ret))
		return nil
	}
	v := h5.Login{Page: s.page(c, "登录"), Return: ret, QRHref: "/auth/qr?return=" + url.QueryEscape(ret)}
	if s.CAS != nil {
		v.CASHref = "/auth/cas?return=" + url.QueryEscape(ret)
		v.CASName = s.CASName
	}
	return s.render(c, http.StatusOK, "login", v)
}

// oauthStart sends the browser to WeCom's authorize page.
func (s *server) oauthStart(c *gin.Context) error {
	state, err := s.Sessions.NewState(c.Request.Context(), returnOrApp(c.Query("return")))
	if err != nil {
		return err
	}
	u, err := s.App.AuthorizeURL(s.PublicURL+"/auth/wecom/callback", wecom.ScopeBase, state)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusFound, u)
	return nil
}

// qrStart sends a PC browser to WeCom's web-login page (the QR code).
func (s *server) qrStart(c *gin.Context) error {
	state, err := s.Sessions.NewState(c.Request.Context(), returnOrApp(c.Query("return")))
	if err != nil {
		return err
	}
	u, err := s.App.WebLoginURL(s.PublicURL+"/auth/qr/callback", state)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusFound, u)
	return nil
}

func returnOrApp(raw string) string {
	ret := auth.SafeReturnTo(raw)
	if ret == "/" {
		return "/app/"
	}
	return ret
}

func (s *server) oauthCallback(c *gin.Context) error { return s.codeCallback(c, false) }
func (s *server) qrCallback(c *gin.Context) error    { return s.codeCallback(c, true) }

// codeCallback ends an OAuth or web-login round trip: the state must be
// this browser's, the code is used once and exchanged for the userid, and
// the person must be in our own records.
func (s *server) codeCallback(c *gin.Context, qr bool) error {
	ctx := c.Request.Context()
	code, state := c.Query("code"), c.Query("state")
	if code == "" {
		// The member refused (snsapi_privateinfo) or the link was cut.
		return s.signInFailed(c, http.StatusBadRequest, "没有收到企业微信的授权，请重新打开应用。")
	}
	ret, err := s.Sessions.TakeState(ctx, state)
	if errors.Is(err, auth.ErrBadState) {
		return s.signInFailed(c, http.StatusBadRequest, "登录链接已失效或不属于这个浏览器，请重新打开应用。")
	}
	if err != nil {
		return err
	}
	if err := auth.UseCodeOnce(ctx, s.Coord, code); errors.Is(err, auth.ErrCodeReused) {
		return s.signInFailed(c, http.StatusBadRequest, "这个登录码已经用过了，请重新打开应用。")
	} else if err != nil {
		return err
	}
	id, err := s.App.GetUserInfo(ctx, code)
	var we *wecom.Error
	if errors.As(err, &we) && we.Code == 40029 {
		return s.signInFailed(c, http.StatusBadRequest, "登录码已过期，请重新打开应用。")
	}
	if err != nil {
		return err
	}
	if !id.IsMember() {
		return s.join(c, "openid")
	}
	source := auth.SourceWeCom
	switch {
	case qr:
		source = auth.SourceWebLogin
	case clientOf(c.Request) == clientWeChat:
		source = auth.SourceWeChat
	}
	return s.signIn(c, id.UserID, source, ret)
}

// casStart sends the browser to the CAS login page. The service URL
// carries a browser-bound state, as OAuth's does.
func (s *server) casStart(c *gin.Context) error {
	if s.CAS == nil {
		return store.ErrNotFound
	}
	state, err := s.Sessions.NewState(c.Request.Context(), returnOrApp(c.Query("return")))
	if err != nil {
		return err
	}
	c.Redirect(http.StatusFound, s.CAS.LoginURL(s.casService(state)))
	return nil
}

func (s *server) casService(state string) string {
	return s.PublicURL + "/auth/cas/callback?state=" + url.QueryEscape(state)
}

func (s *server) casCallback(c *gin.Context) error {
	if s.CAS == nil {
		return store.ErrNotFound
	}
	ctx := c.Request.Context()
	state, ticket := c.Query("state"), c.Query("ticket")
	if ticket == "" {
		return s.signInFailed(c, http.StatusBadRequest, "统一身份认证没有返回票据，请重新登录。")
	}
	ret, err := s.Sessions.TakeState(ctx, state)
	if errors.Is(err, auth.ErrBadState) {
		return s.signInFailed(c, http.StatusBadRequest, "登录链接已失效或不属于这个浏览器，请重新登录。")
	}
	if err != nil {
		return err
	}
	p, err := s.CAS.Validate(ctx, s.casService(state), ticket)
	var ce *cas.Error
	if errors.As(err, &ce) {
		logctx.L(ctx, s.log).Info("cas ticket refused", zap.String("code", ce.Code))
		return s.signInFailed(c, http.StatusBadRequest, "统一身份认证票据无效或已过期，请重新登录。")
	}
	if err != nil {
		return err
	}
	return s.signIn(c, p.User, auth.SourceCAS, ret)
}

// signIn looks the person up in our own records (never in WeCom) and
// starts their session.
func (s *server) signIn(c *gin.Context, userID, source, ret string) error {
	ctx := c.Request.Context()
	person, err := s.Workbench.Person(ctx, userID)
	if errors.Is(err, workbench.ErrNotMember) {
		logctx.L(ctx, s.log).Info("sign-in of someone not in our records", zap.String("userid", userID), zap.String("source", source))
		return s.join(c, "unknown")
	}
	if err != nil {
		return err
	}
	if err := s.Sessions.SignIn(ctx, auth.Principal{UserID: userID, Name: person.Name, Source: source}); err != nil {
		return err
	}
	if err := s.DB.RecordClient(ctx, userID, clientOf(c.Request), s.Now()); err != nil {
		// Which client someone uses only picks the message format later;
		// it never blocks signing in.
		logctx.L(ctx, s.log).Warn("could not record the client", zap.String("userid", userID), zap.Error(err))
	}
	logctx.L(ctx, s.log).Info("signed in", zap.String("userid", userID), zap.String("source", source))
	c.Redirect(http.StatusSeeOther, ret)
	return nil
}

func (s *server) signInFailed(c *gin.Context, status int, msg string) error {
	return s.render(c, status, "app_error", h5.AppError{Page: s.page(c, "登录失败"), Status: status, Message: msg})
}

// join answers someone WeCom knows but we do not: how to become a member.
func (s *server) join(c *gin.Context, reason string) error {
	return s.render(c, http.StatusOK, "join", h5.Join{Page: s.page(c, "加入"), Reason: reason, Contact: s.JoinContact})
}

func (s *server) joinPage(c *gin.Context) error {
	reason := c.Query("reason")
	if reason != "openid" {
		reason = "unknown"
	}
	return s.join(c, reason)
}

// logout ends this session, or every session of the person.
func (s *server) logout(c *gin.Context) error {
	ctx := c.Request.Context()
	p, ok := s.Sessions.Current(ctx)
	everywhere := c.Query("everywhere") == "1" || c.PostForm("everywhere") == "1"
	if ok && everywhere {
		if err := s.Sessions.SignOutEverywhere(ctx, p.UserID); err != nil {
			return err
		}
	}
	if err := s.Sessions.SignOut(ctx); err != nil {
		return err
	}
	if ok {
		logctx.L(ctx, s.log).Info("signed out", zap.String("userid", p.UserID), zap.Bool("everywhere", everywhere))
	}
	return s.render(c, http.StatusOK, "signed_out", h5.SignedOut{Page: s.page(c, "已退出"), Everywhere: everywhere})
}

// ssoValidate lets an external system (a tile of kind external) validate
// the one-time ticket its deep link carried, in CAS 2.0/3.0 XML, so any
// system that speaks CAS accepts our sign-on.
func (s *server) ssoValidate(c *gin.Context) error {
	ctx := c.Request.Context()
	user, err := s.Sessions.ValidateTicket(ctx, c.Query("ticket"), c.Query("service"))
	var attrs map[string][]string
	if err == nil {
		if p, perr := s.Workbench.Person(ctx, user); perr == nil {
			attrs = map[string][]string{"name": {p.Name}}
		}
	}
	c.Data(http.StatusOK, "application/xml; charset=utf-8", auth.ServiceResponse(user, attrs, err))
	return nil
}
