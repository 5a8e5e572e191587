package native

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// LockKey is the coord lock a push round holds: one instance pushes at a
// time.
const LockKey = "workbench:native:push"

const (
	// window is the per-member limit's rolling period.
	window = time.Minute
	// claimLimit bounds the members one claim takes; a round claims again
	// while there are more.
	claimLimit = 5000
	// lease is the push lock's lease, extended between claims and batches.
	lease = 30 * time.Second
	// singleTimeout bounds one set_workbench_data: the client's own
	// per-member quota then answers wecom.ErrRateLimited at once instead
	// of holding the round while it refills (the member is deferred).
	singleTimeout = 5 * time.Second
	// batchTimeout bounds one batch call, its retries included, inside
	// the lease extended just before it.
	batchTimeout = 20 * time.Second
	// singlesPerLease is how many single pushes go between two lease
	// extensions (8 at a time, each under singleTimeout: well inside it).
	singlesPerLease = 40
	// workers compute figures and send single pushes in parallel.
	workers = 8
	// Failure backoff: 5 s doubling per attempt up to 10 min.
	baseBackoff = 5 * time.Second
	maxBackoff  = 10 * time.Minute
)

// Figure is one key figure of a member's tile.
type Figure struct {
	// Key is the label shown, e.g. "未读通知"; it matches a Label.
	Key   string
	Value int
	// JumpURL is where tapping the figure leads; "" keeps the Label's.
	JumpURL string
}

// FiguresFunc computes the figures of one member from our own records.
// Figures whose Key is not a Label are ignored; Labels without a figure
// show the Label's value.
type FiguresFunc func(ctx context.Context, userID string) ([]Figure, error)

// Options configures a Pusher.
type Options struct {
	DB      *store.DB
	App     *wecom.Client // the app whose tile is kept (its agentid)
	Coord   coord.Store
	Figures FiguresFunc
	// Labels are the template's items, in tile order (1 to 4), with the
	// corp-wide default values (normally 0) and jump URLs.
	Labels []Figure
	Logger *zap.Logger      // nil discards
	Now    func() time.Time // nil: time.Now
	// PerMemberPerMinute bounds pushes to one member in any rolling
	// minute (default 10, WeCom's limit for set_workbench_data; batch
	// pushes count too). Pushes beyond it wait, coalesced.
	PerMemberPerMinute int
	// Batch is how long touches are gathered before a push round
	// (default 1 s): Run starts a round every Batch.
	Batch time.Duration
}

// Pusher keeps the members' workbench tiles current. It is safe for
// concurrent use.
type Pusher struct {
	opts Options
	log  *zap.Logger
	now  func() time.Time
}

// Stats counts the members the Pusher knows of.
type Stats struct {
	// Dirty members wait for a push (Retrying of them after a failed one).
	Dirty int
	// Pushed members' tiles show their figures as of their last push.
	Pushed int
	// Failed members were refused by WeCom for good (outside the app's
	// visible range, unknown userid); their last_error says why. They are
	// tried again only when touched again.
	Failed   int
	Retrying int
}

// RoundResult says what one push round did.
type RoundResult struct {
	Claimed   int // dirty members taken
	Pushed    int // members whose tile was set
	Unchanged int // members whose payload was what WeCom shows already
	Deferred  int // members over their per-member limit, left for later
	Failed    int // members whose push failed, to be retried
	Refused   int // members WeCom refused for good
	Calls     int // WeCom calls made
}

