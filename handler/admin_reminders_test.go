package handler_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/reminder"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// The console's reminders and academic calendar: a rule is listed with
// its next firings as the calendar decides them (a holiday, a students'
// vacation silence them), a bad schedule is refused with the form kept,
// 立即发送一次 reaches the members once, and only senders may.

// statutory checks the lunar-go dates the tests rely on, so a lunar-go
// bump that changed them fails here, saying so, not in a page assertion.
func statutory(t *testing.T) {
	t.Helper()
	first, last := calendar.Years()
	if first > 2026 || last < 2027 {
		t.Fatalf("lunar-go holds %d–%d; the tests need 2026 and 2027", first, last)
	}
	cal, err := calendar.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for date, want := range map[string]string{"2026-09-30": "工作日", "2026-10-01": "法定节假日 国庆节", "2026-10-07": "法定节假日 国庆节",
		"2026-10-08": "工作日", "2026-10-10": "调休上班 国庆节", "2027-01-14": "工作日", "2027-01-18": "工作日", "2027-03-01": "工作日"} {
		d, _ := calendar.ParseDate(date)
		if got := cal.Day(d).String(); got != date+" "+want {
			t.Fatalf("lunar-go says %q, the tests expect %q", got, date+" "+want)
		}
	}
}

var (
	firingItem = regexp.MustCompile(`(?s)<li[^>]*data-testid="(firing|firing-skipped)">(.*?)</li>`)
	htmlTag    = regexp.MustCompile(`<[^>]+>`)
	reminderTR = regexp.MustCompile(`(?s)<tr data-testid="reminder" data-id="(\d+)"[^>]*>(.*?)</tr>`)
)

// ruleFirings are the firings the list shows for the rule named name,
// each as its text ("2026-09-29 08:00 周二", "2026-10-01 至 2026-10-07
// 国庆节 不提醒（7 天）"), and its schedule in words.
func ruleFirings(t *testing.T, page, name string) (id int64, schedule string, firings []string) {
	t.Helper()
	for _, m := range reminderTR.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[2], ">"+name+"<") {
			continue
		}
		id, _ = strconv.ParseInt(m[1], 10, 64)
		if s := regexp.MustCompile(`data-testid="reminder-schedule">([^<]*)<`).FindStringSubmatch(m[2]); s != nil {
			schedule = s[1]
		}
		for _, f := range firingItem.FindAllStringSubmatch(m[2], -1) {
			text := strings.Join(strings.Fields(htmlTag.ReplaceAllString(f[2], " ")), " ")
			if f[1] == "firing-skipped" {
				text = "skip " + text
			}
			firings = append(firings, text)
		}
		return id, schedule, firings
	}
	t.Fatalf("no rule %q in the list:\n%s", name, page)
	return 0, "", nil
}

func reminderForm(fields ...string) url.Values {
	f := url.Values{"enabled": {"1"}, "msgtype": {"text"}, "audience": {"all"}, "children": {"1"}}
	for i := 0; i+1 < len(fields); i += 2 {
		f.Set(fields[i], fields[i+1])
	}
	return f
}

