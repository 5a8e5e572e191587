// Package simcorp is the tests' simulated corp: the demo university's
// data center loaded into a database, a fresh simulated WeCom over HTTP,
// the app's and the contacts tool's clients, and the first contacts sync
// run, so the corp holds the data center's members, departments and (with
// TagRules) tags. Each package's tests keep what is their own (a recorder
// around the app, who has logged in) on top of it.
package simcorp

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// The simulated corp's ids and secrets.
const (
	CorpID        = "wwsimcorp00000001"
	AgentID       = 1000002
	AppSecret     = "simcorp-app-secret-0123456789ab"
	ContactSecret = "simcorp-contacts-secret-0123456"
)

// Options vary the corp.
type Options struct {
	// TagRules loads the demo's tag rules before the sync, so WeCom has
	// its tags (the approvers' tags, 教职工 …).
	TagRules bool
	// Coord is the coordination layer (nil: a fresh in-process one).
	Coord coord.Store
}

// Corp is a synced simulated corp.
type Corp struct {
	DB     *store.DB
	Uni    *demo.University
	Sim    *wecomsim.Sim
	Coord  coord.Store
	App    *wecom.Client // the self-built app ("hall")
	Mirror *contacts.Mirror
}

// New loads the small demo university into db, starts the simulator and
// runs the first sync; nobody has logged in to WeCom yet (Joined).
func New(t testing.TB, db *store.DB, o Options) *Corp {
	t.Helper()
	ctx := context.Background()
	c := &Corp{DB: db, Uni: demo.Generate(demo.Small()), Coord: o.Coord}
	if c.Coord == nil {
		c.Coord = coord.NewMemory(nil)
	}
	if err := db.LoadDataCenter(ctx, c.Uni.DataCenter(), time.Now()); err != nil {
		t.Fatal(err)
	}
	c.Sim = wecomsim.New(wecomsim.Options{CorpID: CorpID, ContactSecret: ContactSecret, Fixture: &wecomsim.Fixture{},
		Apps: []wecomsim.App{{AgentID: AgentID, Name: "hall", Secret: AppSecret}}})
	srv := httptest.NewServer(c.Sim)
	t.Cleanup(func() { srv.Close(); c.Sim.Close(); c.Coord.Close() })
	corp, err := wecom.New(wecom.Options{BaseURL: srv.URL, CorpID: CorpID, ContactSecret: ContactSecret, Coord: c.Coord,
		Apps: []wecom.AppConfig{{Name: "hall", AgentID: AgentID, Secret: AppSecret}}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := corp.Contacts()
	if err != nil {
		t.Fatal(err)
	}
	if c.App, err = corp.App("hall"); err != nil {
		t.Fatal(err)
	}
	if c.Mirror, err = contacts.New(db, contacts.Options{}); err != nil {
		t.Fatal(err)
	}
	if o.TagRules {
		for _, tr := range c.Uni.TagRules() {
			if err := c.Mirror.PutTagRule(ctx, nil, tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	runner, err := orgsync.New(orgsync.Options{DB: db, Mirror: c.Mirror, Coord: c.Coord, Client: cl, Config: orgsync.Config{MaxShare: 0.05, Drift: "reassert", Members: "all"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Run(ctx, orgsync.RunOptions{}); err != nil {
		t.Fatalf("simcorp: the first sync: %v", err)
	}
	return c
}

// SMS is a gateway that accepts every text and keeps them by number.
type SMS struct {
	mu   sync.Mutex
	sent map[string][]string
}

// SendSMS implements the message center's SMS sender.
func (f *SMS) SendSMS(_ context.Context, mobile, text string) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent == nil {
		f.sent = map[string][]string{}
	}
	f.sent[mobile] = append(f.sent[mobile], text)
	return true, "Ok", nil
}

// Sent are the texts mobile received, oldest first.
func (f *SMS) Sent(mobile string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent[mobile]...)
}

// All are every number's texts.
func (f *SMS) All() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for k, v := range f.sent {
		out[k] = append([]string(nil), v...)
	}
	return out
}
