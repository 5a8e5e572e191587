package native_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
	"github.com/wecomapp/wecomapp/workbench/native"
)

const (
	agentID = 1000002
	secret  = "sim-hall-secret"

	pathSingle = "/cgi-bin/agent/set_workbench_data"
	pathBatch  = "/cgi-bin/agent/batch_set_workbench_data"
)

var labels = []native.Figure{
	{Key: "未读通知", JumpURL: "https://h5.example.edu.cn/app/m/notices"},
	{Key: "待办审批", JumpURL: "https://h5.example.edu.cn/app/m/approvals"},
	{Key: "新消息", JumpURL: "https://h5.example.edu.cn/app/m/messages"},
}

// figures is the test's "own records": the figures of each member.
type figures struct {
	mu    sync.Mutex
	m     map[string][]native.Figure
	fail  map[string]bool
	calls int
}

func (f *figures) set(userID string, unread, approvals, messages int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string][]native.Figure{}
	}
	f.m[userID] = []native.Figure{{Key: "未读通知", Value: unread}, {Key: "待办审批", Value: approvals}, {Key: "新消息", Value: messages}}
}

func (f *figures) get(_ context.Context, userID string) ([]native.Figure, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail[userID] {
		return nil, errors.New("records unavailable")
	}
	return f.m[userID], nil
}

// env is a simulator with the hall app (visible to every department but
// 外国语学院, 5), a Client pointed at it, a database and a Pusher. The
// clock is shared by all; the client's quota waits advance it instead of
// sleeping.
type env struct {
	sim   *wecomsim.Sim
	clock *testenv.Clock
	coord coord.Store
	app   *wecom.Client
	db    *store.DB
	figs  *figures
	p     *native.Pusher
}

