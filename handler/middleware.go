package handler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/logctx"
)

const requestIDHeader = "X-Request-Id"

// requestID takes the load balancer's request id when it is sane, or makes
// one, and puts it in the context so every log line of the request has it.
func (s *server) requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Header(requestIDHeader, id)
	c.Request = c.Request.WithContext(logctx.WithRequestID(c.Request.Context(), id))
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// accessLog writes one line per request. Probes are logged at debug so they
// do not drown the log.
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	fields := []zap.Field{
		zap.String("request_id", logctx.RequestID(c.Request.Context())),
		zap.String("method", c.Request.Method),
		zap.String("path", c.Request.URL.Path),
		zap.String("route", route),
		zap.Int("status", c.Writer.Status()),
		zap.Int("bytes", c.Writer.Size()),
		zap.Duration("duration", time.Since(start)),
		zap.String("client_ip", c.ClientIP()),
	}
	switch {
	case route == "/healthz" || route == "/readyz" || route == "/metrics":
		s.log.Debug("request", fields...)
	case c.Writer.Status() >= 500:
		s.log.Warn("request", fields...)
	default:
		s.log.Info("request", fields...)
	}
}

// recover turns a panic into a 500 and a log line with the stack, instead
// of a dropped connection.
func (s *server) recover(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			logctx.L(c.Request.Context(), s.log).Error("panic serving request", zap.String("panic", fmt.Sprint(p)), zap.Stack("stack"))
			c.AbortWithStatus(http.StatusInternalServerError)
		}
	}()
	c.Next()
}

type metrics struct {
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// mismatch counts authentic callbacks whose inner ToUserName or
	// AgentID is not their receiver's (stored dead, never dispatched).
	mismatch *prometheus.CounterVec
	// unavailable counts callbacks answered 503: readers_full (the body
	// reader cap) or store_timeout (the inbox did not commit in time).
	unavailable *prometheus.CounterVec
	// coordUp is 1 while the coordination backend answers a ping.
	coordUp prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, co coord.Store) (*metrics, error) {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wecomapp_http_request_duration_seconds",
			Help:    "HTTP request latency by route, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wecomapp_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		mismatch: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_callback_mismatch_total",
			Help: "Authentic callbacks whose ToUserName or AgentID is not their receiver's, stored dead.",
		}, []string{"receiver"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_callback_unavailable_total",
			Help: "Callbacks answered 503 for WeCom to re-send, by reason (readers_full, store_timeout).",
		}, []string{"receiver", "reason"}),
		// Pinged when scraped, so the value is current whether or not a
		// load balancer is asking /readyz.
		coordUp: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wecomapp_coordination_up",
			Help: "1 when the coordination backend (Redis, or in-process) answers a ping, else 0.",
		}, func() float64 {
			if co == nil {
				return 1
			}
			ctx, cancel := context.WithTimeout(context.Background(), coordPingTimeout)
			defer cancel()
			if co.Ping(ctx) != nil {
				return 0
			}
			return 1
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.latency, m.inFlight, m.mismatch, m.unavailable, m.coordUp} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("handler: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) middleware(c *gin.Context) {
	m.inFlight.Inc()
	start := time.Now()
	c.Next()
	m.inFlight.Dec()
	route := c.FullPath()
	if route == "" {
		// Unmatched paths share one label so scanners cannot blow up cardinality.
		route = "unmatched"
	}
	m.latency.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
}
