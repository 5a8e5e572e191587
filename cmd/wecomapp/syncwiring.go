package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/classgroup"
	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/selfreg"
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
	r, err := orgsync.New(orgsync.Options{DB: db, Mirror: mirror, Coord: co, Client: cl, Config: syncConfig(cfg.Sync), Logger: log, Registerer: reg, Base: base})
	if err != nil {
		return nil, err
	}
	if cfg.Sync.ClassGroups && cl != nil {
		app, err := corp.App(cfg.WeCom.Apps[0].Name)
		if err != nil {
			return nil, fmt.Errorf("class groups: %w", err)
		}
		r.After(classGroupStep(db, co, app, log))
	}
	return r, nil
}

// classGroupStep keeps the class groups in step after each run, under
// the run's lock, with the members the run left in WeCom.
func classGroupStep(db *store.DB, co coord.Store, app *wecom.Client, log *zap.Logger) orgsync.Step {
	const createsKey, changesKey = "classgroup:creates-out", "classgroup:changes-out"
	out := func(ctx context.Context, key string) bool {
		if co == nil {
			return false
		}
		_, err := co.Get(ctx, key)
		return err == nil
	}
	return orgsync.Step{Name: "class groups", Run: func(ctx context.Context, _ *orgsync.Result) (string, error) {
		members, err := classgroup.MirrorMembers(ctx, db)
		if err != nil {
			return "", err
		}
		rep, err := classgroup.Sync(ctx, classgroup.Options{DB: db, Client: app, Members: members, Logger: log.Named("classgroup"),
			CreatesOut: out(ctx, createsKey), ChangesOut: out(ctx, changesKey)})
		if err != nil {
			return "", err
		}
		// WeCom's quotas: 1,000 new chats a day (its day, Beijing time) and
		// 1,000 changes an hour. Remembered, so later runs defer without
		// asking again until the quota is back.
		if co != nil && rep.CreatesOut {
			bj := time.FixedZone("CST", 8*3600)
			now := time.Now().In(bj)
			midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, bj)
			_, _ = co.SetNX(ctx, createsKey, []byte("1"), time.Until(midnight))
		}
		if co != nil && rep.ChangesOut {
			_, _ = co.SetNX(ctx, changesKey, []byte("1"), time.Hour)
		}
		sum := fmt.Sprintf("%d classes: %d created, %d adopted, %d updated, %d unchanged, %d deferred (WeCom's quota), %d failed; %d calls",
			rep.Desired, rep.Created, rep.Adopted, rep.Updated, rep.Unchanged, rep.Deferred, len(rep.Failures), rep.Calls)
		for i, f := range rep.Failures {
			if i == 3 {
				sum += fmt.Sprintf("; and %d more", len(rep.Failures)-3)
				break
			}
			sum += fmt.Sprintf("; %s %s: errcode %d: %s", f.Op, f.ClassCode, f.ErrCode, f.Advice)
		}
		return sum, nil
	}}
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
		// The data center's records of students who enrolled today arrive
		// after the first sync: they can join now at /register, or wait for
		// the next nightly run.
		if as := u.Arrivals(); len(as) > 0 {
			if _, err := db.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: store.DataCenter{Students: as}, Students: true}, time.Now()); err != nil {
				return fmt.Errorf("demo arrivals: %w", err)
			}
			log.Info("demo: students enrolled today are in the data center, not yet in WeCom: try /register", zap.String("student", as[0].StudentNo))
		}
	}
	return nil
}

// newSelfReg is self-registration (/register): a person verified by CAS
// and matched against the data center is made a member at once through
// the sync (orgsync.Runner.Enrol), then welcomed by the app.
func newSelfReg(cfg *config.Config, db *store.DB, mirror *contacts.Mirror, co coord.Store, messages *notify.Service, r *orgsync.Runner, log *zap.Logger) (*selfreg.Service, error) {
	if !cfg.SelfReg.Enabled {
		return nil, nil
	}
	enrol := func(ctx context.Context, userID string, actor store.Actor) error {
		_, err := r.Enrol(ctx, userID, "selfreg", actor.UserID, time.Minute)
		var ee *orgsync.EnrolError
		switch {
		case errors.As(err, &ee) && ee.Code == 60104:
			return &selfreg.Refusal{Check: selfreg.CheckPhoneTaken, Message: "这个手机号已被学校企业微信里的另一位成员使用。",
				Advice: "请带上身份证件到教育信息中心服务台核实：可能是旧账号未注销，或号码登记有误。"}
		case errors.Is(err, orgsync.ErrNothingToEnrol):
			return &selfreg.Refusal{Check: selfreg.CheckAlreadyMember, Message: "你已经是学校企业微信的成员。",
				Advice: "用登记的手机号登录企业微信即可；要在个人微信里使用，在企业微信里关注微信插件。"}
		case errors.Is(err, orgsync.ErrBusy):
			return fmt.Errorf("the nightly contacts sync is running; try again in a few minutes: %w", err)
		}
		return err
	}
	welcome := func(ctx context.Context, userID string) error {
		m, err := mirror.Member(ctx, userID)
		if err != nil {
			return err
		}
		// Through the message center, like every notice: committed, sent
		// within the member's quota, once (the key).
		body, err := json.Marshal(map[string]string{"content": strings.ReplaceAll(cfg.SelfReg.Welcome, "{name}", m.Name)})
		if err != nil {
			return err
		}
		_, err = messages.Submit(ctx, notify.Message{Producer: "selfreg", IdempotencyKey: "welcome:" + userID, Lane: notify.LaneReminder,
			To: notify.Recipients{UserIDs: []string{userID}}, Content: notify.Content{MsgType: notify.MsgText, Body: body}, Actor: userID})
		return err
	}
	return selfreg.New(selfreg.Options{DB: db, Mirror: mirror, Coord: co, Logger: log.Named("selfreg"), Enrol: enrol, Welcome: welcome,
		PerPerson: cfg.SelfReg.PerPerson, PerIP: cfg.SelfReg.PerIP})
}
