package handler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
)

// The console's contacts-sync pages (通讯录同步): the run history with a
// dry run and a run started from here, one run with its failures, plan and
// the guard's confirmation, and the tag rules. All need PermContacts
// (super admins): a sync changes the whole corp's contacts in WeCom.

// syncHistory is how many runs the history shows.
const syncHistory = 50

// syncPlanOps is how many of a plan's operations a run's page lists; the
// whole plan is in the download.
const syncPlanOps = 500

// syncRefresh is how often (seconds) a page showing a run in progress
// reloads itself.
const syncRefresh = 3

// tagRulesShown is how many tag rules the list shows at most.
const tagRulesShown = 200

// tagPreviewMembers is how many matched members a rule's preview lists.
const tagPreviewMembers = 20

var syncStatusLabels = map[string]string{
	store.SyncConverged: "已完成", store.SyncFailed: "有失败", store.SyncGuard: "被安全阀拦下",
	store.SyncInterrupted: "中断", store.SyncRunning: "进行中",
}

var syncTriggerLabels = map[string]string{
	orgsync.TriggerCLI: "命令行", orgsync.TriggerSchedule: "定时", orgsync.TriggerConsole: "管理后台",
	orgsync.TriggerSelfReg: "自助注册", orgsync.TriggerStart: "启动时",
}

var opKindLabels = map[contacts.OpKind]string{
	contacts.OpCreateDepartment: "新建部门", contacts.OpUpdateDepartment: "更新部门", contacts.OpCreateUser: "新建成员",
	contacts.OpUpdateUser: "更新成员", contacts.OpDisableUser: "停用成员", contacts.OpCreateTag: "新建标签",
	contacts.OpUpdateTag: "更新标签", contacts.OpDelTagUsers: "移出标签成员", contacts.OpAddTagUsers: "加入标签成员",
	contacts.OpDeleteTag: "删除标签", contacts.OpDeleteUser: "删除成员", contacts.OpDeleteDepartment: "删除部门",
}

var opReasonLabels = map[string]string{
	"new": "新增", "changed": "有变化", "touched": "在企业微信中被改动，恢复", "gone": "在企业微信中被删除，重建",
	"left": "数据中心标记离开", "absent": "数据中心已无此记录", "adopted": "接管已有对象", "grace": "停用超过保留期",
}

func opKindLabel(k contacts.OpKind) string {
	if l, ok := opKindLabels[k]; ok {
		return l
	}
	return string(k)
}

func labelOr(m map[string]string, code string) string {
	if l, ok := m[code]; ok {
		return l
	}
	return code
}

// syncKinds lists a run's counts by kind in plan order.
func syncKinds(kinds map[string]int) []h5.AdminSyncKind {
	var out []h5.AdminSyncKind
	for _, k := range contacts.OpKinds {
		if n := kinds[string(k)]; n > 0 {
			out = append(out, h5.AdminSyncKind{Kind: string(k), Label: opKindLabel(k), Count: n})
		}
	}
	return out
}

func summaryKinds(s contacts.Summary) []h5.AdminSyncKind {
	m := map[string]int{}
	for _, k := range s.Kinds {
		m[string(k.Kind)] = k.Count
	}
	return syncKinds(m)
}

// durationText is a run's duration for people: 0.8 秒, 12 秒, 3 分 5 秒.
func durationText(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d < 100*time.Millisecond:
		return "不到 0.1 秒"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " 秒"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " 秒"
	case d < time.Hour:
		return fmt.Sprintf("%d 分 %d 秒", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d 小时 %d 分", int(d.Hours()), int(d.Minutes())%60)
}

func clockText(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).Local().Format("2006-01-02 15:04:05")
}

// runGuard is what sync_runs may keep of the guard beside the counts (a
// "guard" object); older records have none, and the page then counts the
// plan's disables and deletions itself.
type runGuard struct {
	Members          int     `json:"members"`
	MembersTotal     int     `json:"members_total"`
	Departments      int     `json:"departments"`
	DepartmentsTotal int     `json:"departments_total"`
	Share            float64 `json:"share"`
}

