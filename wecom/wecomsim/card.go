package wecomsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/wecom"
)

// Template cards (docs/wecom.md §3, §6): validation of the card in
// message/send, the tasks and response codes behind interactive cards,
// message/update_template_card (doc 94888), and members pressing buttons
// (template_card_event / template_card_menu_event callbacks whose passive
// replies change that member's card).
//
// Sending a callback-capable card needs a callback URL on the real server
// (90313 43012 应用需配置回调url). The simulator does not refuse it — the
// client's own tests send cards from an app without one — and a press on
// such a card simply sends no callback.

// The simulator's own template card, written from doc 90236 (message/send),
// doc 94888 (message/update_template_card) and doc 90241 (the
// update_template_card passive reply), not from the wecom package: a client
// whose struct tags drift from the documented names then fails here
// instead of agreeing with itself. The json tags are the API's names; the
// xml tags are the passive reply's CamelCase names, where lists are
// repeated elements. The Go field names match wecom's so the phone page
// templates read the same either way.
//
// The mini-program fields of the reply XML appear as AppId/PagePath in
// some samples and Appid/Pagepath in others; both are read (the *Alt
// fields) and merged by Card.normalizeXML.
type Card struct {
	CardType              string                  `json:"card_type" xml:"CardType"`
	Source                *CardSource             `json:"source,omitempty" xml:"Source"`
	ActionMenu            *CardActionMenu         `json:"action_menu,omitempty" xml:"ActionMenu"`
	TaskID                string                  `json:"task_id,omitempty" xml:"TaskId"`
	MainTitle             *CardTitle              `json:"main_title,omitempty" xml:"MainTitle"`
	QuoteArea             *CardQuoteArea          `json:"quote_area,omitempty" xml:"QuoteArea"`
	EmphasisContent       *CardTitle              `json:"emphasis_content,omitempty" xml:"EmphasisContent"`
	SubTitleText          string                  `json:"sub_title_text,omitempty" xml:"SubTitleText"`
	HorizontalContentList []CardHorizontalContent `json:"horizontal_content_list,omitempty" xml:"HorizontalContentList"`
	JumpList              []CardJump              `json:"jump_list,omitempty" xml:"JumpList"`
	CardAction            *CardAction             `json:"card_action,omitempty" xml:"CardAction"`
	ImageTextArea         *CardImageTextArea      `json:"image_text_area,omitempty" xml:"ImageTextArea"`
	CardImage             *CardImage              `json:"card_image,omitempty" xml:"CardImage"`
	VerticalContentList   []CardTitle             `json:"vertical_content_list,omitempty" xml:"VerticalContentList"`
	ButtonSelection       *CardSelection          `json:"button_selection,omitempty" xml:"ButtonSelection"`
	ButtonList            []CardButton            `json:"button_list,omitempty" xml:"ButtonList"`
	CheckBox              *CardCheckBox           `json:"checkbox,omitempty" xml:"CheckBox"`
	SelectList            []CardSelection         `json:"select_list,omitempty" xml:"SelectList"`
	SubmitButton          *CardSubmitButton       `json:"submit_button,omitempty" xml:"SubmitButton"`
	// ReplaceText is documented for update_template_card only (the text
	// shown once the card is final).
	ReplaceText string `json:"replace_text,omitempty" xml:"ReplaceText"`
}

// CardSource is source: icon, text and its colour (0 grey, 1 black, 2 red,
// 3 green).
type CardSource struct {
	IconURL   string `json:"icon_url,omitempty" xml:"IconUrl"`
	Desc      string `json:"desc,omitempty" xml:"Desc"`
	DescColor int    `json:"desc_color,omitempty" xml:"DescColor"`
}

// CardActionMenu is action_menu, the "…" menu.
type CardActionMenu struct {
	Desc       string           `json:"desc,omitempty" xml:"Desc"`
	ActionList []CardMenuAction `json:"action_list" xml:"ActionList"`
}

// CardMenuAction is one action_menu.action_list entry.
type CardMenuAction struct {
	Text string `json:"text" xml:"Text"`
	Key  string `json:"key" xml:"Key"`
}

// CardTitle is main_title, emphasis_content and each
// vertical_content_list entry.
type CardTitle struct {
	Title string `json:"title,omitempty" xml:"Title"`
	Desc  string `json:"desc,omitempty" xml:"Desc"`
}

// CardQuoteArea is quote_area.
type CardQuoteArea struct {
	Type        int    `json:"type,omitempty" xml:"Type"`
	URL         string `json:"url,omitempty" xml:"Url"`
	AppID       string `json:"appid,omitempty" xml:"AppId"`
	PagePath    string `json:"pagepath,omitempty" xml:"PagePath"`
	Title       string `json:"title,omitempty" xml:"Title"`
	QuoteText   string `json:"quote_text,omitempty" xml:"QuoteText"`
	AppIDAlt    string `json:"-" xml:"Appid"`
	PagePathAlt string `json:"-" xml:"Pagepath"`
}

// CardHorizontalContent is one horizontal_content_list line (type 0 text,
// 1 url, 2 attachment, 3 member).
type CardHorizontalContent struct {
	Type       int    `json:"type,omitempty" xml:"Type"`
	KeyName    string `json:"keyname" xml:"KeyName"`
	Value      string `json:"value,omitempty" xml:"Value"`
	URL        string `json:"url,omitempty" xml:"Url"`
	MediaID    string `json:"media_id,omitempty" xml:"MediaId"`
	UserID     string `json:"userid,omitempty" xml:"UserId"`
	KeyNameAlt string `json:"-" xml:"Keyname"`
	UserIDAlt  string `json:"-" xml:"Userid"`
}

// CardJump is one jump_list entry.
type CardJump struct {
	Type        int    `json:"type,omitempty" xml:"Type"`
	Title       string `json:"title" xml:"Title"`
	URL         string `json:"url,omitempty" xml:"Url"`
	AppID       string `json:"appid,omitempty" xml:"AppId"`
	PagePath    string `json:"pagepath,omitempty" xml:"PagePath"`
	AppIDAlt    string `json:"-" xml:"Appid"`
	PagePathAlt string `json:"-" xml:"Pagepath"`
}

