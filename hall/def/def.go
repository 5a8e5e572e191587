// Package def is the service hall's process definitions: a form of typed
// fields and a flow of approval steps with routing conditions
// (expr-lang), as department admins design them in the console. It holds
// no state: parsing a submitted form, validating a definition before it
// is published, and working out an application's path are pure
// functions; who holds a post or counsels a class is asked of a Resolver
// the engine (package hall) supplies.
package def

import "time"

// FieldType is a form field's type.
type FieldType string

// The field types.
const (
	Text       FieldType = "text"       // one line, MaxLength runes (default 100)
	LongText   FieldType = "textarea"   // several lines, MaxLength runes (default 2000)
	Number     FieldType = "number"     // decimal, within Min..Max when set
	Date       FieldType = "date"       // YYYY-MM-DD
	DateRange  FieldType = "daterange"  // start and end dates, with the day count (inclusive)
	Choice     FieldType = "choice"     // one of Options (Multiple: several)
	Person     FieldType = "person"     // a member's userid
	Department FieldType = "department" // a WeCom department id
	Attachment FieldType = "attachment" // uploaded files: ids the engine issued
	Phone      FieldType = "phone"      // a mobile number, stored E.164
	IDNumber   FieldType = "idnumber"   // a PRC resident ID number (GB 11643 check digit), sealed at rest
)

// Field is one field of a form.
type Field struct {
	// Key names the field in conditions and stored values:
	// [a-z][a-z0-9_]{0,31}.
	Key      string    `json:"key" yaml:"key"`
	Label    string    `json:"label" yaml:"label"`
	Type     FieldType `json:"type" yaml:"type"`
	Required bool      `json:"required,omitempty" yaml:"required,omitempty"`
	Help     string    `json:"help,omitempty" yaml:"help,omitempty"`
	// Options are a choice field's choices; Multiple allows several.
	Options  []string `json:"options,omitempty" yaml:"options,omitempty"`
	Multiple bool     `json:"multiple,omitempty" yaml:"multiple,omitempty"`
	// Min and Max bound a number (and a date range's day count).
	Min *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	// Integer makes a number a whole number (a year, a count).
	Integer bool `json:"integer,omitempty" yaml:"integer,omitempty"`
	// MaxLength bounds text in runes (0: the type's default).
	MaxLength int `json:"max_length,omitempty" yaml:"max_length,omitempty"`
	// Summary fields are the key facts on an approver's card (at most 6).
	Summary bool `json:"summary,omitempty" yaml:"summary,omitempty"`
}

// Values are a submitted form's values by field key, typed:
//
//	text, textarea, person, phone (E.164), idnumber, date ("2006-01-02"),
//	choice (not Multiple): string
//	choice (Multiple): []string
//	number: float64
//	department: int64
//	daterange: Range
//	attachment: []string (attachment ids)
//
// An optional field left empty is absent.
type Values map[string]any

// Range is a date range's value (in conditions: leave.start, leave.end,
// leave.days).
type Range struct {
	Start string `json:"start" expr:"start"` // YYYY-MM-DD
	End   string `json:"end" expr:"end"`
	Days  int    `json:"days" expr:"days"` // End - Start + 1 calendar days
}

// FieldErrors say what is wrong with a submitted form, per field key, in
// words for the person filling it in (Chinese, e.g. "请填写请假事由").
type FieldErrors map[string]string

// ApproverKind says how a step's approvers are found.
type ApproverKind string

// The approver kinds, resolved relative to the applicant.
const (
	Counselor     ApproverKind = "counselor"    // the counselor of the applicant (a student)
	CollegeHead   ApproverKind = "college_head" // the leader (head) of the applicant's college
	CollegePost   ApproverKind = "college_post" // whoever holds Post in the applicant's college, e.g. 党委副书记
	DeptLeader    ApproverKind = "dept_leader"  // the leader of the applicant's own department (faculty)
	Post          ApproverKind = "post"         // whoever holds Post in department Dept (a data-center code)
	TagMembers    ApproverKind = "tag"          // the members of tag Tag (its name)
	NamedUsers    ApproverKind = "users"        // Users, by userid
	ApplicantSelf ApproverKind = "applicant"    // the applicant (a confirmation step, e.g. back on campus)
)

// Approver is one source of a step's approvers (or CC recipients).
type Approver struct {
	Kind  ApproverKind `json:"kind" yaml:"kind"`
	Post  string       `json:"post,omitempty" yaml:"post,omitempty"`
	Dept  string       `json:"dept,omitempty" yaml:"dept,omitempty"`
	Tag   string       `json:"tag,omitempty" yaml:"tag,omitempty"`
	Users []string     `json:"users,omitempty" yaml:"users,omitempty"`
}

// Mode is how a step with several approvers is decided.
type Mode string

// The modes.
const (
	AnyOf      Mode = "any"        // the first approver's decision decides the step
	AllOf      Mode = "all"        // every approver must approve (one rejection rejects)
	Sequential Mode = "sequential" // one after another, in the resolved order
)

