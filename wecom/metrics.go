package wecom

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the client's Prometheus collectors:
//
//	wecom_api_requests_total{api,errcode}       one per attempt; errcode "0" is
//	                                            success, "http_503", "timeout",
//	                                            "conn" are transport failures
//	wecom_api_request_duration_seconds{api}     latency of each attempt
//	wecom_token_refresh_total{kind,client,outcome}  token/ticket fetches
//	wecom_rate_limit_waits_total{api,outcome}   local quota waits ("waited",
//	                                            "rejected" past the deadline)
//	wecom_token_cache_fallback_total{kind,client}  token/ticket reads served
//	                                            by the per-process cache
//	                                            because coord (Redis) failed
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	refresh  *prometheus.CounterVec
	waits    *prometheus.CounterVec
	fallback *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecom_api_requests_total",
			Help: "WeCom API attempts by API and errcode (0 = success; http_NNN, timeout, conn = transport failures).",
		}, []string{"api", "errcode"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wecom_api_request_duration_seconds",
			Help:    "Latency of WeCom API attempts.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"api"}),
		refresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecom_token_refresh_total",
			Help: "Access token and JS-SDK ticket fetches by kind, client and outcome.",
		}, []string{"kind", "client", "outcome"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecom_rate_limit_waits_total",
			Help: "Calls that found a local WeCom quota empty: waited, or rejected because the deadline came first.",
		}, []string{"api", "outcome"}),
		fallback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecom_token_cache_fallback_total",
			Help: "Access token and JS-SDK ticket reads served by the per-process cache because the coordination store (Redis) was unavailable.",
		}, []string{"kind", "client"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.refresh, err = register(reg, m.refresh); err != nil {
		return nil, err
	}
	if m.waits, err = register(reg, m.waits); err != nil {
		return nil, err
	}
	if m.fallback, err = register(reg, m.fallback); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the collector already registered under
// the same name, so several Corps (or tests) can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("wecom: register metrics: %w", err)
}

func (m *metrics) observe(api string, err error, d time.Duration) {
	m.requests.WithLabelValues(api, errLabel(err)).Inc()
	m.latency.WithLabelValues(api).Observe(d.Seconds())
}

func (m *metrics) refreshed(kind, client string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.refresh.WithLabelValues(kind, client, outcome).Inc()
}

func (m *metrics) limited(api, outcome string) {
	m.waits.WithLabelValues(api, outcome).Inc()
}

func (m *metrics) fellBack(kind, client string) {
	m.fallback.WithLabelValues(kind, client).Inc()
}
