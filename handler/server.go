package handler

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// ServerOptions bound what one connection can hold: time to send its
// headers, time to send its whole request, time idle between requests.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading the request headers
	// (server.read_header_timeout).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body
	// (server.read_timeout). A connection that has not sent its body by
	// then is closed, so slow senders cannot pile up until the process runs
	// out of file descriptors. A route that must take longer bodies
	// extends its own deadline with http.ResponseController.
	ReadTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle longer than this
	// (server.idle_timeout).
	IdleTimeout time.Duration
	// Logger receives the server's own errors (TLS, hijack, panics outside
	// the handler).
	Logger *zap.Logger
	// BaseContext is the parent of every request's context; nil is
	// context.Background.
	BaseContext context.Context
}

// MaxHeaderBytes caps request headers. WeCom's callbacks and our pages send
// well under 8 KiB; 64 KiB leaves room for cookies and long OAuth query
// strings while denying the default 1 MiB per connection.
const MaxHeaderBytes = 64 << 10

// NewServer is the http.Server that serves h, with every limit set: serve
// uses it for the main and the metrics listener, tests for real-listener
// probes.
func NewServer(h http.Handler, o ServerOptions) *http.Server {
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log),
	}
	if o.BaseContext != nil {
		base := o.BaseContext
		srv.BaseContext = func(net.Listener) context.Context { return base }
	}
	return srv
}

// MetricsHandler serves reg at /metrics and nothing else, for the separate
// metrics listener (server.metrics_addr): whoever can reach that address
// may read it, so it belongs on an internal interface.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
