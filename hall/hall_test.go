package hall_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/internal/simcorp"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

const (
	corpID  = simcorp.CorpID
	agentID = simcorp.AgentID
)

// rig is the demo university synced into a simulated corp, the message
// center dispatching into it, and the engine on a clock the test moves.
type rig struct {
	db  *store.DB
	sim *wecomsim.Sim
	u   *demo.University
	svc *notify.Service
	eng *hall.Engine
	sms *simcorp.SMS

	mu  sync.Mutex
	now time.Time
}

func (r *rig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *rig) set(t time.Time) {
	r.mu.Lock()
	r.now = t
	r.mu.Unlock()
}

func newRig(t testing.TB, start time.Time) *rig {
	t.Helper()
	return newRigOn(t, storetest.SQLite(t), start)
}

func newRigOn(t testing.TB, db *store.DB, start time.Time) *rig {
	t.Helper()
	c := simcorp.New(t, db, simcorp.Options{TagRules: true})
	r := &rig{db: db, u: c.Uni, sms: &simcorp.SMS{}, now: start, sim: c.Sim}
	// Nobody reads from personal WeChat here: every card is shown.
	if err := r.sim.SetJoined(r.u.Joined()[:0]); err != nil {
		t.Fatal(err)
	}
	mirror, app, co := c.Mirror, c.App, c.Coord
	var err error
	if r.svc, err = notify.New(notify.Options{DB: db, Mirror: mirror, App: app, Coord: co, SMS: r.sms, PublicURL: "https://hall.example.edu.cn",
		Instance: "test", Lease: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.eng, err = hall.New(hall.Options{DB: db, Messages: r.svc, Cards: app, CardCodes: r.svc,
		Calendar:  func(context.Context) (*calendar.Calendar, error) { return cal, nil },
		PublicURL: "https://hall.example.edu.cn", Now: r.clock}); err != nil {
		t.Fatal(err)
	}
	return r
}

// drain dispatches the message center until nothing is due.
func (r *rig) drain(t testing.TB) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		worked, err := r.svc.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !worked {
			return
		}
	}
	t.Fatal("dispatch did not settle")
}

func (r *rig) publishShipped(t testing.TB, key string) {
	t.Helper()
	ps, err := def.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Key == key {
			if _, probs, err := r.eng.Publish(context.Background(), p, "T00001"); err != nil || len(probs) > 0 {
				t.Fatalf("publish %s: %v %v", key, probs, err)
			}
			return
		}
	}
	t.Fatalf("no shipped process %s", key)
}

// card is the member's card of task, as their phone shows it.
func (r *rig) card(t testing.TB, userid string, task int64) wecomsim.InboxItem {
	t.Helper()
	for _, it := range r.sim.Inbox(userid) {
		if it.Card != nil && it.Card.TaskID == "hall-"+itoa(task) {
			return it
		}
	}
	t.Fatalf("%s has no card of task %d; inbox: %v", userid, task, r.sim.Inbox(userid))
	return wecomsim.InboxItem{}
}

