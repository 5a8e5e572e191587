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
	w := xmlWriter{b: make([]byte, 0, 512)}
	w.open("xml")
	w.cdata("ToUserName", r.ToUserName)
	w.cdata("FromUserName", r.FromUserName)
	w.int("CreateTime", r.CreateTime)
	w.cdata("MsgType", r.MsgType)
	if r.Content != "" || r.MsgType == ReplyText {
		w.cdata("Content", r.Content)
	}
	if r.ReplaceName != "" || r.MsgType == ReplyUpdateButton {
		w.open("Button")
		w.cdata("ReplaceName", r.ReplaceName)
		w.close("Button")
	}
	if r.TemplateCard != nil {
		writeTemplateCard(&w, r.TemplateCard)
	}
	w.close("xml")
	return w.b
}

// ParseReply reads a passive reply the way WeCom would (the simulator uses
// it on the decrypted response). Only malformed XML is an error.
func ParseReply(xml []byte) (*Reply, error) {
	s := string(xml)
	d := getDoc()
	defer putDoc(d)
	if err := d.parse(s); err != nil {
		return nil, fmt.Errorf("wecom: parse reply: %w", err)
	}
	r := &Reply{Raw: append([]byte(nil), xml...)}
	for c := d.nodes[d.root].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "ToUserName":
			r.ToUserName = d.text(c)
		case "FromUserName":
			r.FromUserName = d.text(c)
		case "CreateTime":
			r.CreateTime = parseInt(d.text(c))
		case "MsgType":
			r.MsgType = d.text(c)
		case "Content":
			r.Content = d.text(c)
		case "Button":
			if n := d.child(c, "ReplaceName"); n != noNode {
				r.ReplaceName = d.text(n)
			}
		case "TemplateCard":
			r.TemplateCard = parseTemplateCard(d, c)
		}
	}
	return r, nil
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

// writeTemplateCard follows the element order of the documented samples.
// Optional elements are written only when set; the mini-program fields are
// written as AppId and PagePath (names not confirmed by a WeCom sample; the
// parser also accepts Appid and Pagepath).
func writeTemplateCard(w *xmlWriter, c *TemplateCard) {
	w.open("TemplateCard")
	w.cdata("CardType", c.CardType)
	if v := c.Source; v != nil {
		w.open("Source")
		w.cdataNonEmpty("IconUrl", v.IconURL)
		w.cdataNonEmpty("Desc", v.Desc)
		w.intNonZero("DescColor", int64(v.DescColor))
		w.close("Source")
	}
	if v := c.ActionMenu; v != nil {
		w.open("ActionMenu")
		w.cdataNonEmpty("Desc", v.Desc)
		for _, a := range v.ActionList {
			w.open("ActionList")
			w.cdata("Text", a.Text)
			w.cdata("Key", a.Key)
			w.close("ActionList")
		}
		w.close("ActionMenu")
	}
	w.cdataNonEmpty("TaskId", c.TaskID)
	if v := c.MainTitle; v != nil {
		writeCardTitle(w, "MainTitle", v)
	}
	if v := c.QuoteArea; v != nil {
		w.open("QuoteArea")
		w.intNonZero("Type", int64(v.Type))
		w.cdataNonEmpty("Url", v.URL)
		w.cdataNonEmpty("AppId", v.AppID)
		w.cdataNonEmpty("PagePath", v.PagePath)
		w.cdataNonEmpty("Title", v.Title)
		w.cdataNonEmpty("QuoteText", v.QuoteText)
		w.close("QuoteArea")
	}
	if v := c.ImageTextArea; v != nil {
		w.open("ImageTextArea")
		w.intNonZero("Type", int64(v.Type))
		w.cdataNonEmpty("Url", v.URL)
		w.cdataNonEmpty("AppId", v.AppID)
		w.cdataNonEmpty("PagePath", v.PagePath)
		w.cdataNonEmpty("Title", v.Title)
		w.cdataNonEmpty("Desc", v.Desc)
		w.cdataNonEmpty("ImageUrl", v.ImageURL)
		w.close("ImageTextArea")
	}
	if v := c.CardImage; v != nil {
		w.open("CardImage")
		w.cdataNonEmpty("Url", v.URL)
		if v.AspectRatio != 0 {
			w.float("AspectRatio", v.AspectRatio)
		}
		w.close("CardImage")
	}
	if v := c.EmphasisContent; v != nil {
		writeCardTitle(w, "EmphasisContent", v)
	}
	w.cdataNonEmpty("SubTitleText", c.SubTitleText)
	for i := range c.VerticalContentList {
		writeCardTitle(w, "VerticalContentList", &c.VerticalContentList[i])
	}
	for _, h := range c.HorizontalContentList {
		w.open("HorizontalContentList")
		w.intNonZero("Type", int64(h.Type))
		w.cdata("KeyName", h.KeyName)
		w.cdataNonEmpty("Value", h.Value)
		w.cdataNonEmpty("Url", h.URL)
		w.cdataNonEmpty("MediaId", h.MediaID)
		w.cdataNonEmpty("UserId", h.UserID)
		w.close("HorizontalContentList")
	}
	for _, j := range c.JumpList {
		w.open("JumpList")
		w.intNonZero("Type", int64(j.Type))
		w.cdata("Title", j.Title)
		w.cdataNonEmpty("Url", j.URL)
		w.cdataNonEmpty("AppId", j.AppID)
		w.cdataNonEmpty("PagePath", j.PagePath)
		w.close("JumpList")
	}
	if v := c.CardAction; v != nil {
		w.open("CardAction")
		w.int("Type", int64(v.Type))
		w.cdataNonEmpty("Url", v.URL)
		w.cdataNonEmpty("AppId", v.AppID)
		w.cdataNonEmpty("PagePath", v.PagePath)
		w.close("CardAction")
	}
	if v := c.ButtonSelection; v != nil {
		writeCardSelection(w, "ButtonSelection", v)
	}
	for _, b := range c.ButtonList {
		w.open("ButtonList")
		w.intNonZero("Type", int64(b.Type))
		w.cdata("Text", b.Text)
		w.intNonZero("Style", int64(b.Style))
		w.cdataNonEmpty("Key", b.Key)
		w.cdataNonEmpty("Url", b.URL)
		w.close("ButtonList")
	}
	if v := c.CheckBox; v != nil {
		w.open("CheckBox")
		w.cdata("QuestionKey", v.QuestionKey)
		for _, o := range v.OptionList {
			writeCardOption(w, o, true)
		}
		if v.Disable {
			w.bool("Disable", true)
		}
		w.int("Mode", int64(v.Mode))
		w.close("CheckBox")
	}
	for i := range c.SelectList {
		writeCardSelection(w, "SelectList", &c.SelectList[i])
	}
	if v := c.SubmitButton; v != nil {
		w.open("SubmitButton")
		w.cdata("Text", v.Text)
		w.cdata("Key", v.Key)
		w.close("SubmitButton")
	}
	w.cdataNonEmpty("ReplaceText", c.ReplaceText)
	w.close("TemplateCard")
}

