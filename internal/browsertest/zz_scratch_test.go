package browsertest_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/wecomapp/wecomapp/internal/apptest"
)

func TestZZScratch(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	c := e.Browser(t)
	e.SignIn(t, c, "T00033", "")
	for _, p := range []string{"/app/m/campus", "/app/campus/profile", "/app/search?q=校园"} {
		r := apptest.Get(t, c, e.URL+p, apptest.UserAgentWeCom)
		b, _ := io.ReadAll(r.Body)
		fmt.Println(p, r.StatusCode, len(b))
	}
}