// press presses a button of the member's card on the simulated phone and
// hands the template_card_event it makes to the engine, as the inbox
// would; it answers the event, to deliver it again.
func (r *rig) press(t testing.TB, userid string, task int64, key string) *wecom.Event {
	t.Helper()
	it := r.card(t, userid, task)
	res, err := r.sim.PressCardButton(context.Background(), userid, it.MsgID, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ignored {
		return nil
	}
	ev := &wecom.Event{ToUserName: corpID, FromUserName: userid, MsgType: "event", Event: "template_card_event", EventKey: key,
		TaskID: it.Card.TaskID, CardType: it.Card.CardType, ResponseCode: res.ResponseCode, AgentID: agentID}
	if err := r.eng.Press(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func openTasks(t *testing.T, app *hall.Application) []hall.Task {
	var out []hall.Task
	for _, x := range app.Tasks {
		if x.State == hall.TaskOpen {
			out = append(out, x)
		}
	}
	return out
}

// student is an undergraduate of the first college with a counselor.
func (r *rig) student(t testing.TB) def.Applicant {
	t.Helper()
	for _, p := range r.u.People {
		if p.Main() == demo.CatUndergrad && p.CounselorID != "" {
			a, err := r.eng.Applicant(context.Background(), p.UserID)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
	}
	t.Fatal("no student")
	return def.Applicant{}
}

func leaveForm(start, end string) url.Values {
	return url.Values{"leave_type": {"事假"}, "leave.start": {start}, "leave.end": {end}, "reason": {"回家处理家事"},
		"leave_campus": {"是"}, "destination": {"海滨市"}, "emergency_phone": {"13912345678"}}
}

// textsOf are the member's texts and textcards, oldest first.
func textsOf(sim *wecomsim.Sim, userid string) []string {
	var out []string
	items := sim.Inbox(userid)
	slices.SortFunc(items, func(a, b wecomsim.InboxItem) int { return int(a.Seq - b.Seq) })
	for _, it := range items {
		if it.MsgType == "text" || it.MsgType == "textcard" {
			out = append(out, string(it.Body))
		}
	}
	return out
}

// TestLeaveByTwoTaps: a 5-day leave goes to the counselor, whose 同意 on
// the phone moves it to the college's 党委副书记; their 同意 approves it,
// the student hears of each decision, every card ends in its final state,
// and a callback delivered again changes nothing.
func TestLeaveByTwoTaps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { leaveByTwoTaps(t, db) })
}

func leaveByTwoTaps(t *testing.T, db *store.DB) {
	r := newRigOn(t, db, time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Zone)) // a Monday
	ctx := context.Background()
	r.publishShipped(t, "student_leave")
	stu := r.student(t)
	id, ferrs, err := r.eng.Apply(ctx, stu, "student_leave", leaveForm("2026-11-10", "2026-11-14"))
	if err != nil || ferrs != nil {
		t.Fatalf("apply: %v %v", ferrs, err)
	}
	r.drain(t)
	app, err := r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	if err != nil {
		t.Fatal(err)
	}
	first := openTasks(t, app)
	var counselor string
	for _, p := range r.u.People {
		if p.UserID == stu.UserID {
			counselor = p.CounselorID
		}
	}
	if len(first) != 1 || first[0].Assignee != counselor || first[0].StepID != "counselor" {
		t.Fatalf("first tasks: %+v, want the counselor %s", first, counselor)
	}
	card := r.card(t, counselor, first[0].ID)
	if card.Card.CardType != "button_interaction" || len(card.Card.ButtonList) != 2 || card.Card.ButtonList[0].Text != "同意" ||
		!strings.Contains(card.Card.MainTitle.Title, "学生请假") || !strings.Contains(card.Card.MainTitle.Title, stu.Name) {
		t.Fatalf("counselor's card: %+v", card.Card)
	}
	if !slices.ContainsFunc(card.Card.HorizontalContentList, func(h wecomsim.CardHorizontalContent) bool { return strings.Contains(h.Value, "共 5 天") }) {
		t.Errorf("the card does not show the leave's days: %+v", card.Card.HorizontalContentList)
	}

	// Another producer's card with the same key is not ours to act on.
	foreign := &wecom.Event{FromUserName: counselor, EventKey: "approve:" + itoa(first[0].ID), TaskID: "notice-7", ResponseCode: "x"}
	if err := r.eng.Press(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if app, _ := r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID}); len(openTasks(t, app)) != 1 || openTasks(t, app)[0].ID != first[0].ID {
		t.Fatalf("a foreign card decided the task: %+v", app.Tasks)
	}
	ev := r.press(t, counselor, first[0].ID, "approve:"+itoa(first[0].ID))
	if ev == nil {
		t.Fatal("the press was ignored")
	}
	// The same callback again, as WeCom or the inbox would deliver it.
	if err := r.eng.Press(ctx, ev); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	app, _ = r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	second := openTasks(t, app)
	if len(second) != 1 || second[0].StepID != "deputy" {
		t.Fatalf("after the counselor: %+v", app.Tasks)
	}
	deputy := second[0].Assignee
	var deputyPos string
	for _, p := range r.u.People {
		if p.UserID == deputy {
			deputyPos = p.Position
		}
	}
	if deputyPos != demo.PositionDeputySecretary {
		t.Fatalf("the second step went to %s (%s), not the 党委副书记", deputy, deputyPos)
	}
	if c := r.card(t, counselor, first[0].ID); c.CardState == nil || !strings.HasPrefix(c.CardState.ReplaceName, "已同意") {
		t.Fatalf("counselor's card after the press: %+v", c.CardState)
	}
	approvals := 0
	for _, e := range app.Trail {
		if e.Action == string(hall.Approve) {
			approvals++
		}
	}
	if approvals != 1 || len(app.Tasks) != 2 {
		t.Fatalf("the replayed callback counted twice: %d approvals, tasks %+v", approvals, app.Tasks)
	}

	r.press(t, deputy, second[0].ID, "approve:"+itoa(second[0].ID))
	r.drain(t)
	app, _ = r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	if app.State != hall.StateApproved || app.DecidedAt.IsZero() {
		t.Fatalf("after the deputy: %s", app.State)
	}
	for _, x := range app.Tasks {
		c := r.card(t, x.Assignee, x.ID)
		if c.CardState == nil || !c.CardState.Actioned || c.CardState.ReplaceName == "" {
			t.Errorf("card of task %d (%s) is not final: %+v", x.ID, x.Assignee, c.CardState)
		}
	}
	if n := r.sim.CallCount("/cgi-bin/message/update_template_card", 60140); n != 0 {
		t.Errorf("%d card updates with a spent response code", n)
	}
	notes := textsOf(r.sim, stu.UserID)
	if len(notes) != 2 || !strings.Contains(notes[1], "已通过") {
		t.Fatalf("the student's notices: %v", notes)
	}
	// Confirming the return to campus closes it.
	if err := r.eng.ConfirmReturn(ctx, id, hall.Viewer{UserID: stu.UserID}); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.ConfirmReturn(ctx, id, hall.Viewer{UserID: stu.UserID}); !errors.Is(err, hall.ErrState) {
		t.Fatalf("a second confirmation: %v", err)
	}
	// Someone else sees nothing of it.
	if _, err := r.eng.Application(ctx, id, hall.Viewer{UserID: "T00002"}); !errors.Is(err, hall.ErrNotFound) {
		t.Fatalf("a stranger reads the application: %v", err)
	}
	if mine, _ := r.eng.MyTasks(ctx, deputy, false); len(mine) != 1 || mine[0].App.ID != id {
		t.Fatalf("deputy's handled tasks: %+v", mine)
	}
}

