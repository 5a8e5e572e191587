package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The contacts mirror (contacts_departments, contacts_members,
// contacts_tags, contacts_tag_members): our record of what we wrote to WeCom
// through the contacts-sync secret, written after each successful API call.
// Under today's rules that secret reads back only ids (docs/wecom.md §5.1),
// so the sync diffs against this record. contacts_touched holds the objects
// someone else changed in WeCom (change_contact, §3), to be looked at again.
// Package contacts is the domain view.

// Sealed columns of the mirror. Mobile and email are what we sent WeCom
// for a member; the hash columns let self-registration match a phone
// number without opening every row.
var (
	MirrorMemberMobile = SealedColumn{Table: "contacts_members", Key: "id", Column: "mobile", HashColumn: "mobile_hash", HashPurpose: HashPhone}
	MirrorMemberEmail  = SealedColumn{Table: "contacts_members", Key: "id", Column: "email", HashColumn: "email_hash", HashPurpose: HashEmail}
)

// Bounds of mirrored values the schema holds. A sealed value is longer
// than its plaintext (SealedLen), so mobile and email are bounded before
// sealing: WeCom's own limits are well inside them.
const (
	MirrorUserIDMax = 64
	MirrorMobileMax = 32
	MirrorEmailMax  = 128
)

// mirrorChunk bounds the rows of one multi-row statement or IN list.
const mirrorChunk = 400

// MirrorKind is the kind of a mirrored object.
type MirrorKind string

// The kinds of mirrored objects.
const (
	MirrorKindDepartment MirrorKind = "department"
	MirrorKindMember     MirrorKind = "member"
	MirrorKindTag        MirrorKind = "tag"
)

// MirrorDepartment is a department as we last wrote it. WrittenAt is Unix
// milliseconds, set by PutMirrorDepartments.
type MirrorDepartment struct {
	ID        int64
	DCCode    string // the data-center code it was made from; "" for none
	Name      string
	ParentID  int64
	Order     int64
	Leaders   []string // department_leader userids
	WrittenAt int64
}

// MirrorMembership is one department of a member, with the member's order
// in it and whether they lead it (user/create's department, order and
// is_leader_in_dept, aligned).
type MirrorMembership struct {
	Department int64
	Order      int64
	Leader     bool
}

// MirrorMember is a member as we last wrote them. Mobile and Email are
// stored sealed. WrittenAt is Unix milliseconds, set by PutMirrorMembers.
type MirrorMember struct {
	UserID         string
	Name           string
	Departments    []MirrorMembership
	MainDepartment int64
	Position       string
	Gender         int  // 0 unknown, 1 male, 2 female
	Enabled        bool // enable as sent
	Status         int  // WeCom's status when known (1 active, 2 disabled, 4 not activated, 5 left); 0 unknown
	Mobile         string
	Email          string
	WrittenAt      int64
}

// MirrorTag is a tag as we last wrote it.
type MirrorTag struct {
	ID        int64
	Name      string
	WrittenAt int64
}

// MirrorTagMember is one member of a tag as added: a member (UserID) or a
// department (PartyID), never both.
type MirrorTagMember struct {
	TagID     int64
	UserID    string
	PartyID   int64
	WrittenAt int64
}

// MirrorTouch says that someone else changed an object in WeCom: the
// latest change_contact event about it since the sync last cleared it.
type MirrorTouch struct {
	Kind  MirrorKind
	ID    string // department or tag id in decimal, or the userid
	Event string // the ChangeType: create_user, update_party, update_tag, ...
	// Deleted: the latest event says the object is gone from WeCom
	// (delete_*, or update_user moving it to NewID). A hint only: the sync
	// checks existence against WeCom's ids.
	Deleted bool
	NewID   string // update_user that changed the userid: the new userid
	// TouchedAt is the latest event's time, FirstAt the earliest's since
	// the last clear, Unix milliseconds.
	TouchedAt int64
	FirstAt   int64
	// Mirrored is set by the listings: the mirror holds the object (false:
	// one we never wrote, e.g. created in the console).
	Mirrored bool
}

// --- departments ---

const mirrorDeptCols = "id, dc_code, name, parent_id, sort_order, leaders, written_at"

type mirrorDeptRow struct {
	ID        int64  `db:"id"`
	DCCode    string `db:"dc_code"`
	Name      string `db:"name"`
	ParentID  int64  `db:"parent_id"`
	Order     int64  `db:"sort_order"`
	Leaders   string `db:"leaders"`
	WrittenAt int64  `db:"written_at"`
}

func (r mirrorDeptRow) department() MirrorDepartment {
	return MirrorDepartment{ID: r.ID, DCCode: r.DCCode, Name: r.Name, ParentID: r.ParentID, Order: r.Order, Leaders: splitList(r.Leaders), WrittenAt: r.WrittenAt}
}

// PutMirrorDepartments records departments as written to WeCom at at,
// replacing what was recorded for their ids, through q (nil: the pool).
func (db *DB) PutMirrorDepartments(ctx context.Context, q sqlx.ExtContext, ds []MirrorDepartment, at time.Time) error {
	rows := make([][]any, 0, len(ds))
	for _, d := range ds {
		if d.ID <= 0 {
			return fmt.Errorf("store: put mirror department %d: the id must be positive", d.ID)
		}
		for _, l := range d.Leaders {
			if l == "" || len(l) > MirrorUserIDMax || strings.Contains(l, ",") {
				return fmt.Errorf("store: put mirror department %d: leader %q is not a userid", d.ID, l)
			}
		}
		rows = append(rows, []any{d.ID, d.DCCode, d.Name, d.ParentID, d.Order, strings.Join(d.Leaders, ","), Millis(at)})
	}
	if err := db.upsert(ctx, db.ext(q), "contacts_departments", strings.Split(mirrorDeptCols, ", "), []string{"id"}, rows); err != nil {
		return fmt.Errorf("store: put %d mirror departments: %w", len(ds), err)
	}
	return nil
}

// GetMirrorDepartment returns the recorded department or ErrNotFound.
func (db *DB) GetMirrorDepartment(ctx context.Context, q sqlx.ExtContext, id int64) (MirrorDepartment, error) {
	var r mirrorDeptRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, "SELECT "+mirrorDeptCols+" FROM contacts_departments WHERE id = ?", id); err != nil {
		return MirrorDepartment{}, notFound(err, "store: mirror department %d", id)
	}
	return r.department(), nil
}

