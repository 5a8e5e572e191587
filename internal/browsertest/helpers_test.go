package browsertest_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/internal/browsertest"
)

// A tab is one browser window a person looks at during a journey. Tabs made
// with fresh share the test's browser but none of its cookies, as a second
// device would. Every step can leave a screenshot in the test's artifact
// directory (kept with `go test -artifacts`), numbered in the order taken.
type tab struct {
	t     *testing.T
	ctx   context.Context
	label string
	shots *shots
}

type shots struct {
	mu  sync.Mutex
	dir string
	n   int
}

// newTab starts the test's browser and returns its first tab.
func newTab(t *testing.T, label string) *tab {
	t.Helper()
	b := &tab{t: t, ctx: browsertest.New(t), label: label, shots: &shots{dir: t.ArtifactDir()}}
	b.viewport(phoneWidth, phoneHeight)
	return b
}

// The tabs are phone-sized (the pages are WeCom H5 pages) unless a journey
// plays a PC (desktop).
const (
	phoneWidth, phoneHeight = 390, 844
	pcWidth, pcHeight       = 1280, 800
)

func (b *tab) viewport(w, h int64) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(w, h)); err != nil {
		b.t.Fatalf("%s: set the viewport %dx%d: %v", b.label, w, h, err)
	}
}

// desktop makes the tab a PC browser window.
func (b *tab) desktop() *tab {
	b.t.Helper()
	b.viewport(pcWidth, pcHeight)
	return b
}

// fresh is a new tab in a browser context of its own: no cookies, no
// history, as another person's phone or a freshly opened private window.
func (b *tab) fresh(label string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a fresh browser context for %s: %v", label, err)
	}
	nb := &tab{t: b.t, ctx: ctx, label: label, shots: b.shots}
	nb.viewport(phoneWidth, phoneHeight)
	return nb
}

// userAgent makes this tab send ua from now on (the WeCom client, or
// personal WeChat with the WeChat plugin).
func (b *tab) userAgent(ua string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
		b.t.Fatalf("%s: set the user agent: %v", b.label, err)
	}
}

// setCookie stores a cookie for the site at rawURL in this tab's browser
// context.
func (b *tab) setCookie(rawURL, name, value string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: rawURL, Path: "/",
		HTTPOnly: new(true), SameSite: network.CookieSameSiteLax}); err != nil {
		b.t.Fatalf("%s: set cookie %s: %v", b.label, name, err)
	}
}

// open navigates to rawURL and waits for the page (after any redirects) to
// load.
func (b *tab) open(rawURL string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(rawURL)); err != nil {
		b.fatalf("open %s: %v", rawURL, err)
	}
}

// click clicks the first visible element matching the CSS selector and waits
// for the page it leads to (after any redirects) to load.
func (b *tab) click(sel string) {
	b.t.Helper()
	if !b.has(sel) {
		b.fatalf("nothing to click: no %s on %s", sel, b.location())
	}
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		b.fatalf("click %s: %v", sel, err)
	}
}

// has says whether an element matches the CSS selector now.
func (b *tab) has(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(sel)))
}

// text is the visible text of the first element matching the CSS
// selector, spaces collapsed; "" when there is none.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText.replace(/\s+/g, " ").trim() : "" })()`, jsString(sel)))
}

