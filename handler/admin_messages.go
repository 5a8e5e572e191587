package handler

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
)

// The console's mass messaging (消息群发): compose a notice, choose
// recipients by tag, department, role or everyone, count and preview it
// (as WeCom shows it, and as a WeChat-plugin member gets it), send it now
// or at a time, follow its delivery, recall it. A broadcast reaching more
// members than Deps.BroadcastApproval is saved as a draft another admin
// must approve. Everything is audited with the admin's address.

// ConsoleProducer is the console's producer name in the outbox.
const ConsoleProducer = "console"

// DefaultBroadcastApproval is the reach above which a console broadcast
// needs a second admin, when Deps.BroadcastApproval is 0.
const DefaultBroadcastApproval = 1000

// approvalThreshold is the reach above which a second admin approves;
// negative Deps.BroadcastApproval turns approval off.
func (s *server) approvalThreshold() int {
	switch {
	case s.BroadcastApproval == 0:
		return DefaultBroadcastApproval
	case s.BroadcastApproval < 0:
		return -1
	}
	return s.BroadcastApproval
}

// composed is a message as the console composed it: what a draft keeps
// until it is approved (message_drafts.message).
type composed struct {
	MsgType string            `json:"msgtype"`
	Body    json.RawMessage   `json:"body"`
	To      notify.Recipients `json:"to"`
	SendAt  int64             `json:"send_at,omitempty"` // Unix ms, 0 now
	Summary string            `json:"summary"`
}

func (m composed) message(actor, key string) notify.Message {
	msg := notify.Message{Producer: ConsoleProducer, IdempotencyKey: key, Lane: notify.LaneBroadcast, To: m.To,
		Content: notify.Content{MsgType: m.MsgType, Body: m.Body}, Actor: actor}
	if m.SendAt > 0 {
		msg.SendAt = store.Time(m.SendAt)
	}
	return msg
}

var formToken = regexp.MustCompile(`^[0-9a-f]{32}$`)

func newFormToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errNoNotify answers the console's message pages on a deployment
// without the message center.
var errNoNotify = badRequest{"消息中心没有配置，不能发送消息。"}

