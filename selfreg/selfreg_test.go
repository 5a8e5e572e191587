package selfreg_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/selfreg"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// The data center of these tests: who may register, and who may not.
var dc = store.DataCenter{
	Departments: []store.DCDepartment{
		{Code: "101", Name: "计算机学院", Kind: "college", Enabled: true},
		{Code: "10101", Name: "计算机2026级1班", ParentCode: "101", Kind: "class", Enabled: true},
		{Code: "201", Name: "人事处", Kind: "admin", Enabled: true},
	},
	Faculty: []store.DCFaculty{
		{StaffNo: "T001", Name: "张三", DeptCode: "201", Mobile: "13800138000", Status: "active"},
		{StaffNo: "T002", Name: "王五", DeptCode: "201", Mobile: "13800138002", Status: "left"},
		{StaffNo: "T003", Name: "买买提·艾力", DeptCode: "101", Mobile: "13800138003", Status: "active"},
		{StaffNo: "T004", Name: "赵六", DeptCode: "101", Mobile: "13700137000", Status: "active"},
		{StaffNo: "T005", Name: "钱七", DeptCode: "101", Mobile: "13800138005", Status: "retired"},
		{StaffNo: "T010", Name: "孙十", DeptCode: "101", Mobile: "13800138010", Status: "active"},
	},
	Students: []store.DCStudent{
		{StudentNo: "S001", Name: "李四", CollegeCode: "101", ClassCode: "10101", Mobile: "13900139000", Status: "enrolled"},
		{StudentNo: "S002", Name: "周八", CollegeCode: "101", ClassCode: "10101", Mobile: "13900139002", Status: "graduated"},
		{StudentNo: "S003", Name: "吴九", CollegeCode: "101", ClassCode: "10101", Status: "enrolled"},
		{StudentNo: "S004", Name: "郑十一", CollegeCode: "101", Mobile: "13900139004", Status: "suspended"},
	},
}

type fixture struct {
	svc     *selfreg.Service
	db      *store.DB
	mirror  *contacts.Mirror
	clock   *testenv.Clock
	mu      sync.Mutex
	enrols  []enrolCall
	welcome []string
	// enrolErr and welcomeErr are what the fakes answer.
	enrolErr, welcomeErr error
}

type enrolCall struct {
	userID string
	actor  store.Actor
}

