package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// apikeyCLI is a configuration naming the test's database (migrated by
// storetest) and a data key of its own, and that database opened with the
// same key, to check what the commands wrote.
type apikeyCLI struct {
	cfgPath string
	db      *store.DB
}

func newAPIKeyCLI(t *testing.T, db *store.DB) *apikeyCLI {
	t.Helper()
	ctx := context.Background()
	var driver, dsn string
	switch db.Dialect() {
	case store.SQLite:
		var seq int
		var name, file string
		if err := db.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
			t.Fatal(err)
		}
		driver, dsn = "sqlite", "file:"+file
	case store.MySQL:
		var name string
		if err := db.GetContext(ctx, &name, "SELECT DATABASE()"); err != nil {
			t.Fatal(err)
		}
		cfg, err := mysql.ParseDSN(testenv.MySQLDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.DBName = name
		driver, dsn = "mysql", cfg.FormatDSN()
	}
	key := make([]byte, store.DataKeyLen)
	_, _ = rand.Read(key)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	cfg := "database:\n  driver: " + driver + "\n  dsn: \"" + dsn + "\"\nsecurity:\n  data_key: \"" + hex.EncodeToString(key) + "\"\nlog:\n  level: warn\n  format: json\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("USER", "zhangsan")
	return &apikeyCLI{cfgPath: cfgPath, db: db.WithSealer(s)}
}

func (c *apikeyCLI) run(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(context.Background(), append([]string{"--config", c.cfgPath, "apikey"}, args...), &o, &e)
	return o.String(), e.String(), err
}

// field reads "name:  value" from create's output.
func field(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestAPIKeyCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newAPIKeyCLI(t, db)
		ctx := context.Background()
		out, errOut, err := c.run("create", "--system", "oa", "--scope", "tags:13,12", "--scope", "departments:5", "--rate", "30/min")
		if err != nil {
			t.Fatalf("create: %v\n%s%s", err, out, errOut)
		}
		id, secret := field(out, "key id"), field(out, "secret")
		if !strings.HasPrefix(id, "ak_") || len(secret) < 40 || field(out, "scope") != "tags:12,13 departments:5" ||
			field(out, "rate") != "30/min" || field(out, "producer") != "api:oa" || !strings.Contains(out, "shown this once") {
			t.Fatalf("create printed:\n%s", out)
		}
		if strings.Count(out+errOut, secret) != 1 {
			t.Errorf("the secret is printed %d times, want once", strings.Count(out+errOut, secret))
		}

		// The printed secret is the key's: a request signed with it verifies.
		keys, err := apikey.New(apikey.Options{DB: c.db, Coord: coord.NewMemory(nil)})
		if err != nil {
			t.Fatal(err)
		}
		ts, body := strconv.FormatInt(time.Now().Unix(), 10), []byte(`{}`)
		if _, err := keys.Verify(ctx, apikey.Request{KeyID: id, Timestamp: ts, Nonce: "0123456789abcdef", Signature: apikey.Sign(secret, ts, "0123456789abcdef", body), Body: body}); err != nil {
			t.Errorf("a request signed with the printed secret: %v", err)
		}

		out2, _, err := c.run("create", "--system", "library", "--scope", "userids")
		if err != nil {
			t.Fatal(err)
		}
		id2, secret2 := field(out2, "key id"), field(out2, "secret")
		if id2 == id || secret2 == secret || field(out2, "rate") != "60/min" {
			t.Errorf("second key:\n%s", out2)
		}

		// list: both keys, never a secret (nor a piece of one).
		list, errOut, err := c.run("list")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{secret, secret[:12], secret[len(secret)-12:], secret2, secret2[:12]} {
			if strings.Contains(list+errOut, s) {
				t.Errorf("list shows %q:\n%s", s, list)
			}
		}
		lines := strings.Split(strings.TrimSpace(list), "\n")
		if len(lines) != 3 || !strings.Contains(lines[1], id) || !strings.Contains(lines[1], "tags:12,13 departments:5") || !strings.Contains(lines[1], "30/min") ||
			!strings.Contains(lines[1], "cli:zhangsan") || !strings.Contains(lines[2], id2) || !strings.Contains(lines[2], "library") {
			t.Errorf("list:\n%s", list)
		}

		// revoke: once, then it says so; an unknown key is an error.
		out, _, err = c.run("revoke", id)
		if err != nil || !strings.Contains(out, "revoked "+id) {
			t.Fatalf("revoke: %v\n%s", err, out)
		}
		out, _, err = c.run("revoke", id)
		if err != nil || !strings.Contains(out, "revoked already") || !strings.Contains(out, "by cli:zhangsan") {
			t.Errorf("second revoke: %v\n%s", err, out)
		}
		if _, _, err := c.run("revoke", "ak_nosuchkey"); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "no key") {
			t.Errorf("revoke of an unknown key: %v", err)
		}
		list, _, _ = c.run("list")
		if l := strings.Split(list, "\n"); len(l) < 3 || !strings.Contains(l[1], "by cli:zhangsan") || strings.Contains(l[2], "by cli:") {
			t.Errorf("list after revoking the first key:\n%s", list)
		}
		if _, err := keys.Verify(ctx, apikey.Request{KeyID: id, Timestamp: ts, Nonce: "fedcba9876543210", Signature: apikey.Sign(secret, ts, "fedcba9876543210", body), Body: body}); !errors.Is(err, apikey.ErrUnauthorized) {
			t.Errorf("revoked key verified: %v", err)
		}

		// Audited as cli:$USER, without the secrets.
		entries, err := c.db.ListAudit(ctx, store.AuditFilter{Action: "apikey."})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Actor+" "+e.Action+" "+e.Object)
		}
		want := []string{"cli:zhangsan apikey.revoke apikey/" + id, "cli:zhangsan apikey.create apikey/" + id2, "cli:zhangsan apikey.create apikey/" + id}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		storetest.NoPlaintext(t, c.db, "audit_log", secret, secret2)
		storetest.NoPlaintext(t, c.db, "api_keys", secret, secret2)
	})
}

func TestAPIKeyCommandRefuses(t *testing.T) {
	c := newAPIKeyCLI(t, storetest.SQLite(t))
	for _, args := range [][]string{
		{},
		{"delete", "ak_x"},
		{"create", "--scope", "tags:12"},
		{"create", "--system", "oa"},
		{"create", "--system", "oa", "--scope", "tags:x"},
		{"create", "--system", "oa", "--scope", "everyone"},
		{"create", "--system", "oa", "--scope", "tags:12", "--rate", "60/day"},
		{"create", "--system", "o a", "--scope", "tags:12"},
		{"create", "--system", "oa", "--scope", "roles:nosuchrole"},
		{"revoke"},
		{"list", "extra"},
	} {
		out, errOut, err := c.run(args...)
		if exitCode(err) != 2 {
			t.Errorf("apikey %q: exit %d (%v), want 2\n%s%s", args, exitCode(err), err, out, errOut)
		}
		if strings.Contains(out, "secret:") {
			t.Errorf("apikey %q printed a secret:\n%s", args, out)
		}
	}
	if list, _, err := c.run("list"); err != nil || strings.TrimSpace(list) != "no keys" {
		t.Errorf("after refusals, list = %q, %v", list, err)
	}
}
