package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const (
	testSecretID  = "AKIDtestsecretid0000000000000000"
	testSecretKey = "testsecretkey00000000000000000000"
	testAppID     = "1400006666"
	testSign      = "示范大学"
)

// fakeTencent stands in for sms.tencentcloudapi.com: it checks each call's
// TC3-HMAC-SHA256 signature the way the service documents it (computed
// here, independently of the SDK) and answers with answer's body.
type fakeTencent struct {
	t      *testing.T
	key    string
	answer func(req fakeRequest) (status int, body string)

	mu    sync.Mutex
	calls []fakeRequest
}

type fakeRequest struct {
	Header http.Header
	Body   struct {
		PhoneNumberSet   []string
		SmsSdkAppId      string
		SignName         string
		TemplateId       string
		TemplateParamSet []string
	}
	Raw string
}

var authRE = regexp.MustCompile(`^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/sms/tc3_request, SignedHeaders=content-type;host, Signature=([0-9a-f]{64})$`)

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func apiError(code, msg string) string {
	return fmt.Sprintf(`{"Response":{"Error":{"Code":%q,"Message":%q},"RequestId":"req-err-1"}}`, code, msg)
}

// verify returns the Response.Error code for a call the real service
// would refuse before acting, or "".
func (f *fakeTencent) verify(r *http.Request, body string) string {
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		return "InvalidAction"
	case r.Header.Get("X-TC-Action") != "SendSms":
		return "InvalidAction"
	case r.Header.Get("X-TC-Version") != "2021-01-11":
		return "NoSuchVersion"
	case r.Header.Get("X-TC-Region") != "ap-guangzhou":
		return "InvalidParameterValue"
	case r.Header.Get("Content-Type") != "application/json":
		return "AuthFailure.InvalidAuthorization"
	}
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "AuthFailure.InvalidAuthorization"
	}
	if m[1] != testSecretID {
		return "AuthFailure.SecretIdNotFound"
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return "AuthFailure.InvalidAuthorization"
	}
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	if m[2] != date {
		return "AuthFailure.SignatureFailure"
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return "AuthFailure.SignatureExpire"
	}
	canonical := "POST\n/\n\ncontent-type:application/json\nhost:" + r.Host + "\n\ncontent-type;host\n" + sha256Hex(body)
	scope := date + "/sms/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + r.Header.Get("X-TC-Timestamp") + "\n" + scope + "\n" + sha256Hex(canonical)
	k := hmacSHA256([]byte("TC3"+f.key), date)
	k = hmacSHA256(k, "sms")
	k = hmacSHA256(k, "tc3_request")
	if hex.EncodeToString(hmacSHA256(k, toSign)) != m[3] {
		return "AuthFailure.SignatureFailure"
	}
	return ""
}

func (f *fakeTencent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var req fakeRequest
	req.Header = r.Header.Clone()
	req.Raw = string(raw)
	w.Header().Set("Content-Type", "application/json")
	if code := f.verify(r, string(raw)); code != "" {
		io.WriteString(w, apiError(code, "refused by the fake: "+code))
		return
	}
	if err := json.Unmarshal(raw, &req.Body); err != nil {
		io.WriteString(w, apiError("FailedOperation.JsonParseFail", err.Error()))
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	status, body := f.answer(req)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *fakeTencent) Calls() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.calls...)
}

// answerOK accepts every number, listing them in reverse order (the
// gateway must match by number, not position).
func answerOK(req fakeRequest) (int, string) {
	type st struct {
		SerialNo, PhoneNumber, SessionContext, Code, Message, IsoCode string
		Fee                                                           int
	}
	var set []st
	for i := len(req.Body.PhoneNumberSet) - 1; i >= 0; i-- {
		n := req.Body.PhoneNumberSet[i]
		set = append(set, st{SerialNo: "2640:" + n[len(n)-4:], PhoneNumber: n, Code: "Ok", Message: "send success", IsoCode: "CN", Fee: 1})
	}
	b, _ := json.Marshal(map[string]any{"Response": map[string]any{"SendStatusSet": set, "RequestId": "req-ok-1"}})
	return http.StatusOK, string(b)
}

