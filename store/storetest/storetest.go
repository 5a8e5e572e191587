// Package storetest opens migrated test databases: SQLite always, and
// MySQL/MariaDB when WECOMAPP_TEST_MYSQL_DSN is set (required in CI). Every
// database comes with a Sealer (a random key of the test process), so tests
// read and write sealed columns as production does.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
)

var (
	sealerOnce sync.Once
	sealer     *store.Sealer
)

// Sealer is the Sealer every database of this package is opened with.
func Sealer() *store.Sealer {
	sealerOnce.Do(func() {
		s, err := store.NewSealer(NewKey())
		if err != nil {
			panic(err)
		}
		sealer = s
	})
	return sealer
}

// NewKey returns 32 random bytes: a data key, for tests of key rotation.
func NewKey() []byte {
	k := make([]byte, store.DataKeyLen)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}

// SQLite returns a migrated database in a fresh file under t.TempDir().
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: "file:" + filepath.Join(t.TempDir(), "test.db"), Sealer: Sealer()})
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
	db, err := store.Open(context.Background(), store.Options{Driver: "mysql", DSN: cfg.FormatDSN(), Sealer: Sealer()})
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

// LockInbox makes the inbox unwritable from any other connection until
// unlock is called (or the test ends): SQLite's write lock held by an open
// BEGIN IMMEDIATE, MySQL's LOCK TABLES inbox WRITE on a separate session —
// what a long migration or a stuck transaction does to a live server.
func LockInbox(t testing.TB, db *store.DB) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lock, release := "BEGIN IMMEDIATE", "ROLLBACK"
	if db.Dialect() == store.MySQL {
		lock, release = "LOCK TABLES inbox WRITE", "UNLOCK TABLES"
	}
	if _, err := conn.ExecContext(ctx, lock); err != nil {
		t.Fatalf("%s: %v", lock, err)
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, release); err != nil {
				t.Errorf("%s: %v", release, err)
			}
			conn.Close()
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// Querier is a *sql.DB, *sqlx.DB or *store.DB.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// NoPlaintext reads every row of table as raw bytes, as anyone holding a
// copy of the database would, and fails the test for each column that
// holds one of secrets. It returns how many rows it read.
func NoPlaintext(t testing.TB, q Querier, table string, secrets ...string) int {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			for _, secret := range secrets {
				if bytes.Contains(v, []byte(secret)) {
					t.Errorf("%s row %d, column %s holds %q in plaintext", table, n, cols[i], secret)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
