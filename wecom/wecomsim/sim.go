package wecomsim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// DefaultCorpID is the corp id used when Options.CorpID is empty.
const DefaultCorpID = "wwsim00000000000001"

// DefaultContactSecret is the contacts-sync secret used when
// Options.ContactSecret is empty.
const DefaultContactSecret = "sim-contact-sync-secret"

// AdminPrefix is the path prefix of the simulator's own JSON admin API
// (inspection, fault injection, console-style contacts edits). It is not
// part of WeCom.
const AdminPrefix = "/sim/api/"

// Options configures a simulator. Zero values take the defaults named on
// each field.
type Options struct {
	// CorpID is the corp's id (gettoken corpid; receiveid of callbacks).
	// Default DefaultCorpID.
	CorpID string
	// ContactSecret is the contacts-sync (通讯录同步) secret: the only one
	// allowed to write contacts. Default DefaultContactSecret.
	ContactSecret string
	// ContactCallback is the contacts-sync tool's 接收事件服务器: change_contact
	// callbacks go there. Empty URL: no callbacks are sent (changes are still
	// logged). Can be changed later with SetContactCallback.
	ContactCallback Receiver
	// Apps are the corp's self-built apps (自建应用).
	Apps []App
	// Legacy reproduces the rules of corps and apps set up before mid-2022.
	// The zero value is today's WeCom (docs/wecom.md §5): the contacts-sync
	// secret, calling from a "new IP", gets 48009 on user/get,
	// user/simplelist, user/list and department/list (only user/list_id and
	// department/simplelist list contacts); user/get|list through app
	// secrets omit avatar, thumb_avatar, gender, mobile, email, biz_mail,
	// qr_code and address; change_contact carries only ids (members UserID
	// and Department, departments Id and ParentId) and update_party fires
	// only when ParentId changes. Legacy lifts all of that.
	Legacy bool
	// CallbackURLs are further URLs callbacks may be sent to, besides
	// ContactCallback.URL and each App.CallbackURL (e.g. a batch job's
	// callback.url). A callback to any other URL is not sent (its delivery
	// is logged as refused), and SetContactCallback refuses it, so the
	// simulator cannot be made to POST to arbitrary hosts. Entries match
	// scheme, host and path; the query is ignored.
	CallbackURLs []string
	// Public marks a simulator reachable beyond this machine
	// (simulator.allow_public): every page it serves carries a warning
	// banner.
	Public bool
	// MaxUserDepartments is how many departments one member may belong to
	// (60110 above). Default 20 (doc 90313 60110 help; doc 90195 says 100 —
	// unconfirmed which the server enforces).
	MaxUserDepartments int
	// CallbackRetries is how many times a failed callback is re-sent after
	// the first attempt. Default 3 (1 + 3 deliveries, docs/wecom.md §2.1);
	// negative means no retries.
	CallbackRetries int
	// CallbackTimeout is how long one delivery attempt may take before it
	// counts as failed. Default 5 s.
	CallbackTimeout time.Duration
	// Limits overrides the frequency limit of single APIs, keyed by path
	// (e.g. "/cgi-bin/user/get"). APIs not listed get DefaultLimit.
	Limits map[string]Limit
	// Clock is the time source for token and media expiry, frequency
	// windows, batch job progress and the CreateTime of callbacks. Default
	// time.Now. Advance shifts it. (Callback signatures carry the wall-clock
	// time instead: receivers check it against their own clock.)
	Clock func() time.Time
	// Logger receives structured logs (named "wecomsim"). Default: none.
	Logger *zap.Logger
	// Fixture is the contacts state to start from and Reset to. Default
	// TestFixture(). A fixture without department 1 gets a root added.
	Fixture *Fixture
	// BaseURL is the external URL the simulator is reachable at, including
	// any path prefix it is mounted under (e.g. "http://localhost:8080/wecomsim").
	// Every link it generates is built on it.
	BaseURL string
	// HTTPClient sends outgoing callbacks. Default: a client with no overall
	// timeout (CallbackTimeout bounds each attempt).
	HTTPClient *http.Client
}

