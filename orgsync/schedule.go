package orgsync

import (
	"context"
	"errors"
	"fmt"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// Schedule runs the sync on spec (cron syntax: minute hour day month
// weekday) until ctx ends or stop is called. Every instance may schedule
// it: the lock lets one run, and the others, finding it held, skip that
// night's turn. A run the guard stops waits for a confirmation in the
// console; the next night plans again.
func (r *Runner) Schedule(ctx context.Context, spec string) (stop func(), err error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("orgsync: schedule %q: %w", spec, err)
	}
	c := cron.New()
	c.Schedule(sched, cron.FuncJob(func() { r.scheduled(ctx) }))
	c.Start()
	r.log.Info("sync scheduled", zap.String("schedule", spec), zap.Time("next", sched.Next(r.opts.Now())))
	return func() { <-c.Stop().Done() }, nil
}

func (r *Runner) scheduled(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	res, err := r.Run(ctx, RunOptions{Trigger: TriggerSchedule, Actor: "system"})
	var gs *GuardStopped
	switch {
	case errors.Is(err, ErrBusy):
		r.log.Info("scheduled sync skipped: another is running")
	case errors.As(err, &gs):
		r.log.Warn("scheduled sync stopped by the guard: confirm it in the console", zap.Int64("run", gs.RunID), zap.String("guard", gs.Guard.Error()))
	case err != nil:
		r.log.Error("scheduled sync failed", zap.Error(err))
	default:
		r.log.Info("scheduled sync done", zap.Int64("run", res.RunID), zap.String("status", res.Status))
	}
}
