package handler_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// The console's contacts-sync pages over the whole platform: the sync
// writes the simulator's contacts through its contacts-sync secret.

// contactWrites counts the simulator's contacts write calls.
func contactWrites(e *apptest.Env) int {
	n := 0
	for _, p := range []string{"department/create", "department/update", "department/delete", "user/create", "user/update", "user/delete",
		"tag/create", "tag/update", "tag/delete", "tag/addtagusers", "tag/deltagusers"} {
		n += len(e.Sim.Calls("/cgi-bin/" + p))
	}
	return n
}

func syncRuns(t *testing.T, e *apptest.Env) []store.SyncRun {
	t.Helper()
	rs, err := e.DB.ListSyncRuns(context.Background(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func runCounts(t *testing.T, r store.SyncRun) orgsync.Counts {
	t.Helper()
	var c orgsync.Counts
	if err := json.Unmarshal([]byte(r.Counts), &c); err != nil {
		t.Fatalf("run %d counts %q: %v", r.ID, r.Counts, err)
	}
	return c
}

func auditActions(t *testing.T, e *apptest.Env, prefix string) []store.AuditEntry {
	t.Helper()
	rows, err := e.DB.ListAudit(context.Background(), store.AuditFilter{Action: prefix, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func superAdmin(t *testing.T, e *apptest.Env) *http.Client {
	t.Helper()
	c := e.Browser(t)
	e.SignIn(t, c, e.SuperAdmin, "")
	return c
}

var testidNumber = regexp.MustCompile(`data-testid="([a-z-]+)">(\d+)<`)

// numbers are the numbers the page shows by data-testid (the first of each).
func numbers(page string) map[string]int {
	out := map[string]int{}
	for _, m := range testidNumber.FindAllStringSubmatch(page, -1) {
		if _, ok := out[m[1]]; !ok {
			out[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	return out
}

func TestSyncConsoleDryRunRunAndHistory(t *testing.T) {
	testSyncConsole(t, storetest.SQLite(t))
}

func TestSyncConsoleMySQL(t *testing.T) {
	testSyncConsole(t, storetest.MySQL(t))
}

// testSyncConsole: a super admin finds 通讯录同步 in the console, a dry
// run shows the plan and the guard's verdict without writing anything or
// recording a run, 立即同步 runs it to convergence and the history and
// the run's page show it with its counts and plan, and each press is in
// the audit log.
func testSyncConsole(t *testing.T, db *store.DB) {
	e := apptest.Start(t, apptest.Options{DB: db})
	admin := superAdmin(t, e)

	page := body(t, apptest.Get(t, admin, e.URL+"/admin/", ""))
	if !strings.Contains(page, `href="/admin/sync"`) || !strings.Contains(page, `href="/admin/tagrules"`) {
		t.Fatal("the super admin's console has no link to the sync or the tag rules")
	}
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/sync", ""))
	if !strings.Contains(page, "还没有运行过同步") || !strings.Contains(page, `data-testid="sync-dry-run"`) || strings.Contains(page, "http-equiv") {
		t.Fatalf("the empty history page:\n%s", page)
	}

	resp := post(t, admin, e.URL+"/admin/sync/dry-run", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dry run: %d\n%s", resp.StatusCode, body(t, resp))
	}
	page = body(t, resp)
	dryOps := numbers(page)["dry-run-ops"]
	want := len(e.Uni.DataCenter().Departments) + len(e.Uni.DataCenter().Faculty) + len(e.Uni.DataCenter().Students)
	if dryOps < want/2 || !strings.Contains(page, "新建成员") || !strings.Contains(page, `data-testid="dry-run-guard-ok"`) {
		t.Errorf("the first dry run plans %d operations (the data center has %d rows), want the creations and the guard passing:\n%s", dryOps, want, page)
	}
	if n := contactWrites(e); n != 0 {
		t.Errorf("the dry run made %d contacts writes", n)
	}
	if rs := syncRuns(t, e); len(rs) != 0 {
		t.Errorf("the dry run is recorded as a run: %+v", rs)
	}
	if rows := auditActions(t, e, "contacts.sync.dry_run"); len(rows) != 1 || rows[0].Actor != e.SuperAdmin || !strings.Contains(rows[0].After, "create_user") {
		t.Errorf("dry run audit rows: %+v", rows)
	}

	resp = post(t, admin, e.URL+"/admin/sync/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("立即同步: %d\n%s", resp.StatusCode, body(t, resp))
	}
	next := location(t, resp)
	e.Sync.Wait()
	rs := syncRuns(t, e)
	if len(rs) != 1 {
		t.Fatalf("%d runs after 立即同步, want 1", len(rs))
	}
	r := rs[0]
	c := runCounts(t, r)
	if r.Status != store.SyncConverged || r.Trigger != orgsync.TriggerConsole || r.Actor != e.SuperAdmin || c.Ops != dryOps || c.Failed != 0 || c.Applied != c.Ops {
		t.Fatalf("the console's run: %+v counts %+v; want converged, by %s from the console, the %d operations of the dry run applied", r, c, e.SuperAdmin, dryOps)
	}
	if rows := auditActions(t, e, "contacts.sync.run"); len(rows) != 1 || !strings.Contains(rows[0].After, `"result":"started"`) {
		t.Errorf("立即同步 audit rows: %+v", rows)
	}
	t.Logf("the console's run: %s, %+v", r.Summary, c)
	page = body(t, apptest.Get(t, admin, next, ""))
	row := regexp.MustCompile(`(?s)<tr data-id="` + strconv.FormatInt(r.ID, 10) + `" data-status="converged">.*?</tr>`).FindString(page)
	if row == "" || !strings.Contains(row, "已完成") || !strings.Contains(row, `data-testid="sync-applied">`+strconv.Itoa(c.Applied)+`<`) ||
		!strings.Contains(row, "管理后台") || !strings.Contains(row, e.SuperAdmin) {
		t.Errorf("the history's row of the run: %q\n%s", row, page)
	}
	if !strings.Contains(page, "同步已开始") {
		t.Error("no confirmation that the run started")
	}

	// The run's page: its counts and the plan's first operations.
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/sync/"+strconv.FormatInt(r.ID, 10), ""))
	n := numbers(page)
	if n["sync-ops"] != c.Ops || n["sync-applied"] != c.Applied || n["sync-failed"] != 0 || !strings.Contains(page, "没有失败的操作") {
		t.Errorf("the run's page shows %v, want %d ops applied", n, c.Ops)
	}
	if rows := strings.Count(page, `<tr data-kind="`); rows != min(c.Ops, 500) {
		t.Errorf("the run's page lists %d operations, want %d", rows, min(c.Ops, 500))
	}
	if !strings.Contains(page, `href="/admin/sync/`+strconv.FormatInt(r.ID, 10)+`/plan.jsonl.gz"`) || strings.Contains(page, `data-testid="sync-confirm"`) {
		t.Error("the run's page: no plan download, or a confirmation for a converged run")
	}

	// The plan download: the kept gzip'd JSON lines, the summary first.
	resp = apptest.Get(t, admin, e.URL+"/admin/sync/"+strconv.FormatInt(r.ID, 10)+"/plan.jsonl.gz", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/gzip" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("plan download: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("the plan is not gzip: %v", err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	resp.Body.Close()
	if len(lines) != c.Ops+2 || !strings.HasPrefix(lines[0], `{"summary":{"ops":`+strconv.Itoa(c.Ops)+`,`) || !strings.Contains(lines[1], `"kind":"create_department"`) {
		t.Errorf("the plan has %d lines (want %d), first %q", len(lines), c.Ops+2, lines[0])
	}
	var op struct {
		Index int    `json:"index"`
		Kind  string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSuffix(lines[1], ",")), &op); err != nil || op.Kind == "" {
		t.Errorf("the plan's first op line %q: %v", lines[1], err)
	}
	if rows := auditActions(t, e, "contacts.sync.plan_download"); len(rows) != 1 {
		t.Errorf("plan download audit rows: %d", len(rows))
	}

	// Converged: the next dry run has nothing to do.
	page = body(t, post(t, admin, e.URL+"/admin/sync/dry-run", nil))
	if numbers(page)["dry-run-ops"] != 0 || !strings.Contains(page, "nothing to do") {
		t.Errorf("the dry run after convergence:\n%s", page)
	}
}

// TestSyncConsoleGuardAndConfirm: a data center that lost half its
// students makes a run the guard stops; its page says what the guard saw
// and offers the confirmation, which needs the tick, applies the plan, and
// leaves the runner's confirmation and the button's press in the audit log.
func TestSyncConsoleGuardAndConfirm(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{Trigger: orgsync.TriggerCLI, Actor: "cli:test"}); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	dc := e.Uni.DataCenter()
	half := dc.Students[:len(dc.Students)/2]
	gone := dc.Students[len(dc.Students)/2:]
	if _, err := e.DB.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: store.DataCenter{Students: half}, Students: true, Replace: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	active := func() map[string]bool {
		out := map[string]bool{}
		for _, u := range e.Sim.Snapshot().Users {
			out[u.UserID] = u.Status != 2
		}
		return out
	}
	before := active()
	admin := superAdmin(t, e)

	page := body(t, post(t, admin, e.URL+"/admin/sync/dry-run", nil))
	if !strings.Contains(page, `data-testid="dry-run-guard"`) {
		t.Fatalf("the dry run of the half export does not show the guard:\n%s", page)
	}
	writes := contactWrites(e)
	if resp := post(t, admin, e.URL+"/admin/sync/run", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("立即同步: %d", resp.StatusCode)
	}
	e.Sync.Wait()
	rs := syncRuns(t, e)
	guard := rs[0]
	if guard.Status != store.SyncGuard || contactWrites(e) != writes {
		t.Fatalf("the run of the half export: %s with %d writes, want stopped by the guard with none", guard.Status, contactWrites(e)-writes)
	}
	c := runCounts(t, guard)
	runURL := e.URL + "/admin/sync/" + strconv.FormatInt(guard.ID, 10)
	page = body(t, apptest.Get(t, admin, runURL, ""))
	disabled := c.Kinds["disable_user"] + c.Kinds["delete_user"]
	if disabled == 0 || numbers(page)["guard-members"] != disabled || !strings.Contains(page, "被安全阀拦下") ||
		!strings.Contains(page, `data-testid="sync-confirm"`) || !strings.Contains(page, "我已核对将被停用/删除的成员") {
		t.Fatalf("the guard run's page (%d to disable):\n%s", disabled, page)
	}
	t.Logf("the guard run: %s (%d members to disable or delete)", guard.Summary, disabled)
	page = body(t, apptest.Get(t, admin, runURL+"?kind=disable_user", ""))
	if rows := strings.Count(page, `<tr data-kind="disable_user">`); rows != min(disabled, 500) || strings.Contains(page, `<tr data-kind="create_user">`) {
		t.Errorf("the list of members to disable has %d rows, want %d", rows, disabled)
	}

	// Without the tick: refused, nothing run.
	resp := post(t, admin, runURL+"/confirm", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body(t, resp), `data-testid="confirm-error"`) {
		t.Fatalf("confirm without the tick: %d", resp.StatusCode)
	}
	e.Sync.Wait()
	if len(syncRuns(t, e)) != len(rs) {
		t.Fatal("a confirmation without the tick started a run")
	}
	resp = post(t, admin, runURL+"/confirm", url.Values{"checked": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, body(t, resp))
	}
	resp.Body.Close()
	e.Sync.Wait()
	rs = syncRuns(t, e)
	if rs[0].ID == guard.ID || rs[0].Status != store.SyncConverged || rs[0].Actor != e.SuperAdmin {
		t.Fatalf("after confirming, the newest run is %+v, want a converged one by %s", rs[0], e.SuperAdmin)
	}
	after := active()
	for _, s := range gone {
		if before[s.StudentNo] && after[s.StudentNo] {
			t.Errorf("student %s left the data center but is still active after the confirmation", s.StudentNo)
		}
	}
	for _, s := range half {
		if before[s.StudentNo] && !after[s.StudentNo] {
			t.Errorf("student %s is still in the data center but was disabled", s.StudentNo)
		}
	}
	if rows := auditActions(t, e, "contacts.sync.confirm"); len(rows) != 2 {
		t.Errorf("audit rows contacts.sync.confirm*: %+v, want the runner's confirmation and the button's press", rows)
	} else {
		var actions []string
		for _, r := range rows {
			actions = append(actions, r.Action+" "+r.Actor)
		}
		if got := strings.Join(actions, ", "); got != "contacts.sync.confirm "+e.SuperAdmin+", contacts.sync.confirm_request "+e.SuperAdmin {
			t.Errorf("audit rows: %s", got)
		}
	}
	// The guard run is history now: no confirmation any more.
	page = body(t, apptest.Get(t, admin, runURL, ""))
	if strings.Contains(page, `data-testid="sync-confirm"`) || !strings.Contains(page, `data-testid="sync-not-confirmable"`) {
		t.Error("the old guard run still offers a confirmation")
	}
	resp = post(t, admin, runURL+"/confirm", url.Values{"checked": {"1"}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("confirming an old guard run: %d, want 409", resp.StatusCode)
	}
	resp.Body.Close()
}

// TestSyncConsoleConfirmChangedPlan: a confirmation is for the plan the
// admin checked; when the data center changed since, it is refused.
func TestSyncConsoleConfirmChangedPlan(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	dc := e.Uni.DataCenter()
	if _, err := e.DB.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: store.DataCenter{Students: dc.Students[:len(dc.Students)/2]}, Students: true, Replace: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{}); err == nil {
		t.Fatal("the half export was not stopped by the guard")
	}
	guard := syncRuns(t, e)[0]
	// Another quarter leaves before the admin confirms.
	if _, err := e.DB.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: store.DataCenter{Students: dc.Students[:len(dc.Students)/4]}, Students: true, Replace: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	admin := superAdmin(t, e)
	writes := contactWrites(e)
	resp := post(t, admin, e.URL+"/admin/sync/"+strconv.FormatInt(guard.ID, 10)+"/confirm", url.Values{"checked": {"1"}})
	if page := body(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "数据已经变化") {
		t.Fatalf("confirming a plan that changed: %d\n%s", resp.StatusCode, page)
	}
	e.Sync.Wait()
	if contactWrites(e) != writes || len(syncRuns(t, e)) != 2 {
		t.Error("a refused confirmation ran the sync")
	}
}

// TestSyncConsoleRefusesOthers: the sync and the tag rules are for super
// admins; a department admin and a student are refused and start nothing.
func TestSyncConsoleRefusesOthers(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	teacher := e.Person(t, func(p *demo.Person) bool {
		return p.Main() == demo.CatStaff && p.Status == 1 && p.UserID != e.SuperAdmin
	})
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: teacher.UserID, Role: auth.AdminDept, Depts: []string{"1000"}}); err != nil {
		t.Fatal(err)
	}
	dept := e.Browser(t)
	e.SignIn(t, dept, teacher.UserID, "")
	st := e.Person(t, undergraduate)
	stu := e.Browser(t)
	e.SignIn(t, stu, st.UserID, "")
	if page := body(t, apptest.Get(t, dept, e.URL+"/admin/", "")); strings.Contains(page, `href="/admin/sync"`) || strings.Contains(page, `href="/admin/tagrules"`) {
		t.Error("a department admin's console links the sync pages")
	}
	for _, c := range []*http.Client{dept, stu} {
		for _, p := range []string{"/admin/sync", "/admin/sync/1", "/admin/sync/1/plan.jsonl.gz", "/admin/tagrules"} {
			if resp := apptest.Get(t, c, e.URL+p, ""); resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s: %d, want 403", p, resp.StatusCode)
			} else {
				resp.Body.Close()
			}
		}
		for _, p := range []string{"/admin/sync/run", "/admin/sync/dry-run", "/admin/sync/1/confirm", "/admin/tagrules", "/admin/tagrules/delete"} {
			form := url.Values{"checked": {"1"}, "name": {"x"}, "rule": {"true"}, "confirm": {"1"}}
			if resp := post(t, c, e.URL+p, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s: %d, want 403", p, resp.StatusCode)
			} else {
				resp.Body.Close()
			}
		}
	}
	e.Sync.Wait()
	if rs := syncRuns(t, e); len(rs) != 0 || contactWrites(e) != 0 {
		t.Errorf("refused requests ran the sync: %d runs", len(rs))
	}
	if rules, _ := e.Mirror.TagRules(ctx, nil); len(rules) != 0 {
		t.Errorf("refused requests saved tag rules: %+v", rules)
	}
}

// TestTagRulesConsole: a bad rule is answered next to its field with what
// was typed kept; a good one is previewed with the members it matches,
// saved and audited, made into a tag by the next sync, and deleted after a
// confirmation.
func TestTagRulesConsole(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	admin := superAdmin(t, e)

	page := body(t, apptest.Get(t, admin, e.URL+"/admin/tagrules", ""))
	if !strings.Contains(page, "还没有标签规则") || !strings.Contains(page, "/ 3,000 个标签") || !strings.Contains(page, "下次同步") {
		t.Fatalf("the empty tag rules page:\n%s", page)
	}
	const name = "测试标签-本科生"
	bad := `kind == "student" && gradee == 2024`
	resp := post(t, admin, e.URL+"/admin/tagrules", url.Values{"name": {name}, "rule": {bad}, "enabled": {"1"}})
	page = body(t, resp)
	if resp.StatusCode != http.StatusBadRequest ||
		!regexp.MustCompile(`name="rule"[^>]*>[^<]*gradee[^<]*</textarea><span class="fe" data-testid="field-error">规则有误`).MatchString(page) ||
		!strings.Contains(page, `value="`+name+`"`) {
		t.Fatalf("a bad rule: %d, want 400 with the error next to the rule and the values kept:\n%s", resp.StatusCode, page)
	}
	resp = post(t, admin, e.URL+"/admin/tagrules", url.Values{"name": {strings.Repeat("长", 33)}, "rule": {"true"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "最多 32 个字") {
		t.Errorf("a 33-character name: %d", resp.StatusCode)
	}
	if rules, _ := e.Mirror.TagRules(ctx, nil); len(rules) != 0 {
		t.Fatalf("refused rules were saved: %+v", rules)
	}

	// The undergraduates of one grade, counted from the data center.
	dc := e.Uni.DataCenter()
	grade := dc.Students[0].Grade
	want := 0
	for _, s := range dc.Students {
		if s.Level == "undergraduate" && s.Grade == grade && (s.Status == "enrolled" || s.Status == "suspended") {
			want++
		}
	}
	if want == 0 {
		t.Fatal("no undergraduates in the first student's grade")
	}
	t.Logf("grade %d: %d undergraduates", grade, want)
	good := fmt.Sprintf(`kind == "student" && level == "undergraduate" && grade == %d`, grade)
	form := url.Values{"name": {name}, "rule": {good}, "enabled": {"1"}}
	page = body(t, post(t, admin, e.URL+"/admin/tagrules/preview", form))
	if got := numbers(page)["preview-count"]; got != want || strings.Count(page, `data-testid="preview-member"`) != min(want, 20) {
		t.Errorf("the preview matches %d members and lists %d, want %d and %d", got, strings.Count(page, `data-testid="preview-member"`), want, min(want, 20))
	}
	if rules, _ := e.Mirror.TagRules(ctx, nil); len(rules) != 0 {
		t.Fatal("the preview saved the rule")
	}
	resp = post(t, admin, e.URL+"/admin/tagrules", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving a good rule: %d\n%s", resp.StatusCode, body(t, resp))
	}
	page = body(t, apptest.Get(t, admin, location(t, resp), ""))
	if !strings.Contains(page, `<tr data-name="`+name+`">`) || !strings.Contains(page, "下次同步时生效") || !strings.Contains(page, "<b>1</b> / 3,000 个标签") {
		t.Errorf("the list after saving:\n%s", page)
	}
	if rows := auditActions(t, e, "contacts.tagrule."); len(rows) != 1 || rows[0].Action != "contacts.tagrule.create" || rows[0].Actor != e.SuperAdmin || !strings.Contains(rows[0].After, "undergraduate") {
		t.Errorf("audit after saving: %+v", rows)
	}
	// The same name again, as a new rule, is refused.
	if resp := post(t, admin, e.URL+"/admin/tagrules", form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body(t, resp), "已有同名") {
		t.Errorf("a second rule of the same name: %d", resp.StatusCode)
	}
	// Search by name.
	if page := body(t, apptest.Get(t, admin, e.URL+"/admin/tagrules?q=nothing-like-it", "")); strings.Contains(page, `<tr data-name="`) {
		t.Error("a search for another name lists the rule")
	}

	// The next sync makes the tag with those members.
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tg := range e.Sim.Snapshot().Tags {
		if tg.TagName == name {
			found = true
			if len(tg.UserList) != want {
				t.Errorf("the tag holds %d members in WeCom, want %d", len(tg.UserList), want)
			}
		}
	}
	if !found {
		t.Fatal("the sync did not make the tag")
	}

	// An edit (disabling it) is audited with what it was.
	edit := url.Values{"original": {name}, "name": {name}, "rule": {good}}
	if resp := post(t, admin, e.URL+"/admin/tagrules", edit); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabling the rule: %d\n%s", resp.StatusCode, body(t, resp))
	}
	if rows := auditActions(t, e, "contacts.tagrule.update"); len(rows) != 1 || !strings.Contains(rows[0].Before, `"enabled":true`) || !strings.Contains(rows[0].After, `"enabled":false`) {
		t.Errorf("audit of the edit: %+v", rows)
	}

	// Deleting asks first, then deletes and says the tag goes at the next sync.
	resp = post(t, admin, e.URL+"/admin/tagrules/delete", url.Values{"name": {name}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete without confirmation: %d", resp.StatusCode)
	}
	page = body(t, apptest.Get(t, admin, location(t, resp), ""))
	if !strings.Contains(page, `data-testid="tagrule-delete-confirm"`) || !strings.Contains(page, "删除企业微信里的标签 "+name) {
		t.Fatalf("no confirmation of the deletion:\n%s", page)
	}
	if rules, _ := e.Mirror.TagRules(ctx, nil); len(rules) != 1 {
		t.Fatal("the rule went before the confirmation")
	}
	resp = post(t, admin, e.URL+"/admin/tagrules/delete", url.Values{"name": {name}, "confirm": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if flash, _ := url.QueryUnescape(location(t, resp)); !strings.Contains(flash, "下次同步时会删除企业微信里的标签") {
		t.Errorf("the deletion's message: %s", flash)
	}
	if rules, _ := e.Mirror.TagRules(ctx, nil); len(rules) != 0 {
		t.Errorf("rules after the deletion: %+v", rules)
	}
	if rows := auditActions(t, e, "contacts.tagrule.delete"); len(rows) != 1 || !strings.Contains(rows[0].Before, name) || rows[0].After != "null" {
		t.Errorf("audit of the deletion: %+v", rows)
	}
	if resp := post(t, admin, e.URL+"/admin/tagrules/delete", url.Values{"name": {name}, "confirm": {"1"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleting it again: %d, want 404", resp.StatusCode)
	}
}

// TestSyncConsoleRunElsewhere: a run recorded as running by another
// instance is announced and refreshes the page, without locking the button
// (the lock decides); one that has been "running" for half a day died with
// its instance and refreshes nothing.
func TestSyncConsoleRunElsewhere(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	admin := superAdmin(t, e)
	id, err := e.DB.StartSyncRun(ctx, nil, store.SyncRunStart{At: time.Now().Add(-time.Minute), Summary: "1 operations: create_user 1", Trigger: orgsync.TriggerSchedule, Actor: "system"})
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, apptest.Get(t, admin, e.URL+"/admin/sync", ""))
	if !strings.Contains(page, `data-testid="sync-running"`) || !strings.Contains(page, "另一个实例") || !strings.Contains(page, `http-equiv="refresh"`) ||
		strings.Contains(page, "disabled") || !strings.Contains(page, `data-status="running"`) || !strings.Contains(page, "进行中") {
		t.Errorf("the history with a run going on elsewhere:\n%s", page)
	}
	if page := body(t, apptest.Get(t, admin, e.URL+"/admin/sync/"+strconv.FormatInt(id, 10), "")); !strings.Contains(page, `http-equiv="refresh"`) {
		t.Error("the running run's page does not refresh itself")
	}
	if _, err := e.DB.InterruptSyncRuns(ctx, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.StartSyncRun(ctx, nil, store.SyncRunStart{At: time.Now().Add(-13 * time.Hour), Summary: "nothing to do", Trigger: orgsync.TriggerSchedule, Actor: "system"}); err != nil {
		t.Fatal(err)
	}
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/sync", ""))
	if strings.Contains(page, `http-equiv="refresh"`) || strings.Contains(page, `data-testid="sync-running"`) || !strings.Contains(page, `data-status="interrupted"`) {
		t.Errorf("the history with a run that died half a day ago:\n%s", page)
	}
}

// TestTagRulesConsoleAtTheCap: with WeCom's 3,000 tags a corp made by
// rules, the page warns, lists the first rules with a pointer to the
// search, finds a rule by name, and refuses a new rule (an edit still
// works).
func TestTagRulesConsoleAtTheCap(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	err := e.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		for i := range contacts.MaxCorpTags {
			if err := e.Mirror.PutTagRule(ctx, tx, contacts.TagRule{Name: fmt.Sprintf("班级-%04d", i), Rule: fmt.Sprintf(`dept == "C%04d"`, i), Enabled: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := superAdmin(t, e)
	page := body(t, apptest.Get(t, admin, e.URL+"/admin/tagrules", ""))
	if !strings.Contains(page, "<b>3,000</b> / 3,000 个标签") || !strings.Contains(page, "已接近") || strings.Count(page, `<tr data-name="`) != 200 ||
		!strings.Contains(page, `data-testid="tagrules-more"`) {
		t.Errorf("the page at the cap: %d rows listed", strings.Count(page, `<tr data-name="`))
	}
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/tagrules?q="+url.QueryEscape("班级-2999"), ""))
	if strings.Count(page, `<tr data-name="`) != 1 || !strings.Contains(page, `<tr data-name="班级-2999">`) {
		t.Errorf("searching 班级-2999 lists %d rules", strings.Count(page, `<tr data-name="`))
	}
	resp := post(t, admin, e.URL+"/admin/tagrules", url.Values{"name": {"新标签"}, "rule": {"true"}, "enabled": {"1"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "上限") {
		t.Errorf("a new rule at the cap: %d", resp.StatusCode)
	}
	resp = post(t, admin, e.URL+"/admin/tagrules", url.Values{"original": {"班级-0001"}, "name": {"班级-0001"}, "rule": {`dept == "C0001" && kind == "student"`}, "enabled": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("an edit at the cap: %d\n%s", resp.StatusCode, body(t, resp))
	}
	// A rename replaces the rule (the next sync replaces the tag).
	resp = post(t, admin, e.URL+"/admin/tagrules", url.Values{"original": {"班级-0002"}, "name": {"班级-0002甲"}, "rule": {`dept == "C0002"`}, "enabled": {"1"}})
	if loc, _ := url.QueryUnescape(location(t, resp)); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "删除标签 班级-0002 并新建标签 班级-0002甲") {
		t.Errorf("a rename: %d %s", resp.StatusCode, loc)
	}
	rules, err := e.Mirror.TagRules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range rules {
		names[r.Name] = true
	}
	if len(rules) != contacts.MaxCorpTags || names["班级-0002"] || !names["班级-0002甲"] {
		t.Errorf("after the rename: %d rules, old name %v, new name %v", len(rules), names["班级-0002"], names["班级-0002甲"])
	}
	if rows := auditActions(t, e, "contacts.tagrule.update"); len(rows) != 2 || !strings.Contains(rows[0].Before, `"name":"班级-0002"`) || !strings.Contains(rows[0].After, `"name":"班级-0002甲"`) {
		t.Errorf("audit of the rename: %+v", rows)
	}
}
