package wecomsim

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
)

// upload posts data as multipart field `field` to media/upload?type=typ.
func (e *env) upload(tok, typ, field string, data []byte) resp {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile(field, "import.csv")
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	q := url.Values{"access_token": {tok}, "type": {typ}}
	return e.decode(e.do(http.MethodPost, "/cgi-bin/media/upload", q, b.Bytes(), mw.FormDataContentType()))
}

func TestMediaUpload(t *testing.T) {
	e := newEnv(t)
	tok := e.app()
	tests := []struct {
		name  string
		typ   string
		field string
		data  []byte
		want  int
	}{
		{"ok", "file", "media", []byte("hello"), 0},
		{"4 bytes", "file", "media", []byte("hell"), 40006},
		{"bad type", "document", "media", []byte("hello"), 40004},
		{"wrong field", "file", "file", []byte("hello"), 44001},
		{"over 20 MB", "file", "media", make([]byte, 20<<20+1), 45001},
		{"voice over 2 MB", "voice", "media", make([]byte, 2<<20+1), 45001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.upload(tok, tt.typ, tt.field, tt.data)
			want(t, r, tt.want)
			if tt.want != 0 {
				return
			}
			if r.str("errmsg") != "" || r.str("type") != "file" || r.str("media_id") == "" {
				t.Fatalf("%v", r)
			}
			if ca, ok := r["created_at"].(string); !ok || ca != fmt.Sprint(testBase.Unix()) {
				t.Fatalf("created_at must be a string: %#v", r["created_at"])
			}
			status, body := e.do(http.MethodGet, "/cgi-bin/media/get", url.Values{"access_token": {tok}, "media_id": {r.str("media_id")}}, nil, "")
			if status != 200 || string(body) != "hello" {
				t.Fatalf("media/get: %d %q", status, body)
			}
		})
	}
	t.Run("media expires after 3 days", func(t *testing.T) {
		id := e.upload(tok, "file", "media", []byte("hello"))["media_id"].(string)
		e.sim.Advance(72 * time.Hour)
		want(t, e.get("/cgi-bin/media/get", e.app(), "media_id", id), 40007)
	})
}

const memberCSV = "姓名,帐号,手机号,邮箱,所在部门,职位,性别,是否部门内领导,排序,别名,地址,座机,禁用,禁用项说明：(0-启用;1-禁用)\n"

// submit uploads csv and starts a batch job, returning the jobid.
func (e *env) submit(tok, api, csv string, cb *Receiver) resp {
	e.t.Helper()
	up := e.upload(tok, "file", "media", []byte(csv))
	want(e.t, up, 0)
	body := map[string]any{"media_id": up.str("media_id")}
	if cb != nil {
		body["callback"] = map[string]any{"url": cb.URL, "token": cb.Token, "encodingaeskey": cb.EncodingAESKey}
	}
	return e.post("/cgi-bin/batch/"+api, tok, body)
}

