package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

const (
	mirrorMobile = "13912345678"
	mirrorEmail  = "wangfang@demo.edu.cn"
)

func mirrorMember(userID, mobile, email string) store.MirrorMember {
	return store.MirrorMember{
		UserID: userID, Name: "王芳",
		Departments:    []store.MirrorMembership{{Department: 12, Order: 100}, {Department: 31, Order: 0, Leader: true}},
		MainDepartment: 12, Position: "辅导员", Gender: 2, Enabled: true, Status: 4,
		Mobile: mobile, Email: email,
	}
}

func TestMirrorDepartments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t1 := time.UnixMilli(1_700_000_000_000)
		ds := []store.MirrorDepartment{
			{ID: 2, DCCode: "A01", Name: "水产学院", ParentID: 1, Order: 100000, Leaders: []string{"T0001", "T0002"}},
			{ID: 3, DCCode: "A0101", Name: "水产养殖系", ParentID: 2, Order: 99},
		}
		if err := db.PutMirrorDepartments(ctx, nil, ds, t1); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetMirrorDepartment(ctx, nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := ds[0]
		want.WrittenAt = t1.UnixMilli()
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("get (-want +got):\n%s", d)
		}

		// A later write replaces the record (a rename, a move, no leaders).
		t2 := t1.Add(time.Hour)
		if err := db.PutMirrorDepartments(ctx, nil, []store.MirrorDepartment{{ID: 2, DCCode: "A01", Name: "水产与生命学院", ParentID: 5, Order: 7}}, t2); err != nil {
			t.Fatal(err)
		}
		all, err := db.ListMirrorDepartments(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantAll := []store.MirrorDepartment{
			{ID: 2, DCCode: "A01", Name: "水产与生命学院", ParentID: 5, Order: 7, WrittenAt: t2.UnixMilli()},
			{ID: 3, DCCode: "A0101", Name: "水产养殖系", ParentID: 2, Order: 99, WrittenAt: t1.UnixMilli()},
		}
		if d := cmp.Diff(wantAll, all); d != "" {
			t.Errorf("list (-want +got):\n%s", d)
		}

		// Inside a transaction that rolls back, nothing is recorded: the sync
		// writes the mirror in its own transactions.
		errRollback := errors.New("rollback")
		err = db.WithTx(ctx, func(tx *sqlx.Tx) error {
			if err := db.PutMirrorDepartments(ctx, tx, []store.MirrorDepartment{{ID: 9, Name: "临时", ParentID: 1}}, t2); err != nil {
				return err
			}
			if _, err := db.GetMirrorDepartment(ctx, tx, 9); err != nil {
				t.Errorf("inside the transaction: %v", err)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if _, err := db.GetMirrorDepartment(ctx, nil, 9); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after rollback: err = %v, want ErrNotFound", err)
		}

		n, err := db.DeleteMirrorDepartments(ctx, nil, []int64{3, 404})
		if err != nil || n != 1 {
			t.Fatalf("delete: %d, %v; want 1 recorded", n, err)
		}
		if _, err := db.GetMirrorDepartment(ctx, nil, 3); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted department: err = %v, want ErrNotFound", err)
		}
		if err := db.PutMirrorDepartments(ctx, nil, []store.MirrorDepartment{{ID: 4, Name: "x", ParentID: 1, Leaders: []string{"a,b"}}}, t2); err == nil {
			t.Error("a leader with a comma was recorded")
		}
	})
}

func TestMirrorMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t1 := time.UnixMilli(1_700_000_000_000)
		m := mirrorMember("S2024001", mirrorMobile, mirrorEmail)
		other := store.MirrorMember{UserID: "T0001", Name: "李老师", Departments: []store.MirrorMembership{{Department: 2}}, MainDepartment: 2}
		if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{m, other}, t1); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetMirrorMember(ctx, nil, "S2024001")
		if err != nil {
			t.Fatal(err)
		}
		want := m
		want.WrittenAt = t1.UnixMilli()
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("get (-want +got):\n%s", d)
		}

		// Written again: a transfer, disabled, the phone number cleared.
		t2 := t1.Add(time.Minute)
		m2 := m
		m2.Departments = []store.MirrorMembership{{Department: 40, Order: 5}}
		m2.MainDepartment, m2.Enabled, m2.Mobile = 40, false, ""
		if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{m2}, t2); err != nil {
			t.Fatal(err)
		}
		all, err := db.ListMirrorMembers(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		m2.WrittenAt, other.WrittenAt = t2.UnixMilli(), t1.UnixMilli()
		if d := cmp.Diff([]store.MirrorMember{m2, other}, all); d != "" {
			t.Errorf("list (-want +got):\n%s", d)
		}
		if ids, err := db.FindMirrorMembersByMobile(ctx, nil, mirrorMobile); err != nil || len(ids) != 0 {
			t.Errorf("cleared mobile still found: %v, %v", ids, err)
		}
		if ids, err := db.FindMirrorMembersByMobile(ctx, nil, ""); err != nil || len(ids) != 0 {
			t.Errorf("an empty mobile matches %v (%v): members without a phone must not match", ids, err)
		}

		// Deleting a member forgets their tag memberships too.
		if err := db.AddMirrorTagMembers(ctx, nil, 7, []string{"S2024001", "T0001"}, nil, t2); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeleteMirrorMembers(ctx, nil, []string{"S2024001", "nobody"})
		if err != nil || n != 1 {
			t.Fatalf("delete: %d, %v; want 1", n, err)
		}
		if _, err := db.GetMirrorMember(ctx, nil, "S2024001"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted member: err = %v, want ErrNotFound", err)
		}
		tm, err := db.ListMirrorTagMembers(ctx, nil, 7)
		if err != nil || len(tm) != 1 || tm[0].UserID != "T0001" {
			t.Errorf("tag 7 after the deletion: %+v, %v; want T0001 alone", tm, err)
		}

		for _, bad := range []store.MirrorMember{
			{UserID: ""},
			{UserID: "x", Mobile: "1234567890123456789012345678901234"},
			{UserID: "x", Email: string(bytes.Repeat([]byte("a"), 129))},
		} {
			if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{bad}, t2); err == nil {
				t.Errorf("recorded %+v", bad)
			}
		}
	})
}

// TestMirrorMembersSealed: a mirrored member's mobile and email are not in
// the table in plaintext (read raw, as a copy of the database would be),
// they come back through the store and are found by a phone number written
// another way; without a data key nothing is written or read.
func TestMirrorMembersSealed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{mirrorMember("S2024001", mirrorMobile, mirrorEmail)}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if n := storetest.NoPlaintext(t, db, "contacts_members", mirrorMobile, "12345678", mirrorEmail, "wangfang"); n != 1 {
			t.Fatalf("read %d raw rows, want 1", n)
		}
		for _, written := range []string{"+86 139 1234 5678", "139-1234-5678"} {
			ids, err := db.FindMirrorMembersByMobile(ctx, nil, written)
			if err != nil || !slices.Equal(ids, []string{"S2024001"}) {
				t.Errorf("find by mobile %q: %v, %v", written, ids, err)
			}
		}
		if ids, err := db.FindMirrorMembersByEmail(ctx, nil, " WangFang@Demo.edu.cn"); err != nil || !slices.Equal(ids, []string{"S2024001"}) {
			t.Errorf("find by email: %v, %v", ids, err)
		}

		bare := db.WithSealer(nil)
		if err := bare.PutMirrorMembers(ctx, nil, []store.MirrorMember{mirrorMember("S2024002", "", "")}, time.Now()); !errors.Is(err, store.ErrNoSealer) {
			t.Errorf("put without a sealer: %v, want ErrNoSealer", err)
		}
		if _, err := bare.GetMirrorMember(ctx, nil, "S2024001"); !errors.Is(err, store.ErrNoSealer) {
			t.Errorf("get without a sealer: %v, want ErrNoSealer", err)
		}
		if _, err := db.GetMirrorMember(ctx, nil, "S2024002"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the refused put wrote a row: %v", err)
		}
		// Under another key, a sealed value does not open: the listing fails
		// rather than handing out a member without their phone.
		if _, err := db.WithSealer(newSealer(t, storetest.NewKey())).ListMirrorMembers(ctx, nil); !errors.Is(err, store.ErrUnknownKey) {
			t.Errorf("list under an unknown key: %v, want ErrUnknownKey", err)
		}
	})
}

