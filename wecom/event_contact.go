package wecom

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

func parseContactChange(d *xdoc, root int32) *ContactChange {
	c := new(ContactChange)
	for n := d.nodes[root].first; n != noNode; n = d.nodes[n].next {
		var f ContactField
		switch d.name(n) {
		case "UserID":
			f, c.UserID = FieldUserID, d.text(n)
		case "NewUserID":
			f, c.NewUserID = FieldNewUserID, d.text(n)
		case "Name":
			f, c.Name = FieldName, d.text(n)
		case "Department":
			f, c.Department = FieldDepartment, splitInts(d.text(n))
		case "MainDepartment":
			f, c.MainDepartment = FieldMainDepartment, int(parseInt(d.text(n)))
		case "IsLeaderInDept":
			f, c.IsLeaderInDept = FieldIsLeaderInDept, splitInts(d.text(n))
		case "DirectLeader":
			f, c.DirectLeader = FieldDirectLeader, splitStrings(d.text(n))
		case "Position":
			f, c.Position = FieldPosition, d.text(n)
		case "Mobile":
			f, c.Mobile = FieldMobile, d.text(n)
		case "Gender":
			f, c.Gender = FieldGender, d.text(n)
		case "Email":
			f, c.Email = FieldEmail, d.text(n)
		case "BizMail":
			f, c.BizMail = FieldBizMail, d.text(n)
		case "Status":
			f, c.Status = FieldStatus, int(parseInt(d.text(n)))
		case "Avatar":
			f, c.Avatar = FieldAvatar, d.text(n)
		case "Alias":
			f, c.Alias = FieldAlias, d.text(n)
		case "Telephone":
			f, c.Telephone = FieldTelephone, d.text(n)
		case "Address":
			f, c.Address = FieldAddress, d.text(n)
		case "ExtAttr":
			f, c.ExtAttr = FieldExtAttr, parseExtAttr(d, n)
		case "Id":
			f, c.ID = FieldID, int(parseInt(d.text(n)))
		case "ParentId":
			f, c.ParentID = FieldParentID, int(parseInt(d.text(n)))
		case "Order":
			f, c.Order = FieldOrder, parseInt(d.text(n))
		case "TagId":
			f, c.TagID = FieldTagID, int(parseInt(d.text(n)))
		case "AddUserItems":
			f, c.AddUserItems = FieldAddUserItems, splitStrings(d.text(n))
		case "DelUserItems":
			f, c.DelUserItems = FieldDelUserItems, splitStrings(d.text(n))
		case "AddPartyItems":
			f, c.AddPartyItems = FieldAddPartyItems, splitInts(d.text(n))
		case "DelPartyItems":
			f, c.DelPartyItems = FieldDelPartyItems, splitInts(d.text(n))
		}
		c.Present |= f
	}
	return c
}

