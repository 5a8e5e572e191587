package wecomsim_test

import (
	"bytes"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work"
	"github.com/silenceper/wechat/v2/work/addresslist"
	"github.com/silenceper/wechat/v2/work/checkin"
	"github.com/silenceper/wechat/v2/work/config"
	"github.com/silenceper/wechat/v2/work/message"
	"github.com/silenceper/wechat/v2/work/oauth"

	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// Routing silenceper to the simulators.
//
// silenceper hard-codes https://qyapi.weixin.qq.com and sends through the
// process-wide util.DefaultHTTPClient, after passing each URL through the
// process-wide URI modifier. Package wecom owns both globals: wecom.New
// installs (once per process) a DefaultHTTPClient whose transport routes
// wecom's own calls by a per-call token and refuses any other request to
// qyapi.weixin.qq.com, and clears the modifier. So the suite
//
//   - builds one wecom.Corp first, so wecom's one-time setup has run and
//     cannot later clear our modifier;
//   - installs a modifier that rewrites only URLs that belong to a
//     silenceper client of this suite: gettoken by its corpid (every
//     contract simulator has its own), every other call by its
//     access_token, looked up in the token caches of the registered clients.
//     Anything else — wecom's own calls, which carry wecom's call tokens —
//     passes unchanged to wecom's transport;
//   - keeps wecom's DefaultHTTPClient: a rewritten URL points at
//     127.0.0.1, which that transport passes straight through.

var (
	routingOnce sync.Once
	silRoutes   sync.Map // corp id → *silRoute
)

// silRoute is one simulator and the token caches of its silenceper clients.
type silRoute struct {
	base   *url.URL
	corpID string
	caches map[string]cache.Cache // token cache key → cache
}

func (r *silRoute) owns(token string) bool {
	for key, c := range r.caches {
		if v, ok := c.Get(key).(string); ok && v == token {
			return true
		}
	}
	return false
}

func routeSilenceper(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host != "qyapi.weixin.qq.com" {
		return uri
	}
	q := u.Query()
	var route *silRoute
	if tok := q.Get("access_token"); tok != "" {
		silRoutes.Range(func(_, v any) bool {
			if r := v.(*silRoute); r.owns(tok) {
				route = r
				return false
			}
			return true
		})
	} else if v, ok := silRoutes.Load(q.Get("corpid")); ok {
		route = v.(*silRoute)
	}
	if route == nil {
		return uri // not ours: wecom's transport routes (or refuses) it
	}
	u.Scheme, u.Host = route.base.Scheme, route.base.Host
	u.Path = route.base.Path + u.Path
	return u.String()
}

func installSilenceperRouting() {
	routingOnce.Do(func() {
		if _, err := wecom.New(wecom.Options{CorpID: "wwcontractsetup", Registerer: prometheus.NewRegistry()}); err != nil {
			panic(err)
		}
		util.SetURIModifier(routeSilenceper)
	})
}

// silClient drives silenceper's work client: the contacts-sync secret and
// the hall app, each with its own memory cache.
type silClient struct {
	contacts *work.Work
	app      *work.Work
	corpID   string
}

func newSilenceperClient(e *cenv) contractClient {
	installSilenceperRouting()
	base, _ := url.Parse(e.url)
	cc, ac := cache.NewMemory(), cache.NewMemory()
	agent := strconv.Itoa(hallAgentID)
	r := &silRoute{base: base, corpID: e.corpID, caches: map[string]cache.Cache{
		// WorkAccessToken's cache keys (credential/default_access_token.go).
		credential.CacheKeyWorkPrefix + "_access_token_" + e.corpID:               cc,
		credential.CacheKeyWorkPrefix + "_access_token_" + e.corpID + "_" + agent: ac,
	}}
	silRoutes.Store(e.corpID, r)
	e.t.Cleanup(func() { silRoutes.Delete(e.corpID) })
	return &silClient{
		contacts: work.NewWork(&config.Config{CorpID: e.corpID, CorpSecret: contactSecret, Cache: cc}),
		app:      work.NewWork(&config.Config{CorpID: e.corpID, CorpSecret: hallSecret, AgentID: agent, Cache: ac}),
		corpID:   e.corpID,
	}
}

func (c *silClient) code(err error) int {
	var ce *util.CommonError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return int(ce.ErrCode)
	}
	return -2
}

func (c *silClient) quirks() quirks {
	return quirks{userWritesEveryField: true, signsFragment: true, departmentUpdateDropsZero: true}
}

func (c *silClient) al() *addresslist.Client { return c.contacts.GetAddressList() }

