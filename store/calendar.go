package store

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// Kinds of a calendar period.
const (
	PeriodVacation = "vacation" // no working day, whatever the statutory calendar says
	PeriodWorkday  = "workday"  // a working day, whatever the statutory calendar says
)

// Audiences of a calendar period.
const (
	AudienceAll      = "all"
	AudienceStudents = "students"
	AudienceFaculty  = "faculty"
)

// Bounds of a calendar period.
const (
	// CalendarPeriodNameMax bounds a period's name in characters (the
	// column is VARCHAR(64), characters on MySQL's utf8mb4).
	CalendarPeriodNameMax = 64
	// CalendarPeriodMaxDays bounds a period's length: a summer vacation is
	// two months, and an end date mistyped by a decade must not silence
	// every reminder for ten years.
	CalendarPeriodMaxDays = 366
)

// CalendarPeriod is a row of calendar_periods: one of the university's own
// vacations or extra workdays. StartDate and EndDate are YYYY-MM-DD
// (Asia/Shanghai), both inclusive. CreatedAt is Unix milliseconds, set by
// PutCalendarPeriod when the period is created and kept by later edits, as
// is CreatedBy.
type CalendarPeriod struct {
	ID        int64  `db:"id"`
	Name      string `db:"name"`
	Kind      string `db:"kind"`
	StartDate string `db:"start_date"`
	EndDate   string `db:"end_date"`
	Audience  string `db:"audience"`
	CreatedBy string `db:"created_by"`
	CreatedAt int64  `db:"created_at"`
}

const calendarPeriodCols = "id, name, kind, start_date, end_date, audience, created_by, created_at"

// Check reports what is wrong with p, or nil: an empty or too long name, a
// kind or audience outside the constants, a date not YYYY-MM-DD, an end
// before the start, a period longer than CalendarPeriodMaxDays.
func (p CalendarPeriod) Check() error {
	if p.Name == "" || utf8.RuneCountInString(p.Name) > CalendarPeriodNameMax {
		return fmt.Errorf("the name must be 1 to %d characters", CalendarPeriodNameMax)
	}
	if p.Kind != PeriodVacation && p.Kind != PeriodWorkday {
		return fmt.Errorf("kind %q is neither %s nor %s", p.Kind, PeriodVacation, PeriodWorkday)
	}
	switch p.Audience {
	case AudienceAll, AudienceStudents, AudienceFaculty:
	default:
		return fmt.Errorf("audience %q is none of %s, %s, %s", p.Audience, AudienceAll, AudienceStudents, AudienceFaculty)
	}
	// The dates are calendar dates; UTC only makes the day count exact.
	start, err := time.Parse(time.DateOnly, p.StartDate)
	if err != nil {
		return fmt.Errorf("start date %q is not YYYY-MM-DD", p.StartDate)
	}
	end, err := time.Parse(time.DateOnly, p.EndDate)
	if err != nil {
		return fmt.Errorf("end date %q is not YYYY-MM-DD", p.EndDate)
	}
	if end.Before(start) {
		return fmt.Errorf("it ends (%s) before it starts (%s)", p.EndDate, p.StartDate)
	}
	if days := int(end.Sub(start).Hours()/24) + 1; days > CalendarPeriodMaxDays {
		return fmt.Errorf("%s to %s is %d days, more than %d", p.StartDate, p.EndDate, days, CalendarPeriodMaxDays)
	}
	return nil
}

// ListCalendarPeriods lists every calendar period by start date, then id,
// through q (nil: the pool).
func (db *DB) ListCalendarPeriods(ctx context.Context, q sqlx.ExtContext) ([]CalendarPeriod, error) {
	var rows []CalendarPeriod
	// The dates are ASCII digits and dashes: both engines order them alike.
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, "SELECT "+calendarPeriodCols+" FROM calendar_periods ORDER BY start_date, id"); err != nil {
		return nil, fmt.Errorf("store: list calendar periods: %w", err)
	}
	return rows, nil
}

// PutCalendarPeriod saves p through q (nil: the pool) and returns its id:
// a new period when p.ID is 0, created by p.CreatedBy at at; otherwise it
// replaces period p.ID's name, kind, dates and audience (ErrNotFound when
// there is none), keeping who created it and when. A period that fails
// Check is refused.
func (db *DB) PutCalendarPeriod(ctx context.Context, q sqlx.ExtContext, p CalendarPeriod, at time.Time) (int64, error) {
	if err := p.Check(); err != nil {
		return 0, fmt.Errorf("store: put calendar period %q: %w", p.Name, err)
	}
	q = db.ext(q)
	if p.ID == 0 {
		res, err := q.ExecContext(ctx, "INSERT INTO calendar_periods (name, kind, start_date, end_date, audience, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			p.Name, p.Kind, p.StartDate, p.EndDate, p.Audience, p.CreatedBy, Millis(at))
		if err != nil {
			return 0, fmt.Errorf("store: add calendar period %q: %w", p.Name, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return 0, fmt.Errorf("store: add calendar period %q: %w", p.Name, err)
		}
		return id, nil
	}
	n, err := execCount(ctx, q, "UPDATE calendar_periods SET name = ?, kind = ?, start_date = ?, end_date = ?, audience = ? WHERE id = ?",
		p.Name, p.Kind, p.StartDate, p.EndDate, p.Audience, p.ID)
	if err != nil {
		return 0, fmt.Errorf("store: update calendar period %d: %w", p.ID, err)
	}
	if n == 0 {
		// MySQL counts only changed rows (the pool does not ask for found
		// rows): an unchanged period also reports 0.
		var found int
		if err := sqlx.GetContext(ctx, q, &found, "SELECT COUNT(*) FROM calendar_periods WHERE id = ?", p.ID); err != nil {
			return 0, fmt.Errorf("store: update calendar period %d: %w", p.ID, err)
		}
		if found == 0 {
			return 0, fmt.Errorf("store: update calendar period %d: %w", p.ID, ErrNotFound)
		}
	}
	return p.ID, nil
}

// DeleteCalendarPeriod deletes period id through q (nil: the pool) and
// reports whether there was one.
func (db *DB) DeleteCalendarPeriod(ctx context.Context, q sqlx.ExtContext, id int64) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "DELETE FROM calendar_periods WHERE id = ?", id)
	if err != nil {
		return false, fmt.Errorf("store: delete calendar period %d: %w", id, err)
	}
	return n > 0, nil
}
