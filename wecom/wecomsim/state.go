package wecomsim

import (
	"slices"
	"sort"
	"strings"
	"time"
)

const rootDeptID = 1

// pendingDeptName is where WeCom puts members whose department does not
// exist (batch imports, doc 91130/91131).
const pendingDeptName = "其他(待设置部门)"

// capacity holds the corp-wide caps. They live in the state so internal
// tests can lower them instead of creating 30,000 departments.
type capacity struct {
	maxDepartments     int // 81001: departments per corp (30,000)
	maxDepth           int // 81002: tree depth, root = 1 (15)
	maxTags            int // 40126: tags per corp (3,000)
	maxTagNodes        int // 81003: users + parties per tag (30,000)
	maxUserDepartments int // 60110
}

func (s *Sim) defaultCapacity() capacity {
	return capacity{
		maxDepartments:     30000,
		maxDepth:           15,
		maxTags:            3000,
		maxTagNodes:        30000,
		maxUserDepartments: s.opts.MaxUserDepartments,
	}
}

// state is everything Reset restores. It is guarded by Sim.mu.
type state struct {
	cap capacity

	depts    map[int64]*Department        // DepartmentLeader unused: derived from members
	kids     map[int64]map[int64]struct{} // parent → children
	users    map[string]*member           // lower(userid) → member
	byDept   map[int64]map[string]*member // department → lower(userid) → member
	byMobile map[string]*member           // mobile → member
	byEmail  map[string]*member           // lower(email) → member
	tags     map[int64]*tag               // tagid → tag
	vis      map[int64]*visibleSet        // agentid → visible range, valid while visVersion == version
	media    map[string]*mediaFile        // media_id → file
	memMsg   map[memberMsgKey]*window     // per-app, per-member message shaping (messaging phase)
	msg      *messaging                   // app messages, member inboxes, cards (message.go, inbox.go, card.go)
	oauth    *oauthState                  // OAuth codes and user tickets (oauth.go)
	limits   map[string]*window           // API path → frequency window
	faults   []*faultState                // active faults, in the order added
	calls    []Call                       // most recent API calls (bounded)
	counts   map[string]map[int]int       // path → errcode → count
	jobs     []*job                       // batch jobs, oldest first; results kept for the last 5
	jobIDs   map[string]bool              // every jobid ever issued (40088 vs 40089)

	changes []Change

	// workbench and checkins are created on first use (workbench.go, checkin.go).
	workbench map[int64]*workbenchApp        // agentid → template and members' own data
	appchats  *appChats                      // app group chats, created on first use (appchat.go)
	checkins  map[checkinKey][]CheckinRecord // records added by tests, per member-day

	getUserIDMisses    int // user/getuserid misses since getUserIDMissStart
	getUserIDMissStart time.Time
	getUserIDBlock     time.Time // user/getuserid answers 45009 until then

	creator     string // lower(userid) of the corp creator
	pendingDept int64  // id of 其他(待设置部门) once created
	maxDeptID   int64  // the highest department id ever used (auto ids)
	nextSeq     int64  // member creation order
	version     int64  // bumped on every contacts change
	visVersion  int64
	callSeq     int64
	changeSeq   int64
	faultSeq    int64
}

// member is a User plus bookkeeping WeCom keeps but does not return.
type member struct {
	User
	seq       int64 // creation order: list order and list_id cursor
	activated bool  // joined WeCom (or followed the plugin) at least once
	renamed   bool  // new_userid already used (301036 afterwards)
}

// tag is a Tag with a membership index.
type tag struct {
	Tag
	userSet map[string]bool // lower(userid)
}

// memberMsgKey identifies one app's sends to one member; the messaging
// phase keeps its 30/min and 1,000/h shaping windows under it (excess is
// dropped silently but logged).
type memberMsgKey struct {
	AgentID int64
	UserID  string
}

