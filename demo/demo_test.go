package demo

import (
	"testing"
)

func TestFullScaleHasThePapersFigures(t *testing.T) {
	u := Generate(Full())
	if n := len(u.Departments); n != 2013 {
		t.Errorf("departments = %d, want 2,013 (Guangdong Ocean University)", n)
	}
	if n := len(u.People); n < 35500 || n > 36500 {
		t.Errorf("people = %d, want about 36,000", n)
	}
	if n := len(u.Tags); n < 2400 || n > 3000 {
		t.Errorf("tags = %d, want 2,400+ and within WeCom's 3,000 cap", n)
	}
	active := 0
	for _, p := range u.People {
		if p.Status == 1 {
			active++
		}
	}
	if r := float64(active) / float64(len(u.People)); r < 0.93 || r > 0.97 {
		t.Errorf("active share = %.3f, want about 95 %%", r)
	}
	checkConsistent(t, u)
}

func TestSmallIsDeterministicAndComplete(t *testing.T) {
	a, b := Generate(Small()), Generate(Small())
	if len(a.People) != len(b.People) || a.People[10].Name != b.People[10].Name || a.People[10].Mobile != b.People[10].Mobile {
		t.Fatal("two generations of the same scale differ")
	}
	seen := map[string]bool{}
	multi := 0
	for _, p := range a.People {
		for _, c := range p.Categories {
			seen[c] = true
		}
		if len(p.Categories) > 2 {
			multi++
		}
	}
	for _, c := range []string{CatLeader, CatCadre, CatStaff, CatNonStaffed, CatCounselor, CatUndergrad, CatPostgrad, CatAlumnus, CatExaminee, CatVisitor, CatRetired} {
		if !seen[c] {
			t.Errorf("no %s in the demo university", c)
		}
	}
	if multi == 0 {
		t.Error("nobody has several identities")
	}
	checkConsistent(t, a)
}

func checkConsistent(t *testing.T, u *University) {
	t.Helper()
	depth := map[int]int{}
	ids := map[int]bool{}
	names := map[[2]any]bool{}
	for _, d := range u.Departments {
		if ids[d.ID] {
			t.Fatalf("department id %d twice", d.ID)
		}
		ids[d.ID] = true
		if d.ID != RootID {
			if !ids[d.ParentID] {
				t.Fatalf("department %d listed before its parent %d", d.ID, d.ParentID)
			}
			depth[d.ID] = depth[d.ParentID] + 1
			if depth[d.ID] > 15 {
				t.Fatalf("department %d deeper than WeCom's 15 levels", d.ID)
			}
		}
		k := [2]any{d.ParentID, d.Name}
		if names[k] {
			t.Fatalf("two departments named %s under %d (WeCom 60008)", d.Name, d.ParentID)
		}
		names[k] = true
		if n := len([]rune(d.Name)); n < 1 || n > 32 {
			t.Fatalf("department name %q breaks WeCom's 1-32 characters", d.Name)
		}
	}
	users := map[string]bool{}
	mobiles := map[string]bool{}
	for _, p := range u.People {
		if users[p.UserID] || mobiles[p.Mobile] {
			t.Fatalf("duplicate userid or mobile: %s %s", p.UserID, p.Mobile)
		}
		users[p.UserID], mobiles[p.Mobile] = true, true
		for _, d := range p.Departments {
			if !ids[d] {
				t.Fatalf("%s in unknown department %d", p.UserID, d)
			}
		}
	}
	tagNames := map[string]bool{}
	for _, tg := range u.Tags {
		if tagNames[tg.Name] || len([]rune(tg.Name)) > 32 {
			t.Fatalf("tag name %q duplicated or longer than 32", tg.Name)
		}
		tagNames[tg.Name] = true
		if len(tg.Users)+len(tg.Parties) > 30000 {
			t.Fatalf("tag %s has %d members, over WeCom's 30,000", tg.Name, len(tg.Users)+len(tg.Parties))
		}
		for _, uid := range tg.Users {
			if !users[uid] {
				t.Fatalf("tag %s lists unknown user %s", tg.Name, uid)
			}
		}
	}
}