func (c *silClient) createDepartment(d cDept) (int, error) {
	r, err := c.al().DepartmentCreate(&addresslist.DepartmentCreateRequest{Name: d.Name, NameEn: d.NameEn, ParentID: d.ParentID, Order: int(d.Order), ID: d.ID})
	if err != nil {
		return 0, err
	}
	return r.ID, nil
}

func (c *silClient) renameDepartment(id int, name string) error {
	return c.al().DepartmentUpdate(&addresslist.DepartmentUpdateRequest{ID: id, Name: name})
}

func (c *silClient) moveDepartment(id, parent int) error {
	return c.al().DepartmentUpdate(&addresslist.DepartmentUpdateRequest{ID: id, ParentID: parent})
}

func (c *silClient) setDepartmentOrder(id int, order int64) error {
	return c.al().DepartmentUpdate(&addresslist.DepartmentUpdateRequest{ID: id, Order: int(order)})
}

func (c *silClient) deleteDepartment(id int) error { return c.al().DepartmentDelete(id) }

func fromSilDept(d *addresslist.Department) cDept {
	return cDept{ID: d.ID, ParentID: d.ParentID, Name: d.Name, NameEn: d.NameEn, Order: int64(d.Order), Leaders: d.DepartmentLeader}
}

func (c *silClient) listDepartments(id int) ([]cDept, error) {
	ds, err := c.al().DepartmentListByID(id)
	var out []cDept
	for _, d := range ds {
		out = append(out, fromSilDept(d))
	}
	return out, err
}

func (c *silClient) simpleListDepartments(id int) ([]cDept, error) {
	ds, err := c.al().DepartmentSimpleList(id)
	var out []cDept
	for _, d := range ds {
		out = append(out, cDept{ID: d.ID, ParentID: d.ParentID, Order: int64(d.Order)})
	}
	return out, err
}

func (c *silClient) getDepartment(id int) (cDept, error) {
	d, err := c.al().DepartmentGet(id)
	if err != nil {
		return cDept{}, err
	}
	out := fromSilDept(d)
	if len(out.Leaders) == 0 {
		out.Leaders = nil
	}
	return out, nil
}

func (c *silClient) createUser(u cUser) error {
	g, _ := strconv.Atoi(u.Gender)
	_, err := c.al().UserCreate(&addresslist.UserCreateRequest{UserID: u.UserID, Name: u.Name, Alias: u.Alias, Mobile: u.Mobile,
		Department: u.Department, Position: u.Position, Gender: g, Email: u.Email})
	return err
}

// setPosition is how a silenceper user updates one field: the other
// fields of UserUpdateRequest go out as zero values.
func (c *silClient) setPosition(userid, position string) error {
	return c.al().UserUpdate(&addresslist.UserUpdateRequest{UserID: userid, Position: position})
}

func (c *silClient) updateNamePosition(userid, name, position string) error {
	return c.al().UserUpdate(&addresslist.UserUpdateRequest{UserID: userid, Name: name, Position: position})
}

func (c *silClient) getUser(userid string) (cUser, error) {
	r, err := c.al().UserGet(userid)
	if err != nil {
		return cUser{}, err
	}
	return cUser{UserID: r.UserID, Name: r.Name, Position: r.Position, Mobile: r.Mobile, Email: r.Email, Gender: r.Gender,
		Alias: r.Alias, Department: r.Department, MainDepartment: r.MainDepartment, Status: r.Status}, nil
}

func (c *silClient) deleteUser(userid string) error {
	_, err := c.al().UserDelete(userid)
	return err
}

func (c *silClient) listUserIDs() ([]cDeptUser, error) {
	var out []cDeptUser
	cursor := ""
	for {
		r, err := c.al().UserListID(&addresslist.UserListIDRequest{Cursor: cursor, Limit: 7})
		if err != nil {
			return nil, err
		}
		for _, du := range r.DeptUser {
			out = append(out, cDeptUser{UserID: du.UserID, Dept: du.Department})
		}
		if r.NextCursor == "" {
			return out, nil
		}
		cursor = r.NextCursor
	}
}

func (c *silClient) userSimpleList(dept int) ([]cUser, error) {
	us, err := c.al().UserSimpleList(dept)
	var out []cUser
	for _, u := range us {
		out = append(out, cUser{UserID: u.UserID, Name: u.Name, Department: u.Department})
	}
	return out, err
}

func (c *silClient) convertToOpenID(userid string) (string, error) {
	return c.al().ConvertToOpenID(userid)
}

func (c *silClient) createTag(name string, id int) (int, error) {
	r, err := c.al().CreateTag(&addresslist.CreateTagRequest{TagName: name, TagID: id})
	if err != nil {
		return 0, err
	}
	return r.TagID, nil
}

