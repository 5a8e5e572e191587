package wecom

import (
	"bytes"
	"encoding/xml"
)

// XML renders the event as WeCom sends it (the plaintext inside the
// encrypted envelope): strings in CDATA, CreateTime, AgentID and other
// numbers bare, elements in the documented order. Every non-zero field is
// written, so ParseEvent(e.XML()) gives back the same fields; Raw is ignored.
// The simulator builds callbacks this way, e.g.
//
//	(&wecom.Event{ToUserName: corpID, FromUserName: "zhangsan", CreateTime: now,
//		MsgType: "text", Content: "hi", MsgID: "1234", AgentID: 1000002}).XML()
func (e *Event) XML() []byte {
	return e.AppendXML(make([]byte, 0, 512))
}

// AppendXML is XML appending to dst.
func (e *Event) AppendXML(dst []byte) []byte {
	return appendXML(dst, e.wire())
}

// wire is the inverse of eventXML.event, adding the elements the documented
// samples carry even when empty or zero.
func (e *Event) wire() *eventXML {
	w := &eventXML{
		ToUserName: cdata(e.ToUserName), FromUserName: cdata(e.FromUserName), CreateTime: xint(e.CreateTime),
		MsgType: cdata(e.MsgType), Event: cdata(e.Event), ChangeType: cdata(e.ChangeType),
		AgentID: xint(e.AgentID), MsgID: e.MsgID,
		Content: cdata(e.Content), Title: cdata(e.Title), Description: cdata(e.Description),
		URL: cdata(e.URL), PicURL: cdata(e.PicURL), MediaID: cdata(e.MediaID), Format: cdata(e.Format),
		ThumbMediaID: cdata(e.ThumbMediaID), Label: cdata(e.Label),
		TaskID: cdata(e.TaskID), CardType: cdata(e.CardType), ResponseCode: cdata(e.ResponseCode),
	}
	if e.LocationX != 0 || e.LocationY != 0 || e.MsgType == KindLocation {
		w.LocationX, w.LocationY = ptr(xfloat(e.LocationX)), ptr(xfloat(e.LocationY))
	}
	if e.Scale != 0 || e.MsgType == KindLocation {
		w.Scale = ptr(xint(e.Scale))
	}
	if e.EventKey != "" || e.MsgType == "event" && eventCarriesKey(e.Event) {
		w.EventKey = ptr(cdata(e.EventKey))
	}
	if e.Latitude != 0 || e.Longitude != 0 || e.Precision != 0 || e.Event == "LOCATION" {
		w.Latitude, w.Longitude, w.Precision = ptr(xfloat(e.Latitude)), ptr(xfloat(e.Longitude)), ptr(xfloat(e.Precision))
	}
	if len(e.SelectedItems) > 0 {
		w.SelectedItems = new(selectedItemsXML)
		convertWire(&w.SelectedItems.Items, e.SelectedItems)
	}
	convertWire(&w.ScanCodeInfo, e.ScanCodeInfo)
	convertWire(&w.SendLocationInfo, e.SendLocationInfo)
	convertWire(&w.BatchJob, e.BatchJob)
	if p := e.SendPicsInfo; p != nil {
		w.SendPicsInfo = &sendPicsInfoXML{Count: xint(p.Count)}
		if len(p.PicMD5Sum) > 0 {
			w.SendPicsInfo.PicList = new(sendPicListXML)
			for _, m := range p.PicMD5Sum {
				w.SendPicsInfo.PicList.Items = append(w.SendPicsInfo.PicList.Items, sendPicXML{PicMD5Sum: cdata(m)})
			}
		}
	}
	if e.Contact != nil && e.Event == "change_contact" {
		w.contactXML = contactWire(e.Contact)
	}
	if e.Approval != nil {
		w.ApprovalInfo = approvalWire(e.Approval)
	}
	return w
}

// appendXML marshals v as the root element <xml> onto dst.
func appendXML(dst []byte, v any) []byte {
	b := bytes.NewBuffer(dst)
	enc := xml.NewEncoder(b)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "xml"}}); err != nil {
		// The wire types hold only strings, numbers and nested wire types,
		// which encoding/xml always marshals.
		panic("wecom: marshal XML: " + err.Error())
	}
	if err := enc.Close(); err != nil {
		panic("wecom: marshal XML: " + err.Error())
	}
	return b.Bytes()
}

// eventCarriesKey lists the events whose documented samples include an
// EventKey element even when it is empty (enter_agent sends <EventKey><![CDATA[]]>).
func eventCarriesKey(event string) bool {
	switch event {
	case "enter_agent", "click", "view", "template_card_event", "template_card_menu_event",
		"scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select":
		return true
	}
	return false
}
