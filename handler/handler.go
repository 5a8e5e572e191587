package handler

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/cas"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/guest"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/selfreg"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/workbench"
)

// Deps is everything the routes need, built by cmd.
type Deps struct {
	Logger *zap.Logger
	DB     *store.DB
	Coord  coord.Store
	// Metrics is where request metrics are registered and /metrics reads from.
	Metrics *prometheus.Registry
	// Simulator, when set, is mounted at SimulatorMount (the embedded default).
	Simulator      http.Handler
	SimulatorMount string
	// SimulatorPublic: the simulator is mounted although this deployment
	// looks like production (simulator.allow_public); every page shows a
	// warning banner.
	SimulatorPublic bool
	// TrustedProxies are the load balancers whose X-Forwarded-For is believed.
	TrustedProxies []string
	// Receivers are the callback receivers by the name in
	// /wecom/callback/:app: each app, and "contacts" for the contacts-sync
	// tool, each with its own token and EncodingAESKey.
	Receivers map[string]Receiver
	// Inbox stores accepted callbacks; required when Receivers is set.
	Inbox *inbox.Inbox
	// Callback bounds the callback edge; zero fields take their defaults.
	Callback CallbackLimits
	// MetricsElsewhere says /metrics is served on its own listener
	// (server.metrics_addr, see MetricsHandler), so this handler answers 404
	// for it. Otherwise /metrics answers only clients in MetricsAllow.
	MetricsElsewhere bool
	// MetricsAllow are the networks (CIDRs) whose clients may read /metrics
	// here; empty: loopback only. The client address is gin's ClientIP, so
	// X-Forwarded-For counts only from TrustedProxies.
	MetricsAllow []string
	// Now is the clock callback timestamps are checked against; nil is
	// time.Now.
	Now func() time.Time
	// Title, Version and PublicURL are shown on pages and used in links.
	Title     string
	Version   string
	PublicURL string

	// Sessions signs people in and out; required for the H5 pages and the
	// console (without it only the callback edge and health are served).
	Sessions *auth.Sessions
	// Workbench resolves people, identities and workbenches.
	Workbench *workbench.Service
	// Admins holds the console's admin grants.
	Admins *auth.Admins
	// App is the WeCom app the H5 pages belong to: OAuth and web login.
	App *wecom.Client
	// CAS, when set, offers CAS single sign-on on the PC sign-in page.
	CAS     *cas.Client
	CASName string
	// CASSim, when set, is the built-in CAS simulator mounted at CASSimMount.
	CASSim      http.Handler
	CASSimMount string
	// SMSSim, when set, is the simulated SMS gateway's page (the texts each
	// number received), mounted at SMSSimMount.
	SMSSim      http.Handler
	SMSSimMount string
	// JoinContact is shown to people who are not members yet.
	JoinContact string
	// SelfReg, when set (with CAS), serves self-registration under
	// /register: the QR code, the CAS round trip, the form. Nil answers
	// those pages with "自助注册未开通".
	SelfReg *selfreg.Service
	// SelfRegDeptAttr names the CAS attribute holding the person's
	// department code, checked against the data center's; "" skips the
	// department check.
	SelfRegDeptAttr string
	// Try and TryAdmin are demo members the status page suggests (the
	// embedded default only).
	Try      []TryPerson
	TryAdmin *TryPerson
	// TryRegister is a demo student not yet in WeCom, who can register.
	TryRegister *TryPerson
	// TryAPIKey and TryTagName: the demo's ingest API key and a tag to
	// send to, for the status page's curl (simulator only).
	TryAPIKey  *TryKey
	TryTagName string
	// Sync runs the contacts sync from the console (通讯录同步); nil: the
	// console's sync pages say it is not configured. Tag rules are edited
	// either way (they are data in the store).
	Sync *orgsync.Runner
	// APIKeys verifies the ingest API's signed requests; with Messages set
	// too, /api/v1/messages is served (nil: not).
	APIKeys *apikey.Keys
	// Messages is the message center the ingest API submits to.
	Messages notify.Submitter
	// APIMaxBody caps an ingest API request's body in bytes (413 past
	// it); 0 is DefaultAPIMaxBody.
	APIMaxBody int64
	// Notify, when set, serves the console's mass messaging (/admin/messages);
	// the H5 message center (/app/messages) reads the store either way.
	Notify *notify.Service
	// BroadcastApproval is the reach above which a console broadcast waits
	// for a second admin's approval: 0 is DefaultBroadcastApproval, < 0 never.
	BroadcastApproval int
	// Hall is the online service hall (apply, my applications, my tasks,
	// the designer); nil answers its pages 404.
	Hall *hall.Engine
	// Guest, when set, serves the off-campus sign-in by SMS code under
	// /guest (applicants, parents, visitors); nil answers those pages 404.
	Guest *guest.Service
	// Data, when set, serves the data modules (a person's rows of the
	// shared database, /app/m/{key} for the modules it defines, and the
	// console's /admin/data) and gives their tiles key figures; nil: those
	// modules show their catalog page.
	Data datamod.Source
}

