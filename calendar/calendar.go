package calendar

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
)

// Zone is Asia/Shanghai: +08:00 all year.
var Zone = time.FixedZone("CST", 8*3600)

// DayKind says what a date is.
type DayKind int

// The kinds of day. The zero DayKind is none of them.
const (
	Workday       DayKind = iota + 1 // Monday to Friday, nothing else applying
	Weekend                          // Saturday or Sunday, nothing else applying
	Holiday                          // a statutory public holiday (法定节假日), Day.Name e.g. 国庆节
	MakeupWorkday                    // a statutory make-up workday (调休上班), Day.Name the holiday it bridges
	Vacation                         // a university vacation, Day.Name e.g. 寒假
	ExtraWorkday                     // a university extra workday, Day.Name the period's name
)

var kindNames = map[DayKind][2]string{
	Workday:       {"workday", "工作日"},
	Weekend:       {"weekend", "周末"},
	Holiday:       {"holiday", "法定节假日"},
	MakeupWorkday: {"makeup_workday", "调休上班"},
	Vacation:      {"vacation", "假期"},
	ExtraWorkday:  {"extra_workday", "校历工作日"},
}

// Working reports whether the kind is a working day.
func (k DayKind) Working() bool {
	return k == Workday || k == MakeupWorkday || k == ExtraWorkday
}

// String is the kind's name: workday, weekend, holiday, makeup_workday,
// vacation, extra_workday.
func (k DayKind) String() string {
	if n, ok := kindNames[k]; ok {
		return n[0]
	}
	return fmt.Sprintf("DayKind(%d)", int(k))
}

// Label is the kind's Chinese name, for pages: 工作日, 周末, 法定节假日,
// 调休上班, 假期, 校历工作日.
func (k DayKind) Label() string {
	if n, ok := kindNames[k]; ok {
		return n[1]
	}
	return k.String()
}

// Audience is whom a university period applies to.
type Audience string

// The audiences.
const (
	All      Audience = store.AudienceAll
	Students Audience = store.AudienceStudents
	Faculty  Audience = store.AudienceFaculty
)

// Day is what the calendar says of one date.
type Day struct {
	Date string // YYYY-MM-DD
	Kind DayKind
	// Name is the holiday's name for Holiday and MakeupWorkday (国庆节,
	// 春节, 国庆中秋 when lunar-go merges them), the period's for Vacation
	// and ExtraWorkday, else empty.
	Name string
	// PeriodID is the university period's id for Vacation and
	// ExtraWorkday, else 0.
	PeriodID int64
	// Guessed: lunar-go has no statutory schedule for the date (see Covered)
	// and no university period decided it, so Kind rests on the weekday
	// alone and may miss a holiday or a make-up workday.
	Guessed bool
}

// Working reports whether the day is a working day.
func (d Day) Working() bool { return d.Kind.Working() }

// String is the date, the kind's label and the name: "2024-10-12 调休上班
// 国庆节", with "(guessed)" when Guessed.
func (d Day) String() string {
	s := d.Date + " " + d.Kind.Label()
	if d.Name != "" {
		s += " " + d.Name
	}
	if d.Guessed {
		s += " (guessed)"
	}
	return s
}

// Calendar answers which dates are working days, for an audience. It is
// immutable and safe for concurrent use.
type Calendar struct {
	stat    *statutory
	periods []period // by start date, then id
	log     *zap.Logger
	warned  sync.Map // year (int) → struct{}: unknown years already logged
}

type period struct {
	id         int64
	name       string
	workday    bool
	start, end string // YYYY-MM-DD, inclusive; compared as text
	audience   Audience
}

// New builds a calendar of the statutory calendar and periods (as
// store.ListCalendarPeriods returns them: by start date, then id). A period
// that fails store.CalendarPeriod.Check is an error: a calendar quietly
// missing a vacation would remind students on vacation. log (nil: none)
// gets a warning for each year outside lunar-go's data a question falls in.
func New(periods []store.CalendarPeriod, log *zap.Logger) (*Calendar, error) {
	if log == nil {
		log = zap.NewNop()
	}
	c := &Calendar{stat: loadStatutory(), log: log}
	for _, p := range periods {
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("calendar: period %d %q: %w", p.ID, p.Name, err)
		}
		c.periods = append(c.periods, period{
			id: p.ID, name: p.Name, workday: p.Kind == store.PeriodWorkday,
			start: p.StartDate, end: p.EndDate, audience: Audience(p.Audience),
		})
	}
	return c, nil
}

// Load builds the calendar of the university's periods in db.
func Load(ctx context.Context, db *store.DB, log *zap.Logger) (*Calendar, error) {
	ps, err := db.ListCalendarPeriods(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("calendar: load: %w", err)
	}
	return New(ps, log)
}

// Day says what t's date (in Zone) is for everyone (All).
func (c *Calendar) Day(t time.Time) Day { return c.DayFor(t, All) }

// DayFor says what t's date (in Zone) is for audience a. An audience other
// than Students or Faculty is All.
func (c *Calendar) DayFor(t time.Time, a Audience) Day {
	t = t.In(Zone)
	date := t.Format(time.DateOnly)
	d := Day{Date: date}
	if h, ok := c.stat.days[date]; ok {
		d.Kind, d.Name = Holiday, h.name
		if h.work {
			d.Kind = MakeupWorkday
		}
	} else {
		d.Kind = Workday
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			d.Kind = Weekend
		}
		d.Guessed = !c.stat.covers(t)
	}
	if p, ok := c.period(date, a); ok {
		d.Kind, d.Name, d.PeriodID, d.Guessed = Vacation, p.name, p.id, false
		if p.workday {
			d.Kind = ExtraWorkday
		}
	}
	if d.Guessed {
		if _, logged := c.warned.LoadOrStore(t.Year(), struct{}{}); !logged {
			first, last := c.stat.first, c.stat.last
			c.log.Warn("calendar: lunar-go has no statutory holidays for this date; only weekends are days off",
				zap.String("date", date), zap.Int("year", t.Year()), zap.Int("first_year", first), zap.Int("last_year", last))
		}
	}
	return d
}

