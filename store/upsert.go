package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// upsert writes rows in multi-row statements of at most chunk rows,
// replacing every non-key column of rows whose key exists. It is the one
// place that knows the two engines' upsert syntax.
func (db *DB) upsert(ctx context.Context, ext sqlx.ExtContext, table string, cols, keys []string, rows [][]any) error {
	const chunk = 400
	isKey := map[string]bool{}
	for _, k := range keys {
		isKey[k] = true
	}
	var set []string
	for _, c := range cols {
		if isKey[c] {
			continue
		}
		if db.dialect == MySQL {
			set = append(set, fmt.Sprintf("%s = VALUES(%s)", c, c))
		} else {
			set = append(set, fmt.Sprintf("%s = excluded.%s", c, c))
		}
	}
	for start := 0; start < len(rows); start += chunk {
		end := min(start+chunk, len(rows))
		var b strings.Builder
		args, err := valuesInsert(&b, table, cols, rows[start:end])
		if err != nil {
			return fmt.Errorf("store: upsert: %w", err)
		}
		if db.dialect == MySQL {
			b.WriteString(" ON DUPLICATE KEY UPDATE ")
		} else {
			fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET ", strings.Join(keys, ", "))
		}
		b.WriteString(strings.Join(set, ", "))
		if _, err := ext.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("store: upsert %d rows into %s: %w", end-start, table, err)
		}
	}
	return nil
}

// valuesInsert writes "INSERT INTO table (cols) VALUES (?, …), …" for rows
// into b and returns the arguments, so inserts and upserts build their
// multi-row statements one way.
func valuesInsert(b *strings.Builder, table string, cols []string, rows [][]any) ([]any, error) {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	fmt.Fprintf(b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	args := make([]any, 0, len(rows)*len(cols))
	for i, r := range rows {
		if len(r) != len(cols) {
			return nil, fmt.Errorf("%s: row has %d values for %d columns", table, len(r), len(cols))
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
		args = append(args, r...)
	}
	return args, nil
}
