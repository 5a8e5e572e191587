package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/simcorp"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

const (
	corpID  = simcorp.CorpID
	csecret = simcorp.ContactSecret
	agentID = simcorp.AgentID
	// appSecret is the bench's own corp's (it builds the full scale).
	appSecret = simcorp.AppSecret
)

type rig struct {
	db     *store.DB
	sim    *wecomsim.Sim
	co     coord.Store
	mirror *contacts.Mirror
	app    *wecom.Client
	u      *demo.University
	sms    *simcorp.SMS
}

// newRig is the demo university synced into an empty simulated corp, and
// the app's client.
func newRig(t *testing.T, db *store.DB) *rig {
	t.Helper()
	c := simcorp.New(t, db, simcorp.Options{TagRules: true})
	if err := c.Sim.SetJoined(c.Uni.Joined()[:0]); err != nil {
		t.Fatal(err)
	}
	return &rig{db: db, sim: c.Sim, co: c.Coord, mirror: c.Mirror, app: c.App, u: c.Uni, sms: &simcorp.SMS{}}
}

func (r *rig) service(t *testing.T, instance string, perMinute int) *notify.Service {
	t.Helper()
	s, err := notify.New(notify.Options{DB: r.db, Mirror: r.mirror, App: r.app, Coord: r.co, SMS: r.sms, PublicURL: "https://hall.example.edu.cn",
		Instance: instance, PerMinute: perMinute, Lease: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drain runs dispatch steps until nothing is due.
func drain(t *testing.T, ss ...*notify.Service) {
	t.Helper()
	for i := 0; i < 10000; i++ {
		worked := false
		for _, s := range ss {
			w, err := s.Step(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			worked = worked || w
		}
		if !worked {
			return
		}
	}
	t.Fatal("dispatch did not settle")
}

func text(s string) notify.Content {
	b, _ := json.Marshal(map[string]string{"content": s})
	return notify.Content{MsgType: notify.MsgText, Body: b}
}

func (r *rig) tag(t *testing.T, name string) contacts.Tag {
	t.Helper()
	st, err := r.mirror.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range st.Tags {
		if tg.Name == name {
			return tg
		}
	}
	t.Fatalf("no tag %s", name)
	return contacts.Tag{}
}

func inboxCount(sim *wecomsim.Sim, userID, needle string) int {
	n := 0
	for _, it := range sim.Inbox(userID) {
		if strings.Contains(string(it.Body), needle) {
			n++
		}
	}
	return n
}

// TestBroadcastToATag: a message to a tag reaches each of its members once,
// with one result row each; the same idempotency key again sends nothing.
func TestBroadcastToATag(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		s := r.service(t, "a", 0)
		tg := r.tag(t, "教职工")
		m := notify.Message{Producer: "api:oa", IdempotencyKey: "oa-1", Lane: notify.LaneBroadcast, To: notify.Recipients{Tags: []int64{tg.ID}}, Content: text("周五下午全体教职工大会")}
		rec, err := s.Submit(ctx, m)
		if err != nil || rec.ID == 0 || rec.Duplicate {
			t.Fatalf("submit: %+v %v", rec, err)
		}
		again, err := s.Submit(ctx, m)
		if err != nil || again.ID != rec.ID || !again.Duplicate {
			t.Fatalf("second submit: %+v %v, want the first message", again, err)
		}
		drain(t, s)
		st, err := s.Get(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != store.OutboxDone || len(st.Recipients) != len(tg.Users) || st.Counts[notify.OutcomeDelivered] != len(tg.Users) {
			t.Fatalf("status %s, %d results, counts %v; want done, %d delivered", st.State, len(st.Recipients), st.Counts, len(tg.Users))
		}
		for _, u := range tg.Users {
			if n := inboxCount(r.sim, u, "全体教职工大会"); n != 1 {
				t.Errorf("%s got the notice %d times, want once", u, n)
			}
		}
		if n := len(r.sim.Calls("/cgi-bin/message/send")); n != 1 {
			t.Errorf("%d message/send calls for %d members, want 1", n, len(tg.Users))
		}
	})
}

// TestChannels: a WeChat-plugin member gets a textcard linking to the H5
// page where a WeCom member gets the template card; a number outside WeCom
// gets an SMS; an unknown userid is recorded invalid.
func TestChannels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		plugin, client := r.u.DataCenter().Students[0].StudentNo, r.u.DataCenter().Students[1].StudentNo
		if err := db.RecordClient(ctx, plugin, "wechat", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordClient(ctx, client, "wecom", time.Now()); err != nil {
			t.Fatal(err)
		}
		card := `{"card_type":"text_notice","main_title":{"title":"请假审批","desc":"张三申请病假 2 天"},"card_action":{"type":1,"url":"https://hall.example.edu.cn/app/m/leave"}}`
		s := r.service(t, "a", 0)
		rec, err := s.Submit(ctx, notify.Message{Producer: "hall", Lane: notify.LaneApproval,
			To:      notify.Recipients{UserIDs: []string{plugin, client, "nobody999"}, Mobiles: []string{"139 0000 1234"}},
			Content: notify.Content{MsgType: notify.MsgTemplateCard, Body: json.RawMessage(card)}})
		if err != nil {
			t.Fatal(err)
		}
		drain(t, s)
		got := map[string]string{}
		for _, u := range []string{plugin, client} {
			for _, it := range r.sim.Inbox(u) {
				got[u] = it.MsgType
			}
		}
		if got[plugin] != "textcard" || got[client] != "template_card" {
			t.Errorf("plugin member got %q, WeCom member %q; want textcard and template_card", got[plugin], got[client])
		}
		for _, it := range r.sim.Inbox(plugin) {
			if !strings.Contains(string(it.Body), "请假审批") || !strings.Contains(string(it.Body), "/app/messages/") {
				t.Errorf("the textcard lacks the title or the H5 link: %s", it.Body)
			}
		}
		if txt := r.sms.Sent("+8613900001234"); len(txt) != 1 || !strings.Contains(txt[0], "请假审批") {
			t.Errorf("SMS sent: %v", r.sms.All())
		}
		st, _ := s.Get(ctx, rec.ID)
		outcomes := map[string]string{}
		for _, rr := range st.Recipients {
			outcomes[rr.UserID+rr.Mobile] = rr.Outcome
			if rr.Mobile != "" && strings.Contains(rr.Mobile, "0000") {
				t.Errorf("the status shows the number unmasked: %s", rr.Mobile)
			}
		}
		if outcomes["nobody999"] != notify.OutcomeInvalid || outcomes[plugin] != notify.OutcomeDelivered || len(outcomes) != 4 {
			t.Errorf("outcomes %v", outcomes)
		}
	})
}

// TestGovernorHoldsInsteadOfDropping: past a member's per-minute limit the
// message waits (held) instead of being sent for WeCom to drop; it goes
// once the minute has passed.
func TestGovernorHoldsInsteadOfDropping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		s := r.service(t, "a", 2) // 2 a minute, for the test
		who := r.u.DataCenter().Faculty[3].StaffNo
		var ids []int64
		for i := 0; i < 3; i++ {
			rec, err := s.Submit(ctx, notify.Message{Producer: "test", Lane: notify.LaneReminder, To: notify.Recipients{UserIDs: []string{who}}, Content: text("提醒 " + string(rune('A'+i)))})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, rec.ID)
		}
		drain(t, s)
		if n := len(r.sim.Inbox(who)); n != 2 {
			t.Fatalf("%d messages delivered in the first minute, want 2", n)
		}
		st, _ := s.Get(ctx, ids[2])
		if st.Counts[notify.OutcomeHeld] != 1 {
			t.Fatalf("the third message: %v, want held", st.Counts)
		}
		if d := r.sim.MessageDrops(); len(d) != 0 {
			t.Errorf("WeCom dropped %d messages", len(d))
		}
		// The admin is told when it will go: not before the member's
		// minute is over.
		e, err := s.EstimateFinish(ctx, ids[2])
		if err != nil || e.Held != 1 || e.Finish.Before(time.Now().Add(20*time.Second)) || e.Finish.After(time.Now().Add(2*time.Minute)) {
			t.Errorf("estimate %+v, %v; want 1 held, finishing within the next minute or so", e, err)
		}
		if e, _ := s.EstimateFinish(ctx, ids[0]); e.Waiting+e.Held != 0 || !e.Finish.IsZero() {
			t.Errorf("estimate of a delivered message: %+v", e)
		}
	})
}