func newState(f *Fixture, c capacity) *state {
	st := &state{
		cap:      c,
		depts:    map[int64]*Department{},
		kids:     map[int64]map[int64]struct{}{},
		users:    map[string]*member{},
		byDept:   map[int64]map[string]*member{},
		byMobile: map[string]*member{},
		byEmail:  map[string]*member{},
		tags:     map[int64]*tag{},
		vis:      map[int64]*visibleSet{},
		media:    map[string]*mediaFile{},
		memMsg:   map[memberMsgKey]*window{},
		msg:      newMessaging(),
		oauth:    newOAuthState(),
		limits:   map[string]*window{},
		counts:   map[string]map[int]int{},
		jobIDs:   map[string]bool{},
	}
	hasRoot := false
	for _, d := range f.Departments {
		d := d
		d.DepartmentLeader = nil
		if d.ID == rootDeptID {
			hasRoot = true
			d.ParentID = 0
		}
		st.depts[d.ID] = &d
	}
	if !hasRoot {
		st.depts[rootDeptID] = &Department{ID: rootDeptID, Name: "企业", ParentID: 0}
	}
	for id, d := range st.depts {
		st.maxDeptID = max(st.maxDeptID, id)
		if id != rootDeptID {
			st.link(id, d.ParentID)
		}
		if d.Name == pendingDeptName && d.ParentID == rootDeptID {
			st.pendingDept = id
		}
	}
	for _, u := range f.Users {
		m := &member{User: cloneUser(u)}
		n := len(m.Department)
		if len(m.Order) != n {
			m.Order = make([]int64, n)
		}
		if len(m.IsLeaderInDept) != n {
			m.IsLeaderInDept = make([]int, n)
		}
		if m.Status == 0 {
			m.Status = 1
		}
		if m.WeChatPlugin {
			m.Status = 1
			if m.OpenID == "" {
				m.OpenID = "oSim" + strings.ToLower(m.UserID)
			}
		}
		if m.Gender == "" {
			m.Gender = "0"
		}
		if m.MainDepartment == 0 && n > 0 {
			m.MainDepartment = m.Department[0]
		}
		m.activated = m.Status != 4
		st.addMember(m)
	}
	for _, d := range f.Departments {
		for _, l := range d.DepartmentLeader {
			if m := st.user(l); m != nil {
				if i := slices.Index(m.Department, d.ID); i >= 0 {
					m.IsLeaderInDept[i] = 1
				}
			}
		}
	}
	if f.Creator != "" {
		st.creator = strings.ToLower(f.Creator)
	}
	for _, t := range f.Tags {
		nt := &tag{Tag: Tag{TagID: t.TagID, TagName: t.TagName, Owner: t.Owner}, userSet: map[string]bool{}}
		for _, u := range t.UserList {
			if m := st.user(u); m != nil && !nt.userSet[strings.ToLower(u)] {
				nt.userSet[strings.ToLower(u)] = true
				nt.UserList = append(nt.UserList, m.UserID)
			}
		}
		nt.PartyList = slices.Clone(t.PartyList)
		st.tags[t.TagID] = nt
	}
	return st
}

func cloneUser(u User) User {
	u.Department = slices.Clone(u.Department)
	u.Order = slices.Clone(u.Order)
	u.IsLeaderInDept = slices.Clone(u.IsLeaderInDept)
	u.DirectLeader = slices.Clone(u.DirectLeader)
	if u.ExtAttr != nil {
		e := &ExtAttr{Attrs: slices.Clone(u.ExtAttr.Attrs)}
		u.ExtAttr = e
	}
	return u
}

// user finds a member by userid, case-insensitively (WeCom checks userid
// uniqueness ignoring case).
func (st *state) user(userid string) *member {
	return st.users[strings.ToLower(userid)]
}

func (st *state) link(id, parent int64) {
	k := st.kids[parent]
	if k == nil {
		k = map[int64]struct{}{}
		st.kids[parent] = k
	}
	k[id] = struct{}{}
}

func (st *state) unlink(id, parent int64) {
	delete(st.kids[parent], id)
}

// addMember inserts m and indexes it by department.
func (st *state) addMember(m *member) {
	st.nextSeq++
	m.seq = st.nextSeq
	st.users[strings.ToLower(m.UserID)] = m
	st.indexMember(m)
	st.version++
}

// indexMember and unindexMember keep the department, mobile and email
// indexes; every change to a member goes unindex → change → index.
func (st *state) indexMember(m *member) {
	key := strings.ToLower(m.UserID)
	if m.Mobile != "" {
		st.byMobile[m.Mobile] = m
	}
	if m.Email != "" {
		st.byEmail[strings.ToLower(m.Email)] = m
	}
	for _, d := range m.Department {
		b := st.byDept[d]
		if b == nil {
			b = map[string]*member{}
			st.byDept[d] = b
		}
		b[key] = m
	}
}

func (st *state) unindexMember(m *member) {
	key := strings.ToLower(m.UserID)
	if st.byMobile[m.Mobile] == m {
		delete(st.byMobile, m.Mobile)
	}
	if st.byEmail[strings.ToLower(m.Email)] == m {
		delete(st.byEmail, strings.ToLower(m.Email))
	}
	for _, d := range m.Department {
		delete(st.byDept[d], key)
	}
}

// children returns the ids of id's direct children, sorted as WeCom lists
// siblings: bigger order first, then id.
func (st *state) children(id int64) []int64 {
	out := make([]int64, 0, len(st.kids[id]))
	for c := range st.kids[id] {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := st.depts[out[i]], st.depts[out[j]]
		if a.Order != b.Order {
			return a.Order > b.Order
		}
		return a.ID < b.ID
	})
	return out
}

// preorder lists id and all its descendants, depth-first, siblings in
// list order.
func (st *state) preorder(id int64, out []int64) []int64 {
	out = append(out, id)
	for _, c := range st.children(id) {
		out = st.preorder(c, out)
	}
	return out
}

// depth of a department: the root is 1.
func (st *state) depth(id int64) int {
	n := 0
	for d := st.depts[id]; d != nil; d = st.depts[d.ParentID] {
		n++
		if d.ID == rootDeptID {
			break
		}
	}
	return n
}

