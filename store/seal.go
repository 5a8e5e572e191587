package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Sealed values.
//
// A sealed value is text, so that it fits a VARCHAR as well as a BLOB:
//
//	s1.<key id>.<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>
//
// The key id is the first 8 hex digits of SHA-256 of the data key, so a
// value names the key that opens it and keys can rotate without any id to
// configure. The associated data is the value's header plus its column
// ("table.column"): a value copied into another column, or its header
// edited, does not open.
const (
	sealPrefix   = "s1."
	sealKeyIDLen = 8
	sealNonceLen = 12
	sealTagLen   = 16
	// DataKeyLen is the length of a data key (AES-256).
	DataKeyLen = 32
)

// Errors of sealed values, wrapped with the column (and key id).
var (
	// ErrNoSealer is returned for any sealed column of a DB opened without
	// a Sealer (store.Options.Sealer).
	ErrNoSealer = errors.New("store: no data key (store.Options.Sealer is nil), so sealed columns can be neither written nor read")
	// ErrNotSealed is a value without the sealed header: plaintext in a
	// sealed column, written before the column was sealed (wecomapp rekey
	// seals it) or by something that bypassed the store.
	ErrNotSealed = errors.New("store: value is not sealed (plaintext from before the column was sealed: run wecomapp rekey)")
	// ErrUnknownKey is a value sealed under a key the Sealer does not have.
	ErrUnknownKey = errors.New("store: value is sealed under a key that is neither security.data_key nor in security.previous_data_keys")
	// ErrSealBroken is a sealed value that does not authenticate: one of
	// another column, or altered.
	ErrSealBroken = errors.New("store: sealed value does not authenticate (a value of another column, or altered)")
)

// Hash purposes with a normalisation of their own, so that the same phone
// number or ID number written two ways hashes the same.
const (
	// HashPhone: a phone number, normalised to E.164 (region CN by
	// default): 13800138000, 138-0013-8000 and +86 138 0013 8000 agree.
	HashPhone = "phone"
	// HashIDNumber: a Chinese resident ID number, spaces removed and the
	// check character x upper-cased.
	HashIDNumber = "id_number"
	// HashEmail: an email address, trimmed and lower-cased.
	HashEmail = "email"
)

// Sealer encrypts and authenticates column values with the current data
// key and opens values sealed under it or any previous key. It is safe for
// concurrent use. A nil *Sealer fails every call with ErrNoSealer.
type Sealer struct {
	current *sealKey
	byID    map[string]*sealKey
	all     []*sealKey // current first
}

type sealKey struct {
	id   string
	aead cipher.AEAD
	mac  []byte // HMAC-SHA256 key for Hash
}

// NewSealer builds a Sealer that seals under current and opens values
// sealed under current or any of previous (keys being rotated out; see
// wecomapp rekey). Each key is 32 bytes. A previous key equal to current is
// ignored.
func NewSealer(current []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{byID: map[string]*sealKey{}}
	for i, raw := range append([][]byte{current}, previous...) {
		k, err := newSealKey(raw)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("store: data key: %w", err)
			}
			return nil, fmt.Errorf("store: previous data key %d: %w", i, err)
		}
		if other, ok := s.byID[k.id]; ok {
			if hmac.Equal(other.mac, k.mac) {
				continue // the same key twice
			}
			// 1 in 4 billion: the two keys cannot be told apart by id.
			return nil, fmt.Errorf("store: previous data key %d has the same key id %s as another key; generate a new key", i, k.id)
		}
		s.byID[k.id] = k
		s.all = append(s.all, k)
	}
	s.current = s.all[0]
	return s, nil
}

func newSealKey(raw []byte) (*sealKey, error) {
	if len(raw) != DataKeyLen {
		return nil, fmt.Errorf("must be %d bytes, got %d", DataKeyLen, len(raw))
	}
	sum := sha256.Sum256(raw)
	// Separate keys for encryption and hashing, so a hash column never
	// says anything about the cipher's key.
	encKey, err := hkdf.Key(sha256.New, raw, nil, "wecomapp store seal aes-256-gcm v1", 32)
	if err != nil {
		return nil, err
	}
	macKey, err := hkdf.Key(sha256.New, raw, nil, "wecomapp store hash hmac-sha256 v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealKey{id: hex.EncodeToString(sum[:])[:sealKeyIDLen], aead: aead, mac: macKey}, nil
}

// CurrentKeyID is the id of the key Seal uses (8 hex digits).
func (s *Sealer) CurrentKeyID() string {
	if s == nil {
		return ""
	}
	return s.current.id
}

// KeyIDs lists the ids of every key the Sealer opens, current first.
func (s *Sealer) KeyIDs() []string {
	if s == nil {
		return nil
	}
	ids := make([]string, len(s.all))
	for i, k := range s.all {
		ids[i] = k.id
	}
	return ids
}

// Seal encrypts plain under the current key for the column named by aad
// ("table.column"), with a fresh random nonce: sealing a value twice gives
// two different texts.
func (s *Sealer) Seal(plain []byte, aad string) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("seal %s: %w", aad, ErrNoSealer)
	}
	if aad == "" {
		return nil, errors.New("store: seal: the column (associated data) is empty")
	}
	k := s.current
	header := sealPrefix + k.id + "."
	buf := make([]byte, sealNonceLen, sealNonceLen+len(plain)+sealTagLen)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("store: seal %s: nonce: %w", aad, err)
	}
	buf = k.aead.Seal(buf, buf[:sealNonceLen], plain, []byte(header+aad))
	out := make([]byte, len(header)+base64.RawURLEncoding.EncodedLen(len(buf)))
	copy(out, header)
	base64.RawURLEncoding.Encode(out[len(header):], buf)
	return out, nil
}

