package wecom

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Event is one decrypted callback: a message a member sent to the app
// (MsgType text, image, voice, video, location, link) or an event (MsgType
// event, Event naming which). Field names follow the callback XML
// (docs/wecom.md §3). Fields of other kinds stay zero; the sub-structs are nil
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
// Crypter.Open) with encoding/xml. Only malformed XML is an error
// (errors.Is(err, ErrXML)): a DTD, text or elements outside the root,
// control characters, nesting deeper than 64 or a document over 4 MiB count
// as malformed. Unknown kinds and odd values parse; numbers that do not
// parse read as zero. Text reads as any XML parser gives it (line ends
// normalised to "\n", CDATA sections joined). The result does not alias xml.
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

func parseEvent(raw []byte, owned bool) (*Event, error) {
	var w eventXML
	if err := decodeXML(raw, &w); err != nil {
		return nil, fmt.Errorf("wecom: parse event: %w", err)
	}
	e := w.event()
	if owned {
		e.Raw = raw
	} else {
		e.Raw = append([]byte(nil), raw...)
	}
	return e, nil
}

// eventXML is a callback message as encoding/xml reads and writes it: the
// element names, their order when written (the documented samples'), which
// strings are CDATA (cdata) and which are bare, and which optional elements
// are written only when set (omitempty, or a nil pointer). Event is the API;
// event() and Event.wire convert.
type eventXML struct {
	ToUserName       cdata
	FromUserName     cdata
	CreateTime       xint
	MsgType          cdata
	Content          cdata   `xml:",omitempty"`
	Title            cdata   `xml:",omitempty"`
	Description      cdata   `xml:",omitempty"`
	URL              cdata   `xml:"Url,omitempty"`
	PicURL           cdata   `xml:"PicUrl,omitempty"`
	MediaID          cdata   `xml:"MediaId,omitempty"`
	Format           cdata   `xml:",omitempty"`
	ThumbMediaID     cdata   `xml:"ThumbMediaId,omitempty"`
	LocationX        *xfloat `xml:"Location_X"`
	LocationY        *xfloat `xml:"Location_Y"`
	Scale            *xint
	Label            cdata `xml:",omitempty"`
	Event            cdata `xml:",omitempty"`
	ChangeType       cdata `xml:",omitempty"`
	EventKey         *cdata
	Latitude         *xfloat
	Longitude        *xfloat
	Precision        *xfloat
	TaskID           cdata `xml:"TaskId,omitempty"`
	CardType         cdata `xml:",omitempty"`
	ResponseCode     cdata `xml:",omitempty"`
	ScanCodeInfo     *scanCodeInfoXML
	SendPicsInfo     *sendPicsInfoXML
	SendLocationInfo *sendLocationInfoXML
	contactXML              // change_contact's elements sit at the root
	MsgID            string `xml:"MsgId,omitempty"` // bare, as WeCom sends it
	AgentID          xint   `xml:",omitempty"`
	SelectedItems    *selectedItemsXML
	BatchJob         *batchJobXML
	ApprovalInfo     *approvalXML
}

type selectedItemsXML struct {
	Items []selectedItemXML `xml:"SelectedItem"`
}

type selectedItemXML struct {
	QuestionKey cdata
	OptionIDs   []cdata `xml:"OptionIds>OptionId"`
}

type scanCodeInfoXML struct {
	ScanType   cdata
	ScanResult cdata
}

type sendPicsInfoXML struct {
	Count   xint
	PicList *sendPicListXML
}

type sendPicListXML struct {
	Items []sendPicXML `xml:"item"`
}

type sendPicXML struct {
	PicMD5Sum cdata `xml:"PicMd5Sum"`
}

type sendLocationInfoXML struct {
	LocationX xfloat `xml:"Location_X"`
	LocationY xfloat `xml:"Location_Y"`
	Scale     xint
	Label     cdata
	Poiname   cdata
}

type batchJobXML struct {
	JobID   cdata `xml:"JobId"`
	JobType cdata
	ErrCode xint
	ErrMsg  cdata
}