// readCompose reads the compose form: the form as typed (to show it
// again), the message, and the problems by field.
func (s *server) readCompose(c *gin.Context) (h5.MessageForm, composed, map[string]string) {
	fe := map[string]string{}
	f := h5.MessageForm{
		MsgType: c.PostForm("msgtype"), Title: strings.TrimSpace(c.PostForm("title")), Content: strings.TrimSpace(strings.ReplaceAll(c.PostForm("content"), "\r\n", "\n")),
		URL: strings.TrimSpace(c.PostForm("url")), BtnTxt: strings.TrimSpace(c.PostForm("btntxt")), PicURL: strings.TrimSpace(c.PostForm("picurl")),
		SendAt: strings.TrimSpace(c.PostForm("send_at")), Children: c.PostForm("children") == "1", All: c.PostForm("all") == "1",
		UserIDs: strings.TrimSpace(c.PostForm("userids")), Token: c.PostForm("token"),
	}
	if !formToken.MatchString(f.Token) {
		f.Token = newFormToken()
	}
	var m composed
	m.MsgType = f.MsgType
	m.To.All = f.All
	for _, v := range c.PostFormArray("tag") {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && !slices.Contains(m.To.Tags, id) {
			m.To.Tags = append(m.To.Tags, id)
		}
	}
	for _, v := range c.PostFormArray("dept") {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			m.To.Departments = append(m.To.Departments, notify.Department{ID: id, Children: f.Children})
		}
	}
	for _, v := range c.PostFormArray("role") {
		if v != "" && !slices.Contains(m.To.Roles, v) {
			m.To.Roles = append(m.To.Roles, v)
		}
	}
	m.To.UserIDs = splitList(f.UserIDs)
	if m.To.Empty() {
		fe["to"] = "请选择接收人：标签、部门、角色、成员或全体"
	}
	if f.SendAt != "" {
		at, err := time.ParseInLocation("2006-01-02T15:04", f.SendAt, time.Local)
		switch {
		case err != nil:
			fe["send_at"] = "时间格式不正确"
		case at.Before(s.Now().Add(-time.Minute)):
			fe["send_at"] = "定时发送的时间已经过去"
		default:
			m.SendAt = store.Millis(at)
		}
	}
	link := f.URL
	if link == "" {
		link = strings.TrimRight(s.PublicURL, "/") + "/app/messages"
	} else if safeLink(link) == "" {
		fe["url"] = "链接需以 http:// 或 https:// 开头"
	}
	need := func(field, v, msg string) {
		if v == "" {
			fe[field] = msg
		}
	}
	var body any
	switch f.MsgType {
	case notify.MsgText:
		need("content", f.Content, "请填写消息内容")
		body = map[string]string{"content": f.Content}
	case notify.MsgMarkdown:
		need("content", f.Content, "请填写消息内容")
		body = map[string]string{"content": f.Content}
	case notify.MsgTextCard:
		need("title", f.Title, "请填写标题")
		need("content", f.Content, "请填写描述")
		body = map[string]string{"title": f.Title, "description": f.Content, "url": link, "btntxt": f.BtnTxt}
		if f.BtnTxt == "" {
			body = map[string]string{"title": f.Title, "description": f.Content, "url": link}
		}
	case notify.MsgNews:
		need("title", f.Title, "请填写标题")
		a := map[string]string{"title": f.Title, "description": f.Content, "url": link}
		if f.PicURL != "" {
			if safeLink(f.PicURL) == "" {
				fe["picurl"] = "图片链接需以 http:// 或 https:// 开头"
			}
			a["picurl"] = f.PicURL
		}
		body = map[string]any{"articles": []any{a}}
	case notify.MsgTemplateCard:
		need("title", f.Title, "请填写标题")
		body = map[string]any{"card_type": "text_notice", "source": map[string]string{"desc": producerLabel(ConsoleProducer)},
			"main_title": map[string]string{"title": f.Title}, "sub_title_text": f.Content,
			"jump_list":   []any{map[string]any{"type": 1, "title": "查看详情", "url": link}},
			"card_action": map[string]any{"type": 1, "url": link}}
	default:
		fe["msgtype"] = "请选择消息类型"
		f.MsgType = notify.MsgText
	}
	// WeCom's limits (docs/wecom.md §6), said here in words, so that a
	// draft waiting for approval is one WeCom will take.
	switch {
	case (f.MsgType == notify.MsgText || f.MsgType == notify.MsgMarkdown) && len(f.Content) > 2048:
		fe["content"] = fmt.Sprintf("内容最多 2,048 字节（约 680 个汉字），现在 %d 字节", len(f.Content))
	case f.MsgType == notify.MsgTextCard && len(f.Content) > 512:
		fe["content"] = fmt.Sprintf("文本卡片的描述最多 512 字节（约 170 个汉字），现在 %d 字节", len(f.Content))
	case f.MsgType == notify.MsgNews && len(f.Content) > 512:
		fe["content"] = fmt.Sprintf("图文的描述最多 512 字节（约 170 个汉字），现在 %d 字节", len(f.Content))
	}
	if len(f.Title) > 128 {
		fe["title"] = fmt.Sprintf("标题最多 128 字节（约 42 个汉字），现在 %d 字节", len(f.Title))
	}
	if f.MsgType == notify.MsgTextCard && utf8.RuneCountInString(f.BtnTxt) > 4 {
		fe["btntxt"] = "按钮文字最多 4 个字"
	}
	if len(link) > 2048 {
		fe["url"] = "链接最多 2,048 字节"
	}
	if body != nil {
		m.Body, _ = json.Marshal(body)
	}
	m.Summary, _ = contentTitle(m.MsgType, string(m.Body))
	return f, m, fe
}

