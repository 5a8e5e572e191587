package handler

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/internal/logctx"
)

// healthz says the process is alive; it checks nothing else, so a slow
// database does not get a healthy instance restarted.
func (s *server) healthz(c *gin.Context) {
	c.String(http.StatusOK, "ok")
}

// Readiness budgets. The write probe's is short because a store that needs
// longer than this to take one tiny commit is failing callbacks already
// (they have server.callback_store_timeout, and WeCom 5 s in all).
const (
	readyTimeout      = 2 * time.Second
	writeProbeTimeout = time.Second
	coordPingTimeout  = time.Second
)

// The states /readyz reports. The body carries only these; the reasons
// behind them go to our log, since /readyz is often reachable by more
// people than the log is.
const (
	stateOK          = "ok"
	stateUnreachable = "unreachable"
	stateNotWritable = "not writable"
	stateDegraded    = "degraded"
)

// readyz says whether this instance can serve: the database reachable and
// writable, its migrations applied. A load balancer takes the instance out
// of rotation while it answers 503. Coordination (Redis) down is reported
// as degraded but stays 200: callback ingress needs only SQL, and WeCom
// calls fall back to a per-process token, so pulling every instance out of
// the load balancer for it would turn a Redis outage into a total one.
func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	checks := map[string]string{}
	ready := true
	fail := func(check, state string, err error) {
		checks[check] = state
		s.ready.note(s.log, check, state, err)
	}
	pass := func(check string) {
		checks[check] = stateOK
		s.ready.note(s.log, check, stateOK, nil)
	}

	if err := s.DB.PingContext(ctx); err != nil {
		ready = false
		fail("database", stateUnreachable, err)
	} else {
		n, err := s.DB.Pending(ctx)
		switch {
		case err != nil:
			ready = false
			fail("migrations", stateUnreachable, err)
		case n > 0:
			ready = false
			fail("migrations", fmt.Sprintf("%d pending", n), nil)
		default:
			pass("migrations")
		}
		// The probe's table comes with the migrations: without them the
		// instance is not ready anyway, and "not writable" would mislead.
		if err == nil && n == 0 {
			pctx, pcancel := context.WithTimeout(ctx, writeProbeTimeout)
			err := s.DB.ProbeWrite(pctx, s.prober(), s.Now())
			pcancel()
			if err != nil {
				ready = false
				fail("database", stateNotWritable, err)
			} else {
				pass("database")
			}
		} else {
			checks["database"] = stateOK // reachable; writability unknown
		}
	}

	if err := s.pingCoord(ctx); err != nil {
		fail("coordination", stateDegraded, err)
	} else {
		pass("coordination")
	}

	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ready, "checks": checks})
}

// pingCoord pings the coordination backend; none configured counts as up.
func (s *server) pingCoord(ctx context.Context) error {
	if s.Coord == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, coordPingTimeout)
	defer cancel()
	return s.Coord.Ping(ctx)
}

// prober names this instance in the write probe's heartbeat.
func (s *server) prober() string {
	if s.Inbox != nil {
		return s.Inbox.Owner()
	}
	return "readyz"
}

// readyLog logs a readiness check when its state changes, with the error
// behind it: a load balancer asks every few seconds, and one line per
// change says what an operator needs without repeating it.
type readyLog struct {
	mu    sync.Mutex
	state map[string]string
}

func (r *readyLog) note(log *zap.Logger, check, state string, err error) {
	r.mu.Lock()
	prev, seen := r.state[check]
	if r.state == nil {
		r.state = map[string]string{}
	}
	r.state[check] = state
	r.mu.Unlock()
	if prev == state || !seen && state == stateOK {
		return
	}
	fields := []zap.Field{zap.String("check", check), zap.String("state", state), zap.String("was", prev)}
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	if state == stateOK {
		log.Info("readiness check recovered", fields...)
	} else {
		log.Warn("readiness check failing", fields...)
	}
}

// loopback is who may read /metrics on the main listener by default.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// parseNetworks parses server.metrics_allow; empty means loopback.
func parseNetworks(cidrs []string) ([]netip.Prefix, error) {
	if len(cidrs) == 0 {
		return loopback, nil
	}
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("handler: metrics network %q is not a CIDR such as 10.0.0.0/8: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// metricsHandler serves /metrics on the main listener to allowed networks
// only (a scrape reveals routes, rates and internals), or not at all when
// it has its own listener.
func (s *server) metricsHandler() gin.HandlerFunc {
	if s.Metrics == nil || s.MetricsElsewhere {
		return func(c *gin.Context) { c.String(http.StatusNotFound, "not found") }
	}
	h := gin.WrapH(promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{Registry: s.Metrics}))
	return func(c *gin.Context) {
		ip, err := netip.ParseAddr(c.ClientIP())
		if err != nil || !s.metricsAllowed(ip.Unmap()) {
			logctx.L(c.Request.Context(), s.log).Debug("metrics refused", zap.String("client_ip", c.ClientIP()))
			c.String(http.StatusForbidden, "forbidden")
			return
		}
		h(c)
	}
}

func (s *server) metricsAllowed(ip netip.Addr) bool {
	for _, p := range s.metricsAllow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
