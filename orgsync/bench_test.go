package orgsync_test

import (
	"context"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// BenchmarkSyncFull is the whole university's sync in one process against
// the simulator over HTTP (today's rules, default limits; the simulator's
// clock is moved on while the batch jobs are polled, so their modelled
// 100 rows a second do not count as wall time): the first load of an
// empty corp, a run with nothing changed, and a run after 1 % churn
// (joins, leavers, transfers, renamed departments, a tag rule change). It
// reports the API calls and the peak heap of each. scripts/bench-sync.sh
// runs the same from the command line, in real time.
func BenchmarkSyncFull(b *testing.B) {
	if testing.Short() {
		b.Skip("full scale")
	}
	ctx := context.Background()
	u := demo.Generate(demo.Full())
	setup := func(b *testing.B) (*store.DB, *wecomsim.Sim, *orgsync.Runner, *contacts.Mirror) {
		db := storetest.SQLite(b)
		if err := db.LoadDataCenter(ctx, u.DataCenter(), time.Now()); err != nil {
			b.Fatal(err)
		}
		m, err := contacts.New(db, contacts.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range u.TagRules() {
			if err := m.PutTagRule(ctx, nil, r); err != nil {
				b.Fatal(err)
			}
		}
		sim := wecomsim.New(wecomsim.Options{CorpID: corpID, ContactSecret: secret, Fixture: &wecomsim.Fixture{}})
		srv := httptest.NewServer(sim)
		b.Cleanup(func() { srv.Close(); sim.Close() })
		co := coord.NewMemory(nil)
		b.Cleanup(func() { co.Close() })
		corp, err := wecom.New(wecom.Options{BaseURL: srv.URL, CorpID: corpID, ContactSecret: secret, Coord: co, Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		cl, err := corp.Contacts()
		if err != nil {
			b.Fatal(err)
		}
		r, err := orgsync.New(orgsync.Options{DB: db, Mirror: m, Coord: co, Client: cl,
			Config: orgsync.Config{MaxShare: 0.05, Drift: "reassert", Batch: true, Members: "all"},
			Wait:   func(context.Context) error { sim.Advance(5 * time.Second); return nil }})
		if err != nil {
			b.Fatal(err)
		}
		return db, sim, r, m
	}
	run := func(b *testing.B, r *orgsync.Runner) {
		b.Helper()
		stop := peakHeap(b)
		res, err := r.Run(ctx, orgsync.RunOptions{Confirm: true})
		stop()
		if err != nil || res.Status != store.SyncConverged {
			b.Fatalf("run: %v (%v)", err, res)
		}
		b.ReportMetric(float64(res.Calls()), "calls/op")
		b.ReportMetric(float64(len(res.Plan.Ops)), "ops/op")
	}
	b.Run("first", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			_, _, r, _ := setup(b)
			b.StartTimer()
			run(b, r)
		}
	})
	b.Run("nochange", func(b *testing.B) {
		_, _, r, _ := setup(b)
		if _, err := r.Run(ctx, orgsync.RunOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			run(b, r)
		}
	})
	b.Run("churn1pct", func(b *testing.B) {
		db, _, r, m := setup(b)
		if _, err := r.Run(ctx, orgsync.RunOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dc, err := db.ReadDataCenter(ctx)
			if err != nil {
				b.Fatal(err)
			}
			next, _ := demo.Churn(dc, 0.01, uint64(i+1))
			if _, err := db.ApplyDataCenter(ctx, store.DataCenterLoad{Rows: next, Departments: true, Faculty: true, Students: true}, time.Now()); err != nil {
				b.Fatal(err)
			}
			rule := contacts.TagRule{Name: "全体在职教职工", Rule: `kind == "faculty" && status == "active" && category != "non_staffed"`, Enabled: true}
			if i%2 == 1 {
				rule.Rule = `kind == "faculty" && status == "active"`
			}
			if err := m.PutTagRule(ctx, nil, rule); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			run(b, r)
		}
	})
}

// peakHeap samples the heap in use until stop, and reports its peak.
func peakHeap(b *testing.B) (stop func()) {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		sample()
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	}
}
