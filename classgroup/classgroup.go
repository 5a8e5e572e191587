package classgroup

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Options are what Sync and Send need.
type Options struct {
	DB *store.DB
	// Client is the app whose chats these are (Corp.App(name)): always the
	// same app, with the root department as its visible range.
	Client *wecom.Client
	// Members reports whether a userid is an enabled member of WeCom; only
	// those are put in a group (a chat takes existing members only, 86216).
	// Normally the contacts mirror's enabled members after the contacts
	// sync. Userids are compared as the data center writes them (staff and
	// student numbers). Required by Sync.
	Members func(userID string) bool
	// Verify reads every recorded chat back (appchat/get, one call each)
	// before the diff, to catch what changed in WeCom behind our back
	// (members who left a chat themselves). Off, a run calls only for
	// changes.
	Verify bool
	// Welcome, when set, is sent to each new group right after it is
	// created: older WeCom clients show a chat only once it has a message.
	Welcome *wecom.AppChatMessage
	// CreatesOut and ChangesOut say WeCom's daily quota of new chats or
	// hourly quota of changes was used up by an earlier run (Report's
	// fields of the same names): the run defers them without asking WeCom
	// again, so a run with nothing else to do makes no call.
	CreatesOut, ChangesOut bool
	Logger                 *zap.Logger
	Now                    func() time.Time
}