func writeCardTitle(w *xmlWriter, name string, v *CardTitle) {
	w.open(name)
	w.cdataNonEmpty("Title", v.Title)
	w.cdataNonEmpty("Desc", v.Desc)
	w.close(name)
}

func writeCardSelection(w *xmlWriter, name string, v *CardSelection) {
	w.open(name)
	w.cdata("QuestionKey", v.QuestionKey)
	w.cdataNonEmpty("Title", v.Title)
	for _, o := range v.OptionList {
		writeCardOption(w, o, false)
	}
	w.cdataNonEmpty("SelectedId", v.SelectedID)
	if v.Disable {
		w.bool("Disable", true)
	}
	w.close(name)
}

func writeCardOption(w *xmlWriter, o CardOption, checkbox bool) {
	w.open("OptionList")
	w.cdata("Id", o.ID)
	w.cdata("Text", o.Text)
	if checkbox || o.IsChecked {
		w.bool("IsChecked", o.IsChecked)
	}
	w.close("OptionList")
}

func parseTemplateCard(d *xdoc, n int32) *TemplateCard {
	c := new(TemplateCard)
	for e := d.nodes[n].first; e != noNode; e = d.nodes[e].next {
		switch d.name(e) {
		case "CardType":
			c.CardType = d.text(e)
		case "Source":
			v := new(CardSource)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "IconUrl":
					v.IconURL = d.text(f)
				case "Desc":
					v.Desc = d.text(f)
				case "DescColor":
					v.DescColor = int(parseInt(d.text(f)))
				}
			}
			c.Source = v
		case "ActionMenu":
			v := new(CardActionMenu)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Desc":
					v.Desc = d.text(f)
				case "ActionList":
					var a CardMenuAction
					for g := d.nodes[f].first; g != noNode; g = d.nodes[g].next {
						switch d.name(g) {
						case "Text":
							a.Text = d.text(g)
						case "Key":
							a.Key = d.text(g)
						}
					}
					v.ActionList = append(v.ActionList, a)
				}
			}
			c.ActionMenu = v
		case "TaskId":
			c.TaskID = d.text(e)
		case "MainTitle":
			c.MainTitle = parseCardTitle(d, e)
		case "QuoteArea":
			v := new(CardQuoteArea)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Type":
					v.Type = int(parseInt(d.text(f)))
				case "Url":
					v.URL = d.text(f)
				case "AppId", "Appid":
					v.AppID = d.text(f)
				case "PagePath", "Pagepath":
					v.PagePath = d.text(f)
				case "Title":
					v.Title = d.text(f)
				case "QuoteText":
					v.QuoteText = d.text(f)
				}
			}
			c.QuoteArea = v
		case "EmphasisContent":
			c.EmphasisContent = parseCardTitle(d, e)
		case "SubTitleText":
			c.SubTitleText = d.text(e)
		case "HorizontalContentList":
			var h CardHorizontalContent
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Type":
					h.Type = int(parseInt(d.text(f)))
				case "KeyName", "Keyname":
					h.KeyName = d.text(f)
				case "Value":
					h.Value = d.text(f)
				case "Url":
					h.URL = d.text(f)
				case "MediaId":
					h.MediaID = d.text(f)
				case "UserId", "Userid":
					h.UserID = d.text(f)
				}
			}
			c.HorizontalContentList = append(c.HorizontalContentList, h)
		case "JumpList":
			var j CardJump
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Type":
					j.Type = int(parseInt(d.text(f)))
				case "Title":
					j.Title = d.text(f)
				case "Url":
					j.URL = d.text(f)
				case "AppId", "Appid":
					j.AppID = d.text(f)
				case "PagePath", "Pagepath":
					j.PagePath = d.text(f)
				}
			}
			c.JumpList = append(c.JumpList, j)
		case "CardAction":
			v := new(CardAction)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Type":
					v.Type = int(parseInt(d.text(f)))
				case "Url":
					v.URL = d.text(f)
				case "AppId", "Appid":
					v.AppID = d.text(f)
				case "PagePath", "Pagepath":
					v.PagePath = d.text(f)
				}
			}
			c.CardAction = v
		case "ImageTextArea":
			v := new(CardImageTextArea)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Type":
					v.Type = int(parseInt(d.text(f)))
				case "Url":
					v.URL = d.text(f)
				case "AppId", "Appid":
					v.AppID = d.text(f)
				case "PagePath", "Pagepath":
					v.PagePath = d.text(f)
				case "Title":
					v.Title = d.text(f)
				case "Desc":
					v.Desc = d.text(f)
				case "ImageUrl":
					v.ImageURL = d.text(f)
				}
			}
			c.ImageTextArea = v
		case "CardImage":
			v := new(CardImage)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Url":
					v.URL = d.text(f)
				case "AspectRatio":
					v.AspectRatio = parseFloat(d.text(f))
				}
			}
			c.CardImage = v
		case "VerticalContentList":
			c.VerticalContentList = append(c.VerticalContentList, *parseCardTitle(d, e))
		case "ButtonSelection":
			c.ButtonSelection = parseCardSelection(d, e)
		case "ButtonList":
			var b CardButton
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Type":
					b.Type = int(parseInt(d.text(f)))
				case "Text":
					b.Text = d.text(f)
				case "Style":
					b.Style = int(parseInt(d.text(f)))
				case "Key":
					b.Key = d.text(f)
				case "Url":
					b.URL = d.text(f)
				}
			}
			c.ButtonList = append(c.ButtonList, b)
		case "CheckBox":
			v := new(CardCheckBox)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "QuestionKey":
					v.QuestionKey = d.text(f)
				case "OptionList":
					v.OptionList = append(v.OptionList, parseCardOption(d, f))
				case "Disable":
					v.Disable = parseBool(d.text(f))
				case "Mode":
					v.Mode = int(parseInt(d.text(f)))
				}
			}
			c.CheckBox = v
		case "SelectList":
			c.SelectList = append(c.SelectList, *parseCardSelection(d, e))
		case "SubmitButton":
			v := new(CardSubmitButton)
			for f := d.nodes[e].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Text":
					v.Text = d.text(f)
				case "Key":
					v.Key = d.text(f)
				}
			}
			c.SubmitButton = v
		case "ReplaceText":
			c.ReplaceText = d.text(e)
		}
	}
	return c
}

