package wecomsim

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// JS-SDK tickets and signatures (docs/wecom.md §4.3, docs 90506/96909).
//
// get_jsapi_ticket hands out the corp's ticket (signs wx.config) and
// ticket/get?type=agent_config the calling app's ticket (signs
// wx.agentConfig). Both answer the same ticket until it expires, with the
// remaining lifetime in expires_in, as gettoken does for tokens.
//
// Tickets live beside the access tokens, not in state: Reset does not
// invalidate them, because clients cache tickets across a Reset exactly as
// they cache tokens, and a page signed before a Reset must still verify.
// Their frequency windows are in state (st.limits, keys "jsapi:…") and are
// reset with the others.

// TicketTTL is how long a JS-SDK ticket is valid (expires_in).
const TicketTTL = 7200 * time.Second

// Ticket frequency limits (doc 90454, docs/wecom.md §1): 400 an hour per
// corp and 100 an hour per app. The reference does not say how the two
// APIs share them (unconfirmed); the simulator counts get_jsapi_ticket
// against the corp and against the calling app, and ticket/get against the
// calling app in a window of its own.
var (
	CorpTicketLimit = Limit{PerHour: 400}
	AppTicketLimit  = Limit{PerHour: 100}
)

// jsTicket is one issued ticket.
type jsTicket struct {
	value   string
	agentID int64 // 0: the corp ticket
	expires time.Time
}

// ticketStore holds the current ticket of the corp and of each app;
// VerifyJSSignature tries them all to tell a ticket of the wrong kind from
// a wrong signature. Guarded by Sim.mu; survives Reset like tokenStore.
type ticketStore struct {
	corp *jsTicket
	apps map[int64]*jsTicket
}

// tickets returns the ticket store, creating it on first use.
func (s *Sim) tickets() *ticketStore {
	if s.jsTickets.apps == nil {
		s.jsTickets.apps = map[int64]*jsTicket{}
	}
	return &s.jsTickets
}

// freshTicket returns t if it is still valid at now, else a new ticket.
func freshTicket(t *jsTicket, agentID int64, now time.Time) *jsTicket {
	if t != nil && now.Before(t.expires) {
		return t
	}
	b := make([]byte, 60)
	_, _ = rand.Read(b)
	return &jsTicket{value: base64.RawURLEncoding.EncodeToString(b), agentID: agentID, expires: now.Add(TicketTTL)}
}

// countWindow counts one call in the named window of st.limits (the
// per-path windows of the pipeline use API paths as keys; windows of the
// special limits use "<area>:…" keys, which cannot collide with a path).
// 45009 when the window is full or blocked.
func (s *Sim) countWindow(key string, l Limit, now time.Time) *Error {
	return s.countWindows(now, limitKey{key, l})
}

// limitKey names one special-limit window and its limit.
type limitKey struct {
	key   string
	limit Limit
}

// countWindows counts one call in every window, or in none when one of
// them refuses it (so a call refused by the app's window does not use up
// the corp's). The refusing window is blocked as the pipeline's are.
func (s *Sim) countWindows(now time.Time, ks ...limitKey) *Error {
	ws := make([]*window, len(ks))
	for i, k := range ks {
		w := s.st.limits[k.key]
		if w == nil {
			w = &window{}
			s.st.limits[k.key] = w
		}
		ws[i] = w
		probe := *w
		if !probe.take(now, k.limit, false) {
			w.allow(now, k.limit) // refuses again, and records the block
			return errf(45009, "%s blocked until %s", k.key, w.blockedUntil.Format(time.RFC3339))
		}
	}
	for i, k := range ks {
		ws[i].allow(now, k.limit)
	}
	return nil
}

func ticketAnswer(t *jsTicket, now time.Time) obj {
	return obj{"ticket": t.value, "expires_in": int(t.expires.Sub(now).Seconds())}
}

// handleGetJSAPITicket: GET /cgi-bin/get_jsapi_ticket, app tokens only
// (the route's access). The corp ticket is one per corp, whichever app
// fetches it.
func (s *Sim) handleGetJSAPITicket(c *call) (obj, error) {
	app := c.cred.appOf()
	if e := s.countWindows(c.now, limitKey{"jsapi:corp:app:" + strconv.FormatInt(app.AgentID, 10), AppTicketLimit},
		limitKey{"jsapi:corp", CorpTicketLimit}); e != nil {
		return nil, e
	}
	ts := s.tickets()
	ts.corp = freshTicket(ts.corp, 0, c.now)
	return ticketAnswer(ts.corp, c.now), nil
}

// handleGetAgentTicket: GET /cgi-bin/ticket/get?type=agent_config, app
// tokens only. A missing or other type is 40058: the reference documents
// only agent_config for self-built apps (the errcode WeCom gives is
// unconfirmed).
func (s *Sim) handleGetAgentTicket(c *call) (obj, error) {
	if typ := c.query.Get("type"); typ != "agent_config" {
		return nil, errf(40058, "ticket/get type %q, want agent_config", typ)
	}
	app := c.cred.appOf()
	if e := s.countWindow("jsapi:app:"+strconv.FormatInt(app.AgentID, 10), AppTicketLimit, c.now); e != nil {
		return nil, e
	}
	ts := s.tickets()
	ts.apps[app.AgentID] = freshTicket(ts.apps[app.AgentID], app.AgentID, c.now)
	return ticketAnswer(ts.apps[app.AgentID], c.now), nil
}

