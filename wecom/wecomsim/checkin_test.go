package wecomsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// checkinNow is Monday 2024-09-30, 20:00 Beijing: September is a complete
// month of history.
var checkinNow = time.Date(2024, 9, 30, 20, 0, 0, 0, CheckinZone)

func sept(day int) time.Time { return time.Date(2024, 9, day, 0, 0, 0, 0, CheckinZone) }

func newCheckinEnv(t *testing.T, mutate ...func(*Options)) *env {
	return newEnv(t, append([]func(*Options){func(o *Options) {
		o.Clock = func() time.Time { return checkinNow }
	}}, mutate...)...)
}

// activeStaff are the fixture's active members (status 1).
var activeStaff = []string{"zhangwei", "lihua", "wangfang", "chenjing", "liuyang", "zhaolei", "sunli", "xujun",
	"s2023001", "s2023002", "s2023003", "s2023004", "s2023005", "s2023006", "s2023007", "s2023008", "s2023009", "s2023010"}

type checkinAnswer struct {
	ErrCode     int             `json:"errcode"`
	CheckinData []CheckinRecord `json:"checkindata"`
}

func (e *env) checkinData(token string, kind int, from, to time.Time, users ...string) checkinAnswer {
	e.t.Helper()
	var a checkinAnswer
	b, _ := json.Marshal(e.post("/cgi-bin/checkin/getcheckindata", token,
		obj{"opencheckindatatype": kind, "starttime": from.Unix(), "endtime": to.Unix(), "useridlist": users}))
	if err := json.Unmarshal(b, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func TestCheckinRules(t *testing.T) {
	e := newCheckinEnv(t, func(o *Options) {
		o.Apps = append(o.Apps, App{AgentID: 1000004, Name: "未授权", Secret: "no-checkin", NoCheckinAPI: true})
	})
	app := e.app()
	from := sept(1).Unix()
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = fmt.Sprint("u", i)
	}
	body := func(to int64, users []string) obj {
		return obj{"opencheckindatatype": 3, "starttime": from, "endtime": to, "useridlist": users}
	}
	thirty := from + 30*86400
	tests := []struct {
		name  string
		path  string
		token string
		body  obj
		code  int
	}{
		{"30 days", "getcheckindata", app, body(thirty, []string{"lihua"}), 0},
		{"30 days and a second", "getcheckindata", app, body(thirty+1, []string{"lihua"}), 301024},
		{"end before start", "getcheckindata", app, body(from-1, []string{"lihua"}), 301024},
		{"no range", "getcheckindata", app, obj{"opencheckindatatype": 3, "useridlist": []string{"lihua"}}, 301024},
		{"100 users", "getcheckindata", app, body(thirty, hundred), 0},
		{"101 users", "getcheckindata", app, body(thirty, append(hundred, "lihua")), 301023},
		{"no users", "getcheckindata", app, body(thirty, []string{}), 301023},
		{"bad opencheckindatatype", "getcheckindata", app, obj{"opencheckindatatype": 4, "starttime": from, "endtime": thirty, "useridlist": []string{"lihua"}}, 40058},
		{"no opencheckindatatype", "getcheckindata", app, obj{"starttime": from, "endtime": thirty, "useridlist": []string{"lihua"}}, 40058},
		{"day data 31 days", "getcheckin_daydata", app, body(thirty+86400, []string{"lihua"}), 301024},
		{"day data 101 users", "getcheckin_daydata", app, body(thirty, append(hundred, "lihua")), 301023},
		{"month data 31 days", "getcheckin_monthdata", app, body(thirty+86400, []string{"lihua"}), 301024},
		{"month data no users", "getcheckin_monthdata", app, body(thirty, nil), 301023},
		{"option 101 users", "getcheckinoption", app, obj{"datetime": from, "useridlist": append(hundred, "lihua")}, 301023},
		{"misspelt useridlist", "getcheckindata", app, obj{"opencheckindatatype": 3, "starttime": from, "endtime": thirty, "userid_list": []string{"lihua"}}, 40058},
		{"range keys on option", "getcheckinoption", app, obj{"datetime": from, "starttime": from, "useridlist": []string{"lihua"}}, 40058},
		{"contacts-sync token", "getcheckindata", e.contacts(), body(thirty, []string{"lihua"}), 48002},
		{"app not allowed for checkin", "getcheckindata", e.token("no-checkin"), body(thirty, []string{"lihua"}), 48002},
		{"app not allowed, day data", "getcheckin_daydata", e.token("no-checkin"), body(thirty, []string{"lihua"}), 48002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want(t, e.post("/cgi-bin/checkin/"+tc.path, tc.token, tc.body), tc.code)
		})
	}
}

