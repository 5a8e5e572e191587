package main

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/datamod/shareddemo"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store"
)

// newDataModules is the data modules over the shared database. With the
// simulator on and a SQLite shared database, the demo's is built first
// (data/shared.db, rebuilt when the demo or the month changed). A shared
// database that does not open is not fatal: its modules say 暂时无法使用
// and the rest of the platform runs. It answers the shared connection to
// close at shutdown (nil when none).
func newDataModules(ctx context.Context, cfg *config.Config, db *store.DB, uni *demo.University, log *zap.Logger) (*datamod.Service, *sqlx.DB, error) {
	log = log.Named("datamod")
	var shared *sqlx.DB
	dialect := ""
	if dsn := cfg.Shared.DSN.Value(); dsn != "" {
		if cfg.Simulator.Enabled && cfg.Shared.Driver == "sqlite" && uni != nil {
			path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
			began := time.Now()
			if err := shareddemo.Ensure(ctx, path, uni, time.Now()); err != nil {
				log.Warn("the demo's shared database was not built", zap.String("path", path), zap.Error(err))
			} else {
				log.Info("the demo's shared database is ready", zap.String("path", path), zap.Duration("took", time.Since(began)))
			}
		}
		var err error
		shared, dialect, err = datamod.Open(ctx, datamod.OpenOptions{Driver: cfg.Shared.Driver, DSN: dsn, MaxOpenConns: cfg.Shared.MaxOpenConns})
		if err != nil {
			log.Warn("shared database unavailable; the data modules say 暂时无法使用", zap.Error(err))
			shared = nil
		}
	} else {
		log.Info("no shared database configured (shared.dsn): the data modules say 暂时无法使用")
	}
	dm := datamod.New(datamod.Options{Shared: shared, Dialect: dialect, DB: db, Logger: log})
	if err := dm.Seed(ctx); err != nil {
		if shared != nil {
			shared.Close()
		}
		return nil, nil, err
	}
	return dm, shared, nil
}
