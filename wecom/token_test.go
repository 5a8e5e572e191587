package wecom

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
)

// fakeClock is a settable clock shared by the store and the Corp.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newShared builds a shared value over store whose fetch counts calls and
// returns "v1", "v2", …
func newShared(t *testing.T, store coord.Store, clk *fakeClock, fetches *atomic.Int64) *shared {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	corp := &Corp{store: store, now: clk.now, log: zap.NewNop(), metrics: m, timeout: time.Second, retry: RetryPolicy{}.withDefaults()}
	return &shared{corp: corp, key: "wecom:token:test", kind: "access_token", owner: "t", hash: "test",
		fetch: func(ctx context.Context) (string, time.Duration, error) {
			n := fetches.Add(1)
			return "v" + itoa64(n), 7200 * time.Second, nil
		}}
}

func TestSharedValue(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}

	t.Run("one fetch for many instances", func(t *testing.T) {
		store := coord.NewMemory(clk.now)
		var fetches atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			s := newShared(t, store, clk, &fetches) // one per "instance"
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v, err := s.get(ctx); err != nil || v != "v1" {
					t.Errorf("get = %q, %v; want v1", v, err)
				}
			}()
		}
		wg.Wait()
		if n := fetches.Load(); n != 1 {
			t.Errorf("%d fetches, want 1", n)
		}
	})

	t.Run("refresh replaces only the rejected value", func(t *testing.T) {
		store := coord.NewMemory(clk.now)
		var fetches atomic.Int64
		a, b := newShared(t, store, clk, &fetches), newShared(t, store, clk, &fetches)
		v1, _ := a.get(ctx)
		v2, err := a.refresh(ctx, v1) // A saw v1 rejected
		if err != nil || v2 != "v2" {
			t.Fatalf("refresh(v1) = %q, %v; want v2", v2, err)
		}
		// B also saw v1 rejected, later: it must take v2, not replace it.
		got, err := b.refresh(ctx, v1)
		if err != nil || got != "v2" {
			t.Fatalf("late refresh(v1) = %q, %v; want v2", got, err)
		}
		if n := fetches.Load(); n != 2 {
			t.Errorf("%d fetches, want 2", n)
		}
	})

	t.Run("refresh ahead in the last tenth, others keep the current value", func(t *testing.T) {
		store := coord.NewMemory(clk.now)
		var fetches atomic.Int64
		a, b := newShared(t, store, clk, &fetches), newShared(t, store, clk, &fetches)
		if v, _ := a.get(ctx); v != "v1" {
			t.Fatalf("first get = %q", v)
		}
		clk.add(6000 * time.Second) // 83 %: not yet
		if v, _ := a.get(ctx); v != "v1" || fetches.Load() != 1 {
			t.Fatalf("at 83%%: %q after %d fetches", v, fetches.Load())
		}
		clk.add(600 * time.Second) // 92 %
		// While another instance holds the refresh lock, B keeps v1.
		l, err := store.TryLock(ctx, b.key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := b.get(ctx); v != "v1" || fetches.Load() != 1 {
			t.Fatalf("with the lock held elsewhere: %q after %d fetches; want v1 and no fetch", v, fetches.Load())
		}
		_ = l.Release(ctx)
		if v, _ := b.get(ctx); v != "v2" || fetches.Load() != 2 {
			t.Fatalf("refresh ahead: %q after %d fetches; want v2 after 2", v, fetches.Load())
		}
		if v, _ := a.get(ctx); v != "v2" || fetches.Load() != 2 {
			t.Fatalf("other instance: %q after %d fetches; want v2, no new fetch", v, fetches.Load())
		}
	})

	t.Run("expired value is fetched again", func(t *testing.T) {
		store := coord.NewMemory(clk.now)
		var fetches atomic.Int64
		a := newShared(t, store, clk, &fetches)
		_, _ = a.get(ctx)
		clk.add(7200*time.Second - expirySafety + time.Second)
		if v, _ := a.get(ctx); v != "v2" {
			t.Fatalf("near expiry get = %q, want v2", v)
		}
	})

	t.Run("same value handed back is kept to its end", func(t *testing.T) {
		store := coord.NewMemory(clk.now)
		var fetches atomic.Int64
		a := newShared(t, store, clk, &fetches)
		a.fetch = func(ctx context.Context) (string, time.Duration, error) {
			fetches.Add(1)
			return "same", 7200 * time.Second, nil
		}
		_, _ = a.get(ctx)
		clk.add(6600 * time.Second)
		a.fetch = func(ctx context.Context) (string, time.Duration, error) {
			fetches.Add(1)
			return "same", 600 * time.Second, nil
		}
		for i := 0; i < 5; i++ {
			if v, _ := a.get(ctx); v != "same" {
				t.Fatalf("get = %q", v)
			}
			clk.add(100 * time.Second) // up to 7100 s: inside the last 30 s at the end
		}
		if n := fetches.Load(); n != 2 {
			t.Errorf("%d fetches, want 2 (first, one refresh ahead)", n)
		}
	})
}
