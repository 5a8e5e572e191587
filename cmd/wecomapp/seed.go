package main

import (
	"context"
	"errors"
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
	churn := fs.Float64("churn", 0, "instead of seeding, change the data-center tables as a night would: this share of the people join, leave or move (a third each), this share of the departments are renamed, and one tag rule changes (0.01 is 1 %)")
	churnSeed := fs.Uint64("churn-seed", 1, "the churn's random seed: the same seed makes the same changes")
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
	if *churn > 0 {
		return seedChurn(ctx, e, db, *churn, *churnSeed)
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

// churnRule is the tag rule a churn changes, and how: non-staffed people
// leave the all-staff tag.
const (
	churnRule     = "全体在职教职工"
	churnRuleText = `kind == "faculty" && status == "active" && category != "non_staffed"`
)

// seedChurn applies demo.Churn to the tables as they are, and changes one
// tag rule, for the 1 %-churn benchmark and rehearsals.
func seedChurn(ctx context.Context, e *env, db *store.DB, share float64, seed uint64) error {
	dc, err := db.ReadDataCenter(ctx)
	if err != nil {
		return err
	}
	if len(dc.Faculty)+len(dc.Students) == 0 {
		return errors.New("seed --churn: the data-center tables are empty: run `wecomapp seed` first")
	}
	next, sum := demo.Churn(dc, share, seed)
	ch, err := db.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: next, Departments: true, Faculty: true, Students: true}, time.Now())
	if err != nil {
		return fmt.Errorf("seed --churn: %w", err)
	}
	m, err := contacts.New(db, contacts.Options{})
	if err != nil {
		return err
	}
	rule := "unchanged (no such rule)"
	rules, err := m.TagRules(ctx, nil)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.Name == churnRule && r.Rule != churnRuleText {
			r.Rule = churnRuleText
			if err := m.PutTagRule(ctx, nil, r); err != nil {
				return err
			}
			rule = "changed"
		} else if r.Name == churnRule {
			rule = "already changed"
		}
	}
	fmt.Fprintf(e.stdout, "churned the data center (%.1f%%): %s; rows written: %d departments, %d faculty, %d students; tag rule %s %s\n",
		share*100, sum, ch.Departments.Updated+ch.Departments.Inserted, ch.Faculty.Updated+ch.Faculty.Inserted,
		ch.Students.Updated+ch.Students.Inserted, churnRule, rule)
	return nil
}
