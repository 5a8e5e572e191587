package h5

// Views of the message center: a member's notices (app_messages,
// app_message) and the console's mass messaging (admin_messages,
// admin_message). A message's content reaches the page as structure
// (blocks of spans, a card's fields), never as HTML: the templates escape
// every piece, so whatever a producer sent cannot become markup.

// MsgSpan is a run of text in a paragraph: plain, bold, code, coloured
// (WeCom markdown's <font color="info|comment|warning">) or a link.
type MsgSpan struct {
	Text       string
	Bold, Code bool
	Color      string // "", info, comment or warning
	Href       string // a link (http or https only)
}

// MsgBlock is one block of a message's text: a paragraph, a heading
// (Level 1..6), a quote, or a code block (Code holds its lines).
type MsgBlock struct {
	Kind  string // p | h | quote | code
	Level int
	Spans []MsgSpan
	Code  string
}

// MsgLink is a link with its text.
type MsgLink struct{ Title, Href string }

// MsgField is a card's key/value line.
type MsgField struct{ Key, Value, Href string }

// MsgCard is a template card (or a textcard) as the page draws it.
type MsgCard struct {
	Source, Title, Desc string
	// Emphasis is text_notice's big figure and its caption.
	Emphasis, EmphasisDesc string
	Quote, Sub             string
	Fields                 []MsgField
	Jumps                  []MsgLink
	// Action is where tapping the card goes; Button is the textcard's
	// button text.
	Action, Button string
	// Interactive: a card with buttons or choices, answered in WeCom.
	Interactive bool
}

// MsgArticle is one article of a news message.
type MsgArticle struct{ Title, Desc, Href string }

// MsgContent is a message's content as a page shows it: text blocks, a
// card or articles, whichever its type has.
type MsgContent struct {
	MsgType  string
	Blocks   []MsgBlock
	Card     *MsgCard
	Articles []MsgArticle
}

// MessageItem is one notice in a list.
type MessageItem struct {
	ID                         int64
	Href, Title, Summary, From string
	At                         string
	Unread                     bool
}

// MessageSource is one entry of the source filter.
type MessageSource struct {
	Key, Name, Href string
	Current         bool
}

// AppMessages is a member's message center (page app_messages).
type AppMessages struct {
	Page
	Unread  int
	Source  string // the filter, "" for all
	Sources []MessageSource
	Items   []MessageItem
	// More: the list shows the newest only.
	More bool
}

// AppMessage is one notice in full (page app_message).
type AppMessage struct {
	Page
	Item    MessageItem
	Content MsgContent
}

// AdminOption is a choice in a picker.
type AdminOption struct {
	Value, Name string
	Depth       int // departments: how deep in the tree
	Checked     bool
}

// MessageForm is the compose form as typed.
type MessageForm struct {
	MsgType                     string // text | textcard | markdown | news | template_card
	Title, Content, URL, BtnTxt string
	PicURL                      string
	SendAt                      string // "2006-01-02T15:04" local, "" now
	Tags, Depts, Roles          []AdminOption
	Children, All               bool
	UserIDs                     string
	Token                       string // the form's idempotency key
}

// MessagePreview is a composed message as its recipients will see it.
type MessagePreview struct {
	WeCom MsgContent
	// WeChat is what a WeChat-plugin member gets instead, when the type
	// is one WeChat does not show (markdown, template cards): a textcard
	// linking to the full text.
	WeChat *MsgCard
}

// AdminMessageRow is a sent message or a draft in the console's lists.
type AdminMessageRow struct {
	ID                         int64
	Href, Summary, MsgType, By string
	At, State, SendAt          string
	Named, Reach               int
	Mine                       bool // a draft its viewer composed: someone else must approve it
}

// AdminMessages is the console's mass messaging (page admin_messages).
type AdminMessages struct {
	AdminPage
	Form       MessageForm
	FieldError map[string]string
	// Counted: the recipients were counted (Members, and the threshold
	// above which a second admin must approve).
	Counted   bool
	Members   int
	Threshold int
	Preview   *MessagePreview
	Drafts    []AdminMessageRow
	Sent      []AdminMessageRow
	Next      int64
}

// AdminReportRow is one recipient of a delivery report.
type AdminReportRow struct {
	UserID, Channel, Outcome, At, ReadAt string
	ErrCode                              int
}

// AdminOutcome is one count of a delivery report.
type AdminOutcome struct {
	Key, Name string
	N         int
}

// AdminMessage is one sent message's delivery report (page admin_message).
type AdminMessage struct {
	AdminPage
	ID                                int64
	Summary, MsgType, State, Lane, By string
	At, SendAt                        string
	Content                           MsgContent
	Outcomes                          []AdminOutcome
	Total, Read                       int
	Outcome                           string // the table's filter
	Rows                              []AdminReportRow
	Next                              int64
	CanRecall                         bool
	// ETA says when a message still sending should be done.
	ETA string
}

func init() {
	labels["msgtype"] = map[string]string{"text": "文本", "textcard": "文本卡片", "markdown": "Markdown", "news": "图文", "template_card": "模板卡片"}
	labels["msgstate"] = map[string]string{"queued": "排队中", "sending": "发送中", "done": "已完成", "recalled": "已撤回", "expired": "已过期"}
	labels["outcome"] = map[string]string{"pending": "等待发送", "waiting": "等待发送", "delivered": "已送达", "invalid": "无效成员", "out_of_range": "不在可见范围",
		"failed": "发送失败", "expired": "已过期", "recalled": "已撤回"}
	labels["channel"] = map[string]string{"wecom": "企业微信", "wecom_textcard": "微信插件（文本卡片）", "sms": "短信"}
}

// AdminChannels is the console's page of members marked by hand as
// reading messages in the WeChat plugin or in WeCom (page admin_channels).
type AdminChannels struct {
	AdminPage
	// Detected is how many people get textcards: their latest sign-in
	// came from the WeChat plugin, or an admin marked them so.
	Detected   int
	Marks      []AdminChannel
	Form       AdminChannel
	FieldError map[string]string
}

// AdminChannel is one mark (or the form).
type AdminChannel struct {
	UserID, Name, Client, Note, SetBy, SetAt string
}
