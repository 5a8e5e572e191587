package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func claimedIDs(rows []store.NativeTile) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.UserID
	}
	return out
}

func nativeTile(t *testing.T, db *store.DB, id string) store.NativeTile {
	t.Helper()
	tile, err := db.GetNativeTile(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tile
}

// TestNativeTilesTouchClaimPush: touches coalesce into one dirty row, a
// claim takes it, and a push settles it; a touch during the round keeps it
// dirty so the newer figures are pushed too.
func TestNativeTilesTouchClaimPush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 3 {
			if err := db.TouchNativeTiles(ctx, []string{"lihua", "wangfang", "lihua"}, t0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := db.ClaimDirtyNativeTiles(ctx, t0.Add(3*time.Second), 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(claimedIDs(rows)); got != "[lihua wangfang]" {
			t.Fatalf("claimed %s, want each member once", got)
		}
		if rows[0].TouchedAt != store.Millis(t0.Add(2*time.Second)) {
			t.Errorf("touched_at = %d, want the last touch", rows[0].TouchedAt)
		}
		if again, err := db.ClaimDirtyNativeTiles(ctx, t0.Add(3*time.Second), 10); err != nil || len(again) != 2 {
			// Claimed rows are claimable again (a crashed round); the
			// push lock keeps two live rounds apart.
			t.Errorf("re-claim: %d rows, %v; want the 2 left claimed", len(again), err)
		}
		// wangfang is touched again while the round pushes.
		if err := db.TouchNativeTiles(ctx, []string{"wangfang"}, t0.Add(4*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkNativeTilesPushed(ctx, []string{"lihua", "wangfang"}, "h1", t0.Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if l := nativeTile(t, db, "lihua"); l.Dirty != store.NativeTileCurrent || l.PayloadHash != "h1" || l.PushedAt != store.Millis(t0.Add(5*time.Second)) {
			t.Errorf("lihua after push = %+v", l)
		}
		if w := nativeTile(t, db, "wangfang"); w.Dirty != store.NativeTileDirty || w.PayloadHash != "h1" {
			t.Errorf("wangfang, touched during the round = %+v, want dirty with the pushed hash", w)
		}
		rows, err = db.ClaimDirtyNativeTiles(ctx, t0.Add(6*time.Second), 10)
		if err != nil || fmt.Sprint(claimedIDs(rows)) != "[wangfang]" {
			t.Fatalf("next round claimed %v, %v; want wangfang", claimedIDs(rows), err)
		}
		if err := db.MarkNativeTilesCurrent(ctx, []string{"wangfang"}); err != nil {
			t.Fatal(err)
		}
		c, err := db.CountNativeTiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c != (store.NativeTileCounts{Pushed: 2}) {
			t.Errorf("counts = %+v, want 2 pushed", c)
		}
		pushes, err := db.NativeTilePushes(ctx, []string{"lihua", "wangfang", "chenjing"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(pushes["lihua"]) != 1 || len(pushes["wangfang"]) != 1 || len(pushes["chenjing"]) != 0 {
			t.Errorf("pushes = %v, want one each for lihua and wangfang", pushes)
		}
		if _, err := db.GetNativeTile(ctx, "chenjing"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("untouched member: %v, want ErrNotFound", err)
		}
		if err := db.TouchNativeTiles(ctx, []string{""}, t0); err == nil {
			t.Error("empty userid accepted")
		}
	})
}

// TestNativeTilesFailDeferRefuse: a failure keeps the member dirty with its
// attempt count and backoff; a deferral waits without an attempt; a refusal
// settles the member, reason kept, until touched again.
func TestNativeTilesFailDeferRefuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.TouchNativeTiles(ctx, []string{"a", "b", "c"}, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClaimDirtyNativeTiles(ctx, t0, 10); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkNativeTileFailed(ctx, "a", "errcode -1: system busy", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.DeferNativeTiles(ctx, []string{"b"}, t0.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkNativeTilesRefused(ctx, []string{"c"}, "errcode 60021: outside the visible range"); err != nil {
			t.Fatal(err)
		}
		if a := nativeTile(t, db, "a"); a.Dirty != store.NativeTileDirty || a.Attempts != 1 || a.LastError != "errcode -1: system busy" {
			t.Errorf("a = %+v", a)
		}
		if b := nativeTile(t, db, "b"); b.Dirty != store.NativeTileDirty || b.Attempts != 0 {
			t.Errorf("b = %+v", b)
		}
		if c := nativeTile(t, db, "c"); c.Dirty != store.NativeTileCurrent || !c.Refused || c.LastError == "" {
			t.Errorf("c = %+v", c)
		}
		// Neither backoff has run out at +10 s.
		if rows, err := db.ClaimDirtyNativeTiles(ctx, t0.Add(10*time.Second), 10); err != nil || len(rows) != 0 {
			t.Errorf("claimed %v, %v before any was due", claimedIDs(rows), err)
		}
		// A touch does not cut a backoff short.
		if err := db.TouchNativeTiles(ctx, []string{"a"}, t0.Add(11*time.Second)); err != nil {
			t.Fatal(err)
		}
		if rows, err := db.ClaimDirtyNativeTiles(ctx, t0.Add(40*time.Second), 10); err != nil || fmt.Sprint(claimedIDs(rows)) != "[b]" {
			t.Errorf("at +40 s claimed %v, %v; want b", claimedIDs(rows), err)
		}
		c, err := db.CountNativeTiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c != (store.NativeTileCounts{Dirty: 2, Retrying: 1, Refused: 1}) {
			t.Errorf("counts = %+v", c)
		}
		if n, err := db.PruneNativeTilePushes(ctx, t0); err != nil || n != 0 {
			t.Errorf("prune: %d, %v", n, err)
		}
	})
}

// TestNativeTilesMany: thousands of ids go in chunked statements.
func TestNativeTilesMany(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := make([]string, 2500)
		for i := range ids {
			ids[i] = fmt.Sprintf("s%05d", i)
		}
		if err := db.TouchNativeTiles(ctx, ids, t0); err != nil {
			t.Fatal(err)
		}
		rows, err := db.ClaimDirtyNativeTiles(ctx, t0, 5000)
		if err != nil || len(rows) != len(ids) {
			t.Fatalf("claimed %d, %v", len(rows), err)
		}
		if err := db.MarkNativeTilesPushed(ctx, ids, "h", t0); err != nil {
			t.Fatal(err)
		}
		pushes, err := db.NativeTilePushes(ctx, ids, t0)
		if err != nil || len(pushes) != len(ids) {
			t.Fatalf("pushes of %d members, %v", len(pushes), err)
		}
		if n, err := db.PruneNativeTilePushes(ctx, t0.Add(time.Minute)); err != nil || n != int64(len(ids)) {
			t.Errorf("pruned %d, %v", n, err)
		}
	})
}
