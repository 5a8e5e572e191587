package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func TestDataModuleDefinitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
		if _, err := db.DMDefinitionByKey(ctx, "scores"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("absent definition: %v", err)
		}
		n, err := db.SeedDMDefinitions(ctx, []store.DMDefinition{
			{Key: "scores", Definition: `{"title":"成绩"}`, UpdatedBy: "system", UpdatedAt: at},
			{Key: "salary", Definition: `{"title":"工资"}`, UpdatedBy: "system", UpdatedAt: at},
		})
		if err != nil || n != 2 {
			t.Fatalf("seed: %d, %v", n, err)
		}
		// An edit in the console survives the next start's seed.
		if err := db.PutDMDefinition(ctx, store.DMDefinition{Key: "scores", Definition: `{"title":"我的成绩"}`, UpdatedBy: "T00001", UpdatedAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		n, err = db.SeedDMDefinitions(ctx, []store.DMDefinition{
			{Key: "scores", Definition: `{"title":"成绩"}`, UpdatedBy: "system", UpdatedAt: at},
			{Key: "exams", Definition: `{"title":"考试"}`, UpdatedBy: "system", UpdatedAt: at},
		})
		if err != nil || n != 1 {
			t.Fatalf("second seed: %d, %v", n, err)
		}
		got, err := db.DMDefinitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Key != "exams" || got[1].Key != "salary" || got[2].Key != "scores" {
			t.Fatalf("definitions %+v", got)
		}
		if s := got[2]; s.Definition != `{"title":"我的成绩"}` || s.UpdatedBy != "T00001" || !s.UpdatedAt.Equal(at.Add(time.Hour)) {
			t.Errorf("the edited definition is %+v", s)
		}
	})
}

func TestDataModuleCounselees(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dc := store.DataCenter{Students: []store.DCStudent{
			{StudentNo: "2025002", Name: "李四", CounselorNo: "T1", Status: "enrolled"},
			{StudentNo: "2025001", Name: "张三", CounselorNo: "T1", Status: "enrolled"},
			{StudentNo: "2025003", Name: "王五", CounselorNo: "T2", Status: "enrolled"},
		}}
		if err := db.LoadDataCenter(ctx, dc, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := db.DMCounselees(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != [2]string{"2025001", "张三"} || got[1] != [2]string{"2025002", "李四"} {
			t.Errorf("T1 counsels %v", got)
		}
		for _, c := range []struct {
			counselor, student string
			want               bool
		}{{"T1", "2025001", true}, {"T1", "2025003", false}, {"T2", "2025003", true}, {"", "2025001", false}, {"2025001", "2025001", false}} {
			if ok, err := db.DMCounsels(ctx, c.counselor, c.student); err != nil || ok != c.want {
				t.Errorf("DMCounsels(%q, %q) = %v, %v; want %v", c.counselor, c.student, ok, err, c.want)
			}
		}
	})
}