// attrs is the attribute name of every element matching the CSS selector,
// in page order.
func (b *tab) attrs(sel, name string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll(%s)].map(e => e.getAttribute(%s) || "")`, jsString(sel), jsString(name)))
}

// location is the URL the tab shows.
func (b *tab) location() *url.URL {
	b.t.Helper()
	raw := eval[string](b, `location.href`)
	u, err := url.Parse(raw)
	if err != nil {
		b.fatalf("the tab shows %q: %v", raw, err)
	}
	return u
}

// shot keeps a full-page PNG of what the tab shows, named after the step.
func (b *tab) shot(step string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("%s: screenshot %s: %v", b.label, step, err)
		return
	}
	b.shots.mu.Lock()
	b.shots.n++
	name := fmt.Sprintf("%02d-%s-%s.png", b.shots.n, fileSafe(b.label), fileSafe(step))
	b.shots.mu.Unlock()
	if err := os.WriteFile(filepath.Join(b.shots.dir, name), png, 0o644); err != nil {
		b.t.Errorf("%s: keep screenshot %s: %v", b.label, name, err)
	}
}

// fatalf keeps a screenshot of the page the journey failed on, then fails.
func (b *tab) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		b.shots.mu.Lock()
		b.shots.n++
		name := fmt.Sprintf("%02d-%s-FAILED.png", b.shots.n, fileSafe(b.label))
		b.shots.mu.Unlock()
		_ = os.WriteFile(filepath.Join(b.shots.dir, name), png, 0o644)
	}
	b.t.Fatalf("%s: %s", b.label, msg)
}

// eval runs a JavaScript expression in the page and decodes its value.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.label, js, err)
	}
	return v
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func fileSafe(s string) string { return strings.Trim(unsafeChars.ReplaceAllString(s, "-"), "-") }

// jsString quotes s as a JavaScript string literal (Go's quoting is a
// subset of JavaScript's for the selectors used here).
func jsString(s string) string { return fmt.Sprintf("%q", s) }

// The workbench as the person sees it: whose it is, which workbench, the
// identity shown in the switcher, and the tiles of each section in order.
type workbenchView struct {
	Name      string        `json:"name"`
	Workbench string        `json:"workbench"`
	Identity  string        `json:"identity"`
	BodyClass string        `json:"bodyClass"`
	Sections  []sectionView `json:"sections"`
}

type sectionView struct {
	Title string     `json:"title"`
	Tiles []tileView `json:"tiles"`
}

type tileView struct {
	Module   string `json:"module"`
	Category string `json:"cat"`
	Label    string `json:"label"`
	Soon     bool   `json:"soon"`
}

func (w workbenchView) modules() []string {
	var out []string
	for _, s := range w.Sections {
		for _, t := range s.Tiles {
			out = append(out, t.Module)
		}
	}
	return out
}

func (w workbenchView) hasTile(module string) bool {
	for _, m := range w.modules() {
		if m == module {
			return true
		}
	}
	return false
}

const readWorkbench = `(() => {
  const txt = e => e ? e.innerText.replace(/\s+/g, " ").trim() : "";
  const visible = e => e.offsetParent !== null;
  return {
    name: txt(document.querySelector("[data-testid=person-name]")),
    workbench: txt(document.querySelector(".me__wb")),
    identity: txt(document.querySelector("[data-testid=identity-current]")),
    bodyClass: document.body.className,
    sections: [...document.querySelectorAll("[data-testid=home] [data-testid=section]")].filter(visible).map(s => ({
      title: txt(s.querySelector("h2")),
      tiles: [...s.querySelectorAll("[data-testid=tile]")].filter(visible).map(a => ({
        module: a.dataset.module, cat: a.dataset.cat,
        label: txt(a.querySelector(".weui-grid__label")), soon: a.classList.contains("tile_soon"),
      })),
    })),
  };
})()`

// workbench reads the workbench page the tab shows; it fails the test when
// the tab is not on a signed-in workbench.
func (b *tab) workbench() workbenchView {
	b.t.Helper()
	if u := b.location(); u.Path != "/app/" || !b.has("[data-testid=home]") {
		b.fatalf("expected the workbench at /app/, the tab shows %s (%q)", u, b.text("main"))
	}
	return eval[workbenchView](b, readWorkbench)
}

// openFromPhone plays a member opening the app on the simulated phone: the
// phone's member list, the member's own phone page, the app's "open" link
// (WeCom's OAuth round trip follows, silently, as snsapi_base does).
func (b *tab) openFromPhone(e *apptest.Env, userID string) {
	b.t.Helper()
	b.open(e.URL + "/wecomsim/phone")
	b.click(fmt.Sprintf(`a.member-link[data-userid=%q]`, userID))
	if got := b.attrs("#me", "data-userid"); len(got) != 1 || got[0] != userID {
		b.fatalf("after picking %s the phone shows %v", userID, got)
	}
	// The app list is a fold on the phone page; open it as a person would.
	if !eval[bool](b, `(() => { const d = document.querySelector("details.workbench"); return !d || d.open })()`) {
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("details.workbench > summary"))); err != nil {
			b.fatalf("unfold the phone's app list: %v", err)
		}
	}
	b.click(fmt.Sprintf(`a.app-open[data-agentid="%d"]`, apptest.AgentID))
}

// clickNoNav clicks an element that changes the page in place (a fold, a
// menu) rather than leading elsewhere.
func (b *tab) clickNoNav(sel string) error {
	return chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(sel)))
}

// setValue sets a form field (a select's choice, say) as a person picking
// it would, firing the change event.
func (b *tab) setValue(sel, value string) error {
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
  const e = document.querySelector(%s);
  if (!e) return false;
  e.value = %s;
  e.dispatchEvent(new Event("change", {bubbles: true}));
  return e.value === %s;
})()`, jsString(sel), jsString(value), jsString(value))))
	return err
}

// cookie is the value of the cookie name the browser holds for rawURL, or
// "" (HttpOnly cookies included: the protocol sees them, scripts do not).
func (b *tab) cookie(rawURL, name string) string {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{rawURL}})
	if err != nil {
		b.t.Fatalf("%s: read cookies: %v", b.label, err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
