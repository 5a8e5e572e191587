// Package smssim is a simulated SMS gateway for tests and the demo: it
// implements sms.Gateway in process, applying the same checks as the real
// provider's adapter (numbers, template id, parameters, length rules), and
// keeps the texts each number received, newest first.
//
// Handler serves a page that shows them like a phone's SMS inbox: the
// numbers that received texts at /, one number's texts at /n/{mobile};
// and a JSON API for tests: GET /api/messages?mobile=, POST /api/faults,
// POST /api/reset.
//
// The page and the API have no authentication and show full numbers and
// texts: they stand for the recipients' phones. Mount them only in the
// demo and in tests, never beside a real provider or real people's
// numbers. The POST endpoints refuse cross-origin requests and anything
// but application/json, so a web page elsewhere cannot drive them.
package smssim

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/sms"
)

// Clock is the simulator's time source (testenv.Clock fits).
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Defaults.
const (
	DefaultSignName = "示范大学"
	DefaultKeep     = 100
)

// Options configures a Sim.
type Options struct {
	// Clock stamps received texts (nil: the wall clock).
	Clock Clock
	// Logger receives a line per send (masked numbers only). nil discards.
	Logger *zap.Logger
	// SignName is the signature shown before each text, as the real
	// gateway's (default 示范大学); it counts in the length rules.
	SignName string
	// Keep is how many texts each number keeps, newest first (default 100).
	Keep int
	// BasePath is where Handler is mounted (e.g. "/smssim"), for the
	// page's links; "" for the root.
	BasePath string
	// ParamMaxChars is the real gateway's limit on a template parameter
	// (0: none), so tests see the same refusals.
	ParamMaxChars int
}

// Text is one text a number received.
type Text struct {
	Mobile string `json:"mobile"`
	// Text is what the phone shows: 【signature】 and the body.
	Text     string    `json:"text"`
	Template string    `json:"template"`
	Params   []string  `json:"params,omitempty"`
	Parts    int       `json:"parts"` // billed parts
	SerialNo string    `json:"serial_no"`
	At       time.Time `json:"at"`

	seq int // order of delivery
}

type fault struct {
	left int
	code string
}

// Sim is the simulated gateway. It is safe for concurrent use.
type Sim struct {
	clock         Clock
	log           *zap.Logger
	sign          string
	keep          int
	base          string
	paramMaxChars int

	mu     sync.Mutex
	seq    int
	inbox  map[string][]Text // newest first
	calls  int
	next   []fault          // whole-call failures, in order
	byMobi map[string]fault // per-number failures
}

var _ sms.Gateway = (*Sim)(nil)

