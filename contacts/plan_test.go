package contacts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store"
)

// smallDemo is the small demo university in a fixed academic year, so the
// tests do not change on Sep 1.
func smallDemo() *demo.University {
	s := demo.Small()
	s.Year = 2025
	return demo.Generate(s)
}

func desiredOf(t testing.TB, dc store.DataCenter, rules []contacts.TagRule) contacts.Desired {
	t.Helper()
	d, probs := contacts.BuildDesired(dc, rules, contacts.DesiredOptions{})
	for _, p := range probs {
		if p.Severity == contacts.Error {
			t.Fatalf("unexpected problem: %s", p)
		}
	}
	return d
}

// applyPlan is what an apply engine that succeeds at every call records in
// the mirror: the plan's ops, in order, on st.
func applyPlan(t testing.TB, st contacts.State, p *contacts.Plan, at time.Time) contacts.State {
	t.Helper()
	depts := map[int64]contacts.Department{}
	for _, d := range st.Departments {
		depts[d.ID] = d
	}
	members := map[string]contacts.Member{}
	for _, m := range st.Members {
		members[m.UserID] = m
	}
	tags := map[int64]*contacts.Tag{}
	for _, tg := range st.Tags {
		c := tg
		c.Users = slices.Clone(tg.Users)
		tags[tg.ID] = &c
	}
	for _, op := range p.Ops {
		switch op.Kind {
		case contacts.OpCreateDepartment, contacts.OpUpdateDepartment:
			if op.Kind == contacts.OpCreateDepartment {
				if _, dup := depts[op.Department]; dup && !strings.Contains(op.Reason, "gone") {
					t.Fatalf("op %d creates department %d, which exists", op.Index, op.Department)
				}
				if pid := *op.DeptFields.ParentID; pid != contacts.RootDepartment {
					if _, ok := depts[pid]; !ok {
						t.Fatalf("op %d creates department %d before its parent %d", op.Index, op.Department, pid)
					}
				}
			}
			d := *op.WantDepartment
			d.WrittenAt = at
			depts[d.ID] = d
		case contacts.OpCreateUser, contacts.OpUpdateUser, contacts.OpDisableUser:
			for _, id := range op.UserFields.Department {
				if _, ok := depts[id]; !ok && id != contacts.RootDepartment {
					t.Fatalf("op %d puts %s in department %d, which does not exist yet", op.Index, op.UserID, id)
				}
			}
			m := *op.WantMember
			m.WrittenAt = at
			members[m.UserID] = m
		case contacts.OpCreateTag:
			tags[op.Tag] = &contacts.Tag{ID: op.Tag, Name: op.TagName, WrittenAt: at}
		case contacts.OpUpdateTag:
			tags[op.Tag].Name = op.TagName
		case contacts.OpAddTagUsers:
			tg := tags[op.Tag]
			for _, u := range op.Users {
				if !slices.Contains(tg.Users, u) {
					tg.Users = append(tg.Users, u)
				}
			}
			tg.Parties = append(tg.Parties, op.Parties...)
		case contacts.OpDelTagUsers:
			tg := tags[op.Tag]
			tg.Users = slices.DeleteFunc(tg.Users, func(u string) bool { return slices.Contains(op.Users, u) })
			tg.Parties = slices.DeleteFunc(tg.Parties, func(d int64) bool { return slices.Contains(op.Parties, d) })
		case contacts.OpDeleteTag:
			delete(tags, op.Tag)
		case contacts.OpDeleteUser:
			delete(members, op.UserID)
			for _, tg := range tags {
				tg.Users = slices.DeleteFunc(tg.Users, func(u string) bool { return u == op.UserID })
			}
		case contacts.OpDeleteDepartment:
			for _, d := range depts {
				if d.ParentID == op.Department {
					t.Fatalf("op %d deletes department %d before its child %d", op.Index, op.Department, d.ID)
				}
			}
			for _, m := range members {
				for _, ms := range m.Departments {
					if ms.Department == op.Department {
						t.Fatalf("op %d deletes department %d while %s is in it", op.Index, op.Department, m.UserID)
					}
				}
			}
			delete(depts, op.Department)
		default:
			t.Fatalf("op %d: unknown kind %s", op.Index, op.Kind)
		}
	}
	var out contacts.State
	for _, d := range depts {
		out.Departments = append(out.Departments, d)
	}
	for _, m := range members {
		out.Members = append(out.Members, m)
	}
	for _, tg := range tags {
		slices.Sort(tg.Users)
		out.Tags = append(out.Tags, *tg)
	}
	slices.SortFunc(out.Departments, func(a, b contacts.Department) int { return int(a.ID - b.ID) })
	slices.SortFunc(out.Members, func(a, b contacts.Member) int { return strings.Compare(a.UserID, b.UserID) })
	slices.SortFunc(out.Tags, func(a, b contacts.Tag) int { return int(a.ID - b.ID) })
	return out
}

