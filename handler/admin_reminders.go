package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/reminder"
	"github.com/wecomapp/wecomapp/store"
)

// The console's reminders (定时提醒) and the academic calendar (校历):
// the rules reminder.Scheduler fires, each with its next firings as the
// calendar decides them, and the university's own vacations and workdays
// the calendar lays over the statutory holidays. Senders manage both
// (auth.PermMessage): a vacation silences their reminders. Every change is
// audited in the transaction that makes it.

// ReminderProducer is the reminders' producer name in the outbox (the
// scheduler's, and 立即发送一次's).
const ReminderProducer = "reminder"

// firingsShown is how many sends the list shows of each rule, with the
// days the calendar silences between them.
const firingsShown = 5

// firingsHorizon bounds the search for them: lunar-go knows a year
// ahead; past two, a rule firing on 29 February says "none".
const firingsHorizon = 2 * 366 * 24 * time.Hour

var weekdayNames = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

func (s *server) adminReminders(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	return s.renderReminders(c, http.StatusOK, nil, nil)
}

// recipientNames name tags, departments and roles for the list.
type recipientNames struct{ tags, depts, roles map[string]string }

func (n recipientNames) of(to notify.Recipients) []string {
	var out []string
	name := func(m map[string]string, kind, key string) string {
		if v, ok := m[key]; ok {
			return v
		}
		return kind + " " + key // gone from WeCom since, or a disabled role
	}
	for _, t := range to.Tags {
		out = append(out, "标签 "+name(n.tags, "标签", strconv.FormatInt(t, 10)))
	}
	for _, d := range to.Departments {
		s := "部门 " + name(n.depts, "部门", strconv.FormatInt(d.ID, 10))
		if d.Children {
			s += "（含下级）"
		}
		out = append(out, s)
	}
	for _, r := range to.Roles {
		out = append(out, "角色 "+name(n.roles, "角色", r))
	}
	for _, u := range to.UserIDs {
		out = append(out, "成员 "+u)
	}
	if to.All {
		out = append(out, "全体成员")
	}
	return out
}

// reminderPickers fills f's recipient choices (the messages console's),
// the ones f names checked, and returns the names of all of them.
func (s *server) reminderPickers(c *gin.Context, f *h5.ReminderForm, to notify.Recipients) (recipientNames, error) {
	var mf h5.MessageForm
	if err := s.pickers(c, &mf); err != nil {
		return recipientNames{}, err
	}
	n := recipientNames{tags: map[string]string{}, depts: map[string]string{}, roles: map[string]string{}}
	for _, o := range mf.Tags {
		n.tags[o.Value] = o.Name
	}
	for _, o := range mf.Depts {
		n.depts[o.Value] = o.Name
	}
	for _, o := range mf.Roles {
		n.roles[o.Value] = o.Name
	}
	if f != nil {
		f.Tags, f.Depts, f.Roles = mf.Tags, mf.Depts, mf.Roles
		for i := range f.Tags {
			id, _ := strconv.ParseInt(f.Tags[i].Value, 10, 64)
			f.Tags[i].Checked = slices.Contains(to.Tags, id)
		}
		for i := range f.Depts {
			id, _ := strconv.ParseInt(f.Depts[i].Value, 10, 64)
			f.Depts[i].Checked = slices.ContainsFunc(to.Departments, func(d notify.Department) bool { return d.ID == id })
		}
		for i := range f.Roles {
			f.Roles[i].Checked = slices.Contains(to.Roles, f.Roles[i].Value)
		}
	}
	return n, nil
}

// firingsFrom is where the list's firings start: the page's ?from= date
// (to look at next year's 国庆 week before it comes), else now.
func (s *server) firingsFrom(c *gin.Context) (time.Time, string, error) {
	raw := strings.TrimSpace(c.Query("from"))
	if raw == "" {
		return s.Now(), "", nil
	}
	t, err := calendar.ParseDate(raw)
	if err != nil {
		return s.Now(), "", badRequest{"日期格式为 YYYY-MM-DD：" + raw}
	}
	// A firing at 00:00 of the date counts: Next is strictly after.
	return t.Add(-time.Second), raw, nil
}

