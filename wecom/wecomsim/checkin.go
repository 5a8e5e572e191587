package wecomsim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Checkin (打卡, docs/wecom.md §9): checkin/getcheckindata,
// getcheckin_daydata, getcheckin_monthdata and getcheckinoption over one
// corp-wide rule, with records generated deterministically for every active
// member plus the records tests add (AddCheckin, POST /sim/api/checkin).
//
// The rule (打卡规则 groupid 1 "教职工考勤", 固定时间上下班): Monday to Friday
// 08:30–17:30 Beijing time with a 12:00–13:00 rest (8 h standard), on
// campus (location and staff Wi-Fi below); overtime counts from 18:00 when
// the member leaves at 18:30 or later. No holiday calendar: every weekday
// is a workday, every Saturday and Sunday a rest day.
//
// Generated records, per active member (status 1) and workday, from a hash
// of (userid, date) so every run sees the same history: about 1.5 % of days
// absent (both punches 未打卡), 2.5 % no off-duty punch, 7 % late (08:31–
// 09:20), 3 % early leave, 3 % off-campus on-duty punch (地点异常), 1 % an
// unusual device (非常用设备), 12 % overtime (leaving 18:30–20:30), 4 % an
// outside punch (外出打卡) at midday; the rest arrive 07:50–08:29 and leave
// 17:30–18:20. Members using the WeChat plugin punch by location only (no
// Wi-Fi, no device id). Nothing is generated after the simulator's clock,
// nor for disabled, unactivated or departed members.
//
// Choices where the reference is silent (unconfirmed): members outside the
// calling app's visible range and unknown userids are left out of the
// answers silently; a missing punch is a record with exception 未打卡 and
// checkin_time = sch_checkin_time; a bad opencheckindatatype is 40058; a
// missing or reversed time range is 301024 like a too-long one; the 600/min
// corp limit applies to getcheckindata only (the reference names no limit
// for the reports).

// Checkin record kinds (opencheckindatatype).
const (
	CheckinOnOffDuty = 1
	CheckinOutside   = 2
	CheckinAll       = 3
)

// Checkin types and exception types as the API writes them.
const (
	CheckinTypeOnDuty  = "上班打卡"
	CheckinTypeOffDuty = "下班打卡"
	CheckinTypeOutside = "外出打卡"

	CheckinExceptionTime     = "时间异常"
	CheckinExceptionLocation = "地点异常"
	CheckinExceptionMissing  = "未打卡"
	CheckinExceptionWifi     = "wifi异常"
	CheckinExceptionDevice   = "非常用设备"
)

// The simulated checkin rule.
const (
	CheckinGroupID   = 1
	CheckinGroupName = "教职工考勤"
	// CheckinWorkSec and CheckinOffWorkSec are the on- and off-duty times,
	// in seconds after midnight Beijing time (08:30 and 17:30).
	CheckinWorkSec    = 8*3600 + 30*60
	CheckinOffWorkSec = 17*3600 + 30*60
	checkinRestBegin  = 12 * 3600
	checkinRestEnd    = 13 * 3600
	checkinOTStart    = 18 * 3600 // overtime counts from here…
	checkinOTMin      = 30 * 60   // …when at least this long
	// CheckinStandardWorkSec is a workday's standard work time (8 h).
	CheckinStandardWorkSec = CheckinOffWorkSec - CheckinWorkSec - (checkinRestEnd - checkinRestBegin)
)

// Checkin query limits (301023, 301024).
const (
	MaxCheckinUsers = 100
	MaxCheckinSpan  = 30 * 24 * time.Hour
)

// CheckinDataLimit is getcheckindata's corp-wide limit (doc 90454).
var CheckinDataLimit = Limit{PerMinute: 600}

// CheckinZone is the time zone checkin days and seconds after midnight are
// counted in (Beijing time).
var CheckinZone = time.FixedZone("CST", 8*3600)

// Campus location and Wi-Fi of generated on/off-duty punches (lat/lng are
// GCJ-02 × 1e6).
const (
	campusTitle  = "示例大学"
	campusDetail = "北京市海淀区示例路1号"
	campusLat    = 39992300
	campusLng    = 116310500
	campusWifi   = "EDU-Staff"
	campusMAC    = "3c:46:d8:0c:7a:70"
)

