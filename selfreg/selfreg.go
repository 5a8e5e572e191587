package selfreg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/store"
)

// Type is who the person says they are: it picks the data-center table
// their id is looked up in.
type Type string

// Types of people who may register themselves.
const (
	// Faculty: 教职工, id = 工号, in dc_faculty.
	Faculty Type = "faculty"
	// Student: 学生, id = 学号, in dc_students.
	Student Type = "student"
)

// Valid reports whether t is one of the types.
func (t Type) Valid() bool { return t == Faculty || t == Student }

// Name is the type's Chinese name, as pages show it.
func (t Type) Name() string {
	switch t {
	case Faculty:
		return "教职工"
	case Student:
		return "学生"
	}
	return string(t)
}

// idName is what the type's id is called: 工号 or 学号.
func (t Type) idName() string {
	if t == Student {
		return "学号"
	}
	return "工号"
}

// office is who corrects a person's data-center record: 人事处 for staff,
// the college's academic office for students. Their changes reach the data
// center's tables overnight.
func (t Type) office() string {
	if t == Student {
		return "所在学院的教务办公室"
	}
	return "人事处"
}

// Checks a Refusal names.
const (
	CheckRateLimited        = "rate_limited"
	CheckUnknownID          = "unknown_id"
	CheckTypeMismatch       = "type_mismatch"
	CheckInactive           = "inactive"
	CheckNameMismatch       = "name_mismatch"
	CheckDepartmentMismatch = "department_mismatch"
	CheckAlreadyMember      = "already_member"
	CheckPhoneDiffers       = "phone_differs"
	CheckPhoneTaken         = "phone_taken"
)

// Audit actions: a refused or failed attempt, and an enrolment.
const (
	ActionAttempt  = "selfreg.attempt"
	ActionEnrolled = "selfreg.enrolled"
)

// Default limits: attempts per hour.
const (
	DefaultPerPerson = 5
	DefaultPerIP     = 30
)

// lockLease bounds how long one person's registration may hold their lock
// (Enrol calls WeCom a few times); lockWait is how long a second attempt
// of the same person (a double submit) waits for the first to finish.
const (
	lockLease = 2 * time.Minute
	lockWait  = 30 * time.Second
)

// ErrInvalidAttempt: the attempt lacks what the page must supply (a valid
// type, the CAS user). It is the caller's mistake, not a refusal.
var ErrInvalidAttempt = errors.New("selfreg: invalid attempt")

// Refusal is an attempt refused by one of the checks: Check is the
// machine-readable name (Check* constants), Message says what is wrong and
// Advice what to do, both in Chinese for the person. RetryAfter is set
// for rate_limited.
type Refusal struct {
	Check      string
	Message    string
	Advice     string
	RetryAfter time.Duration
}

func (r *Refusal) Error() string { return "selfreg: refused: " + r.Check + ": " + r.Message }

// Options configure a Service. DB, Mirror, Coord and Enrol are required.
type Options struct {
	// DB holds the data center's tables and the audit log.
	DB *store.DB
	// Mirror says who is a member already and who holds a phone.
	Mirror *contacts.Mirror
	// Coord holds the rate limits and the per-person lock, shared by every
	// instance.
	Coord coord.Store
	// Logger is named "selfreg". Default zap.NewNop().
	Logger *zap.Logger
	// Now stamps audit rows. Default time.Now.
	Now func() time.Time
	// Enrol creates the member userID in WeCom through the sync machinery
	// (plans and applies the ops for that one person, recording them in
	// the mirror) and records the enrolment. It may return a *Refusal to
	// refuse with a reason of its own (e.g. WeCom says the phone is taken);
	// any other error is a failure the person is told to retry later.
	Enrol func(ctx context.Context, userID string, actor store.Actor) error
	// Welcome sends the welcome app message to the new member. Optional; a
	// failure is logged and reported, never undoes the enrolment.
	Welcome func(ctx context.Context, userID string) error
	// PerPerson and PerIP are how many attempts one CAS user and one client
	// IP may make per hour (a token bucket: the allowance refills evenly
	// over the hour). Zero takes DefaultPerPerson and DefaultPerIP.
	PerPerson, PerIP int
}

// Service checks and performs self-registrations. It is safe for
// concurrent use.
type Service struct {
	db               *store.DB
	mirror           *contacts.Mirror
	co               coord.Store
	log              *zap.Logger
	now              func() time.Time
	enrol            func(ctx context.Context, userID string, actor store.Actor) error
	welcome          func(ctx context.Context, userID string) error
	perPerson, perIP int
	personLim, ipLim coord.Limit
}

