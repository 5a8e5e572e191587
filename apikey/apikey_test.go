package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/testenv"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

var (
	start = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	admin = store.Actor{UserID: "cli:ops"}
)

type rig struct {
	db    *store.DB
	clock *testenv.Clock
	keys  *apikey.Keys
}

func newRig(t *testing.T, db *store.DB) *rig {
	t.Helper()
	clock := testenv.NewClock(start)
	return &rig{db: db, clock: clock, keys: newKeys(t, db, coord.NewMemory(clock.Now), clock)}
}

func newKeys(t *testing.T, db *store.DB, co coord.Store, clock *testenv.Clock) *apikey.Keys {
	t.Helper()
	k, err := apikey.New(apikey.Options{DB: db, Coord: co, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (r *rig) create(t *testing.T, system, scope string, rate apikey.Rate) (apikey.Key, string) {
	t.Helper()
	sc, err := apikey.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := r.keys.Create(context.Background(), admin, apikey.Spec{System: system, Scope: sc, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

var nonces int

// signed is a request signed with secret at ts, with a fresh nonce.
func signed(keyID, secret string, ts time.Time, body string) apikey.Request {
	nonces++
	nonce := fmt.Sprintf("nonce-%08d", nonces)
	tss := strconv.FormatInt(ts.Unix(), 10)
	return apikey.Request{KeyID: keyID, Timestamp: tss, Nonce: nonce, Signature: apikey.Sign(secret, tss, nonce, []byte(body)), Body: []byte(body)}
}

func wantKind(t *testing.T, err, kind error, field string) {
	t.Helper()
	var ae *apikey.Error
	if !errors.Is(err, kind) || !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	if ae.Field != field {
		t.Errorf("refusal names field %q, want %q (%s)", ae.Field, field, ae.Msg)
	}
}

const body = `{"to":{"tags":[12]},"msgtype":"text","text":{"content":"停水通知"}}`

func TestVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		key, secret := r.create(t, "oa", "tags:12", apikey.Rate{})
		if !strings.HasPrefix(key.ID, "ak_") || len(secret) < 40 {
			t.Fatalf("key %q secret of %d characters", key.ID, len(secret))
		}

		got, err := r.keys.Verify(ctx, signed(key.ID, secret, start, body))
		if err != nil {
			t.Fatalf("a well-signed request: %v", err)
		}
		if got.ID != key.ID || got.Producer() != "api:oa" || got.Rate != apikey.DefaultRate {
			t.Errorf("verified key %+v, producer %s", got, got.Producer())
		}

		// A signature over another body, with another secret, or not hex.
		req := signed(key.ID, secret, start, body)
		req.Body = []byte(strings.Replace(body, "12", "13", 1))
		_, err = r.keys.Verify(ctx, req)
		wantKind(t, err, apikey.ErrUnauthorized, apikey.HeaderSignature)
		_, err = r.keys.Verify(ctx, signed(key.ID, secret+"x", start, body))
		wantKind(t, err, apikey.ErrUnauthorized, apikey.HeaderSignature)
		req = signed(key.ID, secret, start, body)
		req.Signature = strings.Repeat("zz", 32)
		_, err = r.keys.Verify(ctx, req)
		wantKind(t, err, apikey.ErrUnauthorized, apikey.HeaderSignature)
		// Upper-case hex is the same signature.
		req = signed(key.ID, secret, start, body)
		req.Signature = strings.ToUpper(req.Signature)
		if _, err := r.keys.Verify(ctx, req); err != nil {
			t.Errorf("upper-case hex signature: %v", err)
		}

		// Timestamps: 5 minutes either way pass, a second more does not.
		for _, c := range []struct {
			off time.Duration
			ok  bool
		}{{-apikey.MaxSkew, true}, {apikey.MaxSkew, true}, {-apikey.MaxSkew - time.Second, false}, {apikey.MaxSkew + time.Second, false}, {-24 * time.Hour, false}} {
			_, err := r.keys.Verify(ctx, signed(key.ID, secret, start.Add(c.off), body))
			if c.ok && err != nil {
				t.Errorf("timestamp %v off: %v", c.off, err)
			}
			if !c.ok {
				wantKind(t, err, apikey.ErrUnauthorized, apikey.HeaderTimestamp)
			}
		}

		// Unknown key, missing or malformed headers.
		_, err = r.keys.Verify(ctx, signed("ak_0000000000000000", secret, start, body))
		wantKind(t, err, apikey.ErrUnauthorized, apikey.HeaderKey)
		for _, c := range []struct {
			edit  func(*apikey.Request)
			field string
		}{
			{func(q *apikey.Request) { q.KeyID = "" }, apikey.HeaderKey},
			{func(q *apikey.Request) { q.Timestamp = "" }, apikey.HeaderTimestamp},
			{func(q *apikey.Request) { q.Timestamp = "2026-12-01T08:00:00Z" }, apikey.HeaderTimestamp},
			{func(q *apikey.Request) { q.Nonce = "" }, apikey.HeaderNonce},
			{func(q *apikey.Request) { q.Nonce = "short" }, apikey.HeaderNonce},
			{func(q *apikey.Request) { q.Nonce = "has a space in it" }, apikey.HeaderNonce},
			{func(q *apikey.Request) { q.Signature = "" }, apikey.HeaderSignature},
			{func(q *apikey.Request) { q.Signature = q.Signature[:40] }, apikey.HeaderSignature},
		} {
			req := signed(key.ID, secret, start, body)
			c.edit(&req)
			_, err := r.keys.Verify(ctx, req)
			wantKind(t, err, apikey.ErrUnauthorized, c.field)
		}

		// Verified use is recorded, for apikey list.
		keys, err := r.keys.List(ctx)
		if err != nil || len(keys) != 1 || !keys[0].LastUsedAt.Equal(start) {
			t.Errorf("List = %+v, %v; want last used at %s", keys, err, start)
		}
	})
}

func TestNonceReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		key, secret := r.create(t, "oa", "tags:12", apikey.Rate{})
		req := signed(key.ID, secret, start, body)
		if _, err := r.keys.Verify(ctx, req); err != nil {
			t.Fatal(err)
		}
		_, err := r.keys.Verify(ctx, req)
		wantKind(t, err, apikey.ErrReplay, apikey.HeaderNonce)

		// A replay that is not authentic (its signature altered) is refused
		// for that, and does not use up a nonce either.
		forged := signed(key.ID, secret, start, body)
		good := forged
		forged.Signature = apikey.Sign("guess", forged.Timestamp, forged.Nonce, forged.Body)
		_, err = r.keys.Verify(ctx, forged)
		wantKind(t, err, apikey.ErrUnauthorized, apikey.HeaderSignature)
		if _, err := r.keys.Verify(ctx, good); err != nil {
			t.Errorf("the genuine request after a forgery with its nonce: %v", err)
		}

		// The same nonce under another key is another nonce.
		other, otherSecret := r.create(t, "library", "tags:12", apikey.Rate{})
		again := req
		again.KeyID, again.Signature = other.ID, apikey.Sign(otherSecret, req.Timestamp, req.Nonce, req.Body)
		if _, err := r.keys.Verify(ctx, again); err != nil {
			t.Errorf("another key's request with the same nonce: %v", err)
		}
	})
}

