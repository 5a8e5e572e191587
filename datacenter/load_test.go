package datacenter

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

var (
	t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	t1 = t0.Add(24 * time.Hour)
)

func read(t *testing.T, db *store.DB) store.DataCenter {
	t.Helper()
	dc, err := db.ReadDataCenter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

func sameRows(t *testing.T, got, want store.DataCenter) {
	t.Helper()
	if !slices.Equal(got.Departments, want.Departments) {
		t.Errorf("departments differ: %d rows, want %d", len(got.Departments), len(want.Departments))
	}
	if !slices.Equal(got.Faculty, want.Faculty) {
		t.Errorf("faculty differ: %d rows, want %d", len(got.Faculty), len(want.Faculty))
	}
	if !slices.Equal(got.Students, want.Students) {
		t.Errorf("students differ: %d rows, want %d", len(got.Students), len(want.Students))
	}
}

func counts(s Summary) map[Table]store.DataCenterTableChanges {
	m := map[Table]store.DataCenterTableChanges{}
	for _, t := range s.Tables {
		m[t.Table] = t.DataCenterTableChanges
	}
	return m
}

// TestLoadRoundTrip: the demo university exported to CSV loads into
// exactly its rows; loading it again changes nothing, not even updated_at.
func TestLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dc := demoRows()
		sum, err := Load(ctx, db, csvFiles(t, dc), Options{}, t0)
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, read(t, db), sorted(dc, store.Millis(t0)))
		want := map[Table]store.DataCenterTableChanges{
			Departments: {Inserted: len(dc.Departments)},
			Faculty:     {Inserted: len(dc.Faculty)},
			Students:    {Inserted: len(dc.Students)},
		}
		if got := counts(sum); !reflect.DeepEqual(got, want) {
			t.Fatalf("first load: %+v, want %+v", got, want)
		}

		sum, err = Load(ctx, db, csvFiles(t, dc), Options{Replace: true}, t1)
		if err != nil {
			t.Fatal(err)
		}
		sameRows(t, read(t, db), sorted(dc, store.Millis(t0)))
		want = map[Table]store.DataCenterTableChanges{
			Departments: {Before: len(dc.Departments), Unchanged: len(dc.Departments)},
			Faculty:     {Before: len(dc.Faculty), Unchanged: len(dc.Faculty)},
			Students:    {Before: len(dc.Students), Unchanged: len(dc.Students)},
		}
		if got := counts(sum); !reflect.DeepEqual(got, want) {
			t.Fatalf("second load: %+v, want %+v", got, want)
		}
	})
}

// TestLoadUpsert: rows the files change are updated (and only they get a
// new updated_at), new ones inserted, rows not in the files left alone.
func TestLoadUpsert(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dc := demoRows()
		if _, err := Load(ctx, db, csvFiles(t, dc), Options{}, t0); err != nil {
			t.Fatal(err)
		}
		// Tonight's faculty file: one renamed, one new, one missing.
		fac := slices.Clone(dc.Faculty)
		fac[0].Name = "改名"
		missing := fac[1].StaffNo
		fac = slices.Delete(fac, 1, 2)
		fac = append(fac, store.DCFaculty{StaffNo: "NEW001", Name: "新人", DeptCode: dc.Departments[0].Code, Category: "staff", Status: "active"})
		files := csvFiles(t, store.DataCenter{Faculty: fac})[1:2]
		sum, err := Load(ctx, db, files, Options{}, t1)
		if err != nil {
			t.Fatal(err)
		}
		want := map[Table]store.DataCenterTableChanges{Faculty: {Before: len(dc.Faculty), Inserted: 1, Updated: 1, Unchanged: len(dc.Faculty) - 2}}
		if got := counts(sum); !reflect.DeepEqual(got, want) {
			t.Fatalf("load: %+v, want %+v", got, want)
		}
		got := read(t, db)
		if len(got.Faculty) != len(dc.Faculty)+1 || len(got.Students) != len(dc.Students) {
			t.Fatalf("%d faculty, %d students after an upsert", len(got.Faculty), len(got.Students))
		}
		for _, f := range got.Faculty {
			switch {
			case f.StaffNo == dc.Faculty[0].StaffNo && (f.Name != "改名" || f.UpdatedAt != store.Millis(t1)),
				f.StaffNo == "NEW001" && f.UpdatedAt != store.Millis(t1),
				f.StaffNo == missing && f.UpdatedAt != store.Millis(t0):
				t.Errorf("row %+v", f)
			case f.StaffNo != dc.Faculty[0].StaffNo && f.StaffNo != "NEW001" && f.UpdatedAt != store.Millis(t0):
				t.Errorf("unchanged row rewritten: %+v", f)
			}
		}
	})
}

