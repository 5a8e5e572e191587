package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// TestSyncRuns: a run is recorded running, then finished with its status
// and JSON; a run left running (killed) is marked interrupted by the next;
// the history lists newest first.
func TestSyncRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_800_000_000_000)
		killed, err := db.StartSyncRun(ctx, nil, store.SyncRunStart{At: t0, Summary: "259 operations", Trigger: "cli", Actor: "cli:root"})
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.InterruptSyncRuns(ctx, nil, t0.Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("interrupt = %d, %v; want 1 run", n, err)
		}
		id, err := db.StartSyncRun(ctx, nil, store.SyncRunStart{At: t0.Add(time.Hour), Summary: "nothing to do", Trigger: "schedule", Actor: "system", PlanGz: []byte("gz")})
		if err != nil {
			t.Fatal(err)
		}
		if id == killed {
			t.Fatalf("two runs have id %d", id)
		}
		if err := db.FinishSyncRun(ctx, nil, id, t0.Add(2*time.Hour), "done", nil, nil); err == nil {
			t.Error("finish with status \"done\": no error")
		}
		counts := []byte(`{"applied":3,"failed":1}`)
		failures := []byte(`[{"errcode":60104}]`)
		if err := db.FinishSyncRun(ctx, nil, id, t0.Add(2*time.Hour), store.SyncFailed, counts, failures); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishSyncRun(ctx, nil, id+100, t0, store.SyncFailed, nil, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("finish an unknown run: %v, want ErrNotFound", err)
		}
		rs, err := db.ListSyncRuns(ctx, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].ID != id || rs[1].ID != killed {
			t.Fatalf("runs = %+v, want %d then %d", rs, id, killed)
		}
		got := rs[0]
		want := store.SyncRun{ID: id, StartedAt: store.Millis(t0.Add(time.Hour)), FinishedAt: store.Millis(t0.Add(2 * time.Hour)),
			Status: store.SyncFailed, Summary: "nothing to do", Counts: string(counts), Failures: string(failures), Trigger: "schedule", Actor: "system"}
		if got != want {
			t.Errorf("run = %+v\nwant %+v", got, want)
		}
		if k := rs[1]; k.Status != store.SyncInterrupted || k.FinishedAt != store.Millis(t0.Add(time.Hour)) || k.Counts != "{}" || k.Failures != "[]" {
			t.Errorf("killed run = %+v, want interrupted at t0+1h with empty counts", k)
		}
		if _, err := db.GetSyncRun(ctx, nil, id+100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get an unknown run: %v", err)
		}
		if p, err := db.SyncRunPlan(ctx, nil, id); err != nil || string(p) != "gz" {
			t.Errorf("plan of run %d = %q, %v; want the bytes it started with", id, p, err)
		}
		if p, err := db.SyncRunPlan(ctx, nil, killed); err != nil || p != nil {
			t.Errorf("plan of run %d = %q, %v; want none", killed, p, err)
		}
		if last, err := db.LastSyncRun(ctx, nil); err != nil || last.ID != id {
			t.Errorf("last run = %+v, %v; want %d", last, err, id)
		}

		// Enrolments: the first one stays.
		for _, e := range []store.Enrolment{{UserID: "2024001", Via: "selfreg", Actor: "2024001", EnrolledAt: 1}, {UserID: "2024001", Via: "console", Actor: "T1", EnrolledAt: 2}, {UserID: "T9", Via: "console", Actor: "T1", EnrolledAt: 3}} {
			if err := db.PutEnrolment(ctx, nil, e); err != nil {
				t.Fatal(err)
			}
		}
		es, err := db.Enrolments(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 2 || es[0].Via != "selfreg" || es[0].EnrolledAt != 1 || es[1].UserID != "T9" {
			t.Errorf("enrolments = %+v, want 2024001 by selfreg at 1, then T9", es)
		}
	})
}
