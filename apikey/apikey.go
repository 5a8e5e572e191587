package apikey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
)

// The request headers of the ingest API.
const (
	HeaderKey       = "X-Wecomapp-Key"
	HeaderTimestamp = "X-Wecomapp-Timestamp"
	HeaderNonce     = "X-Wecomapp-Nonce"
	HeaderSignature = "X-Wecomapp-Signature"
)

// Verification windows.
const (
	// MaxSkew is how far a request's timestamp may be from our clock,
	// either way.
	MaxSkew = 5 * time.Minute
	// NonceTTL is how long a nonce is remembered: every timestamp still
	// accepted is younger than it.
	NonceTTL = 2 * MaxSkew
)

// Nonce length bounds: long enough not to collide by chance (a random
// 16 bytes in hex is 32), short enough for a coordination key.
const (
	MinNonce = 8
	MaxNonce = 128
)

// Kinds of refusal, for errors.Is; the error is an *Error.
var (
	// ErrUnauthorized: no such key, a revoked key, a bad signature, a stale
	// or future timestamp, or authentication headers missing (401).
	ErrUnauthorized = errors.New("apikey: not authenticated")
	// ErrReplay: the nonce was used with this key already (409).
	ErrReplay = errors.New("apikey: nonce already used")
	// ErrRateLimited: over the key's rate (429); Error.RetryAfter says
	// when a token is due.
	ErrRateLimited = errors.New("apikey: over the key's rate limit")
	// ErrOutOfScope: a recipient the key's scope does not reach (403).
	ErrOutOfScope = errors.New("apikey: recipient outside the key's scope")
	// ErrUnavailable: the coordination layer did not answer, so the nonce
	// or rate could not be checked (503; the request may be re-sent with a
	// fresh nonce).
	ErrUnavailable = errors.New("apikey: coordination layer unavailable")
	// ErrInvalid: a key to create is not valid (Create).
	ErrInvalid = errors.New("apikey: invalid key")
)

// Error is a refused request or key: Kind is one of the Err values, Field
// the header or field at fault ("" for none), Msg what is wrong in words
// safe to show the caller.
type Error struct {
	Kind       error
	Field      string
	Msg        string
	RetryAfter time.Duration // ErrRateLimited, ErrUnavailable
}

func (e *Error) Error() string {
	if e.Field != "" {
		return "apikey: " + e.Field + ": " + e.Msg
	}
	return "apikey: " + e.Msg
}

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1,
// for a Retry-After header.
func (e *Error) RetryAfterSeconds() int { return retryAfterSeconds(e.RetryAfter) }

