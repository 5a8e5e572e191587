package hall

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/store"
)

// Resolver finds approvers in our own records: the data-center tables
// (counselors, posts, leaders, the department tree) and the contacts
// mirror (tags as we wrote them). It never asks WeCom.
type Resolver struct {
	db *store.DB

	mu     sync.Mutex
	cached deptTree
	at     time.Time
}

// treeTTL is how long the department tree is reused: re-resolving every
// open task reads it once, and a night's load shows within a minute.
const treeTTL = time.Minute

// NewResolver returns the resolver over db.
func NewResolver(db *store.DB) *Resolver { return &Resolver{db: db} }

// Bind answers a def.Resolver asking with ctx (def.Resolver's methods
// take none).
func (r *Resolver) Bind(ctx context.Context) def.Resolver { return bound{r: r, ctx: ctx} }

// Resolve implements def.Resolver without a deadline (the designer's
// simulator); the engine binds its request's context instead.
func (r *Resolver) Resolve(a def.Applicant, src def.Approver) ([]string, error) {
	return r.ResolveContext(context.Background(), a, src)
}

// Possible implements def.Resolver.
func (r *Resolver) Possible(aud def.Audience, src def.Approver) (bool, string) {
	return r.PossibleContext(context.Background(), aud, src)
}

type bound struct {
	r   *Resolver
	ctx context.Context
}

func (b bound) Resolve(a def.Applicant, src def.Approver) ([]string, error) {
	return b.r.ResolveContext(b.ctx, a, src)
}

func (b bound) Possible(aud def.Audience, src def.Approver) (bool, string) {
	return b.r.PossibleContext(b.ctx, aud, src)
}

// Applicant builds the applicant a member is, from the data-center
// tables: their faculty record (active) when they have one, else their
// student record (enrolled); ErrNotFound for neither. A teacher who also
// studies here applies as a student through ApplicantFor.
func (r *Resolver) Applicant(ctx context.Context, userid string) (def.Applicant, error) {
	as, err := r.Applicants(ctx, userid)
	if err != nil {
		return def.Applicant{}, err
	}
	return as[0], nil
}

// ApplicantFor is the applicant record of userid that may apply for a
// process of aud (students: the student record; faculty: the faculty
// one; otherwise as Applicant); ErrNotFound when none may.
func (r *Resolver) ApplicantFor(ctx context.Context, userid string, aud def.Audience) (def.Applicant, error) {
	as, err := r.Applicants(ctx, userid)
	if err != nil {
		return def.Applicant{}, err
	}
	for _, a := range as {
		if (aud == def.Students && a.Kind == "student") || (aud == def.Faculty && a.Kind == "faculty") || (aud != def.Students && aud != def.Faculty) {
			return a, nil
		}
	}
	return def.Applicant{}, fmt.Errorf("hall: applicant %s for %s: %w", userid, aud, ErrNotFound)
}

