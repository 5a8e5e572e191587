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

// Run dispatches callbacks until ctx ends: it claims due rows (up to
// Workers at a time) with a lease, hands each to its handler, renews the
// lease while the handler runs, and records the outcome. Several
// dispatchers, in one process or many, may run over one database.
//
// When ctx ends Run claims nothing more, gives running handlers StopGrace
// to finish, then cancels their context; rows whose handler returned
// because of that go back to pending without counting an attempt. A
// handler that ignores its context is abandoned after one more second:
// Run returns, the lease is no longer renewed, and another dispatcher
// retries the row once it expires. Run returns nil after a stop; it returns
// an error only when called while already running.
func (ib *Inbox) Run(ctx context.Context) error {
	if !ib.running.CompareAndSwap(false, true) {
		return fmt.Errorf("inbox: dispatcher %s is already running", ib.opts.Owner)
	}
	defer ib.running.Store(false)
	o := ib.opts
	log := ib.log.With(zap.String("owner", o.Owner))
	log.Info("dispatcher started", zap.Int("workers", o.Workers), zap.Duration("lease", o.Lease), zap.Int("max_attempts", o.MaxAttempts))

	// Handlers get a context that outlives ctx by StopGrace, so a stop lets
	// them finish the row they are on rather than abandon it half-done.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	finished := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	inflight := 0

	poll := time.NewTimer(0)
	defer poll.Stop()
	sample := time.NewTicker(o.SampleEvery)
	defer sample.Stop()
	ib.sample(ctx, log)
	var lastPurge time.Time
	failures := 0 // consecutive failed claims

	for {
		if free := o.Workers - inflight; free > 0 {
			rows, err := ib.db.ClaimInbox(ctx, o.Owner, free, o.Clock(), o.Lease)
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
			for _, r := range rows {
				inflight++
				wg.Go(func() {
					ib.process(hctx, r, log)
					finished <- struct{}{}
				})
			}
			poll.Reset(wait)
		}
		select {
		case <-ctx.Done():
			ib.stop(&wg, hcancel, inflight, log)
			return nil
		case <-finished:
			inflight--
		case <-ib.wake:
		case <-poll.C:
		case <-sample.C:
			ib.sample(ctx, log)
			if o.Retention > 0 && time.Since(lastPurge) >= ib.purgeEvery {
				lastPurge = time.Now()
				ib.purge(ctx, log)
			}
		}
	}
}

func (ib *Inbox) stop(wg *sync.WaitGroup, hcancel context.CancelFunc, inflight int, log *zap.Logger) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	if inflight > 0 {
		log.Info("dispatcher stopping: letting running handlers finish", zap.Int("running", inflight), zap.Duration("grace", ib.opts.StopGrace))
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
	log.Info("dispatcher stopped")
}

// process handles one claimed row and records the outcome.
func (ib *Inbox) process(ctx context.Context, r store.InboxRow, base *zap.Logger) {
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
		ib.settle(ctx, log, r.Kind, outcomeDead, msg, func(ctx context.Context) error {
			return ib.db.MarkInboxDead(ctx, l, msg, o.Clock())
		})
		return
	}
	ev, err := wecom.ParseEvent(r.Payload)
	if err != nil {
		// It parsed when it was accepted; retrying cannot help.
		msg := "stored payload does not parse: " + err.Error()
		ib.settle(ctx, log, r.Kind, outcomeDead, msg, func(ctx context.Context) error {
			return ib.db.MarkInboxDead(ctx, l, msg, o.Clock())
		})
		return
	}
	kind := ev.Kind()
	h, ok := ib.handler(kind)
	if !ok {
		msg := "no handler registered for kind " + kind
		ib.settle(ctx, log, kind, outcomeSkipped, msg, func(ctx context.Context) error {
			return ib.db.SkipInbox(ctx, l, msg, o.Clock())
		})
		return
	}

	d := Delivery{ID: r.ID, Receiver: r.Receiver, Kind: kind, DedupKey: r.DedupKey, Attempt: r.Attempts, ReceivedAt: received}
	start := time.Now()
	lost, err := ib.call(ctx, h, ev, d, l, log)
	ib.m.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	var pe *panicError
	if errors.As(err, &pe) {
		ib.m.panics.WithLabelValues(kind).Inc()
		log.Error("handler panicked", zap.String("panic", pe.value), zap.String("stack", pe.stack))
	}
	switch {
	case lost:
		ib.m.handled.WithLabelValues(kind, outcomeLeaseLost).Inc()
		log.Warn("lease lost while handling: another dispatcher has the callback now", zap.NamedError("handler_error", err))
	case err == nil:
		ib.settle(ctx, log, kind, outcomeDone, "", func(ctx context.Context) error {
			return ib.db.CompleteInbox(ctx, l, o.Clock())
		})
	case ctx.Err() != nil && pe == nil:
		ib.settle(ctx, log, kind, outcomeReleased, err.Error(), func(ctx context.Context) error {
			return ib.db.ReleaseInbox(ctx, l, o.Clock())
		})
	case IsPermanent(err) || r.Attempts >= o.MaxAttempts:
		ib.settle(ctx, log, kind, outcomeDead, err.Error(), func(ctx context.Context) error {
			return ib.db.MarkInboxDead(ctx, l, err.Error(), o.Clock())
		})
	default:
		wait := max(o.Backoff(r.Attempts), 0)
		log = log.With(zap.Duration("retry_in", wait))
		ib.settle(ctx, log, kind, outcomeRetry, err.Error(), func(ctx context.Context) error {
			return ib.db.RetryInbox(ctx, l, err.Error(), o.Clock().Add(wait))
		})
	}
}

// settle records an outcome, counts it and logs it at the level it deserves.
func (ib *Inbox) settle(ctx context.Context, log *zap.Logger, kind, outcome, msg string, write func(context.Context) error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	err := write(wctx)
	// A database blip should not cost a full lease and a second handling:
	// try a few more times, briefly.
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
	ib.m.handled.WithLabelValues(kind, outcome).Inc()
	switch outcome {
	case outcomeDone:
		log.Debug("callback handled")
	case outcomeRetry:
		log.Warn("handler failed; will retry", zap.String("error", msg))
	case outcomeDead:
		log.Error("callback parked as dead", zap.String("error", msg))
	case outcomeSkipped:
		log.Warn("no handler for this kind; callback kept as skipped")
	case outcomeReleased:
		log.Info("dispatcher stopping: callback released for another attempt", zap.String("error", msg))
	}
}

// call runs h with the delivery in its context, renewing the lease every
// Lease/3 meanwhile, and reports whether the lease was lost (the handler's
// context is then cancelled).
func (ib *Inbox) call(ctx context.Context, h Handler, ev *wecom.Event, d Delivery, l store.InboxLease, log *zap.Logger) (lost bool, err error) {
	hctx, cancel := context.WithCancel(context.WithValue(ctx, deliveryKey{}, d))
	defer cancel()
	var lostLease atomic.Bool
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(ib.opts.Lease / 3)
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
			wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), ib.opts.Lease/3)
			err := ib.db.ExtendInboxLease(wctx, l, ib.opts.Clock().Add(ib.opts.Lease))
			wcancel()
			switch {
			case errors.Is(err, store.ErrConflict):
				lostLease.Store(true)
				cancel()
				return
			case err != nil:
				log.Warn("lease renewal failed; trying again", zap.Error(err))
			}
		}
	}()
	err = safeCall(hctx, h, ev)
	close(stop)
	<-renewed
	return lostLease.Load(), err
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
