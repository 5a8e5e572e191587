package wecomsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Member inboxes: what each member's WeCom (or WeChat, through the plugin)
// shows of the apps. message/send delivers into them, card presses and
// update_template_card change the cards in them, and the member's own texts
// to an app and the app's passive replies are kept there as the
// conversation. The admin API and Sim.Inbox expose them; the phone page
// renders them.
//
// Admin routes (under AdminPrefix), answering JSON:
//
//	GET  inbox?userid=U                         {"userid","items":[InboxItem…]} newest first
//	GET  messages/drops                         [Drop…] messages dropped by the per-member limit
//	POST cards/press {"userid","msgid","key","selected":[{"QuestionKey","OptionIDs"}]}  PressCardButton
//	POST members/text {"userid","agentid","content"}                                   SendText
//	POST members/enter {"userid","agentid"}                                            EnterApp
//	POST oauth/code {"userid"|"openid","agentid","scope","redirect_uri"}                IssueOAuthCode → {"code"}

// Who an inbox item is from.
const (
	FromApp    = "app"    // a message/send delivery or a passive reply
	FromMember = "member" // a text the member sent to the app
)

// NotDisplayedInWeChat is InboxItem.NotDisplayed for markdown and template
// cards sent to a WeChat-plugin member: WeChat does not show them (doc
// 90236: 微工作台不支持展示).
const NotDisplayedInWeChat = "not displayed in WeChat"

// InboxItem is one entry of a member's inbox.
type InboxItem struct {
	Seq     int64  `json:"seq"`
	MsgID   string `json:"msgid,omitempty"` // message/send msgid; MsgId of a member's text
	AgentID int64  `json:"agentid"`
	App     string `json:"app"` // the app's name
	From    string `json:"from"`
	// MsgType is the message/send msgtype (text, textcard, news, markdown,
	// template_card, image, file, voice, video, mpnews); passive replies
	// and member texts are "text".
	MsgType string    `json:"msgtype"`
	Time    time.Time `json:"time"` // simulator clock
	// Body is the msgtype object as delivered (text over 2,048 bytes
	// already truncated), e.g. {"content":"…"} for text.
	Body json.RawMessage `json:"body"`
	// Reply marks an app's passive reply (to a text or an event).
	Reply bool `json:"reply,omitempty"`
	// Card is this member's current copy of a template card: passive
	// replies change one member's copy, update_template_card many.
	Card      *Card      `json:"card,omitempty"`
	CardState *CardState `json:"card_state,omitempty"`
	// Dropped: over the per-member limit (30/min, 1,000/h per app), so
	// never shown; the send still answered ok.
	Dropped bool `json:"dropped,omitempty"`
	// NotDisplayed says why the member's client does not show the item
	// (NotDisplayedInWeChat).
	NotDisplayed string `json:"not_displayed,omitempty"`
	// Recalled: message/recall removed it from the WeCom client.
	Recalled bool `json:"recalled,omitempty"`
}

// Visible reports whether the member's client shows the item.
func (it *InboxItem) Visible() bool {
	return !it.Dropped && !it.Recalled && it.NotDisplayed == ""
}

// CardState is what the member did with a template card and what the app
// changed on it since.
type CardState struct {
	// Actioned: the member pressed a button or submitted, or the app closed
	// the card; the client ignores further presses. A full-card update
	// without replace_text opens it again.
	Actioned bool `json:"actioned,omitempty"`
	// PressedKey is the button or submit key last pressed.
	PressedKey string `json:"pressed_key,omitempty"`
	// Selected holds the answers submitted with the press.
	Selected []SelectedItem `json:"selected,omitempty"`
	// ReplaceName greys the buttons out under one label (update_button
	// passive reply, or update_template_card's button form).
	ReplaceName string `json:"replace_name,omitempty"`
	// UpdatedBy says what changed the card last: "passive_reply" (only this
	// member's copy) or "api" (update_template_card).
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Drop is a message the per-member limit dropped.
type Drop struct {
	Time    time.Time `json:"time"`
	AgentID int64     `json:"agentid"`
	UserID  string    `json:"userid"`
	MsgID   string    `json:"msgid"`
	Reason  string    `json:"reason"`
}

// maxDropLog bounds the drop log.
const maxDropLog = 20000

// messaging is the state of app messages: sent messages, inboxes, card
// tasks and their response codes, duplicate checks. Part of state (Reset
// clears it); guarded by Sim.mu.
type messaging struct {
	seq   int64
	msgs  map[string]*sentMsg      // msgid → message
	inbox map[string][]*inboxEntry // lower(userid) → entries, oldest first
	tasks map[taskKey]*task        // template-card tasks
	codes map[string]*responseCode // response_code → its use
	dups  map[string]*dupEntry     // duplicate-check key → first send
	drops []Drop                   // per-member limit drops
	stats map[statKey]int          // person-times delivered per app and day
}

func newMessaging() *messaging {
	return &messaging{
		msgs:  map[string]*sentMsg{},
		inbox: map[string][]*inboxEntry{},
		tasks: map[taskKey]*task{},
		codes: map[string]*responseCode{},
		dups:  map[string]*dupEntry{},
		stats: map[statKey]int{},
	}
}

// sentMsg is one message/send call that delivered something.
type sentMsg struct {
	ID      string
	AgentID int64
	Type    string
	Body    json.RawMessage
	Card    *Card // template_card as sent
	Time    time.Time
	TaskID  string
	// Recipients are the lower-case userids it was delivered to (dropped
	// and not-displayed copies included).
	Recipients []string
	Recalled   bool
}

// inboxEntry is an InboxItem under construction; the card fields are the
// member's own copy.
type inboxEntry struct {
	InboxItem
	msg *sentMsg // nil for conversation items
}

type statKey struct {
	AgentID int64
	Day     string // 2006-01-02 in China time
}

// chinaTime is WeCom's day boundary for statistics.
var chinaTime = time.FixedZone("CST", 8*3600)

// addInbox appends an item to userid's inbox and returns it.
func (s *Sim) addInbox(userid string, it InboxItem, msg *sentMsg) *inboxEntry {
	mg := s.st.msg
	mg.seq++
	it.Seq = mg.seq
	if a := s.apps[it.AgentID]; a != nil {
		it.App = a.Name
	}
	e := &inboxEntry{InboxItem: it, msg: msg}
	k := strings.ToLower(userid)
	mg.inbox[k] = append(mg.inbox[k], e)
	return e
}

// entryFor finds userid's copy of message msgid.
func (st *state) entryFor(userid, msgid string) *inboxEntry {
	for _, e := range st.msg.inbox[strings.ToLower(userid)] {
		if e.msg != nil && e.msg.ID == msgid {
			return e
		}
	}
	return nil
}

// view copies an entry for the outside world (cards deep-copied).
func (e *inboxEntry) view() InboxItem {
	it := e.InboxItem
	it.Body = slices.Clone(it.Body)
	if it.Card != nil {
		it.Card = cloneCard(it.Card)
	}
	if it.CardState != nil {
		cs := *it.CardState
		cs.Selected = cloneSelected(cs.Selected)
		it.CardState = &cs
	}
	return it
}

func cloneSelected(v []SelectedItem) []SelectedItem {
	if v == nil {
		return nil
	}
	out := make([]SelectedItem, len(v))
	for i, x := range v {
		out[i] = SelectedItem{QuestionKey: x.QuestionKey, OptionIDs: slices.Clone(x.OptionIDs)}
	}
	return out
}

// Inbox returns member userid's inbox, newest first, including what the
// member does not see (dropped, recalled, not displayed in WeChat). nil
// for an unknown member or an empty inbox.
func (s *Sim) Inbox(userid string) []InboxItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inboxLocked(userid)
}

