package handler_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/wecomapp/wecomapp/attendance"
	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// The console's attendance: an admin pulls October, sees its figures,
// and downloads a workbook with a sheet per department whose figures are
// the simulator's punch data; a failed batch is shown, not dropped; only
// super admins may; everything is audited.

// attendanceEnv is the platform with the demo synced into WeCom and every
// member activated (only active members punch).
func attendanceEnv(t *testing.T) *apptest.Env {
	t.Helper()
	ctx := context.Background()
	e := apptest.Start(t, apptest.Options{})
	if _, err := e.Sync.Run(ctx, orgsync.RunOptions{}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	members, err := e.DB.ListMirrorMembers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, m := range members {
		in[m.UserID] = true
	}
	var js []wecomsim.Joined
	for _, j := range e.Uni.Joined() {
		if in[j.UserID] {
			j.Status = 1
			js = append(js, j)
		}
	}
	if err := e.Sim.SetJoined(js); err != nil {
		t.Fatal(err)
	}
	return e
}

// simFigures counts a member's late, early, absent and missing of the
// month from the simulator's own records, by their exception marks.
func simFigures(sim *wecomsim.Sim, userid string, month time.Time) [4]int {
	var late, early, absent, missing int
	made, miss := map[string]int{}, map[string]int{}
	for _, r := range sim.Checkins(userid, month, month.AddDate(0, 1, 0).Add(-time.Second)) {
		if r.CheckinType == wecomsim.CheckinTypeOutside {
			continue
		}
		day := time.Unix(r.SchCheckinTime, 0).In(wecomsim.CheckinZone).Format(time.DateOnly)
		if strings.Contains(r.ExceptionType, wecomsim.CheckinExceptionMissing) {
			miss[day]++
			continue
		}
		made[day]++
		if strings.Contains(r.ExceptionType, wecomsim.CheckinExceptionTime) {
			if r.CheckinType == wecomsim.CheckinTypeOnDuty {
				late++
			} else {
				early++
			}
		}
	}
	for day, n := range miss {
		if made[day] == 0 {
			absent++
		} else {
			missing += n
		}
	}
	return [4]int{late, early, absent, missing}
}

func TestAttendanceWorkbookDownload(t *testing.T) {
	e := attendanceEnv(t)
	ctx := context.Background()
	admin := superAdmin(t, e)
	october := time.Date(2026, 10, 1, 0, 0, 0, 0, attendance.Zone)

	page := body(t, apptest.Get(t, admin, e.URL+"/admin/", ""))
	if !strings.Contains(page, `href="/admin/attendance"`) {
		t.Fatal("the console has no attendance entry")
	}
	page = body(t, apptest.Get(t, admin, e.URL+"/admin/attendance?month=2026-10", ""))
	if !strings.Contains(page, `data-testid="attendance-not-pulled"`) {
		t.Fatalf("an unpulled month shows figures:\n%s", page)
	}

	loc := location(t, post(t, admin, e.URL+"/admin/attendance/pull", url.Values{"month": {"2026-10"}}))
	if !strings.Contains(loc, "flash=") || !strings.Contains(loc, "month=2026-10") {
		t.Fatalf("pulling redirected to %s", loc)
	}
	page = body(t, apptest.Get(t, admin, loc, ""))
	if !strings.Contains(page, `data-testid="attendance-stats"`) || !strings.Contains(page, `data-month="2026-10" data-status="ok"`) {
		t.Fatalf("the pulled month's figures are not shown:\n%s", page)
	}

	resp := apptest.Get(t, admin, e.URL+"/admin/attendance/export?month=2026-10", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export answered %d: %s", resp.StatusCode, body(t, resp))
	}
	disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || params["filename"] != "考勤统计-2026-10.xlsx" {
		t.Fatalf("Content-Disposition %q (%v)", resp.Header.Get("Content-Disposition"), err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the download is not a workbook: %v", err)
	}
	defer f.Close()

	roster, err := e.DB.AttendanceRoster(ctx)
	if err != nil || len(roster) == 0 {
		t.Fatalf("roster %d, %v", len(roster), err)
	}
	names, _ := e.DB.DepartmentNames(ctx)
	byDept := map[string][]string{}
	for _, p := range roster {
		byDept[names[p.DeptCode]] = append(byDept[names[p.DeptCode]], p.UserID)
	}
	sheets := f.GetSheetList()
	if sheets[0] != "汇总" || len(sheets) != len(byDept)+1 {
		t.Fatalf("sheets %v for %d departments", sheets, len(byDept))
	}
	var late int
	for dept, ids := range byDept {
		rows, err := f.GetRows(dept)
		if err != nil {
			t.Fatalf("no sheet for %s: %v", dept, err)
		}
		if !slices.Equal(rows[0], []string{"工号", "姓名", "工作类型", "应出勤天数", "迟到", "早退", "缺勤", "缺卡", "加班小时"}) {
			t.Fatalf("%s header %v", dept, rows[0])
		}
		var got []string
		for _, row := range rows[1 : len(rows)-1] {
			got = append(got, row[0])
			w := simFigures(e.Sim, row[0], october)
			have := [4]int{}
			for i := range have {
				have[i], _ = strconv.Atoi(row[4+i])
			}
			if have != w || row[3] != "22" {
				t.Errorf("%s %s: workdays %s, late/early/absent/missing %v; the simulator says 22, %v", dept, row[0], row[3], have, w)
			}
			late += w[0]
		}
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Errorf("%s lists %v, its people are %v", dept, got, ids)
		}
	}
	sum, _ := f.GetRows("汇总")
	if total := sum[len(sum)-1]; total[0] != "合计" || total[2] != strconv.Itoa(len(roster)) || total[4] != strconv.Itoa(late) || late == 0 {
		t.Fatalf("汇总 totals %v: want %d people, %d late", total, len(roster), late)
	}

	var actions []string
	for _, a := range auditActions(t, e, "attendance.") {
		actions = append(actions, a.Action+" "+a.Object+" "+a.Actor)
	}
	for _, want := range []string{"attendance.pull attendance/2026-10 " + e.SuperAdmin, "attendance.export attendance/2026-10 " + e.SuperAdmin} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %q: %v", want, actions)
		}
	}
}