// pickers fills the form's recipient choices, the chosen ones checked.
func (s *server) pickers(c *gin.Context, f *h5.MessageForm) error {
	ctx := c.Request.Context()
	checked := func(name string) map[string]bool {
		out := map[string]bool{}
		for _, v := range c.PostFormArray(name) {
			out[v] = true
		}
		return out
	}
	tagOn, deptOn, roleOn := checked("tag"), checked("dept"), checked("role")
	tags, err := s.DB.ListMirrorTags(ctx, nil)
	if err != nil {
		return err
	}
	for _, t := range tags {
		v := strconv.FormatInt(t.ID, 10)
		f.Tags = append(f.Tags, h5.AdminOption{Value: v, Name: t.Name, Checked: tagOn[v]})
	}
	depts, err := s.DB.ListMirrorDepartments(ctx, nil)
	if err != nil {
		return err
	}
	children := map[int64][]store.MirrorDepartment{}
	known := map[int64]bool{}
	for _, d := range depts {
		known[d.ID] = true
	}
	for _, d := range depts {
		parent := d.ParentID
		if !known[parent] {
			parent = 0 // the roots (and any orphan) at the top
		}
		children[parent] = append(children[parent], d)
	}
	var walk func(parent int64, depth int)
	walk = func(parent int64, depth int) {
		for _, d := range children[parent] {
			if d.ID == parent {
				continue
			}
			v := strconv.FormatInt(d.ID, 10)
			f.Depts = append(f.Depts, h5.AdminOption{Value: v, Name: d.Name, Depth: depth, Checked: deptOn[v]})
			walk(d.ID, depth+1)
		}
	}
	walk(0, 0)
	roles, err := s.Workbench.Roles(ctx)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if r.Enabled {
			f.Roles = append(f.Roles, h5.AdminOption{Value: r.Key, Name: r.Name, Checked: roleOn[r.Key]})
		}
	}
	return nil
}

// adminMessages is the compose page with the drafts waiting for approval
// and the messages sent from the console.
func (s *server) adminMessages(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	if s.Notify == nil {
		return errNoNotify
	}
	f := h5.MessageForm{MsgType: notify.MsgText, Children: true, Token: newFormToken()}
	if err := s.pickers(c, &f); err != nil {
		return err
	}
	return s.renderMessages(c, http.StatusOK, f, nil, nil)
}

func (s *server) renderMessages(c *gin.Context, status int, f h5.MessageForm, fe map[string]string, fill func(v *h5.AdminMessages)) error {
	ctx := c.Request.Context()
	v := h5.AdminMessages{AdminPage: s.adminPage(c, "消息群发", "/admin/messages"), Form: f, FieldError: fe, Threshold: s.approvalThreshold()}
	if fill != nil {
		fill(&v)
	}
	me := principal(c).UserID
	drafts, err := s.DB.MessageDrafts(ctx, store.DraftPending, 50)
	if err != nil {
		return err
	}
	for _, d := range drafts {
		var m composed
		_ = json.Unmarshal([]byte(d.Message), &m)
		row := h5.AdminMessageRow{ID: d.ID, Summary: d.Summary, MsgType: m.MsgType, By: d.CreatedBy, At: fmtMillis(d.CreatedAt), Reach: d.Reach, Mine: d.CreatedBy == me,
			State: d.State, Href: "/admin/messages/drafts/" + strconv.FormatInt(d.ID, 10)}
		if m.SendAt > 0 {
			row.SendAt = fmtMillis(m.SendAt)
		}
		v.Drafts = append(v.Drafts, row)
	}
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	const pageSize = 30
	sent, err := s.DB.OutboxMessagesOf(ctx, ConsoleProducer, before, pageSize+1)
	if err != nil {
		return err
	}
	if len(sent) > pageSize {
		sent = sent[:pageSize]
		v.Next = sent[pageSize-1].ID
	}
	for _, m := range sent {
		title, _ := contentTitle(m.MsgType, m.Body)
		v.Sent = append(v.Sent, h5.AdminMessageRow{ID: m.ID, Href: "/admin/messages/" + strconv.FormatInt(m.ID, 10), Summary: title, MsgType: m.MsgType,
			By: m.Actor, At: fmtMillis(m.CreatedAt), SendAt: fmtMillis(m.SendAt), State: m.State, Named: m.Named})
	}
	return s.render(c, status, "admin_messages", v)
}