// newFixture is a Service over db with fakes for Enrol (which records the
// member in the mirror, as the real one does) and Welcome.
func newFixture(t *testing.T, db *store.DB, perPerson, perIP int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: db, clock: testenv.NewClock(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))}
	if err := db.LoadDataCenter(ctx, dc, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.mirror, err = contacts.New(db, contacts.Options{}); err != nil {
		t.Fatal(err)
	}
	// T010 is a member already; another member holds T004's phone.
	if err := f.mirror.PutMembers(ctx, nil, []contacts.Member{
		{UserID: "T010", Name: "孙十", Departments: []contacts.Membership{{Department: 101}}, MainDepartment: 101, Enabled: true, Mobile: "13800138010"},
		{UserID: "X900", Name: "别人", Departments: []contacts.Membership{{Department: 101}}, MainDepartment: 101, Enabled: true, Mobile: "+86 137-0013-7000"},
	}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.svc, err = selfreg.New(selfreg.Options{
		DB: db, Mirror: f.mirror, Coord: coord.NewMemory(f.clock.Now), Now: f.clock.Now, PerPerson: perPerson, PerIP: perIP,
		Enrol: func(ctx context.Context, userID string, actor store.Actor) error {
			f.mu.Lock()
			f.enrols = append(f.enrols, enrolCall{userID, actor})
			err := f.enrolErr
			f.mu.Unlock()
			if err != nil {
				return err
			}
			return f.mirror.PutMembers(ctx, nil, []contacts.Member{{UserID: userID, Name: "x", Departments: []contacts.Membership{{Department: 101}},
				MainDepartment: 101, Enabled: true}}, time.Now())
		},
		Welcome: func(ctx context.Context, userID string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.welcome = append(f.welcome, userID)
			return f.welcomeErr
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) enrolled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.enrols {
		out = append(out, c.userID)
	}
	return out
}

// audit returns the self-registration rows of casUser, oldest first.
func (f *fixture) audit(t *testing.T, casUser string) []store.AuditEntry {
	t.Helper()
	rows, err := f.db.ListAudit(context.Background(), store.AuditFilter{Action: "selfreg.", Object: "selfreg/" + casUser, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

type auditAfter struct {
	Type, Result, Check, UserID, Name, Mobile, Error string
}

func after(t *testing.T, e store.AuditEntry) auditAfter {
	t.Helper()
	var a auditAfter
	if err := json.Unmarshal([]byte(e.After), &a); err != nil {
		t.Fatalf("audit after %q: %v", e.After, err)
	}
	return a
}

func refusal(t *testing.T, err error) *selfreg.Refusal {
	t.Helper()
	var r *selfreg.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("want a refusal, got %v", err)
	}
	if r.Message == "" || r.Advice == "" {
		t.Errorf("refusal %s says nothing: %+v", r.Check, r)
	}
	return r
}

func TestRegisterEnrolsWelcomesAndAudits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, 0, 0)
		res, err := f.svc.Register(context.Background(), selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: " 张三 ",
			Mobile: "+86 138-0013-8000", IP: "10.1.2.3", UserAgent: "test-agent"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Match.UserID != "T001" || res.Match.Name != "张三" || res.Match.Dept != "201" || !res.Welcomed {
			t.Errorf("result %+v", res)
		}
		if len(f.enrols) != 1 || f.enrols[0].userID != "T001" || f.enrols[0].actor != (store.Actor{UserID: "T001", IP: "10.1.2.3", UserAgent: "test-agent"}) {
			t.Errorf("Enrol calls %+v, want one for T001 by T001 from 10.1.2.3", f.enrols)
		}
		if len(f.welcome) != 1 || f.welcome[0] != "T001" {
			t.Errorf("welcomed %v", f.welcome)
		}
		rows := f.audit(t, "T001")
		if len(rows) != 1 || rows[0].Action != selfreg.ActionEnrolled || rows[0].Actor != "T001" || rows[0].IP != "10.1.2.3" {
			t.Fatalf("audit %+v", rows)
		}
		a := after(t, rows[0])
		if a.Result != "enrolled" || a.UserID != "T001" || a.Type != "faculty" || a.Mobile != "+86 138****8000" {
			t.Errorf("audit after %s", rows[0].After)
		}
		if strings.Contains(rows[0].After, "0013") || strings.Contains(rows[0].After, "13800138000") {
			t.Errorf("audit keeps the mobile: %s", rows[0].After)
		}

		// Registered: the next attempt is told to log in instead.
		_, err = f.svc.Register(context.Background(), selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张三", Mobile: "13800138000", IP: "10.1.2.3"})
		if r := refusal(t, err); r.Check != selfreg.CheckAlreadyMember {
			t.Errorf("second registration: %s", r.Check)
		}
		if len(f.enrolled()) != 1 {
			t.Errorf("enrolled twice: %v", f.enrolled())
		}
	})
}

func TestEachRefusalNamesItsCheck(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 100, 1000)
	for _, tc := range []struct {
		name  string
		a     selfreg.Attempt
		check string
		says  []string // in Message or Advice
	}{
		{"unknown staff number", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T999", Name: "张三", Mobile: "13800138000"}, selfreg.CheckUnknownID, []string{"工号 T999", "人事处"}},
		{"unknown student number", selfreg.Attempt{Type: selfreg.Student, CASUser: "S999", Name: "李四", Mobile: "13900139000"}, selfreg.CheckUnknownID, []string{"学号 S999", "教务"}},
		{"a student who chose staff", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "S001", Name: "李四", Mobile: "13900139000"}, selfreg.CheckTypeMismatch, []string{"我是学生"}},
		{"staff who chose student", selfreg.Attempt{Type: selfreg.Student, CASUser: "T001", Name: "张三", Mobile: "13800138000"}, selfreg.CheckTypeMismatch, []string{"我是教职工"}},
		{"a leaver", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T002", Name: "王五", Mobile: "13800138002"}, selfreg.CheckInactive, []string{"离职", "人事处"}},
		{"a graduate", selfreg.Attempt{Type: selfreg.Student, CASUser: "S002", Name: "周八", Mobile: "13900139002"}, selfreg.CheckInactive, []string{"毕业", "校友"}},
		{"another name", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张珊", Mobile: "13800138000"}, selfreg.CheckNameMismatch, []string{"姓名", "人事处"}},
		{"another department", selfreg.Attempt{Type: selfreg.Student, CASUser: "S001", Name: "李四", Mobile: "13900139000", DeptCode: "201"}, selfreg.CheckDepartmentMismatch, []string{"201", "教务"}},
		{"a member already", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T010", Name: "孙十", Mobile: "13800138010"}, selfreg.CheckAlreadyMember, []string{"138****8010", "微信插件"}},
		{"a member who mistypes", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T010", Name: "孙石", Mobile: "13811112222"}, selfreg.CheckAlreadyMember, []string{"登录企业微信"}},
		{"another phone", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张三", Mobile: "13811112222"}, selfreg.CheckPhoneDiffers, []string{"138****8000", "人事处", "第二天"}},
		{"a student with another phone", selfreg.Attempt{Type: selfreg.Student, CASUser: "S001", Name: "李四", Mobile: "13811112222"}, selfreg.CheckPhoneDiffers, []string{"139****9000", "学院"}},
		{"no phone on record", selfreg.Attempt{Type: selfreg.Student, CASUser: "S003", Name: "吴九", Mobile: "13811112222"}, selfreg.CheckPhoneDiffers, []string{"没有登记"}},
		{"a phone another member holds", selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T004", Name: "赵六", Mobile: "13700137000"}, selfreg.CheckPhoneTaken, []string{"另一位成员"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.enrolled())
			tc.a.IP = "10.9.9.9"
			_, err := f.svc.Register(context.Background(), tc.a)
			r := refusal(t, err)
			if r.Check != tc.check {
				t.Fatalf("check %s (%s), want %s", r.Check, r.Message, tc.check)
			}
			for _, s := range tc.says {
				if !strings.Contains(r.Message+r.Advice, s) {
					t.Errorf("%s does not say %q: %s / %s", r.Check, s, r.Message, r.Advice)
				}
			}
			if len(f.enrolled()) != before {
				t.Errorf("refused, yet enrolled %v", f.enrolled())
			}
			rows := f.audit(t, tc.a.CASUser)
			last := rows[len(rows)-1]
			if a := after(t, last); last.Action != selfreg.ActionAttempt || a.Result != "refused" || a.Check != tc.check || last.IP != "10.9.9.9" {
				t.Errorf("audit row %s %s", last.Action, last.After)
			}
		})
	}
}

func TestNamesAndPhonesAsPeopleTypeThem(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 100, 1000)
	for _, a := range []selfreg.Attempt{
		{Type: selfreg.Faculty, CASUser: "T003", Name: "买买提.艾力", Mobile: "138 0013 8003"},
		{Type: selfreg.Faculty, CASUser: "T005", Name: "钱 七", Mobile: "+8613800138005"},                 // retired staff stay members
		{Type: selfreg.Student, CASUser: "S004", Name: "郑十一", Mobile: "139-0013-9004", DeptCode: "101"}, // suspended, no class
	} {
		res, err := f.svc.Register(context.Background(), a)
		if err != nil {
			t.Errorf("%s: %v", a.CASUser, err)
			continue
		}
		if res.Match.UserID != a.CASUser {
			t.Errorf("%s enrolled as %s", a.CASUser, res.Match.UserID)
		}
	}
	if got := f.enrolled(); strings.Join(got, ",") != "T003,T005,S004" {
		t.Errorf("enrolled %v", got)
	}
	m, err := f.svc.Check(context.Background(), selfreg.Attempt{Type: selfreg.Student, CASUser: "S001", Name: "李四", Mobile: "13900139000"})
	if err != nil || m.Dept != "10101" {
		t.Errorf("Check S001 = %+v, %v; want placed in class 10101", m, err)
	}
}

func TestRateLimitPerPerson(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 3, 100)
	ctx := context.Background()
	wrong := selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张珊", Mobile: "13800138000", IP: "10.0.0.1"}
	for i := 0; i < 3; i++ {
		if _, err := f.svc.Register(ctx, wrong); refusal(t, err).Check != selfreg.CheckNameMismatch {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	right := wrong
	right.Name, right.IP = "张三", "10.0.0.2" // another network does not help
	_, err := f.svc.Register(ctx, right)
	r := refusal(t, err)
	if r.Check != selfreg.CheckRateLimited || r.RetryAfter <= 0 || !strings.Contains(r.Message, "3 次") || !strings.Contains(r.Advice, "分钟") {
		t.Fatalf("fourth attempt: %+v", r)
	}
	if len(f.enrolled()) != 0 {
		t.Fatal("enrolled while rate limited")
	}
	// Someone else is not limited by T001's attempts.
	if _, err := f.svc.Register(ctx, selfreg.Attempt{Type: selfreg.Student, CASUser: "S001", Name: "李四", Mobile: "13900139000", IP: "10.0.0.1"}); err != nil {
		t.Fatalf("another person: %v", err)
	}
	// The allowance refills over the hour: one attempt per 20 minutes.
	f.clock.Advance(r.RetryAfter)
	if _, err := f.svc.Register(ctx, right); err != nil {
		t.Fatalf("after %s: %v", r.RetryAfter, err)
	}
	rows := f.audit(t, "T001")
	if len(rows) != 5 || after(t, rows[3]).Check != selfreg.CheckRateLimited || rows[4].Action != selfreg.ActionEnrolled {
		t.Errorf("audit: %d rows, want 3 name mismatches, a rate limit and the enrolment", len(rows))
	}
}

func TestRateLimitPerIP(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 100, 2)
	ctx := context.Background()
	for _, id := range []string{"T999", "T998"} {
		_, err := f.svc.Register(ctx, selfreg.Attempt{Type: selfreg.Faculty, CASUser: id, Name: "某", Mobile: "13800138000", IP: "10.0.0.9"})
		if refusal(t, err).Check != selfreg.CheckUnknownID {
			t.Fatal(err)
		}
	}
	_, err := f.svc.Register(ctx, selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张三", Mobile: "13800138000", IP: "10.0.0.9"})
	if r := refusal(t, err); r.Check != selfreg.CheckRateLimited || !strings.Contains(r.Message, "网络") {
		t.Fatalf("third attempt from the IP: %+v", r)
	}
	if _, err := f.svc.Register(ctx, selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张三", Mobile: "13800138000", IP: "10.0.0.10"}); err != nil {
		t.Fatalf("from another IP: %v", err)
	}
}

func TestWelcomeFailureKeepsTheEnrolment(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0, 0)
	f.welcomeErr = errors.New("wecom: 81013 user not found")
	res, err := f.svc.Register(context.Background(), selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张三", Mobile: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Welcomed || !strings.Contains(res.WelcomeError, "81013") || len(f.enrolled()) != 1 {
		t.Errorf("result %+v, enrolled %v", res, f.enrolled())
	}
	if rows := f.audit(t, "T001"); len(rows) != 1 || rows[0].Action != selfreg.ActionEnrolled {
		t.Errorf("audit %+v", rows)
	}
}

func TestEnrolFailures(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0, 0)
	ctx := context.Background()
	a := selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张三", Mobile: "13800138000"}
	f.enrolErr = &selfreg.Refusal{Check: selfreg.CheckPhoneTaken, Message: "企业微信里已有成员使用这个手机号。", Advice: "请联系服务台。"}
	if _, err := f.svc.Register(ctx, a); refusal(t, err).Check != selfreg.CheckPhoneTaken {
		t.Fatalf("Enrol's refusal: %v", err)
	}
	boom := errors.New("wecom: -1 system busy")
	f.enrolErr = boom
	_, err := f.svc.Register(ctx, a)
	var r *selfreg.Refusal
	if !errors.Is(err, boom) || errors.As(err, &r) {
		t.Fatalf("Enrol's failure: %v", err)
	}
	if len(f.welcome) != 0 {
		t.Error("welcomed without an enrolment")
	}
	rows := f.audit(t, "T001")
	if len(rows) != 2 || after(t, rows[0]).Check != selfreg.CheckPhoneTaken || after(t, rows[1]).Result != "failed" ||
		!strings.Contains(after(t, rows[1]).Error, "system busy") {
		t.Errorf("audit %v", rows)
	}
}

func TestDoubleSubmitEnrolsOnce(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0, 0)
	a := selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张三", Mobile: "13800138000"}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.Register(context.Background(), a)
		}()
	}
	wg.Wait()
	if got := f.enrolled(); len(got) != 1 {
		t.Fatalf("enrolled %v, want once", got)
	}
	var r *selfreg.Refusal
	if (errs[0] == nil) == (errs[1] == nil) || !(errors.As(errs[0], &r) || errors.As(errs[1], &r)) || r.Check != selfreg.CheckAlreadyMember {
		t.Errorf("results %v, %v: want one enrolment and one already_member", errs[0], errs[1])
	}
}

func TestInvalidAttempts(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0, 0)
	for _, a := range []selfreg.Attempt{
		{Type: "alumnus", CASUser: "T001", Name: "张三", Mobile: "13800138000"},
		{Type: selfreg.Faculty, CASUser: " ", Name: "张三", Mobile: "13800138000"},
	} {
		if _, err := f.svc.Register(context.Background(), a); !errors.Is(err, selfreg.ErrInvalidAttempt) {
			t.Errorf("%+v: %v", a, err)
		}
	}
	if len(f.enrolled()) != 0 {
		t.Error("enrolled an invalid attempt")
	}
}

