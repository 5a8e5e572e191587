package inbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
)

const corpID = "ww0123456789abcdef"

type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)) }

type fixture struct {
	ib    *Inbox
	db    *store.DB
	clock *clock
	logs  *observer.ObservedLogs
}

// newFixture returns an Inbox with fast polling and no backoff unless opts
// says otherwise.
func newFixture(t *testing.T, db *store.DB, clk *clock, opts Options) *fixture {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	if opts.Logger == nil {
		opts.Logger = zap.New(core)
	}
	if opts.Poll == 0 {
		opts.Poll = 5 * time.Millisecond
	}
	if opts.Backoff == nil {
		opts.Backoff = func(int) time.Duration { return 0 }
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = 50 * time.Millisecond
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	opts.Clock = clk.Now
	ib, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("%s %s %v", e.Level, e.Message, e.ContextMap())
			}
		}
	})
	return &fixture{ib: ib, db: db, clock: clk, logs: logs}
}

// start runs the dispatcher until the returned stop is called (or the test
// ends); stop waits for Run to return.
func (f *fixture) start(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ib.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func textEvent(i int, content string) *wecom.Event {
	return &wecom.Event{
		ToUserName: corpID, FromUserName: "zhangsan", CreateTime: 1740816000 + int64(i),
		MsgType: "text", Content: content, MsgID: fmt.Sprint(7000000 + i), AgentID: 1000002,
	}
}

// waitFor polls cond until it holds. The deadline is a liveness bound for a
// broken build, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func rowState(t *testing.T, db *store.DB, id int64) store.InboxRow {
	t.Helper()
	r, err := db.GetInbox(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitState(t *testing.T, db *store.DB, id int64, s store.InboxState) store.InboxRow {
	t.Helper()
	var r store.InboxRow
	waitFor(t, fmt.Sprintf("row %d to be %s", id, s), func() bool {
		r = rowState(t, db, id)
		return r.State == s
	})
	return r
}

func accept(t *testing.T, ib *Inbox, receiver string, ev *wecom.Event) Accepted {
	t.Helper()
	a, err := ib.Accept(context.Background(), receiver, ev)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// counter counts handler invocations per inbox row.
type counter struct {
	mu sync.Mutex
	n  map[int64]int
}

func (c *counter) add(ctx context.Context) {
	d, _ := DeliveryFrom(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[int64]int{}
	}
	c.n[d.ID]++
}

func (c *counter) get(id int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := 0
	for _, n := range c.n {
		s += n
	}
	return s
}

func TestAcceptDeduplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, newClock(), Options{})
		click := func(key string) *wecom.Event {
			return &wecom.Event{ToUserName: corpID, FromUserName: "lisi", CreateTime: 1740816000, MsgType: "event", Event: "click", EventKey: key, AgentID: 1000002}
		}
		steps := []struct {
			name      string
			receiver  string
			ev        *wecom.Event
			duplicate bool
			sameAs    int
		}{
			{"first delivery", "oa", textEvent(1, "hi"), false, -1},
			{"WeCom retry", "oa", textEvent(1, "hi"), true, 0},
			{"second retry", "oa", textEvent(1, "hi"), true, 0},
			{"menu click A", "oa", click("menu_a"), false, -1},
			{"same second, other EventKey", "oa", click("menu_b"), false, -1},
			{"click A again (retry)", "oa", click("menu_a"), true, 3},
			{"same message to another app", "library", textEvent(1, "hi"), false, -1},
		}
		var ids []int64
		for _, s := range steps {
			a := accept(t, f.ib, s.receiver, s.ev)
			if a.Duplicate != s.duplicate {
				t.Errorf("%s: duplicate = %v, want %v", s.name, a.Duplicate, s.duplicate)
			}
			if s.sameAs >= 0 && a.ID != ids[s.sameAs] {
				t.Errorf("%s: id %d, want %d", s.name, a.ID, ids[s.sameAs])
			}
			ids = append(ids, a.ID)
		}
		rows, err := db.ListInbox(context.Background(), store.InboxQuery{})
		if err != nil || len(rows) != 4 {
			t.Fatalf("%d rows stored (%v), want 4", len(rows), err)
		}
		if got := value(f.ib.m.accepted.WithLabelValues("oa", "text")); got != 1 {
			t.Errorf("accepted{oa,text} = %v, want 1", got)
		}
		if got := value(f.ib.m.duplicates.WithLabelValues("oa", "text")); got != 2 {
			t.Errorf("duplicates{oa,text} = %v, want 2", got)
		}
		if got := value(f.ib.m.duplicates.WithLabelValues("oa", wecom.KindClick)); got != 1 {
			t.Errorf("duplicates{oa,click} = %v, want 1", got)
		}
		r := rowState(t, db, ids[0])
		ev, err := wecom.ParseEvent(r.Payload)
		if err != nil || ev.Content != "hi" || r.Kind != "text" || r.FromUser != "zhangsan" || r.MsgID != "7000001" || r.AgentID != 1000002 {
			t.Errorf("stored row %+v (payload parses to %+v, %v)", r, ev, err)
		}
	})
}

func TestDispatchHandlesEachOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, newClock(), Options{Workers: 3})
		var c counter
		f.ib.Register(wecom.KindText, func(ctx context.Context, ev *wecom.Event) error {
			d, ok := DeliveryFrom(ctx)
			if !ok || d.Receiver != "oa" || d.Kind != "text" || d.Attempt != 1 || !strings.HasPrefix(d.DedupKey, "msg:") {
				return Permanent(fmt.Errorf("delivery = %+v, %v", d, ok))
			}
			c.add(ctx)
			return nil
		})
		var ids []int64
		for i := range 20 {
			ids = append(ids, accept(t, f.ib, "oa", textEvent(i, "hello")).ID)
			accept(t, f.ib, "oa", textEvent(i, "hello")) // every one re-delivered
		}
		f.start(t)
		for _, id := range ids {
			r := waitState(t, db, id, store.InboxDone)
			if r.Attempts != 1 || r.DoneAt == 0 || r.LeaseOwner != "" {
				t.Errorf("row %d: %+v", id, r)
			}
		}
		for _, id := range ids {
			if n := c.get(id); n != 1 {
				t.Errorf("row %d handled %d times, want 1", id, n)
			}
		}
		waitFor(t, "handled{text,done} = 20", func() bool {
			return value(f.ib.m.handled.WithLabelValues("text", outcomeDone)) == 20
		})
	})
}