func fmtMillis(ms int64) string {
	if ms == 0 {
		return ""
	}
	return store.Time(ms).Local().Format("2006-01-02 15:04")
}

// preview is the composed message as WeCom shows it and, for the types
// WeChat cannot show, the textcard a WeChat-plugin member gets instead
// (notify's wire: title, description, a link to the full text).
func (s *server) preview(m composed) *h5.MessagePreview {
	p := &h5.MessagePreview{WeCom: renderContent(m.MsgType, string(m.Body))}
	if m.MsgType == notify.MsgMarkdown || m.MsgType == notify.MsgTemplateCard {
		// Exactly what the dispatcher will send a plugin member.
		title, desc := notify.Plain(notify.Content{MsgType: m.MsgType, Body: m.Body})
		if desc == "" {
			desc = "点击查看详情"
		}
		p.WeChat = &h5.MsgCard{Title: title, Desc: desc, Action: strings.TrimRight(s.PublicURL, "/") + "/app/messages/…", Button: "详情"}
	}
	return p
}

// adminMessagesPost counts, previews or sends the composed message
// (action count, preview or send).
func (s *server) adminMessagesPost(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	if s.Notify == nil {
		return errNoNotify
	}
	ctx := c.Request.Context()
	f, m, fe := s.readCompose(c)
	if err := s.pickers(c, &f); err != nil {
		return err
	}
	action := c.PostForm("action")
	members := -1
	if _, bad := fe["to"]; !bad {
		n, _, err := s.Notify.Count(ctx, m.To)
		if err != nil {
			return err
		}
		members = n
	}
	// The preview needs a message: not on a count, not with its text wrong.
	previewable := action != "count" && len(m.Body) > 0 && fe["content"] == "" && fe["title"] == "" && fe["msgtype"] == ""
	show := func(status int) error {
		return s.renderMessages(c, status, f, fe, func(v *h5.AdminMessages) {
			v.Counted, v.Members = members >= 0, max(members, 0)
			if previewable {
				v.Preview = s.preview(m)
			}
		})
	}
	if action != "send" {
		if action == "count" {
			// Only the recipients matter for counting.
			for k := range fe {
				if k != "to" {
					delete(fe, k)
				}
			}
		}
		return show(http.StatusOK)
	}
	if len(fe) > 0 {
		return show(http.StatusBadRequest)
	}
	if members == 0 {
		fe["to"] = "所选接收人中没有成员"
		return show(http.StatusBadRequest)
	}
	me := principal(c).UserID
	if th := s.approvalThreshold(); th >= 0 && members > th {
		return s.saveDraft(c, f, m, members)
	}
	rc, err := s.Notify.Submit(ctx, m.message(me, "form:"+f.Token))
	var ie *notify.InvalidError
	if errors.As(err, &ie) {
		field := "content"
		if strings.HasPrefix(ie.Field, "to") {
			field = "to"
		}
		fe[field] = "企业微信不接受这条消息：" + ie.Field + " " + ie.Problem
		return show(http.StatusBadRequest)
	}
	if err != nil {
		return err
	}
	to := "/admin/messages/" + strconv.FormatInt(rc.ID, 10)
	if rc.Duplicate {
		// The same form again (a double click, a resubmit): sent once.
		return saved(c, to, "这张表单已经发送过，没有重复发送")
	}
	if err := s.auditMessage(c, "message.send", rc.ID, m, members, ""); err != nil {
		return err
	}
	return saved(c, to, "消息已提交发送")
}

// auditMessage records who sent what to whom, when and from where.
func (s *server) auditMessage(c *gin.Context, action string, id int64, m composed, members int, approvedDraft string) error {
	after := map[string]any{"msgtype": m.MsgType, "summary": m.Summary, "to": m.To, "members": members, "lane": notify.LaneBroadcast.String()}
	if m.SendAt > 0 {
		after["send_at"] = store.Time(m.SendAt)
	}
	if approvedDraft != "" {
		after["draft"] = approvedDraft
	}
	e, err := store.Audit(actor(c), action, "message/"+strconv.FormatInt(id, 10), nil, after, s.Now())
	if err != nil {
		return err
	}
	return s.DB.InsertAudit(c.Request.Context(), nil, e)
}

