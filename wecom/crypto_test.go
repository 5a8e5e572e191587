package wecom

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// Official vectors from the weworkapi sample code (sbzhu/weworkapi_golang
// sample.go; the POST one also appears in doc 90968 "举例说明"), transcribed in
// shared/wecom-api.md §2.3.
const (
	vecToken     = "QDG6eK"
	vecAESKey    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vecReceiveID = "wx5823bf96d3bd56c7"
)

const vecPostEncrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="

const vecPostMsg = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"

func mustCrypter(t testing.TB, token, key, rid string) *Crypter {
	t.Helper()
	c, err := NewCrypter(token, key, rid)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOfficialURLVerification(t *testing.T) {
	c := mustCrypter(t, vecToken, vecAESKey, vecReceiveID)
	raw := "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
	got, err := c.VerifyURL(QueryValue(raw, "msg_signature"), QueryValue(raw, "timestamp"), QueryValue(raw, "nonce"), QueryValue(raw, "echostr"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "1616140317555161061" {
		t.Fatalf("plaintext = %q", got)
	}
	// Re-encrypting with the vector's random prefix reproduces echostr byte for byte.
	var random [16]byte
	copy(random[:], "c41b64491c2468d0")
	if enc := c.EncryptWithRandom(random, got); enc != QueryValue(raw, "echostr") {
		t.Fatalf("re-encrypt = %s", enc)
	}
}

func TestOfficialPostMessage(t *testing.T) {
	c := mustCrypter(t, vecToken, vecAESKey, vecReceiveID)
	body := []byte("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + vecPostEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")
	got, err := c.Open("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != vecPostMsg {
		t.Fatalf("msg = %q", got)
	}
	// The official ciphertext carries pad 30: a 16-byte PKCS#7 unpadder would refuse it.
	raw, _ := base64.StdEncoding.DecodeString(vecPostEncrypt)
	if len(raw)%32 != 0 {
		t.Fatalf("ciphertext len %d", len(raw))
	}
}

func TestAESKeyDerivation(t *testing.T) {
	key, err := ParseEncodingAESKey(vecAESKey)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(key) != "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760" {
		t.Fatalf("key = %x", key)
	}
}

func TestRefusals(t *testing.T) {
	c := mustCrypter(t, vecToken, vecAESKey, vecReceiveID)
	body := []byte("<xml><Encrypt><![CDATA[" + vecPostEncrypt + "]]></Encrypt></xml>")
	tests := []struct {
		name    string
		c       *Crypter
		sig     string
		body    []byte
		wantErr error
	}{
		{"forged signature", c, "0000000000000000000000000000000000000000", body, ErrSignature},
		{"short signature", c, "abc", body, ErrSignature},
		{"wrong receiveid", mustCrypter(t, vecToken, vecAESKey, "wwsomeoneelse"), "477715d11cdb4164915debcba66cb864d751f3e6", body, ErrReceiveID},
		{"no envelope", c, "477715d11cdb4164915debcba66cb864d751f3e6", []byte("<xml></xml>"), ErrXML},
		{"wrong key", mustCrypter(t, vecToken, strings.Repeat("a", 43), vecReceiveID), "477715d11cdb4164915debcba66cb864d751f3e6", body, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Open(tt.sig, "1409659813", "1372623149", tt.body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestSilenceperRoundTrip(t *testing.T) {
	c := mustCrypter(t, vecToken, vecAESKey, vecReceiveID)
	msg := []byte("<xml><Content><![CDATA[你好]]></Content></xml>")
	enc, err := util.EncryptMsg([]byte("0123456789abcdef"), msg, vecReceiveID, vecAESKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(string(enc))
	if err != nil || string(got) != string(msg) {
		t.Fatalf("decrypt silenceper: %q, %v", got, err)
	}
	ours, err := c.Encrypt(msg)
	if err != nil {
		t.Fatal(err)
	}
	_, back, err := util.DecryptMsg(vecReceiveID, ours, vecAESKey)
	if err != nil || string(back) != string(msg) {
		t.Fatalf("silenceper decrypt ours: %q, %v", back, err)
	}
}
