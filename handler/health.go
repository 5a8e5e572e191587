package handler

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthz says the process is alive; it checks nothing else, so a slow
// database does not get a healthy instance restarted.
func (s *server) healthz(c *gin.Context) {
	c.String(http.StatusOK, "ok")
}

// readyz says whether this instance can serve: database reachable,
// migrations applied, coordination backend reachable. A load balancer takes
// the instance out of rotation while it answers 503.
func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.DB.PingContext(ctx); err != nil {
		checks["database"], ok = "unreachable: "+err.Error(), false
	} else if n, err := s.DB.Pending(ctx); err != nil {
		checks["migrations"], ok = "unknown: "+err.Error(), false
	} else if n > 0 {
		checks["migrations"], ok = fmt.Sprintf("%d pending", n), false
	} else {
		checks["database"], checks["migrations"] = "ok", "ok"
	}
	if err := s.Coord.Ping(ctx); err != nil {
		checks["coordination"], ok = "unreachable: "+err.Error(), false
	} else {
		checks["coordination"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

func (s *server) metricsHandler() gin.HandlerFunc {
	if s.Metrics == nil {
		return func(c *gin.Context) { c.Status(http.StatusNotFound) }
	}
	return gin.WrapH(promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{Registry: s.Metrics}))
}