func TestAttendanceFailedBatchShown(t *testing.T) {
	e := attendanceEnv(t)
	admin := superAdmin(t, e)
	e.Sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/checkin/getcheckin_monthdata", Times: 1, ErrCode: 48002})
	loc := location(t, post(t, admin, e.URL+"/admin/attendance/pull", url.Values{"month": {"2026-10"}}))
	if !strings.Contains(loc, "error=") {
		t.Fatalf("a failed batch redirected to %s", loc)
	}
	page := body(t, apptest.Get(t, admin, loc, ""))
	if !strings.Contains(page, "批次拉取失败") || !strings.Contains(page, `data-status="failed"`) || !strings.Contains(page, `data-testid="attendance-failures"`) ||
		!strings.Contains(page, "48002") {
		t.Fatalf("the failed batch is not shown:\n%s", page)
	}
}

func TestAttendanceRefusesOthers(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	teacher := e.Person(t, func(p *demo.Person) bool {
		return p.Main() == demo.CatStaff && p.Status == 1 && p.UserID != e.SuperAdmin
	})
	for _, role := range []string{auth.AdminDept, auth.AdminSender, auth.AdminAuditor} {
		g := auth.Grant{UserID: teacher.UserID, Role: role}
		if role == auth.AdminDept {
			g.Depts = []string{"1000"}
		}
		if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, g); err != nil {
			t.Fatal(err)
		}
	}
	c := e.Browser(t)
	e.SignIn(t, c, teacher.UserID, "")
	if page := body(t, apptest.Get(t, c, e.URL+"/admin/", "")); strings.Contains(page, `href="/admin/attendance"`) {
		t.Error("a non-super admin's console links attendance")
	}
	for _, p := range []string{"/admin/attendance", "/admin/attendance/export?month=2026-10"} {
		if resp := apptest.Get(t, c, e.URL+p, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", p, resp.StatusCode)
		} else {
			resp.Body.Close()
		}
	}
	if resp := post(t, c, e.URL+"/admin/attendance/pull", url.Values{"month": {"2026-10"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST pull: %d, want 403", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	if ps, _ := e.DB.AttendancePulls(ctx); len(ps) != 0 || len(e.Sim.Calls("/cgi-bin/checkin/getcheckindata")) != 0 {
		t.Errorf("a refused pull pulled: %+v", ps)
	}
	// A bad month is refused in words.
	admin := superAdmin(t, e)
	if resp := apptest.Get(t, admin, e.URL+"/admin/attendance?month=2026-13", ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad month: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}
}
