package wecom

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
)

// Event is one decrypted callback: a message a member sent to the app
// (MsgType text, image, voice, video, location, link) or an event (MsgType
// event, Event naming which). Field names follow the callback XML
// (wecom-api.md §3). Fields of other kinds stay zero; the sub-structs are nil
// unless their element was present.
//
// A callback of a kind this package does not know still parses: the common
// fields are filled and Raw keeps the whole message, so it can be stored and
// logged rather than refused.
type Event struct {
	ToUserName   string // corp id
	FromUserName string // member userid; "sys" for system events
	CreateTime   int64  // Unix seconds
	MsgType      string
	Event        string // set when MsgType is "event"; lowercase except LOCATION
	ChangeType   string // change_contact only
	EventKey     string
	AgentID      int64
	MsgID        string // messages only; a decimal uint64, kept as text

	// Message payloads.
	Content      string  // text
	Title        string  // link
	Description  string  // link
	URL          string  // link (element Url)
	PicURL       string  // image, link (element PicUrl)
	MediaID      string  // image, voice, video
	Format       string  // voice
	ThumbMediaID string  // video
	LocationX    float64 // location (element Location_X): latitude
	LocationY    float64 // location (element Location_Y): longitude
	Scale        int     // location
	Label        string  // location

	// LOCATION (periodic location report) event.
	Latitude  float64
	Longitude float64
	Precision float64

	// template_card_event and template_card_menu_event.
	TaskID        string
	CardType      string
	ResponseCode  string // single use, valid 72 h, for message/update_template_card
	SelectedItems []SelectedItem

	// Menu events scancode_*, pic_*, location_select.
	ScanCodeInfo     *ScanCodeInfo
	SendPicsInfo     *SendPicsInfo
	SendLocationInfo *SendLocationInfo

	Contact  *ContactChange // change_contact (Event); ChangeType says which
	BatchJob *BatchJob      // batch_job_result
	Approval *ApprovalInfo  // sys_approval_change (element ApprovalInfo)

	// Raw is the decrypted XML exactly as received.
	Raw []byte
}

// SelectedItem is one question's answer on a vote or multiple-choice card.
type SelectedItem struct {
	QuestionKey string
	OptionIDs   []string // elements OptionIds/OptionId
}

// ScanCodeInfo is carried by the scancode_push and scancode_waitmsg menu events.
type ScanCodeInfo struct {
	ScanType   string
	ScanResult string
}

// SendPicsInfo is carried by the pic_sysphoto, pic_photo_or_album and
// pic_weixin menu events.
type SendPicsInfo struct {
	Count     int
	PicMD5Sum []string // PicList/item/PicMd5Sum
}

// SendLocationInfo is carried by the location_select menu event.
type SendLocationInfo struct {
	LocationX float64 // element Location_X
	LocationY float64 // element Location_Y
	Scale     int
	Label     string
	Poiname   string
}

// BatchJob is the payload of batch_job_result, sent when an asynchronous
// import (batch/syncuser, replaceuser, replaceparty) finishes.
type BatchJob struct {
	JobID   string
	JobType string // sync_user, replace_user, invite_user, replace_party
	ErrCode int
	ErrMsg  string
}

// Dispatch keys returned by Event.Kind. Messages use their MsgType, events
// "event." + Event, and change_contact adds "." + ChangeType.
const (
	KindText     = "text"
	KindImage    = "image"
	KindVoice    = "voice"
	KindVideo    = "video"
	KindLocation = "location"
	KindLink     = "link"

	KindEnterAgent        = "event.enter_agent"
	KindClick             = "event.click"
	KindView              = "event.view"
	KindLocationReport    = "event.LOCATION"
	KindTemplateCard      = "event.template_card_event"
	KindTemplateCardMenu  = "event.template_card_menu_event"
	KindBatchJobResult    = "event.batch_job_result"
	KindApprovalChange    = "event.sys_approval_change"
	KindChangeContact     = "event.change_contact" // ChangeType missing
	KindCreateUser        = "event.change_contact.create_user"
	KindUpdateUser        = "event.change_contact.update_user"
	KindDeleteUser        = "event.change_contact.delete_user"
	KindCreateParty       = "event.change_contact.create_party"
	KindUpdateParty       = "event.change_contact.update_party"
	KindDeleteParty       = "event.change_contact.delete_party"
	KindUpdateTag         = "event.change_contact.update_tag"
	KindUnknown           = "unknown" // no MsgType at all
	kindEventPrefix       = "event."
	kindChangeContactStem = KindChangeContact + "."
)

