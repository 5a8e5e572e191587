package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/wecom"
)

// ApplyOptions are what Apply needs besides the plan.
type ApplyOptions struct {
	// Client is the contacts-sync secret's client (wecom.Corp.Contacts):
	// the only one allowed to write contacts (docs/wecom.md §5.1). It
	// retries what can be retried and keeps to the rate limits itself.
	Client *wecom.Client
	// Mirror records each op as soon as WeCom accepted it.
	Mirror *Mirror
	// Desired is the state the plan was built from: its department leaders
	// (not diffed, set through members) are written to the mirror.
	Desired Desired
	// Touched are the touches the plan was built from (Mirror.Touched):
	// each is cleared once the op that re-asserts its object succeeded, or
	// at the end of a run that finished when the plan had nothing to do
	// for it.
	Touched []Touch
	// Logger is named "contacts". Default zap.NewNop().
	Logger *zap.Logger
	// Progress, when set, is called after each op (applied, skipped or
	// failed) with how many of total are done.
	Progress func(done, total int, op Op)
	// Now stamps the mirror's records. Default time.Now.
	Now func() time.Time
}

// Failure is an op WeCom refused: its errcode (0 when the call failed
// without one), what WeCom or the client said, and what to do.
type Failure struct {
	Op      Op     `json:"op"`
	Code    int    `json:"errcode"`
	Message string `json:"message"`
	Advice  string `json:"advice"`
}

// Report is what a run of Apply did.
type Report struct {
	// Applied ops succeeded (and are in the mirror); Skipped ops depended
	// on one that failed or was skipped; Failed ops are in Failures.
	Applied, Skipped, Failed int
	Failures                 []Failure
	// Adopted are the userids that existed in WeCom but not in the mirror
	// (60102 on create: made by someone else, or by a run that stopped
	// before recording its create), updated instead and recorded.
	Adopted []string
	// Calls is how many contacts API calls the run made (the client's own
	// retries not counted).
	Calls int
	// Interrupted: the context was cancelled before every op ran. The
	// mirror holds every op applied; planning again resumes.
	Interrupted bool
}

// Converged says whether the run applied the whole plan.
func (r *Report) Converged() bool { return !r.Interrupted && r.Failed == 0 && r.Skipped == 0 }

