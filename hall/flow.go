package hall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/store"
)

// Task origins (store.HallTask.Origin): only tasks opened for a step's
// resolved approvers follow org changes (ReResolve); a person an approver
// handed the task to stays.
const (
	originResolved  = "resolved"
	originTransfer  = "transfer"
	originAdded     = "added"
	originReassign  = "reassign"
	originReResolve = "reresolve"
)

// defaultRemindHours is a step's reminder interval when it names none.
const defaultRemindHours = 24

// compiledProcess is one published version, compiled.
type compiledProcess struct {
	p    *def.Process
	c    *def.Compiled
	info store.HallProcess
}

func (e *Engine) publish(ctx context.Context, p *def.Process, by string, actor *store.Actor) (int, []def.Problem, error) {
	if p == nil {
		return 0, nil, errors.New("hall: publish: no process")
	}
	if probs := def.Validate(p, e.res.Bind(ctx)); len(probs) > 0 {
		return 0, probs, nil
	}
	cp := *p
	cp.Version = 0
	b, err := json.Marshal(&cp)
	if err != nil {
		return 0, nil, fmt.Errorf("hall: publish %s: %w", p.Key, err)
	}
	now := e.now()
	var audit func(v int) (store.AuditEntry, error)
	if actor != nil {
		var before any
		if prev, err := e.db.GetHallProcess(ctx, p.Key, 0); err == nil {
			before = map[string]any{"version": prev.Version, "definition": json.RawMessage(prev.Definition)}
		} else if !errors.Is(err, store.ErrNotFound) {
			return 0, nil, fmt.Errorf("hall: publish %s: %w", p.Key, err)
		}
		audit = func(v int) (store.AuditEntry, error) {
			return store.Audit(*actor, "hall.process.publish", "hall_process/"+p.Key, before, map[string]any{"version": v, "definition": json.RawMessage(b)}, now)
		}
	}
	v, err := e.db.PublishHallProcess(ctx, store.HallProcess{Key: p.Key, Owner: p.Owner, Name: p.Name, Definition: string(b),
		PublishedBy: by, PublishedAt: store.Millis(now)}, audit)
	if err != nil {
		return 0, nil, fmt.Errorf("hall: publish %s: %w", p.Key, err)
	}
	e.log.Info("hall process published", zap.String("process", p.Key), zap.Int("version", v), zap.String("by", by))
	return v, nil, nil
}

func (e *Engine) processes(ctx context.Context) ([]ProcessInfo, error) {
	rows, err := e.db.LatestHallProcesses(ctx)
	if err != nil {
		return nil, fmt.Errorf("hall: processes: %w", err)
	}
	out := make([]ProcessInfo, 0, len(rows))
	for _, r := range rows {
		cp, err := e.compile(r)
		if err != nil {
			e.log.Error("hall process does not load", zap.String("process", r.Key), zap.Int("version", r.Version), zap.Error(err))
			continue
		}
		out = append(out, ProcessInfo{Key: r.Key, Version: r.Version, Name: r.Name, Owner: r.Owner, Description: cp.p.Description,
			Audience: cp.p.Audience, PublishedBy: r.PublishedBy, PublishedAt: store.Time(r.PublishedAt)})
	}
	return out, nil
}

func (e *Engine) process(ctx context.Context, key string, version int) (*def.Process, error) {
	cp, err := e.load(ctx, key, version)
	if err != nil {
		return nil, err
	}
	return clone(cp.p), nil
}

// clone is a deep copy of a compiled process's definition: callers (the
// designer) may change what they get without changing the version kept.
func clone(p *def.Process) *def.Process {
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("hall: a stored definition does not marshal: %v", err))
	}
	var out def.Process
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("hall: a stored definition does not unmarshal: %v", err))
	}
	out.Version = p.Version
	return &out
}

