package handler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/guest"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/workbench"
)

// The service hall's H5 pages (package hall is the engine): the hall's
// home, a process's form, my applications, one application with its path
// and trail, and my tasks. Members (WeCom sign-in) and off-campus
// applicants (guests signed in by SMS code, package guest) use the same
// pages; a guest sees only off-campus processes and has no tasks. Every
// record is read through the engine with the viewer, which answers
// hall.ErrNotFound for what the viewer may not see, and the pages answer
// that with the same 404 as for an id that does not exist: ids in URLs
// and forms cannot be probed.

// HallBadge is the workbench badge source of the approvals tile (and of
// the process tiles that name it): the viewer's open tasks.
const HallBadge = "approvals"

// RegisterHallBadge makes the person's open hall tasks the source of the
// "approvals" badge. A nil engine registers nothing (the tiles show no
// badge).
func RegisterHallBadge(wb *workbench.Service, engine *hall.Engine) {
	if engine == nil {
		return
	}
	wb.RegisterBadge(HallBadge, func(ctx context.Context, userID string) (int, error) {
		n, err := engine.OpenTasks(ctx, userID)
		if err != nil {
			return 0, fmt.Errorf("handler: open tasks of %s: %w", userID, err)
		}
		return n, nil
	})
}

const (
	// hallFormTTL is how long a form token remembers the application it
	// made: a double tap, a reload of the POST or a resend after a lost
	// answer all come well within it.
	hallFormTTL = 24 * time.Hour
	// hallFormWait bounds how long a repeated post waits for the first one
	// to finish before saying it is still being submitted.
	hallFormWait = 10 * time.Second
	// hallHomeApps is how many applications the hall's home lists.
	hallHomeApps = 5
)

// hallSession lets a request through with a session: a member's, or a
// guest's (off-campus applicants); handlers refuse guests where only
// members belong. Without a session, the hall's home and the form of an
// off-campus process send a browser outside WeCom to the guest sign-in
// (off-campus applicants have no WeCom account); everything else goes to
// the member sign-in, as /app does. A nil engine answers 404.
func (s *server) hallSession(c *gin.Context) {
	if s.Hall == nil {
		s.respondError(c, fmt.Errorf("handler: the service hall is not configured: %w", store.ErrNotFound))
		c.Abort()
		return
	}
	p, ok := s.Sessions.Current(c.Request.Context())
	s.admit(c, p, ok, func() bool { return s.guestWelcome(c) })
}

// guestWelcome says whether a visitor without a session is sent to the
// guest sign-in: guests are served, the page is one a guest may use (the
// home, an off-campus process's form), and the browser is not the WeCom
// client (whose people are members: they sign in silently by OAuth).
func (s *server) guestWelcome(c *gin.Context) bool {
	if s.Guest == nil || clientOf(c.Request) == clientWeCom || cameFromOAuth(c.Request) {
		return false
	}
	switch c.FullPath() {
	case "/hall/":
		return true
	case "/hall/apply/:key":
		p, err := s.Hall.Process(c.Request.Context(), c.Param("key"), 0)
		return err == nil && p.Audience == def.OffCampus
	}
	return false
}

// hallWho is who the request is from: the principal, whether a guest,
// and the engine's viewer.
func hallWho(c *gin.Context) (auth.Principal, bool, hall.Viewer) {
	p := principal(c)
	if guest.IsGuest(p) {
		return p, true, hall.Viewer{Mobile: guest.Mobile(p)}
	}
	return p, false, hall.Viewer{UserID: p.UserID}
}

// hallPage is the frame of a hall page; a guest is named by the masked
// number they signed in with.
func (s *server) hallPage(c *gin.Context, title string) h5.Page {
	pg := s.page(c, title)
	if p, isGuest, v := hallWho(c); isGuest && pg.Me != nil {
		pg.Me = &h5.Me{UserID: p.UserID, Name: guest.Masked(v.Mobile)}
	}
	return pg
}

// notFound turns the engine's "not yours" answers into the pages' 404.
func hallNotFound(err error) error {
	if errors.Is(err, hall.ErrNotFound) || errors.Is(err, hall.ErrNotApplicant) || errors.Is(err, hall.ErrNotAssignee) {
		return fmt.Errorf("%w (%w)", store.ErrNotFound, err)
	}
	return err
}

func hallID(raw string) (int64, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("handler: hall id %q: %w", raw, store.ErrNotFound)
	}
	return id, nil
}

func hallTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

func hallAppHref(id int64) string { return "/hall/a/" + strconv.FormatInt(id, 10) }

func hallTaskBase(id int64) string { return "/hall/tasks/" + strconv.FormatInt(id, 10) }

// hallRedirect sends the browser to path with a flash message.
func hallRedirect(c *gin.Context, path, flash, anchor string) {
	u := path
	if flash != "" {
		u += "?flash=" + url.QueryEscape(flash)
	}
	if anchor != "" {
		u += "#" + anchor
	}
	c.Redirect(http.StatusSeeOther, u)
}

