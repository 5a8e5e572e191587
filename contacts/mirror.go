package contacts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
)

// ErrNotFound is returned for an object the mirror does not hold; it is
// store.ErrNotFound, so either errors.Is test works.
var ErrNotFound = store.ErrNotFound

// Options configures a Mirror. Zero fields take the defaults shown.
type Options struct {
	// Logger is named "contacts". Default zap.NewNop().
	Logger *zap.Logger
	// Clock stamps a touch whose event carries no CreateTime. Default time.Now.
	Clock func() time.Time
}

// Mirror is our record of WeCom's contacts (see the package doc). Its
// methods are safe for concurrent use. Methods that take a q run through it
// (a transaction of the sync's), or through the pool when q is nil.
type Mirror struct {
	db    *store.DB
	log   *zap.Logger
	clock func() time.Time
}

// New returns a Mirror over db (migrated, with a Sealer for members).
func New(db *store.DB, opts Options) (*Mirror, error) {
	if db == nil {
		return nil, errors.New("contacts: no database")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Mirror{db: db, log: opts.Logger.Named("contacts"), clock: opts.Clock}, nil
}

// Department is a department as we last wrote it to WeCom.
type Department struct {
	ID        int64
	DCCode    string // the data-center department it was made from; "" for none
	Name      string
	ParentID  int64
	Order     int64    // WeCom's order, larger first
	Leaders   []string // department_leader userids
	WrittenAt time.Time
}

// Membership is one department of a member: their order in it and whether
// they lead it.
type Membership struct {
	Department int64
	Order      int64
	Leader     bool
}

// Member is a member as we last wrote them to WeCom. Mobile and Email are
// sealed at rest.
type Member struct {
	UserID         string
	Name           string
	Departments    []Membership
	MainDepartment int64
	Position       string
	Gender         int  // 0 unknown, 1 male, 2 female
	Enabled        bool // enable as sent
	Status         int  // WeCom's status when known (1 active, 2 disabled, 4 not activated, 5 left); 0 unknown
	Mobile         string
	Email          string
	WrittenAt      time.Time
}

// Tag is a tag as we last wrote it, with the members and departments we
// added to it.
type Tag struct {
	ID        int64
	Name      string
	Users     []string
	Parties   []int64
	WrittenAt time.Time
}

// State is the whole mirror: what the sync diffs the desired state
// against.
type State struct {
	Departments []Department // by id
	Members     []Member     // by userid
	Tags        []Tag        // by id
}

func departmentOf(d store.MirrorDepartment) Department {
	return Department{ID: d.ID, DCCode: d.DCCode, Name: d.Name, ParentID: d.ParentID, Order: d.Order, Leaders: d.Leaders, WrittenAt: store.Time(d.WrittenAt)}
}

func memberOf(m store.MirrorMember) Member {
	out := Member{UserID: m.UserID, Name: m.Name, MainDepartment: m.MainDepartment, Position: m.Position, Gender: m.Gender,
		Enabled: m.Enabled, Status: m.Status, Mobile: m.Mobile, Email: m.Email, WrittenAt: store.Time(m.WrittenAt)}
	for _, d := range m.Departments {
		out.Departments = append(out.Departments, Membership(d))
	}
	return out
}

func (m Member) record() store.MirrorMember {
	out := store.MirrorMember{UserID: m.UserID, Name: m.Name, MainDepartment: m.MainDepartment, Position: m.Position,
		Gender: m.Gender, Enabled: m.Enabled, Status: m.Status, Mobile: m.Mobile, Email: m.Email}
	for _, d := range m.Departments {
		out.Departments = append(out.Departments, store.MirrorMembership(d))
	}
	return out
}

// tagsOf joins tags with their members (both sorted by tag id).
func tagsOf(tags []store.MirrorTag, members []store.MirrorTagMember) []Tag {
	out := make([]Tag, len(tags))
	idx := make(map[int64]int, len(tags))
	for i, t := range tags {
		out[i] = Tag{ID: t.ID, Name: t.Name, WrittenAt: store.Time(t.WrittenAt)}
		idx[t.ID] = i
	}
	for _, m := range members {
		i, ok := idx[m.TagID]
		if !ok {
			continue // members of a tag we no longer hold: nothing to show
		}
		if m.UserID != "" {
			out[i].Users = append(out[i].Users, m.UserID)
		} else {
			out[i].Parties = append(out[i].Parties, m.PartyID)
		}
	}
	return out
}

// Load reads the whole mirror. It takes no transaction (on SQLite that
// would hold the write lock, and callbacks waiting to be stored, for the
// whole read): the sync is the mirror's only writer and runs one at a time
// across instances, so nothing changes the mirror while it loads it.
func (m *Mirror) Load(ctx context.Context) (State, error) {
	var st State
	ds, err := m.db.ListMirrorDepartments(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("contacts: load the mirror: %w", err)
	}
	ms, err := m.db.ListMirrorMembers(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("contacts: load the mirror: %w", err)
	}
	tags, err := m.db.ListMirrorTags(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("contacts: load the mirror: %w", err)
	}
	tms, err := m.db.ListMirrorTagMembers(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("contacts: load the mirror: %w", err)
	}
	st.Departments = make([]Department, len(ds))
	for i, d := range ds {
		st.Departments[i] = departmentOf(d)
	}
	st.Members = make([]Member, len(ms))
	for i, x := range ms {
		st.Members[i] = memberOf(x)
	}
	st.Tags = tagsOf(tags, tms)
	return st, nil
}

// Department returns the department with WeCom id id, or ErrNotFound.
func (m *Mirror) Department(ctx context.Context, id int64) (Department, error) {
	d, err := m.db.GetMirrorDepartment(ctx, nil, id)
	if err != nil {
		return Department{}, fmt.Errorf("contacts: department %d: %w", id, err)
	}
	return departmentOf(d), nil
}

// PutDepartments records departments as written to WeCom at at (after
// department/create or update succeeded), through q.
func (m *Mirror) PutDepartments(ctx context.Context, q sqlx.ExtContext, ds []Department, at time.Time) error {
	recs := make([]store.MirrorDepartment, len(ds))
	for i, d := range ds {
		recs[i] = store.MirrorDepartment{ID: d.ID, DCCode: d.DCCode, Name: d.Name, ParentID: d.ParentID, Order: d.Order, Leaders: d.Leaders}
	}
	if err := m.db.PutMirrorDepartments(ctx, q, recs, at); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// DeleteDepartments forgets departments deleted in WeCom, through q, and
// says how many the mirror held.
func (m *Mirror) DeleteDepartments(ctx context.Context, q sqlx.ExtContext, ids []int64) (int64, error) {
	n, err := m.db.DeleteMirrorDepartments(ctx, q, ids)
	if err != nil {
		return n, fmt.Errorf("contacts: %w", err)
	}
	return n, nil
}

// Member returns the member with userid, or ErrNotFound.
func (m *Mirror) Member(ctx context.Context, userID string) (Member, error) {
	x, err := m.db.GetMirrorMember(ctx, nil, userID)
	if err != nil {
		return Member{}, fmt.Errorf("contacts: member %s: %w", userID, err)
	}
	return memberOf(x), nil
}

// MembersByMobile returns the userids of the members we wrote with this
// mobile number, however it is written (+86, spaces, dashes), without
// opening any sealed value: self-registration checks a phone against it.
func (m *Mirror) MembersByMobile(ctx context.Context, mobile string) ([]string, error) {
	ids, err := m.db.FindMirrorMembersByMobile(ctx, nil, mobile)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return ids, nil
}

// PutMembers records members as written to WeCom at at (after user/create
// or update, or a batch job's row, succeeded), through q.
func (m *Mirror) PutMembers(ctx context.Context, q sqlx.ExtContext, ms []Member, at time.Time) error {
	recs := make([]store.MirrorMember, len(ms))
	for i, x := range ms {
		recs[i] = x.record()
	}
	if err := m.db.PutMirrorMembers(ctx, q, recs, at); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// DeleteMembers forgets members deleted in WeCom (and their tag
// memberships), through q, and says how many the mirror held.
func (m *Mirror) DeleteMembers(ctx context.Context, q sqlx.ExtContext, userIDs []string) (int64, error) {
	n, err := m.db.DeleteMirrorMembers(ctx, q, userIDs)
	if err != nil {
		return n, fmt.Errorf("contacts: %w", err)
	}
	return n, nil
}

// Tag returns the tag with id and its members, or ErrNotFound.
func (m *Mirror) Tag(ctx context.Context, id int64) (Tag, error) {
	t, err := m.db.GetMirrorTag(ctx, nil, id)
	if err != nil {
		return Tag{}, fmt.Errorf("contacts: tag %d: %w", id, err)
	}
	tms, err := m.db.ListMirrorTagMembers(ctx, nil, id)
	if err != nil {
		return Tag{}, fmt.Errorf("contacts: tag %d: %w", id, err)
	}
	return tagsOf([]store.MirrorTag{t}, tms)[0], nil
}

// PutTags records tags (their names) as written to WeCom at at, through
// q. Members are recorded by AddTagMembers.
func (m *Mirror) PutTags(ctx context.Context, q sqlx.ExtContext, tags []Tag, at time.Time) error {
	recs := make([]store.MirrorTag, len(tags))
	for i, t := range tags {
		recs[i] = store.MirrorTag{ID: t.ID, Name: t.Name}
	}
	if err := m.db.PutMirrorTags(ctx, q, recs, at); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// DeleteTags forgets tags deleted in WeCom with their members, through q,
// and says how many the mirror held.
func (m *Mirror) DeleteTags(ctx context.Context, q sqlx.ExtContext, ids []int64) (int64, error) {
	n, err := m.db.DeleteMirrorTags(ctx, q, ids)
	if err != nil {
		return n, fmt.Errorf("contacts: %w", err)
	}
	return n, nil
}

// AddTagMembers records members and departments WeCom accepted into a tag
// (tag/addtagusers, less its invalidlist and invalidparty) at at, through q.
func (m *Mirror) AddTagMembers(ctx context.Context, q sqlx.ExtContext, tagID int64, userIDs []string, parties []int64, at time.Time) error {
	if err := m.db.AddMirrorTagMembers(ctx, q, tagID, userIDs, parties, at); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// RemoveTagMembers forgets members and departments removed from a tag
// (tag/deltagusers), through q, and says how many the mirror held.
func (m *Mirror) RemoveTagMembers(ctx context.Context, q sqlx.ExtContext, tagID int64, userIDs []string, parties []int64) (int64, error) {
	n, err := m.db.RemoveMirrorTagMembers(ctx, q, tagID, userIDs, parties)
	if err != nil {
		return n, fmt.Errorf("contacts: %w", err)
	}
	return n, nil
}
