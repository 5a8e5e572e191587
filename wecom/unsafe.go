package wecom

import (
	"net/url"
	"strings"
	"unsafe"
)

// unsafeBytes views s as bytes without copying; the result must not be written.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// unsafeString views b as a string without copying; b must not change while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// QueryValue reads one parameter from a raw query string, percent-decoding it
// without turning '+' into a space. WeCom's echostr and msg_signature are
// base64 and hex; a proxy or a hand-made test that leaves a base64 '+'
// unencoded would otherwise break the signature (url.Query() decodes '+' as ' ').
func QueryValue(rawQuery, key string) string {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != key {
			continue
		}
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
		return v
	}
	return ""
}
