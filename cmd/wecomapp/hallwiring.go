package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// newHall is the online service hall's engine: cards through the message
// center, updated through the app's client.
func newHall(db *store.DB, messages *notify.Service, app *wecom.Client, publicURL string, log *zap.Logger) (*hall.Engine, error) {
	return hall.New(hall.Options{DB: db, Messages: messages, Cards: app, CardCodes: messages, PublicURL: publicURL, Logger: log.Named("hall"),
		Calendar: func(ctx context.Context) (*calendar.Calendar, error) {
			return calendar.Load(ctx, db, log.Named("calendar"))
		}})
}

// publishShipped publishes the shipped processes not published yet. It
// runs after the first sync: the approvers' tags are WeCom's. A process
// that cannot be published is logged with its problems, not fatal: the
// console's designer shows them.
func publishShipped(ctx context.Context, e *hall.Engine, log *zap.Logger) error {
	res, err := e.PublishShipped(ctx, "system")
	if err != nil {
		return err
	}
	for _, r := range res {
		if len(r.Problems) > 0 {
			log.Warn("shipped process not published: fix it in the console's designer", zap.String("process", r.Key), zap.Any("problems", r.Problems))
		} else if r.Version > 0 {
			log.Info("shipped process published", zap.String("process", r.Key), zap.String("owner", r.Owner), zap.Int("version", r.Version))
		}
	}
	return nil
}

// demoApplications puts a few leave applications in flight on the first
// start of the demo, so the counselor on the status page already has
// live cards on the simulated phone: two waiting for them (2 and 5 days)
// and one they approved, now with the college's deputy secretary.
func demoApplications(ctx context.Context, e *hall.Engine, db *store.DB, u *demo.University, counselor string, log *zap.Logger) error {
	if counselor == "" {
		return nil
	}
	mine, err := e.MyTasks(ctx, counselor, false)
	if err != nil {
		return err
	}
	if len(mine) > 0 {
		return nil // not the first start
	}
	var students []string
	for _, s := range u.DataCenter().Students {
		if s.CounselorNo == counselor && s.Status == "enrolled" {
			students = append(students, s.StudentNo)
		}
	}
	if len(students) < 3 {
		return nil
	}
	day := time.Now().In(calendar.Zone)
	leave := func(i, days int, kind, reason string) (int64, error) {
		a, err := e.Applicant(ctx, students[i])
		if err != nil {
			return 0, err
		}
		start := day.AddDate(0, 0, 1+i)
		f := url.Values{"leave_type": {kind}, "leave.start": {start.Format(time.DateOnly)}, "leave.end": {start.AddDate(0, 0, days-1).Format(time.DateOnly)},
			"reason": {reason}, "leave_campus": {"是"}, "destination": {"广西桂林市七星区"}, "emergency_phone": {fmt.Sprintf("1390771%04d", 1000+i)}}
		id, fe, err := e.Apply(ctx, a, "student_leave", f)
		if err == nil && len(fe) > 0 {
			err = fmt.Errorf("the demo's leave form: %v", fe)
		}
		return id, err
	}
	if _, err := leave(0, 2, "病假", "发烧就医，医院建议休息两天。"); err != nil {
		return err
	}
	if _, err := leave(1, 5, "事假", "家中有事需回家处理。"); err != nil {
		return err
	}
	id, err := leave(2, 5, "公假", "代表学院参加全区大学生数学建模竞赛。")
	if err != nil {
		return err
	}
	app, err := e.Application(ctx, id, hall.Viewer{Admin: true})
	if err != nil {
		return err
	}
	for _, t := range app.Tasks {
		if t.State == hall.TaskOpen && t.Assignee == counselor {
			if err := e.Decide(ctx, t.ID, counselor, hall.Approve, "同意，注意安全。"); err != nil && !errors.Is(err, hall.ErrAlreadyHandled) {
				return err
			}
		}
	}
	log.Info("demo: three leave applications in flight", zap.String("counselor", counselor), zap.Strings("students", students[:3]))
	return nil
}

// runHall ticks the hall every minute (reminders, escalations, approvers
// the org changed) until ctx ends.
func runHall(ctx context.Context, e *hall.Engine, log *zap.Logger) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if err := e.Tick(ctx, now); err != nil && ctx.Err() == nil {
				log.Error("hall tick failed", zap.Error(err))
			}
		}
	}
}

// demoCounselor is the counselor the status page offers (tryPeople's).
func demoCounselor(u *demo.University) string {
	for _, p := range u.People {
		if p.Status == 1 && p.Main() == demo.CatCounselor {
			return p.UserID
		}
	}
	return ""
}
