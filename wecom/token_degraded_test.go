package wecom_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/wecom"
)

// These tests take the coordination store (Redis in production) away under
// a running platform: WeCom calls must go on with a per-process token.

// switchable is a coord.Store that fails every operation while down is
// set, the way a Redis that went away does.
type switchable struct {
	coord.Store
	down atomic.Bool
}

var errRedisDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (s *switchable) fail() error {
	if s.down.Load() {
		return errRedisDown
	}
	return nil
}

func (s *switchable) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, key)
}

func (s *switchable) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Set(ctx, key, value, ttl)
}

func (s *switchable) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := s.fail(); err != nil {
		return false, err
	}
	return s.Store.SetNX(ctx, key, value, ttl)
}

func (s *switchable) Delete(ctx context.Context, keys ...string) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, keys...)
}

func (s *switchable) TryLock(ctx context.Context, key string, lease time.Duration) (*coord.Lock, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.TryLock(ctx, key, lease)
}

func (s *switchable) Allow(ctx context.Context, key string, limit coord.Limit) (bool, time.Duration, error) {
	if err := s.fail(); err != nil {
		return false, 0, err
	}
	return s.Store.Allow(ctx, key, limit)
}

func (s *switchable) Ping(ctx context.Context) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

// logged counts the entries whose message starts with prefix.
func logged(logs *observer.ObservedLogs, prefix string) int {
	n := 0
	for _, e := range logs.All() {
		if strings.HasPrefix(e.Message, prefix) {
			n++
		}
	}
	return n
}

const (
	downMsg = "coordination store unavailable"
	backMsg = "coordination store reachable again"
)

// callHall makes n concurrent app calls and fails the test on any error.
func callHall(t *testing.T, corp *wecom.Corp, n int) {
	t.Helper()
	hall, err := corp.App("hall")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := hall.GetUser(ctx, "lihua")
			if err == nil && u.UserID != "lihua" {
				err = fmt.Errorf("user/get answered %q", u.UserID)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("WeCom call: %v", err)
		}
	}
}

func TestTokenCoordDownFallsBackToProcessCache(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	var store *switchable
	e := newEnv(t, func(o *wecom.Options) {
		store = &switchable{Store: o.Coord}
		o.Coord = store
		o.Logger = zap.New(core)
	})
	callHall(t, e.corp, 1)
	if n := e.calls("/cgi-bin/gettoken"); n != 1 {
		t.Fatalf("%d gettoken calls before the outage, want 1", n)
	}

	store.down.Store(true)
	callHall(t, e.corp, 5)
	if n := e.calls("/cgi-bin/gettoken"); n != 1 {
		t.Errorf("%d gettoken calls during the outage, want still 1: the process keeps the token it used", n)
	}
	if got := e.counter(t, "wecom_token_cache_fallback_total", map[string]string{"kind": "access_token", "client": "hall"}); got != 5 {
		t.Errorf("wecom_token_cache_fallback_total = %v, want 5", got)
	}

	// A fresh instance (nothing cached) fetches its own token, once for
	// all its concurrent callers.
	other := e.newCorp(t, store, func(o *wecom.Options) { o.Logger = zap.New(core) })
	callHall(t, other, 6)
	if n := e.calls("/cgi-bin/gettoken"); n != 2 {
		t.Errorf("%d gettoken calls after a fresh instance's 6 calls, want 2", n)
	}

	// WeCom invalidates the token during the outage: it is replaced in
	// the process, and the call still succeeds.
	e.sim.ExpireAllTokens()
	callHall(t, e.corp, 3)
	if n := e.calls("/cgi-bin/gettoken"); n != 3 {
		t.Errorf("%d gettoken calls after WeCom invalidated the token, want 3", n)
	}
	if n := logged(logs, downMsg); n != 2 {
		t.Errorf("%d %q log lines, want one per instance", n, downMsg)
	}
	for _, l := range logs.FilterMessageSnippet(downMsg).All() {
		if l.Level != zap.WarnLevel {
			t.Errorf("%q logged at %v, want warn", l.Message, l.Level)
		}
	}

	fallbacks := e.counter(t, "wecom_token_cache_fallback_total", map[string]string{"kind": "access_token", "client": "hall"})

	// Back: the next attempt after the retry interval finds coord again
	// and says so once.
	store.down.Store(false)
	e.clock.Add(6 * time.Second)
	callHall(t, e.corp, 3)
	callHall(t, e.corp, 1)
	if n := logged(logs, backMsg); n != 1 {
		t.Errorf("%d %q log lines, want 1", n, backMsg)
	}
	if n := logged(logs, downMsg); n != 2 {
		t.Errorf("%d %q log lines after recovery, want still 2", n, downMsg)
	}
	if got := e.counter(t, "wecom_token_cache_fallback_total", map[string]string{"kind": "access_token", "client": "hall"}); got != fallbacks {
		t.Errorf("wecom_token_cache_fallback_total = %v after recovery, want %v (no new fallbacks)", got, fallbacks)
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestTokenRedisUnreachableStillCallsWeCom(t *testing.T) {
	store := coord.NewRedis(coord.RedisOptions{Addr: "127.0.0.1:" + strconv.Itoa(freePort(t))})
	t.Cleanup(func() { store.Close() })
	e := newEnv(t, func(o *wecom.Options) { o.Coord = store })
	callHall(t, e.corp, 4)
	callHall(t, e.corp, 2)
	if n := e.calls("/cgi-bin/gettoken"); n != 1 {
		t.Errorf("%d gettoken calls for 6 calls with Redis unreachable, want 1", n)
	}
	if got := e.counter(t, "wecom_token_cache_fallback_total", map[string]string{"kind": "access_token", "client": "hall"}); got != 6 {
		t.Errorf("wecom_token_cache_fallback_total = %v, want 6", got)
	}
}

// TestTokenRedisKilledMidTest runs two instances on a redis-server of its
// own and kills it between calls.
func TestTokenRedisKilledMidTest(t *testing.T) {
	addr, kill := testenv.StartRedis(t)
	store := coord.NewRedis(coord.RedisOptions{Addr: addr})
	t.Cleanup(func() { store.Close() })

	e := newEnv(t, func(o *wecom.Options) { o.Coord = store })
	other := e.newCorp(t, store)
	callHall(t, e.corp, 3)
	callHall(t, other, 3)
	if n := e.calls("/cgi-bin/gettoken"); n != 1 {
		t.Fatalf("%d gettoken calls with Redis up, want 1 shared by both instances", n)
	}

	kill()
	callHall(t, e.corp, 3)
	callHall(t, other, 3)
	if n := e.calls("/cgi-bin/gettoken"); n != 1 {
		t.Errorf("%d gettoken calls after Redis died, want still 1: each instance keeps the token it used", n)
	}
	// A token WeCom invalidates now is replaced by each instance alone.
	e.sim.ExpireAllTokens()
	callHall(t, e.corp, 2)
	callHall(t, other, 2)
	if n := e.calls("/cgi-bin/gettoken"); n != 3 {
		t.Errorf("%d gettoken calls after WeCom invalidated the token, want 3 (one per instance)", n)
	}
}
