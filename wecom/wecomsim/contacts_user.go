package wecomsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Member rules (docs/wecom.md §5.3).

// validUserID: 1–64 bytes of [0-9A-Za-z_\-@.], first a letter or digit.
func validUserID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !alnum {
			return false
		}
		if !alnum && c != '_' && c != '-' && c != '@' && c != '.' {
			return false
		}
	}
	return true
}

// checkUserID: empty or bad characters 40003, longer than 64 bytes 40058.
func checkUserID(field, id string) error {
	if len(id) > 64 {
		return errf(40058, "%s is %d bytes, at most 64", field, len(id))
	}
	if !validUserID(id) {
		return errf(40003, "%s %q: 1–64 of [0-9A-Za-z_-@.], starting with a letter or digit", field, id)
	}
	return nil
}

// validMobile: at most 32 characters of digits, '+', '-' and spaces (90313
// 60103 help), with at least 5 digits.
func validMobile(m string) bool {
	if len(m) > 32 {
		return false
	}
	digits := 0
	for _, c := range m {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' || c == '-' || c == ' ':
		default:
			return false
		}
	}
	return digits >= 5
}

// validEmail: 6–64 bytes with one @ and a dot after it (90313 60105 help).
func validEmail(e string) bool {
	if len(e) < 6 || len(e) > 64 || strings.ContainsAny(e, " \t\r\n") {
		return false
	}
	at := strings.IndexByte(e, '@')
	return at > 0 && at == strings.LastIndexByte(e, '@') && strings.Contains(e[at+1:], ".") && !strings.HasSuffix(e, ".")
}

func validTelephone(t string) bool {
	if len(t) > 32 {
		return false
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == ',') {
			return false
		}
	}
	return true
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// mobileTaken / emailTaken look for another member (not self) with the
// value; emails compare case-insensitively.
func (st *state) mobileTaken(v string, self *member) bool {
	m := st.byMobile[v]
	return m != nil && m != self
}

func (st *state) emailTaken(v string, self *member) bool {
	m := st.byEmail[strings.ToLower(v)]
	return m != nil && m != self
}