// saveDraft keeps a broadcast above the threshold for a second admin.
func (s *server) saveDraft(c *gin.Context, f h5.MessageForm, m composed, members int) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	me := principal(c).UserID
	now := s.Now()
	e, err := store.Audit(actor(c), "message.draft", "", nil, map[string]any{"msgtype": m.MsgType, "summary": m.Summary, "to": m.To, "members": members}, now)
	if err != nil {
		return err
	}
	id, dup, err := s.DB.InsertMessageDraft(c.Request.Context(), store.MessageDraft{CreatedBy: me, CreatedAt: store.Millis(now), FormToken: f.Token,
		Summary: m.Summary, Message: string(raw), Reach: members}, e)
	if err != nil {
		return err
	}
	if dup {
		return saved(c, "/admin/messages", fmt.Sprintf("这张表单已经提交过审批（草稿 %d），没有重复提交", id))
	}
	logctx.L(c.Request.Context(), s.log).Info("broadcast waits for approval", zap.Int64("draft", id), zap.String("by", me), zap.Int("members", members))
	return saved(c, "/admin/messages", fmt.Sprintf("这条消息将发给 %d 人，超过 %d 人需要另一位管理员批准，已提交审批（草稿 %d）", members, s.approvalThreshold(), id))
}

func draftID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, store.ErrNotFound
	}
	return id, nil
}

// adminApproveDraft: another admin with the message permission approves a
// waiting broadcast, which is then sent.
func (s *server) adminApproveDraft(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	if s.Notify == nil {
		return errNoNotify
	}
	ctx := c.Request.Context()
	id, err := draftID(c)
	if err != nil {
		return err
	}
	d, err := s.DB.GetMessageDraft(ctx, id)
	if err != nil {
		return err
	}
	me := principal(c).UserID
	switch {
	case d.State != store.DraftPending:
		return saved(c, "/admin/messages", "这条消息已经处理过了")
	case strings.EqualFold(d.CreatedBy, me):
		c.Redirect(http.StatusSeeOther, "/admin/messages?error="+url.QueryEscape("不能批准自己提交的消息，请另一位管理员批准"))
		return nil
	}
	var m composed
	if err := json.Unmarshal([]byte(d.Message), &m); err != nil {
		return fmt.Errorf("admin: draft %d: %w", id, err)
	}
	if m.SendAt > 0 && m.SendAt < store.Millis(s.Now()) {
		m.SendAt = 0 // its time passed while it waited: now
	}
	// The draft's own key: approving twice, or two admins at once, sends once.
	rc, err := s.Notify.Submit(ctx, m.message(me, "draft:"+strconv.FormatInt(id, 10)))
	var ie *notify.InvalidError
	if errors.As(err, &ie) {
		// Checked when composed; a refusal now (a userid gone, say) is
		// said, and the draft stays for its author to reject.
		c.Redirect(http.StatusSeeOther, "/admin/messages?error="+url.QueryEscape("这条消息不能发送："+ie.Field+" "+ie.Problem))
		return nil
	}
	if err != nil {
		return err
	}
	e, err := store.Audit(actor(c), "message.approve", fmt.Sprintf("message/draft/%d", id), map[string]any{"created_by": d.CreatedBy, "state": d.State},
		map[string]any{"state": store.DraftSent, "message": rc.ID, "summary": d.Summary, "to": m.To, "members": d.Reach}, s.Now())
	if err != nil {
		return err
	}
	changed, err := s.DB.DecideMessageDraft(ctx, id, store.DraftSent, me, store.Millis(s.Now()), rc.ID, e)
	if err != nil {
		return err
	}
	if !changed && !rc.Duplicate {
		// Rejected meanwhile by someone else: what was just queued must
		// not go out.
		if now, err := s.DB.GetMessageDraft(ctx, id); err == nil && now.State == store.DraftRejected {
			if _, err := s.Notify.Recall(ctx, rc.ID); err != nil {
				return err
			}
			return saved(c, "/admin/messages", "这条消息已被驳回，没有发送")
		}
	}
	return saved(c, "/admin/messages/"+strconv.FormatInt(rc.ID, 10), "已批准并提交发送")
}

