// Package attendance is the personnel office's attendance (考勤): each
// month it pulls the active faculty's punch records and WeCom's monthly
// summaries from the checkin APIs (docs/wecom.md §9), keeps them, counts
// late arrivals, early leaves, absent days, missing punches and overtime
// per person, department and work type, and writes the month's Excel
// workbook.
//
// The figures are computed from the punch records, which are the source
// of truth: they are what happened, and the same rules apply to every
// month however WeCom's report settings change. WeCom's monthly summaries
// (getcheckin_monthdata) are kept beside them and compared person by
// person; a person whose summary disagrees is logged and counted
// (PersonStats.Differs, DeptStats.Differs) so the office can look, but the
// records' figures are the ones reported.
package attendance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Zone is the time zone months and days are counted in (Beijing time, as
// WeCom's checkin rules are).
var Zone = time.FixedZone("CST", 8*3600)

// MonthLayout is how a month is written: "2026-11".
const MonthLayout = "2006-01"

// ParseMonth reads "2026-11" as the first instant of that month in Zone.
func ParseMonth(s string) (time.Time, error) {
	t, err := time.ParseInLocation(MonthLayout, strings.TrimSpace(s), Zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("attendance: month %q: want YYYY-MM", s)
	}
	return t, nil
}

// MonthStart is the first instant of t's month in Zone.
func MonthStart(t time.Time) time.Time {
	t = t.In(Zone)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, Zone)
}

// MonthKey writes t's month ("2026-11").
func MonthKey(t time.Time) string { return MonthStart(t).Format(MonthLayout) }

// Checkins are the checkin calls the service makes (a *wecom.Client).
type Checkins interface {
	GetCheckinData(ctx context.Context, q wecom.CheckinQuery) ([]*wecom.CheckinRecord, error)
	GetCheckinMonthData(ctx context.Context, q wecom.CheckinQuery) ([]wecom.CheckinMonthData, error)
}

// Options configure a Service.
type Options struct {
	DB *store.DB
	// App makes the checkin calls: the app's client, whose token must be
	// the 打卡 app's or an app listed in 打卡 → 可调用接口的应用 (48002
	// otherwise). The client rate-limits (getcheckindata: 600 a minute per
	// corp) and retries transient failures itself.
	App    Checkins
	Logger *zap.Logger
	Now    func() time.Time
	// Coord, when set, lets one instance run each month's scheduled pull
	// and export; without it every instance that schedules the job runs
	// it (harmless: a pull replaces the month, the export is one row per
	// month, but the calls are spent twice).
	Coord coord.Store
	// BatchSize is how many userids go in one call (default and at most
	// wecom.MaxCheckinUsers, 100).
	BatchSize int
	// Retries is how many more times a call answered 301022 (WeCom could
	// not fetch the data: "retry", §9) is tried (default 2).
	Retries int
	// RetryDelay is the wait before the first such retry, doubling after
	// (default 1 s).
	RetryDelay time.Duration
	// OvertimeAfter and OvertimeMin are the university's overtime rule, as
	// the 打卡规则 sets it: overtime counts from OvertimeAfter past the
	// scheduled off-duty time when it lasts at least OvertimeMin (defaults
	// 30 min and 30 min: from 18:00 after a 17:30 off-duty, from 18:30).
	OvertimeAfter time.Duration
	OvertimeMin   time.Duration
}

// Service pulls, counts and exports attendance.
type Service struct {
	o   Options
	log *zap.Logger
}

