package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/selfreg"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Self-registration over the whole platform: the QR code's page, the CAS
// simulator, the form, the refusals a person meets, the audit log.

// enrolments records what the test's Enrol and Welcome were asked.
type enrolments struct {
	mu      sync.Mutex
	enrols  []string
	actors  []store.Actor
	welcome []string
	// then runs after recording, when set (the member made in the mirror,
	// or an error).
	then func(ctx context.Context, userID string) error
}

func (r *enrolments) options(perPerson int) *selfreg.Options {
	return &selfreg.Options{PerPerson: perPerson,
		Enrol: func(ctx context.Context, userID string, actor store.Actor) error {
			r.mu.Lock()
			r.enrols = append(r.enrols, userID)
			r.actors = append(r.actors, actor)
			then := r.then
			r.mu.Unlock()
			if then != nil {
				return then(ctx, userID)
			}
			return nil
		},
		Welcome: func(ctx context.Context, userID string) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.welcome = append(r.welcome, userID)
			return nil
		},
	}
}

func (r *enrolments) enrolled() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.enrols...)
}

func activeStaff(p *demo.Person) bool {
	return p.Main() == demo.CatStaff && p.Status == 1 && p.Mobile != "" && len(p.Categories) == 1
}

// casToForm starts a registration of type typ on c and signs in to the
// CAS simulator as user; it returns the response of the step after CAS
// (our callback: a redirect to the form, or a page saying why not).
func casToForm(t *testing.T, e *apptest.Env, c *http.Client, typ, user string) *http.Response {
	t.Helper()
	resp := apptest.Get(t, c, e.URL+"/register/start?type="+typ, "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	login, _ := url.Parse(location(t, resp))
	if !strings.HasPrefix(login.String(), e.URL+"/cassim/login") || !strings.HasPrefix(login.Query().Get("service"), e.URL+"/register/cas/callback?state=") {
		t.Fatalf("start went to %s", login)
	}
	q := login.Query()
	q.Set("sim_user", user)
	login.RawQuery = q.Encode()
	resp = apptest.Get(t, c, login.String(), "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("CAS login: %d", resp.StatusCode)
	}
	return apptest.Get(t, c, location(t, resp), "")
}

// formFor gets as far as the form, which must show the verified id.
func formFor(t *testing.T, e *apptest.Env, c *http.Client, typ, user string) string {
	t.Helper()
	resp := casToForm(t, e, c, typ, user)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body(t, resp))
	}
	if loc := location(t, resp); loc != e.URL+"/register/form" {
		t.Fatalf("callback went to %s", loc)
	}
	page := body(t, apptest.Get(t, c, e.URL+"/register/form", ""))
	if !strings.Contains(page, `data-testid="verified-id">`+user+`<`) {
		t.Fatalf("form does not show the verified id %s:\n%s", user, page)
	}
	return page
}

func submit(t *testing.T, e *apptest.Env, c *http.Client, name, mobile string) (int, string) {
	t.Helper()
	resp := post(t, c, e.URL+"/register/form", url.Values{"name": {name}, "mobile": {mobile}})
	return resp.StatusCode, body(t, resp)
}

func selfRegAudit(t *testing.T, e *apptest.Env, casUser string) []store.AuditEntry {
	t.Helper()
	rows, err := e.DB.ListAudit(context.Background(), store.AuditFilter{Action: "selfreg.", Object: "selfreg/" + casUser})
	if err != nil {
		t.Fatal(err)
	}
	return rows // newest first
}

func auditCheck(t *testing.T, e store.AuditEntry) string {
	t.Helper()
	var a struct{ Check, Mobile string }
	if err := json.Unmarshal([]byte(e.After), &a); err != nil {
		t.Fatal(err)
	}
	return a.Check
}

