package browsertest_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
)

// The journeys of issue 8, played in a real headless Chromium against the
// whole platform (apptest: SQLite, the WeCom simulator with the demo
// university, the CAS simulator). Each asserts what the person sees on the
// pages, and keeps a screenshot of every step in the test's artifact
// directory (`go test -artifacts` keeps them).

// freshman is an undergraduate of this year's intake who holds no other
// role (not a class monitor), so their workbench is the freshman one, with
// the campus overview on it.
func freshman(t *testing.T, e *apptest.Env) *demo.Person {
	t.Helper()
	top := 0
	for _, p := range e.Uni.People {
		if p.Main() == demo.CatUndergrad && p.Grade > top {
			top = p.Grade
		}
	}
	return e.Person(t, func(p *demo.Person) bool {
		return p.Main() == demo.CatUndergrad && p.Grade == top && p.Position == "" && len(p.Categories) == 1
	})
}

// multiIdentity is the teacher who is also a doctoral student and an
// alumnus.
func multiIdentity(t *testing.T, e *apptest.Env) *demo.Person {
	t.Helper()
	return e.Person(t, func(p *demo.Person) bool {
		return slices.Contains(p.Categories, demo.CatStaff) && slices.Contains(p.Categories, demo.CatPostgrad) && slices.Contains(p.Categories, demo.CatAlumnus)
	})
}

// TestJourneyPhoneOAuth is the newcomer's first run of `make run`: the
// simulated phone, pick an undergraduate, open the app, land signed in on
// their workbench, open the campus overview, open a module that is not
// there yet.
func TestJourneyPhoneOAuth(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	stu := freshman(t, e)
	b := newTab(t, "student")

	b.open(e.URL + "/wecomsim/phone")
	if h := b.text("h1.pick-h"); h != "谁拿着这部手机？" {
		b.fatalf("the phone asks %q, want who holds it", h)
	}
	b.shot("phone-members")
	b.click(fmt.Sprintf(`a.member-link[data-userid=%q]`, stu.UserID))
	if who := b.text("#me"); !strings.Contains(who, stu.Name) {
		b.fatalf("the phone page shows %q, want %s", who, stu.Name)
	}
	b.shot("phone-of-student")
	b.openFromPhone(e, stu.UserID)

	u := b.location()
	if u.Path != "/app/" || u.RawQuery != "" {
		b.fatalf("after the OAuth round trip the tab shows %s, want /app/ with no code or state left", u)
	}
	wb := b.workbench()
	b.shot("workbench")
	if wb.Name != stu.Name {
		t.Errorf("person-name shows %q, want %q", wb.Name, stu.Name)
	}
	if !strings.HasPrefix(wb.Workbench, "本科") {
		t.Errorf("an undergraduate lands on %q, want an undergraduate (本科…) workbench", wb.Workbench)
	}
	if len(wb.modules()) < 8 {
		t.Errorf("the workbench shows %d tiles: %v", len(wb.modules()), wb.modules())
	}
	if !wb.hasTile("campus") {
		b.fatalf("the freshman workbench has no campus overview tile: %v", wb.modules())
	}

	// A live built-in module: the campus overview.
	b.click(`[data-testid=home] [data-testid=section] [data-testid=tile][data-module=campus]`)
	if p := b.location().Path; p != "/app/m/campus" {
		b.fatalf("the campus tile opened %s", p)
	}
	if title := b.text("[data-testid=module-title]"); title != "校园概况" {
		t.Errorf("campus overview titled %q", title)
	}
	if n := len(b.attrs("[data-testid=content]", "data-key")); n < 3 {
		t.Errorf("campus overview lists %d items (sections, notices, news)", n)
	}
	if b.has("[data-testid=soon]") {
		t.Errorf("the live campus overview shows the coming-soon page")
	}
	b.shot("campus-overview")

	// Back to the workbench, then a module whose capability comes later.
	b.click("[data-testid=back]")
	wb = b.workbench()
	var soon *tileView
	for _, s := range wb.Sections {
		for i := range s.Tiles {
			if s.Tiles[i].Soon && soon == nil {
				soon = &s.Tiles[i]
			}
		}
	}
	if soon == nil {
		b.fatalf("no coming-soon tile on %s: %+v", wb.Workbench, wb.Sections)
	}
	b.click(fmt.Sprintf(`[data-testid=home] [data-testid=section] [data-testid=tile][data-module=%q]`, soon.Module))
	if !b.has("[data-testid=soon]") {
		b.fatalf("the soon tile %s opened %s without the coming-soon page: %q", soon.Module, b.location(), b.text("main"))
	}
	if title := b.text("[data-testid=module-title]"); title != soon.Label {
		t.Errorf("coming-soon page titled %q, the tile said %q", title, soon.Label)
	}
	msg := b.text("[data-testid=soon]")
	if !strings.Contains(msg, "即将上线") || !strings.Contains(msg, "现在还不能使用") {
		t.Errorf("coming-soon page does not say so honestly: %q", msg)
	}
	if strings.Contains(msg, "开放开放") {
		t.Errorf("coming-soon page stutters (开放开放): %q", msg)
	}
	b.shot("coming-soon")

	// Star it: the page says so, and stays where the person was.
	b.click("[data-testid=fav]")
	b.shot("coming-soon-starred")
	if p := b.location().Path; p != "/app/m/"+soon.Module {
		t.Errorf("starring %s on its page sent the person to %s, away from the page", soon.Module, p)
	}
	b.open(e.URL + "/app/m/" + soon.Module)
	if fav := b.text("[data-testid=fav]"); !strings.Contains(fav, "已收藏") {
		t.Errorf("%s is starred, yet its page's button says %q", soon.Module, fav)
	}

	// The workbench remembers both modules as recently used, and the star.
	b.open(e.URL + "/app/")
	recent := b.attrs("[data-testid=recent] [data-testid=tile]", "data-module")
	if !slices.Contains(recent, "campus") || !slices.Contains(recent, soon.Module) {
		t.Errorf("recently used shows %v, want campus and %s", recent, soon.Module)
	}
	if favs := b.attrs("[data-testid=favourites] [data-testid=tile]", "data-module"); !slices.Equal(favs, []string{soon.Module}) {
		t.Errorf("favourites show %v, want [%s]", favs, soon.Module)
	}
	b.shot("workbench-recent")
}

