package browsertest_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wecomapp/wecomapp/internal/browsertest"
)

// TestBrowserStartsOffTheNetwork reads the command line the browser itself
// reports: headless, sandbox and GPU off (containers), and nothing that
// phones home (QUIC, background networking, component updates, sync), with
// a profile of its own under the test's temporary directory.
func TestBrowserStartsOffTheNetwork(t *testing.T) {
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("chrome://version")); err != nil {
		t.Fatalf("open chrome://version: %v", err)
	}
	cmdline := run(t, ctx, chromedp.Text(chromedp.ID("command_line")))
	for _, flag := range []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync"} {
		if !strings.Contains(" "+cmdline+" ", " "+flag+" ") && !strings.Contains(cmdline, flag+"=") {
			t.Errorf("chromium runs without %s: %s", flag, cmdline)
		}
	}
	// browsertest.New gave it a t.TempDir(): a sibling of any other.
	root := filepath.Dir(t.TempDir())
	if profile := run(t, ctx, chromedp.Text(chromedp.ID("profile_path"))); !strings.HasPrefix(profile, root+string(filepath.Separator)) {
		t.Errorf("profile %q is not a fresh directory under this test's %s", profile, root)
	}
}
