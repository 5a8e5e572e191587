package wecomsim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var mobileSeq int

func newUserBody(id string, extra ...any) map[string]any {
	mobileSeq++
	b := map[string]any{"userid": id, "name": "新成员", "department": []int{5}, "mobile": fmt.Sprintf("1360000%04d", mobileSeq)}
	for i := 0; i+1 < len(extra); i += 2 {
		k := extra[i].(string)
		if extra[i+1] == nil {
			delete(b, k)
			continue
		}
		b[k] = extra[i+1]
	}
	return b
}

func TestUserCreateRules(t *testing.T) {
	// Legacy: the created member is read back through the contacts-sync
	// secret's user/get (48009 today) with its gender (omitted for apps today).
	e := newEnv(t, legacy, func(o *Options) { o.MaxUserDepartments = 3 })
	tok := e.contacts()
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"ok", newUserBody("newbie"), 0},
		{"userid exists", newUserBody("lihua", "mobile", "13711110001"), 60102},
		{"userid exists ignoring case", newUserBody("LiHua", "mobile", "13711110001"), 60102},
		{"userid missing", newUserBody("", "mobile", "13711110001"), 40003},
		{"userid bad characters", newUserBody("a b", "mobile", "13711110001"), 40003},
		{"userid starts with a symbol", newUserBody("_ab", "mobile", "13711110001"), 40003},
		{"userid 65 bytes", newUserBody(strings.Repeat("a", 65), "mobile", "13711110001"), 40058},
		{"userid 64 bytes", newUserBody(strings.Repeat("a", 64), "mobile", "13711110002"), 0},
		{"userid with @ . - _", newUserBody("a.b-c_d@e", "mobile", "13711110003"), 0},
		{"name missing", newUserBody("u1", "name", nil), 60112},
		{"name empty", newUserBody("u1", "name", ""), 60112},
		{"name 65 characters", newUserBody("u1", "name", strings.Repeat("名", 65)), 60112},
		{"mobile and email empty", newUserBody("u1", "mobile", nil), 60129},
		{"email only", newUserBody("u2", "mobile", nil, "email", "u2@example.edu.cn"), 0},
		{"mobile taken", newUserBody("u3", "mobile", "13800000002"), 60104},
		{"mobile invalid", newUserBody("u3", "mobile", "abc"), 60103},
		{"email taken", newUserBody("u3", "mobile", nil, "email", "LIHUA@example.edu.cn"), 60106},
		{"email invalid", newUserBody("u3", "mobile", nil, "email", "nope"), 60105},
		{"department missing", newUserBody("u3", "department", nil), 41019},
		{"department unknown", newUserBody("u3", "department", []int{999}), 60003},
		{"too many departments", newUserBody("u3", "department", []int{2, 3, 4, 5}), 60110},
		{"is_leader_in_dept length", newUserBody("u3", "department", []int{2, 3}, "is_leader_in_dept", []int{1}), 60132},
		{"order length", newUserBody("u3", "department", []int{2, 3}, "order", []int{1}), 40058},
		{"six direct leaders", newUserBody("u3", "direct_leader", []string{"lihua", "zhangwei", "wangfang", "chenjing", "liuyang", "zhaolei"}), 60257},
		{"direct leader unknown", newUserBody("u3", "direct_leader", []string{"ghost"}), 60111},
		{"gender invalid", newUserBody("u3", "gender", "3"), 40058},
		{"full", newUserBody("u4", "mobile", "13711110004", "department", []int{2, 3}, "is_leader_in_dept", []int{1, 0},
			"order", []int{5, 6}, "direct_leader", []string{"lihua"}, "gender", "2", "position", "讲师", "main_department", 3,
			"extattr", map[string]any{"attrs": []map[string]any{{"type": 0, "name": "工号", "text": map[string]any{"value": "T4"}}}}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post("/cgi-bin/user/create", tok, tt.body)
			want(t, r, tt.want)
			if tt.want == 0 && r.str("errmsg") != "created" {
				t.Fatalf("errmsg %q", r.str("errmsg"))
			}
		})
	}
	u := e.get("/cgi-bin/user/get", tok, "userid", "u4")
	got := map[string]any{"department": u["department"], "order": u["order"], "is_leader_in_dept": u["is_leader_in_dept"],
		"main_department": u["main_department"], "status": u["status"], "gender": u["gender"]}
	wantU := map[string]any{"department": []any{2.0, 3.0}, "order": []any{5.0, 6.0}, "is_leader_in_dept": []any{1.0, 0.0},
		"main_department": 3.0, "status": 4.0, "gender": "2"}
	if d := cmp.Diff(wantU, got); d != "" {
		t.Fatalf("created member (-want +got):\n%s", d)
	}
	if lead := strs(e.get("/cgi-bin/department/get", tok, "id", "2")["department"].(map[string]any)["department_leader"]); strings.Join(lead, ",") != "u4,lihua" {
		t.Fatalf("department_leader %v", lead)
	}
}

