package attendance

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
)

// Checkin types and exception types as getcheckindata writes them (§9).
const (
	typeOnDuty       = "上班打卡"
	typeOffDuty      = "下班打卡"
	exceptionMissing = "未打卡"
)

// lateGrace: an on-duty punch within a minute of the schedule is on time
// (WeCom's reports count whole minutes).
const lateGrace = 60

// WorkTypes names the data center's faculty categories (dc_faculty.category).
var WorkTypes = map[string]string{
	"leader":      "校领导",
	"cadre":       "中层干部",
	"staff":       "在编教职工",
	"non_staffed": "非编人员",
	"counselor":   "辅导员",
	"retired":     "离退休人员",
}

// WorkType is category's name ("" and unknown ones as they are).
func WorkType(category string) string {
	if n, ok := WorkTypes[category]; ok {
		return n
	}
	if category == "" {
		return "未分类"
	}
	return category
}

// Figures are one person's (or a group's) month.
type Figures struct {
	WorkDays    int   // 应出勤天数: days with scheduled punches
	Late        int   // on-duty punches a minute or more after the schedule
	Early       int   // off-duty punches before the schedule
	Absent      int   // workdays without any duty punch
	Missing     int   // scheduled punches not made, on days not absent
	OvertimeSec int64 // workday overtime
}

// OvertimeHours is the overtime in hours, to one decimal.
func (f Figures) OvertimeHours() float64 {
	return float64((f.OvertimeSec*10+1800)/3600) / 10
}

func (f *Figures) add(g Figures) {
	f.WorkDays += g.WorkDays
	f.Late += g.Late
	f.Early += g.Early
	f.Absent += g.Absent
	f.Missing += g.Missing
	f.OvertimeSec += g.OvertimeSec
}

// PersonStats is one person's month. Summary is WeCom's own monthly
// report of them (nil when it answered none); Differs says it disagrees
// with the records' figures.
type PersonStats struct {
	UserID, Name       string
	DeptCode, DeptName string
	Category, WorkType string
	Figures
	Summary *Figures
	Differs bool
}

// DeptStats is one department × work type of a month.
type DeptStats struct {
	DeptCode, DeptName string
	Category, WorkType string
	People             int
	Figures
	// Differs is how many of its people WeCom's summary disagrees about.
	Differs int
}

// People computes every person's figures of month from the stored records,
// by department code, then userid.
func (s *Service) People(ctx context.Context, month time.Time) ([]PersonStats, error) {
	key := MonthKey(month)
	people, err := s.o.DB.AttendancePeople(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("attendance: figures of %s: %w", key, err)
	}
	records, err := s.o.DB.AttendanceRecords(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("attendance: figures of %s: %w", key, err)
	}
	names, err := s.o.DB.DepartmentNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("attendance: figures of %s: %w", key, err)
	}
	recs := map[string][]store.AttendanceRecord{}
	for _, r := range records {
		recs[r.UserID] = append(recs[r.UserID], r)
	}
	out := make([]PersonStats, 0, len(people))
	differs := 0
	for _, p := range people {
		ps := PersonStats{UserID: p.UserID, Name: p.Name, DeptCode: p.DeptCode, DeptName: names[p.DeptCode],
			Category: p.Category, WorkType: WorkType(p.Category), Figures: s.figures(recs[p.UserID])}
		if ps.DeptName == "" {
			ps.DeptName = p.DeptCode
		}
		if p.HasSummary {
			sum := Figures{WorkDays: p.WorkDays, Late: p.Late, Early: p.Early, Absent: p.Absent, Missing: p.Missing, OvertimeSec: p.OvertimeSec}
			ps.Summary = &sum
			ps.Differs = sum != ps.Figures
			if ps.Differs {
				differs++
				s.log.Warn("WeCom's monthly summary differs from the punch records", zap.String("month", key), zap.String("userid", p.UserID),
					zap.Any("records", ps.Figures), zap.Any("summary", sum))
			}
		}
		out = append(out, ps)
	}
	if differs > 0 {
		s.log.Warn("monthly summaries differ", zap.String("month", key), zap.Int("people", differs))
	}
	slices.SortStableFunc(out, func(a, b PersonStats) int {
		return cmp.Or(cmp.Compare(a.DeptCode, b.DeptCode), cmp.Compare(a.UserID, b.UserID))
	})
	return out, nil
}

