package wecom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/wecomapp/wecomapp/coord"
)

// Access tokens and JS-SDK tickets share one scheme (the "shared value"):
//
//   - The value lives in coord under a key derived from what it belongs to
//     (a hash of corpid+secret for a token), so every instance uses the same
//     one and the secret never appears in a key.
//   - Fetching takes a coord lock and re-reads the cache under it: the
//     first instance fetches, the others wait on the lock and find the
//     winner's value. silenceper's handle locks only in-process and keys by
//     corp id (+agent id), which mixes up the contacts secret and app
//     secrets (silenceper issue #706), so it is not used.
//   - In the last 10 % of the lifetime one caller (whoever gets the lock
//     without waiting) fetches a new value while everybody else keeps using
//     the still-valid one.
//   - When WeCom rejects a token (40014/42001/40001/41001) the caller asks for
//     a refresh "replacing" that exact token: under the lock, a value that
//     differs from it (another instance already refreshed) is taken as is;
//     only the rejected one is replaced. No delete is ever issued, so a newer
//     token can never be thrown away by a late invalidation.
//   - When coord fails (Redis down), WeCom calls go on: every value this
//     process fetched or read is also kept in a per-process cache
//     (localValues), and while coord is unavailable values are read from
//     and fetched into it, one fetch at a time per value (singleflight).
//     That is safe: a token is not tied to the instance that fetched it,
//     and one that another instance's fetch or WeCom itself ended is
//     answered 40014/42001 and replaced once, like any rejected token
//     (docs/wecom.md §1; older doc text even promises the same token for a
//     repeated gettoken within its lifetime). While degraded,
//     coord is tried again at most every coordRetry; the transitions are
//     logged once each (WARN down, INFO back) and every value served from
//     the fallback counts in wecom_token_cache_fallback_total.

// Lifetime margins.
const (
	refreshAheadFraction = 0.9              // start refreshing at 90 % of the lifetime
	expirySafety         = 30 * time.Second // never hand out a value this close to its end
	lockPoll             = 25 * time.Millisecond
	// coordRetry is how long values come from the per-process cache after
	// a coord failure before coord is tried again: a dead Redis costs a
	// failed round trip (and go-redis's retries) at most this often, not on
	// every WeCom call.
	coordRetry = 5 * time.Second
)

// cachedValue is what coord holds for a token or ticket.
type cachedValue struct {
	V       string `json:"v"`
	Fetched int64  `json:"f"` // unix ms
	Expires int64  `json:"e"` // unix ms
	// Final: WeCom handed back the value we already had (older doc text:
	// "repeated gettoken within validity returns the same token"), or one
	// about to expire. Nothing fresher exists until it expires, so it is
	// used to its end and not refreshed ahead — otherwise every call in the
	// last seconds would fetch it again.
	Final bool `json:"x,omitempty"`
}

func (v cachedValue) usable(now time.Time) bool {
	if v.V == "" {
		return false
	}
	if v.Final {
		return now.UnixMilli() < v.Expires
	}
	return now.Add(expirySafety).UnixMilli() < v.Expires
}

func (v cachedValue) dueForRefresh(now time.Time) bool {
	if v.Final {
		return false
	}
	at := v.Fetched + int64(float64(v.Expires-v.Fetched)*refreshAheadFraction)
	return now.UnixMilli() >= at
}

// shared is one coord-cached value with single-flight refresh across
// instances.
type shared struct {
	corp  *Corp
	key   string // coord key
	kind  string // metrics/log label: access_token, jsapi_ticket, agent_ticket
	owner string // client name, for logs and metrics
	hash  string // short hash for logs
	fetch func(ctx context.Context) (string, time.Duration, error)
}

func (s *shared) load(ctx context.Context) (cachedValue, bool, error) {
	b, err := s.corp.store.Get(ctx, s.key)
	if errors.Is(err, coord.ErrNotFound) {
		return cachedValue{}, false, nil
	}
	if err != nil {
		return cachedValue{}, false, fmt.Errorf("wecom: read cached %s %s: %w", s.kind, s.hash, err)
	}
	var v cachedValue
	if err := json.Unmarshal(b, &v); err != nil {
		// A value we cannot read is as good as absent; it is overwritten.
		return cachedValue{}, false, nil
	}
	return v, true, nil
}

// get returns a usable value, fetching one if there is none.
func (s *shared) get(ctx context.Context) (string, error) {
	if s.corp.fallback.active(s.corp.now()) {
		return s.getLocal(ctx)
	}
	v, ok, err := s.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", err // the caller gave up; coord may be fine
		}
		s.degrade(err)
		return s.getLocal(ctx)
	}
	s.corp.fallback.up(s.corp.log)
	now := s.corp.now()
	if ok && v.usable(now) {
		s.corp.fallback.remember(s.key, v)
		if v.dueForRefresh(now) {
			if nv, ok := s.refreshAhead(ctx, v); ok {
				return nv, nil
			}
		}
		return v.V, nil
	}
	return s.refresh(ctx, "")
}

