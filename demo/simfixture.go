package demo

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"

	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// SimFixture is the university as the simulated WeCom corp holds it after
// a completed org sync: the same departments, members and tags. The first
// leader is the corp's creator (who cannot be deleted).
func (u *University) SimFixture() *wecomsim.Fixture {
	f := &wecomsim.Fixture{}
	leaders := map[int][]string{}
	for _, p := range u.People {
		for _, d := range p.LeaderIn {
			leaders[d] = append(leaders[d], p.UserID)
		}
	}
	for _, d := range u.Departments {
		f.Departments = append(f.Departments, wecomsim.Department{
			ID: int64(d.ID), Name: d.Name, ParentID: int64(d.ParentID), Order: int64(d.Order), DepartmentLeader: leaders[d.ID],
		})
	}
	for _, p := range u.People {
		depts := make([]int64, len(p.Departments))
		lead := make([]int, len(p.Departments))
		for i, d := range p.Departments {
			depts[i] = int64(d)
			for _, l := range p.LeaderIn {
				if l == d {
					lead[i] = 1
				}
			}
		}
		f.Users = append(f.Users, wecomsim.User{
			UserID: p.UserID, Name: p.Name, Department: depts, IsLeaderInDept: lead, Position: p.Position,
			Mobile: p.Mobile, Gender: strconv.Itoa(p.Gender), Email: p.Email, MainDepartment: int64(p.MainDepartment),
			Status: p.Status, WeChatPlugin: p.WeChatPlugin, OpenID: openID(p.UserID),
		})
	}
	for _, t := range u.Tags {
		parties := make([]int64, len(t.Parties))
		for i, d := range t.Parties {
			parties[i] = int64(d)
		}
		// Tags are created by the contacts-sync tool during org sync.
		f.Tags = append(f.Tags, wecomsim.Tag{TagID: int64(t.ID), TagName: t.Name, UserList: t.Users, PartyList: parties, Owner: wecomsim.OwnerContacts})
	}
	for _, p := range u.People {
		if p.Main() == CatLeader {
			f.Creator = p.UserID
			break
		}
	}
	return f
}

// openID is a stable per-corp openid for a member, as convert_to_openid
// would return it.
func openID(userID string) string {
	h := sha1.Sum([]byte("demo-corp:" + userID))
	return "o" + hex.EncodeToString(h[:])[:27]
}
