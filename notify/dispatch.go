package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/sms"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// mobilesAAD binds the sealed numbers of a message queued before they had
// their own column (outbox_messages.mobiles) to its recipients JSON.
const mobilesAAD = "outbox_messages.recipients"

// storedTo is Recipients as outbox_messages keeps them; the numbers are
// in their own sealed column (store.OutboxMessageMobiles). Mobiles here
// are those of messages queued before that column.
type storedTo struct {
	UserIDs     []string     `json:"userids,omitempty"`
	Departments []Department `json:"departments,omitempty"`
	Tags        []int64      `json:"tags,omitempty"`
	Roles       []string     `json:"roles,omitempty"`
	All         bool         `json:"all,omitempty"`
	Mobiles     [][]byte     `json:"mobiles_sealed,omitempty"`
}

func (s *Service) storeTo(r Recipients) (string, error) {
	if len(r.Mobiles) > 0 && s.opts.DB.Sealer() == nil {
		return "", errors.New("notify: SMS recipients need a data key to seal their numbers")
	}
	b, err := json.Marshal(storedTo{UserIDs: r.UserIDs, Departments: r.Departments, Tags: r.Tags, Roles: r.Roles, All: r.All})
	return string(b), err
}

// NormalizeMobile is a number in E.164 (+8613912345678), Chinese mobiles
// assumed without a country code; a Chinese number that is not a mobile
// (a landline, a 400 number) is an error: it cannot receive a text.
func NormalizeMobile(raw string) (string, error) {
	e164, err := sms.Normalize(raw, "CN")
	if err != nil {
		return "", fmt.Errorf("%s: %w", mask.Phone(raw), err)
	}
	return e164, nil
}

// Run dispatches until ctx ends: it expands due messages and sends due
// recipients, as fast as the governor lets it, sleeping Poll when idle.
func (s *Service) Run(ctx context.Context) error {
	for {
		worked, err := s.Step(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("dispatch step failed", zap.Error(err))
		}
		if ctx.Err() != nil {
			return nil
		}
		if worked {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.opts.Poll):
		}
	}
}

// Step expands the due messages and sends one chunk; it reports whether
// there was anything to do.
func (s *Service) Step(ctx context.Context) (bool, error) {
	now := s.opts.Now()
	lease := store.Millis(now.Add(s.opts.Lease))
	msgs, err := s.opts.DB.ClaimDueMessages(ctx, s.opts.Instance, store.Millis(now), lease, 5)
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if err := s.expand(ctx, m); err != nil {
			return true, fmt.Errorf("notify: expand message %d: %w", m.ID, err)
		}
	}
	chunk := randomHex(8)
	rows, err := s.opts.DB.ClaimDueRecipients(ctx, s.opts.Instance, chunk, store.Millis(now), lease, s.opts.ChunkSize)
	if err != nil {
		return len(msgs) > 0, err
	}
	if len(rows) == 0 {
		if len(msgs) == 0 {
			s.observeBacklog(ctx)
		}
		return len(msgs) > 0, nil
	}
	return true, s.send(ctx, rows, chunk)
}

