package contacts_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
)

// The handler is an inbox.Handler.
var _ inbox.Handler = (*contacts.Mirror)(nil).HandleChangeContact

func newMirror(t *testing.T, db *store.DB) *contacts.Mirror {
	t.Helper()
	m, err := contacts.New(db, contacts.Options{Clock: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parse reads a callback the way the inbox hands it to a handler.
func parse(t *testing.T, xml []byte) *wecom.Event {
	t.Helper()
	ev, err := wecom.ParseEvent(xml)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// sample is one of wecom's sample callbacks (docs/wecom.md §3).
func sample(t *testing.T, name string) *wecom.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "wecom", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, b)
}

// contactEvent builds a change_contact callback as the simulator does
// (Event.XML) and parses it back, as the inbox does.
func contactEvent(t *testing.T, changeType string, at int64, c *wecom.ContactChange) *wecom.Event {
	t.Helper()
	ev := &wecom.Event{ToUserName: "wwdemo0000000001", FromUserName: "sys", CreateTime: at, MsgType: "event",
		Event: "change_contact", ChangeType: changeType, Contact: c}
	return parse(t, ev.XML())
}

func touched(t *testing.T, m *contacts.Mirror) []contacts.Touch {
	t.Helper()
	ts, err := m.Touched(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func handle(t *testing.T, m *contacts.Mirror, ev *wecom.Event) {
	t.Helper()
	if err := m.HandleChangeContact(context.Background(), ev); err != nil {
		t.Fatalf("%s: %v", ev.Kind(), err)
	}
}

// TestTouchEachKind: every change_contact kind, in today's id-only form
// and in the older full form (wecom's sample callbacks), marks the object
// it names touched as of the event's time, and nothing else: not the
// departments a member event lists, nor the members of a tag event.
func TestTouchEachKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newMirror(t, db)
		old := time.Unix(1403610513, 0)
		today := time.Unix(1700000000, 0)
		tests := []struct {
			ev   *wecom.Event
			want []contacts.Touch
		}{
			{sample(t, "create_user.xml"), []contacts.Touch{{Kind: contacts.KindMember, ID: "zhangsan", Event: "create_user", At: old, FirstAt: old}}},
			{sample(t, "update_user_minimal.xml"), []contacts.Touch{{Kind: contacts.KindMember, ID: "zhangsan", Event: "update_user", At: today, FirstAt: today}}},
			// The userid changed: the old one is gone, the new one touched.
			{sample(t, "update_user.xml"), []contacts.Touch{
				{Kind: contacts.KindMember, ID: "zhangsan", Event: "update_user", Deleted: true, NewUserID: "zhangsan001", At: old, FirstAt: old},
				{Kind: contacts.KindMember, ID: "zhangsan001", Event: "update_user", At: old, FirstAt: old},
			}},
			{sample(t, "delete_user.xml"), []contacts.Touch{{Kind: contacts.KindMember, ID: "zhangsan", Event: "delete_user", Deleted: true, At: old, FirstAt: old}}},
			{sample(t, "create_party_minimal.xml"), []contacts.Touch{{Kind: contacts.KindDepartment, ID: "2", Event: "create_party", At: today, FirstAt: today}}},
			{sample(t, "update_party.xml"), []contacts.Touch{{Kind: contacts.KindDepartment, ID: "2", Event: "update_party", At: old, FirstAt: old}}},
			{sample(t, "delete_party.xml"), []contacts.Touch{{Kind: contacts.KindDepartment, ID: "2", Event: "delete_party", Deleted: true, At: old, FirstAt: old}}},
			{sample(t, "update_tag.xml"), []contacts.Touch{{Kind: contacts.KindTag, ID: "1", Event: "update_tag", At: old, FirstAt: old}}},
			// Today's member events as the simulator sends them.
			{contactEvent(t, "create_user", 1700000100, &wecom.ContactChange{UserID: "S2024001", Department: []int{12}}),
				[]contacts.Touch{{Kind: contacts.KindMember, ID: "S2024001", Event: "create_user", At: time.Unix(1700000100, 0), FirstAt: time.Unix(1700000100, 0)}}},
			{contactEvent(t, "update_party", 1700000200, &wecom.ContactChange{ID: 31, ParentID: 5}),
				[]contacts.Touch{{Kind: contacts.KindDepartment, ID: "31", Event: "update_party", At: time.Unix(1700000200, 0), FirstAt: time.Unix(1700000200, 0)}}},
		}
		for _, tt := range tests {
			handle(t, m, tt.ev)
			got := touched(t, m)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("%s %s: touches (-want +got):\n%s", tt.ev.Kind(), tt.ev.Contact.Present, d)
			}
			if len(got) > 0 {
				if id, ok := got[0].DepartmentID(); ok != (got[0].Kind == contacts.KindDepartment) || ok && id <= 0 {
					t.Errorf("DepartmentID of %+v: %d, %v", got[0], id, ok)
				}
			}
			// The sync dealt with them: the next event starts afresh.
			for _, x := range got {
				if ok, err := m.Clear(ctx, nil, x); err != nil || !ok {
					t.Fatalf("clear %+v: %v, %v", x, ok, err)
				}
			}
		}
		if got := touched(t, m); len(got) != 0 {
			t.Errorf("after clearing every touch: %+v", got)
		}
	})
}