// Receiver is a callback receiver: where WeCom POSTs encrypted callbacks,
// and the Token and EncodingAESKey configured for it.
type Receiver struct {
	URL            string `json:"url"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encodingaeskey"`
}

// App is a self-built app (自建应用).
type App struct {
	AgentID int64
	Name    string
	Secret  string
	// Token and EncodingAESKey sign and encrypt the app's callbacks, which go
	// to CallbackURL (接收消息 → 设置API接收).
	Token          string
	EncodingAESKey string
	CallbackURL    string
	// HomeURL is the app's homepage (主页); TrustedDomain its 可信域名 (OAuth
	// redirect_uri domains must match it exactly, port included).
	HomeURL       string
	TrustedDomain string
	// ReportEnter sends enter_agent events (isreportenter=1).
	ReportEnter bool
	// Visible is the app's visible range (可见范围); empty = the whole corp.
	Visible Visible
	// NoCheckinAPI leaves the app out of 打卡 → 可调用接口的应用: its token
	// gets 48002 from checkin/*. The zero value lists the app, so fixtures
	// need no setup (on the real server an admin has to add it).
	NoCheckinAPI bool
}

// Visible is an app's visible range: members listed, departments listed
// (with their subtrees) and tags listed (their members and departments).
type Visible struct {
	Users       []string
	Departments []int64
	Tags        []int64
}

func (v Visible) empty() bool {
	return len(v.Users) == 0 && len(v.Departments) == 0 && len(v.Tags) == 0
}