// CardAction is card_action (type 1 url, 2 mini program).
type CardAction struct {
	Type        int    `json:"type" xml:"Type"`
	URL         string `json:"url,omitempty" xml:"Url"`
	AppID       string `json:"appid,omitempty" xml:"AppId"`
	PagePath    string `json:"pagepath,omitempty" xml:"PagePath"`
	AppIDAlt    string `json:"-" xml:"Appid"`
	PagePathAlt string `json:"-" xml:"Pagepath"`
}

// CardImageTextArea is news_notice's image_text_area.
type CardImageTextArea struct {
	Type        int    `json:"type,omitempty" xml:"Type"`
	URL         string `json:"url,omitempty" xml:"Url"`
	AppID       string `json:"appid,omitempty" xml:"AppId"`
	PagePath    string `json:"pagepath,omitempty" xml:"PagePath"`
	Title       string `json:"title,omitempty" xml:"Title"`
	Desc        string `json:"desc,omitempty" xml:"Desc"`
	ImageURL    string `json:"image_url" xml:"ImageUrl"`
	AppIDAlt    string `json:"-" xml:"Appid"`
	PagePathAlt string `json:"-" xml:"Pagepath"`
}

// CardImage is news_notice's card_image.
type CardImage struct {
	URL         string  `json:"url" xml:"Url"`
	AspectRatio float64 `json:"aspect_ratio,omitempty" xml:"AspectRatio"`
}

// CardSelection is button_selection and each select_list entry.
type CardSelection struct {
	QuestionKey string       `json:"question_key" xml:"QuestionKey"`
	Title       string       `json:"title,omitempty" xml:"Title"`
	OptionList  []CardOption `json:"option_list" xml:"OptionList"`
	SelectedID  string       `json:"selected_id,omitempty" xml:"SelectedId"`
	// Disable is documented for update_template_card.
	Disable bool `json:"disable,omitempty" xml:"Disable"`
}

// CardOption is one option_list entry; is_checked belongs to checkbox.
type CardOption struct {
	ID        string `json:"id" xml:"Id"`
	Text      string `json:"text" xml:"Text"`
	IsChecked bool   `json:"is_checked,omitempty" xml:"IsChecked"`
}

// CardButton is one button_list entry (type 0 callback, 1 url; style 1..4).
type CardButton struct {
	Type  int    `json:"type,omitempty" xml:"Type"`
	Text  string `json:"text" xml:"Text"`
	Style int    `json:"style,omitempty" xml:"Style"`
	Key   string `json:"key,omitempty" xml:"Key"`
	URL   string `json:"url,omitempty" xml:"Url"`
}

// CardCheckBox is vote_interaction's checkbox (mode 0 single, 1 multiple).
type CardCheckBox struct {
	QuestionKey string       `json:"question_key" xml:"QuestionKey"`
	OptionList  []CardOption `json:"option_list" xml:"OptionList"`
	Disable     bool         `json:"disable,omitempty" xml:"Disable"`
	Mode        int          `json:"mode,omitempty" xml:"Mode"`
}

// CardSubmitButton is submit_button.
type CardSubmitButton struct {
	Text string `json:"text" xml:"Text"`
	Key  string `json:"key" xml:"Key"`
}

// SelectedItem is a member's answer to one question of a card, as the
// template_card_event carries it.
type SelectedItem struct {
	QuestionKey string
	OptionIDs   []string
}

// normalizeXML folds the alternative spellings of a reply card into the
// documented fields.
func (c *Card) normalizeXML() {
	pick := func(a *string, alt string) {
		if *a == "" {
			*a = alt
		}
	}
	if q := c.QuoteArea; q != nil {
		pick(&q.AppID, q.AppIDAlt)
		pick(&q.PagePath, q.PagePathAlt)
		q.AppIDAlt, q.PagePathAlt = "", ""
	}
	for i := range c.HorizontalContentList {
		h := &c.HorizontalContentList[i]
		pick(&h.KeyName, h.KeyNameAlt)
		pick(&h.UserID, h.UserIDAlt)
		h.KeyNameAlt, h.UserIDAlt = "", ""
	}
	for i := range c.JumpList {
		j := &c.JumpList[i]
		pick(&j.AppID, j.AppIDAlt)
		pick(&j.PagePath, j.PagePathAlt)
		j.AppIDAlt, j.PagePathAlt = "", ""
	}
	if a := c.CardAction; a != nil {
		pick(&a.AppID, a.AppIDAlt)
		pick(&a.PagePath, a.PagePathAlt)
		a.AppIDAlt, a.PagePathAlt = "", ""
	}
	if a := c.ImageTextArea; a != nil {
		pick(&a.AppID, a.AppIDAlt)
		pick(&a.PagePath, a.PagePathAlt)
		a.AppIDAlt, a.PagePathAlt = "", ""
	}
}

// cardKeys are the documented top-level keys of each card type in
// message/send (doc 90236). update_template_card (doc 94888) adds
// replace_text to the interactive types; the simulator also accepts it on
// the notice types there, whose update samples omit it. A key outside the
// card's list is refused (40058) even when another card type has it: the
// real client would not show it, so a product sending it has a bug.
var cardKeys = map[string][]string{
	"text_notice": {"card_type", "source", "action_menu", "task_id", "main_title", "quote_area", "emphasis_content",
		"sub_title_text", "horizontal_content_list", "jump_list", "card_action"},
	"news_notice": {"card_type", "source", "action_menu", "task_id", "main_title", "quote_area", "image_text_area",
		"card_image", "vertical_content_list", "horizontal_content_list", "jump_list", "card_action"},
	"button_interaction": {"card_type", "source", "action_menu", "task_id", "main_title", "quote_area", "sub_title_text",
		"horizontal_content_list", "card_action", "button_selection", "button_list"},
	"vote_interaction":     {"card_type", "source", "task_id", "main_title", "checkbox", "submit_button"},
	"multiple_interaction": {"card_type", "source", "task_id", "main_title", "select_list", "submit_button"},
}

// ResponseCodeTTL is how long a response_code (from message/send or from a
// card callback) may be used — once — for message/update_template_card.
const ResponseCodeTTL = 72 * time.Hour

