package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func inboxMsg(receiver, key string) store.InboxMessage {
	return store.InboxMessage{
		Receiver: receiver, DedupKey: key, Kind: "text", FromUser: "zhangsan", AgentID: 1000002,
		CreateTime: t0.Unix(), MsgID: "123", Payload: []byte("<xml><Content><![CDATA[hi " + key + "]]></Content></xml>"),
	}
}

func mustInsert(t *testing.T, db *store.DB, m store.InboxMessage, now time.Time) int64 {
	t.Helper()
	id, isNew, err := db.InsertInbox(context.Background(), m, now)
	if err != nil || !isNew {
		t.Fatalf("insert %s/%s: id %d, new %v, err %v", m.Receiver, m.DedupKey, id, isNew, err)
	}
	return id
}

func TestInboxInsertDeduplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := inboxMsg("oa", "msg:1")
		tests := []struct {
			name    string
			msg     store.InboxMessage
			wantNew bool
			sameAs  int // index of an earlier step whose id this one must have; -1 for none
		}{
			{"first delivery", m, true, -1},
			{"WeCom retry", m, false, 0},
			{"second retry", m, false, 0},
			{"same key, other receiver", inboxMsg("contacts", "msg:1"), true, -1},
			{"other key", inboxMsg("oa", "msg:2"), true, -1},
		}
		var ids []int64
		for _, tt := range tests {
			id, isNew, err := db.InsertInbox(ctx, tt.msg, t0)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if isNew != tt.wantNew {
				t.Errorf("%s: new = %v, want %v", tt.name, isNew, tt.wantNew)
			}
			if tt.sameAs >= 0 && id != ids[tt.sameAs] {
				t.Errorf("%s: id = %d, want the first row's %d", tt.name, id, ids[tt.sameAs])
			}
			for i, prev := range ids {
				if tt.sameAs < 0 && prev == id {
					t.Errorf("%s: id %d reuses step %d's", tt.name, id, i)
				}
			}
			ids = append(ids, id)
		}
		c, err := db.CountInbox(ctx, store.InboxPending)
		if err != nil || c[store.InboxPending] != 3 {
			t.Fatalf("pending = %v, %v; want 3", c, err)
		}
		got, err := db.GetInbox(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		want := store.InboxRow{
			ID: ids[0], Receiver: "oa", DedupKey: "msg:1", Kind: "text", FromUser: "zhangsan", AgentID: 1000002,
			CreateTime: t0.Unix(), MsgID: "123", Payload: m.Payload, State: store.InboxPending,
			NextAttemptAt: store.Millis(t0), ReceivedAt: store.Millis(t0),
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("stored row (-want +got):\n%s", d)
		}
	})
}

func TestInboxInsertBounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		long := store.InboxMessage{
			Receiver: "oa", DedupKey: strings.Repeat("k", 80), Kind: strings.Repeat("event.", 40),
			FromUser: strings.Repeat("用", 100), MsgID: strings.Repeat("9", 100), EventKey: "https://example.edu/" + strings.Repeat("页", 300),
			Payload: []byte{0xff, 0xfe, '<', 'x', '>'}, // the payload column keeps bytes as they are
		}
		id, isNew, err := db.InsertInbox(ctx, long, t0)
		if err != nil || !isNew {
			t.Fatalf("over-long ops fields must be clipped, not refused: %v", err)
		}
		r, err := db.GetInbox(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"kind": r.Kind, "from_user": r.FromUser, "msg_id": r.MsgID, "event_key": r.EventKey} {
			if !utf8.ValidString(v) || v == "" {
				t.Errorf("%s = %q: want a valid non-empty prefix", name, v)
			}
		}
		if string(r.Payload) != string(long.Payload) {
			t.Errorf("payload = %x, want %x", r.Payload, long.Payload)
		}
		bad := []store.InboxMessage{
			{Receiver: "oa", DedupKey: strings.Repeat("k", 81)},
			{Receiver: "oa", DedupKey: ""},
			{Receiver: "", DedupKey: "k"},
			{Receiver: strings.Repeat("r", 65), DedupKey: "k"},
		}
		for _, m := range bad {
			if _, _, err := db.InsertInbox(ctx, m, t0); err == nil {
				t.Errorf("insert receiver %d bytes, key %d bytes: no error", len(m.Receiver), len(m.DedupKey))
			}
		}
	})
}

func TestInboxClaimLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := mustInsert(t, db, inboxMsg("oa", "a"), t0)
		b := mustInsert(t, db, inboxMsg("oa", "b"), t0.Add(time.Second))
		later := mustInsert(t, db, inboxMsg("oa", "later"), t0.Add(20*time.Second))
		lease := 30 * time.Second
		now := t0.Add(2 * time.Second)

		rows, err := db.ClaimInbox(ctx, "w1", 10, now, lease)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(rows); !cmp.Equal(got, []int64{a, b}) {
			t.Fatalf("claimed %v, want the due rows %v in due order (not %d, due later)", got, []int64{a, b}, later)
		}
		for _, r := range rows {
			if r.State != store.InboxProcessing || r.LeaseOwner != "w1" || r.Attempts != 1 ||
				r.LeaseUntil != store.Millis(now.Add(lease)) || r.NextAttemptAt != r.LeaseUntil || r.Reclaimed {
				t.Errorf("claimed row %+v", r)
			}
		}
		// Held rows are not claimable while their lease runs.
		if again, err := db.ClaimInbox(ctx, "w2", 10, now.Add(lease-time.Millisecond), lease); err != nil || len(again) != 1 || again[0].ID != later {
			t.Fatalf("claim during the lease: %v, %v; want only row %d", ids(again), err, later)
		}
		// w1 dies; after its lease w2 takes the rows over, as a new attempt.
		took, err := db.ClaimInbox(ctx, "w2", 1, now.Add(lease), lease)
		if err != nil || len(took) != 1 || took[0].ID != a || !took[0].Reclaimed || took[0].Attempts != 2 || took[0].LeaseOwner != "w2" {
			t.Fatalf("takeover: %+v, %v", took, err)
		}
		// w1 wakes up: its writes must not clobber w2's claim.
		err = db.CompleteInbox(ctx, rows[0].Lease(), now.Add(lease))
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("complete with a lost lease: %v, want ErrConflict", err)
		}
		if err := db.CompleteInbox(ctx, took[0].Lease(), now.Add(lease)); err != nil {
			t.Fatalf("complete by the new owner: %v", err)
		}
		if n, err := db.ClaimInbox(ctx, "w3", 0, now, lease); err != nil || n != nil {
			t.Fatalf("claim 0 rows: %v, %v", n, err)
		}
		if _, err := db.ClaimInbox(ctx, "", 1, now, lease); err == nil {
			t.Fatal("claim without an owner: no error")
		}
	})
}

