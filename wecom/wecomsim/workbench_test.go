package wecomsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func keydata(n int) obj {
	items := []obj{}
	for i := 0; i < n; i++ {
		items = append(items, obj{"key": fmt.Sprint("指标", i), "data": fmt.Sprint(i), "jump_url": "https://h5.example.edu.cn/k"})
	}
	return obj{"items": items}
}

// jsonOf re-encodes a decoded answer part for comparison.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWorkbenchTemplateAndData(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	const tmplPath, dataPath = "/cgi-bin/agent/set_workbench_template", "/cgi-bin/agent/set_workbench_data"

	// Before any template: the plain icon.
	r := e.post("/cgi-bin/agent/get_workbench_template", app, obj{"agentid": 1000002})
	want(t, r, 0)
	if r.str("type") != "normal" || r["replace_user_data"] != false {
		t.Errorf("template before any set: %v", r)
	}

	want(t, e.post(tmplPath, app, obj{"agentid": 1000002, "type": "keydata", "keydata": keydata(2)}), 0)
	r = e.post("/cgi-bin/agent/get_workbench_template", app, obj{"agentid": 1000002})
	want(t, r, 0)
	if r.str("type") != "keydata" || jsonOf(t, r["keydata"]) != jsonOf(t, keydata(2)) || r["replace_user_data"] != false {
		t.Errorf("template: %v", r)
	}

	mine := obj{"items": []obj{{"key": "待办", "data": "3"}}}
	want(t, e.post(dataPath, app, obj{"agentid": 1000002, "userid": "LiHua", "type": "keydata", "keydata": mine}), 0)
	r = e.post("/cgi-bin/agent/get_workbench_data", app, obj{"agentid": 1000002, "userid": "lihua"})
	want(t, r, 0)
	if got := jsonOf(t, r["data"]); got != jsonOf(t, obj{"type": "keydata", "keydata": mine}) {
		t.Errorf("lihua's data: %s", got)
	}
	// Someone without data of their own sees the template's.
	r = e.post("/cgi-bin/agent/get_workbench_data", app, obj{"agentid": 1000002, "userid": "chenjing"})
	if got := jsonOf(t, r["data"]); got != jsonOf(t, obj{"type": "keydata", "keydata": keydata(2)}) {
		t.Errorf("chenjing's data: %s", got)
	}

	tile, err := e.sim.WorkbenchTile(1000002, "lihua")
	if err != nil {
		t.Fatal(err)
	}
	wantTile := WorkbenchTile{AgentID: 1000002, UserID: "lihua", Visible: true, Custom: true, Source: "user",
		Data: WorkbenchData{Type: "keydata", KeyData: &WorkbenchKeyDataBody{Items: []WorkbenchKeyDataItem{{Key: "待办", Data: "3"}}}}}
	if diff := cmp.Diff(wantTile, tile, cmpIgnoreTemplate); diff != "" {
		t.Errorf("tile (-want +got):\n%s", diff)
	}
	if tile.Template == nil || tile.Template.Type != "keydata" || len(tile.Template.KeyData.Items) != 2 {
		t.Errorf("tile template %+v", tile.Template)
	}

	// Over the admin API.
	st, b := e.do(http.MethodGet, AdminPrefix+"workbench", url.Values{"agentid": {"1000002"}, "userid": {"chenjing"}}, nil, "")
	var viaAdmin WorkbenchTile
	if err := json.Unmarshal(b, &viaAdmin); err != nil || st != 200 {
		t.Fatalf("admin workbench: %d %s", st, b)
	}
	if viaAdmin.Source != "template" || viaAdmin.Data.KeyData == nil || len(viaAdmin.Data.KeyData.Items) != 2 {
		t.Errorf("admin tile %+v", viaAdmin)
	}
	want(t, e.decode(e.do(http.MethodGet, AdminPrefix+"workbench", url.Values{"agentid": {"1000009"}}, nil, "")), 40056)

	// A template of another type hides the members' keydata; replace_user_data
	// drops it for good.
	want(t, e.post(tmplPath, app, obj{"agentid": 1000002, "type": "image", "image": obj{"url": "https://h5.example.edu.cn/banner.png"}}), 0)
	if tile, _ := e.sim.WorkbenchTile(1000002, "lihua"); tile.Source != "template" || tile.Data.Type != "image" {
		t.Errorf("after a type change lihua sees %+v", tile)
	}
	want(t, e.post(tmplPath, app, obj{"agentid": 1000002, "type": "keydata", "keydata": keydata(1), "replace_user_data": true}), 0)
	if tile, _ := e.sim.WorkbenchTile(1000002, "lihua"); tile.Source != "template" || len(tile.Data.KeyData.Items) != 1 {
		t.Errorf("after replace_user_data lihua sees %+v", tile)
	}
	r = e.post("/cgi-bin/agent/get_workbench_template", app, obj{"agentid": 1000002})
	if r["replace_user_data"] != true {
		t.Errorf("replace_user_data not kept: %v", r)
	}
	if users := e.sim.WorkbenchUsers(1000002); len(users) != 0 {
		t.Errorf("members with data after replace: %v", users)
	}

	// Webview: the documented default height is filled in.
	want(t, e.post(tmplPath, app, obj{"agentid": 1000002, "type": "webview", "webview": obj{"url": "https://h5.example.edu.cn/tile", "hide_title": true}}), 0)
	r = e.post("/cgi-bin/agent/get_workbench_template", app, obj{"agentid": 1000002})
	if wv := r["webview"].(map[string]any); wv["height"] != "double_row" || wv["hide_title"] != true || wv["enable_webview_click"] != false {
		t.Errorf("webview template %v", wv)
	}
	// normal reverts to the plain icon.
	want(t, e.post(tmplPath, app, obj{"agentid": 1000002, "type": "normal"}), 0)
	if tile, _ := e.sim.WorkbenchTile(1000002, "lihua"); tile.Custom || tile.Data.Type != "normal" {
		t.Errorf("after normal: %+v", tile)
	}
}

