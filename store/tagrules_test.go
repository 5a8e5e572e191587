package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// TestTagRules: rules are saved, replaced by name, listed by name and
// deleted, on both engines; a rule too long for the column is refused.
func TestTagRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t1 := time.UnixMilli(1_700_000_000_000)
		rules := []store.TagRule{
			{Name: "水产2024级本科生", Rule: `kind == "student" && grade == 2024 && "水产学院" in dept_names`, Kind: "user", Enabled: true},
			{Name: "辅导员", Rule: `category == "counselor"`, Kind: "user", Enabled: true},
			{Name: "Zulu", Rule: `leader`, Kind: "user"},
		}
		for _, r := range rules {
			if err := db.PutTagRule(ctx, nil, r, t1); err != nil {
				t.Fatal(err)
			}
		}
		// Replacing one: a new rule, disabled, later.
		t2 := t1.Add(time.Minute)
		changed := store.TagRule{Name: "辅导员", Rule: `category == "counselor" && status == "active"`, Kind: "user"}
		if err := db.PutTagRule(ctx, nil, changed, t2); err != nil {
			t.Fatal(err)
		}
		got, err := db.ListTagRules(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.TagRule{
			{Name: "Zulu", Rule: `leader`, Kind: "user", UpdatedAt: t1.UnixMilli()},
			{Name: "水产2024级本科生", Rule: rules[0].Rule, Kind: "user", Enabled: true, UpdatedAt: t1.UnixMilli()},
			{Name: "辅导员", Rule: changed.Rule, Kind: "user", UpdatedAt: t2.UnixMilli()},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("list (-want +got):\n%s", d)
		}

		ok, err := db.DeleteTagRule(ctx, nil, "Zulu")
		if err != nil || !ok {
			t.Fatalf("delete: %v, %v", ok, err)
		}
		if ok, err := db.DeleteTagRule(ctx, nil, "Zulu"); err != nil || ok {
			t.Fatalf("delete again: %v, %v; want false, nil", ok, err)
		}
		got, err = db.ListTagRules(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "水产2024级本科生" {
			t.Errorf("after delete: %+v", got)
		}

		// Through a transaction, rolled back: nothing stays.
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutTagRule(ctx, tx, store.TagRule{Name: "临时", Rule: "true", Kind: "user"}, t2); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ListTagRules(ctx, nil); len(got) != 2 {
			t.Errorf("a rolled-back put stayed: %+v", got)
		}

		// WeCom's longest name, 32 Chinese characters (96 bytes), fits.
		if err := db.PutTagRule(ctx, nil, store.TagRule{Name: strings.Repeat("标", 32), Rule: "true", Kind: "user"}, t2); err != nil {
			t.Errorf("a 32-character name: %v", err)
		}
		long := store.TagRule{Name: strings.Repeat("标", store.TagRuleNameMax+1), Rule: "true", Kind: "user"}
		if err := db.PutTagRule(ctx, nil, long, t2); err == nil {
			t.Error("a name longer than the column was saved")
		}
	})
}
