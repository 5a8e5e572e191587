// Package coord is the coordination layer shared by every instance of the
// platform: short-lived values with a TTL, set-if-absent, leased locks and
// token-bucket rate limits. Two implementations sit behind one interface:
// Redis for production (several instances) and an in-process one for the
// embedded default (a single instance). Everything kept here can be rebuilt
// (tokens, locks, dedupe keys, buckets, sessions); durable work lives in SQL.
//
// coord imports no other package of the project.
package coord

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors.
var (
	// ErrNotFound is returned by Get when the key is absent or expired.
	ErrNotFound = errors.New("coord: key not found")
	// ErrLocked is returned by TryLock when another holder has the lock.
	ErrLocked = errors.New("coord: lock held by another holder")
	// ErrLockLost is returned by Extend or Release when the lease expired and
	// the lock was taken by someone else (or simply expired).
	ErrLockLost = errors.New("coord: lock lost")
)

// Limit is a token bucket: Rate tokens per second refill a bucket of Burst.
type Limit struct {
	Rate  float64
	Burst int
}

// PerMinute is a Limit allowing n events per minute with a burst of n, the
// shape WeCom documents its quotas in.
func PerMinute(n int) Limit { return Limit{Rate: float64(n) / 60, Burst: n} }

// Store is the coordination layer. Keys are plain strings; implementations
// add their own namespace prefix.
type Store interface {
	// Get returns the value of key or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl (ttl <= 0 means no expiry).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value only if key is absent and reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// TryLock takes the lock named key for lease, or returns ErrLocked.
	TryLock(ctx context.Context, key string, lease time.Duration) (*Lock, error)
	// Allow takes one token from the bucket named key. When the bucket is
	// empty it reports false and how long until a token is available.
	Allow(ctx context.Context, key string, limit Limit) (ok bool, retryAfter time.Duration, err error)
	// Ping reports whether the backend is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// lockBackend is what a Lock needs from its implementation.
type lockBackend interface {
	release(ctx context.Context, key, token string) error
	extend(ctx context.Context, key, token string, lease time.Duration) error
}

// Lock is a held lease. It is not safe for concurrent use by several
// goroutines; one worker holds it and extends it while it works.
type Lock struct {
	key   string
	token string
	b     lockBackend
}

// Key is the lock's name.
func (l *Lock) Key() string { return l.key }

// Release gives the lock up. It returns ErrLockLost when the lease had
// already expired and someone else may hold it now.
func (l *Lock) Release(ctx context.Context) error { return l.b.release(ctx, l.key, l.token) }

// Extend renews the lease; ErrLockLost means the work must stop, because
// another holder may have started.
func (l *Lock) Extend(ctx context.Context, lease time.Duration) error {
	return l.b.extend(ctx, l.key, l.token, lease)
}

// LockWait waits until the lock named key is free (polling every poll interval)
// and takes it, or returns ctx's error.
func LockWait(ctx context.Context, s Store, key string, lease, poll time.Duration) (*Lock, error) {
	if poll <= 0 {
		poll = 50 * time.Millisecond
	}
	for {
		l, err := s.TryLock(ctx, key, lease)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, ErrLocked) {
			return nil, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// Decision is one Allow's answer within AllowMany.
type Decision struct {
	OK         bool
	RetryAfter time.Duration
}

// Batcher is a Store that takes many buckets' tokens in one round trip
// (Redis pipelines them); AllowMany uses it when the Store is one.
type Batcher interface {
	AllowBatch(ctx context.Context, keys []string, limits []Limit) ([]Decision, error)
}

// AllowMany takes one token from each bucket keys[i] under limits[i] (a
// key may repeat: it then gives a token for each), as Allow would one
// after the other, and answers each. A Store that is a Batcher answers
// in one round trip; others are asked key by key.
func AllowMany(ctx context.Context, s Store, keys []string, limits []Limit) ([]Decision, error) {
	if len(keys) != len(limits) {
		return nil, errors.New("coord: AllowMany needs one limit per key")
	}
	if b, ok := s.(Batcher); ok {
		return b.AllowBatch(ctx, keys, limits)
	}
	out := make([]Decision, len(keys))
	for i, k := range keys {
		ok, wait, err := s.Allow(ctx, k, limits[i])
		if err != nil {
			return nil, err
		}
		out[i] = Decision{ok, wait}
	}
	return out, nil
}
