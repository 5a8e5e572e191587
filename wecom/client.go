package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
)

// Default endpoints of the public WeCom service.
const (
	DefaultBaseURL      = "https://qyapi.weixin.qq.com"
	DefaultOAuthBaseURL = "https://open.weixin.qq.com"
	DefaultLoginBaseURL = "https://login.work.weixin.qq.com"
)

// Options configures a Corp. Only CorpID is required.
type Options struct {
	// BaseURL is the API host: the public service (default), a private
	// deployment, or a simulator ("http://127.0.0.1:8080/wecomsim"). A path
	// prefix is kept: /cgi-bin/... is appended to it.
	BaseURL string
	// OAuthBaseURL is the host of the OAuth authorize page (default
	// https://open.weixin.qq.com).
	OAuthBaseURL string
	// LoginBaseURL is the host of the PC web-login page (default
	// https://login.work.weixin.qq.com; the simulator in tests and the demo).
	LoginBaseURL string
	// CorpID is the corp's id (企业ID).
	CorpID string
	// ContactSecret is the contacts-sync (通讯录同步) secret; empty if the
	// deployment does not write contacts.
	ContactSecret string
	// Apps are the self-built applications, addressed by Name.
	Apps []AppConfig
	// Coord shares tokens, tickets and rate-limit buckets between
	// instances. nil uses a private in-process store (single instance).
	Coord coord.Store
	// HTTPTimeout bounds each attempt (default 10 s).
	HTTPTimeout time.Duration
	// Logger receives retries at warn and token refreshes at info. nil
	// discards.
	Logger *zap.Logger
	// Retry is the backoff policy; the zero value uses the defaults.
	Retry RetryPolicy
	// Limits are the per-API quotas; the zero value uses WeCom's documented
	// defaults.
	Limits Limits
	// Registerer receives the metrics (nil: prometheus.DefaultRegisterer).
	// Registering twice on one registry reuses the existing collectors.
	Registerer prometheus.Registerer
	// Now is the clock for token and ticket lifetimes and JS-SDK
	// timestamps (nil: time.Now). Tests share it with the simulator.
	Now func() time.Time
	// Sleep waits between retries and for rate-limit quota (nil: a timer
	// bounded by ctx). Tests replace it to observe waits without taking
	// them.
	Sleep func(ctx context.Context, d time.Duration) error
}

// AppConfig is one self-built application.
type AppConfig struct {
	Name    string
	AgentID int64
	Secret  string
}

// Corp is one WeCom corp: its API base, clock, coordination store, metrics
// and the clients of its secrets. It is safe for concurrent use.
type Corp struct {
	corpID    string
	base      *url.URL
	oauthBase string
	loginBase string
	store     coord.Store
	timeout   time.Duration
	log       *zap.Logger
	retry     RetryPolicy
	limits    Limits
	metrics   *metrics
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error
	// fallback keeps tokens and tickets in this process while coord is
	// unavailable (token.go); its zero value is ready.
	fallback localValues

	contacts *Client
	apps     map[string]*Client
}