// ListMirrorDepartments lists every recorded department by id.
func (db *DB) ListMirrorDepartments(ctx context.Context, q sqlx.ExtContext) ([]MirrorDepartment, error) {
	var rows []mirrorDeptRow
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, "SELECT "+mirrorDeptCols+" FROM contacts_departments ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: list mirror departments: %w", err)
	}
	out := make([]MirrorDepartment, len(rows))
	for i, r := range rows {
		out[i] = r.department()
	}
	return out, nil
}

// DeleteMirrorDepartments forgets departments (deleted in WeCom) and says
// how many were recorded.
func (db *DB) DeleteMirrorDepartments(ctx context.Context, q sqlx.ExtContext, ids []int64) (int64, error) {
	n, err := db.deleteIn(ctx, db.ext(q), "contacts_departments", "id", anys(ids))
	if err != nil {
		return n, fmt.Errorf("store: delete %d mirror departments: %w", len(ids), err)
	}
	return n, nil
}

// --- members ---

const mirrorMemberCols = "userid, name, departments, dept_orders, dept_leaders, main_department, position, gender, enabled, status, mobile, mobile_hash, email, email_hash, written_at"

type mirrorMemberRow struct {
	UserID         string `db:"userid"`
	Name           string `db:"name"`
	Departments    string `db:"departments"`
	DeptOrders     string `db:"dept_orders"`
	DeptLeaders    string `db:"dept_leaders"`
	MainDepartment int64  `db:"main_department"`
	Position       string `db:"position"`
	Gender         int    `db:"gender"`
	Enabled        bool   `db:"enabled"`
	Status         int    `db:"status"`
	Mobile         []byte `db:"mobile"`
	MobileHash     string `db:"mobile_hash"`
	Email          []byte `db:"email"`
	EmailHash      string `db:"email_hash"`
	WrittenAt      int64  `db:"written_at"`
}

