package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/wecomapp/wecomapp/store"
)

// ChurnSummary counts what Churn changed.
type ChurnSummary struct {
	Joined, Left, Transferred, Renamed int
}

func (c ChurnSummary) String() string {
	return fmt.Sprintf("%d joined, %d left, %d transferred, %d departments renamed", c.Joined, c.Left, c.Transferred, c.Renamed)
}

// Churn is one night's change to a data center, for benchmarks and
// rehearsals: of share of the people (0.01 is 1 %), a third are new
// students in existing classes, a third leave (students graduate, staff
// leave), a third move (students to another class of their college,
// staff to another unit); and share of the departments are renamed. The
// same seed gives the same changes. dc is not modified.
func Churn(dc store.DataCenter, share float64, seed uint64) (store.DataCenter, ChurnSummary) {
	rnd := rand.New(rand.NewPCG(seed, 0x636875726e))
	out := store.DataCenter{
		Departments: slices.Clone(dc.Departments),
		Faculty:     slices.Clone(dc.Faculty),
		Students:    slices.Clone(dc.Students),
	}
	var sum ChurnSummary
	people := len(dc.Faculty) + len(dc.Students)
	each := max(int(float64(people)*share/3), 1)

	classesOf := map[string][]string{} // college → class codes
	for _, s := range dc.Students {
		if s.ClassCode != "" && !slices.Contains(classesOf[s.CollegeCode], s.ClassCode) {
			classesOf[s.CollegeCode] = append(classesOf[s.CollegeCode], s.ClassCode)
		}
	}
	used := map[string]bool{}
	for _, s := range dc.Students {
		used[s.StudentNo] = true
	}
	active := func(status string) bool { return status == "enrolled" || status == "active" }

	// Joins: new students in a class of an existing student, numbered
	// after the last of that class.
	for n := 0; n < each && len(dc.Students) > 0; {
		peer := dc.Students[rnd.IntN(len(dc.Students))]
		if peer.ClassCode == "" {
			continue
		}
		no := ""
		for i := 1; ; i++ {
			no = fmt.Sprintf("%s%02d", peer.StudentNo, 90+i)
			if !used[no] {
				break
			}
		}
		used[no] = true
		s := peer
		s.StudentNo = no
		s.Name = string(surnames[rnd.IntN(len(surnames))]) + string(given[rnd.IntN(len(given))]) + string(given[rnd.IntN(len(given))])
		s.Mobile = fmt.Sprintf("19%09d", rnd.IntN(1_000_000_000))
		s.Email = ""
		s.Status = "enrolled"
		out.Students = append(out.Students, s)
		n++
		sum.Joined++
	}
	// Leavers and transfers among the records that are there now.
	touched := map[string]bool{}
	pick := func() (student bool, i int, ok bool) {
		for tries := 0; tries < 100; tries++ {
			if rnd.IntN(people) < len(dc.Faculty) {
				i = rnd.IntN(len(dc.Faculty))
				f := out.Faculty[i]
				if !touched[f.StaffNo] && active(f.Status) && !f.IsLeader {
					touched[f.StaffNo] = true
					return false, i, true
				}
				continue
			}
			i = rnd.IntN(len(dc.Students))
			s := out.Students[i]
			if !touched[s.StudentNo] && active(s.Status) {
				touched[s.StudentNo] = true
				return true, i, true
			}
		}
		return false, 0, false
	}
	for n := 0; n < each; n++ {
		student, i, ok := pick()
		if !ok {
			break
		}
		if student {
			out.Students[i].Status = "graduated"
		} else {
			out.Faculty[i].Status = "left"
		}
		sum.Left++
	}
	units := map[string]bool{}
	for _, f := range dc.Faculty {
		units[f.DeptCode] = true
	}
	unitList := make([]string, 0, len(units))
	for u := range units {
		unitList = append(unitList, u)
	}
	slices.Sort(unitList)
	for n := 0; n < each; n++ {
		student, i, ok := pick()
		if !ok {
			break
		}
		if student {
			s := &out.Students[i]
			cs := classesOf[s.CollegeCode]
			if len(cs) < 2 || s.ClassCode == "" {
				continue
			}
			to := cs[rnd.IntN(len(cs))]
			for to == s.ClassCode {
				to = cs[rnd.IntN(len(cs))]
			}
			s.ClassCode = to
		} else {
			f := &out.Faculty[i]
			to := unitList[rnd.IntN(len(unitList))]
			if to == f.DeptCode {
				continue
			}
			f.DeptCode = to
		}
		sum.Transferred++
	}
	// Renamed departments: offices and teaching units get new names as
	// universities rename them (a 系 becomes a 学系, a 处 a 部).
	renames := max(int(float64(len(dc.Departments))*share), 1)
	for n, tries := 0, 0; n < renames && tries < 100*renames; tries++ {
		i := rnd.IntN(len(out.Departments))
		d := &out.Departments[i]
		if d.ParentCode == "" || strings.HasSuffix(d.Name, "（新）") {
			continue
		}
		switch {
		case strings.HasSuffix(d.Name, "学系"):
			continue
		case strings.HasSuffix(d.Name, "系"):
			d.Name = strings.TrimSuffix(d.Name, "系") + "学系"
		case strings.HasSuffix(d.Name, "处"):
			d.Name = strings.TrimSuffix(d.Name, "处") + "部"
		default:
			d.Name += "（新）"
		}
		n++
		sum.Renamed++
	}
	return out, sum
}
