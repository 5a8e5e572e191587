package wecomsim

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wecomapp/wecomapp/internal/browsertest"
	"github.com/wecomapp/wecomapp/wecom"
)

func TestRenderMarkdown(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"heading", "# 标题", `<div class="md-h md-h1">标题</div>`},
		{"h6 and text", "###### 小\n正文", `<div class="md-h md-h6">小</div><div>正文</div>`},
		{"bold", "**待办** 3 项", `<div><strong>待办</strong> 3 项</div>`},
		{"link", "[查看](https://h5.example.edu.cn/todo?a=1&b=2)", `<div><a href="https://h5.example.edu.cn/todo?a=1&amp;b=2" target="_blank" rel="noopener">查看</a></div>`},
		{"code", "运行 `go test`", `<div>运行 <code>go test</code></div>`},
		{"quote", "> 引用", `<blockquote class="md-quote">引用</blockquote>`},
		{"font", `<font color="info">通过</font> <font color='warning'>注意</font>`, `<div><span class="md-info">通过</span> <span class="md-warning">注意</span></div>`},
		{"unclosed bold and font are closed", `**a <font color="comment">b`, `<div><strong>a <span class="md-comment">b</span></strong></div>`},
		{"crossed tags stay nested", `**a <font color="info">b** c</font>`, `<div><strong>a <span class="md-info">b</span></strong><span class="md-info"> c</span></div>`},
		{"empty line", "a\n\nb", `<div>a</div><div class="md-gap"></div><div>b</div>`},
		// Injection: HTML in the content is text, links must be http(s).
		{"script", "<script>alert(1)</script>", `<div>&lt;script&gt;alert(1)&lt;/script&gt;</div>`},
		{"javascript link", "[x](javascript:alert(1))", `<div>[x](javascript:alert(1))</div>`},
		{"data link", "[x](data:text/html,hi)", `<div>[x](data:text/html,hi)</div>`},
		{"quote in link", `[x](https://a.cn/"onmouseover="alert(1))`, `<div><a href="https://a.cn/%22onmouseover=%22alert%281" target="_blank" rel="noopener">x</a>)</div>`},
		{"font with extra attribute", `<font color="info" onclick="alert(1)">x</font>`, `<div>&lt;font color=&#34;info&#34; onclick=&#34;alert(1)&#34;&gt;x&lt;/font&gt;</div>`},
		{"font with unknown colour", `<font color="red">x</font>`, `<div>&lt;font color=&#34;red&#34;&gt;x&lt;/font&gt;</div>`},
		{"img", `<img src=x onerror=alert(1)>`, `<div>&lt;img src=x onerror=alert(1)&gt;</div>`},
		{"code keeps html as text", "`<b>`", `<div><code>&lt;b&gt;</code></div>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(renderMarkdown(tt.in)); got != tt.want {
				t.Errorf("renderMarkdown(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestRenderTextAndTextCard(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"text link", string(renderText(`请查看 <a href="https://h5.example.edu.cn/">大厅</a>` + "\n下一行")),
			`请查看 <a href="https://h5.example.edu.cn/" target="_blank" rel="noopener">大厅</a><br>下一行`},
		{"text javascript link", string(renderText(`<a href="javascript:alert(1)">x</a>`)), `x`},
		{"text markup", string(renderText(`<b onclick="x">hi</b>`)), `&lt;b onclick=&#34;x&#34;&gt;hi&lt;/b&gt;`},
		{"text link label escaped", string(renderText(`<a href="https://a.cn/"><img src=x></a>`)),
			`<a href="https://a.cn/" target="_blank" rel="noopener">&lt;img src=x&gt;</a>`},
		{"textcard divs", string(renderTextCardDescription(`<div class="gray">2025年3月3日</div> <div class="highlight">请尽快缴费</div>`)),
			`<div class="tc-gray">2025年3月3日</div><div class="tc-highlight">请尽快缴费</div>`},
		{"textcard other markup", string(renderTextCardDescription(`<div class="x" onclick=1>a</div><script>b</script>`)),
			`<div>&lt;div class=&#34;x&#34; onclick=1&gt;a&lt;/div&gt;&lt;script&gt;b&lt;/script&gt;</div>`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}

// phoneGet fetches a page; the jar keeps the phone cookie.
func phoneGet(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestPhoneInboxPage(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	want(t, e.send(app, textTo("lihua|s2023005", "<script>alert('x')</script>你好")), 0)
	want(t, e.send(app, obj{"touser": "lihua|s2023005", "msgtype": "markdown", "markdown": obj{"content": "**待办** <img src=x onerror=alert(1)>"}}), 0)
	want(t, e.send(app, cardTo("lihua|s2023005", buttonCard("page1"))), 0)
	recalled := e.send(app, textTo("lihua", "撤回我"))
	want(t, e.post("/cgi-bin/message/recall", app, obj{"msgid": recalled.str("msgid")}), 0)

	// The workbench tile the app set (workbench.go) shows above the feed.
	want(t, e.post("/cgi-bin/agent/set_workbench_template", app, obj{"agentid": 1000002, "type": "keydata",
		"keydata": obj{"items": []obj{{"key": "待办", "data": "3", "jump_url": "https://h5.example.edu.cn/todo"}}}}), 0)

	status, body := phoneGet(t, http.DefaultClient, e.srv.URL+"/phone/u/lihua")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d", status)
	}
	for _, s := range []string{
		`&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;你好`,
		`<strong>待办</strong> &lt;img src=x onerror=alert(1)&gt;`,
		`<div class="card-title">请假申请</div>`,
		`<button class="btn style1" name="key" value="approve">同意</button>`,
		`「一站式服务」撤回了一条消息`,
		`action="/phone/u/lihua/press"`,
		`/phone/assets/phone.css?v=`,
		`<span class="wb-data">3</span><span class="wb-label">待办</span>`,
		`<details class="workbench" open>`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("lihua's phone lacks %s", s)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Error("message content injected markup")
	}
	// The WeChat-plugin member sees text only.
	_, body = phoneGet(t, http.DefaultClient, e.srv.URL+"/phone/u/s2023005")
	if strings.Count(body, "not displayed in WeChat") != 2 || strings.Contains(body, "card-title") || strings.Contains(body, "<strong>待办") {
		t.Errorf("WeChat member's phone shows markdown or cards:\n%s", body)
	}
	if !strings.Contains(body, "你好") {
		t.Error("WeChat member's phone lacks the text")
	}
	// Unknown member: 404 page.
	if status, _ := phoneGet(t, http.DefaultClient, e.srv.URL+"/phone/u/nobody"); status != http.StatusNotFound {
		t.Errorf("unknown member: HTTP %d", status)
	}
	// The picker lists who can log in.
	_, body = phoneGet(t, http.DefaultClient, e.srv.URL+"/phone")
	if !strings.Contains(body, `href="/phone/u/lihua"`) || strings.Contains(body, `data-userid="zhouqiang"`) {
		t.Error("member picker")
	}
	// Assets are embedded.
	if status, css := phoneGet(t, http.DefaultClient, e.srv.URL+"/phone/assets/phone.css"); status != 200 || !strings.Contains(css, ".card") {
		t.Errorf("phone.css: HTTP %d", status)
	}
}

func TestPhoneUnderPrefix(t *testing.T) {
	// Mounted under /wecomsim, links carry the prefix (BaseURL).
	e := newEnv(t, func(o *Options) { o.BaseURL = "http://example.test/wecomsim/" })
	want(t, e.send(e.app(), cardTo("lihua", buttonCard("pfx"))), 0)
	_, body := phoneGet(t, http.DefaultClient, e.srv.URL+"/phone/u/lihua")
	for _, s := range []string{`action="http://example.test/wecomsim/phone/u/lihua/press"`, `href="http://example.test/wecomsim/phone/assets/phone.css?v=`} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %s", s)
		}
	}
}

