package def

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeResolver resolves every source from a table keyed by its kind and
// parameter, and says every source is possible unless listed in
// impossible.
type fakeResolver struct {
	people     map[string][]string // "counselor", "college_post:党委副书记", "tag:信息中心运维"
	impossible map[string]string   // same keys → reason
	fail       string              // a key whose Resolve fails
}

func sourceKey(src Approver) string {
	switch src.Kind {
	case CollegePost:
		return "college_post:" + src.Post
	case Post:
		return "post:" + src.Dept + ":" + src.Post
	case TagMembers:
		return "tag:" + src.Tag
	}
	return string(src.Kind)
}

func (f fakeResolver) Resolve(a Applicant, src Approver) ([]string, error) {
	switch k := sourceKey(src); {
	case k == f.fail:
		return nil, errors.New("the data center is down")
	case src.Kind == ApplicantSelf:
		return []string{a.UserID}, nil
	case src.Kind == NamedUsers:
		return src.Users, nil
	default:
		return f.people[k], nil
	}
}

func (f fakeResolver) Possible(_ Audience, src Approver) (bool, string) {
	if why, ok := f.impossible[sourceKey(src)]; ok {
		return false, why
	}
	return true, ""
}

var campus = fakeResolver{people: map[string][]string{
	"counselor":          {"t_liu"},
	"college_post:党委副书记": {"t_chen", "t_liu"},
	"tag:学生工作处审批人":       {"x_wang", "x_zhao"},
	"dept_leader":        {"d_sun"},
	"tag:信息中心运维":         {"it_li"},
	"tag:教务处证明办理":        {"j_he"},
}}

var student = Applicant{UserID: "s2024001", Name: "李同学", Kind: "student", College: "SCXY", Dept: "SC2401", Grade: 2024, Level: "undergraduate"}

func compileShipped(t *testing.T, key string) *Compiled {
	t.Helper()
	for _, p := range mustShipped(t) {
		if p.Key == key {
			c, problems := Compile(p)
			if problems != nil {
				t.Fatalf("Compile(%s): %v", key, problems)
			}
			return c
		}
	}
	t.Fatalf("%s is not shipped", key)
	return nil
}

func leaveEnv(days int) Env {
	return Env{Form: map[string]any{
		"leave_type":   "事假",
		"leave":        Range{Start: "2026-12-01", End: "2026-12-01", Days: days},
		"reason":       "回家",
		"leave_campus": "是",
	}, Applicant: student}
}

func stepIDs(path []PathStep) []string {
	var ids []string
	for _, s := range path {
		ids = append(ids, s.Step.ID)
	}
	return ids
}

func TestLeaveRouting(t *testing.T) {
	c := compileShipped(t, "student_leave")
	for _, tt := range []struct {
		days int
		want []string
	}{
		{2, []string{"counselor"}},
		{3, []string{"counselor"}},
		{5, []string{"counselor", "deputy"}},
		{7, []string{"counselor", "deputy"}},
		{10, []string{"counselor", "deputy", "office"}},
	} {
		path, err := c.Path(leaveEnv(tt.days), campus)
		if err != nil {
			t.Fatalf("%d days: %v", tt.days, err)
		}
		if got := stepIDs(path); !slices.Equal(got, tt.want) {
			t.Errorf("%d days: path %v, want %v", tt.days, got, tt.want)
		}
		for _, s := range path {
			if len(s.Warnings) > 0 {
				t.Errorf("%d days: warnings %v", tt.days, s.Warnings)
			}
		}
	}
}

