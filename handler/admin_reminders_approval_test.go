package handler_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/reminder"
)

// TestAWideReminderRuleWaitsForASecondAdmin: a rule reaching more members
// than the broadcast threshold stays silent until an admin other than the
// one who saved it approves it; then it fires on schedule, its sends are
// listed with a delivery report, and changing whom it reaches asks again.
func TestAWideReminderRuleWaitsForASecondAdmin(t *testing.T) {
	e := apptest.Start(t, apptest.Options{BroadcastApproval: 3})
	ctx := context.Background()
	tag, members := leadersTag(t, e)
	if len(members) <= 3 {
		t.Fatalf("the tag has %d members: too few for the threshold", len(members))
	}
	first, second, sender := twoSenders(t, e)

	f := reminderForm("name", "校领导每日提醒", "preset", "daily", "time", "08:00", "tag", strconv.FormatInt(tag, 10), "content", "今日校领导值班表已发布")
	if loc, _ := url.QueryUnescape(location(t, post(t, first, e.URL+"/admin/reminders", f))); !strings.Contains(loc, "另一位管理员批准") {
		t.Errorf("saving a wide rule said %s", loc)
	}
	rules, err := reminder.List(ctx, e.DB)
	if err != nil || len(rules) != 1 || !rules[0].Pending || rules[0].Reach != len(members) {
		t.Fatalf("after saving: %+v %v", rules, err)
	}
	id := rules[0].ID
	sched, err := reminder.New(reminder.Options{DB: e.DB, Messages: e.Notify, Calendar: func(ctx context.Context) (*calendar.Calendar, error) { return calendar.Load(ctx, e.DB, nil) }})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 3, 7, 59, 0, 0, calendar.Zone)
	if fired, err := sched.Fire(ctx, day, day.Add(2*time.Minute)); err != nil || len(fired) != 0 {
		t.Fatalf("a pending rule fired: %+v %v", fired, err)
	}

	// Its author is not offered the approval, and is refused it.
	page := body(t, apptest.Get(t, first, e.URL+"/admin/reminders", ""))
	if !strings.Contains(page, `data-testid="reminder-pending"`) || strings.Contains(page, `data-testid="reminder-approve"`) {
		t.Errorf("the author's list: pending shown %v, approve offered %v", strings.Contains(page, "reminder-pending"), strings.Contains(page, "reminder-approve"))
	}
	approve := e.URL + "/admin/reminders/" + strconv.FormatInt(id, 10) + "/approve"
	if loc := location(t, post(t, first, approve, nil)); !strings.Contains(loc, "error=") {
		t.Errorf("the author approving was answered %s", loc)
	}
	if rules, _ := reminder.List(ctx, e.DB); !rules[0].Pending {
		t.Fatal("the author approved their own rule")
	}
	if page := body(t, apptest.Get(t, second, e.URL+"/admin/reminders", "")); !strings.Contains(page, `data-testid="reminder-approve"`) {
		t.Error("the second admin is not offered the approval")
	}
	location(t, post(t, second, approve, nil))
	if rules, _ := reminder.List(ctx, e.DB); rules[0].Pending || rules[0].ApprovedBy != sender.UserID {
		t.Fatalf("after the second admin: %+v", rules[0])
	}
	if rows := auditActions(t, e, "reminder.approve"); len(rows) != 1 || rows[0].Actor != sender.UserID {
		t.Errorf("the approval's audit: %+v", rows)
	}
	fired, err := sched.Fire(ctx, day, day.Add(2*time.Minute))
	if err != nil || len(fired) != 1 || fired[0].Message == 0 {
		t.Fatalf("the approved rule: %+v %v", fired, err)
	}
	e.DrainNotify(t)
	for _, u := range members {
		if n := inboxWith(e, u, "今日校领导值班表已发布"); n != 1 {
			t.Errorf("%s got the reminder %d times", u, n)
		}
	}
	// Its send is listed, with a delivery report.
	page = body(t, apptest.Get(t, first, e.URL+"/admin/reminders", ""))
	report := "/admin/messages/" + strconv.FormatInt(fired[0].Message, 10)
	if !strings.Contains(page, `href="`+report+`"`) {
		t.Errorf("the reminders page does not list the send %s", report)
	}
	rp := body(t, apptest.Get(t, first, e.URL+report, ""))
	if numbers(rp)["count-delivered"] != len(members) {
		t.Errorf("the report does not count %d delivered:\n%s", len(members), rp)
	}

	// Renaming keeps the approval; reaching others asks again.
	f.Set("id", strconv.FormatInt(id, 10))
	f.Set("name", "校领导每日值班提醒")
	location(t, post(t, first, e.URL+"/admin/reminders", f))
	if rules, _ := reminder.List(ctx, e.DB); rules[0].Pending {
		t.Error("a rename asked for a new approval")
	}
	f.Set("content", "今日值班表有变动")
	location(t, post(t, first, e.URL+"/admin/reminders", f))
	if rules, _ := reminder.List(ctx, e.DB); !rules[0].Pending {
		t.Error("a new text kept the old approval")
	}
}

// TestAnAdminMarksAWeChatPluginMember: the console's mark is audited and
// chooses the channel; an unknown account is refused next to its field.
func TestAnAdminMarksAWeChatPluginMember(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	leadersTag(t, e) // a sync: the members are in the mirror
	admin := superAdmin(t, e)
	who := e.Person(t, undergraduate)
	resp := post(t, admin, e.URL+"/admin/channels", url.Values{"userid": {"nobody-404"}, "client": {"wechat"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "通讯录里没有账号 nobody-404") {
		t.Errorf("an unknown account: %d", resp.StatusCode)
	}
	location(t, post(t, admin, e.URL+"/admin/channels", url.Values{"userid": {who.UserID}, "client": {"wechat"}, "note": {"只用微信"}}))
	page := body(t, apptest.Get(t, admin, e.URL+"/admin/channels", ""))
	if !strings.Contains(page, `data-userid="`+who.UserID+`"`) || !strings.Contains(page, "只用微信") || numbers(page)["detected"] != 1 {
		t.Errorf("the marks page does not list the mark:\n%s", page)
	}
	plugin, err := e.DB.WeChatPluginUsers(ctx)
	if err != nil || !plugin[who.UserID] {
		t.Errorf("the message center does not see the mark: %v %v", plugin, err)
	}
	if rows := auditActions(t, e, "channel.mark"); len(rows) != 1 || rows[0].Actor != e.SuperAdmin || rows[0].Object != "person/"+who.UserID {
		t.Errorf("the mark's audit: %+v", rows)
	}
	location(t, post(t, admin, e.URL+"/admin/channels", url.Values{"userid": {who.UserID}, "client": {""}}))
	if plugin, _ := e.DB.WeChatPluginUsers(ctx); plugin[who.UserID] {
		t.Error("unmarked, still the WeChat plugin")
	}
}
