package demo

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/contacts"
)

// desiredTags builds the desired state of u's data center under its tag
// rules, the demo's other tags kept and counted against the corp's cap.
func desiredTags(t testing.TB, u *University) ([]contacts.TagRule, contacts.Desired, []contacts.Problem) {
	t.Helper()
	rules := u.TagRules()
	kept := u.KeptTags()
	d, probs := contacts.BuildDesired(u.DataCenter(), rules, contacts.DesiredOptions{KeepTags: kept, OtherTags: len(kept)})
	return rules, d, probs
}

// checkTags: every rule compiles and makes a tag that is neither empty nor
// over WeCom's limits, and BuildDesired finds nothing wrong.
func checkTags(t *testing.T, rules []contacts.TagRule, d contacts.Desired, probs []contacts.Problem) map[string][]string {
	t.Helper()
	for _, r := range rules {
		if err := contacts.ValidateTagRule(r); err != nil {
			t.Error(err)
		}
		if !r.Enabled || r.Kind != contacts.TagKindUser {
			t.Errorf("rule %s: enabled %v, kind %q", r.Name, r.Enabled, r.Kind)
		}
	}
	for _, p := range probs {
		if p.Severity == contacts.Error {
			t.Errorf("problem: %s", p)
		}
	}
	got := map[string][]string{}
	for _, tg := range d.Tags {
		got[tg.Name] = tg.Users
		if len(tg.Users) == 0 || len(tg.Users) > contacts.MaxTagMembers {
			t.Errorf("tag %s has %d members", tg.Name, len(tg.Users))
		}
	}
	if len(got) != len(rules) {
		t.Errorf("%d rules made %d tags (held: %v)", len(rules), len(got), d.HeldTags)
	}
	return got
}

// TestTagRulesSmall: the small university's rules make their tags, the
// class tags hold their classes, and every tag the demo has under a rule's
// name has the demo's members, so that the workbench roles resolved from
// the demo's person_tags are the ones a sync would make.
func TestTagRulesSmall(t *testing.T) {
	s := Small()
	s.Year = 2025
	u := Generate(s)
	rules, d, probs := desiredTags(t, u)
	got := checkTags(t, rules, d, probs)
	if n := len(rules); n < 100 || n > 250 {
		t.Errorf("%d rules at the small scale", n)
	}
	if testing.Verbose() {
		logFigures(t, rules, d)
	}
	if again := Generate(s).TagRules(); !slices.Equal(again, rules) {
		t.Error("the rules differ from one generation to the next")
	}

	// Class tags: exactly the class's students.
	classes := 0
	for _, dep := range u.Departments {
		if dep.Kind != KindClass {
			continue
		}
		classes++
		var want []string
		for _, p := range u.People {
			if p.Main() == CatUndergrad && p.MainDepartment == dep.ID {
				want = append(want, p.UserID)
			}
		}
		sort.Strings(want)
		if diff := cmp.Diff(want, got[dep.Name]); diff != "" || len(want) != s.StudentsPerClass {
			t.Errorf("class %s (-want +got):\n%s", dep.Name, diff)
		}
	}
	if classes != s.Colleges*s.Grades*s.ClassesPerGrade {
		t.Fatalf("%d classes", classes)
	}

	// The demo's tags of the same names: the same members, among the
	// members the data center has.
	inDC := map[string]bool{}
	for _, m := range d.Members {
		inDC[m.UserID] = true
	}
	demoMembers := map[string][]string{}
	for _, pt := range u.PersonTags() {
		if inDC[pt.UserID] {
			demoMembers[pt.Tag] = append(demoMembers[pt.Tag], pt.UserID)
		}
	}
	kept := u.KeptTags()
	shared := 0
	for _, tg := range u.Tags {
		users, ok := got[tg.Name]
		if !ok {
			if !slices.Contains(kept, tg.Name) {
				t.Errorf("demo tag %s is neither made by a rule nor kept", tg.Name)
			}
			continue
		}
		shared++
		want := slices.Clone(demoMembers[tg.Name])
		sort.Strings(want)
		if diff := cmp.Diff(want, users); diff != "" {
			t.Errorf("tag %s: the rule's members against the demo's (-demo +rule):\n%s", tg.Name, diff)
		}
	}
	// What no rule makes: people outside the data center, and what it has
	// no field for (班长, 班主任, course groups: teaching assignments).
	for _, name := range kept {
		if !strings.Contains(name, "课程") && !slices.Contains([]string{"校友", "考生", "访客", TagClassMonitor, TagClassAdvisor}, name) {
			t.Errorf("demo tag %s has no rule", name)
		}
	}
	if shared < len(u.Tags)/2 {
		t.Errorf("only %d of the demo's %d tags are made by rules", shared, len(u.Tags))
	}

	// The tags the workbench catalog's roles read: made by a rule, except
	// those the data center has nothing to express them with.
	inTags := regexp.MustCompile(`"([^"]+)" in tags`)
	var unexpressed []string
	for _, role := range readCatalog(t).Roles {
		for _, m := range inTags.FindAllStringSubmatch(role.Rule, -1) {
			if _, ok := got[m[1]]; !ok && !slices.Contains(unexpressed, m[1]) {
				unexpressed = append(unexpressed, m[1])
			}
		}
	}
	sort.Strings(unexpressed)
	// 班主任: no class advisors in the data center; 班长: no student positions.
	if diff := cmp.Diff([]string{TagClassAdvisor, TagClassMonitor}, unexpressed); diff != "" {
		t.Errorf("catalog tags without a rule (-want +got):\n%s", diff)
	}
	for _, name := range unexpressed {
		if !slices.Contains(kept, name) {
			t.Errorf("catalog tag %s is not kept", name)
		}
	}
	for _, name := range []string{"教职工", TagDeptAdmin, TagSupervisor} {
		if len(got[name]) == 0 {
			t.Errorf("catalog tag %s is empty", name)
		}
	}
}