// simulatorPublicBanner is shown on every page when Deps.SimulatorPublic.
const simulatorPublicBanner = `<p class="simulator-public" role="alert">The built-in WeCom simulator is mounted on a public deployment (simulator.allow_public): anyone who reaches it can act as any member. Never use it with real people's data.</p>`

// New builds the HTTP handler. cmd and tests see only net/http.
func New(d Deps) (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, err
	}
	if err := validateReceivers(d.Receivers, d.Inbox); err != nil {
		return nil, err
	}
	pages, err := loadPages()
	if err != nil {
		return nil, err
	}
	if d.SimulatorPublic {
		// layout.html leaves an empty "simulator-public" block after <body>.
		for name, t := range pages {
			if _, err := t.New("simulator-public").Parse(simulatorPublicBanner); err != nil {
				return nil, fmt.Errorf("handler: banner on page %s: %w", name, err)
			}
		}
	}
	s := &server{Deps: d, log: d.Logger.Named("http"), pages: pages}
	if s.Now == nil {
		s.Now = time.Now
	}
	s.Callback = s.Callback.withDefaults()
	s.readers = make(chan struct{}, s.Callback.MaxReaders)
	if s.metricsAllow, err = parseNetworks(d.MetricsAllow); err != nil {
		return nil, err
	}
	// A nil *Registry inside a non-nil interface would panic on Register.
	var reg prometheus.Registerer
	if d.Metrics != nil {
		reg = d.Metrics
	}
	m, err := newMetrics(reg, d.Coord)
	if err != nil {
		return nil, err
	}
	s.m = m
	r.Use(s.requestID, m.middleware, s.accessLog, s.recover)
	s.routes(r)
	if d.Data != nil && d.Workbench != nil {
		RegisterDataFigures(d.Workbench, d.Data)
	}
	if s.Sessions == nil {
		return r, nil
	}
	// Sessions are loaded and saved around the pages that use them only,
	// so callbacks, health checks and assets never touch the session store.
	withSession := s.Sessions.Middleware(r)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if sessionPath(req.URL.Path) {
			withSession.ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	}), nil
}

// sessionPath: the H5 pages, the console, sign-in (guests' too) and
// self-registration.
func sessionPath(p string) bool {
	for _, prefix := range []string{"/app/", "/admin/", "/auth/", "/login", "/join", "/register", "/guest/", "/hall/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return p == "/app" || p == "/admin"
}

// pagePath: errors there are answered with a page, not plain text.
func pagePath(p string) bool { return sessionPath(p) }

type server struct {
	Deps
	log   *zap.Logger
	pages map[string]*template.Template
	m     *metrics
	// readers holds a token for each callback body being read.
	readers      chan struct{}
	metricsAllow []netip.Prefix
	ready        readyLog
}

// handlerFunc is a handler that returns its error instead of writing it,
// so that mapping errors to statuses and logging them happens in one place.
type handlerFunc func(c *gin.Context) error

func (s *server) wrap(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.respondError(c, err)
		}
	}
}

// badRequest is a client error whose message is safe to show.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// respondError maps an error to a status, logs server-side failures once,
// and never shows internal details to the client.
func (s *server) respondError(c *gin.Context, err error) {
	log := logctx.L(c.Request.Context(), s.log)
	var br badRequest
	var we *wecom.Error
	var ce *wecom.CryptoError
	var fb forbidden
	if pagePath(c.Request.URL.Path) {
		status, msg := http.StatusInternalServerError, "服务暂时不可用，请稍后再试。"
		switch {
		case errors.As(err, &br):
			status, msg = http.StatusBadRequest, br.msg
		case errors.As(err, &fb):
			status, msg = http.StatusForbidden, "你的管理员权限不包括这一页。"
		case errors.Is(err, store.ErrNotFound), errors.Is(err, workbench.ErrNotVisible):
			status, msg = http.StatusNotFound, "没有找到这一页，或者它不在你的工作台上。"
		case errors.As(err, &we):
			log.Error("wecom call failed", zap.Error(err))
			status, msg = http.StatusBadGateway, "企业微信暂时没有正常响应，请稍后再试。"
		default:
			log.Error("request failed", zap.Error(err), zap.String("path", c.Request.URL.Path))
		}
		if rerr := s.render(c, status, "app_error", h5.AppError{Page: s.page(c, "出错了"), Status: status, Message: msg}); rerr != nil {
			c.String(status, msg)
		}
		return
	}
	switch {
	case errors.As(err, &br):
		c.String(http.StatusBadRequest, br.msg)
	case errors.As(err, &ce):
		// A forged or broken callback: say no, and say why in our log only.
		log.Warn("callback refused", zap.Int("code", ce.Code), zap.String("reason", ce.Reason), zap.String("path", c.Request.URL.Path))
		c.String(http.StatusForbidden, "invalid callback")
	case errors.Is(err, store.ErrNotFound):
		c.String(http.StatusNotFound, "not found")
	case errors.As(err, &we):
		log.Error("wecom call failed", zap.Error(err))
		c.String(http.StatusBadGateway, "WeCom is not answering as expected; try again shortly")
	default:
		log.Error("request failed", zap.Error(err), zap.String("path", c.Request.URL.Path))
		c.String(http.StatusInternalServerError, "internal error")
	}
}
