package wecomsim

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/wecom"
)

// The phone page (GET {BaseURL}/phone) shows a member's WeCom as the apps
// see it: pick a member, then their inbox newest first — texts, text cards,
// news, markdown (the documented subset, escaped), template cards with
// their buttons and selections — and act as them: press a card button
// (the app gets template_card_event, its passive reply updates the card),
// open an app (enter_agent, then OAuth as that member to the app's
// HomeURL), send the app a text (its passive reply is shown). A
// WeChat-plugin member sees what WeChat shows: markdown and template cards
// become a "not displayed in WeChat" placeholder.
//
// The pages are server-rendered with html/template from embedded files,
// with no external resources (demo machines may have no internet), and work
// without JavaScript; phone.js only filters lists and marks busy buttons.
// Every link is built on BaseURL.

//go:embed phone_*.html phone_assets
var phoneFS embed.FS

// phoneCookie remembers who holds the phone: the authorize page logs that
// member in silently, as the WeCom client does for snsapi_base.
const phoneCookie = "wecomsim_phone"

var phoneTemplates = parsePhoneTemplates()

// phoneAssetVersion busts caches when the embedded assets change.
var phoneAssetVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(phoneFS, "phone_assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := phoneFS.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

func parsePhoneTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"sub": func(a, b int) int { return a - b },
	}
	out := map[string]*template.Template{}
	for _, page := range []string{"members", "inbox", "authorize", "error"} {
		t := template.New("phone_layout.html").Funcs(funcs)
		out[page] = template.Must(t.ParseFS(phoneFS, "phone_layout.html", "phone_parts.html", "phone_"+page+".html"))
	}
	return out
}

// phonePage is what every page template gets.
type phonePage struct {
	Title   string
	Base    string // Sim.BaseURL
	Version string // asset version
	Data    any
}

