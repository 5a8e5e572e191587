package wecomsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const otherAppSecret = "app-secret-other-root"

func withOtherApp(o *Options) {
	o.Apps = append(o.Apps, App{AgentID: 1000004, Name: "另一应用", Secret: otherAppSecret, Visible: Visible{Departments: []int64{1}}})
}

// TestAppChatLifecycle: an app creates a chat, renames it, hands it to
// another owner while changing members, reads it back and posts into it;
// the admin API shows members and messages.
func TestAppChatLifecycle(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	r := e.post("/cgi-bin/appchat/create", tok, obj{"chatid": "cls10005001", "name": "软件工程1班群", "owner": "wangfang",
		"userlist": []string{"wangfang", "liuyang", "xujun", "LiuYang"}})
	want(t, r, 0)
	if r.str("chatid") != "cls10005001" || r.str("errmsg") != "ok" {
		t.Fatalf("create answered %v", r)
	}

	// wangfang hands over to lihua and leaves; chenjing joins.
	want(t, e.post("/cgi-bin/appchat/update", tok, obj{"chatid": "cls10005001", "name": "软件工程一班",
		"owner": "lihua", "add_user_list": []string{"lihua", "chenjing", "xujun"}, "del_user_list": []string{"wangfang"}}), 0)

	g := e.get("/cgi-bin/appchat/get", tok, "chatid", "cls10005001")
	want(t, g, 0)
	info := g["chat_info"].(map[string]any)
	if info["name"] != "软件工程一班" || info["owner"] != "lihua" {
		t.Errorf("chat_info = %v", info)
	}
	if got, w := strs(info["userlist"]), []string{"liuyang", "xujun", "lihua", "chenjing"}; !slices.Equal(got, w) {
		t.Errorf("userlist %v, want %v (join order, duplicates once)", got, w)
	}

	want(t, e.post("/cgi-bin/appchat/send", tok, obj{"chatid": "cls10005001", "msgtype": "markdown",
		"markdown": obj{"content": "**班会** 周五 19:00"}}), 0)
	want(t, e.post("/cgi-bin/appchat/send", tok, obj{"chatid": "cls10005001", "msgtype": "text",
		"text": obj{"content": "收到请回复"}, "safe": 1}), 0)

	st, body := e.do(http.MethodGet, "/sim/api/appchat", map[string][]string{"chatid": {"cls10005001"}}, nil, "")
	if st != http.StatusOK {
		t.Fatalf("admin appchat: HTTP %d %s", st, body)
	}
	var ch AppChat
	if err := json.Unmarshal(body, &ch); err != nil {
		t.Fatal(err)
	}
	if ch.AgentID != 1000002 || ch.Owner != "lihua" || len(ch.Messages) != 2 {
		t.Fatalf("admin chat = %+v", ch)
	}
	if m := ch.Messages[0]; m.MsgType != "markdown" || !strings.Contains(string(m.Body), "班会") ||
		!slices.Equal(m.Recipients, []string{"liuyang", "xujun", "lihua", "chenjing"}) {
		t.Errorf("first message %+v", m)
	}
	if ch.Messages[1].Safe != 1 {
		t.Errorf("second message not kept as confidential: %+v", ch.Messages[1])
	}
	st, body = e.do(http.MethodGet, "/sim/api/appchats", map[string][]string{"userid": {"chenjing"}}, nil, "")
	if st != http.StatusOK || !strings.Contains(string(body), `"chatid":"cls10005001"`) || !strings.Contains(string(body), `"members":4`) {
		t.Errorf("chenjing's chats: HTTP %d %s", st, body)
	}
	if mine := e.sim.AppChatsOf("wangfang"); len(mine) != 0 {
		t.Errorf("wangfang left but is still in %v", mine)
	}
}

