package wecomsim_test

// The contract suite: the simulator must work with WeCom clients it was not
// written with. Every case of contractCases runs against a fresh simulator
// through two drivers:
//
//   - silenceper: github.com/silenceper/wechat/v2's own work client
//     (work.NewWork, unchanged), routed to the simulator by the URI modifier
//     of contract_silenceper_test.go;
//   - wecom: the project's client (package wecom).
//
// A case talks to a driver through contractClient, in plain values, and
// checks every answer against the simulator's state. A driver without the
// API answers errNA and the case is skipped for it (go test -v shows which
// client skips what). Where silenceper does not send what the real API
// expects, the driver declares the quirk and the case asserts what then
// actually happens — the real API would do the same — so the deviation is
// documented by a passing test rather than hidden.
//
// silenceper deviations found (v2.1.10):
//   - addresslist.UserCreateRequest / UserUpdateRequest have no omitempty:
//     every call sends enable=0, so a member created through silenceper is
//     disabled (status 2) and an update disables the member; an update also
//     blanks alias, position, mobile, telephone, address and empties
//     direct_leader; gender is sent as the number 0, the API documents a
//     string.
//   - addresslist.DepartmentUpdateRequest is all omitempty: order 0 (a
//     legal value) and an empty name_en cannot be sent — such an update is
//     a silent no-op; renames and moves work.
//   - jsapi.GetConfig / GetAgentConfig sign the URL as given: a page URL
//     with a #fragment yields a signature the WeCom client rejects (40093);
//     callers must cut the fragment themselves.
//   - UserCreateRequest also sends gender as the number 0 and
//     main_department 0. The simulator accepts both (genderField and the
//     main_department rule in contacts_user.go): the server types gender
//     uint32 (PowerWeChat PR #202), and 0 names no department.
//   - message.SendRequestCommon sends agentid as a JSON string; the
//     simulator accepts it (agentOf).
//   - oauth.Oauth.UserFromCode calls the legacy /cgi-bin/user/getuserinfo
//     (UserId/DeviceId keys), which the simulator does not serve; the
//     suite uses GetUserInfo (auth/getuserinfo).
//   - It has no batch jobs, template cards, update_template_card, recall or
//     workbench APIs (the wecom driver covers them).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// Credentials of the contract simulators. Each simulator gets its own corp
// id (the silenceper routing tells simulators apart by it).
const (
	contactSecret = "contract-contacts-secret"
	hallSecret    = "contract-hall-secret"
	hallAgentID   = 1000002
	// counselorAgentID sees only 软件工程系 (4, with class 8).
	counselorAgentID = 1000003
	counselorSecret  = "contract-counselor-secret"
)

// contractNow is Monday 2024-09-30 20:00 Beijing: September is history.
var contractNow = time.Date(2024, 9, 30, 20, 0, 0, 0, wecomsim.CheckinZone)

var corpSeq atomic.Int64

// cenv is one simulator behind httptest.
type cenv struct {
	t      *testing.T
	sim    *wecomsim.Sim
	url    string
	corpID string
}

