package def

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func leaveProcess(t *testing.T) *Process {
	t.Helper()
	for _, p := range mustShipped(t) {
		if p.Key == "student_leave" {
			return p
		}
	}
	t.Fatal("student_leave is not shipped")
	return nil
}

func mustShipped(t *testing.T) []*Process {
	t.Helper()
	ps, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func leavePost() map[string][]string {
	return map[string][]string{
		"leave_type":      {"病假"},
		"leave.start":     {"2026-12-01"},
		"leave.end":       {"2026-12-05"},
		"reason":          {"  发烧，需去医院就诊并休息  "},
		"leave_campus":    {"是"},
		"destination":     {"广州市\n天河区"},
		"emergency_phone": {"139 1234 5678"},
		"attachment":      {"att1", "att2", "att1", ""},
		"csrf":            {"token"},
	}
}

var now = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func TestParseFormValid(t *testing.T) {
	p := leaveProcess(t)
	v, errs := p.ParseForm(leavePost(), ParseOptions{Now: now, Attachments: func(id string) bool { return strings.HasPrefix(id, "att") }})
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	want := Values{
		"leave_type":      "病假",
		"leave":           Range{Start: "2026-12-01", End: "2026-12-05", Days: 5},
		"reason":          "发烧，需去医院就诊并休息",
		"leave_campus":    "是",
		"destination":     "广州市 天河区",
		"emergency_phone": "+8613912345678",
		"attachment":      []string{"att1", "att2"},
	}
	if d := cmp.Diff(want, v); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
}

func TestParseFormOptionalLeftEmpty(t *testing.T) {
	p := leaveProcess(t)
	post := leavePost()
	delete(post, "destination")
	delete(post, "attachment")
	v, errs := p.ParseForm(post, ParseOptions{})
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	for _, k := range []string{"destination", "attachment"} {
		if _, ok := v[k]; ok {
			t.Errorf("%s left empty is present: %v", k, v[k])
		}
	}
}

func TestParseFormErrors(t *testing.T) {
	p := leaveProcess(t)
	tests := []struct {
		name  string
		edit  func(map[string][]string)
		opts  ParseOptions
		key   string
		error string
	}{
		{"required textarea", func(m map[string][]string) { m["reason"] = []string{"   "} }, ParseOptions{}, "reason", "请填写请假事由"},
		{"required choice", func(m map[string][]string) { delete(m, "leave_type") }, ParseOptions{}, "leave_type", "请选择请假类型"},
		{"choice not an option", func(m map[string][]string) { m["leave_type"] = []string{"婚假"} }, ParseOptions{}, "leave_type", "请从给出的选项中选择请假类型"},
		{"two values for one", func(m map[string][]string) { m["leave_campus"] = []string{"是", "否"} }, ParseOptions{}, "leave_campus", "是否离校只能填写一项"},
		{"range reversed", func(m map[string][]string) { m["leave.end"] = []string{"2026-11-28"} }, ParseOptions{}, "leave", "请假时间的结束日期早于开始日期"},
		{"range end missing", func(m map[string][]string) { delete(m, "leave.end") }, ParseOptions{}, "leave", "请选择请假时间的结束日期"},
		{"range bad date", func(m map[string][]string) { m["leave.start"] = []string{"2026-02-30"} }, ParseOptions{}, "leave", "请假时间的开始日期不是有效的日期（格式如 2026-12-01）"},
		{"range too long", func(m map[string][]string) { m["leave.end"] = []string{"2027-12-31"} }, ParseOptions{}, "leave", "请假时间不能超过 366 天（现在 396 天）"},
		{"range far future", func(m map[string][]string) {
			m["leave.start"], m["leave.end"] = []string{"2046-12-01"}, []string{"2046-12-02"}
		}, ParseOptions{Now: now}, "leave", "请假时间的开始日期超出合理范围"},
		{"textarea too long", func(m map[string][]string) { m["reason"] = []string{strings.Repeat("病", 501)} }, ParseOptions{}, "reason", "请假事由不能超过 500 个字（现在 501 个）"},
		{"text default limit", func(m map[string][]string) { m["destination"] = []string{strings.Repeat("路", 101)} }, ParseOptions{}, "destination", "去向不能超过 100 个字（现在 101 个）"},
		{"control character", func(m map[string][]string) { m["reason"] = []string{"发烧\x00"} }, ParseOptions{}, "reason", "请假事由含有无法显示的字符"},
		{"landline", func(m map[string][]string) { m["emergency_phone"] = []string{"020-8888 6666"} }, ParseOptions{}, "emergency_phone", "紧急联系人电话须为手机号码（不能是固定电话）"},
		{"not a number", func(m map[string][]string) { m["emergency_phone"] = []string{"1391234567"} }, ParseOptions{}, "emergency_phone", "紧急联系人电话不是有效的手机号码"},
		{"Hong Kong mobile", func(m map[string][]string) { m["emergency_phone"] = []string{"+852 9123 4567"} }, ParseOptions{}, "emergency_phone", "紧急联系人电话须为中国大陆手机号码"},
		{"unknown attachment", func(m map[string][]string) {}, ParseOptions{Attachments: func(id string) bool { return id == "att1" }}, "attachment", "附件中有文件无效或已过期，请重新上传"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			post := leavePost()
			tt.edit(post)
			_, errs := p.ParseForm(post, tt.opts)
			if got := errs[tt.key]; got != tt.error {
				t.Errorf("error of %s = %q, want %q (all: %v)", tt.key, got, tt.error, errs)
			}
			if len(errs) != 1 {
				t.Errorf("errors %v, want only %s's", errs, tt.key)
			}
		})
	}
}