type runCounts struct {
	orgsync.Counts
	Guard *runGuard `json:"guard"`
}

// syncRow is a run as the history shows it, with its decoded counts.
func (s *server) syncRow(ctx context.Context, r store.SyncRun) (h5.AdminSyncRunRow, runCounts) {
	row := h5.AdminSyncRunRow{ID: r.ID, Started: clockText(r.StartedAt), Finished: clockText(r.FinishedAt), Trigger: r.Trigger,
		TriggerLabel: labelOr(syncTriggerLabels, r.Trigger), Actor: r.Actor, Status: r.Status, StatusLabel: labelOr(syncStatusLabels, r.Status),
		Summary: r.Summary, Href: "/admin/sync/" + strconv.FormatInt(r.ID, 10)}
	var c runCounts
	if r.Counts != "" && r.Counts != "{}" {
		if err := json.Unmarshal([]byte(r.Counts), &c); err != nil {
			// The row is still worth showing: its status and times.
			logctx.L(ctx, s.log).Warn("sync run counts unreadable", zap.Int64("run", r.ID), zap.Error(err))
		}
	}
	row.Ops, row.Kinds, row.Applied, row.Failed, row.Calls = c.Ops, syncKinds(c.Kinds), c.Applied, c.Failed, c.Calls
	if c.Batch != nil {
		row.BatchJobs = c.Batch.Jobs
	}
	switch {
	case r.FinishedAt > 0:
		row.Duration = durationText(time.Duration(r.FinishedAt-r.StartedAt) * time.Millisecond)
	case r.Status == store.SyncRunning:
		row.Duration = "已 " + durationText(s.Now().Sub(time.UnixMilli(r.StartedAt)))
	}
	return row, c
}

// syncStale is how old a running row must be to be taken for a run that
// died with its instance (its row stays running until the next run marks
// it interrupted): it no longer refreshes the pages.
const syncStale = 12 * time.Hour

// live says whether a running row may still be running.
func (s *server) live(r store.SyncRun) bool {
	return r.Status == store.SyncRunning && s.Now().Sub(time.UnixMilli(r.StartedAt)) < syncStale
}

// syncBusy says whether a run is going on in this process (here), or may
// be on another instance (a recent running row).
func (s *server) syncBusy(runs []store.SyncRun) (here, elsewhere bool) {
	here = s.Sync != nil && s.Sync.Busy()
	for _, r := range runs {
		if s.live(r) {
			elsewhere = !here
		}
	}
	return here, elsewhere
}

// auditSync records a console action on the sync (there is no change of
// ours to share a transaction with: the run keeps its own record).
func (s *server) auditSync(c *gin.Context, action, object string, after any) error {
	e, err := store.Audit(actor(c), action, object, nil, after, s.Now())
	if err != nil {
		return err
	}
	return s.DB.InsertAudit(c.Request.Context(), nil, e)
}

func (s *server) adminSync(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	return s.renderSync(c, http.StatusOK, nil)
}

func (s *server) renderSync(c *gin.Context, status int, dry *h5.AdminSyncDryRun) error {
	ctx := c.Request.Context()
	runs, err := s.DB.ListSyncRuns(ctx, nil, syncHistory)
	if err != nil {
		return err
	}
	v := h5.AdminSync{AdminPage: s.adminPage(c, "通讯录同步", "/admin/sync"), Configured: s.Sync != nil && s.Sync.CanApply(), DryRun: dry}
	for _, r := range runs {
		row, _ := s.syncRow(ctx, r)
		v.Runs = append(v.Runs, row)
	}
	// Just started: the run may not hold its lock yet.
	v.Busy, v.Elsewhere = s.syncBusy(runs)
	v.Busy = v.Busy || c.Query("started") != ""
	v.Running = v.Busy || v.Elsewhere
	if v.Running && dry == nil {
		v.Refresh = syncRefresh
	}
	return s.render(c, status, "admin_sync", v)
}

