package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"
)

// CryptoError is a callback-crypto failure. Code follows the official sample
// library's return codes (-40001 signature, -40002 XML, -40004 AESKey,
// -40005 receiveid, -40007 decrypt, -40008 buffer) so log lines can be matched
// against WeCom's own troubleshooting pages. The checks the sample library
// does not make (freshness, echostr shape) use codes from -40020 on, outside
// its -40001..-40011 range, so they are never mistaken for an official code.
type CryptoError struct {
	Code   int
	Reason string
}

func (e *CryptoError) Error() string {
	return fmt.Sprintf("wecom callback crypto %d: %s", e.Code, e.Reason)
}

// Is makes errors.Is match on the code alone, so callers can test against the
// exported sentinels whatever the detail text.
func (e *CryptoError) Is(target error) bool {
	t, ok := target.(*CryptoError)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrSignature = &CryptoError{Code: -40001, Reason: "signature mismatch"}
	ErrXML       = &CryptoError{Code: -40002, Reason: "malformed envelope"}
	ErrAESKey    = &CryptoError{Code: -40004, Reason: "invalid EncodingAESKey"}
	ErrReceiveID = &CryptoError{Code: -40005, Reason: "receiveid mismatch"}
	ErrDecrypt   = &CryptoError{Code: -40007, Reason: "decrypt failed"}
	ErrBuffer    = &CryptoError{Code: -40008, Reason: "invalid plaintext buffer"}
	// ErrTimestamp: the request's timestamp is not a Unix time within
	// CallbackMaxAge / CallbackMaxAhead of now (our code, not WeCom's).
	ErrTimestamp = &CryptoError{Code: -40020, Reason: "timestamp outside the accepted window"}
	// ErrEchostr: a correctly signed URL verification whose plaintext is not
	// shaped like WeCom's echostr (our code, not WeCom's).
	ErrEchostr = &CryptoError{Code: -40021, Reason: "not a URL-verification echostr"}
)

// The freshness window for callback and URL-verification requests, checked
// by CheckTimestamp. WeCom signs every request with its own timestamp; a
// request it got no timely answer for is re-sent within seconds (a 5 s
// timeout, at most three retries: docs/wecom.md §2.1), and server clocks
// under NTP are off by far less than a minute, so five minutes each way
// refuses nothing WeCom sends. It bounds replay: a captured request signed
// inside the window collapses on its inbox dedupe row, which is kept far
// longer than this window, and one signed outside it is refused here, so a
// replay is never processed twice.
const (
	CallbackMaxAge   = 5 * time.Minute
	CallbackMaxAhead = 5 * time.Minute
)

// CheckTimestamp refuses a callback or URL-verification timestamp that is
// not a decimal Unix time in seconds, or is more than CallbackMaxAge before
// now or more than CallbackMaxAhead after it, with an error matching
// ErrTimestamp. Check it before anything else: the signature covers the
// timestamp, so a fresh one cannot be pasted onto a captured request.
func CheckTimestamp(timestamp string, now time.Time) error {
	if timestamp == "" {
		return cryptoErr(ErrTimestamp, "empty")
	}
	for i := 0; i < len(timestamp); i++ {
		if c := timestamp[i]; c < '0' || c > '9' {
			return cryptoErr(ErrTimestamp, "%q is not a decimal Unix time", truncate(timestamp, 32))
		}
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return cryptoErr(ErrTimestamp, "%q is out of range", truncate(timestamp, 32))
	}
	// Whole seconds, compared as integers: a far-future value would
	// overflow time.Duration.
	switch nowSec := now.Unix(); {
	case sec < nowSec-int64(CallbackMaxAge/time.Second):
		return cryptoErr(ErrTimestamp, "%s is %s old, more than %s", timestamp, time.Duration(nowSec-sec)*time.Second, CallbackMaxAge)
	case sec > nowSec+int64(CallbackMaxAhead/time.Second):
		return cryptoErr(ErrTimestamp, "%s is %d s ahead of our clock, more than %s", timestamp, sec-nowSec, CallbackMaxAhead)
	}
	return nil
}

