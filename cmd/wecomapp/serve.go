package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/wecomapp/wecomapp/attendance"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := e.flags("serve", "", "Run the HTTP server (WeCom callbacks, H5 pages, health and metrics) and the background workers until SIGINT or SIGTERM.")
	addr := fs.String("addr", "", "listen address, overriding server.addr (e.g. :8080)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	// With port 0 (tests) the public URL can only be known once listening.
	if strings.HasSuffix(cfg.Server.PublicURL, ":0") || *addr != "" {
		cfg.Server.PublicURL = publicURLFor(ln.Addr())
	}
	return serve(ctx, e, cfg, ln)
}

func publicURLFor(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func serve(ctx context.Context, e *env, cfg *config.Config, ln net.Listener) error {
	var simExposed []string // why mounting the simulator here looks like production
	if cfg.Simulator.Enabled {
		// Checked before api_base defaults to the simulator below.
		if simExposed = simulatorExposure(cfg, ln.Addr()); len(simExposed) > 0 && !cfg.Simulator.AllowPublic {
			return errSimulatorExposed(simExposed)
		}
		if err := fillSimulatorSecrets(cfg); err != nil {
			return err
		}
		base := cfg.Server.PublicURL + cfg.Simulator.Mount
		if cfg.WeCom.APIBase == "" {
			cfg.WeCom.APIBase = base
		}
		if cfg.WeCom.OAuthBase == "" {
			cfg.WeCom.OAuthBase = base
		}
		if cfg.WeCom.LoginBase == "" {
			cfg.WeCom.LoginBase = base
		}
	}
	logOut := e.stderr
	if logOut == nil {
		logOut = os.Stderr
	}
	log, err := newLogger(cfg.Log, logOut)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals

	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.Database.MigrateOnStart {
		applied, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, m := range applied {
			log.Info("migration applied", zap.String("migration", m))
		}
	}
	// go-redis reports every failed dial itself; while Redis is down that
	// is a line per call, already summed up by the degraded state and
	// wecomapp_coordination_up, so it goes to debug.
	redisLog := log.Named("redis")
	coord.SetRedisLogger(func(_ context.Context, format string, args ...any) {
		redisLog.Debug(fmt.Sprintf(format, args...))
	})
	co, err := openCoord(ctx, cfg)
	if err != nil {
		return err
	}
	defer co.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.DB.DB, string(db.Dialect())),
	)

	var uni *demo.University
	if cfg.Simulator.Enabled {
		uni = demoUniversity(cfg.Simulator.Seed)
	}
	mirror, err := contacts.New(db, contacts.Options{Logger: log.Named("contacts")})
	if err != nil {
		return err
	}
	var sim *wecomsim.Sim
	if cfg.Simulator.Enabled {
		corpFixture, err := demoCorp(ctx, cfg, uni, mirror)
		if err != nil {
			return err
		}
		if len(simExposed) > 0 {
			log.Warn("the WeCom simulator is mounted on a deployment that looks like production (simulator.allow_public): its admin API is unauthenticated; anyone who reaches it can act as any member",
				zap.Strings("reasons", simExposed))
		}
		sim = newSimulatorWith(cfg, log, callbackURL(cfg, "contacts"), callbackURL(cfg, "{app}"), len(simExposed) > 0, corpFixture, cfg.Server.PublicURL)
		defer sim.Close()
	}

	apps := make([]wecom.AppConfig, 0, len(cfg.WeCom.Apps))
	for _, a := range cfg.WeCom.Apps {
		apps = append(apps, wecom.AppConfig{Name: a.Name, AgentID: a.AgentID, Secret: a.Secret.Value()})
	}
	corp, err := wecom.New(wecom.Options{
		BaseURL: cfg.WeCom.APIBase, OAuthBaseURL: cfg.WeCom.OAuthBase, LoginBaseURL: cfg.WeCom.LoginBase, CorpID: cfg.WeCom.CorpID,
		ContactSecret: cfg.WeCom.Contacts.Secret.Value(), Apps: apps, Coord: co, HTTPTimeout: cfg.WeCom.HTTPTimeout,
		Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	pg, err := buildPages(ctx, cfg, db, co, corp, uni, log)
	if err != nil {
		return err
	}

	recv, err := receivers(cfg)
	if err != nil {
		return err
	}
	ib, err := inbox.New(db, inbox.Options{
		Instance: inboxInstance(ln.Addr()), Workers: cfg.Inbox.Workers, Lease: cfg.Inbox.Lease,
		MaxAttempts: cfg.Inbox.MaxAttempts, Poll: cfg.Inbox.Poll, Retention: cfg.Inbox.Retention, Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	tiles, err := newTilePusher(cfg, db, co, pg, log)
	if err != nil {
		return err
	}
	registerInboxHandlers(ib, log, tiles, mirror)
	// Runs the console or a self-registration starts outlive their request;
	// they stop (and resume next time) at shutdown.
	syncBase, stopSyncRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSyncRuns()
	syncRunner, err := newSyncRunner(syncBase, cfg, db, co, corp, mirror, log, reg)
	if err != nil {
		return err
	}
	smsGateway, smsPage, err := newSMS(cfg, log)
	if err != nil {
		return err
	}
	messages, err := newNotify(cfg, db, mirror, co, pg, smsGateway, inboxInstance(ln.Addr()), log, reg)
	if err != nil {
		return err
	}
	guests, err := newGuest(cfg, db, co, smsGateway, log)
	if err != nil {
		return err
	}
	hallEngine, err := newHall(db, messages, pg.app, cfg.Server.PublicURL, log)
	if err != nil {
		return err
	}
	// A card's button pressed: the engine decides the task (once, however
	// often the callback comes) and updates the cards.
	ib.Register(wecom.KindTemplateCard, hallEngine.Press)
	handler.RegisterHallBadge(pg.workbench, hallEngine)
	dataModules, shared, err := newDataModules(ctx, cfg, db, uni, log)
	if err != nil {
		return err
	}
	if shared != nil {
		defer shared.Close()
	}
	handler.RegisterMessagesBadge(pg.workbench, db)
	keys, err := apikey.New(apikey.Options{DB: db, Coord: co, Logger: log})
	if err != nil {
		return err
	}
	var tryKey *handler.TryKey
	if sim != nil {
		if tryKey, err = demoAPIKey(ctx, cfg, keys); err != nil {
			return err
		}
	}
	selfReg, err := newSelfReg(cfg, db, mirror, co, messages, syncRunner, log)
	if err != nil {
		return err
	}

	h, err := handler.New(handler.Deps{
		Logger: log, DB: db, Coord: co, Metrics: reg, TrustedProxies: cfg.Server.TrustedProxies,
		Receivers: recv, Inbox: ib,
		Callback:         handler.CallbackLimits{MaxReaders: cfg.Server.MaxCallbackReaders, StoreTimeout: cfg.Server.CallbackStoreTimeout},
		MetricsElsewhere: cfg.Server.MetricsAddr != "", MetricsAllow: cfg.Server.MetricsAllow,
		Title: cfg.WeCom.Apps[0].Title, Version: versionString(), PublicURL: cfg.Server.PublicURL,
		Simulator: simHandler(sim), SimulatorMount: cfg.Simulator.Mount, SimulatorPublic: sim != nil && len(simExposed) > 0,
		Sessions: pg.sessions, Workbench: pg.workbench, Admins: pg.admins, App: pg.app,
		SelfReg: selfReg, SelfRegDeptAttr: cfg.SelfReg.DeptAttribute, Sync: syncRunner,
		SMSSim: smsPage, SMSSimMount: smsSimMount, Guest: guests, Hall: hallEngine, Data: dataModules,
		APIKeys: keys, Messages: messages, Notify: messages, APIMaxBody: cfg.API.MaxBody, BroadcastApproval: broadcastApproval(cfg.Notify.BroadcastApproval), TryAPIKey: tryKey, TryTagName: demoTryTag(uni),
		CAS: pg.cas, CASName: cfg.Auth.CASName, CASSim: pg.casSim, CASSimMount: casSimMount, JoinContact: pg.joinContact,
		Try: pg.try, TryAdmin: pg.tryAdmin, TryRegister: pg.tryRegister,
	})
	if err != nil {
		return err
	}

	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	srvOpts := handler.ServerOptions{
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout, ReadTimeout: cfg.Server.ReadTimeout, IdleTimeout: cfg.Server.IdleTimeout,
		Logger: log.Named("http.server"),
		// Requests see a context that ends at shutdown, so long polls and
		// streams stop instead of holding the drain.
		BaseContext: workers,
	}
	srv := handler.NewServer(h, srvOpts)
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	if cfg.Server.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.Server.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s (server.metrics_addr): %w", cfg.Server.MetricsAddr, err)
		}
		cfg.Server.MetricsAddr = mln.Addr().String() // the real port when it was 0
		servers = append(servers, handler.NewServer(handler.MetricsHandler(reg), srvOpts))
		listeners = append(listeners, mln)
	}

	g, gctx := errgroup.WithContext(workers)
	if cfg.Inbox.Workers > 0 {
		g.Go(func() error { return ib.Run(gctx) })
	}
	g.Go(func() error {
		// WeCom may be unreachable at start; the tiles show the plain icon
		// until the template is set, so keep trying in the background.
		for {
			err := tiles.SetTemplate(gctx)
			if err == nil || gctx.Err() != nil {
				break
			}
			log.Warn("workbench tile template not set yet; retrying in 1m", zap.Error(err))
			select {
			case <-gctx.Done():
			case <-time.After(time.Minute):
			}
		}
		return tiles.Run(gctx)
	})
	g.Go(func() error {
		if cfg.Sync.OnStart {
			if err := syncOnStart(gctx, db, syncRunner, mirror, sim, uni, log); err != nil && gctx.Err() == nil {
				log.Error("first contacts sync failed; the console's 通讯录同步 page can run it again", zap.Error(err))
			}
		}
		// The shipped processes need the approvers' tags, which the first
		// sync made.
		if err := publishShipped(gctx, hallEngine, log); err != nil && gctx.Err() == nil {
			log.Error("shipped processes not published", zap.Error(err))
		}
		if uni != nil {
			if err := demoApplications(gctx, hallEngine, db, uni, demoCounselor(uni), log); err != nil && gctx.Err() == nil {
				log.Error("demo applications not started", zap.Error(err))
			}
		}
		if cfg.Sync.Schedule == "" || !cfg.WeCom.Contacts.Secret.IsSet() {
			return nil
		}
		stop, err := syncRunner.Schedule(gctx, cfg.Sync.Schedule)
		if err != nil {
			return err
		}
		<-gctx.Done()
		stop()
		return nil
	})
	g.Go(func() error { return messages.Run(gctx) })
	reminders, err := newReminders(db, messages, log)
	if err != nil {
		return err
	}
	if uni != nil {
		if err := seedDemoReminders(ctx, db, time.Now()); err != nil {
			return err
		}
	}
	g.Go(func() error { return reminders.Run(gctx) })
	g.Go(func() error { return runHall(gctx, hallEngine, log) })
	if pg.app != nil && cfg.Attendance.Schedule != "" {
		// The personnel office's monthly attendance: the previous month
		// pulled and its workbook kept on the 1st, one instance a month.
		att, err := attendance.New(attendance.Options{DB: db, App: pg.app, Logger: log.Named("attendance"), Coord: co})
		if err != nil {
			return err
		}
		g.Go(func() error {
			stop, err := att.Schedule(gctx, cfg.Attendance.Schedule)
			if err != nil {
				return err
			}
			<-gctx.Done()
			stop()
			return nil
		})
	}
	serveErr := make(chan error, len(servers))
	for i, sv := range servers {
		go func() { serveErr <- sv.Serve(listeners[i]) }()
	}

	printBanner(e, cfg, sim != nil)
	log.Info("serving", zap.String("addr", ln.Addr().String()), zap.String("public_url", cfg.Server.PublicURL),
		zap.String("database", string(db.Dialect())), zap.Bool("redis", cfg.Redis.Addr != ""), zap.Bool("simulator", sim != nil))

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", zap.Duration("deadline", cfg.Server.ShutdownTimeout))
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	case <-gctx.Done():
		runErr = fmt.Errorf("background worker stopped: %w", context.Cause(gctx))
	}

	// Drain requests first (WeCom callbacks in flight get their answer),
	// then stop the workers, which release their leases, all within one
	// deadline.
	deadline := time.Now().Add(cfg.Server.ShutdownTimeout)
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for _, sv := range servers {
		if err := sv.Shutdown(sctx); err != nil {
			log.Warn("requests still running at the shutdown deadline", zap.Error(err))
			_ = sv.Close()
		}
	}
	stopWorkers()
	stopSyncRuns()
	done := make(chan error, 1)
	go func() { syncRunner.Wait(); done <- g.Wait() }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) && runErr == nil {
			runErr = err
		}
	case <-sctx.Done():
		log.Warn("background workers did not stop by the shutdown deadline")
	}
	log.Info("stopped")
	return runErr
}

