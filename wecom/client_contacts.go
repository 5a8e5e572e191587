package wecom

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/silenceper/wechat/v2/work/addresslist"
	"go.uber.org/zap"
)

// Contacts (通讯录, §5). Writes need the contacts-sync client
// (Corp.Contacts); an app secret gets 48002.
//
// silenceper audit (v2.1.10, work/addresslist), by request struct:
//   - DepartmentCreateRequest: safe (id, order, name_en omitempty; zero means
//     "let WeCom choose" for each). Used.
//   - DepartmentUpdateRequest: unsafe. Every field is omitempty, so order 0
//     (a legal value) and parentid/name_en "set to empty" cannot be sent.
//     Replaced by DepartmentUpdate (pointer fields).
//   - UserCreateRequest: unsafe. enable, gender, to_invite, main_department,
//     extattr, external_profile … have no omitempty: a plain create would
//     send enable=0 (a disabled member), to_invite=false and gender 0.
//     Replaced by UserCreate.
//   - UserUpdateRequest: unsafe, same reason: every update would disable the
//     member (enable=0) and blank out every field not set. Replaced by
//     UserUpdate (pointer fields; only what is set is sent).
//   - AddTagUsersRequest / DelTagUsersRequest: nil lists encode as null; we
//     always pass non-nil slices so WeCom sees [] (an empty array is what the
//     API documents). Used.
//   - CreateTagRequest, UpdateTagRequest, UserListIDRequest: safe. Used.
//   - UserSimpleList has no fetch_child, DepartmentSimpleList always sends
//     id (id=0 is not "everything"): our own plumbing covers those cases.

// Department is a department (部门).
type Department struct {
	ID       int      `json:"id"`
	Name     string   `json:"name"`
	NameEn   string   `json:"name_en,omitempty"`
	Leaders  []string `json:"department_leader,omitempty"`
	ParentID int      `json:"parentid"`
	// Order is the position among siblings, [0, 2^32), bigger first.
	Order int64 `json:"order"`
}

// DepartmentRef is a department/simplelist row.
type DepartmentRef struct {
	ID       int   `json:"id"`
	ParentID int   `json:"parentid"`
	Order    int64 `json:"order"`
}

// DepartmentCreate is a department/create request. ID 0 lets WeCom choose
// (then the call is not retried once it may have reached WeCom, because a
// retry could create a second department).
type DepartmentCreate struct {
	ID       int
	Name     string
	NameEn   string
	ParentID int
	Order    int64
}

// DepartmentUpdate is a department/update request. Nil fields are left
// unchanged; a non-nil pointer is sent even when it points to a zero value.
type DepartmentUpdate struct {
	ID       int     `json:"id"`
	Name     *string `json:"name,omitempty"`
	NameEn   *string `json:"name_en,omitempty"`
	ParentID *int    `json:"parentid,omitempty"`
	Order    *int64  `json:"order,omitempty"`
}

// Ptr returns a pointer to v, for the optional fields of update requests.
func Ptr[T any](v T) *T { return &v }

// CreateDepartment creates a department and returns its id.
func (cl *Client) CreateDepartment(ctx context.Context, d DepartmentCreate) (int, error) {
	const api = "department/create"
	var id int
	err := cl.do(ctx, callSpec{api: api, idempotent: d.ID != 0}, func(cs *callState) error {
		resp, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).DepartmentCreate(&addresslist.DepartmentCreateRequest{
			Name: d.Name, NameEn: d.NameEn, ParentID: d.ParentID, Order: int(d.Order), ID: d.ID,
		})
		if err == nil {
			id = resp.ID
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("wecom: department/create %q under %d: %w", d.Name, d.ParentID, err)
	}
	return id, nil
}

// UpdateDepartment changes the fields set in u.
func (cl *Client) UpdateDepartment(ctx context.Context, u DepartmentUpdate) error {
	const api = "department/update"
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		return cs.postJSON(api, nil, u, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: department/update %d: %w", u.ID, err)
	}
	return nil
}

// DeleteDepartment deletes an empty department. A retry after a lost answer
// may report 60003; IsNotFound treats that as done.
func (cl *Client) DeleteDepartment(ctx context.Context, id int) error {
	const api = "department/delete"
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		return addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).DepartmentDelete(id)
	})
	if err != nil {
		return fmt.Errorf("wecom: department/delete %d: %w", id, err)
	}
	return nil
}