func (w *eventXML) event() *Event {
	e := &Event{
		ToUserName: string(w.ToUserName), FromUserName: string(w.FromUserName), CreateTime: int64(w.CreateTime),
		MsgType: string(w.MsgType), Event: string(w.Event), ChangeType: string(w.ChangeType),
		EventKey: w.EventKey.get(), AgentID: int64(w.AgentID), MsgID: w.MsgID,
		Content: string(w.Content), Title: string(w.Title), Description: string(w.Description),
		URL: string(w.URL), PicURL: string(w.PicURL), MediaID: string(w.MediaID), Format: string(w.Format),
		ThumbMediaID: string(w.ThumbMediaID), LocationX: w.LocationX.get(), LocationY: w.LocationY.get(),
		Scale: int(w.Scale.get()), Label: string(w.Label),
		Latitude: w.Latitude.get(), Longitude: w.Longitude.get(), Precision: w.Precision.get(),
		TaskID: string(w.TaskID), CardType: string(w.CardType), ResponseCode: string(w.ResponseCode),
	}
	if w.SelectedItems != nil {
		convertWire(&e.SelectedItems, w.SelectedItems.Items)
	}
	convertWire(&e.ScanCodeInfo, w.ScanCodeInfo)
	convertWire(&e.SendLocationInfo, w.SendLocationInfo)
	convertWire(&e.BatchJob, w.BatchJob)
	if p := w.SendPicsInfo; p != nil {
		e.SendPicsInfo = &SendPicsInfo{Count: int(p.Count)}
		if p.PicList != nil {
			for _, it := range p.PicList.Items {
				e.SendPicsInfo.PicMD5Sum = append(e.SendPicsInfo.PicMD5Sum, string(it.PicMD5Sum))
			}
		}
	}
	// The payloads below mean something only once Event names them.
	// ApprovalInfo is gated because open_approval_change reuses the element
	// name with other children.
	if e.MsgType == "event" && e.Event == "change_contact" {
		e.Contact = w.contactXML.change()
	}
	if w.ApprovalInfo != nil && e.MsgType == "event" && e.Event == "sys_approval_change" {
		e.Approval = w.ApprovalInfo.info()
	}
	return e
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

// contentDigest hashes the element structure and decoded text of raw, as
// encoding/xml tokenises it, so that formatting (whitespace between
// elements, CDATA versus escaped text, comments, line ends) does not count
// as a difference. Each element adds "<name>", a leaf its text as
// "len:text", and each end "/". Unparsable raw is hashed as bytes.
func contentDigest(h hash.Hash, raw []byte) {
	buf := make([]byte, 0, len(raw))
	g := newXMLGuard(raw)
	var text []byte
	leaf := false
	for {
		tok, err := g.Token()
		if err == io.EOF && g.depth == 0 {
			break
		}
		if err != nil {
			h.Write([]byte{0xff})
			h.Write(raw)
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			buf = append(buf, '<')
			if t.Name.Space != "" {
				buf = append(buf, t.Name.Space...)
				buf = append(buf, ':')
			}
			buf = append(buf, t.Name.Local...)
			buf = append(buf, '>')
			text, leaf = text[:0], true
		case xml.CharData:
			if leaf {
				text = append(text, t...)
			}
		case xml.EndElement:
			if leaf {
				buf = strconv.AppendInt(buf, int64(len(text)), 10)
				buf = append(buf, ':')
				buf = append(buf, text...)
			}
			buf = append(buf, '/')
			leaf = false
		}
	}
	h.Write(buf)
}

// XMLError reports malformed XML in a callback or reply message. It matches
// ErrXML under errors.Is, so callers can treat it like the envelope error of
// the crypto layer.
type XMLError struct {
	Offset int    // byte offset in the input where the problem was found
	Reason string // what is wrong, in lowercase
}

// Error gives the offset first, so a logged error points into Event.Raw.
func (e *XMLError) Error() string {
	return fmt.Sprintf("xml: offset %d: %s", e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrXML) true, so that one sentinel covers every
// malformed-XML failure of the package.
func (e *XMLError) Is(target error) bool { return target == ErrXML }

// Limits on what a callback or reply may look like. WeCom's messages are a
// few KB and a handful of levels deep; these only bound hostile input (the
// decoder keeps a stack entry per open element).
const (
	maxXMLSize  = 4 << 20
	maxXMLDepth = 64
)

// xmlGuard feeds encoding/xml the raw tokens of a document and refuses, as
// they appear, what a WeCom message never holds: a DTD or other
// declaration (so no entity beyond the five XML builtins can be defined;
// the decoder is strict and knows no others), control characters in
// comments and processing instructions (the decoder checks them only in
// text and CDATA), and nesting deeper than maxXMLDepth.
type xmlGuard struct {
	d     *xml.Decoder
	depth int
}

func newXMLGuard(data []byte) *xmlGuard {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	return &xmlGuard{d: d}
}

func (g *xmlGuard) Token() (xml.Token, error) {
	tok, err := g.d.RawToken()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if g.depth++; g.depth > maxXMLDepth {
			return nil, g.fail("elements nested deeper than %d", maxXMLDepth)
		}
	case xml.EndElement:
		g.depth--
	case xml.Directive:
		return nil, g.fail("markup declarations are refused (no DTDs)")
	case xml.Comment:
		if !xmlChars(t) {
			return nil, g.fail("illegal character in a comment")
		}
	case xml.ProcInst:
		if !xmlChars(t.Inst) {
			return nil, g.fail("illegal character in a processing instruction")
		}
	}
	return tok, nil
}

func (g *xmlGuard) fail(format string, args ...any) error {
	return &XMLError{Offset: int(g.d.InputOffset()), Reason: fmt.Sprintf(format, args...)}
}

// xmlError turns what encoding/xml returned into an XMLError at the
// offset the raw decoder had reached.
func (g *xmlGuard) xmlError(err error) error {
	var xe *XMLError
	if errors.As(err, &xe) {
		return xe
	}
	reason := err.Error()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		reason = se.Msg
	} else if err == io.EOF || err == io.ErrUnexpectedEOF {
		reason = "unexpected end of input"
	}
	return &XMLError{Offset: int(g.d.InputOffset()), Reason: reason}
}

