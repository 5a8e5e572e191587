package coord

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Store shared by every instance in production.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	owns   bool
}

// RedisOptions configures NewRedis.
type RedisOptions struct {
	Addr     string
	Username string
	Password string
	DB       int
	// Prefix namespaces every key, so one Redis can serve several
	// deployments (and tests can run side by side).
	Prefix string
	// PoolSize caps connections per instance; 0 uses go-redis's default.
	PoolSize int
}

// SetRedisLogger sends go-redis's own messages (a dial that failed, a pool
// that gave up) to logf instead of the standard logger's unstructured
// lines on stderr. go-redis keeps one logger per process, so the process's
// wiring calls this once.
func SetRedisLogger(logf func(ctx context.Context, format string, args ...any)) {
	redis.SetLogger(redisLogger(logf))
}

type redisLogger func(ctx context.Context, format string, args ...any)

func (l redisLogger) Printf(ctx context.Context, format string, args ...any) { l(ctx, format, args...) }

// NewRedis connects to Redis. It does not ping: readiness checks do.
func NewRedis(opts RedisOptions) *Redis {
	c := redis.NewClient(&redis.Options{
		Addr:         opts.Addr,
		Username:     opts.Username,
		Password:     opts.Password,
		DB:           opts.DB,
		PoolSize:     opts.PoolSize,
		DialTimeout:  3 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
	})
	return &Redis{c: c, prefix: opts.Prefix, owns: true}
}

// NewRedisFromClient wraps an existing client; Close will not close it.
func NewRedisFromClient(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

func (r *Redis) k(key string) string { return r.prefix + key }

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := r.c.Get(ctx, r.k(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("coord: redis get %s: %w", key, err)
	}
	return b, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		ttl = 0
	}
	if err := r.c.Set(ctx, r.k(key), value, ttl).Err(); err != nil {
		return fmt.Errorf("coord: redis set %s: %w", key, err)
	}
	return nil
}

// SetNX implements Store.
func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl < 0 {
		ttl = 0
	}
	ok, err := r.c.SetNX(ctx, r.k(key), value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("coord: redis setnx %s: %w", key, err)
	}
	return ok, nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.k(k)
	}
	if err := r.c.Del(ctx, full...).Err(); err != nil {
		return fmt.Errorf("coord: redis del: %w", err)
	}
	return nil
}

// TryLock implements Store.
func (r *Redis) TryLock(ctx context.Context, key string, lease time.Duration) (*Lock, error) {
	token := newToken()
	ok, err := r.SetNX(ctx, lockKey(key), []byte(token), lease)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrLocked
	}
	return &Lock{key: key, token: token, b: r}, nil
}

// Compare-and-delete / compare-and-extend must be atomic, or a holder whose
// lease expired could release the next holder's lock.
var (
	releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`)
	extendScript  = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`)
)

func (r *Redis) release(ctx context.Context, key, token string) error {
	n, err := releaseScript.Run(ctx, r.c, []string{r.k(lockKey(key))}, token).Int()
	if err != nil {
		return fmt.Errorf("coord: release lock %s: %w", key, err)
	}
	if n == 0 {
		return ErrLockLost
	}
	return nil
}

func (r *Redis) extend(ctx context.Context, key, token string, lease time.Duration) error {
	n, err := extendScript.Run(ctx, r.c, []string{r.k(lockKey(key))}, token, lease.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("coord: extend lock %s: %w", key, err)
	}
	if n == 0 {
		return ErrLockLost
	}
	return nil
}

// bucketScript is a token bucket in one round trip. Time comes from the
// Redis server (TIME), so instances with skewed clocks share one bucket
// fairly. Returns {allowed, retry_after_ms}.
var bucketScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call("TIME")
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call("HMGET", KEYS[1], "tokens", "last")
local tokens = tonumber(b[1])
local last = tonumber(b[2])
if tokens == nil then tokens = burst; last = now end
if now > last then
  tokens = math.min(burst, tokens + (now - last) * rate)
  last = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
elseif rate > 0 then
  wait = math.ceil((1 - tokens) / rate * 1000)
else
  wait = 3600000
end
redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "last", tostring(last))
local ttl = 60
if rate > 0 then ttl = math.ceil(burst / rate) + 1 end
redis.call("EXPIRE", KEYS[1], ttl)
return {allowed, wait}
`)

// Allow implements Store.
func (r *Redis) Allow(ctx context.Context, key string, limit Limit) (bool, time.Duration, error) {
	res, err := bucketScript.Run(ctx, r.c, []string{r.k("bucket:" + key)},
		strconv.FormatFloat(limit.Rate, 'f', -1, 64), limit.Burst).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("coord: rate limit %s: %w", key, err)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("coord: redis ping: %w", err)
	}
	return nil
}

// Close implements Store.
func (r *Redis) Close() error {
	if !r.owns {
		return nil
	}
	return r.c.Close()
}

// AllowBatch implements Batcher: the bucket script for every key in one
// pipeline (one round trip; a cluster client splits it by slot). A Redis
// that lost its script cache is given the script once and asked again.
func (r *Redis) AllowBatch(ctx context.Context, keys []string, limits []Limit) ([]Decision, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	run := func() ([]*redis.Cmd, error) {
		pipe := r.c.Pipeline()
		cmds := make([]*redis.Cmd, len(keys))
		for i, key := range keys {
			cmds[i] = bucketScript.EvalSha(ctx, pipe, []string{r.k("bucket:" + key)}, strconv.FormatFloat(limits[i].Rate, 'f', -1, 64), limits[i].Burst)
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err := bucketScript.Load(ctx, r.c).Err(); err != nil {
			return nil, fmt.Errorf("coord: load the rate-limit script: %w", err)
		}
		cmds, err = run()
	}
	if err != nil {
		return nil, fmt.Errorf("coord: rate limit %d buckets: %w", len(keys), err)
	}
	out := make([]Decision, len(keys))
	for i, c := range cmds {
		res, err := c.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("coord: rate limit %s: %w", keys[i], err)
		}
		out[i] = Decision{OK: res[0] == 1, RetryAfter: time.Duration(res[1]) * time.Millisecond}
	}
	return out, nil
}
