package wecomsim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
)

// legacy selects the pre-2022 rules (Options.Legacy); tests using it say why.
func legacy(o *Options) { o.Legacy = true }

func withReceiver(rc *receiver) func(*Options) {
	return func(o *Options) { o.ContactCallback = rc.config() }
}

// allowCallback lets the simulator send callbacks (a batch job's) to rc.
func allowCallback(rc *receiver) func(*Options) {
	return func(o *Options) { o.CallbackURLs = append(o.CallbackURLs, rc.config().URL) }
}

func TestChangeContactFromAdmin(t *testing.T) {
	rc := newReceiver(t, nil)
	// Legacy: this pins the full pre-2022 payloads (every field, renames of
	// departments); TestChangeContactMinimal pins today's.
	e := newEnv(t, withReceiver(rc), legacy)

	if err := e.sim.AdminCreateUser(User{UserID: "newt", Name: "新老师", Department: []int64{3}, Mobile: "13722223333", Position: "讲师", Gender: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AdminUpdateUser("newt", map[string]any{"position": "副教授", "mobile": ""}); err != nil {
		t.Fatal(err)
	}
	id, err := e.sim.AdminCreateDepartment(Department{Name: "新系", ParentID: 5, Order: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AdminUpdateDepartment(id, map[string]any{"order": 9}); err != nil { // silent: order only
		t.Fatal(err)
	}
	if err := e.sim.AdminUpdateDepartment(id, map[string]any{"name": "更新系", "parentid": 2}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AdminAddTagUsers(1, []string{"newt"}, []int64{id}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AdminDeleteUser("newt"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AdminDeleteDepartment(id); err != nil {
		t.Fatal(err)
	}
	e.flush()

	type ev struct {
		Kind    string
		Present string
	}
	var got []ev
	events := rc.got()
	for _, x := range events {
		if x.ToUserName != testCorpID || x.FromUserName != "sys" || x.CreateTime != testBase.Unix() {
			t.Errorf("envelope %+v", x)
		}
		got = append(got, ev{x.Kind(), x.Contact.Present.String()})
	}
	wantEvents := []ev{
		{wecom.KindCreateUser, "UserID|Name|Department|MainDepartment|IsLeaderInDept|Position|Mobile|Gender|Status"},
		{wecom.KindUpdateUser, "UserID|Position|Mobile"},
		{wecom.KindCreateParty, "Name|Id|ParentId|Order"},
		{wecom.KindUpdateParty, "Name|Id|ParentId"},
		{wecom.KindUpdateTag, "TagId|AddUserItems|AddPartyItems"},
		{wecom.KindDeleteUser, "UserID"},
		{wecom.KindDeleteParty, "Id"},
	}
	if d := cmp.Diff(wantEvents, got); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
	cu := events[0].Contact
	if cu.UserID != "newt" || cu.Name != "新老师" || cu.Status != 4 || cu.Mobile != "13722223333" || cmp.Diff([]int{3}, cu.Department) != "" {
		t.Errorf("create_user %+v", cu)
	}
	uu := events[1].Contact
	if uu.Position != "副教授" || uu.Mobile != "" || !uu.Has(wecom.FieldMobile) {
		t.Errorf("update_user must carry the cleared mobile: %+v", uu)
	}
	if up := events[3].Contact; up.Name != "更新系" || up.ParentID != 2 {
		t.Errorf("update_party %+v", up)
	}
	if ut := events[4].Contact; ut.TagID != 1 || cmp.Diff([]string{"newt"}, ut.AddUserItems) != "" || cmp.Diff([]int{int(id)}, ut.AddPartyItems) != "" {
		t.Errorf("update_tag %+v", ut)
	}

	// The change log names every change and the callback it queued.
	changes := e.sim.Changes()
	if len(changes) != 8 {
		t.Fatalf("%d changes: %+v", len(changes), changes)
	}
	if changes[3].ChangeType != "update_party" || changes[3].Callback != 0 || changes[3].Actor != "admin" {
		t.Errorf("order-only update must be logged without a callback: %+v", changes[3])
	}
	for _, d := range e.sim.Deliveries() {
		if !d.Delivered || d.Attempt != 1 || d.Status != 200 {
			t.Errorf("delivery %+v", d)
		}
	}
}

// TestChangeContactMinimal: under today's rules (the default) members carry
// UserID and Department only, departments Id and ParentId, and a rename
// of a department sends nothing.
func TestChangeContactMinimal(t *testing.T) {
	rc := newReceiver(t, nil)
	e := newEnv(t, withReceiver(rc))
	must(t, e.sim.AdminCreateUser(User{UserID: "newt", Name: "新老师", Department: []int64{3}, Mobile: "13722223333"}))
	must(t, e.sim.AdminUpdateUser("newt", map[string]any{"name": "新名字"}))
	must(t, e.sim.AdminUpdateUser("newt", map[string]any{"department": []int{3, 4}}))
	must(t, e.sim.AdminUpdateDepartment(3, map[string]any{"name": "改名不通知"}))
	must(t, e.sim.AdminUpdateDepartment(3, map[string]any{"parentid": 5}))
	_, err := e.sim.AdminCreateDepartment(Department{Name: "新系", ParentID: 5})
	must(t, err)
	e.flush()
	var got []string
	for _, x := range rc.got() {
		got = append(got, x.ChangeType+":"+x.Contact.Present.String())
	}
	wantEvents := []string{
		"create_user:UserID|Department",
		"update_user:UserID",
		"update_user:UserID|Department",
		"update_party:Id|ParentId",
		"create_party:Id|ParentId",
	}
	if d := cmp.Diff(wantEvents, got); d != "" {
		t.Fatalf("events (-want +got):\n%s", d)
	}
}

func TestNoEchoOfContactsSyncWrites(t *testing.T) {
	rc := newReceiver(t, nil)
	e := newEnv(t, withReceiver(rc))
	c, a := e.contacts(), e.app()
	want(t, e.post("/cgi-bin/user/create", c, newUserBody("viaapi")), 0)
	want(t, e.post("/cgi-bin/department/create", c, map[string]any{"name": "API部门", "parentid": 1}), 0)
	want(t, e.post("/cgi-bin/tag/addtagusers", c, map[string]any{"tagid": 1, "userlist": []string{"viaapi"}}), 0)
	e.flush()
	if n := rc.count(); n != 0 {
		t.Fatalf("contacts-sync writes were echoed %d times", n)
	}
	// A self-built app's tag change is sent to the sync receiver.
	tag := e.post("/cgi-bin/tag/create", a, map[string]any{"tagname": "应用标签"})["tagid"].(float64)
	want(t, e.post("/cgi-bin/tag/addtagusers", a, map[string]any{"tagid": tag, "userlist": []string{"lihua"}}), 0)
	e.flush()
	events := rc.got()
	if len(events) != 1 || events[0].Kind() != wecom.KindUpdateTag || events[0].Contact.AddUserItems[0] != "lihua" {
		t.Fatalf("events %+v", events)
	}
	for _, ch := range e.sim.Changes()[:3] {
		if ch.Actor != "contacts" || ch.Callback != 0 {
			t.Errorf("change %+v", ch)
		}
	}
}

func TestCallbackRetries(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(n int, w http.ResponseWriter)
		attempts  int
		delivered bool
	}{
		{"500 every time: 1 + 3 attempts", func(n int, w http.ResponseWriter) { w.WriteHeader(500) }, 4, false},
		{"500 then 200", func(n int, w http.ResponseWriter) {
			if n < 3 {
				w.WriteHeader(502)
			}
		}, 3, true},
		{"too slow every time", func(n int, w http.ResponseWriter) { time.Sleep(300 * time.Millisecond) }, 4, false},
		{"slow once", func(n int, w http.ResponseWriter) {
			if n == 1 {
				time.Sleep(300 * time.Millisecond)
			}
		}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.answer)
			e := newEnv(t, withReceiver(rc), func(o *Options) { o.CallbackTimeout = 50 * time.Millisecond })
			must(t, e.sim.AdminDeleteUser("lihua"))
			e.flush()
			ds := e.sim.Deliveries()
			if len(ds) != tt.attempts {
				t.Fatalf("%d attempts, want %d: %+v", len(ds), tt.attempts, ds)
			}
			for i, d := range ds {
				if d.Attempt != i+1 || d.ID != ds[0].ID {
					t.Errorf("attempt %+v", d)
				}
			}
			if last := ds[len(ds)-1]; last.Delivered != tt.delivered {
				t.Fatalf("last attempt %+v", last)
			}
			if rc.count() != tt.attempts {
				t.Fatalf("receiver saw %d requests", rc.count())
			}
		})
	}
	t.Run("retries configurable", func(t *testing.T) {
		rc := newReceiver(t, func(n int, w http.ResponseWriter) { w.WriteHeader(503) })
		e := newEnv(t, withReceiver(rc), func(o *Options) { o.CallbackRetries = -1 })
		must(t, e.sim.AdminDeleteUser("lihua"))
		e.flush()
		if n := len(e.sim.Deliveries()); n != 1 {
			t.Fatalf("%d attempts with no retries", n)
		}
	})
}

func TestCallbackOrderPerReceiver(t *testing.T) {
	rc := newReceiver(t, nil)
	// Legacy: the order is read from the Position each update_user carries;
	// today's events carry no Position.
	e := newEnv(t, withReceiver(rc), legacy)
	for i := 1; i <= 10; i++ {
		must(t, e.sim.AdminUpdateUser("lihua", map[string]any{"position": strings.Repeat("长", i)}))
	}
	e.flush()
	events := rc.got()
	if len(events) != 10 {
		t.Fatalf("%d events", len(events))
	}
	for i, ev := range events {
		if ev.Contact.Position != strings.Repeat("长", i+1) {
			t.Fatalf("event %d out of order: %q", i, ev.Contact.Position)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
