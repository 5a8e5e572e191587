package cassim

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Failure codes (spec §2.5.3). The simulator keeps its own copy rather
// than importing package cas, so that a typo on either side fails a test.
const (
	codeInvalidRequest           = "INVALID_REQUEST"
	codeInvalidTicketSpec        = "INVALID_TICKET_SPEC"
	codeUnauthorizedServiceProxy = "UNAUTHORIZED_SERVICE_PROXY"
	codeInvalidProxyCallback     = "INVALID_PROXY_CALLBACK"
	codeInvalidTicket            = "INVALID_TICKET"
	codeInvalidService           = "INVALID_SERVICE"
)

// serveValidate is /serviceValidate (v3 false: CAS 2.0, the user only) and
// /p3/serviceValidate (v3 true: with attributes), spec §2.5 and §2.8. The
// answer is always 200 with a serviceResponse document, as Apereo's is.
//
// Checks, in order: service and ticket present (INVALID_REQUEST, ticket not
// consumed: the request was no validation attempt); format XML or absent
// (INVALID_REQUEST); an injected failure; the ticket an "ST-" one
// (INVALID_TICKET_SPEC — a PT- proxy ticket lands here); known
// (INVALID_TICKET); from here the ticket is consumed whatever the outcome
// (§3.1.1); not expired (INVALID_TICKET); same service (INVALID_SERVICE);
// renew asked but the ticket came from an SSO session (INVALID_TICKET);
// pgtUrl: the simulator issues no proxy-granting tickets, so a non-https
// callback is INVALID_PROXY_CALLBACK and any other UNAUTHORIZED_SERVICE_PROXY.
func (s *Sim) serveValidate(w http.ResponseWriter, r *http.Request, v3 bool) {
	q := r.URL.Query()
	service, ticketID := q.Get("service"), q.Get("ticket")
	if service == "" || ticketID == "" {
		writeFailure(w, codeInvalidRequest, "'service' and 'ticket' parameters are both required")
		return
	}
	if f := q.Get("format"); f != "" && !strings.EqualFold(f, "XML") {
		writeFailure(w, codeInvalidRequest, "format "+f+" is not supported by this server (XML only)")
		return
	}

	s.mu.Lock()
	now := s.opts.Clock()
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		delete(s.tickets, ticketID)
		s.mu.Unlock()
		writeFailure(w, f.code, f.message)
		return
	}
	if !strings.HasPrefix(ticketID, "ST-") {
		s.mu.Unlock()
		writeFailure(w, codeInvalidTicketSpec, "Ticket "+ticketID+" is not a service ticket")
		return
	}
	t := s.tickets[ticketID]
	delete(s.tickets, ticketID)
	s.mu.Unlock()

	switch {
	case t == nil:
		writeFailure(w, codeInvalidTicket, "Ticket "+ticketID+" not recognized")
	case !now.Before(t.issued.Add(TicketTTL)):
		writeFailure(w, codeInvalidTicket, "Ticket "+ticketID+" expired")
	case service != t.service:
		writeFailure(w, codeInvalidService, "Ticket "+ticketID+" does not match supplied service. The original service was "+t.service+" and the supplied service was "+service)
	case q.Has("renew") && q.Get("renew") != "false" && !t.newLogin:
		writeFailure(w, codeInvalidTicket, "Ticket "+ticketID+" was not issued from primary credentials and renew was requested")
	case q.Get("pgtUrl") != "":
		if u, err := url.Parse(q.Get("pgtUrl")); err != nil || u.Scheme != "https" || u.Host == "" {
			writeFailure(w, codeInvalidProxyCallback, "The supplied proxy callback url "+q.Get("pgtUrl")+" could not be authenticated")
		} else {
			writeFailure(w, codeUnauthorizedServiceProxy, "The supplied service "+service+" is not authorized to use CAS proxy authentication")
		}
	default:
		var attrs []attr
		if v3 {
			if p := s.people[t.user]; p != nil {
				attrs = p.sortedAttributes()
			}
			attrs = append([]attr{
				{"authenticationDate", []string{t.authTime.UTC().Format(time.RFC3339)}},
				{"isFromNewLogin", []string{strconv.FormatBool(t.newLogin)}},
				{"longTermAuthenticationRequestTokenUsed", []string{"false"}},
			}, attrs...)
		}
		writeSuccess(w, t.user, attrs, v3)
	}
}

// The wire format, written as the spec's examples are laid out (§2.5.2,
// §2.5.7): a cas-prefixed document, four-space indents, no XML declaration.
const (
	docOpen  = "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n"
	docClose = "</cas:serviceResponse>\n"
)

func writeSuccess(w http.ResponseWriter, user string, attrs []attr, v3 bool) {
	var b bytes.Buffer
	b.WriteString(docOpen)
	b.WriteString("    <cas:authenticationSuccess>\n")
	b.WriteString("        <cas:user>")
	escape(&b, user)
	b.WriteString("</cas:user>\n")
	if v3 {
		b.WriteString("        <cas:attributes>\n")
		for _, a := range attrs {
			for _, v := range a.values {
				// a.name was checked by isXMLName at New.
				b.WriteString("            <cas:" + a.name + ">")
				escape(&b, v)
				b.WriteString("</cas:" + a.name + ">\n")
			}
		}
		b.WriteString("        </cas:attributes>\n")
	}
	b.WriteString("    </cas:authenticationSuccess>\n")
	b.WriteString(docClose)
	writeXML(w, b.Bytes())
}

func writeFailure(w http.ResponseWriter, code, message string) {
	var b bytes.Buffer
	b.WriteString(docOpen)
	b.WriteString("    <cas:authenticationFailure code=\"")
	escape(&b, code)
	b.WriteString("\">")
	escape(&b, message)
	b.WriteString("</cas:authenticationFailure>\n")
	b.WriteString(docClose)
	writeXML(w, b.Bytes())
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
}

func writeXML(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/xml;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}