// New builds a Corp. It installs the client's transport in the silenceper
// SDK (once per process) but does not contact WeCom.
func New(opts Options) (*Corp, error) {
	if opts.CorpID == "" {
		return nil, errors.New("wecom: CorpID is required")
	}
	baseRaw := opts.BaseURL
	if baseRaw == "" {
		baseRaw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimSuffix(baseRaw, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("wecom: BaseURL %q: want http(s)://host[:port][/prefix]", baseRaw)
	}
	oauthBase := strings.TrimSuffix(opts.OAuthBaseURL, "/")
	if oauthBase == "" {
		oauthBase = DefaultOAuthBaseURL
	}
	if u, err := url.Parse(oauthBase); err != nil || u.Host == "" {
		return nil, fmt.Errorf("wecom: OAuthBaseURL %q: want http(s)://host", opts.OAuthBaseURL)
	}
	loginBase := strings.TrimSuffix(opts.LoginBaseURL, "/")
	if loginBase == "" {
		loginBase = DefaultLoginBaseURL
	}
	if u, err := url.Parse(loginBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("wecom: LoginBaseURL %q: want http(s)://host[/prefix]", opts.LoginBaseURL)
	}
	installSDK()

	c := &Corp{
		corpID:    opts.CorpID,
		base:      base,
		oauthBase: oauthBase,
		loginBase: loginBase,
		store:     opts.Coord,
		timeout:   opts.HTTPTimeout,
		log:       opts.Logger,
		retry:     opts.Retry.withDefaults(),
		limits:    opts.Limits.withDefaults(),
		now:       opts.Now,
		sleep:     opts.Sleep,
		apps:      map[string]*Client{},
	}
	if c.store == nil {
		c.store = coord.NewMemory(nil)
	}
	if c.timeout <= 0 {
		c.timeout = 10 * time.Second
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.log = c.log.Named("wecom")
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	if c.metrics, err = newMetrics(reg); err != nil {
		return nil, err
	}
	if opts.ContactSecret != "" {
		c.contacts = c.Client("contacts", opts.ContactSecret, 0)
	}
	for _, a := range opts.Apps {
		if a.Name == "" || a.Secret == "" {
			return nil, fmt.Errorf("wecom: app %q (agent %d): name and secret are required", a.Name, a.AgentID)
		}
		if _, dup := c.apps[a.Name]; dup {
			return nil, fmt.Errorf("wecom: app %q configured twice", a.Name)
		}
		c.apps[a.Name] = c.Client(a.Name, a.Secret, a.AgentID)
	}
	return c, nil
}

// CorpID is the corp's id.
func (c *Corp) CorpID() string { return c.corpID }

// Contacts is the client of the contacts-sync secret, the only one allowed
// to write contacts (48002 otherwise).
func (c *Corp) Contacts() (*Client, error) {
	if c.contacts == nil {
		return nil, fmt.Errorf("wecom: contacts-sync secret: %w", ErrNotConfigured)
	}
	return c.contacts, nil
}

// App is the client of the configured application name.
func (c *Corp) App(name string) (*Client, error) {
	a, ok := c.apps[name]
	if !ok {
		return nil, fmt.Errorf("wecom: app %q: %w", name, ErrNotConfigured)
	}
	return a, nil
}

// Client returns a client for any secret, e.g. the 打卡 system app's.
// name labels logs and metrics; agentID is 0 for secrets without an app.
// Clients of the same secret share one token, in this process and across
// instances, whatever their name.
func (c *Corp) Client(name, secret string, agentID int64) *Client {
	cl := &Client{corp: c, name: name, agentID: agentID}
	cl.tokens = newTokenSource(cl, secret)
	return cl
}

// Client calls WeCom with one secret's access token. Every method takes the
// caller's context first; it bounds rate-limit waits, retries and each
// attempt (together with Options.HTTPTimeout).
type Client struct {
	corp    *Corp
	name    string
	agentID int64
	tokens  *tokenSource
}

// Name is the client's configured name ("contacts" or the app's name).
func (cl *Client) Name() string { return cl.name }

// AgentID is the application's agent id (0 for the contacts client).
func (cl *Client) AgentID() int64 { return cl.agentID }

// CorpID is the corp's id.
func (cl *Client) CorpID() string { return cl.corp.corpID }

// callSpec describes one API for the executor.
type callSpec struct {
	api string
	// idempotent: resending after WeCom may have acted is harmless.
	idempotent bool
	// noToken: gettoken itself.
	noToken bool
	// noLimit: exempt from the per-API quota (auth/getuserinfo).
	noLimit bool
	// buckets are extra quotas on top of the per-API ones.
	buckets []bucket
	// fields are logged with retries (ids, never tokens).
	fields []zap.Field
}

// do runs one API call: quota, token, attempt, classification, a token
// refresh and one immediate retry on a token error, and backoff retries on
// retryable failures within the policy and the call's idempotency.
func (cl *Client) do(ctx context.Context, spec callSpec, attempt func(cs *callState) error) error {
	c := cl.corp
	tokenRetried := false
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !spec.noLimit {
			if err := c.waitQuota(ctx, spec); err != nil {
				return err
			}
		}
		token := ""
		if !spec.noToken {
			var err error
			if token, err = cl.tokens.get(ctx); err != nil {
				return err
			}
		}
		err := cl.attempt(ctx, spec.api, token, attempt)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// Keep both: errors.Is(err, context.Canceled) for the caller,
			// and the TransportError whose Sent feeds Uncertain(err).
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		var we *Error
		if errors.As(err, &we) && we.TokenInvalid() && !spec.noToken && !tokenRetried {
			tokenRetried = true
			n-- // the token retry does not use up an attempt
			cl.corp.log.Info("access token rejected, refreshing", zap.String("api", spec.api), zap.Int("errcode", we.Code),
				zap.String("client", cl.name), zap.String("secret_hash", cl.tokens.hash))
			if _, rerr := cl.tokens.refresh(ctx, token); rerr != nil {
				return rerr
			}
			continue
		}
		retry, freq := shouldRetry(err, spec.idempotent)
		if !retry || n >= c.retry.MaxAttempts {
			return err
		}
		delay := c.retry.delay(n, freq)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return err // waiting would outlive the caller
		}
		c.log.Warn("retrying", append([]zap.Field{zap.String("api", spec.api), zap.String("client", cl.name),
			zap.Int("attempt", n), zap.Duration("backoff", delay), zap.String("errcode", errLabel(err))}, spec.fields...)...)
		if serr := c.sleep(ctx, delay); serr != nil {
			return err
		}
	}
}

