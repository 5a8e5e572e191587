package hall

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// notice is what the applicant is told after a change.
type notice struct {
	taskID  int64  // the decided task (idempotency)
	actor   string // who decided
	action  string // Approve, Reject, Return, ActWithdraw…
	state   string // the application's state afterwards
	step    string // the decided step's name
	comment string
}

func (e *Engine) decide(ctx context.Context, taskID int64, actor string, action Action, comment string) error {
	var state string
	switch action {
	case Approve:
		state = TaskApproved
	case Reject:
		state = TaskRejected
	case Return:
		state = TaskReturned
	default:
		return fmt.Errorf("hall: decide task %d: unknown action %q", taskID, action)
	}
	comment = truncRunes(comment, 500)
	t, err := e.db.GetHallTask(ctx, nil, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("hall: decide task %d: %w", taskID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("hall: decide task %d: %w", taskID, err)
	}
	if t.Assignee != actor {
		return fmt.Errorf("hall: decide task %d by %s: %w", taskID, actor, ErrNotAssignee)
	}
	if t.State != store.HallTaskOpen {
		return fmt.Errorf("hall: decide task %d (%s): %w", taskID, t.State, ErrAlreadyHandled)
	}
	s, err := e.loadApp(ctx, nil, t.ApplicationID)
	if err != nil {
		return err
	}
	now := e.now()
	var opened []int64
	var n *notice
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		ms := store.Millis(now)
		if err := e.db.LockHallApplication(ctx, tx, t.ApplicationID, ms); err != nil {
			return err
		}
		ok, err := e.db.DecideHallTask(ctx, tx, taskID, state, actor, comment, ms)
		if err != nil {
			return err
		}
		if !ok {
			return ErrAlreadyHandled
		}
		if err := e.trail(ctx, tx, t.ApplicationID, taskID, actor, string(action), comment, now); err != nil {
			return err
		}
		n = &notice{taskID: taskID, actor: actor, action: string(action), step: stepName(s.cp, t.StepID), comment: comment, state: StateSubmitted}
		switch action {
		case Reject, Return:
			to := StateRejected
			decided := ms
			if action == Return {
				to, decided = StateReturned, 0
			}
			if _, err := e.db.CloseHallTasks(ctx, tx, t.ApplicationID, 0, "", TaskCancelled, ms); err != nil {
				return err
			}
			if _, err := e.db.SetHallApplicationState(ctx, tx, t.ApplicationID, []string{StateSubmitted}, to, "", ms, decided); err != nil {
				return err
			}
			n.state = to
			return nil
		}
		opened, n.state, err = e.advance(ctx, tx, s, t, now)
		return err
	})
	if errors.Is(err, ErrAlreadyHandled) {
		return fmt.Errorf("hall: decide task %d: %w", taskID, ErrAlreadyHandled)
	}
	if err != nil {
		return fmt.Errorf("hall: decide task %d: %w", taskID, err)
	}
	e.log.Info("hall task decided", zap.Int64("task", taskID), zap.Int64("application", t.ApplicationID),
		zap.String("actor", actor), zap.String("action", string(action)), zap.String("state", n.state))
	e.afterChange(ctx, t.ApplicationID, opened, n)
	return nil
}