func (s *shared) lease() time.Duration {
	d := s.corp.timeout*time.Duration(s.corp.retry.MaxAttempts) + 10*time.Second
	if d < 30*time.Second {
		d = 30 * time.Second
	}
	return d
}

// refresh returns a usable value other than bad, fetching one under the
// lock unless another caller already did.
func (s *shared) refresh(ctx context.Context, bad string) (string, error) {
	if s.corp.fallback.active(s.corp.now()) {
		return s.fetchLocal(ctx, bad)
	}
	lock, err := coord.LockWait(ctx, s.corp.store, s.key, s.lease(), lockPoll)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("wecom: lock %s %s: %w", s.kind, s.hash, err)
		}
		s.degrade(err)
		return s.fetchLocal(ctx, bad)
	}
	defer s.release(ctx, lock)
	v, ok, err := s.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		s.degrade(err)
		return s.fetchLocal(ctx, bad)
	}
	if ok && v.usable(s.corp.now()) && v.V != bad {
		s.corp.fallback.remember(s.key, v)
		return v.V, nil // someone else refreshed while we waited
	}
	return s.fetchStore(ctx, v.V)
}

// refreshAhead fetches a successor while the current value is still good.
// It never waits for the lock: if another caller holds it, the current value
// is used meanwhile. A failure is logged and the old value kept.
func (s *shared) refreshAhead(ctx context.Context, cur cachedValue) (string, bool) {
	lock, err := s.corp.store.TryLock(ctx, s.key, s.lease())
	if err != nil {
		return "", false
	}
	defer s.release(ctx, lock)
	v, ok, err := s.load(ctx)
	if err != nil {
		return "", false
	}
	if ok && v.V != cur.V && v.usable(s.corp.now()) {
		return v.V, true
	}
	nv, err := s.fetchStore(ctx, cur.V)
	if err != nil {
		s.corp.log.Warn("refresh ahead failed; keeping the current value", zap.String("kind", s.kind),
			zap.String("client", s.owner), zap.String("secret_hash", s.hash), zap.Error(err))
		return "", false
	}
	return nv, true
}

// fetchStore fetches a value and shares it; prev is the value it replaces.
func (s *shared) fetchStore(ctx context.Context, prev string) (string, error) {
	v, life, err := s.fetchValue(ctx, prev)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(v)
	if err := s.corp.store.Set(ctx, s.key, b, life); err != nil && ctx.Err() == nil {
		// The value is good and kept in this process; other instances
		// fetch their own (WeCom hands back the same one).
		s.degrade(err)
	}
	return v.V, nil
}

// fetchValue fetches a value, logs it and keeps it in the per-process
// cache.
func (s *shared) fetchValue(ctx context.Context, prev string) (cachedValue, time.Duration, error) {
	val, life, err := s.fetch(ctx)
	s.corp.metrics.refreshed(s.kind, s.owner, err)
	if err != nil {
		return cachedValue{}, 0, err
	}
	if life <= 0 {
		life = 7200 * time.Second
	}
	now := s.corp.now()
	v := cachedValue{V: val, Fetched: now.UnixMilli(), Expires: now.Add(life).UnixMilli(), Final: val == prev || life <= 2*expirySafety}
	s.corp.fallback.remember(s.key, v)
	s.corp.log.Info("refreshed", zap.String("kind", s.kind), zap.String("client", s.owner),
		zap.String("secret_hash", s.hash), zap.Duration("lifetime", life))
	return v, life, nil
}

// degrade records a coord failure: values come from this process until
// coord answers again.
func (s *shared) degrade(err error) {
	s.corp.fallback.down(s.corp.now(), s.corp.log, s.kind, err)
}

// getLocal is get while coord is unavailable: the value this process
// holds, fetched when there is none (or refreshed ahead in the last tenth
// of its lifetime, keeping the current one if that fails).
func (s *shared) getLocal(ctx context.Context) (string, error) {
	s.corp.metrics.fellBack(s.kind, s.owner)
	now := s.corp.now()
	v, ok := s.corp.fallback.value(s.key)
	if ok && v.usable(now) {
		if !v.dueForRefresh(now) {
			return v.V, nil
		}
		nv, err := s.fetchLocal(ctx, "")
		if err != nil {
			s.corp.log.Warn("refresh ahead failed; keeping the current value", zap.String("kind", s.kind),
				zap.String("client", s.owner), zap.String("secret_hash", s.hash), zap.Error(err))
			return v.V, nil
		}
		return nv, nil
	}
	return s.fetchLocal(ctx, "")
}

