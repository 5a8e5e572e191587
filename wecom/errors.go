package wecom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// Error is an errcode WeCom answered with (HTTP 200, errcode ≠ 0). Use
// errors.As to read it; IsCode for a single code.
type Error struct {
	// API is the path below /cgi-bin/, e.g. "user/get".
	API string
	// Code is WeCom's errcode (doc 90313).
	Code int
	// Msg is WeCom's errmsg, which carries a hint id useful to WeCom support.
	Msg string
}

// Error omits the API: every method wraps it with the API and key ids
// ("wecom: user/get lisi: errcode 60111: userid not found").
func (e *Error) Error() string {
	return fmt.Sprintf("errcode %d: %s", e.Code, e.Msg)
}

// Retryable reports whether the same request may succeed later without any
// change: system busy (-1), data version conflict (6000), frequency (45009)
// and concurrency (45033) limits. Token errors are not listed: the client
// refreshes the token and retries once by itself.
func (e *Error) Retryable() bool {
	switch e.Code {
	case CodeSystemBusy, CodeVersionConflict, CodeFrequencyLimit, CodeConcurrencyLimit:
		return true
	}
	return false
}

// TokenInvalid reports whether the errcode says the access token used is no
// longer good (40014, 42001, 41001, and 40001 when returned by an API other
// than gettoken), so that token must be replaced.
func (e *Error) TokenInvalid() bool {
	switch e.Code {
	case CodeInvalidToken, CodeTokenExpired, CodeTokenMissing:
		return true
	case CodeInvalidCredential:
		// From gettoken 40001 means the secret is wrong: a new token
		// would not help.
		return e.API != apiGetToken
	}
	return false
}

// rejected reports whether WeCom refused the request before acting on it, so
// resending is safe even for calls that are not idempotent.
func (e *Error) rejected() bool {
	switch e.Code {
	case CodeFrequencyLimit, CodeConcurrencyLimit, CodeVersionConflict:
		return true
	}
	return e.TokenInvalid() // the token is checked before anything else (§0)
}

// Frequently used errcodes (doc 90313).
const (
	CodeSystemBusy        = -1
	CodeOK                = 0
	CodeVersionConflict   = 6000
	CodeInvalidCredential = 40001
	CodeInvalidUserID     = 40003
	CodeInvalidToken      = 40014
	CodeInvalidCode       = 40029
	CodeAllTagListInvalid = 40070
	CodeTokenMissing      = 41001
	CodeTokenExpired      = 42001
	CodeFrequencyLimit    = 45009
	CodeConcurrencyLimit  = 45033
	CodeNoPermission      = 48002
	CodeDepartmentMissing = 60003
	CodeDepartmentExists  = 60008
	CodeNoPrivilege       = 60011
	CodeUserExists        = 60102
	CodeUserNotFound      = 60111
	CodeAllRecipientsBad  = 81013
)

// HTTPError is a non-200 answer. WeCom answers 200 on known paths even for
// errors, so 5xx means a proxy or an outage (retried), 404 an unknown path.
type HTTPError struct {
	API        string
	StatusCode int
}

// Error says the status; the caller's wrapping names the API.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("http status %d", e.StatusCode)
}

// Retryable reports whether the status is a server-side failure.
func (e *HTTPError) Retryable() bool { return e.StatusCode >= 500 }

// TransportError is a failure below HTTP: connection refused or reset, a
// dropped connection, a per-attempt timeout. Sent says whether the request
// had been fully written: when false WeCom certainly did not act on it.
type TransportError struct {
	API     string
	Sent    bool
	Timeout bool
	Err     error
}

// Error says what failed and whether the request had been sent.
func (e *TransportError) Error() string {
	what := "transport error"
	if e.Timeout {
		what = "timeout"
	}
	return fmt.Sprintf("%s (request sent: %v): %v", what, e.Sent, e.Err)
}

// Unwrap gives the net/http error (errors.Is(err, context.DeadlineExceeded)…).
func (e *TransportError) Unwrap() error { return e.Err }

// Retryable is always true: a timeout or a broken connection says nothing
// about the request itself. Whether a non-idempotent call is resent also
// depends on Sent.
func (e *TransportError) Retryable() bool { return true }

