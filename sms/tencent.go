package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/internal/mask"
)

// Tencent Cloud SMS API.
const (
	TencentService        = "sms"
	TencentVersion        = "2021-01-11"
	TencentAction         = "SendSms"
	TencentDefaultHost    = "sms.tencentcloudapi.com"
	TencentDefaultRegion  = "ap-guangzhou"
	tencentDefaultTimeout = 10 * time.Second
)

// TencentOptions configures the Tencent Cloud SMS gateway.
type TencentOptions struct {
	// SecretID and SecretKey are a CAM API key (云 API 密钥) allowed to
	// call sms:SendSms; from the environment, never config.yaml.
	SecretID, SecretKey string
	// Region is the API region (ap-guangzhou by default; ap-beijing and
	// ap-nanjing also serve SMS).
	Region string
	// SdkAppID is the SMS application's SdkAppId (1400…), from the SMS
	// console.
	SdkAppID string
	// SignName is the approved signature's text, without 【】: the
	// university's name as approved. Mandatory for domestic texts.
	SignName string
	// Endpoint is the API host (sms.tencentcloudapi.com by default, or a
	// regional one such as sms.ap-guangzhou.tencentcloudapi.com), or a URL
	// with its scheme, e.g. http://127.0.0.1:8081 for a local fake.
	Endpoint string
	// HTTPClient lends its Transport (proxy, TLS settings, a test
	// server's client); the SDK keeps its own http.Client around it. nil:
	// a clone of http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds one call, answer included (default 10 s).
	Timeout time.Duration
	// ParamMaxChars, when > 0, refuses a template parameter longer than
	// that before calling (12 for accounts verified as individuals; the
	// SMS console shows an institution's limit per template).
	ParamMaxChars int
	// Logger receives a line per call (masked numbers only). nil discards.
	Logger *zap.Logger
	// Now is the clock for RetryAfter of daily limits (nil: time.Now). The
	// SDK stamps requests with the wall clock regardless.
	Now func() time.Time
}

// Tencent sends through Tencent Cloud SMS (SendSms 2021-01-11). It is
// safe for concurrent use.
type Tencent struct {
	client        *common.Client
	appID, sign   string
	timeout       time.Duration
	paramMaxChars int
	log           *zap.Logger
	now           func() time.Time
}

var _ Gateway = (*Tencent)(nil)

// NewTencent checks the options and builds the gateway; it does not
// contact the provider.
func NewTencent(o TencentOptions) (*Tencent, error) {
	if o.SecretID == "" || o.SecretKey == "" {
		return nil, errors.New("sms: tencent: SecretID and SecretKey are required")
	}
	if o.SdkAppID == "" {
		return nil, errors.New("sms: tencent: SdkAppID is required")
	}
	if err := checkSignName(o.SignName); err != nil {
		return nil, err
	}
	if o.Region == "" {
		o.Region = TencentDefaultRegion
	}
	if o.Timeout <= 0 {
		o.Timeout = tencentDefaultTimeout
	}
	scheme, host, err := parseEndpoint(o.Endpoint)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}

	cp := profile.NewClientProfile()
	cp.SignMethod = "TC3-HMAC-SHA256"
	cp.HttpProfile.ReqMethod = "POST"
	cp.HttpProfile.Scheme = scheme
	cp.HttpProfile.Endpoint = host
	// A backstop: the context deadline set per call is the real bound.
	cp.HttpProfile.ReqTimeout = int((o.Timeout + time.Second - 1) / time.Second)
	// No retries inside the SDK, no failover to another region's
	// endpoint: SendSms is not idempotent, so the caller decides, knowing
	// MaybeSent.
	cp.NetworkFailureMaxRetries = 0
	cp.RateLimitExceededMaxRetries = 0
	cp.DisableRegionBreaker = true
	cp.Debug = false // its dumps would log numbers and texts

	client := common.NewCommonClient(common.NewCredential(o.SecretID, o.SecretKey), o.Region, cp)
	rt := http.DefaultTransport
	if t, ok := rt.(*http.Transport); ok {
		rt = t.Clone() // its own connection pool
	}
	if o.HTTPClient != nil && o.HTTPClient.Transport != nil {
		rt = o.HTTPClient.Transport
	}
	client.WithHttpTransport(statusRecorder{rt})

	return &Tencent{
		client:        client,
		appID:         o.SdkAppID,
		sign:          o.SignName,
		timeout:       o.Timeout,
		paramMaxChars: o.ParamMaxChars,
		log:           o.Logger,
		now:           o.Now,
	}, nil
}

