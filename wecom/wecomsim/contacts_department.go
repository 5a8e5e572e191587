package wecomsim

import (
	"math"
	"strings"
	"unicode/utf8"
)

// Department rules (docs/wecom.md §5.2): name/name_en 1–32 characters
// without \ : * ? " < > | (full-width ｜ too); order in [0, 2^32); id, when
// given, > 1 and 32-bit; name unique under a parent; depth ≤ 15; ≤ 30,000
// departments per corp.

const deptNameIllegal = `\:*?"<>|｜`

func checkDeptName(field, name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 32 {
		return errf(60001, "%s must be 1–32 characters, got %d", field, n)
	}
	if strings.ContainsAny(name, deptNameIllegal) {
		return errf(60009, "%s %q contains one of %s", field, name, deptNameIllegal)
	}
	return nil
}

func checkOrder(field string, v int64) error {
	if v < 0 || v > math.MaxUint32 {
		return errf(40058, "%s %d outside [0, 2^32)", field, v)
	}
	return nil
}

// siblingNamed finds a child of parent named name, other than except.
func (st *state) siblingNamed(parent int64, name string, except int64) bool {
	for c := range st.kids[parent] {
		if c != except && st.depts[c].Name == name {
			return true
		}
	}
	return false
}

// createDepartment applies department/create for actor a.
func (s *Sim) createDepartment(a actor, f fields) (int64, error) {
	st := s.st
	name, ok, err := f.str("name")
	if err != nil {
		return 0, err
	}
	if !ok {
		name = ""
	}
	if err := checkDeptName("name", name); err != nil {
		return 0, err
	}
	d := &Department{Name: name}
	if v, ok, err := f.str("name_en"); err != nil {
		return 0, err
	} else if ok && v != "" {
		if err := checkDeptName("name_en", v); err != nil {
			return 0, err
		}
		d.NameEn = v
	}
	if v, ok, err := f.int64("order"); err != nil {
		return 0, err
	} else if ok {
		if err := checkOrder("order", v); err != nil {
			return 0, err
		}
		d.Order = v
	}
	id, hasID, err := f.int64("id")
	if err != nil {
		return 0, err
	}
	if hasID && id != 0 {
		if _, exists := st.depts[id]; exists {
			return 0, errf(60008, "department id %d exists", id)
		}
		if id < 2 || id > math.MaxInt32 {
			return 0, errf(60123, "department id %d must be > 1 and 32-bit", id)
		}
	}
	parent, ok, err := f.int64("parentid")
	if err != nil {
		return 0, err
	}
	if !ok || st.depts[parent] == nil {
		return 0, errf(60004, "parent department %d not found", parent)
	}
	d.ParentID = parent
	if st.siblingNamed(parent, name, 0) {
		return 0, errf(60008, "a department named %q exists under %d", name, parent)
	}
	if st.depth(parent)+1 > st.cap.maxDepth {
		return 0, errf(81002, "depth would exceed %d", st.cap.maxDepth)
	}
	if len(st.depts) >= st.cap.maxDepartments {
		return 0, errf(81001, "corp has %d departments", len(st.depts))
	}
	if !hasID || id == 0 {
		id = st.maxDeptID + 1
	}
	st.maxDeptID = max(st.maxDeptID, id)
	d.ID = id
	st.depts[id] = d
	st.link(id, parent)
	s.recordChange(a, Change{ChangeType: "create_party", DeptID: id}, s.createPartyChange(d))
	return id, nil
}

// updateDepartment applies department/update: present fields are written,
// absent ones kept.
func (s *Sim) updateDepartment(a actor, f fields) error {
	st := s.st
	id, ok, err := f.int64("id")
	if err != nil {
		return err
	}
	d := st.depts[id]
	if !ok || d == nil {
		return errf(60003, "department %d not found", id)
	}
	before, after := *d, *d
	var changed []string
	if v, ok, err := f.str("name"); err != nil {
		return err
	} else if ok {
		if err := checkDeptName("name", v); err != nil {
			return err
		}
		after.Name = v
	}
	if v, ok, err := f.str("name_en"); err != nil {
		return err
	} else if ok {
		if v != "" {
			if err := checkDeptName("name_en", v); err != nil {
				return err
			}
		}
		after.NameEn = v
	}
	if v, ok, err := f.int64("order"); err != nil {
		return err
	} else if ok {
		if err := checkOrder("order", v); err != nil {
			return err
		}
		after.Order = v
	}
	if p, ok, err := f.int64("parentid"); err != nil {
		return err
	} else if ok && p != d.ParentID {
		if id == rootDeptID {
			return errf(40058, "the root department cannot move")
		}
		if st.depts[p] == nil {
			return errf(60004, "parent department %d not found", p)
		}
		if st.isDescendant(p, id) {
			return errf(60010, "department %d cannot move under its own subtree (%d)", id, p)
		}
		if st.depth(p)+st.height(id) > st.cap.maxDepth {
			return errf(81002, "depth would exceed %d", st.cap.maxDepth)
		}
		after.ParentID = p
	}
	if (after.Name != before.Name || after.ParentID != before.ParentID) && id != rootDeptID &&
		st.siblingNamed(after.ParentID, after.Name, id) {
		return errf(60008, "a department named %q exists under %d", after.Name, after.ParentID)
	}
	if after.Name != before.Name {
		changed = append(changed, "name")
	}
	if after.NameEn != before.NameEn {
		changed = append(changed, "name_en")
	}
	if after.ParentID != before.ParentID {
		changed = append(changed, "parentid")
		st.unlink(id, before.ParentID)
		st.link(id, after.ParentID)
	}
	if after.Order != before.Order {
		changed = append(changed, "order")
	}
	if len(changed) == 0 {
		return nil
	}
	*d = after
	s.recordChange(a, Change{ChangeType: "update_party", DeptID: id, Fields: changed}, s.updatePartyChange(&before, &after))
	return nil
}

