package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomapp/wecomapp/attendance"
	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/store"
)

// The console's attendance (考勤统计, auth.PermAttendance): the months
// pulled from WeCom's checkin APIs with their state, 立即拉取 to pull a
// month now and see its figures per department × work type, and 导出
// Excel for the month's workbook. Pulls and downloads are audited.

// attendanceService is the attendance service over the platform's store
// and app client (New only keeps its options, so one per request costs
// nothing).
func (s *server) attendanceService() (*attendance.Service, error) {
	o := attendance.Options{DB: s.DB, Logger: s.log, Now: s.Now, Coord: s.Coord}
	if s.App != nil {
		o.App = s.App // a nil *wecom.Client must stay a nil interface
	}
	return attendance.New(o)
}

// attendanceMonth is the month a request names (?month= or the form's
// month), else the previous month: the one the office reports on.
func (s *server) attendanceMonth(c *gin.Context) (time.Time, error) {
	raw := c.Query("month")
	if raw == "" {
		raw = c.PostForm("month")
	}
	if raw == "" {
		return attendance.MonthStart(s.Now()).AddDate(0, -1, 0), nil
	}
	m, err := attendance.ParseMonth(raw)
	if err != nil {
		return time.Time{}, badRequest{"月份格式为 YYYY-MM：" + raw}
	}
	if m.After(s.Now()) {
		return time.Time{}, badRequest{"这个月还没有开始：" + raw}
	}
	return m, nil
}

func attendanceHref(month string) string { return "/admin/attendance?month=" + url.QueryEscape(month) }

func attendanceExportHref(month string) string {
	return "/admin/attendance/export?month=" + url.QueryEscape(month)
}

var attendanceStatus = map[string]string{store.AttendanceRunning: "拉取中", store.AttendanceOK: "完成", store.AttendanceFailed: "部分失败"}

func attendanceTime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return store.Time(ms).In(attendance.Zone).Format("2006-01-02 15:04")
}

func (s *server) adminAttendance(c *gin.Context) error {
	if err := s.may(c, auth.PermAttendance); err != nil {
		return err
	}
	ctx := c.Request.Context()
	month, err := s.attendanceMonth(c)
	if err != nil {
		return err
	}
	svc, err := s.attendanceService()
	if err != nil {
		return err
	}
	key := attendance.MonthKey(month)
	v := h5.AdminAttendance{AdminPage: s.adminPage(c, "考勤统计", "/admin/attendance"), Month: key, Configured: s.App != nil, Export: attendanceExportHref(key)}
	pulls, err := s.DB.AttendancePulls(ctx)
	if err != nil {
		return err
	}
	kept, err := s.DB.AttendanceExportMonths(ctx)
	if err != nil {
		return err
	}
	for _, p := range pulls {
		row := h5.AdminAttendancePull{Month: p.Month, Status: p.Status, StatusText: attendanceStatus[p.Status], People: p.People, Records: p.Records,
			Batches: p.Batches, FailedBatches: p.FailedBatches, StartedBy: p.StartedBy, StartedAt: attendanceTime(p.StartedAt),
			FinishedAt: attendanceTime(p.FinishedAt), Kept: attendanceTime(kept[p.Month]), Href: attendanceHref(p.Month), Export: attendanceExportHref(p.Month)}
		var failed []attendance.FailedBatch
		if err := json.Unmarshal([]byte(p.Failures), &failed); err == nil {
			for _, f := range failed {
				row.Failures = append(row.Failures, f.String())
			}
		}
		if p.Month == key && p.Status != store.AttendanceRunning {
			v.Pulled = true
		}
		v.Pulls = append(v.Pulls, row)
	}
	if v.Pulled {
		stats, err := svc.Stats(ctx, month)
		if err != nil {
			return err
		}
		var total attendance.Figures
		people := 0
		for _, st := range stats {
			v.Stats = append(v.Stats, attendanceRow(st.DeptName, st.WorkType, st.People, st.Figures, st.Differs))
			total.WorkDays += st.WorkDays
			total.Late += st.Late
			total.Early += st.Early
			total.Absent += st.Absent
			total.Missing += st.Missing
			total.OvertimeSec += st.OvertimeSec
			people += st.People
			v.Differs += st.Differs
		}
		v.Total = attendanceRow("合计", "", people, total, v.Differs)
	}
	return s.render(c, http.StatusOK, "admin_attendance", v)
}

func attendanceRow(dept, workType string, people int, f attendance.Figures, differs int) h5.AdminAttendanceRow {
	return h5.AdminAttendanceRow{Dept: dept, WorkType: workType, People: people, WorkDays: f.WorkDays, Late: f.Late, Early: f.Early,
		Absent: f.Absent, Missing: f.Missing, Overtime: strconv.FormatFloat(f.OvertimeHours(), 'f', 1, 64), Differs: differs}
}

// adminAttendancePull pulls a month now and shows its figures. A pull
// some of whose batches failed stores the rest: the page says which
// failed (and the months' table lists them).
func (s *server) adminAttendancePull(c *gin.Context) error {
	if err := s.may(c, auth.PermAttendance); err != nil {
		return err
	}
	month, err := s.attendanceMonth(c)
	if err != nil {
		return err
	}
	if s.App == nil {
		return badRequest{"没有配置可以调用打卡接口的企业微信应用"}
	}
	svc, err := s.attendanceService()
	if err != nil {
		return err
	}
	key := attendance.MonthKey(month)
	st, pullErr := svc.PullAs(c.Request.Context(), month, principal(c).UserID)
	var pe *attendance.PullError
	if pullErr != nil && !errors.As(pullErr, &pe) {
		return pullErr
	}
	after := map[string]any{"people": st.People, "batches": st.Batches, "records": st.Records, "failed": len(st.Failed)}
	if err := s.auditTx(c, nil, "attendance.pull", "attendance/"+key, nil, after, s.Now()); err != nil {
		return err
	}
	if pe != nil {
		to := attendanceHref(key) + "&error=" + url.QueryEscape(fmt.Sprintf("%s 有 %d 个批次拉取失败（这些人员保留上次的数据）：%s", key, len(pe.Failed), pe.Failed[0]))
		c.Redirect(http.StatusSeeOther, to)
		return nil
	}
	return saved(c, attendanceHref(key), fmt.Sprintf("已拉取 %s：%d 人，%d 条打卡记录", key, st.People, st.Records))
}

// adminAttendanceExport downloads a month's workbook, made from the
// figures stored now (and kept, as the monthly job keeps it).
func (s *server) adminAttendanceExport(c *gin.Context) error {
	if err := s.may(c, auth.PermAttendance); err != nil {
		return err
	}
	month, err := s.attendanceMonth(c)
	if err != nil {
		return err
	}
	key := attendance.MonthKey(month)
	if _, err := s.DB.AttendancePullOf(c.Request.Context(), key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return badRequest{key + " 还没有拉取，请先立即拉取"}
		}
		return err
	}
	svc, err := s.attendanceService()
	if err != nil {
		return err
	}
	b, err := svc.Export(c.Request.Context(), month, principal(c).UserID)
	if err != nil {
		return err
	}
	if err := s.auditTx(c, nil, "attendance.export", "attendance/"+key, nil, map[string]any{"bytes": len(b)}, s.Now()); err != nil {
		return err
	}
	name := attendance.Filename(month)
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	c.Header("Cache-Control", "private, no-store")
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
	return nil
}
