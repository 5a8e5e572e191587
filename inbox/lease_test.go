package inbox

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
)

// TestUnrenewableLeaseCancelsHandlerFirst: when the lease cannot be renewed
// (the database refuses the renewals), the handler is cancelled while the
// lease still runs, so it has returned before a second dispatcher can claim
// the row, and the two handlings never overlap.
func TestUnrenewableLeaseCancelsHandlerFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		// Renewals are tried every 100 ms of real time (every 25 ms once
		// they fail); the lease itself is judged on the injected clock.
		const lease = 300 * time.Millisecond
		// a polls rarely: once it gave the row back, b is the one to take it.
		a := newFixture(t, db, clk, Options{Owner: "a", Lease: lease, Workers: 1, Poll: time.Hour})
		b := newFixture(t, db, clk, Options{Owner: "b", Lease: lease, Workers: 1})
		var failing atomic.Bool
		a.ib.renewLease = func(ctx context.Context, l store.InboxLease, until time.Time) error {
			if failing.Load() {
				return errors.New("database unreachable")
			}
			return db.ExtendInboxLease(ctx, l, until)
		}

		var mu sync.Mutex
		var events []string
		note := func(e string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}
		var aBusy atomic.Bool
		started, cancelled := make(chan struct{}), make(chan store.InboxRow, 1)
		a.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error {
			aBusy.Store(true)
			defer aBusy.Store(false)
			note("a started")
			close(started)
			<-ctx.Done()
			d, _ := DeliveryFrom(ctx)
			r, err := db.GetInbox(context.Background(), d.ID)
			if err != nil {
				t.Error(err)
			}
			cancelled <- r
			note("a returned")
			return ctx.Err()
		})
		var bCalls atomic.Int32
		b.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error {
			bCalls.Add(1)
			if aBusy.Load() {
				t.Error("b handles the row while a still does")
			}
			note("b started")
			return nil
		})

		id := accept(t, a.ib, "oa", textEvent(1, "slow")).ID
		a.start(t)
		<-started
		b.start(t) // polls all along: it must find nothing to claim while a holds the lease
		failing.Store(true)
		// Half the lease passes without a renewal: a keeps trying, and
		// keeps its handler running.
		clk.Advance(lease / 2)
		waitFor(t, "a failed renewal to be logged", func() bool {
			return a.logs.FilterMessage("lease renewal failed; trying again").Len() >= 1
		})
		select {
		case <-cancelled:
			t.Fatal("cancelled with half the lease left")
		default:
		}
		// Less than a third left: a cancels its handler.
		clk.Advance(lease / 4)
		r := <-cancelled
		if r.State != store.InboxProcessing || r.LeaseOwner != "a" || r.LeaseUntil <= store.Millis(clk.Now()) {
			t.Errorf("when a's handler was cancelled the row was %+v at %d; want still leased to a", r, store.Millis(clk.Now()))
		}
		// a gives the row back (the database takes writes other than the
		// renewal), and b handles it, once.
		done := waitState(t, db, id, store.InboxDone)
		if bCalls.Load() != 1 || done.Attempts != 2 {
			t.Errorf("b handled it %d times, attempts %d; want 1, 2", bCalls.Load(), done.Attempts)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(events) != 3 || events[0] != "a started" || events[1] != "a returned" || events[2] != "b started" {
			t.Errorf("events %q; want a started, a returned, b started", events)
		}
		if a.logs.FilterMessage("lease renewals failed until less than a third of the lease was left: cancelling the handler").Len() != 1 {
			t.Error("no log line for the cancellation")
		}
	})
}