// CheckinRecord is one checkin/getcheckindata row.
type CheckinRecord struct {
	UserID    string `json:"userid"`
	GroupName string `json:"groupname"`
	// CheckinType is CheckinTypeOnDuty, CheckinTypeOffDuty or
	// CheckinTypeOutside.
	CheckinType string `json:"checkin_type"`
	// ExceptionType is "" or the exceptions joined by ";" (时间异常, 地点异常,
	// 未打卡, wifi异常, 非常用设备).
	ExceptionType  string   `json:"exception_type"`
	CheckinTime    int64    `json:"checkin_time"`
	LocationTitle  string   `json:"location_title"`
	LocationDetail string   `json:"location_detail"`
	WifiName       string   `json:"wifiname"`
	Notes          string   `json:"notes"`
	WifiMac        string   `json:"wifimac"`
	MediaIDs       []string `json:"mediaids"`
	Lat            int64    `json:"lat"`
	Lng            int64    `json:"lng"`
	DeviceID       string   `json:"deviceid"`
	// SchCheckinTime is the scheduled time of an on/off-duty punch.
	SchCheckinTime int64 `json:"sch_checkin_time"`
	GroupID        int64 `json:"groupid"`
	ScheduleID     int64 `json:"schedule_id"`
	TimelineID     int64 `json:"timeline_id"`
}

func (r *CheckinRecord) missing() bool {
	return strings.Contains(r.ExceptionType, CheckinExceptionMissing)
}

func (r *CheckinRecord) dutyPunch() bool {
	return r.CheckinType == CheckinTypeOnDuty || r.CheckinType == CheckinTypeOffDuty
}

// checkinKey is one member-day of added records.
type checkinKey struct {
	user string // lower(userid)
	day  string // 2006-01-02, Beijing
}

// dayStart is 00:00 Beijing of the day containing t.
func dayStart(t time.Time) time.Time {
	t = t.In(CheckinZone)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, CheckinZone)
}

func workday(day time.Time) bool {
	wd := day.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// dayRand draws deterministic numbers for one member-day.
type dayRand struct{ h uint64 }

func newDayRand(userid string, day time.Time) *dayRand {
	f := fnv.New64a()
	f.Write([]byte(strings.ToLower(userid) + "|" + day.Format(time.DateOnly)))
	return &dayRand{h: f.Sum64()}
}

// n returns a number in [0, k) and moves on.
func (r *dayRand) n(k int) int {
	r.h ^= r.h >> 33
	r.h *= 0xff51afd7ed558ccd
	r.h ^= r.h >> 33
	r.h *= 0xc4ceb9fe1a85ec53
	r.h ^= r.h >> 33
	return int(r.h % uint64(k))
}

// between returns a second in [lo, hi].
func (r *dayRand) between(lo, hi int) int64 { return int64(lo + r.n(hi-lo+1)) }

func deviceID(userid string) string {
	f := fnv.New64a()
	f.Write([]byte("device|" + strings.ToLower(userid)))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], f.Sum64())
	return fmt.Sprintf("%x", b)
}

// dutyRecord is an on/off-duty punch of the rule on day at sec (seconds
// after midnight), on campus unless the caller changes it.
func dutyRecord(m *member, day time.Time, typ string, sec int64) CheckinRecord {
	sch := int64(CheckinWorkSec)
	if typ == CheckinTypeOffDuty {
		sch = CheckinOffWorkSec
	}
	r := CheckinRecord{
		UserID: m.UserID, GroupName: CheckinGroupName, CheckinType: typ, GroupID: CheckinGroupID,
		CheckinTime: day.Unix() + sec, SchCheckinTime: day.Unix() + sch, MediaIDs: []string{},
		LocationTitle: campusTitle, LocationDetail: campusDetail, Lat: campusLat, Lng: campusLng,
		WifiName: campusWifi, WifiMac: campusMAC, DeviceID: deviceID(m.UserID),
	}
	if m.WeChatPlugin {
		// Through the WeChat plugin the punch is by location only.
		r.WifiName, r.WifiMac, r.DeviceID = "", "", ""
	}
	return r
}

// missingRecord is a punch that did not happen.
func missingRecord(m *member, day time.Time, typ string) CheckinRecord {
	r := dutyRecord(m, day, typ, 0)
	r.CheckinTime = r.SchCheckinTime
	r.ExceptionType = CheckinExceptionMissing
	r.LocationTitle, r.LocationDetail, r.Lat, r.Lng = "", "", 0, 0
	r.WifiName, r.WifiMac, r.DeviceID = "", "", ""
	return r
}