// anyOf is a process decided by the first of two named approvers, with an
// ID number in its form.
func anyOf(a, b string) *def.Process {
	return &def.Process{Key: "card_replace", Name: "校园卡补办", Owner: "203", Audience: def.Members,
		Fields: []def.Field{
			{Key: "id_number", Label: "身份证号", Type: def.IDNumber, Required: true, Summary: true},
			{Key: "reason", Label: "原因", Type: def.Text, Required: true, Summary: true},
		},
		Steps: []def.Step{{ID: "office", Name: "一卡通中心办理", Mode: def.AnyOf, Approvers: []def.Approver{{Kind: def.NamedUsers, Users: []string{a, b}}}}}}
}

// TestAnyOfSecondCardFinal: of two approvers the first decides on the
// task page; the second's card then says who handled it, and their press
// or decision changes nothing. The ID number is sealed at rest.
func TestAnyOfSecondCardFinal(t *testing.T) {
	r := newRig(t, time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Zone))
	ctx := context.Background()
	const a, b = "T00008", "T00009"
	if _, probs, err := r.eng.Publish(ctx, anyOf(a, b), "T00001"); err != nil || len(probs) > 0 {
		t.Fatalf("publish: %v %v", probs, err)
	}
	stu := r.student(t)
	const idNumber = "11010519491231002X"
	id, ferrs, err := r.eng.Apply(ctx, stu, "card_replace", url.Values{"id_number": {idNumber}, "reason": {"丢失"}})
	if err != nil || ferrs != nil {
		t.Fatalf("apply: %v %v", ferrs, err)
	}
	storetest.NoPlaintext(t, r.db, "hall_applications", idNumber, "110105")
	r.drain(t)
	app, _ := r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	tasks := openTasks(t, app)
	if len(tasks) != 2 {
		t.Fatalf("tasks: %+v", app.Tasks)
	}
	if v := app.Values["id_number"]; v != idNumber {
		t.Fatalf("values read back: %v", app.Values)
	}
	byAssignee := map[string]hall.Task{}
	for _, x := range tasks {
		byAssignee[x.Assignee] = x
	}
	if err := r.eng.Decide(ctx, byAssignee[a].ID, b, hall.Approve, ""); !errors.Is(err, hall.ErrNotAssignee) {
		t.Fatalf("b deciding a's task: %v", err)
	}
	if err := r.eng.Decide(ctx, byAssignee[a].ID, a, hall.Approve, "已办理"); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	bc := r.card(t, b, byAssignee[b].ID)
	if bc.CardState == nil || !strings.HasPrefix(bc.CardState.ReplaceName, "已由") || !strings.HasSuffix(bc.CardState.ReplaceName, "处理") {
		t.Fatalf("b's card: %+v", bc.CardState)
	}
	// b's phone shows the card closed; a press that was on its way
	// anyway changes nothing, and neither does b's decision on the page.
	if ev := r.press(t, b, byAssignee[b].ID, "reject:"+itoa(byAssignee[b].ID)); ev != nil {
		t.Fatal("b could press a finalised card")
	}
	ev := &wecom.Event{FromUserName: b, EventKey: "reject:" + itoa(byAssignee[b].ID), TaskID: "hall-" + itoa(byAssignee[b].ID), ResponseCode: "stale"}
	if err := r.eng.Press(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Decide(ctx, byAssignee[b].ID, b, hall.Reject, ""); !errors.Is(err, hall.ErrAlreadyHandled) {
		t.Fatalf("b's late decision: %v", err)
	}
	app, _ = r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	if app.State != hall.StateApproved {
		t.Fatalf("state %s", app.State)
	}
	for _, x := range app.Tasks {
		if x.Assignee == b && x.State != hall.TaskSuperseded {
			t.Fatalf("b's task: %+v", x)
		}
	}
	stats, err := r.eng.Stats(ctx)
	if err != nil || len(stats) != 1 || stats[0].Applications != 1 || stats[0].Decided != 1 {
		t.Fatalf("stats: %+v %v", stats, err)
	}
}

