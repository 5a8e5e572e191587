package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/guest"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/reminder"
	"github.com/wecomapp/wecomapp/sms"
	"github.com/wecomapp/wecomapp/sms/smssim"
	"github.com/wecomapp/wecomapp/store"
)

// newNotify is the message center of a serving instance: every producer
// submits through it, and its dispatcher (run with the other workers)
// sends as the first app of wecom.apps.
func newNotify(cfg *config.Config, db *store.DB, mirror *contacts.Mirror, co coord.Store, pg *pages, gw sms.Gateway, instance string, log *zap.Logger, reg prometheus.Registerer) (*notify.Service, error) {
	var sender notify.SMSSender
	if gw != nil {
		sender = sms.TextSender{Gateway: gw, Template: cfg.SMS.NoticeTemplateID, TemplateText: cfg.SMS.NoticeTemplateText, ParamMaxChars: cfg.SMS.ParamMaxChars}
	}
	return notify.New(notify.Options{
		DB: db, Mirror: mirror, App: pg.app, Coord: co, Roles: pg.workbench.RoleHolders, SMS: sender,
		PublicURL: cfg.Server.PublicURL, Instance: instance, Logger: log, Registerer: reg,
		Delivered: pg.tiles.Touch,
		ChunkSize: cfg.Notify.ChunkSize, Lease: cfg.Notify.Lease, PerMinute: cfg.Notify.PerMinute, PerHour: cfg.Notify.PerHour, DailyQuota: cfg.Notify.DailyQuota,
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

// smsSimMount is where the simulated SMS gateway's page is served.
const smsSimMount = "/smssim"

// newSMS is the configured gateway; with provider sim also its page.
func newSMS(cfg *config.Config, log *zap.Logger) (sms.Gateway, http.Handler, error) {
	provider := cfg.SMS.Provider
	if provider == "" && cfg.Simulator.Enabled {
		provider = "sim"
	}
	switch provider {
	case "sim":
		sim := smssim.New(smssim.Options{Logger: log.Named("smssim"), SignName: cfg.SMS.SignName, BasePath: smsSimMount, ParamMaxChars: cfg.SMS.ParamMaxChars})
		return sim, sim.Handler(), nil
	case "tencent":
		t := cfg.SMS.Tencent
		gw, err := sms.NewTencent(sms.TencentOptions{SecretID: t.SecretID.Value(), SecretKey: t.SecretKey.Value(), Region: t.Region, SdkAppID: t.SdkAppID,
			SignName: cfg.SMS.SignName, Endpoint: t.Endpoint, Timeout: t.Timeout, ParamMaxChars: cfg.SMS.ParamMaxChars, Logger: log.Named("sms")})
		return gw, nil, err
	}
	return nil, nil, nil
}

// demoAPIKey is the demo's ingest API key, made on the first start with
// the simulator on and kept beside the SQLite file (like the development
// data key), so the README's curl works against `make run` as printed on
// the status page. Never in production: the simulator must be on.
func demoAPIKey(ctx context.Context, cfg *config.Config, keys *apikey.Keys) (*handler.TryKey, error) {
	path := ""
	if cfg.Database.Driver == "sqlite" {
		if f, query, _ := strings.Cut(strings.TrimPrefix(cfg.Database.DSN.Value(), "file:"), "?"); f != "" && f != ":memory:" && !strings.Contains(query, "mode=memory") {
			path = filepath.Join(filepath.Dir(f), "demo-api-key")
		}
	}
	if b, err := os.ReadFile(path); path != "" && err == nil {
		id, secret, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
		if ok {
			return &handler.TryKey{ID: id, Secret: secret}, nil
		}
	}
	scope, err := apikey.ParseScope("all")
	if err != nil {
		return nil, err
	}
	k, secret, err := keys.Create(ctx, store.Actor{UserID: "system"}, apikey.Spec{System: "demo", Scope: scope})
	if err != nil {
		return nil, fmt.Errorf("demo api key: %w", err)
	}
	if path != "" {
		if err := os.WriteFile(path, []byte(k.ID+" "+secret+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("demo api key: %w", err)
		}
	}
	return &handler.TryKey{ID: k.ID, Secret: secret}, nil
}

// demoTryTag is the demo tag the status page's curl sends to: a small one
// (the counselors), so the phone page shows its few members the notice.
func demoTryTag(u *demo.University) string {
	if u == nil {
		return ""
	}
	for _, r := range u.TagRules() {
		if r.Name == "辅导员" {
			return r.Name
		}
	}
	return demo.TagDeptAdmin
}

// broadcastApproval maps notify.broadcast_approval (0: never) to the
// handler's (negative: never).
func broadcastApproval(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// seedDemoReminders gives the demo, on its first start, two reminder rules
// and the students' winter vacation, so the console's 定时提醒 and 校历
// show them at work.
func seedDemoReminders(ctx context.Context, db *store.DB, now time.Time) error {
	rules, err := db.ListReminderRules(ctx, nil)
	if err != nil || len(rules) > 0 {
		return err
	}
	text := func(s string) notify.Content {
		b, _ := json.Marshal(map[string]string{"content": s})
		return notify.Content{MsgType: notify.MsgText, Body: b}
	}
	for _, r := range []reminder.Rule{
		{Name: "学生健康打卡提醒", Schedule: "0 8 * * *", Audience: calendar.Students, Workdays: true,
			To: notify.Recipients{Roles: []string{"undergraduate_y1", "undergraduate_y2", "undergraduate_y3", "undergraduate_y4"}}, Content: text("早上好！请在 8:30 前完成今日健康打卡（工作台 → 健康打卡）。"), Enabled: true},
		{Name: "辅导员查看请假", Schedule: "30 8 * * *", Audience: calendar.Faculty, Workdays: true,
			To: notify.Recipients{Roles: []string{"counselor"}}, Content: text("今日有待审批的学生请假，请在工作台「学生请假」查看。"), Enabled: true},
	} {
		r.CreatedBy = "system"
		if _, err := reminder.Put(ctx, db, r, now); err != nil {
			return fmt.Errorf("demo reminder %s: %w", r.Name, err)
		}
	}
	year := now.Year()
	if now.Month() >= time.March {
		year++
	}
	_, err = db.PutCalendarPeriod(ctx, nil, store.CalendarPeriod{Name: "寒假", Kind: store.PeriodVacation,
		StartDate: fmt.Sprintf("%d-01-18", year), EndDate: fmt.Sprintf("%d-02-26", year), Audience: store.AudienceStudents, CreatedBy: "system"}, now)
	return err
}

// simCodeTemplate is the verification template id used with the simulated
// gateway when none is configured (the simulator takes any id).
const simCodeTemplate = "sim-code"

// newGuest is the off-campus sign-in by SMS code, through the gateway the
// message center sends through; nil (the /guest pages answer 404) without a
// gateway or a verification-code template.
func newGuest(cfg *config.Config, db *store.DB, co coord.Store, gw sms.Gateway, log *zap.Logger) (*guest.Service, error) {
	if gw == nil {
		return nil, nil
	}
	id := cfg.SMS.CodeTemplateID
	if _, isSim := gw.(*smssim.Sim); id == "" && isSim {
		id = simCodeTemplate
	}
	if id == "" {
		return nil, nil
	}
	return guest.New(guest.Options{Coord: co, SMS: gw, Template: id, TemplateText: cfg.SMS.CodeTemplateText,
		// Derived from the data key, so every instance keys codes alike.
		Secret: []byte(db.Sealer().Hash("guest-code-key", "v1")),
		Audit:  func(ctx context.Context, e store.AuditEntry) error { return db.InsertAudit(ctx, nil, e) },
		Logger: log.Named("guest")})
}
