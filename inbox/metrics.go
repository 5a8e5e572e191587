package inbox

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	accepted   *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	// acceptedDead counts callbacks stored dead on arrival (AcceptDead).
	acceptedDead *prometheus.CounterVec
	// unhandled counts rows skipped because no handler takes their kind.
	unhandled *prometheus.CounterVec
	handled   *prometheus.CounterVec
	panics    *prometheus.CounterVec
	latency   prometheus.Histogram
	duration  *prometheus.HistogramVec
	rows      *prometheus.GaugeVec
}

// newMetrics builds the inbox metrics and registers them with reg, if any.
// Several Inboxes may share a registry (one per dispatcher owner in tests):
// an already registered collector is reused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_inbox_accepted_total",
			Help: "Callbacks stored in the inbox, by receiver and kind.",
		}, []string{"receiver", "kind"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_inbox_duplicates_total",
			Help: "Re-delivered callbacks recognised as already stored, by receiver and kind.",
		}, []string{"receiver", "kind"}),
		acceptedDead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_inbox_accepted_dead_total",
			Help: "Authentic callbacks stored as dead on arrival (unparsable, or addressed to another app), by receiver and kind.",
		}, []string{"receiver", "kind"}),
		unhandled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_inbox_unhandled_total",
			Help: "Callbacks kept as skipped because no handler is registered for their kind, by kind.",
		}, []string{"kind"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_inbox_handled_total",
			Help: "Dispatch attempts by kind and outcome (done, retry, dead, skipped, released, lease_lost).",
		}, []string{"kind", "outcome"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomapp_inbox_handler_panics_total",
			Help: "Handler panics recovered by the dispatcher, by kind.",
		}, []string{"kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wecomapp_inbox_dispatch_latency_seconds",
			Help:    "Time from accepting a callback to its first dispatch.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wecomapp_inbox_handler_duration_seconds",
			Help:    "Time handlers take per attempt, by kind.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind"}),
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wecomapp_inbox_rows",
			Help: "Inbox rows by state (pending, processing, skipped, dead), sampled by the dispatcher.",
		}, []string{"state"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.accepted = register(reg, m.accepted, &err)
	m.duplicates = register(reg, m.duplicates, &err)
	m.acceptedDead = register(reg, m.acceptedDead, &err)
	m.unhandled = register(reg, m.unhandled, &err)
	m.handled = register(reg, m.handled, &err)
	m.panics = register(reg, m.panics, &err)
	m.latency = register(reg, m.latency, &err)
	m.duration = register(reg, m.duration, &err)
	m.rows = register(reg, m.rows, &err)
	if err != nil {
		return nil, fmt.Errorf("inbox: register metrics: %w", err)
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = err
		}
	}
	return c
}
