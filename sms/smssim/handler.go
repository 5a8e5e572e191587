package smssim

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/sms"
)

//go:embed page.html
var pageHTML string

// china is the time zone the page shows times in, as a Chinese phone does.
var china = time.FixedZone("CST", 8*3600)

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"phone": displayPhone,
	"when": func(t time.Time) string {
		return t.In(china).Format("2006-01-02 15:04:05")
	},
	"inbox": func(base, mobile string) string { return base + "/n/" + url.PathEscape(mobile) },
	"last4": func(s string) string { return s[max(0, len(s)-4):] },
}).Parse(pageHTML))

// displayPhone groups a mainland number as phones show it:
// +8613800138000 → +86 138 0013 8000. Other numbers stay as they are.
func displayPhone(e164 string) string {
	if len(e164) == 14 && strings.HasPrefix(e164, "+86") {
		n := e164[3:]
		return "+86 " + n[:3] + " " + n[3:7] + " " + n[7:]
	}
	return e164
}

type pageData struct {
	Base    string
	Sign    string
	Inboxes []Inbox // the index
	Mobile  string  // an inbox
	Texts   []Text
	Error   string
}

// Handler serves the page and the JSON API (see the package doc). It has
// no authentication.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /n/{mobile}", s.inboxPage)
	mux.HandleFunc("GET /api/messages", s.apiMessages)
	mux.HandleFunc("POST /api/faults", jsonOnly(s.apiFaults))
	mux.HandleFunc("POST /api/reset", jsonOnly(s.apiReset))
	return http.NewCrossOriginProtection().Handler(mux)
}

func (s *Sim) render(w http.ResponseWriter, status int, d pageData) {
	d.Base, d.Sign = s.base, s.sign
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, d); err != nil {
		s.log.Warn("smssim: rendering the page", zap.Error(err))
	}
}

// index lists the numbers; ?mobile= jumps to one number's inbox.
func (s *Sim) index(w http.ResponseWriter, r *http.Request) {
	if q := strings.TrimSpace(r.URL.Query().Get("mobile")); q != "" {
		m, err := sms.Normalize(q, "CN")
		if err != nil {
			s.render(w, http.StatusBadRequest, pageData{Inboxes: s.Inboxes(), Error: "“" + q + "”不是有效的手机号码"})
			return
		}
		http.Redirect(w, r, s.base+"/n/"+url.PathEscape(m), http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, pageData{Inboxes: s.Inboxes()})
}

func (s *Sim) inboxPage(w http.ResponseWriter, r *http.Request) {
	m, err := sms.Normalize(r.PathValue("mobile"), "CN")
	if err != nil {
		s.render(w, http.StatusNotFound, pageData{Inboxes: s.Inboxes(), Error: "“" + r.PathValue("mobile") + "”不是有效的手机号码"})
		return
	}
	s.render(w, http.StatusOK, pageData{Mobile: m, Texts: s.Texts(m)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type apiError struct {
	Error string `json:"error"`
}

// apiMessages answers {"mobile": "+86…", "messages": [...]} for
// ?mobile= (any form Normalize reads), or {"inboxes": [...]} without it.
func (s *Sim) apiMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("mobile")
	if q == "" {
		writeJSON(w, http.StatusOK, struct {
			Inboxes []Inbox `json:"inboxes"`
		}{s.Inboxes()})
		return
	}
	m, err := sms.Normalize(q, "CN")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	texts := s.Texts(m)
	if texts == nil {
		texts = []Text{}
	}
	writeJSON(w, http.StatusOK, struct {
		Mobile   string `json:"mobile"`
		Messages []Text `json:"messages"`
	}{m, texts})
}

// faultRequest is POST /api/faults: {"next": n, "code": …} fails the next
// n sends as a whole; {"mobile": …, "count": n, "code": …} fails the next
// n texts to that number (count 0 clears it).
type faultRequest struct {
	Next   int    `json:"next"`
	Mobile string `json:"mobile"`
	Count  int    `json:"count"`
	Code   string `json:"code"`
}

func (s *Sim) apiFaults(w http.ResponseWriter, r *http.Request) {
	var f faultRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"body: " + err.Error()})
		return
	}
	switch {
	case f.Mobile != "":
		m, err := sms.Normalize(f.Mobile, "CN")
		if err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
			return
		}
		if f.Count > 0 && f.Code == "" {
			writeJSON(w, http.StatusBadRequest, apiError{"code is required"})
			return
		}
		s.FailMobile(m, f.Count, f.Code)
	case f.Next > 0 && f.Code != "":
		s.FailNext(f.Next, f.Code)
	default:
		writeJSON(w, http.StatusBadRequest, apiError{`want {"next": n, "code": …} or {"mobile": …, "count": n, "code": …}`})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) apiReset(w http.ResponseWriter, r *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// jsonOnly refuses a POST that is not application/json: an HTML form or a
// "simple" cross-site fetch cannot send that type.
func jsonOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, apiError{"Content-Type must be application/json"})
			return
		}
		h(w, r)
	}
}