// describe is an op in a line: kind, object, and for tag ops the tag's
// name and members.
func describe(p *contacts.Plan, st contacts.State) []string {
	names := map[int64]string{}
	for _, tg := range st.Tags {
		names[tg.ID] = tg.Name
	}
	for n, id := range p.TagIDs {
		names[id] = n
	}
	var out []string
	for _, op := range p.Ops {
		var s string
		switch {
		case op.Department != 0:
			s = fmt.Sprintf("%s %d", op.Kind, op.Department)
		case op.UserID != "":
			s = fmt.Sprintf("%s %s", op.Kind, op.UserID)
		default:
			s = fmt.Sprintf("%s %s", op.Kind, names[op.Tag])
			if len(op.Users) > 0 {
				s += " " + strings.Join(op.Users, ",")
			}
		}
		if op.DeptFields != nil {
			b, _ := json.Marshal(op.DeptFields)
			s += " " + string(b)
		}
		if op.UserFields != nil && op.Kind != contacts.OpCreateUser {
			b, _ := json.Marshal(op.UserFields)
			s += " " + string(b)
		}
		out = append(out, s)
	}
	return out
}

// TestFirstPlan: against an empty mirror, the small demo's plan creates
// exactly its departments (each after its parent), its members (each after
// their departments) and its tags with their members, and nothing else.
func TestFirstPlan(t *testing.T) {
	u := smallDemo()
	dc := u.DataCenter()
	d := desiredOf(t, dc, demoRules(u))
	p := contacts.BuildPlan(d, contacts.State{}, contacts.PlanOptions{})

	created := map[contacts.OpKind][]string{}
	at := map[string]int{} // "department 12" → op index
	for _, op := range p.Ops {
		switch op.Kind {
		case contacts.OpCreateDepartment:
			created[op.Kind] = append(created[op.Kind], strconv.FormatInt(op.Department, 10))
			at["department "+strconv.FormatInt(op.Department, 10)] = op.Index
			if parent := *op.DeptFields.ParentID; parent != contacts.RootDepartment {
				i, ok := at["department "+strconv.FormatInt(parent, 10)]
				if !ok || !slices.Contains(op.Depends, i) {
					t.Errorf("department %d is created before its parent %d, or without depending on it (%v)", op.Department, parent, op.Depends)
				}
			}
		case contacts.OpCreateUser:
			created[op.Kind] = append(created[op.Kind], op.UserID)
			for _, dept := range op.UserFields.Department {
				if i, ok := at["department "+strconv.FormatInt(dept, 10)]; !ok || !slices.Contains(op.Depends, i) {
					t.Errorf("member %s is created without depending on department %d", op.UserID, dept)
				}
			}
		case contacts.OpCreateTag:
			created[op.Kind] = append(created[op.Kind], op.TagName)
		case contacts.OpAddTagUsers:
		default:
			t.Errorf("a first plan has a %s op: %+v", op.Kind, op)
		}
	}
	var wantDepts, wantUsers, wantTags []string
	for _, x := range dc.Departments {
		wantDepts = append(wantDepts, x.Code)
	}
	for _, f := range dc.Faculty {
		wantUsers = append(wantUsers, f.StaffNo)
	}
	for _, s := range dc.Students {
		if !slices.Contains(wantUsers, s.StudentNo) { // the teacher who is also a doctoral student
			wantUsers = append(wantUsers, s.StudentNo)
		}
	}
	for _, r := range demoRules(u) {
		wantTags = append(wantTags, r.Name)
	}
	for _, c := range []struct {
		kind      contacts.OpKind
		got, want []string
	}{{contacts.OpCreateDepartment, created[contacts.OpCreateDepartment], wantDepts},
		{contacts.OpCreateUser, created[contacts.OpCreateUser], wantUsers},
		{contacts.OpCreateTag, created[contacts.OpCreateTag], wantTags}} {
		slices.Sort(c.got)
		slices.Sort(c.want)
		if d := cmp.Diff(c.want, c.got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.kind, d)
		}
	}
	// The phases come in order: every department before every member,
	// every member before every tag.
	last := -1
	for _, op := range p.Ops {
		phase := slices.Index(contacts.OpKinds, op.Kind)
		if phase < last {
			t.Fatalf("op %d (%s) comes after a later phase", op.Index, op.Kind)
		}
		last = phase
	}
	// Level-1 units first.
	for _, op := range p.Ops[:11] {
		if *op.DeptFields.ParentID != contacts.RootDepartment {
			t.Errorf("op %d creates department %d, not a level-1 unit, among the first", op.Index, op.Department)
		}
	}
	// The tag members it adds are the rules' members.
	added := map[int64]int{}
	for _, op := range p.Ops {
		if op.Kind == contacts.OpAddTagUsers {
			added[op.Tag] += len(op.Users)
		}
	}
	for _, tg := range d.Tags {
		if added[p.TagIDs[tg.Name]] != len(tg.Users) {
			t.Errorf("tag %s: %d members added, want %d", tg.Name, added[p.TagIDs[tg.Name]], len(tg.Users))
		}
	}
	if s := p.Summary(); s.Ops != len(p.Ops) || s.TagUsersAdded == 0 {
		t.Errorf("summary %+v", s)
	}
	if err := p.Guard(0, 0); err != nil {
		t.Errorf("a first plan disables nothing, but: %v", err)
	}
}

