package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := e.flags("migrate", "up|status", "up applies pending migrations; status lists every migration and whether it is applied.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	action := fs.Arg(0)
	if action != "up" && action != "status" {
		fs.Usage()
		return usageError{fmt.Sprintf("migrate: want up or status, got %q", action)}
	}
	db, err := e.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if action == "up" {
		applied, err := db.Migrate(ctx)
		for _, name := range applied {
			fmt.Fprintf(e.stdout, "applied %s\n", name)
		}
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(e.stdout, "database is up to date")
		}
		return nil
	}
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, s := range st {
		state, at := "pending", ""
		if s.Applied {
			state, at = "applied", s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Version, s.Name, state, at)
	}
	return tw.Flush()
}