// New builds an empty simulator.
func New(o Options) *Sim {
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.SignName == "" {
		o.SignName = DefaultSignName
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	return &Sim{
		clock: o.Clock, log: o.Logger, sign: o.SignName, keep: o.Keep,
		base: trimSlash(o.BasePath), paramMaxChars: o.ParamMaxChars,
		inbox: map[string][]Text{}, byMobi: map[string]fault{},
	}
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// SignName is the signature the simulator puts before each text.
func (s *Sim) SignName() string { return s.sign }

// Send delivers m to each number's inbox, unless a fault says otherwise.
func (s *Sim) Send(ctx context.Context, m sms.Message) (*sms.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, &sms.Error{Code: sms.CodeTransport, Retriable: true, Err: err}
	}
	if err := sms.Check(m, s.sign, s.paramMaxChars); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	full := sms.Full(s.sign, m.Text)
	_, parts := sms.Count(s.sign, m.Text)

	s.mu.Lock()
	s.calls++
	s.seq++
	reqID := "sim-" + strconv.Itoa(s.seq)
	if len(s.next) > 0 {
		f := &s.next[0]
		code := f.code
		if f.left--; f.left <= 0 {
			s.next = s.next[1:]
		}
		s.mu.Unlock()
		retriable, after := sms.Classify(code, now)
		s.log.Info("smssim: send failed (injected)", zap.String("code", code), zap.Int("mobiles", len(m.Mobiles)))
		return nil, &sms.Error{Code: code, Message: "injected by the simulator", RequestID: reqID, Retriable: retriable, RetryAfter: after}
	}
	res := &sms.Result{RequestID: reqID, Statuses: make([]sms.Status, len(m.Mobiles))}
	failed := 0
	for i, mobile := range m.Mobiles {
		if f, ok := s.byMobi[mobile]; ok {
			if f.left--; f.left <= 0 {
				delete(s.byMobi, mobile)
			} else {
				s.byMobi[mobile] = f
			}
			retriable, after := sms.Classify(f.code, now)
			res.Statuses[i] = sms.Status{Mobile: mobile, Code: f.code, Message: "injected by the simulator", Retriable: retriable, RetryAfter: after}
			failed++
			s.log.Info("smssim: number not sent (injected)", zap.String("mobile", mask.Phone(mobile)), zap.String("code", f.code))
			continue
		}
		s.seq++
		serial := fmt.Sprintf("sim:%d", s.seq)
		t := Text{Mobile: mobile, Text: full, Template: m.Template, Params: slices.Clone(m.Params), Parts: parts, SerialNo: serial, At: now, seq: s.seq}
		box := append([]Text{t}, s.inbox[mobile]...)
		if len(box) > s.keep {
			box = box[:s.keep]
		}
		s.inbox[mobile] = box
		res.Statuses[i] = sms.Status{Mobile: mobile, OK: true, Code: sms.CodeOK, Message: "send success", SerialNo: serial, Fee: parts}
	}
	s.mu.Unlock()
	s.log.Info("smssim: sent", zap.String("template", m.Template), zap.Int("mobiles", len(m.Mobiles)),
		zap.Int("failed", failed), zap.Int("parts", parts), zap.String("request_id", reqID))
	return res, nil
}

// Texts returns the texts a number (E.164) received, newest first.
func (s *Sim) Texts(mobile string) []Text {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.inbox[mobile])
}

// Inbox is one number's summary.
type Inbox struct {
	Mobile string    `json:"mobile"`
	Count  int       `json:"count"`
	Last   Text      `json:"last"`
	LastAt time.Time `json:"last_at"`
}

// Inboxes lists the numbers that received texts, the latest first.
func (s *Sim) Inboxes() []Inbox {
	s.mu.Lock()
	out := make([]Inbox, 0, len(s.inbox))
	for m, box := range s.inbox {
		out = append(out, Inbox{Mobile: m, Count: len(box), Last: box[0], LastAt: box[0].At})
	}
	s.mu.Unlock()
	// Serial numbers grow with every text, so they order texts even when
	// the clock does not move.
	slices.SortFunc(out, func(a, b Inbox) int { return b.Last.seq - a.Last.seq })
	return out
}

// Calls is how many Sends passed the checks (delivered or failed by a
// fault).
func (s *Sim) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// FailNext makes the next n Sends fail as a whole with a provider error
// code (e.g. "RequestLimitExceeded", retriable; "AuthFailure.SecretIdNotFound",
// not), as the real gateway reports Response.Error. Faults queue in order.
func (s *Sim) FailNext(n int, code string) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = append(s.next, fault{left: n, code: code})
}

// FailMobile makes the next n texts to one number fail with a per-number
// code (e.g. "LimitExceeded.PhoneNumberDailyLimit",
// "FailedOperation.PhoneNumberInBlacklist") while the other numbers of
// the same Send are delivered.
func (s *Sim) FailMobile(mobile string, n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.byMobi, mobile)
		return
	}
	s.byMobi[mobile] = fault{left: n, code: code}
}

// Reset forgets every text and fault.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inbox = map[string][]Text{}
	s.byMobi = map[string]fault{}
	s.next = nil
	s.calls = 0
}
