package h5

import (
	"strings"
	"testing"
)

// Samples of the data modules' pages (h5_test.go's maps name them).

func appDataSample(pg Page) AppData {
	return AppData{Page: pg, Tile: Tile{Module: "scores", Name: "成绩查询", Icon: "🏅", Category: "教学服务", Href: "/app/m/scores", Status: "live"},
		Action:  "/app/m/scores",
		Summary: []DataCell{{Column: "grade_point", Label: "平均学分绩点", Value: "3.42"}, {Column: "credit", Label: "已修学分", Value: "56.5"}},
		Filters: []DataFilter{{Name: "f_semester", Label: "学期", Kind: "choice", Value: "2026-2027-1", Choices: []DataChoice{{Value: "2026-2027-1", Selected: true}, {Value: "2025-2026-2"}}},
			{Name: "f_course_name", Label: "课程", Kind: "text", Value: "数学"}, {Name: "f_occurred_at", Label: "日期", Kind: "date_range", From: "2026-11-01"}},
		Rows: []DataRow{{Key: "17", Href: "/app/m/scores/r/17?student=2026010101", Cells: []DataCell{{Column: "course_name", Label: "课程", Value: "高等数学"}, {Column: "score", Label: "成绩", Value: "92"}}},
			{Key: "18", Href: "/app/m/scores/r/18", Cells: []DataCell{{Column: "net_pay", Label: "实发", Value: "****", Masked: true}}}},
		Week: &DataWeek{Week: 12, Days: []DataHead{{Label: "周一", Col: 2, Row: 1}}, Periods: []DataHead{{Label: "1", Col: 1, Row: 2}},
			Slots: []DataSlot{{Title: "高等数学", Subtitle: "教1-101", Href: "/app/m/courses/r/3", Col: 2, Row: 2, Span: 2}}},
		PageNo: 2, PrevPage: "/app/m/scores?page=1", NextPage: "/app/m/scores?page=3",
		Students: []DataStudent{{UserID: "2026010101", Name: "李明", Selected: true}}, Student: "2026010101", StudentName: "李明（2026010101）"}
}

func appDataRowSample(pg Page) AppDataRow {
	return AppDataRow{Page: pg, Tile: Tile{Module: "salary", Name: "工资条", Icon: "💰"}, Back: "/app/m/salary",
		Cells: []DataCell{{Column: "month", Label: "月份", Value: "2026-11"}, {Column: "net_pay", Label: "实发合计", Value: "****", Masked: true}}}
}

func adminDataSample() AdminData {
	return AdminData{AdminPage: adminPage("数据模块", "/admin/data"), CanEdit: true,
		Defs: []AdminDataDef{{Key: "scores", Title: "成绩查询", Source: "scores", View: "list", Fields: 8, Counselors: true, Tile: "绩点（weighted_avg）"},
			{Key: "salary", Title: "工资条", Source: "salary_slips", View: "list", Fields: 13, Sensitive: true}}}
}

func adminDataEditSample() AdminDataEdit {
	return AdminDataEdit{AdminPage: adminPage("编辑数据模块 scores", "/admin/data"), Key: "scores", Format: "yaml", Text: "key: scores\ntitle: 成绩查询\n",
		Problems: []string{"fields[2].column: 共享数据库的 scores 没有列 gpa"}}
}

func adminDataPreviewSample(pg Page) AdminDataPreview {
	res := appDataSample(pg)
	res.Preview = "2026010101"
	return AdminDataPreview{AdminPage: adminPage("预览数据模块 scores", "/admin/data"), Key: "scores", UserID: "2026010101", Keys: []string{"scores", "salary"}, Result: &res}
}

func TestDataPages(t *testing.T) {
	p := pages(t)
	out := render(t, p, "app_data", appDataSample(Page{}))
	for _, s := range []string{`class="tt__slot tt__c2 tt__r2 tt__s2"`, `href="/app/m/scores/r/17?student=2026010101"`, `name="student" value="2026010101"`,
		`<option value="2025-2026-2">`, `name="f_occurred_at_from" value="2026-11-01"`, `第 12 教学周`, `title="仅本人可见"`, `asset`} {
		if s == "asset" {
			s = AssetURL("data.css")
		}
		if !strings.Contains(out, s) {
			t.Errorf("app_data lacks %q", s)
		}
	}
	// The pages' CSP allows no inline styles: the grid is placed by class.
	if strings.Contains(out, "style=") {
		t.Error("app_data has an inline style")
	}
	na := render(t, p, "app_data", AppData{Tile: Tile{Name: "校园卡"}, Unavailable: true})
	if !strings.Contains(na, "暂时无法使用") || !strings.Contains(na, "数据源暂时无法访问，请稍后再试") || strings.Contains(na, `data-testid="data-rows"`) {
		t.Errorf("unavailable page:\n%s", na)
	}
	row := render(t, p, "app_data_row", appDataRowSample(Page{}))
	if !strings.Contains(row, "仅本人可见") || !strings.Contains(row, ">2026-11<") {
		t.Errorf("row page lacks the masked hint or a value:\n%s", row)
	}
	// The preview keeps the previewed person on its forms.
	pv := render(t, p, "admin_data_preview", adminDataPreviewSample(Page{}))
	if strings.Count(pv, `name="user" value="2026010101"`) < 3 {
		t.Errorf("preview forms lose the person previewed:\n%s", pv)
	}

	// A data tile's key figure, or 暂时无法使用 when its source is down.
	home := sampleHome()
	home.Sections[0].Tiles[0].Figure = "余额 ¥123.45"
	home.Sections[0].Tiles[1].FigureUnavailable = true
	h := render(t, p, "app_home", home)
	if !strings.Contains(h, `data-testid="figure">余额 ¥123.45<`) || !strings.Contains(h, `data-testid="figure-unavailable">暂时无法使用<`) {
		t.Error("app_home lacks the tile figure or its unavailable note")
	}
}