var (
	hallStateNames = map[string]string{hall.StateSubmitted: "审批中", hall.StateApproved: "已通过", hall.StateRejected: "已驳回",
		hall.StateReturned: "已退回", hall.StateWithdrawn: "已撤回", hall.StateConfirmed: "已销假"}
	hallStateClasses = map[string]string{hall.StateSubmitted: "wait", hall.StateApproved: "ok", hall.StateRejected: "bad",
		hall.StateReturned: "warn", hall.StateWithdrawn: "off", hall.StateConfirmed: "ok"}
	hallTaskNames = map[string]string{hall.TaskOpen: "待审批", hall.TaskApproved: "已同意", hall.TaskRejected: "已驳回", hall.TaskReturned: "已退回",
		hall.TaskTransferred: "已转交", hall.TaskCancelled: "已取消", hall.TaskSuperseded: "他人已处理"}
	hallTaskClasses = map[string]string{hall.TaskOpen: "wait", hall.TaskApproved: "ok", hall.TaskRejected: "bad", hall.TaskReturned: "warn",
		hall.TaskTransferred: "off", hall.TaskCancelled: "off", hall.TaskSuperseded: "off"}
	hallActions = map[string]string{string(hall.Approve): "同意", string(hall.Reject): "驳回", string(hall.Return): "退回修改",
		hall.ActSubmit: "提交申请", hall.ActResubmit: "重新提交", hall.ActWithdraw: "撤回申请", hall.ActUrge: "催办", hall.ActTransfer: "转交",
		hall.ActAddApprover: "加签", hall.ActReassign: "管理员改派", hall.ActReResolve: "审批人变更，自动转交", hall.ActRemind: "提醒审批人",
		hall.ActEscalate: "超时上报", hall.ActConfirm: "确认已返校", hall.ActApproved: "审批通过"}
	hallAudiences = map[def.Audience]string{def.Students: "学生", def.Faculty: "教职工", def.Members: "校内师生", def.OffCampus: "校外人员"}
	// hallFilters are my applications' state filters, in order.
	hallFilters = []struct{ key, name string }{{"", "全部"}, {hall.StateSubmitted, "审批中"}, {hall.StateReturned, "已退回"},
		{hall.StateApproved, "已通过"}, {hall.StateRejected, "已驳回"}, {hall.StateWithdrawn, "已撤回"}, {hall.StateConfirmed, "已销假"}}
)