func newFake(t *testing.T, answer func(fakeRequest) (int, string)) (*fakeTencent, *httptest.Server) {
	f := &fakeTencent{t: t, key: testSecretKey, answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func newTestTencent(t *testing.T, srv *httptest.Server, mod func(*TencentOptions)) *Tencent {
	t.Helper()
	o := TencentOptions{
		SecretID: testSecretID, SecretKey: testSecretKey, SdkAppID: testAppID, SignName: testSign,
		Endpoint: srv.URL, HTTPClient: srv.Client(),
	}
	if mod != nil {
		mod(&o)
	}
	g, err := NewTencent(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var testMsg = Message{
	Mobiles:  []string{"+8613800138000", "+8613900139000"},
	Template: "1110",
	Params:   []string{"张同学", "12月5日"},
	Text:     Render("{1}您好，您的录取通知书已于{2}寄出，请留意查收。", []string{"张同学", "12月5日"}),
}

func TestTencentSendsSignedRequest(t *testing.T) {
	f, srv := newFake(t, answerOK)
	g := newTestTencent(t, srv, nil)

	res, err := g.Send(context.Background(), testMsg)
	if err != nil {
		t.Fatal(err)
	}
	want := &Result{RequestID: "req-ok-1", Statuses: []Status{
		{Mobile: "+8613800138000", OK: true, Code: "Ok", Message: "send success", SerialNo: "2640:8000", Fee: 1},
		{Mobile: "+8613900139000", OK: true, Code: "Ok", Message: "send success", SerialNo: "2640:9000", Fee: 1},
	}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	calls := f.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls reached the provider, want 1", len(calls))
	}
	b := calls[0].Body
	if !cmp.Equal(b.PhoneNumberSet, testMsg.Mobiles) || b.SmsSdkAppId != testAppID || b.SignName != testSign ||
		b.TemplateId != "1110" || !cmp.Equal(b.TemplateParamSet, testMsg.Params) {
		t.Errorf("request body = %s", calls[0].Raw)
	}
	if f := res.Failed(); len(f) != 0 {
		t.Errorf("Failed() = %v", f)
	}
}

func TestTencentWrongSecretKeyIsRefused(t *testing.T) {
	f, srv := newFake(t, answerOK)
	g := newTestTencent(t, srv, func(o *TencentOptions) { o.SecretKey = "not-the-key" })

	_, err := g.Send(context.Background(), testMsg)
	var e *Error
	if !errors.As(err, &e) || e.Code != "AuthFailure.SignatureFailure" || e.Retriable || e.RequestID != "req-err-1" {
		t.Fatalf("err = %#v, want a permanent AuthFailure.SignatureFailure", err)
	}
	if len(f.Calls()) != 0 {
		t.Error("a badly signed call was served")
	}
}

func TestTencentPerNumberFailures(t *testing.T) {
	_, srv := newFake(t, func(req fakeRequest) (int, string) {
		return http.StatusOK, `{"Response":{"SendStatusSet":[
			{"SerialNo":"","PhoneNumber":"+8613900139000","Fee":0,"SessionContext":"","Code":"LimitExceeded.PhoneNumberDailyLimit","Message":"the number of SMS messages sent from a single mobile number every day exceeds the upper limit","IsoCode":"CN"},
			{"SerialNo":"2640:1","PhoneNumber":"+8613800138000","Fee":2,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"},
			{"SerialNo":"","PhoneNumber":"+8618600186000","Fee":0,"SessionContext":"","Code":"InvalidParameterValue.IncorrectPhoneNumber","Message":"incorrect number","IsoCode":"CN"},
			{"SerialNo":"","PhoneNumber":"+8615000150000","Fee":0,"SessionContext":"","Code":"LimitExceeded.PhoneNumberThirtySecondLimit","Message":"30s","IsoCode":"CN"}
		],"RequestId":"req-mixed"}}`
	})
	// 22:30 in China: the daily limit lifts at midnight, 90 minutes on.
	now := time.Date(2026, 12, 2, 14, 30, 0, 0, time.UTC)
	g := newTestTencent(t, srv, func(o *TencentOptions) { o.Now = func() time.Time { return now } })

	m := testMsg
	m.Mobiles = []string{"+8613800138000", "+8613900139000", "+8618600186000", "+8615000150000", "+8617700177000"}
	res, err := g.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	type brief struct {
		Mobile, Code  string
		OK, Retriable bool
		After         time.Duration
		Fee           int
	}
	var got []brief
	for _, s := range res.Statuses {
		got = append(got, brief{s.Mobile, s.Code, s.OK, s.Retriable, s.RetryAfter, s.Fee})
	}
	want := []brief{
		{"+8613800138000", "Ok", true, false, 0, 2},
		{"+8613900139000", "LimitExceeded.PhoneNumberDailyLimit", false, true, 90 * time.Minute, 0},
		{"+8618600186000", "InvalidParameterValue.IncorrectPhoneNumber", false, false, 0, 0},
		{"+8615000150000", "LimitExceeded.PhoneNumberThirtySecondLimit", false, true, 30 * time.Second, 0},
		{"+8617700177000", CodeNoStatus, false, false, 0, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if len(res.Failed()) != 4 {
		t.Errorf("Failed() has %d, want 4", len(res.Failed()))
	}
}

func TestTencentCallErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		body          string
		code          string
		retriable     bool
		maybeSent     bool
		wantRequestID string
	}{
		{"rate limited", 200, apiError("RequestLimitExceeded", "too many"), "RequestLimitExceeded", true, false, "req-err-1"},
		{"internal", 200, apiError("InternalError", "busy"), "InternalError", true, false, "req-err-1"},
		{"secret unknown", 200, apiError("AuthFailure.SecretIdNotFound", "no such id"), "AuthFailure.SecretIdNotFound", false, false, "req-err-1"},
		{"sign unapproved", 200, apiError("FailedOperation.SignatureIncorrectOrUnapproved", "sign"), "FailedOperation.SignatureIncorrectOrUnapproved", false, false, "req-err-1"},
		{"too many numbers", 200, apiError("LimitExceeded.PhoneNumberCountLimit", "200"), "LimitExceeded.PhoneNumberCountLimit", false, false, "req-err-1"},
		{"proxy 502", 502, "<html>Bad Gateway</html>", CodeHTTPStatus, true, false, ""},
		{"proxy 504", 504, "<html>Gateway Timeout</html>", CodeHTTPStatus, true, true, ""},
		{"not json", 200, "<html>portal login</html>", CodeBadAnswer, false, true, ""},
		{"no Response", 200, `{"other":1}`, CodeBadAnswer, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newFake(t, func(fakeRequest) (int, string) { return tt.status, tt.body })
			g := newTestTencent(t, srv, nil)
			res, err := g.Send(context.Background(), testMsg)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Send = %v, %v; want an *Error", res, err)
			}
			if e.Code != tt.code || IsRetriable(err) != tt.retriable || MaybeSent(err) != tt.maybeSent || e.RequestID != tt.wantRequestID {
				t.Errorf("err = %+v; want code %s retriable %v maybe-sent %v request %q", e, tt.code, tt.retriable, tt.maybeSent, tt.wantRequestID)
			}
		})
	}
}

func TestTencentTransportErrors(t *testing.T) {
	t.Run("provider unreachable", func(t *testing.T) {
		_, srv := newFake(t, answerOK)
		g := newTestTencent(t, srv, nil)
		srv.Close()
		_, err := g.Send(context.Background(), testMsg)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeTransport || !e.Retriable || e.MaybeSent {
			t.Fatalf("err = %#v; want a retriable transport error, surely not sent", err)
		}
	})
	t.Run("no answer before the timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			<-release // the request was read whole; no answer comes
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		g := newTestTencent(t, srv, func(o *TencentOptions) { o.Timeout = 200 * time.Millisecond })
		_, err := g.Send(context.Background(), testMsg)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeTransport || !e.Retriable || !e.MaybeSent {
			t.Fatalf("err = %#v; want a retriable transport error that may have been sent", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v; want it to wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("caller cancelled", func(t *testing.T) {
		_, srv := newFake(t, answerOK)
		g := newTestTencent(t, srv, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := g.Send(ctx, testMsg)
		if !errors.Is(err, context.Canceled) || MaybeSent(err) {
			t.Fatalf("err = %v; want context.Canceled, not sent", err)
		}
	})
}

func TestTencentRefusesBadMessagesWithoutCalling(t *testing.T) {
	many := make([]string, MaxMobiles+1)
	for i := range many {
		many[i] = fmt.Sprintf("+86138%08d", i)
	}
	long := strings.Repeat("通", MaxChars-len([]rune("【"+testSign+"】"))+1)
	tests := []struct {
		name  string
		mod   func(*Message)
		field string
	}{
		{"no number", func(m *Message) { m.Mobiles = nil }, "mobiles"},
		{"201 numbers", func(m *Message) { m.Mobiles = many }, "mobiles"},
		{"not E.164", func(m *Message) { m.Mobiles = []string{"13800138000"} }, "mobiles"},
		{"landline", func(m *Message) { m.Mobiles = []string{"+862088886666"} }, "mobiles"},
		{"duplicate", func(m *Message) { m.Mobiles = []string{"+8613800138000", "+8613800138000"} }, "mobiles"},
		{"international", func(m *Message) { m.Mobiles = []string{"+85291234567"} }, "mobiles"},
		{"no template", func(m *Message) { m.Template = " " }, "template"},
		{"template not an id", func(m *Message) { m.Template = "notice" }, "template"},
		{"link in a param", func(m *Message) { m.Params = []string{"https://x.example/a"} }, "params"},
		{"param too long", func(m *Message) { m.Params = []string{"这是一个十三个字的参数值啊啊"} }, "params"},
		{"text too long", func(m *Message) { m.Text = long }, "text"},
		{"brackets in text", func(m *Message) { m.Text = "【假冒】您好" }, "text"},
		{"empty text", func(m *Message) { m.Text = "" }, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFake(t, answerOK)
			g := newTestTencent(t, srv, func(o *TencentOptions) { o.ParamMaxChars = 12 })
			m := testMsg
			tt.mod(&m)
			_, err := g.Send(context.Background(), m)
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Fatalf("err = %v; want an InvalidError on %s", err, tt.field)
			}
			if IsRetriable(err) {
				t.Error("an invalid message is retriable")
			}
			if strings.Contains(err.Error(), "13800138000") {
				t.Errorf("error shows a full number: %v", err)
			}
			if len(f.Calls()) != 0 {
				t.Error("the provider was called")
			}
		})
	}
}

func TestTencentLogsOnlyMaskedNumbers(t *testing.T) {
	_, srv := newFake(t, func(req fakeRequest) (int, string) {
		return http.StatusOK, `{"Response":{"SendStatusSet":[
			{"PhoneNumber":"+8613800138000","Code":"FailedOperation.PhoneNumberInBlacklist","Message":"+8613800138000 is blacklisted"},
			{"PhoneNumber":"8613900139000","Code":"Ok","Fee":1,"SerialNo":"s"}],"RequestId":"r"}}`
	})
	core, logs := observer.New(zap.DebugLevel)
	g := newTestTencent(t, srv, func(o *TencentOptions) { o.Logger = zap.New(core) })
	res, err := g.Send(context.Background(), testMsg)
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Statuses[0]; st.Message != "+86 138****8000 is blacklisted" {
		t.Errorf("provider message = %q; want the number in it masked", st.Message)
	}
	if st := res.Statuses[1]; !st.OK {
		t.Errorf("a number the answer wrote without + was not matched: %+v", st)
	}
	srv.Close()
	g.Send(context.Background(), testMsg) // a transport failure logs too

	sawMasked := false
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		for _, full := range []string{"13800138000", "13900139000"} {
			if strings.Contains(line, full) {
				t.Errorf("log line shows a full number: %s", line)
			}
		}
		if strings.Contains(line, "138****8000") {
			sawMasked = true
		}
	}
	if !sawMasked {
		t.Errorf("the failed number was not logged (masked); logs: %v", logs.All())
	}
}

func TestNewTencentChecksOptions(t *testing.T) {
	ok := TencentOptions{SecretID: "id", SecretKey: "key", SdkAppID: testAppID, SignName: testSign}
	tests := []struct {
		name string
		mod  func(*TencentOptions)
		ok   bool
	}{
		{"defaults", func(*TencentOptions) {}, true},
		{"regional host", func(o *TencentOptions) { o.Endpoint = "sms.ap-guangzhou.tencentcloudapi.com" }, true},
		{"no secret", func(o *TencentOptions) { o.SecretKey = "" }, false},
		{"no app", func(o *TencentOptions) { o.SdkAppID = "" }, false},
		{"no sign", func(o *TencentOptions) { o.SignName = "" }, false},
		{"sign with brackets", func(o *TencentOptions) { o.SignName = "【示范大学】" }, false},
		{"sign too long", func(o *TencentOptions) { o.SignName = "示范大学信息化建设与管理中心办公室" }, false},
		{"sign one character", func(o *TencentOptions) { o.SignName = "示" }, false},
		{"endpoint ftp", func(o *TencentOptions) { o.Endpoint = "ftp://x" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mod(&o)
			_, err := NewTencent(o)
			if (err == nil) != tt.ok {
				t.Errorf("NewTencent err = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestTencentConcurrentSends(t *testing.T) {
	f, srv := newFake(t, answerOK)
	g := newTestTencent(t, srv, nil)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := g.Send(context.Background(), testMsg)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(f.Calls()); n != 8 {
		t.Errorf("%d calls served, want 8 (each signed correctly)", n)
	}
}