// expand turns a message's recipients into members and their channels.
func (s *Service) expand(ctx context.Context, m store.OutboxMessage) error {
	var to storedTo
	if err := json.Unmarshal([]byte(m.Recipients), &to); err != nil {
		return fmt.Errorf("recipients: %w", err)
	}
	// Named people only (an approval card, a reminder to one person, an
	// SMS): nothing to look up in the mirror, which at full scale is the
	// most of such a message's cost.
	var st contacts.State
	if len(to.Departments)+len(to.Tags) > 0 || to.All {
		var err error
		if st, err = s.opts.Mirror.Load(ctx); err != nil {
			return err
		}
	}
	users, err := s.members(ctx, st, to)
	if err != nil {
		return err
	}
	plugin := map[string]bool{}
	if m.MsgType == MsgMarkdown || m.MsgType == MsgTemplateCard {
		if plugin, err = s.opts.DB.WeChatPluginUsers(ctx); err != nil {
			return err
		}
	}
	rows := make([]store.OutboxRecipient, 0, len(users)+len(to.Mobiles))
	for _, u := range users {
		ch := ChannelWeCom
		if plugin[u] {
			ch = ChannelTextCard
		}
		rows = append(rows, store.OutboxRecipient{Lane: m.Lane, UserID: u, Channel: ch, NextAt: m.SendAt})
	}
	seen := map[string]bool{}
	mobiles := m.Mobiles
	for _, sealed := range to.Mobiles {
		p, err := s.opts.DB.Sealer().Open(sealed, mobilesAAD)
		if err != nil {
			return err
		}
		mobiles = append(mobiles, string(p))
	}
	for _, p := range mobiles {
		if seen[p] {
			continue
		}
		seen[p] = true
		rows = append(rows, store.OutboxRecipient{Lane: m.Lane, Mobile: p, Channel: ChannelSMS, NextAt: m.SendAt})
	}
	ok, err := s.opts.DB.ExpandOutboxMessage(ctx, s.opts.Instance, m.ID, rows, store.Millis(s.opts.Now()))
	if err != nil {
		return err
	}
	if ok {
		s.log.Info("message expanded", zap.Int64("id", m.ID), zap.Int("members", len(users)), zap.Int("sms", len(seen)))
	}
	return nil
}

// members expands recipients to the enabled members the mirror holds
// (explicit userids as given: WeCom answers for those it does not know).
func (s *Service) members(ctx context.Context, st contacts.State, to storedTo) ([]string, error) {
	children := map[int64][]int64{}
	for _, d := range st.Departments {
		children[d.ParentID] = append(children[d.ParentID], d.ID)
	}
	inDept := map[int64]bool{}
	var mark func(id int64, deep bool)
	mark = func(id int64, deep bool) {
		if inDept[id] && !deep {
			return
		}
		inDept[id] = true
		if deep {
			for _, c := range children[id] {
				mark(c, true)
			}
		}
	}
	for _, d := range to.Departments {
		mark(d.ID, d.Children)
	}
	tagUsers := map[string]bool{}
	for _, t := range st.Tags {
		if !slices.Contains(to.Tags, t.ID) {
			continue
		}
		for _, u := range t.Users {
			tagUsers[strings.ToLower(u)] = true
		}
		for _, p := range t.Parties {
			mark(p, true) // a tag's department stands for all below it
		}
	}
	out := append([]string(nil), to.UserIDs...)
	for _, mm := range st.Members {
		if !mm.Enabled {
			continue
		}
		in := to.All || tagUsers[strings.ToLower(mm.UserID)]
		for _, ms := range mm.Departments {
			in = in || inDept[ms.Department]
		}
		if in {
			out = append(out, mm.UserID)
		}
	}
	if len(to.Roles) > 0 {
		if s.opts.Roles == nil {
			return nil, errors.New("roles are not available")
		}
		us, err := s.opts.Roles(ctx, to.Roles)
		if err != nil {
			return nil, err
		}
		out = append(out, us...)
	}
	return dedupe(out), nil
}

