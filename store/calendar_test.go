package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// TestCalendarPeriods: the university's periods are added, listed by start
// date, edited (keeping who created them), and deleted, on both engines;
// a period the calendar could not use is refused.
func TestCalendarPeriods(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t1 := time.UnixMilli(1_730_000_000_000)
		summer := store.CalendarPeriod{Name: "暑假", Kind: store.PeriodVacation, StartDate: "2025-07-05", EndDate: "2025-08-31", Audience: store.AudienceStudents, CreatedBy: "zhangsan"}
		winter := store.CalendarPeriod{Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-02-16", Audience: store.AudienceAll, CreatedBy: "cli:root"}
		saturday := store.CalendarPeriod{Name: "校运会补课", Kind: store.PeriodWorkday, StartDate: "2025-04-12", EndDate: "2025-04-12", Audience: store.AudienceFaculty, CreatedBy: "lisi"}
		var ids []int64
		for _, p := range []store.CalendarPeriod{summer, winter, saturday} {
			id, err := db.PutCalendarPeriod(ctx, nil, p, t1)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == 0 {
			t.Fatalf("ids %v", ids)
		}

		// Edited later by someone else: the creator and time stay.
		winter.ID, winter.Audience, winter.EndDate, winter.CreatedBy = ids[1], store.AudienceStudents, "2025-02-23", "wangwu"
		if id, err := db.PutCalendarPeriod(ctx, nil, winter, t1.Add(time.Hour)); err != nil || id != ids[1] {
			t.Fatalf("edit: %d, %v", id, err)
		}
		// Saved again unchanged (MySQL reports no row changed): no error.
		if _, err := db.PutCalendarPeriod(ctx, nil, winter, t1.Add(time.Hour)); err != nil {
			t.Fatalf("unchanged edit: %v", err)
		}
		got, err := db.ListCalendarPeriods(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.CalendarPeriod{
			{ID: ids[1], Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-02-23", Audience: store.AudienceStudents, CreatedBy: "cli:root", CreatedAt: t1.UnixMilli()},
			{ID: ids[2], Name: "校运会补课", Kind: store.PeriodWorkday, StartDate: "2025-04-12", EndDate: "2025-04-12", Audience: store.AudienceFaculty, CreatedBy: "lisi", CreatedAt: t1.UnixMilli()},
			{ID: ids[0], Name: "暑假", Kind: store.PeriodVacation, StartDate: "2025-07-05", EndDate: "2025-08-31", Audience: store.AudienceStudents, CreatedBy: "zhangsan", CreatedAt: t1.UnixMilli()},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("list (-want +got):\n%s", d)
		}

		// Editing a period that is not there.
		gone := saturday
		gone.ID = ids[2] + 100
		if _, err := db.PutCalendarPeriod(ctx, nil, gone, t1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("edit of a missing period: %v, want ErrNotFound", err)
		}

		if ok, err := db.DeleteCalendarPeriod(ctx, nil, ids[2]); err != nil || !ok {
			t.Fatalf("delete: %v, %v", ok, err)
		}
		if ok, err := db.DeleteCalendarPeriod(ctx, nil, ids[2]); err != nil || ok {
			t.Fatalf("delete again: %v, %v; want false, nil", ok, err)
		}
		if got, _ := db.ListCalendarPeriods(ctx, nil); len(got) != 2 {
			t.Errorf("after delete: %+v", got)
		}

		// Refused: what the calendar could not use.
		for _, bad := range []store.CalendarPeriod{
			{Name: "", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-01-14", Audience: store.AudienceAll},
			{Name: strings.Repeat("假", store.CalendarPeriodNameMax+1), Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-01-14", Audience: store.AudienceAll},
			{Name: "寒假", Kind: "holiday", StartDate: "2025-01-13", EndDate: "2025-01-14", Audience: store.AudienceAll},
			{Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-01-14", Audience: "staff"},
			{Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025/01/13", EndDate: "2025-01-14", Audience: store.AudienceAll},
			{Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2025-02-30", Audience: store.AudienceAll},
			{Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-02-16", EndDate: "2025-01-13", Audience: store.AudienceAll},
			{Name: "寒假", Kind: store.PeriodVacation, StartDate: "2025-01-13", EndDate: "2035-02-16", Audience: store.AudienceAll}, // a mistyped decade
		} {
			if _, err := db.PutCalendarPeriod(ctx, nil, bad, t1); err == nil {
				t.Errorf("accepted %+v", bad)
			}
		}
		if got, _ := db.ListCalendarPeriods(ctx, nil); len(got) != 2 {
			t.Errorf("a refused period was saved: %+v", got)
		}

		// The longest: 64 Chinese characters, 366 days (a leap year).
		long := store.CalendarPeriod{Name: strings.Repeat("假", store.CalendarPeriodNameMax), Kind: store.PeriodVacation, StartDate: "2028-01-01", EndDate: "2028-12-31", Audience: store.AudienceAll}
		id, err := db.PutCalendarPeriod(ctx, nil, long, t1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = db.ListCalendarPeriods(ctx, nil)
		if last := got[len(got)-1]; last.ID != id || last.Name != long.Name {
			t.Errorf("the longest period came back as %+v", last)
		}

		// Through a transaction, rolled back: nothing stays.
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PutCalendarPeriod(ctx, tx, saturday, t1); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ListCalendarPeriods(ctx, nil); len(got) != 3 {
			t.Errorf("a rolled-back put stayed: %+v", got)
		}
	})
}
