package store_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// TestHallStore: versions are numbered per key, an application's values
// and an off-campus mobile are sealed at rest and found by the mobile,
// and every state change happens once however often it is asked for.
func TestHallStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, want := range []int{1, 2} {
			v, err := db.PublishHallProcess(ctx, store.HallProcess{Key: "vpn_open", Owner: "XXZX", Name: "VPN", Definition: "{}", PublishedBy: "T1", PublishedAt: int64(i)}, nil)
			if err != nil || v != want {
				t.Fatalf("publish %d: version %d, %v", i, v, err)
			}
		}
		if p, err := db.GetHallProcess(ctx, "vpn_open", 0); err != nil || p.Version != 2 {
			t.Fatalf("latest: %+v %v", p, err)
		}
		if ps, err := db.LatestHallProcesses(ctx); err != nil || len(ps) != 1 || ps[0].Version != 2 {
			t.Fatalf("latest list: %+v %v", ps, err)
		}

		const idNumber, mobile = "11010519491231002X", "+8613912345678"
		id, err := db.InsertHallApplication(ctx, nil, store.HallApplication{ProcessKey: "vpn_open", Version: 2, ApplicantMobile: mobile,
			ApplicantName: "访客", ApplicantKind: "offcampus", Applicant: "{}", Values: []byte(`{"id":"` + idNumber + `"}`), State: "submitted", StepID: "s1", CreatedAt: 10})
		if err != nil {
			t.Fatal(err)
		}
		storetest.NoPlaintext(t, db, "hall_applications", idNumber, "13912345678")
		a, err := db.GetHallApplication(ctx, nil, id)
		if err != nil || a.ApplicantMobile != mobile || string(a.Values) != `{"id":"`+idNumber+`"}` {
			t.Fatalf("read back: %+v %v", a, err)
		}
		if as, err := db.HallApplicationsOf(ctx, "", "13912345678"); err != nil || len(as) != 1 || as[0].ID != id {
			t.Fatalf("by mobile: %+v %v", as, err)
		}
		if as, _ := db.HallApplicationsOf(ctx, "", "13900000000"); len(as) != 0 {
			t.Fatalf("another mobile finds %d", len(as))
		}

		var tid int64
		if err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
			if err := db.LockHallApplication(ctx, tx, id, 11); err != nil {
				return err
			}
			var err error
			tid, err = db.InsertHallTask(ctx, tx, store.HallTask{ApplicationID: id, Round: 1, StepID: "s1", Assignee: "T1", Origin: "resolved", State: "open", OpenedAt: 11, DueAt: 100, NextRemindAt: 50})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// A decision happens once.
		for i, want := range []bool{true, false} {
			ok, err := db.DecideHallTask(ctx, nil, tid, "approved", "T1", "好", 20)
			if err != nil || ok != want {
				t.Fatalf("decide %d: %v %v", i, ok, err)
			}
		}
		if ok, _ := db.SetHallApplicationState(ctx, nil, id, []string{"submitted"}, "approved", "", 21, 21); !ok {
			t.Fatal("approve")
		}
		if ok, _ := db.SetHallApplicationState(ctx, nil, id, []string{"submitted"}, "rejected", "", 22, 22); ok {
			t.Fatal("an approved application was rejected")
		}
		// Reminders and escalation are claimed once.
		t2, _ := db.InsertHallTask(ctx, nil, store.HallTask{ApplicationID: id, Round: 1, StepID: "s2", Assignee: "T2", Origin: "resolved", State: "open", OpenedAt: 30, DueAt: 100, NextRemindAt: 50})
		due, err := db.DueHallReminders(ctx, 60)
		if err != nil || len(due) != 1 || due[0].ID != t2 {
			t.Fatalf("due reminders: %+v %v", due, err)
		}
		if ok, _ := db.BumpHallReminder(ctx, t2, 50, 80); !ok {
			t.Fatal("bump")
		}
		if ok, _ := db.BumpHallReminder(ctx, t2, 50, 80); ok {
			t.Fatal("a reminder claimed twice")
		}
		if over, _ := db.OverdueHallTasks(ctx, 100); len(over) != 1 {
			t.Fatalf("overdue: %+v", over)
		}
		for i, want := range []bool{true, false} {
			if ok, _ := db.MarkHallEscalated(ctx, nil, t2); ok != want {
				t.Fatalf("escalate %d: %v", i, ok)
			}
		}

		// A card's code: kept once, spent once, never taken again.
		if ok, err := db.InsertHallCard(ctx, store.HallCard{TaskID: tid, UserID: "T1", MessageID: 7, UpdatedAt: 1}); err != nil || !ok {
			t.Fatalf("card: %v %v", ok, err)
		}
		if ok, _ := db.InsertHallCard(ctx, store.HallCard{TaskID: tid, UserID: "T1", MessageID: 8, UpdatedAt: 1}); ok {
			t.Fatal("a second card for one task")
		}
		if p, _ := db.PendingHallCards(ctx); len(p) != 1 {
			t.Fatalf("pending cards: %+v", p)
		}
		if ok, _ := db.SetHallCardCode(ctx, tid, "code1", 2); !ok {
			t.Fatal("set code")
		}
		if ok, _ := db.SpendHallCardCode(ctx, tid, "code1", true, "已同意（张三）", 3); !ok {
			t.Fatal("spend")
		}
		if ok, _ := db.SpendHallCardCode(ctx, tid, "code1", true, "已同意（张三）", 3); ok {
			t.Fatal("spent twice")
		}
		if ok, _ := db.SetHallCardCode(ctx, tid, "code1", 4); ok {
			t.Fatal("a spent code taken again")
		}
		c, err := db.GetHallCard(ctx, tid)
		if err != nil || c.State != store.HallCardFinal || c.FinalText != "已同意（张三）" || c.ResponseCode != "" {
			t.Fatalf("card: %+v %v", c, err)
		}
		if p, _ := db.PendingHallCards(ctx); len(p) != 0 {
			t.Fatalf("pending cards after: %+v", p)
		}
		if err := db.InsertHallAction(ctx, nil, store.HallAction{ApplicationID: id, TaskID: tid, Actor: "T1", Action: "approve", At: 20}); err != nil {
			t.Fatal(err)
		}
		if as, err := db.HallActions(ctx, id); err != nil || len(as) != 1 || as[0].Action != "approve" {
			t.Fatalf("actions: %+v %v", as, err)
		}
		if n, err := db.HallOverdueByProcess(ctx, 200); err != nil || n["vpn_open"] != 1 {
			t.Fatalf("overdue by process: %v %v", n, err)
		}
	})
}
