package datacenter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wecomapp/wecomapp/store"
)

// universe is what references resolve against: the rows the tables will
// hold once the load is written. A nil map is a table that cannot be
// checked (a check of files alone that does not include it).
type universe struct {
	depts     map[string]string // code → parent_code
	deptWhere string
	people    map[string]bool // staff_no and student_no: counselors
	pplWhere  string
}

// Check reports the load's references that do not resolve: a department's
// parent, a faculty member's department, a student's college, class and
// counselor must each be a row of this load or, for a table the load does
// not replace, of current (what the tables hold); and no department may
// be its own ancestor. With replace, it also reports rows of tables the
// load leaves alone that refer to rows it deletes.
func (s *Set) Check(current store.DataCenter, replace bool) Problems {
	return s.check(current, replace, true)
}

// CheckAlone is Check without a database: the files are taken as a full
// export, so references into a table among the files must resolve within
// them, and references into a table that is not are not checked.
func (s *Set) CheckAlone() Problems {
	return s.check(store.DataCenter{}, true, false)
}

func (s *Set) check(cur store.DataCenter, replace, haveDB bool) Problems {
	u := s.universe(cur, replace, haveDB)
	var ps Problems
	add := func(o origin, col, format string, args ...any) {
		ps = append(ps, Problem{File: s.Files[o.file].Name, Line: o.line, Column: col, Msg: fmt.Sprintf(format, args...), file: o.file, col: s.colIndex[o.file][col]})
	}
	if u.depts != nil {
		for i, d := range s.Rows.Departments {
			o := s.deptAt[i]
			if d.ParentCode == "" {
				continue
			}
			if _, ok := u.depts[d.ParentCode]; !ok {
				add(o, "parent_code", "no department %q %s", d.ParentCode, u.deptWhere)
			} else if path := cycle(u.depts, d.Code); path != nil {
				add(o, "parent_code", "department %q is its own ancestor (%s)", d.Code, strings.Join(path, " → "))
			}
		}
		for i, f := range s.Rows.Faculty {
			if _, ok := u.depts[f.DeptCode]; f.DeptCode != "" && !ok {
				add(s.facAt[i], "dept_code", "no department %q %s", f.DeptCode, u.deptWhere)
			}
		}
		for i, st := range s.Rows.Students {
			if _, ok := u.depts[st.CollegeCode]; st.CollegeCode != "" && !ok {
				add(s.stuAt[i], "college_code", "no department %q %s", st.CollegeCode, u.deptWhere)
			}
			if _, ok := u.depts[st.ClassCode]; st.ClassCode != "" && !ok {
				add(s.stuAt[i], "class_code", "no department %q %s", st.ClassCode, u.deptWhere)
			}
		}
	}
	if u.people != nil {
		for i, st := range s.Rows.Students {
			if st.CounselorNo != "" && !u.people[st.CounselorNo] {
				add(s.stuAt[i], "counselor_no", "no faculty member or student %q %s", st.CounselorNo, u.pplWhere)
			}
		}
	}
	if replace && haveDB {
		ps = append(ps, s.dangling(cur, u)...)
	}
	ps.sort()
	return ps
}

func (s *Set) universe(cur store.DataCenter, replace, haveDB bool) universe {
	var u universe
	switch {
	case s.Has(Departments):
		u.depts = map[string]string{}
		u.deptWhere = "in the files"
		if !replace {
			for _, d := range cur.Departments {
				u.depts[d.Code] = d.ParentCode
			}
			u.deptWhere = "in the files or in dc_departments"
		}
		for _, d := range s.Rows.Departments {
			u.depts[d.Code] = d.ParentCode
		}
	case haveDB:
		u.depts = map[string]string{}
		for _, d := range cur.Departments {
			u.depts[d.Code] = d.ParentCode
		}
		u.deptWhere = "in dc_departments"
	}
	if !haveDB && !(s.Has(Faculty) && s.Has(Students)) {
		return u // a counselor may be in either table
	}
	u.people = map[string]bool{}
	var where []string
	if s.Has(Faculty) || s.Has(Students) {
		where = append(where, "the files")
	}
	for _, f := range s.Rows.Faculty {
		u.people[f.StaffNo] = true
	}
	for _, st := range s.Rows.Students {
		u.people[st.StudentNo] = true
	}
	if haveDB && (!s.Has(Faculty) || !replace) {
		for _, f := range cur.Faculty {
			u.people[f.StaffNo] = true
		}
		where = append(where, "dc_faculty")
	}
	if haveDB && (!s.Has(Students) || !replace) {
		for _, st := range cur.Students {
			u.people[st.StudentNo] = true
		}
		where = append(where, "dc_students")
	}
	u.pplWhere = "in " + joinOr(where)
	return u
}

