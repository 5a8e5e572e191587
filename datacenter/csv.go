package datacenter

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/wecomapp/wecomapp/store"
)

// Table names one intermediate table by its short name (the --table flag's
// values).
type Table string

// The intermediate tables.
const (
	Departments Table = "departments"
	Faculty     Table = "faculty"
	Students    Table = "students"
)

// AllTables lists the tables in the order they load: departments first,
// since the others refer to them.
func AllTables() []Table { return []Table{Departments, Faculty, Students} }

// SQLName is the table's name in the database.
func (t Table) SQLName() string { return "dc_" + string(t) }

// ParseTable reads a table's short name (departments, faculty, students)
// or its SQL name (dc_departments, …).
func ParseTable(s string) (Table, error) {
	t := Table(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "dc_"))
	if _, ok := schemas[t]; !ok {
		return "", fmt.Errorf("%q is not a table (want departments, faculty or students)", s)
	}
	return t, nil
}

// column is one column of a table's CSV files.
type column struct {
	name     string
	required bool // in every header, and never empty
	max      int  // characters the column holds; 0 for numbers
}

// schemas are the CSV columns of each table: every column of the SQL table
// but updated_at, which the loader sets. The order is WriteCSV's.
var schemas = map[Table][]column{
	Departments: {
		{"code", true, 32}, {"name", true, 64}, {"parent_code", false, 32}, {"kind", true, 16},
		{"sort_order", false, 0}, {"enabled", false, 0},
	},
	Faculty: {
		{"staff_no", true, 32}, {"name", true, 64}, {"dept_code", true, 32}, {"gender", false, 0},
		{"mobile", false, 32}, {"email", false, 128}, {"position", false, 64}, {"category", true, 32},
		{"is_leader", false, 0}, {"status", false, 16},
	},
	Students: {
		{"student_no", true, 32}, {"name", true, 64}, {"college_code", true, 32}, {"class_code", false, 32},
		{"major", false, 64}, {"grade", true, 0}, {"level", true, 16}, {"gender", false, 0},
		{"mobile", false, 32}, {"email", false, 128}, {"counselor_no", false, 32}, {"status", false, 16},
	},
}

// The closed value sets, as documented in docs/datacenter.md.
var (
	StudentLevels   = []string{"undergraduate", "master", "doctoral"}
	FacultyStatuses = []string{"active", "left", "retired"}
	StudentStatuses = []string{"enrolled", "graduated", "suspended", "withdrawn"}
)

// Grade bounds: a year of entry outside them is a typo (2204, 24).
const (
	MinGrade = 1950
	MaxGrade = 2100
)

// Problem is one thing wrong with a load.
type Problem struct {
	File   string // the file; "" for a problem of rows already in a table
	Line   int    // 1-based line of the file; 0 for the file as a whole
	Column string // the column's name; "" for the whole row or file
	Msg    string

	file, col int // input order, for sorting
}

// String is the problem as the command line prints it:
// "faculty.csv:12: mobile: "1380013" is not a valid phone number".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Column != "" {
		b.WriteString(p.Column + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem a load found. Nothing of a load with problems
// is written.
type Problems []Problem

// Error says how many problems there are and that nothing was loaded; the
// problems themselves are Lines.
func (ps Problems) Error() string {
	if len(ps) == 1 {
		return "1 problem in the files, nothing was loaded"
	}
	return fmt.Sprintf("%d problems in the files, nothing was loaded", len(ps))
}

// MaxListed is how many problems Lines lists before "… and N more".
const MaxListed = 100

// Lines is the problems one a line, at most max of them (MaxListed when
// max <= 0) followed by "… and N more problems".
func (ps Problems) Lines(max int) []string {
	if max <= 0 {
		max = MaxListed
	}
	var out []string
	for i, p := range ps {
		if i == max {
			out = append(out, fmt.Sprintf("… and %d more problems", len(ps)-max))
			break
		}
		out = append(out, p.String())
	}
	return out
}

func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := a.file - b.file; c != 0 {
			return c
		}
		if c := a.Line - b.Line; c != 0 {
			return c
		}
		return a.col - b.col
	})
}

// File is one CSV export to read.
type File struct {
	Name string // as problems name it: the path given on the command line
	Data []byte
}

// FileInfo is what a file held.
type FileInfo struct {
	Name  string
	Table Table // "" when its header could not tell
	Rows  int
}

// Set is the rows of a load's files, with the line each row came from.
type Set struct {
	Rows  store.DataCenter
	Files []FileInfo

	tables               map[Table]bool
	deptAt, facAt, stuAt []origin // aligned with Rows
	colIndex             []map[string]int
	seen                 map[Table]map[string]origin // lower-cased key → first row
	problems             Problems
}

