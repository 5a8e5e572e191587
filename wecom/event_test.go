package wecom

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreRaw = cmpopts.IgnoreFields(Event{}, "Raw")

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseEventFixtures(t *testing.T) {
	tests := []struct {
		file string
		kind string
		want *Event
	}{
		{"text.xml", KindText, &Event{
			ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1348831860, MsgType: "text",
			Content: "this is a test", MsgID: "1234567890123456", AgentID: 1,
		}},
		{"image.xml", KindImage, &Event{
			ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1348831860, MsgType: "image",
			PicURL: "this is a url", MediaID: "media_id", MsgID: "1234567890123456", AgentID: 1,
		}},
		{"voice.xml", KindVoice, &Event{
			ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1357290913, MsgType: "voice",
			MediaID: "media_id", Format: "Format", MsgID: "1234567890123456", AgentID: 1,
		}},
		{"video.xml", KindVideo, &Event{
			ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1357290913, MsgType: "video",
			MediaID: "media_id", ThumbMediaID: "thumb_media_id", MsgID: "1234567890123456", AgentID: 1,
		}},
		{"location.xml", KindLocation, &Event{
			ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1351776360, MsgType: "location",
			LocationX: 23.134, LocationY: 113.358, Scale: 20, Label: "位置信息", MsgID: "1234567890123456", AgentID: 1,
		}},
		{"link.xml", KindLink, &Event{
			ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1348831860, MsgType: "link",
			Title: "this is a title!", Description: "this is a description!", URL: "URL", PicURL: "this is a url",
			MsgID: "1234567890123456", AgentID: 1,
		}},
		{"enter_agent.xml", KindEnterAgent, &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 1408091189, MsgType: "event",
			Event: "enter_agent", AgentID: 1,
		}},
		{"click.xml", KindClick, &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 123456789, MsgType: "event",
			Event: "click", EventKey: "EVENTKEY", AgentID: 1,
		}},
		{"view.xml", KindView, &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 123456789, MsgType: "event",
			Event: "view", EventKey: "www.qq.com", AgentID: 1,
		}},
		{"location_event.xml", KindLocationReport, &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 123456789, MsgType: "event",
			Event: "LOCATION", Latitude: 23.104, Longitude: 113.320, Precision: 65, AgentID: 1,
		}},
		{"scancode_push.xml", "event.scancode_push", &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 1408090502, MsgType: "event",
			Event: "scancode_push", EventKey: "6", AgentID: 1,
			ScanCodeInfo: &ScanCodeInfo{ScanType: "qrcode", ScanResult: "1"},
		}},
		{"pic_sysphoto.xml", "event.pic_sysphoto", &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 1408090816, MsgType: "event",
			Event: "pic_sysphoto", EventKey: "6", AgentID: 1,
			SendPicsInfo: &SendPicsInfo{Count: 1, PicMD5Sum: []string{"1b5f7c23b5bf75682a53e7b6d163e185"}},
		}},
		{"location_select.xml", "event.location_select", &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 1408091189, MsgType: "event",
			Event: "location_select", EventKey: "6", AgentID: 1,
			SendLocationInfo: &SendLocationInfo{LocationX: 23, LocationY: 113, Scale: 15, Label: " 广州市海珠区客村艺苑路 106号"},
		}},
		{"template_card_event.xml", KindTemplateCard, &Event{
			ToUserName: "corpid", FromUserName: "userid", CreateTime: 123456789, MsgType: "event",
			Event: "template_card_event", EventKey: "button_key", TaskID: "task_id", CardType: "button_interaction",
			ResponseCode: "rc", AgentID: 1,
			SelectedItems: []SelectedItem{{QuestionKey: "q1", OptionIDs: []string{"o1", "o2"}}},
		}},
		{"template_card_menu_event.xml", KindTemplateCardMenu, &Event{
			ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 123456789, MsgType: "event",
			Event: "template_card_menu_event", EventKey: "key111", TaskID: "taskid111", CardType: "text_notice",
			ResponseCode: "ResponseCode", AgentID: 1,
		}},
		{"batch_job_result.xml", KindBatchJobResult, &Event{
			ToUserName: "wx28dbb14e3720FAKE", FromUserName: "FromUser", CreateTime: 1425284517, MsgType: "event",
			Event:    "batch_job_result",
			BatchJob: &BatchJob{JobID: "S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4", JobType: "sync_user", ErrCode: 0, ErrMsg: "ok"},
		}},
		{"create_user.xml", KindCreateUser, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_contact", ChangeType: "create_user",
			Contact: &ContactChange{
				UserID: "zhangsan", Name: "张三", Department: []int{1, 2, 3}, MainDepartment: 1,
				IsLeaderInDept: []int{1, 0, 0}, DirectLeader: []string{"lisi", "wangwu"}, Position: "产品经理",
				Mobile: "13800000000", Gender: "1", Email: "zhangsan@gzdev.com", BizMail: "zhangsan@qyycs2.wecom.work",
				Status: 1, Avatar: "http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0",
				Alias: "zhangsan", Telephone: "020-123456", Address: "广州市",
				ExtAttr: []ExtAttr{
					{Name: "爱好", Type: 0, Value: "旅游"},
					{Name: "卡号", Type: 1, WebTitle: "企业微信", WebURL: "https://work.weixin.qq.com"},
				},
				Present: FieldUserID | FieldName | FieldDepartment | FieldMainDepartment | FieldIsLeaderInDept |
					FieldDirectLeader | FieldPosition | FieldMobile | FieldGender | FieldEmail | FieldBizMail |
					FieldStatus | FieldAvatar | FieldAlias | FieldTelephone | FieldAddress | FieldExtAttr,
			},
		}},
		{"update_user.xml", KindUpdateUser, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_contact", ChangeType: "update_user",
			Contact: &ContactChange{
				UserID: "zhangsan", NewUserID: "zhangsan001", Department: []int{1, 2, 3}, Mobile: "13800000000",
				Present: FieldUserID | FieldNewUserID | FieldDepartment | FieldPosition | FieldMobile,
			},
		}},
		{"update_user_minimal.xml", KindUpdateUser, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1700000000, MsgType: "event",
			Event: "change_contact", ChangeType: "update_user",
			Contact: &ContactChange{UserID: "zhangsan", Department: []int{1, 2, 3}, Present: FieldUserID | FieldDepartment},
		}},
		{"delete_user.xml", KindDeleteUser, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_contact", ChangeType: "delete_user",
			Contact: &ContactChange{UserID: "zhangsan", Present: FieldUserID},
		}},
		{"create_party.xml", KindCreateParty, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_contact", ChangeType: "create_party",
			Contact: &ContactChange{ID: 2, Name: "张三", ParentID: 1, Order: 1, Present: FieldID | FieldName | FieldParentID | FieldOrder},
		}},
		{"create_party_minimal.xml", KindCreateParty, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1700000000, MsgType: "event",
			Event: "change_contact", ChangeType: "create_party",
			Contact: &ContactChange{ID: 2, ParentID: 1, Present: FieldID | FieldParentID},
		}},
		{"update_party.xml", KindUpdateParty, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_contact", ChangeType: "update_party",
			Contact: &ContactChange{ID: 2, Name: "张三", ParentID: 1, Present: FieldID | FieldName | FieldParentID},
		}},
		{"delete_party.xml", KindDeleteParty, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_contact", ChangeType: "delete_party",
			Contact: &ContactChange{ID: 2, Present: FieldID},
		}},
		{"update_tag.xml", KindUpdateTag, &Event{
			ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_contact", ChangeType: "update_tag",
			Contact: &ContactChange{
				TagID: 1, AddUserItems: []string{"zhangsan", "lisi"}, DelUserItems: []string{"zhangsan1", "lisi1"},
				AddPartyItems: []int{1, 2}, DelPartyItems: []int{3, 4},
				Present: FieldTagID | FieldAddUserItems | FieldDelUserItems | FieldAddPartyItems | FieldDelPartyItems,
			},
		}},
		{"sys_approval_change.xml", KindApprovalChange, &Event{
			ToUserName: "ww1cSD21f1e9c0caaa", FromUserName: "sys", CreateTime: 1571732272, MsgType: "event",
			Event: "sys_approval_change", AgentID: 3010040,
			Approval: &ApprovalInfo{
				SpNo: "201910220003", SpName: "示例模板", SpStatus: 1, TemplateID: "3TkaH5KFbrG9heEQWLJjhgpFwmqAFB4dLEnapaB7aaa",
				ApplyTime: 1571728713, Applyer: ApprovalApplyer{UserID: "WuJunJie", Party: "1"},
				SpRecord: []ApprovalRecord{
					{SpStatus: 1, ApproverAttr: 2, Details: []ApprovalDetail{
						{Approver: "WangXiaoMing", SpStatus: 1},
						{Approver: "XiaoGangHuang", SpStatus: 1},
					}},
					{SpStatus: 1, ApproverAttr: 1, Details: []ApprovalDetail{{Approver: "XiaoHongLiu", SpStatus: 1}}},
				},
				Notifyer: []string{"ChengLiang", "ChengLiang2"},
				Comments: []ApprovalComment{
					{UserID: "LiuZhi", CommentTime: 1571732272, CommentContent: "这是一个备注", CommentID: "6750538708562308220"},
					{UserID: "LiuZhi2", CommentTime: 15717322723, CommentContent: "这又是一个备注", CommentID: "6750538708562308221", Attach: []string{"MediaId"}},
				},
				StatuChangeEvent: 10,
			},
		}},
		{"sys_approval_change_new.xml", KindApprovalChange, &Event{
			ToUserName: "ww1cSD21f1e9c0caaa", FromUserName: "sys", CreateTime: 1571732272, MsgType: "event",
			Event: "sys_approval_change", AgentID: 3010040,
			Approval: &ApprovalInfo{
				SpNo: "202506110001", SpNoStr: "202506110001", SpName: "示例模板", SpStatus: 1,
				TemplateID: "3TkaH5KFbrG9heEQWLJjhgpFwmqAFB4dLEnapaB7aaa", ApplyTime: 1571728713,
				Applyer: ApprovalApplyer{UserID: "WuJunJie", Party: "1"}, StatuChangeEvent: 10,
			},
		}},
		// An event this package does not model: common fields only, Raw kept.
		{"open_approval_change.xml", "event.open_approval_change", &Event{
			ToUserName: "wwd08c8e7c775abaaa", FromUserName: "sys", CreateTime: 1527838022, MsgType: "event",
			Event: "open_approval_change", AgentID: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readFixture(t, tt.file)
			got, err := ParseEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreRaw); diff != "" {
				t.Errorf("ParseEvent mismatch (-want +got):\n%s", diff)
			}
			if string(got.Raw) != string(raw) {
				t.Errorf("Raw not kept verbatim")
			}
			if k := got.Kind(); k != tt.kind {
				t.Errorf("Kind() = %q, want %q", k, tt.kind)
			}
			if k := got.DedupKey(); len(k) == 0 || len(k) > 68 {
				t.Errorf("DedupKey() = %q", k)
			}
		})
	}
}

