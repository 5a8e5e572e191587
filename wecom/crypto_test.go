package wecom

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// Official vectors from the weworkapi sample code (sbzhu/weworkapi_golang
// sample.go; the POST one also appears in doc 90968 "举例说明"), transcribed in
// docs/wecom.md §2.3.
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

// TestVerifyURLIsNotADecryptionOracle replays captured traffic as a URL
// verification: each Encrypt comes with a correct signature over it, and
// the answer must be a refusal that does not carry the plaintext.
func TestVerifyURLIsNotADecryptionOracle(t *testing.T) {
	c := mustCrypter(t, vecToken, vecAESKey, vecReceiveID)
	const ts, nonce = "1700000000", "42"
	secret := "身份证 440101199001011234"
	callback := (&Event{ToUserName: vecReceiveID, FromUserName: "zhangsan", CreateTime: 1700000000,
		MsgType: "text", Content: secret, MsgID: "1", AgentID: 1000002}).XML()
	sealed, _, err := c.Seal(callback, "1000002", ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := c.Reply(NewTextReply("zhangsan", vecReceiveID, 1700000000, secret).XML(), ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	for name, envelope := range map[string][]byte{"callback": sealed, "passive reply": reply} {
		t.Run(name, func(t *testing.T) {
			enc, err := EnvelopeEncrypt(envelope)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := c.VerifyURL(c.Signature(ts, nonce, string(enc)), ts, nonce, string(enc))
			if !errors.Is(err, ErrEchostr) || plain != nil {
				t.Fatalf("VerifyURL = %q, %v; want nil, ErrEchostr", plain, err)
			}
			var ce *CryptoError
			if !errors.As(err, &ce) {
				t.Errorf("err %T is not a *CryptoError", err)
			}
			for _, leak := range []string{secret, "440101", "zhangsan", "<xml>", "CDATA"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q carries the plaintext (%q)", err, leak)
				}
			}
		})
	}
	// Shape limits: WeCom's numeric string passes, up to 128 bytes; markup,
	// control characters and longer text do not.
	for _, tt := range []struct {
		plain string
		ok    bool
	}{
		{"1616140317555161061", true},
		{strings.Repeat("7", maxEchostr), true},
		{strings.Repeat("7", maxEchostr+1), false},
		{"", false},
		{"12<34", false},
		{"a&b", false},
		{"12\n", false},
		{"12\x00", false},
		{"数字", false},
	} {
		enc, err := c.Encrypt([]byte(tt.plain))
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.VerifyURL(c.Signature(ts, nonce, enc), ts, nonce, enc)
		if tt.ok && (err != nil || string(got) != tt.plain) {
			t.Errorf("echostr %q: %q, %v", tt.plain, got, err)
		}
		if !tt.ok && !errors.Is(err, ErrEchostr) {
			t.Errorf("plaintext %q answered: %q, %v", tt.plain, got, err)
		}
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	for _, tt := range []struct {
		name, ts string
		ok       bool
	}{
		{"now", unix(0), true},
		{"just inside max age", unix(-CallbackMaxAge), true},
		{"just inside max ahead", unix(CallbackMaxAhead), true},
		{"one second too old", unix(-CallbackMaxAge - time.Second), false},
		{"one second too far ahead", unix(CallbackMaxAhead + time.Second), false},
		{"30 days old", unix(-30 * 24 * time.Hour), false},
		{"a year ahead", unix(365 * 24 * time.Hour), false},
		{"not a number", "abc", false},
		{"empty", "", false},
		{"signed", "+" + unix(0), false},
		{"negative", "-1", false},
		{"spaces", " " + unix(0), false},
		{"milliseconds", unix(0) + "000", false},
		{"overflow", "99999999999999999999", false},
		{"year 2381", "13000000000", false},
		{"far future", "9223372036854775807", false},
		{"epoch", "0", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTimestamp(tt.ts, now)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok {
				var ce *CryptoError
				if !errors.Is(err, ErrTimestamp) || !errors.As(err, &ce) || ce.Code != -40020 {
					t.Fatalf("err = %v, want ErrTimestamp (-40020)", err)
				}
			}
		})
	}
}

// TestEnvelopeXML reads envelopes as XML: formatting, comments and
// escaping do not matter, and what is not one envelope is ErrXML.
func TestEnvelopeXML(t *testing.T) {
	for _, body := range []string{
		"<xml>\n  <ToUserName><![CDATA[ww]]></ToUserName>\n  <Encrypt>\n    <![CDATA[QUJD]]>\n  </Encrypt>\n</xml>\n",
		"<?xml version=\"1.0\"?><xml><!-- c --><Encrypt>QUJD</Encrypt></xml>",
		"<xml><Encrypt><![CDATA[QU]]><![CDATA[JD]]></Encrypt></xml>",
	} {
		enc, err := EnvelopeEncrypt([]byte(body))
		if err != nil || string(enc) != "QUJD" {
			t.Errorf("EnvelopeEncrypt(%q) = %q, %v", body, enc, err)
		}
	}
	for _, body := range []string{
		"", "success", "<xml></xml>", "<xml><Encrypt></Encrypt></xml>", "<xml><Encrypt>QUJD</xml>",
		"<!DOCTYPE xml><xml><Encrypt>QUJD</Encrypt></xml>", "<xml><Encrypt>QUJD</Encrypt></xml><xml/>",
	} {
		if _, err := EnvelopeEncrypt([]byte(body)); !errors.Is(err, ErrXML) {
			t.Errorf("EnvelopeEncrypt(%q) err = %v, want ErrXML", body, err)
		}
	}
}

func TestFastEnvelopeAgreesWithEncodingXML(t *testing.T) {
	c, err := NewCrypter("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		t.Fatal(err)
	}
	sealed, _, err := c.Seal([]byte("<xml><Content><![CDATA[hi]]></Content></xml>"), "1000002", "1409659813", "263014780")
	if err != nil {
		t.Fatal(err)
	}
	reply, err := c.Reply([]byte("<xml/>"), "1409659813", "263014780")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		body string
		fast bool // read without encoding/xml
	}{
		{string(sealed), true},
		{string(reply), true},
		{"<xml><ToUserName><![CDATA[ww1]]></ToUserName><AgentID>1000002</AgentID><Encrypt>QUJD</Encrypt></xml>", true},
		{"<xml>\n<Encrypt><![CDATA[QUJD]]></Encrypt>\n</xml>", false},                    // whitespace between elements
		{"<xml><!-- x --><Encrypt><![CDATA[QUJD]]></Encrypt></xml>", false},              // comment
		{"<xml><Encrypt>QU&#74;D</Encrypt></xml>", false},                                // character reference
		{"<xml><Encrypt><![CDATA[QUJD]]></Encrypt><Encrypt>RUZH</Encrypt></xml>", false}, // two Encrypt
		{`<xml><Encrypt a="1">QUJD</Encrypt></xml>`, false},                              // attribute
		{"<xml><Encrypt><![CDATA[QU JD]]></Encrypt></xml>", false},                       // space in the value
		{"<xml><Encrypt><![CDATA[]]></Encrypt></xml>", false},                            // empty: encoding/xml gives the error
		{"<xml><Encrypt><![CDATA[QUJD]]></Encrypt></xml>trailing", false},
		{"<xml><A><B>1</B></A><Encrypt>QUJD</Encrypt></xml>", false}, // nesting
	} {
		fast, ok := fastEnvelope([]byte(tt.body))
		if ok != tt.fast {
			t.Errorf("fastEnvelope(%q) ok = %v, want %v", tt.body, ok, tt.fast)
			continue
		}
		env, err := parseEnvelope([]byte(tt.body))
		if ok && (err != nil || !bytes.Equal(env.Encrypt, fast)) {
			t.Errorf("fastEnvelope(%q) = %q; encoding/xml reads %v, %v", tt.body, fast, env, err)
		}
		// Whatever path answers, EnvelopeEncrypt agrees with encoding/xml.
		got, gerr := EnvelopeEncrypt([]byte(tt.body))
		if (gerr == nil) != (err == nil) || err == nil && !bytes.Equal(got, env.Encrypt) {
			t.Errorf("EnvelopeEncrypt(%q) = %q, %v; encoding/xml: %v", tt.body, got, gerr, err)
		}
	}
}
