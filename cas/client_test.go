package cas_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/cas"
	"github.com/wecomapp/wecomapp/cas/cassim"
	"github.com/wecomapp/wecomapp/internal/testenv"
)

const (
	service = "https://hall.example.edu.cn/auth/cas/callback?next=%2Fworkbench"
	other   = "https://hall.example.edu.cn/other"
)

var people = []cassim.Person{
	{ID: "T2001003", Name: "王老师", Attributes: map[string][]string{
		"employeeNumber": {"T2001003"}, "部门": {"计算机学院", "学生工作部"}, "userType": {"teacher", "counselor"},
	}},
	{ID: "20210001", Name: "李同学", Attributes: map[string][]string{"学号": {"20210001"}, "userType": {"undergraduate"}}},
}

type clock = testenv.Clock

type env struct {
	t     *testing.T
	sim   *cassim.Sim
	srv   *httptest.Server
	clock *clock
	calls atomic.Int64 // validation requests the server saw
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: testenv.NewClock(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))}
	e.sim = cassim.New(cassim.Options{People: people, Services: []string{"https://hall.example.edu.cn/"}, Clock: e.clock.Now})
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "serviceValidate") {
			e.calls.Add(1)
		}
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) client(version int) *cas.Client {
	e.t.Helper()
	c, err := cas.New(cas.Options{BaseURL: e.srv.URL, Version: version})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// signIn plays the browser: it picks user on the simulator's /login for
// svc and returns the ticket the redirect carries.
func (e *env) signIn(svc, user string) string {
	e.t.Helper()
	return ticketOf(e.t, noRedirect(nil), e.srv.URL+"/login?"+url.Values{"service": {svc}, "sim_user": {user}}.Encode(), svc)
}

func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ticketOf GETs loginURL and returns the ticket of the redirect to svc.
func ticketOf(t *testing.T, hc *http.Client, loginURL, svc string) string {
	t.Helper()
	resp, err := hc.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, svc) {
		t.Fatalf("login: %s to %q; want a redirect to %s", resp.Status, loc, svc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("ticket")
}

func casCode(t *testing.T, err error) string {
	t.Helper()
	var ce *cas.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v; want *cas.Error", err)
	}
	return ce.Code
}

func TestValidateV3ReturnsTheAttributesAsReleased(t *testing.T) {
	e := newEnv(t)
	p, err := e.client(3).Validate(context.Background(), service, e.signIn(service, "T2001003"))
	if err != nil {
		t.Fatal(err)
	}
	if p.User != "T2001003" || p.Attr("name") != "王老师" {
		t.Fatalf("principal %+v; want T2001003 王老师", p)
	}
	for k, want := range map[string][]string{
		"部门": {"计算机学院", "学生工作部"}, "userType": {"teacher", "counselor"}, "employeeNumber": {"T2001003"},
		"isFromNewLogin": {"true"}, "authenticationDate": {"2026-09-01T08:00:00Z"},
	} {
		if got := p.Attributes[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("attribute %s = %q; want %q", k, got, want)
		}
	}
}

func TestValidateV2ReturnsTheUserOnly(t *testing.T) {
	e := newEnv(t)
	p, err := e.client(2).Validate(context.Background(), service, e.signIn(service, "20210001"))
	if err != nil {
		t.Fatal(err)
	}
	if p.User != "20210001" || p.Attributes != nil {
		t.Fatalf("principal %+v; want user 20210001 and no attributes", p)
	}
}

func TestValidateRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("a ticket is good once", func(t *testing.T) {
		e := newEnv(t)
		c, st := e.client(3), e.signIn(service, "20210001")
		if _, err := c.Validate(ctx, service, st); err != nil {
			t.Fatal(err)
		}
		_, err := c.Validate(ctx, service, st)
		if casCode(t, err) != cas.InvalidTicket {
			t.Fatalf("replay: %v; want INVALID_TICKET", err)
		}
	})
	t.Run("another service's ticket is refused and spent", func(t *testing.T) {
		e := newEnv(t)
		c, st := e.client(3), e.signIn(service, "20210001")
		if _, err := c.Validate(ctx, other, st); casCode(t, err) != cas.InvalidService {
			t.Fatalf("wrong service: %v; want INVALID_SERVICE", err)
		}
		if _, err := c.Validate(ctx, service, st); casCode(t, err) != cas.InvalidTicket {
			t.Fatalf("right service after: %v; want INVALID_TICKET (spent)", err)
		}
	})
	t.Run("a ticket expires after TicketTTL", func(t *testing.T) {
		e := newEnv(t)
		c := e.client(3)
		fresh, stale := e.signIn(service, "20210001"), e.signIn(service, "T2001003")
		e.clock.Advance(cassim.TicketTTL - time.Millisecond)
		if _, err := c.Validate(ctx, service, fresh); err != nil {
			t.Fatalf("just before expiry: %v", err)
		}
		e.clock.Advance(time.Millisecond)
		if _, err := c.Validate(ctx, service, stale); casCode(t, err) != cas.InvalidTicket {
			t.Fatalf("at expiry: %v; want INVALID_TICKET", err)
		}
	})
	t.Run("an unknown ticket", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.client(2).Validate(ctx, service, "ST-1-forged"); casCode(t, err) != cas.InvalidTicket {
			t.Fatalf("forged: %v; want INVALID_TICKET", err)
		}
	})
	t.Run("the server failing", func(t *testing.T) {
		e := newEnv(t)
		st := e.signIn(service, "20210001")
		e.sim.FailNextValidation(cas.InternalError, "LDAP unreachable")
		_, err := e.client(3).Validate(ctx, service, st)
		var ce *cas.Error
		if !errors.As(err, &ce) || ce.Code != cas.InternalError || ce.Message != "LDAP unreachable" {
			t.Fatalf("err = %v; want INTERNAL_ERROR: LDAP unreachable", err)
		}
	})
}

