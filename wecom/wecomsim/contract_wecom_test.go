package wecomsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// wecomClient drives the project's own client (package wecom) on the
// simulator's clock, without retries (the cases want each server answer as
// it is).
type wecomClient struct {
	contacts *wecom.Client
	app      *wecom.Client
}

func newWecomClient(e *cenv) contractClient {
	corp, err := wecom.New(wecom.Options{
		BaseURL:       e.url,
		CorpID:        e.corpID,
		ContactSecret: contactSecret,
		Apps:          []wecom.AppConfig{{Name: "hall", AgentID: hallAgentID, Secret: hallSecret}},
		HTTPTimeout:   10 * time.Second,
		Registerer:    prometheus.NewRegistry(),
		Retry:         wecom.RetryPolicy{MaxAttempts: 1},
		Now:           e.sim.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.sim.Advance(d)
			return ctx.Err()
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	contacts, err := corp.Contacts()
	if err != nil {
		e.t.Fatal(err)
	}
	app, err := corp.App("hall")
	if err != nil {
		e.t.Fatal(err)
	}
	return &wecomClient{contacts: contacts, app: app}
}

func (c *wecomClient) code(err error) int {
	var we *wecom.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &we):
		return we.Code
	}
	return -2
}

func (c *wecomClient) quirks() quirks { return quirks{} }

func (c *wecomClient) createDepartment(d cDept) (int, error) {
	return c.contacts.CreateDepartment(ctx, wecom.DepartmentCreate{ID: d.ID, Name: d.Name, NameEn: d.NameEn, ParentID: d.ParentID, Order: d.Order})
}

func (c *wecomClient) renameDepartment(id int, name string) error {
	return c.contacts.UpdateDepartment(ctx, wecom.DepartmentUpdate{ID: id, Name: &name})
}

func (c *wecomClient) moveDepartment(id, parent int) error {
	return c.contacts.UpdateDepartment(ctx, wecom.DepartmentUpdate{ID: id, ParentID: &parent})
}

func (c *wecomClient) setDepartmentOrder(id int, order int64) error {
	return c.contacts.UpdateDepartment(ctx, wecom.DepartmentUpdate{ID: id, Order: &order})
}

func (c *wecomClient) deleteDepartment(id int) error { return c.contacts.DeleteDepartment(ctx, id) }

func fromWecomDept(d wecom.Department) cDept {
	return cDept{ID: d.ID, ParentID: d.ParentID, Name: d.Name, NameEn: d.NameEn, Order: d.Order, Leaders: d.Leaders}
}

func (c *wecomClient) listDepartments(id int) ([]cDept, error) {
	ds, err := c.contacts.ListDepartments(ctx, id)
	var out []cDept
	for _, d := range ds {
		out = append(out, fromWecomDept(d))
	}
	return out, err
}

func (c *wecomClient) simpleListDepartments(id int) ([]cDept, error) {
	ds, err := c.contacts.DepartmentSimpleList(ctx, id)
	var out []cDept
	for _, d := range ds {
		out = append(out, cDept{ID: d.ID, ParentID: d.ParentID, Order: d.Order})
	}
	return out, err
}

func (c *wecomClient) getDepartment(id int) (cDept, error) {
	d, err := c.contacts.GetDepartment(ctx, id)
	if err != nil {
		return cDept{}, err
	}
	out := fromWecomDept(*d)
	if len(out.Leaders) == 0 {
		out.Leaders = nil
	}
	return out, nil
}

func (c *wecomClient) createUser(u cUser) error {
	return c.contacts.CreateUser(ctx, &wecom.UserCreate{UserID: u.UserID, Name: u.Name, Alias: u.Alias, Mobile: u.Mobile,
		Department: u.Department, Position: u.Position, Gender: u.Gender, Email: u.Email})
}

func (c *wecomClient) setPosition(userid, position string) error {
	return c.contacts.UpdateUser(ctx, &wecom.UserUpdate{UserID: userid, Position: &position})
}

func (c *wecomClient) updateNamePosition(userid, name, position string) error {
	return c.contacts.UpdateUser(ctx, &wecom.UserUpdate{UserID: userid, Name: &name, Position: &position})
}

func (c *wecomClient) getUser(userid string) (cUser, error) {
	u, err := c.contacts.GetUser(ctx, userid)
	if err != nil {
		return cUser{}, err
	}
	return cUser{UserID: u.UserID, Name: u.Name, Position: u.Position, Mobile: u.Mobile, Email: u.Email, Gender: u.Gender,
		Alias: u.Alias, Department: u.Department, MainDepartment: u.MainDepartment, Status: u.Status}, nil
}

func (c *wecomClient) deleteUser(userid string) error { return c.contacts.DeleteUser(ctx, userid) }

