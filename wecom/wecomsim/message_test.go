package wecomsim

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
)

// appRcv is an app's callback receiver, built on wecom's own crypto: it
// opens and parses every callback, records it, and answers with the
// passive reply reply(ev) returns (nil: "success"). delay(n) holds the n-th
// request (1-based) before answering.
type appRcv struct {
	t      *testing.T
	srv    *httptest.Server
	crypt  *wecom.Crypter
	mu     sync.Mutex
	events []*wecom.Event
	hits   int
	reply  func(ev *wecom.Event) *wecom.Reply
	delay  func(n int) time.Duration
}

func newAppRcv(t *testing.T, reply func(ev *wecom.Event) *wecom.Reply) *appRcv {
	t.Helper()
	c, err := wecom.NewCrypter(testToken, testAESKey, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	rc := &appRcv{t: t, crypt: c, reply: reply}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *appRcv) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/callback" {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	q := r.URL.RawQuery
	ts, nonce := wecom.QueryValue(q, "timestamp"), wecom.QueryValue(q, "nonce")
	msg, err := rc.crypt.Open(wecom.QueryValue(q, "msg_signature"), ts, nonce, body)
	if err != nil {
		rc.t.Errorf("open callback: %v", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	ev, err := wecom.ParseEvent(msg)
	if err != nil {
		rc.t.Errorf("parse callback: %v", err)
		return
	}
	rc.mu.Lock()
	rc.hits++
	n := rc.hits
	rc.events = append(rc.events, ev)
	rc.mu.Unlock()
	if rc.delay != nil {
		if d := rc.delay(n); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
	var rep *wecom.Reply
	if rc.reply != nil {
		rep = rc.reply(ev)
	}
	if rep == nil {
		_, _ = io.WriteString(w, "success")
		return
	}
	out, err := rc.crypt.Reply(rep.XML(), ts, nonce)
	if err != nil {
		rc.t.Errorf("seal reply: %v", err)
		return
	}
	_, _ = w.Write(out)
}

func (rc *appRcv) got() []*wecom.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*wecom.Event(nil), rc.events...)
}

// withAppCallbacks points both test apps' callbacks at rc (ReportEnter
// on, a trusted domain and a homepage on the receiver).
func withAppCallbacks(rc *appRcv) func(*Options) {
	return func(o *Options) {
		host := strings.TrimPrefix(rc.srv.URL, "http://")
		for i := range o.Apps {
			a := &o.Apps[i]
			a.CallbackURL = rc.srv.URL + "/callback"
			a.Token, a.EncodingAESKey = testToken, testAESKey
			a.ReportEnter = true
			a.TrustedDomain = host
			a.HomeURL = rc.srv.URL + "/home/" + itoa(a.AgentID)
		}
	}
}

// send calls message/send as app 1000002 (unless body names another
// agentid).
func (e *env) send(token string, body obj) resp {
	e.t.Helper()
	if _, ok := body["agentid"]; !ok {
		body["agentid"] = 1000002
	}
	return e.post("/cgi-bin/message/send", token, body)
}

func textTo(to, content string) obj {
	return obj{"touser": to, "msgtype": "text", "text": obj{"content": content}}
}

func buttonCard(task string) obj {
	return obj{
		"card_type":  "button_interaction",
		"source":     obj{"desc": "一站式服务大厅", "desc_color": 1},
		"main_title": obj{"title": "请假申请", "desc": "学生1 · 3月4日"},
		"task_id":    task,
		"horizontal_content_list": []obj{
			{"keyname": "申请人", "value": "学生1"},
			{"keyname": "事由", "value": "病假"},
		},
		"button_list": []obj{
			{"text": "同意", "style": 1, "key": "approve"},
			{"text": "驳回", "style": 2, "key": "reject"},
		},
	}
}

func cardTo(to string, card obj) obj {
	return obj{"touser": to, "msgtype": "template_card", "template_card": card}
}

// modCard returns buttonCard(task) changed by f.
func modCard(task string, f func(c obj)) obj {
	c := buttonCard(task)
	f(c)
	return c
}

func TestMessageSendErrors(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	many := func(n int, f func(i int) string) string {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, f(i))
		}
		return strings.Join(parts, "|")
	}
	vote := func(opts int) obj {
		var list []obj
		for i := 0; i < opts; i++ {
			list = append(list, obj{"id": "o" + itoa(int64(i)), "text": "选项"})
		}
		return obj{"card_type": "vote_interaction", "task_id": "v1", "main_title": obj{"title": "投票"},
			"checkbox":      obj{"question_key": "q", "option_list": list, "mode": 1},
			"submit_button": obj{"text": "提交", "key": "submit"}}
	}
	notice := func(f func(c obj)) obj {
		c := obj{"card_type": "text_notice", "main_title": obj{"title": "通知"}, "card_action": obj{"type": 1, "url": "https://h5.example.edu.cn/"}}
		if f != nil {
			f(c)
		}
		return c
	}
	tests := []struct {
		name  string
		token string // "" = the hall app
		body  obj
		code  int
	}{
		{"contacts-sync token cannot send", e.contacts(), textTo("lihua", "x"), 48002},
		{"agentid missing", "", obj{"agentid": nil, "touser": "lihua", "msgtype": "text", "text": obj{"content": "x"}}, 41011},
		{"agentid unknown", "", obj{"agentid": 999, "touser": "lihua", "msgtype": "text", "text": obj{"content": "x"}}, 40056},
		{"agentid of another app", "", obj{"agentid": 1000003, "touser": "lihua", "msgtype": "text", "text": obj{"content": "x"}}, 301002},
		{"unknown msgtype", "", obj{"touser": "lihua", "msgtype": "sticker", "sticker": obj{}}, 40008},
		{"no recipients", "", obj{"msgtype": "text", "text": obj{"content": "x"}}, 82001},
		{"1001 users", "", textTo(many(1001, func(i int) string { return "u" + itoa(int64(i)) }), "x"), 40032},
		{"101 parties", "", obj{"toparty": many(101, func(i int) string { return itoa(int64(i + 1)) }), "msgtype": "text", "text": obj{"content": "x"}}, 82002},
		{"101 tags", "", obj{"totag": many(101, func(i int) string { return itoa(int64(i + 1)) }), "msgtype": "text", "text": obj{"content": "x"}}, 82003},
		{"empty text", "", textTo("lihua", ""), 44004},
		{"no text object", "", obj{"touser": "lihua", "msgtype": "text"}, 44004},
		{"safe news", "", obj{"touser": "lihua", "msgtype": "news", "safe": 1, "news": obj{"articles": []obj{{"title": "t", "url": "https://a.cn/"}}}}, 40074},
		{"textcard without title", "", obj{"touser": "lihua", "msgtype": "textcard", "textcard": obj{"description": "d", "url": "https://a.cn/"}}, 41016},
		{"textcard without description", "", obj{"touser": "lihua", "msgtype": "textcard", "textcard": obj{"title": "t", "url": "https://a.cn/"}}, 41033},
		{"textcard without url", "", obj{"touser": "lihua", "msgtype": "textcard", "textcard": obj{"title": "t", "description": "d"}}, 41010},
		{"textcard url without scheme", "", obj{"touser": "lihua", "msgtype": "textcard", "textcard": obj{"title": "t", "description": "d", "url": "a.cn/x"}}, 45034},
		{"news without articles", "", obj{"touser": "lihua", "msgtype": "news", "news": obj{"articles": []obj{}}}, 40058},
		{"news with 9 articles", "", obj{"touser": "lihua", "msgtype": "news", "news": obj{"articles": func() []obj {
			var a []obj
			for i := 0; i < 9; i++ {
				a = append(a, obj{"title": "t", "url": "https://a.cn/"})
			}
			return a
		}()}}, 45008},
		{"news article without title", "", obj{"touser": "lihua", "msgtype": "news", "news": obj{"articles": []obj{{"url": "https://a.cn/"}}}}, 41016},
		{"markdown over 2048 bytes", "", obj{"touser": "lihua", "msgtype": "markdown", "markdown": obj{"content": strings.Repeat("字", 683)}}, 45002},
		{"image without media_id", "", obj{"touser": "lihua", "msgtype": "image", "image": obj{}}, 41006},
		{"image with unknown media_id", "", obj{"touser": "lihua", "msgtype": "image", "image": obj{"media_id": "nope"}}, 40007},
		{"card type unknown", "", cardTo("lihua", obj{"card_type": "poster"}), 42031},
		{"button card without task_id", "", cardTo("lihua", modCard("", func(c obj) { delete(c, "task_id") })), 42014},
		{"task_id with bad characters", "", cardTo("lihua", buttonCard("请假#1")), 42014},
		{"button without key", "", cardTo("lihua", modCard("t1", func(c obj) { c["button_list"] = []obj{{"text": "同意"}} })), 42039},
		{"repeated button key", "", cardTo("lihua", modCard("t1", func(c obj) {
			c["button_list"] = []obj{{"text": "同意", "key": "k"}, {"text": "也同意", "key": "k"}}
		})), 42039},
		{"button without text", "", cardTo("lihua", modCard("t1", func(c obj) { c["button_list"] = []obj{{"key": "k"}} })), 42038},
		{"seven buttons", "", cardTo("lihua", modCard("t1", func(c obj) {
			var b []obj
			for i := 0; i < 7; i++ {
				b = append(b, obj{"text": "b", "key": "k" + itoa(int64(i))})
			}
			c["button_list"] = b
		})), 40058},
		{"seven horizontal rows", "", cardTo("lihua", modCard("t1", func(c obj) {
			var h []obj
			for i := 0; i < 7; i++ {
				h = append(h, obj{"keyname": "k", "value": "v"})
			}
			c["horizontal_content_list"] = h
		})), 42035},
		{"horizontal row without keyname", "", cardTo("lihua", modCard("t1", func(c obj) { c["horizontal_content_list"] = []obj{{"value": "v"}} })), 42027},
		{"horizontal url row without url", "", cardTo("lihua", modCard("t1", func(c obj) { c["horizontal_content_list"] = []obj{{"keyname": "k", "type": 1}} })), 42028},
		{"horizontal member row with unknown member", "", cardTo("lihua", modCard("t1", func(c obj) {
			c["horizontal_content_list"] = []obj{{"keyname": "k", "type": 3, "userid": "nobody"}}
		})), 42050},
		{"four jumps", "", cardTo("lihua", notice(func(c obj) {
			c["jump_list"] = []obj{{"title": "a"}, {"title": "b"}, {"title": "c"}, {"title": "d"}}
		})), 42042},
		{"jump without title", "", cardTo("lihua", notice(func(c obj) { c["jump_list"] = []obj{{"type": 1, "url": "https://a.cn/"}} })), 42033},
		{"undocumented top-level key", "", obj{"touser": "lihua", "msgtype": "text", "text": obj{"content": "x"}, "to_party": "2"}, 40058},
		{"body of another msgtype", "", obj{"touser": "lihua", "msgtype": "text", "text": obj{"content": "x"}, "markdown": obj{"content": "x"}}, 40058},
		{"misspelt text key", "", obj{"touser": "lihua", "msgtype": "text", "text": obj{"content": "x", "contnet": "y"}}, 40058},
		{"key of the wrong case", "", obj{"touser": "lihua", "msgtype": "textcard", "textcard": obj{"Title": "t", "description": "d", "url": "https://a.cn/"}}, 40058},
		{"title on an image", "", obj{"touser": "lihua", "msgtype": "image", "image": obj{"media_id": "x", "title": "t"}}, 40058},
		{"jump_list on a button card", "", cardTo("lihua", modCard("t1", func(c obj) { c["jump_list"] = []obj{{"type": 1, "title": "a", "url": "https://a.cn/"}} })), 40058},
		{"replace_text on a sent card", "", cardTo("lihua", modCard("t1", func(c obj) { c["replace_text"] = "已处理" })), 40058},
		{"is_checked on a drop-down option", "", cardTo("lihua", modCard("t1", func(c obj) {
			c["button_selection"] = obj{"question_key": "q", "option_list": []obj{{"id": "1", "text": "x", "is_checked": true}}}
		})), 40058},
		{"misspelt nested card key", "", cardTo("lihua", modCard("t1", func(c obj) { c["main_title"] = obj{"titel": "请假申请"} })), 40058},
		{"misspelt key in a list", "", cardTo("lihua", modCard("t1", func(c obj) {
			c["button_list"] = []obj{{"text": "同意", "key": "approve"}, {"text": "驳回", "stlye": 2, "key": "reject"}}
		})), 40058},
		{"text_notice without card_action", "", cardTo("lihua", notice(func(c obj) { delete(c, "card_action") })), 42045},
		{"text_notice without title", "", cardTo("lihua", notice(func(c obj) { delete(c, "main_title") })), 40058},
		{"news_notice without image", "", cardTo("lihua", obj{"card_type": "news_notice", "main_title": obj{"title": "t"},
			"card_action": obj{"type": 1, "url": "https://a.cn/"}}), 42044},
		{"menu without task_id", "", cardTo("lihua", notice(func(c obj) {
			c["action_menu"] = obj{"desc": "d", "action_list": []obj{{"text": "a", "key": "a"}}}
		})), 42014},
		{"repeated menu key", "", cardTo("lihua", notice(func(c obj) {
			c["task_id"] = "m1"
			c["action_menu"] = obj{"desc": "d", "action_list": []obj{{"text": "a", "key": "a"}, {"text": "b", "key": "a"}}}
		})), 42051},
		{"vote with 21 options", "", cardTo("lihua", vote(21)), 42037},
		{"vote without submit key", "", cardTo("lihua", func() obj { c := vote(2); c["submit_button"] = obj{"text": "提交"}; return c }()), 42046},
		{"vote without submit text", "", cardTo("lihua", func() obj { c := vote(2); c["submit_button"] = obj{"key": "s"}; return c }()), 42049},
		{"multiple with 4 questions", "", cardTo("lihua", obj{"card_type": "multiple_interaction", "task_id": "m1",
			"select_list": []obj{
				{"question_key": "a", "option_list": []obj{{"id": "1", "text": "x"}}},
				{"question_key": "b", "option_list": []obj{{"id": "1", "text": "x"}}},
				{"question_key": "c", "option_list": []obj{{"id": "1", "text": "x"}}},
				{"question_key": "d", "option_list": []obj{{"id": "1", "text": "x"}}},
			},
			"submit_button": obj{"text": "提交", "key": "s"}}), 42047},
		{"option without id", "", cardTo("lihua", func() obj {
			c := vote(1)
			c["checkbox"].(obj)["option_list"] = []obj{{"text": "x"}}
			return c
		}()), 42040},
		{"selection without question_key", "", cardTo("lihua", modCard("t1", func(c obj) {
			c["button_selection"] = obj{"option_list": []obj{{"id": "1", "text": "x"}}}
		})), 42043},
		{"every recipient invalid", "", obj{"touser": "nobody|zhouqiang", "toparty": "999", "totag": "77", "msgtype": "text", "text": obj{"content": "x"}}, 81013},
		{"duplicate_check_interval over 4 h", "", obj{"touser": "lihua", "msgtype": "text", "text": obj{"content": "x"},
			"enable_duplicate_check": 1, "duplicate_check_interval": 14401}, 40058},
		{"malformed JSON", "", nil, 40058},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token
			if tok == "" {
				tok = app
			}
			var r resp
			if tt.body == nil {
				r = e.post("/cgi-bin/message/send", tok, `{"touser":`)
			} else {
				if v, ok := tt.body["agentid"]; ok && v == nil {
					delete(tt.body, "agentid")
					r = e.post("/cgi-bin/message/send", tok, tt.body)
				} else {
					r = e.send(tok, tt.body)
				}
			}
			want(t, r, tt.code)
			if r.str("msgid") != "" {
				t.Errorf("failed send answered a msgid: %v", r)
			}
		})
	}
	if n := len(e.sim.Inbox("lihua")); n != 0 {
		t.Errorf("failed sends delivered %d messages to lihua", n)
	}
}

