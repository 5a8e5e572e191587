package handler_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/store"
)

// The service hall's console: an admin changes a process's condition and
// publishes a new version while applications already submitted keep
// theirs; a definition with problems is refused with each problem shown
// where it is; the simulator names who would approve; a stuck task is
// handed to someone else; every change is audited, and only hall admins
// (within their departments) get in.

// hallStudent is an undergraduate with a counselor, as the engine sees
// them, and the demo person.
func hallStudent(t *testing.T, e *apptest.Env) (def.Applicant, *demo.Person) {
	t.Helper()
	for i := range e.Uni.People {
		p := &e.Uni.People[i]
		if p.Main() == demo.CatUndergrad && p.CounselorID != "" && p.Status == 1 {
			a, err := e.Hall.Applicant(context.Background(), p.UserID)
			if err != nil {
				t.Fatal(err)
			}
			return a, p
		}
	}
	t.Fatal("no undergraduate with a counselor in the demo")
	return def.Applicant{}, nil
}

func demoName(t *testing.T, e *apptest.Env, userid string) string {
	t.Helper()
	for _, p := range e.Uni.People {
		if p.UserID == userid {
			return p.Name
		}
	}
	t.Fatalf("no demo person %s", userid)
	return ""
}

// leaveDates are a leave of days days starting a week from now.
func leaveDates(days int) (string, string) {
	start := time.Now().AddDate(0, 0, 7)
	return start.Format("2006-01-02"), start.AddDate(0, 0, days-1).Format("2006-01-02")
}

func hallLeave(days int) url.Values {
	start, end := leaveDates(days)
	return url.Values{"leave_type": {"事假"}, "leave.start": {start}, "leave.end": {end}, "reason": {"回家处理家事"},
		"leave_campus": {"是"}, "destination": {"海滨市"}, "emergency_phone": {"13912345678"}}
}

var (
	simStep     = regexp.MustCompile(`(?s)<li class="path__step" data-testid="sim-step" data-step="([a-z0-9_]+)">(.*?)</li>`)
	simApprover = regexp.MustCompile(`data-testid="sim-approver" data-userid="([^"]+)">([^<]*)<`)
	problemLI   = regexp.MustCompile(`(?s)<li data-testid="problem" data-where="([^"]*)"><b class="problem__place">([^<]*)</b>：<span class="problem__text">([^<]*)</span>`)
)

// simulated is the path the simulator shows: step ids, and each step's
// approvers as "userid name".
func simulated(t *testing.T, page string) ([]string, map[string][]string) {
	t.Helper()
	var steps []string
	who := map[string][]string{}
	for _, m := range simStep.FindAllStringSubmatch(page, -1) {
		steps = append(steps, m[1])
		for _, a := range simApprover.FindAllStringSubmatch(m[2], -1) {
			who[m[1]] = append(who[m[1]], a[1]+" "+strings.TrimSpace(a[2]))
		}
	}
	return steps, who
}

// editable is a copy of the latest version of key to change: the
// engine's own is shared with its cache.
func editable(t *testing.T, e *apptest.Env, key string) *def.Process {
	t.Helper()
	p, err := e.Hall.Process(context.Background(), key, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	cp, err := def.ParseJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	cp.Version = 0
	return cp
}

func first[A, B any](a A, _ B) A { return a }

func simulate(t *testing.T, e *apptest.Env, c *http.Client, key string, version int, userid string, days int) string {
	t.Helper()
	q := hallLeave(days)
	q.Set("userid", userid)
	if version > 0 {
		q.Set("version", strconv.Itoa(version))
	}
	resp := apptest.Get(t, c, e.URL+"/admin/hall/"+key+"/simulate?"+q.Encode(), "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the simulator answered %d: %s", resp.StatusCode, body(t, resp))
	}
	return body(t, resp)
}