func ids(rows []store.InboxRow) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestInboxTransitions(t *testing.T) {
	lease := time.Minute
	now := t0.Add(time.Second)
	// Every case but the last leaves its row undue at now, so each case
	// claims only its own row.
	tests := []struct {
		name string
		act  func(ctx context.Context, db *store.DB, l store.InboxLease) error
		want func(r store.InboxRow) store.InboxRow // from the claimed row
	}{
		{"complete", func(ctx context.Context, db *store.DB, l store.InboxLease) error {
			return db.CompleteInbox(ctx, l, now)
		}, func(r store.InboxRow) store.InboxRow {
			r.State, r.LeaseOwner, r.LeaseUntil, r.DoneAt = store.InboxDone, "", 0, store.Millis(now)
			return r
		}},
		{"skip", func(ctx context.Context, db *store.DB, l store.InboxLease) error {
			return db.SkipInbox(ctx, l, "no handler for kind text", now)
		}, func(r store.InboxRow) store.InboxRow {
			r.State, r.LeaseOwner, r.LeaseUntil, r.DoneAt, r.LastError = store.InboxSkipped, "", 0, store.Millis(now), "no handler for kind text"
			return r
		}},
		{"retry", func(ctx context.Context, db *store.DB, l store.InboxLease) error {
			return db.RetryInbox(ctx, l, "boom", now.Add(time.Hour))
		}, func(r store.InboxRow) store.InboxRow {
			r.State, r.LeaseOwner, r.LeaseUntil, r.NextAttemptAt, r.LastError = store.InboxPending, "", 0, store.Millis(now.Add(time.Hour)), "boom"
			return r
		}},
		{"dead", func(ctx context.Context, db *store.DB, l store.InboxLease) error {
			return db.MarkInboxDead(ctx, l, "gave up", now)
		}, func(r store.InboxRow) store.InboxRow {
			r.State, r.LeaseOwner, r.LeaseUntil, r.DoneAt, r.LastError = store.InboxDead, "", 0, store.Millis(now), "gave up"
			return r
		}},
		{"extend", func(ctx context.Context, db *store.DB, l store.InboxLease) error {
			return db.ExtendInboxLease(ctx, l, now.Add(2*lease))
		}, func(r store.InboxRow) store.InboxRow {
			r.LeaseUntil, r.NextAttemptAt = store.Millis(now.Add(2*lease)), store.Millis(now.Add(2*lease))
			return r
		}},
		{"extend to the same instant", func(ctx context.Context, db *store.DB, l store.InboxLease) error {
			// Changes nothing; MySQL reports 0 rows, which must not read as a lost lease.
			return db.ExtendInboxLease(ctx, l, now.Add(lease))
		}, func(r store.InboxRow) store.InboxRow { return r }},
		{"release", func(ctx context.Context, db *store.DB, l store.InboxLease) error {
			return db.ReleaseInbox(ctx, l, now)
		}, func(r store.InboxRow) store.InboxRow {
			r.State, r.LeaseOwner, r.LeaseUntil, r.NextAttemptAt, r.Attempts = store.InboxPending, "", 0, store.Millis(now), 0
			return r
		}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mustInsert(t, db, inboxMsg("oa", fmt.Sprint("k", i)), t0)
				rows, err := db.ClaimInbox(ctx, "w1", 1, now, lease)
				if err != nil || len(rows) != 1 {
					t.Fatalf("claim: %v, %v", rows, err)
				}
				claimed := rows[0]
				if err := tt.act(ctx, db, claimed.Lease()); err != nil {
					t.Fatal(err)
				}
				got, err := db.GetInbox(ctx, claimed.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(tt.want(claimed), got, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Reclaimed" }, cmp.Ignore())); d != "" {
					t.Errorf("row after %s (-want +got):\n%s", tt.name, d)
				}
				// A stale lease (another attempt number) changes nothing.
				stale := claimed.Lease()
				stale.Attempt++
				if err := tt.act(ctx, db, stale); !errors.Is(err, store.ErrConflict) {
					t.Errorf("%s with a stale lease: %v, want ErrConflict", tt.name, err)
				}
			})
		}
	})
}

func TestInboxErrorIsBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		id := mustInsert(t, db, inboxMsg("oa", "long-error"), t0)
		rows, err := db.ClaimInbox(ctx, "w1", 1, t0, time.Minute)
		if err != nil || len(rows) != 1 {
			t.Fatal(rows, err)
		}
		long := strings.Repeat("错误", 1000) // 6000 bytes of 3-byte runes
		if err := db.MarkInboxDead(ctx, rows[0].Lease(), long, t0); err != nil {
			t.Fatal(err)
		}
		r, err := db.GetInbox(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.LastError) > store.InboxErrorMax || !utf8.ValidString(r.LastError) || !strings.HasSuffix(r.LastError, "…") {
			t.Fatalf("last_error has %d bytes (valid UTF-8: %v), want at most %d ending in …", len(r.LastError), utf8.ValidString(r.LastError), store.InboxErrorMax)
		}
	})
}

func TestInboxRequeue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dead := mustInsert(t, db, inboxMsg("oa", "dead"), t0)
		done := mustInsert(t, db, inboxMsg("oa", "done"), t0)
		rows, err := db.ClaimInbox(ctx, "w1", 2, t0, time.Minute)
		if err != nil || len(rows) != 2 {
			t.Fatal(rows, err)
		}
		if err := db.MarkInboxDead(ctx, rows[0].Lease(), "boom", t0); err != nil {
			t.Fatal(err)
		}
		if err := db.CompleteInbox(ctx, rows[1].Lease(), t0); err != nil {
			t.Fatal(err)
		}
		later := t0.Add(time.Hour)
		tests := []struct {
			name string
			id   int64
			want error
		}{
			{"dead row", dead, nil},
			{"done row", done, store.ErrConflict},
			{"requeued row is pending now", dead, store.ErrConflict},
			{"no such row", 999999, store.ErrNotFound},
		}
		for _, tt := range tests {
			if err := db.RequeueInbox(ctx, tt.id, later); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
			}
		}
		r, err := db.GetInbox(ctx, dead)
		if err != nil || r.State != store.InboxPending || r.Attempts != 0 || r.NextAttemptAt != store.Millis(later) || r.DoneAt != 0 {
			t.Fatalf("requeued row: %+v, %v", r, err)
		}
		if got, err := db.ClaimInbox(ctx, "w2", 5, later, time.Minute); err != nil || len(got) != 1 || got[0].ID != dead || got[0].Attempts != 1 {
			t.Fatalf("claim after requeue: %+v, %v", got, err)
		}
	})
}

func TestInboxListCountPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 6 {
			m := inboxMsg("oa", fmt.Sprint("k", i))
			if i >= 4 {
				m.Receiver, m.Kind = "contacts", "event.change_contact.update_user"
			}
			mustInsert(t, db, m, t0)
		}
		rows, err := db.ClaimInbox(ctx, "w1", 3, t0, time.Minute)
		if err != nil || len(rows) != 3 {
			t.Fatal(rows, err)
		}
		_ = db.CompleteInbox(ctx, rows[0].Lease(), t0)
		_ = db.SkipInbox(ctx, rows[1].Lease(), "no handler", t0.Add(time.Hour))
		// rows[2] stays processing.

		c, err := db.CountInbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[store.InboxState]int{store.InboxPending: 3, store.InboxProcessing: 1, store.InboxSkipped: 1, store.InboxDead: 0}
		if d := cmp.Diff(want, c); d != "" {
			t.Errorf("counts (-want +got):\n%s", d)
		}
		list := []struct {
			q    store.InboxQuery
			want int
		}{
			{store.InboxQuery{}, 6},
			{store.InboxQuery{State: store.InboxPending}, 3},
			{store.InboxQuery{Receiver: "contacts"}, 2},
			{store.InboxQuery{Kind: "text", State: store.InboxDone}, 1},
			{store.InboxQuery{Limit: 2}, 2},
			{store.InboxQuery{BeforeID: rows[2].ID}, 2},
		}
		for _, tt := range list {
			got, err := db.ListInbox(ctx, tt.q)
			if err != nil || len(got) != tt.want {
				t.Errorf("list %+v: %d rows, %v; want %d", tt.q, len(got), err, tt.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].ID >= got[i-1].ID {
					t.Errorf("list %+v: not newest first", tt.q)
				}
			}
		}
		// Only the done row finished before t0+1m; the skipped one later.
		n, err := db.PurgeInbox(ctx, t0.Add(time.Minute), 100)
		if err != nil || n != 1 {
			t.Fatalf("purge: %d, %v; want 1", n, err)
		}
		if _, err := db.GetInbox(ctx, rows[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("purged row: %v", err)
		}
		if n, err := db.PurgeInbox(ctx, t0.Add(2*time.Hour), 100); err != nil || n != 1 {
			t.Fatalf("purge skipped: %d, %v; want 1", n, err)
		}
	})
}

// TestInboxConcurrentClaimers checks the one promise that matters with
// several instances: no row is handed to two claimers while its lease runs.
func TestInboxConcurrentClaimers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const rows, claimers = 200, 6
		for i := range rows {
			mustInsert(t, db, inboxMsg("oa", fmt.Sprint("c", i)), t0)
		}
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		errs := make(chan error, claimers)
		for w := range claimers {
			owner := fmt.Sprint("w", w)
			wg.Go(func() {
				for {
					got, err := db.ClaimInbox(ctx, owner, 7, t0, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, r := range got {
						if prev, ok := seen[r.ID]; ok {
							errs <- fmt.Errorf("row %d claimed by %s and %s", r.ID, prev, owner)
						}
						seen[r.ID] = owner
					}
					mu.Unlock()
					for _, r := range got {
						if err := db.CompleteInbox(ctx, r.Lease(), t0); err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if len(seen) != rows {
			t.Fatalf("%d rows claimed, want %d", len(seen), rows)
		}
		owners := map[string]bool{}
		for _, o := range seen {
			owners[o] = true
		}
		t.Logf("%d rows spread over %d claimers", rows, len(owners))
	})
}

func TestInboxInsertDead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := inboxMsg("oa", "raw:0123")
		m.Kind, m.Dead = "unparsed", "does not parse: XML syntax error"
		id := mustInsert(t, db, m, t0)
		r, err := db.GetInbox(ctx, id)
		if err != nil || r.State != store.InboxDead || r.LastError != m.Dead || r.DoneAt != store.Millis(t0) || r.Kind != "unparsed" || string(r.Payload) != string(m.Payload) {
			t.Fatalf("dead row %+v, %v", r, err)
		}
		// Never claimed; a re-delivery collapses on it.
		if rows, err := db.ClaimInbox(ctx, "w1", 10, t0.Add(time.Hour), time.Minute); err != nil || len(rows) != 0 {
			t.Fatalf("claimed a dead row: %+v, %v", rows, err)
		}
		if again, isNew, err := db.InsertInbox(ctx, m, t0.Add(time.Second)); err != nil || isNew || again != id {
			t.Fatalf("re-delivery: %d, %v, %v", again, isNew, err)
		}
	})
}

