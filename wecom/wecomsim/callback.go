package wecomsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/wecom"
)

// outbound is one callback to deliver.
type outbound struct {
	id      int64
	recv    Receiver
	agentID string // AgentID of the envelope; "" for contacts and batch callbacks
	kind    string // e.g. "change_contact.create_user", "batch_job_result"
	payload []byte // decrypted XML
	// onReply, if set, gets the body of the delivered attempt (an HTTP 200)
	// — app callbacks read passive replies from it. It runs on the delivery
	// goroutine without any simulator lock held.
	onReply func(body []byte)
	// onDone, if set, runs once delivery is over — delivered, retries used
	// up, or abandoned — after onReply, without any simulator lock held.
	// Members' actions (card presses, texts) wait on it.
	onDone func()
}

// Delivery is one delivery attempt in the callback log.
type Delivery struct {
	ID      int64     `json:"id"`      // the callback; the same for all its attempts
	Attempt int       `json:"attempt"` // 1 = first delivery
	Time    time.Time `json:"time"`    // simulator clock
	URL     string    `json:"url"`     // receiver URL, without the signature query
	Kind    string    `json:"kind"`
	// Status is the receiver's HTTP status; 0 on a network error or timeout.
	Status    int           `json:"status"`
	Error     string        `json:"error,omitempty"`
	Delivered bool          `json:"delivered"`
	Duration  time.Duration `json:"duration"`
	// Payload is the decrypted XML that was sent.
	Payload string `json:"payload"`
}

// maxDeliveryLog bounds the delivery log.
const maxDeliveryLog = 20000

// callbacks holds the outgoing queues: one per receiver URL, delivered in
// order by one goroutine each while non-empty.
type callbacks struct {
	mu      sync.Mutex
	queues  map[string]*cbQueue
	pending int           // queued or in flight
	idle    chan struct{} // closed when pending drops to 0
	nextID  int64
	log     []Delivery
}

type cbQueue struct {
	items   []*outbound
	running bool
}

func (cb *callbacks) init() {
	cb.queues = map[string]*cbQueue{}
}

func (cb *callbacks) clearLog() {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	cb.log = nil
}

// enqueueCallback queues o for delivery and returns its id. Callers that
// must keep callbacks in state order call it under s.mu.
func (s *Sim) enqueueCallback(o outbound) int64 {
	cb := &s.cb
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if s.ctx.Err() != nil {
		return 0 // closed
	}
	cb.nextID++
	o.id = cb.nextID
	if !s.callbackAllowed(o.recv.URL) {
		// Not sent: the simulator only calls the receivers it was configured
		// with, so a batch job's callback.url cannot turn it into a request
		// forgery tool.
		if len(cb.log) >= maxDeliveryLog {
			cb.log = slices.Delete(cb.log, 0, len(cb.log)-maxDeliveryLog+1)
		}
		cb.log = append(cb.log, Delivery{ID: o.id, Attempt: 1, Time: s.Now(), URL: o.recv.URL, Kind: o.kind,
			Error: "refused: " + ErrCallbackURL.Error(), Payload: string(o.payload)})
		s.log.Warn("callback refused: URL is not a configured receiver", zap.String("url", o.recv.URL), zap.String("kind", o.kind))
		return 0 // callers treat 0 as "nothing sent" and do not wait for onDone
	}
	q := cb.queues[o.recv.URL]
	if q == nil {
		q = &cbQueue{}
		cb.queues[o.recv.URL] = q
	}
	q.items = append(q.items, &o)
	if cb.pending == 0 {
		cb.idle = make(chan struct{})
	}
	cb.pending++
	if !q.running {
		q.running = true
		s.wg.Add(1)
		go s.drain(o.recv.URL)
	}
	return o.id
}

// sendAppCallback queues a callback to app's receiver (CallbackURL, Token,
// EncodingAESKey), with the AgentID in the envelope, and returns its id; 0
// when the app has no callback URL. onReply, if not nil, gets the body of
// the delivered attempt (a passive reply, e.g. update_button). Message,
// card and enter_agent callbacks go through here.
func (s *Sim) sendAppCallback(app *App, kind string, payload []byte, onReply func(body []byte)) int64 {
	if app.CallbackURL == "" {
		return 0
	}
	return s.enqueueCallback(outbound{
		recv:    Receiver{URL: app.CallbackURL, Token: app.Token, EncodingAESKey: app.EncodingAESKey},
		agentID: strconv.FormatInt(app.AgentID, 10),
		kind:    kind,
		payload: payload,
		onReply: onReply,
	})
}

// drain delivers one receiver's queue in order, then exits.
func (s *Sim) drain(key string) {
	defer s.wg.Done()
	cb := &s.cb
	for {
		cb.mu.Lock()
		q := cb.queues[key]
		if len(q.items) == 0 {
			q.running = false
			cb.mu.Unlock()
			return
		}
		o := q.items[0]
		q.items = q.items[1:]
		cb.mu.Unlock()

		s.deliver(o)
		if o.onDone != nil {
			o.onDone()
		}

		cb.mu.Lock()
		cb.pending--
		if cb.pending == 0 {
			close(cb.idle)
		}
		cb.mu.Unlock()
	}
}

