package orgsync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

const (
	corpID = "wworgsync00000001"
	secret = "orgsync-contacts-secret-0123456"
)

// rig is a data center loaded into db, an empty simulated corp under
// today's rules, and a runner between them.
type rig struct {
	db     *store.DB
	sim    *wecomsim.Sim
	mirror *contacts.Mirror
	runner *orgsync.Runner
	reg    *prometheus.Registry
	co     coord.Store
	dc     store.DataCenter
	wait   func(ctx context.Context) error
	client *wecom.Client
}

func (r *rig) runnerClient(t *testing.T) *wecom.Client { return r.client }

func newRig(t *testing.T, db *store.DB, sc demo.Scale, cfg orgsync.Config) *rig {
	t.Helper()
	ctx := context.Background()
	u := demo.Generate(sc)
	r := &rig{db: db, dc: u.DataCenter(), reg: prometheus.NewRegistry(), co: coord.NewMemory(nil)}
	if err := db.LoadDataCenter(ctx, r.dc, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.sim = wecomsim.New(wecomsim.Options{CorpID: corpID, ContactSecret: secret, Fixture: &wecomsim.Fixture{}})
	srv := httptest.NewServer(r.sim)
	t.Cleanup(func() { srv.Close(); r.sim.Close(); r.co.Close() })
	corp, err := wecom.New(wecom.Options{BaseURL: srv.URL, CorpID: corpID, ContactSecret: secret, Coord: r.co, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := corp.Contacts()
	if err != nil {
		t.Fatal(err)
	}
	r.client = cl
	r.mirror, err = contacts.New(db, contacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxShare == 0 {
		cfg.MaxShare = 0.05
	}
	if cfg.Drift == "" {
		cfg.Drift = "reassert"
	}
	if cfg.Members == "" {
		cfg.Members = "all"
	}
	r.runner, err = orgsync.New(orgsync.Options{
		DB: db, Mirror: r.mirror, Coord: r.co, Client: cl, Config: cfg, Registerer: r.reg,
		// Batch jobs advance on the simulator's clock: each poll moves it on.
		Wait: func(ctx context.Context) error {
			if r.wait != nil {
				return r.wait(ctx)
			}
			r.sim.Advance(3 * time.Second)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// setWait replaces the runner with one whose batch polls wait with wait.
func (r *rig) setWait(t *testing.T, wait func(ctx context.Context) error) {
	t.Helper()
	r.wait = wait
}

func (r *rig) writes() int {
	n := 0
	for _, p := range []string{"department/create", "department/update", "department/delete", "user/create", "user/update", "user/delete",
		"tag/create", "tag/update", "tag/delete", "tag/addtagusers", "tag/deltagusers", "batch/syncuser", "batch/replaceparty", "batch/replaceuser"} {
		n += len(r.sim.Calls("/cgi-bin/" + p))
	}
	return n
}

// converged checks that the simulated corp holds exactly the desired
// departments and members (and their enablement).
func (r *rig) converged(t *testing.T, want contacts.Desired) {
	t.Helper()
	snap := r.sim.Snapshot()
	depts := map[int64]wecomsim.Department{}
	for _, d := range snap.Departments {
		depts[d.ID] = d
	}
	for _, d := range want.Departments {
		got, ok := depts[d.ID]
		if !ok {
			t.Errorf("department %d %s is not in WeCom", d.ID, d.Name)
			continue
		}
		if got.Name != d.Name || (d.ID != 1 && got.ParentID != d.ParentID) {
			t.Errorf("department %d is %q under %d in WeCom, want %q under %d", d.ID, got.Name, got.ParentID, d.Name, d.ParentID)
		}
	}
	users := map[string]wecomsim.User{}
	for _, u := range snap.Users {
		users[u.UserID] = u
	}
	for _, m := range want.Members {
		got, ok := users[m.UserID]
		if !ok {
			t.Errorf("member %s is not in WeCom", m.UserID)
			continue
		}
		var ds []int64
		for _, ms := range m.Departments {
			ds = append(ds, ms.Department)
		}
		gd := slices.Clone(got.Department)
		slices.Sort(gd)
		slices.Sort(ds)
		if got.Name != m.Name || !slices.Equal(gd, ds) || got.MainDepartment != m.MainDepartment || (got.Status == 2) == m.Enabled {
			t.Errorf("member %s in WeCom: %q in %v (main %d, status %d); want %q in %v (main %d, enabled %v)",
				m.UserID, got.Name, gd, got.MainDepartment, got.Status, m.Name, ds, m.MainDepartment, m.Enabled)
		}
	}
	if len(snap.Users) != len(want.Members) {
		t.Errorf("WeCom holds %d members, want %d", len(snap.Users), len(want.Members))
	}
	tags := map[string][]string{}
	for _, tg := range snap.Tags {
		us := slices.Clone(tg.UserList)
		slices.Sort(us)
		tags[tg.TagName] = us
	}
	for _, tg := range want.Tags {
		if got := tags[tg.Name]; !slices.Equal(got, tg.Users) {
			t.Errorf("tag %s holds %d members in WeCom, want %d", tg.Name, len(got), len(tg.Users))
		}
	}
}

// bigger is a university large enough for the batch jobs (over
// contacts.BatchMinCreates members) and quick to sync.
func bigger() demo.Scale {
	s := demo.Small()
	s.StudentsPerClass = 70
	s.ClassesPerGrade = 4
	return s
}

// TestFirstLoadThroughBatchJobs: an empty corp's first load creates the
// members through syncuser jobs (polled until they end) and the rest call
// by call; WeCom then equals the desired state; a second run plans nothing
// and writes nothing; the run history keeps the plan, and the metrics count
// the run.
func TestFirstLoadThroughBatchJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, bigger(), orgsync.Config{Batch: true})
		if err := r.mirror.PutTagRule(ctx, nil, contacts.TagRule{Name: "全体辅导员", Rule: `category == "counselor"`, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		res, err := r.runner.Run(ctx, orgsync.RunOptions{Trigger: orgsync.TriggerCLI, Actor: "cli:test"})
		if err != nil {
			t.Fatalf("first run: %v", err)
		}
		if res.Status != store.SyncConverged {
			t.Fatalf("first run %s: %+v", res.Status, res.Report.Failures)
		}
		if res.Batch == nil || res.Batch.Members < contacts.BatchMinCreates || res.Batch.MembersFailed != 0 {
			t.Fatalf("batch = %+v, want the members created by jobs", res.Batch)
		}
		if n := len(r.sim.Calls("/cgi-bin/user/create")); n != 0 {
			t.Errorf("%d user/create calls; the batch jobs should have created every member", n)
		}
		if n := len(r.sim.Calls("/cgi-bin/batch/getresult")); n < 2*len(res.Batch.Jobs) {
			t.Errorf("%d getresult polls for %d jobs: the jobs were not seen running", n, len(res.Batch.Jobs))
		}
		if res.Calls() > len(res.Desired.Departments)+200 {
			t.Errorf("first load made %d calls for %d departments and %d members", res.Calls(), len(res.Desired.Departments), len(res.Desired.Members))
		}
		r.converged(t, res.Desired)

		before := r.writes()
		res2, err := r.runner.Run(ctx, orgsync.RunOptions{Trigger: orgsync.TriggerSchedule})
		if err != nil || res2.Status != store.SyncConverged {
			t.Fatalf("second run: %v %v", err, res2)
		}
		if len(res2.Plan.Ops) != 0 || r.writes() != before {
			t.Errorf("second run planned %d ops (%s) and made %d writes; want none", len(res2.Plan.Ops), res2.Plan.Summary(), r.writes()-before)
		}

		runs, err := db.ListSyncRuns(ctx, nil, 0)
		if err != nil || len(runs) != 2 {
			t.Fatalf("runs = %v, %v", runs, err)
		}
		if runs[1].Trigger != "cli" || runs[1].Actor != "cli:test" || !strings.Contains(runs[1].Counts, `"batch":{`) {
			t.Errorf("first run's record: %+v", runs[1])
		}
		gz, err := db.SyncRunPlan(ctx, nil, runs[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		var kept struct {
			Ops []contacts.Op `json:"ops"`
		}
		if err := json.NewDecoder(zr).Decode(&kept); err != nil {
			t.Fatal(err)
		}
		if len(kept.Ops) != len(res.Plan.Ops) || kept.Ops[0].Kind != res.Plan.Ops[0].Kind {
			t.Errorf("the kept plan has %d operations, the plan %d", len(kept.Ops), len(res.Plan.Ops))
		}
		if got := testutil.ToFloat64(mustCounter(t, r.reg, "converged")); got != 2 {
			t.Errorf("wecomapp_sync_runs_total{status=converged} = %v, want 2", got)
		}
	})
}

// TestBatchJobOfAKilledRun: a first load stopped while its members' job
// runs in WeCom; the next run collects that job's result instead of
// submitting the rows again, and converges with no member created twice.
func TestBatchJobOfAKilledRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, bigger(), orgsync.Config{Batch: true})
		ctx, cancel := context.WithCancel(context.Background())
		r.setWait(t, func(ctx context.Context) error {
			if len(r.sim.Calls("/cgi-bin/batch/syncuser")) > 0 {
				cancel() // killed while the members' job runs
				return ctx.Err()
			}
			r.sim.Advance(3 * time.Second)
			return nil
		})
		res, err := r.runner.Run(ctx, orgsync.RunOptions{})
		if err == nil || res.Status != store.SyncInterrupted {
			t.Fatalf("first run: %v, status %v; want interrupted", err, res)
		}
		if n := len(r.sim.Snapshot().Users); n > 1 {
			t.Logf("%d members in WeCom before the job ended", n)
		}
		r.setWait(t, func(ctx context.Context) error { r.sim.Advance(3 * time.Second); return nil })
		res, err = r.runner.Run(context.Background(), orgsync.RunOptions{})
		if err != nil || res.Status != store.SyncConverged {
			t.Fatalf("second run: %v", err)
		}
		if res.Batch == nil || len(res.Batch.Collected) != 1 {
			t.Fatalf("second run's batch = %+v, want the first run's job collected", res.Batch)
		}
		if n := len(r.sim.Calls("/cgi-bin/batch/syncuser")); n != 1 {
			t.Errorf("%d syncuser jobs submitted, want the one", n)
		}
		if n := len(r.sim.Calls("/cgi-bin/user/create")); n != 0 {
			t.Errorf("%d user/create calls after the job was collected", n)
		}
		r.converged(t, res.Desired)
	})
}

// TestGuardAndConfirm: half the students gone stops the run (nothing
// written, recorded as guard); a confirmed run applies it and is audited.
func TestGuardAndConfirm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, demo.Small(), orgsync.Config{})
		if _, err := r.runner.Run(ctx, orgsync.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		dc := r.dc
		dc.Students = dc.Students[:len(dc.Students)/2]
		if _, err := db.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: dc, Students: true, Replace: true}, time.Now()); err != nil {
			t.Fatal(err)
		}
		before := r.writes()
		_, err := r.runner.Run(ctx, orgsync.RunOptions{Trigger: orgsync.TriggerSchedule})
		var gs *orgsync.GuardStopped
		if !errors.As(err, &gs) || gs.RunID == 0 {
			t.Fatalf("run = %v, want GuardStopped with a run id", err)
		}
		if r.writes() != before {
			t.Fatalf("the guard stopped the run, yet %d writes", r.writes()-before)
		}
		run, err := db.GetSyncRun(ctx, nil, gs.RunID)
		if err != nil || run.Status != store.SyncGuard {
			t.Fatalf("run %d = %+v, %v", gs.RunID, run, err)
		}
		res, err := r.runner.Run(ctx, orgsync.RunOptions{Confirm: true, Trigger: orgsync.TriggerConsole, Actor: "T00027"})
		if err != nil || res.Status != store.SyncConverged {
			t.Fatalf("confirmed run: %v", err)
		}
		disabled := 0
		for _, u := range r.sim.Snapshot().Users {
			if u.Status == 2 {
				disabled++
			}
		}
		if want := len(r.dc.Students) - len(dc.Students); disabled != want {
			t.Errorf("%d disabled, want %d", disabled, want)
		}
		audit, err := db.ListAudit(ctx, store.AuditFilter{Action: "contacts.sync.confirm"})
		if err != nil || len(audit) != 1 || !strings.Contains(audit[0].Actor, "T00027") {
			t.Errorf("confirmation audit = %+v, %v", audit, err)
		}
		if got := testutil.ToFloat64(mustCounter(t, r.reg, "guard")); got != 1 {
			t.Errorf("wecomapp_sync_runs_total{status=guard} = %v, want 1", got)
		}
	})
}

