package coord_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/coord/coordtest"
	"github.com/wecomapp/wecomapp/internal/testenv"
)

func TestMemory(t *testing.T) {
	coordtest.Run(t, func(t *testing.T) coord.Store { return coord.NewMemory(nil) })
}

func TestRedis(t *testing.T) {
	addr := testenv.RedisAddr(t)
	coordtest.Run(t, func(t *testing.T) coord.Store {
		s := coord.NewRedis(coord.RedisOptions{Addr: addr, Prefix: fmt.Sprintf("wecomapp-test:%s:%d:", t.Name(), time.Now().UnixNano())})
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("%s is set but Redis is unreachable: %v", testenv.RedisAddrVar, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMemoryBucketWithClock(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := coord.NewMemory(func() time.Time { return now })
	lim := coord.PerMinute(60)
	for i := 0; i < 60; i++ {
		if ok, _, _ := m.Allow(context.Background(), "k", lim); !ok {
			t.Fatalf("call %d of 60 denied within the minute's burst", i+1)
		}
	}
	ok, after, _ := m.Allow(context.Background(), "k", lim)
	if ok || after != time.Second {
		t.Fatalf("61st call: ok=%v retryAfter=%v, want denied for 1s", ok, after)
	}
	now = now.Add(time.Second)
	if ok, _, _ := m.Allow(context.Background(), "k", lim); !ok {
		t.Fatal("denied after a second refilled one token")
	}
}
