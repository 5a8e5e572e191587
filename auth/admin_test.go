package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

var ctx = context.Background()

// adminsOn returns Admins over db, whose data center knows departments 03
// (a college) and 0301, 0302 (its offices).
func adminsOn(t *testing.T, db *store.DB) (*auth.Admins, *clock) {
	t.Helper()
	err := db.LoadDataCenter(ctx, store.DataCenter{Departments: []store.DCDepartment{
		{Code: "03", Name: "计算机科学与工程学院", Kind: "college", Enabled: true},
		{Code: "0301", Name: "软件工程系", ParentCode: "03", Kind: "office", Enabled: true},
		{Code: "0302", Name: "网络工程系", ParentCode: "03", Kind: "office", Enabled: true},
	}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	return auth.NewAdmins(db, clk.Now), clk
}

func newTestClock() *clock { return testenv.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) }

func audits(t *testing.T, db *store.DB, action string) []store.AuditEntry {
	t.Helper()
	es, err := db.ListAudit(ctx, store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestGrantAndRevokeAreAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, clk := adminsOn(t, db)
		boss := store.Actor{UserID: "T0001", IP: "10.1.2.3", UserAgent: "Chrome"}
		g := auth.Grant{UserID: "T2001", Role: auth.AdminDept, Depts: []string{"0301", " 0302", "0301"}}
		if err := a.Grant(ctx, boss, g); err != nil {
			t.Fatal(err)
		}
		got, err := a.Grants(ctx, "T2001")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0].Depts, []string{"0301", "0302"}) || got[0].GrantedBy != "T0001" ||
			!got[0].GrantedAt.Equal(clk.Now()) {
			t.Fatalf("Grants = %+v, want dept_admin of 0301, 0302 granted by T0001 now", got)
		}
		es := audits(t, db, "admin.grant")
		if len(es) != 1 {
			t.Fatalf("%d admin.grant audit rows, want 1", len(es))
		}
		e := es[0]
		if e.Actor != "T0001" || e.IP != "10.1.2.3" || e.UserAgent != "Chrome" || e.Object != "admin/T2001/dept_admin" || e.Before != "null" {
			t.Errorf("audit row = %+v", e)
		}
		var after auth.Grant
		if err := json.Unmarshal([]byte(e.After), &after); err != nil || !reflect.DeepEqual(after.Depts, []string{"0301", "0302"}) {
			t.Errorf("audit after = %s (%v), want the grant with its departments", e.After, err)
		}

		// A second grant of the role replaces its departments; the audit
		// row shows what they were.
		clk.Advance(time.Hour)
		if err := a.Grant(ctx, boss, auth.Grant{UserID: "T2001", Role: auth.AdminDept, Depts: []string{"03"}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.Grants(ctx, "T2001"); len(got) != 1 || !reflect.DeepEqual(got[0].Depts, []string{"03"}) {
			t.Errorf("after re-grant: %+v, want departments [03]", got)
		}
		es = audits(t, db, "admin.grant")
		var before auth.Grant
		if len(es) != 2 || json.Unmarshal([]byte(es[0].Before), &before) != nil || !reflect.DeepEqual(before.Depts, []string{"0301", "0302"}) {
			t.Errorf("re-grant audit = %+v, want before with the old departments", es)
		}

		if err := a.Revoke(ctx, boss, "T2001", auth.AdminDept); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.Grants(ctx, "T2001"); len(got) != 0 {
			t.Errorf("after revoke: %+v, want none", got)
		}
		es = audits(t, db, "admin.revoke")
		if len(es) != 1 || es[0].After != "null" || json.Unmarshal([]byte(es[0].Before), &before) != nil || before.Role != auth.AdminDept {
			t.Errorf("revoke audit = %+v", es)
		}
		if err := a.Revoke(ctx, boss, "T2001", auth.AdminDept); !errors.Is(err, auth.ErrNoGrant) {
			t.Errorf("revoking a grant not held: %v, want ErrNoGrant", err)
		}
	})
}