// fetchLocal returns a fresh usable value other than bad from this
// process, fetching it unless a concurrent fetch just did. Concurrent
// callers share one fetch; each stops waiting when its own ctx ends.
func (s *shared) fetchLocal(ctx context.Context, bad string) (string, error) {
	ch := s.corp.fallback.flights.DoChan(s.key+"\x00"+bad, func() (any, error) {
		now := s.corp.now()
		cur, ok := s.corp.fallback.value(s.key)
		if ok && cur.usable(now) && cur.V != bad && !cur.dueForRefresh(now) {
			return cur.V, nil // fetched by the flight that just ended
		}
		// The fetch outlives a caller that gives up, so the others
		// waiting on it are not failed by that caller's deadline.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lease())
		defer cancel()
		v, _, err := s.fetchValue(fctx, cur.V)
		if err != nil {
			return "", err
		}
		return v.V, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("wecom: waiting for %s %s: %w", s.kind, s.hash, ctx.Err())
	}
}

// localValues is the per-process copy of every shared value this Corp
// used, and whether coord is currently failing. The zero value is ready.
type localValues struct {
	mu       sync.Mutex
	values   map[string]cachedValue // by coord key
	degraded bool
	retryAt  time.Time // while degraded: when to try coord again
	flights  singleflight.Group
}

// remember keeps v as the current value of key.
func (l *localValues) remember(key string, v cachedValue) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.values == nil {
		l.values = map[string]cachedValue{}
	}
	if cur, ok := l.values[key]; ok && cur == v {
		return
	}
	l.values[key] = v
}

func (l *localValues) value(key string) (cachedValue, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.values[key]
	return v, ok
}

// active reports whether values must come from this process without
// asking coord (it failed less than coordRetry ago).
func (l *localValues) active(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.degraded && now.Before(l.retryAt)
}

// down records a coord failure, logging only the transition.
func (l *localValues) down(now time.Time, log *zap.Logger, kind string, err error) {
	l.mu.Lock()
	was := l.degraded
	l.degraded, l.retryAt = true, now.Add(coordRetry)
	l.mu.Unlock()
	if !was {
		log.Warn("coordination store unavailable; access tokens and tickets fall back to a per-process cache",
			zap.String("kind", kind), zap.Duration("retry_every", coordRetry), zap.Error(err))
	}
}

// up records that coord answered, logging only the transition.
func (l *localValues) up(log *zap.Logger) {
	l.mu.Lock()
	was := l.degraded
	l.degraded = false
	l.mu.Unlock()
	if was {
		log.Info("coordination store reachable again; access tokens and tickets are shared again")
	}
}

func (s *shared) release(ctx context.Context, l *coord.Lock) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = l.Release(rctx) // an expired lease only means the next caller did not wait
}

// tokenSource is the access token of one secret.
type tokenSource struct {
	shared
	secret string
}

// secretHash identifies (corpid, secret) without revealing the secret.
func secretHash(corpID, secret string) string {
	h := sha256.Sum256([]byte(corpID + "\x00" + secret))
	return hex.EncodeToString(h[:16])
}

func newTokenSource(cl *Client, secret string) *tokenSource {
	h := secretHash(cl.corp.corpID, secret)
	ts := &tokenSource{secret: secret}
	ts.shared = shared{
		corp:  cl.corp,
		key:   "wecom:token:" + h,
		kind:  "access_token",
		owner: cl.name,
		hash:  h[:12],
	}
	ts.fetch = func(ctx context.Context) (string, time.Duration, error) { return ts.fetchToken(ctx, cl) }
	return ts
}

type tokenResponse struct {
	apiResponse
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchToken calls gettoken through the executor (retries on -1/5xx, none
// on 40001).
func (ts *tokenSource) fetchToken(ctx context.Context, cl *Client) (string, time.Duration, error) {
	var out tokenResponse
	spec := callSpec{api: apiGetToken, idempotent: true, noToken: true, fields: []zap.Field{zap.String("secret_hash", ts.hash)}}
	err := cl.do(ctx, spec, func(cs *callState) error {
		out = tokenResponse{}
		return cs.getJSON(apiGetToken, url.Values{"corpid": {cl.corp.corpID}, "corpsecret": {ts.secret}}, &out)
	})
	if err != nil {
		return "", 0, fmt.Errorf("wecom: gettoken for %s (secret %s): %w", cl.name, ts.hash, err)
	}
	if out.AccessToken == "" {
		return "", 0, fmt.Errorf("wecom: gettoken for %s (secret %s): empty access_token", cl.name, ts.hash)
	}
	return out.AccessToken, time.Duration(out.ExpiresIn) * time.Second, nil
}

const apiGetToken = "gettoken"
