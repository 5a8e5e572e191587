package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/wecomapp/wecomapp/coord"
)

// StateTTL is how long an OAuth state may wait for WeCom's redirect back.
// CodeTTL is how long a used OAuth code is remembered: longer than the five
// minutes WeCom keeps a code valid (docs/wecom.md §4.1).
const (
	StateTTL = 10 * time.Minute
	CodeTTL  = 10 * time.Minute
)

var (
	// ErrBadState: the state that came back is unknown, expired, already
	// used or was issued to another browser. The person starts sign-in again.
	ErrBadState = errors.New("auth: sign-in state is not valid here")
	// ErrCodeReused: this OAuth code was presented before (a replayed or
	// double-submitted redirect).
	ErrCodeReused = errors.New("auth: OAuth code already used")
)

// stateRecord is an issued state, in coord under stateKey.
type stateRecord struct {
	Browser  string `json:"browser"` // digest of the session's browser id
	ReturnTo string `json:"return_to"`
	Issued   int64  `json:"issued"` // Unix nanoseconds, on the package's clock
}

func stateKey(state string) string     { return "auth:state:" + digest(state) }
func stateUsedKey(state string) string { return "auth:state-used:" + digest(state) }

// NewState issues the state parameter for an OAuth authorize URL (and the
// web-login QR URL). It is random hex, bound to this browser's session (the session is created if
// needed, so the response sets the cookie) and remembers where to send the
// person afterwards: returnTo, sanitized by SafeReturnTo.
func (s *Sessions) NewState(ctx context.Context, returnTo string) (string, error) {
	if requestState(ctx) == nil {
		return "", ErrNoSession
	}
	browser := s.mgr.GetString(ctx, keyBrowser)
	if browser == "" {
		browser = randomToken(32)
		s.mgr.Put(ctx, keyBrowser, browser)
	}
	// WeCom accepts only [a-zA-Z0-9]{1,128} as state (docs/wecom.md §4.1).
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	state := hex.EncodeToString(raw[:])
	b, err := json.Marshal(stateRecord{Browser: digest(browser), ReturnTo: SafeReturnTo(returnTo), Issued: s.now().UnixNano()})
	if err != nil {
		return "", fmt.Errorf("auth: new state: %w", err)
	}
	if err := s.c.Set(ctx, stateKey(state), b, StateTTL); err != nil {
		return "", fmt.Errorf("auth: new state: %w", err)
	}
	return state, nil
}

// TakeState accepts the state WeCom sent back and returns the page to go
// to. It succeeds once, in the browser session it was issued to, within
// StateTTL; otherwise the error wraps ErrBadState. A state presented by
// another browser is refused without being spent, so a forger cannot burn
// the rightful person's sign-in.
func (s *Sessions) TakeState(ctx context.Context, state string) (string, error) {
	if requestState(ctx) == nil {
		return "", ErrNoSession
	}
	if state == "" || len(state) > 128 {
		return "", fmt.Errorf("%w: missing or malformed", ErrBadState)
	}
	b, err := s.c.Get(ctx, stateKey(state))
	if errors.Is(err, coord.ErrNotFound) {
		return "", fmt.Errorf("%w: unknown, expired or used", ErrBadState)
	}
	if err != nil {
		return "", fmt.Errorf("auth: take state: %w", err)
	}
	var rec stateRecord
	if json.Unmarshal(b, &rec) != nil {
		return "", fmt.Errorf("%w: unreadable", ErrBadState)
	}
	if s.now().Sub(time.Unix(0, rec.Issued)) >= StateTTL {
		return "", fmt.Errorf("%w: expired", ErrBadState)
	}
	browser := s.mgr.GetString(ctx, keyBrowser)
	if browser == "" || subtle.ConstantTimeCompare([]byte(digest(browser)), []byte(rec.Browser)) != 1 {
		return "", fmt.Errorf("%w: issued to another browser", ErrBadState)
	}
	// Two requests racing with the same state: set-if-absent lets one win.
	won, err := s.c.SetNX(ctx, stateUsedKey(state), []byte{1}, StateTTL)
	if err != nil {
		return "", fmt.Errorf("auth: take state: %w", err)
	}
	if !won {
		return "", fmt.Errorf("%w: used", ErrBadState)
	}
	// The used marker already refuses a second take; deleting the record
	// only frees space early, so its failure changes nothing.
	_ = s.c.Delete(ctx, stateKey(state))
	return SafeReturnTo(rec.ReturnTo), nil
}

// SafeReturnTo returns raw when it is a same-site relative path such as
// "/workbench?x=1", and "/" otherwise. Refused: absolute URLs
// ("https://evil"), scheme-relative ones ("//evil"), backslashes (browsers
// read "/\evil" as "//evil"), spaces and control characters, and anything
// over 2 KB.
func SafeReturnTo(raw string) string {
	if raw == "" || len(raw) > 2048 || raw[0] != '/' {
		return "/"
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return raw
}

// UseCodeOnce records that an OAuth code was presented and refuses it
// (ErrCodeReused) if it was presented before, on any instance. Only a
// digest of the code is kept.
func UseCodeOnce(ctx context.Context, c coord.Store, code string) error {
	if code == "" {
		return errors.New("auth: use OAuth code: empty code")
	}
	first, err := c.SetNX(ctx, "auth:oauth-code:"+digest(code), []byte{1}, CodeTTL)
	if err != nil {
		return fmt.Errorf("auth: use OAuth code: %w", err)
	}
	if !first {
		return ErrCodeReused
	}
	return nil
}
