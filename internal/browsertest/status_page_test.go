package browsertest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/internal/browsertest"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// TestStatusPageInBrowser opens the platform's status page, as served by
// handler.New over a real SQLite store with the simulator mounted, in a
// real Chromium, reads what a person sees there and follows its link to
// the simulated phone.
func TestStatusPageInBrowser(t *testing.T) {
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	sim := wecomsim.New(wecomsim.Options{BaseURL: srv.URL + "/wecomsim"})
	t.Cleanup(sim.Close)
	var err error
	h, err = handler.New(handler.Deps{
		Logger:         zap.NewNop(),
		DB:             storetest.SQLite(t),
		Coord:          coord.NewMemory(nil),
		Metrics:        prometheus.NewRegistry(),
		Simulator:      sim,
		SimulatorMount: "/wecomsim",
		Title:          "示例大学 一站式服务",
		Version:        "test",
		PublicURL:      srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("open the status page: %v", err)
	}
	title := run(t, ctx, chromedp.Title())
	heading := run(t, ctx, chromedp.Text(chromedp.CSS("h1")))
	if title != "示例大学 一站式服务" || heading != title {
		t.Errorf("title %q, heading %q; want the configured title in both", title, heading)
	}
	// Each status line is a name and its state, as rendered (innerText:
	// what is visible, with the layout's spacing).
	lines := run(t, ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("ul.checks li")).map(li => li.innerText.replace(/\s+/g, " ").trim())`))
	want := []string{"database (sqlite) ok", "migrations applied", "coordination ok", "WeCom built-in simulator"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("status lines %q, want %q", lines, want)
	}
	link := run(t, ctx, chromedp.Text(chromedp.CSS("a.button")))
	href := run(t, ctx, chromedp.AttributeValue(chromedp.CSS("a.button"), "href"))
	if link != "Open the simulated phone" || href.Value != srv.URL+"/wecomsim/phone" {
		t.Errorf("phone link %q -> %q, want \"Open the simulated phone\" -> %s/wecomsim/phone", link, href.Value, srv.URL)
	}

	// The link leads to the simulated phone, where a member is picked.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("a.button")),
		chromedp.WaitVisible(chromedp.CSS("h1.pick-h")),
	); err != nil {
		t.Fatalf("follow the phone link: %v", err)
	}
	if pick := run(t, ctx, chromedp.Text(chromedp.CSS("h1.pick-h"))); pick != "谁拿着这部手机？" {
		t.Errorf("phone page heading %q", pick)
	}
	if members := run(t, ctx, chromedp.Text(chromedp.CSS("main.pick"))); !strings.Contains(members, "张伟") {
		t.Errorf("phone page lists no member of the test fixture (张伟): %q", members)
	}
}

// run runs one browser action and fails the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
