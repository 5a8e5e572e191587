package def

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/sms"
)

// Limits of submitted values.
const (
	DefaultTextLength     = 100  // a text field's MaxLength when 0
	DefaultLongTextLength = 2000 // a textarea's MaxLength when 0
	MaxRangeDays          = 366  // a date range's day count, whatever Max says
	MaxAttachments        = 20   // files in one attachment field
)

// ParseOptions are what ParseForm checks values against. A nil func
// accepts every value.
type ParseOptions struct {
	// Now, when set, bounds dates to a sensible window around it (120
	// years back, 10 ahead) and birth dates in ID numbers to the past.
	// Without it dates must lie in 1900..2100.
	Now time.Time
	// Members says whether a userid names a member (person fields).
	Members func(userid string) bool
	// Departments says whether a WeCom department id exists.
	Departments func(id int64) bool
	// Attachments says whether an attachment id was issued to this
	// applicant and is still there.
	Attachments func(id string) bool
}

// ParseForm reads an HTML form post (url.Values shape) into typed Values
// and checks them. Names: a field's key; a date range's key.start and
// key.end; a multiple choice or an attachment field repeats its key (one
// attachment id each). Keys of no field (a CSRF token) are ignored.
//
// Values holds every valid field, even when others are wrong; errs is nil
// when the whole form is valid.
func (p *Process) ParseForm(raw map[string][]string, opts ParseOptions) (Values, FieldErrors) {
	v := Values{}
	errs := FieldErrors{}
	for _, f := range p.Fields {
		val, msg := parseField(f, raw, opts)
		switch {
		case msg != "":
			errs[f.Key] = msg
		case val != nil:
			v[f.Key] = val
		}
	}
	if len(errs) == 0 {
		errs = nil
	}
	return v, errs
}

// parseField returns the field's value, nil when an optional field is
// left empty, or the message for the person filling it in.
func parseField(f Field, raw map[string][]string, opts ParseOptions) (any, string) {
	switch f.Type {
	case DateRange:
		return parseRange(f, raw, opts)
	case Attachment:
		return parseAttachments(f, raw[f.Key], opts)
	case Choice:
		if f.Multiple {
			return parseMultiple(f, raw[f.Key])
		}
	}

	vs := raw[f.Key]
	if len(vs) > 1 {
		return nil, f.Label + "只能填写一项"
	}
	s := ""
	if len(vs) == 1 {
		s = vs[0]
	}
	if !utf8.ValidString(s) {
		return nil, f.Label + "含有无法识别的字符"
	}
	s = strings.TrimSpace(s)
	if s == "" {
		if f.Required {
			return nil, requiredMessage(f)
		}
		return nil, ""
	}

	switch f.Type {
	case Text, LongText:
		return parseText(f, s)
	case Number:
		return parseNumber(f, s)
	case Date:
		d, msg := parseDate(f.Label, s, opts)
		if msg != "" {
			return nil, msg
		}
		return d.Format(time.DateOnly), ""
	case Choice:
		if !slices.Contains(f.Options, s) {
			return nil, "请从给出的选项中选择" + f.Label
		}
		return s, ""
	case Person:
		if utf8.RuneCountInString(s) > 64 || (opts.Members != nil && !opts.Members(s)) {
			return nil, "所选的" + f.Label + "不存在"
		}
		return s, ""
	case Department:
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 || (opts.Departments != nil && !opts.Departments(id)) {
			return nil, "所选的" + f.Label + "不存在"
		}
		return id, ""
	case Phone:
		return parsePhone(f, s)
	case IDNumber:
		return parseIDNumber(f, s, opts)
	}
	return nil, f.Label + "的类型无法识别"
}

func requiredMessage(f Field) string {
	switch f.Type {
	case Choice, Date, DateRange, Person, Department:
		return "请选择" + f.Label
	case Attachment:
		return "请上传" + f.Label
	}
	return "请填写" + f.Label
}