// generatedCheckins is m's generated history for day (all kinds), before
// the clock cut.
func generatedCheckins(m *member, day time.Time) []CheckinRecord {
	if m.Status != 1 || !workday(day) {
		return nil
	}
	r := newDayRand(m.UserID, day)
	roll := r.n(10000)
	on := r.between(7*3600+50*60, CheckinWorkSec-60)
	off := r.between(CheckinOffWorkSec, 18*3600+20*60)
	if r.n(100) < 12 {
		off = r.between(18*3600+30*60, 20*3600+30*60)
	}
	var out []CheckinRecord
	switch {
	case roll < 150: // absent
		return []CheckinRecord{missingRecord(m, day, CheckinTypeOnDuty), missingRecord(m, day, CheckinTypeOffDuty)}
	case roll < 400: // forgot the off-duty punch
		out = append(out, dutyRecord(m, day, CheckinTypeOnDuty, on), missingRecord(m, day, CheckinTypeOffDuty))
	case roll < 1100: // late
		in := dutyRecord(m, day, CheckinTypeOnDuty, r.between(CheckinWorkSec+60, 9*3600+20*60))
		in.ExceptionType = CheckinExceptionTime
		out = append(out, in, dutyRecord(m, day, CheckinTypeOffDuty, off))
	case roll < 1400: // left early
		leave := dutyRecord(m, day, CheckinTypeOffDuty, r.between(16*3600+30*60, CheckinOffWorkSec-60))
		leave.ExceptionType = CheckinExceptionTime
		out = append(out, dutyRecord(m, day, CheckinTypeOnDuty, on), leave)
	case roll < 1700: // punched in off campus
		in := dutyRecord(m, day, CheckinTypeOnDuty, on)
		in.ExceptionType = CheckinExceptionLocation
		in.LocationTitle, in.LocationDetail = "中关村地铁站", "北京市海淀区中关村大街"
		in.Lat, in.Lng = campusLat+21400, campusLng+8300
		in.WifiName, in.WifiMac = "", ""
		out = append(out, in, dutyRecord(m, day, CheckinTypeOffDuty, off))
	case roll < 1800 && !m.WeChatPlugin: // a new phone
		in := dutyRecord(m, day, CheckinTypeOnDuty, on)
		in.ExceptionType = CheckinExceptionDevice
		in.DeviceID = deviceID(m.UserID + "|new")
		out = append(out, in, dutyRecord(m, day, CheckinTypeOffDuty, off))
	default:
		out = append(out, dutyRecord(m, day, CheckinTypeOnDuty, on), dutyRecord(m, day, CheckinTypeOffDuty, off))
	}
	if r.n(100) < 4 {
		sec := r.between(10*3600, 15*3600)
		o := CheckinRecord{
			UserID: m.UserID, GroupName: CheckinGroupName, CheckinType: CheckinTypeOutside, GroupID: CheckinGroupID,
			CheckinTime: day.Unix() + sec, MediaIDs: []string{}, Notes: "校外调研",
			LocationTitle: "海淀区教育委员会", LocationDetail: "北京市海淀区长春桥路15号",
			Lat: campusLat - 35200, Lng: campusLng - 42100,
		}
		if !m.WeChatPlugin {
			o.DeviceID = deviceID(m.UserID)
		}
		out = append(out, o)
	}
	return out
}

// memberCheckins returns m's records on day (generated, with added ones
// replacing generated ones of their class), none after now, in time order.
func (s *Sim) memberCheckins(m *member, day, now time.Time) []CheckinRecord {
	if day.After(now) {
		return nil
	}
	added := s.st.checkins[checkinKey{user: strings.ToLower(m.UserID), day: day.Format(time.DateOnly)}]
	var addedDuty, addedOut bool
	for _, r := range added {
		if r.dutyPunch() {
			addedDuty = true
		} else {
			addedOut = true
		}
	}
	var out []CheckinRecord
	for _, r := range generatedCheckins(m, day) {
		if (r.dutyPunch() && addedDuty) || (!r.dutyPunch() && addedOut) {
			continue
		}
		out = append(out, r)
	}
	out = append(out, added...)
	out = slices.DeleteFunc(out, func(r CheckinRecord) bool { return r.CheckinTime > now.Unix() })
	sort.SliceStable(out, func(i, j int) bool { return out[i].CheckinTime < out[j].CheckinTime })
	for i := range out {
		out[i].MediaIDs = slices.Clone(out[i].MediaIDs)
	}
	return out
}

// AddCheckin records punches as if members made them. For each member-day
// the records given replace the generated ones of the same class
// (on/off-duty, or outside), so a test controls a day completely. Missing
// fields get the rule's defaults: group, scheduled time of on/off-duty
// punches, the campus location (unless the record is 未打卡 or has a
// location), and an exception type computed from the time (时间异常 for a
// late on-duty or early off-duty punch) when ExceptionType is empty.
// Errors: 60111 unknown member, 40058 bad type or zero time.
func (s *Sim) AddCheckin(records ...CheckinRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addCheckins(records)
}

