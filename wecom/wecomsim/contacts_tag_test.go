package wecomsim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTagCreateUpdateDelete(t *testing.T) {
	e := newEnv(t)
	c, a, b := e.contacts(), e.app(), e.counselor()
	appTag := e.post("/cgi-bin/tag/create", a, map[string]any{"tagname": "应用标签"})
	want(t, appTag, 0)
	if appTag.str("errmsg") != "created" || appTag["tagid"].(float64) != 3 {
		t.Fatalf("%v", appTag)
	}
	syncTag := e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": "同步标签", "tagid": 50})
	want(t, syncTag, 0)

	tests := []struct {
		name string
		call func() resp
		want int
	}{
		{"name exists", func() resp { return e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": "辅导员"}) }, 40071},
		{"name empty", func() resp { return e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": ""}) }, 40072},
		{"name 33 characters", func() resp {
			return e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": strings.Repeat("标", 33)})
		}, 40072},
		{"tagid exists", func() resp { return e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": "新", "tagid": 1}) }, 40068},
		{"another app cannot rename", func() resp {
			return e.post("/cgi-bin/tag/update", b, map[string]any{"tagid": 3, "tagname": "改"})
		}, 60011},
		{"contacts cannot rename an app's tag", func() resp {
			return e.post("/cgi-bin/tag/update", c, map[string]any{"tagid": 3, "tagname": "改"})
		}, 60011},
		{"app cannot rename the console's tag", func() resp {
			return e.post("/cgi-bin/tag/update", a, map[string]any{"tagid": 1, "tagname": "改"})
		}, 60011},
		{"contacts may rename the console's tag", func() resp {
			return e.post("/cgi-bin/tag/update", c, map[string]any{"tagid": 1, "tagname": "辅导员们"})
		}, 0},
		{"owner renames", func() resp {
			return e.post("/cgi-bin/tag/update", a, map[string]any{"tagid": 3, "tagname": "应用标签2"})
		}, 0},
		{"rename to a taken name", func() resp {
			return e.post("/cgi-bin/tag/update", a, map[string]any{"tagid": 3, "tagname": "全体教师"})
		}, 40071},
		{"update unknown", func() resp { return e.post("/cgi-bin/tag/update", a, map[string]any{"tagid": 99, "tagname": "x"}) }, 40068},
		{"app cannot delete sync's tag", func() resp { return e.get("/cgi-bin/tag/delete", a, "tagid", "50") }, 60011},
		{"delete unknown", func() resp { return e.get("/cgi-bin/tag/delete", a, "tagid", "99") }, 40068},
		{"owner deletes", func() resp { return e.get("/cgi-bin/tag/delete", c, "tagid", "50") }, 0},
		{"every token may list", func() resp { return e.get("/cgi-bin/tag/list", b) }, 0},
		{"every token may get", func() resp { return e.get("/cgi-bin/tag/get", b, "tagid", "3") }, 0},
		{"get unknown", func() resp { return e.get("/cgi-bin/tag/get", b, "tagid", "50") }, 40068},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { want(t, tt.call(), tt.want) })
	}
	list := e.get("/cgi-bin/tag/list", c)["taglist"].([]any)
	var names []string
	for _, x := range list {
		names = append(names, x.(map[string]any)["tagname"].(string))
	}
	if d := cmp.Diff([]string{"辅导员们", "全体教师", "应用标签2"}, names); d != "" {
		t.Fatal(d)
	}
}

func TestTagCap(t *testing.T) {
	e := newEnv(t)
	e.sim.mu.Lock()
	e.sim.st.cap.maxTags = 3
	e.sim.mu.Unlock()
	c := e.contacts()
	want(t, e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": "第三"}), 0)
	want(t, e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": "第四"}), 40126)
}

func TestTagMembers(t *testing.T) {
	e := newEnv(t)
	c, b := e.contacts(), e.counselor()
	tagID := e.post("/cgi-bin/tag/create", c, map[string]any{"tagname": "班委"})["tagid"].(float64)
	var many []string
	for i := 0; i < 1001; i++ {
		many = append(many, fmt.Sprintf("u%d", i))
	}
	var manyParties []int
	for i := 0; i < 101; i++ {
		manyParties = append(manyParties, 2)
	}
	tests := []struct {
		name    string
		path    string
		body    any
		want    int
		invalid string
		parties []any
		errmsg  string
		token   string
	}{
		{name: "unknown tag", path: "addtagusers", body: map[string]any{"tagid": 99, "userlist": []string{"lihua"}}, want: 40068},
		{name: "both lists empty", path: "addtagusers", body: map[string]any{"tagid": tagID, "userlist": []string{}}, want: 40035},
		{name: "both lists absent", path: "addtagusers", body: map[string]any{"tagid": tagID}, want: 40035},
		{name: "string instead of array", path: "addtagusers", body: map[string]any{"tagid": tagID, "userlist": "lihua|chenjing"}, want: 40035},
		{name: "over 1000 users", path: "addtagusers", body: map[string]any{"tagid": tagID, "userlist": many}, want: 81014},
		{name: "over 100 parties", path: "addtagusers", body: map[string]any{"tagid": tagID, "partylist": manyParties}, want: 81014},
		{name: "all invalid on add", path: "addtagusers", body: map[string]any{"tagid": tagID, "userlist": []string{"ghost"}, "partylist": []int{999}}, want: 40070},
		{name: "partial add", path: "addtagusers",
			body: map[string]any{"tagid": tagID, "userlist": []string{"s2023001", "ghost", "s2023002", "nobody"}, "partylist": []int{3, 999, 998}},
			want: 0, invalid: "ghost|nobody", parties: []any{999.0, 998.0}, errmsg: "ok"},
		{name: "clean add has no invalid fields", path: "addtagusers", body: map[string]any{"tagid": tagID, "userlist": []string{"lihua"}}, want: 0, errmsg: "ok"},
		{name: "all invalid on delete", path: "deltagusers", body: map[string]any{"tagid": tagID, "userlist": []string{"ghost"}}, want: 40031},
		{name: "partial delete", path: "deltagusers", body: map[string]any{"tagid": tagID, "userlist": []string{"s2023001", "ghost"}, "partylist": []int{3}},
			want: 0, invalid: "ghost", errmsg: "deleted"},
		{name: "app may not edit sync's tag", path: "addtagusers", token: "counselor", body: map[string]any{"tagid": tagID, "userlist": []string{"s2023003"}}, want: 60011},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := c
			if tt.token == "counselor" {
				tok = b
			}
			r := e.post("/cgi-bin/tag/"+tt.path, tok, tt.body)
			want(t, r, tt.want)
			if tt.want != 0 {
				return
			}
			if r.str("errmsg") != tt.errmsg {
				t.Errorf("errmsg %q, want %q", r.str("errmsg"), tt.errmsg)
			}
			if got, ok := r["invalidlist"]; (tt.invalid == "") == ok || (ok && got != tt.invalid) {
				t.Errorf("invalidlist %v, want %q", got, tt.invalid)
			}
			if d := cmp.Diff(tt.parties, r["invalidparty"]); tt.parties != nil && d != "" {
				t.Errorf("invalidparty: %s", d)
			}
		})
	}
	got := e.get("/cgi-bin/tag/get", c, "tagid", ftoa(tagID))
	var users []string
	for _, u := range got["userlist"].([]any) {
		users = append(users, u.(map[string]any)["userid"].(string))
	}
	if d := cmp.Diff([]string{"s2023002", "lihua"}, users); d != "" {
		t.Fatalf("tag members: %s", d)
	}
	if len(got["partylist"].([]any)) != 0 {
		t.Fatalf("partylist %v", got["partylist"])
	}

	t.Run("app tags only within its visible range", func(t *testing.T) {
		own := e.post("/cgi-bin/tag/create", b, map[string]any{"tagname": "我的学生"})["tagid"].(float64)
		r := e.post("/cgi-bin/tag/addtagusers", b, map[string]any{"tagid": own, "userlist": []string{"s2023001", "chenjing"}, "partylist": []int{8, 3}})
		want(t, r, 0)
		if r.str("invalidlist") != "chenjing" || cmp.Diff([]any{3.0}, r["invalidparty"]) != "" {
			t.Fatalf("%v", r)
		}
		// tag/get through the app shows only visible members.
		g := e.get("/cgi-bin/tag/get", b, "tagid", "2")
		if len(g["userlist"].([]any)) != 0 || len(g["partylist"].([]any)) != 0 {
			t.Fatalf("app sees outside its range: %v", g)
		}
	})
}

func TestTagNodeCap(t *testing.T) {
	e := newEnv(t)
	e.sim.mu.Lock()
	e.sim.st.cap.maxTagNodes = 4
	e.sim.mu.Unlock()
	c := e.contacts()
	want(t, e.post("/cgi-bin/tag/addtagusers", c, map[string]any{"tagid": 2, "userlist": []string{"lihua"}}), 0)
	want(t, e.post("/cgi-bin/tag/addtagusers", c, map[string]any{"tagid": 2, "userlist": []string{"chenjing"}}), 81003)
}