func (c *wecomClient) listUserIDs() ([]cDeptUser, error) {
	var out []cDeptUser
	cursor := ""
	for {
		p, err := c.contacts.ListUserIDs(ctx, cursor, 7)
		if err != nil {
			return nil, err
		}
		for _, du := range p.DeptUser {
			out = append(out, cDeptUser{UserID: du.UserID, Dept: du.Department})
		}
		if p.NextCursor == "" {
			return out, nil
		}
		cursor = p.NextCursor
	}
}

func (c *wecomClient) userSimpleList(dept int) ([]cUser, error) {
	us, err := c.contacts.UserSimpleList(ctx, dept, false)
	var out []cUser
	for _, u := range us {
		out = append(out, cUser{UserID: u.UserID, Name: u.Name, Department: u.Department})
	}
	return out, err
}

func (c *wecomClient) convertToOpenID(userid string) (string, error) {
	return c.contacts.ConvertToOpenID(ctx, userid)
}

func (c *wecomClient) createTag(name string, id int) (int, error) {
	return c.contacts.CreateTag(ctx, name, id)
}

func (c *wecomClient) updateTag(id int, name string) error {
	return c.contacts.UpdateTag(ctx, id, name)
}

func (c *wecomClient) deleteTag(id int) error { return c.contacts.DeleteTag(ctx, id) }

func (c *wecomClient) getTag(id int) (cTagMembers, error) {
	t, err := c.contacts.GetTag(ctx, id)
	if err != nil {
		return cTagMembers{}, err
	}
	out := cTagMembers{Name: t.Name, Parties: t.Parties}
	for _, u := range t.Users {
		out.Users = append(out.Users, u.UserID)
	}
	if len(out.Parties) == 0 {
		out.Parties = nil
	}
	return out, nil
}

func (c *wecomClient) listTags() ([]cTag, error) {
	ts, err := c.contacts.ListTags(ctx)
	var out []cTag
	for _, t := range ts {
		out = append(out, cTag{ID: t.ID, Name: t.Name})
	}
	return out, err
}

func fromTagChange(r *wecom.TagChange) cTagChange {
	out := cTagChange{InvalidUsers: r.InvalidUsers, InvalidParties: r.InvalidParties}
	if len(out.InvalidUsers) == 0 {
		out.InvalidUsers = nil
	}
	if len(out.InvalidParties) == 0 {
		out.InvalidParties = nil
	}
	return out
}

func (c *wecomClient) addTagUsers(id int, users []string, parties []int) (cTagChange, error) {
	r, err := c.contacts.AddTagUsers(ctx, id, users, parties)
	if err != nil {
		return cTagChange{}, err
	}
	return fromTagChange(r), nil
}

func (c *wecomClient) delTagUsers(id int, users []string, parties []int) (cTagChange, error) {
	r, err := c.contacts.DeleteTagUsers(ctx, id, users, parties)
	if err != nil {
		return cTagChange{}, err
	}
	return fromTagChange(r), nil
}

func (c *wecomClient) sendText(users []string, content string) (cSend, error) {
	r, err := c.app.SendMessage(ctx, &wecom.Message{ToUser: users, Text: &wecom.Text{Content: content}})
	if err != nil {
		return cSend{}, err
	}
	return cSend{MsgID: r.MsgID, InvalidUsers: r.InvalidUsers, ResponseCode: r.ResponseCode}, nil
}

func (c *wecomClient) getUserInfo(code string) (cIdentity, error) {
	id, err := c.app.GetUserInfo(ctx, code)
	if err != nil {
		return cIdentity{}, err
	}
	return cIdentity{UserID: id.UserID, UserTicket: id.UserTicket, OpenID: id.OpenID}, nil
}

func (c *wecomClient) getUserDetail(ticket string) (cDetail, error) {
	d, err := c.app.GetUserDetail(ctx, ticket)
	if err != nil {
		return cDetail{}, err
	}
	return cDetail{UserID: d.UserID, Gender: d.Gender, Mobile: d.Mobile, Email: d.Email}, nil
}

func (c *wecomClient) configSignature(pageURL string) (cJS, error) {
	s, err := c.app.ConfigSignature(ctx, pageURL)
	if err != nil {
		return cJS{}, err
	}
	return cJS{Timestamp: s.Timestamp, NonceStr: s.NonceStr, Signature: s.Signature}, nil
}

func (c *wecomClient) agentConfigSignature(pageURL string) (cJS, error) {
	s, err := c.app.AgentConfigSignature(ctx, pageURL)
	if err != nil {
		return cJS{}, err
	}
	return cJS{Timestamp: s.Timestamp, NonceStr: s.NonceStr, Signature: s.Signature}, nil
}

// wecomQuery maps a query; the client checks users and span itself, so a
// query it refuses comes back as errLocal.
func (c *wecomClient) query(q cQuery) wecom.CheckinQuery {
	return wecom.CheckinQuery{Kind: q.Kind, Start: q.Start, End: q.End, UserIDs: q.Users}
}

