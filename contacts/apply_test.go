package contacts_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// writePaths are the contacts APIs that change WeCom.
var writePaths = []string{
	"/cgi-bin/department/create", "/cgi-bin/department/update", "/cgi-bin/department/delete",
	"/cgi-bin/user/create", "/cgi-bin/user/update", "/cgi-bin/user/delete",
	"/cgi-bin/tag/create", "/cgi-bin/tag/update", "/cgi-bin/tag/delete",
	"/cgi-bin/tag/addtagusers", "/cgi-bin/tag/deltagusers",
}

// syncEnv is an empty simulated corp under today's rules, the contacts-sync
// client pointed at it, a mirror and the small demo's data center with two
// tag rules.
type syncEnv struct {
	sim   *wecomsim.Sim
	cl    *wecom.Client
	m     *contacts.Mirror
	dc    store.DataCenter
	rules []contacts.TagRule
	// hook, when set, sees each request first; true means it answered.
	hook atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

func newSyncEnv(t *testing.T, db *store.DB) *syncEnv {
	t.Helper()
	e := &syncEnv{
		sim: wecomsim.New(wecomsim.Options{Fixture: &wecomsim.Fixture{}}),
		m:   newMirror(t, db),
		dc:  demo.Generate(demo.Small()).DataCenter(),
		rules: []contacts.TagRule{
			{Name: "学生", Rule: `kind == "student"`, Enabled: true},
			{Name: "教职工", Rule: `kind == "faculty"`, Enabled: true},
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := e.hook.Load(); h != nil && (*h)(w, r) {
			return
		}
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); e.sim.Close() })
	corp, err := wecom.New(wecom.Options{BaseURL: srv.URL, CorpID: e.sim.CorpID(), ContactSecret: e.sim.ContactSecret(),
		Coord: coord.NewMemory(nil), HTTPTimeout: 5 * time.Second,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	if e.cl, err = corp.Contacts(); err != nil {
		t.Fatal(err)
	}
	return e
}

// plan builds the desired state and the plan as `wecomapp sync` does.
func (e *syncEnv) plan(t *testing.T) (*contacts.Plan, contacts.Desired, []contacts.Touch) {
	t.Helper()
	ctx := context.Background()
	st, err := e.m.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	touched, err := e.m.Touched(ctx)
	if err != nil {
		t.Fatal(err)
	}
	desired, _ := contacts.BuildDesired(e.dc, e.rules, contacts.DesiredOptions{IDs: contacts.IDsFromMirror(st)})
	return contacts.BuildPlan(desired, st, contacts.PlanOptions{Touched: touched, Now: time.Now()}), desired, touched
}

// sync plans and applies; progress may be nil.
func (e *syncEnv) sync(t *testing.T, ctx context.Context, progress func(done, total int, op contacts.Op)) (*contacts.Plan, *contacts.Report, error) {
	t.Helper()
	p, desired, touched := e.plan(t)
	rep, err := contacts.Apply(ctx, p, contacts.ApplyOptions{Client: e.cl, Mirror: e.m, Desired: desired, Touched: touched, Progress: progress})
	return p, rep, err
}

// writes counts the simulator's calls to each write API so far.
func (e *syncEnv) writes() map[string]int {
	out := map[string]int{}
	for _, p := range writePaths {
		if n := len(e.sim.Calls(p)); n > 0 {
			out[strings.TrimPrefix(p, "/cgi-bin/")] = n
		}
	}
	return out
}

func diffWrites(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// checkConverged: the simulator holds every desired department (name,
// parent) and member (departments, enable state) and tag (members), read
// through the simulator's own state, and the mirror equals the desired
// state.
func (e *syncEnv) checkConverged(t *testing.T) {
	t.Helper()
	_, desired, _ := e.plan(t)
	snap := e.sim.Snapshot()
	depts := map[int64]wecomsim.Department{}
	for _, d := range snap.Departments {
		depts[d.ID] = d
	}
	for _, d := range desired.Departments {
		got, ok := depts[d.ID]
		if !ok {
			t.Errorf("department %d (%s) is not in WeCom", d.ID, d.Name)
			continue
		}
		if got.Name != d.Name || got.ParentID != d.ParentID || got.Order != d.Order {
			t.Errorf("department %d in WeCom: %q under %d order %d, want %q under %d order %d", d.ID, got.Name, got.ParentID, got.Order, d.Name, d.ParentID, d.Order)
		}
	}
	if len(snap.Departments) != len(desired.Departments)+1 {
		t.Errorf("WeCom has %d departments, want the root and %d", len(snap.Departments), len(desired.Departments))
	}
	users := map[string]wecomsim.User{}
	for _, u := range snap.Users {
		users[u.UserID] = u
	}
	for _, d := range desired.Members {
		got, ok := users[d.UserID]
		if !ok {
			if d.Enabled {
				t.Errorf("member %s is not in WeCom", d.UserID)
			}
			continue
		}
		var want []int64
		for _, ms := range d.Departments {
			want = append(want, ms.Department)
		}
		if !slices.Equal(got.Department, want) || got.Name != d.Name || (got.Status == 2) == d.Enabled || got.MainDepartment != d.MainDepartment {
			t.Errorf("member %s in WeCom: %s in %v (main %d) status %d, want %s in %v (main %d) enabled %v",
				d.UserID, got.Name, got.Department, got.MainDepartment, got.Status, d.Name, want, d.MainDepartment, d.Enabled)
		}
	}
	tags := map[string][]string{}
	for _, tg := range snap.Tags {
		u := slices.Clone(tg.UserList)
		slices.Sort(u)
		tags[tg.TagName] = u
	}
	for _, d := range desired.Tags {
		if got := tags[d.Name]; !slices.Equal(got, d.Users) {
			t.Errorf("tag %s in WeCom has %d members, want %d", d.Name, len(got), len(d.Users))
		}
	}

	st, err := e.m.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(contacts.Department{}, "WrittenAt")
	if d := gocmp.Diff(desired.Departments, st.Departments, ignore, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("mirror departments (-desired +mirror):\n%s", d)
	}
	var enabled []contacts.Member
	for _, m := range desired.Members {
		if _, inWeCom := users[m.UserID]; m.Enabled || inWeCom {
			enabled = append(enabled, m)
		}
	}
	if d := gocmp.Diff(enabled, st.Members, cmpopts.IgnoreFields(contacts.Member{}, "WrittenAt", "Status"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("mirror members (-desired +mirror):\n%s", d)
	}
	var mt []contacts.Tag
	for _, tg := range st.Tags {
		slices.Sort(tg.Users)
		tg.ID, tg.WrittenAt = 0, time.Time{}
		mt = append(mt, tg)
	}
	slices.SortFunc(mt, func(a, b contacts.Tag) int { return strings.Compare(a.Name, b.Name) })
	if d := gocmp.Diff(desired.Tags, mt, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("mirror tags (-desired +mirror):\n%s", d)
	}
}

// createsPerObject counts the simulator's successful creates by object.
func (e *syncEnv) createsPerObject() map[string]int {
	out := map[string]int{}
	for _, c := range e.sim.Changes() {
		switch c.ChangeType {
		case "create_user":
			out["user "+c.UserID]++
		case "create_party":
			out["department "+strconv.FormatInt(c.DeptID, 10)]++
		case "create_tag":
			out["tag "+strconv.FormatInt(c.TagID, 10)]++
		}
	}
	return out
}

// TestApplyFirstSyncConverges: the first sync into an empty corp creates
// everything, converges, and a second run plans nothing and writes nothing.
func TestApplyFirstSyncConverges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSyncEnv(t, db)
		ctx := context.Background()
		var progress []int
		p, rep, err := e.sync(t, ctx, func(done, total int, _ contacts.Op) { progress = append(progress, done) })
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Converged() || rep.Applied != len(p.Ops) || len(rep.Failures) != 0 {
			t.Fatalf("report %+v for %d ops, want all applied; failures %+v", rep, len(p.Ops), rep.Failures)
		}
		if len(progress) != len(p.Ops) || progress[len(progress)-1] != len(p.Ops) {
			t.Errorf("progress was called %d times (last %v), want %d", len(progress), progress[len(progress)-1:], len(p.Ops))
		}
		s := p.Summary()
		w := e.writes()
		t.Logf("first sync: %s; %d calls; writes %v", s, rep.Calls, w)
		for _, k := range s.Kinds {
			var path string
			switch k.Kind {
			case contacts.OpCreateDepartment:
				path = "department/create"
			case contacts.OpCreateUser:
				path = "user/create"
			case contacts.OpCreateTag:
				path = "tag/create"
			case contacts.OpAddTagUsers:
				path = "tag/addtagusers"
			default:
				t.Errorf("the first sync plans %d %s", k.Count, k.Kind)
				continue
			}
			if w[path] != k.Count {
				t.Errorf("%s: %d calls for %d ops", path, w[path], k.Count)
			}
		}
		if rep.Calls != len(p.Ops) {
			t.Errorf("%d calls for %d ops", rep.Calls, len(p.Ops))
		}
		e.checkConverged(t)

		before := e.writes()
		p2, rep2, err := e.sync(t, ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Ops) != 0 || rep2.Calls != 0 {
			t.Errorf("second run: %s, %d calls; want nothing", p2.Summary(), rep2.Calls)
		}
		if d := diffWrites(before, e.writes()); len(d) != 0 {
			t.Errorf("second run wrote %v", d)
		}
	})
}

// TestApplyResumes: a run cancelled mid-apply — once between ops, once
// while a user/create WeCom carried out was in flight — is resumed by
// running again, which converges without creating anything twice; the
// in-flight create is absorbed by adopting the member (one 60102).
func TestApplyResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSyncEnv(t, db)
		p0, _, _ := e.plan(t)
		total := len(p0.Ops)

		// Stopped between ops, after 20.
		ctx, cancel := context.WithCancel(context.Background())
		_, rep, err := e.sync(t, ctx, func(done, _ int, _ contacts.Op) {
			if done == 20 {
				cancel()
			}
		})
		if err == nil || !rep.Interrupted || rep.Applied != 20 {
			t.Fatalf("cancelled run: %+v, %v; want interrupted after 20 ops", rep, err)
		}
		p1, _, _ := e.plan(t)
		if len(p1.Ops) != total-20 {
			t.Errorf("after 20 ops the plan has %d ops, want %d", len(p1.Ops), total-20)
		}

		// Stopped while the 10th user/create is in flight: WeCom does it,
		// the answer never comes back.
		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		var creates atomic.Int32
		hook := func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/cgi-bin/user/create" || creates.Add(1) != 10 {
				return false
			}
			e.sim.ServeHTTP(httptest.NewRecorder(), r)
			cancel()
			http.Error(w, "gateway lost", http.StatusBadGateway)
			return true
		}
		e.hook.Store(&hook)
		_, rep, err = e.sync(t, ctx, nil)
		e.hook.Store(nil)
		if err == nil || !rep.Interrupted {
			t.Fatalf("run cancelled in flight: %+v, %v; want interrupted", rep, err)
		}

		_, rep, err = e.sync(t, context.Background(), nil)
		if err != nil || !rep.Converged() {
			t.Fatalf("resumed run: %+v, %v", rep, err)
		}
		if len(rep.Adopted) != 1 {
			t.Errorf("adopted %v, want the one member created in flight", rep.Adopted)
		}
		e.checkConverged(t)
		for obj, n := range e.createsPerObject() {
			if n != 1 {
				t.Errorf("%s created %d times", obj, n)
			}
		}
		_, desired, _ := e.plan(t)
		users := len(e.sim.Calls("/cgi-bin/user/create"))
		if users > len(desired.Members)+1 {
			t.Errorf("%d user/create calls for %d members: more than one repeated", users, len(desired.Members))
		}
		if n := e.sim.CallCount("/cgi-bin/user/create", wecom.CodeUserExists); n != 1 {
			t.Errorf("%d creates answered 60102, want 1", n)
		}
	})
}