// TestParseEventOfficialVector parses the message inside the official POST
// vector, reached through the crypto layer.
func TestParseEventOfficialVector(t *testing.T) {
	c := mustCrypter(t, vecToken, vecAESKey, vecReceiveID)
	body := []byte("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + vecPostEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")
	got, err := c.OpenEvent("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", body)
	if err != nil {
		t.Fatal(err)
	}
	want := &Event{
		ToUserName: "wx5823bf96d3bd56c7", FromUserName: "mycreate", CreateTime: 1409659813, MsgType: "text",
		Content: "hello", MsgID: "4561255354251345929", AgentID: 218,
	}
	if diff := cmp.Diff(want, got, ignoreRaw); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if string(got.Raw) != vecPostMsg {
		t.Errorf("Raw = %q", got.Raw)
	}
	if k := got.DedupKey(); k != "msg:4561255354251345929" {
		t.Errorf("DedupKey() = %q", k)
	}
	if _, err := c.OpenEvent("0000000000000000000000000000000000000000", "1409659813", "1372623149", body); !errors.Is(err, ErrSignature) {
		t.Errorf("forged signature: err = %v", err)
	}
}

// TestParseEventMatchesEncodingXML cross-checks ParseEvent's wire tags
// against a plain encoding/xml struct on every fixture.
func TestParseEventMatchesEncodingXML(t *testing.T) {
	type std struct {
		ToUserName, FromUserName, MsgType, Event, ChangeType, EventKey, Content, TaskId, UserID, Name string
		CreateTime                                                                                    int64
		AgentID                                                                                       int64
	}
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s std
		if err := xml.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: encoding/xml: %v", f, err)
		}
		e, err := ParseEvent(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got := std{
			ToUserName: e.ToUserName, FromUserName: e.FromUserName, MsgType: e.MsgType, Event: e.Event,
			ChangeType: e.ChangeType, EventKey: e.EventKey, Content: e.Content, TaskId: e.TaskID,
			CreateTime: e.CreateTime, AgentID: e.AgentID,
		}
		if e.Contact != nil {
			got.UserID, got.Name = e.Contact.UserID, e.Contact.Name
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("%s: encoding/xml vs ParseEvent (-std +ours):\n%s", f, diff)
		}
	}
}

