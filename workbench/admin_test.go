package workbench

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func TestSaveRoleRefusesBadInput(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		good := Role{Key: "staff", Name: "教职工", Identity: "faculty", Rule: `kind == "faculty"`, Workbench: "staff", Priority: 500, Enabled: true}
		tests := []struct {
			name  string
			edit  func(r *Role)
			field string
			msg   string // part of the message
		}{
			{"syntax error", func(r *Role) { r.Rule = `kind == ` }, "rule", "unexpected token"},
			{"unknown variable", func(r *Role) { r.Rule = `kind == "faculty" && rank > 3` }, "rule", "unknown name rank"},
			{"not boolean", func(r *Role) { r.Rule = `grade + 1` }, "rule", "bool"},
			{"empty rule", func(r *Role) { r.Rule = " " }, "rule", "empty"},
			{"empty name", func(r *Role) { r.Name = "" }, "name", "empty"},
			{"unknown identity", func(r *Role) { r.Identity = "teacher" }, "identity", "teacher"},
			{"missing workbench", func(r *Role) { r.Workbench = "nowhere" }, "workbench", "nowhere"},
			{"bad key", func(r *Role) { r.Key = "Staff Role" }, "key", "Staff Role"},
		}
		before, err := f.s.Roles(f.ctx())
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			r := good
			tt.edit(&r)
			err := f.s.SaveRole(f.ctx(), admin, r)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || !strings.Contains(ve.Msg, tt.msg) {
				t.Errorf("%s: err = %v, want a ValidationError on %s mentioning %q", tt.name, err, tt.field, tt.msg)
			}
		}
		// The position of a syntax error is in the message.
		err = f.s.SaveRole(f.ctx(), admin, Role{Key: "staff", Name: "x", Identity: "faculty", Rule: `kind == "faculty" &&& true`, Workbench: "staff"})
		if err == nil || !strings.Contains(err.Error(), "(1:") {
			t.Errorf("syntax error without position: %v", err)
		}
		after, err := f.s.Roles(f.ctx())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("refused saves changed the roles (-before +after):\n%s", diff)
		}
		if n := len(f.audits(t)); n != 0 {
			t.Errorf("refused saves wrote %d audit rows", n)
		}
		if h := f.home(t, "T1", "staff"); h.Current.Role != "staff" {
			t.Errorf("staff role broken after refused saves: %+v", h.Current)
		}
	})
}