func TestParseFormRangeBounds(t *testing.T) {
	lo, hi := 2.0, 7.0
	p := &Process{Fields: []Field{{Key: "trip", Label: "出差时间", Type: DateRange, Min: &lo, Max: &hi}}}
	for _, tt := range []struct {
		start, end string
		days       int
		error      string
	}{
		{"2026-12-31", "2027-01-01", 2, ""}, // across a year
		{"2026-12-01", "2026-12-07", 7, ""},
		{"2026-12-01", "2026-12-01", 0, "出差时间至少 2 天"},
		{"2026-12-01", "2026-12-08", 0, "出差时间不能超过 7 天（现在 8 天）"},
		{"2028-02-28", "2028-03-01", 3, ""}, // a leap day
	} {
		v, errs := p.ParseForm(map[string][]string{"trip.start": {tt.start}, "trip.end": {tt.end}}, ParseOptions{})
		if errs["trip"] != tt.error {
			t.Errorf("%s..%s: error %q, want %q", tt.start, tt.end, errs["trip"], tt.error)
		}
		if tt.error == "" && v["trip"].(Range).Days != tt.days {
			t.Errorf("%s..%s: %d days, want %d", tt.start, tt.end, v["trip"].(Range).Days, tt.days)
		}
	}
}

func TestParseFormNumber(t *testing.T) {
	p := certProcess(t)
	for _, tt := range []struct {
		in    string
		want  float64
		error string
	}{
		{"2008", 2008, ""},
		{"２００８", 2008, ""}, // typed with a Chinese IME
		{"1949", 0, "毕业年份不能小于 1950"},
		{"2101", 0, "毕业年份不能大于 2100"},
		{"2008.5", 0, "毕业年份须为整数"},
		{"2e3", 0, "毕业年份须为数字"},
		{"NaN", 0, "毕业年份须为数字"},
		{"二〇〇八", 0, "毕业年份须为数字"},
		{"", 0, "请填写毕业年份"},
	} {
		v, errs := p.ParseForm(map[string][]string{"grad_year": {tt.in}}, ParseOptions{})
		if errs["grad_year"] != tt.error {
			t.Errorf("%q: error %q, want %q", tt.in, errs["grad_year"], tt.error)
		}
		if tt.error == "" && v["grad_year"] != tt.want {
			t.Errorf("%q: %v, want %v", tt.in, v["grad_year"], tt.want)
		}
	}
}

func certProcess(t *testing.T) *Process {
	t.Helper()
	for _, p := range mustShipped(t) {
		if p.Key == "cert_reissue" {
			return p
		}
	}
	t.Fatal("cert_reissue is not shipped")
	return nil
}

func TestParseFormIDNumber(t *testing.T) {
	p := certProcess(t)
	for _, tt := range []struct {
		in, want, error string
	}{
		{"11010519491231002X", "11010519491231002X", ""}, // the example of GB 11643
		{"11010519491231002x", "11010519491231002X", ""},
		{"110105 19491231 002X", "11010519491231002X", ""},
		{"440106199001011235", "440106199001011235", ""},
		{"440106199001011234", "", "身份证号校验位不正确"},
		{"110105194912310021", "", "身份证号校验位不正确"},
		{"11010519491231002", "", "身份证号应为 18 位"},
		{"1101051949123100X2", "", "身份证号只能包含数字（最后一位可以是 X）"},
		{"440106199002301234", "", "身份证号中的出生日期不正确"},
		{"440106203001011234", "", "身份证号中的出生日期不正确"}, // born after now
		{"990106199001011234", "", "身份证号的地区码不正确"},
	} {
		v, errs := p.ParseForm(map[string][]string{"id_number": {tt.in}}, ParseOptions{Now: now})
		if errs["id_number"] != tt.error {
			t.Errorf("%q: error %q, want %q", tt.in, errs["id_number"], tt.error)
		}
		if tt.error == "" && v["id_number"] != tt.want {
			t.Errorf("%q: %v, want %v", tt.in, v["id_number"], tt.want)
		}
	}
}

