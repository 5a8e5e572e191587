package wecomsim

import (
	"strconv"
	"strings"
	"testing"
)

func TestDepartmentCreateRules(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"ok", map[string]any{"name": "数学学院", "parentid": 1, "order": 5}, 0},
		{"ok with id", map[string]any{"name": "物理学院", "parentid": 1, "id": 100}, 0},
		{"name missing", map[string]any{"parentid": 1}, 60001},
		{"name empty", map[string]any{"name": "", "parentid": 1}, 60001},
		{"name 33 characters", map[string]any{"name": strings.Repeat("院", 33), "parentid": 1}, 60001},
		{"name 32 characters", map[string]any{"name": strings.Repeat("院", 32), "parentid": 1}, 0},
		{"name_en too long", map[string]any{"name": "化学", "name_en": strings.Repeat("a", 33), "parentid": 1}, 60001},
		{"parent missing", map[string]any{"name": "孤儿"}, 60004},
		{"parent unknown", map[string]any{"name": "孤儿", "parentid": 999}, 60004},
		{"id exists", map[string]any{"name": "重复", "parentid": 1, "id": 2}, 60008},
		{"root id", map[string]any{"name": "重复", "parentid": 1, "id": 1}, 60008},
		{"negative id", map[string]any{"name": "负数", "parentid": 1, "id": -5}, 60123},
		{"name exists under the same parent", map[string]any{"name": "计算机学院", "parentid": 1}, 60008},
		{"same name under another parent", map[string]any{"name": "计算机学院", "parentid": 5}, 0},
		{"order out of range", map[string]any{"name": "大序", "parentid": 1, "order": 1 << 32}, 40058},
		{"id of the wrong type", map[string]any{"name": "类型", "parentid": "1"}, 40058},
	}
	for _, ch := range []string{`\`, ":", "*", "?", `"`, "<", ">", "|", "｜"} {
		tests = append(tests, struct {
			name string
			body map[string]any
			want int
		}{"illegal " + ch, map[string]any{"name": "a" + ch + "b", "parentid": 1}, 60009})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post("/cgi-bin/department/create", tok, tt.body)
			want(t, r, tt.want)
			if tt.want == 0 {
				if id, ok := tt.body["id"]; ok && r["id"].(float64) != float64(id.(int)) {
					t.Fatalf("id %v, want %v", r["id"], id)
				}
				if r.str("errmsg") != "created" {
					t.Fatalf("errmsg %q", r.str("errmsg"))
				}
			}
		})
	}
}

func TestDepartmentDepthAndCount(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	parent := 1.0
	for depth := 2; depth <= 15; depth++ {
		r := e.post("/cgi-bin/department/create", tok, map[string]any{"name": "层", "parentid": parent})
		want(t, r, 0)
		parent = r["id"].(float64)
	}
	want(t, e.post("/cgi-bin/department/create", tok, map[string]any{"name": "第16层", "parentid": parent}), 81002)
	// Moving a two-level subtree under depth 14 would make depth 16.
	want(t, e.post("/cgi-bin/department/update", tok, map[string]any{"id": 4, "parentid": parent - 1}), 81002)

	e.sim.mu.Lock()
	e.sim.st.cap.maxDepartments = len(e.sim.st.depts)
	e.sim.mu.Unlock()
	want(t, e.post("/cgi-bin/department/create", tok, map[string]any{"name": "满", "parentid": 1}), 81001)
}

func TestDepartmentUpdatePartial(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	want(t, e.post("/cgi-bin/department/update", tok, map[string]any{"id": 3, "name": "计算机科学与技术系"}), 0)
	// The contacts-sync secret cannot read departments today (48009); the
	// whole-corp app can.
	app := e.app()
	d := e.get("/cgi-bin/department/get", app, "id", "3")["department"].(map[string]any)
	if d["name"] != "计算机科学与技术系" || d["parentid"].(float64) != 2 || d["order"].(float64) != 200 {
		t.Fatalf("absent fields must be kept: %v", d)
	}
	want(t, e.post("/cgi-bin/department/update", tok, map[string]any{"id": 2, "name_en": ""}), 0)
	d = e.get("/cgi-bin/department/get", app, "id", "2")["department"].(map[string]any)
	if _, ok := d["name_en"]; ok {
		t.Fatalf("present empty name_en must clear it: %v", d)
	}

	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"unknown id", map[string]any{"id": 999, "name": "x"}, 60003},
		{"id missing", map[string]any{"name": "x"}, 60003},
		{"empty name", map[string]any{"id": 3, "name": ""}, 60001},
		{"illegal name", map[string]any{"id": 3, "name": "a*b"}, 60009},
		{"parent unknown", map[string]any{"id": 3, "parentid": 999}, 60004},
		{"under itself", map[string]any{"id": 2, "parentid": 2}, 60010},
		{"under own child", map[string]any{"id": 2, "parentid": 8}, 60010},
		{"name taken by a sibling", map[string]any{"id": 3, "name": "软件工程系"}, 60008},
		{"move next to a namesake", map[string]any{"id": 8, "parentid": 2, "name": "计算机科学与技术系"}, 60008},
		{"move", map[string]any{"id": 8, "parentid": 7}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { want(t, e.post("/cgi-bin/department/update", tok, tt.body), tt.want) })
	}
}