func parseCardTitle(d *xdoc, n int32) *CardTitle {
	v := new(CardTitle)
	for f := d.nodes[n].first; f != noNode; f = d.nodes[f].next {
		switch d.name(f) {
		case "Title":
			v.Title = d.text(f)
		case "Desc":
			v.Desc = d.text(f)
		}
	}
	return v
}

func parseCardSelection(d *xdoc, n int32) *CardSelection {
	v := new(CardSelection)
	for f := d.nodes[n].first; f != noNode; f = d.nodes[f].next {
		switch d.name(f) {
		case "QuestionKey":
			v.QuestionKey = d.text(f)
		case "Title":
			v.Title = d.text(f)
		case "OptionList":
			v.OptionList = append(v.OptionList, parseCardOption(d, f))
		case "SelectedId":
			v.SelectedID = d.text(f)
		case "Disable":
			v.Disable = parseBool(d.text(f))
		}
	}
	return v
}

func parseCardOption(d *xdoc, n int32) CardOption {
	var o CardOption
	for f := d.nodes[n].first; f != noNode; f = d.nodes[f].next {
		switch d.name(f) {
		case "Id":
			o.ID = d.text(f)
		case "Text":
			o.Text = d.text(f)
		case "IsChecked":
			o.IsChecked = parseBool(d.text(f))
		}
	}
	return o
}