// Apply runs a plan's ops in order against WeCom and records each in the
// mirror at once, so that a run stopped anywhere (killed, cancelled,
// failed) is resumed by planning again: what was applied is in the mirror
// and is not planned twice. An op whose Depends failed or were skipped is
// skipped; a failed op never stops the ops that do not depend on it, and
// the report lists each failure with its errcode and what to do.
// Cancelling ctx stops the run between ops; the report then says
// Interrupted and the error is ctx's. Other errors are the mirror's: the
// run stops, since what was applied could no longer be recorded.
func Apply(ctx context.Context, plan *Plan, opts ApplyOptions) (*Report, error) {
	if opts.Client == nil || opts.Mirror == nil {
		return nil, errors.New("contacts: apply: no client or no mirror")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &applier{opts: opts, cl: opts.Client, m: opts.Mirror, log: opts.Logger.Named("contacts"), rep: &Report{},
		ok: make([]bool, len(plan.Ops)), tagIDs: map[int64]int64{}, touches: map[string]Touch{}, handled: map[string]bool{}}
	for _, t := range opts.Touched {
		a.touches[touchKey(t.Kind, t.ID)] = t
	}
	total := len(plan.Ops)
	for i := range plan.Ops {
		if err := ctx.Err(); err != nil {
			a.rep.Interrupted = true
			return a.rep, err
		}
		op := plan.Ops[i]
		if id, ok := a.tagIDs[op.Tag]; ok && op.Tag != 0 {
			op.Tag = id
		}
		if dep, blocked := a.blocked(op); blocked {
			a.rep.Skipped++
			a.log.Debug("op skipped", zap.Int("index", op.Index), zap.String("kind", string(op.Kind)), zap.Int("depends", dep))
		} else if err := a.run(ctx, op); err != nil {
			if ctx.Err() != nil {
				// Stopped mid-call: not WeCom's refusal. Whether the call
				// reached WeCom is unknown; the next run re-plans the op and
				// absorbs a repeated create (60102, 60008, 40071).
				a.rep.Interrupted = true
				return a.rep, ctx.Err()
			}
			var se storeError
			if errors.As(err, &se) {
				return a.rep, se.err
			}
			a.fail(op, err)
		} else {
			a.ok[i] = true
			a.rep.Applied++
		}
		if opts.Progress != nil {
			opts.Progress(i+1, total, op)
		}
	}
	if err := a.finish(ctx); err != nil {
		return a.rep, err
	}
	return a.rep, nil
}

type applier struct {
	opts ApplyOptions
	cl   *wecom.Client
	m    *Mirror
	log  *zap.Logger
	rep  *Report
	ok   []bool // by op index: applied
	// tagIDs remaps a planned tag id WeCom had given away to the id it
	// gave the tag instead.
	tagIDs  map[int64]int64
	touches map[string]Touch
	handled map[string]bool // touch keys of objects some op was about
	// mirrorTags are the mirror's tags as the run began, loaded when a
	// member deleted in WeCom is made again (reTag).
	mirrorTags []Tag
}

// storeError is a failure to record an applied op: it stops the run.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }

func touchKey(k Kind, id string) string { return string(k) + "\x00" + id }

func (a *applier) blocked(op Op) (int, bool) {
	for _, d := range op.Depends {
		if d < 0 || d >= len(a.ok) || !a.ok[d] {
			return d, true
		}
	}
	return 0, false
}

// call counts one API call.
func (a *applier) call() { a.rep.Calls++ }

// record runs fn in one transaction with the clearing of the touch of the
// object (kind, id): the op is recorded and its touch dealt with together.
func (a *applier) record(ctx context.Context, kind Kind, id string, fn func(tx *sqlx.Tx) error) error {
	key := touchKey(kind, id)
	a.handled[key] = true
	// WeCom has done it: record it even if the run is being cancelled, so
	// the next run does not repeat it.
	ctx = context.WithoutCancel(ctx)
	err := a.m.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if t, ok := a.touches[key]; ok {
			if _, err := a.m.Clear(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storeError{fmt.Errorf("contacts: apply: record %s %s: %w", kind, id, err)}
	}
	delete(a.touches, key)
	return nil
}

func (a *applier) run(ctx context.Context, op Op) error {
	switch op.Kind {
	case OpCreateDepartment:
		return a.createDepartment(ctx, op)
	case OpUpdateDepartment:
		return a.updateDepartment(ctx, op)
	case OpCreateUser:
		return a.createUser(ctx, op)
	case OpUpdateUser, OpDisableUser:
		return a.updateUser(ctx, op)
	case OpCreateTag:
		return a.createTag(ctx, op)
	case OpUpdateTag:
		a.call()
		if err := a.cl.UpdateTag(ctx, int(op.Tag), op.TagName); err != nil {
			return err
		}
		return a.putTag(ctx, op.Tag, op.TagName)
	case OpAddTagUsers:
		return a.changeTagUsers(ctx, op, true)
	case OpDelTagUsers:
		return a.changeTagUsers(ctx, op, false)
	case OpDeleteTag:
		a.call()
		if err := a.cl.DeleteTag(ctx, int(op.Tag)); err != nil && !wecom.IsCode(err, 40068) {
			return err
		}
		return a.record(ctx, KindTag, strconv.FormatInt(op.Tag, 10), func(tx *sqlx.Tx) error {
			_, err := a.m.DeleteTags(ctx, tx, []int64{op.Tag})
			return err
		})
	case OpDeleteUser:
		a.call()
		// A retry after a lost answer reports 60111: done.
		if err := a.cl.DeleteUser(ctx, op.UserID); err != nil && !wecom.IsNotFound(err) {
			return err
		}
		return a.record(ctx, KindMember, op.UserID, func(tx *sqlx.Tx) error {
			_, err := a.m.DeleteMembers(ctx, tx, []string{op.UserID})
			return err
		})
	case OpDeleteDepartment:
		a.call()
		if err := a.cl.DeleteDepartment(ctx, int(op.Department)); err != nil && !wecom.IsNotFound(err) {
			return err
		}
		return a.record(ctx, KindDepartment, strconv.FormatInt(op.Department, 10), func(tx *sqlx.Tx) error {
			_, err := a.m.DeleteDepartments(ctx, tx, []int64{op.Department})
			return err
		})
	}
	return fmt.Errorf("contacts: apply: op %d: unknown kind %q", op.Index, op.Kind)
}

// --- departments ---

func (a *applier) putDepartment(ctx context.Context, op Op) error {
	if op.WantDepartment == nil {
		return nil
	}
	return a.record(ctx, KindDepartment, strconv.FormatInt(op.Department, 10), func(tx *sqlx.Tx) error {
		return a.m.PutDepartments(ctx, tx, []Department{*op.WantDepartment}, a.opts.Now())
	})
}

func deptUpdate(id int64, f *DepartmentFields) wecom.DepartmentUpdate {
	u := wecom.DepartmentUpdate{ID: int(id)}
	if f == nil {
		return u
	}
	u.Name, u.Order = f.Name, f.Order
	if f.ParentID != nil {
		u.ParentID = wecom.Ptr(int(*f.ParentID))
	}
	return u
}

func (a *applier) createDepartment(ctx context.Context, op Op) error {
	f := op.DeptFields
	if f == nil {
		f = &DepartmentFields{}
	}
	c := wecom.DepartmentCreate{ID: int(op.Department)}
	if f.Name != nil {
		c.Name = *f.Name
	}
	if f.ParentID != nil {
		c.ParentID = int(*f.ParentID)
	}
	if f.Order != nil {
		c.Order = *f.Order
	}
	a.call()
	_, err := a.cl.CreateDepartment(ctx, c)
	if wecom.IsCode(err, wecom.CodeDepartmentExists) {
		// 60008 is the id taken or a sibling of the same name. The id
		// taken is most likely this create, made by a run that stopped
		// before recording it (or a retry after a lost answer): assert
		// the fields on it. If the id does not exist (60003), the name
		// clashes; if the update clashes (60008), so does the name.
		a.call()
		uerr := a.cl.UpdateDepartment(ctx, deptUpdate(op.Department, f))
		switch {
		case uerr == nil:
			a.log.Info("department existed; its fields were asserted", zap.Int64("department", op.Department))
			err = nil
		case wecom.IsCode(uerr, wecom.CodeDepartmentMissing):
			// err stays the create's 60008: the name clashes.
		default:
			err = uerr
		}
	}
	if err != nil {
		return err
	}
	return a.putDepartment(ctx, op)
}

func (a *applier) updateDepartment(ctx context.Context, op Op) error {
	a.call()
	if err := a.cl.UpdateDepartment(ctx, deptUpdate(op.Department, op.DeptFields)); err != nil {
		return err
	}
	return a.putDepartment(ctx, op)
}

// --- members ---

func genderString(g *int) string {
	if g == nil || *g == 0 {
		return "" // 0 is never sent
	}
	return strconv.Itoa(*g)
}

func ints(xs []int64) []int {
	if xs == nil {
		return nil
	}
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

func userCreate(id string, f *UserFields) *wecom.UserCreate {
	u := &wecom.UserCreate{UserID: id, Department: ints(f.Department), Order: f.Order, IsLeaderInDept: f.IsLeaderInDept,
		Gender: genderString(f.Gender), Enable: f.Enable}
	if f.Name != nil {
		u.Name = *f.Name
	}
	if f.Mobile != nil {
		u.Mobile = *f.Mobile
	}
	if f.Email != nil {
		u.Email = *f.Email
	}
	if f.Position != nil {
		u.Position = *f.Position
	}
	if f.MainDepartment != nil {
		u.MainDepartment = int(*f.MainDepartment)
	}
	return u
}

// userUpdate sends every field set in f, empty strings included: on a
// re-assert they clear what someone else set.
func userUpdate(id string, f *UserFields) *wecom.UserUpdate {
	u := &wecom.UserUpdate{UserID: id, Name: f.Name, Mobile: f.Mobile, Email: f.Email, Position: f.Position,
		Department: ints(f.Department), Order: f.Order, IsLeaderInDept: f.IsLeaderInDept, Enable: f.Enable}
	if g := genderString(f.Gender); g != "" {
		u.Gender = &g
	}
	if f.MainDepartment != nil {
		u.MainDepartment = wecom.Ptr(int(*f.MainDepartment))
	}
	return u
}

func (a *applier) putMember(ctx context.Context, op Op) error {
	return a.record(ctx, KindMember, op.UserID, func(tx *sqlx.Tx) error {
		if op.WantMember == nil {
			return nil // someone else's member, known by id only: nothing to record
		}
		return a.m.PutMembers(ctx, tx, []Member{*op.WantMember}, a.opts.Now())
	})
}

func (a *applier) createUser(ctx context.Context, op Op) error {
	f := op.UserFields
	if f == nil {
		f = &UserFields{}
	}
	a.call()
	err := a.cl.CreateUser(ctx, userCreate(op.UserID, f))
	if wecom.IsCode(err, wecom.CodeUserExists) {
		// The userid exists in WeCom but not in our mirror: made in the
		// console, or by a run that stopped before recording it. Adopt it:
		// update it to the data center's values and record it.
		a.call()
		if err = a.cl.UpdateUser(ctx, userUpdate(op.UserID, f)); err == nil {
			a.rep.Adopted = append(a.rep.Adopted, op.UserID)
			a.log.Info("member existed in WeCom; adopted", zap.String("userid", op.UserID))
		}
	}
	if err != nil {
		return err
	}
	if err := a.putMember(ctx, op); err != nil {
		return err
	}
	if op.Reason == "gone" {
		return a.reTag(ctx, op.UserID)
	}
	return nil
}

// reTag puts a member deleted in WeCom by someone else, and just made
// again, back into the tags the mirror holds them in: WeCom dropped them
// from every tag with the member, and the plan, diffing against the
// mirror, saw nothing to add. Tags the member should no longer be in are
// forgotten for them.
func (a *applier) reTag(ctx context.Context, userID string) error {
	if a.mirrorTags == nil {
		st, err := a.m.Load(ctx)
		if err != nil {
			return storeError{err}
		}
		a.mirrorTags = st.Tags
	}
	want := map[string]bool{}
	for _, t := range a.opts.Desired.Tags {
		if _, ok := slices.BinarySearch(t.Users, userID); ok {
			want[t.Name] = true
		}
	}
	for _, t := range a.mirrorTags {
		if !slices.Contains(t.Users, userID) {
			continue
		}
		if !want[t.Name] {
			if err := a.record(ctx, KindTag, strconv.FormatInt(t.ID, 10), func(tx *sqlx.Tx) error {
				_, err := a.m.RemoveTagMembers(ctx, tx, t.ID, []string{userID}, nil)
				return err
			}); err != nil {
				return err
			}
			continue
		}
		a.call()
		if _, err := a.cl.AddTagUsers(ctx, int(t.ID), []string{userID}, nil); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) updateUser(ctx context.Context, op Op) error {
	f := op.UserFields
	if f == nil {
		f = &UserFields{}
	}
	a.call()
	err := a.cl.UpdateUser(ctx, userUpdate(op.UserID, f))
	if wecom.IsCode(err, wecom.CodeUserNotFound) && op.WantMember != nil && op.WantMember.Name != "" && len(f.Department) > 0 && f.Name != nil {
		// Gone from WeCom without our hearing of it: make it again.
		a.call()
		err = a.cl.CreateUser(ctx, userCreate(op.UserID, f))
	}
	if err != nil {
		return err
	}
	return a.putMember(ctx, op)
}

// --- tags ---

func (a *applier) putTag(ctx context.Context, id int64, name string) error {
	return a.record(ctx, KindTag, strconv.FormatInt(id, 10), func(tx *sqlx.Tx) error {
		return a.m.PutTags(ctx, tx, []Tag{{ID: id, Name: name}}, a.opts.Now())
	})
}

func (a *applier) createTag(ctx context.Context, op Op) error {
	a.call()
	id, err := a.cl.CreateTag(ctx, op.TagName, int(op.Tag))
	switch {
	case wecom.IsCode(err, 40071):
		// The name exists: this create, made by a run that stopped before
		// recording it, or a tag someone else made. Take its id.
		a.call()
		tags, lerr := a.cl.ListTags(ctx)
		if lerr != nil {
			return lerr
		}
		for _, t := range tags {
			if t.Name == op.TagName {
				id, err = t.ID, nil
				break
			}
		}
	case wecom.IsCode(err, 40068):
		// The id we chose (above every id in the mirror) is taken by a tag
		// we never wrote: let WeCom choose, and remap the ops after.
		a.call()
		id, err = a.cl.CreateTag(ctx, op.TagName, 0)
	}
	if err != nil {
		return err
	}
	if int64(id) != op.Tag {
		a.tagIDs[op.Tag] = int64(id)
		a.log.Info("tag created under another id", zap.String("tag", op.TagName), zap.Int64("planned", op.Tag), zap.Int("id", id))
	}
	return a.putTag(ctx, int64(id), op.TagName)
}

func (a *applier) changeTagUsers(ctx context.Context, op Op, add bool) error {
	parties := ints(op.Parties)
	a.call()
	var ch *wecom.TagChange
	var err error
	if add {
		ch, err = a.cl.AddTagUsers(ctx, int(op.Tag), op.Users, parties)
	} else {
		ch, err = a.cl.DeleteTagUsers(ctx, int(op.Tag), op.Users, parties)
	}
	switch {
	case add && wecom.IsCode(err, wecom.CodeAllTagListInvalid), !add && wecom.IsCode(err, 40031):
		// Every member named is unknown to WeCom (their creates failed):
		// nothing changed, and nothing to record for an add. Members
		// unknown are not in the tag either, so a removal is done.
		ch, err = &wecom.TagChange{InvalidUsers: op.Users}, nil
		if !add {
			ch = &wecom.TagChange{}
		}
	case err != nil:
		return err
	}
	return a.record(ctx, KindTag, strconv.FormatInt(op.Tag, 10), func(tx *sqlx.Tx) error {
		if !add {
			_, err := a.m.RemoveTagMembers(ctx, tx, op.Tag, op.Users, op.Parties)
			return err
		}
		users := op.Users
		if len(ch.InvalidUsers) > 0 {
			users = slices.DeleteFunc(slices.Clone(users), func(u string) bool { return slices.Contains(ch.InvalidUsers, u) })
		}
		var ps []int64
		for _, p := range op.Parties {
			if !slices.Contains(ch.InvalidParties, int(p)) {
				ps = append(ps, p)
			}
		}
		if len(users)+len(ps) == 0 {
			return nil
		}
		return a.m.AddTagMembers(ctx, tx, op.Tag, users, ps, a.opts.Now())
	})
}

// --- end of run ---

// finish records what the plan does not diff (department leaders) and
// deals with the touches no op was about, once every op ran.
func (a *applier) finish(ctx context.Context) error {
	st, err := a.m.Load(ctx)
	if err != nil {
		return err
	}
	have := make(map[int64]*Department, len(st.Departments))
	for i := range st.Departments {
		have[st.Departments[i].ID] = &st.Departments[i]
	}
	var leaders []Department
	for _, d := range a.opts.Desired.Departments {
		h, ok := have[d.ID]
		if !ok || slices.Equal(h.Leaders, d.Leaders) || len(h.Leaders)+len(d.Leaders) == 0 {
			continue
		}
		x := *h
		x.Leaders = d.Leaders
		leaders = append(leaders, x)
	}
	if len(leaders) > 0 {
		if err := a.m.PutDepartments(ctx, nil, leaders, a.opts.Now()); err != nil {
			return fmt.Errorf("contacts: apply: record department leaders: %w", err)
		}
	}
	if a.rep.Failed+a.rep.Skipped > 0 {
		return nil // objects of failed ops keep their touches for the next run
	}
	members := make(map[string]bool, len(st.Members))
	for _, m := range st.Members {
		members[m.UserID] = true
	}
	// Touches the plan had nothing to do for: a deletion we take as done
	// (the object is forgotten), or an object left alone (the plan's
	// notes said so).
	for key, t := range a.touches {
		if a.handled[key] {
			continue
		}
		err := a.m.db.WithTx(ctx, func(tx *sqlx.Tx) error {
			if t.Deleted && t.Mirrored {
				switch t.Kind {
				case KindMember:
					if _, err := a.m.DeleteMembers(ctx, tx, []string{t.ID}); err != nil {
						return err
					}
				case KindDepartment:
					if id, ok := t.DepartmentID(); ok {
						if _, err := a.m.DeleteDepartments(ctx, tx, []int64{id}); err != nil {
							return err
						}
					}
				}
			}
			_, err := a.m.Clear(ctx, tx, t)
			return err
		})
		if err != nil {
			return fmt.Errorf("contacts: apply: clear the touch of %s %s: %w", t.Kind, t.ID, err)
		}
	}
	return nil
}

func (a *applier) fail(op Op, err error) {
	code := wecom.Code(err)
	f := Failure{Op: op, Code: code, Message: err.Error(), Advice: Advice(op, code)}
	a.rep.Failed++
	a.rep.Failures = append(a.rep.Failures, f)
	a.log.Warn("op failed", zap.Int("index", op.Index), zap.String("kind", string(op.Kind)), zap.String("userid", op.UserID),
		zap.Int64("department", op.Department), zap.Int64("tag", op.Tag), zap.Int("errcode", code), zap.Error(err))
}

// Advice says what to do about an op WeCom refused with code
// (docs/wecom.md §5, §11).
func Advice(op Op, code int) string {
	switch code {
	case wecom.CodeDepartmentExists:
		return "a department of the same name already exists under the same parent in WeCom (made in the console?): rename or remove one of them (or the data center's), then run the sync again"
	case 60104:
		return "the mobile number belongs to another member in WeCom: correct the data center's record, or the other member's number in the admin console, then run the sync again"
	case 60106:
		return "the email address belongs to another member in WeCom: correct the data center's record or the other member, then run the sync again"
	case 60103, 60105:
		return "the data center's mobile number or email address is malformed: correct the record"
	case 60129:
		return "the member has neither mobile nor email, and WeCom creates no member without one: add one in the data center"
	case 60112, 40003:
		return "the name or userid is not one WeCom takes (§5.3): correct the data center's record"
	case 60110:
		return "the member is in more departments than WeCom allows: reduce them in the data center"
	case 60003, 60004:
		return "a department it needs is missing in WeCom (deleted in the console?): run the sync again to re-create it"
	case 60005, 60006:
		return "the department still has members or child departments in WeCom that the sync did not put there: move them in the admin console, then run the sync again"
	case 60001, 60009, 60125:
		return "the department's name is not one WeCom takes (1–32 characters, none of \\ : * ? \" < > |): correct it in the data center"
	case 60011:
		return "the contacts-sync secret may not change this object (a tag made by another app, or outside its range): change it where it was made, or leave it to the other app"
	case 60020:
		return "this server's IP is not among the corp's trusted IPs (企业可信IP): add it in the admin console"
	case 48002, 48009, 40001:
		return "the contacts-sync secret is wrong or API editing is off: check wecom.contacts.secret and 通讯录同步 → API 编辑 in the admin console"
	case 40071:
		return "a tag of that name exists that the sync cannot take over: rename the tag rule or the other tag"
	case 40126, 81003:
		return "a WeCom tag limit is reached (3,000 tags a corp, 30,000 members a tag): retire or split tag rules"
	case 81001, 81002:
		return "a WeCom department limit is reached (30,000 nodes under one department, 15 levels): restructure in the data center"
	case 301005:
		return "the corp's creator cannot be deleted: leave the member disabled or transfer the corp first"
	case 45009, 45033, -1, 6000:
		return "WeCom is busy or rate-limiting even after retries: run the sync again later; it resumes where it stopped"
	case 0:
		return "the call failed without a WeCom answer (network, timeout): run the sync again; it resumes where it stopped"
	}
	return fmt.Sprintf("WeCom refused %s with errcode %d (docs/wecom.md §11): fix the cause, then run the sync again", op.Kind, code)
}
