// Package datamod is the workbench's data modules: declarative query
// modules over the university's shared database (the data center's
// integration of every business system: timetables, scores, the library,
// the network, the campus card, salaries, research), each showing a person
// their own rows — and a counselor their students' where the definition
// allows — as an H5 list, a detail page and a workbench tile with a badge
// or a key figure. No code per module: a Definition names the source, the
// column binding rows to the person, the fields with labels and formats,
// the filters and the sort. The shared database is a separate connection
// (its own DSN, read-only credentials) queried with a per-module timeout:
// a slow or absent source makes that one module Unavailable, never the
// workbench.
package datamod

import (
	"context"
	"errors"
	"time"
)

// Format says how a field's value is shown.
type Format string

// The formats.
const (
	Text     Format = "text"
	Number   Format = "number"   // decimal, Decimals places
	Money    Format = "money"    // yuan, two places: ¥1,234.50
	Date     Format = "date"     // YYYY-MM-DD
	DateTime Format = "datetime" // YYYY-MM-DD HH:MM
	Duration Format = "duration" // minutes → "12 小时 30 分"
	Percent  Format = "percent"
	Weekday  Format = "weekday" // 1..7 → 周一..周日
)

// Sensitive says what kind of personal data a field holds: masked unless
// the viewer may see it (the row's own person, on its detail page).
type Sensitive string

// The kinds of sensitive field.
const (
	NotSensitive Sensitive = ""
	IDNumber     Sensitive = "id_number" // 4501**********1234
	Phone        Sensitive = "phone"     // 139****5678
	Salary       Sensitive = "salary"    // ****
)

// Field is one column shown.
type Field struct {
	Column    string    `json:"column" yaml:"column"` // [a-z][a-z0-9_]{0,63}, must exist in the source
	Label     string    `json:"label" yaml:"label"`
	Format    Format    `json:"format,omitempty" yaml:"format,omitempty"`
	Decimals  int       `json:"decimals,omitempty" yaml:"decimals,omitempty"`
	Sensitive Sensitive `json:"sensitive,omitempty" yaml:"sensitive,omitempty"`
	// List: shown in the list (else on the detail page only).
	List bool `json:"list,omitempty" yaml:"list,omitempty"`
}

// FilterKind is how a filter is asked.
type FilterKind string

// The filter kinds.
const (
	FilterChoice FilterKind = "choice" // the column's distinct values among the person's rows
	FilterText   FilterKind = "text"   // contains
	FilterRange  FilterKind = "date_range"
)

// Filter is one filter the list offers.
type Filter struct {
	Column string     `json:"column" yaml:"column"`
	Label  string     `json:"label" yaml:"label"`
	Kind   FilterKind `json:"kind" yaml:"kind"`
}

// Sort is one ordering column.
type Sort struct {
	Column string `json:"column" yaml:"column"`
	Desc   bool   `json:"desc,omitempty" yaml:"desc,omitempty"`
}

// View is how the list is laid out.
type View string

// The views.
const (
	ListView View = "list"
	// WeekView lays rows out by weekday and period (a timetable): the
	// definition's Week names the columns.
	WeekView View = "week"
)

// Week names a timetable's columns.
type Week struct {
	Weekday     string `json:"weekday" yaml:"weekday"`           // 1..7
	StartPeriod string `json:"start_period" yaml:"start_period"` // 1..12
	EndPeriod   string `json:"end_period" yaml:"end_period"`
	Title       string `json:"title" yaml:"title"`       // the course
	Subtitle    string `json:"subtitle" yaml:"subtitle"` // the room
	// Weeks, when set, is a column like "1-16" or "1-8,10-16": a row shows
	// only in those teaching weeks.
	Weeks string `json:"weeks,omitempty" yaml:"weeks,omitempty"`
	// Semester, when set, is the column naming a row's semester (as the
	// shared database's semesters table names it, e.g. 2026-2027-1): the
	// timetable shows the current semester's rows only, and the teaching
	// week counts from that semester's start_date (semesters table:
	// semester, start_date YYYY-MM-DD; week 1 is the week holding it).
	Semester string `json:"semester,omitempty" yaml:"semester,omitempty"`
}

// Aggregate is a tile's key figure or a list's summary line.
type Aggregate string

// The aggregates.
const (
	Count  Aggregate = "count" // rows (a badge)
	Sum    Aggregate = "sum"
	Latest Aggregate = "latest" // the value of the first row in the definition's sort
	// WeightedAvg is Column weighted by Weight (GPA: grade points by credits).
	WeightedAvg Aggregate = "weighted_avg"
)