// TestRestartReleasesOwnLeases: an instance that stopped while holding rows
// (killed, or its handlers abandoned) resumes them as soon as it is back,
// not a full lease later, and leaves other instances' rows alone.
func TestRestartReleasesOwnLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		ctx := context.Background()
		setup := newFixture(t, db, clk, Options{Owner: "setup"})
		var mine []int64
		for i := range 3 {
			mine = append(mine, accept(t, setup.ib, "oa", textEvent(i, "held")).ID)
		}
		// The previous run of web-1:8080 claimed them with an hour's lease and died.
		if rows, err := db.ClaimInbox(ctx, "web-1:8080/4242/0badcafe", 3, clk.Now(), time.Hour); err != nil || len(rows) != 3 {
			t.Fatalf("claim: %v, %v", rows, err)
		}
		theirs := accept(t, setup.ib, "oa", textEvent(9, "other instance")).ID
		if rows, err := db.ClaimInbox(ctx, "web-2:8080/4242/0badcafe", 1, clk.Now(), time.Hour); err != nil || len(rows) != 1 {
			t.Fatalf("claim: %v, %v", rows, err)
		}

		f := newFixture(t, db, clk, Options{Instance: "web-1:8080", Lease: time.Hour})
		var c counter
		f.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error { c.add(ctx); return nil })
		f.start(t)
		for _, id := range mine {
			r := waitState(t, db, id, store.InboxDone)
			if c.get(id) != 1 || r.Attempts != 2 {
				t.Errorf("row %d handled %d times, attempts %d; want 1, 2 (the interrupted claim counts)", id, c.get(id), r.Attempts)
			}
		}
		if r := rowState(t, db, theirs); r.State != store.InboxProcessing || r.LeaseOwner != "web-2:8080/4242/0badcafe" {
			t.Errorf("another instance's row: %+v", r)
		}
		waitFor(t, "the release line", func() bool {
			return f.logs.FilterMessage("released the rows an earlier run of this instance held").Len() == 1
		})
	})
}

func TestOwnerNamesInstanceAndRun(t *testing.T) {
	db := storetest.SQLite(t)
	one, err := New(db, Options{Instance: "web-1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	two, err := New(db, Options{Instance: "web-1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if one.Owner() == two.Owner() || len(one.Owner()) <= len("web-1:8080/") || one.Owner()[:len("web-1:8080/")] != "web-1:8080/" {
		t.Errorf("owners %q and %q; want distinct, both starting web-1:8080/", one.Owner(), two.Owner())
	}
	for _, bad := range []Options{{Instance: "a/b"}, {Instance: "web-1:8080", Owner: "web-2:8080/1/x"}} {
		if _, err := New(db, bad); err == nil {
			t.Errorf("New(%+v): no error", bad)
		}
	}
}

// TestQueuedRowGetsAFullLease: a row claimed in a batch may wait behind a
// slow handler; its lease is renewed before its own handler starts.
func TestQueuedRowGetsAFullLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		const lease = time.Hour // no renewal tick fires during the test
		f := newFixture(t, db, clk, Options{Owner: "q", Lease: lease, Workers: 1, Prefetch: 4})
		first, release := make(chan struct{}), make(chan struct{})
		leaseLeft := make(chan time.Duration, 1)
		f.ib.Register("*", func(ctx context.Context, ev *wecom.Event) error {
			if ev.Content == "slow" {
				close(first)
				<-release
				return nil
			}
			d, _ := DeliveryFrom(ctx)
			r, err := db.GetInbox(context.Background(), d.ID)
			if err != nil {
				return err
			}
			leaseLeft <- store.Time(r.LeaseUntil).Sub(clk.Now())
			return nil
		})
		accept(t, f.ib, "oa", textEvent(1, "slow"))
		queued := accept(t, f.ib, "oa", textEvent(2, "queued")).ID
		f.start(t)
		<-first
		waitFor(t, "the second row to be claimed with the first", func() bool {
			return rowState(t, db, queued).State == store.InboxProcessing
		})
		clk.Advance(lease / 2)
		close(release)
		if left := <-leaseLeft; left != lease {
			t.Errorf("the queued row's handler started with %v of lease left, want %v", left, lease)
		}
		waitState(t, db, queued, store.InboxDone)
	})
}

// TestPrefetchFollowsThePace: fast handlers get large claims, slow ones
// small claims, so a busy instance does not sit on rows another instance's
// idle workers could take.
func TestPrefetchFollowsThePace(t *testing.T) {
	var p pace
	if got := p.prefetch(4, 256); got != 4 {
		t.Errorf("before any row: %d, want one per worker", got)
	}
	for _, tt := range []struct {
		each time.Duration
		want int
	}{
		{100 * time.Microsecond, 256}, // capped by the limit
		{100 * time.Millisecond, 40},  // a second of work for 4 workers
		{2 * time.Second, 2},
		{10 * time.Second, 0}, // nothing queued ahead
	} {
		for range 200 { // the moving average settles
			p.observe(tt.each)
		}
		if got := p.prefetch(4, 256); got != tt.want {
			t.Errorf("handlers taking %v: prefetch %d, want %d", tt.each, got, tt.want)
		}
	}
}
