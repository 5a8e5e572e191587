package cassim

import (
	"bytes"
	"crypto/rand"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// serveLogin is /login as credential requestor and acceptor (spec §2.1,
// §2.2). The person picker stands in for the username/password form: a
// pick is a link carrying sim_user=ID, which signs that person in as if
// their password had been right (primary credentials).
//
//	service  where to go back with ?ticket=ST-… (must be allowed)
//	renew    always ask, even within a session (gateway is then ignored)
//	gateway  never ask: back with a ticket if signed in, without one if not
//	sim_user the person picked; skips the picker (tests use it directly)
func (s *Sim) serveLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	service := q.Get("service")
	renew := q.Has("renew") && q.Get("renew") != "false"
	gateway := !renew && q.Has("gateway") && q.Get("gateway") != "false"
	if service != "" && !s.allowed(service) {
		// Non-open mode MUST refuse and say why (spec §2.2.1).
		s.page(w, http.StatusForbidden, pageData{Title: "应用未授权 · Application not authorized",
			Error: "This service is not registered with the CAS server: " + service})
		return
	}

	if id := q.Get("sim_user"); id != "" {
		p := s.people[id]
		if p == nil {
			s.page(w, http.StatusBadRequest, pageData{Title: "账号不存在 · Unknown account",
				Error: "No account " + id + " on this CAS server.", People: s.pickList(service, renew)})
			return
		}
		s.mu.Lock()
		now := s.opts.Clock()
		tgt := "TGT-" + rand.Text()
		s.sessions[tgt] = session{user: p.ID, authTime: now}
		if old := s.cookieSession(r); old != "" {
			delete(s.sessions, old) // a new sign-in replaces the old session
		}
		var st string
		if service != "" {
			st = s.issue(service, p.ID, now, true)
		}
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tgt, Path: s.path, HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.base, "https:")})
		if service == "" {
			s.page(w, http.StatusOK, pageData{Title: "登录成功 · Signed in", SignedIn: p, Logout: s.link("/logout", nil)})
			return
		}
		s.redirect(w, r, withTicket(service, st))
		return
	}

	s.mu.Lock()
	sess, signedIn := s.sessions[s.cookieSession(r)]
	var st string
	if signedIn && !renew && service != "" {
		st = s.issue(service, sess.user, sess.authTime, false)
	}
	s.mu.Unlock()
	switch {
	case st != "":
		s.redirect(w, r, withTicket(service, st))
	case gateway && service != "":
		// No session and not allowed to ask: back without a ticket (MUST).
		s.redirect(w, r, service)
	case signedIn && !renew:
		s.page(w, http.StatusOK, pageData{Title: "已登录 · Already signed in", SignedIn: s.people[sess.user], Logout: s.link("/logout", nil)})
	default:
		s.page(w, http.StatusOK, pageData{Title: "统一身份认证 · Sign in", Service: service, People: s.pickList(service, renew)})
	}
}

// serveLogout is /logout (spec §2.3): it ends the session and, with a
// service this server knows, redirects there; otherwise it says so.
func (s *Sim) serveLogout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delete(s.sessions, s.cookieSession(r))
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: s.path, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if service := r.URL.Query().Get("service"); service != "" && s.allowed(service) {
		s.redirect(w, r, service)
		return
	}
	s.page(w, http.StatusOK, pageData{Title: "已退出 · Signed out", SignedOut: true, Login: s.link("/login", nil)})
}

// cookieSession is the request's TGT, or "".
func (s *Sim) cookieSession(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Sim) redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}

// link is a URL on the simulator, built on BaseURL.
func (s *Sim) link(path string, q url.Values) string {
	if len(q) == 0 {
		return s.base + path
	}
	return s.base + path + "?" + q.Encode()
}

// withTicket appends ticket to service's query, before any fragment, and
// leaves the rest of the string as it was: the service checks the ticket
// against the exact URL it gave.
func withTicket(service, ticket string) string {
	frag := ""
	if i := strings.IndexByte(service, '#'); i >= 0 {
		service, frag = service[:i], service[i:]
	}
	sep := "?"
	if strings.Contains(service, "?") {
		sep = "&"
		if strings.HasSuffix(service, "?") || strings.HasSuffix(service, "&") {
			sep = ""
		}
	}
	return service + sep + "ticket=" + url.QueryEscape(ticket) + frag
}

type pick struct {
	ID, Name, Detail, Href string
}

func (s *Sim) pickList(service string, renew bool) []pick {
	out := make([]pick, 0, len(s.order))
	for _, id := range s.order {
		p := s.people[id]
		q := url.Values{"sim_user": {id}}
		if service != "" {
			q.Set("service", service)
		}
		if renew {
			q.Set("renew", "true")
		}
		var detail []string
		for _, k := range []string{"userType", "身份类型", "department", "部门"} {
			detail = append(detail, p.Attributes[k]...)
		}
		out = append(out, pick{ID: id, Name: p.Name, Detail: strings.Join(detail, " · "), Href: s.link("/login", q)})
	}
	return out
}

type pageData struct {
	Title     string
	Error     string
	Service   string
	People    []pick
	SignedIn  *Person
	SignedOut bool
	Logout    string
	Login     string
}

func (s *Sim) page(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		http.Error(w, "cassim: render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · CAS simulator</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}.banner{background:#fff4ce;padding:.5rem .75rem;border-radius:4px;font-size:.85rem}
.error{color:#b00020}ul{list-style:none;padding:0}li a{display:block;padding:.6rem .75rem;margin:.3rem 0;
border:1px solid #ccc;border-radius:4px;text-decoration:none;color:inherit}li a:hover{background:#f3f7ff}
small{color:#666}
</style></head><body>
<p class="banner">CAS 模拟器 · simulated unified identity authentication — not a real sign-in.</p>
<h1>{{.Title}}</h1>
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
{{with .SignedIn}}<p id="signed-in">{{.Name}} <small>({{.ID}})</small></p>{{end}}
{{if .Logout}}<p><a id="logout" href="{{.Logout}}">退出 · Sign out</a></p>{{end}}
{{if .SignedOut}}<p>您已退出统一身份认证。You have signed out of CAS.</p><p><a href="{{.Login}}">重新登录 · Sign in again</a></p>{{end}}
{{if .People}}{{with .Service}}<p><small>登录后返回 · after sign-in you return to {{.}}</small></p>{{end}}
<p>选择账号（代替输入密码）· Pick an account (stands in for the password form):</p>
<ul id="people">{{range .People}}<li><a class="person" data-id="{{.ID}}" href="{{.Href}}">{{.Name}} <small>{{.ID}}{{with .Detail}} · {{.}}{{end}}</small></a></li>{{end}}</ul>{{end}}
</body></html>
`))
