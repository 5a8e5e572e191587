package wecomsim

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// The simulator's admin API and pages are unauthenticated by design: they
// mint OAuth codes, show the demo's names and phone numbers and make the
// platform accept correctly signed callbacks from any member. They are
// meant for one developer's machine, so a web page that developer visits
// must not be able to drive them: cross-origin requests with unsafe methods
// are refused (http.CrossOriginProtection, which reads Sec-Fetch-Site and
// Origin), and the admin API takes JSON only, so a cross-site form or a
// fetch with Content-Type text/plain — the "simple requests" browsers send
// without a CORS preflight — is refused even where those headers are
// missing.

// guardAdmin wraps the admin API.
func (s *Sim) guardAdmin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	json := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				http.Error(w, "the simulator's admin API takes JSON only: send Content-Type: application/json", http.StatusUnsupportedMediaType)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
	return cop.Handler(json)
}

// guardPages wraps the simulator's pages (OAuth authorize, the phone page):
// cross-origin form posts are refused, and with Options.Public every HTML
// page carries a warning banner.
func (s *Sim) guardPages(h http.Handler) http.Handler {
	if s.opts.Public {
		h = publicBanner(h)
	}
	return http.NewCrossOriginProtection().Handler(h)
}

// PublicBanner is the warning shown on every page of a simulator reachable
// beyond this machine (Options.Public).
const PublicBanner = "企业微信模拟器对外开放 (simulator.allow_public): anyone who can reach it can act as any member. Never use it with real people's data."

// publicBanner inserts the banner right after <body> of HTML answers.
// Pages are rendered into a buffer before they are written (phone.go), so
// buffering here costs nothing visible.
func publicBanner(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		body := rec.buf.Bytes()
		if strings.HasPrefix(rec.header.Get("Content-Type"), "text/html") {
			if i := bytes.Index(body, []byte("<body")); i >= 0 {
				if j := bytes.IndexByte(body[i:], '>'); j >= 0 {
					at := i + j + 1
					banner := `<div role="alert" style="background:#b3261e;color:#fff;padding:8px 12px;font:14px/1.4 sans-serif;text-align:center">` + PublicBanner + `</div>`
					body = append(body[:at:at], append([]byte(banner), body[at:]...)...)
				}
			}
			rec.header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

type bufferedWriter struct {
	header      http.Header
	status      int
	wroteHeader bool
	buf         bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = status, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.buf.Write(p)
}