func parseText(f Field, s string) (any, string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	limit := f.MaxLength
	if f.Type == Text {
		// An <input> cannot hold a line break; a crafted post can.
		s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
		if limit <= 0 {
			limit = DefaultTextLength
		}
	} else if limit <= 0 {
		limit = DefaultLongTextLength
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return nil, f.Label + "含有无法显示的字符"
		}
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return nil, fmt.Sprintf("%s不能超过 %d 个字（现在 %d 个）", f.Label, limit, n)
	}
	return s, ""
}

// decimal is a plain decimal as people type it: no exponent, no hex, no
// Inf or NaN, which strconv.ParseFloat would all accept.
var decimal = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)

// halfWidth turns full-width digits and signs (typed with a Chinese IME)
// into ASCII.
var halfWidth = strings.NewReplacer(
	"０", "0", "１", "1", "２", "2", "３", "3", "４", "4",
	"５", "5", "６", "6", "７", "7", "８", "8", "９", "9",
	"．", ".", "－", "-", "＋", "+", "。", ".",
)

func parseNumber(f Field, s string) (any, string) {
	s = halfWidth.Replace(s)
	if !decimal.MatchString(s) {
		return nil, f.Label + "须为数字"
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) {
		return nil, f.Label + "须为数字"
	}
	if f.Integer && n != math.Trunc(n) {
		return nil, f.Label + "须为整数"
	}
	if f.Min != nil && n < *f.Min {
		return nil, f.Label + "不能小于 " + formatNumber(*f.Min)
	}
	if f.Max != nil && n > *f.Max {
		return nil, f.Label + "不能大于 " + formatNumber(*f.Max)
	}
	return n, ""
}

func formatNumber(n float64) string { return strconv.FormatFloat(n, 'f', -1, 64) }

// parseDate reads YYYY-MM-DD (what <input type="date"> posts) within the
// sensible window; what names the date in messages.
func parseDate(what, s string, opts ParseOptions) (time.Time, string) {
	d, err := time.Parse(time.DateOnly, halfWidth.Replace(strings.TrimSpace(s)))
	if err != nil {
		return time.Time{}, what + "不是有效的日期（格式如 2026-12-01）"
	}
	lo, hi := 1900, 2100
	if !opts.Now.IsZero() {
		lo, hi = opts.Now.Year()-120, opts.Now.Year()+10
	}
	if y := d.Year(); y < lo || y > hi {
		return time.Time{}, what + "超出合理范围"
	}
	return d, ""
}

func parseRange(f Field, raw map[string][]string, opts ParseOptions) (any, string) {
	start, end := raw[f.Key+".start"], raw[f.Key+".end"]
	if len(start) > 1 || len(end) > 1 {
		return nil, f.Label + "只能填写一项"
	}
	first := func(vs []string) string {
		if len(vs) == 0 {
			return ""
		}
		return strings.TrimSpace(vs[0])
	}
	s, e := first(start), first(end)
	switch {
	case s == "" && e == "":
		if f.Required {
			return nil, requiredMessage(f)
		}
		return nil, ""
	case s == "":
		return nil, "请选择" + f.Label + "的开始日期"
	case e == "":
		return nil, "请选择" + f.Label + "的结束日期"
	}
	sd, msg := parseDate(f.Label+"的开始日期", s, opts)
	if msg != "" {
		return nil, msg
	}
	ed, msg := parseDate(f.Label+"的结束日期", e, opts)
	if msg != "" {
		return nil, msg
	}
	if ed.Before(sd) {
		return nil, f.Label + "的结束日期早于开始日期"
	}
	// Both are UTC midnights: no daylight saving in between.
	days := int(ed.Sub(sd).Hours()/24) + 1
	maxDays := MaxRangeDays
	if f.Max != nil && *f.Max < float64(maxDays) {
		maxDays = int(math.Floor(*f.Max))
	}
	if days > maxDays {
		return nil, fmt.Sprintf("%s不能超过 %d 天（现在 %d 天）", f.Label, maxDays, days)
	}
	if f.Min != nil && float64(days) < *f.Min {
		return nil, fmt.Sprintf("%s至少 %s 天", f.Label, formatNumber(math.Ceil(*f.Min)))
	}
	return Range{Start: sd.Format(time.DateOnly), End: ed.Format(time.DateOnly), Days: days}, ""
}

