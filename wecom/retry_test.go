package wecom

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/addresslist"
)

func TestShouldRetry(t *testing.T) {
	errc := func(code int) error { return fmt.Errorf("wrapped: %w", &Error{API: "x", Code: code}) }
	tests := []struct {
		name       string
		err        error
		idempotent bool
		retry      bool
		frequency  bool
	}{
		{"system busy, idempotent", errc(-1), true, true, false},
		{"system busy, not idempotent: may have been processed", errc(-1), false, false, false},
		{"frequency", errc(45009), true, true, true},
		{"frequency, not idempotent: rejected up front", errc(45009), false, true, true},
		{"concurrency", errc(45033), false, true, false},
		{"version conflict", errc(6000), true, true, false},
		{"userid not found is the caller's error", errc(60111), true, false, false},
		{"invalid secret", errc(40001), true, false, false},
		{"all recipients invalid", errc(81013), false, false, false},
		{"http 503, idempotent", &HTTPError{API: "x", StatusCode: 503}, true, true, false},
		{"http 503, not idempotent", &HTTPError{API: "x", StatusCode: 503}, false, false, false},
		{"http 404", &HTTPError{API: "x", StatusCode: 404}, true, false, false},
		{"connection refused before sending", &TransportError{API: "x", Err: io.ErrUnexpectedEOF}, false, true, false},
		{"dropped after sending, idempotent", &TransportError{API: "x", Sent: true, Err: io.EOF}, true, true, false},
		{"dropped after sending, not idempotent", &TransportError{API: "x", Sent: true, Err: io.EOF}, false, false, false},
		{"timeout after sending, not idempotent", &TransportError{API: "x", Sent: true, Timeout: true, Err: io.EOF}, false, false, false},
		{"decode error", errors.New("decode response: bad json"), true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry, freq := shouldRetry(tt.err, tt.idempotent)
			if retry != tt.retry || freq != tt.frequency {
				t.Errorf("shouldRetry = (%v, %v), want (%v, %v)", retry, freq, tt.retry, tt.frequency)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, FrequencyDelay: 5 * time.Second, FrequencyMaxDelay: 20 * time.Second}.withDefaults()
	tests := []struct {
		n         int
		frequency bool
		max       time.Duration
	}{
		{1, false, 100 * time.Millisecond},
		{2, false, 200 * time.Millisecond},
		{3, false, 400 * time.Millisecond},
		{10, false, time.Second},
		{1, true, 5 * time.Second},
		{2, true, 10 * time.Second},
		{5, true, 20 * time.Second},
	}
	for _, tt := range tests {
		for i := 0; i < 50; i++ {
			d := p.delay(tt.n, tt.frequency)
			if d < tt.max/2 || d > tt.max {
				t.Fatalf("delay(%d, %v) = %v, want within [%v, %v]", tt.n, tt.frequency, d, tt.max/2, tt.max)
			}
		}
	}
	if got := (RetryPolicy{}).withDefaults().MaxAttempts; got != 4 {
		t.Errorf("default MaxAttempts = %d, want 4", got)
	}
}

func TestClassify(t *testing.T) {
	ce := util.NewCommonError("UserGet", 60111, "userid not found")
	tests := []struct {
		name string
		cs   *callState
		err  error
		want string // errLabel
	}{
		{"silenceper errcode", &callState{status: 200}, ce, "60111"},
		{"non-200 status wins over silenceper's text", &callState{status: 503}, errors.New("http get error : uri=... statusCode=503"), "http_503"},
		{"transport", &callState{transportErr: io.ErrUnexpectedEOF}, errors.New("Get ...: unexpected EOF"), "conn"},
		{"formatted errcode text", &callState{status: 200}, errors.New("GetUserAccessToken error : errcode=40029 , errmsg=invalid code"), "40029"},
		{"our own errcode", nil, &Error{API: "x", Code: 45009}, "45009"},
		{"other", &callState{status: 200}, errors.New("json Unmarshal Error"), "other"},
		{"success", nil, nil, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify("user/get", tt.cs, tt.err)
			if l := errLabel(got); l != tt.want {
				t.Errorf("label = %q, want %q (err %v)", l, tt.want, got)
			}
		})
	}
	var we *Error
	if err := classify("user/get", &callState{status: 200}, ce); !errors.As(err, &we) || we.API != "user/get" || we.Msg != "userid not found" {
		t.Errorf("classify(CommonError) = %#v", err)
	}
}

func TestErrorPredicates(t *testing.T) {
	err := fmt.Errorf("wecom: user/get lisi: %w", &Error{API: "user/get", Code: 60111, Msg: "userid not found"})
	if !IsCode(err, 60111) || IsCode(err, 60102) || Code(err) != 60111 || !IsNotFound(err) || IsRetryable(err) {
		t.Errorf("predicates on 60111 wrong")
	}
	if !(&Error{API: "user/get", Code: 40001}).TokenInvalid() {
		t.Error("40001 from an API should invalidate the token")
	}
	if (&Error{API: apiGetToken, Code: 40001}).TokenInvalid() {
		t.Error("40001 from gettoken is a bad secret, not a bad token")
	}
	for _, tt := range []struct {
		err       error
		uncertain bool
	}{
		{&TransportError{Sent: true}, true},
		{&TransportError{Sent: false}, false},
		{&HTTPError{StatusCode: 502}, true},
		{&Error{Code: -1}, true},
		{&Error{Code: 45009}, false},
		{&Error{Code: 81013}, false},
	} {
		if got := Uncertain(tt.err); got != tt.uncertain {
			t.Errorf("Uncertain(%v) = %v, want %v", tt.err, got, tt.uncertain)
		}
	}
}

// TestSilenceperUpdateStructsAreUnsafe documents why UserUpdate, UserCreate
// and DepartmentUpdate are our own: silenceper's structs send fields the
// caller did not set (enable=0 disables the member) or cannot send a zero.
func TestSilenceperUpdateStructsAreUnsafe(t *testing.T) {
	b, _ := json.Marshal(addresslist.UserUpdateRequest{UserID: "lisi", Position: "讲师"})
	if !strings.Contains(string(b), `"enable":0`) {
		t.Errorf("silenceper UserUpdateRequest no longer sends enable=0: re-audit it (%s)", b)
	}
	b, _ = json.Marshal(addresslist.DepartmentUpdateRequest{ID: 3, Order: 0})
	if strings.Contains(string(b), `"order"`) {
		t.Errorf("silenceper DepartmentUpdateRequest now sends order 0: re-audit it (%s)", b)
	}

	b, _ = json.Marshal(&UserUpdate{UserID: "lisi", Position: Ptr("讲师")})
	if got, want := string(b), `{"userid":"lisi","position":"讲师"}`; got != want {
		t.Errorf("UserUpdate = %s, want %s", got, want)
	}
	b, _ = json.Marshal(&UserUpdate{UserID: "lisi", Alias: Ptr(""), Enable: Ptr(0), DirectLeader: &[]string{}})
	if got, want := string(b), `{"userid":"lisi","alias":"","direct_leader":[],"enable":0}`; got != want {
		t.Errorf("UserUpdate clearing = %s, want %s", got, want)
	}
	b, _ = json.Marshal(DepartmentUpdate{ID: 3, Order: Ptr[int64](0)})
	if got, want := string(b), `{"id":3,"order":0}`; got != want {
		t.Errorf("DepartmentUpdate = %s, want %s", got, want)
	}
	b, _ = json.Marshal(&UserCreate{UserID: "lisi", Name: "李四", Department: []int{1}})
	if got, want := string(b), `{"userid":"lisi","name":"李四","department":[1]}`; got != want {
		t.Errorf("UserCreate = %s, want %s", got, want)
	}
}
