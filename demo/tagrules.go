package demo

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/store"
)

// Tag rules of the demo university, as its 教育信息中心 would keep them in
// tag_rules: most of a university's tags are a class's, a grade's or a
// college's, written in the forms contacts indexes by department (`dept ==
// "X"`, `"X" in depts`, `college == "X"`), and a few dozen university-wide
// roles over category, level and grade that every record is tried against.
//
// Where a rule makes a tag the demo already has (u.Tags), it has the
// demo's name and the demo's members, so that the workbench roles resolved
// from person_tags and the simulated corp agree with what a sync would
// make. The demo's tags no rule can make are KeptTags.

// TagRules are the demo university's tag rules, in a stable order: at full
// scale about 2,400 (1,728 of them classes), at the small scale about 120.
// A tag that would hold more than contacts.MaxTagMembers members (本科生 at
// full scale, 31,104 students) has no rule: the per-grade 本科生 tags
// stand in for it.
func (u *University) TagRules() []contacts.TagRule {
	dc := u.DataCenter()
	g := tagRuleGen{seen: map[string]bool{}}
	byCode := map[string]store.DCDepartment{}
	for _, d := range dc.Departments {
		byCode[d.Code] = d
	}

	// What the data center's rows hold, for the families that depend on
	// it: the cohorts of each level and college, who is in which unit.
	undergrads := 0
	uniCohorts := map[cohort]bool{}
	collegeCohorts := map[string]map[cohort]bool{} // college code → postgraduate cohorts
	collegeLevels := map[string]map[string]bool{}
	for _, s := range dc.Students {
		if s.Level == "undergraduate" {
			undergrads++
		}
		uniCohorts[cohort{s.Level, s.Grade}] = true
		if s.Level != "undergraduate" {
			if collegeCohorts[s.CollegeCode] == nil {
				collegeCohorts[s.CollegeCode], collegeLevels[s.CollegeCode] = map[cohort]bool{}, map[string]bool{}
			}
			collegeCohorts[s.CollegeCode][cohort{"", s.Grade}] = true
			collegeLevels[s.CollegeCode][s.Level] = true
		}
	}
	// unitHas[code][category]: a faculty member of that category has the
	// unit (or one of its 系) as their own department; unitHas[code]["teaching-leader"]: a 系 head.
	unitHas := map[string]map[string]bool{}
	mark := func(code, what string) {
		if unitHas[code] == nil {
			unitHas[code] = map[string]bool{}
		}
		unitHas[code][what] = true
	}
	for _, f := range dc.Faculty {
		d := byCode[f.DeptCode]
		mark(d.Code, f.Category)
		if d.Kind == KindTeaching {
			mark(d.ParentCode, f.Category)
			mark(d.ParentCode, "teaching")
			if f.IsLeader {
				mark(d.ParentCode, "teaching-leader")
			}
		}
		if f.Category == CatRetired {
			mark("", CatRetired)
		}
	}

	// level, grade and college are set on student records only: rules over
	// them need no kind check.
	//
	// University-wide roles; those the demo has are its tags of the same
	// members (校友, 考生 and 访客 are people outside the data center).
	g.add("校领导", `kind == "faculty" && category == "leader"`)
	g.add("中层干部", `kind == "faculty" && category == "cadre"`)
	// 教职工 are the staffed (在编) faculty: leaders, cadres, staff and
	// counselors; it is the 在编教职工 tag under the name the workbench's
	// 在职博士 role reads.
	g.add("教职工", `kind == "faculty" && category in ["leader", "cadre", "staff", "counselor"]`)
	g.add("非编人员", `kind == "faculty" && category == "non_staffed"`)
	g.add("辅导员", `kind == "faculty" && category == "counselor"`)
	if unitHas[""][CatRetired] {
		g.add(TagRetired, `kind == "faculty" && category == "retired"`)
	}
	if undergrads > 0 && undergrads <= contacts.MaxTagMembers {
		g.add("本科生", `level == "undergraduate"`)
	}
	if len(collegeCohorts) > 0 {
		g.add("研究生", `level in ["master", "doctoral"]`)
	}
	// 部门管理员 in the demo is the head of 教育信息中心 (see build): the
	// rule names that office's code.
	if admins := u.tagUsers(TagDeptAdmin); len(admins) > 0 {
		if p := u.person(admins[0]); p != nil {
			g.add(TagDeptAdmin, fmt.Sprintf(`dept == "%d" && kind == "faculty" && category == "cadre"`, p.MainDepartment))
		}
	}
	// The data center has no supervisor (导师) field: the demo makes the
	// head of every 系 a supervisor of postgraduates, and the rule follows
	// that. A real university would take it from the graduate school's
	// list of supervisors, which the intermediate tables do not carry.
	if len(collegeCohorts) > 0 {
		g.add(TagSupervisor, `kind == "faculty" && dept_kind == "teaching" && leader`)
	}
	g.add("全体在职教职工", `kind == "faculty" && status == "active"`)
	// 工会 and 妇委会 notices go to women staff (三八节, 女职工体检).
	g.add("女教职工", `kind == "faculty" && status == "active" && gender == 2`)
	g.add("专任教师", `kind == "faculty" && dept_kind == "teaching"`)
	g.add("机关教职工", `kind == "faculty" && dept_kind == "office" && status == "active" && category != "retired"`)
	g.add("机关处级干部", `kind == "faculty" && dept_kind == "office" && category == "cadre"`)
	g.add("二级学院院长", `kind == "faculty" && dept_kind == "college" && category == "cadre"`)
	// The service hall's approver tags (hall/def/shipped): who handles
	// leave at 学生工作处, accounts at 教育信息中心, certificates at 教务处
	// — the offices' 科员, or those of the first office of a university
	// without one.
	for _, h := range HallTags {
		if code := u.officeCode(h.Office); code != "" {
			g.add(h.Tag, fmt.Sprintf(`kind == "faculty" && status == "active" && dept == %q && category == "staff"`, code))
		}
	}
	levelName := map[string]string{"undergraduate": "本科生", "master": "硕士研究生", "doctoral": "博士研究生"}
	for _, l := range []string{"master", "doctoral"} {
		if hasLevel(uniCohorts, l) {
			g.add(levelName[l], fmt.Sprintf(`level == %q`, l))
		}
	}
	// Cohorts: 2025级本科生, 2025级硕士研究生... newest first.
	var cohorts []cohort
	for c := range uniCohorts {
		cohorts = append(cohorts, c)
	}
	slices.SortFunc(cohorts, func(a, b cohort) int {
		if a.grade != b.grade {
			return b.grade - a.grade
		}
		return slices.Index([]string{"undergraduate", "master", "doctoral"}, a.level) - slices.Index([]string{"undergraduate", "master", "doctoral"}, b.level)
	})
	for _, c := range cohorts {
		g.add(fmt.Sprintf("%d级%s", c.grade, levelName[c.level]), fmt.Sprintf(`grade == %d && level == %q`, c.grade, c.level))
	}

	// Offices: everyone in it (the demo's tag), and its contract staff.
	for _, d := range u.Departments {
		if d.Kind != KindOffice {
			continue
		}
		g.add(d.Name+"全体", fmt.Sprintf(`%q in depts`, d.Code))
		if unitHas[d.Code][CatNonStaffed] {
			g.add(d.Name+"聘用人员", fmt.Sprintf(`category == "non_staffed" && %q in depts`, d.Code))
		}
	}

	// Colleges, with their 系, grades, classes and postgraduates.
	for _, c := range u.Departments {
		if c.Kind != KindCollege {
			continue
		}
		in := fmt.Sprintf(`%q in depts`, c.Code)
		of := fmt.Sprintf(`college == %q`, c.Code)
		has := unitHas[c.Code]
		g.add(c.Name+"全体师生", in)
		g.add(c.Name+"教职工", `kind == "faculty" && `+in)
		if has["teaching"] {
			g.add(c.Name+"专任教师", `kind == "faculty" && dept_kind == "teaching" && `+in)
		}
		if has["teaching-leader"] {
			g.add(c.Name+"系主任", `kind == "faculty" && leader && dept_kind == "teaching" && `+in)
		}
		if has[CatCounselor] {
			g.add(c.Name+"辅导员", `category == "counselor" && `+in)
		}
		if has[CatNonStaffed] {
			g.add(c.Name+"非编人员", `category == "non_staffed" && `+in)
		}
		g.add(c.Name+"全体学生", of)
		g.add(c.Name+"本科生", of+` && level == "undergraduate"`)
		if pg := collegeCohorts[c.Code]; len(pg) > 0 {
			g.add(shortName(c.Name)+"研究生", of+` && level in ["master", "doctoral"]`)
			for _, l := range []string{"master", "doctoral"} {
				if collegeLevels[c.Code][l] {
					g.add(c.Name+levelName[l], of+fmt.Sprintf(` && level == %q`, l))
				}
			}
			var grades []int
			for k := range pg {
				grades = append(grades, k.grade)
			}
			slices.Sort(grades)
			slices.Reverse(grades)
			for _, gr := range grades {
				g.add(fmt.Sprintf("%s%d级研究生", c.Name, gr), of+fmt.Sprintf(` && level in ["master", "doctoral"] && grade == %d`, gr))
			}
		}
		for _, d := range u.Departments {
			if d.ParentID != c.ID {
				continue
			}
			switch d.Kind {
			case KindTeaching:
				g.add(d.Name+"全体", fmt.Sprintf(`%q in depts`, d.Code))
			case KindGrade:
				// The demo's grade tag: the grade's students (its counselor
				// is a member of the grade department, not a student).
				year, _ := strconv.Atoi(d.Name[:len(d.Name)-len("级")])
				g.add(fmt.Sprintf("%s%d级学生", shortName(c.Name), year), fmt.Sprintf(`kind == "student" && %q in depts`, d.Code))
			}
		}
	}
	// Classes: the class's students, the class group of every notice.
	for _, d := range u.Departments {
		if d.Kind == KindClass {
			g.add(d.Name, fmt.Sprintf(`dept == %q && kind == "student"`, d.Code))
		}
	}
	return g.rules
}