func TestSelfRegistrationFromQRCodeToWelcome(t *testing.T) {
	rec := &enrolments{}
	e := apptest.Start(t, apptest.Options{SelfReg: rec.options(0)})
	p := e.Person(t, activeStaff)
	c := e.Browser(t)

	page := body(t, apptest.Get(t, c, e.URL+"/register", apptest.UserAgentWeChat))
	for _, s := range []string{`href="/register/start?type=faculty"`, `href="/register/start?type=student"`, "我是教职工", "我是学生"} {
		if !strings.Contains(page, s) {
			t.Errorf("start page lacks %q", s)
		}
	}
	form := formFor(t, e, c, "faculty", p.UserID)
	if !strings.Contains(form, `name="name" value="`+p.Name+`"`) {
		t.Errorf("the name CAS released is not filled in")
	}
	status, done := submit(t, e, c, p.Name, p.Mobile)
	if status != http.StatusOK || !strings.Contains(done, `data-testid="register-done"`) {
		t.Fatalf("submit: %d\n%s", status, done)
	}
	for _, s := range []string{`data-testid="register-userid">` + p.UserID + `<`, mask.Phone(p.Mobile), "微信插件", "我的企业", `data-testid="welcomed"`} {
		if !strings.Contains(done, s) {
			t.Errorf("success page lacks %q", s)
		}
	}
	if strings.Contains(done, p.Mobile) {
		t.Errorf("success page shows the whole mobile")
	}
	if got := rec.enrolled(); len(got) != 1 || got[0] != p.UserID || rec.actors[0].UserID != p.UserID || rec.actors[0].IP != "127.0.0.1" {
		t.Errorf("Enrol calls %v by %+v, want one for %s", got, rec.actors, p.UserID)
	}
	if len(rec.welcome) != 1 || rec.welcome[0] != p.UserID {
		t.Errorf("welcomed %v", rec.welcome)
	}
	rows := selfRegAudit(t, e, p.UserID)
	if len(rows) != 1 || rows[0].Action != selfreg.ActionEnrolled || rows[0].Actor != p.UserID || rows[0].IP != "127.0.0.1" || strings.Contains(rows[0].After, p.Mobile) {
		t.Errorf("audit %+v", rows)
	}
	// The verification is spent: the form cannot be posted again.
	resp := apptest.Get(t, c, e.URL+"/register/form", "")
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="register-problem"`) {
		t.Errorf("form after success: %d", resp.StatusCode)
	}
	if status, _ := submit(t, e, c, p.Name, p.Mobile); status != http.StatusBadRequest || len(rec.enrolled()) != 1 {
		t.Errorf("second submit: %d, enrolled %v", status, rec.enrolled())
	}
}

func TestSelfRegistrationRefusalsSayWhatFailed(t *testing.T) {
	rec := &enrolments{}
	e := apptest.Start(t, apptest.Options{SelfReg: rec.options(100)})
	ctx := context.Background()
	staff := e.Person(t, activeStaff)
	student := e.Person(t, undergraduate)
	member := e.Person(t, func(p *demo.Person) bool { return activeStaff(p) && p.UserID != staff.UserID })
	gone := e.Person(t, func(p *demo.Person) bool {
		return activeStaff(p) && p.UserID != staff.UserID && p.UserID != member.UserID
	})
	// member is in WeCom already (the mirror holds them); gone is in CAS
	// but no longer in the data center.
	if err := e.Mirror.PutMembers(ctx, nil, []contacts.Member{{UserID: member.UserID, Name: member.Name, Enabled: true, Mobile: member.Mobile,
		Departments: []contacts.Membership{{Department: int64(member.MainDepartment)}}, MainDepartment: int64(member.MainDepartment)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.ExecContext(ctx, "DELETE FROM dc_faculty WHERE staff_no = ?", gone.UserID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typ    string
		p            *demo.Person
		nameIn, mob  string
		check        string
		page         string // register_form: shown again to fix; register-refused otherwise
		says         string
		restartOffer bool
	}{
		{"unknown id", "faculty", gone, gone.Name, gone.Mobile, selfreg.CheckUnknownID, "register-refused", "工号 " + gone.UserID, false},
		{"type mismatch", "faculty", student, student.Name, student.Mobile, selfreg.CheckTypeMismatch, "register-refused", "我是学生", true},
		{"name mismatch", "faculty", staff, staff.Name + "某", staff.Mobile, selfreg.CheckNameMismatch, "refusal", "姓名", false},
		{"already a member", "faculty", member, member.Name, member.Mobile, selfreg.CheckAlreadyMember, "register-refused", "微信插件", false},
		{"phone differs", "student", student, student.Name, "13312345678", selfreg.CheckPhoneDiffers, "refusal", mask.Phone(student.Mobile), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.Browser(t)
			formFor(t, e, c, tc.typ, tc.p.UserID)
			status, page := submit(t, e, c, tc.nameIn, tc.mob)
			if status != http.StatusForbidden || !strings.Contains(page, `data-testid="`+tc.page+`" data-check="`+tc.check+`"`) {
				t.Fatalf("%d, want 403 and %s %s:\n%s", status, tc.page, tc.check, page)
			}
			if !strings.Contains(page, tc.says) {
				t.Errorf("the page does not say %q", tc.says)
			}
			if got := strings.Contains(page, `data-testid="register-restart"`); tc.page == "register-refused" && got != tc.restartOffer {
				t.Errorf("restart offered: %v", got)
			}
			if tc.page == "refusal" && !strings.Contains(page, `value="`+tc.mob+`"`) {
				t.Errorf("the form lost the mobile entered")
			}
			if rows := selfRegAudit(t, e, tc.p.UserID); len(rows) == 0 || rows[0].Action != selfreg.ActionAttempt || auditCheck(t, rows[0]) != tc.check {
				t.Errorf("audit %+v", rows)
			}
		})
	}
	if got := rec.enrolled(); len(got) != 0 {
		t.Errorf("refused people enrolled: %v", got)
	}
}

func TestSelfRegistrationIsRateLimited(t *testing.T) {
	rec := &enrolments{}
	e := apptest.Start(t, apptest.Options{SelfReg: rec.options(2)})
	p := e.Person(t, activeStaff)
	c := e.Browser(t)
	formFor(t, e, c, "faculty", p.UserID)
	for i := 0; i < 2; i++ {
		if status, _ := submit(t, e, c, "不是"+p.Name, p.Mobile); status != http.StatusForbidden {
			t.Fatalf("attempt %d: %d", i+1, status)
		}
	}
	resp := post(t, c, e.URL+"/register/form", url.Values{"name": {p.Name}, "mobile": {p.Mobile}})
	page := body(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(page, `data-check="rate_limited"`) || !strings.Contains(page, "分钟") {
		t.Fatalf("third attempt: %d Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), page)
	}
	// A new CAS sign-in does not reset the allowance: it is the person's.
	formFor(t, e, c, "faculty", p.UserID)
	if status, _ := submit(t, e, c, p.Name, p.Mobile); status != http.StatusTooManyRequests {
		t.Errorf("after signing in again: %d", status)
	}
	if len(rec.enrolled()) != 0 {
		t.Error("enrolled while rate limited")
	}
	if rows := selfRegAudit(t, e, p.UserID); len(rows) != 4 || auditCheck(t, rows[0]) != selfreg.CheckRateLimited {
		t.Errorf("%d audit rows, want every attempt", len(rows))
	}
}

func TestSelfRegistrationFormInput(t *testing.T) {
	rec := &enrolments{}
	e := apptest.Start(t, apptest.Options{SelfReg: rec.options(0)})
	p := e.Person(t, activeStaff)
	c := e.Browser(t)
	formFor(t, e, c, "faculty", p.UserID)
	for _, tc := range []struct{ name, mobile, field, says string }{
		{"", p.Mobile, "name", "请填写姓名"},
		{p.Name, "", "mobile", "请填写手机号"},
		{p.Name, "1380013", "mobile", "格式不对"},
		{p.Name, "010-62345678", "mobile", "不是手机号"},
	} {
		status, page := submit(t, e, c, tc.name, tc.mobile)
		if status != http.StatusBadRequest || !strings.Contains(page, `data-testid="field-error">`) || !strings.Contains(page, tc.says) {
			t.Errorf("%q / %q: %d, want 400 saying %q", tc.name, tc.mobile, status, tc.says)
		}
		if !strings.Contains(page, `name="name" value="`+tc.name+`"`) || !strings.Contains(page, `name="mobile" value="`+tc.mobile+`"`) {
			t.Errorf("%q / %q: the values entered are not kept", tc.name, tc.mobile)
		}
	}
	if len(rec.enrolled()) != 0 || len(selfRegAudit(t, e, p.UserID)) != 0 {
		t.Error("bad input reached Register")
	}
	// The same person with the number written the international way.
	if status, page := submit(t, e, c, p.Name, "+86 "+p.Mobile); status != http.StatusOK {
		t.Errorf("+86 number: %d\n%s", status, page)
	}
}

func TestSelfRegistrationNeedsThisBrowsersCASTicket(t *testing.T) {
	rec := &enrolments{}
	e := apptest.Start(t, apptest.Options{SelfReg: rec.options(0)})
	p := e.Person(t, activeStaff)
	problem := func(t *testing.T, resp *http.Response) {
		t.Helper()
		page := body(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="register-problem"`) {
			t.Errorf("%d, want 400 with the problem shown:\n%s", resp.StatusCode, page)
		}
	}
	// A state of this browser's with a forged or no ticket.
	startState := func(c *http.Client) string {
		resp := apptest.Get(t, c, e.URL+"/register/start?type=faculty", "")
		login, _ := url.Parse(location(t, resp))
		svc, _ := url.Parse(login.Query().Get("service"))
		return svc.Query().Get("state")
	}
	t.Run("forged ticket", func(t *testing.T) {
		c := e.Browser(t)
		problem(t, apptest.Get(t, c, e.URL+"/register/cas/callback?state="+startState(c)+"&ticket=ST-forged-0001", ""))
	})
	t.Run("no ticket", func(t *testing.T) {
		c := e.Browser(t)
		problem(t, apptest.Get(t, c, e.URL+"/register/cas/callback?state="+startState(c), ""))
	})
	t.Run("no state", func(t *testing.T) {
		problem(t, apptest.Get(t, e.Browser(t), e.URL+"/register/cas/callback?ticket=ST-1", ""))
	})
	t.Run("another browser's ticket", func(t *testing.T) {
		victim, attacker := e.Browser(t), e.Browser(t)
		resp := apptest.Get(t, attacker, e.URL+"/register/start?type=faculty", "")
		login, _ := url.Parse(location(t, resp))
		q := login.Query()
		q.Set("sim_user", p.UserID)
		login.RawQuery = q.Encode()
		callback := location(t, apptest.Get(t, attacker, login.String(), ""))
		problem(t, apptest.Get(t, victim, callback, ""))
	})
	t.Run("a sign-in state", func(t *testing.T) {
		// /auth/cas issues a state for sign-in; with a genuine ticket for
		// our callback it still must not open the form.
		c := e.Browser(t)
		login, _ := url.Parse(location(t, apptest.Get(t, c, e.URL+"/auth/cas?return=/app/", "")))
		svc, _ := url.Parse(login.Query().Get("service"))
		q := url.Values{"service": {e.URL + "/register/cas/callback?state=" + svc.Query().Get("state")}, "sim_user": {p.UserID}}
		callback := location(t, apptest.Get(t, c, e.URL+"/cassim/login?"+q.Encode(), ""))
		problem(t, apptest.Get(t, c, callback, ""))
	})
	t.Run("form without CAS", func(t *testing.T) {
		c := e.Browser(t)
		problem(t, apptest.Get(t, c, e.URL+"/register/form", ""))
		problem(t, post(t, c, e.URL+"/register/form", url.Values{"name": {p.Name}, "mobile": {p.Mobile}}))
	})
	t.Run("cross-site post", func(t *testing.T) {
		c := e.Browser(t)
		formFor(t, e, c, "faculty", p.UserID)
		resp := post(t, c, e.URL+"/register/form", url.Values{"name": {p.Name}, "mobile": {p.Mobile}}, "Sec-Fetch-Site", "cross-site")
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site: %d", resp.StatusCode)
		}
	})
	if len(rec.enrolled()) != 0 {
		t.Errorf("enrolled %v", rec.enrolled())
	}
}