func TestUserUpdatePartial(t *testing.T) {
	// Legacy: "absent fields are kept" is checked on the contacts-sync
	// secret's full user/get, mobile, gender and address included, which
	// today's rules do not give any secret.
	e := newEnv(t, legacy)
	tok := e.contacts()
	before := e.get("/cgi-bin/user/get", tok, "userid", "xujun")
	// position present and empty: written; alias present: written; the rest absent: kept.
	want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "xujun", "position": "", "alias": "JX"}), 0)
	after := e.get("/cgi-bin/user/get", tok, "userid", "xujun")
	if after.str("position") != "" || after.str("alias") != "JX" {
		t.Fatalf("present fields not written: %v", after)
	}
	for _, k := range []string{"mobile", "name", "department", "address", "gender", "status", "order", "is_leader_in_dept"} {
		if d := cmp.Diff(before[k], after[k]); d != "" {
			t.Errorf("absent %s changed:\n%s", k, d)
		}
	}

	t.Run("enable absent does not disable, 0 disables, 1 restores", func(t *testing.T) {
		want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "lihua", "position": "副校长"}), 0)
		if s := e.get("/cgi-bin/user/get", tok, "userid", "lihua")["status"]; s != 1.0 {
			t.Fatalf("status %v", s)
		}
		want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "lihua", "enable": 0}), 0)
		if s := e.get("/cgi-bin/user/get", tok, "userid", "lihua")["status"]; s != 2.0 {
			t.Fatalf("status %v", s)
		}
		want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "lihua", "enable": 1}), 0)
		if s := e.get("/cgi-bin/user/get", tok, "userid", "lihua")["status"]; s != 1.0 {
			t.Fatalf("status %v", s)
		}
	})
	t.Run("department change keeps flags of kept departments", func(t *testing.T) {
		want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "wangfang", "department": []int{4, 3}}), 0)
		u := e.get("/cgi-bin/user/get", tok, "userid", "wangfang")
		if d := cmp.Diff(map[string]any{"department": []any{4.0, 3.0}, "order": []any{5.0, 0.0}, "main": 4.0},
			map[string]any{"department": u["department"], "order": u["order"], "main": u["main_department"]}); d != "" {
			t.Fatal(d)
		}
	})
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"unknown", map[string]any{"userid": "ghost", "name": "x"}, 60111},
		{"userid missing", map[string]any{"name": "x"}, 60111},
		{"empty name", map[string]any{"userid": "lihua", "name": ""}, 60112},
		{"mobile of another", map[string]any{"userid": "lihua", "mobile": "13800000001"}, 60104},
		{"own mobile", map[string]any{"userid": "lihua", "mobile": "13800000002"}, 0},
		{"is_leader_in_dept against current departments", map[string]any{"userid": "lihua", "is_leader_in_dept": []int{1, 0}}, 60132},
		{"empty department list", map[string]any{"userid": "lihua", "department": []int{}}, 40066},
		{"main_department elsewhere", map[string]any{"userid": "lihua", "main_department": 5}, 40058},
		{"new_userid taken", map[string]any{"userid": "lihua", "new_userid": "ZhangWei"}, 60102},
		{"new_userid invalid", map[string]any{"userid": "lihua", "new_userid": "-x"}, 40003},
		{"new_userid", map[string]any{"userid": "lihua", "new_userid": "lihua2"}, 0},
		{"new_userid only once", map[string]any{"userid": "lihua2", "new_userid": "lihua3"}, 301036},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { want(t, e.post("/cgi-bin/user/update", tok, tt.body), tt.want) })
	}
	t.Run("rename follows into tags and leaders", func(t *testing.T) {
		want(t, e.get("/cgi-bin/user/get", tok, "userid", "lihua"), 60111)
		if got := strs(e.get("/cgi-bin/user/get", tok, "userid", "s2023001")["direct_leader"]); got[0] != "wangfang" {
			t.Fatalf("direct_leader %v", got)
		}
		if got := strs(e.get("/cgi-bin/user/get", tok, "userid", "wangfang")["direct_leader"]); got[0] != "lihua2" {
			t.Fatalf("direct_leader %v", got)
		}
	})
}

