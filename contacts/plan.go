package contacts

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpKind is the kind of one operation of a plan: one contacts API call
// (docs/wecom.md §5).
type OpKind string

// The kinds of operations, in the order a plan runs them.
const (
	OpCreateDepartment OpKind = "create_department" // department/create
	OpUpdateDepartment OpKind = "update_department" // department/update: rename, move, re-order
	OpCreateUser       OpKind = "create_user"       // user/create
	OpUpdateUser       OpKind = "update_user"       // user/update, moves included
	OpDisableUser      OpKind = "disable_user"      // user/update with enable 0 (and whatever else changed)
	OpCreateTag        OpKind = "create_tag"        // tag/create with the tagid of Op.Tag
	OpUpdateTag        OpKind = "update_tag"        // tag/update: re-assert the name of a touched tag
	OpDelTagUsers      OpKind = "del_tag_users"     // tag/deltagusers
	OpAddTagUsers      OpKind = "add_tag_users"     // tag/addtagusers
	OpDeleteTag        OpKind = "delete_tag"        // tag/delete
	OpDeleteUser       OpKind = "delete_user"       // user/delete, past the grace period
	OpDeleteDepartment OpKind = "delete_department" // department/delete, deepest first
)

// OpKinds lists every kind in plan order, for summaries.
var OpKinds = []OpKind{OpCreateDepartment, OpUpdateDepartment, OpCreateUser, OpUpdateUser, OpDisableUser,
	OpCreateTag, OpUpdateTag, OpDelTagUsers, OpAddTagUsers, OpDeleteTag, OpDeleteUser, OpDeleteDepartment}

// Limits of one tag membership call (docs/wecom.md §5.4).
const (
	TagUsersPerCall   = 1000
	TagPartiesPerCall = 100
)

// DefaultGuardShare is the share of members or departments a plan may
// disable or delete before Guard stops it.
const DefaultGuardShare = 0.05

// DepartmentFields are the fields a department op sends; nil ones are not
// sent (unchanged). Leaders are not among them: WeCom sets a department's
// leaders through its members' is_leader_in_dept.
type DepartmentFields struct {
	Name     *string `json:"name,omitempty"`
	ParentID *int64  `json:"parentid,omitempty"`
	Order    *int64  `json:"order,omitempty"`
}

// UserFields are the fields a member op sends; nil ones are not sent
// (unchanged). Department, Order and IsLeaderInDept go together, aligned.
// Gender is never 0 (WeCom takes only 1 and 2).
type UserFields struct {
	Name           *string `json:"name,omitempty"`
	Department     []int64 `json:"department,omitempty"`
	Order          []int64 `json:"order,omitempty"`
	IsLeaderInDept []int   `json:"is_leader_in_dept,omitempty"`
	MainDepartment *int64  `json:"main_department,omitempty"`
	Position       *string `json:"position,omitempty"`
	Gender         *int    `json:"gender,omitempty"`
	Mobile         *string `json:"mobile,omitempty"`
	Email          *string `json:"email,omitempty"`
	Enable         *int    `json:"enable,omitempty"`
}

// Op is one operation of a plan.
type Op struct {
	Index int    `json:"index"`
	Kind  OpKind `json:"kind"`
	// The object: a department id, a userid or a tag id.
	Department int64  `json:"department,omitempty"`
	UserID     string `json:"userid,omitempty"`
	Tag        int64  `json:"tagid,omitempty"`
	// What to send.
	DeptFields *DepartmentFields `json:"department_fields,omitempty"`
	UserFields *UserFields       `json:"user_fields,omitempty"`
	TagName    string            `json:"tagname,omitempty"` // create_tag, update_tag
	Users      []string          `json:"userlist,omitempty"`
	Parties    []int64           `json:"partylist,omitempty"`
	// Depends are the indexes of the ops this one needs: if one of them
	// failed or was skipped, this one is skipped. (Tag membership ops do not
	// depend on the creation of their members: WeCom takes the others and
	// answers invalidlist for those missing.)
	Depends []int `json:"depends,omitempty"`
	// Reason says why, for the plan file and the run report: new, changed,
	// touched (re-asserted after a change in WeCom), gone (deleted in WeCom
	// by someone else), left (the data center says so), absent (no longer in
	// the data center), adopted (made by someone else, taken over), grace
	// (disabled for longer than the grace period).
	Reason string `json:"reason,omitempty"`
	// WantDepartment and WantMember are what the mirror records once the op
	// succeeded (for ops on departments and members but deletions).
	WantDepartment *Department `json:"-"`
	WantMember     *Member     `json:"-"`
}

