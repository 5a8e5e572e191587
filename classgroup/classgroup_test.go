package classgroup_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/classgroup"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

const (
	corpID    = "wwclassgroup00001"
	agentID   = 1000002
	appSecret = "class-group-app-secret"

	otherAgentID = 1000009
	otherSecret  = "another-app-secret"
)

var ctx = context.Background()

// env is the demo university in the simulator, its data center in db, and
// the app client the class groups are made with.
type env struct {
	t       *testing.T
	db      *store.DB
	sim     *wecomsim.Sim
	client  *wecom.Client
	other   *wecom.Client // another app of the corp
	clock   *testenv.Clock
	dc      store.DataCenter
	members map[string]bool // enabled WeCom members, as the contacts mirror would say
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	u := demo.Generate(demo.Scale{Year: 2026, Colleges: 2, Offices: 1, TeachingPerCol: 1, Grades: 2, ClassesPerGrade: 2,
		StudentsPerClass: 5, StaffPerTeaching: 2, StaffPerOffice: 1})
	clk := testenv.NewClock(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	sim := wecomsim.New(wecomsim.Options{CorpID: corpID, Clock: clk.Now, Fixture: u.SimFixture(),
		Apps: []wecomsim.App{{AgentID: agentID, Name: "一站式服务", Secret: appSecret}, {AgentID: otherAgentID, Name: "另一应用", Secret: otherSecret}}})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	corp, err := wecom.New(wecom.Options{BaseURL: srv.URL, CorpID: corpID, Apps: []wecom.AppConfig{{Name: "hall", AgentID: agentID, Secret: appSecret},
		{Name: "other", AgentID: otherAgentID, Secret: otherSecret}},
		Coord: coord.NewMemory(clk.Now), Registerer: prometheus.NewRegistry(), Now: clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	client, err := corp.App("hall")
	if err != nil {
		t.Fatal(err)
	}
	other, err := corp.App("other")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, sim: sim, client: client, other: other, clock: clk, dc: u.DataCenter(), members: map[string]bool{}}
	for _, p := range u.People {
		if p.Status == 1 || p.Status == 4 {
			e.members[p.UserID] = true
		}
	}
	e.load()
	return e
}

func (e *env) load() {
	e.t.Helper()
	if err := e.db.LoadDataCenter(ctx, e.dc, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) opts() classgroup.Options {
	return classgroup.Options{DB: e.db, Client: e.client, Now: e.clock.Now, Members: func(u string) bool { return e.members[u] }}
}

func (e *env) sync() *classgroup.Report {
	e.t.Helper()
	rep, err := classgroup.Sync(ctx, e.opts())
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// appchatCalls counts the appchat calls the simulator answered, whatever
// the errcode.
func (e *env) appchatCalls() int {
	n := 0
	for p, byCode := range e.sim.CallCounts() {
		if strings.HasPrefix(p, "/cgi-bin/appchat/") {
			for _, c := range byCode {
				n += c
			}
		}
	}
	return n
}

// expected is each class's group as the data center says, computed here
// from the rows: owner the students' counselor, members the counselor and
// the enrolled students who are WeCom members.
func (e *env) expected() map[string]wecomsim.AppChat {
	out := map[string]wecomsim.AppChat{}
	names := map[string]string{}
	for _, d := range e.dc.Departments {
		if d.Kind == demo.KindClass && d.Enabled {
			names[d.Code] = d.Name
		}
	}
	for _, s := range e.dc.Students {
		if _, ok := names[s.ClassCode]; !ok || s.Status != "enrolled" || !e.members[s.StudentNo] {
			continue
		}
		g := out[s.ClassCode]
		g.ChatID, g.Name, g.Owner = classgroup.ChatID(s.ClassCode), names[s.ClassCode]+"群", s.CounselorNo
		g.UserList = append(g.UserList, s.StudentNo)
		out[s.ClassCode] = g
	}
	for code, g := range out {
		g.UserList = append(g.UserList, g.Owner)
		slices.Sort(g.UserList)
		out[code] = g
	}
	return out
}

// check compares the simulator's chats with expected().
func (e *env) check() {
	e.t.Helper()
	want := e.expected()
	got := map[string]wecomsim.AppChat{}
	for _, ch := range e.sim.AppChats() {
		ul := slices.Clone(ch.UserList)
		slices.Sort(ul)
		got[strings.TrimPrefix(ch.ChatID, "cls")] = wecomsim.AppChat{ChatID: ch.ChatID, Name: ch.Name, Owner: ch.Owner, UserList: ul}
	}
	if d := gocmp.Diff(want, got); d != "" {
		e.t.Errorf("chats in WeCom (-want +got):\n%s", d)
	}
}

func (e *env) student(no string) *store.DCStudent {
	for i := range e.dc.Students {
		if e.dc.Students[i].StudentNo == no {
			return &e.dc.Students[i]
		}
	}
	e.t.Fatalf("no student %s", no)
	return nil
}

// firstClass is the smallest class code and its students.
func (e *env) firstClass() (string, []string) {
	var code string
	var nos []string
	for _, s := range e.dc.Students {
		if s.ClassCode != "" && (code == "" || s.ClassCode < code) {
			code = s.ClassCode
		}
	}
	for _, s := range e.dc.Students {
		if s.ClassCode == code {
			nos = append(nos, s.StudentNo)
		}
	}
	slices.Sort(nos)
	return code, nos
}

// TestSync: the first run creates one group per class with the counselor
// as owner; a second run calls nothing; a student who leaves, one who
// joins and a new counselor each cost one update; an abolished class's
// group is reported and left alone.
func TestSync(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		classes := len(e.expected())
		if classes != 8 {
			t.Fatalf("%d classes in the demo, want 8", classes)
		}
		rep := e.sync()
		if rep.Created != classes || rep.Calls != classes || len(rep.Failures) != 0 || rep.Desired != classes {
			t.Fatalf("first run: %+v", rep)
		}
		e.check()
		recs, err := classgroup.Groups(ctx, db)
		if err != nil || len(recs) != classes {
			t.Fatalf("%d groups recorded (%v), want %d", len(recs), err, classes)
		}

		before := e.appchatCalls()
		rep = e.sync()
		if rep.Calls != 0 || e.appchatCalls() != before || rep.Unchanged != classes {
			t.Fatalf("second run made %d calls (%d seen by WeCom): %+v", rep.Calls, e.appchatCalls()-before, rep)
		}

		code, nos := e.firstClass()
		chatID := classgroup.ChatID(code)
		e.student(nos[0]).Status = "withdrawn"
		e.load()
		before = e.appchatCalls()
		rep = e.sync()
		if rep.Updated != 1 || rep.Calls != 1 || e.appchatCalls()-before != 1 {
			t.Fatalf("after a student left: %+v (%d calls)", rep, e.appchatCalls()-before)
		}
		e.check()
		if ch, _ := e.sim.AppChat(chatID); slices.Contains(ch.UserList, nos[0]) {
			t.Errorf("%s withdrew but is still in %s", nos[0], chatID)
		}

		// A transfer student joins the class: in WeCom first (the contacts
		// sync), then in the group.
		newNo := "2026999901"
		tmpl := *e.student(nos[1])
		tmpl.StudentNo, tmpl.Name, tmpl.Mobile, tmpl.Email = newNo, "转学生", "13900009999", ""
		e.dc.Students = append(e.dc.Students, tmpl)
		if err := e.sim.AdminCreateUser(wecomsim.User{UserID: newNo, Name: "转学生", Department: []int64{10005001}, Mobile: "13900009999"}); err != nil {
			t.Fatal(err)
		}
		e.load()
		rep = e.sync()
		if rep.Updated != 0 || rep.Calls != 0 || len(rep.Problems) == 0 {
			t.Errorf("a student not yet in WeCom was added: %+v", rep)
		}
		e.members[newNo] = true
		rep = e.sync()
		if rep.Updated != 1 || rep.Calls != 1 {
			t.Fatalf("after a student joined: %+v", rep)
		}
		e.check()

		// Another counselor takes the class over.
		old := e.student(nos[1]).CounselorNo
		var other string
		for _, s := range e.dc.Students {
			if s.CounselorNo != old && s.CounselorNo != "" {
				other = s.CounselorNo
				break
			}
		}
		for i := range e.dc.Students {
			if e.dc.Students[i].ClassCode == code {
				e.dc.Students[i].CounselorNo = other
			}
		}
		e.load()
		rep = e.sync()
		if rep.Updated != 1 || rep.Calls != 1 {
			t.Fatalf("after the counselor changed: %+v", rep)
		}
		e.check()
		if ch, _ := e.sim.AppChat(chatID); ch.Owner != other || slices.Contains(ch.UserList, old) {
			t.Errorf("chat owner %s members %v; want %s as owner and %s gone", ch.Owner, ch.UserList, other, old)
		}

		// The data center abolishes the class: WeCom cannot delete a chat.
		for i := range e.dc.Departments {
			if e.dc.Departments[i].Code == code {
				e.dc.Departments[i].Enabled = false
			}
		}
		e.load()
		chBefore, _ := e.sim.AppChat(chatID)
		rep = e.sync()
		if rep.Calls != 0 || !slices.Equal(rep.Abolished, []string{code}) {
			t.Errorf("after the class was abolished: %+v", rep)
		}
		if ch, _ := e.sim.AppChat(chatID); !slices.Equal(ch.UserList, chBefore.UserList) {
			t.Errorf("the abolished class's chat changed: %v → %v", chBefore.UserList, ch.UserList)
		}
	})
}

// TestSyncFailureAndResume: one refused create does not stop the others
// and is reported with its errcode; the next run creates only that one.
// A create whose record was lost (the chat exists) is adopted, not made
// twice, and corrected.
func TestSyncFailureAndResume(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		classes := len(e.expected())
		e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/appchat/create", After: 2, Times: 1, ErrCode: wecom.CodeAppChatBadMember})

		// An earlier run created the first class's chat, with a stale
		// member list, and crashed before recording it.
		code, nos := e.firstClass()
		counselor := e.student(nos[0]).CounselorNo
		if _, err := e.client.CreateAppChat(ctx, wecom.AppChat{ChatID: classgroup.ChatID(code), Name: "旧名", Owner: counselor,
			UserList: []string{counselor, nos[0]}}); err != nil {
			t.Fatal(err)
		}

		rep := e.sync()
		if rep.Created != classes-2 || rep.Adopted != 1 || rep.Updated != 1 || len(rep.Failures) != 1 {
			t.Fatalf("first run: %+v", rep)
		}
		f := rep.Failures[0]
		if f.Op != "create" || f.ErrCode != wecom.CodeAppChatBadMember || f.Advice == "" || f.ClassCode == "" {
			t.Errorf("failure %+v", f)
		}
		before := e.appchatCalls()
		rep = e.sync()
		if rep.Created != 1 || rep.Calls != 1 || e.appchatCalls()-before != 1 || len(rep.Failures) != 0 {
			t.Fatalf("second run: %+v", rep)
		}
		e.check()
	})
}

