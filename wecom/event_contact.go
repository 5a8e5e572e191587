package wecom

import (
	"strconv"
	"strings"
)

// ContactChange is the payload of a change_contact event (Event.ChangeType
// says which: create_user, update_user, delete_user, create_party,
// update_party, delete_party, update_tag).
//
// update_user and update_party carry only the fields that changed, and
// contacts-sync URLs configured after 2022-08-15 get only ids (UserID and
// Department, or Id and ParentId), so a zero value does not mean "cleared":
// Has tells whether the element was present at all.
type ContactChange struct {
	// Members.
	UserID         string
	NewUserID      string // update_user, only when the userid changed
	Name           string // member or department name
	Department     []int  // "1,2,3"
	MainDepartment int
	IsLeaderInDept []int    // "1,0,0", aligned with Department
	DirectLeader   []string // "lisi,wangwu"
	Position       string
	Mobile         string
	Gender         string // "0" unknown, "1" male, "2" female
	Email          string
	BizMail        string
	Status         int // 1 active, 2 disabled, 4 not activated, 5 quit
	Avatar         string
	Alias          string
	Telephone      string
	Address        string
	ExtAttr        []ExtAttr

	// Departments.
	ID       int // element Id
	ParentID int // element ParentId
	Order    int64

	// Tags.
	TagID         int
	AddUserItems  []string
	DelUserItems  []string
	AddPartyItems []int
	DelPartyItems []int

	// Present records which elements the callback carried. When it is zero
	// on a hand-built value, Event.XML writes every non-zero field instead.
	Present ContactField
}

// ExtAttr is one custom member attribute (ExtAttr/Item). Type 0 is text
// (Value), 1 is a web link (WebTitle, WebURL).
type ExtAttr struct {
	Name     string
	Type     int
	Value    string // Text/Value
	WebTitle string // Web/Title
	WebURL   string // Web/Url
}

// ContactField is a set of change_contact elements, one bit each.
type ContactField uint64

// The change_contact elements, named after their Go fields.
const (
	FieldUserID ContactField = 1 << iota
	FieldNewUserID
	FieldName
	FieldDepartment
	FieldMainDepartment
	FieldIsLeaderInDept
	FieldDirectLeader
	FieldPosition
	FieldMobile
	FieldGender
	FieldEmail
	FieldBizMail
	FieldStatus
	FieldAvatar
	FieldAlias
	FieldTelephone
	FieldAddress
	FieldExtAttr
	FieldID
	FieldParentID
	FieldOrder
	FieldTagID
	FieldAddUserItems
	FieldDelUserItems
	FieldAddPartyItems
	FieldDelPartyItems
)

// contactElements maps each field bit (by position) to its XML element.
var contactElements = [...]string{
	"UserID", "NewUserID", "Name", "Department", "MainDepartment", "IsLeaderInDept", "DirectLeader",
	"Position", "Mobile", "Gender", "Email", "BizMail", "Status", "Avatar", "Alias", "Telephone",
	"Address", "ExtAttr", "Id", "ParentId", "Order", "TagId", "AddUserItems", "DelUserItems",
	"AddPartyItems", "DelPartyItems",
}