// xmlChars reports whether b is UTF-8 made of XML 1.0 characters.
func xmlChars(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
			return false
		}
		b = b[n:]
	}
	return true
}

// isXMLChar is the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

var utf8BOM = []byte("\uFEFF")

// decodeXML unmarshals the one root element of data into v, refusing
// everything xmlGuard refuses, text or elements outside the root, and
// documents over maxXMLSize. Errors are *XMLError.
func decodeXML(data []byte, v any) error {
	if len(data) > maxXMLSize {
		return &XMLError{Reason: fmt.Sprintf("document of %d bytes exceeds %d", len(data), maxXMLSize)}
	}
	g := newXMLGuard(bytes.TrimPrefix(data, utf8BOM))
	// The outer decoder checks nesting and names on the guarded tokens.
	d := xml.NewTokenDecoder(g)
	root := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !root {
				return &XMLError{Offset: len(data), Reason: "no root element"}
			}
			return nil
		}
		if err != nil {
			return g.xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root {
				return g.fail("content after the root element")
			}
			root = true
			if err := d.DecodeElement(v, &t); err != nil {
				return g.xmlError(err)
			}
		case xml.CharData:
			if len(bytes.TrimLeft(t, " \t\r\n")) > 0 {
				return g.fail("text outside the root element")
			}
		}
	}
}

// Wire scalar types. WeCom documents these elements as numbers, but a value
// that does not parse reads as zero rather than refusing the whole callback
// (Raw keeps the text): encoding/xml alone would fail the document.

// cdata is a string written as a CDATA section, as WeCom writes text.
type cdata string

// MarshalXML writes <name><![CDATA[s]]></name>; encoding/xml splits a
// "]]>" inside s across two sections. An empty value still gets its empty
// section, as in WeCom's samples (<EventKey><![CDATA[]]></EventKey>). Text
// holding a carriage return or a character XML cannot carry is written
// escaped instead: CDATA cannot protect "\r" from line-end normalisation.
func (s cdata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	switch {
	case s == "":
		return e.EncodeElement(struct {
			S string `xml:",innerxml"`
		}{"<![CDATA[]]>"}, start)
	case strings.IndexByte(string(s), '\r') >= 0 || !xmlChars(unsafeBytes(string(s))):
		return e.EncodeElement(string(s), start)
	}
	return e.EncodeElement(struct {
		S string `xml:",cdata"`
	}{string(s)}, start)
}