// TestTagRulesFull: at the paper's scale, about 2,400 rules, none too big
// for a tag, and room under the corp's 3,000 tags.
func TestTagRulesFull(t *testing.T) {
	if testing.Short() {
		t.Skip("full scale")
	}
	s := Full()
	s.Year = 2025
	u := Generate(s)
	rules, d, probs := desiredTags(t, u)
	got := checkTags(t, rules, d, probs)
	if n := len(rules); n < 2300 || n > 2500 {
		t.Errorf("%d rules at full scale, want about 2,400 and at most 2,500", n)
	}
	// 本科生 would hold every undergraduate (31,104): it has no rule; the
	// cohorts stand in for it.
	if _, ok := got["本科生"]; ok || !slices.Contains(u.KeptTags(), "本科生") {
		t.Errorf("本科生 has a rule at full scale")
	}
	for _, name := range []string{"2025级本科生", "2022级本科生"} {
		if n := len(got[name]); n != s.Colleges*s.ClassesPerGrade*s.StudentsPerClass {
			t.Errorf("%s has %d members", name, n)
		}
	}
	if testing.Verbose() {
		logFigures(t, rules, d)
	}
}

// logFigures logs the rules by family and the tags' sizes.
func logFigures(t *testing.T, rules []contacts.TagRule, d contacts.Desired) {
	family := map[string]int{}
	for _, r := range rules {
		f := "university-wide"
		switch {
		case strings.HasPrefix(r.Rule, "dept == ") && strings.HasSuffix(r.Rule, `kind == "student"`):
			f = "class"
		case strings.Contains(r.Rule, "college == "):
			f = "college students"
		case strings.HasPrefix(r.Rule, `kind == "student" && `) && strings.HasSuffix(r.Rule, " in depts"):
			f = "grade"
		case strings.Contains(r.Rule, " in depts"):
			f = "unit (college, office, 系)"
		}
		family[f]++
	}
	sizes := make([]int, len(d.Tags))
	for i, tg := range d.Tags {
		sizes[i] = len(tg.Users)
	}
	slices.Sort(sizes)
	t.Logf("%d rules by family: %v; tag sizes: min %d, median %d, max %d", len(rules), family, sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1])
}

// BenchmarkBuildDesiredFull: the full-scale university's desired state
// under its 2,400 rules.
func BenchmarkBuildDesiredFull(b *testing.B) {
	s := Full()
	s.Year = 2025
	u := Generate(s)
	dc := u.DataCenter()
	rules := u.TagRules()
	b.ReportAllocs()
	for b.Loop() {
		contacts.BuildDesired(dc, rules, contacts.DesiredOptions{})
	}
}
