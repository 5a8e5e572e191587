package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/cas"
	"github.com/wecomapp/wecomapp/cas/cassim"
	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/workbench"
	"github.com/wecomapp/wecomapp/workbench/native"
)

// casSimMount is where the built-in CAS simulator is served beside the
// WeCom one when auth.cas_url is empty and the simulator is on.
const casSimMount = "/cassim"

// pages is what the H5 pages and the console need, built from the config.
type pages struct {
	db          *store.DB
	sessions    *auth.Sessions
	workbench   *workbench.Service
	admins      *auth.Admins
	app         *wecom.Client
	cas         *cas.Client
	casSim      http.Handler
	tryRegister *handler.TryPerson
	joinContact string
	// tiles refreshes WeCom workbench tiles; set once built (after pages,
	// which it needs), before the server starts.
	tiles *native.Pusher
	// try and tryAdmin are the demo members the status page suggests.
	try      []handler.TryPerson
	tryAdmin *handler.TryPerson
}

// figuresChanged touches the WeCom workbench tiles of the people whose
// figures may have moved. The touch is durable, so it is done here and
// now; the push itself is the pusher's.
func (p *pages) figuresChanged(log *zap.Logger) func(ctx context.Context, everyone bool, userIDs []string) {
	return func(ctx context.Context, everyone bool, userIDs []string) {
		if p.tiles == nil {
			return
		}
		if everyone {
			ids, err := p.db.PersonIDs(ctx)
			if err != nil {
				log.Warn("workbench tiles not refreshed", zap.Error(err))
				return
			}
			userIDs = ids
		}
		if err := p.tiles.Touch(ctx, userIDs...); err != nil {
			log.Warn("workbench tiles not refreshed", zap.Int("people", len(userIDs)), zap.Error(err))
		}
	}
}

// demoUniversity is the demo university of a simulator.seed, or nil.
func demoUniversity(seed string) *demo.University {
	switch seed {
	case "demo":
		return demo.Generate(demo.Small())
	case "full":
		return demo.Generate(demo.Full())
	}
	return nil
}

// loadDemoRecords puts the demo university into our own records (the
// data-center tables, self-registered people, tag memberships), as the data
// center's distribution and the org sync would have. Rows are upserted or
// replaced, so running it again changes nothing.
func loadDemoRecords(ctx context.Context, db *store.DB, u *demo.University, now time.Time) error {
	if err := db.LoadDataCenter(ctx, u.DataCenter(), now); err != nil {
		return fmt.Errorf("load the demo data center: %w", err)
	}
	if err := db.LoadPeopleExt(ctx, u.PeopleExt()); err != nil {
		return fmt.Errorf("load the demo's self-registered people: %w", err)
	}
	if err := db.LoadPersonTags(ctx, u.PersonTags()); err != nil {
		return fmt.Errorf("load the demo's tag memberships: %w", err)
	}
	return nil
}

// demoSuperAdmins are the people the demo makes super admins when
// auth.super_admins is empty: those tagged 部门管理员 (the information
// center's head).
func demoSuperAdmins(u *demo.University) []string {
	for _, t := range u.Tags {
		if t.Name == "部门管理员" {
			return t.Users
		}
	}
	return nil
}

func buildPages(ctx context.Context, cfg *config.Config, db *store.DB, co coord.Store, corp *wecom.Corp, u *demo.University, log *zap.Logger) (*pages, error) {
	p := &pages{db: db, joinContact: "请联系所在单位的企业微信管理员，或到教育信息中心办理（校园卡中心一楼服务台）。"}
	var err error
	p.sessions, err = auth.New(auth.Options{
		Coord: co, IdleTimeout: cfg.Auth.IdleTimeout, Lifetime: cfg.Auth.Lifetime,
		Secure: strings.HasPrefix(cfg.Server.PublicURL, "https://"), Logger: log.Named("auth"),
	})
	if err != nil {
		return nil, err
	}
	if u != nil {
		if err := loadDemoRecords(ctx, db, u, time.Now()); err != nil {
			return nil, err
		}
		// The demo's tag rules on the first start only: after that they are
		// the console's to edit, and a restart must not undo an edit.
		m, err := contacts.New(db, contacts.Options{})
		if err != nil {
			return nil, err
		}
		if rules, err := m.TagRules(ctx, nil); err != nil {
			return nil, err
		} else if len(rules) == 0 {
			if _, err := seedTagRules(ctx, db, u); err != nil {
				return nil, err
			}
		}
	}
	p.workbench, err = workbench.New(ctx, db, workbench.Options{Coord: co, Logger: log.Named("workbench"), FiguresChanged: p.figuresChanged(log.Named("native"))})
	if err != nil {
		return nil, err
	}
	seeded, err := p.workbench.Seed(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed the workbenches: %w", err)
	}
	if seeded {
		r, w, m, _ := p.workbench.Counts(ctx)
		log.Info("workbench catalog seeded", zap.Int("roles", r), zap.Int("workbenches", w), zap.Int("modules", m))
	}
	p.admins = auth.NewAdmins(db, time.Now)
	supers := cfg.Auth.SuperAdmins
	if len(supers) == 0 && u != nil {
		supers = demoSuperAdmins(u)
	}
	if err := p.admins.Bootstrap(ctx, supers); err != nil {
		return nil, fmt.Errorf("grant auth.super_admins: %w", err)
	}
	if u != nil {
		p.try, p.tryAdmin = tryPeople(u, supers)
		if as := u.Arrivals(); len(as) > 0 {
			p.tryRegister = &handler.TryPerson{Label: "自助注册", UserID: as[0].StudentNo, Name: as[0].Name, Mobile: as[0].Mobile}
		}
	}
	if p.app, err = corp.App(cfg.WeCom.Apps[0].Name); err != nil {
		return nil, err
	}

	casURL := cfg.Auth.CASURL
	if casURL == "" && cfg.Simulator.Enabled {
		casURL = cfg.Server.PublicURL + casSimMount
		var people []cassim.Person
		if u != nil {
			people = casPeople(u)
		}
		p.casSim = cassim.New(cassim.Options{BaseURL: casURL, People: people, Services: []string{cfg.Server.PublicURL + "/"}})
	}
	if casURL != "" {
		if p.cas, err = cas.New(cas.Options{BaseURL: casURL, Version: cfg.Auth.CASProtocol}); err != nil {
			return nil, fmt.Errorf("auth.cas_url: %w", err)
		}
	}
	return p, nil
}

