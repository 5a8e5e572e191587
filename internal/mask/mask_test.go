package mask

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"phone", Phone, "13800138000", "138****8000"},
		{"phone spaced", Phone, " 138 0013-8000 ", "138****8000"},
		{"phone +86", Phone, "+86 138 0013 8000", "+86 138****8000"},
		{"phone 0086", Phone, "008613800138000", "+86 138****8000"},
		{"phone landline", Phone, "02088886666", "020****6666"},
		{"phone 8 digits", Phone, "88886666", "88****66"},
		{"phone 5 digits", Phone, "12345", "****5"},
		{"phone 4 digits", Phone, "1234", "****"},
		{"phone 1 digit", Phone, "1", "****"},
		{"phone empty", Phone, "", "****"},
		{"phone long", Phone, "+441234567890123", "+44*********0123"},
		{"id 18", IDNumber, "440106199001011234", "440***********1234"},
		{"id 18 with x", IDNumber, "44010619900101123X", "440***********123X"},
		{"id 15", IDNumber, "440106900101123", "440********1123"},
		{"id spaced", IDNumber, "440106 19900101 1234", "440***********1234"},
		{"id short", IDNumber, "12345678", "12****78"},
		{"id 3", IDNumber, "440", "****"},
		{"id empty", IDNumber, "", "****"},
		{"email", Email, "zhangsan@demo.edu.cn", "z***@demo.edu.cn"},
		{"email one char", Email, "a@demo.edu.cn", "***@demo.edu.cn"},
		{"email no at", Email, "zhangsan", "***"},
		{"email no domain", Email, "zhangsan@", "***"},
		{"email empty", Email, "", "***"},
		{"email chinese local", Email, "张三丰@demo.edu.cn", "张***@demo.edu.cn"},
		{"name 2", Name, "张三", "张*"},
		{"name 3", Name, "张三丰", "张**"},
		{"name 4", Name, "欧阳娜娜", "欧***"},
		{"name latin", Name, "Li Lei", "L****"},
		{"name 1", Name, "张", "*"},
		{"name empty", Name, "", "*"},
		{"phone chinese text", Phone, "电话一三八零零一三八零零零", "电话一******八零零零"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNeverRevealsMore runs every mask over odd inputs: none panics, each
// result is valid UTF-8 when its input is, hides at least 4 characters of
// a phone or ID number, and shows at most 7 of its characters.
func TestNeverRevealsMore(t *testing.T) {
	inputs := []string{"", " ", "1", "12", "123", "1234567", "12345678901", "123456789012345678901234567890",
		"+86", "0086", "+8612", "@", "@@", "a@", "@b", "\xff\xfe\xfd", "138\xff0013\xfe8000", "张", "张三丰欧阳", strings.Repeat("9", 1000)}
	for _, in := range inputs {
		for name, fn := range map[string]func(string) string{"phone": Phone, "id": IDNumber, "email": Email, "name": Name} {
			got := fn(in)
			if utf8.ValidString(in) && !utf8.ValidString(got) {
				t.Errorf("%s(%q) = %q: not UTF-8", name, in, got)
			}
			if name != "phone" && name != "id" {
				continue
			}
			shown := 0
			for _, r := range strings.TrimPrefix(got, "+86 ") {
				if r != '*' {
					shown++
				}
			}
			if shown > 7 {
				t.Errorf("%s(%q) = %q shows %d characters, more than 7", name, in, got, shown)
			}
			if strings.Count(got, "*") < 4 {
				t.Errorf("%s(%q) = %q hides fewer than 4 characters", name, in, got)
			}
		}
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"13800138000", "440106199001011234", "zhangsan@demo.edu.cn", "张三", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fn := range []func(string) string{Phone, IDNumber} {
			shown := 0
			for _, r := range strings.TrimPrefix(fn(s), "+86 ") {
				if r != '*' {
					shown++
				}
			}
			if shown > 7 {
				t.Fatalf("mask(%q) shows %d characters", s, shown)
			}
		}
		for _, fn := range []func(string) string{Email, Name} {
			if got := fn(s); utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("mask(%q) = %q: not UTF-8", s, got)
			}
		}
	})
}