// ErrRateLimited is returned (wrapped) when the local rate limiter would
// make the caller wait past its context deadline.
var ErrRateLimited = errors.New("wecom: rate limit: no quota before the context deadline")

// ErrNotConfigured is returned when a client is asked for that has no secret.
var ErrNotConfigured = errors.New("wecom: client not configured")

// IsCode reports whether err is (or wraps) a WeCom errcode equal to code.
func IsCode(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Code returns the WeCom errcode in err, or 0 when err carries none.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsNotFound reports whether err says the member, department or tag does not
// exist (60111, 60003, 40068), which idempotent sync code treats as done on
// delete.
func IsNotFound(err error) bool {
	return IsCode(err, CodeUserNotFound) || IsCode(err, CodeDepartmentMissing) || IsCode(err, 40068)
}

// IsRetryable reports whether err is a failure worth trying again later
// (after the client's own retries gave up): a retryable errcode, a 5xx, or a
// transport failure.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	var h *HTTPError
	if errors.As(err, &h) {
		return h.Retryable()
	}
	var t *TransportError
	return errors.As(err, &t)
}

// Uncertain reports whether a failed call may nevertheless have been carried
// out by WeCom: the request was written but no answer came back (timeout,
// dropped connection), a 5xx came back, or WeCom said "system busy" (-1).
// The message center must not resend such a message unless it enabled
// WeCom's duplicate check.
func Uncertain(err error) bool {
	var t *TransportError
	if errors.As(err, &t) {
		return t.Sent
	}
	var h *HTTPError
	if errors.As(err, &h) {
		return h.StatusCode >= 500
	}
	return IsCode(err, CodeSystemBusy)
}

// classify turns whatever one attempt returned into this package's error
// kinds. The call record knows what the transport saw, which silenceper's
// error strings hide (and they would carry the URL).
func classify(api string, cs *callState, err error) error {
	if err == nil {
		return nil
	}
	var we *Error
	if errors.As(err, &we) {
		return err
	}
	if cs != nil {
		status, terr, sent := cs.outcome()
		if status != 0 && status != 200 {
			return &HTTPError{API: api, StatusCode: status}
		}
		if terr != nil {
			te := &TransportError{API: api, Sent: sent, Err: terr}
			var ne net.Error
			if errors.Is(terr, context.DeadlineExceeded) || (errors.As(terr, &ne) && ne.Timeout()) {
				te.Timeout = true
			}
			return te
		}
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return &Error{API: api, Code: int(ce.ErrCode), Msg: ce.ErrMsg}
	}
	// silenceper reports errcodes of some calls as plain text.
	if code, msg, ok := parseErrText(err.Error()); ok {
		return &Error{API: api, Code: code, Msg: msg}
	}
	return err
}

// parseErrText reads "errcode=N , errmsg=M" out of silenceper's formatted
// errors (oauth UserFromCode and a few others format instead of returning
// *util.CommonError).
func parseErrText(s string) (int, string, bool) {
	i := strings.Index(s, "errcode=")
	if i < 0 {
		return 0, "", false
	}
	rest := s[i+len("errcode="):]
	j := strings.IndexFunc(rest, func(r rune) bool { return r != '-' && (r < '0' || r > '9') })
	if j < 0 {
		j = len(rest)
	}
	code, err := strconv.Atoi(rest[:j])
	if err != nil || code == 0 {
		return 0, "", false
	}
	msg := ""
	if k := strings.Index(rest, "errmsg="); k >= 0 {
		msg = rest[k+len("errmsg="):]
	}
	return code, msg, true
}

// errLabel is the errcode label of wecom_api_requests_total for err.
func errLabel(err error) string {
	if err == nil {
		return "0"
	}
	var e *Error
	if errors.As(err, &e) {
		return strconv.Itoa(e.Code)
	}
	var h *HTTPError
	if errors.As(err, &h) {
		return "http_" + strconv.Itoa(h.StatusCode)
	}
	var t *TransportError
	if errors.As(err, &t) {
		if t.Timeout {
			return "timeout"
		}
		return "conn"
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	return "other"
}
