package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
)

func TestSetIdentityIsRememberedForTheSession(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in, other := e.instance(t, auth.Options{}), e.instance(t, auth.Options{})
		b := newBrowser(t)
		b.signIn(in, "chenjing")
		token := b.token(in)
		if code, body := b.post(in, "/identity?identity=counselor"); code != http.StatusOK {
			t.Fatalf("set identity: %d %s", code, body)
		}
		e.clock.Advance(time.Minute)
		// Another instance sees the choice: it lives in the shared session.
		p := current(t, b, other)
		if p.UserID != "chenjing" || p.Identity != "counselor" {
			t.Errorf("after SetIdentity the session is %+v, want chenjing acting as counselor", p)
		}
		if b.token(in) != token {
			t.Error("SetIdentity changed the session token; only sign-in rotates it")
		}
		if code, _ := b.post(other, "/identity?identity=doctoral"); code != http.StatusOK {
			t.Fatal("second identity change refused")
		}
		if p := current(t, b, in); p.Identity != "doctoral" {
			t.Errorf("identity = %q after switching again, want doctoral", p.Identity)
		}
		// Signing out everywhere still ends the session that changed its identity.
		if code, _ := b.post(in, "/signout-everywhere?user=chenjing"); code != http.StatusOK {
			t.Fatal("sign out everywhere failed")
		}
		if who := b.me(other); who != "" {
			t.Errorf("signed out everywhere, but still %q", who)
		}
	})
}

func TestSetIdentityNeedsASignedInPerson(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		in := e.instance(t, auth.Options{})
		b := newBrowser(t)
		if code, _ := b.post(in, "/identity?identity=leader"); code != http.StatusUnauthorized {
			t.Errorf("SetIdentity without sign-in: status %d, want refused as not signed in", code)
		}
		if who := b.me(in); who != "" {
			t.Errorf("SetIdentity signed the browser in as %q", who)
		}
	})
	s, err := auth.New(auth.Options{Coord: coord.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetIdentity(context.Background(), "x"); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("SetIdentity outside Middleware: %v, want ErrNoSession", err)
	}
}

// current is the browser's principal on in; the test fails when it has none.
func current(t *testing.T, b *browser, in *instance) auth.Principal {
	t.Helper()
	code, body := b.get(in, "/me")
	if code != http.StatusOK {
		t.Fatalf("/me: %d %s", code, body)
	}
	var p auth.Principal
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}
