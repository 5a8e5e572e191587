package browsertest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/internal/apptest"
)

// TestJourneyHallLeave is the service hall's Done-when journey: a student
// opens 学生请假 from the workbench on their phone and fills in 5 days'
// leave (the form counts the days as the dates are picked); the counselor
// presses 同意 on the card on their phone; the deputy secretary opens the
// task from the hall and approves it; the student sees 已通过 with the
// whole trail; and every card of the application shows its final state.
func TestJourneyHallLeave(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ctx := context.Background()
	var stu *demo.Person
	for i := range e.Uni.People {
		p := &e.Uni.People[i]
		if p.Main() == demo.CatUndergrad && p.Status == 1 && p.Grade == demo.AcademicYear(time.Now()) && p.Position == "" && p.CounselorID != "" {
			stu = p
			break
		}
	}
	if stu == nil {
		t.Fatal("no freshman with a counselor")
	}

	sb := newTab(t, "student")
	sb.openFromPhone(e, stu.UserID)
	if wb := sb.workbench(); !wb.hasTile("student_leave") {
		sb.fatalf("the student's workbench has no leave tile: %v", wb.modules())
	}
	sb.click(`[data-testid=home] [data-testid=section] [data-testid=tile][data-module=student_leave]`)
	if p := sb.location().Path; p != "/hall/apply/student_leave" {
		sb.fatalf("the leave tile opened %s", p)
	}
	start := time.Now().AddDate(0, 0, 7)
	end := start.AddDate(0, 0, 4)
	if err := sb.clickNoNav(`input[name=leave_type][value=事假]`); err != nil {
		sb.fatalf("pick 事假: %v", err)
	}
	for sel, v := range map[string]string{
		`input[name="leave.start"]`:   start.Format(time.DateOnly),
		`input[name="leave.end"]`:     end.Format(time.DateOnly),
		`textarea[name=reason]`:       "家中有事需回家处理",
		`input[name=destination]`:     "海滨市滨江路 8 号",
		`input[name=emergency_phone]`: "13912345678",
	} {
		if err := sb.setValue(sel, v); err != nil {
			sb.fatalf("fill %s: %v", sel, err)
		}
	}
	if err := sb.clickNoNav(`input[name=leave_campus][value=是]`); err != nil {
		sb.fatalf("pick 是否离校: %v", err)
	}
	// A hospital note goes up as it is picked (hall.js), before the form.
	note := filepath.Join(t.TempDir(), "家长来信.pdf")
	if err := os.WriteFile(note, []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(sb.ctx, chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=attach-input]`), []string{note})); err != nil {
		sb.fatalf("pick a file: %v", err)
	}
	if err := chromedp.Do(sb.ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid=attach-file]`))); err != nil {
		sb.fatalf("attach a file: %v (%q)", err, sb.text("[data-testid=attach-status]"))
	}
	if got := sb.text("[data-testid=attach-file] a"); got != "家长来信.pdf" {
		t.Errorf("the attached file shows as %q", got)
	}
	if got := sb.text("[data-testid=range-days]"); got != "5" {
		t.Errorf("the form counts %q days for %s to %s, want 5", got, start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	sb.shot("leave-form")
	sb.click("[data-testid=apply-submit]")
	path := sb.location().Path
	id, err := strconv.ParseInt(strings.TrimPrefix(path, "/hall/a/"), 10, 64)
	if err != nil || !strings.HasPrefix(path, "/hall/a/") {
		sb.fatalf("submitting led to %s: %q", sb.location(), sb.text("main"))
	}
	if !strings.Contains(sb.text("[data-testid=flash]"), "已提交") || sb.text("[data-testid=app-state]") != "审批中" {
		t.Errorf("after submitting: %q", sb.text("main"))
	}
	sb.shot("submitted")
	e.DrainNotify(t)

	first := openTask(t, e, id, stu.UserID)
	if first.Assignee != stu.CounselorID {
		t.Fatalf("the first task is %s's, want the counselor %s", first.Assignee, stu.CounselorID)
	}
	counselorCard := fmt.Sprintf(`form.card[data-task="hall-%d"]`, first.ID)
	cp := sb.fresh("counselor-phone")
	cp.open(e.URL + "/wecomsim/phone/u/" + stu.CounselorID)
	if !cp.has(counselorCard) {
		cp.fatalf("the counselor's phone shows no card of task %d", first.ID)
	}
	cp.shot("card")
	cp.click(counselorCard + fmt.Sprintf(` button[name=key][value="approve:%d"]`, first.ID))
	cp.shot("card-pressed")
	waitFor(t, "the counselor's press reaching the engine", func() bool {
		a, err := e.Hall.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
		return err == nil && len(a.Tasks) > 0 && a.Tasks[0].State == hall.TaskApproved
	})
	e.DrainNotify(t)

	second := openTask(t, e, id, stu.UserID)
	if second.StepID != "deputy" {
		t.Fatalf("after the counselor the open task is %+v, want the deputy secretary's", second)
	}
	dt := sb.fresh("deputy")
	dt.openFromPhone(e, second.Assignee)
	dt.open(e.URL + "/hall/tasks/" + strconv.FormatInt(second.ID, 10))
	if p := dt.location().Path; p != path || !dt.has("[data-testid=decide-form]") {
		dt.fatalf("the task's address shows %s: %q", dt.location(), dt.text("main"))
	}
	if got := dt.text(`[data-testid=value][data-key=leave]`); !strings.Contains(got, "共 5 天") {
		t.Errorf("the deputy secretary reads the leave as %q", got)
	}
	dt.shot("task")
	dt.click("[data-testid=decide-form] [data-testid=approve]")
	if !strings.Contains(dt.text("[data-testid=flash]"), "已同意") {
		t.Errorf("approving shows %q", dt.text("main"))
	}
	dt.shot("approved")
	e.DrainNotify(t)

	sb.open(e.URL + path)
	if got := sb.text("[data-testid=app-state]"); got != "已通过" {
		sb.fatalf("the student's application reads %q", got)
	}
	if got := strings.Join(sb.texts("[data-testid=trail-action]"), " "); got != "提交申请 同意 同意 审批通过" {
		t.Errorf("the trail reads %q", got)
	}
	if got := sb.text("[data-testid=value-file]"); got != "家长来信.pdf" {
		t.Errorf("the application's attachment reads %q", got)
	}
	if !sb.has("[data-testid=confirm-return]") {
		t.Errorf("the approved leave offers no return confirmation")
	}
	sb.shot("result")

	// Every card of the application is final on its phone: no button
	// left to press.
	for _, c := range []struct {
		who  string
		task int64
	}{{stu.CounselorID, first.ID}, {second.Assignee, second.ID}} {
		card := fmt.Sprintf(`form.card[data-task="hall-%d"]`, c.task)
		waitFor(t, "the card of task "+strconv.FormatInt(c.task, 10)+" final", func() bool {
			cp.open(e.URL + "/wecomsim/phone/u/" + c.who)
			return eval[bool](cp, fmt.Sprintf(`(() => { const bs = [...document.querySelectorAll(%s)]; return bs.length > 0 && bs.every(b => b.disabled) })()`,
				jsString(card+" button")))
		})
		cp.shot("final-card-" + strconv.FormatInt(c.task, 10))
	}
}

func openTask(t *testing.T, e *apptest.Env, id int64, applicant string) hall.Task {
	t.Helper()
	a, err := e.Hall.Application(context.Background(), id, hall.Viewer{UserID: applicant})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range a.Tasks {
		if tk.State == hall.TaskOpen {
			return tk
		}
	}
	t.Fatalf("application %d (%s) has no open task", id, a.State)
	return hall.Task{}
}

// waitFor polls cond until it holds (the inbox hands card presses to the
// engine on its own goroutine), failing after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// texts is the visible text of every element matching the CSS selector.
func (b *tab) texts(sel string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%s)].map(e => e.innerText.replace(/\s+/g, " ").trim())`, jsString(sel)))
}