// New checks o and returns the service.
func New(o Options) (*Service, error) {
	if o.DB == nil {
		return nil, errors.New("attendance: no database")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchSize <= 0 || o.BatchSize > wecom.MaxCheckinUsers {
		o.BatchSize = wecom.MaxCheckinUsers
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 2
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.OvertimeAfter <= 0 {
		o.OvertimeAfter = 30 * time.Minute
	}
	if o.OvertimeMin <= 0 {
		o.OvertimeMin = 30 * time.Minute
	}
	return &Service{o: o, log: o.Logger.Named("attendance")}, nil
}

// Window is one call's time range: at most 30 days (wecom.MaxCheckinSpan).
type Window struct{ Start, End time.Time }

func (w Window) String() string {
	return w.Start.In(Zone).Format(time.DateOnly) + ".." + w.End.In(Zone).Format(time.DateOnly)
}

// Windows cuts month (any instant in it) into ranges of at most 30 days,
// each from 00:00 of its first day to 23:59:59 of its last, Beijing time:
// a 31-day month is two windows (days 1–30 and day 31).
func Windows(month time.Time) []Window {
	start := MonthStart(month)
	end := start.AddDate(0, 1, 0)
	var out []Window
	for from := start; from.Before(end); from = from.AddDate(0, 0, 30) {
		to := from.AddDate(0, 0, 30)
		if to.After(end) {
			to = end
		}
		out = append(out, Window{Start: from, End: to.Add(-time.Second)})
	}
	return out
}

// FailedBatch is one call that failed after its retries: the batch's
// users were not updated (what an earlier pull stored of them stays).
// A pull that stopped as a whole (its context ended, the store failed)
// is recorded as one with Batch 0 and only Error.
type FailedBatch struct {
	Batch  int    `json:"batch"` // 1-based, in call order; 0: the whole pull
	Users  int    `json:"users"`
	First  string `json:"first"` // first and last userid of the batch
	Last   string `json:"last"`
	Window string `json:"window"`
	API    string `json:"api"`
	Error  string `json:"error"`
}

func (f FailedBatch) String() string {
	if f.Batch == 0 { // the pull as a whole (abandon)
		return f.Error
	}
	return fmt.Sprintf("batch %d (%d users %s–%s, %s) %s: %s", f.Batch, f.Users, f.First, f.Last, f.Window, f.API, f.Error)
}

// PullError is a pull some of whose batches failed; the rest were stored.
type PullError struct {
	Month  string
	Failed []FailedBatch
}

func (e *PullError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = f.String()
	}
	return fmt.Sprintf("attendance: pull %s: %d batch(es) failed: %s", e.Month, len(e.Failed), strings.Join(parts, "; "))
}

// PullStats says what a pull did.
type PullStats struct {
	Month     string
	People    int // on the roster
	Batches   int // user batches × windows
	Calls     int // checkin calls made (retries included)
	Records   int // punch records stored
	Summaries int // people with a monthly summary
	Failed    []FailedBatch
}

// Pull pulls month (any instant in it) as the system.
func (s *Service) Pull(ctx context.Context, month time.Time) (PullStats, error) {
	return s.PullAs(ctx, month, "system")
}

// PullAs pulls month for every active faculty member in WeCom, in
// batches of at most BatchSize userids and windows of at most 30 days,
// one call after another (the client also limits the rate), and replaces
// the month's stored records and summaries in one transaction. A batch
// whose call still fails after its retries is recorded with the pull and
// named in the *PullError returned; its users keep what an earlier pull
// stored of them.
func (s *Service) PullAs(ctx context.Context, month time.Time, by string) (PullStats, error) {
	key := MonthKey(month)
	st := PullStats{Month: key}
	if s.o.App == nil {
		return st, fmt.Errorf("attendance: pull %s: no WeCom app configured for checkin", key)
	}
	started := s.o.Now()
	roster, err := s.o.DB.AttendanceRoster(ctx)
	if err != nil {
		return st, fmt.Errorf("attendance: pull %s: %w", key, err)
	}
	st.People = len(roster)
	if err := s.o.DB.StartAttendancePull(ctx, key, by, started.UnixMilli()); err != nil {
		return st, fmt.Errorf("attendance: pull %s: %w", key, err)
	}
	windows := Windows(month)
	people := make([]store.AttendancePerson, 0, len(roster))
	var records []store.AttendanceRecord
	var keep []string
	batch := 0
	for lo := 0; lo < len(roster); lo += s.o.BatchSize {
		chunk := roster[lo:min(lo+s.o.BatchSize, len(roster))]
		ids := make([]string, len(chunk))
		for i, r := range chunk {
			ids[i] = r.UserID
		}
		var chunkRecs []store.AttendanceRecord
		sums := map[string]*store.AttendancePerson{}
		failed := false
		if err := ctx.Err(); err != nil {
			return st, s.abandon(key, started, by, st, fmt.Errorf("attendance: pull %s: stopped after %d batches: %w", key, batch, err))
		}
		for _, w := range windows {
			batch++
			if failed {
				continue // the chunk's users are kept as they were anyway
			}
			q := wecom.CheckinQuery{Kind: wecom.CheckinAll, Start: w.Start, End: w.End, UserIDs: ids}
			fail := func(api string, err error) {
				failed = true
				st.Failed = append(st.Failed, FailedBatch{Batch: batch, Users: len(ids), First: ids[0], Last: ids[len(ids)-1], Window: w.String(), API: api, Error: err.Error()})
				s.log.Error("checkin batch failed", zap.String("month", key), zap.Int("batch", batch), zap.String("api", api),
					zap.String("window", w.String()), zap.Int("users", len(ids)), zap.Error(err))
			}
			var recs []*wecom.CheckinRecord
			if err := s.call(ctx, &st, func() error { recs, err = s.o.App.GetCheckinData(ctx, q); return err }); err != nil {
				fail("checkin/getcheckindata", err)
				continue
			}
			var reports []wecom.CheckinMonthData
			if err := s.call(ctx, &st, func() error { reports, err = s.o.App.GetCheckinMonthData(ctx, q); return err }); err != nil {
				fail("checkin/getcheckin_monthdata", err)
				continue
			}
			for _, r := range recs {
				raw, err := json.Marshal(r)
				if err != nil {
					return st, fmt.Errorf("attendance: pull %s: encode a record of %s: %w", key, r.UserID, err)
				}
				chunkRecs = append(chunkRecs, store.AttendanceRecord{Month: key, UserID: r.UserID, CheckinType: r.CheckinType,
					CheckinTime: r.CheckinTime, SchCheckinTime: r.SchCheckinTime, ExceptionType: r.ExceptionType, Raw: raw})
			}
			for _, m := range reports {
				p := sums[m.BaseInfo.AcctID]
				if p == nil {
					p = &store.AttendancePerson{}
					sums[m.BaseInfo.AcctID] = p
				}
				addSummary(p, m)
			}
		}
		if failed {
			keep = append(keep, ids...)
			continue
		}
		records = append(records, chunkRecs...)
		for _, r := range chunk {
			p := store.AttendancePerson{Month: key, UserID: r.UserID, Name: r.Name, DeptCode: r.DeptCode, Category: r.Category}
			if sum := sums[r.UserID]; sum != nil {
				p.HasSummary, p.WorkDays, p.Late, p.Early, p.Missing, p.Absent, p.OvertimeSec =
					true, sum.WorkDays, sum.Late, sum.Early, sum.Missing, sum.Absent, sum.OvertimeSec
				st.Summaries++
			}
			people = append(people, p)
		}
	}
	st.Batches = batch
	st.Records = len(records)
	failures, err := json.Marshal(st.Failed)
	if err != nil {
		return st, err
	}
	if st.Failed == nil {
		failures = []byte("[]")
	}
	pull := store.AttendancePull{Month: key, Status: store.AttendanceOK, People: st.People, Records: st.Records, Batches: st.Batches,
		FailedBatches: len(st.Failed), Failures: string(failures), StartedAt: started.UnixMilli(), FinishedAt: s.o.Now().UnixMilli(), StartedBy: by}
	if len(st.Failed) > 0 {
		pull.Status = store.AttendanceFailed
	}
	if err := s.o.DB.ReplaceAttendanceMonth(ctx, key, people, records, keep, pull); err != nil {
		return st, s.abandon(key, started, by, st, fmt.Errorf("attendance: pull %s: %w", key, err))
	}
	s.log.Info("attendance pulled", zap.String("month", key), zap.Int("people", st.People), zap.Int("batches", st.Batches),
		zap.Int("calls", st.Calls), zap.Int("records", st.Records), zap.Int("failed", len(st.Failed)), zap.String("by", by))
	if len(st.Failed) > 0 {
		return st, &PullError{Month: key, Failed: st.Failed}
	}
	return st, nil
}

// abandon records a pull that stored nothing as failed, saying why (the
// month's earlier figures stay), so the console does not show it running
// for ever, and returns err.
func (s *Service) abandon(key string, started time.Time, by string, st PullStats, err error) error {
	failures := append(slices.Clone(st.Failed), FailedBatch{Error: err.Error()})
	b, _ := json.Marshal(failures)
	p := store.AttendancePull{Month: key, Status: store.AttendanceFailed, People: st.People, Batches: st.Batches,
		FailedBatches: len(failures), Failures: string(b), StartedAt: started.UnixMilli(), FinishedAt: s.o.Now().UnixMilli(), StartedBy: by}
	// The pull's own context may be what ended it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ferr := s.o.DB.FinishAttendancePull(ctx, p); ferr != nil {
		s.log.Error("could not record the failed pull", zap.String("month", key), zap.Error(ferr))
	}
	s.log.Error("attendance pull failed", zap.String("month", key), zap.Error(err))
	return err
}

