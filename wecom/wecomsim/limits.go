package wecomsim

import (
	"strings"
	"time"
)

// Limit is the frequency limit of one API for the whole corp. Zero fields
// take DefaultLimit's; a negative field means no limit of that length.
type Limit struct {
	PerMinute int `json:"per_minute"`
	PerHour   int `json:"per_hour"`
}

// DefaultLimit is doc 90454's base limit: per corp, per single API,
// 10,000 calls a minute and 150,000 an hour.
var DefaultLimit = Limit{PerMinute: 10000, PerHour: 150000}

// window counts calls in fixed minute and hour windows and remembers a
// block. Hitting the minute limit blocks for 60 s, the hour limit for an
// hour (90313 45009 help: the block lasts as long as the window hit).
type window struct {
	minStart, hourStart time.Time
	minCount, hourCount int
	blockedUntil        time.Time
}

// allow counts one call at now against l and reports whether it may pass.
// Hitting a limit blocks the window for that limit's length.
func (w *window) allow(now time.Time, l Limit) bool {
	return w.take(now, l, true)
}

// take is allow with the block optional: without it, calls over the limit
// are refused until the window that was full rolls over.
func (w *window) take(now time.Time, l Limit, block bool) bool {
	if now.Before(w.blockedUntil) {
		return false
	}
	if w.minStart.IsZero() || now.Sub(w.minStart) >= time.Minute {
		w.minStart, w.minCount = now, 0
	}
	if w.hourStart.IsZero() || now.Sub(w.hourStart) >= time.Hour {
		w.hourStart, w.hourCount = now, 0
	}
	if l.PerMinute > 0 && w.minCount >= l.PerMinute {
		if block {
			w.blockedUntil = now.Add(time.Minute)
		}
		return false
	}
	if l.PerHour > 0 && w.hourCount >= l.PerHour {
		if block {
			w.blockedUntil = now.Add(time.Hour)
		}
		return false
	}
	w.minCount++
	w.hourCount++
	return true
}

func (s *Sim) limitFor(path string) Limit {
	l, ok := s.opts.Limits[path]
	if !ok {
		return DefaultLimit
	}
	if l.PerMinute == 0 {
		l.PerMinute = DefaultLimit.PerMinute
	}
	if l.PerHour == 0 {
		l.PerHour = DefaultLimit.PerHour
	}
	return l
}

// checkLimit counts a call to path: 45009 over the limit or while blocked.
func (s *Sim) checkLimit(path string, now time.Time) *Error {
	w := s.st.limits[path]
	if w == nil {
		w = &window{}
		s.st.limits[path] = w
	}
	if !w.allow(now, s.limitFor(path)) {
		return errf(45009, "%s blocked until %s", path, w.blockedUntil.Format(time.RFC3339))
	}
	return nil
}

// SetLimit changes the frequency limit of the API at path (e.g.
// "/cgi-bin/user/get") from now on; counts so far are kept.
func (s *Sim) SetLimit(path string, l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Limits[path] = l
}

// MemberMessageLimit is how many messages one app may deliver to one member
// (doc 90454): 30 a minute and 1,000 an hour; the excess is dropped
// silently (the send still succeeds).
var MemberMessageLimit = Limit{PerMinute: 30, PerHour: 1000}

// memberMessageAllowed counts one message from app agentID to userid and
// reports whether it is delivered. The messaging phase calls it per
// recipient and logs the drops. Runs under s.mu.
func (s *Sim) memberMessageAllowed(agentID int64, userid string, now time.Time) bool {
	k := memberMsgKey{AgentID: agentID, UserID: strings.ToLower(userid)}
	w := s.st.memMsg[k]
	if w == nil {
		w = &window{}
		s.st.memMsg[k] = w
	}
	return w.take(now, MemberMessageLimit, false)
}
