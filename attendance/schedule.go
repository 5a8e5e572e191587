package attendance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
)

// DefaultSchedule is the monthly job's default: the 1st at 03:00, Beijing
// time, when the previous month is complete.
const DefaultSchedule = "0 3 1 * *"

// Schedule runs the monthly job on spec (cron: minute hour day month
// weekday, Beijing time; "" is DefaultSchedule) until ctx ends or stop is
// called: pull the previous month and keep its workbook for download.
// Every instance may schedule it: with Options.Coord one of them runs each
// month's job; without, each runs it and the result is the same (the pull
// replaces the month, the workbook is one row per month).
func (s *Service) Schedule(ctx context.Context, spec string) (stop func(), err error) {
	if spec == "" {
		spec = DefaultSchedule
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("attendance: schedule %q: %w", spec, err)
	}
	c := cron.New(cron.WithLocation(Zone))
	c.Schedule(sched, cron.FuncJob(func() { s.scheduled(ctx) }))
	c.Start()
	s.log.Info("attendance scheduled", zap.String("schedule", spec), zap.Time("next", sched.Next(s.o.Now().In(Zone))))
	return func() { <-c.Stop().Done() }, nil
}

func (s *Service) scheduled(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	month := MonthStart(s.o.Now()).AddDate(0, -1, 0)
	if err := s.RunMonthly(ctx, month); err != nil {
		s.log.Error("monthly attendance failed", zap.String("month", MonthKey(month)), zap.Error(err))
	}
}

// RunMonthly is the monthly job for month: pull it and keep its workbook.
// With Options.Coord, an instance that finds another running the same
// month's job skips it (nil). A pull with failed batches still keeps the
// workbook of what it stored, and returns the *PullError.
func (s *Service) RunMonthly(ctx context.Context, month time.Time) error {
	key := MonthKey(month)
	if s.o.Coord != nil {
		lock, err := s.o.Coord.TryLock(ctx, "attendance:monthly:"+key, time.Hour)
		if errors.Is(err, coord.ErrLocked) {
			s.log.Info("monthly attendance skipped: another instance is running it", zap.String("month", key))
			return nil
		}
		if err != nil {
			return fmt.Errorf("attendance: monthly %s: lock: %w", key, err)
		}
		defer func() { _ = lock.Release(context.WithoutCancel(ctx)) }()
	}
	_, pullErr := s.Pull(ctx, month)
	var pe *PullError
	if pullErr != nil && !errors.As(pullErr, &pe) {
		return pullErr
	}
	if _, err := s.Export(ctx, month, "system"); err != nil {
		return errors.Join(pullErr, err)
	}
	s.log.Info("monthly attendance done", zap.String("month", key), zap.Bool("complete", pullErr == nil))
	return pullErr
}