// TestEnrolOne: with sync.members = registered, nobody is a member until
// they enrol; Enrol creates that one person, in their department and tags,
// at once; a plan of the whole university still holds only the enrolled.
func TestEnrolOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, demo.Small(), orgsync.Config{Members: "registered"})
		if err := r.mirror.PutTagRule(ctx, nil, contacts.TagRule{Name: "全体学生", Rule: `kind == "student"`, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		res, err := r.runner.Run(ctx, orgsync.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Desired.Members) != 0 || len(r.sim.Snapshot().Users) != 0 {
			t.Fatalf("registered-only: %d desired members, %d in WeCom; want none", len(res.Desired.Members), len(r.sim.Snapshot().Users))
		}
		s := r.dc.Students[3]
		res, err = r.runner.Enrol(ctx, s.StudentNo, "selfreg", s.StudentNo, time.Second)
		if err != nil {
			t.Fatalf("enrol: %v", err)
		}
		if res.Status != store.SyncConverged {
			t.Fatalf("enrol run %s", res.Status)
		}
		users := r.sim.Snapshot().Users
		if len(users) != 1 || users[0].UserID != s.StudentNo || users[0].Name != s.Name {
			t.Fatalf("WeCom members after enrolment: %+v", users)
		}
		var tagged bool
		for _, tg := range r.sim.Snapshot().Tags {
			if tg.TagName == "全体学生" && slices.Equal(tg.UserList, []string{s.StudentNo}) {
				tagged = true
			}
		}
		if !tagged {
			t.Errorf("the enrolled student is not in 全体学生: %+v", r.sim.Snapshot().Tags)
		}
		if _, err := r.runner.Enrol(ctx, s.StudentNo, "selfreg", s.StudentNo, time.Second); err == nil {
			t.Error("enrolling a member again: no error")
		}
		if _, err := r.runner.Enrol(ctx, "NOBODY", "selfreg", "NOBODY", time.Second); err == nil {
			t.Error("enrolling someone without a record: no error")
		}
		// The nightly run keeps the member and adds nobody else.
		before := r.writes()
		res, err = r.runner.Run(ctx, orgsync.RunOptions{Trigger: orgsync.TriggerSchedule})
		if err != nil || len(res.Plan.Ops) != 0 || r.writes() != before {
			t.Errorf("nightly run after the enrolment: %v, %d ops (%s)", err, len(res.Plan.Ops), res.Plan.Summary())
		}
	})
}

