package wecomsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestFaultErrCodeOnNthCall(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	e.sim.AddFault(Fault{Path: "/cgi-bin/user/get", After: 2, Times: 1, ErrCode: -1})
	var got []int
	for i := 0; i < 5; i++ {
		got = append(got, e.get("/cgi-bin/user/get", tok, "userid", "lihua").code())
	}
	if want := []int{0, 0, -1, 0, 0}; !equalInts(got, want) {
		t.Fatalf("errcodes %v, want %v", got, want)
	}
	r := e.get("/cgi-bin/department/get", tok, "id", "1")
	want(t, r, 0)
	if len(e.sim.Faults()) != 0 {
		t.Fatal("a spent fault must be removed")
	}
	calls := e.sim.Calls("/cgi-bin/user/get")
	if calls[2].Fault != "errcode" || calls[2].ErrCode != -1 {
		t.Fatalf("call log %+v", calls[2])
	}
	if e.sim.CallCount("/cgi-bin/user/get", -1) != 1 || e.sim.CallCount("/cgi-bin/user/get", 0) != 4 {
		t.Fatalf("counts %v", e.sim.CallCounts())
	}
}

func TestFaultNextNCallsAndEveryAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	e.sim.AddFault(Fault{Times: 2, ErrCode: 45033}) // every API
	want(t, e.get("/cgi-bin/tag/list", tok), 45033)
	r := e.get("/cgi-bin/user/get", tok, "userid", "lihua")
	want(t, r, 45033)
	if _, ok := r["department"]; !ok {
		t.Fatal("an injected error keeps the endpoint's default fields")
	}
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 0)
}

func TestFaultHTTPStatus(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	id := e.sim.AddFault(Fault{Path: "/cgi-bin/user/get", Status: http.StatusBadGateway})
	for i := 0; i < 3; i++ {
		status, body := e.do(http.MethodGet, "/cgi-bin/user/get", url.Values{"access_token": {tok}, "userid": {"lihua"}}, nil, "")
		if status != 502 || len(body) != 0 {
			t.Fatalf("HTTP %d %q", status, body)
		}
	}
	if !e.sim.RemoveFault(id) {
		t.Fatal("RemoveFault")
	}
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 0)
}

func TestFaultLatency(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	e.sim.AddFault(Fault{Path: "/cgi-bin/user/get", Latency: 80 * time.Millisecond, Times: 1})
	start := time.Now()
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 0)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("answered after %s", d)
	}
	t.Run("client timeout", func(t *testing.T) {
		e.sim.AddFault(Fault{Path: "/cgi-bin/user/get", Latency: time.Second, Times: 1})
		client := &http.Client{Timeout: 50 * time.Millisecond}
		_, err := client.Get(e.srv.URL + "/cgi-bin/user/get?access_token=" + tok + "&userid=lihua")
		if err == nil {
			t.Fatal("expected a client timeout")
		}
	})
}

func TestFaultDrop(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	e.sim.AddFault(Fault{Path: "/cgi-bin/user/get", Drop: true, Times: 1})
	// A fresh connection: net/http silently retries an idempotent request
	// dropped on a reused keep-alive connection.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := client.Get(e.srv.URL + "/cgi-bin/user/get?access_token=" + tok + "&userid=lihua")
	if err == nil {
		t.Fatal("expected the connection to be dropped")
	}
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 0)
	if c := e.sim.Calls("/cgi-bin/user/get")[0]; c.Fault != "drop" || c.Status != 0 {
		t.Fatalf("call log %+v", c)
	}
}

func TestClearFaults(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	e.sim.AddFault(Fault{ErrCode: -1})
	e.sim.AddFault(Fault{Status: 500})
	want(t, e.get("/cgi-bin/tag/list", tok), -1)
	e.sim.ClearFaults()
	want(t, e.get("/cgi-bin/tag/list", tok), 0)
}

func TestFrequencyLimit(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Limits = map[string]Limit{"/cgi-bin/user/get": {PerMinute: 3}}
	})
	tok := e.app()
	for i := 0; i < 3; i++ {
		want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 0)
	}
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 45009)
	want(t, e.get("/cgi-bin/department/get", tok, "id", "1"), 0) // per API
	// A minute-limit hit blocks for 60 s from the hit, even across the window.
	e.sim.Advance(59 * time.Second)
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 45009)
	e.sim.Advance(time.Second)
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 0)

	t.Run("hour limit blocks for an hour", func(t *testing.T) {
		e.sim.SetLimit("/cgi-bin/tag/list", Limit{PerHour: 2})
		want(t, e.get("/cgi-bin/tag/list", tok), 0)
		want(t, e.get("/cgi-bin/tag/list", tok), 0)
		want(t, e.get("/cgi-bin/tag/list", tok), 45009)
		e.sim.Advance(59 * time.Minute)
		want(t, e.get("/cgi-bin/tag/list", tok), 45009)
		e.sim.Advance(time.Minute)
		want(t, e.get("/cgi-bin/tag/list", e.app()), 0)
	})
}