func guardView(g *contacts.GuardError) *h5.AdminSyncGuard {
	if g == nil {
		return nil
	}
	return &h5.AdminSyncGuard{Message: g.Error(), Members: g.Members, MembersTotal: g.MembersTotal, Departments: g.Departments,
		DepartmentsTotal: g.DepartmentsTotal, Share: strconv.FormatFloat(g.Share*100, 'f', -1, 64) + "%"}
}

// adminSyncDryRun plans a sync and shows what it would do and whether the
// guard would stop it; nothing is applied and no run is recorded.
func (s *server) adminSyncDryRun(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	if s.Sync == nil {
		return badRequest{"通讯录同步没有配置，不能试运行。"}
	}
	ctx := c.Request.Context()
	start := s.Now()
	res, err := s.Sync.Run(ctx, orgsync.RunOptions{DryRun: true, Trigger: orgsync.TriggerConsole, Actor: principal(c).UserID})
	var gs *orgsync.GuardStopped
	if err != nil && !errors.As(err, &gs) {
		return fmt.Errorf("handler: sync dry run: %w", err)
	}
	sum := res.Plan.Summary()
	dry := &h5.AdminSyncDryRun{Summary: sum.String(), Ops: sum.Ops, Kinds: summaryKinds(sum), TagUsersAdded: sum.TagUsersAdded,
		TagUsersRemoved: sum.TagUsersRemoved, Departments: len(res.Desired.Departments), Members: len(res.Desired.Members),
		Tags: len(res.Desired.Tags), Rules: res.Rules, Guard: guardView(res.Guard), Took: durationText(s.Now().Sub(start)),
		MirrorMembers: res.Plan.MirrorMembers, MirrorDepartment: res.Plan.MirrorDepartments}
	for i, p := range res.Problems {
		if i == 50 {
			dry.ProblemsMore = len(res.Problems) - i
			break
		}
		dry.Problems = append(dry.Problems, p.String())
	}
	after := map[string]any{"plan": dry.Summary, "problems": len(res.Problems), "guard": ""}
	if res.Guard != nil {
		after["guard"] = res.Guard.Error()
	}
	if err := s.auditSync(c, "contacts.sync.dry_run", "sync", after); err != nil {
		return err
	}
	return s.renderSync(c, http.StatusOK, dry)
}

// adminSyncRun starts a run in the background; the history shows it.
func (s *server) adminSyncRun(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	if s.Sync == nil || !s.Sync.CanApply() {
		return badRequest{"通讯录同步没有配置（需要通讯录同步 Secret），不能从这里运行。"}
	}
	return s.startSync(c, orgsync.RunOptions{Trigger: orgsync.TriggerConsole, Actor: principal(c).UserID}, "contacts.sync.run", "sync", nil,
		"/admin/sync", "同步已开始，完成后这里会显示结果。")
}

// startSync starts a run and audits the press, with its outcome (a run
// refused because one is going on is audited too: the press happened).
func (s *server) startSync(c *gin.Context, ro orgsync.RunOptions, action, object string, extra map[string]any, back, msg string) error {
	err := s.Sync.Go(ro)
	after := map[string]any{"result": "started", "confirm": ro.Confirm}
	for k, v := range extra {
		after[k] = v
	}
	if errors.Is(err, orgsync.ErrBusy) {
		after["result"] = "busy"
	} else if err != nil {
		return fmt.Errorf("handler: start a sync: %w", err)
	}
	if aerr := s.auditSync(c, action, object, after); aerr != nil {
		return aerr
	}
	if err != nil {
		c.Redirect(http.StatusSeeOther, back+"?error="+url.QueryEscape("已有同步在运行，请等它结束后再试。"))
		return nil
	}
	return saved(c, "/admin/sync?started=1", msg)
}

func runID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, store.ErrNotFound
	}
	return id, nil
}

func (s *server) adminSyncRunPage(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	return s.renderSyncRun(c, http.StatusOK, "")
}

