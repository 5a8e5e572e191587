package wecomsim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// App group chats (应用群聊, docs/wecom.md §13): appchat/create (doc 90245),
// appchat/update (98913), appchat/get (98914) and appchat/send (90248). The
// chats, their members and the messages sent to them live in state (Reset
// clears them) and are shown to tests and people through AppChats, AppChat
// and GET /sim/api/appchats, /sim/api/appchat?chatid=.
//
// Only app tokens may call (48002 for the contacts-sync secret, from the
// route table). The documented rules:
//   - the app's visible range must be the root department (an empty
//     range, which the simulator reads as the whole corp, counts);
//   - a chat can be read, changed and sent to only by the app that created
//     it (86008);
//   - chatid: at most 32 characters (86205), only 0-9 a-z A-Z (86001),
//     unique (86215); missing on update/get/send 86201, unknown 86003;
//   - userlist 2..2,000 (86006; missing 86204); name at most 50 characters,
//     longer names are cut; owner must be a member (86207), and is required
//     on update when del_user_list removes the current owner (86203);
//   - 1,000 chats created a day (China time) and 1,000 changes an hour,
//     per corp across apps (45009); messages 20,000 person-times a minute
//     and 300,000 an hour per corp (45009); a member receives at most 200
//     messages a minute and 10,000 a day from one app, the excess is
//     dropped without an error.
//
// Choices where the reference is silent (all unconfirmed):
//   - an app whose visible range is not the root is 48002;
//   - a userid that is not in the contacts is 86216 on create as on
//     update (doc 90313's help for 86216 names adding such a member), a
//     disabled or departed member 86007; deleting a non-member is 86216;
//   - an unknown owner is 86005; a userid both added and deleted is 40058;
//   - owner absent on create: the first member (WeCom picks one at random);
//   - a chatid is compared exactly (case matters); a generated one is
//     "wrsim" + 24 hex digits;
//   - members later deleted from the contacts drop out of their chats, as
//     they do from the WeCom client (the chat keeps at least its owner);
//   - appchat/send takes message/send's bodies except template_card
//     (40008) and answers only errcode/errmsg.

// App group chat limits (docs 90245, 98913, 90248, 90454).
const (
	MinAppChatMembers  = 2
	MaxAppChatMembers  = 2000
	MaxAppChatName     = 50 // characters; longer names are cut
	MaxAppChatIDLen    = 32
	AppChatPerDayLimit = 1000 // chats created per corp and China day
)

// App group chat frequency limits, per corp across apps: changes an hour;
// message person-times (members reached) a minute and an hour.
var (
	AppChatUpdateLimit = Limit{PerMinute: -1, PerHour: 1000}
	AppChatSendLimit   = Limit{PerMinute: 20000, PerHour: 300000}
	// AppChatMemberLimit is what one member receives from one app across
	// its chats: 200 a minute (10,000 a day is counted separately).
	AppChatMemberLimit  = Limit{PerMinute: 200, PerHour: -1}
	AppChatMemberPerDay = 10000
)

func init() {
	// Texts of the appchat errcodes (doc 90313); "live" ones quoted from
	// real answers.
	for code, text := range map[int]string{
		86001: "chatid invalid", // live
		86003: "chatid not found",
		86004: "invalid chat name",
		86005: "invalid chat owner",
		86006: "invalid chat member list size", // live
		86007: "invalid chat member",
		86008: "chat not created by this app",
		86201: "chatid missing",
		86203: "chat owner missing",
		86204: "chat member list missing",
		86205: "chatid too long",
		86207: "chat owner not in member list",
		86215: "chatid existed",
		86216: "invalid chat member userid",
	} {
		errTexts[code] = text
	}
}