func TestGrantRefusesWhatMakesNoSense(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := adminsOn(t, db)
		boss := store.Actor{UserID: "T0001"}
		for name, c := range map[string]struct {
			g     auth.Grant
			want  error
			field string
		}{
			"unknown role":        {auth.Grant{UserID: "T2001", Role: "root"}, auth.ErrUnknownAdminRole, "role"},
			"dept admin no depts": {auth.Grant{UserID: "T2001", Role: auth.AdminDept}, auth.ErrBadGrant, "depts"},
			"only blank depts":    {auth.Grant{UserID: "T2001", Role: auth.AdminDept, Depts: []string{" ", ""}}, auth.ErrBadGrant, "depts"},
			"unknown dept":        {auth.Grant{UserID: "T2001", Role: auth.AdminDept, Depts: []string{"0301", "9999"}}, auth.ErrBadGrant, "depts"},
			"comma in dept":       {auth.Grant{UserID: "T2001", Role: auth.AdminDept, Depts: []string{"0301,0302"}}, auth.ErrBadGrant, "depts"},
			"depts on sender":     {auth.Grant{UserID: "T2001", Role: auth.AdminSender, Depts: []string{"0301"}}, auth.ErrBadGrant, "depts"},
			"no userid":           {auth.Grant{Role: auth.AdminAuditor}, auth.ErrBadGrant, "userid"},
			"space in userid":     {auth.Grant{UserID: "T 2001", Role: auth.AdminAuditor}, auth.ErrBadGrant, "userid"},
		} {
			err := a.Grant(ctx, boss, c.g)
			var ge *auth.GrantError
			if !errors.Is(err, c.want) || !errors.As(err, &ge) || ge.Field != c.field || ge.Msg == "" {
				t.Errorf("%s: Grant(%+v) = %v, want %v on field %s", name, c.g, err, c.want, c.field)
			}
		}
		var ge *auth.GrantError
		if err := a.Grant(ctx, boss, auth.Grant{UserID: "T2001", Role: auth.AdminDept, Depts: []string{"0301", "9999"}}); !errors.As(err, &ge) || !strings.Contains(ge.Msg, "9999") {
			t.Errorf("unknown department: %v, want a message naming 9999", err)
		}
		if err := a.Grant(ctx, store.Actor{}, auth.Grant{UserID: "T2001", Role: auth.AdminAuditor}); err == nil {
			t.Error("a grant without an actor was accepted")
		}
		if err := a.Revoke(ctx, boss, "T2001", "root"); !errors.Is(err, auth.ErrUnknownAdminRole) {
			t.Errorf("Revoke of an unknown role: %v", err)
		}
		if all, _ := a.List(ctx); len(all) != 0 {
			t.Errorf("refused grants were stored: %+v", all)
		}
		if es := audits(t, db, "admin."); len(es) != 0 {
			t.Errorf("refused grants were audited: %+v", es)
		}
	})
}

func TestLastSuperAdminCannotBeRevoked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := adminsOn(t, db)
		if err := a.Bootstrap(ctx, []string{" T0001 ", "", "T0001"}); err != nil {
			t.Fatal(err)
		}
		if es := audits(t, db, "admin.grant"); len(es) != 1 || es[0].Actor != auth.SystemActor || es[0].Object != "admin/T0001/super" {
			t.Fatalf("bootstrap audit = %+v, want one grant by system", es)
		}
		// Bootstrap at every start: nothing new once granted.
		if err := a.Bootstrap(ctx, []string{"T0001"}); err != nil {
			t.Fatal(err)
		}
		if es := audits(t, db, "admin.grant"); len(es) != 1 {
			t.Errorf("second bootstrap wrote %d audit rows, want none new", len(es)-1)
		}
		me := store.Actor{UserID: "T0001"}
		err := a.Revoke(ctx, me, "T0001", auth.AdminSuper)
		var ge *auth.GrantError
		if !errors.Is(err, auth.ErrLastSuperAdmin) || !errors.As(err, &ge) || !strings.Contains(ge.Msg, "only super admin") {
			t.Fatalf("revoking the only super admin: %v, want ErrLastSuperAdmin saying why", err)
		}
		if err := a.Grant(ctx, me, auth.Grant{UserID: "T0002", Role: auth.AdminSuper}); err != nil {
			t.Fatal(err)
		}
		if err := a.Revoke(ctx, me, "T0001", auth.AdminSuper); err != nil {
			t.Fatalf("revoking one of two super admins: %v", err)
		}
		if err := a.Revoke(ctx, me, "T0002", auth.AdminSuper); !errors.Is(err, auth.ErrLastSuperAdmin) {
			t.Errorf("revoking the remaining super admin: %v, want ErrLastSuperAdmin", err)
		}
		if err := a.Revoke(ctx, me, "T0001", auth.AdminSuper); !errors.Is(err, auth.ErrNoGrant) {
			t.Errorf("revoking a super grant not held: %v, want ErrNoGrant", err)
		}
	})
}