// newestGuard says whether run id is the newest run and was stopped by the
// guard: only that one may be confirmed (a later run planned again).
func (s *server) newestGuard(ctx context.Context, r store.SyncRun) (bool, error) {
	if r.Status != store.SyncGuard {
		return false, nil
	}
	last, err := s.DB.LastSyncRun(ctx, nil)
	if err != nil {
		return false, err
	}
	return last.ID == r.ID, nil
}

func (s *server) renderSyncRun(c *gin.Context, status int, confirmErr string) error {
	ctx := c.Request.Context()
	id, err := runID(c)
	if err != nil {
		return err
	}
	r, err := s.DB.GetSyncRun(ctx, nil, id)
	if err != nil {
		return err
	}
	row, counts := s.syncRow(ctx, r)
	v := h5.AdminSyncRun{AdminPage: s.adminPage(c, fmt.Sprintf("同步记录 #%d", r.ID), "/admin/sync"), Configured: s.Sync != nil && s.Sync.CanApply(), Run: row,
		Skipped: counts.Skipped, Adopted: counts.Adopted, Problems: counts.Problems, Drift: counts.Drift, ConfirmError: confirmErr}
	v.Running = r.Status == store.SyncRunning
	if s.live(r) {
		v.Refresh = syncRefresh
	}
	if b := counts.Batch; b != nil {
		v.Batch = &h5.AdminSyncBatch{Jobs: b.Jobs, Calls: b.Calls, Departments: b.Departments, Members: b.Members,
			DepartmentsFailed: b.DepartmentsFailed, MembersFailed: b.MembersFailed, Notes: b.Notes}
	}
	for name, sum := range counts.Steps {
		v.Steps = append(v.Steps, h5.AdminSyncStep{Name: name, Summary: sum})
	}
	slices.SortFunc(v.Steps, func(a, b h5.AdminSyncStep) int { return strings.Compare(a.Name, b.Name) })
	var fs []orgsync.FailureRecord
	if r.Failures != "" {
		if err := json.Unmarshal([]byte(r.Failures), &fs); err != nil {
			logctx.L(ctx, s.log).Warn("sync run failures unreadable", zap.Int64("run", r.ID), zap.Error(err))
		}
	}
	for _, f := range fs {
		v.Failures = append(v.Failures, h5.AdminSyncFailure{Index: f.Index, Kind: string(f.Kind), KindLabel: opKindLabel(f.Kind), Object: f.Object,
			Code: f.Code, Message: f.Message, Advice: f.Advice})
	}

	kind := contacts.OpKind(c.Query("kind"))
	if _, ok := opKindLabels[kind]; !ok {
		kind = ""
	}
	gz, err := s.DB.SyncRunPlan(ctx, nil, id)
	if err != nil {
		return err
	}
	if len(gz) > 0 {
		v.HasPlan, v.PlanHref = true, v.Run.Href+"/plan.jsonl.gz"
		head, ops, total, err := readPlan(gz, syncPlanOps, kind)
		if err != nil {
			logctx.L(ctx, s.log).Warn("sync run plan unreadable", zap.Int64("run", r.ID), zap.Error(err))
			v.PlanError = "保存的计划读不出来：" + err.Error()
		}
		v.PlanNotes, v.OpsTotal = head.Notes, total
		v.TagUsersAdded, v.TagUsersDel = head.Summary.TagUsersAdded, head.Summary.TagUsersRemoved
		for _, op := range ops {
			v.Ops = append(v.Ops, h5.AdminSyncOp{Index: op.Index, Kind: string(op.Kind), KindLabel: opKindLabel(op.Kind),
				Object: orgsync.OpObject(op), Reason: labelOr(opReasonLabels, op.Reason)})
		}
	}
	v.OpsKind = string(kind)

	if r.Status == store.SyncGuard {
		g := &h5.AdminSyncGuard{}
		if cg := counts.Guard; cg != nil {
			g.Members, g.MembersTotal, g.Departments, g.DepartmentsTotal = cg.Members, cg.MembersTotal, cg.Departments, cg.DepartmentsTotal
			g.Share = strconv.FormatFloat(cg.Share*100, 'f', -1, 64) + "%"
		} else {
			// What the guard counts: the members the plan disables or
			// deletes and the departments it deletes.
			g.Members = counts.Kinds[string(contacts.OpDisableUser)] + counts.Kinds[string(contacts.OpDeleteUser)]
			g.Departments = counts.Kinds[string(contacts.OpDeleteDepartment)]
		}
		v.Guard = g
		if v.Confirmable, err = s.newestGuard(ctx, r); err != nil {
			return err
		}
		v.Confirmable = v.Confirmable && s.Sync != nil
	}
	return s.render(c, status, "admin_sync_run", v)
}

