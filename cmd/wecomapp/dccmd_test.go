package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/datacenter"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store"
)

// dcCLI is a configuration of its own (SQLite in a temp directory) and the
// demo university's three CSV exports beside it.
type dcCLI struct {
	dir, cfgPath string
	dc           store.DataCenter
}

func newDCCLI(t *testing.T) *dcCLI {
	t.Helper()
	dir := t.TempDir()
	c := &dcCLI{dir: dir, cfgPath: filepath.Join(dir, "config.yaml"), dc: demo.Generate(demo.Small()).DataCenter()}
	cfg := "database:\n  dsn: \"file:" + filepath.Join(dir, "test.db") + "\"\nlog:\n  level: warn\n  format: json\n"
	if err := os.WriteFile(c.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.write(t, c.dc)
	return c
}

// write exports dc as departments.csv, faculty.csv and students.csv.
func (c *dcCLI) write(t *testing.T, dc store.DataCenter) {
	t.Helper()
	for _, tb := range datacenter.AllTables() {
		var b bytes.Buffer
		if err := datacenter.WriteCSV(&b, tb, dc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.path(string(tb)+".csv"), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *dcCLI) path(name string) string { return filepath.Join(c.dir, name) }

func (c *dcCLI) all() []string {
	return []string{c.path("departments.csv"), c.path("faculty.csv"), c.path("students.csv")}
}

func (c *dcCLI) run(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = cmdDC(context.Background(), &env{stdout: &o, stderr: &e, configPath: c.cfgPath}, args)
	return o.String(), e.String(), err
}

func (c *dcCLI) counts(t *testing.T) store.DataCenterCounts {
	t.Helper()
	cfg, err := config.Load(c.cfgPath, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := db.CountDataCenter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDCUsage(t *testing.T) {
	c := newDCCLI(t)
	for _, args := range [][]string{{"--help"}, {"load", "--help"}, {"check", "-h"}} {
		_, errOut, err := c.run(args...)
		if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 {
			t.Errorf("%v: err = %v", args, err)
		}
		if !strings.Contains(errOut, "usage: wecomapp dc") {
			t.Errorf("%v: no usage:\n%s", args, errOut)
		}
	}
	for args, want := range map[string]string{
		"":                            `dc: want load or check, got ""`,
		"import x.csv":                `dc: want load or check, got "import"`,
		"load":                        "dc load: no files given",
		"load --table teachers a.csv": `dc load: --table: "teachers" is not a table (want departments, faculty or students)`,
	} {
		_, _, err := c.run(strings.Fields(args)...)
		if err == nil || err.Error() != want || exitCode(err) != 2 {
			t.Errorf("dc %s: err = %v (exit %d), want %q (exit 2)", args, err, exitCode(err), want)
		}
	}
}

// TestDCLoad: the demo's export loads, says what it did per table, and a
// second load changes nothing.
func TestDCLoad(t *testing.T) {
	c := newDCCLI(t)
	// Flags may come after the files.
	out, errOut, err := c.run(append([]string{"load"}, append(c.all(), "--replace")...)...)
	if err != nil {
		t.Fatalf("err = %v\n%s", err, errOut)
	}
	for _, w := range []string{
		"loaded 3 files in one transaction:",
		c.path("students.csv") + ": dc_students, 141 rows",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if got := tableRow(out, "TABLE"); got != "BEFORE INSERTED UPDATED UNCHANGED DELETED AFTER" {
		t.Errorf("header %q:\n%s", got, out)
	}
	if got := tableRow(out, "dc_departments"); got != "0 47 0 0 0 47" {
		t.Errorf("departments %q:\n%s", got, out)
	}
	if !strings.Contains(errOut, `"msg":"dc load"`) || !strings.Contains(errOut, `"os_user"`) {
		t.Errorf("no audit line on stderr:\n%s", errOut)
	}
	if n := c.counts(t); n != (store.DataCenterCounts{Departments: 47, Faculty: 72, Students: 141}) {
		t.Fatalf("tables hold %+v", n)
	}
	out, _, err = c.run(append([]string{"load"}, c.all()...)...)
	if got := tableRow(out, "dc_students"); err != nil || got != "141 0 0 141 0 141" {
		t.Fatalf("second load: %v\n%s", err, out)
	}
}

// TestDCLoadProblems: a bad file is refused with each problem on a line of
// its own, file:line first, exit status 1, and nothing of the good files
// is written.
func TestDCLoadProblems(t *testing.T) {
	c := newDCCLI(t)
	bad := c.path("bad-faculty.csv")
	d := c.dc.Departments[0].Code
	data := "staff_no,name,dept_code,gender,mobile,category\n" +
		"T001,张三," + d + ",1,13800138000,staff\n" +
		"T002,," + d + ",5,1380013,staff\n" +
		"T001,张三," + d + ",1,,staff\n"
	if err := os.WriteFile(bad, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := c.run("load", c.path("departments.csv"), bad)
	if err == nil || exitCode(err) != 1 || err.Error() != "dc load: 4 problems in the files, nothing was loaded" {
		t.Fatalf("err = %v (exit %d)", err, exitCode(err))
	}
	want := bad + ":3: name: empty, but required\n" +
		bad + `:3: gender: "5" is not one of 0, 1, 2` + "\n" +
		bad + `:3: mobile: "1380013" is not a valid phone number` + "\n" +
		bad + `:4: staff_no: "T001" appears again (first on line 2)` + "\n"
	if errOut != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
	if n := c.counts(t); n != (store.DataCenterCounts{}) {
		t.Fatalf("a refused load wrote %+v", n)
	}
}

// TestDCGuard: --replace with half the students missing is stopped with
// the counts, exit 1, until --yes.
func TestDCGuard(t *testing.T) {
	c := newDCCLI(t)
	if _, errOut, err := c.run(append([]string{"load"}, c.all()...)...); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	half := c.dc
	half.Students = half.Students[:70]
	c.write(t, half)
	_, errOut, err := c.run("load", "--replace", c.path("students.csv"))
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "stopped by the deletion guard") {
		t.Fatalf("err = %v", err)
	}
	if want := "dc_students: --replace would delete 71 of its 141 rows (50.4%, more than 5%); check the export is complete, then give --yes\n"; errOut != want {
		t.Fatalf("stderr %q, want %q", errOut, want)
	}
	if n := c.counts(t); n.Students != 141 {
		t.Fatalf("%d students after the guard", n.Students)
	}
	// check says the same and writes nothing either.
	out, _, err := c.run("check", "--replace", c.path("students.csv"))
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("check: err = %v\n%s", err, out)
	}
	out, _, err = c.run("load", "--replace", "--yes", c.path("students.csv"))
	if got := tableRow(out, "dc_students"); err != nil || got != "141 0 0 70 71 70" {
		t.Fatalf("--yes: %v\n%s", err, out)
	}
}

// TestDCCheck: check counts what a load would do without writing; with
// --files-only it needs no database.
func TestDCCheck(t *testing.T) {
	c := newDCCLI(t)
	_, _, err := c.run(append([]string{"check"}, c.all()...)...)
	if err == nil || !strings.Contains(err.Error(), "the database is not migrated (0001_datacenter.sql is pending)") {
		t.Fatalf("check before migrating: %v", err)
	}
	c.counts(t) // migrates
	out, errOut, err := c.run(append([]string{"check"}, c.all()...)...)
	if err != nil || !strings.Contains(out, "checked 3 files: no problems; loading them would do:") ||
		tableRow(out, "dc_faculty") != "0 72 0 0 0 72" {
		t.Fatalf("check: %v\n%s%s", err, out, errOut)
	}
	if n := c.counts(t); n != (store.DataCenterCounts{}) {
		t.Fatalf("check wrote %+v", n)
	}
	// The students alone: their colleges and classes are not among the
	// files, so with the database they are looked up there (and missing).
	_, errOut, err = c.run("check", c.path("students.csv"))
	if err == nil || exitCode(err) != 1 || !strings.Contains(errOut, c.path("students.csv")+":2: college_code: no department ") {
		t.Fatalf("students alone: %v\n%s", err, errOut)
	}
	out, errOut, err = (&dcCLI{dir: c.dir, cfgPath: filepath.Join(c.dir, "missing.yaml")}).run(append([]string{"check", "--files-only"}, c.all()...)...)
	if err != nil || !strings.Contains(out, "checked 3 files: no problems (the files alone") {
		t.Fatalf("--files-only: %v\n%s%s", err, out, errOut)
	}
}

// tableRow is the fields after name on the summary line that starts with
// it, space-separated.
func tableRow(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return strings.Join(f[1:], " ")
		}
	}
	return ""
}
