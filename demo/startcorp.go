package demo

import "github.com/wecomapp/wecomapp/wecom/wecomsim"

// StartingCorp is the simulated corp before its first org sync: the root
// department and the creator, and what the data center does not make —
// the departments of alumni, examinees and visitors with the people who
// joined them through self-registration. The first org sync fills in the
// rest from the data center.
func (u *University) StartingCorp() *wecomsim.Fixture {
	full := u.SimFixture()
	f := &wecomsim.Fixture{Creator: full.Creator}
	outside := map[int64]bool{}
	for _, d := range u.Departments {
		if d.Kind == KindRoot || d.Kind == KindVirtual {
			outside[int64(d.ID)] = true
		}
	}
	for _, d := range full.Departments {
		if outside[d.ID] {
			d.DepartmentLeader = nil
			f.Departments = append(f.Departments, d)
		}
	}
	for _, m := range full.Users {
		in := true
		for _, d := range m.Department {
			in = in && outside[d]
		}
		switch {
		case m.UserID == full.Creator:
			m.Department, m.IsLeaderInDept, m.MainDepartment = []int64{RootID}, nil, RootID
		case !in:
			continue
		}
		f.Users = append(f.Users, m)
	}
	for _, t := range full.Tags {
		var us []string
		for _, id := range t.UserList {
			for _, m := range f.Users {
				if m.UserID == id && m.UserID != full.Creator {
					us = append(us, id)
				}
			}
		}
		if len(us) > 0 && len(us) == len(t.UserList) && len(t.PartyList) == 0 {
			// 校友, 考生, 访客: kept by the platform for its self-registered
			// people, not by tag rules.
			t.UserList = us
			f.Tags = append(f.Tags, t)
		}
	}
	return f
}

// Joined is how the demo's people use WeCom once the org sync has made
// them members: active or not yet, in the WeCom client or through the
// WeChat plugin (wecomsim.Sim.SetJoined).
func (u *University) Joined() []wecomsim.Joined {
	out := make([]wecomsim.Joined, 0, len(u.People))
	for _, p := range u.People {
		out = append(out, wecomsim.Joined{UserID: p.UserID, Status: p.Status, WeChatPlugin: p.WeChatPlugin, OpenID: openID(p.UserID)})
	}
	return out
}
