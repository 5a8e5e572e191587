package cassim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// TicketTTL is how long a service ticket stays valid after /login issued
// it, on the simulator's clock. Real servers use 10 s to 5 min (spec
// §3.1.1 recommends at most five minutes); the short end makes expiry easy
// to reach with Options.Clock and matches a common CAS default.
const TicketTTL = 10 * time.Second

// CookieName is the ticket-granting cookie (spec §3.6), named as the
// Apereo server names it.
const CookieName = "CASTGC"

// Person is someone the simulator can sign in: ID is the CAS username
// (cas:user, the 工号 or 学号), Name is shown on the picker and released as
// the "name" attribute unless Attributes has one, Attributes are released
// by /p3/serviceValidate as they are (multi-valued, any names that are
// valid XML element names, e.g. 部门, employeeNumber, userType).
type Person struct {
	ID         string
	Name       string
	Attributes map[string][]string
}

// Options configure a Sim.
type Options struct {
	// BaseURL is the external URL the simulator is reachable at, including
	// any path prefix it is mounted under with http.StripPrefix (e.g.
	// "http://127.0.0.1:8080/cassim"). Every link and the cookie path are
	// built on it. Empty: links are absolute paths from the host root.
	BaseURL string
	// People are the accounts of the simulated unified identity platform.
	People []Person
	// Services are the service URL prefixes allowed to use this CAS server
	// (its service registry). A service is allowed when it starts with one
	// of them — give prefixes ending in "/" so that "https://app.example"
	// does not also allow "https://app.example.evil". Empty: open mode,
	// every http(s) URL is allowed.
	Services []string
	// Clock is the simulator's time (ticket expiry, authenticationDate).
	// Default time.Now.
	Clock func() time.Time
}

// Sim is a simulated CAS server. It implements http.Handler; all its
// methods are safe for concurrent use.
type Sim struct {
	opts   Options
	base   string // BaseURL without trailing slash
	path   string // cookie path
	people map[string]*Person
	order  []string // person IDs in Options order, for the picker
	mux    *http.ServeMux

	mu       sync.Mutex
	seq      int
	tickets  map[string]*ticket
	sessions map[string]session // TGT → who
	faults   []failure          // answered by the next validations, in order
}

type ticket struct {
	service  string
	user     string
	issued   time.Time
	authTime time.Time
	newLogin bool // issued from primary credentials, not an SSO session (renew)
}

type session struct {
	user     string
	authTime time.Time
}

type failure struct{ code, message string }

// New builds a simulator. It panics on invalid Options (an empty or
// duplicate person ID, an attribute name that is not an XML element name,
// a BaseURL or service prefix that is not an http(s) URL): they are
// programming errors in a test or the demo's wiring.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	s := &Sim{
		opts:     opts,
		base:     strings.TrimSuffix(opts.BaseURL, "/"),
		path:     "/",
		people:   map[string]*Person{},
		tickets:  map[string]*ticket{},
		sessions: map[string]session{},
	}
	if s.base != "" {
		u, err := url.Parse(s.base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			panic(fmt.Sprintf("cassim: BaseURL %q: want http(s)://host[:port][/prefix]", opts.BaseURL))
		}
		if u.Path != "" {
			s.path = u.Path
		}
	}
	for _, p := range opts.Services {
		if !isHTTPURL(p) {
			panic(fmt.Sprintf("cassim: service prefix %q: want an http(s) URL", p))
		}
	}
	for i := range opts.People {
		p := &opts.People[i]
		if p.ID == "" {
			panic(fmt.Sprintf("cassim: person %d has no ID", i))
		}
		if _, dup := s.people[p.ID]; dup {
			panic(fmt.Sprintf("cassim: person ID %q twice", p.ID))
		}
		for name := range p.Attributes {
			if !isXMLName(name) {
				panic(fmt.Sprintf("cassim: person %q: attribute %q is not an XML element name", p.ID, name))
			}
		}
		s.people[p.ID] = p
		s.order = append(s.order, p.ID)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.serveLogin)
	s.mux.HandleFunc("GET /login", s.serveLogin)
	s.mux.HandleFunc("GET /logout", s.serveLogout)
	s.mux.HandleFunc("GET /serviceValidate", func(w http.ResponseWriter, r *http.Request) { s.serveValidate(w, r, false) })
	s.mux.HandleFunc("GET /p3/serviceValidate", func(w http.ResponseWriter, r *http.Request) { s.serveValidate(w, r, true) })
	return s
}

// ServeHTTP serves /login, /logout, /serviceValidate and /p3/serviceValidate.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// FailNextValidation makes the next validation request (either endpoint)
// answer an authenticationFailure with code and message instead of
// checking its ticket — e.g. INTERNAL_ERROR, which a healthy server never
// sends. The ticket given, if known, is consumed as in any validation
// attempt. Calls queue up.
func (s *Sim) FailNextValidation(code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, failure{code, message})
}

// Outstanding is how many service tickets are issued and not yet validated
// (expired ones included until someone presents them).
func (s *Sim) Outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tickets)
}

// issue makes a service ticket for user and service. Called with s.mu held.
func (s *Sim) issue(service, user string, authTime time.Time, newLogin bool) string {
	s.seq++
	// Only {A-Z, a-z, 0-9, -} (spec §3.7); rand.Text is 26 base32 characters.
	t := "ST-" + strconv.Itoa(s.seq) + "-" + rand.Text()
	s.tickets[t] = &ticket{service: service, user: user, issued: s.opts.Clock(), authTime: authTime, newLogin: newLogin}
	return t
}

// allowed reports whether service may use this CAS server.
func (s *Sim) allowed(service string) bool {
	if !isHTTPURL(service) {
		return false
	}
	if len(s.opts.Services) == 0 {
		return true
	}
	for _, p := range s.opts.Services {
		if strings.HasPrefix(service, p) {
			return true
		}
	}
	return false
}

// sortedAttributes returns p's attributes in name order, with "name" from
// Person.Name unless Attributes has one.
func (p *Person) sortedAttributes() []attr {
	var out []attr
	if _, ok := p.Attributes["name"]; !ok && p.Name != "" {
		out = append(out, attr{"name", []string{p.Name}})
	}
	for k, v := range p.Attributes {
		out = append(out, attr{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

type attr struct {
	name   string
	values []string
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isXMLName reports whether name can be an element's local name: an XML
// NCName, reduced to letters (any script, so 部门 is fine), digits, '_',
// '-' and '.', not starting with a digit, '-' or '.', and not "xml…"
// (reserved).
func isXMLName(name string) bool {
	if name == "" || strings.HasPrefix(strings.ToLower(name), "xml") {
		return false
	}
	for i, r := range name {
		switch {
		case unicode.IsLetter(r) || r == '_':
		case i > 0 && (unicode.IsDigit(r) || r == '-' || r == '.' || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)):
		default:
			return false
		}
	}
	return true
}