func TestParseEventUnknownKept(t *testing.T) {
	tests := []struct {
		name, xml, kind string
	}{
		{"unknown event", `<xml><ToUserName><![CDATA[ww]]></ToUserName><FromUserName><![CDATA[u]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[living_status_change]]></Event><LivingId><![CDATA[x]]></LivingId></xml>`, "event.living_status_change"},
		{"unknown msgtype", `<xml><MsgType><![CDATA[miniprogram]]></MsgType><Foo><Bar/></Foo></xml>`, "miniprogram"},
		{"unknown change type", `<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>merge_user</ChangeType></xml>`, "event.change_contact.merge_user"},
		{"no msgtype", `<xml><InfoType>suite_ticket</InfoType></xml>`, KindUnknown},
		{"event without name", `<xml><MsgType>event</MsgType></xml>`, "event"},
		{"change_contact without type", `<xml><MsgType>event</MsgType><Event>change_contact</Event></xml>`, KindChangeContact},
		{"empty root", `<xml/>`, KindUnknown},
		{"bad numbers", `<xml><MsgType>text</MsgType><CreateTime>soon</CreateTime><AgentID>99999999999999999999</AgentID></xml>`, KindText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent([]byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind() != tt.kind {
				t.Errorf("Kind() = %q, want %q", e.Kind(), tt.kind)
			}
			if string(e.Raw) != tt.xml {
				t.Errorf("Raw = %q", e.Raw)
			}
			if k := e.DedupKey(); !strings.HasPrefix(k, "evt:") || len(k) != 36 {
				t.Errorf("DedupKey() = %q", k)
			}
		})
	}
}