// Figure is a computed figure: a tile's key figure, or a summary line on
// the list (GPA, the balance).
type Figure struct {
	Label  string    `json:"label" yaml:"label"`
	Agg    Aggregate `json:"agg" yaml:"agg"`
	Column string    `json:"column,omitempty" yaml:"column,omitempty"`
	Weight string    `json:"weight,omitempty" yaml:"weight,omitempty"`
	Format Format    `json:"format,omitempty" yaml:"format,omitempty"`
	// Where restricts the rows counted: column → value (e.g. a loan's
	// status "overdue" for the badge).
	Where map[string]string `json:"where,omitempty" yaml:"where,omitempty"`
}

// Definition is a data module.
type Definition struct {
	// Key is the workbench module's key (catalog.yaml), e.g. scores.
	Key   string `json:"key" yaml:"key"`
	Title string `json:"title" yaml:"title"`
	// Source is a table or view of the shared database.
	Source string `json:"source" yaml:"source"`
	// Person is the column holding the userid (学号/工号) a row belongs to.
	Person string `json:"person" yaml:"person"`
	// RowKey is the column that names a row on its detail page (unique
	// within the person's rows).
	RowKey  string   `json:"row_key" yaml:"row_key"`
	Fields  []Field  `json:"fields" yaml:"fields"`
	Filters []Filter `json:"filters,omitempty" yaml:"filters,omitempty"`
	Sort    []Sort   `json:"sort,omitempty" yaml:"sort,omitempty"`
	View    View     `json:"view,omitempty" yaml:"view,omitempty"`
	Week    *Week    `json:"week,omitempty" yaml:"week,omitempty"`
	// Tile is the workbench tile's figure: a badge (Count) or a key figure.
	Tile *Figure `json:"tile,omitempty" yaml:"tile,omitempty"`
	// Summary are figures shown above the list (GPA, credits, balance).
	Summary []Figure `json:"summary,omitempty" yaml:"summary,omitempty"`
	// Counselors may see their students' rows (scores, exams), choosing a
	// student on the list page.
	Counselors bool `json:"counselors,omitempty" yaml:"counselors,omitempty"`
	// Timeout bounds one query of this module (default 2 s).
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// PageSize is the list's page (default 50).
	PageSize int `json:"page_size,omitempty" yaml:"page_size,omitempty"`
}

// ErrUnavailable: the module's source did not answer in time, or is down:
// its tile and page say 暂时无法使用, the rest of the workbench renders.
var ErrUnavailable = errors.New("datamod: the shared database is temporarily unavailable")

// ErrNotFound: no such module, row, or one the viewer may not see (not
// told apart, so ids cannot be probed).
var ErrNotFound = errors.New("datamod: not found")

// Viewer is who looks: a member's userid; Counselor when they counsel
// students (their students' rows are theirs to see where the definition
// allows).
type Viewer struct {
	UserID string
}

// Query asks for a page of rows.
type Query struct {
	// Subject is whose rows: "" the viewer's own; a student's userid for
	// a counselor (refused as ErrNotFound unless the viewer counsels them
	// and the definition allows it).
	Subject string
	Filters map[string]string // column → value ("from..to" for a date range)
	Page    int               // from 0
}

// Cell is one shown value, formatted and masked as the viewer may see it.
type Cell struct {
	Column, Label, Value string
	Masked               bool
}

// Row is one row as shown.
type Row struct {
	Key   string // the RowKey's value
	Cells []Cell
}

// Result is a page of rows.
type Result struct {
	Rows    []Row
	Summary []Cell // the definition's Summary figures
	// Choices are each choice filter's values.
	Choices map[string][]string
	More    bool
	// Week is the timetable when the view is WeekView.
	Week *Timetable
}

// Timetable is a week view: the rows by weekday and period.
type Timetable struct {
	Week    int // the teaching week shown (1..)
	Days    [7][]Slot
	Periods int // periods a day (12)
}

// Slot is one course in the timetable.
type Slot struct {
	Key             string
	Start, End      int
	Title, Subtitle string
}

// Source is what the pages need from the service (the lead wires
// *Service).
type Source interface {
	Definitions(ctx context.Context) ([]Definition, error)
	Definition(ctx context.Context, key string) (Definition, error)
	List(ctx context.Context, key string, v Viewer, q Query) (Result, error)
	Detail(ctx context.Context, key string, v Viewer, subject, rowKey string) (Row, error)
	// Figure is a module's tile figure for v: ErrUnavailable when the
	// source does not answer in the tile's (short) time.
	Figure(ctx context.Context, key string, v Viewer) (Cell, error)
	// Students are the students v counsels (for the picker), by userid
	// and name.
	Students(ctx context.Context, v Viewer) ([][2]string, error)
}
