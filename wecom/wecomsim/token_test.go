package wecomsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestGetTokenErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		corpid string
		secret string
		want   int
	}{
		{"secret missing is checked before corpid", "wrongcorp", "", 41004},
		{"both missing", "", "", 41004},
		{"bad corpid", "wrongcorp", testSecret, 40013},
		{"missing corpid", "", testSecret, 40013},
		{"unknown secret", testCorpID, "nope", 40001},
		{"contacts secret", testCorpID, testSecret, 0},
		{"app secret", testCorpID, appSecret, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get("/cgi-bin/gettoken", "", "corpid", tt.corpid, "corpsecret", tt.secret)
			want(t, r, tt.want)
			if tt.want == 0 && (r.str("access_token") == "" || r["expires_in"].(float64) != 7200) {
				t.Fatalf("bad token answer %v", r)
			}
		})
	}
}

func TestTokenReuseAndDistinctPerSecret(t *testing.T) {
	e := newEnv(t)
	a1, a2 := e.contacts(), e.contacts()
	if a1 != a2 {
		t.Fatal("repeated gettoken within validity must return the same token")
	}
	if a1 == e.app() || e.app() == e.counselor() {
		t.Fatal("tokens must differ per secret")
	}
	e.sim.Advance(100 * time.Second)
	r := e.get("/cgi-bin/gettoken", "", "corpid", testCorpID, "corpsecret", testSecret)
	if r["expires_in"].(float64) != 7100 {
		t.Fatalf("expires_in = %v, want the remaining 7100", r["expires_in"])
	}
}

