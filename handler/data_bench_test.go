package handler_test

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
)

// BenchmarkDataModulePages: the data modules' pages under load over the
// full-scale university (demo.Full) and its shared database (shareddemo:
// every student's timetable, scores and card transactions, 1.5 million
// rows, SQLite opened read-only as serve opens it). 200 students, each
// signed in through the real OAuth round trip on a client of their own,
// open 成绩查询, 课表 and 校园卡 at the same moment; one iteration is one
// such round (600 requests), so -benchtime 1x is already a measurement.
// Reported: the latency each client saw, request sent to body read (p50,
// p99), and the rounds' throughput. The platform and the shared database
// are built once per run, outside the timer.
func BenchmarkDataModulePages(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the full-scale university and its shared database")
	}
	full := demo.Full()
	start := time.Now()
	e := apptest.Start(b, apptest.Options{Scale: &full, Data: true})
	built := time.Since(start)

	modules := []string{"scores", "courses", "campus_card"}
	var sessions []benchSession
	for i := range e.Uni.People {
		p := &e.Uni.People[i]
		if len(sessions) == benchSessions {
			break
		}
		if p.Main() != demo.CatUndergrad || p.Status != 1 || p.Grade >= demo.AcademicYear(time.Now()) || i%7 != 0 {
			continue // second-year and later students (they have scores), spread over the university
		}
		c := e.Browser(b)
		c.Transport = &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
		b.Cleanup(c.CloseIdleConnections)
		if final := e.SignIn(b, c, p.UserID, apptest.UserAgentWeCom); final != e.URL+"/app/" {
			continue
		}
		sessions = append(sessions, benchSession{userID: p.UserID, client: c})
	}
	if len(sessions) < benchSessions {
		b.Fatalf("only %d students signed in, want %d", len(sessions), benchSessions)
	}
	fetch := func(s benchSession, module string) (time.Duration, int, error) {
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/app/m/"+module, nil)
		req.Header.Set("User-Agent", apptest.UserAgentWeCom)
		req.Header.Set("Accept-Encoding", "gzip")
		t := time.Now()
		resp, err := s.client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(t), resp.StatusCode, err
	}
	// Every page answers 200 for everyone before anything is timed.
	for _, s := range sessions {
		for _, m := range modules {
			if _, code, err := fetch(s, m); err != nil || code != http.StatusOK {
				b.Fatalf("%s /app/m/%s: %d %v", s.userID, m, code, err)
			}
		}
	}
	b.Logf("%d people, platform and shared database built in %s; %d students signed in", len(e.Uni.People), built.Round(time.Millisecond), len(sessions))

	var (
		mu     sync.Mutex
		lat    []time.Duration
		failed int
	)
	b.ResetTimer()
	t0 := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for _, s := range sessions {
			wg.Go(func() {
				var mine []time.Duration
				bad := 0
				for _, m := range modules {
					d, code, err := fetch(s, m)
					if err != nil || code != http.StatusOK {
						bad++
						continue
					}
					mine = append(mine, d)
				}
				mu.Lock()
				lat, failed = append(lat, mine...), failed+bad
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d data module requests failed or were not 200", failed)
	}
	slices.Sort(lat)
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
}