func (o *Options) defaults() error {
	if o.DB == nil || o.Client == nil {
		return errors.New("classgroup: Options.DB and Options.Client are required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Group is a class's group as it should be.
type Group struct {
	ClassCode string
	ChatID    string
	Name      string
	Owner     string   // the counselor's userid
	Members   []string // sorted, the owner included
}

// Problem is a class that gets no group, or a group that is not whole.
type Problem struct {
	ClassCode string `json:"class_code"`
	Message   string `json:"message"`
}

func (p Problem) String() string { return "class " + p.ClassCode + ": " + p.Message }

// Student statuses that keep a student in their class's group (as in the
// contacts sync, which keeps them enabled members).
var inClass = map[string]bool{"enrolled": true, "suspended": true}

// ChatID is the chatid of class code's group: "cls" and the code when the
// code is letters and digits that fit, else "clh" and a hash of the code.
// Deterministic, so a create whose answer was lost is found again.
func ChatID(classCode string) string {
	if id := "cls" + classCode; wecom.ValidAppChatID(id) {
		return id
	}
	sum := sha256.Sum256([]byte(classCode))
	return "clh" + hex.EncodeToString(sum[:])[:wecom.MaxAppChatIDLen-3]
}

// GroupName is the group's name for a class name: "<class>群" for a name
// ending in 班 ("计科24级1班群"), "<class>班级群" otherwise, cut to WeCom's
// 50 characters.
func GroupName(className string) string {
	n := strings.TrimSpace(className)
	if strings.HasSuffix(n, "班") {
		n += "群"
	} else {
		n += "班级群"
	}
	if utf8.RuneCountInString(n) > wecom.MaxAppChatName {
		n = string([]rune(n)[:wecom.MaxAppChatName])
	}
	return n
}

// Desired computes the groups the data center's classes call for, by class
// code, and the problems: classes that get no group (held: their existing
// groups are left as they are) and groups that leave someone out. members
// says who is in WeCom (nil: everyone).
func Desired(dc store.DataCenter, members func(string) bool) (groups []Group, problems []Problem) {
	if members == nil {
		members = func(string) bool { return true }
	}
	depts := map[string]store.DCDepartment{}
	for _, d := range dc.Departments {
		depts[d.Code] = d
	}
	byClass := map[string][]store.DCStudent{}
	for _, s := range dc.Students {
		if s.ClassCode != "" {
			byClass[s.ClassCode] = append(byClass[s.ClassCode], s)
		}
	}
	for _, code := range slices.Sorted(maps.Keys(byClass)) {
		d, ok := depts[code]
		if !ok || !d.Enabled {
			continue // abolished or unknown: no group wanted (Sync reports existing ones)
		}
		students := byClass[code]
		slices.SortFunc(students, func(a, b store.DCStudent) int { return cmp.Compare(a.StudentNo, b.StudentNo) })
		votes := map[string]int{}
		var in []string
		missing := 0
		for _, s := range students {
			if !inClass[s.Status] || s.StudentNo == "" {
				continue
			}
			if s.CounselorNo != "" {
				votes[s.CounselorNo]++
			}
			if members(s.StudentNo) {
				in = append(in, s.StudentNo)
			} else {
				missing++
			}
		}
		if len(in)+missing == 0 {
			continue // no students left: like an abolished class
		}
		owner := ""
		for _, c := range slices.Sorted(maps.Keys(votes)) {
			if votes[c] > votes[owner] {
				owner = c
			}
		}
		switch {
		case owner == "":
			problems = append(problems, Problem{code, "no student names a counselor (counselor_no); no group"})
			continue
		case !members(owner):
			problems = append(problems, Problem{code, fmt.Sprintf("the counselor %s is not a member of WeCom; no group until they are", owner)})
			continue
		}
		in = slices.DeleteFunc(in, func(u string) bool { return strings.EqualFold(u, owner) })
		if len(in) == 0 {
			problems = append(problems, Problem{code, "no student of the class is a member of WeCom yet; no group"})
			continue
		}
		if missing > 0 {
			problems = append(problems, Problem{code, fmt.Sprintf("%d students are not members of WeCom yet and are left out of the group", missing)})
		}
		if len(in)+1 > wecom.MaxAppChatMembers {
			problems = append(problems, Problem{code, fmt.Sprintf("%d students, more than a chat holds; the first %d by student number are in the group",
				len(in), wecom.MaxAppChatMembers-1)})
			in = in[:wecom.MaxAppChatMembers-1]
		}
		all := append(in, owner)
		slices.Sort(all)
		groups = append(groups, Group{ClassCode: code, ChatID: ChatID(code), Name: GroupName(d.Name), Owner: owner, Members: all})
	}
	return groups, problems
}

// Failure is one call that failed: which group, which call, WeCom's errcode
// (0 for a transport failure or a refusal before any call) and what to do.
type Failure struct {
	ClassCode string `json:"class_code"`
	ChatID    string `json:"chatid"`
	Op        string `json:"op"` // create, update, get, welcome
	ErrCode   int    `json:"errcode"`
	Err       string `json:"error"`
	Advice    string `json:"advice"`
}

// Report is what a Sync run did.
type Report struct {
	// Desired is how many groups the classes call for.
	Desired int `json:"desired"`
	// Created, Adopted (found already created by us, 86215), Updated and
	// Unchanged count groups; Deferred those left for a later run because
	// WeCom's daily create or hourly change quota is used up.
	Created   int `json:"created"`
	Adopted   int `json:"adopted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Deferred  int `json:"deferred"`
	// CreatesOut and ChangesOut: WeCom refused a create or a change for its
	// quota in this run (or Options said so): the rest wait for the quota.
	CreatesOut bool `json:"creates_out,omitempty"`
	ChangesOut bool `json:"changes_out,omitempty"`
	// Calls is how many appchat calls the run made (the client's own
	// retries of a call not counted).
	Calls int `json:"calls"`
	// Problems are classes that get no group, with why (their existing
	// groups are left as they are), and groups that leave people out.
	Problems []Problem `json:"problems,omitempty"`
	// Abolished are class codes with a group whose class is gone from the
	// data center or has no students left (WeCom cannot delete a chat; it
	// is left alone).
	Abolished []string  `json:"abolished,omitempty"`
	Failures  []Failure `json:"failures,omitempty"`
}

// Sync brings the class groups in step with the data center: the calls it
// needs, each recorded as soon as WeCom answers. It returns an error only
// when it cannot work at all (the data center or our record cannot be read,
// or a successful call cannot be recorded); failed calls are in the Report.
// Run it under the contacts sync's lock, after the contacts sync.
func Sync(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.Members == nil {
		return nil, errors.New("classgroup: Options.Members is required")
	}
	dc, err := opts.DB.ReadDataCenter(ctx)
	if err != nil {
		return nil, fmt.Errorf("classgroup: read the data center: %w", err)
	}
	recs, err := opts.DB.ListClassGroups(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("classgroup: %w", err)
	}
	want, problems := Desired(dc, opts.Members)
	s := &syncer{opts: opts, log: opts.Logger.Named("classgroup"), rep: &Report{Desired: len(want), Problems: problems},
		recs: map[string]store.ClassGroup{}, createsOut: opts.CreatesOut, updatesOut: opts.ChangesOut}
	for _, r := range recs {
		s.recs[r.ClassCode] = r
	}
	if opts.Verify {
		for _, r := range recs {
			if err := s.refresh(ctx, r); err != nil {
				return s.rep, err
			}
		}
	}
	desired := map[string]bool{}
	for _, g := range want {
		desired[g.ClassCode] = true
		if err := s.group(ctx, g); err != nil {
			return s.rep, err
		}
	}
	heldCodes := map[string]bool{} // a group is wanted for every other class with a problem
	for _, p := range problems {
		heldCodes[p.ClassCode] = true
	}
	for _, r := range recs {
		if !desired[r.ClassCode] && !heldCodes[r.ClassCode] {
			s.rep.Abolished = append(s.rep.Abolished, r.ClassCode)
		}
	}
	s.log.Info("class groups synced", zap.Int("desired", s.rep.Desired), zap.Int("created", s.rep.Created),
		zap.Int("adopted", s.rep.Adopted), zap.Int("updated", s.rep.Updated), zap.Int("unchanged", s.rep.Unchanged),
		zap.Int("deferred", s.rep.Deferred), zap.Int("failed", len(s.rep.Failures)), zap.Int("calls", s.rep.Calls),
		zap.Int("problems", len(problems)), zap.Int("abolished", len(s.rep.Abolished)))
	return s.rep, nil
}

type syncer struct {
	opts Options
	log  *zap.Logger
	rep  *Report
	recs map[string]store.ClassGroup // by class code
	// createsOut / updatesOut: WeCom answered 45009 to a create / update;
	// the rest of the run's creates / updates wait for a later run.
	createsOut, updatesOut bool
}

func (s *syncer) fail(g Group, op string, err error) { s.failWith(g, op, err, advice(err)) }

func (s *syncer) failWith(g Group, op string, err error, adv string) {
	f := Failure{ClassCode: g.ClassCode, ChatID: g.ChatID, Op: op, ErrCode: wecom.Code(err), Err: err.Error(), Advice: adv}
	s.rep.Failures = append(s.rep.Failures, f)
	s.log.Warn("class group call failed", zap.String("class", g.ClassCode), zap.String("chatid", g.ChatID),
		zap.String("op", op), zap.Int("errcode", f.ErrCode), zap.Error(err))
}

func (s *syncer) record(ctx context.Context, r store.ClassGroup) error {
	if err := s.opts.DB.PutClassGroup(ctx, nil, r, s.opts.Now()); err != nil {
		return fmt.Errorf("classgroup: record chat %s (class %s) after WeCom applied it: %w", r.ChatID, r.ClassCode, err)
	}
	s.recs[r.ClassCode] = r
	return nil
}

// group brings one desired group about.
func (s *syncer) group(ctx context.Context, g Group) error {
	agent := s.opts.Client.AgentID()
	r, ok := s.recs[g.ClassCode]
	if !ok {
		return s.create(ctx, g)
	}
	if r.AgentID != agent {
		s.fail(g, "update", fmt.Errorf("chat %s was created by app %d; app %d cannot change it (86008)", r.ChatID, r.AgentID, agent))
		return nil
	}
	g.ChatID = r.ChatID // the record's chatid wins (it is the chat that exists)
	return s.update(ctx, g, r, true)
}

func (s *syncer) create(ctx context.Context, g Group) error {
	if s.createsOut {
		s.rep.Deferred++
		return nil
	}
	s.rep.Calls++
	cctx, cancel := quotaCtx(ctx)
	_, err := s.opts.Client.CreateAppChat(cctx, wecom.AppChat{ChatID: g.ChatID, Name: g.Name, Owner: g.Owner, UserList: g.Members})
	cancel()
	switch {
	case err == nil:
		if err := s.record(ctx, store.ClassGroup{ChatID: g.ChatID, ClassCode: g.ClassCode, AgentID: s.opts.Client.AgentID(),
			Name: g.Name, Owner: g.Owner, Members: g.Members}); err != nil {
			return err
		}
		s.rep.Created++
		s.log.Info("class group created", zap.String("class", g.ClassCode), zap.String("chatid", g.ChatID), zap.Int("members", len(g.Members)))
		if s.opts.Welcome != nil {
			s.rep.Calls++
			if err := s.opts.Client.SendAppChat(ctx, g.ChatID, s.opts.Welcome); err != nil {
				s.fail(g, "welcome", err)
			}
		}
		return nil
	case wecom.IsCode(err, wecom.CodeAppChatExists):
		// Ours from a run whose answer or record was lost — or another
		// app's, which get refuses (86008).
		s.rep.Calls++
		c, gerr := s.opts.Client.GetAppChat(ctx, g.ChatID)
		if gerr != nil {
			adv := advice(gerr)
			if wecom.IsCode(gerr, wecom.CodeAppChatNotOurs) {
				adv = "the chatid is taken by a chat another app created; that app must hand it over, or the class group needs another chatid"
			}
			s.failWith(g, "get", fmt.Errorf("chatid %s exists but cannot be read back: %w", g.ChatID, gerr), adv)
			return nil
		}
		r := store.ClassGroup{ChatID: g.ChatID, ClassCode: g.ClassCode, AgentID: s.opts.Client.AgentID(), Name: c.Name, Owner: c.Owner, Members: c.UserList}
		if err := s.record(ctx, r); err != nil {
			return err
		}
		s.rep.Adopted++
		s.log.Info("class group adopted", zap.String("class", g.ClassCode), zap.String("chatid", g.ChatID))
		return s.update(ctx, g, r, false)
	case wecom.IsCode(err, wecom.CodeFrequencyLimit):
		s.createsOut = true
		s.rep.CreatesOut = true
		s.rep.Deferred++
		s.log.Warn("WeCom's quota of new chats is used up; the remaining class groups are created by a later run",
			zap.String("class", g.ClassCode), zap.Error(err))
		return nil
	}
	s.fail(g, "create", err)
	return nil
}

// quotaCallTimeout bounds one create or update. The client retries a
// 45009 after its frequency backoff (at least 15 s by default: 30 s with
// half of it jitter), which helps against a minute's quota but not against
// these calls' own: 1,000 new chats a day and 1,000 changes an hour. A
// deadline shorter than that backoff makes the client give the 45009 back
// at once (it never waits past the caller's deadline), while busy answers
// (-1) and dropped connections still get their quick retries, and one
// attempt keeps the client's own 10 s bound.
const quotaCallTimeout = 12 * time.Second

func quotaCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, quotaCallTimeout)
}

// change is the update that turns r into g; Empty when none is needed.
func change(g Group, r store.ClassGroup) wecom.AppChatUpdate {
	u := wecom.AppChatUpdate{ChatID: g.ChatID}
	if r.Name != g.Name {
		u.Name = g.Name
	}
	if !strings.EqualFold(r.Owner, g.Owner) {
		u.Owner = g.Owner
	}
	have := map[string]bool{}
	for _, m := range r.Members {
		have[strings.ToLower(m)] = true
	}
	wantSet := map[string]bool{}
	for _, m := range g.Members {
		wantSet[strings.ToLower(m)] = true
		if !have[strings.ToLower(m)] {
			u.AddUserList = append(u.AddUserList, m)
		}
	}
	for _, m := range r.Members {
		if !wantSet[strings.ToLower(m)] {
			u.DelUserList = append(u.DelUserList, m)
		}
	}
	return u
}

// update applies the difference between our record r and g. redo: when
// WeCom refuses because r is out of step with the chat, read the chat back
// and try once more from what WeCom has.
func (s *syncer) update(ctx context.Context, g Group, r store.ClassGroup, redo bool) error {
	u := change(g, r)
	if u.Empty() {
		s.rep.Unchanged++
		return nil
	}
	if s.updatesOut {
		s.rep.Deferred++
		return nil
	}
	s.rep.Calls++
	cctx, cancel := quotaCtx(ctx)
	err := s.opts.Client.UpdateAppChat(cctx, u)
	cancel()
	switch {
	case err == nil:
		r.Name, r.Owner, r.Members = g.Name, g.Owner, g.Members
		if err := s.record(ctx, r); err != nil {
			return err
		}
		s.rep.Updated++
		s.log.Info("class group updated", zap.String("class", g.ClassCode), zap.String("chatid", g.ChatID),
			zap.Strings("added", u.AddUserList), zap.Strings("removed", u.DelUserList), zap.String("owner", u.Owner), zap.String("name", u.Name))
		return nil
	case wecom.IsCode(err, wecom.CodeFrequencyLimit):
		s.updatesOut = true
		s.rep.ChangesOut = true
		s.rep.Deferred++
		s.log.Warn("WeCom's quota of chat changes is used up; the remaining class group changes are made by a later run",
			zap.String("class", g.ClassCode), zap.Error(err))
		return nil
	case redo && outOfStep(err):
		s.log.Info("class group differs from our record; reading it back", zap.String("class", g.ClassCode),
			zap.String("chatid", g.ChatID), zap.Int("errcode", wecom.Code(err)))
		s.rep.Calls++
		c, gerr := s.opts.Client.GetAppChat(ctx, g.ChatID)
		if gerr != nil {
			s.fail(g, "get", gerr)
			return nil
		}
		r.Name, r.Owner, r.Members = c.Name, c.Owner, c.UserList
		if err := s.record(ctx, r); err != nil {
			return err
		}
		return s.update(ctx, g, r, false)
	}
	s.fail(g, "update", err)
	return nil
}

// outOfStep: errcodes an update gets when our record of the chat is not
// what WeCom has (a member who left by themselves cannot be deleted, an
// owner who left cannot stay owner).
func outOfStep(err error) bool {
	switch wecom.Code(err) {
	case wecom.CodeAppChatUnknownMember, wecom.CodeAppChatOwnerNotIn, wecom.CodeAppChatOwnerRequired:
		return true
	}
	return false
}

// refresh reads a recorded chat back and records what WeCom has (Verify).
func (s *syncer) refresh(ctx context.Context, r store.ClassGroup) error {
	if r.AgentID != s.opts.Client.AgentID() {
		return nil // reported when its group comes up
	}
	s.rep.Calls++
	c, err := s.opts.Client.GetAppChat(ctx, r.ChatID)
	if err != nil {
		s.fail(Group{ClassCode: r.ClassCode, ChatID: r.ChatID}, "get", err)
		return nil
	}
	if r.Name == c.Name && strings.EqualFold(r.Owner, c.Owner) && sameMembers(r.Members, c.UserList) {
		return nil
	}
	r.Name, r.Owner, r.Members = c.Name, c.Owner, c.UserList
	return s.record(ctx, r)
}

func sameMembers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, m := range a {
		in[strings.ToLower(m)] = true
	}
	for _, m := range b {
		if !in[strings.ToLower(m)] {
			return false
		}
	}
	return true
}

// advice says what a person can do about a failed call.
func advice(err error) string {
	switch wecom.Code(err) {
	case 0:
		if wecom.IsRetryable(err) {
			return "WeCom could not be reached or failed; the next run tries again"
		}
		return "see the error"
	case wecom.CodeNoPermission:
		return "the app cannot use group chats: use a self-built app's secret (not the contacts-sync one) whose visible range (应用管理 → 可见范围) is the root department"
	case 60020:
		return "this server's IP is not in the app's 企业可信IP list"
	case wecom.CodeAppChatNotOurs:
		return "the chat belongs to another app: configure the app that created the class groups"
	case wecom.CodeAppChatNotFound, wecom.CodeAppChatIDInvalid:
		return "WeCom does not know the chat any more; remove its row from class_groups to have it created anew"
	case wecom.CodeAppChatUnknownMember, wecom.CodeAppChatBadMember:
		return "a member is not (or no longer) an active member of WeCom: run the contacts sync, then this sync again"
	case wecom.CodeAppChatMemberCount:
		return "a chat holds 2 to 2,000 members"
	case wecom.CodeAppChatBadOwner, wecom.CodeAppChatOwnerNotIn, wecom.CodeAppChatOwnerRequired:
		return "the counselor is not an active member of WeCom: check the class's counselor_no and the contacts sync"
	case wecom.CodeSystemBusy:
		return "WeCom was busy; the next run tries again"
	}
	return "see WeCom's errcode (docs/wecom.md §11, §13)"
}

// Send posts m into class classCode's group.
func Send(ctx context.Context, opts Options, classCode string, m *wecom.AppChatMessage) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	r, err := opts.DB.ClassGroupOf(ctx, nil, classCode)
	if err != nil {
		return fmt.Errorf("classgroup: send to class %s: %w", classCode, err)
	}
	if r.AgentID != opts.Client.AgentID() {
		return fmt.Errorf("classgroup: send to class %s: its chat %s belongs to app %d, not %d", classCode, r.ChatID, r.AgentID, opts.Client.AgentID())
	}
	if err := opts.Client.SendAppChat(ctx, r.ChatID, m); err != nil {
		return fmt.Errorf("classgroup: send to class %s: %w", classCode, err)
	}
	return nil
}

// MirrorMembers is an Options.Members from the contacts mirror: the
// members the contacts sync wrote enabled and WeCom has not reported
// disabled (2) or gone (5). Userids are matched ignoring case, as WeCom
// does. Read it after the contacts sync run.
func MirrorMembers(ctx context.Context, db *store.DB) (func(userID string) bool, error) {
	ms, err := db.ListMirrorMembers(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("classgroup: members from the contacts mirror: %w", err)
	}
	in := make(map[string]bool, len(ms))
	for _, m := range ms {
		if m.Enabled && m.Status != 2 && m.Status != 5 {
			in[strings.ToLower(m.UserID)] = true
		}
	}
	return func(userID string) bool { return in[strings.ToLower(userID)] }, nil
}

// Groups lists the recorded class groups by class code.
func Groups(ctx context.Context, db *store.DB) ([]store.ClassGroup, error) {
	gs, err := db.ListClassGroups(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("classgroup: %w", err)
	}
	return gs, nil
}
