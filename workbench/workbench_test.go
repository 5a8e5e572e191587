package workbench

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/store"
)

func TestIdentitiesResolvedFromRecords(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		tests := []struct {
			user    string
			want    []string // priority order
			details []string // the matched record's label, same order
		}{
			{"T1", []string{"counselor", "staff"}, []string{"教职工 · 计算机科学与工程学院", "教职工 · 计算机科学与工程学院"}},
			{"T3", []string{"staff", "doctoral", "alumnus"}, []string{"教职工 · 计算机科学与工程第1系", "博士生 · 计算机科学与工程学院", "校友 · 2015届 计算机学院"}},
			{"L1", []string{"leader", "staff"}, nil},
			{"T4", []string{"dept_admin", "staff"}, nil},
			{"T2", []string{"staff"}, nil},
			{"S1", []string{"undergraduate_y1"}, []string{"本科生 · 计算机科学与工程26级1班"}},
			{"S2", []string{"undergraduate_y2"}, nil},
			{"A1", []string{"alumnus"}, []string{"校友 · 2010届 水产学院"}},
		}
		for _, tt := range tests {
			p, err := f.s.Person(f.ctx(), tt.user)
			if err != nil {
				t.Fatalf("%s: %v", tt.user, err)
			}
			hs := f.s.Identities(f.ctx(), p)
			if diff := cmp.Diff(tt.want, roleKeys(hs)); diff != "" {
				t.Errorf("%s holds (-want +got):\n%s", tt.user, diff)
			}
			if tt.details != nil {
				var got []string
				for _, h := range hs {
					got = append(got, h.Detail)
				}
				if diff := cmp.Diff(tt.details, got); diff != "" {
					t.Errorf("%s details (-want +got):\n%s", tt.user, diff)
				}
			}
		}
		if _, err := f.s.Person(f.ctx(), "nobody"); !errors.Is(err, ErrNotMember) {
			t.Errorf("unknown userid: err = %v, want ErrNotMember", err)
		}
		// A role applies to records of its identity kind only: T4's faculty record carries the tag, but T4 has no student record.
		if err := f.s.SaveRole(f.ctx(), admin, Role{Key: "tagged_student", Name: "学生管理员", Identity: "student",
			Rule: `"部门管理员" in tags`, Workbench: "undergraduate_y1", Priority: 5000, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		p, err := f.s.Person(f.ctx(), "T4")
		if err != nil {
			t.Fatal(err)
		}
		if got := roleKeys(f.s.Identities(f.ctx(), p)); !slices.Equal(got, []string{"dept_admin", "staff"}) {
			t.Errorf("T4 holds %v; a student role must not match a faculty record", got)
		}
	})
}

func TestPersonRecordsCarryTheirEnv(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		p, err := f.s.Person(f.ctx(), "T3")
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "王讲师" || len(p.Records) != 3 {
			t.Fatalf("T3 = %+v, want 王讲师 with three records", p)
		}
		want := []Env{
			{Kind: "faculty", Category: "staff", Position: "讲师", Status: "active", Dept: "100001", DeptName: "计算机科学与工程第1系",
				DeptKind: "teaching", Depts: []string{"100001", "1000"}, DeptNames: []string{"计算机科学与工程第1系", "计算机科学与工程学院"}, Tags: []string{}},
			{Kind: "student", Category: "student", Status: "enrolled", Level: "doctoral", Grade: 2024, Year: 3, Dept: "1000",
				DeptName: "计算机科学与工程学院", DeptKind: "college", Depts: []string{"1000"}, DeptNames: []string{"计算机科学与工程学院"},
				College: "1000", Major: "计算机学术学位", Tags: []string{}},
			{Kind: "alumnus", Category: "alumnus", Status: "active", Org: "2015届 计算机学院", Depts: []string{}, DeptNames: []string{}, Tags: []string{}},
		}
		for i, r := range p.Records {
			if diff := cmp.Diff(want[i], r.Env); diff != "" {
				t.Errorf("record %d env (-want +got):\n%s", i, diff)
			}
		}
		c, err := f.s.Person(f.ctx(), "T1")
		if err != nil {
			t.Fatal(err)
		}
		if c.Records[0].Env.Counselees != 2 || !slices.Equal(c.Tags, []string{"辅导员"}) {
			t.Errorf("T1: counselees %d, tags %v; want 2 and [辅导员]", c.Records[0].Env.Counselees, c.Tags)
		}
	})
}

