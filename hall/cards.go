package hall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

const (
	producer   = "hall"
	remindLane = notify.LaneReminder
)

// afterChange does what follows a committed change: cards for the opened
// tasks, the applicant's notice, and the final state of every card whose
// task is no longer open. Failures are logged, not returned: the change
// stands, and Tick sends what is missing and finalises what is left.
func (e *Engine) afterChange(ctx context.Context, appID int64, opened []int64, n *notice) {
	if len(opened) > 0 || n != nil {
		s, err := e.loadApp(ctx, nil, appID)
		if err != nil {
			e.log.Error("hall: after a change", zap.Int64("application", appID), zap.Error(err))
		} else {
			for _, id := range opened {
				t, err := e.db.GetHallTask(ctx, nil, id)
				if err == nil {
					err = e.sendCard(ctx, s, t)
				}
				if err == nil {
					err = e.sendCC(ctx, s, t)
				}
				if err != nil {
					e.log.Error("hall: card not sent (Tick retries)", zap.Int64("task", id), zap.Error(err))
				}
			}
			if n != nil {
				if err := e.notifyApplicant(ctx, s, n); err != nil {
					e.log.Error("hall: applicant not notified", zap.Int64("application", appID), zap.Error(err))
				}
			}
		}
	}
	e.syncCards(ctx, appID)
}

// card is task t's button_interaction card (docs/wecom.md §6): the
// process and applicant as its title, the summary fields, a link to the
// task's page, and 同意 / 驳回, whose keys come back as the EventKey of
// template_card_event.
func (e *Engine) card(s *stored, t store.HallTask) *wecom.TemplateCard {
	c := &wecom.TemplateCard{
		CardType:   "button_interaction",
		Source:     &wecom.CardSource{Desc: "网上办事大厅"},
		TaskID:     fmt.Sprintf("hall-%d", t.ID),
		MainTitle:  &wecom.CardTitle{Title: truncRunes(s.cp.p.Name+" · "+s.row.ApplicantName, 26), Desc: truncRunes(stepName(s.cp, t.StepID)+"，待您审批", 30)},
		CardAction: &wecom.CardAction{Type: 1, URL: e.TaskURL(t.ID)},
		ButtonList: []wecom.CardButton{
			{Text: "同意", Style: 1, Key: fmt.Sprintf("%s:%d", Approve, t.ID)},
			{Text: "驳回", Style: 2, Key: fmt.Sprintf("%s:%d", Reject, t.ID)},
		},
	}
	for _, kv := range s.cp.p.Summary(s.values) {
		// At most 6 lines (docs/wecom.md §6); WeCom shows short key names.
		if len(c.HorizontalContentList) == 6 {
			break
		}
		c.HorizontalContentList = append(c.HorizontalContentList, wecom.CardHorizontalContent{KeyName: truncRunes(kv.Label, 5), Value: truncRunes(kv.Value, 30)})
	}
	if t.DueAt > 0 {
		c.SubTitleText = "请于 " + store.Time(t.DueAt).In(cst).Format("1月2日 15:04") + " 前处理"
	}
	return c
}

// sendCard submits t's card to its assignee on the approval lane, once
// (the idempotency key is the task), and records it.
func (e *Engine) sendCard(ctx context.Context, s *stored, t store.HallTask) error {
	body, err := json.Marshal(e.card(s, t))
	if err != nil {
		return err
	}
	r, err := e.msgs.Submit(ctx, notify.Message{Producer: producer, IdempotencyKey: fmt.Sprintf("card-%d", t.ID), Lane: notify.LaneApproval,
		To: notify.Recipients{UserIDs: []string{t.Assignee}}, Content: notify.Content{MsgType: notify.MsgTemplateCard, Body: body}})
	if err != nil {
		return fmt.Errorf("hall: card of task %d: %w", t.ID, err)
	}
	if _, err := e.db.InsertHallCard(ctx, store.HallCard{TaskID: t.ID, UserID: t.Assignee, MessageID: r.ID, UpdatedAt: store.Millis(e.now())}); err != nil {
		return err
	}
	return nil
}

// sendCC tells the step's CC recipients that the application reached
// it: once per step and round (the idempotency key), however many of its
// tasks open.
func (e *Engine) sendCC(ctx context.Context, s *stored, t store.HallTask) error {
	st, ok := s.cp.c.Step(t.StepID)
	if !ok || len(st.CC) == 0 {
		return nil
	}
	cc, err := e.approvers(ctx, s.applicant, st.CC)
	if err != nil || len(cc) == 0 {
		return err
	}
	body, err := json.Marshal(map[string]string{"content": fmt.Sprintf("【抄送】%s 的《%s》申请已进入“%s”环节。<a href=\"%s\">查看</a>",
		s.row.ApplicantName, s.cp.p.Name, st.Name, e.ApplicationURL(s.row.ID))})
	if err != nil {
		return err
	}
	_, err = e.msgs.Submit(ctx, notify.Message{Producer: producer, IdempotencyKey: fmt.Sprintf("cc-%d-%d-%s", s.row.ID, t.Round, t.StepID),
		Lane: notify.LaneReminder, To: notify.Recipients{UserIDs: cc}, Content: notify.Content{MsgType: notify.MsgText, Body: body}})
	return err
}

