package attendance_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/wecomapp/wecomapp/attendance"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/simcorp"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// recorder passes the checkin calls to the app's client and keeps every
// query, so the tests see the batches and windows the service asked for.
type recorder struct {
	app *wecom.Client
	mu  sync.Mutex
	qs  []call
	// after, if set, runs after each call.
	after func()
}

type call struct {
	api string
	q   wecom.CheckinQuery
}

func (r *recorder) GetCheckinData(ctx context.Context, q wecom.CheckinQuery) ([]*wecom.CheckinRecord, error) {
	r.mu.Lock()
	r.qs = append(r.qs, call{"getcheckindata", q})
	after := r.after
	r.mu.Unlock()
	if after != nil {
		defer after()
	}
	return r.app.GetCheckinData(ctx, q)
}

func (r *recorder) GetCheckinMonthData(ctx context.Context, q wecom.CheckinQuery) ([]wecom.CheckinMonthData, error) {
	r.mu.Lock()
	r.qs = append(r.qs, call{"getcheckin_monthdata", q})
	r.mu.Unlock()
	return r.app.GetCheckinMonthData(ctx, q)
}

func (r *recorder) calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.qs)
}

type rig struct {
	sim *wecomsim.Sim
	svc *attendance.Service
	rec *recorder
	db  *store.DB
}

// October 2026 has 31 days: two windows.
var october = time.Date(2026, 10, 1, 0, 0, 0, 0, attendance.Zone)

// newRig loads the small demo's data center into db (nil: a fresh SQLite
// database), syncs it into a simulated WeCom with everyone activated
// (only active members punch), and returns the service over the app's
// client.
func newRig(t *testing.T, db *store.DB, o attendance.Options) *rig {
	t.Helper()
	ctx := context.Background()
	if db == nil {
		db = storetest.SQLite(t)
	}
	c := simcorp.New(t, db, simcorp.Options{})
	u, sim, app := c.Uni, c.Sim, c.App
	members, err := db.ListMirrorMembers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	inCorp := map[string]bool{}
	for _, m := range members {
		inCorp[m.UserID] = true
	}
	var js []wecomsim.Joined
	for _, j := range u.Joined() {
		if inCorp[j.UserID] {
			j.Status = 1
			js = append(js, j)
		}
	}
	if err := sim.SetJoined(js); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{app: app}
	o.DB, o.App = db, rec
	if o.RetryDelay == 0 {
		o.RetryDelay = time.Millisecond
	}
	svc, err := attendance.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{sim: sim, svc: svc, rec: rec, db: db}
}

func (r *rig) roster(t *testing.T) []store.AttendanceRosterRow {
	t.Helper()
	ro, err := r.db.AttendanceRoster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ro) < 20 {
		t.Fatalf("the small demo has %d active faculty in WeCom; the tests want a few batches", len(ro))
	}
	return ro
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWindows(t *testing.T) {
	for _, c := range []struct {
		month string
		want  []string
	}{
		{"2026-10", []string{"2026-10-01..2026-10-30", "2026-10-31..2026-10-31"}},
		{"2026-11", []string{"2026-11-01..2026-11-30"}},
		{"2026-02", []string{"2026-02-01..2026-02-28"}},
	} {
		m, err := attendance.ParseMonth(c.month)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range attendance.Windows(m) {
			if w.End.Sub(w.Start) > wecom.MaxCheckinSpan {
				t.Errorf("%s: window %s spans %s", c.month, w, w.End.Sub(w.Start))
			}
			got = append(got, w.String())
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: windows %v, want %v", c.month, got, c.want)
		}
	}
}

