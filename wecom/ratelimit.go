package wecom

import (
	"context"
	"fmt"
	"time"

	"github.com/wecomapp/wecomapp/coord"
)

// Limits are the quotas the client keeps below (doc 90454). Buckets live in
// coord, so they hold across every instance of the deployment. The zero
// value of a field means WeCom's documented default; a negative value
// disables that limit.
type Limits struct {
	// PerAPIPerMinute and PerAPIPerHour bound each API of the corp
	// (10,000/min, 150,000/h).
	PerAPIPerMinute int
	PerAPIPerHour   int
	// JSAPITicketCorpPerHour bounds both ticket APIs together per corp
	// (400/h); JSAPITicketAppPerHour per app (100/h).
	JSAPITicketCorpPerHour int
	JSAPITicketAppPerHour  int
	// CheckinPerMinute bounds checkin/getcheckindata per corp (600/min).
	CheckinPerMinute int
	// WorkbenchDataPerUserPerMinute bounds agent/set_workbench_data per
	// user per app (10/min).
	WorkbenchDataPerUserPerMinute int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.PerAPIPerMinute, 10000)
	def(&l.PerAPIPerHour, 150000)
	def(&l.JSAPITicketCorpPerHour, 400)
	def(&l.JSAPITicketAppPerHour, 100)
	def(&l.CheckinPerMinute, 600)
	def(&l.WorkbenchDataPerUserPerMinute, 10)
	return l
}

// bucket is one quota a call must take a token from.
type bucket struct {
	key   string
	limit coord.Limit
}

func perMinute(key string, n int) []bucket { return perWindow(key, n, time.Minute) }

func perHour(key string, n int) []bucket { return perWindow(key, n, time.Hour) }

// perWindow keeps calls within n per period however WeCom draws its windows
// (the simulator counts fixed windows from the first call; WeCom does not
// say). A token bucket admits Burst + Rate×period calls in any period, so
// both get half of n: a burst of n/2, refilled at n/2 per period. The cost
// is a sustained rate of half the quota, which still leaves 5,000 calls a
// minute per API; the gain is never earning a 45009, which blocks the API
// for the whole window.
func perWindow(key string, n int, period time.Duration) []bucket {
	if n <= 0 {
		return nil
	}
	burst := (n + 1) / 2
	refill := n - burst
	if refill == 0 {
		refill = 1 // n == 1: one call per period
	}
	return []bucket{{key: key, limit: coord.Limit{Rate: float64(refill) / period.Seconds(), Burst: burst}}}
}

// rlKey names a bucket of this corp.
func (c *Corp) rlKey(parts ...string) string {
	k := "wecom:rl:" + c.corpID
	for _, p := range parts {
		k += ":" + p
	}
	return k
}

// waitQuota takes one token from every bucket of the call, waiting (bounded
// by ctx) when one is empty. A coord failure lets the call through: WeCom's
// own 45009 then slows us down, which beats failing every call while Redis
// is away.
func (c *Corp) waitQuota(ctx context.Context, spec callSpec) error {
	buckets := append(append(perMinute(c.rlKey(spec.api, "m"), c.limits.PerAPIPerMinute),
		perHour(c.rlKey(spec.api, "h"), c.limits.PerAPIPerHour)...), spec.buckets...)
	if c.fallback.active(c.now()) {
		// The coordination store failed moments ago: do not wait out its
		// dial attempts on every call; the token path retries it.
		return nil
	}
	for _, b := range buckets {
		for {
			ok, after, err := c.store.Allow(ctx, b.key, b.limit)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("waiting for quota %s: %w", b.key, ctx.Err())
				}
				c.fallback.down(c.now(), c.log, "rate_limit", err)
				return nil
			}
			if ok {
				break
			}
			if dl, has := ctx.Deadline(); has && time.Until(dl) < after {
				c.metrics.limited(spec.api, "rejected")
				return fmt.Errorf("quota %s free in %v: %w", b.key, after, ErrRateLimited)
			}
			c.metrics.limited(spec.api, "waited")
			if err := c.sleep(ctx, after); err != nil {
				return fmt.Errorf("waiting for quota %s: %w", b.key, err)
			}
		}
	}
	return nil
}