func (s *Sim) addCheckins(records []CheckinRecord) error {
	prepared := make([]CheckinRecord, 0, len(records))
	for _, r := range records {
		m := s.st.user(r.UserID)
		if m == nil {
			return errf(60111, "userid %q not found", r.UserID)
		}
		if r.CheckinTime == 0 {
			return errf(40058, "checkin_time is required")
		}
		r.UserID = m.UserID
		day := dayStart(time.Unix(r.CheckinTime, 0))
		switch r.CheckinType {
		case CheckinTypeOnDuty, CheckinTypeOffDuty:
			def := dutyRecord(m, day, r.CheckinType, r.CheckinTime-day.Unix())
			if r.SchCheckinTime == 0 {
				r.SchCheckinTime = def.SchCheckinTime
			}
			if r.ExceptionType == "" {
				late := r.CheckinType == CheckinTypeOnDuty && r.CheckinTime >= r.SchCheckinTime+60
				early := r.CheckinType == CheckinTypeOffDuty && r.CheckinTime < r.SchCheckinTime
				if late || early {
					r.ExceptionType = CheckinExceptionTime
				}
			}
			if r.LocationTitle == "" && r.Lat == 0 && r.Lng == 0 && !r.missing() {
				r.LocationTitle, r.LocationDetail, r.Lat, r.Lng = def.LocationTitle, def.LocationDetail, def.Lat, def.Lng
				if r.WifiName == "" && r.WifiMac == "" {
					r.WifiName, r.WifiMac = def.WifiName, def.WifiMac
				}
			}
		case CheckinTypeOutside:
		default:
			return errf(40058, "checkin_type %q", r.CheckinType)
		}
		if r.GroupName == "" {
			r.GroupName, r.GroupID = CheckinGroupName, CheckinGroupID
		}
		if r.MediaIDs == nil {
			r.MediaIDs = []string{}
		}
		prepared = append(prepared, r)
	}
	if s.st.checkins == nil {
		s.st.checkins = map[checkinKey][]CheckinRecord{}
	}
	for _, r := range prepared {
		k := checkinKey{user: strings.ToLower(r.UserID), day: dayStart(time.Unix(r.CheckinTime, 0)).Format(time.DateOnly)}
		s.st.checkins[k] = append(s.st.checkins[k], r)
	}
	return nil
}

// Checkins returns member userid's records (all kinds) with checkin_time in
// [start, end], as getcheckindata would answer them; nil for an unknown
// member.
func (s *Sim) Checkins(userid string, start, end time.Time) []CheckinRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.st.user(userid)
	if m == nil {
		return nil
	}
	return s.checkinsBetween(m, start.Unix(), end.Unix(), CheckinAll)
}

func (s *Sim) checkinsBetween(m *member, from, to int64, kind int64) []CheckinRecord {
	now := s.Now()
	var out []CheckinRecord
	for day := dayStart(time.Unix(from, 0)); day.Unix() <= to; day = day.AddDate(0, 0, 1) {
		for _, r := range s.memberCheckins(m, day, now) {
			if r.CheckinTime < from || r.CheckinTime > to {
				continue
			}
			if (kind == CheckinOnOffDuty && !r.dutyPunch()) || (kind == CheckinOutside && r.dutyPunch()) {
				continue
			}
			out = append(out, r)
		}
	}
	return out
}

// checkinCaller: only apps listed in 打卡 → 可调用接口的应用 may call the
// checkin APIs (48002); the route already refuses the contacts-sync token.
func checkinCaller(c *call) (*App, error) {
	app := c.cred.appOf()
	if app == nil || app.NoCheckinAPI {
		return nil, errf(48002, "%s is not listed in 打卡 → 可调用接口的应用", c.cred)
	}
	return app, nil
}

// checkinKeys are the request keys of each checkin API (docs 90262,
// 96498, 96499, 90263); any other is 40058. Day and month data also take
// opencheckindatatype, which their docs do not list: silenceper (and so
// our client) sends one request struct to all three, and clients built on
// it work against WeCom, so the server must accept the key there.
var checkinKeys = map[string][]string{
	"/cgi-bin/checkin/getcheckindata":       {"opencheckindatatype", "starttime", "endtime", "useridlist"},
	"/cgi-bin/checkin/getcheckin_daydata":   {"opencheckindatatype", "starttime", "endtime", "useridlist"},
	"/cgi-bin/checkin/getcheckin_monthdata": {"opencheckindatatype", "starttime", "endtime", "useridlist"},
	"/cgi-bin/checkin/getcheckinoption":     {"datetime", "useridlist"},
}

