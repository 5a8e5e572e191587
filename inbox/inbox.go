package inbox

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Handler does the work for one callback. It runs in the dispatcher, after
// WeCom was answered; an error retries the callback later (wrap it with
// Permanent to give up at once). ctx carries the Delivery (DeliveryFrom)
// and ends when the lease is lost, when it could not be renewed (a third of
// it is then still left, the handler's time to return before another
// dispatcher may take the row), or StopGrace after the dispatcher was told
// to stop; a handler must return promptly then.
type Handler func(ctx context.Context, ev *wecom.Event) error

// Replier produces the plaintext passive reply to a callback (e.g. a
// wecom.Reply's XML), or false for none. It runs inside the HTTP request,
// after the callback was committed and also for duplicate deliveries (so a
// re-sent callback gets the same answer), so it must be pure and fast: no
// I/O, no state. The endpoint encrypts what it returns.
type Replier func(ev *wecom.Event) ([]byte, bool)

// Options configures an Inbox. Zero fields take the defaults shown.
type Options struct {
	// Instance is a stable name of this instance, the same across its
	// restarts and different from every other instance running at the same
	// time: serve uses hostname:port. When set, the owner is derived from it
	// and Run first gives back the rows an earlier run of the same instance
	// still held, so a restarted instance resumes them at once instead of
	// waiting a full lease. At most 100 bytes, without "/".
	Instance string
	// Owner names this dispatcher in lease_owner; it must differ between
	// dispatchers, in one process or many. Default: instance (or
	// hostname)/pid/random, unique across containers whose pid is the same.
	Owner string
	// Workers is how many callbacks this dispatcher handles at once. Default 4.
	Workers int
	// Prefetch is the most claimed callbacks that may wait for a free
	// worker: claiming in batches is what lets dispatch keep up with
	// ingest. Within it the queue holds about a second of work at the
	// handlers' recent pace, so slow handlers do not hoard rows. A queued
	// row's lease is renewed before its handler starts if it waited long.
	// Default 64×Workers; negative: none.
	Prefetch int
	// Lease is how long a claim lasts without renewal; the dispatcher renews
	// it every Lease/3 while a handler runs, so it only bounds how long a
	// crashed instance's rows wait. A handler whose lease cannot be renewed
	// is cancelled while a third of it is left. Default 30s.
	Lease time.Duration
	// MaxAttempts is how many attempts a callback gets before it is parked
	// as dead. Default 15 (about an hour with the default backoff).
	MaxAttempts int
	// Poll is how often an idle dispatcher looks for due rows. Accept wakes
	// the dispatcher of its own process at once; Poll bounds the delay for
	// rows accepted by other instances and for retries. Default 1s.
	Poll time.Duration
	// Backoff is the delay before the retry that follows failed attempt n
	// (n >= 1). Default ExponentialBackoff(2*time.Second, 10*time.Minute).
	Backoff func(attempt int) time.Duration
	// StopGrace is how long Run, once its context ends, lets running
	// handlers finish before cancelling their context. Default 5s.
	StopGrace time.Duration
	// Retention is how long Run keeps done and skipped rows after they
	// finished before its sweep deletes them; dead rows stay until requeued
	// or purged by an operator. A finished row is what recognises a
	// re-delivery or a replay, so Retention is never shorter than
	// MinRetention. Default DefaultRetention; negative: keep them forever.
	Retention time.Duration
	// SampleEvery is how often Run samples the row counts for the gauge.
	// Default 15s.
	SampleEvery time.Duration
	// Logger is named "inbox". Default zap.NewNop().
	Logger *zap.Logger
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Clock is the time written to and compared with the database (due
	// times, leases). Default time.Now. Timers (polling, lease renewal) use
	// real time.
	Clock func() time.Time
}

// Retention bounds.
const (
	// DefaultRetention keeps finished rows for 30 days: long enough to look
	// into what happened last month, short enough that the table does not
	// grow without bound.
	DefaultRetention = 30 * 24 * time.Hour
	// MinRetention is the shortest Retention: well beyond WeCom's retries
	// (seconds apart) and the callback freshness window (a request signed at
	// T passes from T-CallbackMaxAhead to T+CallbackMaxAge), so a
	// re-delivery or a replay that the endpoint still accepts always meets
	// its row and is never processed twice.
	MinRetention = max(time.Hour, wecom.CallbackMaxAge+wecom.CallbackMaxAhead)
)

// Inbox accepts callbacks and dispatches them. Its methods are safe for
// concurrent use; Run runs at most once at a time per Inbox.
type Inbox struct {
	db   *store.DB
	opts Options
	log  *zap.Logger
	m    *metrics

	mu       sync.RWMutex
	handlers routes[Handler]
	repliers routes[Replier]

	wake    chan struct{}
	running atomic.Bool
	// renewLease extends a lease (the database's; tests make it fail).
	renewLease func(ctx context.Context, l store.InboxLease, until time.Time) error
	// purgeEvery spaces retention purges (an hour; tests shorten it).
	purgeEvery time.Duration
}

// New returns an Inbox over db (migrated). It fails on an unusable option
// (no database, an owner over 128 bytes) or when the metrics cannot be
// registered.
func New(db *store.DB, opts Options) (*Inbox, error) {
	if db == nil {
		return nil, errors.New("inbox: no database")
	}
	if strings.Contains(opts.Instance, "/") || len(opts.Instance) > 100 {
		return nil, fmt.Errorf("inbox: instance %q must be at most 100 bytes without \"/\"", opts.Instance)
	}
	if opts.Owner == "" {
		opts.Owner = defaultOwner(opts.Instance)
	} else if opts.Instance != "" && !strings.HasPrefix(opts.Owner, ownerPrefix(opts.Instance)) {
		// Releasing the rows of earlier runs finds them by this prefix.
		return nil, fmt.Errorf("inbox: owner %q does not start with %q, the prefix of instance %s", opts.Owner, ownerPrefix(opts.Instance), opts.Instance)
	}
	if len(opts.Owner) > 128 {
		return nil, fmt.Errorf("inbox: owner %q is longer than 128 bytes", opts.Owner)
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	switch {
	case opts.Prefetch == 0:
		opts.Prefetch = 64 * opts.Workers
	case opts.Prefetch < 0:
		opts.Prefetch = 0
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 15
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Backoff == nil {
		opts.Backoff = ExponentialBackoff(2*time.Second, 10*time.Minute)
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	switch {
	case opts.Retention == 0:
		opts.Retention = DefaultRetention
	case opts.Retention > 0 && opts.Retention < MinRetention:
		opts.Retention = MinRetention
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Inbox{
		db:   db,
		opts: opts,
		log:  opts.Logger.Named("inbox"),
		m:    m,
		wake: make(chan struct{}, 1),

		renewLease: db.ExtendInboxLease,
		purgeEvery: time.Hour,
	}, nil
}

// Owner is the name this Inbox's dispatcher leases rows under.
func (ib *Inbox) Owner() string { return ib.opts.Owner }

// ownerPrefix is how the owners of every run of instance begin.
func ownerPrefix(instance string) string { return instance + "/" }

// defaultOwner is instance/pid/random: the pid and the random part tell
// runs and containers apart (containers often all run as pid 1).
func defaultOwner(instance string) string {
	if instance == "" {
		instance, _ = os.Hostname()
		if instance == "" {
			instance = "wecomapp"
		}
		instance = strings.ReplaceAll(instance, "/", "_")
	}
	var b [4]byte
	_, _ = crand.Read(b[:])
	owner := fmt.Sprintf("%s%d/%s", ownerPrefix(instance), os.Getpid(), hex.EncodeToString(b[:]))
	if len(owner) > 128 {
		owner = owner[len(owner)-128:]
	}
	return owner
}

// Register routes callbacks to h by kind (wecom.Event.Kind). The pattern is
// one of:
//
//   - an exact kind: "text", "event.enter_agent",
//     "event.change_contact.update_user";
//   - a prefix ending in ".*": "event.change_contact.*" matches
//     "event.change_contact" itself and every kind that starts with
//     "event.change_contact." (contacts wants every change type, including
//     ones WeCom adds later);
//   - "*": every kind nothing else matches.
//
// The most specific pattern wins: an exact kind, then the longest prefix,
// then "*". Registering a pattern twice, or an invalid one, is a wiring
// bug and panics, as http.ServeMux does. Register may be called while Run
// runs; rows of kinds nobody handles are skipped (see store.InboxSkipped).
func (ib *Inbox) Register(pattern string, h Handler) {
	if h == nil {
		panic("inbox: Register " + pattern + ": nil handler")
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if err := ib.handlers.add(pattern, h); err != nil {
		panic("inbox: Register: " + err.Error())
	}
}

// RegisterReply sets the passive replier for a pattern (same rules as
// Register). One replier per pattern.
func (ib *Inbox) RegisterReply(pattern string, r Replier) {
	if r == nil {
		panic("inbox: RegisterReply " + pattern + ": nil replier")
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if err := ib.repliers.add(pattern, r); err != nil {
		panic("inbox: RegisterReply: " + err.Error())
	}
}

func (ib *Inbox) handler(kind string) (Handler, bool) {
	ib.mu.RLock()
	defer ib.mu.RUnlock()
	return ib.handlers.match(kind)
}

func (ib *Inbox) replier(kind string) (Replier, bool) {
	ib.mu.RLock()
	defer ib.mu.RUnlock()
	return ib.repliers.match(kind)
}

// routes maps patterns to values (see Register).
type routes[T any] struct {
	exact    map[string]T
	prefixes map[string]T // "event.change_contact" for "event.change_contact.*"
	any      *T
}

func (r *routes[T]) add(pattern string, v T) error {
	switch {
	case pattern == "*":
		if r.any != nil {
			return errors.New(`pattern "*" registered twice`)
		}
		r.any = &v
		return nil
	case pattern == "" || strings.ContainsAny(pattern, " \t\r\n"):
		return fmt.Errorf("invalid pattern %q", pattern)
	case strings.HasSuffix(pattern, ".*"):
		stem := strings.TrimSuffix(pattern, ".*")
		if stem == "" || strings.Contains(stem, "*") {
			return fmt.Errorf("invalid pattern %q", pattern)
		}
		if r.prefixes == nil {
			r.prefixes = map[string]T{}
		}
		if _, dup := r.prefixes[stem]; dup {
			return fmt.Errorf("pattern %q registered twice", pattern)
		}
		r.prefixes[stem] = v
		return nil
	case strings.Contains(pattern, "*"):
		return fmt.Errorf("invalid pattern %q: '*' is allowed only as \"*\" or a trailing \".*\"", pattern)
	}
	if r.exact == nil {
		r.exact = map[string]T{}
	}
	if _, dup := r.exact[pattern]; dup {
		return fmt.Errorf("pattern %q registered twice", pattern)
	}
	r.exact[pattern] = v
	return nil
}

func (r *routes[T]) match(kind string) (T, bool) {
	if v, ok := r.exact[kind]; ok {
		return v, true
	}
	// Longest prefix first: walk the kind's dot-separated stems from the
	// longest down.
	for stem := kind; stem != ""; {
		if v, ok := r.prefixes[stem]; ok {
			return v, true
		}
		i := strings.LastIndexByte(stem, '.')
		if i < 0 {
			break
		}
		stem = stem[:i]
	}
	if r.any != nil {
		return *r.any, true
	}
	var zero T
	return zero, false
}

// Accepted is the outcome of Accept.
type Accepted struct {
	// ID is the inbox row, new or (for a duplicate) the one stored before.
	ID int64
	// Duplicate says the callback was stored already: WeCom re-sent it.
	Duplicate bool
	// Reply is the plaintext passive reply from the registered Replier, or
	// nil for none.
	Reply []byte
}

// Accept stores a callback for receiver (the app name, or "contacts")
// unless it was stored before, and returns the passive reply, if any. When
// it returns nil the callback is committed: answering WeCom is safe. The
// event's Raw (the decrypted XML) is what is stored and what handlers get;
// an event without Raw is stored as its XML().
func (ib *Inbox) Accept(ctx context.Context, receiver string, ev *wecom.Event) (Accepted, error) {
	if len(ev.Raw) == 0 {
		cp := *ev
		cp.Raw = ev.XML()
		ev = &cp
	}
	kind, key := ev.Kind(), ev.DedupKey()
	eventKey := ev.EventKey
	if eventKey == "" {
		eventKey = ev.TaskID
	}
	id, isNew, err := ib.db.InsertInbox(ctx, store.InboxMessage{
		Receiver: receiver, DedupKey: key, Kind: kind, FromUser: ev.FromUserName, AgentID: ev.AgentID,
		CreateTime: ev.CreateTime, MsgID: ev.MsgID, EventKey: eventKey, Payload: ev.Raw,
	}, ib.opts.Clock())
	if err != nil {
		return Accepted{}, fmt.Errorf("inbox: accept %s/%s: %w", receiver, key, err)
	}
	a := Accepted{ID: id, Duplicate: !isNew}
	fields := []zap.Field{zap.String("receiver", receiver), zap.String("kind", kind), zap.String("dedup_key", key), zap.Int64("inbox_id", id)}
	if isNew {
		ib.m.accepted.WithLabelValues(receiver, kind).Inc()
		ib.log.Debug("callback accepted", fields...)
		select {
		case ib.wake <- struct{}{}:
		default:
		}
	} else {
		ib.m.duplicates.WithLabelValues(receiver, kind).Inc()
		// WeCom re-sends only what it got no timely answer for: worth seeing.
		ib.log.Info("duplicate callback", fields...)
	}
	a.Reply = ib.reply(ev, kind, fields)
	return a, nil
}

// KindUnparsed is the kind AcceptDead records for a callback that does not
// parse.
const KindUnparsed = "unparsed"

// AcceptDead stores an authentic callback (its signature verified and it
// decrypted) that must not be dispatched: raw does not parse, or its inner
// AgentID or ToUserName does not match receiver. It is kept as a dead row
// with reason as last_error, so nothing WeCom delivered is lost and an
// operator sees it (wecomapp inbox list --state dead); requeueing it
// dispatches it like any other. WeCom's re-deliveries of the same bytes
// collapse on a digest of raw. When it returns nil the endpoint answers
// "success": WeCom would otherwise retry and then drop the callback.
func (ib *Inbox) AcceptDead(ctx context.Context, receiver string, raw []byte, reason string) (Accepted, error) {
	sum := sha256.Sum256(raw)
	key := "raw:" + hex.EncodeToString(sum[:])[:32]
	m := store.InboxMessage{Receiver: receiver, DedupKey: key, Kind: KindUnparsed, Payload: raw, Dead: reason}
	if reason == "" {
		m.Dead = "not dispatched"
	}
	if ev, err := wecom.ParseEvent(raw); err == nil {
		m.Kind, m.FromUser, m.AgentID, m.CreateTime, m.MsgID = ev.Kind(), ev.FromUserName, ev.AgentID, ev.CreateTime, ev.MsgID
		m.EventKey = ev.EventKey
		if m.EventKey == "" {
			m.EventKey = ev.TaskID
		}
	}
	id, isNew, err := ib.db.InsertInbox(ctx, m, ib.opts.Clock())
	if err != nil {
		return Accepted{}, fmt.Errorf("inbox: accept dead %s/%s: %w", receiver, key, err)
	}
	fields := []zap.Field{zap.String("receiver", receiver), zap.String("kind", m.Kind), zap.String("dedup_key", key),
		zap.Int64("inbox_id", id), zap.String("reason", m.Dead)}
	if isNew {
		ib.m.acceptedDead.WithLabelValues(receiver, m.Kind).Inc()
		ib.log.Warn("authentic callback stored as dead, not dispatched", fields...)
	} else {
		ib.m.duplicates.WithLabelValues(receiver, m.Kind).Inc()
		ib.log.Debug("duplicate of a callback stored as dead", fields...)
	}
	return Accepted{ID: id, Duplicate: !isNew}, nil
}

// reply runs the replier for kind. A panicking replier costs the member
// the reply, never the acknowledgement of a stored callback.
func (ib *Inbox) reply(ev *wecom.Event, kind string, fields []zap.Field) (out []byte) {
	r, ok := ib.replier(kind)
	if !ok {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			ib.log.Error("replier panicked", append(fields, zap.String("panic", fmt.Sprint(p)), zap.Stack("stack"))...)
			out = nil
		}
	}()
	b, ok := r(ev)
	if !ok || len(b) == 0 {
		return nil
	}
	return b
}

// Delivery describes the callback a Handler is working on.
type Delivery struct {
	ID         int64  // inbox row
	Receiver   string // app name, or "contacts"
	Kind       string
	DedupKey   string
	Attempt    int // 1 for the first
	ReceivedAt time.Time
}

type deliveryKey struct{}

// DeliveryFrom returns the Delivery of the callback a Handler's ctx belongs
// to; a handler that serves several apps reads the receiver here.
func DeliveryFrom(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}

// Permanent marks a handler error as not worth retrying: the callback is
// parked as dead at once. errors.Is and errors.As see through it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ExponentialBackoff returns a Backoff of base·2^(n-1), capped at max, plus
// up to half as much again of random jitter so that rows failing together
// (WeCom down) do not come back together.
func ExponentialBackoff(base, max time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		if d <= 0 {
			return 0
		}
		return d + rand.N(d/2+1)
	}
}
