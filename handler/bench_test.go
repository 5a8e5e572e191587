package handler_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
)

// The workbench page under load (issue 8, `make bench`): 200 people signed
// in through the real OAuth round trip, each with their own HTTP client
// and keep-alive connection, open their workbench at the same time, over
// the whole platform (SQLite, the in-process coordination layer). Reported:
// server latency p50/p99 as a client measures it (request sent to body
// read), throughput, and the weight of the page (HTML, and HTML gzipped).

// benchSessions is how many people are signed in at once.
const benchSessions = 200

// BenchmarkWorkbenchPage runs over the full-scale university (36,000+
// people, demo.Full). Loading it takes a while, so it is loaded once, in
// the parent benchmark; the sub-benchmark is the measured part.
func BenchmarkWorkbenchPage(b *testing.B) {
	full := demo.Full()
	benchWorkbenchPage(b, apptest.Options{Scale: &full})
}

// BenchmarkWorkbenchPageSmall is the same over the small demo, for a quick
// run.
func BenchmarkWorkbenchPageSmall(b *testing.B) {
	benchWorkbenchPage(b, apptest.Options{})
}

// benchSession is one signed-in person with their own client.
type benchSession struct {
	userID string
	client *http.Client
}

func benchWorkbenchPage(b *testing.B, opts apptest.Options) {
	start := time.Now()
	e := apptest.Start(b, opts)
	loaded := time.Since(start)

	// As many goroutines as sessions: RunParallel starts parallelism ×
	// GOMAXPROCS of them, each taking a session of its own.
	procs := runtime.GOMAXPROCS(0)
	parallelism := (benchSessions + procs - 1) / procs
	n := parallelism * procs
	sessions, pages, gzipped := benchSignIn(b, e, n)
	b.Logf("%d people, platform up in %s; %d sessions signed in in %s; page %d B (max %d), gzip %d B",
		len(e.Uni.People), loaded.Round(time.Millisecond), len(sessions), (time.Since(start) - loaded).Round(time.Millisecond),
		mean(pages), slices.Max(pages), mean(gzipped))

	// One person alone: the page's own cost, without queueing.
	b.Run("sessions=1", func(b *testing.B) { benchMeasure(b, e, sessions[:1], 0, pages[:1], gzipped[:1]) })
	// Everyone at once: latency includes the wait for a core (2 cores here,
	// shared with the 200 clients).
	b.Run(fmt.Sprintf("sessions=%d", len(sessions)), func(b *testing.B) { benchMeasure(b, e, sessions, parallelism, pages, gzipped) })
}

// benchMeasure has every session GET /app/ in a loop, from goroutines of
// its own (parallelism × GOMAXPROCS of them, one session each; parallelism
// 0 is one goroutine, the first session), and reports the latencies each
// client saw.
func benchMeasure(b *testing.B, e *apptest.Env, sessions []benchSession, parallelism int, pages, gzipped []int) {
	var (
		next   atomic.Int64
		failed atomic.Int64
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, b.N)
	)
	loop := func(more func() bool) {
		s := sessions[int(next.Add(1)-1)%len(sessions)]
		var mine []time.Duration
		for more() {
			req, _ := http.NewRequest(http.MethodGet, e.URL+"/app/", nil)
			req.Header.Set("User-Agent", apptest.UserAgentWeCom)
			t := time.Now()
			resp, err := s.client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			d := time.Since(t)
			if err != nil || resp.StatusCode != http.StatusOK {
				failed.Add(1)
				continue
			}
			mine = append(mine, d)
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	}
	b.ResetTimer()
	t0 := time.Now()
	if parallelism == 0 {
		i := 0
		loop(func() bool { i++; return i <= b.N })
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) { loop(pb.Next) })
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d workbench requests failed or were not 200", f, b.N)
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(mean(pages)), "page-bytes")
	b.ReportMetric(float64(mean(gzipped)), "page-gzip-bytes")
}

// benchSignIn signs n people in, spread over the whole university (so the
// mix of identities is the university's), each on a client of their own
// with its own keep-alive connection. It opens every person's workbench
// once, checks it is theirs and returns the sizes of the pages, as sent and
// gzipped.
func benchSignIn(b *testing.B, e *apptest.Env, n int) (sessions []benchSession, pages, gzipped []int) {
	b.Helper()
	var people []*demo.Person
	for i := range e.Uni.People {
		if e.Uni.People[i].Status == 1 {
			people = append(people, &e.Uni.People[i])
		}
	}
	if len(people) < n {
		n = len(people)
	}
	step := len(people) / n
	for i := 0; len(sessions) < n && i < len(people); i += max(step, 1) {
		p := people[i]
		c := e.Browser(b)
		c.Transport = &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
		b.Cleanup(c.CloseIdleConnections)
		if final := e.SignIn(b, c, p.UserID, apptest.UserAgentWeCom); final != e.URL+"/app/" {
			continue // not a member of our records: the join page
		}
		resp := apptest.Get(b, c, e.URL+"/app/", apptest.UserAgentWeCom)
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("workbench of %s: %d %v", p.UserID, resp.StatusCode, err)
		}
		if !strings.Contains(string(page), `data-testid="person-name">`+p.Name+`<`) {
			b.Fatalf("the workbench served to %s does not show their name %s", p.UserID, p.Name)
		}
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(page)
		_ = zw.Close()
		sessions = append(sessions, benchSession{userID: p.UserID, client: c})
		pages = append(pages, len(page))
		gzipped = append(gzipped, zb.Len())
	}
	if len(sessions) < n {
		b.Fatalf("only %d of %d people could sign in", len(sessions), n)
	}
	return sessions, pages, gzipped
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mean(v []int) int {
	if len(v) == 0 {
		return 0
	}
	sum := 0
	for _, x := range v {
		sum += x
	}
	return sum / len(v)
}

// BenchmarkRoleHolders is the console's count of who holds each role over
// the full-scale university: every person read and resolved once (the
// count is then cached for a minute).
func BenchmarkRoleHolders(b *testing.B) {
	full := demo.Full()
	e := apptest.Start(b, apptest.Options{Scale: &full})
	ctx := b.Context()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		// A catalog reload makes the cached count stale, as an edit does.
		if err := e.Workbench.Reload(ctx); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		got, err := e.Workbench.Holders(ctx)
		total += time.Since(start)
		if err != nil || got["counselor"] == 0 {
			b.Fatalf("holders %v, %v", got, err)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/count")
}
