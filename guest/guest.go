// Package guest signs in people who are neither WeCom members nor CAS
// users — applicants (a graduation-certificate reissue), parents, visitors —
// with their mobile number and a code sent to it by SMS. What they prove is
// only that they hold the number: the service hall shows them the
// applications filed under that number (E.164) and nothing else.
//
// Everything lives in the coordination layer, so limits and codes hold
// across instances: per number one text per minute and five per hour, per
// IP twenty texts and thirty verifications per hour. Only an HMAC of a code
// is kept, never the code; a code is good for CodeTTL, for one sign-in, and
// for at most MaxTries wrong guesses, after which it is burnt.
//
// A signed-in guest is an auth.Principal with Source auth.SourcePhone and
// UserID "guest:" + the E.164 number (UserID). WeCom userids cannot contain
// ':' (letters, digits, '_', '-', '@' and '.' only), so a guest's id never
// names a member; IsGuest tells them apart wherever a page is for members.
package guest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/sms"
	"github.com/wecomapp/wecomapp/store"
)

// Defaults and fixed rules.
const (
	// DefaultCodeTTL is how long a code is good for; the text says so.
	DefaultCodeTTL = 5 * time.Minute
	// DefaultTemplateText is the verification template's approved body:
	// {1} the code, {2} its lifetime in minutes.
	DefaultTemplateText = "您的验证码为{1}，{2}分钟内有效。如非本人操作请忽略。"
	// CodeDigits is the length of a code.
	CodeDigits = 6
	// MaxTries is how many wrong codes burn the code sent.
	MaxTries = 5
	// UserIDPrefix starts every guest's UserID.
	UserIDPrefix = "guest:"
)

// Rate limits. Token buckets: the burst is the count, refilled evenly over
// the period, so "5 per hour" is 5 at once and then one every 12 minutes.
var (
	limitMobileMinute = coord.Limit{Rate: 1.0 / 60, Burst: 1}
	limitMobileHour   = coord.Limit{Rate: 5.0 / 3600, Burst: 5}
	limitIPSend       = coord.Limit{Rate: 20.0 / 3600, Burst: 20}
	limitIPVerify     = coord.Limit{Rate: 30.0 / 3600, Burst: 30}
)

// Audit actions. The object is "guest/" + the masked number; the full
// number is never written to the audit log.
const (
	ActionCodeSent      = "guest.code_sent"
	ActionCodeNotSent   = "guest.code_not_sent" // the gateway refused or failed
	ActionCodeLimited   = "guest.code_limited"
	ActionSignedIn      = "guest.signed_in"
	ActionCodeWrong     = "guest.code_wrong"
	ActionCodeBurnt     = "guest.code_burnt"
	ActionNoCode        = "guest.no_code" // none sent, expired, used or burnt
	ActionVerifyLimited = "guest.verify_limited"
)

// ErrInvalidMobile is matched (errors.Is) by every *InvalidMobileError.
var ErrInvalidMobile = errors.New("guest: not a mainland China mobile number")

// Why a number was refused (InvalidMobileError.Reason).
const (
	ReasonEmpty       = "empty"
	ReasonInvalid     = "invalid"      // not a phone number at all
	ReasonNotMobile   = "not_mobile"   // a landline
	ReasonNotMainland = "not_mainland" // a mobile outside mainland China
)

// InvalidMobileError is a number SendCode or Verify cannot use.
type InvalidMobileError struct {
	Reason string
	// Masked is the input, masked, for logs.
	Masked string
}

