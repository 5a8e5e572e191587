package browsertest_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/orgsync"
)

// TestJourneyConsoleNoticeToATag: the information center's head, on a PC,
// opens 消息群发, picks the 校领导 tag (the count follows), writes a
// notice and sends it; the report shows it delivered to every leader. A
// leader opens the app on their phone: the message center's tile has a
// badge; they open 消息中心, read the notice, and it is no longer unread.
func TestJourneyConsoleNoticeToATag(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	for _, tr := range e.Uni.TagRules() {
		if tr.Name == "校领导" {
			if err := e.Mirror.PutTagRule(ctx, nil, tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	st, err := e.Mirror.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tag int64
	var leaders []string
	for _, tg := range st.Tags {
		if tg.Name == "校领导" {
			tag, leaders = tg.ID, tg.Users
		}
	}
	if len(leaders) == 0 {
		t.Fatal("no 校领导 tag after the sync")
	}

	ab := newTab(t, "admin").desktop()
	ab.open(e.URL + "/login")
	ab.click("[data-testid=login-cas]")
	ab.click(fmt.Sprintf(`a.person[data-id=%q]`, e.SuperAdmin))
	ab.open(e.URL + "/admin/")
	ab.click(`[data-testid=admin-nav] a[href="/admin/messages"]`)
	if !ab.has("[data-testid=compose]") {
		ab.fatalf("消息群发 shows %s: %q", ab.location(), ab.text("main"))
	}
	if err := ab.setValue("[data-testid=to-tags]", strconv.FormatInt(tag, 10)); err != nil {
		ab.fatalf("pick the tag: %v", err)
	}
	// The live count (static/messages.js) answers the pick.
	if err := chromedp.Do(ab.ctx, chromedp.WaitVisible(`[data-testid=live-count]`)); err != nil {
		ab.fatalf("the live count never showed: %v", err)
	}
	if got := ab.text("[data-testid=live-count-n]"); got != strconv.Itoa(len(leaders)) {
		t.Errorf("the live count says %q, the tag has %d members", got, len(leaders))
	}
	ab.shot("compose-counted")
	if err := ab.setValue(`textarea[name=content]`, "本周五下午三点在行政楼第一会议室召开校务会，请准时参加。"); err != nil {
		ab.fatalf("write the notice: %v", err)
	}
	ab.click("[data-testid=do-send]")
	if p := ab.location().Path; !strings.HasPrefix(p, "/admin/messages/") {
		ab.fatalf("sending led to %s: %q", p, ab.text("main"))
	}
	if !strings.Contains(ab.text("[data-testid=flash]"), "已提交") {
		t.Errorf("sending shows no confirmation: %q", ab.text("main"))
	}
	report := ab.location().String()
	e.DrainNotify(t)
	ab.open(report)
	if got := ab.text("[data-testid=count-delivered]"); got != strconv.Itoa(len(leaders)) {
		t.Errorf("the report says %q delivered, want %d", got, len(leaders))
	}
	ab.shot("report")

	mb := newTab(t, "leader")
	mb.openFromPhone(e, leaders[0])
	wb := mb.workbench()
	if !wb.hasTile("messages") {
		mb.fatalf("the leader's workbench has no message center tile: %v", wb.modules())
	}
	if got := mb.text(`[data-testid=home] [data-testid=tile][data-module=messages] [data-testid=badge]`); got != "1" {
		t.Errorf("the message center tile's badge reads %q, want 1", got)
	}
	mb.shot("workbench-badge")
	mb.click(`[data-testid=home] [data-testid=tile][data-module=messages]`)
	if p := mb.location().Path; p != "/app/messages" {
		mb.fatalf("the tile opened %s", p)
	}
	if got := mb.text("[data-testid=unread-count]"); got != "1" {
		t.Errorf("消息中心 says %q unread, want 1", got)
	}
	if from := mb.text("[data-testid=message] [data-testid=message-from]"); from != "管理员通知" {
		t.Errorf("the notice comes from %q, want 管理员通知", from)
	}
	mb.shot("message-center")
	mb.click("[data-testid=message]")
	if body := mb.text("[data-testid=msg-content]"); !strings.Contains(body, "行政楼第一会议室召开校务会") {
		t.Errorf("the notice reads %q", body)
	}
	mb.shot("message")
	mb.click("[data-testid=back]")
	if got := mb.text("[data-testid=unread-count]"); got != "0" || mb.has("[data-testid=unread]") {
		t.Errorf("after reading: %q unread", got)
	}
}
