package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestSimStandalone starts `wecomapp sim` and uses the credentials it
// prints, as a developer pointing another client at it would.
func TestSimStandalone(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("log:\n  level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", cfgPath, "sim", "--addr", "127.0.0.1:0", "--seed", "demo"}, out, &syncBuffer{})
	}()
	base := regexp.MustCompile(`WeCom simulator serving at (http://\S+)`)
	secret := regexp.MustCompile(`contacts\s+secret=(\S+)`)
	corp := regexp.MustCompile(`corp id\s+(\S+)`)
	appSecret := regexp.MustCompile(`app hall\s+agent_id=\d+ secret=(\S+)`)
	var baseURL, sec, corpID, appSec string
	eventually(t, "the simulator's banner", func() bool {
		s := out.String()
		if m := base.FindStringSubmatch(s); m != nil {
			baseURL = m[1]
		}
		if m := secret.FindStringSubmatch(s); m != nil {
			sec = m[1]
		}
		if m := corp.FindStringSubmatch(s); m != nil {
			corpID = m[1]
		}
		if m := appSecret.FindStringSubmatch(s); m != nil {
			appSec = m[1]
		}
		return baseURL != "" && sec != "" && corpID != "" && appSec != ""
	})
	resp, err := http.Get(fmt.Sprintf("%s/cgi-bin/gettoken?corpid=%s&corpsecret=%s", baseURL, corpID, sec))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		ErrCode     int    `json:"errcode"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.ErrCode != 0 || tok.AccessToken == "" || tok.ExpiresIn != 7200 {
		t.Fatalf("gettoken with the printed credentials: %+v", tok)
	}
	// Today's rules by default: the contacts-sync secret cannot read
	// department details (48009); the app can, and the demo university is
	// there: its root department is the university.
	if code := getErrcode(t, baseURL+"/cgi-bin/department/get?id=1&access_token="+tok.AccessToken); code != 48009 {
		t.Errorf("contacts-sync department/get: errcode %d, want 48009", code)
	}
	resp, err = http.Get(fmt.Sprintf("%s/cgi-bin/gettoken?corpid=%s&corpsecret=%s", baseURL, corpID, appSec))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	resp, err = http.Get(baseURL + "/cgi-bin/department/get?id=1&access_token=" + tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	var dept struct {
		ErrCode    int `json:"errcode"`
		Department struct {
			Name string `json:"name"`
		} `json:"department"`
	}
	json.NewDecoder(resp.Body).Decode(&dept)
	resp.Body.Close()
	if dept.ErrCode != 0 || dept.Department.Name != "海滨大学" {
		t.Fatalf("department 1 = %+v", dept)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sim returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop")
	}
}

func getErrcode(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.ErrCode
}
