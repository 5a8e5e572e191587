// Package archtest guards the dependency rules of ARCHITECTURE.md: gin
// stays in handler/ and cmd/, only wecom/ talks to WeCom through
// silenceper, and the low layers import no domain package.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/wecomapp/wecomapp"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	dec := json.NewDecoder(out)
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

func TestDependencyRules(t *testing.T) {
	rules := []struct {
		imported string   // import path prefix
		allowed  []string // package path prefixes (relative to the module) that may import it
	}{
		{"github.com/gin-gonic/gin", []string{"handler", "cmd/"}},
		{"github.com/silenceper/wechat", []string{"wecom"}},
		// internal/apptest starts the whole platform for page tests.
		{module + "/handler", []string{"cmd/", "internal/apptest"}},
		{module + "/config", []string{"cmd/"}},
		{"github.com/tencentcloud/tencentcloud-sdk-go", []string{"sms"}},
	}
	// Lower layers must not import domain packages.
	leaves := map[string][]string{
		"coord":  {"store", "wecom", "inbox", "handler", "config"},
		"store":  {"wecom", "inbox", "handler", "config", "coord"},
		"config": {"store", "wecom", "inbox", "handler", "coord"},
		"wecom":  {"store", "inbox", "handler", "config"},
		"inbox":  {"handler", "config"},
		// Domain packages take plain values: no HTTP layer, no config.
		"auth":       {"handler", "config", "workbench", "inbox"},
		"workbench":  {"handler", "config", "auth", "inbox"},
		"cas":        {"store", "wecom", "inbox", "handler", "config", "coord", "auth"},
		"contacts":   {"handler", "config", "inbox", "workbench", "auth"},
		"datacenter": {"handler", "config", "inbox", "workbench", "auth", "wecom", "contacts"},
		"orgsync":    {"handler", "config", "inbox", "workbench", "auth"},
		"selfreg":    {"handler", "config", "inbox", "workbench", "wecom"},
		"guest":      {"handler", "config", "inbox", "workbench", "wecom"},
		"hall":       {"handler", "config", "inbox", "workbench", "auth"},
		"datamod":    {"handler", "config", "inbox", "workbench", "auth", "wecom", "notify"},
		"attendance": {"handler", "config", "inbox", "workbench", "auth", "notify"},
		"classgroup": {"handler", "config", "inbox", "workbench", "auth"},
		"notify":     {"handler", "config", "inbox", "workbench", "auth", "orgsync"},
		"calendar":   {"handler", "config", "inbox", "workbench", "auth", "wecom", "contacts"},
		"reminder":   {"handler", "config", "inbox", "workbench", "auth", "wecom"},
		"apikey":     {"handler", "config", "inbox", "workbench", "auth"},
		"sms":        {"store", "wecom", "inbox", "handler", "config", "coord", "contacts", "notify"},
	}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range p.Imports {
			for _, r := range rules {
				if !strings.HasPrefix(imp, r.imported) {
					continue
				}
				ok := false
				for _, a := range r.allowed {
					ok = ok || rel == strings.TrimSuffix(a, "/") || strings.HasPrefix(rel, a)
				}
				if !ok {
					t.Errorf("%s imports %s; only %v may", p.ImportPath, imp, r.allowed)
				}
			}
			for leaf, banned := range leaves {
				if rel != leaf && !strings.HasPrefix(rel, leaf+"/") {
					continue
				}
				if strings.HasSuffix(rel, "test") { // coordtest, storetest import their parent and testenv
					continue
				}
				for _, b := range banned {
					if imp == module+"/"+b || strings.HasPrefix(imp, module+"/"+b+"/") {
						if leaf == "wecom" && strings.HasPrefix(rel, "wecom/wecomsim") {
							continue
						}
						t.Errorf("%s imports %s: %s must stay below %s", p.ImportPath, imp, leaf, b)
					}
				}
			}
		}
	}
}
