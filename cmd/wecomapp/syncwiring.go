package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// demoCorp is the simulated corp serve starts with. With sync.on_start it
// is WeCom as the platform left it: as handed over (the root, the creator,
// and what the data center does not make) plus everything the mirror says
// the sync wrote — WeCom keeps its contacts across our restarts, and the
// embedded simulator, which keeps nothing, is rebuilt so — and the first
// sync fills an empty one. Without sync.on_start: already synced.
func demoCorp(ctx context.Context, cfg *config.Config, u *demo.University, mirror *contacts.Mirror) (*wecomsim.Fixture, error) {
	switch {
	case u == nil:
		return nil, nil
	case !cfg.Sync.OnStart:
		return u.SimFixture(), nil
	}
	f := u.StartingCorp()
	st, err := mirror.Load(ctx)
	if err != nil {
		return nil, err
	}
	joined := map[string]wecomsim.Joined{}
	for _, j := range u.Joined() {
		joined[j.UserID] = j
	}
	depts := map[int64]bool{}
	for _, d := range f.Departments {
		depts[d.ID] = true
	}
	for _, d := range st.Departments {
		if !depts[d.ID] {
			f.Departments = append(f.Departments, wecomsim.Department{ID: d.ID, Name: d.Name, ParentID: d.ParentID, Order: d.Order, DepartmentLeader: d.Leaders})
		}
	}
	users := map[string]bool{}
	for _, m := range f.Users {
		users[m.UserID] = true
	}
	for _, m := range st.Members {
		if users[m.UserID] {
			continue
		}
		w := wecomsim.User{UserID: m.UserID, Name: m.Name, MainDepartment: m.MainDepartment, Position: m.Position, Mobile: m.Mobile, Email: m.Email, Status: 4}
		if m.Gender != 0 {
			w.Gender = fmt.Sprint(m.Gender)
		}
		for _, ms := range m.Departments {
			w.Department = append(w.Department, ms.Department)
			w.Order = append(w.Order, ms.Order)
			lead := 0
			if ms.Leader {
				lead = 1
			}
			w.IsLeaderInDept = append(w.IsLeaderInDept, lead)
		}
		if j, ok := joined[m.UserID]; ok {
			w.Status, w.WeChatPlugin, w.OpenID = j.Status, j.WeChatPlugin, j.OpenID
		}
		if !m.Enabled {
			w.Status = 2
		}
		f.Users = append(f.Users, w)
	}
	tags := map[int64]bool{}
	for _, t := range f.Tags {
		tags[t.TagID] = true
	}
	for _, t := range st.Tags {
		if !tags[t.ID] {
			f.Tags = append(f.Tags, wecomsim.Tag{TagID: t.ID, TagName: t.Name, UserList: t.Users, PartyList: t.Parties, Owner: wecomsim.OwnerContacts})
		}
	}
	return f, nil
}

// newSyncRunner is the contacts sync of a serving instance: the console's
// buttons, the nightly schedule, self-registration and the first load
// all run through it. Without a contacts-sync secret it can only plan.
func newSyncRunner(base context.Context, cfg *config.Config, db *store.DB, co coord.Store, corp *wecom.Corp, mirror *contacts.Mirror, log *zap.Logger, reg prometheus.Registerer) (*orgsync.Runner, error) {
	var cl *wecom.Client
	if cfg.WeCom.Contacts.Secret.IsSet() {
		var err error
		if cl, err = corp.Contacts(); err != nil {
			return nil, fmt.Errorf("contacts sync: %w", err)
		}
	} else {
		log.Warn("wecom.contacts.secret is not set: the contacts sync can plan but not apply; set WECOMAPP_WECOM_CONTACTS_SECRET")
	}
	return orgsync.New(orgsync.Options{DB: db, Mirror: mirror, Coord: co, Client: cl, Config: syncConfig(cfg.Sync), Logger: log, Registerer: reg, Base: base})
}

// syncConfig is the sync section as orgsync takes it.
func syncConfig(c config.Sync) orgsync.Config {
	return orgsync.Config{MaxShare: c.MaxShare, Grace: c.Grace, ManageAll: c.ManageAll, Drift: c.Drift, Batch: c.Batch, Members: c.Members}
}

// syncOnStart runs the first sync when the mirror is empty (sync.on_start:
// the demo's first load, which a newcomer watches in the log and in the
// console's run history), or resumes a run a restart interrupted. In the demo, the simulated people then join
// WeCom (wecomsim.Sim.SetJoined), as people log in on their phones.
func syncOnStart(ctx context.Context, db *store.DB, r *orgsync.Runner, mirror *contacts.Mirror, sim *wecomsim.Sim, u *demo.University, log *zap.Logger) error {
	st, err := mirror.Load(ctx)
	if err != nil {
		return err
	}
	last, err := db.LastSyncRun(ctx, nil)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case last.Status != store.SyncInterrupted && last.Status != store.SyncRunning:
		return nil // the nightly schedule takes it from here
	}
	if len(st.Members)+len(st.Departments) > 0 && (last.Status == store.SyncInterrupted || last.Status == store.SyncRunning) {
		log.Info("contacts sync: the last run was interrupted; resuming it", zap.Int64("run", last.ID))
	} else if len(st.Members)+len(st.Departments) > 0 {
		return nil
	} else {
		log.Info("first contacts sync: filling WeCom from the data center")
	}
	res, err := r.Run(ctx, orgsync.RunOptions{Trigger: orgsync.TriggerStart, Actor: "system"})
	var gs *orgsync.GuardStopped
	switch {
	case errors.Is(err, orgsync.ErrBusy):
		log.Info("first contacts sync: another instance is running it")
		return nil
	case errors.As(err, &gs):
		log.Warn("first contacts sync stopped by the guard: confirm it in the console", zap.Int64("run", gs.RunID))
		return nil
	case err != nil:
		return fmt.Errorf("first contacts sync: %w", err)
	}
	log.Info("first contacts sync done", zap.Int64("run", res.RunID), zap.String("status", res.Status),
		zap.Int("members", len(res.Desired.Members)), zap.Int("departments", len(res.Desired.Departments)), zap.Int("calls", res.Calls()))
	if sim != nil && u != nil {
		if err := sim.SetJoined(u.Joined()); err != nil {
			log.Warn("demo people joining WeCom", zap.Error(err))
		}
	}
	return nil
}
