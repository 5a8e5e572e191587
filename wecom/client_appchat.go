package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"unicode/utf8"

	"go.uber.org/zap"
)

// App group chats (应用群聊, docs/wecom.md §13): an app creates internal
// group chats, keeps their members and owner, and posts messages into them
// (appchat/create, update, get, send; docs 90245, 98913, 98914, 90248).
// Through our own plumbing: silenceper has only appchat/send with three
// body types.
//
// The API works only for self-built apps whose visible range is the root
// department, and only on chats the calling app created (86008 otherwise).
// WeCom offers no delete and no list: a chat lives until its members leave
// it, and its chatid must be remembered by the caller.
//
// Retries: create with a caller-chosen chatid is idempotent in effect (a
// repeat answers 86215, chatid exists, which the caller treats as done);
// without one a retry could make a second chat, so it is retried only when
// WeCom certainly did not act. update sets absolute values and is retried
// like a read (a repeat that deletes an already deleted member answers
// 86216, which the caller resolves by reading the chat). send is a message:
// never resent after it may have gone out (Uncertain(err)).

// Limits of app group chats (docs 90245, 98913, 90454).
const (
	// MinAppChatMembers and MaxAppChatMembers bound userlist (86006).
	// Whether the 2,000 counts the app itself ("含应用") is unconfirmed.
	MinAppChatMembers = 2
	MaxAppChatMembers = 2000
	// MaxAppChatName is the longest name in UTF-8 characters; WeCom cuts
	// longer ones.
	MaxAppChatName = 50
	// MaxAppChatIDLen is the longest chatid; only 0-9 a-z A-Z (86001).
	MaxAppChatIDLen = 32
	// AppChatCreatesPerDay is how many chats all apps of a corp may create
	// in a (China) day; AppChatUpdatesPerHour how many changes they may
	// make in an hour. Over either is 45009 until the window ends.
	AppChatCreatesPerDay  = 1000
	AppChatUpdatesPerHour = 1000
)

// Errcodes of app group chats (doc 90313).
const (
	CodeAppChatIDInvalid     = 86001 // malformed chatid (also seen for an unknown one)
	CodeAppChatNotFound      = 86003
	CodeAppChatBadName       = 86004
	CodeAppChatBadOwner      = 86005
	CodeAppChatMemberCount   = 86006 // fewer than 2 or more than 2,000 members
	CodeAppChatBadMember     = 86007
	CodeAppChatNotOurs       = 86008 // the chat was not created by this app
	CodeAppChatOwnerRequired = 86203
	CodeAppChatIDTooLong     = 86205
	CodeAppChatOwnerNotIn    = 86207 // the owner is not among the members
	CodeAppChatExists        = 86215 // the chatid is taken
	CodeAppChatUnknownMember = 86216 // a userid to add is not in the contacts, or one to delete is not in the chat
)

// AppChat is an app group chat as appchat/create takes it and appchat/get
// answers it.
type AppChat struct {
	// ChatID is 1..32 characters of 0-9 a-z A-Z, unique in the corp;
	// empty on create lets WeCom choose one.
	ChatID string `json:"chatid,omitempty"`
	// Name is at most 50 characters (WeCom cuts longer ones).
	Name string `json:"name,omitempty"`
	// Owner (群主) must be in UserList; empty on create lets WeCom pick a
	// member.
	Owner string `json:"owner,omitempty"`
	// UserList are the members' userids, 2..2,000.
	UserList []string `json:"userlist"`
	// ChatType is 0 for an ordinary chat, 1 for a course chat (get only).
	ChatType int `json:"chat_type,omitempty"`
}