// checkinQuery is the shared part of the checkin APIs: the caller (48002),
// undocumented keys (40058), useridlist 1..100 (301023), a range of at most 30 days (301024). It
// returns the listed members the app can see, in request order, without
// duplicates, and the range.
func (s *Sim) checkinQuery(c *call, f fields, rangeKeys ...string) ([]*member, []int64, error) {
	app, err := checkinCaller(c)
	if err != nil {
		return nil, nil, err
	}
	if keys, ok := checkinKeys[c.ep.Path]; ok {
		if err := onlyKeys(f, strings.TrimPrefix(c.ep.Path, "/cgi-bin/"), keys...); err != nil {
			return nil, nil, err
		}
	}
	ids, _, err := f.strs("useridlist")
	if err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 || len(ids) > MaxCheckinUsers {
		return nil, nil, errf(301023, "useridlist has %d userids, want 1..%d", len(ids), MaxCheckinUsers)
	}
	var bounds []int64
	for _, k := range rangeKeys {
		v, _, err := f.int64(k)
		if err != nil {
			return nil, nil, err
		}
		bounds = append(bounds, v)
	}
	if len(bounds) == 2 {
		from, to := bounds[0], bounds[1]
		switch {
		case from <= 0 || to <= 0:
			return nil, nil, errf(301024, "starttime and endtime are required")
		case to < from:
			return nil, nil, errf(301024, "endtime %d before starttime %d", to, from)
		case time.Duration(to-from)*time.Second > MaxCheckinSpan:
			return nil, nil, errf(301024, "range of %s is longer than 30 days", time.Duration(to-from)*time.Second)
		}
	}
	vis := s.st.visible(app)
	seen := map[*member]bool{}
	var ms []*member
	for _, id := range ids {
		if m := s.st.user(id); m != nil && !seen[m] && vis.user(m) {
			seen[m] = true
			ms = append(ms, m)
		}
	}
	return ms, bounds, nil
}

// handleGetCheckinData: POST /cgi-bin/checkin/getcheckindata.
func (s *Sim) handleGetCheckinData(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	if _, err := checkinCaller(c); err != nil {
		return nil, err
	}
	if e := s.countWindow("checkin:getcheckindata", CheckinDataLimit, c.now); e != nil {
		return nil, e
	}
	kind, ok, err := f.int64("opencheckindatatype")
	if err != nil {
		return nil, err
	}
	ms, bounds, err := s.checkinQuery(c, f, "starttime", "endtime")
	if err != nil {
		return nil, err
	}
	if !ok || kind < CheckinOnOffDuty || kind > CheckinAll {
		return nil, errf(40058, "opencheckindatatype %d, want 1, 2 or 3", kind)
	}
	out := []CheckinRecord{}
	for _, m := range ms {
		out = append(out, s.checkinsBetween(m, bounds[0], bounds[1], kind)...)
	}
	return obj{"checkindata": out}, nil
}

// checkinDay is one member-day of getcheckin_daydata.
type checkinDay struct {
	BaseInfo       checkinDayBase      `json:"base_info"`
	SummaryInfo    checkinDaySummary   `json:"summary_info"`
	HolidayInfos   []any               `json:"holiday_infos"`
	ExceptionInfos []checkinException  `json:"exception_infos"`
	OtInfo         checkinOT           `json:"ot_info"`
	SpItems        []checkinSpItem     `json:"sp_items"`
	outside        int                 // 外出打卡 that day (for sp_items)
	workday        bool                // day_type 0
	regular        bool                // a workday without exceptions
	exceptions     map[int]*checkinExc // for the month
}

type checkinDayBase struct {
	Date        int64           `json:"date"`
	RecordType  int             `json:"record_type"`
	Name        string          `json:"name"`
	NameEx      string          `json:"name_ex"`
	DepartsName string          `json:"departs_name"`
	AcctID      string          `json:"acctid"`
	DayType     int             `json:"day_type"`
	RuleInfo    checkinDayRules `json:"rule_info"`
}

type checkinDayRules struct {
	GroupID      int64             `json:"groupid"`
	GroupName    string            `json:"groupname"`
	ScheduleID   int64             `json:"scheduleid"`
	ScheduleName string            `json:"schedulename"`
	CheckinTime  []checkinDayTimes `json:"checkintime"`
}

type checkinDayTimes struct {
	WorkSec    int64 `json:"work_sec"`
	OffWorkSec int64 `json:"off_work_sec"`
}

// checkinDaySummary keeps the official misspelling lastest_time.
type checkinDaySummary struct {
	CheckinCount    int   `json:"checkin_count"`
	RegularWorkSec  int64 `json:"regular_work_sec"`
	StandardWorkSec int64 `json:"standard_work_sec"`
	EarliestTime    int64 `json:"earliest_time"`
	LastestTime     int64 `json:"lastest_time"`
}

