package wecomsim

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// TokenTTL is how long an access token is valid (expires_in).
const TokenTTL = 7200 * time.Second

// credKind says whose secret a token was issued for.
type credKind int

const (
	credContacts credKind = iota + 1 // the contacts-sync (通讯录同步) secret
	credApp                          // a self-built app's secret
)

// credential is the identity behind a token: the contacts-sync tool or one
// app. Later phases may add kinds (e.g. the 审批/打卡 system apps).
type credential struct {
	kind credKind
	app  *App // credApp only
}

func (c *credential) isContacts() bool { return c != nil && c.kind == credContacts }

// appOf returns the app behind the token, or nil for the contacts-sync tool.
func (c *credential) appOf() *App {
	if c == nil || c.kind != credApp {
		return nil
	}
	return c.app
}

// String names the caller in logs ("contacts", "app:1000002"); never the
// secret or the token.
func (c *credential) String() string {
	switch {
	case c == nil:
		return ""
	case c.kind == credContacts:
		return "contacts"
	default:
		return "app:" + strconv.FormatInt(c.app.AgentID, 10)
	}
}

// actor is who made a contacts change: it decides the change log entry, tag
// ownership and whether change_contact is sent to the sync receiver.
func (c *credential) actor() actor {
	if c.isContacts() {
		return actor{kind: actorContacts}
	}
	return actor{kind: actorApp, agentID: c.app.AgentID}
}

type token struct {
	value   string
	cred    *credential
	secret  string
	expires time.Time
}

// tokenStore holds issued tokens. It survives Reset. Guarded by Sim.mu.
type tokenStore struct {
	byValue  map[string]*token
	bySecret map[string]*token // the current token of each secret
}

func (ts *tokenStore) init() {
	ts.byValue = map[string]*token{}
	ts.bySecret = map[string]*token{}
}

// credentialFor maps a secret to its credential, or nil.
func (s *Sim) credentialFor(secret string) *credential {
	if secret == s.opts.ContactSecret {
		return &credential{kind: credContacts}
	}
	for _, a := range s.apps {
		if a.Secret != "" && a.Secret == secret {
			return &credential{kind: credApp, app: a}
		}
	}
	return nil
}

// handleGetToken: GET /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET.
// 41004 when the secret is missing (checked before corpid), 40013 bad
// corpid (also when it is missing: the reference names no other code),
// 40001 unknown secret. A secret whose token is still valid gets the same
// token back with the remaining lifetime (older doc text).
func (s *Sim) handleGetToken(c *call) (obj, error) {
	secret := c.query.Get("corpsecret")
	if secret == "" {
		return nil, errf(41004, "corpsecret missing")
	}
	if c.query.Get("corpid") != s.opts.CorpID {
		return nil, errf(40013, "corpid %q", c.query.Get("corpid"))
	}
	cred := s.credentialFor(secret)
	if cred == nil {
		return nil, errf(40001, "unknown secret")
	}
	if t := s.tok.bySecret[secret]; t != nil && c.now.Before(t.expires) {
		return obj{"access_token": t.value, "expires_in": int(t.expires.Sub(c.now).Seconds())}, nil
	}
	s.pruneTokens(c.now)
	t := &token{value: newToken(), cred: cred, secret: secret, expires: c.now.Add(TokenTTL)}
	s.tok.byValue[t.value] = t
	s.tok.bySecret[secret] = t
	s.log.Info("token issued", zap.String("caller", cred.String()), zap.Time("expires", t.expires))
	return obj{"access_token": t.value, "expires_in": int(TokenTTL.Seconds())}, nil
}

// checkToken validates access_token from the URL query: 41001 missing
// (a token in a header or the body does not count), 40014 unknown, 42001
// expired.
func (s *Sim) checkToken(c *call) (*credential, *Error) {
	v := c.query.Get("access_token")
	if v == "" {
		return nil, errf(41001, "access_token missing from the URL query")
	}
	t := s.tok.byValue[v]
	if t == nil {
		return nil, errf(40014, "unknown access_token")
	}
	if !c.now.Before(t.expires) {
		return nil, errf(42001, "access_token expired at %s", t.expires.Format(time.RFC3339))
	}
	return t.cred, nil
}

// pruneTokens forgets tokens expired for more than a day, so a long-running
// simulator does not grow without bound. Until then they answer 42001.
func (s *Sim) pruneTokens(now time.Time) {
	for v, t := range s.tok.byValue {
		if now.Sub(t.expires) > 24*time.Hour {
			delete(s.tok.byValue, v)
			if s.tok.bySecret[t.secret] == t {
				delete(s.tok.bySecret, t.secret)
			}
		}
	}
}

func newToken() string {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ExpireToken makes one access token expire now: its next use answers
// 42001 and the next gettoken for its secret issues a new one. It reports
// whether the token was known.
func (s *Sim) ExpireToken(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tok.byValue[accessToken]
	if t == nil {
		return false
	}
	t.expires = s.Now()
	return true
}

// ExpireAllTokens makes every issued access token expire now (42001 on
// next use), as WeCom may invalidate tokens early.
func (s *Sim) ExpireAllTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	for _, t := range s.tok.byValue {
		if t.expires.After(now) {
			t.expires = now
		}
	}
}

// RevokeAllTokens forgets every issued token: their next use answers
// 40014, as after a secret reset.
func (s *Sim) RevokeAllTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok.init()
}
