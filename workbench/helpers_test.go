package workbench

import (
	"context"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// t0 is the tests' "now": 2026-12-01 10:00 in China, in the first
// semester of academic year 2026/27.
var t0 = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

var admin = store.Actor{UserID: "T09999", IP: "10.0.0.9", UserAgent: "test"}

// fixture is a Service over a database holding the test catalog and a
// few people of every kind.
type fixture struct {
	db    *store.DB
	s     *Service
	clock *testenv.Clock
	coord coord.Store
	logs  *observer.ObservedLogs
}

func (f *fixture) ctx() context.Context { return context.Background() }

// newFixture seeds testdata/catalog.yaml and these people:
//
//	T1 counselor of S1 and S3, in the college         → counselor, staff
//	T2 staff of 教务处                                 → staff (sees teaching_affairs)
//	T3 teacher, doctoral student and alumnus           → staff, doctoral, alumnus
//	L1 leader                                          → leader, staff
//	T4 staff tagged 部门管理员                          → dept_admin, staff
//	S1 2026 undergraduate, 计算机 major, class 10005001 → undergraduate_y1 (sees library)
//	S2 2025 undergraduate                              → undergraduate_y2
//	S3 2026 undergraduate, 水产 major                   → undergraduate_y1 (no library)
//	A1 alumnus only                                    → alumnus
func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, clock: testenv.NewClock(t0)}
	f.coord = coord.NewMemory(f.clock.Now)
	core, logs := observer.New(zap.DebugLevel)
	f.logs = logs
	ctx := context.Background()
	dc := store.DataCenter{
		Departments: []store.DCDepartment{
			{Code: "2", Name: "校领导", Kind: "leaders", Enabled: true},
			{Code: "204", Name: "教务处", Kind: "office", Enabled: true},
			{Code: "1000", Name: "计算机科学与工程学院", Kind: "college", Enabled: true},
			{Code: "100001", Name: "计算机科学与工程第1系", ParentCode: "1000", Kind: "teaching", Enabled: true},
			{Code: "100050", Name: "2026级", ParentCode: "1000", Kind: "grade", Enabled: true},
			{Code: "10005001", Name: "计算机科学与工程26级1班", ParentCode: "100050", Kind: "class", Enabled: true},
			{Code: "100090", Name: "研究生", ParentCode: "1000", Kind: "postgrad", Enabled: true},
		},
		Faculty: []store.DCFaculty{
			{StaffNo: "T1", Name: "陈辅导", DeptCode: "1000", Position: "辅导员", Category: "counselor", Status: "active"},
			{StaffNo: "T2", Name: "李教务", DeptCode: "204", Position: "科员", Category: "staff", Status: "active"},
			{StaffNo: "T3", Name: "王讲师", DeptCode: "100001", Position: "讲师", Category: "staff", Status: "active"},
			{StaffNo: "L1", Name: "张校长", DeptCode: "2", Position: "校长", Category: "leader", IsLeader: true, Status: "active"},
			{StaffNo: "T4", Name: "赵管理", DeptCode: "204", Position: "科长", Category: "staff", Status: "active"},
		},
		Students: []store.DCStudent{
			{StudentNo: "S1", Name: "刘一", CollegeCode: "1000", ClassCode: "10005001", Major: "计算机专业", Grade: 2026, Level: "undergraduate", CounselorNo: "T1", Status: "enrolled"},
			{StudentNo: "S2", Name: "刘二", CollegeCode: "1000", ClassCode: "", Major: "计算机专业", Grade: 2025, Level: "undergraduate", Status: "enrolled"},
			{StudentNo: "S3", Name: "刘三", CollegeCode: "1000", ClassCode: "10005001", Major: "水产专业", Grade: 2026, Level: "undergraduate", CounselorNo: "T1", Status: "enrolled"},
			{StudentNo: "T3", Name: "王讲师", CollegeCode: "1000", ClassCode: "", Major: "计算机学术学位", Grade: 2024, Level: "doctoral", Status: "enrolled"},
		},
	}
	if err := db.LoadDataCenter(ctx, dc, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.LoadPeopleExt(ctx, []store.PersonExt{
		{UserID: "T3", Name: "王讲师", Kind: "alumnus", Org: "2015届 计算机学院"},
		{UserID: "A1", Name: "周校友", Kind: "alumnus", Org: "2010届 水产学院"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.LoadPersonTags(ctx, []store.PersonTag{{UserID: "T4", Tag: "部门管理员"}, {UserID: "T1", Tag: "辅导员"}}); err != nil {
		t.Fatal(err)
	}
	f.s = f.service(t, zap.New(core))
	data, err := os.ReadFile("testdata/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.s.seedFrom(ctx, data); err != nil || !ok {
		t.Fatalf("seed fixture: %v, %v", ok, err)
	}
	return f
}

// service is another instance over the fixture's database, coord and clock.
func (f *fixture) service(t *testing.T, log *zap.Logger) *Service {
	t.Helper()
	s, err := New(context.Background(), f.db, Options{Coord: f.coord, Logger: log, Now: f.clock.Now, Reload: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// each runs fn on a fresh fixture over SQLite and, when configured, MariaDB.
func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newFixture(t, db)) })
}

func roleKeys(hs []Held) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.Role)
	}
	return out
}

func tileModules(ts []Tile) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.Module)
	}
	return out
}

// homeModules lists the modules of every section, in order.
func homeModules(h *Home) []string {
	out := []string{}
	for _, s := range h.Sections {
		out = append(out, tileModules(s.Tiles)...)
	}
	return out
}

func (f *fixture) home(t *testing.T, userID, role string) *Home {
	t.Helper()
	h, err := f.s.Home(f.ctx(), userID, role)
	if err != nil {
		t.Fatalf("home of %s as %q: %v", userID, role, err)
	}
	return h
}

func (f *fixture) audits(t *testing.T) []store.AuditEntry {
	t.Helper()
	rows, err := f.db.ListAudit(f.ctx(), store.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