// TestMirrorSealedInSQLiteFile reads the SQLite database file (and its
// write-ahead log) byte by byte: the member's name is there, their mobile
// and email are not.
func TestMirrorSealedInSQLiteFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mirror.db")
	db, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: "file:" + path, Sealer: storetest.Sealer()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{mirrorMember("S2024001", mirrorMobile, mirrorEmail)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("S2024001")) || !bytes.Contains(all, []byte("辅导员")) {
		t.Fatal("the member's userid and position are not in the files read: not the right files")
	}
	for _, secret := range []string{mirrorMobile, "12345678", mirrorEmail, "wangfang"} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("the database file holds %q in plaintext", secret)
		}
	}
}

// TestMirrorRekey: members sealed under key A are re-sealed under B by
// RekeyAll (wecomapp rekey), hash columns included: afterwards B alone
// opens them and finds them by phone number.
func TestMirrorRekey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		keyA, keyB := storetest.NewKey(), storetest.NewKey()
		dbA, dbAB, dbB := db.WithSealer(newSealer(t, keyA)), db.WithSealer(newSealer(t, keyB, keyA)), db.WithSealer(newSealer(t, keyB))
		ms := []store.MirrorMember{mirrorMember("S1", "13900000001", "s1@demo.edu.cn"), mirrorMember("S2", "13900000002", ""), mirrorMember("S3", "", "")}
		if err := dbA.PutMirrorMembers(ctx, nil, ms, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := dbB.ListMirrorMembers(ctx, nil); !errors.Is(err, store.ErrUnknownKey) {
			t.Fatalf("key B before the rekey: %v, want ErrUnknownKey", err)
		}
		stats, err := dbAB.RekeyAll(ctx, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		resealed := map[string]int64{}
		for _, st := range stats {
			resealed[st.Column.String()] = st.Resealed
		}
		if resealed["contacts_members.mobile"] != 2 || resealed["contacts_members.email"] != 1 {
			t.Errorf("rekey stats %+v: want 2 mobiles and 1 email re-sealed", resealed)
		}
		got, err := dbB.ListMirrorMembers(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Mobile != "13900000001" || got[0].Email != "s1@demo.edu.cn" || got[1].Mobile != "13900000002" || got[2].Mobile != "" {
			t.Errorf("after the rekey, with key B alone: %+v", got)
		}
		if ids, err := dbB.FindMirrorMembersByMobile(ctx, nil, "13900000002"); err != nil || !slices.Equal(ids, []string{"S2"}) {
			t.Errorf("find by mobile with key B alone: %v, %v (hash not recomputed?)", ids, err)
		}
		if ids, err := dbB.FindMirrorMembersByEmail(ctx, nil, "s1@demo.edu.cn"); err != nil || !slices.Equal(ids, []string{"S1"}) {
			t.Errorf("find by email with key B alone: %v, %v", ids, err)
		}
	})
}

