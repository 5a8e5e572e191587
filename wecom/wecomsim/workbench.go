package wecomsim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Workbench custom display (工作台自定义展示, docs/wecom.md §7, doc 92535):
// an app's template (display type plus corp-wide default data) and each
// member's own data, kept in state (Reset clears them) and exposed to the
// phone page and to tests through WorkbenchTile and GET /sim/api/workbench.
//
// agentid is checked as for message/send (agentOf, message.go): 41011
// missing, 40056 unknown, 301002 another app's; only app tokens may call
// (48002).
//
// Choices where the reference is silent (all unconfirmed):
//   - validation failures (unknown type, a body missing where it is
//     required, keydata > 4 items, list > 3 items or a title > 128 bytes, a
//     bad webview height, an image/webview without url) are 40058, the
//     errcode doc 90313 gives for invalid or too-long parameters;
//   - an unknown userid is 60111 (as user/get), one outside the app's
//     visible range 60021 ("userid not in app visible range" — 60011 is the
//     contacts-privilege code);
//   - batch_set_workbench_data is all or nothing: one bad userid fails the
//     call, and userid_list over 1000 is 40032 (the "list too long" code
//     of message/send and user/batchdelete);
//   - replace_user_data=true drops every member's own data at that moment,
//     so they all show the template's data until their data is set again;
//   - a member's own data is shown only while its type is the template's
//     type (a tile has one type); get_workbench_data answers what is shown.

// Workbench display types.
const (
	WorkbenchKeyData = "keydata"
	WorkbenchImage   = "image"
	WorkbenchList    = "list"
	WorkbenchWebview = "webview"
	// WorkbenchNormal is the plain icon (no custom display); template only.
	WorkbenchNormal = "normal"
)

// Workbench limits (doc 92535, doc 90454).
const (
	MaxWorkbenchKeyData    = 4
	MaxWorkbenchListItems  = 3
	MaxWorkbenchTitleBytes = 128
	MaxWorkbenchBatchUsers = 1000
)

// Workbench frequency limits (doc 90454): set_workbench_data 10 calls a
// minute per member per app; batch_set_workbench_data 100,000 person-times
// a minute (per app in the SDK transcriptions; per corp is unconfirmed).
// WorkbenchBatchLimit counts persons (userid_list entries), not calls.
var (
	WorkbenchDataLimit  = Limit{PerMinute: 10}
	WorkbenchBatchLimit = Limit{PerMinute: 100000}
)

// WorkbenchData is what a workbench tile shows: the type and its body.
// Exactly the body named by Type is set (none for WorkbenchNormal, and
// none for a template set without default data).
type WorkbenchData struct {
	Type    string                `json:"type"`
	KeyData *WorkbenchKeyDataBody `json:"keydata,omitempty"`
	Image   *WorkbenchImageBody   `json:"image,omitempty"`
	List    *WorkbenchListBody    `json:"list,omitempty"`
	Webview *WorkbenchWebviewBody `json:"webview,omitempty"`
}

// WorkbenchKeyDataBody shows up to four key figures.
type WorkbenchKeyDataBody struct {
	Items []WorkbenchKeyDataItem `json:"items"`
}

