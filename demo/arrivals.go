package demo

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wecomapp/wecomapp/store"
)

// Arrivals are students whose records reach the data center after the
// demo's first sync: enrolled today (a late registration, a transfer), so
// not yet in WeCom until the next nightly run — or until they register
// themselves at /register, which makes them members at once.
// Two of them, in the first class of the newest grade, numbered after its
// last student.
func (u *University) Arrivals() []store.DCStudent {
	dc := u.DataCenter()
	var class []store.DCStudent
	newest := 0
	for _, s := range dc.Students {
		if s.Level == "undergraduate" && s.Grade > newest {
			newest = s.Grade
		}
	}
	code := ""
	for _, s := range dc.Students {
		if s.Level == "undergraduate" && s.Grade == newest && (code == "" || s.ClassCode < code) {
			code = s.ClassCode
		}
	}
	for _, s := range dc.Students {
		if s.ClassCode == code {
			class = append(class, s)
		}
	}
	if len(class) == 0 {
		return nil
	}
	slices.SortFunc(class, func(a, b store.DCStudent) int { return strings.Compare(a.StudentNo, b.StudentNo) })
	last := class[len(class)-1]
	names := []string{"林思远", "周雨桐"}
	out := make([]store.DCStudent, len(names))
	for i, n := range names {
		s := last
		s.StudentNo = fmt.Sprintf("%s%02d", last.StudentNo[:len(last.StudentNo)-2], 91+i)
		s.Name, s.Gender = n, 1+i
		s.Mobile = fmt.Sprintf("1390000%04d", 9901+i)
		s.Email = ""
		s.Status = "enrolled"
		out[i] = s
	}
	return out
}