// mirrorMember opens the sealed values and decodes the memberships.
func (db *DB) mirrorMember(r mirrorMemberRow) (MirrorMember, error) {
	m := MirrorMember{UserID: r.UserID, Name: r.Name, MainDepartment: r.MainDepartment, Position: r.Position,
		Gender: r.Gender, Enabled: r.Enabled, Status: r.Status, WrittenAt: r.WrittenAt}
	depts, orders, leaders := splitList(r.Departments), splitList(r.DeptOrders), splitList(r.DeptLeaders)
	if len(orders) != len(depts) || len(leaders) != len(depts) {
		return m, fmt.Errorf("mirror member %s: %d departments, %d orders, %d leader flags", r.UserID, len(depts), len(orders), len(leaders))
	}
	for i := range depts {
		d, err1 := strconv.ParseInt(depts[i], 10, 64)
		o, err2 := strconv.ParseInt(orders[i], 10, 64)
		if err1 != nil || err2 != nil || leaders[i] != "0" && leaders[i] != "1" {
			return m, fmt.Errorf("mirror member %s: membership %d (%s/%s/%s) does not parse", r.UserID, i, depts[i], orders[i], leaders[i])
		}
		m.Departments = append(m.Departments, MirrorMembership{Department: d, Order: o, Leader: leaders[i] == "1"})
	}
	mobile, err := db.open(MirrorMemberMobile, r.Mobile)
	if err != nil {
		return m, fmt.Errorf("mirror member %s: %w", r.UserID, err)
	}
	email, err := db.open(MirrorMemberEmail, r.Email)
	if err != nil {
		return m, fmt.Errorf("mirror member %s: %w", r.UserID, err)
	}
	m.Mobile, m.Email = string(mobile), string(email)
	return m, nil
}

// mirrorMemberValues checks m and returns its row, sealed.
func (db *DB) mirrorMemberValues(m MirrorMember, at time.Time) ([]any, error) {
	if m.UserID == "" || len(m.UserID) > MirrorUserIDMax {
		return nil, fmt.Errorf("userid %q must be 1 to %d bytes", m.UserID, MirrorUserIDMax)
	}
	if len(m.Mobile) > MirrorMobileMax {
		return nil, fmt.Errorf("member %s: mobile is longer than %d bytes", m.UserID, MirrorMobileMax)
	}
	if len(m.Email) > MirrorEmailMax {
		return nil, fmt.Errorf("member %s: email is longer than %d bytes", m.UserID, MirrorEmailMax)
	}
	depts := make([]string, len(m.Departments))
	orders := make([]string, len(m.Departments))
	leaders := make([]string, len(m.Departments))
	for i, d := range m.Departments {
		depts[i], orders[i], leaders[i] = strconv.FormatInt(d.Department, 10), strconv.FormatInt(d.Order, 10), "0"
		if d.Leader {
			leaders[i] = "1"
		}
	}
	deptList, orderList := strings.Join(depts, ","), strings.Join(orders, ",")
	if len(deptList) > 2048 || len(orderList) > 2048 {
		return nil, fmt.Errorf("member %s: %d departments do not fit the mirror", m.UserID, len(m.Departments))
	}
	mobile, err := db.seal(MirrorMemberMobile, []byte(m.Mobile))
	if err != nil {
		return nil, err
	}
	email, err := db.seal(MirrorMemberEmail, []byte(m.Email))
	if err != nil {
		return nil, err
	}
	return []any{m.UserID, m.Name, deptList, orderList, strings.Join(leaders, ","), m.MainDepartment, m.Position,
		m.Gender, m.Enabled, m.Status, mobile, db.mirrorHash(MirrorMemberMobile, m.Mobile), email,
		db.mirrorHash(MirrorMemberEmail, m.Email), Millis(at)}, nil
}