// TestInboxFinishBatch records many outcomes in one call, leaving alone the
// rows whose lease another dispatcher holds now.
func TestInboxFinishBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 5 {
			mustInsert(t, db, inboxMsg("oa", fmt.Sprint("f", i)), t0)
		}
		rows, err := db.ClaimInbox(ctx, "w1", 5, t0, time.Minute)
		if err != nil || len(rows) != 5 {
			t.Fatal(rows, err)
		}
		// Row 1's lease expired and w2 took it over; row 3 was released.
		later := t0.Add(2 * time.Minute)
		stolen, err := db.ClaimInbox(ctx, "w2", 5, later, time.Minute)
		if err != nil || len(stolen) != 5 {
			t.Fatal(stolen, err)
		}
		for _, s := range stolen {
			if s.ID != rows[1].ID {
				if err := db.ReleaseInbox(ctx, s.Lease(), later); err != nil {
					t.Fatal(err)
				}
			}
		}
		mine, err := db.ClaimInbox(ctx, "w1", 5, later, time.Minute)
		if err != nil || len(mine) != 4 {
			t.Fatal(mine, err)
		}
		leases := []store.InboxLease{rows[1].Lease()} // the old lease of the stolen row
		for _, r := range mine {
			leases = append(leases, r.Lease())
		}
		lost, err := db.FinishInbox(ctx, leases, store.InboxDone, "", later)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]store.InboxLease{rows[1].Lease()}, lost); d != "" {
			t.Errorf("lost (-want +got):\n%s", d)
		}
		for _, r := range mine {
			got, _ := db.GetInbox(ctx, r.ID)
			if got.State != store.InboxDone || got.DoneAt != store.Millis(later) || got.LeaseOwner != "" {
				t.Errorf("row %d: %+v", r.ID, got)
			}
		}
		if got, _ := db.GetInbox(ctx, rows[1].ID); got.State != store.InboxProcessing || got.LeaseOwner != "w2" {
			t.Errorf("stolen row was touched: %+v", got)
		}
		// A row finished once is not finished again under the same lease.
		if lost, err := db.FinishInbox(ctx, leases[1:2], store.InboxSkipped, "no handler", later); err != nil || len(lost) != 1 {
			t.Errorf("second finish: lost %v, %v", lost, err)
		}
		if _, err := db.FinishInbox(ctx, leases, store.InboxPending, "", later); err == nil {
			t.Error("finish as pending: no error")
		}
	})
}

// TestInboxReleaseInstance gives a restarted instance its own rows back at
// once, and nobody else's.
func TestInboxReleaseInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 4 {
			mustInsert(t, db, inboxMsg("oa", fmt.Sprint("r", i)), t0)
		}
		claim := func(owner string, n int) []store.InboxRow {
			rows, err := db.ClaimInbox(ctx, owner, n, t0, time.Hour)
			if err != nil || len(rows) != n {
				t.Fatalf("claim %s: %v, %v", owner, rows, err)
			}
			return rows
		}
		old := claim("web-1:8080/1/aaaa", 2)    // the run before the restart
		other := claim("web-1:80800/1/bbbb", 1) // another instance, a longer name
		current := claim("web-1:8080/1/cccc", 1)
		now := t0.Add(time.Minute)
		n, err := db.ReleaseInstanceInbox(ctx, "web-1:8080/", "web-1:8080/1/cccc", now)
		if err != nil || n != 2 {
			t.Fatalf("released %d, %v; want 2", n, err)
		}
		for _, r := range old {
			got, _ := db.GetInbox(ctx, r.ID)
			if got.State != store.InboxPending || got.NextAttemptAt != store.Millis(now) || got.Attempts != 1 || !strings.Contains(got.LastError, "restart") {
				t.Errorf("released row %+v", got)
			}
		}
		for _, r := range append(other, current...) {
			if got, _ := db.GetInbox(ctx, r.ID); got.State != store.InboxProcessing || got.LeaseOwner != r.LeaseOwner {
				t.Errorf("row of %s was released: %+v", r.LeaseOwner, got)
			}
		}
	})
}