func TestMessageSendRecipients(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	// zhouqiang is disabled; class 8 has ten students; tag 1 is wangfang.
	r := e.send(app, obj{"touser": "lihua|Nobody|zhouqiang|lihua", "toparty": "8|999|abc", "totag": "1|77",
		"msgtype": "text", "text": obj{"content": "开学通知"}})
	want(t, r, 0)
	if r.str("msgid") == "" {
		t.Fatal("no msgid")
	}
	got := map[string]string{"invaliduser": r.str("invaliduser"), "invalidparty": r.str("invalidparty"), "invalidtag": r.str("invalidtag")}
	wantInvalid := map[string]string{"invaliduser": "nobody|zhouqiang", "invalidparty": "999|abc", "invalidtag": "77"}
	if d := cmp.Diff(wantInvalid, got); d != "" {
		t.Errorf("invalid lists (-want +got):\n%s", d)
	}
	for _, u := range []string{"lihua", "wangfang", "s2023001", "s2023010", "s2023005"} {
		items := e.sim.Inbox(u)
		if len(items) != 1 || items[0].MsgID != r.str("msgid") || items[0].MsgType != "text" || !items[0].Visible() {
			t.Errorf("%s inbox = %+v", u, items)
		}
	}
	for _, u := range []string{"zhouqiang", "zhangwei"} {
		if n := len(e.sim.Inbox(u)); n != 0 {
			t.Errorf("%s got %d messages", u, n)
		}
	}

	// The counselor app sees department 4 (with class 8), zhaolei and tag 1.
	c := e.counselor()
	r = e.send(c, obj{"agentid": 1000003, "touser": "lihua|zhaolei", "msgtype": "text", "text": obj{"content": "x"}})
	want(t, r, 0)
	if r.str("invaliduser") != "lihua" {
		t.Errorf("outside the visible range: invaliduser %q, want lihua", r.str("invaliduser"))
	}
	want(t, e.send(c, obj{"agentid": 1000003, "touser": "lihua", "toparty": "5", "msgtype": "text", "text": obj{"content": "x"}}), 81013)

	// @all is the visible range; toparty and totag are then ignored.
	before := map[string]int{}
	for _, u := range []string{"liuyang", "wangfang", "zhaolei", "s2023003", "lihua", "zhangwei"} {
		before[u] = len(e.sim.Inbox(u))
	}
	r = e.send(c, obj{"agentid": 1000003, "touser": "@all", "toparty": "999", "msgtype": "text", "text": obj{"content": "全体"}})
	want(t, r, 0)
	if r.str("invalidparty") != "" {
		t.Errorf("@all: toparty not ignored: %v", r)
	}
	for u, n := range before {
		inRange := u != "lihua" && u != "zhangwei"
		if got := len(e.sim.Inbox(u)) - n; (got == 1) != inRange {
			t.Errorf("@all: %s got %d, in range %v", u, got, inRange)
		}
	}
}