// TestJourneyStudentAndCounselor: a student and a counselor, each on their
// own phone, see different workbenches; the counselor's leads with the
// student-work tiles.
func TestJourneyStudentAndCounselor(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	stu := freshman(t, e)
	cou := e.Person(t, func(p *demo.Person) bool { return p.Main() == demo.CatCounselor })
	root := newTab(t, "root")

	sb := root.fresh("student")
	sb.openFromPhone(e, stu.UserID)
	sw := sb.workbench()
	sb.shot("workbench")

	cb := root.fresh("counselor")
	cb.openFromPhone(e, cou.UserID)
	cw := cb.workbench()
	cb.shot("workbench")

	if sw.Name != stu.Name || cw.Name != cou.Name {
		t.Errorf("names shown: student %q (want %q), counselor %q (want %q)", sw.Name, stu.Name, cw.Name, cou.Name)
	}
	if sw.Workbench == "" || sw.Workbench == cw.Workbench {
		t.Errorf("student on %q, counselor on %q: want two different workbenches", sw.Workbench, cw.Workbench)
	}
	if !strings.Contains(cw.Workbench, "辅导员") {
		t.Errorf("the counselor lands on %q, want the counselor workbench", cw.Workbench)
	}
	if slices.Equal(sw.modules(), cw.modules()) {
		t.Errorf("student and counselor see the same tiles: %v", sw.modules())
	}
	if len(cw.Sections) == 0 || len(cw.Sections[0].Tiles) == 0 {
		t.Fatalf("the counselor workbench has no first section: %+v", cw.Sections)
	}
	first := cw.Sections[0]
	work := 0
	for _, tl := range first.Tiles {
		if tl.Category == "学工服务" {
			work++
		}
	}
	if first.Tiles[0].Category != "学工服务" || work*2 <= len(first.Tiles) {
		t.Errorf("the counselor's first section %q is not student work: %+v", first.Title, first.Tiles)
	}
	if len(sw.Sections) > 0 && len(sw.Sections[0].Tiles) > 0 && sw.Sections[0].Title == first.Title {
		t.Errorf("student and counselor workbenches open with the same section %q", first.Title)
	}
}

