package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// TestSyncDryRun plans the first sync of the demo university loaded from
// its CSV exports: every department and member is to be created, nothing
// else, and the plan file holds each operation.
func TestSyncDryRun(t *testing.T) {
	c := newDCCLI(t)
	if _, stderr, err := c.run(append([]string{"load"}, c.all()...)...); err != nil {
		t.Fatalf("dc load: %v\n%s", err, stderr)
	}
	sync := func(args ...string) (string, string, error) {
		var o, e bytes.Buffer
		err := cmdSync(context.Background(), &env{stdout: &o, stderr: &e, configPath: c.cfgPath}, args)
		return o.String(), e.String(), err
	}
	if _, _, err := sync("extra"); exitCode(err) != 2 {
		t.Errorf("sync with an argument: %v (exit %d), want exit 2", err, exitCode(err))
	}
	plan := filepath.Join(c.dir, "plan.jsonl")
	out, stderr, err := sync("--dry-run", "--plan", plan)
	if err != nil {
		t.Fatalf("sync --dry-run: %v\n%s", err, stderr)
	}
	want := []string{
		"desired: 47 departments, 212 members",
		"mirror: 0 departments, 0 members",
		"plan: 259 operations: create_department 47, create_user 212",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"kind":"create_user","user`); n != 212 {
		t.Errorf("the plan file has %d create_user operations, want 212", n)
	}
	if strings.Contains(string(b), "13900000001") || !strings.Contains(string(b), `"mobile":"139****0001"`) {
		t.Error("the plan file does not show the first member's mobile masked (139****0001)")
	}
}

// syncCLI is the dc CLI's configuration pointed at a simulated empty corp
// (today's rules) served over HTTP, as a standalone `wecomapp sim --seed
// empty` would be: wecom.api_base and corp_id in the file, the
// contacts-sync secret from the environment.
type syncCLI struct {
	*dcCLI
	sim     *wecomsim.Sim
	environ []string
}

func newSyncCLI(t *testing.T, extraConfig string) *syncCLI {
	t.Helper()
	c := &syncCLI{dcCLI: newDCCLI(t)}
	c.sim = wecomsim.New(wecomsim.Options{CorpID: "wwsynctest0000001", ContactSecret: "sync-secret-0123456789", Fixture: &wecomsim.Fixture{}})
	srv := httptest.NewServer(c.sim)
	t.Cleanup(func() { srv.Close(); c.sim.Close() })
	f, err := os.OpenFile(c.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "wecom:\n  api_base: %q\n  corp_id: wwsynctest0000001\n%s", srv.URL, extraConfig)
	f.Close()
	c.environ = []string{"WECOMAPP_WECOM_CONTACTS_SECRET=sync-secret-0123456789"}
	if _, stderr, err := c.run(append([]string{"load"}, c.all()...)...); err != nil {
		t.Fatalf("dc load: %v\n%s", err, stderr)
	}
	return c
}

func (c *syncCLI) sync(args ...string) (string, string, error) {
	var o, e bytes.Buffer
	err := cmdSync(context.Background(), &env{stdout: &o, stderr: &e, configPath: c.cfgPath, environ: c.environ}, args)
	return o.String(), e.String(), err
}

func (c *syncCLI) writes() int {
	n := 0
	for _, p := range []string{"department/create", "department/update", "department/delete", "user/create", "user/update", "user/delete",
		"tag/create", "tag/update", "tag/delete", "tag/addtagusers", "tag/deltagusers"} {
		n += len(c.sim.Calls("/cgi-bin/" + p))
	}
	return n
}

