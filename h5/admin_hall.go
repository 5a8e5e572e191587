package h5

// Views of the service hall's console: the processes (admin_hall), the
// designer (admin_hall_edit), the "who would approve this?" simulator
// (admin_hall_simulate), the statistics with their charts
// (admin_hall_stats) and an application as admins see it, with its stuck
// tasks to reassign (admin_hall_app).

// AdminHallProcess is one published process in the list (its latest
// version).
type AdminHallProcess struct {
	Key, Name string
	// Owner is the owning department's data-center code, OwnerName its
	// name ("" when the data center has no such department).
	Owner, OwnerName string
	Audience         string // students | faculty | members | offcampus
	Version          int
	PublishedBy      string
	PublishedAt      string
	// Editable: the admin's grants reach the owner department.
	Editable bool
}

// AdminHallList is the processes page (page admin_hall).
type AdminHallList struct {
	AdminPage
	Processes []AdminHallProcess
	// All: the admin edits every process (a super admin); else Depts are
	// the departments whose processes they edit.
	All   bool
	Depts []string
}

// AdminHallProblem is one reason a definition cannot be published, with
// where it is in words (第 2 个字段“请假时间”, 步骤“学院党委副书记审批”的第 1 条分支).
type AdminHallProblem struct {
	Where   string // def.Problem.Where: fields[1], steps.deputy.next[0]
	Place   string
	Problem string
}

// AdminHallVersion is one published version in the designer's history.
type AdminHallVersion struct {
	Version int
	By, At  string
	Current bool // the version the designer opened
	// Simulate is the simulator of this version.
	Simulate string
}

// AdminHallEdit is the designer (page admin_hall_edit).
type AdminHallEdit struct {
	AdminPage
	// Key is the process edited ("" a new one); Version its latest
	// published version (0 none).
	Key     string
	Version int
	// Action is where the form posts.
	Action string
	// Definition is the definition as JSON: the designer's model, and the
	// box edited without JavaScript.
	Definition string
	// Problems came back from 校验 or 发布; Checked says 校验 ran (no
	// problems then: it can be published).
	Problems []AdminHallProblem
	Checked  bool
	// ParseError is a definition that is not JSON of a process at all.
	ParseError string
	Versions   []AdminHallVersion
	// Owner is the owner department's name, for the heading.
	OwnerName string
	// Depts are the departments a department admin may own processes of
	// (empty for a super admin: any).
	Depts []string
}

// AdminHallPerson is a member with their name.
type AdminHallPerson struct {
	UserID, Name string
}

// AdminHallFormField is one field of the simulator's sample form.
type AdminHallFormField struct {
	Key, Label, Type, Help string
	Required, Multiple     bool
	Options                []AdminOption // a choice field's, Checked when picked
	Value                  string        // as typed (text, number, date, …)
	Start, End             string        // a date range's
	Error                  string
}

// AdminHallPathStep is one step the simulated application would take.
type AdminHallPathStep struct {
	ID, Name string
	Mode     string // any | all | sequential
	// Edge is the condition that led here ("" the first step or an
	// unconditional branch).
	Edge string
	// Sources describe where the approvers come from (辅导员, 学院的党委副书记).
	Sources   []string
	Approvers []AdminHallPerson
	CC        []AdminHallPerson
	LimitDays int
	Warnings  []string
}

// AdminHallApplicant is the simulated applicant as the data center has
// them.
type AdminHallApplicant struct {
	UserID, Name, Kind, College, Dept, Level string
	Grade                                    int
}

// AdminHallSimulate is the simulator (page admin_hall_simulate).
type AdminHallSimulate struct {
	AdminPage
	Key, Name string
	Version   int
	UserID    string
	Applicant *AdminHallApplicant
	Fields    []AdminHallFormField
	// Ran: the path below is for the person and values above.
	Ran  bool
	Path []AdminHallPathStep
	// Problem says why there is no path (no such person, not of the
	// audience, a cycle).
	Problem string
}

// AdminHallBar is one bar of a chart, its geometry worked out by the
// handler (SVG user units).
type AdminHallBar struct {
	X, Y, W, H     int
	Class          string // bar_a (applications), bar_m (median), bar_p (p90)
	Value          string // the figure in words, printed after the bar
	ValueX, ValueY int
}