// TestSyncDailyQuota: past WeCom's 1,000 new chats a day (lowered here)
// the rest wait, without failures and without retrying into the quota,
// for the next day's run.
func TestSyncDailyQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		classes := len(e.expected())
		e.sim.SetAppChatCreateLimit(5)
		rep := e.sync()
		if rep.Created != 5 || rep.Deferred != classes-5 || len(rep.Failures) != 0 {
			t.Fatalf("first day: %+v", rep)
		}
		// One refused create, not retried: the quota lasts the day.
		if n := e.sim.CallCount("/cgi-bin/appchat/create", wecom.CodeFrequencyLimit); n != 1 {
			t.Errorf("%d creates answered 45009, want 1", n)
		}
		if !rep.CreatesOut {
			t.Errorf("the report does not say the creates quota is out")
		}
		// A later run the same day, told so, asks WeCom nothing.
		before := e.appchatCalls()
		o := e.opts()
		o.CreatesOut = true
		again, err := classgroup.Sync(ctx, o)
		if err != nil || again.Calls != 0 || e.appchatCalls() != before || again.Deferred != classes-5 {
			t.Errorf("same-day run with the quota out: %+v, %v, %d calls", again, err, e.appchatCalls()-before)
		}
		e.clock.Advance(24 * time.Hour)
		rep = e.sync()
		if rep.Created != classes-5 || rep.Unchanged != 5 || rep.Deferred != 0 {
			t.Fatalf("next day: %+v", rep)
		}
		e.check()
	})
}

