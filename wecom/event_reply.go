package wecom

import "fmt"

// Reply is a passive reply: the plaintext XML returned (encrypted by
// Crypter.Reply) in the response to a callback POST. ToUserName is the
// member, FromUserName the corp id.
//
// Supported MsgTypes: text (Content), update_button (ReplaceName: relabels
// the clicked card's buttons for that member) and update_template_card
// (TemplateCard: replaces that member's whole card). Other MsgTypes parse
// with only the common fields and Raw.
type Reply struct {
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      string
	Content      string        // text
	ReplaceName  string        // update_button: Button/ReplaceName
	TemplateCard *TemplateCard // update_template_card
	Raw          []byte        // set by ParseReply
}

// Passive reply MsgTypes.
const (
	ReplyText               = "text"
	ReplyUpdateButton       = "update_button"
	ReplyUpdateTemplateCard = "update_template_card"
)

// NewTextReply answers a member with a text message.
func NewTextReply(toUser, corpID string, createTime int64, content string) *Reply {
	return &Reply{ToUserName: toUser, FromUserName: corpID, CreateTime: createTime, MsgType: ReplyText, Content: content}
}

// NewButtonReply relabels the buttons of the card the member clicked (for
// button_interaction, vote_interaction and multiple_interaction cards), e.g.
// "已同意". It affects only that member's copy of the card.
func NewButtonReply(toUser, corpID string, createTime int64, replaceName string) *Reply {
	return &Reply{ToUserName: toUser, FromUserName: corpID, CreateTime: createTime, MsgType: ReplyUpdateButton, ReplaceName: replaceName}
}

// NewCardReply replaces the whole card the member clicked.
func NewCardReply(toUser, corpID string, createTime int64, card *TemplateCard) *Reply {
	return &Reply{ToUserName: toUser, FromUserName: corpID, CreateTime: createTime, MsgType: ReplyUpdateTemplateCard, TemplateCard: card}
}

// XML renders the reply in the documented shape; pass the result to
// Crypter.Reply. Raw is ignored.
func (r *Reply) XML() []byte {
	w := &replyXML{
		ToUserName: cdata(r.ToUserName), FromUserName: cdata(r.FromUserName),
		CreateTime: xint(r.CreateTime), MsgType: cdata(r.MsgType),
	}
	if r.Content != "" || r.MsgType == ReplyText {
		w.Content = ptr(cdata(r.Content))
	}
	if r.ReplaceName != "" || r.MsgType == ReplyUpdateButton {
		w.Button = &replyButtonXML{ReplaceName: cdata(r.ReplaceName)}
	}
	if r.TemplateCard != nil {
		w.TemplateCard = cardWire(r.TemplateCard)
	}
	return appendXML(make([]byte, 0, 512), w)
}

// ParseReply reads a passive reply the way WeCom would (the simulator uses
// it on the decrypted response), with the same rules as ParseEvent. Only
// malformed XML is an error.
func ParseReply(raw []byte) (*Reply, error) {
	var w replyXML
	if err := decodeXML(raw, &w); err != nil {
		return nil, fmt.Errorf("wecom: parse reply: %w", err)
	}
	r := &Reply{
		ToUserName: string(w.ToUserName), FromUserName: string(w.FromUserName),
		CreateTime: int64(w.CreateTime), MsgType: string(w.MsgType), Content: w.Content.get(),
		Raw: append([]byte(nil), raw...),
	}
	if w.Button != nil {
		r.ReplaceName = string(w.Button.ReplaceName)
	}
	if w.TemplateCard != nil {
		r.TemplateCard = w.TemplateCard.card()
	}
	return r, nil
}

// replyXML is a passive reply on the wire (see eventXML).
type replyXML struct {
	ToUserName   cdata
	FromUserName cdata
	CreateTime   xint
	MsgType      cdata
	Content      *cdata
	Button       *replyButtonXML
	TemplateCard *cardXML
}

type replyButtonXML struct {
	ReplaceName cdata
}

// TemplateCard is a template card (模板卡片). The XML form, used by the
// update_template_card passive reply, names each field in CamelCase
// (IconUrl, MainTitle, ButtonList…) with lists as repeated elements; the
// json tags give the message/send and message/update_template_card API
// form, so the same value can be sent and later replaced.
type TemplateCard struct {
	CardType              string                  `json:"card_type"`
	Source                *CardSource             `json:"source,omitempty"`
	ActionMenu            *CardActionMenu         `json:"action_menu,omitempty"`
	TaskID                string                  `json:"task_id,omitempty"`
	MainTitle             *CardTitle              `json:"main_title,omitempty"`
	QuoteArea             *CardQuoteArea          `json:"quote_area,omitempty"`
	EmphasisContent       *CardTitle              `json:"emphasis_content,omitempty"`
	SubTitleText          string                  `json:"sub_title_text,omitempty"`
	HorizontalContentList []CardHorizontalContent `json:"horizontal_content_list,omitempty"`
	JumpList              []CardJump              `json:"jump_list,omitempty"`
	CardAction            *CardAction             `json:"card_action,omitempty"`
	ImageTextArea         *CardImageTextArea      `json:"image_text_area,omitempty"`
	CardImage             *CardImage              `json:"card_image,omitempty"`
	VerticalContentList   []CardTitle             `json:"vertical_content_list,omitempty"`
	ButtonSelection       *CardSelection          `json:"button_selection,omitempty"`
	ButtonList            []CardButton            `json:"button_list,omitempty"`
	CheckBox              *CardCheckBox           `json:"checkbox,omitempty"`
	SelectList            []CardSelection         `json:"select_list,omitempty"`
	SubmitButton          *CardSubmitButton       `json:"submit_button,omitempty"`
	ReplaceText           string                  `json:"replace_text,omitempty"`
}