// advance moves the flow on after t was approved: the step is decided
// (any-of; all-of once every task is approved; sequential once the last
// approver approved, else the next one's task opens), then the next step
// opens or the application is approved. It answers the opened tasks and
// the application's state.
func (e *Engine) advance(ctx context.Context, tx *sqlx.Tx, s *stored, t store.HallTask, now time.Time) ([]int64, string, error) {
	ms := store.Millis(now)
	st, ok := s.cp.c.Step(t.StepID)
	if !ok {
		return nil, "", fmt.Errorf("process %s has no step %q", s.cp.p.Key, t.StepID)
	}
	tasks, err := e.db.HallTasksOfApplication(ctx, tx, t.ApplicationID)
	if err != nil {
		return nil, "", err
	}
	var open, waiting []store.HallTask
	for _, o := range tasks {
		if o.Round != t.Round || o.StepID != t.StepID {
			continue
		}
		switch o.State {
		case store.HallTaskOpen:
			open = append(open, o)
		case store.HallTaskWaiting:
			waiting = append(waiting, o)
		}
	}
	switch st.Mode {
	case def.AllOf:
		if len(open)+len(waiting) > 0 {
			return nil, StateSubmitted, nil
		}
	case def.Sequential:
		if len(open) == 0 && len(waiting) > 0 {
			next := waiting[0]
			for _, w := range waiting[1:] {
				if w.Seq < next.Seq || (w.Seq == next.Seq && w.ID < next.ID) {
					next = w
				}
			}
			due, remind := e.clock(ctx, st, s.applicant, now)
			if _, err := e.db.OpenWaitingHallTask(ctx, tx, next.ID, ms, due, remind); err != nil {
				return nil, "", err
			}
			return []int64{next.ID}, StateSubmitted, nil
		}
		if len(open) > 0 {
			return nil, StateSubmitted, nil
		}
	default: // any-of: the first decision decides the step
		if _, err := e.db.CloseHallTasks(ctx, tx, t.ApplicationID, t.Round, t.StepID, TaskSuperseded, ms); err != nil {
			return nil, "", err
		}
	}
	next, more, err := s.cp.c.NextStep(t.StepID, def.Env{Form: s.values, Applicant: s.applicant})
	if err != nil {
		return nil, "", err
	}
	if more {
		opened, err := e.openStep(ctx, tx, s.cp, t.ApplicationID, t.Round, s.applicant, next, now)
		if errors.Is(err, ErrNoApprover) {
			// The org changed since the path was checked: the owner's
			// leaders take the step rather than the application stalling.
			opened, err = e.openFallback(ctx, tx, s, t.Round, next, now)
		}
		return opened, StateSubmitted, err
	}
	if _, err := e.db.SetHallApplicationState(ctx, tx, t.ApplicationID, []string{StateSubmitted}, StateApproved, "", ms, ms); err != nil {
		return nil, "", err
	}
	if err := e.trail(ctx, tx, t.ApplicationID, 0, "system", ActApproved, "", now); err != nil {
		return nil, "", err
	}
	return nil, StateApproved, nil
}

// openFallback opens step for the leaders of the process's owner
// department when its approvers resolve to nobody.
func (e *Engine) openFallback(ctx context.Context, tx *sqlx.Tx, s *stored, round int, stepID string, now time.Time) ([]int64, error) {
	st, _ := s.cp.c.Step(stepID)
	leaders, err := e.db.HallFacultyIn(ctx, []string{s.cp.p.Owner}, "", true)
	if err != nil {
		return nil, err
	}
	if len(leaders) == 0 {
		return nil, fmt.Errorf("step %s (%s) and the owner %s: %w", st.ID, st.Name, s.cp.p.Owner, ErrNoApprover)
	}
	due, remind := e.clock(ctx, st, s.applicant, now)
	id, err := e.db.InsertHallTask(ctx, tx, store.HallTask{ApplicationID: s.row.ID, Round: round, StepID: st.ID, Assignee: leaders[0],
		Origin: originReassign, State: store.HallTaskOpen, OpenedAt: store.Millis(now), DueAt: due, NextRemindAt: remind})
	if err != nil {
		return nil, err
	}
	if err := e.db.SetHallApplicationStep(ctx, tx, s.row.ID, st.ID, store.Millis(now)); err != nil {
		return nil, err
	}
	if err := e.trail(ctx, tx, s.row.ID, id, "system", ActReResolve, "审批人无法确定，转主管部门负责人 "+leaders[0], now); err != nil {
		return nil, err
	}
	return []int64{id}, nil
}