// applyUserFields validates the fields present in f and writes them into
// u. A present field is written even when empty; an absent one is left
// alone. self is the member being updated (nil on create). Nothing is
// written to the state: the caller commits u once everything passed.
func (s *Sim) applyUserFields(u *User, f fields, self *member, a actor) error {
	st := s.st
	create := self == nil
	if v, ok, err := f.str("name"); err != nil {
		return err
	} else if ok || create {
		if n := runes(v); n < 1 || n > 64 {
			return errf(60112, "name must be 1–64 characters, got %d", n)
		}
		u.Name = v
	}
	if v, ok, err := f.str("alias"); err != nil {
		return err
	} else if ok {
		if runes(v) > 64 {
			return errf(40058, "alias longer than 64 characters")
		}
		u.Alias = v
	}
	if v, ok, err := f.str("mobile"); err != nil {
		return err
	} else if ok {
		if v != "" && !validMobile(v) {
			return errf(60103, "mobile %q", v)
		}
		if v != "" && st.mobileTaken(v, self) {
			return errf(60104, "mobile %s belongs to another member", v)
		}
		u.Mobile = v
	}
	if v, ok, err := f.str("email"); err != nil {
		return err
	} else if ok {
		if v != "" && !validEmail(v) {
			return errf(60105, "email %q", v)
		}
		if v != "" && st.emailTaken(v, self) {
			return errf(60106, "email %s belongs to another member", v)
		}
		u.Email = v
	}
	if v, ok, err := f.str("biz_mail"); err != nil {
		return err
	} else if ok {
		if v != "" && !validEmail(v) {
			return errf(60105, "biz_mail %q", v)
		}
		u.BizMail = v
	}
	if v, ok, err := f.str("position"); err != nil {
		return err
	} else if ok {
		if runes(v) > 128 {
			return errf(40058, "position longer than 128 characters")
		}
		u.Position = v
	}
	if v, ok, err := genderField(f); err != nil {
		return err
	} else if ok {
		switch v {
		case "", "0":
			v = "0"
		case "1", "2":
		default:
			return errf(40058, "gender %q: want \"1\" or \"2\"", v)
		}
		u.Gender = v
	}
	if v, ok, err := f.str("telephone"); err != nil {
		return err
	} else if ok {
		if !validTelephone(v) {
			return errf(40058, "telephone %q: at most 32 bytes of digits - + ,", v)
		}
		u.Telephone = v
	}
	if v, ok, err := f.str("address"); err != nil {
		return err
	} else if ok {
		if runes(v) > 128 {
			return errf(40058, "address longer than 128 characters")
		}
		u.Address = v
	}
	if v, ok, err := f.str("external_position"); err != nil {
		return err
	} else if ok {
		u.ExternalPosition = v
	}
	if v, ok, err := f.str("avatar_mediaid"); err != nil {
		return err
	} else if ok {
		if v != "" {
			mf := st.media[v]
			if mf == nil || st.mediaExpired(mf, s.Now()) {
				return errf(40007, "avatar_mediaid %q", v)
			}
			u.Avatar = s.opts.BaseURL + "/sim/media/" + v
		} else {
			u.Avatar = ""
		}
	}
	var ext ExtAttr
	if ok, err := f.value("extattr", &ext); err != nil {
		return err
	} else if ok {
		if len(ext.Attrs) == 0 {
			u.ExtAttr = nil
		} else {
			u.ExtAttr = &ext
		}
	}
	if v, ok, err := f.strs("direct_leader"); err != nil {
		return err
	} else if ok {
		if len(v) > 5 {
			return errf(60257, "%d direct leaders, at most 5", len(v))
		}
		for _, l := range v {
			if st.user(l) == nil {
				return errf(60111, "direct leader %q not found", l)
			}
		}
		u.DirectLeader = v
	}

	// Departments and the arrays that follow them.
	depts, hasDepts, err := f.int64s("department")
	if err != nil {
		return err
	}
	if create && len(depts) == 0 {
		// 90313 41019 help: "创建成员接口，成员所属部门是必填信息". (Doc 90195
		// says members without a department go to 其他(待设置部门); the
		// reference treats department as required — so does the simulator.)
		return errf(41019, "department is required on create")
	}
	if hasDepts {
		if len(depts) == 0 {
			return errf(40066, "department list is empty")
		}
		if len(depts) > st.cap.maxUserDepartments {
			return errf(60110, "%d departments, at most %d", len(depts), st.cap.maxUserDepartments)
		}
		seen := map[int64]bool{}
		for _, d := range depts {
			if seen[d] {
				return errf(40066, "department %d listed twice", d)
			}
			seen[d] = true
			if st.depts[d] == nil {
				return errf(60003, "department %d not found", d)
			}
		}
	}
	orders, hasOrders, err := f.int64s("order")
	if err != nil {
		return err
	}
	leaders, hasLeaders, err := f.ints("is_leader_in_dept")
	if err != nil {
		return err
	}
	finalDepts := u.Department
	if hasDepts {
		finalDepts = depts
	}
	if hasOrders {
		if len(orders) != len(finalDepts) {
			return errf(40058, "order has %d entries for %d departments", len(orders), len(finalDepts))
		}
		for _, o := range orders {
			if err := checkOrder("order", o); err != nil {
				return err
			}
		}
	}
	if hasLeaders {
		if len(leaders) != len(finalDepts) {
			return errf(60132, "is_leader_in_dept has %d entries for %d departments", len(leaders), len(finalDepts))
		}
		for _, l := range leaders {
			if l != 0 && l != 1 {
				return errf(40058, "is_leader_in_dept values are 0 or 1")
			}
		}
	}
	if hasDepts {
		// Keep the per-department values of departments the member stays in.
		oldOrder, oldLeader := map[int64]int64{}, map[int64]int{}
		for i, d := range u.Department {
			if i < len(u.Order) {
				oldOrder[d] = u.Order[i]
			}
			if i < len(u.IsLeaderInDept) {
				oldLeader[d] = u.IsLeaderInDept[i]
			}
		}
		u.Order = make([]int64, len(depts))
		u.IsLeaderInDept = make([]int, len(depts))
		for i, d := range depts {
			u.Order[i] = oldOrder[d]
			u.IsLeaderInDept[i] = oldLeader[d]
		}
		u.Department = slices.Clone(depts)
	}
	if hasOrders {
		u.Order = orders
	}
	if hasLeaders {
		u.IsLeaderInDept = leaders
	}
	// main_department 0 names no department: it is taken as absent
	// (silenceper's user requests always send it; a 0 that WeCom rejected
	// would make every silenceper create fail — unconfirmed).
	if v, ok, err := f.int64("main_department"); err != nil {
		return err
	} else if ok && v != 0 {
		if !slices.Contains(u.Department, v) {
			return errf(40058, "main_department %d is not one of the member's departments", v)
		}
		u.MainDepartment = v
	}
	if !slices.Contains(u.Department, u.MainDepartment) && len(u.Department) > 0 {
		u.MainDepartment = u.Department[0]
	}

	if v, ok, err := f.int64("enable"); err != nil {
		return err
	} else if ok {
		switch v {
		case 0:
			u.Status = 2
		case 1:
			if u.Status == 2 {
				u.Status = 4
				if self != nil && self.activated {
					u.Status = 1
				}
			}
		default:
			return errf(40058, "enable must be 0 or 1")
		}
	}

	// Simulator-only fields, accepted from the admin API only: they stand
	// for what members do in their clients (activate, follow the plugin).
	if a.kind == actorAdmin {
		if v, ok, err := f.int64("status"); err != nil {
			return err
		} else if ok {
			switch v {
			case 1, 2, 4, 5:
				u.Status = int(v)
			default:
				return errf(40058, "status must be 1, 2, 4 or 5")
			}
		}
		var plugin bool
		if ok, err := f.value("wechat_plugin", &plugin); err != nil {
			return err
		} else if ok {
			u.WeChatPlugin = plugin
			if plugin {
				u.Status = 1
				if u.OpenID == "" {
					u.OpenID = "oSim" + strings.ToLower(u.UserID)
				}
			}
		}
		if v, ok, err := f.str("openid"); err != nil {
			return err
		} else if ok {
			u.OpenID = v
		}
		if v, ok, err := f.str("open_userid"); err != nil {
			return err
		} else if ok {
			u.OpenUserID = v
		}
	}
	return nil
}