// checkSignName applies the provider's format: 2 to 12 Chinese or Latin
// letters and digits, without the brackets.
func checkSignName(s string) error {
	if s == "" {
		return errors.New("sms: tencent: SignName is required for texts to mainland numbers")
	}
	n := 0
	for _, r := range s {
		n++
		if !unicode.Is(unicode.Han, r) && !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return fmt.Errorf("sms: tencent: SignName %q: only Chinese, Latin letters and digits, without 【】", s)
		}
	}
	if n < 2 || n > 12 {
		return fmt.Errorf("sms: tencent: SignName %q: 2 to 12 characters", s)
	}
	return nil
}

// parseEndpoint reads a host or a URL into the SDK's scheme and endpoint
// (host[:port][/path]).
func parseEndpoint(s string) (scheme, host string, err error) {
	if s == "" {
		return "HTTPS", TencentDefaultHost, nil
	}
	if !strings.Contains(s, "://") {
		return "HTTPS", strings.TrimSuffix(s, "/"), nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", "", fmt.Errorf("sms: tencent: Endpoint %q: want a host or http(s)://host[:port]", s)
	}
	return strings.ToUpper(u.Scheme), u.Host + strings.TrimSuffix(u.Path, "/"), nil
}

// sendSmsRequest is SendSms's input (API 2021-01-11).
type sendSmsRequest struct {
	PhoneNumberSet   []string `json:"PhoneNumberSet"`
	SmsSdkAppID      string   `json:"SmsSdkAppId"`
	SignName         string   `json:"SignName,omitempty"`
	TemplateID       string   `json:"TemplateId"`
	TemplateParamSet []string `json:"TemplateParamSet,omitempty"`
}

// sendSmsResponse is SendSms's output; Response.Error, when present, is
// turned into an error by the SDK before this is read.
type sendSmsResponse struct {
	Response *struct {
		SendStatusSet []struct {
			SerialNo       string `json:"SerialNo"`
			PhoneNumber    string `json:"PhoneNumber"`
			Fee            int    `json:"Fee"`
			SessionContext string `json:"SessionContext"`
			Code           string `json:"Code"`
			Message        string `json:"Message"`
			IsoCode        string `json:"IsoCode"`
		} `json:"SendStatusSet"`
		RequestID string `json:"RequestId"`
	} `json:"Response"`
}

// Send sends m in one SendSms call.
func (t *Tencent) Send(ctx context.Context, m Message) (*Result, error) {
	if err := Check(m, t.sign, t.paramMaxChars); err != nil {
		return nil, err
	}
	if strings.Trim(m.Template, "0123456789") != "" {
		return nil, &InvalidError{Field: "template", Problem: fmt.Sprintf("%q is not a Tencent Cloud TemplateId (digits)", m.Template)}
	}
	log := logctx.L(ctx, t.log).With(zap.String("template", m.Template), zap.Int("mobiles", len(m.Mobiles)))

	body, err := json.Marshal(sendSmsRequest{
		PhoneNumberSet:   m.Mobiles,
		SmsSdkAppID:      t.appID,
		SignName:         t.sign,
		TemplateID:       m.Template,
		TemplateParamSet: m.Params,
	})
	if err != nil {
		return nil, fmt.Errorf("sms: encoding SendSms: %w", err)
	}
	req := tchttp.NewCommonRequest(TencentService, TencentVersion, TencentAction)
	if err := req.SetActionParameters(body); err != nil {
		return nil, fmt.Errorf("sms: encoding SendSms: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	call := &callInfo{}
	ctx = context.WithValue(ctx, callInfoKey{}, call)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				call.wrote.Store(true)
			}
		},
	})
	req.SetContext(ctx)

	resp := tchttp.NewCommonResponse()
	if err := t.client.Send(req, resp); err != nil {
		e := t.callError(err, call)
		log.Warn("sms: SendSms failed", zap.String("code", e.Code), zap.Bool("retriable", e.Retriable),
			zap.Bool("maybe_sent", e.MaybeSent), zap.String("request_id", e.RequestID), zap.Error(e))
		return nil, e
	}
	var out sendSmsResponse
	if err := json.Unmarshal(resp.GetBody(), &out); err != nil || out.Response == nil {
		e := &Error{Code: CodeBadAnswer, Message: "SendSms answer is not the documented JSON", MaybeSent: true, Err: err}
		log.Warn("sms: SendSms failed", zap.String("code", e.Code), zap.Error(e))
		return nil, e
	}

	now := t.now()
	byNumber := make(map[string]int, len(out.Response.SendStatusSet))
	for i, s := range out.Response.SendStatusSet {
		byNumber[s.PhoneNumber] = i
		// Matched in E.164 whatever form the answer writes the number in.
		if n, err := Normalize(s.PhoneNumber, "CN"); err == nil {
			byNumber[n] = i
		}
	}
	res := &Result{RequestID: out.Response.RequestID, Statuses: make([]Status, len(m.Mobiles))}
	failed := 0
	for i, mobile := range m.Mobiles {
		st := Status{Mobile: mobile}
		j, ok := byNumber[mobile]
		if !ok {
			// Not expected: the provider answers every number. Whether it
			// was sent is unknown, so it is not retried blindly.
			st.Code, st.Message = CodeNoStatus, "no status for this number in the answer"
		} else {
			s := out.Response.SendStatusSet[j]
			st.Code, st.Message, st.SerialNo, st.Fee = s.Code, scrub(s.Message), s.SerialNo, s.Fee
			st.OK = s.Code == CodeOK
			if !st.OK {
				st.Retriable, st.RetryAfter = Classify(s.Code, now)
			}
		}
		if !st.OK {
			failed++
			log.Warn("sms: number not sent", zap.String("mobile", mask.Phone(mobile)), zap.String("code", st.Code),
				zap.String("message", st.Message), zap.Bool("retriable", st.Retriable), zap.String("request_id", res.RequestID))
		}
		res.Statuses[i] = st
	}
	log.Info("sms: SendSms", zap.Int("failed", failed), zap.String("request_id", res.RequestID))
	return res, nil
}