func (s *server) renderReminders(c *gin.Context, status int, edit *h5.ReminderForm, fe map[string]string) error {
	ctx := c.Request.Context()
	rules, err := reminder.List(ctx, s.DB)
	if err != nil {
		return err
	}
	cal, err := calendar.Load(ctx, s.DB, s.log)
	if err != nil {
		return err
	}
	from, fromText, err := s.firingsFrom(c)
	if err != nil {
		return err
	}
	v := h5.AdminReminders{AdminPage: s.adminPage(c, "定时提醒", "/admin/reminders"), From: fromText, Edit: edit, FieldError: fe,
		Today: calendar.DateOf(s.Now()), Threshold: s.approvalThreshold()}
	var editTo notify.Recipients
	if edit == nil {
		switch q := c.Query("edit"); {
		case q == "new":
			f := h5.ReminderForm{Preset: "workday", Time: "08:00", Audience: string(calendar.All), Workdays: true, Enabled: true, MsgType: notify.MsgText, Children: true}
			v.Edit = &f
		case q != "":
			for _, r := range rules {
				if strconv.FormatInt(r.ID, 10) == q {
					f := ruleForm(r)
					v.Edit, editTo = &f, r.To
				}
			}
			if v.Edit == nil {
				return store.ErrNotFound
			}
		}
	} else {
		editTo = formRecipients(c, edit.Children)
	}
	names, err := s.reminderPickers(c, v.Edit, editTo)
	if err != nil {
		return err
	}
	for _, r := range rules {
		row := reminderRow(r, names)
		row.Firings, row.FiringsNote = firings(r, cal, from, firingsShown)
		v.Rules = append(v.Rules, row)
		id := strconv.FormatInt(r.ID, 10)
		if c.Query("delete") == id {
			d := row
			v.Delete = &d
		}
		if c.Query("send") == id && s.Notify != nil {
			n, _, err := s.Notify.Count(ctx, r.To)
			if err != nil {
				return err
			}
			d := row
			v.Send, v.Members = &d, n
		}
	}
	// What the rules sent lately (on time or by hand): each links to its
	// delivery report.
	sent, err := s.DB.OutboxMessagesOf(ctx, ReminderProducer, 0, 20)
	if err != nil {
		return err
	}
	for _, m := range sent {
		title, _ := contentTitle(m.MsgType, m.Body)
		v.Sent = append(v.Sent, h5.AdminMessageRow{ID: m.ID, Href: "/admin/messages/" + strconv.FormatInt(m.ID, 10), Summary: title, MsgType: m.MsgType,
			By: m.Actor, At: fmtMillis(m.CreatedAt), SendAt: fmtMillis(m.SendAt), State: m.State, Named: m.Named})
	}
	return s.render(c, status, "admin_reminders", v)
}

func reminderRow(r reminder.Rule, names recipientNames) h5.AdminReminderRow {
	row := h5.AdminReminderRow{ID: r.ID, Name: r.Name, Schedule: scheduleText(r.Schedule, r.Workdays), Cron: r.Schedule, To: names.of(r.To),
		Audience: string(r.Audience), Workdays: r.Workdays, Enabled: r.Enabled, MsgType: r.Content.MsgType,
		Pending: r.Pending, Reach: r.Reach, UpdatedBy: r.UpdatedBy, ApprovedBy: r.ApprovedBy}
	row.Summary, _ = contentTitle(r.Content.MsgType, string(r.Content.Body))
	if !r.LastFired.IsZero() {
		row.LastFired = r.LastFired.In(calendar.Zone).Format("2006-01-02 15:04")
	}
	return row
}

// firings are rule r's next n sends after from, with the runs of firings
// the calendar silences between them (a run: one reason, no send in it),
// as the scheduler decides them (reminder.Scheduler.Fire). The note says
// why there are fewer than n.
func firings(r reminder.Rule, cal *calendar.Calendar, from time.Time, n int) ([]h5.AdminReminderFiring, string) {
	sched, err := cron.ParseStandard(r.Schedule)
	if err != nil {
		return nil, "时间表有误，不会发送：" + err.Error()
	}
	var out []h5.AdminReminderFiring
	end := from.Add(firingsHorizon)
	at := from.In(calendar.Zone)
	// Each step is a send or a silenced day: bounded even for a rule
	// firing each minute of a long vacation.
	for sends, steps := 0, 0; sends < n && steps < 2000; steps++ {
		at = sched.Next(at).In(calendar.Zone)
		if at.IsZero() || at.After(end) {
			break
		}
		if !r.Workdays {
			out = append(out, h5.AdminReminderFiring{At: at.Format("2006-01-02 15:04 ") + weekdayNames[at.Weekday()]})
			sends++
			continue
		}
		d := cal.DayFor(at, r.Audience)
		if !d.Working() {
			reason := dayReason(d)
			if last := len(out) - 1; last >= 0 && out[last].Skipped && out[last].Reason == reason {
				out[last].Until, out[last].Days = d.Date, out[last].Days+1
				out[last].Guessed = out[last].Guessed || d.Guessed
			} else {
				out = append(out, h5.AdminReminderFiring{At: d.Date, Skipped: true, Reason: reason, Days: 1, Guessed: d.Guessed})
			}
			// The whole day is silent: on to the next one.
			at = time.Date(at.Year(), at.Month(), at.Day(), 23, 59, 59, 0, calendar.Zone)
			continue
		}
		f := h5.AdminReminderFiring{At: at.Format("2006-01-02 15:04 ") + weekdayNames[at.Weekday()], Guessed: d.Guessed}
		if d.Kind != calendar.Workday {
			f.Reason = strings.TrimSpace(d.Kind.Label() + " " + d.Name)
		}
		out = append(out, f)
		sends++
	}
	sends := 0
	for _, f := range out {
		if !f.Skipped {
			sends++
		}
	}
	switch {
	case sends == 0:
		return out, "两年内不会发送"
	case sends < n:
		return out, "两年内只发送这些次"
	}
	return out, ""
}

// dayReason is why a day is silent, as the list says it: the holiday's
// or the vacation's name, else the kind (周末).
func dayReason(d calendar.Day) string {
	if (d.Kind == calendar.Holiday || d.Kind == calendar.Vacation) && d.Name != "" {
		return d.Name
	}
	return d.Kind.Label()
}