// checkinException: exception 1 late, 2 early, 3 missing punch, 4 absent,
// 5 location, 6 device; duration only for late, early and absent.
type checkinException struct {
	Exception int   `json:"exception"`
	Count     int   `json:"count"`
	Duration  int64 `json:"duration"`
}

type checkinExc struct {
	count    int
	duration int64
}

type checkinOT struct {
	OtStatus          int     `json:"ot_status"` // 0 none, 1 normal, 2 short
	OtDuration        int64   `json:"ot_duration"`
	ExceptionDuration []int64 `json:"exception_duration"`
}

// checkinSpItem: type 1 leave, 2 补卡, 3 business trip, 4 out, 100 外勤.
type checkinSpItem struct {
	Type       int    `json:"type"`
	VacationID int    `json:"vacation_id"`
	Count      int    `json:"count"`
	Duration   int64  `json:"duration"`
	TimeType   int    `json:"time_type"`
	Name       string `json:"name"`
}

// departsName lists m's departments as full paths from the root, ";"
// separated, as base_info.departs_name does.
func (st *state) departsName(m *member) string {
	paths := make([]string, 0, len(m.Department))
	for _, id := range m.Department {
		var names []string
		for d := st.depts[id]; d != nil; d = st.depts[d.ParentID] {
			names = append(names, d.Name)
			if d.ID == rootDeptID {
				break
			}
		}
		slices.Reverse(names)
		paths = append(paths, strings.Join(names, "/"))
	}
	return strings.Join(paths, ";")
}

// dayReport builds m's daily report for day from its records.
func (s *Sim) dayReport(m *member, day time.Time) checkinDay {
	recs := s.memberCheckins(m, day, s.Now())
	d := checkinDay{
		BaseInfo: checkinDayBase{
			Date: day.Unix(), RecordType: 1, Name: m.Name, NameEx: m.Alias,
			DepartsName: s.st.departsName(m), AcctID: m.UserID, DayType: 1,
			RuleInfo: checkinDayRules{GroupID: CheckinGroupID, GroupName: CheckinGroupName,
				CheckinTime: []checkinDayTimes{{WorkSec: CheckinWorkSec, OffWorkSec: CheckinOffWorkSec}}},
		},
		HolidayInfos: []any{}, ExceptionInfos: []checkinException{},
		OtInfo:     checkinOT{ExceptionDuration: []int64{}},
		exceptions: map[int]*checkinExc{},
		workday:    workday(day),
	}
	if d.workday {
		d.BaseInfo.DayType = 0
		d.SummaryInfo.StandardWorkSec = CheckinStandardWorkSec
	}
	exc := func(kind int, dur int64) {
		e := d.exceptions[kind]
		if e == nil {
			e = &checkinExc{}
			d.exceptions[kind] = e
		}
		e.count++
		e.duration += dur
	}
	var on, off *CheckinRecord
	missing := 0
	for i := range recs {
		r := &recs[i]
		if !r.dutyPunch() {
			if !r.missing() {
				d.outside++
			}
			continue
		}
		if r.missing() {
			missing++
			continue
		}
		sec := r.CheckinTime - day.Unix()
		if d.SummaryInfo.CheckinCount == 0 || sec < d.SummaryInfo.EarliestTime {
			d.SummaryInfo.EarliestTime = sec
		}
		d.SummaryInfo.LastestTime = max(d.SummaryInfo.LastestTime, sec)
		d.SummaryInfo.CheckinCount++
		if strings.Contains(r.ExceptionType, CheckinExceptionLocation) {
			exc(5, 0)
		}
		if strings.Contains(r.ExceptionType, CheckinExceptionDevice) {
			exc(6, 0)
		}
		switch {
		case r.CheckinType == CheckinTypeOnDuty && (on == nil || r.CheckinTime < on.CheckinTime):
			on = r
		case r.CheckinType == CheckinTypeOffDuty && (off == nil || r.CheckinTime > off.CheckinTime):
			off = r
		}
	}
	if d.workday {
		switch {
		case on == nil && off == nil && (missing > 0 || day.Add(24*time.Hour).Before(s.Now())):
			exc(4, CheckinStandardWorkSec)
		default:
			if missing > 0 {
				for range missing {
					exc(3, 0)
				}
			}
			if on != nil {
				if late := on.CheckinTime - day.Unix() - CheckinWorkSec; late >= 60 {
					exc(1, late)
				}
			}
			if off != nil {
				if early := CheckinOffWorkSec - (off.CheckinTime - day.Unix()); early > 0 {
					exc(2, early)
				}
			}
		}
		if on != nil && off != nil {
			d.SummaryInfo.RegularWorkSec = workedSec(on.CheckinTime-day.Unix(), off.CheckinTime-day.Unix())
			if ot := off.CheckinTime - day.Unix() - checkinOTStart; ot >= checkinOTMin {
				d.OtInfo.OtStatus, d.OtInfo.OtDuration = 1, ot
			}
		}
		// Regular so far: today's missing off-duty punch is not yet an
		// exception.
		d.regular = len(d.exceptions) == 0 && (on != nil || off != nil)
	}
	for _, kind := range []int{1, 2, 3, 4, 5, 6} {
		if e := d.exceptions[kind]; e != nil {
			d.ExceptionInfos = append(d.ExceptionInfos, checkinException{Exception: kind, Count: e.count, Duration: e.duration})
		}
	}
	d.SpItems = checkinSpItems(d.outside)
	return d
}

