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
// the same style. Clients must judge by errcode only (wecom-api.md §0).
var errTexts = map[int]string{
	-1:     "system busy",
	40001:  "invalid credential", // live
	40003:  "invalid userid",
	40004:  "invalid media type",
	40005:  "invalid media type param",
	40006:  "invalid file size",
	40007:  "invalid media_id",
	40013:  "invalid corpid",       // live
	40014:  "invalid access_token", // live
	40031:  "invalid userid list",
	40032:  "invalid userid list size",
	40035:  "invalid args",
	40058:  "invalid Request Parameter",
	40063:  "some parameters are empty or the http method is wrong",
	40066:  "invalid department list",
	40068:  "invalid tagid",
	40070:  "all list invalid", // live
	40071:  "tagname existed",
	40072:  "invalid tagname size",
	40088:  "invalid jobid",
	40089:  "batch job result expired",
	40092:  "invalid import file content",
	40126:  "tag count out of limit",
	41001:  "access_token missing", // live
	41004:  "corpsecret missing",   // live
	41006:  "media_id missing",
	41019:  "department missing",
	42001:  "access_token expired", // live
	43004:  "user not bound to wechat or wechat plugin",
	44001:  "empty media data",
	45001:  "media size out of limit",
	45009:  "api freq out of limit", // live
	45024:  "account count out of limit",
	45026:  "trigger delete user protection",
	45033:  "api concurrent out of limit",
	46004:  "user no exist",
	48002:  "api forbidden",
	48009:  "api forbidden for new ip of contact sync",
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
	60257:  "direct_leader count out of limit",
	81001:  "department count out of limit",
	81002:  "department level out of limit",
	81003:  "tag node count out of limit",
	81014:  "too many users or parties in one tag call",
	301005: "not allow to delete creator",
	301036: "userid not allow to change",
	302008: "batch job is running",
}

func errText(code int) string {
	if t, ok := errTexts[code]; ok {
		return t
	}
	return "error " + strconv.Itoa(code)
}

// errmsg renders the live error shape (wecom-api.md §0):
// "<text>, hint: [<id>], from ip: <ip>, more info at https://open.work.weixin.qq.com/devtool/query?e=<code>".
func errmsg(code int, hint, ip string) string {
	return fmt.Sprintf("%s, hint: [%s], from ip: %s, more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
		errText(code), hint, ip, code)
}
