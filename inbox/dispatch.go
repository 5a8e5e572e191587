package inbox

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Handling outcomes, the outcome label of wecomapp_inbox_handled_total.
const (
	outcomeDone      = "done"       // handler succeeded
	outcomeRetry     = "retry"      // handler failed, retried later
	outcomeDead      = "dead"       // handler failed for the last time (or permanently)
	outcomeSkipped   = "skipped"    // no handler for the kind
	outcomeReleased  = "released"   // dispatcher stopping cut the handler short; not counted as an attempt
	outcomeLeaseLost = "lease_lost" // another dispatcher took the row over meanwhile
)

// writeTimeout bounds the database writes that record an outcome. They do
// not use the dispatcher's context: a handler that finished during a stop
// must still get its row marked.
const writeTimeout = 10 * time.Second

// Run dispatches callbacks until ctx ends: it claims due rows in batches
// with a lease, keeps up to Prefetch of them queued beyond the ones its
// Workers are handling, hands each to its handler, renews the lease while
// the handler runs, and records the outcomes (successes many rows per
// commit). Several dispatchers, in one process or many, may run over one
// database. With Options.Instance set it first gives back the rows an
// earlier run of the same instance still held, so a restart resumes them at
// once rather than after their leases. A background sweep samples the row
// gauge and deletes finished rows older than Retention.
//
// When ctx ends Run claims nothing more, gives back the queued rows, gives
// running handlers StopGrace to finish, then cancels their context; rows
// whose handler returned because of that go back to pending without
// counting an attempt. A handler that ignores its context is abandoned
// after one more second: Run returns, the lease is no longer renewed, and
// another dispatcher retries the row once it expires. Run returns nil after
// a stop; it returns an error only when called while already running.
func (ib *Inbox) Run(ctx context.Context) error {
	if !ib.running.CompareAndSwap(false, true) {
		return fmt.Errorf("inbox: dispatcher %s is already running", ib.opts.Owner)
	}
	defer ib.running.Store(false)
	o := ib.opts
	log := ib.log.With(zap.String("owner", o.Owner))
	log.Info("dispatcher started", zap.Int("workers", o.Workers), zap.Int("prefetch", o.Prefetch), zap.Duration("lease", o.Lease),
		zap.Int("max_attempts", o.MaxAttempts), zap.Duration("retention", o.Retention))
	ib.releaseOwn(ctx, log)

	// Handlers get a context that outlives ctx by StopGrace, so a stop lets
	// them finish the row they are on rather than abandon it half-done.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	capacity := o.Workers + o.Prefetch
	queue := make(chan store.InboxRow, capacity)
	finished := make(chan struct{}, capacity) // one per row held; never blocks
	st := ib.newSettler(log)
	go st.run()
	var stopping atomic.Bool
	var pace pace
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() {
			for r := range queue {
				if stopping.Load() {
					ib.releaseQueued(r, log)
				} else {
					start := time.Now()
					ib.process(hctx, r, log, st)
					pace.observe(time.Since(start))
				}
				finished <- struct{}{}
			}
		})
	}
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		ib.sweep(ctx, log)
	}()

	poll := time.NewTimer(0)
	defer poll.Stop()
	held := 0        // rows claimed and not yet finished: queued or being handled
	drained := false // the last claim found fewer due rows than it asked for
	claimNow := true // a wake-up, a poll or a start: look for rows
	failures := 0    // consecutive failed claims
	for {
		// Claim when the queue runs low: in batches, so that one
		// transaction leases many rows. After a claim came back short,
		// wait for a wake-up or the poll instead of asking again at every
		// finished row.
		prefetch := pace.prefetch(o.Workers, o.Prefetch)
		if held <= o.Workers+prefetch/2 && (claimNow || !drained) {
			claimNow = false
			want := o.Workers + prefetch - held
			rows, err := ib.db.ClaimInbox(ctx, o.Owner, want, o.Clock(), o.Lease)
			wait := o.Poll
			if err != nil && ctx.Err() == nil {
				// The database is away: back off (up to 30 s) rather than
				// log a warning every Poll. Accepts still wake us.
				failures++
				wait = min(o.Poll<<min(failures, 10), max(o.Poll, 30*time.Second))
				log.Warn("claim failed", zap.Error(err), zap.Int("failures", failures), zap.Duration("next_try", wait))
			} else {
				failures = 0
			}
			drained = err != nil || len(rows) < want
			for _, r := range rows {
				held++
				queue <- r // within capacity: never blocks
			}
			poll.Reset(wait)
		}
		select {
		case <-ctx.Done():
			stopping.Store(true)
			close(queue)
			// Give back what no worker started, without waiting for busy
			// workers to get to it (they release what they still pick up).
			for r := range queue {
				ib.releaseQueued(r, log)
			}
			ib.stop(&wg, hcancel, held, log)
			st.close()
			<-sweepDone
			log.Info("dispatcher stopped")
			return nil
		case <-finished:
			held--
		case <-ib.wake:
			claimNow = true
		case <-poll.C:
			claimNow = true
		}
	}
}

