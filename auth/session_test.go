package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
)

func TestNewRefusesBadOptions(t *testing.T) {
	m := coord.NewMemory(nil)
	for name, opts := range map[string]auth.Options{
		"no coord":         {},
		"negative idle":    {Coord: m, IdleTimeout: -time.Second},
		"negative life":    {Coord: m, Lifetime: -time.Second},
		"bad cookie name":  {Coord: m, CookieName: "my session"},
		"semicolon cookie": {Coord: m, CookieName: "a;b"},
	} {
		if _, err := auth.New(opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
}

func TestSignInCarriesToNextRequest(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		if who := b.me(in); who != "" {
			t.Fatalf("fresh browser is signed in as %q", who)
		}
		signedInAt := e.clock.Now()
		if code, body := b.post(in, "/signin?user=zhangsan&name=张三&source=cas&identity=student"); code != http.StatusOK {
			t.Fatalf("sign in: %d %s", code, body)
		}
		e.clock.Advance(time.Minute)
		code, body := b.get(in, "/me")
		if code != http.StatusOK {
			t.Fatalf("next request after sign-in: %d %s", code, body)
		}
		var p auth.Principal
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		want := auth.Principal{UserID: "zhangsan", Name: "张三", Source: auth.SourceCAS, Identity: "student", SignedInAt: signedInAt}
		if !p.SignedInAt.Equal(want.SignedInAt) {
			t.Errorf("signed_in_at = %v, want the sign-in time %v", p.SignedInAt, want.SignedInAt)
		}
		p.SignedInAt = want.SignedInAt
		if p != want {
			t.Errorf("Current = %+v, want %+v", p, want)
		}
		// Another browser is not signed in by the first one's sign-in.
		if who := newBrowser(t).me(in); who != "" {
			t.Errorf("another browser is signed in as %q", who)
		}
	})
}

func TestSignInRefusesBadPrincipal(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		for _, q := range []string{"?user=&source=wecom", "?user=lisi&source=password"} {
			if code, _ := b.post(in, "/signin"+q); code != http.StatusBadRequest {
				t.Errorf("sign in %s: status %d, want refused", q, code)
			}
			if who := b.me(in); who != "" {
				t.Errorf("after refused sign in %s the browser is signed in as %q", q, who)
			}
		}
	})
}

func TestOutsideMiddlewareIsNoSession(t *testing.T) {
	s, err := auth.New(auth.Options{Coord: coord.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, ok := s.Current(ctx); ok {
		t.Error("Current outside Middleware reported a session")
	}
	if err := s.SignIn(ctx, auth.Principal{UserID: "u", Source: auth.SourceWeCom}); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("SignIn outside Middleware: %v, want ErrNoSession", err)
	}
	if err := s.SignOut(ctx); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("SignOut outside Middleware: %v, want ErrNoSession", err)
	}
	if _, err := s.NewState(ctx, "/"); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("NewState outside Middleware: %v, want ErrNoSession", err)
	}
	// Admin tooling may end someone's sessions without a browser of its own.
	if err := s.SignOutEverywhere(ctx, "u"); err != nil {
		t.Errorf("SignOutEverywhere outside Middleware: %v", err)
	}
}

func TestCookieAttributes(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		for _, secure := range []bool{false, true} {
			in := e.instance(t, auth.Options{Secure: secure})
			b := newBrowser(t)
			_, _, resp := b.do(http.MethodPost, in, "/signin?user=wangwu")
			var c *http.Cookie
			for _, rc := range resp.Cookies() {
				if rc.Name == "wecomapp_session" {
					c = rc
				}
			}
			if c == nil {
				t.Fatalf("secure=%v: sign-in set no wecomapp_session cookie: %v", secure, resp.Header["Set-Cookie"])
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure {
				t.Errorf("secure=%v: cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v, want HttpOnly, Lax, /, Secure=%v",
					secure, c.HttpOnly, c.SameSite, c.Path, c.Secure, secure)
			}
			if len(c.Value) < 40 {
				t.Errorf("session token %q is too short to be unguessable", c.Value)
			}
		}
	})
}

func TestTokenRotatesAtSignIn(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		victim := newBrowser(t)
		// The browser has an anonymous session before signing in (here made
		// by starting OAuth), whose token an attacker may have planted.
		if code, body := victim.get(in, "/state/new?return=/"); code != http.StatusOK {
			t.Fatalf("new state: %d %s", code, body)
		}
		before := victim.token(in)
		if before == "" {
			t.Fatal("no session cookie before sign-in")
		}
		victim.signIn(in, "zhaoliu")
		after := victim.token(in)
		if after == "" || after == before {
			t.Fatalf("token before sign-in %q, after %q: want a new one", before, after)
		}
		attacker := newBrowser(t)
		attacker.setToken(in, before)
		if who := attacker.me(in); who != "" {
			t.Errorf("the pre-sign-in token is signed in as %q (session fixation)", who)
		}
		if who := victim.me(in); who != "zhaoliu" {
			t.Errorf("victim is %q after sign-in, want zhaoliu", who)
		}
	})
}