func TestMessageBodies(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	long := strings.Repeat("字", 700) // 2,100 bytes
	r := e.send(app, textTo("lihua", long))
	want(t, r, 0)
	it, _ := e.sim.InboxItemByMsgID("lihua", r.str("msgid"))
	var b wecom.Text
	mustUnmarshal(t, it.Body, &b)
	if len(b.Content) != 2046 || b.Content != strings.Repeat("字", 682) {
		t.Errorf("text over 2048 bytes: kept %d bytes, want the first 682 characters", len(b.Content))
	}

	r = e.send(app, obj{"touser": "lihua", "msgtype": "textcard", "textcard": obj{"title": strings.Repeat("t", 200),
		"description": "<div class=\"gray\">2025年3月3日</div>", "url": "https://h5.example.edu.cn/pay", "btntxt": "去缴费吧朋友"}})
	want(t, r, 0)
	it, _ = e.sim.InboxItemByMsgID("lihua", r.str("msgid"))
	var tc textCardBody
	mustUnmarshal(t, it.Body, &tc)
	if len(tc.Title) != 128 || tc.BtnTxt != "去缴费吧" {
		t.Errorf("textcard truncation: title %d bytes, btntxt %q", len(tc.Title), tc.BtnTxt)
	}

	// Media messages carry an uploaded media_id of the right type.
	up := e.upload(app, "image", "media", []byte("\x89PNG fake image"))
	want(t, up, 0)
	want(t, e.send(app, obj{"touser": "lihua", "msgtype": "image", "image": obj{"media_id": up.str("media_id")}}), 0)
	want(t, e.send(app, obj{"touser": "lihua", "msgtype": "voice", "voice": obj{"media_id": up.str("media_id")}}), 40007)
	want(t, e.send(app, obj{"touser": "lihua", "msgtype": "file", "file": obj{"media_id": up.str("media_id")}}), 0)
	want(t, e.send(app, obj{"touser": "lihua", "msgtype": "mpnews", "mpnews": obj{"articles": []obj{
		{"title": "校报", "thumb_media_id": up.str("media_id"), "content": "<p>正文</p>", "author": "宣传部"}}}}), 0)
	want(t, e.send(app, obj{"touser": "lihua", "msgtype": "news", "news": obj{"articles": []obj{
		{"title": "小程序", "appid": "wx123", "pagepath": "pages/index"}}}}), 0)
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
}