// WorkbenchKeyDataItem is one key figure. JumpURL applies when the app's
// homepage is H5, PagePath when it is a mini program.
type WorkbenchKeyDataItem struct {
	Key      string `json:"key"`
	Data     string `json:"data"`
	JumpURL  string `json:"jump_url,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// WorkbenchImageBody shows one image (best 3.35:1).
type WorkbenchImageBody struct {
	URL      string `json:"url"`
	JumpURL  string `json:"jump_url,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// WorkbenchListBody shows up to three lines.
type WorkbenchListBody struct {
	Items []WorkbenchListItem `json:"items"`
}

// WorkbenchListItem is one line; Title is at most 128 bytes.
type WorkbenchListItem struct {
	Title    string `json:"title"`
	JumpURL  string `json:"jump_url,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// WorkbenchWebviewBody embeds a page. Height is "single_row" or "double_row"
// (the simulator stores the documented default, double_row, when it is
// absent). With EnableWebviewClick, JumpURL is ignored and links inside the
// page must use wxwork://openurl?url=<encoded>.
type WorkbenchWebviewBody struct {
	URL                string `json:"url"`
	JumpURL            string `json:"jump_url,omitempty"`
	PagePath           string `json:"pagepath,omitempty"`
	Height             string `json:"height"`
	HideTitle          bool   `json:"hide_title"`
	EnableWebviewClick bool   `json:"enable_webview_click"`
}

// WorkbenchTemplate is an app's display type with its corp-wide default
// data, as agent/get_workbench_template answers it.
type WorkbenchTemplate struct {
	WorkbenchData
	ReplaceUserData bool `json:"replace_user_data"`
}

// workbenchApp is one app's workbench state.
type workbenchApp struct {
	tmpl  *WorkbenchTemplate       // nil until set_workbench_template
	users map[string]WorkbenchData // lower(userid) → the member's own data
}

// workbenchOf returns app agentID's workbench state, creating it.
func (st *state) workbenchOf(agentID int64) *workbenchApp {
	if st.workbench == nil {
		st.workbench = map[int64]*workbenchApp{}
	}
	w := st.workbench[agentID]
	if w == nil {
		w = &workbenchApp{users: map[string]WorkbenchData{}}
		st.workbench[agentID] = w
	}
	return w
}

// shown is what member key's tile shows and where it comes from ("user",
// "template", or "" for the plain icon).
func (w *workbenchApp) shown(key string) (WorkbenchData, string) {
	if w.tmpl == nil || w.tmpl.Type == WorkbenchNormal {
		return WorkbenchData{Type: WorkbenchNormal}, ""
	}
	if d, ok := w.users[key]; ok && d.Type == w.tmpl.Type {
		return d, "user"
	}
	return w.tmpl.WorkbenchData, "template"
}

// obj renders d as the API does: type plus the body under its type name.
func (d WorkbenchData) obj() obj {
	o := obj{"type": d.Type}
	var body any
	switch {
	case d.KeyData != nil:
		body = d.KeyData
	case d.Image != nil:
		body = d.Image
	case d.List != nil:
		body = d.List
	case d.Webview != nil:
		body = d.Webview
	}
	if body != nil {
		o[d.Type] = body
	}
	return o
}

// parseWorkbenchData reads type and its body from f. template: "normal" is
// allowed and the body is optional (corp default data is optional there).
func parseWorkbenchData(f fields, template bool) (WorkbenchData, error) {
	typ, ok, err := f.str("type")
	if err != nil {
		return WorkbenchData{}, err
	}
	if !ok || typ == "" {
		return WorkbenchData{}, errf(40058, "type is required")
	}
	d := WorkbenchData{Type: typ}
	switch typ {
	case WorkbenchKeyData, WorkbenchImage, WorkbenchList, WorkbenchWebview:
	case WorkbenchNormal:
		if template {
			return d, nil
		}
		return d, errf(40058, "type normal is for templates only")
	default:
		return d, errf(40058, "unknown workbench type %q", typ)
	}
	if !f.has(typ) {
		if template {
			return d, nil
		}
		return d, errf(40058, "type %s without its %s body", typ, typ)
	}
	switch typ {
	case WorkbenchKeyData:
		var b WorkbenchKeyDataBody
		if err := workbenchBody(f, typ, &b); err != nil {
			return d, err
		}
		if len(b.Items) > MaxWorkbenchKeyData {
			return d, errf(40058, "keydata has %d items, at most %d", len(b.Items), MaxWorkbenchKeyData)
		}
		if b.Items == nil {
			b.Items = []WorkbenchKeyDataItem{}
		}
		d.KeyData = &b
	case WorkbenchImage:
		var b WorkbenchImageBody
		if err := workbenchBody(f, typ, &b); err != nil {
			return d, err
		}
		if b.URL == "" {
			return d, errf(40058, "image without url")
		}
		d.Image = &b
	case WorkbenchList:
		var b WorkbenchListBody
		if err := workbenchBody(f, typ, &b); err != nil {
			return d, err
		}
		if len(b.Items) > MaxWorkbenchListItems {
			return d, errf(40058, "list has %d items, at most %d", len(b.Items), MaxWorkbenchListItems)
		}
		for i, it := range b.Items {
			if len(it.Title) > MaxWorkbenchTitleBytes {
				return d, errf(40058, "list item %d: title is %d bytes, at most %d", i, len(it.Title), MaxWorkbenchTitleBytes)
			}
		}
		if b.Items == nil {
			b.Items = []WorkbenchListItem{}
		}
		d.List = &b
	case WorkbenchWebview:
		var b WorkbenchWebviewBody
		if err := workbenchBody(f, typ, &b); err != nil {
			return d, err
		}
		if b.URL == "" {
			return d, errf(40058, "webview without url")
		}
		switch b.Height {
		case "":
			b.Height = "double_row"
		case "single_row", "double_row":
		default:
			return d, errf(40058, "webview height %q, want single_row or double_row", b.Height)
		}
		d.Webview = &b
	}
	return d, nil
}

// workbenchBody decodes the type's body after refusing keys doc 92535
// does not document for it (40058, as message/send).
func workbenchBody(f fields, typ string, dst any) error {
	if err := checkKeys(typ, f[typ], reflect.TypeOf(dst)); err != nil {
		return err
	}
	_, err := f.value(typ, dst)
	return err
}

// workbenchMember finds a member the app may set data for: 60111 unknown,
// 60021 outside the visible range.
func (s *Sim) workbenchMember(app *App, userid string) (*member, error) {
	if userid == "" {
		return nil, errf(60111, "userid missing")
	}
	m := s.st.user(userid)
	if m == nil {
		return nil, errf(60111, "userid %q not found", userid)
	}
	if !s.st.visible(app).user(m) {
		return nil, errf(60021, "member %q outside app %d's visible range", m.UserID, app.AgentID)
	}
	return m, nil
}

// workbenchKeys are the documented keys of a workbench request whose
// type is f's: type, that type's body, and extra.
func workbenchKeys(f fields, extra ...string) []string {
	keys := append([]string{"type"}, extra...)
	if typ, _, err := f.str("type"); err == nil && typ != "" {
		keys = append(keys, typ)
	}
	return keys
}

// handleSetWorkbenchTemplate: POST /cgi-bin/agent/set_workbench_template.
func (s *Sim) handleSetWorkbenchTemplate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app, err := s.agentOf(c, f)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(f, "agent/set_workbench_template", workbenchKeys(f, "agentid", "replace_user_data")...); err != nil {
		return nil, err
	}
	d, err := parseWorkbenchData(f, true)
	if err != nil {
		return nil, err
	}
	var replace bool
	if _, err := f.value("replace_user_data", &replace); err != nil {
		return nil, err
	}
	w := s.st.workbenchOf(app.AgentID)
	w.tmpl = &WorkbenchTemplate{WorkbenchData: d, ReplaceUserData: replace}
	if replace {
		clear(w.users)
	}
	return nil, nil
}

// handleGetWorkbenchTemplate: POST /cgi-bin/agent/get_workbench_template.
// An app that never set one answers type normal.
func (s *Sim) handleGetWorkbenchTemplate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app, err := s.agentOf(c, f)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(f, "agent/get_workbench_template", "agentid"); err != nil {
		return nil, err
	}
	t := s.st.workbenchOf(app.AgentID).tmpl
	if t == nil {
		t = &WorkbenchTemplate{WorkbenchData: WorkbenchData{Type: WorkbenchNormal}}
	}
	o := t.obj()
	o["replace_user_data"] = t.ReplaceUserData
	return o, nil
}

// handleSetWorkbenchData: POST /cgi-bin/agent/set_workbench_data, the flat
// single-member form {"agentid","userid","type","<type>":{…}}.
func (s *Sim) handleSetWorkbenchData(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app, err := s.agentOf(c, f)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(f, "agent/set_workbench_data", workbenchKeys(f, "agentid", "userid")...); err != nil {
		return nil, err
	}
	userid, _, err := f.str("userid")
	if err != nil {
		return nil, err
	}
	m, err := s.workbenchMember(app, userid)
	if err != nil {
		return nil, err
	}
	// The 10/min window is per member and app; calls that pass the caller
	// and member checks count, whatever their body.
	key := "workbench:" + strconv.FormatInt(app.AgentID, 10) + ":" + strings.ToLower(m.UserID)
	if e := s.countWindow(key, WorkbenchDataLimit, c.now); e != nil {
		return nil, e
	}
	d, err := parseWorkbenchData(f, false)
	if err != nil {
		return nil, err
	}
	s.st.workbenchOf(app.AgentID).users[strings.ToLower(m.UserID)] = d
	return nil, nil
}

// handleBatchSetWorkbenchData: POST /cgi-bin/agent/batch_set_workbench_data
// {"agentid","userid_list":[…],"data":{"type","<type>":{…}}}.
func (s *Sim) handleBatchSetWorkbenchData(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app, err := s.agentOf(c, f)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(f, "agent/batch_set_workbench_data", "agentid", "userid_list", "data"); err != nil {
		return nil, err
	}
	ids, _, err := f.strs("userid_list")
	if err != nil {
		return nil, err
	}
	switch {
	case len(ids) == 0:
		return nil, errf(40058, "userid_list is required")
	case len(ids) > MaxWorkbenchBatchUsers:
		return nil, errf(40032, "userid_list has %d userids, at most %d", len(ids), MaxWorkbenchBatchUsers)
	}
	var raw map[string]json.RawMessage
	if ok, err := f.value("data", &raw); err != nil {
		return nil, err
	} else if !ok {
		return nil, errf(40058, "data is required")
	}
	if err := onlyKeys(fields(raw), "agent/batch_set_workbench_data data", workbenchKeys(fields(raw))...); err != nil {
		return nil, err
	}
	d, err := parseWorkbenchData(fields(raw), false)
	if err != nil {
		return nil, err
	}
	members := make([]*member, 0, len(ids))
	for _, id := range ids {
		m, err := s.workbenchMember(app, id)
		if err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	key := "workbench:batch:" + strconv.FormatInt(app.AgentID, 10)
	for range members {
		if e := s.countWindow(key, WorkbenchBatchLimit, c.now); e != nil {
			return nil, e
		}
	}
	w := s.st.workbenchOf(app.AgentID)
	for _, m := range members {
		w.users[strings.ToLower(m.UserID)] = d
	}
	return nil, nil
}

// handleGetWorkbenchData: POST /cgi-bin/agent/get_workbench_data
// {"agentid","userid"} → {"data":{"type","<type>":{…}}}: what the member's
// tile shows (their own data, else the template's).
func (s *Sim) handleGetWorkbenchData(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app, err := s.agentOf(c, f)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(f, "agent/get_workbench_data", "agentid", "userid"); err != nil {
		return nil, err
	}
	userid, _, err := f.str("userid")
	if err != nil {
		return nil, err
	}
	m, err := s.workbenchMember(app, userid)
	if err != nil {
		return nil, err
	}
	d, _ := s.st.workbenchOf(app.AgentID).shown(strings.ToLower(m.UserID))
	return obj{"data": d.obj()}, nil
}

// WorkbenchTile is what one member's workbench shows for one app.
type WorkbenchTile struct {
	AgentID int64  `json:"agentid"`
	UserID  string `json:"userid,omitempty"`
	// Visible: the member is in the app's visible range (otherwise the app
	// is not on their workbench at all). False when UserID is empty.
	Visible bool `json:"visible"`
	// Custom: the app set a custom template (a type other than normal);
	// otherwise the tile is the plain icon.
	Custom bool `json:"custom"`
	// Source says where Data comes from: "user" (set for this member),
	// "template" (the app's default data) or "" (plain icon).
	Source string        `json:"source"`
	Data   WorkbenchData `json:"data"`
	// Template is the app's template as last set; nil before any
	// set_workbench_template.
	Template *WorkbenchTemplate `json:"template,omitempty"`
}

// WorkbenchTile returns what member userid's workbench shows for app
// agentID; with userid "" the tile of a member without data of their own.
// Errors: 40056 unknown app, 60111 unknown member.
func (s *Sim) WorkbenchTile(agentID int64, userid string) (WorkbenchTile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[agentID]
	if !ok {
		return WorkbenchTile{}, errf(40056, "agentid %d unknown", agentID)
	}
	tile := WorkbenchTile{AgentID: agentID}
	key := ""
	if userid != "" {
		m := s.st.user(userid)
		if m == nil {
			return WorkbenchTile{}, errf(60111, "userid %q not found", userid)
		}
		tile.UserID = m.UserID
		tile.Visible = s.st.visible(app).user(m)
		key = strings.ToLower(m.UserID)
	}
	w := s.st.workbenchOf(agentID)
	tile.Data, tile.Source = w.shown(key)
	tile.Custom = tile.Source != ""
	if w.tmpl != nil {
		t := *w.tmpl
		tile.Template = &t
	}
	return tile, nil
}

// WorkbenchUsers lists the members of app agentID who have data of their
// own (lower-case userids, sorted), for tests asserting a batch.
func (s *Sim) WorkbenchUsers(agentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.st.workbench[agentID]
	if w == nil {
		return nil
	}
	out := make([]string, 0, len(w.users))
	for k := range w.users {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// adminWorkbench registers GET workbench?agentid=&userid= → WorkbenchTile
// (WeCom-shaped errors: 40056, 60111, 40058 for a bad agentid).
func (s *Sim) adminWorkbench(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AdminPrefix+"workbench", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		id, err := strconv.ParseInt(q.Get("agentid"), 10, 64)
		if err != nil {
			writeAdminWeCom(w, nil, errf(40058, "agentid %q", q.Get("agentid")))
			return
		}
		tile, err := s.WorkbenchTile(id, q.Get("userid"))
		if err != nil {
			writeAdminWeCom(w, nil, err)
			return
		}
		writeJSON(w, tile)
	})
}
