package sms

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/nyaruka/phonenumbers"

	"github.com/wecomapp/wecomapp/internal/mask"
)

// Gateway sends text messages. Send makes one provider call: a message to
// at most MaxMobiles numbers, all in mainland China (use Batches to split
// a longer list). Implementations are safe for concurrent use.
//
// When err is nil the Result has one Status per number, in the order of
// Message.Mobiles; some may have failed. When err is not nil nothing is
// known to have been sent: an *InvalidError (the message itself is wrong,
// never retriable) or an *Error (the call failed; see IsRetriable,
// RetryAfter and MaybeSent).
type Gateway interface {
	Send(ctx context.Context, m Message) (*Result, error)
}

// Message is one text to one or more numbers.
type Message struct {
	// Mobiles are E.164 numbers as Normalize returns them
	// (+8613800138000), without duplicates.
	Mobiles []string
	// Template is the provider's id of an approved body template
	// (Tencent: a numeric TemplateId).
	Template string
	// Params fill the template's {1}, {2}, … in order.
	Params []string
	// Text is the rendered body without the signature (Render of the
	// template's text and Params): what the recipient reads after 【…】.
	// It is checked against the length rules, and it is what the
	// simulated gateway delivers; the real provider renders its own copy
	// of the approved template.
	Text string
}

// Result is the answer to one Send.
type Result struct {
	// RequestID is the provider's id of the call, for its support.
	RequestID string
	// Statuses has one entry per Message.Mobiles, in that order.
	Statuses []Status
}

// Failed returns the statuses of the numbers that were not sent.
func (r *Result) Failed() []Status {
	var out []Status
	for _, s := range r.Statuses {
		if !s.OK {
			out = append(out, s)
		}
	}
	return out
}

// Status is the outcome for one number.
type Status struct {
	Mobile string // E.164, as in the Message
	OK     bool
	// Code is the provider's code: CodeOK, or why this number failed
	// ("LimitExceeded.PhoneNumberDailyLimit",
	// "InvalidParameterValue.IncorrectPhoneNumber"), or one of the local
	// Code* values.
	Code    string
	Message string
	// SerialNo is the provider's id of the text sent (Tencent: SerialNo),
	// for matching delivery receipts.
	SerialNo string
	// Fee is the number of billed parts (0 when not sent).
	Fee int
	// Retriable: sending the same message to this number later may
	// succeed (a frequency or daily limit, a provider timeout).
	Retriable bool
	// RetryAfter is the least wait before that retry helps, when known
	// (30 s, an hour, until the next day in China); 0 otherwise.
	RetryAfter time.Duration
}

// CodeOK is the per-number code of a text the provider accepted.
const CodeOK = "Ok"

// Local codes, for failures that carry no provider code.
const (
	// CodeTransport: the provider could not be reached, or the
	// connection broke or timed out before an answer.
	CodeTransport = "sms.Transport"
	// CodeHTTPStatus: the provider (or a proxy before it) answered with a
	// status other than 200.
	CodeHTTPStatus = "sms.HTTPStatus"
	// CodeBadAnswer: an answer that is not the documented JSON.
	CodeBadAnswer = "sms.BadAnswer"
	// CodeNoStatus: the answer had no status for this number.
	CodeNoStatus = "sms.NoStatus"
)

// Error is a Send that failed as a whole.
type Error struct {
	// Code is the provider's error code (Response.Error.Code, e.g.
	// "AuthFailure.SignatureFailure", "RequestLimitExceeded") or a local
	// Code* value.
	Code      string
	Message   string
	RequestID string
	// Retriable: the same call may succeed later.
	Retriable bool
	// RetryAfter is the least useful wait when known, else 0.
	RetryAfter time.Duration
	// MaybeSent: the request reached the provider and no answer came
	// back (a timeout after sending, a 504), so the texts may have gone
	// out; retrying may send them twice.
	MaybeSent bool
	// Err is the underlying error, if any (a net error, context.Canceled).
	Err error
}

// Error names the code and message; it never contains a number.
func (e *Error) Error() string {
	s := "sms: " + e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the underlying error (errors.Is(err, context.DeadlineExceeded)).
func (e *Error) Unwrap() error { return e.Err }

// InvalidError is a message refused before anything was sent: which field
// and what is wrong with it. Never retriable: the caller must change the
// message.
type InvalidError struct {
	Field   string // "mobiles", "template", "params", "text"
	Problem string
}

func (e *InvalidError) Error() string { return "sms: " + e.Field + ": " + e.Problem }

// IsRetriable reports whether err is a failed call that may succeed if
// made again later (with backoff, and not before RetryAfter).
func IsRetriable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retriable
}

// RetryAfter is the least useful wait before retrying err, 0 when unknown.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// MaybeSent reports whether err leaves open that the provider sent the
// texts (see Error.MaybeSent).
func MaybeSent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.MaybeSent
}

// china is China Standard Time (no DST), in which Tencent Cloud SMS counts
// its daily limits and the hours marketing texts may be sent.
var china = time.FixedZone("CST", 8*3600)