// TestDeadDispatcherLosesAndDuplicatesNothing: a dispatcher that claimed a
// chunk and died before recording the send leaves it to another, which
// sends the identical request: WeCom's duplicate check delivers nothing
// twice, and every recipient ends with one result.
func TestDeadDispatcherLosesAndDuplicatesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		now := time.Now()
		clock := func() time.Time { return now }
		mk := func(name string) *notify.Service {
			s, err := notify.New(notify.Options{DB: r.db, Mirror: r.mirror, App: r.app, Coord: r.co, Instance: name, Lease: 5 * time.Second, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		a, b := mk("a"), mk("b")
		tg := r.tag(t, "教职工")
		rec, err := a.Submit(ctx, notify.Message{Producer: "test", To: notify.Recipients{Tags: []int64{tg.ID}}, Content: text("停电通知")})
		if err != nil {
			t.Fatal(err)
		}
		// a sends the chunk, and dies before recording it: its WeCom call is
		// made, the rows stay sending under a's lease.
		r.sim.AddFault(wecomsim.Fault{Path: "/cgi-bin/message/send", DropAfter: true, Times: 1})
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, _ = a.Step(cctx)
		cancel()
		delivered := 0
		for _, u := range tg.Users {
			delivered += inboxCount(r.sim, u, "停电通知")
		}
		if delivered == 0 {
			t.Fatal("a's call did not reach WeCom; the test needs the send made and the answer lost")
		}
		// b, after a's lease: takes the chunk over and sends it again.
		now = now.Add(time.Minute)
		drain(t, b)
		st, err := b.Get(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Counts[notify.OutcomeDelivered] != len(tg.Users) || st.State != store.OutboxDone {
			t.Errorf("after b: %v %s; want %d delivered, done", st.Counts, st.State, len(tg.Users))
		}
		for _, u := range tg.Users {
			if n := inboxCount(r.sim, u, "停电通知"); n != 1 {
				t.Errorf("%s has the notice %d times, want once", u, n)
			}
		}
	})
}

// TestRefusals: what is wrong with a message is said, and nothing is
// queued.
func TestRefusals(t *testing.T) {
	db := storetest.SQLite(t)
	r := newRig(t, db)
	s := r.service(t, "a", 0)
	for name, m := range map[string]notify.Message{
		"no recipients": {Producer: "p", Content: text("x")},
		"empty text":    {Producer: "p", To: notify.Recipients{UserIDs: []string{"a"}}, Content: text(" ")},
		"unknown type":  {Producer: "p", To: notify.Recipients{UserIDs: []string{"a"}}, Content: notify.Content{MsgType: "fax", Body: json.RawMessage(`{}`)}},
		"unknown key":   {Producer: "p", To: notify.Recipients{UserIDs: []string{"a"}}, Content: notify.Content{MsgType: "text", Body: json.RawMessage(`{"contnet":"x"}`)}},
		"bad card":      {Producer: "p", To: notify.Recipients{UserIDs: []string{"a"}}, Content: notify.Content{MsgType: "template_card", Body: json.RawMessage(`{"card_type":"text_notice"}`)}},
		"bad mobile":    {Producer: "p", To: notify.Recipients{Mobiles: []string{"12345"}}, Content: text("x")},
		"roles":         {Producer: "p", To: notify.Recipients{Roles: []string{"counselor"}}, Content: text("x")},
	} {
		_, err := s.Submit(context.Background(), m)
		var ie *notify.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: %v, want an InvalidError", name, err)
		}
	}
}

// TestAppDailyQuota: past the app's messages a day (everyone together),
// the rest wait for the quota instead of being refused by WeCom.
func TestAppDailyQuota(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	r := newRig(t, db)
	s, err := notify.New(notify.Options{DB: r.db, Mirror: r.mirror, App: r.app, Coord: r.co, Instance: "a", DailyQuota: 3})
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, f := range r.u.DataCenter().Faculty[:5] {
		who = append(who, f.StaffNo)
	}
	rec, err := s.Submit(ctx, notify.Message{Producer: "test", To: notify.Recipients{UserIDs: who}, Content: text("教代会通知")})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	st, _ := s.Get(ctx, rec.ID)
	if st.Counts[notify.OutcomeDelivered] != 3 || st.Counts[notify.OutcomeHeld] != 2 {
		t.Errorf("counts %v; want 3 delivered within the day's quota, 2 held", st.Counts)
	}
}