// TestNonceReplayAcrossInstances: two instances sharing one Redis (and one
// database) refuse on one a request the other has taken.
func TestNonceReplayAcrossInstances(t *testing.T) {
	addr := testenv.RedisAddr(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := testenv.NewClock(start)
		prefix := fmt.Sprintf("wecomapp-test:%s:%d:", t.Name(), time.Now().UnixNano())
		instance := func() *apikey.Keys {
			co := coord.NewRedis(coord.RedisOptions{Addr: addr, Prefix: prefix})
			if err := co.Ping(ctx); err != nil {
				t.Fatalf("%s is set but Redis is unreachable: %v", testenv.RedisAddrVar, err)
			}
			t.Cleanup(func() { co.Close() })
			return newKeys(t, db, co, clock)
		}
		a, b := instance(), instance()
		// Redis's own clock runs the rate buckets: a live rate that cannot
		// run out within the test.
		sc, _ := apikey.ParseScope("tags:12")
		key, secret, err := a.Create(ctx, admin, apikey.Spec{System: "oa", Scope: sc, Rate: apikey.Rate{N: 1000, Per: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		req := signed(key.ID, secret, time.Unix(start.Unix(), 0), body)
		if _, err := a.Verify(ctx, req); err != nil {
			t.Fatal(err)
		}
		_, err = b.Verify(ctx, req)
		wantKind(t, err, apikey.ErrReplay, apikey.HeaderNonce)
		if _, err := b.Verify(ctx, signed(key.ID, secret, start, body)); err != nil {
			t.Errorf("a fresh request on the second instance: %v", err)
		}
	})
}

func TestRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		key, secret := r.create(t, "oa", "tags:12", apikey.Rate{})
		other, otherSecret := r.create(t, "library", "tags:12", apikey.Rate{})
		r.clock.Advance(time.Hour)
		now := r.clock.Now()

		got, revoked, err := r.keys.Revoke(ctx, store.Actor{UserID: "cli:zhang"}, key.ID)
		if err != nil || !revoked || !got.RevokedAt.Equal(now) || got.RevokedBy != "cli:zhang" {
			t.Fatalf("Revoke = %+v, %v, %v", got, revoked, err)
		}
		_, err = r.keys.Verify(ctx, signed(key.ID, secret, now, body))
		wantKind(t, err, apikey.ErrUnauthorized, apikey.HeaderKey)
		if _, err := r.keys.Verify(ctx, signed(other.ID, otherSecret, now, body)); err != nil {
			t.Errorf("the other key after revoking one: %v", err)
		}

		// Again: nothing more is written.
		if _, revoked, err := r.keys.Revoke(ctx, store.Actor{UserID: "cli:li"}, key.ID); err != nil || revoked {
			t.Errorf("second Revoke: revoked=%v, %v", revoked, err)
		}
		if _, _, err := r.keys.Revoke(ctx, admin, "ak_nosuchkey"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Revoke of an unknown key: %v, want ErrNotFound", err)
		}

		// Listed, revoked, still there.
		keys, err := r.keys.List(ctx)
		if err != nil || len(keys) != 2 || keys[0].ID != key.ID || !keys[0].Revoked() || keys[1].Revoked() {
			t.Errorf("List = %+v, %v", keys, err)
		}

		// Audited: two creations and one revocation, none with a secret.
		entries, err := db.ListAudit(ctx, store.AuditFilter{Action: "apikey."})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Actor+" "+e.Action+" "+e.Object)
		}
		want := []string{"cli:zhang apikey.revoke apikey/" + key.ID, "cli:ops apikey.create apikey/" + other.ID, "cli:ops apikey.create apikey/" + key.ID}
		if strings.Join(actions, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
		}
		if len(entries) == 3 && (!strings.Contains(entries[0].After, `"revoked_by":"cli:zhang"`) || !strings.Contains(entries[2].After, `"scope":"tags:12"`)) {
			t.Errorf("audit rows say %s / %s", entries[0].After, entries[2].After)
		}
		storetest.NoPlaintext(t, db, "audit_log", secret, otherSecret)
	})
}