// TestTouchMirroredOrNot: a touch says whether the mirror holds the object:
// a member we wrote and changed in the console, against a member and a
// department someone created in the console.
func TestTouchMirroredOrNot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newMirror(t, db)
		now := time.Unix(1_700_000_000, 0)
		if err := m.PutDepartments(ctx, nil, []contacts.Department{{ID: 12, Name: "水产学院", ParentID: 1}}, now); err != nil {
			t.Fatal(err)
		}
		if err := m.PutMembers(ctx, nil, []contacts.Member{{UserID: "S1", Name: "王芳", Departments: []contacts.Membership{{Department: 12}}, MainDepartment: 12, Enabled: true}}, now); err != nil {
			t.Fatal(err)
		}
		if err := m.PutTags(ctx, nil, []contacts.Tag{{ID: 5, Name: "辅导员"}}, now); err != nil {
			t.Fatal(err)
		}
		handle(t, m, contactEvent(t, "update_user", 1_700_000_010, &wecom.ContactChange{UserID: "S1", Department: []int{12}}))
		handle(t, m, contactEvent(t, "create_user", 1_700_000_011, &wecom.ContactChange{UserID: "console1", Department: []int{12}}))
		handle(t, m, contactEvent(t, "update_party", 1_700_000_012, &wecom.ContactChange{ID: 12, ParentID: 2}))
		handle(t, m, contactEvent(t, "create_party", 1_700_000_013, &wecom.ContactChange{ID: 77, ParentID: 12}))
		handle(t, m, contactEvent(t, "update_tag", 1_700_000_014, &wecom.ContactChange{TagID: 5, AddUserItems: []string{"console1"}}))
		handle(t, m, contactEvent(t, "update_tag", 1_700_000_015, &wecom.ContactChange{TagID: 6, DelUserItems: []string{"S1"}}))
		got := map[string]bool{}
		for _, x := range touched(t, m) {
			got[string(x.Kind)+" "+x.ID] = x.Mirrored
		}
		want := map[string]bool{"member S1": true, "member console1": false, "department 12": true, "department 77": false, "tag 5": true, "tag 6": false}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("mirrored (-want +got):\n%s", d)
		}
		one, err := m.TouchOf(ctx, contacts.KindMember, "console1")
		if err != nil || one.Event != "create_user" || one.Mirrored || one.Deleted {
			t.Errorf("TouchOf console1: %+v, %v", one, err)
		}
		if _, err := m.TouchOf(ctx, contacts.KindMember, "nobody"); !errorsIsNotFound(err) {
			t.Errorf("TouchOf an untouched member: %v, want ErrNotFound", err)
		}
	})
}

