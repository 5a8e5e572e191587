package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func TestAdminGrantsRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		for _, g := range []store.AdminGrant{
			{UserID: "T1001", Role: "super", GrantedBy: "system", GrantedAt: at},
			{UserID: "T2001", Role: "dept_admin", Depts: []string{"0301", "0302"}, GrantedBy: "T1001", GrantedAt: at.Add(time.Minute)},
			{UserID: "T2001", Role: "sender", GrantedBy: "T1001", GrantedAt: at.Add(2 * time.Minute)},
		} {
			if err := db.UpsertGrant(ctx, nil, g); err != nil {
				t.Fatal(err)
			}
		}
		all, err := db.ListGrants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[0].UserID != "T1001" || all[1].Role != "dept_admin" || all[2].Role != "sender" {
			t.Fatalf("ListGrants = %+v", all)
		}
		if !reflect.DeepEqual(all[1].Depts, []string{"0301", "0302"}) || !all[1].GrantedAt.Equal(at.Add(time.Minute)) || all[1].GrantedBy != "T1001" {
			t.Errorf("dept admin grant read back as %+v", all[1])
		}
		if all[0].Depts != nil {
			t.Errorf("super grant has depts %q, want none", all[0].Depts)
		}

		// Granting again replaces the depts: one row per (userid, role).
		if err := db.UpsertGrant(ctx, nil, store.AdminGrant{UserID: "T2001", Role: "dept_admin", Depts: []string{"0401"}, GrantedBy: "T1002", GrantedAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		mine, err := db.GrantsOf(ctx, "T2001")
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != 2 || !reflect.DeepEqual(mine[0].Depts, []string{"0401"}) || mine[0].GrantedBy != "T1002" {
			t.Errorf("GrantsOf after re-grant = %+v", mine)
		}
		if none, err := db.GrantsOf(ctx, "S2024001"); err != nil || len(none) != 0 {
			t.Errorf("GrantsOf a non-admin = %+v, %v; want none", none, err)
		}

		g, err := db.GetGrant(ctx, nil, "T2001", "sender")
		if err != nil || g.Role != "sender" {
			t.Errorf("GetGrant = %+v, %v", g, err)
		}
		if _, err := db.GetGrant(ctx, nil, "T2001", "auditor"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetGrant of a role not held: %v, want ErrNotFound", err)
		}

		if n, err := db.CountRole(ctx, nil, "super"); err != nil || n != 1 {
			t.Errorf("CountRole(super) = %d, %v; want 1", n, err)
		}
		err = db.WithTx(ctx, func(tx *sqlx.Tx) error {
			ok, err := db.DeleteGrant(ctx, tx, "T2001", "sender")
			if err != nil || !ok {
				t.Errorf("DeleteGrant = %v, %v; want it deleted", ok, err)
			}
			n, err := db.CountRole(ctx, tx, "sender")
			if err != nil || n != 0 {
				t.Errorf("CountRole(sender) in the deleting tx = %d, %v; want 0", n, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := db.DeleteGrant(ctx, nil, "T2001", "sender"); err != nil || ok {
			t.Errorf("deleting again = %v, %v; want nothing deleted", ok, err)
		}
		if err := db.UpsertGrant(ctx, nil, store.AdminGrant{Role: "super"}); err == nil {
			t.Error("a grant without userid was stored")
		}
	})
}

func TestUnknownDepartments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		err := db.LoadDataCenter(ctx, store.DataCenter{Departments: []store.DCDepartment{
			{Code: "03", Name: "计算机学院", Kind: "college", Enabled: true},
			{Code: "0301", Name: "软件工程系", ParentCode: "03", Kind: "office", Enabled: true},
		}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.UnknownDepartments(ctx, []string{"0301", "9999", "03", "03x"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, []string{"9999", "03x"}) {
			t.Errorf("UnknownDepartments = %q, want [9999 03x]", got)
		}
		if got, err := db.UnknownDepartments(ctx, nil); err != nil || got != nil {
			t.Errorf("UnknownDepartments(nil) = %q, %v", got, err)
		}
	})
}
