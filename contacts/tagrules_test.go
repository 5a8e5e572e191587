package contacts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// TestMirrorTagRules: the console saves rules through the mirror, which
// refuses a rule that does not compile (naming it) and keeps the others.
func TestMirrorTagRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newMirror(t, db)
		good := contacts.TagRule{Name: "辅导员", Rule: `category == "counselor"`, Enabled: true}
		if err := m.PutTagRule(ctx, nil, good); err != nil {
			t.Fatal(err)
		}
		err := m.PutTagRule(ctx, nil, contacts.TagRule{Name: "拼错", Rule: `catgory == "staff"`, Enabled: true})
		if err == nil || !strings.Contains(err.Error(), `tag rule "拼错"`) {
			t.Fatalf("a broken rule: %v", err)
		}
		got, err := m.TagRules(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []contacts.TagRule{{Name: "辅导员", Rule: good.Rule, Kind: contacts.TagKindUser, Enabled: true, UpdatedAt: time.Unix(1_800_000_000, 0).UTC()}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("rules (-want +got):\n%s", d)
		}
		if ok, err := m.DeleteTagRule(ctx, nil, "辅导员"); err != nil || !ok {
			t.Fatalf("delete: %v %v", ok, err)
		}
		if got, _ := m.TagRules(ctx, nil); len(got) != 0 {
			t.Errorf("after delete: %v", got)
		}
	})
}

// TestPlanAgainstStoredMirror: the desired state written to a real mirror
// the way the apply engine will (PutDepartments, PutMembers, PutTags,
// AddTagMembers) and loaded back plans nothing: the plan compares what the
// store gives back, empty lists and all.
func TestPlanAgainstStoredMirror(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newMirror(t, db)
		u := smallDemo()
		rules := demoRules(u)
		d := desiredOf(t, u.DataCenter(), rules)
		first := contacts.BuildPlan(d, contacts.State{}, contacts.PlanOptions{})
		at := time.Unix(1_800_000_000, 0)
		var depts []contacts.Department
		var members []contacts.Member
		var tags []contacts.Tag
		for _, op := range first.Ops {
			switch {
			case op.WantDepartment != nil:
				depts = append(depts, *op.WantDepartment)
			case op.WantMember != nil:
				members = append(members, *op.WantMember)
			case op.Kind == contacts.OpCreateTag:
				tags = append(tags, contacts.Tag{ID: op.Tag, Name: op.TagName})
			}
		}
		if err := m.PutDepartments(ctx, nil, depts, at); err != nil {
			t.Fatal(err)
		}
		if err := m.PutMembers(ctx, nil, members, at); err != nil {
			t.Fatal(err)
		}
		if err := m.PutTags(ctx, nil, tags, at); err != nil {
			t.Fatal(err)
		}
		for _, op := range first.Ops {
			if op.Kind == contacts.OpAddTagUsers {
				if err := m.AddTagMembers(ctx, nil, op.Tag, op.Users, op.Parties, at); err != nil {
					t.Fatal(err)
				}
			}
		}
		st, err := m.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := contacts.BuildDesired(u.DataCenter(), rules, contacts.DesiredOptions{IDs: contacts.IDsFromMirror(st)})
		if p := contacts.BuildPlan(d2, st, contacts.PlanOptions{Now: at, DeleteAfter: time.Hour}); len(p.Ops) != 0 {
			t.Errorf("second plan over the stored mirror: %s\n%s", p.Summary(), strings.Join(describe(p, st)[:min(5, len(p.Ops))], "\n"))
		}
	})
}
