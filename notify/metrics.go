package notify

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics: queued, sent and failed per lane and channel; held back by the
// governor (the quota headroom used up); the backlog per lane.
type metrics struct {
	queued  *prometheus.CounterVec
	results *prometheus.CounterVec
	calls   *prometheus.CounterVec
	backlog *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wecomapp_notify_messages_total",
			Help: "Messages committed to the outbox, by lane."}, []string{"lane"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wecomapp_notify_recipients_total",
			Help: "Recipient outcomes recorded, by lane, channel and outcome (delivered, invalid, held by the quota governor, failed, expired)."}, []string{"lane", "channel", "outcome"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wecomapp_notify_sends_total",
			Help: "message/send calls and SMS sends, by channel."}, []string{"channel"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wecomapp_notify_backlog",
			Help: "Recipients waiting to be sent (pending or held), by lane, as of the dispatcher's last idle check."}, []string{"lane"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.queued, m.results, m.calls, m.backlog} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return nil, fmt.Errorf("notify: register metrics: %w", err)
		}
	}
	return m, nil
}
