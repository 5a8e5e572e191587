package datacenter

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/store"
)

const (
	deptHead = "code,name,parent_code,kind,sort_order,enabled\n"
	facHead  = "staff_no,name,dept_code,gender,mobile,email,position,category,is_leader,status\n"
	stuHead  = "student_no,name,college_code,class_code,major,grade,level,gender,mobile,email,counselor_no,status\n"
	// depts is a small tree the faculty and student cases refer to.
	depts = deptHead + "10,水产学院,,college,1,1\n1001,水产2024级1班,10,class,1,1\n20,教务处,,office,2,1\n"
)

func f(name, data string) File { return File{Name: name, Data: []byte(data)} }

// TestProblems checks every check with its exact message, on files alone
// (references resolve within the files, as a full export).
func TestProblems(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		table Table
		want  []string
	}{
		{"a good set has no problems", []File{
			f("d.csv", depts),
			f("f.csv", facHead+"T001,张三,20,1,13800138000,zhangsan@demo.edu.cn,科长,staff,1,active\nT002,李四,10,,,,,counselor,,\n"),
			f("s.csv", stuHead+"2024001,王五,10,1001,水产养殖学,2024,undergraduate,2,+852 6123 4567,ww@stu.demo.edu.cn,T002,enrolled\n"),
		}, "", nil},
		{"header names no key column", []File{f("x.csv", "name,kind\na,b\n")}, "",
			[]string{"x.csv:1: the header names none of code, staff_no, student_no, so its table is unknown: name it with --table"}},
		{"unknown, missing, doubled and loader-set header columns", []File{f("f.csv", "STAFF_NO,name,phone,name,updated_at,category\n")}, "",
			[]string{
				`f.csv:1: column "phone" is not a column of dc_faculty (its columns: staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status)`,
				`f.csv:1: column "name" appears twice`,
				`f.csv:1: column "updated_at" is set by the loader: remove it`,
				`f.csv:1: required column "dept_code" is missing`,
			}},
		{"--table checks the header against that table", []File{f("d.csv", deptHead)}, Faculty,
			[]string{
				`d.csv:1: column "code" is not a column of dc_faculty (its columns: staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status)`,
				`d.csv:1: column "parent_code" is not a column of dc_faculty (its columns: staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status)`,
				`d.csv:1: column "kind" is not a column of dc_faculty (its columns: staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status)`,
				`d.csv:1: column "sort_order" is not a column of dc_faculty (its columns: staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status)`,
				`d.csv:1: column "enabled" is not a column of dc_faculty (its columns: staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status)`,
				`d.csv:1: required column "staff_no" is missing`,
				`d.csv:1: required column "dept_code" is missing`,
				`d.csv:1: required column "category" is missing`,
			}},
		{"empty file", []File{f("e.csv", "")}, "", []string{"e.csv: is empty: it needs a header row naming its columns"}},
		{"empty required fields, each named", []File{f("d.csv", deptHead+" ,  ,,,,\n")}, "",
			[]string{"d.csv:2: code: empty, but required", "d.csv:2: name: empty, but required", "d.csv:2: kind: empty, but required"}},
		{"field count", []File{f("d.csv", deptHead+"10,水产学院,,college\n")}, "",
			[]string{"d.csv:2: 4 fields, but the header has 6"}},
		{"bad integers and flags", []File{f("d.csv", deptHead+"10,水产学院,,college,first,yes\n11,海洋学院,,college,-1,1\n")}, "",
			[]string{`d.csv:2: sort_order: "first" is not a whole number`, `d.csv:2: enabled: "yes" is not one of 0, 1`, "d.csv:3: sort_order: -1 is outside 0..2147483647"}},
		{"codes and words", []File{f("d.csv", deptHead+"A 1,水产学院,,College,1,1\n")}, "",
			[]string{`d.csv:2: code: "A 1": only letters, digits and _ - @ . are allowed, starting with a letter or digit`, `d.csv:2: kind: "College": lower-case letters, digits and _ only, starting with a letter`}},
		{"too long, control characters", []File{f("d.csv", deptHead+"10,"+strings.Repeat("海", 65)+",,college,1,1\n11,\"海洋\n学院\",,college,1,1\n")}, "",
			[]string{"d.csv:2: name: 65 characters, more than the 64 the column holds", `d.csv:3: name: "海洋\n学院" holds a control character (a line break or a tab)`}},
		{"grade, level, status, gender", []File{f("d.csv", depts), f("s.csv", stuHead+
			"2024001,王五,10,,,1949,bachelor,3,,,,studying\n2024002,赵六,10,,,2101,master,,,,,\n2024003,钱七,10,,,24x,doctoral,,,,,\n")}, "",
			[]string{
				"s.csv:2: grade: 1949 is outside 1950..2100",
				`s.csv:2: level: "bachelor" is not one of undergraduate, master, doctoral`,
				`s.csv:2: gender: "3" is not one of 0, 1, 2`,
				`s.csv:2: status: "studying" is not one of enrolled, graduated, suspended, withdrawn`,
				"s.csv:3: grade: 2101 is outside 1950..2100",
				`s.csv:4: grade: "24x" is not a whole number`,
			}},
		{"faculty status", []File{f("d.csv", depts), f("f.csv", facHead+"T001,张三,20,,,,,staff,,on_leave\n")}, "",
			[]string{`f.csv:2: status: "on_leave" is not one of active, left, retired`}},
		{"mobile numbers and emails", []File{f("d.csv", depts), f("f.csv", facHead+
			"T001,张三,20,,1380013,zhangsan@demo,,staff,,\n"+
			"T002,李四,20,,12345678901,<ls@demo.edu.cn>,,staff,,\n"+
			"T003,王五,20,,010-62751234,王五 <ww@demo.edu.cn>,,staff,,\n"+
			"T004,赵六,20,,phone,zl@@demo.edu.cn,,staff,,\n"+
			"T005,钱七,20,,+86 138 0013 8000,qq.demo@demo.edu.cn,,staff,,\n")}, "",
			[]string{
				`f.csv:2: mobile: "1380013" is not a valid phone number`,
				`f.csv:2: email: "zhangsan@demo" is not an email address`,
				`f.csv:3: mobile: "12345678901" is not a valid phone number`,
				`f.csv:3: email: "<ls@demo.edu.cn>" is not an email address`,
				`f.csv:4: mobile: "010-62751234" is not a mobile number (a landline?)`,
				`f.csv:4: email: "王五 <ww@demo.edu.cn>" is not an email address`,
				`f.csv:5: mobile: "phone" is not a phone number`,
				`f.csv:5: email: "zl@@demo.edu.cn" is not an email address`,
			}},
		{"duplicate keys, within a file, across files and in another case", []File{
			f("d.csv", depts+"10,又一个,,college,1,1\n"),
			f("f1.csv", facHead+"T001,张三,20,,,,,staff,,\n"),
			f("f2.csv", facHead+"t001,张三,20,,,,,staff,,\nT002,李四,20,,,,,staff,,\nT002,李四,20,,,,,staff,,\n"),
		}, "",
			[]string{
				`d.csv:5: code: "10" appears again (first on line 2)`,
				`f2.csv:2: staff_no: "t001" appears again (first on f1.csv:2 as "T001"; keys are compared without letter case)`,
				`f2.csv:4: staff_no: "T002" appears again (first on line 3)`,
			}},
		{"references that do not resolve", []File{
			f("d.csv", depts+"30,无根,99,office,1,1\n"),
			f("f.csv", facHead+"T001,张三,21,,,,,staff,,\n"),
			f("s.csv", stuHead+"2024001,王五,11,1002,,2024,undergraduate,,,,T009,\n"),
		}, "",
			[]string{
				`d.csv:5: parent_code: no department "99" in the files`,
				`f.csv:2: dept_code: no department "21" in the files`,
				`s.csv:2: college_code: no department "11" in the files`,
				`s.csv:2: class_code: no department "1002" in the files`,
				`s.csv:2: counselor_no: no faculty member or student "T009" in the files`,
			}},
		{"departments that are their own ancestors", []File{f("d.csv", deptHead+"10,甲,12,college,1,1\n11,乙,10,college,1,1\n12,丙,11,college,1,1\n13,丁,13,college,1,1\n14,戊,10,class,1,1\n")}, "",
			[]string{
				`d.csv:2: parent_code: department "10" is its own ancestor (10 → 12 → 11 → 10)`,
				`d.csv:3: parent_code: department "11" is its own ancestor (11 → 10 → 12 → 11)`,
				`d.csv:4: parent_code: department "12" is its own ancestor (12 → 11 → 10 → 12)`,
				`d.csv:5: parent_code: department "13" is its own ancestor (13 → 13)`,
			}},
		{"csv syntax, with the line it is on", []File{f("d.csv", deptHead+"10,\"水产\"学院,,college,1,1\n11,海洋学院,,college,1,1\n")}, "",
			[]string{`d.csv:2: extraneous or missing " in quoted-field (character 7): quote a field that holds a comma, a quote or a line break, and double its quotes (RFC 4180)`}},
		{"GBK is refused with the way to convert it", []File{f("gbk.csv", deptHead+"10,\xcb\xae\xb2\xfa,,college,1,1\n")}, "",
			[]string{"gbk.csv:2: not UTF-8 (byte 0xB2): a GBK or GB18030 export is not accepted; convert it first, e.g. iconv -f GB18030 -t UTF-8 gbk.csv > utf8.csv"}},
		{"UTF-16 is refused", []File{f("u16.csv", "\xff\xfec\x00o\x00")}, "",
			[]string{`u16.csv: is UTF-16 (Excel's "Unicode text"); save it as "CSV UTF-8" instead`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, ps := Parse(tt.files, tt.table)
			ps = append(ps, set.CheckAlone()...)
			ps.sort()
			if got := lines(ps); !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestBOMAndCRLF: Excel's "CSV UTF-8" starts with a BOM and ends lines
// with CRLF; both read as plain UTF-8, and fields are trimmed.
func TestBOMAndCRLF(t *testing.T) {
	data := "\xef\xbb\xbfCode, Name ,parent_code,kind,sort_order,enabled\r\n10 ,\"水产学院, 海洋\",,college,1,1\r\n1001,\"班\"\"一\"\"\",10,class,,0\r\n"
	set, ps := Parse([]File{f("d.csv", data)}, "")
	if len(ps) > 0 {
		t.Fatal(lines(ps))
	}
	want := []store.DCDepartment{
		{Code: "10", Name: "水产学院, 海洋", Kind: "college", SortOrder: 1, Enabled: true},
		{Code: "1001", Name: `班"一"`, ParentCode: "10", Kind: "class"},
	}
	if !slices.Equal(set.Rows.Departments, want) {
		t.Fatalf("rows %+v, want %+v", set.Rows.Departments, want)
	}
	if fi := set.Files[0]; fi.Table != Departments || fi.Rows != 2 {
		t.Fatalf("file info %+v", fi)
	}
}

// TestDefaults: optional columns may be left out of the header or empty.
func TestDefaults(t *testing.T) {
	set, ps := Parse([]File{
		f("d.csv", "code,name,kind\n10,水产学院,college\n"),
		f("f.csv", "staff_no,name,dept_code,category\nT001,张三,10,staff\n"),
		f("s.csv", "student_no,name,college_code,grade,level,status\n2024001,王五,10,2024,master,\n"),
	}, "")
	if len(ps) > 0 {
		t.Fatal(lines(ps))
	}
	if d := set.Rows.Departments[0]; !d.Enabled || d.ParentCode != "" || d.SortOrder != 0 {
		t.Errorf("department defaults: %+v", d)
	}
	if p := set.Rows.Faculty[0]; p.Status != "active" || p.IsLeader || p.Gender != 0 {
		t.Errorf("faculty defaults: %+v", p)
	}
	if s := set.Rows.Students[0]; s.Status != "enrolled" || s.ClassCode != "" {
		t.Errorf("student defaults: %+v", s)
	}
}

// TestProblemCap: every problem is kept, the listing stops at 100.
func TestProblemCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(deptHead)
	for i := range 150 {
		fmt.Fprintf(&b, "%d,部门,,college,x,1\n", i+1)
	}
	_, ps := Parse([]File{f("d.csv", b.String())}, "")
	if len(ps) != 150 {
		t.Fatalf("%d problems, want 150", len(ps))
	}
	l := ps.Lines(0)
	if len(l) != 101 || l[0] != `d.csv:2: sort_order: "x" is not a whole number` || l[99] != `d.csv:101: sort_order: "x" is not a whole number` || l[100] != "… and 50 more problems" {
		t.Fatalf("lines: %d, first %q, last two %q", len(l), l[0], l[99:])
	}
	if ps.Error() != "150 problems in the files, nothing was loaded" {
		t.Fatal(ps.Error())
	}
}

// TestWriteParse: WriteCSV's files parse back to the same rows.
func TestWriteParse(t *testing.T) {
	dc := demoRows()
	set, ps := Parse(csvFiles(t, dc), "")
	ps = append(ps, set.CheckAlone()...)
	if len(ps) > 0 {
		t.Fatal(strings.Join(ps.Lines(20), "\n"))
	}
	if !slices.Equal(set.Rows.Departments, dc.Departments) || !slices.Equal(set.Rows.Faculty, dc.Faculty) || !slices.Equal(set.Rows.Students, dc.Students) {
		t.Fatal("rows differ from the distribution written")
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, Table("nope"), dc); err == nil {
		t.Fatal("an unknown table was written")
	}
}

func TestParseTable(t *testing.T) {
	for in, want := range map[string]Table{"departments": Departments, "DC_FACULTY": Faculty, " students": Students} {
		if got, err := ParseTable(in); err != nil || got != want {
			t.Errorf("ParseTable(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseTable("teachers"); err == nil || err.Error() != `"teachers" is not a table (want departments, faculty or students)` {
		t.Errorf("ParseTable(teachers): %v", err)
	}
}

// TestExamples: the example files (testdata/, the format of
// docs/datacenter.md; departments.csv as Excel's "CSV UTF-8" writes it,
// BOM and CRLF) have no problems.
func TestExamples(t *testing.T) {
	var files []File
	for _, n := range []string{"departments.csv", "faculty.csv", "students.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: n, Data: b})
	}
	set, ps := Parse(files, "")
	ps = append(ps, set.CheckAlone()...)
	if len(ps) > 0 {
		t.Fatal(lines(ps))
	}
	if got := []int{len(set.Rows.Departments), len(set.Rows.Faculty), len(set.Rows.Students)}; !slices.Equal(got, []int{3, 2, 1}) {
		t.Fatalf("rows %v", got)
	}
	if d := set.Rows.Departments[2]; d.Name != "教务处（招生办公室, 合署）" || d.SortOrder != 90 {
		t.Fatalf("quoted row %+v", d)
	}
}