// TestJourneyIdentitySwitch: the teacher who is also a doctoral student and
// an alumnus switches identity; the workbench follows, and the choice
// outlives signing out and back in.
func TestJourneyIdentitySwitch(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	p := multiIdentity(t, e)
	b := newTab(t, "teacher")

	b.openFromPhone(e, p.UserID)
	before := b.workbench()
	b.shot("workbench-default")
	if before.Name != p.Name {
		t.Errorf("person-name shows %q, want %q", before.Name, p.Name)
	}

	// The switcher lists every identity the person holds.
	if err := b.clickNoNav("details.switch > summary"); err != nil {
		b.fatalf("open the identity switcher: %v", err)
	}
	labels := eval[[]string](b, `[...document.querySelectorAll("[data-testid=identity-option]")].map(o => o.innerText.replace(/\s+/g, " ").trim())`)
	roles := b.attrs("[data-testid=identity-option]", "data-role")
	b.shot("identity-switcher")
	joined := strings.Join(labels, " | ")
	for _, want := range []string{"教职工", "博士", "校友"} {
		if !strings.Contains(joined, want) {
			t.Errorf("identity switcher lacks a %s identity: %s", want, joined)
		}
	}
	if cur := b.attrs(`[data-testid=identity-option][aria-current=true]`, "data-role"); len(cur) != 1 {
		t.Errorf("the switcher marks %d identities as current, want 1", len(cur))
	}

	// Act as the doctoral student.
	pick := -1
	for i, l := range labels {
		if strings.Contains(l, "博士") {
			pick = i
			break
		}
	}
	if pick < 0 {
		b.fatalf("no doctoral identity among %v", labels)
	}
	choice, choiceName := roles[pick], strings.SplitN(labels[pick], " ", 2)[0]
	b.click(fmt.Sprintf(`[data-testid=identity-option][data-role=%q]`, choice))
	after := b.workbench()
	b.shot("workbench-doctoral")
	if after.Workbench == before.Workbench || slices.Equal(after.modules(), before.modules()) {
		t.Errorf("switching to %s left the workbench %q with the same tiles", choice, after.Workbench)
	}
	if after.Identity != choiceName {
		t.Errorf("after switching, the identity shown is %q, want %q", after.Identity, choiceName)
	}

	// Sign out: the workbench is no longer served to this browser.
	b.click("[data-testid=signout] button")
	if !b.has("[data-testid=signed-out]") {
		b.fatalf("signing out shows %q", b.text("main"))
	}
	b.shot("signed-out")
	b.open(e.URL + "/app/")
	if u := b.location(); u.Path != "/login" {
		b.fatalf("after signing out /app/ shows %s, want the sign-in page", u)
	}

	// Back in from the phone: the doctoral workbench again.
	b.openFromPhone(e, p.UserID)
	again := b.workbench()
	b.shot("workbench-after-sign-in")
	if again.Workbench != after.Workbench || again.Identity != choiceName {
		t.Errorf("after signing back in: %q as %q, want %q as %q (the remembered choice)", again.Workbench, again.Identity, after.Workbench, choiceName)
	}
}

// TestJourneyNoSession: /app/ without a session, and with a forged session
// cookie, is not served: a PC browser ends on the sign-in chooser.
func TestJourneyNoSession(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	root := newTab(t, "root")

	check := func(b *tab, step string) {
		t.Helper()
		b.open(e.URL + "/app/")
		u := b.location()
		b.shot(step)
		if u.Path != "/login" {
			b.fatalf("/app/ %s ended on %s, want /login", step, u)
		}
		q := u.Query()
		if q.Has("code") || q.Has("state") || q.Has("ticket") {
			t.Errorf("/app/ %s: the sign-in URL carries a code: %s", step, u)
		}
		if q.Get("return") != "/app/" {
			t.Errorf("/app/ %s: sign-in returns to %q, want /app/", step, q.Get("return"))
		}
		if !b.has("[data-testid=login]") || !b.has("[data-testid=login-qr]") || !b.has("[data-testid=login-cas]") {
			t.Errorf("/app/ %s: the sign-in page offers no QR and CAS sign-in: %q", step, b.text("main"))
		}
		if b.has("[data-testid=home]") || b.has("[data-testid=person-name]") {
			t.Errorf("/app/ %s: a workbench is shown", step)
		}
	}

	check(root.fresh("no-session").desktop(), "without-session")

	forged := root.fresh("forged").desktop()
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	// Shaped like a real token (32 random bytes, base64url), unknown to the store.
	forged.setCookie(e.URL+"/", "wecomapp_session", base64.RawURLEncoding.EncodeToString(raw[:]))
	check(forged, "with-forged-cookie")

	// A real session's cookie, kept from before its owner signed out, is
	// dead too.
	stale := root.fresh("stale")
	stu := freshman(t, e)
	stale.openFromPhone(e, stu.UserID)
	stale.workbench()
	kept := stale.cookie(e.URL+"/", "wecomapp_session")
	if kept == "" {
		stale.fatalf("signed in, yet the browser holds no wecomapp_session cookie")
	}
	stale.click("[data-testid=signout] button")
	stale.setCookie(e.URL+"/", "wecomapp_session", kept)
	stale.desktop()
	check(stale, "with-cookie-from-before-sign-out")
}