// workedSec is the time between on and off inside the schedule, minus the
// rest.
func workedSec(on, off int64) int64 {
	from, to := max(on, CheckinWorkSec), min(off, CheckinOffWorkSec)
	if to <= from {
		return 0
	}
	rest := min(to, checkinRestEnd) - max(from, checkinRestBegin)
	return to - from - max(rest, 0)
}

func checkinSpItems(outside int) []checkinSpItem {
	return []checkinSpItem{
		{Type: 2, Name: "补卡次数"},
		{Type: 4, Name: "外出", TimeType: 1},
		{Type: 100, Name: "外勤次数", Count: outside},
	}
}

// reportDays lists the days of a report range: from the day of starttime
// to the day of endtime, none after today.
func (s *Sim) reportDays(from, to int64) []time.Time {
	var days []time.Time
	today := dayStart(s.Now())
	for d := dayStart(time.Unix(from, 0)); d.Unix() <= to && !d.After(today); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days
}

// handleGetCheckinDayData: POST /cgi-bin/checkin/getcheckin_daydata
// {"starttime","endtime","useridlist"} → one row per member and day
// (rest days included, days after today left out).
func (s *Sim) handleGetCheckinDayData(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	ms, bounds, err := s.checkinQuery(c, f, "starttime", "endtime")
	if err != nil {
		return nil, err
	}
	out := []checkinDay{}
	for _, m := range ms {
		if m.Status != 1 {
			continue
		}
		for _, day := range s.reportDays(bounds[0], bounds[1]) {
			out = append(out, s.dayReport(m, day))
		}
	}
	return obj{"datas": out}, nil
}

// checkinMonth is one member of getcheckin_monthdata.
type checkinMonth struct {
	BaseInfo       checkinMonthBase    `json:"base_info"`
	SummaryInfo    checkinMonthSummary `json:"summary_info"`
	ExceptionInfos []checkinException  `json:"exception_infos"`
	SpItems        []checkinSpItem     `json:"sp_items"`
	OverworkInfo   checkinOverwork     `json:"overwork_info"`
}

type checkinMonthBase struct {
	RecordType  int              `json:"record_type"`
	Name        string           `json:"name"`
	NameEx      string           `json:"name_ex"`
	DepartsName string           `json:"departs_name"`
	AcctID      string           `json:"acctid"`
	RuleInfo    checkinMonthRule `json:"rule_info"`
}

type checkinMonthRule struct {
	GroupID   int64  `json:"groupid"`
	GroupName string `json:"groupname"`
}

type checkinMonthSummary struct {
	WorkDays        int   `json:"work_days"`
	RegularDays     int   `json:"regular_days"`
	ExceptDays      int   `json:"except_days"`
	RegularWorkSec  int64 `json:"regular_work_sec"`
	StandardWorkSec int64 `json:"standard_work_sec"`
	RestDays        int   `json:"rest_days"`
}

// checkinOverwork keeps the official names holidays_over_sec and
// restdays_over_sec (plural) beside workday_over_sec.
type checkinOverwork struct {
	WorkdayOverSec  int64 `json:"workday_over_sec"`
	HolidaysOverSec int64 `json:"holidays_over_sec"`
	RestdaysOverSec int64 `json:"restdays_over_sec"`
}

