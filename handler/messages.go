package handler

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/workbench"
)

// The H5 message center: every notice any system sent the person signed
// in (the outbox's delivered rows), newest first, and each one in full.
// A WeChat-plugin member's textcard links here (notify's wire), so the
// page shows what WeChat cannot: markdown and template cards. Each person
// sees only their own rows; someone else's message id is not found.

// messagesListMax is how many notices the list shows.
const messagesListMax = 100

// MessagesBadge is the workbench badge source of the message center's
// tile (the seed's "messages" module): the person's unread notices.
const MessagesBadge = "messages"

// RegisterMessagesBadge makes the person's unread notices the source of
// the message center tile's badge.
func RegisterMessagesBadge(wb *workbench.Service, db *store.DB) {
	wb.RegisterBadge(MessagesBadge, db.UnreadNotices)
}

// producerLabels name the systems a notice can come from; an ingest API
// producer is "api:" and the system its key was made for.
var producerLabels = map[string]string{
	"console": "管理员通知", "hall": "服务大厅", "reminder": "提醒", "selfreg": "账号开通",
	"api:xg": "学工系统", "api:xgxt": "学工系统", "api:student": "学工系统", "api:oa": "OA", "api:jw": "教务系统", "api:jwxt": "教务系统",
	"api:hr": "人事系统", "api:rs": "人事系统", "api:cw": "财务系统", "api:finance": "财务系统", "api:library": "图书馆", "api:lib": "图书馆",
	"api:card": "一卡通", "api:ykt": "一卡通", "api:mail": "邮件系统", "api:hall": "服务大厅", "api:keyan": "科研系统", "api:ky": "科研系统",
}

// producerLabel is a producer's name on the pages: the known systems in
// Chinese, another API system by its own name.
func producerLabel(p string) string {
	if l, ok := producerLabels[strings.ToLower(p)]; ok {
		return l
	}
	if sys, ok := strings.CutPrefix(p, "api:"); ok {
		return sys
	}
	return p
}

func (s *server) appMessages(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	source := c.Query("source")
	if len(source) > 64 {
		return badRequest{"来源不正确"}
	}
	notices, err := s.DB.NoticesOf(ctx, p.UserID, source, messagesListMax+1)
	if err != nil {
		return err
	}
	producers, err := s.DB.NoticeProducersOf(ctx, p.UserID)
	if err != nil {
		return err
	}
	unread, err := s.DB.UnreadNotices(ctx, p.UserID)
	if err != nil {
		return err
	}
	v := h5.AppMessages{Page: s.page(c, "消息中心"), Unread: unread, Source: source}
	for _, pr := range producers {
		v.Sources = append(v.Sources, h5.MessageSource{Key: pr, Name: producerLabel(pr), Href: "/app/messages?source=" + url.QueryEscape(pr), Current: pr == source})
	}
	if len(notices) > messagesListMax {
		notices, v.More = notices[:messagesListMax], true
	}
	for _, n := range notices {
		v.Items = append(v.Items, noticeItem(n))
	}
	return s.render(c, http.StatusOK, "app_messages", v)
}

func noticeItem(n store.PersonNotice) h5.MessageItem {
	title, summary := contentTitle(n.MsgType, n.Body)
	at := n.SentAt
	if at == 0 {
		at = n.CreatedAt
	}
	return h5.MessageItem{ID: n.MessageID, Href: "/app/messages/" + strconv.FormatInt(n.MessageID, 10), Title: title, Summary: clipRunes(summary, 60),
		From: producerLabel(n.Producer), At: store.Time(at).Local().Format("2006-01-02 15:04"), Unread: n.ReadAt == 0}
}

// appMessage is one notice in full; opening it marks it read.
func (s *server) appMessage(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	n, err := s.DB.NoticeOf(ctx, p.UserID, id)
	if err != nil {
		return err
	}
	if n.ReadAt == 0 {
		if err := s.DB.MarkNoticeRead(ctx, p.UserID, id, store.Millis(s.Now())); err != nil {
			return err
		}
	}
	item := noticeItem(n)
	item.Unread = false
	if n.MsgType == notify.MsgText {
		// A text has no title of its own: its first line is the list's
		// title, and here the whole text follows under its source's name.
		item.Title = item.From
	}
	return s.render(c, http.StatusOK, "app_messages_item", h5.AppMessage{Page: s.page(c, item.Title), Item: item, Content: renderContent(n.MsgType, n.Body)})
}