// TestApplyChurn: after the first sync, 1 % churn — a joiner, a leaver, a
// transfer and a renamed department — costs exactly the calls it needs.
func TestApplyChurn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSyncEnv(t, db)
		if _, rep, err := e.sync(t, context.Background(), nil); err != nil || !rep.Converged() {
			t.Fatalf("first sync: %+v, %v", rep, err)
		}
		dc := &e.dc
		var enrolled []int
		for i, s := range dc.Students {
			if s.Status == "enrolled" && s.ClassCode != "" {
				enrolled = append(enrolled, i)
			}
		}
		if len(enrolled) < 3 {
			t.Fatalf("the demo has %d enrolled students in classes", len(enrolled))
		}
		joiner := dc.Students[enrolled[0]]
		joiner.StudentNo, joiner.Name, joiner.Mobile, joiner.Email = "S2099000001", "新同学", "13912349876", ""
		dc.Students = append(dc.Students, joiner)
		leaver := &dc.Students[enrolled[1]]
		leaver.Status = "graduated"
		mover := &dc.Students[enrolled[2]]
		for _, s := range dc.Students {
			if s.ClassCode != "" && s.ClassCode != mover.ClassCode && s.CollegeCode == mover.CollegeCode {
				mover.ClassCode = s.ClassCode
				break
			}
		}
		dc.Departments[len(dc.Departments)-1].Name += "（新）"

		before := e.writes()
		p, rep, err := e.sync(t, context.Background(), nil)
		if err != nil || !rep.Converged() {
			t.Fatalf("churn run: %+v, %v", rep, err)
		}
		t.Logf("churn: %s; %d calls", p.Summary(), rep.Calls)
		want := map[string]int{
			"user/create": 1, "user/update": 2, "department/update": 1,
			"tag/addtagusers": 1, "tag/deltagusers": 1, // 学生: the joiner in, the leaver out
		}
		if d := gocmp.Diff(want, diffWrites(before, e.writes())); d != "" {
			t.Errorf("writes of the churn run (-want +got):\n%s", d)
		}
		if rep.Calls != 6 {
			t.Errorf("%d calls, want 6", rep.Calls)
		}
		e.checkConverged(t)
	})
}