// AppChat is a group chat an app created, as the simulator holds it.
type AppChat struct {
	ChatID string `json:"chatid"`
	Name   string `json:"name"`
	Owner  string `json:"owner"`
	// UserList are the members in the order they joined.
	UserList []string `json:"userlist"`
	// AgentID is the app that created the chat (the only one that may use it).
	AgentID int64     `json:"agentid"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Messages are what the app sent to the chat, oldest first.
	Messages []AppChatMessage `json:"messages"`
}

// AppChatMessage is one message an app sent to a chat.
type AppChatMessage struct {
	Time    time.Time `json:"time"`
	MsgType string    `json:"msgtype"`
	Safe    int       `json:"safe"`
	// Body is the message's body as delivered (texts cut where WeCom cuts).
	Body json.RawMessage `json:"body"`
	// Recipients are the members at the time (lower-case userids);
	// Dropped those over the per-member limit, who did not get it.
	Recipients []string `json:"recipients"`
	Dropped    []string `json:"dropped,omitempty"`
}

// appChats is the simulator's app group chat state.
type appChats struct {
	chats       map[string]*AppChat // by chatid
	createdDay  string              // China day of createdN
	createdN    int
	perDayLimit int
	memberDayOf string         // China day memberDay counts
	memberDay   map[string]int // "<agentid>:<lower userid>" → messages received that day
}

func (st *state) appChatState() *appChats {
	if st.appchats == nil {
		st.appchats = &appChats{chats: map[string]*AppChat{}, perDayLimit: AppChatPerDayLimit, memberDay: map[string]int{}}
	}
	return st.appchats
}

// SetAppChatCreateLimit changes how many chats the corp may create a day,
// until Reset (tests of the daily limit need not create 1,000 chats).
func (s *Sim) SetAppChatCreateLimit(perDay int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.appChatState().perDayLimit = perDay
}

// rootVisible: the API needs the app's visible range to be the root.
func rootVisible(app *App) error {
	if app.Visible.empty() || slices.Contains(app.Visible.Departments, rootDeptID) {
		return nil
	}
	return errf(48002, "app %d's visible range is not the root department", app.AgentID)
}

func validChatID(id string) *Error {
	if len(id) > MaxAppChatIDLen {
		return errf(86205, "chatid %q is longer than %d characters", id, MaxAppChatIDLen)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return errf(86001, "chatid %q has characters outside 0-9a-zA-Z", id)
		}
	}
	return nil
}

// chatOf finds the chat id for the calling app: 86201, 86001, 86003, 86008.
func (s *Sim) chatOf(c *call, id string) (*AppChat, error) {
	app := c.cred.appOf()
	if err := rootVisible(app); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, errf(86201, "chatid missing")
	}
	if e := validChatID(id); e != nil {
		return nil, e
	}
	ch := s.st.appChatState().chats[id]
	if ch == nil {
		return nil, errf(86003, "no chat %q", id)
	}
	if ch.AgentID != app.AgentID {
		return nil, errf(86008, "chat %q was created by app %d, not %d", id, ch.AgentID, app.AgentID)
	}
	s.pruneChat(ch)
	return ch, nil
}

// pruneChat drops members deleted from the contacts since they joined.
func (s *Sim) pruneChat(ch *AppChat) {
	ch.UserList = slices.DeleteFunc(ch.UserList, func(u string) bool {
		return s.st.user(u) == nil && !strings.EqualFold(u, ch.Owner)
	})
}

// chatMember resolves a userid to add: 86216 unknown, 86007 disabled or
// departed.
func (s *Sim) chatMember(userid string) (*member, error) {
	m := s.st.user(userid)
	if m == nil {
		return nil, errf(86216, "userid %q not found", userid)
	}
	if !deliverable(m) {
		return nil, errf(86007, "member %q is disabled or has left (status %d)", m.UserID, m.Status)
	}
	return m, nil
}

// handleAppChatCreate: POST /cgi-bin/appchat/create
// {"name","owner","userlist","chatid"} → {"chatid"}.
func (s *Sim) handleAppChatCreate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app := c.cred.appOf()
	if err := rootVisible(app); err != nil {
		return nil, err
	}
	if err := onlyKeys(f, "appchat/create", "name", "owner", "userlist", "chatid"); err != nil {
		return nil, err
	}
	id, _, err := f.str("chatid")
	if err != nil {
		return nil, err
	}
	ac := s.st.appChatState()
	if id != "" {
		if e := validChatID(id); e != nil {
			return nil, e
		}
		if ac.chats[id] != nil {
			return nil, errf(86215, "chatid %q exists", id)
		}
	}
	ids, ok, err := f.strs("userlist")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(86204, "userlist missing")
	}
	var members []string
	seen := map[string]bool{}
	for _, u := range ids {
		m, err := s.chatMember(u)
		if err != nil {
			return nil, err
		}
		if k := strings.ToLower(m.UserID); !seen[k] {
			seen[k] = true
			members = append(members, m.UserID)
		}
	}
	if n := len(members); n < MinAppChatMembers || n > MaxAppChatMembers {
		return nil, errf(86006, "%d distinct members, want %d..%d", n, MinAppChatMembers, MaxAppChatMembers)
	}
	name, _, err := f.str("name")
	if err != nil {
		return nil, err
	}
	owner, _, err := f.str("owner")
	if err != nil {
		return nil, err
	}
	if owner == "" {
		owner = members[0]
	} else {
		m := s.st.user(owner)
		if m == nil {
			return nil, errf(86005, "owner %q not found", owner)
		}
		if !seen[strings.ToLower(m.UserID)] {
			return nil, errf(86207, "owner %q is not in userlist", owner)
		}
		owner = m.UserID
	}
	day := statsDay(c.now)
	if ac.createdDay != day {
		ac.createdDay, ac.createdN = day, 0
	}
	if ac.perDayLimit > 0 && ac.createdN >= ac.perDayLimit {
		return nil, errf(45009, "%d chats created today (%s), at most %d a day", ac.createdN, day, ac.perDayLimit)
	}
	if id == "" {
		for id == "" || ac.chats[id] != nil {
			id = "wrsim" + randomHex(12)
		}
	}
	ac.createdN++
	ac.chats[id] = &AppChat{ChatID: id, Name: truncateRunes(name, MaxAppChatName), Owner: owner, UserList: members,
		AgentID: app.AgentID, Created: c.now, Updated: c.now}
	s.log.Info("app chat created", zap.Int64("agent_id", app.AgentID), zap.String("chatid", id), zap.Int("members", len(members)))
	return obj{"chatid": id}, nil
}

// handleAppChatUpdate: POST /cgi-bin/appchat/update
// {"chatid","name","owner","add_user_list","del_user_list"}.
func (s *Sim) handleAppChatUpdate(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(f, "appchat/update", "chatid", "name", "owner", "add_user_list", "del_user_list"); err != nil {
		return nil, err
	}
	id, _, err := f.str("chatid")
	if err != nil {
		return nil, err
	}
	ch, err := s.chatOf(c, id)
	if err != nil {
		return nil, err
	}
	add, _, err := f.strs("add_user_list")
	if err != nil {
		return nil, err
	}
	del, _, err := f.strs("del_user_list")
	if err != nil {
		return nil, err
	}
	name, _, err := f.str("name")
	if err != nil {
		return nil, err
	}
	owner, _, err := f.str("owner")
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, u := range ch.UserList {
		in[strings.ToLower(u)] = true
	}
	final := slices.Clone(ch.UserList)
	adding := map[string]bool{}
	for _, u := range add {
		m, err := s.chatMember(u)
		if err != nil {
			return nil, err
		}
		k := strings.ToLower(m.UserID)
		if !in[k] && !adding[k] {
			final = append(final, m.UserID)
		}
		adding[k] = true
	}
	deleting := map[string]bool{}
	for _, u := range del {
		k := strings.ToLower(u)
		if adding[k] {
			return nil, errf(40058, "userid %q both added and deleted", u)
		}
		if !in[k] {
			return nil, errf(86216, "userid %q is not in chat %q", u, id)
		}
		deleting[k] = true
	}
	final = slices.DeleteFunc(final, func(u string) bool { return deleting[strings.ToLower(u)] })
	newOwner := ch.Owner
	if owner != "" {
		m := s.st.user(owner)
		if m == nil {
			return nil, errf(86005, "owner %q not found", owner)
		}
		newOwner = m.UserID
	} else if deleting[strings.ToLower(ch.Owner)] {
		return nil, errf(86203, "del_user_list removes the owner %q without naming a new one", ch.Owner)
	}
	if !slices.ContainsFunc(final, func(u string) bool { return strings.EqualFold(u, newOwner) }) {
		return nil, errf(86207, "owner %q would not be a member", newOwner)
	}
	if len(final) > MaxAppChatMembers {
		return nil, errf(86006, "%d members, at most %d", len(final), MaxAppChatMembers)
	}
	if e := s.countWindow("appchat:update", AppChatUpdateLimit, c.now); e != nil {
		return nil, e
	}
	ch.UserList, ch.Owner, ch.Updated = final, newOwner, c.now
	if name != "" {
		ch.Name = truncateRunes(name, MaxAppChatName)
	}
	s.log.Info("app chat updated", zap.String("chatid", id), zap.Int("added", len(add)), zap.Int("deleted", len(del)), zap.String("owner", newOwner))
	return nil, nil
}

// handleAppChatGet: GET /cgi-bin/appchat/get?chatid= → {"chat_info"}.
func (s *Sim) handleAppChatGet(c *call) (obj, error) {
	ch, err := s.chatOf(c, c.query.Get("chatid"))
	if err != nil {
		return nil, err
	}
	return obj{"chat_info": obj{"chatid": ch.ChatID, "name": ch.Name, "owner": ch.Owner,
		"userlist": slices.Clone(ch.UserList), "chat_type": 0}}, nil
}

// appChatSendKeys are appchat/send's top-level keys besides the body.
var appChatSendKeys = map[string]bool{"chatid": true, "msgtype": true, "safe": true}

// handleAppChatSend: POST /cgi-bin/appchat/send {"chatid","msgtype",
// "<msgtype>":{…},"safe"}.
func (s *Sim) handleAppChatSend(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	id, _, err := f.str("chatid")
	if err != nil {
		return nil, err
	}
	ch, err := s.chatOf(c, id)
	if err != nil {
		return nil, err
	}
	typ, _, err := f.str("msgtype")
	if err != nil || !validMsgType(typ) || typ == msgTemplateCard {
		return nil, errf(40008, "msgtype %q cannot be sent to a chat", typ)
	}
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if !appChatSendKeys[k] && k != typ {
			return nil, errf(40058, "%q is not a documented key of appchat/send with msgtype %s", k, typ)
		}
	}
	safe, _, err := f.int64("safe")
	if err != nil {
		return nil, err
	}
	switch {
	case typ == msgNews && safe != 0:
		return nil, errf(40074, "news cannot be safe (safe=%d)", safe)
	case safe != 0 && safe != 1:
		return nil, errf(40058, "safe=%d", safe)
	}
	if !f.has(typ) {
		if typ == msgText {
			return nil, errf(44004, "no text object")
		}
		return nil, errf(40058, "no %s object", typ)
	}
	body, _, err := s.validateBody(c, typ, f[typ])
	if err != nil {
		return nil, err
	}
	if e := s.countPersons("appchat:send", AppChatSendLimit, len(ch.UserList), c.now); e != nil {
		return nil, e
	}
	msg := AppChatMessage{Time: c.now, MsgType: typ, Safe: int(safe), Body: body}
	ac := s.st.appChatState()
	if day := statsDay(c.now); ac.memberDayOf != day {
		ac.memberDayOf = day
		clear(ac.memberDay)
	}
	for _, u := range ch.UserList {
		k := strings.ToLower(u)
		msg.Recipients = append(msg.Recipients, k)
		key := strconv.FormatInt(ch.AgentID, 10) + ":" + k
		w := s.st.limits["appchat:member:"+key]
		if w == nil {
			w = &window{}
			s.st.limits["appchat:member:"+key] = w
		}
		if ac.memberDay[key] >= AppChatMemberPerDay || !w.take(c.now, AppChatMemberLimit, false) {
			msg.Dropped = append(msg.Dropped, k)
			s.log.Info("chat message dropped by the per-member limit", zap.String("chatid", id), zap.String("userid", u))
			continue
		}
		ac.memberDay[key]++
	}
	ch.Messages = append(ch.Messages, msg)
	s.log.Info("chat message sent", zap.String("chatid", id), zap.String("msg_type", typ),
		zap.Int("recipients", len(msg.Recipients)), zap.Int("dropped", len(msg.Dropped)))
	return nil, nil
}

// countPersons takes n from the named window at once, or nothing: 45009
// (and the window's block) when n do not fit.
func (s *Sim) countPersons(key string, l Limit, n int, now time.Time) *Error {
	w := s.st.limits[key]
	if w == nil {
		w = &window{}
		s.st.limits[key] = w
	}
	probe := *w
	for range n {
		if !probe.take(now, l, true) {
			w.blockedUntil = probe.blockedUntil // the full window blocks, as the pipeline's do
			return errf(45009, "%s: %d person-times do not fit, blocked until %s", key, n, w.blockedUntil.Format(time.RFC3339))
		}
	}
	*w = probe
	return nil
}

func cloneAppChat(ch *AppChat) AppChat {
	out := *ch
	out.UserList = slices.Clone(ch.UserList)
	out.Messages = make([]AppChatMessage, len(ch.Messages))
	for i, m := range ch.Messages {
		m.Recipients = slices.Clone(m.Recipients)
		m.Dropped = slices.Clone(m.Dropped)
		m.Body = slices.Clone(m.Body)
		out.Messages[i] = m
	}
	return out
}

// AppChats returns every app group chat, by chatid, with members and
// messages.
func (s *Sim) AppChats() []AppChat {
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.st.appChatState()
	out := make([]AppChat, 0, len(ac.chats))
	for _, id := range slices.Sorted(maps.Keys(ac.chats)) {
		ch := ac.chats[id]
		s.pruneChat(ch)
		out = append(out, cloneAppChat(ch))
	}
	return out
}

// AppChat returns one chat with its members and messages.
func (s *Sim) AppChat(chatID string) (AppChat, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.st.appChatState().chats[chatID]
	if ch == nil {
		return AppChat{}, false
	}
	s.pruneChat(ch)
	return cloneAppChat(ch), true
}

// AppChatsOf lists the chats member userid is in, by chatid.
func (s *Sim) AppChatsOf(userid string) []AppChat {
	var out []AppChat
	for _, ch := range s.AppChats() {
		if slices.ContainsFunc(ch.UserList, func(u string) bool { return strings.EqualFold(u, userid) }) {
			out = append(out, ch)
		}
	}
	return out
}

// LeaveAppChat takes member userid out of a chat as the member would in
// the WeCom client (the owner cannot leave without handing over). It
// reports whether the member was in the chat.
func (s *Sim) LeaveAppChat(chatID, userid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.st.appChatState().chats[chatID]
	if ch == nil || strings.EqualFold(ch.Owner, userid) {
		return false
	}
	n := len(ch.UserList)
	ch.UserList = slices.DeleteFunc(ch.UserList, func(u string) bool { return strings.EqualFold(u, userid) })
	return len(ch.UserList) < n
}

// AppChatSummary is a chat without its messages' bodies, for listings.
type AppChatSummary struct {
	ChatID   string    `json:"chatid"`
	Name     string    `json:"name"`
	Owner    string    `json:"owner"`
	AgentID  int64     `json:"agentid"`
	Members  int       `json:"members"`
	Messages int       `json:"messages"`
	Updated  time.Time `json:"updated"`
}

// adminAppChats registers GET appchats[?userid=] → {"chats":[AppChatSummary…]}
// (every chat, or the member's) and GET appchat?chatid= → AppChat (86003
// for an unknown chat).
func (s *Sim) adminAppChats(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AdminPrefix+"appchats", func(w http.ResponseWriter, r *http.Request) {
		var chats []AppChat
		if u := r.URL.Query().Get("userid"); u != "" {
			chats = s.AppChatsOf(u)
		} else {
			chats = s.AppChats()
		}
		out := make([]AppChatSummary, 0, len(chats))
		for _, ch := range chats {
			out = append(out, AppChatSummary{ChatID: ch.ChatID, Name: ch.Name, Owner: ch.Owner, AgentID: ch.AgentID,
				Members: len(ch.UserList), Messages: len(ch.Messages), Updated: ch.Updated})
		}
		writeJSON(w, obj{"chats": out})
	})
	mux.HandleFunc("GET "+AdminPrefix+"appchat", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("chatid")
		ch, ok := s.AppChat(id)
		if !ok {
			writeAdminWeCom(w, nil, errf(86003, "no chat %q", id))
			return
		}
		writeJSON(w, ch)
	})
}

// chatView is one group chat on a member's phone page.
type chatView struct {
	ChatID  string
	Name    string
	Owner   string
	Members int
	Initial string
	Color   string
	Items   []itemView // the latest messages the member received, oldest first
}

// phoneChatMessages is how many of a chat's latest messages the phone shows.
const phoneChatMessages = 20

// chatViews lists the chats member m is in, for the phone page. Runs under
// s.mu.
func (s *Sim) chatViews(m *member) []chatView {
	ac := s.st.appchats
	if ac == nil {
		return nil
	}
	key := strings.ToLower(m.UserID)
	var out []chatView
	for _, id := range slices.Sorted(maps.Keys(ac.chats)) {
		ch := ac.chats[id]
		s.pruneChat(ch)
		if !slices.ContainsFunc(ch.UserList, func(u string) bool { return strings.EqualFold(u, key) }) {
			continue
		}
		owner := ch.Owner
		if o := s.st.user(owner); o != nil {
			owner = o.Name
		}
		appName := ""
		if app := s.apps[ch.AgentID]; app != nil {
			appName = app.Name
		}
		v := chatView{ChatID: ch.ChatID, Name: ch.Name, Owner: owner, Members: len(ch.UserList), Initial: initial(ch.Name), Color: avatarColor(ch.ChatID)}
		for i, msg := range ch.Messages {
			if !slices.Contains(msg.Recipients, key) || slices.Contains(msg.Dropped, key) {
				continue
			}
			it := InboxItem{MsgID: ch.ChatID + "-" + strconv.Itoa(i), AgentID: ch.AgentID, App: appName, From: FromApp,
				MsgType: msg.MsgType, Time: msg.Time, Body: msg.Body}
			if m.WeChatPlugin && msg.MsgType == msgMarkdown {
				it.NotDisplayed = NotDisplayedInWeChat
			}
			v.Items = append(v.Items, s.itemView(&it, ""))
		}
		if n := len(v.Items); n > phoneChatMessages {
			v.Items = v.Items[n-phoneChatMessages:]
		}
		out = append(out, v)
	}
	return out
}
