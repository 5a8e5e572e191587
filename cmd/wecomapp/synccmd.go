package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wecomapp/wecomapp/contacts"
)

// guardStopped is a sync plan the safety guard refused (exit status 2).
type guardStopped struct{ err error }

func (g guardStopped) Error() string { return "sync stopped by the guard: " + g.err.Error() }
func (g guardStopped) Unwrap() error { return g.err }

// cmdSync plans an org sync: the data center's tables and the tag rules
// give the desired state, which is diffed against our mirror of what we
// wrote to WeCom into an ordered plan. Applying it arrives with the rest of
// contacts sync; today the command plans only (--dry-run).
func cmdSync(ctx context.Context, e *env, args []string) error {
	fs := e.flags("sync", "--dry-run [--plan FILE]", "Plan an org sync from the data-center tables and the tag rules against the contacts mirror: print the counts per kind of change and write the full plan. Exit status 2 when the guard would stop it.")
	dry := fs.Bool("dry-run", false, "plan only: print the summary and write the plan (applying is not built yet)")
	planFile := fs.String("plan", "sync-plan.jsonl", "where the full plan is written, one operation a line (mobile and email masked)")
	share := fs.Float64("max-share", 0.05, "the share of members or departments a plan may disable or delete before the guard stops it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*dry {
		return usageError{"sync applies nothing yet: run `wecomapp sync --dry-run` to see the plan"}
	}
	db, err := e.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := db.Pending(ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("the database has %d pending migrations: run `wecomapp migrate up` first", n)
	}
	dc, err := db.ReadDataCenter(ctx)
	if err != nil {
		return err
	}
	m, err := contacts.New(db, contacts.Options{})
	if err != nil {
		return err
	}
	rules, err := m.TagRules(ctx, nil)
	if err != nil {
		return err
	}
	state, err := m.Load(ctx)
	if err != nil {
		return err
	}
	touched, err := m.Touched(ctx)
	if err != nil {
		return err
	}
	// People who registered themselves are members the data center does
	// not know: the plan must not disable them for being absent from it.
	all, err := db.AllPersonRows(ctx)
	if err != nil {
		return err
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
	f, err := os.Create(*planFile)
	if err != nil {
		return fmt.Errorf("write the plan: %w", err)
	}
	if err := plan.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("write the plan to %s: %w", *planFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the plan to %s: %w", *planFile, err)
	}
	fmt.Fprintf(e.stdout, "desired: %d departments, %d members, %d tags (%d tag rules); mirror: %d departments, %d members\n",
		len(desired.Departments), len(desired.Members), len(desired.Tags), len(rules), plan.MirrorDepartments, plan.MirrorMembers)
	fmt.Fprintf(e.stdout, "plan: %s\n", plan.Summary())
	fmt.Fprintf(e.stdout, "full plan: %s\n", *planFile)
	if err := plan.Guard(0, *share); err != nil {
		var ge *contacts.GuardError
		if errors.As(err, &ge) {
			return guardStopped{err}
		}
		return err
	}
	return nil
}
