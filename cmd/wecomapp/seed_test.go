package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store"
)

// TestSeedTagRules: the seed saves the demo's tag rules and says how many;
// seeding again rewrites nothing, puts back a demo rule edited meanwhile,
// and leaves the console's own rules alone.
func TestSeedTagRules(t *testing.T) {
	c := newDCCLI(t)
	seed := func() string {
		t.Helper()
		var o, e bytes.Buffer
		if err := cmdSeed(context.Background(), &env{stdout: &o, stderr: &e, configPath: c.cfgPath}, nil); err != nil {
			t.Fatalf("seed: %v\n%s", err, e.String())
		}
		return o.String()
	}
	want := demo.Generate(demo.Small()).TagRules()
	out := seed()
	if !strings.HasPrefix(out, "seeded 海滨大学: ") || !strings.HasSuffix(out, " students in the data-center tables, "+strconv.Itoa(len(want))+" tag rules\n") {
		t.Fatalf("seed said %q, want the counts and %d tag rules", out, len(want))
	}

	cfg, err := config.Load(c.cfgPath, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := openDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	saved := func() map[string]store.TagRule {
		t.Helper()
		rows, err := db.ListTagRules(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.TagRule{}
		for _, r := range rows {
			out[r.Name] = r
		}
		return out
	}
	first := saved()
	if len(first) != len(want) {
		t.Fatalf("%d rules saved, want %d", len(first), len(want))
	}
	for _, r := range want {
		if got := first[r.Name]; got.Rule != r.Rule || !got.Enabled || got.Kind != "user" {
			t.Errorf("rule %s saved as %+v, want %q enabled", r.Name, got, r.Rule)
		}
	}

	// Meanwhile the console disables a demo rule and adds one of its own.
	class := want[len(want)-1]
	later := time.UnixMilli(first[class.Name].UpdatedAt).Add(time.Minute)
	if err := db.PutTagRule(ctx, nil, store.TagRule{Name: class.Name, Rule: class.Rule, Kind: "user", Enabled: false}, later); err != nil {
		t.Fatal(err)
	}
	own := store.TagRule{Name: "招生宣传志愿者", Rule: `kind == "student" && grade == 2025`, Kind: "user", Enabled: true}
	if err := db.PutTagRule(ctx, nil, own, later); err != nil {
		t.Fatal(err)
	}
	if out2 := seed(); out2 != out {
		t.Errorf("second seed said %q, first %q", out2, out)
	}
	second := saved()
	if len(second) != len(want)+1 || second[own.Name].Rule != own.Rule {
		t.Errorf("%d rules after the second seed; the console's rule: %+v", len(second), second[own.Name])
	}
	if r := second[class.Name]; !r.Enabled {
		t.Errorf("the edited demo rule was not put back: %+v", r)
	}
	for name, r := range first {
		if name != class.Name && second[name].UpdatedAt != r.UpdatedAt {
			t.Errorf("rule %s rewritten by the second seed", name)
			break
		}
	}
}
