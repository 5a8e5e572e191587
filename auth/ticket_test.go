package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/cas"
)

const oaService = "https://oa.example.edu.cn/login?next=%2Finbox"

func (e *env) sessions(t *testing.T) *auth.Sessions {
	t.Helper()
	s, err := auth.New(auth.Options{Coord: e.coord, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ticketCode(err error) string {
	var te *auth.TicketError
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}

func TestServiceTicketValidatesOnceForItsService(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		issuer, validator := e.sessions(t), e.sessions(t) // two instances
		st, err := issuer.IssueTicket(ctx, "T1001", oaService)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(st, "ST-") || len(st) < 32 || len(st) > 256 || strings.ContainsAny(st, "+/=&?#%") {
			t.Fatalf("ticket %q: want ST- and 32..256 URL-safe characters", st)
		}
		e.clock.Advance(30 * time.Second)
		if who, err := validator.ValidateTicket(ctx, st, oaService); err != nil || who != "T1001" {
			t.Fatalf("ValidateTicket = %q, %v; want T1001", who, err)
		}
		if _, err := validator.ValidateTicket(ctx, st, oaService); ticketCode(err) != auth.CASInvalidTicket {
			t.Errorf("second validation: %v, want INVALID_TICKET", err)
		}

		// Another service's URL (even one differing only in its query) is
		// refused, and the ticket is spent.
		st, _ = issuer.IssueTicket(ctx, "T1001", oaService)
		if _, err := validator.ValidateTicket(ctx, st, "https://oa.example.edu.cn/login"); ticketCode(err) != auth.CASInvalidService {
			t.Errorf("wrong service: %v, want INVALID_SERVICE", err)
		}
		if _, err := validator.ValidateTicket(ctx, st, oaService); ticketCode(err) != auth.CASInvalidTicket {
			t.Errorf("after a wrong-service attempt: %v, want INVALID_TICKET (spent)", err)
		}

		st, _ = issuer.IssueTicket(ctx, "T1001", oaService)
		e.clock.Advance(auth.TicketTTL)
		if _, err := validator.ValidateTicket(ctx, st, oaService); ticketCode(err) != auth.CASInvalidTicket {
			t.Errorf("ticket after %v: %v, want INVALID_TICKET", auth.TicketTTL, err)
		}

		for _, c := range []struct{ ticket, service, code string }{
			{"", oaService, auth.CASInvalidRequest},
			{"ST-x", "", auth.CASInvalidRequest},
			{"PT-1-abc", oaService, auth.CASInvalidTicketSpec},
			{"ST-" + strings.Repeat("a", 300), oaService, auth.CASInvalidTicketSpec},
			{"ST-forged0000000000000000000000000000", oaService, auth.CASInvalidTicket},
		} {
			if _, err := validator.ValidateTicket(ctx, c.ticket, c.service); ticketCode(err) != c.code {
				t.Errorf("ValidateTicket(%.20q, %q) = %v, want %s", c.ticket, c.service, err, c.code)
			}
		}
	})
}

func TestIssueTicketRefusesBadInput(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		s := e.sessions(t)
		for _, c := range [][2]string{{"", oaService}, {"T1001", ""}, {"T1001", "/relative"}, {"T1001", "javascript:alert(1)"}} {
			if st, err := s.IssueTicket(ctx, c[0], c[1]); err == nil {
				t.Errorf("IssueTicket(%q, %q) = %q, want refused", c[0], c[1], st)
			}
		}
	})
}

func TestServiceTicketRaceHasOneWinner(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		s := e.sessions(t)
		st, err := s.IssueTicket(ctx, "S2024001", oaService)
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				other := e.sessions(t)
				if who, err := other.ValidateTicket(ctx, st, oaService); err == nil && who == "S2024001" {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if ticketCode(err) != auth.CASInvalidTicket {
					t.Errorf("losing validation: %v, want INVALID_TICKET", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d validations of one ticket succeeded, want 1", wins)
		}
	})
}

// TestServiceResponseSpeaksCAS: an external system validating through the
// platform with an ordinary CAS client (ours, package cas) gets the user
// and attributes, and the failure codes.
func TestServiceResponseSpeaksCAS(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		s := e.sessions(t)
		attrs := map[string][]string{
			"姓名":       {"王芳"},
			"部门":       {"计算机科学与工程学院", "教务处"},
			"userType": {"faculty"},
			"odd name": {"kept <&> as is"},
		}
		var failNext bool
		mux := http.NewServeMux()
		mux.HandleFunc("GET /sso/p3/serviceValidate", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			who, err := s.ValidateTicket(r.Context(), q.Get("ticket"), q.Get("service"))
			if failNext {
				who, err = "", errors.New("redis: connection refused at 10.0.0.5")
			}
			w.Header().Set("Content-Type", "application/xml;charset=UTF-8")
			w.Write(auth.ServiceResponse(who, attrs, err))
		})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		client, err := cas.New(cas.Options{BaseURL: srv.URL + "/sso"})
		if err != nil {
			t.Fatal(err)
		}

		st, _ := s.IssueTicket(ctx, "wangfang", oaService)
		p, err := client.Validate(ctx, oaService, st)
		if err != nil {
			t.Fatal(err)
		}
		if p.User != "wangfang" || !reflect.DeepEqual(p.Attributes, attrs) {
			t.Errorf("cas client read %q %v, want wangfang %v", p.User, p.Attributes, attrs)
		}

		var ce *cas.Error
		if _, err := client.Validate(ctx, oaService, st); !errors.As(err, &ce) || ce.Code != cas.InvalidTicket {
			t.Errorf("replayed ticket: %v, want CAS INVALID_TICKET", err)
		}
		st, _ = s.IssueTicket(ctx, "wangfang", oaService)
		if _, err := client.Validate(ctx, "https://evil.example.com/", st); !errors.As(err, &ce) || ce.Code != cas.InvalidService {
			t.Errorf("other service: %v, want CAS INVALID_SERVICE", err)
		}
		failNext = true
		st, _ = s.IssueTicket(ctx, "wangfang", oaService)
		_, err = client.Validate(ctx, oaService, st)
		if !errors.As(err, &ce) || ce.Code != cas.InternalError {
			t.Errorf("store failure: %v, want CAS INTERNAL_ERROR", err)
		}
		if err != nil && strings.Contains(err.Error(), "10.0.0.5") {
			t.Errorf("internal error text leaked to the external system: %v", err)
		}
	})
}

func TestServiceResponseWithoutAttributes(t *testing.T) {
	doc := string(auth.ServiceResponse("T1001", nil, nil))
	if !strings.Contains(doc, `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">`) ||
		!strings.Contains(doc, "<cas:user>T1001</cas:user>") || strings.Contains(doc, "cas:attributes") {
		t.Errorf("CAS 2.0 answer:\n%s", doc)
	}
	doc = string(auth.ServiceResponse("", nil, nil))
	if !strings.Contains(doc, `code="INTERNAL_ERROR"`) || strings.Contains(doc, "authenticationSuccess") {
		t.Errorf("success without a user:\n%s", doc)
	}
}