func TestMessageDuplicateCheck(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	body := obj{"touser": "lihua", "msgtype": "text", "text": obj{"content": "只发一次"}, "enable_duplicate_check": 1, "duplicate_check_interval": 600}
	first := e.send(app, body)
	want(t, first, 0)
	again := e.send(app, body)
	want(t, again, 0)
	if again.str("msgid") != first.str("msgid") {
		t.Errorf("duplicate answered msgid %q, want the first %q", again.str("msgid"), first.str("msgid"))
	}
	if n := len(e.sim.Inbox("lihua")); n != 1 {
		t.Fatalf("duplicate delivered: %d messages", n)
	}
	// A different request is no duplicate.
	want(t, e.send(app, obj{"touser": "lihua", "msgtype": "text", "text": obj{"content": "只发一次!"}, "enable_duplicate_check": 1, "duplicate_check_interval": 600}), 0)
	// After the interval the same request goes out again.
	e.sim.Advance(10 * time.Minute)
	later := e.send(app, body)
	want(t, later, 0)
	if later.str("msgid") == first.str("msgid") {
		t.Error("after the interval: same msgid, want a new message")
	}
	if n := len(e.sim.Inbox("lihua")); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
	// Without enable_duplicate_check identical requests are all delivered.
	plain := textTo("wangfang", "两次")
	want(t, e.send(app, plain), 0)
	want(t, e.send(app, textTo("wangfang", "两次")), 0)
	if n := len(e.sim.Inbox("wangfang")); n != 2 {
		t.Errorf("without the check: %d messages, want 2", n)
	}
	// The default interval is 1800 s.
	def := obj{"touser": "zhaolei", "msgtype": "text", "text": obj{"content": "默认"}, "enable_duplicate_check": 1}
	want(t, e.send(app, def), 0)
	e.sim.Advance(29 * time.Minute)
	want(t, e.send(app, obj{"touser": "zhaolei", "msgtype": "text", "text": obj{"content": "默认"}, "enable_duplicate_check": 1}), 0)
	if n := len(e.sim.Inbox("zhaolei")); n != 1 {
		t.Errorf("within 1800 s: %d messages, want 1", n)
	}
}