func (s *cdata) get() string {
	if s == nil {
		return ""
	}
	return string(*s)
}

// xint is a lenient integer: surrounding space is ignored, anything else
// that is not a decimal int64 reads as 0.
type xint int64

func (v *xint) UnmarshalText(b []byte) error {
	*v = xint(parseInt(unsafeString(b)))
	return nil
}

func (v *xint) get() int64 {
	if v == nil {
		return 0
	}
	return int64(*v)
}

// xfloat is a lenient float; NaN and infinities are not coordinates and
// read as 0. It is written in plain decimal, as WeCom writes coordinates.
type xfloat float64

func (v *xfloat) UnmarshalText(b []byte) error {
	*v = xfloat(parseFloat(unsafeString(b)))
	return nil
}

func (v xfloat) MarshalText() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(v), 'f', -1, 64), nil
}

func (v *xfloat) get() float64 {
	if v == nil {
		return 0
	}
	return float64(*v)
}

// xbool reads "true" and "1" (any case of true) as true, anything else as false.
type xbool bool

func (v *xbool) UnmarshalText(b []byte) error {
	*v = xbool(parseBool(unsafeString(b)))
	return nil
}

func parseInt(s string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func parseFloat(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v != v || v > 1e308 || v < -1e308 {
		return 0
	}
	return v
}

func parseBool(s string) bool {
	switch strings.TrimSpace(s) {
	case "true", "1", "TRUE", "True":
		return true
	}
	return false
}

// convertWire copies src into dst (both pointers, or src a value) field by
// field, matching exported field names, between an API type and its wire
// type: for the sub-structs whose wire form differs only in scalar types
// and tags. Scalars convert by kind; a nil pointer or an empty slice leaves
// dst zero; a zero scalar copied into a pointer field leaves it nil, so the
// element is not written. Fields without a namesake are left alone, and
// TestWireTypesMatchAPI checks that only the intended ones are.
func convertWire(dst, src any) {
	convertValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src))
}

func convertValue(dst, src reflect.Value) {
	switch {
	case src.Kind() == reflect.Pointer:
		if src.IsNil() {
			return
		}
		if dst.Kind() != reflect.Pointer {
			convertValue(dst, src.Elem())
			return
		}
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		convertValue(dst.Elem(), src.Elem())
	case dst.Kind() == reflect.Pointer:
		if src.IsZero() {
			return
		}
		dst.Set(reflect.New(dst.Type().Elem()))
		convertValue(dst.Elem(), src)
	case src.Kind() == reflect.Slice:
		if src.Len() == 0 {
			return
		}
		s := reflect.MakeSlice(dst.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			convertValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case src.Kind() == reflect.Struct:
		for _, p := range fieldPairs(dst.Type(), src.Type()) {
			convertValue(dst.Field(p[0]), src.Field(p[1]))
		}
	default:
		dst.Set(src.Convert(dst.Type()))
	}
}

var fieldPairCache sync.Map // [2]reflect.Type → [][2]int

// fieldPairs lists the (dst, src) field indexes with the same exported name.
func fieldPairs(dst, src reflect.Type) [][2]int {
	key := [2]reflect.Type{dst, src}
	if v, ok := fieldPairCache.Load(key); ok {
		return v.([][2]int)
	}
	var pairs [][2]int
	for i := range dst.NumField() {
		f := dst.Field(i)
		if !f.IsExported() || f.Anonymous {
			continue
		}
		if g, ok := src.FieldByName(f.Name); ok && len(g.Index) == 1 {
			pairs = append(pairs, [2]int{i, g.Index[0]})
		}
	}
	fieldPairCache.Store(key, pairs)
	return pairs
}

// splitStrings splits WeCom's comma lists ("a,b"; DirectLeader has been seen
// with '|'), dropping empty items.
func splitStrings(s string) []string {
	var out []string
	for item := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == '|' }) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// splitInts splits "1,2,3"; items that are not integers are dropped.
func splitInts(s string) []int {
	var out []int
	for item := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == '|' }) {
		if v, err := strconv.ParseInt(strings.TrimSpace(item), 10, 64); err == nil {
			out = append(out, int(v))
		}
	}
	return out
}

func joinInts(v []int) string {
	b := make([]byte, 0, 4*len(v))
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }
