package cas

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// FuzzParseResponse feeds arbitrary answers to the parser: it must never
// panic, and every outcome must be one of the three a caller handles — a
// Principal with a user, an *Error with a code and no ticket in it, or
// ErrBadResponse.
func FuzzParseResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>张三</cas:user>` +
		`<cas:attributes><cas:部门>信息中心</cas:部门><cas:attribute name="x" value="y"/></cas:attributes></cas:authenticationSuccess></cas:serviceResponse>`))
	const ticket = "ST-1-fuzzticket"
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseResponse(body, ticket)
		var ce *Error
		switch {
		case err == nil:
			if p == nil || strings.TrimSpace(p.User) == "" || p.User != strings.TrimSpace(p.User) {
				t.Fatalf("success with user %q", p.User)
			}
			for k := range p.Attributes {
				if k == "" {
					t.Fatal("attribute with an empty name")
				}
			}
		case errors.As(err, &ce):
			if p != nil || ce.Code == "" || strings.Contains(ce.Message, ticket) || len(ce.Message) > maxMessage+len("…") {
				t.Fatalf("failure %+v (principal %v)", ce, p)
			}
		case errors.Is(err, ErrBadResponse):
			if p != nil {
				t.Fatalf("bad response with principal %v", p)
			}
		default:
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