func TestParseFormPeopleAndChoices(t *testing.T) {
	p := &Process{Fields: []Field{
		{Key: "agent", Label: "代办人", Type: Person, Required: true},
		{Key: "dept", Label: "所在部门", Type: Department, Required: true},
		{Key: "topics", Label: "研究方向", Type: Choice, Multiple: true, Required: true, Options: []string{"水产养殖", "海洋生态", "食品科学"}},
	}}
	opts := ParseOptions{
		Members:     func(u string) bool { return u == "zhangsan" },
		Departments: func(id int64) bool { return id == 12 },
	}
	v, errs := p.ParseForm(map[string][]string{"agent": {"zhangsan"}, "dept": {"12"}, "topics": {"食品科学", "水产养殖", "食品科学"}}, opts)
	if errs != nil {
		t.Fatal(errs)
	}
	want := Values{"agent": "zhangsan", "dept": int64(12), "topics": []string{"水产养殖", "食品科学"}}
	if d := cmp.Diff(want, v); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
	_, errs = p.ParseForm(map[string][]string{"agent": {"lisi"}, "dept": {"13"}, "topics": {"天文"}}, opts)
	wantErrs := FieldErrors{"agent": "所选的代办人不存在", "dept": "所选的所在部门不存在", "topics": "请从给出的选项中选择研究方向"}
	if d := cmp.Diff(wantErrs, errs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	_, errs = p.ParseForm(map[string][]string{"topics": {""}}, ParseOptions{})
	if errs["topics"] != "请选择研究方向" || errs["agent"] != "请选择代办人" {
		t.Errorf("errors of an empty post: %v", errs)
	}
}

func certValues() Values {
	return Values{
		"name":      "王晓明",
		"id_number": "440106199001011235",
		"grad_year": float64(2012),
		"phone":     "+8613912345678",
		"address":   "广东省广州市天河区中山大道西 55 号",
		"cert_type": "学位证明",
	}
}

func TestSummaryMasks(t *testing.T) {
	got := certProcess(t).Summary(certValues())
	want := []KV{
		{"name", "姓名", "王晓明"},
		{"id_number", "身份证号", "440***********1235"},
		{"grad_year", "毕业年份", "2012"},
		{"phone", "联系电话", "139****5678"},
		{"cert_type", "证明类型", "学位证明"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
}

func TestSummaryAtMostSix(t *testing.T) {
	p := &Process{}
	v := Values{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		p.Fields = append(p.Fields, Field{Key: k, Label: strings.ToUpper(k), Type: Text, Summary: true})
		v[k] = k
	}
	delete(v, "b") // an empty one does not take a place
	got := p.Summary(v)
	if len(got) != 6 || got[1].Key != "c" || got[5].Key != "g" {
		t.Errorf("summary = %v", got)
	}
}

func TestDisplay(t *testing.T) {
	p := leaveProcess(t)
	v, errs := p.ParseForm(leavePost(), ParseOptions{})
	if errs != nil {
		t.Fatal(errs)
	}
	delete(v, "destination")
	got := p.Display(v, false)
	want := []KV{
		{"leave_type", "请假类型", "病假"},
		{"leave", "请假时间", "2026-12-01 至 2026-12-05，共 5 天"},
		{"reason", "请假事由", "发烧，需去医院就诊并休息"},
		{"leave_campus", "是否离校", "是"},
		{"destination", "去向", ""},
		{"emergency_phone", "紧急联系人电话", "139****5678"},
		{"attachment", "附件", "2 个文件"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("display (-want +got):\n%s", d)
	}
	if got := p.Display(v, true)[5].Value; got != "13912345678" {
		t.Errorf("revealed phone = %q", got)
	}
	if got := certProcess(t).Display(certValues(), true)[1].Value; got != "440106199001011235" {
		t.Errorf("revealed ID number = %q", got)
	}
}

func TestDecodeValues(t *testing.T) {
	p := leaveProcess(t)
	p.Fields = append(p.Fields,
		Field{Key: "dept", Label: "部门", Type: Department},
		Field{Key: "days", Label: "天数", Type: Number},
		Field{Key: "topics", Label: "方向", Type: Choice, Multiple: true, Options: []string{"甲", "乙"}})
	v, errs := p.ParseForm(leavePost(), ParseOptions{})
	if errs != nil {
		t.Fatal(errs)
	}
	v["dept"], v["days"], v["topics"] = int64(12), 2.5, []string{"乙"}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.DecodeValues(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(v, got); d != "" {
		t.Errorf("decoded (-stored +decoded):\n%s", d)
	}
	if _, err := p.DecodeValues([]byte(`{"leave": "2026-12-01"}`)); err == nil {
		t.Error("a range stored as a string decoded")
	}
}