func parseMultiple(f Field, vs []string) (any, string) {
	picked := map[string]bool{}
	for _, s := range vs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(f.Options, s) {
			return nil, "请从给出的选项中选择" + f.Label
		}
		picked[s] = true
	}
	if len(picked) == 0 {
		if f.Required {
			return nil, requiredMessage(f)
		}
		return nil, ""
	}
	// In the options' order: the same choices always read the same.
	var out []string
	for _, o := range f.Options {
		if picked[o] {
			out = append(out, o)
			delete(picked, o) // a duplicated option counts once
		}
	}
	return out, ""
}

func parseAttachments(f Field, vs []string, opts ParseOptions) (any, string) {
	var ids []string
	for _, s := range vs {
		s = strings.TrimSpace(s)
		if s == "" || slices.Contains(ids, s) {
			continue
		}
		if !utf8.ValidString(s) || len(s) > 128 || (opts.Attachments != nil && !opts.Attachments(s)) {
			return nil, f.Label + "中有文件无效或已过期，请重新上传"
		}
		ids = append(ids, s)
	}
	if len(ids) == 0 {
		if f.Required {
			return nil, requiredMessage(f)
		}
		return nil, ""
	}
	if len(ids) > MaxAttachments {
		return nil, fmt.Sprintf("%s最多上传 %d 个文件", f.Label, MaxAttachments)
	}
	return ids, ""
}

func parsePhone(f Field, s string) (any, string) {
	e164, err := sms.Normalize(s, "CN")
	switch {
	case errors.Is(err, sms.ErrNotMobile):
		return nil, f.Label + "须为手机号码（不能是固定电话）"
	case err != nil:
		return nil, f.Label + "不是有效的手机号码"
	case !sms.IsMainland(e164):
		// Texts to the applicant go through domestic templates only.
		return nil, f.Label + "须为中国大陆手机号码"
	}
	return e164, ""
}

// provinces are the first two digits of a resident ID number (GB/T 2260),
// with 81, 82 and 83 for the residence permits of Hong Kong, Macao and
// Taiwan residents.
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true,
}

