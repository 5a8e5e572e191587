package demo

import (
	"strconv"

	"github.com/wecomapp/wecomapp/store"
)

// DataCenter is the university as the data center distributes it: real
// departments (not the root, not the virtual ones for people outside the
// data center), faculty and students. Alumni, examinees and visitors are
// not in it: they register themselves.
func (u *University) DataCenter() store.DataCenter {
	var dc store.DataCenter
	byID := map[int]Department{}
	for _, d := range u.Departments {
		byID[d.ID] = d
	}
	for _, d := range u.Departments {
		if d.Kind == KindRoot || d.Kind == KindVirtual {
			continue
		}
		parent := ""
		if d.ParentID != RootID {
			parent = byID[d.ParentID].Code
		}
		dc.Departments = append(dc.Departments, store.DCDepartment{
			Code: d.Code, Name: d.Name, ParentCode: parent, Kind: d.Kind, SortOrder: d.Order, Enabled: true,
		})
	}
	for _, p := range u.People {
		switch p.Main() {
		case CatUndergrad, CatPostgrad:
			class := byID[p.MainDepartment]
			college := collegeOf(byID, class)
			classCode := ""
			if class.Kind == KindClass {
				classCode = class.Code
			}
			level := "undergraduate"
			if p.Main() == CatPostgrad {
				level = "master"
			}
			dc.Students = append(dc.Students, store.DCStudent{
				StudentNo: p.UserID, Name: p.Name, CollegeCode: college.Code, ClassCode: classCode, Major: p.Major,
				Grade: p.Grade, Level: level, Gender: p.Gender, Mobile: p.Mobile, Email: p.Email,
				CounselorNo: p.CounselorID, Status: "enrolled",
			})
		case CatAlumnus, CatExaminee, CatVisitor:
		default:
			dc.Faculty = append(dc.Faculty, store.DCFaculty{
				StaffNo: p.UserID, Name: p.Name, DeptCode: strconv.Itoa(p.MainDepartment), Gender: p.Gender,
				Mobile: p.Mobile, Email: p.Email, Position: p.Position, Category: p.Main(),
				IsLeader: len(p.LeaderIn) > 0, Status: "active",
			})
		}
	}
	return dc
}

func collegeOf(byID map[int]Department, d Department) Department {
	for d.Kind != KindCollege && d.ParentID != 0 {
		d = byID[d.ParentID]
	}
	return d
}
