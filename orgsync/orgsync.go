// Package orgsync runs the contacts sync: one run at a time across
// instances (a coordination lock), from the command line, the nightly
// schedule, the console or a self-registration. A run builds the desired
// state from the data center's tables and the tag rules, diffs it against
// the mirror (package contacts), stops at the guard unless confirmed,
// applies the plan (a first load through WeCom's batch jobs), keeps the
// run's record with its plan, counts and failures in sync_runs, and
// exports Prometheus metrics per run. Steps registered with After (class
// groups) run after each run that applied.
package orgsync

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Lock is the coordination lock that keeps one sync running at a time
// across instances, and Lease its lease, extended while the run works.
const (
	Lock  = "contacts:sync"
	Lease = 2 * time.Minute
)

// Triggers of a run.
const (
	TriggerCLI      = "cli"
	TriggerSchedule = "schedule"
	TriggerConsole  = "console"
	TriggerSelfReg  = "selfreg"
	TriggerStart    = "start"
)

// ErrBusy is a run refused because another holds the lock.
var ErrBusy = errors.New("orgsync: another sync is running")

// GuardStopped is a run the guard stopped (nothing applied): it needs a
// confirmation.
type GuardStopped struct {
	RunID int64
	Guard *contacts.GuardError
}

func (g *GuardStopped) Error() string {
	return fmt.Sprintf("sync run %d stopped by the guard: %v", g.RunID, g.Guard)
}

// Config is how careful a run is (the sync section of the configuration).
type Config struct {
	// MaxShare is the share of members or departments a run may disable or
	// delete before the guard stops it. Default contacts.DefaultGuardShare.
	MaxShare float64
	// Grace is how long a leaver stays disabled before being deleted; 0
	// deletes no member.
	Grace time.Duration
	// ManageAll lets a run change objects the data center did not create.
	ManageAll bool
	// Drift is "reassert" (write the data center's values over a change
	// made in the console) or "report" (leave it, list it).
	Drift string
	// Batch lets a first load use WeCom's import jobs.
	Batch bool
	// Members is "all" or "registered" (only people who enrolled).
	Members string
}

// Options configure a Runner.
type Options struct {
	DB     *store.DB
	Mirror *contacts.Mirror
	Coord  coord.Store
	// Client is the contacts-sync secret's client; nil allows only dry runs.
	Client *wecom.Client
	Config Config
	Logger *zap.Logger
	// Registerer takes the run metrics; nil registers none.
	Registerer prometheus.Registerer
	// Wait paces batch-job polls (contacts.BatchOptions.Wait).
	Wait func(ctx context.Context) error
	Now  func() time.Time
	// Base is the context of runs started with Go (cancelled at shutdown:
	// a run stopped so resumes next time). Default context.Background().
	Base context.Context
}

// Step runs after each run that applied a plan (class groups), with the
// run's result. Its error is logged and kept in the run's counts; it does
// not fail the run.
type Step struct {
	Name string
	Run  func(ctx context.Context, res *Result) (summary string, err error)
}

// Runner runs syncs.
type Runner struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	mu      sync.Mutex
	after   []Step
	running sync.Mutex // within the process, besides the lock across instances
	bg      sync.WaitGroup
}

