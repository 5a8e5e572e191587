package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/datacenter"
)

const dcUsage = `usage: wecomapp dc <action> [flags] FILE…

Load the data center's CSV exports into the intermediate tables
(dc_departments, dc_faculty, dc_students): every file is checked, every
problem listed with its file and line, and only files without one are
written, all in one transaction. The format is in docs/datacenter.md.

actions:
  load   [--replace] [--yes] [--table departments|faculty|students] FILE…
         check the files, then write them (rows not in the files are left
         alone; with --replace they are deleted, more than 5% of a table
         only with --yes)
  check  [--replace] [--table T] [--files-only] FILE…
         check the files and count what a load would do; write nothing

Each file is one table's, told by its header (or by --table). Exit status:
0 done, 1 problems (listed on stderr, one a line), 2 a command-line mistake.`

func cmdDC(ctx context.Context, e *env, args []string) error {
	fs := e.flags("dc", "", "")
	fs.Usage = func() { fmt.Fprintln(e.stderr, dcUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch fs.Arg(0) {
	case "load":
		return dcRun(ctx, e, "load", fs.Args()[1:])
	case "check":
		return dcRun(ctx, e, "check", fs.Args()[1:])
	}
	fs.Usage()
	return usageError{fmt.Sprintf("dc: want load or check, got %q", fs.Arg(0))}
}

func dcRun(ctx context.Context, e *env, action string, args []string) error {
	var summary string
	if action == "load" {
		summary = "Check the CSV files, then write them into the intermediate tables in one transaction, or nothing if any has a problem."
	} else {
		summary = "Check the CSV files and count what loading them would do, without writing anything."
	}
	fs := e.flags("dc "+action, "FILE…", summary)
	replace := fs.Bool("replace", false, "the files are a full export: delete rows of their tables that are not in them")
	table := fs.String("table", "", "departments, faculty or students: the table of every file (default: told by each file's header)")
	var yes, alone *bool
	if action == "load" {
		yes = fs.Bool("yes", false, "let --replace delete more than 5% of a table")
	} else {
		alone = fs.Bool("files-only", false, "check the files alone, without the database (as a full export: references must resolve within them)")
	}
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fs.Usage()
		return usageError{fmt.Sprintf("dc %s: no files given", action)}
	}
	opts := datacenter.Options{Replace: *replace, DryRun: action == "check"}
	if yes != nil {
		opts.Yes = *yes
	}
	if *table != "" {
		if opts.Table, err = datacenter.ParseTable(*table); err != nil {
			return usageError{fmt.Sprintf("dc %s: --table: %v", action, err)}
		}
	}
	files := make([]datacenter.File, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return fmt.Errorf("dc %s: %w", action, err)
		}
		files = append(files, datacenter.File{Name: n, Data: b})
	}

	if alone != nil && *alone {
		set, ps := datacenter.Parse(files, opts.Table)
		ps = append(ps, set.CheckAlone()...)
		if len(ps) > 0 {
			return e.dcProblems(action, ps)
		}
		fmt.Fprintf(e.stdout, "checked %s: no problems (the files alone; tables not among them were not looked at)\n", plural(len(files), "file"))
		e.dcFiles(set.Files)
		return nil
	}

	db, audit, err := e.openForOperation(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	defer audit.Sync() //nolint:errcheck // stderr sync fails on some terminals
	if action == "load" {
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
	} else {
		// A check writes nothing, not even the schema.
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range st {
			if !m.Applied {
				return fmt.Errorf("dc check: the database is not migrated (%s is pending): run wecomapp migrate up, or check the files alone with --files-only", m.Name)
			}
		}
	}
	sum, err := datacenter.Load(ctx, db, files, opts, time.Now())
	var (
		ps    datacenter.Problems
		guard *datacenter.GuardError
	)
	switch {
	case errors.As(err, &ps):
		return e.dcProblems(action, ps)
	case errors.As(err, &guard):
		for _, l := range guard.Lines() {
			fmt.Fprintln(e.stderr, l)
		}
		if action == "check" {
			return fmt.Errorf("dc check: a load would be stopped by the deletion guard (more than %d%% of a table) without --yes", datacenter.GuardPercent)
		}
		return fmt.Errorf("dc load: stopped by the deletion guard (more than %d%% of a table), nothing was loaded", datacenter.GuardPercent)
	case err != nil:
		return fmt.Errorf("dc %s: %w", action, err)
	}
	if action == "check" {
		fmt.Fprintf(e.stdout, "checked %s: no problems; loading them would do:\n", plural(len(files), "file"))
	} else {
		fmt.Fprintf(e.stdout, "loaded %s in one transaction:\n", plural(len(files), "file"))
		fields := []zap.Field{zap.String("action", "dc load"), zap.Strings("files", names), zap.Bool("replace", opts.Replace), zap.Bool("yes", opts.Yes)}
		for _, t := range sum.Tables {
			fields = append(fields, zap.Dict(t.Table.SQLName(), zap.Int("inserted", t.Inserted), zap.Int("updated", t.Updated),
				zap.Int("unchanged", t.Unchanged), zap.Int("deleted", t.Deleted)))
		}
		audit.Info("dc load", append(fields, zap.String("os_user", osUser()))...)
	}
	e.dcFiles(sum.Files)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tBEFORE\tINSERTED\tUPDATED\tUNCHANGED\tDELETED\tAFTER")
	for _, t := range sum.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", t.Table.SQLName(), t.Before, t.Inserted, t.Updated, t.Unchanged, t.Deleted, t.Before+t.Inserted-t.Deleted)
	}
	return tw.Flush()
}

// dcProblems lists the problems on stderr, one a line, and is the error.
func (e *env) dcProblems(action string, ps datacenter.Problems) error {
	for _, l := range ps.Lines(datacenter.MaxListed) {
		fmt.Fprintln(e.stderr, l)
	}
	if action == "check" {
		return fmt.Errorf("dc check: %s in the files", plural(len(ps), "problem"))
	}
	return fmt.Errorf("dc load: %w", ps)
}

func (e *env) dcFiles(files []datacenter.FileInfo) {
	for _, f := range files {
		fmt.Fprintf(e.stdout, "  %s: %s, %s\n", f.Name, f.Table.SQLName(), plural(f.Rows, "row"))
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// parseInterspersed parses flags wherever they are among the file names
// (dc load a.csv --replace b.csv): the flag package stops at the first
// argument that is not a flag. After "--" everything is a file.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return names, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(names, rest...), nil
		}
		names = append(names, rest[0])
		args = rest[1:]
	}
}