func printBanner(e *env, cfg *config.Config, simulated bool) {
	u := cfg.Server.PublicURL
	fmt.Fprintf(e.stdout, "wecomapp is running: open %s\n", u)
	metrics := u + "/metrics"
	if cfg.Server.MetricsAddr != "" {
		metrics = "http://" + cfg.Server.MetricsAddr + "/metrics"
	}
	fmt.Fprintf(e.stdout, "  health   %s/healthz   readiness %s/readyz   metrics %s\n", u, u, metrics)
	fmt.Fprintf(e.stdout, "  callback %s/wecom/callback/<app>   (apps: %s, and contacts)\n", u, appNames(cfg))
	fmt.Fprintf(e.stdout, "  workbench %s/app/   sign-in (PC) %s/login   admin console %s/admin/\n", u, u, u)
	if simulated {
		fmt.Fprintf(e.stdout, "  WeCom simulator %s%s   phone page %s%s/phone  (pick a member, open the app)\n", u, cfg.Simulator.Mount, u, cfg.Simulator.Mount)
	}
}

func appNames(cfg *config.Config) string {
	var names []string
	for _, a := range cfg.WeCom.Apps {
		names = append(names, a.Name)
	}
	return strings.Join(names, ", ")
}

func simHandler(s *wecomsim.Sim) http.Handler {
	if s == nil {
		return nil
	}
	return s
}