// ruleForm is a saved rule as the form shows it.
func ruleForm(r reminder.Rule) h5.ReminderForm {
	f := h5.ReminderForm{ID: r.ID, Name: r.Name, Cron: r.Schedule, Audience: string(r.Audience), Workdays: r.Workdays, Enabled: r.Enabled,
		MsgType: r.Content.MsgType, Children: len(r.To.Departments) == 0}
	var b struct {
		Content string `json:"content"`
	}
	_ = json.Unmarshal(r.Content.Body, &b)
	f.Content = b.Content
	for _, d := range r.To.Departments {
		f.Children = f.Children || d.Children
	}
	f.Preset, f.Time = presetOf(r.Schedule, r.Workdays)
	return f
}

// presetOf recognises the form's presets in a spec: "M H * * *" (每天,
// or 每个工作日 with workdays) and "M H * * 1" (每周一).
func presetOf(spec string, workdays bool) (preset, clock string) {
	fs := strings.Fields(spec)
	if len(fs) != 5 || fs[2] != "*" || fs[3] != "*" {
		return "custom", "08:00"
	}
	m, errM := strconv.Atoi(fs[0])
	h, errH := strconv.Atoi(fs[1])
	if errM != nil || errH != nil || m < 0 || m > 59 || h < 0 || h > 23 {
		return "custom", "08:00"
	}
	clock = fmt.Sprintf("%02d:%02d", h, m)
	switch {
	case fs[4] == "*" && workdays:
		return "workday", clock
	case fs[4] == "*":
		return "daily", clock
	case fs[4] == "1":
		return "weekly", clock
	}
	return "custom", clock
}

// formRecipients reads the recipient pickers.
func formRecipients(c *gin.Context, children bool) notify.Recipients {
	var to notify.Recipients
	for _, v := range c.PostFormArray("tag") {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && !slices.Contains(to.Tags, id) {
			to.Tags = append(to.Tags, id)
		}
	}
	for _, v := range c.PostFormArray("dept") {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && !slices.ContainsFunc(to.Departments, func(d notify.Department) bool { return d.ID == id }) {
			to.Departments = append(to.Departments, notify.Department{ID: id, Children: children})
		}
	}
	for _, v := range c.PostFormArray("role") {
		if v != "" && !slices.Contains(to.Roles, v) {
			to.Roles = append(to.Roles, v)
		}
	}
	return to
}

// readReminder reads the rule form: as typed (to show again), the rule,
// and the problems by field (name, time, schedule, audience, to, msgtype,
// content).
func (s *server) readReminder(c *gin.Context) (h5.ReminderForm, reminder.Rule, map[string]string) {
	fe := map[string]string{}
	f := h5.ReminderForm{Name: strings.TrimSpace(c.PostForm("name")), Preset: c.PostForm("preset"), Time: strings.TrimSpace(c.PostForm("time")),
		Cron: strings.Join(strings.Fields(c.PostForm("cron")), " "), Audience: c.PostForm("audience"), Workdays: c.PostForm("workdays") == "1",
		Enabled: c.PostForm("enabled") == "1", MsgType: c.PostForm("msgtype"), Content: strings.TrimSpace(strings.ReplaceAll(c.PostForm("content"), "\r\n", "\n")),
		Children: c.PostForm("children") == "1"}
	if raw := c.PostForm("id"); raw != "" && raw != "0" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			fe["name"] = "表单有误，请重新打开编辑"
		}
		f.ID = id
	}
	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		fe["name"] = "请填写名称"
	case n > 64:
		fe["name"] = fmt.Sprintf("名称最多 64 个字，现在 %d 个", n)
	}
	var spec string
	switch f.Preset {
	case "workday", "daily", "weekly":
		t, err := time.Parse("15:04", f.Time)
		if err != nil {
			fe["time"] = "请填写时刻，如 08:00"
			break
		}
		dow := "*"
		if f.Preset == "weekly" {
			dow = "1"
		}
		spec = fmt.Sprintf("%d %d * * %s", t.Minute(), t.Hour(), dow)
		if f.Preset == "workday" {
			f.Workdays = true // what the preset says
		}
		f.Cron = spec
	case "custom":
		spec = f.Cron
		if spec == "" {
			fe["schedule"] = "请填写 cron 表达式（分 时 日 月 周），如 30 7 * * 1-5"
		} else if strings.HasPrefix(strings.ToUpper(spec), "TZ=") || strings.HasPrefix(strings.ToUpper(spec), "CRON_TZ=") {
			// The scheduler and the calendar count in Beijing time.
			fe["schedule"] = "时间表按北京时间，不能指定时区"
		} else if strings.HasPrefix(strings.ToLower(spec), "@every") {
			// Counted from each minute the scheduler looks, it never comes.
			fe["schedule"] = "不支持 @every：请写成 cron 表达式，如每 15 分钟 */15 * * * *"
		} else if _, err := cron.ParseStandard(spec); err != nil {
			fe["schedule"] = "不是有效的 cron 表达式（分 时 日 月 周，北京时间）：" + err.Error()
		}
	default:
		f.Preset = "custom"
		fe["schedule"] = "请选择提醒时间"
	}
	to := formRecipients(c, f.Children)
	if to.Empty() {
		fe["to"] = "请选择接收人：标签、部门或角色"
	}
	switch f.MsgType {
	case notify.MsgText, notify.MsgMarkdown:
	default:
		fe["msgtype"] = "请选择文本或 Markdown"
		f.MsgType = notify.MsgText
	}
	switch {
	case f.Content == "":
		fe["content"] = "请填写提醒内容"
	case len(f.Content) > 2048:
		// WeCom's limit (docs/wecom.md §6).
		fe["content"] = fmt.Sprintf("内容最多 2,048 字节（约 680 个汉字），现在 %d 字节", len(f.Content))
	}
	body, _ := json.Marshal(map[string]string{"content": f.Content})
	r := reminder.Rule{ID: f.ID, Name: f.Name, Schedule: spec, Audience: calendar.Audience(f.Audience), Workdays: f.Workdays, To: to,
		Content: notify.Content{MsgType: f.MsgType, Body: body}, Enabled: f.Enabled, CreatedBy: principal(c).UserID}
	// reminder.Validate has the last word; what it refuses that the
	// checks above let through is said next to its field.
	var ie *notify.InvalidError
	if err := reminder.Validate(r); errors.As(err, &ie) {
		field, msg := ie.Field, "有误："+ie.Problem
		switch {
		case strings.HasPrefix(field, "to"):
			field, msg = "to", "接收人有误："+ie.Problem
		case field == "audience":
			msg = "请选择全体、学生或教职工"
		case field == "name":
			msg = "名称须为 1 到 64 个字"
		}
		if _, said := fe[field]; !said && !(field == "schedule" && fe["time"] != "") {
			fe[field] = msg
		}
	}
	return f, r, fe
}