// TestAppChatRules: the documented refusals, each with its errcode.
func TestAppChatRules(t *testing.T) {
	e := newEnv(t, withOtherApp)
	tok := e.app()
	want(t, e.post("/cgi-bin/appchat/create", tok, obj{"chatid": "c1", "owner": "lihua", "userlist": []string{"lihua", "chenjing"}}), 0)

	cases := []struct {
		name string
		path string
		tok  string
		body obj
		code int
	}{
		{"contacts secret", "/cgi-bin/appchat/create", e.contacts(), obj{"userlist": []string{"lihua", "chenjing"}}, 48002},
		{"range not the root", "/cgi-bin/appchat/create", e.counselor(), obj{"userlist": []string{"liuyang", "wangfang"}}, 48002},
		{"chatid taken", "/cgi-bin/appchat/create", tok, obj{"chatid": "c1", "userlist": []string{"lihua", "chenjing"}}, 86215},
		{"chatid characters", "/cgi-bin/appchat/create", tok, obj{"chatid": "cls-1", "userlist": []string{"lihua", "chenjing"}}, 86001},
		{"chatid length", "/cgi-bin/appchat/create", tok, obj{"chatid": strings.Repeat("a", 33), "userlist": []string{"lihua", "chenjing"}}, 86205},
		{"one member", "/cgi-bin/appchat/create", tok, obj{"userlist": []string{"lihua", "LIHUA"}}, 86006},
		{"no userlist", "/cgi-bin/appchat/create", tok, obj{"name": "x"}, 86204},
		{"unknown member", "/cgi-bin/appchat/create", tok, obj{"userlist": []string{"lihua", "nobody"}}, 86216},
		{"disabled member", "/cgi-bin/appchat/create", tok, obj{"userlist": []string{"lihua", "zhouqiang"}}, 86007},
		{"owner outside", "/cgi-bin/appchat/create", tok, obj{"owner": "zhaolei", "userlist": []string{"lihua", "chenjing"}}, 86207},
		{"owner unknown", "/cgi-bin/appchat/create", tok, obj{"owner": "nobody", "userlist": []string{"lihua", "chenjing"}}, 86005},
		{"undocumented key", "/cgi-bin/appchat/create", tok, obj{"userlist": []string{"lihua", "chenjing"}, "notice": "x"}, 40058},
		{"update unknown chat", "/cgi-bin/appchat/update", tok, obj{"chatid": "nope", "name": "x"}, 86003},
		{"update no chatid", "/cgi-bin/appchat/update", tok, obj{"name": "x"}, 86201},
		{"update another app's chat", "/cgi-bin/appchat/update", e.token(otherAppSecret), obj{"chatid": "c1", "name": "x"}, 86008},
		{"delete a non-member", "/cgi-bin/appchat/update", tok, obj{"chatid": "c1", "del_user_list": []string{"zhaolei"}}, 86216},
		{"delete the owner alone", "/cgi-bin/appchat/update", tok, obj{"chatid": "c1", "del_user_list": []string{"lihua"}}, 86203},
		{"owner not a member", "/cgi-bin/appchat/update", tok, obj{"chatid": "c1", "owner": "zhaolei"}, 86207},
		{"add unknown", "/cgi-bin/appchat/update", tok, obj{"chatid": "c1", "add_user_list": []string{"nobody"}}, 86216},
		{"send unknown chat", "/cgi-bin/appchat/send", tok, obj{"chatid": "nope", "msgtype": "text", "text": obj{"content": "x"}}, 86003},
		{"send another app's chat", "/cgi-bin/appchat/send", e.token(otherAppSecret), obj{"chatid": "c1", "msgtype": "text", "text": obj{"content": "x"}}, 86008},
		{"send a card", "/cgi-bin/appchat/send", tok, obj{"chatid": "c1", "msgtype": "template_card", "template_card": obj{}}, 40008},
		{"send empty text", "/cgi-bin/appchat/send", tok, obj{"chatid": "c1", "msgtype": "text", "text": obj{"content": ""}}, 44004},
		{"send safe news", "/cgi-bin/appchat/send", tok, obj{"chatid": "c1", "msgtype": "news", "safe": 1,
			"news": obj{"articles": []obj{{"title": "t", "url": "https://example.edu.cn"}}}}, 40074},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want(t, e.post(c.path, c.tok, c.body), c.code)
		})
	}
	want(t, e.get("/cgi-bin/appchat/get", e.token(otherAppSecret), "chatid", "c1"), 86008)
	want(t, e.get("/cgi-bin/appchat/get", tok, "chatid", "c2"), 86003)
	if ch, _ := e.sim.AppChat("c1"); ch.Owner != "lihua" || len(ch.UserList) != 2 || len(ch.Messages) != 0 {
		t.Errorf("refused calls changed the chat: %+v", ch)
	}
}

// TestAppChatNameAndDefaults: a long name is cut to 50 characters, a
// missing chatid is generated, a missing owner is a member.
func TestAppChatNameAndDefaults(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("班", 60)
	r := e.post("/cgi-bin/appchat/create", e.app(), obj{"name": long, "userlist": []string{"lihua", "chenjing"}})
	want(t, r, 0)
	ch, ok := e.sim.AppChat(r.str("chatid"))
	if !ok {
		t.Fatalf("generated chatid %q unknown", r.str("chatid"))
	}
	if ch.Name != strings.Repeat("班", 50) || ch.Owner != "lihua" {
		t.Errorf("chat %q owner %q, want 50 characters and a member as owner", ch.Name, ch.Owner)
	}
}

