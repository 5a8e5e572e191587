package reminder_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/reminder"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// outbox is a notify.Submitter that keeps messages and honours
// idempotency keys as the real one does.
type outbox struct {
	mu   sync.Mutex
	msgs []notify.Message
	keys map[string]int64
}

func (o *outbox) Submit(_ context.Context, m notify.Message) (notify.Receipt, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keys == nil {
		o.keys = map[string]int64{}
	}
	k := m.Producer + "\x00" + m.IdempotencyKey
	if id, ok := o.keys[k]; ok && m.IdempotencyKey != "" {
		return notify.Receipt{ID: id, Duplicate: true}, nil
	}
	o.msgs = append(o.msgs, m)
	o.keys[k] = int64(len(o.msgs))
	return notify.Receipt{ID: int64(len(o.msgs))}, nil
}

func (o *outbox) Get(context.Context, int64) (*notify.Status, error) {
	return nil, errors.New("unused")
}

func bj(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Zone)
	if err != nil {
		panic(err)
	}
	return t
}

func TestReminders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		body, _ := json.Marshal(map[string]string{"content": "请在 8:30 前完成健康打卡"})
		content := notify.Content{MsgType: notify.MsgText, Body: body}
		students, err := reminder.Put(ctx, db, reminder.Rule{Name: "学生健康打卡", Schedule: "0 8 * * *", Audience: calendar.Students, Workdays: true,
			To: notify.Recipients{Tags: []int64{12}}, Content: content, Enabled: true, CreatedBy: "T00027"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		staff, err := reminder.Put(ctx, db, reminder.Rule{Name: "教职工通勤提醒", Schedule: "30 7 * * 1-5", Audience: calendar.Faculty, Workdays: true,
			To: notify.Recipients{Roles: []string{"staff"}}, Content: content, Enabled: true, CreatedBy: "T00027"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reminder.Put(ctx, db, reminder.Rule{Name: "坏规则", Schedule: "every day", Audience: calendar.All, To: notify.Recipients{Tags: []int64{1}}, Content: content}, time.Now()); err == nil {
			t.Error("a rule with a bad schedule was saved")
		}
		// The students' winter vacation (the staff work on).
		if _, err := db.PutCalendarPeriod(ctx, nil, store.CalendarPeriod{Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-02-16",
			Audience: store.AudienceStudents, CreatedBy: "T00027"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		ob := &outbox{}
		sched, err := reminder.New(reminder.Options{DB: db, Messages: ob, Calendar: func(ctx context.Context) (*calendar.Calendar, error) { return calendar.Load(ctx, db, nil) }})
		if err != nil {
			t.Fatal(err)
		}
		fire := func(day string) []reminder.Fired {
			t.Helper()
			// Two instances see the same day: the keys make it once.
			var out []reminder.Fired
			for i := 0; i < 2; i++ {
				fs, err := sched.Fire(ctx, bj(day+" 00:00"), bj(day+" 23:59"))
				if err != nil {
					t.Fatal(err)
				}
				out = fs
			}
			return out
		}
		sent := func(fs []reminder.Fired, rule int64) bool {
			for _, f := range fs {
				if f.Rule == rule && f.Message != 0 {
					return true
				}
			}
			return false
		}
		cases := []struct {
			day             string
			students, staff bool
		}{
			{"2024-09-30", true, true},   // a Monday
			{"2024-10-01", false, false}, // 国庆节
			{"2024-10-12", true, false},  // a make-up Saturday: the daily rule fires; the weekday-only schedule does not match
			{"2024-10-13", false, false}, // Sunday
			{"2025-01-14", false, true},  // the students' 寒假, a working Tuesday for staff
		}
		for _, c := range cases {
			fs := fire(c.day)
			if got := sent(fs, students); got != c.students {
				t.Errorf("%s: students' reminder sent %v, want %v (%+v)", c.day, got, c.students, fs)
			}
			if got := sent(fs, staff); got != c.staff {
				t.Errorf("%s: staff reminder sent %v, want %v", c.day, got, c.staff)
			}
		}
		if want := 4; len(ob.msgs) != want {
			t.Errorf("%d messages submitted over the five days (each day fired twice), want %d", len(ob.msgs), want)
		}
		for _, m := range ob.msgs {
			if m.Producer != "reminder" || m.Lane != notify.LaneReminder || m.ExpireAt.IsZero() {
				t.Errorf("message %+v", m)
			}
		}
	})
}