// ListDepartments returns department id and its subtree; id 0 means every
// department the secret can see. (Restricted for the contacts-sync secret
// from new IPs, 48009: use DepartmentSimpleList + GetDepartment.)
func (cl *Client) ListDepartments(ctx context.Context, id int) ([]Department, error) {
	const api = "department/list"
	var out []Department
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		list, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).DepartmentListByID(id)
		if err != nil {
			return err
		}
		out = make([]Department, 0, len(list))
		for _, d := range list {
			out = append(out, fromSDKDepartment(d))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: department/list %d: %w", id, err)
	}
	return out, nil
}

func fromSDKDepartment(d *addresslist.Department) Department {
	return Department{ID: d.ID, Name: d.Name, NameEn: d.NameEn, Leaders: d.DepartmentLeader, ParentID: d.ParentID, Order: int64(d.Order)}
}

type simpleListResponse struct {
	apiResponse
	DepartmentID []DepartmentRef `json:"department_id"`
}

// DepartmentSimpleList returns the ids of department id and its subtree
// (id 0: everything visible).
func (cl *Client) DepartmentSimpleList(ctx context.Context, id int) ([]DepartmentRef, error) {
	const api = "department/simplelist"
	var out []DepartmentRef
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		if id == 0 {
			var r simpleListResponse
			if err := cs.getJSON(api, nil, &r); err != nil {
				return err
			}
			out = r.DepartmentID
			return nil
		}
		list, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).DepartmentSimpleList(id)
		if err != nil {
			return err
		}
		out = make([]DepartmentRef, 0, len(list))
		for _, d := range list {
			out = append(out, DepartmentRef{ID: d.ID, ParentID: d.ParentID, Order: int64(d.Order)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: department/simplelist %d: %w", id, err)
	}
	return out, nil
}

// GetDepartment returns one department.
func (cl *Client) GetDepartment(ctx context.Context, id int) (*Department, error) {
	const api = "department/get"
	var out Department
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		d, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).DepartmentGet(id)
		if err != nil {
			return err
		}
		out = fromSDKDepartment(d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: department/get %d: %w", id, err)
	}
	return &out, nil
}

// User is a member (成员) as user/get and user/list return it. Fields the
// secret may not read come back empty (§1: new apps get no mobile, email…).
type User struct {
	UserID           string    `json:"userid"`
	Name             string    `json:"name"`
	Department       []int     `json:"department"`
	Order            []int64   `json:"order"`
	Position         string    `json:"position"`
	Mobile           string    `json:"mobile"`
	Gender           string    `json:"gender"` // "0" unknown, "1" male, "2" female
	Email            string    `json:"email"`
	BizMail          string    `json:"biz_mail"`
	IsLeaderInDept   []int     `json:"is_leader_in_dept"`
	DirectLeader     []string  `json:"direct_leader"`
	Avatar           string    `json:"avatar"`
	ThumbAvatar      string    `json:"thumb_avatar"`
	Telephone        string    `json:"telephone"`
	Alias            string    `json:"alias"`
	Address          string    `json:"address"`
	OpenUserID       string    `json:"open_userid"`
	MainDepartment   int       `json:"main_department"`
	UserAttr         UserAttrs `json:"extattr"`
	Status           int       `json:"status"` // 1 active, 2 disabled, 4 not activated, 5 quit
	QRCode           string    `json:"qr_code"`
	ExternalPosition string    `json:"external_position"`
	Enable           *int      `json:"enable,omitempty"` // user/list only
}

// User status values.
const (
	StatusActive       = 1
	StatusDisabled     = 2
	StatusNotActivated = 4
	StatusQuit         = 5
)

// UserAttrs are a member's extension attributes (扩展属性).
type UserAttrs struct {
	Attrs []UserAttr `json:"attrs"`
}

