package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs the CLI in process with a config file of its own in a temp
// directory, so tests never touch ./data.
func runCmd(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := "database:\n  dsn: \"file:" + filepath.Join(dir, "test.db") + "\"\nlog:\n  level: warn\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var o, e bytes.Buffer
	err = run(context.Background(), append([]string{"--config", cfgPath}, args...), &o, &e)
	return o.String(), e.String(), err
}

func TestCLI(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		args       []string
		wantErr    string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "version", args: []string{"version"}, wantStdout: []string{"wecomapp "}},
		{name: "no command", args: nil, wantErr: "no command given", wantCode: 2, wantStderr: []string{"serve", "migrate", "seed", "sim"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`, wantCode: 2},
		{name: "serve help", args: []string{"serve", "--help"}, wantErr: "flag: help requested", wantCode: 0, wantStderr: []string{"usage: wecomapp serve", "-addr"}},
		{name: "migrate help", args: []string{"migrate", "-h"}, wantErr: "help requested", wantCode: 0, wantStderr: []string{"up|status"}},
		{name: "seed help", args: []string{"seed", "--help"}, wantErr: "help requested", wantCode: 0, wantStderr: []string{"-scale"}},
		{name: "dc help", args: []string{"dc", "--help"}, wantErr: "help requested", wantCode: 0, wantStderr: []string{"load", "check"}},
		{name: "sim help", args: []string{"sim", "--help"}, wantErr: "help requested", wantCode: 0, wantStderr: []string{"-addr", "-seed"}},
		{name: "migrate without action", args: []string{"migrate"}, wantErr: "want up or status", wantCode: 2},
		{name: "migrate up then status", args: []string{"migrate", "up"}, wantStdout: []string{"applied 0001_datacenter.sql"}},
		{name: "seed the demo university", args: []string{"seed"}, wantStdout: []string{"seeded 海滨大学", "departments", "faculty", "students"}},
		{
			name:     "malformed dsn stops start-up with the key named",
			env:      []string{"WECOMAPP_DATABASE_DRIVER=mysql", "WECOMAPP_DATABASE_DSN=root:secretpw@tcp(localhost:3306"},
			args:     []string{"serve"},
			wantErr:  "database.dsn (from WECOMAPP_DATABASE_DSN): is not a valid MySQL DSN",
			wantCode: 1,
		},
		{
			name:     "42-character EncodingAESKey stops start-up",
			env:      []string{"WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY=abcdefghijabcdefghijabcdefghijabcdefghij12"},
			args:     []string{"serve"},
			wantErr:  "wecom.apps[hall].encoding_aes_key (from WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY): must be exactly 43 characters",
			wantCode: 1,
		},
		{name: "config dump redacts", env: []string{"WECOMAPP_WECOM_APPS_HALL_SECRET=very-secret-value"}, args: []string{"config", "dump"}, wantStdout: []string{"redacted", "WECOMAPP_WECOM_APPS_HALL_SECRET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCmd(t, tt.env, tt.args...)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v\nstderr: %s", err, errOut)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if code := exitCode(err); code != tt.wantCode {
					t.Fatalf("exit code %d, want %d", code, tt.wantCode)
				}
				if strings.Contains(err.Error(), "secretpw") {
					t.Fatalf("error leaks the DSN password: %v", err)
				}
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(out+errOut, "very-secret-value") {
				t.Fatal("a secret was printed")
			}
		})
	}
}