// New checks opts and builds a Pusher.
func New(opts Options) (*Pusher, error) {
	switch {
	case opts.DB == nil:
		return nil, errors.New("native: Options.DB is required")
	case opts.App == nil:
		return nil, errors.New("native: Options.App is required")
	case opts.Coord == nil:
		return nil, errors.New("native: Options.Coord is required")
	case opts.Figures == nil:
		return nil, errors.New("native: Options.Figures is required")
	case len(opts.Labels) == 0 || len(opts.Labels) > wecom.MaxWorkbenchKeyData:
		return nil, fmt.Errorf("native: %d labels, want 1 to %d", len(opts.Labels), wecom.MaxWorkbenchKeyData)
	}
	seen := map[string]bool{}
	for i, l := range opts.Labels {
		if l.Key == "" {
			return nil, fmt.Errorf("native: label %d has no key", i)
		}
		if seen[l.Key] {
			return nil, fmt.Errorf("native: label %q twice", l.Key)
		}
		seen[l.Key] = true
	}
	if opts.PerMemberPerMinute <= 0 {
		opts.PerMemberPerMinute = 10
	}
	if opts.Batch <= 0 {
		opts.Batch = time.Second
	}
	opts.Labels = slices.Clone(opts.Labels)
	p := &Pusher{opts: opts, log: opts.Logger, now: opts.Now}
	if p.log == nil {
		p.log = zap.NewNop()
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// SetTemplate makes the app's tile a keydata tile of the Labels with their
// default values. Members' own data is kept (replace_user_data false), so
// calling it at every start costs nothing but the call.
func (p *Pusher) SetTemplate(ctx context.Context) error {
	t := wecom.WorkbenchTemplate{WorkbenchData: p.data(nil)}
	if err := p.opts.App.SetWorkbenchTemplate(ctx, t); err != nil {
		return fmt.Errorf("native: set the workbench template: %w", err)
	}
	return nil
}

// data is the keydata of figs laid out on the Labels.
func (p *Pusher) data(figs []Figure) wecom.WorkbenchData {
	byKey := make(map[string]Figure, len(figs))
	for _, f := range figs {
		if _, dup := byKey[f.Key]; !dup {
			byKey[f.Key] = f
		}
	}
	items := make([]wecom.WorkbenchKeyDataItem, len(p.opts.Labels))
	for i, l := range p.opts.Labels {
		v, jump := l.Value, l.JumpURL
		if f, ok := byKey[l.Key]; ok {
			v = f.Value
			if f.JumpURL != "" {
				jump = f.JumpURL
			}
		}
		items[i] = wecom.WorkbenchKeyDataItem{Key: l.Key, Data: strconv.Itoa(v), JumpURL: jump}
	}
	return wecom.WorkbenchData{Type: wecom.WorkbenchKeyData, KeyData: &wecom.WorkbenchKeyDataBody{Items: items}}
}

// hash identifies a payload: equal hashes, identical tiles.
func hash(d wecom.WorkbenchData) string {
	b, _ := json.Marshal(d) // plain structs: never fails
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Touch marks members' tiles as needing a push (one upsert per 500 ids).
// It is durable and idempotent: the round after it pushes each member once,
// with the figures of that moment.
func (p *Pusher) Touch(ctx context.Context, userIDs ...string) error {
	if len(userIDs) == 0 {
		return nil
	}
	if err := p.opts.DB.TouchNativeTiles(ctx, userIDs, p.now()); err != nil {
		return fmt.Errorf("native: touch %d members: %w", len(userIDs), err)
	}
	return nil
}

// EnterAgent is the inbox.Handler for event.enter_agent: a member opening
// the app gets their tile refreshed. A callback without a usable userid is
// ignored (retrying it could not help).
func (p *Pusher) EnterAgent(ctx context.Context, ev *wecom.Event) error {
	if ev == nil || ev.FromUserName == "" || len(ev.FromUserName) > store.NativeTileUserIDMax {
		return nil
	}
	return p.Touch(ctx, ev.FromUserName)
}

// Stats counts the members by state.
func (p *Pusher) Stats(ctx context.Context) (Stats, error) {
	c, err := p.opts.DB.CountNativeTiles(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("native: stats: %w", err)
	}
	return Stats{Dirty: c.Dirty, Pushed: c.Pushed, Failed: c.Refused, Retrying: c.Retrying}, nil
}

// Run starts a push round every Options.Batch until ctx ends, then returns
// nil. A failed round is logged and the next one tries again.
func (p *Pusher) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Batch)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		res, err := p.Round(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.log.Warn("workbench tile push round failed", zap.Error(err))
			continue
		}
		if res.Claimed > 0 {
			p.log.Debug("workbench tile push round", zap.Int("claimed", res.Claimed), zap.Int("pushed", res.Pushed),
				zap.Int("unchanged", res.Unchanged), zap.Int("deferred", res.Deferred), zap.Int("failed", res.Failed),
				zap.Int("refused", res.Refused), zap.Int("calls", res.Calls))
		}
	}
}

// Round pushes every dirty member that is due, while holding the push
// lock; when another instance holds it, Round does nothing (that instance
// pushes). Run calls it; tests and tools may call it directly.
func (p *Pusher) Round(ctx context.Context) (RoundResult, error) {
	var res RoundResult
	lock, err := p.opts.Coord.TryLock(ctx, LockKey, lease)
	if errors.Is(err, coord.ErrLocked) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("native: take the push lock: %w", err)
	}
	defer func() {
		if err := lock.Release(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, coord.ErrLockLost) {
			p.log.Warn("release the workbench tile push lock", zap.Error(err))
		}
	}()
	if _, err := p.opts.DB.PruneNativeTilePushes(ctx, p.now().Add(-2*window)); err != nil {
		p.log.Warn("prune workbench tile push records", zap.Error(err))
	}
	r := &round{p: p, lock: lock, res: &res}
	for {
		rows, err := p.opts.DB.ClaimDirtyNativeTiles(ctx, p.now(), claimLimit)
		if err != nil {
			return res, fmt.Errorf("native: %w", err)
		}
		res.Claimed += len(rows)
		if len(rows) > 0 {
			if err := r.push(ctx, rows); err != nil {
				return res, err
			}
		}
		if len(rows) < claimLimit {
			return res, nil
		}
	}
}