func TestAReminderSkipsHolidaysAndSendsNowOnce(t *testing.T) {
	statutory(t)
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	tag, members := leadersTag(t, e)
	admin := superAdmin(t, e)

	page := body(t, apptest.Get(t, admin, e.URL+"/admin/reminders", ""))
	if !strings.Contains(page, `href="/admin/reminders"`) || !strings.Contains(page, `href="/admin/calendar"`) {
		t.Fatalf("the console lacks the reminders and calendar entries:\n%s", page)
	}
	if page := body(t, apptest.Get(t, admin, e.URL+"/admin/reminders?edit=new", "")); !strings.Contains(page, ">校领导</option>") {
		t.Fatalf("the rule form does not offer the tag:\n%s", page)
	}

	// Every working day at 08:00, to the tag.
	f := reminderForm("name", "校领导早八提醒", "preset", "workday", "time", "08:00", "tag", strconv.FormatInt(tag, 10), "content", "早上好：今日值班安排已更新，请查阅。")
	if loc := location(t, post(t, admin, e.URL+"/admin/reminders", f)); !strings.Contains(loc, "flash=") {
		t.Fatalf("saving the rule redirected to %s", loc)
	}
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/reminders?from=2026-09-29", ""))
	id, schedule, got := ruleFirings(t, page, "校领导早八提醒")
	if schedule != "每个工作日 08:00" {
		t.Errorf("schedule in words %q, want 每个工作日 08:00", schedule)
	}
	want := []string{"2026-09-29 08:00 周二", "2026-09-30 08:00 周三", "skip 2026-10-01 至 2026-10-07 国庆节 不提醒（7 天）",
		"2026-10-08 08:00 周四", "2026-10-09 08:00 周五", "2026-10-10 08:00 周六 调休上班 国庆节"}
	if !slices.Equal(got, want) {
		t.Errorf("firings from 2026-09-29:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(page, "标签 校领导") {
		t.Error("the list does not name the rule's tag")
	}

	// A bad cron: refused next to the field, everything typed kept.
	bad := reminderForm("name", "每晚提醒", "preset", "custom", "cron", "0 25 * * *", "tag", strconv.FormatInt(tag, 10), "content", "请关好门窗")
	resp := post(t, admin, e.URL+"/admin/reminders", bad)
	page = body(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a bad cron answered %d", resp.StatusCode)
	}
	for _, s := range []string{`value="0 25 * * *"`, `name="name" value="每晚提醒"`, ">请关好门窗</textarea>", `value="` + strconv.FormatInt(tag, 10) + `" selected>校领导<`} {
		if !strings.Contains(page, s) {
			t.Errorf("the refused form lost %s", s)
		}
	}
	if !regexp.MustCompile(`data-testid="cron">\s*<span class="fe" data-testid="field-error">不是有效的 cron 表达式`).MatchString(page) {
		t.Errorf("the cron error is not next to the cron field:\n%s", page)
	}
	if rules, _ := reminder.List(ctx, e.DB); len(rules) != 1 {
		t.Fatalf("the refused rule was saved: %d rules", len(rules))
	}

	// 立即发送一次: asks first, with the count, then sends once.
	sendURL := e.URL + "/admin/reminders/" + strconv.FormatInt(id, 10) + "/send"
	confirm := location(t, post(t, admin, sendURL, nil))
	if n := numbers(body(t, apptest.Get(t, admin, confirm, "")))["send-members"]; n != len(members) {
		t.Errorf("the confirmation counts %d members, want %d", n, len(members))
	}
	if ms, _ := e.DB.OutboxMessagesOf(ctx, "reminder", 0, 10); len(ms) != 0 {
		t.Fatal("asking for the confirmation sent")
	}
	before := time.Now().Truncate(time.Minute)
	location(t, post(t, admin, sendURL, url.Values{"confirm": {"1"}}))
	location(t, post(t, admin, sendURL, url.Values{"confirm": {"1"}}))
	sameMinute := time.Now().Truncate(time.Minute).Equal(before)
	e.DrainNotify(t)
	ms, err := e.DB.OutboxMessagesOf(ctx, "reminder", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if sameMinute && len(ms) != 1 {
		t.Fatalf("two presses within a minute made %d messages", len(ms))
	}
	if len(ms) == 0 || ms[0].Actor != e.SuperAdmin {
		t.Fatalf("the reminder's messages: %+v", ms)
	}
	for _, u := range members {
		if n := inboxWith(e, u, "今日值班安排已更新"); n != len(ms) {
			t.Errorf("%s received the reminder %d times, want %d", u, n, len(ms))
		}
	}
	if inboxWith(e, e.Person(t, undergraduate).UserID, "今日值班安排已更新") != 0 {
		t.Error("a member outside the tag received it")
	}
	if rows := auditActions(t, e, "reminder.send"); len(rows) != len(ms) || rows[0].Actor != e.SuperAdmin || rows[0].IP == "" || !strings.Contains(rows[0].After, strconv.FormatInt(ms[0].ID, 10)) {
		t.Errorf("the send's audit: %+v", rows)
	}

	// Edit: the form shows the rule as saved; change it to 07:30 Monday to Friday.
	edit := body(t, apptest.Get(t, admin, e.URL+"/admin/reminders?edit="+strconv.FormatInt(id, 10), ""))
	if !strings.Contains(edit, `<option value="workday" selected>`) || !strings.Contains(edit, `value="08:00"`) || !strings.Contains(edit, `" selected>校领导<`) {
		t.Errorf("the edit form does not show the rule:\n%s", edit)
	}
	f.Set("id", strconv.FormatInt(id, 10))
	f.Set("preset", "custom")
	f.Set("cron", "30 7 * * 1-5")
	f.Set("workdays", "1") // as the edit form shows it
	location(t, post(t, admin, e.URL+"/admin/reminders", f))
	_, schedule, got = ruleFirings(t, body(t, apptest.Get(t, admin, e.URL+"/admin/reminders?from=2026-10-08", "")), "校领导早八提醒")
	// Monday to Friday: the make-up Saturday is not one of its days.
	if schedule != "每周一至周五 07:30（仅工作日）" || !slices.Equal(got, []string{"2026-10-08 07:30 周四", "2026-10-09 07:30 周五", "2026-10-12 07:30 周一", "2026-10-13 07:30 周二", "2026-10-14 07:30 周三"}) {
		t.Errorf("after the edit: %q, %q", schedule, got)
	}

	// Disable, then delete (asked first).
	location(t, post(t, admin, e.URL+"/admin/reminders/"+strconv.FormatInt(id, 10)+"/enabled", url.Values{"on": {"0"}}))
	if rules, _ := reminder.List(ctx, e.DB); len(rules) != 1 || rules[0].Enabled {
		t.Fatalf("after disabling: %+v", rules)
	}
	del := e.URL + "/admin/reminders/" + strconv.FormatInt(id, 10) + "/delete"
	if loc := location(t, post(t, admin, del, nil)); !strings.Contains(body(t, apptest.Get(t, admin, loc, "")), `data-testid="reminder-delete-confirm"`) {
		t.Error("deleting without the confirmation does not ask for it")
	}
	if rules, _ := reminder.List(ctx, e.DB); len(rules) != 1 {
		t.Fatal("deleted without the confirmation")
	}
	location(t, post(t, admin, del, url.Values{"confirm": {"1"}}))
	if rules, _ := reminder.List(ctx, e.DB); len(rules) != 0 {
		t.Fatalf("after deleting: %+v", rules)
	}
	for action, n := range map[string]int{"reminder.create": 1, "reminder.update": 1, "reminder.disable": 1, "reminder.delete": 1} {
		rows := auditActions(t, e, action)
		if len(rows) != n || rows[0].Actor != e.SuperAdmin || rows[0].Object != "reminder/"+strconv.FormatInt(id, 10) {
			t.Errorf("audit of %s: %+v", action, rows)
		}
	}
	if rows := auditActions(t, e, "reminder.update"); len(rows) == 1 && (!strings.Contains(rows[0].Before, "0 8 * * *") || !strings.Contains(rows[0].After, "30 7 * * 1-5")) {
		t.Errorf("the update's audit does not hold both schedules: %+v", rows[0])
	}
}

func TestAStudentsVacationSilencesStudentsReminders(t *testing.T) {
	testStudentsVacation(t, storetest.SQLite(t))
}

// On MariaDB too: the periods' and rules' updates as production runs them.
func TestAStudentsVacationSilencesStudentsRemindersMySQL(t *testing.T) {
	testStudentsVacation(t, storetest.MySQL(t))
}

func testStudentsVacation(t *testing.T, db *store.DB) {
	statutory(t)
	e := apptest.Start(t, apptest.Options{DB: db})
	ctx := context.Background()
	admin := superAdmin(t, e)
	for _, r := range []struct{ name, audience string }{{"学生晨读提醒", "students"}, {"教职工通勤提醒", "faculty"}} {
		f := reminderForm("name", r.name, "preset", "custom", "cron", "30 7 * * 1-5", "workdays", "1", "audience", r.audience, "role", "counselor", "content", r.name)
		if resp := post(t, admin, e.URL+"/admin/reminders", f); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving %s: %d\n%s", r.name, resp.StatusCode, body(t, resp))
		} else {
			resp.Body.Close()
		}
	}

	// The calendar shows the statutory days; a bad period is refused
	// with what was typed.
	page := body(t, apptest.Get(t, admin, e.URL+"/admin/calendar?from=2026-09-28", ""))
	for _, s := range []string{`data-date="2026-10-01"><td class="nowrap">2026-10-01</td><td>周四</td><td data-kind="holiday">`, `data-date="2026-10-10"><td class="nowrap">2026-10-10</td><td>周六</td><td data-kind="makeup_workday">`} {
		if !strings.Contains(page, s) {
			t.Errorf("the calendar lacks %s", s)
		}
	}
	if strings.Contains(page, `data-testid="uncovered"`) {
		t.Error("the calendar says 2026 has no holiday data")
	}
	if page := body(t, apptest.Get(t, admin, e.URL+"/admin/calendar?from=2027-12-01", "")); !regexp.MustCompile(`data-testid="uncovered">lunar-go 没有 2028 年`).MatchString(page) {
		t.Errorf("December 2027 (2028's 元旦 unknown) is not flagged:\n%s", page)
	}
	vac := url.Values{"name": {"2027 年寒假"}, "kind": {"vacation"}, "start": {"2027-02-26"}, "end": {"2027-01-18"}, "audience": {"students"}}
	resp := post(t, admin, e.URL+"/admin/calendar/periods", vac)
	page = body(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "结束日期早于开始日期") || !strings.Contains(page, `value="2027 年寒假"`) || !strings.Contains(page, `value="2027-02-26"`) {
		t.Fatalf("a period ending before it starts: %d\n%s", resp.StatusCode, page)
	}

	// The students' winter vacation.
	vac.Set("start", "2027-01-18")
	vac.Set("end", "2027-02-26")
	location(t, post(t, admin, e.URL+"/admin/calendar/periods", vac))
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/calendar?from=2027-01-18", ""))
	if !strings.Contains(page, `data-date="2027-01-18"><td class="nowrap">2027-01-18</td><td>周一</td><td data-kind="workday">`+
		`<span class="st st_converged">工作日</span></td><td data-kind="vacation"><span class="st st_guard">假期</span> 2027 年寒假</td><td data-kind="workday">`) {
		t.Errorf("2027-01-18 is not a vacation for students only:\n%s", page)
	}
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/reminders?from=2027-01-14", ""))
	_, _, students := ruleFirings(t, page, "学生晨读提醒")
	_, _, faculty := ruleFirings(t, page, "教职工通勤提醒")
	if want := []string{"2027-01-14 07:30 周四", "2027-01-15 07:30 周五", "skip 2027-01-18 至 2027-02-26 2027 年寒假 不提醒（30 天）",
		"2027-03-01 07:30 周一", "2027-03-02 07:30 周二", "2027-03-03 07:30 周三"}; !slices.Equal(students, want) {
		t.Errorf("the students' rule:\n got %q\nwant %q", students, want)
	}
	if want := []string{"2027-01-14 07:30 周四", "2027-01-15 07:30 周五", "2027-01-18 07:30 周一", "2027-01-19 07:30 周二", "2027-01-20 07:30 周三"}; !slices.Equal(faculty, want) {
		t.Errorf("the faculty's rule:\n got %q\nwant %q", faculty, want)
	}

	// What the page says is what the scheduler does at 07:30 on 18 January.
	sched, err := reminder.New(reminder.Options{DB: e.DB, Messages: e.Notify, Calendar: func(ctx context.Context) (*calendar.Calendar, error) { return calendar.Load(ctx, e.DB, nil) }})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 1, 18, 7, 30, 0, 0, calendar.Zone)
	fired, err := sched.Fire(ctx, at.Add(-time.Minute), at)
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := reminder.List(ctx, e.DB)
	byName := map[int64]string{}
	for _, r := range rules {
		byName[r.ID] = r.Name
	}
	outcome := map[string]string{}
	for _, f := range fired {
		outcome[byName[f.Rule]] = f.Skipped
		if f.Skipped == "" {
			outcome[byName[f.Rule]] = "sent"
		}
	}
	if outcome["学生晨读提醒"] != "2027-01-18 假期 2027 年寒假" || outcome["教职工通勤提醒"] != "sent" {
		t.Errorf("the scheduler at 2027-01-18 07:30: %v", outcome)
	}

	// Edit and delete the period: audited, the calendar follows.
	ps, err := e.DB.ListCalendarPeriods(ctx, nil)
	if err != nil || len(ps) != 1 {
		t.Fatalf("periods: %+v %v", ps, err)
	}
	pid := strconv.FormatInt(ps[0].ID, 10)
	if page := body(t, apptest.Get(t, admin, e.URL+"/admin/calendar?edit="+pid, "")); !strings.Contains(page, `value="2027-02-26"`) || !strings.Contains(page, `<option value="students" selected>`) {
		t.Errorf("the period's edit form:\n%s", page)
	}
	vac.Set("id", pid)
	vac.Set("end", "2027-02-19")
	location(t, post(t, admin, e.URL+"/admin/calendar/periods", vac))
	_, _, students = ruleFirings(t, body(t, apptest.Get(t, admin, e.URL+"/admin/reminders?from=2027-02-18", "")), "学生晨读提醒")
	if len(students) == 0 || students[0] != "skip 2027-02-18 至 2027-02-19 2027 年寒假 不提醒（2 天）" || students[1] != "2027-02-22 07:30 周一" {
		t.Errorf("after shortening the vacation: %q", students)
	}
	if loc := location(t, post(t, admin, e.URL+"/admin/calendar/periods/delete", url.Values{"id": {pid}})); !strings.Contains(body(t, apptest.Get(t, admin, loc, "")), `data-testid="period-delete-confirm"`) {
		t.Error("deleting a period without the confirmation does not ask for it")
	}
	location(t, post(t, admin, e.URL+"/admin/calendar/periods/delete", url.Values{"id": {pid}, "confirm": {"1"}}))
	if ps, _ := e.DB.ListCalendarPeriods(ctx, nil); len(ps) != 0 {
		t.Fatalf("after deleting: %+v", ps)
	}
	for _, action := range []string{"calendar.period.create", "calendar.period.update", "calendar.period.delete"} {
		if rows := auditActions(t, e, action); len(rows) != 1 || rows[0].Actor != e.SuperAdmin || rows[0].Object != "calendar_period/"+pid || rows[0].IP == "" {
			t.Errorf("audit of %s: %+v", action, rows)
		}
	}
}

