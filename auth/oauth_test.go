package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
)

func TestSafeReturnTo(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"/workbench?x=1", "/workbench?x=1"},
		{"/", "/"},
		{"/m/news/12#top", "/m/news/12#top"},
		{"/search?q=%E5%9B%BE%E4%B9%A6%E9%A6%86", "/search?q=%E5%9B%BE%E4%B9%A6%E9%A6%86"},
		{"/a//b", "/a//b"},
		{"", "/"},
		{"workbench", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/a\\b", "/"},
		{"/\t/evil.example", "/"},
		{"/x\r\nSet-Cookie: a=b", "/"},
		{"/x\x00", "/"},
		{"/x\x7f", "/"},
		{"/a b", "/"},
		{" /workbench", "/"},
		{"/" + string(make([]byte, 3000)), "/"},
	} {
		if got := auth.SafeReturnTo(tc.raw); got != tc.want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

var wecomState = regexp.MustCompile(`^[a-zA-Z0-9]{1,128}$`)

func TestStateRoundTrip(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		code, state := b.get(in, "/state/new?return="+url.QueryEscape("/workbench?x=1"))
		if code != http.StatusOK {
			t.Fatalf("new state: %d %s", code, state)
		}
		if !wecomState.MatchString(state) {
			t.Errorf("state %q is not what WeCom accepts ([a-zA-Z0-9], at most 128)", state)
		}
		code2, state2 := b.get(in, "/state/new?return=/")
		if code2 != http.StatusOK || state2 == state {
			t.Errorf("second state %q (status %d) repeats the first", state2, code2)
		}
		e.clock.Advance(9 * time.Minute)
		if code, to := b.get(in, "/state/take?state="+state); code != http.StatusOK || to != "/workbench?x=1" {
			t.Fatalf("take state in the same browser: %d %q, want 200 /workbench?x=1", code, to)
		}
		if code, body := b.get(in, "/state/take?state="+state); code != http.StatusForbidden {
			t.Errorf("taking the state twice: %d %s, want refused", code, body)
		}
		// The state survives the sign-in that follows it in the same browser.
		b.signIn(in, "lisi")
		if code, to := b.get(in, "/state/take?state="+state2); code != http.StatusOK || to != "/" {
			t.Errorf("take a state after signing in: %d %q, want 200 /", code, to)
		}
	})
}

func TestStateIsBrowserBound(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		one := e.instance(t, auth.Options{})
		two := e.instance(t, auth.Options{})
		victim, attacker, fresh := newBrowser(t), newBrowser(t), newBrowser(t)
		_, state := victim.get(one, "/state/new?return=/mail")
		attacker.get(one, "/state/new?return=/") // has a session of its own
		for name, b := range map[string]*browser{"another session": attacker, "no session": fresh} {
			if code, body := b.get(one, "/state/take?state="+state); code != http.StatusForbidden {
				t.Errorf("%s took the victim's state: %d %s", name, code, body)
			}
		}
		// Refusing the others did not spend it; the victim's own browser,
		// coming back through another instance, still can.
		if code, to := victim.get(two, "/state/take?state="+state); code != http.StatusOK || to != "/mail" {
			t.Errorf("victim take after forgers tried: %d %q, want 200 /mail", code, to)
		}
		if code, _ := victim.get(one, "/state/take?state=0123456789abcdef"); code != http.StatusForbidden {
			t.Errorf("an unknown state: %d, want refused", code)
		}
		if code, _ := victim.get(one, "/state/take?state="); code != http.StatusForbidden {
			t.Errorf("an empty state: %d, want refused", code)
		}
	})
}

func TestStateExpires(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		_, state := b.get(in, "/state/new?return=/oa")
		e.clock.Advance(10*time.Minute + time.Second)
		if code, body := b.get(in, "/state/take?state="+state); code != http.StatusForbidden {
			t.Errorf("state taken after 10 minutes: %d %s", code, body)
		}
	})
}

func TestStateSanitizesReturnTo(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		for _, raw := range []string{"https://evil.example/", "//evil.example", "/\\evil.example"} {
			_, state := b.get(in, "/state/new?return="+url.QueryEscape(raw))
			if code, to := b.get(in, "/state/take?state="+state); code != http.StatusOK || to != "/" {
				t.Errorf("return-to %q came back as %d %q, want 200 /", raw, code, to)
			}
		}
	})
}

func TestStateSingleUseUnderRace(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		_, state := b.get(in, "/state/new?return=/")
		const n = 8
		var wg sync.WaitGroup
		codes := make(chan int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := b.c.Get(in.srv.URL + "/state/take?state=" + state)
				if err != nil {
					codes <- 0
					return
				}
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		ok := 0
		for c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusForbidden:
			default:
				t.Errorf("concurrent take: status %d", c)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent takes of one state succeeded, want exactly 1", ok, n)
		}
	})
}

func TestUseCodeOnce(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := auth.UseCodeOnce(ctx, e.coord, "CODE-1"); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := auth.UseCodeOnce(ctx, e.coord, "CODE-1"); !errors.Is(err, auth.ErrCodeReused) {
			t.Errorf("second use: %v, want ErrCodeReused", err)
		}
		if err := auth.UseCodeOnce(ctx, e.coord, "CODE-2"); err != nil {
			t.Errorf("another code: %v", err)
		}
		if err := auth.UseCodeOnce(ctx, e.coord, ""); err == nil || errors.Is(err, auth.ErrCodeReused) {
			t.Errorf("empty code: %v, want a plain refusal", err)
		}
	})
}
