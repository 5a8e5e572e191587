package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/store"
)

// The service hall's console (网上办事大厅): the processes, the designer
// (校验 and 发布 over def.Validate with the engine's resolver), the "who
// would approve this?" simulator, the statistics with their charts, and
// an application as admins see it, whose stuck task an admin hands to
// someone else. auth.PermHall opens it; a department admin edits, and
// sees the applications of, only the processes their departments (or
// departments under them) own. Publishing is audited right after the
// engine stores the version (hall.Engine.Publish keeps its own
// transaction); a reassignment is audited by the engine in its own.

// adminHallHref is the console's entry for the hall.
const adminHallHref = "/admin/hall"

// adminHallVersions bounds the designer's version history.
const adminHallVersions = 30

// adminHallStuckShown bounds the statistics page's list of overdue open tasks.
const adminHallStuckShown = 50

// adminHallOn answers whether the hall runs, and whether the admin may use its
// console.
func (s *server) adminHallOn(c *gin.Context) error {
	if s.Hall == nil {
		return fmt.Errorf("handler: the service hall is not configured: %w", store.ErrNotFound)
	}
	return s.may(c, auth.PermHall)
}

// adminHallErr makes the engine's "not found" the pages' 404.
func adminHallErr(err error) error {
	if errors.Is(err, hall.ErrNotFound) {
		return fmt.Errorf("%w (%w)", store.ErrNotFound, err)
	}
	return err
}

// adminHallScope is how far the admin reaches: every process, or those whose
// owner is one of depts or below one.
type adminHallScope struct {
	all   bool
	depts []string
	// parent and name of each data-center department, by code.
	parent, name map[string]string
}

func (s *server) adminHallScope(c *gin.Context) (adminHallScope, error) {
	gs, _ := c.Get(grantsKey)
	grants, _ := gs.([]auth.Grant)
	sc := adminHallScope{parent: map[string]string{}, name: map[string]string{}}
	sc.all, sc.depts = auth.Scope(grants, auth.PermHall)
	ds, err := s.DB.DCDepartments(c.Request.Context())
	if err != nil {
		return sc, fmt.Errorf("handler: the hall's departments: %w", err)
	}
	for _, d := range ds {
		sc.parent[d.Code], sc.name[d.Code] = d.ParentCode, d.Name
	}
	return sc, nil
}

// reaches: the admin may edit (and see the applications of) processes
// owned by owner.
func (sc adminHallScope) reaches(owner string) bool {
	if sc.all {
		return true
	}
	// Up the tree from the owner; bounded against a cycle in the data.
	for code, n := owner, 0; code != "" && n < 64; code, n = sc.parent[code], n+1 {
		if slices.Contains(sc.depts, code) {
			return true
		}
	}
	return false
}

func (s *server) adminHall(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	procs, err := s.Hall.Processes(ctx)
	if err != nil {
		return err
	}
	sc, err := s.adminHallScope(c)
	if err != nil {
		return err
	}
	v := h5.AdminHallList{AdminPage: s.adminPage(c, "网上办事大厅", adminHallHref), All: sc.all, Depts: sc.depts}
	for _, p := range procs {
		v.Processes = append(v.Processes, h5.AdminHallProcess{Key: p.Key, Name: p.Name, Owner: p.Owner, OwnerName: sc.name[p.Owner],
			Audience: string(p.Audience), Version: p.Version, PublishedBy: p.PublishedBy, PublishedAt: adminHallTime(p.PublishedAt),
			Editable: sc.reaches(p.Owner)})
	}
	return s.render(c, http.StatusOK, "admin_hall", v)
}

func adminHallTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

// adminHallJSON is p as the designer edits it: indented, without the
// version the engine sets.
func adminHallJSON(p *def.Process) string {
	cp := *p
	cp.Version = 0
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&cp); err != nil {
		return "{}"
	}
	return strings.TrimSpace(b.String())
}

// adminHallStarter is a new process's definition: one field and one step, to edit.
func adminHallStarter(sc adminHallScope) *def.Process {
	p := &def.Process{Audience: def.Students,
		Fields: []def.Field{{Key: "reason", Label: "申请事由", Type: def.LongText, Required: true, Summary: true}},
		Steps:  []def.Step{{ID: "counselor", Name: "辅导员审批", Mode: def.AnyOf, Approvers: []def.Approver{{Kind: def.Counselor}}}}}
	if !sc.all && len(sc.depts) > 0 {
		p.Owner = sc.depts[0]
	}
	return p
}