func TestAdminHTTP(t *testing.T) {
	rc := newReceiver(t, nil)
	e := newEnv(t, allowCallback(rc))
	tok := e.app()
	post := func(path, body string) (int, []byte) {
		t.Helper()
		return e.do(http.MethodPost, "/sim/api/"+path, nil, []byte(body), "application/json")
	}
	cb, _ := json.Marshal(rc.config())
	if s, _ := post("contact-callback", string(cb)); s != 200 {
		t.Fatalf("contact-callback HTTP %d", s)
	}
	s, body := post("contacts/user/create", `{"userid":"adm1","name":"管理员建","department":[2],"email":"adm1@example.edu.cn"}`)
	var r resp
	_ = json.Unmarshal(body, &r)
	if s != 200 || r.code() != 0 || r.str("errmsg") != "created" {
		t.Fatalf("HTTP %d %s", s, body)
	}
	_, body = post("contacts/user/create", `{"userid":"adm1","name":"重复","department":[2],"email":"x@example.edu.cn"}`)
	_ = json.Unmarshal(body, &r)
	if r.code() != 60102 {
		t.Fatalf("%s", body)
	}
	_, body = post("contacts/user/update", `{"userid":"adm1","status":1,"wechat_plugin":true}`)
	_ = json.Unmarshal(body, &r)
	want(t, r, 0)
	conv := e.post("/cgi-bin/user/convert_to_openid", tok, map[string]any{"userid": "adm1"})
	if conv.str("openid") == "" {
		t.Fatalf("plugin member via admin: %v", conv)
	}
	if s, _ := post("flush", `{}`); s != 200 {
		t.Fatalf("flush HTTP %d", s)
	}
	if n := len(rc.got()); n != 2 {
		t.Fatalf("%d callbacks", n)
	}

	if s, body := post("faults", `{"path":"/cgi-bin/tag/list","errcode":-1,"times":1}`); s != 200 {
		t.Fatalf("faults HTTP %d %s", s, body)
	}
	want(t, e.get("/cgi-bin/tag/list", tok), -1)
	if s, _ := post("limits", `{"path":"/cgi-bin/tag/list","per_minute":1}`); s != 200 {
		t.Fatal("limits")
	}
	want(t, e.get("/cgi-bin/tag/list", tok), 0)
	want(t, e.get("/cgi-bin/tag/list", tok), 45009)
	if s, _ := post("clock/advance", `{"seconds":60}`); s != 200 {
		t.Fatal("advance")
	}
	want(t, e.get("/cgi-bin/tag/list", tok), 0)

	status, body := e.do(http.MethodGet, "/sim/api/calls", url.Values{"path": {"/cgi-bin/tag/list"}}, nil, "")
	var calls struct {
		Calls  []Call                    `json:"calls"`
		Counts map[string]map[string]int `json:"counts"`
	}
	if err := json.Unmarshal(body, &calls); err != nil || status != 200 {
		t.Fatalf("calls: %d %s", status, body)
	}
	if len(calls.Calls) != 4 || calls.Counts["/cgi-bin/tag/list"]["45009"] != 1 || calls.Counts["/cgi-bin/tag/list"]["0"] != 2 {
		t.Fatalf("calls %+v", calls)
	}
	status, body = e.do(http.MethodGet, "/sim/api/changes", nil, nil, "")
	var changes []Change
	if err := json.Unmarshal(body, &changes); err != nil || status != 200 || len(changes) != 2 {
		t.Fatalf("changes: %d %s", status, body)
	}
	status, body = e.do(http.MethodGet, "/sim/api/snapshot", nil, nil, "")
	var f Fixture
	if err := json.Unmarshal(body, &f); err != nil || status != 200 || len(f.Users) != 21 {
		t.Fatalf("snapshot: %d users", len(f.Users))
	}
	if s, _ := post("reset", ``); s != 200 {
		t.Fatal("reset")
	}
	if n := len(e.sim.Snapshot().Users); n != 20 {
		t.Fatalf("after reset %d users", n)
	}
	want(t, e.get("/cgi-bin/user/get", tok, "userid", "adm1"), 60111) // the token survived Reset
	if s, _ := e.do(http.MethodGet, "/sim/api/nope", nil, nil, ""); s != 404 {
		t.Fatalf("unknown admin route HTTP %d", s)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
