package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// API keys (api_keys) of the ingest API, and the messages each key
// submitted (api_key_messages). Package apikey is the domain view: what a
// scope and a rate mean, how a request is verified.

// APIKeySecret is a key's HMAC secret: sealed, so that a copy of the
// database (a backup, a replica) does not let anyone sign requests.
var APIKeySecret = SealedColumn{Table: "api_keys", Key: "id", Column: "secret"}

// Bounds of what api_keys holds.
const (
	APIKeyIDMax     = 32
	APIKeySystemMax = 60 // "api:" + system fits outbox_messages.producer (64)
	APIKeySecretMax = 128
	APIKeyScopeMax  = 2048
)

// APIKey is one row of api_keys. Secret is the plaintext: set when
// inserting and opened by GetAPIKeySecret; empty from GetAPIKey and
// ListAPIKeys.
type APIKey struct {
	KeyID      string
	System     string
	Secret     string
	Scope      string // apikey.Scope's text form
	RateN      int    // requests allowed per RatePer seconds
	RatePer    int
	CreatedAt  time.Time
	CreatedBy  string
	RevokedAt  time.Time // zero: in force
	RevokedBy  string
	LastUsedAt time.Time // zero: never used
}

type apiKeyRow struct {
	KeyID      string `db:"key_id"`
	System     string `db:"system_name"`
	Secret     []byte `db:"secret"`
	Scope      string `db:"scope"`
	RateN      int    `db:"rate_n"`
	RatePer    int    `db:"rate_per"`
	CreatedAt  int64  `db:"created_at"`
	CreatedBy  string `db:"created_by"`
	RevokedAt  int64  `db:"revoked_at"`
	RevokedBy  string `db:"revoked_by"`
	LastUsedAt int64  `db:"last_used_at"`
}

func (r apiKeyRow) key() APIKey {
	k := APIKey{KeyID: r.KeyID, System: r.System, Scope: r.Scope, RateN: r.RateN, RatePer: r.RatePer,
		CreatedAt: Time(r.CreatedAt), CreatedBy: r.CreatedBy, RevokedBy: r.RevokedBy}
	if r.RevokedAt > 0 {
		k.RevokedAt = Time(r.RevokedAt)
	}
	if r.LastUsedAt > 0 {
		k.LastUsedAt = Time(r.LastUsedAt)
	}
	return k
}

const apiKeyCols = `key_id, system_name, scope, rate_n, rate_per, created_at, created_by, revoked_at, revoked_by, last_used_at`

