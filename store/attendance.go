package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Attendance (考勤, migration 0024): the punch records and monthly
// summaries of each month's pull, the pulls' state, and the workbooks kept
// for download. The attendance package computes the figures; this file
// only keeps them.

// AttendanceRecordRaw is a punch record as WeCom sent it (JSON): it holds
// where the member was (location, coordinates), the Wi-Fi they were on
// and their device id, so it is sealed.
var AttendanceRecordRaw = SealedColumn{Table: "attendance_records", Key: "id", Column: "raw"}

// Pull states.
const (
	AttendanceRunning = "running"
	AttendanceOK      = "ok"
	AttendanceFailed  = "failed" // some batches failed: Failures says which
)

// AttendancePull is the state of one month's latest pull. Failures is
// JSON (the attendance package's FailedBatch list); times are Unix
// milliseconds.
type AttendancePull struct {
	Month         string `db:"month"`
	Status        string `db:"status"`
	People        int    `db:"people"`
	Records       int    `db:"records"`
	Batches       int    `db:"batches"`
	FailedBatches int    `db:"failed_batches"`
	Failures      string `db:"failures"`
	StartedAt     int64  `db:"started_at"`
	FinishedAt    int64  `db:"finished_at"`
	StartedBy     string `db:"started_by"`
}

// AttendanceRecord is one punch record of a month, Raw open.
type AttendanceRecord struct {
	Month          string `db:"month"`
	UserID         string `db:"userid"`
	CheckinType    string `db:"checkin_type"`
	CheckinTime    int64  `db:"checkin_time"`
	SchCheckinTime int64  `db:"sch_checkin_time"`
	ExceptionType  string `db:"exception_type"`
	Raw            []byte `db:"raw"`
}

// AttendancePerson is one person of a month's pull: department and work
// type as the data center had them, and WeCom's monthly summary when it
// answered one (HasSummary).
type AttendancePerson struct {
	Month       string `db:"month"`
	UserID      string `db:"userid"`
	Name        string `db:"name"`
	DeptCode    string `db:"dept_code"`
	Category    string `db:"category"`
	HasSummary  bool   `db:"has_summary"`
	WorkDays    int    `db:"work_days"`
	Late        int    `db:"late"`
	Early       int    `db:"early"`
	Missing     int    `db:"missing"`
	Absent      int    `db:"absent"`
	OvertimeSec int64  `db:"overtime_sec"`
}

// AttendanceRosterRow is an active faculty member who is in WeCom.
type AttendanceRosterRow struct {
	UserID   string `db:"staff_no"`
	Name     string `db:"name"`
	DeptCode string `db:"dept_code"`
	Category string `db:"category"`
}

// AttendanceRoster lists the people whose attendance is pulled: the data
// center's active faculty that the contacts sync has made members (a
// userid WeCom does not know would only be left out of its answers), by
// staff number.
func (db *DB) AttendanceRoster(ctx context.Context) ([]AttendanceRosterRow, error) {
	var out []AttendanceRosterRow
	err := db.SelectContext(ctx, &out, `SELECT f.staff_no, f.name, f.dept_code, f.category FROM dc_faculty f
		WHERE f.status = 'active' AND EXISTS (SELECT 1 FROM contacts_members m WHERE m.userid = f.staff_no)
		ORDER BY f.staff_no`)
	if err != nil {
		return nil, fmt.Errorf("store: attendance roster: %w", err)
	}
	return out, nil
}

// DepartmentNames maps the data center's department codes to their names.
func (db *DB) DepartmentNames(ctx context.Context) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT code, name FROM dc_departments")
	if err != nil {
		return nil, fmt.Errorf("store: department names: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var code, name string
		if err := rows.Scan(&code, &name); err != nil {
			return nil, fmt.Errorf("store: department names: %w", err)
		}
		out[code] = name
	}
	return out, rows.Err()
}

const attendancePullCols = "month, status, people, records, batches, failed_batches, failures, started_at, finished_at, started_by"