// Open decrypts a value sealed under any key of the Sealer for the column
// named by aad. It fails with ErrNotSealed for a value without the header,
// ErrUnknownKey for a key it does not have, and an authentication error
// for a value of another column or one that was altered. Errors never
// include the value.
func (s *Sealer) Open(sealed []byte, aad string) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("open %s: %w", aad, ErrNoSealer)
	}
	id, body, ok := splitSealed(sealed)
	if !ok {
		return nil, fmt.Errorf("open %s: %w", aad, ErrNotSealed)
	}
	k := s.byID[id]
	if k == nil {
		return nil, fmt.Errorf("open %s: key %s: %w", aad, id, ErrUnknownKey)
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(body)))
	n, err := base64.RawURLEncoding.Decode(raw, body)
	if err != nil || n < sealNonceLen+sealTagLen {
		return nil, fmt.Errorf("open %s: key %s: malformed: %w", aad, id, ErrSealBroken)
	}
	raw = raw[:n]
	header := sealed[:len(sealPrefix)+sealKeyIDLen+1]
	plain, err := k.aead.Open(nil, raw[:sealNonceLen], raw[sealNonceLen:], append(bytes.Clone(header), aad...))
	if err != nil {
		return nil, fmt.Errorf("open %s: key %s: %w", aad, id, ErrSealBroken)
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}

// SealedKeyID returns the key id in a sealed value's header, and false for
// a value without one (plaintext).
func SealedKeyID(v []byte) (string, bool) {
	id, _, ok := splitSealed(v)
	return id, ok
}

func splitSealed(v []byte) (id string, body []byte, ok bool) {
	if len(v) < len(sealPrefix)+sealKeyIDLen+1 || string(v[:len(sealPrefix)]) != sealPrefix || v[len(sealPrefix)+sealKeyIDLen] != '.' {
		return "", nil, false
	}
	idb := v[len(sealPrefix) : len(sealPrefix)+sealKeyIDLen]
	for _, c := range idb {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", nil, false
		}
	}
	return string(idb), v[len(sealPrefix)+sealKeyIDLen+1:], true
}

// SealedLen is the length of the sealed text of a plaintext of n bytes,
// for sizing a VARCHAR column: an 11-digit phone number seals to 64
// characters, an 18-character ID number to 74.
func SealedLen(n int) int {
	return len(sealPrefix) + sealKeyIDLen + 1 + base64.RawURLEncoding.EncodedLen(sealNonceLen+n+sealTagLen)
}

// Hash is a keyed HMAC-SHA256 (64 hex digits) of value for purpose, made
// with the current key, for a lookup column beside a sealed one: find a
// member by phone number without decrypting every row. The value is
// normalised by purpose first (HashPhone, HashIDNumber, HashEmail; other
// purposes are only trimmed), and the purpose is part of the input, so a
// phone hash never equals an ID-number hash. A nil Sealer returns "" (and
// every sealed write fails with ErrNoSealer anyway).
//
// A row's hash is made with the key its sealed value is under; wecomapp
// rekey recomputes both together. While keys rotate, look up with Hashes.
func (s *Sealer) Hash(purpose, value string) string {
	if s == nil {
		return ""
	}
	return s.current.hash(purpose, NormalizeForHash(purpose, value))
}

// Hashes is Hash under every key, current first: during a rotation a row
// not yet rekeyed still carries its old key's hash, so a lookup matches
// any of them (WHERE phone_hash IN (…)).
func (s *Sealer) Hashes(purpose, value string) []string {
	if s == nil {
		return nil
	}
	norm := NormalizeForHash(purpose, value)
	out := make([]string, len(s.all))
	for i, k := range s.all {
		out[i] = k.hash(purpose, norm)
	}
	return out
}

func (k *sealKey) hash(purpose, norm string) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(norm))
	return hex.EncodeToString(m.Sum(nil))
}

// NormalizeForHash is the form of value that Hash hashes for purpose.
func NormalizeForHash(purpose, value string) string {
	v := strings.TrimSpace(value)
	switch purpose {
	case HashPhone:
		return normalizePhone(v)
	case HashIDNumber:
		return strings.ToUpper(strings.Join(strings.Fields(v), ""))
	case HashEmail:
		return strings.ToLower(v)
	}
	return v
}

// normalizePhone gives E.164, reading numbers without a country code as
// Chinese; a value libphonenumber cannot parse loses only its separators
// (spaces, dashes, dots, parentheses), so it still hashes the same however
// it was spaced, and differently from another such value.
func normalizePhone(v string) string {
	if v == "" {
		return ""
	}
	if n, err := phonenumbers.Parse(v, "CN"); err == nil {
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '\t', '\u00a0':
			return -1
		}
		return r
	}, v)
}