func TestParseEventMalformed(t *testing.T) {
	tests := []struct{ name, xml string }{
		{"empty", ""},
		{"whitespace", "  \n"},
		{"text only", "hello"},
		{"unclosed root", "<xml><ToUserName>a</ToUserName>"},
		{"mismatched tag", "<xml><A>1</B></xml>"},
		{"unterminated cdata", "<xml><A><![CDATA[abc</A></xml>"},
		{"unterminated comment", "<xml><!-- x </xml>"},
		{"unterminated pi", "<?xml version='1.0'"},
		{"bad entity", "<xml><A>a &nbsp; b</A></xml>"},
		{"bare ampersand", "<xml><A>a & b</A></xml>"},
		{"bad char ref", "<xml><A>&#0;</A></xml>"},
		{"huge ref", "<xml><A>&#99999999999;</A></xml>"},
		{"two roots", "<xml></xml><xml></xml>"},
		{"trailing text", "<xml></xml>junk"},
		{"doctype", `<!DOCTYPE xml [<!ENTITY a "b">]><xml>&a;</xml>`},
		{"bad name", "<1xml></1xml>"},
		{"attr without value", "<xml a></xml>"},
		{"unquoted attr", "<xml a=b></xml>"},
		{"lt in attr", `<xml a="<"></xml>`},
		{"truncated tag", "<xml"},
		{"lone lt", "<xml><</xml>"},
		{"end tag only", "</xml>"},
		{"invalid utf8", "<xml><A>\xff</A></xml>"},
		{"cdata outside root", "<![CDATA[x]]><xml/>"},
		{"doctype without entities", "<!DOCTYPE xml><xml/>"},
		{"declaration inside root", "<xml><!DOCTYPE x></xml>"},
		{"control char in text", "<xml><Content>a\x01b</Content></xml>"},
		{"control char in cdata", "<xml><Content><![CDATA[a\x1bb]]></Content></xml>"},
		{"control char in comment", "<xml><!-- \x00 --><Content>x</Content></xml>"},
		{"control char in pi", "<xml><?pi \x07?></xml>"},
		{"control char in attribute", "<xml a='\x02'></xml>"},
		{"unescaped cdata end in text", "<xml><Content>a]]>b</Content></xml>"},
		{"element after root", "<xml/><MsgType>text</MsgType>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent([]byte(tt.xml))
			if err == nil {
				t.Fatalf("ParseEvent accepted %q: %+v", tt.xml, e)
			}
			if !errors.Is(err, ErrXML) {
				t.Errorf("err = %v, want errors.Is ErrXML", err)
			}
			var xe *XMLError
			if !errors.As(err, &xe) || !strings.HasPrefix(err.Error(), "wecom: parse event: xml: offset ") {
				t.Errorf("err = %q", err)
			}
		})
	}
	deep := strings.Repeat("<a>", maxXMLDepth+1) + strings.Repeat("</a>", maxXMLDepth+1)
	if _, err := ParseEvent([]byte(deep)); !errors.Is(err, ErrXML) {
		t.Errorf("depth %d accepted: %v", maxXMLDepth+1, err)
	}
	ok := strings.Repeat("<a>", maxXMLDepth) + strings.Repeat("</a>", maxXMLDepth)
	if _, err := ParseEvent([]byte(ok)); err != nil {
		t.Errorf("depth %d refused: %v", maxXMLDepth, err)
	}
	huge := "<xml><Content>" + strings.Repeat("x", maxXMLSize) + "</Content></xml>"
	if _, err := ParseEvent([]byte(huge)); !errors.Is(err, ErrXML) {
		t.Errorf("%d-byte document accepted: %v", len(huge), err)
	}
}