// Sim is the simulated WeCom server. It implements http.Handler. All its
// methods are safe for concurrent use.
type Sim struct {
	opts    Options
	log     *zap.Logger
	fixture *Fixture
	apps    map[int64]*App
	offset  atomic.Int64 // nanoseconds added to Options.Clock by Advance

	routes   map[string]*endpoint
	pages    *http.ServeMux // non-API pages (OAuth, JS-SDK…), added by later phases
	adminMux *http.ServeMux
	// admin and page are adminMux and pages behind the browser guards
	// (guard.go): cross-origin refusal, JSON-only admin, the public banner.
	adminH, pageH http.Handler

	// mu guards st, tok and everything the API handlers touch. Handlers run
	// with it held.
	mu  sync.Mutex
	st  *state
	tok tokenStore

	jsTickets ticketStore // JS-SDK tickets; like tok, they survive Reset (jsapi.go)

	cb        callbacks       // outgoing callback queues; own lock
	cbAllowed map[string]bool // callbackKey of every URL callbacks may go to; fixed at New
	jobs      jobRunner       // batch job worker; own wake channel, state under mu

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds a simulator seeded with opts.Fixture (default TestFixture). It
// panics if the fixture is invalid (see Fixture.Validate).
func New(opts Options) *Sim {
	if opts.CorpID == "" {
		opts.CorpID = DefaultCorpID
	}
	if opts.ContactSecret == "" {
		opts.ContactSecret = DefaultContactSecret
	}
	if opts.MaxUserDepartments <= 0 {
		opts.MaxUserDepartments = 20
	}
	if opts.CallbackRetries == 0 {
		opts.CallbackRetries = 3
	} else if opts.CallbackRetries < 0 {
		opts.CallbackRetries = 0
	}
	if opts.CallbackTimeout <= 0 {
		opts.CallbackTimeout = 5 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	limits := make(map[string]Limit, len(opts.Limits))
	for k, v := range opts.Limits {
		limits[k] = v
	}
	opts.Limits = limits // SetLimit writes to our own copy
	if opts.Fixture == nil {
		opts.Fixture = TestFixture()
	}
	if err := opts.Fixture.Validate(); err != nil {
		panic(fmt.Sprintf("wecomsim: invalid fixture: %v", err))
	}
	s := &Sim{
		opts:    opts,
		log:     opts.Logger.Named("wecomsim"),
		fixture: opts.Fixture,
		apps:    make(map[int64]*App, len(opts.Apps)),
		pages:   http.NewServeMux(),
	}
	for i := range opts.Apps {
		a := opts.Apps[i]
		s.apps[a.AgentID] = &a
	}
	s.allowCallbacks()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.tok.init()
	s.cb.init()
	s.jobs.init()
	s.st = newState(s.fixture, s.defaultCapacity())
	s.routes = make(map[string]*endpoint)
	for _, ep := range s.apiRoutes() {
		if _, dup := s.routes[ep.Path]; dup {
			panic("wecomsim: duplicate route " + ep.Path)
		}
		s.routes[ep.Path] = ep
	}
	s.adminMux = s.adminRoutes()
	s.pageRoutes(s.pages)
	s.adminH, s.pageH = s.guardAdmin(s.adminMux), s.guardPages(s.pages)
	s.wg.Add(1)
	go s.runJobs()
	return s
}

// ServeHTTP answers WeCom API calls, the admin API under AdminPrefix and
// any pages later phases register. Unknown paths get 404 with an empty body,
// as qyapi does.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, AdminPrefix) {
		s.adminH.ServeHTTP(w, r)
		return
	}
	if ep, ok := s.routes[r.URL.Path]; ok {
		s.serveAPI(w, r, ep)
		return
	}
	if _, pattern := s.pages.Handler(r); pattern != "" {
		s.pageH.ServeHTTP(w, r)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

// Reset returns the contacts, tags, media, batch jobs, logs, faults and
// frequency windows to the seeded fixture. Issued access tokens stay valid,
// so clients holding one keep working; callbacks already queued are still
// delivered.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = newState(s.fixture, s.defaultCapacity())
	s.jobs.signal() // wake WaitJobs: the jobs it waited for are gone
	s.cb.clearLog()
	s.log.Info("reset to fixture")
}

// Close stops the background goroutines (callback delivery, batch jobs) and
// abandons undelivered callbacks. The handler still answers afterwards.
func (s *Sim) Close() {
	s.cancel()
	s.wg.Wait()
}

// CorpID is the simulated corp's id.
func (s *Sim) CorpID() string { return s.opts.CorpID }

// ContactSecret is the contacts-sync secret.
func (s *Sim) ContactSecret() string { return s.opts.ContactSecret }

// BaseURL is Options.BaseURL without a trailing slash.
func (s *Sim) BaseURL() string { return s.opts.BaseURL }

// App returns a copy of the app with agentID.
func (s *Sim) App(agentID int64) (App, bool) {
	a, ok := s.apps[agentID]
	if !ok {
		return App{}, false
	}
	return *a, true
}

// Now is the simulator's current time: Options.Clock plus every Advance.
func (s *Sim) Now() time.Time {
	return s.opts.Clock().Add(time.Duration(s.offset.Load()))
}

// Advance moves the simulator's clock forward by d (on top of
// Options.Clock), e.g. to expire tokens, leave a frequency block or let a
// batch job progress; jobs due by then are finished before it returns.
func (s *Sim) Advance(d time.Duration) {
	s.offset.Add(int64(d))
	s.mu.Lock()
	s.advanceJobs()
	s.mu.Unlock()
	s.jobs.poke()
}

// SetContactCallback changes the contacts-sync receiver, as an admin
// re-configuring 接收事件服务器 would. An empty URL stops the callbacks. A URL
// that is neither the configured receiver nor in Options.CallbackURLs is
// refused (ErrCallbackURL).
func (s *Sim) SetContactCallback(r Receiver) error {
	if r.URL != "" && !s.callbackAllowed(r.URL) {
		return fmt.Errorf("%w: %s", ErrCallbackURL, r.URL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.ContactCallback = r
	return nil
}