// TestLoadOneBadRowWritesNothing: one bad row among hundreds, in the last
// file, and not one row of any file is written, into empty tables or over
// last night's.
func TestLoadOneBadRowWritesNothing(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dc := demoRows()
		bad := demoRows()
		bad.Students[len(bad.Students)/2].Grade = 1900
		line := len(bad.Students)/2 + 2
		_, err := Load(ctx, db, csvFiles(t, bad), Options{}, t0)
		var ps Problems
		if !errors.As(err, &ps) || len(ps) != 1 {
			t.Fatalf("err = %v, want one problem", err)
		}
		if want := "students.csv:" + strconv.Itoa(line) + ": grade: 1900 is outside 1950..2100"; ps[0].String() != want {
			t.Fatalf("problem %q, want %q", ps[0], want)
		}
		if c, _ := db.CountDataCenter(ctx); c != (store.DataCenterCounts{}) {
			t.Fatalf("a failed load wrote %+v", c)
		}

		if _, err := Load(ctx, db, csvFiles(t, dc), Options{}, t0); err != nil {
			t.Fatal(err)
		}
		for i := range bad.Departments {
			bad.Departments[i].Name += "（新）"
		}
		if _, err := Load(ctx, db, csvFiles(t, bad), Options{Replace: true, Yes: true}, t1); !errors.As(err, &ps) {
			t.Fatalf("err = %v, want problems", err)
		}
		sameRows(t, read(t, db), sorted(dc, store.Millis(t0)))
	})
}

// TestReplaceGuard: --replace deletes what the files no longer have, but
// more than 5% of a table only with --yes, and the counts are given.
func TestReplaceGuard(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dc := demoRows()
		if _, err := Load(ctx, db, csvFiles(t, dc), Options{}, t0); err != nil {
			t.Fatal(err)
		}
		n := len(dc.Students)
		// Half the students missing: a broken export.
		half := store.DataCenter{Students: dc.Students[:n/2]}
		files := csvFiles(t, half)[2:]
		_, err := Load(ctx, db, files, Options{Replace: true}, t1)
		var g *GuardError
		if !errors.As(err, &g) {
			t.Fatalf("err = %v, want the guard", err)
		}
		wantLine := "dc_students: --replace would delete " + strconv.Itoa(n-n/2) + " of its " + strconv.Itoa(n) + " rows (" + pct(n-n/2, n) + "%, more than 5%); check the export is complete, then give --yes"
		if l := g.Lines(); len(l) != 1 || l[0] != wantLine {
			t.Fatalf("guard lines %q, want %q", l, wantLine)
		}
		if c, _ := db.CountDataCenter(ctx); c.Students != n {
			t.Fatalf("the guard let %d students be deleted", n-c.Students)
		}
		// A dry run says what would happen and writes nothing.
		sum, err := Load(ctx, db, files, Options{Replace: true, Yes: true, DryRun: true}, t1)
		if err != nil || counts(sum)[Students].Deleted != n-n/2 {
			t.Fatalf("dry run: %+v, %v", sum, err)
		}
		if c, _ := db.CountDataCenter(ctx); c.Students != n {
			t.Fatal("a dry run deleted students")
		}
		// A night's few leavers pass without --yes (under 5%).
		few := store.DataCenter{Students: dc.Students[:n-n/25]}
		if n/25 == 0 || n/25*100 > n*5 {
			t.Fatalf("fixture: %d of %d is not a few", n/25, n)
		}
		sum, err = Load(ctx, db, csvFiles(t, few)[2:], Options{Replace: true}, t1)
		if err != nil || counts(sum)[Students].Deleted != n/25 {
			t.Fatalf("few leavers: %+v, %v", sum, err)
		}
		// With --yes the half export is taken.
		sum, err = Load(ctx, db, files, Options{Replace: true, Yes: true}, t1)
		if err != nil {
			t.Fatal(err)
		}
		if got := counts(sum)[Students]; got != (store.DataCenterTableChanges{Before: n - n/25, Unchanged: n / 2, Deleted: n - n/25 - n/2}) {
			t.Fatalf("--yes: %+v", got)
		}
		got := read(t, db)
		sameRows(t, store.DataCenter{Departments: got.Departments, Faculty: got.Faculty, Students: got.Students},
			store.DataCenter{Departments: sorted(dc, store.Millis(t0)).Departments, Faculty: sorted(dc, store.Millis(t0)).Faculty, Students: sorted(half, store.Millis(t0)).Students})
	})
}

