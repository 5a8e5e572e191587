package smssim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/sms"
)

var start = time.Date(2026, 12, 2, 1, 30, 0, 0, time.UTC) // 09:30 in China

func msg(text string, mobiles ...string) sms.Message {
	return sms.Message{Mobiles: mobiles, Template: "1110", Params: []string{"x"}, Text: text}
}

func TestSendDeliversToEachInbox(t *testing.T) {
	clock := testenv.NewClock(start)
	s := New(Options{Clock: clock})
	ctx := context.Background()

	res, err := s.Send(ctx, msg("您的报名材料已收到。", "+8613800138000", "+8613900139000"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Statuses) != 2 || !res.Statuses[0].OK || !res.Statuses[1].OK || res.Statuses[0].Fee != 1 ||
		res.Statuses[0].Mobile != "+8613800138000" || res.Statuses[0].SerialNo == "" || res.RequestID == "" {
		t.Fatalf("result = %+v", res)
	}
	clock.Advance(time.Minute)
	long := strings.Repeat("长", 80)
	if _, err := s.Send(ctx, msg(long, "+8613800138000")); err != nil {
		t.Fatal(err)
	}

	got := s.Texts("+8613800138000")
	if len(got) != 2 {
		t.Fatalf("%d texts, want 2", len(got))
	}
	if got[0].Text != "【示范大学】"+long || got[0].Parts != 2 || !got[0].At.Equal(start.Add(time.Minute)) {
		t.Errorf("newest = %+v; want the long text first, 2 parts", got[0])
	}
	if got[1].Text != "【示范大学】您的报名材料已收到。" || got[1].Parts != 1 || got[1].Template != "1110" {
		t.Errorf("older = %+v", got[1])
	}
	if n := len(s.Texts("+8613900139000")); n != 1 {
		t.Errorf("second number has %d texts, want 1", n)
	}
	inboxes := s.Inboxes()
	if len(inboxes) != 2 || inboxes[0].Mobile != "+8613800138000" || inboxes[0].Count != 2 {
		t.Errorf("inboxes = %+v; want the number texted last first", inboxes)
	}
}

func TestInboxKeepsTheNewest(t *testing.T) {
	s := New(Options{Keep: 3})
	for i := range 5 {
		if _, err := s.Send(context.Background(), msg(fmt.Sprintf("第%d条", i), "+8613800138000")); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, x := range s.Texts("+8613800138000") {
		got = append(got, strings.TrimPrefix(x.Text, "【示范大学】"))
	}
	if strings.Join(got, ",") != "第4条,第3条,第2条" {
		t.Errorf("kept %v; want the 3 newest, newest first", got)
	}
}

func TestSendAppliesTheGatewayChecks(t *testing.T) {
	s := New(Options{ParamMaxChars: 12})
	for name, m := range map[string]sms.Message{
		"not E.164":     msg("您好", "13800138000"),
		"landline":      msg("您好", "+862088886666"),
		"international": msg("您好", "+85291234567"),
		"too long":      msg(strings.Repeat("字", 495), "+8613800138000"),
		"no template":   {Mobiles: []string{"+8613800138000"}, Text: "您好"},
		"long param":    {Mobiles: []string{"+8613800138000"}, Template: "1", Params: []string{strings.Repeat("参", 13)}, Text: "您好"},
	} {
		_, err := s.Send(context.Background(), m)
		var inv *sms.InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("%s: err = %v; want an InvalidError", name, err)
		}
	}
	if s.Calls() != 0 || len(s.Inboxes()) != 0 {
		t.Error("a refused message was delivered")
	}
}

func TestFaults(t *testing.T) {
	s := New(Options{Clock: testenv.NewClock(start)})
	ctx := context.Background()
	m := msg("您好", "+8613800138000", "+8613900139000")

	s.FailNext(2, "RequestLimitExceeded")
	s.FailNext(1, "AuthFailure.SecretIdNotFound")
	for i, want := range []struct {
		code      string
		retriable bool
	}{{"RequestLimitExceeded", true}, {"RequestLimitExceeded", true}, {"AuthFailure.SecretIdNotFound", false}} {
		_, err := s.Send(ctx, m)
		var e *sms.Error
		if !errors.As(err, &e) || e.Code != want.code || sms.IsRetriable(err) != want.retriable {
			t.Fatalf("send %d: err = %v; want %s retriable %v", i, err, want.code, want.retriable)
		}
	}
	if len(s.Inboxes()) != 0 {
		t.Fatal("a failed send delivered texts")
	}

	s.FailMobile("+8613900139000", 1, "LimitExceeded.PhoneNumberDailyLimit")
	res, err := s.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	ok, failed := res.Statuses[0], res.Statuses[1]
	if !ok.OK || failed.OK || failed.Code != "LimitExceeded.PhoneNumberDailyLimit" || !failed.Retriable ||
		failed.RetryAfter != 14*time.Hour+30*time.Minute { // 09:30 to midnight in China
		t.Errorf("statuses = %+v", res.Statuses)
	}
	if len(s.Texts("+8613900139000")) != 0 || len(s.Texts("+8613800138000")) != 1 {
		t.Error("the failed number got the text, or the other did not")
	}
	// The fault was for one text: the retry goes through.
	if res, err := s.Send(ctx, msg("重试", "+8613900139000")); err != nil || !res.Statuses[0].OK {
		t.Errorf("retry = %+v, %v", res, err)
	}

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Send(ctxDone, m); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled send: err = %v", err)
	}
}

