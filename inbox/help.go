package inbox

import (
	"strings"

	"github.com/wecomapp/wecomapp/wecom"
)

// DefaultHelpText is the answer to "help": what the platform does for a
// teacher or student, in the words they see on their phone.
const DefaultHelpText = "企业微信一站式服务平台可以帮您：\n" +
	"· 工作台：点开应用即进入与您身份相关的服务（教师、学生、管理员各不相同）\n" +
	"· 消息中心：接收学校通知、提醒与待办，不错过重要事项\n" +
	"· 审批：在消息卡片上直接同意或驳回，随时查看进度\n" +
	"· 通讯录：院系、班级与人员由学校数据中心自动同步\n" +
	"如需再次查看本说明，请回复“帮助”或“help”。"

// HelpReplier answers a text message asking for help (see IsHelp) with a
// passive text reply of text. Register it for wecom.KindText:
//
//	ib.RegisterReply(wecom.KindText, inbox.HelpReplier(inbox.DefaultHelpText))
//
// The reply's CreateTime is the message's, so a re-delivered message gets
// the very same reply.
func HelpReplier(text string) Replier {
	return func(ev *wecom.Event) ([]byte, bool) {
		if ev.MsgType != wecom.KindText || !IsHelp(ev.Content) {
			return nil, false
		}
		return wecom.NewTextReply(ev.FromUserName, ev.ToUserName, ev.CreateTime, text).XML(), true
	}
}

// RegisterHelp registers HelpReplier(DefaultHelpText) for text messages.
func RegisterHelp(ib *Inbox) {
	ib.RegisterReply(wecom.KindText, HelpReplier(DefaultHelpText))
}

// IsHelp reports whether a member's message asks for help: "help" (any
// case), "帮助", or a lone "?" or "？", ignoring surrounding spaces and a
// leading slash.
func IsHelp(content string) bool {
	s := strings.TrimPrefix(strings.TrimSpace(content), "/")
	return strings.EqualFold(s, "help") || s == "帮助" || s == "？" || s == "?"
}