func (e *InvalidMobileError) Error() string {
	return fmt.Sprintf("guest: %s: not usable (%s)", e.Masked, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidMobile) true.
func (e *InvalidMobileError) Is(target error) bool { return target == ErrInvalidMobile }

// ErrRateLimited is matched by every *RateLimitError.
var ErrRateLimited = errors.New("guest: rate limited")

// Scopes of a rate limit.
const (
	ScopeMobile = "mobile" // this number's texts
	ScopeIP     = "ip"     // this network's texts or verifications
)

// RateLimitError says which allowance is spent and when the next attempt
// may succeed.
type RateLimitError struct {
	Scope      string
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("guest: %s rate limit, retry after %s", e.Scope, e.RetryAfter)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Seconds is RetryAfter in whole seconds, rounded up, at least 1.
func (e *RateLimitError) Seconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

// ErrNotSent: the gateway did not accept the text (the number refused by
// the provider, a provider outage). The person may try again later.
var ErrNotSent = errors.New("guest: the text was not sent")

// ErrNoCode: there is no code to check — none was sent, it expired, it was
// used, or wrong guesses burnt it. A new code must be requested.
var ErrNoCode = errors.New("guest: no live code for this number")

// ErrWrongCode is matched by every *WrongCodeError.
var ErrWrongCode = errors.New("guest: wrong code")

// WrongCodeError is a wrong code; Left is how many more guesses the code
// takes (0: it is burnt now).
type WrongCodeError struct{ Left int }

func (e *WrongCodeError) Error() string {
	return fmt.Sprintf("guest: wrong code, %d tries left", e.Left)
}

// Is makes errors.Is(err, ErrWrongCode) true.
func (e *WrongCodeError) Is(target error) bool { return target == ErrWrongCode }

// Options configure New.
type Options struct {
	// Coord keeps codes and rate limits, shared by every instance. Required.
	Coord coord.Store
	// SMS is the gateway the code goes through (the one notify's
	// TextSender wraps). Required.
	SMS sms.Gateway
	// Template is the provider id of an approved verification-code
	// template, TemplateText its approved body (default
	// DefaultTemplateText): {1} is the code and {2}, if present, the
	// minutes it is good for. Notice templates do not fit: providers send
	// codes only through verification-code templates.
	Template, TemplateText string
	// Secret keys the HMAC under which codes are kept. Every instance of
	// a deployment needs the same one, or a code texted by one instance
	// fails on another; nil is a random key of this process (a single
	// instance).
	Secret []byte
	// Audit records each attempt (store.DB.InsertAudit fits); nil skips.
	Audit func(ctx context.Context, e store.AuditEntry) error
	// Logger; nil discards.
	Logger *zap.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// CodeTTL is how long a code is good for (default 5 minutes).
	CodeTTL time.Duration
}

// Service sends and checks codes. It is safe for concurrent use.
type Service struct {
	co       coord.Store
	gw       sms.Gateway
	template string
	text     string
	nParams  int
	secret   []byte
	audit    func(ctx context.Context, e store.AuditEntry) error
	log      *zap.Logger
	now      func() time.Time
	ttl      time.Duration
}

// New checks o and returns a Service.
func New(o Options) (*Service, error) {
	if o.Coord == nil {
		return nil, errors.New("guest: Options.Coord is required")
	}
	if o.SMS == nil {
		return nil, errors.New("guest: Options.SMS is required")
	}
	if strings.TrimSpace(o.Template) == "" {
		return nil, errors.New("guest: Options.Template (the verification-code template id) is required")
	}
	if o.TemplateText == "" {
		o.TemplateText = DefaultTemplateText
	}
	n := placeholders(o.TemplateText)
	if n < 1 || n > 2 || !strings.Contains(o.TemplateText, "{1}") {
		return nil, fmt.Errorf("guest: template text %q: want {1} for the code and at most {2} for the minutes", o.TemplateText)
	}
	if o.CodeTTL < 0 {
		return nil, fmt.Errorf("guest: code lifetime %v must not be negative", o.CodeTTL)
	}
	if o.CodeTTL == 0 {
		o.CodeTTL = DefaultCodeTTL
	}
	if len(o.Secret) == 0 {
		o.Secret = make([]byte, 32)
		_, _ = rand.Read(o.Secret) // does not fail (Go 1.24+ crashes instead)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{co: o.Coord, gw: o.SMS, template: o.Template, text: o.TemplateText, nParams: n,
		secret: append([]byte(nil), o.Secret...), audit: o.Audit, log: o.Logger, now: o.Now, ttl: o.CodeTTL}, nil
}

// placeholders is the highest {n} in a template text.
func placeholders(text string) int {
	n := 0
	for i := 1; i <= 9; i++ {
		if strings.Contains(text, "{"+strconv.Itoa(i)+"}") {
			n = i
		}
	}
	return n
}

// CodeTTL is how long a code is good for.
func (s *Service) CodeTTL() time.Duration { return s.ttl }

// Normalize reads a number as a guest may type it (11 digits, spaces,
// +86) and returns it in E.164, or an *InvalidMobileError. Only mainland
// China mobiles are taken: the verification template is approved for them.
func Normalize(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", &InvalidMobileError{Reason: ReasonEmpty}
	}
	e164, err := sms.Normalize(raw, "CN")
	switch {
	case errors.Is(err, sms.ErrNotMobile):
		return "", &InvalidMobileError{Reason: ReasonNotMobile, Masked: mask.Phone(raw)}
	case err != nil:
		return "", &InvalidMobileError{Reason: ReasonInvalid, Masked: mask.Phone(raw)}
	case !sms.IsMainland(e164):
		return "", &InvalidMobileError{Reason: ReasonNotMainland, Masked: mask.Phone(e164)}
	}
	return e164, nil
}

// Masked is a mainland number as pages show it: 139****5678.
func Masked(e164 string) string {
	return mask.Phone(strings.TrimPrefix(e164, "+86"))
}

// UserID is the principal's UserID of the guest holding e164.
func UserID(e164 string) string { return UserIDPrefix + e164 }

// IsGuest reports whether p signed in by SMS code rather than as a member.
// Pages for members must refuse such a principal: its UserID is a phone
// number, not a WeCom userid.
func IsGuest(p auth.Principal) bool {
	return p.Source == auth.SourcePhone || strings.HasPrefix(p.UserID, UserIDPrefix)
}

// Mobile is the E.164 number of a guest principal, "" for anyone else.
func Mobile(p auth.Principal) string {
	if !IsGuest(p) {
		return ""
	}
	return strings.TrimPrefix(p.UserID, UserIDPrefix)
}

// Principal is what the session keeps for the guest holding e164 (SignIn
// stamps SignedInAt).
func Principal(e164 string) auth.Principal {
	return auth.Principal{UserID: UserID(e164), Name: Masked(e164), Source: auth.SourcePhone}
}

// record is a live code in coord.
type record struct {
	Nonce   string `json:"nonce"`
	MAC     string `json:"mac"` // HMAC(secret, nonce, number, code)
	Tries   int    `json:"tries"`
	Expires int64  `json:"expires"` // Unix milliseconds
}

// digest names a number or an IP in coord keys without spelling it out.
// It is not a secret (it must be the same on every instance whatever the
// configuration, so limits hold), only keeps numbers out of key listings.
func digest(kind, v string) string {
	sum := sha256.Sum256([]byte("wecomapp guest " + kind + "\x00" + v))
	return hex.EncodeToString(sum[:16])
}

func codeKey(e164 string) string { return "guest:code:" + digest("mobile", e164) }
func lockKey(e164 string) string { return "guest:lock:" + digest("mobile", e164) }

func (s *Service) mac(nonce, e164, code string) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte(nonce + "\x00" + e164 + "\x00" + code))
	return h.Sum(nil)
}