// TestSecondPlanIsEmpty: once the first plan is applied (the mirror records
// what each op wrote), the same data center plans nothing.
func TestSecondPlanIsEmpty(t *testing.T) {
	u := smallDemo()
	dc := u.DataCenter()
	d := desiredOf(t, dc, demoRules(u))
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	p1 := contacts.BuildPlan(d, contacts.State{}, contacts.PlanOptions{Now: now, DeleteAfter: 30 * 24 * time.Hour})
	st := applyPlan(t, contacts.State{}, p1, now)
	p2 := contacts.BuildPlan(d, st, contacts.PlanOptions{Now: now.Add(time.Hour), DeleteAfter: 30 * 24 * time.Hour})
	if len(p2.Ops) != 0 || len(p2.Notes) != 0 {
		t.Fatalf("second plan: %s\n%s", p2.Summary(), strings.Join(describe(p2, st), "\n"))
	}
	if got := p2.Summary().String(); got != "nothing to do" {
		t.Errorf("summary %q", got)
	}
}

// churnRules are a few tags of every sort for the churn tests.
func churnRules() []contacts.TagRule {
	return []contacts.TagRule{
		{Name: "本科生", Rule: `kind == "student" && level == "undergraduate"`, Enabled: true},
		{Name: "计算机25级1班", Rule: `kind == "student" && dept == "10005001"`, Enabled: true},
		{Name: "水产2024级本科生", Rule: `kind == "student" && level == "undergraduate" && grade == 2024 && "水产学院" in dept_names`, Enabled: true},
		{Name: "辅导员", Rule: `category == "counselor"`, Enabled: true},
	}
}