// appMessagesModule opens the message center from its workbench tile, as
// a module of the person's workbench (counted as used).
func (s *server) appMessagesModule(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	if _, err := s.Workbench.Module(ctx, p.UserID, "", "messages"); errors.Is(err, workbench.ErrNotVisible) {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	if err := s.Workbench.Used(ctx, p.UserID, "messages"); err != nil {
		return err
	}
	c.Redirect(http.StatusFound, "/app/messages")
	return nil
}

// contentTitle is a message's title and a line of its text, for lists.
func contentTitle(msgtype, body string) (title, summary string) {
	switch msgtype {
	case notify.MsgText:
		var t wecom.Text
		_ = json.Unmarshal([]byte(body), &t)
		text := plainText(textLinks.ReplaceAllString(t.Content, "$2"))
		first, rest, _ := strings.Cut(strings.TrimSpace(text), "\n")
		return orNew(clipRunes(first, 40)), strings.TrimSpace(rest)
	case notify.MsgTextCard:
		var t wecom.TextCard
		_ = json.Unmarshal([]byte(body), &t)
		return orNew(t.Title), plainText(t.Description)
	case notify.MsgNews:
		var n wecom.News
		_ = json.Unmarshal([]byte(body), &n)
		if len(n.Articles) > 0 {
			return orNew(n.Articles[0].Title), n.Articles[0].Description
		}
	case notify.MsgMarkdown:
		var m wecom.Markdown
		_ = json.Unmarshal([]byte(body), &m)
		// The first line with words is the title (not a code fence).
		var text []string
		for _, l := range strings.Split(m.Content, "\n") {
			if l = markdownText(l); l != "" && !strings.HasPrefix(l, "```") {
				text = append(text, l)
			}
		}
		if len(text) == 0 {
			return "新消息", ""
		}
		return clipRunes(text[0], 40), strings.Join(text[1:], " ")
	case notify.MsgTemplateCard:
		var tc wecom.TemplateCard
		_ = json.Unmarshal([]byte(body), &tc)
		if tc.MainTitle != nil && tc.MainTitle.Title != "" {
			return tc.MainTitle.Title, strings.TrimSpace(tc.MainTitle.Desc + " " + tc.SubTitleText)
		}
		return "待办事项", tc.SubTitleText
	}
	return "新消息", ""
}

func orNew(s string) string {
	if strings.TrimSpace(s) == "" {
		return "新消息"
	}
	return s
}

// plainText flattens line breaks for a one-line summary.
func plainText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// markdownText is a markdown line without its marks.
func markdownText(line string) string {
	var b strings.Builder
	for _, sp := range inlineSpans(strings.TrimLeft(strings.TrimSpace(line), "#> "), "", false) {
		b.WriteString(sp.Text)
	}
	return strings.TrimSpace(b.String())
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// renderContent is a message's content as the page draws it: markdown
// parsed into the subset WeCom shows (docs/wecom.md §6: headings, bold,
// links, code, quotes, <font color>), cards into their parts. Nothing of
// it is HTML: the template escapes each piece.
func renderContent(msgtype, body string) h5.MsgContent {
	out := h5.MsgContent{MsgType: msgtype}
	switch msgtype {
	case notify.MsgText:
		var t wecom.Text
		_ = json.Unmarshal([]byte(body), &t)
		out.Blocks = textBlocks(t.Content)
	case notify.MsgMarkdown:
		var m wecom.Markdown
		_ = json.Unmarshal([]byte(body), &m)
		out.Blocks = markdownBlocks(m.Content)
	case notify.MsgTextCard:
		var t wecom.TextCard
		_ = json.Unmarshal([]byte(body), &t)
		out.Card = &h5.MsgCard{Title: t.Title, Desc: t.Description, Action: safeLink(t.URL), Button: or(t.BtnTxt, "详情")}
	case notify.MsgNews:
		var n wecom.News
		_ = json.Unmarshal([]byte(body), &n)
		for _, a := range n.Articles {
			out.Articles = append(out.Articles, h5.MsgArticle{Title: a.Title, Desc: a.Description, Href: safeLink(a.URL)})
		}
	case notify.MsgTemplateCard:
		var tc wecom.TemplateCard
		_ = json.Unmarshal([]byte(body), &tc)
		out.Card = templateCard(tc)
	default:
		out.Blocks = []h5.MsgBlock{{Kind: "p", Spans: []h5.MsgSpan{{Text: "这条消息的类型无法在这里显示，请在企业微信中查看。"}}}}
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func templateCard(tc wecom.TemplateCard) *h5.MsgCard {
	card := &h5.MsgCard{Sub: tc.SubTitleText}
	if tc.Source != nil {
		card.Source = tc.Source.Desc
	}
	if tc.MainTitle != nil {
		card.Title, card.Desc = tc.MainTitle.Title, tc.MainTitle.Desc
	}
	if card.Title == "" {
		card.Title = "待办事项"
	}
	if tc.EmphasisContent != nil {
		card.Emphasis, card.EmphasisDesc = tc.EmphasisContent.Title, tc.EmphasisContent.Desc
	}
	if q := tc.QuoteArea; q != nil {
		card.Quote = strings.TrimSpace(strings.TrimSpace(q.Title + "\n" + q.QuoteText))
	}
	for _, h := range tc.HorizontalContentList {
		f := h5.MsgField{Key: h.KeyName, Value: h.Value}
		switch h.Type {
		case 1:
			f.Href = safeLink(h.URL)
		case 3:
			f.Value = or(f.Value, h.UserID)
		}
		card.Fields = append(card.Fields, f)
	}
	for _, v := range tc.VerticalContentList {
		card.Fields = append(card.Fields, h5.MsgField{Key: v.Title, Value: v.Desc})
	}
	if it := tc.ImageTextArea; it != nil && it.Type == 1 && safeLink(it.URL) != "" {
		card.Jumps = append(card.Jumps, h5.MsgLink{Title: or(it.Title, "查看"), Href: safeLink(it.URL)})
	}
	for _, j := range tc.JumpList {
		if j.Type == 1 && safeLink(j.URL) != "" {
			card.Jumps = append(card.Jumps, h5.MsgLink{Title: j.Title, Href: safeLink(j.URL)})
		}
	}
	if tc.CardAction != nil && tc.CardAction.Type == 1 {
		card.Action = safeLink(tc.CardAction.URL)
	}
	card.Interactive = len(tc.ButtonList) > 0 || tc.ButtonSelection != nil || tc.CheckBox != nil || len(tc.SelectList) > 0 || tc.SubmitButton != nil
	return card
}

// safeLink is u when it is an absolute http or https URL, else "".
func safeLink(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.String()
}

// textLinks are the <a href> links a text message may hold.
var textLinks = regexp.MustCompile(`(?is)<a\s+href\s*=\s*["']([^"']*)["'][^>]*>(.*?)</a>`)

// textBlocks are a text message's paragraphs (split at blank lines, line
// breaks kept) with its <a href> links.
func textBlocks(text string) []h5.MsgBlock {
	var out []h5.MsgBlock
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		var spans []h5.MsgSpan
		rest := para
		for {
			loc := textLinks.FindStringSubmatchIndex(rest)
			if loc == nil {
				spans = appendText(spans, h5.MsgSpan{Text: rest})
				break
			}
			spans = appendText(spans, h5.MsgSpan{Text: rest[:loc[0]]})
			href, label := rest[loc[2]:loc[3]], rest[loc[4]:loc[5]]
			spans = appendText(spans, h5.MsgSpan{Text: label, Href: safeLink(href)})
			rest = rest[loc[1]:]
		}
		out = append(out, h5.MsgBlock{Kind: "p", Spans: spans})
	}
	return out
}

// appendText adds sp to spans, merged into the last one when both are
// alike.
func appendText(spans []h5.MsgSpan, sp h5.MsgSpan) []h5.MsgSpan {
	if sp.Text == "" {
		return spans
	}
	if n := len(spans); n > 0 && sp.Href == "" && !sp.Code {
		last := &spans[n-1]
		if last.Href == "" && !last.Code && last.Bold == sp.Bold && last.Color == sp.Color {
			last.Text += sp.Text
			return spans
		}
	}
	return append(spans, sp)
}

var heading = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)

// markdownBlocks parses WeCom's markdown subset: headings, quotes, code
// fences and paragraphs (lines joined with their breaks).
func markdownBlocks(md string) []h5.MsgBlock {
	var out []h5.MsgBlock
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, h5.MsgBlock{Kind: "p", Spans: inlineSpans(strings.Join(para, "\n"), "", false)})
			para = nil
		}
	}
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			out = append(out, h5.MsgBlock{Kind: "code", Code: strings.Join(code, "\n")})
		case trim == "":
			flush()
		case heading.MatchString(trim):
			flush()
			m := heading.FindStringSubmatch(trim)
			out = append(out, h5.MsgBlock{Kind: "h", Level: len(m[1]), Spans: inlineSpans(m[2], "", false)})
		case strings.HasPrefix(trim, ">"):
			flush()
			q := strings.TrimSpace(strings.TrimPrefix(trim, ">"))
			if n := len(out); n > 0 && out[n-1].Kind == "quote" {
				// Consecutive quoted lines are one quote.
				out[n-1].Spans = append(appendText(out[n-1].Spans, h5.MsgSpan{Text: "\n"}), inlineSpans(q, "", false)...)
				continue
			}
			out = append(out, h5.MsgBlock{Kind: "quote", Spans: inlineSpans(q, "", false)})
		default:
			para = append(para, line)
		}
	}
	flush()
	return out
}