func TestMessageMemberShaping(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	for i := 0; i < MemberMessageLimit.PerMinute; i++ {
		want(t, e.send(app, textTo("lihua", "第"+itoa(int64(i+1))+"条")), 0)
	}
	// The 31st within the minute: dropped for lihua, delivered to wangfang,
	// and the call still succeeds.
	r := e.send(app, textTo("lihua|wangfang", "第31条"))
	want(t, r, 0)
	li, _ := e.sim.InboxItemByMsgID("lihua", r.str("msgid"))
	wf, _ := e.sim.InboxItemByMsgID("wangfang", r.str("msgid"))
	if !li.Dropped || li.Visible() {
		t.Errorf("lihua's 31st message = %+v, want dropped", li)
	}
	if wf.Dropped || !wf.Visible() {
		t.Errorf("wangfang's copy = %+v, want delivered", wf)
	}
	drops := e.sim.MessageDrops()
	if len(drops) != 1 || drops[0].UserID != "lihua" || drops[0].MsgID != r.str("msgid") || drops[0].AgentID != 1000002 {
		t.Errorf("drops = %+v", drops)
	}
	// Another app has its own budget.
	want(t, e.send(e.counselor(), obj{"agentid": 1000003, "touser": "wangfang", "msgtype": "text", "text": obj{"content": "x"}}), 0)
	// A minute later lihua receives again.
	e.sim.Advance(time.Minute)
	r = e.send(app, textTo("lihua", "一分钟后"))
	if it, _ := e.sim.InboxItemByMsgID("lihua", r.str("msgid")); it.Dropped {
		t.Error("after a minute: still dropped")
	}

	// The admin API shows the drop and the inbox entry.
	var body struct {
		Items []InboxItem `json:"items"`
	}
	getJSON(t, e.srv.URL+AdminPrefix+"inbox?userid=lihua", &body)
	dropped := 0
	for _, it := range body.Items {
		if it.Dropped {
			dropped++
		}
	}
	if len(body.Items) != 32 || dropped != 1 || body.Items[0].MsgID != r.str("msgid") {
		t.Errorf("admin inbox: %d items, %d dropped, newest %q", len(body.Items), dropped, body.Items[0].MsgID)
	}
	var adminDrops []Drop
	getJSON(t, e.srv.URL+AdminPrefix+"messages/drops", &adminDrops)
	if len(adminDrops) != 1 {
		t.Errorf("admin drops = %+v", adminDrops)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	mustUnmarshal(t, b, v)
}

func TestMessageWeChatPlugin(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	// s2023005 uses WeCom through the WeChat plugin.
	sent := map[string]string{}
	for typ, body := range map[string]obj{
		"text":          textTo("s2023005", "你好"),
		"textcard":      {"touser": "s2023005", "msgtype": "textcard", "textcard": obj{"title": "t", "description": "d", "url": "https://a.cn/"}},
		"news":          {"touser": "s2023005", "msgtype": "news", "news": obj{"articles": []obj{{"title": "t", "url": "https://a.cn/"}}}},
		"markdown":      {"touser": "s2023005", "msgtype": "markdown", "markdown": obj{"content": "**粗体**"}},
		"template_card": cardTo("s2023005", buttonCard("wx1")),
	} {
		r := e.send(app, body)
		want(t, r, 0)
		sent[typ] = r.str("msgid")
	}
	for typ, id := range sent {
		it, ok := e.sim.InboxItemByMsgID("s2023005", id)
		hidden := typ == "markdown" || typ == "template_card"
		if !ok || (it.NotDisplayed == NotDisplayedInWeChat) != hidden || it.Visible() == hidden {
			t.Errorf("%s for a WeChat-plugin member: %+v, want hidden=%v", typ, it, hidden)
		}
	}
	if _, err := e.sim.PressCardButton(context.Background(), "s2023005", sent["template_card"], "approve", nil); err == nil {
		t.Error("pressed a card WeChat does not show")
	}
}

func TestMessageRecall(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	r := e.send(app, textTo("lihua|s2023005", "发错了"))
	want(t, r, 0)
	id := r.str("msgid")
	want(t, e.post("/cgi-bin/message/recall", e.counselor(), obj{"msgid": id}), 40058) // another app's message
	want(t, e.post("/cgi-bin/message/recall", app, obj{"msgid": "nope"}), 40058)
	want(t, e.post("/cgi-bin/message/recall", app, obj{}), 40058)
	want(t, e.post("/cgi-bin/message/recall", e.contacts(), obj{"msgid": id}), 48002)
	want(t, e.post("/cgi-bin/message/recall", app, obj{"msgid": id}), 0)
	want(t, e.post("/cgi-bin/message/recall", app, obj{"msgid": id}), 0) // again: still ok
	if it, _ := e.sim.InboxItemByMsgID("lihua", id); !it.Recalled || it.Visible() {
		t.Errorf("WeCom copy after recall: %+v", it)
	}
	if it, _ := e.sim.InboxItemByMsgID("s2023005", id); it.Recalled || !it.Visible() {
		t.Errorf("WeChat-plugin copy after recall: %+v, want kept", it)
	}

	old := e.send(app, textTo("lihua", "昨天的"))
	e.sim.Advance(24 * time.Hour)
	app = e.app() // the old token expired meanwhile
	want(t, e.post("/cgi-bin/message/recall", app, obj{"msgid": old.str("msgid")}), 42052)
	fresh := e.send(app, textTo("lihua", "刚发的"))
	e.sim.Advance(24*time.Hour - time.Second)
	app = e.app()
	want(t, e.post("/cgi-bin/message/recall", app, obj{"msgid": fresh.str("msgid")}), 0)
}

func TestMessageStatistics(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	want(t, e.send(app, textTo("lihua|wangfang", "x")), 0)
	want(t, e.send(app, textTo("lihua", "y")), 0)
	r := e.post("/cgi-bin/message/get_statistics", app, obj{"time_type": 0})
	want(t, r, 0)
	list, _ := r["statistics"].([]any)
	if len(list) != 1 {
		t.Fatalf("statistics = %v", r)
	}
	s := list[0].(map[string]any)
	if s["agentid"].(float64) != 1000002 || s["count"].(float64) != 3 || s["app_name"] != "一站式服务" {
		t.Errorf("statistics = %v", s)
	}
	want(t, e.post("/cgi-bin/message/get_statistics", app, obj{"time_type": 2}), 40058)
	e.sim.Advance(24 * time.Hour)
	r = e.post("/cgi-bin/message/get_statistics", e.app(), obj{"time_type": 1})
	if list, _ := r["statistics"].([]any); len(list) != 1 {
		t.Errorf("yesterday = %v", r)
	}
}

func TestInboxResetClears(t *testing.T) {
	e := newEnv(t)
	want(t, e.send(e.app(), textTo("lihua", "x")), 0)
	e.sim.Reset()
	if items := e.sim.Inbox("lihua"); items != nil {
		t.Errorf("after Reset: %+v", items)
	}
}

// goldenDir holds WeCom's documented request samples, shared with the
// client's golden test (wecom/golden_test.go).
var goldenDir = filepath.Join("..", "testdata", "golden")

// goldenShown is what lihua's phone page must show after each golden
// request: the titles, buttons and options the documented sample carries.
var goldenShown = map[string][]string{
	"send_text":     {"你的快递已到，请携带工卡前往邮件中心领取。", "邮件中心视频实况"},
	"send_image":    {"图片"},
	"send_voice":    {"语音"},
	"send_video":    {"视频", "Title"},
	"send_file":     {"文件"},
	"send_textcard": {"领奖通知", "恭喜你抽中iPhone 7一台", "更多"},
	"send_news":     {"中秋节礼品领取", "今年中秋节公司有豪礼相送"},
	"send_mpnews":   {"图文", "Title"},
	"send_markdown": {"事项详情", "广州TIT 1楼 301", "修改会议信息"},
	"send_template_card_text_notice": {"企业微信", "欢迎使用企业微信", "企业微信真好用呀真好用", "100", "核心数据",
		"下载企业微信还能抢红包！", "邀请人", "张三", "企业微信官网", "跳转小程序", "接受推送"},
	"send_template_card_news_notice":            {"欢迎使用企业微信", "企业微信的左图右文样式", "惊喜红包等你来拿", "员工信息"},
	"send_template_card_button_interaction":     {"欢迎使用企业微信", "企业微信评分", "100分", "101分", "按钮1", "按钮2"},
	"send_template_card_vote_interaction":       {"欢迎使用企业微信", "选择题选项1", "选择题选项2", "提交"},
	"send_template_card_multiple_interaction":   {"欢迎使用企业微信", "选择器标签1", "选择器选项1", "选择器选项4", "提交"},
	"update_button":                             {"replace_name"},
	"update_template_card_text_notice":          {"核心数据", "企业微信的引用样式"},
	"update_template_card_news_notice":          {"企业微信的左图右文样式", "惊喜红包等你来拿"},
	"update_template_card_button_interaction":   {"企业微信评分", "已提交"},
	"update_template_card_vote_interaction":     {"选择题选项1", "已提交"},
	"update_template_card_multiple_interaction": {"选择器标签2", "已提交"},
	"recall": {"撤回了一条消息"},
}

// goldenHidden is what the page must no longer show.
var goldenHidden = map[string][]string{
	"recall":                           {"你的快递已到"},
	"update_button":                    {"按钮1"},
	"update_template_card_text_notice": {"按钮1", "企业微信评分"},
}

func readGolden(t *testing.T, name string) obj {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var o obj
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return o
}

// replaceStrings replaces string values (not keys) throughout v.
func replaceStrings(v any, with map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = replaceStrings(e, with)
		}
	case []any:
		for i, e := range x {
			x[i] = replaceStrings(e, with)
		}
	case string:
		if r, ok := with[x]; ok {
			return r
		}
	}
	return v
}

