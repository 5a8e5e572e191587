package wecomsim

import (
	"errors"
	"testing"

	"github.com/wecomapp/wecomapp/wecom"
)

func TestEnterApp(t *testing.T) {
	e, rc := cardEnv(t, nil, func(o *Options) { o.Apps[1].ReportEnter = false })
	res, err := e.sim.EnterApp(pressCtx(t), "lihua", 1000002)
	if err != nil || !res.Sent || !res.Delivered {
		t.Fatalf("EnterApp = %+v, %v", res, err)
	}
	evs := rc.got()
	if len(evs) != 1 {
		t.Fatalf("%d callbacks", len(evs))
	}
	if ev := evs[0]; ev.Kind() != wecom.KindEnterAgent || ev.FromUserName != "lihua" || ev.AgentID != 1000002 || ev.EventKey != "" || ev.ToUserName != testCorpID {
		t.Errorf("enter_agent = %+v", ev)
	}
	// The counselor app does not report entering (isreportenter=0).
	res, err = e.sim.EnterApp(pressCtx(t), "wangfang", 1000003)
	if err != nil || res.Sent {
		t.Errorf("without ReportEnter: %+v, %v", res, err)
	}
	for _, tc := range []struct {
		user  string
		agent int64
	}{
		{"nobody", 1000002},
		{"zhouqiang", 1000002}, // disabled
		{"wuming", 1000002},    // not activated
		{"lihua", 1000003},     // outside the counselor app's range
		{"lihua", 42},
	} {
		if _, err := e.sim.EnterApp(pressCtx(t), tc.user, tc.agent); !errors.Is(err, ErrMemberAction) {
			t.Errorf("EnterApp(%s, %d) = %v, want ErrMemberAction", tc.user, tc.agent, err)
		}
	}
	if n := len(rc.got()); n != 1 {
		t.Errorf("%d callbacks in all, want 1", n)
	}
}

func TestSendTextToApp(t *testing.T) {
	e, rc := cardEnv(t, func(ev *wecom.Event) *wecom.Reply {
		if ev.MsgType != "text" {
			return nil
		}
		return wecom.NewTextReply(ev.FromUserName, ev.ToUserName, ev.CreateTime, "收到："+ev.Content)
	})
	res, err := e.sim.SendText(pressCtx(t), "lihua", 1000002, "查成绩")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Delivered || res.Reply != "收到：查成绩" || res.MsgID == "" {
		t.Fatalf("SendText = %+v", res)
	}
	ev := rc.got()[0]
	if ev.Kind() != wecom.KindText || ev.Content != "查成绩" || ev.MsgID != res.MsgID || ev.FromUserName != "lihua" || ev.AgentID != 1000002 {
		t.Errorf("text callback = %+v", ev)
	}
	items := e.sim.Inbox("lihua") // newest first
	if len(items) != 2 {
		t.Fatalf("inbox = %+v", items)
	}
	if items[1].From != FromMember || string(items[1].Body) != `{"content":"查成绩"}` || items[1].MsgID != res.MsgID {
		t.Errorf("member's text = %+v", items[1])
	}
	if items[0].From != FromApp || !items[0].Reply || string(items[0].Body) != `{"content":"收到：查成绩"}` {
		t.Errorf("app's answer = %+v", items[0])
	}
	// MsgIds are fresh per message.
	res2, err := e.sim.SendText(pressCtx(t), "lihua", 1000002, "再查")
	if err != nil || res2.MsgID == res.MsgID {
		t.Errorf("second text: %+v, %v", res2, err)
	}
	if _, err := e.sim.SendText(pressCtx(t), "lihua", 1000002, ""); !errors.Is(err, ErrMemberAction) {
		t.Errorf("empty text: %v", err)
	}
	// The admin route does the same.
	r := e.post(AdminPrefix+"members/text", "", obj{"userid": "wangfang", "agentid": 1000003, "content": "你好"})
	if r["delivered"] != true || r["reply"] != "收到：你好" {
		t.Errorf("admin members/text = %v", r)
	}
	r = e.post(AdminPrefix+"members/enter", "", obj{"userid": "wangfang", "agentid": 1000003})
	if r["sent"] != true {
		t.Errorf("admin members/enter = %v", r)
	}
}
