package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// clock is a movable time for the governor and the dispatcher.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRemindersHeldByTheQuotaFoldIntoADigest: a member past the per-minute
// limit with several reminders waiting gets them in one text once the
// quota frees, instead of one by one; each reminder's result is recorded
// delivered, and a broadcast is never folded.
func TestRemindersHeldByTheQuotaFoldIntoADigest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		clk := &clock{t: time.Now()}
		r.co = coord.NewMemory(clk.Now)
		s, err := notify.New(notify.Options{DB: r.db, Mirror: r.mirror, App: r.app, Coord: r.co, PublicURL: "https://hall.example.edu.cn",
			Instance: "a", PerMinute: 2, Lease: 5 * time.Second, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		who := r.u.DataCenter().Faculty[5].StaffNo
		other := r.u.DataCenter().Faculty[6].StaffNo
		submit := func(lane notify.Lane, to []string, body string) int64 {
			t.Helper()
			rec, err := s.Submit(ctx, notify.Message{Producer: "test", Lane: lane, To: notify.Recipients{UserIDs: to}, Content: text(body)})
			if err != nil {
				t.Fatal(err)
			}
			return rec.ID
		}
		var reminders []int64
		for _, b := range []string{"打卡提醒一", "打卡提醒二", "健康上报提醒", "通勤班车提醒", "周报提醒"} {
			reminders = append(reminders, submit(notify.LaneReminder, []string{who, other}, b))
		}
		bc := submit(notify.LaneBroadcast, []string{who}, "全校停水通知")
		drain(t, s)
		if n := len(r.sim.Inbox(who)); n != 2 {
			t.Fatalf("%d messages in the first minute, want 2 (the quota)", n)
		}
		clk.Add(61 * time.Second)
		drain(t, s)
		inbox := r.sim.Inbox(who)
		var digest string
		for _, it := range inbox {
			if strings.Contains(string(it.Body), "条提醒") {
				digest = string(it.Body)
			}
		}
		if digest == "" {
			t.Fatalf("no digest after the minute; inbox %d messages", len(inbox))
		}
		for _, b := range []string{"健康上报提醒", "通勤班车提醒", "周报提醒"} {
			if !strings.Contains(digest, b) {
				t.Errorf("the digest lacks %s: %s", b, digest)
			}
		}
		if strings.Contains(digest, "停水") {
			t.Errorf("a broadcast was folded into the digest: %s", digest)
		}
		for _, id := range reminders {
			st, err := s.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Counts[notify.OutcomeDelivered] != 2 || st.State != store.OutboxDone {
				t.Errorf("reminder %d: %s %v, want both delivered", id, st.State, st.Counts)
			}
		}
		// Each reminder reached the member once: two alone, three in the
		// digest (one of the minute's two sends); the broadcast goes as
		// itself, with the other.
		seen := map[string]int{}
		for _, it := range r.sim.Inbox(who) {
			var b struct {
				Text struct{ Content string } `json:"text"`
			}
			_ = json.Unmarshal(it.Body, &b)
			for _, x := range []string{"打卡提醒一", "打卡提醒二", "健康上报提醒", "通勤班车提醒", "周报提醒"} {
				if strings.Contains(string(it.Body), x) {
					seen[x]++
				}
			}
		}
		for x, n := range seen {
			if n != 1 {
				t.Errorf("%s reached the member %d times", x, n)
			}
		}
		if n := inboxCount(r.sim, who, "全校停水通知"); n != 1 {
			t.Errorf("the broadcast arrived %d times, want once", n)
		}
		if st, _ := s.Get(ctx, bc); st.Counts[notify.OutcomeDelivered] != 1 {
			t.Errorf("broadcast %v", st.Counts)
		}
		if d := r.sim.MessageDrops(); len(d) != 0 {
			t.Errorf("WeCom dropped %d messages", len(d))
		}
	})
}