// Edge leads from a step to the next: the first edge whose When holds (an
// expr-lang boolean over Env; empty always holds) is taken; To "" ends
// the flow (the application is approved).
type Edge struct {
	When string `json:"when,omitempty" yaml:"when,omitempty"`
	To   string `json:"to" yaml:"to"`
}

// Step is one step of a flow.
type Step struct {
	// ID names the step: [a-z][a-z0-9_]{0,31}.
	ID        string     `json:"id" yaml:"id"`
	Name      string     `json:"name" yaml:"name"`
	Approvers []Approver `json:"approvers" yaml:"approvers"`
	Mode      Mode       `json:"mode" yaml:"mode"`
	CC        []Approver `json:"cc,omitempty" yaml:"cc,omitempty"`
	// LimitDays is the step's time limit in working days (0: none); a task
	// still open then is overdue and escalates (to EscalateTo's people).
	LimitDays  int        `json:"limit_days,omitempty" yaml:"limit_days,omitempty"`
	EscalateTo []Approver `json:"escalate_to,omitempty" yaml:"escalate_to,omitempty"`
	// RemindHours repeats a reminder to the assignee every so many working
	// hours while the task is open (0: the engine's default, 24).
	RemindHours int `json:"remind_hours,omitempty" yaml:"remind_hours,omitempty"`
	// Next are the edges out; none means the flow ends after this step.
	Next []Edge `json:"next,omitempty" yaml:"next,omitempty"`
}

// Audience is who may apply.
type Audience string

// The audiences.
const (
	Students  Audience = "students"  // members who are students
	Faculty   Audience = "faculty"   // members who are faculty
	Members   Audience = "members"   // any member
	OffCampus Audience = "offcampus" // off-campus applicants signed in by phone (and members); needs a required phone field
)

// Process is a process definition: one version of it.
type Process struct {
	// Key names the process across versions: [a-z][a-z0-9_]{0,31}.
	Key  string `json:"key" yaml:"key"`
	Name string `json:"name" yaml:"name"`
	// Owner is the data-center code of the department that runs it: its
	// admins may edit it.
	Owner       string   `json:"owner" yaml:"owner"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Audience    Audience `json:"audience" yaml:"audience"`
	Fields      []Field  `json:"fields" yaml:"fields"`
	// Steps: the flow starts at the first.
	Steps []Step `json:"steps" yaml:"steps"`
	// ConfirmReturn adds, after approval, a confirmation by the applicant
	// (leave: back on campus) recorded on the application.
	ConfirmReturn bool `json:"confirm_return,omitempty" yaml:"confirm_return,omitempty"`
	// Version is set by the engine when published (1, 2, …).
	Version int `json:"version,omitempty" yaml:"-"`
}

// Applicant is who applies, as conditions and the Resolver see them.
type Applicant struct {
	UserID  string `expr:"userid"` // a member's userid; "" for an off-campus applicant
	Name    string `expr:"name"`
	Kind    string `expr:"kind"`    // student | faculty | offcampus
	College string `expr:"college"` // data-center code of the college (students) or the department's college (faculty)
	Dept    string `expr:"dept"`    // data-center code of the own department (the class for students)
	Grade   int    `expr:"grade"`   // students
	Level   string `expr:"level"`   // students: undergraduate | master | doctoral
	// Mobile is the off-campus applicant's number (E.164).
	Mobile string `expr:"mobile"`
}

// Env is what a routing condition sees: the form's values by key (a
// date range as {start, end, days}), and the applicant, e.g.
//
//	leave.days > 3 && applicant.level == "undergraduate"
//
// Form takes Values as ParseForm or DecodeValues return them (a range as
// a Range or a map, numbers of any Go number type); conditions see a
// number as a float64 and a field left empty as nil.
type Env struct {
	Form      map[string]any
	Applicant Applicant
}

// Resolver finds the people an approver source names for an applicant.
// The engine's resolver reads the data-center tables and the mirror; a
// source that resolves to nobody answers an empty list (not an error).
type Resolver interface {
	Resolve(a Applicant, src Approver) ([]string, error)
	// Possible says whether src could resolve to anybody for some
	// applicant of the audience (a post nobody holds, an empty tag, a
	// counselor for faculty applicants: not possible), for Validate.
	Possible(aud Audience, src Approver) (bool, string)
}

// Problem is one reason a definition cannot be published.
type Problem struct {
	Where   string `json:"where"`   // "fields[2]", "steps.s2.next[0]", "steps.s3"
	Problem string `json:"problem"` // in words, Chinese
}

// PathStep is one step an application would take, with its approvers.
type PathStep struct {
	Step      Step
	Approvers []string // resolved userids, in order
	CC        []string
	// Edge is the condition that led here ("" for the first step or an
	// unconditional edge).
	Edge string
	// Warnings are the conditions of this step's edges that failed at run
	// time (e.g. comparing an optional field left empty) and so counted as
	// false.
	Warnings []Problem
}

// WorkingDays says when a task opened at from is overdue: days (a step's
// LimitDays) working days later, by the calendar's working days (the
// engine passes a func over package calendar). Declared here so the
// engine and the designer's simulator agree.
type WorkingDays func(from time.Time, days int) time.Time
