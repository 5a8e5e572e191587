package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func TestProbeWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		probe := func(prober string) error {
			ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			return db.ProbeWrite(ctx, prober, t0)
		}
		var unlock func()
		tests := []struct {
			name    string
			before  func()
			prober  string
			wantErr bool
		}{
			{"writable", func() {}, "host-a-1", false},
			{"another instance", func() {}, "host-b-2", false},
			{"inbox locked", func() { unlock = storetest.LockInbox(t, db) }, "host-a-1", true},
			{"unlocked again", func() { unlock() }, "host-a-1", false},
		}
		for _, tt := range tests {
			tt.before()
			err := probe(tt.prober)
			if tt.wantErr != (err != nil) {
				t.Fatalf("%s: ProbeWrite = %v, want error %v", tt.name, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want a deadline error", tt.name, err)
			}
			if err != nil {
				continue
			}
			var prober string
			if err := db.GetContext(ctx, &prober, "SELECT prober FROM store_probe WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
			if prober != tt.prober {
				t.Errorf("%s: heartbeat by %q, want %q", tt.name, prober, tt.prober)
			}
		}
		var n int
		if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM store_probe"); err != nil || n != 1 {
			t.Errorf("store_probe holds %d rows (%v), want the one heartbeat", n, err)
		}
		if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM inbox"); err != nil || n != 0 {
			t.Errorf("the probe left %d inbox rows (%v)", n, err)
		}
	})
}