func (s *Sim) render(w http.ResponseWriter, status int, page, title string, data any) {
	var buf strings.Builder
	err := phoneTemplates[page].ExecuteTemplate(&buf, "layout", phonePage{Title: title, Base: s.opts.BaseURL, Version: phoneAssetVersion, Data: data})
	if err != nil {
		s.log.Error("render page", zap.String("page", page), zap.Error(err))
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

type errorView struct {
	Heading string
	Message string
	Code    int
}

func (s *Sim) renderError(w http.ResponseWriter, status int, heading, message string, code int) {
	s.render(w, status, "error", heading, errorView{Heading: heading, Message: message, Code: code})
}

// phoneRoutes registers the phone and OAuth pages (called from pageRoutes).
func (s *Sim) phoneRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /connect/oauth2/authorize", s.serveAuthorize)
	mux.HandleFunc("GET /phone", s.servePhoneMembers)
	mux.HandleFunc("GET /phone/leave", s.servePhoneLeave)
	mux.HandleFunc("POST /phone/login", s.servePhoneLogin)
	mux.HandleFunc("GET /phone/assets/{file}", s.servePhoneAsset)
	mux.HandleFunc("GET /phone/u/{userid}", s.servePhoneInbox)
	mux.HandleFunc("POST /phone/u/{userid}/press", s.servePhonePress)
	mux.HandleFunc("POST /phone/u/{userid}/text", s.servePhoneText)
	mux.HandleFunc("GET /phone/u/{userid}/open/{agentid}", s.servePhoneOpen)
}

func (s *Sim) servePhoneAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := phoneFS.ReadFile("phone_assets/" + path.Base(name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}

// cookiePath is the path the simulator is mounted under.
func (s *Sim) cookiePath() string {
	if u, err := url.Parse(s.opts.BaseURL); err == nil && u.Path != "" {
		return u.Path
	}
	return "/"
}

// phoneHolder is the member the phone page was last used as, if any.
func (s *Sim) phoneHolder(r *http.Request) string {
	c, err := r.Cookie(phoneCookie)
	if err != nil || !validUserID(c.Value) {
		return ""
	}
	return c.Value
}

func (s *Sim) setPhoneHolder(w http.ResponseWriter, userid string) {
	http.SetCookie(w, &http.Cookie{Name: phoneCookie, Value: userid, Path: s.cookiePath(), HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// memberRow is one member in a picker.
type memberRow struct {
	UserID   string
	Name     string
	Position string
	Initial  string
	Color    string
	WeChat   bool
	Search   string // lower-case text the filter matches
	Href     string
}

type memberGroup struct {
	Dept    string
	Members []memberRow
}

// avatarColor picks one of the stylesheet's seven avatar colours (classes
// av0…av6) by a hash of the id.
func avatarColor(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return "av" + strconv.Itoa(int(h.Sum32()%7))
}

func initial(name string) string {
	for _, r := range name {
		return string(r)
	}
	return "?"
}

// memberGroups lists the members who can log in (status 1), grouped by
// main department in tree order, filtered by q (name, userid, position,
// department). href builds each member's link. Runs under s.mu.
func (s *Sim) memberGroups(q string, href func(userid string) string) (groups []memberGroup, hidden int) {
	q = strings.ToLower(strings.TrimSpace(q))
	st := s.st
	byDept := map[int64][]*member{}
	for _, m := range st.sortedMembers() {
		if m.Status != 1 {
			hidden++
			continue
		}
		d := m.MainDepartment
		if d == 0 && len(m.Department) > 0 {
			d = m.Department[0]
		}
		if st.depts[d] == nil {
			d = rootDeptID
		}
		byDept[d] = append(byDept[d], m)
	}
	for _, id := range st.preorder(rootDeptID, nil) {
		ms := byDept[id]
		if len(ms) == 0 {
			continue
		}
		dept := st.depts[id].Name
		g := memberGroup{Dept: dept}
		for _, m := range ms {
			search := strings.ToLower(strings.Join([]string{m.Name, m.UserID, m.Position, m.Alias, dept}, " "))
			if q != "" && !strings.Contains(search, q) {
				continue
			}
			g.Members = append(g.Members, memberRow{UserID: m.UserID, Name: m.Name, Position: m.Position,
				Initial: initial(m.Name), Color: avatarColor(m.UserID), WeChat: m.WeChatPlugin, Search: search, Href: href(m.UserID)})
		}
		if len(g.Members) > 0 {
			groups = append(groups, g)
		}
	}
	return groups, hidden
}

type membersView struct {
	Query  string
	Groups []memberGroup
	Hidden int
	Holder string
	// New are members created but not activated (status 4): they log in
	// to WeCom for the first time with their mobile, which activates them.
	New []memberRow
}

// servePhoneMembers: GET /phone — who holds the phone?
func (s *Sim) servePhoneMembers(w http.ResponseWriter, r *http.Request) {
	base := s.opts.BaseURL
	s.mu.Lock()
	groups, hidden := s.memberGroups(r.URL.Query().Get("q"), func(u string) string { return base + "/phone/u/" + url.PathEscape(u) })
	holder := ""
	if m := s.st.user(s.phoneHolder(r)); m != nil {
		holder = m.Name
	}
	var fresh []memberRow
	for _, m := range s.st.sortedMembers() {
		if m.Status == 4 && len(fresh) < 20 {
			fresh = append(fresh, memberRow{UserID: m.UserID, Name: m.Name, Position: m.Position, Initial: initial(m.Name), Color: avatarColor(m.UserID)})
		}
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "members", "选择成员", membersView{Query: r.URL.Query().Get("q"), Groups: groups, Hidden: hidden, Holder: holder, New: fresh})
}

// servePhoneLogin: POST /phone/login (form: userid) — a member created by
// the API (status 4, not activated) logs in to WeCom for the first time
// with their mobile, which activates them (status 1), then holds the
// phone. The simulator sends no event for it (whether WeCom reports an
// activation as update_user is unconfirmed, docs/wecom.md §3).
func (s *Sim) servePhoneLogin(w http.ResponseWriter, r *http.Request) {
	userid := r.PostFormValue("userid")
	s.mu.Lock()
	m := s.st.user(userid)
	switch {
	case m == nil:
		s.mu.Unlock()
		s.renderError(w, http.StatusNotFound, "没有这个成员", fmt.Sprintf("通讯录里没有 %q。", userid), 60111)
		return
	case m.Status == 4:
		m.Status, m.activated = 1, true
	case m.Status != 1:
		s.mu.Unlock()
		s.renderError(w, http.StatusForbidden, "无法登录", fmt.Sprintf("%s 已停用或已退出企业（状态 %d）。", m.Name, m.Status), 0)
		return
	}
	s.mu.Unlock()
	http.Redirect(w, r, s.opts.BaseURL+"/phone/u/"+url.PathEscape(userid), http.StatusSeeOther)
}

// servePhoneLeave: GET /phone/leave — put the phone down.
func (s *Sim) servePhoneLeave(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: phoneCookie, Value: "", Path: s.cookiePath(), MaxAge: -1})
	http.Redirect(w, r, s.opts.BaseURL+"/phone", http.StatusSeeOther)
}

type authorizeView struct {
	App     string
	Scope   string
	Private bool
	Query   string
	Hidden  []hiddenField // the link's parameters, for the search form
	Groups  []memberGroup
	Visitor string // a suggested openid
	Action  string
}

type hiddenField struct{ Name, Value string }

// pickerLinks serves the member pickers standing in for WeCom's login
// pages: link(extra) is base with the request's own parameters (without the
// simulator's sim_* and the search q) plus extra, and hidden carries the
// same parameters through the search form.
func pickerLinks(base string, query url.Values) (link func(extra url.Values) string, hidden []hiddenField) {
	link = func(extra url.Values) string {
		q := url.Values{}
		for k, v := range query {
			if !strings.HasPrefix(k, "sim_") && k != "q" {
				q[k] = v
			}
		}
		for k, v := range extra {
			q[k] = v
		}
		return base + "?" + q.Encode()
	}
	for k, vals := range query {
		if strings.HasPrefix(k, "sim_") || k == "q" {
			continue
		}
		for _, x := range vals {
			hidden = append(hidden, hiddenField{Name: k, Value: x})
		}
	}
	slices.SortFunc(hidden, func(a, b hiddenField) int { return strings.Compare(a.Name, b.Name) })
	return link, hidden
}

func (s *Sim) renderAuthorizePicker(w http.ResponseWriter, r *http.Request, ar *authorizeRequest) {
	base := s.opts.BaseURL + "/connect/oauth2/authorize"
	link, hidden := pickerLinks(base, ar.query)
	v := authorizeView{Scope: ar.scope, Private: ar.scope == wecom.ScopePrivateInfo && ar.app != nil,
		Query: ar.query.Get("q"), Action: base, Visitor: "oSimVisitor" + randomHex(6), Hidden: hidden}
	if ar.app != nil {
		v.App = ar.app.Name
	}
	s.mu.Lock()
	v.Groups, _ = s.memberGroups(v.Query, func(u string) string { return link(url.Values{"sim_userid": {u}}) })
	s.mu.Unlock()
	s.render(w, http.StatusOK, "authorize", "企业微信授权登录", v)
}

// inboxView is the member's phone.
type inboxView struct {
	Workbench bool // some app shows a custom workbench tile
	Me        memberRow
	Dept      string
	Apps      []appView
	Filter    int64
	AllHref   string
	Items     []itemView
	Chats     []chatView // app group chats the member is in (appchat.go)
	Dropped   int
	Flash     *flashView
	PressURL  string
	TextURL   string
	LeaveHref string
	SwitchURL string
}

type appView struct {
	AgentID  int64
	Name     string
	Initial  string
	Color    string
	OpenHref string
	TabHref  string
	HasHome  bool
	Active   bool
	Tile     *tileView // the app's custom workbench display, if any
}

// tileView is an app's workbench tile for this member (workbench.go).
type tileView struct {
	Type          string
	KeyData       []WorkbenchKeyDataItem
	List          []WorkbenchListItem
	ImageURL      string
	JumpURL       string
	WebviewURL    string
	WebviewHeight int
}

// workbenchTile renders what app agentID's tile shows member userid; nil
// for the plain icon.
func (s *Sim) workbenchTile(agentID int64, userid string) *tileView {
	t, err := s.WorkbenchTile(agentID, userid)
	if err != nil || !t.Custom {
		return nil
	}
	d := t.Data
	v := &tileView{Type: d.Type}
	switch {
	case d.KeyData != nil:
		v.KeyData = d.KeyData.Items
	case d.List != nil:
		v.List = d.List.Items
	case d.Image != nil:
		v.ImageURL, v.JumpURL = d.Image.URL, d.Image.JumpURL
	case d.Webview != nil:
		v.WebviewURL, v.JumpURL = d.Webview.URL, d.Webview.JumpURL
		v.WebviewHeight = 128
		if d.Webview.Height == "single_row" {
			v.WebviewHeight = 64
		}
	default:
		return nil
	}
	return v
}

type flashView struct {
	Target string // item anchor it belongs to ("" = page)
	Kind   string // ok, warn, error
	Text   string
}

// itemView is one inbox item ready for the template.
type itemView struct {
	Anchor       string
	MsgID        string
	App          string
	AppInitial   string
	AppColor     string
	Time         string
	Mine         bool // the member's own text
	Reply        bool
	Type         string
	Recalled     bool
	NotDisplayed string
	TextHTML     template.HTML
	TextCard     *textCardView
	Articles     []newsArticle
	MarkdownHTML template.HTML
	Media        *mediaView
	Card         *cardView
	Flash        *flashView
}

type textCardView struct {
	Title    string
	DescHTML template.HTML
	URL      string
	Button   string
}

type mediaView struct {
	Kind  string
	Label string
	Title string
	Href  string
}

// cardView is a template card as the member's client shows it.
type cardView struct {
	Type        string
	TaskID      string
	Source      *CardSource
	SourceClass string
	MenuDesc    string
	Menu        []CardMenuAction
	MainTitle   *CardTitle
	Quote       *CardQuoteArea
	QuoteHref   string
	Emphasis    *CardTitle
	SubTitle    string
	Horizontal  []horizontalView
	Jumps       []linkView
	ActionHref  string
	ImageText   *CardImageTextArea
	ImageHref   string
	Image       *CardImage
	ImageRatio  string
	Vertical    []CardTitle
	Questions   []questionView // button_selection, checkbox or select_list
	Buttons     []buttonView
	Submit      *CardSubmitButton
	Actioned    bool
	ReplaceName string // greyed label instead of the buttons
	Note        string // what the member did
	Interactive bool
	MsgID       string
	PressURL    string
}

type horizontalView struct {
	Key   string
	Value string
	Href  string
}

type linkView struct {
	Title string
	Href  string
}

type questionView struct {
	Key      string
	Title    string
	Kind     string // select, radio, checkbox
	Options  []optionView
	Disabled bool
}

type optionView struct {
	ID      string
	Text    string
	Checked bool
}

type buttonView struct {
	Text    string
	Key     string
	Class   string
	Href    string // type 1: a link
	Pressed bool
}

// servePhoneInbox: GET /phone/u/{userid}[?app=AGENTID] — the member's WeCom.
func (s *Sim) servePhoneInbox(w http.ResponseWriter, r *http.Request) {
	userid := r.PathValue("userid")
	base := s.opts.BaseURL
	me := base + "/phone/u/" + url.PathEscape(userid)
	filter, _ := strconv.ParseInt(r.URL.Query().Get("app"), 10, 64)

	s.mu.Lock()
	m := s.st.user(userid)
	if m == nil {
		s.mu.Unlock()
		s.renderError(w, http.StatusNotFound, "没有这个成员", fmt.Sprintf("通讯录里没有 %q。", userid), 60111)
		return
	}
	v := inboxView{
		Me:   memberRow{UserID: m.UserID, Name: m.Name, Position: m.Position, Initial: initial(m.Name), Color: avatarColor(m.UserID), WeChat: m.WeChatPlugin},
		Dept: s.deptName(m), Filter: filter, AllHref: me, PressURL: me + "/press", TextURL: me + "/text",
		LeaveHref: base + "/phone/leave", SwitchURL: base + "/phone",
	}
	for _, id := range s.appIDs() {
		app := s.apps[id]
		if !s.st.visible(app).user(m) {
			continue
		}
		v.Apps = append(v.Apps, appView{AgentID: id, Name: app.Name, Initial: initial(app.Name), Color: avatarColor(app.Name),
			OpenHref: me + "/open/" + itoa(id), TabHref: me + "?app=" + itoa(id), HasHome: app.HomeURL != "", Active: id == filter})
	}
	items := s.inboxLocked(m.UserID)
	v.Chats = s.chatViews(m)
	s.mu.Unlock()
	for i := range v.Apps {
		v.Apps[i].Tile = s.workbenchTile(v.Apps[i].AgentID, m.UserID)
		v.Workbench = v.Workbench || v.Apps[i].Tile != nil
	}

	flash := flashFrom(r.URL.Query())
	for i := range items {
		it := &items[i]
		if filter != 0 && it.AgentID != filter {
			continue
		}
		if it.Dropped {
			v.Dropped++
			continue
		}
		iv := s.itemView(it, v.PressURL)
		if flash != nil && flash.Target == iv.Anchor {
			iv.Flash, flash = flash, nil
		}
		v.Items = append(v.Items, iv)
	}
	v.Flash = flash
	s.setPhoneHolder(w, m.UserID)
	s.render(w, http.StatusOK, "inbox", m.Name+" 的企业微信", v)
}

func (s *Sim) deptName(m *member) string {
	d := m.MainDepartment
	if d == 0 && len(m.Department) > 0 {
		d = m.Department[0]
	}
	if dep := s.st.depts[d]; dep != nil {
		return dep.Name
	}
	return ""
}

func (s *Sim) appIDs() []int64 {
	ids := make([]int64, 0, len(s.apps))
	for id := range s.apps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// flashFrom reads the outcome of the last action from the redirect's query.
func flashFrom(q url.Values) *flashView {
	kind := q.Get("flash")
	if kind == "" {
		return nil
	}
	f := &flashView{Target: q.Get("at"), Kind: "ok"}
	switch kind {
	case "pressed":
		f.Text = "已回调应用"
		if r := q.Get("reply"); r != "" {
			f.Text += " · 应用回复 " + r
		} else {
			f.Text += " · 应用未回复卡片更新"
		}
	case "ignored":
		f.Kind, f.Text = "warn", "卡片已处理，再次点击无效"
	case "nocb":
		f.Kind, f.Text = "warn", "应用没有配置回调地址，未发送回调"
	case "failed":
		f.Kind, f.Text = "error", "回调未送达（超时或非 200，重试已用完）"
	case "sent":
		f.Text = "已发送给应用"
		if q.Get("reply") != "" {
			f.Text += " · 应用已回复"
		}
	case "error":
		f.Kind, f.Text = "error", q.Get("msg")
	default:
		return nil
	}
	return f
}

// phoneTime formats the simulator time as the client would (China time).
func phoneTime(t time.Time) string { return t.In(chinaTime).Format("01-02 15:04") }

func (s *Sim) itemView(it *InboxItem, pressURL string) itemView {
	v := itemView{Anchor: "s-" + strconv.FormatInt(it.Seq, 10), MsgID: it.MsgID, App: it.App, AppInitial: initial(it.App),
		AppColor: avatarColor(it.App), Time: phoneTime(it.Time), Mine: it.From == FromMember, Reply: it.Reply,
		Type: it.MsgType, Recalled: it.Recalled, NotDisplayed: it.NotDisplayed}
	if it.MsgID != "" && it.From == FromApp {
		v.Anchor = "m-" + it.MsgID
	}
	if v.Recalled || v.NotDisplayed != "" {
		return v
	}
	switch it.MsgType {
	case msgText:
		var b textBody
		_ = json.Unmarshal(it.Body, &b)
		v.TextHTML = renderText(b.Content)
	case msgTextCard:
		var b textCardBody
		_ = json.Unmarshal(it.Body, &b)
		btn := b.BtnTxt
		if btn == "" {
			btn = "详情"
		}
		v.TextCard = &textCardView{Title: b.Title, DescHTML: renderTextCardDescription(b.Description), URL: b.URL, Button: btn}
	case msgNews:
		var b newsBody
		_ = json.Unmarshal(it.Body, &b)
		v.Articles = b.Articles
	case msgMarkdown:
		var b markdownBody
		_ = json.Unmarshal(it.Body, &b)
		v.MarkdownHTML = renderMarkdown(b.Content)
	case msgTemplateCard:
		if it.Card != nil {
			v.Card = s.cardView(it)
			v.Card.MsgID, v.Card.PressURL = it.MsgID, pressURL
		}
	case "image", "voice", "video", "file", "mpnews":
		v.Media = s.mediaView(it)
	}
	return v
}

func (s *Sim) mediaView(it *InboxItem) *mediaView {
	var b struct {
		MediaID  string `json:"media_id"`
		Title    string `json:"title"`
		Articles []struct {
			Title        string `json:"title"`
			ThumbMediaID string `json:"thumb_media_id"`
		} `json:"articles"`
	}
	_ = json.Unmarshal(it.Body, &b)
	labels := map[string]string{"image": "图片", "voice": "语音", "video": "视频", "file": "文件", "mpnews": "图文"}
	mv := &mediaView{Kind: it.MsgType, Label: labels[it.MsgType], Title: b.Title}
	id := b.MediaID
	if it.MsgType == "mpnews" && len(b.Articles) > 0 {
		mv.Title, id = b.Articles[0].Title, b.Articles[0].ThumbMediaID
	}
	if id != "" {
		mv.Href = s.opts.BaseURL + "/sim/media/" + url.PathEscape(id)
	}
	return mv
}

// cardView lays a member's card out for the template.
func (s *Sim) cardView(it *InboxItem) *cardView {
	c := it.Card
	st := it.CardState
	if st == nil {
		st = &CardState{}
	}
	v := &cardView{Type: c.CardType, TaskID: c.TaskID, Source: c.Source, MainTitle: c.MainTitle, Quote: c.QuoteArea,
		Emphasis: c.EmphasisContent, SubTitle: c.SubTitleText, ImageText: c.ImageTextArea, Image: c.CardImage,
		Vertical: c.VerticalContentList, Submit: c.SubmitButton, Actioned: st.Actioned, ReplaceName: st.ReplaceName,
		Interactive: interactiveCard(c.CardType)}
	if c.Source != nil {
		v.SourceClass = [...]string{"grey", "black", "red", "green"}[min(max(c.Source.DescColor, 0), 3)]
	}
	if c.ActionMenu != nil {
		v.MenuDesc, v.Menu = c.ActionMenu.Desc, c.ActionMenu.ActionList
	}
	if q := c.QuoteArea; q != nil && q.Type == 1 {
		v.QuoteHref = q.URL
	}
	s.mu.Lock()
	for _, h := range c.HorizontalContentList {
		hv := horizontalView{Key: h.KeyName, Value: h.Value}
		switch h.Type {
		case 1:
			hv.Href = h.URL
		case 2:
			hv.Href = s.opts.BaseURL + "/sim/media/" + url.PathEscape(h.MediaID)
			if hv.Value == "" {
				hv.Value = "附件"
			}
		case 3:
			if m := s.st.user(h.UserID); m != nil && hv.Value == "" {
				hv.Value = m.Name
			} else if hv.Value == "" {
				hv.Value = h.UserID
			}
		}
		v.Horizontal = append(v.Horizontal, hv)
	}
	s.mu.Unlock()
	for _, j := range c.JumpList {
		lv := linkView{Title: j.Title}
		if j.Type == 1 {
			lv.Href = j.URL
		}
		v.Jumps = append(v.Jumps, lv)
	}
	if a := c.CardAction; a != nil && a.Type == 1 {
		v.ActionHref = a.URL
	}
	if a := c.ImageTextArea; a != nil && a.Type == 1 {
		v.ImageHref = a.URL
	}
	if im := c.CardImage; im != nil {
		r := im.AspectRatio
		if r == 0 {
			r = 1.3
		}
		v.ImageRatio = strconv.FormatFloat(r, 'f', -1, 64)
	}

	chosen := map[string][]string{}
	for _, sel := range st.Selected {
		chosen[sel.QuestionKey] = sel.OptionIDs
	}
	question := func(sel *CardSelection, kind string, preset func(o CardOption) bool) questionView {
		q := questionView{Key: sel.QuestionKey, Title: sel.Title, Kind: kind, Disabled: st.Actioned || sel.Disable}
		ids, answered := chosen[sel.QuestionKey]
		for _, o := range sel.OptionList {
			checked := preset(o)
			if answered {
				checked = slices.Contains(ids, o.ID)
			}
			q.Options = append(q.Options, optionView{ID: o.ID, Text: o.Text, Checked: checked})
		}
		return q
	}
	switch c.CardType {
	case cardButtonInteraction:
		if bs := c.ButtonSelection; bs != nil {
			v.Questions = append(v.Questions, question(bs, "select", func(o CardOption) bool { return o.ID == bs.SelectedID }))
		}
		for _, b := range c.ButtonList {
			bv := buttonView{Text: b.Text, Key: b.Key, Class: fmt.Sprintf("style%d", max(b.Style, 1)), Pressed: st.PressedKey != "" && b.Key == st.PressedKey}
			if b.Type == 1 {
				bv.Href = b.URL
			}
			v.Buttons = append(v.Buttons, bv)
		}
	case cardVoteInteraction:
		if cb := c.CheckBox; cb != nil {
			kind := "radio"
			if cb.Mode == 1 {
				kind = "checkbox"
			}
			q := question(&CardSelection{QuestionKey: cb.QuestionKey, OptionList: cb.OptionList, Disable: cb.Disable}, kind,
				func(o CardOption) bool { return o.IsChecked })
			v.Questions = append(v.Questions, q)
		}
	case cardMultipleInteraction:
		for i := range c.SelectList {
			sl := &c.SelectList[i]
			v.Questions = append(v.Questions, question(sl, "select", func(o CardOption) bool { return o.ID == sl.SelectedID }))
		}
	}
	if c.ReplaceText != "" && st.Actioned && v.ReplaceName == "" {
		v.ReplaceName = c.ReplaceText
	}
	if st.Actioned && v.Interactive {
		switch {
		case c.CardType == cardButtonInteraction && st.PressedKey != "":
			for _, b := range c.ButtonList {
				if b.Key == st.PressedKey {
					v.Note = "你点击了「" + b.Text + "」"
				}
			}
		case st.PressedKey != "":
			v.Note = "你已提交"
		}
	}
	return v
}

// pressContext bounds how long a phone request waits for a callback: every
// attempt may take CallbackTimeout.
func (s *Sim) pressContext(r *http.Request) (context.Context, context.CancelFunc) {
	d := time.Duration(1+s.opts.CallbackRetries)*s.opts.CallbackTimeout + 5*time.Second
	return context.WithTimeout(r.Context(), d)
}

// servePhonePress: POST /phone/u/{userid}/press — a card button or submit.
// Form: msgid, key, qs (the questions on the card) and q:<question_key>
// (the chosen option ids).
func (s *Sim) servePhonePress(w http.ResponseWriter, r *http.Request) {
	userid := r.PathValue("userid")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	msgid, key := r.PostForm.Get("msgid"), r.PostForm.Get("key")
	var selected []SelectedItem
	for _, q := range r.PostForm["qs"] {
		ids := r.PostForm["q:"+q]
		var clean []string
		for _, id := range ids {
			if id != "" {
				clean = append(clean, id)
			}
		}
		selected = append(selected, SelectedItem{QuestionKey: q, OptionIDs: clean})
	}
	ctx, cancel := s.pressContext(r)
	defer cancel()
	res, err := s.PressCardButton(ctx, userid, msgid, key, selected)
	q := url.Values{"at": {"m-" + msgid}}
	switch {
	case err != nil:
		q.Set("flash", "error")
		q.Set("msg", strings.TrimPrefix(err.Error(), "wecomsim: "))
	case res.Ignored:
		q.Set("flash", "ignored")
	case res.CallbackID == 0:
		q.Set("flash", "nocb")
	case !res.Delivered:
		q.Set("flash", "failed")
	default:
		q.Set("flash", "pressed")
		q.Set("reply", res.Reply)
	}
	s.redirectToPhone(w, r, userid, q, "m-"+msgid)
}

// servePhoneText: POST /phone/u/{userid}/text — agentid, content.
func (s *Sim) servePhoneText(w http.ResponseWriter, r *http.Request) {
	userid := r.PathValue("userid")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	agentID, _ := strconv.ParseInt(r.PostForm.Get("agentid"), 10, 64)
	ctx, cancel := s.pressContext(r)
	defer cancel()
	res, err := s.SendText(ctx, userid, agentID, strings.TrimSpace(r.PostForm.Get("content")))
	q := url.Values{}
	switch {
	case err != nil:
		q.Set("flash", "error")
		q.Set("msg", strings.TrimPrefix(err.Error(), "wecomsim: "))
	case !res.Sent:
		q.Set("flash", "nocb")
	case !res.Delivered:
		q.Set("flash", "failed")
	default:
		q.Set("flash", "sent")
		q.Set("reply", res.Reply)
	}
	if a := r.PostForm.Get("app"); a != "" {
		q.Set("app", a)
	}
	s.redirectToPhone(w, r, userid, q, "")
}

func (s *Sim) redirectToPhone(w http.ResponseWriter, r *http.Request, userid string, q url.Values, anchor string) {
	target := s.opts.BaseURL + "/phone/u/" + url.PathEscape(userid) + "?" + q.Encode()
	if anchor != "" {
		target += "#" + anchor
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// servePhoneOpen: GET /phone/u/{userid}/open/{agentid} — open the app:
// enter_agent (if the app reports it), then OAuth as this member to the
// app's HomeURL, as the WeCom client does when a member taps an app whose
// homepage is an OAuth link.
func (s *Sim) servePhoneOpen(w http.ResponseWriter, r *http.Request) {
	userid := r.PathValue("userid")
	agentID, _ := strconv.ParseInt(r.PathValue("agentid"), 10, 64)
	// enter_agent is not waited for: the app opens at once, as in WeCom.
	if _, _, err := s.enterApp(userid, agentID); err != nil {
		s.renderError(w, http.StatusForbidden, "无法打开应用", strings.TrimPrefix(err.Error(), "wecomsim: "), 50002)
		return
	}
	app := s.apps[agentID]
	if app.HomeURL == "" {
		s.renderError(w, http.StatusNotFound, "应用没有主页", "这个应用没有设置主页（App.HomeURL）。", 0)
		return
	}
	s.setPhoneHolder(w, userid)
	q := url.Values{
		"appid": {s.opts.CorpID}, "redirect_uri": {app.HomeURL}, "response_type": {"code"},
		"scope": {wecom.ScopeBase}, "state": {"wecomsimphone"}, "agentid": {itoa(agentID)}, "sim_userid": {userid},
	}
	http.Redirect(w, r, s.opts.BaseURL+"/connect/oauth2/authorize?"+q.Encode()+"#wechat_redirect", http.StatusFound)
}

// Rendering of message text. Everything is escaped; only the markup WeCom
// documents is turned back into HTML, with http(s) links only.

// safeHref returns u escaped for an href when it is an http(s) URL.
func safeHref(u string) (string, bool) {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", false
	}
	return html.EscapeString(p.String()), true
}

var textLinkRE = regexp.MustCompile(`(?is)<a\s+href\s*=\s*(?:"([^"]*)"|'([^']*)')\s*>(.*?)</a>`)

// renderText renders a text message: escaped, newlines kept, and the
// documented <a href="…">…</a> links turned into links.
func renderText(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range textLinkRE.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(escapeLines(s[last:m[0]]))
		href := s[m[2]:m[3]]
		if m[2] < 0 {
			href = s[m[4]:m[5]]
		}
		label := s[m[6]:m[7]]
		if h, ok := safeHref(href); ok {
			b.WriteString(`<a href="` + h + `" target="_blank" rel="noopener">` + escapeLines(label) + `</a>`)
		} else {
			b.WriteString(escapeLines(label))
		}
		last = m[1]
	}
	b.WriteString(escapeLines(s[last:]))
	return template.HTML(b.String())
}

func escapeLines(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}

var textCardDivRE = regexp.MustCompile(`(?is)<div\s+class\s*=\s*(?:"(gray|normal|highlight)"|'(gray|normal|highlight)')\s*>(.*?)</div>`)

// renderTextCardDescription renders a textcard description: escaped, with
// the documented <div class="gray|normal|highlight"> lines kept.
func renderTextCardDescription(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range textCardDivRE.FindAllStringSubmatchIndex(s, -1) {
		if t := strings.TrimSpace(s[last:m[0]]); t != "" {
			b.WriteString(`<div>` + escapeLines(t) + `</div>`)
		}
		class := ""
		if m[2] >= 0 {
			class = s[m[2]:m[3]]
		} else {
			class = s[m[4]:m[5]]
		}
		b.WriteString(`<div class="tc-` + class + `">` + escapeLines(s[m[6]:m[7]]) + `</div>`)
		last = m[1]
	}
	if t := strings.TrimSpace(s[last:]); t != "" {
		b.WriteString(`<div>` + escapeLines(t) + `</div>`)
	}
	return template.HTML(b.String())
}

var (
	mdHeadingRE = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)
	mdLinkRE    = regexp.MustCompile(`^\[([^\]]*)\]\(([^)\s]*)\)`)
	mdFontRE    = regexp.MustCompile(`(?i)^<font\s+color\s*=\s*(?:"(info|comment|warning)"|'(info|comment|warning)')\s*>`)
)

// renderMarkdown renders WeCom's markdown subset (doc 90236): headings #
// to ######, **bold**, [text](url), `code`, > quotes, and <font
// color="info|comment|warning">. Everything else — HTML included — is
// shown as text.
func renderMarkdown(src string) template.HTML {
	var b strings.Builder
	for _, line := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		switch m := mdHeadingRE.FindStringSubmatch(line); {
		case m != nil:
			fmt.Fprintf(&b, `<div class="md-h md-h%d">%s</div>`, len(m[1]), mdInline(m[2]))
		case strings.HasPrefix(line, ">"):
			b.WriteString(`<blockquote class="md-quote">` + mdInline(strings.TrimSpace(line[1:])) + `</blockquote>`)
		case strings.TrimSpace(line) == "":
			b.WriteString(`<div class="md-gap"></div>`)
		default:
			b.WriteString(`<div>` + mdInline(line) + `</div>`)
		}
	}
	return template.HTML(b.String())
}

// mdInline renders one line's inline markup. Open tags are tracked on a
// stack so the output is always well nested and closed.
func mdInline(s string) string {
	var b strings.Builder
	type tag struct{ open, close string }
	var stack []tag
	closeTo := func(name string) bool {
		i := len(stack) - 1
		for i >= 0 && stack[i].close != name {
			i--
		}
		if i < 0 {
			return false
		}
		for j := len(stack) - 1; j >= i; j-- {
			b.WriteString(stack[j].close)
		}
		reopen := slices.Clone(stack[i+1:])
		stack = stack[:i]
		for _, t := range reopen {
			b.WriteString(t.open)
			stack = append(stack, t)
		}
		return true
	}
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "**"):
			if !closeTo("</strong>") {
				b.WriteString("<strong>")
				stack = append(stack, tag{"<strong>", "</strong>"})
			}
			i += 2
		case rest[0] == '`':
			if j := strings.IndexByte(rest[1:], '`'); j >= 0 {
				b.WriteString("<code>" + html.EscapeString(rest[1:1+j]) + "</code>")
				i += j + 2
			} else {
				b.WriteString("`")
				i++
			}
		case rest[0] == '[':
			if m := mdLinkRE.FindStringSubmatch(rest); m != nil {
				if h, ok := safeHref(m[2]); ok {
					b.WriteString(`<a href="` + h + `" target="_blank" rel="noopener">` + html.EscapeString(m[1]) + `</a>`)
				} else {
					b.WriteString(html.EscapeString(m[0]))
				}
				i += len(m[0])
			} else {
				b.WriteString("[")
				i++
			}
		case rest[0] == '<':
			if m := mdFontRE.FindStringSubmatch(rest); m != nil {
				color := m[1] + m[2]
				open := `<span class="md-` + strings.ToLower(color) + `">`
				b.WriteString(open)
				stack = append(stack, tag{open, "</span>"})
				i += len(m[0])
			} else if len(rest) >= 7 && strings.EqualFold(rest[:7], "</font>") && closeTo("</span>") {
				i += 7
			} else {
				b.WriteString("&lt;")
				i++
			}
		default:
			j := strings.IndexAny(rest, "*`[<")
			if j < 0 {
				j = len(rest)
			} else if j == 0 {
				j = 1 // a lone '*'
			}
			b.WriteString(html.EscapeString(rest[:j]))
			i += j
		}
	}
	for j := len(stack) - 1; j >= 0; j-- {
		b.WriteString(stack[j].close)
	}
	return b.String()
}