// AdminHallChartRow is one process's row of a chart.
type AdminHallChartRow struct {
	Label  string
	LabelY int
	Bars   []AdminHallBar
}

// AdminHallChart is a horizontal bar chart rendered as inline SVG.
type AdminHallChart struct {
	Title         string
	Width, Height int
	LabelWidth    int
	Rows          []AdminHallChartRow
	// Legend names the bar classes, in order.
	Legend []AdminHallLegend
}

// AdminHallLegend is one entry of a chart's legend.
type AdminHallLegend struct {
	Class, Name string
	X           int
}

// AdminHallStatRow is one process's (or one owner department's) figures.
type AdminHallStatRow struct {
	Key, Name, Owner, OwnerName string
	Applications, Decided       int
	Median, P90                 string // "3 小时 20 分", "—" with none decided
	OverdueOpen                 int
}

// AdminHallStuck is an open task past its due time.
type AdminHallStuck struct {
	TaskID, ApplicationID int64
	Href                  string
	Process, Step         string
	Assignee, Name        string
	Due                   string
}

// AdminHallStats is the statistics page (page admin_hall_stats).
type AdminHallStats struct {
	AdminPage
	Rows   []AdminHallStatRow
	Owners []AdminHallStatRow // per owner department (Key, Name empty)
	Apps   AdminHallChart
	Times  AdminHallChart
	Stuck  []AdminHallStuck
}

// AdminHallKV is one value of an application's form.
type AdminHallKV struct{ Label, Value string }

// AdminHallTask is one task of an application.
type AdminHallTask struct {
	ID                     int64
	Step                   string
	Assignee, AssigneeName string
	State                  string
	Opened, Due, Decided   string
	DecidedBy, Comment     string
	Open, Overdue          bool
}

// AdminHallEntry is one line of an application's trail.
type AdminHallEntry struct {
	At, Actor, Name, Action, Comment string
}

// AdminHallApplication is an application as admins see it (page
// admin_hall_app).
type AdminHallApplication struct {
	AdminPage
	ID                       int64
	ProcessKey, ProcessName  string
	Version                  int
	Applicant, ApplicantKind string
	State, Step              string
	Created, Decided         string
	Values                   []AdminHallKV
	Tasks                    []AdminHallTask
	Trail                    []AdminHallEntry
	// CanReassign: the admin's grants reach the process's owner.
	CanReassign bool
	// Task and To are the reassign form as typed, with its error.
	Task       int64
	To         string
	FieldError map[string]string
}

func init() {
	labels["hall_audience"] = map[string]string{"students": "学生", "faculty": "教职工", "members": "全体成员", "offcampus": "校外人员"}
	labels["hall_mode"] = map[string]string{"any": "一人审批即可", "all": "全部同意", "sequential": "依次审批"}
	labels["hall_state"] = map[string]string{"submitted": "审批中", "approved": "已通过", "rejected": "已驳回", "returned": "已退回",
		"withdrawn": "已撤回", "confirmed": "已确认返校"}
	labels["hall_task"] = map[string]string{"open": "待办", "approved": "已同意", "rejected": "已驳回", "returned": "已退回",
		"transferred": "已转交", "cancelled": "已取消", "superseded": "他人已处理", "waiting": "等待前一位"}
	labels["hall_action"] = map[string]string{"approve": "同意", "reject": "驳回", "return": "退回修改", "submit": "提交申请",
		"resubmit": "重新提交", "withdraw": "撤回", "urge": "催办", "transfer": "转交", "add_approver": "加签", "reassign": "管理员转交",
		"reresolve": "组织变动后改派", "remind": "提醒", "escalate": "超时上报", "confirm": "确认返校", "approved": "审批通过"}
	labels["hall_level"] = map[string]string{"undergraduate": "本科生", "master": "硕士研究生", "doctoral": "博士研究生"}
	labels["hall_kind"] = map[string]string{"student": "学生", "faculty": "教职工", "offcampus": "校外人员"}
}