func TestStudentYearTurnsOnSep1InChina(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name  string
		now   time.Time
		grade int
		want  int
	}{
		{"last day of the 2025/26 year", time.Date(2026, 8, 31, 23, 30, 0, 0, cst), 2025, 1},
		{"first minute of 2026/27", time.Date(2026, 9, 1, 0, 0, 0, 0, cst), 2025, 2},
		{"Sep 1 in China, still Aug 31 in UTC", time.Date(2026, 8, 31, 17, 0, 0, 0, time.UTC), 2025, 2},
		{"freshman in December", time.Date(2026, 12, 1, 10, 0, 0, 0, cst), 2026, 1},
		{"freshman next spring", time.Date(2027, 3, 1, 10, 0, 0, 0, cst), 2026, 1},
		{"admitted, not started", time.Date(2026, 7, 1, 10, 0, 0, 0, cst), 2026, 0},
		{"fourth year", time.Date(2026, 10, 1, 10, 0, 0, 0, cst), 2023, 4},
	}
	for _, tt := range tests {
		if got := studyYear(tt.grade, tt.now); got != tt.want {
			t.Errorf("%s: grade %d at %v: year %d, want %d", tt.name, tt.grade, tt.now, got, tt.want)
		}
	}

	// Through the whole service: S2 (grade 2025) moves from the first-year to the second-year workbench at midnight.
	each(t, func(t *testing.T, f *fixture) {
		f.clock.Advance(time.Date(2026, 8, 31, 15, 59, 0, 0, time.UTC).Sub(f.clock.Now())) // 23:59 CST, Aug 31
		if h := f.home(t, "S2", ""); h.Current.Role != "undergraduate_y1" {
			t.Errorf("S2 on Aug 31: %s, want undergraduate_y1", h.Current.Role)
		}
		f.clock.Advance(2 * time.Minute) // 00:01 CST, Sep 1
		if h := f.home(t, "S2", ""); h.Current.Role != "undergraduate_y2" {
			t.Errorf("S2 on Sep 1: %s, want undergraduate_y2", h.Current.Role)
		}
	})
}

func TestHomeShowsOnlyVisibleTiles(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		tests := []struct {
			user, role  string
			wantRole    string
			wantWB      string
			wantModules []string
			sections    []string
		}{
			{"T1", "", "counselor", "辅导员工作台", []string{"counselor_desk", "student_leave", "campus", "oa"}, []string{"学工", "常用"}},
			{"T1", "staff", "staff", "教职工工作台", []string{"campus", "oa", "health_report", "library", "campus"}, []string{"常用", "更多"}},
			{"T2", "", "staff", "教职工工作台", []string{"campus", "oa", "teaching_affairs", "health_report", "library", "campus"}, []string{"常用", "更多"}},
			{"S1", "", "undergraduate_y1", "本科新生工作台", []string{"campus", "student_leave", "health_report", "library"}, []string{"常用", "图书"}},
			{"S3", "", "undergraduate_y1", "本科新生工作台", []string{"campus", "student_leave", "health_report"}, []string{"常用"}},
			{"T3", "alumnus", "alumnus", "校友工作台", []string{"campus", "alumni_card"}, []string{"校友服务"}},
		}
		for _, tt := range tests {
			h := f.home(t, tt.user, tt.role)
			if h.Current.Role != tt.wantRole || h.WorkbenchName != tt.wantWB || h.Person.UserID != tt.user {
				t.Errorf("%s as %q: role %s, workbench %s; want %s, %s", tt.user, tt.role, h.Current.Role, h.WorkbenchName, tt.wantRole, tt.wantWB)
			}
			if diff := cmp.Diff(tt.wantModules, homeModules(h)); diff != "" {
				t.Errorf("%s as %q tiles (-want +got):\n%s", tt.user, tt.role, diff)
			}
			var secs []string
			for _, s := range h.Sections {
				secs = append(secs, s.Title)
			}
			if diff := cmp.Diff(tt.sections, secs); diff != "" {
				t.Errorf("%s as %q sections (-want +got):\n%s", tt.user, tt.role, diff)
			}
		}
		h := f.home(t, "T2", "")
		hrefs := map[string]string{}
		for _, tile := range h.Sections[0].Tiles {
			hrefs[tile.Module] = tile.Href
		}
		want := map[string]string{"campus": "/app/m/campus", "oa": "/app/go/oa", "teaching_affairs": "/app/m/teaching_affairs", "health_report": "/app/m/health_report"}
		if diff := cmp.Diff(want, hrefs); diff != "" {
			t.Errorf("hrefs (-want +got):\n%s", diff)
		}
		if _, err := f.s.Home(f.ctx(), "S1", "counselor"); !errors.Is(err, ErrNotHeld) {
			t.Errorf("S1 as counselor: err = %v, want ErrNotHeld", err)
		}
		if _, err := f.s.Home(f.ctx(), "nobody", ""); !errors.Is(err, ErrNotMember) {
			t.Errorf("unknown userid: err = %v, want ErrNotMember", err)
		}
	})
}