// Classify says whether a provider code (per number or for the whole
// call) may succeed on a later retry, and the least wait before it can,
// given the time now. Codes that need someone to act (an unapproved
// signature or template, an empty SMS package, suspended service, bad
// credentials, a blocked number) are not retriable: retrying cannot help
// until then, and the operator must see them.
func Classify(code string, now time.Time) (retriable bool, after time.Duration) {
	switch code {
	case "LimitExceeded.PhoneNumberThirtySecondLimit":
		return true, 30 * time.Second
	case "LimitExceeded.PhoneNumberOneHourLimit":
		return true, time.Hour
	case "LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit",
		"LimitExceeded.AppDailyLimit", "LimitExceeded.DailyLimit":
		return true, untilChina(now, 0)
	case "FailedOperation.MarketingSendTimeConstraint":
		// Marketing texts only go out between 8:00 and 22:00.
		return true, untilChina(now, 8)
	case "LimitExceeded.DeliveryFrequencyLimit":
		// A policy set in the SMS console, its window unknown here: the
		// caller's backoff decides.
		return true, 0
	case "InternalError", "InternalError.Timeout", "InternalError.SendAndRecvFail",
		"InternalError.OtherError", "InternalError.UnknownError", CodeTransport:
		return true, 0
	}
	if code == "RequestLimitExceeded" || strings.HasPrefix(code, "RequestLimitExceeded.") {
		return true, time.Second
	}
	return false, 0
}

// untilChina is the wait from now to the next hour:00 in China.
func untilChina(now time.Time, hour int) time.Duration {
	t := now.In(china)
	next := time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, china)
	if !next.After(t) {
		next = next.AddDate(0, 0, 1)
	}
	return next.Sub(t)
}

// MaxMobiles is the most numbers one SendSms call takes.
const MaxMobiles = 200

// Errors of Normalize, wrapped with the (masked) input.
var (
	ErrInvalidNumber = errors.New("not a valid phone number")
	ErrNotMobile     = errors.New("not a mobile number")
)