// TestSyncOutOfStep: a student who left the chat in the WeCom client is
// not in our record's way: the refused update is redone from the chat as
// WeCom has it. Verify catches such changes without waiting for one.
func TestSyncOutOfStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.sync()
		code, nos := e.firstClass()
		chatID := classgroup.ChatID(code)
		// nos[0] leaves by themselves, then withdraws from the university.
		if !e.sim.LeaveAppChat(chatID, nos[0]) {
			t.Fatal("LeaveAppChat")
		}
		e.student(nos[0]).Status = "withdrawn"
		e.load()
		rep := e.sync()
		if rep.Updated != 0 || rep.Unchanged != len(e.expected()) || len(rep.Failures) != 0 {
			t.Fatalf("after leaving and withdrawing: %+v", rep)
		}
		e.check()

		// nos[1] leaves but stays enrolled: Verify puts them back.
		e.sim.LeaveAppChat(chatID, nos[1])
		o := e.opts()
		o.Verify = true
		rep, err := classgroup.Sync(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Updated != 1 || rep.Calls != len(e.expected())+1 {
			t.Fatalf("verify run: %+v", rep)
		}
		e.check()
	})
}

// TestSend: a new group gets the welcome message; a class is messaged in
// its group.
func TestSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		o := e.opts()
		o.Welcome = &wecom.AppChatMessage{Text: &wecom.Text{Content: "欢迎加入班级群"}}
		rep, err := classgroup.Sync(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Calls != 2*rep.Created || len(rep.Failures) != 0 {
			t.Fatalf("sync with a welcome: %+v", rep)
		}
		code, _ := e.firstClass()
		if ch, _ := e.sim.AppChat(classgroup.ChatID(code)); len(ch.Messages) != 1 || !strings.Contains(string(ch.Messages[0].Body), "欢迎") {
			t.Fatalf("new group's messages: %+v", ch.Messages)
		}
		if err := classgroup.Send(ctx, e.opts(), code, &wecom.AppChatMessage{Markdown: &wecom.Markdown{Content: "**班会** 今晚 19:00"}}); err != nil {
			t.Fatal(err)
		}
		ch, _ := e.sim.AppChat(classgroup.ChatID(code))
		if len(ch.Messages) != 2 || ch.Messages[1].MsgType != "markdown" || len(ch.Messages[1].Recipients) != len(ch.UserList) {
			t.Errorf("messages %+v", ch.Messages)
		}
		if err := classgroup.Send(ctx, e.opts(), "nosuchclass", &wecom.AppChatMessage{Text: &wecom.Text{Content: "x"}}); err == nil {
			t.Error("send to a class without a group succeeded")
		}
	})
}