// New builds a Service.
func New(opts Options) (*Service, error) {
	switch {
	case opts.DB == nil:
		return nil, errors.New("selfreg: no database")
	case opts.Mirror == nil:
		return nil, errors.New("selfreg: no contacts mirror")
	case opts.Coord == nil:
		return nil, errors.New("selfreg: no coordination store")
	case opts.Enrol == nil:
		return nil, errors.New("selfreg: no Enrol")
	case opts.PerPerson < 0 || opts.PerIP < 0:
		return nil, errors.New("selfreg: negative rate limit")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PerPerson == 0 {
		opts.PerPerson = DefaultPerPerson
	}
	if opts.PerIP == 0 {
		opts.PerIP = DefaultPerIP
	}
	return &Service{db: opts.DB, mirror: opts.Mirror, co: opts.Coord, log: opts.Logger.Named("selfreg"), now: opts.Now,
		enrol: opts.Enrol, welcome: opts.Welcome, perPerson: opts.PerPerson, perIP: opts.PerIP,
		personLim: perHour(opts.PerPerson), ipLim: perHour(opts.PerIP)}, nil
}

func perHour(n int) coord.Limit { return coord.Limit{Rate: float64(n) / 3600, Burst: n} }

// Attempt is one registration attempt as the page collected it.
type Attempt struct {
	Type Type
	// CASUser is the id CAS verified (cas:user): the 工号 or 学号.
	CASUser string
	// Name and Mobile are what the person entered.
	Name   string
	Mobile string
	// DeptCode is the department code CAS released, if any; "" skips the
	// department check.
	DeptCode string
	// IP and UserAgent are the client's, for the limits and the audit log.
	IP        string
	UserAgent string
}

// Match is the data-center record an attempt matched.
type Match struct {
	Type Type
	// UserID is the member's WeCom userid: the 工号 or 学号 as the data
	// center writes it (contacts.BuildDesired's rule).
	UserID string
	// Name and Mobile are the data center's.
	Name   string
	Mobile string
	// Dept is the unit the member is placed in: the staff member's
	// department, the student's class (or college when they have none).
	Dept string
}

// Result is a registration that enrolled the person.
type Result struct {
	Match Match
	// Welcomed: the welcome message went out. When false, WelcomeError
	// says why (for the page: the member exists all the same).
	Welcomed     bool
	WelcomeError string
}

func (a Attempt) normalized() Attempt {
	a.CASUser = strings.TrimSpace(a.CASUser)
	a.Name = strings.TrimSpace(a.Name)
	a.Mobile = strings.TrimSpace(a.Mobile)
	a.DeptCode = strings.TrimSpace(a.DeptCode)
	return a
}

func (a Attempt) valid() error {
	if !a.Type.Valid() {
		return fmt.Errorf("%w: type %q", ErrInvalidAttempt, a.Type)
	}
	if a.CASUser == "" || len(a.CASUser) > 64 {
		return fmt.Errorf("%w: CAS user %q", ErrInvalidAttempt, a.CASUser)
	}
	return nil
}

// Check runs every check on a, taking one attempt from the person's and
// the IP's allowance, and returns the record it matched or a *Refusal. It
// writes nothing: Register is the attempt that is audited.
func (s *Service) Check(ctx context.Context, a Attempt) (*Match, error) {
	a = a.normalized()
	if err := a.valid(); err != nil {
		return nil, err
	}
	if err := s.limit(ctx, a); err != nil {
		return nil, err
	}
	return s.check(ctx, a)
}

// Register checks a, enrols the person (Options.Enrol) and welcomes them
// (Options.Welcome). Every attempt writes one audit row: selfreg.enrolled
// when the person was enrolled, selfreg.attempt with the failed check
// otherwise. Two attempts of one person run one after the other (a double
// submit finds the person a member already).
func (s *Service) Register(ctx context.Context, a Attempt) (*Result, error) {
	a = a.normalized()
	if err := a.valid(); err != nil {
		return nil, err
	}
	actor := store.Actor{UserID: a.CASUser, IP: a.IP, UserAgent: a.UserAgent}
	if err := s.limit(ctx, a); err != nil {
		s.audit(ctx, actor, ActionAttempt, a, nil, err)
		return nil, err
	}
	m, err := s.enrolLocked(ctx, a, actor)
	if err != nil {
		s.audit(ctx, actor, ActionAttempt, a, m, err)
		return nil, err
	}
	s.audit(ctx, actor, ActionEnrolled, a, m, nil)
	s.log.Info("self-registered", zap.String("userid", m.UserID), zap.String("type", string(m.Type)), zap.String("ip", a.IP))
	res := &Result{Match: *m}
	if s.welcome == nil {
		res.WelcomeError = "no welcome message configured"
		return res, nil
	}
	if err := s.welcome(ctx, m.UserID); err != nil {
		// The member exists; the page tells them to log in all the same.
		s.log.Warn("welcome message not sent", zap.String("userid", m.UserID), zap.Error(err))
		res.WelcomeError = err.Error()
		return res, nil
	}
	res.Welcomed = true
	return res, nil
}

// enrolLocked checks and enrols under the person's lock, so a double
// submit cannot create the member twice: the second sees already_member.
func (s *Service) enrolLocked(ctx context.Context, a Attempt, actor store.Actor) (*Match, error) {
	wctx, cancel := context.WithTimeout(ctx, lockWait)
	lock, err := coord.LockWait(wctx, s.co, "selfreg:lock:"+strings.ToLower(a.CASUser), lockLease, 100*time.Millisecond)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("selfreg: wait for the registration of %s in progress: %w", a.CASUser, err)
	}
	defer func() {
		// A lost lease only means it ran long; there is nothing to undo.
		if err := lock.Release(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("registration lock not released", zap.String("cas_user", a.CASUser), zap.Error(err))
		}
	}()
	m, err := s.check(ctx, a)
	if err != nil {
		return m, err
	}
	if err := s.enrol(ctx, m.UserID, actor); err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			return m, r
		}
		return m, fmt.Errorf("selfreg: enrol %s: %w", m.UserID, err)
	}
	return m, nil
}