var (
	fontOpen = regexp.MustCompile(`(?i)^<font\s+color\s*=\s*["']?(info|comment|warning)["']?\s*>`)
	mdLink   = regexp.MustCompile(`^\[([^\]]*)\]\(([^)\s]*)\)`)
)

// inlineSpans parses markdown's inline marks: **bold**, `code`,
// [text](url), <font color="…">…</font>; anything else is text.
func inlineSpans(s, color string, bold bool) []h5.MsgSpan {
	var spans []h5.MsgSpan
	text := func(t string) { spans = appendText(spans, h5.MsgSpan{Text: t, Bold: bold, Color: color}) }
	for s != "" {
		i := strings.IndexAny(s, "*`[<")
		if i < 0 {
			text(s)
			break
		}
		text(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "**"):
			if j := strings.Index(s[2:], "**"); j >= 0 {
				for _, sp := range inlineSpans(s[2:2+j], color, true) {
					spans = appendText(spans, sp)
				}
				s = s[2+j+2:]
				continue
			}
		case s[0] == '`':
			if j := strings.IndexByte(s[1:], '`'); j >= 0 {
				spans = append(spans, h5.MsgSpan{Text: s[1 : 1+j], Code: true})
				s = s[1+j+1:]
				continue
			}
		case s[0] == '[':
			if m := mdLink.FindStringSubmatch(s); m != nil {
				spans = appendText(spans, h5.MsgSpan{Text: or(m[1], m[2]), Href: safeLink(m[2]), Bold: bold, Color: color})
				s = s[len(m[0]):]
				continue
			}
		case fontOpen.MatchString(s):
			m := fontOpen.FindStringSubmatch(s)
			rest := s[len(m[0]):]
			if j := strings.Index(strings.ToLower(rest), "</font>"); j >= 0 {
				for _, sp := range inlineSpans(rest[:j], strings.ToLower(m[1]), bold) {
					spans = appendText(spans, sp)
				}
				s = rest[j+len("</font>"):]
				continue
			}
		}
		// Not a mark after all: the character is text.
		text(s[:1])
		s = s[1:]
	}
	return spans
}
