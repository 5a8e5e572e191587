package orgsync

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/contacts"
)

// metrics are the sync's Prometheus metrics, per run: an alert on
// wecomapp_sync_last_converged_timestamp_seconds older than a day says the
// nightly sync has not completed.
type metrics struct {
	runs        *prometheus.CounterVec
	calls       prometheus.Counter
	last        prometheus.Gauge
	converged   prometheus.Gauge
	duration    prometheus.Gauge
	ops         *prometheus.GaugeVec
	failures    prometheus.Gauge
	members     prometheus.Gauge
	departments prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wecomapp_sync_runs_total",
			Help: "Contacts sync runs that reached a plan, by what started them and how they ended."}, []string{"trigger", "status"}),
		calls: prometheus.NewCounter(prometheus.CounterOpts{Name: "wecomapp_sync_api_calls_total",
			Help: "Contacts API calls made by sync runs."}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wecomapp_sync_last_run_timestamp_seconds",
			Help: "When the last sync run finished."}),
		converged: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wecomapp_sync_last_converged_timestamp_seconds",
			Help: "When the last sync run that applied its whole plan finished."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wecomapp_sync_last_run_duration_seconds",
			Help: "How long the last sync run took."}),
		ops: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wecomapp_sync_last_run_ops",
			Help: "Operations of the last sync run's plan, by kind."}, []string{"kind"}),
		failures: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wecomapp_sync_last_run_failures",
			Help: "Operations WeCom refused in the last sync run."}),
		members: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wecomapp_sync_desired_members",
			Help: "Members the data center wants in WeCom, at the last run."}),
		departments: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wecomapp_sync_desired_departments",
			Help: "Departments the data center wants in WeCom, at the last run."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.runs, m.calls, m.last, m.converged, m.duration, m.ops, m.failures, m.members, m.departments} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return nil, fmt.Errorf("orgsync: register metrics: %w", err)
		}
	}
	return m, nil
}

// observe records a finished run.
func (m *metrics) observe(trigger string, res *Result) {
	m.runs.WithLabelValues(trigger, res.Status).Inc()
	m.calls.Add(float64(res.Calls()))
	end := float64(res.Finished.UnixMilli()) / 1000
	m.last.Set(end)
	if res.Status == "converged" {
		m.converged.Set(end)
	}
	m.duration.Set(res.Finished.Sub(res.Started).Seconds())
	counts := map[contacts.OpKind]int{}
	for _, k := range res.Plan.Summary().Kinds {
		counts[k.Kind] = k.Count
	}
	for _, k := range contacts.OpKinds {
		m.ops.WithLabelValues(string(k)).Set(float64(counts[k]))
	}
	if res.Report != nil {
		m.failures.Set(float64(res.Report.Failed))
	}
	m.members.Set(float64(len(res.Desired.Members)))
	m.departments.Set(float64(len(res.Desired.Departments)))
}