// InsertAPIKey stores a new key through q (the tx that also writes the
// audit row), its secret sealed. A key id that exists wraps ErrConflict;
// a DB without a Sealer fails with ErrNoSealer, writing nothing.
func (db *DB) InsertAPIKey(ctx context.Context, q sqlx.ExtContext, k APIKey) error {
	switch {
	case k.KeyID == "" || len(k.KeyID) > APIKeyIDMax:
		return fmt.Errorf("store: insert api key: key id %q must be 1 to %d bytes", k.KeyID, APIKeyIDMax)
	case k.System == "" || len(k.System) > APIKeySystemMax:
		return fmt.Errorf("store: insert api key %s: system %q must be 1 to %d bytes", k.KeyID, k.System, APIKeySystemMax)
	case k.Secret == "" || len(k.Secret) > APIKeySecretMax:
		return fmt.Errorf("store: insert api key %s: the secret must be 1 to %d bytes", k.KeyID, APIKeySecretMax)
	case len(k.Scope) > APIKeyScopeMax:
		return fmt.Errorf("store: insert api key %s: the scope is longer than %d bytes", k.KeyID, APIKeyScopeMax)
	case k.RateN <= 0 || k.RatePer <= 0:
		return fmt.Errorf("store: insert api key %s: rate %d per %ds is not positive", k.KeyID, k.RateN, k.RatePer)
	}
	secret, err := db.seal(APIKeySecret, []byte(k.Secret))
	if err != nil {
		return fmt.Errorf("store: insert api key %s: %w", k.KeyID, err)
	}
	if q == nil {
		q = db.DB
	}
	_, err = q.ExecContext(ctx, db.Rebind(`INSERT INTO api_keys (key_id, system_name, secret, scope, rate_n, rate_per, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), k.KeyID, k.System, secret, k.Scope, k.RateN, k.RatePer, Millis(k.CreatedAt), k.CreatedBy)
	if IsUniqueViolation(err) {
		return fmt.Errorf("store: insert api key %s: %w", k.KeyID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: insert api key %s: %w", k.KeyID, err)
	}
	return nil
}

// GetAPIKey reads one key, without its secret, through q (nil: the pool;
// a tx on MySQL locks the row until it ends). A missing key wraps
// ErrNotFound.
func (db *DB) GetAPIKey(ctx context.Context, q sqlx.QueryerContext, keyID string) (APIKey, error) {
	query := `SELECT ` + apiKeyCols + ` FROM api_keys WHERE key_id = ?`
	if q == nil {
		q = db.DB
	} else if _, inTx := q.(*sqlx.Tx); inTx {
		query += db.forUpdate()
	}
	var r apiKeyRow
	if err := sqlx.GetContext(ctx, q, &r, db.Rebind(query), keyID); err != nil {
		return APIKey{}, notFound(err, "store: api key %s", keyID)
	}
	return r.key(), nil
}

// GetAPIKeySecret reads one key with its secret opened, from the pool, to
// verify a request. A missing key wraps ErrNotFound; a secret that does
// not open fails with the seal error (IsSealError), never the value.
func (db *DB) GetAPIKeySecret(ctx context.Context, keyID string) (APIKey, error) {
	if err := db.needSealer("get api key", APIKeySecret); err != nil {
		return APIKey{}, err
	}
	var r apiKeyRow
	if err := db.GetContext(ctx, &r, db.Rebind(`SELECT `+apiKeyCols+`, secret FROM api_keys WHERE key_id = ?`), keyID); err != nil {
		return APIKey{}, notFound(err, "store: api key %s", keyID)
	}
	secret, err := db.open(APIKeySecret, r.Secret)
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key %s: %w", keyID, err)
	}
	k := r.key()
	k.Secret = string(secret)
	return k, nil
}

// ListAPIKeys lists every key, revoked ones included, oldest first,
// without their secrets.
func (db *DB) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var rows []apiKeyRow
	if err := db.SelectContext(ctx, &rows, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY id`); err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// RevokeAPIKey marks the key revoked by `by` at `at`, through q, and
// reports whether it did: false for a key already revoked. A missing key
// wraps ErrNotFound.
func (db *DB) RevokeAPIKey(ctx context.Context, q sqlx.ExtContext, keyID, by string, at time.Time) (bool, error) {
	if q == nil {
		q = db.DB
	}
	n, err := execCount(ctx, q, db.Rebind(`UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ? AND revoked_at = 0`),
		Millis(at), by, keyID)
	if err != nil {
		return false, fmt.Errorf("store: revoke api key %s: %w", keyID, err)
	}
	if n > 0 {
		return true, nil
	}
	var one int
	if err := sqlx.GetContext(ctx, q, &one, db.Rebind(`SELECT 1 FROM api_keys WHERE key_id = ?`), keyID); err != nil {
		return false, notFound(err, "store: revoke api key %s", keyID)
	}
	return false, nil
}

// TouchAPIKey records that the key was used at `at`, unless a use within
// the minute before is recorded already: one write a minute per key at
// most, whatever the request rate.
func (db *DB) TouchAPIKey(ctx context.Context, keyID string, at time.Time) error {
	_, err := db.ExecContext(ctx, db.Rebind(`UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND last_used_at < ?`),
		Millis(at), keyID, Millis(at.Add(-time.Minute)))
	if err != nil {
		return fmt.Errorf("store: touch api key %s: %w", keyID, err)
	}
	return nil
}

// RecordAPIKeyMessage records that the key submitted (or was answered,
// as a duplicate) message messageID. Recording it again is not an error.
func (db *DB) RecordAPIKeyMessage(ctx context.Context, keyID string, messageID int64, at time.Time) error {
	insert := `INSERT INTO api_key_messages (key_id, message_id, created_at) VALUES (?, ?, ?)`
	if db.dialect == MySQL {
		insert += " ON DUPLICATE KEY UPDATE key_id = key_id" // not INSERT IGNORE: that hides other errors
	} else {
		insert += " ON CONFLICT (key_id, message_id) DO NOTHING"
	}
	if _, err := db.ExecContext(ctx, db.Rebind(insert), keyID, messageID, Millis(at)); err != nil {
		return fmt.Errorf("store: record message %d of api key %s: %w", messageID, keyID, err)
	}
	return nil
}

// APIKeyHasMessage reports whether the key submitted message messageID.
func (db *DB) APIKeyHasMessage(ctx context.Context, keyID string, messageID int64) (bool, error) {
	var n int
	err := db.GetContext(ctx, &n, db.Rebind(`SELECT COUNT(*) FROM api_key_messages WHERE key_id = ? AND message_id = ?`), keyID, messageID)
	if err != nil {
		return false, fmt.Errorf("store: message %d of api key %s: %w", messageID, keyID, err)
	}
	return n > 0, nil
}