// Applicants are every applicant record of userid: faculty first, then
// student; ErrNotFound for none.
func (r *Resolver) Applicants(ctx context.Context, userid string) ([]def.Applicant, error) {
	var out []def.Applicant
	f, err := r.db.DCFacultyByNo(ctx, userid)
	switch {
	case err == nil && f.Status == "active":
		t, err := r.tree(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, def.Applicant{UserID: userid, Name: f.Name, Kind: "faculty", College: t.top(f.DeptCode), Dept: f.DeptCode})
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("hall: applicant %s: %w", userid, err)
	}
	s, err := r.db.DCStudentByNo(ctx, userid)
	switch {
	case err == nil && s.Status == "enrolled":
		level := s.Level
		if level == "" {
			level = "undergraduate"
		}
		dept := s.ClassCode
		if dept == "" {
			dept = s.CollegeCode
		}
		out = append(out, def.Applicant{UserID: userid, Name: s.Name, Kind: "student", College: s.CollegeCode, Dept: dept, Grade: s.Grade, Level: level})
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("hall: applicant %s: %w", userid, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hall: applicant %s: %w", userid, ErrNotFound)
	}
	return out, nil
}

// ResolveContext finds src's people for applicant a, in a stable order.
func (r *Resolver) ResolveContext(ctx context.Context, a def.Applicant, src def.Approver) ([]string, error) {
	var out []string
	var err error
	switch src.Kind {
	case def.Counselor:
		if a.Kind != "student" || a.UserID == "" {
			return nil, nil
		}
		s, e := r.db.DCStudentByNo(ctx, a.UserID)
		if errors.Is(e, store.ErrNotFound) {
			return nil, nil
		}
		if e != nil {
			return nil, fmt.Errorf("hall: counselor of %s: %w", a.UserID, e)
		}
		if s.CounselorNo != "" {
			out, err = r.db.HallActiveMembers(ctx, []string{s.CounselorNo})
		}
	case def.CollegeHead:
		if a.College != "" {
			out, err = r.db.HallFacultyIn(ctx, []string{a.College}, "", true)
		}
	case def.CollegePost:
		if a.College != "" && src.Post != "" {
			var t deptTree
			if t, err = r.tree(ctx); err == nil {
				out, err = r.db.HallFacultyIn(ctx, t.below(a.College), src.Post, false)
			}
		}
	case def.DeptLeader:
		if a.Kind == "faculty" && a.Dept != "" {
			out, err = r.db.HallFacultyIn(ctx, []string{a.Dept}, "", true)
		}
	case def.Post:
		if src.Dept != "" && src.Post != "" {
			var t deptTree
			if t, err = r.tree(ctx); err == nil {
				out, err = r.db.HallFacultyIn(ctx, t.below(src.Dept), src.Post, false)
			}
		}
	case def.TagMembers:
		out, err = r.tagMembers(ctx, src.Tag)
	case def.NamedUsers:
		out, err = r.db.HallActiveMembers(ctx, src.Users)
	case def.ApplicantSelf:
		if a.UserID != "" {
			out = []string{a.UserID}
		}
	default:
		return nil, fmt.Errorf("hall: unknown approver kind %q", src.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("hall: resolve %s for %s: %w", src.Kind, a.UserID, err)
	}
	// A person who would approve their own application is left out,
	// unless the step asks for the applicant.
	if src.Kind != def.ApplicantSelf && a.UserID != "" {
		out = slices.DeleteFunc(out, func(u string) bool { return u == a.UserID })
	}
	return dedupe(out), nil
}

// tagMembers lists the members of the mirror's tag named name: its
// members, and the active people of its departments and those below.
func (r *Resolver) tagMembers(ctx context.Context, name string) ([]string, error) {
	tags, err := r.db.ListMirrorTags(ctx, nil)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, t := range tags {
		if t.Name == name {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ms, err := r.db.ListMirrorTagMembers(ctx, nil, ids...)
	if err != nil {
		return nil, err
	}
	var users []string
	var parties []int64
	for _, m := range ms {
		if m.UserID != "" {
			users = append(users, m.UserID)
		} else if m.PartyID != 0 {
			parties = append(parties, m.PartyID)
		}
	}
	out, err := r.db.HallActiveMembers(ctx, users)
	if err != nil || len(parties) == 0 {
		return out, err
	}
	depts, err := r.db.ListMirrorDepartments(ctx, nil)
	if err != nil {
		return nil, err
	}
	t, err := r.tree(ctx)
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, d := range depts {
		if slices.Contains(parties, d.ID) && d.DCCode != "" {
			codes = append(codes, t.below(d.DCCode)...)
		}
	}
	more, err := r.db.HallMembersIn(ctx, codes)
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}

// PossibleContext says whether src could resolve to anybody for some
// applicant of aud, and why not.
func (r *Resolver) PossibleContext(ctx context.Context, aud def.Audience, src def.Approver) (bool, string) {
	fail := func(err error) (bool, string) { return false, "无法查询审批人：" + err.Error() }
	switch src.Kind {
	case def.Counselor:
		if aud == def.Faculty || aud == def.OffCampus {
			return false, "只有学生有辅导员"
		}
		n, err := r.db.HallCountCounseled(ctx)
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			return false, "没有学生登记了辅导员"
		}
	case def.CollegeHead:
		if aud == def.OffCampus {
			return false, "校外申请人不属于任何学院"
		}
		n, err := r.db.HallCountFaculty(ctx, "", true)
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			return false, "没有部门负责人"
		}
	case def.CollegePost, def.Post:
		if src.Post == "" {
			return false, "未指定职务"
		}
		if src.Kind == def.Post && src.Dept == "" {
			return false, "未指定部门"
		}
		if src.Kind == def.CollegePost && aud == def.OffCampus {
			return false, "校外申请人不属于任何学院"
		}
		if src.Kind == def.Post {
			t, err := r.tree(ctx)
			if err != nil {
				return fail(err)
			}
			if !t.has(src.Dept) {
				return false, "部门 " + src.Dept + " 不存在"
			}
			ids, err := r.db.HallFacultyIn(ctx, t.below(src.Dept), src.Post, false)
			if err != nil {
				return fail(err)
			}
			if len(ids) == 0 {
				return false, "部门 " + src.Dept + " 没有人担任" + src.Post
			}
			return true, ""
		}
		n, err := r.db.HallCountFaculty(ctx, src.Post, false)
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			return false, "没有人担任" + src.Post
		}
	case def.DeptLeader:
		if aud != def.Faculty && aud != def.Members {
			return false, "只有教职工有所在部门负责人"
		}
	case def.TagMembers:
		if src.Tag == "" {
			return false, "未指定标签"
		}
		ids, err := r.tagMembers(ctx, src.Tag)
		if err != nil {
			return fail(err)
		}
		if len(ids) == 0 {
			return false, "标签“" + src.Tag + "”不存在或没有成员"
		}
	case def.NamedUsers:
		ids, err := r.db.HallActiveMembers(ctx, src.Users)
		if err != nil {
			return fail(err)
		}
		if len(ids) == 0 {
			return false, "指定的人员都不在职或不存在"
		}
	case def.ApplicantSelf:
		if aud == def.OffCampus {
			return false, "校外申请人无法在企业微信中确认"
		}
	default:
		return false, "未知的审批人类型 " + string(src.Kind)
	}
	return true, ""
}

// deptTree is the data-center department tree.
type deptTree struct {
	parent   map[string]string
	children map[string][]string
}

func (r *Resolver) tree(ctx context.Context) (deptTree, error) {
	r.mu.Lock()
	t, at := r.cached, r.at
	r.mu.Unlock()
	if t.parent != nil && time.Since(at) < treeTTL {
		return t, nil
	}
	ds, err := r.db.ListDCDepartments(ctx)
	if err != nil {
		return deptTree{}, fmt.Errorf("hall: department tree: %w", err)
	}
	t = deptTree{parent: map[string]string{}, children: map[string][]string{}}
	for _, d := range ds {
		t.parent[d.Code] = d.ParentCode
		t.children[d.ParentCode] = append(t.children[d.ParentCode], d.Code)
	}
	r.mu.Lock()
	r.cached, r.at = t, time.Now()
	r.mu.Unlock()
	return t, nil
}

func (t deptTree) has(code string) bool { _, ok := t.parent[code]; return ok }

// below lists code and every department under it.
func (t deptTree) below(code string) []string {
	out := []string{code}
	for i := 0; i < len(out); i++ {
		out = append(out, t.children[out[i]]...)
	}
	return out
}

// top is the level-1 unit (college or office) code is in: level-1 units
// have no parent code in the data center.
func (t deptTree) top(code string) string {
	for range 64 { // a cycle in bad data ends here
		p, ok := t.parent[code]
		if !ok || p == "" {
			return code
		}
		code = p
	}
	return code
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