func TestInboxRequeueAndPurgeMatching(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		put := func(key, kind string, dead bool, at time.Time) int64 {
			m := inboxMsg("oa", key)
			m.Kind = kind
			if dead {
				m.Dead = "boom"
			}
			return mustInsert(t, db, m, at)
		}
		d1 := put("d1", "text", true, t0)
		d2 := put("d2", "text", true, t0.Add(time.Hour))
		d3 := put("d3", "event.click", true, t0)
		p := put("p", "text", false, t0)

		got, err := db.RequeueInboxMatching(ctx, store.InboxQuery{State: store.InboxDead, Kind: "text"}, t0.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]int64{d1, d2}, got); d != "" {
			t.Errorf("requeued (-want +got):\n%s", d)
		}
		if r, _ := db.GetInbox(ctx, d3); r.State != store.InboxDead {
			t.Errorf("other kind requeued: %+v", r)
		}
		if r, _ := db.GetInbox(ctx, d1); r.State != store.InboxPending || r.Attempts != 0 || r.DoneAt != 0 {
			t.Errorf("requeued row %+v", r)
		}
		if _, err := db.RequeueInboxMatching(ctx, store.InboxQuery{State: store.InboxPending}, t0); err == nil {
			t.Error("requeue pending rows: no error")
		}
		if got, err := db.ListInbox(ctx, store.InboxQuery{Since: t0.Add(30 * time.Minute)}); err != nil || len(got) != 1 || got[0].ID != d2 {
			t.Errorf("list since: %+v, %v", got, err)
		}

		// Purge: dead rows on request, by age and kind.
		n, err := db.PurgeInboxMatching(ctx, store.InboxPurge{State: store.InboxDead, Before: t0.Add(time.Minute), Kind: "text"}, 100)
		if err != nil || n != 0 {
			t.Errorf("purge dead text: %d, %v; want 0 (those were requeued)", n, err)
		}
		n, err = db.PurgeInboxMatching(ctx, store.InboxPurge{State: store.InboxDead, Before: t0.Add(time.Minute)}, 100)
		if err != nil || n != 1 {
			t.Errorf("purge dead: %d, %v; want 1", n, err)
		}
		if _, err := db.GetInbox(ctx, d3); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("purged row still there: %v", err)
		}
		if _, err := db.GetInbox(ctx, p); err != nil {
			t.Errorf("pending row purged: %v", err)
		}
		if _, err := db.PurgeInboxMatching(ctx, store.InboxPurge{State: store.InboxPending, Before: t0}, 10); err == nil {
			t.Error("purge pending rows: no error")
		}
	})
}

// TestInboxDuplicateWithClientFoundRows: a DSN asking for clientFoundRows
// must not make a re-delivered callback count as new (MariaDB then reports
// the matched duplicate row as affected).
func TestInboxDuplicateWithClientFoundRows(t *testing.T) {
	base := storetest.MySQL(t)
	var name string
	if err := base.GetContext(context.Background(), &name, "SELECT DATABASE()"); err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(testenv.MySQLDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	cfg.ClientFoundRows = true
	db, err := store.Open(context.Background(), store.Options{Driver: "mysql", DSN: cfg.FormatDSN(), Sealer: storetest.Sealer()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := inboxMsg("oa", "msg:found-rows")
	first := mustInsert(t, db, m, t0)
	id, isNew, err := db.InsertInbox(context.Background(), m, t0)
	if err != nil || isNew || id != first {
		t.Fatalf("re-delivery over a clientFoundRows=true DSN: id %d (first %d), new %v, %v", id, first, isNew, err)
	}
}