// CardSource is the card's source line.
type CardSource struct {
	IconURL   string `json:"icon_url,omitempty"`
	Desc      string `json:"desc,omitempty"`
	DescColor int    `json:"desc_color,omitempty"` // 0 grey, 1 black, 2 red, 3 green
}

// CardActionMenu is the "…" menu at the top right; each item's Key comes
// back in a template_card_menu_event.
type CardActionMenu struct {
	Desc       string           `json:"desc,omitempty"`
	ActionList []CardMenuAction `json:"action_list"`
}

// CardMenuAction is one action_menu entry.
type CardMenuAction struct {
	Text string `json:"text"`
	Key  string `json:"key"`
}

// CardTitle is a title with a description: main_title, emphasis_content and
// the items of vertical_content_list share this shape.
type CardTitle struct {
	Title string `json:"title,omitempty"`
	Desc  string `json:"desc,omitempty"`
}

// CardQuoteArea is the quoted block.
type CardQuoteArea struct {
	Type      int    `json:"type,omitempty"` // 0 none, 1 url, 2 mini program
	URL       string `json:"url,omitempty"`
	AppID     string `json:"appid,omitempty"`
	PagePath  string `json:"pagepath,omitempty"`
	Title     string `json:"title,omitempty"`
	QuoteText string `json:"quote_text,omitempty"`
}

// CardHorizontalContent is one key/value line.
type CardHorizontalContent struct {
	Type    int    `json:"type,omitempty"` // 0 text, 1 url, 2 attachment, 3 member
	KeyName string `json:"keyname"`
	Value   string `json:"value,omitempty"`
	URL     string `json:"url,omitempty"`
	MediaID string `json:"media_id,omitempty"`
	UserID  string `json:"userid,omitempty"`
}

