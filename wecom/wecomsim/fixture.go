package wecomsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Fixture is the contacts state the simulator starts from and returns to on
// Reset. Field shapes follow WeCom's JSON (department/get, user/get, tag/get).
type Fixture struct {
	Departments []Department `json:"departments"`
	Users       []User       `json:"users"`
	Tags        []Tag        `json:"tags"`
	// Creator is the userid of the corp creator, who cannot be deleted
	// (user/delete → 301005). Empty means no creator is protected.
	Creator string `json:"creator,omitempty"`
}

// Department is one node of the org tree, as department/get returns it.
// The root has ID 1 and ParentID 0.
type Department struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	NameEn   string `json:"name_en,omitempty"`
	ParentID int64  `json:"parentid"`
	// Order sorts siblings, bigger first; WeCom's range is [0, 2^32).
	Order int64 `json:"order"`
	// DepartmentLeader lists the department's leaders. In a Fixture it marks
	// those members is_leader_in_dept=1 for this department; the simulator
	// derives it from the members' flags when answering.
	DepartmentLeader []string `json:"department_leader,omitempty"`
}

// User is one member, as user/get returns it, plus two simulator-only
// fields (WeChatPlugin, OpenID) that WeCom keeps but does not expose.
type User struct {
	UserID         string   `json:"userid"`
	Name           string   `json:"name"`
	Department     []int64  `json:"department"`
	Order          []int64  `json:"order,omitempty"`
	Position       string   `json:"position,omitempty"`
	Mobile         string   `json:"mobile,omitempty"`
	Gender         string   `json:"gender,omitempty"` // "0" unknown, "1" male, "2" female
	Email          string   `json:"email,omitempty"`
	BizMail        string   `json:"biz_mail,omitempty"`
	IsLeaderInDept []int    `json:"is_leader_in_dept,omitempty"`
	DirectLeader   []string `json:"direct_leader,omitempty"`
	Avatar         string   `json:"avatar,omitempty"`
	Telephone      string   `json:"telephone,omitempty"`
	Alias          string   `json:"alias,omitempty"`
	Address        string   `json:"address,omitempty"`
	MainDepartment int64    `json:"main_department,omitempty"`
	// Status is 1 active (joined WeCom or follows the WeChat plugin),
	// 2 disabled, 4 not activated, 5 quit. Zero in a Fixture means 1.
	Status           int      `json:"status,omitempty"`
	ExtAttr          *ExtAttr `json:"extattr,omitempty"`
	OpenUserID       string   `json:"open_userid,omitempty"`
	ExternalPosition string   `json:"external_position,omitempty"`

	// WeChatPlugin marks a member who uses WeCom through personal WeChat
	// (followed the corp's WeChat plugin, 微信插件). Such a member is active
	// (status 1); markdown and template cards are not shown to them.
	WeChatPlugin bool `json:"wechat_plugin,omitempty"`
	// OpenID is what user/convert_to_openid returns. Members without one
	// (never logged in through WeChat nor followed the plugin) get 43004.
	// WeChat-plugin members get a generated one when left empty.
	OpenID string `json:"openid,omitempty"`
}

// ExtAttr holds a member's custom attributes (extattr).
type ExtAttr struct {
	Attrs []ExtAttrItem `json:"attrs"`
}

// ExtAttrItem is one custom attribute: Type 0 text, 1 web, 2 mini program.
type ExtAttrItem struct {
	Type        int              `json:"type"`
	Name        string           `json:"name"`
	Text        *ExtAttrText     `json:"text,omitempty"`
	Web         *ExtAttrWeb      `json:"web,omitempty"`
	Miniprogram *ExtAttrMiniprog `json:"miniprogram,omitempty"`
}

// ExtAttrText is the value of a text attribute.
type ExtAttrText struct {
	Value string `json:"value"`
}

// ExtAttrWeb is the value of a web-link attribute.
type ExtAttrWeb struct {
	URL   string `json:"url"`
	Title string `json:"title"`
}

// ExtAttrMiniprog is the value of a mini-program attribute.
type ExtAttrMiniprog struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
	Title    string `json:"title"`
}

// Tag is one tag (标签) with its direct members.
type Tag struct {
	TagID     int64    `json:"tagid"`
	TagName   string   `json:"tagname"`
	UserList  []string `json:"userlist,omitempty"`
	PartyList []int64  `json:"partylist,omitempty"`
	// Owner says which credential created the tag and so may rename it,
	// delete it or change its members (others get 60011): OwnerAdmin (the
	// admin console), OwnerContacts (the contacts-sync secret) or
	// AppOwner(agentID).
	Owner string `json:"owner,omitempty"`
}

