package inbox

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
)

// outcome is a handling whose final state (done, skipped or dead) is to be
// recorded.
type outcome struct {
	lease   store.InboxLease
	kind    string
	outcome string // outcomeDone, outcomeSkipped or outcomeDead
	reason  string // last_error
	log     *zap.Logger
}

func (o outcome) state() store.InboxState {
	switch o.outcome {
	case outcomeDone:
		return store.InboxDone
	case outcomeSkipped:
		return store.InboxSkipped
	}
	return store.InboxDead
}

// maxSettleBatch bounds the rows one FinishInbox transaction records.
const maxSettleBatch = 256

// settler records final outcomes in batches: workers hand it their
// outcomes and go on to the next row, and it writes whatever has gathered
// meanwhile in one transaction per state and reason (group commit: no
// waiting to fill a batch, so an idle inbox records each row at once).
// Every row stays lease-checked: a row another dispatcher took over is left
// alone and counted as lease_lost.
type settler struct {
	ib   *Inbox
	log  *zap.Logger
	in   chan outcome
	quit chan struct{} // stop once what was handed in is written
	gone chan struct{} // closed when run returned

	mu     sync.RWMutex // senders hold it shared; close exclusively
	closed bool
}

func (ib *Inbox) newSettler(log *zap.Logger) *settler {
	return &settler{ib: ib, log: log, in: make(chan outcome, maxSettleBatch), quit: make(chan struct{}), gone: make(chan struct{})}
}

// finish hands o to the settler, or records it at once after the settler
// was closed (a handler that outlived its dispatcher's stop).
func (s *settler) finish(o outcome) {
	s.mu.RLock()
	if !s.closed {
		s.in <- o // the settler receives until close, so this returns
		s.mu.RUnlock()
		return
	}
	s.mu.RUnlock()
	s.write([]outcome{o})
}

func (s *settler) run() {
	defer close(s.gone)
	batch := make([]outcome, 0, maxSettleBatch)
	for {
		select {
		case o := <-s.in:
			batch = append(batch[:0], o)
		case <-s.quit:
			// Nothing is handed in any more: write what is left.
			batch = batch[:0]
			for {
				select {
				case o := <-s.in:
					batch = append(batch, o)
					if len(batch) == maxSettleBatch {
						s.write(batch)
						batch = batch[:0]
					}
				default:
					s.write(batch)
					return
				}
			}
		}
	gather:
		for len(batch) < maxSettleBatch {
			select {
			case o := <-s.in:
				batch = append(batch, o)
			default:
				break gather
			}
		}
		s.write(batch)
	}
}

// close stops the settler and waits until every outcome handed in so far
// is written. Later outcomes (of handlers abandoned at a stop) are written
// by finish itself.
func (s *settler) close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		close(s.quit)
	}
	<-s.gone
}

// write records a batch, one FinishInbox per state and reason.
func (s *settler) write(batch []outcome) {
	if len(batch) == 0 {
		return
	}
	type group struct {
		state  store.InboxState
		reason string
	}
	var order []group
	byGroup := map[group][]outcome{}
	for _, o := range batch {
		g := group{o.state(), o.reason}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], o)
	}
	for _, g := range order {
		os := byGroup[g]
		leases := make([]store.InboxLease, len(os))
		for i, o := range os {
			leases[i] = o.lease
		}
		var lost []store.InboxLease
		err := retryBlip(context.Background(), s.log, os[0].outcome, func(ctx context.Context) error {
			var err error
			lost, err = s.ib.db.FinishInbox(ctx, leases, g.state, g.reason, s.ib.opts.Clock())
			return err
		})
		lostSet := make(map[store.InboxLease]bool, len(lost))
		for _, l := range lost {
			lostSet[l] = true
		}
		for _, o := range os {
			switch {
			case err != nil && !errors.Is(err, store.ErrConflict):
				// The lease will expire and the callback be handled again:
				// at least once, never lost.
				o.log.Error("could not record the outcome; the callback will be retried when its lease expires",
					zap.String("outcome", o.outcome), zap.Int("batch", len(os)), zap.Error(err))
			case lostSet[o.lease]:
				s.ib.m.handled.WithLabelValues(o.kind, outcomeLeaseLost).Inc()
				o.log.Warn("lease lost before the outcome was recorded: another dispatcher has the callback now", zap.String("outcome", o.outcome))
			default:
				s.ib.counted(o.log, o.kind, o.outcome, o.reason)
			}
		}
	}
}