// reminderStoreRow is r as store.PutReminderRule takes it (reminder.Put's
// conversion, through the console's transaction).
func reminderStoreRow(r reminder.Rule) (store.ReminderRule, error) {
	to, err := json.Marshal(r.To)
	if err != nil {
		return store.ReminderRule{}, fmt.Errorf("admin: reminder %q: recipients: %w", r.Name, err)
	}
	return reminder.StoreRow(r, string(to)), nil
}

// reminderAudit is a rule as the audit log keeps it.
func reminderAudit(r store.ReminderRule) map[string]any {
	return map[string]any{"name": r.Name, "schedule": r.Schedule, "audience": r.Audience, "workdays": r.Workdays,
		"to": json.RawMessage(r.Recipients), "msgtype": r.MsgType, "body": json.RawMessage(r.Body), "enabled": r.Enabled,
		"reach": r.Reach, "approval": r.Approval, "approved_by": r.ApprovedBy}
}

// reminderByID reads rule id through q.
func (s *server) reminderByID(c *gin.Context, q sqlx.ExtContext, id int64) (store.ReminderRule, error) {
	rows, err := s.DB.ListReminderRules(c.Request.Context(), q)
	return byID(rows, err, id, func(r store.ReminderRule) int64 { return r.ID }, "reminder")
}

// byID is the row of rows whose id is id (the console's lists are short:
// rules, periods), or ErrNotFound naming what.
func byID[T any](rows []T, err error, id int64, idOf func(T) int64, what string) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	for _, r := range rows {
		if idOf(r) == id {
			return r, nil
		}
	}
	return zero, fmt.Errorf("admin: %s %d: %w", what, id, store.ErrNotFound)
}

func reminderObject(id int64) string { return "reminder/" + strconv.FormatInt(id, 10) }

// adminSaveReminder creates or replaces a rule.
func (s *server) adminSaveReminder(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	ctx := c.Request.Context()
	f, r, fe := s.readReminder(c)
	if len(fe) > 0 {
		return s.renderReminders(c, http.StatusBadRequest, &f, fe)
	}
	me := principal(c).UserID
	r.UpdatedBy = me
	if s.Notify != nil {
		members, _, err := s.Notify.Count(ctx, r.To)
		if err != nil {
			return err
		}
		r.Reach = members
	}
	th := s.approvalThreshold()
	wide := th >= 0 && r.Reach > th
	row, err := reminderStoreRow(r)
	if err != nil {
		return err
	}
	now := s.Now()
	err = s.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		action, before := "reminder.create", any(nil)
		if row.ID != 0 {
			old, err := s.reminderByID(c, tx, row.ID)
			if err != nil {
				return err
			}
			action, before = "reminder.update", reminderAudit(old)
			row.CreatedBy = old.CreatedBy
			// An approval covers what was approved: who, what, when.
			// Renaming or switching the rule on and off keeps it.
			same := old.Recipients == row.Recipients && old.Body == row.Body && old.MsgType == row.MsgType &&
				old.Schedule == row.Schedule && old.Audience == row.Audience && old.Workdays == row.Workdays
			if wide && same && old.Approval != store.ReminderPending {
				row.Approval, row.ApprovedBy = old.Approval, old.ApprovedBy
				wide = false
			}
		}
		if wide {
			row.Approval, row.ApprovedBy = store.ReminderPending, ""
		} else if row.Approval == "" && th >= 0 && row.Reach <= th {
			row.ApprovedBy = ""
		}
		id, err := s.DB.PutReminderRule(ctx, tx, row, now)
		if err != nil {
			return err
		}
		row.ID = id
		return s.auditTx(c, tx, action, reminderObject(id), before, reminderAudit(row), now)
	})
	if err != nil {
		return err
	}
	if row.Approval == store.ReminderPending {
		return saved(c, "/admin/reminders", fmt.Sprintf("已保存提醒 %s：将发给 %d 人，超过 %d 人，另一位管理员批准后才会发送", row.Name, row.Reach, th))
	}
	return saved(c, "/admin/reminders", "已保存提醒 "+row.Name)
}

