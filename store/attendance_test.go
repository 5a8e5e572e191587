package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// TestAttendanceStore: the roster is the active faculty in WeCom; a
// month's replacement doubles nothing, keeps the rows of the users whose
// batches failed, leaves other months alone; punch records are sealed;
// one workbook per month.
func TestAttendanceStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Unix(1_790_000_000, 0)
		dc := store.DataCenter{
			Departments: []store.DCDepartment{{Code: "RSC", Name: "人事处", Enabled: true}, {Code: "JWC", Name: "教务处", Enabled: true}},
			Faculty: []store.DCFaculty{
				{StaffNo: "T1", Name: "甲", DeptCode: "RSC", Category: "staff", Status: "active"},
				{StaffNo: "T2", Name: "乙", DeptCode: "JWC", Category: "cadre", Status: "active"},
				{StaffNo: "T3", Name: "丙", DeptCode: "JWC", Category: "staff", Status: "left"},   // gone
				{StaffNo: "T4", Name: "丁", DeptCode: "JWC", Category: "staff", Status: "active"}, // not in WeCom
			},
		}
		if err := db.LoadDataCenter(ctx, dc, now); err != nil {
			t.Fatal(err)
		}
		if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{{UserID: "T1", Name: "甲"}, {UserID: "T2", Name: "乙"}, {UserID: "T3", Name: "丙"}}, now); err != nil {
			t.Fatal(err)
		}
		ro, err := db.AttendanceRoster(ctx)
		if err != nil || len(ro) != 2 || ro[0].UserID != "T1" || ro[1].UserID != "T2" || ro[1].Category != "cadre" || ro[1].DeptCode != "JWC" {
			t.Fatalf("roster %+v %v", ro, err)
		}
		if names, err := db.DepartmentNames(ctx); err != nil || names["RSC"] != "人事处" {
			t.Fatalf("names %v %v", names, err)
		}

		const wifi = "EDU-Staff-Secret"
		rec := func(user string, at int64) store.AttendanceRecord {
			return store.AttendanceRecord{UserID: user, CheckinType: "上班打卡", CheckinTime: at, SchCheckinTime: at, Raw: []byte(`{"wifiname":"` + wifi + `"}`)}
		}
		people := []store.AttendancePerson{{UserID: "T1", Name: "甲", DeptCode: "RSC", Category: "staff", HasSummary: true, WorkDays: 22, Late: 1},
			{UserID: "T2", Name: "乙", DeptCode: "JWC", Category: "cadre"}}
		// A record answered twice is stored once.
		recs := []store.AttendanceRecord{rec("T1", 100), rec("T1", 100), rec("T1", 200), rec("T2", 100)}
		pull := store.AttendancePull{Month: "2026-10", Status: store.AttendanceOK, People: 2, Records: 3, StartedBy: "admin"}
		if err := db.StartAttendancePull(ctx, "2026-10", "admin", 1); err != nil {
			t.Fatal(err)
		}
		if p, err := db.AttendancePullOf(ctx, "2026-10"); err != nil || p.Status != store.AttendanceRunning {
			t.Fatalf("running pull %+v %v", p, err)
		}
		for range 2 {
			if err := db.ReplaceAttendanceMonth(ctx, "2026-10", people, recs, nil, pull); err != nil {
				t.Fatal(err)
			}
		}
		// Another month stays put.
		if err := db.ReplaceAttendanceMonth(ctx, "2026-09", people[:1], recs[:1], nil, store.AttendancePull{Month: "2026-09", Status: store.AttendanceOK}); err != nil {
			t.Fatal(err)
		}
		got, err := db.AttendanceRecords(ctx, "2026-10")
		if err != nil || len(got) != 3 || string(got[0].Raw) != `{"wifiname":"`+wifi+`"}` {
			t.Fatalf("records %+v %v", got, err)
		}
		storetest.NoPlaintext(t, db, "attendance_records", wifi)
		ps, err := db.AttendancePeople(ctx, "2026-10")
		if err != nil || len(ps) != 2 || !ps[0].HasSummary || ps[0].WorkDays != 22 || ps[0].Late != 1 || ps[1].HasSummary {
			t.Fatalf("people %+v %v", ps, err)
		}

		// T2's batch failed: T1 is replaced, T2 keeps the last pull's rows.
		failed := store.AttendancePull{Month: "2026-10", Status: store.AttendanceFailed, FailedBatches: 1, Failures: `[{"batch":2}]`}
		if err := db.ReplaceAttendanceMonth(ctx, "2026-10", people[:1], []store.AttendanceRecord{rec("T1", 300)}, []string{"T2"}, failed); err != nil {
			t.Fatal(err)
		}
		got, _ = db.AttendanceRecords(ctx, "2026-10")
		if len(got) != 2 || got[0].UserID != "T1" || got[0].CheckinTime != 300 || got[1].UserID != "T2" {
			t.Fatalf("after a failed batch: %+v", got)
		}
		if ps, _ := db.AttendancePeople(ctx, "2026-10"); len(ps) != 2 {
			t.Fatalf("after a failed batch: %d people", len(ps))
		}
		if sep, _ := db.AttendanceRecords(ctx, "2026-09"); len(sep) != 1 {
			t.Fatalf("September has %d records", len(sep))
		}
		pulls, err := db.AttendancePulls(ctx)
		if err != nil || len(pulls) != 2 || pulls[0].Month != "2026-10" || pulls[0].Status != store.AttendanceFailed || pulls[0].Failures != `[{"batch":2}]` {
			t.Fatalf("pulls %+v %v", pulls, err)
		}

		// Without a Sealer nothing is written.
		if err := db.WithSealer(nil).ReplaceAttendanceMonth(ctx, "2026-10", nil, nil, nil, pull); !errors.Is(err, store.ErrNoSealer) {
			t.Fatalf("no sealer: %v", err)
		}

		if _, err := db.AttendanceExportOf(ctx, "2026-10"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no workbook yet: %v", err)
		}
		for i, b := range []string{"one", "two"} {
			if err := db.PutAttendanceExport(ctx, store.AttendanceExport{Month: "2026-10", XLSX: []byte(b), MadeAt: int64(i), MadeBy: "system"}); err != nil {
				t.Fatal(err)
			}
		}
		ex, err := db.AttendanceExportOf(ctx, "2026-10")
		if err != nil || string(ex.XLSX) != "two" || ex.MadeAt != 1 {
			t.Fatalf("workbook %+v %v", ex, err)
		}
		if ms, err := db.AttendanceExportMonths(ctx); err != nil || len(ms) != 1 || ms["2026-10"] != 1 {
			t.Fatalf("workbook months %v %v", ms, err)
		}
	})
}