func TestUnknownKindIsKeptAndSkipped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, newClock(), Options{})
		f.ib.Register(wecom.KindText, func(context.Context, *wecom.Event) error { return nil })
		raw := []byte(`<xml><ToUserName><![CDATA[` + corpID + `]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
			`<CreateTime>1740816000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[brand_new_event]]></Event>` +
			`<Mystery><Deep>42</Deep></Mystery></xml>`)
		ev, err := wecom.ParseEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		a := accept(t, f.ib, "oa", ev)
		f.start(t)
		r := waitState(t, db, a.ID, store.InboxSkipped)
		if string(r.Payload) != string(raw) {
			t.Errorf("payload = %s, want the callback exactly as received", r.Payload)
		}
		if r.Kind != "event.brand_new_event" || !strings.Contains(r.LastError, "no handler registered for kind event.brand_new_event") || r.Attempts != 1 {
			t.Errorf("row %+v", r)
		}
		// Counted, and logged at debug only: kinds nobody handles are
		// routine, and a WARN per callback would drown the real warnings.
		waitFor(t, "the unhandled counter", func() bool {
			return value(f.ib.m.unhandled.WithLabelValues("event.brand_new_event")) == 1
		})
		e := f.logs.FilterMessage("no handler for this kind; callback kept as skipped").FilterField(zap.String("kind", "event.brand_new_event")).All()
		if len(e) != 1 || e[0].Level != zapcore.DebugLevel {
			t.Errorf("log lines %+v, want one at debug", e)
		}
		if n := f.logs.FilterLevelExact(zapcore.WarnLevel).Len(); n != 0 {
			t.Errorf("%d warnings for an unhandled kind", n)
		}
		// Once a handler exists, an operator requeues it and it is handled.
		handled := make(chan struct{})
		f.ib.Register("event.*", func(context.Context, *wecom.Event) error { close(handled); return nil })
		if err := f.ib.Requeue(context.Background(), a.ID); err != nil {
			t.Fatal(err)
		}
		<-handled
		waitState(t, db, a.ID, store.InboxDone)
	})
}

func TestRetryWithBackoffThenSuccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		var mu sync.Mutex
		var backoffs []int
		f := newFixture(t, db, clk, Options{MaxAttempts: 5, Backoff: func(n int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			backoffs = append(backoffs, n)
			return time.Duration(n) * time.Minute
		}})
		var c counter
		f.ib.Register(wecom.KindText, func(ctx context.Context, ev *wecom.Event) error {
			c.add(ctx)
			d, _ := DeliveryFrom(ctx)
			if d.Attempt < 3 {
				return fmt.Errorf("wecom is down (attempt %d)", d.Attempt)
			}
			return nil
		})
		a := accept(t, f.ib, "oa", textEvent(1, "hello"))
		f.start(t)
		for attempt := 1; attempt <= 2; attempt++ {
			var r store.InboxRow
			waitFor(t, fmt.Sprintf("attempt %d to fail", attempt), func() bool {
				r = rowState(t, db, a.ID)
				return r.State == store.InboxPending && r.Attempts == attempt
			})
			wantDue := clk.Now().Add(time.Duration(attempt) * time.Minute)
			if r.NextAttemptAt != store.Millis(wantDue) || r.LastError != fmt.Sprintf("wecom is down (attempt %d)", attempt) {
				t.Fatalf("after attempt %d: due %v, last error %q; want due %v", attempt, store.Time(r.NextAttemptAt), r.LastError, wantDue)
			}
			if n := c.get(a.ID); n != attempt {
				t.Fatalf("handled %d times before its backoff ran out, want %d", n, attempt)
			}
			clk.Advance(time.Duration(attempt) * time.Minute)
		}
		r := waitState(t, db, a.ID, store.InboxDone)
		if r.Attempts != 3 || c.get(a.ID) != 3 {
			t.Errorf("attempts %d, handled %d; want 3, 3", r.Attempts, c.get(a.ID))
		}
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(backoffs) != "[1 2]" {
			t.Errorf("backoff asked for attempts %v, want [1 2]", backoffs)
		}
		// Outcomes are logged just after they are written.
		waitFor(t, "two retry lines", func() bool {
			return f.logs.FilterMessage("handler failed; will retry").FilterField(zap.Int64("inbox_id", a.ID)).Len() == 2
		})
	})
}

func TestPanickingHandlerIsContained(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, newClock(), Options{MaxAttempts: 3, Workers: 2})
		var c counter
		f.ib.Register(wecom.KindText, func(ctx context.Context, ev *wecom.Event) error {
			c.add(ctx)
			if ev.Content == "boom" {
				explode(ev.Content)
			}
			return nil
		})
		bad := accept(t, f.ib, "oa", textEvent(0, "boom")).ID
		var good []int64
		for i := 1; i <= 10; i++ {
			good = append(good, accept(t, f.ib, "oa", textEvent(i, "fine")).ID)
		}
		f.start(t)
		r := waitState(t, db, bad, store.InboxDead)
		for _, id := range good {
			waitState(t, db, id, store.InboxDone)
		}
		if r.Attempts != 3 || c.get(bad) != 3 {
			t.Errorf("panicking row: attempts %d, calls %d; want 3 each", r.Attempts, c.get(bad))
		}
		for _, want := range []string{"panic: kaboom: boom", "inbox.explode", "inbox_test.go:"} {
			if !strings.Contains(r.LastError, want) {
				t.Errorf("last_error lacks %q:\n%s", want, r.LastError)
			}
		}
		if strings.Contains(r.LastError, "runtime/panic.go") || strings.Contains(r.LastError, "safeCall") {
			t.Errorf("last_error carries frames outside the handler:\n%s", r.LastError)
		}
		panics := f.logs.FilterMessage("handler panicked").All()
		if len(panics) != 3 || panics[0].Level != zapcore.ErrorLevel || panics[0].ContextMap()["panic"] != "kaboom: boom" {
			t.Errorf("panic log lines: %+v", panics)
		}
		waitFor(t, "the dead line", func() bool {
			return f.logs.FilterMessage("callback parked as dead").FilterField(zap.Int64("inbox_id", bad)).Len() == 1
		})
		if got := value(f.ib.m.panics.WithLabelValues("text")); got != 3 {
			t.Errorf("panics = %v, want 3", got)
		}
	})
}

// explode is a named frame for the stack in last_error.
func explode(s string) { panic("kaboom: " + s) }

func TestPermanentErrorIsNotRetried(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), newClock(), Options{MaxAttempts: 5})
	f.ib.Register(wecom.KindText, func(context.Context, *wecom.Event) error {
		return Permanent(errors.New("userid does not exist"))
	})
	a := accept(t, f.ib, "oa", textEvent(1, "x"))
	f.start(t)
	r := waitState(t, f.db, a.ID, store.InboxDead)
	if r.Attempts != 1 || r.LastError != "userid does not exist" {
		t.Errorf("row %+v", r)
	}
}

// TestNothingLostBetweenAckAndDispatch covers the ways a dispatcher can go
// away after WeCom was answered: it crashed right after claiming, it was
// stopped (or killed) while a handler held the lease, or it never got to
// the rows. Another dispatcher then processes each callback exactly once.
func TestNothingLostBetweenAckAndDispatch(t *testing.T) {
	const lease = time.Minute // on the injected clock
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Run("crashed right after claiming", func(t *testing.T) {
			clk := newClock()
			b := newFixture(t, db, clk, Options{Owner: "b1", Lease: lease})
			var c counter
			b.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error { c.add(ctx); return nil })
			id := accept(t, b.ib, "oa", textEvent(100, "crash")).ID
			// The dead instance's claim: nothing will renew or finish it.
			if rows, err := db.ClaimInbox(context.Background(), "crashed", 10, clk.Now(), lease); err != nil || len(rows) != 1 {
				t.Fatalf("claim: %v, %v", rows, err)
			}
			b.start(t)
			clk.Advance(lease)
			r := waitState(t, db, id, store.InboxDone)
			if c.get(id) != 1 || r.Attempts != 2 {
				t.Errorf("handled %d times, attempts %d; want 1, 2", c.get(id), r.Attempts)
			}
			waitFor(t, "the takeover line", func() bool {
				return b.logs.FilterMessage("took over a callback whose lease expired").Len() == 1
			})
		})

		t.Run("killed while a handler held the lease", func(t *testing.T) {
			clk := newClock()
			a := newFixture(t, db, clk, Options{Owner: "a2", Lease: lease})
			started, unblock := make(chan struct{}), make(chan struct{})
			a.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error {
				close(started)
				<-unblock // a hung handler: ignores its context, like a process that froze
				return nil
			})
			id := accept(t, a.ib, "oa", textEvent(200, "hang")).ID
			stopA := a.start(t)
			<-started
			stopA() // returns after StopGrace + 1 s, abandoning the handler
			if r := rowState(t, db, id); r.State != store.InboxProcessing || r.LeaseOwner != "a2" {
				t.Fatalf("after the stop: %+v; want still leased to a2", r)
			}

			b := newFixture(t, db, clk, Options{Owner: "b2", Lease: lease})
			var c counter
			b.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error { c.add(ctx); return nil })
			b.start(t)
			clk.Advance(lease)
			r := waitState(t, db, id, store.InboxDone)
			if c.get(id) != 1 || r.Attempts != 2 {
				t.Errorf("handled %d times by b2, attempts %d; want 1, 2", c.get(id), r.Attempts)
			}
			// The hung handler finally returns: its late success must not
			// touch the row b2 owns.
			close(unblock)
			waitFor(t, "a2 to notice it lost the lease", func() bool {
				return value(a.ib.m.handled.WithLabelValues("text", outcomeLeaseLost)) == 1
			})
			if r2 := rowState(t, db, id); !reflect.DeepEqual(r2, r) {
				t.Errorf("row changed after a2's late finish:\n%+v\n%+v", r, r2)
			}
		})

		t.Run("stopped before dispatching the rest", func(t *testing.T) {
			clk := newClock()
			a := newFixture(t, db, clk, Options{Owner: "a3", Lease: lease, Workers: 1})
			started := make(chan struct{}, 10)
			a.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error {
				started <- struct{}{}
				<-ctx.Done() // a well-behaved slow handler: gives up when told
				return ctx.Err()
			})
			var ids []int64
			for i := range 5 {
				ids = append(ids, accept(t, a.ib, "oa", textEvent(300+i, "later")).ID)
			}
			stopA := a.start(t)
			<-started
			stopA()
			for _, id := range ids {
				if r := rowState(t, db, id); r.State != store.InboxPending || r.Attempts != 0 {
					t.Fatalf("after a graceful stop row %d is %+v; want pending, no attempt counted", id, r)
				}
			}
			b := newFixture(t, db, clk, Options{Owner: "b3", Lease: lease})
			var c counter
			b.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error { c.add(ctx); return nil })
			b.start(t)
			for _, id := range ids {
				waitState(t, db, id, store.InboxDone)
				if c.get(id) != 1 {
					t.Errorf("row %d handled %d times, want 1", id, c.get(id))
				}
			}
		})
	})
}

func TestLeaseIsRenewedAndLossCancels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		// 60 ms of real time between renewals' thirds; the lease itself is
		// judged on the injected clock.
		const lease = 60 * time.Millisecond
		// One worker and no prefetching: busy with the slow row, the
		// dispatcher claims nothing else, so only the thief below can take
		// the row over.
		f := newFixture(t, db, clk, Options{Owner: "slow", Lease: lease, Workers: 1, Prefetch: -1})
		started, cancelled := make(chan struct{}), make(chan struct{})
		f.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error {
			close(started)
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		})
		// A stall of this process: once set, a renewal waits for resume
		// (whatever its deadline), then reaches the database.
		var stalled atomic.Bool
		resume := make(chan struct{})
		f.ib.renewLease = func(ctx context.Context, l store.InboxLease, until time.Time) error {
			if stalled.Load() {
				<-resume
				ctx = context.Background()
			}
			return db.ExtendInboxLease(ctx, l, until)
		}
		id := accept(t, f.ib, "oa", textEvent(1, "slow")).ID
		f.start(t)
		<-started
		first := rowState(t, db, id).LeaseUntil
		// Time passes, but less than the lease: a renewal must push it on.
		clk.Advance(lease / 2)
		waitFor(t, "the lease to be renewed", func() bool {
			return rowState(t, db, id).LeaseUntil >= store.Millis(clk.Now().Add(lease))
		})
		if r := rowState(t, db, id); r.LeaseUntil <= first || r.NextAttemptAt != r.LeaseUntil {
			t.Fatalf("renewed row %+v", r)
		}
		// This process stalls past its lease, and another dispatcher takes
		// the row over (once a renewal already under way, if any, let go of
		// it); then the stalled renewal reaches the database.
		stalled.Store(true)
		clk.Advance(time.Hour)
		waitFor(t, "the thief to take the row", func() bool {
			rows, err := db.ClaimInbox(context.Background(), "thief", 1, clk.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return len(rows) == 1
		})
		close(resume)
		<-cancelled
		waitFor(t, "the lease_lost outcome", func() bool {
			return value(f.ib.m.handled.WithLabelValues("text", outcomeLeaseLost)) == 1
		})
		if r := rowState(t, db, id); r.LeaseOwner != "thief" || r.State != store.InboxProcessing {
			t.Errorf("row after the loss: %+v", r)
		}
	})
}

// TestTwoDispatchersNeverDoubleHandle runs two dispatchers (two instances)
// over one database and counts handler calls per row.
func TestTwoDispatchersNeverDoubleHandle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		var c counter
		var busy sync.Map // row id → handling now
		h := func(ctx context.Context, _ *wecom.Event) error {
			d, _ := DeliveryFrom(ctx)
			if _, dup := busy.LoadOrStore(d.ID, true); dup {
				return Permanent(fmt.Errorf("row %d handled concurrently", d.ID))
			}
			defer busy.Delete(d.ID)
			c.add(ctx)
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			return nil
		}
		one := newFixture(t, db, clk, Options{Owner: "one", Workers: 4})
		two := newFixture(t, db, clk, Options{Owner: "two", Workers: 4})
		one.ib.Register("*", h)
		two.ib.Register("*", h)
		one.start(t)
		two.start(t)
		const n = 120
		var ids []int64
		for i := range n {
			// Callbacks arrive at either instance, some at both.
			ib := one.ib
			if i%2 == 1 {
				ib = two.ib
			}
			ids = append(ids, accept(t, ib, "oa", textEvent(i, "load")).ID)
			if i%5 == 0 {
				accept(t, one.ib, "oa", textEvent(i, "load"))
				accept(t, two.ib, "oa", textEvent(i, "load"))
			}
		}
		for _, id := range ids {
			waitState(t, db, id, store.InboxDone)
		}
		for _, id := range ids {
			if got := c.get(id); got != 1 {
				t.Errorf("row %d handled %d times", id, got)
			}
		}
		// The outcome is counted just after it is written.
		var a, b float64
		waitFor(t, "the done counters", func() bool {
			a = value(one.ib.m.handled.WithLabelValues("text", outcomeDone))
			b = value(two.ib.m.handled.WithLabelValues("text", outcomeDone))
			return a+b >= n
		})
		if a+b != n || c.total() != n {
			t.Errorf("done %v + %v, calls %d; want %d", a, b, c.total(), n)
		}
		t.Logf("dispatcher one handled %v, two %v", a, b)
	})
}

func TestRoutes(t *testing.T) {
	var r routes[string]
	for _, p := range []string{"text", "event.change_contact.*", "event.change_contact.update_tag", "event.*", "*"} {
		if err := r.add(p, p); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ kind, want string }{
		{"text", "text"},
		{"image", "*"},
		{"event.enter_agent", "event.*"},
		{"event.change_contact.update_user", "event.change_contact.*"},
		{"event.change_contact.some_future_change", "event.change_contact.*"},
		{"event.change_contact", "event.change_contact.*"},
		{"event.change_contact.update_tag", "event.change_contact.update_tag"},
		{"event", "event.*"},
		{"eventful", "*"},
	}
	for _, tt := range tests {
		if got, ok := r.match(tt.kind); !ok || got != tt.want {
			t.Errorf("match(%q) = %q, %v; want %q", tt.kind, got, ok, tt.want)
		}
	}
	var none routes[string]
	if _, ok := none.match("text"); ok {
		t.Error("empty routes matched")
	}
	for _, bad := range []string{"", "text", "event.change_contact.*", "*", "ev*nt", ".*", "a.*.b", "has space"} {
		if err := r.add(bad, bad); err == nil {
			t.Errorf("add(%q): no error (duplicate or invalid)", bad)
		}
	}
}

func TestRegisterPanicsOnWiringBugs(t *testing.T) {
	ib, err := New(storetest.SQLite(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ib.Register("text", func(context.Context, *wecom.Event) error { return nil })
	for name, fn := range map[string]func(){
		"duplicate":   func() { ib.Register("text", func(context.Context, *wecom.Event) error { return nil }) },
		"nil handler": func() { ib.Register("image", nil) },
		"bad pattern": func() { ib.RegisterReply("te*t", HelpReplier("x")) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

func TestHelpReplier(t *testing.T) {
	r := HelpReplier(DefaultHelpText)
	tests := []struct {
		name string
		ev   *wecom.Event
		want bool
	}{
		{"help", textEvent(1, "help"), true},
		{"HELP with spaces", textEvent(1, "  HELP \n"), true},
		{"帮助", textEvent(1, "帮助"), true},
		{"/help", textEvent(1, "/help"), true},
		{"full-width question mark", textEvent(1, "？"), true},
		{"a sentence", textEvent(1, "I need help with my card"), false},
		{"menu click", &wecom.Event{ToUserName: corpID, FromUserName: "lisi", MsgType: "event", Event: "click", EventKey: "help"}, false},
	}
	for _, tt := range tests {
		b, ok := r(tt.ev)
		if ok != tt.want {
			t.Errorf("%s: reply = %v, want %v", tt.name, ok, tt.want)
			continue
		}
		if !ok {
			continue
		}
		rep, err := wecom.ParseReply(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if rep.MsgType != wecom.ReplyText || rep.Content != DefaultHelpText || rep.ToUserName != "zhangsan" ||
			rep.FromUserName != corpID || rep.CreateTime != tt.ev.CreateTime {
			t.Errorf("%s: reply %+v", tt.name, rep)
		}
	}
}

func TestAcceptReplies(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), newClock(), Options{})
	f.ib.RegisterReply(wecom.KindText, HelpReplier("帮助内容"))
	f.ib.RegisterReply(wecom.KindClick, func(*wecom.Event) ([]byte, bool) { panic("broken replier") })
	tests := []struct {
		name      string
		ev        *wecom.Event
		wantReply bool
		duplicate bool
	}{
		{"help", textEvent(1, "help"), true, false},
		{"help re-delivered gets the same answer", textEvent(1, "help"), true, true},
		{"not help", textEvent(2, "hi"), false, false},
		{"panicking replier: stored, no reply", &wecom.Event{ToUserName: corpID, FromUserName: "lisi", CreateTime: 1, MsgType: "event", Event: "click", EventKey: "k"}, false, false},
	}
	var first []byte
	for _, tt := range tests {
		a, err := f.ib.Accept(context.Background(), "oa", tt.ev)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if (a.Reply != nil) != tt.wantReply || a.Duplicate != tt.duplicate || a.ID == 0 {
			t.Errorf("%s: %+v", tt.name, a)
		}
		if tt.wantReply && first == nil {
			first = a.Reply
		} else if tt.wantReply && string(a.Reply) != string(first) {
			t.Errorf("%s: reply %s differs from the first delivery's %s", tt.name, a.Reply, first)
		}
	}
	if f.logs.FilterMessage("replier panicked").Len() != 1 {
		t.Error("the replier's panic was not logged")
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := ExponentialBackoff(2*time.Second, time.Minute)
	tests := []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{1, 2 * time.Second, 3 * time.Second},
		{2, 4 * time.Second, 6 * time.Second},
		{3, 8 * time.Second, 12 * time.Second},
		{6, time.Minute, 90 * time.Second}, // 64 s capped at 60
		{60, time.Minute, 90 * time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if d := b(tt.attempt); d < tt.lo || d > tt.hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.lo, tt.hi)
			}
		}
	}
	if d := ExponentialBackoff(0, 0)(3); d != 0 {
		t.Errorf("zero backoff = %v", d)
	}
}

func TestRunTwiceIsRefused(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), newClock(), Options{})
	f.start(t)
	waitFor(t, "Run to start", func() bool { return f.ib.running.Load() })
	if err := f.ib.Run(context.Background()); err == nil {
		t.Fatal("second Run: no error")
	}
}

func TestGaugeIsSampled(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), newClock(), Options{SampleEvery: 5 * time.Millisecond})
	// No handler for text: the row ends skipped.
	accept(t, f.ib, "oa", textEvent(1, "x"))
	f.start(t)
	waitFor(t, "the skipped gauge", func() bool {
		return value(f.ib.m.rows.WithLabelValues("skipped")) == 1
	})
	if got := value(f.ib.m.rows.WithLabelValues("pending")); got != 0 {
		t.Errorf("pending gauge = %v", got)
	}
}

// value reads a counter or gauge (prometheus/testutil would add a module).
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// TestCrashLoopingRowIsParked: a callback whose handler takes its process
// down never reports an error; its leases just expire. It must still end
// dead after MaxAttempts instead of crashing instances forever.
func TestCrashLoopingRowIsParked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := newClock()
		const lease = time.Minute
		f := newFixture(t, db, clk, Options{Owner: "survivor", Lease: lease, MaxAttempts: 2})
		var c counter
		f.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error { c.add(ctx); return nil })
		id := accept(t, f.ib, "oa", textEvent(1, "poison")).ID
		for i := range 2 { // two instances claim it and die
			if rows, err := db.ClaimInbox(context.Background(), fmt.Sprint("doomed", i), 1, clk.Now(), lease); err != nil || len(rows) != 1 {
				t.Fatalf("claim %d: %v, %v", i, rows, err)
			}
			clk.Advance(lease)
		}
		f.start(t)
		r := waitState(t, db, id, store.InboxDead)
		if c.get(id) != 0 || r.Attempts != 3 || !strings.Contains(r.LastError, "gave up after 2 attempts whose leases expired") {
			t.Errorf("handled %d times; row %+v", c.get(id), r)
		}
	})
}

func TestRetentionPurgesFinishedRows(t *testing.T) {
	clk := newClock()
	f := newFixture(t, storetest.SQLite(t), clk, Options{Retention: time.Hour, SampleEvery: 5 * time.Millisecond})
	f.ib.purgeEvery = 0 // purge at every sample
	f.ib.Register("*", func(context.Context, *wecom.Event) error { return nil })
	done := accept(t, f.ib, "oa", textEvent(1, "old")).ID
	f.start(t)
	waitState(t, f.db, done, store.InboxDone)
	clk.Advance(2 * time.Hour)
	waitFor(t, "the finished row to be purged", func() bool {
		_, err := f.db.GetInbox(context.Background(), done)
		return errors.Is(err, store.ErrNotFound)
	})
	waitFor(t, "the purge line", func() bool { return f.logs.FilterMessage("purged finished inbox rows").Len() == 1 })
}

func TestDatabaseLossDoesNotStopTheDispatcher(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db, newClock(), Options{})
	stop := f.start(t)
	db.Close()
	waitFor(t, "a failed claim to be logged", func() bool {
		return f.logs.FilterMessage("claim failed").FilterLevelExact(zapcore.WarnLevel).Len() >= 1
	})
	stop() // and it still stops cleanly
}

// TestAcceptDeadKeepsWhatCannotBeDispatched: an authentic callback that
// does not parse, or is addressed to another app, is stored as dead (for an
// operator to see), once however often WeCom re-sends it, and never handed
// to a handler.
func TestAcceptDeadKeepsWhatCannotBeDispatched(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, newClock(), Options{})
		var c counter
		f.ib.Register("*", func(ctx context.Context, _ *wecom.Event) error { c.add(ctx); return nil })
		ctx := context.Background()
		garbled := []byte("<xml><ToUserName><![CDATA[" + corpID + "]]></ToUserName><MsgType>text</Msg")
		mismatched := textEvent(1, "for another app")
		mismatched.AgentID = 1000099
		tests := []struct {
			name, reason, wantKind string
			raw                    []byte
		}{
			{"does not parse", "callback does not parse: XML syntax error", KindUnparsed, garbled},
			{"another app's AgentID", "AgentID 1000099 is not app oa's (1000002)", wecom.KindText, mismatched.XML()},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, err := f.ib.AcceptDead(ctx, "oa", tt.raw, tt.reason)
				if err != nil || a.Duplicate || a.Reply != nil {
					t.Fatalf("AcceptDead: %+v, %v", a, err)
				}
				again, err := f.ib.AcceptDead(ctx, "oa", tt.raw, tt.reason)
				if err != nil || !again.Duplicate || again.ID != a.ID {
					t.Fatalf("re-delivery: %+v, %v; want a duplicate of %d", again, err, a.ID)
				}
				r := rowState(t, db, a.ID)
				if r.State != store.InboxDead || r.LastError != tt.reason || r.Kind != tt.wantKind || string(r.Payload) != string(tt.raw) ||
					!strings.HasPrefix(r.DedupKey, "raw:") || len(r.DedupKey) != len("raw:")+32 {
					t.Errorf("row %+v", r)
				}
				if got := value(f.ib.m.acceptedDead.WithLabelValues("oa", tt.wantKind)); got != 1 {
					t.Errorf("accepted_dead{oa,%s} = %v, want 1", tt.wantKind, got)
				}
				warns := f.logs.FilterMessage("authentic callback stored as dead, not dispatched").FilterField(zap.Int64("inbox_id", a.ID))
				if warns.Len() != 1 || warns.All()[0].Level != zapcore.WarnLevel {
					t.Errorf("%d warn lines, want one (none for the duplicate)", warns.Len())
				}
			})
		}
		// The dispatcher never hands them out.
		f.start(t)
		live := accept(t, f.ib, "oa", textEvent(2, "normal")).ID
		waitState(t, db, live, store.InboxDone)
		if c.total() != 1 {
			t.Errorf("handler called %d times, want 1 (only the normal callback)", c.total())
		}
	})
}

func TestRetentionDefaultsAndFloor(t *testing.T) {
	db := storetest.SQLite(t)
	for _, tt := range []struct{ give, want time.Duration }{
		{0, 30 * 24 * time.Hour},
		{time.Minute, MinRetention},
		{48 * time.Hour, 48 * time.Hour},
		{-1, -1},
	} {
		ib, err := New(db, Options{Retention: tt.give})
		if err != nil {
			t.Fatal(err)
		}
		if ib.opts.Retention != tt.want {
			t.Errorf("Retention %v became %v, want %v", tt.give, ib.opts.Retention, tt.want)
		}
	}
	// A callback is accepted within the freshness window around its
	// signature's timestamp: its row must outlive that whole window.
	if MinRetention < time.Hour || MinRetention < wecom.CallbackMaxAge+wecom.CallbackMaxAhead {
		t.Errorf("MinRetention %v is shorter than 1 h or the callback freshness window", MinRetention)
	}
}
