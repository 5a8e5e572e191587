package coord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"sync"
	"time"
)

// Memory is the in-process Store for a single instance (the embedded
// default). Expired keys are dropped lazily and by a sweep every few
// thousand writes, so memory stays bounded without a background goroutine.
type Memory struct {
	mu      sync.Mutex
	now     func() time.Time
	values  map[string]memValue
	buckets map[string]*bucket
	writes  int
}

type memValue struct {
	v       []byte
	expires time.Time // zero: never
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewMemory returns an empty in-process store. now may be nil (time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, values: map[string]memValue{}, buckets: map[string]*bucket{}}
}

func (m *Memory) live(key string, now time.Time) (memValue, bool) {
	v, ok := m.values[key]
	if !ok {
		return memValue{}, false
	}
	if !v.expires.IsZero() && !now.Before(v.expires) {
		delete(m.values, key)
		return memValue{}, false
	}
	return v, true
}

func (m *Memory) put(key string, value []byte, ttl time.Duration, now time.Time) {
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	m.values[key] = memValue{v: append([]byte(nil), value...), expires: exp}
	m.writes++
	if m.writes%4096 == 0 {
		for k, v := range m.values {
			if !v.expires.IsZero() && !now.Before(v.expires) {
				delete(m.values, k)
			}
		}
	}
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.live(key, m.now())
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte(nil), v.v...), nil
}

// Set implements Store.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(key, value, ttl, m.now())
	return nil
}

// SetNX implements Store.
func (m *Memory) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if _, ok := m.live(key, now); ok {
		return false, nil
	}
	m.put(key, value, ttl, now)
	return true, nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.values, k)
	}
	return nil
}

// TryLock implements Store.
func (m *Memory) TryLock(ctx context.Context, key string, lease time.Duration) (*Lock, error) {
	token := newToken()
	ok, err := m.SetNX(ctx, lockKey(key), []byte(token), lease)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrLocked
	}
	return &Lock{key: key, token: token, b: m}, nil
}

func (m *Memory) release(ctx context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.live(lockKey(key), m.now())
	if !ok || string(v.v) != token {
		return ErrLockLost
	}
	delete(m.values, lockKey(key))
	return nil
}

func (m *Memory) extend(ctx context.Context, key, token string, lease time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	v, ok := m.live(lockKey(key), now)
	if !ok || string(v.v) != token {
		return ErrLockLost
	}
	m.put(lockKey(key), v.v, lease, now)
	return nil
}

// Allow implements Store.
func (m *Memory) Allow(ctx context.Context, key string, limit Limit) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	b, ok := m.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(limit.Burst), last: now}
		m.buckets[key] = b
	}
	ok, after := take(b, limit, now)
	return ok, after, nil
}

// take is the token-bucket step shared in spirit with the Redis script.
func take(b *bucket, limit Limit, now time.Time) (bool, time.Duration) {
	elapsed := now.Sub(b.last).Seconds()
	if elapsed > 0 {
		b.tokens = math.Min(float64(limit.Burst), b.tokens+elapsed*limit.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if limit.Rate <= 0 {
		return false, time.Hour
	}
	need := (1 - b.tokens) / limit.Rate
	return false, time.Duration(math.Ceil(need * float64(time.Second)))
}

// Ping implements Store.
func (m *Memory) Ping(ctx context.Context) error { return nil }

// Close implements Store.
func (m *Memory) Close() error { return nil }

func lockKey(key string) string { return "lock:" + key }

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AllowBatch implements Batcher: one lock for all of them.
func (m *Memory) AllowBatch(ctx context.Context, keys []string, limits []Limit) ([]Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]Decision, len(keys))
	for i, key := range keys {
		b, ok := m.buckets[key]
		if !ok {
			b = &bucket{tokens: float64(limits[i].Burst), last: now}
			m.buckets[key] = b
		}
		out[i].OK, out[i].RetryAfter = take(b, limits[i], now)
	}
	return out, nil
}
