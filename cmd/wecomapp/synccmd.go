package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// guardStopped is a sync plan the safety guard refused (exit status 2).
type guardStopped struct{ err error }

func (g guardStopped) Error() string { return "sync stopped by the guard: " + g.err.Error() }
func (g guardStopped) Unwrap() error { return g.err }

// syncLock is the coordination lock that keeps one sync running at a time
// across instances, and syncLease its lease, extended while the run works.
const (
	syncLock  = "contacts:sync"
	syncLease = 2 * time.Minute
)

// cmdSync runs an org sync: the data center's tables and the tag rules
// give the desired state, which is diffed against our mirror of what we
// wrote to WeCom into an ordered plan (--dry-run stops there), checked by
// the guard, and applied through the contacts-sync secret, each op
// recorded in the mirror as WeCom accepts it. A run stopped anywhere is
// resumed by running again.
func cmdSync(ctx context.Context, e *env, args []string) error {
	fs := e.flags("sync", "[--dry-run] [--yes] [--max-share 0.05] [--plan FILE]", "Sync WeCom's contacts with the data-center tables and the tag rules: plan against the contacts mirror, print the counts per kind of change, and apply the plan through the contacts-sync secret (wecom.api_base, wecom.contacts.secret), one run at a time across instances. Exit status 0 when converged, 1 when some operations failed (listed), 2 when the guard stopped it (nothing applied).")
	dry := fs.Bool("dry-run", false, "plan only: print the summary and write the plan")
	yes := fs.Bool("yes", false, "apply a plan the guard stops (it disables or deletes more than --max-share); the confirmation is audited")
	planFile := fs.String("plan", "sync-plan.jsonl", "where the full plan is written, one operation a line (mobile and email masked); with --dry-run always, otherwise when given")
	share := fs.Float64("max-share", contacts.DefaultGuardShare, "the share of members or departments a plan may disable or delete before the guard stops it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("sync: unexpected arguments %v", fs.Args())}
	}
	writePlan := *dry
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "plan" {
			writePlan = true
		}
	})
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := db.Pending(ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("the database has %d pending migrations: run `wecomapp migrate up` first", n)
	}

	var co coord.Store
	if !*dry {
		co, err = openCoord(ctx, cfg)
		if err != nil {
			return err
		}
		defer co.Close()
		lock, err := co.TryLock(ctx, syncLock, syncLease)
		if errors.Is(err, coord.ErrLocked) {
			return fmt.Errorf("another sync is running (the lock %s is held): wait for it to end, then run again", syncLock)
		}
		if err != nil {
			return fmt.Errorf("take the lock %s: %w", syncLock, err)
		}
		defer lock.Release(context.WithoutCancel(ctx)) //nolint:errcheck // an expired lease is released anyway
		var stop func()
		ctx, stop = keepLock(ctx, lock, e.stderr)
		defer stop()
	}

	m, err := contacts.New(db, contacts.Options{})
	if err != nil {
		return err
	}
	pl, err := planSync(ctx, e, db, m)
	if err != nil {
		return err
	}
	plan := pl.plan
	if writePlan {
		if err := writePlanFile(plan, *planFile); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "desired: %d departments, %d members, %d tags (%d tag rules); mirror: %d departments, %d members\n",
		len(pl.desired.Departments), len(pl.desired.Members), len(pl.desired.Tags), pl.rules, plan.MirrorDepartments, plan.MirrorMembers)
	fmt.Fprintf(e.stdout, "plan: %s\n", plan.Summary())
	if writePlan {
		fmt.Fprintf(e.stdout, "full plan: %s\n", *planFile)
	}
	guardErr := plan.Guard(0, *share)
	var ge *contacts.GuardError
	if guardErr != nil && !errors.As(guardErr, &ge) {
		return guardErr
	}
	if *dry {
		if ge != nil {
			return guardStopped{guardErr}
		}
		return nil
	}

	summary := plan.Summary().String()
	started := time.Now()
	if _, err := db.InterruptSyncRuns(ctx, nil, started); err != nil {
		return err
	}
	runID, err := db.StartSyncRun(ctx, nil, started, summary)
	if err != nil {
		return err
	}
	finish := func(status string, rep *contacts.Report) error {
		counts, failures := runRecord(plan, rep)
		return db.FinishSyncRun(context.WithoutCancel(ctx), nil, runID, time.Now(), status, counts, failures)
	}
	if ge != nil {
		if !*yes {
			if err := finish(store.SyncGuard, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "nothing applied (run %d): confirm with --yes to apply it\n", runID)
			return guardStopped{guardErr}
		}
		if err := auditConfirm(ctx, db, runID, ge, summary); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "the guard would stop this plan (%v); confirmed with --yes (audited)\n", guardErr)
	}

	log, err := newLogger(cfg.Log, e.stderr)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals
	cl, err := contactsClient(cfg, co, log)
	if err != nil {
		_ = finish(store.SyncFailed, nil)
		return err
	}
	progress, done := syncProgress(e.stderr, len(plan.Ops))
	rep, err := contacts.Apply(ctx, plan, contacts.ApplyOptions{
		Client: cl, Mirror: m, Desired: pl.desired, Touched: pl.touched, Logger: log, Progress: progress,
	})
	done()
	if rep == nil {
		rep = &contacts.Report{}
	}
	status := store.SyncConverged
	switch {
	case rep.Interrupted || err != nil:
		status = store.SyncInterrupted
	case !rep.Converged():
		status = store.SyncFailed
	}
	if ferr := finish(status, rep); ferr != nil && err == nil {
		err = ferr
	}
	fmt.Fprintf(e.stdout, "run %d %s in %s: %d applied, %d failed, %d skipped of %d operations; %d API calls\n",
		runID, status, time.Since(started).Round(time.Millisecond), rep.Applied, rep.Failed, rep.Skipped, len(plan.Ops), rep.Calls)
	if len(rep.Adopted) > 0 {
		ids := strings.Join(rep.Adopted[:min(len(rep.Adopted), 20)], " ")
		if len(rep.Adopted) > 20 {
			ids += " …"
		}
		fmt.Fprintf(e.stdout, "adopted %d members that existed in WeCom but not in the mirror: %s\n", len(rep.Adopted), ids)
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(e.stdout, "failed: %s: errcode %d: %s\n  what to do: %s\n", opObject(f.Op), f.Code, f.Message, f.Advice)
	}
	if err != nil {
		if rep.Interrupted {
			return fmt.Errorf("sync interrupted after %d of %d operations (run again to resume): %w", rep.Applied+rep.Failed+rep.Skipped, len(plan.Ops), err)
		}
		return err
	}
	if status == store.SyncFailed {
		return fmt.Errorf("sync: %d operations failed and %d were skipped (listed above); run again once fixed", rep.Failed, rep.Skipped)
	}
	return nil
}

