package wecomsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// obj is a JSON object under construction.
type obj = map[string]any

// rawBody is a non-JSON success response (Endpoint.Raw).
type rawBody struct {
	ContentType string
	Header      http.Header
	Data        []byte
}

// call is one API request on its way through the pipeline.
type call struct {
	r     *http.Request
	ep    *endpoint
	query url.Values
	body  []byte
	ip    string
	now   time.Time   // the simulator clock when the call was dispatched
	cred  *credential // the caller; nil for gettoken
}

// maxBodyBytes bounds request bodies: media/upload allows 20 MB files plus
// multipart framing.
const maxBodyBytes = 21 << 20

// serveAPI is the single pipeline every API call goes through: faults, then
// (under the state lock) token, frequency limit, method, caller, handler;
// then the call log and the response.
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	c := &call{r: r, ep: ep, query: r.URL.Query(), ip: clientIP(r)}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		// The client went away mid-body; nothing sensible to answer.
		return
	}
	c.body = body

	f := s.takeFault(ep.Path)
	if f != nil && !f.DropAfter {
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				s.recordFault(c, 0, 0, "latency (client gone)")
				return
			}
		}
		switch {
		case f.Drop:
			s.recordFault(c, 0, 0, "drop")
			dropConnection(w)
			return
		case f.Status != 0:
			s.recordFault(c, f.Status, 0, fmt.Sprintf("http %d", f.Status))
			w.WriteHeader(f.Status)
			return
		case f.ErrCode != 0:
			e := &Error{Code: f.ErrCode, Detail: "injected fault"}
			s.mu.Lock()
			c.now = s.Now()
			resp := s.errorBody(c, e)
			s.recordCall(c, http.StatusOK, e, "errcode")
			s.mu.Unlock()
			writeJSON(w, resp)
			return
		}
	}

	s.mu.Lock()
	c.now = s.Now()
	resp, raw, e := s.dispatch(c)
	if e != nil {
		resp = s.errorBody(c, e)
	}
	s.recordCall(c, http.StatusOK, e, "")
	s.mu.Unlock()
	if f != nil && f.DropAfter {
		dropConnection(w) // the call is done and logged; its answer is lost
		return
	}

	if e == nil && raw != nil {
		for k, v := range raw.Header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", raw.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(raw.Data)))
		_, _ = w.Write(raw.Data)
		return
	}
	writeJSON(w, resp)
}

// dispatch runs the checks every API shares, in WeCom's order (the token is
// validated before any parameter), then the handler. It runs under s.mu.
func (s *Sim) dispatch(c *call) (obj, *rawBody, *Error) {
	ep := c.ep
	s.advanceJobs() // a batch job whose time has come is finished before any read
	if ep.Access != accessNone {
		cred, e := s.checkToken(c)
		if e != nil {
			return nil, nil, e
		}
		c.cred = cred
	}
	if e := s.checkLimit(ep.Path, c.now); e != nil {
		return nil, nil, e
	}
	if ep.Method == post && c.r.Method != http.MethodPost {
		// 90313 40063 help: "接口要求以Post方法，就不能使用Get方式". A POST to a
		// GET API is accepted: the body is ignored, the query read.
		return nil, nil, errf(40063, "%s needs POST, got %s", ep.Path, c.r.Method)
	}
	switch {
	case ep.Access == accessContacts && !c.cred.isContacts():
		return nil, nil, errf(48002, "%s needs the contacts-sync secret", ep.Path)
	case ep.Access == accessApp && c.cred.isContacts():
		return nil, nil, errf(48002, "the contacts-sync secret cannot call %s", ep.Path)
	case ep.SyncIPBlocked && !s.opts.Legacy && c.cred.isContacts():
		return nil, nil, errf(48009, "contacts-sync secret from a new IP cannot call %s", ep.Path)
	}
	if ep.Raw != nil {
		raw, err := ep.Raw(c)
		if err != nil {
			return nil, nil, asError(err)
		}
		return nil, raw, nil
	}
	resp, err := ep.Handle(c)
	if err != nil {
		return nil, nil, asError(err)
	}
	if resp == nil {
		resp = obj{}
	}
	resp["errcode"] = 0
	if _, ok := resp["errmsg"]; !ok {
		msg := ep.OK
		if msg == "" {
			msg = "ok"
		}
		resp["errmsg"] = msg
	}
	return resp, nil, nil
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: -1, Detail: err.Error()}
}

