package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func TestAPIKeysRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		const secret = "wyUlzEvuQDy_5LyBMV0GaQzegcpwPtTB3IIATprI7Ug"
		k := store.APIKey{KeyID: "ak_1b72f05496043176", System: "oa", Secret: secret, Scope: "tags:12,13", RateN: 60, RatePer: 60, CreatedAt: at, CreatedBy: "cli:ops"}
		if err := db.InsertAPIKey(ctx, nil, k); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertAPIKey(ctx, nil, k); !errors.Is(err, store.ErrConflict) {
			t.Errorf("the same key id again: %v, want ErrConflict", err)
		}
		got, err := db.GetAPIKeySecret(ctx, k.KeyID)
		if err != nil || got.Secret != secret || got.System != "oa" || got.Scope != "tags:12,13" || got.RateN != 60 || got.RatePer != 60 ||
			!got.CreatedAt.Equal(at) || got.CreatedBy != "cli:ops" || !got.RevokedAt.IsZero() || !got.LastUsedAt.IsZero() {
			t.Fatalf("GetAPIKeySecret = %+v, %v", got, err)
		}
		if got, err := db.GetAPIKey(ctx, nil, k.KeyID); err != nil || got.Secret != "" || got.System != "oa" {
			t.Errorf("GetAPIKey = %+v, %v; want the key without its secret", got, err)
		}
		if _, err := db.GetAPIKeySecret(ctx, "ak_none"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown key: %v", err)
		}
		storetest.NoPlaintext(t, db, "api_keys", secret)

		// Last use: recorded, then not rewritten within the minute.
		if err := db.TouchAPIKey(ctx, k.KeyID, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchAPIKey(ctx, k.KeyID, at.Add(time.Hour+30*time.Second)); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListAPIKeys(ctx)
		if err != nil || len(list) != 1 || list[0].Secret != "" || !list[0].LastUsedAt.Equal(at.Add(time.Hour)) {
			t.Fatalf("ListAPIKeys = %+v, %v", list, err)
		}

		// Revoke once; again says it did nothing; unknown is ErrNotFound.
		if ok, err := db.RevokeAPIKey(ctx, nil, k.KeyID, "cli:li", at.Add(2*time.Hour)); err != nil || !ok {
			t.Fatalf("revoke: %v, %v", ok, err)
		}
		if ok, err := db.RevokeAPIKey(ctx, nil, k.KeyID, "cli:wang", at.Add(3*time.Hour)); err != nil || ok {
			t.Errorf("second revoke: %v, %v", ok, err)
		}
		if _, err := db.RevokeAPIKey(ctx, nil, "ak_none", "cli:li", at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoke unknown: %v", err)
		}
		if got, _ := db.GetAPIKey(ctx, nil, k.KeyID); !got.RevokedAt.Equal(at.Add(2*time.Hour)) || got.RevokedBy != "cli:li" {
			t.Errorf("revoked key reads %+v", got)
		}

		// Messages of a key: recorded twice is one, other keys see none.
		for range 2 {
			if err := db.RecordAPIKeyMessage(ctx, k.KeyID, 41, at); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			key  string
			id   int64
			want bool
		}{{k.KeyID, 41, true}, {k.KeyID, 42, false}, {"ak_other", 41, false}} {
			if got, err := db.APIKeyHasMessage(ctx, c.key, c.id); err != nil || got != c.want {
				t.Errorf("APIKeyHasMessage(%s, %d) = %v, %v", c.key, c.id, got, err)
			}
		}
	})
}

// TestAPIKeySecretRekeys: after a key rotation Rekey re-seals the secrets,
// and they open under the new key alone.
func TestAPIKeySecretRekeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		keyA, keyB := storetest.NewKey(), storetest.NewKey()
		sealer := func(keys ...[]byte) *store.Sealer {
			s, err := store.NewSealer(keys[0], keys[1:]...)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		k := store.APIKey{KeyID: "ak_rekey", System: "oa", Secret: "s3cret-value-of-the-key", Scope: "all", RateN: 1, RatePer: 1, CreatedAt: time.Now(), CreatedBy: "cli:ops"}
		if err := db.WithSealer(sealer(keyA)).InsertAPIKey(ctx, nil, k); err != nil {
			t.Fatal(err)
		}
		st, err := db.WithSealer(sealer(keyB, keyA)).Rekey(ctx, store.APIKeySecret, 100, nil)
		if err != nil || st.Resealed != 1 {
			t.Fatalf("Rekey = %+v, %v", st, err)
		}
		if got, err := db.WithSealer(sealer(keyB)).GetAPIKeySecret(ctx, k.KeyID); err != nil || got.Secret != k.Secret {
			t.Errorf("after rekey, under the new key alone: %+v, %v", got, err)
		}
		if _, err := db.WithSealer(sealer(keyA)).GetAPIKeySecret(ctx, k.KeyID); !store.IsSealError(err) {
			t.Errorf("after rekey, under the old key: %v, want a seal error", err)
		}
	})
}