func TestUserDelete(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	want(t, e.get("/cgi-bin/user/delete", tok, "userid", "ghost"), 60111)
	want(t, e.get("/cgi-bin/user/delete", tok, "userid", "zhangwei"), 301005)
	r := e.get("/cgi-bin/user/delete", tok, "userid", "WangFang")
	want(t, r, 0)
	if r.str("errmsg") != "deleted" {
		t.Fatalf("errmsg %q", r.str("errmsg"))
	}
	if got := e.get("/cgi-bin/tag/get", tok, "tagid", "1")["userlist"].([]any); len(got) != 0 {
		t.Fatalf("deleted member still tagged: %v", got)
	}

	var many []string
	for i := 0; i < 201; i++ {
		many = append(many, fmt.Sprintf("u%d", i))
	}
	tests := []struct {
		name string
		ids  []string
		want int
	}{
		{"over 200", many, 40032},
		{"empty", []string{}, 40058},
		{"one unknown fails the whole call", []string{"chenjing", "ghost"}, 40031},
		{"creator", []string{"chenjing", "zhangwei"}, 301005},
		{"ok", []string{"chenjing", "liuyang"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, e.post("/cgi-bin/user/batchdelete", tok, map[string]any{"useridlist": tt.ids}), tt.want)
		})
	}
	want(t, e.get("/cgi-bin/user/get", e.app(), "userid", "liuyang"), 60111)
}

func TestUserListIDPagination(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	wantRows := map[string]bool{}
	for _, u := range e.sim.Snapshot().Users {
		for _, d := range u.Department {
			wantRows[fmt.Sprintf("%s/%d", u.UserID, d)] = true
		}
	}
	for _, limit := range []int{1, 3, 7, 22, 10000} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			seen := map[string]int{}
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("no end")
				}
				r := e.post("/cgi-bin/user/list_id", tok, map[string]any{"cursor": cursor, "limit": limit})
				want(t, r, 0)
				rows := r["dept_user"].([]any)
				if len(rows) > limit {
					t.Fatalf("%d rows for limit %d", len(rows), limit)
				}
				for _, row := range rows {
					m := row.(map[string]any)
					seen[fmt.Sprintf("%s/%d", m["userid"], int(m["department"].(float64)))]++
				}
				cursor = r.str("next_cursor")
				if cursor == "" {
					break
				}
			}
			for k := range wantRows {
				if seen[k] != 1 {
					t.Errorf("row %s seen %d times", k, seen[k])
				}
			}
			if len(seen) != len(wantRows) {
				t.Errorf("%d distinct rows, want %d", len(seen), len(wantRows))
			}
		})
	}
	want(t, e.post("/cgi-bin/user/list_id", tok, map[string]any{"cursor": "not-a-cursor"}), 50100)
	want(t, e.post("/cgi-bin/user/list_id", tok, map[string]any{"limit": 10001}), 40058)
	want(t, e.post("/cgi-bin/user/list_id", tok, map[string]any{"limit": -1}), 40058)
}