// TestDesired: held classes and names, without WeCom.
func TestDesired(t *testing.T) {
	dc := store.DataCenter{
		Departments: []store.DCDepartment{{Code: "c1", Name: "计科1班", Enabled: true}, {Code: "c2", Name: "物理实验", Enabled: true},
			{Code: "c3", Name: "数学1班", Enabled: true}, {Code: "c4", Name: "旧班", Enabled: false}},
		Students: []store.DCStudent{
			{StudentNo: "s1", ClassCode: "c1", CounselorNo: "T1", Status: "enrolled"},
			{StudentNo: "s2", ClassCode: "c1", CounselorNo: "T2", Status: "enrolled"},
			{StudentNo: "s3", ClassCode: "c1", CounselorNo: "T2", Status: "suspended"},
			{StudentNo: "s4", ClassCode: "c1", CounselorNo: "T2", Status: "graduated"},
			{StudentNo: "s5", ClassCode: "c2", CounselorNo: "T9", Status: "enrolled"}, // T9 not in WeCom
			{StudentNo: "s6", ClassCode: "c3", Status: "enrolled"},                    // no counselor
			{StudentNo: "s7", ClassCode: "c4", CounselorNo: "T1", Status: "enrolled"}, // abolished
		},
	}
	in := map[string]bool{"s1": true, "s2": true, "s3": true, "s4": true, "s5": true, "s6": true, "T1": true, "T2": true}
	groups, problems := classgroup.Desired(dc, func(u string) bool { return in[u] })
	want := []classgroup.Group{{ClassCode: "c1", ChatID: "clsc1", Name: "计科1班群", Owner: "T2", Members: []string{"T2", "s1", "s2", "s3"}}}
	if d := gocmp.Diff(want, groups); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
	var codes []string
	for _, p := range problems {
		codes = append(codes, p.ClassCode)
	}
	if !slices.Equal(codes, []string{"c2", "c3"}) {
		t.Errorf("problems %v", problems)
	}
	if id := classgroup.ChatID("2024-计科-01"); !wecom.ValidAppChatID(id) || id != classgroup.ChatID("2024-计科-01") || !strings.HasPrefix(id, "clh") {
		t.Errorf("ChatID of a non-alphanumeric code: %q", id)
	}
	if n := classgroup.GroupName(strings.Repeat("长", 60)); len([]rune(n)) != 50 {
		t.Errorf("name of %d characters", len([]rune(n)))
	}
	if n := classgroup.GroupName("物理实验"); n != "物理实验班级群" {
		t.Errorf("GroupName = %q", n)
	}
}

