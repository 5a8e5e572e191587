package wecomsim

import "net/http"

// access says which credentials may call an endpoint. The pipeline answers
// 48002 (api forbidden) to the others.
type access int

const (
	// accessNone: no access_token (gettoken).
	accessNone access = iota
	// accessAny: any valid token (contacts-sync or app).
	accessAny
	// accessContacts: the contacts-sync token only — contacts writes,
	// batch/*, user/list_id (doc: "仅通讯录同步助手或第三方通讯录应用可调用").
	accessContacts
	// accessApp: app tokens only — the contacts-sync token "仅用于同步通讯录，
	// 不能用于发消息" (90313 48002 help). message/send and friends use it.
	accessApp
)

// endpoint is one row of the route table.
type endpoint struct {
	Path   string
	Method string // http.MethodGet or http.MethodPost; GET on a POST API → 40063
	Access access
	// SyncIPBlocked: the contacts-sync token gets 48009 (new IPs of 通讯录同步
	// may not read details since 2022-08-15: user/get, user/list,
	// user/simplelist, department/list, department/get; the ids stay
	// readable through user/list_id and department/simplelist), unless
	// Options.Legacy.
	SyncIPBlocked bool
	// OK is errmsg on success: "ok" (default), "created", "updated", "deleted".
	OK string
	// Empty holds the default fields error responses still carry (§0).
	Empty obj
	// Handle runs with Sim.mu held; it returns the success body (errcode is
	// added, and errmsg unless the body sets it) or an *Error.
	Handle func(c *call) (obj, error)
	// Raw, instead of Handle, answers with a non-JSON body on success (e.g.
	// media/get); errors are still JSON.
	Raw func(c *call) (*rawBody, error)
}

const (
	get  = http.MethodGet
	post = http.MethodPost
)