// handleGetCheckinMonthData: POST /cgi-bin/checkin/getcheckin_monthdata
// {"starttime","endtime","useridlist"} → one row per member summing the
// daily reports of the range.
func (s *Sim) handleGetCheckinMonthData(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	ms, bounds, err := s.checkinQuery(c, f, "starttime", "endtime")
	if err != nil {
		return nil, err
	}
	out := []checkinMonth{}
	for _, m := range ms {
		if m.Status != 1 {
			continue
		}
		row := checkinMonth{
			BaseInfo: checkinMonthBase{RecordType: 1, Name: m.Name, NameEx: m.Alias, DepartsName: s.st.departsName(m),
				AcctID: m.UserID, RuleInfo: checkinMonthRule{GroupID: CheckinGroupID, GroupName: CheckinGroupName}},
			ExceptionInfos: []checkinException{},
		}
		excs := map[int]*checkinExc{}
		outside := 0
		for _, day := range s.reportDays(bounds[0], bounds[1]) {
			d := s.dayReport(m, day)
			outside += d.outside
			if !d.workday {
				row.SummaryInfo.RestDays++
				continue
			}
			row.SummaryInfo.WorkDays++
			if d.regular {
				row.SummaryInfo.RegularDays++
			} else {
				row.SummaryInfo.ExceptDays++
			}
			row.SummaryInfo.RegularWorkSec += d.SummaryInfo.RegularWorkSec
			row.SummaryInfo.StandardWorkSec += d.SummaryInfo.StandardWorkSec
			row.OverworkInfo.WorkdayOverSec += d.OtInfo.OtDuration
			for k, e := range d.exceptions {
				if excs[k] == nil {
					excs[k] = &checkinExc{}
				}
				excs[k].count += e.count
				excs[k].duration += e.duration
			}
		}
		for _, kind := range []int{1, 2, 3, 4, 5, 6} {
			if e := excs[kind]; e != nil {
				row.ExceptionInfos = append(row.ExceptionInfos, checkinException{Exception: kind, Count: e.count, Duration: e.duration})
			}
		}
		row.SpItems = checkinSpItems(outside)
		out = append(out, row)
	}
	return obj{"datas": out}, nil
}

// handleGetCheckinOption: POST /cgi-bin/checkin/getcheckinoption
// {"datetime","useridlist"} → the rule of each listed member.
func (s *Sim) handleGetCheckinOption(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	ms, _, err := s.checkinQuery(c, f)
	if err != nil {
		return nil, err
	}
	info := []obj{}
	for _, m := range ms {
		info = append(info, obj{"userid": m.UserID, "group": checkinGroupJSON()})
	}
	return obj{"info": info}, nil
}

func checkinGroupJSON() obj {
	return obj{
		"grouptype": 1, "groupid": CheckinGroupID, "groupname": CheckinGroupName,
		"checkindate": []obj{{
			"workdays": []int{1, 2, 3, 4, 5},
			"checkintime": []obj{{"work_sec": CheckinWorkSec, "off_work_sec": CheckinOffWorkSec,
				"remind_work_sec": CheckinWorkSec - 10*60, "remind_off_work_sec": CheckinOffWorkSec}},
			"flex_time": 0, "noneed_offwork": false, "limit_aheadtime": 14400000,
			"flex_on_duty_time": 0, "flex_off_duty_time": 0,
		}},
		"spe_workdays": []obj{}, "spe_offdays": []obj{}, "sync_holidays": true, "need_photo": false,
		"note_can_use_local_pic": false, "allow_checkin_offworkday": true, "allow_apply_offworkday": true,
		"wifimac_infos": []obj{{"wifiname": campusWifi, "wifimac": campusMAC}},
		"loc_infos":     []obj{{"lat": campusLat, "lng": campusLng, "loc_title": campusTitle, "loc_detail": campusDetail, "distance": 300}},
		"schedulelist":  []obj{},
	}
}

// adminCheckin registers:
//
//	POST checkin [CheckinRecord…]              AddCheckin
//	GET  checkin?userid=&start=&end=           Checkins (RFC 3339 or unix seconds)
func (s *Sim) adminCheckin(mux *http.ServeMux) {
	mux.HandleFunc("POST "+AdminPrefix+"checkin", func(w http.ResponseWriter, r *http.Request) {
		var recs []CheckinRecord
		if !decodeAdmin(w, r, &recs) {
			return
		}
		writeAdminWeCom(w, nil, s.AddCheckin(recs...))
	})
	mux.HandleFunc("GET "+AdminPrefix+"checkin", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		start, err1 := parseAdminTime(q.Get("start"))
		end, err2 := parseAdminTime(q.Get("end"))
		if err1 != nil || err2 != nil {
			http.Error(w, "start and end: RFC 3339 or unix seconds", http.StatusBadRequest)
			return
		}
		recs := s.Checkins(q.Get("userid"), start, end)
		if recs == nil {
			recs = []CheckinRecord{}
		}
		writeJSON(w, recs)
	})
}

func parseAdminTime(v string) (time.Time, error) {
	if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(sec, 0), nil
	}
	return time.Parse(time.RFC3339, v)
}
