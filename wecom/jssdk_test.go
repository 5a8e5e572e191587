package wecom

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/silenceper/wechat/v2/util"
)

// TestSignJSAPIOfficialVector is the vector of docs 96909/90506.
func TestSignJSAPIOfficialVector(t *testing.T) {
	const (
		ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
		nonce  = "Wm3WZYTPz0wzccnW"
		ts     = 1414587457
		page   = "http://mp.weixin.qq.com?params=value"
		want   = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
	)
	tests := []struct{ name, url string }{
		{"as given", page},
		{"fragment stripped", page + "#/route?x=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignJSAPI(ticket, nonce, ts, tt.url); got != want {
				t.Errorf("SignJSAPI = %s, want %s", got, want)
			}
		})
	}
}

func TestNonceStr(t *testing.T) {
	n, err := nonceStr()
	if err != nil || len(n) != 16 || strings.Trim(n, nonceAlphabet) != "" {
		t.Fatalf("nonceStr = %q, %v", n, err)
	}
}

func TestValidState(t *testing.T) {
	tests := []struct {
		state string
		ok    bool
	}{
		{"abc123XYZ", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"a-b", false},
		{"a b", false},
		{"状态", false},
	}
	for _, tt := range tests {
		if err := ValidState(tt.state); (err == nil) != tt.ok {
			t.Errorf("ValidState(%q) = %v, want ok=%v", tt.state, err, tt.ok)
		}
	}
}

