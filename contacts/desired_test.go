package contacts_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wecomapp/wecomapp/store"
	"strconv"
	"strings"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/demo"
)

// demoRules expresses the demo university's tags as rules over the data
// center, as a university would write them: role tags by category and
// level, department tags by code, class tags by class. Tags of people the
// data center does not know (校友, 考生, 访客) or of attributes it does not
// carry (班长, 班主任, 研究生导师, 部门管理员) have no rule.
func demoRules(u *demo.University) []contacts.TagRule {
	byRole := map[string]string{
		"校领导":           `category == "leader"`,
		"中层干部":          `category == "cadre"`,
		"教职工":           `kind == "faculty" && category != "non_staffed" && category != "retired"`,
		"非编人员":          `category == "non_staffed"`,
		"辅导员":           `category == "counselor"`,
		"本科生":           `kind == "student" && level == "undergraduate"`,
		"研究生":           `kind == "student" && level != "undergraduate"`,
		demo.TagRetired: `category == "retired"`,
	}
	classes := map[string]string{}
	postgrad := map[int]int{} // a college's 研究生 unit → the college
	for _, d := range u.Departments {
		switch d.Kind {
		case demo.KindClass:
			classes[d.Name] = d.Code
		case demo.KindPostgrad:
			postgrad[d.ID] = d.ParentID
		}
	}
	var out []contacts.TagRule
	for _, t := range u.Tags {
		rule := byRole[t.Name]
		switch {
		case rule != "":
		case classes[t.Name] != "":
			rule = `kind == "student" && dept == "` + classes[t.Name] + `"`
		case len(t.Parties) > 0:
			var ors []string
			for _, p := range t.Parties {
				if c, ok := postgrad[p]; ok {
					// The data center has no 研究生 unit: postgraduates are
					// members of their college.
					ors = append(ors, `kind == "student" && level != "undergraduate" && college == "`+strconv.Itoa(c)+`"`)
					continue
				}
				ors = append(ors, strconv.Quote(strconv.Itoa(p))+" in depts")
			}
			rule = strings.Join(ors, " || ")
		default:
			continue
		}
		out = append(out, contacts.TagRule{Name: t.Name, Rule: rule, Kind: contacts.TagKindUser, Enabled: true})
	}
	return out
}

func dept(code, name, parent string) store.DCDepartment {
	return store.DCDepartment{Code: code, Name: name, ParentCode: parent, Kind: "college", SortOrder: 10, Enabled: true}
}

func hasProblem(probs []contacts.Problem, sev contacts.Severity, object, text string) bool {
	for _, p := range probs {
		if p.Severity == sev && p.Object == object && strings.Contains(p.Message, text) {
			return true
		}
	}
	return false
}