// adminApproveReminder is a second admin's approval of a rule reaching
// more members than the broadcast threshold: from then on it fires. The
// admin who saved it last cannot approve it.
func (s *server) adminApproveReminder(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	id, err := formID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	me := principal(c).UserID
	var name string
	var refused string
	err = s.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		row, err := s.reminderByID(c, tx, id)
		if err != nil {
			return err
		}
		name = row.Name
		switch {
		case row.Approval != store.ReminderPending:
			refused = "提醒 " + name + " 不需要批准或已经批准"
			return nil
		case row.UpdatedBy == me:
			refused = "提醒 " + name + " 是你保存的：须由另一位管理员批准"
			return nil
		}
		before := reminderAudit(row)
		row.Approval, row.ApprovedBy = "", me
		if _, err := s.DB.PutReminderRule(ctx, tx, row, s.Now()); err != nil {
			return err
		}
		return s.auditTx(c, tx, "reminder.approve", reminderObject(id), before, reminderAudit(row), s.Now())
	})
	if err != nil {
		return err
	}
	if refused != "" {
		c.Redirect(http.StatusSeeOther, "/admin/reminders?error="+url.QueryEscape(refused))
		return nil
	}
	return saved(c, "/admin/reminders", "已批准提醒 "+name+"，按时间表发送")
}

// adminReminderEnabled turns a rule on (on=1) or off.
func (s *server) adminReminderEnabled(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	id, err := formID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	on := c.PostForm("on") == "1"
	var name string
	err = s.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		row, err := s.reminderByID(c, tx, id)
		if err != nil {
			return err
		}
		name = row.Name
		before := reminderAudit(row)
		row.Enabled = on
		if _, err := s.DB.PutReminderRule(ctx, tx, row, s.Now()); err != nil {
			return err
		}
		action := "reminder.disable"
		if on {
			action = "reminder.enable"
		}
		return s.auditTx(c, tx, action, reminderObject(id), before, reminderAudit(row), s.Now())
	})
	if err != nil {
		return err
	}
	if on {
		return saved(c, "/admin/reminders", "已启用提醒 "+name)
	}
	return saved(c, "/admin/reminders", "已停用提醒 "+name+"，不再发送")
}

// adminDeleteReminder deletes a rule once confirmed (confirm=1); without
// the confirmation it asks for it.
func (s *server) adminDeleteReminder(c *gin.Context) error {
	return s.confirmedDelete(c, "/admin/reminders", "已删除提醒 ", func(tx *sqlx.Tx, id int64) (string, error) {
		row, err := s.reminderByID(c, tx, id)
		if err != nil {
			return "", err
		}
		if _, err := s.DB.DeleteReminderRule(c.Request.Context(), tx, id); err != nil {
			return "", err
		}
		return row.Name, s.auditTx(c, tx, "reminder.delete", reminderObject(id), reminderAudit(row), nil, s.Now())
	})
}

// confirmedDelete is a console delete of the row named by the form's id
// (PermMessage): without confirm=1 it sends the admin to back?delete=id
// to confirm; with it, del removes the row and audits it in one
// transaction and answers its name, for the flash "done"+name.
func (s *server) confirmedDelete(c *gin.Context, back, done string, del func(tx *sqlx.Tx, id int64) (string, error)) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	id, err := formID(c, "id")
	if err != nil {
		return err
	}
	if c.PostForm("confirm") != "1" {
		c.Redirect(http.StatusSeeOther, back+"?delete="+strconv.FormatInt(id, 10))
		return nil
	}
	var name string
	err = s.DB.WithTx(c.Request.Context(), func(tx *sqlx.Tx) error {
		var err error
		name, err = del(tx, id)
		return err
	})
	if err != nil {
		return err
	}
	return saved(c, back, done+name)
}