// Card limits of doc 90236 (template_card).
const (
	maxTaskIDBytes      = 128
	maxKeyBytes         = 1024 // button, menu and question keys
	maxOptionIDBytes    = 128
	maxActionMenu       = 3
	maxHorizontal       = 6
	maxJumps            = 3
	maxVertical         = 4
	maxButtons          = 6
	maxSelectOptions    = 10
	maxCheckboxOptions  = 20
	maxSelectQuestions  = 3
	minCardAspectRatio  = 1.3
	maxCardAspectRatio  = 2.25
	passiveReplyUpdated = "passive_reply"
	apiUpdated          = "api"
)

type taskKey struct {
	AgentID int64
	TaskID  string
}

// task is a card's task_id, unique per app.
type task struct {
	AgentID  int64
	TaskID   string
	MsgID    string
	CardType string
}

// responseCode is one issued response_code: from message/send (UserID
// empty) or from a member's card callback.
type responseCode struct {
	AgentID int64
	MsgID   string
	UserID  string
	Issued  time.Time
	Used    bool
}

func (s *Sim) newResponseCode(agentID int64, msgID, userid string, now time.Time) string {
	b := make([]byte, 36)
	_, _ = rand.Read(b)
	code := base64.RawURLEncoding.EncodeToString(b)
	s.st.msg.codes[code] = &responseCode{AgentID: agentID, MsgID: msgID, UserID: userid, Issued: now}
	return code
}

// interactiveCard reports whether a card type has buttons or a submit
// button: only these get a response_code from message/send and accept
// update_template_card's button form.
func interactiveCard(t string) bool {
	switch t {
	case cardButtonInteraction, cardVoteInteraction, cardMultipleInteraction:
		return true
	}
	return false
}

func validCardType(t string) bool {
	return interactiveCard(t) || t == cardTextNotice || t == cardNewsNotice
}

// validTaskID: 1..128 bytes of [0-9A-Za-z_-@].
func validTaskID(id string) bool {
	if id == "" || len(id) > maxTaskIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-' || c == '@') {
			return false
		}
	}
	return true
}

func cloneCard(c *Card) *Card {
	if c == nil {
		return nil
	}
	var out Card
	if err := json.Unmarshal(mustJSON(c), &out); err != nil {
		panic(err)
	}
	return &out
}

// Template card types (card_type).
const (
	cardTextNotice          = "text_notice"
	cardNewsNotice          = "news_notice"
	cardButtonInteraction   = "button_interaction"
	cardVoteInteraction     = "vote_interaction"
	cardMultipleInteraction = "multiple_interaction"
)

// checkCardKeys refuses keys the card's type does not document (40058):
// first the top level against cardKeys (update_template_card adds
// replace_text), then every nested object against the simulator's own
// structs. The card_type has already been checked.
func checkCardKeys(cardType string, raw json.RawMessage, forSend bool) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	allowed := cardKeys[cardType]
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(allowed, k) && (forSend || k != "replace_text") {
			return errf(40058, "template_card.%s is not a documented key of a %s card", k, cardType)
		}
	}
	return checkKeys("template_card", raw, reflect.TypeFor[Card]())
}

