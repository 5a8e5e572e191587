package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// guardStopped is a sync plan the safety guard refused (exit status 2).
type guardStopped struct{ err error }

func (g guardStopped) Error() string { return "sync stopped by the guard: " + g.err.Error() }
func (g guardStopped) Unwrap() error { return g.err }

// cmdSync runs an org sync through orgsync: the data center's tables and
// the tag rules give the desired state, which is diffed against our mirror
// of what we wrote to WeCom into an ordered plan (--dry-run stops there),
// checked by the guard, and applied through the contacts-sync secret, each
// op recorded in the mirror as WeCom accepts it. A run stopped anywhere is
// resumed by running again. --verify compares WeCom's ids with the mirror.
func cmdSync(ctx context.Context, e *env, args []string) error {
	fs := e.flags("sync", "[--dry-run | --verify] [--yes] [--max-share 0.05] [--plan FILE]", "Sync WeCom's contacts with the data-center tables and the tag rules: plan against the contacts mirror, print the counts per kind of change, and apply the plan through the contacts-sync secret (wecom.api_base, wecom.contacts.secret), one run at a time across instances. Exit status 0 when converged, 1 when some operations failed (listed), 2 when the guard stopped it (nothing applied). --verify reads WeCom's ids and lists every difference with the mirror (exit 1 when there is one).")
	dry := fs.Bool("dry-run", false, "plan only: print the summary and write the plan")
	verify := fs.Bool("verify", false, "compare the ids WeCom holds (members, departments, tags) with the mirror and list every difference")
	yes := fs.Bool("yes", false, "apply a plan the guard stops (it disables or deletes more than --max-share); the confirmation is audited")
	planFile := fs.String("plan", "sync-plan.jsonl", "where the full plan is written, one operation a line (mobile and email masked); with --dry-run always, otherwise when given")
	share := fs.Float64("max-share", 0, "the share of members or departments a plan may disable or delete before the guard stops it (default sync.max_share)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("sync: unexpected arguments %v", fs.Args())}
	}
	if *dry && *verify {
		return usageError{"sync: --dry-run and --verify do not go together"}
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
	log, err := newLogger(cfg.Log, e.stderr)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals

	var (
		co   coord.Store
		cl   *wecom.Client
		corp *wecom.Corp
		// The client's own counts, per API and errcode: printed at the end.
		apiReg = prometheus.NewRegistry()
	)
	if !*dry {
		co, err = openCoord(ctx, cfg)
		if err != nil {
			return err
		}
		defer co.Close()
		if cl, corp, err = contactsClient(cfg, co, log, apiReg); err != nil {
			return err
		}
	}
	m, err := contacts.New(db, contacts.Options{})
	if err != nil {
		return err
	}
	runner, err := orgsync.New(orgsync.Options{DB: db, Mirror: m, Coord: co, Client: cl, Config: syncConfig(cfg.Sync), Logger: log})
	if err != nil {
		return err
	}
	if *verify {
		return printVerify(ctx, e, runner)
	}
	if corp != nil && cfg.Sync.ClassGroups && len(cfg.WeCom.Apps) > 0 && cfg.WeCom.Apps[0].Secret.IsSet() {
		app, err := corp.App(cfg.WeCom.Apps[0].Name)
		if err != nil {
			return err
		}
		runner.After(classGroupStep(db, co, app, log))
	}
	actor := os.Getenv("USER")
	if actor == "" {
		actor = "unknown"
	}
	var (
		progressDone func()
		prog         func(done, total int, op contacts.Op)
	)
	ro := orgsync.RunOptions{
		DryRun: *dry, Confirm: *yes, Trigger: orgsync.TriggerCLI, Actor: "cli:" + actor, Share: *share,
		Problems: func(p contacts.Problem) { fmt.Fprintf(e.stderr, "%s: %s: %s\n", p.Severity, p.Object, p.Message) },
	}
	var planErr error
	ro.Planned = func(res *orgsync.Result) {
		plan := res.Plan
		if writePlan {
			planErr = writePlanFile(plan, *planFile)
		}
		fmt.Fprintf(e.stdout, "desired: %d departments, %d members, %d tags (%d tag rules); mirror: %d departments, %d members\n",
			len(res.Desired.Departments), len(res.Desired.Members), len(res.Desired.Tags), res.Rules, plan.MirrorDepartments, plan.MirrorMembers)
		fmt.Fprintf(e.stdout, "plan: %s\n", plan.Summary())
		if writePlan && planErr == nil {
			fmt.Fprintf(e.stdout, "full plan: %s\n", *planFile)
		}
		if res.Guard != nil && *yes && !*dry {
			fmt.Fprintf(e.stdout, "the guard would stop this plan (%v); confirmed with --yes (audited)\n", res.Guard)
		}
		if !*dry {
			prog, progressDone = syncProgress(e.stderr, len(plan.Ops))
		}
	}
	// The display is chosen once the plan's size is known.
	ro.Progress = func(done, total int, op contacts.Op) {
		if prog != nil {
			prog(done, total, op)
		}
	}
	started := time.Now()
	res, err := runner.Run(ctx, ro)
	if progressDone != nil {
		progressDone()
	}
	if planErr != nil {
		return planErr
	}
	var gs *orgsync.GuardStopped
	switch {
	case errors.Is(err, orgsync.ErrBusy):
		return fmt.Errorf("another sync is running (the lock %s is held): wait for it to end, then run again", orgsync.Lock)
	case errors.As(err, &gs):
		if !*dry {
			fmt.Fprintf(e.stdout, "nothing applied (run %d): confirm with --yes to apply it\n", gs.RunID)
		}
		return guardStopped{gs.Guard}
	}
	if res == nil || *dry {
		return err
	}
	rep := res.Report
	if rep == nil {
		rep = &contacts.Report{}
	}
	if b := res.Batch; b != nil {
		fmt.Fprintf(e.stdout, "batch jobs: %d departments and %d members created in %d jobs (%d calls); %d and %d refused, left for call by call\n",
			b.Departments, b.Members, len(b.Jobs), b.Calls, b.DepartmentsFailed, b.MembersFailed)
		for _, n := range b.Skipped {
			fmt.Fprintf(e.stdout, "batch: %s\n", n)
		}
	}
	ops := len(res.Plan.Ops)
	if res.Applied != nil {
		ops = len(res.Applied.Ops)
	}
	fmt.Fprintf(e.stdout, "run %d %s in %s: %d applied, %d failed, %d skipped of %d operations; %d API calls\n",
		res.RunID, res.Status, time.Since(started).Round(time.Millisecond), rep.Applied, rep.Failed, rep.Skipped, ops, res.Calls())
	if len(rep.Adopted) > 0 {
		ids := strings.Join(rep.Adopted[:min(len(rep.Adopted), 20)], " ")
		if len(rep.Adopted) > 20 {
			ids += " …"
		}
		fmt.Fprintf(e.stdout, "adopted %d members that existed in WeCom but not in the mirror: %s\n", len(rep.Adopted), ids)
	}
	for _, t := range res.Drift {
		fmt.Fprintf(e.stdout, "drift: %s %s was changed in WeCom (%s); left as it is (sync.drift = report)\n", t.Kind, t.ID, t.Event)
	}
	for name, sum := range res.Steps {
		fmt.Fprintf(e.stdout, "%s: %s\n", name, sum)
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(e.stdout, "failed: %s: errcode %d: %s\n  what to do: %s\n", orgsync.OpObject(f.Op), f.Code, f.Message, f.Advice)
	}
	if by := apiCalls(apiReg); by != "" {
		fmt.Fprintf(e.stdout, "API requests by endpoint (retries included): %s\n", by)
	}
	if err != nil {
		if rep.Interrupted {
			return fmt.Errorf("sync interrupted after %d of %d operations (run again to resume): %w", rep.Applied+rep.Failed+rep.Skipped, ops, err)
		}
		return err
	}
	if res.Status == store.SyncFailed {
		return fmt.Errorf("sync: %d operations failed and %d were skipped (listed above); run again once fixed", rep.Failed, rep.Skipped)
	}
	return nil
}

// printVerify lists every difference between WeCom's ids and the mirror.
func printVerify(ctx context.Context, e *env, r *orgsync.Runner) error {
	v, err := r.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "WeCom holds %d members, %d departments, %d tags (%d API calls)\n", v.Members, v.Departments, v.Tags, v.Calls)
	list := func(what string, xs []string) {
		for _, x := range xs {
			fmt.Fprintf(e.stdout, "%s: %s\n", what, x)
		}
	}
	ids := func(xs []int64) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = strconv.FormatInt(x, 10)
		}
		return out
	}
	list("member missing in WeCom (deleted there; the next sync re-creates it)", v.MissingMembers)
	list("member in WeCom but not in the mirror (made by someone else)", v.ExtraMembers)
	list("department missing in WeCom", ids(v.MissingDepartments))
	list("department in WeCom but not in the mirror", ids(v.ExtraDepartments))
	list("tag missing in WeCom", v.MissingTags)
	list("tag in WeCom but not in the mirror", v.ExtraTags)
	if v.Clean() {
		fmt.Fprintln(e.stdout, "verified: WeCom's ids match the mirror")
		return nil
	}
	n := len(v.MissingMembers) + len(v.ExtraMembers) + len(v.MissingDepartments) + len(v.ExtraDepartments) + len(v.MissingTags) + len(v.ExtraTags)
	return fmt.Errorf("sync --verify: %d differences between WeCom and the mirror (listed above)", n)
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
func contactsClient(cfg *config.Config, co coord.Store, log *zap.Logger, reg prometheus.Registerer) (*wecom.Client, *wecom.Corp, error) {
	if cfg.WeCom.APIBase == "" && cfg.Simulator.Enabled {
		return nil, nil, errors.New("sync: wecom.api_base is empty while simulator.enabled is on: the simulator embedded in `wecomapp serve` has secrets of its own; point wecom.api_base and wecom.contacts.secret at a standalone `wecomapp sim`, or at WeCom with simulator.enabled off")
	}
	var apps []wecom.AppConfig
	for _, a := range cfg.WeCom.Apps {
		if a.Secret.IsSet() {
			apps = append(apps, wecom.AppConfig{Name: a.Name, AgentID: a.AgentID, Secret: a.Secret.Value()})
		}
	}
	corp, err := wecom.New(wecom.Options{
		BaseURL: cfg.WeCom.APIBase, OAuthBaseURL: cfg.WeCom.OAuthBase, LoginBaseURL: cfg.WeCom.LoginBase, CorpID: cfg.WeCom.CorpID,
		ContactSecret: cfg.WeCom.Contacts.Secret.Value(), Apps: apps, Coord: co, HTTPTimeout: cfg.WeCom.HTTPTimeout,
		Logger: log, Registerer: reg,
	})
	if err != nil {
		return nil, nil, err
	}
	cl, err := corp.Contacts()
	return cl, corp, err
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
			// A first load's batch jobs shorten the plan applied call by
			// call: the bar follows the total it is given.
			return func(done, total int, _ contacts.Op) {
				if int64(total) != bar.GetMax64() {
					bar.ChangeMax(total)
				}
				_ = bar.Set(done)
			}, func() { _ = bar.Finish() }
		}
	}
	step := max(total/10, 1)
	return func(done, total int, _ contacts.Op) {
		if done%step == 0 || done == total {
			fmt.Fprintf(w, "sync: %d/%d operations (%d%%)\n", done, total, done*100/total)
		}
	}, func() {}
}

// apiCalls is the client's wecom_api_requests_total summed per API, the
// busiest first: "user/create 212, tag/create 123".
func apiCalls(reg *prometheus.Registry) string {
	mfs, err := reg.Gather()
	if err != nil {
		return ""
	}
	by := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "wecom_api_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "api" {
					by[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	apis := make([]string, 0, len(by))
	for a := range by {
		apis = append(apis, a)
	}
	sort.Slice(apis, func(i, j int) bool {
		if by[apis[i]] != by[apis[j]] {
			return by[apis[i]] > by[apis[j]]
		}
		return apis[i] < apis[j]
	})
	parts := make([]string, len(apis))
	for i, a := range apis {
		parts[i] = fmt.Sprintf("%s %d", a, int(by[a]))
	}
	return strings.Join(parts, ", ")
}