// adminSendReminder sends a rule's message once, now, whatever its
// schedule and the calendar (立即发送一次), once confirmed with the count
// of its members. The minute is in the idempotency key: a double click is
// one message. Above the broadcast threshold it is refused: a second
// admin approves such sends in 消息群发.
func (s *server) adminSendReminder(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	if s.Notify == nil {
		return errNoNotify
	}
	id, err := formID(c, "id")
	if err != nil {
		return err
	}
	if c.PostForm("confirm") != "1" {
		c.Redirect(http.StatusSeeOther, "/admin/reminders?send="+strconv.FormatInt(id, 10))
		return nil
	}
	ctx := c.Request.Context()
	rules, err := reminder.List(ctx, s.DB)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(rules, func(r reminder.Rule) bool { return r.ID == id })
	if i < 0 {
		return fmt.Errorf("admin: reminder %d: %w", id, store.ErrNotFound)
	}
	r := rules[i]
	refuse := func(msg string) error {
		c.Redirect(http.StatusSeeOther, "/admin/reminders?error="+url.QueryEscape(msg))
		return nil
	}
	members, _, err := s.Notify.Count(ctx, r.To)
	if err != nil {
		return err
	}
	switch th := s.approvalThreshold(); {
	case members == 0:
		return refuse("提醒 " + r.Name + " 的接收人中没有成员，没有发送")
	case r.Pending:
		return refuse(fmt.Sprintf("提醒 %s 将发给 %d 人，超过 %d 人，还在等另一位管理员批准", r.Name, members, th))
	case th >= 0 && members > th && (r.ApprovedBy == "" || members > r.Reach+r.Reach/10):
		// Approved for its reach then; grown by more than a tenth since,
		// it is a different send.
		return refuse(fmt.Sprintf("提醒 %s 将发给 %d 人，超过 %d 人需要另一位管理员批准：请重新保存这条提醒并请另一位管理员批准", r.Name, members, th))
	}
	now := s.Now()
	me := principal(c).UserID
	rc, err := s.Notify.Submit(ctx, notify.Message{Producer: ReminderProducer, IdempotencyKey: "manual:" + strconv.FormatInt(id, 10) + ":" + now.In(calendar.Zone).Format("200601021504"),
		Lane: notify.LaneReminder, To: r.To, Content: r.Content, Actor: me, ExpireAt: now.Add(2 * time.Hour)})
	var ie *notify.InvalidError
	if errors.As(err, &ie) {
		return refuse("这条提醒不能发送：" + ie.Field + " " + ie.Problem)
	}
	if err != nil {
		return err
	}
	if rc.Duplicate {
		return saved(c, "/admin/reminders", "提醒 "+r.Name+" 这一分钟已经立即发送过，没有重复发送")
	}
	// The message is committed (notify's own transaction): the audit
	// follows it.
	e, err := store.Audit(actor(c), "reminder.send", reminderObject(id), nil,
		map[string]any{"name": r.Name, "message": rc.ID, "to": r.To, "members": members, "msgtype": r.Content.MsgType, "lane": notify.LaneReminder.String()}, now)
	if err != nil {
		return err
	}
	if err := s.DB.InsertAudit(ctx, nil, e); err != nil {
		return err
	}
	logctx.L(ctx, s.log).Info("reminder sent by hand", zap.Int64("rule", id), zap.Int64("message", rc.ID), zap.String("by", me), zap.Int("members", members))
	return saved(c, "/admin/messages/"+strconv.FormatInt(rc.ID, 10), fmt.Sprintf("已立即发送提醒 %s 给 %d 人", r.Name, members))
}

// scheduleText says a cron spec in words for the common forms ("每个工作
// 日 08:00", "每周一至周五 07:30", "每月 1 日 09:00"), the spec itself
// otherwise; with workdays, that holidays are skipped.
func scheduleText(spec string, workdays bool) string {
	text, daily, ok := humanCron(spec)
	switch {
	case !ok:
		text = spec
	case daily && workdays:
		if rest, ok := strings.CutPrefix(text, "每天"); ok {
			return "每个工作日" + rest
		}
		return "每个工作日 " + text // 每 15 分钟
	}
	if workdays {
		text += "（仅工作日）"
	}
	return text
}

