package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

var p0 = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func loadPeople(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	dc := store.DataCenter{
		Departments: []store.DCDepartment{{Code: "1000", Name: "计算机学院", Kind: "college", Enabled: true}},
		Faculty: []store.DCFaculty{
			{StaffNo: "T1", Name: "陈老师", DeptCode: "1000", Position: "辅导员", Category: "counselor", IsLeader: true, Status: "active"},
		},
		Students: []store.DCStudent{
			{StudentNo: "S1", Name: "刘一", CollegeCode: "1000", ClassCode: "c1", Grade: 2026, Level: "undergraduate", CounselorNo: "T1", Status: "enrolled"},
			{StudentNo: "S2", Name: "刘二", CollegeCode: "1000", Grade: 2025, Level: "undergraduate", CounselorNo: "T1", Status: "enrolled"},
			{StudentNo: "T1", Name: "陈老师", CollegeCode: "1000", Grade: 2024, Level: "doctoral", Status: "enrolled"},
		},
	}
	if err := db.LoadDataCenter(ctx, dc, p0); err != nil {
		t.Fatal(err)
	}
}

func TestPersonRowsJoinEveryRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		loadPeople(t, db)
		if err := db.LoadPeopleExt(ctx, []store.PersonExt{
			{UserID: "T1", Name: "陈老师", Kind: "alumnus", Org: "2015届 计算机学院", CreatedAt: store.Millis(p0)},
			{UserID: "A1", Name: "周校友", Kind: "alumnus", Org: "2010届"},
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.LoadPersonTags(ctx, []store.PersonTag{{UserID: "T1", Tag: "辅导员"}, {UserID: "T1", Tag: "教职工"}, {UserID: "T1", Tag: "辅导员"}, {UserID: "S1", Tag: "本科生"}}); err != nil {
			t.Fatal(err)
		}
		p, err := db.PersonRows(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if !p.Known() || p.Faculty == nil || p.Student == nil || p.Ext == nil {
			t.Fatalf("T1 = %+v, want faculty, student and people_ext rows", p)
		}
		if p.Faculty.Category != "counselor" || !p.Faculty.IsLeader || p.Faculty.Position != "辅导员" || p.Faculty.DeptCode != "1000" {
			t.Errorf("faculty = %+v", *p.Faculty)
		}
		if p.Student.Level != "doctoral" || p.Student.Grade != 2024 {
			t.Errorf("student = %+v", *p.Student)
		}
		if *p.Ext != (store.PersonExt{UserID: "T1", Name: "陈老师", Kind: "alumnus", Org: "2015届 计算机学院", CreatedAt: store.Millis(p0)}) {
			t.Errorf("ext = %+v", *p.Ext)
		}
		if diff := cmp.Diff([]string{"教职工", "辅导员"}, p.Tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		if p.Counselees != 2 {
			t.Errorf("counselees = %d, want 2", p.Counselees)
		}

		a, err := db.PersonRows(ctx, "A1")
		if err != nil || !a.Known() || a.Faculty != nil || a.Student != nil || a.Ext.CreatedAt == 0 || len(a.Tags) != 0 {
			t.Errorf("A1 = %+v, %v: want a people_ext row only, created now", a, err)
		}
		u, err := db.PersonRows(ctx, "nobody")
		if err != nil || u.Known() {
			t.Errorf("unknown = %+v, %v", u, err)
		}

		// The loaders replace everything.
		if err := db.LoadPeopleExt(ctx, []store.PersonExt{{UserID: "E1", Name: "考生", Kind: "examinee", Org: "2027 本科报考"}}); err != nil {
			t.Fatal(err)
		}
		if err := db.LoadPersonTags(ctx, []store.PersonTag{{UserID: "S1", Tag: "班长"}}); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.PersonRows(ctx, "T1"); p.Ext != nil || len(p.Tags) != 0 {
			t.Errorf("after reload T1 ext %+v tags %v; want none", p.Ext, p.Tags)
		}
		if a, _ := db.PersonRows(ctx, "A1"); a.Known() {
			t.Errorf("A1 survived a replace-all load")
		}
		if s, _ := db.PersonRows(ctx, "S1"); !slices.Equal(s.Tags, []string{"班长"}) {
			t.Errorf("S1 tags = %v", s.Tags)
		}
	})
}

func TestLoadersBatchLargeLoads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ext []store.PersonExt
		var tags []store.PersonTag
		for i := range 1000 {
			id := "A" + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
			ext = append(ext, store.PersonExt{UserID: id, Name: "校友", Kind: "alumnus"})
			tags = append(tags, store.PersonTag{UserID: id, Tag: "校友"}, store.PersonTag{UserID: id, Tag: "访客"})
		}
		if err := db.LoadPeopleExt(ctx, ext); err != nil {
			t.Fatal(err)
		}
		if err := db.LoadPersonTags(ctx, tags); err != nil {
			t.Fatal(err)
		}
		var n, m int
		if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM people_ext`); err != nil || n != 1000 {
			t.Errorf("people_ext = %d, %v", n, err)
		}
		if err := db.GetContext(ctx, &m, `SELECT COUNT(*) FROM person_tags`); err != nil || m != 2000 {
			t.Errorf("person_tags = %d, %v", m, err)
		}
	})
}

func TestPersonPrefsFavouritesRecent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		loadPeople(t, db)
		if err := db.SetPersonIdentity(ctx, "T1", "counselor", p0); err != nil {
			t.Fatal(err)
		}
		if err := db.SetNoticesRead(ctx, "T1", p0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.SetPersonIdentity(ctx, "T1", "staff", p0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		p, err := db.PersonRows(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.PersonPrefs{Identity: "staff", NoticesReadAt: store.Millis(p0.Add(time.Hour))}); p.Prefs != want {
			t.Errorf("prefs = %+v, want %+v (each setter keeps the other column)", p.Prefs, want)
		}

		for i, m := range []string{"oa", "mail", "oa", "library"} {
			if err := db.SetFavourite(ctx, "T1", m, true, p0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SetFavourite(ctx, "T1", "mail", false, p0); err != nil {
			t.Fatal(err)
		}
		if err := db.SetFavourite(ctx, "S1", "vpn", true, p0); err != nil {
			t.Fatal(err)
		}
		for i, m := range []string{"a", "b", "c", "d", "b", "e"} {
			if err := db.TouchRecent(ctx, "T1", m, p0.Add(time.Duration(i)*time.Minute), 4); err != nil {
				t.Fatal(err)
			}
		}
		favs, recent, err := db.PersonActivity(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"oa", "library"}, favs); diff != "" {
			t.Errorf("favourites (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"e", "b", "d", "c"}, recent); diff != "" {
			t.Errorf("recent, newest first, 4 kept (-want +got):\n%s", diff)
		}
		var n int
		if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM person_recent WHERE userid = 'T1'`); err != nil || n != 4 {
			t.Errorf("person_recent keeps %d rows, %v; want 4", n, err)
		}
	})
}