func TestLeavePathDetails(t *testing.T) {
	c := compileShipped(t, "student_leave")
	path, err := c.Path(leaveEnv(10), campus)
	if err != nil {
		t.Fatal(err)
	}
	got := []PathStep{{Step: path[0].Step, Approvers: []string{"t_liu"}}, {Step: path[1].Step, Approvers: []string{"t_chen", "t_liu"}, Edge: "leave.days > 3"}, {Step: path[2].Step, Approvers: []string{"x_wang", "x_zhao"}, Edge: "leave.days > 7"}}
	if d := cmp.Diff(got, path); d != "" {
		t.Errorf("path (-want +got):\n%s", d)
	}

	// A date range as the engine may pass it, a map (e.g. decoded JSON).
	env := leaveEnv(0)
	env.Form["leave"] = map[string]any{"start": "2026-12-01", "end": "2026-12-05", "days": float64(5)}
	path, err = c.Path(env, campus)
	if err != nil || !slices.Equal(stepIDs(path), []string{"counselor", "deputy"}) {
		t.Errorf("with a map range: %v, %v", stepIDs(path), err)
	}
}

func TestPathApproversWithoutApplicant(t *testing.T) {
	p := &Process{Key: "t", Fields: []Field{}, Steps: []Step{
		{ID: "a", Name: "审批", Mode: AnyOf, Approvers: []Approver{
			{Kind: NamedUsers, Users: []string{"u1", "s2024001", "u2"}},
			{Kind: NamedUsers, Users: []string{"u2", "u3", "u1"}},
		}, CC: []Approver{{Kind: NamedUsers, Users: []string{"s2024001", "c1", "c1"}}}, Next: []Edge{{To: "b"}}},
		{ID: "b", Name: "确认", Mode: AnyOf, Approvers: []Approver{{Kind: ApplicantSelf}}},
	}}
	c, problems := Compile(p)
	if problems != nil {
		t.Fatal(problems)
	}
	path, err := c.Path(Env{Applicant: student}, campus)
	if err != nil {
		t.Fatal(err)
	}
	if got := path[0].Approvers; !slices.Equal(got, []string{"u1", "u2", "u3"}) {
		t.Errorf("approvers %v", got)
	}
	if got := path[0].CC; !slices.Equal(got, []string{"c1"}) {
		t.Errorf("cc %v", got)
	}
	if got := path[1].Approvers; !slices.Equal(got, []string{"s2024001"}) {
		t.Errorf("the applicant's own step: approvers %v", got)
	}

	r := campus
	r.fail = "users"
	if _, err := c.Path(Env{Applicant: student}, r); err == nil || !strings.Contains(err.Error(), "the data center is down") {
		t.Errorf("a failing resolver: %v", err)
	}
}

func TestVPNLeaderForStudentsAndFaculty(t *testing.T) {
	c := compileShipped(t, "vpn_open")
	r := fakeResolver{people: map[string][]string{"counselor": {"t_liu"}, "tag:信息中心运维": {"it_li"}}}
	path, err := c.Path(Env{Applicant: student}, r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stepIDs(path), []string{"leader", "it"}) || !slices.Equal(path[0].Approvers, []string{"t_liu"}) {
		t.Errorf("student: %v, leader step approvers %v", stepIDs(path), path[0].Approvers)
	}
}

func TestCompileProblems(t *testing.T) {
	for _, tt := range []struct {
		when, want string
	}{
		{"days2 > 3", "条件引用了不存在的字段 days2"},
		{"leave.days2 > 3", "条件引用了不存在的字段 leave.days2（日期范围有 start、end、days）"},
		{"applicant.levl == \"master\"", "条件引用了申请人不存在的属性 levl（可用：userid、name、kind、college、dept、grade、level、mobile）"},
		{"leave.days >", "条件无法编译（第 12 个字符）：unexpected token EOF"},
		{"reason", "条件的结果须为成立或不成立（布尔值），现在是 string"},
		{"leave.days > \"3\"", "条件无法编译"},
	} {
		p := leaveProcess(t)
		p.Steps[0].Next[0].When = tt.when
		c, problems := Compile(p)
		if c != nil || len(problems) != 1 || problems[0].Where != "steps.counselor.next[0]" || !strings.HasPrefix(problems[0].Problem, tt.want) {
			t.Errorf("%q: %v, want one problem at steps.counselor.next[0] starting %q", tt.when, problems, tt.want)
		}
	}
}