// syncCards brings every card of the application's tasks that are no
// longer open to its final text (and a card pressed again to it once
// more, with the press's fresh code).
func (e *Engine) syncCards(ctx context.Context, appID int64) {
	cards, err := e.db.HallCardsOfApplication(ctx, appID)
	if err != nil {
		e.log.Error("hall: cards not finalised", zap.Int64("application", appID), zap.Error(err))
		return
	}
	var s *stored
	var tasks []store.HallTask
	for _, c := range cards {
		if c.State == store.HallCardFinal && c.ResponseCode == "" {
			continue
		}
		if s == nil {
			if s, err = e.loadApp(ctx, nil, appID); err != nil {
				e.log.Error("hall: cards not finalised", zap.Int64("application", appID), zap.Error(err))
				return
			}
			if tasks, err = e.db.HallTasksOfApplication(ctx, nil, appID); err != nil {
				e.log.Error("hall: cards not finalised", zap.Int64("application", appID), zap.Error(err))
				return
			}
		}
		e.finalise(ctx, s, tasks, c)
	}
}

// finalise replaces card c's buttons by its task's final text, with the
// card's unspent code or the one message/send answered.
func (e *Engine) finalise(ctx context.Context, s *stored, tasks []store.HallTask, c store.HallCard) {
	var t store.HallTask
	for _, x := range tasks {
		if x.ID == c.TaskID {
			t = x
		}
	}
	if t.ID == 0 || t.State == store.HallTaskOpen || t.State == store.HallTaskWaiting {
		return // still to be decided: a press's code waits here for the decision
	}
	// A response code works for 72 h (docs/wecom.md §6): a card still
	// without a usable one that long after the decision (shown as a
	// textcard in personal WeChat, or its codes expired) stays as it is.
	giveUp := func() {
		if e.now().Sub(store.Time(t.DecidedAt)) < 72*time.Hour {
			return
		}
		if ok, err := e.db.GiveUpHallCard(ctx, c.TaskID, store.Millis(e.now())); err == nil && ok {
			e.log.Info("hall: card left as it is: no usable response code", zap.Int64("task", c.TaskID), zap.String("userid", c.UserID))
		}
	}
	code := c.ResponseCode
	if code == "" {
		if c.State == store.HallCardFinal {
			return
		}
		if e.codes != nil {
			var err error
			if code, err = e.codes.ResponseCode(ctx, c.MessageID, c.UserID); err != nil {
				e.log.Warn("hall: no response code yet", zap.Int64("task", c.TaskID), zap.Error(err))
				return
			}
		}
		if code == "" || code == c.UsedCode {
			giveUp() // else not sent yet: Tick tries again
			return
		}
		if ok, err := e.db.SetHallCardCode(ctx, c.TaskID, code, store.Millis(e.now())); err != nil || !ok {
			return
		}
	}
	text := e.finalText(ctx, s, tasks, t)
	_, err := e.cards.UpdateTemplateCard(ctx, &wecom.CardUpdate{UserIDs: []string{c.UserID}, ResponseCode: code, ReplaceName: text})
	switch {
	case err == nil:
		if _, err := e.db.SpendHallCardCode(ctx, c.TaskID, code, true, text, store.Millis(e.now())); err != nil {
			e.log.Error("hall: card finalised but not recorded", zap.Int64("task", c.TaskID), zap.Error(err))
		}
		e.log.Info("hall card finalised", zap.Int64("task", c.TaskID), zap.String("userid", c.UserID), zap.String("text", text))
	case wecom.IsCode(err, 60140):
		// The code is spent or expired (72 h): forget it; a later press
		// brings a fresh one.
		_, _ = e.db.SpendHallCardCode(ctx, c.TaskID, code, false, "", store.Millis(e.now()))
		e.log.Warn("hall: card's response code no longer works", zap.Int64("task", c.TaskID), zap.Error(err))
		giveUp()
	default:
		e.log.Warn("hall: card not finalised (Tick retries)", zap.Int64("task", c.TaskID), zap.Error(err))
	}
}