// adminRejectDraft drops a waiting broadcast (its author may withdraw it).
func (s *server) adminRejectDraft(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	ctx := c.Request.Context()
	id, err := draftID(c)
	if err != nil {
		return err
	}
	d, err := s.DB.GetMessageDraft(ctx, id)
	if err != nil {
		return err
	}
	e, err := store.Audit(actor(c), "message.reject", fmt.Sprintf("message/draft/%d", id), map[string]any{"created_by": d.CreatedBy, "state": d.State},
		map[string]any{"state": store.DraftRejected, "summary": d.Summary}, s.Now())
	if err != nil {
		return err
	}
	changed, err := s.DB.DecideMessageDraft(ctx, id, store.DraftRejected, principal(c).UserID, store.Millis(s.Now()), 0, e)
	if err != nil {
		return err
	}
	if !changed {
		return saved(c, "/admin/messages", "这条消息已经处理过了")
	}
	return saved(c, "/admin/messages", "已驳回，消息不会发送")
}

// adminMessagesCount answers the live recipient count of the compose
// form (static/messages.js): {"members": n, "approval": bool}.
func (s *server) adminMessagesCount(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		c.JSON(http.StatusForbidden, gin.H{"error": "forbidden"})
		return nil
	}
	if s.Notify == nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "message center not configured"})
		return nil
	}
	_, m, _ := s.readCompose(c)
	if m.To.Empty() {
		c.JSON(http.StatusOK, gin.H{"members": 0, "approval": false})
		return nil
	}
	n, _, err := s.Notify.Count(c.Request.Context(), m.To)
	var ie *notify.InvalidError
	if errors.As(err, &ie) {
		c.JSON(http.StatusBadRequest, gin.H{"error": ie.Error()})
		return nil
	}
	if err != nil {
		logctx.L(c.Request.Context(), s.log).Error("recipient count failed", zap.Error(err))
		c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
		return nil
	}
	th := s.approvalThreshold()
	c.JSON(http.StatusOK, gin.H{"members": n, "approval": th >= 0 && n > th})
	return nil
}

// consoleMessage is message id when the console sent it; another
// producer's messages are not the console's to report on or recall.
func (s *server) consoleMessage(c *gin.Context) (store.OutboxMessage, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.OutboxMessage{}, store.ErrNotFound
	}
	m, err := s.DB.GetOutboxMessage(c.Request.Context(), id)
	if err != nil {
		return m, err
	}
	// The console's own sends: its broadcasts and its reminder rules'.
	if m.Producer != ConsoleProducer && m.Producer != ReminderProducer {
		return m, fmt.Errorf("admin: message %d is %s's: %w", id, m.Producer, store.ErrNotFound)
	}
	return m, nil
}

// reportOutcomes are the delivery report's counts, in the order shown.
var reportOutcomes = []struct{ key, name string }{
	{notify.OutcomeDelivered, "已送达"}, {"waiting", "等待发送"}, {notify.OutcomeInvalid, "无效成员"}, {notify.OutcomeOutOfApp, "不在可见范围"},
	{notify.OutcomeFailed, "发送失败"}, {notify.OutcomeExpired, "已过期"}, {notify.OutcomeRecalled, "已撤回"},
}