func parseIDNumber(f Field, s string, opts ParseOptions) (any, string) {
	s = strings.ToUpper(strings.Join(strings.Fields(halfWidth.Replace(s)), ""))
	s = strings.ReplaceAll(s, "Ｘ", "X")
	if utf8.RuneCountInString(s) != 18 {
		return nil, f.Label + "应为 18 位"
	}
	for i, r := range s {
		if (r < '0' || r > '9') && !(i == 17 && r == 'X') {
			return nil, f.Label + "只能包含数字（最后一位可以是 X）"
		}
	}
	if !provinces[s[:2]] {
		return nil, f.Label + "的地区码不正确"
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil || birth.Year() < 1900 || (!opts.Now.IsZero() && birth.After(opts.Now)) {
		return nil, f.Label + "中的出生日期不正确"
	}
	if s[17] != idCheckChar(s[:17]) {
		return nil, f.Label + "校验位不正确"
	}
	return s, ""
}

// idCheckChar is the check character of 17 digits by GB 11643: the
// digits weighted by 2^(17-i) mod 11, the sum mod 11 indexing "10X98765432".
func idCheckChar(digits string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(digits[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11]
}

// KV is one line of a displayed application: a field's key, its label and
// its value in words.
type KV struct{ Key, Label, Value string }

// MaxSummary is how many fields an approver's card shows.
const MaxSummary = 6

// Summary is the Summary fields of v for an approver's card, in the
// form's order, at most MaxSummary, empty ones left out. ID numbers and
// phone numbers are masked: a card is seen over a shoulder.
func (p *Process) Summary(v Values) []KV {
	var out []KV
	for _, f := range p.Fields {
		if !f.Summary {
			continue
		}
		s := displayValue(f, v[f.Key], false)
		if s == "" {
			continue
		}
		out = append(out, KV{Key: f.Key, Label: f.Label, Value: s})
		if len(out) == MaxSummary {
			break
		}
	}
	return out
}

// Display is every field of v in the form's order, Value "" for one left
// empty. ID numbers and phone numbers are masked unless reveal (the
// approver asked to see them).
func (p *Process) Display(v Values, reveal bool) []KV {
	out := make([]KV, 0, len(p.Fields))
	for _, f := range p.Fields {
		out = append(out, KV{Key: f.Key, Label: f.Label, Value: displayValue(f, v[f.Key], reveal)})
	}
	return out
}

func displayValue(f Field, raw any, reveal bool) string {
	val, ok := normalizeValue(f, raw)
	if !ok {
		return ""
	}
	switch x := val.(type) {
	case string:
		switch f.Type {
		case Phone:
			local := x
			if rest, ok := strings.CutPrefix(x, "+86"); ok && len(rest) == 11 {
				local = rest // people read mainland numbers without +86
			}
			if reveal {
				return local
			}
			return mask.Phone(local)
		case IDNumber:
			if reveal {
				return x
			}
			return mask.IDNumber(x)
		}
		return x
	case float64:
		return formatNumber(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case Range:
		return fmt.Sprintf("%s 至 %s，共 %d 天", x.Start, x.End, x.Days)
	case []string:
		if f.Type == Attachment {
			return fmt.Sprintf("%d 个文件", len(x))
		}
		return strings.Join(x, "、")
	}
	return ""
}

// DecodeValues reads values stored as JSON (json.Marshal of Values) back
// into their types: JSON turns a Range into an object, an int64 into a
// float64 and a []string into a []any. Keys of no field are dropped.
func (p *Process) DecodeValues(b []byte) (Values, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("def: decoding the values of %s: %w", p.Key, err)
	}
	v := Values{}
	for _, f := range p.Fields {
		raw, present := m[f.Key]
		if !present || raw == nil {
			continue
		}
		val, ok := normalizeValue(f, raw)
		if !ok {
			return nil, fmt.Errorf("def: decoding the values of %s: field %s holds %T, not a %s value", p.Key, f.Key, raw, f.Type)
		}
		v[f.Key] = val
	}
	return v, nil
}

// normalizeValue gives raw the Go type Values documents for f, accepting
// the shapes JSON decoding and hand-built envs produce; ok is false for
// nil or a value of another kind.
func normalizeValue(f Field, raw any) (val any, ok bool) {
	if raw == nil {
		return nil, false
	}
	switch f.Type {
	case Number:
		n, ok := toFloat(raw)
		if !ok {
			return nil, false
		}
		return n, true
	case Department:
		switch x := raw.(type) {
		case int64:
			return x, true
		case int:
			return int64(x), true
		case float64: // from JSON: ids are far below 2^53
			if x == math.Trunc(x) {
				return int64(x), true
			}
		case json.Number:
			if i, err := x.Int64(); err == nil {
				return i, true
			}
		}
		return nil, false
	case DateRange:
		switch x := raw.(type) {
		case Range:
			return x, true
		case *Range:
			if x == nil {
				return nil, false
			}
			return *x, true
		case map[string]any:
			s, _ := x["start"].(string)
			e, _ := x["end"].(string)
			d, ok := toFloat(x["days"])
			if !ok {
				return nil, false
			}
			return Range{Start: s, End: e, Days: int(d)}, true
		}
		return nil, false
	case Attachment:
		return toStrings(raw)
	case Choice:
		if f.Multiple {
			return toStrings(raw)
		}
	}
	s, ok := raw.(string)
	return s, ok
}

func toFloat(raw any) (float64, bool) {
	switch x := raw.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func toStrings(raw any) (any, bool) {
	switch x := raw.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