// New returns a Runner.
func New(opts Options) (*Runner, error) {
	if opts.DB == nil || opts.Mirror == nil {
		return nil, errors.New("orgsync: no database or mirror")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Base == nil {
		opts.Base = context.Background()
	}
	if opts.Config.MaxShare <= 0 {
		opts.Config.MaxShare = contacts.DefaultGuardShare
	}
	r := &Runner{opts: opts, log: opts.Logger.Named("orgsync")}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	return r, nil
}

// After adds a step run after each applied run.
func (r *Runner) After(s Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.after = append(r.after, s)
}

// Go starts a run in the background (the console's buttons): ErrBusy at
// once when one is running in this process; otherwise the run's own
// outcome is in its record (sync_runs) and the log. Wait waits for the
// runs started so.
func (r *Runner) Go(ro RunOptions) error {
	if !ro.DryRun && r.opts.Client == nil {
		return errors.New("orgsync: no contacts client: set the contacts-sync secret (wecom.contacts.secret) to apply")
	}
	if !r.running.TryLock() {
		return ErrBusy
	}
	r.running.Unlock() // Run takes it again; a race here only makes one of two ErrBusy
	if r.opts.Coord != nil {
		// Another instance's run: say so now rather than only in the log.
		lock, err := r.opts.Coord.TryLock(r.opts.Base, Lock, Lease)
		if errors.Is(err, coord.ErrLocked) {
			return ErrBusy
		}
		if err != nil {
			return fmt.Errorf("orgsync: take the lock %s: %w", Lock, err)
		}
		if err := lock.Release(r.opts.Base); err != nil {
			return fmt.Errorf("orgsync: release the lock %s: %w", Lock, err)
		}
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		res, err := r.Run(r.opts.Base, ro)
		var gs *GuardStopped
		switch {
		case errors.As(err, &gs):
			r.log.Warn("sync stopped by the guard", zap.Int64("run", gs.RunID), zap.String("trigger", ro.Trigger), zap.String("actor", ro.Actor))
		case err != nil:
			r.log.Error("sync failed", zap.String("trigger", ro.Trigger), zap.String("actor", ro.Actor), zap.Error(err))
		default:
			r.log.Info("sync done", zap.Int64("run", res.RunID), zap.String("status", res.Status), zap.String("trigger", ro.Trigger))
		}
	}()
	return nil
}

// CanApply says whether runs can apply (a contacts-sync client is set);
// without one they can only plan.
func (r *Runner) CanApply() bool { return r.opts.Client != nil }

// Wait waits for the runs Go started.
func (r *Runner) Wait() { r.bg.Wait() }

// Busy says whether a run is going on in this process.
func (r *Runner) Busy() bool {
	if r.running.TryLock() {
		r.running.Unlock()
		return false
	}
	return true
}

// RunOptions say what one run does.
type RunOptions struct {
	DryRun bool
	// Confirm applies a plan the guard stops; the confirmation is audited
	// with Actor.
	Confirm bool
	Trigger string
	// Actor is who asked: a userid, "cli:<user>", "system".
	Actor string
	// Share overrides the configured guard share (> 0).
	Share float64
	// Only limits the plan to these members' own ops (a
	// self-registration): their creation and tag memberships.
	Only []string
	// Progress hears each op applied.
	Progress func(done, total int, op contacts.Op)
	// Problems hears what BuildDesired found.
	Problems func(contacts.Problem)
	// Planned hears the plan before anything is applied.
	Planned func(res *Result)
}

// Result is what a run did.
type Result struct {
	RunID    int64 // 0 for a dry run
	Status   string
	Started  time.Time
	Finished time.Time
	Plan     *contacts.Plan
	Desired  contacts.Desired
	Problems []contacts.Problem
	Rules    int
	Guard    *contacts.GuardError
	Report   *contacts.Report
	Batch    *contacts.BatchReport
	// Drift lists the objects changed in WeCom's console that the run left
	// as they are (sync.drift = report).
	Drift []contacts.Touch
	Steps map[string]string
	// Applied is the plan applied call by call after a batch load (planned
	// again); nil when Plan was.
	Applied *contacts.Plan

	touched    []contacts.Touch
	extraCalls int // reads made while planning
}

// Calls is how many contacts API calls the run made.
func (res *Result) Calls() int {
	n := res.extraCalls
	if res.Report != nil {
		n += res.Report.Calls
	}
	if res.Batch != nil {
		n += res.Batch.Calls
	}
	return n
}

// Run runs one sync. A run the guard stops returns *GuardStopped; one
// refused by the lock ErrBusy.
func (r *Runner) Run(ctx context.Context, ro RunOptions) (*Result, error) {
	if ro.Trigger == "" {
		ro.Trigger = TriggerCLI
	}
	if ro.Actor == "" {
		ro.Actor = "system"
	}
	share := r.opts.Config.MaxShare
	if ro.Share > 0 {
		share = ro.Share
	}
	if !ro.DryRun {
		if r.opts.Client == nil {
			return nil, errors.New("orgsync: no contacts client: only dry runs")
		}
		if !r.running.TryLock() {
			return nil, ErrBusy
		}
		defer r.running.Unlock()
		if r.opts.Coord != nil {
			lock, err := r.opts.Coord.TryLock(ctx, Lock, Lease)
			if errors.Is(err, coord.ErrLocked) {
				return nil, ErrBusy
			}
			if err != nil {
				return nil, fmt.Errorf("orgsync: take the lock %s: %w", Lock, err)
			}
			defer lock.Release(context.WithoutCancel(ctx)) //nolint:errcheck // an expired lease is released anyway
			var stop func()
			ctx, stop = r.keepLock(ctx, lock)
			defer stop()
		}
	}
	res := &Result{Started: r.opts.Now(), Steps: map[string]string{}}
	pl, err := r.plan(ctx, ro, res)
	if err != nil {
		return nil, err
	}
	res.Plan = pl
	gerr := pl.Guard(0, share)
	if gerr != nil && !errors.As(gerr, &res.Guard) {
		return nil, gerr
	}
	if ro.Planned != nil {
		ro.Planned(res)
	}
	if ro.DryRun {
		res.Finished = r.opts.Now()
		if res.Guard != nil {
			return res, &GuardStopped{Guard: res.Guard}
		}
		return res, nil
	}

	db := r.opts.DB
	if _, err := db.InterruptSyncRuns(ctx, nil, res.Started); err != nil {
		return nil, err
	}
	planGz, err := gzipPlan(pl)
	if err != nil {
		return nil, err
	}
	summary := pl.Summary().String()
	res.RunID, err = db.StartSyncRun(ctx, nil, store.SyncRunStart{At: res.Started, Summary: summary, Trigger: ro.Trigger, Actor: ro.Actor, PlanGz: planGz})
	if err != nil {
		return nil, err
	}
	log := r.log.With(zap.Int64("run", res.RunID), zap.String("trigger", ro.Trigger))
	finish := func(status string) error {
		res.Status = status
		res.Finished = r.opts.Now()
		counts, failures := record(res)
		r.metrics.observe(ro.Trigger, res)
		log.Info("sync run finished", zap.String("status", status), zap.Int("ops", len(pl.Ops)), zap.Int("calls", res.Calls()),
			zap.Duration("took", res.Finished.Sub(res.Started)))
		return db.FinishSyncRun(context.WithoutCancel(ctx), nil, res.RunID, res.Finished, status, counts, failures)
	}
	if res.Guard != nil {
		if !ro.Confirm {
			if err := finish(store.SyncGuard); err != nil {
				return res, err
			}
			return res, &GuardStopped{RunID: res.RunID, Guard: res.Guard}
		}
		if err := r.auditConfirm(ctx, res, ro.Actor, summary); err != nil {
			_ = finish(store.SyncFailed)
			return res, err
		}
	}
	log.Info("sync run started", zap.String("plan", summary))

	applyErr := r.apply(ctx, ro, res)
	status := store.SyncConverged
	switch {
	case res.Report == nil || res.Report.Interrupted || applyErr != nil:
		status = store.SyncInterrupted
		if applyErr != nil && ctx.Err() == nil {
			status = store.SyncFailed
		}
	case !res.Report.Converged():
		status = store.SyncFailed
	}
	if status != store.SyncInterrupted && len(ro.Only) == 0 {
		r.mu.Lock()
		steps := append([]Step(nil), r.after...)
		r.mu.Unlock()
		for _, s := range steps {
			sum, err := s.Run(ctx, res)
			if err != nil {
				log.Warn("after-sync step failed", zap.String("step", s.Name), zap.Error(err))
				sum = "failed: " + err.Error()
			}
			res.Steps[s.Name] = sum
		}
	}
	if err := finish(status); err != nil && applyErr == nil {
		applyErr = err
	}
	return res, applyErr
}

// plan builds the desired state and the plan.
func (r *Runner) plan(ctx context.Context, ro RunOptions, res *Result) (*contacts.Plan, error) {
	db, m := r.opts.DB, r.opts.Mirror
	dc, err := db.ReadDataCenter(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := m.TagRules(ctx, nil)
	if err != nil {
		return nil, err
	}
	state, err := m.Load(ctx)
	if err != nil {
		return nil, err
	}
	touched, err := m.Touched(ctx)
	if err != nil {
		return nil, err
	}
	// People who registered themselves without a data-center record are
	// members the data center does not know: the plan must not disable
	// them for being absent from it.
	all, err := db.AllPersonRows(ctx)
	if err != nil {
		return nil, err
	}
	var keep []string
	for _, p := range all {
		if p.Ext != nil && p.Faculty == nil && p.Student == nil {
			keep = append(keep, p.UserID)
		}
	}
	opts := contacts.DesiredOptions{IDs: contacts.IDsFromMirror(state), Keep: keep}
	if r.opts.Config.Members == "registered" {
		es, err := db.Enrolments(ctx, nil)
		if err != nil {
			return nil, err
		}
		opts.Only = map[string]bool{}
		for _, e := range es {
			opts.Only[e.UserID] = true
		}
		for _, mm := range state.Members {
			opts.Only[mm.UserID] = true // once a member, kept in step
		}
	}
	desired, problems := contacts.BuildDesired(dc, rules, opts)
	res.Desired, res.Problems, res.Rules = desired, problems, len(rules)
	if ro.Problems != nil {
		for _, p := range problems {
			ro.Problems(p)
		}
	}
	if r.opts.Config.Drift == "report" {
		// Report, not reassert: the touched objects are held as they are in
		// WeCom (their touches stay until someone deals with them).
		var rest []contacts.Touch
		for _, t := range touched {
			if t.Mirrored && !t.Deleted {
				res.Drift = append(res.Drift, t)
				switch t.Kind {
				case contacts.KindMember:
					desired.HeldMembers = append(desired.HeldMembers, t.ID)
				case contacts.KindDepartment:
					if id, ok := t.DepartmentID(); ok {
						desired.HeldDepartments = append(desired.HeldDepartments, id)
					}
				}
				continue
			}
			rest = append(rest, t)
		}
		touched = rest
		res.Desired = desired
	}
	res.touched = touched
	popts := contacts.PlanOptions{Touched: touched, ManageAll: r.opts.Config.ManageAll, DeleteAfter: r.opts.Config.Grace, Now: r.opts.Now()}
	pl := contacts.BuildPlan(desired, state, popts)
	if r.opts.Client != nil && !ro.DryRun && pl.TagIDs != nil && len(pl.TagIDs) > 0 {
		// New tags: number them above the ids WeCom already uses (one
		// tag/list call), so each create takes the id planned for it.
		tags, err := r.opts.Client.ListTags(ctx)
		if err != nil {
			return nil, fmt.Errorf("orgsync: list tags: %w", err)
		}
		res.extraCalls++
		for _, t := range tags {
			popts.MaxTagID = max(popts.MaxTagID, int64(t.ID))
		}
		pl = contacts.BuildPlan(desired, state, popts)
	}
	if len(ro.Only) > 0 {
		pl = pl.Only(ro.Only)
	}
	return pl, nil
}

// apply runs the plan: a first load's creations through batch jobs, then
// (planning again) the rest call by call.
func (r *Runner) apply(ctx context.Context, ro RunOptions, res *Result) error {
	pl := res.Plan
	opts := contacts.ApplyOptions{Client: r.opts.Client, Mirror: r.opts.Mirror, Desired: res.Desired, Touched: res.touched,
		Logger: r.opts.Logger, Progress: ro.Progress}
	pending, err := r.opts.Mirror.PendingBatch(ctx)
	if err != nil {
		return err
	}
	if len(ro.Only) == 0 && (pending || r.opts.Config.Batch && contacts.Batchable(pl)) {
		br, err := contacts.ApplyBatch(ctx, pl, contacts.BatchOptions{Client: r.opts.Client, Mirror: r.opts.Mirror, Logger: r.opts.Logger, Wait: r.opts.Wait})
		res.Batch = br
		if err != nil {
			if ctx.Err() != nil {
				res.Report = &contacts.Report{Interrupted: true}
				return ctx.Err()
			}
			// The batch jobs are a shortcut: whatever they did is in the
			// mirror, the rest goes call by call.
			r.log.Warn("batch load failed; going on call by call", zap.Error(err))
			br.Skipped = append(br.Skipped, "failed: "+err.Error())
		}
		// Plan again: the mirror now holds what the jobs created.
		var again Result
		pl2, err := r.plan(ctx, RunOptions{}, &again)
		if err != nil {
			return err
		}
		opts.Desired, opts.Touched = again.Desired, again.touched
		pl = pl2
		res.Applied = pl2
	}
	rep, err := contacts.Apply(ctx, pl, opts)
	if rep == nil {
		rep = &contacts.Report{Interrupted: true}
	}
	res.Report = rep
	return err
}

// keepLock extends the lock's lease while the run works; if the lease is
// lost, another instance may have started, so the run is cancelled.
func (r *Runner) keepLock(ctx context.Context, lock *coord.Lock) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stopped := make(chan struct{})
	go func() {
		t := time.NewTicker(Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stopped:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := lock.Extend(ctx, Lease); err != nil {
					r.log.Error("sync lock lost; stopping the run", zap.String("lock", Lock), zap.Error(err))
					cancel(fmt.Errorf("the lock %s was lost: %w", Lock, err))
					return
				}
			}
		}
	}()
	return ctx, func() { close(stopped); cancel(nil) }
}

