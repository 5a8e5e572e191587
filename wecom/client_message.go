package wecom

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// Application messages (§6), all through our own plumbing. silenceper's
// message.SendRequestCommon was not used: it sends agentid as a JSON string
// (the API documents an integer) and always sends
// duplicate_check_interval, 0 included; it also lacks textcard, news,
// markdown and template_card, update_template_card and recall.
//
// Sending twice is what the message center must never do, so message/send
// is not idempotent for the retry logic: it is retried only when the request
// certainly did not reach WeCom (see RetryPolicy), unless the message sets
// EnableDuplicateCheck — then WeCom itself drops a second identical request
// within DuplicateCheckInterval and the call is retried like a read. After a
// failure, Uncertain(err) tells whether the message may have gone out.

// Message types (msgtype).
const (
	MsgText         = "text"
	MsgTextCard     = "textcard"
	MsgNews         = "news"
	MsgMarkdown     = "markdown"
	MsgTemplateCard = "template_card"
)

// Template card types (card_type).
const (
	CardTextNotice          = "text_notice"
	CardNewsNotice          = "news_notice"
	CardButtonInteraction   = "button_interaction"
	CardVoteInteraction     = "vote_interaction"
	CardMultipleInteraction = "multiple_interaction"
)

// Recipient limits of one message/send call.
const (
	MaxSendUsers   = 1000
	MaxSendParties = 100
	MaxSendTags    = 100
)

// Message is one application message. Exactly one body (Text, TextCard,
// News, Markdown, TemplateCard) must be set, and at least one recipient.
type Message struct {
	// ToUser are userids; []string{"@all"} is everyone in the app's
	// visible range (ToParty and ToTag are then ignored by WeCom).
	ToUser  []string
	ToParty []string
	ToTag   []string
	// Safe: 0 shareable, 1 not shareable and watermarked (news: must be 0).
	Safe int
	// EnableDuplicateCheck asks WeCom to drop an identical request within
	// DuplicateCheckInterval seconds (0: WeCom's default 1800, max 14400),
	// which also makes the call safe to retry after an uncertain failure.
	EnableDuplicateCheck   bool
	DuplicateCheckInterval int

	Text         *Text
	TextCard     *TextCard
	News         *News
	Markdown     *Markdown
	TemplateCard *TemplateCard
}

// Text is a text message body: ≤2048 bytes, may contain <a href> links and
// newlines.
type Text struct {
	Content string `json:"content"`
}

// TextCard is a text card: title ≤128 B, description ≤512 B (may use
// <div class="gray|normal|highlight">), url with scheme, btntxt ≤4 chars.
type TextCard struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	BtnTxt      string `json:"btntxt,omitempty"`
}

// News is a news message of 1..8 articles.
type News struct {
	Articles []Article `json:"articles"`
}

// Article is one news article.
type Article struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	PicURL      string `json:"picurl,omitempty"`
	AppID       string `json:"appid,omitempty"`
	PagePath    string `json:"pagepath,omitempty"`
}

// Markdown is a markdown body (≤2048 B; not shown in the WeChat plugin).
type Markdown struct {
	Content string `json:"content"`
}

// sendRequest is message/send's wire form.
type sendRequest struct {
	ToUser                 string        `json:"touser,omitempty"`
	ToParty                string        `json:"toparty,omitempty"`
	ToTag                  string        `json:"totag,omitempty"`
	MsgType                string        `json:"msgtype"`
	AgentID                int64         `json:"agentid"`
	Safe                   int           `json:"safe,omitempty"`
	EnableDuplicateCheck   int           `json:"enable_duplicate_check,omitempty"`
	DuplicateCheckInterval int           `json:"duplicate_check_interval,omitempty"`
	Text                   *Text         `json:"text,omitempty"`
	TextCard               *TextCard     `json:"textcard,omitempty"`
	News                   *News         `json:"news,omitempty"`
	Markdown               *Markdown     `json:"markdown,omitempty"`
	TemplateCard           *TemplateCard `json:"template_card,omitempty"`
}

// SendResult is message/send's answer. Invalid recipients do not fail the
// call (all invalid is 81013).
type SendResult struct {
	InvalidUsers    []string // lowercased by WeCom
	InvalidParties  []string
	InvalidTags     []string
	UnlicensedUsers []string
	MsgID           string
	// ResponseCode is set for button, vote and multiple cards: one use of
	// message/update_template_card within 72 h.
	ResponseCode string
}

type sendResponse struct {
	apiResponse
	InvalidUser    string `json:"invaliduser"`
	InvalidParty   string `json:"invalidparty"`
	InvalidTag     string `json:"invalidtag"`
	UnlicensedUser string `json:"unlicenseduser"`
	MsgID          string `json:"msgid"`
	ResponseCode   string `json:"response_code"`
}

