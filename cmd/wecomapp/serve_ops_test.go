package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/internal/testenv"
)

// TestServeWithRedisStopped runs the platform on a redis-server of its own
// and kills it: callbacks need only SQL, so they are still verified, stored
// and answered (with the passive reply), and /readyz keeps the instance in
// the load balancer, reporting Redis as degraded.
func TestServeWithRedisStopped(t *testing.T) {
	addr, kill := testenv.StartRedis(t)
	p := startPlatform(t,
		"WECOMAPP_REDIS_ADDR="+addr,
		// The simulator stands in for WeCom; with Redis set serve mounts it
		// only when told to.
		"WECOMAPP_SIMULATOR_ALLOW_PUBLIC=true",
	)
	readiness := func() (int, map[string]string) {
		code, body := get(t, p.URL+"/readyz")
		var r struct{ Checks map[string]string }
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/readyz = %d %q", code, body)
		}
		return code, r.Checks
	}
	if code, checks := readiness(); code != 200 || checks["coordination"] != "ok" {
		t.Fatalf("with Redis up /readyz = %d %v", code, checks)
	}
	help := func(want string) {
		t.Helper()
		code, body := postJSON(t, p.URL+"/wecomsim/sim/api/members/text", map[string]any{"userid": "T00001", "agentid": 1000002, "content": "help"})
		if code != 200 || !strings.Contains(body, `"delivered":true`) || !strings.Contains(body, "消息中心") {
			t.Fatalf("%s: member text = %d %s", want, code, body)
		}
	}
	firstSync(t, p.URL)
	help("Redis up")

	kill()
	code, checks := readiness()
	if code != 200 || checks["coordination"] != "degraded" || checks["database"] != "ok" {
		t.Fatalf("with Redis stopped /readyz = %d %v, want 200 with coordination degraded", code, checks)
	}
	// A member texts the app and an admin edits a member: both callbacks
	// are acknowledged and stored with Redis gone.
	help("Redis stopped")
	code, body := postJSON(t, p.URL+"/wecomsim/sim/api/contacts/user/update", map[string]any{"userid": "T00002", "position": "教授"})
	if code != 200 || !strings.Contains(body, `"errcode":0`) {
		t.Fatalf("sim admin update = %d %s", code, body)
	}
	eventually(t, "both texts and the change_contact to be accepted with Redis stopped", func() bool {
		return metric(t, p.URL, `wecomapp_inbox_accepted_total{kind="text",receiver="hall"}`) == "2" &&
			metric(t, p.URL, `wecomapp_inbox_accepted_total{kind="event.change_contact.update_user",receiver="contacts"}`) == "1"
	})
	if v := metric(t, p.URL, "wecomapp_coordination_up"); v != "0" {
		t.Errorf("wecomapp_coordination_up = %q, want 0", v)
	}
}

// TestServeMetricsOnTheirOwnListener: with server.metrics_addr set, /metrics
// is served there (the banner says where) and no longer on the main
// listener, which WeCom and browsers reach.
func TestServeMetricsOnTheirOwnListener(t *testing.T) {
	p := startPlatform(t, "WECOMAPP_SERVER_METRICS_ADDR=127.0.0.1:0")
	m := regexp.MustCompile(`metrics (http://127\.0\.0\.1:\d+/metrics)`).FindStringSubmatch(p.stdout.String())
	if m == nil || strings.HasPrefix(m[1], p.URL) {
		t.Fatalf("the banner does not name a separate metrics listener:\n%s", p.stdout.String())
	}
	if code, body := get(t, m[1]); code != 200 || !strings.Contains(body, "wecomapp_inbox_rows") && !strings.Contains(body, "go_goroutines") {
		t.Fatalf("GET %s = %d, %.200s", m[1], code, body)
	}
	if code, _ := get(t, p.URL+"/metrics"); code != 404 {
		t.Errorf("/metrics on the main listener = %d, want 404", code)
	}
}