// TestValidateRefusesBadTicketsWithoutCalling: what is not a service
// ticket never leaves the process.
func TestValidateRefusesBadTicketsWithoutCalling(t *testing.T) {
	e := newEnv(t)
	c := e.client(3)
	for ticket, code := range map[string]string{
		"":                      cas.InvalidRequest,
		"PT-1-proxyticket":      cas.InvalidTicketSpec,
		"st-1-lowercase":        cas.InvalidTicketSpec,
		"<script>":              cas.InvalidTicketSpec,
		"TGT-1-grantingticket0": cas.InvalidTicketSpec,
		"ST-" + strings.Repeat("a", cas.MaxTicketLength): cas.InvalidTicketSpec,
		"ST-":                    "", // syntactically a service ticket: the server decides
		"ST-1-unknown-but-valid": "",
	} {
		calls := e.calls.Load()
		_, err := c.Validate(context.Background(), service, ticket)
		if code == "" {
			if e.calls.Load() != calls+1 {
				t.Errorf("%q: not sent to the server", ticket)
			}
			continue
		}
		if got := casCode(t, err); got != code || e.calls.Load() != calls {
			t.Errorf("%q: %v (server called %d times); want %s without a call", ticket, err, e.calls.Load()-calls, code)
		}
	}
	if _, err := c.Validate(context.Background(), "", "ST-1-x"); casCode(t, err) != cas.InvalidRequest {
		t.Errorf("empty service: %v; want INVALID_REQUEST", err)
	}
}

// fake serves a fixed answer, counting requests.
func fake(t *testing.T, status int, body string) *cas.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := cas.New(cas.Options{BaseURL: srv.URL + "/cas"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const secretTicket = "ST-77-DoNotLeakMe0000000000"

func TestValidateReportsEveryFailureCode(t *testing.T) {
	for _, code := range []string{cas.InvalidRequest, cas.InvalidTicketSpec, cas.UnauthorizedServiceProxy,
		cas.InvalidProxyCallback, cas.InvalidTicket, cas.InvalidService, cas.InternalError, "ACCOUNT_LOCKED"} {
		c := fake(t, http.StatusOK, `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationFailure code="`+code+`">
     Ticket '`+secretTicket+`' refused
  </cas:authenticationFailure>
</cas:serviceResponse>`)
		_, err := c.Validate(context.Background(), service, secretTicket)
		var ce *cas.Error
		if !errors.As(err, &ce) || ce.Code != code || ce.Message != "Ticket 'ST-[redacted]' refused" {
			t.Errorf("%s: err = %#v; want that code, the message trimmed, the ticket redacted", code, err)
		}
	}
}

func TestValidateExplainsAnswersThatAreNotCAS(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		bad    bool // ErrBadResponse
		want   string
	}{
		"portal page":  {200, "<html><body>统一身份认证平台</body></html>", true, "not a CAS validation response"},
		"empty":        {200, "", true, "not a CAS validation response"},
		"oversize":     {200, "<!--" + strings.Repeat("x", cas.MaxResponseBytes) + "-->", true, "larger than 1048576 bytes"},
		"bad gateway":  {502, "<html>Bad Gateway " + secretTicket + "</html>", false, "HTTP 502 Bad Gateway"},
		"not found":    {404, "", false, "HTTP 404 Not Found"},
		"redirected":   {302, "", false, "HTTP 302 Found"},
		"server error": {500, "oops", false, "HTTP 500"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := fake(t, tc.status, tc.body).Validate(context.Background(), service, secretTicket)
			if err == nil || errors.Is(err, cas.ErrBadResponse) != tc.bad || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want %q (bad response: %v)", err, tc.want, tc.bad)
			}
			if !regexp.MustCompile(`^cas: validate ticket at http://127\.0\.0\.1:\d+/cas/p3/serviceValidate: `).MatchString(err.Error()) {
				t.Errorf("err = %v; want what was being done", err)
			}
			if strings.Contains(err.Error(), secretTicket) {
				t.Errorf("err = %v: contains the ticket", err)
			}
		})
	}
}