func TestDepartmentDelete(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	empty := e.post("/cgi-bin/department/create", tok, map[string]any{"name": "空部门", "parentid": 5})["id"].(float64)
	parent := e.post("/cgi-bin/department/create", tok, map[string]any{"name": "上级", "parentid": 5})["id"].(float64)
	want(t, e.post("/cgi-bin/department/create", tok, map[string]any{"name": "下级", "parentid": parent}), 0)
	tests := []struct {
		name string
		id   string
		want int
	}{
		{"root", "1", 60007},
		{"has members", "8", 60005},
		{"has children", ftoa(parent), 60006},
		{"unknown", "999", 60003},
		{"missing", "", 60003},
		{"malformed", "abc", 40058},
		{"empty", ftoa(empty), 0},
		{"already gone", ftoa(empty), 60003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get("/cgi-bin/department/delete", tok, "id", tt.id)
			want(t, r, tt.want)
			if tt.want == 0 && r.str("errmsg") != "deleted" {
				t.Fatalf("errmsg %q", r.str("errmsg"))
			}
		})
	}
	// Deleting a department removes it from tags.
	e.sim.mu.Lock()
	e.sim.st.tags[2].PartyList = append(e.sim.st.tags[2].PartyList, 6)
	e.sim.mu.Unlock()
	want(t, e.post("/cgi-bin/user/batchdelete", tok, map[string]any{"useridlist": []string{"sunli"}}), 0)
	want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "zhangwei", "department": []int{1}}), 0)
	want(t, e.get("/cgi-bin/department/delete", tok, "id", "6"), 0)
	if got := strs(e.get("/cgi-bin/tag/get", tok, "tagid", "2")["partylist"]); strings.Join(got, ",") != "2,5" {
		t.Fatalf("partylist %v", got)
	}
}

func TestDepartmentReads(t *testing.T) {
	e := newEnv(t)
	c, a, counselor := e.contacts(), e.app(), e.counselor()
	t.Run("list whole tree", func(t *testing.T) {
		want(t, e.get("/cgi-bin/department/list", c), 48009) // today's rule for the contacts-sync secret
		ds := e.get("/cgi-bin/department/list", a)["department"].([]any)
		if len(ds) != 8 {
			t.Fatalf("%d departments", len(ds))
		}
		first := ds[0].(map[string]any)
		if first["id"].(float64) != 1 || first["name_en"] != "Example University" {
			t.Fatalf("first %v", first)
		}
	})
	t.Run("list subtree", func(t *testing.T) {
		ds := e.get("/cgi-bin/department/list", a, "id", "2")["department"].([]any)
		var ids []string
		for _, d := range ds {
			ids = append(ids, ftoa(d.(map[string]any)["id"].(float64)))
		}
		if strings.Join(ids, ",") != "2,3,4,8" {
			t.Fatalf("subtree %v (children bigger order first)", ids)
		}
	})
	t.Run("leaders derived from members", func(t *testing.T) {
		d := e.get("/cgi-bin/department/get", a, "id", "6")["department"].(map[string]any)
		if got := strs(d["department_leader"]); len(got) != 1 || got[0] != "zhangwei" {
			t.Fatalf("department_leader %v", got)
		}
	})
	t.Run("simplelist", func(t *testing.T) {
		ds := e.get("/cgi-bin/department/simplelist", c, "id", "4")["department_id"].([]any)
		if len(ds) != 2 || ds[0].(map[string]any)["parentid"].(float64) != 2 {
			t.Fatalf("%v", ds)
		}
		want(t, e.get("/cgi-bin/department/simplelist", c, "id", "999"), 60003)
	})
	t.Run("app visible range", func(t *testing.T) {
		ds := e.get("/cgi-bin/department/list", counselor)["department"].([]any)
		var ids []string
		for _, d := range ds {
			ids = append(ids, ftoa(d.(map[string]any)["id"].(float64)))
		}
		if strings.Join(ids, ",") != "4,8" {
			t.Fatalf("visible departments %v", ids)
		}
		want(t, e.get("/cgi-bin/department/get", counselor, "id", "8"), 0)
		want(t, e.get("/cgi-bin/department/get", counselor, "id", "2"), 60011)
		want(t, e.get("/cgi-bin/department/list", counselor, "id", "5"), 60011)
		want(t, e.get("/cgi-bin/department/get", counselor, "id", "999"), 60003)
	})
}

func ftoa(f float64) string { return strconv.FormatInt(int64(f), 10) }
