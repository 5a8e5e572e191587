package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
)

type clock = testenv.Clock

// env is one coordination backend with a clock; every instance built from
// it shares both, like several servers behind one load balancer.
type env struct {
	clock *clock
	coord coord.Store
}

// backends runs fn on the in-memory coord and, when WECOMAPP_TEST_REDIS_ADDR
// is set, on Redis (subtest "redis", with its own key prefix). On Redis the
// TTLs run on Redis's clock, but auth checks every deadline on its own clock
// too, so moving the test clock expires sessions on both.
func backends(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("memory", func(t *testing.T) {
		clk := testenv.NewClock(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
		fn(t, &env{clock: clk, coord: coord.NewMemory(clk.Now)})
	})
	t.Run("redis", func(t *testing.T) {
		addr := testenv.RedisAddr(t)
		prefix := fmt.Sprintf("wecomapp-test:%s:%d:", t.Name(), time.Now().UnixNano())
		raw := redis.NewClient(&redis.Options{Addr: addr})
		s := coord.NewRedisFromClient(raw, prefix)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("%s is set but Redis is unreachable: %v", testenv.RedisAddrVar, err)
		}
		t.Cleanup(func() {
			ctx := context.Background()
			var keys []string
			iter := raw.Scan(ctx, 0, prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			if len(keys) > 0 {
				raw.Del(ctx, keys...)
			}
			raw.Close()
		})
		clk := testenv.NewClock(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
		fn(t, &env{clock: clk, coord: s})
	})
}

// instance is one server: a Sessions behind Middleware serving a small app.
type instance struct {
	s   *auth.Sessions
	srv *httptest.Server
	// slow: requests to /slow signal entered and wait for release.
	entered, release chan struct{}
}

func (e *env) instance(t *testing.T, opts auth.Options) *instance {
	t.Helper()
	opts.Coord = e.coord
	opts.Now = e.clock.Now
	opts.Logger = zaptest.NewLogger(t)
	s, err := auth.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{s: s, entered: make(chan struct{}), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.Current(r.Context())
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		source := q.Get("source")
		if source == "" {
			source = auth.SourceWeCom
		}
		p := auth.Principal{UserID: q.Get("user"), Name: q.Get("name"), Source: source, Identity: q.Get("identity")}
		if err := s.SignIn(r.Context(), p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /identity", func(w http.ResponseWriter, r *http.Request) {
		err := s.SetIdentity(r.Context(), r.URL.Query().Get("identity"))
		if errors.Is(err, auth.ErrNotSignedIn) {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) {
		if err := s.SignOut(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /signout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		if err := s.SignOutEverywhere(r.Context(), r.URL.Query().Get("user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /state/new", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.NewState(r.Context(), r.URL.Query().Get("return"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, st)
	})
	mux.HandleFunc("GET /state/take", func(w http.ResponseWriter, r *http.Request) {
		to, err := s.TakeState(r.Context(), r.URL.Query().Get("state"))
		if errors.Is(err, auth.ErrBadState) {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, to)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		in.entered <- struct{}{}
		<-in.release
		io.WriteString(w, "done")
	})
	in.srv = httptest.NewServer(s.Middleware(mux))
	t.Cleanup(in.srv.Close)
	return in
}

// browser is an HTTP client with its own cookie jar. Cookies ignore the
// port, so one browser carries its cookie to every test instance.
type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar}, jar: jar}
}

// do sends a request and returns the status, the body and the response
// (for its Set-Cookie headers).
func (b *browser) do(method string, in *instance, path string) (int, string, *http.Response) {
	b.t.Helper()
	req, err := http.NewRequest(method, in.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), resp
}

func (b *browser) get(in *instance, path string) (int, string) {
	b.t.Helper()
	code, body, _ := b.do(http.MethodGet, in, path)
	return code, body
}

func (b *browser) post(in *instance, path string) (int, string) {
	b.t.Helper()
	code, body, _ := b.do(http.MethodPost, in, path)
	return code, body
}

// signIn signs the browser in as user and fails the test if it cannot.
func (b *browser) signIn(in *instance, user string) {
	b.t.Helper()
	if code, body := b.post(in, "/signin?user="+url.QueryEscape(user)+"&name="+url.QueryEscape(user)); code != http.StatusOK {
		b.t.Fatalf("sign in %s: %d %s", user, code, body)
	}
}

// me returns who the browser is signed in as, or "" when it is not.
func (b *browser) me(in *instance) string {
	b.t.Helper()
	code, body := b.get(in, "/me")
	switch code {
	case http.StatusOK:
		var p auth.Principal
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			b.t.Fatalf("/me: %v in %q", err, body)
		}
		return p.UserID
	case http.StatusUnauthorized:
		return ""
	}
	b.t.Fatalf("/me: status %d %s (a session problem must read as signed out, not fail)", code, body)
	return ""
}

// token is the browser's session cookie value for in, or "".
func (b *browser) token(in *instance) string {
	u, _ := url.Parse(in.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == auth.DefaultCookieName {
			return c.Value
		}
	}
	return ""
}

// setToken plants a session cookie, as an attacker or a replay would.
func (b *browser) setToken(in *instance, value string) {
	u, _ := url.Parse(in.srv.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: auth.DefaultCookieName, Value: value, Path: "/"}})
}
