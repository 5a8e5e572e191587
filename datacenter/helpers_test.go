package datacenter

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store"
)

// demoRows is the small demo university as its data center distributes it.
func demoRows() store.DataCenter { return demo.Generate(demo.Small()).DataCenter() }

// csvFiles turns a distribution into the three CSV files a data center
// would export, named departments.csv, faculty.csv and students.csv.
func csvFiles(t testing.TB, dc store.DataCenter) []File {
	t.Helper()
	var files []File
	for _, tb := range AllTables() {
		var b bytes.Buffer
		if err := WriteCSV(&b, tb, dc); err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: string(tb) + ".csv", Data: b.Bytes()})
	}
	return files
}

// sorted is dc with each table in key order and updated_at set to ms, as
// ReadDataCenter answers after a load at ms.
func sorted(dc store.DataCenter, ms int64) store.DataCenter {
	var out store.DataCenter
	for _, d := range dc.Departments {
		d.UpdatedAt = ms
		out.Departments = append(out.Departments, d)
	}
	for _, f := range dc.Faculty {
		f.UpdatedAt = ms
		out.Faculty = append(out.Faculty, f)
	}
	for _, s := range dc.Students {
		s.UpdatedAt = ms
		out.Students = append(out.Students, s)
	}
	slices.SortFunc(out.Departments, func(a, b store.DCDepartment) int { return strings.Compare(a.Code, b.Code) })
	slices.SortFunc(out.Faculty, func(a, b store.DCFaculty) int { return strings.Compare(a.StaffNo, b.StaffNo) })
	slices.SortFunc(out.Students, func(a, b store.DCStudent) int { return strings.Compare(a.StudentNo, b.StudentNo) })
	return out
}

// lines is the problems as the command line prints them.
func lines(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func pct(a, b int) string { return strconv.FormatFloat(100*float64(a)/float64(b), 'f', 1, 64) }