func cryptoErr(base *CryptoError, format string, args ...any) error {
	return &CryptoError{Code: base.Code, Reason: base.Reason + ": " + fmt.Sprintf(format, args...)}
}

// EncodingAESKeyLen is the length WeCom's console generates: 43 characters of
// base64 without the trailing '='.
const EncodingAESKeyLen = 43

// ParseEncodingAESKey turns the 43-character console key into the 32-byte AES
// key. The message names what is wrong so configuration errors are actionable.
func ParseEncodingAESKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != EncodingAESKeyLen {
		return nil, cryptoErr(ErrAESKey, "must be %d characters, got %d", EncodingAESKeyLen, len(encodingAESKey))
	}
	for i := 0; i < len(encodingAESKey); i++ {
		c := encodingAESKey[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return nil, cryptoErr(ErrAESKey, "character %d is %q; only A-Z, a-z, 0-9 are allowed", i+1, c)
		}
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, cryptoErr(ErrAESKey, "does not decode to 32 bytes")
	}
	return key, nil
}

// Crypter signs, verifies, encrypts and decrypts callbacks for one receiver
// (one app, or the contacts-sync tool): one token, one EncodingAESKey, one
// receiveid. It is safe for concurrent use.
type Crypter struct {
	token     string
	receiveID string
	key       []byte
	block     cipher.Block
}

// NewCrypter validates the key once so that a misconfigured receiver fails at
// start-up rather than on the first callback.
func NewCrypter(token, encodingAESKey, receiveID string) (*Crypter, error) {
	if token == "" {
		return nil, errors.New("wecom: callback token is empty")
	}
	key, err := ParseEncodingAESKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wecom: aes cipher: %w", err)
	}
	return &Crypter{token: token, receiveID: receiveID, key: key, block: block}, nil
}

// ReceiveID is the corp id (or suite id) this receiver accepts.
func (c *Crypter) ReceiveID() string { return c.receiveID }

// Signature is sha1 over the byte-wise sorted concatenation of token,
// timestamp, nonce and the encrypted text, in lowercase hex.
func (c *Crypter) Signature(timestamp, nonce, encrypted string) string {
	var sum [sha1.Size]byte
	c.signatureInto(&sum, timestamp, nonce, encrypted)
	return hex.EncodeToString(sum[:])
}

func (c *Crypter) signatureInto(sum *[sha1.Size]byte, timestamp, nonce, encrypted string) {
	parts := [4]string{c.token, timestamp, nonce, encrypted}
	// Insertion sort on four elements: no allocation, unlike sort.Strings on a slice header escaping to the heap.
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && parts[j] < parts[j-1]; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	h := sha1Pool.Get().(*sha1State)
	h.h.Reset()
	for _, p := range parts {
		h.h.Write(unsafeBytes(p))
	}
	h.h.Sum(sum[:0])
	sha1Pool.Put(h)
}

// verify compares in constant time so that the signature check does not leak
// how many leading characters an attacker got right.
func (c *Crypter) verify(msgSignature, timestamp, nonce, encrypted string) error {
	if len(msgSignature) != 2*sha1.Size {
		return cryptoErr(ErrSignature, "msg_signature has %d characters, want 40", len(msgSignature))
	}
	var want [sha1.Size]byte
	c.signatureInto(&want, timestamp, nonce, encrypted)
	var wantHex [2 * sha1.Size]byte
	hex.Encode(wantHex[:], want[:])
	if subtle.ConstantTimeCompare(wantHex[:], unsafeBytes(msgSignature)) != 1 {
		return ErrSignature
	}
	return nil
}

// VerifyURL answers WeCom's URL verification (the GET on "save"): it checks the
// signature over echostr, decrypts it and returns the plaintext that must be
// the whole response body. Callers must pass query values already
// percent-decoded, and must not turn '+' into space: see QueryValue.
//
// Only a plaintext shaped like WeCom's echostr is returned (see
// echostrShaped). Every captured callback Encrypt or passive reply comes
// with a valid signature over it, so answering any plaintext would make the
// verification GET a decryption oracle for all past traffic; anything else
// is refused with ErrEchostr, and the error does not carry the plaintext.
// The caller checks the timestamp (CheckTimestamp) as for a callback.
func (c *Crypter) VerifyURL(msgSignature, timestamp, nonce, echostr string) ([]byte, error) {
	if err := c.verify(msgSignature, timestamp, nonce, echostr); err != nil {
		return nil, err
	}
	plain, err := c.Decrypt(echostr)
	if err != nil {
		return nil, err
	}
	if !echostrShaped(plain) {
		n := len(plain)
		clear(plain)
		return nil, cryptoErr(ErrEchostr, "decrypted %d bytes that are not an echostr", n)
	}
	return plain, nil
}

// maxEchostr bounds the echostr plaintext. WeCom sends a random decimal
// string (the official vector's is 19 digits: docs/wecom.md §2.3); 128
// bytes leaves room for a longer random string while every callback and
// passive reply, which are XML, fails the markup test anyway.
const maxEchostr = 128

// echostrShaped accepts 1..maxEchostr bytes of printable ASCII without
// markup ('<', '>', '&'): WeCom's echostr, and nothing a callback or a
// passive reply decrypts to.
func echostrShaped(p []byte) bool {
	if len(p) == 0 || len(p) > maxEchostr {
		return false
	}
	for _, b := range p {
		if b < 0x20 || b > 0x7e || b == '<' || b == '>' || b == '&' {
			return false
		}
	}
	return true
}

// Open verifies and decrypts a POSTed callback body (the <xml><Encrypt>
// envelope) and returns the inner XML message.
func (c *Crypter) Open(msgSignature, timestamp, nonce string, body []byte) ([]byte, error) {
	enc, err := EnvelopeEncrypt(body)
	if err != nil {
		return nil, err
	}
	if err := c.verify(msgSignature, timestamp, nonce, unsafeString(enc)); err != nil {
		return nil, err
	}
	return c.decryptBytes(enc)
}

// Decrypt decrypts one base64 msg_encrypt and checks that its receiveid is
// ours. It returns a fresh slice the caller owns.
func (c *Crypter) Decrypt(encrypted string) ([]byte, error) {
	return c.decryptBytes(unsafeBytes(encrypted))
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

type sha1State struct{ h hash.Hash }

var sha1Pool = sync.Pool{New: func() any { return &sha1State{h: sha1.New()} }}

func (c *Crypter) decryptBytes(encrypted []byte) ([]byte, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n := base64.StdEncoding.DecodedLen(len(encrypted))
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	buf := (*bp)[:n]
	n, err := base64.StdEncoding.Decode(buf, encrypted)
	if err != nil {
		return nil, cryptoErr(ErrDecrypt, "base64: %v", err)
	}
	buf = buf[:n]
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, cryptoErr(ErrDecrypt, "ciphertext length %d is not a multiple of %d", len(buf), aes.BlockSize)
	}
	cipher.NewCBCDecrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(buf, buf)

	// WeCom pads to 32-byte blocks (PKCS#7 with k=32), so the pad value is 1..32.
	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > 32 || pad > len(buf) {
		return nil, cryptoErr(ErrDecrypt, "bad padding %d", pad)
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, cryptoErr(ErrDecrypt, "inconsistent padding")
		}
	}
	buf = buf[:len(buf)-pad]
	if len(buf) < 20 {
		return nil, cryptoErr(ErrBuffer, "plaintext too short (%d bytes)", len(buf))
	}
	msgLen := int(binary.BigEndian.Uint32(buf[16:20]))
	if msgLen > len(buf)-20 {
		return nil, cryptoErr(ErrBuffer, "msg_len %d exceeds plaintext of %d bytes", msgLen, len(buf)-20)
	}
	msg := buf[20 : 20+msgLen]
	receiveID := buf[20+msgLen:]
	if string(receiveID) != c.receiveID {
		return nil, cryptoErr(ErrReceiveID, "got %q", truncate(string(receiveID), 64))
	}
	out := make([]byte, len(msg))
	copy(out, msg)
	return out, nil
}