// attempt runs one request with metrics.
func (cl *Client) attempt(ctx context.Context, api, token string, fn func(cs *callState) error) error {
	c := cl.corp
	actx, cancel := attemptTimeout(ctx, c.timeout)
	defer cancel()
	cs := newCallState(actx, c.base, token)
	defer cs.done()
	start := time.Now()
	err := classify(api, cs, fn(cs))
	c.metrics.observe(api, err, time.Since(start))
	return err
}

// apiResponse is the part every WeCom response shares.
type apiResponse struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (r *apiResponse) err(api string) error {
	if r.ErrCode != 0 {
		return &Error{API: api, Code: r.ErrCode, Msg: r.ErrMsg}
	}
	return nil
}

// errCarrier lets decode find the errcode of any response struct that embeds
// apiResponse.
type errCarrier interface{ err(api string) error }

// getJSON is our own plumbing for GET endpoints.
func (cs *callState) getJSON(api string, q url.Values, out errCarrier) error {
	req, err := http.NewRequestWithContext(withCall(cs.ctx, cs), http.MethodGet, cs.url(api, q), nil)
	if err != nil {
		return err
	}
	return cs.send(api, req, out)
}

// postJSON is our own plumbing for POST endpoints with a JSON body. HTML is
// not escaped: WeCom shows "&lt;" literally.
func (cs *callState) postJSON(api string, q url.Values, in any, out errCarrier) error {
	body, err := marshalNoEscape(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	return cs.postBody(api, q, "application/json; charset=utf-8", body, out)
}

// marshalNoEscape is json.Marshal without HTML escaping: < > & stay as
// written, as in the documented samples, rather than \u003c escapes (WeCom
// answers 40033 to some \uxxxx sequences).
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (cs *callState) postBody(api string, q url.Values, contentType string, body []byte, out errCarrier) error {
	req, err := http.NewRequestWithContext(withCall(cs.ctx, cs), http.MethodPost, cs.url(api, q), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	return cs.send(api, req, out)
}

func (cs *callState) send(api string, req *http.Request, out errCarrier) error {
	resp, err := sdkClient.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which for gettoken holds the secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("http status %d", resp.StatusCode) // classify turns it into *HTTPError
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return out.err(api)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// joinPipe joins ids the way message/send wants them ("a|b").
func joinPipe(ids []string) string { return strings.Join(ids, "|") }

// splitPipe splits "a|b" answers; "" gives nil.
func splitPipe(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}
