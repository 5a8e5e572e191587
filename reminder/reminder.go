// Package reminder runs the reminder rules (punch-card, commuting, health
// report, custom): each rule is a cron schedule in Beijing time, a set of
// recipients (tags, departments, roles) and a message; on a day the
// calendar says is not a working day for the rule's audience (public
// holidays, weekends that are not make-up workdays, the university's
// vacations) it stays silent. Every instance may run the scheduler: each
// firing goes to the message center with the rule and the minute as its
// idempotency key, so it is submitted once.
package reminder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
)

// Rule is a reminder rule.
type Rule struct {
	ID       int64
	Name     string
	Schedule string            // cron: minute hour day month weekday, Beijing time
	Audience calendar.Audience // whose working days
	Workdays bool              // only on working days
	To       notify.Recipients
	Content  notify.Content
	Enabled  bool
	// LastFired is when it last fired (zero: never).
	LastFired time.Time
	CreatedBy string
	// Pending: the rule reaches more members than the broadcast threshold
	// and waits for a second admin; it does not fire until approved.
	// Reach is its member count when saved; UpdatedBy who saved it last;
	// ApprovedBy the second admin.
	Pending               bool
	Reach                 int
	UpdatedBy, ApprovedBy string
}

// Validate checks a rule as the console saves it.
func Validate(r Rule) error {
	switch {
	case strings.TrimSpace(r.Name) == "" || utf8.RuneCountInString(r.Name) > 64:
		return &notify.InvalidError{Field: "name", Problem: "must be 1 to 64 characters"}
	case r.To.Empty():
		return &notify.InvalidError{Field: "to", Problem: "names no recipient"}
	case len(r.To.Mobiles) > 0:
		return &notify.InvalidError{Field: "to.mobiles", Problem: "reminders go to members, not to numbers"}
	}
	if _, err := cron.ParseStandard(r.Schedule); err != nil {
		return &notify.InvalidError{Field: "schedule", Problem: fmt.Sprintf("%q is not a cron schedule (minute hour day month weekday): %v", r.Schedule, err)}
	}
	switch r.Audience {
	case calendar.All, calendar.Students, calendar.Faculty:
	default:
		return &notify.InvalidError{Field: "audience", Problem: "must be all, students or faculty"}
	}
	if r.Content.MsgType == "" || len(r.Content.Body) == 0 {
		return &notify.InvalidError{Field: "content", Problem: "is missing"}
	}
	return nil
}

func ruleOf(r store.ReminderRule) (Rule, error) {
	out := Rule{ID: r.ID, Name: r.Name, Schedule: r.Schedule, Audience: calendar.Audience(r.Audience), Workdays: r.Workdays,
		Content: notify.Content{MsgType: r.MsgType, Body: json.RawMessage(r.Body)}, Enabled: r.Enabled, CreatedBy: r.CreatedBy,
		Pending: r.Approval == store.ReminderPending, Reach: r.Reach, UpdatedBy: r.UpdatedBy, ApprovedBy: r.ApprovedBy}
	if r.LastFired > 0 {
		out.LastFired = store.Time(r.LastFired)
	}
	if err := json.Unmarshal([]byte(r.Recipients), &out.To); err != nil {
		return out, fmt.Errorf("reminder: rule %d: recipients: %w", r.ID, err)
	}
	return out, nil
}

// Put saves a rule (ID 0 creates it) after Validate, and returns its id.
func Put(ctx context.Context, db *store.DB, r Rule, at time.Time) (int64, error) {
	if err := Validate(r); err != nil {
		return 0, err
	}
	to, err := json.Marshal(r.To)
	if err != nil {
		return 0, err
	}
	return db.PutReminderRule(ctx, nil, StoreRow(r, string(to)), at)
}

// StoreRow is r as reminder_rules keeps it, with its recipients as JSON.
func StoreRow(r Rule, to string) store.ReminderRule {
	approval := ""
	if r.Pending {
		approval = store.ReminderPending
	}
	return store.ReminderRule{ID: r.ID, Name: strings.TrimSpace(r.Name), Schedule: r.Schedule, Audience: string(r.Audience),
		Workdays: r.Workdays, Recipients: to, MsgType: r.Content.MsgType, Body: string(r.Content.Body), Enabled: r.Enabled, CreatedBy: r.CreatedBy,
		Approval: approval, Reach: r.Reach, UpdatedBy: r.UpdatedBy, ApprovedBy: r.ApprovedBy}
}