var cronDescriptors = map[string]string{"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
	"@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}

var cronDayNames = map[string]string{"sun": "0", "mon": "1", "tue": "2", "wed": "3", "thu": "4", "fri": "5", "sat": "6"}

// humanCron is a spec in words; daily says it fires every day ("每天 …"),
// ok that the form is one it knows.
func humanCron(spec string) (text string, daily, ok bool) {
	if d, found := cronDescriptors[strings.ToLower(strings.TrimSpace(spec))]; found {
		spec = d
	}
	fs := strings.Fields(strings.ReplaceAll(spec, "?", "*"))
	if len(fs) != 5 {
		return "", false, false
	}
	clock, ok := cronClock(fs[0], fs[1])
	if !ok {
		return "", false, false
	}
	dom, mon, dow := fs[2], fs[3], strings.ToLower(fs[4])
	var day string
	switch {
	case dom == "*" && mon == "*" && dow == "*":
		day, daily = "每天", true
	case dom == "*" && mon == "*":
		w, ok := cronWeekdays(dow)
		if !ok {
			return "", false, false
		}
		day = "每周" + w
	case dow == "*" && mon == "*" && cronList(dom, 1, 31):
		day = "每月 " + strings.ReplaceAll(dom, ",", "、") + " 日"
	case dow == "*" && cronList(mon, 1, 12) && !strings.Contains(mon, ",") && cronList(dom, 1, 31):
		day = "每年 " + mon + " 月 " + strings.ReplaceAll(dom, ",", "、") + " 日"
	default:
		return "", false, false
	}
	if strings.HasPrefix(clock, "每") && daily {
		return clock, true, true
	}
	return day + " " + clock, daily, true
}

// cronClock is the minute and hour fields in words: "08:00", "08:00、
// 14:00", "每小时第 30 分", "每 15 分钟", "每分钟".
func cronClock(min, hour string) (string, bool) {
	switch {
	case min == "*" && hour == "*":
		return "每分钟", true
	case strings.HasPrefix(min, "*/") && hour == "*":
		n, err := strconv.Atoi(min[2:])
		if err != nil || n < 1 || n > 59 {
			return "", false
		}
		return fmt.Sprintf("每 %d 分钟", n), true
	}
	m, err := strconv.Atoi(min)
	if err != nil || m < 0 || m > 59 {
		return "", false
	}
	if hour == "*" {
		if m == 0 {
			return "每小时整点", true
		}
		return fmt.Sprintf("每小时第 %d 分", m), true
	}
	if !cronList(hour, 0, 23) {
		return "", false
	}
	var times []string
	for _, h := range strings.Split(hour, ",") {
		n, _ := strconv.Atoi(h)
		times = append(times, fmt.Sprintf("%02d:%02d", n, m))
	}
	return strings.Join(times, "、"), true
}

// cronList: a comma list of plain numbers within lo..hi.
func cronList(field string, lo, hi int) bool {
	for _, p := range strings.Split(field, ",") {
		n, err := strconv.Atoi(p)
		if err != nil || n < lo || n > hi {
			return false
		}
	}
	return true
}

// cronWeekdays is a weekday field in words: "一至五", "一、三、五", "六、日".
func cronWeekdays(field string) (string, bool) {
	const names = "日一二三四五六日"
	day := func(s string) (int, bool) {
		if n, ok := cronDayNames[s]; ok {
			s = n
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0 && n <= 7
	}
	rn := []rune(names)
	var parts []string
	for _, p := range strings.Split(field, ",") {
		a, b, isRange := strings.Cut(p, "-")
		x, ok := day(a)
		if !ok {
			return "", false
		}
		if !isRange {
			parts = append(parts, string(rn[x]))
			continue
		}
		y, ok := day(b)
		if !ok || y <= x {
			return "", false
		}
		parts = append(parts, string(rn[x])+"至周"+string(rn[y]))
	}
	return strings.Join(parts, "、"), true
}

// The academic calendar.

// calendarDays is how many days the calendar page lists.
const calendarDays = 60

func (s *server) adminCalendar(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	return s.renderCalendar(c, http.StatusOK, nil, nil)
}

func periodView(p store.CalendarPeriod) h5.AdminCalendarPeriod {
	v := h5.AdminCalendarPeriod{ID: p.ID, Name: p.Name, Kind: p.Kind, Start: p.StartDate, End: p.EndDate, Audience: p.Audience, CreatedBy: p.CreatedBy}
	if p.CreatedAt > 0 {
		v.Added = store.Time(p.CreatedAt).In(calendar.Zone).Format("2006-01-02 15:04")
	}
	if a, err := calendar.ParseDate(p.StartDate); err == nil {
		if b, err := calendar.ParseDate(p.EndDate); err == nil {
			v.Days = int(b.Sub(a).Hours()/24) + 1
		}
	}
	return v
}

func dayKind(d calendar.Day) h5.AdminDayKind {
	return h5.AdminDayKind{Kind: d.Kind.String(), Label: d.Kind.Label(), Name: d.Name, Working: d.Working(), Guessed: d.Guessed}
}

func (s *server) renderCalendar(c *gin.Context, status int, edit *h5.AdminCalendarPeriod, fe map[string]string) error {
	ctx := c.Request.Context()
	ps, err := s.DB.ListCalendarPeriods(ctx, nil)
	if err != nil {
		return err
	}
	cal, err := calendar.New(ps, s.log)
	if err != nil {
		return err
	}
	now := s.Now().In(calendar.Zone)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, calendar.Zone)
	if raw := strings.TrimSpace(c.Query("from")); raw != "" {
		if from, err = calendar.ParseDate(raw); err != nil {
			return badRequest{"日期格式为 YYYY-MM-DD：" + raw}
		}
	}
	v := h5.AdminCalendar{AdminPage: s.adminPage(c, "校历", "/admin/calendar"), From: calendar.DateOf(from),
		Prev: calendar.DateOf(from.AddDate(0, 0, -calendarDays)), Next: calendar.DateOf(from.AddDate(0, 0, calendarDays)), Edit: edit, FieldError: fe}
	v.FirstYear, v.LastYear = calendar.Years()
	uncovered := map[int]bool{}
	for i := range calendarDays {
		d := from.AddDate(0, 0, i)
		v.Days = append(v.Days, h5.AdminCalendarDay{Date: calendar.DateOf(d), Weekday: weekdayNames[d.Weekday()],
			All: dayKind(cal.DayFor(d, calendar.All)), Students: dayKind(cal.DayFor(d, calendar.Students)), Faculty: dayKind(cal.DayFor(d, calendar.Faculty))})
		if !cal.Covered(d) {
			// The last days of December wait for the next year's 元旦.
			y := d.Year()
			if d.Year() >= v.FirstYear && d.Year() <= v.LastYear {
				y++
			}
			uncovered[y] = true
		}
	}
	for y := range uncovered {
		v.Uncovered = append(v.Uncovered, y)
	}
	sort.Ints(v.Uncovered)
	for _, p := range ps {
		pv := periodView(p)
		v.Periods = append(v.Periods, pv)
		id := strconv.FormatInt(p.ID, 10)
		if edit == nil && c.Query("edit") == id {
			e := pv
			v.Edit = &e
		}
		if c.Query("delete") == id {
			d := pv
			v.Delete = &d
		}
	}
	if edit == nil && c.Query("edit") == "new" {
		v.Edit = &h5.AdminCalendarPeriod{Kind: store.PeriodVacation, Audience: store.AudienceStudents}
	}
	if edit == nil && c.Query("edit") != "" && v.Edit == nil {
		return store.ErrNotFound
	}
	return s.render(c, status, "admin_calendar", v)
}

// readPeriod reads the period form; the problems are by field (name,
// kind, start, end, audience, period for the whole).
func readPeriod(c *gin.Context) (h5.AdminCalendarPeriod, store.CalendarPeriod, map[string]string) {
	fe := map[string]string{}
	f := h5.AdminCalendarPeriod{Name: strings.TrimSpace(c.PostForm("name")), Kind: c.PostForm("kind"), Start: strings.TrimSpace(c.PostForm("start")),
		End: strings.TrimSpace(c.PostForm("end")), Audience: c.PostForm("audience")}
	if raw := c.PostForm("id"); raw != "" && raw != "0" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			fe["period"] = "表单有误，请重新打开编辑"
		}
		f.ID = id
	}
	switch n := utf8.RuneCountInString(f.Name); {
	case n == 0:
		fe["name"] = "请填写名称，如 2027 年寒假"
	case n > store.CalendarPeriodNameMax:
		fe["name"] = fmt.Sprintf("名称最多 %d 个字，现在 %d 个", store.CalendarPeriodNameMax, n)
	}
	if f.Kind != store.PeriodVacation && f.Kind != store.PeriodWorkday {
		fe["kind"] = "请选择假期或工作日"
	}
	switch f.Audience {
	case store.AudienceAll, store.AudienceStudents, store.AudienceFaculty:
	default:
		fe["audience"] = "请选择全体、学生或教职工"
	}
	start, errS := calendar.ParseDate(f.Start)
	if errS != nil {
		fe["start"] = "请填写开始日期（YYYY-MM-DD）"
	}
	end, errE := calendar.ParseDate(f.End)
	if errE != nil {
		fe["end"] = "请填写结束日期（YYYY-MM-DD）"
	}
	if errS == nil && errE == nil {
		switch days := int(end.Sub(start).Hours()/24) + 1; {
		case end.Before(start):
			fe["end"] = "结束日期早于开始日期"
		case days > store.CalendarPeriodMaxDays:
			fe["end"] = fmt.Sprintf("%d 天，超过一年（%d 天）：请检查结束日期", days, store.CalendarPeriodMaxDays)
		}
	}
	p := store.CalendarPeriod{ID: f.ID, Name: f.Name, Kind: f.Kind, StartDate: f.Start, EndDate: f.End, Audience: f.Audience, CreatedBy: principal(c).UserID}
	// The store's check has the last word.
	if err := p.Check(); err != nil && len(fe) == 0 {
		fe["period"] = "时段有误：" + err.Error()
	}
	return f, p, fe
}