func newEnv(t *testing.T, db *store.DB, extra int) *env {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	fx := wecomsim.TestFixture()
	for i := range extra {
		fx.Users = append(fx.Users, wecomsim.User{UserID: fmt.Sprintf("s%05d", i), Name: "学生", Department: []int64{8}, Status: 1})
	}
	sim := wecomsim.New(wecomsim.Options{
		Apps: []wecomsim.App{{AgentID: agentID, Name: "hall", Secret: secret,
			Visible: wecomsim.Visible{Departments: []int64{2, 6, 7}}}},
		Clock:   clk.Now,
		Fixture: fx,
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	co := coord.NewMemory(clk.Now)
	corp, err := wecom.New(wecom.Options{
		BaseURL: srv.URL, CorpID: sim.CorpID(), ContactSecret: sim.ContactSecret(),
		Apps:  []wecom.AppConfig{{Name: "hall", AgentID: agentID, Secret: secret}},
		Coord: co, HTTPTimeout: 5 * time.Second, Registerer: prometheus.NewRegistry(),
		Retry: wecom.RetryPolicy{MaxAttempts: 1},
		Now:   clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error { clk.Advance(d); return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	app, err := corp.App("hall")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: sim, clock: clk, coord: co, app: app, db: db, figs: &figures{}}
	e.p = e.pusher(t)
	return e
}

// pusher is a new Pusher over the env's database, as after a restart.
func (e *env) pusher(t *testing.T) *native.Pusher {
	t.Helper()
	p, err := native.New(native.Options{DB: e.db, App: e.app, Coord: e.coord, Figures: e.figs.get, Labels: labels,
		Now: e.clock.Now, Batch: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) round(t *testing.T) native.RoundResult {
	t.Helper()
	res, err := e.p.Round(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) touch(t *testing.T, ids ...string) {
	t.Helper()
	if err := e.p.Touch(context.Background(), ids...); err != nil {
		t.Fatal(err)
	}
}

// shown is what userid's tile shows: "source: key=data key=data…".
func (e *env) shown(t *testing.T, userid string) string {
	t.Helper()
	tile, err := e.sim.WorkbenchTile(agentID, userid)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(tile.Source + ":")
	if tile.Data.KeyData != nil {
		for _, it := range tile.Data.KeyData.Items {
			fmt.Fprintf(&b, " %s=%s", it.Key, it.Data)
		}
	}
	return b.String()
}

func (e *env) stats(t *testing.T) native.Stats {
	t.Helper()
	s, err := e.p.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) calls(path string) int { return len(e.sim.Calls(path)) }

func each(t *testing.T, fn func(t *testing.T, db *store.DB)) { storetest.Each(t, fn) }

func TestSetTemplateKeepsMembersData(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		ctx := context.Background()
		if err := e.p.SetTemplate(ctx); err != nil {
			t.Fatal(err)
		}
		tile, err := e.sim.WorkbenchTile(agentID, "")
		if err != nil {
			t.Fatal(err)
		}
		if tile.Template == nil || tile.Template.Type != wecomsim.WorkbenchKeyData || tile.Template.ReplaceUserData {
			t.Fatalf("template = %+v, want keydata without replace_user_data", tile.Template)
		}
		items := tile.Template.KeyData.Items
		if len(items) != 3 || items[0].Key != "未读通知" || items[0].Data != "0" || items[1].JumpURL != labels[1].JumpURL {
			t.Errorf("template items = %+v", items)
		}
		if got := e.shown(t, "chenjing"); got != "template: 未读通知=0 待办审批=0 新消息=0" {
			t.Errorf("an untouched member's tile: %s", got)
		}
		e.figs.set("lihua", 3, 1, 0)
		e.touch(t, "lihua")
		e.round(t)
		// A restart sets the template again: members keep their figures.
		if err := e.pusher(t).SetTemplate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.shown(t, "lihua"); got != "user: 未读通知=3 待办审批=1 新消息=0" {
			t.Errorf("lihua's tile after the template was set again: %s", got)
		}
	})
}

func TestTouchThenRoundShowsFigures(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.figs.set("lihua", 3, 1, 0)
		e.figs.set("wangfang", 7, 0, 2)
		// Figures of a label the template lacks are ignored; a missing
		// one shows the default.
		e.figs.m["chenjing"] = []native.Figure{{Key: "新消息", Value: 5}, {Key: "不存在", Value: 9}}
		e.touch(t, "lihua", "wangfang", "chenjing")
		res := e.round(t)
		if res.Pushed != 3 || res.Calls != 3 {
			t.Errorf("round = %+v, want 3 members pushed in 3 calls", res)
		}
		for id, want := range map[string]string{
			"lihua":    "user: 未读通知=3 待办审批=1 新消息=0",
			"wangfang": "user: 未读通知=7 待办审批=0 新消息=2",
			"chenjing": "user: 未读通知=0 待办审批=0 新消息=5",
			"liuyang":  "template: 未读通知=0 待办审批=0 新消息=0",
		} {
			if got := e.shown(t, id); got != want {
				t.Errorf("%s's tile: %s, want %s", id, got, want)
			}
		}
		if s := e.stats(t); s != (native.Stats{Pushed: 3}) {
			t.Errorf("stats = %+v", s)
		}
		// Nothing touched: nothing claimed, nothing sent.
		if res := e.round(t); res != (native.RoundResult{}) {
			t.Errorf("idle round = %+v", res)
		}
		// Touched but unchanged: no call.
		before := e.calls(pathSingle)
		e.touch(t, "lihua")
		if res := e.round(t); res.Unchanged != 1 || res.Calls != 0 {
			t.Errorf("round after an idle touch = %+v, want lihua unchanged", res)
		}
		if e.calls(pathSingle) != before {
			t.Error("an unchanged payload was pushed again")
		}
	})
}

// TestManyTouchesWithinTheLimit: 25 changes of one member in 50 s give at
// most 10 pushes in any minute, none refused by WeCom, and the tile ends
// with the last figures.
func TestManyTouchesWithinTheLimit(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Five touches before one round: one push, with the last value.
		for i := 1; i <= 5; i++ {
			e.figs.set("lihua", i, 0, 0)
			e.touch(t, "lihua")
		}
		if res := e.round(t); res.Pushed != 1 || res.Calls != 1 {
			t.Fatalf("round after 5 touches = %+v, want one push", res)
		}
		if got := e.shown(t, "lihua"); got != "user: 未读通知=5 待办审批=0 新消息=0" {
			t.Fatalf("tile after coalesced touches: %s", got)
		}
		for i := 1; i <= 25; i++ {
			e.figs.set("lihua", 100+i, i, 0)
			e.touch(t, "lihua")
			e.round(t)
			e.clock.Advance(2 * time.Second)
		}
		calls := e.sim.Calls(pathSingle)
		for i, c := range calls {
			n := 0
			for _, d := range calls[i:] {
				if d.Time.Sub(c.Time) < time.Minute {
					n++
				}
			}
			if n > 10 {
				t.Fatalf("%d pushes in the minute from %v", n, c.Time)
			}
		}
		if n := e.sim.CallCount(pathSingle, 45009); n != 0 {
			t.Errorf("%d pushes refused with 45009", n)
		}
		if len(calls) >= 26 {
			t.Errorf("%d pushes for 26 rounds: nothing was held back", len(calls))
		}
		// The member still owed a push gets it once allowed.
		for range 3 {
			e.clock.Advance(time.Minute)
			e.round(t)
		}
		if got := e.shown(t, "lihua"); got != "user: 未读通知=125 待办审批=25 新消息=0" {
			t.Errorf("tile at the end: %s, want the last figures", got)
		}
		if s := e.stats(t); s.Dirty != 0 || s.Pushed != 1 {
			t.Errorf("stats = %+v", s)
		}
	})
}

// TestLimitCountsBatchPushes: two members changing together go in batch
// calls, which the client does not meter per member: the Pusher's own
// limit still holds them to 10 pushes a minute, and the last figures win.
func TestLimitCountsBatchPushes(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		start := e.clock.Now()
		for i := 1; i <= 25; i++ {
			e.figs.set("lihua", i, 0, 0)
			e.figs.set("wangfang", i, 0, 0)
			e.touch(t, "lihua", "wangfang")
			e.round(t)
			e.clock.Advance(2 * time.Second)
		}
		if n := e.calls(pathBatch); n != 10 {
			t.Errorf("%d batch pushes in %v, want 10", n, e.clock.Now().Sub(start))
		}
		if got := e.shown(t, "wangfang"); got == "user: 未读通知=25 待办审批=0 新消息=0" {
			t.Errorf("the 25th figures were pushed within the minute")
		}
		e.clock.Advance(time.Minute)
		e.round(t)
		for _, id := range []string{"lihua", "wangfang"} {
			if got := e.shown(t, id); got != "user: 未读通知=25 待办审批=0 新消息=0" {
				t.Errorf("%s's tile at the end: %s", id, got)
			}
		}
	})
}