// prefetchBudget is about how long a claimed row may wait in the queue for
// a worker: the queue holds what the workers get through in that time at
// their recent pace, so fast handlers get large claims (dispatch keeps up
// with ingest) and slow ones small claims (rows are not hoarded by a busy
// instance while another one's workers are idle, and wait far less than
// a lease).
const prefetchBudget = time.Second

// pace is a moving average of the time a worker spends on a row.
type pace struct{ avg atomic.Int64 } // nanoseconds; 0 until the first row

func (p *pace) observe(d time.Duration) {
	d = max(d, time.Microsecond)
	for {
		old := p.avg.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/8
		}
		if p.avg.CompareAndSwap(old, next) {
			return
		}
	}
}

// prefetch is how many rows to keep queued beyond the busy workers: what
// they handle in prefetchBudget, at most limit (one per worker before the
// first row was timed).
func (p *pace) prefetch(workers, limit int) int {
	avg := p.avg.Load()
	if avg <= 0 {
		return min(workers, limit)
	}
	return int(min(int64(prefetchBudget)*int64(workers)/avg, int64(limit)))
}

// releaseOwn gives back the rows an earlier run of this instance held.
func (ib *Inbox) releaseOwn(ctx context.Context, log *zap.Logger) {
	if ib.opts.Instance == "" {
		return
	}
	n, err := ib.db.ReleaseInstanceInbox(ctx, ownerPrefix(ib.opts.Instance), ib.opts.Owner, ib.opts.Clock())
	switch {
	case err != nil && ctx.Err() == nil:
		// Not fatal: those rows come back when their leases run out.
		log.Warn("could not release the rows an earlier run of this instance held", zap.String("instance", ib.opts.Instance), zap.Error(err))
	case n > 0:
		log.Info("released the rows an earlier run of this instance held", zap.String("instance", ib.opts.Instance), zap.Int64("rows", n))
	}
}

// releaseQueued gives back a row claimed but not started when the
// dispatcher stops; the claim does not count as an attempt.
func (ib *Inbox) releaseQueued(r store.InboxRow, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := ib.db.ReleaseInbox(ctx, r.Lease(), ib.opts.Clock()); err != nil && !errors.Is(err, store.ErrConflict) {
		log.Warn("could not give back a queued callback; it is retried when its lease expires", zap.Int64("inbox_id", r.ID), zap.Error(err))
	}
}

// sweep samples the row gauge every SampleEvery and, every purgeEvery,
// deletes finished rows older than Retention, until ctx ends. It runs beside
// the dispatch loop, so a long purge never holds up dispatching.
func (ib *Inbox) sweep(ctx context.Context, log *zap.Logger) {
	t := time.NewTicker(ib.opts.SampleEvery)
	defer t.Stop()
	ib.sample(ctx, log)
	var lastPurge time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ib.sample(ctx, log)
		if ib.opts.Retention > 0 && time.Since(lastPurge) >= ib.purgeEvery {
			lastPurge = time.Now()
			ib.purge(ctx, log)
		}
	}
}

func (ib *Inbox) stop(wg *sync.WaitGroup, hcancel context.CancelFunc, held int, log *zap.Logger) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	if held > 0 {
		log.Info("dispatcher stopping: letting running handlers finish", zap.Int("held", held), zap.Duration("grace", ib.opts.StopGrace))
	}
	grace := time.NewTimer(ib.opts.StopGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		hcancel()
		select {
		case <-done:
		case <-time.After(time.Second):
			log.Warn("dispatcher stopped with handlers still running: their rows will be retried when their leases expire")
		}
	}
}

