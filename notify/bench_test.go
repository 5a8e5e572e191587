package notify_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/orgsync"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// BenchmarkBroadcast30k broadcasts a notice to a 30,000-member tag of the
// full-scale university against the simulator (today's rules, default
// limits, over HTTP): one op is the whole broadcast, from Submit until
// every recipient has its result. It checks one result per recipient, all
// delivered, and that WeCom dropped nothing (no member over 30 a minute or
// 1,000 an hour), and reports message/send calls and the CPU time per
// recipient (ours and the in-process simulator's together: an upper bound
// of ours).
func BenchmarkBroadcast30k(b *testing.B) {
	if testing.Short() {
		b.Skip("full scale")
	}
	b.Run("memory", func(b *testing.B) { benchBroadcast(b, coord.NewMemory(nil)) })
	// With the governor's buckets in Redis, as two or more instances run.
	if addr := os.Getenv("WECOMAPP_TEST_REDIS_ADDR"); addr != "" {
		b.Run("redis", func(b *testing.B) {
			co := coord.NewRedis(coord.RedisOptions{Addr: addr, Prefix: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"})
			b.Cleanup(func() { co.Close() })
			benchBroadcast(b, co)
		})
	}
}

func benchBroadcast(b *testing.B, co coord.Store) {
	ctx := context.Background()
	u := demo.Generate(demo.Full())
	db := storetest.SQLite(b)
	if err := db.LoadDataCenter(ctx, u.DataCenter(), time.Now()); err != nil {
		b.Fatal(err)
	}
	sim := wecomsim.New(wecomsim.Options{CorpID: corpID, ContactSecret: csecret, Fixture: &wecomsim.Fixture{},
		Apps: []wecomsim.App{{AgentID: agentID, Name: "hall", Secret: appSecret}}})
	srv := httptest.NewServer(sim)
	b.Cleanup(func() { srv.Close(); sim.Close() })
	corp, err := wecom.New(wecom.Options{BaseURL: srv.URL, CorpID: corpID, ContactSecret: csecret, Coord: co,
		Apps: []wecom.AppConfig{{Name: "hall", AgentID: agentID, Secret: appSecret}}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	cl, _ := corp.Contacts()
	app, _ := corp.App("hall")
	mirror, _ := contacts.New(db, contacts.Options{})
	runner, err := orgsync.New(orgsync.Options{DB: db, Mirror: mirror, Coord: co, Client: cl,
		Config: orgsync.Config{MaxShare: 0.05, Drift: "reassert", Batch: true, Members: "all"},
		Wait:   func(context.Context) error { sim.Advance(5 * time.Second); return nil }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := runner.Run(ctx, orgsync.RunOptions{}); err != nil {
		b.Fatal(err)
	}
	// Members can use WeCom once they have logged in: all of them here.
	js := u.Joined()
	for i := range js {
		js[i].Status = 1
	}
	_ = sim.SetJoined(js)
	// A 30,000-member tag (WeCom's largest), made in WeCom and recorded.
	var users []string
	for _, s := range u.DataCenter().Students {
		if len(users) == 30000 {
			break
		}
		if s.Status == "enrolled" {
			users = append(users, s.StudentNo)
		}
	}
	tagID, err := sim.AdminCreateTag("全校学生（三万）", 2999)
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < len(users); start += 1000 {
		if err := sim.AdminAddTagUsers(tagID, users[start:min(start+1000, len(users))], nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := mirror.PutTags(ctx, nil, []contacts.Tag{{ID: tagID, Name: "全校学生（三万）"}}, time.Now()); err != nil {
		b.Fatal(err)
	}
	if err := mirror.AddTagMembers(ctx, nil, tagID, users, nil, time.Now()); err != nil {
		b.Fatal(err)
	}
	svc, err := notify.New(notify.Options{DB: db, Mirror: mirror, App: app, Coord: co, Instance: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var cpu time.Duration
	calls := 0
	for i := 0; i < b.N; i++ {
		before := len(sim.Calls("/cgi-bin/message/send"))
		c0 := cpuTime()
		rec, err := svc.Submit(ctx, notify.Message{Producer: "bench", Lane: notify.LaneBroadcast, To: notify.Recipients{Tags: []int64{tagID}},
			Content: notify.Content{MsgType: notify.MsgText, Body: []byte(`{"content":"明天全校停电演练，请做好准备。"}`)}})
		if err != nil {
			b.Fatal(err)
		}
		for {
			w, err := svc.Step(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if !w {
				break
			}
		}
		cpu += cpuTime() - c0
		calls += len(sim.Calls("/cgi-bin/message/send")) - before
		b.StopTimer()
		counts, err := db.OutboxCounts(ctx, rec.ID)
		if err != nil || counts[notify.OutcomeDelivered] != len(users) || len(counts) != 1 {
			b.Fatalf("broadcast %d: %v %v, want %d delivered", rec.ID, counts, err, len(users))
		}
		if d := sim.MessageDrops(); len(d) != 0 {
			b.Fatalf("WeCom dropped %d messages", len(d))
		}
		sim.Advance(time.Hour) // the next broadcast starts with fresh per-member windows
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "sends/op")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*len(users)), "cpu-µs/recipient")
	b.ReportMetric(float64(len(users)), "recipients/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