// JSConfig is what a page hands to wx.config or wx.agentConfig, plus the
// page's URL — what the WeCom client checks before it enables the JS APIs.
type JSConfig struct {
	// AgentConfig marks wx.agentConfig (signed with the app's ticket);
	// false is wx.config (signed with the corp's ticket).
	AgentConfig bool `json:"agent_config"`
	// CorpID is wx.config's appId or wx.agentConfig's corpid.
	CorpID string `json:"corpid"`
	// AgentID is wx.agentConfig's agentid (ignored for wx.config).
	AgentID   int64  `json:"agentid,omitempty"`
	Timestamp int64  `json:"timestamp"`
	NonceStr  string `json:"nonceStr"`
	Signature string `json:"signature"`
	// URL is the page's location.href; like the client, the simulator
	// drops the "#…" fragment before checking.
	URL string `json:"url"`
}

// JSSignature computes a JS-SDK signature: hex sha1 of
// "jsapi_ticket=T&noncestr=N&timestamp=S&url=U" (fixed order, no escaping),
// with the URL's fragment removed (doc 90506). It is written here, not
// borrowed from package wecom, so the simulator checks the client's
// signing independently.
func JSSignature(ticket, nonceStr string, timestamp int64, pageURL string) string {
	pageURL, _, _ = strings.Cut(pageURL, "#")
	sum := sha1.Sum([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonceStr +
		"&timestamp=" + strconv.FormatInt(timestamp, 10) + "&url=" + pageURL))
	return hex.EncodeToString(sum[:])
}

// VerifyJSSignature checks a page's wx.config / wx.agentConfig the way the
// WeCom client does and returns nil or an *Error:
//
//   - 40013 the corp id is not this corp's; 40056 (agentConfig) unknown
//     agentid;
//   - 42012 the signature was made with a valid ticket of the wrong kind:
//     an agentConfig signed with the corp ticket or another app's ticket, or
//     a wx.config signed with an app ticket (the reference documents the
//     agentConfig direction; the other is the simulator's symmetric choice);
//   - 40093 anything else: a wrong signature, a URL that differs from the
//     signed one (a fragment does not count), an expired ticket (WeCom
//     compares with its current ticket only, so an old one is simply a
//     mismatch), or no ticket fetched yet.
//
// The timestamp is not checked for freshness (the client is not known to).
// Whether the page's domain must be the app's 可信域名 is not checked
// either (not covered by the reference).
func (s *Sim) VerifyJSSignature(cfg JSConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg.CorpID != s.opts.CorpID {
		return errf(40013, "corpid %q", cfg.CorpID)
	}
	if cfg.AgentConfig {
		if _, ok := s.apps[cfg.AgentID]; !ok {
			return errf(40056, "agentConfig for unknown agentid %d", cfg.AgentID)
		}
	}
	now := s.Now()
	ts := s.tickets()
	matches := func(t *jsTicket) bool {
		return t != nil && now.Before(t.expires) &&
			JSSignature(t.value, cfg.NonceStr, cfg.Timestamp, cfg.URL) == strings.ToLower(cfg.Signature)
	}
	want := ts.corp
	kind := "wx.config"
	if cfg.AgentConfig {
		want = ts.apps[cfg.AgentID]
		kind = "wx.agentConfig"
	}
	if matches(want) {
		return nil
	}
	others := []*jsTicket{}
	if cfg.AgentConfig {
		others = append(others, ts.corp)
	}
	for id, t := range ts.apps {
		if !cfg.AgentConfig || id != cfg.AgentID {
			others = append(others, t)
		}
	}
	for _, t := range others {
		if matches(t) {
			which := "the corp ticket"
			if t.agentID != 0 {
				which = "the ticket of app " + strconv.FormatInt(t.agentID, 10)
			}
			return errf(42012, "%s signed with %s", kind, which)
		}
	}
	if want == nil {
		return errf(40093, "%s: no ticket of that kind was ever fetched", kind)
	}
	if !now.Before(want.expires) {
		return errf(40093, "%s: the current ticket expired at %s", kind, want.expires.Format(time.RFC3339))
	}
	return errf(40093, "%s: signature does not match url %q", kind, cfg.URL)
}

// JSTicket returns the current corp ticket (agentID 0) or app ticket and
// whether one is valid now, for tests that sign pages themselves.
func (s *Sim) JSTicket(agentID int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tickets()
	t := ts.corp
	if agentID != 0 {
		t = ts.apps[agentID]
	}
	if t == nil || !s.Now().Before(t.expires) {
		return "", false
	}
	return t.value, true
}

// adminJSAPI registers POST jssdk/verify: a JSConfig in, a WeCom-shaped
// {"errcode","errmsg"} out (errmsg names the rule that fired), so a page
// under test (or its test) can check a wx.config over HTTP.
func (s *Sim) adminJSAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST "+AdminPrefix+"jssdk/verify", func(w http.ResponseWriter, r *http.Request) {
		var cfg JSConfig
		if !decodeAdmin(w, r, &cfg) {
			return
		}
		writeAdminWeCom(w, nil, s.VerifyJSSignature(cfg))
	})
}

// writeAdminWeCom answers an admin route in WeCom's shape: resp plus
// errcode 0 and "ok", or the error's code with its text and detail.
func writeAdminWeCom(w http.ResponseWriter, resp obj, err error) {
	if err != nil {
		e := asError(err)
		writeJSON(w, obj{"errcode": e.Code, "errmsg": errText(e.Code) + ": " + e.Detail})
		return
	}
	if resp == nil {
		resp = obj{}
	}
	resp["errcode"] = 0
	resp["errmsg"] = "ok"
	writeJSON(w, resp)
}
