package wecom

import "strings"

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

// approvalXML is ApprovalInfo on the wire. Fields named as in
// ApprovalInfo are copied by convertWire; Notifyer, repeated once per
// member, is converted by hand.
type approvalXML struct {
	SpNoStr    cdata  `xml:",omitempty"`
	SpNo       string // bare in WeCom's samples
	SpName     cdata
	SpStatus   xint
	TemplateID cdata `xml:"TemplateId"`
	ApplyTime  xint
	Applyer    struct {
		UserID cdata `xml:"UserId"`
		Party  cdata
	}
	SpRecord []struct {
		SpStatus     xint
		ApproverAttr xint
		Details      []struct {
			Approver cdata `xml:"Approver>UserId"`
			Speech   cdata
			SpStatus xint
			SpTime   xint
			MediaID  []cdata `xml:"MediaId"`
		}
	}
	Notifyers []approvalNotifyerXML `xml:"Notifyer"`
	Comments  []struct {
		UserID         cdata `xml:"CommentUserInfo>UserId"`
		CommentTime    xint
		CommentContent cdata
		CommentID      cdata   `xml:"CommentId"`
		Attach         []cdata `xml:"Attach"`
	}
	StatuChangeEvent xint
}

// approvalNotifyerXML is one Notifyer element; WeCom writes one per member,
// and every UserId inside is read.
type approvalNotifyerXML struct {
	UserID []cdata `xml:"UserId"`
}

func (w *approvalXML) info() *ApprovalInfo {
	a := new(ApprovalInfo)
	convertWire(a, w)
	a.SpNo = strings.TrimSpace(a.SpNo)
	for _, n := range w.Notifyers {
		for _, u := range n.UserID {
			a.Notifyer = append(a.Notifyer, string(u))
		}
	}
	return a
}

func approvalWire(a *ApprovalInfo) *approvalXML {
	w := new(approvalXML)
	convertWire(w, a)
	w.SpNo = a.SpNo // bare and always written, even when empty
	for _, u := range a.Notifyer {
		w.Notifyers = append(w.Notifyers, approvalNotifyerXML{UserID: []cdata{cdata(u)}})
	}
	return w
}