// A month is pulled in batches of at most 100 userids (here 7, to have
// several) and windows of at most 30 days that cover it, every member
// once per window; a re-pull doubles nothing.
func TestPullBatchesAndRepull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, attendance.Options{BatchSize: 7})
		roster := r.roster(t)
		st, err := r.svc.Pull(ctx, october)
		if err != nil {
			t.Fatal(err)
		}
		chunks := (len(roster) + 6) / 7
		if st.People != len(roster) || st.Batches != chunks*2 || st.Records == 0 || st.Summaries != len(roster) {
			t.Fatalf("pull: %+v for %d people (%d chunks)", st, len(roster), chunks)
		}
		calls := r.rec.calls()
		if len(calls) != chunks*2*2 {
			t.Fatalf("%d calls, want %d (chunks × windows × 2 APIs)", len(calls), chunks*4)
		}
		seen := map[string]map[string]int{} // api|window → userid → times
		monthStart, monthEnd := october, october.AddDate(0, 1, 0)
		for _, c := range calls {
			if n := len(c.q.UserIDs); n == 0 || n > 7 || n > wecom.MaxCheckinUsers {
				t.Errorf("%s asked for %d users", c.api, n)
			}
			if span := c.q.End.Sub(c.q.Start); span > wecom.MaxCheckinSpan || span < 0 {
				t.Errorf("%s asked for %s", c.api, span)
			}
			if c.q.Start.Before(monthStart) || !c.q.End.Before(monthEnd) {
				t.Errorf("%s asked for %s..%s, outside the month", c.api, c.q.Start, c.q.End)
			}
			k := c.api + "|" + c.q.Start.Format(time.DateOnly)
			if seen[k] == nil {
				seen[k] = map[string]int{}
			}
			for _, u := range c.q.UserIDs {
				seen[k][u]++
			}
		}
		if len(seen) != 4 {
			t.Fatalf("calls over %d api × window pairs, want 4: %v", len(seen), seen)
		}
		for k, users := range seen {
			for _, p := range roster {
				if users[p.UserID] != 1 {
					t.Errorf("%s: %s asked for %d times", k, p.UserID, users[p.UserID])
				}
			}
		}
		// The simulator agrees: no call refused for its user list or range.
		for _, api := range []string{"/cgi-bin/checkin/getcheckindata", "/cgi-bin/checkin/getcheckin_monthdata"} {
			got := r.sim.Calls(api)
			if len(got) != chunks*2 {
				t.Errorf("simulator logged %d calls to %s, want %d", len(got), api, chunks*2)
			}
			for _, c := range got {
				if c.ErrCode != 0 {
					t.Errorf("%s answered %d: %s", api, c.ErrCode, c.Detail)
				}
			}
		}
		recs, people := count(t, db, "attendance_records"), count(t, db, "attendance_people")
		if recs != st.Records || people != len(roster) {
			t.Fatalf("stored %d records and %d people, pulled %d and %d", recs, people, st.Records, len(roster))
		}
		before, err := r.svc.Stats(ctx, october)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := r.svc.Pull(ctx, october)
		if err != nil {
			t.Fatal(err)
		}
		if count(t, db, "attendance_records") != recs || count(t, db, "attendance_people") != people || st2.Records != recs {
			t.Fatalf("re-pull: %d records and %d people stored, were %d and %d", count(t, db, "attendance_records"), count(t, db, "attendance_people"), recs, people)
		}
		after, err := r.svc.Stats(ctx, october)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(before, after) {
			t.Fatalf("re-pull changed the figures:\n%v\n%v", before, after)
		}
		pull, err := db.AttendancePullOf(ctx, "2026-10")
		if err != nil || pull.Status != store.AttendanceOK || pull.People != len(roster) || pull.FailedBatches != 0 {
			t.Fatalf("pull state %+v, %v", pull, err)
		}
	})
}

// expected counts a person's month from the simulator's own records, by
// their exception marks rather than their times.
func expected(sim *wecomsim.Sim, userid string, month time.Time) attendance.Figures {
	var f attendance.Figures
	end := month.AddDate(0, 1, 0).Add(-time.Second)
	type day struct{ missing, made int }
	days := map[string]*day{}
	var order []string
	for _, r := range sim.Checkins(userid, month, end) {
		if r.CheckinType == wecomsim.CheckinTypeOutside {
			continue
		}
		k := time.Unix(r.SchCheckinTime, 0).In(wecomsim.CheckinZone).Format(time.DateOnly)
		d := days[k]
		if d == nil {
			d = &day{}
			days[k] = d
			order = append(order, k)
		}
		if strings.Contains(r.ExceptionType, wecomsim.CheckinExceptionMissing) {
			d.missing++
			continue
		}
		d.made++
		if strings.Contains(r.ExceptionType, wecomsim.CheckinExceptionTime) {
			if r.CheckinType == wecomsim.CheckinTypeOnDuty {
				f.Late++
			} else {
				f.Early++
			}
		}
		if r.CheckinType == wecomsim.CheckinTypeOffDuty {
			dayStart := time.Unix(r.SchCheckinTime-wecomsim.CheckinOffWorkSec, 0)
			if ot := r.CheckinTime - dayStart.Unix() - 18*3600; ot >= 1800 {
				f.OvertimeSec += ot
			}
		}
	}
	for _, k := range order {
		f.WorkDays++
		d := days[k]
		if d.made == 0 {
			f.Absent++
			continue
		}
		// A missing off-duty punch leaves no off-duty record: no overtime
		// was counted that day.
		f.Missing += d.missing
	}
	return f
}