// mirrorHash is the lookup hash of a value of c, "" for an empty value
// (so that members without a phone do not all match each other).
func (db *DB) mirrorHash(c SealedColumn, v string) string {
	if v == "" {
		return ""
	}
	return db.sealer.Hash(c.HashPurpose, v)
}

// PutMirrorMembers records members as written to WeCom at at, replacing
// what was recorded for their userids, through q (nil: the pool). Mobile
// and email are sealed; it fails with ErrNoSealer, writing nothing, on a DB
// without a Sealer.
func (db *DB) PutMirrorMembers(ctx context.Context, q sqlx.ExtContext, ms []MirrorMember, at time.Time) error {
	if err := db.needSealer("put mirror members", MirrorMemberMobile); err != nil {
		return err
	}
	rows := make([][]any, 0, len(ms))
	for _, m := range ms {
		r, err := db.mirrorMemberValues(m, at)
		if err != nil {
			return fmt.Errorf("store: put mirror members: %w", err)
		}
		rows = append(rows, r)
	}
	if err := db.upsert(ctx, db.ext(q), "contacts_members", strings.Split(mirrorMemberCols, ", "), []string{"userid"}, rows); err != nil {
		return fmt.Errorf("store: put %d mirror members: %w", len(ms), err)
	}
	return nil
}

// GetMirrorMember returns the recorded member, mobile and email opened, or
// ErrNotFound.
func (db *DB) GetMirrorMember(ctx context.Context, q sqlx.ExtContext, userID string) (MirrorMember, error) {
	if err := db.needSealer("get mirror member", MirrorMemberMobile); err != nil {
		return MirrorMember{}, err
	}
	var r mirrorMemberRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, "SELECT "+mirrorMemberCols+" FROM contacts_members WHERE userid = ?", userID); err != nil {
		return MirrorMember{}, notFound(err, "store: mirror member %s", userID)
	}
	m, err := db.mirrorMember(r)
	if err != nil {
		return m, fmt.Errorf("store: %w", err)
	}
	return m, nil
}

// ListMirrorMembers lists every recorded member by userid, mobile and
// email opened. A row that does not open fails the listing: the diff must
// not take an unreadable member for a missing one.
func (db *DB) ListMirrorMembers(ctx context.Context, q sqlx.ExtContext) ([]MirrorMember, error) {
	if err := db.needSealer("list mirror members", MirrorMemberMobile); err != nil {
		return nil, err
	}
	var rows []mirrorMemberRow
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, "SELECT "+mirrorMemberCols+" FROM contacts_members ORDER BY userid"); err != nil {
		return nil, fmt.Errorf("store: list mirror members: %w", err)
	}
	out := make([]MirrorMember, len(rows))
	for i, r := range rows {
		m, err := db.mirrorMember(r)
		if err != nil {
			return nil, fmt.Errorf("store: list mirror members: %w", err)
		}
		out[i] = m
	}
	return out, nil
}

// FindMirrorMembersByMobile returns the userids of the recorded members
// whose mobile is mobile however written (13800138000, +86 138 0013 8000),
// by the lookup hash under every key, without opening any row.
func (db *DB) FindMirrorMembersByMobile(ctx context.Context, q sqlx.ExtContext, mobile string) ([]string, error) {
	return db.findMirrorMembers(ctx, q, MirrorMemberMobile, mobile)
}

// FindMirrorMembersByEmail is FindMirrorMembersByMobile for email
// addresses (trimmed, case ignored).
func (db *DB) FindMirrorMembersByEmail(ctx context.Context, q sqlx.ExtContext, email string) ([]string, error) {
	return db.findMirrorMembers(ctx, q, MirrorMemberEmail, email)
}