func TestPhoneFormsAndOpenApp(t *testing.T) {
	e, rc := cardEnv(t, func(ev *wecom.Event) *wecom.Reply {
		switch ev.MsgType {
		case "text":
			return wecom.NewTextReply(ev.FromUserName, ev.ToUserName, ev.CreateTime, "您好，"+ev.Content)
		}
		if ev.Event == "template_card_event" {
			return wecom.NewButtonReply(ev.FromUserName, ev.ToUserName, ev.CreateTime, "已同意")
		}
		return nil
	})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	r := e.send(e.app(), cardTo("lihua", buttonCard("form1")))
	msgid := r.str("msgid")

	res, err := c.PostForm(e.srv.URL+"/phone/u/lihua/press", url.Values{"msgid": {msgid}, "key": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `<button type="button" class="btn replaced" disabled>已同意</button>`) || !strings.Contains(string(b), "应用回复 update_button") {
		t.Errorf("after the press the page lacks the replaced button:\n%s", b)
	}
	res, err = c.PostForm(e.srv.URL+"/phone/u/lihua/text", url.Values{"agentid": {"1000002"}, "content": {"查课表"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "您好，查课表") || !strings.Contains(string(b), "查课表") {
		t.Errorf("after sending a text the page lacks the reply")
	}

	// Open app: enter_agent, then OAuth as lihua to the app's HomeURL.
	res, err = noRedirectJar(jar).Get(e.srv.URL + "/phone/u/lihua/open/1000002")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/connect/oauth2/authorize?") || !strings.Contains(loc, "sim_userid=lihua") {
		t.Fatalf("open app: %d %s", res.StatusCode, loc)
	}
	res, err = noRedirectJar(jar).Get(e.srv.URL + loc)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	home := res.Header.Get("Location")
	if !strings.HasPrefix(home, rc.srv.URL+"/home/1000002?code=") {
		t.Fatalf("authorize went to %q", home)
	}
	id := e.get("/cgi-bin/auth/getuserinfo", e.app(), "code", mustQuery(t, home, "code"))
	if id.str("userid") != "lihua" {
		t.Errorf("getuserinfo = %v", id)
	}
	e.flush()
	var kinds []string
	for _, ev := range rc.got() {
		kinds = append(kinds, ev.Kind())
	}
	if strings.Join(kinds, ",") != "event.template_card_event,text,event.enter_agent" {
		t.Errorf("callbacks = %v", kinds)
	}
}

func noRedirectJar(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// screenshot saves a PNG of the page when WECOMSIM_SCREENSHOTS names a
// directory — for looking at the pages, not for asserting.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("WECOMSIM_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.WriteFile(dir+"/"+name+".png", png, 0o644)
}

func TestPhoneBrowserPressCard(t *testing.T) {
	e, rc := cardEnv(t, func(ev *wecom.Event) *wecom.Reply {
		if ev.Event != "template_card_event" {
			return nil
		}
		return wecom.NewButtonReply(ev.FromUserName, ev.ToUserName, ev.CreateTime, "已同意")
	})
	app := e.app()
	want(t, e.send(app, obj{"touser": "lihua", "msgtype": "markdown", "markdown": obj{
		"content": "# 今日待办\n**3** 项待审批 <font color=\"warning\">请尽快处理</font>\n> 来自一站式服务大厅\n[打开大厅](https://h5.example.edu.cn/)"}}), 0)
	r := e.send(app, cardTo("lihua", buttonCard("leave-b1")))
	want(t, r, 0)
	msgid := r.str("msgid")

	ctx := browsertest.New(t)
	card := "#m-" + msgid
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+"/phone"),
		chromedp.WaitVisible(`#q`),
		chromedp.SendKeys(`#q`, "李华"),
		chromedp.WaitNotVisible(`a[data-userid="zhangwei"]`),
		chromedp.Click(`a[data-userid="lihua"]`),
		chromedp.WaitVisible(card+` .card-title`),
	); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(card+` .card-title`))
	if err != nil || title != "请假申请" {
		t.Fatalf("card title %q, %v", title, err)
	}
	screenshot(t, ctx, "phone-inbox")
	// Nothing sticks out sideways on a 390 px wide phone.
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.documentElement.scrollWidth")); err != nil || w > 390 {
		t.Errorf("page is %d px wide on a 390 px screen (%v)", w, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(card+` button[value="approve"]`),
		chromedp.WaitVisible(card+` .btn.replaced`),
	); err != nil {
		t.Fatal(err)
	}
	label, err := chromedp.Run(ctx, chromedp.Text(card+` .btn.replaced`))
	if err != nil || label != "已同意" {
		t.Errorf("replaced button %q, %v", label, err)
	}
	screenshot(t, ctx, "phone-pressed")
	evs := rc.got()
	if len(evs) != 1 || evs[0].Event != "template_card_event" || evs[0].FromUserName != "lihua" || evs[0].EventKey != "approve" || evs[0].TaskID != "leave-b1" {
		t.Errorf("callbacks = %+v", evs)
	}
	// The markdown rendered, not as raw text.
	warn, err := chromedp.Run(ctx, chromedp.Text(`.markdown .md-warning`))
	if err != nil || warn != "请尽快处理" {
		t.Errorf("markdown font: %q, %v", warn, err)
	}
}

