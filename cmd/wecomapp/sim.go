package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/cas/cassim"
	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// cmdSim serves the WeCom simulator alone, so that any client — ours on
// another machine, silenceper's, WxJava — can be pointed at it.
func cmdSim(ctx context.Context, e *env, args []string) error {
	fs := e.flags("sim", "", "Serve the WeCom simulator standalone. Credentials come from the configuration (wecom.corp_id, wecom.contacts.*, wecom.apps[*].*) or are generated, and are printed at start so clients can be pointed at it.")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	seed := fs.String("seed", "", "demo, full or empty (default: simulator.seed)")
	legacy := fs.Bool("legacy", false, "reproduce the pre-2022 rules (contacts-sync reads, mobile/email for apps, full change_contact); default: today's WeCom")
	contactsCallback := fs.String("contacts-callback", "", "URL receiving change_contact callbacks (default: none)")
	appCallback := fs.String("app-callback", "", "URL receiving app callbacks, {app} replaced by the app name (default: none)")
	platform := fs.String("platform-url", "http://127.0.0.1:8080", "the platform's public URL: the app's home page and trusted domain, and the services the CAS simulator (at /cassim) accepts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if *seed != "" {
		cfg.Simulator.Seed = *seed
	}
	if _, err := demoScale(cfg.Simulator.Seed); err != nil && cfg.Simulator.Seed != "empty" {
		return err
	}
	cfg.Simulator.Legacy = cfg.Simulator.Legacy || *legacy
	if err := fillSimulatorSecrets(cfg); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	base := publicURLFor(ln.Addr())
	// The standalone simulator is mounted at the root of its own server.
	cfg.Server.PublicURL = base
	cfg.Simulator.Mount = ""
	log, err := newLogger(cfg.Log, e.stderr)
	if err != nil {
		return err
	}
	// Standalone, it is meant to be reached by clients on other machines
	// too; there it warns and its pages carry the banner.
	public := !isLoopback(ln.Addr())
	if public {
		log.Warn("the WeCom simulator listens beyond loopback: its admin API is unauthenticated; anyone who reaches it can act as any member",
			zap.String("addr", ln.Addr().String()))
	}
	platformURL := strings.TrimSuffix(*platform, "/")
	uni := demoUniversity(cfg.Simulator.Seed)
	var fixture *wecomsim.Fixture
	if uni != nil {
		fixture = uni.SimFixture()
	}
	sim := newSimulatorWith(cfg, log, *contactsCallback, *appCallback, public, fixture, platformURL)
	defer sim.Close()
	// The university's CAS beside it, for a platform whose auth.cas_url
	// points here.
	var people []cassim.Person
	if uni != nil {
		people = casPeople(uni)
	}
	mux := http.NewServeMux()
	mux.Handle(casSimMount+"/", http.StripPrefix(casSimMount, cassim.New(cassim.Options{BaseURL: base + casSimMount, People: people, Services: []string{platformURL + "/"}})))
	mux.Handle("/", sim)

	printSimCredentials(e, cfg, base)
	fmt.Fprintf(e.stdout, "  CAS          %s%s (for auth.cas_url; services under %s/)\n", base, casSimMount, platformURL)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: zap.NewStdLog(log)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("simulator server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func printSimCredentials(e *env, cfg *config.Config, base string) {
	fmt.Fprintf(e.stdout, "WeCom simulator serving at %s\n", base)
	fmt.Fprintf(e.stdout, "  API base     %s/cgi-bin/...   OAuth %s/connect/oauth2/authorize   phone page %s/phone\n", base, base, base)
	fmt.Fprintf(e.stdout, "  corp id      %s\n", cfg.WeCom.CorpID)
	c := cfg.WeCom.Contacts
	fmt.Fprintf(e.stdout, "  contacts     secret=%s token=%s encoding_aes_key=%s\n", c.Secret.Value(), c.Token.Value(), c.EncodingAESKey.Value())
	for _, a := range cfg.WeCom.Apps {
		fmt.Fprintf(e.stdout, "  app %-8s agent_id=%d secret=%s token=%s encoding_aes_key=%s\n", a.Name, a.AgentID, a.Secret.Value(), a.Token.Value(), a.EncodingAESKey.Value())
	}
	fmt.Fprintf(e.stdout, "  seed         %s\n", cfg.Simulator.Seed)
	rules := "today's WeCom (contacts-sync reads 48009, no mobile/email for apps, minimal change_contact)"
	if cfg.Simulator.Legacy {
		rules = "legacy (pre-2022)"
	}
	fmt.Fprintf(e.stdout, "  rules        %s\n", rules)
}

// simulatorExposure lists why mounting the simulator in serve looks like a
// production deployment: its admin API is unauthenticated (it mints OAuth
// codes, shows the demo's people and makes the platform accept signed
// callbacks from any member), so it must stay on one developer's machine.
// Empty means a local run.
func simulatorExposure(cfg *config.Config, listen net.Addr) []string {
	var why []string
	if !isLoopback(listen) {
		why = append(why, fmt.Sprintf("the listen address %s (server.addr) is not loopback", cfg.Server.Addr))
	}
	if cfg.Database.Driver == "mysql" {
		why = append(why, "the database is MySQL")
	}
	if cfg.Redis.Addr != "" {
		why = append(why, "redis.addr is set")
	}
	if cfg.WeCom.APIBase != "" {
		why = append(why, fmt.Sprintf("wecom.api_base is set (%s)", cfg.WeCom.APIBase))
	}
	return why
}

func isLoopback(a net.Addr) bool {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errSimulatorExposed is serve's refusal, naming every reason and the two
// ways out.
func errSimulatorExposed(why []string) error {
	return fmt.Errorf("refusing to mount the WeCom simulator: %s; it is for local runs only (its admin API is unauthenticated). Turn it off (simulator.enabled: false, WECOMAPP_SIMULATOR_ENABLED=false) or, to expose it on purpose, set simulator.allow_public: true",
		strings.Join(why, "; "))
}