// limit takes one attempt from the IP's allowance, then the person's.
func (s *Service) limit(ctx context.Context, a Attempt) error {
	if a.IP != "" {
		ok, after, err := s.co.Allow(ctx, "selfreg:ip:"+a.IP, s.ipLim)
		if err != nil {
			return fmt.Errorf("selfreg: rate limit for %s: %w", a.IP, err)
		}
		if !ok {
			return &Refusal{Check: CheckRateLimited, RetryAfter: after,
				Message: fmt.Sprintf("你所在的网络一小时内的注册尝试已超过 %d 次（同一 Wi-Fi 下的人共用这个次数）。", s.perIP),
				Advice:  fmt.Sprintf("请 %s后再试，或换用手机流量打开本页。", waitText(after))}
		}
	}
	ok, after, err := s.co.Allow(ctx, "selfreg:person:"+strings.ToLower(a.CASUser), s.personLim)
	if err != nil {
		return fmt.Errorf("selfreg: rate limit for %s: %w", a.CASUser, err)
	}
	if !ok {
		return &Refusal{Check: CheckRateLimited, RetryAfter: after,
			Message: fmt.Sprintf("%s %s 一小时内的注册尝试已超过 %d 次。", a.Type.idName(), a.CASUser, s.perPerson),
			Advice:  fmt.Sprintf("请核对前面提示的问题，%s后再试；如果一直不成功，请联系教育信息中心服务台。", waitText(after))}
	}
	return nil
}

// waitText says how long to wait, in minutes, rounded up.
func waitText(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("约 %d 分钟", m)
}

// record is the data-center row an attempt is matched against.
type record struct {
	id, name, mobile, status string
	units                    []string // department codes the person belongs to
	dept                     string   // the one they are placed in
}

func facultyRecord(f store.DCFaculty) record {
	return record{id: f.StaffNo, name: f.Name, mobile: f.Mobile, status: f.Status, units: []string{f.DeptCode}, dept: f.DeptCode}
}

func studentRecord(st store.DCStudent) record {
	r := record{id: st.StudentNo, name: st.Name, mobile: st.Mobile, status: st.Status, dept: st.ClassCode}
	if r.dept == "" {
		// Postgraduates have no class (contacts.BuildDesired places them in
		// their college the same way).
		r.dept = st.CollegeCode
	}
	for _, c := range []string{st.CollegeCode, st.ClassCode} {
		if c != "" {
			r.units = append(r.units, c)
		}
	}
	return r
}