// process handles one claimed row and records the outcome.
func (ib *Inbox) process(ctx context.Context, r store.InboxRow, base *zap.Logger, st *settler) {
	o := ib.opts
	log := base.With(zap.String("receiver", r.Receiver), zap.String("kind", r.Kind), zap.String("dedup_key", r.DedupKey),
		zap.Int64("inbox_id", r.ID), zap.Int("attempt", r.Attempts))
	l := r.Lease()
	received := store.Time(r.ReceivedAt)
	if r.Attempts == 1 {
		ib.m.latency.Observe(o.Clock().Sub(received).Seconds())
	}
	if r.Reclaimed {
		log.Warn("took over a callback whose lease expired", zap.String("last_error", r.LastError))
	}
	if r.Attempts > o.MaxAttempts {
		// Every attempt so far ended with an expired lease, not an error:
		// the handler crashed or hung its process each time. Stop feeding it.
		msg := fmt.Sprintf("gave up after %d attempts whose leases expired (did the handler crash or hang its process?)", r.Attempts-1)
		if r.LastError != "" {
			msg += "; last error: " + r.LastError
		}
		st.finish(outcome{lease: l, kind: r.Kind, outcome: outcomeDead, reason: msg, log: log})
		return
	}
	ev, err := wecom.ParseEvent(r.Payload)
	if err != nil {
		// Retrying cannot help: the bytes will not change.
		msg := "stored payload does not parse: " + err.Error()
		st.finish(outcome{lease: l, kind: r.Kind, outcome: outcomeDead, reason: msg, log: log})
		return
	}
	kind := ev.Kind()
	h, ok := ib.handler(kind)
	if !ok {
		st.finish(outcome{lease: l, kind: kind, outcome: outcomeSkipped, reason: "no handler registered for kind " + kind, log: log})
		return
	}
	// A row that waited in the queue has used part of its lease: renew it
	// before starting, so the handler gets a full lease.
	until := store.Time(r.LeaseUntil)
	if left := until.Sub(o.Clock()); left < 2*o.Lease/3 {
		next := o.Clock().Add(o.Lease)
		err := ib.extendLease(ctx, l, next, max(left-o.Lease/3, o.Lease/12))
		switch {
		case errors.Is(err, store.ErrConflict):
			ib.m.handled.WithLabelValues(kind, outcomeLeaseLost).Inc()
			log.Warn("lease lost while the callback was queued: another dispatcher has it now")
			return
		case err != nil && left < o.Lease/3:
			ib.m.handled.WithLabelValues(kind, outcomeLeaseLost).Inc()
			log.Warn("could not renew the lease of a queued callback; not handling it, it is retried when the lease expires", zap.Error(err))
			return
		case err == nil:
			until = next
		}
	}

	d := Delivery{ID: r.ID, Receiver: r.Receiver, Kind: kind, DedupKey: r.DedupKey, Attempt: r.Attempts, ReceivedAt: received}
	start := time.Now()
	res, err := ib.call(ctx, h, ev, d, l, until, log)
	ib.m.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	var pe *panicError
	if errors.As(err, &pe) {
		ib.m.panics.WithLabelValues(kind).Inc()
		log.Error("handler panicked", zap.String("panic", pe.value), zap.String("stack", pe.stack))
	}
	switch {
	case res == leaseLost:
		ib.m.handled.WithLabelValues(kind, outcomeLeaseLost).Inc()
		log.Warn("lease lost while handling: another dispatcher has the callback now", zap.NamedError("handler_error", err))
	case err == nil:
		st.finish(outcome{lease: l, kind: kind, outcome: outcomeDone, log: log})
	case res == leaseUnrenewed:
		// The handler was cancelled before the lease could run out, so no
		// other dispatcher can be handling the row yet. Count the attempt
		// and let it come back; if the database is still away, the write
		// fails and the row returns when the lease expires instead.
		msg := "the lease could not be renewed, so the handler was cancelled before another instance could take the callback: " + err.Error()
		ib.retryOrBury(ctx, log, r, kind, l, msg, false)
	case ctx.Err() != nil && pe == nil:
		ib.settle(ctx, log, kind, outcomeReleased, err.Error(), func(ctx context.Context) error {
			return ib.db.ReleaseInbox(ctx, l, o.Clock())
		})
	default:
		ib.retryOrBury(ctx, log, r, kind, l, err.Error(), IsPermanent(err))
	}
}