// TestOverdueAcrossNationalDay: a task opened the day before the National
// Day holidays is due on the first working day after them; nobody is
// reminded during the holidays; then the counselor is reminded and the
// college's 党委副书记 told once that it is overdue.
func TestOverdueAcrossNationalDay(t *testing.T) {
	start := time.Date(2026, 9, 30, 10, 0, 0, 0, calendar.Zone)
	r := newRig(t, start)
	ctx := context.Background()
	r.publishShipped(t, "student_leave")
	stu := r.student(t)
	id, ferrs, err := r.eng.Apply(ctx, stu, "student_leave", leaveForm("2026-10-08", "2026-10-09"))
	if err != nil || ferrs != nil {
		t.Fatalf("apply: %v %v", ferrs, err)
	}
	r.drain(t)
	app, _ := r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	task := openTasks(t, app)[0]
	cal, _ := calendar.New(nil, nil)
	var firstWorking time.Time
	for d := start.AddDate(0, 0, 1); ; d = d.AddDate(0, 0, 1) {
		if cal.DayFor(d, calendar.Students).Working() {
			firstWorking = d
			break
		}
	}
	if calendar.DateOf(firstWorking) != "2026-10-08" {
		t.Fatalf("the calendar's first working day after National Day is %s", calendar.DateOf(firstWorking))
	}
	if !task.DueAt.Equal(firstWorking) {
		t.Fatalf("due %s, want %s (one working day, the holidays skipped)", task.DueAt.In(calendar.Zone), firstWorking)
	}
	before := len(textsOf(r.sim, task.Assignee))
	for _, at := range []time.Time{start.Add(25 * time.Hour), start.AddDate(0, 0, 4)} { // Oct 1, Oct 4: holidays
		r.set(at)
		if err := r.eng.Tick(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	r.drain(t)
	if n := len(textsOf(r.sim, task.Assignee)); n != before {
		t.Fatalf("reminded during the holidays: %v", textsOf(r.sim, task.Assignee))
	}
	late := firstWorking.Add(time.Minute)
	r.set(late)
	for range 2 {
		if err := r.eng.Tick(ctx, late); err != nil {
			t.Fatal(err)
		}
	}
	r.drain(t)
	reminders := textsOf(r.sim, task.Assignee)[before:]
	if len(reminders) != 1 || !strings.Contains(reminders[0], "待办提醒") {
		t.Fatalf("reminders: %v", reminders)
	}
	app, _ = r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	var escalations []hall.Entry
	for _, e := range app.Trail {
		if e.Action == hall.ActEscalate {
			escalations = append(escalations, e)
		}
	}
	if len(escalations) != 1 || escalations[0].Comment == "" {
		t.Fatalf("escalations: %+v", escalations)
	}
	deputy := strings.Split(escalations[0].Comment, ",")[0]
	if got := textsOf(r.sim, deputy); len(got) != 1 || !strings.Contains(got[0], "超期") {
		t.Fatalf("the deputy's notices: %v", got)
	}
	if tk := openTasks(t, app)[0]; !tk.Overdue || !tk.Escalated || tk.RemindCount != 1 {
		t.Fatalf("task after: %+v", tk)
	}
	// The next day: reminded again, not escalated again.
	next := late.AddDate(0, 0, 1)
	r.set(next)
	if err := r.eng.Tick(ctx, next); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	if got := textsOf(r.sim, task.Assignee)[before:]; len(got) != 2 {
		t.Fatalf("second day's reminders: %v", got)
	}
	if got := textsOf(r.sim, deputy); len(got) != 1 {
		t.Fatalf("escalated twice: %v", got)
	}
	if stats, _ := r.eng.Stats(ctx); len(stats) != 1 || stats[0].OverdueOpen != 1 {
		t.Fatalf("stats: %+v", stats)
	}
}

// TestReturnWithdrawTransfer: returned to the applicant and resubmitted,
// the flow starts again with the history kept; a transfer hands the task
// on; withdrawing closes every card.
func TestReturnWithdrawTransfer(t *testing.T) {
	r := newRig(t, time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Zone))
	ctx := context.Background()
	r.publishShipped(t, "student_leave")
	stu := r.student(t)
	id, _, err := r.eng.Apply(ctx, stu, "student_leave", leaveForm("2026-11-10", "2026-11-11"))
	if err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	app, _ := r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	t1 := openTasks(t, app)[0]
	if err := r.eng.Decide(ctx, t1.ID, t1.Assignee, hall.Return, "请补充去向"); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Urge(ctx, id, hall.Viewer{UserID: stu.UserID}); !errors.Is(err, hall.ErrState) {
		t.Fatalf("urging a returned application: %v", err)
	}
	if ferrs, err := r.eng.Resubmit(ctx, id, stu, leaveForm("2026-11-10", "2026-11-11")); err != nil || ferrs != nil {
		t.Fatalf("resubmit: %v %v", ferrs, err)
	}
	if err := r.eng.Urge(ctx, id, hall.Viewer{UserID: stu.UserID}); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Urge(ctx, id, hall.Viewer{UserID: stu.UserID}); !errors.Is(err, hall.ErrUrgedRecently) {
		t.Fatalf("a second urge within the hour: %v", err)
	}
	r.drain(t)
	app, _ = r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	t2 := openTasks(t, app)[0]
	if t2.ID == t1.ID || t2.StepID != "counselor" || app.State != hall.StateSubmitted {
		t.Fatalf("after resubmitting: %+v", app.Tasks)
	}
	if c := r.card(t, t1.Assignee, t1.ID); c.CardState == nil || !strings.HasPrefix(c.CardState.ReplaceName, "已退回") {
		t.Fatalf("the returned task's card: %+v", c.CardState)
	}
	other := "T00010"
	if err := r.eng.Transfer(ctx, t2.ID, t2.Assignee, other, "请代为审批"); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	app, _ = r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	t3 := openTasks(t, app)[0]
	if t3.Assignee != other {
		t.Fatalf("after the transfer: %+v", app.Tasks)
	}
	if err := r.eng.Withdraw(ctx, id, hall.Viewer{UserID: stu.UserID}); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	if c := r.card(t, other, t3.ID); c.CardState == nil || c.CardState.ReplaceName != "申请已撤回" {
		t.Fatalf("the withdrawn task's card: %+v", c.CardState)
	}
	if c := r.card(t, t2.Assignee, t2.ID); c.CardState == nil || !strings.HasPrefix(c.CardState.ReplaceName, "已转交") {
		t.Fatalf("the transferred task's card: %+v", c.CardState)
	}
	app, _ = r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	var acts []string
	for _, e := range app.Trail {
		acts = append(acts, e.Action)
	}
	want := []string{hall.ActSubmit, string(hall.Return), hall.ActResubmit, hall.ActUrge, hall.ActTransfer, hall.ActWithdraw}
	if !slices.Equal(acts, want) {
		t.Fatalf("trail %v, want %v", acts, want)
	}
}

// TestReResolveAfterOrgChange: the student gets a new counselor while the
// leave waits; the next Tick hands the task to the new counselor, whose
// card arrives, and the old card says where it went.
func TestReResolveAfterOrgChange(t *testing.T) {
	r := newRig(t, time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Zone))
	ctx := context.Background()
	r.publishShipped(t, "student_leave")
	stu := r.student(t)
	id, _, err := r.eng.Apply(ctx, stu, "student_leave", leaveForm("2026-11-10", "2026-11-11"))
	if err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	app, _ := r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	old := openTasks(t, app)[0]
	var other string
	for _, p := range r.u.People {
		if p.Main() == demo.CatCounselor && p.UserID != old.Assignee {
			other = p.UserID
			break
		}
	}
	row, err := r.db.DCStudentByNo(ctx, stu.UserID)
	if err != nil {
		t.Fatal(err)
	}
	row.CounselorNo = other
	if _, err := r.db.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: store.DataCenter{Students: []store.DCStudent{row}}, Students: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.eng.Tick(ctx, r.clock()); err != nil {
			t.Fatal(err)
		}
	}
	r.drain(t)
	app, _ = r.eng.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
	open := openTasks(t, app)
	if len(open) != 1 || open[0].Assignee != other {
		t.Fatalf("after the change: %+v", app.Tasks)
	}
	r.card(t, other, open[0].ID)
	if c := r.card(t, old.Assignee, old.ID); c.CardState == nil || !strings.HasPrefix(c.CardState.ReplaceName, "已转交") {
		t.Fatalf("the old counselor's card: %+v", c.CardState)
	}
	if !slices.ContainsFunc(app.Trail, func(e hall.Entry) bool { return e.Action == hall.ActReResolve }) {
		t.Fatalf("the trail does not say so: %+v", app.Trail)
	}
}

