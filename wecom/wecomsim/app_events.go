package wecomsim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"go.uber.org/zap"
)

// Callbacks caused by what a simulated member does in an app (docs/wecom.md
// §3): opening it (enter_agent) and sending it a text. Card presses are in
// card.go.

// ErrMemberAction is returned for member actions the WeCom client would not
// allow: unknown, disabled or not-activated member, unknown app, an app
// outside the member's visible range, an empty text.
var ErrMemberAction = errors.New("wecomsim: member action not possible")

// AppEventResult is what happened to a member's action callback.
type AppEventResult struct {
	// Sent: a callback was queued (enter_agent needs App.ReportEnter; every
	// callback needs App.CallbackURL).
	Sent       bool  `json:"sent"`
	CallbackID int64 `json:"callback_id,omitempty"`
	// Delivered: the app answered HTTP 200 (possibly after retries).
	Delivered bool `json:"delivered"`
	// MsgID is the MsgId of a text message.
	MsgID string `json:"msgid,omitempty"`
	// Reply is the app's passive text reply (also in the member's inbox);
	// ReplyError says why a reply could not be used.
	Reply      string `json:"reply,omitempty"`
	ReplyError string `json:"reply_error,omitempty"`
}

// memberApp resolves a member acting in an app: the member must be able to
// log in (status 1) and see the app. Runs under s.mu.
func (s *Sim) memberApp(userid string, agentID int64) (*member, *App, error) {
	m := s.st.user(userid)
	switch {
	case m == nil:
		return nil, nil, fmt.Errorf("%w: no member %q", ErrMemberAction, userid)
	case m.Status != 1:
		return nil, nil, fmt.Errorf("%w: member %s has status %d and cannot use WeCom", ErrMemberAction, m.UserID, m.Status)
	}
	app := s.apps[agentID]
	switch {
	case app == nil:
		return nil, nil, fmt.Errorf("%w: no app %d", ErrMemberAction, agentID)
	case !s.st.visible(app).user(m):
		return nil, nil, fmt.Errorf("%w: app %d is not visible to %s", ErrMemberAction, agentID, m.UserID)
	}
	return m, app, nil
}

// EnterApp opens app agentID as member userid: with App.ReportEnter set
// (isreportenter=1) the app gets an enter_agent event (EventKey empty).
// It waits for the delivery to finish or ctx to end.
func (s *Sim) EnterApp(ctx context.Context, userid string, agentID int64) (*AppEventResult, error) {
	res, done, err := s.enterApp(userid, agentID)
	if err != nil || done == nil {
		return res, err
	}
	if err := s.waitDone(ctx, done); err != nil {
		return nil, err
	}
	return res, nil
}

// enterApp queues enter_agent and returns a channel closed once delivery
// is over (nil when nothing was sent). A passive text reply is shown to
// the member.
func (s *Sim) enterApp(userid string, agentID int64) (*AppEventResult, chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, app, err := s.memberApp(userid, agentID)
	if err != nil {
		return nil, nil, err
	}
	res := &AppEventResult{}
	if !app.ReportEnter || app.CallbackURL == "" {
		return res, nil, nil
	}
	// enter_agent carries an empty EventKey (doc 90240).
	ev := &wireMessage{ToUserName: cdata{s.opts.CorpID}, FromUserName: cdata{m.UserID}, CreateTime: s.Now().Unix(),
		MsgType: cdata{"event"}, Event: cd("enter_agent"), EventKey: cd(""), AgentID: app.AgentID}
	done := make(chan struct{})
	res.CallbackID = s.enqueueAppEvent(app, "enter_agent", ev.bytes(), func(body []byte) {
		res.Delivered = true
		out := s.applyPassiveReply(app, m.UserID, "", body)
		res.Reply, res.ReplyError = out.text, out.err
	}, func() { close(done) })
	res.Sent = res.CallbackID != 0
	if !res.Sent {
		return res, nil, nil
	}
	s.log.Info("member entered app", zap.Int64("agent_id", app.AgentID), zap.String("userid", m.UserID), zap.Int64("callback", res.CallbackID))
	return res, done, nil
}

// SendText sends a text from member userid to app agentID, as typed in the
// app's conversation: the app gets a text callback with a fresh MsgId, the
// text is kept in the member's inbox, and the app's passive text reply is
// shown as its answer. It waits for the delivery to finish or ctx to end.
func (s *Sim) SendText(ctx context.Context, userid string, agentID int64, content string) (*AppEventResult, error) {
	if content == "" {
		return nil, fmt.Errorf("%w: empty text", ErrMemberAction)
	}
	s.mu.Lock()
	m, app, err := s.memberApp(userid, agentID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	now := s.Now()
	content = truncateBytes(content, maxTextBytes)
	msgID := newCallbackMsgID()
	res := &AppEventResult{MsgID: msgID}
	s.addInbox(m.UserID, InboxItem{MsgID: msgID, AgentID: app.AgentID, From: FromMember, MsgType: "text",
		Time: now, Body: mustJSON(obj{"content": content})}, nil)
	ev := &wireMessage{ToUserName: cdata{s.opts.CorpID}, FromUserName: cdata{m.UserID}, CreateTime: now.Unix(), MsgType: cdata{"text"},
		Content: cd(content), MsgID: msgID, AgentID: app.AgentID}
	done := make(chan struct{})
	res.CallbackID = s.enqueueAppEvent(app, "text", ev.bytes(), func(body []byte) {
		res.Delivered = true
		out := s.applyPassiveReply(app, m.UserID, "", body)
		res.Reply, res.ReplyError = out.text, out.err
	}, func() { close(done) })
	res.Sent = res.CallbackID != 0
	s.log.Info("member sent text", zap.Int64("agent_id", app.AgentID), zap.String("userid", m.UserID),
		zap.String("msg_id", msgID), zap.Int64("callback", res.CallbackID))
	s.mu.Unlock()
	if res.Sent {
		if err := s.waitDone(ctx, done); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// newCallbackMsgID is a MsgId as WeCom writes it: a decimal uint64.
func newCallbackMsgID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(binary.BigEndian.Uint64(b[:])>>1|1<<62, 10)
}