// Kind is the dispatch key of the callback, e.g. "text", "event.enter_agent",
// "event.change_contact.update_user". Unknown kinds get a key of the same
// shape, so handlers can be registered for kinds this package predates.
func (e *Event) Kind() string {
	if e.MsgType != "event" {
		if e.MsgType == "" {
			return KindUnknown
		}
		return e.MsgType
	}
	switch e.Event {
	case "":
		return "event"
	case "enter_agent":
		return KindEnterAgent
	case "click":
		return KindClick
	case "view":
		return KindView
	case "LOCATION":
		return KindLocationReport
	case "template_card_event":
		return KindTemplateCard
	case "template_card_menu_event":
		return KindTemplateCardMenu
	case "batch_job_result":
		return KindBatchJobResult
	case "sys_approval_change":
		return KindApprovalChange
	case "change_contact":
		switch e.ChangeType {
		case "":
			return KindChangeContact
		case "create_user":
			return KindCreateUser
		case "update_user":
			return KindUpdateUser
		case "delete_user":
			return KindDeleteUser
		case "create_party":
			return KindCreateParty
		case "update_party":
			return KindUpdateParty
		case "delete_party":
			return KindDeleteParty
		case "update_tag":
			return KindUpdateTag
		}
		return kindChangeContactStem + e.ChangeType
	}
	return kindEventPrefix + e.Event
}

// ParseEvent parses a decrypted callback message (the output of
// Crypter.Open). Only malformed XML is an error (errors.Is(err, ErrXML));
// unknown kinds and odd values parse, numbers that do not parse read as zero.
// The result does not alias xml.
func ParseEvent(xml []byte) (*Event, error) {
	return parseEvent(xml, false)
}

// OpenEvent is Open followed by ParseEvent, without copying the decrypted
// message a second time.
func (c *Crypter) OpenEvent(msgSignature, timestamp, nonce string, body []byte) (*Event, error) {
	msg, err := c.Open(msgSignature, timestamp, nonce, body)
	if err != nil {
		return nil, err
	}
	return parseEvent(msg, true)
}

func parseEvent(xml []byte, owned bool) (*Event, error) {
	e := new(Event)
	// One string copy backs every field that needs no decoding; Raw stays a
	// separate slice so that a caller writing to it cannot change the strings.
	s := string(xml)
	d := getDoc()
	defer putDoc(d)
	if err := d.parse(s); err != nil {
		return nil, fmt.Errorf("wecom: parse event: %w", err)
	}
	if owned {
		e.Raw = xml
	} else {
		e.Raw = append([]byte(nil), xml...)
	}
	e.fill(d, d.root)
	return e, nil
}

