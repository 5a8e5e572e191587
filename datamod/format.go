package datamod

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wecomapp/wecomapp/internal/mask"
)

// FormatValue shows a value (string, int64, float64 or nil, as the shared
// database gave it) in format f with decimals places where it has any.
// A value that does not fit the format is shown as it is.
func FormatValue(v any, f Format, decimals int) string {
	if v == nil {
		return ""
	}
	switch f {
	case Number:
		if x, ok := toFloat(v); ok {
			return groupThousands(strconv.FormatFloat(round(x, decimals), 'f', decimals, 64))
		}
	case Money:
		if x, ok := toFloat(v); ok {
			s := groupThousands(strconv.FormatFloat(math.Abs(round(x, 2)), 'f', 2, 64))
			if x < 0 && round(x, 2) != 0 {
				return "-¥" + s
			}
			return "¥" + s
		}
	case Percent:
		// The value is in percent already (85.5 → 85.5%).
		if x, ok := toFloat(v); ok {
			return strconv.FormatFloat(round(x, decimals), 'f', decimals, 64) + "%"
		}
	case Date:
		s := str(v)
		if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
			return s[:10]
		}
		return s
	case DateTime:
		s := strings.Replace(str(v), "T", " ", 1)
		if len(s) >= 16 && s[4] == '-' && s[13] == ':' {
			return s[:16]
		}
		return s
	case Duration:
		if x, ok := toInt(v); ok {
			if x < 60 {
				return strconv.Itoa(x) + " 分"
			}
			if x%60 == 0 {
				return strconv.Itoa(x/60) + " 小时"
			}
			return strconv.Itoa(x/60) + " 小时 " + strconv.Itoa(x%60) + " 分"
		}
	case Weekday:
		if x, ok := toInt(v); ok && x >= 1 && x <= 7 {
			return "周" + []string{"一", "二", "三", "四", "五", "六", "日"}[x-1]
		}
	}
	// Text, and numbers shown as text: no float noise (85 not 85.000000).
	if x, ok := v.(float64); ok {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return str(v)
}

// MaskValue hides a sensitive value for anyone but its person.
func MaskValue(v string, k Sensitive) string {
	switch k {
	case IDNumber:
		return mask.IDNumber(v)
	case Phone:
		return mask.Phone(v)
	default:
		// A salary shows nothing of itself, not even its length.
		return "****"
	}
}

func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}

// groupThousands puts commas in the integer part of a formatted number.
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) <= 3 {
		return sign + s
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []byte:
		return string(x)
	}
	return ""
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func toInt(v any) (int, bool) {
	f, ok := toFloat(v)
	return int(f), ok
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