// Plan is the ordered list of operations that makes WeCom match the
// desired state: level-1 departments, deeper departments (parents first),
// members (create, update with moves, disable), tags and their members,
// then deletions (tags, members past the grace period, departments deepest
// first). Creates come before moves and moves before deletes.
type Plan struct {
	Ops []Op
	// Notes are objects left alone and why.
	Notes []string
	// TagIDs are the ids the plan's create_tag ops give new tags, by name.
	TagIDs map[string]int64
	// MirrorMembers and MirrorDepartments are how many the mirror held,
	// for Guard.
	MirrorMembers, MirrorDepartments int
}

// PlanOptions configure BuildPlan.
type PlanOptions struct {
	// Touched are the objects someone else changed in WeCom since the last
	// run (Mirror.Touched): re-asserted even if the mirror equals the
	// desired state, re-created if deleted.
	Touched []Touch
	// ManageAll lets the plan touch objects the data center never made:
	// members and departments created in WeCom by someone else (known from
	// touches), departments of the mirror without a data-center code.
	ManageAll bool
	// DeleteAfter is the grace period: a member disabled in the mirror for
	// longer (since its last write) and still not desired enabled is
	// deleted. 0 deletes no member.
	DeleteAfter time.Duration
	// Now is the time the grace period is measured to.
	Now time.Time
	// MaxTagID is the largest tag id WeCom holds (tag/list), when known:
	// new tags are numbered above it, so their ids are free.
	MaxTagID int64
}

// BuildPlan diffs the desired state against the mirror into a plan. It is
// pure and deterministic: the same input gives the same ops in the same
// order.
func BuildPlan(desired Desired, mirror State, opts PlanOptions) *Plan {
	p := &planner{
		plan:    &Plan{TagIDs: map[string]int64{}, MirrorMembers: len(mirror.Members), MirrorDepartments: len(mirror.Departments)},
		desired: desired, mirror: mirror, opts: opts,
		touched:    map[Kind]map[string]Touch{},
		createDept: map[int64]int{}, moveDept: map[int64]int{}, userOp: map[string]int{},
		want: map[string]*Member{},
	}
	p.index()
	p.departments()
	p.members()
	p.tags()
	p.deleteTags()
	p.deleteMembers()
	p.deleteDepartments()
	return p.plan
}

type planner struct {
	plan    *Plan
	desired Desired
	mirror  State
	opts    PlanOptions

	touched             map[Kind]map[string]Touch
	mDept, dDept        map[int64]*Department
	mMember             map[string]*Member
	dMember             map[string]*Member
	heldDept            map[int64]bool
	heldMember, heldTag map[string]bool

	createDept map[int64]int // department id → its create op
	moveDept   map[int64]int // department id → its update op that moves it
	userOp     map[string]int
	want       map[string]*Member // members with an op: what they become
	deletes    []Op               // delete_user ops, added after the tags
	byName     map[string]*Tag    // the mirror's tags by name
}

func (p *planner) add(op Op) int {
	op.Index = len(p.plan.Ops)
	slices.Sort(op.Depends)
	op.Depends = slices.Compact(op.Depends)
	p.plan.Ops = append(p.plan.Ops, op)
	return op.Index
}

func (p *planner) note(format string, args ...any) {
	p.plan.Notes = append(p.plan.Notes, fmt.Sprintf(format, args...))
}