func (db *DB) putAttendancePull(ctx context.Context, q sqlx.ExtContext, p AttendancePull) error {
	if p.Failures == "" {
		p.Failures = "[]"
	}
	return db.upsert(ctx, q, "attendance_pulls",
		[]string{"month", "status", "people", "records", "batches", "failed_batches", "failures", "started_at", "finished_at", "started_by"},
		[]string{"month"},
		[][]any{{p.Month, p.Status, p.People, p.Records, p.Batches, p.FailedBatches, p.Failures, p.StartedAt, p.FinishedAt, p.StartedBy}})
}

// StartAttendancePull marks month's pull running (by, at: Unix ms). The
// month's earlier figures stay until the pull replaces them.
func (db *DB) StartAttendancePull(ctx context.Context, month, by string, at int64) error {
	if err := db.putAttendancePull(ctx, db, AttendancePull{Month: month, Status: AttendanceRunning, StartedAt: at, StartedBy: by}); err != nil {
		return fmt.Errorf("store: start attendance pull %s: %w", month, err)
	}
	return nil
}

// FinishAttendancePull records a pull that stored nothing (it failed
// before it had anything to store).
func (db *DB) FinishAttendancePull(ctx context.Context, p AttendancePull) error {
	if err := db.putAttendancePull(ctx, db, p); err != nil {
		return fmt.Errorf("store: finish attendance pull %s: %w", p.Month, err)
	}
	return nil
}

// AttendancePulls lists every month pulled, the latest month first.
func (db *DB) AttendancePulls(ctx context.Context) ([]AttendancePull, error) {
	var out []AttendancePull
	if err := db.SelectContext(ctx, &out, "SELECT "+attendancePullCols+" FROM attendance_pulls ORDER BY month DESC"); err != nil {
		return nil, fmt.Errorf("store: attendance pulls: %w", err)
	}
	return out, nil
}

// AttendancePullOf is month's pull.
func (db *DB) AttendancePullOf(ctx context.Context, month string) (AttendancePull, error) {
	var p AttendancePull
	if err := db.GetContext(ctx, &p, "SELECT "+attendancePullCols+" FROM attendance_pulls WHERE month = ?", month); err != nil {
		return p, notFound(err, "store: attendance pull %s", month)
	}
	return p, nil
}

// ReplaceAttendanceMonth stores a pull of month in one transaction: the
// month's records and people are replaced by these, except those of the
// userids in keep (whose batches failed: what an earlier pull stored of
// them stays, rather than a hole), and pull is recorded. Records are
// upserted on (month, userid, checkin_type, checkin_time), so a record
// WeCom answers twice is stored once.
func (db *DB) ReplaceAttendanceMonth(ctx context.Context, month string, people []AttendancePerson, records []AttendanceRecord, keep []string, pull AttendancePull) error {
	if err := db.needSealer("store attendance records", AttendanceRecordRaw); err != nil {
		return err
	}
	recRows := make([][]any, 0, len(records))
	for _, r := range records {
		raw, err := db.seal(AttendanceRecordRaw, r.Raw)
		if err != nil {
			return fmt.Errorf("store: attendance record of %s: %w", r.UserID, err)
		}
		recRows = append(recRows, []any{month, r.UserID, r.CheckinType, r.CheckinTime, r.SchCheckinTime, r.ExceptionType, raw})
	}
	pplRows := make([][]any, 0, len(people))
	for _, p := range people {
		pplRows = append(pplRows, []any{month, p.UserID, p.Name, p.DeptCode, p.Category, boolInt(p.HasSummary), p.WorkDays, p.Late, p.Early, p.Missing, p.Absent, p.OvertimeSec})
	}
	err := retryDeadlock(ctx, func() error {
		return db.WithTx(ctx, func(tx *sqlx.Tx) error {
			for _, table := range []string{"attendance_records", "attendance_people"} {
				q, args := "DELETE FROM "+table+" WHERE month = ?", []any{month}
				if len(keep) > 0 {
					var err error
					if q, args, err = sqlx.In(q+" AND userid NOT IN (?)", month, keep); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return fmt.Errorf("clear %s: %w", table, err)
				}
			}
			if err := db.upsert(ctx, tx, "attendance_records",
				[]string{"month", "userid", "checkin_type", "checkin_time", "sch_checkin_time", "exception_type", "raw"},
				[]string{"month", "userid", "checkin_type", "checkin_time"}, recRows); err != nil {
				return err
			}
			if err := db.upsert(ctx, tx, "attendance_people",
				[]string{"month", "userid", "name", "dept_code", "category", "has_summary", "work_days", "late", "early", "missing", "absent", "overtime_sec"},
				[]string{"month", "userid"}, pplRows); err != nil {
				return err
			}
			return db.putAttendancePull(ctx, tx, pull)
		})
	})
	if err != nil {
		return fmt.Errorf("store: replace attendance of %s: %w", month, err)
	}
	return nil
}

