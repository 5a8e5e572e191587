package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wecomapp/wecomapp/coord"
)

// Sign-on for external systems. A tile that opens an external system
// (/app/go/{key}) sends the person there with a one-time service ticket,
// and the system validates it at the platform's /sso/serviceValidate as it
// would with the university's CAS server: the platform is a CAS server
// (Apereo CAS Protocol 3.0 §2.5, §2.8, §3.1) for the systems it links to.

// TicketTTL is how long a service ticket waits for its validation. The
// spec recommends no more than five minutes; the browser is redirected at
// once, so a minute is plenty and shrinks the replay window.
const TicketTTL = 60 * time.Second

// TicketPrefix starts every service ticket (CAS spec §3.1.1).
const TicketPrefix = "ST-"

// CAS authenticationFailure codes (spec §2.5.3) ValidateTicket reports.
// They are spelled here rather than taken from package cas, so the test
// that parses ServiceResponse with the cas client checks both spellings.
const (
	CASInvalidRequest    = "INVALID_REQUEST"
	CASInvalidTicketSpec = "INVALID_TICKET_SPEC"
	CASInvalidTicket     = "INVALID_TICKET"
	CASInvalidService    = "INVALID_SERVICE"
	CASInternalError     = "INTERNAL_ERROR"
)

// TicketError is a refused validation, with its CAS failure code.
type TicketError struct {
	Code string // one of the CAS constants
	Msg  string // why, without the ticket
}

func (e *TicketError) Error() string { return "auth: service ticket: " + e.Code + ": " + e.Msg }

// maxTicketLen bounds a presented ticket; ours are 46 characters, the spec
// asks servers to accept 32 and allows up to 256.
const maxTicketLen = 256

// ticketRecord is an issued ticket, in coord under ticketKey.
type ticketRecord struct {
	UserID  string `json:"user_id"`
	Service string `json:"service"`
	Issued  int64  `json:"issued"` // Unix nanoseconds, on the package's clock
}

// The keys hold a digest of the ticket: a dump of Redis cannot be replayed.
func ticketKey(t string) string     { return "auth:ticket:" + digest(t) }
func ticketUsedKey(t string) string { return "auth:ticket-used:" + digest(t) }

// IssueTicket issues a one-time service ticket for userID to present to
// service, the external system's URL exactly as it will send it to
// /sso/serviceValidate. The ticket lives TicketTTL.
func (s *Sessions) IssueTicket(ctx context.Context, userID, service string) (string, error) {
	if userID == "" {
		return "", errors.New("auth: issue service ticket: empty user id")
	}
	if u, err := url.Parse(service); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("auth: issue service ticket for %s: service %q is not an absolute http(s) URL", userID, service)
	}
	ticket := TicketPrefix + randomToken(32)
	b, err := json.Marshal(ticketRecord{UserID: userID, Service: service, Issued: s.now().UnixNano()})
	if err != nil {
		return "", fmt.Errorf("auth: issue service ticket for %s: %w", userID, err)
	}
	if err := s.c.Set(ctx, ticketKey(ticket), b, TicketTTL); err != nil {
		return "", fmt.Errorf("auth: issue service ticket for %s: %w", userID, err)
	}
	return ticket, nil
}

// ValidateTicket checks a ticket an external system presents for service
// and returns whom it was issued to. A ticket validates once: the first
// validation consumes it whatever the outcome (spec §3.1.1), so a ticket
// presented for the wrong service is gone too. Refusals are *TicketError:
// INVALID_REQUEST (ticket or service missing), INVALID_TICKET_SPEC (not an
// "ST-" ticket), INVALID_TICKET (unknown, used or older than TicketTTL),
// INVALID_SERVICE (issued for another service); other errors are the
// coordination store failing.
func (s *Sessions) ValidateTicket(ctx context.Context, ticket, service string) (string, error) {
	switch {
	case ticket == "" || service == "":
		return "", &TicketError{Code: CASInvalidRequest, Msg: "ticket and service are both required"}
	case len(ticket) > maxTicketLen || !strings.HasPrefix(ticket, TicketPrefix):
		return "", &TicketError{Code: CASInvalidTicketSpec, Msg: "not a service ticket"}
	}
	b, err := s.c.Get(ctx, ticketKey(ticket))
	if errors.Is(err, coord.ErrNotFound) {
		return "", &TicketError{Code: CASInvalidTicket, Msg: "ticket not recognized"}
	}
	if err != nil {
		return "", fmt.Errorf("auth: validate service ticket: %w", err)
	}
	// Two validations racing with the same ticket: set-if-absent lets one
	// win; the record is deleted either way.
	won, err := s.c.SetNX(ctx, ticketUsedKey(ticket), []byte{1}, TicketTTL)
	if err != nil {
		return "", fmt.Errorf("auth: validate service ticket: %w", err)
	}
	_ = s.c.Delete(ctx, ticketKey(ticket)) // the used marker already refuses it
	if !won {
		return "", &TicketError{Code: CASInvalidTicket, Msg: "ticket already used"}
	}
	var rec ticketRecord
	if json.Unmarshal(b, &rec) != nil || rec.UserID == "" {
		return "", &TicketError{Code: CASInvalidTicket, Msg: "ticket unreadable"}
	}
	if s.now().Sub(time.Unix(0, rec.Issued)) >= TicketTTL {
		return "", &TicketError{Code: CASInvalidTicket, Msg: "ticket expired"}
	}
	if rec.Service != service {
		return "", &TicketError{Code: CASInvalidService, Msg: "ticket was issued for another service"}
	}
	return rec.UserID, nil
}