// KeptTags are the demo's tags that no rule makes, maintained by the
// platform rather than synced from the data center (for
// contacts.DesiredOptions.KeepTags): the people outside the data center
// (校友, 考生, 访客), what it has no field for (班长: no student
// positions; 班主任: no class advisors; the course groups: no teaching
// assignments), and tags too big for a list of members (本科生 at full
// scale).
func (u *University) KeptTags() []string {
	made := map[string]bool{}
	for _, r := range u.TagRules() {
		made[r.Name] = true
	}
	var out []string
	for _, t := range u.Tags {
		if !made[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}

// cohort is the students of a level who entered in a year.
type cohort struct {
	level string
	grade int
}

func hasLevel(cohorts map[cohort]bool, level string) bool {
	for c := range cohorts {
		if c.level == level {
			return true
		}
	}
	return false
}

type tagRuleGen struct {
	rules []contacts.TagRule
	seen  map[string]bool
}

// add appends a rule; a name given twice is a bug of the generator.
func (g *tagRuleGen) add(name, rule string) {
	if g.seen[name] {
		panic("demo: tag rule " + name + " twice")
	}
	g.seen[name] = true
	g.rules = append(g.rules, contacts.TagRule{Name: name, Rule: rule, Kind: contacts.TagKindUser, Enabled: true})
}

func (u *University) tagUsers(name string) []string {
	for _, t := range u.Tags {
		if t.Name == name {
			return t.Users
		}
	}
	return nil
}

func (u *University) person(userID string) *Person {
	for i := range u.People {
		if u.People[i].UserID == userID {
			return &u.People[i]
		}
	}
	return nil
}

// HallTags are the service hall's approver tags and the office whose
// staff hold each.
var HallTags = []struct{ Tag, Office string }{
	{"学生工作处审批人", "学生工作处"},
	{"信息中心运维", "教育信息中心"},
	{"教务处证明办理", "教务处"},
}

// officeCode is the code of the office called name, or of the first
// office when there is none ("" without offices).
func (u *University) officeCode(name string) string {
	first := ""
	for _, d := range u.Departments {
		if d.Kind != KindOffice {
			continue
		}
		if d.Name == name {
			return d.Code
		}
		if first == "" {
			first = d.Code
		}
	}
	return first
}