// String names the XML elements in the set, for logs ("Name|Mobile").
func (f ContactField) String() string {
	var b []byte
	for i, name := range contactElements {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, name...)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// Has reports whether the callback carried every element in f.
func (c *ContactChange) Has(f ContactField) bool { return c != nil && c.Present&f == f }

// contactXML is the change_contact elements, embedded at the root of
// eventXML. Every field is a pointer: when reading, non-nil records that the
// element was present (ContactChange.Present); when writing, non-nil writes
// it. Lists are WeCom's comma-separated text. The field order is the
// documented one, which the member and department shapes both follow.
type contactXML struct {
	UserID         *cdata
	NewUserID      *cdata
	ID             *xint `xml:"Id"`
	Name           *cdata
	ParentID       *cdata `xml:"ParentId"`
	Order          *xint
	Department     *cdata
	MainDepartment *xint
	IsLeaderInDept *cdata
	DirectLeader   *cdata
	Position       *cdata
	Mobile         *cdata
	Gender         *string // bare in WeCom's samples
	Email          *cdata
	BizMail        *cdata
	Status         *xint
	Avatar         *cdata
	Alias          *cdata
	Telephone      *cdata
	Address        *cdata
	ExtAttr        *extAttrXML
	TagID          *xint `xml:"TagId"`
	AddUserItems   *cdata
	DelUserItems   *cdata
	AddPartyItems  *cdata
	DelPartyItems  *cdata
}

type extAttrXML struct {
	Items []extAttrItemXML `xml:"Item"`
}

type extAttrItemXML struct {
	Name  cdata
	Type  xint
	Web   *extAttrWebXML
	Text  *extAttrTextXML
	Value cdata `xml:",omitempty"` // older flat form; read, never written
}

type extAttrWebXML struct {
	Title cdata
	URL   cdata `xml:"Url"`
}

type extAttrTextXML struct {
	Value cdata
}

// change reads the elements into a ContactChange, recording which were present.
func (w *contactXML) change() *ContactChange {
	c := new(ContactChange)
	str := func(f ContactField, v *cdata, dst *string) {
		if v != nil {
			c.Present |= f
			*dst = string(*v)
		}
	}
	num := func(f ContactField, v *xint) int64 {
		if v != nil {
			c.Present |= f
		}
		return v.get()
	}
	list := func(f ContactField, v *cdata) string {
		if v != nil {
			c.Present |= f
		}
		return v.get()
	}
	str(FieldUserID, w.UserID, &c.UserID)
	str(FieldNewUserID, w.NewUserID, &c.NewUserID)
	c.ID = int(num(FieldID, w.ID))
	str(FieldName, w.Name, &c.Name)
	c.ParentID = int(parseInt(list(FieldParentID, w.ParentID)))
	c.Order = num(FieldOrder, w.Order)
	c.Department = splitInts(list(FieldDepartment, w.Department))
	c.MainDepartment = int(num(FieldMainDepartment, w.MainDepartment))
	c.IsLeaderInDept = splitInts(list(FieldIsLeaderInDept, w.IsLeaderInDept))
	c.DirectLeader = splitStrings(list(FieldDirectLeader, w.DirectLeader))
	str(FieldPosition, w.Position, &c.Position)
	str(FieldMobile, w.Mobile, &c.Mobile)
	if w.Gender != nil {
		c.Present |= FieldGender
		c.Gender = *w.Gender
	}
	str(FieldEmail, w.Email, &c.Email)
	str(FieldBizMail, w.BizMail, &c.BizMail)
	c.Status = int(num(FieldStatus, w.Status))
	str(FieldAvatar, w.Avatar, &c.Avatar)
	str(FieldAlias, w.Alias, &c.Alias)
	str(FieldTelephone, w.Telephone, &c.Telephone)
	str(FieldAddress, w.Address, &c.Address)
	if w.ExtAttr != nil {
		c.Present |= FieldExtAttr
		for _, it := range w.ExtAttr.Items {
			a := ExtAttr{Name: string(it.Name), Type: int(it.Type), Value: string(it.Value)}
			if it.Text != nil {
				a.Value = string(it.Text.Value)
			}
			if it.Web != nil {
				a.WebTitle, a.WebURL = string(it.Web.Title), string(it.Web.URL)
			}
			c.ExtAttr = append(c.ExtAttr, a)
		}
	}
	c.TagID = int(num(FieldTagID, w.TagID))
	c.AddUserItems = splitStrings(list(FieldAddUserItems, w.AddUserItems))
	c.DelUserItems = splitStrings(list(FieldDelUserItems, w.DelUserItems))
	c.AddPartyItems = splitInts(list(FieldAddPartyItems, w.AddPartyItems))
	c.DelPartyItems = splitInts(list(FieldDelPartyItems, w.DelPartyItems))
	return c
}

// contactWire is the inverse of change: the elements in Present, or every
// non-zero field when Present is zero (a hand-built value).
func contactWire(c *ContactChange) contactXML {
	all := c.Present == 0
	has := func(f ContactField, nonZero bool) bool {
		if all {
			return nonZero
		}
		return c.Present&f != 0
	}
	var w contactXML
	str := func(f ContactField, v string, dst **cdata) {
		if has(f, v != "") {
			*dst = ptr(cdata(v))
		}
	}
	num := func(f ContactField, v int64, dst **xint) {
		if has(f, v != 0) {
			*dst = ptr(xint(v))
		}
	}
	str(FieldUserID, c.UserID, &w.UserID)
	str(FieldNewUserID, c.NewUserID, &w.NewUserID)
	num(FieldID, int64(c.ID), &w.ID)
	str(FieldName, c.Name, &w.Name)
	if has(FieldParentID, c.ParentID != 0) {
		w.ParentID = ptr(cdata(strconv.Itoa(c.ParentID)))
	}
	num(FieldOrder, c.Order, &w.Order)
	if has(FieldDepartment, len(c.Department) > 0) {
		w.Department = ptr(cdata(joinInts(c.Department)))
	}
	num(FieldMainDepartment, int64(c.MainDepartment), &w.MainDepartment)
	if has(FieldIsLeaderInDept, len(c.IsLeaderInDept) > 0) {
		w.IsLeaderInDept = ptr(cdata(joinInts(c.IsLeaderInDept)))
	}
	if has(FieldDirectLeader, len(c.DirectLeader) > 0) {
		w.DirectLeader = ptr(cdata(strings.Join(c.DirectLeader, ",")))
	}
	str(FieldPosition, c.Position, &w.Position)
	str(FieldMobile, c.Mobile, &w.Mobile)
	if has(FieldGender, c.Gender != "") {
		w.Gender = ptr(c.Gender)
	}
	str(FieldEmail, c.Email, &w.Email)
	str(FieldBizMail, c.BizMail, &w.BizMail)
	num(FieldStatus, int64(c.Status), &w.Status)
	str(FieldAvatar, c.Avatar, &w.Avatar)
	str(FieldAlias, c.Alias, &w.Alias)
	str(FieldTelephone, c.Telephone, &w.Telephone)
	str(FieldAddress, c.Address, &w.Address)
	if has(FieldExtAttr, len(c.ExtAttr) > 0) {
		w.ExtAttr = new(extAttrXML)
		for _, a := range c.ExtAttr {
			it := extAttrItemXML{Name: cdata(a.Name), Type: xint(a.Type)}
			if a.Type == 1 || a.WebTitle != "" || a.WebURL != "" {
				it.Web = &extAttrWebXML{Title: cdata(a.WebTitle), URL: cdata(a.WebURL)}
			}
			if a.Type != 1 || a.Value != "" {
				it.Text = &extAttrTextXML{Value: cdata(a.Value)}
			}
			w.ExtAttr.Items = append(w.ExtAttr.Items, it)
		}
	}
	num(FieldTagID, int64(c.TagID), &w.TagID)
	if has(FieldAddUserItems, len(c.AddUserItems) > 0) {
		w.AddUserItems = ptr(cdata(strings.Join(c.AddUserItems, ",")))
	}
	if has(FieldDelUserItems, len(c.DelUserItems) > 0) {
		w.DelUserItems = ptr(cdata(strings.Join(c.DelUserItems, ",")))
	}
	if has(FieldAddPartyItems, len(c.AddPartyItems) > 0) {
		w.AddPartyItems = ptr(cdata(joinInts(c.AddPartyItems)))
	}
	if has(FieldDelPartyItems, len(c.DelPartyItems) > 0) {
		w.DelPartyItems = ptr(cdata(joinInts(c.DelPartyItems)))
	}
	return w
}