// TestJourneyPCSignIn: on a PC, the sign-in chooser's CAS button goes
// through the university's CAS (the simulator's person picker) and back
// signed in; its QR button goes through WeCom's web login.
func TestJourneyPCSignIn(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	staff := e.Person(t, func(p *demo.Person) bool {
		return len(p.Categories) == 1 && p.Main() == demo.CatStaff && p.Position == "科员"
	})
	teacher := e.Person(t, func(p *demo.Person) bool {
		return len(p.Categories) == 1 && p.Main() == demo.CatStaff && p.Position == "讲师"
	})
	root := newTab(t, "root")

	cas := root.fresh("cas").desktop()
	cas.open(e.URL + "/login")
	cas.shot("login")
	cas.click("[data-testid=login-cas]")
	if u := cas.location(); !strings.HasPrefix(u.Path, "/cassim/login") {
		cas.fatalf("the CAS button led to %s, want the CAS login page", u)
	}
	cas.shot("cas-picker")
	cas.click(fmt.Sprintf(`a.person[data-id=%q]`, staff.UserID))
	wb := cas.workbench()
	cas.shot("workbench")
	if wb.Name != staff.Name {
		t.Errorf("after CAS sign-in person-name shows %q, want %q", wb.Name, staff.Name)
	}
	if len(wb.modules()) == 0 {
		t.Errorf("after CAS sign-in the workbench has no tiles")
	}

	// The QR sign-in starts from a deep link (a search), and returns to it.
	qr := root.fresh("qr").desktop()
	qr.open(e.URL + "/app/search?q=" + url.QueryEscape("邮件"))
	if u := qr.location(); u.Path != "/login" {
		qr.fatalf("a deep link without a session shows %s, want the sign-in page", u)
	}
	qr.click("[data-testid=login-qr]")
	if u := qr.location(); !strings.Contains(u.Path, "/wwlogin/sso/login") {
		qr.fatalf("the QR button led to %s, want WeCom's web login", u)
	}
	qr.shot("weblogin-picker")
	qr.click(fmt.Sprintf(`a.member-link[data-userid=%q]`, teacher.UserID))
	qr.shot("search-after-sign-in")
	if u := qr.location(); u.Path != "/app/search" || u.Query().Get("q") != "邮件" {
		qr.fatalf("after the QR sign-in the tab shows %s, want the search it started from", u)
	}
	if res := qr.attrs("[data-testid=tile]", "data-module"); !slices.Contains(res, "mail") {
		t.Errorf("the search for 邮件 after the QR sign-in finds %v, want mail", res)
	}
	qr.open(e.URL + "/app/")
	wb = qr.workbench()
	qr.shot("workbench")
	if wb.Name != teacher.Name {
		t.Errorf("after the QR sign-in person-name shows %q, want %q", wb.Name, teacher.Name)
	}
}

