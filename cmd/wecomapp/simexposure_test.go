package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// The simulator's admin API is unauthenticated, so serve refuses to mount
// it wherever the deployment looks like production, naming the reason and
// the two ways out.
func TestServeRefusesExposedSimulator(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		why  string
	}{
		{"listen on every interface", []string{"WECOMAPP_SERVER_ADDR=0.0.0.0:0"}, "the listen address 0.0.0.0:0 (server.addr) is not loopback"},
		{"MySQL", []string{"WECOMAPP_DATABASE_DRIVER=mysql", "WECOMAPP_DATABASE_DSN=wecomapp@tcp(127.0.0.1:1)/wecomapp"}, "the database is MySQL"},
		{"Redis", []string{"WECOMAPP_REDIS_ADDR=127.0.0.1:1"}, "redis.addr is set"},
		{"explicit api_base", []string{"WECOMAPP_WECOM_API_BASE=https://qyapi.weixin.qq.com"}, "wecom.api_base is set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, append(tt.env, "WECOMAPP_SERVER_ADDR="+addrOr(tt.env)), "serve")
			if err == nil {
				t.Fatal("serve started")
			}
			for _, w := range []string{"refusing to mount the WeCom simulator", tt.why, "simulator.enabled: false", "simulator.allow_public: true"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if code := exitCode(err); code != 1 {
				t.Errorf("exit code %d", code)
			}
		})
	}
}

// addrOr keeps a test's own listen address, else a free loopback port.
func addrOr(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "WECOMAPP_SERVER_ADDR="); ok {
			return v
		}
	}
	return "127.0.0.1:0"
}

// simulator.allow_public mounts it anyway: a warning at start and a
// banner on every page, the platform's and the simulator's.
func TestServeAllowPublicSimulator(t *testing.T) {
	p := startPlatform(t, "WECOMAPP_SERVER_ADDR=0.0.0.0:0", "WECOMAPP_SIMULATOR_ALLOW_PUBLIC=true")
	defer p.stop(t)
	if !strings.Contains(p.stderr.String(), "simulator.allow_public") {
		t.Errorf("no warning at start:\n%s", p.stderr.String())
	}
	if code, body := get(t, p.URL+"/"); code != 200 || !strings.Contains(body, `class="simulator-public"`) {
		t.Errorf("home page: %d, banner %v", code, strings.Contains(body, "simulator-public"))
	}
	if code, body := get(t, p.URL+"/wecomsim/phone"); code != 200 || !strings.Contains(body, wecomsim.PublicBanner) {
		t.Errorf("phone page: %d, banner %v", code, strings.Contains(body, wecomsim.PublicBanner))
	}
}

// On loopback (the embedded default) there is no banner, and the admin API
// still refuses what a web page could send.
func TestLocalSimulatorAdminGuards(t *testing.T) {
	p := startPlatform(t)
	defer p.stop(t)
	if _, body := get(t, p.URL+"/"); strings.Contains(body, "simulator-public") {
		t.Error("banner on a local run")
	}
	code, _ := postRaw(t, p.URL+"/wecomsim/sim/api/members/text", "text/plain", `{"userid":"T00001","agentid":1000002,"content":"help"}`, nil)
	if code != 415 {
		t.Errorf("members/text as text/plain: HTTP %d, want 415", code)
	}
	code, _ = postRaw(t, p.URL+"/wecomsim/sim/api/members/text", "application/json", `{"userid":"T00001","agentid":1000002,"content":"help"}`,
		map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if code != 403 {
		t.Errorf("cross-site members/text: HTTP %d, want 403", code)
	}
	code, body := postRaw(t, p.URL+"/wecomsim/sim/api/contact-callback", "application/json", `{"url":"http://169.254.169.254/"}`, nil)
	if code != 403 || !strings.Contains(body, "callback_urls") {
		t.Errorf("contact-callback elsewhere: HTTP %d %s", code, body)
	}
	code, _ = postRaw(t, p.URL+"/wecomsim/sim/api/contact-callback", "application/json", `{"url":"`+p.URL+`/wecom/callback/contacts"}`, nil)
	if code != 200 {
		t.Errorf("contact-callback to our own receiver: HTTP %d", code)
	}
}

func postRaw(t *testing.T, url, contentType, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