func TestSelfRegistrationQRCodeAndPoster(t *testing.T) {
	e := apptest.Start(t, apptest.Options{SelfReg: (&enrolments{}).options(0)})
	resp := apptest.Get(t, e.Browser(t), e.URL+"/register/qr.png", "")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 512 {
		t.Fatalf("qr.png is not a 512 px PNG: %v", err)
	}
	// The encoder is deterministic: the same image is the public /register.
	want, _ := qrcode.Encode(e.URL+"/register", qrcode.Medium, 512)
	if !bytes.Equal(b, want) {
		t.Error("the QR code does not encode the public /register URL")
	}
	poster := body(t, apptest.Get(t, e.Browser(t), e.URL+"/register/poster", ""))
	if !strings.Contains(poster, `src="/register/qr.png"`) || !strings.Contains(poster, e.URL+"/register") {
		t.Errorf("poster lacks the QR code or the address")
	}
}

func TestSelfRegistrationOffSaysSo(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	for _, path := range []string{"/register", "/register/start?type=faculty", "/register/qr.png", "/register/form"} {
		resp := apptest.Get(t, e.Browser(t), e.URL+path, "")
		page := body(t, resp)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "自助注册未开通") {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

// TestSelfRegistrationCreatesTheMemberInWeCom: with the Enrol serve wires
// (orgsync.Runner.Enrol: the person's own ops planned and applied through
// the contacts API, as the nightly sync would), the person the simulated
// WeCom did not have is created there with their phone, is in the mirror,
// and gets the welcome message; registering again is refused as already a
// member.
func TestSelfRegistrationCreatesTheMemberInWeCom(t *testing.T) {
	var e *apptest.Env
	rec := &enrolments{}
	opts := rec.options(0)
	rec.then = func(ctx context.Context, userID string) error {
		_, err := e.Sync.Enrol(ctx, userID, "selfreg", userID, 10*time.Second)
		return err
	}
	welcome := opts.Welcome
	opts.Welcome = func(ctx context.Context, userID string) error {
		_ = welcome(ctx, userID)
		_, err := e.App.SendMessage(ctx, &wecom.Message{ToUser: []string{userID}, Text: &wecom.Text{Content: "欢迎加入学校企业微信！"}})
		return err
	}
	e = apptest.Start(t, apptest.Options{SelfReg: opts})
	p := e.Person(t, activeStaff)
	// The demo's WeCom has everyone; this person has not joined yet.
	if err := e.Sim.AdminDeleteUser(p.UserID); err != nil {
		t.Fatal(err)
	}
	for _, u := range e.Sim.Snapshot().Users {
		if u.UserID == p.UserID {
			t.Fatalf("%s is still in the simulated WeCom", p.UserID)
		}
	}
	calls := e.Sim.CallCount("/cgi-bin/user/create", 0)
	c := e.Browser(t)
	formFor(t, e, c, "faculty", p.UserID)
	status, page := submit(t, e, c, p.Name, p.Mobile)
	if status != http.StatusOK || !strings.Contains(page, `data-testid="welcomed"`) {
		t.Fatalf("submit: %d\n%s", status, page)
	}
	var found bool
	for _, u := range e.Sim.Snapshot().Users {
		if u.UserID == p.UserID {
			found = true
			if u.Name != p.Name || u.Mobile != p.Mobile || u.MainDepartment != int64(p.MainDepartment) {
				t.Errorf("created as %+v", u)
			}
		}
	}
	if !found || e.Sim.CallCount("/cgi-bin/user/create", 0) != calls+1 {
		t.Fatalf("%s was not created in the simulated WeCom (found %v)", p.UserID, found)
	}
	if m, err := e.Mirror.Member(context.Background(), p.UserID); err != nil || !m.Enabled {
		t.Errorf("mirror: %+v, %v", m, err)
	}
	if inbox := e.Sim.Inbox(p.UserID); len(inbox) == 0 || !strings.Contains(string(inbox[0].Body), "欢迎") {
		t.Errorf("no welcome in the new member's inbox: %+v", inbox)
	}
	formFor(t, e, c, "faculty", p.UserID)
	if status, page := submit(t, e, c, p.Name, p.Mobile); status != http.StatusForbidden || !strings.Contains(page, `data-check="already_member"`) {
		t.Errorf("again: %d", status)
	}
}

func TestSelfRegistrationWhenWeComFails(t *testing.T) {
	rec := &enrolments{}
	opts := rec.options(0)
	opts.Welcome = func(ctx context.Context, userID string) error { return errors.New("wecom: 81013 no such user") }
	e := apptest.Start(t, apptest.Options{SelfReg: opts})
	p := e.Person(t, activeStaff)
	c := e.Browser(t)
	formFor(t, e, c, "faculty", p.UserID)

	// Enrol fails: nothing the person did; they may try again at once.
	rec.then = func(ctx context.Context, userID string) error { return errors.New("wecom: -1 system busy") }
	status, page := submit(t, e, c, p.Name, p.Mobile)
	if status != http.StatusServiceUnavailable || !strings.Contains(page, "注册没有完成") || !strings.Contains(page, `href="/register/form"`) {
		t.Fatalf("enrol failed: %d\n%s", status, page)
	}
	if rows := selfRegAudit(t, e, p.UserID); len(rows) != 1 || !strings.Contains(rows[0].After, `"result":"failed"`) {
		t.Errorf("audit %+v", rows)
	}

	// It works the second time; the welcome message does not go out, and
	// the page says so without undoing anything.
	rec.then = nil
	status, page = submit(t, e, c, p.Name, p.Mobile)
	if status != http.StatusOK || !strings.Contains(page, `data-testid="not-welcomed"`) || !strings.Contains(page, `data-testid="register-done"`) {
		t.Fatalf("second try: %d\n%s", status, page)
	}
	if got := rec.enrolled(); len(got) != 2 {
		t.Errorf("Enrol calls %v", got)
	}
}