// List reads every rule.
func List(ctx context.Context, db *store.DB) ([]Rule, error) {
	rows, err := db.ListReminderRules(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(rows))
	for _, row := range rows {
		r, err := ruleOf(row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Options configure a Scheduler.
type Options struct {
	DB       *store.DB
	Messages notify.Submitter
	// Calendar builds the calendar (calendar.Load), read again every run
	// so the console's new vacations count at once.
	Calendar func(ctx context.Context) (*calendar.Calendar, error)
	Logger   *zap.Logger
	Now      func() time.Time
}

// Scheduler fires due rules.
type Scheduler struct {
	opts Options
	log  *zap.Logger
}

// New returns a Scheduler.
func New(opts Options) (*Scheduler, error) {
	if opts.DB == nil || opts.Messages == nil || opts.Calendar == nil {
		return nil, errors.New("reminder: DB, Messages and Calendar are required")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Scheduler{opts: opts, log: opts.Logger.Named("reminder")}, nil
}

// Run fires rules each minute until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	last := s.opts.Now().In(calendar.Zone).Truncate(time.Minute)
	for {
		next := last.Add(time.Minute)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
		}
		if _, err := s.Fire(ctx, last, next); err != nil && ctx.Err() == nil {
			s.log.Error("reminders not fired", zap.Error(err))
		}
		last = next
	}
}

// Fired is one rule's firing.
type Fired struct {
	Rule    int64
	At      time.Time
	Message int64  // 0 when skipped
	Skipped string // why not sent: the day is not a working day
}

// Fire submits each enabled rule whose schedule falls in (from, to]: on a
// working day for its audience (when it asks), with the rule and the
// minute as the idempotency key.
func (s *Scheduler) Fire(ctx context.Context, from, to time.Time) ([]Fired, error) {
	rules, err := List(ctx, s.opts.DB)
	if err != nil {
		return nil, err
	}
	var cal *calendar.Calendar
	var out []Fired
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		if r.Pending {
			// Too many members for one admin alone: silent until a second
			// one approves (the console says so on the rule).
			continue
		}
		sched, err := cron.ParseStandard(r.Schedule)
		if err != nil {
			s.log.Warn("reminder rule has a bad schedule", zap.Int64("rule", r.ID), zap.Error(err))
			continue
		}
		for at := sched.Next(from.In(calendar.Zone)); !at.After(to); at = sched.Next(at) {
			f := Fired{Rule: r.ID, At: at}
			if r.Workdays {
				if cal == nil {
					if cal, err = s.opts.Calendar(ctx); err != nil {
						return out, fmt.Errorf("reminder: calendar: %w", err)
					}
				}
				if d := cal.DayFor(at, r.Audience); !d.Working() {
					f.Skipped = d.String()
					out = append(out, f)
					s.log.Info("reminder skipped: not a working day", zap.Int64("rule", r.ID), zap.String("day", d.String()))
					continue
				}
			}
			rec, err := s.opts.Messages.Submit(ctx, notify.Message{Producer: "reminder", IdempotencyKey: "rule:" + strconv.FormatInt(r.ID, 10) + ":" + at.Format("200601021504"),
				Lane: notify.LaneReminder, To: r.To, Content: r.Content, Actor: r.CreatedBy, ExpireAt: at.Add(2 * time.Hour)})
			if err != nil {
				return out, fmt.Errorf("reminder: rule %d at %s: %w", r.ID, at.Format(time.RFC3339), err)
			}
			f.Message = rec.ID
			out = append(out, f)
			if err := s.opts.DB.MarkReminderFired(ctx, r.ID, at); err != nil {
				return out, err
			}
			if !rec.Duplicate {
				s.log.Info("reminder fired", zap.Int64("rule", r.ID), zap.String("name", r.Name), zap.Int64("message", rec.ID))
			}
		}
	}
	return out, nil
}