// load reads and compiles version of key (0: the latest); versions are
// immutable, so compiled ones are kept.
func (e *Engine) load(ctx context.Context, key string, version int) (*compiledProcess, error) {
	if version > 0 {
		e.mu.Lock()
		cp := e.compiled[fmt.Sprintf("%s@%d", key, version)]
		e.mu.Unlock()
		if cp != nil {
			return cp, nil
		}
	}
	r, err := e.db.GetHallProcess(ctx, key, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("hall: process %s v%d: %w", key, version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("hall: process %s: %w", key, err)
	}
	return e.compile(r)
}

func (e *Engine) compile(r store.HallProcess) (*compiledProcess, error) {
	name := fmt.Sprintf("%s@%d", r.Key, r.Version)
	e.mu.Lock()
	cp := e.compiled[name]
	e.mu.Unlock()
	if cp != nil {
		return cp, nil
	}
	var p def.Process
	if err := json.Unmarshal([]byte(r.Definition), &p); err != nil {
		return nil, fmt.Errorf("hall: process %s: %w", name, err)
	}
	p.Version = r.Version
	c, probs := def.Compile(&p)
	if len(probs) > 0 {
		return nil, fmt.Errorf("hall: process %s does not compile: %s: %s", name, probs[0].Where, probs[0].Problem)
	}
	cp = &compiledProcess{p: &p, c: c, info: r}
	e.mu.Lock()
	e.compiled[name] = cp
	e.mu.Unlock()
	return cp, nil
}

// allowed says whether a may apply for p.
func allowed(p *def.Process, a def.Applicant) bool {
	switch p.Audience {
	case def.Students:
		return a.Kind == "student"
	case def.Faculty:
		return a.Kind == "faculty"
	case def.Members:
		return a.UserID != "" && (a.Kind == "student" || a.Kind == "faculty")
	case def.OffCampus:
		return a.UserID != "" || a.Mobile != ""
	}
	return false
}

func (e *Engine) parse(ctx context.Context, p *def.Process, a def.Applicant, appID int64, raw url.Values) (def.Values, def.FieldErrors, error) {
	usable, err := e.usableAttachments(ctx, p, a, appID, raw)
	if err != nil {
		return nil, nil, err
	}
	v, fe := p.ParseForm(raw, def.ParseOptions{Now: e.now(), Attachments: usable, Members: func(userid string) bool {
		ids, err := e.db.HallActiveMembers(ctx, []string{userid})
		return err == nil && len(ids) == 1
	}})
	return v, fe, nil
}

// applicantJSON is the applicant as stored: without the mobile, which is
// sealed in its own column.
func applicantJSON(a def.Applicant) (string, error) {
	a.Mobile = ""
	b, err := json.Marshal(a)
	return string(b), err
}

func (e *Engine) apply(ctx context.Context, a def.Applicant, key string, raw url.Values) (int64, def.FieldErrors, error) {
	cp, err := e.load(ctx, key, 0)
	if err != nil {
		return 0, nil, err
	}
	if a.UserID == "" && a.Mobile != "" {
		a.Kind = "offcampus"
	}
	if !allowed(cp.p, a) {
		return 0, nil, fmt.Errorf("hall: %s applying for %s: %w", who(a), key, ErrAudience)
	}
	values, ferrs, err := e.parse(ctx, cp.p, a, 0, raw)
	if err != nil {
		return 0, nil, err
	}
	if len(ferrs) > 0 {
		return 0, ferrs, nil
	}
	env := def.Env{Form: values, Applicant: a}
	if err := e.checkPath(ctx, cp, env); err != nil {
		return 0, nil, err
	}
	first, _, err := cp.c.NextStep("", env)
	if err != nil {
		return 0, nil, fmt.Errorf("hall: %s: %w", key, err)
	}
	vb, err := json.Marshal(values)
	if err != nil {
		return 0, nil, fmt.Errorf("hall: %s: values: %w", key, err)
	}
	aj, err := applicantJSON(a)
	if err != nil {
		return 0, nil, fmt.Errorf("hall: %s: applicant: %w", key, err)
	}
	now := e.now()
	var id int64
	var opened []int64
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = e.db.InsertHallApplication(ctx, tx, store.HallApplication{ProcessKey: key, Version: cp.info.Version,
			ApplicantUserID: a.UserID, ApplicantMobile: a.Mobile, ApplicantName: a.Name, ApplicantKind: a.Kind, Applicant: aj,
			Values: vb, State: StateSubmitted, StepID: first, Round: 1, CreatedAt: store.Millis(now)})
		if err != nil {
			return err
		}
		if err := e.trail(ctx, tx, id, 0, actorOf(a), ActSubmit, "", now); err != nil {
			return err
		}
		if _, err := e.db.LinkHallAttachments(ctx, tx, id, owner(Viewer{UserID: a.UserID, Mobile: a.Mobile}), attachmentTokens(cp.p, values)); err != nil {
			return err
		}
		opened, err = e.openStep(ctx, tx, cp, id, 1, a, first, now)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("hall: apply for %s by %s: %w", key, who(a), err)
	}
	e.log.Info("hall application submitted", zap.Int64("application", id), zap.String("process", key), zap.Int("tasks", len(opened)))
	e.afterChange(ctx, id, opened, nil)
	return id, nil, nil
}

