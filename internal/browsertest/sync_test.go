package browsertest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/store"
)

// TestJourneyAdminSync: the information center's head, on a PC, opens
// 通讯录同步 from the console, runs a dry run (the plan, the guard
// passing, nothing written), runs the sync, sees it converged in the
// history, opens the run with its plan, and adds a tag rule after
// previewing whom it matches. Then an export missing half the students
// makes a run the guard stops: the admin reads what it would disable,
// ticks the check and confirms, and the run converges.
func TestJourneyAdminSync(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ab := newTab(t, "admin").desktop()
	ab.open(e.URL + "/login")
	ab.click("[data-testid=login-cas]")
	ab.click(fmt.Sprintf(`a.person[data-id=%q]`, e.SuperAdmin))
	ab.open(e.URL + "/admin/")
	ab.click(`[data-testid=admin-nav] a[href="/admin/sync"]`)
	if !ab.has("[data-testid=sync-runs]") || !strings.Contains(ab.text("[data-testid=sync-runs]"), "还没有运行过同步") {
		ab.fatalf("通讯录同步 shows %s: %q", ab.location(), ab.text("main"))
	}
	ab.shot("sync-empty")

	ab.click("[data-testid=sync-dry-run] button")
	if !ab.has("[data-testid=dry-run-result]") || !ab.has("[data-testid=dry-run-guard-ok]") {
		ab.fatalf("the dry run shows %q", ab.text("main"))
	}
	if got := ab.text("[data-testid=dry-run-ops]"); got == "" || got == "0" {
		t.Errorf("the first dry run plans %q operations", got)
	}
	if n := len(e.Sim.Calls("/cgi-bin/user/create")); n != 0 {
		t.Errorf("the dry run created %d members", n)
	}
	ab.shot("dry-run")

	ab.click("[data-testid=sync-run] button")
	if !strings.Contains(ab.text("[data-testid=flash]"), "同步已开始") {
		t.Errorf("立即同步 shows no confirmation: %q", ab.text("main"))
	}
	ab.shot("sync-started")
	// The page refreshes itself while the run goes on; wait for the run,
	// then look as the next refresh would.
	e.Sync.Wait()
	ab.open(e.URL + "/admin/sync")
	if st := ab.attrs("[data-testid=sync-runs] tr[data-id]", "data-status"); len(st) != 1 || st[0] != "converged" {
		ab.fatalf("the history after the run: %v", st)
	}
	if got := ab.text("[data-testid=sync-runs] [data-testid=sync-status]"); got != "已完成" {
		t.Errorf("the run's status reads %q", got)
	}
	if ab.has("[data-testid=sync-running]") {
		t.Error("the history still says a run is going on")
	}
	ab.shot("sync-converged")

	ab.click("[data-testid=sync-run-link]")
	if got := ab.text("[data-testid=sync-run] [data-testid=sync-status]"); got != "已完成" {
		ab.fatalf("the run's page: status %q", got)
	}
	if ops := ab.attrs("[data-testid=sync-plan] tr[data-kind]", "data-kind"); len(ops) == 0 || ops[0] != "create_department" {
		t.Errorf("the run's plan lists %d operations, first %v", len(ops), ops[:min(len(ops), 1)])
	}
	if !ab.has("[data-testid=sync-plan-download]") {
		t.Error("no plan download on the run's page")
	}
	ab.shot("sync-run")

	// A tag rule: previewed, then saved.
	ab.click(`[data-testid=admin-nav] a[href="/admin/tagrules"]`)
	ab.click("[data-testid=new-tagrule]")
	grade := e.Uni.DataCenter().Students[0].Grade
	name := fmt.Sprintf("%d级本科生", grade)
	if err := ab.setValue(`form[data-testid=tagrule-form] input[name=name]`, name); err != nil {
		ab.fatalf("type the name: %v", err)
	}
	if err := ab.setValue(`form[data-testid=tagrule-form] textarea[name=rule]`, fmt.Sprintf(`kind == "student" && level == "undergraduate" && grade == %d`, grade)); err != nil {
		ab.fatalf("type the rule: %v", err)
	}
	ab.shot("tagrule-form")
	ab.click("[data-testid=tagrule-preview]")
	if got := ab.text("[data-testid=preview-count]"); got == "" || got == "0" {
		ab.fatalf("the preview matches %q members: %q", got, ab.text("main"))
	}
	ab.shot("tagrule-preview")
	ab.click("[data-testid=tagrule-save]")
	if f := ab.text("[data-testid=flash]"); !strings.Contains(f, "下次同步时生效") {
		t.Errorf("saving the rule shows %q; errors %q", f, ab.text("[data-testid=field-error]"))
	}
	if rows := ab.attrs("[data-testid=tagrules] tr[data-name]", "data-name"); len(rows) != 1 || rows[0] != name {
		ab.fatalf("the rules after saving: %v", rows)
	}
	ab.shot("tagrule-saved")

	// Half the students vanish from the data center's export: the guard
	// stops the run, and the admin checks and confirms it.
	dc := e.Uni.DataCenter()
	ctx := context.Background()
	if _, err := e.DB.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: store.DataCenter{Students: dc.Students[:len(dc.Students)/2]}, Students: true, Replace: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ab.click(`[data-testid=admin-nav] a[href="/admin/sync"]`)
	ab.click("[data-testid=sync-run] button")
	e.Sync.Wait()
	ab.open(e.URL + "/admin/sync")
	if st := ab.attrs("[data-testid=sync-runs] tr[data-id]", "data-status"); len(st) != 2 || st[0] != "guard" {
		ab.fatalf("the history after the half export: %v", st)
	}
	ab.shot("sync-guard-history")
	ab.click("[data-testid=sync-runs] tr[data-status=guard] [data-testid=sync-run-link]")
	if !ab.has("[data-testid=sync-guard]") || ab.text("[data-testid=guard-members]") == "0" {
		ab.fatalf("the guard run's page: %q", ab.text("main"))
	}
	ab.shot("sync-guard")
	ab.click("[data-testid=guard-list-disable]")
	if kinds := ab.attrs("[data-testid=sync-plan] tr[data-kind]", "data-kind"); len(kinds) == 0 || slices.ContainsFunc(kinds, func(k string) bool { return k != "disable_user" }) {
		t.Errorf("the list of members to disable shows %v", kinds)
	}
	ab.shot("sync-guard-disable-list")
	if err := ab.clickNoNav("[data-testid=sync-confirm-check]"); err != nil {
		ab.fatalf("tick the check: %v", err)
	}
	ab.click("[data-testid=sync-confirm] button[type=submit]")
	if !strings.Contains(ab.text("[data-testid=flash]"), "已确认") {
		t.Errorf("the confirmation shows %q", ab.text("main"))
	}
	e.Sync.Wait()
	ab.open(e.URL + "/admin/sync")
	if st := ab.attrs("[data-testid=sync-runs] tr[data-id]", "data-status"); len(st) != 3 || st[0] != "converged" {
		ab.fatalf("the history after the confirmation: %v", st)
	}
	ab.shot("sync-confirmed")
}