// auditConfirm records that someone confirmed a run past the guard.
func (r *Runner) auditConfirm(ctx context.Context, res *Result, actor, summary string) error {
	ge := res.Guard
	e, err := store.Audit(store.Actor{UserID: actor}, "contacts.sync.confirm", "sync_run "+strconv.FormatInt(res.RunID, 10),
		nil, map[string]any{"guard": ge.Error(), "members": ge.Members, "members_total": ge.MembersTotal,
			"departments": ge.Departments, "departments_total": ge.DepartmentsTotal, "share": ge.Share, "plan": summary}, r.opts.Now())
	if err != nil {
		return err
	}
	return r.opts.DB.InsertAudit(ctx, nil, e)
}

// gzipPlan is the plan as the run history keeps it.
func gzipPlan(pl *contacts.Plan) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := pl.WriteJSON(zw); err != nil {
		return nil, fmt.Errorf("orgsync: keep the plan: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("orgsync: keep the plan: %w", err)
	}
	return buf.Bytes(), nil
}

// FailureRecord is one failure as sync_runs keeps it.
type FailureRecord struct {
	Index   int             `json:"index"`
	Kind    contacts.OpKind `json:"kind"`
	Object  string          `json:"object"`
	Code    int             `json:"errcode"`
	Message string          `json:"message"`
	Advice  string          `json:"advice"`
}