func (db *DB) findMirrorMembers(ctx context.Context, q sqlx.ExtContext, c SealedColumn, v string) ([]string, error) {
	if err := db.needSealer("find mirror members", c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	hashes := db.sealer.Hashes(c.HashPurpose, v)
	query, args, err := sqlx.In("SELECT userid FROM contacts_members WHERE "+c.HashColumn+" IN (?) ORDER BY userid", hashes)
	if err != nil {
		return nil, fmt.Errorf("store: find mirror members by %s: %w", c.Column, err)
	}
	var ids []string
	if err := sqlx.SelectContext(ctx, db.ext(q), &ids, query, args...); err != nil {
		return nil, fmt.Errorf("store: find mirror members by %s: %w", c.Column, err)
	}
	return ids, nil
}

// DeleteMirrorMembers forgets members (deleted in WeCom) and their tag
// memberships, and says how many members were recorded.
func (db *DB) DeleteMirrorMembers(ctx context.Context, q sqlx.ExtContext, userIDs []string) (int64, error) {
	ext := db.ext(q)
	// An empty userid would match every department row of contacts_tag_members.
	userIDs = slices.DeleteFunc(slices.Clone(userIDs), func(u string) bool { return u == "" })
	n, err := db.deleteIn(ctx, ext, "contacts_members", "userid", anys(userIDs))
	if err != nil {
		return n, fmt.Errorf("store: delete %d mirror members: %w", len(userIDs), err)
	}
	// WeCom drops a deleted member from every tag.
	if _, err := db.deleteIn(ctx, ext, "contacts_tag_members", "userid", anys(userIDs)); err != nil {
		return n, fmt.Errorf("store: delete %d mirror members' tag memberships: %w", len(userIDs), err)
	}
	return n, nil
}

// --- tags ---

const mirrorTagCols = "id, name, written_at"

type mirrorTagRow struct {
	ID        int64  `db:"id"`
	Name      string `db:"name"`
	WrittenAt int64  `db:"written_at"`
}

// PutMirrorTags records tags as written to WeCom at at, replacing what was
// recorded for their ids.
func (db *DB) PutMirrorTags(ctx context.Context, q sqlx.ExtContext, tags []MirrorTag, at time.Time) error {
	rows := make([][]any, 0, len(tags))
	for _, t := range tags {
		if t.ID <= 0 {
			return fmt.Errorf("store: put mirror tag %d: the id must be positive", t.ID)
		}
		rows = append(rows, []any{t.ID, t.Name, Millis(at)})
	}
	if err := db.upsert(ctx, db.ext(q), "contacts_tags", strings.Split(mirrorTagCols, ", "), []string{"id"}, rows); err != nil {
		return fmt.Errorf("store: put %d mirror tags: %w", len(tags), err)
	}
	return nil
}

// GetMirrorTag returns the recorded tag or ErrNotFound.
func (db *DB) GetMirrorTag(ctx context.Context, q sqlx.ExtContext, id int64) (MirrorTag, error) {
	var r mirrorTagRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, "SELECT "+mirrorTagCols+" FROM contacts_tags WHERE id = ?", id); err != nil {
		return MirrorTag{}, notFound(err, "store: mirror tag %d", id)
	}
	return MirrorTag(r), nil
}

// ListMirrorTags lists every recorded tag by id.
func (db *DB) ListMirrorTags(ctx context.Context, q sqlx.ExtContext) ([]MirrorTag, error) {
	var rows []mirrorTagRow
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, "SELECT "+mirrorTagCols+" FROM contacts_tags ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: list mirror tags: %w", err)
	}
	out := make([]MirrorTag, len(rows))
	for i, r := range rows {
		out[i] = MirrorTag(r)
	}
	return out, nil
}

