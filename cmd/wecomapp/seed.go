package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store"
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
	fs := e.flags("seed", "", "Load the demo university into the data-center intermediate tables (departments, faculty, students), as the data center's nightly distribution would, and its tag rules into tag_rules. Safe to run again: rows are upserted.")
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
	rules, err := seedTagRules(ctx, db, u)
	if err != nil {
		return fmt.Errorf("seed %s: %w", u.Name, err)
	}
	c, err := db.CountDataCenter(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "seeded %s: %d departments, %d faculty, %d students in the data-center tables, %d tag rules\n", u.Name, c.Departments, c.Faculty, c.Students, rules)
	return nil
}

// seedTagRules saves the demo university's tag rules (demo.TagRules) in
// tag_rules, in one transaction, and returns how many the demo has. A rule
// already saved as the demo has it is left alone (its updated_at too), so
// running the seed again writes nothing; one that differs is replaced.
// Rules of other names are not touched.
func seedTagRules(ctx context.Context, db *store.DB, u *demo.University) (int, error) {
	m, err := contacts.New(db, contacts.Options{})
	if err != nil {
		return 0, err
	}
	rules := u.TagRules()
	err = db.WithTx(ctx, func(tx *sqlx.Tx) error {
		saved, err := m.TagRules(ctx, tx)
		if err != nil {
			return err
		}
		have := make(map[string]contacts.TagRule, len(saved))
		for _, r := range saved {
			have[r.Name] = r
		}
		for _, r := range rules {
			if h, ok := have[r.Name]; ok && h.Rule == r.Rule && h.Kind == r.Kind && h.Enabled == r.Enabled {
				continue
			}
			if err := m.PutTagRule(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("save the demo's tag rules: %w", err)
	}
	return len(rules), nil
}
