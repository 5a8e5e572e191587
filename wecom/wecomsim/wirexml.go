package wecomsim

import (
	"encoding/xml"
	"strconv"
	"strings"
)

// The decrypted XML of the callbacks the simulator sends (docs/wecom.md §3),
// written with the simulator's own encoding/xml structs after WeCom's
// documented examples: change_contact (doc 90970/90971/90972), batch_job_result
// (doc 90973), enter_agent (doc 90240) and text (doc 90239). Package wecom's
// parser reads them in every test, so a wrong element name on either side
// fails there instead of passing on both because they share one writer.

// cdata is an element whose text is written as <![CDATA[…]]>, as WeCom
// writes strings.
type cdata struct {
	Text string `xml:",cdata"`
}

func cd(s string) *cdata { return &cdata{Text: s} }

// wireMessage is one callback body, <xml>…</xml>. Absent elements are nil
// pointers; present-but-empty ones (a cleared Mobile in update_user) are
// pointers to "". Field order is the documented element order.
type wireMessage struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   cdata    `xml:"ToUserName"`
	FromUserName cdata    `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      cdata    `xml:"MsgType"`
	Content      *cdata   `xml:"Content,omitempty"`
	Event        *cdata   `xml:"Event,omitempty"`
	ChangeType   *cdata   `xml:"ChangeType,omitempty"`
	EventKey     *cdata   `xml:"EventKey,omitempty"`
	*wireContact
	BatchJob *wireBatchJob `xml:"BatchJob,omitempty"`
	MsgID    string        `xml:"MsgId,omitempty"`
	AgentID  int64         `xml:"AgentID,omitempty"`
}

// wireContact holds the change_contact elements of members (doc 90970),
// departments (90971) and tags (90972). Which are present depends on the
// change and on Options.Legacy (events.go).
type wireContact struct {
	UserID         *cdata        `xml:"UserID,omitempty"`
	NewUserID      *cdata        `xml:"NewUserID,omitempty"`
	ID             *int64        `xml:"Id,omitempty"`
	Name           *cdata        `xml:"Name,omitempty"`
	ParentID       *cdata        `xml:"ParentId,omitempty"`
	Order          *int64        `xml:"Order,omitempty"`
	Department     *cdata        `xml:"Department,omitempty"`
	MainDepartment *int64        `xml:"MainDepartment,omitempty"`
	IsLeaderInDept *cdata        `xml:"IsLeaderInDept,omitempty"`
	DirectLeader   *cdata        `xml:"DirectLeader,omitempty"`
	Position       *cdata        `xml:"Position,omitempty"`
	Mobile         *string       `xml:"Mobile,omitempty"`
	Gender         *string       `xml:"Gender,omitempty"`
	Email          *cdata        `xml:"Email,omitempty"`
	BizMail        *cdata        `xml:"BizMail,omitempty"`
	Status         *int64        `xml:"Status,omitempty"`
	Avatar         *cdata        `xml:"Avatar,omitempty"`
	Alias          *cdata        `xml:"Alias,omitempty"`
	Telephone      *cdata        `xml:"Telephone,omitempty"`
	Address        *cdata        `xml:"Address,omitempty"`
	ExtAttr        *wireExtAttrs `xml:"ExtAttr,omitempty"`
	TagID          *int64        `xml:"TagId,omitempty"`
	AddUserItems   *cdata        `xml:"AddUserItems,omitempty"`
	DelUserItems   *cdata        `xml:"DelUserItems,omitempty"`
	AddPartyItems  *cdata        `xml:"AddPartyItems,omitempty"`
	DelPartyItems  *cdata        `xml:"DelPartyItems,omitempty"`
}

// wireExtAttrs is <ExtAttr><Item>…</Item></ExtAttr>: text attributes carry
// <Text><Value>, web ones <Web><Title><Url> (doc 90970).
type wireExtAttrs struct {
	Items []wireExtAttr `xml:"Item"`
}

type wireExtAttr struct {
	Name cdata `xml:"Name"`
	Type int   `xml:"Type"`
	Text *struct {
		Value cdata `xml:"Value"`
	} `xml:"Text,omitempty"`
	Web *struct {
		Title cdata `xml:"Title"`
		URL   cdata `xml:"Url"`
	} `xml:"Web,omitempty"`
}

// wireBatchJob is batch_job_result's <BatchJob> (doc 90973).
type wireBatchJob struct {
	JobID   cdata `xml:"JobId"`
	JobType cdata `xml:"JobType"`
	ErrCode int   `xml:"ErrCode"`
	ErrMsg  cdata `xml:"ErrMsg"`
}

// bytes renders m. The structs above cannot fail to marshal.
func (m *wireMessage) bytes() []byte {
	b, err := xml.Marshal(m)
	if err != nil {
		panic("wecomsim: marshal callback: " + err.Error())
	}
	return b
}

func i64(v int64) *int64 { return &v }

func strp(s string) *string { return &s }

// joinIDs writes a list as WeCom does in callbacks: "1,2,3".
func joinIDs(v []int64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(parts, ",")
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