// retryOrBury schedules a failed attempt's retry, or parks the row as dead
// when the error is permanent or the attempts are used up.
func (ib *Inbox) retryOrBury(ctx context.Context, log *zap.Logger, r store.InboxRow, kind string, l store.InboxLease, msg string, permanent bool) {
	o := ib.opts
	if permanent || r.Attempts >= o.MaxAttempts {
		ib.settle(ctx, log, kind, outcomeDead, msg, func(ctx context.Context) error {
			return ib.db.MarkInboxDead(ctx, l, msg, o.Clock())
		})
		return
	}
	wait := max(o.Backoff(r.Attempts), 0)
	log = log.With(zap.Duration("retry_in", wait))
	ib.settle(ctx, log, kind, outcomeRetry, msg, func(ctx context.Context) error {
		return ib.db.RetryInbox(ctx, l, msg, o.Clock().Add(wait))
	})
}

// settle records an outcome, counts it and logs it at the level it deserves.
func (ib *Inbox) settle(ctx context.Context, log *zap.Logger, kind, outcome, msg string, write func(context.Context) error) {
	err := retryBlip(ctx, log, outcome, write)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			ib.m.handled.WithLabelValues(kind, outcomeLeaseLost).Inc()
			log.Warn("lease lost before the outcome was recorded: another dispatcher has the callback now", zap.String("outcome", outcome))
			return
		}
		// The lease will expire and the callback be handled again: at
		// least once, never lost.
		log.Error("could not record the outcome; the callback will be retried when its lease expires", zap.String("outcome", outcome), zap.Error(err))
		return
	}
	ib.counted(log, kind, outcome, msg)
}

// retryBlip runs write with writeTimeout, trying a few more times, briefly,
// when it fails other than with a lost lease: a database blip should not
// cost a full lease and a second handling.
func retryBlip(ctx context.Context, log *zap.Logger, outcome string, write func(context.Context) error) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	err := write(wctx)
	for pause := 50 * time.Millisecond; err != nil && !errors.Is(err, store.ErrConflict) && pause <= 400*time.Millisecond; pause *= 2 {
		log.Warn("recording the outcome failed; trying again", zap.String("outcome", outcome), zap.Error(err))
		select {
		case <-wctx.Done():
		case <-time.After(pause):
		}
		if wctx.Err() != nil {
			break
		}
		err = write(wctx)
	}
	return err
}

// counted counts and logs an outcome that was recorded.
func (ib *Inbox) counted(log *zap.Logger, kind, outcome, msg string) {
	ib.m.handled.WithLabelValues(kind, outcome).Inc()
	switch outcome {
	case outcomeDone:
		log.Debug("callback handled")
	case outcomeRetry:
		log.Warn("handler failed; will retry", zap.String("error", msg))
	case outcomeDead:
		log.Error("callback parked as dead", zap.String("error", msg))
	case outcomeSkipped:
		// Kinds nobody handles (yet) are routine: WeCom sends events an app
		// never asked for. A metric, not a warning per callback.
		ib.m.unhandled.WithLabelValues(kind).Inc()
		log.Debug("no handler for this kind; callback kept as skipped")
	case outcomeReleased:
		log.Info("dispatcher stopping: callback released for another attempt", zap.String("error", msg))
	}
}

// How a handler's call ended, as far as the lease goes.
type callResult int

const (
	leaseHeld      callResult = iota
	leaseLost                 // another dispatcher took the row over
	leaseUnrenewed            // renewals failed; the handler was cancelled while the lease still ran
)

// extendLease renews l to until, bounding the write by timeout (at most
// Lease/3, and at least a millisecond). Tests replace renewLease.
func (ib *Inbox) extendLease(ctx context.Context, l store.InboxLease, until time.Time, timeout time.Duration) error {
	timeout = min(max(timeout, time.Millisecond), ib.opts.Lease/3)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return ib.renewLease(wctx, l, until)
}