// TestDesiredDepartments: codes become ids (canonical numbers themselves,
// others from the id map or newly allocated above every id in use),
// level-1 units hang under the root, abolished departments are not
// desired, and rows that cannot be used are held with a problem.
func TestDesiredDepartments(t *testing.T) {
	dc := store.DataCenter{Departments: []store.DCDepartment{
		dept("10", "水产学院", ""),
		dept("1024", "水产养殖2024级1班", "10"),
		dept("A01", "图书馆", ""),
		dept("A02", "档案馆", ""),
		dept("A0201", "档案馆办公室", "A02"),
		{Code: "11", Name: "已撤销学院", Kind: "college", Enabled: false},
		dept("1101", "撤销学院的班", "11"),
		dept("12", "孤儿系", "99"),
		dept("13", "甲", "14"), dept("14", "乙", "13"),
		dept("15", "名字:有*冒号", ""),
		dept("007", "零开头", ""),
	}, Faculty: []store.DCFaculty{
		{StaffNo: "T1", Name: "院长", DeptCode: "10", Category: "cadre", IsLeader: true, Status: "active", Mobile: "13800000001"},
		{StaffNo: "T2", Name: "馆长", DeptCode: "A01", Category: "cadre", IsLeader: true, Status: "left", Mobile: "13800000002"},
		{StaffNo: "T3", Name: "孤儿", DeptCode: "12", Category: "staff", Status: "active", Mobile: "13800000003"},
		{StaffNo: "T4", Name: "撤销", DeptCode: "11", Category: "staff", Status: "retired", Mobile: "13800000004"},
	}}
	d, probs := contacts.BuildDesired(dc, nil, contacts.DesiredOptions{IDs: map[string]int64{"A01": 5000}})
	got := map[string]contacts.Department{}
	for _, x := range d.Departments {
		got[x.DCCode] = x
	}
	want := map[string]contacts.Department{
		"10":    {ID: 10, DCCode: "10", Name: "水产学院", ParentID: 1, Order: 10, Leaders: []string{"T1"}},
		"1024":  {ID: 1024, DCCode: "1024", Name: "水产养殖2024级1班", ParentID: 10, Order: 10},
		"A01":   {ID: 5000, DCCode: "A01", Name: "图书馆", ParentID: 1, Order: 10}, // its leader left
		"A02":   {ID: 5002, DCCode: "A02", Name: "档案馆", ParentID: 1, Order: 10},
		"A0201": {ID: 5003, DCCode: "A0201", Name: "档案馆办公室", ParentID: 5002, Order: 10},
		"15":    {ID: 15, DCCode: "15", Name: "名字_有_冒号", ParentID: 1, Order: 10},
		"007":   {ID: 5001, DCCode: "007", Name: "零开头", ParentID: 1, Order: 10},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("departments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int64{"007": 5001, "A02": 5002, "A0201": 5003}, d.NewIDs); diff != "" {
		t.Errorf("new ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{12, 13, 14, 1101}, d.HeldDepartments); diff != "" {
		t.Errorf("held departments (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		sev          contacts.Severity
		object, text string
	}{
		{contacts.Error, "department 12", "parent 99 is not a department"},
		{contacts.Error, "department 14", "its own ancestor (through 13)"},
		{contacts.Error, "department 13", "its parent 14 is held"},
		{contacts.Error, "department 1101", "parent 11 is abolished"},
		{contacts.Warning, "department 15", `sent as "名字_有_冒号"`},
		{contacts.Warning, "department 007", "given id 5001"},
		{contacts.Warning, "member T4", "department 11 is abolished; the member is put under the root"},
		{contacts.Error, "member T3", "department 12 is held"},
	} {
		if !hasProblem(probs, c.sev, c.object, c.text) {
			t.Errorf("no %s about %s saying %q in\n%v", c.sev, c.object, c.text, probs)
		}
	}
	// Members: the leaver is disabled, the one in an abolished department
	// is under the root, the one in a held department is held.
	var ids []string
	for _, m := range d.Members {
		ids = append(ids, fmt.Sprintf("%s:%v:%d", m.UserID, m.Enabled, m.MainDepartment))
	}
	if diff := cmp.Diff([]string{"T1:true:10", "T2:false:5000", "T4:true:1"}, ids); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"T3"}, d.HeldMembers); diff != "" {
		t.Errorf("held members (-want +got):\n%s", diff)
	}
	// Ids are stable: given the ids allocated, the next run maps the same.
	ids2 := contacts.IDsFromMirror(contacts.State{Departments: d.Departments})
	d2, _ := contacts.BuildDesired(dc, nil, contacts.DesiredOptions{IDs: ids2})
	if len(d2.NewIDs) != 0 || !cmp.Equal(d.Departments, d2.Departments) {
		t.Errorf("a second run with the ids: new %v, departments equal %v", d2.NewIDs, cmp.Equal(d.Departments, d2.Departments))
	}
}

// TestDesiredMembers: faculty and students become members under their
// staff and student numbers; a teacher who studies here is one member in
// both departments; statuses decide who is enabled.
func TestDesiredMembers(t *testing.T) {
	dc := store.DataCenter{
		Departments: []store.DCDepartment{dept("10", "水产学院", ""), dept("1024", "水产24级1班", "10"), dept("20", "教务处", "")},
		Faculty: []store.DCFaculty{
			{StaffNo: "T1", Name: "王老师", DeptCode: "20", Gender: 2, Mobile: "13800000001", Email: "t1@demo.edu.cn", Position: "科长", Category: "staff", IsLeader: true, Status: "active"},
			{StaffNo: "T2", Name: "退休", DeptCode: "20", Category: "retired", Status: "retired", Email: "t2@demo.edu.cn"},
			{StaffNo: "T3", Name: "怪状态", DeptCode: "20", Category: "staff", Status: "sabbatical", Email: "t3@demo.edu.cn"},
		},
		Students: []store.DCStudent{
			{StudentNo: "S1", Name: "李同学", CollegeCode: "10", ClassCode: "1024", Grade: 2024, Level: "undergraduate", Gender: 1, Mobile: "13900000001", Status: "enrolled"},
			{StudentNo: "S2", Name: "毕业", CollegeCode: "10", ClassCode: "1024", Grade: 2020, Level: "undergraduate", Status: "graduated"},
			{StudentNo: "G1", Name: "研究生", CollegeCode: "10", Grade: 2024, Level: "master", Status: "suspended", Email: "g1@stu.demo.edu.cn"},
			{StudentNo: "T1", Name: "王老师", CollegeCode: "10", Grade: 2023, Level: "doctoral", Status: "enrolled"},
		},
	}
	d, probs := contacts.BuildDesired(dc, nil, contacts.DesiredOptions{})
	want := []contacts.Member{
		{UserID: "G1", Name: "研究生", Departments: []contacts.Membership{{Department: 10}}, MainDepartment: 10, Enabled: true, Email: "g1@stu.demo.edu.cn"},
		{UserID: "S1", Name: "李同学", Departments: []contacts.Membership{{Department: 1024}}, MainDepartment: 1024, Gender: 1, Enabled: true, Mobile: "13900000001"},
		{UserID: "S2", Name: "毕业", Departments: []contacts.Membership{{Department: 1024}}, MainDepartment: 1024},
		{UserID: "T1", Name: "王老师", Departments: []contacts.Membership{{Department: 20, Leader: true}, {Department: 10}}, MainDepartment: 20,
			Position: "科长", Gender: 2, Enabled: true, Mobile: "13800000001", Email: "t1@demo.edu.cn"},
		{UserID: "T2", Name: "退休", Departments: []contacts.Membership{{Department: 20}}, MainDepartment: 20, Enabled: true, Email: "t2@demo.edu.cn"},
		{UserID: "T3", Name: "怪状态", Departments: []contacts.Membership{{Department: 20}}, MainDepartment: 20, Enabled: true, Email: "t3@demo.edu.cn"},
	}
	if diff := cmp.Diff(want, d.Members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if !hasProblem(probs, contacts.Warning, "member T3", `status "sabbatical" is unknown`) {
		t.Errorf("no problem about T3's status: %v", probs)
	}
	// S2 is disabled (never created), so lacking both is no problem; S1
	// has a mobile.
	if hasProblem(probs, contacts.Warning, "member S2", "") || hasProblem(probs, contacts.Warning, "member S1", "") {
		t.Errorf("a problem about S1 or S2: %v", probs)
	}
	if i := slices.IndexFunc(d.Departments, func(x contacts.Department) bool { return x.ID == 20 }); !cmp.Equal(d.Departments[i].Leaders, []string{"T1"}) {
		t.Errorf("leaders of 20: %v", d.Departments[i].Leaders)
	}
}

// TestDesiredTags: tags hold the enabled members whose record matches
// their rule; a disabled, broken or oversized rule holds its tag; the
// corp's tag cap is warned about at 90 % and refused above it.
func TestDesiredTags(t *testing.T) {
	u := smallDemo()
	dc := u.DataCenter()
	rules := []contacts.TagRule{
		{Name: "水产2024级本科生", Rule: `kind == "student" && level == "undergraduate" && grade == 2024 && "水产学院" in dept_names`, Enabled: true},
		{Name: "离退休", Rule: `category == "retired"`, Enabled: true},
		{Name: "博士在读教师", Rule: `kind == "student" && level == "doctoral" && "T00033" != ""`, Enabled: true},
		{Name: "停用", Rule: `true`},
		{Name: "坏规则", Rule: `grade > "x"`, Enabled: true},
		{Name: "运行出错", Rule: `depts[5] == "1"`, Enabled: true},
	}
	d, probs := contacts.BuildDesired(dc, rules, contacts.DesiredOptions{OtherTags: 2700 - 3})
	var want2024 []string
	for _, s := range dc.Students {
		if s.Grade == 2024 && s.Level == "undergraduate" && s.CollegeCode == "1001" {
			want2024 = append(want2024, s.StudentNo)
		}
	}
	got := map[string][]string{}
	for _, tg := range d.Tags {
		got[tg.Name] = tg.Users
	}
	if len(want2024) == 0 || !cmp.Equal(got["水产2024级本科生"], want2024) {
		t.Errorf("水产2024级本科生: %v, want %v", got["水产2024级本科生"], want2024)
	}
	if len(got["离退休"]) != 2 {
		t.Errorf("离退休: %v", got["离退休"])
	}
	// The doctoral students: the demo's postgraduates and the teacher.
	if !slices.Contains(got["博士在读教师"], "T00033") {
		t.Errorf("博士在读教师 lacks the teacher who studies: %v", got["博士在读教师"])
	}
	if diff := cmp.Diff([]string{"停用", "坏规则", "运行出错"}, d.HeldTags); diff != "" {
		t.Errorf("held tags (-want +got):\n%s", diff)
	}
	if !hasProblem(probs, contacts.Error, "tag 坏规则", `tag rule "坏规则"`) || !hasProblem(probs, contacts.Error, "tag 运行出错", "failed") {
		t.Errorf("problems: %v", probs)
	}
	if !hasProblem(probs, contacts.Warning, "tags", "2703 tags, 90%") {
		t.Errorf("no warning about the cap: %v", probs)
	}
	_, probs = contacts.BuildDesired(dc, rules, contacts.DesiredOptions{OtherTags: 2998})
	if !hasProblem(probs, contacts.Error, "tags", "3004 tags, more than WeCom's 3000") {
		t.Errorf("no error about the cap: %v", probs)
	}

	// A tag over 30,000 members is held.
	var big store.DataCenter
	big.Departments = []store.DCDepartment{dept("10", "水产学院", "")}
	for i := 0; i < contacts.MaxTagMembers+1; i++ {
		big.Students = append(big.Students, store.DCStudent{StudentNo: "S" + strconv.Itoa(i), Name: "学生", CollegeCode: "10", Grade: 2024, Level: "undergraduate", Status: "enrolled", Mobile: "13900000000"})
	}
	d, probs = contacts.BuildDesired(big, []contacts.TagRule{{Name: "全体学生", Rule: `kind == "student"`, Enabled: true}}, contacts.DesiredOptions{})
	if len(d.Tags) != 0 || !slices.Equal(d.HeldTags, []string{"全体学生"}) || !hasProblem(probs, contacts.Error, "tag 全体学生", "30001 members, more than WeCom's 30000") {
		t.Errorf("tags %d, held %v, problems %v", len(d.Tags), d.HeldTags, probs)
	}
}

// TestTagRuleIndex: a rule indexed by department matches exactly the
// members the same rule matches unindexed, over the whole demo.
func TestTagRuleIndex(t *testing.T) {
	u := smallDemo()
	dc := u.DataCenter()
	rules := demoRules(u)
	rules = append(rules,
		contacts.TagRule{Name: "名在链中", Rule: `"水产学院" in dept_names && kind == "faculty"`, Enabled: true},
		contacts.TagRule{Name: "或", Rule: `dept == "10005001" || "200" in depts`, Enabled: true},
		contacts.TagRule{Name: "反过来", Rule: `"10015101" == dept`, Enabled: true},
	)
	var plain []contacts.TagRule
	for _, r := range rules {
		// An || with an unindexable side defeats the index.
		r.Rule = "(" + r.Rule + ") || grade == -1"
		plain = append(plain, r)
	}
	a, _ := contacts.BuildDesired(dc, rules, contacts.DesiredOptions{})
	b, _ := contacts.BuildDesired(dc, plain, contacts.DesiredOptions{})
	if diff := cmp.Diff(b.Tags, a.Tags); diff != "" {
		t.Errorf("indexed (+) against plain (-):\n%s", diff)
	}
	n := 0
	for _, tg := range a.Tags {
		n += len(tg.Users)
	}
	if n < 500 {
		t.Errorf("only %d tag memberships: the rules match too little to tell", n)
	}
}

// TestValidateTagRule: the console's save check names the rule and says
// what is wrong.
func TestValidateTagRule(t *testing.T) {
	cases := []struct {
		rule contacts.TagRule
		want string // "" valid
	}{
		{contacts.TagRule{Name: "水产2024级本科生", Rule: `kind == "student" && grade == 2024 && "水产学院" in dept_names`}, ""},
		{contacts.TagRule{Name: "辅导员", Rule: `category == "counselor"`, Kind: "user"}, ""},
		{contacts.TagRule{Name: "", Rule: `true`}, "the name is empty"},
		{contacts.TagRule{Name: " 辅导员", Rule: `true`}, `" 辅导员": the name has spaces`},
		{contacts.TagRule{Name: strings.Repeat("长", 33), Rule: `true`}, "longer than 32 characters"},
		{contacts.TagRule{Name: "部门", Rule: `true`, Kind: "party"}, `"部门": kind "party"`},
		{contacts.TagRule{Name: "空", Rule: ` `}, `"空": the rule is empty`},
		{contacts.TagRule{Name: "拼错", Rule: `catgory == "staff"`}, `"拼错": unknown name catgory`},
		{contacts.TagRule{Name: "不是布尔", Rule: `grade + 1`}, `"不是布尔": expected bool`},
	}
	for _, c := range cases {
		err := contacts.ValidateTagRule(c.rule)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.rule.Name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want %q", c.rule.Name, err, c.want)
		}
	}
}