// TestJourneyAdminEditsTile: the super admin adds a tile to the
// undergraduates' workbench in the console; the student, on their own
// phone, sees it; the audit log names the admin. A student opening the
// console is refused.
func TestJourneyAdminEditsTile(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	stu := freshman(t, e)
	home, err := e.Workbench.Home(context.Background(), stu.UserID, "")
	if err != nil {
		t.Fatal(err)
	}
	key := home.Workbench
	root := newTab(t, "root")

	// The student's workbench before the change.
	sb := root.fresh("student")
	sb.openFromPhone(e, stu.UserID)
	before := sb.workbench()
	sb.shot("workbench-before")

	ab := root.fresh("admin").desktop()
	ab.open(e.URL + "/login")
	ab.click("[data-testid=login-cas]")
	ab.click(fmt.Sprintf(`a.person[data-id=%q]`, e.SuperAdmin))
	if !ab.has("[data-testid=admin-link]") {
		ab.fatalf("the super admin's workbench has no link to the console")
	}
	ab.click("[data-testid=admin-link]")
	if !ab.has("[data-testid=admin-nav]") {
		ab.fatalf("the console link shows %s: %q", ab.location(), ab.text("main"))
	}
	ab.shot("console")
	ab.open(e.URL + "/admin/workbenches")
	ab.click(fmt.Sprintf(`tr[data-key=%q] [data-testid=edit]`, key))
	if h := ab.text(".crumbs b"); h != before.Workbench {
		t.Errorf("the console edits %q, the student sees %q", h, before.Workbench)
	}
	ab.shot("workbench-editor")

	// A module not yet on the workbench, added to its first section.
	options := ab.attrs(`form[data-testid=add-tile] select[name=module] option`, "value")
	var module string
	for _, m := range options {
		if !before.hasTile(m) {
			module = m
			break
		}
	}
	if module == "" {
		ab.fatalf("every module is on %s already", key)
	}
	firstSection := eval[string](ab, `document.querySelector("[data-testid=admin-section] input[name=title]").value`)
	if err := ab.setValue(`form[data-testid=add-tile] select[name=module]`, module); err != nil {
		ab.fatalf("choose %s: %v", module, err)
	}
	ab.click(`form[data-testid=add-tile] button[type=submit]`)
	if f := ab.text("[data-testid=flash]"); f == "" {
		t.Errorf("adding a tile shows no confirmation; errors: %q", ab.text("[data-testid=field-error]"))
	}
	if rows := ab.attrs(`[data-testid=admin-section] [data-testid=admin-tile]`, "data-module"); !slices.Contains(rows, module) {
		ab.fatalf("after adding %s the editor lists %v", module, rows)
	}
	ab.shot("tile-added")

	// Preview as the student, from the editor: the new tile is there.
	if err := ab.setValue(`form[data-testid=preview-form] input[name=user]`, stu.UserID); err != nil {
		ab.fatalf("type the student's id into the preview: %v", err)
	}
	ab.click(`form[data-testid=preview-form] button[type=submit]`)
	ab.shot("preview-as-student")
	if name := ab.text("[data-testid=preview] [data-testid=person-name]"); name != stu.Name {
		t.Errorf("the preview as %s shows %q (%q)", stu.UserID, name, ab.text(".admin__main"))
	}
	if tiles := ab.attrs("[data-testid=preview] [data-testid=tile]", "data-module"); !slices.Contains(tiles, module) {
		t.Errorf("the preview as %s lacks the new tile %s: %v", stu.UserID, module, tiles)
	}

	// The student, in a fresh browser, sees the new tile.
	sb2 := root.fresh("student-again")
	sb2.openFromPhone(e, stu.UserID)
	after := sb2.workbench()
	sb2.shot("workbench-after")
	if !after.hasTile(module) {
		t.Errorf("the student does not see the new tile %s: %v", module, after.modules())
	}
	if len(after.Sections) > 0 {
		var inFirst []string
		for _, tl := range after.Sections[0].Tiles {
			inFirst = append(inFirst, tl.Module)
		}
		if after.Sections[0].Title != firstSection || !slices.Contains(inFirst, module) {
			t.Errorf("the new tile %s is not in the section %q it was added to: %q has %v", module, firstSection, after.Sections[0].Title, inFirst)
		}
	}
	if len(after.modules()) != len(before.modules())+1 {
		t.Errorf("tiles before %d, after %d: want one more", len(before.modules()), len(after.modules()))
	}

	// The audit log names the admin and the change.
	ab.open(e.URL + "/admin/audit")
	rows := eval[[]string](ab, `[...document.querySelectorAll("[data-testid=audit] tbody tr")].map(r => r.innerText.replace(/\s+/g, " ").trim())`)
	ab.shot("audit")
	found := false
	for _, r := range rows {
		if strings.Contains(r, e.SuperAdmin) && strings.Contains(r, "workbench.tile") && strings.Contains(r, key) && strings.Contains(r, module) {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit row by %s adding %s to %s:\n%s", e.SuperAdmin, module, key, strings.Join(rows, "\n"))
	}

	// A student is not an admin.
	if sb2.has("[data-testid=admin-link]") {
		t.Errorf("the student's workbench links to the console")
	}
	sb2.open(e.URL + "/admin/")
	sb2.shot("console-refused")
	if st := sb2.attrs("[data-testid=app-error]", "data-status"); len(st) != 1 || st[0] != "403" {
		t.Errorf("a student opening /admin/ sees %s %q, want the 403 page", sb2.location(), sb2.text("main"))
	}
	if sb2.has("[data-testid=admin-nav]") {
		t.Errorf("the console navigation is shown to a student")
	}
}

// TestJourneyWeChatPlugin: a member in personal WeChat (the WeChat plugin)
// gets the same pages as in the WeCom client: /app/ without a session goes
// through OAuth, not the PC chooser, to the same workbench; the pages say
// they are in WeChat.
func TestJourneyWeChatPlugin(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	// An alumnus: alumni reach the platform through the WeChat plugin.
	p := e.Person(t, func(p *demo.Person) bool { return p.WeChatPlugin && p.Main() == demo.CatAlumnus })
	root := newTab(t, "root")

	visit := func(label, ua string) (*tab, workbenchView) {
		b := root.fresh(label)
		b.userAgent(ua)
		b.open(e.URL + "/app/")
		// No phone holder in a fresh browser: WeCom's authorize page asks who
		// is signing in. Anything but the PC chooser.
		u := b.location()
		if u.Path == "/login" || b.has("[data-testid=login]") {
			b.fatalf("/app/ without a session sent %s to the PC sign-in page", label)
		}
		if !strings.HasSuffix(u.Path, "/connect/oauth2/authorize") {
			b.fatalf("/app/ without a session in %s led to %s, want WeCom's OAuth authorize page", label, u)
		}
		b.shot("authorize")
		b.click(fmt.Sprintf(`a.member-link[data-userid=%q]`, p.UserID))
		wb := b.workbench()
		b.shot("workbench")
		return b, wb
	}
	_, wecom := visit("wecom", apptest.UserAgentWeCom)
	wb, wechat := visit("wechat", apptest.UserAgentWeChat)

	if wechat.Name != p.Name {
		t.Errorf("in WeChat person-name shows %q, want %q", wechat.Name, p.Name)
	}
	if wechat.Workbench != wecom.Workbench || !slices.Equal(wechat.modules(), wecom.modules()) {
		t.Errorf("WeChat shows %q %v, WeCom %q %v: want the same workbench", wechat.Workbench, wechat.modules(), wecom.Workbench, wecom.modules())
	}
	if !strings.Contains(" "+wechat.BodyClass+" ", " app_wechat ") {
		t.Errorf("in WeChat the body class is %q, want app_wechat", wechat.BodyClass)
	}
	if strings.Contains(wecom.BodyClass, "app_wechat") {
		t.Errorf("in WeCom the body class is %q, want no app_wechat", wecom.BodyClass)
	}

	// A module page in WeChat is the same page, marked as in WeChat.
	if !wechat.hasTile("campus") {
		wb.fatalf("the alumnus workbench has no campus overview: %v", wechat.modules())
	}
	wb.click(`[data-testid=home] [data-testid=section] [data-testid=tile][data-module=campus]`)
	wb.shot("campus-overview")
	if title := wb.text("[data-testid=module-title]"); title != "校园概况" {
		t.Errorf("campus overview in WeChat titled %q", title)
	}
	if cls := eval[string](wb, `document.body.className`); !strings.Contains(cls, "app_wechat") {
		t.Errorf("campus overview in WeChat has body class %q", cls)
	}
}

// TestJourneyHomeLinks: every link under the tiles of a workbench home
// (the campus overview, the console for admins) opens a page, whatever
// the person's workbench holds: a teacher whose workbench has no campus
// tile still follows the home page's own "校园概况" link.
func TestJourneyHomeLinks(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	root := newTab(t, "root")
	fresh := freshman(t, e)
	for _, p := range []*demo.Person{fresh, multiIdentity(t, e)} {
		b := root.fresh(p.UserID)
		b.openFromPhone(e, p.UserID)
		wb := b.workbench()
		links := b.attrs("nav.links a", "href")
		// The freshman's workbench holds the campus overview, so its home
		// links it; a workbench without it has no such link.
		if len(links) == 0 && p == fresh {
			b.fatalf("the workbench %q has no links under its tiles", wb.Workbench)
		}
		for i, href := range links {
			b.click(fmt.Sprintf("nav.links a:nth-of-type(%d)", i+1))
			b.shot("link-" + strings.Trim(href, "/"))
			if st := b.attrs("[data-testid=app-error]", "data-status"); len(st) > 0 {
				t.Errorf("%s on %q: the home page's link %s leads to the %s error page: %q", p.UserID, wb.Workbench, href, st[0], b.text("main"))
			} else if b.has("[data-testid=content]") {
				// The campus overview: its items open too.
				b.click("[data-testid=content]")
				if st := b.attrs("[data-testid=app-error]", "data-status"); len(st) > 0 {
					t.Errorf("%s: the first item of %s leads to the %s error page", p.UserID, href, st[0])
				}
			}
			b.open(e.URL + "/app/")
		}
	}
}