func TestConditionOnEmptyOptionalField(t *testing.T) {
	p := &Process{Key: "t", Fields: []Field{
		{Key: "amount", Label: "金额", Type: Number},
		{Key: "kind", Label: "类别", Type: Choice, Options: []string{"甲", "乙"}},
	}, Steps: []Step{
		{ID: "a", Name: "初审", Mode: AnyOf, Approvers: []Approver{{Kind: Counselor}}, Next: []Edge{
			{When: "amount > 1000", To: "big"},
			{When: `kind == "乙"`, To: "b"},
		}},
		{ID: "big", Name: "大额", Mode: AnyOf, Approvers: []Approver{{Kind: Counselor}}},
		{ID: "b", Name: "乙类", Mode: AnyOf, Approvers: []Approver{{Kind: Counselor}}},
	}}
	c, problems := Compile(p)
	if problems != nil {
		t.Fatal(problems)
	}
	path, err := c.Path(Env{Form: map[string]any{"kind": "乙"}, Applicant: student}, campus)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stepIDs(path), []string{"a", "b"}) {
		t.Errorf("path %v, want [a b]", stepIDs(path))
	}
	if w := path[0].Warnings; len(w) != 1 || w[0].Where != "steps.a.next[0]" || !strings.Contains(w[0].Problem, "amount > 1000") {
		t.Errorf("warnings %v", w)
	}

	to, ok, warnings, err := c.Next("a", Env{Form: map[string]any{"amount": 5000}})
	if to != "big" || !ok || warnings != nil || err != nil {
		t.Errorf("Next with an int amount = %q, %v, %v, %v", to, ok, warnings, err)
	}
}

func TestNextStep(t *testing.T) {
	c := compileShipped(t, "student_leave")
	for _, tt := range []struct {
		from string
		days int
		to   string
		ok   bool
	}{
		{"", 1, "counselor", true},
		{"counselor", 2, "", false},
		{"counselor", 4, "deputy", true},
		{"deputy", 4, "", false},
		{"deputy", 8, "office", true},
		{"office", 100, "", false},
	} {
		to, ok, err := c.NextStep(tt.from, leaveEnv(tt.days))
		if to != tt.to || ok != tt.ok || err != nil {
			t.Errorf("NextStep(%q, %d days) = %q, %v, %v; want %q, %v", tt.from, tt.days, to, ok, err, tt.to, tt.ok)
		}
	}
	if _, _, err := c.NextStep("nope", leaveEnv(1)); err == nil {
		t.Error("NextStep from an unknown step: no error")
	}
	if s, ok := c.Step("deputy"); !ok || s.Name != "学院党委副书记审批" {
		t.Errorf("Step(deputy) = %v, %v", s, ok)
	}
	if _, ok := c.Step("nope"); ok {
		t.Error("Step(nope) found")
	}
}

func TestPathCycle(t *testing.T) {
	p := &Process{Key: "t", Steps: []Step{
		{ID: "a", Name: "甲", Mode: AnyOf, Approvers: []Approver{{Kind: Counselor}}, Next: []Edge{{To: "b"}}},
		{ID: "b", Name: "乙", Mode: AnyOf, Approvers: []Approver{{Kind: Counselor}}, Next: []Edge{{When: "applicant.grade > 2000", To: "a"}}},
	}}
	c, problems := Compile(p)
	if problems != nil {
		t.Fatal(problems)
	}
	if _, err := c.Path(Env{Applicant: student}, campus); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("Path of a cycle: %v", err)
	}
	path, err := c.Path(Env{Applicant: Applicant{Grade: 1999}}, nil)
	if err != nil || !slices.Equal(stepIDs(path), []string{"a", "b"}) {
		t.Errorf("Path not entering the cycle: %v, %v", stepIDs(path), err)
	}
}