// TestTouchDuringRoundIsNotLost: a figure that changes after the round
// computed the member's figures (and touches them) is pushed by the next
// round: the last value is never lost.
func TestTouchDuringRoundIsNotLost(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		p, err := native.New(native.Options{DB: db, App: e.app, Coord: e.coord, Labels: labels, Now: e.clock.Now,
			Figures: func(ctx context.Context, userID string) ([]native.Figure, error) {
				figs, err := e.figs.get(ctx, userID)
				once.Do(func() {
					// A new notice reaches lihua while the round pushes.
					e.figs.set("lihua", 2, 0, 0)
					if err := e.p.Touch(ctx, "lihua"); err != nil {
						t.Error(err)
					}
				})
				return figs, err
			}})
		if err != nil {
			t.Fatal(err)
		}
		e.figs.set("lihua", 1, 0, 0)
		e.touch(t, "lihua")
		if _, err := p.Round(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s := e.stats(t); s.Dirty != 1 {
			t.Errorf("stats after the round = %+v, want lihua still dirty", s)
		}
		if _, err := p.Round(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := e.shown(t, "lihua"); got != "user: 未读通知=2 待办审批=0 新消息=0" {
			t.Errorf("lihua's tile: %s, want the figure that arrived during the first round", got)
		}
	})
}

// TestIdenticalFiguresGoInBatches: 2,500 members with the same figures
// cost 3 batch calls, not 2,500.
func TestIdenticalFiguresGoInBatches(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 2500)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		ids := make([]string, 2500)
		for i := range ids {
			ids[i] = fmt.Sprintf("s%05d", i)
			e.figs.set(ids[i], 1, 0, 0)
		}
		e.figs.set("lihua", 4, 2, 0) // a singleton
		e.touch(t, append(ids, "lihua")...)
		res := e.round(t)
		if res.Pushed != 2501 {
			t.Errorf("round = %+v, want 2501 pushed", res)
		}
		if n := e.calls(pathBatch); n != 3 {
			t.Errorf("%d batch calls, want 3", n)
		}
		if n := e.calls(pathSingle); n != 1 {
			t.Errorf("%d single calls, want 1 (lihua)", n)
		}
		for _, id := range []string{"s00000", "s01234", "s02499"} {
			if got := e.shown(t, id); got != "user: 未读通知=1 待办审批=0 新消息=0" {
				t.Errorf("%s's tile: %s", id, got)
			}
		}
		if got := e.shown(t, "lihua"); got != "user: 未读通知=4 待办审批=2 新消息=0" {
			t.Errorf("lihua's tile: %s", got)
		}
		if s := e.stats(t); s != (native.Stats{Pushed: 2501}) {
			t.Errorf("stats = %+v", s)
		}
	})
}