func TestBatchSyncUser(t *testing.T) {
	rc := newReceiver(t, nil)
	sync := newReceiver(t, nil)
	// Legacy: the imported rows are read back through the contacts-sync
	// secret's user/get (48009 today), mobiles and genders included.
	e := newEnv(t, withReceiver(sync), allowCallback(rc), legacy)
	tok := e.contacts()
	csv := memberCSV +
		"李华,lihua,,,,,,,,,,,,\n" + // only required columns empty: nothing changes
		"陈静,chenjing,13811112222,,3;4,系主任,女,1;0,10;20,,,,0,\n" +
		"新同学,s2024001,13955550001,,4;777,学生,男,,,,,,1,\n" +
		"坏人,bad id,13955550002,,4,,,,,,,,,\n"
	r := e.submit(tok, "syncuser", csv, &Receiver{URL: rc.config().URL, Token: testToken, EncodingAESKey: testAESKey})
	want(t, r, 0)
	jobID := r.str("jobid")
	e.flush()

	res := e.get("/cgi-bin/batch/getresult", tok, "jobid", jobID)
	want(t, res, 0)
	if res["status"] != 3.0 || res["type"] != "sync_user" || res["total"] != 4.0 || res["percentage"] != 100.0 {
		t.Fatalf("%v", res)
	}
	var rows []string
	for _, x := range res["result"].([]any) {
		m := x.(map[string]any)
		rows = append(rows, fmt.Sprintf("%s:%v", m["userid"], m["errcode"]))
	}
	if d := cmp.Diff([]string{"lihua:0", "chenjing:0", "s2024001:0", "bad id:40003"}, rows); d != "" {
		t.Fatalf("rows (-want +got):\n%s", d)
	}
	li := e.get("/cgi-bin/user/get", tok, "userid", "lihua")
	if li.str("position") != "院长" || li.str("mobile") != "13800000002" {
		t.Fatalf("empty cells must not change lihua: %v", li)
	}
	cj := e.get("/cgi-bin/user/get", tok, "userid", "chenjing")
	got := map[string]any{"mobile": cj["mobile"], "dept": cj["department"], "lead": cj["is_leader_in_dept"], "order": cj["order"], "pos": cj["position"], "gender": cj["gender"]}
	if d := cmp.Diff(map[string]any{"mobile": "13811112222", "dept": []any{3.0, 4.0}, "lead": []any{1.0, 0.0}, "order": []any{10.0, 20.0}, "pos": "系主任", "gender": "2"}, got); d != "" {
		t.Fatalf("chenjing (-want +got):\n%s", d)
	}
	nu := e.get("/cgi-bin/user/get", tok, "userid", "s2024001")
	pending := e.sim.Snapshot().Departments[len(e.sim.Snapshot().Departments)-1]
	if pending.Name != "其他(待设置部门)" || cmp.Diff([]any{4.0, float64(pending.ID)}, nu["department"]) != "" || nu["status"] != 2.0 {
		t.Fatalf("new member %v, pending %+v", nu, pending)
	}

	events := rc.got()
	if len(events) != 1 || events[0].Kind() != wecom.KindBatchJobResult {
		t.Fatalf("callbacks %+v", events)
	}
	if bj := events[0].BatchJob; bj.JobID != jobID || bj.JobType != "sync_user" || bj.ErrCode != 0 || bj.ErrMsg != "ok" {
		t.Fatalf("batch job %+v", bj)
	}
	if sync.count() != 0 {
		t.Fatalf("batch writes by the sync secret were echoed")
	}
}

func TestBatchJobRules(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	row := memberCSV + "李华,lihua,,,2,,,,,,,,,\n"
	t.Run("media_id missing", func(t *testing.T) {
		want(t, e.post("/cgi-bin/batch/syncuser", tok, map[string]any{}), 41006)
	})
	t.Run("media_id unknown", func(t *testing.T) {
		want(t, e.post("/cgi-bin/batch/syncuser", tok, map[string]any{"media_id": "nope"}), 40007)
	})
	t.Run("missing column", func(t *testing.T) {
		want(t, e.submit(tok, "syncuser", "姓名,手机号\n李华,1\n", nil), 40092)
	})
	t.Run("header only", func(t *testing.T) {
		want(t, e.submit(tok, "syncuser", memberCSV, nil), 40092)
	})
	t.Run("not UTF-8", func(t *testing.T) {
		want(t, e.submit(tok, "syncuser", "\xd0\xd5\xc3\xfb,\xd5\xca\xba\xc5\n", nil), 40092)
	})
	t.Run("one job at a time", func(t *testing.T) {
		e.sim.PauseJobs(true)
		first := e.submit(tok, "syncuser", row, nil)
		want(t, first, 0)
		res := e.get("/cgi-bin/batch/getresult", tok, "jobid", first.str("jobid"))
		if res["status"] != 1.0 || len(res["result"].([]any)) != 0 {
			t.Fatalf("held job %v", res)
		}
		want(t, e.submit(tok, "replaceparty", "部门名称,部门ID,父部门ID\n示例大学,1,0\n", nil), 302008)
		e.sim.PauseJobs(false)
		e.flush()
		want(t, e.submit(tok, "syncuser", row, nil), 0)
		e.flush()
	})
	t.Run("unknown and purged jobs", func(t *testing.T) {
		want(t, e.get("/cgi-bin/batch/getresult", tok, "jobid", "nope"), 40088)
		var ids []string
		for i := 0; i < 6; i++ {
			r := e.submit(tok, "syncuser", row, nil)
			want(t, r, 0)
			ids = append(ids, r.str("jobid"))
			e.flush()
		}
		want(t, e.get("/cgi-bin/batch/getresult", tok, "jobid", ids[0]), 40089)
		want(t, e.get("/cgi-bin/batch/getresult", tok, "jobid", ids[1]), 0)
	})
}