func (c *silClient) updateTag(id int, name string) error {
	return c.al().UpdateTag(&addresslist.UpdateTagRequest{TagID: id, TagName: name})
}

func (c *silClient) deleteTag(id int) error { return c.al().DeleteTag(id) }

func (c *silClient) getTag(id int) (cTagMembers, error) {
	r, err := c.al().GetTag(id)
	if err != nil {
		return cTagMembers{}, err
	}
	out := cTagMembers{Name: r.TagName, Parties: r.PartyList}
	for _, u := range r.UserList {
		out.Users = append(out.Users, u.UserID)
	}
	if len(out.Parties) == 0 {
		out.Parties = nil
	}
	return out, nil
}

func (c *silClient) listTags() ([]cTag, error) {
	r, err := c.al().ListTag()
	if err != nil {
		return nil, err
	}
	var out []cTag
	for _, t := range r.TagList {
		out = append(out, cTag{ID: t.TagID, Name: t.TagName})
	}
	return out, nil
}

func silTagChange(list string, parties []int) cTagChange {
	out := cTagChange{InvalidParties: parties}
	if list != "" {
		out.InvalidUsers = splitBar(list)
	}
	if len(out.InvalidParties) == 0 {
		out.InvalidParties = nil
	}
	return out
}

func (c *silClient) addTagUsers(id int, users []string, parties []int) (cTagChange, error) {
	r, err := c.al().AddTagUsers(&addresslist.AddTagUsersRequest{TagID: id, UserList: users, PartyList: parties})
	if err != nil {
		return cTagChange{}, err
	}
	return silTagChange(r.InvalidList, r.InvalidParty), nil
}

func (c *silClient) delTagUsers(id int, users []string, parties []int) (cTagChange, error) {
	r, err := c.al().DelTagUsers(&addresslist.DelTagUsersRequest{TagID: id, UserList: users, PartyList: parties})
	if err != nil {
		return cTagChange{}, err
	}
	return silTagChange(r.InvalidList, r.InvalidParty), nil
}

func (c *silClient) sendText(users []string, content string) (cSend, error) {
	r, err := c.app.GetMessage().SendText(message.SendTextRequest{
		SendRequestCommon: &message.SendRequestCommon{ToUser: joinBar(users), AgentID: strconv.Itoa(hallAgentID)},
		Text:              message.TextField{Content: content},
	})
	if err != nil {
		return cSend{}, err
	}
	return cSend{MsgID: r.MsgID, InvalidUsers: splitBar(r.InvalidUser), ResponseCode: r.ResponseCode}, nil
}

func (c *silClient) getUserInfo(code string) (cIdentity, error) {
	r, err := c.app.GetOauth().GetUserInfo(code)
	if err != nil {
		return cIdentity{}, err
	}
	return cIdentity{UserID: r.UserID, UserTicket: r.UserTicket, OpenID: r.OpenID}, nil
}

func (c *silClient) getUserDetail(ticket string) (cDetail, error) {
	r, err := c.app.GetOauth().GetUserDetail(&oauth.GetUserDetailRequest{UserTicket: ticket})
	if err != nil {
		return cDetail{}, err
	}
	return cDetail{UserID: r.UserID, Gender: r.Gender, Mobile: r.Mobile, Email: r.Email}, nil
}

func (c *silClient) configSignature(pageURL string) (cJS, error) {
	r, err := c.app.JsSdk().GetConfig(pageURL)
	if err != nil {
		return cJS{}, err
	}
	return cJS{Timestamp: r.Timestamp, NonceStr: r.NonceStr, Signature: r.Signature}, nil
}

func (c *silClient) agentConfigSignature(pageURL string) (cJS, error) {
	r, err := c.app.JsSdk().GetAgentConfig(pageURL)
	if err != nil {
		return cJS{}, err
	}
	return cJS{Timestamp: r.Timestamp, NonceStr: r.NonceStr, Signature: r.Signature}, nil
}

func silQuery(q cQuery) *checkin.GetCheckinDataRequest {
	return &checkin.GetCheckinDataRequest{OpenCheckinDataType: int64(q.Kind), StartTime: q.Start.Unix(), EndTime: q.End.Unix(), UserIDList: q.Users}
}

func (c *silClient) checkinData(q cQuery) ([]wecomsim.CheckinRecord, error) {
	r, err := c.app.GetCheckin().GetCheckinData(silQuery(q))
	if err != nil {
		return nil, err
	}
	return fromSDKRecords(r.CheckinData), nil
}

func (c *silClient) checkinDayData(q cQuery) ([]cDay, error) {
	r, err := c.app.GetCheckin().GetDayData(silQuery(q))
	if err != nil {
		return nil, err
	}
	return fromSDKDays(r.Datas), nil
}

