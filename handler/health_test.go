package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// switchCoord is in-process coordination that can be swapped for a real
// Redis client pointed at a port nobody listens on.
type switchCoord struct {
	coord.Store
	down    atomic.Bool
	refused coord.Store
}

func (s *switchCoord) Ping(ctx context.Context) error {
	if s.down.Load() {
		return s.refused.Ping(ctx)
	}
	return s.Store.Ping(ctx)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestReadyz(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		redis := coord.NewRedis(coord.RedisOptions{Addr: closedPort(t)})
		defer redis.Close()
		co := &switchCoord{Store: coord.NewMemory(nil), refused: redis}
		e := newEnvWith(t, db, nil, func(d *handler.Deps) { d.Coord = co })
		var unlock func()
		tests := []struct {
			name   string
			before func()
			status int
			checks map[string]string
			coord  float64 // wecomapp_coordination_up
			logged string  // a "readiness check failing" line for this check, with the error
		}{
			{"all well", func() {}, 200, map[string]string{"database": "ok", "migrations": "ok", "coordination": "ok"}, 1, ""},
			{"Redis unreachable", func() { co.down.Store(true) }, 200, map[string]string{"database": "ok", "migrations": "ok", "coordination": "degraded"}, 0, "coordination"},
			{"still unreachable", func() {}, 200, map[string]string{"database": "ok", "migrations": "ok", "coordination": "degraded"}, 0, ""},
			{"Redis back", func() { co.down.Store(false) }, 200, map[string]string{"database": "ok", "migrations": "ok", "coordination": "ok"}, 1, ""},
			{"inbox locked", func() { unlock = storetest.LockInbox(t, db) }, 503, map[string]string{"database": "not writable", "migrations": "ok", "coordination": "ok"}, 1, "database"},
			{"unlocked", func() { unlock() }, 200, map[string]string{"database": "ok", "migrations": "ok", "coordination": "ok"}, 1, ""},
			{"database gone", func() { db.Close() }, 503, map[string]string{"database": "unreachable", "coordination": "ok"}, 1, "database"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.before()
				failing := e.logs.FilterMessage("readiness check failing")
				before := failing.Len()
				rec := e.do(http.MethodGet, "/readyz", nil)
				var got struct {
					Ready  bool
					Checks map[string]string
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatalf("%d %q: %v", rec.Code, rec.Body, err)
				}
				if rec.Code != tt.status || got.Ready != (tt.status == 200) {
					t.Errorf("status %d ready %v, want %d", rec.Code, got.Ready, tt.status)
				}
				if !mapsEqual(got.Checks, tt.checks) {
					t.Errorf("checks %v, want %v (body %s)", got.Checks, tt.checks, rec.Body)
				}
				// States only: the reasons are in our log.
				for _, leak := range []string{"sql", "dial", "refused", "closed", "deadline", "127.0.0.1", "lock"} {
					if strings.Contains(strings.ToLower(rec.Body.String()), leak) {
						t.Errorf("/readyz body shows %q: %s", leak, rec.Body)
					}
				}
				if v := metricValue(t, e.reg, "wecomapp_coordination_up", map[string]string{}); v != tt.coord {
					t.Errorf("wecomapp_coordination_up = %v, want %v", v, tt.coord)
				}
				lines := e.logs.FilterMessage("readiness check failing").All()[before:]
				switch {
				case tt.logged == "" && len(lines) != 0:
					t.Errorf("logged %d failing checks, want none (said once per change)", len(lines))
				case tt.logged != "":
					if len(lines) != 1 || lines[0].ContextMap()["check"] != tt.logged || lines[0].ContextMap()["error"] == nil || lines[0].Level != zapcore.WarnLevel {
						t.Errorf("failing-check lines %v, want one warn for %s with its error", lines, tt.logged)
					}
				}
			})
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestMetricsAccess(t *testing.T) {
	tests := []struct {
		name      string
		allow     []string
		trusted   []string
		elsewhere bool
		remote    string // the TCP peer
		forwarded string // X-Forwarded-For
		status    int
	}{
		{"loopback by default", nil, nil, false, "127.0.0.1:40000", "", 200},
		{"IPv6 loopback by default", nil, nil, false, "[::1]:40000", "", 200},
		{"IPv4-mapped loopback", nil, nil, false, "[::ffff:127.0.0.1]:40000", "", 200},
		{"another network", nil, nil, false, "192.0.2.10:40000", "", 403},
		{"a forged X-Forwarded-For", nil, nil, false, "192.0.2.10:40000", "127.0.0.1", 403},
		{"an allowed network", []string{"10.0.0.0/8"}, nil, false, "10.1.2.3:40000", "", 200},
		{"loopback when not listed", []string{"10.0.0.0/8"}, nil, false, "127.0.0.1:40000", "", 403},
		{"a trusted proxy forwarding an allowed client", []string{"10.0.0.0/8"}, []string{"192.0.2.10"}, false, "192.0.2.10:40000", "10.1.2.3", 200},
		{"a trusted proxy forwarding an outside client", []string{"10.0.0.0/8"}, []string{"192.0.2.10"}, false, "192.0.2.10:40000", "203.0.113.5", 403},
		{"metrics on their own listener", nil, nil, true, "127.0.0.1:40000", "", 404},
	}
	db := storetest.SQLite(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, db, nil, func(d *handler.Deps) {
				d.MetricsAllow, d.TrustedProxies, d.MetricsElsewhere = tt.allow, tt.trusted, tt.elsewhere
			})
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = tt.remote
			if tt.forwarded != "" {
				req.Header.Set("X-Forwarded-For", tt.forwarded)
			}
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := strings.Contains(rec.Body.String(), "wecomapp_coordination_up"); got != (tt.status == 200) {
				t.Errorf("metrics shown: %v, want %v", got, tt.status == 200)
			}
			if !tt.elsewhere {
				return
			}
			// The separate listener serves them to whoever reaches it.
			srv := httptest.NewServer(handler.MetricsHandler(e.reg))
			defer srv.Close()
			for path, want := range map[string]int{"/metrics": 200, "/": 404, "/healthz": 404} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("metrics listener %s: %d, want %d", path, resp.StatusCode, want)
				}
				if want == 200 && !strings.Contains(string(b), `wecomapp_http_request_duration_seconds_count{method="GET",route="/metrics",status="404"} 1`) {
					t.Errorf("metrics listener lacks the main listener's request:\n%s", b)
				}
			}
		})
	}
}
