package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
)

// Sign-in sources: how a person proved who they are.
const (
	SourceWeCom    = "wecom"    // WeCom OAuth2 inside the WeCom client
	SourceWeChat   = "wechat"   // WeCom OAuth2 inside personal WeChat (the WeChat plugin)
	SourceCAS      = "cas"      // the university's CAS single sign-on
	SourceWebLogin = "weblogin" // the WeCom web-login QR flow on a PC
	SourcePhone    = "phone"    // an SMS code to a mobile number: a guest, not a member (package guest)
)

// Defaults for Options.
const (
	DefaultIdleTimeout = 2 * time.Hour
	DefaultLifetime    = 12 * time.Hour
	DefaultCookieName  = "wecomapp_session"
)

// ErrNoSession is returned by the methods that change a session when ctx
// did not come through Middleware, so there is no session to change.
var ErrNoSession = errors.New("auth: no session in context (is the handler behind Middleware?)")

// Principal is the signed-in person as the session remembers them.
type Principal struct {
	UserID string `json:"user_id"` // the WeCom userid
	Name   string `json:"name"`
	Source string `json:"source"` // one of the Source constants
	// SignedInAt is stamped by SignIn; the absolute lifetime runs from it.
	SignedInAt time.Time `json:"signed_in_at"`
	// Identity is the identity the person acts as (one person may hold
	// several); empty until they choose.
	Identity string `json:"identity,omitempty"`
}

// Options configures New.
type Options struct {
	// Coord keeps the sessions, the per-person index, OAuth states and used
	// codes. Required.
	Coord coord.Store
	// IdleTimeout ends a session nobody used for this long (default 2h).
	IdleTimeout time.Duration
	// Lifetime ends a session this long after sign-in, however busy
	// (default 12h).
	Lifetime time.Duration
	// Secure marks the cookie Secure; set it when the public URL is https.
	Secure bool
	// CookieName defaults to "wecomapp_session".
	CookieName string
	// Logger receives the errors Middleware answers with 500 (a failing
	// coord backend). Nil discards them.
	Logger *zap.Logger
	// Now is the clock for expiry; nil means time.Now. Tests move it.
	Now func() time.Time
}

// Sessions is the session manager. It is safe for concurrent use.
type Sessions struct {
	mgr      *scs.SessionManager
	c        coord.Store
	log      *zap.Logger
	now      func() time.Time
	lifetime time.Duration
}

// Keys inside the scs session.
const (
	keyPrincipal = "auth.principal" // JSON of storedPrincipal
	keyBrowser   = "auth.browser"   // random id binding OAuth states to this browser
)

// storedPrincipal is what the session keeps: the Principal and the
// generation of the person's index it was signed in under. SignOutEverywhere
// starts a new generation, which ends sessions it could not delete (one whose
// request was in flight and re-commits its data afterwards).
type storedPrincipal struct {
	Principal
	Gen string `json:"gen"`
}

// personIndex lists one person's sessions, in coord under personKey.
type personIndex struct {
	Gen string `json:"gen"`
	// Sessions maps a session key to the absolute deadline (Unix
	// nanoseconds) past which it cannot live, so stale entries are pruned.
	Sessions map[string]int64 `json:"sessions"`
}

func personKey(userID string) string { return "auth:person:" + userID }

// New returns a session manager storing through opts.Coord.
func New(opts Options) (*Sessions, error) {
	if opts.Coord == nil {
		return nil, errors.New("auth: Options.Coord is required")
	}
	if opts.IdleTimeout < 0 || opts.Lifetime < 0 {
		return nil, fmt.Errorf("auth: idle timeout %v and lifetime %v must not be negative", opts.IdleTimeout, opts.Lifetime)
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Lifetime == 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.CookieName == "" {
		opts.CookieName = DefaultCookieName
	}
	if err := (&http.Cookie{Name: opts.CookieName, Value: "x"}).Valid(); err != nil {
		return nil, fmt.Errorf("auth: cookie name %q: %w", opts.CookieName, err)
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sessions{c: opts.Coord, log: opts.Logger, now: opts.Now, lifetime: opts.Lifetime}
	m := scs.New()
	m.IdleTimeout = opts.IdleTimeout
	m.Lifetime = opts.Lifetime
	m.Store = &sessionStore{c: opts.Coord, now: opts.Now}
	m.Cookie.Name = opts.CookieName
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Path = "/"
	m.Cookie.Secure = opts.Secure
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.log.Error("session store failed", zap.String("path", r.URL.Path), zap.Error(err))
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
	s.mgr = m
	return s, nil
}

// reqState is the per-request verdict of Middleware's check.
type reqState struct {
	mu sync.Mutex
	// distrust: the principal could not be confirmed (coord failed), so
	// this request is treated as signed out without destroying the session.
	distrust bool
}

type reqKey struct{}

func requestState(ctx context.Context) *reqState {
	rs, _ := ctx.Value(reqKey{}).(*reqState)
	return rs
}

// Middleware loads the browser's session before next and saves it (and
// sets the cookie) after. It also ends a session past its absolute lifetime
// or signed out everywhere, once per request, so Current stays cheap.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return s.mgr.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs := &reqState{}
		ctx := context.WithValue(r.Context(), reqKey{}, rs)
		s.check(ctx, rs)
		next.ServeHTTP(w, r.WithContext(ctx))
	}))
}