func periodObject(id int64) string { return "calendar_period/" + strconv.FormatInt(id, 10) }

func periodAudit(p store.CalendarPeriod) map[string]any {
	return map[string]any{"name": p.Name, "kind": p.Kind, "start": p.StartDate, "end": p.EndDate, "audience": p.Audience}
}

// periodByID reads period id through q.
func (s *server) periodByID(c *gin.Context, q sqlx.ExtContext, id int64) (store.CalendarPeriod, error) {
	ps, err := s.DB.ListCalendarPeriods(c.Request.Context(), q)
	return byID(ps, err, id, func(p store.CalendarPeriod) int64 { return p.ID }, "calendar period")
}

// adminSaveCalendarPeriod creates or replaces one of the university's
// periods; the scheduler reads it at its next minute.
func (s *server) adminSaveCalendarPeriod(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	ctx := c.Request.Context()
	f, p, fe := readPeriod(c)
	if len(fe) > 0 {
		return s.renderCalendar(c, http.StatusBadRequest, &f, fe)
	}
	now := s.Now()
	err := s.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		action, before := "calendar.period.create", any(nil)
		if p.ID != 0 {
			old, err := s.periodByID(c, tx, p.ID)
			if err != nil {
				return err
			}
			action, before = "calendar.period.update", periodAudit(old)
		}
		id, err := s.DB.PutCalendarPeriod(ctx, tx, p, now)
		if err != nil {
			return err
		}
		p.ID = id
		return s.auditTx(c, tx, action, periodObject(id), before, periodAudit(p), now)
	})
	if err != nil {
		return err
	}
	return saved(c, "/admin/calendar?from="+p.StartDate, "已保存 "+p.Name+"：定时提醒立即按新的校历发送")
}

// adminDeleteCalendarPeriod deletes a period once confirmed (confirm=1);
// without the confirmation it asks for it.
func (s *server) adminDeleteCalendarPeriod(c *gin.Context) error {
	return s.confirmedDelete(c, "/admin/calendar", "已删除 ", func(tx *sqlx.Tx, id int64) (string, error) {
		p, err := s.periodByID(c, tx, id)
		if err != nil {
			return "", err
		}
		if _, err := s.DB.DeleteCalendarPeriod(c.Request.Context(), tx, id); err != nil {
			return "", err
		}
		return p.Name, s.auditTx(c, tx, "calendar.period.delete", periodObject(id), periodAudit(p), nil, s.Now())
	})
}