func (e *Event) fill(d *xdoc, root int32) {
	approval := int32(noNode)
	for c := d.nodes[root].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "ToUserName":
			e.ToUserName = d.text(c)
		case "FromUserName":
			e.FromUserName = d.text(c)
		case "CreateTime":
			e.CreateTime = parseInt(d.text(c))
		case "MsgType":
			e.MsgType = d.text(c)
		case "Event":
			e.Event = d.text(c)
		case "ChangeType":
			e.ChangeType = d.text(c)
		case "EventKey":
			e.EventKey = d.text(c)
		case "AgentID":
			e.AgentID = parseInt(d.text(c))
		case "MsgId":
			e.MsgID = d.text(c)
		case "Content":
			e.Content = d.text(c)
		case "Title":
			e.Title = d.text(c)
		case "Description":
			e.Description = d.text(c)
		case "Url":
			e.URL = d.text(c)
		case "PicUrl":
			e.PicURL = d.text(c)
		case "MediaId":
			e.MediaID = d.text(c)
		case "Format":
			e.Format = d.text(c)
		case "ThumbMediaId":
			e.ThumbMediaID = d.text(c)
		case "Location_X":
			e.LocationX = parseFloat(d.text(c))
		case "Location_Y":
			e.LocationY = parseFloat(d.text(c))
		case "Scale":
			e.Scale = int(parseInt(d.text(c)))
		case "Label":
			e.Label = d.text(c)
		case "Latitude":
			e.Latitude = parseFloat(d.text(c))
		case "Longitude":
			e.Longitude = parseFloat(d.text(c))
		case "Precision":
			e.Precision = parseFloat(d.text(c))
		case "TaskId":
			e.TaskID = d.text(c)
		case "CardType":
			e.CardType = d.text(c)
		case "ResponseCode":
			e.ResponseCode = d.text(c)
		case "SelectedItems":
			e.SelectedItems = append(e.SelectedItems, parseSelectedItems(d, c)...)
		case "ScanCodeInfo":
			e.ScanCodeInfo = parseScanCodeInfo(d, c)
		case "SendPicsInfo":
			e.SendPicsInfo = parseSendPicsInfo(d, c)
		case "SendLocationInfo":
			e.SendLocationInfo = parseSendLocationInfo(d, c)
		case "BatchJob":
			e.BatchJob = parseBatchJob(d, c)
		case "ApprovalInfo":
			approval = c
		}
	}
	// The payloads below are only meaningful once Event names them, and
	// Event may come after them. ApprovalInfo is gated because
	// open_approval_change reuses the element name with other children.
	if e.MsgType == "event" && e.Event == "change_contact" {
		e.Contact = parseContactChange(d, root)
	}
	if approval != noNode && e.MsgType == "event" && e.Event == "sys_approval_change" {
		e.Approval = parseApprovalInfo(d, approval)
	}
}

func parseSelectedItems(d *xdoc, n int32) []SelectedItem {
	var out []SelectedItem
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		if d.name(c) != "SelectedItem" {
			continue
		}
		var it SelectedItem
		for f := d.nodes[c].first; f != noNode; f = d.nodes[f].next {
			switch d.name(f) {
			case "QuestionKey":
				it.QuestionKey = d.text(f)
			case "OptionIds":
				for o := d.nodes[f].first; o != noNode; o = d.nodes[o].next {
					if d.name(o) == "OptionId" {
						it.OptionIDs = append(it.OptionIDs, d.text(o))
					}
				}
			}
		}
		out = append(out, it)
	}
	return out
}

func parseScanCodeInfo(d *xdoc, n int32) *ScanCodeInfo {
	v := new(ScanCodeInfo)
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "ScanType":
			v.ScanType = d.text(c)
		case "ScanResult":
			v.ScanResult = d.text(c)
		}
	}
	return v
}

func parseSendPicsInfo(d *xdoc, n int32) *SendPicsInfo {
	v := new(SendPicsInfo)
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "Count":
			v.Count = int(parseInt(d.text(c)))
		case "PicList":
			for it := d.nodes[c].first; it != noNode; it = d.nodes[it].next {
				if d.name(it) != "item" {
					continue
				}
				if m := d.child(it, "PicMd5Sum"); m != noNode {
					v.PicMD5Sum = append(v.PicMD5Sum, d.text(m))
				}
			}
		}
	}
	return v
}

func parseSendLocationInfo(d *xdoc, n int32) *SendLocationInfo {
	v := new(SendLocationInfo)
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "Location_X":
			v.LocationX = parseFloat(d.text(c))
		case "Location_Y":
			v.LocationY = parseFloat(d.text(c))
		case "Scale":
			v.Scale = int(parseInt(d.text(c)))
		case "Label":
			v.Label = d.text(c)
		case "Poiname":
			v.Poiname = d.text(c)
		}
	}
	return v
}