// genderField reads gender as a string ("1") or a number (1): the API
// documents a string, but the server types it uint32 (a string draws a
// warning in the answer, per PowerWeChat PR #202) and silenceper's
// UserCreateRequest sends a number.
func genderField(f fields) (string, bool, error) {
	v, ok, err := f.str("gender")
	if err != nil {
		var n json.Number
		if _, nerr := f.value("gender", &n); nerr != nil {
			return "", true, err
		}
		return n.String(), true, nil
	}
	return v, ok, nil
}

// createUser applies user/create.
func (s *Sim) createUser(a actor, f fields) error {
	st := s.st
	id, _, err := f.str("userid")
	if err != nil {
		return err
	}
	if err := checkUserID("userid", id); err != nil {
		return err
	}
	if st.user(id) != nil {
		return errf(60102, "userid %q exists (case-insensitive)", id)
	}
	u := User{UserID: id, Gender: "0", Status: 4}
	if err := s.applyUserFields(&u, f, nil, a); err != nil {
		return err
	}
	if u.Mobile == "" && u.Email == "" {
		return errf(60129, "mobile and email are both empty")
	}
	m := &member{User: u, activated: u.Status == 1}
	st.addMember(m)
	s.recordChange(a, Change{ChangeType: "create_user", UserID: u.UserID}, s.createUserChange(&m.User))
	return nil
}