func TestMirrorTags(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t1 := time.UnixMilli(1_700_000_000_000)
		if err := db.PutMirrorTags(ctx, nil, []store.MirrorTag{{ID: 5, Name: "2024级水产本科生"}, {ID: 6, Name: "辅导员"}}, t1); err != nil {
			t.Fatal(err)
		}
		if err := db.PutMirrorTags(ctx, nil, []store.MirrorTag{{ID: 6, Name: "全体辅导员"}}, t1.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		tags, err := db.ListMirrorTags(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantTags := []store.MirrorTag{{ID: 5, Name: "2024级水产本科生", WrittenAt: t1.UnixMilli()}, {ID: 6, Name: "全体辅导员", WrittenAt: t1.Add(time.Second).UnixMilli()}}
		if d := cmp.Diff(wantTags, tags); d != "" {
			t.Errorf("tags (-want +got):\n%s", d)
		}
		if g, err := db.GetMirrorTag(ctx, nil, 5); err != nil || g.Name != "2024级水产本科生" {
			t.Errorf("get tag 5: %+v, %v", g, err)
		}

		if err := db.AddMirrorTagMembers(ctx, nil, 5, []string{"S1", "S2", "S3"}, []int64{12, 13}, t1); err != nil {
			t.Fatal(err)
		}
		// Adding again (a retried call) keeps one row each.
		if err := db.AddMirrorTagMembers(ctx, nil, 5, []string{"S1"}, []int64{12}, t1.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.AddMirrorTagMembers(ctx, nil, 6, []string{"T1"}, nil, t1); err != nil {
			t.Fatal(err)
		}
		n, err := db.RemoveMirrorTagMembers(ctx, nil, 5, []string{"S2", "nobody"}, []int64{13})
		if err != nil || n != 2 {
			t.Fatalf("remove: %d, %v; want 2", n, err)
		}
		// An empty userid deletes no member, and no department of a tag.
		if n, err := db.DeleteMirrorMembers(ctx, nil, []string{""}); err != nil || n != 0 {
			t.Fatalf("delete the empty userid: %d, %v", n, err)
		}
		got, err := db.ListMirrorTagMembers(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		later := t1.Add(time.Minute).UnixMilli()
		want := []store.MirrorTagMember{
			{TagID: 5, UserID: "S1", WrittenAt: later},
			{TagID: 5, UserID: "S3", WrittenAt: t1.UnixMilli()},
			{TagID: 5, PartyID: 12, WrittenAt: later},
			{TagID: 6, UserID: "T1", WrittenAt: t1.UnixMilli()},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("tag members (-want +got):\n%s", d)
		}

		// Deleting a tag forgets its members; the other tag keeps its own.
		if n, err := db.DeleteMirrorTags(ctx, nil, []int64{5}); err != nil || n != 1 {
			t.Fatalf("delete tag: %d, %v", n, err)
		}
		if _, err := db.GetMirrorTag(ctx, nil, 5); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted tag: %v, want ErrNotFound", err)
		}
		got, err = db.ListMirrorTagMembers(ctx, nil, 5, 6)
		if err != nil || len(got) != 1 || got[0].TagID != 6 {
			t.Errorf("after deleting tag 5: %+v, %v", got, err)
		}
	})
}

func TestMirrorTouched(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.UnixMilli(1_700_000_000_000)
		if err := db.PutMirrorMembers(ctx, nil, []store.MirrorMember{mirrorMember("S1", "", "")}, now); err != nil {
			t.Fatal(err)
		}
		if err := db.PutMirrorDepartments(ctx, nil, []store.MirrorDepartment{{ID: 12, Name: "水产学院", ParentID: 1}}, now); err != nil {
			t.Fatal(err)
		}
		if err := db.PutMirrorTags(ctx, nil, []store.MirrorTag{{ID: 5, Name: "t"}}, now); err != nil {
			t.Fatal(err)
		}
		at := func(s int64) int64 { return (1_700_000_000 + s) * 1000 }
		mark := func(tc store.MirrorTouch) {
			t.Helper()
			if err := db.MarkMirrorTouched(ctx, nil, tc); err != nil {
				t.Fatal(err)
			}
		}
		mark(store.MirrorTouch{Kind: store.MirrorKindMember, ID: "S1", Event: "update_user", TouchedAt: at(10)})
		mark(store.MirrorTouch{Kind: store.MirrorKindMember, ID: "console1", Event: "create_user", TouchedAt: at(11)})
		mark(store.MirrorTouch{Kind: store.MirrorKindDepartment, ID: "12", Event: "update_party", TouchedAt: at(12)})
		mark(store.MirrorTouch{Kind: store.MirrorKindDepartment, ID: "99", Event: "create_party", TouchedAt: at(13)})
		mark(store.MirrorTouch{Kind: store.MirrorKindTag, ID: "5", Event: "update_tag", TouchedAt: at(14)})
		want := []store.MirrorTouch{
			{Kind: store.MirrorKindMember, ID: "S1", Event: "update_user", TouchedAt: at(10), FirstAt: at(10), Mirrored: true},
			{Kind: store.MirrorKindMember, ID: "console1", Event: "create_user", TouchedAt: at(11), FirstAt: at(11)},
			{Kind: store.MirrorKindDepartment, ID: "12", Event: "update_party", TouchedAt: at(12), FirstAt: at(12), Mirrored: true},
			{Kind: store.MirrorKindDepartment, ID: "99", Event: "create_party", TouchedAt: at(13), FirstAt: at(13)},
			{Kind: store.MirrorKindTag, ID: "5", Event: "update_tag", TouchedAt: at(14), FirstAt: at(14), Mirrored: true},
		}
		list := func() []store.MirrorTouch {
			t.Helper()
			got, err := db.ListMirrorTouched(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if d := cmp.Diff(want, list()); d != "" {
			t.Fatalf("touches (-want +got):\n%s", d)
		}

		// Re-delivered: nothing changes.
		mark(store.MirrorTouch{Kind: store.MirrorKindMember, ID: "S1", Event: "update_user", TouchedAt: at(10)})
		if d := cmp.Diff(want, list()); d != "" {
			t.Fatalf("after a re-delivery (-want +got):\n%s", d)
		}
		// A later event wins; an earlier one arriving late only moves FirstAt.
		mark(store.MirrorTouch{Kind: store.MirrorKindMember, ID: "S1", Event: "delete_user", Deleted: true, TouchedAt: at(20)})
		mark(store.MirrorTouch{Kind: store.MirrorKindMember, ID: "S1", Event: "create_user", TouchedAt: at(5)})
		got, err := db.GetMirrorTouch(ctx, nil, store.MirrorKindMember, "S1")
		wantS1 := store.MirrorTouch{Kind: store.MirrorKindMember, ID: "S1", Event: "delete_user", Deleted: true, TouchedAt: at(20), FirstAt: at(5), Mirrored: true}
		if err != nil || got != wantS1 {
			t.Errorf("S1 after a later and an earlier event: %+v, %v; want %+v", got, err, wantS1)
		}
		if _, err := db.GetMirrorTouch(ctx, nil, store.MirrorKindTag, "404"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("untouched tag: %v, want ErrNotFound", err)
		}

		// Clearing a touch as it was listed before the later event leaves
		// it; clearing it as it is now clears it.
		if ok, err := db.ClearMirrorTouched(ctx, nil, want[0]); err != nil || ok {
			t.Errorf("clear of a superseded touch: %v, %v; want not cleared", ok, err)
		}
		if ok, err := db.ClearMirrorTouched(ctx, nil, got); err != nil || !ok {
			t.Errorf("clear of the current touch: %v, %v; want cleared", ok, err)
		}
		if _, err := db.GetMirrorTouch(ctx, nil, store.MirrorKindMember, "S1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cleared touch: %v, want ErrNotFound", err)
		}
		if n := len(list()); n != 4 {
			t.Errorf("%d touches left, want 4", n)
		}

		for _, bad := range []store.MirrorTouch{
			{Kind: "group", ID: "1", Event: "update_tag", TouchedAt: 1},
			{Kind: store.MirrorKindMember, ID: "", Event: "update_user", TouchedAt: 1},
			{Kind: store.MirrorKindMember, ID: "x", Event: "", TouchedAt: 1},
		} {
			if err := db.MarkMirrorTouched(ctx, nil, bad); err == nil {
				t.Errorf("marked %+v", bad)
			}
		}
	})
}
