package wecom_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

const (
	hallAgentID = 1000002
	hallSecret  = "sim-hall-secret"
)

// clock is the fake time shared by the simulator, the coord store and the
// client, so token lifetimes and quota refills follow the test, not the
// wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 3, 9, 17, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sleeps records the client's waits (backoff, quota) and, instead of
// sleeping, advances the fake clock by the same amount.
type sleeps struct {
	mu    sync.Mutex
	clock *clock
	waits []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.clock.Add(d)
	return ctx.Err()
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// env is one simulator with a Corp pointed at it.
type env struct {
	sim    *wecomsim.Sim
	url    string
	clock  *clock
	store  coord.Store
	reg    *prometheus.Registry
	sleeps *sleeps
	corp   *wecom.Corp
}

func newEnv(t *testing.T, mods ...func(*wecom.Options)) *env {
	t.Helper()
	clk := newClock()
	sim := wecomsim.New(wecomsim.Options{
		Apps:  []wecomsim.App{{AgentID: hallAgentID, Name: "hall", Secret: hallSecret}},
		Clock: clk.Now,
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	e := &env{sim: sim, url: srv.URL, clock: clk, store: coord.NewMemory(clk.Now), reg: prometheus.NewRegistry(), sleeps: &sleeps{clock: clk}}
	e.corp = e.newCorp(t, e.store, mods...)
	return e
}

// newCorp is another instance of the platform: same simulator and store,
// its own Corp (and metrics registry).
func (e *env) newCorp(t *testing.T, store coord.Store, mods ...func(*wecom.Options)) *wecom.Corp {
	t.Helper()
	reg := e.reg
	if e.corp != nil {
		reg = prometheus.NewRegistry()
	}
	opts := wecom.Options{
		BaseURL:       e.url,
		CorpID:        e.sim.CorpID(),
		ContactSecret: e.sim.ContactSecret(),
		Apps:          []wecom.AppConfig{{Name: "hall", AgentID: hallAgentID, Secret: hallSecret}},
		Coord:         store,
		HTTPTimeout:   5 * time.Second,
		Registerer:    reg,
		Now:           e.clock.Now,
		Sleep:         e.sleeps.Sleep,
	}
	for _, m := range mods {
		m(&opts)
	}
	corp, err := wecom.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return corp
}

func (e *env) contacts(t *testing.T) *wecom.Client {
	t.Helper()
	c, err := e.corp.Contacts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) hall(t *testing.T) *wecom.Client {
	t.Helper()
	c, err := e.corp.App("hall")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// calls is how many requests reached the simulator's path (faulted ones
// included).
func (e *env) calls(path string) int { return len(e.sim.Calls(path)) }

// counter reads a counter of the env's registry; 0 when absent.
func (e *env) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

var ctx = context.Background()

func TestTokenSharedAcrossInstances(t *testing.T) {
	run := func(t *testing.T, e *env, store coord.Store) {
		other := e.newCorp(t, store)
		// The app reads (today the contacts-sync secret gets 48009 from
		// user/get); its token is shared by both instances.
		a, _ := e.corp.App("hall")
		b, _ := other.App("hall")
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 4; i++ {
			for _, cl := range []*wecom.Client{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := cl.GetUser(ctx, "lihua")
					errs <- err
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := e.calls("/cgi-bin/gettoken"); n != 1 {
			t.Errorf("%d gettoken calls for 8 calls on two instances, want 1", n)
		}
		// The contacts-sync secret has a token of its own.
		sc, _ := other.Contacts()
		if _, err := sc.DepartmentSimpleList(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if n := e.calls("/cgi-bin/gettoken"); n != 2 {
			t.Errorf("%d gettoken calls after the sync secret's first call, want 2", n)
		}
	}
	t.Run("memory", func(t *testing.T) {
		e := newEnv(t)
		run(t, e, e.store)
	})
	t.Run("redis", func(t *testing.T) {
		addr := testenv.RedisAddr(t)
		prefix := fmt.Sprintf("wecomapp-test:%s:%d:", t.Name(), time.Now().UnixNano())
		store := coord.NewRedis(coord.RedisOptions{Addr: addr, Prefix: prefix})
		if err := store.Ping(ctx); err != nil {
			t.Fatalf("%s is set but Redis is unreachable: %v", testenv.RedisAddrVar, err)
		}
		t.Cleanup(func() { store.Close() })
		e := newEnv(t, func(o *wecom.Options) { o.Coord = store })
		run(t, e, store)
	})
}

func TestTokenExpiredIsRefreshedOnce(t *testing.T) {
	e := newEnv(t)
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	if _, err := cl.GetUser(ctx, "lihua"); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireAllTokens() // WeCom invalidates early: the cache still thinks it good
	u, err := cl.GetUser(ctx, "lihua")
	if err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if u.UserID != "lihua" {
		t.Errorf("userid = %q", u.UserID)
	}
	if got := e.sim.CallCount("/cgi-bin/user/get", 42001); got != 1 {
		t.Errorf("%d user/get answered 42001, want 1", got)
	}
	if n := e.calls("/cgi-bin/user/get"); n != 3 {
		t.Errorf("%d user/get calls, want 3 (ok, 42001, retry)", n)
	}
	if n := e.calls("/cgi-bin/gettoken"); n != 2 {
		t.Errorf("%d gettoken calls, want 2", n)
	}
	if len(e.sleeps.list()) != 0 {
		t.Errorf("token retry backed off: %v", e.sleeps.list())
	}
	// A second instance sharing the store uses the new token directly.
	other, _ := e.newCorp(t, e.store).App("hall")
	if _, err := other.GetUser(ctx, "lihua"); err != nil {
		t.Fatal(err)
	}
	if n := e.calls("/cgi-bin/gettoken"); n != 2 {
		t.Errorf("%d gettoken calls after the second instance, want 2", n)
	}
	if got := e.counter(t, "wecom_token_refresh_total", map[string]string{"kind": "access_token", "client": "hall", "outcome": "ok"}); got != 2 {
		t.Errorf("wecom_token_refresh_total = %v, want 2", got)
	}
}

func TestTokenRejectedTwiceFails(t *testing.T) {
	e := newEnv(t)
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/user/get", ErrCode: 42001, Times: 2})
	_, err := cl.GetUser(ctx, "lihua")
	if !wecom.IsCode(err, 42001) {
		t.Fatalf("err = %v, want 42001 after one token retry", err)
	}
	if n := e.calls("/cgi-bin/user/get"); n != 2 {
		t.Errorf("%d user/get calls, want 2 (one token retry only)", n)
	}
}

func TestTokenAheadOfExpiry(t *testing.T) {
	e := newEnv(t)
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	if _, err := cl.GetUser(ctx, "lihua"); err != nil {
		t.Fatal(err)
	}
	// At 92 % of 7200 s one caller refreshes ahead. The simulator, like the
	// older doc text, re-issues the same token with its remaining lifetime:
	// the client then keeps it to its end without asking again.
	e.clock.Add(6600 * time.Second)
	for i := 0; i < 3; i++ {
		if _, err := cl.GetUser(ctx, "lihua"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.calls("/cgi-bin/gettoken"); n != 2 {
		t.Errorf("%d gettoken calls, want 2", n)
	}
	// Past the token's end a new one is fetched before use, not after a 42001.
	e.clock.Add(700 * time.Second)
	if _, err := cl.GetUser(ctx, "lihua"); err != nil {
		t.Fatal(err)
	}
	if n := e.calls("/cgi-bin/gettoken"); n != 3 {
		t.Errorf("%d gettoken calls, want 3", n)
	}
	if got := e.sim.CallCount("/cgi-bin/user/get", 42001); got != 0 {
		t.Errorf("%d user/get answered 42001, want 0", got)
	}
}

func TestInvalidSecret(t *testing.T) {
	e := newEnv(t)
	cl := e.corp.Client("wrong", "not-a-secret", 0)
	_, err := cl.GetUser(ctx, "lihua")
	var we *wecom.Error
	if !errors.As(err, &we) || we.Code != 40001 || we.API != "gettoken" {
		t.Fatalf("err = %v, want *wecom.Error 40001 from gettoken", err)
	}
	if we.Retryable() {
		t.Error("40001 reported retryable")
	}
	if n := e.calls("/cgi-bin/gettoken"); n != 1 {
		t.Errorf("%d gettoken calls, want 1 (no retry)", n)
	}
	if n := e.calls("/cgi-bin/user/get"); n != 0 {
		t.Errorf("%d user/get calls without a token", n)
	}
	if got := e.counter(t, "wecom_token_refresh_total", map[string]string{"client": "wrong", "outcome": "error"}); got != 1 {
		t.Errorf("token refresh errors = %v, want 1", got)
	}
}

func TestRetriedFailures(t *testing.T) {
	// user/list_id is a POST: net/http never resends a POST by itself, so
	// what is measured here is the client's own retry. (A GET on a reused
	// connection that drops is resent once by net/http before the client
	// sees anything; that is harmless for reads.)
	const path = "/cgi-bin/user/list_id"
	tests := []struct {
		name  string
		fault wecomsim.Fault
		label string // errcode label of the failed attempt
	}{
		{"system busy", wecomsim.Fault{ErrCode: -1}, "-1"},
		{"http 503", wecomsim.Fault{Status: 503}, "http_503"},
		{"dropped connection", wecomsim.Fault{Drop: true}, "conn"},
		{"frequency limit", wecomsim.Fault{ErrCode: 45009}, "45009"},
		{"concurrency limit", wecomsim.Fault{ErrCode: 45033}, "45033"},
		{"data version conflict", wecomsim.Fault{ErrCode: 6000}, "6000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cl := e.contacts(t)
			f := tt.fault
			f.Path, f.Times = path, 1
			e.sim.AddFault(f)
			page, err := cl.ListUserIDs(ctx, "", 1000)
			if err != nil {
				t.Fatalf("ListUserIDs: %v", err)
			}
			if len(page.DeptUser) < 20 {
				t.Errorf("%d rows, want the fixture's members", len(page.DeptUser))
			}
			if n := e.calls(path); n != 2 {
				t.Errorf("%d user/list_id calls, want 2", n)
			}
			if w := e.sleeps.list(); len(w) != 1 || w[0] <= 0 {
				t.Errorf("backoffs = %v, want one", w)
			}
			if got := e.counter(t, "wecom_api_requests_total", map[string]string{"api": "user/list_id", "errcode": tt.label}); got != 1 {
				t.Errorf("requests{errcode=%s} = %v, want 1", tt.label, got)
			}
			if got := e.counter(t, "wecom_api_requests_total", map[string]string{"api": "user/list_id", "errcode": "0"}); got != 1 {
				t.Errorf("requests{errcode=0} = %v, want 1", got)
			}
		})
	}
}

func TestTimeoutRetried(t *testing.T) {
	e := newEnv(t, func(o *wecom.Options) { o.HTTPTimeout = 50 * time.Millisecond })
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/department/get", Latency: time.Second, Times: 1})
	if _, err := cl.GetDepartment(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if got := e.counter(t, "wecom_api_requests_total", map[string]string{"api": "department/get", "errcode": "timeout"}); got != 1 {
		t.Errorf("requests{errcode=timeout} = %v, want 1", got)
	}
}

func TestFrequencyLimitBacksOffLonger(t *testing.T) {
	e := newEnv(t, func(o *wecom.Options) {
		o.Retry = wecom.RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, FrequencyDelay: 10 * time.Second, FrequencyMaxDelay: time.Minute}
	})
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/user/get", ErrCode: 45009, Times: 1})
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/user/get", After: 1, ErrCode: -1, Times: 1})
	if _, err := cl.GetUser(ctx, "lihua"); err != nil {
		t.Fatal(err)
	}
	w := e.sleeps.list()
	if len(w) != 2 || w[0] < 5*time.Second || w[1] > 20*time.Millisecond {
		t.Errorf("backoffs = %v, want ≥5s after 45009 then ≤20ms after -1", w)
	}
}

func TestRetriesGiveUp(t *testing.T) {
	e := newEnv(t, func(o *wecom.Options) { o.Retry = wecom.RetryPolicy{MaxAttempts: 3} })
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/user/get", ErrCode: -1})
	_, err := cl.GetUser(ctx, "lihua")
	if !wecom.IsCode(err, -1) || !wecom.IsRetryable(err) {
		t.Fatalf("err = %v, want -1", err)
	}
	if n := e.calls("/cgi-bin/user/get"); n != 3 {
		t.Errorf("%d user/get calls, want 3", n)
	}
}

func TestCallerErrorNotRetried(t *testing.T) {
	e := newEnv(t)
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	_, err := cl.GetUser(ctx, "nobody")
	if !wecom.IsCode(err, wecom.CodeUserNotFound) || !wecom.IsNotFound(err) {
		t.Fatalf("err = %v, want 60111", err)
	}
	var we *wecom.Error
	if !errors.As(err, &we) || we.API != "user/get" || we.Retryable() {
		t.Errorf("error = %#v", we)
	}
	if n := e.calls("/cgi-bin/user/get"); n != 1 {
		t.Errorf("%d user/get calls, want 1", n)
	}
	if len(e.sleeps.list()) != 0 {
		t.Errorf("backed off on a caller error")
	}
	if got := e.counter(t, "wecom_api_requests_total", map[string]string{"api": "user/get", "errcode": "60111"}); got != 1 {
		t.Errorf("requests{errcode=60111} = %v, want 1", got)
	}
}

func TestRateLimiterWaits(t *testing.T) {
	// 4 a minute: a burst of 2, then one every 30 s (see perWindow).
	e := newEnv(t, func(o *wecom.Options) { o.Limits = wecom.Limits{PerAPIPerMinute: 4} })
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	for i := 0; i < 3; i++ {
		if _, err := cl.GetUser(ctx, "lihua"); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	w := e.sleeps.list()
	if len(w) != 1 || w[0] < 25*time.Second || w[0] > 31*time.Second {
		t.Errorf("waits = %v, want one of ~30s before the third call", w)
	}
	if n := e.calls("/cgi-bin/user/get"); n != 3 {
		t.Errorf("%d user/get calls, want 3", n)
	}
	if got := e.counter(t, "wecom_rate_limit_waits_total", map[string]string{"api": "user/get", "outcome": "waited"}); got != 1 {
		t.Errorf("rate limit waits = %v, want 1", got)
	}

	// A caller whose deadline comes before the quota gets ErrRateLimited
	// at once instead of waiting in vain.
	_, _ = cl.GetUser(ctx, "lihua") // empties the bucket again
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := cl.GetUser(dctx, "lihua"); !errors.Is(err, wecom.ErrRateLimited) {
		t.Errorf("err = %v, want ErrRateLimited", err)
	}
}

func TestBaseRoutingWithTwoSimulators(t *testing.T) {
	a := newEnv(t)
	b := newEnv(t)
	// Same corp id and secrets on both, different stores: the only thing
	// that tells them apart is the base.
	// The contacts-sync secret writes; the app reads (today the sync secret
	// gets 48009 from user/get).
	ca, cb := a.hall(t), b.hall(t)
	if err := b.contacts(t).UpdateUser(ctx, &wecom.UserUpdate{UserID: "lihua", Position: wecom.Ptr("B 院长")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if u, err := ca.GetUser(ctx, "lihua"); err != nil || u.Position != "院长" {
				t.Errorf("sim A: %v %v", u, err)
			}
		}()
		go func() {
			defer wg.Done()
			if u, err := cb.GetUser(ctx, "lihua"); err != nil || u.Position != "B 院长" {
				t.Errorf("sim B: %v %v", u, err)
			}
		}()
	}
	wg.Wait()
	if na, nb := a.calls("/cgi-bin/user/get"), b.calls("/cgi-bin/user/get"); na != 10 || nb != 10 {
		t.Errorf("user/get calls A=%d B=%d, want 10 each", na, nb)
	}
}

func TestBaseWithPathPrefix(t *testing.T) {
	e := newEnv(t)
	mux := httptest.NewServer(http.StripPrefix("/wecomsim", e.sim))
	t.Cleanup(mux.Close)
	corp := e.newCorp(t, coord.NewMemory(e.clock.Now), func(o *wecom.Options) { o.BaseURL = mux.URL + "/wecomsim/" })
	cl, _ := corp.App("hall") // the sync secret gets 48009 from department/get today
	if _, err := cl.GetDepartment(ctx, 2); err != nil {
		t.Fatal(err)
	}
}

func TestNotConfigured(t *testing.T) {
	e := newEnv(t, func(o *wecom.Options) { o.ContactSecret = "" })
	if _, err := e.corp.Contacts(); !errors.Is(err, wecom.ErrNotConfigured) {
		t.Errorf("Contacts() err = %v", err)
	}
	if _, err := e.corp.App("nope"); !errors.Is(err, wecom.ErrNotConfigured) {
		t.Errorf("App(nope) err = %v", err)
	}
}

func TestMetricsRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := 0; i < 2; i++ {
		if _, err := wecom.New(wecom.Options{CorpID: "ww1", Registerer: reg}); err != nil {
			t.Fatalf("New #%d: %v", i+1, err)
		}
	}
}

func wecomsimFault(path string, status int) wecomsim.Fault {
	return wecomsim.Fault{Path: path, Status: status, Times: 1}
}

func TestCallerDeadlineStopsRetries(t *testing.T) {
	e := newEnv(t)
	// Reads go through the app: today the contacts-sync secret gets 48009
	// from user/get and department/get (docs/wecom.md §5).
	cl := e.hall(t)
	if _, err := cl.GetUser(ctx, "lihua"); err != nil { // token in place
		t.Fatal(err)
	}
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/user/get", Latency: 10 * time.Second})
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := cl.GetUser(dctx, "lihua")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	// (The simulator logs the abandoned call only once it notices the
	// client left, so the call log is not asserted here.)
	if w := e.sleeps.list(); len(w) != 0 {
		t.Errorf("backed off after the caller gave up: %v", w)
	}
}