// Stats equal what the simulator's records say, person by person and per
// department × work type, and WeCom's monthly summaries agree.
func TestStatsMatchSimulator(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil, attendance.Options{})
	roster := r.roster(t)
	if _, err := r.svc.Pull(ctx, october); err != nil {
		t.Fatal(err)
	}
	people, err := r.svc.People(ctx, october)
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != len(roster) {
		t.Fatalf("%d people, roster %d", len(people), len(roster))
	}
	want := map[string]attendance.Figures{}
	var total attendance.Figures
	for _, p := range people {
		w := expected(r.sim, p.UserID, october)
		want[p.UserID] = w
		if p.Figures != w {
			t.Errorf("%s: %+v, the simulator's records say %+v", p.UserID, p.Figures, w)
		}
		if p.Summary == nil || p.Differs {
			t.Errorf("%s: WeCom's summary %+v differs from the records' %+v", p.UserID, p.Summary, p.Figures)
		}
		total.Late += w.Late
		total.Early += w.Early
		total.Absent += w.Absent
		total.Missing += w.Missing
	}
	// The simulator's rates show through: October has 22 workdays.
	if total.Late == 0 || total.Early == 0 || total.Absent == 0 || total.Missing == 0 {
		t.Fatalf("the month has no exceptions of some kind: %+v", total)
	}
	if people[0].WorkDays != 22 {
		t.Errorf("%s: %d workdays in October 2026, want 22", people[0].UserID, people[0].WorkDays)
	}
	stats, err := r.svc.Stats(ctx, october)
	if err != nil {
		t.Fatal(err)
	}
	type k struct{ dept, cat string }
	byGroup := map[k]attendance.DeptStats{}
	for _, s := range stats {
		byGroup[k{s.DeptCode, s.Category}] = s
	}
	groups := map[k]attendance.Figures{}
	sizes := map[k]int{}
	for _, p := range roster {
		g := k{p.DeptCode, p.Category}
		f := groups[g]
		w := want[p.UserID]
		f.WorkDays += w.WorkDays
		f.Late += w.Late
		f.Early += w.Early
		f.Absent += w.Absent
		f.Missing += w.Missing
		f.OvertimeSec += w.OvertimeSec
		groups[g] = f
		sizes[g]++
	}
	if len(stats) != len(groups) {
		t.Fatalf("%d groups, want %d", len(stats), len(groups))
	}
	for g, f := range groups {
		s := byGroup[g]
		if s.People != sizes[g] || s.Figures != f || s.Differs != 0 || s.DeptName == "" || s.DeptName == s.DeptCode {
			t.Errorf("%v: %+v, want %d people %+v", g, s, sizes[g], f)
		}
	}
}

