package cassim

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/internal/testenv"
)

const svc = "https://hall.example.edu.cn/cas/callback"

type fixedClock = testenv.Clock

type env struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	clock *fixedClock
	hc    *http.Client // a browser: cookie jar, no redirects followed
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: testenv.NewClock(time.Date(2026, 9, 1, 8, 30, 0, 0, time.UTC))}
	e.sim = New(Options{
		People: []Person{
			{ID: "T2001003", Name: "王老师", Attributes: map[string][]string{
				"部门": {"计算机学院", "学生工作部"}, "userType": {"teacher"}, "note": {`a<b & "c"`},
			}},
			{ID: "20210001", Name: "李同学"},
		},
		Services: []string{"https://hall.example.edu.cn/"},
		Clock:    e.clock.Now,
	})
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.hc = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// get returns status, Location and body of path on the simulator.
func (e *env) get(path string, q url.Values) (int, string, string) {
	e.t.Helper()
	u := e.srv.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := e.hc.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// signIn picks user for service and returns the ticket.
func (e *env) signIn(service, user string) string {
	e.t.Helper()
	status, loc, _ := e.get("/login", url.Values{"service": {service}, "sim_user": {user}})
	if status != http.StatusFound {
		e.t.Fatalf("login: %d; want 302", status)
	}
	return ticketIn(e.t, loc, service)
}

func ticketIn(t *testing.T, loc, service string) string {
	t.Helper()
	if !strings.HasPrefix(loc, service+"?ticket=") && !strings.HasPrefix(loc, service+"&ticket=") {
		t.Fatalf("redirect to %q; want %s with a ticket", loc, service)
	}
	u, _ := url.Parse(loc)
	return u.Query().Get("ticket")
}

func (e *env) validate(path string, q url.Values) string {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path + "?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/xml;charset=UTF-8" {
		e.t.Fatalf("%s: %s %q; want 200 XML", path, resp.Status, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func failureDoc(code, message string) string {
	return "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n" +
		"    <cas:authenticationFailure code=\"" + code + "\">" + message + "</cas:authenticationFailure>\n" +
		"</cas:serviceResponse>\n"
}

func TestServiceValidateAnswersTheSpecDocument(t *testing.T) {
	e := newEnv(t)
	got := e.validate("/serviceValidate", url.Values{"service": {svc}, "ticket": {e.signIn(svc, "T2001003")}})
	want := `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
    <cas:authenticationSuccess>
        <cas:user>T2001003</cas:user>
    </cas:authenticationSuccess>
</cas:serviceResponse>
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestP3ServiceValidateReleasesAttributes(t *testing.T) {
	e := newEnv(t)
	got := e.validate("/p3/serviceValidate", url.Values{"service": {svc}, "ticket": {e.signIn(svc, "T2001003")}})
	want := `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
    <cas:authenticationSuccess>
        <cas:user>T2001003</cas:user>
        <cas:attributes>
            <cas:authenticationDate>2026-09-01T08:30:00Z</cas:authenticationDate>
            <cas:isFromNewLogin>true</cas:isFromNewLogin>
            <cas:longTermAuthenticationRequestTokenUsed>false</cas:longTermAuthenticationRequestTokenUsed>
            <cas:name>王老师</cas:name>
            <cas:note>a&lt;b &amp; &#34;c&#34;</cas:note>
            <cas:userType>teacher</cas:userType>
            <cas:部门>计算机学院</cas:部门>
            <cas:部门>学生工作部</cas:部门>
        </cas:attributes>
    </cas:authenticationSuccess>
</cas:serviceResponse>
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestValidationFailures(t *testing.T) {
	e := newEnv(t)
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	st := e.signIn(svc, "20210001")
	for _, tc := range []struct {
		name string
		q    url.Values
		want string
	}{
		{"no ticket", q("service", svc), failureDoc("INVALID_REQUEST", "&#39;service&#39; and &#39;ticket&#39; parameters are both required")},
		{"no service", q("ticket", st), failureDoc("INVALID_REQUEST", "&#39;service&#39; and &#39;ticket&#39; parameters are both required")},
		{"json", q("service", svc, "ticket", st, "format", "JSON"), failureDoc("INVALID_REQUEST", "format JSON is not supported by this server (XML only)")},
		{"proxy ticket", q("service", svc, "ticket", "PT-1-abc"), failureDoc("INVALID_TICKET_SPEC", "Ticket PT-1-abc is not a service ticket")},
		{"unknown", q("service", svc, "ticket", "ST-9-nope"), failureDoc("INVALID_TICKET", "Ticket ST-9-nope not recognized")},
	} {
		if got := e.validate("/serviceValidate", tc.q); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
	// The refusals above that were not validation attempts left st usable.
	if got := e.validate("/serviceValidate", q("service", svc, "ticket", st)); !strings.Contains(got, "<cas:user>20210001</cas:user>") {
		t.Fatalf("ticket after malformed requests: %s", got)
	}

	st = e.signIn(svc, "20210001")
	if got, want := e.validate("/p3/serviceValidate", q("service", svc+"/x", "ticket", st)),
		failureDoc("INVALID_SERVICE", "Ticket "+st+" does not match supplied service. The original service was "+svc+" and the supplied service was "+svc+"/x"); got != want {
		t.Errorf("wrong service: got\n%s\nwant\n%s", got, want)
	}
	if got := e.validate("/p3/serviceValidate", q("service", svc, "ticket", st)); got != failureDoc("INVALID_TICKET", "Ticket "+st+" not recognized") {
		t.Errorf("after INVALID_SERVICE the ticket must be spent: %s", got)
	}

	st = e.signIn(svc, "20210001")
	e.clock.Advance(TicketTTL)
	if got := e.validate("/serviceValidate", q("service", svc, "ticket", st)); got != failureDoc("INVALID_TICKET", "Ticket "+st+" expired") {
		t.Errorf("expired: %s", got)
	}

	st = e.signIn(svc, "20210001")
	if got := e.validate("/serviceValidate", q("service", svc, "ticket", st, "pgtUrl", "http://hall.example.edu.cn/pgt")); !strings.Contains(got, `code="INVALID_PROXY_CALLBACK"`) {
		t.Errorf("http pgtUrl: %s", got)
	}
	st = e.signIn(svc, "20210001")
	if got := e.validate("/serviceValidate", q("service", svc, "ticket", st, "pgtUrl", "https://hall.example.edu.cn/pgt")); !strings.Contains(got, `code="UNAUTHORIZED_SERVICE_PROXY"`) {
		t.Errorf("https pgtUrl: %s", got)
	}

	st = e.signIn(svc, "20210001")
	e.sim.FailNextValidation("INTERNAL_ERROR", "LDAP <down>")
	if got := e.validate("/serviceValidate", q("service", svc, "ticket", st)); got != failureDoc("INTERNAL_ERROR", "LDAP &lt;down&gt;") {
		t.Errorf("injected: %s", got)
	}
	if e.sim.Outstanding() != 0 {
		t.Errorf("%d tickets outstanding; want every presented ticket spent", e.sim.Outstanding())
	}
}

func TestRenewRefusesSSOTickets(t *testing.T) {
	e := newEnv(t)
	e.signIn(svc, "20210001") // opens the session
	_, loc, _ := e.get("/login", url.Values{"service": {svc}})
	sso := ticketIn(t, loc, svc)
	if got := e.validate("/serviceValidate", url.Values{"service": {svc}, "ticket": {sso}, "renew": {"true"}}); !strings.Contains(got, `code="INVALID_TICKET"`) {
		t.Fatalf("SSO ticket with renew: %s", got)
	}
	// renew on /login asks again despite the session…
	status, _, body := e.get("/login", url.Values{"service": {svc}, "renew": {"true"}, "gateway": {"true"}})
	if status != 200 || !strings.Contains(body, `data-id="20210001"`) || !strings.Contains(body, "renew=true") {
		t.Fatalf("renew login: %d\n%s\nwant the picker, its links keeping renew", status, body)
	}
	// …and a ticket from primary credentials passes renew.
	fresh := e.signIn(svc, "20210001")
	if got := e.validate("/serviceValidate", url.Values{"service": {svc}, "ticket": {fresh}, "renew": {"true"}}); !strings.Contains(got, "authenticationSuccess") {
		t.Fatalf("fresh ticket with renew: %s", got)
	}
}

func TestGateway(t *testing.T) {
	e := newEnv(t)
	status, loc, _ := e.get("/login", url.Values{"service": {svc}, "gateway": {"true"}})
	if status != http.StatusFound || loc != svc {
		t.Fatalf("gateway without a session: %d to %q; want %s without a ticket", status, loc, svc)
	}
	e.signIn(svc, "T2001003")
	_, loc, _ = e.get("/login", url.Values{"service": {svc}, "gateway": {"true"}})
	if got := e.validate("/serviceValidate", url.Values{"service": {svc}, "ticket": {ticketIn(t, loc, svc)}}); !strings.Contains(got, "T2001003") {
		t.Fatalf("gateway with a session: %s", got)
	}
}

func TestLoginRefusesUnknownServicesAndAccounts(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"https://evil.example/steal", "javascript:alert(1)", "/relative", "https://hall.example.edu.cn.evil.example/"} {
		status, loc, body := e.get("/login", url.Values{"service": {s}, "sim_user": {"20210001"}})
		if status != http.StatusForbidden || loc != "" || !strings.Contains(body, "not registered") {
			t.Errorf("service %q: %d to %q; want a 403 page", s, status, loc)
		}
	}
	status, loc, body := e.get("/login", url.Values{"service": {svc}, "sim_user": {"nobody"}})
	if status != http.StatusBadRequest || loc != "" || !strings.Contains(body, "No account nobody") {
		t.Errorf("unknown account: %d to %q", status, loc)
	}
	if e.sim.Outstanding() != 0 {
		t.Errorf("%d tickets issued by refused logins", e.sim.Outstanding())
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	e.signIn(svc, "20210001")
	status, _, body := e.get("/login", nil)
	if status != 200 || !strings.Contains(body, `id="signed-in">李同学`) {
		t.Fatalf("login without service in a session: %d\n%s", status, body)
	}
	status, loc, _ := e.get("/logout", url.Values{"service": {"https://evil.example/"}})
	if status != 200 || loc != "" {
		t.Fatalf("logout to an unknown service: %d to %q; want the signed-out page", status, loc)
	}
	e.signIn(svc, "20210001")
	status, loc, _ = e.get("/logout", url.Values{"service": {svc}})
	if status != http.StatusFound || loc != svc {
		t.Fatalf("logout: %d to %q; want %s", status, loc, svc)
	}
	status, _, body = e.get("/login", url.Values{"service": {svc}})
	if status != 200 || !strings.Contains(body, `id="people"`) {
		t.Fatalf("login after logout: %d; want the picker", status)
	}
}

var href = regexp.MustCompile(`href="([^"]*)"`)

func TestPagesUnderAPrefix(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL + "/cassim"
	sim := New(Options{BaseURL: base, People: []Person{{ID: "x1", Name: "<script>alert(1)</script>"}}})
	mux.Handle("/cassim/", http.StripPrefix("/cassim", sim))

	resp, err := http.Get(base + "/login?service=" + url.QueryEscape("https://open.example/app"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;") {
		t.Fatalf("person name not escaped:\n%s", page)
	}
	links := href.FindAllStringSubmatch(page, -1)
	if len(links) == 0 {
		t.Fatal("no links on the picker")
	}
	for _, l := range links {
		if !strings.HasPrefix(l[1], base+"/login?") {
			t.Errorf("link %s not built on BaseURL", l[1])
		}
	}
	// The ticket-granting cookie is scoped to the prefix.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = hc.Get(base + "/login?sim_user=x1&service=" + url.QueryEscape("https://open.example/app"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if resp.StatusCode != http.StatusFound || len(cs) != 1 || cs[0].Name != CookieName || cs[0].Path != "/cassim" || !cs[0].HttpOnly {
		t.Fatalf("sign-in under prefix: %s cookies %v", resp.Status, cs)
	}
}

func TestTicketsFollowTheSpec(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	re := regexp.MustCompile(`^ST-[A-Za-z0-9-]+$`)
	for range 50 {
		st := e.signIn(svc, "20210001")
		if !re.MatchString(st) || len(st) > 256 || seen[st] {
			t.Fatalf("ticket %q: want ST-, only [A-Za-z0-9-], ≤ 256 characters, unique", st)
		}
		seen[st] = true
	}
}

func TestWithTicketKeepsTheServiceURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.example/cb":             "https://a.example/cb?ticket=ST-1-x",
		"https://a.example/cb?next=%2Fw":   "https://a.example/cb?next=%2Fw&ticket=ST-1-x",
		"https://a.example/cb?":            "https://a.example/cb?ticket=ST-1-x",
		"https://a.example/cb?a=1#section": "https://a.example/cb?a=1&ticket=ST-1-x#section",
	} {
		if got := withTicket(in, "ST-1-x"); got != want {
			t.Errorf("withTicket(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestNewPanicsOnBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"empty id":       {People: []Person{{Name: "x"}}},
		"duplicate id":   {People: []Person{{ID: "a"}, {ID: "a"}}},
		"bad attribute":  {People: []Person{{ID: "a", Attributes: map[string][]string{"two words": {"x"}}}}},
		"xml attribute":  {People: []Person{{ID: "a", Attributes: map[string][]string{"xmlns": {"x"}}}}},
		"digit first":    {People: []Person{{ID: "a", Attributes: map[string][]string{"1st": {"x"}}}}},
		"base url":       {BaseURL: "cassim"},
		"service prefix": {Services: []string{"hall.example.edu.cn"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New did not panic", name)
				}
			}()
			New(o)
		}()
	}
	if !isXMLName("身份类型") || !isXMLName("employee.Number-2") {
		t.Error("valid names refused")
	}
}

// TestATicketSignsInOnceUnderConcurrency: two app instances racing to
// validate the same ticket (a double-submitted callback) get one success.
func TestATicketSignsInOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	for range 20 {
		st := e.signIn(svc, "20210001")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(e.srv.URL + "/serviceValidate?" + url.Values{"service": {svc}, "ticket": {st}}.Encode())
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), "authenticationSuccess") {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("ticket validated %d times; want once", wins)
		}
	}
}