// deliver POSTs one callback: 1 + CallbackRetries attempts, each bounded
// by CallbackTimeout; HTTP 200 = delivered. Any other status is retried
// too (doc 90238: any other status counts as failure; 90930 mentions only
// network failures and timeouts). Each attempt is signed afresh with the
// wall-clock time and a new nonce, not the simulator clock: receivers
// refuse timestamps far from their own clock (docs/wecom.md §2.1), and a
// retry minutes later must still pass. The payload (CreateTime included)
// is the same in every attempt, as WeCom's retries are.
func (s *Sim) deliver(o *outbound) {
	c, err := wecom.NewCrypter(o.recv.Token, o.recv.EncodingAESKey, s.opts.CorpID)
	if err != nil {
		s.logDelivery(Delivery{ID: o.id, Attempt: 1, Time: s.Now(), URL: o.recv.URL, Kind: o.kind, Error: "receiver config: " + err.Error(), Payload: string(o.payload)})
		s.log.Warn("callback not sent: bad receiver config", zap.String("url", o.recv.URL), zap.Error(err))
		return
	}
	attempts := 1 + s.opts.CallbackRetries
	for i := 1; i <= attempts; i++ {
		if s.ctx.Err() != nil {
			return
		}
		d := Delivery{ID: o.id, Attempt: i, Time: s.Now(), URL: o.recv.URL, Kind: o.kind, Payload: string(o.payload)}
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		nonce := randomDigits(10)
		body, sig, err := c.Seal(o.payload, o.agentID, ts, nonce)
		if err != nil {
			d.Error = "seal: " + err.Error()
			s.logDelivery(d)
			return
		}
		target, err := signedURL(o.recv.URL, sig, ts, nonce)
		if err != nil {
			d.Error = "url: " + err.Error()
			s.logDelivery(d)
			return
		}
		start := time.Now()
		status, reply, err := s.post(target, body)
		d.Duration = time.Since(start)
		d.Status = status
		if err != nil {
			d.Error = err.Error()
		}
		d.Delivered = err == nil && status == http.StatusOK
		s.logDelivery(d)
		if d.Delivered {
			s.log.Debug("callback delivered", zap.Int64("callback", o.id), zap.String("kind", o.kind), zap.Int("attempt", i))
			if o.onReply != nil {
				o.onReply(reply)
			}
			return
		}
		s.log.Warn("callback attempt failed", zap.Int64("callback", o.id), zap.String("kind", o.kind),
			zap.String("url", o.recv.URL), zap.Int("attempt", i), zap.Int("status", status), zap.String("error", d.Error))
	}
}

// ErrCallbackURL is returned for a callback receiver URL the simulator may
// not send to: not the contacts receiver or an app's CallbackURL it was
// built with, nor listed in Options.CallbackURLs.
var ErrCallbackURL = errors.New("wecomsim: callback URL is not a configured receiver (add it to simulator.callback_urls / Options.CallbackURLs)")

// callbackKey reduces a URL to what callbackAllowed compares: scheme, host
// and path. "" for a URL that does not parse as absolute http(s).
func callbackKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + p
}

// allowCallbacks records the receivers the simulator was built with.
func (s *Sim) allowCallbacks() {
	s.cbAllowed = map[string]bool{}
	add := func(raw string) {
		if k := callbackKey(raw); k != "" {
			s.cbAllowed[k] = true
		}
	}
	add(s.opts.ContactCallback.URL)
	for _, a := range s.opts.Apps {
		add(a.CallbackURL)
	}
	for _, u := range s.opts.CallbackURLs {
		add(u)
	}
}

// callbackAllowed reports whether callbacks may go to raw. The set is
// fixed at New, so it needs no lock.
func (s *Sim) callbackAllowed(raw string) bool {
	k := callbackKey(raw)
	return k != "" && s.cbAllowed[k]
}

func (s *Sim) post(target string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, fmt.Errorf("no answer within %s", s.opts.CallbackTimeout)
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return resp.StatusCode, nil, fmt.Errorf("no complete answer within %s", s.opts.CallbackTimeout)
		}
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, reply, nil
}

// signedURL appends ?msg_signature&timestamp&nonce to the receiver URL.
func signedURL(raw, sig, ts, nonce string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("msg_signature", sig)
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randomDigits(n int) string {
	h := randomHex(n)
	b := make([]byte, n)
	for i := 0; i < n; i++ {
		b[i] = '0' + h[i]%10
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func (s *Sim) logDelivery(d Delivery) {
	cb := &s.cb
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.log) >= maxDeliveryLog {
		cb.log = slices.Delete(cb.log, 0, len(cb.log)-maxDeliveryLog+1)
	}
	cb.log = append(cb.log, d)
}

// Deliveries returns the callback delivery log (one entry per attempt),
// oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	return slices.Clone(s.cb.log)
}

// Flush waits until every queued callback has been delivered or has used
// up its retries, or ctx ends.
func (s *Sim) Flush(ctx context.Context) error {
	s.cb.mu.Lock()
	if s.cb.pending == 0 {
		s.cb.mu.Unlock()
		return nil
	}
	idle := s.cb.idle
	s.cb.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