// TestSecretSealedAtRest: the secret is nowhere in api_keys as a copy of
// the database shows it, yet requests signed with it verify; and wecomapp
// rekey re-seals it after a key rotation.
func TestSecretSealedAtRest(t *testing.T) {
	if !slices.Contains(store.SealedColumns(), store.APIKeySecret) {
		t.Error("store.APIKeySecret is not in sealedColumns (store/sealed.go): wecomapp rekey would leave API key secrets under the old data key")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		key, secret := r.create(t, "oa", "tags:12", apikey.Rate{})
		if n := storetest.NoPlaintext(t, db, "api_keys", secret, secret[:16]); n != 1 {
			t.Fatalf("read %d rows", n)
		}
		if _, err := r.keys.Verify(context.Background(), signed(key.ID, secret, start, body)); err != nil {
			t.Fatal(err)
		}
		// Without the data key nobody verifies (and nothing says the secret).
		other, err := store.NewSealer(storetest.NewKey())
		if err != nil {
			t.Fatal(err)
		}
		k2 := newKeys(t, db.WithSealer(other), coord.NewMemory(r.clock.Now), r.clock)
		_, err = k2.Verify(context.Background(), signed(key.ID, secret, start, body))
		if err == nil || !store.IsSealError(err) || strings.Contains(err.Error(), secret) {
			t.Errorf("verify under another data key: %v", err)
		}
	})
}

func TestRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		key, secret := r.create(t, "oa", "tags:12", apikey.Rate{N: 3, Per: time.Minute})
		other, otherSecret := r.create(t, "library", "tags:12", apikey.Rate{N: 3, Per: time.Minute})
		for i := range 3 {
			if _, err := r.keys.Verify(ctx, signed(key.ID, secret, start, body)); err != nil {
				t.Fatalf("request %d of 3: %v", i+1, err)
			}
		}
		_, err := r.keys.Verify(ctx, signed(key.ID, secret, start, body))
		var ae *apikey.Error
		if !errors.Is(err, apikey.ErrRateLimited) || !errors.As(err, &ae) || ae.RetryAfter != 20*time.Second || ae.RetryAfterSeconds() != 20 {
			t.Fatalf("4th request in the minute: %v (retry after %v), want rate limited for 20s", err, ae)
		}
		// Another key has its own bucket.
		if _, err := r.keys.Verify(ctx, signed(other.ID, otherSecret, start, body)); err != nil {
			t.Errorf("another key: %v", err)
		}
		r.clock.Advance(20 * time.Second)
		if _, err := r.keys.Verify(ctx, signed(key.ID, secret, r.clock.Now(), body)); err != nil {
			t.Errorf("after 20 s: %v", err)
		}
	})
}

func TestPermits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		// 1 ─ 5 (college) ─ 7 (department) ─ 9 (class); 1 ─ 6
		if err := db.PutMirrorDepartments(ctx, nil, []store.MirrorDepartment{
			{ID: 1, Name: "海滨大学"}, {ID: 5, Name: "计算机学院", ParentID: 1}, {ID: 6, Name: "外国语学院", ParentID: 1},
			{ID: 7, Name: "软件工程系", ParentID: 5}, {ID: 9, Name: "软工2401", ParentID: 7},
		}, start); err != nil {
			t.Fatal(err)
		}
		if err := db.PutWBRole(ctx, nil, store.WBRole{Key: "counselor", Name: "辅导员", Identity: "faculty", Rule: "true", Workbench: "faculty", Enabled: true}, start); err != nil {
			t.Fatal(err)
		}
		scoped, _ := r.create(t, "oa", "tags:12,13 departments:5 roles:counselor userids:T1001", apikey.Rate{})
		anyone, _ := r.create(t, "portal", "all", apikey.Rate{})
		people, _ := r.create(t, "approval", "userids mobiles", apikey.Rate{})
		for _, c := range []struct {
			key   apikey.Key
			to    notify.Recipients
			field string // "" permitted
		}{
			{scoped, notify.Recipients{Tags: []int64{12, 13}}, ""},
			{scoped, notify.Recipients{Tags: []int64{12, 14}}, "to.tags"},
			{scoped, notify.Recipients{Departments: []notify.Department{{ID: 5, Children: true}}}, ""},
			{scoped, notify.Recipients{Departments: []notify.Department{{ID: 9}}}, ""},
			{scoped, notify.Recipients{Departments: []notify.Department{{ID: 7}, {ID: 6}}}, "to.departments"},
			{scoped, notify.Recipients{Departments: []notify.Department{{ID: 1}}}, "to.departments"},
			{scoped, notify.Recipients{Departments: []notify.Department{{ID: 404}}}, "to.departments"},
			{scoped, notify.Recipients{Roles: []string{"counselor"}}, ""},
			{scoped, notify.Recipients{Roles: []string{"student"}}, "to.roles"},
			{scoped, notify.Recipients{UserIDs: []string{"t1001"}}, ""}, // WeCom userids ignore case
			{scoped, notify.Recipients{UserIDs: []string{"T1001", "T1002"}}, "to.userids"},
			{scoped, notify.Recipients{Mobiles: []string{"13800138000"}}, "to.mobiles"},
			{scoped, notify.Recipients{All: true}, "to.all"},
			{people, notify.Recipients{UserIDs: []string{"T1001", "S2024001"}, Mobiles: []string{"13800138000"}}, ""},
			{people, notify.Recipients{UserIDs: []string{"T1001"}, Tags: []int64{12}}, "to.tags"},
			{anyone, notify.Recipients{All: true}, ""},
			{anyone, notify.Recipients{Departments: []notify.Department{{ID: 1, Children: true}}, Mobiles: []string{"13800138000"}}, ""},
		} {
			err := r.keys.Permits(ctx, &c.key, c.to)
			if c.field == "" {
				if err != nil {
					t.Errorf("%s (%s) to %+v: %v", c.key.System, c.key.Scope, c.to, err)
				}
				continue
			}
			var ae *apikey.Error
			if !errors.Is(err, apikey.ErrOutOfScope) || !errors.As(err, &ae) || ae.Field != c.field {
				t.Errorf("%s (%s) to %+v: %v, want out of scope at %s", c.key.System, c.key.Scope, c.to, err, c.field)
			}
		}
	})
}