// parseKey reads a card button's key: "approve:<task>" or "reject:<task>".
func parseKey(key string) (Action, int64, bool) {
	a, id, ok := strings.Cut(key, ":")
	if !ok || (a != string(Approve) && a != string(Reject)) {
		return "", 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return Action(a), n, true
}

func (e *Engine) press(ctx context.Context, ev *wecom.Event) error {
	action, taskID, ok := parseKey(ev.EventKey)
	// The card's task_id must be ours too: another producer's card (the
	// ingest API sends any card) may use the same button keys.
	if !ok || ev.TaskID != fmt.Sprintf("hall-%d", taskID) {
		e.log.Info("hall: card event with a key that is not ours", zap.String("key", ev.EventKey), zap.String("task_id", ev.TaskID))
		return nil
	}
	t, err := e.db.GetHallTask(ctx, nil, taskID)
	if errors.Is(err, store.ErrNotFound) {
		e.log.Warn("hall: card pressed for an unknown task", zap.Int64("task", taskID), zap.String("userid", ev.FromUserName))
		return nil
	}
	if err != nil {
		return fmt.Errorf("hall: press on task %d: %w", taskID, err)
	}
	// The fresh code first: whatever the press decides, the presser's
	// card is then brought to its final state with it.
	card, err := e.db.GetHallCard(ctx, taskID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("hall: press on task %d: %w", taskID, err)
	case card.UserID == ev.FromUserName && ev.ResponseCode != "":
		if _, err := e.db.SetHallCardCode(ctx, taskID, ev.ResponseCode, store.Millis(e.now())); err != nil {
			return fmt.Errorf("hall: press on task %d: %w", taskID, err)
		}
	}
	err = e.decide(ctx, taskID, ev.FromUserName, action, "")
	switch {
	case err == nil:
	case errors.Is(err, ErrAlreadyHandled), errors.Is(err, ErrNotAssignee):
		e.log.Info("hall: press changed nothing", zap.Int64("task", taskID), zap.String("userid", ev.FromUserName), zap.Error(err))
		e.syncCards(ctx, t.ApplicationID)
	default:
		return err
	}
	return nil
}

func (e *Engine) withdraw(ctx context.Context, appID int64, v Viewer) error {
	s, err := e.loadApp(ctx, nil, appID)
	if err != nil {
		return err
	}
	if !s.isApplicant(v) {
		return fmt.Errorf("hall: withdraw application %d: %w", appID, ErrNotApplicant)
	}
	now := e.now()
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		ms := store.Millis(now)
		if err := e.db.LockHallApplication(ctx, tx, appID, ms); err != nil {
			return err
		}
		ok, err := e.db.SetHallApplicationState(ctx, tx, appID, []string{StateSubmitted, StateReturned}, StateWithdrawn, "", ms, ms)
		if err != nil {
			return err
		}
		if !ok {
			return ErrState
		}
		if _, err := e.db.CloseHallTasks(ctx, tx, appID, 0, "", TaskCancelled, ms); err != nil {
			return err
		}
		return e.trail(ctx, tx, appID, 0, actorOf(s.applicant), ActWithdraw, "", now)
	})
	if err != nil {
		return fmt.Errorf("hall: withdraw application %d: %w", appID, err)
	}
	e.afterChange(ctx, appID, nil, nil)
	return nil
}

func (e *Engine) urge(ctx context.Context, appID int64, v Viewer) error {
	s, err := e.loadApp(ctx, nil, appID)
	if err != nil {
		return err
	}
	if !s.isApplicant(v) {
		return fmt.Errorf("hall: urge application %d: %w", appID, ErrNotApplicant)
	}
	if s.row.State != StateSubmitted {
		return fmt.Errorf("hall: urge application %d (%s): %w", appID, s.row.State, ErrState)
	}
	now := e.now()
	ok, err := e.db.MarkHallUrged(ctx, appID, store.Millis(now), store.Millis(now.Add(-time.Hour)))
	if err != nil {
		return fmt.Errorf("hall: urge application %d: %w", appID, err)
	}
	if !ok {
		return fmt.Errorf("hall: urge application %d: %w", appID, ErrUrgedRecently)
	}
	tasks, err := e.db.HallTasksOfApplication(ctx, nil, appID)
	if err != nil {
		return fmt.Errorf("hall: urge application %d: %w", appID, err)
	}
	var sent []string
	for _, t := range tasks {
		if t.State != store.HallTaskOpen {
			continue
		}
		text := fmt.Sprintf("【催办】%s 的《%s》申请等待您审批（%s）。<a href=\"%s\">去处理</a>",
			s.row.ApplicantName, s.cp.p.Name, stepName(s.cp, t.StepID), e.TaskURL(t.ID))
		if err := e.sendText(ctx, fmt.Sprintf("urge-%d-%d", t.ID, store.Millis(now)/time.Hour.Milliseconds()), remindLane, t.Assignee, "", text); err != nil {
			return fmt.Errorf("hall: urge application %d: %w", appID, err)
		}
		sent = append(sent, t.Assignee)
	}
	return e.trail(ctx, e.db, appID, 0, actorOf(s.applicant), ActUrge, strings.Join(sent, ","), now)
}