func TestSimLogsOnlyMaskedNumbers(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	s := New(Options{Logger: zap.New(core)})
	s.FailMobile("+8613900139000", 1, "FailedOperation.PhoneNumberInBlacklist")
	s.Send(context.Background(), msg("您好", "+8613800138000", "+8613900139000"))
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		if strings.Contains(line, "13800138000") || strings.Contains(line, "13900139000") {
			t.Errorf("log shows a full number: %s", line)
		}
	}
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestPages(t *testing.T) {
	s := New(Options{Clock: testenv.NewClock(start), BasePath: "/smssim"})
	s.Send(context.Background(), msg("您的面试时间为12月5日<b>上午</b>。", "+8613800138000"))
	h := s.Handler()

	code, body := get(t, h, "/")
	// html/template writes + as &#43;; a browser shows and follows it as +.
	shown := html.UnescapeString(body)
	if code != 200 || !strings.Contains(shown, "+86 138 0013 8000") || !strings.Contains(shown, `href="/smssim/n/+8613800138000"`) {
		t.Errorf("index: %d\n%s", code, body)
	}
	if !strings.Contains(body, "无需登录") {
		t.Error("the index does not say it is unauthenticated")
	}

	code, body = get(t, h, "/n/+8613800138000")
	if code != 200 || !strings.Contains(body, "【示范大学】您的面试时间为12月5日&lt;b&gt;上午&lt;/b&gt;。") {
		t.Errorf("inbox: %d; want the text, escaped\n%s", code, body)
	}
	if !strings.Contains(body, "2026-12-02 09:30:00") {
		t.Error("the inbox does not show the time in China")
	}
	// The page takes a number as people type it.
	if code, body := get(t, h, "/n/13800138000"); code != 200 || !strings.Contains(body, "面试时间") {
		t.Errorf("inbox by national number: %d", code)
	}
	if code, body := get(t, h, "/n/+8613900139000"); code != 200 || !strings.Contains(body, "还没有收到短信") {
		t.Errorf("empty inbox: %d\n%s", code, body)
	}
	if code, _ := get(t, h, "/n/12345"); code != 404 {
		t.Errorf("bad number: %d, want 404", code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?mobile=138+0013+8000", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/smssim/n/+8613800138000" {
		t.Errorf("lookup: %d → %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestAPI(t *testing.T) {
	s := New(Options{Clock: testenv.NewClock(start)})
	s.Send(context.Background(), msg("第一条", "+8613800138000"))
	s.Send(context.Background(), msg("第二条", "+8613800138000", "+8613900139000"))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	var one struct {
		Mobile   string `json:"mobile"`
		Messages []Text `json:"messages"`
	}
	getJSON(t, srv.URL+"/api/messages?mobile=13800138000", &one)
	if one.Mobile != "+8613800138000" || len(one.Messages) != 2 || one.Messages[0].Text != "【示范大学】第二条" {
		t.Errorf("messages = %+v", one)
	}
	var none struct {
		Messages []Text `json:"messages"`
	}
	getJSON(t, srv.URL+"/api/messages?mobile=%2B8615000150000", &none)
	if none.Messages == nil || len(none.Messages) != 0 {
		t.Errorf("no texts: %+v; want an empty list", none)
	}
	var all struct {
		Inboxes []Inbox `json:"inboxes"`
	}
	getJSON(t, srv.URL+"/api/messages", &all)
	if len(all.Inboxes) != 2 {
		t.Errorf("inboxes = %+v", all)
	}
	if resp, err := http.Get(srv.URL + "/api/messages?mobile=02088886666"); err != nil || resp.StatusCode != 400 {
		t.Errorf("landline: %v %v", resp.StatusCode, err)
	}

	post := func(path, ctype, body string, hdr map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/api/faults", "text/plain", `{"next":1,"code":"InternalError"}`, nil); c != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain fault: %d, want 415", c)
	}
	if c := post("/api/faults", "application/json", `{"next":1,"code":"InternalError"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}); c != http.StatusForbidden {
		t.Errorf("cross-site fault: %d, want 403", c)
	}
	if c := post("/api/faults", "application/json", `{"nxt":1}`, nil); c != http.StatusBadRequest {
		t.Errorf("misspelt fault: %d, want 400", c)
	}
	if c := post("/api/faults", "application/json", `{"next":1,"code":"InternalError"}`, nil); c != http.StatusNoContent {
		t.Fatalf("fault: %d", c)
	}
	if _, err := s.Send(context.Background(), msg("x", "+8613800138000")); !sms.IsRetriable(err) {
		t.Errorf("after the injected fault: err = %v; want a retriable InternalError", err)
	}
	if c := post("/api/faults", "application/json", `{"mobile":"13800138000","count":1,"code":"FailedOperation.PhoneNumberInBlacklist"}`, nil); c != http.StatusNoContent {
		t.Fatalf("mobile fault: %d", c)
	}
	if res, err := s.Send(context.Background(), msg("x", "+8613800138000")); err != nil || res.Statuses[0].OK {
		t.Errorf("after the number fault: %+v, %v", res, err)
	}
	if c := post("/api/reset", "application/json", `{}`, nil); c != http.StatusNoContent || len(s.Inboxes()) != 0 {
		t.Errorf("reset: %d, %d inboxes left", c, len(s.Inboxes()))
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSends(t *testing.T) {
	s := New(Options{})
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 20 {
				s.Send(context.Background(), msg(fmt.Sprintf("%d-%d", g, i), "+8613800138000"))
				s.Inboxes()
			}
		}()
	}
	for range 8 {
		<-done
	}
	if n := len(s.Texts("+8613800138000")); n != DefaultKeep {
		t.Errorf("%d texts kept, want %d of 160", n, DefaultKeep)
	}
}
