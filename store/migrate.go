package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationTable records applied migrations.
const migrationTable = "schema_migrations"

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+?)(\.(mysql|sqlite))?\.sql$`)

// macros are the only dialect differences a shared migration may use; a
// migration that needs more gets a .mysql.sql / .sqlite.sql twin.
var macros = map[Dialect]*strings.Replacer{
	MySQL: strings.NewReplacer(
		"{{ID}}", "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
		"{{TABLE}}", "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
		"{{BLOB}}", "LONGBLOB",
		"{{TEXT}}", "MEDIUMTEXT",
	),
	SQLite: strings.NewReplacer(
		"{{ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{{TABLE}}", "",
		"{{BLOB}}", "BLOB",
		"{{TEXT}}", "TEXT",
	),
}

// MigrationsFS returns the migrations as the given dialect sees them:
// shared files with macros expanded, dialect twins replacing their shared
// file, other dialects' twins dropped.
func MigrationsFS(d Dialect) (fs.FS, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	twins := map[string]bool{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("store: migration file %q is not named NNNN_name[.mysql|.sqlite].sql", e.Name())
		}
		if m[4] != "" && Dialect(m[4]) != d {
			continue
		}
		b, err := fs.ReadFile(migrationFiles, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		name := m[1] + "_" + m[2] + ".sql"
		if m[4] != "" {
			twins[name] = true
		} else if twins[name] {
			continue
		}
		out[name] = &fstest.MapFile{Data: []byte(macros[d].Replace(string(b))), Mode: 0o444}
	}
	return out, nil
}

func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := MigrationsFS(db.dialect)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true),
	}
	dialect := goose.DialectSQLite3
	if db.dialect == MySQL {
		dialect = goose.DialectMySQL
		// Several instances starting together must not run the same
		// migration twice; SQLite serves one instance only.
		l, err := lock.NewMySQLTableLocker(lock.WithTableName(migrationTable + "_lock"))
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithLocker(l))
	}
	p, err := goose.NewProvider(dialect, db.DB.DB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration and returns the names applied.
// A failure names the migration and the database's reason.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	var applied []string
	for _, r := range res {
		applied = append(applied, path.Base(r.Source.Path))
	}
	if err != nil {
		var pe *goose.PartialError
		if errors.As(err, &pe) && pe.Failed != nil {
			return applied, fmt.Errorf("store: migration %s failed: %w", path.Base(pe.Failed.Source.Path), pe.Err)
		}
		return applied, fmt.Errorf("store: migrate: %w", err)
	}
	return applied, nil
}

// MigrationState is one migration's status.
type MigrationState struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// MigrationStatus lists every known migration, applied or pending.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationState{
			Version:   s.Source.Version,
			Name:      path.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Pending counts migrations not yet applied (readiness).
func (db *DB) Pending(ctx context.Context) (int, error) {
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}
