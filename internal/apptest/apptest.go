// Package apptest starts the whole platform for page tests, browser tests
// and benchmarks: handler.New over a real store (SQLite, or MariaDB when a
// test asks), the in-process coordination layer, the WeCom simulator with
// the demo university and the CAS simulator, wired as `wecomapp serve`
// wires them. Signing in goes through the real OAuth round trip.
package apptest

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/cas"
	"github.com/wecomapp/wecomapp/cas/cassim"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/datamod/shareddemo"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/guest"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/selfreg"
	"github.com/wecomapp/wecomapp/sms/smssim"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
	"github.com/wecomapp/wecomapp/workbench"
)

// Constants of the test corp.
const (
	CorpID  = "wwapptest00000001"
	AgentID = 1000002
	secret  = "apptest-app-secret"
)

// Options vary the platform.
type Options struct {
	// DB is the store; nil is a fresh SQLite database.
	DB *store.DB
	// Scale is the demo university; the zero value is demo.Small().
	Scale *demo.Scale
	// Coord is the coordination layer; nil is a fresh in-process one. Two
	// Envs over one DB and one Redis are two instances of one deployment.
	Coord coord.Store
	// Logger; nil discards.
	Logger *zap.Logger
	// SelfReg, when set, turns self-registration (/register) on: a
	// selfreg.Service over the platform's store, mirror and coordination
	// layer (filled in where these options leave them nil), with the
	// test's Enrol and Welcome.
	SelfReg *selfreg.Options
	// Sync configures the contacts sync the console runs (Env.Sync); the
	// zero value is the defaults (guard share 5 %, call by call).
	Sync orgsync.Config
	// BroadcastApproval is handler.Deps.BroadcastApproval (0: the default).
	BroadcastApproval int
	// Hall runs the service hall (Env.Hall): a first contacts sync (the
	// approvers' tags are WeCom's), the shipped processes published, and
	// the app's callbacks through a running inbox, so a card pressed on
	// the simulated phone reaches the engine.
	Hall bool
	// Now is the hall's clock (nil: time.Now).
	Now func() time.Time
	// Guest serves the off-campus sign-in by SMS code (Env.Guest) through
	// a simulated SMS gateway mounted at /smssim (Env.SMS).
	Guest bool
	// Data serves the data modules (Env.Data): the demo university's
	// shared database built for the test (shareddemo, a SQLite file in
	// the test's temporary directory, opened read-only as serve opens
	// it) and the shipped definitions seeded.
	Data bool
}

// Env is a running platform.
type Env struct {
	URL       string
	Server    *httptest.Server
	DB        *store.DB
	Coord     coord.Store
	Sim       *wecomsim.Sim
	CASSim    *cassim.Sim
	Uni       *demo.University
	Workbench *workbench.Service
	Sessions  *auth.Sessions
	Admins    *auth.Admins
	App       *wecom.Client
	// Sync is the contacts sync runner the console uses (over Mirror),
	// writing the simulator's contacts through its contacts-sync secret.
	Sync *orgsync.Runner
	// SuperAdmin is the demo's super admin (the information center's head).
	SuperAdmin string
	// Mirror is the record of WeCom's contacts (empty: no sync has run).
	Mirror *contacts.Mirror
	// SelfReg is the self-registration service (Options.SelfReg), or nil.
	SelfReg *selfreg.Service
	// Notify is the message center (the console sends through it), as
	// `wecomapp serve` wires it; its dispatcher does not run by itself:
	// DrainNotify sends what is due.
	Notify *notify.Service
	// Hall is the service hall's engine (Options.Hall), Inbox the callback
	// inbox feeding it.
	Hall  *hall.Engine
	Inbox *inbox.Inbox
	// Guest is the off-campus sign-in (Options.Guest), SMS the simulated
	// gateway its codes go through.
	Guest *guest.Service
	SMS   *smssim.Sim
	// Data is the data modules' service (Options.Data), Shared the shared
	// database it reads (StopData closes it).
	Data   *datamod.Service
	Shared *sqlx.DB
}