func (s *Sim) inboxLocked(userid string) []InboxItem {
	entries := s.st.msg.inbox[strings.ToLower(userid)]
	out := make([]InboxItem, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].view())
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// InboxItemByMsgID returns userid's copy of message msgid.
func (s *Sim) InboxItemByMsgID(userid, msgid string) (InboxItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.entryFor(userid, msgid)
	if e == nil {
		return InboxItem{}, false
	}
	return e.view(), true
}

// MessageDrops returns the messages the per-member limit dropped, oldest
// first.
func (s *Sim) MessageDrops() []Drop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.msg.drops)
}

func (mg *messaging) logDrop(d Drop) {
	if len(mg.drops) >= maxDropLog {
		mg.drops = slices.Delete(mg.drops, 0, len(mg.drops)-maxDropLog+1)
	}
	mg.drops = append(mg.drops, d)
}

// inboxAdminRoutes registers the inbox, card and member-action routes of
// the admin API (listed at the top of this file).
func (s *Sim) inboxAdminRoutes(mux *http.ServeMux, p string) {
	mux.HandleFunc("GET "+p+"inbox", func(w http.ResponseWriter, r *http.Request) {
		userid := r.URL.Query().Get("userid")
		if userid == "" {
			http.Error(w, "userid is required", http.StatusBadRequest)
			return
		}
		writeJSON(w, obj{"userid": userid, "items": orEmpty(s.Inbox(userid))})
	})
	mux.HandleFunc("GET "+p+"messages/drops", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, orEmpty(s.MessageDrops()))
	})
	mux.HandleFunc("POST "+p+"cards/press", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID   string         `json:"userid"`
			MsgID    string         `json:"msgid"`
			Key      string         `json:"key"`
			Selected []SelectedItem `json:"selected"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		res, err := s.PressCardButton(r.Context(), req.UserID, req.MsgID, req.Key, req.Selected)
		writeAdminResult(w, res, err)
	})
	mux.HandleFunc("POST "+p+"members/text", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID  string `json:"userid"`
			AgentID int64  `json:"agentid"`
			Content string `json:"content"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		res, err := s.SendText(r.Context(), req.UserID, req.AgentID, req.Content)
		writeAdminResult(w, res, err)
	})
	mux.HandleFunc("POST "+p+"members/enter", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID  string `json:"userid"`
			AgentID int64  `json:"agentid"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		res, err := s.EnterApp(r.Context(), req.UserID, req.AgentID)
		writeAdminResult(w, res, err)
	})
	mux.HandleFunc("POST "+p+"oauth/code", func(w http.ResponseWriter, r *http.Request) {
		var req OAuthLogin
		if !decodeAdmin(w, r, &req) {
			return
		}
		code, err := s.IssueOAuthCode(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, obj{"code": code})
	})
}

// writeAdminResult answers a member action: the result, 400 for a request
// the member's client would not allow, 504 when the wait was cut short.
func writeAdminResult(w http.ResponseWriter, res any, err error) {
	switch {
	case err == nil:
		writeJSON(w, res)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		http.Error(w, err.Error(), http.StatusGatewayTimeout)
	default:
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

// statsDay is the statistics day of t.
func statsDay(t time.Time) string { return t.In(chinaTime).Format("2006-01-02") }

// itoa is strconv.FormatInt for ids in links and logs.
func itoa(v int64) string { return strconv.FormatInt(v, 10) }
