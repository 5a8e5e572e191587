package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func newSealer(t *testing.T, cur []byte, prev ...[]byte) *store.Sealer {
	t.Helper()
	s, err := store.NewSealer(cur, prev...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := newSealer(t, storetest.NewKey())
	plain := []byte("<xml><Mobile>13800138000</Mobile></xml>")
	a, err := s.Seal(plain, "inbox.payload")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Seal(plain, "inbox.payload")
	if bytes.Equal(a, b) {
		t.Error("sealing a value twice gave the same text: the nonce is not random")
	}
	if bytes.Contains(a, []byte("13800138000")) || bytes.Contains(a, []byte("Mobile")) {
		t.Errorf("sealed value shows its plaintext: %s", a)
	}
	if !bytes.HasPrefix(a, []byte("s1."+s.CurrentKeyID()+".")) {
		t.Errorf("sealed value %.20s… does not start with s1.<key id %s>.", a, s.CurrentKeyID())
	}
	if id, ok := store.SealedKeyID(a); !ok || id != s.CurrentKeyID() {
		t.Errorf("SealedKeyID = %q, %v; want %q", id, ok, s.CurrentKeyID())
	}
	if got := len(a); got != store.SealedLen(len(plain)) {
		t.Errorf("sealed length %d, SealedLen says %d", got, store.SealedLen(len(plain)))
	}
	got, err := s.Open(a, "inbox.payload")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want %q", got, err, plain)
	}
	empty, err := s.Seal(nil, "t.c")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(empty, "t.c"); err != nil || len(got) != 0 {
		t.Errorf("Open(Seal(empty)) = %q, %v", got, err)
	}
	if n := store.SealedLen(11); n != 64 {
		t.Errorf("SealedLen(11) = %d; the doc promises 64 for a phone number", n)
	}
}

func TestSealRefusesWrongColumnAndTampering(t *testing.T) {
	s := newSealer(t, storetest.NewKey())
	v, _ := s.Seal([]byte("440106199001011234"), "members.id_number")
	if _, err := s.Open(v, "members.mobile"); !errors.Is(err, store.ErrSealBroken) {
		t.Errorf("value of members.id_number opened as members.mobile: err = %v", err)
	}
	for i := len("s1.12345678."); i < len(v); i += 7 {
		bad := bytes.Clone(v)
		bad[i] ^= 1
		if _, err := s.Open(bad, "members.id_number"); err == nil {
			t.Errorf("value altered at byte %d opened", i)
		}
	}
	if _, err := s.Open(v[:len(v)-3], "members.id_number"); err == nil {
		t.Error("truncated value opened")
	}
	if _, err := s.Open([]byte("13800138000"), "members.mobile"); !errors.Is(err, store.ErrNotSealed) {
		t.Errorf("plaintext: err = %v, want ErrNotSealed", err)
	}
	if _, err := s.Seal([]byte("x"), ""); err == nil {
		t.Error("Seal without a column succeeded")
	}
	for _, err := range []error{
		func() error { _, err := s.Open(v, "members.mobile"); return err }(),
		func() error { _, err := s.Open([]byte("13800138000"), "members.mobile"); return err }(),
	} {
		if strings.Contains(err.Error(), "13800138000") || strings.Contains(err.Error(), string(v[12:30])) {
			t.Errorf("error shows the value: %v", err)
		}
	}
}

func TestSealRotation(t *testing.T) {
	keyA, keyB := storetest.NewKey(), storetest.NewKey()
	a := newSealer(t, keyA)
	ab := newSealer(t, keyB, keyA)
	b := newSealer(t, keyB)
	if ab.CurrentKeyID() != b.CurrentKeyID() || ab.CurrentKeyID() == a.CurrentKeyID() {
		t.Fatalf("key ids: a %s, ab %s, b %s", a.CurrentKeyID(), ab.CurrentKeyID(), b.CurrentKeyID())
	}
	if got := ab.KeyIDs(); len(got) != 2 || got[0] != b.CurrentKeyID() || got[1] != a.CurrentKeyID() {
		t.Errorf("KeyIDs = %v", got)
	}
	underA, _ := a.Seal([]byte("13800138000"), "t.c")
	if got, err := ab.Open(underA, "t.c"); err != nil || string(got) != "13800138000" {
		t.Errorf("B with A as previous key: Open = %q, %v", got, err)
	}
	if _, err := b.Open(underA, "t.c"); !errors.Is(err, store.ErrUnknownKey) || !strings.Contains(err.Error(), a.CurrentKeyID()) {
		t.Errorf("B alone on a value under A: err = %v, want ErrUnknownKey naming %s", err, a.CurrentKeyID())
	}
	underAB, _ := ab.Seal([]byte("x"), "t.c")
	if id, _ := store.SealedKeyID(underAB); id != b.CurrentKeyID() {
		t.Errorf("A+B sealed under %s, want the current key %s", id, b.CurrentKeyID())
	}
	// The same key as current and previous is one key.
	if s := newSealer(t, keyA, keyA); len(s.KeyIDs()) != 1 {
		t.Errorf("KeyIDs = %v for one key given twice", s.KeyIDs())
	}
}