// TestSyncChatOfAnotherApp: a chatid another app took is reported with
// advice, and the other classes are not held up.
func TestSyncChatOfAnotherApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		code, nos := e.firstClass()
		if _, err := e.other.CreateAppChat(ctx, wecom.AppChat{ChatID: classgroup.ChatID(code), UserList: nos[:2]}); err != nil {
			t.Fatal(err)
		}
		rep := e.sync()
		if rep.Created != len(e.expected())-1 || len(rep.Failures) != 1 {
			t.Fatalf("run: %+v", rep)
		}
		if f := rep.Failures[0]; f.ClassCode != code || f.ErrCode != wecom.CodeAppChatNotOurs || !strings.Contains(f.Advice, "another app") {
			t.Errorf("failure %+v", f)
		}
		if _, err := classgroup.Groups(ctx, db); err != nil {
			t.Fatal(err)
		}
		if err := classgroup.Send(ctx, e.opts(), code, &wecom.AppChatMessage{Text: &wecom.Text{Content: "x"}}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("send to the class without a group: %v, want not found", err)
		}
	})
}

// TestMirrorMembers: enabled members of the contacts mirror, case ignored;
// disabled and departed ones are not.
func TestMirrorMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Unix(1_800_000_000, 0)
		if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{
			{UserID: "T00001", Name: "辅导员", Enabled: true, Status: 1},
			{UserID: "2026010101", Name: "学生", Enabled: true, Status: 4},
			{UserID: "2026010102", Name: "退学", Enabled: false},
			{UserID: "2026010103", Name: "离开", Enabled: true, Status: 5},
		}, now); err != nil {
			t.Fatal(err)
		}
		in, err := classgroup.MirrorMembers(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for u, want := range map[string]bool{"T00001": true, "t00001": true, "2026010101": true, "2026010102": false, "2026010103": false, "nobody": false} {
			if got := in(u); got != want {
				t.Errorf("%s: %v, want %v", u, got, want)
			}
		}
	})
}