// adminHallEdit is the designer of the process in the path, or of a new
// one (/admin/hall/new).
func (s *server) adminHallEdit(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	sc, err := s.adminHallScope(c)
	if err != nil {
		return err
	}
	key := c.Param("key")
	v, err := s.adminHallEditView(c, sc, key)
	if err != nil {
		return err
	}
	if key == "" {
		v.Definition = adminHallJSON(adminHallStarter(sc))
	} else {
		p, err := s.Hall.Process(c.Request.Context(), key, 0)
		if err != nil {
			return adminHallErr(err)
		}
		if !sc.reaches(p.Owner) {
			return forbidden{auth.PermHall}
		}
		v.Definition = adminHallJSON(p)
	}
	return s.render(c, http.StatusOK, "admin_hall_edit", v)
}

// adminHallEditView is the designer's page around a definition: its action,
// the latest version and the version history.
func (s *server) adminHallEditView(c *gin.Context, sc adminHallScope, key string) (h5.AdminHallEdit, error) {
	title := "新建流程"
	if key != "" {
		title = "编辑流程 " + key
	}
	v := h5.AdminHallEdit{AdminPage: s.adminPage(c, title, adminHallHref), Key: key, Action: "/admin/hall/new"}
	if !sc.all {
		v.Depts = sc.depts
	}
	if key == "" {
		return v, nil
	}
	v.Action = "/admin/hall/" + url.PathEscape(key) + "/edit"
	ctx := c.Request.Context()
	latest, err := s.DB.GetHallProcess(ctx, key, 0)
	if errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	if err != nil {
		return v, fmt.Errorf("handler: the designer of %s: %w", key, err)
	}
	v.Version, v.OwnerName, v.Title = latest.Version, sc.name[latest.Owner], "编辑流程 "+latest.Name
	versions, err := s.Hall.Versions(ctx, key, adminHallVersions)
	if err != nil {
		return v, fmt.Errorf("handler: the versions of %s: %w", key, err)
	}
	for _, r := range versions {
		v.Versions = append(v.Versions, h5.AdminHallVersion{Version: r.Version, By: r.PublishedBy, At: adminHallTime(store.Time(r.PublishedAt)), Current: r.Version == latest.Version,
			Simulate: "/admin/hall/" + url.PathEscape(key) + "/simulate?version=" + strconv.Itoa(r.Version)})
	}
	return v, nil
}

// adminHallSave validates (do=validate) or publishes (do=publish) the
// posted definition: the problems come back next to where they are, or a
// new version is stored and audited.
func (s *server) adminHallSave(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	sc, err := s.adminHallScope(c)
	if err != nil {
		return err
	}
	key := c.Param("key")
	var before *def.Process
	if key != "" {
		if before, err = s.Hall.Process(ctx, key, 0); err != nil {
			return adminHallErr(err)
		}
		if !sc.reaches(before.Owner) {
			return forbidden{auth.PermHall}
		}
	}
	v, err := s.adminHallEditView(c, sc, key)
	if err != nil {
		return err
	}
	raw := strings.TrimSpace(c.PostForm("definition"))
	v.Definition = raw
	p, err := def.ParseJSON([]byte(raw))
	if err != nil {
		v.ParseError = adminHallParseProblem(err)
		return s.render(c, http.StatusBadRequest, "admin_hall_edit", v)
	}
	problems := s.adminHallOwnProblems(ctx, sc, key, p)
	problems = append(problems, def.Validate(p, s.Hall.Resolver().Bind(ctx))...)
	publish := c.PostForm("do") == "publish"
	if len(problems) > 0 || !publish {
		v.Problems, v.Checked = adminHallProblems(p, problems), true
		status := http.StatusOK
		if publish {
			status = http.StatusBadRequest
		}
		return s.render(c, status, "admin_hall_edit", v)
	}
	// Published and audited in one transaction.
	version, problems, err := s.Hall.PublishAudited(ctx, p, actor(c))
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		// The org changed between the check above and the engine's own.
		v.Problems, v.Checked = adminHallProblems(p, problems), true
		return s.render(c, http.StatusBadRequest, "admin_hall_edit", v)
	}
	return saved(c, "/admin/hall/"+url.PathEscape(p.Key)+"/edit", fmt.Sprintf("已发布 %s 版本 %d", p.Name, version))
}

