package handler_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/workbench"
)

// Page tests over the whole platform (apptest): sign-in through the
// simulator's OAuth, the workbench, modules, the console. What a person
// would notice: where they land, what they see, what they are refused.

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func location(t *testing.T, resp *http.Response) string {
	t.Helper()
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if loc == "" {
		t.Fatalf("%s %s answered %d without a Location", resp.Request.Method, resp.Request.URL, resp.StatusCode)
	}
	if strings.HasPrefix(loc, "/") {
		// Relative to the server, as browsers resolve it.
		return resp.Request.URL.Scheme + "://" + resp.Request.URL.Host + loc
	}
	return loc
}

func post(t *testing.T, c *http.Client, rawURL string, form url.Values, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", rawURL, err)
	}
	return resp
}

// undergraduate is a freshman (year 1), whose workbench opens with the
// campus overview.
func undergraduate(p *demo.Person) bool {
	return p.Main() == demo.CatUndergrad && p.Status == 1 && p.Grade == demo.AcademicYear(time.Now()) && p.Position == ""
}
func counselor(p *demo.Person) bool { return p.Main() == demo.CatCounselor && p.Status == 1 }

func TestWithoutASessionThePageIsNotServed(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	for _, tc := range []struct {
		name, path, ua, cookie, want string
	}{
		{"PC browser goes to the sign-in chooser", "/app/", "", "", "/login?return=%2Fapp%2F"},
		{"WeCom client goes to OAuth", "/app/", apptest.UserAgentWeCom, "", "/auth/wecom?return=%2Fapp%2F"},
		{"personal WeChat goes to OAuth", "/app/m/campus", apptest.UserAgentWeChat, "", "/auth/wecom?return=%2Fapp%2Fm%2Fcampus"},
		{"a code WeCom put on the home URL starts our own OAuth", "/app/?code=abc&state=wecomsimphone", "", "", "/auth/wecom?return=%2Fapp%2F"},
		{"a forged session cookie is no session", "/app/", "", "wecomapp_session=" + strings.Repeat("ab", 22), "/login?return=%2Fapp%2F"},
		{"the console too", "/admin/roles", "", "", "/login?return=%2Fadmin%2Froles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.URL+tc.path, nil)
			if tc.ua != "" {
				req.Header.Set("User-Agent", tc.ua)
			}
			if tc.cookie != "" {
				req.Header.Set("Cookie", tc.cookie)
			}
			resp, err := e.Browser(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302", resp.StatusCode)
			}
			if got := location(t, resp); got != e.URL+tc.want {
				t.Errorf("redirected to %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOAuthSignInLandsOnTheOwnWorkbench(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	st := e.Person(t, undergraduate)
	c := e.Browser(t)
	if got := e.SignIn(t, c, st.UserID, ""); got != e.URL+"/app/" {
		t.Fatalf("landed on %s", got)
	}
	page := body(t, apptest.Get(t, c, e.URL+"/app/", apptest.UserAgentWeCom))
	if !strings.Contains(page, `data-testid="person-name">`+st.Name+`<`) {
		t.Errorf("the workbench does not show %s's name", st.Name)
	}
	if !strings.Contains(page, `data-module="campus"`) {
		t.Error("the undergraduate workbench has no campus overview tile")
	}
	// The session cookie is what a session cookie must be.
	u, _ := url.Parse(e.URL)
	var found bool
	for _, ck := range c.Jar.Cookies(u) {
		found = found || ck.Name == auth.DefaultCookieName
	}
	if !found {
		t.Fatal("no session cookie after sign-in")
	}
	resp := apptest.Get(t, e.Browser(t), e.URL+"/auth/wecom?return=/app/", apptest.UserAgentWeCom)
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("session cookie %q: want HttpOnly and SameSite=Lax", sc)
	}
	// Inside WeCom, a personal-WeChat sign-in is remembered for the
	// message center.
	wc := e.Browser(t)
	e.SignIn(t, wc, st.UserID, apptest.UserAgentWeChat)
	clients, err := e.DB.ClientsOf(context.Background(), st.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, cl := range clients {
		kinds = append(kinds, cl.Client)
	}
	slices.Sort(kinds)
	if strings.Join(kinds, ",") != "wechat,wecom" {
		t.Errorf("clients recorded %v, want wechat and wecom", kinds)
	}
}

func TestAStudentAndACounselorSeeDifferentWorkbenches(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	pages := map[string]string{}
	for _, p := range []*demo.Person{e.Person(t, undergraduate), e.Person(t, counselor)} {
		c := e.Browser(t)
		e.SignIn(t, c, p.UserID, "")
		pages[p.Main()] = body(t, apptest.Get(t, c, e.URL+"/app/", apptest.UserAgentWeCom))
	}
	title := func(page string) string {
		_, rest, _ := strings.Cut(page, "<title>")
		t, _, _ := strings.Cut(rest, "</title>")
		return t
	}
	st, co := pages[demo.CatUndergrad], pages[demo.CatCounselor]
	if title(st) == title(co) {
		t.Errorf("both see the workbench %q", title(st))
	}
	if !strings.Contains(co, `data-module="student_leave"`) {
		t.Error("the counselor's workbench has no student-leave tile")
	}
	if !strings.Contains(co, "辅导员") {
		t.Error("the counselor's page does not name the counselor identity")
	}
}

func TestAGuessedURLNeverOpensAnotherWorkbenchsModule(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	st := e.Person(t, undergraduate)
	c := e.Browser(t)
	e.SignIn(t, c, st.UserID, "")
	ctx := context.Background()
	h, err := e.Workbench.Home(ctx, st.UserID, "")
	if err != nil {
		t.Fatal(err)
	}
	on := map[string]bool{}
	for _, sec := range h.Sections {
		for _, tl := range sec.Tiles {
			on[tl.Module] = true
		}
	}
	mods, err := e.Workbench.Modules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var off string
	for _, m := range mods {
		if !on[m.Key] {
			off = m.Key
			break
		}
	}
	if off == "" {
		t.Fatal("the undergraduate's workbench shows every module")
	}
	for _, path := range []string{"/app/m/" + off, "/app/go/" + off, "/app/m/no_such_module"} {
		resp := apptest.Get(t, c, e.URL+path, apptest.UserAgentWeCom)
		if page := body(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, `data-testid="app-error"`) {
			t.Errorf("GET %s: %d, want the 404 page", path, resp.StatusCode)
		}
	}
	if resp := post(t, c, e.URL+"/app/fav", url.Values{"module": {off}, "on": {"1"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("starring a module not on the workbench: %d, want 400", resp.StatusCode)
	}
	if resp := post(t, c, e.URL+"/app/identity", url.Values{"role": {"leader"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("switching to an identity not held: %d, want 400", resp.StatusCode)
	}
	// A module of their own opens, and is then among the recent ones.
	resp := apptest.Get(t, c, e.URL+"/app/m/campus", apptest.UserAgentWeCom)
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, "学校简介") {
		t.Errorf("campus overview: %d", resp.StatusCode)
	}
	home := body(t, apptest.Get(t, c, e.URL+"/app/", apptest.UserAgentWeCom))
	_, recent, _ := strings.Cut(home, `data-testid="recent"`)
	if !strings.Contains(recent, `data-module="campus"`) {
		t.Error("the campus overview is not among the recently used")
	}
	// A cross-site form post is refused before it does anything.
	resp = post(t, c, e.URL+"/app/fav", url.Values{"module": {"campus"}, "on": {"1"}}, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	h, _ = e.Workbench.Home(ctx, st.UserID, "")
	if len(h.Favourites) != 0 {
		t.Errorf("the cross-site POST starred %v", h.Favourites)
	}
}

func TestPeopleNotInOurRecordsAreShownHowToJoin(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	// A personal-WeChat visitor who is not a member: WeCom answers an openid.
	c := e.Browser(t)
	loc := location(t, apptest.Get(t, c, e.URL+"/auth/wecom?return=/app/", apptest.UserAgentWeChat))
	u, _ := url.Parse(loc)
	q := u.Query()
	q.Set("sim_openid", "oNotAMember0000000000001")
	u.RawQuery, u.Fragment = q.Encode(), ""
	back := location(t, apptest.Get(t, c, u.String(), apptest.UserAgentWeChat))
	resp := apptest.Get(t, c, back, apptest.UserAgentWeChat)
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="join"`) {
		t.Errorf("a non-member got %d, want the how-to-join page", resp.StatusCode)
	}
	// A member of the corp whom our records do not know (left the data center).
	st := e.Person(t, undergraduate)
	if _, err := e.DB.ExecContext(context.Background(), `DELETE FROM dc_students WHERE student_no = ?`, st.UserID); err != nil {
		t.Fatal(err)
	}
	c2 := e.Browser(t)
	next := e.URL + "/app/"
	for i := 0; i < 6; i++ {
		resp := apptest.Get(t, c2, next, apptest.UserAgentWeCom)
		if resp.StatusCode == http.StatusOK {
			if page := body(t, resp); !strings.Contains(page, `data-testid="join"`) {
				t.Errorf("someone unknown to our records reached %s", next)
			}
			return
		}
		lu, _ := url.Parse(location(t, resp))
		if strings.Contains(lu.Path, "/connect/oauth2/authorize") {
			q := lu.Query()
			q.Set("sim_userid", st.UserID)
			lu.RawQuery, lu.Fragment = q.Encode(), ""
		}
		next = lu.String()
	}
	t.Error("never reached a page")
}

func TestOAuthStateAndCodeCannotBeReplayed(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	st := e.Person(t, undergraduate)
	victim, attacker := e.Browser(t), e.Browser(t)
	loc := location(t, apptest.Get(t, attacker, e.URL+"/auth/wecom?return=/app/", apptest.UserAgentWeCom))
	u, _ := url.Parse(loc)
	q := u.Query()
	q.Set("sim_userid", st.UserID)
	u.RawQuery, u.Fragment = q.Encode(), ""
	callback := location(t, apptest.Get(t, attacker, u.String(), apptest.UserAgentWeCom))
	// The attacker's callback URL opened in the victim's browser (login CSRF) is refused...
	resp := apptest.Get(t, victim, callback, apptest.UserAgentWeCom)
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "不属于这个浏览器") {
		t.Errorf("another browser's state: %d", resp.StatusCode)
	}
	// ...without spending it: the rightful browser still signs in.
	resp = apptest.Get(t, attacker, callback, apptest.UserAgentWeCom)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the rightful browser's callback: %d, want 303", resp.StatusCode)
	}
	resp.Body.Close()
	// The same code again (a replay) is refused.
	resp = apptest.Get(t, attacker, callback, apptest.UserAgentWeCom)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a replayed callback: %d, want 400", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestSignOutEverywhereEndsEverySession(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	st := e.Person(t, undergraduate)
	phone, pc := e.Browser(t), e.Browser(t)
	e.SignIn(t, phone, st.UserID, "")
	e.SignIn(t, pc, st.UserID, "")
	resp := post(t, pc, e.URL+"/auth/logout?everywhere=1", nil)
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="signed-out"`) {
		t.Fatalf("sign out everywhere: %d", resp.StatusCode)
	}
	for name, c := range map[string]*http.Client{"phone": phone, "pc": pc} {
		resp := apptest.Get(t, c, e.URL+"/app/", "")
		if resp.StatusCode != http.StatusFound {
			t.Errorf("%s still served after signing out everywhere: %d", name, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

func TestExternalModulesCarrySignOnExternalSystemsCanValidate(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	// Find a live external module on some demo person's workbench.
	for _, p := range e.Uni.People {
		h, err := e.Workbench.Home(ctx, p.UserID, "")
		if err != nil {
			continue
		}
		for _, sec := range h.Sections {
			for _, tl := range sec.Tiles {
				if !strings.HasPrefix(tl.Href, "/app/go/") {
					continue
				}
				c := e.Browser(t)
				e.SignIn(t, c, p.UserID, "")
				target := location(t, apptest.Get(t, c, e.URL+tl.Href, apptest.UserAgentWeCom))
				tu, _ := url.Parse(target)
				ticket := tu.Query().Get("ticket")
				q := tu.Query()
				q.Del("ticket")
				tu.RawQuery = q.Encode()
				service := strings.TrimSuffix(tu.String(), "?")
				validate := e.URL + "/sso/serviceValidate?" + url.Values{"ticket": {ticket}, "service": {service}}.Encode()
				xml := body(t, apptest.Get(t, e.Browser(t), validate, ""))
				if !strings.Contains(xml, "<cas:user>"+p.UserID+"</cas:user>") {
					t.Fatalf("validating the ticket of %s at %s: %s", p.UserID, service, xml)
				}
				if again := body(t, apptest.Get(t, e.Browser(t), validate, "")); !strings.Contains(again, "INVALID_TICKET") {
					t.Errorf("a ticket validated twice: %s", again)
				}
				return
			}
		}
	}
	t.Fatal("no demo person has an external module")
}

func TestConsoleIsForAdminsAndEveryChangeIsAudited(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	st := e.Person(t, undergraduate)
	member := e.Browser(t)
	e.SignIn(t, member, st.UserID, "")
	if resp := apptest.Get(t, member, e.URL+"/admin/", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a student opened the console: %d", resp.StatusCode)
	}
	admin := e.Browser(t)
	e.SignIn(t, admin, e.SuperAdmin, "")
	resp := apptest.Get(t, admin, e.URL+"/admin/", "")
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-testid="admin-nav"`) {
		t.Fatalf("the super admin's console: %d", resp.StatusCode)
	}
	roles, err := e.Workbench.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := roles[0]
	before, _ := e.DB.ListAudit(ctx, store.AuditFilter{})
	// A rule that does not compile is answered with what is wrong, and changes nothing.
	resp = post(t, admin, e.URL+"/admin/roles", url.Values{"key": {r.Key}, "name": {r.Name}, "identity": {r.Identity},
		"rule": {`kind == `}, "workbench": {r.Workbench}, "priority": {"1"}, "enabled": {"1"}})
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="field-error"`) {
		t.Errorf("a broken rule: %d, want 400 with the field's error", resp.StatusCode)
	}
	after, _ := e.DB.ListAudit(ctx, store.AuditFilter{})
	if len(after) != len(before) {
		t.Errorf("a refused change wrote %d audit rows", len(after)-len(before))
	}
	// A tile added to the student's workbench shows on their next visit, and
	// the audit log says who did it.
	h, _ := e.Workbench.Home(ctx, st.UserID, "")
	def, err := e.Workbench.WorkbenchDef(ctx, h.Workbench)
	if err != nil {
		t.Fatal(err)
	}
	resp = post(t, admin, e.URL+"/admin/workbenches/"+h.Workbench+"/tiles", url.Values{"section": {itoa(def.Sections[0].ID)}, "module": {"votes"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding a tile: %d %s", resp.StatusCode, body(t, resp))
	}
	resp.Body.Close()
	e.Workbench.Reload(ctx)
	if page := body(t, apptest.Get(t, member, e.URL+"/app/", "")); !strings.Contains(page, `data-module="votes"`) {
		t.Error("the student does not see the tile the admin added")
	}
	rows, _ := e.DB.ListAudit(ctx, store.AuditFilter{Action: "workbench.tile"})
	if len(rows) == 0 || rows[0].Actor != e.SuperAdmin || rows[0].IP == "" || !strings.Contains(rows[0].After, "votes") {
		t.Errorf("audit rows %+v: want the tile added by %s, from an address", rows, e.SuperAdmin)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestStaticAssetsAreSentCompressed(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/static/weui/weui.min.css", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	css, _ := io.ReadAll(zr)
	if !strings.Contains(string(css), ".weui-grid") {
		t.Error("the gzipped stylesheet is not WeUI")
	}
	// Pages too, and never cached by a shared cache.
	req, _ = http.NewRequest(http.MethodGet, e.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
		t.Fatalf("status page headers %v", resp.Header)
	}
	zr, err = gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if html, _ := io.ReadAll(zr); !strings.Contains(string(html), "/wecomsim/phone") {
		t.Error("the gzipped status page has no link to the phone")
	}
}

func TestADepartmentAdminPreviewsOnlyTheirDepartments(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	// A teacher of the first college becomes its department admin.
	var teacher *demo.Person
	for i := range e.Uni.People {
		p := &e.Uni.People[i]
		if p.Main() == demo.CatStaff && p.Position == "讲师" && len(p.Categories) == 1 {
			teacher = p
			break
		}
	}
	if teacher == nil {
		t.Fatal("no teacher in the demo")
	}
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: teacher.UserID, Role: auth.AdminDept, Depts: []string{"1000"}}); err != nil {
		t.Fatal(err)
	}
	c := e.Browser(t)
	e.SignIn(t, c, teacher.UserID, "")
	var own, other *demo.Person
	for i := range e.Uni.People {
		p := &e.Uni.People[i]
		if p.Main() != demo.CatUndergrad {
			continue
		}
		if strings.HasPrefix(strconv.Itoa(p.MainDepartment), "1000") && own == nil {
			own = p
		}
		if strings.HasPrefix(strconv.Itoa(p.MainDepartment), "1001") && other == nil {
			other = p
		}
	}
	if page := body(t, apptest.Get(t, c, e.URL+"/admin/preview?user="+own.UserID, "")); !strings.Contains(page, own.Name) {
		t.Errorf("the college's admin cannot preview %s of their college", own.UserID)
	}
	if page := body(t, apptest.Get(t, c, e.URL+"/admin/preview?user="+other.UserID, "")); strings.Contains(page, other.Name) {
		t.Errorf("the college's admin previewed %s of another college", other.UserID)
	}
}

// TestSignInSwitchAndEditOnBothDatabases plays the main journey on SQLite
// and on MariaDB: sign in, switch identity, the switch is remembered in a
// new session, an admin's tile edit shows to the member.
func TestSignInSwitchAndEditOnBothDatabases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := apptest.Start(t, apptest.Options{DB: db})
		ctx := context.Background()
		multi := e.Person(t, func(p *demo.Person) bool { return len(p.Categories) >= 3 })
		c := e.Browser(t)
		e.SignIn(t, c, multi.UserID, "")
		h, err := e.Workbench.Home(ctx, multi.UserID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Identities) < 3 {
			t.Fatalf("%s holds %d identities, want staff, doctoral student and alumnus among them", multi.UserID, len(h.Identities))
		}
		target := h.Identities[len(h.Identities)-1]
		if resp := post(t, c, e.URL+"/app/identity", url.Values{"role": {target.Role}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("switching identity: %d", resp.StatusCode)
		}
		// A new session (another device) acts as the chosen identity.
		c2 := e.Browser(t)
		e.SignIn(t, c2, multi.UserID, "")
		page := body(t, apptest.Get(t, c2, e.URL+"/app/", ""))
		if !strings.Contains(page, `data-testid="identity-current">`+target.Name+`<`) {
			t.Errorf("the new session does not act as %s", target.Name)
		}
		admin := e.Browser(t)
		e.SignIn(t, admin, e.SuperAdmin, "")
		def, err := e.Workbench.WorkbenchDef(ctx, target.Workbench)
		if err != nil {
			t.Fatal(err)
		}
		resp := post(t, admin, e.URL+"/admin/workbenches/"+target.Workbench+"/tiles", url.Values{"section": {itoa(def.Sections[0].ID)}, "module": {"weather"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("adding a tile: %d", resp.StatusCode)
		}
		resp.Body.Close()
		if err := e.Workbench.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if page := body(t, apptest.Get(t, c2, e.URL+"/app/", "")); !strings.Contains(page, `data-module="weather"`) {
			t.Error("the member does not see the tile the admin added")
		}
	})
}

func TestAnAdminPointsAnExternalModuleAtTheUniversitysOwnSystem(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	admin := e.Browser(t)
	e.SignIn(t, admin, e.SuperAdmin, "")
	mods, err := e.Workbench.Modules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var oa workbench.Module
	for _, m := range mods {
		if m.Key == "oa" {
			oa = m
		}
	}
	if oa.Kind != "external" {
		t.Fatalf("the oa module is %q, want external", oa.Kind)
	}
	form := url.Values{"key": {"oa"}, "name": {oa.Name}, "category": {oa.Category}, "kind": {oa.Kind}, "icon": {oa.Icon},
		"status": {oa.Status}, "summary": {oa.Summary}, "badge": {oa.Badge}, "target": {"ftp://oa.haibin.edu.cn"}}
	resp := post(t, admin, e.URL+"/admin/modules", form)
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="field-error"`) {
		t.Errorf("an ftp target: %d, want 400 naming the field", resp.StatusCode)
	}
	form.Set("target", "https://oa.haibin.edu.cn/sso/login")
	if resp := post(t, admin, e.URL+"/admin/modules", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the OA address: %d", resp.StatusCode)
	}
	if err := e.Workbench.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	// Someone whose workbench has the OA tile is sent to the new address,
	// with a sign-on ticket.
	for _, p := range e.Uni.People {
		if _, err := e.Workbench.Module(ctx, p.UserID, "", "oa"); err != nil {
			continue
		}
		c := e.Browser(t)
		e.SignIn(t, c, p.UserID, "")
		loc := location(t, apptest.Get(t, c, e.URL+"/app/go/oa", ""))
		if !strings.HasPrefix(loc, "https://oa.haibin.edu.cn/sso/login?ticket=ST-") {
			t.Errorf("the OA tile leads to %s", loc)
		}
		rows, _ := e.DB.ListAudit(ctx, store.AuditFilter{Object: "module/oa"})
		if len(rows) != 1 || !strings.Contains(rows[0].After, "oa.haibin.edu.cn") {
			t.Errorf("audit of the module edit: %+v", rows)
		}
		return
	}
	t.Fatal("nobody's workbench has the OA tile")
}

func TestANewRoleGetsANewWorkbench(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	admin := e.Browser(t)
	e.SignIn(t, admin, e.SuperAdmin, "")
	if resp := post(t, admin, e.URL+"/admin/workbenches", url.Values{"key": {"bad key"}, "name": {"x"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a workbench key with a space: %d, want 400", resp.StatusCode)
	}
	if resp := post(t, admin, e.URL+"/admin/workbenches", url.Values{"key": {"union_staff"}, "name": {"工会工作台"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("creating a workbench: %d", resp.StatusCode)
	}
	def, err := e.Workbench.WorkbenchDef(ctx, "union_staff")
	if err != nil || def.Name != "工会工作台" {
		t.Fatalf("the new workbench: %+v, %v", def, err)
	}
	// A role may now use it, and the role's holders land on it.
	resp := post(t, admin, e.URL+"/admin/roles", url.Values{"key": {"union_staff"}, "name": {"工会干事"}, "identity": {"faculty"},
		"rule": {`kind == "faculty" && "工会" in dept_names`}, "workbench": {"union_staff"}, "priority": {"999"}, "enabled": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a role on the new workbench: %d %s", resp.StatusCode, body(t, resp))
	}
	resp.Body.Close()
	rows, _ := e.DB.ListAudit(ctx, store.AuditFilter{Object: "workbench/union_staff"})
	if len(rows) != 1 || rows[0].Action != "workbench.workbench.add" {
		t.Errorf("audit of the new workbench: %+v", rows)
	}
}

func TestAnAuditorSeesTheAuditLogAndNothingToEdit(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	st := e.Person(t, counselor)
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: st.UserID, Role: auth.AdminAuditor}); err != nil {
		t.Fatal(err)
	}
	c := e.Browser(t)
	e.SignIn(t, c, st.UserID, "")
	home := body(t, apptest.Get(t, c, e.URL+"/admin/", ""))
	_, nav, _ := strings.Cut(home, `data-testid="admin-nav"`)
	nav, _, _ = strings.Cut(nav, "</nav>")
	if !strings.Contains(nav, `href="/admin/audit"`) || strings.Contains(nav, `href="/admin/roles"`) {
		t.Error("an auditor's navigation: want the audit log and not the roles")
	}
	if strings.Contains(home, `href="/admin/roles"`) || !strings.Contains(home, "查看全部审计日志") {
		t.Error("an auditor's overview: want the audit log and no link to the roles")
	}
	if resp := apptest.Get(t, c, e.URL+"/admin/audit", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the audit log for an auditor: %d", resp.StatusCode)
	}
	if resp := apptest.Get(t, c, e.URL+"/admin/roles", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the roles page for an auditor: %d, want 403", resp.StatusCode)
	}
	if resp := post(t, c, e.URL+"/admin/workbenches", url.Values{"key": {"x"}, "name": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an auditor creating a workbench: %d, want 403", resp.StatusCode)
	}
}

func TestTheConsoleCountsWhoHoldsEachRole(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	want := map[string]int{}
	for _, p := range e.Uni.People {
		person, err := e.Workbench.Person(ctx, p.UserID)
		if err != nil {
			continue // not in our records
		}
		for _, h := range e.Workbench.Identities(ctx, person) {
			want[h.Role]++
		}
	}
	got, err := e.Workbench.Holders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want["counselor"] == 0 {
		t.Fatal("no demo person holds the counselor role")
	}
	for role, n := range want {
		if got[role] != n {
			t.Errorf("role %s: the console counts %d holders, one by one there are %d", role, got[role], n)
		}
	}
	admin := e.Browser(t)
	e.SignIn(t, admin, e.SuperAdmin, "")
	page := body(t, apptest.Get(t, admin, e.URL+"/admin/roles", ""))
	_, row, _ := strings.Cut(page, `data-key="counselor"`)
	row, _, _ = strings.Cut(row, "</tr>")
	if !strings.Contains(row, "<td>"+strconv.Itoa(want["counselor"])+"</td>") {
		t.Errorf("the counselor row does not show %d holders: %s", want["counselor"], row)
	}
}

func TestADepartmentAdminAddsTilesOnlyForTheirDepartments(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	year := demo.AcademicYear(time.Now())
	freshmanOf := func(college string) *demo.Person {
		return e.Person(t, func(p *demo.Person) bool {
			return p.Main() == demo.CatUndergrad && p.Status == 1 && p.Grade == year && p.Position == "" &&
				strings.HasPrefix(strconv.Itoa(p.MainDepartment), college)
		})
	}
	own, other := freshmanOf("1000"), freshmanOf("1001")
	dean := e.Person(t, func(p *demo.Person) bool { return p.Main() == demo.CatCadre && p.MainDepartment == 1000 })
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: dean.UserID, Role: auth.AdminDept, Depts: []string{"1000"}}); err != nil {
		t.Fatal(err)
	}
	c := e.Browser(t)
	e.SignIn(t, c, dean.UserID, "")
	h, err := e.Workbench.Home(ctx, own.UserID, "")
	if err != nil {
		t.Fatal(err)
	}
	def, _ := e.Workbench.WorkbenchDef(ctx, h.Workbench)
	base := e.URL + "/admin/workbenches/" + h.Workbench
	if resp := post(t, c, base+"/tiles", url.Values{"section": {itoa(def.Sections[0].ID)}, "module": {"lost_found"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the college's admin adding a tile: %d", resp.StatusCode)
	}
	if resp := post(t, c, base+"/sections", url.Values{"title": {"学院专区"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the college's admin adding a section to everyone's workbench: %d, want 403", resp.StatusCode)
	}
	seed := def.Sections[0].Tiles[0]
	if resp := post(t, c, base+"/tiles/"+itoa(seed.ID)+"/delete", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the college's admin deleting a tile everyone sees: %d, want 400", resp.StatusCode)
	}
	if err := e.Workbench.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	sees := func(p *demo.Person) bool {
		h, err := e.Workbench.Home(ctx, p.UserID, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range h.Sections {
			for _, tl := range sec.Tiles {
				if tl.Module == "lost_found" {
					return true
				}
			}
		}
		return false
	}
	if !sees(own) {
		t.Error("a freshman of the college does not see the tile its admin added")
	}
	if sees(other) {
		t.Error("a freshman of another college sees the tile")
	}
	def, _ = e.Workbench.WorkbenchDef(ctx, h.Workbench)
	if len(def.Sections[0].Tiles) == 0 || def.Sections[0].Tiles[0].ID != seed.ID {
		t.Error("the tile everyone sees was deleted")
	}
}

// TestTwoInstancesShareSessionsAndEdits runs two instances of one
// deployment over MariaDB and Redis, as behind a load balancer: a person
// signed in on one is signed in on the other, signing out everywhere on one
// ends the session on both, and an admin's edit on one shows on the other
// without a restart.
func TestTwoInstancesShareSessionsAndEditsOverMySQLAndRedis(t *testing.T) {
	db := storetest.MySQL(t)
	rc := coord.NewRedis(coord.RedisOptions{Addr: testenv.RedisAddr(t), Prefix: fmt.Sprintf("apptest:%d:", time.Now().UnixNano())})
	t.Cleanup(func() { rc.Close() })
	a := apptest.Start(t, apptest.Options{DB: db, Coord: rc})
	b := apptest.Start(t, apptest.Options{DB: db, Coord: rc})
	ctx := context.Background()
	st := a.Person(t, undergraduate)
	c := a.Browser(t)
	a.SignIn(t, c, st.UserID, "")
	// The cookie jar holds the session cookie for 127.0.0.1, both instances' host.
	page := body(t, apptest.Get(t, c, b.URL+"/app/", ""))
	if !strings.Contains(page, `data-testid="person-name">`+st.Name+`<`) {
		t.Fatal("the other instance does not know the session")
	}
	// An admin adds a tile on instance a; instance b shows it once its
	// catalog check comes round (every 2 s), with no restart.
	admin := a.Browser(t)
	a.SignIn(t, admin, a.SuperAdmin, "")
	h, _ := b.Workbench.Home(ctx, st.UserID, "")
	def, _ := a.Workbench.WorkbenchDef(ctx, h.Workbench)
	if resp := post(t, admin, a.URL+"/admin/workbenches/"+h.Workbench+"/tiles", url.Values{"section": {itoa(def.Sections[0].ID)}, "module": {"flea_market"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding a tile: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(body(t, apptest.Get(t, c, b.URL+"/app/", "")), `data-module="flea_market"`) {
		if time.Now().After(deadline) {
			t.Fatal("the other instance never showed the tile")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Signing out everywhere on b (from a PC) ends the phone's session,
	// which still holds its cookie, on a too.
	pc := a.Browser(t)
	a.SignIn(t, pc, st.UserID, "")
	if resp := post(t, pc, b.URL+"/auth/logout?everywhere=1", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign out everywhere: %d", resp.StatusCode)
	}
	for name, u := range map[string]string{"a": a.URL, "b": b.URL} {
		resp := apptest.Get(t, c, u+"/app/", "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Errorf("instance %s still serves the phone's session after signing out everywhere: %d", name, resp.StatusCode)
		}
	}
}
