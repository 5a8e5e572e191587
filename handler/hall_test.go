package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// The service hall's H5 pages over the whole platform (apptest with the
// hall): a student's leave through the counselor (in H5) and the deputy
// secretary (a card pressed on the simulated phone), the form's errors and
// double submits, nobody else's applications, and an off-campus applicant
// signed in by SMS code.

const plainUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

var formTokenField = regexp.MustCompile(`name="token" value="([0-9a-f]{32})"`)

// hallToken is the form token of the form page.
func hallToken(t *testing.T, page string) string {
	t.Helper()
	m := formTokenField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the form has no token:\n%s", page)
	}
	return m[1]
}

// fieldBlock is a form field's block on the form page: its input and its
// error, if any.
func fieldBlock(t *testing.T, page, key string) string {
	t.Helper()
	i := strings.Index(page, `data-testid="field" data-key="`+key+`"`)
	if i < 0 {
		t.Fatalf("the form has no field %s", key)
	}
	rest := page[i:]
	if j := strings.Index(rest[1:], `data-testid="field" data-key=`); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

func leaveValues(token string, start time.Time, days int) url.Values {
	return url.Values{"token": {token}, "leave_type": {"事假"}, "leave.start": {start.Format(time.DateOnly)},
		"leave.end": {start.AddDate(0, 0, days-1).Format(time.DateOnly)}, "reason": {"家中有事需回家处理"}, "leave_campus": {"是"},
		"destination": {"海滨市滨江路 8 号"}, "emergency_phone": {"13912345678"}}
}

var appPath = regexp.MustCompile(`^/hall/a/(\d+)$`)

// appOf is the application id a submit redirected to.
func appOf(t *testing.T, resp *http.Response) int64 {
	t.Helper()
	loc, err := url.Parse(location(t, resp))
	if err != nil {
		t.Fatal(err)
	}
	m := appPath.FindStringSubmatch(loc.Path)
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("submit answered %d to %s, want 303 to an application", resp.StatusCode, loc)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func hallGet(t *testing.T, e *apptest.Env, c *http.Client, path string) (int, string) {
	t.Helper()
	resp := apptest.Get(t, c, e.URL+path, apptest.UserAgentWeCom)
	return resp.StatusCode, body(t, resp)
}

// cardOf is the member's card of the task on the simulated phone.
func cardOf(e *apptest.Env, userid string, task int64) (wecomsim.InboxItem, bool) {
	for _, it := range e.Sim.Inbox(userid) {
		if it.MsgType == "template_card" && it.Card != nil && it.Card.TaskID == "hall-"+strconv.FormatInt(task, 10) {
			return it, true
		}
	}
	return wecomsim.InboxItem{}, false
}

// cardFinal: the card shows its final state, no button left to press.
func cardFinal(it wecomsim.InboxItem) bool {
	return it.CardState != nil && (it.CardState.ReplaceName != "" || it.CardState.Actioned)
}

// eventually polls cond until it holds or the deadline passes (the inbox
// hands card presses to the engine on its own goroutine).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openTaskOf is the application's open task ("" applicant: seen as an
// admin).
func openTaskOf(t *testing.T, e *apptest.Env, id int64, applicant string) hall.Task {
	t.Helper()
	a, err := e.Hall.Application(context.Background(), id, hall.Viewer{UserID: applicant, Admin: applicant == ""})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range a.Tasks {
		if tk.State == hall.TaskOpen {
			return tk
		}
	}
	t.Fatalf("application %d (%s) has no open task: %+v", id, a.State, a.Tasks)
	return hall.Task{}
}

// upload sends a file as hall.js does and answers its token.
func upload(t *testing.T, e *apptest.Env, c *http.Client, name string, data []byte) string {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/hall/files", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Token, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK || got.Token == "" {
		t.Fatalf("upload %s: %d %+v %v", name, resp.StatusCode, got, err)
	}
	resp.Body.Close()
	return got.Token
}

func leaveStudent(p *demo.Person) bool { return undergraduate(p) && p.CounselorID != "" }

func TestHallLeaveThroughCounselorAndDeputy(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	ctx := context.Background()
	stu := e.Person(t, leaveStudent)
	sc := e.Browser(t)
	e.SignIn(t, sc, stu.UserID, "")

	status, home := hallGet(t, e, sc, "/hall/")
	if status != http.StatusOK || !strings.Contains(home, `data-testid="process" data-key="student_leave"`) || !strings.Contains(home, `data-testid="no-apps"`) {
		t.Fatalf("the hall's home %d:\n%s", status, home)
	}
	status, form := hallGet(t, e, sc, "/hall/apply/student_leave")
	if status != http.StatusOK || !strings.Contains(form, `name="leave.start"`) || !strings.Contains(form, `name="leave.end"`) ||
		!strings.Contains(form, `data-testid="range-days"`) || !strings.Contains(form, `data-testid="attach-input"`) {
		t.Fatalf("the leave form %d:\n%s", status, form)
	}
	token := hallToken(t, form)
	start := time.Now().AddDate(0, 0, 7)

	// A form error sits next to its field; everything typed stays.
	bad := leaveValues(token, start, 5)
	bad.Del("reason")
	resp := post(t, sc, e.URL+"/hall/apply/student_leave", bad)
	page := body(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a form without its reason answered %d", resp.StatusCode)
	}
	if f := fieldBlock(t, page, "reason"); !strings.Contains(f, `data-testid="field-error" data-for="reason">请填写请假事由<`) {
		t.Errorf("the reason's error is not next to it:\n%s", f)
	}
	if strings.Count(page, `data-testid="field-error"`) != 1 {
		t.Errorf("want exactly one field error:\n%s", page)
	}
	for _, kept := range []string{`value="海滨市滨江路 8 号"`, `value="13912345678"`, `value="事假" checked`, `value="` + bad.Get("leave.start") + `"`,
		`data-testid="range-days">5<`, `name="token" value="` + token + `"`} {
		if !strings.Contains(page, kept) {
			t.Errorf("the form lost %s", kept)
		}
	}

	// A file goes up first (hall.js does it as the file is picked); the
	// form carries its token.
	att := upload(t, e, sc, "家长来信.pdf", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"))

	// Submitted twice (a double tap): one application.
	good := leaveValues(token, start, 5)
	good.Set("attachment", att)
	id := appOf(t, post(t, sc, e.URL+"/hall/apply/student_leave", good))
	if again := appOf(t, post(t, sc, e.URL+"/hall/apply/student_leave", good)); again != id {
		t.Fatalf("the second submit made application %d besides %d", again, id)
	}
	mine, err := e.Hall.MyApplications(ctx, hall.Viewer{UserID: stu.UserID})
	if err != nil || len(mine) != 1 {
		t.Fatalf("the student has %d applications (%v), want 1", len(mine), err)
	}
	status, page = hallGet(t, e, sc, idPath("/hall/a/", id))
	if !strings.Contains(page, `href="/hall/files/`+att+`"`) || !strings.Contains(page, ">家长来信.pdf<") {
		t.Errorf("the application does not link its attachment:\n%s", page)
	}
	if status != http.StatusOK || !strings.Contains(page, `data-state="submitted"`) || !strings.Contains(page, "辅导员审批") ||
		!strings.Contains(page, `data-testid="withdraw"`) || !strings.Contains(page, `data-testid="urge"`) {
		t.Fatalf("the application %d:\n%s", status, page)
	}

	// Another student guessing the id: not found, and cannot withdraw it.
	other := e.Person(t, func(p *demo.Person) bool { return leaveStudent(p) && p.UserID != stu.UserID })
	oc := e.Browser(t)
	e.SignIn(t, oc, other.UserID, "")
	if status, _ := hallGet(t, e, oc, idPath("/hall/a/", id)); status != http.StatusNotFound {
		t.Errorf("another student opened the application: %d", status)
	}
	if resp := post(t, oc, e.URL+idPath("/hall/a/", id)+"/withdraw", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another student's withdraw answered %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	if status, _ := hallGet(t, e, oc, "/hall/files/"+att); status != http.StatusNotFound {
		t.Errorf("another student read the attachment: %d", status)
	}
	if status, page := hallGet(t, e, oc, "/hall/my"); status != http.StatusOK || strings.Contains(page, `data-testid="app"`) {
		t.Errorf("another student's applications show some (%d):\n%s", status, page)
	}

	// The counselor's card reaches the phone once the message center sends.
	e.DrainNotify(t)
	first := openTaskOf(t, e, id, stu.UserID)
	if first.Assignee != stu.CounselorID || first.StepID != "counselor" {
		t.Fatalf("the first task is %s's (%s), want the counselor %s", first.Assignee, first.StepID, stu.CounselorID)
	}
	if _, ok := cardOf(e, stu.CounselorID, first.ID); !ok {
		t.Fatalf("the counselor's phone has no card of task %d: %+v", first.ID, e.Sim.Inbox(stu.CounselorID))
	}

	// An approver not on the application cannot see or decide it.
	stranger := e.Person(t, func(p *demo.Person) bool { return counselor(p) && p.UserID != stu.CounselorID })
	xc := e.Browser(t)
	e.SignIn(t, xc, stranger.UserID, "")
	if status, _ := hallGet(t, e, xc, idPath("/hall/a/", id)); status != http.StatusNotFound {
		t.Errorf("a counselor not on the application opened it: %d", status)
	}
	if status, _ := hallGet(t, e, xc, idPath("/hall/tasks/", first.ID)); status != http.StatusNotFound {
		t.Errorf("a counselor not on the application opened its task: %d", status)
	}
	if resp := post(t, xc, e.URL+idPath("/hall/tasks/", first.ID)+"/decide", url.Values{"action": {"approve"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a counselor not on the application decided its task: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}

	// The counselor approves in H5, from the task's address (the card's link).
	cc := e.Browser(t)
	e.SignIn(t, cc, stu.CounselorID, "")
	status, tasks := hallGet(t, e, cc, "/hall/tasks")
	if status != http.StatusOK || !strings.Contains(tasks, `data-task="`+strconv.FormatInt(first.ID, 10)+`"`) || !strings.Contains(tasks, "共 5 天") {
		t.Fatalf("the counselor's tasks %d:\n%s", status, tasks)
	}
	resp = apptest.Get(t, cc, e.URL+idPath("/hall/tasks/", first.ID), apptest.UserAgentWeCom)
	if loc := location(t, resp); resp.StatusCode != http.StatusFound || !strings.HasSuffix(loc, idPath("/hall/a/", id)+"#decide-"+strconv.FormatInt(first.ID, 10)) {
		t.Fatalf("the task's address led %d to %s", resp.StatusCode, loc)
	}
	status, page = hallGet(t, e, cc, idPath("/hall/a/", id))
	// An approver of the application sees the phone in full.
	if status != http.StatusOK || !strings.Contains(page, `data-testid="decide-form"`) || !strings.Contains(page, `data-key="emergency_phone"><span class="weui-cell__hd hkv__k">紧急联系人电话</span><span class="weui-cell__bd hkv__v">13912345678<`) {
		t.Fatalf("the counselor's view of the application %d:\n%s", status, page)
	}
	resp = post(t, cc, e.URL+idPath("/hall/tasks/", first.ID)+"/decide", url.Values{"action": {"approve"}, "comment": {"同意，注意安全"}})
	if loc := location(t, resp); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, idPath("/hall/a/", id)) {
		t.Fatalf("approving answered %d to %s", resp.StatusCode, loc)
	}
	e.DrainNotify(t)

	// The deputy secretary approves by pressing 同意 on their card.
	second := openTaskOf(t, e, id, stu.UserID)
	if second.StepID != "deputy" {
		t.Fatalf("after the counselor the open task is %+v, want the deputy secretary's", second)
	}
	deputy := second.Assignee
	card, ok := cardOf(e, deputy, second.ID)
	if !ok {
		t.Fatalf("the deputy secretary's phone has no card of task %d", second.ID)
	}
	res, err := e.Sim.PressCardButton(ctx, deputy, card.MsgID, "approve:"+strconv.FormatInt(second.ID, 10), nil)
	if err != nil || res.Ignored || !res.Delivered {
		t.Fatalf("pressing 同意: %+v, %v", res, err)
	}
	eventually(t, "the application approved after the press", func() bool {
		a, err := e.Hall.Application(ctx, id, hall.Viewer{UserID: stu.UserID})
		return err == nil && a.State == hall.StateApproved
	})
	e.DrainNotify(t)

	status, page = hallGet(t, e, sc, idPath("/hall/a/", id))
	if status != http.StatusOK || !strings.Contains(page, `data-state="approved">已通过<`) || !strings.Contains(page, `data-testid="confirm-return"`) {
		t.Fatalf("the student's application after both approvals %d:\n%s", status, page)
	}
	if strings.Contains(page, `data-testid="withdraw"`) || strings.Contains(page, `data-testid="urge"`) {
		t.Errorf("an approved application can still be withdrawn or urged")
	}
	trail := regexp.MustCompile(`data-testid="trail-action">([^<]+)<`).FindAllStringSubmatch(page, -1)
	var acts []string
	for _, m := range trail {
		acts = append(acts, m[1])
	}
	if got := strings.Join(acts, " "); got != "提交申请 同意 同意 审批通过" {
		t.Errorf("the trail (oldest first) reads %q", got)
	}
	if !strings.Contains(page, "同意，注意安全") {
		t.Errorf("the counselor's comment is not on the page")
	}

	// Both cards show their final state: no live buttons.
	eventually(t, "both cards final", func() bool {
		c1, ok1 := cardOf(e, stu.CounselorID, first.ID)
		c2, ok2 := cardOf(e, deputy, second.ID)
		return ok1 && ok2 && cardFinal(c1) && cardFinal(c2)
	})

	// Confirming the return closes the leave.
	resp = post(t, sc, e.URL+idPath("/hall/a/", id)+"/confirm", url.Values{})
	resp.Body.Close()
	if _, page := hallGet(t, e, sc, idPath("/hall/a/", id)); !strings.Contains(page, `data-state="confirmed"`) || !strings.Contains(page, `data-testid="confirmed"`) {
		t.Errorf("after confirming the return:\n%s", page)
	}
}

// A visitor without a session: the hall's home and an off-campus form go
// to the guest sign-in (outside WeCom), members' pages to the member's.
func TestHallSignInRedirects(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true, Guest: true})
	c := e.Browser(t)
	for path, want := range map[string]string{
		"/hall/":                    "/guest/login?return=%2Fhall%2F",
		"/hall/apply/cert_reissue":  "/guest/login?return=%2Fhall%2Fapply%2Fcert_reissue",
		"/hall/apply/student_leave": "/login?return=",
		"/hall/my":                  "/login?return=",
		"/hall/tasks":               "/login?return=",
	} {
		resp := apptest.Get(t, c, e.URL+path, plainUA)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, want) {
			t.Errorf("GET %s without a session: %d to %q, want %s…", path, resp.StatusCode, loc, want)
		}
		resp.Body.Close()
	}
	// Inside WeCom a member signs in silently, whatever the page.
	resp := apptest.Get(t, c, e.URL+"/hall/", apptest.UserAgentWeCom)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/auth/wecom?return=") {
		t.Errorf("GET /hall/ in WeCom without a session went to %q", loc)
	}
	resp.Body.Close()
}