func TestValidateAcceptsAnAnswerJustUnderTheBound(t *testing.T) {
	doc := `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>u1</cas:user></cas:authenticationSuccess></cas:serviceResponse>`
	body := doc + strings.Repeat(" ", cas.MaxResponseBytes-len(doc))
	p, err := fake(t, 200, body).Validate(context.Background(), service, secretTicket)
	if err != nil || p.User != "u1" {
		t.Fatalf("validate = %+v, %v; want u1", p, err)
	}
}

func TestValidateTransportErrorsHideTheTicket(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	c, err := cas.New(cas.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Validate(context.Background(), service, secretTicket)
	if err == nil || strings.Contains(err.Error(), secretTicket) || !strings.HasPrefix(err.Error(), "cas: validate ticket at "+srv.URL+"/p3/serviceValidate: ") {
		t.Fatalf("err = %v; want a wrapped transport error without the ticket", err)
	}
}

func TestValidateGivesUpAtTheTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := cas.New(cas.Options{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Validate(context.Background(), service, secretTicket)
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), secretTicket) {
		t.Fatalf("err = %v; want a deadline error without the ticket", err)
	}
}

func TestURLs(t *testing.T) {
	c, err := cas.New(cas.Options{BaseURL: "https://authserver.example.edu.cn/authserver/"})
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://authserver.example.edu.cn/authserver"
	for got, want := range map[string]string{
		c.LoginURL(service): base + "/login?service=https%3A%2F%2Fhall.example.edu.cn%2Fauth%2Fcas%2Fcallback%3Fnext%3D%252Fworkbench",
		c.LoginURL(""):      base + "/login",
		c.LoginURLWith("https://a.example/x y", cas.LoginParams{Renew: true, Gateway: true}): base + "/login?renew=true&service=https%3A%2F%2Fa.example%2Fx+y",
		c.LoginURLWith("https://a.example/", cas.LoginParams{Gateway: true}):                 base + "/login?gateway=true&service=https%3A%2F%2Fa.example%2F",
		c.LogoutURL("https://hall.example.edu.cn/"):                                          base + "/logout?service=https%3A%2F%2Fhall.example.edu.cn%2F",
		c.LogoutURL(""): base + "/logout",
	} {
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	// The escaped service survives the round trip intact.
	u, _ := url.Parse(c.LoginURL(service))
	if u.Query().Get("service") != service {
		t.Errorf("service read back as %q", u.Query().Get("service"))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []cas.Options{
		{},
		{BaseURL: "authserver.example.edu.cn/cas"},
		{BaseURL: "ftp://authserver.example.edu.cn/cas"},
		{BaseURL: "https://authserver.example.edu.cn/cas?x=1"},
		{BaseURL: "https://authserver.example.edu.cn/cas", Version: 1},
		{BaseURL: "https://authserver.example.edu.cn/cas", Version: 4},
	} {
		if _, err := cas.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

var personLink = regexp.MustCompile(`data-id="20210001" href="([^"]+)"`)

// TestBrowserRoundTripUnderAPrefix is the sign-in a person makes on a PC,
// with the simulator mounted at /cassim as in the demo: the app sends the
// browser to LoginURL, the person picks themselves, CAS redirects back
// with a ticket, the app validates it. Then single sign-on gives a second
// ticket without the picker, gateway too, and after logout gateway comes
// back without one.
func TestBrowserRoundTripUnderAPrefix(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sim := cassim.New(cassim.Options{BaseURL: srv.URL + "/cassim", People: people, Services: []string{srv.URL + "/app/"}})
	mux.Handle("/cassim/", http.StripPrefix("/cassim", sim))
	svc := srv.URL + "/app/callback"

	c, err := cas.New(cas.Options{BaseURL: srv.URL + "/cassim"})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := noRedirect(jar)

	resp, err := browser.Get(c.LoginURL(svc))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := personLink.FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("login page %s without a link for 20210001:\n%s", resp.Status, page)
	}
	pick := strings.ReplaceAll(string(m[1]), "&amp;", "&")
	if !strings.HasPrefix(pick, srv.URL+"/cassim/login?") {
		t.Fatalf("picker links to %s; want it under the prefix", pick)
	}
	p, err := c.Validate(context.Background(), svc, ticketOf(t, browser, pick, svc))
	if err != nil || p.User != "20210001" || p.Attr("name") != "李同学" {
		t.Fatalf("validate = %+v, %v; want 李同学", p, err)
	}

	// Single sign-on: no picker the second time, and gateway works.
	for _, login := range []string{c.LoginURL(svc), c.LoginURLWith(svc, cas.LoginParams{Gateway: true})} {
		p, err = c.Validate(context.Background(), svc, ticketOf(t, browser, login, svc))
		if err != nil || p.User != "20210001" || p.Attr("isFromNewLogin") != "false" {
			t.Fatalf("SSO validate = %+v, %v; want 20210001 from the session", p, err)
		}
	}

	resp, err = browser.Get(c.LogoutURL(svc))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != svc {
		t.Fatalf("logout: %s to %q; want back to %s", resp.Status, resp.Header.Get("Location"), svc)
	}
	resp, err = browser.Get(c.LoginURLWith(svc, cas.LoginParams{Gateway: true}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != svc {
		t.Fatalf("gateway after logout: %s to %q; want %s without a ticket", resp.Status, resp.Header.Get("Location"), svc)
	}
}

func TestValidateWithRenewRefusesSessionTickets(t *testing.T) {
	e := newEnv(t)
	c := e.client(3)
	jar, _ := cookiejar.New(nil)
	browser := noRedirect(jar)
	pick := e.srv.URL + "/login?" + url.Values{"service": {service}, "sim_user": {"20210001"}}.Encode()
	fresh := ticketOf(t, browser, pick, service)
	fromSession := ticketOf(t, browser, c.LoginURL(service), service)

	if _, err := c.ValidateWith(context.Background(), service, fromSession, cas.ValidateParams{Renew: true}); casCode(t, err) != cas.InvalidTicket {
		t.Fatalf("session ticket with renew: %v; want INVALID_TICKET", err)
	}
	p, err := c.ValidateWith(context.Background(), service, fresh, cas.ValidateParams{Renew: true})
	if err != nil || p.User != "20210001" {
		t.Fatalf("fresh ticket with renew = %+v, %v", p, err)
	}
}

func TestStripTicketGivesBackTheService(t *testing.T) {
	for in, want := range map[string]string{
		service + "&ticket=ST-1-abc":                       service,
		"https://a.example/cb?ticket=ST-1-abc":             "https://a.example/cb",
		"https://a.example/cb?x=1&ticket=ST-1-abc&y=%2F#f": "https://a.example/cb?x=1&y=%2F#f",
		"https://a.example/cb?ticketing=1":                 "https://a.example/cb?ticketing=1",
		"https://a.example/cb":                             "https://a.example/cb",
	} {
		if got := cas.StripTicket(in); got != want {
			t.Errorf("StripTicket(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestAttrTakesTheFirstNameReleased(t *testing.T) {
	p := &cas.Principal{User: "u", Attributes: map[string][]string{"cn": {"张三", "Zhang San"}, "姓名": {}}}
	if got := p.Attr("姓名", "name", "cn"); got != "张三" {
		t.Fatalf("Attr = %q; want 张三 (姓名 empty, name absent, cn first value)", got)
	}
	if got := p.Attr("mail"); got != "" {
		t.Fatalf("Attr(mail) = %q; want empty", got)
	}
}
