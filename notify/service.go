// Package notify is the message center: one outbox for every notice,
// card and broadcast any part of the platform or any business system
// sends. A message is committed in SQL before its producer hears back
// (Submit); dispatchers on any number of instances claim messages and
// their recipients with leases, expand recipients to members, choose each
// member's channel (WeCom, a textcard for WeChat-plugin members who cannot
// see markdown or template cards, SMS for people outside WeCom), keep each
// member within WeCom's per-member limits across instances (the governor:
// what WeCom would drop silently waits instead), send in calls of at most
// 1,000 members, and store every recipient's outcome.
//
// Nothing is sent twice: the rows of one message/send call share a chunk,
// marked sending before the call; a dispatcher that dies mid-call leaves
// them so, and the one that takes them over after the lease sends the very
// same request again with WeCom's duplicate check on, which WeCom does not
// deliver twice (docs/wecom.md §6).
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Channels of a recipient.
const (
	ChannelWeCom    = "wecom"
	ChannelTextCard = "wecom_textcard" // a WeChat-plugin member: markdown and cards become a textcard
	ChannelSMS      = "sms"
)

// SMSSender sends one text to one number (E.164), for recipients outside
// WeCom. ok false with a code is the gateway's refusal of that number;
// an error is a failure to try (retried with backoff).
type SMSSender interface {
	SendSMS(ctx context.Context, mobile, text string) (ok bool, code string, err error)
}

