package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
)

// sqliteConfig writes a config file naming a SQLite database in dir.
func sqliteConfig(t *testing.T, dir string) (cfgPath, dbPath string) {
	t.Helper()
	dbPath = filepath.Join(dir, "data", "wecomapp.db")
	cfgPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("database:\n  dsn: \"file:"+dbPath+"\"\nlog:\n  level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dbPath
}

func runIn(t *testing.T, cfgPath string, env []string, args ...string) (string, error) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var o, e bytes.Buffer
	err := run(context.Background(), append([]string{"--config", cfgPath}, args...), &o, &e)
	return o.String() + e.String(), err
}

func openSealed(t *testing.T, dbPath string, s *store.Sealer) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: "file:" + dbPath, Sealer: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestRekeyCommand rotates a database's data key as an operator would:
// rows sealed under key A, then WECOMAPP_SECURITY_DATA_KEY=B with A as the
// previous key, `wecomapp rekey`, and afterwards the database opens with B
// alone. Without A configured, rekey stops and names the missing key.
func TestRekeyCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath, dbPath := sqliteConfig(t, dir)
	keyA, keyB := storetest.NewKey(), storetest.NewKey()
	sA, _ := store.NewSealer(keyA)
	sB, _ := store.NewSealer(keyB)
	ctx := context.Background()
	dbA := openSealed(t, dbPath, sA)
	if _, err := dbA.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 7
	ids := make([]int64, n)
	for i := range n {
		id, _, err := dbA.InsertInbox(ctx, store.InboxMessage{Receiver: "contacts", DedupKey: fmt.Sprintf("evt:%d", i), Kind: "event",
			Payload: fmt.Appendf(nil, "<xml><Mobile>1380013800%d</Mobile></xml>", i)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	dbA.Close()

	b64 := base64.StdEncoding.EncodeToString
	out, err := runIn(t, cfgPath, []string{"WECOMAPP_SECURITY_DATA_KEY=" + b64(keyB)}, "rekey")
	if err == nil || !strings.Contains(err.Error(), sA.CurrentKeyID()) || !strings.Contains(err.Error(), "previous_data_keys") {
		t.Fatalf("rekey without the old key: err = %v, want one naming key %s and security.previous_data_keys\n%s", err, sA.CurrentKeyID(), out)
	}
	out, err = runIn(t, cfgPath, []string{"WECOMAPP_SECURITY_DATA_KEY=" + b64(keyB), "WECOMAPP_SECURITY_PREVIOUS_DATA_KEYS=" + b64(keyA)}, "rekey", "--batch", "3")
	if err != nil {
		t.Fatalf("rekey: %v\n%s", err, out)
	}
	for _, want := range []string{
		"sealing under key " + sB.CurrentKeyID() + "; opening keys " + sB.CurrentKeyID() + ", " + sA.CurrentKeyID(),
		"inbox.payload: 3 rows read, 3 re-sealed, 0 already current",
		"inbox.payload: 6 rows read, 6 re-sealed",
		"inbox.payload: done, 7 rows, 7 re-sealed under key " + sB.CurrentKeyID(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rekey output lacks %q:\n%s", want, out)
		}
	}
	dbB := openSealed(t, dbPath, sB)
	for i, id := range ids {
		r, err := dbB.GetInbox(ctx, id)
		if err != nil || string(r.Payload) != fmt.Sprintf("<xml><Mobile>1380013800%d</Mobile></xml>", i) {
			t.Errorf("row %d with key B alone: %q, %v", id, r.Payload, err)
		}
	}
	out, err = runIn(t, cfgPath, []string{"WECOMAPP_SECURITY_DATA_KEY=" + b64(keyB)}, "rekey")
	if err != nil || !strings.Contains(out, "done, 7 rows, 0 re-sealed") {
		t.Errorf("second rekey: %v\n%s", err, out)
	}
	if _, err := runIn(t, cfgPath, nil, "rekey", "extra"); err == nil || exitCode(err) != 2 {
		t.Errorf("rekey with an argument: err = %v, want a usage error", err)
	}
}

// TestDevDataKeyPersists: with the simulator on and no data key, the
// development key is created once beside the SQLite file, readable only by
// its owner, and reused, so what one run stored the next can read.
func TestDevDataKeyPersists(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Defaults()
	dbPath := filepath.Join(dir, "data", "wecomapp.db")
	cfg.Database.DSN = config.NewSecret("file:"+dbPath, "test")
	ctx := context.Background()

	db, err := openDB(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	id, _, err := db.InsertInbox(ctx, store.InboxMessage{Receiver: "hall", DedupKey: "msg:1", Kind: "text", Payload: []byte("<xml>hello</xml>")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	first := db.Sealer().CurrentKeyID()
	db.Close()

	fi, err := os.Stat(filepath.Join(dir, "data", devDataKeyFile))
	if err != nil {
		t.Fatalf("no development key beside the database: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("development key mode %v, want 0600", fi.Mode().Perm())
	}

	db, err = openDB(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Sealer().CurrentKeyID() != first {
		t.Errorf("second run uses key %s, first used %s", db.Sealer().CurrentKeyID(), first)
	}
	if r, err := db.GetInbox(ctx, id); err != nil || string(r.Payload) != "<xml>hello</xml>" {
		t.Errorf("second run reads %q, %v", r.Payload, err)
	}
}

// TestDataKeyRequired: no development key is ever made without the
// simulator, nor for a MySQL database.
func TestDataKeyRequired(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.Database.DSN = config.NewSecret("file:"+filepath.Join(dir, "wecomapp.db"), "test")
	cfg.Simulator.Enabled = false
	if _, err := dataSealer(&cfg); err == nil || !strings.Contains(err.Error(), "security.data_key is required") {
		t.Errorf("simulator off, no key: err = %v", err)
	}
	cfg.Simulator.Enabled = true
	cfg.Database.Driver = "mysql"
	if _, err := dataSealer(&cfg); err == nil || !strings.Contains(err.Error(), "security.data_key is required with a mysql database") {
		t.Errorf("mysql, no key: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, devDataKeyFile)); err == nil {
		t.Error("a development key was written")
	}
	// A previous key that does not decode is named.
	cfg.Database.Driver = "sqlite"
	cfg.Security.DataKey = config.NewSecret(base64.StdEncoding.EncodeToString(storetest.NewKey()), "test")
	cfg.Security.PreviousDataKeys = config.NewSecret("short", "WECOMAPP_SECURITY_PREVIOUS_DATA_KEYS")
	if _, err := dataSealer(&cfg); err == nil || !strings.Contains(err.Error(), "security.previous_data_keys (from WECOMAPP_SECURITY_PREVIOUS_DATA_KEYS)") {
		t.Errorf("bad previous key: err = %v", err)
	}
}

// devSealer opens the development data key that instances keep in dir.
func devSealer(t *testing.T, dir string) *store.Sealer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, devDataKeyFile))
	if err != nil {
		t.Fatalf("development data key: %v", err)
	}
	k, err := config.DecodeDataKey(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.NewSealer(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCallbackPayloadSealedAtRest posts, through the callback endpoint as
// WeCom would, a change_contact as corps under the legacy contact rules
// receive it (with Mobile 13800138000 and an email) and a member's text
// message, then reads the SQLite file with plain SQL: no column of any
// inbox row holds the mobile, the email or the text. The platform itself
// reads the payloads back as received.
func TestCallbackPayloadSealedAtRest(t *testing.T) {
	const (
		corpID  = "wwdemo0000000001"
		token   = "sealtesttoken"
		aesKey  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456"
		mobile  = "13800138000"
		email   = "zhangsan@demo.edu.cn"
		content = "请帮我查一下身份证440106199001011234的办理进度"
	)
	p := startPlatform(t,
		"WECOMAPP_WECOM_CONTACTS_TOKEN="+token, "WECOMAPP_WECOM_CONTACTS_ENCODING_AES_KEY="+aesKey,
		"WECOMAPP_WECOM_APPS_HALL_TOKEN="+token, "WECOMAPP_WECOM_APPS_HALL_ENCODING_AES_KEY="+aesKey)
	cr, err := wecom.NewCrypter(token, aesKey, corpID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	callbacks := []struct{ receiver, agentID, xml string }{
		{"contacts", "", fmt.Sprintf(`<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>%d</CreateTime>`+
			`<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType>`+
			`<UserID><![CDATA[T00003]]></UserID><Name><![CDATA[张三]]></Name><Mobile><![CDATA[%s]]></Mobile><Email><![CDATA[%s]]></Email>`+
			`<Department><![CDATA[1]]></Department></xml>`, corpID, now, mobile, email)},
		{"hall", "1000002", fmt.Sprintf(`<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[T00003]]></FromUserName><CreateTime>%d</CreateTime>`+
			`<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId><AgentID>1000002</AgentID></xml>`, corpID, now, content, now*1000)},
	}
	for _, cb := range callbacks {
		ts, nonce := fmt.Sprint(now), "n"+fmt.Sprint(now)
		body, sig, err := cr.Seal([]byte(cb.xml), cb.agentID, ts, nonce)
		if err != nil {
			t.Fatal(err)
		}
		u := fmt.Sprintf("%s/wecom/callback/%s?msg_signature=%s&timestamp=%s&nonce=%s", p.URL, cb.receiver, sig, ts, nonce)
		resp, err := http.Post(u, "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("callback to %s answered %d", cb.receiver, resp.StatusCode)
		}
	}

	raw, err := sql.Open("sqlite", "file:"+filepath.Join(p.dir, "wecomapp.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	n := storetest.NoPlaintext(t, raw, "inbox", mobile, email, "zhangsan", content, "440106199001011234", "身份证", "张三", "<xml>")
	if n != len(callbacks) {
		t.Fatalf("%d inbox rows, want %d", n, len(callbacks))
	}

	db := openSealed(t, filepath.Join(p.dir, "wecomapp.db"), devSealer(t, p.dir))
	got, err := db.ListInbox(context.Background(), store.InboxQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.PayloadErr != nil || !bytes.Contains(r.Payload, []byte(mobile)) && !bytes.Contains(r.Payload, []byte(content)) {
			t.Errorf("row %d (%s) read back through the store: %q, %v", r.ID, r.Kind, r.Payload, r.PayloadErr)
		}
	}
}
