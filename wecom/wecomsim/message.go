package wecomsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Application messages (docs/wecom.md §6): message/send (doc 90236),
// message/recall (94867) and message/get_statistics. Cards are validated
// and updated in card.go; deliveries land in the member inboxes of
// inbox.go.

// Recipient and body limits of message/send.
const (
	maxSendUsers        = 1000
	maxSendParties      = 100
	maxSendTags         = 100
	maxTextBytes        = 2048 // longer text is truncated
	maxMarkdownBytes    = 2048 // longer markdown is refused (45002)
	maxTitleBytes       = 128  // textcard and news titles, truncated
	maxDescriptionBytes = 512  // textcard and news descriptions, truncated
	maxURLBytes         = 2048
	maxBtnTxtRunes      = 4
	maxArticles         = 8
	maxMPNewsContent    = 666 << 10
	maxAuthorBytes      = 64
)

// Duplicate check (enable_duplicate_check): the window is
// duplicate_check_interval seconds, 1800 by default, at most 4 hours.
const (
	defaultDuplicateInterval = 1800 * time.Second
	maxDuplicateInterval     = 4 * time.Hour
)

// RecallWindow is how old a message may be and still be recalled.
const RecallWindow = 24 * time.Hour

// dupEntry is the first of identical message/send requests: a repeat within
// the window gets its answer again and delivers nothing.
type dupEntry struct {
	time time.Time
	resp obj
}

// agentOf checks the body's agentid against the caller: missing 41011;
// not an integer or no such app 40056; another app's agentid 301002
// (doc 90313: the token's app must be the agentid's).
func (s *Sim) agentOf(c *call, f fields) (*App, error) {
	if !f.has("agentid") {
		return nil, errf(41011, "agentid missing")
	}
	var id int64
	if err := json.Unmarshal(f["agentid"], &id); err != nil {
		// A numeric string is accepted: silenceper sends agentid as one.
		var str string
		if json.Unmarshal(f["agentid"], &str) != nil {
			return nil, errf(40056, "agentid %s is not an integer", f["agentid"])
		}
		v, perr := strconv.ParseInt(strings.TrimSpace(str), 10, 64)
		if perr != nil {
			return nil, errf(40056, "agentid %q is not an integer", str)
		}
		id = v
	}
	app := s.apps[id]
	if app == nil {
		return nil, errf(40056, "no app with agentid %d", id)
	}
	if caller := c.cred.appOf(); caller == nil || caller.AgentID != id {
		return nil, errf(301002, "agentid %d is not the token's app (%s)", id, c.cred)
	}
	return app, nil
}