func (s *Sessions) check(ctx context.Context, rs *reqState) {
	sp, ok := s.stored(ctx)
	if !ok {
		return
	}
	end := func(why string) {
		if err := s.mgr.Destroy(ctx); err != nil {
			s.log.Warn("could not end session", zap.String("user_id", sp.UserID), zap.String("reason", why), zap.Error(err))
			rs.distrust = true
		}
	}
	if s.pastLifetime(sp.Principal) {
		end("lifetime")
		return
	}
	idx, err := s.readIndex(ctx, sp.UserID)
	if errors.Is(err, coord.ErrNotFound) || (err == nil && idx.Gen != sp.Gen) {
		end("signed_out_everywhere")
		return
	}
	if err != nil {
		s.log.Warn("could not confirm session", zap.String("user_id", sp.UserID), zap.Error(err))
		rs.distrust = true
	}
}

func (s *Sessions) pastLifetime(p Principal) bool {
	return !s.now().Before(p.SignedInAt.Add(s.lifetime))
}

// stored returns the session's principal, if ctx has a session with one.
func (s *Sessions) stored(ctx context.Context) (storedPrincipal, bool) {
	var sp storedPrincipal
	b := s.mgr.GetBytes(ctx, keyPrincipal)
	if b == nil || json.Unmarshal(b, &sp) != nil || sp.UserID == "" {
		return storedPrincipal{}, false
	}
	return sp, true
}

// Current returns the signed-in person of ctx's session. Outside
// Middleware, or without a live session, it reports false.
func (s *Sessions) Current(ctx context.Context) (Principal, bool) {
	rs := requestState(ctx)
	if rs == nil {
		return Principal{}, false
	}
	rs.mu.Lock()
	distrust := rs.distrust
	rs.mu.Unlock()
	if distrust {
		return Principal{}, false
	}
	sp, ok := s.stored(ctx)
	if !ok || s.pastLifetime(sp.Principal) {
		return Principal{}, false
	}
	return sp.Principal, true
}

// SignIn makes p the session's person. The session token is renewed, so a
// token planted before sign-in (session fixation) is worthless after it;
// other values of the session (such as its OAuth state binding) are kept.
// SignedInAt is stamped now.
func (s *Sessions) SignIn(ctx context.Context, p Principal) error {
	if p.UserID == "" {
		return errors.New("auth: sign in: empty user id")
	}
	switch p.Source {
	case SourceWeCom, SourceWeChat, SourceCAS, SourceWebLogin, SourcePhone:
	default:
		return fmt.Errorf("auth: sign in %s: unknown source %q", p.UserID, p.Source)
	}
	rs := requestState(ctx)
	if rs == nil {
		return ErrNoSession
	}
	if err := s.mgr.RenewToken(ctx); err != nil {
		return fmt.Errorf("auth: sign in %s: renew token: %w", p.UserID, err)
	}
	now := s.now()
	p.SignedInAt = now
	key := sessionKey(s.mgr.Token(ctx))
	var gen string
	err := s.withPerson(ctx, p.UserID, func(idx *personIndex) bool {
		for k, deadline := range idx.Sessions {
			if deadline <= now.UnixNano() {
				delete(idx.Sessions, k)
			}
		}
		idx.Sessions[key] = now.Add(s.lifetime).UnixNano()
		gen = idx.Gen
		return true
	})
	if err != nil {
		return fmt.Errorf("auth: sign in %s: %w", p.UserID, err)
	}
	b, err := json.Marshal(storedPrincipal{Principal: p, Gen: gen})
	if err != nil {
		return fmt.Errorf("auth: sign in %s: %w", p.UserID, err)
	}
	s.mgr.Put(ctx, keyPrincipal, b)
	rs.mu.Lock()
	rs.distrust = false
	rs.mu.Unlock()
	return nil
}

