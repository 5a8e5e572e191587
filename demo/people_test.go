package demo

import (
	"slices"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
)

func TestPeopleOutsideTheDataCenterAreInOurRecords(t *testing.T) {
	u := Generate(Small())
	dc := u.DataCenter()
	inDC := map[string]bool{}
	for _, f := range dc.Faculty {
		inDC[f.StaffNo] = true
	}
	for _, s := range dc.Students {
		inDC[s.StudentNo] = true
	}
	ext := map[string]store.PersonExt{}
	for _, e := range u.PeopleExt() {
		if _, dup := ext[e.UserID]; dup {
			t.Fatalf("%s has two people_ext rows", e.UserID)
		}
		ext[e.UserID] = e
		at := time.UnixMilli(e.CreatedAt)
		if e.Name == "" || e.Org == "" || at.Before(time.Date(AcademicYear(today), 9, 1, 0, 0, 0, 0, time.UTC)) || !at.Before(today) {
			t.Errorf("people_ext %+v: want a name, an org and a registration this autumn", e)
		}
	}
	kinds := map[string]int{}
	for _, p := range u.People {
		e, registered := ext[p.UserID]
		switch p.Main() {
		case CatAlumnus, CatExaminee, CatVisitor:
			if !registered || e.Kind != p.Main() || inDC[p.UserID] {
				t.Errorf("%s (%s): people_ext %+v, in the data center %v", p.UserID, p.Main(), e, inDC[p.UserID])
			}
			kinds[e.Kind]++
		default:
			if !inDC[p.UserID] {
				t.Errorf("%s (%s) is not in the data center", p.UserID, p.Main())
			}
			if registered != slices.Contains(p.Categories, CatAlumnus) {
				t.Errorf("%s (%v): people_ext row %v", p.UserID, p.Categories, registered)
			}
		}
	}
	if kinds[CatAlumnus] != 3 || kinds[CatExaminee] != 3 || kinds[CatVisitor] != 2 {
		t.Errorf("registered kinds %v, want the scale's 3 alumni, 3 examinees, 2 visitors", kinds)
	}
	if !slices.Equal(u.PeopleExt(), Generate(Small()).PeopleExt()) {
		t.Error("people_ext differs between two generations")
	}
}

func TestTeacherWithSeveralIdentitiesHasARecordForEach(t *testing.T) {
	u := Generate(Small())
	var teacher Person
	for _, p := range u.People {
		if len(p.Categories) > 2 {
			teacher = p
		}
	}
	dc := u.DataCenter()
	var faculty, student int
	for _, f := range dc.Faculty {
		if f.StaffNo == teacher.UserID {
			faculty++
		}
	}
	for _, s := range dc.Students {
		if s.StudentNo == teacher.UserID {
			student++
			// The 研究生 unit the teacher belongs to is the first college's.
			if s.Level != "doctoral" || s.CollegeCode != "1000" || s.Grade == 0 || s.Status != "enrolled" {
				t.Errorf("the teacher's student row: %+v", s)
			}
		}
	}
	alumnus := false
	for _, e := range u.PeopleExt() {
		alumnus = alumnus || (e.UserID == teacher.UserID && e.Kind == CatAlumnus)
	}
	if faculty != 1 || student != 1 || !alumnus {
		t.Errorf("%s: %d faculty rows, %d student rows, alumnus row %v; want one of each", teacher.UserID, faculty, student, alumnus)
	}
}

func TestPersonTagsExpandDepartmentsToTheirMembers(t *testing.T) {
	u := Generate(Small())
	tags := map[string][]string{}
	for _, pt := range u.PersonTags() {
		if slices.Contains(tags[pt.UserID], pt.Tag) {
			t.Fatalf("%s in %s twice", pt.UserID, pt.Tag)
		}
		tags[pt.UserID] = append(tags[pt.UserID], pt.Tag)
	}
	byID := map[string]*Person{}
	for i := range u.People {
		byID[u.People[i].UserID] = &u.People[i]
	}
	// A freshman of the first college's first class: its class tag lists
	// them; the grade and 本科生 tags reach them through departments.
	fresh := byID["202601010102"]
	for _, tag := range []string{"计算机科学与工程26级1班", "计算机科学与工程2026级学生", "本科生"} {
		if !slices.Contains(tags[fresh.UserID], tag) {
			t.Errorf("student %s lacks tag %s: %v", fresh.UserID, tag, tags[fresh.UserID])
		}
	}
	if slices.Contains(tags[fresh.UserID], TagClassMonitor) || !slices.Contains(tags["202601010101"], TagClassMonitor) {
		t.Errorf("班长 tag: %v / %v", tags[fresh.UserID], tags["202601010101"])
	}
	// Tags of departments elsewhere do not reach them.
	for _, tag := range tags[fresh.UserID] {
		if tag == "水产2026级学生" || tag == "教职工" || tag == "研究生" {
			t.Errorf("student %s wrongly in %s", fresh.UserID, tag)
		}
	}
	// The teacher who is also a doctoral student and an alumnus is in the
	// postgraduates' tags through their 研究生 department, and in 校友.
	for _, p := range u.People {
		if len(p.Categories) > 2 {
			for _, tag := range []string{"教职工", "研究生", "计算机科学与工程研究生", "校友"} {
				if !slices.Contains(tags[p.UserID], tag) {
					t.Errorf("%s lacks %s: %v", p.UserID, tag, tags[p.UserID])
				}
			}
		}
	}
	counselors, advisors := 0, 0
	for uid, ts := range tags {
		if slices.Contains(ts, "辅导员") && byID[uid].Main() == CatCounselor {
			counselors++
		}
		if slices.Contains(ts, TagClassAdvisor) && byID[uid].Position == "讲师" {
			advisors++
		}
	}
	if counselors == 0 || advisors == 0 {
		t.Errorf("%d counselors, %d class advisors tagged", counselors, advisors)
	}
}
