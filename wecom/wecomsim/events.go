package wecomsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// This file decides what the change_contact and batch_job_result callbacks
// carry (docs/wecom.md §3) and builds them with the simulator's own XML
// structs (wirexml.go). Under today's rules (the default) members carry
// UserID and Department only, departments Id and ParentId only, and
// update_party fires only on a move (doc 90970/90971: "2022年8月15号后通讯录
// 助手新配置或修改的回调url"). Options.Legacy restores the full payloads.

// systemEvent is the envelope of a system event: FromUserName "sys",
// MsgType event.
func (s *Sim) systemEvent(event string, created int64) *wireMessage {
	return &wireMessage{ToUserName: cdata{s.opts.CorpID}, FromUserName: cdata{"sys"}, CreateTime: created,
		MsgType: cdata{"event"}, Event: cd(event)}
}

// memberField is one member element of change_contact: its value as text
// (what "changed" compares) and how it is written.
type memberField struct {
	name string
	val  func(u *User) string
	set  func(c *wireContact, u *User)
}

// memberFields lists the member elements in the documented order (after
// UserID and NewUserID).
var memberFields = []memberField{
	{"Name", func(u *User) string { return u.Name }, func(c *wireContact, u *User) { c.Name = cd(u.Name) }},
	{"Department", func(u *User) string { return joinIDs(u.Department) }, func(c *wireContact, u *User) { c.Department = cd(joinIDs(u.Department)) }},
	{"MainDepartment", func(u *User) string { return nonZero(u.MainDepartment) }, func(c *wireContact, u *User) { c.MainDepartment = i64(u.MainDepartment) }},
	{"IsLeaderInDept", func(u *User) string { return joinInts(u.IsLeaderInDept) }, func(c *wireContact, u *User) { c.IsLeaderInDept = cd(joinInts(u.IsLeaderInDept)) }},
	{"DirectLeader", func(u *User) string { return strings.Join(u.DirectLeader, ",") }, func(c *wireContact, u *User) { c.DirectLeader = cd(strings.Join(u.DirectLeader, ",")) }},
	{"Position", func(u *User) string { return u.Position }, func(c *wireContact, u *User) { c.Position = cd(u.Position) }},
	{"Mobile", func(u *User) string { return u.Mobile }, func(c *wireContact, u *User) { c.Mobile = strp(u.Mobile) }},
	{"Gender", func(u *User) string { return u.Gender }, func(c *wireContact, u *User) { c.Gender = strp(u.Gender) }},
	{"Email", func(u *User) string { return u.Email }, func(c *wireContact, u *User) { c.Email = cd(u.Email) }},
	{"BizMail", func(u *User) string { return u.BizMail }, func(c *wireContact, u *User) { c.BizMail = cd(u.BizMail) }},
	{"Status", func(u *User) string { return nonZero(int64(u.Status)) }, func(c *wireContact, u *User) { c.Status = i64(int64(u.Status)) }},
	{"Avatar", func(u *User) string { return u.Avatar }, func(c *wireContact, u *User) { c.Avatar = cd(u.Avatar) }},
	{"Alias", func(u *User) string { return u.Alias }, func(c *wireContact, u *User) { c.Alias = cd(u.Alias) }},
	{"Telephone", func(u *User) string { return u.Telephone }, func(c *wireContact, u *User) { c.Telephone = cd(u.Telephone) }},
	{"Address", func(u *User) string { return u.Address }, func(c *wireContact, u *User) { c.Address = cd(u.Address) }},
	{"ExtAttr", extAttrKey, func(c *wireContact, u *User) { c.ExtAttr = wireExt(u.ExtAttr) }},
}