func TestUserReads(t *testing.T) {
	// Legacy: this pins the full pre-2022 reads of the contacts-sync secret
	// (mobile, extattr, list with mobiles); TestContactsSyncNewIP pins
	// today's 48009 and the apps' reduced fields.
	e := newEnv(t, legacy)
	c, counselor := e.contacts(), e.counselor()
	t.Run("get", func(t *testing.T) {
		u := e.get("/cgi-bin/user/get", c, "userid", "WANGFANG")
		if u.str("userid") != "wangfang" || u.str("mobile") != "13800000003" || u.str("errmsg") != "ok" {
			t.Fatalf("%v", u)
		}
		if attrs := u["extattr"].(map[string]any)["attrs"].([]any); len(attrs) != 1 {
			t.Fatalf("extattr %v", u["extattr"])
		}
	})
	t.Run("simplelist and list", func(t *testing.T) {
		ul := e.get("/cgi-bin/user/simplelist", c, "department_id", "4")["userlist"].([]any)
		if len(ul) != 2 {
			t.Fatalf("direct members of 4: %v", ul)
		}
		ul = e.get("/cgi-bin/user/simplelist", c, "department_id", "4", "fetch_child", "1")["userlist"].([]any)
		if len(ul) != 12 {
			t.Fatalf("members of 4 with children: %d", len(ul))
		}
		// wangfang has order 5 in dept 4, liuyang 0: bigger first.
		if ul[0].(map[string]any)["userid"] != "wangfang" {
			t.Fatalf("order: %v", ul[0])
		}
		full := e.get("/cgi-bin/user/list", c, "department_id", "2", "fetch_child", "1")["userlist"].([]any)
		if len(full) != 16 || full[0].(map[string]any)["mobile"] == nil {
			t.Fatalf("list: %d", len(full))
		}
		want(t, e.get("/cgi-bin/user/simplelist", c), 60003)
		want(t, e.get("/cgi-bin/user/simplelist", c, "department_id", "999"), 60003)
	})
	t.Run("app visible range", func(t *testing.T) {
		for _, tt := range []struct {
			userid string
			want   int
		}{
			{"s2023001", 0}, // in department 8 under 4
			{"liuyang", 0},  // in 4
			{"zhaolei", 0},  // listed
			{"wangfang", 0}, // via tag 1
			{"chenjing", 60011},
			{"ghost", 60111},
		} {
			want(t, e.get("/cgi-bin/user/get", counselor, "userid", tt.userid), tt.want)
		}
		want(t, e.get("/cgi-bin/user/list", counselor, "department_id", "3"), 60011)
		want(t, e.get("/cgi-bin/user/list", counselor, "department_id", "8"), 0)
	})
	t.Run("convert_to_openid", func(t *testing.T) {
		r := e.post("/cgi-bin/user/convert_to_openid", c, map[string]any{"userid": "s2023005"})
		want(t, r, 0)
		if r.str("openid") != "oSimWeChatPlugin2023005" {
			t.Fatalf("%v", r)
		}
		want(t, e.post("/cgi-bin/user/convert_to_openid", c, map[string]any{"userid": "s2023001"}), 43004)
		want(t, e.post("/cgi-bin/user/convert_to_openid", c, map[string]any{"userid": "ghost"}), 60111)
	})
	t.Run("getuserid", func(t *testing.T) {
		r := e.post("/cgi-bin/user/getuserid", c, map[string]any{"mobile": "13800000002"})
		if r.str("userid") != "lihua" {
			t.Fatalf("%v", r)
		}
		want(t, e.post("/cgi-bin/user/getuserid", c, map[string]any{"mobile": "19999999999"}), 46004)
	})
}

func TestGetUserIDMissesBlock(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	// 20 members: the fifth miss is above 20 %.
	for i := 0; i < 5; i++ {
		want(t, e.post("/cgi-bin/user/getuserid", tok, map[string]any{"mobile": fmt.Sprint("1990000000", i)}), 46004)
	}
	want(t, e.post("/cgi-bin/user/getuserid", tok, map[string]any{"mobile": "13800000002"}), 45009)
	e.sim.Advance(24 * 60 * 60e9)
	want(t, e.post("/cgi-bin/user/getuserid", e.contacts(), map[string]any{"mobile": "13800000002"}), 0)
}

func TestUserAvatarMedia(t *testing.T) {
	// Legacy: the avatar is read back through user/get, which today gives
	// it to no secret.
	e := newEnv(t, legacy, func(o *Options) { o.BaseURL = "http://sim.example/prefix" })
	tok := e.contacts()
	id := e.upload(tok, "image", "media", []byte("\x89PNG fake"))["media_id"].(string)
	want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "lihua", "avatar_mediaid": "nope"}), 40007)
	want(t, e.post("/cgi-bin/user/update", tok, map[string]any{"userid": "lihua", "avatar_mediaid": id}), 0)
	avatar := e.get("/cgi-bin/user/get", tok, "userid", "lihua").str("avatar")
	if avatar != "http://sim.example/prefix/sim/media/"+id {
		t.Fatalf("avatar %q", avatar)
	}
	status, body := e.do("GET", strings.TrimPrefix(avatar, "http://sim.example/prefix"), nil, nil, "")
	if status != 200 || string(body) != "\x89PNG fake" {
		t.Fatalf("avatar link: %d %q", status, body)
	}
}