func TestIdleExpiry(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{}) // idle 2h by default
		b := newBrowser(t)
		b.signIn(in, "sunqi")
		// Each use keeps the session alive for another idle period.
		for i := 0; i < 3; i++ {
			e.clock.Advance(2*time.Hour - time.Minute)
			if who := b.me(in); who != "sunqi" {
				t.Fatalf("use %d, %v after the previous one: signed in as %q, want sunqi", i+1, 2*time.Hour-time.Minute, who)
			}
		}
		token := b.token(in)
		e.clock.Advance(2*time.Hour + time.Second)
		if who := b.me(in); who != "" {
			t.Errorf("idle for over 2h: still signed in as %q", who)
		}
		replay := newBrowser(t)
		replay.setToken(in, token)
		if who := replay.me(in); who != "" {
			t.Errorf("the idle-expired token still signs in as %q", who)
		}
	})
}

func TestAbsoluteExpiry(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{IdleTimeout: time.Hour, Lifetime: 4 * time.Hour})
		b := newBrowser(t)
		b.signIn(in, "zhouba")
		for i := 0; i < 7; i++ { // 3h30m of steady use
			e.clock.Advance(30 * time.Minute)
			if who := b.me(in); who != "zhouba" {
				t.Fatalf("after %v of use: signed in as %q, want zhouba", time.Duration(i+1)*30*time.Minute, who)
			}
		}
		token := b.token(in)
		e.clock.Advance(30 * time.Minute) // 4h since sign-in, 30m since last use
		if who := b.me(in); who != "" {
			t.Errorf("4h after sign-in with a 4h lifetime: still signed in as %q", who)
		}
		replay := newBrowser(t)
		replay.setToken(in, token)
		if who := replay.me(in); who != "" {
			t.Errorf("the expired token still signs in as %q", who)
		}
		b.signIn(in, "zhouba")
		if who := b.me(in); who != "zhouba" {
			t.Errorf("signing in again after expiry: %q, want zhouba", who)
		}
	})
}

func TestForgedCookieIsNoSession(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		real := newBrowser(t)
		real.signIn(in, "wujiu")
		tok := real.token(in)
		altered := tok[:len(tok)-1] + "A"
		if altered == tok {
			altered = tok[:len(tok)-1] + "B"
		}
		for name, forged := range map[string]string{
			"random":          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			"garbage":         "not-a-token",
			"altered":         altered,
			"prefix of real":  tok[:20],
			"real with extra": tok + "x",
		} {
			b := newBrowser(t)
			b.setToken(in, forged)
			if who := b.me(in); who != "" {
				t.Errorf("%s cookie %q is signed in as %q", name, forged, who)
			}
		}
		if who := real.me(in); who != "wujiu" {
			t.Errorf("the real session is %q, want wujiu", who)
		}
	})
}

func TestSignOut(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		b.signIn(in, "zhengshi")
		token := b.token(in)
		if code, body := b.post(in, "/signout"); code != http.StatusOK {
			t.Fatalf("sign out: %d %s", code, body)
		}
		if b.token(in) != "" {
			t.Error("sign-out left the session cookie in the browser")
		}
		if who := b.me(in); who != "" {
			t.Errorf("after sign-out: signed in as %q", who)
		}
		replay := newBrowser(t)
		replay.setToken(in, token)
		if who := replay.me(in); who != "" {
			t.Errorf("the signed-out token still signs in as %q", who)
		}
	})
}

func TestSignOutEverywhere(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		one := e.instance(t, auth.Options{})
		two := e.instance(t, auth.Options{})
		phone, pc, other := newBrowser(t), newBrowser(t), newBrowser(t)
		phone.signIn(one, "alice")
		pc.signIn(two, "alice")
		other.signIn(one, "bob")
		phoneToken := phone.token(one)

		// Alice, on her PC (instance two), ends all her sessions.
		if code, body := pc.post(two, "/signout-everywhere?user=alice"); code != http.StatusOK {
			t.Fatalf("sign out everywhere: %d %s", code, body)
		}
		for _, in := range []*instance{one, two} {
			if who := phone.me(in); who != "" {
				t.Errorf("alice's phone is still signed in as %q", who)
			}
			if who := pc.me(in); who != "" {
				t.Errorf("alice's PC is still signed in as %q", who)
			}
			if who := other.me(in); who != "bob" {
				t.Errorf("bob's session became %q, want bob: only alice signed out", who)
			}
		}
		replay := newBrowser(t)
		replay.setToken(one, phoneToken)
		if who := replay.me(one); who != "" {
			t.Errorf("alice's old phone token still signs in as %q", who)
		}
		// She can sign in again afterwards.
		phone.signIn(one, "alice")
		if who := phone.me(two); who != "alice" {
			t.Errorf("alice signing in again: %q, want alice", who)
		}
		if who := pc.me(one); who != "" {
			t.Errorf("alice's PC came back as %q when her phone signed in", who)
		}
	})
}

// A request in flight during SignOutEverywhere saves its session back when
// it ends; the session must still be over at its next request.
func TestSignOutEverywhereBeatsRequestInFlight(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		phone, admin := newBrowser(t), newBrowser(t)
		phone.signIn(in, "carol")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, in.srv.URL+"/slow", nil)
			if resp, err := phone.c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		<-in.entered
		if code, body := admin.post(in, "/signout-everywhere?user=carol"); code != http.StatusOK {
			t.Fatalf("sign out everywhere: %d %s", code, body)
		}
		close(in.release)
		wg.Wait()
		if who := phone.me(in); who != "" {
			t.Errorf("the session saved back by the request in flight is signed in as %q", who)
		}
	})
}