// TestTouchIdempotent: the inbox may deliver an event twice (after a
// crash), and a re-delivery may come after a later event: the touches are
// what one delivery in order gives.
func TestTouchIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		m := newMirror(t, db)
		update := contactEvent(t, "update_user", 1_700_000_010, &wecom.ContactChange{UserID: "S1", Department: []int{12}})
		deleted := contactEvent(t, "delete_user", 1_700_000_020, &wecom.ContactChange{UserID: "S1"})
		party := contactEvent(t, "delete_party", 1_700_000_030, &wecom.ContactChange{ID: 31})
		handle(t, m, update)
		handle(t, m, deleted)
		handle(t, m, party)
		once := touched(t, m)
		handle(t, m, update) // re-delivered late
		handle(t, m, deleted)
		handle(t, m, party)
		handle(t, m, party)
		if d := cmp.Diff(once, touched(t, m)); d != "" {
			t.Errorf("after re-deliveries (-once +again):\n%s", d)
		}
		want := []contacts.Touch{
			{Kind: contacts.KindMember, ID: "S1", Event: "delete_user", Deleted: true, At: time.Unix(1_700_000_020, 0), FirstAt: time.Unix(1_700_000_010, 0)},
			{Kind: contacts.KindDepartment, ID: "31", Event: "delete_party", Deleted: true, At: time.Unix(1_700_000_030, 0), FirstAt: time.Unix(1_700_000_030, 0)},
		}
		if d := cmp.Diff(want, once); d != "" {
			t.Errorf("touches (-want +got):\n%s", d)
		}

		// A touch listed before a later event is not cleared by the sync
		// that listed it: the later event waits for the next run.
		listed := touched(t, m)[0]
		handle(t, m, contactEvent(t, "create_user", 1_700_000_040, &wecom.ContactChange{UserID: "S1", Department: []int{12}}))
		if ok, err := m.Clear(context.Background(), nil, listed); err != nil || ok {
			t.Errorf("clear of a superseded touch: %v, %v; want it kept", ok, err)
		}
		if x, err := m.TouchOf(context.Background(), contacts.KindMember, "S1"); err != nil || x.Event != "create_user" || x.Deleted {
			t.Errorf("S1 after a re-creation: %+v, %v", x, err)
		}
	})
}

// TestTouchDropsWhatNamesNothing: an event naming no object, or of a
// change type this handler does not know, touches nothing and is not
// retried (nil error); without CreateTime the clock stamps the touch.
func TestTouchDropsWhatNamesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		m := newMirror(t, db)
		for _, xml := range []string{
			`<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>update_user</ChangeType></xml>`,
			`<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>delete_party</ChangeType><Id>0</Id></xml>`,
			`<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>update_tag</ChangeType></xml>`,
			`<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>merge_user</ChangeType><UserID>a</UserID></xml>`,
		} {
			handle(t, m, parse(t, []byte(xml)))
		}
		if got := touched(t, m); len(got) != 0 {
			t.Fatalf("touched %+v", got)
		}
		handle(t, m, parse(t, []byte(`<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>update_user</ChangeType><UserID>S9</UserID></xml>`)))
		got := touched(t, m)
		if len(got) != 1 || !got[0].At.Equal(time.Unix(1_800_000_000, 0)) {
			t.Errorf("an event without CreateTime: %+v, want stamped by the clock", got)
		}
	})
}

// TestTouchThroughInbox: registered on the inbox as cmd wires it, the
// handler gets the change_contact callbacks the contacts receiver
// accepted (the one WeCom sent twice stored once), and touches what they
// name; every row ends done.
func TestTouchThroughInbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newMirror(t, db)
		ib, err := inbox.New(db, inbox.Options{Poll: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range contacts.ChangeContactKinds {
			ib.Register(k, m.HandleChangeContact)
		}
		events := []*wecom.Event{
			sample(t, "update_user_minimal.xml"),
			sample(t, "create_party_minimal.xml"),
			sample(t, "update_user_minimal.xml"), // WeCom re-sent it
			contactEvent(t, "update_tag", 1_700_000_100, &wecom.ContactChange{TagID: 9, AddUserItems: []string{"zhangsan"}}),
		}
		for i, ev := range events {
			a, err := ib.Accept(ctx, "contacts", ev)
			if err != nil {
				t.Fatal(err)
			}
			if a.Duplicate != (i == 2) {
				t.Errorf("callback %d: duplicate %v", i, a.Duplicate)
			}
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- ib.Run(rctx) }()
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := db.CountInbox(ctx, store.InboxPending, store.InboxProcessing, store.InboxDead, store.InboxSkipped)
			if err != nil {
				t.Fatal(err)
			}
			if c[store.InboxPending]+c[store.InboxProcessing] == 0 {
				if c[store.InboxDead]+c[store.InboxSkipped] != 0 {
					t.Errorf("rows not done: %v", c)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the inbox did not drain: %v", c)
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range touched(t, m) {
			got = append(got, string(x.Kind)+" "+x.ID+" "+x.Event)
		}
		want := []string{"department 2 create_party", "member zhangsan update_user", "tag 9 update_tag"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("touches (-want +got):\n%s", d)
		}
	})
}
