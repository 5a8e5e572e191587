package wecomsim

import (
	"fmt"
	"strconv"
)

// Error is a WeCom API error as the simulator answers it: an errcode and,
// for the call log only, a detail saying which rule fired. The admin Go
// methods (AdminCreateUser, …) return it too.
type Error struct {
	Code   int    // WeCom errcode
	Detail string // which rule fired (simulator only)

	badJSON bool // errmsg gets WeCom's "Warning: wrong json format." suffix
}

// Error renders the errcode, its text and the detail.
func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("wecomsim: errcode %d (%s)", e.Code, errText(e.Code))
	}
	return fmt.Sprintf("wecomsim: errcode %d (%s): %s", e.Code, errText(e.Code), e.Detail)
}

// errf builds an *Error; the detail goes to the call log, never to the
// response (WeCom's errmsg carries only the fixed text).
func errf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// errTexts are the first part of errmsg. Texts the reference quotes from the
// live server are marked "live"; the others are paraphrases of doc 90313 in
// the same style. Clients must judge by errcode only (docs/wecom.md §0).
var errTexts = map[int]string{
	-1:     "system busy",
	40001:  "invalid credential", // live
	40003:  "invalid userid",
	40004:  "invalid media type",
	40005:  "invalid media type param",
	40006:  "invalid file size",
	40007:  "invalid media_id",
	40008:  "invalid message type",
	40013:  "invalid corpid",       // live
	40014:  "invalid access_token", // live
	40029:  "invalid code",         // live
	40031:  "invalid userid list",
	40032:  "invalid userid list size",
	40035:  "invalid args",
	40056:  "invalid agentid",
	40058:  "invalid Request Parameter",
	40063:  "some parameters are empty or the http method is wrong",
	40066:  "invalid department list",
	40068:  "invalid tagid",
	40070:  "all list invalid", // live
	40071:  "tagname existed",
	40072:  "invalid tagname size",
	40074:  "news message not support safe",
	40088:  "invalid jobid",
	40089:  "batch job result expired",
	40092:  "invalid import file content",
	40126:  "tag count out of limit",
	41001:  "access_token missing", // live
	41004:  "corpsecret missing",   // live
	41006:  "media_id missing",
	41008:  "missing code",
	41010:  "missing url",
	41011:  "missing agentid",
	41016:  "missing title",
	41019:  "department missing",
	41033:  "missing description",
	42001:  "access_token expired", // live
	42014:  "invalid task_id",
	42015:  "update message agent not match",
	42027:  "template_card horizontal_content_list keyname missing",
	42028:  "template_card url missing",
	42029:  "template_card media_id missing",
	42030:  "template_card appid missing",
	42031:  "invalid template_card card_type",
	42033:  "template_card title missing",
	42035:  "invalid template_card horizontal_content_list size",
	42036:  "invalid template_card vertical_content_list size",
	42037:  "invalid template_card option_list size",
	42038:  "template_card button_list text missing or invalid",
	42039:  "template_card button_list key missing or invalid",
	42040:  "template_card option_list id missing or invalid",
	42041:  "template_card option_list text missing or invalid",
	42042:  "invalid template_card jump_list size",
	42043:  "template_card question_key missing or invalid",
	42044:  "template_card card_image url missing or invalid",
	42045:  "template_card card_action missing or invalid",
	42046:  "template_card submit_button key missing or invalid",
	42047:  "invalid template_card select_list size",
	42049:  "template_card submit_button text missing or invalid",
	42050:  "template_card horizontal_content_list userid missing or invalid",
	42051:  "template_card action_menu key conflict",
	42052:  "msgid expired",
	43004:  "user not bound to wechat or wechat plugin",
	44001:  "empty media data",
	44004:  "empty text content",
	45001:  "media size out of limit",
	45002:  "message content size out of limit",
	45008:  "news article count out of limit",
	45009:  "api freq out of limit", // live
	45024:  "account count out of limit",
	45026:  "trigger delete user protection",
	45032:  "news author size out of limit",
	45033:  "api concurrent out of limit",
	45034:  "url must have scheme",
	46004:  "user no exist",
	48002:  "api forbidden",
	48009:  "api forbidden for new ip of contact sync",
	50001:  "redirect_url not trusted domain",
	50002:  "user out of agent visible range",
	50100:  "invalid cursor",
	60001:  "invalid department name length",
	60003:  "department not found",
	60004:  "parent department not found",
	60005:  "department contains user",
	60006:  "department contains sub-department",
	60007:  "not allow to delete root department",
	60008:  "department existed",
	60009:  "department name contains illegal characters",
	60010:  "department parent loop",
	60011:  "no privilege to access/modify contact/party/agent", // live
	60102:  "userid existed",                                    // live
	60103:  "mobile invalid",
	60104:  "mobile existed",
	60105:  "email invalid",
	60106:  "email existed",
	60110:  "user department count out of limit",
	60111:  "userid not found", // live
	60112:  "invalid name",
	60123:  "invalid department id",
	60129:  "mobile and email can not be both empty",
	60132:  "is_leader_in_dept size not equal to department size",
	60140:  "invalid response_code",
	60257:  "direct_leader count out of limit",
	81001:  "department count out of limit",
	81002:  "department level out of limit",
	81003:  "tag node count out of limit",
	81013:  "user & party & tag all invalid", // live
	81014:  "too many users or parties in one tag call",
	82001:  "all recipients empty",
	82002:  "invalid party list size",
	82003:  "invalid tag list size",
	84014:  "user_ticket expired",
	84015:  "invalid user_ticket",
	84025:  "invalid state",
	301002: "agentid not match access_token",
	301005: "not allow to delete creator",
	301036: "userid not allow to change",
	302008: "batch job is running",
	40093:  "invalid jsapi signature",
	42012:  "jsapi_ticket unusable",
	60021:  "userid not in app visible range",
	301022: "get checkin data failed",
	301023: "invalid useridlist size",
	301024: "invalid checkin time range",
}

func errText(code int) string {
	if t, ok := errTexts[code]; ok {
		return t
	}
	return "error " + strconv.Itoa(code)
}

// errmsg renders the live error shape (docs/wecom.md §0):
// "<text>, hint: [<id>], from ip: <ip>, more info at https://open.work.weixin.qq.com/devtool/query?e=<code>".
func errmsg(code int, hint, ip string) string {
	return fmt.Sprintf("%s, hint: [%s], from ip: %s, more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
		errText(code), hint, ip, code)
}