func refuse(kind error, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Key is an API key as everyone but Verify sees it: no secret.
type Key struct {
	ID         string    `json:"key_id"`
	System     string    `json:"system"`
	Scope      Scope     `json:"-"`
	Rate       Rate      `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Producer is the name the key's messages are submitted under.
func (k *Key) Producer() string { return "api:" + k.System }

// Revoked says whether the key was revoked.
func (k *Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// Options builds Keys.
type Options struct {
	DB *store.DB
	// Coord remembers nonces and holds the rate buckets; with several
	// instances it must be the shared one (Redis).
	Coord coord.Store
	// Now is the clock timestamps are checked against; nil is time.Now.
	Now    func() time.Time
	Logger *zap.Logger
}

// Keys creates, lists and revokes API keys and verifies requests signed
// with them. It is safe for concurrent use.
type Keys struct {
	db    *store.DB
	coord coord.Store
	now   func() time.Time
	log   *zap.Logger
}

// New checks the options and builds Keys.
func New(o Options) (*Keys, error) {
	if o.DB == nil || o.Coord == nil {
		return nil, errors.New("apikey: a DB and a coordination store are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return &Keys{db: o.DB, coord: o.Coord, now: o.Now, log: o.Logger.Named("apikey")}, nil
}

// Spec is a key to create.
type Spec struct {
	System string
	Scope  Scope
	Rate   Rate // zero: DefaultRate
}

// validSystem: the producer "api:<system>" is a name in logs, metrics and
// the console, and fits outbox_messages.producer.
func validSystem(s string) bool {
	if s == "" || len(s) > store.APIKeySystemMax {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Create makes a key for spec.System and returns it with its secret, the
// only time the secret is seen: it is stored sealed and never shown
// again. The creation is audited (apikey.create, without the secret) in
// the same transaction. A spec that is not valid is an *Error of kind
// ErrInvalid naming the field (system, scope, rate).
func (k *Keys) Create(ctx context.Context, actor store.Actor, spec Spec) (Key, string, error) {
	if !validSystem(spec.System) {
		return Key{}, "", refuse(ErrInvalid, "system", "%q must be 1 to %d of A-Z a-z 0-9 - _ .", spec.System, store.APIKeySystemMax)
	}
	// Through its text form, as it is stored, so a scope built in code is
	// checked as a typed one is and is sure to read back.
	sc, err := ParseScope(spec.Scope.String())
	if err != nil {
		return Key{}, "", refuse(ErrInvalid, "scope", "%v", err)
	}
	spec.Scope = sc
	if len(spec.Scope.String()) > store.APIKeyScopeMax {
		return Key{}, "", refuse(ErrInvalid, "scope", "the scope is longer than %d characters", store.APIKeyScopeMax)
	}
	if spec.Rate == (Rate{}) {
		spec.Rate = DefaultRate
	}
	if err := spec.Rate.check(); err != nil {
		return Key{}, "", refuse(ErrInvalid, "rate", "%d per %s: %v", spec.Rate.N, spec.Rate.Per, err)
	}
	// A role that does not exist is a typo: the key could never reach it.
	for _, r := range spec.Scope.Roles {
		if _, err := k.db.WBRole(ctx, nil, r); errors.Is(err, store.ErrNotFound) {
			return Key{}, "", refuse(ErrInvalid, "scope", "no workbench role %q", r)
		} else if err != nil {
			return Key{}, "", fmt.Errorf("apikey: create key for %s: %w", spec.System, err)
		}
	}
	id, secret, err := newCredentials()
	if err != nil {
		return Key{}, "", fmt.Errorf("apikey: create key for %s: %w", spec.System, err)
	}
	now := k.now().UTC().Truncate(time.Millisecond)
	key := Key{ID: id, System: spec.System, Scope: spec.Scope, Rate: spec.Rate, CreatedAt: now, CreatedBy: actor.UserID}
	err = k.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := k.db.InsertAPIKey(ctx, tx, store.APIKey{
			KeyID: id, System: spec.System, Secret: secret, Scope: spec.Scope.String(),
			RateN: spec.Rate.N, RatePer: int(spec.Rate.Per / time.Second), CreatedAt: now, CreatedBy: actor.UserID,
		}); err != nil {
			return err
		}
		return k.audit(ctx, tx, actor, "apikey.create", nil, &key, now)
	})
	if err != nil {
		return Key{}, "", fmt.Errorf("apikey: create key for %s: %w", spec.System, err)
	}
	return key, secret, nil
}

// newCredentials makes a key id ("ak_" and 16 hex digits) and a secret
// (32 random bytes, base64url: 43 characters a shell needs no quoting for).
func newCredentials() (id, secret string, err error) {
	var b [8 + 32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random: %w", err)
	}
	return "ak_" + hex.EncodeToString(b[:8]), base64.RawURLEncoding.EncodeToString(b[8:]), nil
}

// List returns every key, revoked ones included, oldest first.
func (k *Keys) List(ctx context.Context) ([]Key, error) {
	rows, err := k.db.ListAPIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("apikey: list: %w", err)
	}
	out := make([]Key, 0, len(rows))
	for _, r := range rows {
		key, err := fromStore(r)
		if err != nil {
			return nil, fmt.Errorf("apikey: list: %w", err)
		}
		out = append(out, key)
	}
	return out, nil
}

// Revoke revokes the key at once: its next request is refused on every
// instance. It returns the key and whether this call revoked it (false:
// it was revoked already, and nothing is written). The revocation is
// audited (apikey.revoke) in the same transaction. An unknown key wraps
// store.ErrNotFound.
func (k *Keys) Revoke(ctx context.Context, actor store.Actor, id string) (Key, bool, error) {
	var (
		key     Key
		revoked bool
	)
	now := k.now().UTC().Truncate(time.Millisecond)
	err := k.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		r, err := k.db.GetAPIKey(ctx, tx, id)
		if err != nil {
			return err
		}
		if key, err = fromStore(r); err != nil {
			return err
		}
		if key.Revoked() {
			return nil
		}
		if revoked, err = k.db.RevokeAPIKey(ctx, tx, id, actor.UserID, now); err != nil || !revoked {
			return err
		}
		before := key
		key.RevokedAt, key.RevokedBy = now, actor.UserID
		return k.audit(ctx, tx, actor, "apikey.revoke", &before, &key, now)
	})
	if err != nil {
		return Key{}, false, fmt.Errorf("apikey: revoke %s: %w", id, err)
	}
	return key, revoked, nil
}

// auditKey is a key as the audit log records it: never the secret.
type auditKey struct {
	Key
	Scope string `json:"scope"`
	Rate  string `json:"rate"`
}

func (k *Keys) audit(ctx context.Context, tx *sqlx.Tx, actor store.Actor, action string, before, after *Key, at time.Time) error {
	view := func(key *Key) *auditKey {
		if key == nil {
			return nil
		}
		return &auditKey{Key: *key, Scope: key.Scope.String(), Rate: key.Rate.String()}
	}
	id := after.ID
	e, err := store.Audit(actor, action, "apikey/"+id, view(before), view(after), at)
	if err != nil {
		return err
	}
	return k.db.InsertAudit(ctx, tx, e)
}

func fromStore(r store.APIKey) (Key, error) {
	sc, err := ParseScope(r.Scope)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: stored scope: %w", r.KeyID, err)
	}
	return Key{ID: r.KeyID, System: r.System, Scope: sc, Rate: Rate{N: r.RateN, Per: time.Duration(r.RatePer) * time.Second},
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, RevokedAt: r.RevokedAt, RevokedBy: r.RevokedBy, LastUsedAt: r.LastUsedAt}, nil
}

// Request is what Verify checks: the four authentication headers as sent
// and the raw body.
type Request struct {
	KeyID, Timestamp, Nonce, Signature string
	Body                               []byte
}

// Sign is the signature of a request with secret: lowercase hex of
// HMAC-SHA256 over timestamp + "\n" + nonce + "\n" + body. Producers' code
// and tests use it; Verify compares with it.
func Sign(secret, timestamp, nonce string, body []byte) string {
	return hex.EncodeToString(mac(secret, timestamp, nonce, body))
}

func mac(secret, timestamp, nonce string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'\n'})
	m.Write([]byte(nonce))
	m.Write([]byte{'\n'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify authenticates a request (see the package doc for the order) and
// returns its key. A refusal is an *Error (ErrUnauthorized, ErrReplay,
// ErrRateLimited, ErrUnavailable); any other error is the store's.
func (k *Keys) Verify(ctx context.Context, r Request) (*Key, error) {
	if err := checkHeaders(r); err != nil {
		return nil, err
	}
	rec, err := k.db.GetAPIKeySecret(ctx, r.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(ErrUnauthorized, HeaderKey, "unknown key")
	}
	if err != nil {
		return nil, fmt.Errorf("apikey: verify %s: %w", r.KeyID, err)
	}
	key, err := fromStore(rec)
	if err != nil {
		return nil, fmt.Errorf("apikey: verify: %w", err)
	}
	if key.Revoked() {
		return nil, refuse(ErrUnauthorized, HeaderKey, "key %s was revoked", key.ID)
	}
	now := k.now()
	ts, _ := strconv.ParseInt(r.Timestamp, 10, 64) // checkHeaders: digits
	if skew := now.Sub(time.Unix(ts, 0)); skew > MaxSkew || skew < -MaxSkew {
		return nil, refuse(ErrUnauthorized, HeaderTimestamp, "timestamp %s is %s off the server's clock (%d); at most %s is accepted",
			r.Timestamp, skew.Abs().Round(time.Second), now.Unix(), MaxSkew)
	}
	got, err := hex.DecodeString(r.Signature)
	if err != nil || !hmac.Equal(got, mac(rec.Secret, r.Timestamp, r.Nonce, r.Body)) {
		return nil, refuse(ErrUnauthorized, HeaderSignature, "signature does not match: it is lowercase hex of HMAC-SHA256 with the key's secret over timestamp, newline, nonce, newline, body")
	}
	fresh, err := k.coord.SetNX(ctx, "apikey:nonce:"+key.ID+":"+r.Nonce, []byte{'1'}, NonceTTL)
	if err != nil {
		k.log.Warn("nonce not checked: coordination layer failed", zap.String("key_id", key.ID), zap.Error(err))
		return nil, &Error{Kind: ErrUnavailable, Msg: "cannot check the nonce now; send the request again with a fresh nonce", RetryAfter: 5 * time.Second}
	}
	if !fresh {
		return nil, refuse(ErrReplay, HeaderNonce, "nonce already used with this key")
	}
	ok, wait, err := k.coord.Allow(ctx, "apikey:rate:"+key.ID, key.Rate.Limit())
	if err != nil {
		k.log.Warn("rate not checked: coordination layer failed", zap.String("key_id", key.ID), zap.Error(err))
		return nil, &Error{Kind: ErrUnavailable, Msg: "cannot check the rate limit now; send the request again with a fresh nonce", RetryAfter: 5 * time.Second}
	}
	if !ok {
		return nil, &Error{Kind: ErrRateLimited, Msg: fmt.Sprintf("over this key's rate limit of %s", key.Rate), RetryAfter: wait}
	}
	if now.Sub(key.LastUsedAt) >= time.Minute {
		// Bookkeeping for wecomapp apikey list; a failure must not refuse
		// an authentic request.
		if err := k.db.TouchAPIKey(ctx, key.ID, now); err != nil {
			k.log.Warn("last use of key not recorded", zap.String("key_id", key.ID), zap.Error(err))
		}
	}
	return &key, nil
}

// checkHeaders refuses a request missing an authentication header or
// carrying one that cannot be right, before anything is looked up.
func checkHeaders(r Request) error {
	for _, h := range []struct{ name, v string }{
		{HeaderKey, r.KeyID}, {HeaderTimestamp, r.Timestamp}, {HeaderNonce, r.Nonce}, {HeaderSignature, r.Signature},
	} {
		if h.v == "" {
			return refuse(ErrUnauthorized, h.name, "header %s is missing", h.name)
		}
	}
	if len(r.KeyID) > store.APIKeyIDMax {
		return refuse(ErrUnauthorized, HeaderKey, "unknown key")
	}
	if len(r.Timestamp) > 12 || strings.Trim(r.Timestamp, "0123456789") != "" {
		return refuse(ErrUnauthorized, HeaderTimestamp, "%s is Unix time in seconds, digits only", HeaderTimestamp)
	}
	if len(r.Nonce) < MinNonce || len(r.Nonce) > MaxNonce || strings.IndexFunc(r.Nonce, func(c rune) bool { return c < '!' || c > '~' }) >= 0 {
		return refuse(ErrUnauthorized, HeaderNonce, "the nonce must be %d to %d printable ASCII characters without spaces (e.g. 32 random hex digits)", MinNonce, MaxNonce)
	}
	if len(r.Signature) != 2*sha256.Size {
		return refuse(ErrUnauthorized, HeaderSignature, "the signature must be %d lowercase hex digits", 2*sha256.Size)
	}
	return nil
}

// Permits checks every recipient of to against the key's scope. The first
// recipient outside it is an *Error of kind ErrOutOfScope naming it; any
// other error is the store's (reading the department tree).
func (k *Keys) Permits(ctx context.Context, key *Key, to notify.Recipients) error {
	s := key.Scope
	if s.All {
		return nil
	}
	if to.All {
		return refuse(ErrOutOfScope, "to.all", "the whole university is outside this key's scope (%s)", s)
	}
	if !s.AnyUser {
		for _, u := range to.UserIDs {
			if !slices.ContainsFunc(s.UserIDs, func(v string) bool { return strings.EqualFold(u, v) }) {
				return refuse(ErrOutOfScope, "to.userids", "userid %q is outside this key's scope (%s)", u, s)
			}
		}
	}
	for _, t := range to.Tags {
		if !slices.Contains(s.Tags, t) {
			return refuse(ErrOutOfScope, "to.tags", "tag %d is outside this key's scope (%s)", t, s)
		}
	}
	for _, r := range to.Roles {
		if !slices.Contains(s.Roles, r) {
			return refuse(ErrOutOfScope, "to.roles", "role %q is outside this key's scope (%s)", r, s)
		}
	}
	if len(to.Mobiles) > 0 && !s.Mobiles {
		return refuse(ErrOutOfScope, "to.mobiles", "mobile numbers (SMS) are outside this key's scope (%s)", s)
	}
	for _, d := range to.Departments {
		in, err := k.departmentWithin(ctx, d.ID, s.Departments)
		if err != nil {
			return fmt.Errorf("apikey: scope of %s: %w", key.ID, err)
		}
		if !in {
			return refuse(ErrOutOfScope, "to.departments", "department %d is outside this key's scope (%s)", d.ID, s)
		}
	}
	return nil
}

// maxDepartmentDepth bounds the walk up the tree; WeCom's is at most 15
// levels deep, so a longer walk is a loop in a damaged mirror.
const maxDepartmentDepth = 32

// departmentWithin says whether department id is one of allowed or below
// one of them, as the contacts mirror records the tree. A department the
// mirror does not know (created in WeCom's console) is within only if it
// is listed itself.
func (k *Keys) departmentWithin(ctx context.Context, id int64, allowed []int64) (bool, error) {
	if len(allowed) == 0 {
		return false, nil
	}
	for range maxDepartmentDepth {
		if slices.Contains(allowed, id) {
			return true, nil
		}
		d, err := k.db.GetMirrorDepartment(ctx, nil, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if d.ParentID <= 0 || d.ParentID == id {
			return false, nil
		}
		id = d.ParentID
	}
	return false, nil
}

// Record remembers that key submitted (or was answered, as a duplicate)
// message id, so that Owns lets it read the results.
func (k *Keys) Record(ctx context.Context, key *Key, id int64) error {
	if err := k.db.RecordAPIKeyMessage(ctx, key.ID, id, k.now()); err != nil {
		return fmt.Errorf("apikey: %w", err)
	}
	return nil
}

// Owns says whether key submitted message id.
func (k *Keys) Owns(ctx context.Context, key *Key, id int64) (bool, error) {
	ok, err := k.db.APIKeyHasMessage(ctx, key.ID, id)
	if err != nil {
		return false, fmt.Errorf("apikey: %w", err)
	}
	return ok, nil
}