// casPeople are the demo's accounts on the simulated unified identity
// platform: everyone in the data center (staff and students); people
// outside it have no CAS account, as at a real university.
func casPeople(u *demo.University) []cassim.Person {
	var out []cassim.Person
	for _, p := range u.People {
		switch p.Main() {
		case demo.CatAlumnus, demo.CatExaminee, demo.CatVisitor:
			continue
		}
		kind := "faculty"
		if p.Main() == demo.CatUndergrad || p.Main() == demo.CatPostgrad {
			kind = "student"
		}
		out = append(out, cassim.Person{ID: p.UserID, Name: p.Name, Attributes: map[string][]string{"userType": {kind}}})
	}
	// Students enrolled today, not yet in WeCom: they can register.
	for _, s := range u.Arrivals() {
		out = append(out, cassim.Person{ID: s.StudentNo, Name: s.Name, Attributes: map[string][]string{"userType": {"student"}, "身份类型": {"今天报到，还不是企业微信成员"}}})
	}
	return out
}

// newTilePusher keeps each member's tile on the WeCom workbench showing
// their key figures (docs/wecom.md §7). Unread notices are known now;
// pending approvals and new messages arrive with the service hall and the
// message center.
func newTilePusher(cfg *config.Config, db *store.DB, co coord.Store, pg *pages, log *zap.Logger) (*native.Pusher, error) {
	u := cfg.Server.PublicURL
	t, err := native.New(native.Options{
		DB: db, App: pg.app, Coord: co, Logger: log.Named("native"),
		Labels: []native.Figure{
			{Key: "未读通知", JumpURL: u + "/app/m/campus"},
			{Key: "待办审批", JumpURL: u + "/app/"},
			{Key: "新消息", JumpURL: u + "/app/messages"},
		},
		Figures: func(ctx context.Context, userID string) ([]native.Figure, error) {
			n, err := pg.workbench.Badge(ctx, "notices", userID)
			if err != nil {
				return nil, err
			}
			msgs, err := pg.workbench.Badge(ctx, handler.MessagesBadge, userID)
			if err != nil {
				return nil, err
			}
			return []native.Figure{
				{Key: "未读通知", Value: n, JumpURL: u + "/app/m/campus"},
				{Key: "待办审批", JumpURL: u + "/app/"},
				{Key: "新消息", Value: msgs, JumpURL: u + "/app/messages"},
			}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	pg.tiles = t
	return t, nil
}

// tryPeople picks demo members who show the workbenches apart: a freshman,
// a class monitor, a counselor, the teacher with three identities, a
// leader and an alumnus who uses personal WeChat; and the super admin.
func tryPeople(u *demo.University, supers []string) ([]handler.TryPerson, *handler.TryPerson) {
	newest := 0 // the freshmen's year of entry
	for _, p := range u.People {
		if p.Main() == demo.CatUndergrad {
			newest = max(newest, p.Grade)
		}
	}
	picks := []struct {
		label string
		match func(p *demo.Person) bool
	}{
		{"本科新生", func(p *demo.Person) bool {
			return p.Main() == demo.CatUndergrad && p.Grade == newest && p.Position == ""
		}},
		{"班长", func(p *demo.Person) bool { return p.Main() == demo.CatUndergrad && p.Position == "班长" }},
		// A freshman has no scores before January's exams: a sophomore
		// shows the data modules (scores, timetable, campus card) full.
		{"本科二年级（成绩、课表、校园卡）", func(p *demo.Person) bool {
			return p.Main() == demo.CatUndergrad && p.Grade == newest-1 && p.Position == ""
		}},
		{"辅导员", func(p *demo.Person) bool { return p.Main() == demo.CatCounselor }},
		{"教师 · 在读博士 · 校友（可切换身份）", func(p *demo.Person) bool { return len(p.Categories) >= 3 }},
		{"校领导", func(p *demo.Person) bool { return p.Main() == demo.CatLeader }},
		{"校友（个人微信）", func(p *demo.Person) bool { return p.Main() == demo.CatAlumnus }},
	}
	var out []handler.TryPerson
	for _, pk := range picks {
		for i := range u.People {
			p := &u.People[i]
			if p.Status == 1 && pk.match(p) {
				out = append(out, handler.TryPerson{Label: pk.label, UserID: p.UserID, Name: p.Name})
				break
			}
		}
	}
	var admin *handler.TryPerson
	for _, id := range supers {
		for _, p := range u.People {
			if p.UserID == id {
				admin = &handler.TryPerson{Label: "超级管理员", UserID: p.UserID, Name: p.Name}
			}
		}
		if admin != nil {
			break
		}
	}
	return out, admin
}
