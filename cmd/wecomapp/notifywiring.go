package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/reminder"
	"github.com/wecomapp/wecomapp/store"
)

// newNotify is the message center of a serving instance: every producer
// submits through it, and its dispatcher (run with the other workers)
// sends as the first app of wecom.apps.
func newNotify(cfg *config.Config, db *store.DB, mirror *contacts.Mirror, co coord.Store, pg *pages, instance string, log *zap.Logger, reg prometheus.Registerer) (*notify.Service, error) {
	return notify.New(notify.Options{
		DB: db, Mirror: mirror, App: pg.app, Coord: co, Roles: pg.workbench.RoleHolders,
		PublicURL: cfg.Server.PublicURL, Instance: instance, Logger: log, Registerer: reg,
	})
}

// newReminders fires the reminder rules through the message center, on
// the working days of the calendar (statutory holidays, make-up workdays,
// the university's vacations).
func newReminders(db *store.DB, messages *notify.Service, log *zap.Logger) (*reminder.Scheduler, error) {
	return reminder.New(reminder.Options{DB: db, Messages: messages, Logger: log,
		Calendar: func(ctx context.Context) (*calendar.Calendar, error) {
			return calendar.Load(ctx, db, log.Named("calendar"))
		}})
}
