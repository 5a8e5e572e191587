package attendance

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/wecomapp/wecomapp/store"
)

// SummarySheet is the workbook's first sheet: every department × work type.
const SummarySheet = "汇总"

// PersonHeader and SummaryHeader are the sheets' header rows.
var (
	PersonHeader  = []string{"工号", "姓名", "工作类型", "应出勤天数", "迟到", "早退", "缺勤", "缺卡", "加班小时"}
	SummaryHeader = []string{"部门", "工作类型", "人数", "应出勤天数", "迟到", "早退", "缺勤", "缺卡", "加班小时"}
)

// TotalLabel heads each sheet's totals row.
const TotalLabel = "合计"

// Filename is the workbook's download name: 考勤统计-2026-11.xlsx.
func Filename(month time.Time) string { return "考勤统计-" + MonthKey(month) + ".xlsx" }

// SheetName makes a department's name a valid sheet name: none of
// []:*?/\, no leading or trailing apostrophe, at most 31 characters, not
// empty, and not one of used (compared case-insensitively, as Excel does);
// it adds it to used.
func SheetName(name string, used map[string]bool) string {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) || r < 0x20 {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	clean = strings.Trim(clean, "'")
	if clean == "" {
		clean = "部门"
	}
	cut := func(s string, n int) string {
		for utf8.RuneCountInString(s) > n {
			_, size := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-size]
		}
		return s
	}
	out := cut(clean, 31)
	for i := 2; used[strings.ToLower(out)]; i++ {
		suffix := fmt.Sprintf("(%d)", i)
		out = cut(clean, 31-utf8.RuneCountInString(suffix)) + suffix
	}
	used[strings.ToLower(out)] = true
	return out
}

// Workbook writes month's workbook (xlsx): first 汇总, a row per
// department × work type, then one sheet per department named after it,
// a row per person; each with a totals row, the header row frozen.
func (s *Service) Workbook(ctx context.Context, month time.Time) ([]byte, error) {
	people, err := s.People(ctx, month)
	if err != nil {
		return nil, err
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SummarySheet); err != nil {
		return nil, fmt.Errorf("attendance: workbook: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, fmt.Errorf("attendance: workbook: %w", err)
	}
	used := map[string]bool{strings.ToLower(SummarySheet): true}

	groups := groupStats(people)
	var sumRows [][]any
	var total Figures
	var totalPeople int
	for _, g := range groups {
		sumRows = append(sumRows, []any{g.DeptName, g.WorkType, g.People, g.WorkDays, g.Late, g.Early, g.Absent, g.Missing, g.OvertimeHours()})
		total.add(g.Figures)
		totalPeople += g.People
	}
	sumRows = append(sumRows, []any{TotalLabel, "", totalPeople, total.WorkDays, total.Late, total.Early, total.Absent, total.Missing, total.OvertimeHours()})
	if err := writeSheet(f, SummarySheet, SummaryHeader, sumRows, []float64{24, 14, 8, 12, 8, 8, 8, 8, 10}, bold); err != nil {
		return nil, err
	}

	for lo := 0; lo < len(people); {
		hi := lo
		for hi < len(people) && people[hi].DeptCode == people[lo].DeptCode {
			hi++
		}
		sheet := SheetName(people[lo].DeptName, used)
		if _, err := f.NewSheet(sheet); err != nil {
			return nil, fmt.Errorf("attendance: workbook: sheet %s: %w", sheet, err)
		}
		var rows [][]any
		var t Figures
		for _, p := range people[lo:hi] {
			rows = append(rows, []any{p.UserID, p.Name, p.WorkType, p.WorkDays, p.Late, p.Early, p.Absent, p.Missing, p.OvertimeHours()})
			t.add(p.Figures)
		}
		rows = append(rows, []any{TotalLabel, fmt.Sprintf("%d 人", hi-lo), "", t.WorkDays, t.Late, t.Early, t.Absent, t.Missing, t.OvertimeHours()})
		if err := writeSheet(f, sheet, PersonHeader, rows, []float64{14, 12, 14, 12, 8, 8, 8, 8, 10}, bold); err != nil {
			return nil, err
		}
		lo = hi
	}
	f.SetActiveSheet(0)
	b, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("attendance: workbook: %w", err)
	}
	return b.Bytes(), nil
}

func writeSheet(f *excelize.File, sheet string, header []string, rows [][]any, widths []float64, headStyle int) error {
	hdr := make([]any, len(header))
	for i, h := range header {
		hdr[i] = h
	}
	if err := f.SetSheetRow(sheet, "A1", &hdr); err != nil {
		return fmt.Errorf("attendance: workbook: sheet %s: %w", sheet, err)
	}
	last, _ := excelize.CoordinatesToCellName(len(header), 1)
	if err := f.SetCellStyle(sheet, "A1", last, headStyle); err != nil {
		return fmt.Errorf("attendance: workbook: sheet %s: %w", sheet, err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			return fmt.Errorf("attendance: workbook: sheet %s: %w", sheet, err)
		}
	}
	if len(rows) > 0 {
		first, _ := excelize.CoordinatesToCellName(1, len(rows)+1)
		end, _ := excelize.CoordinatesToCellName(len(header), len(rows)+1)
		if err := f.SetCellStyle(sheet, first, end, headStyle); err != nil {
			return fmt.Errorf("attendance: workbook: sheet %s: %w", sheet, err)
		}
	}
	for i, w := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, col, col, w); err != nil {
			return fmt.Errorf("attendance: workbook: sheet %s: %w", sheet, err)
		}
	}
	// Frozen header: the column names stay while scrolling.
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("attendance: workbook: sheet %s: %w", sheet, err)
	}
	return nil
}

// Export makes month's workbook and keeps it (attendance_exports, one per
// month: making it again replaces it), by actor.
func (s *Service) Export(ctx context.Context, month time.Time, by string) ([]byte, error) {
	b, err := s.Workbook(ctx, month)
	if err != nil {
		return nil, err
	}
	if err := s.o.DB.PutAttendanceExport(ctx, store.AttendanceExport{Month: MonthKey(month), XLSX: b, MadeAt: s.o.Now().UnixMilli(), MadeBy: by}); err != nil {
		return nil, fmt.Errorf("attendance: export %s: %w", MonthKey(month), err)
	}
	return b, nil
}
