package wecom

// This file is the one place where the silenceper SDK meets the network.
//
// silenceper's work packages hard-code https://qyapi.weixin.qq.com, take no
// context, and send every request through the process-wide
// util.DefaultHTTPClient. We install, once, our own client there whose
// transport routes each request:
//
//   - Every API call (ours or silenceper's) runs inside a callState. The
//     access-token handle given to silenceper for that call returns not the
//     real token but a synthetic, process-unique "call token". The transport
//     finds the callState by that call token in the query, puts the real
//     token in its place, rewrites scheme, host and path prefix to the
//     Corp's BaseURL, and sends the request with the call's context (so
//     cancellation and the per-attempt timeout reach silenceper's calls,
//     which themselves use context.Background()).
//   - Our own plumbing builds URLs the same way, and gettoken (which has no
//     token) carries its callState in the request context instead.
//
// Why a call token and not a registry keyed by the real token: several
// simulators (or a simulator and a private deployment) can run in one
// process, concurrent calls share a token, and the transport must also learn
// what happened to each attempt (status, transport error, whether the request
// was written) so the retry logic can classify it. A per-call key gives all
// of that and, as a side effect, the real token never appears in an error
// string built by silenceper or net/http (they only ever see the call token).
//
// A request to qyapi.weixin.qq.com that belongs to no call is refused rather
// than sent: nothing in this process should reach WeCom around the client.
//
// Logging: the silenceper packages used here (work/addresslist, checkin,
// oauth, credential, util) do not log. logrus is only used by silenceper's
// root package, whose init() turns it to debug level on stdout, and by
// officialaccount/server; neither may be imported (logrus is not even linked
// into this package — `go list -deps ./wecom` shows it).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"
	workconfig "github.com/silenceper/wechat/v2/work/config"
	workcontext "github.com/silenceper/wechat/v2/work/context"
)

// publicHost is the host silenceper writes into every URL.
const publicHost = "qyapi.weixin.qq.com"

// publicBase is the prefix of every URL our own plumbing builds, so both
// paths through the transport look the same.
const publicBase = "https://" + publicHost + "/cgi-bin/"

var (
	installOnce sync.Once
	sdkClient   *http.Client

	callPrefix string // random per process, so call tokens never collide with real ones
	callSeq    atomic.Uint64
	calls      sync.Map // call token → *callState
)

// installSDK sets silenceper's globals once per process.
func installSDK() {
	installOnce.Do(func() {
		var b [6]byte
		_, _ = rand.Read(b[:])
		callPrefix = "wecomappcall" + hex.EncodeToString(b[:]) + "x"

		base := http.DefaultTransport.(*http.Transport).Clone()
		base.MaxIdleConnsPerHost = 32
		base.ResponseHeaderTimeout = 0 // bounded by the call's context instead
		sdkClient = &http.Client{
			Transport: &routingTransport{base: base},
			// WeCom answers known paths with 200 and plain http with a 301
			// to https: a redirect means a misconfigured BaseURL, reported
			// as an HTTPError rather than followed (the Location would carry
			// the real token outside any call).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		util.DefaultHTTPClient = sdkClient
		// The URI modifier stays unset: it sees only a string, with no way to
		// tell which Corp a call belongs to.
		util.SetURIModifier(nil)
	})
}

// callState is one attempt of one API call.
type callState struct {
	ctx   context.Context // the attempt's context (caller's ctx + timeout)
	base  *url.URL        // Corp.BaseURL
	token string          // the real access token; "" for gettoken
	id    string          // the call token handed to silenceper

	// Written by the transport, read after the attempt returns.
	mu           sync.Mutex
	status       int
	transportErr error
	sent         bool
}

func newCallState(ctx context.Context, base *url.URL, token string) *callState {
	cs := &callState{ctx: ctx, base: base, token: token}
	cs.id = callPrefix + hex.EncodeToString(uint64Bytes(callSeq.Add(1)))
	calls.Store(cs.id, cs)
	return cs
}

func uint64Bytes(n uint64) []byte {
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return b[:]
}

func (cs *callState) done() { calls.Delete(cs.id) }

// GetAccessToken implements credential.AccessTokenHandle for silenceper: it
// hands out the call token, which the transport swaps for the real one.
func (cs *callState) GetAccessToken() (string, error) { return cs.id, nil }

// GetAccessTokenContext implements credential.AccessTokenContextHandle.
func (cs *callState) GetAccessTokenContext(context.Context) (string, error) { return cs.id, nil }

var _ credential.AccessTokenContextHandle = (*callState)(nil)

// sdk returns a silenceper work context bound to this call. It is cheap
// (two small structs), so each attempt gets its own.
func (cs *callState) sdk(corpID string, agentID int64) *workcontext.Context {
	cfg := &workconfig.Config{CorpID: corpID}
	if agentID != 0 {
		cfg.AgentID = itoa64(agentID)
	}
	return &workcontext.Context{Config: cfg, AccessTokenHandle: cs}
}

// url builds an API URL for our own plumbing: path below /cgi-bin/, the call
// token and the extra query parameters.
func (cs *callState) url(path string, q url.Values) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	if cs.token != "" {
		v.Set("access_token", cs.id)
	}
	u := publicBase + path
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}