// DeleteMirrorTags forgets tags (deleted in WeCom) with their members, and
// says how many tags were recorded.
func (db *DB) DeleteMirrorTags(ctx context.Context, q sqlx.ExtContext, ids []int64) (int64, error) {
	ext := db.ext(q)
	n, err := db.deleteIn(ctx, ext, "contacts_tags", "id", anys(ids))
	if err != nil {
		return n, fmt.Errorf("store: delete %d mirror tags: %w", len(ids), err)
	}
	if _, err := db.deleteIn(ctx, ext, "contacts_tag_members", "tag_id", anys(ids)); err != nil {
		return n, fmt.Errorf("store: delete the members of %d mirror tags: %w", len(ids), err)
	}
	return n, nil
}

// AddMirrorTagMembers records members and departments added to a tag
// (tag/addtagusers) at at. Adding one already recorded changes only its
// written_at.
func (db *DB) AddMirrorTagMembers(ctx context.Context, q sqlx.ExtContext, tagID int64, userIDs []string, parties []int64, at time.Time) error {
	rows := make([][]any, 0, len(userIDs)+len(parties))
	for _, u := range userIDs {
		if u == "" || len(u) > MirrorUserIDMax {
			return fmt.Errorf("store: add mirror tag %d members: userid %q must be 1 to %d bytes", tagID, u, MirrorUserIDMax)
		}
		rows = append(rows, []any{tagID, u, int64(0), Millis(at)})
	}
	for _, p := range parties {
		if p <= 0 {
			return fmt.Errorf("store: add mirror tag %d members: department %d must be positive", tagID, p)
		}
		rows = append(rows, []any{tagID, "", p, Millis(at)})
	}
	if err := db.upsert(ctx, db.ext(q), "contacts_tag_members", []string{"tag_id", "userid", "party_id", "written_at"}, []string{"tag_id", "userid", "party_id"}, rows); err != nil {
		return fmt.Errorf("store: add %d mirror tag %d members: %w", len(rows), tagID, err)
	}
	return nil
}

// RemoveMirrorTagMembers forgets members and departments removed from a
// tag (tag/deltagusers) and says how many were recorded.
func (db *DB) RemoveMirrorTagMembers(ctx context.Context, q sqlx.ExtContext, tagID int64, userIDs []string, parties []int64) (int64, error) {
	ext := db.ext(q)
	var n int64
	for chunk := range slices.Chunk(userIDs, mirrorChunk) {
		query, args, err := sqlx.In("DELETE FROM contacts_tag_members WHERE tag_id = ? AND party_id = 0 AND userid IN (?)", tagID, chunk)
		if err == nil {
			var k int64
			k, err = execCount(ctx, ext, query, args...)
			n += k
		}
		if err != nil {
			return n, fmt.Errorf("store: remove mirror tag %d members: %w", tagID, err)
		}
	}
	for chunk := range slices.Chunk(parties, mirrorChunk) {
		query, args, err := sqlx.In("DELETE FROM contacts_tag_members WHERE tag_id = ? AND userid = '' AND party_id IN (?)", tagID, chunk)
		if err == nil {
			var k int64
			k, err = execCount(ctx, ext, query, args...)
			n += k
		}
		if err != nil {
			return n, fmt.Errorf("store: remove mirror tag %d departments: %w", tagID, err)
		}
	}
	return n, nil
}

// ListMirrorTagMembers lists the recorded members of the given tags (none:
// of every tag), by tag, then members before departments.
func (db *DB) ListMirrorTagMembers(ctx context.Context, q sqlx.ExtContext, tagIDs ...int64) ([]MirrorTagMember, error) {
	type row struct {
		TagID     int64  `db:"tag_id"`
		UserID    string `db:"userid"`
		PartyID   int64  `db:"party_id"`
		WrittenAt int64  `db:"written_at"`
	}
	const sel = "SELECT tag_id, userid, party_id, written_at FROM contacts_tag_members"
	const order = " ORDER BY tag_id, party_id, userid"
	var rows []row
	if len(tagIDs) == 0 {
		if err := sqlx.SelectContext(ctx, db.ext(q), &rows, sel+order); err != nil {
			return nil, fmt.Errorf("store: list mirror tag members: %w", err)
		}
	}
	for chunk := range slices.Chunk(tagIDs, mirrorChunk) {
		query, args, err := sqlx.In(sel+" WHERE tag_id IN (?)"+order, chunk)
		if err != nil {
			return nil, fmt.Errorf("store: list mirror tag members: %w", err)
		}
		var part []row
		if err := sqlx.SelectContext(ctx, db.ext(q), &part, query, args...); err != nil {
			return nil, fmt.Errorf("store: list mirror tag members: %w", err)
		}
		rows = append(rows, part...)
	}
	out := make([]MirrorTagMember, len(rows))
	for i, r := range rows {
		out[i] = MirrorTagMember(r)
	}
	return out, nil
}

