package handler

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// routes is the one route table of the platform.
func (s *server) routes(r *gin.Engine) {
	r.GET("/", s.wrap(s.home))
	r.GET("/static/*path", gin.WrapH(staticHandler()))
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metricsHandler())

	r.GET("/wecom/callback/:app", s.wrap(s.callbackVerify))
	r.POST("/wecom/callback/:app", s.wrap(s.callbackReceive))

	if s.Simulator != nil {
		mount := strings.TrimSuffix(s.SimulatorMount, "/")
		sim := gin.WrapH(http.StripPrefix(mount, s.Simulator))
		r.Any(mount+"/*path", sim)
	}
}