// callError turns what the SDK returned into an *Error.
func (t *Tencent) callError(err error, call *callInfo) *Error {
	var sdk *tcerr.TencentCloudSDKError
	if !errors.As(err, &sdk) {
		return &Error{Code: CodeTransport, Retriable: true, MaybeSent: call.wrote.Load(), Err: err}
	}
	switch sdk.Code {
	case "ClientError.NetworkError", "ClientError.IOError":
		// The connection failed, or broke or timed out before a whole
		// answer: the provider may have acted if the request was written.
		return &Error{Code: CodeTransport, Message: sdk.Message, Retriable: true, MaybeSent: call.wrote.Load(), Err: errors.Unwrap(err)}
	case "ClientError.HttpStatusCodeError", "ClientError.ParseJsonError":
		// The SDK reads the body as JSON before it looks at the status, so
		// a proxy's HTML error page shows up as a parse error.
		status := int(call.status.Load())
		if status == http.StatusOK || status == 0 {
			return &Error{Code: CodeBadAnswer, Message: "SendSms answer is not the documented JSON", MaybeSent: true}
		}
		return &Error{
			Code:    CodeHTTPStatus,
			Message: fmt.Sprintf("HTTP %d", status),
			// 5xx is an outage or a proxy; a gateway timeout may hide a
			// request the provider went on to serve.
			Retriable: status >= 500,
			MaybeSent: status == http.StatusGatewayTimeout,
		}
	}
	if strings.HasPrefix(sdk.Code, "ClientError.") {
		// Raised by the SDK before sending (it could not build the call).
		return &Error{Code: sdk.Code, Message: scrub(sdk.Message)}
	}
	// Response.Error: the provider refused the whole call; nothing sent.
	retriable, after := Classify(sdk.Code, t.now())
	return &Error{Code: sdk.Code, Message: scrub(sdk.Message), RequestID: sdk.RequestId, Retriable: retriable, RetryAfter: after}
}

// phoneRun is a run of digits long enough to be a phone number.
var phoneRun = regexp.MustCompile(`\+?\d{7,}`)

// scrub masks anything that looks like a phone number in a provider's
// message, which the caller may log or store.
func scrub(s string) string { return phoneRun.ReplaceAllStringFunc(s, mask.Phone) }

// callInfo is what the transport saw of one call.
type callInfo struct {
	wrote  atomic.Bool  // the request was written whole
	status atomic.Int32 // the HTTP status of the answer
}

type callInfoKey struct{}

// statusRecorder records the answer's status in the call's callInfo; the
// SDK reports a non-200 answer only as text.
type statusRecorder struct{ next http.RoundTripper }

func (s statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if call, ok := r.Context().Value(callInfoKey{}).(*callInfo); ok && resp != nil {
		call.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}