// deleteDepartment applies department/delete: the root (60007), a
// department with members (60005) or children (60006) cannot go. Tags
// lose it without an update_tag event (DelPartyItems may be missing when a
// deletion caused it, §3).
func (s *Sim) deleteDepartment(a actor, id int64) error {
	st := s.st
	d := st.depts[id]
	switch {
	case d == nil:
		return errf(60003, "department %d not found", id)
	case id == rootDeptID:
		return errf(60007, "root department")
	case len(st.byDept[id]) > 0:
		return errf(60005, "department %d has %d members", id, len(st.byDept[id]))
	case len(st.kids[id]) > 0:
		return errf(60006, "department %d has %d children", id, len(st.kids[id]))
	}
	st.unlink(id, d.ParentID)
	delete(st.depts, id)
	delete(st.kids, id)
	delete(st.byDept, id)
	if st.pendingDept == id {
		st.pendingDept = 0
	}
	for _, t := range st.tags {
		t.PartyList = deleteInt(t.PartyList, id)
	}
	s.recordChange(a, Change{ChangeType: "delete_party", DeptID: id}, deletePartyChange(id))
	return nil
}

func deleteInt(v []int64, x int64) []int64 {
	out := v[:0]
	for _, y := range v {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

func (s *Sim) deptJSON(d *Department) obj {
	o := obj{
		"id":                d.ID,
		"name":              d.Name,
		"parentid":          d.ParentID,
		"order":             d.Order,
		"department_leader": s.st.leaders(d.ID),
	}
	if d.NameEn != "" {
		o["name_en"] = d.NameEn
	}
	return o
}

// deptQuery reads ?id= for department/get|delete: missing or unknown is
// 60003 ("需要确认部门ID是否有带"), malformed 40058.
func (c *call) deptQuery(name string, st *state) (int64, error) {
	id, present, valid := c.queryInt(name)
	switch {
	case !valid:
		return 0, errf(40058, "%s=%q is not a number", name, c.query.Get(name))
	case !present:
		return 0, errf(60003, "%s missing", name)
	case st.depts[id] == nil:
		return 0, errf(60003, "department %d not found", id)
	}
	return id, nil
}

// checkDeptVisible: an app token may read only departments in its visible
// range (60011).
func (s *Sim) checkDeptVisible(c *call, id int64) error {
	if app := c.cred.appOf(); app != nil && !s.st.visible(app).dept(id) {
		return errf(60011, "department %d outside app %d's visible range", id, app.AgentID)
	}
	return nil
}

// listedDepts is department/list|simplelist: ?id= gives that department
// and its subtree; without it, every department the caller may see.
func (s *Sim) listedDepts(c *call) ([]*Department, error) {
	st := s.st
	id, present, valid := c.queryInt("id")
	if !valid {
		return nil, errf(40058, "id=%q is not a number", c.query.Get("id"))
	}
	if present {
		if st.depts[id] == nil {
			return nil, errf(60003, "department %d not found", id)
		}
		if err := s.checkDeptVisible(c, id); err != nil {
			return nil, err
		}
	} else {
		id = rootDeptID
	}
	var vis *visibleSet
	if app := c.cred.appOf(); app != nil {
		vis = st.visible(app)
	}
	var out []*Department
	for _, d := range st.preorder(id, nil) {
		if vis == nil || vis.dept(d) {
			out = append(out, st.depts[d])
		}
	}
	return out, nil
}

func (s *Sim) handleDepartmentCreate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	id, err := s.createDepartment(c.cred.actor(), f)
	if err != nil {
		return nil, err
	}
	return obj{"id": id}, nil
}

func (s *Sim) handleDepartmentUpdate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	return nil, s.updateDepartment(c.cred.actor(), f)
}

func (s *Sim) handleDepartmentDelete(c *call) (obj, error) {
	id, err := c.deptQuery("id", s.st)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteDepartment(c.cred.actor(), id)
}

func (s *Sim) handleDepartmentList(c *call) (obj, error) {
	ds, err := s.listedDepts(c)
	if err != nil {
		return nil, err
	}
	out := make([]obj, 0, len(ds))
	for _, d := range ds {
		out = append(out, s.deptJSON(d))
	}
	return obj{"department": out}, nil
}

func (s *Sim) handleDepartmentSimpleList(c *call) (obj, error) {
	ds, err := s.listedDepts(c)
	if err != nil {
		return nil, err
	}
	out := make([]obj, 0, len(ds))
	for _, d := range ds {
		out = append(out, obj{"id": d.ID, "parentid": d.ParentID, "order": d.Order})
	}
	return obj{"department_id": out}, nil
}

func (s *Sim) handleDepartmentGet(c *call) (obj, error) {
	id, err := c.deptQuery("id", s.st)
	if err != nil {
		return nil, err
	}
	if err := s.checkDeptVisible(c, id); err != nil {
		return nil, err
	}
	return obj{"department": s.deptJSON(s.st.depts[id])}, nil
}