func TestBatchReplaceUserGuard(t *testing.T) {
	rc := newReceiver(t, nil)
	cb := rc.config()
	all := func(skip int) string {
		var b strings.Builder
		b.WriteString(memberCSV)
		for i, u := range TestFixture().Users {
			if i >= len(TestFixture().Users)-skip {
				break
			}
			fmt.Fprintf(&b, "%s,%s,,,%d,,,,,,,,,\n", u.Name, u.UserID, u.Department[0])
		}
		return b.String()
	}
	tests := []struct {
		name    string
		csv     string
		errcode int
		members int
	}{
		// 20 members; the creator is never deleted.
		{"deleting 17 of 20 (85 %) trips the guard", all(17), 45026, 20},
		{"deleting 16 of 20 (80 %) passes", all(16), 0, 4},
		{"deleting none", all(0), 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc.mu.Lock()
			rc.events = nil
			rc.mu.Unlock()
			e := newEnv(t, allowCallback(rc))
			tok := e.contacts()
			r := e.submit(tok, "replaceuser", tt.csv, &cb)
			want(t, r, 0)
			e.flush()
			res := e.get("/cgi-bin/batch/getresult", tok, "jobid", r.str("jobid"))
			if res["status"] != 3.0 || res["type"] != "replace_user" {
				t.Fatalf("%v", res)
			}
			if n := len(e.sim.Snapshot().Users); n != tt.members {
				t.Fatalf("%d members left, want %d", n, tt.members)
			}
			ev := rc.got()
			if len(ev) != 1 || ev[0].BatchJob.ErrCode != tt.errcode || ev[0].BatchJob.JobType != "replace_user" {
				t.Fatalf("callback %+v", ev)
			}
		})
	}
	t.Run("large corp: more than 50 and more than 20 %", func(t *testing.T) {
		f := TestFixture()
		for i := 0; i < 300; i++ {
			f.Users = append(f.Users, User{UserID: fmt.Sprintf("bulk%03d", i), Name: "批量", Department: []int64{5}, Mobile: fmt.Sprintf("1350000%04d", i)})
		}
		for _, tc := range []struct {
			keep    int
			errcode int
		}{{220, 45026}, {240, 0}} { // 320 members: deleting 80 (25 %) trips, 60 (18.75 %) passes
			e := newEnv(t, allowCallback(rc), func(o *Options) { o.Fixture = f })
			tok := e.contacts()
			var b strings.Builder
			b.WriteString(memberCSV)
			b.WriteString("张伟,zhangwei,,,6,,,,,,,,,\n")
			for _, u := range f.Users[20 : 20+tc.keep] {
				fmt.Fprintf(&b, "%s,%s,,,5,,,,,,,,,\n", u.Name, u.UserID)
			}
			for _, u := range f.Users[1:20] {
				fmt.Fprintf(&b, "%s,%s,,,%d,,,,,,,,,\n", u.Name, u.UserID, u.Department[0])
			}
			rc.mu.Lock()
			rc.events = nil
			rc.mu.Unlock()
			r := e.submit(tok, "replaceuser", b.String(), &cb)
			want(t, r, 0)
			e.flush()
			if ev := rc.got(); len(ev) != 1 || ev[0].BatchJob.ErrCode != tc.errcode {
				t.Fatalf("keep %d: callback %+v", tc.keep, ev)
			}
		}
	})
}

func TestBatchReplaceParty(t *testing.T) {
	e := newEnv(t)
	tok := e.contacts()
	csv := "部门名称,部门ID,父部门ID,排序\n" +
		"示例大学,1,0,\n" +
		"信息学院,2,1,5\n" + // renamed + re-ordered
		"计算机科学系,3,2,\n" +
		"软件工程系,4,2,\n" +
		"2023级软件工程1班,8,4,\n" +
		"外国语学院,5,1,\n" +
		"党政办公室,6,1,\n" +
		"人工智能系,20,21,\n" + // child listed before its new parent
		"智能学院,21,1,\n" +
		"环,30,31,\n" + "圈,31,30,\n" // a loop in the file
	// 学生工作处 (7) is missing from the file but has a member: kept; 40 is
	// empty: deleted. Siblings list bigger order first, so 2 (now 5) moves
	// after 5, 6 and 7.
	want(t, e.post("/cgi-bin/department/create", tok, map[string]any{"name": "空的", "parentid": 5, "id": 40}), 0)
	r := e.submit(tok, "replaceparty", csv, nil)
	want(t, r, 0)
	e.flush()
	res := e.get("/cgi-bin/batch/getresult", tok, "jobid", r.str("jobid"))
	got := map[string]string{}
	for _, x := range res["result"].([]any) {
		m := x.(map[string]any)
		got[ftoa(m["partyid"].(float64))] = fmt.Sprintf("a%v/e%v", m["action"], m["errcode"])
	}
	wantRows := map[string]string{
		"1": "a0/e0", "2": "a10/e0", "3": "a0/e0", "4": "a0/e0", "8": "a0/e0", "5": "a0/e0", "6": "a0/e0",
		"20": "a1/e0", "21": "a1/e0", "30": "a0/e60010", "31": "a0/e60010",
	}
	if d := cmp.Diff(wantRows, got); d != "" {
		t.Fatalf("rows (-want +got):\n%s", d)
	}
	var ids []int64
	for _, d := range e.sim.Snapshot().Departments {
		ids = append(ids, d.ID)
	}
	if d := cmp.Diff([]int64{1, 5, 6, 7, 2, 3, 4, 8, 21, 20}, ids); d != "" {
		t.Fatalf("departments (-want +got):\n%s", d)
	}
}