// The CAS response document (spec Appendix A), written with the cas:
// prefix as CAS servers and the spec's examples do. encoding/xml writes a
// colon in a tag name as is, so the prefix and its xmlns:cas are spelled
// out.
type casResponse struct {
	XMLName xml.Name    `xml:"cas:serviceResponse"`
	NS      string      `xml:"xmlns:cas,attr"`
	Success *casSuccess `xml:"cas:authenticationSuccess,omitempty"`
	Failure *casFailure `xml:"cas:authenticationFailure,omitempty"`
}

type casSuccess struct {
	User       string         `xml:"cas:user"`
	Attributes *casAttributes `xml:"cas:attributes,omitempty"`
}

type casAttributes struct {
	Items []casAttr
}

// casAttr is one value of one attribute: <cas:NAME>VALUE</cas:NAME>, or
// <cas:attribute name="NAME" value="VALUE"/> for a name that is no XML
// name (both forms are what CAS clients read).
type casAttr struct {
	XMLName xml.Name
	Name    string `xml:"name,attr,omitempty"`
	Value   string `xml:"value,attr,omitempty"`
	Text    string `xml:",chardata"`
}

type casFailure struct {
	Code string `xml:"code,attr"`
	Text string `xml:",chardata"`
}

// ServiceResponse is the CAS 2.0/3.0 serviceResponse document answering a
// validation: authenticationSuccess with user and, when attrs is not empty,
// cas:attributes (names sorted, each value its own element, as CAS 3.0
// writes a multi-valued attribute); or, when err is not nil,
// authenticationFailure with the code of a *TicketError (INTERNAL_ERROR for
// any other error, whose text is not sent out).
func ServiceResponse(user string, attrs map[string][]string, err error) []byte {
	doc := casResponse{NS: "http://www.yale.edu/tp/cas"}
	var te *TicketError
	switch {
	case errors.As(err, &te):
		doc.Failure = &casFailure{Code: te.Code, Text: te.Msg}
	case err != nil:
		doc.Failure = &casFailure{Code: CASInternalError, Text: "the ticket could not be validated; try again"}
	case user == "":
		doc.Failure = &casFailure{Code: CASInternalError, Text: "no user for the ticket"}
	default:
		doc.Success = &casSuccess{User: user}
		if len(attrs) > 0 {
			as := &casAttributes{}
			names := make([]string, 0, len(attrs))
			for n := range attrs {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				for _, v := range attrs[n] {
					if isXMLName(n) {
						as.Items = append(as.Items, casAttr{XMLName: xml.Name{Local: "cas:" + n}, Text: v})
					} else {
						as.Items = append(as.Items, casAttr{XMLName: xml.Name{Local: "cas:attribute"}, Name: n, Value: v})
					}
				}
			}
			doc.Success.Attributes = as
		}
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "    ")
	// Only strings are encoded: this cannot fail.
	_ = enc.Encode(doc)
	buf.WriteByte('\n')
	return buf.Bytes()
}

// isXMLName reports whether n can be an element's local name (a letter or
// underscore, then letters, digits, '_', '-', '.'); 姓名 and 工号 can.
func isXMLName(n string) bool {
	if n == "" || strings.ContainsRune(n, ':') {
		return false
	}
	for i, r := range n {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r)):
		default:
			return false
		}
	}
	return true
}