// TestVerifyAndBusy: --verify lists a member deleted in the console and
// one made there; a second run while the lock is held is refused.
func TestVerifyAndBusy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, demo.Small(), orgsync.Config{})
		if _, err := r.runner.Run(ctx, orgsync.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		v, err := r.runner.Verify(ctx)
		if err != nil || !v.Clean() {
			t.Fatalf("verify after a converged run: %+v, %v", v, err)
		}
		gone := r.dc.Faculty[2].StaffNo
		if err := r.sim.AdminDeleteUser(gone); err != nil {
			t.Fatal(err)
		}
		if err := r.sim.AdminCreateUser(wecomsim.User{UserID: "console1", Name: "控制台建", Department: []int64{1}, Mobile: "13900001111"}); err != nil {
			t.Fatal(err)
		}
		v, err = r.runner.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(v.MissingMembers, []string{gone}) || !slices.Equal(v.ExtraMembers, []string{"console1"}) {
			t.Errorf("verify: missing %v extra %v; want [%s] [console1]", v.MissingMembers, v.ExtraMembers, gone)
		}

		lock, err := r.co.TryLock(ctx, orgsync.Lock, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release(ctx) //nolint:errcheck
		if _, err := r.runner.Run(ctx, orgsync.RunOptions{}); !errors.Is(err, orgsync.ErrBusy) {
			t.Errorf("run with the lock held elsewhere: %v, want ErrBusy", err)
		}
	})
}

