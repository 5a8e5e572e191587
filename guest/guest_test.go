package guest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/guest"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/sms/smssim"
	"github.com/wecomapp/wecomapp/store"
)

const (
	typed = "139 1234 5678"
	e164  = "+8613912345678"
	ip    = "203.0.113.7"
)

// recording keeps every value written to coord, to prove codes are not.
type recording struct {
	coord.Store
	mu     sync.Mutex
	values []string
}

func (r *recording) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	r.mu.Lock()
	r.values = append(r.values, key+"="+string(value))
	r.mu.Unlock()
	return r.Store.Set(ctx, key, value, ttl)
}

func (r *recording) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	r.mu.Lock()
	r.values = append(r.values, key+"="+string(value))
	r.mu.Unlock()
	return r.Store.SetNX(ctx, key, value, ttl)
}

type audits struct {
	mu      sync.Mutex
	entries []store.AuditEntry
}

func (a *audits) add(_ context.Context, e store.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

func (a *audits) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, e.Action)
	}
	return out
}

type env struct {
	svc   *guest.Service
	sim   *smssim.Sim
	clock *testenv.Clock
	co    *recording
	audit *audits
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := testenv.NewClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	e := &env{sim: smssim.New(smssim.Options{Clock: clock}), clock: clock, co: &recording{Store: coord.NewMemory(clock.Now)}, audit: &audits{}}
	e.svc = e.service(t, e.co, nil)
	return e
}

func (e *env) service(t *testing.T, co coord.Store, secret []byte) *guest.Service {
	t.Helper()
	svc, err := guest.New(guest.Options{Coord: co, SMS: e.sim, Template: "1001", Audit: e.audit.add, Now: e.clock.Now, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// lastCode is the code in the newest text the number received.
func lastCode(t *testing.T, sim *smssim.Sim, mobile string) string {
	t.Helper()
	texts := sim.Texts(mobile)
	if len(texts) == 0 {
		t.Fatalf("%s received no text", mobile)
	}
	return texts[0].Params[0]
}

func TestCodeArrivesAndSignsInOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.SendCode(ctx, typed, ip); err != nil {
		t.Fatal(err)
	}
	texts := e.sim.Texts(e164)
	if len(texts) != 1 {
		t.Fatalf("received %d texts", len(texts))
	}
	code := texts[0].Params[0]
	if want := "【示范大学】您的验证码为" + code + "，5分钟内有效。如非本人操作请忽略。"; texts[0].Text != want || len(code) != 6 || texts[0].Template != "1001" {
		t.Errorf("text %q (template %s); want %q", texts[0].Text, texts[0].Template, want)
	}
	for _, v := range e.co.values {
		if strings.Contains(v, code) || strings.Contains(v, "13912345678") {
			t.Errorf("coord holds the code or the number: %s", v)
		}
	}

	got, err := e.svc.Verify(ctx, "13912345678", code, ip)
	if err != nil || got != e164 {
		t.Fatalf("Verify = %q, %v", got, err)
	}
	if _, err := e.svc.Verify(ctx, typed, code, ip); !errors.Is(err, guest.ErrNoCode) {
		t.Errorf("the code signed in twice: %v", err)
	}
	if got, want := strings.Join(e.audit.actions(), " "), "guest.code_sent guest.signed_in guest.no_code"; got != want {
		t.Errorf("audit %s; want %s", got, want)
	}
	for _, a := range e.audit.entries {
		if strings.Contains(a.Object+a.After+a.Actor, "13912345678") || a.Object != "guest/139****5678" || a.IP != ip {
			t.Errorf("audit row %+v: want the number masked and the IP", a)
		}
	}
}

func TestWrongCodeFiveTimesBurnsIt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.SendCode(ctx, typed, ip); err != nil {
		t.Fatal(err)
	}
	code := lastCode(t, e.sim, e164)
	wrong := fmt.Sprintf("%06d", (mustAtoi(code)+1)%1_000_000)
	for left := guest.MaxTries - 1; left >= 0; left-- {
		_, err := e.svc.Verify(ctx, typed, wrong, ip)
		var we *guest.WrongCodeError
		if !errors.As(err, &we) || we.Left != left {
			t.Fatalf("wrong code: %v; want %d tries left", err, left)
		}
	}
	if _, err := e.svc.Verify(ctx, typed, code, ip); !errors.Is(err, guest.ErrNoCode) {
		t.Errorf("the right code after 5 wrong ones: %v; want it burnt", err)
	}
	// A new code starts afresh.
	e.clock.Advance(61 * time.Second)
	if err := e.svc.SendCode(ctx, typed, ip); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.Verify(ctx, typed, lastCode(t, e.sim, e164), ip); err != nil || got != e164 {
		t.Errorf("new code: %q, %v", got, err)
	}
	if !strings.Contains(strings.Join(e.audit.actions(), " "), "guest.code_wrong guest.code_burnt guest.no_code") {
		t.Errorf("audit %v", e.audit.actions())
	}
}

func mustAtoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestCodeExpiresAndANewOneReplacesTheOld(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.SendCode(ctx, typed, ip); err != nil {
		t.Fatal(err)
	}
	first := lastCode(t, e.sim, e164)
	e.clock.Advance(61 * time.Second)
	if err := e.svc.SendCode(ctx, typed, ip); err != nil {
		t.Fatal(err)
	}
	second := lastCode(t, e.sim, e164)
	if first != second {
		if _, err := e.svc.Verify(ctx, typed, first, ip); !errors.Is(err, guest.ErrWrongCode) {
			t.Errorf("the replaced code: %v", err)
		}
	}
	e.clock.Advance(guest.DefaultCodeTTL)
	if _, err := e.svc.Verify(ctx, typed, second, ip); !errors.Is(err, guest.ErrNoCode) {
		t.Errorf("a code past its 5 minutes: %v", err)
	}
}

func TestOnlyMainlandMobiles(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ raw, reason string }{
		{"", guest.ReasonEmpty},
		{"12345", guest.ReasonInvalid},
		{"010-62751234", guest.ReasonNotMobile},
		{"+852 9123 4567", guest.ReasonNotMainland},
	} {
		err := e.svc.SendCode(context.Background(), tt.raw, ip)
		var ie *guest.InvalidMobileError
		if !errors.As(err, &ie) || ie.Reason != tt.reason || !errors.Is(err, guest.ErrInvalidMobile) {
			t.Errorf("SendCode(%q) = %v; want reason %s", tt.raw, err, tt.reason)
		}
	}
	if n := e.sim.Calls(); n != 0 {
		t.Errorf("%d texts went out", n)
	}
}

