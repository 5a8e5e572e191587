package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds one Validate call when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// MaxResponseBytes bounds a validation answer. A real one is a few
	// hundred bytes, a generous attribute release a few KiB; anything near
	// this is a misconfigured endpoint (a portal page, a proxy error) and is
	// refused rather than buffered.
	MaxResponseBytes = 1 << 20
	// TicketPrefix starts every service ticket (spec §3.1.1).
	TicketPrefix = "ST-"
	// MaxTicketLength bounds a ticket taken from a browser's query string.
	// The spec asks services to accept 256 characters; some servers append
	// a host name or issue JWT-like tickets, hence the margin. Longer is
	// refused (INVALID_TICKET_SPEC) without a call.
	MaxTicketLength = 4096
)

// Options configure a Client.
type Options struct {
	// BaseURL is the CAS server's URL including its context path, e.g.
	// "https://authserver.example.edu.cn/cas". Required, http(s).
	BaseURL string
	// Version selects the validation endpoint: 2 → /serviceValidate
	// (CAS 2.0, user only on most servers), 3 → /p3/serviceValidate (CAS
	// 3.0, with attributes). Zero means 3.
	Version int
	// HTTPClient sends validation requests. Default: a client that does not
	// follow redirects (a validation endpoint that redirects is
	// misconfigured, and following it would carry the ticket elsewhere).
	HTTPClient *http.Client
	// Timeout bounds each Validate call (on top of the caller's context).
	// Zero means DefaultTimeout.
	Timeout time.Duration
}

// Client talks to one CAS server. It is safe for concurrent use.
type Client struct {
	base     *url.URL // no trailing slash
	validate string   // path of the validation endpoint, on base
	hc       *http.Client
	timeout  time.Duration
}

// Principal is the person a CAS server vouched for.
type Principal struct {
	// User is the authenticated username (cas:user): at a university the
	// 工号 or 学号 of the unified identity account.
	User string
	// Attributes are the CAS 3.0 attributes, by element local name, each
	// with all its values in document order (CAS repeats an element for a
	// multi-valued attribute); elements placed directly in
	// authenticationSuccess, as pre-3.0 servers do, count too. Nil when the
	// server released none (CAS 2.0).
	// The protocol's own (authenticationDate, isFromNewLogin,
	// longTermAuthenticationRequestTokenUsed) are kept here too.
	Attributes map[string][]string
}

// Attr returns the first value of the first of names the server released,
// or "". Campus servers name the same thing differently (a person's name
// comes as "cn", "name" or "姓名"), so callers list the names they accept:
// p.Attr("姓名", "name", "cn").
func (p *Principal) Attr(names ...string) string {
	for _, n := range names {
		if v := p.Attributes[n]; len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// New builds a Client. It does not contact the server.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
		base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("cas: BaseURL %q: want http(s)://host[:port][/path]", opts.BaseURL)
	}
	c := &Client{base: base, hc: opts.HTTPClient, timeout: opts.Timeout}
	switch opts.Version {
	case 0, 3:
		c.validate = "/p3/serviceValidate"
	case 2:
		c.validate = "/serviceValidate"
	default:
		return nil, fmt.Errorf("cas: Version %d: want 2 or 3", opts.Version)
	}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	return c, nil
}

// LoginParams are the optional /login parameters (spec §2.1.1).
type LoginParams struct {
	// Renew makes CAS ask for credentials even within a single sign-on
	// session (for sensitive actions).
	Renew bool
	// Gateway makes CAS never ask: it redirects back with a ticket if a
	// session exists, and without one otherwise (a silent "already signed
	// in?" probe). Ignored when Renew is set, as the spec recommends.
	Gateway bool
}

// LoginURL is where to send a browser to sign in for service, the URL CAS
// redirects back to with ?ticket=ST-…. The same service string must be
// given to Validate.
func (c *Client) LoginURL(service string) string {
	return c.LoginURLWith(service, LoginParams{})
}

// LoginURLWith is LoginURL with renew or gateway.
func (c *Client) LoginURLWith(service string, p LoginParams) string {
	q := url.Values{}
	if service != "" {
		q.Set("service", service)
	}
	if p.Renew {
		q.Set("renew", "true")
	} else if p.Gateway {
		q.Set("gateway", "true")
	}
	return c.endpoint("/login", q)
}

// LogoutURL is where to send a browser to end its CAS single sign-on
// session. With returnTo, a CAS 3.0 server redirects there afterwards (if
// it knows the service); without, it shows its own "signed out" page.
func (c *Client) LogoutURL(returnTo string) string {
	q := url.Values{}
	if returnTo != "" {
		q.Set("service", returnTo)
	}
	return c.endpoint("/logout", q)
}