// origin is where a row was read.
type origin struct {
	file int
	line int
	key  string
}

// Has reports whether a file of the load is of table t.
func (s *Set) Has(t Table) bool { return s.tables[t] }

// Parse reads files, each of table (or, when table is "", of the table its
// header names), and checks every field and that keys are unique within
// the load. References between rows are Check's.
func Parse(files []File, table Table) (*Set, Problems) {
	s := &Set{tables: map[Table]bool{}, seen: map[Table]map[string]origin{}}
	for i, f := range files {
		s.parseFile(i, f, table)
	}
	s.problems.sort()
	return s, s.problems
}

func (s *Set) add(file, line int, col string, colIdx int, format string, args ...any) {
	s.problems = append(s.problems, Problem{
		File: s.Files[file].Name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...), file: file, col: colIdx,
	})
}

var (
	bom8    = []byte{0xEF, 0xBB, 0xBF}
	bom16LE = []byte{0xFF, 0xFE}
	bom16BE = []byte{0xFE, 0xFF}
)

func (s *Set) parseFile(fi int, f File, forced Table) {
	s.Files = append(s.Files, FileInfo{Name: f.Name})
	s.colIndex = append(s.colIndex, nil)
	data := f.Data
	if bytes.HasPrefix(data, bom16LE) || bytes.HasPrefix(data, bom16BE) {
		s.add(fi, 0, "", 0, "is UTF-16 (Excel's \"Unicode text\"); save it as \"CSV UTF-8\" instead")
		return
	}
	data = bytes.TrimPrefix(data, bom8)
	if !utf8.Valid(data) {
		at := 0
		for at < len(data) {
			r, n := utf8.DecodeRune(data[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		line := 1 + bytes.Count(data[:at], []byte("\n"))
		s.add(fi, line, "", 0, "not UTF-8 (byte 0x%02X): a GBK or GB18030 export is not accepted; convert it first, e.g. iconv -f GB18030 -t UTF-8 %s > utf8.csv", data[at], f.Name)
		return
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		s.add(fi, 0, "", 0, "is empty: it needs a header row naming its columns")
		return
	}
	if err != nil {
		s.csvError(fi, data, err)
		return
	}
	table, idx, ok := s.header(fi, header, forced)
	if table != "" {
		s.Files[fi].Table = table
		s.tables[table] = true
	}
	if !ok {
		return
	}
	s.colIndex[fi] = idx
	if s.seen[table] == nil {
		s.seen[table] = map[string]origin{}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			s.csvError(fi, data, err)
			continue
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			s.add(fi, line, "", 0, "%d fields, but the header has %d", len(rec), len(header))
			continue
		}
		rw := &row{s: s, fi: fi, r: r, rec: rec, idx: idx, line: line}
		switch table {
		case Departments:
			d := rw.department()
			if rw.unique(table, d.Code, line) {
				s.Rows.Departments = append(s.Rows.Departments, d)
				s.deptAt = append(s.deptAt, origin{fi, line, d.Code})
			}
		case Faculty:
			p := rw.faculty()
			if rw.unique(table, p.StaffNo, line) {
				s.Rows.Faculty = append(s.Rows.Faculty, p)
				s.facAt = append(s.facAt, origin{fi, line, p.StaffNo})
			}
		case Students:
			p := rw.student()
			if rw.unique(table, p.StudentNo, line) {
				s.Rows.Students = append(s.Rows.Students, p)
				s.stuAt = append(s.stuAt, origin{fi, line, p.StudentNo})
			}
		}
		s.Files[fi].Rows++
	}
}

func (s *Set) csvError(fi int, data []byte, err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		// encoding/csv counts bytes; people count characters.
		col := pe.Column
		if lines := bytes.Split(data, []byte("\n")); pe.Line-1 < len(lines) && col-1 <= len(lines[pe.Line-1]) && col > 0 {
			col = utf8.RuneCount(lines[pe.Line-1][:col-1]) + 1
		}
		s.add(fi, pe.Line, "", 0, "%v (character %d): quote a field that holds a comma, a quote or a line break, and double its quotes (RFC 4180)", pe.Err, col)
		return
	}
	s.add(fi, 0, "", 0, "%v", err)
}

// header checks a file's header row and tells its table: the forced one,
// or the one whose key column it names.
func (s *Set) header(fi int, header []string, forced Table) (Table, map[string]int, bool) {
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.ToLower(strings.TrimSpace(h))
	}
	table := forced
	if table == "" {
		switch {
		case slices.Contains(names, "student_no"):
			table = Students
		case slices.Contains(names, "staff_no"):
			table = Faculty
		case slices.Contains(names, "code"):
			table = Departments
		default:
			s.add(fi, 1, "", 0, "the header names none of code, staff_no, student_no, so its table is unknown: name it with --table")
			return "", nil, false
		}
	}
	cols := schemas[table]
	known := map[string]bool{}
	var list []string
	for _, c := range cols {
		known[c.name] = true
		list = append(list, c.name)
	}
	ok := true
	idx := map[string]int{}
	for i, n := range names {
		switch {
		case n == "":
			s.add(fi, 1, "", i, "column %d has no name", i+1)
			ok = false
		case n == "updated_at":
			s.add(fi, 1, "", i, "column \"updated_at\" is set by the loader: remove it")
			ok = false
		case !known[n]:
			s.add(fi, 1, "", i, "column %q is not a column of %s (its columns: %s)", header[i], table.SQLName(), strings.Join(list, ", "))
			ok = false
		case hasKey(idx, n):
			s.add(fi, 1, "", i, "column %q appears twice", n)
			ok = false
		default:
			idx[n] = i
		}
	}
	for _, c := range cols {
		if _, in := idx[c.name]; c.required && !in {
			s.add(fi, 1, "", len(names), "required column %q is missing", c.name)
			ok = false
		}
	}
	return table, idx, ok
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// row reads the fields of one record.
type row struct {
	s    *Set
	fi   int
	r    *csv.Reader
	rec  []string
	idx  map[string]int
	line int
}

func (w *row) problem(col, format string, args ...any) {
	i := w.idx[col]
	line, _ := w.r.FieldPos(i)
	w.s.add(w.fi, line, col, i, format, args...)
}

// text is a column's value, trimmed (fixed-width exports pad with
// spaces), checked for emptiness, length and control characters.
func (w *row) text(table Table, col string) string {
	i, in := w.idx[col]
	var c column
	for _, sc := range schemas[table] {
		if sc.name == col {
			c = sc
		}
	}
	if !in {
		return ""
	}
	v := strings.TrimSpace(w.rec[i])
	switch {
	case v == "" && c.required:
		w.problem(col, "empty, but required")
	case c.max > 0 && utf8.RuneCountInString(v) > c.max:
		w.problem(col, "%d characters, more than the %d the column holds", utf8.RuneCountInString(v), c.max)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		w.problem(col, "%q holds a control character (a line break or a tab)", v)
	}
	return v
}

// idRE is a WeCom userid's alphabet (docs/wecom.md §5.3), which the
// standard codes keep to as well.
var idRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_@.-]*$`)

// code is a key or a reference: 部门代码, 工号 or 学号.
func (w *row) code(table Table, col string) string {
	v := w.text(table, col)
	if v != "" && !idRE.MatchString(v) {
		w.problem(col, "%q: only letters, digits and _ - @ . are allowed, starting with a letter or digit", v)
	}
	return v
}

var wordRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// word is an open set of values rules match on (kind, category).
func (w *row) word(table Table, col string) string {
	v := w.text(table, col)
	if v != "" && !wordRE.MatchString(v) {
		w.problem(col, "%q: lower-case letters, digits and _ only, starting with a letter", v)
	}
	return v
}

func (w *row) integer(table Table, col string, def, lo, hi int) int {
	v := w.text(table, col)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		w.problem(col, "%q is not a whole number", v)
		return def
	}
	if n < lo || n > hi {
		w.problem(col, "%d is outside %d..%d", n, lo, hi)
	}
	return n
}

func (w *row) oneOf(table Table, col, def string, allowed ...string) string {
	v := w.text(table, col)
	if v == "" {
		return def
	}
	if !slices.Contains(allowed, v) {
		w.problem(col, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return v
}

func (w *row) flag(table Table, col string, def bool) bool {
	d := "0"
	if def {
		d = "1"
	}
	return w.oneOf(table, col, d, "0", "1") == "1"
}

func (w *row) gender(table Table) int {
	n, _ := strconv.Atoi(w.oneOf(table, "gender", "0", "0", "1", "2"))
	return n
}

// mobile is a mobile number, mainland China's unless it says otherwise
// (+852…); kept as written.
func (w *row) mobile(table Table) string {
	v := w.text(table, "mobile")
	if v == "" {
		return v
	}
	n, err := phonenumbers.Parse(v, "CN")
	switch {
	case err != nil:
		w.problem("mobile", "%q is not a phone number", v)
	case !phonenumbers.IsValidNumber(n):
		w.problem("mobile", "%q is not a valid phone number", v)
	default:
		if t := phonenumbers.GetNumberType(n); t != phonenumbers.MOBILE && t != phonenumbers.FIXED_LINE_OR_MOBILE {
			w.problem("mobile", "%q is not a mobile number (a landline?)", v)
		}
	}
	return v
}

func (w *row) email(table Table) string {
	v := w.text(table, "email")
	if v != "" && !isEmail(v) {
		w.problem("email", "%q is not an email address", v)
	}
	return v
}

// isEmail accepts a bare address (no display name, no angle brackets)
// with a dotted domain.
func isEmail(v string) bool {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	domain := v[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func (w *row) department() store.DCDepartment {
	t := Departments
	return store.DCDepartment{
		Code:       w.code(t, "code"),
		Name:       w.text(t, "name"),
		ParentCode: w.code(t, "parent_code"),
		Kind:       w.word(t, "kind"),
		SortOrder:  w.integer(t, "sort_order", 0, 0, 1<<31-1),
		Enabled:    w.flag(t, "enabled", true),
	}
}

func (w *row) faculty() store.DCFaculty {
	t := Faculty
	return store.DCFaculty{
		StaffNo:  w.code(t, "staff_no"),
		Name:     w.text(t, "name"),
		DeptCode: w.code(t, "dept_code"),
		Gender:   w.gender(t),
		Mobile:   w.mobile(t),
		Email:    w.email(t),
		Position: w.text(t, "position"),
		Category: w.word(t, "category"),
		IsLeader: w.flag(t, "is_leader", false),
		Status:   w.oneOf(t, "status", "active", FacultyStatuses...),
	}
}

func (w *row) student() store.DCStudent {
	t := Students
	return store.DCStudent{
		StudentNo:   w.code(t, "student_no"),
		Name:        w.text(t, "name"),
		CollegeCode: w.code(t, "college_code"),
		ClassCode:   w.code(t, "class_code"),
		Major:       w.text(t, "major"),
		Grade:       w.integer(t, "grade", 0, MinGrade, MaxGrade),
		Level:       w.oneOf(t, "level", "", StudentLevels...),
		Gender:      w.gender(t),
		Mobile:      w.mobile(t),
		Email:       w.email(t),
		CounselorNo: w.code(t, "counselor_no"),
		Status:      w.oneOf(t, "status", "enrolled", StudentStatuses...),
	}
}

// unique records a row's key, reporting a key already seen in the load.
// Keys compare without letter case: MySQL's collation and WeCom's userids
// both do.
func (w *row) unique(t Table, key string, line int) bool {
	if key == "" {
		return true // reported as empty
	}
	col := schemas[t][0].name
	lk := strings.ToLower(key)
	first, dup := w.s.seen[t][lk]
	if !dup {
		w.s.seen[t][lk] = origin{w.fi, line, key}
		return true
	}
	where := fmt.Sprintf("line %d", first.line)
	if first.file != w.fi {
		where = fmt.Sprintf("%s:%d", w.s.Files[first.file].Name, first.line)
	}
	if first.key != key {
		where += fmt.Sprintf(" as %q; keys are compared without letter case", first.key)
	}
	w.problem(col, "%q appears again (first on %s)", key, where)
	return false
}

// WriteCSV writes table's rows of dc in this package's format: a header
// naming every column but updated_at, then one record a row. It is the
// inverse of Parse, for tests, examples and exports of our own.
func WriteCSV(w io.Writer, t Table, dc store.DataCenter) error {
	cols := schemas[t]
	cw := csv.NewWriter(w)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	itoa := strconv.Itoa
	switch t {
	case Departments:
		for _, d := range dc.Departments {
			if err := cw.Write([]string{d.Code, d.Name, d.ParentCode, d.Kind, itoa(d.SortOrder), b(d.Enabled)}); err != nil {
				return err
			}
		}
	case Faculty:
		for _, f := range dc.Faculty {
			if err := cw.Write([]string{f.StaffNo, f.Name, f.DeptCode, itoa(f.Gender), f.Mobile, f.Email, f.Position, f.Category, b(f.IsLeader), f.Status}); err != nil {
				return err
			}
		}
	case Students:
		for _, s := range dc.Students {
			if err := cw.Write([]string{s.StudentNo, s.Name, s.CollegeCode, s.ClassCode, s.Major, itoa(s.Grade), s.Level, itoa(s.Gender), s.Mobile, s.Email, s.CounselorNo, s.Status}); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("datacenter: write csv: unknown table %q", t)
	}
	cw.Flush()
	return cw.Error()
}