func TestGatewayFailureIsNotSent(t *testing.T) {
	e := newEnv(t)
	e.sim.FailMobile(e164, 1, "FailedOperation.PhoneNumberInBlacklist")
	if err := e.svc.SendCode(context.Background(), typed, ip); !errors.Is(err, guest.ErrNotSent) {
		t.Errorf("refused number: %v", err)
	}
	e.sim.FailNext(1, "InternalError")
	e.clock.Advance(61 * time.Second)
	if err := e.svc.SendCode(context.Background(), typed, ip); !errors.Is(err, guest.ErrNotSent) {
		t.Errorf("provider outage: %v", err)
	}
	if got := strings.Join(e.audit.actions(), " "); got != "guest.code_not_sent guest.code_not_sent" {
		t.Errorf("audit %s", got)
	}

	// A resend that fails leaves the code that did arrive working.
	e.clock.Advance(61 * time.Second)
	if err := e.svc.SendCode(context.Background(), typed, ip); err != nil {
		t.Fatal(err)
	}
	code := lastCode(t, e.sim, e164)
	e.clock.Advance(61 * time.Second)
	e.sim.FailNext(1, "InternalError")
	if err := e.svc.SendCode(context.Background(), typed, ip); !errors.Is(err, guest.ErrNotSent) {
		t.Fatalf("resend during an outage: %v", err)
	}
	if got, err := e.svc.Verify(context.Background(), typed, code, ip); err != nil || got != e164 {
		t.Errorf("the code sent before the failed resend: %q, %v", got, err)
	}
}

func TestPerNumberLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.SendCode(ctx, typed, ip); err != nil {
		t.Fatal(err)
	}
	var rl *guest.RateLimitError
	if err := e.svc.SendCode(ctx, typed, "198.51.100.1"); !errors.As(err, &rl) || rl.Scope != guest.ScopeMobile || rl.Seconds() != 60 {
		t.Fatalf("second text within a minute: %v", err)
	}
	for i := 2; i <= 5; i++ {
		e.clock.Advance(61 * time.Second)
		if err := e.svc.SendCode(ctx, typed, ip); err != nil {
			t.Fatalf("text %d: %v", i, err)
		}
	}
	e.clock.Advance(61 * time.Second)
	if err := e.svc.SendCode(ctx, typed, ip); !errors.As(err, &rl) || rl.Scope != guest.ScopeMobile || rl.RetryAfter < 5*time.Minute {
		t.Fatalf("sixth text within the hour: %v", err)
	}
	if n := len(e.sim.Texts(e164)); n != 5 {
		t.Errorf("%d texts arrived; want 5", n)
	}
	if !strings.Contains(strings.Join(e.audit.actions(), " "), guest.ActionCodeLimited) {
		t.Errorf("refusals not audited: %v", e.audit.actions())
	}
}

func TestPerIPLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 20 {
		if err := e.svc.SendCode(ctx, fmt.Sprintf("1391234%04d", i), ip); err != nil {
			t.Fatalf("number %d: %v", i, err)
		}
	}
	var rl *guest.RateLimitError
	if err := e.svc.SendCode(ctx, "13912349999", ip); !errors.As(err, &rl) || rl.Scope != guest.ScopeIP {
		t.Fatalf("21st text from one network: %v", err)
	}
	if err := e.svc.SendCode(ctx, "13912349999", "198.51.100.1"); err != nil {
		t.Errorf("another network: %v", err)
	}
	for i := range 30 {
		if _, err := e.svc.Verify(ctx, "13912349999", "000000", "192.0.2.1"); errors.Is(err, guest.ErrRateLimited) {
			t.Fatalf("verification %d refused: %v", i+1, err)
		}
	}
	if _, err := e.svc.Verify(ctx, "13912349999", "000000", "192.0.2.1"); !errors.As(err, &rl) || rl.Scope != guest.ScopeIP {
		t.Errorf("31st verification from one network: %v", err)
	}
}

// Two instances over one Redis: a code texted by one signs in on the
// other, and the allowances are shared.
func TestLimitsHoldAcrossInstances(t *testing.T) {
	addr := testenv.RedisAddr(t)
	e := newEnv(t)
	prefix := fmt.Sprintf("wecomapp-test:%s:%d:", t.Name(), time.Now().UnixNano())
	secret := []byte("the deployment's guest secret")
	var svcs [2]*guest.Service
	for i := range svcs {
		r := coord.NewRedis(coord.RedisOptions{Addr: addr, Prefix: prefix})
		t.Cleanup(func() { r.Close() })
		if err := r.Ping(context.Background()); err != nil {
			t.Fatalf("%s is set but Redis is unreachable: %v", testenv.RedisAddrVar, err)
		}
		svcs[i] = e.service(t, r, secret)
	}
	a, b := svcs[0], svcs[1]
	ctx := context.Background()

	if err := a.SendCode(ctx, typed, ip); err != nil {
		t.Fatal(err)
	}
	if err := b.SendCode(ctx, typed, "198.51.100.1"); !errors.Is(err, guest.ErrRateLimited) {
		t.Errorf("second text through the other instance: %v", err)
	}
	code := lastCode(t, e.sim, e164)
	if got, err := b.Verify(ctx, typed, code, ip); err != nil || got != e164 {
		t.Errorf("code from A verified on B: %q, %v", got, err)
	}
	if _, err := a.Verify(ctx, typed, code, ip); !errors.Is(err, guest.ErrNoCode) {
		t.Errorf("code reused on A after B: %v", err)
	}

	const net = "192.0.2.99"
	for i := range 20 {
		svc := svcs[i%2]
		if err := svc.SendCode(ctx, fmt.Sprintf("1381234%04d", i), net); err != nil {
			t.Fatalf("number %d: %v", i, err)
		}
	}
	var rl *guest.RateLimitError
	if err := a.SendCode(ctx, "13812349999", net); !errors.As(err, &rl) || rl.Scope != guest.ScopeIP {
		t.Errorf("21st text from one network over two instances: %v", err)
	}
}

func TestPrincipal(t *testing.T) {
	p := guest.Principal(e164)
	if p.UserID != "guest:+8613912345678" || p.Name != "139****5678" || p.Source != auth.SourcePhone {
		t.Errorf("principal %+v", p)
	}
	if !guest.IsGuest(p) || guest.Mobile(p) != e164 {
		t.Errorf("IsGuest/Mobile of %+v", p)
	}
	member := auth.Principal{UserID: "zhangsan", Source: auth.SourceWeCom}
	if guest.IsGuest(member) || guest.Mobile(member) != "" {
		t.Errorf("a member taken for a guest")
	}
}