// TestOffCampusBySMS: a graduate signed in by phone applies; the
// registrar's 驳回 on the card rejects it and the graduate hears of it by
// SMS; their ID number is sealed at rest and the application is found by
// their number.
func TestOffCampusBySMS(t *testing.T) {
	r := newRig(t, time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Zone))
	ctx := context.Background()
	r.publishShipped(t, "cert_reissue")
	const mobile, idNumber = "+8613811112222", "11010519491231002X"
	a := def.Applicant{Name: "王校友", Mobile: mobile}
	id, ferrs, err := r.eng.Apply(ctx, a, "cert_reissue", url.Values{"name": {"王校友"}, "id_number": {idNumber}, "grad_year": {"2015"},
		"phone": {"13811112222"}, "address": {"海滨市海滨路 1 号 王校友"}, "cert_type": {"毕业证明"}})
	if err != nil || ferrs != nil {
		t.Fatalf("apply: %v %v", ferrs, err)
	}
	storetest.NoPlaintext(t, r.db, "hall_applications", idNumber, "13811112222")
	r.drain(t)
	mine, err := r.eng.MyApplications(ctx, hall.Viewer{Mobile: "13811112222"})
	if err != nil || len(mine) != 1 || mine[0].ID != id {
		t.Fatalf("by number: %+v %v", mine, err)
	}
	app, err := r.eng.Application(ctx, id, hall.Viewer{Mobile: mobile})
	if err != nil {
		t.Fatal(err)
	}
	task := openTasks(t, app)[0]
	r.press(t, task.Assignee, task.ID, "reject:"+itoa(task.ID))
	r.drain(t)
	app, _ = r.eng.Application(ctx, id, hall.Viewer{Mobile: mobile})
	if app.State != hall.StateRejected {
		t.Fatalf("state %s", app.State)
	}
	var texts []string
	for m, ts := range r.sms.All() {
		if strings.Contains(m, "13811112222") {
			texts = append(texts, ts...)
		}
	}
	if len(texts) != 1 || !strings.Contains(texts[0], "毕业证明补办") {
		t.Fatalf("SMS to the applicant: %v (all: %v)", texts, r.sms.All())
	}
}

