package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if _, _, err := sync(); exitCode(err) != 2 || !strings.Contains(err.Error(), "--dry-run") {
		t.Errorf("sync without --dry-run: %v (exit %d), want exit 2 pointing at --dry-run", err, exitCode(err))
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