var cmpIgnoreTemplate = cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Template" }, cmp.Ignore())

func TestWorkbenchRules(t *testing.T) {
	e := newEnv(t)
	app, counselor := e.app(), e.counselor()
	long := strings.Repeat("字", 43) // 129 bytes
	data := func(typ string, body any) obj {
		o := obj{"agentid": 1000002, "userid": "lihua", "type": typ}
		if body != nil {
			o[typ] = body
		}
		return o
	}
	tests := []struct {
		name  string
		path  string
		token string
		body  any
		code  int
	}{
		{"keydata 4 items", "set_workbench_data", app, data("keydata", keydata(4)), 0},
		{"keydata 5 items", "set_workbench_data", app, data("keydata", keydata(5)), 40058},
		{"keydata 5 items in the template", "set_workbench_template", app, obj{"agentid": 1000002, "type": "keydata", "keydata": keydata(5)}, 40058},
		{"list 3 items", "set_workbench_data", app, data("list", obj{"items": []obj{{"title": "a"}, {"title": "b"}, {"title": "c"}}}), 0},
		{"list 4 items", "set_workbench_data", app, data("list", obj{"items": []obj{{"title": "a"}, {"title": "b"}, {"title": "c"}, {"title": "d"}}}), 40058},
		{"list title 128 bytes", "set_workbench_data", app, data("list", obj{"items": []obj{{"title": long[:126] + "ab"}}}), 0},
		{"list title 129 bytes", "set_workbench_data", app, data("list", obj{"items": []obj{{"title": long}}}), 40058},
		{"webview single_row", "set_workbench_data", app, data("webview", obj{"url": "https://a.example/", "height": "single_row"}), 0},
		{"webview bad height", "set_workbench_data", app, data("webview", obj{"url": "https://a.example/", "height": "triple_row"}), 40058},
		{"webview without url", "set_workbench_data", app, data("webview", obj{"height": "single_row"}), 40058},
		{"image without url", "set_workbench_data", app, data("image", obj{"jump_url": "https://a.example/"}), 40058},
		{"type without body", "set_workbench_data", app, data("list", nil), 40058},
		{"template type without body", "set_workbench_template", app, obj{"agentid": 1000002, "type": "list"}, 0},
		{"normal user data", "set_workbench_data", app, data("normal", nil), 40058},
		{"unknown type", "set_workbench_template", app, obj{"agentid": 1000002, "type": "chart"}, 40058},
		{"no type", "set_workbench_template", app, obj{"agentid": 1000002}, 40058},
		{"items not an array", "set_workbench_data", app, data("keydata", obj{"items": "x"}), 40058},
		{"misspelt item key", "set_workbench_data", app, data("keydata", obj{"items": []obj{{"key": "待办", "data": "3", "jumpurl": "https://a.example/"}}}), 40058},
		{"webview key on an image", "set_workbench_data", app, data("image", obj{"url": "https://a.example/", "height": "single_row"}), 40058},
		{"body of another type", "set_workbench_data", app, func() obj { d := data("image", obj{"url": "https://a.example/"}); d["list"] = obj{}; return d }(), 40058},
		{"misspelt replace_user_data", "set_workbench_template", app, obj{"agentid": 1000002, "type": "normal", "replace_userdata": true}, 40058},
		{"agentid missing", "set_workbench_data", app, obj{"userid": "lihua", "type": "list", "list": obj{}}, 41011},
		{"unknown agentid", "get_workbench_template", app, obj{"agentid": 1000009}, 40056},
		{"another app's agentid", "get_workbench_template", counselor, obj{"agentid": 1000002}, 301002},
		{"contacts-sync token", "get_workbench_template", e.contacts(), obj{"agentid": 1000002}, 48002},
		{"unknown member", "set_workbench_data", app, obj{"agentid": 1000002, "userid": "nobody", "type": "list", "list": obj{}}, 60111},
		{"member outside the visible range", "set_workbench_data", counselor, obj{"agentid": 1000003, "userid": "chenjing", "type": "list", "list": obj{}}, 60021},
		{"member inside the visible range", "set_workbench_data", counselor, obj{"agentid": 1000003, "userid": "s2023001", "type": "list", "list": obj{}}, 0},
		{"get for a member outside the range", "get_workbench_data", counselor, obj{"agentid": 1000003, "userid": "chenjing"}, 60021},
		{"GET instead of POST", "", app, nil, 40063},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.Advance(time.Minute) // stay under 10 set_workbench_data a minute
			if tc.path == "" {
				want(t, e.get("/cgi-bin/agent/set_workbench_data", tc.token), tc.code)
				return
			}
			want(t, e.post("/cgi-bin/agent/"+tc.path, tc.token, tc.body), tc.code)
		})
	}
}