// addressGolden points a documented sample at this simulator: the hall
// app, member lihua, uploaded media of the type the message needs, and a
// member that exists for horizontal_content_list's type-3 row. Nothing
// else of the sample changes.
func (e *env) addressGolden(name string, g obj) obj {
	e.t.Helper()
	app := e.app()
	mediaType := map[string]string{"send_image": "image", "send_voice": "voice", "send_video": "video", "send_file": "file", "send_mpnews": "image"}
	with := map[string]string{"zhangsan": "lihua"}
	if typ, ok := mediaType[name]; ok {
		up := e.upload(app, typ, "media", []byte("golden sample media"))
		want(e.t, up, 0)
		with["MEDIA_ID"] = up.str("media_id")
		with["1Yv-zXfHjSjU-7LH-GwtYqDGS-zz6w22KmWAT5COgP7o"] = up.str("media_id")
	}
	g = replaceStrings(g, with).(obj)
	if _, ok := g["agentid"]; ok {
		g["agentid"] = 1000002
	}
	if _, ok := g["touser"]; ok {
		g["touser"], g["toparty"], g["totag"] = "lihua", "", ""
	}
	if _, ok := g["userids"]; ok {
		g["userids"] = []any{"lihua"}
	}
	return g
}

// postGolden sends one golden request (after what it needs: a card to
// update, a message to recall) and returns the answer.
func (e *env) postGolden(name string, g obj) resp {
	e.t.Helper()
	app := e.app()
	switch {
	case strings.HasPrefix(name, "send_"):
		return e.post("/cgi-bin/message/send", app, g)
	case strings.HasPrefix(name, "update_"):
		card := e.addressGolden("send_template_card_button_interaction", readGolden(e.t, "send_template_card_button_interaction"))
		sent := e.post("/cgi-bin/message/send", app, card)
		want(e.t, sent, 0)
		g["response_code"] = sent.str("response_code")
		return e.post("/cgi-bin/message/update_template_card", app, g)
	case name == "recall":
		sent := e.post("/cgi-bin/message/send", app, e.addressGolden("send_text", readGolden(e.t, "send_text")))
		want(e.t, sent, 0)
		g["msgid"] = sent.str("msgid")
		return e.post("/cgi-bin/message/recall", app, g)
	}
	e.t.Fatalf("golden %s: no simulator call for it", name)
	return nil
}

func goldenNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in %s: %v", goldenDir, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return names
}

// Each documented sample is accepted and shown: lihua's inbox holds it
// (the card with its title and buttons) and her phone page renders it.
func TestGoldenRequestsAccepted(t *testing.T) {
	for _, name := range goldenNames(t) {
		t.Run(name, func(t *testing.T) {
			shown, ok := goldenShown[name]
			if !ok {
				t.Fatalf("golden %s has no expectation in goldenShown", name)
			}
			e := newEnv(t)
			g := e.addressGolden(name, readGolden(t, name))
			want(t, e.postGolden(name, g), 0)
			inbox := e.sim.Inbox("lihua")
			if len(inbox) == 0 {
				t.Fatal("nothing in lihua's inbox")
			}
			it := inbox[0]
			if strings.HasPrefix(name, "send_") && it.MsgType != g["msgtype"] {
				t.Errorf("inbox item is %s, want %s", it.MsgType, g["msgtype"])
			}
			if card, ok := g["template_card"].(obj); ok {
				if it.Card == nil {
					t.Fatalf("inbox item has no card: %+v", it)
				}
				if it.Card.CardType != card["card_type"] || it.Card.MainTitle == nil ||
					it.Card.MainTitle.Title != card["main_title"].(obj)["title"] {
					t.Errorf("inbox card = %s %+v, want %s %v", it.Card.CardType, it.Card.MainTitle, card["card_type"], card["main_title"])
				}
				var buttons []string
				for _, b := range it.Card.ButtonList {
					buttons = append(buttons, b.Text)
				}
				var want []string
				for _, b := range asList(card["button_list"]) {
					want = append(want, b.(obj)["text"].(string))
				}
				if !slices.Equal(buttons, want) {
					t.Errorf("inbox card buttons %q, want %q", buttons, want)
				}
			}
			_, page := phoneGet(t, http.DefaultClient, e.srv.URL+"/phone/u/lihua")
			for _, s := range shown {
				if !strings.Contains(page, html.EscapeString(s)) {
					t.Errorf("lihua's phone page does not show %q", s)
				}
			}
			for _, s := range goldenHidden[name] {
				if strings.Contains(page, html.EscapeString(s)) {
					t.Errorf("lihua's phone page still shows %q", s)
				}
			}
		})
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// keyPaths lists every object key of v as a path of keys and indexes.
func keyPaths(v any, prefix []any) [][]any {
	var out [][]any
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := append(slices.Clone(prefix), k)
			out = append(out, p)
			out = append(out, keyPaths(x[k], p)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, keyPaths(e, append(slices.Clone(prefix), i))...)
		}
	}
	return out
}