// updateUser applies user/update: present fields are written even when
// empty, absent ones kept; new_userid may be used once (301036 after).
func (s *Sim) updateUser(a actor, f fields) error {
	st := s.st
	id, _, err := f.str("userid")
	if err != nil {
		return err
	}
	m := st.user(id)
	if m == nil {
		return errf(60111, "userid %q not found", id)
	}
	before := cloneUser(m.User)
	u := cloneUser(m.User)
	newID, hasNew, err := f.str("new_userid")
	if err != nil {
		return err
	}
	renaming := hasNew && newID != "" && newID != m.UserID
	if renaming {
		if m.renamed {
			return errf(301036, "userid of %q was already changed once", m.UserID)
		}
		if err := checkUserID("new_userid", newID); err != nil {
			return err
		}
		if other := st.user(newID); other != nil && other != m {
			return errf(60102, "userid %q exists (case-insensitive)", newID)
		}
		u.UserID = newID
	}
	if err := s.applyUserFields(&u, f, m, a); err != nil {
		return err
	}
	changed := diffUser(&before, &u)
	if len(changed) == 0 {
		return nil
	}
	st.unindexMember(m)
	if renaming {
		delete(st.users, strings.ToLower(before.UserID))
		st.users[strings.ToLower(u.UserID)] = m
		st.renameUserRefs(before.UserID, u.UserID)
		m.renamed = true
	}
	m.User = u
	if u.Status == 1 {
		m.activated = true
	}
	st.indexMember(m)
	ch := Change{ChangeType: "update_user", UserID: before.UserID, Fields: changed}
	if renaming {
		ch.NewUserID = u.UserID
	}
	s.recordChange(a, ch, s.updateUserChange(&before, &u))
	return nil
}

