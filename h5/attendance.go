package h5

// The console's attendance page (考勤统计, page admin_attendance): the
// months pulled with their state, a form to pull a month now, the chosen
// month's figures per department × work type, and the workbook download.

// AdminAttendance is page admin_attendance.
type AdminAttendance struct {
	AdminPage
	// Month is the month shown and the forms' default ("2026-11").
	Month string
	// Configured is false when no WeCom app can make the checkin calls.
	Configured bool
	Pulls      []AdminAttendancePull
	// Pulled says Month has stored figures (Stats may still be empty: no
	// one on the roster).
	Pulled bool
	Stats  []AdminAttendanceRow
	Total  AdminAttendanceRow
	// Differs is how many people WeCom's monthly summary disagrees about.
	Differs int
	// Export is the workbook's download link for Month.
	Export string
}

// AdminAttendancePull is one month's latest pull.
type AdminAttendancePull struct {
	Month, Status, StatusText string
	People, Records, Batches  int
	FailedBatches             int
	Failures                  []string
	StartedBy, StartedAt      string
	FinishedAt                string
	// Kept is when the month's workbook was last kept ("" for never).
	Kept   string
	Href   string // the month's figures
	Export string
}

// AdminAttendanceRow is one department × work type of a month.
type AdminAttendanceRow struct {
	Dept, WorkType                        string
	People, WorkDays, Late, Early, Absent int
	Missing                               int
	Overtime                              string // hours, one decimal
	Differs                               int
}