// misspell returns a deep copy of g with the key at path renamed.
func misspell(g obj, path []any) (obj, string) {
	var c obj
	b, _ := json.Marshal(g)
	_ = json.Unmarshal(b, &c)
	var cur any = c
	for _, step := range path[:len(path)-1] {
		switch s := step.(type) {
		case string:
			cur = cur.(obj)[s]
		case int:
			cur = cur.([]any)[s]
		}
	}
	k := path[len(path)-1].(string)
	m := cur.(obj)
	bad := k + "x"
	m[bad] = m[k]
	delete(m, k)
	return c, bad
}

// The same samples with any one key misspelt are refused and deliver
// nothing: a misspelt agentid is "agentid missing" (41011), msgtype
// 40008, card_type 42031, anything else 40058 naming the key in the call
// log.
func TestGoldenRequestsMisspeltRefused(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	special := map[string]int{"agentid": 41011, "msgtype": 40008, "card_type": 42031}
	tried := 0
	for _, name := range goldenNames(t) {
		if name == "recall" || strings.HasPrefix(name, "update_") {
			continue // below, against a live card and message
		}
		g := e.addressGolden(name, readGolden(t, name))
		for _, path := range keyPaths(g, nil) {
			bad, key := misspell(g, path)
			r := e.post("/cgi-bin/message/send", app, bad)
			code := 40058
			if c, ok := special[path[len(path)-1].(string)]; ok {
				code = c
			}
			tried++
			if r.code() != code {
				t.Errorf("%s with %v misspelt %q: errcode %d, want %d", name, path, key, r.code(), code)
				continue
			}
			if code == 40058 {
				if calls := e.sim.Calls("/cgi-bin/message/send"); !strings.Contains(calls[len(calls)-1].Detail, key) {
					t.Errorf("%s: call log detail %q does not name %q", name, calls[len(calls)-1].Detail, key)
				}
			}
		}
	}
	if n := len(e.sim.Inbox("lihua")); n != 0 {
		t.Errorf("misspelt requests delivered %d messages", n)
	}

	// update_template_card: each misspelt sample is refused and leaves the
	// response_code usable.
	card := e.addressGolden("send_template_card_button_interaction", readGolden(t, "send_template_card_button_interaction"))
	card["template_card"].(obj)["task_id"] = "golden-update"
	sent := e.post("/cgi-bin/message/send", app, card)
	want(t, sent, 0)
	for _, name := range goldenNames(t) {
		if !strings.HasPrefix(name, "update_") {
			continue
		}
		g := e.addressGolden(name, readGolden(t, name))
		g["response_code"] = sent.str("response_code")
		for _, path := range keyPaths(g, nil) {
			bad, key := misspell(g, path)
			r := e.post("/cgi-bin/message/update_template_card", app, bad)
			code := 40058
			if c, ok := special[path[len(path)-1].(string)]; ok {
				code = c
			}
			tried++
			if r.code() != code {
				t.Errorf("%s with %v misspelt %q: errcode %d, want %d", name, path, key, r.code(), code)
			}
		}
	}
	upd := e.addressGolden("update_button", readGolden(t, "update_button"))
	upd["response_code"] = sent.str("response_code")
	want(t, e.post("/cgi-bin/message/update_template_card", app, upd), 0)

	rec := readGolden(t, "recall")
	rec["msgid"] = sent.str("msgid")
	bad, _ := misspell(rec, []any{"msgid"})
	want(t, e.post("/cgi-bin/message/recall", app, bad), 40058)
	if it, _ := e.sim.InboxItemByMsgID("lihua", sent.str("msgid")); it.Recalled {
		t.Error("a misspelt recall recalled the message")
	}
	t.Logf("%d misspelt requests refused", tried)
}