func parseExtAttr(d *xdoc, n int32) []ExtAttr {
	var out []ExtAttr
	for it := d.nodes[n].first; it != noNode; it = d.nodes[it].next {
		if d.name(it) != "Item" {
			continue
		}
		var a ExtAttr
		for f := d.nodes[it].first; f != noNode; f = d.nodes[f].next {
			switch d.name(f) {
			case "Name":
				a.Name = d.text(f)
			case "Type":
				a.Type = int(parseInt(d.text(f)))
			case "Value": // older flat form
				a.Value = d.text(f)
			case "Text":
				if v := d.child(f, "Value"); v != noNode {
					a.Value = d.text(v)
				}
			case "Web":
				for w := d.nodes[f].first; w != noNode; w = d.nodes[w].next {
					switch d.name(w) {
					case "Title":
						a.WebTitle = d.text(w)
					case "Url":
						a.WebURL = d.text(w)
					}
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// writeContact writes the change_contact elements in the documented order
// (member and department shapes both follow it).
func writeContact(w *xmlWriter, c *ContactChange) {
	all := c.Present == 0
	has := func(f ContactField, nonZero bool) bool {
		if all {
			return nonZero
		}
		return c.Present&f != 0
	}
	if has(FieldUserID, c.UserID != "") {
		w.cdata("UserID", c.UserID)
	}
	if has(FieldNewUserID, c.NewUserID != "") {
		w.cdata("NewUserID", c.NewUserID)
	}
	if has(FieldID, c.ID != 0) {
		w.int("Id", int64(c.ID))
	}
	if has(FieldName, c.Name != "") {
		w.cdata("Name", c.Name)
	}
	if has(FieldParentID, c.ParentID != 0) {
		w.cdata("ParentId", itoa(c.ParentID))
	}
	if has(FieldOrder, c.Order != 0) {
		w.int("Order", c.Order)
	}
	if has(FieldDepartment, len(c.Department) > 0) {
		w.cdata("Department", joinInts(c.Department))
	}
	if has(FieldMainDepartment, c.MainDepartment != 0) {
		w.int("MainDepartment", int64(c.MainDepartment))
	}
	if has(FieldIsLeaderInDept, len(c.IsLeaderInDept) > 0) {
		w.cdata("IsLeaderInDept", joinInts(c.IsLeaderInDept))
	}
	if has(FieldDirectLeader, len(c.DirectLeader) > 0) {
		w.cdata("DirectLeader", joinStrings(c.DirectLeader))
	}
	if has(FieldPosition, c.Position != "") {
		w.cdata("Position", c.Position)
	}
	if has(FieldMobile, c.Mobile != "") {
		w.cdata("Mobile", c.Mobile)
	}
	if has(FieldGender, c.Gender != "") {
		w.bare("Gender", c.Gender)
	}
	if has(FieldEmail, c.Email != "") {
		w.cdata("Email", c.Email)
	}
	if has(FieldBizMail, c.BizMail != "") {
		w.cdata("BizMail", c.BizMail)
	}
	if has(FieldStatus, c.Status != 0) {
		w.int("Status", int64(c.Status))
	}
	if has(FieldAvatar, c.Avatar != "") {
		w.cdata("Avatar", c.Avatar)
	}
	if has(FieldAlias, c.Alias != "") {
		w.cdata("Alias", c.Alias)
	}
	if has(FieldTelephone, c.Telephone != "") {
		w.cdata("Telephone", c.Telephone)
	}
	if has(FieldAddress, c.Address != "") {
		w.cdata("Address", c.Address)
	}
	if has(FieldExtAttr, len(c.ExtAttr) > 0) {
		w.open("ExtAttr")
		for _, a := range c.ExtAttr {
			w.open("Item")
			w.cdata("Name", a.Name)
			w.int("Type", int64(a.Type))
			if a.Type == 1 || a.WebTitle != "" || a.WebURL != "" {
				w.open("Web")
				w.cdata("Title", a.WebTitle)
				w.cdata("Url", a.WebURL)
				w.close("Web")
			}
			if a.Type != 1 || a.Value != "" {
				w.open("Text")
				w.cdata("Value", a.Value)
				w.close("Text")
			}
			w.close("Item")
		}
		w.close("ExtAttr")
	}
	if has(FieldTagID, c.TagID != 0) {
		w.int("TagId", int64(c.TagID))
	}
	if has(FieldAddUserItems, len(c.AddUserItems) > 0) {
		w.cdata("AddUserItems", joinStrings(c.AddUserItems))
	}
	if has(FieldDelUserItems, len(c.DelUserItems) > 0) {
		w.cdata("DelUserItems", joinStrings(c.DelUserItems))
	}
	if has(FieldAddPartyItems, len(c.AddPartyItems) > 0) {
		w.cdata("AddPartyItems", joinInts(c.AddPartyItems))
	}
	if has(FieldDelPartyItems, len(c.DelPartyItems) > 0) {
		w.cdata("DelPartyItems", joinInts(c.DelPartyItems))
	}
}
