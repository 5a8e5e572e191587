package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/wecomapp/wecomapp/coord"
)

var _ scs.CtxStore = (*sessionStore)(nil)

// sessionStore is scs's CtxStore over coord.Store.
//
// Keys hold a digest of the token, not the token, so a dump of Redis cannot
// be replayed as cookies. Each value carries its own expiry, read on the
// package's clock: coord's TTL only collects garbage. That keeps expiry
// exact on Redis as well as in memory, and lets tests move time.
//
// There is no AllCtx: coord.Store cannot list keys, and nothing needs to
// walk every session (SignOutEverywhere uses the per-person index).
type sessionStore struct {
	c   coord.Store
	now func() time.Time
}

// sessionKey is where a session token's data lives in coord.
func sessionKey(token string) string { return "auth:session:" + digest(token) }

// digest is a short, non-reversible name for a secret (session token, OAuth
// state or code) usable in a coord key.
func digest(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Find implements scs.Store.
func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (s *sessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// FindCtx implements scs.CtxStore. A malformed value counts as not found,
// as scs asks: only a failing backend is an error.
func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	v, err := s.c.Get(ctx, sessionKey(token))
	if errors.Is(err, coord.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("auth: find session: %w", err)
	}
	if len(v) < 8 {
		return nil, false, nil
	}
	expires := time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))
	if !s.now().Before(expires) {
		return nil, false, nil
	}
	return v[8:], true, nil
}

// CommitCtx implements scs.CtxStore. scs computes expiry from the wall
// clock; what it means is "this long from now", so the remaining duration is
// carried over to the package's clock.
func (s *sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return s.DeleteCtx(ctx, token)
	}
	v := make([]byte, 8, 8+len(b))
	binary.BigEndian.PutUint64(v, uint64(s.now().Add(ttl).UnixNano()))
	v = append(v, b...)
	if err := s.c.Set(ctx, sessionKey(token), v, ttl); err != nil {
		return fmt.Errorf("auth: commit session: %w", err)
	}
	return nil
}

// DeleteCtx implements scs.CtxStore.
func (s *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if err := s.c.Delete(ctx, sessionKey(token)); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}
