package contacts_test

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

const (
	simCorpID = "wwtestcorp0000001"
	simToken  = "cbtoken"
	simAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// TestTouchFromSimulatorConsole: changes made in the simulator's admin
// console, under today's rules, reach the contacts-sync receiver as real
// encrypted change_contact callbacks; handled as the inbox would, they
// leave exactly the touches the next sync run must look at. The receiver
// fails its first answer to every callback after handling it (a crash
// before the commit), so each is delivered twice.
func TestTouchFromSimulatorConsole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newMirror(t, db)
		crypt, err := wecom.NewCrypter(simToken, simAESKey, simCorpID)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu      sync.Mutex
			handled = map[string]int{} // by dedup key
		)
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			q := r.URL.RawQuery
			ev, err := crypt.OpenEvent(wecom.QueryValue(q, "msg_signature"), wecom.QueryValue(q, "timestamp"), wecom.QueryValue(q, "nonce"), body)
			if err != nil {
				t.Errorf("open callback: %v", err)
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			if err := m.HandleChangeContact(r.Context(), ev); err != nil {
				t.Errorf("handle %s: %v", ev.Kind(), err)
			}
			mu.Lock()
			handled[ev.DedupKey()]++
			first := handled[ev.DedupKey()] == 1
			mu.Unlock()
			if first {
				http.Error(w, "crashed before answering", http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte("success"))
		}))
		defer rc.Close()
		now := time.Unix(1_700_000_000, 0)
		sim := wecomsim.New(wecomsim.Options{
			CorpID: simCorpID, Clock: func() time.Time { return now }, CallbackTimeout: 2 * time.Second,
			ContactCallback: wecomsim.Receiver{URL: rc.URL + "/callback", Token: simToken, EncodingAESKey: simAESKey},
		})
		defer sim.Close()

		// We wrote zhaolei and department 3 earlier.
		if err := m.PutMembers(ctx, nil, []contacts.Member{{UserID: "zhaolei", Name: "赵磊", Departments: []contacts.Membership{{Department: 5}}, MainDepartment: 5, Enabled: true}}, now); err != nil {
			t.Fatal(err)
		}
		if err := m.PutDepartments(ctx, nil, []contacts.Department{{ID: 3, Name: "计算机科学系", ParentID: 2}}, now); err != nil {
			t.Fatal(err)
		}

		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(sim.AdminUpdateUser("zhaolei", map[string]any{"position": "副院长"}))
		must(sim.AdminCreateUser(wecomsim.User{UserID: "newt", Name: "新老师", Department: []int64{3}, Mobile: "13722223333"}))
		must(sim.AdminUpdateDepartment(3, map[string]any{"name": "改名不通知"})) // today: no event
		must(sim.AdminUpdateDepartment(3, map[string]any{"parentid": 5}))
		id, err := sim.AdminCreateDepartment(wecomsim.Department{Name: "新系", ParentID: 5})
		must(err)
		must(sim.AdminAddTagUsers(1, []string{"newt"}, nil))
		must(sim.AdminDeleteUser("newt"))
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		must(sim.Flush(fctx))

		mu.Lock()
		for k, n := range handled {
			if n != 2 {
				t.Errorf("callback %s handled %d times, want 2 (a failed answer, then the retry)", k, n)
			}
		}
		if len(handled) != 6 {
			t.Errorf("%d callbacks, want 6", len(handled))
		}
		mu.Unlock()

		type touch struct {
			Kind     contacts.Kind
			ID       string
			Event    string
			Deleted  bool
			Mirrored bool
		}
		var got []touch
		for _, x := range touched(t, m) {
			got = append(got, touch{x.Kind, x.ID, x.Event, x.Deleted, x.Mirrored})
		}
		want := []touch{
			{contacts.KindDepartment, "3", "update_party", false, true},
			{contacts.KindDepartment, strconv.FormatInt(id, 10), "create_party", false, false},
			{contacts.KindMember, "newt", "delete_user", true, false},
			{contacts.KindMember, "zhaolei", "update_user", false, true},
			{contacts.KindTag, "1", "update_tag", false, false},
		}
		// All at the simulator's one instant: in kind and id order.
		byKey := func(a, b touch) int { return cmp.Compare(string(a.Kind)+" "+a.ID, string(b.Kind)+" "+b.ID) }
		slices.SortFunc(want, byKey)
		slices.SortFunc(got, byKey)
		if d := gocmp.Diff(want, got); d != "" {
			t.Errorf("touches (-want +got):\n%s", d)
		}
	})
}