func TestAdminHallSimulatorNamesWhoApproves(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ctx := context.Background()
	admin := superAdmin(t, e)
	stu, person := hallStudent(t, e)
	deputies, err := e.Hall.Resolver().ResolveContext(ctx, stu, def.Approver{Kind: def.CollegePost, Post: demo.PositionDeputySecretary})
	if err != nil || len(deputies) != 1 {
		t.Fatalf("the student's college has deputies %v (%v)", deputies, err)
	}
	office, err := e.Hall.Resolver().ResolveContext(ctx, stu, def.Approver{Kind: def.TagMembers, Tag: "学生工作处审批人"})
	if err != nil || len(office) == 0 {
		t.Fatalf("学生工作处审批人 has %v (%v)", office, err)
	}
	for _, p := range e.Uni.People {
		if p.UserID == deputies[0] && p.Position != demo.PositionDeputySecretary {
			t.Fatalf("the resolver's deputy %s holds %s", p.UserID, p.Position)
		}
	}
	counselor := person.CounselorID + " " + demoName(t, e, person.CounselorID)
	deputy := deputies[0] + " " + demoName(t, e, deputies[0])

	page := simulate(t, e, admin, "student_leave", 0, stu.UserID, 5)
	if !strings.Contains(page, `data-testid="sim-applicant"`) || !strings.Contains(page, stu.Name) {
		t.Errorf("the simulator does not say who applies:\n%s", page)
	}
	steps, who := simulated(t, page)
	if !slices.Equal(steps, []string{"counselor", "deputy"}) {
		t.Fatalf("a 5-day leave goes through %v, want counselor then deputy:\n%s", steps, page)
	}
	if !slices.Equal(who["counselor"], []string{counselor}) || !slices.Equal(who["deputy"], []string{deputy}) {
		t.Errorf("approvers %v, want the counselor %q and the deputy %q", who, counselor, deputy)
	}
	if !strings.Contains(page, "leave.days &gt; 3") {
		t.Error("the simulator does not show the condition that led to the deputy")
	}

	page = simulate(t, e, admin, "student_leave", 0, stu.UserID, 10)
	steps, who = simulated(t, page)
	if !slices.Equal(steps, []string{"counselor", "deputy", "office"}) {
		t.Fatalf("a 10-day leave goes through %v, want counselor, deputy, office", steps)
	}
	var want []string
	for _, id := range office {
		want = append(want, id+" "+demoName(t, e, id))
	}
	if !slices.Equal(who["office"], want) {
		t.Errorf("the office step's approvers %v, want %v", who["office"], want)
	}

	// Somebody the data center does not know, and a teacher for a
	// students' process, are told apart from a path.
	if page := simulate(t, e, admin, "student_leave", 0, "nobody-here", 5); !strings.Contains(page, `data-testid="sim-problem"`) || strings.Contains(page, `data-testid="sim-path"`) {
		t.Errorf("an unknown person gets a path:\n%s", page)
	}
}