func mustCounter(t *testing.T, reg *prometheus.Registry, status string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
	for _, mf := range mfs {
		if mf.GetName() != "wecomapp_sync_runs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() == status {
					c.Add(m.GetCounter().GetValue()) // summed over triggers
				}
			}
		}
	}
	return c
}

// TestDriftReported: with sync.drift = report, a member changed in the
// console is left as it is and listed; with reassert, the next run writes
// the data center's values back with one update.
func TestDriftReported(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, demo.Small(), orgsync.Config{Drift: "report"})
		if _, err := r.runner.Run(ctx, orgsync.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		who := r.dc.Faculty[5].StaffNo
		if err := r.sim.AdminUpdateUser(who, map[string]any{"position": "console edit"}); err != nil {
			t.Fatal(err)
		}
		// The change_contact event, as the inbox hands it to the mirror.
		if err := db.MarkMirrorTouched(ctx, nil, store.MirrorTouch{Kind: store.MirrorKindMember, ID: who, Event: "update_user", TouchedAt: store.Millis(time.Now()), FirstAt: store.Millis(time.Now())}); err != nil {
			t.Fatal(err)
		}
		before := len(r.sim.Calls("/cgi-bin/user/update"))
		res, err := r.runner.Run(ctx, orgsync.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Drift) != 1 || res.Drift[0].ID != who || len(r.sim.Calls("/cgi-bin/user/update")) != before {
			t.Fatalf("report: drift %+v, %d updates; want %s listed and left", res.Drift, len(r.sim.Calls("/cgi-bin/user/update"))-before, who)
		}
		run, _ := db.GetSyncRun(ctx, nil, res.RunID)
		if !strings.Contains(run.Counts, `"drift":["member `+who+`"]`) {
			t.Errorf("the run's record lacks the drift: %s", run.Counts)
		}
		// Reasserted: one update, and the touch is cleared.
		r2, err := orgsync.New(orgsync.Options{DB: db, Mirror: r.mirror, Coord: r.co, Client: r.runnerClient(t), Config: orgsync.Config{Drift: "reassert", MaxShare: 0.05, Members: "all"}})
		if err != nil {
			t.Fatal(err)
		}
		res, err = r2.Run(ctx, orgsync.RunOptions{})
		if err != nil || len(r.sim.Calls("/cgi-bin/user/update")) != before+1 {
			t.Fatalf("reassert: %v, %d updates", err, len(r.sim.Calls("/cgi-bin/user/update"))-before)
		}
		for _, u := range r.sim.Snapshot().Users {
			if u.UserID == who && u.Position == "console edit" {
				t.Errorf("the console's position stayed")
			}
		}
		if ts, _ := r.mirror.Touched(ctx); len(ts) != 0 {
			t.Errorf("touches left: %+v", ts)
		}
	})
}