// TestAnAdminsMarkChoosesTheChannel: a member marked by hand as using the
// WeChat plugin gets a textcard though they signed in from WeCom; marked
// back to WeCom, the template card.
func TestAnAdminsMarkChoosesTheChannel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		who := r.u.DataCenter().Students[4].StudentNo
		if err := db.RecordClient(ctx, who, "wecom", time.Now()); err != nil {
			t.Fatal(err)
		}
		s := r.service(t, "a", 0)
		card := func(title string) notify.Content {
			return notify.Content{MsgType: notify.MsgTemplateCard, Body: json.RawMessage(`{"card_type":"text_notice","main_title":{"title":"` + title + `"},"card_action":{"type":1,"url":"https://hall.example.edu.cn/x"}}`)}
		}
		send := func(title string) string {
			t.Helper()
			if _, err := s.Submit(ctx, notify.Message{Producer: "test", Lane: notify.LaneBroadcast, To: notify.Recipients{UserIDs: []string{who}}, Content: card(title)}); err != nil {
				t.Fatal(err)
			}
			drain(t, s)
			in := r.sim.Inbox(who)
			return in[0].MsgType // newest first
		}
		if got := send("通知一"); got != "template_card" {
			t.Fatalf("before the mark: %s", got)
		}
		if _, err := db.SetPersonChannel(ctx, nil, store.PersonChannel{UserID: who, Client: "wechat", SetBy: "T00001", SetAt: store.Millis(time.Now())}); err != nil {
			t.Fatal(err)
		}
		if got := send("通知二"); got != "textcard" {
			t.Errorf("marked WeChat plugin: %s, want textcard", got)
		}
		if _, err := db.SetPersonChannel(ctx, nil, store.PersonChannel{UserID: who, Client: "wecom", SetBy: "T00001", SetAt: store.Millis(time.Now())}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordClient(ctx, who, "wechat", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := send("通知三"); got != "template_card" {
			t.Errorf("marked WeCom over a WeChat sign-in: %s, want template_card", got)
		}
	})
}

// TestQueuedNumbersAreSealedAndRekeyed: a message scheduled for later
// keeps its SMS numbers sealed in their own column, not in its JSON; a
// data-key rotation re-seals them, and the text still reaches the number.
func TestQueuedNumbersAreSealedAndRekeyed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		keyA, keyB := storetest.NewKey(), storetest.NewKey()
		sa, _ := store.NewSealer(keyA)
		sab, _ := store.NewSealer(keyB, keyA)
		dbA, dbAB := db.WithSealer(sa), db.WithSealer(sab)
		s, err := notify.New(notify.Options{DB: dbA, Mirror: r.mirror, App: r.app, Coord: r.co, SMS: r.sms, Instance: "a"})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s.Submit(ctx, notify.Message{Producer: "test", Lane: notify.LaneBroadcast, To: notify.Recipients{Mobiles: []string{"13912340001"}},
			Content: text("证书已寄出"), SendAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var row struct {
			Recipients string `db:"recipients"`
			Mobiles    []byte `db:"mobiles"`
		}
		if err := db.GetContext(ctx, &row, "SELECT recipients, mobiles FROM outbox_messages WHERE id = ?", rec.ID); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(row.Recipients+string(row.Mobiles), "13912340001") || strings.Contains(row.Recipients, "mobiles") || len(row.Mobiles) == 0 {
			t.Fatalf("the queued number is not sealed in its column: recipients %s, mobiles %q", row.Recipients, row.Mobiles)
		}
		// Rotate: B current, A previous.
		st, err := dbAB.Rekey(ctx, store.OutboxMessageMobiles, 10, nil)
		if err != nil || st.Resealed != 1 {
			t.Fatalf("rekey: %+v %v, want 1 resealed", st, err)
		}
		rotated, _ := store.NewSealer(keyB)
		if _, err := dbA.GetOutboxMessage(ctx, rec.ID); err == nil {
			t.Error("the old key alone still opens the rekeyed number")
		}
		m, err := db.WithSealer(rotated).GetOutboxMessage(ctx, rec.ID)
		if err != nil || len(m.Mobiles) != 1 || m.Mobiles[0] != "+8613912340001" {
			t.Fatalf("after the rekey: %v %v", m.Mobiles, err)
		}
	})
}

// TestSMSTextEndsWhereTheTemplateGoesOn: the notice template adds its own
// full stop after the text, so the text's is dropped (no "。。").
func TestSMSTextEndsWhereTheTemplateGoesOn(t *testing.T) {
	for in, want := range map[string]string{"您的毕业证明已寄出，请注意查收。": "您的毕业证明已寄出，请注意查收", "明天停水!": "明天停水", "明天停水": "明天停水"} {
		if got := notify.SMSText(text(in)); got != want {
			t.Errorf("SMSText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAProducersSMSTextEndsWhereTheTemplateGoesOn: the text a producer
// gives for SMS loses its closing full stop too.
func TestAProducersSMSTextEndsWhereTheTemplateGoesOn(t *testing.T) {
	db := storetest.SQLite(t)
	r := newRig(t, db)
	s := r.service(t, "a", 0)
	c := text("证明已寄出")
	c.SMS = "您申请的毕业证明已通过。"
	if _, err := s.Submit(context.Background(), notify.Message{Producer: "hall", To: notify.Recipients{Mobiles: []string{"13912340002"}}, Content: c}); err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	if got := r.sms.Sent("+8613912340002"); len(got) != 1 || got[0] != "您申请的毕业证明已通过" {
		t.Errorf("SMS sent %q", got)
	}
}