// TestApplyFailureIsolated: a member whose mobile someone else holds in
// WeCom fails with 60104 and advice, a department whose name someone else
// took under the same parent fails with 60008 and advice, every other op
// applies, and the ops that depend on the failed department are skipped.
func TestApplyFailureIsolated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSyncEnv(t, db)
		var victim store.DCStudent
		for _, s := range e.dc.Students {
			if s.Status == "enrolled" && s.Mobile != "" {
				victim = s
				break
			}
		}
		if err := e.sim.AdminCreateUser(wecomsim.User{UserID: "outsider", Name: "外人", Department: []int64{1}, Mobile: victim.Mobile}); err != nil {
			t.Fatal(err)
		}
		// Someone made the first level-1 department's name under the root
		// in the console: its create clashes (60008), its subtree and its
		// members wait.
		p0, _, _ := e.plan(t)
		first := p0.Ops[0]
		if _, err := e.sim.AdminCreateDepartment(wecomsim.Department{ID: 900000, Name: *first.DeptFields.Name, ParentID: 1}); err != nil {
			t.Fatal(err)
		}
		p, rep, err := e.sync(t, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var dependants int
		failedIdx := map[int]bool{first.Index: true}
		for _, op := range p.Ops {
			for _, d := range op.Depends {
				if failedIdx[d] {
					failedIdx[op.Index] = true
					dependants++
					break
				}
			}
		}
		if rep.Failed != 2 || rep.Skipped != dependants || rep.Applied != len(p.Ops)-2-dependants {
			t.Errorf("report: %d applied, %d failed, %d skipped; want %d, 2, %d", rep.Applied, rep.Failed, rep.Skipped, len(p.Ops)-2-dependants, dependants)
		}
		if dependants == 0 {
			t.Error("nothing depends on the first department")
		}
		codes := map[int]contacts.Failure{}
		for _, f := range rep.Failures {
			codes[f.Code] = f
		}
		if f, ok := codes[60104]; !ok || f.Op.UserID != victim.StudentNo || !strings.Contains(f.Advice, "mobile") {
			t.Errorf("failures %+v: want 60104 for %s with advice about the mobile", rep.Failures, victim.StudentNo)
		}
		if f, ok := codes[60008]; !ok || f.Op.Index != first.Index || !strings.Contains(f.Advice, "same name") {
			t.Errorf("failures %+v: want 60008 for op %d with advice about the name", rep.Failures, first.Index)
		}
		// The next run retries only what failed and what waited on it.
		waited := map[string]bool{victim.StudentNo: true}
		for _, op := range p.Ops {
			if failedIdx[op.Index] {
				waited[op.UserID+"/"+strconv.FormatInt(op.Department, 10)] = true
			}
		}
		p2, _, _ := e.plan(t)
		for _, op := range p2.Ops {
			if op.Kind == contacts.OpCreateDepartment || op.Kind == contacts.OpCreateUser {
				if !waited[op.UserID+"/"+strconv.FormatInt(op.Department, 10)] && op.UserID != victim.StudentNo {
					t.Errorf("the next plan creates %s%d again, which the first run applied", op.UserID, op.Department)
				}
			}
		}
	})
}