// period returns the period that decides date for a, if any.
func (c *Calendar) period(date string, a Audience) (period, bool) {
	var best period
	bestRank := -1
	for _, p := range c.periods {
		if date < p.start || date > p.end {
			continue
		}
		rank := 0
		switch {
		case p.audience == All:
		case p.audience == a && a != All:
			rank += 2
		default:
			continue
		}
		if p.workday {
			rank++
		}
		if rank > bestRank {
			best, bestRank = p, rank
		}
	}
	return best, bestRank >= 0
}

// Kind is Day(t).Kind.
func (c *Calendar) Kind(t time.Time) DayKind { return c.Day(t).Kind }

// IsWorkday reports whether t's date is a working day for everyone (All).
func (c *Calendar) IsWorkday(t time.Time) bool { return c.Day(t).Working() }

// IsWorkdayFor reports whether t's date is a working day for a.
func (c *Calendar) IsWorkdayFor(t time.Time, a Audience) bool { return c.DayFor(t, a).Working() }

// maxSearchDays bounds NextWorkday: a period lasts at most
// store.CalendarPeriodMaxDays, so only overlapping periods chained over
// years find nothing.
const maxSearchDays = 3 * 366

// NextWorkday is NextWorkdayFor(t, All).
func (c *Calendar) NextWorkday(t time.Time) time.Time { return c.NextWorkdayFor(t, All) }

// NextWorkdayFor returns the start (00:00 in Zone) of the first working day
// for a after t's date: t's own date never, whatever the time of day
// (IsWorkdayFor asks about it). It returns the zero time when there is none
// within three years.
func (c *Calendar) NextWorkdayFor(t time.Time, a Audience) time.Time {
	d := midnight(t)
	for range maxSearchDays {
		d = d.AddDate(0, 0, 1)
		if c.DayFor(d, a).Working() {
			return d
		}
	}
	return time.Time{}
}

// Workdays is WorkdaysFor(from, to, All).
func (c *Calendar) Workdays(from, to time.Time) []time.Time { return c.WorkdaysFor(from, to, All) }

// WorkdaysFor returns the working days for a from from's date to to's,
// both included, each at 00:00 in Zone, in order; none when to's date is
// before from's.
func (c *Calendar) WorkdaysFor(from, to time.Time, a Audience) []time.Time {
	var out []time.Time
	end := midnight(to)
	for d := midnight(from); !d.After(end); d = d.AddDate(0, 0, 1) {
		if c.DayFor(d, a).Working() {
			out = append(out, d)
		}
	}
	return out
}

// Covered reports whether lunar-go holds the statutory schedule of t's
// date: its year's, and for the last days of December the next year's too
// (its 元旦 may take them).
func (c *Calendar) Covered(t time.Time) bool { return c.stat.covers(t.In(Zone)) }

// Years returns the first and the last year whose statutory schedule the
// linked lunar-go holds (2002 and 2027 for v1.4.7).
func Years() (first, last int) {
	s := loadStatutory()
	return s.first, s.last
}

// ParseDate parses a YYYY-MM-DD date as its start in Zone.
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("calendar: date %q is not YYYY-MM-DD", s)
	}
	return t, nil
}

// DateOf returns t's date in Zone as YYYY-MM-DD.
func DateOf(t time.Time) string { return t.In(Zone).Format(time.DateOnly) }

func midnight(t time.Time) time.Time {
	t = t.In(Zone)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, Zone)
}

// statutory is lunar-go's holiday table, copied once.
type statutory struct {
	days        map[string]statutoryDay // YYYY-MM-DD → its entry
	years       map[int]bool            // years whose own schedule is there
	first, last int
}

type statutoryDay struct {
	name string
	work bool // 调休上班
}

// lastDecemberDays: from this day of December on, a date may belong to the
// next year's 元旦 (lunar-go's data has such dates from the 29th; the 25th
// leaves a margin).
const lastDecemberDays = 25

// covers reports whether the schedule of t's date (t in Zone) is known.
func (s *statutory) covers(t time.Time) bool {
	if !s.years[t.Year()] {
		return false
	}
	return t.Month() != time.December || t.Day() < lastDecemberDays || s.years[t.Year()+1]
}

// The years scanned for lunar-go's data: its data starts in 2001, and a
// schedule is published a year ahead.
const scanFrom, scanTo = 1990, 2200

var loadStatutory = sync.OnceValue(func() *statutory {
	s := &statutory{days: map[string]statutoryDay{}, years: map[int]bool{}}
	for y := scanFrom; y <= scanTo; y++ {
		l := HolidayUtil.GetHolidaysByYear(y)
		for e := l.Front(); e != nil; e = e.Next() {
			h := e.Value.(*HolidayUtil.Holiday)
			s.days[h.GetDay()] = statutoryDay{name: h.GetName(), work: h.IsWork()}
			// A year's schedule is there when one of its own holidays is:
			// 2001 only has the make-up workdays of 元旦 2002.
			if !h.IsWork() && strings.HasPrefix(h.GetTarget(), fmt.Sprintf("%04d-", y)) {
				s.years[y] = true
			}
		}
	}
	for y := range s.years {
		if s.first == 0 || y < s.first {
			s.first = y
		}
		if y > s.last {
			s.last = y
		}
	}
	return s
})