// --- touches ---

const mirrorTouchCols = "kind, object_id, event, deleted, new_id, touched_at, first_at"

type mirrorTouchRow struct {
	Kind      string `db:"kind"`
	ID        string `db:"object_id"`
	Event     string `db:"event"`
	Deleted   bool   `db:"deleted"`
	NewID     string `db:"new_id"`
	TouchedAt int64  `db:"touched_at"`
	FirstAt   int64  `db:"first_at"`
	Mirrored  bool   `db:"mirrored"`
}

func (r mirrorTouchRow) touch() MirrorTouch {
	return MirrorTouch{Kind: MirrorKind(r.Kind), ID: r.ID, Event: r.Event, Deleted: r.Deleted, NewID: r.NewID,
		TouchedAt: r.TouchedAt, FirstAt: r.FirstAt, Mirrored: r.Mirrored}
}

// mirroredExpr says whether the mirror holds the object of contacts_touched
// t. Department and tag ids compare as numbers with the text object_id on
// both engines.
const mirroredExpr = `CASE t.kind
	WHEN 'member' THEN EXISTS (SELECT 1 FROM contacts_members m WHERE m.userid = t.object_id)
	WHEN 'department' THEN EXISTS (SELECT 1 FROM contacts_departments d WHERE d.id = t.object_id)
	WHEN 'tag' THEN EXISTS (SELECT 1 FROM contacts_tags g WHERE g.id = t.object_id)
	ELSE 0 END`

func checkTouch(t MirrorTouch) error {
	switch t.Kind {
	case MirrorKindDepartment, MirrorKindMember, MirrorKindTag:
	default:
		return fmt.Errorf("unknown kind %q", t.Kind)
	}
	if t.ID == "" || len(t.ID) > MirrorUserIDMax || len(t.NewID) > MirrorUserIDMax {
		return fmt.Errorf("%s id %q must be 1 to %d bytes", t.Kind, t.ID, MirrorUserIDMax)
	}
	if t.Event == "" || len(t.Event) > 32 {
		return fmt.Errorf("%s %s: event %q must be 1 to 32 bytes", t.Kind, t.ID, t.Event)
	}
	return nil
}

// MarkMirrorTouched records that the object t names was changed in WeCom
// by event t.Event at t.TouchedAt (FirstAt and Mirrored are ignored). It is
// idempotent and order-proof, as inbox re-deliveries need: the event with
// the latest time wins (of two at the same time, the one marked last), and
// marking an event again, or an older one late, changes nothing but
// possibly FirstAt, the earliest time seen since the last clear.
func (db *DB) MarkMirrorTouched(ctx context.Context, q sqlx.ExtContext, t MirrorTouch) error {
	if err := checkTouch(t); err != nil {
		return fmt.Errorf("store: mark mirror touched: %w", err)
	}
	ext := db.ext(q)
	insert := "INSERT INTO contacts_touched (" + mirrorTouchCols + ") VALUES (?, ?, ?, ?, ?, ?, ?)"
	if db.dialect == MySQL {
		// Not INSERT IGNORE: that would turn other errors into warnings.
		insert += " ON DUPLICATE KEY UPDATE kind = kind"
	} else {
		insert += " ON CONFLICT (kind, object_id) DO NOTHING"
	}
	steps := []struct {
		query string
		args  []any
	}{
		{insert, []any{string(t.Kind), t.ID, t.Event, t.Deleted, t.NewID, t.TouchedAt, t.TouchedAt}},
		{"UPDATE contacts_touched SET event = ?, deleted = ?, new_id = ?, touched_at = ? WHERE kind = ? AND object_id = ? AND touched_at <= ?",
			[]any{t.Event, t.Deleted, t.NewID, t.TouchedAt, string(t.Kind), t.ID, t.TouchedAt}},
		{"UPDATE contacts_touched SET first_at = ? WHERE kind = ? AND object_id = ? AND first_at > ?",
			[]any{t.TouchedAt, string(t.Kind), t.ID, t.TouchedAt}},
	}
	for _, s := range steps {
		if _, err := ext.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("store: mark mirror %s %s touched: %w", t.Kind, t.ID, err)
		}
	}
	return nil
}

