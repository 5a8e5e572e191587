package orgsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/wecomapp/wecomapp/wecom"
)

// Verification compares the ids WeCom holds with the mirror's: what the
// contacts-sync secret can still read (user/list_id, department/simplelist,
// tag/list; docs/wecom.md §5.1).
type Verification struct {
	Members, Departments, Tags int // in WeCom
	// Missing are in the mirror but not in WeCom (deleted there); Extra in
	// WeCom but not in the mirror (made by someone else).
	MissingMembers, ExtraMembers         []string
	MissingDepartments, ExtraDepartments []int64
	MissingTags, ExtraTags               []string // "id name"
	Calls                                int
}

// Clean says whether WeCom and the mirror agree.
func (v *Verification) Clean() bool {
	return len(v.MissingMembers)+len(v.ExtraMembers)+len(v.MissingDepartments)+len(v.ExtraDepartments)+len(v.MissingTags)+len(v.ExtraTags) == 0
}

// Verify reads WeCom's ids and compares them with the mirror.
func (r *Runner) Verify(ctx context.Context) (*Verification, error) {
	cl := r.opts.Client
	if cl == nil {
		return nil, errors.New("orgsync: verify: no contacts client")
	}
	st, err := r.opts.Mirror.Load(ctx)
	if err != nil {
		return nil, err
	}
	v := &Verification{}
	users := map[string]bool{}
	for cursor := ""; ; {
		v.Calls++
		page, err := cl.ListUserIDs(ctx, cursor, 10000)
		if err != nil {
			return nil, fmt.Errorf("orgsync: verify: %w", err)
		}
		for _, du := range page.DeptUser {
			users[du.UserID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	v.Members = len(users)
	mirrored := map[string]bool{}
	for _, m := range st.Members {
		mirrored[m.UserID] = true
		if !users[m.UserID] {
			v.MissingMembers = append(v.MissingMembers, m.UserID)
		}
	}
	for u := range users {
		if !mirrored[u] {
			v.ExtraMembers = append(v.ExtraMembers, u)
		}
	}
	slices.Sort(v.ExtraMembers)

	v.Calls++
	refs, err := cl.DepartmentSimpleList(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("orgsync: verify: %w", err)
	}
	v.Departments = len(refs)
	depts := map[int64]bool{}
	for _, d := range refs {
		depts[int64(d.ID)] = true
	}
	mdepts := map[int64]bool{}
	for _, d := range st.Departments {
		mdepts[d.ID] = true
		if !depts[d.ID] {
			v.MissingDepartments = append(v.MissingDepartments, d.ID)
		}
	}
	for id := range depts {
		if !mdepts[id] && id != 1 { // the root exists in every corp
			v.ExtraDepartments = append(v.ExtraDepartments, id)
		}
	}
	slices.Sort(v.ExtraDepartments)

	v.Calls++
	tags, err := cl.ListTags(ctx)
	if err != nil {
		return nil, fmt.Errorf("orgsync: verify: %w", err)
	}
	v.Tags = len(tags)
	have := map[int64]wecom.Tag{}
	for _, t := range tags {
		have[int64(t.ID)] = t
	}
	mtags := map[int64]bool{}
	for _, t := range st.Tags {
		mtags[t.ID] = true
		if _, ok := have[t.ID]; !ok {
			v.MissingTags = append(v.MissingTags, strconv.FormatInt(t.ID, 10)+" "+t.Name)
		}
	}
	for id, t := range have {
		if !mtags[id] {
			v.ExtraTags = append(v.ExtraTags, strconv.FormatInt(id, 10)+" "+t.Name)
		}
	}
	slices.Sort(v.ExtraTags)
	return v, nil
}