// TestReplaceReferences: with --replace a table holds only its files'
// rows, so references into it must resolve there, and rows of tables the
// load leaves alone may not lose what they refer to.
func TestReplaceReferences(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dc := demoRows()
		if _, err := Load(ctx, db, csvFiles(t, dc), Options{}, t0); err != nil {
			t.Fatal(err)
		}
		// Departments without the one the first faculty member is in.
		gone := dc.Faculty[0].DeptCode
		var keep []store.DCDepartment
		for _, d := range dc.Departments {
			if d.Code != gone {
				keep = append(keep, d)
			}
		}
		files := csvFiles(t, store.DataCenter{Departments: keep})[:1]
		_, err := Load(ctx, db, files, Options{Replace: true, Yes: true}, t1)
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("err = %v, want problems", err)
		}
		want := "dc_faculty: staff_no " + dc.Faculty[0].StaffNo + ": dept_code: department \"" + gone + "\" is not in the files, and --replace deletes it: load this table too, or drop --replace"
		if !slices.Contains(lines(ps), want) {
			t.Fatalf("problems:\n%s\nwant among them %q", strings.Join(lines(ps), "\n"), want)
		}
		// Without --replace the department stays, and a new faculty file may
		// refer to it though it is not among the files.
		fac := csvFiles(t, store.DataCenter{Faculty: dc.Faculty[:1]})[1:2]
		if _, err := Load(ctx, db, fac, Options{}, t1); err != nil {
			t.Fatal(err)
		}
		// A reference to a department in neither names the table it looked in.
		bad := slices.Clone(dc.Faculty[:1])
		bad[0].DeptCode = "nowhere"
		_, err = Load(ctx, db, csvFiles(t, store.DataCenter{Faculty: bad})[1:2], Options{}, t1)
		if !errors.As(err, &ps) || len(ps) != 1 || ps[0].String() != `faculty.csv:2: dept_code: no department "nowhere" in dc_departments` {
			t.Fatalf("err = %v (%q)", err, lines(ps))
		}
		sameRows(t, read(t, db), sorted(dc, store.Millis(t0)))
	})
}

// TestKeyCase: a key that comes back in another letter case replaces its
// row on both engines instead of adding a second one.
func TestKeyCase(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := "code,name,kind\nA10,水产学院,college\n"
		if _, err := Load(ctx, db, []File{f("d.csv", d)}, Options{}, t0); err != nil {
			t.Fatal(err)
		}
		sum, err := Load(ctx, db, []File{f("d.csv", strings.Replace(d, "A10", "a10", 1))}, Options{}, t1)
		if err != nil {
			t.Fatal(err)
		}
		if got := counts(sum)[Departments]; got != (store.DataCenterTableChanges{Before: 1, Updated: 1}) {
			t.Fatalf("changes %+v", got)
		}
		got := read(t, db).Departments
		if len(got) != 1 || got[0].Code != "a10" || got[0].UpdatedAt != store.Millis(t1) {
			t.Fatalf("rows %+v", got)
		}
	})
}
