package wecomsim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wecomapp/wecomapp/wecom"
)

func TestFixtureValidate(t *testing.T) {
	if err := TestFixture().Validate(); err != nil {
		t.Fatalf("TestFixture: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(f *Fixture)
		want   string
	}{
		{"unknown parent", func(f *Fixture) { f.Departments[2].ParentID = 99 }, "parent 99 does not exist"},
		{"cycle", func(f *Fixture) { f.Departments[1].ParentID = 3 }, "parent cycle"},
		{"member in an unknown department", func(f *Fixture) { f.Users[0].Department = []int64{99} }, "department 99 does not exist"},
		{"duplicate userid ignoring case", func(f *Fixture) { f.Users[1].UserID = "ZhangWei" }, "duplicate userid"},
		{"duplicate mobile", func(f *Fixture) { f.Users[1].Mobile = f.Users[0].Mobile }, "mobile 13800000001 also belongs"},
		{"leader flags length", func(f *Fixture) { f.Users[1].IsLeaderInDept = []int{1, 0} }, "is_leader_in_dept has 2 entries"},
		{"tag member unknown", func(f *Fixture) { f.Tags[0].UserList = []string{"ghost"} }, `member "ghost" does not exist`},
		{"creator unknown", func(f *Fixture) { f.Creator = "ghost" }, "creator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := TestFixture()
			tt.mutate(f)
			err := f.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("New panics on an invalid fixture", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		f := TestFixture()
		f.Users[0].Department = []int64{99}
		New(Options{Fixture: f})
	})
	t.Run("a fixture without a root gets one", func(t *testing.T) {
		s := New(Options{Fixture: &Fixture{}})
		defer s.Close()
		if d := s.Snapshot().Departments; len(d) != 1 || d[0].ID != 1 {
			t.Fatalf("%+v", d)
		}
	})
}

func TestResetAndMount(t *testing.T) {
	s := New(Options{CorpID: testCorpID, ContactSecret: testSecret, BaseURL: "http://example.test/wecomsim/",
		Apps: []App{{AgentID: 1000002, Name: "一站式服务", Secret: appSecret}}})
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/wecomsim/", http.StripPrefix("/wecomsim", s))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	e := &env{t: t, sim: s, srv: srv}
	tok := e.get("/wecomsim/cgi-bin/gettoken", "", "corpid", testCorpID, "corpsecret", testSecret).str("access_token")
	app := e.get("/wecomsim/cgi-bin/gettoken", "", "corpid", testCorpID, "corpsecret", appSecret).str("access_token")
	want(t, e.get("/wecomsim/cgi-bin/user/delete", tok, "userid", "lihua"), 0)
	want(t, e.get("/wecomsim/cgi-bin/user/get", app, "userid", "lihua"), 60111)
	s.Reset()
	want(t, e.get("/wecomsim/cgi-bin/user/get", app, "userid", "lihua"), 0)
	if s.BaseURL() != "http://example.test/wecomsim" {
		t.Fatalf("BaseURL %q", s.BaseURL())
	}
	if len(s.Calls("")) != 1 || len(s.Changes()) != 0 {
		t.Fatal("Reset must clear the logs")
	}
}

// TestAppCallbackHook exercises the extension point later phases use for
// app callbacks (enter_agent, messages, card events) and passive replies.
func TestAppCallbackHook(t *testing.T) {
	c, err := wecom.NewCrypter(testToken, testAESKey, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	envelopes := make(chan string, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, _ := io.ReadAll(r.Body)
		msg, err := c.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body)
		if err != nil {
			t.Errorf("open: %v", err)
			return
		}
		ev, _ := wecom.ParseEvent(msg)
		envelopes <- string(body)
		reply, _ := c.Reply(wecom.NewTextReply(ev.FromUserName, testCorpID, ev.CreateTime, "你好").XML(), q.Get("timestamp"), q.Get("nonce"))
		_, _ = w.Write(reply)
	}))
	defer app.Close()
	e := newEnv(t, func(o *Options) {
		o.Apps[0].CallbackURL, o.Apps[0].Token, o.Apps[0].EncodingAESKey = app.URL, testToken, testAESKey
	})
	replies := make(chan []byte, 1)
	ev := &wecom.Event{ToUserName: testCorpID, FromUserName: "lihua", CreateTime: testBase.Unix(), MsgType: "event", Event: "enter_agent", AgentID: 1000002}
	e.sim.mu.Lock()
	id := e.sim.sendAppCallback(e.sim.apps[1000002], "enter_agent", ev.XML(), func(b []byte) { replies <- b })
	none := e.sim.sendAppCallback(e.sim.apps[1000003], "enter_agent", ev.XML(), nil)
	e.sim.mu.Unlock()
	if id == 0 || none != 0 {
		t.Fatalf("ids %d %d", id, none)
	}
	e.flush()
	if env := <-envelopes; !strings.Contains(env, "<AgentID><![CDATA[1000002]]></AgentID>") {
		t.Fatalf("envelope %s", env)
	}
	select {
	case b := <-replies:
		msg, err := c.OpenReply(b)
		if err != nil || !strings.Contains(string(msg), "你好") {
			t.Fatalf("reply %s: %v", msg, err)
		}
	default:
		t.Fatal("no reply")
	}
}

func TestMemberMessageShaping(t *testing.T) {
	e := newEnv(t)
	s := e.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	now := testBase
	n := 0
	for i := 0; i < 40; i++ {
		if s.memberMessageAllowed(1000002, "LiHua", now) {
			n++
		}
	}
	if n != 30 {
		t.Fatalf("%d of 40 delivered in a minute, want 30", n)
	}
	if !s.memberMessageAllowed(1000003, "lihua", now) || !s.memberMessageAllowed(1000002, "wangfang", now) {
		t.Fatal("windows are per app and member")
	}
	if !s.memberMessageAllowed(1000002, "lihua", now.Add(time.Minute)) {
		t.Fatal("the next minute delivers again (no block)")
	}
	for i := 0; i < 60; i++ {
		now = now.Add(time.Minute)
		for j := 0; j < 30; j++ {
			s.memberMessageAllowed(1000002, "zhaolei", now)
		}
	}
	if s.memberMessageAllowed(1000002, "zhaolei", now) {
		t.Fatal("hour cap of 1,000 not applied")
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	block := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) { <-block })
	e := newEnv(t, withReceiver(rc), func(o *Options) { o.CallbackTimeout = time.Minute })
	must(t, e.sim.AdminDeleteUser("lihua"))
	deadline := time.Now().Add(5 * time.Second)
	for rc.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { e.sim.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not abort the delivery in flight")
	}
	close(block)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.sim.Flush(ctx); err != nil {
		t.Fatalf("Flush after Close: %v", err)
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	rc := newReceiver(t, nil)
	e := newEnv(t, withReceiver(rc), func(o *Options) { o.Logger = zap.New(core) })
	tok := e.app()
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "ghost"), 60111)
	want(t, e.get("/cgi-bin/gettoken", "", "corpid", testCorpID, "corpsecret", "wrong-secret"), 40001)
	must(t, e.sim.AdminDeleteUser("lihua"))
	e.flush()
	if logs.Len() == 0 {
		t.Fatal("no logs")
	}
	for _, entry := range logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += " " + k + "=" + fmt.Sprint(v)
		}
		for _, secret := range []string{tok, testSecret, "wrong-secret", testAESKey, testToken} {
			if strings.Contains(line, secret) {
				t.Errorf("log line carries a secret: %s", line)
			}
		}
		if entry.LoggerName != "wecomsim" {
			t.Errorf("logger %q", entry.LoggerName)
		}
	}
}