// Normalize reads a phone number as people type it (13800138000,
// 138-0013-8000, +86 138 0013 8000, 0086…, full-width digits) and returns
// it in E.164 (+8613800138000). Numbers without a country code are read
// in defaultRegion ("" means "CN"). Only mobile numbers are accepted: a
// landline, a 400 number or a short code cannot receive texts.
func Normalize(raw, defaultRegion string) (string, error) {
	if defaultRegion == "" {
		defaultRegion = "CN"
	}
	raw = strings.TrimSpace(raw)
	num, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("sms: %s: %w", mask.Phone(raw), ErrInvalidNumber)
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE:
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		// Some countries (the US, Canada) do not tell the two apart. China
		// does, so there this would be a landline.
		if num.GetCountryCode() == 86 {
			return "", fmt.Errorf("sms: %s: %w", mask.Phone(raw), ErrNotMobile)
		}
	default:
		return "", fmt.Errorf("sms: %s: %w", mask.Phone(raw), ErrNotMobile)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// IsMainland reports whether an E.164 number is in mainland China (+86),
// the numbers domestic templates reach. Hong Kong, Macao and Taiwan
// numbers are international for the provider.
func IsMainland(e164 string) bool { return strings.HasPrefix(e164, "+86") }

// Batches splits numbers into the lists one Send takes: mainland numbers
// and the others apart (the provider refuses a call that mixes them, and
// the others need an international template), each at most MaxMobiles
// long, keeping order. Duplicates are dropped.
func Batches(mobiles []string) [][]string {
	seen := make(map[string]bool, len(mobiles))
	var mainland, other []string
	for _, m := range mobiles {
		if seen[m] {
			continue
		}
		seen[m] = true
		if IsMainland(m) {
			mainland = append(mainland, m)
		} else {
			other = append(other, m)
		}
	}
	var out [][]string
	for _, list := range [][]string{mainland, other} {
		for len(list) > 0 {
			n := min(len(list), MaxMobiles)
			out = append(out, list[:n:n])
			list = list[n:]
		}
	}
	return out
}

// Length rules of Tencent Cloud SMS for texts to mainland numbers.
const (
	// SingleChars is the longest text (signature included) billed as one
	// message.
	SingleChars = 70
	// PartChars is the size of each billed part of a longer text; the
	// phone shows the parts joined as one message.
	PartChars = 67
	// MaxChars is the longest text the provider sends, signature and
	// variables' values included.
	MaxChars = 500
	// MaxParts is how many parts a text of MaxChars is billed as.
	MaxParts = (MaxChars + PartChars - 1) / PartChars
)

// Full is the text as the recipient sees it: the signature in 【】, then
// the body.
func Full(signName, text string) string {
	if signName == "" {
		return text
	}
	return "【" + signName + "】" + text
}

// Chars counts s as the provider does: every Chinese character, letter,
// digit, punctuation mark (full- or half-width) and space is one; a
// character outside the Basic Multilingual Plane (most emoji, rare
// characters) is two, as texts travel in UCS-2.
func Chars(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Count is the length of the full text (signature included) and the
// number of parts it is billed as.
func Count(signName, text string) (chars, parts int) {
	full := Full(signName, text)
	return Chars(full), len(Split(signName, text))
}

// Split cuts the full text (signature included) into the parts it is
// billed as: one part up to SingleChars, else parts of PartChars (a
// character that takes two units is never cut in half). An empty text is
// one empty part.
func Split(signName, text string) []string {
	full := Full(signName, text)
	if Chars(full) <= SingleChars {
		return []string{full}
	}
	var parts []string
	var b strings.Builder
	n := 0
	for _, r := range full {
		w := utf16.RuneLen(r)
		if n+w > PartChars {
			parts = append(parts, b.String())
			b.Reset()
			n = 0
		}
		b.WriteRune(r)
		n += w
	}
	if b.Len() > 0 {
		parts = append(parts, b.String())
	}
	return parts
}

// CheckText refuses a text the provider would refuse: empty, longer than
// MaxChars with the signature, or containing 【 or 】 (reserved for the
// signature).
func CheckText(signName, text string) error {
	if strings.TrimSpace(text) == "" {
		return &InvalidError{Field: "text", Problem: "empty"}
	}
	if strings.ContainsAny(text, "【】") {
		return &InvalidError{Field: "text", Problem: "contains 【 or 】, which only the signature may use"}
	}
	chars, parts := Count(signName, text)
	if chars > MaxChars {
		return &InvalidError{Field: "text", Problem: fmt.Sprintf(
			"%d characters with the signature, over the provider's limit of %d (%d parts of %d; this would be %d)",
			chars, MaxChars, MaxParts, PartChars, parts)}
	}
	return nil
}

// Render fills a template's {1}, {2}, … with params, as the provider
// renders an approved template. A placeholder without a value is left as
// it is.
func Render(template string, params []string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(template, '{')
		if i < 0 {
			b.WriteString(template)
			return b.String()
		}
		j := strings.IndexByte(template[i:], '}')
		if j < 0 {
			b.WriteString(template)
			return b.String()
		}
		n, err := strconv.Atoi(template[i+1 : i+j])
		if err != nil || n < 1 || n > len(params) {
			b.WriteString(template[:i+j+1])
		} else {
			b.WriteString(template[:i])
			b.WriteString(params[n-1])
		}
		template = template[i+j+1:]
	}
}

// CheckMobiles refuses a list Send cannot take: empty, over MaxMobiles,
// a number not in E.164 as Normalize writes it, a duplicate, or a number
// outside mainland China (international texts need their own templates,
// which this platform does not configure yet). The error names the
// position and the masked number.
func CheckMobiles(mobiles []string) error {
	if len(mobiles) == 0 {
		return &InvalidError{Field: "mobiles", Problem: "no number"}
	}
	if len(mobiles) > MaxMobiles {
		return &InvalidError{Field: "mobiles", Problem: fmt.Sprintf("%d numbers, over %d per call (see Batches)", len(mobiles), MaxMobiles)}
	}
	seen := make(map[string]bool, len(mobiles))
	for i, m := range mobiles {
		if n, err := Normalize(m, "CN"); err != nil || n != m {
			return &InvalidError{Field: "mobiles", Problem: fmt.Sprintf("#%d %s is not an E.164 mobile number (see Normalize)", i, mask.Phone(m))}
		}
		if !IsMainland(m) {
			return &InvalidError{Field: "mobiles", Problem: fmt.Sprintf("#%d %s is outside mainland China; only domestic texts are configured", i, mask.Phone(m))}
		}
		if seen[m] {
			return &InvalidError{Field: "mobiles", Problem: fmt.Sprintf("#%d %s appears twice", i, mask.Phone(m))}
		}
		seen[m] = true
	}
	return nil
}

// CheckParams refuses template parameters the provider refuses: a value
// holding a link (links must be constant text in the approved template),
// or longer than maxChars characters when maxChars > 0 (accounts verified
// as individuals: 12; verification-code templates: 6 digits; companies
// and institutions: the limit the SMS console shows for the template).
func CheckParams(params []string, maxChars int) error {
	for i, p := range params {
		lp := strings.ToLower(p)
		if strings.Contains(lp, "http://") || strings.Contains(lp, "https://") || strings.Contains(lp, "www.") {
			return &InvalidError{Field: "params", Problem: fmt.Sprintf("{%d} holds a link; links must be part of the approved template", i+1)}
		}
		if maxChars > 0 && Chars(p) > maxChars {
			return &InvalidError{Field: "params", Problem: fmt.Sprintf("{%d} is %d characters, over %d", i+1, Chars(p), maxChars)}
		}
	}
	return nil
}

// Check applies CheckMobiles, the template id, CheckParams and CheckText
// to a message, as every gateway does before sending.
func Check(m Message, signName string, paramMaxChars int) error {
	if err := CheckMobiles(m.Mobiles); err != nil {
		return err
	}
	if strings.TrimSpace(m.Template) == "" {
		return &InvalidError{Field: "template", Problem: "no template id"}
	}
	if err := CheckParams(m.Params, paramMaxChars); err != nil {
		return err
	}
	return CheckText(signName, m.Text)
}