// newSimulatorWith builds a simulated WeCom seeded per simulator.seed. The
// embedded default wires it to this server's callback URLs; appCallback's
// {app} is replaced by each app's name. platformURL is where the platform
// serves its pages: the app's home and trusted domain. public puts a warning banner on its
// pages (simulator.allow_public on a deployment that looks like production).
func newSimulatorWith(cfg *config.Config, log *zap.Logger, contactsCallback, appCallback string, public bool, fixture *wecomsim.Fixture, platformURL string) *wecomsim.Sim {
	if fixture == nil {
		fixture = &wecomsim.Fixture{}
	}
	var apps []wecomsim.App
	for _, a := range cfg.WeCom.Apps {
		apps = append(apps, wecomsim.App{
			AgentID: a.AgentID, Name: a.Title, Secret: a.Secret.Value(), Token: a.Token.Value(), EncodingAESKey: a.EncodingAESKey.Value(),
			CallbackURL: strings.ReplaceAll(appCallback, "{app}", a.Name), HomeURL: platformURL + "/app/", TrustedDomain: hostOf(platformURL),
			ReportEnter: true,
		})
	}
	return wecomsim.New(wecomsim.Options{
		CorpID:        cfg.WeCom.CorpID,
		ContactSecret: cfg.WeCom.Contacts.Secret.Value(),
		ContactCallback: wecomsim.Receiver{
			URL: contactsCallback, Token: cfg.WeCom.Contacts.Token.Value(), EncodingAESKey: cfg.WeCom.Contacts.EncodingAESKey.Value(),
		},
		Apps:            apps,
		Legacy:          cfg.Simulator.Legacy,
		CallbackURLs:    cfg.Simulator.CallbackURLs,
		Public:          public,
		CallbackRetries: cfg.Simulator.CallbackRetries,
		CallbackTimeout: cfg.Simulator.CallbackTimeout,
		Logger:          log,
		Fixture:         fixture,
		BaseURL:         cfg.Server.PublicURL + cfg.Simulator.Mount,
	})
}

func hostOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	host, _, _ := strings.Cut(u, "/")
	return host
}
