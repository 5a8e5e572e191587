package wecom

import (
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy is how failed calls are retried. The zero value means the
// defaults below.
//
// Retried: errcode -1 (system busy), 6000 (version conflict), 45009
// (frequency, with the longer Frequency* delays: WeCom blocks the API for the
// rest of the minute), 45033 (concurrency), HTTP 5xx, timeouts and connection
// errors. Never retried: every other errcode — they are the caller's errors
// and would fail the same way again. A token error (40014/42001/40001/41001)
// is not counted here: the client replaces that token and retries once.
//
// Calls that are not idempotent — message/send, message/update_template_card
// (a response_code is single-use), message/recall, auth/getuserinfo (a code
// is single-use), batch jobs, creates without a caller-chosen id — are only
// retried when WeCom certainly did not act on the request: the connection
// failed before the request was written, or WeCom rejected it up front
// (45009, 45033, 6000, a token error). A timeout after the request was
// written, a 5xx or a -1 is returned to the caller as is; Uncertain(err)
// reports exactly that case. message/send becomes retryable like any
// idempotent call when the message sets EnableDuplicateCheck, because WeCom
// then drops an identical request within DuplicateCheckInterval.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, first included
	// (default 4, i.e. "retry -1 at most three times" as doc 90313 advises;
	// 1 disables retries).
	MaxAttempts int
	// BaseDelay is the first backoff (default 200 ms); it doubles per
	// attempt up to MaxDelay (default 5 s).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// FrequencyDelay and FrequencyMaxDelay replace BaseDelay and MaxDelay
	// after 45009 (defaults 30 s and 60 s: hitting a minute quota blocks the
	// API for 60 s, so the retries together must outlast that).
	FrequencyDelay    time.Duration
	FrequencyMaxDelay time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.FrequencyDelay <= 0 {
		p.FrequencyDelay = 30 * time.Second
	}
	if p.FrequencyMaxDelay <= 0 {
		p.FrequencyMaxDelay = 60 * time.Second
	}
	if p.FrequencyMaxDelay < p.FrequencyDelay {
		p.FrequencyMaxDelay = p.FrequencyDelay
	}
	return p
}

// delay is the backoff after failed attempt n (1-based): exponential with
// "equal jitter" (half fixed, half random), so instances that failed
// together do not retry together while the wait still grows.
func (p RetryPolicy) delay(n int, frequency bool) time.Duration {
	base, ceil := p.BaseDelay, p.MaxDelay
	if frequency {
		base, ceil = p.FrequencyDelay, p.FrequencyMaxDelay
	}
	d := base
	for i := 1; i < n && d < ceil; i++ {
		d *= 2
	}
	if d > ceil {
		d = ceil
	}
	half := d / 2
	return half + rand.N(half+1)
}

// shouldRetry decides whether err is worth another attempt and whether it
// was a frequency limit (longer backoff).
func shouldRetry(err error, idempotent bool) (retry, frequency bool) {
	var we *Error
	if errors.As(err, &we) {
		if !we.Retryable() {
			return false, false
		}
		if !idempotent && !we.rejected() {
			return false, false // -1 may have been processed
		}
		return true, we.Code == CodeFrequencyLimit
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable() && idempotent, false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return idempotent || !te.Sent, false
	}
	return false, false
}
