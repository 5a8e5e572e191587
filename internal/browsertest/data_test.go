package browsertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
)

// TestJourneyAStudentChecksScoresAndTimetable: a second-year student opens
// the app on their phone, taps 成绩查询 on the workbench and sees their
// GPA on top and their courses below; back on the workbench, they open
// 课表与课程 and see this week's timetable.
func TestJourneyAStudentChecksScoresAndTimetable(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Data: true})
	ctx := context.Background()
	st := e.Person(t, func(p *demo.Person) bool {
		return p.Main() == demo.CatUndergrad && p.Status == 1 && p.Grade < demo.AcademicYear(time.Now()) && p.Position == ""
	})
	want, err := e.Data.List(ctx, "scores", datamod.Viewer{UserID: st.UserID}, datamod.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var gpa string
	for _, c := range want.Summary {
		if c.Column == "grade_point" {
			gpa = c.Value
		}
	}
	if gpa == "" || len(want.Rows) == 0 {
		t.Fatalf("%s has no GPA or no scores: %+v", st.UserID, want.Summary)
	}

	b := newTab(t, "student")
	b.openFromPhone(e, st.UserID)
	wb := b.workbench()
	if !wb.hasTile("scores") || !wb.hasTile("courses") {
		b.fatalf("the student's workbench lacks 成绩查询 or 课表: %v", wb.modules())
	}
	b.shot("workbench")
	b.click(`[data-testid=home] [data-testid=section] [data-testid=tile][data-module=scores]`)
	if p := b.location().Path; p != "/app/m/scores" {
		b.fatalf("the tile opened %s", p)
	}
	if got := b.text(`[data-testid=summary][data-column=grade_point] .dm-sum__v`); got != gpa {
		t.Errorf("the page's GPA reads %q, the shared database's is %s", got, gpa)
	}
	rows := b.attrs(`[data-testid=data-row]`, "data-key")
	if len(rows) != len(want.Rows) {
		t.Errorf("%d score rows on the page, want %d", len(rows), len(want.Rows))
	}
	if first := b.text(`[data-testid=data-row]`); !strings.Contains(first, want.Rows[0].Cells[0].Value) {
		t.Errorf("the first row reads %q, want the course %s", first, want.Rows[0].Cells[0].Value)
	}
	b.shot("scores")

	b.click("[data-testid=back]")
	b.click(`[data-testid=home] [data-testid=section] [data-testid=tile][data-module=courses]`)
	if !b.has("[data-testid=timetable]") {
		b.fatalf("课表 shows no timetable: %q", b.text("main"))
	}
	if wk := b.text("[data-testid=week-number]"); !strings.HasPrefix(wk, "第 ") {
		t.Errorf("the timetable names no teaching week: %q", wk)
	}
	tt, err := e.Data.List(ctx, "courses", datamod.Viewer{UserID: st.UserID}, datamod.Query{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range tt.Week.Days {
		n += len(d)
	}
	if got := len(b.attrs("[data-testid=slot]", "class")); got != n {
		t.Errorf("%d courses in the timetable, want %d this week", got, n)
	}
	// Seven days side by side fit the phone's width.
	if w := eval[float64](b, `document.querySelector("[data-testid=timetable]").scrollWidth`); w > 390 {
		t.Errorf("the timetable is %v px wide, wider than the phone", w)
	}
	b.shot("timetable")
}