func nonZero(v int64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

func extAttrKey(u *User) string {
	if u.ExtAttr == nil || len(u.ExtAttr.Attrs) == 0 {
		return ""
	}
	b, _ := json.Marshal(u.ExtAttr.Attrs)
	return string(b)
}

// wireExt writes custom attributes: text as <Text><Value>, web as
// <Web><Title><Url>. A mini-program attribute is written as text with its
// title (the callback docs show no mini-program form; unconfirmed).
func wireExt(e *ExtAttr) *wireExtAttrs {
	out := &wireExtAttrs{}
	if e == nil {
		return out
	}
	for _, a := range e.Attrs {
		x := wireExtAttr{Name: cdata{a.Name}, Type: a.Type}
		switch {
		case a.Web != nil:
			x.Web = &struct {
				Title cdata `xml:"Title"`
				URL   cdata `xml:"Url"`
			}{cdata{a.Web.Title}, cdata{a.Web.URL}}
		default:
			v := ""
			if a.Text != nil {
				v = a.Text.Value
			} else if a.Miniprogram != nil {
				v = a.Miniprogram.Title
			}
			x.Text = &struct {
				Value cdata `xml:"Value"`
			}{cdata{v}}
		}
		out.Items = append(out.Items, x)
	}
	return out
}

// createUserChange: today UserID and Department only; Legacy every
// non-empty field (Name and Department always).
func (s *Sim) createUserChange(u *User) *wireContact {
	c := &wireContact{UserID: cd(u.UserID)}
	for _, f := range memberFields {
		switch {
		case f.name == "Department":
			f.set(c, u)
		case !s.opts.Legacy:
		case f.name == "Name" || f.val(u) != "":
			f.set(c, u)
		}
	}
	return c
}

// updateUserChange: UserID, NewUserID when it changed, then only the
// fields that changed (written empty when cleared). Today only Department
// (when changed) follows UserID and NewUserID. (Whether NewUserID survives
// the 2022 restriction is not documented; it is kept, or a rename could not
// be followed.)
func (s *Sim) updateUserChange(before, after *User) *wireContact {
	c := &wireContact{UserID: cd(before.UserID)}
	if after.UserID != before.UserID {
		c.NewUserID = cd(after.UserID)
	}
	for _, f := range memberFields {
		if f.val(before) == f.val(after) || !s.opts.Legacy && f.name != "Department" {
			continue
		}
		f.set(c, after)
	}
	return c
}

func deleteUserChange(userid string) *wireContact {
	return &wireContact{UserID: cd(userid)}
}

func (s *Sim) createPartyChange(d *Department) *wireContact {
	c := &wireContact{ID: i64(d.ID), ParentID: cd(strconv.FormatInt(d.ParentID, 10))}
	if s.opts.Legacy {
		c.Name, c.Order = cd(d.Name), i64(d.Order)
	}
	return c
}

// updatePartyChange returns nil when no event is due. Today only a move
// (ParentId) is reported; Legacy also a rename (order and name_en changes
// are silent in both).
func (s *Sim) updatePartyChange(before, after *Department) *wireContact {
	c := &wireContact{ID: i64(after.ID)}
	due := false
	if s.opts.Legacy && before.Name != after.Name {
		c.Name, due = cd(after.Name), true
	}
	if before.ParentID != after.ParentID {
		c.ParentID, due = cd(strconv.FormatInt(after.ParentID, 10)), true
	}
	if !due {
		return nil
	}
	return c
}

func deletePartyChange(id int64) *wireContact {
	return &wireContact{ID: i64(id)}
}

// updateTagChange is update_tag: TagId and the non-empty item lists.
func updateTagChange(id int64, addUsers, delUsers []string, addParties, delParties []int64) *wireContact {
	w := &wireContact{TagID: i64(id)}
	list := func(v string) *cdata {
		if v == "" {
			return nil
		}
		return cd(v)
	}
	w.AddUserItems, w.DelUserItems = list(strings.Join(addUsers, ",")), list(strings.Join(delUsers, ","))
	w.AddPartyItems, w.DelPartyItems = list(joinInt64s(addParties)), list(joinInt64s(delParties))
	return w
}

func joinInt64s(v []int64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(parts, ",")
}

// batchJobXML is the batch_job_result event (doc 90973), dated when the
// job finished. FromUserName is "sys", as the export variants of the event
// say (the main table's 成员UserID is unconfirmed).
func (s *Sim) batchJobXML(j *job) []byte {
	e := s.systemEvent("batch_job_result", j.finished.Unix())
	e.BatchJob = &wireBatchJob{JobID: cdata{j.ID}, JobType: cdata{j.Type}, ErrCode: j.ErrCode, ErrMsg: cdata{j.ErrMsg}}
	return e.bytes()
}

// actorKind says who made a contacts change.
type actorKind int

const (
	actorAdmin    actorKind = iota // admin console or a member editing their profile
	actorContacts                  // the contacts-sync secret (API or batch)
	actorApp                       // a self-built app's secret (tags)
)

type actor struct {
	kind    actorKind
	agentID int64
}

var adminActor = actor{kind: actorAdmin}

func (a actor) String() string {
	switch a.kind {
	case actorContacts:
		return "contacts"
	case actorApp:
		return fmt.Sprintf("app:%d", a.agentID)
	default:
		return "admin"
	}
}

// tagOwner is the Tag.Owner of tags this actor creates.
func (a actor) tagOwner() string {
	switch a.kind {
	case actorContacts:
		return OwnerContacts
	case actorApp:
		return AppOwner(a.agentID)
	default:
		return OwnerAdmin
	}
}

// recordChange appends ch to the change log and queues a change_contact
// callback carrying payload to the contacts-sync receiver — unless the
// contacts-sync secret made the change (its own API writes are not echoed,
// doc 96304), no receiver is configured, or payload is nil (no event due).
// Runs under s.mu, so callbacks are queued in change order.
func (s *Sim) recordChange(a actor, ch Change, cc *wireContact) {
	s.st.changeSeq++
	ch.Seq = s.st.changeSeq
	ch.Time = s.Now()
	ch.Actor = a.String()
	recv := s.opts.ContactCallback
	if a.kind != actorContacts && cc != nil && recv.URL != "" {
		e := s.systemEvent("change_contact", ch.Time.Unix())
		e.ChangeType, e.wireContact = cd(ch.ChangeType), cc
		ch.Callback = s.enqueueCallback(outbound{
			recv:    recv,
			kind:    "change_contact." + ch.ChangeType,
			payload: e.bytes(),
		})
	}
	if len(s.st.changes) >= maxChangeLog {
		s.st.changes = slices.Delete(s.st.changes, 0, len(s.st.changes)-maxChangeLog+1)
	}
	s.st.changes = append(s.st.changes, ch)
	s.st.version++
	s.log.Info("contacts changed",
		zap.String("change_type", ch.ChangeType), zap.String("actor", ch.Actor),
		zap.String("userid", ch.UserID), zap.Int64("dept_id", ch.DeptID), zap.Int64("tagid", ch.TagID),
		zap.Strings("fields", ch.Fields), zap.Int64("callback", ch.Callback))
}