// ErrNotSignedIn is returned by SetIdentity when ctx's session has no
// signed-in person.
var ErrNotSignedIn = errors.New("auth: not signed in")

// SetIdentity records the identity (a workbench role key) the signed-in
// person now acts as, for the rest of the session. The token is kept: the
// person is the same, only their choice changed. "" clears the choice.
func (s *Sessions) SetIdentity(ctx context.Context, identity string) error {
	if requestState(ctx) == nil {
		return ErrNoSession
	}
	if _, ok := s.Current(ctx); !ok {
		return ErrNotSignedIn
	}
	sp, _ := s.stored(ctx)
	sp.Identity = identity
	b, err := json.Marshal(sp)
	if err != nil {
		return fmt.Errorf("auth: set identity of %s: %w", sp.UserID, err)
	}
	s.mgr.Put(ctx, keyPrincipal, b)
	return nil
}

// SignOut ends ctx's session: its data is deleted and the browser is told
// to drop the cookie.
func (s *Sessions) SignOut(ctx context.Context) error {
	if requestState(ctx) == nil {
		return ErrNoSession
	}
	if err := s.mgr.Destroy(ctx); err != nil {
		return fmt.Errorf("auth: sign out: %w", err)
	}
	return nil
}

// SignOutEverywhere ends every session of userID on every instance: the
// sessions in the person's index are deleted, and a new generation makes
// any session that escaped (one re-saved by a request in flight) end at its
// next request. ctx need not come through Middleware; when it does and its
// session is that person's, the cookie is dropped too.
func (s *Sessions) SignOutEverywhere(ctx context.Context, userID string) error {
	if userID == "" {
		return errors.New("auth: sign out everywhere: empty user id")
	}
	err := s.withPerson(ctx, userID, func(idx *personIndex) bool {
		keys := make([]string, 0, len(idx.Sessions))
		for k := range idx.Sessions {
			keys = append(keys, k)
		}
		if len(keys) > 0 {
			if err := s.c.Delete(ctx, keys...); err != nil {
				// The new generation below still ends them.
				s.log.Warn("could not delete sessions", zap.String("user_id", userID), zap.Int("sessions", len(keys)), zap.Error(err))
			}
		}
		idx.Gen = randomToken(16)
		idx.Sessions = map[string]int64{}
		return true
	})
	if err != nil {
		return fmt.Errorf("auth: sign out everywhere %s: %w", userID, err)
	}
	if requestState(ctx) != nil {
		if sp, ok := s.stored(ctx); ok && sp.UserID == userID {
			if err := s.mgr.Destroy(ctx); err != nil {
				return fmt.Errorf("auth: sign out everywhere %s: %w", userID, err)
			}
		}
	}
	return nil
}

// withPerson runs fn on the person's index under the person's lock and
// saves it when fn says so. An absent index starts a fresh generation.
func (s *Sessions) withPerson(ctx context.Context, userID string, fn func(*personIndex) bool) error {
	l, err := coord.LockWait(ctx, s.c, personKey(userID), 10*time.Second, 20*time.Millisecond)
	if err != nil {
		return fmt.Errorf("lock person index: %w", err)
	}
	defer func() {
		if err := l.Release(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("person index lock", zap.String("user_id", userID), zap.Error(err))
		}
	}()
	idx, err := s.readIndex(ctx, userID)
	if errors.Is(err, coord.ErrNotFound) {
		idx, err = personIndex{Gen: randomToken(16)}, nil
	}
	if err != nil {
		return err
	}
	if idx.Sessions == nil {
		idx.Sessions = map[string]int64{}
	}
	if !fn(&idx) {
		return nil
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	// The index outlives every session it lists (each ends within one
	// lifetime of its sign-in), so its generation is there to compare with.
	if err := s.c.Set(ctx, personKey(userID), b, s.lifetime); err != nil {
		return fmt.Errorf("save person index: %w", err)
	}
	return nil
}

// readIndex returns the person's index or coord.ErrNotFound. A corrupt
// index reads as absent: it ends the person's sessions, failing closed.
func (s *Sessions) readIndex(ctx context.Context, userID string) (personIndex, error) {
	b, err := s.c.Get(ctx, personKey(userID))
	if err != nil {
		if errors.Is(err, coord.ErrNotFound) {
			return personIndex{}, err
		}
		return personIndex{}, fmt.Errorf("read person index: %w", err)
	}
	var idx personIndex
	if json.Unmarshal(b, &idx) != nil {
		return personIndex{}, coord.ErrNotFound
	}
	return idx, nil
}

// randomToken returns n random bytes, base64url-encoded. crypto/rand.Read
// does not fail on supported platforms (Go 1.24+ crashes instead).
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