// TestLimitsHoldAcrossInstances: two instances over one Redis share each
// person's allowance, so moving between them (a load balancer) does not
// give anyone more attempts.
func TestLimitsHoldAcrossInstances(t *testing.T) {
	addr := testenv.RedisAddr(t)
	db := storetest.SQLite(t)
	f := newFixture(t, db, 0, 0)
	prefix := "selfregtest:" + rand.Text() + ":"
	var svcs []*selfreg.Service
	for range 2 {
		co := coord.NewRedis(coord.RedisOptions{Addr: addr, Prefix: prefix})
		t.Cleanup(func() { co.Close() })
		svc, err := selfreg.New(selfreg.Options{DB: db, Mirror: f.mirror, Coord: co, PerPerson: 3,
			Enrol: func(ctx context.Context, userID string, actor store.Actor) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	wrong := selfreg.Attempt{Type: selfreg.Faculty, CASUser: "T001", Name: "张珊", Mobile: "13800138000", IP: "10.0.0.1"}
	for i, svc := range []*selfreg.Service{svcs[0], svcs[1], svcs[0]} {
		if _, err := svc.Register(context.Background(), wrong); refusal(t, err).Check != selfreg.CheckNameMismatch {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if _, err := svcs[1].Register(context.Background(), wrong); refusal(t, err).Check != selfreg.CheckRateLimited {
		t.Fatalf("fourth attempt, on the other instance: %v", err)
	}
}
