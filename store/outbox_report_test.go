package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// A broadcast draft: saved once per form, never sent on its author's
// word, decided once.
func TestMessageDrafts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		audit := func(by, action string) store.AuditEntry {
			e, err := store.Audit(store.Actor{UserID: by, IP: "10.0.0.8"}, action, "message/draft", nil, map[string]int{"members": 1500}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		d := store.MessageDraft{CreatedBy: "admin01", CreatedAt: store.Millis(time.Now()), FormToken: "0123456789abcdef0123456789abcdef",
			Summary: "全校停电通知", Message: `{"msgtype":"text"}`, Reach: 1500}
		id, dup, err := db.InsertMessageDraft(ctx, d, audit("admin01", "message.draft"))
		if err != nil || dup {
			t.Fatalf("insert: %d %v %v", id, dup, err)
		}
		again, dup, err := db.InsertMessageDraft(ctx, d, audit("admin01", "message.draft"))
		if err != nil || !dup || again != id {
			t.Fatalf("the same form again: %d %v %v, want draft %d as a duplicate", again, dup, err, id)
		}
		other := d
		other.CreatedBy = "admin02" // another admin's form with the same token is their own
		if oid, dup, err := db.InsertMessageDraft(ctx, other, audit("admin02", "message.draft")); err != nil || dup || oid == id {
			t.Fatalf("another admin's draft: %d %v %v", oid, dup, err)
		}
		if rows, _ := db.ListAudit(ctx, store.AuditFilter{Action: "message.draft"}); len(rows) != 2 {
			t.Errorf("draft audit rows: %d, want 2 (the duplicate writes none)", len(rows))
		}

		if ok, err := db.DecideMessageDraft(ctx, id, store.DraftSent, "admin01", store.Millis(time.Now()), 7, audit("admin01", "message.approve")); err != nil || ok {
			t.Fatalf("the author's own approval: %v %v, want refused", ok, err)
		}
		if ok, err := db.DecideMessageDraft(ctx, id, store.DraftSent, "admin03", store.Millis(time.Now()), 7, audit("admin03", "message.approve")); err != nil || !ok {
			t.Fatalf("another admin's approval: %v %v", ok, err)
		}
		if ok, err := db.DecideMessageDraft(ctx, id, store.DraftRejected, "admin02", store.Millis(time.Now()), 0, audit("admin02", "message.reject")); err != nil || ok {
			t.Fatalf("rejecting a sent draft: %v %v, want no change", ok, err)
		}
		got, err := db.GetMessageDraft(ctx, id)
		if err != nil || got.State != store.DraftSent || got.DecidedBy != "admin03" || got.MessageID != 7 {
			t.Fatalf("the draft: %+v %v", got, err)
		}
		if rows, _ := db.ListAudit(ctx, store.AuditFilter{Action: "message.approve"}); len(rows) != 1 || rows[0].Actor != "admin03" {
			t.Errorf("approval audit rows: %+v, want admin03's only", rows)
		}
		if rows, _ := db.ListAudit(ctx, store.AuditFilter{Action: "message.reject"}); len(rows) != 0 {
			t.Errorf("a refused decision was audited: %+v", rows)
		}
		pending, err := db.MessageDrafts(ctx, store.DraftPending, 0)
		if err != nil || len(pending) != 1 || pending[0].CreatedBy != "admin02" {
			t.Errorf("pending drafts: %+v %v", pending, err)
		}
	})
}