func TestTokenValidation(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	t.Run("missing", func(t *testing.T) {
		want(t, e.get("/cgi-bin/user/get", "", "userid", "lihua"), 41001)
	})
	t.Run("in a header does not count", func(t *testing.T) {
		q := url.Values{"userid": {"lihua"}}
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/cgi-bin/user/get?"+q.Encode(), nil)
		req.Header.Set("access_token", tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r resp
		_ = jsonDecode(res, &r)
		want(t, r, 41001)
	})
	t.Run("checked before params", func(t *testing.T) {
		want(t, e.get("/cgi-bin/user/get", ""), 41001)
		want(t, e.get("/cgi-bin/user/get", "garbage"), 40014)
	})
	t.Run("invalid", func(t *testing.T) {
		want(t, e.get("/cgi-bin/user/get", "garbage", "userid", "lihua"), 40014)
	})
	t.Run("valid", func(t *testing.T) {
		want(t, e.get("/cgi-bin/department/simplelist", tok), 0)
	})
	t.Run("expired after 7200 s", func(t *testing.T) {
		e.sim.Advance(7200 * time.Second)
		want(t, e.get("/cgi-bin/department/simplelist", tok), 42001)
		fresh := e.contacts()
		if fresh == tok {
			t.Fatal("gettoken after expiry must issue a new token")
		}
		want(t, e.get("/cgi-bin/department/simplelist", fresh), 0)
	})
}

func TestExpireTokens(t *testing.T) {
	e := newEnv(t)
	c, a := e.contacts(), e.app()
	if !e.sim.ExpireToken(c) {
		t.Fatal("ExpireToken did not know the token")
	}
	want(t, e.get("/cgi-bin/user/get", c, "userid", "lihua"), 42001)
	want(t, e.get("/cgi-bin/user/get", a, "userid", "lihua"), 0)
	e.sim.ExpireAllTokens()
	want(t, e.get("/cgi-bin/user/get", a, "userid", "lihua"), 42001)

	// Through the admin API.
	a2 := e.app()
	status, _ := e.do(http.MethodPost, "/sim/api/tokens/expire", nil, []byte(`{"access_token":"`+a2+`"}`), "application/json")
	if status != 200 {
		t.Fatalf("admin expire: HTTP %d", status)
	}
	want(t, e.get("/cgi-bin/user/get", a2, "userid", "lihua"), 42001)
}

func TestWhoMayCallWhat(t *testing.T) {
	e := newEnv(t)
	// A test-only endpoint with app-only access, as message/send will have.
	e.sim.routes["/cgi-bin/test/apponly"] = &endpoint{Path: "/cgi-bin/test/apponly", Method: post, Access: accessApp,
		Handle: func(c *call) (obj, error) { return obj{}, nil }}
	c, a := e.contacts(), e.app()
	newUser := map[string]any{"userid": "x1", "name": "X", "department": []int{1}, "mobile": "13700000000"}
	tests := []struct {
		name  string
		token string
		call  func(tok string) resp
		want  int
	}{
		{"app token cannot create users", a, func(tok string) resp { return e.post("/cgi-bin/user/create", tok, newUser) }, 48002},
		{"app token cannot update departments", a, func(tok string) resp {
			return e.post("/cgi-bin/department/update", tok, map[string]any{"id": 2, "name": "x"})
		}, 48002},
		{"app token cannot delete departments", a, func(tok string) resp { return e.get("/cgi-bin/department/delete", tok, "id", "8") }, 48002},
		{"app token cannot batch", a, func(tok string) resp { return e.get("/cgi-bin/batch/getresult", tok, "jobid", "x") }, 48002},
		{"app token cannot list_id", a, func(tok string) resp { return e.post("/cgi-bin/user/list_id", tok, map[string]any{}) }, 48002},
		{"contacts token may list_id", c, func(tok string) resp { return e.post("/cgi-bin/user/list_id", tok, map[string]any{}) }, 0},
		{"contacts token cannot call app-only APIs", c, func(tok string) resp { return e.post("/cgi-bin/test/apponly", tok, map[string]any{}) }, 48002},
		{"app token may call app-only APIs", a, func(tok string) resp { return e.post("/cgi-bin/test/apponly", tok, map[string]any{}) }, 0},
		{"app token may read users", a, func(tok string) resp { return e.get("/cgi-bin/user/get", tok, "userid", "lihua") }, 0},
		{"contacts token may create users", c, func(tok string) resp { return e.post("/cgi-bin/user/create", tok, newUser) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { want(t, tt.call(tt.token), tt.want) })
	}
}

func TestContactsSyncNewIP(t *testing.T) {
	e := newEnv(t)
	c, a := e.contacts(), e.app()
	for _, tt := range []struct {
		path string
		kv   []string
	}{
		{"/cgi-bin/user/get", []string{"userid", "lihua"}},
		{"/cgi-bin/user/simplelist", []string{"department_id", "1"}},
		{"/cgi-bin/user/list", []string{"department_id", "1"}},
		{"/cgi-bin/department/list", nil},
		{"/cgi-bin/department/get", []string{"id", "2"}},
	} {
		t.Run(tt.path, func(t *testing.T) {
			want(t, e.get(tt.path, c, tt.kv...), 48009)
			want(t, e.get(tt.path, a, tt.kv...), 0)
		})
	}
	t.Run("ids still readable", func(t *testing.T) {
		want(t, e.get("/cgi-bin/department/simplelist", c), 0)
		want(t, e.post("/cgi-bin/user/list_id", c, map[string]any{}), 0)
	})
	t.Run("legacy lifts it", func(t *testing.T) {
		l := newEnv(t, legacy)
		want(t, l.get("/cgi-bin/user/get", l.contacts(), "userid", "lihua"), 0)
		if r := l.get("/cgi-bin/user/get", l.app(), "userid", "lihua"); r.str("mobile") != "13800000002" {
			t.Errorf("legacy app read lacks the mobile: %v", r)
		}
	})
	t.Run("app reads omit private fields", func(t *testing.T) {
		r := e.get("/cgi-bin/user/get", a, "userid", "lihua")
		for _, k := range []string{"mobile", "email", "avatar", "gender", "address", "biz_mail", "qr_code", "thumb_avatar"} {
			if _, ok := r[k]; ok {
				t.Errorf("app read carries %s", k)
			}
		}
		if r.str("name") != "李华" {
			t.Errorf("name missing: %v", r)
		}
	})
}

func TestConventions(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	t.Run("unknown path is 404 with an empty body", func(t *testing.T) {
		status, body := e.do(http.MethodGet, "/cgi-bin/nope", url.Values{"access_token": {tok}}, nil, "")
		if status != 404 || len(body) != 0 {
			t.Fatalf("HTTP %d body %q", status, body)
		}
	})
	t.Run("errors are HTTP 200 with the live errmsg shape", func(t *testing.T) {
		r := e.get("/cgi-bin/user/get", e.app(), "userid", "nobody")
		want(t, r, 60111)
		re := regexp.MustCompile(`^userid not found, hint: \[\d+_\d+_[0-9a-f]{32}\], from ip: 127\.0\.0\.1, more info at https://open\.work\.weixin\.qq\.com/devtool/query\?e=60111$`)
		if !re.MatchString(r.str("errmsg")) {
			t.Fatalf("errmsg %q", r.str("errmsg"))
		}
	})
	t.Run("error responses carry default empty fields", func(t *testing.T) {
		r := e.get("/cgi-bin/user/get", "", "userid", "lihua")
		for _, k := range []string{"department", "order", "is_leader_in_dept", "direct_leader"} {
			if v, ok := r[k].([]any); !ok || len(v) != 0 {
				t.Errorf("%s = %v, want []", k, r[k])
			}
		}
		r = e.get("/cgi-bin/department/simplelist", "")
		if v, ok := r["department_id"].([]any); !ok || len(v) != 0 {
			t.Errorf("department_id = %v", r["department_id"])
		}
		r = e.post("/cgi-bin/user/list_id", "", nil)
		if v, ok := r["dept_user"].([]any); !ok || len(v) != 0 {
			t.Errorf("dept_user = %v", r["dept_user"])
		}
	})
	t.Run("invalid JSON is 40058 with the warning", func(t *testing.T) {
		r := e.post("/cgi-bin/user/create", tok, `{"userid": "x",`)
		want(t, r, 40058)
		if !strings.HasSuffix(r.str("errmsg"), "Warning: wrong json format.") {
			t.Fatalf("errmsg %q", r.str("errmsg"))
		}
	})
	t.Run("GET on a POST API is 40063", func(t *testing.T) {
		want(t, e.get("/cgi-bin/user/create", tok), 40063)
	})
	t.Run("success errmsg", func(t *testing.T) {
		r := e.post("/cgi-bin/department/create", tok, map[string]any{"name": "新部门", "parentid": 1})
		if r.str("errmsg") != "created" {
			t.Fatalf("errmsg %q", r.str("errmsg"))
		}
		if r := e.get("/cgi-bin/department/get", e.app(), "id", "2"); r.str("errmsg") != "ok" {
			t.Fatalf("errmsg %q", r.str("errmsg"))
		}
	})
}

func jsonDecode(res *http.Response, v any) error {
	return json.NewDecoder(res.Body).Decode(v)
}