// validateCard decodes and checks a template_card. forSend adds the rules
// of a new card (task_id required where callbacks need it); an
// update_template_card replacement is checked without them. Codes follow
// doc 90313's Template_Card rows: 42031 card_type, 42014 task_id, 42027
// keyname, 42028 url, 42029 media_id, 42030 appid, 42033 title, 42035/
// 42036/42042/42047 list lengths, 42037 option_list length, 42038/42039
// button text/key, 42040/42041 option id/text, 42043 question_key, 42044
// card_image, 42045 card_action, 42046/42049 submit_button key/text, 42050
// member userid, 42051 duplicate menu key; a key the card type does not
// document (checkCardKeys) and everything else 40058.
//
// Button keys use 42039 (Template_Card.button_list.key 缺失或不合法) for a
// missing, over-long or repeated key: 42017–42020 are the codes of the
// older task cards (任务卡片) and are not used for template cards here.
func (s *Sim) validateCard(raw json.RawMessage, forSend bool) (*Card, error) {
	var head struct {
		CardType json.RawMessage `json:"card_type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, errf(40058, "template_card: %v", err)
	}
	var cardType string
	if len(head.CardType) > 0 && json.Unmarshal(head.CardType, &cardType) != nil || !validCardType(cardType) {
		return nil, errf(42031, "card_type %s", head.CardType)
	}
	if err := checkCardKeys(cardType, raw, forSend); err != nil {
		return nil, err
	}
	var c Card
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errf(40058, "template_card: %v", err)
	}
	interactive := interactiveCard(c.CardType)
	if forSend && (interactive || c.ActionMenu != nil) && c.TaskID == "" {
		return nil, errf(42014, "task_id required for %s (or with action_menu)", c.CardType)
	}
	if c.TaskID != "" && !validTaskID(c.TaskID) {
		return nil, errf(42014, "task_id %q: 1..128 bytes of [0-9A-Za-z_-@]", c.TaskID)
	}
	if src := c.Source; src != nil && (src.DescColor < 0 || src.DescColor > 3) {
		return nil, errf(40058, "source.desc_color %d", src.DescColor)
	}
	if m := c.ActionMenu; m != nil {
		if n := len(m.ActionList); n == 0 || n > maxActionMenu {
			return nil, errf(40058, "action_menu.action_list has %d items, want 1..%d", n, maxActionMenu)
		}
		keys := map[string]bool{}
		for _, a := range m.ActionList {
			switch {
			case a.Text == "" || a.Key == "" || len(a.Key) > maxKeyBytes:
				return nil, errf(40058, "action_menu item %q/%q", a.Text, a.Key)
			case keys[a.Key]:
				return nil, errf(42051, "action_menu key %q repeated", a.Key)
			}
			keys[a.Key] = true
		}
	}
	if c.CardType == cardTextNotice && (c.MainTitle == nil || c.MainTitle.Title == "") && c.SubTitleText == "" {
		return nil, errf(40058, "text_notice needs main_title.title or sub_title_text")
	}
	if q := c.QuoteArea; q != nil {
		if err := checkLink("quote_area", q.Type, q.URL, q.AppID); err != nil {
			return nil, err
		}
	}
	if len(c.HorizontalContentList) > maxHorizontal {
		return nil, errf(42035, "horizontal_content_list has %d items, at most %d", len(c.HorizontalContentList), maxHorizontal)
	}
	for i, h := range c.HorizontalContentList {
		switch {
		case h.KeyName == "":
			return nil, errf(42027, "horizontal_content_list[%d].keyname missing", i)
		case h.Type == 1 && h.URL == "":
			return nil, errf(42028, "horizontal_content_list[%d].url missing", i)
		case h.Type == 2 && h.MediaID == "":
			return nil, errf(42029, "horizontal_content_list[%d].media_id missing", i)
		case h.Type == 3 && (h.UserID == "" || s.st.user(h.UserID) == nil):
			return nil, errf(42050, "horizontal_content_list[%d].userid %q", i, h.UserID)
		case h.Type < 0 || h.Type > 3:
			return nil, errf(40058, "horizontal_content_list[%d].type %d", i, h.Type)
		}
	}
	if len(c.JumpList) > maxJumps {
		return nil, errf(42042, "jump_list has %d items, at most %d", len(c.JumpList), maxJumps)
	}
	for i, j := range c.JumpList {
		if j.Title == "" {
			return nil, errf(42033, "jump_list[%d].title missing", i)
		}
		if err := checkLink(fmt.Sprintf("jump_list[%d]", i), j.Type, j.URL, j.AppID); err != nil {
			return nil, err
		}
	}
	notice := c.CardType == cardTextNotice || c.CardType == cardNewsNotice
	if a := c.CardAction; a != nil || notice {
		if a == nil || notice && a.Type != 1 && a.Type != 2 {
			return nil, errf(42045, "%s needs card_action of type 1 (url) or 2 (mini program)", c.CardType)
		}
		if err := checkLink("card_action", a.Type, a.URL, a.AppID); err != nil {
			return nil, err
		}
	}
	switch c.CardType {
	case cardNewsNotice:
		if c.CardImage == nil && c.ImageTextArea == nil {
			return nil, errf(42044, "news_notice needs card_image or image_text_area")
		}
		if im := c.CardImage; im != nil {
			if im.URL == "" {
				return nil, errf(42044, "card_image.url missing")
			}
			if r := im.AspectRatio; r != 0 && (r < minCardAspectRatio || r > maxCardAspectRatio) {
				return nil, errf(40058, "card_image.aspect_ratio %g outside %g..%g", r, minCardAspectRatio, maxCardAspectRatio)
			}
		}
		if it := c.ImageTextArea; it != nil {
			if it.ImageURL == "" {
				return nil, errf(42044, "image_text_area.image_url missing")
			}
			if err := checkLink("image_text_area", it.Type, it.URL, it.AppID); err != nil {
				return nil, err
			}
		}
		if len(c.VerticalContentList) > maxVertical {
			return nil, errf(42036, "vertical_content_list has %d items, at most %d", len(c.VerticalContentList), maxVertical)
		}
		for i, v := range c.VerticalContentList {
			if v.Title == "" {
				return nil, errf(42033, "vertical_content_list[%d].title missing", i)
			}
		}

	case cardButtonInteraction:
		if bs := c.ButtonSelection; bs != nil {
			if err := checkSelection("button_selection", bs, maxSelectOptions); err != nil {
				return nil, err
			}
			if err := noChecked("button_selection", bs); err != nil {
				return nil, err
			}
		}
		if n := len(c.ButtonList); n == 0 || n > maxButtons {
			return nil, errf(40058, "button_list has %d buttons, want 1..%d", n, maxButtons)
		}
		keys := map[string]bool{}
		for i, b := range c.ButtonList {
			switch {
			case b.Text == "":
				return nil, errf(42038, "button_list[%d].text missing", i)
			case b.Style < 0 || b.Style > 4:
				return nil, errf(40058, "button_list[%d].style %d", i, b.Style)
			case b.Type == 1:
				if b.URL == "" {
					return nil, errf(42028, "button_list[%d].url missing", i)
				}
			case b.Type != 0:
				return nil, errf(40058, "button_list[%d].type %d", i, b.Type)
			case b.Key == "" || len(b.Key) > maxKeyBytes:
				return nil, errf(42039, "button_list[%d].key missing or longer than %d bytes", i, maxKeyBytes)
			case keys[b.Key]:
				return nil, errf(42039, "button_list key %q repeated", b.Key)
			}
			if b.Key != "" {
				keys[b.Key] = true
			}
		}

	case cardVoteInteraction:
		cb := c.CheckBox
		if cb == nil {
			return nil, errf(42043, "vote_interaction needs checkbox")
		}
		sel := &CardSelection{QuestionKey: cb.QuestionKey, OptionList: cb.OptionList}
		if err := checkSelection("checkbox", sel, maxCheckboxOptions); err != nil {
			return nil, err
		}
		if cb.Mode != 0 && cb.Mode != 1 {
			return nil, errf(40058, "checkbox.mode %d", cb.Mode)
		}
		checked := 0
		for _, o := range cb.OptionList {
			if o.IsChecked {
				checked++
			}
		}
		if cb.Mode == 0 && checked > 1 {
			return nil, errf(40058, "single-choice checkbox with %d options checked", checked)
		}
		if err := checkSubmit(c.SubmitButton); err != nil {
			return nil, err
		}

	case cardMultipleInteraction:
		if n := len(c.SelectList); n == 0 || n > maxSelectQuestions {
			return nil, errf(42047, "select_list has %d items, want 1..%d", n, maxSelectQuestions)
		}
		qs := map[string]bool{}
		for i := range c.SelectList {
			sl := &c.SelectList[i]
			if err := checkSelection(fmt.Sprintf("select_list[%d]", i), sl, maxSelectOptions); err != nil {
				return nil, err
			}
			if err := noChecked(fmt.Sprintf("select_list[%d]", i), sl); err != nil {
				return nil, err
			}
			if qs[sl.QuestionKey] {
				return nil, errf(42043, "question_key %q repeated", sl.QuestionKey)
			}
			qs[sl.QuestionKey] = true
		}
		if err := checkSubmit(c.SubmitButton); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// checkLink checks a jump target: type 1 needs url (42028), type 2 appid
// (42030); 0 is no link.
func checkLink(field string, typ int, u, appID string) error {
	switch typ {
	case 0:
	case 1:
		if u == "" {
			return errf(42028, "%s.url missing", field)
		}
		if len(u) > maxURLBytes {
			return errf(40058, "%s.url longer than %d bytes", field, maxURLBytes)
		}
	case 2:
		if appID == "" {
			return errf(42030, "%s.appid missing", field)
		}
	default:
		return errf(40058, "%s.type %d", field, typ)
	}
	return nil
}

func checkSelection(field string, s *CardSelection, maxOptions int) error {
	if s.QuestionKey == "" || len(s.QuestionKey) > maxKeyBytes {
		return errf(42043, "%s.question_key missing or longer than %d bytes", field, maxKeyBytes)
	}
	if n := len(s.OptionList); n == 0 || n > maxOptions {
		return errf(42037, "%s.option_list has %d options, want 1..%d", field, n, maxOptions)
	}
	ids := map[string]bool{}
	for i, o := range s.OptionList {
		switch {
		case o.ID == "" || len(o.ID) > maxOptionIDBytes || ids[o.ID]:
			return errf(42040, "%s.option_list[%d].id %q missing, repeated or longer than %d bytes", field, i, o.ID, maxOptionIDBytes)
		case o.Text == "":
			return errf(42041, "%s.option_list[%d].text missing", field, i)
		}
		ids[o.ID] = true
	}
	if s.SelectedID != "" && !ids[s.SelectedID] {
		return errf(40058, "%s.selected_id %q is not an option", field, s.SelectedID)
	}
	return nil
}

// noChecked refuses is_checked on a drop-down option: the key is
// documented for checkbox options only (preselection is selected_id). The
// options share one type, so only a true value is seen.
func noChecked(field string, s *CardSelection) error {
	for i, o := range s.OptionList {
		if o.IsChecked {
			return errf(40058, "%s.option_list[%d].is_checked is not a documented key (use selected_id)", field, i)
		}
	}
	return nil
}

func checkSubmit(b *CardSubmitButton) error {
	switch {
	case b == nil || b.Text == "":
		return errf(42049, "submit_button.text missing")
	case b.Key == "" || len(b.Key) > maxKeyBytes:
		return errf(42046, "submit_button.key missing or longer than %d bytes", maxKeyBytes)
	}
	return nil
}

// handleUpdateTemplateCard: POST /cgi-bin/message/update_template_card.
// agentid as in message/send (41011, 40056, 301002); a key doc 94888 does
// not document, at the top, in button or in the card: 40058; response_code missing
// 40058, unknown, used or older than 72 h 60140, issued to another app
// 42015; targets: userids >1000 40032, partyids >100 82002, tagids >100
// 82003, none at all 82001 (unconfirmed: the doc names no code); exactly
// one of button and template_card (40058); the button form only for
// button/vote/multiple cards (40058), replace_name required (40058); a
// replacement card is validated like a sent one (minus task_id rules).
// Targets must be recipients of the card: other userids come back in
// invaliduser (an array here, lowercased); when every listed user is
// invalid and nothing else was targeted: 81013 (unconfirmed). The code is
// used up only by a successful call.
func (s *Sim) handleUpdateTemplateCard(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app, err := s.agentOf(c, f)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if !updateKeys[k] {
			return nil, errf(40058, "%q is not a documented key of message/update_template_card", k)
		}
	}
	rc, _, err := f.str("response_code")
	if err != nil {
		return nil, err
	}
	mg := s.st.msg
	code := mg.codes[rc]
	switch {
	case rc == "":
		return nil, errf(40058, "response_code missing")
	case code == nil:
		return nil, errf(60140, "unknown response_code")
	case code.Used:
		return nil, errf(60140, "response_code already used")
	case c.now.Sub(code.Issued) >= ResponseCodeTTL:
		return nil, errf(60140, "response_code issued %s ago (valid %s)", c.now.Sub(code.Issued).Round(time.Second), ResponseCodeTTL)
	case code.AgentID != app.AgentID:
		return nil, errf(42015, "response_code belongs to app %d", code.AgentID)
	}
	msg := mg.msgs[code.MsgID]
	if msg == nil || msg.Card == nil {
		return nil, errf(60140, "response_code's card is gone")
	}
	userids, _, err := f.strs("userids")
	if err != nil {
		return nil, err
	}
	partyids, _, err := f.int64s("partyids")
	if err != nil {
		return nil, err
	}
	tagids, _, err := f.int64s("tagids")
	if err != nil {
		return nil, err
	}
	atall, _, err := f.int64("atall")
	if err != nil {
		return nil, err
	}
	switch {
	case len(userids) > maxSendUsers:
		return nil, errf(40032, "%d userids, at most %d", len(userids), maxSendUsers)
	case len(partyids) > maxSendParties:
		return nil, errf(82002, "%d partyids, at most %d", len(partyids), maxSendParties)
	case len(tagids) > maxSendTags:
		return nil, errf(82003, "%d tagids, at most %d", len(tagids), maxSendTags)
	case atall != 1 && len(userids) == 0 && len(partyids) == 0 && len(tagids) == 0:
		return nil, errf(82001, "userids, partyids, tagids empty and atall not 1")
	}
	hasButton, hasCard := f.has("button"), f.has("template_card")
	if hasButton == hasCard {
		return nil, errf(40058, "want exactly one of button and template_card")
	}
	var replaceName string
	var newCard *Card
	if hasButton {
		var b updateButton
		if err := decodeBody("button", f["button"], &b); err != nil {
			return nil, err
		}
		if b.ReplaceName == "" {
			return nil, errf(40058, "button.replace_name missing")
		}
		if !interactiveCard(msg.Card.CardType) {
			return nil, errf(40058, "button form on a %s card", msg.Card.CardType)
		}
		replaceName = b.ReplaceName
	} else {
		if newCard, err = s.validateCard(f["template_card"], false); err != nil {
			return nil, err
		}
		if newCard.TaskID == "" {
			newCard.TaskID = msg.TaskID
		}
	}

	recipients := map[string]bool{}
	for _, k := range msg.Recipients {
		recipients[k] = true
	}
	var targets []string
	seen := map[string]bool{}
	addTarget := func(k string) {
		if recipients[k] && !seen[k] {
			seen[k] = true
			targets = append(targets, k)
		}
	}
	invalid := []string{}
	if atall == 1 {
		for _, k := range msg.Recipients {
			addTarget(k)
		}
	} else {
		for _, u := range userids {
			k := strings.ToLower(u)
			if !recipients[k] {
				if !slices.Contains(invalid, k) {
					invalid = append(invalid, k)
				}
				continue
			}
			addTarget(k)
		}
		for _, d := range partyids {
			if s.st.depts[d] != nil {
				for _, m := range s.st.membersOf(d, true) {
					addTarget(strings.ToLower(m.UserID))
				}
			}
		}
		for _, id := range tagids {
			if t := s.st.tags[id]; t != nil {
				for _, u := range t.UserList {
					addTarget(strings.ToLower(u))
				}
				for _, d := range t.PartyList {
					if s.st.depts[d] != nil {
						for _, m := range s.st.membersOf(d, true) {
							addTarget(strings.ToLower(m.UserID))
						}
					}
				}
			}
		}
		if len(targets) == 0 && len(invalid) > 0 && len(partyids) == 0 && len(tagids) == 0 {
			return nil, errf(81013, "no listed user received the card: %v", invalid)
		}
	}
	code.Used = true
	for _, k := range targets {
		e := s.st.entryFor(k, msg.ID)
		if e == nil {
			continue
		}
		if newCard != nil {
			s.replaceCard(e, newCard, apiUpdated, c.now)
		} else {
			s.relabelButtons(e, replaceName, apiUpdated, c.now)
		}
	}
	s.log.Info("template card updated", zap.Int64("agent_id", app.AgentID), zap.String("msg_id", msg.ID),
		zap.String("task_id", msg.TaskID), zap.Int("targets", len(targets)), zap.Bool("whole_card", newCard != nil))
	return obj{"invaliduser": invalid}, nil
}

// updateKeys are update_template_card's documented top-level keys (doc
// 94888); enable_id_trans is accepted without effect, as in message/send.
var updateKeys = map[string]bool{
	"userids": true, "partyids": true, "tagids": true, "atall": true, "agentid": true, "response_code": true,
	"enable_id_trans": true, "button": true, "template_card": true,
}

// updateButton is update_template_card's button form.
type updateButton struct {
	ReplaceName string `json:"replace_name"`
}

// replaceCard puts a new card in one member's copy. A card with
// replace_text is final; one without can be pressed again.
func (s *Sim) replaceCard(e *inboxEntry, card *Card, by string, now time.Time) {
	e.Card = cloneCard(card)
	prev := e.CardState
	cs := &CardState{Actioned: card.ReplaceText != "", UpdatedBy: by, UpdatedAt: now}
	if prev != nil {
		cs.PressedKey, cs.Selected = prev.PressedKey, prev.Selected
	}
	e.CardState = cs
}

// relabelButtons greys the buttons of one member's card under name.
func (s *Sim) relabelButtons(e *inboxEntry, name, by string, now time.Time) {
	if e.CardState == nil {
		e.CardState = &CardState{}
	}
	e.CardState.ReplaceName = name
	e.CardState.Actioned = true
	e.CardState.UpdatedBy = by
	e.CardState.UpdatedAt = now
}

// PressResult is what happened when a member pressed a card button.
type PressResult struct {
	// Event is the callback event: template_card_event, or
	// template_card_menu_event for an action_menu item.
	Event string `json:"event"`
	// Ignored: the card was already actioned, so the client did nothing
	// (no callback).
	Ignored bool `json:"ignored,omitempty"`
	// CallbackID is the callback in the delivery log; 0 when the app has no
	// callback URL.
	CallbackID int64 `json:"callback_id,omitempty"`
	// ResponseCode is the fresh code the callback carried.
	ResponseCode string `json:"response_code,omitempty"`
	// Delivered: the app answered HTTP 200 (possibly after retries).
	Delivered bool `json:"delivered"`
	// Reply is the MsgType of the passive reply applied ("update_button",
	// "update_template_card", "text"), empty for none; ReplyError says why
	// a reply could not be used.
	Reply      string `json:"reply,omitempty"`
	ReplyError string `json:"reply_error,omitempty"`
	// Item is the member's card after the reply.
	Item InboxItem `json:"item"`
}

// ErrNotPressable is returned for presses the member's client does not
// offer: no such card, not shown, or a key that is not a callback button.
var ErrNotPressable = errors.New("wecomsim: nothing to press")

// PressCardButton presses a button of the template card msgid in member
// userid's inbox, as the member would in the WeCom client: key is a
// button_list key (button_interaction), the submit_button key
// (vote/multiple), or an action_menu item key (any card with a menu).
// selected answers the card's questions (button_selection, checkbox,
// select_list); questions left out keep the card's preselection.
//
// The app gets an encrypted template_card_event (template_card_menu_event
// for menu items) from the member, with a fresh ResponseCode usable once
// within 72 h; its passive reply changes that member's card only:
// update_button greys the buttons out under ReplaceName,
// update_template_card replaces the card. Without an answer within
// CallbackTimeout the callback is retried like any other. A card already
// actioned ignores further presses (Ignored, no callback) — menu items
// stay available. PressCardButton waits for the delivery to finish or ctx
// to end.
func (s *Sim) PressCardButton(ctx context.Context, userid, msgid, key string, selected []SelectedItem) (*PressResult, error) {
	s.mu.Lock()
	m := s.st.user(userid)
	if m == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: no member %q", ErrNotPressable, userid)
	}
	e := s.st.entryFor(userid, msgid)
	if e == nil || e.Card == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s has no card %q", ErrNotPressable, userid, msgid)
	}
	if !e.Visible() {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: card %q is not shown to %s (dropped, recalled or not displayed in WeChat)", ErrNotPressable, msgid, userid)
	}
	card := e.Card
	res := &PressResult{Event: "template_card_event"}
	menu := card.ActionMenu != nil && slices.ContainsFunc(card.ActionMenu.ActionList, func(a CardMenuAction) bool { return a.Key == key })
	var items []SelectedItem
	if menu {
		res.Event = "template_card_menu_event"
	} else {
		if e.CardState != nil && e.CardState.Actioned {
			res.Ignored = true
			res.Item = e.view()
			s.mu.Unlock()
			return res, nil
		}
		var err error
		if items, err = pressAnswers(card, key, selected); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	app := s.apps[e.AgentID]
	now := s.Now()
	code := s.newResponseCode(app.AgentID, msgid, m.UserID, now)
	res.ResponseCode = code
	if !menu {
		if e.CardState == nil {
			e.CardState = &CardState{}
		}
		e.CardState.Actioned = true
		e.CardState.PressedKey = key
		e.CardState.Selected = cloneSelected(items)
	}
	ev := cardEventXML{ToUserName: cardText{s.opts.CorpID}, FromUserName: cardText{m.UserID}, CreateTime: now.Unix(),
		MsgType: cardText{"event"}, Event: cardText{res.Event}, EventKey: cardText{key}, TaskID: cardText{card.TaskID},
		CardType: cardText{card.CardType}, ResponseCode: cardText{code}, AgentID: app.AgentID}
	if len(items) > 0 {
		ev.SelectedItems = &selectedItemsXML{}
		for _, it := range items {
			x := selectedItemXML{QuestionKey: cardText{it.QuestionKey}}
			for _, o := range it.OptionIDs {
				x.OptionIDs = append(x.OptionIDs, cardText{o})
			}
			ev.SelectedItems.Items = append(ev.SelectedItems.Items, x)
		}
	}
	payload, err := xml.Marshal(ev)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("wecomsim: build %s for %s: %w", res.Event, m.UserID, err)
	}
	done := make(chan struct{})
	var reply replyOutcome
	res.CallbackID = s.enqueueAppEvent(app, res.Event, payload, func(body []byte) {
		res.Delivered = true
		reply = s.applyPassiveReply(app, m.UserID, msgid, body)
	}, func() { close(done) })
	s.log.Info("card pressed", zap.Int64("agent_id", app.AgentID), zap.String("userid", m.UserID),
		zap.String("msg_id", msgid), zap.String("task_id", card.TaskID), zap.String("event", res.Event), zap.Int64("callback", res.CallbackID))
	s.mu.Unlock()

	if res.CallbackID != 0 {
		if err := s.waitDone(ctx, done); err != nil {
			return nil, err
		}
	}
	res.Reply, res.ReplyError = reply.typ, reply.err
	s.mu.Lock()
	if e := s.st.entryFor(userid, msgid); e != nil {
		res.Item = e.view()
	}
	s.mu.Unlock()
	return res, nil
}

// cardText is a string element written as CDATA, as WeCom writes strings.
type cardText struct {
	Text string `xml:",cdata"`
}

// cardEventXML is the plaintext of a template_card_event or
// template_card_menu_event callback (doc 90240), elements in the
// documented order. The simulator builds it with encoding/xml rather than
// the product's writer, so a mistake there cannot hide behind a matching
// mistake here.
type cardEventXML struct {
	XMLName       xml.Name          `xml:"xml"`
	ToUserName    cardText          `xml:"ToUserName"`
	FromUserName  cardText          `xml:"FromUserName"`
	CreateTime    int64             `xml:"CreateTime"`
	MsgType       cardText          `xml:"MsgType"`
	Event         cardText          `xml:"Event"`
	EventKey      cardText          `xml:"EventKey"`
	TaskID        cardText          `xml:"TaskId"`
	CardType      cardText          `xml:"CardType"`
	ResponseCode  cardText          `xml:"ResponseCode"`
	AgentID       int64             `xml:"AgentID"`
	SelectedItems *selectedItemsXML `xml:"SelectedItems,omitempty"`
}

type selectedItemsXML struct {
	Items []selectedItemXML `xml:"SelectedItem"`
}

type selectedItemXML struct {
	QuestionKey cardText   `xml:"QuestionKey"`
	OptionIDs   []cardText `xml:"OptionIds>OptionId"`
}

// passiveReplyXML is a passive reply as doc 90241 documents it: text
// (Content), update_button (Button/ReplaceName) and update_template_card
// (TemplateCard, the card in CamelCase with repeated list elements).
type passiveReplyXML struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Content      string   `xml:"Content"`
	Button       *struct {
		ReplaceName string `xml:"ReplaceName"`
	} `xml:"Button"`
	TemplateCard *Card `xml:"TemplateCard"`
}

// Passive reply MsgTypes the simulator applies.
const (
	replyText               = "text"
	replyUpdateButton       = "update_button"
	replyUpdateTemplateCard = "update_template_card"
)

// parsePassiveReply reads a decrypted passive reply.
func parsePassiveReply(plain []byte) (*passiveReplyXML, error) {
	var r passiveReplyXML
	if err := xml.Unmarshal(plain, &r); err != nil {
		return nil, fmt.Errorf("parse passive reply: %w", err)
	}
	if r.TemplateCard != nil {
		r.TemplateCard.normalizeXML()
	}
	return &r, nil
}

// waitDone waits for a callback's delivery to end.
func (s *Sim) waitDone(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return errors.New("wecomsim: closed")
	}
}

// enqueueAppEvent is sendAppCallback with a completion hook: onDone runs
// when delivery is over, delivered or not. 0 (and no onDone) when the app
// has no callback URL.
func (s *Sim) enqueueAppEvent(app *App, kind string, payload []byte, onReply func([]byte), onDone func()) int64 {
	if app.CallbackURL == "" {
		return 0
	}
	return s.enqueueCallback(outbound{
		recv:    Receiver{URL: app.CallbackURL, Token: app.Token, EncodingAESKey: app.EncodingAESKey},
		agentID: itoa(app.AgentID),
		kind:    kind,
		payload: payload,
		onReply: onReply,
		onDone:  onDone,
	})
}

// pressAnswers checks key against the card and builds SelectedItems:
// the caller's answers, else the card's preselection.
func pressAnswers(card *Card, key string, selected []SelectedItem) ([]SelectedItem, error) {
	given := map[string][]string{}
	for _, s := range selected {
		given[s.QuestionKey] = s.OptionIDs
	}
	answer := func(sel *CardSelection, multi bool, preset []string) (SelectedItem, error) {
		ids, ok := given[sel.QuestionKey]
		if !ok {
			ids = preset
		}
		for _, id := range ids {
			if !slices.ContainsFunc(sel.OptionList, func(o CardOption) bool { return o.ID == id }) {
				return SelectedItem{}, fmt.Errorf("%w: %q is not an option of question %q", ErrNotPressable, id, sel.QuestionKey)
			}
		}
		if len(ids) > 1 && !multi {
			return SelectedItem{}, fmt.Errorf("%w: question %q takes one option", ErrNotPressable, sel.QuestionKey)
		}
		return SelectedItem{QuestionKey: sel.QuestionKey, OptionIDs: slices.Clone(ids)}, nil
	}
	one := func(id string) []string {
		if id == "" {
			return nil
		}
		return []string{id}
	}
	switch card.CardType {
	case cardButtonInteraction:
		if !slices.ContainsFunc(card.ButtonList, func(b CardButton) bool { return b.Type == 0 && b.Key == key }) {
			return nil, fmt.Errorf("%w: %q is not a callback button of this card", ErrNotPressable, key)
		}
		if bs := card.ButtonSelection; bs != nil {
			it, err := answer(bs, false, one(bs.SelectedID))
			if err != nil {
				return nil, err
			}
			return []SelectedItem{it}, nil
		}
		return nil, nil
	case cardVoteInteraction:
		if card.SubmitButton == nil || card.SubmitButton.Key != key {
			return nil, fmt.Errorf("%w: %q is not the submit button", ErrNotPressable, key)
		}
		cb := card.CheckBox
		var preset []string
		for _, o := range cb.OptionList {
			if o.IsChecked {
				preset = append(preset, o.ID)
			}
		}
		it, err := answer(&CardSelection{QuestionKey: cb.QuestionKey, OptionList: cb.OptionList}, cb.Mode == 1, preset)
		if err != nil {
			return nil, err
		}
		if len(it.OptionIDs) == 0 {
			return nil, fmt.Errorf("%w: choose an option first", ErrNotPressable)
		}
		return []SelectedItem{it}, nil
	case cardMultipleInteraction:
		if card.SubmitButton == nil || card.SubmitButton.Key != key {
			return nil, fmt.Errorf("%w: %q is not the submit button", ErrNotPressable, key)
		}
		var out []SelectedItem
		for i := range card.SelectList {
			sl := &card.SelectList[i]
			it, err := answer(sl, false, one(sl.SelectedID))
			if err != nil {
				return nil, err
			}
			if len(it.OptionIDs) == 0 {
				return nil, fmt.Errorf("%w: answer %q first", ErrNotPressable, sl.Title)
			}
			out = append(out, it)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: a %s card has no buttons", ErrNotPressable, card.CardType)
}

// replyOutcome is how a passive reply was used.
type replyOutcome struct {
	typ  string // MsgType applied
	text string // the content of a text reply
	err  string // why it was not
}

// applyPassiveReply reads the body of a delivered app callback as WeCom
// does: empty or "success" is no reply; otherwise an encrypted envelope
// whose message is applied for member userid — update_button and
// update_template_card to that member's copy of card msgid (only), text as
// the app's answer in the member's inbox. It runs on the delivery
// goroutine and takes the lock itself.
func (s *Sim) applyPassiveReply(app *App, userid, msgid string, body []byte) replyOutcome {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || string(b) == "success" {
		return replyOutcome{}
	}
	cr, err := wecom.NewCrypter(app.Token, app.EncodingAESKey, s.opts.CorpID)
	if err != nil {
		return replyOutcome{err: "app crypto config: " + err.Error()}
	}
	plain, err := cr.OpenReply(b)
	if err != nil {
		s.log.Warn("passive reply not understood", zap.Int64("agent_id", app.AgentID), zap.String("userid", userid), zap.Error(err))
		return replyOutcome{err: "open reply: " + err.Error()}
	}
	r, err := parsePassiveReply(plain)
	if err != nil {
		return replyOutcome{err: err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	switch r.MsgType {
	case replyText:
		if r.Content == "" {
			return replyOutcome{err: "empty text reply"}
		}
		s.addInbox(userid, InboxItem{AgentID: app.AgentID, From: FromApp, MsgType: msgText, Time: now, Reply: true,
			Body: mustJSON(textBody{Content: truncateBytes(r.Content, maxTextBytes)})}, nil)
	case replyUpdateButton, replyUpdateTemplateCard:
		e := s.st.entryFor(userid, msgid)
		if e == nil || e.Card == nil {
			return replyOutcome{err: r.MsgType + " answers no card"}
		}
		if r.MsgType == replyUpdateButton {
			if !interactiveCard(e.Card.CardType) || r.Button == nil || r.Button.ReplaceName == "" {
				return replyOutcome{err: "update_button needs ReplaceName and a button/vote/multiple card"}
			}
			s.relabelButtons(e, r.Button.ReplaceName, passiveReplyUpdated, now)
		} else {
			if r.TemplateCard == nil || !validCardType(r.TemplateCard.CardType) {
				return replyOutcome{err: "update_template_card without a valid TemplateCard"}
			}
			card := r.TemplateCard
			if card.TaskID == "" {
				card.TaskID = e.Card.TaskID
			}
			s.replaceCard(e, card, passiveReplyUpdated, now)
		}
	default:
		return replyOutcome{err: "passive reply type " + r.MsgType + " not simulated"}
	}
	s.log.Info("passive reply applied", zap.Int64("agent_id", app.AgentID), zap.String("userid", userid), zap.String("reply", r.MsgType))
	return replyOutcome{typ: r.MsgType, text: r.Content}
}
