package wecomsim

import (
	"slices"
	"time"
)

// maxCallLog bounds the call log; counts are kept for every call.
const maxCallLog = 20000

// maxChangeLog bounds the contact change log.
const maxChangeLog = 20000

// Call is one API request in the call log.
type Call struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"` // simulator clock
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// Caller is "contacts" or "app:<agentid>"; empty without a valid token.
	Caller string `json:"caller,omitempty"`
	// Status is the HTTP status; 0 when the connection was dropped.
	Status  int `json:"status"`
	ErrCode int `json:"errcode"`
	// Detail says which rule produced ErrCode (simulator only).
	Detail string `json:"detail,omitempty"`
	// Fault names the injected fault that shaped the answer, if any.
	Fault string `json:"fault,omitempty"`
}

func (st *state) logCall(c Call) {
	st.callSeq++
	c.Seq = st.callSeq
	if len(st.calls) >= maxCallLog {
		st.calls = slices.Delete(st.calls, 0, len(st.calls)-maxCallLog+1)
	}
	st.calls = append(st.calls, c)
	if c.Status == 200 {
		m := st.counts[c.Path]
		if m == nil {
			m = map[int]int{}
			st.counts[c.Path] = m
		}
		m[c.ErrCode]++
	}
}

// Calls returns the logged calls to path, oldest first ("" = every path).
func (s *Sim) Calls(path string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.st.calls {
		if path == "" || c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// CallCount is how many calls to path were answered (HTTP 200) with
// errcode since the last Reset.
func (s *Sim) CallCount(path string, errcode int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.counts[path][errcode]
}

// CallCounts returns, per path, how many answered calls got each errcode.
func (s *Sim) CallCounts() map[string]map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[int]int, len(s.st.counts))
	for p, m := range s.st.counts {
		cp := make(map[int]int, len(m))
		for k, v := range m {
			cp[k] = v
		}
		out[p] = cp
	}
	return out
}

// Change is one contacts change in the change log.
type Change struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Actor is "admin" (console or member self-edit through the admin API),
	// "contacts" (the contacts-sync secret, incl. batch jobs) or
	// "app:<agentid>".
	Actor string `json:"actor"`
	// ChangeType is the change_contact ChangeType: create_user, update_user,
	// delete_user, create_party, update_party, delete_party, update_tag.
	ChangeType string `json:"change_type"`
	UserID     string `json:"userid,omitempty"`
	NewUserID  string `json:"new_userid,omitempty"`
	DeptID     int64  `json:"dept_id,omitempty"`
	TagID      int64  `json:"tagid,omitempty"`
	// Fields names the JSON fields that changed (update_* only).
	Fields []string `json:"fields,omitempty"`
	// Callback is the callback id queued for the sync receiver; 0 when
	// none was sent (own change of the contacts-sync secret, no receiver
	// configured, or an update_party without a move under today's rules).
	Callback int64 `json:"callback,omitempty"`
}

// Changes returns the contact change log, oldest first.
func (s *Sim) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.changes)
}
