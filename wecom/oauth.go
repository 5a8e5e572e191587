package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/silenceper/wechat/v2/work/oauth"
)

// OAuth inside WeCom and the WeChat plugin (§4.1) and the PC web login
// (§4.2). The authorize URL is built here on Options.OAuthBaseURL
// (silenceper's builders hard-code open.weixin.qq.com and a fixed "STATE"),
// the web-login URL on Options.LoginBaseURL; getuserinfo and getuserdetail
// go through silenceper.

// OAuth scopes.
const (
	// ScopeBase is silent and yields the userid (or openid).
	ScopeBase = "snsapi_base"
	// ScopePrivateInfo asks the member's consent and yields a user_ticket
	// for GetUserDetail; it needs the app's agentid.
	ScopePrivateInfo = "snsapi_privateinfo"
)

// MaxStateLen is the longest state WeCom accepts (84025 otherwise).
const MaxStateLen = 128

// ErrBadState is returned for a state WeCom would reject.
var ErrBadState = errors.New("wecom: oauth state must be 1..128 characters of [a-zA-Z0-9]")

// ValidState reports whether state is acceptable to WeCom: 1..128 characters
// of [a-zA-Z0-9].
func ValidState(state string) error {
	if state == "" || len(state) > MaxStateLen {
		return ErrBadState
	}
	for i := 0; i < len(state); i++ {
		c := state[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return ErrBadState
		}
	}
	return nil
}

// AuthorizeURL is the page to send a member to inside WeCom (or WeChat):
// WeCom redirects back to redirectURI?code=CODE&state=STATE. redirectURI's
// host must be the app's trusted domain (50001 at getuserinfo otherwise).
func (cl *Client) AuthorizeURL(redirectURI, scope, state string) (string, error) {
	if scope != ScopeBase && scope != ScopePrivateInfo {
		return "", fmt.Errorf("wecom: oauth scope %q: want %s or %s", scope, ScopeBase, ScopePrivateInfo)
	}
	if err := ValidState(state); err != nil {
		return "", err
	}
	if u, err := url.Parse(redirectURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("wecom: oauth redirect_uri %q: want an absolute http(s) URL", redirectURI)
	}
	if scope == ScopePrivateInfo && cl.agentID == 0 {
		return "", fmt.Errorf("wecom: oauth %s needs an app's agentid; client %s has none", scope, cl.name)
	}
	// Fixed parameter order as in the documented link; url.Values would sort.
	u := cl.corp.oauthBase + "/connect/oauth2/authorize?appid=" + url.QueryEscape(cl.corp.corpID) +
		"&redirect_uri=" + url.QueryEscape(redirectURI) +
		"&response_type=code&scope=" + scope +
		"&state=" + state
	if cl.agentID != 0 {
		u += "&agentid=" + itoa64(cl.agentID)
	}
	return u + "#wechat_redirect", nil
}

// WebLoginURL is the PC web-login page (§4.2, docs 98171, 98152) for this
// app: the person scans its QR code with the WeCom app (or confirms in the
// desktop client) and the browser comes back to
// redirectURI?code=CODE&state=STATE; a person who declines comes back with
// state only. The code exchanges through GetUserInfo like an OAuth code.
// redirectURI's host must be the app's trusted domain (the page refuses to
// open otherwise); state follows the OAuth rule (ValidState).
func (cl *Client) WebLoginURL(redirectURI, state string) (string, error) {
	if err := ValidState(state); err != nil {
		return "", err
	}
	if u, err := url.Parse(redirectURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("wecom: web login redirect_uri %q: want an absolute http(s) URL", redirectURI)
	}
	if cl.agentID == 0 {
		return "", fmt.Errorf("wecom: web login needs an app's agentid; client %s has none", cl.name)
	}
	// Fixed parameter order as in the documented link.
	return cl.corp.loginBase + "/wwlogin/sso/login?login_type=CorpApp&appid=" + url.QueryEscape(cl.corp.corpID) +
		"&agentid=" + itoa64(cl.agentID) +
		"&redirect_uri=" + url.QueryEscape(redirectURI) +
		"&state=" + state, nil
}

// Identity is who an OAuth code belongs to: a member (UserID set) or a
// non-member (OpenID set).
type Identity struct {
	UserID string
	// UserTicket (snsapi_privateinfo, member in the visible range) is good
	// for GetUserDetail within 1800 s.
	UserTicket string
	OpenID     string
	// ExternalUserID is set for a non-member who is a customer of a member
	// in the app's visible range.
	ExternalUserID string
}

// IsMember reports whether the code belonged to a member of the corp.
func (id *Identity) IsMember() bool { return id.UserID != "" }

// GetUserInfo exchanges an OAuth code (single use, 5 minutes) for the
// identity. A code is consumed by WeCom, so the call is resent only when
// WeCom certainly did not see it; an invalid or used code is 40029.
func (cl *Client) GetUserInfo(ctx context.Context, code string) (*Identity, error) {
	const api = "auth/getuserinfo"
	// The code comes from the browser and silenceper puts it in the URL
	// unescaped: refuse anything that would change the query.
	if code == "" || len(code) > 512 || url.QueryEscape(code) != code {
		return nil, fmt.Errorf("wecom: %s: malformed code: %w", api, &Error{API: api, Code: CodeInvalidCode, Msg: "invalid code (rejected locally)"})
	}
	var out Identity
	// A valid code is exempt from WeCom's frequency limit.
	err := cl.do(ctx, callSpec{api: api, noLimit: true}, func(cs *callState) error {
		r, err := oauth.NewOauth(cs.sdk(cl.corp.corpID, cl.agentID)).GetUserInfo(code)
		if err == nil {
			out = Identity{UserID: r.UserID, UserTicket: r.UserTicket, OpenID: r.OpenID, ExternalUserID: r.ExternalUserID}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s: %w", api, err)
	}
	if out.UserID == "" && out.OpenID == "" {
		return nil, fmt.Errorf("wecom: %s: answer has neither userid nor openid", api)
	}
	return &out, nil
}

// UserDetail is the sensitive profile behind a user_ticket; fields are
// empty unless the admin enabled them for the app and the member agreed.
type UserDetail struct {
	UserID  string
	Gender  string
	Avatar  string
	QRCode  string
	Mobile  string
	Email   string
	BizMail string
	Address string
}

// GetUserDetail reads the profile of a user_ticket (84014 expired, 84015
// invalid).
func (cl *Client) GetUserDetail(ctx context.Context, userTicket string) (*UserDetail, error) {
	const api = "auth/getuserdetail"
	var out UserDetail
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		r, err := oauth.NewOauth(cs.sdk(cl.corp.corpID, cl.agentID)).GetUserDetail(&oauth.GetUserDetailRequest{UserTicket: userTicket})
		if err == nil {
			out = UserDetail{UserID: r.UserID, Gender: r.Gender, Avatar: r.Avatar, QRCode: r.QrCode, Mobile: r.Mobile,
				Email: r.Email, BizMail: r.BizMail, Address: r.Address}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s: %w", api, err)
	}
	return &out, nil
}
