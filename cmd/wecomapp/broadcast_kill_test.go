package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// TestBroadcastSurvivesAKilledInstance: two instances (real processes) on
// one MariaDB and one Redis dispatch a broadcast to the whole demo
// university in chunks of 20 against a WeCom that answers slowly; one is
// killed (SIGKILL) mid-broadcast. The other finishes it: every member has
// the notice exactly once, and every recipient one delivered result.
func TestBroadcastSurvivesAKilledInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	base, err := mysql.ParseDSN(testenv.MySQLDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	redisAddr := testenv.RedisAddr(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "wecomapp_kill_" + hex.EncodeToString(suffix)
	admin, err := sqlx.Open("mysql", base.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE " + name); admin.Close() })
	dsn := *base
	dsn.DBName = name

	// WeCom: an empty corp the demo university is synced into here.
	const corpID, cSecret, aSecret, token = "wwkill00000000001", "kill-contacts-secret-0123456789", "kill-app-secret-0123456789abcd", "killtoken"
	aesKey := "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	sim := wecomsim.New(wecomsim.Options{CorpID: corpID, ContactSecret: cSecret, Fixture: &wecomsim.Fixture{},
		Apps: []wecomsim.App{{AgentID: 1000002, Name: "一站式服务大厅", Secret: aSecret, Token: token, EncodingAESKey: aesKey}}})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })

	dir := t.TempDir()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := []string{
		"WECOMAPP_DATABASE_DSN=" + dsn.FormatDSN(), "WECOMAPP_SECURITY_DATA_KEY=" + base64.StdEncoding.EncodeToString(key),
		"WECOMAPP_WECOM_CONTACTS_SECRET=" + cSecret, "WECOMAPP_WECOM_CONTACTS_TOKEN=" + token, "WECOMAPP_WECOM_CONTACTS_ENCODING_AES_KEY=" + aesKey,
		"WECOMAPP_WECOM_APPS_HALL_SECRET=" + aSecret, "WECOMAPP_WECOM_APPS_HALL_TOKEN=" + token, "WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY=" + aesKey,
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf(`server:
  addr: "127.0.0.1:0"
database:
  driver: mysql
redis:
  addr: %q
  prefix: "%s:"
simulator:
  enabled: false
wecom:
  api_base: %q
  corp_id: %s
sms:
  provider: ""
sync:
  on_start: false
  schedule: ""
  class_groups: false
selfreg:
  enabled: false
notify:
  lease: 3s
  chunk_size: 20
inbox:
  poll: 100ms
`, redisAddr, name, srv.URL, corpID)
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, false, append(os.Environ(), env...))
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u := demo.Generate(demo.Small())
	if err := db.LoadDataCenter(ctx, u.DataCenter(), time.Now()); err != nil {
		t.Fatal(err)
	}
	co := coord.NewMemory(nil)
	defer co.Close()
	corp, err := wecom.New(wecom.Options{BaseURL: srv.URL, CorpID: corpID, ContactSecret: cSecret, Coord: co,
		Apps: []wecom.AppConfig{{Name: "hall", AgentID: 1000002, Secret: aSecret}}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := corp.Contacts()
	app, _ := corp.App("hall")
	mirror, _ := contacts.New(db, contacts.Options{})
	runner, err := orgsync.New(orgsync.Options{DB: db, Mirror: mirror, Coord: co, Client: cl, Config: orgsync.Config{MaxShare: 0.05, Drift: "reassert", Members: "all"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(ctx, orgsync.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	members := make([]string, 0, len(res.Desired.Members))
	for _, m := range res.Desired.Members {
		members = append(members, m.UserID)
	}
	js := u.Joined()
	for i := range js {
		js[i].Status = 1
	}
	_ = sim.SetJoined(js)

	// The broadcast is committed before any instance runs.
	submitter, err := notify.New(notify.Options{DB: db, Mirror: mirror, App: app, Coord: co})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := submitter.Submit(ctx, notify.Message{Producer: "test", Lane: notify.LaneBroadcast, To: notify.Recipients{All: true},
		Content: notify.Content{MsgType: notify.MsgText, Body: []byte(`{"content":"今晚 22:00 起全校断网维护两小时"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	// WeCom answers each send after 400 ms: the broadcast takes a while.
	sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/message/send", Latency: 400 * time.Millisecond, Times: 1000})

	a := startProcess(t, cfgPath, env...)
	b := startProcess(t, cfgPath, env...)
	eventually(t, "the broadcast to be under way", func() bool { return len(sim.Calls("/cgi-bin/message/send")) >= 3 })
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exit
	t.Logf("killed instance a after %d sends", len(sim.Calls("/cgi-bin/message/send")))

	deadline := time.Now().Add(60 * time.Second)
	for {
		counts, err := db.OutboxCounts(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if counts[notify.OutcomeDelivered] == len(members) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %v, want %d delivered", counts, len(members))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, m := range members {
		n := 0
		for _, it := range sim.Inbox(m) {
			if strings.Contains(string(it.Body), "断网维护") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has the notice %d times, want once", m, n)
		}
	}
	if d := sim.MessageDrops(); len(d) != 0 {
		t.Errorf("WeCom dropped %d messages", len(d))
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	<-b.exit
}