// call runs h with the delivery in its context and keeps the lease (held
// until until) renewed meanwhile: every Lease/3, and after a failed renewal
// every Lease/12. It cancels the handler's context when the lease is lost,
// and also when renewals kept failing until less than Lease/3 is left: the
// handler then has that third to return before another dispatcher may take
// the row, so no row is handled by two dispatchers at once (a handler that
// ignores its context defeats this).
func (ib *Inbox) call(ctx context.Context, h Handler, ev *wecom.Event, d Delivery, l store.InboxLease, until time.Time, log *zap.Logger) (callResult, error) {
	o := ib.opts
	hctx, cancel := context.WithCancel(context.WithValue(ctx, deliveryKey{}, d))
	defer cancel()
	var result atomic.Int32
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		// The first renewal is due when two thirds of the lease are left
		// (at once for a lease that could not be renewed before the start).
		retry := max(o.Lease/12, time.Millisecond)
		t := time.NewTimer(min(max(until.Sub(o.Clock())-2*o.Lease/3, retry), o.Lease/3))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				// Abandoned at a stop: let the lease run out so another
				// dispatcher can retry the row.
				return
			case <-t.C:
			}
			// The renewal may take until a third of the lease is left,
			// and at least a twelfth of it (after a stall the last try
			// still gets a chance: the lease check is the row's owner, so
			// it succeeds only if nobody took the row over).
			left := until.Sub(o.Clock())
			next := o.Clock().Add(o.Lease)
			err := ib.extendLease(ctx, l, next, max(left-o.Lease/3, retry))
			switch {
			case err == nil:
				until = next
				t.Reset(o.Lease / 3)
				continue
			case errors.Is(err, store.ErrConflict):
				result.Store(int32(leaseLost))
				cancel()
				return
			}
			if left = until.Sub(o.Clock()); left < o.Lease/3 {
				result.Store(int32(leaseUnrenewed))
				log.Warn("lease renewals failed until less than a third of the lease was left: cancelling the handler",
					zap.Duration("lease_left", left), zap.Error(err))
				cancel()
				return
			}
			log.Warn("lease renewal failed; trying again", zap.Error(err), zap.Duration("lease_left", left))
			t.Reset(retry)
		}
	}()
	err := safeCall(hctx, h, ev)
	close(stop)
	<-renewed
	return callResult(result.Load()), err
}

// safeCall turns a handler's panic into an error, so one bad event cannot
// stop the dispatcher.
func safeCall(ctx context.Context, h Handler, ev *wecom.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: fmt.Sprint(p), stack: shortStack(debug.Stack())}
		}
	}()
	return h(ctx, ev)
}

// panicError is a recovered handler panic.
type panicError struct {
	value string
	stack string
}

func (e *panicError) Error() string { return "panic: " + e.value + "\n" + e.stack }

// shortStack keeps the frames between the panic and the dispatcher: where
// the handler went wrong, without the runtime's and our own frames, and
// without the program counter offsets, so it fits last_error.
func shortStack(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	start := 0
	for i, ln := range lines {
		if strings.HasPrefix(ln, "panic(") {
			start = i + 2 // the panic frame and its file line
			break
		}
	}
	var b strings.Builder
	frames := 0
	for i := start; i+1 < len(lines) && frames < 8; i += 2 {
		fn, file := lines[i], strings.TrimSpace(lines[i+1])
		if strings.HasPrefix(fn, "github.com/wecomapp/wecomapp/inbox.safeCall") {
			break
		}
		if j := strings.LastIndex(file, " +0x"); j > 0 {
			file = file[:j]
		}
		if k := strings.LastIndexByte(fn, '('); k > 0 {
			fn = fn[:k]
		}
		fmt.Fprintf(&b, "%s\n\t%s\n", fn, file)
		frames++
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// sample updates the row gauge.
func (ib *Inbox) sample(ctx context.Context, log *zap.Logger) {
	c, err := ib.db.CountInbox(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("counting inbox rows failed", zap.Error(err))
		}
		return
	}
	for s, n := range c {
		ib.m.rows.WithLabelValues(string(s)).Set(float64(n))
	}
}

// purge deletes finished rows older than Retention, in batches so no
// statement holds the table for long.
func (ib *Inbox) purge(ctx context.Context, log *zap.Logger) {
	const batch = 1000
	before := ib.opts.Clock().Add(-ib.opts.Retention)
	var total int64
	for ctx.Err() == nil {
		n, err := ib.db.PurgeInbox(ctx, before, batch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("purging finished inbox rows failed", zap.Error(err))
			}
			break
		}
		if n < batch {
			break
		}
	}
	if total > 0 {
		log.Info("purged finished inbox rows", zap.Int64("rows", total), zap.Time("finished_before", before))
	}
}

// Requeue puts a dead or skipped callback back in the queue, due now, with
// its attempts reset (an operator's "try again"). It fails with
// store.ErrNotFound or store.ErrConflict (not dead or skipped).
func (ib *Inbox) Requeue(ctx context.Context, id int64) error {
	if err := ib.db.RequeueInbox(ctx, id, ib.opts.Clock()); err != nil {
		return fmt.Errorf("inbox: requeue %d: %w", id, err)
	}
	ib.log.Info("callback requeued", zap.Int64("inbox_id", id))
	select {
	case ib.wake <- struct{}{}:
	default:
	}
	return nil
}