// TestBatchJobTakesTime: a job of 250 rows reports status 1 for a second,
// then 2 for ceil(250/JobRowsPerSecond) = 3 s with a percentage that
// follows the clock, and only then 3 with its rows and batch_job_result. A
// client that reads the result right after submitting does not see it done.
func TestBatchJobTakesTime(t *testing.T) {
	rc, contacts := newReceiver(t, nil), newReceiver(t, nil)
	e := newEnv(t, allowCallback(rc), withReceiver(contacts))
	tok := e.contacts()
	var b strings.Builder
	b.WriteString(memberCSV)
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&b, "新生,s3%04d,1390000%04d,,5,,,,,,,,,\n", i, i)
	}
	cb := rc.config()
	r := e.submit(tok, "syncuser", b.String(), &cb)
	want(t, r, 0)
	id := r.str("jobid")
	state := func() string {
		t.Helper()
		res := e.get("/cgi-bin/batch/getresult", tok, "jobid", id)
		want(t, res, 0)
		return fmt.Sprintf("%v/%v%%/%d rows", res["status"], res["percentage"], len(res["result"].([]any)))
	}
	created := func() bool {
		for _, u := range e.sim.Snapshot().Users {
			if u.UserID == "s30000" {
				return true
			}
		}
		return false
	}
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "1/0%/0 rows"},
		{999 * time.Millisecond, "1/0%/0 rows"},
		{time.Millisecond, "2/0%/0 rows"},
		{1500 * time.Millisecond, "2/50%/0 rows"},
		{1499 * time.Millisecond, "2/99%/0 rows"},
	}
	for _, st := range steps {
		e.sim.Advance(st.advance)
		if got := state(); got != st.want {
			t.Fatalf("after +%v: %s, want %s", st.advance, got, st.want)
		}
	}
	if err := e.sim.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 0 || created() {
		t.Fatalf("before the end: %d callbacks, members created %v", rc.count(), created())
	}
	e.sim.Advance(time.Millisecond)
	if got := state(); got != "3/100%/250 rows" {
		t.Fatalf("at the end: %s", got)
	}
	e.flush()
	ev := rc.got()
	if len(ev) != 1 || ev[0].BatchJob == nil || ev[0].BatchJob.JobID != id || !created() {
		t.Fatalf("batch_job_result %+v, members created %v", ev, created())
	}
	if want := testBase.Add(4 * time.Second).Unix(); ev[0].CreateTime != want {
		t.Errorf("batch_job_result CreateTime %d, want the finishing time %d", ev[0].CreateTime, want)
	}

	t.Run("paused jobs keep their progress", func(t *testing.T) {
		r := e.submit(tok, "syncuser", memberCSV+"李华,lihua,,,2,,,,,,,,,\n", nil)
		want(t, r, 0)
		id = r.str("jobid")
		e.sim.Advance(1500 * time.Millisecond)
		e.sim.PauseJobs(true)
		e.sim.Advance(time.Hour)
		if got := state(); got != "2/50%/0 rows" {
			t.Fatalf("paused: %s", got)
		}
		e.sim.PauseJobs(false)
		if got := state(); got != "2/50%/0 rows" {
			t.Fatalf("resumed: %s", got)
		}
		e.sim.Advance(500 * time.Millisecond)
		if got := state(); got != "3/100%/1 rows" {
			t.Fatalf("resumed and due: %s", got)
		}
		// Submitted without a callback: batch_job_result goes to the
		// contacts-sync receiver.
		e.flush()
		if ev := contacts.got(); len(ev) != 1 || ev[0].BatchJob == nil || ev[0].BatchJob.JobID != id {
			t.Fatalf("contacts receiver got %+v", ev)
		}
	})
}