// adminHallOwnProblems are the console's checks besides def.Validate: the key
// of the page, a new process taking an existing key, and the owner within
// the admin's departments.
func (s *server) adminHallOwnProblems(ctx context.Context, sc adminHallScope, key string, p *def.Process) []def.Problem {
	var out []def.Problem
	switch {
	case key != "" && p.Key != key:
		out = append(out, def.Problem{Where: "key", Problem: fmt.Sprintf("流程标识不能修改：这是流程 %s 的设计页。要另建一个流程，请用“新建流程”", key)})
	case key == "" && p.Key != "":
		if old, err := s.Hall.Process(ctx, p.Key, 0); err == nil {
			out = append(out, def.Problem{Where: "key", Problem: fmt.Sprintf("流程标识 %s 已被流程“%s”使用，请换一个，或去编辑那个流程", p.Key, old.Name)})
		}
	}
	if strings.TrimSpace(p.Owner) != "" && !sc.reaches(p.Owner) {
		out = append(out, def.Problem{Where: "owner", Problem: "部门管理员只能发布主管部门为 " + strings.Join(sc.depts, "、") + "（含下级部门）的流程"})
	}
	return out
}

// adminHallParseProblem says in words why the posted definition is not one.
func adminHallParseProblem(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "def: parsing a JSON definition: ")
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("JSON 格式有误（第 %d 个字节附近）：%s", se.Offset, msg)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s 的值类型不对（应为 %s）", te.Field, te.Type)
	}
	return msg
}

var adminHallStepPlace = regexp.MustCompile(`^steps(?:\.([a-z][a-z0-9_]*)|\[(\d+)\])(?:\.(next|approvers|cc|escalate_to)\[(\d+)\])?$`)
var adminHallFieldPlace = regexp.MustCompile(`^fields\[(\d+)\]$`)

// adminHallProblems names where each problem is, in words.
func adminHallProblems(p *def.Process, probs []def.Problem) []h5.AdminHallProblem {
	out := make([]h5.AdminHallProblem, 0, len(probs))
	for _, pr := range probs {
		out = append(out, h5.AdminHallProblem{Where: pr.Where, Place: adminHallPlace(p, pr.Where), Problem: pr.Problem})
	}
	return out
}

func adminHallPlace(p *def.Process, where string) string {
	switch where {
	case "key":
		return "流程标识"
	case "name":
		return "流程名称"
	case "owner":
		return "主管部门"
	case "description":
		return "流程说明"
	case "audience":
		return "申请对象"
	case "fields":
		return "表单字段"
	case "steps":
		return "审批步骤"
	}
	if m := adminHallFieldPlace.FindStringSubmatch(where); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i < len(p.Fields) {
			return fmt.Sprintf("第 %d 个字段“%s”", i+1, adminHallOr(p.Fields[i].Label, p.Fields[i].Key))
		}
		return fmt.Sprintf("第 %d 个字段", i+1)
	}
	m := adminHallStepPlace.FindStringSubmatch(where)
	if m == nil {
		return where
	}
	i := -1
	if m[2] != "" {
		i, _ = strconv.Atoi(m[2])
	} else {
		i = slices.IndexFunc(p.Steps, func(st def.Step) bool { return st.ID == m[1] })
	}
	place := "步骤 " + m[1]
	if i >= 0 && i < len(p.Steps) {
		place = fmt.Sprintf("第 %d 步“%s”", i+1, adminHallOr(p.Steps[i].Name, p.Steps[i].ID))
	}
	if m[3] != "" {
		k, _ := strconv.Atoi(m[4])
		place += fmt.Sprintf("的第 %d 个%s", k+1, map[string]string{"next": "分支", "approvers": "审批人", "cc": "抄送人", "escalate_to": "超时上报对象"}[m[3]])
	}
	return place
}

func adminHallOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// adminHallSimulate answers who would approve an application of the
// process by the person, with the sample form: each step, the condition
// that led there, its approvers and CC by name, and the conditions that
// failed at run time. Nothing is submitted or sent.
func (s *server) adminHallSimulate(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	key := c.Param("key")
	version, _ := strconv.Atoi(c.Query("version"))
	p, err := s.Hall.Process(ctx, key, max(version, 0))
	if err != nil {
		return adminHallErr(err)
	}
	// The simulator shows anyone's college and class: a department admin
	// simulates their own processes only (as the workbench preview shows
	// only their departments' people).
	sc, err := s.adminHallScope(c)
	if err != nil {
		return err
	}
	if !sc.reaches(p.Owner) {
		return forbidden{auth.PermHall}
	}
	q := c.Request.URL.Query()
	v := h5.AdminHallSimulate{AdminPage: s.adminPage(c, "模拟审批人："+p.Name, adminHallHref), Key: p.Key, Name: p.Name, Version: p.Version,
		UserID: strings.TrimSpace(q.Get("userid"))}
	values, ferrs := p.ParseForm(q, def.ParseOptions{Now: s.Now()})
	for _, f := range p.Fields {
		ff := h5.AdminHallFormField{Key: f.Key, Label: f.Label, Type: string(f.Type), Help: f.Help, Required: f.Required, Multiple: f.Multiple,
			Value: q.Get(f.Key), Start: q.Get(f.Key + ".start"), End: q.Get(f.Key + ".end")}
		for _, o := range f.Options {
			ff.Options = append(ff.Options, h5.AdminOption{Value: o, Name: o, Checked: slices.Contains(q[f.Key], o)})
		}
		// A sample form need not be complete: only what was typed and
		// is wrong is worth saying.
		if ff.Value != "" || ff.Start != "" || ff.End != "" {
			ff.Error = ferrs[f.Key]
		}
		v.Fields = append(v.Fields, ff)
	}
	if v.UserID == "" && p.Audience != def.OffCampus {
		return s.render(c, http.StatusOK, "admin_hall_simulate", v)
	}
	var a def.Applicant
	if v.UserID == "" {
		a = def.Applicant{Kind: "offcampus", Name: "校外申请人"}
	} else {
		res := s.Hall.Resolver()
		if _, err := res.Applicant(ctx, v.UserID); errors.Is(err, hall.ErrNotFound) {
			v.Problem = "数据中心里没有 " + v.UserID + " 这个人"
			return s.render(c, http.StatusOK, "admin_hall_simulate", v)
		} else if err != nil {
			return err
		}
		if a, err = res.ApplicantFor(ctx, v.UserID, p.Audience); errors.Is(err, hall.ErrNotFound) {
			v.Problem = fmt.Sprintf("%s 不能申请这个流程：申请对象是%s", v.UserID, adminHallAudience(p.Audience))
			return s.render(c, http.StatusOK, "admin_hall_simulate", v)
		} else if err != nil {
			return err
		}
	}
	v.Applicant = &h5.AdminHallApplicant{UserID: a.UserID, Name: a.Name, Kind: a.Kind, College: a.College, Dept: a.Dept, Level: a.Level, Grade: a.Grade}
	cp, probs := def.Compile(p)
	if len(probs) > 0 {
		v.Problem = "这个版本的条件无法编译：" + probs[0].Problem
		return s.render(c, http.StatusOK, "admin_hall_simulate", v)
	}
	path, err := cp.Path(def.Env{Form: values, Applicant: a}, s.Hall.Resolver().Bind(ctx))
	if err != nil {
		v.Problem = "无法算出审批路径：" + err.Error()
		return s.render(c, http.StatusOK, "admin_hall_simulate", v)
	}
	var ids []string
	for _, ps := range path {
		ids = append(append(ids, ps.Approvers...), ps.CC...)
	}
	names, err := s.DB.HallPeopleNames(ctx, ids)
	if err != nil {
		return err
	}
	people := func(ids []string) []h5.AdminHallPerson {
		var out []h5.AdminHallPerson
		for _, id := range ids {
			out = append(out, h5.AdminHallPerson{UserID: id, Name: names[id]})
		}
		return out
	}
	v.Ran = true
	for _, ps := range path {
		st := h5.AdminHallPathStep{ID: ps.Step.ID, Name: ps.Step.Name, Mode: string(ps.Step.Mode), Edge: ps.Edge, LimitDays: ps.Step.LimitDays,
			Approvers: people(ps.Approvers), CC: people(ps.CC)}
		for _, src := range ps.Step.Approvers {
			st.Sources = append(st.Sources, src.Describe())
		}
		for _, w := range ps.Warnings {
			st.Warnings = append(st.Warnings, w.Problem)
		}
		v.Path = append(v.Path, st)
	}
	return s.render(c, http.StatusOK, "admin_hall_simulate", v)
}

