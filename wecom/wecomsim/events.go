package wecomsim

import (
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/wecom"
)

// This file builds the callbacks the simulator sends (wecom-api.md §3) with
// package wecom's builders (Event.XML), so the simulator and the parser
// agree on element names and shapes by construction.

// systemEvent is the envelope of a system event: FromUserName "sys",
// MsgType event.
func (s *Sim) systemEvent(event string, created int64) *wecom.Event {
	return &wecom.Event{ToUserName: s.opts.CorpID, FromUserName: "sys", CreateTime: created, MsgType: "event", Event: event}
}

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// userContact fills every member field of a change_contact payload.
func userContact(u *User) *wecom.ContactChange {
	c := &wecom.ContactChange{
		UserID:         u.UserID,
		Name:           u.Name,
		Department:     ints(u.Department),
		MainDepartment: int(u.MainDepartment),
		IsLeaderInDept: slices.Clone(u.IsLeaderInDept),
		DirectLeader:   slices.Clone(u.DirectLeader),
		Position:       u.Position,
		Mobile:         u.Mobile,
		Gender:         u.Gender,
		Email:          u.Email,
		BizMail:        u.BizMail,
		Status:         u.Status,
		Avatar:         u.Avatar,
		Alias:          u.Alias,
		Telephone:      u.Telephone,
		Address:        u.Address,
	}
	if u.ExtAttr != nil {
		for _, a := range u.ExtAttr.Attrs {
			x := wecom.ExtAttr{Name: a.Name, Type: a.Type}
			switch {
			case a.Text != nil:
				x.Value = a.Text.Value
			case a.Web != nil:
				x.WebTitle, x.WebURL = a.Web.Title, a.Web.URL
			case a.Miniprogram != nil:
				x.Value = a.Miniprogram.Title
			}
			c.ExtAttr = append(c.ExtAttr, x)
		}
	}
	return c
}

// memberFields pairs each member element with an equality test, for
// update_user's "only changed fields".
var memberFields = []struct {
	bit wecom.ContactField
	eq  func(a, b *wecom.ContactChange) bool
}{
	{wecom.FieldName, func(a, b *wecom.ContactChange) bool { return a.Name == b.Name }},
	{wecom.FieldDepartment, func(a, b *wecom.ContactChange) bool { return slices.Equal(a.Department, b.Department) }},
	{wecom.FieldMainDepartment, func(a, b *wecom.ContactChange) bool { return a.MainDepartment == b.MainDepartment }},
	{wecom.FieldIsLeaderInDept, func(a, b *wecom.ContactChange) bool { return slices.Equal(a.IsLeaderInDept, b.IsLeaderInDept) }},
	{wecom.FieldDirectLeader, func(a, b *wecom.ContactChange) bool { return slices.Equal(a.DirectLeader, b.DirectLeader) }},
	{wecom.FieldPosition, func(a, b *wecom.ContactChange) bool { return a.Position == b.Position }},
	{wecom.FieldMobile, func(a, b *wecom.ContactChange) bool { return a.Mobile == b.Mobile }},
	{wecom.FieldGender, func(a, b *wecom.ContactChange) bool { return a.Gender == b.Gender }},
	{wecom.FieldEmail, func(a, b *wecom.ContactChange) bool { return a.Email == b.Email }},
	{wecom.FieldBizMail, func(a, b *wecom.ContactChange) bool { return a.BizMail == b.BizMail }},
	{wecom.FieldStatus, func(a, b *wecom.ContactChange) bool { return a.Status == b.Status }},
	{wecom.FieldAvatar, func(a, b *wecom.ContactChange) bool { return a.Avatar == b.Avatar }},
	{wecom.FieldAlias, func(a, b *wecom.ContactChange) bool { return a.Alias == b.Alias }},
	{wecom.FieldTelephone, func(a, b *wecom.ContactChange) bool { return a.Telephone == b.Telephone }},
	{wecom.FieldAddress, func(a, b *wecom.ContactChange) bool { return a.Address == b.Address }},
	{wecom.FieldExtAttr, func(a, b *wecom.ContactChange) bool { return slices.Equal(a.ExtAttr, b.ExtAttr) }},
}

// createUserChange: the full payload carries every non-empty field;
// Restricted only UserID and Department.
func (s *Sim) createUserChange(u *User) *wecom.ContactChange {
	if s.opts.Restricted {
		return &wecom.ContactChange{UserID: u.UserID, Department: ints(u.Department),
			Present: wecom.FieldUserID | wecom.FieldDepartment}
	}
	c := userContact(u)
	c.Present = wecom.FieldUserID | wecom.FieldName | wecom.FieldDepartment
	for _, f := range memberFields {
		if !f.eq(c, &wecom.ContactChange{}) {
			c.Present |= f.bit
		}
	}
	return c
}