func TestCheckinDataFrequency(t *testing.T) {
	e := newCheckinEnv(t)
	app := e.app()
	b := obj{"opencheckindatatype": 1, "starttime": sept(30).Unix(), "endtime": checkinNow.Unix(), "useridlist": []string{"lihua"}}
	for i := 0; i < 600; i++ {
		if r := e.post("/cgi-bin/checkin/getcheckindata", app, b); r.code() != 0 {
			t.Fatalf("call %d: %v", i+1, r)
		}
	}
	want(t, e.post("/cgi-bin/checkin/getcheckindata", app, b), 45009)
	// The reports are not under the 600/min limit.
	want(t, e.post("/cgi-bin/checkin/getcheckin_daydata", app, b), 0)
	e.sim.Advance(time.Minute)
	want(t, e.post("/cgi-bin/checkin/getcheckindata", app, b), 0)
}

func TestCheckinGeneratedHistory(t *testing.T) {
	e := newCheckinEnv(t)
	app := e.app()
	users := append(slices.Clone(activeStaff), "zhouqiang", "wuming", "nobody")
	a := e.checkinData(app, CheckinAll, sept(1), checkinNow, users...)
	if a.ErrCode != 0 || len(a.CheckinData) == 0 {
		t.Fatalf("answer %+v", a)
	}
	// Deterministic: another simulator generates the same history.
	e2 := newCheckinEnv(t)
	b := e2.checkinData(e2.app(), CheckinAll, sept(1), checkinNow, users...)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("history differs between runs:\n%s", diff)
	}

	type dayKey struct {
		user string
		day  string
	}
	duty := map[dayKey][]CheckinRecord{}
	exceptions := map[string]int{}
	outside := 0
	for _, r := range a.CheckinData {
		at := time.Unix(r.CheckinTime, 0).In(CheckinZone)
		if r.CheckinTime > checkinNow.Unix() {
			t.Errorf("record after now: %+v", r)
		}
		if !workday(at) {
			t.Errorf("record on a rest day: %+v", r)
		}
		if r.UserID == "zhouqiang" || r.UserID == "wuming" {
			t.Errorf("record of an inactive member: %+v", r)
		}
		if r.GroupID != CheckinGroupID || r.GroupName != CheckinGroupName || r.MediaIDs == nil {
			t.Errorf("group fields: %+v", r)
		}
		for _, x := range strings.Split(r.ExceptionType, ";") {
			if x != "" {
				exceptions[x]++
			}
		}
		switch r.CheckinType {
		case CheckinTypeOutside:
			outside++
			continue
		case CheckinTypeOnDuty, CheckinTypeOffDuty:
		default:
			t.Fatalf("checkin_type %q", r.CheckinType)
		}
		k := dayKey{r.UserID, at.Format(time.DateOnly)}
		duty[k] = append(duty[k], r)
		if r.ExceptionType != CheckinExceptionMissing && r.LocationTitle == "" {
			t.Errorf("punch without location: %+v", r)
		}
		if r.UserID == "s2023005" && (r.WifiName != "" || r.DeviceID != "") {
			t.Errorf("WeChat-plugin punch with Wi-Fi or device: %+v", r)
		}
		wantSch := time.Date(at.Year(), at.Month(), at.Day(), 8, 30, 0, 0, CheckinZone)
		if r.CheckinType == CheckinTypeOffDuty {
			wantSch = wantSch.Add(9 * time.Hour)
		}
		if r.SchCheckinTime != wantSch.Unix() {
			t.Errorf("scheduled time %s for %+v", time.Unix(r.SchCheckinTime, 0), r)
		}
	}
	// Every active member has both duty punches on each of September's 21
	// workdays.
	if len(duty) != len(activeStaff)*21 {
		t.Errorf("%d member-workdays with punches, want %d", len(duty), len(activeStaff)*21)
	}
	for k, rs := range duty {
		if len(rs) != 2 || rs[0].CheckinType != CheckinTypeOnDuty || rs[1].CheckinType != CheckinTypeOffDuty {
			t.Errorf("%v: %+v", k, rs)
		}
	}
	// Plausible: exceptions happen, but most days are clean.
	total := len(duty) * 2
	for _, x := range []string{CheckinExceptionTime, CheckinExceptionMissing, CheckinExceptionLocation} {
		if exceptions[x] == 0 || exceptions[x] > total/5 {
			t.Errorf("%d %s punches out of %d", exceptions[x], x, total)
		}
	}
	if outside == 0 {
		t.Error("no outside punches in a month")
	}

	// The kinds filter.
	for _, r := range e.checkinData(app, CheckinOnOffDuty, sept(1), checkinNow, activeStaff...).CheckinData {
		if r.CheckinType == CheckinTypeOutside {
			t.Fatalf("kind 1 returned %+v", r)
		}
	}
	outs := e.checkinData(app, CheckinOutside, sept(1), checkinNow, activeStaff...).CheckinData
	if len(outs) != outside {
		t.Errorf("kind 2: %d records, want %d", len(outs), outside)
	}

	// The counselor app sees only its visible range.
	got := map[string]bool{}
	for _, r := range e.checkinData(e.counselor(), CheckinAll, sept(1), checkinNow, activeStaff...).CheckinData {
		got[r.UserID] = true
	}
	if got["chenjing"] || got["zhangwei"] || !got["zhaolei"] || !got["wangfang"] || !got["s2023001"] {
		t.Errorf("counselor app sees %v", got)
	}
}