func or2(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

func hallRow(a hall.Application) h5.HallAppRow {
	r := h5.HallAppRow{ID: a.ID, Href: hallAppHref(a.ID), Process: a.ProcessName, State: a.State, StateName: or2(hallStateNames, a.State),
		StateClass: or2(hallStateClasses, a.State), Step: a.StepName, Applicant: a.ApplicantName, Date: hallTime(a.CreatedAt)}
	if r.Applicant == "" && a.ApplicantMobile != "" {
		r.Applicant = guest.Masked(a.ApplicantMobile)
	}
	for _, kv := range a.Summary {
		r.Summary = append(r.Summary, h5.HallKV{Key: kv.Key, Label: kv.Label, Value: kv.Value})
	}
	return r
}

func hallTaskRow(t hall.Task, me string) h5.HallTaskRow {
	base := hallTaskBase(t.ID)
	r := h5.HallTaskRow{ID: t.ID, Anchor: "task-" + strconv.FormatInt(t.ID, 10), Step: t.StepName, Assignee: t.Assignee, AssigneeName: t.AssigneeName,
		State: t.State, StateName: or2(hallTaskNames, t.State), StateClass: or2(hallTaskClasses, t.State), Opened: hallTime(t.OpenedAt),
		Decided: hallTime(t.DecidedAt), Due: hallTime(t.DueAt), Comment: t.Comment, Overdue: t.Overdue, Mine: me != "" && t.Assignee == me,
		Open: t.State == hall.TaskOpen, DecideURL: base + "/decide", TransferURL: base + "/transfer", AddURL: base + "/add"}
	if r.Step == "" {
		r.Step = t.StepID
	}
	return r
}

// hallHome lists the processes open to the viewer, their latest
// applications and (members) how many tasks wait for them.
func (s *server) hallHome(c *gin.Context) error {
	ctx := c.Request.Context()
	p, isGuest, v := hallWho(c)
	procs, err := s.Hall.Processes(ctx)
	if err != nil {
		return err
	}
	view := h5.HallHome{Page: s.hallPage(c, "网上服务大厅"), Guest: isGuest}
	open := map[def.Audience]bool{}
	for _, pr := range procs {
		ok, seen := open[pr.Audience]
		if !seen {
			ok = s.hallMayApply(ctx, p, isGuest, pr.Audience)
			open[pr.Audience] = ok
		}
		if ok {
			view.Processes = append(view.Processes, h5.HallProcess{Key: pr.Key, Name: pr.Name, Description: pr.Description,
				Href: "/hall/apply/" + url.PathEscape(pr.Key), Audience: hallAudiences[pr.Audience]})
		}
	}
	apps, err := s.Hall.MyApplications(ctx, v)
	if err != nil {
		return err
	}
	view.AllApps = len(apps)
	for _, a := range apps[:min(len(apps), hallHomeApps)] {
		view.Apps = append(view.Apps, hallRow(a))
	}
	if !isGuest {
		ts, err := s.Hall.MyTasks(ctx, p.UserID, true)
		if err != nil {
			return err
		}
		view.OpenTasks = len(ts)
	}
	return s.render(c, http.StatusOK, "hall_home", view)
}

// hallMayApply says whether the viewer may apply for processes of aud:
// guests for off-campus ones only, members when they have a record the
// audience takes.
func (s *server) hallMayApply(ctx context.Context, p auth.Principal, isGuest bool, aud def.Audience) bool {
	if isGuest {
		return aud == def.OffCampus
	}
	_, err := s.Hall.ApplicantFor(ctx, p.UserID, aud)
	return err == nil
}

// hallApplicant is who applies: a member's record the audience takes, or
// the guest by their number (named by the form's name field when it has
// one). ok is false when the viewer may not apply.
func (s *server) hallApplicant(ctx context.Context, c *gin.Context, proc *def.Process, raw url.Values) (def.Applicant, bool, error) {
	p, isGuest, v := hallWho(c)
	if isGuest {
		if proc.Audience != def.OffCampus {
			return def.Applicant{}, false, nil
		}
		name := strings.TrimSpace(raw.Get("name"))
		if name == "" || utf8.RuneCountInString(name) > 30 {
			name = guest.Masked(v.Mobile)
		}
		return def.Applicant{Mobile: v.Mobile, Kind: "offcampus", Name: name}, true, nil
	}
	a, err := s.Hall.ApplicantFor(ctx, p.UserID, proc.Audience)
	if errors.Is(err, hall.ErrNotFound) {
		return def.Applicant{}, false, nil
	}
	if err != nil {
		return def.Applicant{}, false, err
	}
	return a, true, nil
}

// hallRefused answers a form the viewer may not use.
func (s *server) hallRefused(c *gin.Context, proc *def.Process) error {
	msg := "这项服务面向" + or2(map[string]string{string(def.Students): "在校学生", string(def.Faculty): "在职教职工",
		string(def.Members): "校内师生", string(def.OffCampus): "校外人员"}, string(proc.Audience)) + "，你现在的身份不能申请。"
	return s.render(c, http.StatusForbidden, "app_error", h5.AppError{Page: s.hallPage(c, "不能申请"), Status: http.StatusForbidden, Message: msg})
}

// hallProcess is the latest version of the process in the URL.
func (s *server) hallProcess(c *gin.Context) (*def.Process, error) {
	proc, err := s.Hall.Process(c.Request.Context(), c.Param("key"), 0)
	if err != nil {
		return nil, hallNotFound(err)
	}
	return proc, nil
}

// hallApplyPage is a process's empty form.
func (s *server) hallApplyPage(c *gin.Context) error {
	ctx := c.Request.Context()
	proc, err := s.hallProcess(c)
	if err != nil {
		return err
	}
	if _, ok, err := s.hallApplicant(ctx, c, proc, nil); err != nil {
		return err
	} else if !ok {
		// A process tile is on approvers' workbenches too (the counselor's
		// 学生请假): theirs is to decide the applications, not to apply.
		if _, isGuest, _ := hallWho(c); !isGuest {
			if n, err := s.hallTasksOf(ctx, principal(c).UserID, proc.Key); err != nil {
				return err
			} else if n > 0 {
				hallRedirect(c, "/hall/tasks", proc.Name+"面向"+hallAudiences[proc.Audience]+"；这里是需要你审批的申请。", "")
				return nil
			}
		}
		return s.hallRefused(c, proc)
	}
	view := s.hallApplyView(c, proc, url.Values{}, nil, newFormToken())
	return s.render(c, http.StatusOK, "hall_apply", view)
}

// hallTasksOf counts the member's tasks (open or done) on applications
// for the process.
func (s *server) hallTasksOf(ctx context.Context, userid, key string) (int, error) {
	n := 0
	for _, open := range []bool{true, false} {
		ts, err := s.Hall.MyTasks(ctx, userid, open)
		if err != nil {
			return 0, err
		}
		for _, t := range ts {
			if t.App.ProcessKey == key {
				n++
			}
		}
	}
	return n, nil
}

func (s *server) hallApplyView(c *gin.Context, proc *def.Process, raw url.Values, fe def.FieldErrors, token string) h5.HallApply {
	_, _, v := hallWho(c)
	return h5.HallApply{Page: s.hallPage(c, proc.Name), Key: proc.Key, Name: proc.Name, Description: proc.Description,
		Action: "/hall/apply/" + url.PathEscape(proc.Key), Token: token, Fields: s.hallFields(c.Request.Context(), v, proc, raw, fe), Back: "/hall/"}
}

// hallFields are the form's fields holding raw (what was typed, or an
// application's values as a form would post them), with their errors.
func (s *server) hallFields(ctx context.Context, v hall.Viewer, proc *def.Process, raw url.Values, fe def.FieldErrors) []h5.HallField {
	out := make([]h5.HallField, 0, len(proc.Fields))
	for _, f := range proc.Fields {
		hf := h5.HallField{Key: f.Key, Label: f.Label, Type: string(f.Type), Help: f.Help, Required: f.Required, Value: raw.Get(f.Key),
			MaxLength: f.MaxLength, Error: fe[f.Key]}
		switch f.Type {
		case def.Text:
			if hf.MaxLength == 0 {
				hf.MaxLength = def.DefaultTextLength
			}
		case def.LongText:
			if hf.MaxLength == 0 {
				hf.MaxLength = def.DefaultLongTextLength
			}
		case def.Number:
			if f.Min != nil {
				hf.Min = strconv.FormatFloat(*f.Min, 'f', -1, 64)
			}
			if f.Max != nil {
				hf.Max = strconv.FormatFloat(*f.Max, 'f', -1, 64)
			}
			if f.Integer {
				hf.Step, hf.InputMode = "1", "numeric"
			}
		case def.DateRange:
			hf.Start, hf.End = raw.Get(f.Key+".start"), raw.Get(f.Key+".end")
			if sd, err1 := time.Parse(time.DateOnly, hf.Start); err1 == nil {
				if ed, err2 := time.Parse(time.DateOnly, hf.End); err2 == nil && !ed.Before(sd) {
					hf.Days = int(ed.Sub(sd).Hours()/24) + 1
				}
			}
			if f.Min != nil {
				hf.MinDays = strconv.Itoa(int(math.Ceil(*f.Min)))
			}
			maxDays := def.MaxRangeDays
			if f.Max != nil && *f.Max < float64(maxDays) {
				maxDays = int(math.Floor(*f.Max))
			}
			hf.MaxDays = strconv.Itoa(maxDays)
		case def.Choice:
			picked := raw[f.Key]
			for _, o := range f.Options {
				hf.Options = append(hf.Options, h5.HallOption{Value: o, Checked: slices.Contains(picked, o)})
			}
			hf.Multiple = f.Multiple
			hf.Select = !f.Multiple && len(f.Options) > 5
		case def.Person:
			hf.Pattern, hf.Placeholder, hf.MaxLength = `[A-Za-z0-9_.@\-]{1,64}`, "成员账号（企业微信 userid）", 64
		case def.Department:
			hf.Pattern, hf.InputMode, hf.Placeholder, hf.MaxLength = `[0-9]{1,12}`, "numeric", "部门 ID", 12
		case def.Attachment:
			hf.Files = s.hallUploads(ctx, v, raw[f.Key])
		case def.Phone:
			hf.Pattern = `(\+?86[ \-]?)?1[3-9][0-9]{9}`
		case def.IDNumber:
			hf.Pattern = `[0-9]{17}[0-9Xx]`
		}
		out = append(out, hf)
	}
	return out
}

// hallUploads are the files of tokens the viewer may read (their own
// uploads, an application's files), to show the form again with them;
// a token that is not theirs is dropped, as the engine would refuse it.
func (s *server) hallUploads(ctx context.Context, v hall.Viewer, tokens []string) []h5.HallFile {
	var out []h5.HallFile
	for _, tk := range tokens {
		if tk = strings.TrimSpace(tk); tk == "" || len(tk) > 128 || len(out) >= def.MaxAttachments {
			continue
		}
		a, _, err := s.Hall.File(ctx, tk, v)
		if err != nil {
			continue
		}
		out = append(out, h5.HallFile{Token: a.Token, Name: a.Filename, Href: "/hall/files/" + url.PathEscape(a.Token)})
	}
	return out
}

// hallRaw is an application's values as its form would post them, to
// fill the form again (resubmitting a returned application).
func hallRaw(proc *def.Process, v def.Values) url.Values {
	raw := url.Values{}
	for _, f := range proc.Fields {
		switch x := v[f.Key].(type) {
		case string:
			if f.Type == def.Phone {
				if rest, ok := strings.CutPrefix(x, "+86"); ok {
					x = rest
				}
			}
			raw.Set(f.Key, x)
		case float64:
			raw.Set(f.Key, strconv.FormatFloat(x, 'f', -1, 64))
		case int64:
			raw.Set(f.Key, strconv.FormatInt(x, 10))
		case def.Range:
			raw.Set(f.Key+".start", x.Start)
			raw.Set(f.Key+".end", x.End)
		case []string:
			raw[f.Key] = x
		}
	}
	return raw
}

// hallFormKey is the coordination key of a form token, per viewer: a
// token another person's page carried claims nothing of theirs.
func hallFormKey(v hall.Viewer, token string) string {
	who := v.UserID
	if who == "" {
		who = "m:" + v.Mobile
	}
	return "hall:form:" + who + ":" + token
}

// hallApply submits the form. The form's token is claimed first: a second
// post of the same form (a double tap, a resend) finds it claimed and is
// sent to the application the first one made instead of making another.
func (s *server) hallApply(c *gin.Context) error {
	ctx := c.Request.Context()
	proc, err := s.hallProcess(c)
	if err != nil {
		return err
	}
	if err := c.Request.ParseForm(); err != nil {
		return badRequest{"表单无法读取"}
	}
	raw := c.Request.PostForm
	a, ok, err := s.hallApplicant(ctx, c, proc, raw)
	if err != nil {
		return err
	}
	if !ok {
		return s.hallRefused(c, proc)
	}
	_, _, v := hallWho(c)
	token := raw.Get("token")
	if !formToken.MatchString(token) {
		token = newFormToken()
	}
	key := hallFormKey(v, token)
	claimed, err := s.Coord.SetNX(ctx, key, []byte("0"), hallFormTTL)
	if err != nil {
		return fmt.Errorf("handler: hall form %s: claim the token: %w", proc.Key, err)
	}
	if !claimed {
		return s.hallRepeated(c, key)
	}
	id, fe, err := s.Hall.Apply(ctx, a, proc.Key, raw)
	if err != nil || len(fe) > 0 {
		// Nothing was made: the same form may be posted again.
		if derr := s.Coord.Delete(ctx, key); derr != nil {
			s.log.Warn("hall: could not release a form token", zap.String("process", proc.Key), zap.Error(derr))
		}
	}
	switch {
	case errors.Is(err, hall.ErrAudience):
		return s.hallRefused(c, proc)
	case errors.Is(err, hall.ErrNoApprover):
		view := s.hallApplyView(c, proc, raw, nil, token)
		view.Error = "暂时找不到这项申请的审批人（例如你的辅导员或学院负责人还没有登记），请联系" + proc.Owner + "的老师。"
		return s.render(c, http.StatusConflict, "hall_apply", view)
	case err != nil:
		return err
	case len(fe) > 0:
		view := s.hallApplyView(c, proc, raw, fe, token)
		view.Error = "有 " + strconv.Itoa(len(fe)) + " 项需要修改，请看下面标红的地方。"
		return s.render(c, http.StatusBadRequest, "hall_apply", view)
	}
	if err := s.Coord.Set(ctx, key, []byte(strconv.FormatInt(id, 10)), hallFormTTL); err != nil {
		return fmt.Errorf("handler: hall form %s: keep the application of the token: %w", proc.Key, err)
	}
	hallRedirect(c, hallAppHref(id), "已提交申请，请留意审批进度。", "")
	return nil
}

// hallRepeated answers a form posted again: the application the first
// post made, once it is there.
func (s *server) hallRepeated(c *gin.Context, key string) error {
	ctx := c.Request.Context()
	deadline := time.Now().Add(hallFormWait)
	for {
		b, err := s.Coord.Get(ctx, key)
		if err != nil && !errors.Is(err, coord.ErrNotFound) {
			return fmt.Errorf("handler: hall form: read the token: %w", err)
		}
		if id, _ := strconv.ParseInt(string(b), 10, 64); id > 0 {
			hallRedirect(c, hallAppHref(id), "这份申请已经提交过了，不会重复提交。", "")
			return nil
		}
		if errors.Is(err, coord.ErrNotFound) || time.Now().After(deadline) {
			// The first post failed or is still running: nothing to show
			// but the list.
			hallRedirect(c, "/hall/my", "申请正在提交，请稍后刷新查看。", "")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hallMy lists the viewer's applications, optionally of one state.
func (s *server) hallMy(c *gin.Context) error {
	ctx := c.Request.Context()
	_, isGuest, v := hallWho(c)
	state := c.Query("state")
	if _, ok := hallStateNames[state]; !ok {
		state = ""
	}
	apps, err := s.Hall.MyApplications(ctx, v)
	if err != nil {
		return err
	}
	view := h5.HallMy{Page: s.hallPage(c, "我的申请"), Guest: isGuest, State: state}
	for _, f := range hallFilters {
		href := "/hall/my"
		if f.key != "" {
			href += "?state=" + url.QueryEscape(f.key)
		}
		view.Filters = append(view.Filters, h5.HallFilter{Key: f.key, Name: f.name, Href: href, Current: f.key == state})
	}
	for _, a := range apps {
		if state == "" || a.State == state {
			view.Apps = append(view.Apps, hallRow(a))
		}
	}
	return s.render(c, http.StatusOK, "hall_my", view)
}

// hallApplication loads the application in the URL as the viewer sees it.
func (s *server) hallApplication(c *gin.Context) (*hall.Application, hall.Viewer, error) {
	_, _, v := hallWho(c)
	id, err := hallID(c.Param("id"))
	if err != nil {
		return nil, v, err
	}
	a, err := s.Hall.Application(c.Request.Context(), id, v)
	if err != nil {
		return nil, v, hallNotFound(err)
	}
	return a, v, nil
}

func hallIsApplicant(a *hall.Application, v hall.Viewer) bool {
	if a.ApplicantUserID != "" {
		return v.UserID == a.ApplicantUserID
	}
	return v.Mobile != "" && strings.TrimPrefix(v.Mobile, "+86") == strings.TrimPrefix(a.ApplicantMobile, "+86")
}

// hallApp is one application: its values, its path, its trail, and what
// the viewer may do with it now.
func (s *server) hallApp(c *gin.Context) error {
	a, v, err := s.hallApplication(c)
	if err != nil {
		return err
	}
	_, isGuest, _ := hallWho(c)
	mine := hallIsApplicant(a, v)
	approver := v.UserID != "" && slices.ContainsFunc(a.Tasks, func(t hall.Task) bool { return t.Assignee == v.UserID })
	base := hallAppHref(a.ID)
	view := h5.HallApp{Page: s.hallPage(c, a.ProcessName), Guest: isGuest, App: hallRow(*a), Applicant: mine,
		WithdrawURL: base + "/withdraw", UrgeURL: base + "/urge", ConfirmURL: base + "/confirm", Back: "/hall/my"}
	if !mine {
		view.Back = "/hall/tasks"
	}
	if a.Process != nil {
		// ID numbers and phones in full for the applicant and the
		// application's approvers only (an admin's viewer sees it masked).
		kinds := map[string]def.FieldType{}
		for _, f := range a.Process.Fields {
			kinds[f.Key] = f.Type
		}
		for _, kv := range a.Process.Display(a.Values, mine || approver) {
			hv := h5.HallKV{Key: kv.Key, Label: kv.Label, Value: kv.Value}
			if tokens, ok := a.Values[kv.Key].([]string); ok && kinds[kv.Key] == def.Attachment {
				files, err := s.Hall.Attachments(c.Request.Context(), tokens)
				if err != nil {
					return err
				}
				for _, f := range files {
					hv.Files = append(hv.Files, h5.HallFile{Token: f.Token, Name: f.Filename, Href: "/hall/files/" + url.PathEscape(f.Token)})
				}
			}
			view.Values = append(view.Values, hv)
		}
	}
	for _, t := range a.Tasks {
		tr := hallTaskRow(t, v.UserID)
		view.Tasks = append(view.Tasks, tr)
		if tr.Mine && tr.Open {
			view.MyTasks = append(view.MyTasks, tr)
		}
	}
	var lastUrge time.Time
	for _, e := range a.Trail {
		who := e.Name
		if who == "" {
			who = e.Actor
		}
		if strings.HasPrefix(who, guest.UserIDPrefix) || strings.HasPrefix(who, "+") {
			who = a.ApplicantName
		}
		view.Trail = append(view.Trail, h5.HallEntry{At: hallTime(e.At), Who: who, Action: or2(hallActions, e.Action), Comment: e.Comment})
		if e.Action == hall.ActUrge && e.At.After(lastUrge) {
			lastUrge = e.At
		}
	}
	if !a.ConfirmedAt.IsZero() {
		view.Confirmed = hallTime(a.ConfirmedAt)
	}
	if mine {
		view.CanWithdraw = a.State == hall.StateSubmitted
		view.CanUrge = a.State == hall.StateSubmitted
		if view.CanUrge && !lastUrge.IsZero() && s.Now().Sub(lastUrge) < time.Hour {
			view.Urged = true
			view.UrgeNote = "已催办，" + lastUrge.Add(time.Hour).Local().Format("15:04") + " 后可以再次催办（每小时一次）。"
		}
		view.CanResubmit = a.State == hall.StateReturned
		view.ResubmitHref = base + "/resubmit"
		view.CanConfirm = a.State == hall.StateApproved && a.Process != nil && a.Process.ConfirmReturn && a.ConfirmedAt.IsZero()
	}
	return s.render(c, http.StatusOK, "hall_app", view)
}

// hallApplicationsRedirect is the address of the engine's notices
// (Engine.ApplicationURL): the application's page.
func (s *server) hallApplicationsRedirect(c *gin.Context) error {
	id, err := hallID(c.Param("id"))
	if err != nil {
		return err
	}
	c.Redirect(http.StatusFound, hallAppHref(id))
	return nil
}

// hallApplicantAction runs one of the applicant's actions on the
// application in the URL and shows the application again with the result.
func (s *server) hallApplicantAction(do func(ctx context.Context, id int64, v hall.Viewer) error, done string) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		_, _, v := hallWho(c)
		id, err := hallID(c.Param("id"))
		if err != nil {
			return err
		}
		err = do(c.Request.Context(), id, v)
		switch {
		case errors.Is(err, hall.ErrUrgedRecently):
			hallRedirect(c, hallAppHref(id), "一小时内已经催办过，请稍后再试。", "")
		case errors.Is(err, hall.ErrState):
			hallRedirect(c, hallAppHref(id), "申请的状态已经变了，不能再这样操作。", "")
		case err != nil:
			return hallNotFound(err)
		default:
			hallRedirect(c, hallAppHref(id), done, "")
		}
		return nil
	})
}

// hallResubmitPage is a returned application's form, filled with what it
// holds.
func (s *server) hallResubmitPage(c *gin.Context) error {
	a, v, err := s.hallApplication(c)
	if err != nil {
		return err
	}
	if !hallIsApplicant(a, v) || a.Process == nil {
		return fmt.Errorf("handler: resubmit %d: %w", a.ID, store.ErrNotFound)
	}
	if a.State != hall.StateReturned {
		hallRedirect(c, hallAppHref(a.ID), "这份申请现在不能修改。", "")
		return nil
	}
	return s.render(c, http.StatusOK, "hall_apply", s.hallResubmitView(c, a, hallRaw(a.Process, a.Values), nil))
}

func (s *server) hallResubmitView(c *gin.Context, a *hall.Application, raw url.Values, fe def.FieldErrors) h5.HallApply {
	view := s.hallApplyView(c, a.Process, raw, fe, "")
	view.Resubmit, view.AppHref, view.Back = true, hallAppHref(a.ID), hallAppHref(a.ID)
	view.Action = hallAppHref(a.ID) + "/resubmit"
	return view
}

// hallResubmit sends the returned application through the flow again.
// A repeated post finds it submitted already (ErrState) and shows it.
func (s *server) hallResubmit(c *gin.Context) error {
	ctx := c.Request.Context()
	a, v, err := s.hallApplication(c)
	if err != nil {
		return err
	}
	if !hallIsApplicant(a, v) || a.Process == nil {
		return fmt.Errorf("handler: resubmit %d: %w", a.ID, store.ErrNotFound)
	}
	if err := c.Request.ParseForm(); err != nil {
		return badRequest{"表单无法读取"}
	}
	raw := c.Request.PostForm
	appl, ok, err := s.hallApplicant(ctx, c, a.Process, raw)
	if err != nil {
		return err
	}
	if !ok {
		return s.hallRefused(c, a.Process)
	}
	fe, err := s.Hall.Resubmit(ctx, a.ID, appl, raw)
	switch {
	case errors.Is(err, hall.ErrState):
		hallRedirect(c, hallAppHref(a.ID), "这份申请已经重新提交过了。", "")
		return nil
	case errors.Is(err, hall.ErrNoApprover):
		view := s.hallResubmitView(c, a, raw, nil)
		view.Error = "暂时找不到这项申请的审批人，请联系" + a.Process.Owner + "的老师。"
		return s.render(c, http.StatusConflict, "hall_apply", view)
	case err != nil:
		return hallNotFound(err)
	case len(fe) > 0:
		view := s.hallResubmitView(c, a, raw, fe)
		view.Error = "有 " + strconv.Itoa(len(fe)) + " 项需要修改，请看下面标红的地方。"
		return s.render(c, http.StatusBadRequest, "hall_apply", view)
	}
	hallRedirect(c, hallAppHref(a.ID), "已重新提交，审批从第一步重新开始。", "")
	return nil
}

// hallMember refuses guests (tasks are members' only) with the 404 every
// page answers for what is not the viewer's.
func hallMember(c *gin.Context) error {
	if _, isGuest, _ := hallWho(c); isGuest {
		return fmt.Errorf("handler: a guest asked for %s: %w", c.Request.URL.Path, store.ErrNotFound)
	}
	return nil
}

// hallTasks lists the member's open tasks (default) or those done.
func (s *server) hallTasks(c *gin.Context) error {
	if _, isGuest, _ := hallWho(c); isGuest {
		c.Redirect(http.StatusFound, "/hall/")
		return nil
	}
	ctx := c.Request.Context()
	p := principal(c)
	openTasks, err := s.Hall.MyTasks(ctx, p.UserID, true)
	if err != nil {
		return err
	}
	view := h5.HallTasks{Page: s.hallPage(c, "我的待办"), Open: c.Query("done") == "", OpenCount: len(openTasks)}
	list := openTasks
	if !view.Open {
		if list, err = s.Hall.MyTasks(ctx, p.UserID, false); err != nil {
			return err
		}
	}
	for _, it := range list {
		tr := hallTaskRow(it.Task, p.UserID)
		view.Items = append(view.Items, h5.HallTaskItem{Task: tr, App: hallRow(it.App), Href: hallAppHref(it.App.ID) + "#" + tr.Anchor})
	}
	return s.render(c, http.StatusOK, "hall_tasks", view)
}

// hallMyTask finds the member's own task by id, open or done; not theirs
// (or no such task) is not found.
func (s *server) hallMyTask(ctx context.Context, userid, raw string) (hall.TaskItem, error) {
	id, err := hallID(raw)
	if err != nil {
		return hall.TaskItem{}, err
	}
	for _, open := range []bool{true, false} {
		ts, err := s.Hall.MyTasks(ctx, userid, open)
		if err != nil {
			return hall.TaskItem{}, err
		}
		for _, t := range ts {
			if t.ID == id {
				return t, nil
			}
		}
	}
	return hall.TaskItem{}, fmt.Errorf("handler: task %d of %s: %w", id, userid, store.ErrNotFound)
}

// hallTask is a task's address (the card's link, Engine.TaskURL): its
// application's page at the task.
func (s *server) hallTask(c *gin.Context) error {
	if err := hallMember(c); err != nil {
		return err
	}
	t, err := s.hallMyTask(c.Request.Context(), principal(c).UserID, c.Param("id"))
	if err != nil {
		return err
	}
	anchor := "task-" + strconv.FormatInt(t.ID, 10)
	if t.State == hall.TaskOpen {
		anchor = "decide-" + strconv.FormatInt(t.ID, 10)
	}
	c.Redirect(http.StatusFound, hallAppHref(t.App.ID)+"#"+anchor)
	return nil
}

// hallTaskDone is where a task action goes back to: the task list (its
// quick buttons) or the application.
func hallTaskDone(c *gin.Context, t hall.TaskItem, flash string) {
	if c.PostForm("return") == "tasks" {
		hallRedirect(c, "/hall/tasks", flash, "")
		return
	}
	hallRedirect(c, hallAppHref(t.App.ID), flash, "task-"+strconv.FormatInt(t.ID, 10))
}

// hallDecide approves, rejects or returns the member's task.
func (s *server) hallDecide(c *gin.Context) error {
	if err := hallMember(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	me := principal(c).UserID
	t, err := s.hallMyTask(ctx, me, c.Param("id"))
	if err != nil {
		return err
	}
	action := hall.Action(c.PostForm("action"))
	comment := strings.TrimSpace(c.PostForm("comment"))
	flash := map[hall.Action]string{hall.Approve: "已同意", hall.Reject: "已驳回", hall.Return: "已退回申请人修改"}[action]
	if flash == "" {
		return badRequest{"请选择同意、驳回或退回"}
	}
	if action == hall.Return && comment == "" {
		hallTaskDone(c, t, "退回修改时请写明需要修改的地方。")
		return nil
	}
	err = s.Hall.Decide(ctx, t.ID, me, action, comment)
	switch {
	case errors.Is(err, hall.ErrAlreadyHandled):
		hallTaskDone(c, t, "这项审批已经处理过了。")
	case err != nil:
		return hallNotFound(err)
	default:
		hallTaskDone(c, t, flash)
	}
	return nil
}

// hallTransfer hands the member's open task to another member.
func (s *server) hallTransfer(c *gin.Context) error {
	return s.hallHandOver(c, func(ctx context.Context, t hall.TaskItem, me, to string) error {
		return s.Hall.Transfer(ctx, t.ID, me, to, strings.TrimSpace(c.PostForm("comment")))
	}, "to", "已转交给 ")
}

// hallAddApprover adds a member to the open task's step.
func (s *server) hallAddApprover(c *gin.Context) error {
	return s.hallHandOver(c, func(ctx context.Context, t hall.TaskItem, me, to string) error {
		return s.Hall.AddApprover(ctx, t.ID, me, to)
	}, "userid", "已加签 ")
}

func (s *server) hallHandOver(c *gin.Context, do func(ctx context.Context, t hall.TaskItem, me, to string) error, field, done string) error {
	if err := hallMember(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	me := principal(c).UserID
	t, err := s.hallMyTask(ctx, me, c.Param("id"))
	if err != nil {
		return err
	}
	to := strings.TrimSpace(c.PostForm(field))
	if to == "" || utf8.RuneCountInString(to) > 64 {
		hallTaskDone(c, t, "请填写成员账号。")
		return nil
	}
	err = do(ctx, t, me, to)
	switch {
	case errors.Is(err, hall.ErrAlreadyHandled):
		hallTaskDone(c, t, "这项审批已经处理过了。")
	case errors.Is(err, hall.ErrNotFound):
		// The task is the member's (checked above): it is the person
		// named who cannot take it.
		hallTaskDone(c, t, "找不到成员 "+to+"。")
	case errors.Is(err, hall.ErrNotAssignee):
		hallTaskDone(c, t, "申请人不能审批自己的申请。")
	case errors.Is(err, hall.ErrState):
		hallTaskDone(c, t, to+" 已经是这一步的审批人（不能交给自己）。")
	case err != nil:
		return err
	default:
		hallTaskDone(c, t, done+to)
	}
	return nil
}

// appApprovalsModule opens the approvals tile (a built-in module): the
// member's tasks, counted as used.
func (s *server) appApprovalsModule(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	if _, err := s.Workbench.Module(ctx, p.UserID, "", "approvals"); errors.Is(err, workbench.ErrNotVisible) {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	if err := s.Workbench.Used(ctx, p.UserID, "approvals"); err != nil {
		return err
	}
	c.Redirect(http.StatusFound, "/hall/tasks")
	return nil
}