func adminHallAudience(a def.Audience) string {
	return map[def.Audience]string{def.Students: "学生", def.Faculty: "教职工", def.Members: "全体成员", def.OffCampus: "校外人员"}[a]
}

// adminHallDuration says a time to decision in words.
func adminHallDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Minute:
		return "不到 1 分钟"
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d 小时", h)
		}
		return fmt.Sprintf("%d 小时 %d 分", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%d 天", days)
	}
	return fmt.Sprintf("%d 天 %d 小时", days, h)
}

// The charts' geometry, in SVG user units.
const (
	adminHallChartWidth  = 620
	adminHallChartLabel  = 160 // the process names' column
	adminHallChartBars   = 300 // the longest bar
	adminHallChartTop    = 26  // the legend's band
	adminHallChartRow    = 30
	adminHallChartBottom = 6
)

// adminHallChart lays out one row per label with a bar per series, scaled to
// the largest value; each bar says its value in words.
func adminHallChart(title string, labels []string, series []h5.AdminHallLegend, values [][]float64, words [][]string) h5.AdminHallChart {
	// Each series gets a bar tall enough for its figure beside it.
	rowH := max(adminHallChartRow, 8+16*len(series))
	ch := h5.AdminHallChart{Title: title, Width: adminHallChartWidth, LabelWidth: adminHallChartLabel, Height: adminHallChartTop + len(labels)*rowH + adminHallChartBottom}
	for i := range series {
		series[i].X = adminHallChartLabel + i*110
	}
	ch.Legend = series
	top := 0.0
	for _, vs := range values {
		for _, x := range vs {
			top = max(top, x)
		}
	}
	barH := (rowH - 8) / max(len(series), 1)
	for i, l := range labels {
		y := adminHallChartTop + i*rowH
		row := h5.AdminHallChartRow{Label: l, LabelY: y + rowH/2 + 4}
		for k := range series {
			w := 0
			if top > 0 {
				w = int(values[i][k] / top * adminHallChartBars)
			}
			if values[i][k] > 0 {
				w = max(w, 2) // a small figure still shows
			}
			by := y + 4 + k*barH
			row.Bars = append(row.Bars, h5.AdminHallBar{X: adminHallChartLabel, Y: by, W: w, H: barH - 2, Class: series[k].Class, Value: words[i][k],
				ValueX: adminHallChartLabel + w + 6, ValueY: by + barH - 4})
		}
		ch.Rows = append(ch.Rows, row)
	}
	return ch
}