// splitTargets splits a '|' list, dropping empty entries.
func splitTargets(v string) []string {
	var out []string
	for _, p := range strings.Split(v, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// handleMessageSend: POST /cgi-bin/message/send. The checks run in this
// order (WeCom's order is not documented): agentid (41011, 40056, 301002),
// msgtype (40008), undocumented top-level keys (40058: anything but the
// documented keys and the msgtype's own body), recipient counts (82001
// none, 40032 >1000 users, 82002 >100 parties, 82003 >100 tags), safe
// (40074 for news), the body (undocumented keys 40058, then 44004, 41016,
// 41033, 41010, 45034, 45002, 45008, 41006, 40007, card codes 42014 and
// 42027–42051, 40058), the duplicate check, task_id uniqueness (42014),
// and last the recipients themselves (81013 when all are invalid).
func (s *Sim) handleMessageSend(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	app, err := s.agentOf(c, f)
	if err != nil {
		return nil, err
	}
	typ, _, err := f.str("msgtype")
	if err != nil || !validMsgType(typ) {
		return nil, errf(40008, "msgtype %q", typ)
	}
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if !sendKeys[k] && k != typ {
			return nil, errf(40058, "%q is not a documented key of message/send with msgtype %s", k, typ)
		}
	}
	var tgt [3]string
	for i, k := range []string{"touser", "toparty", "totag"} {
		if tgt[i], _, err = f.str(k); err != nil {
			return nil, err
		}
	}
	users, parties, tags := splitTargets(tgt[0]), splitTargets(tgt[1]), splitTargets(tgt[2])
	switch {
	case len(users) == 0 && len(parties) == 0 && len(tags) == 0:
		return nil, errf(82001, "touser, toparty and totag are all empty")
	case len(users) > maxSendUsers:
		return nil, errf(40032, "%d users, at most %d", len(users), maxSendUsers)
	case len(parties) > maxSendParties:
		return nil, errf(82002, "%d parties, at most %d", len(parties), maxSendParties)
	case len(tags) > maxSendTags:
		return nil, errf(82003, "%d tags, at most %d", len(tags), maxSendTags)
	}
	safe, _, err := f.int64("safe")
	if err != nil {
		return nil, err
	}
	switch {
	case typ == msgNews && safe != 0:
		return nil, errf(40074, "news cannot be safe (safe=%d)", safe)
	case safe < 0 || safe > 2 || safe == 2 && typ != msgMPNews:
		return nil, errf(40058, "safe=%d for %s", safe, typ)
	}
	dupCheck, _, err := f.int64("enable_duplicate_check")
	if err != nil {
		return nil, err
	}
	interval := defaultDuplicateInterval
	if secs, ok, err := f.int64("duplicate_check_interval"); err != nil {
		return nil, err
	} else if ok && secs != 0 {
		// Outside (0, 4 h] is refused rather than clamped (the doc gives
		// only the maximum; unconfirmed which the server does).
		if secs < 0 || time.Duration(secs)*time.Second > maxDuplicateInterval {
			return nil, errf(40058, "duplicate_check_interval %d outside 1..%d", secs, int(maxDuplicateInterval.Seconds()))
		}
		interval = time.Duration(secs) * time.Second
	}

	if !f.has(typ) {
		if typ == msgText {
			return nil, errf(44004, "no text object")
		}
		return nil, errf(40058, "no %s object", typ)
	}
	body, card, err := s.validateBody(c, typ, f[typ])
	if err != nil {
		return nil, err
	}

	mg := s.st.msg
	var dupKey string
	if dupCheck == 1 {
		sum := sha256.Sum256(c.body)
		dupKey = hex.EncodeToString(sum[:])
		if d := mg.dups[dupKey]; d != nil && c.now.Sub(d.time) < interval {
			s.log.Info("duplicate message not delivered again", zap.Int64("agent_id", app.AgentID), zap.String("msg_type", typ))
			return cloneObj(d.resp), nil
		}
	}
	if card != nil && card.TaskID != "" {
		if _, dup := mg.tasks[taskKey{app.AgentID, card.TaskID}]; dup {
			// task_id must be unique per app; the reference names no own
			// code for a repeat, so it is 42014 (task_id invalid).
			return nil, errf(42014, "task_id %q already used by app %d", card.TaskID, app.AgentID)
		}
	}

	members, badU, badP, badT := s.resolveRecipients(app, users, parties, tags)
	if len(members) == 0 && len(badU)+len(badP)+len(badT) > 0 {
		return nil, errf(81013, "all recipients invalid: users %v, parties %v, tags %v", badU, badP, badT)
	}

	msg := &sentMsg{ID: newMsgID(), AgentID: app.AgentID, Type: typ, Body: body, Card: card, Time: c.now}
	if card != nil {
		msg.TaskID = card.TaskID
	}
	mg.msgs[msg.ID] = msg
	dropped := s.deliverMessage(app, msg, members)

	resp := obj{"msgid": msg.ID}
	// Empty lists are left out (the reference's sample shows them filled;
	// whether WeCom sends "" or omits them is unconfirmed — clients must
	// accept both).
	if len(badU) > 0 {
		resp["invaliduser"] = strings.Join(badU, "|")
	}
	if len(badP) > 0 {
		resp["invalidparty"] = strings.Join(badP, "|")
	}
	if len(badT) > 0 {
		resp["invalidtag"] = strings.Join(badT, "|")
	}
	if card != nil {
		if card.TaskID != "" {
			t := &task{AgentID: app.AgentID, TaskID: card.TaskID, MsgID: msg.ID, CardType: card.CardType}
			mg.tasks[taskKey{app.AgentID, card.TaskID}] = t
		}
		if interactiveCard(card.CardType) {
			resp["response_code"] = s.newResponseCode(app.AgentID, msg.ID, "", c.now)
		}
	}
	if dupKey != "" {
		mg.pruneDups(c.now)
		mg.dups[dupKey] = &dupEntry{time: c.now, resp: cloneObj(resp)}
	}
	s.log.Info("message sent", zap.Int64("agent_id", app.AgentID), zap.String("msg_type", typ), zap.String("msg_id", msg.ID),
		zap.Int("recipients", len(members)), zap.Int("dropped", dropped),
		zap.Int("invalid", len(badU)+len(badP)+len(badT)))
	return resp, nil
}

func validMsgType(t string) bool {
	_, ok := bodyTypes[t]
	return ok
}

func cloneObj(o obj) obj {
	out := make(obj, len(o))
	for k, v := range o {
		out[k] = v
	}
	return out
}

func (mg *messaging) pruneDups(now time.Time) {
	if len(mg.dups) < 1024 {
		return
	}
	for k, d := range mg.dups {
		if now.Sub(d.time) >= maxDuplicateInterval {
			delete(mg.dups, k)
		}
	}
}

func newMsgID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// deliverable reports whether a member can receive app messages: disabled
// (2) and quit (5) members cannot and count as invalid recipients. A member
// who has not activated yet (4) is accepted — the message waits in the
// inbox (unconfirmed whether WeCom reports them as invalid).
func deliverable(m *member) bool {
	return m.Status == 1 || m.Status == 4
}

// resolveRecipients expands touser/toparty/totag against the app's visible
// range: members in order, deduplicated, and the invalid entries —
// userids lowercased, as WeCom reports them. touser "@all" is the whole
// visible range and makes WeCom ignore toparty and totag. A department
// includes its sub-departments; a tag its members and departments (only
// those in the visible range).
func (s *Sim) resolveRecipients(app *App, users, parties, tags []string) (out []*member, badU, badP, badT []string) {
	st := s.st
	vis := st.visible(app)
	seen := map[*member]bool{}
	add := func(m *member) {
		if !seen[m] && vis.user(m) && deliverable(m) {
			seen[m] = true
			out = append(out, m)
		}
	}
	if slices.Contains(users, "@all") {
		for _, m := range st.sortedMembers() {
			add(m)
		}
		return out, nil, nil, nil
	}
	badSeen := map[string]bool{}
	for _, u := range users {
		m := st.user(u)
		if m == nil || !vis.user(m) || !deliverable(m) {
			if k := strings.ToLower(u); !badSeen[k] {
				badSeen[k] = true
				badU = append(badU, k)
			}
			continue
		}
		add(m)
	}
	for _, p := range parties {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || st.depts[id] == nil || !vis.dept(id) {
			badP = append(badP, p)
			continue
		}
		for _, m := range st.membersOf(id, true) {
			add(m)
		}
	}
	for _, tg := range tags {
		id, err := strconv.ParseInt(tg, 10, 64)
		t := st.tags[id]
		if err != nil || t == nil {
			badT = append(badT, tg)
			continue
		}
		for _, u := range t.UserList {
			if m := st.user(u); m != nil {
				add(m)
			}
		}
		for _, d := range t.PartyList {
			if st.depts[d] != nil {
				for _, m := range st.membersOf(d, true) {
					add(m)
				}
			}
		}
	}
	return out, badU, badP, badT
}

// deliverMessage puts msg in each member's inbox, applying the per-member limit
// (the excess is dropped silently, logged and kept in the inbox as
// Dropped) and WeChat's display rules. It returns how many were dropped.
func (s *Sim) deliverMessage(app *App, msg *sentMsg, members []*member) int {
	mg := s.st.msg
	dropped := 0
	day := statKey{AgentID: app.AgentID, Day: statsDay(msg.Time)}
	for _, m := range members {
		it := InboxItem{MsgID: msg.ID, AgentID: app.AgentID, From: FromApp, MsgType: msg.Type, Time: msg.Time, Body: msg.Body}
		if msg.Card != nil {
			it.Card = cloneCard(msg.Card)
			it.CardState = &CardState{}
		}
		if m.WeChatPlugin && (msg.Type == msgMarkdown || msg.Type == msgTemplateCard) {
			it.NotDisplayed = NotDisplayedInWeChat
		}
		if !s.memberMessageAllowed(app.AgentID, m.UserID, msg.Time) {
			it.Dropped = true
			dropped++
			mg.logDrop(Drop{Time: msg.Time, AgentID: app.AgentID, UserID: m.UserID, MsgID: msg.ID,
				Reason: "over the per-member limit (30/min, 1,000/h per app)"})
			s.log.Info("message dropped by the per-member limit", zap.Int64("agent_id", app.AgentID),
				zap.String("userid", m.UserID), zap.String("msg_id", msg.ID))
		} else {
			mg.stats[day]++
		}
		s.addInbox(m.UserID, it, msg)
		msg.Recipients = append(msg.Recipients, strings.ToLower(m.UserID))
	}
	return dropped
}

// truncateBytes cuts s to at most n bytes on a UTF-8 boundary.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// checkURL: a link must carry its scheme (45034) and fit 2,048 bytes
// (40058).
func checkURL(field, u string) error {
	if len(u) > maxURLBytes {
		return errf(40058, "%s longer than %d bytes", field, maxURLBytes)
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return errf(45034, "%s %q needs http:// or https://", field, u)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Message bodies of message/send as doc 90236 documents them: the
// simulator's own types, not the client's, so that a misspelt tag on
// either side shows up as a refused request. Inboxes store these and the
// phone page renders them.
type (
	textBody struct {
		Content string `json:"content"`
	}
	textCardBody struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		URL         string `json:"url"`
		BtnTxt      string `json:"btntxt,omitempty"`
	}
	newsBody struct {
		Articles []newsArticle `json:"articles"`
	}
	newsArticle struct {
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
		URL         string `json:"url,omitempty"`
		PicURL      string `json:"picurl,omitempty"`
		AppID       string `json:"appid,omitempty"`
		PagePath    string `json:"pagepath,omitempty"`
	}
	markdownBody struct {
		Content string `json:"content"`
	}
	// mediaBody is image, voice and file: only media_id.
	mediaBody struct {
		MediaID string `json:"media_id"`
	}
	videoBody struct {
		MediaID     string `json:"media_id"`
		Title       string `json:"title,omitempty"`
		Description string `json:"description,omitempty"`
	}
	mpnewsBody struct {
		Articles []mpnewsArticle `json:"articles"`
	}
	mpnewsArticle struct {
		Title            string `json:"title"`
		ThumbMediaID     string `json:"thumb_media_id"`
		Author           string `json:"author,omitempty"`
		ContentSourceURL string `json:"content_source_url,omitempty"`
		Content          string `json:"content"`
		Digest           string `json:"digest,omitempty"`
	}
)

// Message types (msgtype) of doc 90236 the simulator delivers.
const (
	msgText         = "text"
	msgImage        = "image"
	msgVoice        = "voice"
	msgVideo        = "video"
	msgFile         = "file"
	msgTextCard     = "textcard"
	msgNews         = "news"
	msgMPNews       = "mpnews"
	msgMarkdown     = "markdown"
	msgTemplateCard = "template_card"
)

// bodyTypes maps each msgtype to its body type; the body's documented keys
// are that type's json tags (see checkKeys).
var bodyTypes = map[string]reflect.Type{
	msgText:         reflect.TypeFor[textBody](),
	msgImage:        reflect.TypeFor[mediaBody](),
	msgVoice:        reflect.TypeFor[mediaBody](),
	msgFile:         reflect.TypeFor[mediaBody](),
	msgVideo:        reflect.TypeFor[videoBody](),
	msgTextCard:     reflect.TypeFor[textCardBody](),
	msgNews:         reflect.TypeFor[newsBody](),
	msgMPNews:       reflect.TypeFor[mpnewsBody](),
	msgMarkdown:     reflect.TypeFor[markdownBody](),
	msgTemplateCard: reflect.TypeFor[Card](),
}

// sendKeys are message/send's documented top-level keys besides the body,
// whose key is the msgtype (doc 90236). enable_id_trans is for
// third-party apps and accepted without effect.
var sendKeys = map[string]bool{
	"touser": true, "toparty": true, "totag": true, "msgtype": true, "agentid": true, "safe": true,
	"enable_id_trans": true, "enable_duplicate_check": true, "duplicate_check_interval": true,
}

// checkKeys refuses a key the API does not document at path: every key of
// raw must be a json tag of t (recursively through objects and arrays).
// Real WeCom answers an invalid parameter with 40058 (doc 90313:
// 不合法的参数); the errmsg names the key. Keys are compared exactly, as
// the server does; encoding/json alone would match them case-insensitively
// and drop unknown ones. Values of the wrong JSON type are left to the
// decoder.
func checkKeys(path string, raw json.RawMessage, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		known := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ft, ok := known[k]
			if !ok {
				return errf(40058, "%s.%s is not a documented key", path, k)
			}
			if err := checkKeys(path+"."+k, m[k], ft); err != nil {
				return err
			}
		}
	case reflect.Slice:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return nil
		}
		for i, e := range arr {
			if err := checkKeys(fmt.Sprintf("%s[%d]", path, i), e, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// onlyKeys refuses a top-level key of api's request outside allowed
// (40058, naming the key).
func onlyKeys(f fields, api string, allowed ...string) error {
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if !slices.Contains(allowed, k) {
			return errf(40058, "%q is not a documented key of %s", k, api)
		}
	}
	return nil
}

// jsonFields maps a struct's json names to their types; "-" fields (the
// reply XML's alternative spellings) are not keys.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// decodeBody checks the body's keys, then decodes it; a wrong JSON type is
// 40058.
func decodeBody(typ string, raw json.RawMessage, dst any) error {
	if err := checkKeys(typ, raw, reflect.TypeOf(dst)); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return errf(40058, "%s: %v", typ, err)
	}
	return nil
}

// validateBody checks one message body and returns it as delivered (texts
// truncated where WeCom truncates) and, for template cards, the card.
func (s *Sim) validateBody(c *call, typ string, raw json.RawMessage) (json.RawMessage, *Card, error) {
	switch typ {
	case msgText:
		var b textBody
		if err := decodeBody(typ, raw, &b); err != nil {
			return nil, nil, err
		}
		if b.Content == "" {
			return nil, nil, errf(44004, "text.content empty")
		}
		b.Content = truncateBytes(b.Content, maxTextBytes)
		return mustJSON(b), nil, nil

	case msgTextCard:
		var b textCardBody
		if err := decodeBody(typ, raw, &b); err != nil {
			return nil, nil, err
		}
		switch {
		case b.Title == "":
			return nil, nil, errf(41016, "textcard.title missing")
		case b.Description == "":
			return nil, nil, errf(41033, "textcard.description missing")
		case b.URL == "":
			return nil, nil, errf(41010, "textcard.url missing")
		}
		if err := checkURL("textcard.url", b.URL); err != nil {
			return nil, nil, err
		}
		// Over-long title, description and button text are cut, as doc
		// 90236 says ("超过会自动截断").
		b.Title = truncateBytes(b.Title, maxTitleBytes)
		b.Description = truncateBytes(b.Description, maxDescriptionBytes)
		b.BtnTxt = truncateRunes(b.BtnTxt, maxBtnTxtRunes)
		return mustJSON(b), nil, nil

	case msgNews:
		var b newsBody
		if err := decodeBody(typ, raw, &b); err != nil {
			return nil, nil, err
		}
		switch {
		case len(b.Articles) == 0:
			return nil, nil, errf(40058, "news.articles empty")
		case len(b.Articles) > maxArticles:
			return nil, nil, errf(45008, "%d articles, at most %d", len(b.Articles), maxArticles)
		}
		for i := range b.Articles {
			a := &b.Articles[i]
			if a.Title == "" {
				return nil, nil, errf(41016, "news.articles[%d].title missing", i)
			}
			switch {
			case a.URL != "":
				if err := checkURL("news.articles.url", a.URL); err != nil {
					return nil, nil, err
				}
			case a.AppID == "" || a.PagePath == "":
				// "小程序或者url必须填写一个"
				return nil, nil, errf(41010, "news.articles[%d] needs url or appid+pagepath", i)
			}
			a.Title = truncateBytes(a.Title, maxTitleBytes)
			a.Description = truncateBytes(a.Description, maxDescriptionBytes)
		}
		return mustJSON(b), nil, nil

	case msgMarkdown:
		var b markdownBody
		if err := decodeBody(typ, raw, &b); err != nil {
			return nil, nil, err
		}
		// Empty markdown is 44004 like text (no own code documented); over
		// 2,048 bytes is 45002 (90313: 消息内容大小超过限制).
		if b.Content == "" {
			return nil, nil, errf(44004, "markdown.content empty")
		}
		if len(b.Content) > maxMarkdownBytes {
			return nil, nil, errf(45002, "markdown.content %d bytes, at most %d", len(b.Content), maxMarkdownBytes)
		}
		return mustJSON(b), nil, nil

	case msgImage, msgVoice, msgFile, msgVideo:
		var b videoBody
		var err error
		if typ == msgVideo {
			err = decodeBody(typ, raw, &b)
		} else {
			var mb mediaBody
			err = decodeBody(typ, raw, &mb)
			b.MediaID = mb.MediaID
		}
		if err != nil {
			return nil, nil, err
		}
		if b.MediaID == "" {
			return nil, nil, errf(41006, "%s.media_id missing", typ)
		}
		m, err := s.lookupMedia(b.MediaID, c.now)
		if err != nil {
			return nil, nil, err
		}
		// 40007 help: the media type must fit the message (no voice file
		// in an image message). A file message takes any upload.
		if typ != msgFile && m.Type != typ {
			return nil, nil, errf(40007, "media %s is %s, not %s", b.MediaID, m.Type, typ)
		}
		if typ != msgVideo {
			return mustJSON(mediaBody{MediaID: b.MediaID}), nil, nil
		}
		return mustJSON(b), nil, nil

	case msgMPNews:
		var b mpnewsBody
		if err := decodeBody(typ, raw, &b); err != nil {
			return nil, nil, err
		}
		switch {
		case len(b.Articles) == 0:
			return nil, nil, errf(40058, "mpnews.articles empty")
		case len(b.Articles) > maxArticles:
			return nil, nil, errf(45008, "%d articles, at most %d", len(b.Articles), maxArticles)
		}
		for i := range b.Articles {
			a := &b.Articles[i]
			switch {
			case a.Title == "":
				return nil, nil, errf(41016, "mpnews.articles[%d].title missing", i)
			case a.ThumbMediaID == "":
				return nil, nil, errf(41006, "mpnews.articles[%d].thumb_media_id missing", i)
			case a.Content == "":
				return nil, nil, errf(40058, "mpnews.articles[%d].content missing", i)
			case len(a.Content) > maxMPNewsContent:
				return nil, nil, errf(45002, "mpnews.articles[%d].content over 666 KB", i)
			case len(a.Author) > maxAuthorBytes:
				return nil, nil, errf(45032, "mpnews.articles[%d].author over %d bytes", i, maxAuthorBytes)
			}
			if _, err := s.lookupMedia(a.ThumbMediaID, c.now); err != nil {
				return nil, nil, err
			}
			a.Title = truncateBytes(a.Title, maxTitleBytes)
			a.Digest = truncateBytes(a.Digest, maxDescriptionBytes)
		}
		return mustJSON(b), nil, nil

	case msgTemplateCard:
		card, err := s.validateCard(raw, true)
		if err != nil {
			return nil, nil, err
		}
		return mustJSON(card), card, nil
	}
	return nil, nil, errf(40008, "msgtype %q", typ)
}

// handleMessageRecall: POST /cgi-bin/message/recall {"msgid"}; any other
// key is 40058 (doc 94867 documents only msgid). Missing or
// unknown msgid, or a message of another app: 40058 (90313 40058 help:
// "撤回消息时报错，请检查发消息和撤回消息是否同一个应用"); 24 h or older: 42052.
// The WeCom-client copies disappear; WeChat-plugin copies stay (§10).
// Recalling twice answers ok (unconfirmed).
func (s *Sim) handleMessageRecall(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if k != "msgid" {
			return nil, errf(40058, "%q is not a documented key of message/recall", k)
		}
	}
	id, _, err := f.str("msgid")
	if err != nil {
		return nil, err
	}
	app := c.cred.appOf()
	msg := s.st.msg.msgs[id]
	switch {
	case id == "":
		return nil, errf(40058, "msgid missing")
	case msg == nil:
		return nil, errf(40058, "unknown msgid %q", id)
	case msg.AgentID != app.AgentID:
		return nil, errf(40058, "msgid %q was sent by app %d, not %d", id, msg.AgentID, app.AgentID)
	case c.now.Sub(msg.Time) >= RecallWindow:
		return nil, errf(42052, "msgid %q sent %s ago", id, c.now.Sub(msg.Time).Round(time.Second))
	}
	if !msg.Recalled {
		msg.Recalled = true
		for _, k := range msg.Recipients {
			if m := s.st.users[k]; m != nil && m.WeChatPlugin {
				continue
			}
			if e := s.st.entryFor(k, id); e != nil {
				e.Recalled = true
			}
		}
		s.log.Info("message recalled", zap.Int64("agent_id", app.AgentID), zap.String("msg_id", id))
	}
	return nil, nil
}

// handleMessageStatistics: POST /cgi-bin/message/get_statistics
// {"time_type":0 today|1 yesterday} → {"statistics":[{"agentid","app_name",
// "count"}]}: person-times delivered per app that day (China time), apps
// without deliveries left out. Other time_type: 40058.
func (s *Sim) handleMessageStatistics(c *call) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	tt, _, err := f.int64("time_type")
	if err != nil {
		return nil, err
	}
	if tt != 0 && tt != 1 {
		return nil, errf(40058, "time_type %d", tt)
	}
	day := statsDay(c.now.AddDate(0, 0, -int(tt)))
	ids := make([]int64, 0, len(s.apps))
	for id := range s.apps {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	list := []any{}
	for _, id := range ids {
		if n := s.st.msg.stats[statKey{AgentID: id, Day: day}]; n > 0 {
			list = append(list, obj{"agentid": id, "app_name": s.apps[id].Name, "count": n})
		}
	}
	return obj{"statistics": list}, nil
}
