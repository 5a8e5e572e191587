package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var openURL = regexp.MustCompile(`wecomapp is running: open (http://\S+)`)

// platform is one in-process `wecomapp serve`.
type platform struct {
	URL    string
	dir    string
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startPlatform runs `wecomapp serve` on a random port with the embedded
// default (SQLite in a temp dir, the simulator seeded with the demo
// university) and waits for its banner.
func startPlatform(t *testing.T, env ...string) *platform {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("server:\n  addr: \"127.0.0.1:0\"\n  shutdown_timeout: 15s\ndatabase:\n  dsn: \"file:%s\"\nlog:\n  level: info\ninbox:\n  poll: 50ms\n", filepath.Join(dir, "wecomapp.db"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	p := &platform{dir: dir, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- run(ctx, []string{"--config", cfgPath, "serve"}, p.stdout, p.stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := openURL.FindStringSubmatch(p.stdout.String()); m != nil {
			p.URL = m[1]
			break
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve exited early: %v\n%s", err, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if p.URL == "" {
		t.Fatalf("no banner within 30s\nstdout: %s\nstderr: %s", p.stdout.String(), p.stderr.String())
	}
	t.Cleanup(func() {
		if p.cancel != nil {
			p.stop(t)
		}
	})
	return p
}

func (p *platform) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve returned %v after SIGTERM-equivalent\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop within 30s")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postJSON(t *testing.T, url string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// eventually polls f until it is true or fails the test with what.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting: %s", what)
}

// firstSync waits for the platform's first contacts sync, which fills the
// demo's empty WeCom from the data center at start (sync.on_start), and
// returns how many members it made WeCom hold.
func firstSync(t *testing.T, base string) string {
	t.Helper()
	eventually(t, "the first contacts sync to converge", func() bool {
		return metric(t, base, `wecomapp_sync_runs_total{status="converged",trigger="start"}`) == "1"
	})
	return metric(t, base, "wecomapp_sync_desired_members")
}

func metric(t *testing.T, base, prefix string) string {
	t.Helper()
	_, body := get(t, base+"/metrics")
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return strings.TrimSpace(strings.TrimPrefix(sc.Text(), prefix))
		}
	}
	return ""
}

// Known secrets, so the test can check none of them is ever printed.
const (
	e2eSecret = "e2eAppSecretValue0123456789"
	e2eToken  = "e2eTokenValue42"
	e2eAESKey = "e2eAESKeyValue0123456789abcdefghijklmnopqrs"
)

func TestServeEmbeddedDefault(t *testing.T) {
	p := startPlatform(t,
		"WECOMAPP_WECOM_APPS_HALL_SECRET="+e2eSecret,
		"WECOMAPP_WECOM_APPS_HALL_TOKEN="+e2eToken,
		"WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY="+e2eAESKey,
		"WECOMAPP_LOG_LEVEL=debug",
	)

	if code, body := get(t, p.URL+"/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	code, body := get(t, p.URL+"/readyz")
	var ready struct {
		Ready  bool
		Checks map[string]string
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 || !ready.Ready {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	for _, c := range []string{"database", "migrations", "coordination"} {
		if ready.Checks[c] != "ok" {
			t.Errorf("readiness check %s = %q", c, ready.Checks[c])
		}
	}
	code, body = get(t, p.URL+"/")
	if code != 200 || !strings.Contains(body, "一站式服务大厅") || !strings.Contains(body, "/wecomsim/phone") {
		t.Fatalf("home page = %d:\n%s", code, body)
	}
	for _, banner := range []string{"/healthz", "/metrics", "/wecomsim/phone", "/wecom/callback/<app>"} {
		if !strings.Contains(p.stdout.String(), banner) {
			t.Errorf("banner lacks %s:\n%s", banner, p.stdout.String())
		}
	}
	_, body = get(t, p.URL+"/metrics")
	for _, m := range []string{
		`wecomapp_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1`,
		"wecomapp_http_requests_in_flight",
		`go_sql_open_connections{db_name="sqlite"}`,
		"go_goroutines",
	} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	// The demo's WeCom starts as a new corp: the first sync fills it.
	code, body = postJSON(t, p.URL+"/wecomsim/sim/api/contacts/user/update", map[string]any{"userid": "T00002", "position": "党委书记（兼）"})
	if !strings.Contains(body, `"errcode":60111`) && metric(t, p.URL, `wecomapp_sync_runs_total{status="converged",trigger="start"}`) != "1" {
		t.Errorf("before the first sync, T00002 is in WeCom: %d %s", code, body)
	}
	if n := firstSync(t, p.URL); n == "" || n == "0" {
		t.Fatalf("the first sync made %q members", n)
	}
	if !strings.Contains(p.stderr.String(), "first contacts sync done") {
		t.Errorf("the log does not say the first sync is done")
	}

	// Flow 1, callback in: an admin edits a member in the (simulated) WeCom
	// console; WeCom sends change_contact to our contacts receiver, which
	// verifies, decrypts and stores it.
	code, body = postJSON(t, p.URL+"/wecomsim/sim/api/contacts/user/update", map[string]any{"userid": "T00002", "position": "党委书记（兼）"})
	if code != 200 || !strings.Contains(body, `"errcode":0`) {
		t.Fatalf("sim admin update = %d %s", code, body)
	}
	eventually(t, "the change_contact callback to be accepted", func() bool {
		return metric(t, p.URL, `wecomapp_inbox_accepted_total{kind="event.change_contact.update_user",receiver="contacts"}`) == "1"
	})
	// A member types "help" to the app in WeCom: the callback is verified,
	// stored, and answered at once with an encrypted passive reply, which
	// WeCom shows in the member's chat with the app.
	code, body = postJSON(t, p.URL+"/wecomsim/sim/api/members/text", map[string]any{"userid": "T00001", "agentid": 1000002, "content": "help"})
	if code != 200 || !strings.Contains(body, `"delivered":true`) || !strings.Contains(body, "消息中心") {
		t.Fatalf("member text = %d %s", code, body)
	}
	_, body = get(t, p.URL+"/wecomsim/sim/api/inbox?userid=T00001")
	if !strings.Contains(body, `"reply":true`) {
		t.Fatalf("the passive reply is not in the member's chat: %s", body)
	}
	eventually(t, "the text callback to be accepted", func() bool {
		return metric(t, p.URL, `wecomapp_inbox_accepted_total{kind="text",receiver="hall"}`) == "1"
	})

	// Every log line of a request carries its request id: the access-log
	// line of the callback has one.
	var callbackLine string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, `"path": "/wecom/callback/hall"`) {
			callbackLine = line
		}
	}
	if !regexp.MustCompile(`"request_id": "[0-9a-f]{16}"`).MatchString(callbackLine) {
		t.Errorf("the callback's log line has no request id: %q", callbackLine)
	}
	p.stop(t)
	// Secrets are never printed, not even at debug level.
	for _, secret := range []string{e2eSecret, e2eToken, e2eAESKey} {
		if strings.Contains(p.stdout.String()+p.stderr.String(), secret) {
			t.Errorf("secret %q appears in the output", secret[:6]+"…")
		}
	}
}