func (m *Message) wire(agentID int64) (*sendRequest, error) {
	r := &sendRequest{
		ToUser: joinPipe(m.ToUser), ToParty: joinPipe(m.ToParty), ToTag: joinPipe(m.ToTag),
		AgentID: agentID, Safe: m.Safe,
		Text: m.Text, TextCard: m.TextCard, News: m.News, Markdown: m.Markdown, TemplateCard: m.TemplateCard,
	}
	if m.EnableDuplicateCheck {
		r.EnableDuplicateCheck = 1
		r.DuplicateCheckInterval = m.DuplicateCheckInterval
	}
	n := 0
	for _, b := range []struct {
		set bool
		typ string
	}{{m.Text != nil, MsgText}, {m.TextCard != nil, MsgTextCard}, {m.News != nil, MsgNews}, {m.Markdown != nil, MsgMarkdown}, {m.TemplateCard != nil, MsgTemplateCard}} {
		if b.set {
			n++
			r.MsgType = b.typ
		}
	}
	switch {
	case n != 1:
		return nil, fmt.Errorf("want exactly one message body, have %d", n)
	case r.ToUser == "" && r.ToParty == "" && r.ToTag == "":
		return nil, errors.New("no recipients")
	case len(m.ToUser) > MaxSendUsers || len(m.ToParty) > MaxSendParties || len(m.ToTag) > MaxSendTags:
		return nil, fmt.Errorf("too many recipients (%d users, %d parties, %d tags; limits %d/%d/%d)",
			len(m.ToUser), len(m.ToParty), len(m.ToTag), MaxSendUsers, MaxSendParties, MaxSendTags)
	case m.News != nil && (len(m.News.Articles) == 0 || len(m.News.Articles) > 8):
		return nil, fmt.Errorf("news needs 1..8 articles, have %d", len(m.News.Articles))
	}
	return r, nil
}

// SendMessage sends m as the client's app (message/send).
func (cl *Client) SendMessage(ctx context.Context, m *Message) (*SendResult, error) {
	const api = "message/send"
	req, err := m.wire(cl.agentID)
	if err != nil {
		return nil, fmt.Errorf("wecom: message/send agent %d: %w", cl.agentID, err)
	}
	var out sendResponse
	spec := callSpec{api: api, idempotent: m.EnableDuplicateCheck, fields: []zap.Field{zap.Int64("agent_id", cl.agentID), zap.String("msg_type", req.MsgType)}}
	err = cl.do(ctx, spec, func(cs *callState) error {
		out = sendResponse{}
		return cs.postJSON(api, nil, req, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: message/send %s agent %d: %w", req.MsgType, cl.agentID, err)
	}
	return &SendResult{
		InvalidUsers: splitPipe(out.InvalidUser), InvalidParties: splitPipe(out.InvalidParty),
		InvalidTags: splitPipe(out.InvalidTag), UnlicensedUsers: splitPipe(out.UnlicensedUser),
		MsgID: out.MsgID, ResponseCode: out.ResponseCode,
	}, nil
}

// CardUpdate is a message/update_template_card request: the targets among
// the card's recipients, the response_code, and either ReplaceName (button
// form: relabel the buttons, for button/vote/multiple cards) or Card (the
// whole new card, which may carry ReplaceText).
type CardUpdate struct {
	UserIDs  []string
	PartyIDs []int
	TagIDs   []int
	// AtAll updates the card of every recipient of the task.
	AtAll        bool
	ResponseCode string
	ReplaceName  string
	Card         *TemplateCard
}

type cardUpdateRequest struct {
	UserIDs      []string      `json:"userids,omitempty"`
	PartyIDs     []int         `json:"partyids,omitempty"`
	TagIDs       []int         `json:"tagids,omitempty"`
	AtAll        int           `json:"atall,omitempty"`
	AgentID      int64         `json:"agentid"`
	ResponseCode string        `json:"response_code"`
	Button       *cardButton   `json:"button,omitempty"`
	TemplateCard *TemplateCard `json:"template_card,omitempty"`
}

type cardButton struct {
	ReplaceName string `json:"replace_name"`
}

// CardUpdateResult is update_template_card's answer; here invaliduser is an
// array, unlike message/send.
type CardUpdateResult struct {
	InvalidUsers []string `json:"invaliduser"`
}

type cardUpdateResponse struct {
	apiResponse
	CardUpdateResult
}

// UpdateTemplateCard replaces or relabels a sent card. A response_code is
// single-use, so the call is retried only when WeCom certainly did not see
// it.
func (cl *Client) UpdateTemplateCard(ctx context.Context, u *CardUpdate) (*CardUpdateResult, error) {
	const api = "message/update_template_card"
	if (u.ReplaceName == "") == (u.Card == nil) {
		return nil, fmt.Errorf("wecom: %s agent %d: want exactly one of ReplaceName and Card", api, cl.agentID)
	}
	if u.ResponseCode == "" {
		return nil, fmt.Errorf("wecom: %s agent %d: response_code is required", api, cl.agentID)
	}
	req := &cardUpdateRequest{UserIDs: u.UserIDs, PartyIDs: u.PartyIDs, TagIDs: u.TagIDs, AgentID: cl.agentID,
		ResponseCode: u.ResponseCode, TemplateCard: u.Card}
	if u.AtAll {
		req.AtAll = 1
	}
	if u.ReplaceName != "" {
		req.Button = &cardButton{ReplaceName: u.ReplaceName}
	}
	var out cardUpdateResponse
	spec := callSpec{api: api, fields: []zap.Field{zap.Int64("agent_id", cl.agentID)}}
	err := cl.do(ctx, spec, func(cs *callState) error {
		out = cardUpdateResponse{}
		return cs.postJSON(api, nil, req, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s agent %d: %w", api, cl.agentID, err)
	}
	return &out.CardUpdateResult, nil
}

// RecallMessage recalls a message sent less than 24 h ago (42052 after);
// copies in the WeChat plugin stay.
func (cl *Client) RecallMessage(ctx context.Context, msgID string) error {
	const api = "message/recall"
	err := cl.do(ctx, callSpec{api: api, fields: []zap.Field{zap.String("msg_id", msgID)}}, func(cs *callState) error {
		return cs.postJSON(api, nil, map[string]string{"msgid": msgID}, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: %s %s: %w", api, msgID, err)
	}
	return nil
}