// TestAllOfAndSequential: an all-of step waits for every approver (an
// admin reassigning one of them, audited); a sequential step opens its
// approvers one after another, with one added by the first.
func TestAllOfAndSequential(t *testing.T) {
	r := newRig(t, time.Date(2026, 11, 2, 9, 0, 0, 0, calendar.Zone))
	ctx := context.Background()
	const a, b, c, d, x = "T00008", "T00009", "T00010", "T00011", "T00012"
	p := &def.Process{Key: "lab_access", Name: "实验室门禁", Owner: "203", Audience: def.Members,
		Fields: []def.Field{{Key: "reason", Label: "原因", Type: def.Text, Required: true, Summary: true}},
		Steps: []def.Step{
			{ID: "both", Name: "会签", Mode: def.AllOf, Approvers: []def.Approver{{Kind: def.NamedUsers, Users: []string{a, b}}}, Next: []def.Edge{{To: "chain"}}},
			{ID: "chain", Name: "依次审批", Mode: def.Sequential, Approvers: []def.Approver{{Kind: def.NamedUsers, Users: []string{c, d}}}},
		}}
	if _, probs, err := r.eng.Publish(ctx, p, "T00001"); err != nil || len(probs) > 0 {
		t.Fatalf("publish: %v %v", probs, err)
	}
	stu := r.student(t)
	id, _, err := r.eng.Apply(ctx, stu, "lab_access", url.Values{"reason": {"做实验"}})
	if err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	app, _ := r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	tasks := map[string]hall.Task{}
	for _, tk := range openTasks(t, app) {
		tasks[tk.Assignee] = tk
	}
	r.press(t, a, tasks[a].ID, "approve:"+itoa(tasks[a].ID))
	app, _ = r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	if open := openTasks(t, app); len(open) != 1 || open[0].Assignee != b {
		t.Fatalf("after one of two: %+v", app.Tasks)
	}
	if err := r.eng.Reassign(ctx, tasks[b].ID, store.Actor{UserID: "T00001", IP: "10.0.0.1"}, x); err != nil {
		t.Fatal(err)
	}
	var audits int
	if err := r.db.GetContext(ctx, &audits, "SELECT COUNT(*) FROM audit_log WHERE action = 'hall.task.reassign'"); err != nil || audits != 1 {
		t.Fatalf("audit rows: %d %v", audits, err)
	}
	app, _ = r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	moved := openTasks(t, app)[0]
	if moved.Assignee != x {
		t.Fatalf("after reassigning: %+v", app.Tasks)
	}
	if err := r.eng.Decide(ctx, moved.ID, x, hall.Approve, ""); err != nil {
		t.Fatal(err)
	}
	app, _ = r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	open := openTasks(t, app)
	if len(open) != 1 || open[0].Assignee != c || open[0].StepID != "chain" {
		t.Fatalf("the chain's first: %+v", app.Tasks)
	}
	if err := r.eng.AddApprover(ctx, open[0].ID, c, "T00013"); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, who := range []string{c, "T00013", d} {
		app, _ = r.eng.Application(ctx, id, hall.Viewer{Admin: true})
		open = openTasks(t, app)
		if len(open) != 1 {
			t.Fatalf("in the chain: %+v", app.Tasks)
		}
		order = append(order, open[0].Assignee)
		if err := r.eng.Decide(ctx, open[0].ID, who, hall.Approve, ""); err != nil {
			t.Fatalf("%s: %v", who, err)
		}
	}
	if !slices.Equal(order, []string{c, "T00013", d}) {
		t.Fatalf("the chain ran %v", order)
	}
	app, _ = r.eng.Application(ctx, id, hall.Viewer{Admin: true})
	if app.State != hall.StateApproved {
		t.Fatalf("state %s", app.State)
	}
	r.drain(t)
	// The chain was decided on the task page before its cards went out:
	// their codes came later, and Tick finalises them.
	if err := r.eng.Tick(ctx, r.clock()); err != nil {
		t.Fatal(err)
	}
	// Every card is final, each saying what became of its task.
	want := map[string]string{a: "已同意", b: "已转交", x: "已同意", c: "已同意", "T00013": "已同意", d: "已同意"}
	for _, tk := range app.Tasks {
		cd := r.card(t, tk.Assignee, tk.ID)
		if cd.CardState == nil || !strings.HasPrefix(cd.CardState.ReplaceName, want[tk.Assignee]) {
			t.Errorf("%s's card: %+v", tk.Assignee, cd.CardState)
		}
	}
}
