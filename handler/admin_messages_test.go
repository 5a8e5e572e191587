package handler_test

import (
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

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// The console's mass messaging: compose, count, preview, send once, the
// members receive it, the report counts it, recall; who may; and the
// second admin's approval of a large broadcast.

// leadersTag syncs the demo's 校领导 tag rule into WeCom (and the mirror)
// and returns the tag's id and members.
func leadersTag(t *testing.T, e *apptest.Env) (int64, []string) {
	t.Helper()
	ctx := context.Background()
	for _, tr := range e.Uni.TagRules() {
		if tr.Name == "校领导" {
			if err := e.Mirror.PutTagRule(ctx, nil, tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	st, err := e.Mirror.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range st.Tags {
		if tg.Name == "校领导" && len(tg.Users) > 0 {
			return tg.ID, tg.Users
		}
	}
	t.Fatal("no 校领导 tag after the sync")
	return 0, nil
}

var tokenField = regexp.MustCompile(`name="token" value="([0-9a-f]{32})"`)

// composeForm is the compose page's form with its token, for tag.
func composeForm(t *testing.T, e *apptest.Env, c *http.Client, tag int64, fields ...string) url.Values {
	t.Helper()
	resp := apptest.Get(t, c, e.URL+"/admin/messages", "")
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/messages: %d", resp.StatusCode)
	}
	m := tokenField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the compose form has no token")
	}
	f := url.Values{"token": {m[1]}, "tag": {strconv.FormatInt(tag, 10)}}
	for i := 0; i+1 < len(fields); i += 2 {
		f.Set(fields[i], fields[i+1])
	}
	return f
}

func inboxWith(e *apptest.Env, userID, text string) int {
	n := 0
	for _, it := range e.Sim.Inbox(userID) {
		if strings.Contains(string(it.Body), text) {
			n++
		}
	}
	return n
}

func sentIDs(t *testing.T, e *apptest.Env) []int64 {
	t.Helper()
	ms, err := e.DB.OutboxMessagesOf(context.Background(), "console", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestConsoleSendsToATagOnce(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	tag, members := leadersTag(t, e)
	admin := superAdmin(t, e)

	page := body(t, apptest.Get(t, admin, e.URL+"/admin/messages", ""))
	if !strings.Contains(page, `href="/admin/messages"`) || !strings.Contains(page, ">校领导</option>") {
		t.Fatalf("the compose page lacks the nav entry or the tag:\n%s", page)
	}
	f := composeForm(t, e, admin, tag, "msgtype", "text", "content", "明天上午 8:00–12:00 主校区停水，请提前储水。")

	// Counting: the page, and the live count the script asks for.
	f.Set("action", "count")
	if got := numbers(body(t, post(t, admin, e.URL+"/admin/messages", f)))["recipient-count"]; got != len(members) {
		t.Errorf("counted %d recipients, want the tag's %d", got, len(members))
	}
	var live struct {
		Members  int  `json:"members"`
		Approval bool `json:"approval"`
	}
	resp := post(t, admin, e.URL+"/admin/messages/count", f)
	if err := json.Unmarshal([]byte(body(t, resp)), &live); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("live count: %d %v", resp.StatusCode, err)
	}
	if live.Members != len(members) || live.Approval {
		t.Errorf("live count %+v, want %d without approval", live, len(members))
	}

	// Departments with and without the ones below, roles, everyone.
	count := func(fields ...string) int {
		t.Helper()
		g := url.Values{"action": {"count"}}
		for i := 0; i+1 < len(fields); i += 2 {
			g.Add(fields[i], fields[i+1])
		}
		return numbers(body(t, post(t, admin, e.URL+"/admin/messages", g)))["recipient-count"]
	}
	all := count("all", "1")
	st, err := e.Mirror.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	enabled := 0
	for _, m := range st.Members {
		if m.Enabled {
			enabled++
		}
	}
	if all != enabled {
		t.Errorf("everyone counts %d, the mirror has %d enabled members", all, enabled)
	}
	if whole, top := count("dept", "1", "children", "1"), count("dept", "1"); whole != all || top >= whole {
		t.Errorf("the root department counts %d with the ones below (want %d), %d alone", whole, all, top)
	}
	holders, err := e.Workbench.RoleHolders(context.Background(), []string{"counselor"})
	if err != nil {
		t.Fatal(err)
	}
	if got := count("role", "counselor"); got != len(holders) || got == 0 {
		t.Errorf("the counselors count %d, want %d", got, len(holders))
	}

	// Preview of a markdown: as WeCom shows it, and the plugin's textcard.
	md := url.Values{}
	for k, v := range f {
		md[k] = v
	}
	md.Set("msgtype", "markdown")
	md.Set("content", "# 停水通知\n**明天**上午停水")
	md.Set("action", "preview")
	pv := body(t, post(t, admin, e.URL+"/admin/messages", md))
	wecomPart, wechatPart, _ := strings.Cut(pv[strings.Index(pv, `data-testid="preview-wecom"`):], `data-testid="preview-wechat"`)
	if !strings.Contains(wecomPart, "<b>明天</b>") || !strings.Contains(wechatPart, `data-testid="msg-card-title">停水通知<`) {
		t.Errorf("preview:\n%s", pv)
	}
	if len(sentIDs(t, e)) != 0 {
		t.Fatal("counting or previewing sent something")
	}

	// Send, and the double click: one message.
	f.Set("action", "send")
	first := location(t, post(t, admin, e.URL+"/admin/messages", f))
	second := location(t, post(t, admin, e.URL+"/admin/messages", f))
	ids := sentIDs(t, e)
	if len(ids) != 1 {
		t.Fatalf("two sends of one form: messages %v", ids)
	}
	reportURL := e.URL + "/admin/messages/" + strconv.FormatInt(ids[0], 10)
	if !strings.HasPrefix(first, reportURL+"?") || !strings.HasPrefix(second, reportURL+"?") {
		t.Fatalf("two sends of one form redirected to %s and %s, want the one message's report", first, second)
	}
	e.DrainNotify(t)
	for _, u := range members {
		if n := inboxWith(e, u, "主校区停水"); n != 1 {
			t.Errorf("%s received the notice %d times, want once", u, n)
		}
	}
	outsider := e.Person(t, undergraduate)
	if inboxWith(e, outsider.UserID, "主校区停水") != 0 {
		t.Error("a member outside the tag received it")
	}

	// The report, and a read in the message center counted in it.
	reader := e.Browser(t)
	e.SignIn(t, reader, members[0], "")
	if resp := apptest.Get(t, reader, e.URL+"/app/messages/"+strconv.FormatInt(ids[0], 10), ""); resp.StatusCode != http.StatusOK {
		t.Errorf("a recipient opening it: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	report := body(t, apptest.Get(t, admin, first, ""))
	nums := numbers(report)
	if nums["count-delivered"] != len(members) || nums["count-total"] != len(members) || nums["count-read"] != 1 || nums["count-waiting"] != 0 {
		t.Errorf("report counts %v, want %d delivered of %d, 1 read", nums, len(members), len(members))
	}
	if strings.Count(report, `data-testid="report-row"`) != len(members) {
		t.Errorf("report rows: %d, want %d", strings.Count(report, `data-testid="report-row"`), len(members))
	}

	// Audited once: who, what, to whom, from where.
	rows := auditActions(t, e, "message.send")
	if len(rows) != 1 || rows[0].Actor != e.SuperAdmin || rows[0].IP == "" || !strings.Contains(rows[0].After, strconv.FormatInt(tag, 10)) || !strings.Contains(rows[0].After, "主校区停水") {
		t.Fatalf("audit of the send: %+v", rows)
	}

	// Recall: the report says so, the audit has it, and the notice leaves
	// the recipients' message center.
	recall := first[:strings.Index(first, "?")] + "/recall"
	if got := location(t, post(t, admin, recall, nil)); !strings.Contains(got, "error=") {
		t.Errorf("a recall without the tick redirected to %s, want an error", got)
	}
	if report := body(t, apptest.Get(t, admin, first, "")); strings.Contains(report, `data-testid="report-state">已撤回<`) {
		t.Error("a recall without the tick recalled")
	}
	if got := location(t, post(t, admin, recall, url.Values{"confirm": {"1"}})); !strings.Contains(got, "/admin/messages/") {
		t.Errorf("recall redirected to %s", got)
	}
	if report := body(t, apptest.Get(t, admin, first, "")); !strings.Contains(report, `data-testid="report-state">已撤回<`) {
		t.Errorf("the report after recall:\n%s", report)
	}
	if len(auditActions(t, e, "message.recall")) != 1 {
		t.Error("the recall is not audited")
	}
	if resp := apptest.Get(t, reader, e.URL+"/app/messages/"+strconv.FormatInt(ids[0], 10), ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a recalled notice still opens: %d", resp.StatusCode)
	}
}

func TestConsoleMessagesRefusesOthers(t *testing.T) {
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
	stu := e.Browser(t)
	e.SignIn(t, stu, e.Person(t, undergraduate).UserID, "")
	if page := body(t, apptest.Get(t, dept, e.URL+"/admin/", "")); strings.Contains(page, `href="/admin/messages"`) {
		t.Error("a department admin's console links 消息群发")
	}
	form := url.Values{"token": {strings.Repeat("ab", 16)}, "all": {"1"}, "msgtype": {"text"}, "content": {"x"}, "action": {"send"}}
	for _, c := range []*http.Client{dept, stu} {
		if resp := apptest.Get(t, c, e.URL+"/admin/messages", ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /admin/messages: %d, want 403", resp.StatusCode)
		} else {
			resp.Body.Close()
		}
		for _, p := range []string{"/admin/messages", "/admin/messages/count", "/admin/messages/1/recall", "/admin/messages/drafts/1/approve"} {
			if resp := post(t, c, e.URL+p, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s: %d, want 403", p, resp.StatusCode)
			} else {
				resp.Body.Close()
			}
		}
	}
	if len(sentIDs(t, e)) != 0 || len(auditActions(t, e, "message.")) != 0 {
		t.Error("a refused request sent or audited something")
	}
}

func TestConsoleBroadcastNeedsASecondAdmin(t *testing.T) {
	testBroadcastApproval(t, storetest.SQLite(t))
}

// On MariaDB too: the drafts' table, its form-token key and the
// conditional approval as production runs them.
func TestConsoleBroadcastNeedsASecondAdminMySQL(t *testing.T) {
	testBroadcastApproval(t, storetest.MySQL(t))
}

// twoSenders are two admins who may send messages: the super admin, and a
// staff member granted the sender role (signed in as second).
func twoSenders(t *testing.T, e *apptest.Env) (first, second *http.Client, sender *demo.Person) {
	t.Helper()
	sender = e.Person(t, func(p *demo.Person) bool {
		return p.Main() == demo.CatStaff && p.Status == 1 && p.UserID != e.SuperAdmin
	})
	if err := e.Admins.Grant(context.Background(), store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: sender.UserID, Role: auth.AdminSender}); err != nil {
		t.Fatal(err)
	}
	first = superAdmin(t, e)
	second = e.Browser(t)
	e.SignIn(t, second, sender.UserID, "")
	return first, second, sender
}

func testBroadcastApproval(t *testing.T, db *store.DB) {
	e := apptest.Start(t, apptest.Options{DB: db, BroadcastApproval: 3})
	ctx := context.Background()
	tag, members := leadersTag(t, e)
	if len(members) <= 3 {
		t.Fatalf("the tag has %d members: too few for the test's threshold", len(members))
	}
	first, second, sender := twoSenders(t, e)

	f := composeForm(t, e, first, tag, "msgtype", "textcard", "title", "全校消防演练", "content", "周五下午三点，听到警报请有序撤离。", "action", "count")
	if page := body(t, post(t, first, e.URL+"/admin/messages", f)); !strings.Contains(page, `data-testid="needs-approval"`) {
		t.Error("the count does not say a second admin must approve")
	}
	f.Set("action", "send")
	post(t, first, e.URL+"/admin/messages", f).Body.Close()
	post(t, first, e.URL+"/admin/messages", f).Body.Close() // the double click: still one draft
	drafts, err := e.DB.MessageDrafts(ctx, store.DraftPending, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 || drafts[0].Reach != len(members) || len(sentIDs(t, e)) != 0 {
		t.Fatalf("after submitting: drafts %+v, messages %v", drafts, sentIDs(t, e))
	}
	approve := e.URL + "/admin/messages/drafts/" + strconv.FormatInt(drafts[0].ID, 10) + "/approve"

	// Its author cannot approve it.
	if page := body(t, apptest.Get(t, first, e.URL+"/admin/messages", "")); strings.Contains(page, `data-testid="approve"`) {
		t.Error("the author is offered the approve button")
	}
	if loc := location(t, post(t, first, approve, nil)); !strings.Contains(loc, "error=") {
		t.Errorf("the author's approval redirected to %s, want an error", loc)
	}
	e.DrainNotify(t)
	if d, _ := e.DB.GetMessageDraft(ctx, drafts[0].ID); d.State != store.DraftPending || len(sentIDs(t, e)) != 0 || inboxWith(e, members[0], "消防演练") != 0 {
		t.Fatalf("the author's own approval sent it: %+v", d)
	}

	// Another admin with the message permission approves: it is sent.
	if page := body(t, apptest.Get(t, second, e.URL+"/admin/messages", "")); !strings.Contains(page, `data-testid="approve"`) || !strings.Contains(page, "全校消防演练") {
		t.Errorf("the second admin does not see the draft to approve:\n%s", page)
	}
	loc := location(t, post(t, second, approve, nil))
	post(t, second, approve, nil).Body.Close() // twice: still once
	ids := sentIDs(t, e)
	if len(ids) != 1 || !strings.Contains(loc, "/admin/messages/"+strconv.FormatInt(ids[0], 10)) {
		t.Fatalf("after approval: messages %v, redirected to %s", ids, loc)
	}
	e.DrainNotify(t)
	for _, u := range members {
		if n := inboxWith(e, u, "消防演练"); n != 1 {
			t.Errorf("%s received the approved broadcast %d times, want once", u, n)
		}
	}
	d, _ := e.DB.GetMessageDraft(ctx, drafts[0].ID)
	if d.State != store.DraftSent || d.DecidedBy != sender.UserID || d.MessageID != ids[0] {
		t.Errorf("the draft after approval: %+v", d)
	}
	if rows := auditActions(t, e, "message.draft"); len(rows) != 1 || rows[0].Actor != e.SuperAdmin || rows[0].IP == "" {
		t.Errorf("the submission's audit: %+v", rows)
	}
	if rows := auditActions(t, e, "message.approve"); len(rows) != 1 || rows[0].Actor != sender.UserID || rows[0].IP == "" {
		t.Errorf("the approval's audit: %+v", rows)
	}
}

// Every type the form offers is one WeCom takes (notify validates it as
// message/send would), and a scheduled one waits for its time.
func TestConsoleComposesEveryTypeAndSchedules(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	admin := superAdmin(t, e)
	to := e.Person(t, counselor).UserID
	for i, typ := range []string{"text", "textcard", "markdown", "news", "template_card"} {
		f := url.Values{"token": {fmt.Sprintf("%032x", i+1)}, "userids": {to}, "msgtype": {typ}, "title": {"图书馆闭馆通知-" + typ},
			"content": {"12 月 3 日**闭馆**一天。"}, "url": {"https://lib.example.edu.cn/n/1"}, "btntxt": {"查看"}, "action": {"send"}}
		resp := post(t, admin, e.URL+"/admin/messages", f)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d\n%s", typ, resp.StatusCode, body(t, resp))
			continue
		}
		resp.Body.Close()
	}
	e.DrainNotify(t)
	got := map[string]bool{}
	for _, it := range e.Sim.Inbox(to) {
		if strings.Contains(string(it.Body), "闭馆") {
			got[it.MsgType] = true
		}
	}
	if len(got) != 5 {
		t.Errorf("the member received %v, want all five types", got)
	}

	// Too long for a textcard: said next to the field, nothing sent.
	before := len(sentIDs(t, e))
	long := url.Values{"token": {strings.Repeat("c", 32)}, "userids": {to}, "msgtype": {"textcard"}, "title": {"t"}, "content": {strings.Repeat("长", 200)}, "action": {"send"}}
	if resp := post(t, admin, e.URL+"/admin/messages", long); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body(t, resp), "最多 512 字节") {
		t.Errorf("an over-long textcard: %d", resp.StatusCode)
	}

	// Scheduled for tomorrow: queued, not sent by dispatch today.
	at := time.Now().Add(24 * time.Hour).Format("2006-01-02T15:04")
	later := url.Values{"token": {strings.Repeat("d", 32)}, "userids": {to}, "msgtype": {"text"}, "content": {"明天的提醒"}, "send_at": {at}, "action": {"send"}}
	report := location(t, post(t, admin, e.URL+"/admin/messages", later))
	e.DrainNotify(t)
	if inboxWith(e, to, "明天的提醒") != 0 {
		t.Error("a message scheduled for tomorrow was sent today")
	}
	if page := body(t, apptest.Get(t, admin, report, "")); !strings.Contains(page, `data-testid="report-state">排队中<`) || !strings.Contains(page, "定时 "+strings.Replace(at, "T", " ", 1)) {
		t.Errorf("the scheduled message's report:\n%s", page)
	}
	if n := len(sentIDs(t, e)); n != before+1 {
		t.Errorf("messages: %d, want %d", n, before+1)
	}
}
