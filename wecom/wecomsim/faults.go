package wecomsim

import "time"

// Fault changes how the simulator answers calls to one API (or every API).
// A fault counts the calls matching Path from when it is added: it skips
// the first After of them, then affects the next Times (0 = every call
// until cleared). When several faults match a call, the first added that
// is due applies.
//
// Latency delays the answer (real time); with no other action the call is
// then answered normally. Drop closes the connection without an answer;
// Status answers with that HTTP status and an empty body; ErrCode answers
// HTTP 200 with that errcode in WeCom's error shape, without running the
// API. Faulted calls are in the call log with Fault set.
//
// Note that Go's http.Transport transparently retries an idempotent request
// (GET) whose reused keep-alive connection closes before any answer: to
// see a Drop on a GET, use Times ≥ 2 or a fresh connection.
type Fault struct {
	ID      int64         `json:"id"`             // set by AddFault
	Path    string        `json:"path,omitempty"` // API path; "" = every API
	After   int           `json:"after,omitempty"`
	Times   int           `json:"times,omitempty"`
	Latency time.Duration `json:"latency,omitempty"` // JSON: nanoseconds
	Drop    bool          `json:"drop,omitempty"`
	// DropAfter handles the call, then drops the connection: the call took
	// effect but its answer is lost (a sender's uncertain outcome).
	DropAfter bool `json:"drop_after,omitempty"`
	Status    int  `json:"status,omitempty"`
	ErrCode   int  `json:"errcode,omitempty"`
}

type faultState struct {
	Fault
	seen int // matching calls so far
	hits int // calls affected so far
}

// AddFault installs f and returns its id. To fail the Nth call of an API
// use After: N-1, Times: 1; to fail the next N calls use Times: N.
func (s *Sim) AddFault(f Fault) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faultSeq++
	f.ID = s.st.faultSeq
	s.st.faults = append(s.st.faults, &faultState{Fault: f})
	return f.ID
}

// RemoveFault removes one fault; it reports whether it existed.
func (s *Sim) RemoveFault(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.st.faults {
		if f.ID == id {
			s.st.faults = append(s.st.faults[:i], s.st.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = nil
}

// Faults lists the active faults.
func (s *Sim) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.st.faults))
	for _, f := range s.st.faults {
		out = append(out, f.Fault)
	}
	return out
}

// takeFault counts a call to path against every matching fault and
// returns the one to apply, if any. Spent faults are removed.
func (s *Sim) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var chosen *Fault
	kept := s.st.faults[:0]
	for _, f := range s.st.faults {
		if f.Path != "" && f.Path != path {
			kept = append(kept, f)
			continue
		}
		f.seen++
		if chosen == nil && f.seen > f.After {
			f.hits++
			cp := f.Fault
			chosen = &cp
		}
		if f.Times > 0 && f.hits >= f.Times {
			continue // spent
		}
		kept = append(kept, f)
	}
	s.st.faults = kept
	return chosen
}