// TestApplyTouchesAndTagIDs: a member changed in the console is
// re-asserted and its touch cleared; a member deleted in the console is
// created again; a tag id the plan chose that someone else's tag holds is
// given up for the id WeCom chooses, and the tag's members go there.
func TestApplyTouchesAndTagIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSyncEnv(t, db)
		ctx := context.Background()
		other, err := e.sim.AdminCreateTag("别人的标签", 1)
		if err != nil || other != 1 {
			t.Fatalf("admin tag: %d, %v", other, err)
		}
		p, rep, err := e.sync(t, ctx, nil)
		if err != nil || !rep.Converged() {
			t.Fatalf("first sync: %+v, %v", rep, err)
		}
		if p.TagIDs["学生"] != 1 && p.TagIDs["教职工"] != 1 {
			t.Fatalf("the plan gave no tag id 1: %v", p.TagIDs)
		}
		e.checkConverged(t)
		if n := e.sim.CallCount("/cgi-bin/tag/create", 40068); n == 0 {
			t.Error("no tag/create met the taken id")
		}
		for _, tg := range e.sim.Snapshot().Tags {
			if tg.TagID == 1 && (tg.TagName != "别人的标签" || len(tg.UserList) != 0) {
				t.Errorf("someone else's tag 1 became %q with %d members", tg.TagName, len(tg.UserList))
			}
		}

		// The console changes one member and deletes another.
		_, desired, _ := e.plan(t)
		changed, deleted := desired.Members[0], desired.Members[1]
		if err := e.sim.AdminUpdateUser(changed.UserID, map[string]any{"position": "改过的"}); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.AdminDeleteUser(deleted.UserID); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Unix()
		handle(t, e.m, contactEvent(t, "update_user", at, &wecom.ContactChange{UserID: changed.UserID}))
		handle(t, e.m, contactEvent(t, "delete_user", at, &wecom.ContactChange{UserID: deleted.UserID}))
		p, rep, err = e.sync(t, ctx, nil)
		if err != nil || !rep.Converged() {
			t.Fatalf("sync after the console: %+v, %v", rep, err)
		}
		t.Logf("after the console: %s", p.Summary())
		if ts := touched(t, e.m); len(ts) != 0 {
			t.Errorf("touches left after the run: %+v", ts)
		}
		for _, u := range e.sim.Snapshot().Users {
			if u.UserID == changed.UserID && u.Position != changed.Position {
				t.Errorf("member %s's position is %q, want the data center's %q", u.UserID, u.Position, changed.Position)
			}
		}
		e.checkConverged(t)
		if p, _, _ := e.plan(t); len(p.Ops) != 0 {
			t.Errorf("then the plan has %s", p.Summary())
		}
	})
}
