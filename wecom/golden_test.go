package wecom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/wecom"
)

// The golden files in testdata/golden are WeCom's documented request
// samples (see the README there). Each one the client can send is built
// here with the client's own types — the documented body decoded into them
// with unknown keys refused, so a tag that does not match the documented
// name fails — and sent through the real client to a recording server; the
// JSON it sends must mean the same as the sample. The simulator checks the
// same files from its side, with its own types.

// notSentByClient are goldens of message types the client has no body for.
var notSentByClient = []string{"send_file", "send_image", "send_mpnews", "send_video", "send_voice"}

// wireRecorder answers gettoken and records every other request body.
type wireRecorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte // path → last body
}

func newWireRecorder(t *testing.T) *wireRecorder {
	t.Helper()
	wr := &wireRecorder{bodies: map[string][]byte{}}
	wr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/cgi-bin/gettoken" {
			_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"TOKEN","expires_in":7200}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		wr.mu.Lock()
		wr.bodies[r.URL.Path] = b
		wr.mu.Unlock()
		// invaliduser is a string in message/send, an array in
		// update_template_card.
		if r.URL.Path == "/cgi-bin/message/update_template_card" {
			_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","invaliduser":[]}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","msgid":"m1"}`)
	}))
	t.Cleanup(wr.srv.Close)
	return wr
}

func (wr *wireRecorder) body(t *testing.T, path string) map[string]any {
	t.Helper()
	wr.mu.Lock()
	b := wr.bodies[path]
	wr.mu.Unlock()
	if b == nil {
		t.Fatalf("nothing sent to %s", path)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s body %s: %v", path, b, err)
	}
	return m
}

// strictDecode decodes a documented object into a client type, refusing
// keys the type has no field for.
func strictDecode(t *testing.T, what string, raw json.RawMessage, dst any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		t.Fatalf("%s: the client's type does not take the documented sample: %v", what, err)
	}
}

// normalize drops what carries no meaning on the wire: scalar zero values
// (false, 0, ""), which WeCom reads as the documented defaults whether sent
// or left out; enable_id_trans (third-party apps only; the client never
// sets it); and duplicate_check_interval while the duplicate check is off.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k == "enable_id_trans" {
				continue
			}
			if n := normalize(e); n != nil {
				out[k] = n
			}
		}
		if _, on := out["enable_duplicate_check"]; !on {
			delete(out, "duplicate_check_interval")
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, normalize(e))
		}
		return out
	case bool:
		if !x {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

func splitPipe(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

func TestGoldenRequests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	wr := newWireRecorder(t)
	corp, err := wecom.New(wecom.Options{CorpID: "wwcorp", BaseURL: wr.srv.URL, Registerer: prometheus.NewRegistry(),
		Apps: []wecom.AppConfig{{Name: "app", AgentID: 1, Secret: "secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := corp.App("app")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			if slices.Contains(notSentByClient, name) {
				t.Skipf("the client sends no %s", strings.TrimPrefix(name, "send_"))
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var golden map[string]json.RawMessage
			if err := json.Unmarshal(raw, &golden); err != nil {
				t.Fatal(err)
			}
			var api string
			switch {
			case strings.HasPrefix(name, "send_"):
				api = "/cgi-bin/message/send"
				sendGolden(t, ctx, cl, golden)
			case strings.HasPrefix(name, "update_"):
				api = "/cgi-bin/message/update_template_card"
				updateGolden(t, ctx, cl, golden)
			case name == "recall":
				api = "/cgi-bin/message/recall"
				var id string
				mustDecode(t, golden["msgid"], &id)
				if err := cl.RecallMessage(ctx, id); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("golden %s: no client call for it; add one or list it in notSentByClient", name)
			}
			var want any
			mustDecode(t, raw, &want)
			if d := cmp.Diff(normalize(want), normalize(wr.body(t, api))); d != "" {
				t.Errorf("%s: the client's request differs from the documented sample (-doc +client):\n%s", name, d)
			}
		})
	}
}

func mustDecode(t *testing.T, raw []byte, dst any) {
	t.Helper()
	if err := json.Unmarshal(raw, dst); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

func sendGolden(t *testing.T, ctx context.Context, cl *wecom.Client, g map[string]json.RawMessage) {
	t.Helper()
	var env struct {
		ToUser                 string `json:"touser"`
		ToParty                string `json:"toparty"`
		ToTag                  string `json:"totag"`
		MsgType                string `json:"msgtype"`
		Safe                   int    `json:"safe"`
		EnableDuplicateCheck   int    `json:"enable_duplicate_check"`
		DuplicateCheckInterval int    `json:"duplicate_check_interval"`
	}
	all, _ := json.Marshal(g)
	mustDecode(t, all, &env)
	m := &wecom.Message{ToUser: splitPipe(env.ToUser), ToParty: splitPipe(env.ToParty), ToTag: splitPipe(env.ToTag),
		Safe: env.Safe, EnableDuplicateCheck: env.EnableDuplicateCheck == 1, DuplicateCheckInterval: env.DuplicateCheckInterval}
	body := g[env.MsgType]
	switch env.MsgType {
	case wecom.MsgText:
		m.Text = new(wecom.Text)
		strictDecode(t, "text", body, m.Text)
	case wecom.MsgTextCard:
		m.TextCard = new(wecom.TextCard)
		strictDecode(t, "textcard", body, m.TextCard)
	case wecom.MsgNews:
		m.News = new(wecom.News)
		strictDecode(t, "news", body, m.News)
	case wecom.MsgMarkdown:
		m.Markdown = new(wecom.Markdown)
		strictDecode(t, "markdown", body, m.Markdown)
	case wecom.MsgTemplateCard:
		m.TemplateCard = new(wecom.TemplateCard)
		strictDecode(t, "template_card", body, m.TemplateCard)
	default:
		t.Fatalf("msgtype %q: the client has no body for it", env.MsgType)
	}
	if _, err := cl.SendMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
}

func updateGolden(t *testing.T, ctx context.Context, cl *wecom.Client, g map[string]json.RawMessage) {
	t.Helper()
	var req struct {
		UserIDs      []string        `json:"userids"`
		PartyIDs     []int           `json:"partyids"`
		TagIDs       []int           `json:"tagids"`
		AtAll        int             `json:"atall"`
		ResponseCode string          `json:"response_code"`
		Button       json.RawMessage `json:"button"`
		TemplateCard json.RawMessage `json:"template_card"`
	}
	all, _ := json.Marshal(g)
	mustDecode(t, all, &req)
	u := &wecom.CardUpdate{UserIDs: req.UserIDs, PartyIDs: req.PartyIDs, TagIDs: req.TagIDs, AtAll: req.AtAll == 1,
		ResponseCode: req.ResponseCode}
	if req.Button != nil {
		var b struct {
			ReplaceName string `json:"replace_name"`
		}
		strictDecode(t, "button", req.Button, &b)
		u.ReplaceName = b.ReplaceName
	}
	if req.TemplateCard != nil {
		u.Card = new(wecom.TemplateCard)
		strictDecode(t, "template_card", req.TemplateCard, u.Card)
	}
	if _, err := cl.UpdateTemplateCard(ctx, u); err != nil {
		t.Fatal(err)
	}
}
