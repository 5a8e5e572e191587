package h5

// Views of the data modules: a person's own rows from the shared database
// (schedule, exams, scores, loans, the campus card …) as a list or a
// timetable with its summary figures (app_data), one row in full
// (app_data_row), and the console's definitions, their editor and the
// "preview as" page (admin_data, admin_data_edit, admin_data_preview).
// Values arrive formatted and masked by datamod; the templates only show
// them.

// DataCell is one shown value; Masked: the viewer may not see it (仅本人可见).
type DataCell struct {
	Column, Label, Value string
	Masked               bool
}

// DataRow is one row of the list: its list fields, and its detail page.
type DataRow struct {
	Key, Href string
	Cells     []DataCell
}

// DataChoice is one value of a choice filter.
type DataChoice struct {
	Value    string
	Selected bool
}

// DataFilter is one filter of the list form. Name is the query parameter
// (f_{column}; a date range has Name_from and Name_to).
type DataFilter struct {
	Name, Label, Kind string // kind: choice | text | date_range
	Value, From, To   string
	Choices           []DataChoice
}

// DataStudent is one student of a counselor's picker.
type DataStudent struct {
	UserID, Name string
	Selected     bool
}

// DataSlot is one course of the timetable: Col 1..7 (周一..周日), rows
// Row..Row+Span-1 (the periods).
type DataSlot struct {
	Title, Subtitle, Href string
	Col, Row, Span        int
}

// DataHead is a timetable heading and its place in the grid.
type DataHead struct {
	Label    string
	Col, Row int
}

// DataWeek is a timetable: the current teaching week (0 when the source
// does not know it), its days and periods, and the courses placed in the
// grid. The source shows the current week only: no links to others.
type DataWeek struct {
	Week    int
	Days    []DataHead // 周一..周日, in columns 2..8 of row 1
	Periods []DataHead // 1..12, in rows 2..13 of column 1
	Slots   []DataSlot
	Empty   bool
}

// AppData is a data module's list page (page app_data).
type AppData struct {
	Page
	Tile Tile
	// Unavailable: the shared database did not answer: the page says
	// 暂时无法使用（数据源暂时无法访问，请稍后再试）.
	Unavailable bool
	Summary     []DataCell
	// Action is the filter form's target (the module's list).
	Action   string
	Filters  []DataFilter
	Rows     []DataRow
	Week     *DataWeek
	PageNo   int    // from 1
	PrevPage string // links to the pages around, "" at either end
	NextPage string
	// Students is a counselor's picker (the definition lets counselors see
	// their students' rows); Student is whose rows are shown ("" own).
	Students    []DataStudent
	Student     string
	StudentName string
	// Preview names the person an admin previews the page as (the console's
	// preview: no links into rows).
	Preview string
}

// AppDataRow is one row in full (page app_data_row).
type AppDataRow struct {
	Page
	Tile        Tile
	Unavailable bool
	Cells       []DataCell
	Back        string
	StudentName string
}

// AdminDataDef is one data module definition in the console's list.
type AdminDataDef struct {
	Key, Title, Source, View string
	Fields                   int
	Counselors, Sensitive    bool
	Tile                     string // the tile's figure, described
}

// AdminData lists the definitions (page admin_data).
type AdminData struct {
	AdminPage
	Defs []AdminDataDef
	// CanEdit: the admin may edit and preview (super admins: the pages read
	// personal data of anyone).
	CanEdit     bool
	Unavailable bool
}

// AdminDataEdit edits one definition as JSON or YAML (page admin_data_edit).
type AdminDataEdit struct {
	AdminPage
	Key      string
	Format   string // yaml | json
	Text     string
	Problems []string
	New      bool
}

// AdminDataPreview renders a module's list as a given person sees it
// (page admin_data_preview).
type AdminDataPreview struct {
	AdminPage
	Key, UserID string
	Keys        []string
	NotFound    bool
	Result      *AppData
}