// planHead is the first line of a kept plan (Plan.WriteJSON).
type planHead struct {
	Summary contacts.Summary `json:"summary"`
	Notes   []string         `json:"notes"`
}

// readPlan reads a kept plan (gzip'd Plan.WriteJSON: one JSON document,
// an op a line) as a stream: its head, its first max ops (of kind, when
// set) and how many ops (of kind) it has, without holding the whole plan.
func readPlan(gz []byte, max int, kind contacts.OpKind) (planHead, []contacts.Op, int, error) {
	var head planHead
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return head, nil, 0, fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	dec := json.NewDecoder(zr)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return head, nil, 0, fmt.Errorf("not a plan: %v", err)
	}
	var ops []contacts.Op
	total := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return head, ops, total, err
		}
		switch t {
		case "summary":
			err = dec.Decode(&head.Summary)
		case "notes":
			err = dec.Decode(&head.Notes)
		case "ops":
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return head, ops, total, fmt.Errorf("ops are not a list: %v", err)
			}
			for dec.More() {
				var op contacts.Op
				if err := dec.Decode(&op); err != nil {
					return head, ops, total, fmt.Errorf("op %d: %w", total, err)
				}
				if kind != "" && op.Kind != kind {
					continue
				}
				total++
				if len(ops) < max {
					ops = append(ops, op)
				}
			}
			_, err = dec.Token() // ]
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return head, ops, total, err
		}
	}
	return head, ops, total, nil
}