// UserAttr is one extension attribute: Type 0 text, 1 web, 2 mini program.
type UserAttr struct {
	Type int           `json:"type"`
	Name string        `json:"name"`
	Text *UserAttrText `json:"text,omitempty"`
	Web  *UserAttrWeb  `json:"web,omitempty"`
}

// UserAttrText is a text attribute's value.
type UserAttrText struct {
	Value string `json:"value"`
}

// UserAttrWeb is a web attribute's link.
type UserAttrWeb struct {
	URL   string `json:"url"`
	Title string `json:"title"`
}

// UserCreate is a user/create request. Only set fields are sent, so WeCom's
// defaults apply to the rest (enabled, invited).
type UserCreate struct {
	UserID           string     `json:"userid"`
	Name             string     `json:"name"`
	Alias            string     `json:"alias,omitempty"`
	Mobile           string     `json:"mobile,omitempty"`
	Department       []int      `json:"department"`
	Order            []int64    `json:"order,omitempty"`
	Position         string     `json:"position,omitempty"`
	Gender           string     `json:"gender,omitempty"`
	Email            string     `json:"email,omitempty"`
	BizMail          string     `json:"biz_mail,omitempty"`
	Telephone        string     `json:"telephone,omitempty"`
	IsLeaderInDept   []int      `json:"is_leader_in_dept,omitempty"`
	DirectLeader     []string   `json:"direct_leader,omitempty"`
	Enable           *int       `json:"enable,omitempty"`
	AvatarMediaID    string     `json:"avatar_mediaid,omitempty"`
	Address          string     `json:"address,omitempty"`
	MainDepartment   int        `json:"main_department,omitempty"`
	UserAttr         *UserAttrs `json:"extattr,omitempty"`
	ToInvite         *bool      `json:"to_invite,omitempty"`
	ExternalPosition string     `json:"external_position,omitempty"`
}

// UserUpdate is a user/update request: nil fields are left unchanged, a
// non-nil pointer is sent even when it points to "" or 0 (to clear a value).
// Slices are sent when non-nil; DirectLeader uses a pointer so an empty list
// can clear the leaders.
type UserUpdate struct {
	UserID           string     `json:"userid"`
	NewUserID        string     `json:"new_userid,omitempty"`
	Name             *string    `json:"name,omitempty"`
	Alias            *string    `json:"alias,omitempty"`
	Mobile           *string    `json:"mobile,omitempty"`
	Department       []int      `json:"department,omitempty"`
	Order            []int64    `json:"order,omitempty"`
	Position         *string    `json:"position,omitempty"`
	Gender           *string    `json:"gender,omitempty"`
	Email            *string    `json:"email,omitempty"`
	BizMail          *string    `json:"biz_mail,omitempty"`
	Telephone        *string    `json:"telephone,omitempty"`
	IsLeaderInDept   []int      `json:"is_leader_in_dept,omitempty"`
	DirectLeader     *[]string  `json:"direct_leader,omitempty"`
	Enable           *int       `json:"enable,omitempty"`
	AvatarMediaID    *string    `json:"avatar_mediaid,omitempty"`
	Address          *string    `json:"address,omitempty"`
	MainDepartment   *int       `json:"main_department,omitempty"`
	UserAttr         *UserAttrs `json:"extattr,omitempty"`
	ExternalPosition *string    `json:"external_position,omitempty"`
}