func (c *syncCLI) runs(t *testing.T) []store.SyncRun {
	t.Helper()
	cfg, err := config.Load(c.cfgPath, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.ListSyncRuns(context.Background(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestSyncApply runs `wecomapp sync` end to end against the simulated
// corp: a member whose mobile someone else holds fails (exit 1, listed
// with its errcode and advice) while everything else applies; once that is
// fixed the next run converges (exit 0) with one create; a run after it
// writes nothing; an export with half the students missing is stopped by
// the guard (exit 2) with nothing disabled; and each run is in the
// history.
func TestSyncApply(t *testing.T) {
	c := newSyncCLI(t, "")
	victim := c.dc.Students[0]
	if err := c.sim.AdminCreateUser(wecomsim.User{UserID: "outsider", Name: "外人", Department: []int64{1}, Mobile: victim.Mobile}); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := c.sync()
	if exitCode(err) != 1 {
		t.Fatalf("first sync: %v (exit %d), want exit 1\n%s\n%s", err, exitCode(err), out, stderr)
	}
	for _, w := range []string{
		"plan: 259 operations",
		"258 applied, 1 failed, 0 skipped of 259 operations; 259 API calls",
		"failed: create_user member " + victim.StudentNo + ": errcode 60104",
		"what to do: the mobile number belongs to another member",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("first sync output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(stderr, "sync: 259/259 operations (100%)") || !strings.Contains(stderr, "sync: 25/259 operations (9%)") {
		t.Errorf("no plain progress lines every 10 %%:\n%s", stderr)
	}
	if err := c.sim.AdminDeleteUser("outsider"); err != nil {
		t.Fatal(err)
	}
	before := c.writes()
	out, stderr, err = c.sync()
	if err != nil {
		t.Fatalf("second sync: %v\n%s\n%s", err, out, stderr)
	}
	if !strings.Contains(out, "plan: 1 operations: create_user 1") || !strings.Contains(out, "converged") || c.writes()-before != 1 {
		t.Errorf("second sync: %d writes, want the one create:\n%s", c.writes()-before, out)
	}
	if len(c.sim.Snapshot().Users) != 212 {
		t.Errorf("WeCom has %d members, want 212", len(c.sim.Snapshot().Users))
	}
	before = c.writes()
	out, _, err = c.sync()
	if err != nil || !strings.Contains(out, "plan: nothing to do") || c.writes() != before {
		t.Errorf("third sync: %v, %d writes:\n%s", err, c.writes()-before, out)
	}

	// Half the students go missing from the export.
	dc := c.dc
	dc.Students = dc.Students[:len(dc.Students)/2]
	c.write(t, dc)
	if _, stderr, err := c.run(append([]string{"load", "--replace", "--yes"}, c.all()...)...); err != nil {
		t.Fatalf("dc load: %v\n%s", err, stderr)
	}
	before = c.writes()
	out, _, err = c.sync()
	if exitCode(err) != 2 || !strings.Contains(out, "nothing applied") {
		t.Errorf("sync of the half export: %v (exit %d), want the guard (exit 2):\n%s", err, exitCode(err), out)
	}
	if c.writes() != before {
		t.Errorf("the guard stopped the run but %d writes were made", c.writes()-before)
	}
	for _, u := range c.sim.Snapshot().Users {
		if u.Status == 2 {
			t.Errorf("member %s is disabled", u.UserID)
		}
	}

	var got []string
	for _, r := range c.runs(t) {
		got = append(got, r.Status)
	}
	if want := []string{store.SyncGuard, store.SyncConverged, store.SyncConverged, store.SyncFailed}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("run history (newest first) %v, want %v", got, want)
	}
	if rs := c.runs(t); !strings.Contains(rs[3].Failures, `"errcode":60104`) || !strings.Contains(rs[3].Counts, `"applied":258`) {
		t.Errorf("the failed run's record: counts %s failures %s", rs[3].Counts, rs[3].Failures)
	}

	// Confirmed, the guard lets it through (the leavers are disabled).
	out, _, err = c.sync("--yes", "--max-share", "0.05")
	if err != nil || !strings.Contains(out, "confirmed with --yes") {
		t.Errorf("sync --yes: %v\n%s", err, out)
	}
	disabled := 0
	for _, u := range c.sim.Snapshot().Users {
		if u.Status == 2 {
			disabled++
		}
	}
	if want := len(c.dc.Students) - len(dc.Students); disabled != want {
		t.Errorf("%d members disabled after --yes, want the %d students missing", disabled, want)
	}
}

// TestSyncLockHeld: with Redis as the coordination layer, a sync refuses
// to start while another instance holds the sync's lock.
func TestSyncLockHeld(t *testing.T) {
	prefix := fmt.Sprintf("wecomapp-synctest-%d:", time.Now().UnixNano())
	r := coord.NewRedis(coord.RedisOptions{Addr: "127.0.0.1:6379", Prefix: prefix})
	defer r.Close()
	if err := r.Ping(context.Background()); err != nil {
		t.Skipf("no Redis at 127.0.0.1:6379: %v", err)
	}
	c := newSyncCLI(t, fmt.Sprintf("redis:\n  addr: 127.0.0.1:6379\n  prefix: %q\n", prefix))
	l, err := r.TryLock(context.Background(), orgsync.Lock, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.sync()
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "another sync is running") {
		t.Errorf("sync while the lock is held: %v", err)
	}
	if n := c.writes(); n != 0 {
		t.Errorf("%d writes while the lock was held", n)
	}
	if err := l.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.sync(); err != nil {
		t.Errorf("sync once the lock is free: %v", err)
	}
}