// send sends one chunk: the rows of one message and channel.
func (s *Service) send(ctx context.Context, rows []store.OutboxRecipient, fresh string) error {
	m, err := s.opts.DB.GetOutboxMessage(ctx, rows[0].MessageID)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	nowMs := store.Millis(now)
	finish := func(results []store.OutboxResult) error {
		if err := s.opts.DB.FinishOutboxChunk(context.WithoutCancel(ctx), s.opts.Instance, results, store.Millis(s.opts.Now())); err != nil {
			return err
		}
		for _, r := range results {
			if len(r.IDs) > 0 {
				s.metrics.results.WithLabelValues(Lane(m.Lane).String(), rows[0].Channel, r.Outcome).Add(float64(len(r.IDs)))
			}
		}
		return nil
	}
	ids := func(rs []store.OutboxRecipient) []int64 {
		out := make([]int64, len(rs))
		for i, r := range rs {
			out[i] = r.ID
		}
		return out
	}
	if m.ExpireAt > 0 && nowMs > m.ExpireAt {
		return finish([]store.OutboxResult{{IDs: ids(rows), Outcome: OutcomeExpired}})
	}
	if m.State == store.OutboxRecalled {
		return finish([]store.OutboxResult{{IDs: ids(rows), Outcome: OutcomeRecalled}})
	}
	if rows[0].Channel == ChannelSMS {
		return s.sendSMS(ctx, m, rows, finish)
	}
	// A chunk sent before (its sender died mid-call) is sent again as it
	// was; a fresh one asks the governor for each member first.
	resend := rows[0].Chunk != fresh
	var sendTo, held []store.OutboxRecipient
	var heldUntil int64
	if resend {
		sendTo = rows
	} else {
		users := make([]string, len(rows))
		for i, r := range rows {
			users[i] = r.UserID
		}
		waits, err := s.allowAll(ctx, users)
		if err != nil {
			return err
		}
		for i, r := range rows {
			if waits[i] == 0 {
				sendTo = append(sendTo, r)
				continue
			}
			held = append(held, r)
			heldUntil = max(heldUntil, store.Millis(now.Add(waits[i])))
		}
	}
	results := []store.OutboxResult{}
	if len(held) > 0 {
		results = append(results, store.OutboxResult{IDs: ids(held), Outcome: OutcomeHeld, NextAt: heldUntil})
	}
	if !resend && Lane(m.Lane) == LaneReminder && len(sendTo) > 0 {
		// A member whose other reminders wait for the quota gets them all
		// in one digest now, instead of one at a time as it frees up.
		var err error
		if sendTo, err = s.digests(ctx, m, sendTo, finish); err != nil {
			return err
		}
	}
	if len(sendTo) == 0 {
		return finish(results)
	}
	wm, err := s.wire(m, rows[0].Channel)
	if err != nil {
		return finish(append(results, store.OutboxResult{IDs: ids(sendTo), Outcome: OutcomeFailed}))
	}
	users := make([]string, len(sendTo))
	for i, r := range sendTo {
		users[i] = r.UserID
	}
	wm.ToUser = users
	// Identical requests within 4 h are delivered once: a chunk sent again
	// after an uncertain failure or a dead sender reaches nobody twice.
	wm.EnableDuplicateCheck, wm.DuplicateCheckInterval = true, 4*3600
	s.metrics.calls.WithLabelValues(rows[0].Channel).Inc()
	began := time.Now()
	res, err := s.opts.App.SendMessage(ctx, wm)
	took := time.Since(began).Nanoseconds()
	if old := s.chunkNanos.Load(); old == 0 {
		s.chunkNanos.Store(took)
	} else {
		s.chunkNanos.Store(old + (took-old)/5)
	}
	if err != nil {
		code := wecom.Code(err)
		if ctx.Err() != nil || code == 0 || wecom.IsRetryable(err) {
			// Uncertain or busy: the chunk goes again, unchanged, later.
			next := store.Millis(s.opts.Now().Add(backoff(sendTo[0].Attempts)))
			s.log.Warn("send failed; the chunk is retried as it is", zap.Int64("message", m.ID), zap.Int("members", len(sendTo)), zap.Error(err))
			return s.retryChunk(ctx, sendTo, results, next)
		}
		outcome := OutcomeFailed
		if code == wecom.CodeAllRecipientsBad {
			outcome = OutcomeInvalid
		}
		return finish(append(results, store.OutboxResult{IDs: ids(sendTo), Outcome: outcome, ErrCode: code}))
	}
	bad := map[string]bool{}
	for _, u := range append(res.InvalidUsers, res.UnlicensedUsers...) {
		bad[strings.ToLower(u)] = true
	}
	var ok, invalid []int64
	for _, r := range sendTo {
		if bad[strings.ToLower(r.UserID)] {
			invalid = append(invalid, r.ID)
		} else {
			ok = append(ok, r.ID)
		}
	}
	sent := store.Millis(s.opts.Now())
	results = append(results, store.OutboxResult{IDs: ok, Outcome: OutcomeDelivered, SentAt: sent, MsgID: res.MsgID, ResponseCode: res.ResponseCode},
		store.OutboxResult{IDs: invalid, Outcome: OutcomeInvalid, ErrCode: 81013, SentAt: sent, MsgID: res.MsgID})
	if err := finish(results); err != nil {
		return err
	}
	if s.opts.Delivered != nil && len(ok) > 0 {
		var users []string
		for _, r := range sendTo {
			if !bad[strings.ToLower(r.UserID)] {
				users = append(users, r.UserID)
			}
		}
		if err := s.opts.Delivered(ctx, users...); err != nil {
			s.log.Warn("delivered hook failed", zap.Int64("message", m.ID), zap.Error(err))
		}
	}
	return nil
}