// TestConcurrentRevokesKeepASuperAdmin: two admins revoke each other at
// the same moment; one must lose.
func TestConcurrentRevokesKeepASuperAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := adminsOn(t, db)
		if err := a.Bootstrap(ctx, []string{"T0001", "T0002"}); err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 5; round++ {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, u := range []string{"T0001", "T0002"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = a.Revoke(ctx, store.Actor{UserID: u}, u, auth.AdminSuper)
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, auth.ErrLastSuperAdmin):
					t.Fatalf("round %d: revoke failed otherwise: %v", round, err)
				}
			}
			if n, err := db.CountRole(ctx, nil, auth.AdminSuper); err != nil || n != 1 || ok != 1 {
				t.Fatalf("round %d: %d revokes succeeded, %d super admins left (%v); want 1 and 1", round, ok, n, err)
			}
			if err := a.Bootstrap(ctx, []string{"T0001", "T0002"}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestGrantCommitsWithItsAuditRow: when the audit row cannot be written,
// the grant is not made either.
func TestGrantCommitsWithItsAuditRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, _ := adminsOn(t, db)
		if _, err := db.ExecContext(ctx, "DROP TABLE audit_log"); err != nil {
			t.Fatal(err)
		}
		if err := a.Grant(ctx, store.Actor{UserID: "T0001"}, auth.Grant{UserID: "T3001", Role: auth.AdminAuditor}); err == nil {
			t.Fatal("Grant succeeded without an audit log")
		}
		if gs, err := a.Grants(ctx, "T3001"); err != nil || len(gs) != 0 {
			t.Errorf("grant stored without its audit row: %+v, %v", gs, err)
		}
	})
}

func TestAllowedAndScope(t *testing.T) {
	super := auth.Grant{UserID: "a", Role: auth.AdminSuper}
	dept := auth.Grant{UserID: "b", Role: auth.AdminDept, Depts: []string{"0301"}}
	dept2 := auth.Grant{UserID: "b", Role: auth.AdminDept, Depts: []string{"0302", "0301"}}
	sender := auth.Grant{UserID: "c", Role: auth.AdminSender}
	auditor := auth.Grant{UserID: "d", Role: auth.AdminAuditor}
	all := []auth.Perm{auth.PermWorkbench, auth.PermRoles, auth.PermGrants, auth.PermAudit, auth.PermContent, auth.PermMessage, auth.PermContacts}
	want := map[string][]auth.Perm{
		"super":   all,
		"dept":    {auth.PermWorkbench, auth.PermContent},
		"sender":  {auth.PermMessage},
		"auditor": {auth.PermAudit},
		"none":    nil,
	}
	holders := map[string][]auth.Grant{"super": {super}, "dept": {dept}, "sender": {sender}, "auditor": {auditor}, "none": nil}
	for name, gs := range holders {
		for _, p := range all {
			allowed := false
			for _, w := range want[name] {
				allowed = allowed || w == p
			}
			if got := auth.Allowed(gs, p); got != allowed {
				t.Errorf("Allowed(%s, %s) = %v, want %v", name, p, got, allowed)
			}
		}
	}
	if !auth.Allowed([]auth.Grant{sender, auditor}, auth.PermAudit) {
		t.Error("sender+auditor cannot read the audit log")
	}
	if all, depts := auth.Scope([]auth.Grant{dept, dept2}, auth.PermWorkbench); all || !reflect.DeepEqual(depts, []string{"0301", "0302"}) {
		t.Errorf("Scope(dept admin) = %v %q, want departments 0301, 0302 only", all, depts)
	}
	if all, _ := auth.Scope([]auth.Grant{dept, super}, auth.PermWorkbench); !all {
		t.Error("Scope(dept admin + super) is not everything")
	}
	if all, depts := auth.Scope([]auth.Grant{dept}, auth.PermMessage); all || depts != nil {
		t.Errorf("Scope(dept admin, message) = %v %q, want nothing", all, depts)
	}
	if all, _ := auth.Scope([]auth.Grant{auditor}, auth.PermAudit); !all {
		t.Error("an auditor reads only part of the audit log")
	}
}
