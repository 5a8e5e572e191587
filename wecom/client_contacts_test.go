package wecom_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
)

// TestUpdateUserChangesOnlyWhatIsSet proves the update does not go through
// silenceper's UserUpdateRequest (which sends enable=0 and blank fields).
func TestUpdateUserChangesOnlyWhatIsSet(t *testing.T) {
	e := newEnv(t)
	cl := e.contacts(t)
	// Today the contacts-sync secret writes but cannot read members (48009);
	// the app reads them, without mobile, email, gender, avatar or address.
	rd := e.hall(t)
	before, err := rd.GetUser(ctx, "wangfang")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.UpdateUser(ctx, &wecom.UserUpdate{UserID: "wangfang", Position: wecom.Ptr("学工处副处长")}); err != nil {
		t.Fatal(err)
	}
	after, err := rd.GetUser(ctx, "wangfang")
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != wecom.StatusActive {
		t.Errorf("status = %d after updating the position, want %d (still enabled)", after.Status, wecom.StatusActive)
	}
	want := *before
	want.Position = "学工处副处长"
	if diff := cmp.Diff(want, *after); diff != "" {
		t.Errorf("fields other than position changed (-want +got):\n%s", diff)
	}
	changes := e.sim.Changes()
	if last := changes[len(changes)-1]; !cmp.Equal(last.Fields, []string{"position"}) {
		t.Errorf("simulator saw fields %v changed, want [position]", last.Fields)
	}

	// Explicit zero values are sent: disable, then clear the alias.
	if err := cl.UpdateUser(ctx, &wecom.UserUpdate{UserID: "wangfang", Enable: wecom.Ptr(0)}); err != nil {
		t.Fatal(err)
	}
	if u, _ := rd.GetUser(ctx, "wangfang"); u.Status != wecom.StatusDisabled {
		t.Errorf("status = %d after enable=0, want %d", u.Status, wecom.StatusDisabled)
	}
	if err := cl.UpdateUser(ctx, &wecom.UserUpdate{UserID: "xujun", Alias: wecom.Ptr("")}); err != nil {
		t.Fatal(err)
	}
	if u, _ := rd.GetUser(ctx, "xujun"); u.Alias != "" {
		t.Errorf("after clearing alias: alias %q", u.Alias)
	}
	for _, u := range e.sim.Snapshot().Users {
		if u.UserID == "xujun" && u.Address == "" {
			t.Errorf("clearing the alias cleared the address")
		}
	}
}

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	cl := e.contacts(t)
	rd := e.hall(t) // reads: today the contacts-sync secret gets 48009
	create := &wecom.UserCreate{UserID: "newteacher", Name: "新教师", Department: []int{3}, Mobile: "13700000001", Position: "讲师"}
	if err := cl.CreateUser(ctx, create); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetUser(ctx, "newteacher"); !wecom.IsCode(err, 48009) {
		t.Errorf("user/get with the contacts-sync secret: %v, want 48009", err)
	}
	u, err := rd.GetUser(ctx, "newteacher")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "新教师" || !cmp.Equal(u.Department, []int{3}) || u.Status == wecom.StatusDisabled {
		t.Errorf("created user = %+v (must not be disabled)", u)
	}
	if err := cl.CreateUser(ctx, create); !wecom.IsCode(err, wecom.CodeUserExists) {
		t.Errorf("second create: %v, want 60102", err)
	}
	list, err := rd.UserSimpleList(ctx, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if !containsUser(list, "newteacher") {
		t.Errorf("simplelist of 3 lacks newteacher: %+v", list)
	}
	all, err := rd.UserSimpleList(ctx, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if !containsUser(all, "newteacher") || !containsUser(all, "s2023001") {
		t.Errorf("recursive simplelist of 2 = %d members, lacks newteacher or s2023001", len(all))
	}
	detailed, err := rd.ListUsers(ctx, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, d := range detailed {
		found = found || (d.UserID == "newteacher" && d.Position == "讲师")
	}
	if !found {
		t.Errorf("user/list of 3 lacks newteacher: %+v", detailed)
	}
	if err := cl.DeleteUser(ctx, "newteacher"); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteUser(ctx, "newteacher"); !wecom.IsNotFound(err) {
		t.Errorf("second delete: %v, want not found", err)
	}
	if err := cl.BatchDeleteUsers(ctx, []string{"s2023009", "s2023010"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.GetUser(ctx, "s2023010"); !wecom.IsCode(err, wecom.CodeUserNotFound) {
		t.Errorf("after batchdelete: %v", err)
	}
}

func containsUser(list []wecom.SimpleUser, id string) bool {
	for _, u := range list {
		if u.UserID == id {
			return true
		}
	}
	return false
}

func TestListUserIDsPages(t *testing.T) {
	e := newEnv(t)
	cl := e.contacts(t)
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		p, err := cl.ListUserIDs(ctx, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, du := range p.DeptUser {
			seen[du.UserID] = true
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 20 {
			t.Fatal("cursor never ends")
		}
	}
	if len(seen) != 20 || pages < 3 {
		t.Errorf("%d members over %d pages, want 20 over ≥3", len(seen), pages)
	}
	if _, err := e.hall(t).ListUserIDs(ctx, "", 10); !wecom.IsCode(err, wecom.CodeNoPermission) {
		t.Errorf("list_id with an app secret: %v, want 48002", err)
	}
}

func TestDepartmentLifecycle(t *testing.T) {
	e := newEnv(t)
	cl := e.contacts(t)
	rd := e.hall(t) // department/get and /list: today the contacts-sync secret gets 48009
	id, err := cl.CreateDepartment(ctx, wecom.DepartmentCreate{Name: "人工智能学院", ParentID: 1, Order: 500})
	if err != nil {
		t.Fatal(err)
	}
	if id <= 8 {
		t.Errorf("new id = %d", id)
	}
	// Order 0 is a real value: it must be sent (silenceper's struct drops it).
	if err := cl.UpdateDepartment(ctx, wecom.DepartmentUpdate{ID: id, Order: wecom.Ptr[int64](0)}); err != nil {
		t.Fatal(err)
	}
	d, err := rd.GetDepartment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := (wecom.Department{ID: id, Name: "人工智能学院", ParentID: 1, Order: 0}); !cmp.Equal(*d, want, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Leaders" }, cmp.Ignore())) {
		t.Errorf("department = %+v, want %+v", *d, want)
	}
	if err := cl.UpdateDepartment(ctx, wecom.DepartmentUpdate{ID: id, Name: wecom.Ptr("智能学院"), ParentID: wecom.Ptr(2)}); err != nil {
		t.Fatal(err)
	}
	list, err := rd.ListDepartments(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var moved bool
	for _, d := range list {
		moved = moved || (d.ID == id && d.Name == "智能学院" && d.ParentID == 2)
	}
	if !moved {
		t.Errorf("department/list 2 = %+v, lacks the moved department", list)
	}
	refs, err := cl.DepartmentSimpleList(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 9 {
		t.Errorf("simplelist (all) = %d departments, want 9", len(refs))
	}
	sub, err := cl.DepartmentSimpleList(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) != 2 {
		t.Errorf("simplelist 4 = %+v, want 4 and 8", sub)
	}
	if err := cl.DeleteDepartment(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.GetDepartment(ctx, id); !wecom.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
	// An app secret may not write contacts.
	if _, err := e.hall(t).CreateDepartment(ctx, wecom.DepartmentCreate{Name: "x", ParentID: 1}); !wecom.IsCode(err, wecom.CodeNoPermission) {
		t.Errorf("create with the app secret: %v, want 48002", err)
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	id, err := hall.CreateTag(ctx, "班主任", 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := hall.AddTagUsers(ctx, id, []string{"lihua", "nobody"}, []int{3, 999})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&wecom.TagChange{InvalidUsers: []string{"nobody"}, InvalidParties: []int{999}}, res); diff != "" {
		t.Errorf("partial add (-want +got):\n%s", diff)
	}
	if _, err := hall.AddTagUsers(ctx, id, []string{"nobody"}, nil); !wecom.IsCode(err, wecom.CodeAllTagListInvalid) {
		t.Errorf("all invalid: %v, want 40070", err)
	}
	if _, err := hall.AddTagUsers(ctx, id, nil, nil); err == nil {
		t.Error("empty lists accepted")
	}
	members, err := hall.GetTag(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if members.Name != "班主任" || len(members.Users) != 1 || members.Users[0].UserID != "lihua" || !cmp.Equal(members.Parties, []int{3}) {
		t.Errorf("tag/get = %+v", members)
	}
	if _, err := hall.DeleteTagUsers(ctx, id, []string{"lihua"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := hall.UpdateTag(ctx, id, "班主任组"); err != nil {
		t.Fatal(err)
	}
	tags, err := hall.ListTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(tags[len(tags)-1], wecom.Tag{ID: id, Name: "班主任组"}) {
		t.Errorf("tag/list = %+v", tags)
	}
	// Only the creating secret may change a tag.
	other := e.contacts(t)
	var we *wecom.Error
	if err := other.DeleteTag(ctx, id); !errors.As(err, &we) || we.Code != wecom.CodeNoPrivilege {
		t.Errorf("delete by another secret: %v, want 60011", err)
	}
	if err := hall.DeleteTag(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestConvertToOpenID(t *testing.T) {
	e := newEnv(t)
	openid, err := e.hall(t).ConvertToOpenID(ctx, "s2023005")
	if err != nil || openid != "oSimWeChatPlugin2023005" {
		t.Errorf("ConvertToOpenID = %q, %v", openid, err)
	}
	if _, err := e.hall(t).ConvertToOpenID(ctx, "lihua"); !wecom.IsCode(err, 43004) {
		t.Errorf("member without WeChat: %v, want 43004", err)
	}
}
