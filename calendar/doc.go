// Package calendar is the university's working-day calendar: which dates
// reminders (punch-card, commuting, health report, custom; issue 10) go out
// on. It lays two calendars over the weekdays:
//
//   - China's statutory calendar: the public holidays (法定节假日, e.g.
//     国庆节) and the make-up workdays (调休上班, a Saturday or Sunday worked
//     to bridge a holiday) the State Council publishes each year, from
//     github.com/6tail/lunar-go's HolidayUtil;
//   - the university's own periods (store.CalendarPeriod, table
//     calendar_periods): vacations (寒假, 暑假, 校运会停课) and extra
//     workdays (a Saturday of classes), each for an audience: all, students
//     or faculty. A winter vacation of the students is no vacation of the
//     staff on duty.
//
// A date is, in this order of precedence: a university period's Vacation or
// ExtraWorkday when one applies to the audience; else a statutory Holiday or
// MakeupWorkday; else Weekend (Saturday, Sunday) or Workday. When several
// periods cover a date, one for the audience itself (students, faculty)
// beats one for all, then an extra workday beats a vacation (a workday is
// the exception carved out of a vacation: 军训 in the summer vacation), then
// the earliest. Asking for All applies only the periods for all: it is the
// calendar of someone who is neither a student nor on the faculty, or of a
// message to everyone.
//
// Dates are Asia/Shanghai calendar dates. Zone is a fixed +08:00 (China has
// kept no daylight saving time since 1991), so nothing needs tzdata; a
// time.Time is first moved into Zone, then its date is taken.
//
// # Which years lunar-go knows
//
// lunar-go's data starts on 2001-12-29 and v1.4.7 (2026-11-06) holds the
// schedules of 2002 to 2027 (Years reports the range of the linked
// version). The State Council publishes a year's schedule around November
// of the year before, and lunar-go adds it in a release shortly after
// (1.4.6 added 2026 on 2025-11-05, 1.4.7 added 2027): bumping lunar-go each
// November is how the calendar learns the next year. For a date whose year
// lunar-go holds no schedule for, HolidayUtil simply finds no holiday, which
// would make every Monday to Friday a workday: a 国庆节 week of reminders.
// The calendar does not guess silently: it falls back to the weekday rule
// but marks the Day Guessed, reports the date as not Covered, and logs a
// warning once per year and Calendar. The last days of December (from the
// 25th) also need the next year's schedule, which may move them for its
// 元旦 (2023-12-30 and 31 were 元旦 2024 holidays): until it is known they
// are Guessed too. While lunar-go lags a published schedule, the holidays
// can be entered as university periods for all; dates they cover are then
// not Guessed.
//
// lunar-go's tables are read once, on first use, into the process's own
// map: lookups do not touch lunar-go's mutable globals (HolidayUtil.Fix),
// and a Calendar is safe for concurrent use. A Calendar is immutable: after
// a period is edited, Load a new one.
package calendar