func TestModuleRefusesWhatTheWorkbenchDoesNotShow(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		tests := []struct {
			user, role, module string
			ok                 bool
		}{
			{"S1", "", "student_leave", true},
			{"S1", "", "library", true},
			{"S3", "", "library", false},             // on the workbench, hidden by its rule
			{"S1", "", "oa", false},                  // a staff module
			{"S1", "", "no_such_module", false},      // a guessed URL
			{"T2", "", "teaching_affairs", true},     // 教务处
			{"T3", "", "teaching_affairs", false},    // not 教务处
			{"T1", "", "counselor_desk", true},       // as counselor (default)
			{"T1", "staff", "counselor_desk", false}, // not on the staff workbench
		}
		for _, tt := range tests {
			m, err := f.s.Module(f.ctx(), tt.user, tt.role, tt.module)
			if tt.ok && (err != nil || m.Key != tt.module) {
				t.Errorf("%s as %q opens %s: %+v, %v", tt.user, tt.role, tt.module, m, err)
			}
			if !tt.ok && !errors.Is(err, ErrNotVisible) {
				t.Errorf("%s as %q opens %s: err = %v, want ErrNotVisible", tt.user, tt.role, tt.module, err)
			}
		}
		m, err := f.s.Module(f.ctx(), "T1", "", "oa")
		if err != nil || m.Kind != ModuleExternal || m.Target != "https://oa.example.edu.cn/" || m.Badge != "approvals" {
			t.Errorf("oa = %+v, %v", m, err)
		}
		if _, err := f.s.Module(f.ctx(), "S1", "staff", "campus"); !errors.Is(err, ErrNotHeld) || !errors.Is(err, ErrNotVisible) {
			t.Errorf("S1 as staff: err = %v, want ErrNotHeld and ErrNotVisible", err)
		}
		if _, err := f.s.Module(f.ctx(), "nobody", "", "campus"); !errors.Is(err, ErrNotMember) {
			t.Errorf("unknown userid: err = %v, want ErrNotMember", err)
		}
	})
}

func TestIdentityChoiceIsRemembered(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		if h := f.home(t, "T1", ""); h.Current.Role != "counselor" {
			t.Fatalf("default: %s, want counselor (highest priority)", h.Current.Role)
		}
		if err := f.s.SetIdentity(f.ctx(), "T1", "staff"); err != nil {
			t.Fatal(err)
		}
		if h := f.home(t, "T1", ""); h.Current.Role != "staff" {
			t.Errorf("after SetIdentity(staff): %s", h.Current.Role)
		}
		for _, role := range []string{"doctoral", "ghost", "", "nope"} {
			if err := f.s.SetIdentity(f.ctx(), "T1", role); !errors.Is(err, ErrNotHeld) {
				t.Errorf("SetIdentity(%q): err = %v, want ErrNotHeld", role, err)
			}
		}
		if h := f.home(t, "T1", ""); h.Current.Role != "staff" {
			t.Errorf("refused SetIdentity changed the choice: %s", h.Current.Role)
		}
		// Preview records nothing; Home with a role remembers it.
		if h, err := f.s.Preview(f.ctx(), "T1", "counselor"); err != nil || h.Current.Role != "counselor" {
			t.Fatalf("preview: %+v, %v", h, err)
		}
		if h := f.home(t, "T1", ""); h.Current.Role != "staff" {
			t.Errorf("preview changed the choice to %s", h.Current.Role)
		}
		f.home(t, "T1", "counselor")
		if h := f.home(t, "T1", ""); h.Current.Role != "counselor" {
			t.Errorf("home as counselor not remembered: %s", h.Current.Role)
		}
		// A remembered identity the person no longer holds falls back to the highest priority.
		if err := f.s.SetIdentity(f.ctx(), "T4", "staff"); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetIdentity(f.ctx(), "T4", "dept_admin"); err != nil {
			t.Fatal(err)
		}
		if err := f.db.LoadPersonTags(f.ctx(), nil); err != nil {
			t.Fatal(err)
		}
		if h := f.home(t, "T4", ""); h.Current.Role != "staff" || !slices.Equal(roleKeys(h.Identities), []string{"staff"}) {
			t.Errorf("T4 untagged: current %s, identities %v; want staff only", h.Current.Role, roleKeys(h.Identities))
		}
	})
}