// finalText is what a closed task's card says instead of its buttons.
func (e *Engine) finalText(ctx context.Context, s *stored, tasks []store.HallTask, t store.HallTask) string {
	name := func(u string) string {
		if u == "" || u == "system" {
			return "系统"
		}
		names, err := e.db.HallPeopleNames(ctx, []string{u})
		if err != nil || names[u] == "" {
			return u
		}
		return names[u]
	}
	switch t.State {
	case TaskApproved:
		return "已同意（" + name(t.DecidedBy) + "）"
	case TaskRejected:
		return "已驳回（" + name(t.DecidedBy) + "）"
	case TaskReturned:
		return "已退回（" + name(t.DecidedBy) + "）"
	case TaskTransferred:
		for _, x := range tasks {
			if x.ID > t.ID && x.StepID == t.StepID && x.Round == t.Round && x.Seq == t.Seq && x.Origin != originResolved && x.Origin != originAdded {
				return "已转交" + name(x.Assignee)
			}
		}
		return "已转交"
	}
	if s.row.State == StateWithdrawn {
		return "申请已撤回"
	}
	// Superseded or cancelled: whoever decided the step (or the
	// application) last.
	var by *store.HallTask
	for i := range tasks {
		x := &tasks[i]
		if x.Round == t.Round && (x.State == TaskApproved || x.State == TaskRejected || x.State == TaskReturned) &&
			(x.StepID == t.StepID || t.State == TaskCancelled) && (by == nil || x.DecidedAt > by.DecidedAt) {
			by = x
		}
	}
	if by != nil {
		return "已由" + name(by.DecidedBy) + "处理"
	}
	return "已处理"
}

// sendText submits a text message to a member (userid) or an off-campus
// applicant (mobile, by SMS), once per key.
func (e *Engine) sendText(ctx context.Context, key string, lane notify.Lane, userid, mobile, text string) error {
	body, err := json.Marshal(map[string]string{"content": text})
	if err != nil {
		return err
	}
	to := notify.Recipients{UserIDs: []string{userid}}
	if userid == "" {
		to = notify.Recipients{Mobiles: []string{mobile}}
	}
	if to.Empty() || (userid == "" && mobile == "") {
		return errors.New("hall: a text to nobody")
	}
	_, err = e.msgs.Submit(ctx, notify.Message{Producer: producer, IdempotencyKey: key, Lane: lane, To: to,
		Content: notify.Content{MsgType: notify.MsgText, Body: body, SMS: smsText(text)}})
	return err
}

// notifyApplicant tells the applicant of a decision: a member by a
// textcard linking to the application, an off-campus applicant by SMS.
func (e *Engine) notifyApplicant(ctx context.Context, s *stored, n *notice) error {
	var verb string
	switch n.action {
	case string(Approve):
		verb = "已同意"
	case string(Reject):
		verb = "已驳回"
	case string(Return):
		verb = "已退回，请修改后重新提交"
	default:
		return nil
	}
	title := fmt.Sprintf("《%s》%s", s.cp.p.Name, map[string]string{StateApproved: "已通过", StateRejected: "未通过", StateReturned: "被退回"}[n.state])
	if n.state == StateSubmitted {
		title = fmt.Sprintf("《%s》审批进展", s.cp.p.Name)
	}
	names, _ := e.db.HallPeopleNames(ctx, []string{n.actor})
	who := names[n.actor]
	if who == "" {
		who = n.actor
	}
	desc := fmt.Sprintf("%s：%s %s", n.step, who, verb)
	if n.comment != "" {
		desc += "。意见：" + n.comment
	}
	if n.state == StateApproved {
		desc += "。申请已全部审批通过。"
	}
	key := fmt.Sprintf("decision-%d", n.taskID)
	if s.row.ApplicantUserID == "" {
		return e.sendText(ctx, key, notify.LaneApproval, "", s.row.ApplicantMobile, title+"："+desc)
	}
	body, err := json.Marshal(wecom.TextCard{Title: truncBytes(title, 128), Description: truncBytes(desc, 512), URL: e.ApplicationURL(s.row.ID), BtnTxt: "详情"})
	if err != nil {
		return err
	}
	_, err = e.msgs.Submit(ctx, notify.Message{Producer: producer, IdempotencyKey: key, Lane: notify.LaneApproval,
		To: notify.Recipients{UserIDs: []string{s.row.ApplicantUserID}}, Content: notify.Content{MsgType: notify.MsgTextCard, Body: body}})
	return err
}

// smsText keeps an SMS to its words: links are refused inside a template
// variable (docs/messages.md, SMS).
func smsText(text string) string {
	out := []rune{}
	in := false
	for _, r := range text {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			out = append(out, r)
		}
	}
	return truncRunes(string(out), 60)
}

func truncBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	for len(string(r)) > n-3 {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