// move hands open task t to to: t is closed as transferred and a new task
// of the same step, order and due time opens for to.
func (e *Engine) move(ctx context.Context, tx *sqlx.Tx, t store.HallTask, by, to, origin, act, comment string, now time.Time) (int64, error) {
	ms := store.Millis(now)
	if err := e.db.LockHallApplication(ctx, tx, t.ApplicationID, ms); err != nil {
		return 0, err
	}
	ok, err := e.db.DecideHallTask(ctx, tx, t.ID, TaskTransferred, by, comment, ms)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrAlreadyHandled
	}
	id, err := e.db.InsertHallTask(ctx, tx, store.HallTask{ApplicationID: t.ApplicationID, Round: t.Round, StepID: t.StepID, Seq: t.Seq,
		Assignee: to, Origin: origin, State: store.HallTaskOpen, OpenedAt: ms, DueAt: t.DueAt, NextRemindAt: store.Millis(now.Add(defaultRemindHours * time.Hour)),
		Escalated: t.Escalated})
	if err != nil {
		return 0, err
	}
	c := "→ " + to
	if comment != "" {
		c += "：" + comment
	}
	return id, e.trail(ctx, tx, t.ApplicationID, t.ID, by, act, c, now)
}

// checkTarget refuses handing a task to someone who is not an active
// member, to its assignee, or to the applicant.
func (e *Engine) checkTarget(ctx context.Context, t store.HallTask, to string) error {
	ids, err := e.db.HallActiveMembers(ctx, []string{to})
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("hall: %s cannot take task %d: %w", to, t.ID, ErrNotFound)
	}
	if to == t.Assignee {
		return fmt.Errorf("hall: %s has task %d already: %w", to, t.ID, ErrState)
	}
	app, err := e.db.GetHallApplication(ctx, nil, t.ApplicationID)
	if err != nil {
		return err
	}
	if app.ApplicantUserID == to {
		return fmt.Errorf("hall: the applicant %s cannot approve their own application: %w", to, ErrNotAssignee)
	}
	return nil
}

func (e *Engine) openTask(ctx context.Context, taskID int64) (store.HallTask, error) {
	return e.assignedTask(ctx, taskID, "")
}

