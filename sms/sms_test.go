package sms

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, region string
		want       string
		err        error
	}{
		{"13800138000", "CN", "+8613800138000", nil},
		{" 138-0013-8000 ", "CN", "+8613800138000", nil},
		{"+86 138 0013 8000", "CN", "+8613800138000", nil},
		{"008613800138000", "CN", "+8613800138000", nil},
		{"8613800138000", "CN", "+8613800138000", nil},
		{"１３８００１３８０００", "CN", "+8613800138000", nil}, // typed with a Chinese IME
		{"19912345678", "", "+8619912345678", nil},
		{"+852 9123 4567", "CN", "+85291234567", nil},
		{"+1 650 253 0000", "CN", "+16502530000", nil}, // the US does not tell mobiles apart
		{"02088886666", "CN", "", ErrNotMobile},
		{"+86 20 8888 6666", "CN", "", ErrNotMobile},
		{"400 800 8888", "CN", "", ErrNotMobile},
		{"1380013800", "CN", "", ErrInvalidNumber},
		{"138001380001", "CN", "", ErrInvalidNumber},
		{"12345678901", "CN", "", ErrInvalidNumber},
		{"10086", "CN", "", ErrInvalidNumber},
		{"abc", "CN", "", ErrInvalidNumber},
		{"", "CN", "", ErrInvalidNumber},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in, tt.region)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", tt.in, tt.region, got, err, tt.want, tt.err)
		}
		if err != nil && len(tt.in) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
			t.Errorf("Normalize(%q) error shows the number: %v", tt.in, err)
		}
	}
}

func TestCountAndSplit(t *testing.T) {
	sign := "示范大学" // 【示范大学】 is 6 characters
	tests := []struct {
		name  string
		text  string
		chars int
		parts []int // characters per part
	}{
		{"short", "您好", 8, []int{8}},
		{"exactly one message", strings.Repeat("字", 64), 70, []int{70}},
		{"one over", strings.Repeat("字", 65), 71, []int{67, 4}},
		{"latin and spaces count one each", strings.Repeat("a b", 20), 66, []int{66}},
		{"emoji counts two", "好😀", 9, []int{9}},
		{"emoji not cut in half", strings.Repeat("字", 60) + "😀" + strings.Repeat("字", 10), 78, []int{66, 12}},
		{"longest accepted", strings.Repeat("字", 494), 500, []int{67, 67, 67, 67, 67, 67, 67, 31}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chars, parts := Count(sign, tt.text)
			if chars != tt.chars || parts != len(tt.parts) {
				t.Errorf("Count = %d chars, %d parts; want %d, %d", chars, parts, tt.chars, len(tt.parts))
			}
			split := Split(sign, tt.text)
			var sizes []int
			for _, p := range split {
				sizes = append(sizes, Chars(p))
			}
			if diff := cmp.Diff(tt.parts, sizes); diff != "" {
				t.Errorf("Split sizes (-want +got):\n%s", diff)
			}
			if strings.Join(split, "") != Full(sign, tt.text) {
				t.Error("the parts do not join back into the text")
			}
			if !strings.HasPrefix(split[0], "【示范大学】") {
				t.Errorf("first part %q does not start with the signature", split[0])
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	sign := "示范大学"
	if err := CheckText(sign, strings.Repeat("字", 494)); err != nil {
		t.Errorf("500 characters with the signature refused: %v", err)
	}
	err := CheckText(sign, strings.Repeat("字", 495))
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Field != "text" || !strings.Contains(err.Error(), "501 characters") || !strings.Contains(err.Error(), "500") {
		t.Errorf("501 characters: err = %v; want a text error naming 501 and the limit", err)
	}
	// The signature counts: a text that fits alone does not fit with a
	// long one.
	if err := CheckText("示范大学继续教育学院招生办", strings.Repeat("字", 494)); err == nil {
		t.Error("the signature was not counted")
	}
	for _, bad := range []string{"", "  ", "【通知】明天放假", "明天放假】"} {
		if err := CheckText(sign, bad); err == nil {
			t.Errorf("CheckText(%q) accepted", bad)
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		tpl    string
		params []string
		want   string
	}{
		{"{1}您好，您的录取通知书已于{2}寄出。", []string{"张同学", "12月5日"}, "张同学您好，您的录取通知书已于12月5日寄出。"},
		{"验证码{1}，{2}分钟内有效，{1}请勿告诉他人", []string{"4370", "5"}, "验证码4370，5分钟内有效，4370请勿告诉他人"},
		{"缺参数{1}{3}", []string{"a"}, "缺参数a{3}"},
		{"花括号{x}与{", nil, "花括号{x}与{"},
		{"无变量", []string{"x"}, "无变量"},
	}
	for _, tt := range tests {
		if got := Render(tt.tpl, tt.params); got != tt.want {
			t.Errorf("Render(%q, %q) = %q, want %q", tt.tpl, tt.params, got, tt.want)
		}
	}
}

func TestBatches(t *testing.T) {
	var in []string
	for i := range 450 {
		in = append(in, fmt.Sprintf("+86138%08d", i))
	}
	in = append(in, "+85291234567", "+8613800000000", "+16502530000")
	got := Batches(in)
	var sizes []int
	for _, b := range got {
		sizes = append(sizes, len(b))
	}
	if diff := cmp.Diff([]int{200, 200, 50, 2}, sizes); diff != "" {
		t.Fatalf("batch sizes (-want +got):\n%s", diff)
	}
	if got[0][0] != in[0] || got[2][49] != in[449] {
		t.Error("order not kept")
	}
	if !cmp.Equal(got[3], []string{"+85291234567", "+16502530000"}) {
		t.Errorf("international batch = %v", got[3])
	}
	for _, b := range got[:3] {
		if err := CheckMobiles(b); err != nil {
			t.Errorf("a mainland batch is refused: %v", err)
		}
	}
}

func TestClassify(t *testing.T) {
	// 21:00 in China.
	now := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		code      string
		retriable bool
		after     time.Duration
	}{
		{"LimitExceeded.PhoneNumberThirtySecondLimit", true, 30 * time.Second},
		{"LimitExceeded.PhoneNumberOneHourLimit", true, time.Hour},
		{"LimitExceeded.PhoneNumberDailyLimit", true, 3 * time.Hour},
		{"LimitExceeded.AppDailyLimit", true, 3 * time.Hour},
		{"FailedOperation.MarketingSendTimeConstraint", true, 11 * time.Hour},
		{"RequestLimitExceeded.UinLimitExceeded", true, time.Second},
		{"InternalError.Timeout", true, 0},
		{CodeTransport, true, 0},
		{"InternalError.RequestTimeException", false, 0}, // our clock is off: someone must fix it
		{"InvalidParameterValue.IncorrectPhoneNumber", false, 0},
		{"FailedOperation.PhoneNumberInBlacklist", false, 0},
		{"FailedOperation.InsufficientBalanceInSmsPackage", false, 0},
		{"UnauthorizedOperation.SerivceSuspendDueToArrears", false, 0},
		{"AuthFailure.SignatureFailure", false, 0},
		{"SomethingNew", false, 0},
	}
	for _, tt := range tests {
		r, a := Classify(tt.code, now)
		if r != tt.retriable || a != tt.after {
			t.Errorf("Classify(%s) = %v, %v; want %v, %v", tt.code, r, a, tt.retriable, tt.after)
		}
	}
}