// call makes one checkin call, trying again after 301022 (WeCom could not
// fetch the data and asks for a retry; the client retries only what is
// transient everywhere, so this one is ours).
func (s *Service) call(ctx context.Context, st *PullStats, fn func() error) error {
	delay := s.o.RetryDelay
	for attempt := 0; ; attempt++ {
		st.Calls++
		err := fn()
		if err == nil || attempt >= s.o.Retries || !wecom.IsCode(err, 301022) {
			return err
		}
		s.log.Warn("checkin fetch failed, retrying", zap.Int("attempt", attempt+1), zap.Error(err))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay *= 2
	}
}

// Exception kinds of the reports' exception_infos (§9).
const (
	excLate    = 1
	excEarly   = 2
	excMissing = 3
	excAbsent  = 4
)

// addSummary adds one window's monthly report to p.
func addSummary(p *store.AttendancePerson, m wecom.CheckinMonthData) {
	p.WorkDays += int(m.SummaryInfo.WorkDays)
	for _, e := range m.ExceptionInfos {
		switch e.Exception {
		case excLate:
			p.Late += int(e.Count)
		case excEarly:
			p.Early += int(e.Count)
		case excMissing:
			p.Missing += int(e.Count)
		case excAbsent:
			p.Absent += int(e.Count)
		}
	}
	p.OvertimeSec += m.OverWorkInfo.WorkdayOverSec
}