// checkPath refuses an application whose path, as the org is now, has a
// step nobody would approve: better said at once than found stuck later.
func (e *Engine) checkPath(ctx context.Context, cp *compiledProcess, env def.Env) error {
	path, err := cp.c.Path(env, e.res.Bind(ctx))
	if err != nil {
		return fmt.Errorf("hall: path of %s: %w", cp.p.Key, err)
	}
	for _, ps := range path {
		if len(ps.Approvers) == 0 {
			return fmt.Errorf("hall: %s step %s (%s): %w", cp.p.Key, ps.Step.ID, ps.Step.Name, ErrNoApprover)
		}
	}
	return nil
}

// approvers resolves step's approvers for a, in order, without duplicates.
func (e *Engine) approvers(ctx context.Context, a def.Applicant, srcs []def.Approver) ([]string, error) {
	var out []string
	for _, src := range srcs {
		ids, err := e.res.ResolveContext(ctx, a, src)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// openStep opens step's tasks for application id in round: one per
// approver, all open (any-of, all-of) or the first open and the others
// waiting their turn (sequential). It answers the opened tasks.
func (e *Engine) openStep(ctx context.Context, tx *sqlx.Tx, cp *compiledProcess, id int64, round int, a def.Applicant, stepID string, now time.Time) ([]int64, error) {
	st, ok := cp.c.Step(stepID)
	if !ok {
		return nil, fmt.Errorf("process %s has no step %q", cp.p.Key, stepID)
	}
	people, err := e.approvers(ctx, a, st.Approvers)
	if err != nil {
		return nil, err
	}
	if len(people) == 0 {
		return nil, fmt.Errorf("step %s (%s): %w", st.ID, st.Name, ErrNoApprover)
	}
	due, remind := e.clock(ctx, st, a, now)
	var opened []int64
	for i, u := range people {
		t := store.HallTask{ApplicationID: id, Round: round, StepID: st.ID, Seq: i, Assignee: u, Origin: originResolved, State: store.HallTaskOpen,
			OpenedAt: store.Millis(now), DueAt: due, NextRemindAt: remind}
		if st.Mode == def.Sequential && i > 0 {
			t.State, t.OpenedAt, t.DueAt, t.NextRemindAt = store.HallTaskWaiting, 0, 0, 0
		}
		tid, err := e.db.InsertHallTask(ctx, tx, t)
		if err != nil {
			return nil, err
		}
		if t.State == store.HallTaskOpen {
			opened = append(opened, tid)
		}
	}
	if err := e.db.SetHallApplicationStep(ctx, tx, id, st.ID, store.Millis(now)); err != nil {
		return nil, err
	}
	return opened, nil
}

// clock is a task's due time (0: none) and first reminder, opened at now.
func (e *Engine) clock(ctx context.Context, st def.Step, a def.Applicant, now time.Time) (due, remind int64) {
	wd := e.workingDays(ctx, a.Kind)
	if st.LimitDays > 0 {
		due = store.Millis(wd.after(now, st.LimitDays))
	}
	return due, store.Millis(wd.nextRemind(now, remindEvery(st)))
}

func remindEvery(st def.Step) time.Duration {
	h := st.RemindHours
	if h <= 0 {
		h = defaultRemindHours
	}
	return time.Duration(h) * time.Hour
}

// workdays counts working days for an applicant kind's audience.
type workdays struct {
	cal *calendar.Calendar
	aud calendar.Audience
}

func (e *Engine) workingDays(ctx context.Context, kind string) workdays {
	w := workdays{aud: calendar.All}
	if kind == "student" {
		w.aud = calendar.Students
	}
	w.cal = e.cal(ctx)
	return w
}

// calTTL is how long a loaded calendar is used: a Tick with many due
// tasks reads it once, and a console edit shows within a minute.
const calTTL = time.Minute

func (e *Engine) cal(ctx context.Context) *calendar.Calendar {
	if e.calendar == nil {
		return nil
	}
	e.mu.Lock()
	c, at := e.calCache, e.calAt
	e.mu.Unlock()
	if c != nil && time.Since(at) < calTTL {
		return c
	}
	c, err := e.calendar(ctx)
	if err != nil {
		e.log.Warn("hall: no calendar, counting Monday to Friday", zap.Error(err))
		return nil
	}
	e.mu.Lock()
	e.calCache, e.calAt = c, time.Now()
	e.mu.Unlock()
	return c
}

func (w workdays) working(t time.Time) bool {
	if w.cal == nil {
		d := t.In(calendar.Zone).Weekday()
		return d != time.Saturday && d != time.Sunday
	}
	return w.cal.DayFor(t, w.aud).Working()
}

// after is days working days after from, at from's time of day: the days
// that are not working days (weekends, public holidays, vacations of the
// audience) are skipped.
func (w workdays) after(from time.Time, days int) time.Time {
	t := from.In(calendar.Zone)
	for n := 0; n < days; {
		t = t.AddDate(0, 0, 1)
		if w.working(t) {
			n++
		}
	}
	return t
}

// nextRemind is every after t, moved on by whole days past days that are
// not working days (nobody is reminded on a holiday).
func (w workdays) nextRemind(t time.Time, every time.Duration) time.Time {
	n := t.Add(every).In(calendar.Zone)
	for i := 0; i < 60 && !w.working(n); i++ {
		n = n.AddDate(0, 0, 1)
	}
	return n
}

// WorkingDays answers the due-date function an applicant kind's tasks
// use (student: the students' calendar, else everyone's), for the
// designer's simulator.
func (e *Engine) WorkingDays(ctx context.Context, kind string) def.WorkingDays {
	return e.workingDays(ctx, kind).after
}

func (e *Engine) trail(ctx context.Context, q sqlx.ExtContext, appID, taskID int64, actor, action, comment string, at time.Time) error {
	return e.db.InsertHallAction(ctx, q, store.HallAction{ApplicationID: appID, TaskID: taskID, Actor: actor, Action: action, Comment: comment, At: store.Millis(at)})
}

// actorOf names an applicant in the trail: the userid, or "mobile:"
// and the masked number for an off-campus applicant.
func actorOf(a def.Applicant) string {
	if a.UserID != "" {
		return a.UserID
	}
	return "offcampus"
}

func who(a def.Applicant) string {
	if a.UserID != "" {
		return a.UserID
	}
	return "an off-campus applicant"
}

// stored is an application as the engine works with it.
type stored struct {
	row       store.HallApplication
	cp        *compiledProcess
	applicant def.Applicant
	values    def.Values
}

func (e *Engine) loadApp(ctx context.Context, q sqlx.ExtContext, id int64) (*stored, error) {
	row, err := e.db.GetHallApplication(ctx, q, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("hall: application %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("hall: application %d: %w", id, err)
	}
	cp, err := e.load(ctx, row.ProcessKey, row.Version)
	if err != nil {
		return nil, err
	}
	s := &stored{row: row, cp: cp}
	if err := json.Unmarshal([]byte(row.Applicant), &s.applicant); err != nil {
		return nil, fmt.Errorf("hall: application %d: applicant: %w", id, err)
	}
	s.applicant.Mobile = row.ApplicantMobile
	if s.values, err = cp.p.DecodeValues(row.Values); err != nil {
		return nil, fmt.Errorf("hall: application %d: %w", id, err)
	}
	return s, nil
}

// isApplicant says whether v is s's applicant.
func (s *stored) isApplicant(v Viewer) bool {
	if s.row.ApplicantUserID != "" {
		return v.UserID == s.row.ApplicantUserID
	}
	return v.Mobile != "" && samePhone(v.Mobile, s.row.ApplicantMobile)
}

func samePhone(a, b string) bool {
	return store.NormalizeForHash(store.HashPhone, a) == store.NormalizeForHash(store.HashPhone, b)
}

func (e *Engine) resubmit(ctx context.Context, appID int64, a def.Applicant, raw url.Values) (def.FieldErrors, error) {
	s, err := e.loadApp(ctx, nil, appID)
	if err != nil {
		return nil, err
	}
	if !s.isApplicant(Viewer{UserID: a.UserID, Mobile: a.Mobile}) {
		return nil, fmt.Errorf("hall: resubmit application %d: %w", appID, ErrNotApplicant)
	}
	if s.row.State != StateReturned {
		return nil, fmt.Errorf("hall: resubmit application %d (%s): %w", appID, s.row.State, ErrState)
	}
	// The applicant as they are now (a new class, a new counselor).
	if a.UserID != "" {
		if fresh, err := e.res.ApplicantFor(ctx, a.UserID, s.cp.p.Audience); err == nil {
			a = fresh
		}
	} else {
		a.Kind = "offcampus"
	}
	values, ferrs, err := e.parse(ctx, s.cp.p, a, appID, raw)
	if err != nil {
		return nil, err
	}
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	env := def.Env{Form: values, Applicant: a}
	if err := e.checkPath(ctx, s.cp, env); err != nil {
		return nil, err
	}
	first, _, err := s.cp.c.NextStep("", env)
	if err != nil {
		return nil, fmt.Errorf("hall: resubmit application %d: %w", appID, err)
	}
	vb, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	aj, err := applicantJSON(a)
	if err != nil {
		return nil, err
	}
	now := e.now()
	var opened []int64
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := e.db.LockHallApplication(ctx, tx, appID, store.Millis(now)); err != nil {
			return err
		}
		ok, err := e.db.ResubmitHallApplication(ctx, tx, appID, vb, aj, first, store.Millis(now))
		if err != nil {
			return err
		}
		if !ok {
			return ErrState
		}
		if _, err := e.db.LinkHallAttachments(ctx, tx, appID, owner(Viewer{UserID: a.UserID, Mobile: a.Mobile}), attachmentTokens(s.cp.p, values)); err != nil {
			return err
		}
		if err := e.trail(ctx, tx, appID, 0, actorOf(a), ActResubmit, "", now); err != nil {
			return err
		}
		opened, err = e.openStep(ctx, tx, s.cp, appID, s.row.Round+1, a, first, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hall: resubmit application %d: %w", appID, err)
	}
	e.afterChange(ctx, appID, opened, nil)
	return nil, nil
}

// stepName is a step's name, or its id for a step the version lacks.
func stepName(cp *compiledProcess, id string) string {
	if st, ok := cp.c.Step(id); ok {
		return st.Name
	}
	return id
}

func truncRunes(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