// adminMessage is a sent message's delivery report.
func (s *server) adminMessage(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := s.consoleMessage(c)
	if err != nil {
		return err
	}
	counts, err := s.DB.OutboxCounts(ctx, m.ID)
	if err != nil {
		return err
	}
	read, err := s.DB.OutboxReadCount(ctx, m.ID)
	if err != nil {
		return err
	}
	title, _ := contentTitle(m.MsgType, m.Body)
	v := h5.AdminMessage{AdminPage: s.adminPage(c, "发送报告", "/admin/messages"), ID: m.ID, Summary: title, MsgType: m.MsgType, State: m.State,
		Lane: notify.Lane(m.Lane).String(), By: m.Actor, At: fmtMillis(m.CreatedAt), SendAt: fmtMillis(m.SendAt), Content: renderContent(m.MsgType, m.Body),
		Read: read, CanRecall: m.State != store.OutboxRecalled && m.State != store.OutboxExpired}
	waiting := counts[notify.OutcomePending] + counts[notify.OutcomeHeld] + counts["sending"]
	for _, o := range reportOutcomes {
		n := counts[o.key]
		if o.key == "waiting" {
			n = waiting
		}
		v.Total += n
		v.Outcomes = append(v.Outcomes, h5.AdminOutcome{Key: o.key, Name: o.name, N: n})
	}
	if s.Notify != nil && (m.State == store.OutboxSending || m.State == store.OutboxQueued) {
		if e, err := s.Notify.EstimateFinish(ctx, m.ID); err == nil {
			switch {
			case e.Queued:
				v.ETA = "排队中：到发送时间后展开收件人"
			case !e.Finish.IsZero():
				v.ETA = fmt.Sprintf("预计 %s 前发完：还有 %d 人等待发送，其中 %d 人在等企业微信的每人限额（每分钟 30 条、每小时 1,000 条）",
					e.Finish.In(time.FixedZone("CST", 8*3600)).Format("01-02 15:04"), e.Waiting+e.Held, e.Held)
			}
		}
	}
	v.Outcome = c.Query("outcome")
	filter := v.Outcome
	if !slices.ContainsFunc(reportOutcomes, func(o struct{ key, name string }) bool { return o.key == filter }) {
		filter, v.Outcome = "", ""
	}
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	const pageSize = 100
	var rows []store.OutboxReportRow
	if filter == "waiting" {
		// Three outcomes under one name: page each in turn is not worth
		// it; the waiting are few once dispatch runs.
		for _, o := range []string{notify.OutcomePending, notify.OutcomeHeld, "sending"} {
			part, err := s.DB.OutboxReport(ctx, m.ID, o, after, pageSize)
			if err != nil {
				return err
			}
			rows = append(rows, part...)
		}
		slices.SortFunc(rows, func(a, b store.OutboxReportRow) int { return int(a.ID - b.ID) })
		rows = rows[:min(len(rows), pageSize+1)]
	} else if rows, err = s.DB.OutboxReport(ctx, m.ID, filter, after, pageSize+1); err != nil {
		return err
	}
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		v.Next = rows[pageSize-1].ID
	}
	for _, r := range rows {
		outcome := r.Outcome
		if outcome == notify.OutcomeHeld || outcome == "sending" {
			outcome = notify.OutcomePending
		}
		v.Rows = append(v.Rows, h5.AdminReportRow{UserID: r.UserID, Channel: r.Channel, Outcome: outcome, ErrCode: r.ErrCode, At: fmtMillis(r.SentAt), ReadAt: fmtMillis(r.ReadAt)})
	}
	return s.render(c, http.StatusOK, "admin_messages_report", v)
}

// adminRecallMessage stops what is not sent and recalls what WeCom
// delivered (within 24 h).
func (s *server) adminRecallMessage(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	if s.Notify == nil {
		return errNoNotify
	}
	m, err := s.consoleMessage(c)
	if err != nil {
		return err
	}
	if c.PostForm("confirm") != "1" {
		// The button recalls from every recipient: only with the tick.
		c.Redirect(http.StatusSeeOther, "/admin/messages/"+strconv.FormatInt(m.ID, 10)+"?error="+url.QueryEscape("请勾选“确认撤回”后再撤回"))
		return nil
	}
	n, err := s.Notify.Recall(c.Request.Context(), m.ID)
	if err != nil {
		return err
	}
	e, err := store.Audit(actor(c), "message.recall", "message/"+strconv.FormatInt(m.ID, 10), map[string]any{"state": m.State}, map[string]any{"state": store.OutboxRecalled, "wecom_recalled": n}, s.Now())
	if err != nil {
		return err
	}
	if err := s.DB.InsertAudit(c.Request.Context(), nil, e); err != nil {
		return err
	}
	return saved(c, "/admin/messages/"+strconv.FormatInt(m.ID, 10), "已撤回")
}
