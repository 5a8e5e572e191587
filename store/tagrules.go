package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// TagRule is a row of tag_rules: the rule that makes one WeCom tag.
// UpdatedAt is Unix milliseconds, set by PutTagRule. The rule is checked
// by package contacts (it compiles it), not here.
type TagRule struct {
	Name      string `db:"name"`
	Rule      string `db:"rule"`
	Kind      string `db:"kind"`
	Enabled   bool   `db:"enabled"`
	UpdatedAt int64  `db:"updated_at"`
}

// TagRuleNameMax bounds a rule's name in characters (the column is
// VARCHAR(64), characters on MySQL's utf8mb4; WeCom allows 32, which
// contacts checks).
const TagRuleNameMax = 64

// ListTagRules lists every tag rule by name (byte order, the same on both
// engines), through q (nil: the pool).
func (db *DB) ListTagRules(ctx context.Context, q sqlx.ExtContext) ([]TagRule, error) {
	var rows []TagRule
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, "SELECT name, rule, kind, enabled, updated_at FROM tag_rules"); err != nil {
		return nil, fmt.Errorf("store: list tag rules: %w", err)
	}
	// Sorted here: MySQL's collation orders names otherwise.
	slices.SortFunc(rows, func(a, b TagRule) int { return strings.Compare(a.Name, b.Name) })
	return rows, nil
}

// PutTagRule saves a rule at at, replacing the rule of the same name,
// through q (nil: the pool).
func (db *DB) PutTagRule(ctx context.Context, q sqlx.ExtContext, r TagRule, at time.Time) error {
	if r.Name == "" || utf8.RuneCountInString(r.Name) > TagRuleNameMax {
		return fmt.Errorf("store: put tag rule %q: the name must be 1 to %d characters", r.Name, TagRuleNameMax)
	}
	if r.Kind == "" || len(r.Kind) > 16 {
		return fmt.Errorf("store: put tag rule %q: kind %q must be 1 to 16 bytes", r.Name, r.Kind)
	}
	row := []any{r.Name, r.Rule, r.Kind, boolInt(r.Enabled), Millis(at)}
	if err := db.upsert(ctx, db.ext(q), "tag_rules", []string{"name", "rule", "kind", "enabled", "updated_at"}, []string{"name"}, [][]any{row}); err != nil {
		return fmt.Errorf("store: put tag rule %q: %w", r.Name, err)
	}
	return nil
}

// DeleteTagRule deletes a rule, through q (nil: the pool), and reports
// whether there was one.
func (db *DB) DeleteTagRule(ctx context.Context, q sqlx.ExtContext, name string) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "DELETE FROM tag_rules WHERE name = ?", name)
	if err != nil {
		return false, fmt.Errorf("store: delete tag rule %q: %w", name, err)
	}
	return n > 0, nil
}