// Options configure a Service.
type Options struct {
	DB     *store.DB
	Mirror *contacts.Mirror
	// App is the app client messages are sent as (message/send).
	App   *wecom.Client
	Coord coord.Store
	// SMS, when set, reaches Recipients.Mobiles; without it they fail.
	SMS SMSSender
	// Roles expands workbench role keys to userids; nil refuses roles.
	Roles func(ctx context.Context, roles []string) ([]string, error)
	// PublicURL is the platform's, for the H5 page a textcard links to.
	PublicURL string
	// Instance names this dispatcher in leases (host:port).
	Instance string
	// Lease is how long a claimed chunk is this dispatcher's (default 60 s).
	Lease time.Duration
	// Poll is how often an idle dispatcher looks for work (default 500 ms).
	Poll time.Duration
	// ChunkSize is how many members one message/send names (default and
	// at most 1,000).
	ChunkSize int
	// PerMinute and PerHour are WeCom's limits of app messages to one
	// member (30 and 1,000, docs/wecom.md §1): the governor keeps to them.
	PerMinute, PerHour int
	// DailyQuota is the app's messages a day to everyone together (WeCom:
	// the corp's member cap × 200, docs/wecom.md §1); 0 derives it from the
	// mirror's members.
	DailyQuota int
	Logger     *zap.Logger
	// Delivered, when set, hears the members a chunk was just delivered to
	// (the workbench tile shows their unread count). Its error is logged.
	Delivered func(ctx context.Context, userIDs ...string) error
	// Registerer takes the metrics; nil registers none.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Service is the message center.
type Service struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	// chunkNanos is a moving average of how long sending one chunk takes
	// here, for EstimateFinish.
	chunkNanos atomic.Int64
	// daily caches the derived daily quota.
	daily atomic.Int64
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Mirror == nil || opts.App == nil || opts.Coord == nil {
		return nil, errors.New("notify: DB, Mirror, App and Coord are required")
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.ChunkSize <= 0 || opts.ChunkSize > wecom.MaxSendUsers {
		opts.ChunkSize = wecom.MaxSendUsers
	}
	if opts.PerMinute <= 0 {
		opts.PerMinute = 30
	}
	if opts.PerHour <= 0 {
		opts.PerHour = 1000
	}
	if opts.Instance == "" {
		opts.Instance = "notify-" + randomHex(4)
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Service{opts: opts, log: opts.Logger.Named("notify"), metrics: m}, nil
}

var _ Submitter = (*Service)(nil)

// Limits of one message (docs/wecom.md §6).
const (
	MaxIdempotencyKey  = 128
	MaxRecipientsNamed = 10000
)

// Submit validates m and commits it; the producer may forget it once this
// returns. The same producer and idempotency key again answer the first
// message and write nothing.
func (s *Service) Submit(ctx context.Context, m Message) (Receipt, error) {
	if err := validate(&m, s.opts.Roles != nil); err != nil {
		return Receipt{}, err
	}
	// Mobiles are personal data: sealed in the message's row until
	// expansion seals each into its recipient's row.
	to, err := s.storeTo(m.To)
	if err != nil {
		return Receipt{}, err
	}
	now := s.opts.Now()
	sendAt := now
	if !m.SendAt.IsZero() && m.SendAt.After(now) {
		sendAt = m.SendAt
	}
	var expire int64
	if !m.ExpireAt.IsZero() {
		expire = store.Millis(m.ExpireAt)
	}
	smsText := m.Content.SMS
	if smsText == "" && len(m.To.Mobiles) > 0 {
		smsText = SMSText(m.Content)
	}
	smsText = trimStop(smsText)
	row := store.OutboxMessage{
		Producer: m.Producer, Lane: int(m.Lane), MsgType: m.Content.MsgType, Body: string(m.Content.Body), Safe: m.Content.Safe,
		SMSText: smsText, Recipients: to, Mobiles: m.To.Mobiles, Named: named(m.To), Actor: m.Actor,
		SendAt: store.Millis(sendAt), ExpireAt: expire, CreatedAt: store.Millis(now),
	}
	id, dup, err := s.opts.DB.InsertOutboxMessage(ctx, row, m.IdempotencyKey)
	if err != nil {
		return Receipt{}, err
	}
	if dup {
		first, err := s.opts.DB.GetOutboxMessage(ctx, id)
		if err != nil {
			return Receipt{}, err
		}
		return Receipt{ID: id, Recipients: first.Named, Duplicate: true}, nil
	}
	s.metrics.queued.WithLabelValues(m.Lane.String()).Inc()
	s.log.Info("message queued", zap.Int64("id", id), zap.String("producer", m.Producer), zap.String("lane", m.Lane.String()),
		zap.String("msgtype", m.Content.MsgType), zap.Int("named", row.Named))
	return Receipt{ID: id, Recipients: row.Named}, nil
}

func named(r Recipients) int {
	n := len(r.UserIDs) + len(r.Departments) + len(r.Tags) + len(r.Roles) + len(r.Mobiles)
	if r.All {
		n++
	}
	return n
}

// validate checks a message as a producer sent it.
func validate(m *Message, roles bool) error {
	switch {
	case m.Producer == "" || len(m.Producer) > 64:
		return &InvalidError{"producer", "must be 1 to 64 characters"}
	case len(m.IdempotencyKey) > MaxIdempotencyKey:
		return &InvalidError{"idempotency_key", fmt.Sprintf("longer than %d bytes", MaxIdempotencyKey)}
	case m.Lane < LaneApproval || m.Lane > LaneBroadcast:
		return &InvalidError{"lane", "must be approval, reminder or broadcast"}
	case m.To.Empty():
		return &InvalidError{"to", "names no recipient (userids, departments, tags, roles, mobiles or all)"}
	case named(m.To) > MaxRecipientsNamed:
		return &InvalidError{"to", fmt.Sprintf("names more than %d recipients; use departments or tags", MaxRecipientsNamed)}
	case len(m.To.Roles) > 0 && !roles:
		return &InvalidError{"to.roles", "roles are not available to this producer"}
	case !m.ExpireAt.IsZero() && !m.SendAt.IsZero() && !m.ExpireAt.After(m.SendAt):
		return &InvalidError{"expire_at", "is not after send_at"}
	}
	for _, u := range m.To.UserIDs {
		if u == "" || len(u) > 64 || strings.ContainsAny(u, "|, ") {
			return &InvalidError{"to.userids", fmt.Sprintf("%q is not a userid", u)}
		}
	}
	for i, mob := range m.To.Mobiles {
		e164, err := NormalizeMobile(mob)
		if err != nil {
			return &InvalidError{"to.mobiles", err.Error()}
		}
		m.To.Mobiles[i] = e164
	}
	return validateContent(m.Content)
}

// validateContent decodes the content into the wecom client's types,
// refusing unknown keys, so a message that would fail at WeCom fails
// here, with what is wrong.
func validateContent(c Content) error {
	if len(c.Body) == 0 || c.Body[0] != '{' {
		return &InvalidError{c.MsgType, "the message object is missing (e.g. \"text\":{\"content\":\"…\"})"}
	}
	if c.Safe != 0 && c.Safe != 1 {
		return &InvalidError{"safe", "must be 0 or 1"}
	}
	wm, err := wecomMessage(c)
	if err != nil {
		return err
	}
	switch {
	case wm.Text != nil && strings.TrimSpace(wm.Text.Content) == "":
		return &InvalidError{"text.content", "is empty"}
	case wm.Text != nil && len(wm.Text.Content) > 2048:
		return &InvalidError{"text.content", "is longer than WeCom's 2,048 bytes"}
	case wm.Markdown != nil && (strings.TrimSpace(wm.Markdown.Content) == "" || len(wm.Markdown.Content) > 2048):
		return &InvalidError{"markdown.content", "must be 1 to 2,048 bytes"}
	case wm.TextCard != nil && (wm.TextCard.Title == "" || wm.TextCard.Description == "" || wm.TextCard.URL == ""):
		return &InvalidError{"textcard", "needs title, description and url"}
	case wm.TextCard != nil && (len(wm.TextCard.Title) > 128 || len(wm.TextCard.Description) > 512 || utf8.RuneCountInString(wm.TextCard.BtnTxt) > 4):
		return &InvalidError{"textcard", "title ≤ 128 bytes, description ≤ 512 bytes, btntxt ≤ 4 characters"}
	case wm.News != nil && (len(wm.News.Articles) == 0 || len(wm.News.Articles) > 8):
		return &InvalidError{"news.articles", "needs 1 to 8 articles"}
	case wm.TemplateCard != nil && wm.TemplateCard.CardType == "":
		return &InvalidError{"template_card.card_type", "is missing"}
	}
	if wm.TemplateCard != nil {
		switch wm.TemplateCard.CardType {
		case "text_notice", "news_notice":
			if wm.TemplateCard.CardAction == nil {
				return &InvalidError{"template_card.card_action", "is required for " + wm.TemplateCard.CardType}
			}
		case "button_interaction", "vote_interaction", "multiple_interaction":
			if wm.TemplateCard.TaskID == "" {
				return &InvalidError{"template_card.task_id", "is required for " + wm.TemplateCard.CardType}
			}
		default:
			return &InvalidError{"template_card.card_type", fmt.Sprintf("%q is not text_notice, news_notice, button_interaction, vote_interaction or multiple_interaction", wm.TemplateCard.CardType)}
		}
	}
	return nil
}

// wecomMessage is c as the wecom client sends it (no recipients).
func wecomMessage(c Content) (*wecom.Message, error) {
	wm := &wecom.Message{Safe: c.Safe}
	var dst any
	switch c.MsgType {
	case MsgText:
		wm.Text = &wecom.Text{}
		dst = wm.Text
	case MsgTextCard:
		wm.TextCard = &wecom.TextCard{}
		dst = wm.TextCard
	case MsgNews:
		wm.News = &wecom.News{}
		dst = wm.News
	case MsgMarkdown:
		wm.Markdown = &wecom.Markdown{}
		dst = wm.Markdown
	case MsgTemplateCard:
		wm.TemplateCard = &wecom.TemplateCard{}
		dst = wm.TemplateCard
	default:
		return nil, &InvalidError{"msgtype", fmt.Sprintf("%q is not text, textcard, news, markdown or template_card", c.MsgType)}
	}
	dec := json.NewDecoder(strings.NewReader(string(c.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return nil, &InvalidError{c.MsgType, "is not a valid " + c.MsgType + " object: " + err.Error()}
	}
	return wm, nil
}

// Plain is what a WeChat-plugin member's textcard says of c (its title
// and description), as the dispatcher sends it: the console's preview
// shows the same.
func Plain(c Content) (title, desc string) { return plain(c) }

// plain is what a plugin member's textcard or an SMS says of c: a title
// and a description.
func plain(c Content) (title, desc string) {
	wm, err := wecomMessage(c)
	if err != nil {
		return "新消息", ""
	}
	switch {
	case wm.Text != nil:
		return "新消息", wm.Text.Content
	case wm.TextCard != nil:
		return wm.TextCard.Title, wm.TextCard.Description
	case wm.News != nil && len(wm.News.Articles) > 0:
		return wm.News.Articles[0].Title, wm.News.Articles[0].Description
	case wm.Markdown != nil:
		lines := strings.Split(strings.TrimSpace(wm.Markdown.Content), "\n")
		title = strings.TrimLeft(lines[0], "# >*")
		return clip(stripMarkdown(title), 128), clip(stripMarkdown(strings.Join(lines[1:], " ")), 512)
	case wm.TemplateCard != nil:
		tc := wm.TemplateCard
		if tc.MainTitle != nil {
			title, desc = tc.MainTitle.Title, tc.MainTitle.Desc
		}
		if tc.SubTitleText != "" {
			desc = strings.TrimSpace(desc + " " + tc.SubTitleText)
		}
		if title == "" {
			title = "待办事项"
		}
		return clip(title, 128), clip(desc, 512)
	}
	return "新消息", ""
}

func stripMarkdown(s string) string {
	r := strings.NewReplacer("**", "", "`", "", "> ", "", "#", "")
	s = r.Replace(s)
	for {
		i := strings.Index(s, "<font")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], ">")
		if j < 0 {
			break
		}
		s = s[:i] + s[i+j+1:]
	}
	return strings.TrimSpace(strings.ReplaceAll(s, "</font>", ""))
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SMSText is what an SMS recipient is told of c: the template's {1}
// (providers send only approved templates, and refuse links inside a
// variable: the template carries the constant link). Its title, or for a
// plain text its first words, without links, at most 60 characters.
func SMSText(c Content) string {
	title, desc := plain(c)
	t := title
	if c.MsgType == MsgText {
		t = desc
	}
	t = urlRE.ReplaceAllString(t, "")
	t = strings.Join(strings.Fields(t), " ")
	if r := []rune(t); len(r) > 60 {
		t = string(r[:59]) + "…"
	}
	return trimStop(t)
}

// trimStop drops a text's closing punctuation: the notice template goes
// on after it ("{1}。请登录…"), and its own full stop would be the second.
func trimStop(t string) string { return strings.TrimRight(t, "。.！!；;，, ") }

var urlRE = regexp.MustCompile(`(?i)(https?://|www\.)\S+|<a [^>]*>|</a>`)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		k := strings.ToLower(x)
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