// A batch that still fails after the retries is recorded and named in the
// error; its users keep what the last pull stored; the rest are updated.
func TestFailedBatchReported(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil, attendance.Options{BatchSize: 7})
	roster := r.roster(t)
	if _, err := r.svc.Pull(ctx, october); err != nil {
		t.Fatal(err)
	}
	records := count(t, r.db, "attendance_records")
	// The second chunk's first window: getcheckindata call 3 (chunk 1 made
	// calls 1 and 2, one per window).
	r.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/checkin/getcheckindata", After: 2, Times: 1, ErrCode: 48002})
	st, err := r.svc.Pull(ctx, october)
	var pe *attendance.PullError
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || len(st.Failed) != 1 {
		t.Fatalf("pull with a failing batch: %v (%+v)", err, st)
	}
	f := pe.Failed[0]
	if f.Batch != 3 || f.First != roster[7].UserID || f.Last != roster[13].UserID || f.API != "checkin/getcheckindata" || !strings.Contains(f.Error, "48002") {
		t.Fatalf("failed batch %+v", f)
	}
	if !strings.Contains(err.Error(), "batch 3") || !strings.Contains(err.Error(), roster[7].UserID) {
		t.Fatalf("error does not name the batch: %v", err)
	}
	pull, err := r.db.AttendancePullOf(ctx, "2026-10")
	if err != nil || pull.Status != store.AttendanceFailed || pull.FailedBatches != 1 || !strings.Contains(pull.Failures, roster[7].UserID) {
		t.Fatalf("pull state %+v, %v", pull, err)
	}
	// Nothing dropped: the failed batch's people still have last pull's rows.
	if n := count(t, r.db, "attendance_records"); n != records {
		t.Fatalf("%d records after the partial pull, %d before", n, records)
	}
	people, err := r.svc.People(ctx, october)
	if err != nil || len(people) != len(roster) {
		t.Fatalf("%d people after the partial pull (%v)", len(people), err)
	}

	// 301022 asks for a retry: the service makes it, and nothing fails.
	r.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/checkin/getcheckin_monthdata", Times: 1, ErrCode: 301022})
	before := len(r.rec.calls())
	st, err = r.svc.Pull(ctx, october)
	if err != nil || len(st.Failed) != 0 {
		t.Fatalf("pull after a 301022: %v", err)
	}
	if got := len(r.rec.calls()) - before; got != st.Batches*2+1 {
		t.Fatalf("%d calls for %d batches: want one retry", got, st.Batches)
	}

	// A pull whose context ends midway stores nothing and says so.
	cctx, cancel := context.WithCancel(ctx)
	r.rec.mu.Lock()
	r.rec.after = cancel
	r.rec.mu.Unlock()
	if _, err := r.svc.Pull(cctx, october); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled pull: %v", err)
	}
	pull, err = r.db.AttendancePullOf(ctx, "2026-10")
	if err != nil || pull.Status != store.AttendanceFailed || !strings.Contains(pull.Failures, "stopped after") {
		t.Fatalf("a cancelled pull left %+v, %v", pull, err)
	}
	if n := count(t, r.db, "attendance_records"); n != records {
		t.Fatalf("a cancelled pull changed the records: %d, were %d", n, records)
	}
}

// The raw punch records hold places, Wi-Fi and devices: sealed at rest.
func TestRawRecordsSealed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db, attendance.Options{})
		roster := r.roster(t)
		if _, err := r.svc.Pull(ctx, october); err != nil {
			t.Fatal(err)
		}
		recs := r.sim.Checkins(roster[0].UserID, october, october.AddDate(0, 1, 0))
		var device string
		for _, rc := range recs {
			if rc.DeviceID != "" {
				device = rc.DeviceID
				break
			}
		}
		if n := storetest.NoPlaintext(t, db, "attendance_records", "示例大学", "EDU-Staff", "3c:46:d8:0c:7a:70", "116310500", device); n == 0 {
			t.Fatal("no records stored")
		}
		stored, err := db.AttendanceRecords(ctx, "2026-10")
		if err != nil || len(stored) == 0 || !bytes.Contains(stored[0].Raw, []byte(`"userid"`)) {
			t.Fatalf("records do not open: %v", err)
		}
	})
}

// The workbook: 汇总 first, then a sheet per department with its people,
// figures as the simulator's records say, header frozen.
func TestWorkbook(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil, attendance.Options{})
	roster := r.roster(t)
	if _, err := r.svc.Pull(ctx, october); err != nil {
		t.Fatal(err)
	}
	b, err := r.svc.Workbook(ctx, october)
	if err != nil {
		t.Fatal(err)
	}
	CheckWorkbook(t, b, r.sim, r.db, roster, october)
}