func TestNewSealerRefusesBadKeys(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cur       []byte
		prev      [][]byte
		wantInErr string
	}{
		{"short current", make([]byte, 16), nil, "data key: must be 32 bytes, got 16"},
		{"no current", nil, nil, "data key: must be 32 bytes, got 0"},
		{"long previous", storetest.NewKey(), [][]byte{make([]byte, 33)}, "previous data key 1: must be 32 bytes, got 33"},
	} {
		if _, err := store.NewSealer(tc.cur, tc.prev...); err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantInErr)
		}
	}
}

func TestNilSealerFailsLoudly(t *testing.T) {
	var s *store.Sealer
	if _, err := s.Seal([]byte("x"), "t.c"); !errors.Is(err, store.ErrNoSealer) {
		t.Errorf("Seal: err = %v", err)
	}
	if _, err := s.Open([]byte("x"), "t.c"); !errors.Is(err, store.ErrNoSealer) {
		t.Errorf("Open: err = %v", err)
	}
}

func TestHash(t *testing.T) {
	keyA, keyB := storetest.NewKey(), storetest.NewKey()
	s := newSealer(t, keyA)
	phone := s.Hash(store.HashPhone, "13800138000")
	if len(phone) != 64 {
		t.Fatalf("hash %q is not 64 hex digits", phone)
	}
	for _, v := range []string{" 13800138000 ", "138-0013-8000", "+86 138 0013 8000", "+8613800138000", "008613800138000", "(+86) 138 0013 8000"} {
		if got := s.Hash(store.HashPhone, v); got != phone {
			t.Errorf("Hash(phone, %q) differs from Hash(phone, 13800138000)", v)
		}
	}
	if s.Hash(store.HashPhone, "13800138001") == phone {
		t.Error("two phone numbers hash the same")
	}
	if s.Hash(store.HashIDNumber, "13800138000") == phone || s.Hash("other", "13800138000") == phone {
		t.Error("the purpose is not part of the hash")
	}
	if s.Hash(store.HashIDNumber, "44010619900101123x") != s.Hash(store.HashIDNumber, " 44010619900101123X") {
		t.Error("ID numbers with x and X hash differently")
	}
	if s.Hash(store.HashEmail, "ZhangSan@Demo.edu.cn ") != s.Hash(store.HashEmail, "zhangsan@demo.edu.cn") {
		t.Error("emails differing in case hash differently")
	}
	if s.Hash(store.HashPhone, "not a phone") == s.Hash(store.HashPhone, "") {
		t.Error("an unparsable phone hashes as empty")
	}
	// Keyed: another key gives another hash; during a rotation Hashes has both.
	ba := newSealer(t, keyB, keyA)
	if ba.Hash(store.HashPhone, "13800138000") == phone {
		t.Error("the hash does not depend on the key")
	}
	if hs := ba.Hashes(store.HashPhone, "13800138000"); len(hs) != 2 || hs[0] != ba.Hash(store.HashPhone, "13800138000") || hs[1] != phone {
		t.Errorf("Hashes = %v, want [current, previous]", hs)
	}
}

// TestSealedColumnsExist: every registered column (and its hash column)
// is in the migrated schema, so wecomapp rekey can rewrite it.
func TestSealedColumnsExist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, c := range store.SealedColumns() {
			cols := c.Key + ", " + c.Column
			if c.HashColumn != "" {
				cols += ", " + c.HashColumn
			}
			if _, err := db.ExecContext(context.Background(), "SELECT "+cols+" FROM "+c.Table+" WHERE 1 = 0"); err != nil {
				t.Errorf("sealed column %s: %v", c, err)
			}
		}
	})
}

const (
	legacyMobile = "13800138000"
	legacyEmail  = "zhangsan@demo.edu.cn"
	textContent  = "我的身份证号是440106199001011234"
)