// AttendanceRecords are month's records, Raw open, by member and time.
func (db *DB) AttendanceRecords(ctx context.Context, month string) ([]AttendanceRecord, error) {
	if err := db.needSealer("read attendance records", AttendanceRecordRaw); err != nil {
		return nil, err
	}
	var out []AttendanceRecord
	if err := db.SelectContext(ctx, &out, `SELECT month, userid, checkin_type, checkin_time, sch_checkin_time, exception_type, raw
		FROM attendance_records WHERE month = ? ORDER BY userid, checkin_time, checkin_type`, month); err != nil {
		return nil, fmt.Errorf("store: attendance records of %s: %w", month, err)
	}
	for i := range out {
		raw, err := db.open(AttendanceRecordRaw, out[i].Raw)
		if err != nil {
			return nil, fmt.Errorf("store: attendance record of %s at %d: %w", out[i].UserID, out[i].CheckinTime, err)
		}
		out[i].Raw = raw
	}
	return out, nil
}

// AttendancePeople are month's people, by userid.
func (db *DB) AttendancePeople(ctx context.Context, month string) ([]AttendancePerson, error) {
	var out []AttendancePerson
	if err := db.SelectContext(ctx, &out, `SELECT month, userid, name, dept_code, category, has_summary, work_days, late, early, missing, absent, overtime_sec
		FROM attendance_people WHERE month = ? ORDER BY userid`, month); err != nil {
		return nil, fmt.Errorf("store: attendance people of %s: %w", month, err)
	}
	return out, nil
}

// AttendanceExport is a month's kept workbook.
type AttendanceExport struct {
	Month  string `db:"month"`
	XLSX   []byte `db:"xlsx"`
	MadeAt int64  `db:"made_at"` // Unix ms
	MadeBy string `db:"made_by"`
}

// PutAttendanceExport keeps month's workbook, replacing an earlier one:
// two instances making it for the same month leave one row.
func (db *DB) PutAttendanceExport(ctx context.Context, e AttendanceExport) error {
	if err := db.upsert(ctx, db, "attendance_exports", []string{"month", "xlsx", "made_at", "made_by"}, []string{"month"},
		[][]any{{e.Month, e.XLSX, e.MadeAt, e.MadeBy}}); err != nil {
		return fmt.Errorf("store: keep attendance workbook of %s: %w", e.Month, err)
	}
	return nil
}

// AttendanceExportOf is month's kept workbook.
func (db *DB) AttendanceExportOf(ctx context.Context, month string) (AttendanceExport, error) {
	var e AttendanceExport
	if err := db.GetContext(ctx, &e, "SELECT month, xlsx, made_at, made_by FROM attendance_exports WHERE month = ?", month); err != nil {
		return e, notFound(err, "store: attendance workbook of %s", month)
	}
	return e, nil
}

// AttendanceExportMonths maps the months with a kept workbook to when it
// was made (Unix ms).
func (db *DB) AttendanceExportMonths(ctx context.Context) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT month, made_at FROM attendance_exports")
	if err != nil {
		return nil, fmt.Errorf("store: attendance workbooks: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var m string
		var at int64
		if err := rows.Scan(&m, &at); err != nil {
			return nil, fmt.Errorf("store: attendance workbooks: %w", err)
		}
		out[m] = at
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return out, nil
}