// Tag owners. The contacts-sync secret may also edit tags created in the
// admin console (doc 90313, 60011 help: "通讯录同步助手access_token可指定超级
// 管理组及通讯录同步助手创建的标签"); an app may edit only its own.
const (
	OwnerAdmin    = ""
	OwnerContacts = "contacts"
)

// AppOwner is the Tag.Owner of tags created with the secret of app agentID.
func AppOwner(agentID int64) string { return "app:" + strconv.FormatInt(agentID, 10) }

// Validate reports every inconsistency of the fixture: missing or duplicate
// ids, unknown parents and cycles, members in unknown departments, array
// lengths that differ from the department list, duplicate mobiles and
// emails, and tags naming unknown
// members or departments. New panics on an invalid fixture.
func (f *Fixture) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	depts := make(map[int64]Department, len(f.Departments))
	for _, d := range f.Departments {
		if d.ID < 1 {
			add("department %q: id %d must be ≥ 1", d.Name, d.ID)
			continue
		}
		if _, dup := depts[d.ID]; dup {
			add("department %d: duplicate id", d.ID)
		}
		depts[d.ID] = d
	}
	for _, d := range f.Departments {
		if d.ID == rootDeptID {
			if d.ParentID != 0 {
				add("department 1 is the root and must have parentid 0")
			}
			continue
		}
		seen := map[int64]bool{d.ID: true}
		for p := d.ParentID; p != rootDeptID; {
			pd, ok := depts[p]
			if !ok {
				add("department %d: parent %d does not exist", d.ID, p)
				break
			}
			if seen[p] {
				add("department %d: parent cycle", d.ID)
				break
			}
			seen[p] = true
			p = pd.ParentID
		}
	}
	users := make(map[string]bool, len(f.Users))
	mobiles, emails := map[string]string{}, map[string]string{}
	for _, u := range f.Users {
		if other, dup := mobiles[u.Mobile]; dup && u.Mobile != "" {
			add("user %q: mobile %s also belongs to %q", u.UserID, u.Mobile, other)
		}
		if other, dup := emails[strings.ToLower(u.Email)]; dup && u.Email != "" {
			add("user %q: email %s also belongs to %q", u.UserID, u.Email, other)
		}
		mobiles[u.Mobile], emails[strings.ToLower(u.Email)] = u.UserID, u.UserID
		key := strings.ToLower(u.UserID)
		if !validUserID(u.UserID) {
			add("user %q: invalid userid", u.UserID)
		}
		if users[key] {
			add("user %q: duplicate userid (case-insensitive)", u.UserID)
		}
		users[key] = true
		for _, d := range u.Department {
			if _, ok := depts[d]; !ok && d != rootDeptID {
				add("user %q: department %d does not exist", u.UserID, d)
			}
		}
		if len(u.Order) != 0 && len(u.Order) != len(u.Department) {
			add("user %q: order has %d entries for %d departments", u.UserID, len(u.Order), len(u.Department))
		}
		if len(u.IsLeaderInDept) != 0 && len(u.IsLeaderInDept) != len(u.Department) {
			add("user %q: is_leader_in_dept has %d entries for %d departments", u.UserID, len(u.IsLeaderInDept), len(u.Department))
		}
	}
	for _, d := range f.Departments {
		for _, l := range d.DepartmentLeader {
			if !users[strings.ToLower(l)] {
				add("department %d: leader %q is not a member", d.ID, l)
			}
		}
	}
	for _, u := range f.Users {
		for _, l := range u.DirectLeader {
			if !users[strings.ToLower(l)] {
				add("user %q: direct leader %q does not exist", u.UserID, l)
			}
		}
	}
	if f.Creator != "" && !users[strings.ToLower(f.Creator)] {
		add("creator %q is not a member", f.Creator)
	}
	tags := map[int64]bool{}
	for _, t := range f.Tags {
		if t.TagID < 1 {
			add("tag %q: tagid must be ≥ 1", t.TagName)
		}
		if tags[t.TagID] {
			add("tag %d: duplicate tagid", t.TagID)
		}
		tags[t.TagID] = true
		for _, u := range t.UserList {
			if !users[strings.ToLower(u)] {
				add("tag %d: member %q does not exist", t.TagID, u)
			}
		}
		for _, p := range t.PartyList {
			if _, ok := depts[p]; !ok {
				add("tag %d: department %d does not exist", t.TagID, p)
			}
		}
	}
	return errors.Join(errs...)
}

