package h5

// Views of the console's reminders (admin_reminders) and the academic
// calendar (admin_calendar): the rules with their next firings as the
// calendar decides them, and the days as each audience has them.

// AdminReminderFiring is one upcoming firing of a rule, or a run of
// firings the calendar silences (one reason, no firing between them).
type AdminReminderFiring struct {
	// At is a firing's time ("2026-09-29 08:00 周二"), or a skipped run's
	// first date ("2026-10-01").
	At string
	// Until is a skipped run's last date, "" when it is one day.
	Until   string
	Skipped bool
	// Reason names the day: a skipped run's (国庆节, 周末, 寒假), or what
	// is special about a firing's day (调休上班 国庆节), else "".
	Reason string
	// Days is how many days a skipped run silences.
	Days int
	// Guessed: lunar-go has no statutory holidays for the date; the day
	// rests on the weekday alone.
	Guessed bool
}

// AdminReminderRow is a rule in the console's list.
type AdminReminderRow struct {
	ID int64
	// Name, Schedule in words ("每个工作日 08:00"), Cron the raw spec.
	Name, Schedule, Cron string
	To                   []string // the recipients in words: 标签 校领导, 部门 计算机学院（含下级）, 角色 辅导员
	Audience             string   // all | students | faculty
	Workdays, Enabled    bool
	MsgType, Summary     string
	LastFired            string // "" never
	Firings              []AdminReminderFiring
	// FiringsNote says why there are fewer firings than asked (none in
	// two years, a schedule that no longer parses), else "".
	FiringsNote string
	// Pending: above the broadcast threshold (Reach members when saved)
	// and waiting for an admin other than UpdatedBy; ApprovedBy approved it.
	Pending               bool
	Reach                 int
	UpdatedBy, ApprovedBy string
}

// ReminderForm is the rule form as typed.
type ReminderForm struct {
	ID   int64 // 0 a new rule
	Name string
	// Preset is workday (每个工作日), daily (每天), weekly (每周一) or
	// custom (Cron); Time is the presets' HH:MM.
	Preset, Time, Cron string
	Audience           string // all | students | faculty
	Workdays, Enabled  bool
	MsgType, Content   string // text | markdown, and its text
	Tags, Depts, Roles []AdminOption
	Children           bool
}

// AdminReminders is the console's reminder rules (page admin_reminders).
type AdminReminders struct {
	AdminPage
	Rules []AdminReminderRow
	// From is the date the firings are counted from ("" now, shown as
	// Today).
	From, Today string
	Edit        *ReminderForm
	FieldError  map[string]string
	// Delete and Send are the rule waiting for the confirmation of its
	// deletion, or of 立即发送一次 (to Members members).
	Delete, Send *AdminReminderRow
	Members      int
	// Threshold is the reach above which a send needs a second admin
	// (-1 none): 立即发送一次 goes only below it.
	Threshold int
	// Sent are the latest messages the rules sent, newest first.
	Sent []AdminMessageRow
}

// AdminDayKind is what one date is for one audience.
type AdminDayKind struct {
	Kind    string // workday | weekend | holiday | makeup_workday | vacation | extra_workday
	Label   string // 工作日, 周末, 法定节假日, 调休上班, 假期, 校历工作日
	Name    string // the holiday's or the period's name
	Working bool
	Guessed bool
}

// AdminCalendarDay is one date of the calendar page.
type AdminCalendarDay struct {
	Date, Weekday          string
	All, Students, Faculty AdminDayKind
}

// AdminCalendarPeriod is one of the university's periods.
type AdminCalendarPeriod struct {
	ID                         int64
	Name, Kind, Start, End     string
	Audience, CreatedBy, Added string
	Days                       int
}

// AdminCalendar is the academic calendar (page admin_calendar).
type AdminCalendar struct {
	AdminPage
	// From is the first date shown; Prev and Next the pages around it.
	From, Prev, Next string
	Days             []AdminCalendarDay
	Periods          []AdminCalendarPeriod
	Edit             *AdminCalendarPeriod
	FieldError       map[string]string
	Delete           *AdminCalendarPeriod
	// FirstYear and LastYear are the years lunar-go knows; Uncovered the
	// years of the dates shown it does not.
	FirstYear, LastYear int
	Uncovered           []int
}

func init() {
	labels["audience"] = map[string]string{"all": "全体", "students": "学生", "faculty": "教职工"}
	labels["period"] = map[string]string{"vacation": "假期（不提醒）", "workday": "工作日（照常提醒）"}
	labels["preset"] = map[string]string{"workday": "每个工作日", "daily": "每天", "weekly": "每周一", "custom": "自定义 cron"}
}