// apiRoutes is the route table: every WeCom API the simulator answers.
// A later phase adds its rows here (and its handlers in files per area).
func (s *Sim) apiRoutes() []*endpoint {
	return []*endpoint{
		// §1 access token (token.go)
		{Path: "/cgi-bin/gettoken", Method: get, Access: accessNone, Handle: s.handleGetToken},

		// §5.2 departments (contacts_department.go)
		{Path: "/cgi-bin/department/create", Method: post, Access: accessContacts, OK: "created", Handle: s.handleDepartmentCreate},
		{Path: "/cgi-bin/department/update", Method: post, Access: accessContacts, OK: "updated", Handle: s.handleDepartmentUpdate},
		{Path: "/cgi-bin/department/delete", Method: get, Access: accessContacts, OK: "deleted", Handle: s.handleDepartmentDelete},
		{Path: "/cgi-bin/department/list", Method: get, Access: accessAny, SyncIPBlocked: true, Handle: s.handleDepartmentList},
		{Path: "/cgi-bin/department/simplelist", Method: get, Access: accessAny, Handle: s.handleDepartmentSimpleList,
			Empty: obj{"department_id": []any{}}},
		{Path: "/cgi-bin/department/get", Method: get, Access: accessAny, SyncIPBlocked: true, Handle: s.handleDepartmentGet},

		// §5.3 members (contacts_user.go)
		{Path: "/cgi-bin/user/create", Method: post, Access: accessContacts, OK: "created", Handle: s.handleUserCreate},
		{Path: "/cgi-bin/user/update", Method: post, Access: accessContacts, OK: "updated", Handle: s.handleUserUpdate},
		{Path: "/cgi-bin/user/delete", Method: get, Access: accessContacts, OK: "deleted", Handle: s.handleUserDelete},
		{Path: "/cgi-bin/user/batchdelete", Method: post, Access: accessContacts, OK: "deleted", Handle: s.handleUserBatchDelete},
		{Path: "/cgi-bin/user/get", Method: get, Access: accessAny, SyncIPBlocked: true, Handle: s.handleUserGet,
			Empty: obj{"department": []any{}, "order": []any{}, "is_leader_in_dept": []any{}, "direct_leader": []any{}}},
		{Path: "/cgi-bin/user/list_id", Method: post, Access: accessContacts, Handle: s.handleUserListID,
			Empty: obj{"dept_user": []any{}}},
		{Path: "/cgi-bin/user/simplelist", Method: get, Access: accessAny, SyncIPBlocked: true, Handle: s.handleUserSimpleList},
		{Path: "/cgi-bin/user/list", Method: get, Access: accessAny, SyncIPBlocked: true, Handle: s.handleUserList},
		{Path: "/cgi-bin/user/convert_to_openid", Method: post, Access: accessAny, Handle: s.handleConvertToOpenID},
		{Path: "/cgi-bin/user/getuserid", Method: post, Access: accessAny, Handle: s.handleGetUserID},

		// §5.4 tags (contacts_tag.go)
		{Path: "/cgi-bin/tag/create", Method: post, Access: accessAny, OK: "created", Handle: s.handleTagCreate},
		{Path: "/cgi-bin/tag/update", Method: post, Access: accessAny, OK: "updated", Handle: s.handleTagUpdate},
		{Path: "/cgi-bin/tag/delete", Method: get, Access: accessAny, OK: "deleted", Handle: s.handleTagDelete},
		{Path: "/cgi-bin/tag/get", Method: get, Access: accessAny, Handle: s.handleTagGet},
		{Path: "/cgi-bin/tag/list", Method: get, Access: accessAny, Handle: s.handleTagList},
		{Path: "/cgi-bin/tag/addtagusers", Method: post, Access: accessAny, Handle: s.handleTagAddUsers},
		{Path: "/cgi-bin/tag/deltagusers", Method: post, Access: accessAny, OK: "deleted", Handle: s.handleTagDelUsers},

		// §5.5 media and async batch (media.go, batch.go)
		{Path: "/cgi-bin/media/upload", Method: post, Access: accessAny, Handle: s.handleMediaUpload},
		{Path: "/cgi-bin/media/get", Method: get, Access: accessAny, Raw: s.handleMediaGet},
		{Path: "/cgi-bin/batch/syncuser", Method: post, Access: accessContacts, Handle: s.handleBatchSyncUser},
		{Path: "/cgi-bin/batch/replaceuser", Method: post, Access: accessContacts, Handle: s.handleBatchReplaceUser},
		{Path: "/cgi-bin/batch/replaceparty", Method: post, Access: accessContacts, Handle: s.handleBatchReplaceParty},
		{Path: "/cgi-bin/batch/getresult", Method: get, Access: accessContacts, Handle: s.handleBatchGetResult},

		// §6 application messages and template cards (message.go, card.go)
		{Path: "/cgi-bin/message/send", Method: post, Access: accessApp, Handle: s.handleMessageSend},
		{Path: "/cgi-bin/message/update_template_card", Method: post, Access: accessApp, Handle: s.handleUpdateTemplateCard},
		{Path: "/cgi-bin/message/recall", Method: post, Access: accessApp, Handle: s.handleMessageRecall},
		{Path: "/cgi-bin/message/get_statistics", Method: post, Access: accessApp, Handle: s.handleMessageStatistics},

		// §4.1 OAuth (oauth.go; the authorize page is in pageRoutes)
		{Path: "/cgi-bin/auth/getuserinfo", Method: get, Access: accessApp, Handle: s.handleGetUserInfo},
		{Path: "/cgi-bin/auth/getuserdetail", Method: post, Access: accessApp, Handle: s.handleGetUserDetail},

		// §4.3 JS-SDK tickets (jsapi.go)
		{Path: "/cgi-bin/get_jsapi_ticket", Method: get, Access: accessApp, Handle: s.handleGetJSAPITicket},
		{Path: "/cgi-bin/ticket/get", Method: get, Access: accessApp, Handle: s.handleGetAgentTicket},

		// §7 workbench custom display (workbench.go)
		{Path: "/cgi-bin/agent/set_workbench_template", Method: post, Access: accessApp, Handle: s.handleSetWorkbenchTemplate},
		{Path: "/cgi-bin/agent/get_workbench_template", Method: post, Access: accessApp, Handle: s.handleGetWorkbenchTemplate},
		{Path: "/cgi-bin/agent/set_workbench_data", Method: post, Access: accessApp, Handle: s.handleSetWorkbenchData},
		{Path: "/cgi-bin/agent/batch_set_workbench_data", Method: post, Access: accessApp, Handle: s.handleBatchSetWorkbenchData},
		{Path: "/cgi-bin/agent/get_workbench_data", Method: post, Access: accessApp, Handle: s.handleGetWorkbenchData},

		// §13 app group chats (appchat.go)
		{Path: "/cgi-bin/appchat/create", Method: post, Access: accessApp, Handle: s.handleAppChatCreate},
		{Path: "/cgi-bin/appchat/update", Method: post, Access: accessApp, Handle: s.handleAppChatUpdate},
		{Path: "/cgi-bin/appchat/get", Method: get, Access: accessApp, Handle: s.handleAppChatGet},
		{Path: "/cgi-bin/appchat/send", Method: post, Access: accessApp, Handle: s.handleAppChatSend},

		// §9 checkin (checkin.go); callers also need App.NoCheckinAPI unset
		{Path: "/cgi-bin/checkin/getcheckindata", Method: post, Access: accessApp, Handle: s.handleGetCheckinData},
		{Path: "/cgi-bin/checkin/getcheckin_daydata", Method: post, Access: accessApp, Handle: s.handleGetCheckinDayData},
		{Path: "/cgi-bin/checkin/getcheckin_monthdata", Method: post, Access: accessApp, Handle: s.handleGetCheckinMonthData},
		{Path: "/cgi-bin/checkin/getcheckinoption", Method: post, Access: accessApp, Handle: s.handleGetCheckinOption},
	}
}

// pageRoutes registers the simulator's non-API pages on mux: in phase 1
// only the media links it puts in avatars; later phases add OAuth and login
// pages, JS-SDK helpers, the member "phone" view. Links they generate must
// start with Sim.BaseURL (the simulator may be mounted under a prefix).
func (s *Sim) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /sim/media/{id}", s.serveMediaLink)
	s.phoneRoutes(mux)    // OAuth authorize page and the member phone view (phone.go)
	s.webLoginRoutes(mux) // PC web login (weblogin.go)
}
