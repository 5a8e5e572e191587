package contacts

import "slices"

// Only returns the part of the plan that concerns these members alone,
// re-indexed: their own ops (creation, update), the creations of the
// departments those depend on, and tag memberships cut down to them (with
// the creations of their tags). A self-registration applies it: the person
// joins at once, through the same ops the nightly run would have made,
// without waiting for it or applying anyone else's changes.
func (p *Plan) Only(userIDs []string) *Plan {
	want := map[string]bool{}
	for _, u := range userIDs {
		want[u] = true
	}
	keep := map[int]bool{}
	var mark func(i int)
	mark = func(i int) {
		if keep[i] {
			return
		}
		keep[i] = true
		for _, d := range p.Ops[i].Depends {
			mark(d)
		}
	}
	cut := map[int][]string{}
	for i, op := range p.Ops {
		switch op.Kind {
		case OpCreateUser, OpUpdateUser, OpDisableUser:
			if want[op.UserID] {
				mark(i)
			}
		case OpAddTagUsers, OpDelTagUsers:
			var us []string
			for _, u := range op.Users {
				if want[u] {
					us = append(us, u)
				}
			}
			if len(us) > 0 {
				cut[i] = us
				mark(i)
			}
		}
	}
	return p.subset(keep, cut)
}

// subset is the plan's ops in keep, re-indexed with their dependencies
// (which keep must hold), tag ops' users replaced by cut's where given.
func (p *Plan) subset(keep map[int]bool, cut map[int][]string) *Plan {
	out := &Plan{TagIDs: map[string]int64{}, MirrorMembers: p.MirrorMembers, MirrorDepartments: p.MirrorDepartments}
	index := map[int]int{}
	for i, op := range p.Ops {
		if !keep[i] {
			continue
		}
		if us, ok := cut[i]; ok {
			op.Users, op.Parties = us, nil
		}
		index[i] = len(out.Ops)
		op.Index = len(out.Ops)
		var deps []int
		for _, d := range op.Depends {
			if j, ok := index[d]; ok { // a dependency comes first, so it is indexed
				deps = append(deps, j)
			}
		}
		op.Depends = slices.Clip(deps)
		out.Ops = append(out.Ops, op)
		if op.Kind == OpCreateTag {
			out.TagIDs[op.TagName] = op.Tag
		}
	}
	return out
}

// departmentOps is the part of the plan that creates and updates
// departments.
func (p *Plan) departmentOps() *Plan {
	keep := map[int]bool{}
	for i, op := range p.Ops {
		if op.Kind == OpCreateDepartment || op.Kind == OpUpdateDepartment {
			keep[i] = true
		}
	}
	return p.subset(keep, nil)
}
