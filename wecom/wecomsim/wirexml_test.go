package wecomsim

import (
	"testing"
	"time"
)

// The simulator's callback XML, element by element as WeCom's documented
// examples write it (CDATA for strings, bare numbers, documented order).
// Package wecom's parser reads the same payloads in the callback tests;
// this pins the simulator's side on its own.
func TestWireXMLGolden(t *testing.T) {
	s := New(Options{CorpID: "wwcorp", Legacy: true})
	defer s.Close()
	today := New(Options{CorpID: "wwcorp"})
	defer today.Close()
	change := func(sim *Sim, typ string, c *wireContact) string {
		e := sim.systemEvent("change_contact", 1403610513)
		e.ChangeType, e.wireContact = cd(typ), c
		return string(e.bytes())
	}
	head := `<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>`
	d := &Department{ID: 2, Name: "张三", ParentID: 1, Order: 1}
	u := &User{UserID: "zhangsan", Name: "张三", Department: []int64{1, 2, 3}, MainDepartment: 1, IsLeaderInDept: []int{1, 0, 0},
		DirectLeader: []string{"lisi", "wangwu"}, Position: "产品经理", Mobile: "13800000000", Gender: "1", Status: 1}
	job := &job{ID: "S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4", Type: jobSyncUser, ErrMsg: "ok", finished: time.Unix(1425284517, 0)}
	for _, tt := range []struct{ name, got, want string }{
		{"create_party (legacy)", change(s, "create_party", s.createPartyChange(d)),
			head + `<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[create_party]]></ChangeType><Id>2</Id><Name><![CDATA[张三]]></Name><ParentId><![CDATA[1]]></ParentId><Order>1</Order></xml>`},
		{"create_party (today)", change(today, "create_party", today.createPartyChange(d)),
			head + `<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[create_party]]></ChangeType><Id>2</Id><ParentId><![CDATA[1]]></ParentId></xml>`},
		{"create_user (legacy)", change(s, "create_user", s.createUserChange(u)),
			head + `<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[create_user]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID><Name><![CDATA[张三]]></Name><Department><![CDATA[1,2,3]]></Department><MainDepartment>1</MainDepartment><IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept><DirectLeader><![CDATA[lisi,wangwu]]></DirectLeader><Position><![CDATA[产品经理]]></Position><Mobile>13800000000</Mobile><Gender>1</Gender><Status>1</Status></xml>`},
		{"create_user (today)", change(today, "create_user", today.createUserChange(u)),
			head + `<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[create_user]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID><Department><![CDATA[1,2,3]]></Department></xml>`},
		{"update_tag", change(today, "update_tag", updateTagChange(1, []string{"zhangsan", "lisi"}, nil, []int64{1, 2}, nil)),
			head + `<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[update_tag]]></ChangeType><TagId>1</TagId><AddUserItems><![CDATA[zhangsan,lisi]]></AddUserItems><AddPartyItems><![CDATA[1,2]]></AddPartyItems></xml>`},
		{"batch_job_result", string(s.batchJobXML(job)),
			`<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1425284517</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[batch_job_result]]></Event><BatchJob><JobId><![CDATA[S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4]]></JobId><JobType><![CDATA[sync_user]]></JobType><ErrCode>0</ErrCode><ErrMsg><![CDATA[ok]]></ErrMsg></BatchJob></xml>`},
		{"enter_agent", string((&wireMessage{ToUserName: cdata{"toUser"}, FromUserName: cdata{"FromUser"}, CreateTime: 1408091189,
			MsgType: cdata{"event"}, Event: cd("enter_agent"), EventKey: cd(""), AgentID: 1}).bytes()),
			`<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[FromUser]]></FromUserName><CreateTime>1408091189</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><EventKey></EventKey><AgentID>1</AgentID></xml>`}, // encoding/xml writes an empty CDATA as nothing: the same text
		{"text", string((&wireMessage{ToUserName: cdata{"toUser"}, FromUserName: cdata{"fromUser"}, CreateTime: 1348831860,
			MsgType: cdata{"text"}, Content: cd("this is a test"), MsgID: "1234567890123456", AgentID: 1}).bytes()),
			`<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>`},
	} {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
}