func TestAddCheckinAndReports(t *testing.T) {
	e := newCheckinEnv(t)
	app := e.app()
	day := sept(10) // a Tuesday
	at := func(h, m int) int64 { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).Unix() }
	err := e.sim.AddCheckin(
		CheckinRecord{UserID: "LiHua", CheckinType: CheckinTypeOnDuty, CheckinTime: at(9, 5)},
		CheckinRecord{UserID: "lihua", CheckinType: CheckinTypeOffDuty, CheckinTime: at(16, 50)},
	)
	if err != nil {
		t.Fatal(err)
	}
	recs := e.checkinData(app, CheckinOnOffDuty, day, day.Add(24*time.Hour-time.Second), "lihua").CheckinData
	if len(recs) != 2 || recs[0].CheckinTime != at(9, 5) || recs[1].CheckinTime != at(16, 50) {
		t.Fatalf("the added records must replace the day's: %+v", recs)
	}
	for _, r := range recs {
		if r.ExceptionType != CheckinExceptionTime || r.LocationTitle != campusTitle || r.GroupName != CheckinGroupName {
			t.Errorf("defaults not filled: %+v", r)
		}
	}
	if e.sim.AddCheckin(CheckinRecord{UserID: "nobody", CheckinType: CheckinTypeOnDuty, CheckinTime: at(8, 0)}) == nil {
		t.Error("record of an unknown member accepted")
	}
	if e.sim.AddCheckin(CheckinRecord{UserID: "lihua", CheckinType: "打卡", CheckinTime: at(8, 0)}) == nil {
		t.Error("record of an unknown type accepted")
	}
	// Over the admin API: zhaolei missed the off-duty punch on the 11th.
	miss := []CheckinRecord{
		{UserID: "zhaolei", CheckinType: CheckinTypeOnDuty, CheckinTime: sept(11).Add(8 * time.Hour).Unix()},
		{UserID: "zhaolei", CheckinType: CheckinTypeOffDuty, CheckinTime: sept(11).Add(17*time.Hour + 30*time.Minute).Unix(), ExceptionType: CheckinExceptionMissing},
	}
	want(t, e.decode(e.do(http.MethodPost, AdminPrefix+"checkin", nil, rawJSON(miss), "application/json")), 0)
	st, b := e.do(http.MethodGet, AdminPrefix+"checkin", url.Values{"userid": {"zhaolei"}, "start": {sept(11).Format(time.RFC3339)},
		"end": {fmt.Sprint(sept(12).Unix() - 1)}}, nil, "")
	var viaAdmin []CheckinRecord
	if err := json.Unmarshal(b, &viaAdmin); err != nil || st != 200 || len(viaAdmin) < 2 {
		t.Fatalf("admin checkin: %d %s", st, b)
	}

	// The daily report of lihua's day, in the documented field names.
	r := e.post("/cgi-bin/checkin/getcheckin_daydata", app, obj{"starttime": day.Unix(), "endtime": day.Unix(), "useridlist": []string{"lihua"}})
	want(t, r, 0)
	datas := r["datas"].([]any)
	if len(datas) != 1 {
		t.Fatalf("datas %v", datas)
	}
	d := datas[0].(map[string]any)
	wantJSON := func(name string, got any, want string) {
		t.Helper()
		if g := jsonOf(t, got); g != want {
			t.Errorf("%s = %s, want %s", name, g, want)
		}
	}
	base := d["base_info"].(map[string]any)
	if base["acctid"] != "lihua" || base["date"].(float64) != float64(day.Unix()) || base["day_type"].(float64) != 0 ||
		base["departs_name"] != "示例大学/计算机学院" || base["record_type"].(float64) != 1 {
		t.Errorf("base_info %v", base)
	}
	wantJSON("rule_info", base["rule_info"], `{"checkintime":[{"off_work_sec":63000,"work_sec":30600}],"groupid":1,"groupname":"教职工考勤","scheduleid":0,"schedulename":""}`)
	// Worked 09:05–16:50 minus the 12:00–13:00 rest: 6 h 45 min.
	wantJSON("summary_info", d["summary_info"], `{"checkin_count":2,"earliest_time":32700,"lastest_time":60600,"regular_work_sec":24300,"standard_work_sec":28800}`)
	wantJSON("exception_infos", d["exception_infos"], `[{"count":1,"duration":2100,"exception":1},{"count":1,"duration":2400,"exception":2}]`)
	wantJSON("ot_info", d["ot_info"], `{"exception_duration":[],"ot_duration":0,"ot_status":0}`)

	// A whole month: the month report sums the daily ones.
	rng := obj{"starttime": sept(1).Unix(), "endtime": sept(30).Unix(), "useridlist": []string{"lihua", "zhaolei", "s2023005", "zhouqiang"}}
	days := e.post("/cgi-bin/checkin/getcheckin_daydata", app, rng)
	want(t, days, 0)
	if n := len(days["datas"].([]any)); n != 3*30 {
		t.Errorf("%d day rows, want 90 (3 active members × 30 days; disabled zhouqiang has none)", n)
	}
	type sums struct{ work, regularDays, exceptDays, rest, worked, standard, ot int64 }
	perUser := map[string]*sums{}
	for _, x := range days["datas"].([]any) {
		row := x.(map[string]any)
		b := row["base_info"].(map[string]any)
		s := perUser[b["acctid"].(string)]
		if s == nil {
			s = &sums{}
			perUser[b["acctid"].(string)] = s
		}
		sum := row["summary_info"].(map[string]any)
		if b["day_type"].(float64) == 1 {
			s.rest++
			if sum["standard_work_sec"].(float64) != 0 {
				t.Errorf("rest day with standard time: %v", row)
			}
			continue
		}
		s.work++
		if len(row["exception_infos"].([]any)) == 0 {
			s.regularDays++
		} else {
			s.exceptDays++
		}
		s.worked += int64(sum["regular_work_sec"].(float64))
		s.standard += int64(sum["standard_work_sec"].(float64))
		s.ot += int64(row["ot_info"].(map[string]any)["ot_duration"].(float64))
	}
	month := e.post("/cgi-bin/checkin/getcheckin_monthdata", app, rng)
	want(t, month, 0)
	rows := month["datas"].([]any)
	if len(rows) != 3 {
		t.Fatalf("%d month rows, want 3", len(rows))
	}
	for _, x := range rows {
		row := x.(map[string]any)
		id := row["base_info"].(map[string]any)["acctid"].(string)
		s := perUser[id]
		wantJSON(id+" summary_info", row["summary_info"], fmt.Sprintf(
			`{"except_days":%d,"regular_days":%d,"regular_work_sec":%d,"rest_days":%d,"standard_work_sec":%d,"work_days":%d}`,
			s.exceptDays, s.regularDays, s.worked, s.rest, s.standard, s.work))
		wantJSON(id+" overwork_info", row["overwork_info"], fmt.Sprintf(`{"holidays_over_sec":0,"restdays_over_sec":0,"workday_over_sec":%d}`, s.ot))
		if s.work != 21 || s.standard != 21*CheckinStandardWorkSec {
			t.Errorf("%s: %d workdays, %d s standard", id, s.work, s.standard)
		}
	}
	if perUser["lihua"].exceptDays == 0 || perUser["zhaolei"].exceptDays == 0 {
		t.Errorf("the added exceptions are not counted: %+v %+v", perUser["lihua"], perUser["zhaolei"])
	}

	// getcheckinoption answers the rule.
	opt := e.post("/cgi-bin/checkin/getcheckinoption", app, obj{"datetime": day.Unix(), "useridlist": []string{"lihua"}})
	want(t, opt, 0)
	info := opt["info"].([]any)[0].(map[string]any)
	if g := info["group"].(map[string]any); info["userid"] != "lihua" || g["groupid"].(float64) != CheckinGroupID {
		t.Errorf("option %v", info)
	}

	// Reset drops the added records.
	e.sim.Reset()
	if recs := e.sim.Checkins("lihua", day, day.Add(24*time.Hour)); len(recs) > 0 && recs[0].CheckinTime == at(9, 5) {
		t.Error("Reset kept the added records")
	}
}

func TestCheckinToday(t *testing.T) {
	// At 10:00 on a workday the on-duty punch exists, the off-duty one not
	// yet, and the day report has no missing-punch exception.
	e := newEnv(t, func(o *Options) {
		o.Clock = func() time.Time { return sept(30).Add(10 * time.Hour) }
	})
	recs := e.sim.Checkins("chenjing", sept(30), sept(30).Add(24*time.Hour))
	for _, r := range recs {
		if r.CheckinType == CheckinTypeOffDuty || r.CheckinTime > sept(30).Add(10*time.Hour).Unix() {
			t.Errorf("future record %+v", r)
		}
	}
	e.sim.mu.Lock()
	d := e.sim.dayReport(e.sim.st.user("chenjing"), sept(30))
	e.sim.mu.Unlock()
	for _, x := range d.ExceptionInfos {
		if x.Exception == 3 || x.Exception == 4 {
			t.Errorf("today counted as missing: %+v", d.ExceptionInfos)
		}
	}
	if e.sim.Checkins("chenjing", sept(30).Add(24*time.Hour), sept(30).Add(48*time.Hour)) != nil {
		t.Error("records tomorrow")
	}
}