func TestAdminHallPublishesANewVersionAndOldApplicationsKeepTheirs(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ctx := context.Background()
	admin := superAdmin(t, e)
	stu, _ := hallStudent(t, e)

	// An application submitted under version 1.
	before, ferrs, err := e.Hall.Apply(ctx, stu, "student_leave", hallLeave(3))
	if err != nil || ferrs != nil {
		t.Fatalf("apply: %v %v", ferrs, err)
	}

	list := body(t, apptest.Get(t, admin, e.URL+"/admin/hall", ""))
	if !strings.Contains(list, `href="/admin/hall"`) || !strings.Contains(list, `href="/admin/hall/student_leave/edit"`) {
		t.Fatalf("the console lists no student_leave to edit:\n%s", list)
	}
	edit := body(t, apptest.Get(t, admin, e.URL+"/admin/hall/student_leave/edit", ""))
	if !strings.Contains(edit, `data-testid="current-version">1<`) {
		t.Fatalf("the designer does not show version 1:\n%s", edit)
	}

	// Deputy above 2 days instead of 3.
	p := editable(t, e, "student_leave")
	if p.Steps[0].Next[0].When != "leave.days > 3" {
		t.Fatalf("the shipped condition is %q", p.Steps[0].Next[0].When)
	}
	p.Steps[0].Next[0].When = "leave.days > 2"
	p.Version = 0
	b, _ := json.Marshal(p)

	// 校验 first: nothing wrong, nothing published.
	resp := post(t, admin, e.URL+"/admin/hall/student_leave/edit", url.Values{"definition": {string(b)}, "do": {"validate"}})
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="valid"`) {
		t.Fatalf("校验 answered %d:\n%s", resp.StatusCode, page)
	}
	if cur, _ := e.Hall.Process(ctx, "student_leave", 0); cur.Version != 1 {
		t.Fatalf("校验 published version %d", cur.Version)
	}

	loc := location(t, post(t, admin, e.URL+"/admin/hall/student_leave/edit", url.Values{"definition": {string(b)}, "do": {"publish"}}))
	if !strings.Contains(loc, "flash=") {
		t.Fatalf("发布 redirected to %s", loc)
	}
	page := body(t, apptest.Get(t, admin, loc, ""))
	if !strings.Contains(page, `data-testid="current-version">2<`) || !strings.Contains(page, `data-version="1"`) || !strings.Contains(page, `data-version="2"`) {
		t.Fatalf("after 发布 the designer shows:\n%s", page)
	}
	if !strings.Contains(page, "已发布 学生请假 版本 2") {
		t.Error("no confirmation of the new version")
	}
	cur, err := e.Hall.Process(ctx, "student_leave", 0)
	if err != nil || cur.Version != 2 || cur.Steps[0].Next[0].When != "leave.days > 2" {
		t.Fatalf("the latest version is %d with %q (%v)", cur.Version, cur.Steps[0].Next[0].When, err)
	}

	// The application from before runs under version 1; new ones under 2.
	app, err := e.Hall.Application(ctx, before, hall.Viewer{Admin: true})
	if err != nil || app.Version != 1 {
		t.Fatalf("the earlier application runs under version %d (%v)", app.Version, err)
	}
	if page := body(t, apptest.Get(t, admin, e.URL+"/admin/hall/a/"+itoa(before), "")); !strings.Contains(page, "student_leave 版本 1") {
		t.Errorf("the application's page does not say version 1:\n%s", page)
	}
	if steps, _ := simulated(t, simulate(t, e, admin, "student_leave", 0, stu.UserID, 3)); !slices.Equal(steps, []string{"counselor", "deputy"}) {
		t.Errorf("a 3-day leave under version 2 goes through %v", steps)
	}
	if page := simulate(t, e, admin, "student_leave", 1, stu.UserID, 3); !slices.Equal(first(simulated(t, page)), []string{"counselor"}) {
		t.Errorf("a 3-day leave under version 1 goes through %v:\n%s", first(simulated(t, page)), page)
	}

	// Audited with the definition before and after.
	rows := auditActions(t, e, "hall.process.publish")
	if len(rows) != 1 || rows[0].Actor != e.SuperAdmin || rows[0].Object != "hall_process/student_leave" ||
		!strings.Contains(rows[0].After, `"version":2`) || !strings.Contains(rows[0].After, "leave.days \\u003e 2") && !strings.Contains(rows[0].After, "leave.days > 2") ||
		!strings.Contains(rows[0].Before, `"version":1`) {
		t.Fatalf("the audit log has %+v", rows)
	}
}

func TestAdminHallRefusesADefinitionWithProblemsWhereTheyAre(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ctx := context.Background()
	admin := superAdmin(t, e)
	p := editable(t, e, "student_leave")
	p.Key, p.Name, p.Version = "leave_draft", "请假草稿", 0
	p.Steps[0].Next[0].When = "leave.days >"                                   // does not parse
	p.Steps[2].Approvers = []def.Approver{{Kind: def.TagMembers, Tag: "无人标签"}} // nobody holds it
	p.Steps = append(p.Steps, def.Step{ID: "orphan", Name: "无人转到", Mode: def.AnyOf, Approvers: []def.Approver{{Kind: def.Counselor}}})
	b, _ := json.Marshal(p)

	resp := post(t, admin, e.URL+"/admin/hall/new", url.Values{"definition": {string(b)}, "do": {"publish"}})
	page := body(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("publishing a broken definition answered %d", resp.StatusCode)
	}
	got := map[string]string{}
	for _, m := range problemLI.FindAllStringSubmatch(page, -1) {
		got[m[1]] = m[2] + "：" + m[3]
	}
	for where, want := range map[string][]string{
		"steps.orphan":            {"第 4 步“无人转到”", "到不了这一步"},
		"steps.counselor.next[0]": {"第 1 步“辅导员审批”的第 1 个分支", "条件无法编译"},
		"steps.office":            {"第 3 步“学生工作处审批”", "不可能有审批人", "无人标签", "没有成员"},
	} {
		for _, w := range want {
			if !strings.Contains(got[where], w) {
				t.Errorf("problem at %s reads %q, want it to say %q", where, got[where], w)
			}
		}
	}
	if len(got) != 3 {
		t.Errorf("problems shown: %v, want exactly those three", got)
	}
	// The definition comes back to fix, and nothing was published.
	if !strings.Contains(page, `leave.days \u003e`) || !strings.Contains(page, "无人转到") {
		t.Error("the refused definition is not shown again")
	}
	if _, err := e.Hall.Process(ctx, "leave_draft", 0); err == nil {
		t.Error("the broken definition was published")
	}
	if rows := auditActions(t, e, "hall.process.publish"); len(rows) != 0 {
		t.Errorf("a refused publish is audited: %+v", rows)
	}

	// A definition that is not JSON at all says so.
	resp = post(t, admin, e.URL+"/admin/hall/new", url.Values{"definition": {`{"key": "x",`}, "do": {"validate"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="parse-error"`) {
		t.Errorf("broken JSON answered %d:\n%s", resp.StatusCode, page)
	}
	// A new process may not take an existing key.
	p = editable(t, e, "vpn_open")
	b, _ = json.Marshal(p)
	resp = post(t, admin, e.URL+"/admin/hall/new", url.Values{"definition": {string(b)}, "do": {"publish"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "已被流程") {
		t.Errorf("a new process over vpn_open answered %d", resp.StatusCode)
	}
}

func TestAdminHallReassignsAStuckTask(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ctx := context.Background()
	admin := superAdmin(t, e)
	stu, person := hallStudent(t, e)
	id, ferrs, err := e.Hall.Apply(ctx, stu, "student_leave", hallLeave(2))
	if err != nil || ferrs != nil {
		t.Fatalf("apply: %v %v", ferrs, err)
	}
	app, err := e.Hall.Application(ctx, id, hall.Viewer{Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	var task int64
	for _, x := range app.Tasks {
		if x.State == hall.TaskOpen {
			task = x.ID
		}
	}
	if task == 0 || app.Tasks[0].Assignee != person.CounselorID {
		t.Fatalf("the tasks: %+v", app.Tasks)
	}
	// Another counselor takes it.
	var other string
	for _, p := range e.Uni.People {
		if p.Main() == demo.CatCounselor && p.Status == 1 && p.UserID != person.CounselorID {
			other = p.UserID
			break
		}
	}
	if other == "" {
		t.Fatal("no other counselor")
	}
	page := body(t, apptest.Get(t, admin, e.URL+"/admin/hall/a/"+itoa(id), ""))
	if !strings.Contains(page, `data-testid="reassign-form"`) || !strings.Contains(page, demoName(t, e, person.CounselorID)) {
		t.Fatalf("the application's page offers no reassignment:\n%s", page)
	}
	// Nobody by that id: the form says so.
	resp := post(t, admin, e.URL+"/admin/hall/a/"+itoa(id)+"/reassign", url.Values{"task": {itoa(task)}, "to": {"nobody-here"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="field-error"`) || !strings.Contains(page, "nobody-here 不是在职的成员") {
		t.Fatalf("reassigning to nobody answered %d", resp.StatusCode)
	}
	// To whoever has it already: said so, not "nobody".
	resp = post(t, admin, e.URL+"/admin/hall/a/"+itoa(id)+"/reassign", url.Values{"task": {itoa(task)}, "to": {person.CounselorID}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, person.CounselorID+" 已经是这个任务的办理人") {
		t.Errorf("reassigning to the assignee answered %d", resp.StatusCode)
	}
	loc := location(t, post(t, admin, e.URL+"/admin/hall/a/"+itoa(id)+"/reassign", url.Values{"task": {itoa(task)}, "to": {other}}))
	if !strings.Contains(loc, "flash=") {
		t.Fatalf("转交 redirected to %s", loc)
	}
	app, _ = e.Hall.Application(ctx, id, hall.Viewer{Admin: true})
	var open []string
	for _, x := range app.Tasks {
		if x.State == hall.TaskOpen {
			open = append(open, x.Assignee)
		}
	}
	if !slices.Equal(open, []string{other}) {
		t.Fatalf("open tasks after 转交: %v, want %s's", open, other)
	}
	page = body(t, apptest.Get(t, admin, loc, ""))
	if !strings.Contains(page, "管理员转交") || !strings.Contains(page, demoName(t, e, other)) {
		t.Errorf("the trail does not show the reassignment:\n%s", page)
	}
	rows := auditActions(t, e, "hall.task.reassign")
	if len(rows) != 1 || rows[0].Actor != e.SuperAdmin || !strings.Contains(rows[0].After, other) {
		t.Fatalf("the audit log has %+v", rows)
	}
	// The old task is handled: reassigning it again is refused.
	resp = post(t, admin, e.URL+"/admin/hall/a/"+itoa(id)+"/reassign", url.Values{"task": {itoa(task)}, "to": {person.CounselorID}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "已经处理过") {
		t.Errorf("reassigning a handled task answered %d:\n%s", resp.StatusCode, page)
	}
	// The statistics count the application.
	stats := body(t, apptest.Get(t, admin, e.URL+"/admin/hall/stats", ""))
	if !regexp.MustCompile(`(?s)data-key="student_leave">.*?data-testid="stat-apps">1<`).MatchString(stats) || !strings.Contains(stats, "<svg") {
		t.Errorf("the statistics do not count the application:\n%s", stats)
	}
}

func TestAdminHallIsForHallAdminsWithinTheirDepartments(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ctx := context.Background()
	stu, person := hallStudent(t, e)
	id, _, err := e.Hall.Apply(ctx, stu, "student_leave", hallLeave(2))
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{"/admin/hall", "/admin/hall/new", "/admin/hall/stats", "/admin/hall/student_leave/edit",
		"/admin/hall/student_leave/simulate", "/admin/hall/a/" + itoa(id)}

	// A student: no console at all.
	c := e.Browser(t)
	e.SignIn(t, c, person.UserID, "")
	for _, p := range pages {
		resp := apptest.Get(t, c, e.URL+p, "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode/100 != 3 {
			t.Errorf("a student opening %s gets %d", p, resp.StatusCode)
		}
	}
	resp := post(t, c, e.URL+"/admin/hall/student_leave/edit", url.Values{"definition": {"{}"}, "do": {"publish"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a student publishing gets %d", resp.StatusCode)
	}

	// A sender: the console, but not the hall's pages.
	var teacher *demo.Person
	for i := range e.Uni.People {
		p := &e.Uni.People[i]
		if p.Main() == demo.CatStaff && p.Position == "讲师" && len(p.Categories) == 1 && p.Status == 1 {
			teacher = p
			break
		}
	}
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: teacher.UserID, Role: auth.AdminSender}); err != nil {
		t.Fatal(err)
	}
	s := e.Browser(t)
	e.SignIn(t, s, teacher.UserID, "")
	for _, p := range pages {
		resp := apptest.Get(t, s, e.URL+p, "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a sender opening %s gets %d", p, resp.StatusCode)
		}
	}
	if home := body(t, apptest.Get(t, s, e.URL+"/admin/", "")); strings.Contains(home, `href="/admin/hall"`) {
		t.Error("a sender's console links the hall")
	}

	// A department admin of college 1000: sees the list, edits none of
	// the shipped processes (their owners are offices), and publishes a
	// process only for their own college.
	if err := e.Admins.Revoke(ctx, store.Actor{UserID: e.SuperAdmin}, teacher.UserID, auth.AdminSender); err != nil {
		t.Fatal(err)
	}
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: teacher.UserID, Role: auth.AdminDept, Depts: []string{"1000"}}); err != nil {
		t.Fatal(err)
	}
	list := body(t, apptest.Get(t, s, e.URL+"/admin/hall", ""))
	if !strings.Contains(list, `data-key="student_leave"`) || strings.Contains(list, `href="/admin/hall/student_leave/edit"`) {
		t.Errorf("a department admin's list:\n%s", list)
	}
	for _, p := range []string{"/admin/hall/student_leave/edit", "/admin/hall/student_leave/simulate", "/admin/hall/a/" + itoa(id)} {
		resp := apptest.Get(t, s, e.URL+p, "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a department admin opening %s gets %d", p, resp.StatusCode)
		}
	}
	own := &def.Process{Key: "college_event", Name: "学院活动报名", Owner: "1000", Audience: def.Students,
		Fields: []def.Field{{Key: "reason", Label: "报名理由", Type: def.LongText, Required: true}},
		Steps:  []def.Step{{ID: "counselor", Name: "辅导员审批", Mode: def.AnyOf, Approvers: []def.Approver{{Kind: def.Counselor}}}}}
	elsewhere := *own
	elsewhere.Owner = "XGC"
	b, _ := json.Marshal(&elsewhere)
	resp = post(t, s, e.URL+"/admin/hall/new", url.Values{"definition": {string(b)}, "do": {"publish"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-where="owner"`) {
		t.Errorf("a department admin publishing for XGC answered %d", resp.StatusCode)
	}
	b, _ = json.Marshal(own)
	if loc := location(t, post(t, s, e.URL+"/admin/hall/new", url.Values{"definition": {string(b)}, "do": {"publish"}})); !strings.Contains(loc, "/admin/hall/college_event/edit") {
		t.Errorf("a department admin publishing for their college redirected to %s", loc)
	}
	// Their own process they edit and simulate, and their list says so.
	for _, p := range []string{"/admin/hall/college_event/edit", "/admin/hall/college_event/simulate"} {
		resp := apptest.Get(t, s, e.URL+p, "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("a department admin opening their own %s gets %d", p, resp.StatusCode)
		}
	}
	if list := body(t, apptest.Get(t, s, e.URL+"/admin/hall", "")); !strings.Contains(list, `href="/admin/hall/college_event/edit"`) {
		t.Error("a department admin's list does not offer their own process to edit")
	}
}