// assignedTask is task taskID when it is open and, with actor set, actor's:
// whose it is is asked first, so nobody learns whether someone else's
// task is still open.
func (e *Engine) assignedTask(ctx context.Context, taskID int64, actor string) (store.HallTask, error) {
	t, err := e.db.GetHallTask(ctx, nil, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return t, fmt.Errorf("hall: task %d: %w", taskID, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("hall: task %d: %w", taskID, err)
	}
	if actor != "" && t.Assignee != actor {
		return t, fmt.Errorf("hall: task %d by %s: %w", taskID, actor, ErrNotAssignee)
	}
	if t.State != store.HallTaskOpen {
		return t, fmt.Errorf("hall: task %d (%s): %w", taskID, t.State, ErrAlreadyHandled)
	}
	return t, nil
}

func (e *Engine) transfer(ctx context.Context, taskID int64, from, to, comment, act string) error {
	t, err := e.assignedTask(ctx, taskID, from)
	if err != nil {
		return err
	}
	if err := e.checkTarget(ctx, t, to); err != nil {
		return err
	}
	var id int64
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = e.move(ctx, tx, t, from, to, originTransfer, act, truncRunes(comment, 200), e.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("hall: transfer task %d to %s: %w", taskID, to, err)
	}
	e.afterChange(ctx, t.ApplicationID, []int64{id}, nil)
	return nil
}

func (e *Engine) addApprover(ctx context.Context, taskID int64, by, userid string) error {
	t, err := e.assignedTask(ctx, taskID, by)
	if err != nil {
		return err
	}
	if err := e.checkTarget(ctx, t, userid); err != nil {
		return err
	}
	s, err := e.loadApp(ctx, nil, t.ApplicationID)
	if err != nil {
		return err
	}
	st, _ := s.cp.c.Step(t.StepID)
	now := e.now()
	var opened []int64
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		ms := store.Millis(now)
		if err := e.db.LockHallApplication(ctx, tx, t.ApplicationID, ms); err != nil {
			return err
		}
		tasks, err := e.db.HallTasksOfApplication(ctx, tx, t.ApplicationID)
		if err != nil {
			return err
		}
		maxSeq := t.Seq
		for _, o := range tasks {
			if o.Round == t.Round && o.StepID == t.StepID {
				if o.Assignee == userid && (o.State == store.HallTaskOpen || o.State == store.HallTaskWaiting) {
					return fmt.Errorf("%s already has a task of this step: %w", userid, ErrState)
				}
				maxSeq = max(maxSeq, o.Seq)
			}
		}
		nt := store.HallTask{ApplicationID: t.ApplicationID, Round: t.Round, StepID: t.StepID, Seq: maxSeq + 1, Assignee: userid,
			Origin: originAdded, State: store.HallTaskOpen, OpenedAt: ms, DueAt: t.DueAt, NextRemindAt: store.Millis(now.Add(remindEvery(st)))}
		if st.Mode == def.Sequential {
			if err := e.db.ShiftHallTaskSeqs(ctx, tx, t.ApplicationID, t.Round, t.StepID, t.Seq); err != nil {
				return err
			}
			nt.Seq, nt.State, nt.OpenedAt, nt.DueAt, nt.NextRemindAt = t.Seq+1, store.HallTaskWaiting, 0, 0, 0
		}
		id, err := e.db.InsertHallTask(ctx, tx, nt)
		if err != nil {
			return err
		}
		if nt.State == store.HallTaskOpen {
			opened = append(opened, id)
		}
		return e.trail(ctx, tx, t.ApplicationID, t.ID, by, ActAddApprover, "+ "+userid, now)
	})
	if err != nil {
		return fmt.Errorf("hall: add %s to task %d: %w", userid, taskID, err)
	}
	e.afterChange(ctx, t.ApplicationID, opened, nil)
	return nil
}

func (e *Engine) reassign(ctx context.Context, taskID int64, admin store.Actor, to string) error {
	t, err := e.openTask(ctx, taskID)
	if err != nil {
		return err
	}
	if admin.UserID == "" {
		return fmt.Errorf("hall: reassign task %d: no admin", taskID)
	}
	if err := e.checkTarget(ctx, t, to); err != nil {
		return err
	}
	now := e.now()
	var id int64
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if id, err = e.move(ctx, tx, t, admin.UserID, to, originReassign, ActReassign, "", now); err != nil {
			return err
		}
		entry, err := store.Audit(admin, "hall.task.reassign", fmt.Sprintf("hall_task:%d", taskID),
			map[string]any{"task": taskID, "assignee": t.Assignee}, map[string]any{"task": id, "assignee": to}, now)
		if err != nil {
			return err
		}
		return e.db.InsertAudit(ctx, tx, entry)
	})
	if err != nil {
		return fmt.Errorf("hall: reassign task %d to %s: %w", taskID, to, err)
	}
	e.afterChange(ctx, t.ApplicationID, []int64{id}, nil)
	return nil
}

func (e *Engine) confirmReturn(ctx context.Context, appID int64, v Viewer) error {
	s, err := e.loadApp(ctx, nil, appID)
	if err != nil {
		return err
	}
	if !s.isApplicant(v) {
		return fmt.Errorf("hall: confirm application %d: %w", appID, ErrNotApplicant)
	}
	if !s.cp.p.ConfirmReturn {
		return fmt.Errorf("hall: confirm application %d: %s asks for no confirmation: %w", appID, s.cp.p.Key, ErrState)
	}
	now := e.now()
	err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		ok, err := e.db.ConfirmHallApplication(ctx, tx, appID, store.Millis(now))
		if err != nil {
			return err
		}
		if !ok {
			return ErrState
		}
		return e.trail(ctx, tx, appID, 0, actorOf(s.applicant), ActConfirm, "", now)
	})
	if err != nil {
		return fmt.Errorf("hall: confirm application %d: %w", appID, err)
	}
	return nil
}
