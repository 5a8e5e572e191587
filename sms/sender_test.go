package sms_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/sms"
	"github.com/wecomapp/wecomapp/sms/smssim"
)

func TestTextSender(t *testing.T) {
	const mobile = "+8613800138000"
	sim := smssim.New(smssim.Options{})
	send := sms.TextSender{Gateway: sim, Template: "2001", TemplateText: "您有一条新通知：{1}。请登录学校服务大厅查看。", ParamMaxChars: 20}
	ctx := context.Background()

	ok, code, err := send.SendSMS(ctx, mobile, "明天下午机房停电检修")
	if !ok || code != "" || err != nil {
		t.Fatalf("SendSMS = %v, %q, %v", ok, code, err)
	}
	texts := sim.Texts(mobile)
	if len(texts) != 1 || texts[0].Text != "【示范大学】您有一条新通知：明天下午机房停电检修。请登录学校服务大厅查看。" ||
		texts[0].Template != "2001" || texts[0].Params[0] != "明天下午机房停电检修" {
		t.Fatalf("received %+v", texts)
	}

	// A text over the variable's limit is cut, not refused.
	ok, _, err = send.SendSMS(ctx, mobile, "关于2027年春季学期研究生课程安排调整及选课时间延长的通知")
	if !ok || err != nil {
		t.Fatalf("long text: %v, %v", ok, err)
	}
	if p := sim.Texts(mobile)[0].Params[0]; sms.Chars(p) != 20 || !strings.HasSuffix(p, "…") {
		t.Errorf("param = %q; want 20 characters ending in …", p)
	}

	tests := []struct {
		name    string
		setup   func()
		text    string
		ok      bool
		code    string
		wantErr bool
	}{
		{"link in the text", func() {}, "详见 https://portal.example.edu.cn/n/1", false, sms.CodeInvalid, false},
		{"rate limited: retried", func() { sim.FailNext(1, "RequestLimitExceeded") }, "通知", false, "", true},
		{"bad credentials: failed", func() { sim.FailNext(1, "AuthFailure.SecretIdNotFound") }, "通知", false, "AuthFailure.SecretIdNotFound", false},
		{"daily limit: retried", func() { sim.FailMobile(mobile, 1, "LimitExceeded.PhoneNumberDailyLimit") }, "通知", false, "LimitExceeded.PhoneNumberDailyLimit", true},
		{"blacklisted: failed", func() { sim.FailMobile(mobile, 1, "FailedOperation.PhoneNumberInBlacklist") }, "通知", false, "FailedOperation.PhoneNumberInBlacklist", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			before := len(sim.Texts(mobile))
			ok, code, err := send.SendSMS(ctx, mobile, tt.text)
			if ok != tt.ok || code != tt.code || (err != nil) != tt.wantErr {
				t.Errorf("SendSMS = %v, %q, %v; want %v, %q, error %v", ok, code, err, tt.ok, tt.code, tt.wantErr)
			}
			if tt.wantErr && !sms.IsRetriable(err) {
				t.Errorf("err = %v; want it retriable", err)
			}
			if len(sim.Texts(mobile)) != before {
				t.Error("a refused text was delivered")
			}
		})
	}
}
