package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wecomapp/wecomapp/demo"
)

func demoScale(name string) (demo.Scale, error) {
	switch name {
	case "demo", "small":
		return demo.Small(), nil
	case "full":
		return demo.Full(), nil
	default:
		return demo.Scale{}, usageError{fmt.Sprintf("unknown scale %q (want demo or full)", name)}
	}
}

func cmdSeed(ctx context.Context, e *env, args []string) error {
	fs := e.flags("seed", "", "Load the demo university into the data-center intermediate tables (departments, faculty, students), as the data center's nightly distribution would. Safe to run again: rows are upserted.")
	scale := fs.String("scale", "demo", "demo (a small university) or full (2,013 departments, 36,000 people)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc, err := demoScale(*scale)
	if err != nil {
		return err
	}
	db, err := e.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	u := demo.Generate(sc)
	if err := loadDemoRecords(ctx, db, u, time.Now()); err != nil {
		return fmt.Errorf("seed %s: %w", u.Name, err)
	}
	c, err := db.CountDataCenter(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "seeded %s: %d departments, %d faculty, %d students in the data-center tables\n", u.Name, c.Departments, c.Faculty, c.Students)
	return nil
}