// keepLock extends the lock's lease while the run works; if the lease is
// lost, another instance may have started, so the run is cancelled.
func keepLock(ctx context.Context, lock *coord.Lock, w io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stopped := make(chan struct{})
	go func() {
		t := time.NewTicker(syncLease / 3)
		defer t.Stop()
		for {
			select {
			case <-stopped:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := lock.Extend(ctx, syncLease); err != nil {
					fmt.Fprintf(w, "sync: the lock %s was lost (%v): stopping\n", syncLock, err)
					cancel(fmt.Errorf("the lock %s was lost: %w", syncLock, err))
					return
				}
			}
		}
	}()
	return ctx, func() { close(stopped); cancel(nil) }
}

// syncPlan is a plan and what it was built from.
type syncPlan struct {
	plan    *contacts.Plan
	desired contacts.Desired
	touched []contacts.Touch
	rules   int
}

// planSync builds the desired state from the data center and the tag
// rules and diffs it against the mirror; problems go to stderr.
func planSync(ctx context.Context, e *env, db *store.DB, m *contacts.Mirror) (*syncPlan, error) {
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
	// People who registered themselves are members the data center does
	// not know: the plan must not disable them for being absent from it.
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
	desired, problems := contacts.BuildDesired(dc, rules, contacts.DesiredOptions{IDs: contacts.IDsFromMirror(state), Keep: keep})
	plan := contacts.BuildPlan(desired, state, contacts.PlanOptions{Touched: touched, Now: time.Now()})
	for _, p := range problems {
		fmt.Fprintf(e.stderr, "%s: %s: %s\n", p.Severity, p.Object, p.Message)
	}
	return &syncPlan{plan: plan, desired: desired, touched: touched, rules: len(rules)}, nil
}