// TestOutsideVisibleRange: a member WeCom refuses (60021) is reported and
// settled, not retried; the members batched with them still get theirs.
func TestOutsideVisibleRange(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		// zhaolei is in 外国语学院, outside the app's visible range.
		for _, id := range []string{"lihua", "wangfang", "chenjing", "zhaolei"} {
			e.figs.set(id, 2, 0, 0)
		}
		e.touch(t, "lihua", "wangfang", "chenjing", "zhaolei")
		res := e.round(t)
		if res.Pushed != 3 || res.Refused != 1 {
			t.Errorf("round = %+v, want 3 pushed and 1 refused", res)
		}
		for _, id := range []string{"lihua", "wangfang", "chenjing"} {
			if got := e.shown(t, id); got != "user: 未读通知=2 待办审批=0 新消息=0" {
				t.Errorf("%s's tile: %s", id, got)
			}
		}
		row, err := db.GetNativeTile(context.Background(), "zhaolei")
		if err != nil {
			t.Fatal(err)
		}
		if !row.Refused || row.Dirty != store.NativeTileCurrent || !strings.Contains(row.LastError, "60021") {
			t.Errorf("zhaolei's row = %+v, want refused with errcode 60021", row)
		}
		if s := e.stats(t); s != (native.Stats{Pushed: 3, Failed: 1}) {
			t.Errorf("stats = %+v, want 1 failed", s)
		}
		calls := e.calls(pathBatch) + e.calls(pathSingle)
		for range 5 {
			e.clock.Advance(time.Hour)
			e.round(t)
		}
		if n := e.calls(pathBatch) + e.calls(pathSingle); n != calls {
			t.Errorf("%d more calls after the refusal: retried", n-calls)
		}
		// Touched again (new figures for everyone), zhaolei goes alone and
		// cannot fail the others' batch.
		for _, id := range []string{"lihua", "wangfang", "zhaolei"} {
			e.figs.set(id, 3, 0, 0)
		}
		e.touch(t, "lihua", "wangfang", "zhaolei")
		before := e.calls(pathBatch)
		if res := e.round(t); res.Pushed != 2 || res.Refused != 1 {
			t.Errorf("second round = %+v", res)
		}
		if n := e.calls(pathBatch) - before; n != 1 {
			t.Errorf("%d batch calls, want 1 (zhaolei kept out of it)", n)
		}
	})
}

// TestFailedPushBacksOff: a failing call leaves the members dirty with an
// attempt and a backoff, and they are pushed once WeCom answers again.
func TestFailedPushBacksOff(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.figs.set("lihua", 1, 0, 0)
		e.figs.set("wangfang", 1, 0, 0)
		e.figs.set("chenjing", 9, 0, 0)
		e.figs.fail = map[string]bool{"liuyang": true}
		e.sim.AddFault(wecomsim.Fault{Path: pathBatch, Times: 1, ErrCode: -1})
		e.sim.AddFault(wecomsim.Fault{Path: pathSingle, Times: 1, ErrCode: 45009})
		e.touch(t, "lihua", "wangfang", "chenjing", "liuyang")
		if res := e.round(t); res.Failed != 4 || res.Pushed != 0 {
			t.Fatalf("round = %+v, want 4 failed", res)
		}
		row, err := db.GetNativeTile(context.Background(), "lihua")
		if err != nil {
			t.Fatal(err)
		}
		if row.Dirty == store.NativeTileCurrent || row.Attempts != 1 || !strings.Contains(row.LastError, "errcode -1") {
			t.Errorf("lihua's row = %+v, want dirty after 1 attempt with errcode -1", row)
		}
		if s := e.stats(t); s.Dirty != 4 || s.Retrying != 4 {
			t.Errorf("stats = %+v", s)
		}
		if res := e.round(t); res.Claimed != 0 {
			t.Errorf("retried before the backoff: %+v", res)
		}
		e.clock.Advance(time.Minute)
		e.figs.fail = nil
		e.figs.set("liuyang", 0, 0, 0)
		if res := e.round(t); res.Pushed != 4 {
			t.Errorf("round after the backoff = %+v, want 4 pushed", res)
		}
		if got := e.shown(t, "chenjing"); got != "user: 未读通知=9 待办审批=0 新消息=0" {
			t.Errorf("chenjing's tile: %s", got)
		}
		if s := e.stats(t); s != (native.Stats{Pushed: 4}) {
			t.Errorf("stats = %+v", s)
		}
	})
}

