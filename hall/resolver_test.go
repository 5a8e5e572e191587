package hall_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/hall/def"
)

// TestResolver: every approver kind finds the demo university's people
// from the data center and the mirror's tags.
func TestResolver(t *testing.T) {
	r := newRig(t, time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Zone))
	ctx := context.Background()
	res := r.eng.Resolver()
	stu := r.student(t)
	byID := map[string]demo.Person{}
	for _, p := range r.u.People {
		byID[p.UserID] = p
	}
	college, _ := strconv.Atoi(stu.College)
	var dean, deputy, lecturer, head, retired string
	var officeStaff []string
	xgc := ""
	for _, d := range r.u.Departments {
		if d.Name == "学生工作处" {
			xgc = d.Code
		}
	}
	for _, p := range r.u.People {
		switch {
		case p.Position == "院长" && p.MainDepartment == college:
			dean = p.UserID
		case p.Position == demo.PositionDeputySecretary && p.MainDepartment/100 == college:
			deputy = p.UserID
		case p.Position == "讲师" && lecturer == "" && len(p.Categories) == 1:
			lecturer = p.UserID
		case p.Position == "处长" && p.MainDepartment == 200:
			head = p.UserID
		case p.Main() == "retired" && retired == "":
			retired = p.UserID
		case p.Position == "科员" && strconv.Itoa(p.MainDepartment) == xgc:
			officeStaff = append(officeStaff, p.UserID)
		}
	}
	// The teacher who studies here too applies as either.
	for _, p := range r.u.People {
		if len(p.Categories) > 2 && p.Main() == demo.CatStaff {
			if a, err := res.ApplicantFor(ctx, p.UserID, def.Students); err != nil || a.Kind != "student" || a.Level != "doctoral" {
				t.Errorf("%s as a student: %+v %v", p.UserID, a, err)
			}
			if a, err := res.Applicant(ctx, p.UserID); err != nil || a.Kind != "faculty" {
				t.Errorf("%s: %+v %v", p.UserID, a, err)
			}
		}
	}
	fac, err := res.Applicant(ctx, lecturer)
	if err != nil || fac.Kind != "faculty" || fac.College != strconv.Itoa(byID[lecturer].MainDepartment/100) {
		t.Fatalf("faculty applicant %s: %+v %v", lecturer, fac, err)
	}
	var teachingHead string
	for _, p := range r.u.People {
		if p.Position == "系主任" && p.MainDepartment == byID[lecturer].MainDepartment {
			teachingHead = p.UserID
		}
	}
	for _, c := range []struct {
		a    def.Applicant
		src  def.Approver
		want []string
	}{
		{stu, def.Approver{Kind: def.Counselor}, []string{byID[stu.UserID].CounselorID}},
		{stu, def.Approver{Kind: def.CollegeHead}, []string{dean}},
		{stu, def.Approver{Kind: def.CollegePost, Post: demo.PositionDeputySecretary}, []string{deputy}},
		{fac, def.Approver{Kind: def.DeptLeader}, []string{teachingHead}},
		{stu, def.Approver{Kind: def.Post, Dept: "200", Post: "处长"}, []string{head}},
		{stu, def.Approver{Kind: def.TagMembers, Tag: "学生工作处审批人"}, officeStaff},
		{stu, def.Approver{Kind: def.NamedUsers, Users: []string{retired, head, stu.UserID}}, []string{head}},
		{stu, def.Approver{Kind: def.ApplicantSelf}, []string{stu.UserID}},
		{fac, def.Approver{Kind: def.Counselor}, nil},
	} {
		got, err := res.ResolveContext(ctx, c.a, c.src)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.want) > 0 && c.want[0] == "" || !slices.Equal(got, c.want) {
			t.Errorf("%s for %s: %v, want %v", c.src.Kind, c.a.UserID, got, c.want)
		}
	}
	for _, c := range []struct {
		aud def.Audience
		src def.Approver
		ok  bool
	}{
		{def.Students, def.Approver{Kind: def.Counselor}, true},
		{def.Faculty, def.Approver{Kind: def.Counselor}, false},
		{def.Students, def.Approver{Kind: def.CollegePost, Post: demo.PositionDeputySecretary}, true},
		{def.Students, def.Approver{Kind: def.CollegePost, Post: "教务秘书"}, false},
		{def.Members, def.Approver{Kind: def.TagMembers, Tag: "信息中心运维"}, true},
		{def.Members, def.Approver{Kind: def.TagMembers, Tag: "没有的标签"}, false},
		{def.Members, def.Approver{Kind: def.Post, Dept: "nope", Post: "处长"}, false},
	} {
		if ok, why := res.Possible(c.aud, c.src); ok != c.ok {
			t.Errorf("possible %s %+v: %v (%s), want %v", c.aud, c.src, ok, why, c.ok)
		}
	}
}