// errorBody builds an error response: the endpoint's default empty fields,
// errcode, and errmsg in the live shape.
func (s *Sim) errorBody(c *call, e *Error) obj {
	resp := obj{}
	for k, v := range c.ep.Empty {
		resp[k] = v
	}
	resp["errcode"] = e.Code
	msg := errmsg(e.Code, s.hint(c.now), c.ip)
	if e.badJSON {
		msg += " Warning: wrong json format."
	}
	resp["errmsg"] = msg
	return resp
}

// hint imitates WeCom's per-request hint id: "<unix>_<seq>_<32 hex>".
func (s *Sim) hint(now time.Time) string {
	return fmt.Sprintf("%d_%d_%s", now.Unix(), s.st.callSeq+1, randomHex(16))
}

func (s *Sim) recordCall(c *call, status int, e *Error, fault string) {
	code := 0
	detail := ""
	if e != nil {
		code, detail = e.Code, e.Detail
	}
	s.st.logCall(Call{
		Time:    c.now,
		Method:  c.r.Method,
		Path:    c.ep.Path,
		Caller:  c.cred.String(),
		Status:  status,
		ErrCode: code,
		Detail:  detail,
		Fault:   fault,
	})
	if code != 0 {
		s.log.Debug("api error", zap.String("path", c.ep.Path), zap.Int("errcode", code), zap.String("detail", detail), zap.String("caller", c.cred.String()))
	}
}

func (s *Sim) recordFault(c *call, status, code int, fault string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.logCall(Call{Time: s.Now(), Method: c.r.Method, Path: c.ep.Path, Status: status, ErrCode: code, Fault: fault})
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// dropConnection closes the TCP connection without an answer, as a
// network failure would.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fields is a decoded JSON request body. Presence matters: WeCom writes a
// field that is present even when it is empty and leaves an absent one
// untouched, so bodies are not decoded into structs. A JSON null counts as
// absent.
type fields map[string]json.RawMessage

// fields decodes the request body. Invalid JSON (or not an object) is
// 40058 with the live "Warning: wrong json format." suffix. An empty body
// is an empty object.
func (c *call) fields() (fields, error) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return fields{}, nil
	}
	var f fields
	if err := json.Unmarshal(c.body, &f); err != nil || f == nil {
		return nil, &Error{Code: 40058, Detail: "request body is not a JSON object", badJSON: true}
	}
	return f, nil
}

func (f fields) has(k string) bool {
	v, ok := f[k]
	return ok && string(v) != "null"
}

// value decodes field k into dst; absent → false. A value of the wrong JSON
// type is 40058.
func (f fields) value(k string, dst any) (bool, error) {
	if !f.has(k) {
		return false, nil
	}
	if err := json.Unmarshal(f[k], dst); err != nil {
		return true, errf(40058, "field %s: %v", k, err)
	}
	return true, nil
}

func (f fields) str(k string) (string, bool, error) {
	var v string
	ok, err := f.value(k, &v)
	return v, ok, err
}

func (f fields) int64(k string) (int64, bool, error) {
	var v int64
	ok, err := f.value(k, &v)
	return v, ok, err
}

func (f fields) int64s(k string) ([]int64, bool, error) {
	var v []int64
	ok, err := f.value(k, &v)
	if v == nil {
		v = []int64{}
	}
	return v, ok, err
}

func (f fields) ints(k string) ([]int, bool, error) {
	var v []int
	ok, err := f.value(k, &v)
	if v == nil {
		v = []int{}
	}
	return v, ok, err
}

func (f fields) strs(k string) ([]string, bool, error) {
	var v []string
	ok, err := f.value(k, &v)
	if v == nil {
		v = []string{}
	}
	return v, ok, err
}

// queryInt reads an integer query parameter: value, present, well-formed.
func (c *call) queryInt(k string) (int64, bool, bool) {
	s := c.query.Get(k)
	if s == "" {
		return 0, false, true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, true, err == nil
}

// fieldsFrom converts a Go value (a User, a map) into request fields, for
// the admin Go methods that reuse the API's rules.
func fieldsFrom(v any) fields {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		panic(err)
	}
	return f
}