func TestAuthorizeURL(t *testing.T) {
	corp, err := New(Options{CorpID: "wwcorp", OAuthBaseURL: "http://127.0.0.1:9/sim/", Apps: []AppConfig{{Name: "hall", AgentID: 1000002, Secret: "s"}},
		ContactSecret: "c", Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	hall, _ := corp.App("hall")
	contacts, _ := corp.Contacts()
	tests := []struct {
		name     string
		cl       *Client
		redirect string
		scope    string
		state    string
		want     string
		wantErr  bool
	}{
		{name: "base", cl: hall, redirect: "https://h5.example.edu.cn/oauth?next=/a b", scope: ScopeBase, state: "s1",
			want: "http://127.0.0.1:9/sim/connect/oauth2/authorize?appid=wwcorp&redirect_uri=https%3A%2F%2Fh5.example.edu.cn%2Foauth%3Fnext%3D%2Fa+b&response_type=code&scope=snsapi_base&state=s1&agentid=1000002#wechat_redirect"},
		{name: "privateinfo", cl: hall, redirect: "https://h5.example.edu.cn/cb", scope: ScopePrivateInfo, state: "x",
			want: "http://127.0.0.1:9/sim/connect/oauth2/authorize?appid=wwcorp&redirect_uri=https%3A%2F%2Fh5.example.edu.cn%2Fcb&response_type=code&scope=snsapi_privateinfo&state=x&agentid=1000002#wechat_redirect"},
		{name: "privateinfo needs an agentid", cl: contacts, redirect: "https://h5.example.edu.cn/cb", scope: ScopePrivateInfo, state: "x", wantErr: true},
		{name: "bad state", cl: hall, redirect: "https://h5.example.edu.cn/cb", scope: ScopeBase, state: "a&b", wantErr: true},
		{name: "bad scope", cl: hall, redirect: "https://h5.example.edu.cn/cb", scope: "snsapi_userinfo", state: "x", wantErr: true},
		{name: "relative redirect", cl: hall, redirect: "/cb", scope: ScopeBase, state: "x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cl.AuthorizeURL(tt.redirect, tt.scope, tt.state)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("AuthorizeURL =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestMalformedCodeRejectedLocally(t *testing.T) {
	corp, err := New(Options{CorpID: "wwcorp", BaseURL: "http://127.0.0.1:9", Apps: []AppConfig{{Name: "hall", AgentID: 1, Secret: "s"}}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	hall, _ := corp.App("hall")
	for _, code := range []string{"", "abc&debug=1", strings.Repeat("a", 513)} {
		if _, err := hall.GetUserInfo(context.Background(), code); !IsCode(err, CodeInvalidCode) {
			t.Errorf("GetUserInfo(%q) = %v, want a local 40029", code, err)
		}
	}
}

// TestUnroutedRequestRefused: silenceper used around the client must not
// reach WeCom (or the internet from a test).
func TestUnroutedRequestRefused(t *testing.T) {
	installSDK()
	resp, err := util.DefaultHTTPClient.Get("https://qyapi.weixin.qq.com/cgi-bin/user/get?access_token=x&userid=y")
	if err == nil {
		resp.Body.Close()
		t.Fatal("unrouted request was sent")
	}
	if !strings.Contains(err.Error(), errUnrouted.Error()) {
		t.Errorf("err = %v, want %v", err, errUnrouted)
	}
	if util.DefaultHTTPClient != sdkClient || util.DefaultHTTPClient.Transport == http.DefaultTransport {
		t.Error("silenceper's DefaultHTTPClient is not ours")
	}
}

func TestMessageWire(t *testing.T) {
	ok := func(m *Message) *Message { return m }
	tests := []struct {
		name    string
		m       *Message
		wantErr string
		wantTyp string
	}{
		{"text", ok(&Message{ToUser: []string{"a", "b"}, Text: &Text{Content: "hi"}}), "", MsgText},
		{"card", ok(&Message{ToTag: []string{"1"}, TemplateCard: &TemplateCard{CardType: CardTextNotice}}), "", MsgTemplateCard},
		{"two bodies", &Message{ToUser: []string{"a"}, Text: &Text{}, Markdown: &Markdown{}}, "exactly one", ""},
		{"no body", &Message{ToUser: []string{"a"}}, "exactly one", ""},
		{"no recipient", &Message{Text: &Text{Content: "x"}}, "no recipients", ""},
		{"too many users", &Message{ToUser: make([]string, 1001), Text: &Text{}}, "too many", ""},
		{"news without articles", &Message{ToUser: []string{"a"}, News: &News{}}, "1..8", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.m.wire(1000002)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.MsgType != tt.wantTyp || r.AgentID != 1000002 {
				t.Errorf("wire = %+v", r)
			}
		})
	}
	r, _ := (&Message{ToUser: []string{"a", "b"}, Text: &Text{Content: "<a href=\"x\">x</a>"}, EnableDuplicateCheck: true}).wire(7)
	b, _ := marshalNoEscape(r)
	if got, want := string(b), `{"touser":"a|b","msgtype":"text","agentid":7,"enable_duplicate_check":1,"text":{"content":"<a href=\"x\">x</a>"}}`; got != want {
		t.Errorf("message/send body =\n %s\nwant\n %s", got, want)
	}
}

// TestCardWireBodies pins the JSON of a button card send and of both
// update_template_card forms (§6).
func TestCardWireBodies(t *testing.T) {
	card := &TemplateCard{
		CardType:   CardButtonInteraction,
		TaskID:     "leave-42",
		MainTitle:  &CardTitle{Title: "请假申请"},
		ButtonList: []CardButton{{Text: "同意", Style: 1, Key: "approve"}, {Text: "驳回", Style: 2, Key: "reject"}},
	}
	r, err := (&Message{ToUser: []string{"lihua"}, TemplateCard: card}).wire(1000002)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := marshalNoEscape(r)
	want := `{"touser":"lihua","msgtype":"template_card","agentid":1000002,"template_card":{"card_type":"button_interaction","task_id":"leave-42","main_title":{"title":"请假申请"},"button_list":[{"text":"同意","style":1,"key":"approve"},{"text":"驳回","style":2,"key":"reject"}]}}`
	if string(b) != want {
		t.Errorf("send body =\n %s\nwant\n %s", b, want)
	}
	b, _ = marshalNoEscape(&cardUpdateRequest{UserIDs: []string{"lihua"}, AgentID: 1000002, ResponseCode: "RC", Button: &cardButton{ReplaceName: "已同意"}})
	if want := `{"userids":["lihua"],"agentid":1000002,"response_code":"RC","button":{"replace_name":"已同意"}}`; string(b) != want {
		t.Errorf("button update =\n %s\nwant\n %s", b, want)
	}
	c2 := *card
	c2.ReplaceText = "已同意"
	b, _ = marshalNoEscape(&cardUpdateRequest{AtAll: 1, AgentID: 1000002, ResponseCode: "RC", TemplateCard: &c2})
	if !strings.HasPrefix(string(b), `{"atall":1,"agentid":1000002,"response_code":"RC","template_card":{"card_type":"button_interaction"`) ||
		!strings.HasSuffix(string(b), `"replace_text":"已同意"}}`) {
		t.Errorf("card update = %s", b)
	}
	var out cardUpdateResponse
	if err := json.Unmarshal([]byte(`{"errcode":0,"errmsg":"ok","invaliduser":["u1"]}`), &out); err != nil || len(out.InvalidUsers) != 1 {
		t.Errorf("update response decode: %+v %v", out, err)
	}
	var sr sendResponse
	if err := json.Unmarshal([]byte(`{"errcode":0,"errmsg":"ok","invaliduser":"a|b","invalidparty":"2","msgid":"m","response_code":"rc"}`), &sr); err != nil || sr.InvalidUser != "a|b" {
		t.Errorf("send response decode: %+v %v", sr, err)
	}
}