// CheckWorkbook opens b and checks it against the simulator's records.
func CheckWorkbook(t *testing.T, b []byte, sim *wecomsim.Sim, db *store.DB, roster []store.AttendanceRosterRow, month time.Time) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := db.DepartmentNames(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sheets := f.GetSheetList()
	if sheets[0] != attendance.SummarySheet {
		t.Fatalf("first sheet %q", sheets[0])
	}
	depts := map[string][]store.AttendanceRosterRow{}
	for _, p := range roster {
		depts[names[p.DeptCode]] = append(depts[names[p.DeptCode]], p)
	}
	if len(sheets) != len(depts)+1 {
		t.Fatalf("%d sheets for %d departments: %v", len(sheets), len(depts), sheets)
	}
	for dept, people := range depts {
		if !slices.Contains(sheets, dept) {
			t.Fatalf("no sheet %q among %v", dept, sheets)
		}
		rows, err := f.GetRows(dept)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rows[0], attendance.PersonHeader) {
			t.Fatalf("%s header %v", dept, rows[0])
		}
		if len(rows) != len(people)+2 || rows[len(rows)-1][0] != attendance.TotalLabel {
			t.Fatalf("%s: %d rows for %d people", dept, len(rows), len(people))
		}
		var late int
		for _, row := range rows[1 : len(rows)-1] {
			w := expected(sim, row[0], month)
			got := []string{row[3], row[4], row[5], row[6], row[7]}
			want := []string{strconv.Itoa(w.WorkDays), strconv.Itoa(w.Late), strconv.Itoa(w.Early), strconv.Itoa(w.Absent), strconv.Itoa(w.Missing)}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: %v, the simulator says %v", dept, row[0], got, want)
			}
			if oh, _ := strconv.ParseFloat(row[8], 64); oh != w.OvertimeHours() {
				t.Errorf("%s %s: overtime %s h, the simulator says %v", dept, row[0], row[8], w.OvertimeHours())
			}
			late += w.Late
		}
		if tot := rows[len(rows)-1][4]; tot != strconv.Itoa(late) {
			t.Errorf("%s: total late %s, want %d", dept, tot, late)
		}
		panes, err := f.GetPanes(dept)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v %v", dept, panes, err)
		}
	}
	sum, err := f.GetRows(attendance.SummarySheet)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum[0], attendance.SummaryHeader) || sum[len(sum)-1][0] != attendance.TotalLabel || sum[len(sum)-1][2] != strconv.Itoa(len(roster)) {
		t.Fatalf("汇总: header %v, totals %v", sum[0], sum[len(sum)-1])
	}
}

func TestSheetName(t *testing.T) {
	used := map[string]bool{"汇总": true}
	long := strings.Repeat("很长的部门名称", 6)
	for _, c := range []struct{ in, want string }{
		{"计算机学院", "计算机学院"},
		{"计算机学院", "计算机学院(2)"},
		{"a/b:c*d?e[f]g\\h", "a_b_c_d_e_f_g_h"},
		{"'引号'", "引号"},
		{"", "部门"},
		{"汇总", "汇总(2)"},
		{long, string([]rune(long)[:31])},
		{long, string([]rune(long)[:28]) + "(2)"},
	} {
		got := attendance.SheetName(c.in, used)
		if got != c.want {
			t.Errorf("SheetName(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := len([]rune(got)); n > 31 {
			t.Errorf("%q has %d characters", got, n)
		}
	}
}

// The monthly job pulls the previous month and keeps its workbook; with a
// coordination store, an instance finding the month's lock held skips.
func TestMonthly(t *testing.T) {
	ctx := context.Background()
	co := coord.NewMemory(nil)
	r := newRig(t, nil, attendance.Options{Coord: co, Now: func() time.Time { return time.Date(2026, 11, 1, 3, 0, 0, 0, attendance.Zone) }})
	lock, err := co.TryLock(ctx, "attendance:monthly:2026-10", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.svc.RunMonthly(ctx, october); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.AttendanceExportOf(ctx, "2026-10"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another instance's month was exported here too: %v", err)
	}
	_ = lock.Release(ctx)
	if err := r.svc.RunMonthly(ctx, october); err != nil {
		t.Fatal(err)
	}
	ex, err := r.db.AttendanceExportOf(ctx, "2026-10")
	if err != nil || ex.MadeBy != "system" {
		t.Fatalf("kept workbook %+v, %v", ex.MadeBy, err)
	}
	CheckWorkbook(t, ex.XLSX, r.sim, r.db, r.roster(t), october)
	if err := r.svc.RunMonthly(ctx, october); err != nil {
		t.Fatal(err)
	}
	if n := count(t, r.db, "attendance_exports"); n != 1 {
		t.Fatalf("%d workbooks kept for one month", n)
	}
	if _, err := r.svc.Schedule(ctx, "not a schedule"); err == nil {
		t.Fatal("a bad schedule was accepted")
	}
	stop, err := r.svc.Schedule(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	stop()
}
