package hall_test

import (
	"context"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// BenchmarkCardPress is the server's time from a template_card_event (a
// counselor pressing 同意 on a 5-day leave's card) to the card updated
// (message/update_template_card answered) and the next approver's card
// sent (message/send answered), against the simulator over HTTP, on
// SQLite: the press (decision, card update, the next task and its card
// committed to the outbox) and the dispatch of that card, timed apart.
// Each iteration is a fresh application; its card is delivered before
// the timer runs.
func BenchmarkCardPress(b *testing.B) {
	r := newRig(b, time.Date(2026, 12, 2, 9, 0, 0, 0, time.Local))
	r.publishShipped(b, "student_leave")
	a := r.student(b)
	ctx := context.Background()
	var press, dispatch time.Duration
	updates0 := len(r.sim.Calls("/cgi-bin/message/update_template_card"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		day := time.Date(2027, 3, 1, 0, 0, 0, 0, time.Local).AddDate(0, 0, i*7)
		id, fe, err := r.eng.Apply(ctx, a, "student_leave", leaveForm(day.Format(time.DateOnly), day.AddDate(0, 0, 4).Format(time.DateOnly)))
		if err != nil || len(fe) > 0 {
			b.Fatal(err, fe)
		}
		r.drain(b)
		app, err := r.eng.Application(ctx, id, hall.Viewer{Admin: true})
		if err != nil {
			b.Fatal(err)
		}
		t := app.Tasks[len(app.Tasks)-1]
		it := r.card(b, t.Assignee, t.ID)
		res, err := r.sim.PressCardButton(ctx, t.Assignee, it.MsgID, "approve:"+itoa(t.ID), nil)
		if err != nil {
			b.Fatal(err)
		}
		ev := pressEvent(t.Assignee, it, "approve:"+itoa(t.ID), res.ResponseCode)
		b.StartTimer()
		t0 := time.Now()
		if err := r.eng.Press(ctx, ev); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		r.drain(b)
		t2 := time.Now()
		press += t1.Sub(t0)
		dispatch += t2.Sub(t1)
		b.StopTimer()
		after, err := r.eng.Application(ctx, id, hall.Viewer{Admin: true})
		if err != nil || after.Step != "deputy" {
			b.Fatalf("after the press: step %q, %v", after.Step, err)
		}
		next := after.Tasks[len(after.Tasks)-1]
		r.card(b, next.Assignee, next.ID) // the deputy's card arrived
		b.StartTimer()
	}
	b.StopTimer()
	if n := len(r.sim.Calls("/cgi-bin/message/update_template_card")) - updates0; n < b.N {
		b.Fatalf("%d card updates for %d presses", n, b.N)
	}
	b.ReportMetric(float64(press.Microseconds())/float64(b.N)/1000, "press-ms/op")
	b.ReportMetric(float64(dispatch.Microseconds())/float64(b.N)/1000, "next-card-ms/op")
}

// pressEvent is the template_card_event the simulator sent for a press.
func pressEvent(userid string, it wecomsim.InboxItem, key, code string) *wecom.Event {
	return &wecom.Event{ToUserName: corpID, FromUserName: userid, MsgType: "event", Event: "template_card_event", EventKey: key,
		TaskID: it.Card.TaskID, CardType: it.Card.CardType, ResponseCode: code, AgentID: agentID}
}