// height of the subtree below id: a leaf is 1.
func (st *state) height(id int64) int {
	h := 0
	for c := range st.kids[id] {
		h = max(h, st.height(c))
	}
	return h + 1
}

// isDescendant reports whether id is anc or below it.
func (st *state) isDescendant(id, anc int64) bool {
	for d := st.depts[id]; d != nil; d = st.depts[d.ParentID] {
		if d.ID == anc {
			return true
		}
		if d.ID == rootDeptID {
			break
		}
	}
	return false
}

// membersOf lists the members of department id (with its subtree if
// recursive), in list order: by order in that department (bigger first),
// then creation.
func (st *state) membersOf(id int64, recursive bool) []*member {
	ids := []int64{id}
	if recursive {
		ids = st.preorder(id, nil)
	}
	seen := map[*member]bool{}
	var out []*member
	for _, d := range ids {
		var ms []*member
		for _, m := range st.byDept[d] {
			if !seen[m] {
				seen[m] = true
				ms = append(ms, m)
			}
		}
		sort.Slice(ms, func(i, j int) bool {
			oi, oj := ms[i].orderIn(d), ms[j].orderIn(d)
			if oi != oj {
				return oi > oj
			}
			return ms[i].seq < ms[j].seq
		})
		out = append(out, ms...)
	}
	return out
}

func (m *member) orderIn(dept int64) int64 {
	if i := slices.Index(m.Department, dept); i >= 0 && i < len(m.Order) {
		return m.Order[i]
	}
	return 0
}

// leaders of department id, derived from the members' is_leader_in_dept.
func (st *state) leaders(id int64) []string {
	out := []string{}
	for _, m := range st.membersOf(id, false) {
		if i := slices.Index(m.Department, id); i >= 0 && i < len(m.IsLeaderInDept) && m.IsLeaderInDept[i] == 1 {
			out = append(out, m.UserID)
		}
	}
	return out
}

// sortedMembers lists every member in creation order.
func (st *state) sortedMembers() []*member {
	out := make([]*member, 0, len(st.users))
	for _, m := range st.users {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// visibleSet is an app's visible range expanded to members and departments.
type visibleSet struct {
	all   bool
	users map[string]bool // lower(userid)
	depts map[int64]bool
}

func (v *visibleSet) user(m *member) bool {
	return v.all || v.users[strings.ToLower(m.UserID)]
}

func (v *visibleSet) dept(id int64) bool {
	return v.all || v.depts[id]
}

// visible expands app's range against the current contacts, cached until
// the next contacts change.
func (st *state) visible(app *App) *visibleSet {
	if app.Visible.empty() {
		return &visibleSet{all: true}
	}
	if st.visVersion != st.version {
		clear(st.vis)
		st.visVersion = st.version
	}
	if v := st.vis[app.AgentID]; v != nil {
		return v
	}
	v := &visibleSet{users: map[string]bool{}, depts: map[int64]bool{}}
	addDept := func(id int64) {
		if _, ok := st.depts[id]; !ok {
			return
		}
		for _, d := range st.preorder(id, nil) {
			v.depts[d] = true
		}
	}
	for _, d := range app.Visible.Departments {
		addDept(d)
	}
	for _, u := range app.Visible.Users {
		v.users[strings.ToLower(u)] = true
	}
	for _, id := range app.Visible.Tags {
		t := st.tags[id]
		if t == nil {
			continue
		}
		for k := range t.userSet {
			v.users[k] = true
		}
		for _, d := range t.PartyList {
			addDept(d)
		}
	}
	for d := range v.depts {
		for k := range st.byDept[d] {
			v.users[k] = true
		}
	}
	st.vis[app.AgentID] = v
	return v
}

// snapshot renders the current contacts as a Fixture.
func (st *state) snapshot() Fixture {
	var f Fixture
	ids := st.preorder(rootDeptID, nil)
	for _, id := range ids {
		d := *st.depts[id]
		d.DepartmentLeader = st.leaders(id)
		if len(d.DepartmentLeader) == 0 {
			d.DepartmentLeader = nil
		}
		f.Departments = append(f.Departments, d)
	}
	for _, m := range st.sortedMembers() {
		f.Users = append(f.Users, cloneUser(m.User))
	}
	tagIDs := make([]int64, 0, len(st.tags))
	for id := range st.tags {
		tagIDs = append(tagIDs, id)
	}
	slices.Sort(tagIDs)
	for _, id := range tagIDs {
		t := st.tags[id].Tag
		t.UserList = slices.Clone(t.UserList)
		t.PartyList = slices.Clone(t.PartyList)
		f.Tags = append(f.Tags, t)
	}
	if m := st.users[st.creator]; m != nil {
		f.Creator = m.UserID
	}
	return f
}

// Snapshot returns the current contacts (departments in tree order, members
// in creation order, tags by id) in Fixture form.
func (s *Sim) Snapshot() Fixture {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.snapshot()
}

// mediaFile is an uploaded temporary media (media/upload).
type mediaFile struct {
	ID          string
	Type        string
	Filename    string
	ContentType string
	Data        []byte
	Created     time.Time
}