// AppChatUpdate is an appchat/update request: only the fields set change.
// Owner is required when DelUserList holds the current owner.
type AppChatUpdate struct {
	ChatID      string   `json:"chatid"`
	Name        string   `json:"name,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	AddUserList []string `json:"add_user_list,omitempty"`
	DelUserList []string `json:"del_user_list,omitempty"`
}

// Empty reports whether u changes nothing.
func (u AppChatUpdate) Empty() bool {
	return u.Name == "" && u.Owner == "" && len(u.AddUserList) == 0 && len(u.DelUserList) == 0
}

// AppChatMessage is one message to a group chat. Exactly one body must be
// set; the bodies are message/send's (§6). Template cards cannot be sent
// to a chat.
type AppChatMessage struct {
	// Safe: 0 shareable, 1 confidential (news: must be 0).
	Safe int

	Text     *Text
	Markdown *Markdown
	TextCard *TextCard
	News     *News
}

type appChatSendRequest struct {
	ChatID   string    `json:"chatid"`
	MsgType  string    `json:"msgtype"`
	Safe     int       `json:"safe,omitempty"`
	Text     *Text     `json:"text,omitempty"`
	Markdown *Markdown `json:"markdown,omitempty"`
	TextCard *TextCard `json:"textcard,omitempty"`
	News     *News     `json:"news,omitempty"`
}

type appChatCreateResponse struct {
	apiResponse
	ChatID string `json:"chatid"`
}

type appChatGetResponse struct {
	apiResponse
	ChatInfo AppChat `json:"chat_info"`
}

// ValidAppChatID reports whether id is a chatid WeCom accepts: 1..32
// characters of 0-9 a-z A-Z.
func ValidAppChatID(id string) bool {
	if id == "" || len(id) > MaxAppChatIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// CreateAppChat creates a group chat owned by the app and returns its
// chatid. The first message makes it appear in older clients.
func (cl *Client) CreateAppChat(ctx context.Context, c AppChat) (string, error) {
	const api = "appchat/create"
	switch {
	case c.ChatID != "" && !ValidAppChatID(c.ChatID):
		return "", fmt.Errorf("wecom: %s %q: chatid must be 1..%d characters of 0-9a-zA-Z", api, c.ChatID, MaxAppChatIDLen)
	case len(c.UserList) < MinAppChatMembers || len(c.UserList) > MaxAppChatMembers:
		return "", fmt.Errorf("wecom: %s %q: %d members, want %d..%d", api, c.ChatID, len(c.UserList), MinAppChatMembers, MaxAppChatMembers)
	case utf8.RuneCountInString(c.Name) > MaxAppChatName:
		return "", fmt.Errorf("wecom: %s %q: name is longer than %d characters", api, c.ChatID, MaxAppChatName)
	}
	c.ChatType = 0 // not a create parameter
	var out appChatCreateResponse
	spec := callSpec{api: api, idempotent: c.ChatID != "", fields: []zap.Field{zap.String("chatid", c.ChatID), zap.Int("members", len(c.UserList))}}
	err := cl.do(ctx, spec, func(cs *callState) error {
		out = appChatCreateResponse{}
		return cs.postJSON(api, nil, c, &out)
	})
	if err != nil {
		return "", fmt.Errorf("wecom: %s %q: %w", api, c.ChatID, err)
	}
	return out.ChatID, nil
}

// UpdateAppChat renames the chat, changes its owner and adds or removes
// members, as far as u sets them.
func (cl *Client) UpdateAppChat(ctx context.Context, u AppChatUpdate) error {
	const api = "appchat/update"
	switch {
	case u.ChatID == "":
		return fmt.Errorf("wecom: %s: chatid is required", api)
	case u.Empty():
		return fmt.Errorf("wecom: %s %s: nothing to change", api, u.ChatID)
	case utf8.RuneCountInString(u.Name) > MaxAppChatName:
		return fmt.Errorf("wecom: %s %s: name is longer than %d characters", api, u.ChatID, MaxAppChatName)
	}
	spec := callSpec{api: api, idempotent: true, fields: []zap.Field{zap.String("chatid", u.ChatID),
		zap.Int("add", len(u.AddUserList)), zap.Int("del", len(u.DelUserList))}}
	err := cl.do(ctx, spec, func(cs *callState) error {
		return cs.postJSON(api, nil, u, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: %s %s: %w", api, u.ChatID, err)
	}
	return nil
}

// GetAppChat reads a chat the app created: name, owner, members.
func (cl *Client) GetAppChat(ctx context.Context, chatID string) (*AppChat, error) {
	const api = "appchat/get"
	if chatID == "" {
		return nil, fmt.Errorf("wecom: %s: chatid is required", api)
	}
	var out appChatGetResponse
	err := cl.do(ctx, callSpec{api: api, idempotent: true, fields: []zap.Field{zap.String("chatid", chatID)}}, func(cs *callState) error {
		out = appChatGetResponse{}
		return cs.getJSON(api, url.Values{"chatid": {chatID}}, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s %s: %w", api, chatID, err)
	}
	c := out.ChatInfo
	if c.UserList == nil {
		c.UserList = []string{}
	}
	return &c, nil
}

// SendAppChat posts m into the chat as the app. Every member receives it;
// WeCom drops, without an error, what exceeds 200 messages a minute or
// 10,000 a day from one app to one member.
func (cl *Client) SendAppChat(ctx context.Context, chatID string, m *AppChatMessage) error {
	const api = "appchat/send"
	if chatID == "" {
		return fmt.Errorf("wecom: %s: chatid is required", api)
	}
	if m == nil {
		return fmt.Errorf("wecom: %s %s: no message", api, chatID)
	}
	req := &appChatSendRequest{ChatID: chatID, Safe: m.Safe, Text: m.Text, Markdown: m.Markdown, TextCard: m.TextCard, News: m.News}
	n := 0
	for _, b := range []struct {
		set bool
		typ string
	}{{m.Text != nil, MsgText}, {m.Markdown != nil, MsgMarkdown}, {m.TextCard != nil, MsgTextCard}, {m.News != nil, MsgNews}} {
		if b.set {
			n++
			req.MsgType = b.typ
		}
	}
	switch {
	case n != 1:
		return fmt.Errorf("wecom: %s %s: want exactly one message body, have %d", api, chatID, n)
	case m.News != nil && (len(m.News.Articles) == 0 || len(m.News.Articles) > 8):
		return fmt.Errorf("wecom: %s %s: news needs 1..8 articles, have %d", api, chatID, len(m.News.Articles))
	case m.News != nil && m.Safe != 0:
		return errors.New("wecom: " + api + " " + chatID + ": news cannot be confidential")
	}
	spec := callSpec{api: api, fields: []zap.Field{zap.String("chatid", chatID), zap.String("msg_type", req.MsgType)}}
	err := cl.do(ctx, spec, func(cs *callState) error {
		return cs.postJSON(api, nil, req, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: %s %s %s: %w", api, req.MsgType, chatID, err)
	}
	return nil
}
