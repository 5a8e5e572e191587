package browsertest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/internal/apptest"
)

// TestJourneyAdminHallDesigner: the information center's head, on a PC,
// opens 网上办事大厅 from the console and the designer of 学生请假. In the
// browser they add a field (返校交通) and a step (宿管确认) and press 校验:
// the new step is unreachable, and the problem shows next to it. They add
// a branch from the last step to it, 校验 passes, 发布 makes version 2,
// and the simulator shows the new step on a long leave's path.
func TestJourneyAdminHallDesigner(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ab := newTab(t, "admin").desktop()
	ab.open(e.URL + "/login")
	ab.click("[data-testid=login-cas]")
	ab.click(fmt.Sprintf(`a.person[data-id=%q]`, e.SuperAdmin))
	ab.open(e.URL + "/admin/")
	ab.click(`[data-testid=admin-nav] a[href="/admin/hall"]`)
	if keys := ab.attrs("[data-testid=processes] [data-testid=process]", "data-key"); len(keys) != 4 {
		ab.fatalf("the processes: %v", keys)
	}
	ab.shot("processes")

	ab.click(`[data-testid=process][data-key=student_leave] [data-testid=edit]`)
	if got := ab.text("[data-testid=current-version]"); got != "1" {
		ab.fatalf("the designer shows version %q", got)
	}
	fields := len(ab.attrs("[data-testid=d-field]", "data-where"))
	steps := ab.attrs("[data-testid=d-step]", "data-step")
	if fields != 7 || strings.Join(steps, ",") != "counselor,deputy,office" {
		ab.fatalf("the designer shows %d fields and steps %v", fields, steps)
	}
	ab.shot("designer")

	// A field and a step, typed in the browser.
	ab.do(`[data-testid=d-add-field]`)
	last := `[data-testid=d-field]:last-of-type `
	ab.set(last+`[data-testid=d-field-label]`, "返校交通")
	ab.set(last+`[data-testid=d-field-key]`, "transport")
	ab.set(last+`[data-testid=d-field-type]`, "choice")
	ab.set(last+`[data-testid=d-field-options]`, "火车，飞机，自驾")
	ab.do(`[data-testid=d-add-step]`)
	step := `[data-testid=d-step]:last-of-type `
	ab.set(step+`[data-testid=d-step-name]`, "宿管确认")
	ab.set(step+`[data-testid=d-step-id]`, "dorm")
	ab.shot("added")

	ab.click("[data-testid=validate]")
	if !ab.has("[data-testid=problems]") {
		ab.fatalf("校验 found nothing: %q", ab.text("main"))
	}
	if got := ab.text(`[data-testid=d-step][data-step=dorm] [data-testid=problem-at]`); !strings.Contains(got, "到不了这一步") {
		ab.fatalf("no problem next to the new step: %q; the list says %q", got, ab.text("[data-testid=problems]"))
	}
	if got := ab.attrs(last+`[data-testid=d-field-key]`, "value"); len(got) != 1 {
		t.Errorf("the new field is not kept after 校验")
	}
	ab.shot("problems")

	// Fix: the office step leads on to the new one.
	office := `[data-testid=d-step][data-step=office] `
	ab.do(office + `[data-testid=d-add-edge]`)
	ab.set(office+`[data-testid=d-edge]:last-of-type [data-testid=d-edge-when]`, "leave.days > 14")
	ab.set(office+`[data-testid=d-edge]:last-of-type [data-testid=d-edge-to]`, "dorm")
	ab.click("[data-testid=validate]")
	if !ab.has("[data-testid=valid]") {
		ab.fatalf("校验 after the fix: %q", ab.text("main"))
	}
	ab.shot("valid")

	ab.click("[data-testid=publish]")
	if f := ab.text("[data-testid=flash]"); !strings.Contains(f, "版本 2") {
		ab.fatalf("发布 shows %q: %q", f, ab.text("main"))
	}
	if got := ab.text("[data-testid=current-version]"); got != "2" {
		t.Errorf("after 发布 the version reads %q", got)
	}
	if vs := ab.attrs("[data-testid=versions] [data-testid=version]", "data-version"); strings.Join(vs, ",") != "2,1" {
		t.Errorf("the version history: %v", vs)
	}
	ab.shot("published")

	// The simulator: a 20-day leave now ends at 宿管确认.
	var student string
	for _, p := range e.Uni.People {
		if p.CounselorID != "" && p.Status == 1 {
			student = p.UserID
			break
		}
	}
	ab.click("[data-testid=simulate]")
	ab.set("[data-testid=sim-userid]", student)
	ab.set(`input[name="leave.start"]`, "2027-03-01")
	ab.set(`input[name="leave.end"]`, "2027-03-20")
	ab.click("[data-testid=sim-run]")
	if got := ab.attrs("[data-testid=sim-step]", "data-step"); strings.Join(got, ",") != "counselor,deputy,office,dorm" {
		ab.fatalf("the simulated path: %v: %q", got, ab.text("main"))
	}
	ab.shot("simulated")

	// The statistics: a bar per process in the applications chart.
	ab.open(e.URL + "/admin/hall/stats")
	if n := len(ab.attrs("[data-testid=charts] [data-testid=chart-row]", "data-testid")); n != 8 {
		ab.fatalf("the charts have %d rows, want 4 processes in each of 2", n)
	}
	ab.shot("stats")
}

// do clicks a control that changes the page in place.
func (b *tab) do(sel string) {
	b.t.Helper()
	if err := b.clickNoNav(sel); err != nil {
		b.fatalf("click %s: %v", sel, err)
	}
}

// set types value into the form control sel.
func (b *tab) set(sel, value string) {
	b.t.Helper()
	if !b.has(sel) {
		b.fatalf("no %s to fill in", sel)
	}
	if err := b.setValue(sel, value); err != nil {
		b.fatalf("fill in %s: %v", sel, err)
	}
}
