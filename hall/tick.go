package hall

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/store"
)

var cst = calendar.Zone

// reResolveEvery is how often Tick re-resolves open tasks' assignees.
const reResolveEvery = 5 * time.Minute

func (e *Engine) tick(ctx context.Context, now time.Time) error {
	var errs []error
	if err := e.remind(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := e.escalate(ctx, now); err != nil {
		errs = append(errs, err)
	}
	// Re-resolving asks the org about every open task: every few minutes
	// is soon enough for a night's sync or a console edit.
	e.mu.Lock()
	due := now.Sub(e.resolvedAt) >= reResolveEvery || now.Before(e.resolvedAt)
	if due {
		e.resolvedAt = now
	}
	e.mu.Unlock()
	if due {
		if err := e.reResolve(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.repairCards(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// remind sends each open task's due reminder once (the claim is the
// conditional bump of next_remind_at, so two instances send it once).
func (e *Engine) remind(ctx context.Context, now time.Time) error {
	due, err := e.db.DueHallReminders(ctx, store.Millis(now))
	if err != nil {
		return fmt.Errorf("hall: reminders: %w", err)
	}
	for _, t := range due {
		s, err := e.loadApp(ctx, nil, t.ApplicationID)
		if err != nil {
			e.log.Error("hall: reminder", zap.Int64("task", t.ID), zap.Error(err))
			continue
		}
		st, _ := s.cp.c.Step(t.StepID)
		next := e.workingDays(ctx, s.applicant.Kind).nextRemind(now, remindEvery(st))
		ok, err := e.db.BumpHallReminder(ctx, t.ID, t.NextRemindAt, store.Millis(next))
		if err != nil {
			return fmt.Errorf("hall: reminders: %w", err)
		}
		if !ok {
			continue
		}
		text := fmt.Sprintf("【待办提醒】%s 的《%s》申请等待您审批（%s）", s.row.ApplicantName, s.cp.p.Name, stepName(s.cp, t.StepID))
		if t.DueAt > 0 {
			if now.UnixMilli() >= t.DueAt {
				text += "，已超过办理期限 " + store.Time(t.DueAt).In(cst).Format("1月2日 15:04")
			} else {
				text += "，请于 " + store.Time(t.DueAt).In(cst).Format("1月2日 15:04") + " 前处理"
			}
		}
		if t.RemindCount > 0 {
			text += fmt.Sprintf("（第 %d 次提醒）", t.RemindCount+1)
		}
		text += fmt.Sprintf("。<a href=\"%s\">去处理</a>", e.TaskURL(t.ID))
		if err := e.sendText(ctx, fmt.Sprintf("remind-%d-%d", t.ID, t.RemindCount+1), remindLane, t.Assignee, "", text); err != nil {
			e.log.Error("hall: reminder not sent", zap.Int64("task", t.ID), zap.Error(err))
			continue
		}
		if err := e.trail(ctx, e.db, t.ApplicationID, t.ID, "system", ActRemind, t.Assignee, now); err != nil {
			e.log.Error("hall: reminder not recorded", zap.Int64("task", t.ID), zap.Error(err))
		}
	}
	return nil
}

// escalate tells EscalateTo's people (or the assignee's department
// leaders) once about each task past its due time.
func (e *Engine) escalate(ctx context.Context, now time.Time) error {
	over, err := e.db.OverdueHallTasks(ctx, store.Millis(now))
	if err != nil {
		return fmt.Errorf("hall: escalation: %w", err)
	}
	for _, t := range over {
		s, err := e.loadApp(ctx, nil, t.ApplicationID)
		if err != nil {
			e.log.Error("hall: escalation", zap.Int64("task", t.ID), zap.Error(err))
			continue
		}
		st, _ := s.cp.c.Step(t.StepID)
		var to []string
		if len(st.EscalateTo) > 0 {
			if to, err = e.approvers(ctx, s.applicant, st.EscalateTo); err != nil {
				e.log.Error("hall: escalation", zap.Int64("task", t.ID), zap.Error(err))
				continue
			}
		}
		if len(to) == 0 {
			if to, err = e.leadersOf(ctx, t.Assignee); err != nil {
				e.log.Error("hall: escalation", zap.Int64("task", t.ID), zap.Error(err))
				continue
			}
		}
		to = slices.DeleteFunc(to, func(u string) bool { return u == t.Assignee })
		var claimed bool
		err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			if claimed, err = e.db.MarkHallEscalated(ctx, tx, t.ID); err != nil || !claimed {
				return err
			}
			return e.trail(ctx, tx, t.ApplicationID, t.ID, "system", ActEscalate, strings.Join(to, ","), now)
		})
		if err != nil {
			return fmt.Errorf("hall: escalation: %w", err)
		}
		if !claimed {
			continue
		}
		names, _ := e.db.HallPeopleNames(ctx, []string{t.Assignee})
		assignee := names[t.Assignee]
		if assignee == "" {
			assignee = t.Assignee
		}
		text := fmt.Sprintf("【超期督办】%s 的《%s》申请在“%s”环节已超过办理期限（%s），仍待 %s 处理。<a href=\"%s\">查看</a>",
			s.row.ApplicantName, s.cp.p.Name, stepName(s.cp, t.StepID), store.Time(t.DueAt).In(cst).Format("1月2日 15:04"), assignee, e.ApplicationURL(s.row.ID))
		for _, u := range to {
			if err := e.sendText(ctx, fmt.Sprintf("escalate-%d-%s", t.ID, u), remindLane, u, "", text); err != nil {
				e.log.Error("hall: escalation not sent", zap.Int64("task", t.ID), zap.String("to", u), zap.Error(err))
			}
		}
		e.log.Info("hall task escalated", zap.Int64("task", t.ID), zap.Strings("to", to))
	}
	return nil
}

// leadersOf are the leaders of userid's own department (or of the
// department above, when userid leads theirs).
func (e *Engine) leadersOf(ctx context.Context, userid string) ([]string, error) {
	f, err := e.db.DCFacultyByNo(ctx, userid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t, err := e.res.tree(ctx)
	if err != nil {
		return nil, err
	}
	for code := f.DeptCode; code != ""; code = t.parent[code] {
		ids, err := e.db.HallFacultyIn(ctx, []string{code}, "", true)
		if err != nil {
			return nil, err
		}
		ids = slices.DeleteFunc(ids, func(u string) bool { return u == userid })
		if len(ids) > 0 {
			return ids, nil
		}
	}
	return nil, nil
}

func (e *Engine) reResolve(ctx context.Context) error {
	open, err := e.db.OpenHallTasks(ctx)
	if err != nil {
		return fmt.Errorf("hall: re-resolve: %w", err)
	}
	apps := map[int64]*stored{}
	for _, t := range open {
		if t.Origin != originResolved && t.Origin != originReResolve {
			continue
		}
		s := apps[t.ApplicationID]
		if s == nil {
			if s, err = e.loadApp(ctx, nil, t.ApplicationID); err != nil {
				e.log.Error("hall: re-resolve", zap.Int64("task", t.ID), zap.Error(err))
				continue
			}
			apps[t.ApplicationID] = s
		}
		st, ok := s.cp.c.Step(t.StepID)
		if !ok {
			continue
		}
		people, err := e.approvers(ctx, s.applicant, st.Approvers)
		if err != nil {
			e.log.Error("hall: re-resolve", zap.Int64("task", t.ID), zap.Error(err))
			continue
		}
		if len(people) == 0 || slices.Contains(people, t.Assignee) {
			continue // still theirs, or nobody to hand it to: left as it is
		}
		tasks, err := e.db.HallTasksOfApplication(ctx, nil, t.ApplicationID)
		if err != nil {
			return fmt.Errorf("hall: re-resolve: %w", err)
		}
		var to string
		for _, p := range people {
			if !slices.ContainsFunc(tasks, func(x store.HallTask) bool {
				return x.Round == t.Round && x.StepID == t.StepID && x.Assignee == p && x.State != TaskTransferred
			}) {
				to = p
				break
			}
		}
		if to == "" {
			continue
		}
		var id int64
		err = e.db.WithTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			id, err = e.move(ctx, tx, t, "system", to, originReResolve, ActReResolve, "组织架构变化", e.now())
			return err
		})
		if errors.Is(err, ErrAlreadyHandled) {
			continue
		}
		if err != nil {
			return fmt.Errorf("hall: re-resolve task %d: %w", t.ID, err)
		}
		e.log.Info("hall task re-resolved", zap.Int64("task", t.ID), zap.String("from", t.Assignee), zap.String("to", to))
		e.afterChange(ctx, t.ApplicationID, []int64{id}, nil)
	}
	return nil
}

// repairCards sends the cards of open tasks that have none recorded and
// finalises the cards left live (their response code arrived late, or
// the update failed).
func (e *Engine) repairCards(ctx context.Context) error {
	missing, err := e.db.TasksWithoutHallCards(ctx)
	if err != nil {
		return fmt.Errorf("hall: cards: %w", err)
	}
	for _, t := range missing {
		s, err := e.loadApp(ctx, nil, t.ApplicationID)
		if err == nil {
			err = e.sendCard(ctx, s, t)
		}
		if err != nil {
			e.log.Error("hall: card not sent", zap.Int64("task", t.ID), zap.Error(err))
		}
	}
	pending, err := e.db.PendingHallCards(ctx)
	if err != nil {
		return fmt.Errorf("hall: cards: %w", err)
	}
	done := map[int64]bool{}
	for _, c := range pending {
		t, err := e.db.GetHallTask(ctx, nil, c.TaskID)
		if err != nil || done[t.ApplicationID] {
			continue
		}
		done[t.ApplicationID] = true
		e.syncCards(ctx, t.ApplicationID)
	}
	return nil
}

var _ def.Resolver = (*Resolver)(nil)