// newCode is CodeDigits uniform random digits.
func newCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	// 2^64 mod 10^6 is negligible bias (< 1e-13).
	return fmt.Sprintf("%06d", binary.BigEndian.Uint64(b[:])%1_000_000)
}

// allow takes a token from each bucket in turn; the first refusal wins.
func (s *Service) allow(ctx context.Context, scope string, buckets ...bucket) error {
	for _, b := range buckets {
		ok, after, err := s.co.Allow(ctx, b.key, b.lim)
		if err != nil {
			return fmt.Errorf("guest: rate limit %s: %w", scope, err)
		}
		if !ok {
			return &RateLimitError{Scope: scope, RetryAfter: after}
		}
	}
	return nil
}

// bucket is one rate limit: its coord key and its allowance.
type bucket struct {
	key string
	lim coord.Limit
}

// SendCode texts a new code to rawMobile, replacing any code sent before.
// ip is the client's address (gin's ClientIP). Errors: *InvalidMobileError,
// *RateLimitError, ErrNotSent, or a failure of coord.
func (s *Service) SendCode(ctx context.Context, rawMobile, ip string) error {
	e164, err := Normalize(rawMobile)
	if err != nil {
		return err
	}
	// The network first: someone spraying numbers spends their own
	// allowance, not the numbers'.
	if err := s.allow(ctx, ScopeIP, bucket{"guest:send:ip:" + digest("ip", ip), limitIPSend}); err != nil {
		s.auditLimited(ctx, ActionCodeLimited, e164, ip, err)
		return err
	}
	d := digest("mobile", e164)
	if err := s.allow(ctx, ScopeMobile, bucket{"guest:send:m1:" + d, limitMobileMinute}, bucket{"guest:send:h1:" + d, limitMobileHour}); err != nil {
		s.auditLimited(ctx, ActionCodeLimited, e164, ip, err)
		return err
	}

	code := newCode()
	nonce := rand.Text()
	now := s.now()
	rec := record{Nonce: nonce, MAC: hex.EncodeToString(s.mac(nonce, e164, code)), Expires: now.Add(s.ttl).UnixMilli()}
	keep := func() error {
		return s.withCode(ctx, e164, func(*record) (*record, error) { return &rec, nil })
	}
	params := []string{code, strconv.Itoa(int((s.ttl + time.Minute - 1) / time.Minute))}[:s.nParams]
	res, err := s.gw.Send(ctx, sms.Message{Mobiles: []string{e164}, Template: s.template, Params: params, Text: sms.Render(s.text, params)})
	var inv *sms.InvalidError
	switch {
	case errors.As(err, &inv):
		// Our template or sign name is wrong, not the person's input.
		s.auditSend(ctx, ActionCodeNotSent, e164, ip, map[string]any{"error": err.Error()})
		return fmt.Errorf("guest: text the code to %s: %w", Masked(e164), err)
	case err != nil:
		s.log.Warn("guest code not sent", zap.String("mobile", Masked(e164)), zap.Bool("retriable", sms.IsRetriable(err)), zap.Error(err))
		s.auditSend(ctx, ActionCodeNotSent, e164, ip, map[string]any{"error": err.Error()})
		if sms.MaybeSent(err) {
			// The text may still arrive: let it work. A code sent before
			// is kept otherwise, so a failed resend does not void it.
			if kerr := keep(); kerr != nil {
				s.log.Warn("guest code possibly sent but not kept", zap.String("mobile", Masked(e164)), zap.Error(kerr))
			}
		}
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	if len(res.Statuses) != 1 || !res.Statuses[0].OK {
		code := sms.CodeNoStatus
		if len(res.Statuses) == 1 {
			code = res.Statuses[0].Code
		}
		s.log.Warn("guest code refused by the provider", zap.String("mobile", Masked(e164)), zap.String("code", code), zap.String("request_id", res.RequestID))
		s.auditSend(ctx, ActionCodeNotSent, e164, ip, map[string]any{"provider_code": code})
		return fmt.Errorf("%w: provider code %s", ErrNotSent, code)
	}
	if err := keep(); err != nil {
		return err
	}
	s.log.Info("guest code sent", zap.String("mobile", Masked(e164)), zap.String("request_id", res.RequestID))
	s.auditSend(ctx, ActionCodeSent, e164, ip, map[string]any{"serial_no": res.Statuses[0].SerialNo})
	return nil
}

// Verify checks code against the one last texted to rawMobile and, when
// it matches, spends it and returns the number in E.164. Errors:
// *InvalidMobileError, *RateLimitError (this network's verifications),
// ErrNoCode, *WrongCodeError, or a failure of coord.
func (s *Service) Verify(ctx context.Context, rawMobile, code, ip string) (string, error) {
	e164, err := Normalize(rawMobile)
	if err != nil {
		return "", err
	}
	if err := s.allow(ctx, ScopeIP, bucket{"guest:verify:ip:" + digest("ip", ip), limitIPVerify}); err != nil {
		s.auditLimited(ctx, ActionVerifyLimited, e164, ip, err)
		return "", err
	}
	code = strings.TrimSpace(code)
	var outcome error
	err = s.withCode(ctx, e164, func(rec *record) (*record, error) {
		if rec == nil || s.now().UnixMilli() >= rec.Expires {
			outcome = ErrNoCode
			return nil, nil
		}
		want, _ := hex.DecodeString(rec.MAC)
		// Compared as MACs: constant time, and a code of another length
		// simply does not match.
		if hmac.Equal(s.mac(rec.Nonce, e164, code), want) {
			return nil, nil // spent
		}
		rec.Tries++
		left := MaxTries - rec.Tries
		outcome = &WrongCodeError{Left: max(left, 0)}
		if left <= 0 {
			return nil, nil // burnt
		}
		return rec, nil
	})
	if err != nil {
		return "", err
	}
	var wrong *WrongCodeError
	switch {
	case outcome == nil:
		s.auditSend(ctx, ActionSignedIn, e164, ip, nil)
		return e164, nil
	case errors.As(outcome, &wrong) && wrong.Left == 0:
		s.auditSend(ctx, ActionCodeBurnt, e164, ip, map[string]any{"tries": MaxTries})
	case wrong != nil:
		s.auditSend(ctx, ActionCodeWrong, e164, ip, map[string]any{"left": wrong.Left})
	default:
		s.auditSend(ctx, ActionNoCode, e164, ip, nil)
	}
	return "", outcome
}

// withCode runs fn on the number's live code (nil when there is none)
// under the number's lock, on every instance, and keeps what fn returns
// (nil deletes the code).
func (s *Service) withCode(ctx context.Context, e164 string, fn func(*record) (*record, error)) error {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	l, err := coord.LockWait(wctx, s.co, lockKey(e164), 5*time.Second, 20*time.Millisecond)
	cancel()
	if err != nil {
		return fmt.Errorf("guest: lock the code of %s: %w", Masked(e164), err)
	}
	defer func() {
		if err := l.Release(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("guest code lock", zap.String("mobile", Masked(e164)), zap.Error(err))
		}
	}()
	var cur *record
	b, err := s.co.Get(ctx, codeKey(e164))
	switch {
	case errors.Is(err, coord.ErrNotFound):
	case err != nil:
		return fmt.Errorf("guest: read the code of %s: %w", Masked(e164), err)
	default:
		var r record
		if json.Unmarshal(b, &r) == nil {
			cur = &r
		} // a corrupt record reads as none: a new code is needed
	}
	next, err := fn(cur)
	if err != nil {
		return err
	}
	if next == nil {
		if cur == nil {
			return nil
		}
		if err := s.co.Delete(ctx, codeKey(e164)); err != nil {
			return fmt.Errorf("guest: spend the code of %s: %w", Masked(e164), err)
		}
		return nil
	}
	ttl := time.UnixMilli(next.Expires).Sub(s.now())
	if ttl <= 0 {
		ttl = time.Millisecond
	}
	b, err = json.Marshal(next)
	if err != nil {
		return fmt.Errorf("guest: keep the code of %s: %w", Masked(e164), err)
	}
	if err := s.co.Set(ctx, codeKey(e164), b, ttl); err != nil {
		return fmt.Errorf("guest: keep the code of %s: %w", Masked(e164), err)
	}
	return nil
}

func (s *Service) auditLimited(ctx context.Context, action, e164, ip string, err error) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		s.auditSend(ctx, action, e164, ip, map[string]any{"scope": rl.Scope, "retry_after_s": rl.Seconds()})
	}
}

// auditSend writes one attempt. A failure is logged and changes nothing:
// the person was served (or refused) either way.
func (s *Service) auditSend(ctx context.Context, action, e164, ip string, after map[string]any) {
	if s.audit == nil {
		return
	}
	masked := Masked(e164)
	if after == nil {
		after = map[string]any{}
	}
	after["mobile"] = masked
	e, err := store.Audit(store.Actor{UserID: "guest", IP: ip}, action, "guest/"+masked, nil, after, s.now())
	if err == nil {
		err = s.audit(context.WithoutCancel(ctx), e)
	}
	if err != nil {
		s.log.Error("guest attempt not audited", zap.String("action", action), zap.String("mobile", masked), zap.String("ip", ip), zap.Error(err))
	}
}