func (s *server) adminHallStats(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	stats, err := s.Hall.Stats(ctx)
	if err != nil {
		return err
	}
	sc, err := s.adminHallScope(c)
	if err != nil {
		return err
	}
	v := h5.AdminHallStats{AdminPage: s.adminPage(c, "办理统计", adminHallHref)}
	owners := map[string]*h5.AdminHallStatRow{}
	var order []string
	var labels []string
	var apps, times [][]float64
	var appWords, timeWords [][]string
	for _, st := range stats {
		v.Rows = append(v.Rows, h5.AdminHallStatRow{Key: st.Key, Name: st.Name, Owner: st.Owner, OwnerName: sc.name[st.Owner], Applications: st.Applications,
			Decided: st.Decided, Median: adminHallDuration(st.MedianDecision), P90: adminHallDuration(st.P90Decision), OverdueOpen: st.OverdueOpen})
		o := owners[st.Owner]
		if o == nil {
			o = &h5.AdminHallStatRow{Owner: st.Owner, OwnerName: sc.name[st.Owner]}
			owners[st.Owner] = o
			order = append(order, st.Owner)
		}
		o.Applications += st.Applications
		o.Decided += st.Decided
		o.OverdueOpen += st.OverdueOpen
		labels = append(labels, st.Name)
		apps = append(apps, []float64{float64(st.Applications)})
		appWords = append(appWords, []string{strconv.Itoa(st.Applications)})
		times = append(times, []float64{st.MedianDecision.Hours(), st.P90Decision.Hours()})
		timeWords = append(timeWords, []string{adminHallDuration(st.MedianDecision), adminHallDuration(st.P90Decision)})
	}
	for _, o := range order {
		v.Owners = append(v.Owners, *owners[o])
	}
	v.Apps = adminHallChart("各流程申请数", labels, []h5.AdminHallLegend{{Class: "bar_a", Name: "申请数"}}, apps, appWords)
	v.Times = adminHallChart("从提交到办结的时间", labels, []h5.AdminHallLegend{{Class: "bar_m", Name: "中位数"}, {Class: "bar_p", Name: "90 分位"}}, times, timeWords)
	if v.Stuck, err = s.adminHallStuck(ctx, sc); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_hall_stats", v)
}

