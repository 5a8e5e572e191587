package apptest_test

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
)

// TestSignInLandsOnTheWorkbench: the platform Start wires answers the real
// OAuth round trip SignIn plays, and the page it ends on is the person's
// own workbench, with their name; the same client without that round trip
// is sent away.
func TestSignInLandsOnTheWorkbench(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	p := e.Person(t, func(p *demo.Person) bool { return p.Main() == demo.CatUndergrad && p.Position == "" })

	c := e.Browser(t)
	resp := apptest.Get(t, c, e.URL+"/app/", apptest.UserAgentWeCom)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("GET /app/ without a session answered 200")
	}

	final := e.SignIn(t, c, p.UserID, "")
	if final != e.URL+"/app/" {
		t.Errorf("sign-in ended on %s, want %s/app/", final, e.URL)
	}
	resp = apptest.Get(t, c, final, apptest.UserAgentWeCom)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s after sign-in: %d", final, resp.StatusCode)
	}
	page := html.UnescapeString(string(body))
	if !strings.Contains(page, `data-testid="person-name">`+p.Name+`<`) {
		t.Errorf("the workbench of %s (%s) does not show their name:\n%.2000s", p.UserID, p.Name, page)
	}
	if !strings.Contains(page, `data-testid="tile"`) {
		t.Errorf("the workbench of %s shows no tile", p.UserID)
	}
}