// round is the state of one Round.
type round struct {
	p    *Pusher
	lock *coord.Lock

	mu  sync.Mutex // guards res (single pushes run in parallel)
	res *RoundResult
}

func (r *round) count(f func(res *RoundResult)) {
	r.mu.Lock()
	f(r.res)
	r.mu.Unlock()
}

// extend renews the push lock; losing it stops the round, since another
// instance may be pushing the same members now.
func (r *round) extend(ctx context.Context) error {
	if err := r.lock.Extend(ctx, lease); err != nil {
		return fmt.Errorf("native: push lock: %w", err)
	}
	return nil
}

// member is one claimed member on its way to WeCom.
type member struct {
	row  store.NativeTile
	data wecom.WorkbenchData
	hash string
}

// push handles one claim's rows.
func (r *round) push(ctx context.Context, rows []store.NativeTile) error {
	p := r.p
	now := p.now()
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.UserID
	}
	recent, err := p.opts.DB.NativeTilePushes(ctx, ids, now.Add(-window))
	if err != nil {
		return fmt.Errorf("native: %w", err)
	}
	// Over the limit: back just after the oldest push in the window has
	// left it (the window includes its start).
	deferred := map[time.Time][]string{}
	var due []store.NativeTile
	for _, row := range rows {
		if times := recent[row.UserID]; len(times) >= p.opts.PerMemberPerMinute {
			at := times[len(times)-p.opts.PerMemberPerMinute].Add(window + time.Millisecond)
			deferred[at] = append(deferred[at], row.UserID)
			continue
		}
		due = append(due, row)
	}
	for at, ids := range deferred {
		if err := p.opts.DB.DeferNativeTiles(ctx, ids, at); err != nil {
			return fmt.Errorf("native: %w", err)
		}
		r.count(func(res *RoundResult) { res.Deferred += len(ids) })
	}

	members, err := r.figures(ctx, due)
	if err != nil {
		return err
	}
	// Group identical payloads; a member WeCom refused before goes alone,
	// so it cannot fail a whole batch again.
	var unchanged, singles []member
	groups := map[string][]member{}
	var order []string
	for _, m := range members {
		switch {
		case m.hash == m.row.PayloadHash && !m.row.Refused:
			unchanged = append(unchanged, m)
		case m.row.Refused:
			singles = append(singles, m)
		default:
			if _, ok := groups[m.hash]; !ok {
				order = append(order, m.hash)
			}
			groups[m.hash] = append(groups[m.hash], m)
		}
	}
	if len(unchanged) > 0 {
		ids := make([]string, len(unchanged))
		for i, m := range unchanged {
			ids[i] = m.row.UserID
		}
		if err := p.opts.DB.MarkNativeTilesCurrent(ctx, ids); err != nil {
			return fmt.Errorf("native: %w", err)
		}
		r.count(func(res *RoundResult) { res.Unchanged += len(ids) })
	}
	for _, h := range order {
		g := groups[h]
		if len(g) == 1 {
			singles = append(singles, g[0])
			continue
		}
		for chunk := range slices.Chunk(g, wecom.MaxWorkbenchBatchUsers) {
			if err := r.extend(ctx); err != nil {
				return err
			}
			if err := r.batch(ctx, chunk); err != nil {
				return err
			}
		}
	}
	if len(singles) == 0 {
		return nil
	}
	for chunk := range slices.Chunk(singles, singlesPerLease) {
		if err := r.extend(ctx); err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(workers)
		for _, m := range chunk {
			g.Go(func() error { return r.single(gctx, m) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// figures computes the payload of every due member, in parallel. A member
// whose figures fail is left for a retry.
func (r *round) figures(ctx context.Context, due []store.NativeTile) ([]member, error) {
	p := r.p
	out := make([]member, len(due))
	ok := make([]bool, len(due))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, row := range due {
		g.Go(func() error {
			figs, err := p.opts.Figures(gctx, row.UserID)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				p.log.Warn("workbench tile figures failed", zap.String("userid", row.UserID), zap.Error(err))
				return r.failed(gctx, []member{{row: row}}, fmt.Errorf("figures: %w", err))
			}
			d := p.data(figs)
			out[i] = member{row: row, data: d, hash: hash(d)}
			ok[i] = true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, m := range out {
		if ok[i] {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// batch sends one group of identical payloads. WeCom's batch is all or
// nothing: when it refuses a member (outside the visible range), the group
// is halved until the refused members stand alone.
func (r *round) batch(ctx context.Context, ms []member) error {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.row.UserID
	}
	cctx, cancel := context.WithTimeout(ctx, batchTimeout)
	err := r.p.opts.App.BatchSetWorkbenchData(cctx, ids, ms[0].data)
	cancel()
	r.count(func(res *RoundResult) { res.Calls++ })
	if err != nil && refusal(err) && len(ms) > 1 {
		half := len(ms) / 2
		if err := r.batch(ctx, ms[:half]); err != nil {
			return err
		}
		return r.batch(ctx, ms[half:])
	}
	return r.settle(ctx, ms, err)
}

// single sends one member's payload through set_workbench_data.
func (r *round) single(ctx context.Context, m member) error {
	cctx, cancel := context.WithTimeout(ctx, singleTimeout)
	defer cancel()
	err := r.p.opts.App.SetWorkbenchData(cctx, m.row.UserID, m.data)
	if !errors.Is(err, wecom.ErrRateLimited) {
		r.count(func(res *RoundResult) { res.Calls++ })
	}
	return r.settle(ctx, []member{m}, err)
}

// refusal reports an errcode that refuses the member, not the call: they
// would be refused again however often we tried. 60021 is "userid not in
// the app's visible range" (what the simulator answers; WeCom documents no
// code specific to §7), 60111 an unknown userid, 40003 an invalid one.
func refusal(err error) bool {
	switch wecom.Code(err) {
	case 60021, wecom.CodeUserNotFound, wecom.CodeInvalidUserID:
		return true
	}
	return false
}

// settle records the outcome of one call for ms (all with the same hash).
func (r *round) settle(ctx context.Context, ms []member, err error) error {
	p := r.p
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.row.UserID
	}
	switch {
	case err == nil:
		if err := p.opts.DB.MarkNativeTilesPushed(ctx, ids, ms[0].hash, p.now()); err != nil {
			return fmt.Errorf("native: %w", err)
		}
		r.count(func(res *RoundResult) { res.Pushed += len(ids) })
		return nil
	case ctx.Err() != nil:
		// Shutting down: the rows stay claimed and the next round, here or
		// elsewhere, takes them again.
		return ctx.Err()
	case errors.Is(err, wecom.ErrRateLimited):
		// The client's own quota for this member is empty: try again
		// once a token is back (the quota refills at half the limit a
		// minute).
		next := p.now().Add(2 * window / time.Duration(p.opts.PerMemberPerMinute))
		if err := p.opts.DB.DeferNativeTiles(ctx, ids, next); err != nil {
			return fmt.Errorf("native: %w", err)
		}
		r.count(func(res *RoundResult) { res.Deferred += len(ids) })
		return nil
	case refusal(err):
		p.log.Warn("workbench tile refused: member not settable", zap.String("userid", ids[0]),
			zap.Int("errcode", wecom.Code(err)), zap.Error(err))
		if err := p.opts.DB.MarkNativeTilesRefused(ctx, ids, err.Error()); err != nil {
			return fmt.Errorf("native: %w", err)
		}
		r.count(func(res *RoundResult) { res.Refused += len(ids) })
		return nil
	}
	return r.failed(ctx, ms, err)
}

// failed leaves ms dirty with an attempt counted and a backoff.
func (r *round) failed(ctx context.Context, ms []member, err error) error {
	p := r.p
	ids := make([]string, len(ms))
	attempts := 0
	for i, m := range ms {
		ids[i] = m.row.UserID
		attempts = max(attempts, m.row.Attempts)
	}
	next := p.now().Add(backoff(attempts + 1))
	p.log.Warn("workbench tile push failed", zap.String("userid", ids[0]), zap.Int("members", len(ids)),
		zap.Int("errcode", wecom.Code(err)), zap.Int("attempt", attempts+1), zap.Time("next_attempt", next), zap.Error(err))
	if err := p.opts.DB.MarkNativeTilesFailed(ctx, ids, err.Error(), next); err != nil {
		return fmt.Errorf("native: %w", err)
	}
	r.count(func(res *RoundResult) { res.Failed += len(ids) })
	return nil
}

// backoff is the wait after failed attempt n (1-based).
func backoff(n int) time.Duration {
	d := baseBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
