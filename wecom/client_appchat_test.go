package wecom_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// TestAppChat: create a chat, change owner and members, read it back and
// post text and markdown, against the simulator.
func TestAppChat(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	id, err := hall.CreateAppChat(ctx, wecom.AppChat{ChatID: "cls10005001", Name: "软件工程1班群", Owner: "wangfang",
		UserList: []string{"wangfang", "liuyang", "xujun"}})
	if err != nil {
		t.Fatal(err)
	}
	if id != "cls10005001" {
		t.Errorf("chatid %q", id)
	}
	if err := hall.UpdateAppChat(ctx, wecom.AppChatUpdate{ChatID: id, Owner: "lihua",
		AddUserList: []string{"lihua"}, DelUserList: []string{"wangfang"}}); err != nil {
		t.Fatal(err)
	}
	got, err := hall.GetAppChat(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := &wecom.AppChat{ChatID: id, Name: "软件工程1班群", Owner: "lihua", UserList: []string{"liuyang", "xujun", "lihua"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("chat (-want +got):\n%s", d)
	}
	if err := hall.SendAppChat(ctx, id, &wecom.AppChatMessage{Text: &wecom.Text{Content: "今晚班会"}}); err != nil {
		t.Fatal(err)
	}
	if err := hall.SendAppChat(ctx, id, &wecom.AppChatMessage{Markdown: &wecom.Markdown{Content: "**班会** 19:00"}}); err != nil {
		t.Fatal(err)
	}
	ch, _ := e.sim.AppChat(id)
	if len(ch.Messages) != 2 || ch.Messages[0].MsgType != "text" || ch.Messages[1].MsgType != "markdown" {
		t.Fatalf("messages in the chat: %+v", ch.Messages)
	}
	var body struct{ Content string }
	if err := json.Unmarshal(ch.Messages[0].Body, &body); err != nil || body.Content != "今晚班会" {
		t.Errorf("text body %s (%v)", ch.Messages[0].Body, err)
	}

	// A repeated create with the same chatid is 86215: the caller's "done".
	_, err = hall.CreateAppChat(ctx, wecom.AppChat{ChatID: id, UserList: []string{"lihua", "xujun"}})
	if !wecom.IsCode(err, wecom.CodeAppChatExists) {
		t.Errorf("second create: %v, want 86215", err)
	}
	if _, err := hall.GetAppChat(ctx, "nochat"); !wecom.IsCode(err, wecom.CodeAppChatNotFound) {
		t.Errorf("unknown chat: %v, want 86003", err)
	}
}

// TestAppChatChecks: requests WeCom would refuse are refused before any
// call: a bad chatid, too few members, an over-long name, no body.
func TestAppChatChecks(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	for name, c := range map[string]wecom.AppChat{
		"chatid":  {ChatID: "cls-1", UserList: []string{"lihua", "xujun"}},
		"members": {ChatID: "c1", UserList: []string{"lihua"}},
		"name":    {ChatID: "c1", Name: string(make([]rune, 51)), UserList: []string{"lihua", "xujun"}},
	} {
		if _, err := hall.CreateAppChat(ctx, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := hall.UpdateAppChat(ctx, wecom.AppChatUpdate{ChatID: "c1"}); err == nil {
		t.Error("empty update accepted")
	}
	if err := hall.SendAppChat(ctx, "c1", &wecom.AppChatMessage{}); err == nil {
		t.Error("message without body accepted")
	}
	if n := e.calls("/cgi-bin/appchat/create") + e.calls("/cgi-bin/appchat/update") + e.calls("/cgi-bin/appchat/send"); n != 0 {
		t.Errorf("%d calls reached WeCom", n)
	}
	if !wecom.ValidAppChatID("cls10005001") || wecom.ValidAppChatID("") || wecom.ValidAppChatID("a_b") {
		t.Error("ValidAppChatID")
	}
}

// TestAppChatSendNotResent: a send whose answer is lost is not sent
// again (it may have reached the chat); Uncertain says so.
func TestAppChatSendNotResent(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	id, err := hall.CreateAppChat(ctx, wecom.AppChat{ChatID: "c1", UserList: []string{"lihua", "xujun"}})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/appchat/send", Status: 502, Times: 1})
	err = hall.SendAppChat(ctx, id, &wecom.AppChatMessage{Text: &wecom.Text{Content: "x"}})
	if err == nil || !wecom.Uncertain(err) {
		t.Fatalf("send through a 502: %v, want an uncertain failure", err)
	}
	if n := e.calls("/cgi-bin/appchat/send"); n != 1 {
		t.Errorf("%d send attempts, want 1", n)
	}
}
