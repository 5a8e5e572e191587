package cas

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParseSpecSamples checks the parser against the example responses
// printed in the CAS Protocol 3.0 specification (testdata/README.md).
func TestParseSpecSamples(t *testing.T) {
	tests := []struct {
		file    string
		user    string
		attrs   map[string][]string
		code    string // *Error expected
		message string
		bad     bool // ErrBadResponse expected
	}{
		{file: "spec_2.5.2_success.xml", user: "username"},
		{file: "spec_2.5.2_failure.xml", code: InvalidTicket, message: "Ticket ST-1856339-aA5Yuvrxzpv8Tau1cYQ7 not recognized"},
		{file: "spec_2.5.7_attributes.xml", user: "username", attrs: map[string][]string{
			"firstname": {"John"}, "lastname": {"Doe"}, "title": {"Mr."}, "email": {"jdoe@example.org"},
			"affiliation": {"staff", "faculty"},
		}},
		{file: "spec_2.6.2_success.xml", user: "username"},
		{file: "spec_2.6.2_failure.xml", code: InvalidTicket, message: "ticket PT-1856376-1HMgO86Z2ZKeByc5XdYD not recognized"},
		{file: "spec_2.7.2_proxy_success.xml", bad: true},
		{file: "spec_2.7.2_proxy_failure.xml", bad: true},
		{file: "spec_appendix_a_attributes.xml", user: "username", attrs: map[string][]string{
			"authenticationDate": {"2015-11-12T09:30:10Z"}, "longTermAuthenticationRequestTokenUsed": {"true"},
			"isFromNewLogin": {"true"}, "myAttribute": {"myValue"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := parseResponse(body, "")
			switch {
			case tt.bad:
				if !errors.Is(err, ErrBadResponse) {
					t.Fatalf("parse = %+v, %v; want ErrBadResponse", p, err)
				}
			case tt.code != "":
				var ce *Error
				if !errors.As(err, &ce) || ce.Code != tt.code || ce.Message != tt.message {
					t.Fatalf("parse = %+v, %v; want *Error{%s, %q}", p, err, tt.code, tt.message)
				}
			default:
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if p.User != tt.user || !reflect.DeepEqual(p.Attributes, tt.attrs) {
					t.Fatalf("parse = %+v; want user %q attributes %v", p, tt.user, tt.attrs)
				}
			}
		})
	}
}

// TestParseRejectsWhatIsNotAValidation covers answers a misconfigured
// endpoint or something in between gives: each must fail with
// ErrBadResponse, never sign anyone in.
func TestParseRejectsWhatIsNotAValidation(t *testing.T) {
	const ns = `xmlns:cas="http://www.yale.edu/tp/cas"`
	for name, body := range map[string]string{
		"empty":           "",
		"html login page": "<!doctype html><html><body>统一身份认证</body></html>",
		"truncated":       `<cas:serviceResponse ` + ns + `><cas:authenticationSuccess><cas:user>u`,
		"wrong namespace": `<cas:serviceResponse xmlns:cas="http://example.org/not-cas"><cas:authenticationSuccess><cas:user>u</cas:user></cas:authenticationSuccess></cas:serviceResponse>`,
		"no namespace":    `<serviceResponse><authenticationSuccess><user>u</user></authenticationSuccess></serviceResponse>`,
		"user elsewhere":  `<cas:serviceResponse ` + ns + `><cas:authenticationSuccess><user>u</user></cas:authenticationSuccess></cas:serviceResponse>`,
		"empty user":      `<cas:serviceResponse ` + ns + `><cas:authenticationSuccess><cas:user>  </cas:user></cas:authenticationSuccess></cas:serviceResponse>`,
		"two users":       `<cas:serviceResponse ` + ns + `><cas:authenticationSuccess><cas:user>a</cas:user><cas:user>b</cas:user></cas:authenticationSuccess></cas:serviceResponse>`,
		"success and failure": `<cas:serviceResponse ` + ns + `><cas:authenticationSuccess><cas:user>a</cas:user></cas:authenticationSuccess>` +
			`<cas:authenticationFailure code="INVALID_TICKET">x</cas:authenticationFailure></cas:serviceResponse>`,
		"failure without code": `<cas:serviceResponse ` + ns + `><cas:authenticationFailure>x</cas:authenticationFailure></cas:serviceResponse>`,
		"undefined entity":     `<!DOCTYPE r [<!ENTITY x "y">]><cas:serviceResponse ` + ns + `><cas:authenticationSuccess><cas:user>&x;</cas:user></cas:authenticationSuccess></cas:serviceResponse>`,
		"json":                 `{"serviceResponse":{"authenticationSuccess":{"user":"u"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			p, err := parseResponse([]byte(body), "")
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("parse = %+v, %v; want ErrBadResponse", p, err)
			}
		})
	}
}

func TestParseKeepsOtherAttributeForms(t *testing.T) {
	body := `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>
<cas:user>20210001</cas:user><cas:attributes>
<cas:attribute name="cn" value="李四"/><cas:attribute name="memberOf" value="g1"/><cas:attribute name="memberOf" value="g2"/>
<cas:部门><![CDATA[计算机学院 & 软件学院]]></cas:部门>
</cas:attributes></cas:authenticationSuccess></cas:serviceResponse>`
	p, err := parseResponse([]byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"cn": {"李四"}, "memberOf": {"g1", "g2"}, "部门": {"计算机学院 & 软件学院"}}
	if !reflect.DeepEqual(p.Attributes, want) || p.Attr("cn") != "李四" || p.Attr("absent") != "" {
		t.Fatalf("attributes = %v; want %v", p.Attributes, want)
	}
}

// TestParseKeepsAttributesOfOlderServers: attributes put directly in
// authenticationSuccess (pre-3.0 servers) are kept; the proxy elements are
// not attributes.
func TestParseKeepsAttributesOfOlderServers(t *testing.T) {
	body := `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>
<cas:user>T2001003</cas:user><cas:姓名>王老师</cas:姓名><cas:userType>teacher</cas:userType>
<cas:proxyGrantingTicket>PGTIOU-1-x</cas:proxyGrantingTicket><cas:proxies><cas:proxy>https://p/</cas:proxy></cas:proxies>
<cas:attributes><cas:userType>counselor</cas:userType></cas:attributes>
</cas:authenticationSuccess></cas:serviceResponse>`
	p, err := parseResponse([]byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"姓名": {"王老师"}, "userType": {"teacher", "counselor"}}
	if !reflect.DeepEqual(p.Attributes, want) {
		t.Fatalf("attributes = %v; want %v", p.Attributes, want)
	}
}

func TestFailureMessageRedactsTicketAndIsBounded(t *testing.T) {
	const ticket = "ST-42-secretSECRETsecret"
	long := strings.Repeat("很长", 400)
	body := `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationFailure code="INVALID_TICKET">
Ticket ` + ticket + ` not recognized ` + long + `</cas:authenticationFailure></cas:serviceResponse>`
	_, err := parseResponse([]byte(body), ticket)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v; want *Error", err)
	}
	if strings.Contains(ce.Error(), ticket) || !strings.HasPrefix(ce.Message, "Ticket "+redactedTicket+" not recognized") {
		t.Fatalf("message %q: want the ticket redacted", ce.Message)
	}
	if len(ce.Message) > maxMessage+len("…") || !strings.HasSuffix(ce.Message, "…") || !utf8Valid(ce.Message) {
		t.Fatalf("message of %d bytes: want at most %d, cut on a rune", len(ce.Message), maxMessage)
	}
}