// dangling reports rows of tables a --replace load leaves alone that refer
// to rows it deletes.
func (s *Set) dangling(cur store.DataCenter, u universe) Problems {
	var ps Problems
	n := len(s.Files)
	add := func(t Table, key, col, format string, args ...any) {
		ps = append(ps, Problem{File: t.SQLName(), Column: schemas[t][0].name + " " + key, Msg: col + ": " + fmt.Sprintf(format, args...), file: n})
	}
	const why = "is not in the files, and --replace deletes it: load this table too, or drop --replace"
	if s.Has(Departments) {
		if !s.Has(Faculty) {
			for _, f := range cur.Faculty {
				if _, ok := u.depts[f.DeptCode]; f.DeptCode != "" && !ok {
					add(Faculty, f.StaffNo, "dept_code", "department %q %s", f.DeptCode, why)
				}
			}
		}
		if !s.Has(Students) {
			for _, st := range cur.Students {
				if _, ok := u.depts[st.CollegeCode]; st.CollegeCode != "" && !ok {
					add(Students, st.StudentNo, "college_code", "department %q %s", st.CollegeCode, why)
				}
				if _, ok := u.depts[st.ClassCode]; st.ClassCode != "" && !ok {
					add(Students, st.StudentNo, "class_code", "department %q %s", st.ClassCode, why)
				}
			}
		}
	}
	if s.Has(Faculty) && !s.Has(Students) {
		for _, st := range cur.Students {
			if st.CounselorNo != "" && !u.people[st.CounselorNo] {
				add(Students, st.StudentNo, "counselor_no", "faculty member %q %s", st.CounselorNo, why)
			}
		}
	}
	return ps
}

// cycle returns the path from code back to itself through parents, or
// nil when code's ancestors end at a level-1 unit (or a missing one,
// reported on its own).
func cycle(depts map[string]string, code string) []string {
	path := []string{code}
	seen := map[string]bool{code: true}
	for at := depts[code]; at != ""; at = depts[at] {
		path = append(path, at)
		if at == code {
			return path
		}
		if seen[at] {
			return nil // a loop above code, reported on its own members
		}
		seen[at] = true
		if _, ok := depts[at]; !ok {
			return nil
		}
	}
	return nil
}

func joinOr(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// GuardPercent is the share of a table, in percent, that a --replace load
// may delete without --yes: more is more likely a broken export (half the
// students missing) than a night's leavers.
const GuardPercent = 5

// GuardError stops a --replace load that would delete more than
// GuardPercent of a table.
type GuardError struct {
	Tables []TableSummary // the tables over the limit
}

// Error says which tables and how many rows.
func (g *GuardError) Error() string {
	return "nothing was loaded: " + strings.Join(g.Lines(), "; ")
}

// Lines is one line a table over the limit.
func (g *GuardError) Lines() []string {
	var out []string
	for _, t := range g.Tables {
		out = append(out, fmt.Sprintf("%s: --replace would delete %d of its %d rows (%.1f%%, more than %d%%); check the export is complete, then give --yes",
			t.Table.SQLName(), t.Deleted, t.Before, 100*float64(t.Deleted)/float64(t.Before), GuardPercent))
	}
	return out
}

// Options says how a load runs.
type Options struct {
	Table   Table // the table of every file; "" tells each file's by its header
	Replace bool  // the loaded tables hold exactly the files' rows afterwards
	Yes     bool  // let --replace delete more than GuardPercent of a table
	DryRun  bool  // check everything against the database, write nothing
}

// TableSummary is what a load did, or would do, to one table.
type TableSummary struct {
	Table Table
	store.DataCenterTableChanges
}

// Summary is what a load did (or, dry, would do).
type Summary struct {
	Files  []FileInfo
	Tables []TableSummary // the tables the files are of, in load order
	DryRun bool
}

// Load parses and checks files and writes them into the intermediate
// tables in one transaction, or writes nothing: on any problem it returns
// Problems, when the guard stops a --replace a *GuardError.
func Load(ctx context.Context, db *store.DB, files []File, opts Options, now time.Time) (Summary, error) {
	set, probs := Parse(files, opts.Table)
	sum := Summary{Files: set.Files, DryRun: opts.DryRun}
	load := store.DataCenterLoad{
		Rows:        set.Rows,
		Departments: set.Has(Departments), Faculty: set.Has(Faculty), Students: set.Has(Students),
		Replace: opts.Replace, DryRun: opts.DryRun,
	}
	load.Check = func(cur store.DataCenter, ch store.DataCenterChanges) error {
		probs = append(probs, set.Check(cur, opts.Replace)...)
		if len(probs) > 0 {
			probs.sort()
			return probs
		}
		sum.Tables = set.summaries(ch)
		var over []TableSummary
		for _, t := range sum.Tables {
			if opts.Replace && t.Deleted*100 > t.Before*GuardPercent {
				over = append(over, t)
			}
		}
		if len(over) > 0 && !opts.Yes {
			return &GuardError{Tables: over}
		}
		return nil
	}
	if _, err := db.ApplyDataCenter(ctx, load, now); err != nil {
		return sum, err
	}
	return sum, nil
}

func (s *Set) summaries(ch store.DataCenterChanges) []TableSummary {
	var out []TableSummary
	for _, t := range AllTables() {
		if !s.Has(t) {
			continue
		}
		c := map[Table]store.DataCenterTableChanges{Departments: ch.Departments, Faculty: ch.Faculty, Students: ch.Students}[t]
		out = append(out, TableSummary{Table: t, DataCenterTableChanges: c})
	}
	return out
}
