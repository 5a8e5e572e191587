package contacts_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func errorsIsNotFound(err error) bool { return errors.Is(err, contacts.ErrNotFound) }

// TestMirrorRoundTrip: what the sync records after its API calls is what
// Load gives back for the next diff, and the mirror forgets what was
// deleted in WeCom.
func TestMirrorRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newMirror(t, db)
		t1 := time.UnixMilli(1_700_000_000_000).UTC()
		depts := []contacts.Department{
			{ID: 2, DCCode: "A01", Name: "水产学院", ParentID: 1, Order: 100, Leaders: []string{"T0001"}},
			{ID: 3, DCCode: "A0101", Name: "2024级水产养殖1班", ParentID: 2, Order: 1},
		}
		members := []contacts.Member{
			{UserID: "S2024001", Name: "王芳", Departments: []contacts.Membership{{Department: 3, Order: 10}}, MainDepartment: 3,
				Gender: 2, Enabled: true, Mobile: "13912345678", Email: "wangfang@demo.edu.cn"},
			{UserID: "T0001", Name: "李老师", Departments: []contacts.Membership{{Department: 2, Order: 100, Leader: true}, {Department: 3}},
				MainDepartment: 2, Position: "院长", Gender: 1, Enabled: true, Mobile: "13800138000"},
		}
		if err := m.PutDepartments(ctx, nil, depts, t1); err != nil {
			t.Fatal(err)
		}
		if err := m.PutMembers(ctx, nil, members, t1); err != nil {
			t.Fatal(err)
		}
		if err := m.PutTags(ctx, nil, []contacts.Tag{{ID: 5, Name: "2024级本科生"}}, t1); err != nil {
			t.Fatal(err)
		}
		if err := m.AddTagMembers(ctx, nil, 5, []string{"S2024001"}, []int64{3}, t1); err != nil {
			t.Fatal(err)
		}
		st, err := m.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range depts {
			depts[i].WrittenAt = t1
		}
		for i := range members {
			members[i].WrittenAt = t1
		}
		want := contacts.State{
			Departments: depts,
			Members:     members,
			Tags:        []contacts.Tag{{ID: 5, Name: "2024级本科生", Users: []string{"S2024001"}, Parties: []int64{3}, WrittenAt: t1}},
		}
		if d := cmp.Diff(want, st); d != "" {
			t.Errorf("load (-want +got):\n%s", d)
		}
		if got, err := m.Member(ctx, "T0001"); err != nil || cmp.Diff(members[1], got) != "" {
			t.Errorf("member T0001: %+v, %v", got, err)
		}
		if got, err := m.Department(ctx, 2); err != nil || cmp.Diff(depts[0], got) != "" {
			t.Errorf("department 2: %+v, %v", got, err)
		}
		if ids, err := m.MembersByMobile(ctx, "+86 138-0013-8000"); err != nil || !slices.Equal(ids, []string{"T0001"}) {
			t.Errorf("members by mobile: %v, %v", ids, err)
		}
		// Sealed at rest through the domain API too.
		storetest.NoPlaintext(t, db, "contacts_members", "13912345678", "13800138000", "wangfang@demo.edu.cn")

		if n, err := m.RemoveTagMembers(ctx, nil, 5, nil, []int64{3}); err != nil || n != 1 {
			t.Fatalf("remove tag members: %d, %v", n, err)
		}
		if n, err := m.DeleteMembers(ctx, nil, []string{"S2024001"}); err != nil || n != 1 {
			t.Fatalf("delete members: %d, %v", n, err)
		}
		if n, err := m.DeleteDepartments(ctx, nil, []int64{3}); err != nil || n != 1 {
			t.Fatalf("delete departments: %d, %v", n, err)
		}
		tag, err := m.Tag(ctx, 5)
		if err != nil || len(tag.Users) != 0 || len(tag.Parties) != 0 {
			t.Errorf("tag 5 after its member and department went: %+v, %v", tag, err)
		}
		if n, err := m.DeleteTags(ctx, nil, []int64{5}); err != nil || n != 1 {
			t.Fatalf("delete tags: %d, %v", n, err)
		}
		for _, err := range []error{
			func() error { _, err := m.Member(ctx, "S2024001"); return err }(),
			func() error { _, err := m.Department(ctx, 3); return err }(),
			func() error { _, err := m.Tag(ctx, 5); return err }(),
		} {
			if !errorsIsNotFound(err) {
				t.Errorf("deleted object: %v, want ErrNotFound", err)
			}
		}
		st, err = m.Load(ctx)
		if err != nil || len(st.Departments) != 1 || len(st.Members) != 1 || len(st.Tags) != 0 {
			t.Errorf("load after the deletions: %+v, %v", st, err)
		}
	})
}