// CreateUser creates a member. A retry after a lost answer may report 60102
// (userid exists).
func (cl *Client) CreateUser(ctx context.Context, u *UserCreate) error {
	const api = "user/create"
	err := cl.do(ctx, callSpec{api: api, idempotent: true, fields: []zap.Field{zap.String("userid", u.UserID)}}, func(cs *callState) error {
		return cs.postJSON(api, nil, u, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: user/create %s: %w", u.UserID, err)
	}
	return nil
}

// UpdateUser changes the fields set in u and nothing else.
func (cl *Client) UpdateUser(ctx context.Context, u *UserUpdate) error {
	const api = "user/update"
	err := cl.do(ctx, callSpec{api: api, idempotent: true, fields: []zap.Field{zap.String("userid", u.UserID)}}, func(cs *callState) error {
		return cs.postJSON(api, nil, u, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: user/update %s: %w", u.UserID, err)
	}
	return nil
}

// GetUser reads one member.
func (cl *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	const api = "user/get"
	var out User
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		r, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).UserGet(userID)
		if err != nil {
			return err
		}
		out = fromSDKUser(r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: user/get %s: %w", userID, err)
	}
	return &out, nil
}

func fromSDKUser(r *addresslist.UserGetResponse) User {
	u := User{
		UserID: r.UserID, Name: r.Name, Department: r.Department, Position: r.Position, Mobile: r.Mobile,
		Gender: r.Gender, Email: r.Email, BizMail: r.BizMail, IsLeaderInDept: r.IsLeaderInDept,
		DirectLeader: r.DirectLeader, Avatar: r.Avatar, ThumbAvatar: r.ThumbAvatar, Telephone: r.Telephone,
		Alias: r.Alias, Address: r.Address, OpenUserID: r.OpenUserid, MainDepartment: r.MainDepartment,
		Status: r.Status, QRCode: r.QrCode, ExternalPosition: r.ExternalPosition,
	}
	for _, o := range r.Order {
		u.Order = append(u.Order, int64(o))
	}
	for _, a := range r.Extattr.Attrs {
		x := UserAttr{Type: a.Type, Name: a.Name}
		switch a.Type {
		case 0:
			x.Text = &UserAttrText{Value: a.Text.Value}
		case 1:
			x.Web = &UserAttrWeb{URL: a.Web.URL, Title: a.Web.Title}
		}
		u.UserAttr.Attrs = append(u.UserAttr.Attrs, x)
	}
	return u
}

// DeleteUser deletes a member. A retry after a lost answer may report 60111;
// IsNotFound treats that as done.
func (cl *Client) DeleteUser(ctx context.Context, userID string) error {
	const api = "user/delete"
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		_, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).UserDelete(userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("wecom: user/delete %s: %w", userID, err)
	}
	return nil
}

// MaxBatchDelete is user/batchdelete's limit.
const MaxBatchDelete = 200

// BatchDeleteUsers deletes up to 200 members; one invalid id fails the
// whole call.
func (cl *Client) BatchDeleteUsers(ctx context.Context, userIDs []string) error {
	const api = "user/batchdelete"
	if len(userIDs) == 0 || len(userIDs) > MaxBatchDelete {
		return fmt.Errorf("wecom: user/batchdelete: %d userids, want 1..%d", len(userIDs), MaxBatchDelete)
	}
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		return cs.postJSON(api, nil, map[string][]string{"useridlist": userIDs}, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: user/batchdelete %d users (first %s): %w", len(userIDs), userIDs[0], err)
	}
	return nil
}

// DeptUser is one (member, department) row of user/list_id.
type DeptUser struct {
	UserID     string `json:"userid"`
	Department int    `json:"department"`
}

// UserIDPage is one page of user/list_id; NextCursor "" means done.
type UserIDPage struct {
	NextCursor string
	DeptUser   []DeptUser
}

// ListUserIDs pages through every member (contacts-sync secret only):
// limit 1..10000, cursor "" for the first page.
func (cl *Client) ListUserIDs(ctx context.Context, cursor string, limit int) (*UserIDPage, error) {
	const api = "user/list_id"
	var out UserIDPage
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		r, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).UserListID(&addresslist.UserListIDRequest{Cursor: cursor, Limit: limit})
		if err != nil {
			return err
		}
		out = UserIDPage{NextCursor: r.NextCursor, DeptUser: make([]DeptUser, 0, len(r.DeptUser))}
		for _, du := range r.DeptUser {
			out.DeptUser = append(out.DeptUser, DeptUser{UserID: du.UserID, Department: du.Department})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: user/list_id cursor %q: %w", cursor, err)
	}
	return &out, nil
}

// SimpleUser is a user/simplelist row.
type SimpleUser struct {
	UserID     string `json:"userid"`
	Name       string `json:"name"`
	Department []int  `json:"department"`
	OpenUserID string `json:"open_userid,omitempty"`
}

type userSimpleListResponse struct {
	apiResponse
	UserList []SimpleUser `json:"userlist"`
}

// UserSimpleList lists the members of a department (and its subtree when
// fetchChild).
func (cl *Client) UserSimpleList(ctx context.Context, departmentID int, fetchChild bool) ([]SimpleUser, error) {
	const api = "user/simplelist"
	var out []SimpleUser
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		if fetchChild {
			var r userSimpleListResponse
			q := url.Values{"department_id": {strconv.Itoa(departmentID)}, "fetch_child": {"1"}}
			if err := cs.getJSON(api, q, &r); err != nil {
				return err
			}
			out = r.UserList
			return nil
		}
		list, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).UserSimpleList(departmentID)
		if err != nil {
			return err
		}
		out = make([]SimpleUser, 0, len(list))
		for _, u := range list {
			out = append(out, SimpleUser{UserID: u.UserID, Name: u.Name, Department: u.Department, OpenUserID: u.OpenUserID})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: user/simplelist %d: %w", departmentID, err)
	}
	return out, nil
}