func (p *planner) index() {
	for _, t := range p.opts.Touched {
		if p.touched[t.Kind] == nil {
			p.touched[t.Kind] = map[string]Touch{}
		}
		p.touched[t.Kind][t.ID] = t
	}
	p.mDept = make(map[int64]*Department, len(p.mirror.Departments))
	for i := range p.mirror.Departments {
		p.mDept[p.mirror.Departments[i].ID] = &p.mirror.Departments[i]
	}
	p.dDept = make(map[int64]*Department, len(p.desired.Departments))
	for i := range p.desired.Departments {
		p.dDept[p.desired.Departments[i].ID] = &p.desired.Departments[i]
	}
	p.mMember = make(map[string]*Member, len(p.mirror.Members))
	for i := range p.mirror.Members {
		p.mMember[p.mirror.Members[i].UserID] = &p.mirror.Members[i]
	}
	p.dMember = make(map[string]*Member, len(p.desired.Members))
	for i := range p.desired.Members {
		p.dMember[p.desired.Members[i].UserID] = &p.desired.Members[i]
	}
	p.heldDept = map[int64]bool{}
	for _, id := range p.desired.HeldDepartments {
		p.heldDept[id] = true
	}
	p.heldMember, p.heldTag = map[string]bool{}, map[string]bool{}
	for _, id := range p.desired.HeldMembers {
		p.heldMember[id] = true
	}
	for _, n := range p.desired.HeldTags {
		p.heldTag[n] = true
	}
}

func (p *planner) touch(k Kind, id string) (Touch, bool) {
	t, ok := p.touched[k][id]
	return t, ok
}

// depth is a department's level below the root (1 for a level-1 unit),
// along byID's parents.
func depth(byID map[int64]*Department, id int64) int {
	n := 0
	for id != RootDepartment && n <= len(byID) {
		d, ok := byID[id]
		if !ok {
			break
		}
		n++
		id = d.ParentID
	}
	return n
}

// --- departments ---

func (p *planner) departments() {
	type item struct {
		d      *Department
		depth  int
		fields *DepartmentFields
		reason string
	}
	var creates, updates []item
	for i := range p.desired.Departments {
		d := &p.desired.Departments[i]
		id := strconv.FormatInt(d.ID, 10)
		m, inMirror := p.mDept[d.ID]
		t, touched := p.touch(KindDepartment, id)
		switch {
		case !inMirror && touched && !t.Deleted:
			// Someone made a department with this id in WeCom.
			if !p.opts.ManageAll {
				p.note("department %d (%s) exists in WeCom but was not made by the sync; left alone (ManageAll adopts it)", d.ID, d.DCCode)
				continue
			}
			updates = append(updates, item{d, depth(p.dDept, d.ID), deptFields(d, nil), "adopted"})
		case !inMirror || touched && t.Deleted:
			reason := "new"
			if inMirror {
				reason = "gone"
			}
			creates = append(creates, item{d, depth(p.dDept, d.ID), deptFields(d, nil), reason})
		default:
			var have *Department
			reason := "touched"
			if !touched {
				have, reason = m, "changed"
			}
			if f := deptFields(d, have); f != nil {
				updates = append(updates, item{d, depth(p.dDept, d.ID), f, reason})
			}
		}
	}
	byDepth := func(a, b item) int {
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		return cmpInt(a.d.ID, b.d.ID)
	}
	slices.SortFunc(creates, byDepth)
	slices.SortFunc(updates, byDepth)
	for _, it := range creates {
		op := Op{Kind: OpCreateDepartment, Department: it.d.ID, DeptFields: it.fields, Reason: it.reason, WantDepartment: it.d}
		if i, ok := p.createDept[it.d.ParentID]; ok {
			op.Depends = append(op.Depends, i)
		}
		p.createDept[it.d.ID] = p.add(op)
	}
	for _, it := range updates {
		op := Op{Kind: OpUpdateDepartment, Department: it.d.ID, DeptFields: it.fields, Reason: it.reason, WantDepartment: it.d}
		if it.fields.ParentID != nil {
			if i, ok := p.createDept[it.d.ParentID]; ok {
				op.Depends = append(op.Depends, i)
			}
			if i, ok := p.moveDept[it.d.ParentID]; ok {
				op.Depends = append(op.Depends, i)
			}
		}
		i := p.add(op)
		if it.fields.ParentID != nil {
			p.moveDept[it.d.ID] = i
		}
	}
}