// CardJump is one link in the jump list.
type CardJump struct {
	Type     int    `json:"type,omitempty"` // 0 none, 1 url, 2 mini program
	Title    string `json:"title"`
	URL      string `json:"url,omitempty"`
	AppID    string `json:"appid,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// CardAction is where tapping the card leads.
type CardAction struct {
	Type     int    `json:"type"` // 1 url, 2 mini program
	URL      string `json:"url,omitempty"`
	AppID    string `json:"appid,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// CardImageTextArea is news_notice's image-left, text-right block.
type CardImageTextArea struct {
	Type     int    `json:"type,omitempty"`
	URL      string `json:"url,omitempty"`
	AppID    string `json:"appid,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
	Title    string `json:"title,omitempty"`
	Desc     string `json:"desc,omitempty"`
	ImageURL string `json:"image_url"`
}

// CardImage is news_notice's large image.
type CardImage struct {
	URL         string  `json:"url"`
	AspectRatio float64 `json:"aspect_ratio,omitempty"`
}

// CardSelection is a drop-down question: button_selection, and each entry
// of select_list.
type CardSelection struct {
	QuestionKey string       `json:"question_key"`
	Title       string       `json:"title,omitempty"`
	OptionList  []CardOption `json:"option_list"`
	SelectedID  string       `json:"selected_id,omitempty"`
	Disable     bool         `json:"disable,omitempty"`
}

// CardOption is one choice of a selection or checkbox.
type CardOption struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	IsChecked bool   `json:"is_checked,omitempty"` // checkbox only
}

// CardButton is one button of a button_interaction card; Key comes back as
// the EventKey of the template_card_event.
type CardButton struct {
	Type  int    `json:"type,omitempty"` // 0 callback, 1 url
	Text  string `json:"text"`
	Style int    `json:"style,omitempty"` // 1..4
	Key   string `json:"key,omitempty"`
	URL   string `json:"url,omitempty"`
}

// CardCheckBox is vote_interaction's question.
type CardCheckBox struct {
	QuestionKey string       `json:"question_key"`
	OptionList  []CardOption `json:"option_list"`
	Disable     bool         `json:"disable,omitempty"`
	Mode        int          `json:"mode,omitempty"` // 0 single, 1 multiple
}

// CardSubmitButton submits a vote or multiple-choice card.
type CardSubmitButton struct {
	Text string `json:"text"`
	Key  string `json:"key"`
}

// cardXML is TemplateCard in the XML form of update_template_card, in the
// element order of the documented samples; optional elements are written
// only when set. Its fields and those of the nested types are named as in
// TemplateCard, so convertWire copies them. The mini-program fields are
// written as AppId and PagePath (names not confirmed by a WeCom sample).
type cardXML struct {
	CardType   cdata
	Source     *cardSourceXML
	ActionMenu *struct {
		Desc       cdata `xml:",omitempty"`
		ActionList []struct {
			Text cdata
			Key  cdata
		}
	}
	TaskID                cdata `xml:"TaskId,omitempty"`
	MainTitle             *cardTitleXML
	QuoteArea             *cardQuoteAreaXML
	ImageTextArea         *cardImageTextAreaXML
	CardImage             *cardImageXML
	EmphasisContent       *cardTitleXML
	SubTitleText          cdata `xml:",omitempty"`
	VerticalContentList   []cardTitleXML
	HorizontalContentList []cardHorizontalXML
	JumpList              []cardJumpXML
	CardAction            *cardActionXML
	ButtonSelection       *cardSelectionXML
	ButtonList            []cardButtonXML
	CheckBox              *cardCheckBoxXML
	SelectList            []cardSelectionXML
	SubmitButton          *struct {
		Text cdata
		Key  cdata
	}
	ReplaceText cdata `xml:",omitempty"`
}

type cardSourceXML struct {
	IconURL   cdata `xml:"IconUrl,omitempty"`
	Desc      cdata `xml:",omitempty"`
	DescColor xint  `xml:",omitempty"`
}

type cardTitleXML struct {
	Title cdata `xml:",omitempty"`
	Desc  cdata `xml:",omitempty"`
}

type cardQuoteAreaXML struct {
	Type      xint  `xml:",omitempty"`
	URL       cdata `xml:"Url,omitempty"`
	AppID     cdata `xml:"AppId,omitempty"`
	PagePath  cdata `xml:",omitempty"`
	Title     cdata `xml:",omitempty"`
	QuoteText cdata `xml:",omitempty"`
}

type cardImageTextAreaXML struct {
	Type     xint  `xml:",omitempty"`
	URL      cdata `xml:"Url,omitempty"`
	AppID    cdata `xml:"AppId,omitempty"`
	PagePath cdata `xml:",omitempty"`
	Title    cdata `xml:",omitempty"`
	Desc     cdata `xml:",omitempty"`
	ImageURL cdata `xml:"ImageUrl,omitempty"`
}

type cardImageXML struct {
	URL         cdata  `xml:"Url,omitempty"`
	AspectRatio xfloat `xml:",omitempty"`
}

type cardHorizontalXML struct {
	Type    xint `xml:",omitempty"`
	KeyName cdata
	Value   cdata `xml:",omitempty"`
	URL     cdata `xml:"Url,omitempty"`
	MediaID cdata `xml:"MediaId,omitempty"`
	UserID  cdata `xml:"UserId,omitempty"`
}

type cardJumpXML struct {
	Type     xint `xml:",omitempty"`
	Title    cdata
	URL      cdata `xml:"Url,omitempty"`
	AppID    cdata `xml:"AppId,omitempty"`
	PagePath cdata `xml:",omitempty"`
}

type cardActionXML struct {
	Type     xint
	URL      cdata `xml:"Url,omitempty"`
	AppID    cdata `xml:"AppId,omitempty"`
	PagePath cdata `xml:",omitempty"`
}

type cardSelectionXML struct {
	QuestionKey cdata
	Title       cdata `xml:",omitempty"`
	OptionList  []cardOptionXML
	SelectedID  cdata `xml:"SelectedId,omitempty"`
	Disable     xbool `xml:",omitempty"`
}

type cardButtonXML struct {
	Type  xint `xml:",omitempty"`
	Text  cdata
	Style xint  `xml:",omitempty"`
	Key   cdata `xml:",omitempty"`
	URL   cdata `xml:"Url,omitempty"`
}

type cardCheckBoxXML struct {
	QuestionKey cdata
	OptionList  []cardOptionXML
	Disable     xbool `xml:",omitempty"`
	Mode        xint
}

// cardOptionXML writes IsChecked when set, and always inside a CheckBox
// (cardWire), as the documented vote card does.
type cardOptionXML struct {
	ID        cdata `xml:"Id"`
	Text      cdata
	IsChecked *xbool
}

func (w *cardXML) card() *TemplateCard {
	c := new(TemplateCard)
	convertWire(c, w)
	return c
}

func cardWire(c *TemplateCard) *cardXML {
	w := new(cardXML)
	convertWire(w, c)
	if w.CheckBox != nil {
		for i := range w.CheckBox.OptionList {
			if o := &w.CheckBox.OptionList[i]; o.IsChecked == nil {
				o.IsChecked = new(xbool)
			}
		}
	}
	return w
}
