package hall

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/wecomapp/wecomapp/store"
)

// view is an application as lists show it (no tasks, trail or process).
func (e *Engine) view(s *stored) Application {
	a := Application{ID: s.row.ID, ProcessKey: s.row.ProcessKey, Version: s.row.Version, ProcessName: s.cp.p.Name, Owner: s.cp.p.Owner,
		ApplicantUserID: s.row.ApplicantUserID, ApplicantMobile: s.row.ApplicantMobile, ApplicantName: s.row.ApplicantName,
		ApplicantKind: s.row.ApplicantKind, Values: s.values, Summary: s.cp.p.Summary(s.values), State: s.row.State, Step: s.row.StepID,
		CreatedAt: store.Time(s.row.CreatedAt), UpdatedAt: store.Time(s.row.UpdatedAt)}
	if s.row.State == StateSubmitted {
		a.StepName = stepName(s.cp, s.row.StepID)
	} else {
		a.Step = ""
	}
	if s.row.DecidedAt > 0 {
		a.DecidedAt = store.Time(s.row.DecidedAt)
	}
	if s.row.ConfirmedAt > 0 {
		a.ConfirmedAt = store.Time(s.row.ConfirmedAt)
	}
	return a
}

func (e *Engine) task(s *stored, t store.HallTask, names map[string]string, now time.Time) Task {
	out := Task{ID: t.ID, ApplicationID: t.ApplicationID, StepID: t.StepID, StepName: stepName(s.cp, t.StepID), Seq: t.Seq, Assignee: t.Assignee,
		AssigneeName: names[t.Assignee], State: t.State, RemindCount: t.RemindCount, Escalated: t.Escalated, DecidedBy: t.DecidedBy, Comment: t.Comment}
	if t.OpenedAt > 0 {
		out.OpenedAt = store.Time(t.OpenedAt)
	}
	if t.DueAt > 0 {
		out.DueAt = store.Time(t.DueAt)
		out.Overdue = t.State == store.HallTaskOpen && now.UnixMilli() >= t.DueAt
	}
	if t.DecidedAt > 0 {
		out.DecidedAt = store.Time(t.DecidedAt)
	}
	return out
}

func (e *Engine) application(ctx context.Context, id int64, v Viewer) (*Application, error) {
	s, err := e.loadApp(ctx, nil, id)
	if err != nil {
		return nil, err
	}
	tasks, err := e.db.HallTasksOfApplication(ctx, nil, id)
	if err != nil {
		return nil, fmt.Errorf("hall: application %d: %w", id, err)
	}
	if !v.Admin && !s.isApplicant(v) && (v.UserID == "" || !slices.ContainsFunc(tasks, func(t store.HallTask) bool { return t.Assignee == v.UserID })) {
		return nil, fmt.Errorf("hall: application %d for %s: %w", id, v.UserID, ErrNotFound)
	}
	actions, err := e.db.HallActions(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("hall: application %d: %w", id, err)
	}
	ids := []string{}
	for _, t := range tasks {
		ids = append(ids, t.Assignee)
	}
	for _, a := range actions {
		ids = append(ids, a.Actor)
	}
	names, err := e.db.HallPeopleNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("hall: application %d: %w", id, err)
	}
	out := e.view(s)
	for _, t := range tasks {
		out.Reminders += t.RemindCount
	}
	out.Process = clone(s.cp.p)
	now := e.now()
	for _, t := range tasks {
		if t.State == store.HallTaskWaiting {
			continue
		}
		out.Tasks = append(out.Tasks, e.task(s, t, names, now))
	}
	for _, a := range actions {
		n := names[a.Actor]
		if a.Actor == "system" {
			n = "系统"
		} else if a.Actor == "offcampus" {
			n = s.row.ApplicantName
		}
		out.Trail = append(out.Trail, Entry{ID: a.ID, TaskID: a.TaskID, Actor: a.Actor, Name: n, Action: a.Action, Comment: a.Comment, At: store.Time(a.At)})
	}
	return &out, nil
}

func (e *Engine) myApplications(ctx context.Context, v Viewer) ([]Application, error) {
	rows, err := e.db.HallApplicationsOf(ctx, v.UserID, v.Mobile)
	if err != nil {
		return nil, fmt.Errorf("hall: applications of %s: %w", v.UserID, err)
	}
	out := make([]Application, 0, len(rows))
	for _, r := range rows {
		s, err := e.loadApp(ctx, nil, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, e.view(s))
	}
	return out, nil
}

func (e *Engine) myTasks(ctx context.Context, userid string, open bool) ([]TaskItem, error) {
	rows, err := e.db.HallTasksOf(ctx, userid, open)
	if err != nil {
		return nil, fmt.Errorf("hall: tasks of %s: %w", userid, err)
	}
	names, err := e.db.HallPeopleNames(ctx, []string{userid})
	if err != nil {
		return nil, fmt.Errorf("hall: tasks of %s: %w", userid, err)
	}
	apps := map[int64]*stored{}
	now := e.now()
	out := make([]TaskItem, 0, len(rows))
	for _, t := range rows {
		s := apps[t.ApplicationID]
		if s == nil {
			if s, err = e.loadApp(ctx, nil, t.ApplicationID); err != nil {
				return nil, err
			}
			apps[t.ApplicationID] = s
		}
		out = append(out, TaskItem{Task: e.task(s, t, names, now), App: e.view(s)})
	}
	return out, nil
}

func (e *Engine) stats(ctx context.Context) ([]ProcessStats, error) {
	procs, err := e.db.LatestHallProcesses(ctx)
	if err != nil {
		return nil, fmt.Errorf("hall: stats: %w", err)
	}
	times, err := e.db.HallApplicationTimesAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("hall: stats: %w", err)
	}
	overdue, err := e.db.HallOverdueByProcess(ctx, store.Millis(e.now()))
	if err != nil {
		return nil, fmt.Errorf("hall: stats: %w", err)
	}
	by := map[string]*ProcessStats{}
	var out []*ProcessStats
	for _, p := range procs {
		ps := &ProcessStats{Key: p.Key, Name: p.Name, Owner: p.Owner, OverdueOpen: overdue[p.Key]}
		by[p.Key] = ps
		out = append(out, ps)
	}
	durations := map[string][]time.Duration{}
	for _, t := range times {
		ps := by[t.ProcessKey]
		if ps == nil {
			continue
		}
		ps.Applications++
		if t.DecidedAt > 0 && t.State != StateWithdrawn {
			ps.Decided++
			durations[t.ProcessKey] = append(durations[t.ProcessKey], time.Duration(t.DecidedAt-t.CreatedAt)*time.Millisecond)
		}
	}
	for k, ds := range durations {
		slices.Sort(ds)
		by[k].MedianDecision = quantile(ds, 0.5)
		by[k].P90Decision = quantile(ds, 0.9)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Owner != out[j].Owner {
			return out[i].Owner < out[j].Owner
		}
		return out[i].Key < out[j].Key
	})
	res := make([]ProcessStats, len(out))
	for i, ps := range out {
		res[i] = *ps
	}
	return res, nil
}

// quantile is the nearest-rank q-quantile of sorted ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