// Counts is a run's counts as sync_runs keeps them.
type Counts struct {
	Ops      int               `json:"ops"`
	Kinds    map[string]int    `json:"kinds"`
	Applied  int               `json:"applied"`
	Failed   int               `json:"failed"`
	Skipped  int               `json:"skipped"`
	Calls    int               `json:"calls"`
	Adopted  int               `json:"adopted"`
	Batch    *BatchCounts      `json:"batch,omitempty"`
	Drift    []string          `json:"drift,omitempty"`
	Guard    *GuardCounts      `json:"guard,omitempty"`
	Steps    map[string]string `json:"steps,omitempty"`
	Problems int               `json:"problems"`
	Millis   int64             `json:"millis"`
}

// GuardCounts is what the guard weighed: disables and deletions against
// the mirror's totals.
type GuardCounts struct {
	Members          int     `json:"members"`
	MembersTotal     int     `json:"members_total"`
	Departments      int     `json:"departments"`
	DepartmentsTotal int     `json:"departments_total"`
	Share            float64 `json:"share"`
}

// BatchCounts is what a run's batch jobs did.
type BatchCounts struct {
	Departments       int      `json:"departments"`
	Members           int      `json:"members"`
	DepartmentsFailed int      `json:"departments_failed"`
	MembersFailed     int      `json:"members_failed"`
	Jobs              int      `json:"jobs"`
	Calls             int      `json:"calls"`
	Notes             []string `json:"notes,omitempty"`
}

