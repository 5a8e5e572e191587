package calendar_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := calendar.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newCalendar(t *testing.T, ps ...store.CalendarPeriod) *calendar.Calendar {
	t.Helper()
	c, err := calendar.New(ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStatutory: lunar-go's holidays and make-up workdays, as checked
// against HolidayUtil.GetHoliday, and the plain weekdays around them.
func TestStatutory(t *testing.T) {
	c := newCalendar(t)
	for _, tc := range []struct {
		date string
		kind calendar.DayKind
		name string
	}{
		{"2024-10-01", calendar.Holiday, "国庆节"},       // Tuesday
		{"2024-10-07", calendar.Holiday, "国庆节"},       // Monday, the last day
		{"2024-10-08", calendar.Workday, ""},          // Tuesday after
		{"2024-09-28", calendar.Weekend, ""},          // Saturday
		{"2024-09-29", calendar.MakeupWorkday, "国庆节"}, // Sunday worked
		{"2024-10-12", calendar.MakeupWorkday, "国庆节"}, // Saturday worked
		{"2024-10-13", calendar.Weekend, ""},          // Sunday
		{"2025-01-26", calendar.MakeupWorkday, "春节"},  // Sunday worked for 春节 2025
		{"2025-01-27", calendar.Workday, ""},          // Monday before 除夕
		{"2025-01-28", calendar.Holiday, "春节"},        // 除夕, a Tuesday
		{"2025-02-04", calendar.Holiday, "春节"},        // Tuesday, the last day
		{"2025-02-08", calendar.MakeupWorkday, "春节"},  // Saturday worked
		{"2025-10-01", calendar.Holiday, "国庆中秋"},      // 国庆 and 中秋 merged
		{"2023-12-30", calendar.Holiday, "元旦节"},       // 2024's 元旦 starts in 2023
		{"2027-02-14", calendar.MakeupWorkday, "春节"},  // v1.4.7's newest year
		{"2027-12-24", calendar.Workday, ""},          // Friday
	} {
		d := c.Day(date(t, tc.date))
		want := calendar.Day{Date: tc.date, Kind: tc.kind, Name: tc.name}
		if d != want {
			t.Errorf("%s: %v, want %v", tc.date, d, want)
		}
		if got, want := c.IsWorkday(date(t, tc.date)), tc.kind.Working(); got != want {
			t.Errorf("%s: IsWorkday %v, want %v", tc.date, got, want)
		}
		if !c.Covered(date(t, tc.date)) {
			t.Errorf("%s: not covered", tc.date)
		}
	}
	if got := c.Day(date(t, "2024-10-12")).String(); got != "2024-10-12 调休上班 国庆节" {
		t.Errorf("String: %q", got)
	}
}

// TestZone: a time is placed in Asia/Shanghai before its date is taken:
// 16:30 UTC on 30 September is already 国庆节 in China.
func TestZone(t *testing.T) {
	c := newCalendar(t)
	utc := time.Date(2024, 9, 30, 16, 30, 0, 0, time.UTC)
	if d := c.Day(utc); d.Date != "2024-10-01" || d.Kind != calendar.Holiday {
		t.Errorf("2024-09-30 16:30 UTC: %v", d)
	}
	if !c.IsWorkday(time.Date(2024, 9, 30, 15, 59, 0, 0, time.UTC)) {
		t.Error("2024-09-30 23:59 in Shanghai is a Monday's workday")
	}
	if got := calendar.DateOf(utc); got != "2024-10-01" {
		t.Errorf("DateOf: %s", got)
	}
}

// TestUnknownYear: outside lunar-go's years the weekday rule decides, and
// says it guessed, logging it once per year; the last days of December of
// its last year wait for the next year's 元旦.
func TestUnknownYear(t *testing.T) {
	first, last := calendar.Years()
	if first != 2002 || last < 2027 {
		t.Fatalf("Years: %d to %d, want 2002 to 2027 or later", first, last)
	}
	core, logs := observer.New(zap.WarnLevel)
	c, err := calendar.New(nil, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	future := time.Date(last+3, 10, 1, 9, 0, 0, 0, calendar.Zone)
	for future.Weekday() != time.Tuesday {
		future = future.AddDate(0, 0, 1)
	}
	d := c.Day(future)
	if d.Kind != calendar.Workday || !d.Guessed || c.Covered(future) {
		t.Errorf("%s (a Tuesday after lunar-go's data): %+v, covered %v; want a guessed workday", d.Date, d, c.Covered(future))
	}
	if sat := future.AddDate(0, 0, 4); c.Day(sat).Kind != calendar.Weekend || !c.Day(sat).Guessed {
		t.Errorf("the Saturday after: %+v, want a guessed weekend", c.Day(sat))
	}
	if logs.Len() != 1 {
		t.Errorf("%d warnings for two days of one unknown year, want 1: %v", logs.Len(), logs.All())
	} else if got := logs.All()[0].ContextMap()["year"]; got != int64(last+3) {
		t.Errorf("the warning names year %v, want %d", got, last+3)
	}
	if d := c.Day(date(t, "2001-06-01")); !d.Guessed {
		t.Errorf("2001-06-01, before lunar-go's data: %+v, want guessed", d)
	}
	if logs.Len() != 2 {
		t.Errorf("%d warnings after a second unknown year, want 2", logs.Len())
	}

	// Late December of the last year: the next year's 元旦 may take it.
	lateDec := time.Date(last, 12, 27, 0, 0, 0, 0, calendar.Zone)
	if c.Covered(lateDec) || !c.Day(lateDec).Guessed {
		t.Errorf("%s: covered %v, %+v; want guessed until %d is known", calendar.DateOf(lateDec), c.Covered(lateDec), c.Day(lateDec), last+1)
	}
	if !c.Covered(date(t, "2023-12-27")) {
		t.Error("2023-12-27: not covered, though 2024 is known")
	}

	// A university period decides an unknown year's date: no guess.
	v := newCalendar(t, store.CalendarPeriod{ID: 1, Name: "国庆假期", Kind: store.PeriodVacation,
		StartDate: calendar.DateOf(future), EndDate: calendar.DateOf(future), Audience: store.AudienceAll})
	if d := v.Day(future); d.Kind != calendar.Vacation || d.Guessed {
		t.Errorf("%s in a vacation period: %+v, want a vacation, not guessed", d.Date, d)
	}
}

// periods of a university year, for TestPeriods and TestLoad.
func periods() []store.CalendarPeriod {
	return []store.CalendarPeriod{
		{ID: 1, Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-02-16", Audience: store.AudienceStudents},
		{ID: 2, Name: "校运会补课", Kind: store.PeriodWorkday, StartDate: "2025-04-12", EndDate: "2025-04-12", Audience: store.AudienceAll},
		{ID: 3, Name: "校运会停课", Kind: store.PeriodVacation, StartDate: "2025-04-11", EndDate: "2025-04-12", Audience: store.AudienceStudents},
		{ID: 4, Name: "暑假", Kind: store.PeriodVacation, StartDate: "2025-07-05", EndDate: "2025-08-31", Audience: store.AudienceStudents},
		{ID: 5, Name: "新生军训", Kind: store.PeriodWorkday, StartDate: "2025-08-25", EndDate: "2025-08-31", Audience: store.AudienceStudents},
		{ID: 6, Name: "寒假", Kind: store.PeriodVacation, StartDate: "2026-01-24", EndDate: "2026-03-01", Audience: store.AudienceAll},
		{ID: 7, Name: "寒假值班", Kind: store.PeriodWorkday, StartDate: "2026-02-02", EndDate: "2026-02-06", Audience: store.AudienceFaculty},
	}
}

// TestPeriods: the university's periods per audience, over the statutory
// calendar, with their precedence.
func TestPeriods(t *testing.T) {
	c := newCalendar(t, periods()...)
	type want struct {
		kind calendar.DayKind
		name string
	}
	for _, tc := range []struct {
		date                   string
		all, students, faculty want
	}{
		// A students' winter vacation on a Tuesday: staff work.
		{"2025-01-14", want{calendar.Workday, ""}, want{calendar.Vacation, "寒假"}, want{calendar.Workday, ""}},
		// ... and on 春节's make-up Sunday.
		{"2025-01-26", want{calendar.MakeupWorkday, "春节"}, want{calendar.Vacation, "寒假"}, want{calendar.MakeupWorkday, "春节"}},
		// ... and on 春节 itself.
		{"2025-01-29", want{calendar.Holiday, "春节"}, want{calendar.Vacation, "寒假"}, want{calendar.Holiday, "春节"}},
		// The Monday after the vacation.
		{"2025-02-17", want{calendar.Workday, ""}, want{calendar.Workday, ""}, want{calendar.Workday, ""}},
		// A Saturday worked by all, but students have a sports day off (their own period beats one for all).
		{"2025-04-12", want{calendar.ExtraWorkday, "校运会补课"}, want{calendar.Vacation, "校运会停课"}, want{calendar.ExtraWorkday, "校运会补课"}},
		{"2025-04-11", want{calendar.Workday, ""}, want{calendar.Vacation, "校运会停课"}, want{calendar.Workday, ""}},
		// 军训 inside the summer vacation: the workday wins, Sunday included.
		{"2025-08-20", want{calendar.Workday, ""}, want{calendar.Vacation, "暑假"}, want{calendar.Workday, ""}},
		{"2025-08-31", want{calendar.Weekend, ""}, want{calendar.ExtraWorkday, "新生军训"}, want{calendar.Weekend, ""}},
		// A winter vacation for all, with a faculty duty week.
		{"2026-02-02", want{calendar.Vacation, "寒假"}, want{calendar.Vacation, "寒假"}, want{calendar.ExtraWorkday, "寒假值班"}},
		{"2026-02-09", want{calendar.Vacation, "寒假"}, want{calendar.Vacation, "寒假"}, want{calendar.Vacation, "寒假"}},
	} {
		for _, aw := range []struct {
			a calendar.Audience
			w want
		}{{calendar.All, tc.all}, {calendar.Students, tc.students}, {calendar.Faculty, tc.faculty}} {
			d := c.DayFor(date(t, tc.date), aw.a)
			if d.Kind != aw.w.kind || d.Name != aw.w.name {
				t.Errorf("%s for %s: %v, want %s %s", tc.date, aw.a, d, aw.w.kind.Label(), aw.w.name)
			}
			if (d.PeriodID != 0) != (d.Kind == calendar.Vacation || d.Kind == calendar.ExtraWorkday) {
				t.Errorf("%s for %s: period id %d with kind %s", tc.date, aw.a, d.PeriodID, d.Kind)
			}
			if got := c.IsWorkdayFor(date(t, tc.date), aw.a); got != aw.w.kind.Working() {
				t.Errorf("%s for %s: IsWorkdayFor %v", tc.date, aw.a, got)
			}
		}
	}
	// No audience asked for is everyone's calendar.
	if c.IsWorkday(date(t, "2025-01-14")) != true || c.Kind(date(t, "2026-02-02")) != calendar.Vacation {
		t.Error("IsWorkday/Kind do not answer for all")
	}
	if d := c.DayFor(date(t, "2025-01-14"), "staff"); d.Kind != calendar.Workday {
		t.Errorf("an unknown audience: %v, want all's workday", d)
	}
}

// TestNextWorkday: across long holidays and vacations, never the same day.
func TestNextWorkday(t *testing.T) {
	c := newCalendar(t, periods()...)
	for _, tc := range []struct {
		from time.Time
		a    calendar.Audience
		want string
	}{
		{date(t, "2024-09-30").Add(23*time.Hour + 59*time.Minute), calendar.All, "2024-10-08"}, // over 国庆
		{time.Date(2024, 9, 30, 16, 30, 0, 0, time.UTC), calendar.All, "2024-10-08"},           // already 10-01 in Shanghai
		{date(t, "2024-09-28"), calendar.All, "2024-09-29"},                                    // Saturday → the make-up Sunday
		{date(t, "2024-10-11"), calendar.All, "2024-10-12"},                                    // Friday → the make-up Saturday
		{date(t, "2024-10-12"), calendar.All, "2024-10-14"},                                    // make-up Saturday → Monday
		{date(t, "2025-01-27"), calendar.Faculty, "2025-02-05"},                                // over 春节
		{date(t, "2025-01-27"), calendar.Students, "2025-02-17"},                               // over 寒假
		{date(t, "2025-08-22"), calendar.Students, "2025-08-25"},                               // summer vacation → 军训
	} {
		got := c.NextWorkdayFor(tc.from, tc.a)
		want := date(t, tc.want)
		if !got.Equal(want) || got.Location() != calendar.Zone {
			t.Errorf("after %s for %s: %s, want %s", tc.from, tc.a, got, want)
		}
	}
	if got := c.NextWorkday(date(t, "2024-09-30")); !got.Equal(date(t, "2024-10-08")) {
		t.Errorf("NextWorkday after 2024-09-30: %s", got)
	}

	// Students on vacation for four years on end: none within three.
	var chain []store.CalendarPeriod
	start := date(t, "2030-01-01")
	for i := range 4 {
		end := start.AddDate(0, 0, 365)
		chain = append(chain, store.CalendarPeriod{ID: int64(i + 1), Name: "停课", Kind: store.PeriodVacation,
			StartDate: calendar.DateOf(start), EndDate: calendar.DateOf(end), Audience: store.AudienceStudents})
		start = end.AddDate(0, 0, 1)
	}
	long := newCalendar(t, chain...)
	if got := long.NextWorkdayFor(date(t, "2030-01-01"), calendar.Students); !got.IsZero() {
		t.Errorf("next workday inside four years of vacation: %s, want none", got)
	}
	if got := long.NextWorkdayFor(date(t, "2030-01-01"), calendar.Faculty); !got.Equal(date(t, "2030-01-02")) {
		t.Errorf("faculty, not on that vacation: %s", got)
	}
}

// TestWorkdays: the working days of a range, both ends included.
func TestWorkdays(t *testing.T) {
	c := newCalendar(t, periods()...)
	var got []string
	for _, d := range c.Workdays(date(t, "2024-09-28"), date(t, "2024-10-13").Add(20*time.Hour)) {
		got = append(got, calendar.DateOf(d))
	}
	want := []string{"2024-09-29", "2024-09-30", "2024-10-08", "2024-10-09", "2024-10-10", "2024-10-11", "2024-10-12"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("workdays around 国庆 2024 (-want +got):\n%s", d)
	}
	if n := len(c.WorkdaysFor(date(t, "2025-01-13"), date(t, "2025-02-16"), calendar.Students)); n != 0 {
		t.Errorf("%d workdays in the students' winter vacation", n)
	}
	// 2025-01-13 to 02-16 for staff: 25 weekdays, 6 of them 春节 (01-28 to 02-04 has 6 weekdays), plus 2 make-up days.
	if n := len(c.WorkdaysFor(date(t, "2025-01-13"), date(t, "2025-02-16"), calendar.Faculty)); n != 25-6+2 {
		t.Errorf("%d faculty workdays from 2025-01-13 to 02-16, want 21", n)
	}
	if got := c.Workdays(date(t, "2024-10-12"), date(t, "2024-10-12")); len(got) != 1 {
		t.Errorf("a one-day range of a workday: %v", got)
	}
	if got := c.Workdays(date(t, "2024-10-12"), date(t, "2024-10-11")); got != nil {
		t.Errorf("a range ending before it starts: %v", got)
	}
}

// TestNewRefuses: a broken period is an error, not a calendar without it.
func TestNewRefuses(t *testing.T) {
	for _, p := range []store.CalendarPeriod{
		{ID: 9, Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-02-16", EndDate: "2025-01-13", Audience: store.AudienceStudents},
		{ID: 9, Name: "寒假", Kind: "holiday", StartDate: "2025-01-13", EndDate: "2025-02-16", Audience: store.AudienceStudents},
		{ID: 9, Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-1-13", EndDate: "2025-02-16", Audience: store.AudienceStudents},
		{ID: 9, Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-02-16", Audience: "staff"},
	} {
		if _, err := calendar.New([]store.CalendarPeriod{p}, nil); err == nil {
			t.Errorf("New accepted %+v", p)
		}
	}
}

// TestLoad: the calendar of the periods in the database, on both engines;
// an edited period shows in the next Load.
func TestLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.UnixMilli(1_730_000_000_000)
		var ids []int64
		for _, p := range periods() {
			p.ID = 0
			p.CreatedBy = "admin"
			id, err := db.PutCalendarPeriod(ctx, nil, p, at)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		c, err := calendar.Load(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		tue := date(t, "2025-01-14")
		if c.IsWorkdayFor(tue, calendar.Students) || !c.IsWorkdayFor(tue, calendar.Faculty) {
			t.Errorf("2025-01-14: students %v, faculty %v; want the students' vacation only", c.IsWorkdayFor(tue, calendar.Students), c.IsWorkdayFor(tue, calendar.Faculty))
		}
		if d := c.DayFor(tue, calendar.Students); d.PeriodID != ids[0] || d.Name != "寒假" {
			t.Errorf("2025-01-14 for students: %+v, want period %d", d, ids[0])
		}

		// The winter vacation becomes everyone's.
		p := periods()[0]
		p.ID, p.Audience = ids[0], store.AudienceAll
		if _, err := db.PutCalendarPeriod(ctx, nil, p, at); err != nil {
			t.Fatal(err)
		}
		if c.IsWorkdayFor(tue, calendar.Faculty) != true {
			t.Error("a Calendar changed after it was built")
		}
		if c, err = calendar.Load(ctx, db, nil); err != nil {
			t.Fatal(err)
		}
		if c.IsWorkdayFor(tue, calendar.Faculty) {
			t.Error("2025-01-14 is still a faculty workday after the vacation became everyone's")
		}

		// A row broken behind the store's back fails the load.
		if _, err := db.ExecContext(ctx, "UPDATE calendar_periods SET kind = 'holiday' WHERE id = ?", ids[1]); err != nil {
			t.Fatal(err)
		}
		if _, err := calendar.Load(ctx, db, nil); err == nil {
			t.Error("Load accepted a period of kind holiday")
		}
	})
}