// TestChurn: each change of the data center or the rules gives exactly
// the ops it needs, and applying them converges.
func TestChurn(t *testing.T) {
	u := smallDemo()
	base := u.DataCenter()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	opts := contacts.PlanOptions{Now: now, DeleteAfter: 30 * 24 * time.Hour}
	mirror := applyPlan(t, contacts.State{}, contacts.BuildPlan(desiredOf(t, base, churnRules()), contacts.State{}, opts), now.Add(-time.Hour))

	student := func(dc *store.DataCenter, no string) *store.DCStudent {
		for i := range dc.Students {
			if dc.Students[i].StudentNo == no {
				return &dc.Students[i]
			}
		}
		t.Fatalf("no student %s", no)
		return nil
	}
	faculty := func(dc *store.DataCenter, no string) *store.DCFaculty {
		for i := range dc.Faculty {
			if dc.Faculty[i].StaffNo == no {
				return &dc.Faculty[i]
			}
		}
		t.Fatalf("no faculty %s", no)
		return nil
	}
	// The first counselor of 计算机科学与工程学院 and the students of
	// its classes, as the demo makes them.
	counselor := ""
	for _, f := range base.Faculty {
		if f.Category == demo.CatCounselor && counselor == "" {
			counselor = f.StaffNo
		}
	}
	var aquatic2024 []string
	for _, s := range base.Students {
		if s.Grade == 2024 && s.Level == "undergraduate" && s.CollegeCode == "1001" {
			aquatic2024 = append(aquatic2024, s.StudentNo)
		}
	}
	var aquatic2025 []string
	for _, s := range base.Students {
		if s.Grade == 2025 && s.Level == "undergraduate" && s.CollegeCode == "1001" {
			aquatic2025 = append(aquatic2025, s.StudentNo)
		}
	}
	const joiner, mover = "202501010109", "202501010103"

	join := func(dc *store.DataCenter, _ []contacts.TagRule) []contacts.TagRule {
		dc.Students = append(dc.Students, store.DCStudent{StudentNo: joiner, Name: "新同学", CollegeCode: "1000", ClassCode: "10005001",
			Grade: 2025, Level: "undergraduate", Gender: 2, Mobile: "13700000001", Status: "enrolled"})
		return nil
	}
	leave := func(dc *store.DataCenter, _ []contacts.TagRule) []contacts.TagRule {
		faculty(dc, counselor).Status = "left"
		return nil
	}
	transfer := func(dc *store.DataCenter, _ []contacts.TagRule) []contacts.TagRule {
		student(dc, mover).ClassCode = "10005002"
		return nil
	}
	rename := func(dc *store.DataCenter, _ []contacts.TagRule) []contacts.TagRule {
		for i := range dc.Departments {
			if dc.Departments[i].Code == "10005002" {
				dc.Departments[i].Name = "计算机科学与工程25级2班（卓越班）"
			}
		}
		return nil
	}
	ruleChange := func(_ *store.DataCenter, rules []contacts.TagRule) []contacts.TagRule {
		rules[2].Rule = strings.Replace(rules[2].Rule, "2024", "2025", 1)
		return rules
	}
	wantJoin := []string{
		"create_user " + joiner,
		"add_tag_users 本科生 " + joiner,
		"add_tag_users 计算机25级1班 " + joiner,
	}
	wantLeave := []string{
		"disable_user " + counselor + ` {"enable":0}`,
		"del_tag_users 辅导员 " + counselor,
	}
	wantTransfer := []string{
		"update_user " + mover + ` {"department":[10005002],"order":[0],"is_leader_in_dept":[0],"main_department":10005002}`,
		"del_tag_users 计算机25级1班 " + mover,
	}
	wantRename := []string{`update_department 10005002 {"name":"计算机科学与工程25级2班（卓越班）"}`}
	wantRule := []string{
		"del_tag_users 水产2024级本科生 " + strings.Join(aquatic2024, ","),
		"add_tag_users 水产2024级本科生 " + strings.Join(aquatic2025, ","),
	}
	cases := []struct {
		name   string
		change []func(*store.DataCenter, []contacts.TagRule) []contacts.TagRule
		want   []string
	}{
		{"a joiner", []func(*store.DataCenter, []contacts.TagRule) []contacts.TagRule{join}, wantJoin},
		{"a leaver", []func(*store.DataCenter, []contacts.TagRule) []contacts.TagRule{leave}, wantLeave},
		{"a transfer", []func(*store.DataCenter, []contacts.TagRule) []contacts.TagRule{transfer}, wantTransfer},
		{"a renamed department", []func(*store.DataCenter, []contacts.TagRule) []contacts.TagRule{rename}, wantRename},
		{"a changed tag rule", []func(*store.DataCenter, []contacts.TagRule) []contacts.TagRule{ruleChange}, wantRule},
		{"all of them", []func(*store.DataCenter, []contacts.TagRule) []contacts.TagRule{join, leave, transfer, rename, ruleChange}, []string{
			wantRename[0],
			wantJoin[0],
			wantTransfer[0],
			wantLeave[0],
			// Tags by name (byte order), removals before additions.
			wantJoin[1],
			wantRule[0], wantRule[1],
			"del_tag_users 计算机25级1班 " + mover, wantJoin[2],
			wantLeave[1],
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dc := cloneDC(base)
			rules := churnRules()
			for _, ch := range c.change {
				if r := ch(&dc, rules); r != nil {
					rules = r
				}
			}
			p := contacts.BuildPlan(desiredOf(t, dc, rules), mirror, opts)
			if d := cmp.Diff(c.want, describe(p, mirror)); d != "" {
				t.Errorf("ops (-want +got):\n%s", d)
			}
			if err := p.Guard(0, 0); err != nil {
				t.Errorf("guard: %v", err)
			}
			after := applyPlan(t, mirror, p, now)
			if again := contacts.BuildPlan(desiredOf(t, dc, rules), after, opts); len(again.Ops) != 0 {
				t.Errorf("not converged: %v", describe(again, after))
			}
		})
	}
}

func cloneDC(dc store.DataCenter) store.DataCenter {
	return store.DataCenter{Departments: slices.Clone(dc.Departments), Faculty: slices.Clone(dc.Faculty), Students: slices.Clone(dc.Students)}
}