type userListResponse struct {
	apiResponse
	UserList []User `json:"userlist"`
}

// ListUsers lists the members of a department with details (and its subtree
// when fetchChild).
func (cl *Client) ListUsers(ctx context.Context, departmentID int, fetchChild bool) ([]User, error) {
	const api = "user/list"
	var out []User
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		var r userListResponse
		q := url.Values{"department_id": {strconv.Itoa(departmentID)}}
		if fetchChild {
			q.Set("fetch_child", "1")
		}
		if err := cs.getJSON(api, q, &r); err != nil {
			return err
		}
		out = r.UserList
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: user/list %d: %w", departmentID, err)
	}
	return out, nil
}

// ConvertToOpenID returns the member's openid (43004 if the member never
// logged into WeCom with WeChat nor followed the WeChat plugin).
func (cl *Client) ConvertToOpenID(ctx context.Context, userID string) (string, error) {
	const api = "user/convert_to_openid"
	var out string
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		var err error
		out, err = addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).ConvertToOpenID(userID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("wecom: user/convert_to_openid %s: %w", userID, err)
	}
	return out, nil
}

// Tag is a tag (标签).
type Tag struct {
	ID   int    `json:"tagid"`
	Name string `json:"tagname"`
}

// TagMembers is tag/get's answer (only members in the caller's visible
// range).
type TagMembers struct {
	Name    string
	Users   []TagUser
	Parties []int
}

// TagUser is one member of a tag.
type TagUser struct {
	UserID string
	Name   string
}

// TagChange is the partial result of tag/addtagusers and tag/deltagusers:
// errcode 0 while some ids were invalid.
type TagChange struct {
	// InvalidUsers comes from "invalidlist":"u1|u2".
	InvalidUsers []string
	// InvalidParties comes from "invalidparty":[2,4].
	InvalidParties []int
}

// Tag limits per addtagusers/deltagusers call.
const (
	MaxTagUsersPerCall   = 1000
	MaxTagPartiesPerCall = 100
)

// CreateTag creates a tag (id 0: WeCom chooses) and returns its id. Only the
// creating secret may change it later (60011 otherwise).
func (cl *Client) CreateTag(ctx context.Context, name string, id int) (int, error) {
	const api = "tag/create"
	var out int
	err := cl.do(ctx, callSpec{api: api, idempotent: id != 0}, func(cs *callState) error {
		r, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).CreateTag(&addresslist.CreateTagRequest{TagName: name, TagID: id})
		if err == nil {
			out = r.TagID
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("wecom: tag/create %q: %w", name, err)
	}
	return out, nil
}

// UpdateTag renames a tag.
func (cl *Client) UpdateTag(ctx context.Context, id int, name string) error {
	const api = "tag/update"
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		return addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).UpdateTag(&addresslist.UpdateTagRequest{TagID: id, TagName: name})
	})
	if err != nil {
		return fmt.Errorf("wecom: tag/update %d: %w", id, err)
	}
	return nil
}