// updateUserChange: UserID, NewUserID when it changed, then only the
// fields that changed (written empty when cleared). Restricted: UserID,
// NewUserID and Department (when changed) only.
func (s *Sim) updateUserChange(before, after *User) *wecom.ContactChange {
	b, c := userContact(before), userContact(after)
	c.UserID = before.UserID
	c.Present = wecom.FieldUserID
	if after.UserID != before.UserID {
		c.NewUserID = after.UserID
		c.Present |= wecom.FieldNewUserID
	}
	for _, f := range memberFields {
		if f.eq(b, c) || s.opts.Restricted && f.bit != wecom.FieldDepartment {
			continue
		}
		c.Present |= f.bit
	}
	return c
}

func deleteUserChange(userid string) *wecom.ContactChange {
	return &wecom.ContactChange{UserID: userid, Present: wecom.FieldUserID}
}

func (s *Sim) createPartyChange(d *Department) *wecom.ContactChange {
	c := &wecom.ContactChange{ID: int(d.ID), Name: d.Name, ParentID: int(d.ParentID), Order: d.Order,
		Present: wecom.FieldID | wecom.FieldName | wecom.FieldParentID | wecom.FieldOrder}
	if s.opts.Restricted {
		c.Name, c.Order = "", 0
		c.Present = wecom.FieldID | wecom.FieldParentID
	}
	return c
}

// updatePartyChange returns nil when no event is due: WeCom reports name
// and parent changes only (order and name_en changes are silent), and
// under Restricted only parent changes.
func (s *Sim) updatePartyChange(before, after *Department) *wecom.ContactChange {
	c := &wecom.ContactChange{ID: int(after.ID), Present: wecom.FieldID}
	if !s.opts.Restricted && before.Name != after.Name {
		c.Name = after.Name
		c.Present |= wecom.FieldName
	}
	if before.ParentID != after.ParentID {
		c.ParentID = int(after.ParentID)
		c.Present |= wecom.FieldParentID
	}
	if c.Present == wecom.FieldID {
		return nil
	}
	return c
}

func deletePartyChange(id int64) *wecom.ContactChange {
	return &wecom.ContactChange{ID: int(id), Present: wecom.FieldID}
}

func updateTagChange(id int64, addUsers, delUsers []string, addParties, delParties []int64) *wecom.ContactChange {
	c := &wecom.ContactChange{TagID: int(id), Present: wecom.FieldTagID}
	if len(addUsers) > 0 {
		c.AddUserItems, c.Present = addUsers, c.Present|wecom.FieldAddUserItems
	}
	if len(delUsers) > 0 {
		c.DelUserItems, c.Present = delUsers, c.Present|wecom.FieldDelUserItems
	}
	if len(addParties) > 0 {
		c.AddPartyItems, c.Present = ints(addParties), c.Present|wecom.FieldAddPartyItems
	}
	if len(delParties) > 0 {
		c.DelPartyItems, c.Present = ints(delParties), c.Present|wecom.FieldDelPartyItems
	}
	return c
}

// batchJobXML is the batch_job_result event (doc 90973). FromUserName is
// "sys", as the export variants of the event say (the main table's
// 成员UserID is unconfirmed).
func (s *Sim) batchJobXML(j *job) []byte {
	e := s.systemEvent("batch_job_result", s.Now().Unix())
	e.BatchJob = &wecom.BatchJob{JobID: j.ID, JobType: j.Type, ErrCode: j.ErrCode, ErrMsg: j.ErrMsg}
	return e.XML()
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
// callback carrying cc to the contacts-sync receiver — unless the
// contacts-sync secret made the change (its own API writes are not echoed,
// doc 96304), no receiver is configured, or cc is nil (no event due).
// Runs under s.mu, so callbacks are queued in change order.
func (s *Sim) recordChange(a actor, ch Change, cc *wecom.ContactChange) {
	s.st.changeSeq++
	ch.Seq = s.st.changeSeq
	ch.Time = s.Now()
	ch.Actor = a.String()
	recv := s.opts.ContactCallback
	if a.kind != actorContacts && cc != nil && recv.URL != "" {
		e := s.systemEvent("change_contact", ch.Time.Unix())
		e.ChangeType, e.Contact = ch.ChangeType, cc
		payload := e.XML()
		ch.Callback = s.enqueueCallback(outbound{
			recv:    recv,
			kind:    "change_contact." + ch.ChangeType,
			payload: payload,
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