func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String()
}

// Validate checks ticket, brought back by the browser to service, with the
// CAS server and returns whom it was issued to. The server invalidates a
// ticket at the first validation, successful or not.
//
// Errors: *Error when CAS refused the ticket (or when it is refused here
// before any call: empty → INVALID_REQUEST; not "ST-…" or longer than
// MaxTicketLength → INVALID_TICKET_SPEC); ErrBadResponse (wrapped) when
// the answer is not a CAS validation document; otherwise a transport or
// HTTP status error, wrapped. No error contains the ticket.
func (c *Client) Validate(ctx context.Context, service, ticket string) (*Principal, error) {
	return c.ValidateWith(ctx, service, ticket, ValidateParams{})
}

// ValidateParams are the optional validation parameters (spec §2.5.1).
type ValidateParams struct {
	// Renew makes CAS accept the ticket only if it was issued from the
	// person's credentials just entered, not from a single sign-on session
	// (INVALID_TICKET otherwise). Use it when the login asked Renew: without
	// it here, a ticket from the session would pass all the same.
	Renew bool
}

// ValidateWith is Validate with renew.
func (c *Client) ValidateWith(ctx context.Context, service, ticket string, p ValidateParams) (*Principal, error) {
	if service == "" || ticket == "" {
		return nil, &Error{Code: InvalidRequest, Message: "service and ticket are both required"}
	}
	if len(ticket) > MaxTicketLength {
		return nil, &Error{Code: InvalidTicketSpec, Message: fmt.Sprintf("ticket longer than %d characters", MaxTicketLength)}
	}
	if !strings.HasPrefix(ticket, TicketPrefix) {
		// A proxy ticket (PT-) or garbage from the query string: the
		// service-ticket endpoint must refuse it anyway (spec §2.5), so it
		// is not worth a round trip, nor sending unknown strings on.
		return nil, &Error{Code: InvalidTicketSpec, Message: "not a service ticket (want the " + TicketPrefix + " prefix)"}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	q := url.Values{"service": {service}, "ticket": {ticket}}
	if p.Renew {
		q.Set("renew", "true")
	}
	target := c.endpoint(c.validate, q)
	where := c.endpoint(c.validate, nil) // for errors: the endpoint, without the ticket
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		// A parse error quotes the URL: keep the text, redacted, not the value.
		return nil, fmt.Errorf("cas: validate ticket at %s: build request: %s", where, redact(err.Error(), ticket))
	}
	req.Header.Set("Accept", "application/xml, text/xml")
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error carries the full URL, ticket included.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact(ue.URL, ticket)
		}
		return nil, fmt.Errorf("cas: validate ticket at %s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; the body (an
		// error page) may echo the ticket, so it is not quoted.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("cas: validate ticket at %s: HTTP %s", where, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cas: validate ticket at %s: read answer: %w", where, err)
	}
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("cas: validate ticket at %s: answer larger than %d bytes: %w", where, MaxResponseBytes, ErrBadResponse)
	}
	who, err := parseResponse(body, ticket)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, fmt.Errorf("cas: validate ticket at %s: %w", where, err)
	}
	return who, nil
}

// StripTicket removes the ticket parameter CAS appended to a service URL,
// leaving every other byte as it was, so that the callback's own request
// URL gives back the service string to validate against (CAS compares it
// exactly).
func StripTicket(rawURL string) string {
	frag := ""
	if i := strings.IndexByte(rawURL, '#'); i >= 0 {
		rawURL, frag = rawURL[:i], rawURL[i:]
	}
	i := strings.IndexByte(rawURL, '?')
	if i < 0 {
		return rawURL + frag
	}
	var keep []string
	for _, part := range strings.Split(rawURL[i+1:], "&") {
		if part != "ticket" && !strings.HasPrefix(part, "ticket=") {
			keep = append(keep, part)
		}
	}
	if len(keep) == 0 {
		return rawURL[:i] + frag
	}
	return rawURL[:i+1] + strings.Join(keep, "&") + frag
}

// redact replaces every occurrence of ticket in s (raw or query-escaped).
func redact(s, ticket string) string {
	if ticket == "" {
		return s
	}
	s = strings.ReplaceAll(s, ticket, redactedTicket)
	if esc := url.QueryEscape(ticket); esc != ticket {
		s = strings.ReplaceAll(s, esc, redactedTicket)
	}
	return s
}

const redactedTicket = "ST-[redacted]"