func TestWorkbenchDataFrequency(t *testing.T) {
	e := newEnv(t)
	app := e.app()
	body := func(user string) obj {
		return obj{"agentid": 1000002, "userid": user, "type": "list", "list": obj{"items": []obj{{"title": "通知"}}}}
	}
	for i := 1; i <= 10; i++ {
		want(t, e.post("/cgi-bin/agent/set_workbench_data", app, body("lihua")), 0)
	}
	want(t, e.post("/cgi-bin/agent/set_workbench_data", app, body("lihua")), 45009)
	// Per member: another member is not affected, nor is the batch API.
	want(t, e.post("/cgi-bin/agent/set_workbench_data", app, body("wangfang")), 0)
	want(t, e.post("/cgi-bin/agent/batch_set_workbench_data", app, obj{"agentid": 1000002, "userid_list": []string{"lihua"},
		"data": obj{"type": "list", "list": obj{"items": []obj{}}}}), 0)
	// The block lasts the minute.
	e.sim.Advance(59 * time.Second)
	want(t, e.post("/cgi-bin/agent/set_workbench_data", app, body("lihua")), 45009)
	e.sim.Advance(2 * time.Second)
	want(t, e.post("/cgi-bin/agent/set_workbench_data", app, body("lihua")), 0)
}

func TestWorkbenchBatch(t *testing.T) {
	e := newEnv(t)
	app, counselor := e.app(), e.counselor()
	const path = "/cgi-bin/agent/batch_set_workbench_data"
	data := obj{"type": "image", "image": obj{"url": "https://h5.example.edu.cn/b.png", "jump_url": "https://h5.example.edu.cn/"}}

	want(t, e.post(path, app, obj{"agentid": 1000002, "userid_list": []string{"wangfang", "chenjing"}, "data": data}), 0)
	if got := e.sim.WorkbenchUsers(1000002); !cmp.Equal(got, []string{"chenjing", "wangfang"}) {
		t.Errorf("members with data: %v", got)
	}
	// The tile shows it once the template has the same type.
	want(t, e.post("/cgi-bin/agent/set_workbench_template", app, obj{"agentid": 1000002, "type": "image"}), 0)
	r := e.post("/cgi-bin/agent/get_workbench_data", app, obj{"agentid": 1000002, "userid": "chenjing"})
	if jsonOf(t, r["data"]) != jsonOf(t, data) {
		t.Errorf("chenjing's data %v", r["data"])
	}
	// Without its own data, lihua sees the template, which has no image.
	r = e.post("/cgi-bin/agent/get_workbench_data", app, obj{"agentid": 1000002, "userid": "lihua"})
	if jsonOf(t, r["data"]) != `{"type":"image"}` {
		t.Errorf("lihua's data %v", r["data"])
	}

	many := make([]string, 1001)
	for i := range many {
		many[i] = "lihua"
	}
	want(t, e.post(path, app, obj{"agentid": 1000002, "userid_list": many, "data": data}), 40032)
	want(t, e.post(path, app, obj{"agentid": 1000002, "userid_list": []string{}, "data": data}), 40058)
	want(t, e.post(path, app, obj{"agentid": 1000002, "userid_list": []string{"lihua"}}), 40058)
	// The flat single-member shape is not the batch shape.
	want(t, e.post(path, app, obj{"agentid": 1000002, "userid_list": []string{"lihua"}, "type": "image", "image": data["image"]}), 40058)
	// All or nothing.
	want(t, e.post(path, app, obj{"agentid": 1000002, "userid_list": []string{"lihua", "nobody"}, "data": data}), 60111)
	want(t, e.post(path, counselor, obj{"agentid": 1000003, "userid_list": []string{"s2023001", "chenjing"}, "data": data}), 60021)
	if got := e.sim.WorkbenchUsers(1000002); !cmp.Equal(got, []string{"chenjing", "wangfang"}) {
		t.Errorf("a failed batch changed data: %v", got)
	}
	if got := e.sim.WorkbenchUsers(1000003); len(got) != 0 {
		t.Errorf("a failed batch changed data: %v", got)
	}
	e.sim.Reset()
	if tile, _ := e.sim.WorkbenchTile(1000002, "chenjing"); tile.Custom || tile.Template != nil {
		t.Errorf("Reset kept the workbench: %+v", tile)
	}
}