func TestCreateRefuses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		tags, _ := apikey.ParseScope("tags:12")
		roles, _ := apikey.ParseScope("roles:nosuchrole")
		for _, c := range []struct {
			spec  apikey.Spec
			field string
		}{
			{apikey.Spec{System: "", Scope: tags}, "system"},
			{apikey.Spec{System: "o a", Scope: tags}, "system"},
			{apikey.Spec{System: strings.Repeat("x", 61), Scope: tags}, "system"},
			{apikey.Spec{System: "oa"}, "scope"},
			{apikey.Spec{System: "oa", Scope: roles}, "scope"},
			{apikey.Spec{System: "oa", Scope: apikey.Scope{Tags: []int64{-1}}}, "scope"},
			{apikey.Spec{System: "oa", Scope: apikey.Scope{UserIDs: []string{"a b"}}}, "scope"},
			{apikey.Spec{System: "oa", Scope: tags, Rate: apikey.Rate{N: 0, Per: time.Minute}}, "rate"},
		} {
			_, _, err := r.keys.Create(ctx, admin, c.spec)
			var ae *apikey.Error
			if !errors.Is(err, apikey.ErrInvalid) || !errors.As(err, &ae) || ae.Field != c.field {
				t.Errorf("Create(%+v) = %v, want invalid %s", c.spec, err, c.field)
			}
		}
		if keys, err := r.keys.List(ctx); err != nil || len(keys) != 0 {
			t.Errorf("refused creations left keys: %+v, %v", keys, err)
		}
	})
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]string{
		"tags:13,12 departments:5 roles:counselor": "tags:12,13 departments:5 roles:counselor",
		"tags:12 tags:12,14":                       "tags:12,14",
		"userids:T2,T1 userids":                    "userids",
		"mobiles all":                              "all mobiles",
		"  userids:T1001  ":                        "userids:T1001",
	} {
		s, err := apikey.ParseScope(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseScope(%q) = %q, %v; want %q", in, s, err, want)
			continue
		}
		if again, err := apikey.ParseScope(s.String()); err != nil || again.String() != want {
			t.Errorf("%q does not read back: %q, %v", want, again, err)
		}
	}
	for _, in := range []string{"", "tags", "tags:", "tags:x", "tags:0", "tags:12,,13", "departments:-1", "all:1", "mobiles:138", "everyone", "userids:a|b", "roles:"} {
		if s, err := apikey.ParseScope(in); err == nil {
			t.Errorf("ParseScope(%q) = %q, want an error", in, s)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]apikey.Rate{
		"60/min": {60, time.Minute}, "5/s": {5, time.Second}, "1000/h": {1000, time.Hour}, "10/minute": {10, time.Minute}, "100/s": {100, time.Second},
	} {
		got, err := apikey.ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "60", "60/day", "0/min", "-1/s", "x/min", "100001/h", "101/s", "6001/min"} {
		if got, err := apikey.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", in, got)
		}
	}
	if l := (apikey.Rate{N: 60, Per: time.Minute}).Limit(); l != coord.PerMinute(60) {
		t.Errorf("60/min is %+v, want %+v", l, coord.PerMinute(60))
	}
}