// TestRestartKeepsTouches: members touched before a restart are pushed by
// the new instance.
func TestRestartKeepsTouches(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.figs.set("lihua", 6, 0, 0)
		e.touch(t, "lihua")
		e.p = e.pusher(t) // restarted: nothing in memory
		if res := e.round(t); res.Pushed != 1 {
			t.Errorf("round after the restart = %+v", res)
		}
		if got := e.shown(t, "lihua"); got != "user: 未读通知=6 待办审批=0 新消息=0" {
			t.Errorf("lihua's tile: %s", got)
		}
	})
}

// TestEnterAgentTouches: opening the app refreshes the member's tile.
func TestEnterAgentTouches(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		if err := e.p.SetTemplate(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.figs.set("chenjing", 2, 1, 1)
		ev := &wecom.Event{ToUserName: e.sim.CorpID(), FromUserName: "chenjing", MsgType: "event", Event: "enter_agent", AgentID: agentID}
		if ev.Kind() != wecom.KindEnterAgent {
			t.Fatalf("kind %q", ev.Kind())
		}
		if err := e.p.EnterAgent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if s := e.stats(t); s.Dirty != 1 {
			t.Errorf("stats after enter_agent = %+v, want chenjing dirty", s)
		}
		e.round(t)
		if got := e.shown(t, "chenjing"); got != "user: 未读通知=2 待办审批=1 新消息=1" {
			t.Errorf("chenjing's tile: %s", got)
		}
	})
}

// TestOneInstancePushes: while another instance holds the push lock, a
// round pushes nothing; the members wait for it.
func TestOneInstancePushes(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, 0)
		e.figs.set("lihua", 1, 0, 0)
		e.touch(t, "lihua")
		other, err := e.coord.TryLock(context.Background(), native.LockKey, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if res := e.round(t); res.Claimed != 0 {
			t.Errorf("round under another's lock = %+v", res)
		}
		if err := other.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		if res := e.round(t); res.Pushed != 1 {
			t.Errorf("round after the release = %+v", res)
		}
	})
}

// TestRunPushesUntilStopped: Run pushes touched members and returns nil
// when its context ends.
func TestRunPushesUntilStopped(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), 0)
	if err := e.p.SetTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.p.Run(ctx) }()
	e.figs.set("wangfang", 8, 0, 0)
	e.touch(t, "wangfang")
	want := "user: 未读通知=8 待办审批=0 新消息=0"
	for deadline := time.Now().Add(10 * time.Second); e.shown(t, "wangfang") != want; {
		if time.Now().After(deadline) {
			t.Fatalf("Run never pushed: %s", e.shown(t, "wangfang"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), 0)
	good := native.Options{DB: e.db, App: e.app, Coord: e.coord, Figures: e.figs.get, Labels: labels}
	for name, mod := range map[string]func(o *native.Options){
		"no db":          func(o *native.Options) { o.DB = nil },
		"no app":         func(o *native.Options) { o.App = nil },
		"no coord":       func(o *native.Options) { o.Coord = nil },
		"no figures":     func(o *native.Options) { o.Figures = nil },
		"no labels":      func(o *native.Options) { o.Labels = nil },
		"five labels":    func(o *native.Options) { o.Labels = append(labels, labels[0], labels[1]) },
		"label twice":    func(o *native.Options) { o.Labels = []native.Figure{labels[0], labels[0]} },
		"label, no text": func(o *native.Options) { o.Labels = []native.Figure{{}} },
	} {
		o := good
		mod(&o)
		if _, err := native.New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := native.New(good); err != nil {
		t.Errorf("good options: %v", err)
	}
}