func TestFavouritesAndRecentFollowTheIdentity(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for _, m := range []string{"oa", "counselor_desk", "library"} {
			if err := f.s.Favourite(f.ctx(), "T1", m, true); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second)
		}
		if err := f.s.Favourite(f.ctx(), "T1", "oa", true); err != nil { // again: keeps its place
			t.Fatal(err)
		}
		if err := f.s.Favourite(f.ctx(), "T1", "ghost_module", true); err == nil {
			t.Error("favouriting an unknown module succeeded")
		}
		h := f.home(t, "T1", "counselor")
		if diff := cmp.Diff([]string{"oa", "counselor_desk"}, tileModules(h.Favourites)); diff != "" {
			t.Errorf("favourites as counselor (-want +got):\n%s", diff)
		}
		for _, s := range h.Sections {
			for _, tile := range s.Tiles {
				if want := tile.Module == "oa" || tile.Module == "counselor_desk"; tile.Favourite != want {
					t.Errorf("tile %s: Favourite %v, want %v", tile.Module, tile.Favourite, want)
				}
			}
		}
		h = f.home(t, "T1", "staff")
		if diff := cmp.Diff([]string{"oa", "library"}, tileModules(h.Favourites)); diff != "" {
			t.Errorf("favourites as staff (-want +got):\n%s", diff)
		}
		if err := f.s.Favourite(f.ctx(), "T1", "oa", false); err != nil {
			t.Fatal(err)
		}
		if h := f.home(t, "T1", "staff"); !slices.Equal(tileModules(h.Favourites), []string{"library"}) {
			t.Errorf("after removing oa: %v", tileModules(h.Favourites))
		}

		// Recent: the last 8 used, newest first, only those visible now.
		used := []string{"campus", "oa", "counselor_desk", "student_leave", "library", "health_report", "vpn", "mailbox", "alumni_card", "oa"}
		for _, m := range used {
			if err := f.s.Used(f.ctx(), "T1", m); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second)
		}
		// Kept: oa, alumni_card, mailbox, vpn, health_report, library, student_leave, counselor_desk (campus dropped).
		if h := f.home(t, "T1", "staff"); !slices.Equal(tileModules(h.Recent), []string{"oa", "health_report", "library"}) {
			t.Errorf("recent as staff: %v", tileModules(h.Recent))
		}
		if h := f.home(t, "T1", "counselor"); !slices.Equal(tileModules(h.Recent), []string{"oa", "student_leave", "counselor_desk"}) {
			t.Errorf("recent as counselor: %v", tileModules(h.Recent))
		}
		if err := f.s.Used(f.ctx(), "T1", "ghost_module"); err == nil {
			t.Error("using an unknown module succeeded")
		}
	})
}