// digestMax is how many reminders one digest holds at most: the rest
// wait for the next.
const digestMax = 10

// digests sends one digest text to each member of rows (reminders the
// governor let through) who has other reminders held back by the quota:
// this one and those, in one message, costing one of the member's 30 a
// minute. It answers the rows left for the ordinary send.
func (s *Service) digests(ctx context.Context, m store.OutboxMessage, rows []store.OutboxRecipient, finish func([]store.OutboxResult) error) ([]store.OutboxRecipient, error) {
	users := make([]string, len(rows))
	for i, r := range rows {
		users[i] = r.UserID
	}
	others, err := s.opts.DB.HeldOutboxRows(ctx, int(LaneReminder), users, m.ID)
	if err != nil || len(others) == 0 {
		return rows, err
	}
	byUser := map[string][]int64{}
	for _, o := range others {
		if len(byUser[o.UserID]) < digestMax-1 {
			byUser[o.UserID] = append(byUser[o.UserID], o.ID)
		}
	}
	msgs := map[int64]store.OutboxMessage{m.ID: m}
	var rest []store.OutboxRecipient
	for _, r := range rows {
		want := byUser[r.UserID]
		if len(want) == 0 {
			rest = append(rest, r)
			continue
		}
		got, err := s.opts.DB.ClaimOutboxRows(ctx, s.opts.Instance, randomHex(8), want, store.Millis(s.opts.Now().Add(s.opts.Lease)))
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			rest = append(rest, r)
			continue
		}
		folded := []store.OutboxRecipient{r}
		for _, o := range others {
			if slices.Contains(got, o.ID) {
				folded = append(folded, o)
			}
		}
		if err := s.sendDigest(ctx, r.UserID, folded, msgs, finish); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// sendDigest sends rows (one member's reminders, several messages) as
// one text and records them all.
func (s *Service) sendDigest(ctx context.Context, userID string, rows []store.OutboxRecipient, msgs map[int64]store.OutboxMessage, finish func([]store.OutboxResult) error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "你有 %d 条提醒：", len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		om, ok := msgs[r.MessageID]
		if !ok {
			var err error
			if om, err = s.opts.DB.GetOutboxMessage(ctx, r.MessageID); err != nil {
				return err
			}
			msgs[r.MessageID] = om
		}
		title, desc := plain(Content{MsgType: om.MsgType, Body: json.RawMessage(om.Body)})
		line := title
		if desc != "" && desc != title {
			line += "：" + desc
		}
		fmt.Fprintf(&b, "\n%d. %s", i+1, clip(line, 300))
	}
	// WeCom's text limit is 2,048 bytes (docs/wecom.md §6).
	text := clip(b.String(), 2048)
	wm := &wecom.Message{ToUser: []string{userID}, Text: &wecom.Text{Content: text}, EnableDuplicateCheck: true, DuplicateCheckInterval: 4 * 3600}
	s.metrics.calls.WithLabelValues("digest").Inc()
	res, err := s.opts.App.SendMessage(ctx, wm)
	if err != nil {
		code := wecom.Code(err)
		if ctx.Err() != nil || code == 0 || wecom.IsRetryable(err) {
			// Back to waiting, together: the same rows make the same text,
			// which the duplicate check does not deliver twice.
			s.log.Warn("digest failed; retried", zap.String("userid", userID), zap.Int("reminders", len(rows)), zap.Error(err))
			return finish([]store.OutboxResult{{IDs: ids, Outcome: OutcomeHeld, NextAt: store.Millis(s.opts.Now().Add(backoff(rows[0].Attempts)))}})
		}
		outcome := OutcomeFailed
		if code == wecom.CodeAllRecipientsBad {
			outcome = OutcomeInvalid
		}
		return finish([]store.OutboxResult{{IDs: ids, Outcome: outcome, ErrCode: code}})
	}
	outcome := OutcomeDelivered
	if len(res.InvalidUsers)+len(res.UnlicensedUsers) > 0 {
		outcome = OutcomeInvalid
	}
	if err := finish([]store.OutboxResult{{IDs: ids, Outcome: outcome, SentAt: store.Millis(s.opts.Now()), MsgID: res.MsgID}}); err != nil {
		return err
	}
	s.log.Info("reminders folded into a digest", zap.String("userid", userID), zap.Int("reminders", len(rows)))
	if s.opts.Delivered != nil && outcome == OutcomeDelivered {
		if err := s.opts.Delivered(ctx, userID); err != nil {
			s.log.Warn("delivered hook failed", zap.String("userid", userID), zap.Error(err))
		}
	}
	return nil
}

