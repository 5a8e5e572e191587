package cas

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Namespace is the XML namespace of every CAS response element.
const Namespace = "http://www.yale.edu/tp/cas"

// The authenticationFailure codes every CAS server must implement (spec
// §2.5.3). Servers may send others; Error.Code keeps whatever came.
const (
	// InvalidRequest: not all of the required request parameters were present.
	InvalidRequest = "INVALID_REQUEST"
	// InvalidTicketSpec: failure to meet the requirements of validation
	// (e.g. a proxy ticket given to /serviceValidate).
	InvalidTicketSpec = "INVALID_TICKET_SPEC"
	// UnauthorizedServiceProxy: the service may not perform proxy authentication.
	UnauthorizedServiceProxy = "UNAUTHORIZED_SERVICE_PROXY"
	// InvalidProxyCallback: the proxy callback given is invalid.
	InvalidProxyCallback = "INVALID_PROXY_CALLBACK"
	// InvalidTicket: the ticket is unknown, already used, expired, or not
	// from an initial login when renew was asked.
	InvalidTicket = "INVALID_TICKET"
	// InvalidService: the ticket was valid but issued for another service;
	// CAS has invalidated it.
	InvalidService = "INVALID_SERVICE"
	// InternalError: the CAS server failed while validating.
	InternalError = "INTERNAL_ERROR"
)

// Error is a CAS authenticationFailure: the server (or the client, before
// calling it) refused the ticket. The person is not signed in; sending them
// to LoginURL again gets a fresh ticket, except for INTERNAL_ERROR where
// the server is the problem.
type Error struct {
	Code    string // one of the constants above, or a server's own
	Message string // the server's explanation, trimmed, ticket redacted
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "cas: " + e.Code
	}
	return "cas: " + e.Code + ": " + e.Message
}

// ErrBadResponse is wrapped by errors for an answer that is not a CAS
// validation document (not XML, wrong namespace, neither success nor
// failure, no user, too large): the endpoint is misconfigured or something
// in between answered instead.
var ErrBadResponse = errors.New("not a CAS validation response")

// maxMessage bounds Error.Message: a server's text is shown to operators,
// not stored.
const maxMessage = 512

// Wire types: the CAS 3.0 response schema (spec Appendix A), reduced to
// what sign-in needs. proxyGrantingTicket and proxies are ignored.
type xmlServiceResponse struct {
	XMLName xml.Name     `xml:"http://www.yale.edu/tp/cas serviceResponse"`
	Success []xmlSuccess `xml:"http://www.yale.edu/tp/cas authenticationSuccess"`
	Failure []xmlFailure `xml:"http://www.yale.edu/tp/cas authenticationFailure"`
}

type xmlSuccess struct {
	User       []string        `xml:"http://www.yale.edu/tp/cas user"`
	Attributes []xmlAttributes `xml:"http://www.yale.edu/tp/cas attributes"`
	// Declared so that they do not land in Loose.
	PGT     []string `xml:"http://www.yale.edu/tp/cas proxyGrantingTicket"`
	Proxies []string `xml:"http://www.yale.edu/tp/cas proxies"`
	// Loose are other children: servers from before CAS 3.0 (and some
	// campus ones still) put attributes directly here.
	Loose []xmlAttr `xml:",any"`
}

type xmlAttributes struct {
	Any []xmlAttr `xml:",any"`
}

// xmlAttr is one attribute element (inside cas:attributes, or loose in
// authenticationSuccess). The spec's form is
// <cas:NAME>VALUE</cas:NAME>, repeated for each value; some servers emit
// <cas:attribute name="NAME" value="VALUE"/> instead, which is accepted too.
type xmlAttr struct {
	XMLName xml.Name
	Name    string `xml:"name,attr"`
	Value   string `xml:"value,attr"`
	Text    string `xml:",chardata"`
}

type xmlFailure struct {
	Code string `xml:"code,attr"`
	Text string `xml:",chardata"`
}

// parseResponse decodes a validation answer. ticket is only used to redact
// it from a failure message. The error is *Error for an
// authenticationFailure, or wraps ErrBadResponse.
//
// encoding/xml expands no external entities and no DTD-defined ones, so a
// hostile document cannot make it fetch or blow up anything.
func parseResponse(body []byte, ticket string) (*Principal, error) {
	var doc xmlServiceResponse
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	switch {
	case len(doc.Success)+len(doc.Failure) == 0:
		return nil, fmt.Errorf("%w: no authenticationSuccess or authenticationFailure", ErrBadResponse)
	case len(doc.Success)+len(doc.Failure) > 1:
		return nil, fmt.Errorf("%w: %d outcomes in one answer", ErrBadResponse, len(doc.Success)+len(doc.Failure))
	case len(doc.Failure) == 1:
		f := doc.Failure[0]
		code := strings.TrimSpace(f.Code)
		if code == "" {
			return nil, fmt.Errorf("%w: authenticationFailure without a code", ErrBadResponse)
		}
		return nil, &Error{Code: code, Message: clip(redact(strings.TrimSpace(f.Text), ticket))}
	}
	s := doc.Success[0]
	if len(s.User) != 1 {
		return nil, fmt.Errorf("%w: authenticationSuccess with %d user elements", ErrBadResponse, len(s.User))
	}
	p := &Principal{User: strings.TrimSpace(s.User[0])}
	if p.User == "" {
		return nil, fmt.Errorf("%w: authenticationSuccess with an empty user", ErrBadResponse)
	}
	all := s.Loose
	for _, as := range s.Attributes {
		all = append(all, as.Any...)
	}
	for _, a := range all {
		name, value := a.XMLName.Local, a.Text
		if name == "attribute" && a.Name != "" {
			name, value = a.Name, a.Value
		}
		if p.Attributes == nil {
			p.Attributes = map[string][]string{}
		}
		// Values are trimmed: servers pretty-print, and a campus attribute
		// never means its surrounding blanks.
		p.Attributes[name] = append(p.Attributes[name], strings.TrimSpace(value))
	}
	return p, nil
}

// clip shortens s to maxMessage bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	n := maxMessage
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