// adminHallStuck are the open tasks past their due time of the processes the
// admin reaches, oldest due first.
func (s *server) adminHallStuck(ctx context.Context, sc adminHallScope) ([]h5.AdminHallStuck, error) {
	open, err := s.DB.OpenHallTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("handler: the hall's open tasks: %w", err)
	}
	now := store.Millis(s.Now())
	var due []store.HallTask
	for _, t := range open {
		if t.State == store.HallTaskOpen && t.DueAt > 0 && t.DueAt <= now {
			due = append(due, t)
		}
	}
	slices.SortFunc(due, func(a, b store.HallTask) int { return int(a.DueAt - b.DueAt) })
	var out []h5.AdminHallStuck
	apps := map[int64]*hall.Application{}
	for _, t := range due {
		if len(out) == adminHallStuckShown {
			break
		}
		app := apps[t.ApplicationID]
		if app == nil {
			if app, err = s.Hall.Application(ctx, t.ApplicationID, hall.Viewer{Admin: true}); err != nil {
				return nil, err
			}
			apps[t.ApplicationID] = app
		}
		if !sc.reaches(app.Owner) {
			continue
		}
		st := h5.AdminHallStuck{TaskID: t.ID, ApplicationID: t.ApplicationID, Href: "/admin/hall/a/" + strconv.FormatInt(t.ApplicationID, 10),
			Process: app.ProcessName, Step: t.StepID, Assignee: t.Assignee, Due: adminHallTime(store.Time(t.DueAt))}
		for _, x := range app.Tasks {
			if x.ID == t.ID {
				st.Step, st.Name = x.StepName, x.AssigneeName
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// adminHallFind opens the application the list's box names.
func (s *server) adminHallFind(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	id, err := strconv.ParseInt(strings.TrimSpace(c.Query("id")), 10, 64)
	if err != nil || id <= 0 {
		return badRequest{"申请编号应为数字"}
	}
	c.Redirect(http.StatusSeeOther, "/admin/hall/a/"+strconv.FormatInt(id, 10))
	return nil
}

func (s *server) adminHallApplication(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	// A process keyed "a": its designer's and simulator's paths meet
	// this route first.
	switch c.Param("id") {
	case "edit":
		c.Params = append(c.Params, gin.Param{Key: "key", Value: "a"})
		return s.adminHallEdit(c)
	case "simulate":
		c.Params = append(c.Params, gin.Param{Key: "key", Value: "a"})
		return s.adminHallSimulate(c)
	}
	return s.renderHallApplication(c, http.StatusOK, 0, "", nil)
}

// adminHallApp loads the application in the path, when the admin
// reaches its process.
func (s *server) adminHallApp(c *gin.Context) (*hall.Application, adminHallScope, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, adminHallScope{}, fmt.Errorf("handler: application %q: %w", c.Param("id"), store.ErrNotFound)
	}
	app, err := s.Hall.Application(c.Request.Context(), id, hall.Viewer{Admin: true})
	if err != nil {
		return nil, adminHallScope{}, adminHallErr(err)
	}
	sc, err := s.adminHallScope(c)
	if err != nil {
		return nil, sc, err
	}
	if !sc.reaches(app.Owner) {
		return nil, sc, forbidden{auth.PermHall}
	}
	return app, sc, nil
}

func (s *server) renderHallApplication(c *gin.Context, status int, task int64, to string, fe map[string]string) error {
	app, _, err := s.adminHallApp(c)
	if err != nil {
		return err
	}
	v := h5.AdminHallApplication{AdminPage: s.adminPage(c, fmt.Sprintf("申请 #%d %s", app.ID, app.ProcessName), adminHallHref), ID: app.ID,
		ProcessKey: app.ProcessKey, ProcessName: app.ProcessName, Version: app.Version, Applicant: adminHallOr(app.ApplicantName, app.ApplicantUserID),
		ApplicantKind: app.ApplicantKind, State: app.State, Step: app.StepName, Created: adminHallTime(app.CreatedAt), Decided: adminHallTime(app.DecidedAt),
		CanReassign: true, Task: task, To: to, FieldError: fe}
	if app.ApplicantUserID != "" {
		v.Applicant += "（" + app.ApplicantUserID + "）"
	}
	if app.Process != nil {
		// Masked: the console is not where ID numbers and phones are read.
		for _, kv := range app.Process.Display(app.Values, false) {
			v.Values = append(v.Values, h5.AdminHallKV{Label: kv.Label, Value: kv.Value})
		}
	}
	for _, t := range app.Tasks {
		v.Tasks = append(v.Tasks, h5.AdminHallTask{ID: t.ID, Step: t.StepName, Assignee: t.Assignee, AssigneeName: t.AssigneeName, State: t.State,
			Opened: adminHallTime(t.OpenedAt), Due: adminHallTime(t.DueAt), Decided: adminHallTime(t.DecidedAt), DecidedBy: t.DecidedBy, Comment: t.Comment,
			Open: t.State == hall.TaskOpen, Overdue: t.Overdue})
	}
	// A task no longer open has no form to show its error by.
	if msg := fe["to"]; msg != "" && !slices.ContainsFunc(v.Tasks, func(t h5.AdminHallTask) bool { return t.ID == task && t.Open }) {
		v.Error = msg
	}
	for _, e := range app.Trail {
		v.Trail = append(v.Trail, h5.AdminHallEntry{At: adminHallTime(e.At), Actor: e.Actor, Name: e.Name, Action: e.Action, Comment: e.Comment})
	}
	return s.render(c, status, "admin_hall_app", v)
}

// adminHallReassign gives an open task of the application to another
// member (转交给); the engine records it in the trail and the audit log.
func (s *server) adminHallReassign(c *gin.Context) error {
	if err := s.adminHallOn(c); err != nil {
		return err
	}
	app, _, err := s.adminHallApp(c)
	if err != nil {
		return err
	}
	task, err := strconv.ParseInt(c.PostForm("task"), 10, 64)
	if err != nil || !slices.ContainsFunc(app.Tasks, func(t hall.Task) bool { return t.ID == task }) {
		return badRequest{"这个申请没有这个任务"}
	}
	to := strings.TrimSpace(c.PostForm("to"))
	refuse := func(msg string) error {
		return s.renderHallApplication(c, http.StatusBadRequest, task, to, map[string]string{"to": msg})
	}
	if to == "" {
		return refuse("请填写接手人的工号")
	}
	switch err := s.Hall.Reassign(c.Request.Context(), task, actor(c), to); {
	case errors.Is(err, hall.ErrAlreadyHandled):
		return refuse("这个任务已经处理过了（或已转交），不能再转交")
	case errors.Is(err, hall.ErrNotAssignee):
		return refuse("申请人不能审批自己的申请")
	case errors.Is(err, hall.ErrState):
		return refuse(to + " 已经是这个任务的办理人")
	case errors.Is(err, hall.ErrNotFound):
		return refuse(to + " 不是在职的成员")
	case err != nil:
		return err
	}
	return saved(c, "/admin/hall/a/"+strconv.FormatInt(app.ID, 10), "已把任务转交给 "+to)
}
