package handler_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/notify"
)

// The H5 message center: a person's notices from every system, each in
// full, read tracking, the tile's badge, and nobody else's notices.

func submitNotice(t *testing.T, e *apptest.Env, producer, msgtype, body string, to ...string) int64 {
	t.Helper()
	rc, err := e.Notify.Submit(context.Background(), notify.Message{Producer: producer, Lane: notify.LaneReminder,
		To: notify.Recipients{UserIDs: to}, Content: notify.Content{MsgType: msgtype, Body: json.RawMessage(body)}})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return rc.ID
}

func idPath(prefix string, id int64) string { return prefix + strconv.FormatInt(id, 10) }

// messagesTile is the message center's tile on a workbench page.
func messagesTile(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, `data-module="messages"`)
	if i < 0 {
		t.Fatal("the workbench has no message center tile")
	}
	j := strings.Index(page[i:], "</a>")
	return page[i : i+j]
}

var badgeNumber = regexp.MustCompile(`data-testid="badge">(\d+)<`)

func tileBadge(t *testing.T, e *apptest.Env, c *http.Client) int {
	t.Helper()
	tile := messagesTile(t, body(t, apptest.Get(t, c, e.URL+"/app/", apptest.UserAgentWeCom)))
	m := badgeNumber.FindStringSubmatch(tile)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestMessageCenterShowsOwnNotices(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	// A counselor's workbench has the message center's tile.
	st := e.Person(t, counselor)
	other := e.Person(t, undergraduate)
	md := `{"content":"# 奖学金评定结果公示\n**请确认**名单，<font color=\"warning\">12 月 5 日截止</font>\n[查看名单](https://xg.example.edu.cn/list)\n[坏链接](javascript:alert(1))\n<script>alert(1)</script>\n> 学生工作部\n\n<font color=\"red\">不支持的颜色</font> **未闭合\n` + "```" + `\n<b>代码</b>\n` + "```" + `"}`
	scholarship := submitNotice(t, e, "api:xg", notify.MsgMarkdown, md, st.UserID)
	holiday := submitNotice(t, e, "console", notify.MsgText, `{"content":"元旦放假安排\n1 月 1 日至 3 日放假。"}`, st.UserID, other.UserID)
	secret := submitNotice(t, e, "api:oa", notify.MsgText, `{"content":"只给那位同学的通知"}`, other.UserID)
	e.DrainNotify(t)

	c := e.Browser(t)
	e.SignIn(t, c, st.UserID, "")
	if n := tileBadge(t, e, c); n != 2 {
		t.Errorf("the message center tile's badge: %d, want 2 unread", n)
	}
	page := body(t, apptest.Get(t, c, e.URL+"/app/messages", apptest.UserAgentWeCom))
	if got := numbers(page)["unread-count"]; got != 2 {
		t.Errorf("unread count %d, want 2", got)
	}
	if strings.Count(page, `data-testid="message"`) != 2 || strings.Count(page, `data-testid="unread"`) != 2 {
		t.Errorf("want both notices, both unread:\n%s", page)
	}
	if strings.Contains(page, "只给那位同学的通知") {
		t.Error("someone else's notice is listed")
	}
	// Newest first, titled from the content, named by source.
	if a, b := strings.Index(page, "元旦放假安排"), strings.Index(page, "奖学金评定结果公示"); a < 0 || b < 0 || a > b {
		t.Errorf("order or titles wrong (holiday at %d, scholarship at %d)", a, b)
	}
	for _, s := range []string{`data-source="api:xg">学工系统<`, `data-source="console">管理员通知<`} {
		if !strings.Contains(page, s) {
			t.Errorf("source filter lacks %s", s)
		}
	}
	filtered := body(t, apptest.Get(t, c, e.URL+"/app/messages?source=api%3Axg", apptest.UserAgentWeCom))
	if strings.Count(filtered, `data-testid="message"`) != 1 || !strings.Contains(filtered, "奖学金评定结果公示") {
		t.Errorf("filtered by 学工系统:\n%s", filtered)
	}

	// The markdown in full: WeCom's subset rendered, everything else text.
	full := body(t, apptest.Get(t, c, e.URL+idPath("/app/messages/", scholarship), apptest.UserAgentWeCom))
	for _, s := range []string{`role="heading" aria-level="1">奖学金评定结果公示<`, `<b>请确认</b>`, `<span class="font_warning">12 月 5 日截止</span>`,
		`<a href="https://xg.example.edu.cn/list" rel="noopener">查看名单</a>`, `<blockquote class="msg__quote">学生工作部</blockquote>`, `&lt;script&gt;alert(1)&lt;/script&gt;`,
		`&lt;font color=&#34;red&#34;&gt;不支持的颜色&lt;/font&gt; **未闭合`, `<pre class="msg__code"><code>&lt;b&gt;代码&lt;/b&gt;</code></pre>`} {
		if !strings.Contains(full, s) {
			t.Errorf("the notice lacks %s", s)
		}
	}
	if strings.Contains(full, "<script>alert") || strings.Contains(full, "javascript:") {
		t.Errorf("unsafe markup reached the page:\n%s", full)
	}
	// Opening it read it.
	page = body(t, apptest.Get(t, c, e.URL+"/app/messages", apptest.UserAgentWeCom))
	if got := numbers(page)["unread-count"]; got != 1 {
		t.Errorf("after reading one: unread %d, want 1", got)
	}
	if n := tileBadge(t, e, c); n != 1 {
		t.Errorf("after reading one: badge %d, want 1", n)
	}
	if n, _ := e.DB.OutboxReadCount(ctx, scholarship); n != 1 {
		t.Errorf("read count of the opened notice: %d", n)
	}
	if n, _ := e.DB.OutboxReadCount(ctx, holiday); n != 0 {
		t.Errorf("read count of the unopened notice: %d", n)
	}

	// Someone else's notice, by id: not found, and not marked read.
	for _, p := range []string{idPath("/app/messages/", secret), "/app/messages/999999", "/app/messages/x"} {
		resp := apptest.Get(t, c, e.URL+p, apptest.UserAgentWeCom)
		if b := body(t, resp); resp.StatusCode != http.StatusNotFound || strings.Contains(b, "只给那位同学的通知") {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if n, _ := e.DB.OutboxReadCount(ctx, secret); n != 0 {
		t.Errorf("another person's notice got read by a guess")
	}
}

// A WeChat-plugin member cannot see markdown or template cards: the
// textcard they get links to the message center, which shows it in full.
func TestPluginMemberTextcardOpensTheFullNotice(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	st := e.Person(t, func(p *demo.Person) bool { return undergraduate(p) && p.UserID != e.SuperAdmin })
	c := e.Browser(t)
	e.SignIn(t, c, st.UserID, apptest.UserAgentWeChat) // the plugin is the person's latest client
	card := `{"card_type":"text_notice","source":{"desc":"学工系统"},"main_title":{"title":"请假审批结果","desc":"已批准"},` +
		`"emphasis_content":{"title":"2","desc":"天"},"sub_title_text":"请按时返校",` +
		`"horizontal_content_list":[{"keyname":"审批人","value":"李老师"},{"type":1,"keyname":"详情","value":"打开","url":"https://xg.example.edu.cn/leave/7"}],` +
		`"jump_list":[{"type":1,"title":"查看假条","url":"https://xg.example.edu.cn/leave/7/pdf"}],"card_action":{"type":1,"url":"https://xg.example.edu.cn/leave/7"}}`
	id := submitNotice(t, e, "api:xg", notify.MsgTemplateCard, card, st.UserID)
	e.DrainNotify(t)

	inbox := e.Sim.Inbox(st.UserID)
	var link string
	for _, it := range inbox {
		if it.MsgType == "textcard" {
			var tc struct{ Title, URL string }
			_ = json.Unmarshal(it.Body, &tc)
			if tc.Title == "请假审批结果" {
				link = tc.URL
			}
		}
	}
	if want := e.URL + idPath("/app/messages/", id); link != want {
		t.Fatalf("the plugin member's textcard links %q, want %q (inbox %+v)", link, want, inbox)
	}
	full := body(t, apptest.Get(t, c, link, apptest.UserAgentWeChat))
	for _, s := range []string{`data-testid="msg-card-title">请假审批结果<`, "已批准", "<b>2</b>", "请按时返校", "<dt>审批人</dt><dd>李老师</dd>",
		`<a href="https://xg.example.edu.cn/leave/7" rel="noopener">打开</a>`, `data-testid="msg-jump">查看假条<`, `data-testid="msg-action"`} {
		if !strings.Contains(full, s) {
			t.Errorf("the full notice lacks %s", s)
		}
	}
}
