package wecom

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreReplyRaw = cmpopts.IgnoreFields(Reply{}, "Raw")

func TestReplyXMLShapes(t *testing.T) {
	tests := []struct {
		name string
		r    *Reply
		want string
	}{
		{"text", NewTextReply("mycreate", "wx5823bf96d3bd56c7", 1348831860, "this is a test"),
			`<xml><ToUserName><![CDATA[mycreate]]></ToUserName><FromUserName><![CDATA[wx5823bf96d3bd56c7]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content></xml>`},
		// docs/wecom.md §3, passive reply to a card event.
		{"update_button", NewButtonReply("userid", "corpid", 1357290913, "已同意"),
			`<xml><ToUserName><![CDATA[userid]]></ToUserName><FromUserName><![CDATA[corpid]]></FromUserName><CreateTime>1357290913</CreateTime><MsgType><![CDATA[update_button]]></MsgType><Button><ReplaceName><![CDATA[已同意]]></ReplaceName></Button></xml>`},
		// docs/wecom.md §3, full-card replacement example.
		{"update_template_card", NewCardReply("userid", "corpid", 1357290913, &TemplateCard{
			CardType:    "button_interaction",
			MainTitle:   &CardTitle{Title: "请假申请"},
			ButtonList:  []CardButton{{Text: "同意", Style: 1, Key: "approve"}},
			ReplaceText: "已同意",
		}),
			`<xml><ToUserName><![CDATA[userid]]></ToUserName><FromUserName><![CDATA[corpid]]></FromUserName><CreateTime>1357290913</CreateTime><MsgType><![CDATA[update_template_card]]></MsgType><TemplateCard><CardType><![CDATA[button_interaction]]></CardType><MainTitle><Title><![CDATA[请假申请]]></Title></MainTitle><ButtonList><Text><![CDATA[同意]]></Text><Style>1</Style><Key><![CDATA[approve]]></Key></ButtonList><ReplaceText><![CDATA[已同意]]></ReplaceText></TemplateCard></xml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.XML()
			if string(got) != tt.want {
				t.Errorf("XML()\n got %s\nwant %s", got, tt.want)
			}
			back, err := ParseReply(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.r, back, ignoreReplyRaw); diff != "" {
				t.Errorf("round trip (-built +parsed):\n%s", diff)
			}
		})
	}
}

// TestParseReplyCards reads full cards as another Go WeCom library renders
// them (FromUserName first, no CreateTime, explicit Disable=false).
func TestParseReplyCards(t *testing.T) {
	tests := []struct {
		file string
		want *TemplateCard
	}{
		{"text_notice.xml", &TemplateCard{
			CardType: "text_notice",
			Source:   &CardSource{IconURL: "source_url", Desc: "更新后的卡片", DescColor: 2},
			ActionMenu: &CardActionMenu{Desc: "您可以使用以下功能", ActionList: []CardMenuAction{
				{Text: "您将收到A回调", Key: "A"}, {Text: "您将收到B回调", Key: "B"},
			}},
			MainTitle:       &CardTitle{Title: "更新后的卡片标题", Desc: "更新后的卡片副标题"},
			QuoteArea:       &CardQuoteArea{Type: 1, URL: "quote_area_url", Title: "企业微信", QuoteText: "企业微信真好用呀"},
			EmphasisContent: &CardTitle{Title: "100万", Desc: "核心数据实例"},
			SubTitleText:    "更新后的卡片二级标题",
			HorizontalContentList: []CardHorizontalContent{
				{KeyName: "应用名称", Value: "企业微信"},
				{Type: 1, KeyName: "跳转企业微信", Value: "跳转企业微信", URL: "url"},
			},
			JumpList:   []CardJump{{Type: 1, Title: "跳转企业微信", URL: "jump_url"}},
			CardAction: &CardAction{Type: 1, URL: "jump_url"},
		}},
		{"button_interaction.xml", &TemplateCard{
			CardType: "button_interaction",
			Source:   &CardSource{IconURL: "source_url", Desc: "更新后的卡片", DescColor: 2},
			ActionMenu: &CardActionMenu{Desc: "您可以使用以下功能", ActionList: []CardMenuAction{
				{Text: "您将收到A回调", Key: "A"}, {Text: "您将收到B回调", Key: "B"},
			}},
			MainTitle:    &CardTitle{Title: "更新后的卡片标题", Desc: "更新后的卡片副标题"},
			QuoteArea:    &CardQuoteArea{Type: 1, URL: "quote_area_url", Title: "企业微信", QuoteText: "企业微信真好用呀"},
			SubTitleText: "更新后的卡片二级标题",
			HorizontalContentList: []CardHorizontalContent{
				{KeyName: "应用名称", Value: "企业微信"},
				{Type: 1, KeyName: "跳转企业微信", Value: "跳转企业微信", URL: "url"},
			},
			CardAction: &CardAction{Type: 1, URL: "jump_url"},
			ButtonSelection: &CardSelection{QuestionKey: "QuestionKey1", Title: "下拉式选择器", SelectedID: "option_id2",
				OptionList: []CardOption{{ID: "option_id1", Text: "选择题选项1"}, {ID: "option_id2", Text: "选择题选项2"}}},
			ButtonList:  []CardButton{{Text: "按钮1", Style: 1, Key: "button_key_1"}, {Text: "按钮2", Style: 2, Key: "button_key_2"}},
			ReplaceText: "已提交",
		}},
		{"vote_interaction.xml", &TemplateCard{
			CardType:  "vote_interaction",
			Source:    &CardSource{IconURL: "source_url", Desc: "更新后的卡片"},
			MainTitle: &CardTitle{Title: "更新后的卡片标题", Desc: "更新后的卡片副标题"},
			CheckBox: &CardCheckBox{QuestionKey: "QuestionKey1", Mode: 1, OptionList: []CardOption{
				{ID: "option_id1", Text: "选择题选项1", IsChecked: true}, {ID: "option_id2", Text: "选择题选项2"},
			}},
			SubmitButton: &CardSubmitButton{Text: "提交", Key: "Key"},
			ReplaceText:  "已提交",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := ParseReply(readFixture(t, filepath.Join("reply", tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if r.MsgType != ReplyUpdateTemplateCard || r.ToUserName != "ToUserName" || r.FromUserName != "FromUserName" {
				t.Errorf("header = %+v", r)
			}
			if diff := cmp.Diff(tt.want, r.TemplateCard); diff != "" {
				t.Errorf("card (-want +got):\n%s", diff)
			}
			// Our rendering of the same card reads back identically.
			back, err := ParseReply(NewCardReply("u", "c", 1, r.TemplateCard).XML())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, back.TemplateCard); diff != "" {
				t.Errorf("re-rendered card (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReplyThroughCrypter is the path of a passive reply: built, encrypted
// by Crypter.Reply, then opened and parsed the way the WeCom side does.
func TestReplyThroughCrypter(t *testing.T) {
	c := mustCrypter(t, vecToken, vecAESKey, vecReceiveID)
	want := NewButtonReply("zhangsan", vecReceiveID, 1409659813, "已驳回")
	body, err := c.Reply(want.XML(), "1409659813", "1372623149")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.OpenReply(body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseReply(plain)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, ignoreReplyRaw); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseReplyMalformed(t *testing.T) {
	for _, in := range []string{"", "success", "<xml><MsgType>text</xml>", "<xml><Content>&bogus;</Content></xml>"} {
		if _, err := ParseReply([]byte(in)); !errors.Is(err, ErrXML) {
			t.Errorf("ParseReply(%q) err = %v, want ErrXML", in, err)
		}
	}
	r, err := ParseReply([]byte(`<xml><MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount></xml>`))
	if err != nil || r.MsgType != "news" || r.TemplateCard != nil {
		t.Errorf("unknown reply type: %+v, %v", r, err)
	}
}

// TestTemplateCardJSON checks the json tags against the message/send shape
// so the same struct can be sent and replaced.
func TestTemplateCardJSON(t *testing.T) {
	card := &TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "审批", DescColor: 1},
		TaskID:       "req-42",
		MainTitle:    &CardTitle{Title: "请假申请", Desc: "张三 3 天"},
		CheckBox:     &CardCheckBox{QuestionKey: "q", OptionList: []CardOption{{ID: "a", Text: "A", IsChecked: true}}, Mode: 1},
		ButtonList:   []CardButton{{Text: "同意", Style: 1, Key: "approve"}, {Text: "驳回", Style: 2, Key: "reject"}},
		SubmitButton: &CardSubmitButton{Text: "提交", Key: "submit"},
	}
	got, err := json.Marshal(card)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"card_type":"button_interaction","source":{"desc":"审批","desc_color":1},"task_id":"req-42","main_title":{"title":"请假申请","desc":"张三 3 天"},"button_list":[{"text":"同意","style":1,"key":"approve"},{"text":"驳回","style":2,"key":"reject"}],"checkbox":{"question_key":"q","option_list":[{"id":"a","text":"A","is_checked":true}],"mode":1},"submit_button":{"text":"提交","key":"submit"}}`
	if string(got) != want {
		t.Errorf("json\n got %s\nwant %s", got, want)
	}
}