// lookup finds id in the table of t, or returns store.ErrNotFound.
func (s *Service) lookup(ctx context.Context, t Type, id string) (record, error) {
	if t == Faculty {
		f, err := s.db.DCFacultyByNo(ctx, id)
		if err != nil {
			return record{}, err
		}
		return facultyRecord(f), nil
	}
	st, err := s.db.DCStudentByNo(ctx, id)
	if err != nil {
		return record{}, err
	}
	return studentRecord(st), nil
}

// Statuses that end membership (docs/datacenter.md; contacts.BuildDesired
// disables members with them). Retired staff and suspended students stay
// members, so they may register.
var inactiveStatus = map[string]string{"left": "离职", "graduated": "毕业", "withdrawn": "退学"}

// check runs the checks in the order that helps the person most: who
// they are, whether they may join, whether they have already (a member
// is told to log in, whatever they typed), what they typed, their phone.
func (s *Service) check(ctx context.Context, a Attempt) (*Match, error) {
	t := a.Type
	r, err := s.lookup(ctx, t, a.CASUser)
	if errors.Is(err, store.ErrNotFound) {
		other := Student
		if t == Student {
			other = Faculty
		}
		if _, oerr := s.lookup(ctx, other, a.CASUser); oerr == nil {
			return nil, &Refusal{Check: CheckTypeMismatch,
				Message: fmt.Sprintf("%s 不在%s名单里，而在%s名单里。", a.CASUser, t.Name(), other.Name()),
				Advice:  fmt.Sprintf("请返回上一步，选择“我是%s”重新注册。", other.Name())}
		} else if !errors.Is(oerr, store.ErrNotFound) {
			return nil, fmt.Errorf("selfreg: look up %s: %w", a.CASUser, oerr)
		}
		return nil, unknownID(t, a.CASUser)
	}
	if err != nil {
		return nil, fmt.Errorf("selfreg: look up %s: %w", a.CASUser, err)
	}
	m := &Match{Type: t, UserID: r.id, Name: r.name, Mobile: r.mobile, Dept: r.dept}
	if what, ok := inactiveStatus[r.status]; ok {
		advice := fmt.Sprintf("如果这条记录有误，请联系%s更正；数据中心每晚同步，更正后第二天上午再来注册。", t.office())
		if r.status == "graduated" {
			advice += "已毕业的同学可以作为校友加入，请联系教育信息中心了解办法。"
		}
		return m, &Refusal{Check: CheckInactive,
			Message: fmt.Sprintf("数据中心记录你已%s，已%s的人员不能再加入学校企业微信。", what, what), Advice: advice}
	}
	member, err := s.mirror.Member(ctx, r.id)
	switch {
	case err == nil && member.Enabled:
		how := "用本人手机号"
		if member.Mobile != "" {
			how = "用手机号 " + mask.Phone(member.Mobile)
		}
		return m, &Refusal{Check: CheckAlreadyMember,
			Message: "你已经是学校企业微信的成员，不需要再注册。",
			Advice: fmt.Sprintf("请%s登录企业微信（可在应用商店搜索“企业微信”下载）；想在个人微信里使用，登录后在企业微信里打开“我的企业 → 微信插件”，用微信扫码关注即可。",
				how)}
	case err != nil && !errors.Is(err, contacts.ErrNotFound):
		return m, fmt.Errorf("selfreg: is %s a member: %w", r.id, err)
	}
	// A member we disabled (they left, and are back) is enrolled again.
	if normName(a.Name) != normName(r.name) {
		return m, &Refusal{Check: CheckNameMismatch,
			Message: fmt.Sprintf("你填写的姓名与数据中心登记在%s %s 下的姓名不一致。", t.idName(), r.id),
			Advice: fmt.Sprintf("请填写登记的姓名（少数民族姓名请带上间隔号“·”）。如果登记的姓名有误，请联系%s更正，第二天上午再来注册。",
				t.office())}
	}
	if a.DeptCode != "" && !containsFold(r.units, a.DeptCode) {
		return m, &Refusal{Check: CheckDepartmentMismatch,
			Message: fmt.Sprintf("统一身份认证里你的单位（%s）与数据中心登记的单位不一致。", a.DeptCode),
			Advice:  fmt.Sprintf("请联系%s核对你的所在单位，更正后第二天上午再来注册。", t.office())}
	}
	entered, held := normPhone(a.Mobile), normPhone(r.mobile)
	if held == "" {
		return m, &Refusal{Check: CheckPhoneDiffers,
			Message: "数据中心没有登记你的手机号，企业微信需要用它登录。",
			Advice:  fmt.Sprintf("请到%s登记手机号；数据中心每晚同步，登记后第二天上午再来注册。", t.office())}
	}
	if entered != held {
		return m, &Refusal{Check: CheckPhoneDiffers,
			Message: fmt.Sprintf("你填写的手机号与数据中心登记的手机号（%s）不一致。", mask.Phone(r.mobile)),
			Advice: fmt.Sprintf("请用登记的手机号注册。如果你已经换了手机号，请到%s更新；数据中心每晚同步，更新后第二天上午再来注册。",
				t.office())}
	}
	ids, err := s.mirror.MembersByMobile(ctx, a.Mobile)
	if err != nil {
		return m, fmt.Errorf("selfreg: who holds the mobile of %s: %w", r.id, err)
	}
	for _, id := range ids {
		if !strings.EqualFold(id, r.id) {
			return m, &Refusal{Check: CheckPhoneTaken,
				Message: "这个手机号已经是学校企业微信里另一位成员的登录手机号，一个手机号只能对应一位成员。",
				Advice:  "如果这是你本人的号码，请带上有效证件联系教育信息中心服务台处理。"}
		}
	}
	return m, nil
}