// GetMirrorTouch returns the touch of one object or ErrNotFound.
func (db *DB) GetMirrorTouch(ctx context.Context, q sqlx.ExtContext, kind MirrorKind, id string) (MirrorTouch, error) {
	var r mirrorTouchRow
	query := "SELECT " + prefixCols("t.", mirrorTouchCols) + ", " + mirroredExpr + " AS mirrored FROM contacts_touched t WHERE t.kind = ? AND t.object_id = ?"
	if err := sqlx.GetContext(ctx, db.ext(q), &r, query, string(kind), id); err != nil {
		return MirrorTouch{}, notFound(err, "store: mirror touch %s %s", kind, id)
	}
	return r.touch(), nil
}

// ListMirrorTouched lists every touched object, oldest touch first, each
// saying whether the mirror holds it.
func (db *DB) ListMirrorTouched(ctx context.Context, q sqlx.ExtContext) ([]MirrorTouch, error) {
	var rows []mirrorTouchRow
	query := "SELECT " + prefixCols("t.", mirrorTouchCols) + ", " + mirroredExpr + " AS mirrored FROM contacts_touched t ORDER BY t.touched_at, t.kind, t.object_id"
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, query); err != nil {
		return nil, fmt.Errorf("store: list mirror touches: %w", err)
	}
	out := make([]MirrorTouch, len(rows))
	for i, r := range rows {
		out[i] = r.touch()
	}
	return out, nil
}

// ClearMirrorTouched forgets a touch the sync has dealt with, but only if
// it is still the touch t (as listed): an event marked since then stays
// for the next run. It reports whether the touch was cleared.
func (db *DB) ClearMirrorTouched(ctx context.Context, q sqlx.ExtContext, t MirrorTouch) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "DELETE FROM contacts_touched WHERE kind = ? AND object_id = ? AND touched_at = ? AND event = ? AND deleted = ? AND new_id = ?",
		string(t.Kind), t.ID, t.TouchedAt, t.Event, t.Deleted, t.NewID)
	if err != nil {
		return false, fmt.Errorf("store: clear mirror %s %s touched: %w", t.Kind, t.ID, err)
	}
	return n > 0, nil
}

// --- helpers ---

// deleteIn deletes the rows of table whose col is in vals, in chunks, and
// returns how many went.
func (db *DB) deleteIn(ctx context.Context, ext sqlx.ExtContext, table, col string, vals []any) (int64, error) {
	var n int64
	for chunk := range slices.Chunk(vals, mirrorChunk) {
		query, args, err := sqlx.In("DELETE FROM "+table+" WHERE "+col+" IN (?)", chunk)
		if err != nil {
			return n, err
		}
		k, err := execCount(ctx, ext, query, args...)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func execCount(ctx context.Context, ext sqlx.ExtContext, query string, args ...any) (int64, error) {
	res, err := ext.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// splitList splits a comma-separated list; "" is the empty list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// prefixCols qualifies each column of a comma-separated list with p.
func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}