// record is a run's counts and failures as sync_runs keeps them.
func record(res *Result) (counts, failures []byte) {
	c := Counts{Ops: len(res.Plan.Ops), Kinds: map[string]int{}, Steps: res.Steps, Problems: len(res.Problems),
		Millis: res.Finished.Sub(res.Started).Milliseconds(), Calls: res.Calls()}
	for _, k := range res.Plan.Summary().Kinds {
		c.Kinds[string(k.Kind)] = k.Count
	}
	fs := []FailureRecord{}
	if rep := res.Report; rep != nil {
		c.Applied, c.Failed, c.Skipped, c.Adopted = rep.Applied, rep.Failed, rep.Skipped, len(rep.Adopted)
		for _, f := range rep.Failures {
			fs = append(fs, FailureRecord{f.Op.Index, f.Op.Kind, OpObject(f.Op), f.Code, f.Message, f.Advice})
		}
	}
	if b := res.Batch; b != nil {
		c.Batch = &BatchCounts{b.Departments, b.Members, b.DepartmentsFailed, b.MembersFailed, len(b.Jobs), b.Calls, b.Skipped}
		c.Applied += b.Departments + b.Members
	}
	for _, t := range res.Drift {
		c.Drift = append(c.Drift, string(t.Kind)+" "+t.ID)
	}
	if g := res.Guard; g != nil {
		c.Guard = &GuardCounts{g.Members, g.MembersTotal, g.Departments, g.DepartmentsTotal, g.Share}
	}
	counts, _ = json.Marshal(c)
	failures, _ = json.Marshal(fs)
	return counts, failures
}

// OpObject names an op's object for people.
func OpObject(op contacts.Op) string {
	switch {
	case op.UserID != "":
		return fmt.Sprintf("%s member %s", op.Kind, op.UserID)
	case op.Department != 0:
		return fmt.Sprintf("%s department %d", op.Kind, op.Department)
	case op.Tag != 0:
		return fmt.Sprintf("%s tag %d %s", op.Kind, op.Tag, op.TagName)
	}
	return string(op.Kind) + " #" + strconv.Itoa(op.Index)
}