// TestFixture is a small university used by the simulator's own tests and
// handy for others: root 1 示例大学; 计算机学院 (2) with 计算机科学系 (3),
// 软件工程系 (4) and the class 2023级软件工程1班 (8) under 4; 外国语学院 (5);
// 党政办公室 (6); 学生工作处 (7). Twenty members: the creator and president
// zhangwei (leader of 6), dean lihua (leader of 2), counselor wangfang (7 and
// 4, direct leader lihua), teachers, ten students s2023001…s2023010 in 8
// (s2023005 uses the WeChat plugin), a disabled member zhouqiang and a
// not-yet-activated wuming. Tags: 1 辅导员 {wangfang}, 2 全体教师 {zhangwei;
// parties 2, 5}, both created in the admin console.
func TestFixture() *Fixture {
	f := &Fixture{
		Creator: "zhangwei",
		Departments: []Department{
			{ID: 1, Name: "示例大学", NameEn: "Example University", ParentID: 0, Order: 100000000},
			{ID: 2, Name: "计算机学院", NameEn: "School of Computing", ParentID: 1, Order: 90000},
			{ID: 3, Name: "计算机科学系", ParentID: 2, Order: 200},
			{ID: 4, Name: "软件工程系", ParentID: 2, Order: 100},
			{ID: 5, Name: "外国语学院", ParentID: 1, Order: 80000},
			{ID: 6, Name: "党政办公室", ParentID: 1, Order: 70000, DepartmentLeader: []string{"zhangwei"}},
			{ID: 7, Name: "学生工作处", ParentID: 1, Order: 60000},
			{ID: 8, Name: "2023级软件工程1班", ParentID: 4, Order: 0},
		},
		Users: []User{
			{UserID: "zhangwei", Name: "张伟", Department: []int64{6}, Position: "校长", Mobile: "13800000001", Gender: "1", Email: "zhangwei@example.edu.cn", Status: 1},
			{UserID: "lihua", Name: "李华", Department: []int64{2}, IsLeaderInDept: []int{1}, Position: "院长", Mobile: "13800000002", Gender: "2", Email: "lihua@example.edu.cn", Status: 1},
			{UserID: "wangfang", Name: "王芳", Department: []int64{7, 4}, Order: []int64{10, 5}, IsLeaderInDept: []int{0, 0}, DirectLeader: []string{"lihua"}, Position: "辅导员", Mobile: "13800000003", Gender: "2", Email: "wangfang@example.edu.cn", Status: 1, MainDepartment: 7,
				ExtAttr: &ExtAttr{Attrs: []ExtAttrItem{{Type: 0, Name: "工号", Text: &ExtAttrText{Value: "T0003"}}}}},
			{UserID: "chenjing", Name: "陈静", Department: []int64{3}, Position: "教授", Mobile: "13800000004", Gender: "2", Status: 1},
			{UserID: "liuyang", Name: "刘洋", Department: []int64{4}, Position: "讲师", Mobile: "13800000005", Gender: "1", Status: 1},
			{UserID: "zhaolei", Name: "赵磊", Department: []int64{5}, IsLeaderInDept: []int{1}, Position: "院长", Mobile: "13800000006", Gender: "1", Status: 1},
			{UserID: "sunli", Name: "孙丽", Department: []int64{6}, Position: "秘书", Email: "sunli@example.edu.cn", Gender: "2", Telephone: "010-88880001", Status: 1},
			{UserID: "zhouqiang", Name: "周强", Department: []int64{3}, Position: "讲师", Mobile: "13800000008", Gender: "1", Status: 2},
			{UserID: "xujun", Name: "徐军", Department: []int64{3, 5}, Position: "副教授", Mobile: "13800000009", Gender: "1", Alias: "Jun", Address: "北京市海淀区示例路1号", Status: 1},
			{UserID: "wuming", Name: "吴明", Department: []int64{5}, Position: "助教", Mobile: "13800000010", Gender: "1", Status: 4},
		},
		Tags: []Tag{
			{TagID: 1, TagName: "辅导员", UserList: []string{"wangfang"}},
			{TagID: 2, TagName: "全体教师", UserList: []string{"zhangwei"}, PartyList: []int64{2, 5}},
		},
	}
	for i := 1; i <= 10; i++ {
		id := fmt.Sprintf("s20230%02d", i)
		u := User{UserID: id, Name: "学生" + strconv.Itoa(i), Department: []int64{8}, Position: "学生",
			Mobile: fmt.Sprintf("139000000%02d", i), Gender: strconv.Itoa(1 + i%2), Status: 1, DirectLeader: []string{"wangfang"}}
		if i == 5 {
			u.WeChatPlugin = true
			u.OpenID = "oSimWeChatPlugin2023005"
		}
		f.Users = append(f.Users, u)
	}
	return f
}