// TestParseEventReadsLikeXML pins the three places where the old
// hand-written scanner and a standard XML parser disagreed: line ends,
// "]]>" carried across CDATA sections, and raw control characters (refused
// in TestParseEventMalformed). Content and the dedupe digest must be what
// any XML parser reads, so a retry re-encoded by another stack keeps its key.
func TestParseEventReadsLikeXML(t *testing.T) {
	std := func(raw string) string {
		var v struct{ Content string }
		if err := xml.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatalf("encoding/xml: %v", err)
		}
		return v.Content
	}
	for _, tt := range []struct{ name, content, want string }{
		{"crlf in cdata", "<![CDATA[line1\r\nline2\rline3]]>", "line1\nline2\nline3"},
		{"crlf in text", "a\r\nb", "a\nb"},
		{"cdata end split", "<![CDATA[a]]]]><![CDATA[>b]]>", "a]]>b"},
		{"cdata end escaped", "a]]&gt;b", "a]]>b"},
		{"carriage return reference", "a&#13;b", "a\rb"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := "<xml><MsgType>text</MsgType><Content>" + tt.content + "</Content></xml>"
			e, err := ParseEvent([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			if e.Content != tt.want || e.Content != std(raw) {
				t.Errorf("Content = %q, want %q (encoding/xml reads %q)", e.Content, tt.want, std(raw))
			}
			// What we write reads back the same, here and in a standard parser.
			out := e.XML()
			back, err := ParseEvent(out)
			if err != nil || back.Content != tt.want || std(string(out)) != tt.want {
				t.Errorf("XML() %s reads back as %q / %q, %v", out, back.Content, std(string(out)), err)
			}
		})
	}
	t.Run("dedupe digest ignores line ends", func(t *testing.T) {
		contact := func(nl string) string {
			return "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>" + nl +
				"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>" + nl +
				"<ChangeType><![CDATA[update_user]]></ChangeType><UserID><![CDATA[u1]]></UserID><Address><![CDATA[1 Road" + nl + "Town]]></Address></xml>"
		}
		lf, err := ParseEvent([]byte(contact("\n")))
		if err != nil {
			t.Fatal(err)
		}
		crlf, err := ParseEvent([]byte(contact("\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		if lf.Contact.Address != "1 Road\nTown" || crlf.Contact.Address != lf.Contact.Address {
			t.Errorf("Address = %q / %q", lf.Contact.Address, crlf.Contact.Address)
		}
		if lf.DedupKey() != crlf.DedupKey() {
			t.Errorf("CRLF and LF copies get different keys: %s vs %s", crlf.DedupKey(), lf.DedupKey())
		}
		other, _ := ParseEvent([]byte(strings.Replace(contact("\n"), "Town", "City", 1)))
		if other.DedupKey() == lf.DedupKey() {
			t.Error("a different address gets the same key")
		}
	})
}

// class merges the integer kinds, which convertWire converts freely.
func class(k reflect.Kind) reflect.Kind {
	if k >= reflect.Int && k <= reflect.Int64 {
		return reflect.Int64
	}
	return k
}

// TestWireTypesMatchAPI guards convertWire, which copies between an API
// type and its wire type by field name: a field missing on either side
// would silently never be read or written.
func TestWireTypesMatchAPI(t *testing.T) {
	handled := map[string]bool{ // converted by hand
		"ApprovalInfo.Notifyer": true, "approvalXML.Notifyers": true,
	}
	var check func(api, wire reflect.Type)
	check = func(api, wire reflect.Type) {
		for _, pair := range [][2]reflect.Type{{api, wire}, {wire, api}} {
			for i := range pair[0].NumField() {
				f := pair[0].Field(i)
				if handled[pair[0].Name()+"."+f.Name] {
					continue
				}
				if _, ok := pair[1].FieldByName(f.Name); !ok {
					t.Errorf("%s.%s has no namesake in %s", pair[0], f.Name, pair[1])
				}
			}
		}
		for i := range api.NumField() {
			f := api.Field(i)
			g, ok := wire.FieldByName(f.Name)
			if !ok {
				continue
			}
			a, w := f.Type, g.Type
			for a.Kind() == reflect.Pointer || a.Kind() == reflect.Slice {
				a = a.Elem()
			}
			for w.Kind() == reflect.Pointer || w.Kind() == reflect.Slice {
				w = w.Elem()
			}
			if a.Kind() == reflect.Struct {
				check(a, w)
			} else if class(a.Kind()) != class(w.Kind()) {
				t.Errorf("%s.%s: %s vs %s", api, f.Name, f.Type, g.Type)
			}
		}
	}
	check(reflect.TypeFor[ScanCodeInfo](), reflect.TypeFor[scanCodeInfoXML]())
	check(reflect.TypeFor[SendLocationInfo](), reflect.TypeFor[sendLocationInfoXML]())
	check(reflect.TypeFor[BatchJob](), reflect.TypeFor[batchJobXML]())
	check(reflect.TypeFor[SelectedItem](), reflect.TypeFor[selectedItemXML]())
	check(reflect.TypeFor[ApprovalInfo](), reflect.TypeFor[approvalXML]())
	check(reflect.TypeFor[TemplateCard](), reflect.TypeFor[cardXML]())
}

func TestParseEventTextForms(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"cdata", "<![CDATA[a<b>&c]]>", "a<b>&c"},
		{"plain", "hello world", "hello world"},
		{"entities", "a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;", `a <b> & "c" 'd'`},
		{"char refs", "&#20320;&#x597D;&#x1F600;", "你好😀"},
		{"cdata split", "<![CDATA[a]]]]><![CDATA[>b]]>", "a]]>b"},
		{"mixed", "x <![CDATA[<y>]]> &amp; z", "x <y> & z"},
		{"comment dropped", "a<!-- note -->b", "ab"},
		{"pi dropped", "a<?pi x?>b", "ab"},
		{"whitespace kept", "  <![CDATA[x]]>\n", "  x\n"},
		{"empty cdata", "<![CDATA[]]>", ""},
		{"empty", "", ""},
		{"utf8", "<![CDATA[你好，世界]]>", "你好，世界"},
		{"newlines", "<![CDATA[line1\nline2]]>", "line1\nline2"},
		// A reference to a surrogate is not an XML character; encoding/xml
		// reads it as U+FFFD rather than refusing the document.
		{"surrogate ref", "&#xD800;", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent([]byte("<xml><MsgType>text</MsgType><Content>" + tt.content + "</Content></xml>"))
			if err != nil {
				t.Fatal(err)
			}
			if e.Content != tt.want {
				t.Errorf("Content = %q, want %q", e.Content, tt.want)
			}
		})
	}
}