// Start runs the platform until the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	db := opts.DB
	if db == nil {
		db = storetest.SQLite(t)
	}
	scale := demo.Small()
	if opts.Scale != nil {
		scale = *opts.Scale
	}
	co := opts.Coord
	if co == nil {
		co = coord.NewMemory(nil)
	}
	e := &Env{DB: db, Coord: co, Uni: demo.Generate(scale)}

	var h http.Handler
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.Server.Close)
	e.URL = e.Server.URL
	u, _ := url.Parse(e.URL)

	simApp := wecomsim.App{AgentID: AgentID, Name: "一站式服务大厅", Secret: secret, HomeURL: e.URL + "/app/", TrustedDomain: u.Host}
	if opts.Hall {
		simApp.Token, simApp.EncodingAESKey, simApp.CallbackURL = callbackToken, callbackAESKey, e.URL+"/wecom/callback/hall"
	}
	e.Sim = wecomsim.New(wecomsim.Options{
		CorpID: CorpID, BaseURL: e.URL + "/wecomsim", Logger: log, Fixture: e.Uni.SimFixture(),
		Apps: []wecomsim.App{simApp},
	})
	t.Cleanup(e.Sim.Close)
	corp, err := wecom.New(wecom.Options{
		BaseURL: e.URL + "/wecomsim", OAuthBaseURL: e.URL + "/wecomsim", LoginBaseURL: e.URL + "/wecomsim", CorpID: CorpID,
		Apps: []wecom.AppConfig{{Name: "hall", AgentID: AgentID, Secret: secret}}, Coord: e.Coord, Logger: log,
		ContactSecret: wecomsim.DefaultContactSecret, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.App, err = corp.App("hall"); err != nil {
		t.Fatal(err)
	}
	contactsClient, err := corp.Contacts()
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	if err := db.LoadDataCenter(ctx, e.Uni.DataCenter(), now); err != nil {
		t.Fatal(err)
	}
	if err := db.LoadPeopleExt(ctx, e.Uni.PeopleExt()); err != nil {
		t.Fatal(err)
	}
	if err := db.LoadPersonTags(ctx, e.Uni.PersonTags()); err != nil {
		t.Fatal(err)
	}
	if e.Workbench, err = workbench.New(ctx, db, workbench.Options{Coord: e.Coord, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Workbench.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Sessions, err = auth.New(auth.Options{Coord: e.Coord, Logger: log}); err != nil {
		t.Fatal(err)
	}
	e.Admins = auth.NewAdmins(db, time.Now)
	for _, tg := range e.Uni.Tags {
		if tg.Name == "部门管理员" && len(tg.Users) > 0 {
			e.SuperAdmin = tg.Users[0]
		}
	}
	if err := e.Admins.Bootstrap(ctx, []string{e.SuperAdmin}); err != nil {
		t.Fatal(err)
	}

	var people []cassim.Person
	for _, p := range e.Uni.People {
		switch p.Main() {
		case demo.CatAlumnus, demo.CatExaminee, demo.CatVisitor:
			continue
		}
		people = append(people, cassim.Person{ID: p.UserID, Name: p.Name})
	}
	e.CASSim = cassim.New(cassim.Options{BaseURL: e.URL + "/cassim", People: people, Services: []string{e.URL + "/"}})
	casClient, err := cas.New(cas.Options{BaseURL: e.URL + "/cassim", Version: 3})
	if err != nil {
		t.Fatal(err)
	}

	if e.Mirror, err = contacts.New(db, contacts.Options{Logger: log}); err != nil {
		t.Fatal(err)
	}
	if e.Sync, err = orgsync.New(orgsync.Options{DB: db, Mirror: e.Mirror, Coord: e.Coord, Client: contactsClient, Config: opts.Sync, Logger: log}); err != nil {
		t.Fatal(err)
	}
	// Runs started from the console end before the database closes.
	t.Cleanup(e.Sync.Wait)
	if opts.SelfReg != nil {
		so := *opts.SelfReg
		if so.DB == nil {
			so.DB = db
		}
		if so.Mirror == nil {
			so.Mirror = e.Mirror
		}
		if so.Coord == nil {
			so.Coord = e.Coord
		}
		if so.Logger == nil {
			so.Logger = log
		}
		if e.SelfReg, err = selfreg.New(so); err != nil {
			t.Fatal(err)
		}
	}

	if e.Notify, err = notify.New(notify.Options{DB: db, Mirror: e.Mirror, App: e.App, Coord: e.Coord, Roles: e.Workbench.RoleHolders,
		PublicURL: e.URL, Logger: log}); err != nil {
		t.Fatal(err)
	}
	handler.RegisterMessagesBadge(e.Workbench, db)
	var smsHandler http.Handler
	if opts.Guest {
		e.SMS = smssim.New(smssim.Options{BasePath: "/smssim"})
		if e.Guest, err = guest.New(guest.Options{Coord: e.Coord, SMS: e.SMS, Template: "1001", Logger: log,
			Audit: func(ctx context.Context, a store.AuditEntry) error { return db.InsertAudit(ctx, nil, a) }}); err != nil {
			t.Fatal(err)
		}
		smsHandler = e.SMS.Handler()
	}

	var data datamod.Source
	if opts.Data {
		e.startData(t, log, now)
		data = e.Data
	}

	var recv map[string]handler.Receiver
	if opts.Hall {
		recv = e.startHall(t, opts, log)
		handler.RegisterHallBadge(e.Workbench, e.Hall)
	}

	h, err = handler.New(handler.Deps{
		Logger: log, DB: db, Coord: e.Coord, Metrics: prometheus.NewRegistry(),
		Simulator: e.Sim, SimulatorMount: "/wecomsim", Title: "海滨大学 一站式服务", Version: "test", PublicURL: e.URL,
		Sessions: e.Sessions, Workbench: e.Workbench, Admins: e.Admins, App: e.App,
		CAS: casClient, CASName: "统一身份认证", CASSim: e.CASSim, CASSimMount: "/cassim",
		JoinContact: "请联系教育信息中心", SelfReg: e.SelfReg, Sync: e.Sync,
		Notify: e.Notify, BroadcastApproval: opts.BroadcastApproval,
		Hall: e.Hall, Receivers: recv, Inbox: e.Inbox,
		Guest: e.Guest, SMSSim: smsHandler, SMSSimMount: "/smssim",
		Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Hall {
		e.publishHall(t)
	}
	return e
}

// startData builds the demo's shared database for the test and the data
// modules' service over it.
func (e *Env) startData(t testing.TB, log *zap.Logger, now time.Time) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	if err := shareddemo.Ensure(ctx, path, e.Uni, now); err != nil {
		t.Fatalf("apptest: build the shared database: %v", err)
	}
	shared, dialect, err := datamod.Open(ctx, datamod.OpenOptions{Driver: datamod.DialectSQLite, DSN: "file:" + path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shared.Close() })
	e.Shared = shared
	e.Data = datamod.New(datamod.Options{Shared: shared, Dialect: dialect, DB: e.DB, Logger: log})
	if err := e.Data.Seed(ctx); err != nil {
		t.Fatal(err)
	}
}

// StopData closes the shared database, as if its server went away: every
// data module is unavailable from now on (the rest of the platform runs).
func (e *Env) StopData(t testing.TB) {
	t.Helper()
	if e.Shared == nil {
		t.Fatal("apptest: StopData without Options.Data")
	}
	if err := e.Shared.Close(); err != nil {
		t.Fatal(err)
	}
}

// The app's callback secrets under Options.Hall.
const (
	callbackToken  = "apptesttoken"
	callbackAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// startHall syncs the demo into WeCom, starts the engine with the shipped
// processes, and an inbox that hands card presses to it.
func (e *Env) startHall(t testing.TB, opts Options, log *zap.Logger) map[string]handler.Receiver {
	t.Helper()
	var err error
	if e.Hall, err = hall.New(hall.Options{DB: e.DB, Messages: e.Notify, Cards: e.App, CardCodes: e.Notify, PublicURL: e.URL, Logger: log, Now: opts.Now,
		Calendar: func(ctx context.Context) (*calendar.Calendar, error) { return calendar.Load(ctx, e.DB, log) }}); err != nil {
		t.Fatal(err)
	}
	if e.Inbox, err = inbox.New(e.DB, inbox.Options{Instance: "apptest", Logger: log, Poll: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	e.Inbox.Register(wecom.KindTemplateCard, e.Hall.Press)
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Inbox.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := wecom.NewCrypter(callbackToken, callbackAESKey, CorpID)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]handler.Receiver{"hall": {Crypter: c, AgentID: AgentID}}
}

// publishHall syncs the demo into WeCom (the approvers' tags are WeCom's)
// and publishes the shipped processes.
func (e *Env) publishHall(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, tr := range e.Uni.TagRules() {
		if err := e.Mirror.PutTagRule(ctx, nil, tr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{}); err != nil {
		t.Fatalf("apptest: the hall's first sync: %v", err)
	}
	js := e.Uni.Joined()
	for i := range js {
		js[i].Status = 1 // everyone has logged in to WeCom once
	}
	if err := e.Sim.SetJoined(js); err != nil {
		t.Fatal(err)
	}
	res, err := e.Hall.PublishShipped(ctx, "system")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if len(r.Problems) > 0 || r.Version != 1 {
			t.Fatalf("apptest: publish %s: version %d, %v", r.Key, r.Version, r.Problems)
		}
	}
}

// DrainNotify runs the message center's dispatch steps until nothing is
// due: the messages submitted so far are expanded and sent (or held).
func (e *Env) DrainNotify(t testing.TB) {
	t.Helper()
	for {
		worked, err := e.Notify.Step(context.Background())
		if err != nil {
			t.Fatalf("notify dispatch: %v", err)
		}
		if !worked {
			return
		}
	}
}

// Browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each hop.
func (e *Env) Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// UserAgentWeCom is the WeCom client's user agent (it says wxwork).
const UserAgentWeCom = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh"

// UserAgentWeChat is personal WeChat's (the WeChat plugin): MicroMessenger
// without wxwork.
const UserAgentWeChat = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) NetType/WIFI Language/zh_CN"

// Get fetches path (or an absolute URL) with the user agent.
func Get(t testing.TB, c *http.Client, rawURL, ua string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	return resp
}

// SignIn signs userID in on c the way the WeCom client does: open the
// app's home, follow the redirects through our /auth/wecom and the
// simulator's authorize page (told who holds the phone), and come back
// signed in. It returns the final URL reached.
func (e *Env) SignIn(t testing.TB, c *http.Client, userID, ua string) string {
	t.Helper()
	if ua == "" {
		ua = UserAgentWeCom
	}
	next := e.URL + "/app/"
	for hop := 0; hop < 10; hop++ {
		resp := Get(t, c, next, ua)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return next
		}
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in %s: GET %s answered %d", userID, next, resp.StatusCode)
		}
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("sign in %s: %v", userID, err)
		}
		if strings.Contains(loc.Path, "/connect/oauth2/authorize") {
			q := loc.Query()
			q.Set("sim_userid", userID)
			loc.RawQuery = q.Encode()
			loc.Fragment = ""
		}
		next = loc.String()
	}
	t.Fatalf("sign in %s: too many redirects", userID)
	return ""
}

// Person returns the first demo person matching pred.
func (e *Env) Person(t testing.TB, pred func(p *demo.Person) bool) *demo.Person {
	t.Helper()
	for i := range e.Uni.People {
		if pred(&e.Uni.People[i]) {
			return &e.Uni.People[i]
		}
	}
	t.Fatal("no demo person matches")
	return nil
}