// deptFields are the fields of want that differ from have (all of them
// when have is nil), or nil when none do.
func deptFields(want, have *Department) *DepartmentFields {
	var f DepartmentFields
	changed := false
	if have == nil || want.Name != have.Name {
		f.Name, changed = ptr(want.Name), true
	}
	if have == nil || want.ParentID != have.ParentID {
		f.ParentID, changed = ptr(want.ParentID), true
	}
	if have == nil || want.Order != have.Order {
		f.Order, changed = ptr(want.Order), true
	}
	if !changed {
		return nil
	}
	return &f
}

func ptr[T any](v T) *T { return &v }

// --- members ---

// userFields are the fields of want that differ from have, all of them
// when have is nil (create: empty values left out; full: sent, to clear
// what someone else set), or nil when none differ.
func userFields(want, have *Member, full bool) *UserFields {
	var f UserFields
	changed := false
	all := have == nil
	setStr := func(dst **string, w string, h func() string) {
		if all && (full || w != "") || !all && w != h() {
			*dst, changed = ptr(w), true
		}
	}
	setStr(&f.Name, want.Name, func() string { return have.Name })
	setStr(&f.Position, want.Position, func() string { return have.Position })
	setStr(&f.Mobile, want.Mobile, func() string { return have.Mobile })
	setStr(&f.Email, want.Email, func() string { return have.Email })
	if all || !slices.Equal(want.Departments, have.Departments) {
		for _, d := range want.Departments {
			f.Department = append(f.Department, d.Department)
			f.Order = append(f.Order, d.Order)
			f.IsLeaderInDept = append(f.IsLeaderInDept, boolInt(d.Leader))
		}
		changed = true
	}
	if all || want.MainDepartment != have.MainDepartment {
		f.MainDepartment, changed = ptr(want.MainDepartment), true
	}
	if want.Gender != 0 && (all || want.Gender != have.Gender) {
		f.Gender, changed = ptr(want.Gender), true
	}
	if all || want.Enabled != have.Enabled {
		f.Enable, changed = ptr(boolInt(want.Enabled)), true
	}
	if !changed {
		return nil
	}
	return &f
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// deptDepends are the create ops of the departments f puts a member in.
func (p *planner) deptDepends(f *UserFields) []int {
	var out []int
	for _, d := range f.Department {
		if i, ok := p.createDept[d]; ok {
			out = append(out, i)
		}
	}
	return out
}

// remains says whether a mirror department stays in WeCom after the plan:
// desired, held, or not the sync's to delete.
func (p *planner) remains(id int64) bool {
	if id == RootDepartment || p.dDept[id] != nil || p.heldDept[id] {
		return true
	}
	m, ok := p.mDept[id]
	return ok && !p.managedDept(m)
}

func (p *planner) managedDept(d *Department) bool {
	return d.DCCode != "" || p.opts.ManageAll
}

// pastGrace says whether a member disabled in the mirror may be deleted.
func (p *planner) pastGrace(m *Member) bool {
	return p.opts.DeleteAfter > 0 && !m.Enabled && p.opts.Now.Sub(m.WrittenAt) >= p.opts.DeleteAfter
}

func (p *planner) members() {
	type item struct {
		kind   OpKind
		want   *Member
		fields *UserFields
		reason string
	}
	var creates, updates, disables []item
	for i := range p.desired.Members {
		d := &p.desired.Members[i]
		m, inMirror := p.mMember[d.UserID]
		t, touched := p.touch(KindMember, d.UserID)
		switch {
		case !inMirror && touched && !t.Deleted:
			if !p.opts.ManageAll {
				p.note("member %s exists in WeCom but was not made by the sync; left alone (ManageAll adopts it)", d.UserID)
				continue
			}
			updates = append(updates, item{OpUpdateUser, d, userFields(d, nil, true), "adopted"})
		case !inMirror || touched && t.Deleted:
			if !d.Enabled {
				continue // a leaver never made (or gone): nothing to do
			}
			reason := "new"
			if inMirror {
				reason = "gone"
				if t.NewUserID != "" {
					p.note("member %s was renamed %s in WeCom; created again under %s (the data center's userid)", d.UserID, t.NewUserID, d.UserID)
				}
			}
			creates = append(creates, item{OpCreateUser, d, userFields(d, nil, false), reason})
		case p.pastGrace(m) && !d.Enabled:
			p.deletes = append(p.deletes, Op{Kind: OpDeleteUser, UserID: d.UserID, Reason: "grace"})
		default:
			want := *d
			want.Status = m.Status
			var f *UserFields
			reason := "changed"
			if touched {
				f, reason = userFields(&want, nil, true), "touched"
			} else {
				f = userFields(&want, m, false)
			}
			if f == nil {
				continue
			}
			switch {
			case m.Enabled && !d.Enabled:
				disables = append(disables, item{OpDisableUser, &want, f, "left"})
			default:
				updates = append(updates, item{OpUpdateUser, &want, f, reason})
			}
		}
	}
	// Members of the mirror the data center no longer has.
	for i := range p.mirror.Members {
		m := &p.mirror.Members[i]
		if p.dMember[m.UserID] != nil || p.heldMember[m.UserID] {
			continue
		}
		if t, ok := p.touch(KindMember, m.UserID); ok && t.Deleted {
			continue // gone from WeCom already; the apply engine forgets it
		}
		if p.pastGrace(m) {
			p.deletes = append(p.deletes, Op{Kind: OpDeleteUser, UserID: m.UserID, Reason: "absent"})
			continue
		}
		want := *m
		want.WrittenAt = time.Time{}
		want.Enabled = false
		want.Departments = nil
		for _, ms := range m.Departments {
			if p.remains(ms.Department) {
				want.Departments = append(want.Departments, ms)
			}
		}
		if len(want.Departments) == 0 {
			want.Departments = []Membership{{Department: RootDepartment}}
		}
		if !slices.ContainsFunc(want.Departments, func(ms Membership) bool { return ms.Department == want.MainDepartment }) {
			want.MainDepartment = want.Departments[0].Department
		}
		f := userFields(&want, m, false)
		if f == nil {
			continue
		}
		kind := OpUpdateUser
		if m.Enabled {
			kind = OpDisableUser
		}
		if kind == OpDisableUser {
			disables = append(disables, item{kind, &want, f, "absent"})
		} else {
			updates = append(updates, item{kind, &want, f, "absent"})
		}
	}
	// Members someone else made in WeCom whom the data center does not have.
	for _, id := range sortedKeys(p.touched[KindMember]) {
		t := p.touched[KindMember][id]
		if t.Mirrored || t.Deleted || p.dMember[id] != nil || p.mMember[id] != nil || p.heldMember[id] {
			continue
		}
		if !p.opts.ManageAll {
			p.note("member %s was made in WeCom by someone else and is not in the data center; left alone (ManageAll disables it)", id)
			continue
		}
		disables = append(disables, item{OpDisableUser, &Member{UserID: id}, &UserFields{Enable: ptr(0)}, "adopted"})
	}
	byUser := func(a, b item) int { return strings.Compare(a.want.UserID, b.want.UserID) }
	slices.SortFunc(creates, byUser)
	slices.SortFunc(updates, byUser)
	slices.SortFunc(disables, byUser)
	for _, list := range [][]item{creates, updates, disables} {
		for _, it := range list {
			op := Op{Kind: it.kind, UserID: it.want.UserID, UserFields: it.fields, Reason: it.reason, Depends: p.deptDepends(it.fields)}
			if it.want.Name != "" {
				// Not a member someone else made, whom we know only by id.
				op.WantMember = it.want
			}
			p.userOp[it.want.UserID] = p.add(op)
			p.want[it.want.UserID] = it.want
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// --- tags ---

func (p *planner) tags() {
	byName := map[string]*Tag{}
	// New tags are numbered above every id in use: the mirror's and, when
	// known, WeCom's (tags other apps or the console made).
	maxID := p.opts.MaxTagID
	for i := range p.mirror.Tags {
		t := &p.mirror.Tags[i]
		maxID = max(maxID, t.ID)
		if prev, dup := byName[t.Name]; dup {
			p.note("tags %d and %d are both named %s; %d is kept", prev.ID, t.ID, t.Name, prev.ID)
			continue
		}
		byName[t.Name] = t
	}
	type member struct {
		tag         int64
		add, del    []string
		delParties  []int64
		createIndex int // -1: the tag exists
	}
	var memberOps []member
	for i := range p.desired.Tags {
		d := &p.desired.Tags[i]
		if p.heldTag[d.Name] {
			continue
		}
		m, ok := byName[d.Name]
		var t Touch
		touched := false
		if ok {
			t, touched = p.touch(KindTag, strconv.FormatInt(m.ID, 10))
		}
		switch {
		case !ok || touched && t.Deleted:
			id := int64(0)
			if ok {
				id = m.ID // re-made with its id, so the mirror's record stays right
			} else {
				maxID++
				id = maxID
				p.plan.TagIDs[d.Name] = id
			}
			reason := "new"
			if ok {
				reason = "gone"
			}
			i := p.add(Op{Kind: OpCreateTag, Tag: id, TagName: d.Name, Reason: reason})
			memberOps = append(memberOps, member{tag: id, add: d.Users, createIndex: i})
		case touched:
			// We cannot read what was changed: re-send the name, re-add
			// every member, and remove those we know should go.
			p.add(Op{Kind: OpUpdateTag, Tag: m.ID, TagName: d.Name, Reason: "touched"})
			_, del := diffSorted(d.Users, m.Users)
			memberOps = append(memberOps, member{tag: m.ID, add: d.Users, del: del, delParties: m.Parties, createIndex: -1})
		default:
			add, del := diffSorted(d.Users, m.Users)
			if len(add)+len(del)+len(m.Parties) > 0 {
				memberOps = append(memberOps, member{tag: m.ID, add: add, del: del, delParties: m.Parties, createIndex: -1})
			}
		}
	}
	// Removals first within each tag, so a tag near its cap never goes
	// over it in between.
	for _, mo := range memberOps {
		var deps []int
		if mo.createIndex >= 0 {
			deps = []int{mo.createIndex}
		}
		for _, c := range chunks(mo.del, mo.delParties) {
			p.add(Op{Kind: OpDelTagUsers, Tag: mo.tag, Users: c.users, Parties: c.parties, Depends: deps})
		}
		for _, c := range chunks(mo.add, nil) {
			p.add(Op{Kind: OpAddTagUsers, Tag: mo.tag, Users: c.users, Depends: deps})
		}
	}
	p.byName = byName
}

type chunk struct {
	users   []string
	parties []int64
}

// chunks splits a membership change into calls of at most
// TagUsersPerCall users and TagPartiesPerCall departments.
func chunks(users []string, parties []int64) []chunk {
	var out []chunk
	for i, j := 0, 0; i < len(users) || j < len(parties); i, j = i+TagUsersPerCall, j+TagPartiesPerCall {
		var c chunk
		if i < len(users) {
			c.users = users[i:min(i+TagUsersPerCall, len(users))]
		}
		if j < len(parties) {
			c.parties = parties[j:min(j+TagPartiesPerCall, len(parties))]
		}
		out = append(out, c)
	}
	return out
}

// diffSorted returns what want has and have lacks, and the reverse; have
// need not be sorted.
func diffSorted(want, have []string) (add, del []string) {
	in := make(map[string]bool, len(have))
	for _, h := range have {
		in[h] = true
	}
	for _, w := range want {
		if !in[w] {
			add = append(add, w)
		}
		delete(in, w)
	}
	for _, h := range have {
		if in[h] {
			del = append(del, h)
			delete(in, h)
		}
	}
	slices.Sort(del)
	return add, del
}

// --- deletions ---

func (p *planner) deleteTags() {
	desired := make(map[string]bool, len(p.desired.Tags))
	for _, t := range p.desired.Tags {
		desired[t.Name] = true
	}
	ids := make([]int64, 0)
	for i := range p.mirror.Tags {
		t := &p.mirror.Tags[i]
		if !desired[t.Name] && !p.heldTag[t.Name] && p.byName[t.Name] == t {
			ids = append(ids, t.ID)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		p.add(Op{Kind: OpDeleteTag, Tag: id, Reason: "absent"})
	}
}

func (p *planner) deleteMembers() {
	slices.SortFunc(p.deletes, func(a, b Op) int { return strings.Compare(a.UserID, b.UserID) })
	for _, op := range p.deletes {
		p.userOp[op.UserID] = p.add(op)
	}
}

func (p *planner) deleteDepartments() {
	type cand struct {
		d     *Department
		depth int
	}
	var cands []cand
	for i := range p.mirror.Departments {
		d := &p.mirror.Departments[i]
		if p.remains(d.ID) {
			continue
		}
		if t, ok := p.touch(KindDepartment, strconv.FormatInt(d.ID, 10)); ok && t.Deleted {
			continue // gone already
		}
		cands = append(cands, cand{d, depth(p.mDept, d.ID)})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.depth != b.depth {
			return b.depth - a.depth
		}
		return cmpInt(a.d.ID, b.d.ID)
	})
	children := map[int64][]int64{}
	for _, d := range p.mirror.Departments {
		children[d.ParentID] = append(children[d.ParentID], d.ID)
	}
	in := map[int64][]string{} // department → mirror members in it
	for _, m := range p.mirror.Members {
		for _, ms := range m.Departments {
			in[ms.Department] = append(in[ms.Department], m.UserID)
		}
	}
	deleted := map[int64]int{}
	for _, c := range cands {
		var deps []int
		blocked := ""
		for _, ch := range children[c.d.ID] {
			if i, ok := deleted[ch]; ok {
				deps = append(deps, i)
				continue
			}
			if i, ok := p.moveDept[ch]; ok {
				deps = append(deps, i)
				continue
			}
			blocked = fmt.Sprintf("its child department %d stays", ch)
			break
		}
		for _, u := range in[c.d.ID] {
			if blocked != "" {
				break
			}
			i, ok := p.userOp[u]
			moved := ok && (p.plan.Ops[i].Kind == OpDeleteUser ||
				!slices.ContainsFunc(p.want[u].Departments, func(ms Membership) bool { return ms.Department == c.d.ID }))
			if !moved {
				blocked = fmt.Sprintf("its member %s stays", u)
				break
			}
			deps = append(deps, i)
		}
		if blocked != "" {
			p.note("department %d (%s) is no longer desired but is not deleted: %s", c.d.ID, c.d.DCCode, blocked)
			continue
		}
		deleted[c.d.ID] = p.add(Op{Kind: OpDeleteDepartment, Department: c.d.ID, Depends: deps, Reason: "absent"})
	}
}

// --- guard, summary, file ---

// GuardError is the refusal of a plan that disables or deletes too much.
type GuardError struct {
	Members, MembersTotal         int // members the plan disables or deletes, of
	Departments, DepartmentsTotal int // departments it deletes, of
	Share                         float64
}

func (e *GuardError) Error() string {
	var parts []string
	if over(e.Members, e.MembersTotal, e.Share) {
		parts = append(parts, fmt.Sprintf("disable or delete %d of %d members (%s)", e.Members, e.MembersTotal, pct(e.Members, e.MembersTotal)))
	}
	if over(e.Departments, e.DepartmentsTotal, e.Share) {
		parts = append(parts, fmt.Sprintf("delete %d of %d departments (%s)", e.Departments, e.DepartmentsTotal, pct(e.Departments, e.DepartmentsTotal)))
	}
	return fmt.Sprintf("contacts: the plan would %s, more than %s: confirm it to run it", strings.Join(parts, " and "), strconv.FormatFloat(e.Share*100, 'f', -1, 64)+"%")
}

func pct(n, total int) string {
	if total == 0 {
		return "all"
	}
	return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 1, 64) + "%"
}

func over(n, total int, share float64) bool { return n > 0 && float64(n) > share*float64(total) }

// Guard refuses (with a *GuardError) a plan that would disable or delete
// more than share of the members, or delete more than share of the
// departments. total is how many members the corp has (WeCom's
// user/list_id count); 0 takes the mirror's. Departments are counted
// against the mirror's. share <= 0 is DefaultGuardShare.
func (p *Plan) Guard(total int, share float64) error {
	if share <= 0 {
		share = DefaultGuardShare
	}
	if total <= 0 {
		total = p.MirrorMembers
	}
	e := &GuardError{MembersTotal: total, DepartmentsTotal: p.MirrorDepartments, Share: share}
	users := map[string]bool{}
	for _, op := range p.Ops {
		switch op.Kind {
		case OpDisableUser, OpDeleteUser:
			users[op.UserID] = true
		case OpDeleteDepartment:
			e.Departments++
		}
	}
	e.Members = len(users)
	if over(e.Members, e.MembersTotal, share) || over(e.Departments, e.DepartmentsTotal, share) {
		return e
	}
	return nil
}

// KindCount is how many ops of a kind a plan has.
type KindCount struct {
	Kind  OpKind `json:"kind"`
	Count int    `json:"count"`
}

// Summary counts a plan's ops, for `sync --dry-run`.
type Summary struct {
	Ops   int         `json:"ops"`
	Kinds []KindCount `json:"kinds"` // in plan order; kinds without ops left out
	// TagUsersAdded and TagUsersRemoved count the members the tag ops move.
	TagUsersAdded   int `json:"tag_users_added"`
	TagUsersRemoved int `json:"tag_users_removed"`
	Notes           int `json:"notes"`
}

// Summary counts the plan's ops per kind.
func (p *Plan) Summary() Summary {
	counts := map[OpKind]int{}
	s := Summary{Ops: len(p.Ops), Notes: len(p.Notes)}
	for _, op := range p.Ops {
		counts[op.Kind]++
		switch op.Kind {
		case OpAddTagUsers:
			s.TagUsersAdded += len(op.Users)
		case OpDelTagUsers:
			s.TagUsersRemoved += len(op.Users)
		}
	}
	for _, k := range OpKinds {
		if counts[k] > 0 {
			s.Kinds = append(s.Kinds, KindCount{k, counts[k]})
		}
	}
	return s
}

func (s Summary) String() string {
	if s.Ops == 0 {
		return "nothing to do"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d operations:", s.Ops)
	for _, k := range s.Kinds {
		fmt.Fprintf(&b, " %s %d,", k.Kind, k.Count)
	}
	out := strings.TrimSuffix(b.String(), ",")
	if s.TagUsersAdded+s.TagUsersRemoved > 0 {
		out += fmt.Sprintf(" (tag members: %d added, %d removed)", s.TagUsersAdded, s.TagUsersRemoved)
	}
	return out
}

// WriteJSON writes the whole plan as JSON, one op a line: its summary, its
// notes and its ops. Mobile numbers and email addresses are masked (the
// file is for people to read; the mirror holds the values, sealed).
func (p *Plan) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	head, err := json.Marshal(struct {
		Summary Summary  `json:"summary"`
		Notes   []string `json:"notes"`
	}{p.Summary(), append([]string{}, p.Notes...)})
	if err != nil {
		return fmt.Errorf("contacts: write the plan: %w", err)
	}
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"ops":[`)
	for i, op := range p.Ops {
		if op.UserFields != nil && (op.UserFields.Mobile != nil || op.UserFields.Email != nil) {
			f := *op.UserFields
			if f.Mobile != nil {
				f.Mobile = ptr(maskMobile(*f.Mobile))
			}
			if f.Email != nil {
				f.Email = ptr(maskEmail(*f.Email))
			}
			op.UserFields = &f
		}
		line, err := json.Marshal(op)
		if err != nil {
			return fmt.Errorf("contacts: write the plan: op %d: %w", i, err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		bw.Write(line)
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("contacts: write the plan: %w", err)
	}
	return nil
}

// maskMobile keeps the first 3 and last 4 digits (138****1234).
func maskMobile(s string) string {
	r := []rune(s)
	if len(r) <= 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// maskEmail keeps the first character and the domain (z***@example.edu.cn).
func maskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return strings.Repeat("*", len([]rune(s)))
	}
	r := []rune(s[:at])
	return string(r[:1]) + "***" + s[at:]
}