func newCenv(t *testing.T, legacy bool) *cenv {
	t.Helper()
	corpID := fmt.Sprintf("wwcontract%08d", corpSeq.Add(1))
	sim := wecomsim.New(wecomsim.Options{
		Legacy:        legacy,
		CorpID:        corpID,
		ContactSecret: contactSecret,
		Clock:         func() time.Time { return contractNow },
		Apps: []wecomsim.App{
			{AgentID: hallAgentID, Name: "一站式服务大厅", Secret: hallSecret},
			{AgentID: counselorAgentID, Name: "辅导员助手", Secret: counselorSecret, Visible: wecomsim.Visible{Departments: []int64{4}}},
		},
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return &cenv{t: t, sim: sim, url: srv.URL, corpID: corpID}
}

// hasRoute reports whether the simulator answers path (unknown paths are
// a 404, as on qyapi).
func (e *cenv) hasRoute(path string) bool {
	res, err := http.Get(e.url + path)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode != http.StatusNotFound
}

// errNA is what a driver answers for an API its library lacks.
var errNA = errors.New("not in this client")

// quirks are a driver's known deviations from the real API's expectations.
type quirks struct {
	// userWritesEveryField: user/create and user/update send every field,
	// enable=0 included (silenceper).
	userWritesEveryField bool
	// signsFragment: JS-SDK signatures cover the URL's #fragment.
	signsFragment bool
	// departmentUpdateDropsZero: department/update cannot send order 0.
	departmentUpdateDropsZero bool
}

// Plain values the cases work with.
type (
	cDept struct {
		ID, ParentID int
		Name, NameEn string
		Order        int64
		Leaders      []string
	}
	cUser struct {
		UserID, Name, Position, Mobile, Email, Gender, Alias string
		Department                                           []int
		MainDepartment                                       int
		Status                                               int
	}
	cDeptUser struct {
		UserID string
		Dept   int
	}
	cTag struct {
		ID   int
		Name string
	}
	cTagMembers struct {
		Name    string
		Users   []string
		Parties []int
	}
	cTagChange struct {
		InvalidUsers   []string
		InvalidParties []int
	}
	cSend struct {
		MsgID        string
		InvalidUsers []string
		ResponseCode string
	}
	cIdentity struct{ UserID, UserTicket, OpenID string }
	cDetail   struct{ UserID, Gender, Mobile, Email string }
	cJS       struct {
		Timestamp int64
		NonceStr  string
		Signature string
	}
	cQuery struct {
		Kind       int
		Start, End time.Time
		Users      []string
	}
	cDay struct {
		UserID, Name, DepartsName string
		Date                      int64
		DayType, CheckinCount     int
		Earliest, Latest          int64
		RegularSec, StandardSec   int64
		Exceptions                map[int]int64 // exception → duration
		OTStatus                  int
		OTDuration                int64
	}
	cMonth struct {
		UserID                            string
		WorkDays, RegularDays, ExceptDays int
		RegularSec, StandardSec           int64
		WorkdayOverSec, RestdaysOverSec   int64
		Exceptions                        map[int]int64
	}
	cJob struct {
		Status int
		Rows   map[string]int // userid → errcode
	}
)

// contractClient is what a case may ask of a client. Methods of APIs the
// client lacks return errNA.
type contractClient interface {
	// code is the WeCom errcode carried by err (0 for nil, -2 when err is
	// not a WeCom error).
	code(err error) int
	quirks() quirks

	createDepartment(d cDept) (int, error)
	renameDepartment(id int, name string) error
	moveDepartment(id, parent int) error
	setDepartmentOrder(id int, order int64) error
	deleteDepartment(id int) error
	listDepartments(id int) ([]cDept, error)
	simpleListDepartments(id int) ([]cDept, error)
	getDepartment(id int) (cDept, error)

	createUser(u cUser) error
	setPosition(userid, position string) error
	updateNamePosition(userid, name, position string) error
	getUser(userid string) (cUser, error)
	deleteUser(userid string) error
	listUserIDs() ([]cDeptUser, error)
	userSimpleList(dept int) ([]cUser, error)
	convertToOpenID(userid string) (string, error)

	createTag(name string, id int) (int, error)
	updateTag(id int, name string) error
	deleteTag(id int) error
	getTag(id int) (cTagMembers, error)
	listTags() ([]cTag, error)
	addTagUsers(id int, users []string, parties []int) (cTagChange, error)
	delTagUsers(id int, users []string, parties []int) (cTagChange, error)

	sendText(users []string, content string) (cSend, error)
	getUserInfo(code string) (cIdentity, error)
	getUserDetail(ticket string) (cDetail, error)

	configSignature(pageURL string) (cJS, error)
	agentConfigSignature(pageURL string) (cJS, error)

	checkinData(q cQuery) ([]wecomsim.CheckinRecord, error)
	checkinDayData(q cQuery) ([]cDay, error)
	checkinMonthData(q cQuery) ([]cMonth, error)

	uploadMedia(mediaType, filename string, data []byte) (string, error)
	batchSyncUser(csv []byte) (string, error)
	batchResult(jobID string) (cJob, error)
	sendButtonCard(users []string, taskID string) (cSend, error)
	updateCardButtons(responseCode string, users []string, replaceName string) ([]string, error)
	recall(msgID string) error
	setWorkbenchTemplate(t wecomsim.WorkbenchTemplate) error
	getWorkbenchTemplate() (wecomsim.WorkbenchTemplate, error)
	setWorkbenchData(userid string, d wecomsim.WorkbenchData) error
	batchSetWorkbenchData(userids []string, d wecomsim.WorkbenchData) error
	getWorkbenchData(userid string) (wecomsim.WorkbenchData, error)
}

// driver builds a client for one simulator.
type driver struct {
	name string
	new  func(e *cenv) contractClient
}

var drivers = []driver{
	{"silenceper", newSilenceperClient},
	{"wecom", newWecomClient},
}

// contractCase is one behaviour checked through every driver. needs are
// API paths the case calls; it is skipped when the simulator lacks one.
// legacy runs it under Options.Legacy: the drivers read contacts with the
// contacts-sync secret, which today gets 48009 from user/get, user/list,
// user/simplelist, department/get and department/list; those cases pin how
// the clients decode the full answers a pre-2022 corp still gets.
type contractCase struct {
	name   string
	needs  []string
	legacy bool
	run    func(t *testing.T, e *cenv, c contractClient)
}

func TestContract(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			for _, tc := range contractCases {
				t.Run(tc.name, func(t *testing.T) {
					e := newCenv(t, tc.legacy)
					for _, p := range tc.needs {
						if !e.hasRoute(p) {
							t.Skipf("the simulator has no %s yet", p)
						}
					}
					tc.run(t, e, d.new(e))
				})
			}
		})
	}
}

