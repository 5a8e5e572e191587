package h5

// Views of the online service hall's H5 pages: the hall's home
// (hall_home), a process's form (hall_apply), my applications (hall_my),
// one application (hall_app) and my tasks (hall_tasks). Members and
// off-campus applicants (guests signed in by SMS code) see the same pages;
// Guest hides what only members have (tasks, the workbench).

// HallProcess is a process open to the viewer, on the hall's home.
type HallProcess struct {
	Key, Name, Description, Href string
	// Audience is who may apply, in words (学生, 教职工, 校内师生, 校外人员).
	Audience string
}

// HallKV is one line of an application's values or key facts; Files are
// an attachment field's files.
type HallKV struct {
	Key, Label, Value string
	Files             []HallFile
}

// HallFile is an uploaded attachment: its token (what the form posts),
// its name and where it is read.
type HallFile struct{ Token, Name, Href string }

// HallAppRow is an application as lists show it.
type HallAppRow struct {
	ID      int64
	Href    string
	Process string
	Summary []HallKV
	// State is the engine's code (submitted, approved, …), StateName its
	// words and StateClass the badge's look (wait, ok, bad, off).
	State, StateName, StateClass string
	Step                         string // the current step's name while in the flow
	Applicant                    string
	Date                         string // submitted, YYYY-MM-DD HH:MM
}

// HallHome is the hall's home (page hall_home).
type HallHome struct {
	Page
	Guest     bool
	Processes []HallProcess
	// Apps are the viewer's latest applications (at most a few); AllApps
	// how many there are in all.
	Apps      []HallAppRow
	AllApps   int
	OpenTasks int
}

// HallOption is one choice of a choice field.
type HallOption struct {
	Value   string
	Checked bool
}

// HallField is one field of a form, with what was typed.
type HallField struct {
	Key, Label, Type, Help string
	Required               bool
	// Value is what the field holds (text, number, date, person, phone…);
	// Start and End a date range's; Days its day count (0: not both set).
	Value, Start, End string
	Days              int
	Options           []HallOption
	// Multiple: checkboxes; Select: a drop-down (many options) instead of
	// radio buttons.
	Multiple, Select bool
	// Min, Max and Step bound a number (HTML attributes, "" when unset);
	// MinDays and MaxDays a date range's day count.
	Min, Max, Step   string
	MinDays, MaxDays string
	MaxLength        int
	Pattern          string
	InputMode        string
	Placeholder      string
	// Files are an attachment field's files uploaded so far (hall.js
	// uploads each to /hall/files and adds its token to the form).
	Files []HallFile
	Error string
}

// HallApply is a process's form (page hall_apply): a new application or
// a returned one sent again (Resubmit).
type HallApply struct {
	Page
	Key, Name, Description string
	Action                 string // where the form posts
	Token                  string // one application per form, however often it is posted
	Fields                 []HallField
	Resubmit               bool
	AppHref                string // the application, when resubmitting
	Back                   string
}

// HallFilter is one state filter of my applications.
type HallFilter struct {
	Key, Name, Href string
	Current         bool
}

// HallMy is my applications (page hall_my).
type HallMy struct {
	Page
	Guest   bool
	State   string
	Filters []HallFilter
	Apps    []HallAppRow
}

// HallTaskRow is one task on an application's path or in a task list.
type HallTaskRow struct {
	ID                     int64
	Anchor                 string // the element id on the application's page (task-<id>)
	Step                   string
	Assignee, AssigneeName string
	State, StateName       string
	StateClass             string
	Opened, Decided, Due   string
	Comment                string
	Overdue, Mine, Open    bool
	DecideURL, TransferURL string
	AddURL                 string
}

// HallEntry is one line of an application's trail.
type HallEntry struct {
	At, Who, Action, Comment string
}

// HallApp is one application (page hall_app).
type HallApp struct {
	Page
	Guest  bool
	App    HallAppRow
	Values []HallKV
	Tasks  []HallTaskRow
	Trail  []HallEntry
	// What the applicant may do now.
	Applicant                        bool
	CanWithdraw, CanUrge, CanConfirm bool
	Urged                            bool   // urged less than an hour ago
	UrgeNote                         string // when it may be urged again
	CanResubmit                      bool
	ResubmitHref                     string
	WithdrawURL, UrgeURL, ConfirmURL string
	Confirmed                        string // when the applicant confirmed (back on campus)
	// MyTasks are the viewer's open tasks on it (an approver's actions).
	MyTasks []HallTaskRow
	Back    string
}

// HallTaskItem is a task with its application, in my tasks.
type HallTaskItem struct {
	Task HallTaskRow
	App  HallAppRow
	Href string
}

// HallTasks is my tasks (page hall_tasks): the open ones or those done.
type HallTasks struct {
	Page
	Open      bool
	OpenCount int
	Items     []HallTaskItem
}
