package h5

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wecomapp/wecomapp/internal/browsertest"
)

// The workbench home in a real browser, under the Content-Security-Policy
// the handler sends: the stylesheets apply and the tile filter (app.js, the
// only script) works as the person types.
func TestBrowserHomeFilter(t *testing.T) {
	page := render(t, pages(t), "app_home", sampleHome())
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.FS(Static()))))
	mux.HandleFunc("/app/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := browsertest.New(t)
	visible := `[...document.querySelectorAll("[data-testid=home] [data-testid=tile]")].filter(e => e.offsetParent !== null).map(e => e.dataset.module).join(",")`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/app/"),
		chromedp.WaitVisible(`[data-testid=tile]`),
	); err != nil {
		t.Fatal(err)
	}
	// WeUI and app.css applied: four tiles to a row on a phone.
	w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("[data-testid=tile]").getBoundingClientRect().width / document.querySelector(".tiles").getBoundingClientRect().width`))
	if err != nil || w < 0.24 || w > 0.26 {
		t.Fatalf("tile is %.2f of its row (%v): stylesheets not applied", w, err)
	}
	before, err := chromedp.Run(ctx, chromedp.Evaluate[string](visible))
	if err != nil || strings.Count(before, ",") < 20 {
		t.Fatalf("before typing: %q %v", before, err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`#q`, "名称1")); err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[string](visible))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range strings.Split(after, ",") {
		if m < "module_10" || m > "module_16" {
			t.Errorf("tile %s still shown for 名称1 (shown: %s)", m, after)
		}
	}
	if !strings.Contains(after, "module_10") || !strings.Contains(after, "module_16") {
		t.Errorf("matching tiles hidden: %s", after)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`#q`, "zzz")); err != nil {
		t.Fatal(err)
	}
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("nomatch").hidden`)); err != nil || hidden {
		t.Errorf("nothing matches zzz, yet no hint (%v)", err)
	}
}