// Stats sums month per department and work type, computed from the stored
// records (the source of truth; see the package doc), by department code
// and work type.
func (s *Service) Stats(ctx context.Context, month time.Time) ([]DeptStats, error) {
	people, err := s.People(ctx, month)
	if err != nil {
		return nil, err
	}
	return groupStats(people), nil
}

func groupStats(people []PersonStats) []DeptStats {
	type k struct{ dept, cat string }
	idx := map[k]int{}
	var out []DeptStats
	for _, p := range people {
		i, ok := idx[k{p.DeptCode, p.Category}]
		if !ok {
			i = len(out)
			idx[k{p.DeptCode, p.Category}] = i
			out = append(out, DeptStats{DeptCode: p.DeptCode, DeptName: p.DeptName, Category: p.Category, WorkType: p.WorkType})
		}
		out[i].People++
		out[i].add(p.Figures)
		if p.Differs {
			out[i].Differs++
		}
	}
	slices.SortStableFunc(out, func(a, b DeptStats) int {
		return cmp.Or(cmp.Compare(a.DeptCode, b.DeptCode), cmp.Compare(a.Category, b.Category))
	})
	return out
}

// figures counts one person's month from their records, day by day
// (Beijing time), as the 打卡规则 does: a workday is a day with scheduled
// on/off-duty punches; without any punch made it is one absent day,
// otherwise each scheduled punch not made is a missing punch, the earliest
// on-duty punch a minute or more late is late, the latest off-duty punch
// before its time is an early leave, and leaving OvertimeAfter or more
// past the off-duty time is overtime from then on, when it reaches
// OvertimeMin. Outside punches (外出打卡) do not count.
func (s *Service) figures(recs []store.AttendanceRecord) Figures {
	type day struct {
		on, off *store.AttendanceRecord
		missing int
	}
	days := map[string]*day{}
	for i := range recs {
		r := &recs[i]
		if r.CheckinType != typeOnDuty && r.CheckinType != typeOffDuty {
			continue
		}
		at := r.SchCheckinTime
		if at == 0 {
			at = r.CheckinTime
		}
		k := time.Unix(at, 0).In(Zone).Format(time.DateOnly)
		d := days[k]
		if d == nil {
			d = &day{}
			days[k] = d
		}
		switch {
		case strings.Contains(r.ExceptionType, exceptionMissing):
			d.missing++
		case r.CheckinType == typeOnDuty:
			if d.on == nil || r.CheckinTime < d.on.CheckinTime {
				d.on = r
			}
		default:
			if d.off == nil || r.CheckinTime > d.off.CheckinTime {
				d.off = r
			}
		}
	}
	var f Figures
	after, least := int64(s.o.OvertimeAfter/time.Second), int64(s.o.OvertimeMin/time.Second)
	for _, d := range days {
		f.WorkDays++
		if d.on == nil && d.off == nil {
			f.Absent++
			continue
		}
		f.Missing += d.missing
		if d.on != nil && d.on.SchCheckinTime > 0 && d.on.CheckinTime-d.on.SchCheckinTime >= lateGrace {
			f.Late++
		}
		if d.off != nil && d.off.SchCheckinTime > 0 && d.off.CheckinTime < d.off.SchCheckinTime {
			f.Early++
		}
		if d.on != nil && d.off != nil && d.off.SchCheckinTime > 0 {
			if ot := d.off.CheckinTime - d.off.SchCheckinTime - after; ot >= least {
				f.OvertimeSec += ot
			}
		}
	}
	return f
}