func unknownID(t Type, id string) *Refusal {
	if t == Student {
		return &Refusal{Check: CheckUnknownID,
			Message: fmt.Sprintf("数据中心的学生名单里没有学号 %s。", id),
			Advice:  "新生完成报到、学籍信息录入后，第二天上午即可注册；如果你已入学一周以上，请联系所在学院的教务办公室核对学号。"}
	}
	return &Refusal{Check: CheckUnknownID,
		Message: fmt.Sprintf("数据中心的教职工名单里没有工号 %s。", id),
		Advice:  "新入职的教职工，人事处录入信息后第二天上午即可注册；如果你已入职一周以上，请联系人事处核对工号。"}
}

func containsFold(xs []string, x string) bool {
	for _, v := range xs {
		if strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}

// normName is a name as people type it in any of its spellings: no
// spaces, full-width letters and digits as ASCII, every middle dot of a
// minority name (·・•‧.) as one, letter case ignored.
func normName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		switch r {
		case '・', '•', '‧', '.', '∙', '⋅', 'ㆍ', '･':
			r = '·'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// normPhone is a phone in the form the mirror hashes it in (E.164 for a
// number libphonenumber reads), so +86, spaces and dashes do not matter.
func normPhone(s string) string { return store.NormalizeForHash(store.HashPhone, s) }

// auditRecord is an attempt as the audit log keeps it: the mobile masked.
type auditRecord struct {
	Type     Type   `json:"type"`
	Result   string `json:"result"` // enrolled, refused, failed
	Check    string `json:"check,omitempty"`
	UserID   string `json:"userid,omitempty"`
	Name     string `json:"name"`
	Mobile   string `json:"mobile"`
	DeptCode string `json:"dept_code,omitempty"`
	Error    string `json:"error,omitempty"`
}

// audit writes one attempt's row. Its failure is logged with everything
// the row held, and does not change the outcome: the person was refused
// (or enrolled) either way.
func (s *Service) audit(ctx context.Context, actor store.Actor, action string, a Attempt, m *Match, outcome error) {
	rec := auditRecord{Type: a.Type, Result: "enrolled", Name: truncateRunes(a.Name, 64), Mobile: mask.Phone(a.Mobile), DeptCode: a.DeptCode}
	if m != nil {
		rec.UserID = m.UserID
	}
	var r *Refusal
	switch {
	case errors.As(outcome, &r):
		rec.Result, rec.Check = "refused", r.Check
	case outcome != nil:
		rec.Result, rec.Error = "failed", truncateRunes(outcome.Error(), 500)
	}
	e, err := store.Audit(actor, action, "selfreg/"+a.CASUser, nil, rec, s.now())
	if err == nil {
		err = s.db.InsertAudit(context.WithoutCancel(ctx), nil, e)
	}
	if err != nil {
		s.log.Error("self-registration attempt not audited", zap.String("cas_user", a.CASUser), zap.String("action", action),
			zap.String("result", rec.Result), zap.String("check", rec.Check), zap.String("ip", actor.IP), zap.Error(err))
	}
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