// adminSyncPlan sends a run's plan as kept: gzip'd JSON lines, mobiles and
// emails masked. The download is audited: the plan names people.
func (s *server) adminSyncPlan(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	id, err := runID(c)
	if err != nil {
		return err
	}
	gz, err := s.DB.SyncRunPlan(c.Request.Context(), nil, id)
	if err != nil {
		return err
	}
	if len(gz) == 0 {
		return store.ErrNotFound
	}
	object := "sync_run " + strconv.FormatInt(id, 10)
	if err := s.auditSync(c, "contacts.sync.plan_download", object, map[string]any{"bytes": len(gz)}); err != nil {
		return err
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="sync-run-%d-plan.jsonl.gz"`, id))
	c.Header("Cache-Control", "private, no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "application/gzip", gz)
	return nil
}

// adminSyncConfirm runs again, past the guard, a plan the guard stopped.
// Only the newest run may be confirmed, after the admin ticked that they
// checked the members to be disabled or deleted, and only if the plan is
// still the one they checked: the run plans again, and a data center that
// changed since makes another plan.
func (s *server) adminSyncConfirm(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	if s.Sync == nil || !s.Sync.CanApply() {
		return badRequest{"通讯录同步没有配置（需要通讯录同步 Secret），不能从这里运行。"}
	}
	ctx := c.Request.Context()
	id, err := runID(c)
	if err != nil {
		return err
	}
	r, err := s.DB.GetSyncRun(ctx, nil, id)
	if err != nil {
		return err
	}
	if c.PostForm("checked") == "" {
		return s.renderSyncRun(c, http.StatusBadRequest, "请先核对将被停用或删除的成员和部门，勾选「我已核对将被停用/删除的成员」后再确认。")
	}
	newest, err := s.newestGuard(ctx, r)
	if err != nil {
		return err
	}
	if !newest {
		return s.renderSyncRun(c, http.StatusConflict, "这次运行不是被安全阀拦下的最新一次运行，不能确认。请在同步记录中查看最新一次。")
	}
	res, err := s.Sync.Run(ctx, orgsync.RunOptions{DryRun: true, Trigger: orgsync.TriggerConsole, Actor: principal(c).UserID})
	var gs *orgsync.GuardStopped
	if err != nil && !errors.As(err, &gs) {
		return fmt.Errorf("handler: sync confirm: plan again: %w", err)
	}
	if now := res.Plan.Summary().String(); now != r.Summary {
		return s.renderSyncRun(c, http.StatusConflict, fmt.Sprintf("数据已经变化：现在的计划是「%s」，和这次运行核对过的「%s」不同。请点「立即同步」生成新的计划，核对后再确认。", now, r.Summary))
	}
	return s.startSync(c, orgsync.RunOptions{Confirm: true, Trigger: orgsync.TriggerConsole, Actor: principal(c).UserID},
		"contacts.sync.confirm_request", "sync_run "+strconv.FormatInt(id, 10), map[string]any{"plan": r.Summary},
		"/admin/sync/"+strconv.FormatInt(id, 10), "已确认，同步已开始：安全阀拦下的计划现在执行。")
}

// ---- tag rules ----

// thousands writes n with a comma every three digits (3,000).
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (s *server) tagMirror() (*contacts.Mirror, error) {
	return contacts.New(s.DB, contacts.Options{Logger: s.log, Clock: s.Now})
}

func tagRuleView(r contacts.TagRule) h5.AdminTagRule {
	v := h5.AdminTagRule{Name: r.Name, Rule: r.Rule, Enabled: r.Enabled}
	if !r.UpdatedAt.IsZero() {
		v.Updated = r.UpdatedAt.Local().Format("2006-01-02 15:04")
	}
	return v
}

func (s *server) adminTagRules(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	return s.renderTagRules(c, http.StatusOK, tagRulesForm{})
}

// tagRulesForm is what the tag rules page shows besides the list.
type tagRulesForm struct {
	edit     *h5.AdminTagRule
	original string
	fe       map[string]string
	preview  *h5.AdminTagPreview
}

func (s *server) renderTagRules(c *gin.Context, status int, f tagRulesForm) error {
	m, err := s.tagMirror()
	if err != nil {
		return err
	}
	rules, err := m.TagRules(c.Request.Context(), nil)
	if err != nil {
		return err
	}
	v := h5.AdminTagRules{AdminPage: s.adminPage(c, "标签规则", "/admin/tagrules"), Query: strings.TrimSpace(c.Query("q")),
		Tags: len(rules), MaxTags: contacts.MaxCorpTags, WarnAt: int(contacts.CorpTagsWarn * contacts.MaxCorpTags),
		Edit: f.edit, Original: f.original, FieldError: f.fe, Preview: f.preview}
	v.Warn, v.Over = v.Tags >= v.WarnAt, v.Tags > v.MaxTags
	v.TagsText, v.MaxTagsText = thousands(v.Tags), thousands(v.MaxTags)
	q := strings.ToLower(v.Query)
	for _, r := range rules {
		rv := tagRuleView(r)
		if q == "" || strings.Contains(strings.ToLower(r.Name), q) {
			// A university has thousands: the page lists the first, the
			// search finds the others.
			if v.Matched++; len(v.Rules) < tagRulesShown {
				v.Rules = append(v.Rules, rv)
			}
		}
		if f.edit == nil && c.Query("edit") == r.Name {
			v.Edit, v.Original = &rv, r.Name
		}
		if f.edit == nil && c.Query("delete") == r.Name {
			v.Delete = &rv
		}
	}
	if f.edit == nil && c.Query("edit") == "new" {
		v.Edit = &h5.AdminTagRule{Enabled: true}
	}
	return s.render(c, status, "admin_tagrules", v)
}

// tagRuleForm reads the form and checks it; the messages are by field
// (name, rule).
func tagRuleForm(c *gin.Context) (contacts.TagRule, string, map[string]string) {
	r := contacts.TagRule{Name: c.PostForm("name"), Rule: strings.TrimSpace(c.PostForm("rule")), Kind: contacts.TagKindUser,
		Enabled: c.PostForm("enabled") != ""}
	original := c.PostForm("original")
	fe := map[string]string{}
	name := strings.TrimSpace(r.Name)
	switch {
	case name == "":
		fe["name"] = "标签名不能为空"
	case name != r.Name:
		fe["name"] = "标签名前后不能有空格"
	case utf8.RuneCountInString(name) > contacts.MaxTagName:
		fe["name"] = fmt.Sprintf("标签名最多 %d 个字（企业微信的限制），现在是 %d 个", contacts.MaxTagName, utf8.RuneCountInString(name))
	case strings.ContainsFunc(name, func(c rune) bool { return c < ' ' || c == 0x7f }):
		fe["name"] = "标签名不能含控制字符"
	}
	if r.Rule == "" {
		fe["rule"] = `规则不能为空，例如 kind == "student" && grade == 2024`
	}
	if len(fe) == 0 {
		if err := contacts.ValidateTagRule(r); err != nil {
			// The name is checked above: what is left is the expression.
			msg := err.Error()
			if i := strings.Index(msg, fmt.Sprintf("%q: ", r.Name)); i >= 0 {
				msg = msg[i+len(fmt.Sprintf("%q: ", r.Name)):]
			}
			fe["rule"] = "规则有误：" + msg
		}
	}
	if len(fe) == 0 {
		fe = nil
	}
	return r, original, fe
}

func (s *server) adminSaveTagRule(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	ctx := c.Request.Context()
	r, original, fe := tagRuleForm(c)
	edit := tagRuleView(r)
	if fe != nil {
		return s.renderTagRules(c, http.StatusBadRequest, tagRulesForm{edit: &edit, original: original, fe: fe})
	}
	m, err := s.tagMirror()
	if err != nil {
		return err
	}
	err = s.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		rules, err := m.TagRules(ctx, tx)
		if err != nil {
			return err
		}
		var before *contacts.TagRule
		for i := range rules {
			switch rules[i].Name {
			case original:
				before = &rules[i]
			case r.Name:
				return tagRuleConflict{"已有同名的标签规则 " + r.Name + "：请改名，或去编辑那一条"}
			}
		}
		if original != "" && before == nil {
			return store.ErrNotFound
		}
		if before == nil && len(rules) >= contacts.MaxCorpTags {
			return tagRuleConflict{fmt.Sprintf("已有 %d 条标签规则，达到企业微信每个企业 %d 个标签的上限：请先停用并删除不用的规则", len(rules), contacts.MaxCorpTags)}
		}
		if before != nil && before.Name != r.Name {
			// A rename: the rule's key is its name. The next sync deletes
			// the old tag and creates the new one.
			if _, err := m.DeleteTagRule(ctx, tx, before.Name); err != nil {
				return err
			}
		}
		if err := m.PutTagRule(ctx, tx, r); err != nil {
			return err
		}
		action := "contacts.tagrule.create"
		var b any
		if before != nil {
			action, b = "contacts.tagrule.update", tagRuleAudit(*before)
		}
		return s.auditTx(c, tx, action, "tag_rule "+r.Name, b, tagRuleAudit(r), s.Now())
	})
	var tc tagRuleConflict
	if errors.As(err, &tc) {
		return s.renderTagRules(c, http.StatusBadRequest, tagRulesForm{edit: &edit, original: original, fe: map[string]string{"name": tc.msg}})
	}
	if err != nil {
		return err
	}
	msg := "已保存标签规则 " + r.Name + "，下次同步时生效。"
	if original != "" && original != r.Name {
		msg = "已把标签规则 " + original + " 改名为 " + r.Name + "：下次同步时删除标签 " + original + " 并新建标签 " + r.Name + "。"
	}
	return saved(c, "/admin/tagrules", msg)
}

type tagRuleConflict struct{ msg string }

func (e tagRuleConflict) Error() string { return "handler: tag rule: " + e.msg }

func tagRuleAudit(r contacts.TagRule) map[string]any {
	return map[string]any{"name": r.Name, "rule": r.Rule, "enabled": r.Enabled}
}

// adminPreviewTagRule shows how many members the rule in the form matches
// now in the data center, and the first of them; nothing is saved.
func (s *server) adminPreviewTagRule(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	ctx := c.Request.Context()
	r, original, fe := tagRuleForm(c)
	edit := tagRuleView(r)
	if fe != nil {
		return s.renderTagRules(c, http.StatusBadRequest, tagRulesForm{edit: &edit, original: original, fe: fe})
	}
	dc, err := s.DB.ReadDataCenter(ctx)
	if err != nil {
		return err
	}
	// The rule alone, enabled (a disabled rule's tag is held, not built).
	one := r
	one.Enabled = true
	desired, problems := contacts.BuildDesired(dc, []contacts.TagRule{one}, contacts.DesiredOptions{})
	p := &h5.AdminTagPreview{Name: r.Name}
	for _, t := range desired.Tags {
		if t.Name == r.Name {
			p.Count = len(t.Users)
			users := t.Users
			if len(users) > tagPreviewMembers {
				users = users[:tagPreviewMembers]
			}
			p.Members = previewMembers(desired, users)
		}
	}
	for _, pr := range problems {
		if strings.HasPrefix(pr.Object, "tag") {
			p.Problems = append(p.Problems, pr.String())
		}
	}
	return s.renderTagRules(c, http.StatusOK, tagRulesForm{edit: &edit, original: original, preview: p})
}

// previewMembers names the members of users, with their main department.
func previewMembers(d contacts.Desired, users []string) []h5.AdminTagMember {
	depts := map[int64]string{}
	for _, dp := range d.Departments {
		depts[dp.ID] = dp.Name
	}
	byID := map[string]contacts.Member{}
	for _, m := range d.Members {
		byID[m.UserID] = m
	}
	out := make([]h5.AdminTagMember, 0, len(users))
	for _, u := range users {
		m := byID[u]
		tm := h5.AdminTagMember{UserID: u, Name: m.Name}
		if m.MainDepartment != 0 {
			tm.Dept = depts[m.MainDepartment]
		} else if len(m.Departments) > 0 {
			tm.Dept = depts[m.Departments[0].Department]
		}
		out = append(out, tm)
	}
	return out
}

// adminDeleteTagRule deletes a rule once confirmed (confirm=1); without
// the confirmation it asks for it.
func (s *server) adminDeleteTagRule(c *gin.Context) error {
	if err := s.may(c, auth.PermContacts); err != nil {
		return err
	}
	ctx := c.Request.Context()
	name := c.PostForm("name")
	if c.PostForm("confirm") == "" {
		c.Redirect(http.StatusSeeOther, "/admin/tagrules?delete="+url.QueryEscape(name))
		return nil
	}
	m, err := s.tagMirror()
	if err != nil {
		return err
	}
	err = s.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		rules, err := m.TagRules(ctx, tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(rules, func(r contacts.TagRule) bool { return r.Name == name })
		if i < 0 {
			return store.ErrNotFound
		}
		if _, err := m.DeleteTagRule(ctx, tx, name); err != nil {
			return err
		}
		return s.auditTx(c, tx, "contacts.tagrule.delete", "tag_rule "+name, tagRuleAudit(rules[i]), nil, s.Now())
	})
	if err != nil {
		return err
	}
	return saved(c, "/admin/tagrules", "已删除标签规则 "+name+"：下次同步时会删除企业微信里的标签 "+name+"。")
}