// retryChunk keeps the chunk's rows together (outcome sending, same
// chunk) with the lease moved to next, so whoever holds it then sends the
// same request.
func (s *Service) retryChunk(ctx context.Context, rows []store.OutboxRecipient, others []store.OutboxResult, next int64) error {
	if len(others) > 0 {
		if err := s.opts.DB.FinishOutboxChunk(context.WithoutCancel(ctx), s.opts.Instance, others, store.Millis(s.opts.Now())); err != nil {
			return err
		}
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return s.opts.DB.DeferOutboxChunk(context.WithoutCancel(ctx), s.opts.Instance, ids, next)
}

func backoff(attempt int) time.Duration {
	d := time.Duration(1<<min(attempt, 8)) * time.Second
	return min(d, 5*time.Minute)
}

// allowAll asks the governor for one message to each of users: WeCom's
// 30 a minute and 1,000 an hour per member (docs/wecom.md §1) and the
// app's daily quota, across instances. It answers, per member, 0 when the
// message may go now, else how long to wait. Each stage is one round trip
// for the whole chunk (coord.AllowMany): with the buckets in Redis, a
// member at a time was half of a broadcast's CPU.
func (s *Service) allowAll(ctx context.Context, users []string) ([]time.Duration, error) {
	agent := "notify:q:" + strconv.FormatInt(s.opts.App.AgentID(), 10) + ":"
	waits := make([]time.Duration, len(users))
	open := make([]int, len(users)) // indexes still allowed
	for i := range users {
		open[i] = i
	}
	q := s.dailyQuota(ctx)
	stages := []struct {
		key   func(u string) string
		limit coord.Limit
	}{
		{func(u string) string { return agent + strings.ToLower(u) + ":m" }, coord.PerMinute(s.opts.PerMinute)},
		{func(u string) string { return agent + strings.ToLower(u) + ":h" }, coord.Limit{Rate: float64(s.opts.PerHour) / 3600, Burst: s.opts.PerHour}},
		// The app's day: every member together, a token each.
		{func(string) string { return agent + "day" }, coord.Limit{Rate: float64(q) / 86400, Burst: q}},
	}
	for _, st := range stages {
		if len(open) == 0 {
			break
		}
		keys := make([]string, len(open))
		limits := make([]coord.Limit, len(open))
		for j, i := range open {
			keys[j], limits[j] = st.key(users[i]), st.limit
		}
		ds, err := coord.AllowMany(ctx, s.opts.Coord, keys, limits)
		if err != nil {
			return nil, err
		}
		next := open[:0]
		for j, i := range open {
			if ds[j].OK {
				next = append(next, i)
				continue
			}
			waits[i] = max(ds[j].RetryAfter, time.Millisecond)
		}
		open = next
	}
	return waits, nil
}

// dailyQuota is Options.DailyQuota, or 200 a member of the mirror
// (WeCom's cap counts the corp's seats; members are the floor of those).
func (s *Service) dailyQuota(ctx context.Context) int {
	if s.opts.DailyQuota > 0 {
		return s.opts.DailyQuota
	}
	if q := s.daily.Load(); q > 0 {
		return int(q)
	}
	n, err := s.opts.DB.CountMirrorMembers(ctx)
	if err != nil || n == 0 {
		n = 1000
	}
	s.daily.Store(int64(n) * 200)
	return n * 200
}

// wire is the message as a channel sends it.
func (s *Service) wire(m store.OutboxMessage, channel string) (*wecom.Message, error) {
	c := Content{MsgType: m.MsgType, Body: json.RawMessage(m.Body), Safe: m.Safe}
	if channel == ChannelTextCard {
		title, desc := plain(c)
		if desc == "" {
			desc = "点击查看详情"
		}
		return &wecom.Message{TextCard: &wecom.TextCard{Title: clip(title, 128), Description: clip(desc, 512),
			URL: strings.TrimRight(s.opts.PublicURL, "/") + "/app/messages/" + strconv.FormatInt(m.ID, 10), BtnTxt: "详情"}}, nil
	}
	return wecomMessage(c)
}

// sendSMS sends each SMS recipient of the chunk.
func (s *Service) sendSMS(ctx context.Context, m store.OutboxMessage, rows []store.OutboxRecipient, finish func([]store.OutboxResult) error) error {
	var results []store.OutboxResult
	for _, r := range rows {
		if s.opts.SMS == nil {
			results = append(results, store.OutboxResult{IDs: []int64{r.ID}, Outcome: OutcomeFailed})
			continue
		}
		s.metrics.calls.WithLabelValues(ChannelSMS).Inc()
		ok, code, err := s.opts.SMS.SendSMS(ctx, r.Mobile, m.SMSText)
		switch {
		case err != nil:
			results = append(results, store.OutboxResult{IDs: []int64{r.ID}, Outcome: "pending", NextAt: store.Millis(s.opts.Now().Add(backoff(r.Attempts)))})
			s.log.Warn("sms failed; retried", zap.Int64("message", m.ID), zap.String("mobile", mask.Phone(r.Mobile)), zap.Error(err))
		case !ok:
			results = append(results, store.OutboxResult{IDs: []int64{r.ID}, Outcome: OutcomeFailed})
			s.log.Warn("sms refused", zap.Int64("message", m.ID), zap.String("mobile", mask.Phone(r.Mobile)), zap.String("code", code))
		default:
			results = append(results, store.OutboxResult{IDs: []int64{r.ID}, Outcome: OutcomeDelivered, SentAt: store.Millis(s.opts.Now())})
		}
	}
	return finish(results)
}

// ResponseCode is the code message/send answered when it delivered
// message id (a button, vote or multiple card) to userID: one use of
// message/update_template_card (docs/wecom.md §6), e.g. to show on an
// approver's card that someone else decided. "" when WeCom answered none.
func (s *Service) ResponseCode(ctx context.Context, id int64, userID string) (string, error) {
	code, err := s.opts.DB.OutboxResponseCode(ctx, id, userID)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNotFound
	}
	return code, err
}

