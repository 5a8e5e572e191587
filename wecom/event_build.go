package wecom

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
	w := xmlWriter{b: dst}
	w.open("xml")
	w.cdata("ToUserName", e.ToUserName)
	w.cdata("FromUserName", e.FromUserName)
	w.int("CreateTime", e.CreateTime)
	w.cdata("MsgType", e.MsgType)

	w.cdataNonEmpty("Content", e.Content)
	w.cdataNonEmpty("Title", e.Title)
	w.cdataNonEmpty("Description", e.Description)
	w.cdataNonEmpty("Url", e.URL)
	w.cdataNonEmpty("PicUrl", e.PicURL)
	w.cdataNonEmpty("MediaId", e.MediaID)
	w.cdataNonEmpty("Format", e.Format)
	w.cdataNonEmpty("ThumbMediaId", e.ThumbMediaID)
	if e.LocationX != 0 || e.LocationY != 0 || e.MsgType == KindLocation {
		w.float("Location_X", e.LocationX)
		w.float("Location_Y", e.LocationY)
	}
	if e.Scale != 0 || e.MsgType == KindLocation {
		w.int("Scale", int64(e.Scale))
	}
	w.cdataNonEmpty("Label", e.Label)

	w.cdataNonEmpty("Event", e.Event)
	w.cdataNonEmpty("ChangeType", e.ChangeType)
	if e.EventKey != "" || e.MsgType == "event" && eventCarriesKey(e.Event) {
		w.cdata("EventKey", e.EventKey)
	}
	if e.Latitude != 0 || e.Longitude != 0 || e.Precision != 0 || e.Event == "LOCATION" {
		w.float("Latitude", e.Latitude)
		w.float("Longitude", e.Longitude)
		w.float("Precision", e.Precision)
	}
	w.cdataNonEmpty("TaskId", e.TaskID)
	w.cdataNonEmpty("CardType", e.CardType)
	w.cdataNonEmpty("ResponseCode", e.ResponseCode)
	if v := e.ScanCodeInfo; v != nil {
		w.open("ScanCodeInfo")
		w.cdata("ScanType", v.ScanType)
		w.cdata("ScanResult", v.ScanResult)
		w.close("ScanCodeInfo")
	}
	if v := e.SendPicsInfo; v != nil {
		w.open("SendPicsInfo")
		w.int("Count", int64(v.Count))
		if len(v.PicMD5Sum) > 0 {
			w.open("PicList")
			for _, m := range v.PicMD5Sum {
				w.open("item")
				w.cdata("PicMd5Sum", m)
				w.close("item")
			}
			w.close("PicList")
		}
		w.close("SendPicsInfo")
	}
	if v := e.SendLocationInfo; v != nil {
		w.open("SendLocationInfo")
		w.float("Location_X", v.LocationX)
		w.float("Location_Y", v.LocationY)
		w.int("Scale", int64(v.Scale))
		w.cdata("Label", v.Label)
		w.cdata("Poiname", v.Poiname)
		w.close("SendLocationInfo")
	}
	if e.Contact != nil && e.Event == "change_contact" {
		writeContact(&w, e.Contact)
	}
	if e.MsgID != "" {
		w.bare("MsgId", e.MsgID)
	}
	w.intNonZero("AgentID", e.AgentID)
	if len(e.SelectedItems) > 0 {
		w.open("SelectedItems")
		for _, it := range e.SelectedItems {
			w.open("SelectedItem")
			w.cdata("QuestionKey", it.QuestionKey)
			w.open("OptionIds")
			for _, o := range it.OptionIDs {
				w.cdata("OptionId", o)
			}
			w.close("OptionIds")
			w.close("SelectedItem")
		}
		w.close("SelectedItems")
	}
	if v := e.BatchJob; v != nil {
		w.open("BatchJob")
		w.cdata("JobId", v.JobID)
		w.cdata("JobType", v.JobType)
		w.int("ErrCode", int64(v.ErrCode))
		w.cdata("ErrMsg", v.ErrMsg)
		w.close("BatchJob")
	}
	if e.Approval != nil {
		writeApproval(&w, e.Approval)
	}
	w.close("xml")
	return w.b
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