// Encrypt encrypts msg with a fresh random 16-byte prefix and returns the
// base64 msg_encrypt.
func (c *Crypter) Encrypt(msg []byte) (string, error) {
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("wecom: random prefix: %w", err)
	}
	return c.EncryptWithRandom(random, msg), nil
}

// EncryptWithRandom is Encrypt with a caller-chosen prefix; the official test
// vectors are reproducible only this way.
func (c *Crypter) EncryptWithRandom(random [16]byte, msg []byte) string {
	plainLen := 16 + 4 + len(msg) + len(c.receiveID)
	pad := 32 - plainLen%32
	buf := make([]byte, plainLen+pad)
	copy(buf, random[:])
	binary.BigEndian.PutUint32(buf[16:20], uint32(len(msg)))
	copy(buf[20:], msg)
	copy(buf[20+len(msg):], c.receiveID)
	for i := plainLen; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf)
}

// Reply builds the encrypted passive-reply envelope WeCom expects in the
// response body of a callback POST.
func (c *Crypter) Reply(msg []byte, timestamp, nonce string) ([]byte, error) {
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, err
	}
	sig := c.Signature(timestamp, nonce, enc)
	var b bytes.Buffer
	b.Grow(len(enc) + 200)
	b.WriteString("<xml><Encrypt><![CDATA[")
	b.WriteString(enc)
	b.WriteString("]]></Encrypt><MsgSignature><![CDATA[")
	b.WriteString(sig)
	b.WriteString("]]></MsgSignature><TimeStamp>")
	b.WriteString(timestamp)
	b.WriteString("</TimeStamp><Nonce><![CDATA[")
	b.WriteString(nonce)
	b.WriteString("]]></Nonce></xml>")
	return b.Bytes(), nil
}

// OpenReply verifies and decrypts a passive reply envelope (the simulator and
// tests read replies the way the WeCom server would).
func (c *Crypter) OpenReply(body []byte) ([]byte, error) {
	env, err := parseEnvelope(body)
	if err != nil {
		return nil, err
	}
	if env.MsgSignature == nil {
		return nil, cryptoErr(ErrXML, "no MsgSignature element")
	}
	sig := bytes.TrimSpace(env.MsgSignature)
	ts, nonce := bytes.TrimSpace(env.TimeStamp), bytes.TrimSpace(env.Nonce)
	if err := c.verify(unsafeString(sig), unsafeString(ts), unsafeString(nonce), unsafeString(env.Encrypt)); err != nil {
		return nil, err
	}
	return c.decryptBytes(env.Encrypt)
}

// Seal builds a callback POST the way the WeCom server does: the envelope
// body and the msg_signature for the query. agentID may be empty for
// callbacks that are not app-related (contacts changes).
func (c *Crypter) Seal(msg []byte, agentID, timestamp, nonce string) (body []byte, msgSignature string, err error) {
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	b.Grow(len(enc) + 160)
	b.WriteString("<xml><ToUserName><![CDATA[")
	b.WriteString(c.receiveID)
	b.WriteString("]]></ToUserName>")
	if agentID != "" {
		b.WriteString("<AgentID><![CDATA[")
		b.WriteString(agentID)
		b.WriteString("]]></AgentID>")
	}
	b.WriteString("<Encrypt><![CDATA[")
	b.WriteString(enc)
	b.WriteString("]]></Encrypt></xml>")
	return b.Bytes(), c.Signature(timestamp, nonce, enc), nil
}

// EnvelopeEncrypt extracts the Encrypt element of a callback or reply
// envelope, trimmed of surrounding whitespace. Malformed XML, a missing or an
// empty Encrypt match ErrXML.
// The result may alias body.
func EnvelopeEncrypt(body []byte) ([]byte, error) {
	if enc, ok := fastEnvelope(body); ok {
		return enc, nil
	}
	env, err := parseEnvelope(body)
	if err != nil {
		return nil, err
	}
	return env.Encrypt, nil
}

// fastEnvelope reads the envelope exactly as WeCom writes it — "<xml>", then
// elements holding one CDATA section or plain text of printable ASCII, then
// "</xml>", nothing else — and returns its one non-empty Encrypt. Anything
// else (whitespace, comments, entities, attributes, nesting, a second
// Encrypt) returns false and goes through encoding/xml. Why: encoding/xml
// reads the long base64 Encrypt byte by byte through an interface, a tenth
// of a callback's CPU; this grammar admits only documents encoding/xml
// reads the same way, which FuzzOpenAndParse checks on every input.
func fastEnvelope(body []byte) (enc []byte, ok bool) {
	rest, ok := bytes.CutPrefix(body, []byte("<xml>"))
	if !ok {
		return nil, false
	}
	for {
		if len(rest) == len("</xml>") && string(rest) == "</xml>" {
			return enc, len(enc) > 0
		}
		// <Name>
		end := bytes.IndexByte(rest, '>')
		if len(rest) < 3 || rest[0] != '<' || end < 2 || !envelopeName(rest[1:end]) {
			return nil, false
		}
		name := rest[1:end]
		rest = rest[end+1:]
		var text []byte
		if c, isCDATA := bytes.CutPrefix(rest, []byte("<![CDATA[")); isCDATA {
			i := bytes.Index(c, []byte("]]>"))
			if i < 0 {
				return nil, false
			}
			text, rest = c[:i], c[i+3:]
		} else {
			i := bytes.IndexByte(rest, '<')
			if i < 0 {
				return nil, false
			}
			text, rest = rest[:i], rest[i:]
			if bytes.ContainsAny(text, "&>") {
				return nil, false
			}
		}
		for _, b := range text {
			if b <= ' ' || b > '~' {
				return nil, false
			}
		}
		// </Name>
		n := len(name)
		if len(rest) < n+3 || rest[0] != '<' || rest[1] != '/' || !bytes.Equal(rest[2:2+n], name) || rest[2+n] != '>' {
			return nil, false
		}
		rest = rest[n+3:]
		if string(name) == "Encrypt" {
			if enc != nil {
				return nil, false
			}
			enc = text[:len(text):len(text)]
		}
	}
}

// envelopeName accepts the element names WeCom uses: a letter, then letters,
// digits and underscores.
func envelopeName(b []byte) bool {
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return len(b) > 0
}

// envelope is the outer XML of a callback POST (ToUserName, AgentID,
// Encrypt) and of an encrypted passive reply (Encrypt, MsgSignature,
// TimeStamp, Nonce). []byte fields: nil tells a missing element from an
// empty one, and the decoder hands over a fresh slice.
type envelope struct {
	Encrypt      []byte
	MsgSignature []byte
	TimeStamp    []byte
	Nonce        []byte
}

func parseEnvelope(body []byte) (*envelope, error) {
	env := new(envelope)
	if err := decodeXML(body, env); err != nil {
		return nil, cryptoErr(ErrXML, "%v", err)
	}
	if env.Encrypt == nil {
		return nil, cryptoErr(ErrXML, "no Encrypt element")
	}
	env.Encrypt = bytes.TrimSpace(env.Encrypt)
	if len(env.Encrypt) == 0 {
		return nil, cryptoErr(ErrXML, "empty Encrypt element")
	}
	return env, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