func writePlanFile(plan *contacts.Plan, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the plan: %w", err)
	}
	if err := plan.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("write the plan to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the plan to %s: %w", path, err)
	}
	return nil
}

// contactsClient is the contacts-sync secret's client, built from the
// configuration as serve builds it, against wecom.api_base (WeCom, or a
// standalone `wecomapp sim`).
func contactsClient(cfg *config.Config, co coord.Store, log *zap.Logger) (*wecom.Client, error) {
	if cfg.WeCom.APIBase == "" && cfg.Simulator.Enabled {
		return nil, errors.New("sync: wecom.api_base is empty while simulator.enabled is on: the simulator embedded in `wecomapp serve` has secrets of its own; point wecom.api_base and wecom.contacts.secret at a standalone `wecomapp sim`, or at WeCom with simulator.enabled off")
	}
	corp, err := wecom.New(wecom.Options{
		BaseURL: cfg.WeCom.APIBase, OAuthBaseURL: cfg.WeCom.OAuthBase, LoginBaseURL: cfg.WeCom.LoginBase, CorpID: cfg.WeCom.CorpID,
		ContactSecret: cfg.WeCom.Contacts.Secret.Value(), Coord: co, HTTPTimeout: cfg.WeCom.HTTPTimeout,
		Logger: log, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		return nil, err
	}
	return corp.Contacts()
}

// syncProgress shows the run's progress on w: a bar on a terminal, a
// line every 10 % otherwise (logs, cron mail).
func syncProgress(w io.Writer, total int) (func(done, total int, op contacts.Op), func()) {
	if total == 0 {
		return nil, func() {}
	}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("sync"),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
			return func(done, _ int, _ contacts.Op) { _ = bar.Set(done) }, func() { _ = bar.Finish() }
		}
	}
	step := max(total/10, 1)
	return func(done, total int, _ contacts.Op) {
		if done%step == 0 || done == total {
			fmt.Fprintf(w, "sync: %d/%d operations (%d%%)\n", done, total, done*100/total)
		}
	}, func() {}
}

// runRecord is a run's counts and failures as sync_runs keeps them.
func runRecord(plan *contacts.Plan, rep *contacts.Report) (counts, failures []byte) {
	c := map[string]any{"ops": len(plan.Ops), "kinds": plan.Summary().Kinds}
	type failure struct {
		Index   int             `json:"index"`
		Kind    contacts.OpKind `json:"kind"`
		Object  string          `json:"object"`
		Code    int             `json:"errcode"`
		Message string          `json:"message"`
		Advice  string          `json:"advice"`
	}
	fs := []failure{}
	if rep != nil {
		c["applied"], c["failed"], c["skipped"], c["calls"], c["adopted"] = rep.Applied, rep.Failed, rep.Skipped, rep.Calls, len(rep.Adopted)
		for _, f := range rep.Failures {
			fs = append(fs, failure{f.Op.Index, f.Op.Kind, opObject(f.Op), f.Code, f.Message, f.Advice})
		}
	}
	counts, _ = json.Marshal(c)
	failures, _ = json.Marshal(fs)
	return counts, failures
}

// opObject names an op's object for people.
func opObject(op contacts.Op) string {
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

// auditConfirm records that someone confirmed past the guard with --yes.
func auditConfirm(ctx context.Context, db *store.DB, runID int64, ge *contacts.GuardError, summary string) error {
	actor := os.Getenv("USER")
	if actor == "" {
		actor = "unknown"
	}
	e, err := store.Audit(store.Actor{UserID: "cli:" + actor}, "contacts.sync.confirm", "sync_run "+strconv.FormatInt(runID, 10),
		nil, map[string]any{"guard": ge.Error(), "members": ge.Members, "members_total": ge.MembersTotal,
			"departments": ge.Departments, "departments_total": ge.DepartmentsTotal, "share": ge.Share, "plan": summary}, time.Now())
	if err != nil {
		return err
	}
	return db.InsertAudit(ctx, nil, e)
}
