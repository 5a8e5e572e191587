package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// DMDefinition is a data module's stored definition (dm_definitions): the
// JSON of a datamod.Definition, kept opaque here so that the store does
// not depend on datamod.
type DMDefinition struct {
	Key        string    // the workbench module's key
	Definition string    // JSON
	UpdatedBy  string    // a userid, or "system"
	UpdatedAt  time.Time // UTC
}

type dmDefinitionRow struct {
	Key        string `db:"module_key"`
	Definition string `db:"definition"`
	UpdatedBy  string `db:"updated_by"`
	UpdatedAt  int64  `db:"updated_at"`
}

func (r dmDefinitionRow) out() DMDefinition {
	return DMDefinition{Key: r.Key, Definition: r.Definition, UpdatedBy: r.UpdatedBy, UpdatedAt: Time(r.UpdatedAt)}
}

// DMDefinitions lists every stored definition by key.
func (db *DB) DMDefinitions(ctx context.Context) ([]DMDefinition, error) {
	var rows []dmDefinitionRow
	if err := db.SelectContext(ctx, &rows, `SELECT module_key, definition, updated_by, updated_at FROM dm_definitions ORDER BY module_key`); err != nil {
		return nil, fmt.Errorf("store: list data module definitions: %w", err)
	}
	out := make([]DMDefinition, len(rows))
	for i, r := range rows {
		out[i] = r.out()
	}
	return out, nil
}

// DMDefinitionByKey returns one definition; ErrNotFound when absent.
func (db *DB) DMDefinitionByKey(ctx context.Context, key string) (DMDefinition, error) {
	var r dmDefinitionRow
	if err := db.GetContext(ctx, &r, `SELECT module_key, definition, updated_by, updated_at FROM dm_definitions WHERE module_key = ?`, key); err != nil {
		return DMDefinition{}, notFound(err, "store: data module definition %s", key)
	}
	return r.out(), nil
}

// PutDMDefinition inserts or replaces a definition.
func (db *DB) PutDMDefinition(ctx context.Context, d DMDefinition) error {
	err := db.upsert(ctx, db.DB, "dm_definitions", []string{"module_key", "definition", "updated_by", "updated_at"}, []string{"module_key"},
		[][]any{{d.Key, d.Definition, d.UpdatedBy, Millis(d.UpdatedAt)}})
	if err != nil {
		return fmt.Errorf("store: save data module definition %s: %w", d.Key, err)
	}
	return nil
}

// SeedDMDefinitions inserts the definitions whose key is absent, in one
// transaction, leaving present ones (edited in the console) alone. It
// returns how many it inserted.
func (db *DB) SeedDMDefinitions(ctx context.Context, ds []DMDefinition) (int, error) {
	n := 0
	err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
		n = 0
		for _, d := range ds {
			var c int
			if err := tx.GetContext(ctx, &c, `SELECT COUNT(*) FROM dm_definitions WHERE module_key = ?`, d.Key); err != nil {
				return fmt.Errorf("store: seed data module definition %s: %w", d.Key, err)
			}
			if c > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dm_definitions (module_key, definition, updated_by, updated_at) VALUES (?, ?, ?, ?)`,
				d.Key, d.Definition, d.UpdatedBy, Millis(d.UpdatedAt)); err != nil {
				return fmt.Errorf("store: seed data module definition %s: %w", d.Key, err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// DMCounsels reports whether counselor is student's counselor
// (dc_students.counselor_no).
func (db *DB) DMCounsels(ctx context.Context, counselor, student string) (bool, error) {
	if counselor == "" || student == "" {
		return false, nil
	}
	var c int
	if err := db.GetContext(ctx, &c, `SELECT COUNT(*) FROM dc_students WHERE student_no = ? AND counselor_no = ?`, student, counselor); err != nil {
		return false, fmt.Errorf("store: whether %s counsels %s: %w", counselor, student, err)
	}
	return c > 0, nil
}

// DMCounselees are the students counselor counsels, [student_no, name], by
// student number.
func (db *DB) DMCounselees(ctx context.Context, counselor string) ([][2]string, error) {
	if counselor == "" {
		return nil, nil
	}
	var rows []struct {
		No   string `db:"student_no"`
		Name string `db:"name"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT student_no, name FROM dc_students WHERE counselor_no = ? ORDER BY student_no`, counselor); err != nil {
		return nil, fmt.Errorf("store: students of counselor %s: %w", counselor, err)
	}
	out := make([][2]string, len(rows))
	for i, r := range rows {
		out[i] = [2]string{r.No, r.Name}
	}
	return out, nil
}
