package main

import (
	"context"
	"fmt"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/store"
)

func (e *env) loadConfig() (*config.Config, error) {
	return config.Load(e.configPath, e.configOptional, e.environ)
}

// openDatabase loads the configuration and opens its database, for the
// commands that need nothing else.
func (e *env) openDatabase(ctx context.Context) (*store.DB, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return nil, err
	}
	return openDB(ctx, cfg)
}

func cmdConfig(ctx context.Context, e *env, args []string) error {
	fs := e.flags("config", "dump|check", "dump prints the effective configuration with secrets redacted; check validates it.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	switch fs.Arg(0) {
	case "dump":
		b, err := cfg.Dump()
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(b)
		return err
	case "check", "":
		fmt.Fprintln(e.stdout, "configuration is valid")
		return nil
	default:
		return usageError{fmt.Sprintf("config: unknown action %q (want dump or check)", fs.Arg(0))}
	}
}