// legacyChangeContact is a change_contact update_user as corps under
// WeCom's legacy contact rules receive it: with mobile and email.
var legacyChangeContact = `<xml><ToUserName><![CDATA[wwdemo0000000001]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
	`<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>` +
	`<ChangeType>update_user</ChangeType><UserID><![CDATA[T0001]]></UserID><Name><![CDATA[张三]]></Name>` +
	`<Mobile><![CDATA[` + legacyMobile + `]]></Mobile><Email><![CDATA[` + legacyEmail + `]]></Email>` +
	`<Department><![CDATA[1,2]]></Department></xml>`

var textMessage = `<xml><ToUserName><![CDATA[wwdemo0000000001]]></ToUserName><FromUserName><![CDATA[T0001]]></FromUserName>` +
	`<CreateTime>1700000001</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[` + textContent + `]]></Content>` +
	`<MsgId>7000000000000000001</MsgId><AgentID>1000002</AgentID></xml>`

// TestInboxPayloadSealedAtRest stores a legacy change_contact and a text
// message as the inbox does, then reads every column of every inbox row
// with plain SQL: neither the mobile, the email nor the message text is
// there. Through the store, the payload is the callback as received.
func TestInboxPayloadSealedAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		msgs := []store.InboxMessage{
			{Receiver: "contacts", DedupKey: "evt:0001", Kind: "event.change_contact.update_user", FromUser: "sys", CreateTime: 1700000000, Payload: []byte(legacyChangeContact)},
			{Receiver: "hall", DedupKey: "msg:7000000000000000001", Kind: "text", FromUser: "T0001", AgentID: 1000002, CreateTime: 1700000001, MsgID: "7000000000000000001", Payload: []byte(textMessage)},
			{Receiver: "hall", DedupKey: "raw:0002", Kind: "unparsed", Payload: []byte(textMessage + "<unclosed>"), Dead: "does not parse"},
		}
		for _, m := range msgs {
			if _, _, err := db.InsertInbox(ctx, m, now); err != nil {
				t.Fatal(err)
			}
		}
		n := storetest.NoPlaintext(t, db, "inbox", legacyMobile, legacyEmail, "zhangsan", textContent, "440106199001011234", "身份证", "张三", "<xml>")
		if n != len(msgs) {
			t.Fatalf("read %d raw rows, want %d", n, len(msgs))
		}

		// Every read path gives the payload back as received.
		byKey := map[string]string{}
		for _, m := range msgs {
			byKey[m.DedupKey] = string(m.Payload)
		}
		listed, err := db.ListInbox(ctx, store.InboxQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range listed {
			if string(r.Payload) != byKey[r.DedupKey] {
				t.Errorf("ListInbox %s: payload %q", r.DedupKey, r.Payload)
			}
			got, err := db.GetInbox(ctx, r.ID)
			if err != nil || string(got.Payload) != byKey[r.DedupKey] {
				t.Errorf("GetInbox %d: payload %q, %v", r.ID, got.Payload, err)
			}
		}
		claimed, err := db.ClaimInbox(ctx, "owner-1", 10, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) != 2 {
			t.Fatalf("claimed %d rows, want the 2 pending ones", len(claimed))
		}
		for _, r := range claimed {
			if string(r.Payload) != byKey[r.DedupKey] {
				t.Errorf("ClaimInbox %s: payload %q", r.DedupKey, r.Payload)
			}
		}
	})
}

// TestInboxWithoutSealer: a store opened without a data key refuses to
// store or hand out callbacks, with an error saying why, and stores
// nothing.
func TestInboxWithoutSealer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		if _, _, err := db.InsertInbox(ctx, store.InboxMessage{Receiver: "hall", DedupKey: "msg:1", Kind: "text", Payload: []byte(textMessage)}, now); err != nil {
			t.Fatal(err)
		}
		bare := db.WithSealer(nil)
		_, _, err := bare.InsertInbox(ctx, store.InboxMessage{Receiver: "hall", DedupKey: "msg:2", Kind: "text", Payload: []byte(textMessage)}, now)
		if !errors.Is(err, store.ErrNoSealer) || !strings.Contains(err.Error(), "inbox.payload") {
			t.Errorf("InsertInbox without a sealer: err = %v, want ErrNoSealer naming inbox.payload", err)
		}
		if _, err := bare.ClaimInbox(ctx, "owner-1", 10, now, time.Minute); !errors.Is(err, store.ErrNoSealer) {
			t.Errorf("ClaimInbox without a sealer: err = %v, want ErrNoSealer", err)
		}
		if _, err := bare.ListInbox(ctx, store.InboxQuery{}); !errors.Is(err, store.ErrNoSealer) {
			t.Errorf("ListInbox without a sealer: err = %v, want ErrNoSealer", err)
		}
		counts, err := db.CountInbox(ctx, store.InboxPending, store.InboxProcessing)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.InboxPending] != 1 || counts[store.InboxProcessing] != 0 {
			t.Errorf("after the refused calls: %v, want the one row still pending", counts)
		}
	})
}

// TestInboxUnknownKeyParksRow: a row sealed under a key this instance does
// not have (security.previous_data_keys forgot it) cannot block the queue:
// the claim parks it as dead, saying which key, and hands out the others.
func TestInboxUnknownKeyParksRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		keyCur, keyOther := storetest.NewKey(), storetest.NewKey()
		db = db.WithSealer(newSealer(t, keyCur))
		other := db.WithSealer(newSealer(t, keyOther))
		if _, _, err := other.InsertInbox(ctx, store.InboxMessage{Receiver: "hall", DedupKey: "msg:1", Kind: "text", Payload: []byte(textMessage)}, now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.InsertInbox(ctx, store.InboxMessage{Receiver: "hall", DedupKey: "msg:2", Kind: "text", Payload: []byte(textMessage)}, now.Add(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		claimed, err := db.ClaimInbox(ctx, "owner-1", 10, now.Add(time.Second), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) != 1 || claimed[0].DedupKey != "msg:2" || string(claimed[0].Payload) != textMessage {
			t.Fatalf("claimed %+v, want only msg:2 with its payload", claimed)
		}
		dead, err := db.ListInbox(ctx, store.InboxQuery{State: store.InboxDead})
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 || dead[0].DedupKey != "msg:1" || !strings.Contains(dead[0].LastError, other.Sealer().CurrentKeyID()) {
			t.Fatalf("dead rows %+v, want msg:1 with the unknown key id %s in last_error", dead, other.Sealer().CurrentKeyID())
		}
		if dead[0].PayloadErr == nil || dead[0].Payload != nil {
			t.Errorf("listed unreadable row: payload %q, PayloadErr %v", dead[0].Payload, dead[0].PayloadErr)
		}
		// An operator looking at it still sees the row, and why its payload
		// does not open.
		if r, err := db.GetInbox(ctx, dead[0].ID); err != nil || r.Payload != nil || !errors.Is(r.PayloadErr, store.ErrUnknownKey) || r.LastError == "" {
			t.Errorf("GetInbox of the unreadable row: %+v, %v; want the row with PayloadErr ErrUnknownKey", r, err)
		}
		// With the key back (as a previous key), the row opens again.
		fixed := db.WithSealer(newSealer(t, keyCur, keyOther))
		if r, err := fixed.GetInbox(ctx, dead[0].ID); err != nil || string(r.Payload) != textMessage {
			t.Errorf("GetInbox with the key restored: %q, %v", r.Payload, err)
		}
	})
}

// TestRekey: rows under key A are re-sealed under B by a Rekey interrupted
// after its first batch and then resumed; meanwhile every row opens with
// A+B, afterwards every row opens with B alone, and a third run changes
// nothing. Plaintext rows from before sealing are sealed too.
func TestRekey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		keyA, keyB := storetest.NewKey(), storetest.NewKey()
		dbA := db.WithSealer(newSealer(t, keyA))
		dbAB := db.WithSealer(newSealer(t, keyB, keyA))
		dbB := db.WithSealer(newSealer(t, keyB))
		const n = 23
		want := map[int64]string{}
		for i := range n {
			p := fmt.Sprintf(`<xml><Mobile>1380013%04d</Mobile></xml>`, i)
			id, _, err := dbA.InsertInbox(ctx, store.InboxMessage{Receiver: "contacts", DedupKey: fmt.Sprintf("evt:%d", i), Kind: "event", Payload: []byte(p)}, now)
			if err != nil {
				t.Fatal(err)
			}
			want[id] = p
		}
		// A row written before the column was sealed: plaintext.
		legacy := `<xml><Mobile>13900000000</Mobile></xml>`
		res, err := db.ExecContext(ctx, `INSERT INTO inbox (receiver, dedup_key, kind, payload, state, next_attempt_at, received_at, done_at)
			VALUES ('contacts', 'evt:legacy', 'event', ?, 'done', 0, 0, 1)`, []byte(legacy))
		if err != nil {
			t.Fatal(err)
		}
		legacyID, _ := res.LastInsertId()
		if r, err := db.GetInbox(ctx, legacyID); err != nil || !errors.Is(r.PayloadErr, store.ErrNotSealed) || !strings.Contains(r.PayloadErr.Error(), "wecomapp rekey") {
			t.Errorf("GetInbox of a plaintext row: PayloadErr = %v (%v), want ErrNotSealed pointing to wecomapp rekey", r.PayloadErr, err)
		}

		cctx, cancel := context.WithCancel(ctx)
		var batches int
		_, err = dbAB.Rekey(cctx, store.InboxPayload, 10, func(st store.RekeyStats) {
			batches++
			cancel() // interrupted after the first batch
		})
		cancel()
		if !errors.Is(err, context.Canceled) || batches != 1 {
			t.Fatalf("interrupted rekey: err = %v after %d batches, want context.Canceled after 1", err, batches)
		}
		under := keysInUse(t, db)
		if under[dbB.Sealer().CurrentKeyID()] != 10 || under[dbA.Sealer().CurrentKeyID()] != n-10 || under["plaintext"] != 1 {
			t.Fatalf("after the interrupted rekey: %v, want 10 under B, %d under A, 1 plaintext", under, n-10)
		}
		readAll(t, dbAB, want, "A+B, midway")

		want[legacyID] = legacy
		st, err := dbAB.Rekey(ctx, store.InboxPayload, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Scanned != n+1 || st.Current != 10 || st.Resealed != n+1-10 {
			t.Errorf("resumed rekey: %+v, want %d read, 10 already current, %d re-sealed", st, n+1, n+1-10)
		}
		if under := keysInUse(t, db); under[dbB.Sealer().CurrentKeyID()] != n+1 || len(under) != 1 {
			t.Fatalf("after the resumed rekey: %v, want all %d under B", under, n+1)
		}
		readAll(t, dbB, want, "B alone")
		if r, err := dbA.GetInbox(ctx, legacyID); err != nil || !errors.Is(r.PayloadErr, store.ErrUnknownKey) {
			t.Errorf("A alone after rekey: PayloadErr = %v (%v), want ErrUnknownKey", r.PayloadErr, err)
		}

		st, err = dbB.Rekey(ctx, store.InboxPayload, 10, nil)
		if err != nil || st.Resealed != 0 || st.Current != n+1 {
			t.Errorf("third rekey: %+v, %v; want nothing re-sealed", st, err)
		}
		// B alone cannot rekey values under A: it stops, naming the row and key.
		if _, _, err := dbA.InsertInbox(ctx, store.InboxMessage{Receiver: "contacts", DedupKey: "evt:late-a", Kind: "event", Payload: []byte("<xml/>")}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := dbB.Rekey(ctx, store.InboxPayload, 10, nil); !errors.Is(err, store.ErrUnknownKey) || !strings.Contains(err.Error(), dbA.Sealer().CurrentKeyID()) {
			t.Errorf("rekey with B alone over a row under A: err = %v, want ErrUnknownKey naming %s", err, dbA.Sealer().CurrentKeyID())
		}
	})
}

// keysInUse counts inbox payloads by the key they are sealed under.
func keysInUse(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	var payloads [][]byte
	if err := db.SelectContext(context.Background(), &payloads, "SELECT payload FROM inbox"); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range payloads {
		id, ok := store.SealedKeyID(p)
		if !ok {
			id = "plaintext"
		}
		out[id]++
	}
	return out
}

func readAll(t *testing.T, db *store.DB, want map[int64]string, with string) {
	t.Helper()
	for id, p := range want {
		r, err := db.GetInbox(context.Background(), id)
		if err != nil || string(r.Payload) != p {
			t.Errorf("%s: row %d: payload %q, %v; want %q", with, id, r.Payload, err, p)
		}
	}
}

// BenchmarkSeal seals and opens a change_contact payload, the work sealing
// adds to accepting and dispatching a callback.
func BenchmarkSeal(b *testing.B) {
	s, _ := store.NewSealer(storetest.NewKey())
	plain := []byte(legacyChangeContact)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		v, err := s.Seal(plain, "inbox.payload")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Open(v, "inbox.payload"); err != nil {
			b.Fatal(err)
		}
	}
}