func TestOAuthPickerBrowser(t *testing.T) {
	// The app's landing page shows the code it received.
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<title>landing</title><p id="code">`+html.EscapeString(r.URL.Query().Get("code"))+
			`</p><p id="state">`+html.EscapeString(r.URL.Query().Get("state"))+`</p>`)
	}))
	t.Cleanup(landing.Close)
	e := newEnv(t, func(o *Options) { o.Apps[0].TrustedDomain = strings.TrimPrefix(landing.URL, "http://") })

	q := authQuery(landing.URL+"/landing", "state", "xyz789")
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.srv.URL+"/connect/oauth2/authorize?"+q.Encode()+"#wechat_redirect"),
		chromedp.WaitVisible(`#auth-title`),
		chromedp.SendKeys(`#q`, "王芳"),
		chromedp.WaitNotVisible(`a[data-userid="lihua"]`),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "oauth-picker")
	if err := chromedp.Do(ctx,
		chromedp.Click(`a[data-userid="wangfang"]`),
		chromedp.WaitVisible(`#code`),
	); err != nil {
		t.Fatal(err)
	}
	code, err := chromedp.Run(ctx, chromedp.Text(`#code`))
	if err != nil || code == "" {
		t.Fatalf("landing code %q, %v", code, err)
	}
	state, _ := chromedp.Run(ctx, chromedp.Text(`#state`))
	if state != "xyz789" {
		t.Errorf("state %q", state)
	}
	r := e.get("/cgi-bin/auth/getuserinfo", e.app(), "code", code)
	want(t, r, 0)
	if r.str("userid") != "wangfang" {
		t.Errorf("getuserinfo = %v", r)
	}

	// A visitor who is no member.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/connect/oauth2/authorize?"+q.Encode()),
		chromedp.WaitVisible(`#openid`),
		chromedp.Clear(`#openid`),
		chromedp.SendKeys(`#openid`, "oGuest7"),
		chromedp.Click(`#as-visitor`),
		chromedp.WaitVisible(`#code`),
	); err != nil {
		t.Fatal(err)
	}
	code, _ = chromedp.Run(ctx, chromedp.Text(`#code`))
	if r := e.get("/cgi-bin/auth/getuserinfo", e.app(), "code", code); r.str("openid") != "oGuest7" {
		t.Errorf("visitor = %v", r)
	}
}
