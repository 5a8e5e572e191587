package browsertest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/selfreg"
	"github.com/wecomapp/wecomapp/store"
)

// TestJourneySelfRegistration: a new student who is not in WeCom yet scans
// the poster's QR code with personal WeChat, chooses 学生, signs in to
// CAS, mistypes the phone and is told which check failed, fixes it, and is
// enrolled, with the steps to log in to WeCom and follow the WeChat plugin.
func TestJourneySelfRegistration(t *testing.T) {
	var (
		mu       sync.Mutex
		enrolled []string
	)
	e := apptest.Start(t, apptest.Options{SelfReg: &selfreg.Options{
		Enrol: func(ctx context.Context, userID string, actor store.Actor) error {
			mu.Lock()
			defer mu.Unlock()
			enrolled = append(enrolled, userID)
			return nil
		},
		Welcome: func(ctx context.Context, userID string) error { return nil },
	}})
	stu := freshman(t, e)
	root := newTab(t, "root")

	// The information center's poster, on a PC.
	poster := root.fresh("poster").desktop()
	poster.open(e.URL + "/register/poster")
	if !eval[bool](poster, `(() => { const i = document.querySelector("[data-testid=register-qr]"); return !!i && i.complete && i.naturalWidth === 512 })()`) {
		poster.fatalf("the poster shows no QR code")
	}
	target := poster.text("[data-testid=register-url]")
	if target != e.URL+"/register" {
		poster.fatalf("the poster points at %q, want %s/register", target, e.URL)
	}
	poster.shot("poster")

	// The student's phone, personal WeChat: the QR code opens the page.
	b := root.fresh("student")
	b.userAgent(apptest.UserAgentWeChat)
	b.open(target)
	if got := b.attrs("[data-testid=register-type]", "data-type"); strings.Join(got, ",") != "faculty,student" {
		b.fatalf("the page offers %v, want faculty and student", got)
	}
	b.shot("choose-type")
	b.click(`[data-testid=register-type][data-type=student]`)
	if u := b.location(); !strings.HasPrefix(u.Path, "/cassim/login") {
		b.fatalf("choosing 学生 led to %s, want the CAS login page", u)
	}
	b.shot("cas")
	b.click(fmt.Sprintf(`a.person[data-id=%q]`, stu.UserID))
	if u := b.location(); u.Path != "/register/form" {
		b.fatalf("after CAS the tab shows %s (%q)", u, b.text("main"))
	}
	if id := b.text("[data-testid=verified-id]"); id != stu.UserID {
		t.Errorf("the form shows the verified id %q, want %s", id, stu.UserID)
	}
	if name := eval[string](b, `document.querySelector("[data-testid=register-name]").value`); name != stu.Name {
		t.Errorf("the name field holds %q, want the name CAS released (%s)", name, stu.Name)
	}
	b.shot("form")

	// A phone the data center does not have for them.
	if err := b.setValue("[data-testid=register-mobile]", "13312345678"); err != nil {
		b.fatalf("type the mobile: %v", err)
	}
	b.click("[data-testid=register-submit]")
	if got := b.attrs("[data-testid=refusal]", "data-check"); len(got) != 1 || got[0] != "phone_differs" {
		b.fatalf("a wrong phone shows refusal %v (%q)", got, b.text("main"))
	}
	if msg := b.text("[data-testid=refusal]"); !strings.Contains(msg, mask.Phone(stu.Mobile)) || !strings.Contains(msg, "学院") {
		t.Errorf("the refusal does not say which phone is on record and who updates it: %q", msg)
	}
	b.shot("phone-differs")

	if err := b.setValue("[data-testid=register-mobile]", stu.Mobile); err != nil {
		b.fatalf("type the mobile: %v", err)
	}
	b.click("[data-testid=register-submit]")
	if !b.has("[data-testid=register-done]") {
		b.fatalf("the right phone does not enrol: %q", b.text("main"))
	}
	if id := b.text("[data-testid=register-userid]"); id != stu.UserID {
		t.Errorf("the welcome names account %q, want %s", id, stu.UserID)
	}
	if steps := b.text("[data-testid=join-steps]"); !strings.Contains(steps, "企业微信") || !strings.Contains(steps, "微信插件") || !strings.Contains(steps, mask.Phone(stu.Mobile)) {
		t.Errorf("the steps do not say how to log in and follow the plugin: %q", steps)
	}
	b.shot("welcome")
	mu.Lock()
	defer mu.Unlock()
	if len(enrolled) != 1 || enrolled[0] != stu.UserID {
		t.Errorf("enrolled %v, want %s once", enrolled, stu.UserID)
	}
}