// TestAppChatLimits: 1,000 chats a day (lowered here), the next day more;
// a deleted member drops out; per-member drops are recorded, not refused.
func TestAppChatLimits(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	e.sim.SetAppChatCreateLimit(2)
	for _, id := range []string{"a1", "a2"} {
		want(t, e.post("/cgi-bin/appchat/create", tok, obj{"chatid": id, "userlist": []string{"lihua", "chenjing", "liuyang"}}), 0)
	}
	want(t, e.post("/cgi-bin/appchat/create", tok, obj{"chatid": "a3", "userlist": []string{"lihua", "chenjing"}}), 45009)
	e.sim.Advance(24 * time.Hour)
	tok = e.app()
	want(t, e.post("/cgi-bin/appchat/create", tok, obj{"chatid": "a3", "userlist": []string{"lihua", "chenjing"}}), 0)

	if err := e.sim.AdminDeleteUser("liuyang"); err != nil {
		t.Fatal(err)
	}
	g := e.get("/cgi-bin/appchat/get", tok, "chatid", "a1")
	if got := strs(g["chat_info"].(map[string]any)["userlist"]); !slices.Equal(got, []string{"lihua", "chenjing"}) {
		t.Errorf("after liuyang's deletion userlist = %v", got)
	}

	for range AppChatMemberLimit.PerMinute + 1 {
		want(t, e.post("/cgi-bin/appchat/send", tok, obj{"chatid": "a2", "msgtype": "text", "text": obj{"content": "x"}}), 0)
	}
	ch, _ := e.sim.AppChat("a2")
	last := ch.Messages[len(ch.Messages)-1]
	if d := cmp.Diff([]string{"lihua", "chenjing"}, last.Dropped); d != "" {
		t.Errorf("message %d: dropped (-want +got):\n%s", len(ch.Messages), d)
	}
	if len(ch.Messages[0].Dropped) != 0 {
		t.Errorf("first message dropped for %v", ch.Messages[0].Dropped)
	}
}

// TestAppChatOnPhone: a member's phone page shows the chats they are in
// with the messages they received; others do not see the chat.
func TestAppChatOnPhone(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	want(t, e.post("/cgi-bin/appchat/create", tok, obj{"chatid": "cls8", "name": "软件工程1班群", "owner": "wangfang",
		"userlist": []string{"wangfang", "liuyang"}}), 0)
	want(t, e.post("/cgi-bin/appchat/send", tok, obj{"chatid": "cls8", "msgtype": "markdown", "markdown": obj{"content": "**班会**改到周五"}}), 0)
	st, body := e.do(http.MethodGet, "/phone/u/liuyang", nil, nil, "")
	page := string(body)
	if st != http.StatusOK || !strings.Contains(page, `data-chatid="cls8"`) || !strings.Contains(page, "软件工程1班群") ||
		!strings.Contains(page, "<strong>班会</strong>改到周五") || !strings.Contains(page, "群主 王芳") {
		t.Errorf("liuyang's phone (HTTP %d) does not show the chat and its message:\n%s", st, page)
	}
	if _, body := e.do(http.MethodGet, "/phone/u/chenjing", nil, nil, ""); strings.Contains(string(body), `data-chatid="cls8"`) {
		t.Error("chenjing's phone shows a chat she is not in")
	}
}

// TestAppChatQuotas: changes an hour and message person-times a minute
// (both lowered here) answer 45009 once used up, refusing the whole call.
func TestAppChatQuotas(t *testing.T) {
	defer func(u, s Limit) { AppChatUpdateLimit, AppChatSendLimit = u, s }(AppChatUpdateLimit, AppChatSendLimit)
	AppChatUpdateLimit = Limit{PerMinute: -1, PerHour: 2}
	AppChatSendLimit = Limit{PerMinute: 5, PerHour: -1}
	e := newEnv(t)
	tok := e.app()
	want(t, e.post("/cgi-bin/appchat/create", tok, obj{"chatid": "q1", "userlist": []string{"lihua", "chenjing", "liuyang"}}), 0)
	for _, n := range []string{"一", "二"} {
		want(t, e.post("/cgi-bin/appchat/update", tok, obj{"chatid": "q1", "name": n}), 0)
	}
	want(t, e.post("/cgi-bin/appchat/update", tok, obj{"chatid": "q1", "name": "三"}), 45009)
	e.sim.Advance(30 * time.Minute)
	want(t, e.post("/cgi-bin/appchat/update", tok, obj{"chatid": "q1", "name": "三"}), 45009) // blocked for the hour
	e.sim.Advance(31 * time.Minute)
	want(t, e.post("/cgi-bin/appchat/update", e.app(), obj{"chatid": "q1", "name": "三"}), 0)

	tok = e.app()
	text := obj{"chatid": "q1", "msgtype": "text", "text": obj{"content": "x"}}
	want(t, e.post("/cgi-bin/appchat/send", tok, text), 0) // 3 person-times
	want(t, e.post("/cgi-bin/appchat/send", tok, text), 45009)
	if ch, _ := e.sim.AppChat("q1"); ch.Name != "三" || len(ch.Messages) != 1 {
		t.Errorf("chat %q with %d messages, want 三 and 1", ch.Name, len(ch.Messages))
	}
}