func parseBatchJob(d *xdoc, n int32) *BatchJob {
	v := new(BatchJob)
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "JobId":
			v.JobID = d.text(c)
		case "JobType":
			v.JobType = d.text(c)
		case "ErrCode":
			v.ErrCode = int(parseInt(d.text(c)))
		case "ErrMsg":
			v.ErrMsg = d.text(c)
		}
	}
	return v
}

// DedupKey identifies one delivery for the inbox's unique index: WeCom
// re-sends a callback it got no timely answer for, and the copies must
// collapse while distinct callbacks must not. The key is ASCII and at most
// 68 bytes.
//
// Messages: "msg:" + MsgId (hashed if it is not a short plain id).
//
// Events: "evt:" + 32 hex digits of a SHA-256 over ToUserName, AgentID,
// FromUserName, CreateTime, MsgType, Event, ChangeType, EventKey and TaskId
// (WeCom's own advice is FromUserName + CreateTime, which merges different
// events of the same second), plus JobId for batch_job_result and SpNo +
// StatuChangeEvent for sys_approval_change. For change_contact,
// sys_approval_change and kinds this package does not know, a digest of every
// element's text is added as well, so that two contact or approval changes
// in the same second stay distinct even when their ids agree. A retry is the
// same message and gets the same key; the digest ignores formatting, and
// would split a retry only if WeCom changed its content, which those
// handlers survive because they re-read the API anyway.
func (e *Event) DedupKey() string {
	if e.MsgType != "event" && e.MsgID != "" {
		if len(e.MsgID) <= 64 && isPlainID(e.MsgID) {
			return "msg:" + e.MsgID
		}
		sum := sha256.Sum256([]byte(e.MsgID))
		return "msg:" + hex.EncodeToString(sum[:16])
	}
	h := sha256.New()
	var num [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(num[:], uint64(len(s)))
		h.Write(num[:])
		h.Write(unsafeBytes(s)) // hashing does not retain or modify its input
	}
	i64 := func(v int64) {
		binary.BigEndian.PutUint64(num[:], uint64(v))
		h.Write(num[:])
	}
	str(e.ToUserName)
	i64(e.AgentID)
	str(e.FromUserName)
	i64(e.CreateTime)
	str(e.MsgType)
	str(e.Event)
	str(e.ChangeType)
	str(e.EventKey)
	str(e.TaskID)
	content := false
	switch e.Event {
	case "batch_job_result":
		if e.BatchJob != nil {
			str(e.BatchJob.JobID)
		}
	case "sys_approval_change":
		if e.Approval != nil {
			str(e.Approval.Number())
			i64(int64(e.Approval.StatuChangeEvent))
		}
		content = true
	case "change_contact":
		content = true
	case "enter_agent", "click", "view", "LOCATION", "template_card_event", "template_card_menu_event",
		"scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select":
	default:
		content = true
	}
	if content && len(e.Raw) > 0 {
		contentDigest(h, e.Raw)
	}
	var sum [sha256.Size]byte
	return "evt:" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

func isPlainID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// contentDigest hashes the element structure and decoded text of raw, so
// that formatting (whitespace between elements, CDATA versus escaped text)
// does not count as a difference. Unparsable raw is hashed as bytes.
func contentDigest(h hash.Hash, raw []byte) {
	d := getDoc()
	defer putDoc(d)
	if err := d.parse(string(raw)); err != nil {
		h.Write([]byte{0xff})
		h.Write(raw)
		return
	}
	var buf []byte
	// Iterative pre-order walk: the parser already bounds depth, but there is
	// no reason to recurse.
	n := d.root
	for n != noNode {
		buf = append(buf, '<')
		buf = append(buf, d.name(n)...)
		buf = append(buf, '>')
		if d.nodes[n].first != noNode {
			n = d.nodes[n].first
			continue
		}
		t := d.text(n)
		buf = strconv.AppendInt(buf, int64(len(t)), 10)
		buf = append(buf, ':')
		buf = append(buf, t...)
		for n != noNode && d.nodes[n].next == noNode {
			buf = append(buf, '/')
			n = d.nodes[n].parent
		}
		if n != noNode {
			buf = append(buf, '/')
			n = d.nodes[n].next
		}
	}
	h.Write(buf)
}