// DeleteTag deletes a tag.
func (cl *Client) DeleteTag(ctx context.Context, id int) error {
	const api = "tag/delete"
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		return addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).DeleteTag(id)
	})
	if err != nil {
		return fmt.Errorf("wecom: tag/delete %d: %w", id, err)
	}
	return nil
}

// GetTag returns a tag's members.
func (cl *Client) GetTag(ctx context.Context, id int) (*TagMembers, error) {
	const api = "tag/get"
	var out TagMembers
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		r, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).GetTag(id)
		if err != nil {
			return err
		}
		out = TagMembers{Name: r.TagName, Parties: r.PartyList, Users: make([]TagUser, 0, len(r.UserList))}
		for _, u := range r.UserList {
			out.Users = append(out.Users, TagUser{UserID: u.UserID, Name: u.Name})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: tag/get %d: %w", id, err)
	}
	return &out, nil
}

// ListTags returns every tag.
func (cl *Client) ListTags(ctx context.Context) ([]Tag, error) {
	const api = "tag/list"
	var out []Tag
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		r, err := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0)).ListTag()
		if err != nil {
			return err
		}
		out = make([]Tag, 0, len(r.TagList))
		for _, t := range r.TagList {
			out = append(out, Tag{ID: t.TagID, Name: t.TagName})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: tag/list: %w", err)
	}
	return out, nil
}

// AddTagUsers adds members and departments to a tag (≤1000 users, ≤100
// parties per call). Invalid ids do not fail the call: they come back in
// TagChange. All invalid is 40070.
func (cl *Client) AddTagUsers(ctx context.Context, tagID int, users []string, parties []int) (*TagChange, error) {
	return cl.changeTagUsers(ctx, "tag/addtagusers", tagID, users, parties)
}

// DeleteTagUsers removes members and departments from a tag; see
// AddTagUsers for limits and partial results (all invalid: 40031).
func (cl *Client) DeleteTagUsers(ctx context.Context, tagID int, users []string, parties []int) (*TagChange, error) {
	return cl.changeTagUsers(ctx, "tag/deltagusers", tagID, users, parties)
}

// changeTagUsers is tag/addtagusers and tag/deltagusers, which share their
// request and response shapes. Lists go as [] rather than null: silenceper
// would send a nil slice as null.
func (cl *Client) changeTagUsers(ctx context.Context, api string, tagID int, users []string, parties []int) (*TagChange, error) {
	if err := checkTagLists(users, parties); err != nil {
		return nil, fmt.Errorf("wecom: %s %d: %w", api, tagID, err)
	}
	var out TagChange
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		al := addresslist.NewClient(cs.sdk(cl.corp.corpID, 0))
		var invalidList string
		var invalidParty []int
		if api == "tag/addtagusers" {
			r, err := al.AddTagUsers(&addresslist.AddTagUsersRequest{TagID: tagID, UserList: nonNil(users), PartyList: nonNil(parties)})
			if err != nil {
				return err
			}
			invalidList, invalidParty = r.InvalidList, r.InvalidParty
		} else {
			r, err := al.DelTagUsers(&addresslist.DelTagUsersRequest{TagID: tagID, UserList: nonNil(users), PartyList: nonNil(parties)})
			if err != nil {
				return err
			}
			invalidList, invalidParty = r.InvalidList, r.InvalidParty
		}
		out = TagChange{InvalidUsers: splitPipe(invalidList), InvalidParties: invalidParty}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s %d: %w", api, tagID, err)
	}
	return &out, nil
}

func checkTagLists(users []string, parties []int) error {
	switch {
	case len(users) == 0 && len(parties) == 0:
		return fmt.Errorf("userlist and partylist are both empty")
	case len(users) > MaxTagUsersPerCall:
		return fmt.Errorf("%d users, at most %d per call", len(users), MaxTagUsersPerCall)
	case len(parties) > MaxTagPartiesPerCall:
		return fmt.Errorf("%d parties, at most %d per call", len(parties), MaxTagPartiesPerCall)
	}
	return nil
}

// nonNil makes a nil slice encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
