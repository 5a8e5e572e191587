package demo

import (
	"github.com/wecomapp/wecomapp/store"
)

// PeopleExt is our own record of the people outside the data center
// (alumni, examinees, visitors, who registered themselves), and of the
// alumnus identity of a staff member who graduated here: the data center
// knows them as staff only.
func (u *University) PeopleExt() []store.PersonExt {
	var out []store.PersonExt
	for _, p := range u.People {
		kind := ""
		switch {
		case p.Main() == CatAlumnus || p.Main() == CatExaminee || p.Main() == CatVisitor:
			kind = p.Main()
		case contains(p.Categories, CatAlumnus):
			kind = CatAlumnus
		default:
			continue
		}
		out = append(out, store.PersonExt{UserID: p.UserID, Name: p.Name, Kind: kind, Org: p.Org, CreatedAt: store.Millis(p.Registered)})
	}
	return out
}

// PersonTags is every (person, tag) pair of u.Tags with WeCom's meaning: a
// tag's departments stand for everyone in that department or below it.
// Each pair appears once, in tag order.
func (u *University) PersonTags() []store.PersonTag {
	// members[d]: the people directly in department d.
	members := map[int][]string{}
	for _, p := range u.People {
		for _, d := range p.Departments {
			members[d] = append(members[d], p.UserID)
		}
	}
	children := map[int][]int{}
	for _, d := range u.Departments {
		if d.ID != RootID {
			children[d.ParentID] = append(children[d.ParentID], d.ID)
		}
	}
	var out []store.PersonTag
	for _, t := range u.Tags {
		seen := map[string]bool{}
		add := func(id string) {
			if !seen[id] {
				seen[id] = true
				out = append(out, store.PersonTag{UserID: id, Tag: t.Name})
			}
		}
		for _, id := range t.Users {
			add(id)
		}
		var walk func(d int)
		walk = func(d int) {
			for _, id := range members[d] {
				add(id)
			}
			for _, c := range children[d] {
				walk(c)
			}
		}
		for _, d := range t.Parties {
			walk(d)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
