package h5

// A sample of the attendance console page, for the render, hook and
// escaping tests.

func adminAttendanceSample() AdminAttendance {
	row := AdminAttendanceRow{Dept: "人事处", WorkType: "在编教职工", People: 12, WorkDays: 264, Late: 18, Early: 7, Absent: 4, Missing: 6, Overtime: "35.5", Differs: 1}
	return AdminAttendance{AdminPage: adminPage("考勤统计", "/admin/attendance"), Month: "2026-11", Configured: true, Pulled: true,
		Stats: []AdminAttendanceRow{row}, Total: row, Differs: 1, Export: "/admin/attendance/export?month=2026-11",
		Pulls: []AdminAttendancePull{{Month: "2026-11", Status: "failed", StatusText: "部分失败", People: 120, Records: 5280, Batches: 4, FailedBatches: 1,
			Failures:  []string{"batch 3 (100 users T0101–T0200, 2026-11-01..2026-11-30) checkin/getcheckindata: errcode 301022"},
			StartedBy: "T00001", StartedAt: "2026-12-01 03:00", FinishedAt: "2026-12-01 03:01", Kept: "2026-12-01 03:01",
			Href: "/admin/attendance?month=2026-11", Export: "/admin/attendance/export?month=2026-11"}}}
}