func TestBadges(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		badge := func(h *Home, module string) (int, bool) {
			for _, s := range h.Sections {
				for _, tile := range s.Tiles {
					if tile.Module == module {
						return tile.Badge, tile.BadgeUnavailable
					}
				}
			}
			t.Fatalf("%s not on the page", module)
			return 0, false
		}
		h := f.home(t, "T1", "staff")
		if n, un := badge(h, "campus"); n != 2 || un {
			t.Errorf("notices badge: %d (unavailable %v), want 2 unread notices", n, un)
		}
		if n, un := badge(h, "oa"); n != 0 || un {
			t.Errorf("oa's approvals badge has no source yet: %d (unavailable %v), want no badge at all", n, un)
		}
		if err := f.s.MarkNoticesRead(f.ctx(), "T1"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		if n, _ := badge(f.home(t, "T1", "staff"), "campus"); n != 0 {
			t.Errorf("after reading: %d", n)
		}
		if err := f.s.SaveContent(f.ctx(), admin, Content{Key: "notice_new", Kind: ContentNotice, Title: "新通知", Body: "正文", Published: f.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		// A notice scheduled for tomorrow does not count yet.
		if err := f.s.SaveContent(f.ctx(), admin, Content{Key: "notice_later", Kind: ContentNotice, Title: "明天的通知", Body: "正文", Published: f.clock.Now().Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if n, _ := badge(f.home(t, "T1", "staff"), "campus"); n != 1 {
			t.Errorf("after one new notice: %d, want 1", n)
		}
		if n, _ := badge(f.home(t, "T2", "staff"), "campus"); n != 3 {
			t.Errorf("T2 never read: %d, want 3", n)
		}

		f.s.RegisterBadge("approvals", func(ctx context.Context, userID string) (int, error) {
			if userID == "T2" {
				return 0, errors.New("approvals down")
			}
			return 7, nil
		})
		if n, un := badge(f.home(t, "T1", "staff"), "oa"); n != 7 || un {
			t.Errorf("approvals for T1: %d (unavailable %v), want 7", n, un)
		}
		if _, un := badge(f.home(t, "T2", "staff"), "oa"); !un {
			t.Error("failing source: want BadgeUnavailable")
		}
		// A source that never answers costs its badge, not the page.
		f.s.RegisterBadge("approvals", func(ctx context.Context, userID string) (int, error) {
			select {} // ignores its context
		})
		h, err := f.s.Home(f.ctx(), "T1", "staff")
		if err != nil {
			t.Fatal(err)
		}
		if _, un := badge(h, "oa"); !un {
			t.Error("hanging source: want BadgeUnavailable")
		}
		if n, un := badge(h, "campus"); n != 1 || un {
			t.Errorf("notices beside a hanging source: %d, %v", n, un)
		}
	})
}

func TestCampusContent(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		cs, err := f.s.Campus(f.ctx())
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, c := range cs {
			keys = append(keys, c.Key)
		}
		if diff := cmp.Diff([]string{"profile", "notice_holiday", "notice_exam", "news_sports"}, keys); diff != "" {
			t.Errorf("campus (-want +got):\n%s", diff)
		}
		c, err := f.s.ContentItem(f.ctx(), "notice_exam")
		if err != nil || c.Title != "期末考试安排" || !c.Published.Equal(time.Date(2026, 11, 19, 16, 0, 0, 0, time.UTC)) {
			t.Errorf("notice_exam = %+v, %v (published 2026-11-20 in China)", c, err)
		}
		p, _ := f.s.ContentItem(f.ctx(), "profile")
		if !strings.Contains(p.Body, "\n\n第二段") {
			t.Errorf("profile body lost its paragraphs: %q", p.Body)
		}
		if _, err := f.s.ContentItem(f.ctx(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing content: %v", err)
		}
	})
}

func TestSearch(t *testing.T) {
	tile := func(m, name, cat, sum string, kw ...string) Tile {
		return Tile{Module: m, Name: name, Category: cat, Summary: sum, Keywords: kw}
	}
	h := &Home{Sections: []Section{
		{Title: "常用", Tiles: []Tile{tile("campus", "校园概况", "校园概况", "学校简介、校园地图", "新闻"), tile("oa", "OA办公", "办公服务", "公文流转", "审批")}},
		{Title: "更多", Tiles: []Tile{tile("leave", "学生请假", "学工服务", "请假申请"), tile("campus", "校园概况", "校园概况", "学校简介、校园地图", "新闻")}},
	}}
	tests := []struct {
		q    string
		want []string
	}{
		{"地图", []string{"campus"}},      // summary; once although on the page twice
		{"oa", []string{"oa"}},          // name, case-insensitive
		{" 审批 ", []string{"oa"}},        // keyword, trimmed
		{"学工", []string{"leave"}},       // category
		{"服务", []string{"oa", "leave"}}, // several, in page order
		{"新闻", []string{"campus"}},
		{"食堂", []string{}},
		{"", []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tileModules(Search(h, tt.q))); diff != "" {
			t.Errorf("Search(%q) (-want +got):\n%s", tt.q, diff)
		}
	}
}

func TestHomeWhileTheCatalogChanges(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		wb, err := f.s.WorkbenchDef(f.ctx(), "staff")
		if err != nil {
			t.Fatal(err)
		}
		other := f.service(t, nil)
		done := make(chan error, 4)
		for i := range 4 {
			go func() {
				s := []*Service{f.s, other}[i%2]
				for range 25 {
					h, err := s.Home(f.ctx(), "T2", "staff")
					if err != nil {
						done <- err
						return
					}
					if len(h.Sections) == 0 || h.Sections[0].Tiles[0].Module != "campus" {
						done <- errors.New("page without its first tile")
						return
					}
				}
				done <- nil
			}()
		}
		for range 5 {
			if _, err := f.s.AddTile(f.ctx(), admin, "staff", wb.Sections[1].ID, "vpn", ""); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second)
		}
		for range 4 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
		f.clock.Advance(2 * time.Second)
		h, err := other.Home(f.ctx(), "T2", "staff")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range homeModules(h) {
			if m == "vpn" {
				n++
			}
		}
		if n != 5 {
			t.Errorf("other instance shows %d vpn tiles, want the 5 added", n)
		}
	})
}
