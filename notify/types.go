package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Lane is a message's priority: lower lanes yield to higher ones when a
// member's quota is short.
type Lane int

// The lanes, highest first.
const (
	LaneApproval  Lane = 0 // to-dos: approvals, a card waiting for someone's tap
	LaneReminder  Lane = 1 // reminders: punch-card, health report, deadlines
	LaneBroadcast Lane = 2 // broadcasts: notices to tags, departments, everyone
)

// String names a lane as metrics and pages show it.
func (l Lane) String() string {
	switch l {
	case LaneApproval:
		return "approval"
	case LaneReminder:
		return "reminder"
	case LaneBroadcast:
		return "broadcast"
	}
	return fmt.Sprintf("lane%d", int(l))
}

// ParseLane reads a lane's name.
func ParseLane(s string) (Lane, error) {
	switch s {
	case "approval":
		return LaneApproval, nil
	case "reminder":
		return LaneReminder, nil
	case "broadcast", "":
		return LaneBroadcast, nil
	}
	return 0, fmt.Errorf("notify: lane %q is not approval, reminder or broadcast", s)
}

// Department is a department recipient: its members, and with Children
// the members of every department below it.
type Department struct {
	ID       int64 `json:"id"`
	Children bool  `json:"children,omitempty"`
}

// Recipients say who a message is for; they are expanded to members when
// the message is dispatched (a member in several is sent to once).
type Recipients struct {
	UserIDs     []string     `json:"userids,omitempty"`
	Departments []Department `json:"departments,omitempty"`
	Tags        []int64      `json:"tags,omitempty"`  // WeCom tag ids
	Roles       []string     `json:"roles,omitempty"` // workbench role keys
	All         bool         `json:"all,omitempty"`   // the whole university
	// Mobiles are people outside WeCom (applicants, parents, off-campus
	// users), reached by SMS; E.164 or a Chinese mobile.
	Mobiles []string `json:"mobiles,omitempty"`
}

// Empty says whether no recipient is named.
func (r Recipients) Empty() bool {
	return len(r.UserIDs)+len(r.Departments)+len(r.Tags)+len(r.Roles)+len(r.Mobiles) == 0 && !r.All
}

// Content is a message in WeCom's own message/send shape: msgtype and its
// object (docs/wecom.md §6), e.g. {"msgtype":"text","text":{"content":"…"}}.
type Content struct {
	MsgType string          `json:"msgtype"`
	Body    json.RawMessage `json:"-"` // the object under the msgtype's key
	// Safe is message/send's safe flag (0 shareable, 1 watermarked).
	Safe int `json:"safe,omitempty"`
	// SMS is the text sent to recipients reached by SMS (Mobiles); empty
	// derives it from the content (title and link).
	SMS string `json:"-"`
}

// Message types a producer may send.
const (
	MsgText         = "text"
	MsgTextCard     = "textcard"
	MsgNews         = "news"
	MsgMarkdown     = "markdown"
	MsgTemplateCard = "template_card"
)

// Message is what a producer submits.
type Message struct {
	// Producer names the system: "console", "api:<system>", "hall",
	// "reminder", "selfreg".
	Producer string
	// IdempotencyKey, when set, makes a second Submit with the same
	// producer and key answer the first message and send nothing more.
	IdempotencyKey string
	Lane           Lane
	To             Recipients
	Content        Content
	// SendAt, when set, holds the message until then; ExpireAt, when set,
	// drops what is not sent by then (recorded as expired).
	SendAt, ExpireAt time.Time
	// Actor is who asked (an admin's userid, the API key's id), for the
	// audit.
	Actor string
}

// Receipt is what Submit answers once the message is committed.
type Receipt struct {
	ID int64 `json:"id"`
	// Recipients is how many the message names before expansion
	// (userids, departments, tags, roles, mobiles), or, once expanded,
	// the members it reaches.
	Recipients int `json:"recipients"`
	// Duplicate: the idempotency key was seen; this is the first message.
	Duplicate bool `json:"duplicate"`
}

// InvalidError is a message refused for what it holds: the field and the
// problem, for a 400 answer.
type InvalidError struct {
	Field   string
	Problem string
}

func (e *InvalidError) Error() string { return "notify: " + e.Field + ": " + e.Problem }

// ErrNotFound is an unknown message id.
var ErrNotFound = errors.New("notify: no such message")

// Recipient outcomes.
const (
	OutcomePending   = "pending"   // not sent yet (queued, waiting for quota or its send time)
	OutcomeDelivered = "delivered" // WeCom (or the SMS gateway) accepted it for this recipient
	OutcomeInvalid   = "invalid"   // not a member (invaliduser)
	OutcomeOutOfApp  = "out_of_range"
	OutcomeHeld      = "held" // held back by quota, will be sent
	OutcomeFailed    = "failed"
	OutcomeExpired   = "expired"
	OutcomeRecalled  = "recalled"
)

// RecipientResult is one recipient's outcome.
type RecipientResult struct {
	UserID  string    `json:"userid,omitempty"`
	Mobile  string    `json:"mobile,omitempty"` // masked
	Channel string    `json:"channel"`          // wecom | wecom_textcard | sms
	Outcome string    `json:"outcome"`
	ErrCode int       `json:"errcode,omitempty"`
	At      time.Time `json:"at,omitempty"`
}

// Status is a message and its recipients' results.
type Status struct {
	ID         int64             `json:"id"`
	Producer   string            `json:"producer"`
	Lane       string            `json:"lane"`
	MsgType    string            `json:"msgtype"`
	State      string            `json:"state"` // queued | sending | done | recalled | expired
	CreatedAt  time.Time         `json:"created_at"`
	Counts     map[string]int    `json:"counts"` // by outcome
	Recipients []RecipientResult `json:"results"`
}

// Submitter is what producers (the ingest API, the console, the service
// hall, reminders) hold: Submit commits a message before it returns; Get
// reads a message's per-recipient results.
type Submitter interface {
	Submit(ctx context.Context, m Message) (Receipt, error)
	Get(ctx context.Context, id int64) (*Status, error)
}