func (cs *callState) record(status int, err error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.status = status
	cs.transportErr = err
}

// outcome reads what the transport recorded (the write-loop goroutine may
// still report WroteRequest after RoundTrip returned).
func (cs *callState) outcome() (status int, transportErr error, sent bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.status, cs.transportErr, cs.sent
}

func (cs *callState) markSent() {
	cs.mu.Lock()
	cs.sent = true
	cs.mu.Unlock()
}

type callCtxKey struct{}

// withCall attaches cs to a request context (our own plumbing, gettoken).
func withCall(ctx context.Context, cs *callState) context.Context {
	return context.WithValue(ctx, callCtxKey{}, cs)
}

// errUnrouted refuses a WeCom request made outside a call.
var errUnrouted = errors.New("wecom: request to qyapi.weixin.qq.com outside a wecom.Client call refused")

// routingTransport sends each WeCom request to its Corp's base with its
// real token and its call's context, and records the outcome.
type routingTransport struct {
	base http.RoundTripper
}

// RoundTrip routes a request of a call, refuses a WeCom request outside a
// call, and passes anything else through.
func (t *routingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	cs, _ := req.Context().Value(callCtxKey{}).(*callState)
	if cs == nil && req.URL.Host == publicHost {
		if id := QueryValue(req.URL.RawQuery, "access_token"); strings.HasPrefix(id, callPrefix) {
			if v, ok := calls.Load(id); ok {
				cs = v.(*callState)
			}
		}
	}
	if cs == nil {
		if req.URL.Host == publicHost {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, errUnrouted
		}
		return t.base.RoundTrip(req)
	}

	ctx := httptrace.WithClientTrace(cs.ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				cs.markSent()
			}
		},
	})
	out := req.Clone(ctx)
	u := *req.URL
	u.Scheme = cs.base.Scheme
	u.Host = cs.base.Host
	u.Path = strings.TrimSuffix(cs.base.Path, "/") + req.URL.Path
	u.RawPath = ""
	if cs.token != "" {
		u.RawQuery = strings.Replace(u.RawQuery, "access_token="+cs.id, "access_token="+url.QueryEscape(cs.token), 1)
	}
	out.URL = &u
	out.Host = ""

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		cs.record(0, err)
		return nil, err
	}
	cs.record(resp.StatusCode, nil)
	resp.Body = &recordingBody{ReadCloser: resp.Body, cs: cs}
	return resp, nil
}

// recordingBody notes a connection dropped while the body is read, which
// silenceper would report as a plain read error.
type recordingBody struct {
	io.ReadCloser
	cs *callState
}

// Read records a read failure on the call before passing it on.
func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.cs.mu.Lock()
		if b.cs.transportErr == nil {
			b.cs.transportErr = err
		}
		b.cs.mu.Unlock()
	}
	return n, err
}

// attemptTimeout derives the per-attempt context.
func attemptTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
