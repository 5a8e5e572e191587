package wecom_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

const sendPath = "/cgi-bin/message/send"

func approvalCard(taskID string) *wecom.TemplateCard {
	return &wecom.TemplateCard{
		CardType:  wecom.CardButtonInteraction,
		Source:    &wecom.CardSource{Desc: "一站式服务大厅", DescColor: 1},
		MainTitle: &wecom.CardTitle{Title: "请假申请", Desc: "学生1 · 3月4日"},
		TaskID:    taskID,
		HorizontalContentList: []wecom.CardHorizontalContent{
			{KeyName: "申请人", Value: "学生1"},
			{KeyName: "事由", Value: "病假"},
		},
		ButtonList: []wecom.CardButton{
			{Text: "同意", Style: 1, Key: "approve"},
			{Text: "驳回", Style: 2, Key: "reject"},
		},
	}
}

func TestSendMessages(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	tests := []struct {
		name string
		m    *wecom.Message
		want wecom.SendResult // MsgID and ResponseCode checked for presence only
		rc   bool
	}{
		{
			name: "text with an invalid member",
			m:    &wecom.Message{ToUser: []string{"lihua", "Nobody"}, Text: &wecom.Text{Content: `请查看 <a href="https://h5.example.edu.cn/">大厅</a>`}},
			want: wecom.SendResult{InvalidUsers: []string{"nobody"}},
		},
		{
			name: "textcard to a department",
			m:    &wecom.Message{ToParty: []string{"8"}, TextCard: &wecom.TextCard{Title: "缴费提醒", Description: `<div class="gray">2025年3月3日</div>`, URL: "https://h5.example.edu.cn/pay", BtnTxt: "去缴费"}},
		},
		{
			name: "news to a tag",
			m:    &wecom.Message{ToTag: []string{"1"}, News: &wecom.News{Articles: []wecom.Article{{Title: "通知", URL: "https://h5.example.edu.cn/n/1", PicURL: "https://h5.example.edu.cn/p.png"}}}},
		},
		{
			name: "markdown",
			m:    &wecom.Message{ToUser: []string{"wangfang"}, Markdown: &wecom.Markdown{Content: "**待办** 3 项\n> [查看](https://h5.example.edu.cn/todo)"}},
		},
		{
			name: "text_notice card",
			m: &wecom.Message{ToUser: []string{"wangfang"}, TemplateCard: &wecom.TemplateCard{
				CardType: wecom.CardTextNotice, MainTitle: &wecom.CardTitle{Title: "成绩已发布"},
				EmphasisContent: &wecom.CardTitle{Title: "92", Desc: "数据结构"},
				CardAction:      &wecom.CardAction{Type: 1, URL: "https://h5.example.edu.cn/grades"},
			}},
		},
		{
			name: "news_notice card",
			m: &wecom.Message{ToUser: []string{"wangfang"}, TemplateCard: &wecom.TemplateCard{
				CardType: wecom.CardNewsNotice, MainTitle: &wecom.CardTitle{Title: "校园新闻"},
				CardImage:           &wecom.CardImage{URL: "https://h5.example.edu.cn/a.png", AspectRatio: 2.25},
				VerticalContentList: []wecom.CardTitle{{Title: "开学典礼", Desc: "3月1日"}},
				CardAction:          &wecom.CardAction{Type: 1, URL: "https://h5.example.edu.cn/news"},
			}},
		},
		{
			name: "button_interaction card",
			m:    &wecom.Message{ToUser: []string{"lihua"}, TemplateCard: approvalCard("leave1")},
			rc:   true,
		},
		{
			name: "vote_interaction card",
			m: &wecom.Message{ToUser: []string{"lihua"}, TemplateCard: &wecom.TemplateCard{
				CardType: wecom.CardVoteInteraction, TaskID: "vote1", MainTitle: &wecom.CardTitle{Title: "午餐"},
				CheckBox:     &wecom.CardCheckBox{QuestionKey: "q1", Mode: 1, OptionList: []wecom.CardOption{{ID: "a", Text: "面"}, {ID: "b", Text: "饭", IsChecked: true}}},
				SubmitButton: &wecom.CardSubmitButton{Text: "提交", Key: "submit"},
			}},
			rc: true,
		},
		{
			name: "multiple_interaction card",
			m: &wecom.Message{ToUser: []string{"lihua"}, TemplateCard: &wecom.TemplateCard{
				CardType: wecom.CardMultipleInteraction, TaskID: "multi1", MainTitle: &wecom.CardTitle{Title: "选课"},
				SelectList:   []wecom.CardSelection{{QuestionKey: "c1", Title: "课程", OptionList: []wecom.CardOption{{ID: "1", Text: "数学"}, {ID: "2", Text: "英语"}}}},
				SubmitButton: &wecom.CardSubmitButton{Text: "提交", Key: "submit"},
			}},
			rc: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := hall.SendMessage(ctx, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if res.MsgID == "" {
				t.Error("no msgid")
			}
			if (res.ResponseCode != "") != tt.rc {
				t.Errorf("response_code = %q, want present=%v", res.ResponseCode, tt.rc)
			}
			if tt.m.TemplateCard != nil {
				it, ok := e.sim.InboxItemByMsgID(tt.m.ToUser[0], res.MsgID)
				if !ok || it.Card == nil || it.Card.CardType != tt.m.TemplateCard.CardType || it.Card.TaskID != tt.m.TemplateCard.TaskID {
					t.Errorf("inbox copy = %+v, %v", it, ok)
				}
			}
			got := *res
			got.MsgID, got.ResponseCode = "", ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}

	if _, err := hall.SendMessage(ctx, &wecom.Message{ToUser: []string{"nobody"}, Text: &wecom.Text{Content: "x"}}); !wecom.IsCode(err, wecom.CodeAllRecipientsBad) {
		t.Errorf("all invalid: %v, want 81013", err)
	}
	if _, err := e.contacts(t).SendMessage(ctx, &wecom.Message{ToUser: []string{"lihua"}, Text: &wecom.Text{Content: "x"}}); !wecom.IsCode(err, wecom.CodeNoPermission) {
		t.Errorf("send with the contacts secret: %v, want 48002", err)
	}
}

func TestSendIsNeverRepeatedWhenUncertain(t *testing.T) {
	text := func(dedupe bool) *wecom.Message {
		return &wecom.Message{ToUser: []string{"lihua"}, Text: &wecom.Text{Content: "一次"}, EnableDuplicateCheck: dedupe}
	}
	tests := []struct {
		name      string
		fault     wecomsim.Fault
		dedupe    bool
		ok        bool
		calls     int
		uncertain bool
	}{
		{"503 may have been delivered", wecomsim.Fault{Status: 503}, false, false, 1, true},
		{"dropped connection may have been delivered", wecomsim.Fault{Drop: true}, false, false, 1, true},
		{"system busy may have been delivered", wecomsim.Fault{ErrCode: -1}, false, false, 1, true},
		{"frequency limit is a rejection: resent", wecomsim.Fault{ErrCode: 45009}, false, true, 2, false},
		{"expired token is a rejection: resent once", wecomsim.Fault{ErrCode: 42001}, false, true, 2, false},
		{"503 with duplicate check: resent", wecomsim.Fault{Status: 503}, true, true, 2, false},
		{"drop with duplicate check: resent", wecomsim.Fault{Drop: true}, true, true, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			hall := e.hall(t)
			f := tt.fault
			f.Path, f.Times = sendPath, 1
			e.sim.AddFault(f)
			_, err := hall.SendMessage(ctx, text(tt.dedupe))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && wecom.Uncertain(err) != tt.uncertain {
				t.Errorf("Uncertain(%v) = %v, want %v", err, wecom.Uncertain(err), tt.uncertain)
			}
			if n := e.calls(sendPath); n != tt.calls {
				t.Errorf("%d message/send calls, want %d", n, tt.calls)
			}
			delivered := 0
			if tt.ok {
				delivered = 1
			}
			if n := len(e.sim.Inbox("lihua")); n != delivered {
				t.Errorf("lihua received %d copies, want %d", n, delivered)
			}
		})
	}
}

func TestUpdateTemplateCardAndRecall(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	res, err := hall.SendMessage(ctx, &wecom.Message{ToUser: []string{"lihua", "wangfang"}, TemplateCard: approvalCard("leave2")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := hall.UpdateTemplateCard(ctx, &wecom.CardUpdate{UserIDs: []string{"lihua", "nobody"}, ResponseCode: res.ResponseCode, ReplaceName: "已同意"})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(up.InvalidUsers, []string{"nobody"}) {
		t.Errorf("invaliduser = %v, want [nobody]", up.InvalidUsers)
	}
	// A response_code is single-use.
	_, err = hall.UpdateTemplateCard(ctx, &wecom.CardUpdate{AtAll: true, ResponseCode: res.ResponseCode, ReplaceName: "已处理"})
	if !wecom.IsCode(err, 60140) {
		t.Errorf("reused response_code: %v, want 60140", err)
	}
	if n := e.calls("/cgi-bin/message/update_template_card"); n != 2 {
		t.Errorf("%d update calls, want 2", n)
	}

	// Full-card form.
	res2, err := hall.SendMessage(ctx, &wecom.Message{ToUser: []string{"lihua"}, TemplateCard: approvalCard("leave3")})
	if err != nil {
		t.Fatal(err)
	}
	card := approvalCard("leave3")
	card.ReplaceText = "已驳回"
	if _, err := hall.UpdateTemplateCard(ctx, &wecom.CardUpdate{AtAll: true, ResponseCode: res2.ResponseCode, Card: card}); err != nil {
		t.Fatal(err)
	}
	if _, err := hall.UpdateTemplateCard(ctx, &wecom.CardUpdate{ResponseCode: "x"}); err == nil {
		t.Error("update without ReplaceName or Card accepted")
	}

	if err := hall.RecallMessage(ctx, res2.MsgID); err != nil {
		t.Fatal(err)
	}
}