// diffUser names the JSON fields that differ between two member states.
func diffUser(a, b *User) []string {
	ja, jb := fieldsFrom(a), fieldsFrom(b)
	var out []string
	for k, v := range jb {
		if !bytes.Equal(ja[k], v) {
			out = append(out, k)
		}
	}
	for k := range ja {
		if _, ok := jb[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// renameUserRefs follows a userid change into tags and direct leaders.
func (st *state) renameUserRefs(oldID, newID string) {
	oldKey, newKey := strings.ToLower(oldID), strings.ToLower(newID)
	for _, t := range st.tags {
		if t.userSet[oldKey] {
			delete(t.userSet, oldKey)
			t.userSet[newKey] = true
			for i, u := range t.UserList {
				if strings.EqualFold(u, oldID) {
					t.UserList[i] = newID
				}
			}
		}
	}
	for _, m := range st.users {
		for i, l := range m.DirectLeader {
			if strings.EqualFold(l, oldID) {
				m.DirectLeader[i] = newID
			}
		}
	}
}

// removeMember drops m from the indexes, tags and other members' direct
// leaders (silently: WeCom sends only delete_user).
func (st *state) removeMember(m *member) {
	key := strings.ToLower(m.UserID)
	st.unindexMember(m)
	delete(st.users, key)
	for _, t := range st.tags {
		if t.userSet[key] {
			delete(t.userSet, key)
			t.UserList = slices.DeleteFunc(t.UserList, func(u string) bool { return strings.EqualFold(u, m.UserID) })
		}
	}
	for _, o := range st.users {
		o.DirectLeader = slices.DeleteFunc(o.DirectLeader, func(l string) bool { return strings.EqualFold(l, m.UserID) })
	}
	st.version++
}

// deleteUser applies user/delete: 60111 unknown, 301005 the corp creator.
func (s *Sim) deleteUser(a actor, id string) error {
	m := s.st.user(id)
	if m == nil {
		return errf(60111, "userid %q not found", id)
	}
	if strings.ToLower(m.UserID) == s.st.creator {
		return errf(301005, "%q created the corp", m.UserID)
	}
	s.st.removeMember(m)
	s.recordChange(a, Change{ChangeType: "delete_user", UserID: m.UserID}, deleteUserChange(m.UserID))
	return nil
}

// userJSON is a member as user/get and user/list return it. App tokens do
// not get the fields apps created after 2022-06-20 lost (docs/wecom.md §5),
// unless Options.Legacy.
func (s *Sim) userJSON(m *member, cred *credential) obj {
	u := &m.User
	ext := obj{"attrs": []any{}}
	if u.ExtAttr != nil {
		ext = obj{"attrs": u.ExtAttr.Attrs}
	}
	o := obj{
		"userid":            u.UserID,
		"name":              u.Name,
		"department":        orEmpty(u.Department),
		"order":             orEmpty(u.Order),
		"position":          u.Position,
		"mobile":            u.Mobile,
		"gender":            u.Gender,
		"email":             u.Email,
		"biz_mail":          u.BizMail,
		"is_leader_in_dept": orEmpty(u.IsLeaderInDept),
		"direct_leader":     orEmpty(u.DirectLeader),
		"avatar":            u.Avatar,
		"thumb_avatar":      u.Avatar,
		"telephone":         u.Telephone,
		"alias":             u.Alias,
		"address":           u.Address,
		"main_department":   u.MainDepartment,
		"status":            u.Status,
		"qr_code":           "",
		"extattr":           ext,
		"external_position": u.ExternalPosition,
	}
	if u.OpenUserID != "" {
		o["open_userid"] = u.OpenUserID
	}
	if !s.opts.Legacy && cred.appOf() != nil {
		for _, k := range []string{"avatar", "thumb_avatar", "gender", "mobile", "email", "biz_mail", "qr_code", "address"} {
			delete(o, k)
		}
	}
	return o
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// checkUserVisible: app tokens read only members in their visible range
// (60011, "no privilege to access/modify contact").
func (s *Sim) checkUserVisible(c *call, m *member) error {
	if app := c.cred.appOf(); app != nil && !s.st.visible(app).user(m) {
		return errf(60011, "member %q outside app %d's visible range", m.UserID, app.AgentID)
	}
	return nil
}

func (s *Sim) handleUserCreate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	return nil, s.createUser(c.cred.actor(), f)
}

func (s *Sim) handleUserUpdate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	return nil, s.updateUser(c.cred.actor(), f)
}

func (s *Sim) handleUserDelete(c *call) (obj, error) {
	return nil, s.deleteUser(c.cred.actor(), c.query.Get("userid"))
}

// handleUserBatchDelete: ≤200 ids (40032); any unknown id fails the whole
// call (40031, "指定的UserID列表，部分UserID不在通讯录中"); the creator 301005.
func (s *Sim) handleUserBatchDelete(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	ids, _, err := f.strs("useridlist")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errf(40058, "useridlist is empty")
	}
	if len(ids) > 200 {
		return nil, errf(40032, "%d userids, at most 200", len(ids))
	}
	var ms []*member
	seen := map[*member]bool{}
	for _, id := range ids {
		m := s.st.user(id)
		if m == nil {
			return nil, errf(40031, "userid %q not found", id)
		}
		if strings.ToLower(m.UserID) == s.st.creator {
			return nil, errf(301005, "%q created the corp", m.UserID)
		}
		if !seen[m] {
			seen[m] = true
			ms = append(ms, m)
		}
	}
	for _, m := range ms {
		if err := s.deleteUser(c.cred.actor(), m.UserID); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Sim) handleUserGet(c *call) (obj, error) {
	id := c.query.Get("userid")
	m := s.st.user(id)
	if m == nil {
		return nil, errf(60111, "userid %q not found", id)
	}
	if err := s.checkUserVisible(c, m); err != nil {
		return nil, err
	}
	return s.userJSON(m, c.cred), nil
}

// listedMembers is user/simplelist|list: ?department_id (required: missing
// or unknown 60003) and fetch_child=1 for the whole subtree.
func (s *Sim) listedMembers(c *call) ([]*member, error) {
	id, err := c.deptQuery("department_id", s.st)
	if err != nil {
		return nil, err
	}
	if err := s.checkDeptVisible(c, id); err != nil {
		return nil, err
	}
	return s.st.membersOf(id, c.query.Get("fetch_child") == "1"), nil
}

func (s *Sim) handleUserSimpleList(c *call) (obj, error) {
	ms, err := s.listedMembers(c)
	if err != nil {
		return nil, err
	}
	out := make([]obj, 0, len(ms))
	for _, m := range ms {
		o := obj{"userid": m.UserID, "name": m.Name, "department": orEmpty(m.Department)}
		if m.OpenUserID != "" {
			o["open_userid"] = m.OpenUserID
		}
		out = append(out, o)
	}
	return obj{"userlist": out}, nil
}

func (s *Sim) handleUserList(c *call) (obj, error) {
	ms, err := s.listedMembers(c)
	if err != nil {
		return nil, err
	}
	out := make([]obj, 0, len(ms))
	for _, m := range ms {
		out = append(out, s.userJSON(m, c.cred))
	}
	return obj{"userlist": out}, nil
}

// listIDCursor is the opaque user/list_id cursor: the position (member
// creation seq, department index) of the last row returned.
type listIDCursor struct {
	Seq int64 `json:"s"`
	Idx int   `json:"i"`
}

func encodeCursor(c listIDCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (listIDCursor, bool) {
	var c listIDCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Seq <= 0 || c.Idx < 0 {
		return c, false
	}
	return c, true
}

// handleUserListID: POST {"cursor","limit"} → one row per (member,
// department) in a stable order; empty next_cursor when done. limit is
// 1..10000 (absent or 0: 10000, the doc's maximum — the default is not
// documented); a cursor the simulator did not issue is 50100.
func (s *Sim) handleUserListID(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	cursor, _, err := f.str("cursor")
	if err != nil {
		return nil, err
	}
	limit, _, err := f.int64("limit")
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 10000
	}
	if limit < 1 || limit > 10000 {
		return nil, errf(40058, "limit %d outside 1..10000", limit)
	}
	var after listIDCursor
	if cursor != "" {
		var ok bool
		if after, ok = decodeCursor(cursor); !ok {
			return nil, errf(50100, "cursor %q", cursor)
		}
	}
	rows := make([]obj, 0, min(limit, 1024))
	var last listIDCursor
	more := false
scan:
	for _, m := range s.st.sortedMembers() {
		if m.seq < after.Seq {
			continue
		}
		for i, d := range m.Department {
			if m.seq == after.Seq && i <= after.Idx {
				continue
			}
			if int64(len(rows)) == limit {
				more = true
				break scan
			}
			rows = append(rows, obj{"userid": m.UserID, "department": d})
			last = listIDCursor{Seq: m.seq, Idx: i}
		}
	}
	next := ""
	if more {
		next = encodeCursor(last)
	}
	return obj{"next_cursor": next, "dept_user": rows}, nil
}

// handleConvertToOpenID: {"userid"} → {"openid"}; 43004 for members who
// neither log in through WeChat nor follow the plugin.
func (s *Sim) handleConvertToOpenID(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	id, _, err := f.str("userid")
	if err != nil {
		return nil, err
	}
	m := s.st.user(id)
	if m == nil {
		return nil, errf(60111, "userid %q not found", id)
	}
	if err := s.checkUserVisible(c, m); err != nil {
		return nil, err
	}
	if m.OpenID == "" {
		return nil, errf(43004, "%q is not bound to WeChat nor follows the plugin", m.UserID)
	}
	return obj{"openid": m.OpenID}, nil
}

// handleGetUserID: {"mobile"} → {"userid"}; unknown 46004. Misses above
// 20 % of the headcount within a day block the API for a day (45009, doc
// 90313).
func (s *Sim) handleGetUserID(c *call) (obj, error) {
	st := s.st
	if c.now.Before(st.getUserIDBlock) {
		return nil, errf(45009, "getuserid blocked after too many misses")
	}
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	mobile, _, err := f.str("mobile")
	if err != nil {
		return nil, err
	}
	if mobile == "" {
		return nil, errf(40058, "mobile missing")
	}
	if m := st.byMobile[mobile]; m != nil {
		if err := s.checkUserVisible(c, m); err != nil {
			return nil, err
		}
		return obj{"userid": m.UserID}, nil
	}
	if c.now.Sub(st.getUserIDMissStart) >= 24*time.Hour {
		st.getUserIDMissStart, st.getUserIDMisses = c.now, 0
	}
	st.getUserIDMisses++
	if st.getUserIDMisses*5 > len(st.users) && len(st.users) > 0 {
		st.getUserIDBlock = c.now.Add(24 * time.Hour)
	}
	return nil, errf(46004, "no member with mobile %q", mobile)
}