func localCheck(err error) error {
	var we *wecom.Error
	if err != nil && !errors.As(err, &we) {
		return errors.Join(errLocal, err)
	}
	return err
}

func (c *wecomClient) checkinData(q cQuery) ([]wecomsim.CheckinRecord, error) {
	rs, err := c.app.GetCheckinData(ctx, c.query(q))
	if err != nil {
		return nil, localCheck(err)
	}
	return fromSDKRecords(rs), nil
}

func (c *wecomClient) checkinDayData(q cQuery) ([]cDay, error) {
	ds, err := c.app.GetCheckinDayData(ctx, c.query(q))
	if err != nil {
		return nil, localCheck(err)
	}
	return fromSDKDays(ds), nil
}

func (c *wecomClient) checkinMonthData(q cQuery) ([]cMonth, error) {
	ms, err := c.app.GetCheckinMonthData(ctx, c.query(q))
	if err != nil {
		return nil, localCheck(err)
	}
	return fromSDKMonths(ms), nil
}

func (c *wecomClient) uploadMedia(mediaType, filename string, data []byte) (string, error) {
	m, err := c.app.UploadMedia(ctx, mediaType, filename, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	return m.ID, nil
}

func (c *wecomClient) batchSyncUser(csv []byte) (string, error) {
	m, err := c.contacts.UploadMedia(ctx, "file", "members.csv", bytes.NewReader(csv))
	if err != nil {
		return "", err
	}
	return c.contacts.BatchSyncUser(ctx, wecom.BatchImport{MediaID: m.ID})
}

func (c *wecomClient) batchResult(jobID string) (cJob, error) {
	r, err := c.contacts.BatchGetResult(ctx, jobID)
	if err != nil {
		return cJob{}, err
	}
	out := cJob{Status: r.Status, Rows: map[string]int{}}
	for _, row := range r.Result {
		out.Rows[row.UserID] = row.ErrCode
	}
	return out, nil
}

func (c *wecomClient) sendButtonCard(users []string, taskID string) (cSend, error) {
	card := &wecom.TemplateCard{
		CardType:  wecom.CardButtonInteraction,
		MainTitle: &wecom.CardTitle{Title: "请假审批", Desc: "王芳 · 事假 1 天"},
		TaskID:    taskID,
		ButtonList: []wecom.CardButton{
			{Text: "同意", Style: 1, Key: "approve"},
			{Text: "驳回", Style: 2, Key: "reject"},
		},
	}
	r, err := c.app.SendMessage(ctx, &wecom.Message{ToUser: users, TemplateCard: card})
	if err != nil {
		return cSend{}, err
	}
	return cSend{MsgID: r.MsgID, InvalidUsers: r.InvalidUsers, ResponseCode: r.ResponseCode}, nil
}

func (c *wecomClient) updateCardButtons(responseCode string, users []string, replaceName string) ([]string, error) {
	r, err := c.app.UpdateTemplateCard(ctx, &wecom.CardUpdate{UserIDs: users, ResponseCode: responseCode, ReplaceName: replaceName})
	if err != nil {
		return nil, err
	}
	return r.InvalidUsers, nil
}

func (c *wecomClient) recall(msgID string) error { return c.app.RecallMessage(ctx, msgID) }

// convert moves workbench data between the simulator's and the client's
// types through their shared JSON form.
func convert[T any](in any) (T, error) {
	var out T
	b, err := json.Marshal(in)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

func (c *wecomClient) setWorkbenchTemplate(t wecomsim.WorkbenchTemplate) error {
	wt, err := convert[wecom.WorkbenchTemplate](t)
	if err != nil {
		return err
	}
	return c.app.SetWorkbenchTemplate(ctx, wt)
}

func (c *wecomClient) getWorkbenchTemplate() (wecomsim.WorkbenchTemplate, error) {
	t, err := c.app.GetWorkbenchTemplate(ctx)
	if err != nil {
		return wecomsim.WorkbenchTemplate{}, err
	}
	return convert[wecomsim.WorkbenchTemplate](t)
}

func (c *wecomClient) setWorkbenchData(userid string, d wecomsim.WorkbenchData) error {
	wd, err := convert[wecom.WorkbenchData](d)
	if err != nil {
		return err
	}
	return localCheck(c.app.SetWorkbenchData(ctx, userid, wd))
}

func (c *wecomClient) batchSetWorkbenchData(userids []string, d wecomsim.WorkbenchData) error {
	wd, err := convert[wecom.WorkbenchData](d)
	if err != nil {
		return err
	}
	return c.app.BatchSetWorkbenchData(ctx, userids, wd)
}

func (c *wecomClient) getWorkbenchData(userid string) (wecomsim.WorkbenchData, error) {
	d, err := c.app.GetWorkbenchData(ctx, userid)
	if err != nil {
		return wecomsim.WorkbenchData{}, err
	}
	return convert[wecomsim.WorkbenchData](d)
}
