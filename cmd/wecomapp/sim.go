package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/config"
)

// cmdSim serves the WeCom simulator alone, so that any client — ours on
// another machine, silenceper's, WxJava — can be pointed at it.
func cmdSim(ctx context.Context, e *env, args []string) error {
	fs := e.flags("sim", "", "Serve the WeCom simulator standalone. Credentials come from the configuration (wecom.corp_id, wecom.contacts.*, wecom.apps[*].*) or are generated, and are printed at start so clients can be pointed at it.")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	seed := fs.String("seed", "", "demo, full or empty (default: simulator.seed)")
	restricted := fs.Bool("restricted", false, "reproduce the post-2022 restrictions (48009, no mobile/email, minimal change_contact)")
	contactsCallback := fs.String("contacts-callback", "", "URL receiving change_contact callbacks (default: none)")
	appCallback := fs.String("app-callback", "", "URL receiving app callbacks, {app} replaced by the app name (default: none)")
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
	cfg.Simulator.Restricted = cfg.Simulator.Restricted || *restricted
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
	sim := newSimulatorWith(cfg, log, *contactsCallback, *appCallback)
	defer sim.Close()

	printSimCredentials(e, cfg, base)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second, ErrorLog: zap.NewStdLog(log)}
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
	fmt.Fprintf(e.stdout, "  contacts     secret=%s token=%s encoding_aes_key=%s\n", c.Secret.Value, c.Token.Value, c.EncodingAESKey.Value)
	for _, a := range cfg.WeCom.Apps {
		fmt.Fprintf(e.stdout, "  app %-8s agent_id=%d secret=%s token=%s encoding_aes_key=%s\n", a.Name, a.AgentID, a.Secret.Value, a.Token.Value, a.EncodingAESKey.Value)
	}
	fmt.Fprintf(e.stdout, "  seed         %s\n", cfg.Simulator.Seed)
}