func TestParseEventTolerance(t *testing.T) {
	// Attributes, a BOM, an XML declaration, comments, self-closing
	// elements, whitespace in end tags and unknown nesting are all accepted.
	in := "\uFEFF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- head -->\n<xml a='1' b=\"x>y\">\n" +
		"<ToUserName  lang=\"zh\"><![CDATA[ww]]></ToUserName >\n<MsgType>text</MsgType><Empty/><Content/>" +
		"<Unknown><Deep><Deeper>1</Deeper></Deep></Unknown><CreateTime> 42 </CreateTime></xml>\n<!-- tail -->\n"
	e, err := ParseEvent([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Event{ToUserName: "ww", MsgType: "text", CreateTime: 42}
	if diff := cmp.Diff(want, e, ignoreRaw); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestContactFieldPresence(t *testing.T) {
	e, err := ParseEvent(readFixture(t, "update_user.xml"))
	if err != nil {
		t.Fatal(err)
	}
	c := e.Contact
	// Present but empty, versus absent.
	if !c.Has(FieldPosition) || c.Position != "" {
		t.Errorf("Position: Has=%v value=%q", c.Has(FieldPosition), c.Position)
	}
	if c.Has(FieldName) || c.Has(FieldEmail) || c.Has(FieldUserID|FieldEmail) {
		t.Errorf("absent fields reported present: %v", c.Present)
	}
	if !c.Has(FieldUserID | FieldNewUserID | FieldDepartment) {
		t.Errorf("Present = %v", c.Present)
	}
	if got := c.Present.String(); got != "UserID|NewUserID|Department|Position|Mobile" {
		t.Errorf("Present.String() = %q", got)
	}
	var nilChange *ContactChange
	if nilChange.Has(FieldUserID) {
		t.Error("nil ContactChange has fields")
	}
	if ContactField(0).String() != "none" {
		t.Error(ContactField(0).String())
	}
}

func TestContactListParsing(t *testing.T) {
	tests := []struct {
		name    string
		element string
		check   func(*ContactChange) bool
	}{
		{"spaces and empties", "<Department> 1, 2,,3 ,</Department>", func(c *ContactChange) bool { return cmp.Equal(c.Department, []int{1, 2, 3}) }},
		{"junk dropped", "<Department>1,x,3</Department>", func(c *ContactChange) bool { return cmp.Equal(c.Department, []int{1, 3}) }},
		{"empty list present", "<AddUserItems><![CDATA[]]></AddUserItems>", func(c *ContactChange) bool { return c.AddUserItems == nil && c.Has(FieldAddUserItems) }},
		{"pipe leaders", "<DirectLeader>lisi|wangwu</DirectLeader>", func(c *ContactChange) bool { return cmp.Equal(c.DirectLeader, []string{"lisi", "wangwu"}) }},
		{"single party", "<DelPartyItems>7</DelPartyItems>", func(c *ContactChange) bool { return cmp.Equal(c.DelPartyItems, []int{7}) }},
		{"flat ext attr", "<ExtAttr><Item><Name>n</Name><Value>v</Value></Item><Other/></ExtAttr>", func(c *ContactChange) bool {
			return cmp.Equal(c.ExtAttr, []ExtAttr{{Name: "n", Value: "v"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent([]byte("<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>update_tag</ChangeType>" + tt.element + "</xml>"))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(e.Contact) {
				t.Errorf("unexpected %+v", e.Contact)
			}
		})
	}
}

func TestDedupKey(t *testing.T) {
	parse := func(s string) *Event {
		t.Helper()
		e, err := ParseEvent([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	head := `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1700000000</CreateTime>`
	click := func(key string) string {
		return head + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[click]]></Event><EventKey><![CDATA[` + key + `]]></EventKey><AgentID>1000002</AgentID></xml>`
	}
	contact := func(changeType, user string) string {
		return `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[` + changeType + `]]></ChangeType><UserID><![CDATA[` + user + `]]></UserID></xml>`
	}
	card := func(task, key string) string {
		return head + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[` + key + `]]></EventKey><TaskId><![CDATA[` + task + `]]></TaskId><CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[rc]]></ResponseCode><AgentID>1000002</AgentID></xml>`
	}
	job := func(id string) string {
		return head + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[batch_job_result]]></Event><BatchJob><JobId><![CDATA[` + id + `]]></JobId><JobType><![CDATA[sync_user]]></JobType><ErrCode>0</ErrCode><ErrMsg><![CDATA[ok]]></ErrMsg></BatchJob></xml>`
	}
	approval := func(spNo string, ev int) string {
		return `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[sys_approval_change]]></Event><AgentID>3010040</AgentID><ApprovalInfo><SpNo>` + spNo + `</SpNo><StatuChangeEvent>` + string(rune('0'+ev)) + `</StatuChangeEvent></ApprovalInfo></xml>`
	}
	same := []struct{ name, a, b string }{
		{"retried click", click("k1"), click("k1")},
		{"retried text", `<xml><MsgType>text</MsgType><MsgId>42</MsgId><Content>a</Content></xml>`, `<xml><MsgType>text</MsgType><MsgId>42</MsgId><Content>a</Content></xml>`},
		{"retried contact change, reformatted", contact("update_user", "u1"), regexp.MustCompile(`(</[A-Za-z]+>)`).ReplaceAllString(contact("update_user", "u1"), "$1\n  ")},
		{"retried card click", card("t1", "approve"), card("t1", "approve")},
		{"official sample twice", string(readFixture(t, "sys_approval_change.xml")), string(readFixture(t, "sys_approval_change.xml"))},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			if ka, kb := parse(tt.a).DedupKey(), parse(tt.b).DedupKey(); ka != kb {
				t.Errorf("keys differ: %q vs %q", ka, kb)
			}
		})
	}
	differ := []struct{ name, a, b string }{
		{"event key", click("k1"), click("k2")},
		{"change type", contact("create_user", "u1"), contact("update_user", "u1")},
		{"contact user", contact("update_user", "u1"), contact("update_user", "u2")},
		{"card task", card("t1", "approve"), card("t2", "approve")},
		{"card button", card("t1", "approve"), card("t1", "reject")},
		{"job id", job("j1"), job("j2")},
		{"approval number", approval("202401010001", 1), approval("202401010002", 1)},
		{"approval step", approval("202401010001", 1), approval("202401010001", 2)},
		{"agent", click("k1"), strings.Replace(click("k1"), "1000002", "1000003", 1)},
		{"message ids", `<xml><MsgType>text</MsgType><MsgId>42</MsgId></xml>`, `<xml><MsgType>text</MsgType><MsgId>43</MsgId></xml>`},
		{"unknown event payload", head + `<MsgType>event</MsgType><Event>x_new</Event><Foo>1</Foo></xml>`, head + `<MsgType>event</MsgType><Event>x_new</Event><Foo>2</Foo></xml>`},
	}
	for _, tt := range differ {
		t.Run("differ/"+tt.name, func(t *testing.T) {
			if ka, kb := parse(tt.a).DedupKey(), parse(tt.b).DedupKey(); ka == kb {
				t.Errorf("keys collide: %q", ka)
			}
		})
	}
	t.Run("shape", func(t *testing.T) {
		if k := parse(`<xml><MsgType>text</MsgType><MsgId>1234567890123456</MsgId></xml>`).DedupKey(); k != "msg:1234567890123456" {
			t.Errorf("message key = %q", k)
		}
		long := strings.Repeat("9", 300)
		if k := parse(`<xml><MsgType>text</MsgType><MsgId>` + long + `</MsgId></xml>`).DedupKey(); len(k) != 36 || !strings.HasPrefix(k, "msg:") {
			t.Errorf("long message id key = %q", k)
		}
		if k := parse(click("k")).DedupKey(); len(k) != 36 || !strings.HasPrefix(k, "evt:") {
			t.Errorf("event key = %q", k)
		}
		// A hand-built event without Raw still gets a key.
		if k := (&Event{MsgType: "event", Event: "change_contact"}).DedupKey(); len(k) != 36 {
			t.Errorf("hand-built key = %q", k)
		}
	})
}

func TestEventXMLRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			e, err := ParseEvent(readFixture(t, filepath.Base(f)))
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseEvent(e.XML())
			if err != nil {
				t.Fatalf("re-parse %s: %v", e.XML(), err)
			}
			if diff := cmp.Diff(e, back, ignoreRaw); diff != "" {
				t.Errorf("round trip (-parsed +rebuilt):\n%s\n%s", diff, e.XML())
			}
		})
	}
}

// TestEventXMLShapes pins the exact bytes the simulator sends for the kinds
// it produces, against the documented samples.
func TestEventXMLShapes(t *testing.T) {
	tests := []struct {
		name string
		e    *Event
		want string
	}{
		{"text", &Event{ToUserName: "corpid", FromUserName: "userid", CreateTime: 1348831860, MsgType: "text", Content: "this is a test", MsgID: "1234567890123456", AgentID: 1},
			`<xml><ToUserName><![CDATA[corpid]]></ToUserName><FromUserName><![CDATA[userid]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>`},
		{"enter_agent", &Event{ToUserName: "toUser", FromUserName: "FromUser", CreateTime: 1408091189, MsgType: "event", Event: "enter_agent", AgentID: 1},
			`<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[FromUser]]></FromUserName><CreateTime>1408091189</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><EventKey><![CDATA[]]></EventKey><AgentID>1</AgentID></xml>`},
		{"template_card_event", &Event{ToUserName: "corpid", FromUserName: "userid", CreateTime: 123456789, MsgType: "event", Event: "template_card_event",
			EventKey: "button_key", TaskID: "task_id", CardType: "button_interaction", ResponseCode: "rc", AgentID: 1,
			SelectedItems: []SelectedItem{{QuestionKey: "q1", OptionIDs: []string{"o1", "o2"}}}},
			strings.ReplaceAll(string(readFixture(t, "template_card_event.xml")), "\n", "")},
		{"batch_job_result", &Event{ToUserName: "wx28dbb14e3720FAKE", FromUserName: "FromUser", CreateTime: 1425284517, MsgType: "event", Event: "batch_job_result",
			BatchJob: &BatchJob{JobID: "S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4", JobType: "sync_user", ErrMsg: "ok"}},
			strings.TrimSpace(string(readFixture(t, "batch_job_result.xml")))},
		{"update_tag", &Event{ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event", Event: "change_contact", ChangeType: "update_tag",
			Contact: &ContactChange{TagID: 1, AddUserItems: []string{"zhangsan", "lisi"}, DelUserItems: []string{"zhangsan1", "lisi1"}, AddPartyItems: []int{1, 2}, DelPartyItems: []int{3, 4}}},
			strings.TrimSpace(string(readFixture(t, "update_tag.xml")))},
		{"minimal update_user", &Event{ToUserName: "toUser", FromUserName: "sys", CreateTime: 1700000000, MsgType: "event", Event: "change_contact", ChangeType: "update_user",
			Contact: &ContactChange{UserID: "zhangsan", Department: []int{1, 2, 3}, Name: "ignored", Present: FieldUserID | FieldDepartment}},
			strings.TrimSpace(string(readFixture(t, "update_user_minimal.xml")))},
		{"cdata terminator in text", &Event{MsgType: "text", Content: "a]]>b"},
			`<xml><ToUserName><![CDATA[]]></ToUserName><FromUserName><![CDATA[]]></FromUserName><CreateTime>0</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.e.XML()); got != tt.want {
				t.Errorf("XML()\n got %s\nwant %s", got, tt.want)
			}
			back, err := ParseEvent(tt.e.XML())
			if err != nil {
				t.Fatal(err)
			}
			if back.Content != tt.e.Content || back.Kind() != tt.e.Kind() {
				t.Errorf("round trip: %+v", back)
			}
		})
	}
}