// TestGuard: an export with half the students missing is refused, with the
// counts; so is one that abolishes a third of the departments; a few
// leavers pass.
func TestGuard(t *testing.T) {
	u := smallDemo()
	base := u.DataCenter()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	opts := contacts.PlanOptions{Now: now, DeleteAfter: 30 * 24 * time.Hour}
	mirror := applyPlan(t, contacts.State{}, contacts.BuildPlan(desiredOf(t, base, nil), contacts.State{}, opts), now)
	// The students of the second half, but the teacher who also studies
	// (a member through their staff record).
	halfGone := 0
	for _, s := range base.Students[len(base.Students)/2:] {
		if !slices.ContainsFunc(base.Faculty, func(f store.DCFaculty) bool { return f.StaffNo == s.StudentNo }) {
			halfGone++
		}
	}
	cases := []struct {
		name    string
		change  func(dc *store.DataCenter)
		share   float64
		members int // disabled or deleted; -1: the guard passes
		depts   int
	}{
		{"half the students missing", func(dc *store.DataCenter) { dc.Students = dc.Students[:len(dc.Students)/2] }, 0, halfGone, 0},
		{"the same with a 60% share", func(dc *store.DataCenter) { dc.Students = dc.Students[:len(dc.Students)/2] }, 0.6, -1, 0},
		{"two leavers", func(dc *store.DataCenter) { dc.Faculty[3].Status, dc.Students[5].Status = "left", "graduated" }, 0, -1, 0},
		{"every class abolished", func(dc *store.DataCenter) {
			for i := range dc.Departments {
				if dc.Departments[i].Kind == demo.KindClass {
					dc.Departments[i].Enabled = false
				}
			}
		}, 0, 0, 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dc := cloneDC(base)
			c.change(&dc)
			p := contacts.BuildPlan(desiredOf(t, dc, nil), mirror, opts)
			err := p.Guard(0, c.share)
			var ge *contacts.GuardError
			if c.members < 0 {
				if err != nil {
					t.Fatalf("guard refused: %v", err)
				}
				return
			}
			if !errors.As(err, &ge) {
				t.Fatalf("guard passed a plan of %s", p.Summary())
			}
			if ge.Members != c.members || ge.MembersTotal != len(mirror.Members) || ge.Departments != c.depts || ge.DepartmentsTotal != len(mirror.Departments) {
				t.Errorf("guard counts %+v", ge)
			}
			if want := fmt.Sprintf("%d of %d", max(c.members, c.depts), map[bool]int{true: len(mirror.Members), false: len(mirror.Departments)}[c.members > 0]); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

// TestTouched: an object someone changed in WeCom is re-asserted even
// though the mirror equals the desired state; one deleted there is made
// again; one made there and unknown to the data center is left alone
// unless ManageAll.
func TestTouched(t *testing.T) {
	u := smallDemo()
	dc := u.DataCenter()
	d := desiredOf(t, dc, churnRules())
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mirror := applyPlan(t, contacts.State{}, contacts.BuildPlan(d, contacts.State{}, contacts.PlanOptions{}), now)
	classTag := int64(0)
	for _, tg := range mirror.Tags {
		if tg.Name == "计算机25级1班" {
			classTag = tg.ID
		}
	}
	const student = "202501010101"
	cases := []struct {
		name      string
		touch     contacts.Touch
		manageAll bool
		want      []string
		notes     int
	}{
		{"a member", contacts.Touch{Kind: contacts.KindMember, ID: student, Event: "update_user", Mirrored: true}, false, []string{
			"update_user " + student + ` {"name":"` + memberName(d, student) + `","department":[10005001],"order":[0],"is_leader_in_dept":[0],"main_department":10005001,"position":"","gender":` + strconv.Itoa(memberGender(d, student)) + `,"mobile":"` + memberMobile(d, student) + `","email":"` + student + `@stu.demo.edu.cn","enable":1}`,
		}, 0},
		{"a deleted member", contacts.Touch{Kind: contacts.KindMember, ID: student, Event: "delete_user", Deleted: true, Mirrored: true}, false, []string{
			"create_user " + student,
		}, 0},
		{"a department", contacts.Touch{Kind: contacts.KindDepartment, ID: "100050", Event: "update_party", Mirrored: true}, false, []string{
			`update_department 100050 {"name":"2025级","parentid":1000,"order":500}`,
		}, 0},
		{"a tag", contacts.Touch{Kind: contacts.KindTag, ID: strconv.FormatInt(classTag, 10), Event: "update_tag", Mirrored: true}, false, []string{
			"update_tag 计算机25级1班",
			"add_tag_users 计算机25级1班 " + strings.Join(d.Tags[slices.IndexFunc(d.Tags, func(tg contacts.Tag) bool { return tg.Name == "计算机25级1班" })].Users, ","),
		}, 0},
		{"a member made in the console", contacts.Touch{Kind: contacts.KindMember, ID: "X001", Event: "create_user"}, false, nil, 1},
		{"the same, managing all", contacts.Touch{Kind: contacts.KindMember, ID: "X001", Event: "create_user"}, true, []string{`disable_user X001 {"enable":0}`}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := contacts.BuildPlan(d, mirror, contacts.PlanOptions{Touched: []contacts.Touch{c.touch}, ManageAll: c.manageAll})
			if diff := cmp.Diff(c.want, describe(p, mirror)); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
			if len(p.Notes) != c.notes {
				t.Errorf("notes %q, want %d", p.Notes, c.notes)
			}
		})
	}
}

func member(d contacts.Desired, id string) contacts.Member {
	i := slices.IndexFunc(d.Members, func(m contacts.Member) bool { return m.UserID == id })
	return d.Members[i]
}
func memberName(d contacts.Desired, id string) string   { return member(d, id).Name }
func memberGender(d contacts.Desired, id string) int    { return member(d, id).Gender }
func memberMobile(d contacts.Desired, id string) string { return member(d, id).Mobile }

// TestTagMemberChunks: tag membership changes fill calls of at most 1,000
// members and 100 departments, removals first.
func TestTagMemberChunks(t *testing.T) {
	users := func(from, n int) []string {
		var out []string
		for i := from; i < from+n; i++ {
			out = append(out, fmt.Sprintf("U%05d", i))
		}
		return out
	}
	var members []contacts.Member
	for _, id := range users(0, 5000) {
		members = append(members, contacts.Member{UserID: id, Name: id, Departments: []contacts.Membership{{Department: 2}}, MainDepartment: 2, Enabled: true})
	}
	var parties []int64
	for i := int64(0); i < 250; i++ {
		parties = append(parties, 1000+i)
	}
	depts := []contacts.Department{{ID: 2, DCCode: "2", Name: "全校", ParentID: 1}}
	desired := contacts.Desired{Departments: depts, Members: members, Tags: []contacts.Tag{
		{Name: "大", Users: users(0, 2500)},
		{Name: "换", Users: users(1500, 1000)},
	}}
	mirror := contacts.State{Departments: depts, Members: members, Tags: []contacts.Tag{
		{ID: 7, Name: "换", Users: users(0, 1500), Parties: parties},
	}}
	p := contacts.BuildPlan(desired, mirror, contacts.PlanOptions{})
	type call struct {
		kind           contacts.OpKind
		tag            int64
		users, parties int
		first          string
	}
	var got []call
	for _, op := range p.Ops {
		c := call{kind: op.Kind, tag: op.Tag, users: len(op.Users), parties: len(op.Parties)}
		if len(op.Users) > 0 {
			c.first = op.Users[0]
		}
		got = append(got, c)
	}
	want := []call{
		{contacts.OpCreateTag, 8, 0, 0, ""},
		{contacts.OpAddTagUsers, 8, 1000, 0, "U00000"},
		{contacts.OpAddTagUsers, 8, 1000, 0, "U01000"},
		{contacts.OpAddTagUsers, 8, 500, 0, "U02000"},
		{contacts.OpDelTagUsers, 7, 1000, 100, "U00000"},
		{contacts.OpDelTagUsers, 7, 500, 100, "U01000"},
		{contacts.OpDelTagUsers, 7, 0, 50, ""},
		{contacts.OpAddTagUsers, 7, 1000, 0, "U01500"},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(call{})); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	for _, op := range p.Ops {
		if op.Kind == contacts.OpAddTagUsers && op.Tag == 8 && !slices.Equal(op.Depends, []int{0}) {
			t.Errorf("op %d adds to the new tag without depending on its creation: %v", op.Index, op.Depends)
		}
	}
	if s := p.Summary(); s.TagUsersAdded != 3500 || s.TagUsersRemoved != 1500 {
		t.Errorf("summary %+v", s)
	}
}

// TestDeletions: leavers disabled longer than the grace period are
// deleted, others not; an abolished department is deleted after its
// members moved and its children went; departments and tags the sync did
// not make are left alone.
func TestDeletions(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	long, recent := now.Add(-40*24*time.Hour), now.Add(-24*time.Hour)
	m := func(id string, dept int64, enabled bool, at time.Time) contacts.Member {
		return contacts.Member{UserID: id, Name: id, Departments: []contacts.Membership{{Department: dept}}, MainDepartment: dept, Enabled: enabled, Mobile: "13900000000", WrittenAt: at}
	}
	mirror := contacts.State{
		Departments: []contacts.Department{
			{ID: 10, DCCode: "10", Name: "水产学院", ParentID: 1},
			{ID: 11, DCCode: "11", Name: "旧系", ParentID: 10},
			{ID: 12, DCCode: "12", Name: "旧系一班", ParentID: 11},
			{ID: 50, Name: "手建部门", ParentID: 1}, // no data-center code
		},
		Members: []contacts.Member{
			m("A", 10, false, long),   // left long ago: deleted
			m("B", 10, false, recent), // left yesterday: kept disabled
			m("C", 12, true, recent),  // in the abolished class: moved
			m("D", 11, true, recent),  // absent from the data center: disabled, moved out
		},
		Tags: []contacts.Tag{{ID: 3, Name: "旧标签", Users: []string{"C"}}},
	}
	desired := contacts.Desired{
		Departments: []contacts.Department{{ID: 10, DCCode: "10", Name: "水产学院", ParentID: 1}},
		Members: []contacts.Member{
			m("A", 10, false, time.Time{}), m("B", 10, false, time.Time{}), m("C", 10, true, time.Time{}),
		},
	}
	cases := []struct {
		name      string
		opts      contacts.PlanOptions
		want      []string
		guardFail bool
	}{
		{"with a grace period", contacts.PlanOptions{Now: now, DeleteAfter: 30 * 24 * time.Hour}, []string{
			`update_user C {"department":[10],"order":[0],"is_leader_in_dept":[0],"main_department":10}`,
			`disable_user D {"department":[1],"order":[0],"is_leader_in_dept":[0],"main_department":1,"enable":0}`,
			"delete_tag 旧标签",
			"delete_user A",
			"delete_department 12",
			"delete_department 11",
		}, true},
		{"without one", contacts.PlanOptions{Now: now}, []string{
			`update_user C {"department":[10],"order":[0],"is_leader_in_dept":[0],"main_department":10}`,
			`disable_user D {"department":[1],"order":[0],"is_leader_in_dept":[0],"main_department":1,"enable":0}`,
			"delete_tag 旧标签",
			"delete_department 12",
			"delete_department 11",
		}, true},
		{"managing all", contacts.PlanOptions{Now: now, ManageAll: true}, []string{
			`update_user C {"department":[10],"order":[0],"is_leader_in_dept":[0],"main_department":10}`,
			`disable_user D {"department":[1],"order":[0],"is_leader_in_dept":[0],"main_department":1,"enable":0}`,
			"delete_tag 旧标签",
			"delete_department 12",
			"delete_department 11",
			"delete_department 50",
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := contacts.BuildPlan(desired, mirror, c.opts)
			if d := cmp.Diff(c.want, describe(p, mirror)); d != "" {
				t.Fatalf("ops (-want +got):\n%s", d)
			}
			// The class goes before its department, and after the member in it.
			byDept := map[int64]contacts.Op{}
			userOp := map[string]int{}
			for _, op := range p.Ops {
				if op.Kind == contacts.OpDeleteDepartment {
					byDept[op.Department] = op
				}
				if op.UserID != "" {
					userOp[op.UserID] = op.Index
				}
			}
			if !slices.Contains(byDept[12].Depends, userOp["C"]) || !slices.Contains(byDept[11].Depends, byDept[12].Index) || !slices.Contains(byDept[11].Depends, userOp["D"]) {
				t.Errorf("dependencies: 12 %v, 11 %v (C %d, D %d)", byDept[12].Depends, byDept[11].Depends, userOp["C"], userOp["D"])
			}
			applyPlan(t, mirror, p, now)
		})
	}
	// A department that keeps a member the sync may not move stays.
	held := desired
	held.Members = held.Members[:2]
	held.HeldMembers = []string{"C"}
	p := contacts.BuildPlan(held, mirror, contacts.PlanOptions{Now: now})
	for _, op := range p.Ops {
		if op.Kind == contacts.OpDeleteDepartment {
			t.Errorf("deleted department %d although a held member is in (or below) it", op.Department)
		}
	}
	if len(p.Notes) != 2 {
		t.Errorf("notes %q, want one for each of 12 and 11", p.Notes)
	}
}

// TestPlanDeterministic: the plan does not depend on the order of the
// data center's rows, the rules or the mirror's lists.
func TestPlanDeterministic(t *testing.T) {
	u := smallDemo()
	dc := u.DataCenter()
	rules := demoRules(u)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d := desiredOf(t, dc, rules)
	mirror := applyPlan(t, contacts.State{}, contacts.BuildPlan(d, contacts.State{}, contacts.PlanOptions{}), now)
	// Some churn, so that every phase has ops.
	dc.Students = dc.Students[10:]
	dc.Students = append(dc.Students, store.DCStudent{StudentNo: "202501010109", Name: "新同学", CollegeCode: "1000", ClassCode: "10005001",
		Grade: 2025, Level: "undergraduate", Mobile: "13700000001", Status: "enrolled"})
	dc.Faculty[4].DeptCode = "201"
	dc.Departments[3].Name += "（新）"
	rules = rules[1:]
	opts := contacts.PlanOptions{Now: now, Touched: []contacts.Touch{{Kind: contacts.KindMember, ID: dc.Faculty[9].StaffNo, Mirrored: true}}}
	plan := func(rnd *rand.Rand) string {
		dc2, rules2, m2 := cloneDC(dc), slices.Clone(rules), mirror
		m2.Departments, m2.Members, m2.Tags = slices.Clone(mirror.Departments), slices.Clone(mirror.Members), slices.Clone(mirror.Tags)
		if rnd != nil {
			rnd.Shuffle(len(dc2.Departments), func(i, j int) { dc2.Departments[i], dc2.Departments[j] = dc2.Departments[j], dc2.Departments[i] })
			rnd.Shuffle(len(dc2.Faculty), func(i, j int) { dc2.Faculty[i], dc2.Faculty[j] = dc2.Faculty[j], dc2.Faculty[i] })
			rnd.Shuffle(len(dc2.Students), func(i, j int) { dc2.Students[i], dc2.Students[j] = dc2.Students[j], dc2.Students[i] })
			rnd.Shuffle(len(rules2), func(i, j int) { rules2[i], rules2[j] = rules2[j], rules2[i] })
			rnd.Shuffle(len(m2.Departments), func(i, j int) { m2.Departments[i], m2.Departments[j] = m2.Departments[j], m2.Departments[i] })
			rnd.Shuffle(len(m2.Members), func(i, j int) { m2.Members[i], m2.Members[j] = m2.Members[j], m2.Members[i] })
			rnd.Shuffle(len(m2.Tags), func(i, j int) { m2.Tags[i], m2.Tags[j] = m2.Tags[j], m2.Tags[i] })
		}
		d, probs := contacts.BuildDesired(dc2, rules2, contacts.DesiredOptions{})
		var b bytes.Buffer
		for _, p := range probs {
			fmt.Fprintln(&b, p)
		}
		if err := contacts.BuildPlan(d, m2, opts).WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	want := plan(nil)
	for _, kind := range []string{"create_user", "update_user", "update_department", "disable_user", "delete_tag", "del_tag_users"} {
		if !strings.Contains(want, `"kind":"`+kind+`"`) {
			t.Errorf("the churned plan has no %s op", kind)
		}
	}
	for seed := uint64(1); seed <= 5; seed++ {
		if got := plan(rand.New(rand.NewPCG(seed, 9))); got != want {
			t.Fatalf("seed %d: the plan differs:\n%s", seed, cmp.Diff(want, got))
		}
	}
}

// TestWriteJSON: the plan file holds the summary, the notes and every op,
// with mobile numbers and email addresses masked.
func TestWriteJSON(t *testing.T) {
	u := smallDemo()
	dc := u.DataCenter()
	p := contacts.BuildPlan(desiredOf(t, dc, churnRules()), contacts.State{}, contacts.PlanOptions{})
	var b bytes.Buffer
	if err := p.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var file struct {
		Summary contacts.Summary `json:"summary"`
		Notes   []string         `json:"notes"`
		Ops     []contacts.Op    `json:"ops"`
	}
	if err := json.Unmarshal(b.Bytes(), &file); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String()[:200])
	}
	if len(file.Ops) != len(p.Ops) || file.Summary.Ops != len(p.Ops) {
		t.Fatalf("%d ops in the file, summary %d, plan %d", len(file.Ops), file.Summary.Ops, len(p.Ops))
	}
	for _, f := range dc.Faculty[:5] {
		if bytes.Contains(b.Bytes(), []byte(f.Mobile)) || bytes.Contains(b.Bytes(), []byte(f.Email)) {
			t.Errorf("the file holds %s's mobile or email in clear", f.StaffNo)
		}
	}
	op := file.Ops[slices.IndexFunc(file.Ops, func(o contacts.Op) bool { return o.UserID == dc.Faculty[0].StaffNo })]
	if m := dc.Faculty[0].Mobile; *op.UserFields.Mobile != m[:3]+"****"+m[7:] {
		t.Errorf("mobile %q in the file", *op.UserFields.Mobile)
	}
	// Masking the file leaves the plan itself alone.
	if got := *p.Ops[op.Index].UserFields.Mobile; got != dc.Faculty[0].Mobile {
		t.Errorf("the plan's mobile became %q", got)
	}
	if !strings.Contains(p.Summary().String(), "create_user "+strconv.Itoa(file.Summary.Kinds[1].Count)) {
		t.Errorf("summary %q", p.Summary())
	}
}

// BenchmarkPlanFull: the full-scale university (2,013 departments, 36,000
// people, its tags as rules): computing the desired state, the first plan
// against an empty mirror, and a plan with nothing changed.
func BenchmarkPlanFull(b *testing.B) {
	s := demo.Full()
	s.Year = 2025
	u := demo.Generate(s)
	dc := u.DataCenter()
	rules := demoRules(u)
	// 本科生 (31,104 students) is over WeCom's 30,000 a tag as a list of
	// members: it is held with a problem (the demo tags it by department).
	d, probs := contacts.BuildDesired(dc, rules, contacts.DesiredOptions{})
	if len(d.Departments) != 2013-4 || len(d.HeldTags) != 1 || len(probs) != 1 {
		b.Fatalf("%d departments, held tags %v, problems %v", len(d.Departments), d.HeldTags, probs)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mirror := applyPlan(b, contacts.State{}, contacts.BuildPlan(d, contacts.State{}, contacts.PlanOptions{}), now)
	b.Run("desired", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			contacts.BuildDesired(dc, rules, contacts.DesiredOptions{})
		}
	})
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			contacts.BuildPlan(d, contacts.State{}, contacts.PlanOptions{})
		}
	})
	b.Run("nochange", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p := contacts.BuildPlan(d, mirror, contacts.PlanOptions{Now: now}); len(p.Ops) != 0 {
				b.Fatalf("%d ops", len(p.Ops))
			}
		}
	})
}
