package inbox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
	"github.com/wecomapp/wecomapp/wecom"
)

// benchDBs runs fn on SQLite and, with WECOMAPP_TEST_MYSQL_DSN set, on
// MySQL/MariaDB: the rates to compare are ingest (Accept) against dispatch.
func benchDBs(b *testing.B, fn func(b *testing.B, open func(testing.TB) *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.SQLite) })
	b.Run("mysql", func(b *testing.B) { fn(b, storetest.MySQL) })
}

func benchInbox(b *testing.B, db *store.DB, workers int) *Inbox {
	b.Helper()
	ib, err := New(db, Options{Owner: "bench", Workers: workers, Poll: 50 * time.Millisecond,
		Logger: zap.NewNop(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	return ib
}

var benchSeq atomic.Int64

func benchEvent() *wecom.Event {
	return textEvent(int(benchSeq.Add(1)), "bench")
}

// BenchmarkAccept is the ingest rate: callbacks committed per second by
// concurrent requests (as the HTTP endpoint calls Accept), each a new row.
func BenchmarkAccept(b *testing.B) {
	benchDBs(b, func(b *testing.B, open func(testing.TB) *store.DB) {
		ib := benchInbox(b, open(b), 4)
		b.SetParallelism(8) // requests in flight per core
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ib.Accept(context.Background(), "hall", benchEvent()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	})
}

// BenchmarkDispatch is the dispatch rate with a no-op handler: b.N stored
// rows are claimed, handled and marked done by one dispatcher with the
// default workers.
func BenchmarkDispatch(b *testing.B) {
	benchDBs(b, func(b *testing.B, open func(testing.TB) *store.DB) {
		db := open(b)
		ib := benchInbox(b, db, 0)
		var handled atomic.Int64
		ib.Register("*", func(context.Context, *wecom.Event) error { handled.Add(1); return nil })
		for range b.N {
			if _, err := ib.Accept(context.Background(), "hall", benchEvent()); err != nil {
				b.Fatal(err)
			}
		}
		// Accept woke the dispatcher; drain that so Run starts on the backlog.
		select {
		case <-ib.wake:
		default:
		}
		done := ib.m.handled.WithLabelValues(wecom.KindText, outcomeDone)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b.ResetTimer()
		start := time.Now()
		ran := make(chan error, 1)
		go func() { ran <- ib.Run(ctx) }()
		for value(done) < float64(b.N) {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
	})
}
