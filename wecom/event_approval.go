package wecom

import (
	"strconv"
	"strings"
)

// ApprovalInfo is the payload of sys_approval_change (the native 审批 app).
// It is parsed leniently: the element set has grown over the years, and
// anything not modelled here is still in Event.Raw. Handlers should re-read
// the request with oa/getapprovaldetail before acting on it.
type ApprovalInfo struct {
	SpNo       string // bare number; kept as text so no digits are lost
	SpNoStr    string // newer string form of SpNo; prefer Number()
	SpName     string
	SpStatus   int // 1 pending, 2 approved, 3 rejected, 4 revoked, 6 revoked after approval, 7 deleted, 10 paid
	TemplateID string
	ApplyTime  int64
	Applyer    ApprovalApplyer
	SpRecord   []ApprovalRecord
	Notifyer   []string // userids
	Comments   []ApprovalComment
	// StatuChangeEvent (sic) is what happened: 1 submitted, 2 approved,
	// 3 rejected, 4 transferred, 5 reminded, 6 revoked, 8 revoked after
	// approval, 10 comment added, and newer values.
	StatuChangeEvent int
}

// Number is the approval number, from SpNoStr when WeCom sent it.
func (a *ApprovalInfo) Number() string {
	if a.SpNoStr != "" {
		return a.SpNoStr
	}
	return a.SpNo
}

// ApprovalApplyer is who submitted the request.
type ApprovalApplyer struct {
	UserID string
	Party  string // department id, as sent
}

// ApprovalRecord is one approval node.
type ApprovalRecord struct {
	SpStatus     int
	ApproverAttr int // 1 any one approver (或签), 2 all approvers (会签)
	Details      []ApprovalDetail
}

// ApprovalDetail is one approver's branch of a node.
type ApprovalDetail struct {
	Approver string // Approver/UserId
	Speech   string
	SpStatus int
	SpTime   int64 // 0 until the approver acts
	MediaID  []string
}

// ApprovalComment is one remark on the request.
type ApprovalComment struct {
	UserID         string // CommentUserInfo/UserId
	CommentTime    int64
	CommentContent string
	CommentID      string
	Attach         []string // media ids
}

func parseApprovalInfo(d *xdoc, n int32) *ApprovalInfo {
	a := new(ApprovalInfo)
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "SpNo":
			a.SpNo = strings.TrimSpace(d.text(c))
		case "SpNoStr":
			a.SpNoStr = d.text(c)
		case "SpName":
			a.SpName = d.text(c)
		case "SpStatus":
			a.SpStatus = int(parseInt(d.text(c)))
		case "TemplateId":
			a.TemplateID = d.text(c)
		case "ApplyTime":
			a.ApplyTime = parseInt(d.text(c))
		case "Applyer":
			for f := d.nodes[c].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "UserId":
					a.Applyer.UserID = d.text(f)
				case "Party":
					a.Applyer.Party = d.text(f)
				}
			}
		case "SpRecord":
			a.SpRecord = append(a.SpRecord, parseApprovalRecord(d, c))
		case "Notifyer":
			for f := d.nodes[c].first; f != noNode; f = d.nodes[f].next {
				if d.name(f) == "UserId" {
					a.Notifyer = append(a.Notifyer, d.text(f))
				}
			}
		case "Comments":
			a.Comments = append(a.Comments, parseApprovalComment(d, c))
		case "StatuChangeEvent":
			a.StatuChangeEvent = int(parseInt(d.text(c)))
		}
	}
	return a
}

func parseApprovalRecord(d *xdoc, n int32) ApprovalRecord {
	var r ApprovalRecord
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "SpStatus":
			r.SpStatus = int(parseInt(d.text(c)))
		case "ApproverAttr":
			r.ApproverAttr = int(parseInt(d.text(c)))
		case "Details":
			var dt ApprovalDetail
			for f := d.nodes[c].first; f != noNode; f = d.nodes[f].next {
				switch d.name(f) {
				case "Approver":
					if u := d.child(f, "UserId"); u != noNode {
						dt.Approver = d.text(u)
					}
				case "Speech":
					dt.Speech = d.text(f)
				case "SpStatus":
					dt.SpStatus = int(parseInt(d.text(f)))
				case "SpTime":
					dt.SpTime = parseInt(d.text(f))
				case "MediaId":
					dt.MediaID = append(dt.MediaID, d.text(f))
				}
			}
			r.Details = append(r.Details, dt)
		}
	}
	return r
}

func parseApprovalComment(d *xdoc, n int32) ApprovalComment {
	var cm ApprovalComment
	for c := d.nodes[n].first; c != noNode; c = d.nodes[c].next {
		switch d.name(c) {
		case "CommentUserInfo":
			if u := d.child(c, "UserId"); u != noNode {
				cm.UserID = d.text(u)
			}
		case "CommentTime":
			cm.CommentTime = parseInt(d.text(c))
		case "CommentContent":
			cm.CommentContent = d.text(c)
		case "CommentId":
			cm.CommentID = d.text(c)
		case "Attach":
			cm.Attach = append(cm.Attach, d.text(c))
		}
	}
	return cm
}

func writeApproval(w *xmlWriter, a *ApprovalInfo) {
	w.open("ApprovalInfo")
	w.cdataNonEmpty("SpNoStr", a.SpNoStr)
	w.bare("SpNo", a.SpNo)
	w.cdata("SpName", a.SpName)
	w.int("SpStatus", int64(a.SpStatus))
	w.cdata("TemplateId", a.TemplateID)
	w.int("ApplyTime", a.ApplyTime)
	w.open("Applyer")
	w.cdata("UserId", a.Applyer.UserID)
	w.cdata("Party", a.Applyer.Party)
	w.close("Applyer")
	for _, r := range a.SpRecord {
		w.open("SpRecord")
		w.int("SpStatus", int64(r.SpStatus))
		w.int("ApproverAttr", int64(r.ApproverAttr))
		for _, dt := range r.Details {
			w.open("Details")
			w.open("Approver")
			w.cdata("UserId", dt.Approver)
			w.close("Approver")
			w.cdata("Speech", dt.Speech)
			w.int("SpStatus", int64(dt.SpStatus))
			w.int("SpTime", dt.SpTime)
			for _, m := range dt.MediaID {
				w.cdata("MediaId", m)
			}
			w.close("Details")
		}
		w.close("SpRecord")
	}
	for _, u := range a.Notifyer {
		w.open("Notifyer")
		w.cdata("UserId", u)
		w.close("Notifyer")
	}
	for _, cm := range a.Comments {
		w.open("Comments")
		w.open("CommentUserInfo")
		w.cdata("UserId", cm.UserID)
		w.close("CommentUserInfo")
		w.int("CommentTime", cm.CommentTime)
		w.cdata("CommentContent", cm.CommentContent)
		w.cdata("CommentId", cm.CommentID)
		for _, m := range cm.Attach {
			w.cdata("Attach", m)
		}
		w.close("Comments")
	}
	w.int("StatuChangeEvent", int64(a.StatuChangeEvent))
	w.close("ApprovalInfo")
}

func itoa(v int) string { return strconv.Itoa(v) }

func joinStrings(v []string) string { return strings.Join(v, ",") }
