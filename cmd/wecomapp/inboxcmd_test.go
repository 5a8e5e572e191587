package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// inboxCLI is a configuration of its own (SQLite in a temp directory, JSON
// logs) with the database open beside the commands, to seed rows and look
// at what the commands did.
type inboxCLI struct {
	cfgPath string
	db      *store.DB
}

func newInboxCLI(t *testing.T) *inboxCLI {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := "database:\n  dsn: \"file:" + filepath.Join(dir, "test.db") + "\"\nlog:\n  level: warn\n  format: json\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(context.Background(), c) // the same data key as the commands
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &inboxCLI{cfgPath: cfgPath, db: db}
}

func (c *inboxCLI) run(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(context.Background(), append([]string{"--config", c.cfgPath, "inbox"}, args...), &o, &e)
	return o.String(), e.String(), err
}

// put stores a callback received at `at`; dead ones say why.
func (c *inboxCLI) put(t *testing.T, receiver, key, kind, dead string, at time.Time) int64 {
	t.Helper()
	id, isNew, err := c.db.InsertInbox(context.Background(), store.InboxMessage{
		Receiver: receiver, DedupKey: key, Kind: kind, FromUser: "zhangsan", AgentID: 1000002, CreateTime: at.Unix(),
		Payload: []byte("<xml><Content><![CDATA[payload of " + key + "]]></Content></xml>"), Dead: dead,
	}, at)
	if err != nil || !isNew {
		t.Fatalf("put %s: %v", key, err)
	}
	return id
}

// finish claims and completes a pending row at `at`.
func (c *inboxCLI) finish(t *testing.T, id int64, at time.Time) {
	t.Helper()
	rows, err := c.db.ClaimInbox(context.Background(), "test", 10, at, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID == id {
			if err := c.db.CompleteInbox(context.Background(), r.Lease(), at); err != nil {
				t.Fatal(err)
			}
		} else if err := c.db.ReleaseInbox(context.Background(), r.Lease(), at); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *inboxCLI) state(t *testing.T, id int64) store.InboxState {
	t.Helper()
	r, err := c.db.GetInbox(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		return "gone"
	}
	if err != nil {
		t.Fatal(err)
	}
	return r.State
}

// auditLines returns the JSON audit records in a command's stderr.
func auditLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["logger"] == "audit" {
			out = append(out, m)
		}
	}
	return out
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	if got := exitCode(err); got != code {
		t.Fatalf("exit code %d (%v), want %d", got, err, code)
	}
}

func TestInboxListAndShow(t *testing.T) {
	c := newInboxCLI(t)
	now := time.Now()
	oldText := c.put(t, "hall", "msg:1", "text", "", now.Add(-48*time.Hour))
	deadText := c.put(t, "hall", "msg:2", "text", "handler said no", now.Add(-2*time.Hour))
	contacts := c.put(t, "contacts", "evt:3", "event.change_contact.update_user", "", now.Add(-time.Minute))
	garbled := c.put(t, "hall", "raw:4", "unparsed", "callback does not parse: XML syntax error on line 1", now)

	tests := []struct {
		name    string
		args    []string
		want    []int64
		code    int
		wantErr string
	}{
		{"everything, newest first", []string{"list"}, []int64{garbled, contacts, deadText, oldText}, 0, ""},
		{"dead letters", []string{"list", "--state", "dead"}, []int64{garbled, deadText}, 0, ""},
		{"one kind", []string{"list", "--kind", "text"}, []int64{deadText, oldText}, 0, ""},
		{"one receiver", []string{"list", "--receiver", "contacts"}, []int64{contacts}, 0, ""},
		{"recent", []string{"list", "--since", "3h"}, []int64{garbled, contacts, deadText}, 0, ""},
		{"since a time", []string{"list", "--since", now.Add(-90 * time.Minute).UTC().Format(time.RFC3339)}, []int64{garbled, contacts}, 0, ""},
		{"limited", []string{"list", "--limit", "1"}, []int64{garbled}, 0, ""},
		{"unknown state", []string{"list", "--state", "deadd"}, nil, 2, `--state "deadd" is not one of`},
		{"bad since", []string{"list", "--since", "yesterday"}, nil, 2, "--since"},
		{"limit out of range", []string{"list", "--limit", "0"}, nil, 2, "--limit 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := c.run(tt.args...)
			wantCode(t, err, tt.code)
			if tt.code != 0 {
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			var got []int64
			for _, ln := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
				var id int64
				fmt.Sscan(ln, &id)
				got = append(got, id)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ids %v, want %v\n%s", got, tt.want, out)
			}
		})
	}
	out, _, err := c.run("list", "--state", "dead")
	if err != nil || !strings.Contains(out, "LAST ERROR") || !strings.Contains(out, "callback does not parse") {
		t.Errorf("list shows no reason: %v\n%s", err, out)
	}

	out, _, err = c.run("show", fmt.Sprint(deadText))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"state:", "dead", "kind:", "text", "dedup key:", "msg:2", "last error:", "handler said no", "payload (", "<Content><![CDATA[payload of msg:2]]></Content>"} {
		if !strings.Contains(out, w) {
			t.Errorf("show lacks %q:\n%s", w, out)
		}
	}
	// A row sealed under a key this deployment no longer has is still
	// shown, with why its payload cannot be read.
	lost, err := store.NewSealer(storetest.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, err := c.db.WithSealer(lost).InsertInbox(context.Background(), store.InboxMessage{
		Receiver: "hall", DedupKey: "msg:5", Kind: "text", Payload: []byte("<xml/>"), Dead: "payload does not open",
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = c.run("show", fmt.Sprint(orphan))
	if err != nil || !strings.Contains(out, "msg:5") || !strings.Contains(out, "payload: cannot be opened") || !strings.Contains(out, lost.CurrentKeyID()) {
		t.Errorf("show of a row under a lost key: %v\n%s", err, out)
	}
	_, _, err = c.run("show", "999999")
	wantCode(t, err, 1)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("show of a missing row: %v", err)
	}
	_, _, err = c.run("show", "abc")
	wantCode(t, err, 2)
	_, _, err = c.run("frobnicate")
	wantCode(t, err, 2)
}

func TestInboxRequeue(t *testing.T) {
	c := newInboxCLI(t)
	now := time.Now()
	d1 := c.put(t, "hall", "msg:1", "text", "boom", now)
	d2 := c.put(t, "hall", "msg:2", "text", "boom", now)
	dClick := c.put(t, "hall", "evt:3", "event.click", "boom", now)
	pending := c.put(t, "hall", "msg:4", "text", "", now)

	t.Run("by id", func(t *testing.T) {
		out, errOut, err := c.run("requeue", fmt.Sprint(d1), fmt.Sprint(pending), "999999")
		wantCode(t, err, 1) // two of three were refused, and said so
		if c.state(t, d1) != store.InboxPending || !strings.Contains(out, fmt.Sprintf("requeued %d", d1)) {
			t.Errorf("row %d is %s; stdout %s", d1, c.state(t, d1), out)
		}
		if !strings.Contains(errOut, fmt.Sprintf("not requeued: %d: not dead or skipped", pending)) || !strings.Contains(errOut, "not requeued: 999999: no such row") {
			t.Errorf("stderr does not name the refused rows:\n%s", errOut)
		}
		a := auditLines(t, errOut)
		if len(a) != 1 || a[0]["action"] != "requeue" || a[0]["count"] != 1.0 || a[0]["os_user"] == "" || fmt.Sprint(a[0]["ids"]) != fmt.Sprintf("[%d]", d1) {
			t.Errorf("audit lines %v", a)
		}
	})
	t.Run("by filter", func(t *testing.T) {
		out, errOut, err := c.run("requeue", "--state", "dead", "--kind", "text")
		if err != nil {
			t.Fatal(err)
		}
		if c.state(t, d2) != store.InboxPending || c.state(t, dClick) != store.InboxDead || !strings.Contains(out, "requeued 1 rows") {
			t.Errorf("d2 %s, click %s; stdout %s", c.state(t, d2), c.state(t, dClick), out)
		}
		a := auditLines(t, errOut)
		if len(a) != 1 || a[0]["count"] != 1.0 || fmt.Sprint(a[0]["filters"]) != "map[kind:text state:dead]" {
			t.Errorf("audit lines %v", a)
		}
	})
	for _, bad := range [][]string{
		{"requeue"},
		{"requeue", "--state", "done"},
		{"requeue", "--kind", "text"},
		{"requeue", "--state", "dead", fmt.Sprint(dClick)},
		{"requeue", "x1"},
	} {
		_, _, err := c.run(bad...)
		wantCode(t, err, 2)
	}
	if c.state(t, dClick) != store.InboxDead {
		t.Error("a refused command requeued a row")
	}
}

func TestInboxPurge(t *testing.T) {
	c := newInboxCLI(t)
	now := time.Now()
	old := now.Add(-3 * time.Hour)
	oldDone := c.put(t, "hall", "msg:1", "text", "", old)
	c.finish(t, oldDone, old)
	newDone := c.put(t, "hall", "msg:2", "text", "", now)
	c.finish(t, newDone, now)
	oldDead := c.put(t, "hall", "msg:3", "text", "boom", old)
	oldDeadClick := c.put(t, "hall", "evt:4", "event.click", "boom", old)

	out, errOut, err := c.run("purge", "--state", "done", "--before", "2h")
	if err != nil {
		t.Fatal(err)
	}
	if c.state(t, oldDone) != "gone" || c.state(t, newDone) != store.InboxDone || c.state(t, oldDead) != store.InboxDead || !strings.Contains(out, "purged 1 done rows") {
		t.Errorf("after purge: %s %s %s; %s", c.state(t, oldDone), c.state(t, newDone), c.state(t, oldDead), out)
	}
	if a := auditLines(t, errOut); len(a) != 1 || a[0]["action"] != "purge" || a[0]["count"] != 1.0 || a[0]["os_user"] == "" {
		t.Errorf("audit lines %v", a)
	}

	// Dead rows were never handled: not without --yes.
	_, errOut, err = c.run("purge", "--state", "dead", "--before", "2h")
	wantCode(t, err, 2)
	if !strings.Contains(err.Error(), "--yes") || c.state(t, oldDead) != store.InboxDead || len(auditLines(t, errOut)) != 0 {
		t.Errorf("purge of dead rows without --yes: %v, row %s", err, c.state(t, oldDead))
	}
	_, errOut, err = c.run("purge", "--state", "dead", "--kind", "text", "--before", "2h", "--yes")
	if err != nil || c.state(t, oldDead) != "gone" || c.state(t, oldDeadClick) != store.InboxDead {
		t.Errorf("purge --yes: %v; text row %s, click row %s", err, c.state(t, oldDead), c.state(t, oldDeadClick))
	}
	if a := auditLines(t, errOut); len(a) != 1 || fmt.Sprint(a[0]["filters"].(map[string]any)["kind"]) != "text" {
		t.Errorf("audit lines %v", a)
	}

	for _, bad := range [][]string{
		{"purge", "--state", "done"},                        // no --before
		{"purge", "--state", "pending", "--before", "2h"},   // not a final state
		{"purge", "--state", "done", "--before", "10m"},     // shorter than the retention floor
		{"purge", "--before", "2h"},                         // no state
		{"purge", "--state", "done", "--before", "2h", "x"}, // stray argument
	} {
		_, _, err := c.run(bad...)
		wantCode(t, err, 2)
	}
	if c.state(t, newDone) != store.InboxDone {
		t.Error("a refused purge deleted a row")
	}
}

// TestEveryHelpExitsZero: asking for help is not an error, for every
// command and action.
func TestEveryHelpExitsZero(t *testing.T) {
	cmds := [][]string{{}}
	for _, c := range commands() {
		cmds = append(cmds, []string{c.name})
	}
	for _, a := range []string{"list", "show", "requeue", "purge"} {
		cmds = append(cmds, []string{"inbox", a})
	}
	for _, cmd := range cmds {
		for _, flag := range []string{"--help", "-h"} {
			args := append(append([]string{}, cmd...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				_, errOut, err := runCmd(t, nil, args...)
				if code := exitCode(err); code != 0 {
					t.Fatalf("exit code %d (%v), want 0", code, err)
				}
				want := "usage: wecomapp"
				if len(cmd) > 0 {
					want += " " + strings.Join(cmd, " ")
				}
				if !strings.Contains(errOut, want) {
					t.Errorf("no %q in:\n%s", want, errOut)
				}
			})
		}
	}
}
