package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
)

// childEnv makes the test binary behave as the wecomapp binary, so tests can
// start real processes and kill them.
const childEnv = "WECOMAPP_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(childEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		err := run(ctx, args, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "wecomapp:", err)
			os.Exit(exitCode(err))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is a wecomapp serve running as a child process.
type process struct {
	cmd  *exec.Cmd
	URL  string
	exit chan error
}

func startProcess(t *testing.T, cfgPath string, env ...string) *process {
	t.Helper()
	args, _ := json.Marshal([]string{"--config", cfgPath, "serve"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+string(args)), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "stderr.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exit: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := openURL.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	go func() { p.exit <- cmd.Wait(); logFile.Close() }()
	select {
	case p.URL = <-urls:
	case err := <-p.exit:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("wecomapp exited before serving: %v\n%s", err, b)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("wecomapp did not print its banner within 60s")
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.exit
		}
	})
	return p
}

// TestKilledAfterAcknowledgementLosesNothing acknowledges a callback on an
// ingress-only instance (inbox.workers: 0, so nothing dispatches it), kills
// that process with SIGKILL, then starts another instance on the same
// database: it finds the callback and dispatches it.
func TestKilledAfterAcknowledgementLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "wecomapp.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf("server:\n  addr: \"127.0.0.1:0\"\ndatabase:\n  dsn: \"file:%s\"\nlog:\n  level: info\ninbox:\n  poll: 50ms\n", dbPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	a := startProcess(t, cfgPath, "WECOMAPP_INBOX_WORKERS=0")
	t.Logf("ingress instance pid %d at %s", a.cmd.Process.Pid, a.URL)
	firstSync(t, a.URL)
	if code, body := postJSON(t, a.URL+"/wecomsim/sim/api/contacts/user/update", map[string]any{"userid": "T00003", "position": "副校长（常务）"}); code != 200 {
		t.Fatalf("sim admin update = %d %s", code, body)
	}
	eventually(t, "the ingress instance to acknowledge the callback", func() bool {
		return metric(t, a.URL, `wecomapp_inbox_accepted_total{kind="event.change_contact.update_user",receiver="contacts"}`) == "1"
	})
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exit

	// The instances sealed the payload with the development key they keep
	// beside the database; open it with that key.
	db, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: "file:" + dbPath, Sealer: devSealer(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.ListInbox(context.Background(), store.InboxQuery{Receiver: "contacts"})
	if err != nil || len(rows) != 1 || rows[0].State != store.InboxPending {
		t.Fatalf("after the kill: rows %+v, err %v; want one pending change_contact", rows, err)
	}
	id := rows[0].ID

	b := startProcess(t, cfgPath)
	t.Logf("second instance pid %d at %s", b.cmd.Process.Pid, b.URL)
	var row store.InboxRow
	eventually(t, "the restarted instance to dispatch the callback", func() bool {
		row, err = db.GetInbox(context.Background(), id)
		return err == nil && row.State != store.InboxPending && row.State != store.InboxProcessing
	})
	// No contacts handler exists yet (the contacts issue adds it), so the
	// row is kept raw as skipped — handled once, not lost, not retried.
	if row.State != store.InboxSkipped && row.State != store.InboxDone {
		t.Fatalf("row ended %s (%s), want handled", row.State, row.LastError)
	}
	if row.Attempts != 1 {
		t.Fatalf("row handled in %d attempts, want 1", row.Attempts)
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.exit:
		if err != nil {
			t.Fatalf("SIGTERM: wecomapp exited with %v, want a clean stop", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("SIGTERM did not stop wecomapp within 30s")
	}
}