// need fails the case on err, or skips it when the client lacks the API.
func need(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, errNA) {
		t.Skipf("client has no such API: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode checks a failed call's errcode (skipping clients without the API).
func wantCode(t *testing.T, c contractClient, err error, code int) {
	t.Helper()
	if errors.Is(err, errNA) {
		t.Skipf("client has no such API: %v", err)
	}
	if got := c.code(err); got != code {
		t.Fatalf("errcode %d, want %d (err %v)", got, code, err)
	}
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// snapshotUser is the member as the simulator holds it.
func snapshotUser(t *testing.T, e *cenv, id string) *wecomsim.User {
	t.Helper()
	for _, u := range e.sim.Snapshot().Users {
		if strings.EqualFold(u.UserID, id) {
			return &u
		}
	}
	return nil
}

func snapshotDept(e *cenv, id int) *wecomsim.Department {
	for _, d := range e.sim.Snapshot().Departments {
		if d.ID == int64(id) {
			return &d
		}
	}
	return nil
}

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

var ctx = context.Background()

func sept(day int) time.Time { return time.Date(2024, 9, day, 0, 0, 0, 0, wecomsim.CheckinZone) }

// page is an H5 page of the platform, as the browser's location.href.
const page = "https://h5.example.edu.cn/hall/index.html?from=workbench"

var contractCases = []contractCase{
	{name: "department/create+get", legacy: true, run: func(t *testing.T, e *cenv, c contractClient) {
		id, err := c.createDepartment(cDept{Name: "数学学院", NameEn: "School of Mathematics", ParentID: 1, Order: 500})
		need(t, err)
		if id != 9 {
			t.Errorf("auto id %d, want 9 (the fixture's highest is 8)", id)
		}
		got, err := c.getDepartment(id)
		need(t, err)
		diff(t, "department/get", cDept{ID: 9, ParentID: 1, Name: "数学学院", NameEn: "School of Mathematics", Order: 500}, got)
		id, err = c.createDepartment(cDept{ID: 42, Name: "物理学院", ParentID: 1})
		need(t, err)
		if id != 42 || snapshotDept(e, 42) == nil {
			t.Errorf("explicit id: got %d", id)
		}
		_, err = c.createDepartment(cDept{Name: "数学学院", ParentID: 1})
		wantCode(t, c, err, 60008)
		_, err = c.getDepartment(404)
		wantCode(t, c, err, 60003)
	}},
	{name: "department/update", run: func(t *testing.T, e *cenv, c contractClient) {
		need(t, c.renameDepartment(5, "外国语学院（新）"))
		need(t, c.moveDepartment(8, 3))
		if d := snapshotDept(e, 5); d.Name != "外国语学院（新）" || d.ParentID != 1 || d.Order != 80000 {
			t.Errorf("after rename: %+v (parent and order must stay)", d)
		}
		if d := snapshotDept(e, 8); d.ParentID != 3 || d.Name != "2023级软件工程1班" {
			t.Errorf("after move: %+v", d)
		}
		wantCode(t, c, c.moveDepartment(2, 3), 60010) // under its own child

		need(t, c.setDepartmentOrder(3, 0))
		if c.quirks().departmentUpdateDropsZero {
			// silenceper bug: order 0 is omitted, the update changes nothing.
			if d := snapshotDept(e, 3); d.Order != 200 {
				t.Errorf("order %d, want 200 (unchanged)", d.Order)
			}
			return
		}
		if d := snapshotDept(e, 3); d.Order != 0 {
			t.Errorf("order %d, want 0", d.Order)
		}
	}},
	{name: "department/list+simplelist", legacy: true, run: func(t *testing.T, e *cenv, c contractClient) {
		all, err := c.listDepartments(2)
		need(t, err)
		var ids []int
		for _, d := range all {
			ids = append(ids, d.ID)
		}
		diff(t, "list 2 (subtree, siblings by order)", []int{2, 3, 4, 8}, ids)
		if all[0].Name != "计算机学院" || all[0].NameEn != "School of Computing" || !slices.Equal(all[0].Leaders, []string{"lihua"}) {
			t.Errorf("department 2: %+v", all[0])
		}
		simple, err := c.simpleListDepartments(4)
		need(t, err)
		diff(t, "simplelist 4", []cDept{{ID: 4, ParentID: 2, Order: 100}, {ID: 8, ParentID: 4}}, simple)
		root, err := c.listDepartments(0)
		need(t, err)
		if len(root) != 8 {
			t.Errorf("list without id: %d departments, want 8", len(root))
		}
	}},
	{name: "department/delete", run: func(t *testing.T, e *cenv, c contractClient) {
		id, err := c.createDepartment(cDept{Name: "临时", ParentID: 7})
		need(t, err)
		need(t, c.deleteDepartment(id))
		if snapshotDept(e, id) != nil {
			t.Error("department still there")
		}
		wantCode(t, c, c.deleteDepartment(8), 60005) // has members
		parent, err := c.createDepartment(cDept{Name: "研究中心", ParentID: 7})
		need(t, err)
		_, err = c.createDepartment(cDept{Name: "实验室", ParentID: parent})
		need(t, err)
		wantCode(t, c, c.deleteDepartment(parent), 60006) // has a child
	}},
	{name: "user/create+get", legacy: true, run: func(t *testing.T, e *cenv, c contractClient) {
		u := cUser{UserID: "T2024001", Name: "新教师", Department: []int{3}, Position: "讲师", Mobile: "13700000001",
			Email: "t2024001@example.edu.cn", Gender: "2", Alias: "Lin"}
		need(t, c.createUser(u))
		got, err := c.getUser("t2024001")
		need(t, err)
		// WeCom answers userids as created; new members are not activated
		// yet (4) — unless enable=0 was sent: then they are disabled (2).
		want := cUser{UserID: "T2024001", Name: "新教师", Department: []int{3}, Position: "讲师", Mobile: "13700000001",
			Email: "t2024001@example.edu.cn", Gender: "2", Alias: "Lin", MainDepartment: 3, Status: 4}
		if c.quirks().userWritesEveryField {
			want.Status = 2
		}
		diff(t, "user/get", want, got)
		wantCode(t, c, c.createUser(u), 60102)
		_, err = c.getUser("nobody")
		wantCode(t, c, err, 60111)
	}},
	{name: "user/update", run: func(t *testing.T, e *cenv, c contractClient) {
		before := snapshotUser(t, e, "xujun")
		err := c.setPosition("xujun", "教授")
		if c.quirks().userWritesEveryField {
			// silenceper bug: a one-field update also sends name "" (and
			// every other field blank), which the API refuses.
			wantCode(t, c, err, 60112)
		} else {
			need(t, err)
			after := snapshotUser(t, e, "xujun")
			if after.Position != "教授" {
				t.Fatalf("position %q", after.Position)
			}
			after.Position = before.Position
			diff(t, "everything but the position unchanged", *before, *after)
		}

		need(t, c.updateNamePosition("xujun", "徐军", "教授（二级）"))
		after := snapshotUser(t, e, "xujun")
		if after.Position != "教授（二级）" || after.Name != "徐军" {
			t.Fatalf("after the update: %+v", after)
		}
		if c.quirks().userWritesEveryField {
			// silenceper bug: the update sent enable=0 and blank fields — the
			// member is now disabled and lost alias, mobile and address, as
			// they would on the real API.
			if after.Status != 2 || after.Alias != "" || after.Mobile != "" || after.Address != "" {
				t.Errorf("silenceper update: %+v", after)
			}
			return
		}
		after.Position = before.Position
		diff(t, "everything but the position unchanged", *before, *after)
	}},
	{name: "user/delete", run: func(t *testing.T, e *cenv, c contractClient) {
		need(t, c.deleteUser("wuming"))
		if snapshotUser(t, e, "wuming") != nil {
			t.Error("member still there")
		}
		wantCode(t, c, c.deleteUser("wuming"), 60111)
		wantCode(t, c, c.deleteUser("zhangwei"), 301005) // the corp creator
	}},
	{name: "user/list_id", run: func(t *testing.T, e *cenv, c contractClient) {
		got, err := c.listUserIDs()
		need(t, err)
		var want []cDeptUser
		for _, u := range e.sim.Snapshot().Users {
			for _, d := range u.Department {
				want = append(want, cDeptUser{UserID: u.UserID, Dept: int(d)})
			}
		}
		sortDeptUsers(want)
		sortDeptUsers(got)
		diff(t, "list_id", want, got)
	}},
	{name: "user/simplelist", legacy: true, run: func(t *testing.T, e *cenv, c contractClient) {
		got, err := c.userSimpleList(3)
		need(t, err)
		diff(t, "simplelist 3", []cUser{
			{UserID: "chenjing", Name: "陈静", Department: []int{3}},
			{UserID: "zhouqiang", Name: "周强", Department: []int{3}},
			{UserID: "xujun", Name: "徐军", Department: []int{3, 5}},
		}, got)
	}},
	{name: "user/convert_to_openid", run: func(t *testing.T, e *cenv, c contractClient) {
		id, err := c.convertToOpenID("s2023005")
		need(t, err)
		if id != "oSimWeChatPlugin2023005" {
			t.Errorf("openid %q", id)
		}
		_, err = c.convertToOpenID("chenjing")
		wantCode(t, c, err, 43004)
	}},
	{name: "tag/create+get+list+update+delete", run: func(t *testing.T, e *cenv, c contractClient) {
		id, err := c.createTag("心理健康联络员", 0)
		need(t, err)
		if id != 3 {
			t.Errorf("auto tagid %d, want 3", id)
		}
		need(t, c.updateTag(id, "心理委员"))
		tags, err := c.listTags()
		need(t, err)
		diff(t, "tag/list", []cTag{{1, "辅导员"}, {2, "全体教师"}, {3, "心理委员"}}, tags)
		got, err := c.getTag(2)
		need(t, err)
		diff(t, "tag/get 2", cTagMembers{Name: "全体教师", Users: []string{"zhangwei"}, Parties: []int{2, 5}}, got)
		need(t, c.deleteTag(id))
		_, err = c.getTag(id)
		wantCode(t, c, err, 40068)
		_, err = c.createTag("辅导员", 0)
		wantCode(t, c, err, 40071)
	}},
	{name: "tag/addtagusers+deltagusers", run: func(t *testing.T, e *cenv, c contractClient) {
		res, err := c.addTagUsers(1, []string{"liuyang", "nobody"}, []int{8, 99})
		need(t, err)
		diff(t, "addtagusers partial", cTagChange{InvalidUsers: []string{"nobody"}, InvalidParties: []int{99}}, res)
		got, err := c.getTag(1)
		need(t, err)
		diff(t, "tag 1", cTagMembers{Name: "辅导员", Users: []string{"wangfang", "liuyang"}, Parties: []int{8}}, got)
		res, err = c.delTagUsers(1, []string{"wangfang"}, []int{8})
		need(t, err)
		diff(t, "deltagusers", cTagChange{}, res)
		snap := e.sim.Snapshot().Tags[0]
		if !slices.Equal(snap.UserList, []string{"liuyang"}) || len(snap.PartyList) != 0 {
			t.Errorf("tag 1 in the simulator: %+v", snap)
		}
		_, err = c.addTagUsers(1, []string{"nobody"}, nil)
		wantCode(t, c, err, 40070)
	}},
	{name: "message/send text", needs: []string{"/cgi-bin/message/send"}, run: func(t *testing.T, e *cenv, c contractClient) {
		res, err := c.sendText([]string{"lihua", "NoBody"}, "明天上午 9:00 召开院务会")
		need(t, err)
		if res.MsgID == "" || !slices.Equal(res.InvalidUsers, []string{"nobody"}) {
			t.Errorf("send result %+v (invalid userids come back lowercased)", res)
		}
		inbox := e.sim.Inbox("lihua")
		if len(inbox) != 1 || inbox[0].MsgID != res.MsgID || inbox[0].MsgType != "text" || !strings.Contains(string(inbox[0].Body), "院务会") {
			t.Errorf("lihua's inbox %+v", inbox)
		}
		_, err = c.sendText([]string{"nobody"}, "x")
		wantCode(t, c, err, 81013)
	}},
	{name: "oauth getuserinfo+getuserdetail", needs: []string{"/cgi-bin/auth/getuserinfo", "/cgi-bin/auth/getuserdetail"}, run: func(t *testing.T, e *cenv, c contractClient) {
		code, err := e.sim.IssueOAuthCode(wecomsim.OAuthLogin{UserID: "wangfang", AgentID: hallAgentID, Scope: "snsapi_privateinfo"})
		need(t, err)
		id, err := c.getUserInfo(code)
		need(t, err)
		if id.UserID != "wangfang" || id.UserTicket == "" || id.OpenID != "" {
			t.Fatalf("identity %+v", id)
		}
		_, err = c.getUserInfo(code)
		wantCode(t, c, err, 40029) // single use
		d, err := c.getUserDetail(id.UserTicket)
		need(t, err)
		diff(t, "getuserdetail", cDetail{UserID: "wangfang", Gender: "2", Mobile: "13800000003", Email: "wangfang@example.edu.cn"}, d)
		code, err = e.sim.IssueOAuthCode(wecomsim.OAuthLogin{OpenID: "oVisitor0001"})
		need(t, err)
		id, err = c.getUserInfo(code)
		need(t, err)
		diff(t, "a visitor", cIdentity{OpenID: "oVisitor0001"}, id)
	}},
	{name: "jsapi wx.config+wx.agentConfig", run: func(t *testing.T, e *cenv, c contractClient) {
		cfg, err := c.configSignature(page)
		need(t, err)
		if err := e.sim.VerifyJSSignature(wecomsim.JSConfig{CorpID: e.corpID, Timestamp: cfg.Timestamp, NonceStr: cfg.NonceStr, Signature: cfg.Signature, URL: page}); err != nil {
			t.Errorf("wx.config: %v", err)
		}
		agent, err := c.agentConfigSignature(page)
		need(t, err)
		ac := wecomsim.JSConfig{AgentConfig: true, CorpID: e.corpID, AgentID: hallAgentID, Timestamp: agent.Timestamp, NonceStr: agent.NonceStr, Signature: agent.Signature, URL: page}
		if err := e.sim.VerifyJSSignature(ac); err != nil {
			t.Errorf("wx.agentConfig: %v", err)
		}
		// The corp signature is no agentConfig signature.
		ac.Signature, ac.NonceStr, ac.Timestamp = cfg.Signature, cfg.NonceStr, cfg.Timestamp
		if code := wecomsimCode(e.sim.VerifyJSSignature(ac)); code != 42012 {
			t.Errorf("agentConfig with the corp ticket: errcode %d, want 42012", code)
		}
		// Tickets were fetched once each, whatever the number of pages.
		for i := 0; i < 3; i++ {
			_, err = c.configSignature(page + fmt.Sprint("&n=", i))
			need(t, err)
		}
		if n := len(e.sim.Calls("/cgi-bin/get_jsapi_ticket")); n != 1 {
			t.Errorf("%d get_jsapi_ticket calls, want 1 (tickets must be cached)", n)
		}
	}},
	{name: "jsapi page with a #fragment", run: func(t *testing.T, e *cenv, c contractClient) {
		const spa = page + "#/apply/leave"
		cfg, err := c.configSignature(spa)
		need(t, err)
		err = e.sim.VerifyJSSignature(wecomsim.JSConfig{CorpID: e.corpID, Timestamp: cfg.Timestamp, NonceStr: cfg.NonceStr, Signature: cfg.Signature, URL: spa})
		if c.quirks().signsFragment {
			// silenceper bug: it signed "…#/apply/leave"; the client checks
			// the URL without the fragment.
			if code := wecomsimCode(err); code != 40093 {
				t.Errorf("errcode %d, want 40093", code)
			}
			return
		}
		if err != nil {
			t.Error(err)
		}
	}},
	{name: "checkin/getcheckindata", run: func(t *testing.T, e *cenv, c contractClient) {
		day := sept(10)
		need(t, e.sim.AddCheckin(
			wecomsim.CheckinRecord{UserID: "lihua", CheckinType: wecomsim.CheckinTypeOnDuty, CheckinTime: day.Add(9*time.Hour + 2*time.Minute).Unix()},
			wecomsim.CheckinRecord{UserID: "lihua", CheckinType: wecomsim.CheckinTypeOffDuty, CheckinTime: day.Add(19 * time.Hour).Unix()},
		))
		users := []string{"lihua", "s2023005", "chenjing"}
		got, err := c.checkinData(cQuery{Kind: wecomsim.CheckinAll, Start: sept(1), End: contractNow, Users: users})
		need(t, err)
		var want []wecomsim.CheckinRecord
		for _, u := range users {
			want = append(want, e.sim.Checkins(u, sept(1), contractNow)...)
		}
		diff(t, "checkindata", want, got)
		if len(got) < 3*21*2 {
			t.Errorf("%d records for 3 members over September", len(got))
		}
		duty, err := c.checkinData(cQuery{Kind: wecomsim.CheckinOnOffDuty, Start: day, End: day.Add(24*time.Hour - time.Second), Users: []string{"lihua"}})
		need(t, err)
		if len(duty) != 2 || duty[0].ExceptionType != wecomsim.CheckinExceptionTime || duty[1].ExceptionType != "" {
			t.Errorf("lihua's day: %+v", duty)
		}
		_, err = c.checkinData(cQuery{Kind: wecomsim.CheckinAll, Start: sept(1), End: sept(1).Add(31 * 24 * time.Hour), Users: users})
		if !errors.Is(err, errLocal) {
			wantCode(t, c, err, 301024)
		}
	}},
	{name: "checkin/getcheckin_daydata", run: func(t *testing.T, e *cenv, c contractClient) {
		day := sept(10)
		need(t, e.sim.AddCheckin(
			wecomsim.CheckinRecord{UserID: "lihua", CheckinType: wecomsim.CheckinTypeOnDuty, CheckinTime: day.Add(9*time.Hour + 2*time.Minute).Unix()},
			wecomsim.CheckinRecord{UserID: "lihua", CheckinType: wecomsim.CheckinTypeOffDuty, CheckinTime: day.Add(19 * time.Hour).Unix()},
		))
		got, err := c.checkinDayData(cQuery{Start: day, End: day.AddDate(0, 0, 5), Users: []string{"lihua"}})
		need(t, err)
		if len(got) != 6 {
			t.Fatalf("%d rows for 6 days", len(got))
		}
		// 09:02–19:00: 32 min late; worked 09:02–17:30 minus the 1 h rest
		// (26,880 s); overtime from 18:00 (3,600 s).
		diff(t, "lihua on the 10th", cDay{UserID: "lihua", Name: "李华", DepartsName: "示例大学/计算机学院", Date: day.Unix(),
			CheckinCount: 2, Earliest: 9*3600 + 120, Latest: 19 * 3600, RegularSec: 26880,
			StandardSec: 28800, Exceptions: map[int]int64{1: 32 * 60}, OTStatus: 1, OTDuration: 3600}, got[0])
		if got[4].DayType != 1 || got[5].DayType != 1 || got[4].StandardSec != 0 {
			t.Errorf("14th/15th are a weekend: %+v %+v", got[4], got[5])
		}
	}},
	{name: "checkin/getcheckin_monthdata", run: func(t *testing.T, e *cenv, c contractClient) {
		users := []string{"zhangwei", "s2023005"}
		got, err := c.checkinMonthData(cQuery{Start: sept(1), End: sept(30), Users: users})
		need(t, err)
		days, err := c.checkinDayData(cQuery{Start: sept(1), End: sept(30), Users: users})
		need(t, err)
		want := map[string]*cMonth{}
		for _, d := range days {
			m := want[d.UserID]
			if m == nil {
				m = &cMonth{UserID: d.UserID, Exceptions: map[int]int64{}}
				want[d.UserID] = m
			}
			if d.DayType == 1 {
				continue
			}
			m.WorkDays++
			if len(d.Exceptions) == 0 {
				m.RegularDays++
			} else {
				m.ExceptDays++
			}
			m.RegularSec += d.RegularSec
			m.StandardSec += d.StandardSec
			m.WorkdayOverSec += d.OTDuration
			for k, v := range d.Exceptions {
				m.Exceptions[k] += v
			}
		}
		if len(got) != 2 {
			t.Fatalf("%d month rows", len(got))
		}
		for _, m := range got {
			diff(t, m.UserID+"'s month = the sum of the days", *want[m.UserID], m)
			if m.WorkDays != 21 || m.StandardSec != 21*wecomsim.CheckinStandardWorkSec {
				t.Errorf("%s: %d workdays", m.UserID, m.WorkDays)
			}
		}
	}},
	{name: "media/upload", run: func(t *testing.T, e *cenv, c contractClient) {
		data := []byte("%PDF-1.4 课程表")
		id, err := c.uploadMedia("file", "课程表.pdf", data)
		need(t, err)
		if got, ok := e.sim.MediaData(id); !ok || string(got) != string(data) {
			t.Errorf("media %s: %q, %v", id, got, ok)
		}
	}},
	{name: "batch/syncuser+getresult", run: func(t *testing.T, e *cenv, c contractClient) {
		csv := "姓名,帐号,手机号,邮箱,所在部门,职务\n" +
			"新同学,s2024001,13900001001,,8,学生\n" +
			"李华,lihua,13800000002,lihua@example.edu.cn,2,院长兼书记\n"
		job, err := c.batchSyncUser([]byte(csv))
		need(t, err)
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		need(t, e.sim.WaitJobs(wctx))
		res, err := c.batchResult(job)
		need(t, err)
		diff(t, "job result", cJob{Status: 3, Rows: map[string]int{"s2024001": 0, "lihua": 0}}, res)
		if u := snapshotUser(t, e, "lihua"); u.Position != "院长兼书记" {
			t.Errorf("lihua after the import: %+v", u)
		}
	}},
	{name: "template card send+update+recall", needs: []string{"/cgi-bin/message/send", "/cgi-bin/message/update_template_card", "/cgi-bin/message/recall"}, run: func(t *testing.T, e *cenv, c contractClient) {
		res, err := c.sendButtonCard([]string{"lihua", "wangfang"}, "leave_20240930_001")
		need(t, err)
		if res.MsgID == "" || res.ResponseCode == "" {
			t.Fatalf("send %+v", res)
		}
		invalid, err := c.updateCardButtons(res.ResponseCode, []string{"lihua"}, "已同意")
		need(t, err)
		if len(invalid) != 0 {
			t.Errorf("invalid %v", invalid)
		}
		item, ok := e.sim.InboxItemByMsgID("lihua", res.MsgID)
		if !ok || item.CardState == nil || item.CardState.ReplaceName != "已同意" {
			t.Errorf("lihua's card %+v", item)
		}
		if other, _ := e.sim.InboxItemByMsgID("wangfang", res.MsgID); other.CardState != nil && other.CardState.ReplaceName != "" {
			t.Errorf("wangfang's card changed too: %+v", other.CardState)
		}
		_, err = c.updateCardButtons(res.ResponseCode, []string{"lihua"}, "again")
		wantCode(t, c, err, 60140) // single use
		need(t, c.recall(res.MsgID))
		if item, _ := e.sim.InboxItemByMsgID("wangfang", res.MsgID); !item.Recalled {
			t.Errorf("not recalled: %+v", item)
		}
	}},
	{name: "workbench template+data+batch", run: func(t *testing.T, e *cenv, c contractClient) {
		tmpl := wecomsim.WorkbenchTemplate{WorkbenchData: wecomsim.WorkbenchData{Type: wecomsim.WorkbenchKeyData,
			KeyData: &wecomsim.WorkbenchKeyDataBody{Items: []wecomsim.WorkbenchKeyDataItem{
				{Key: "待办", Data: "0", JumpURL: "https://h5.example.edu.cn/todo"},
				{Key: "通知", Data: "0", JumpURL: "https://h5.example.edu.cn/notice"},
			}}}}
		need(t, c.setWorkbenchTemplate(tmpl))
		got, err := c.getWorkbenchTemplate()
		need(t, err)
		diff(t, "template", tmpl, got)
		mine := wecomsim.WorkbenchData{Type: wecomsim.WorkbenchKeyData, KeyData: &wecomsim.WorkbenchKeyDataBody{Items: []wecomsim.WorkbenchKeyDataItem{
			{Key: "待办", Data: "3", JumpURL: "https://h5.example.edu.cn/todo"}, {Key: "通知", Data: "1", JumpURL: "https://h5.example.edu.cn/notice"},
		}}}
		need(t, c.setWorkbenchData("lihua", mine))
		d, err := c.getWorkbenchData("lihua")
		need(t, err)
		diff(t, "lihua's data", mine, d)
		need(t, c.batchSetWorkbenchData([]string{"wangfang", "chenjing"}, mine))
		tile, err := e.sim.WorkbenchTile(hallAgentID, "chenjing")
		need(t, err)
		if tile.Source != "user" || tile.Data.KeyData.Items[0].Data != "3" {
			t.Errorf("chenjing's tile %+v", tile)
		}
		d, err = c.getWorkbenchData("zhaolei")
		need(t, err)
		diff(t, "zhaolei sees the template", tmpl.WorkbenchData, d)
		err = c.setWorkbenchData("lihua", wecomsim.WorkbenchData{Type: wecomsim.WorkbenchKeyData, KeyData: &wecomsim.WorkbenchKeyDataBody{
			Items: make([]wecomsim.WorkbenchKeyDataItem, 5)}})
		if !errors.Is(err, errLocal) {
			wantCode(t, c, err, 40058)
		}
	}},
}

// errLocal marks a request a client refuses to send (its own checks found
// it invalid): the case then has nothing to assert about the server.
var errLocal = errors.New("refused by the client before sending")

func sortDeptUsers(v []cDeptUser) {
	sort.Slice(v, func(i, j int) bool {
		if v[i].UserID != v[j].UserID {
			return v[i].UserID < v[j].UserID
		}
		return v[i].Dept < v[j].Dept
	})
}

// wecomsimCode is the errcode of a simulator error (VerifyJSSignature).
func wecomsimCode(err error) int {
	var e *wecomsim.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return -2
	}
	return 0
}