func TestRemindersAndCalendarRefuseOthers(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	teacher := e.Person(t, func(p *demo.Person) bool {
		return p.Main() == demo.CatStaff && p.Status == 1 && p.UserID != e.SuperAdmin
	})
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: teacher.UserID, Role: auth.AdminDept, Depts: []string{"1000"}}); err != nil {
		t.Fatal(err)
	}
	// A rule the others try to change or send.
	admin := superAdmin(t, e)
	location(t, post(t, admin, e.URL+"/admin/reminders", reminderForm("name", "值班提醒", "preset", "daily", "time", "09:00", "role", "counselor", "content", "值班")))
	rules, _ := reminder.List(ctx, e.DB)
	if len(rules) != 1 {
		t.Fatalf("rules: %+v", rules)
	}
	id := strconv.FormatInt(rules[0].ID, 10)
	audits := len(auditActions(t, e, ""))

	dept := e.Browser(t)
	e.SignIn(t, dept, teacher.UserID, "")
	stu := e.Browser(t)
	e.SignIn(t, stu, e.Person(t, undergraduate).UserID, "")
	if page := body(t, apptest.Get(t, dept, e.URL+"/admin/", "")); strings.Contains(page, `href="/admin/reminders"`) || strings.Contains(page, `href="/admin/calendar"`) {
		t.Error("a department admin's console links the reminders or the calendar")
	}
	form := reminderForm("name", "x", "preset", "daily", "time", "09:00", "role", "counselor", "content", "x", "confirm", "1", "on", "0", "id", id,
		"kind", "vacation", "start", "2027-01-18", "end", "2027-01-19")
	for _, c := range []*http.Client{dept, stu} {
		for _, p := range []string{"/admin/reminders", "/admin/calendar"} {
			if resp := apptest.Get(t, c, e.URL+p, ""); resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s: %d, want 403", p, resp.StatusCode)
			} else {
				resp.Body.Close()
			}
		}
		for _, p := range []string{"/admin/reminders", "/admin/reminders/" + id + "/enabled", "/admin/reminders/" + id + "/send", "/admin/reminders/" + id + "/delete",
			"/admin/calendar/periods", "/admin/calendar/periods/delete"} {
			if resp := post(t, c, e.URL+p, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s: %d, want 403", p, resp.StatusCode)
			} else {
				resp.Body.Close()
			}
		}
	}
	after, _ := reminder.List(ctx, e.DB)
	ps, _ := e.DB.ListCalendarPeriods(ctx, nil)
	ms, _ := e.DB.OutboxMessagesOf(ctx, "reminder", 0, 10)
	if len(after) != 1 || !after[0].Enabled || after[0].Name != "值班提醒" || len(ps) != 0 || len(ms) != 0 || len(auditActions(t, e, "")) != audits {
		t.Errorf("a refused request changed something: rules %+v, periods %+v, messages %d", after, ps, len(ms))
	}
}

// The list says the common schedules in words, and any other as it is.
func TestReminderSchedulesInWords(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	admin := superAdmin(t, e)
	for i, c := range []struct{ spec, workdays, want string }{
		{"0 8 * * *", "1", "每个工作日 08:00"},
		{"30 7 * * 1-5", "", "每周一至周五 07:30"},
		{"0 8,14 * * *", "", "每天 08:00、14:00"},
		{"0 9 1 * *", "", "每月 1 日 09:00"},
		{"0 9 1 10 *", "1", "每年 10 月 1 日 09:00（仅工作日）"},
		{"*/15 * * * *", "1", "每个工作日 每 15 分钟"},
		{"0 18 * * MON,WED,FRI", "", "每周一、三、五 18:00"},
		{"0 10 * * 6,0", "", "每周六、日 10:00"},
		{"@daily", "", "每天 00:00"},
		{"0 8 1-7 * 1", "", "0 8 1-7 * 1"},
	} {
		name := "规则" + strconv.Itoa(i)
		f := reminderForm("name", name, "preset", "custom", "cron", c.spec, "workdays", c.workdays, "role", "counselor", "content", "x")
		if resp := post(t, admin, e.URL+"/admin/reminders", f); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", c.spec, resp.StatusCode, body(t, resp))
		} else {
			resp.Body.Close()
		}
		if _, got, _ := ruleFirings(t, body(t, apptest.Get(t, admin, e.URL+"/admin/reminders", "")), name); got != c.want {
			t.Errorf("%q (workdays %q) reads %q, want %q", c.spec, c.workdays, got, c.want)
		}
	}
}

// A schedule the scheduler cannot keep is refused: an interval it would
// count from each minute it looks (never due), a time zone not Beijing's.
func TestReminderSchedulesTheSchedulerCannotKeepAreRefused(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	admin := superAdmin(t, e)
	for _, spec := range []string{"@every 90m", "CRON_TZ=UTC 0 8 * * *", "0 8 * *", ""} {
		f := reminderForm("name", "x", "preset", "custom", "cron", spec, "role", "counselor", "content", "x")
		resp := post(t, admin, e.URL+"/admin/reminders", f)
		if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="cron"><span class="fe" data-testid="field-error">`) {
			t.Errorf("%q: %d, or no error next to the cron field", spec, resp.StatusCode)
		}
	}
	if rules, _ := reminder.List(context.Background(), e.DB); len(rules) != 0 {
		t.Errorf("refused schedules were saved: %+v", rules)
	}
}
