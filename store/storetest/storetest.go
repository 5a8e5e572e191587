// Package storetest opens migrated test databases: SQLite always, and
// MySQL/MariaDB when WECOMAPP_TEST_MYSQL_DSN is set (required in CI).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
)

// SQLite returns a migrated database in a fresh file under t.TempDir().
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: "file:" + filepath.Join(t.TempDir(), "test.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// MySQL returns a migrated database created for this test on the server
// named by WECOMAPP_TEST_MYSQL_DSN, dropped afterwards unless the test
// failed (so it can be inspected). A set but unreachable server fails the
// test rather than skipping it.
func MySQL(t testing.TB) *store.DB {
	t.Helper()
	db := MySQLUnmigrated(t)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// MySQLUnmigrated is MySQL without the migrations, for migration tests.
func MySQLUnmigrated(t testing.TB) *store.DB {
	t.Helper()
	dsn := testenv.MySQLDSN(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", testenv.MySQLDSNVar, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "wecomapp_test_" + hex.EncodeToString(rnd[:])
	admin, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("%s is set but the server refused CREATE DATABASE: %v", testenv.MySQLDSNVar, err)
	}
	cfg.DBName = name
	db, err := store.Open(context.Background(), store.Options{Driver: "mysql", DSN: cfg.FormatDSN()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if t.Failed() {
			t.Logf("kept database %s for inspection", name)
			return
		}
		if a, err := sqlx.Open("mysql", dsn); err == nil {
			_, _ = a.Exec("DROP DATABASE " + name)
			a.Close()
		}
	})
	return db
}

// Each runs fn on SQLite and, when configured, on MySQL/MariaDB.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("mysql", func(t *testing.T) { fn(t, MySQL(t)) })
}