func TestEverySaveWritesOneAuditRow(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := f.ctx()
		wb, err := f.s.WorkbenchDef(ctx, "staff")
		if err != nil {
			t.Fatal(err)
		}
		common := wb.Sections[0]
		var secID, tileID int64
		type check struct {
			action, object string
			before, after  string // substrings of the JSON; "null" means exactly null
		}
		steps := []struct {
			name string
			do   func() error
			want func() check
		}{
			{"update role", func() error {
				return f.s.SaveRole(ctx, admin, Role{Key: "staff", Name: "全体教职工", Identity: "faculty", Rule: `kind == "faculty"`, Workbench: "staff", Priority: 510, Enabled: true})
			}, func() check {
				return check{"workbench.role.update", "role/staff", `"Rule":"kind == \"faculty\" \u0026\u0026 status == \"active\""`, `"Name":"全体教职工"`}
			}},
			{"add role", func() error {
				return f.s.SaveRole(ctx, admin, Role{Key: "retired", Name: "离退休", Identity: "faculty", Rule: `category == "retired"`, Workbench: "staff", Priority: 50, Enabled: true})
			}, func() check { return check{"workbench.role.add", "role/retired", "null", `"Key":"retired"`} }},
			{"add section", func() (err error) {
				secID, err = f.s.AddSection(ctx, admin, "staff", "科研")
				return err
			}, func() check {
				return check{"workbench.section.add", "workbench/staff/section/" + itoa(secID), "null", `"Title":"科研"`}
			}},
			{"rename section", func() error {
				return f.s.SaveSection(ctx, admin, "staff", SectionDef{ID: secID, Title: "科研服务", Sort: 9})
			}, func() check {
				return check{"workbench.section.update", "workbench/staff/section/" + itoa(secID), `"Title":"科研"`, `"Title":"科研服务"`}
			}},
			{"add tile", func() (err error) {
				tileID, err = f.s.AddTile(ctx, admin, "staff", secID, "vpn", `"教务处" in dept_names`)
				return err
			}, func() check {
				return check{"workbench.tile.add", "workbench/staff/tile/" + itoa(tileID), "null", `"Module":"vpn"`}
			}},
			{"edit tile", func() error {
				return f.s.SaveTile(ctx, admin, "staff", TileDef{ID: tileID, Module: "mailbox", Visible: "", Sort: 1, Section: common.ID})
			}, func() check {
				return check{"workbench.tile.update", "workbench/staff/tile/" + itoa(tileID), `"Module":"vpn"`, `"Module":"mailbox"`}
			}},
			{"delete tile", func() error { return f.s.DeleteTile(ctx, admin, "staff", tileID) }, func() check {
				return check{"workbench.tile.delete", "workbench/staff/tile/" + itoa(tileID), `"Module":"mailbox"`, "null"}
			}},
			{"delete section", func() error { return f.s.DeleteSection(ctx, admin, "staff", secID) }, func() check {
				return check{"workbench.section.delete", "workbench/staff/section/" + itoa(secID), `"Title":"科研服务"`, "null"}
			}},
			{"update module", func() error {
				return f.s.SaveModule(ctx, admin, Module{Key: "oa", Name: "协同办公", Category: "办公服务", Kind: ModuleExternal,
					Target: "https://oa2.example.edu.cn/", Icon: "💼", Status: StatusLive, Summary: "公文", Keywords: []string{"公文"}})
			}, func() check {
				return check{"workbench.module.update", "module/oa", `"Name":"OA办公"`, `"Name":"协同办公"`}
			}},
			{"add module", func() error {
				return f.s.SaveModule(ctx, admin, Module{Key: "canteen", Name: "食堂", Category: "生活服务", Kind: ModuleBuiltin, Status: StatusSoon})
			}, func() check { return check{"workbench.module.add", "module/canteen", "null", `"Key":"canteen"`} }},
			{"update content", func() error {
				return f.s.SaveContent(ctx, admin, Content{Key: "profile", Kind: ContentSection, Title: "学校概况", Body: "新简介"})
			}, func() check {
				return check{"workbench.content.update", "content/profile", `"Title":"学校简介"`, `"Title":"学校概况"`}
			}},
		}
		for _, st := range steps {
			n := len(f.audits(t))
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			rows := f.audits(t)
			if len(rows) != n+1 {
				t.Fatalf("%s: %d audit rows written, want 1", st.name, len(rows)-n)
			}
			got, want := rows[0], st.want()
			if got.Action != want.action || got.Object != want.object || got.Actor != admin.UserID || got.IP != admin.IP || !got.At.Equal(f.clock.Now().Truncate(time.Millisecond)) {
				t.Errorf("%s: audit %s %s by %s from %s at %v; want %s %s", st.name, got.Action, got.Object, got.Actor, got.IP, got.At, want.action, want.object)
			}
			for _, side := range []struct{ name, got, want string }{{"before", got.Before, want.before}, {"after", got.After, want.after}} {
				if !json.Valid([]byte(side.got)) {
					t.Errorf("%s: %s is not JSON: %s", st.name, side.name, side.got)
				}
				if (side.want == "null") != (side.got == "null") || !strings.Contains(side.got, side.want) {
					t.Errorf("%s: %s = %s, want it to hold %s", st.name, side.name, side.got, side.want)
				}
			}
			f.clock.Advance(time.Second)
		}
		// The edits are what the members see, on this instance at once.
		if h := f.home(t, "T1", "staff"); !slices.Contains(roleKeys(h.Identities), "staff") || h.Current.Name != "全体教职工" {
			t.Errorf("role edit not live: %+v", h.Current)
		}
		if m, err := f.s.Module(ctx, "T1", "staff", "oa"); err != nil || m.Name != "协同办公" || m.Target != "https://oa2.example.edu.cn/" {
			t.Errorf("module edit not live: %+v, %v", m, err)
		}

		// Refused admin saves write nothing.
		n := len(f.audits(t))
		var ve *ValidationError
		if _, err := f.s.AddTile(ctx, admin, "staff", common.ID, "no_such_module", ""); !errors.As(err, &ve) || ve.Field != "module" {
			t.Errorf("unknown module: %v", err)
		}
		if _, err := f.s.AddTile(ctx, admin, "staff", common.ID, "vpn", "dept_names +"); !errors.As(err, &ve) || ve.Field != "visible" {
			t.Errorf("bad visible rule: %v", err)
		}
		if _, err := f.s.AddTile(ctx, admin, "counselor", common.ID, "vpn", ""); !errors.As(err, &ve) || ve.Field != "section" {
			t.Errorf("section of another workbench: %v", err)
		}
		if _, err := f.s.AddSection(ctx, admin, "staff", " "); !errors.As(err, &ve) || ve.Field != "title" {
			t.Errorf("empty section title: %v", err)
		}
		if err := f.s.SaveModule(ctx, admin, Module{Key: "x", Name: "X", Category: "办公服务", Kind: ModuleExternal, Target: "/relative", Status: StatusLive}); !errors.As(err, &ve) || ve.Field != "target" {
			t.Errorf("relative external target: %v", err)
		}
		if err := f.s.DeleteTile(ctx, admin, "staff", 999999); !errors.As(err, &ve) || ve.Field != "tile" {
			t.Errorf("missing tile: %v", err)
		}
		if got := len(f.audits(t)); got != n {
			t.Errorf("refused saves wrote %d audit rows", got-n)
		}
		roles, wbs, mods, err := f.s.Counts(ctx)
		if err != nil || roles != 10 || wbs != 9 || mods != 11 {
			t.Errorf("counts = %d roles, %d workbenches, %d modules, %v; want 10, 9, 11", roles, wbs, mods, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAnotherInstanceSeesAnEditAfterTheReloadInterval(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		other := f.service(t, nil)
		if got := homeModules(f.home(t, "S3", "")); slices.Contains(got, "vpn") {
			t.Fatalf("vpn already on S3's workbench: %v", got)
		}
		wb, err := other.WorkbenchDef(f.ctx(), "undergraduate_y1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.AddTile(f.ctx(), admin, "undergraduate_y1", wb.Sections[0].ID, "vpn", ""); err != nil {
			t.Fatal(err)
		}
		// The editing instance shows it at once.
		if got := homeModules(f.home(t, "S3", "")); !slices.Contains(got, "vpn") {
			t.Errorf("editing instance: %v lacks vpn", got)
		}
		// The other one keeps its catalog until its next check…
		h, err := other.Home(f.ctx(), "S3", "")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(homeModules(h), "vpn") {
			t.Errorf("other instance reloaded before its interval: %v", homeModules(h))
		}
		if _, err := other.Module(f.ctx(), "S3", "", "vpn"); !errors.Is(err, ErrNotVisible) {
			t.Errorf("other instance before reload: %v", err)
		}
		// …which comes once Options.Reload has passed.
		f.clock.Advance(2 * time.Second)
		h, err = other.Home(f.ctx(), "S3", "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(homeModules(h), "vpn") {
			t.Errorf("other instance after the interval: %v lacks vpn", homeModules(h))
		}
		if _, err := other.Module(f.ctx(), "S3", "", "vpn"); err != nil {
			t.Errorf("other instance after reload: %v", err)
		}
	})
}

func TestRuleFailingAtRunTimeCountsFalseAndIsLoggedOnce(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		// Compiles, but indexing past the end fails for everyone with fewer than 4 tags.
		r := Role{Key: "taggy", Name: "标签", Identity: "faculty", Rule: `tags[3] == "x"`, Workbench: "staff", Priority: 9999, Enabled: true}
		if err := f.s.SaveRole(f.ctx(), admin, r); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if h := f.home(t, "T1", ""); h.Current.Role != "counselor" {
				t.Errorf("failing rule was held: %s", h.Current.Role)
			}
		}
		logged := f.logs.FilterMessageSnippet("role rule failed").All()
		if len(logged) != 1 {
			t.Fatalf("logged %d times, want once", len(logged))
		}
		if fields := logged[0].ContextMap(); fields["role"] != "taggy" || fields["error"] == nil {
			t.Errorf("log fields = %v, want role and error", fields)
		}
	})
}

func TestSeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := &fixture{db: db}
		ctx := f.ctx()
		s, err := New(ctx, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		bad, err := os.ReadFile("testdata/catalog.yaml")
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(bad), `rule: 'kind == "student" && level == "doctoral"'`, `rule: 'kind == "student" &&'`, 1)
		if _, err := s.seedFrom(ctx, []byte(broken)); err == nil || !strings.Contains(err.Error(), `role "doctoral"`) {
			t.Errorf("bad seed: err = %v, want it to name role doctoral", err)
		}
		broken = strings.Replace(string(bad), `{module: alumni_card}`, `{module: alumni_cart}`, 1)
		if _, err := s.seedFrom(ctx, []byte(broken)); err == nil || !strings.Contains(err.Error(), `alumni_cart`) {
			t.Errorf("unknown module in seed: err = %v", err)
		}
		if r, w, m, _ := s.Counts(ctx); r+w+m != 0 {
			t.Fatalf("a refused seed wrote %d roles, %d workbenches, %d modules", r, w, m)
		}

		// The embedded catalog: every rule compiles, every workbench is its role's.
		ok, err := s.Seed(ctx)
		if err != nil || !ok {
			t.Fatalf("Seed = %v, %v", ok, err)
		}
		if ok, err := s.Seed(ctx); err != nil || ok {
			t.Errorf("second Seed = %v, %v; want false (already seeded)", ok, err)
		}
		roles, err := s.Roles(ctx)
		if err != nil || len(roles) == 0 {
			t.Fatalf("roles after seed: %d, %v", len(roles), err)
		}
		for _, r := range roles {
			if _, err := s.WorkbenchDef(ctx, r.Workbench); err != nil {
				t.Errorf("role %s: workbench %s: %v", r.Key, r.Workbench, err)
			}
			if e := s.cat.Load().roleByKey[r.Key]; e == nil || e.rule == nil {
				t.Errorf("role %s is not in the compiled catalog", r.Key)
			}
		}
		n, w, m, err := s.Counts(ctx)
		if err != nil || n != len(roles) || w != n || m == 0 {
			t.Errorf("counts = %d, %d, %d, %v", n, w, m, err)
		}
	})
}

func TestDepartmentTreeRefreshesWithinAMinute(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		if got := homeModules(f.home(t, "T2", "")); !slices.Contains(got, "teaching_affairs") {
			t.Fatalf("T2 of 教务处 lacks teaching_affairs: %v", got)
		}
		// Org sync renames the office; no admin save bumps the version.
		if err := f.db.LoadDataCenter(f.ctx(), store.DataCenter{Departments: []store.DCDepartment{
			{Code: "204", Name: "本科生院", Kind: "office", Enabled: true}}}, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(2 * time.Second)
		if got := homeModules(f.home(t, "T2", "")); !slices.Contains(got, "teaching_affairs") {
			t.Errorf("tree reloaded before its minute: %v", got)
		}
		f.clock.Advance(time.Minute)
		if got := homeModules(f.home(t, "T2", "")); slices.Contains(got, "teaching_affairs") {
			t.Errorf("a minute later T2 still matches \"教务处\" in dept_names: %v", got)
		}
	})
}