// Get reads a message and its recipients' results.
func (s *Service) Get(ctx context.Context, id int64) (*Status, error) {
	m, err := s.opts.DB.GetOutboxMessage(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	counts, err := s.opts.DB.OutboxCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	rs, err := s.opts.DB.OutboxRecipientsOf(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	st := &Status{ID: m.ID, Producer: m.Producer, Lane: Lane(m.Lane).String(), MsgType: m.MsgType, State: m.State,
		CreatedAt: store.Time(m.CreatedAt), Counts: counts}
	for _, r := range rs {
		rr := RecipientResult{UserID: r.UserID, Channel: r.Channel, Outcome: r.Outcome, ErrCode: r.ErrCode}
		if r.Outcome == "sending" {
			rr.Outcome = OutcomePending
		}
		if r.Mobile != "" {
			rr.Mobile = mask.Phone(r.Mobile)
		}
		if r.SentAt > 0 {
			rr.At = store.Time(r.SentAt)
		}
		st.Recipients = append(st.Recipients, rr)
	}
	return st, nil
}

// Count is how many recipients a message to r would reach now: members
// (as the mirror has them) and numbers; for the console's live count.
func (s *Service) Count(ctx context.Context, r Recipients) (members, mobiles int, err error) {
	st, err := s.opts.Mirror.Load(ctx)
	if err != nil {
		return 0, 0, err
	}
	us, err := s.members(ctx, st, storedTo{UserIDs: r.UserIDs, Departments: r.Departments, Tags: r.Tags, Roles: r.Roles, All: r.All})
	if err != nil {
		return 0, 0, err
	}
	return len(us), len(r.Mobiles), nil
}

// Recall stops what is not sent yet and recalls from WeCom what was
// (message/recall, within 24 h: docs/wecom.md §6); the recipients' rows say
// recalled. It answers how many WeCom messages it recalled.
func (s *Service) Recall(ctx context.Context, id int64) (int, error) {
	if _, err := s.opts.DB.GetOutboxMessage(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, ErrNotFound
		}
		return 0, err
	}
	msgids, err := s.opts.DB.RecallOutboxMessage(ctx, id, store.Millis(s.opts.Now()))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, mid := range msgids {
		if err := s.opts.App.RecallMessage(ctx, mid); err != nil {
			s.log.Warn("recall failed", zap.Int64("message", id), zap.String("msgid", mid), zap.Error(err))
			continue
		}
		n++
	}
	return n, nil
}

// observeBacklog sets the backlog gauge from the outbox.
func (s *Service) observeBacklog(ctx context.Context) {
	b, err := s.opts.DB.OutboxBacklog(ctx)
	if err != nil {
		return
	}
	for l := LaneApproval; l <= LaneBroadcast; l++ {
		s.metrics.backlog.WithLabelValues(l.String()).Set(float64(b[int(l)]))
	}
}

// Estimate is when a message should be done, for the admin watching a
// large broadcast.
type Estimate struct {
	Waiting, Held int
	// Finish is the estimate; zero when nothing is left (or the message is
	// not expanded yet: Queued).
	Finish time.Time
	Queued bool
}

// EstimateFinish says how much of message id is left and when it should
// be done: the chunks left at the time a chunk has taken this dispatcher
// lately, and no earlier than the governor lets its held members go.
func (s *Service) EstimateFinish(ctx context.Context, id int64) (Estimate, error) {
	m, err := s.opts.DB.GetOutboxMessage(ctx, id)
	if err != nil {
		return Estimate{}, err
	}
	if m.State == store.OutboxQueued {
		return Estimate{Queued: true}, nil
	}
	pending, held, until, err := s.opts.DB.OutboxWaiting(ctx, id)
	if err != nil {
		return Estimate{}, err
	}
	e := Estimate{Waiting: pending, Held: held}
	if pending+held == 0 {
		return e, nil
	}
	per := time.Duration(s.chunkNanos.Load())
	if per <= 0 {
		per = time.Second
	}
	chunks := (pending + held + s.opts.ChunkSize - 1) / s.opts.ChunkSize
	e.Finish = s.opts.Now().Add(time.Duration(chunks) * per)
	if held > 0 {
		if t := store.Time(until).Add(per); t.After(e.Finish) {
			e.Finish = t
		}
	}
	return e, nil
}