// guestIn signs a browser in as the guest holding mobile (11 digits).
func guestIn(t *testing.T, e *apptest.Env, c *http.Client, mobile string) {
	t.Helper()
	resp := post(t, c, e.URL+"/guest/code", url.Values{"mobile": {mobile}, "return": {"/hall/"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("guest code for %s: %d", mobile, resp.StatusCode)
	}
	resp.Body.Close()
	texts := e.SMS.Texts("+86" + mobile)
	if len(texts) == 0 || len(texts[0].Params) == 0 {
		t.Fatalf("no code texted to %s", mobile)
	}
	resp = post(t, c, e.URL+"/guest/login", url.Values{"mobile": {mobile}, "code": {texts[0].Params[0]}, "return": {"/hall/"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/hall/" {
		t.Fatalf("guest sign-in %s: %d to %q", mobile, resp.StatusCode, loc)
	}
	resp.Body.Close()
}

func TestHallGuestAppliesForCertificate(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true, Guest: true})
	gc := e.Browser(t)
	guestIn(t, e, gc, "13912345678")

	status, home := hallGet(t, e, gc, "/hall/")
	if status != http.StatusOK || !strings.Contains(home, `data-key="cert_reissue"`) || strings.Count(home, `data-testid="process"`) != 1 ||
		strings.Contains(home, `data-testid="nav-tasks"`) || !strings.Contains(home, "139****5678") {
		t.Fatalf("the guest's hall %d:\n%s", status, home)
	}
	if status, _ := hallGet(t, e, gc, "/hall/apply/student_leave"); status != http.StatusForbidden {
		t.Errorf("a guest opened the student leave form: %d", status)
	}
	if status, _ := hallGet(t, e, gc, "/hall/tasks/1"); status != http.StatusNotFound {
		t.Errorf("a guest opened a task address: %d", status)
	}
	_, form := hallGet(t, e, gc, "/hall/apply/cert_reissue")
	v := url.Values{"token": {hallToken(t, form)}, "name": {"李华"}, "id_number": {"11010519491231002X"}, "grad_year": {"2015"},
		"phone": {"13912345678"}, "address": {"海滨市滨江路 8 号 李华收"}, "cert_type": {"毕业证明"}}
	id := appOf(t, post(t, gc, e.URL+"/hall/apply/cert_reissue", v))
	status, page := hallGet(t, e, gc, idPath("/hall/a/", id))
	if status != http.StatusOK || !strings.Contains(page, "毕业证明补办") || !strings.Contains(page, "11010519491231002X") ||
		!strings.Contains(page, `data-testid="app-applicant">李华<`) {
		t.Fatalf("the guest's application %d:\n%s", status, page)
	}
	if _, my := hallGet(t, e, gc, "/hall/my"); strings.Count(my, `data-testid="app"`) != 1 {
		t.Errorf("the guest's applications:\n%s", my)
	}

	// Another guest sees none of it.
	og := e.Browser(t)
	guestIn(t, e, og, "13912345679")
	if status, _ := hallGet(t, e, og, idPath("/hall/a/", id)); status != http.StatusNotFound {
		t.Errorf("another guest opened the application: %d", status)
	}
	if _, my := hallGet(t, e, og, "/hall/my"); strings.Contains(my, `data-testid="app"`) {
		t.Errorf("another guest's applications show some:\n%s", my)
	}
	if resp := post(t, og, e.URL+idPath("/hall/a/", id)+"/withdraw", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another guest's withdraw answered %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	// Nor does a member who is not its approver.
	sc := e.Browser(t)
	e.SignIn(t, sc, e.Person(t, undergraduate).UserID, "")
	if status, _ := hallGet(t, e, sc, idPath("/hall/a/", id)); status != http.StatusNotFound {
		t.Errorf("a student opened the guest's application: %d", status)
	}
	// The registrar who has it sees the ID number in full on the
	// application, masked in the task list (seen over a shoulder).
	task := openTaskOf(t, e, id, "")
	rc := e.Browser(t)
	e.SignIn(t, rc, task.Assignee, "")
	if _, tasks := hallGet(t, e, rc, "/hall/tasks"); !strings.Contains(tasks, "毕业证明补办") || strings.Contains(tasks, "11010519491231002X") {
		t.Errorf("the registrar's task list (the ID number must be masked):\n%s", tasks)
	}
	if _, page := hallGet(t, e, rc, idPath("/hall/a/", id)); !strings.Contains(page, "11010519491231002X") || !strings.Contains(page, `data-testid="decide-form"`) {
		t.Errorf("the registrar's view of the application:\n%s", page)
	}
	// The guest withdraws it.
	resp := post(t, gc, e.URL+idPath("/hall/a/", id)+"/withdraw", url.Values{})
	resp.Body.Close()
	if _, page := hallGet(t, e, gc, idPath("/hall/a/", id)); !strings.Contains(page, `data-state="withdrawn"`) {
		t.Errorf("after withdrawing:\n%s", page)
	}
}

// The workbench's hall tiles open the hall, and the approvals tile counts
// the member's open tasks.
func TestHallWorkbenchTiles(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	stu := e.Person(t, leaveStudent)
	sc := e.Browser(t)
	e.SignIn(t, sc, stu.UserID, "")
	_, wb := hallGet(t, e, sc, "/app/")
	if !strings.Contains(wb, `href="/app/m/student_leave"`) {
		t.Errorf("the student's workbench has no live leave tile")
	}
	// The tile counts as used, then opens the form.
	if resp := apptest.Get(t, sc, e.URL+"/app/m/student_leave", apptest.UserAgentWeCom); !strings.HasSuffix(location(t, resp), "/hall/apply/student_leave") {
		t.Errorf("the leave tile does not lead to its form")
	}
	if _, wb := hallGet(t, e, sc, "/app/"); !strings.Contains(wb, `data-testid="recent"`) || !strings.Contains(wb[strings.Index(wb, `data-testid="recent"`):], `data-module="student_leave"`) {
		t.Errorf("the leave tile is not among the recently used")
	}
	_, form := hallGet(t, e, sc, "/hall/apply/student_leave")
	appOf(t, post(t, sc, e.URL+"/hall/apply/student_leave", leaveValues(hallToken(t, form), time.Now().AddDate(0, 0, 3), 2)))

	cc := e.Browser(t)
	e.SignIn(t, cc, stu.CounselorID, "")
	_, wb = hallGet(t, e, cc, "/app/")
	// The counselor's leave tile counts the leaves waiting for them, and
	// opens them: a counselor does not apply for student leave.
	i := strings.Index(wb, `data-module="student_leave"`)
	if i < 0 {
		t.Fatalf("the counselor's workbench has no leave tile:\n%s", wb)
	}
	tile := wb[i : i+strings.Index(wb[i:], "</a>")]
	if m := badgeNumber.FindStringSubmatch(tile); m == nil || m[1] != "1" || strings.Contains(tile, "即将上线") {
		t.Errorf("the counselor's leave tile: %s", tile)
	}
	resp := apptest.Get(t, cc, e.URL+"/hall/apply/student_leave", apptest.UserAgentWeCom)
	if loc := location(t, resp); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/hall/tasks") {
		t.Errorf("the counselor's leave tile led %d to %s", resp.StatusCode, loc)
	}

	// The approvals tile (on the workbenches that have it) opens my tasks.
	lead := e.Person(t, func(p *demo.Person) bool { return p.Position == demo.PositionDeputySecretary && p.Status == 1 })
	lc := e.Browser(t)
	e.SignIn(t, lc, lead.UserID, "")
	if _, wb := hallGet(t, e, lc, "/app/"); strings.Contains(wb, `data-module="approvals"`) {
		resp = apptest.Get(t, lc, e.URL+"/app/m/approvals", apptest.UserAgentWeCom)
		if loc := location(t, resp); resp.StatusCode != http.StatusFound || !strings.HasSuffix(loc, "/hall/tasks") {
			t.Errorf("the approvals tile led %d to %s", resp.StatusCode, loc)
		}
	} else {
		t.Logf("the deputy secretary's workbench has no approvals tile")
	}
}

// The counselor returns an application for changes; the student finds it
// filled in as sent, corrects it and sends it again; the counselor
// transfers it to a colleague, who then has it; the student urges once an
// hour.
func TestHallReturnResubmitTransferAndUrge(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Hall: true})
	stu := e.Person(t, leaveStudent)
	sc := e.Browser(t)
	e.SignIn(t, sc, stu.UserID, "")
	_, form := hallGet(t, e, sc, "/hall/apply/student_leave")
	id := appOf(t, post(t, sc, e.URL+"/hall/apply/student_leave", leaveValues(hallToken(t, form), time.Now().AddDate(0, 0, 3), 2)))
	app := idPath("/hall/a/", id)

	// Urged once; a second time within the hour is refused.
	resp := post(t, sc, e.URL+app+"/urge", url.Values{})
	resp.Body.Close()
	if _, page := hallGet(t, e, sc, app); !strings.Contains(page, `data-testid="urged"`) || strings.Contains(page, `data-testid="urge"`) ||
		!strings.Contains(page, `data-testid="trail-action">催办<`) {
		t.Errorf("after urging:\n%s", page)
	}
	resp = post(t, sc, e.URL+app+"/urge", url.Values{})
	if loc := location(t, resp); !strings.Contains(loc, url.QueryEscape("一小时内已经催办过")) {
		t.Errorf("a second urge within the hour led to %s", loc)
	}

	first := openTaskOf(t, e, id, stu.UserID)
	cc := e.Browser(t)
	e.SignIn(t, cc, first.Assignee, "")
	decide := e.URL + idPath("/hall/tasks/", first.ID) + "/decide"
	// Returning asks what to change.
	resp = post(t, cc, decide, url.Values{"action": {"return"}})
	if loc := location(t, resp); !strings.Contains(loc, url.QueryEscape("退回修改时请写明")) {
		t.Errorf("a return without a comment led to %s", loc)
	}
	resp = post(t, cc, decide, url.Values{"action": {"return"}, "comment": {"请写明去向的详细地址"}})
	resp.Body.Close()

	status, page := hallGet(t, e, sc, app)
	if status != http.StatusOK || !strings.Contains(page, `data-state="returned"`) || !strings.Contains(page, `data-testid="resubmit"`) ||
		!strings.Contains(page, "请写明去向的详细地址") {
		t.Fatalf("the returned application %d:\n%s", status, page)
	}
	status, page = hallGet(t, e, sc, app+"/resubmit")
	if status != http.StatusOK || !strings.Contains(page, `value="海滨市滨江路 8 号"`) || !strings.Contains(page, `value="13912345678"`) ||
		!strings.Contains(page, `>家中有事需回家处理</textarea>`) || !strings.Contains(page, `action="`+app+`/resubmit"`) {
		t.Fatalf("the resubmit form is not filled in (%d):\n%s", status, page)
	}
	v := leaveValues("", time.Now().AddDate(0, 0, 3), 2)
	v.Set("destination", "海滨市滨江路 8 号 3 栋 201")
	resp = post(t, sc, e.URL+app+"/resubmit", v)
	if loc := location(t, resp); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], app) {
		t.Fatalf("resubmitting answered %d to %s", resp.StatusCode, loc)
	}
	if _, page := hallGet(t, e, sc, app); !strings.Contains(page, `data-state="submitted"`) || !strings.Contains(page, "3 栋 201") ||
		!strings.Contains(page, `data-testid="trail-action">重新提交<`) {
		t.Errorf("after resubmitting:\n%s", page)
	}
	// A second post of the resubmit form changes nothing.
	resp = post(t, sc, e.URL+app+"/resubmit", v)
	if loc := location(t, resp); !strings.Contains(loc, url.QueryEscape("已经重新提交过了")) {
		t.Errorf("a second resubmit led to %s", loc)
	}

	// Transferred to a colleague, who now has it; the counselor no longer can decide it.
	again := openTaskOf(t, e, id, stu.UserID)
	colleague := e.Person(t, func(p *demo.Person) bool { return counselor(p) && p.UserID != first.Assignee })
	resp = post(t, cc, e.URL+idPath("/hall/tasks/", again.ID)+"/transfer", url.Values{"to": {"nobody-here"}})
	if loc := location(t, resp); !strings.Contains(loc, url.QueryEscape("找不到成员")) {
		t.Errorf("a transfer to nobody led to %s", loc)
	}
	resp = post(t, cc, e.URL+idPath("/hall/tasks/", again.ID)+"/transfer", url.Values{"to": {colleague.UserID}, "comment": {"我出差，请代为审批"}})
	resp.Body.Close()
	now := openTaskOf(t, e, id, stu.UserID)
	if now.Assignee != colleague.UserID {
		t.Fatalf("after the transfer the open task is %s's, want %s's", now.Assignee, colleague.UserID)
	}
	kc := e.Browser(t)
	e.SignIn(t, kc, colleague.UserID, "")
	if _, tasks := hallGet(t, e, kc, "/hall/tasks"); !strings.Contains(tasks, `data-task="`+strconv.FormatInt(now.ID, 10)+`"`) {
		t.Errorf("the colleague's tasks lack the transferred one:\n%s", tasks)
	}
	if _, page := hallGet(t, e, cc, app); strings.Contains(page, `data-testid="decide-form"`) || !strings.Contains(page, "已转交") {
		t.Errorf("the counselor's view after transferring:\n%s", page)
	}
	// Quick approval from the colleague's task list.
	resp = post(t, kc, e.URL+idPath("/hall/tasks/", now.ID)+"/decide", url.Values{"action": {"approve"}, "return": {"tasks"}})
	if loc := location(t, resp); !strings.Contains(loc, "/hall/tasks?flash=") {
		t.Errorf("the quick approval led to %s", loc)
	}
	if _, page := hallGet(t, e, sc, app); !strings.Contains(page, `data-state="approved"`) {
		t.Errorf("a 2-day leave approved by the counselor's colleague is not approved:\n%s", page)
	}
}
