package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func repoConfig(t *testing.T) string {
	t.Helper()
	return filepath.Join("..", "config.yaml")
}

func TestCheckedInConfigIsTheDefault(t *testing.T) {
	cfg, err := Load(repoConfig(t), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	def := Defaults()
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), true, nil); err != nil {
		t.Fatalf("a missing optional config file must mean the defaults: %v", err)
	}
	if cfg.Database.Driver != def.Database.Driver || cfg.Database.DSN.Value() != def.Database.DSN.Value() ||
		cfg.Server.Addr != def.Server.Addr || !cfg.Simulator.Enabled || cfg.Redis.Addr != "" ||
		cfg.Inbox != def.Inbox || cfg.WeCom.Apps[0].Name != "hall" {
		t.Fatalf("config.yaml drifted from Defaults():\n%+v\n%+v", cfg, def)
	}
	if cfg.Server.PublicURL != "http://127.0.0.1:8080" {
		t.Fatalf("public_url = %q, want derived from addr", cfg.Server.PublicURL)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "aes")
	os.WriteFile(keyFile, []byte("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C\n"), 0o600)
	cfg, err := Load(repoConfig(t), false, []string{
		"WECOMAPP_SERVER_ADDR=:9090",
		"WECOMAPP_INBOX_LEASE=45s",
		"WECOMAPP_REDIS_ADDR=10.0.0.5:6379",
		"WECOMAPP_SERVER_TRUSTED_PROXIES=10.0.0.1, 10.0.0.2",
		"WECOMAPP_WECOM_APPS_HALL_SECRET=s3cret-value",
		"WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY_FILE=" + keyFile,
		"WECOMAPP_TEST_MYSQL_DSN=ignored",
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != ":9090" || cfg.Inbox.Lease != 45*time.Second || cfg.Redis.Addr != "10.0.0.5:6379" {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
	if got := cfg.Server.TrustedProxies; len(got) != 2 || got[1] != "10.0.0.2" {
		t.Fatalf("trusted proxies = %q", got)
	}
	app := cfg.WeCom.Apps[0]
	if app.Secret.Value() != "s3cret-value" || app.EncodingAESKey.Value() != "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C" {
		t.Fatalf("secrets not read: %q", app.EncodingAESKey.Value())
	}
	dump, err := cfg.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"s3cret-value", "jWmYm7qr5nMoAUwZ"} {
		if strings.Contains(string(dump), leak) {
			t.Fatalf("config dump leaks a secret:\n%s", dump)
		}
	}
	if !strings.Contains(string(dump), "WECOMAPP_WECOM_APPS_HALL_SECRET") {
		t.Fatalf("dump does not say where the secret came from:\n%s", dump)
	}
}

func TestBadValuesAreNamed(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		yaml    string
		wantKey string
		want    []string
		notWant string
	}{
		{
			name:    "malformed mysql dsn",
			env:     []string{"WECOMAPP_DATABASE_DRIVER=mysql", "WECOMAPP_DATABASE_DSN=root:pw@tcp(localhost:3306"},
			wantKey: "database.dsn",
			want:    []string{"WECOMAPP_DATABASE_DSN", "not a valid MySQL DSN", "example: wecomapp:password@tcp(127.0.0.1:3306)/wecomapp"},
			notWant: "pw@",
		},
		{
			name:    "42-character EncodingAESKey",
			env:     []string{"WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY=" + strings.Repeat("a", 42)},
			wantKey: "wecom.apps[hall].encoding_aes_key",
			want:    []string{"exactly 43 characters", "got 42", "example: jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"},
			notWant: strings.Repeat("a", 42),
		},
		{
			name:    "attendance schedule",
			env:     []string{"WECOMAPP_ATTENDANCE_SCHEDULE=every month"},
			wantKey: "attendance.schedule",
			want:    []string{"not a cron schedule"},
		},
		{
			name:    "shared database driver",
			env:     []string{"WECOMAPP_SHARED_DRIVER=oracle"},
			wantKey: "shared.driver",
			want:    []string{"oracle"},
		},
		{
			name:    "shared database without a database",
			env:     []string{"WECOMAPP_SHARED_DRIVER=mysql", "WECOMAPP_SHARED_DSN=reader:topsecret@tcp(10.0.0.9:3306)/"},
			wantKey: "shared.dsn",
			notWant: "topsecret",
		},
		{
			name:    "bad duration",
			env:     []string{"WECOMAPP_INBOX_LEASE=thirty"},
			wantKey: "inbox.lease",
			want:    []string{`"thirty" is not a duration`, "example: 30s"},
		},
		{
			name:    "typo in variable",
			env:     []string{"WECOMAPP_SERVER_ADR=:80"},
			wantKey: "WECOMAPP_SERVER_ADR",
			want:    []string{"not a setting", "WECOMAPP_SERVER_ADDR"},
		},
		{
			name:    "unknown yaml key",
			yaml:    "server:\n  adress: x\n",
			wantKey: "",
			want:    []string{"adress"},
		},
		{
			name:    "password in config.yaml",
			yaml:    "database:\n  driver: mysql\n  dsn: \"u:hunter2@tcp(db:3306)/wecomapp\"\n",
			wantKey: "database.dsn",
			want:    []string{"config.yaml is not a place for secrets"},
			notWant: "hunter2",
		},
		{
			name:    "production without secrets",
			env:     []string{"WECOMAPP_SIMULATOR_ENABLED=false"},
			wantKey: "wecom.contacts.secret",
			want:    []string{"WECOMAPP_WECOM_CONTACTS_SECRET", "security.data_key", "wecom.apps[hall].token"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := repoConfig(t)
			if tt.yaml != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				os.WriteFile(path, []byte(tt.yaml), 0o600)
			}
			_, err := Load(path, false, tt.env)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			msg := err.Error()
			var ce *Error
			if tt.wantKey != "" {
				if !errors.As(err, &ce) {
					t.Fatalf("err %T: %v", err, err)
				}
				found := false
				for _, p := range ce.Problems {
					found = found || p.Key == tt.wantKey
				}
				if !found {
					t.Fatalf("no problem names %s: %v", tt.wantKey, err)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			if tt.notWant != "" && strings.Contains(msg, tt.notWant) {
				t.Errorf("message leaks %q:\n%s", tt.notWant, msg)
			}
		})
	}
}

func TestSecretNeverFormats(t *testing.T) {
	s := NewSecret("topsecret", "WECOMAPP_X")
	cfg := Defaults()
	cfg.WeCom.Apps[0].Secret = s
	cfg.Database.DSN = NewSecret("wecomapp:topsecret@tcp(db:3306)/wecomapp", "WECOMAPP_DATABASE_DSN")
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logged), zap.DebugLevel))
	log.Info("config", zap.Any("secret", s), zap.Any("config", cfg), zap.Reflect("reflected", cfg), zap.Stringer("stringer", s))
	log.Sync()
	for name, got := range map[string]string{
		"String": s.String(), "GoString": s.GoString(), "%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", cfg),
		"%#v": fmt.Sprintf("%#v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"json": string(js), "zap": logged.String(),
	} {
		if strings.Contains(got, "topsecret") || strings.Contains(got, hex.EncodeToString([]byte("topsecret"))) {
			t.Errorf("%s prints the secret: %s", name, got)
		}
	}
	if !strings.Contains(string(js), "[redacted; from WECOMAPP_X]") || !strings.Contains(logged.String(), "[redacted; from WECOMAPP_X]") {
		t.Errorf("json and zap should say where the secret came from:\n%s\n%s", js, logged.String())
	}
	if s.Value() != "topsecret" {
		t.Errorf("Value() = %q", s.Value())
	}
}