func (c *silClient) checkinMonthData(q cQuery) ([]cMonth, error) {
	r, err := c.app.GetCheckin().GetMonthData(silQuery(q))
	if err != nil {
		return nil, err
	}
	return fromSDKMonths(r.Datas), nil
}

func (c *silClient) uploadMedia(mediaType, filename string, data []byte) (string, error) {
	r, err := c.app.GetMaterial().UploadTempFileFromReader(filename, mediaType, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	if _, perr := strconv.ParseInt(r.CreateAt, 10, 64); perr != nil {
		return "", errors.New("created_at is not a unix time string: " + r.CreateAt)
	}
	return r.MediaID, nil
}

func (c *silClient) batchSyncUser([]byte) (string, error)           { return "", errNA }
func (c *silClient) batchResult(string) (cJob, error)               { return cJob{}, errNA }
func (c *silClient) sendButtonCard([]string, string) (cSend, error) { return cSend{}, errNA }
func (c *silClient) updateCardButtons(string, []string, string) ([]string, error) {
	return nil, errNA
}
func (c *silClient) recall(string) error                                   { return errNA }
func (c *silClient) setWorkbenchTemplate(wecomsim.WorkbenchTemplate) error { return errNA }
func (c *silClient) getWorkbenchTemplate() (wecomsim.WorkbenchTemplate, error) {
	return wecomsim.WorkbenchTemplate{}, errNA
}
func (c *silClient) setWorkbenchData(string, wecomsim.WorkbenchData) error        { return errNA }
func (c *silClient) batchSetWorkbenchData([]string, wecomsim.WorkbenchData) error { return errNA }
func (c *silClient) getWorkbenchData(string) (wecomsim.WorkbenchData, error) {
	return wecomsim.WorkbenchData{}, errNA
}

// fromSDKRecords converts silenceper's record struct (package wecom uses
// the same one) to the simulator's.
func fromSDKRecords(in []*checkin.GetCheckinDataItem) []wecomsim.CheckinRecord {
	var out []wecomsim.CheckinRecord
	for _, r := range in {
		out = append(out, wecomsim.CheckinRecord{
			UserID: r.UserID, GroupName: r.GroupName, CheckinType: r.CheckinType, ExceptionType: r.ExceptionType,
			CheckinTime: r.CheckinTime, LocationTitle: r.LocationTitle, LocationDetail: r.LocationDetail,
			WifiName: r.WifiName, Notes: r.Notes, WifiMac: r.WifiMac, MediaIDs: r.MediaIDs, Lat: r.Lat, Lng: r.Lng,
			DeviceID: r.DeviceID, SchCheckinTime: r.SchCheckinTime, GroupID: r.GroupID, ScheduleID: r.ScheduleID, TimelineID: r.TimelineID,
		})
	}
	return out
}

func fromSDKDays(in []checkin.DayDataItem) []cDay {
	var out []cDay
	for _, d := range in {
		day := cDay{UserID: d.BaseInfo.AcctID, Name: d.BaseInfo.Name, DepartsName: d.BaseInfo.DepartsName, Date: d.BaseInfo.Date,
			DayType: int(d.BaseInfo.DayType), CheckinCount: int(d.SummaryInfo.CheckinCount), Earliest: d.SummaryInfo.EarliestTime,
			Latest: d.SummaryInfo.LastestTime, RegularSec: d.SummaryInfo.RegularWorkSec, StandardSec: d.SummaryInfo.StandardWorkSec,
			Exceptions: map[int]int64{}, OTStatus: int(d.OtInfo.OtStatus), OTDuration: d.OtInfo.OtDuration}
		for _, x := range d.ExceptionInfos {
			day.Exceptions[int(x.Exception)] += x.Duration
		}
		out = append(out, day)
	}
	return out
}

func fromSDKMonths(in []checkin.MonthDataItem) []cMonth {
	var out []cMonth
	for _, m := range in {
		row := cMonth{UserID: m.BaseInfo.AcctID, WorkDays: int(m.SummaryInfo.WorkDays), RegularDays: int(m.SummaryInfo.RegularDays),
			ExceptDays: int(m.SummaryInfo.ExceptDays), RegularSec: m.SummaryInfo.RegularWorkSec, StandardSec: m.SummaryInfo.StandardWorkSec,
			WorkdayOverSec: m.OverWorkInfo.WorkdayOverSec, RestdaysOverSec: m.OverWorkInfo.RestDayOverSec, Exceptions: map[int]int64{}}
		for _, x := range m.ExceptionInfos {
			row.Exceptions[int(x.Exception)] += x.Duration
		}
		out = append(out, row)
	}
	return out
}

func joinBar(v []string) string { return strings.Join(v, "|") }

func splitBar(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}
