// Package coordtest is the behaviour every coord.Store must have, run
// against each implementation, so the embedded default and production agree.
package coordtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/coord"
)

// Run runs the shared suite. newStore returns a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) coord.Store) {
	ctx := context.Background()

	t.Run("get set delete", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "a"); !errors.Is(err, coord.ErrNotFound) {
			t.Fatalf("get absent: %v, want ErrNotFound", err)
		}
		if err := s.Set(ctx, "a", []byte("token-1"), time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "a")
		if err != nil || string(got) != "token-1" {
			t.Fatalf("get = %q, %v", got, err)
		}
		if err := s.Delete(ctx, "a", "never-set"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "a"); !errors.Is(err, coord.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("ttl expires", func(t *testing.T) {
		s := newStore(t)
		if err := s.Set(ctx, "short", []byte("x"), 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "long", []byte("y"), time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
		if _, err := s.Get(ctx, "short"); !errors.Is(err, coord.ErrNotFound) {
			t.Fatalf("expired key still readable: %v", err)
		}
		if _, err := s.Get(ctx, "long"); err != nil {
			t.Fatalf("unexpired key lost: %v", err)
		}
	})

	t.Run("setnx only once across goroutines", func(t *testing.T) {
		s := newStore(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				ok, err := s.SetNX(ctx, "dedupe:msg-1", []byte(fmt.Sprint(i)), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d callers won SetNX, want exactly 1", wins.Load())
		}
	})

	t.Run("lock excludes, releases, expires", func(t *testing.T) {
		s := newStore(t)
		l, err := s.TryLock(ctx, "sync-run", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TryLock(ctx, "sync-run", time.Minute); !errors.Is(err, coord.ErrLocked) {
			t.Fatalf("second TryLock: %v, want ErrLocked", err)
		}
		if err := l.Extend(ctx, time.Minute); err != nil {
			t.Fatalf("extend held lock: %v", err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Release(ctx); !errors.Is(err, coord.ErrLockLost) {
			t.Fatalf("double release: %v, want ErrLockLost", err)
		}
		short, err := s.TryLock(ctx, "lease", 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
		next, err := s.TryLock(ctx, "lease", time.Minute)
		if err != nil {
			t.Fatalf("lock not free after lease expiry: %v", err)
		}
		// The expired holder must not be able to release or extend the new holder's lock.
		if err := short.Release(ctx); !errors.Is(err, coord.ErrLockLost) {
			t.Fatalf("stale release: %v, want ErrLockLost", err)
		}
		if err := short.Extend(ctx, time.Minute); !errors.Is(err, coord.ErrLockLost) {
			t.Fatalf("stale extend: %v, want ErrLockLost", err)
		}
		if err := next.Release(ctx); err != nil {
			t.Fatalf("new holder lost its lock: %v", err)
		}
	})

	t.Run("lock wait", func(t *testing.T) {
		s := newStore(t)
		l, err := s.TryLock(ctx, "w", 150*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		_ = l
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		l2, err := coord.LockWait(wctx, s, "w", time.Minute, 20*time.Millisecond)
		if err != nil {
			t.Fatalf("LockWait: %v", err)
		}
		_ = l2.Release(ctx)
	})

	t.Run("token bucket", func(t *testing.T) {
		s := newStore(t)
		lim := coord.Limit{Rate: 5, Burst: 3}
		granted := 0
		var retry time.Duration
		for i := 0; i < 10; i++ {
			ok, after, err := s.Allow(ctx, "api:message/send", lim)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				granted++
			} else {
				retry = after
			}
		}
		// Ten immediate calls get the burst, give or take one refilled
		// token if the loop straddles a refill.
		if granted < 3 || granted > 4 {
			t.Fatalf("granted %d of 10 immediate calls with burst 3", granted)
		}
		if retry <= 0 || retry > 300*time.Millisecond {
			t.Fatalf("retryAfter = %v, want (0, 200ms] at 5/s", retry)
		}
		time.Sleep(retry + 50*time.Millisecond)
		ok, _, err := s.Allow(ctx, "api:message/send", lim)
		if err != nil || !ok {
			t.Fatalf("token not refilled after retryAfter: %v %v", ok, err)
		}
		// Buckets are independent per key.
		ok, _, err = s.Allow(ctx, "api:user/get", lim)
		if err != nil || !ok {
			t.Fatalf("separate bucket denied: %v %v", ok, err)
		}
	})

	t.Run("allow many", func(t *testing.T) {
		s := newStore(t)
		if _, ok := s.(coord.Batcher); !ok {
			t.Fatal("the store does not batch: each bucket would be a round trip")
		}
		slow := coord.Limit{Rate: 0.001, Burst: 2}
		// A key repeated takes a token each time, in order; other keys
		// are their own buckets; Allow sees what AllowMany took.
		keys := []string{"q:a", "q:a", "q:a", "q:b", "q:day", "q:day"}
		ds, err := coord.AllowMany(ctx, s, keys, []coord.Limit{slow, slow, slow, slow, slow, slow})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]bool, len(ds))
		for i, d := range ds {
			got[i] = d.OK
		}
		if want := []bool{true, true, false, true, true, true}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("AllowMany %v, want %v", got, want)
		}
		if ds[2].RetryAfter < 10*time.Minute {
			t.Errorf("the refused token's wait %v, want ~1000 s at 0.001/s", ds[2].RetryAfter)
		}
		if ok, _, err := s.Allow(ctx, "q:b", slow); err != nil || !ok {
			t.Fatalf("q:b's second token: %v %v", ok, err)
		}
		if ok, _, err := s.Allow(ctx, "q:day", slow); err != nil || ok {
			t.Fatalf("q:day's third token was granted (%v %v): AllowMany's were not counted", ok, err)
		}
	})

	t.Run("ping", func(t *testing.T) {
		if err := newStore(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
