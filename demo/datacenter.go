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
			dc.Students = append(dc.Students, studentRow(byID, p, p.MainDepartment))
		case CatAlumnus, CatExaminee, CatVisitor:
		default:
			status := "active"
			if p.Main() == CatRetired {
				status = "retired"
			}
			dc.Faculty = append(dc.Faculty, store.DCFaculty{
				StaffNo: p.UserID, Name: p.Name, DeptCode: strconv.Itoa(p.MainDepartment), Gender: p.Gender,
				Mobile: p.Mobile, Email: p.Email, Position: p.Position, Category: p.Main(),
				IsLeader: len(p.LeaderIn) > 0, Status: status,
			})
			// A staff member who studies here too has a student row under
			// their staff number, in the postgraduate unit they belong to.
			if contains(p.Categories, CatPostgrad) {
				for _, d := range p.Departments {
					if byID[d].Kind == KindPostgrad {
						dc.Students = append(dc.Students, studentRow(byID, p, d))
						break
					}
				}
			}
		}
	}
	return dc
}

// studentRow is p's student record in the unit dept: a class for
// undergraduates (its class_code), a college's 研究生 unit for
// postgraduates, who have no class.
func studentRow(byID map[int]Department, p Person, dept int) store.DCStudent {
	unit := byID[dept]
	college := collegeOf(byID, unit)
	classCode := ""
	if unit.Kind == KindClass {
		classCode = unit.Code
	}
	level := "undergraduate"
	if p.Main() != CatUndergrad {
		level = p.Level
		if level == "" {
			level = "master"
		}
	}
	return store.DCStudent{
		StudentNo: p.UserID, Name: p.Name, CollegeCode: college.Code, ClassCode: classCode, Major: p.Major,
		Grade: p.Grade, Level: level, Gender: p.Gender, Mobile: p.Mobile, Email: p.Email,
		CounselorNo: p.CounselorID, Status: "enrolled",
	}
}

func collegeOf(byID map[int]Department, d Department) Department {
	for d.Kind != KindCollege && d.ParentID != 0 {
		d = byID[d.ParentID]
	}
	return d
}
