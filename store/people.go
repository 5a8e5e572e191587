package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// PersonExt is a person outside the data center who registered themselves
// (people_ext): an alumnus, an examinee or a visitor. A person may have a
// row here and a data-center row (the teacher who is also an alumnus).
type PersonExt struct {
	UserID    string `db:"userid"`
	Name      string `db:"name"`
	Kind      string `db:"kind"` // alumnus, examinee, visitor
	Org       string `db:"org"`  // "2015届 计算机学院", "2027 本科报考", "来访单位"
	CreatedAt int64  `db:"created_at"`
}

// PersonTag puts a person in a tag (person_tags), by the tag's name.
type PersonTag struct {
	UserID string `db:"userid"`
	Tag    string `db:"tag"`
}

// PersonPrefs is what a person chose: the identity they act as and when
// they last read the notices.
type PersonPrefs struct {
	Identity      string // role key; "" = none remembered
	NoticesReadAt int64  // Unix ms; 0 = never
}

// PersonRows is everything our records say about one userid.
type PersonRows struct {
	UserID     string
	Faculty    *DCFaculty // nil when not on the faculty
	Student    *DCStudent // nil when not a student
	Ext        *PersonExt // nil when not registered outside the data center
	Tags       []string   // sorted
	Counselees int        // students whose counselor_no is this userid
	Prefs      PersonPrefs
}

// Known reports whether any table knows the person.
func (p PersonRows) Known() bool { return p.Faculty != nil || p.Student != nil || p.Ext != nil }

// LoadPeopleExt replaces every people_ext row with rows (the demo seed and
// tests; self-registration writes one row at a time later). A zero
// CreatedAt is stored as now.
func (db *DB) LoadPeopleExt(ctx context.Context, rows []PersonExt) error {
	now := Millis(time.Now())
	vals := make([][]any, 0, len(rows))
	for _, r := range rows {
		at := r.CreatedAt
		if at == 0 {
			at = now
		}
		vals = append(vals, []any{r.UserID, r.Name, r.Kind, r.Org, at})
	}
	return db.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM people_ext`); err != nil {
			return fmt.Errorf("store: load people_ext: clear: %w", err)
		}
		if err := insertRows(ctx, tx, "people_ext", []string{"userid", "name", "kind", "org", "created_at"}, vals); err != nil {
			return fmt.Errorf("store: load people_ext: %w", err)
		}
		return nil
	})
}

// LoadPersonTags replaces every person_tags row with rows. Duplicates are
// dropped.
func (db *DB) LoadPersonTags(ctx context.Context, rows []PersonTag) error {
	seen := make(map[PersonTag]bool, len(rows))
	vals := make([][]any, 0, len(rows))
	for _, r := range rows {
		if seen[r] {
			continue
		}
		seen[r] = true
		vals = append(vals, []any{r.UserID, r.Tag})
	}
	return db.WithTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM person_tags`); err != nil {
			return fmt.Errorf("store: load person_tags: clear: %w", err)
		}
		if err := insertRows(ctx, tx, "person_tags", []string{"userid", "tag"}, vals); err != nil {
			return fmt.Errorf("store: load person_tags: %w", err)
		}
		return nil
	})
}

// insertRows inserts rows in multi-row statements of at most 400 rows.
func insertRows(ctx context.Context, ext sqlx.ExtContext, table string, cols []string, rows [][]any) error {
	const chunk = 400
	for start := 0; start < len(rows); start += chunk {
		end := min(start+chunk, len(rows))
		var b strings.Builder
		args, err := valuesInsert(&b, table, cols, rows[start:end])
		if err != nil {
			return fmt.Errorf("insert into %w", err)
		}
		if _, err := ext.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert %d rows into %s: %w", end-start, table, err)
		}
	}
	return nil
}

// personQuery reads a person's faculty, student, people_ext and prefs rows
// and their counselee count in one round trip: a workbench page must stay a
// handful of indexed reads.
const personQuery = `SELECT
	f.staff_no, f.name, f.dept_code, f.gender, f.mobile, f.email, f.position, f.category, f.is_leader, f.status, f.updated_at,
	s.student_no, s.name, s.college_code, s.class_code, s.major, s.grade, s.level, s.gender, s.mobile, s.email, s.counselor_no, s.status, s.updated_at,
	e.userid, e.name, e.kind, e.org, e.created_at,
	p.identity, p.notices_read_at,
	(SELECT COUNT(*) FROM dc_students c WHERE c.counselor_no = u.uid)
FROM (SELECT ? AS uid) u
LEFT JOIN dc_faculty f ON f.staff_no = u.uid
LEFT JOIN dc_students s ON s.student_no = u.uid
LEFT JOIN people_ext e ON e.userid = u.uid
LEFT JOIN person_prefs p ON p.userid = u.uid`

// hotQuery runs a query of a page's hot path: prepared once on SQLite
// (which would parse and plan it on every call otherwise), interpolated
// client-side on MySQL (a prepare would cost a round trip).
func (db *DB) hotQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if db.dialect == MySQL {
		return db.QueryContext(ctx, query, args...)
	}
	st, err := db.prepared(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return st.QueryContext(ctx, args...)
}

// PersonRows returns what our records hold on userID, in two queries (the
// records, then the tags). An unknown userid is not an error: check Known.
func (db *DB) PersonRows(ctx context.Context, userID string) (PersonRows, error) {
	out := PersonRows{UserID: userID}
	var (
		f struct {
			no, name, dept, mobile, email, position, category, status sql.NullString
			gender, leader, updated                                   sql.NullInt64
		}
		s struct {
			no, name, college, class, major, level, mobile, email, counselor, status sql.NullString
			grade, gender, updated                                                   sql.NullInt64
		}
		e struct {
			id, name, kind, org sql.NullString
			created             sql.NullInt64
		}
		identity sql.NullString
		readAt   sql.NullInt64
	)
	row, err := db.hotQuery(ctx, personQuery, userID)
	if err != nil {
		return out, fmt.Errorf("store: person %s: %w", userID, err)
	}
	if !row.Next() {
		row.Close()
		if err := row.Err(); err != nil {
			return out, fmt.Errorf("store: person %s: %w", userID, err)
		}
		return out, fmt.Errorf("store: person %s: no row", userID)
	}
	err = row.Scan(
		&f.no, &f.name, &f.dept, &f.gender, &f.mobile, &f.email, &f.position, &f.category, &f.leader, &f.status, &f.updated,
		&s.no, &s.name, &s.college, &s.class, &s.major, &s.grade, &s.level, &s.gender, &s.mobile, &s.email, &s.counselor, &s.status, &s.updated,
		&e.id, &e.name, &e.kind, &e.org, &e.created,
		&identity, &readAt, &out.Counselees)
	row.Close()
	if err != nil {
		return out, fmt.Errorf("store: person %s: %w", userID, err)
	}
	if f.no.Valid {
		out.Faculty = &DCFaculty{StaffNo: f.no.String, Name: f.name.String, DeptCode: f.dept.String, Gender: int(f.gender.Int64),
			Mobile: f.mobile.String, Email: f.email.String, Position: f.position.String, Category: f.category.String,
			IsLeader: f.leader.Int64 != 0, Status: f.status.String, UpdatedAt: f.updated.Int64}
	}
	if s.no.Valid {
		out.Student = &DCStudent{StudentNo: s.no.String, Name: s.name.String, CollegeCode: s.college.String, ClassCode: s.class.String,
			Major: s.major.String, Grade: int(s.grade.Int64), Level: s.level.String, Gender: int(s.gender.Int64), Mobile: s.mobile.String,
			Email: s.email.String, CounselorNo: s.counselor.String, Status: s.status.String, UpdatedAt: s.updated.Int64}
	}
	if e.id.Valid {
		out.Ext = &PersonExt{UserID: e.id.String, Name: e.name.String, Kind: e.kind.String, Org: e.org.String, CreatedAt: e.created.Int64}
	}
	out.Prefs = PersonPrefs{Identity: identity.String, NoticesReadAt: readAt.Int64}
	if !out.Known() {
		return out, nil
	}
	rows, err := db.hotQuery(ctx, `SELECT tag FROM person_tags WHERE userid = ? ORDER BY tag`, userID)
	if err != nil {
		return out, fmt.Errorf("store: person %s tags: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return out, fmt.Errorf("store: person %s tags: %w", userID, err)
		}
		out.Tags = append(out.Tags, t)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: person %s tags: %w", userID, err)
	}
	return out, nil
}

// DCDepartments returns every data-center department, for the tree the
// workbench keeps in memory.
func (db *DB) DCDepartments(ctx context.Context) ([]DCDepartment, error) {
	var out []DCDepartment
	if err := db.SelectContext(ctx, &out, `SELECT code, name, parent_code, kind, sort_order, enabled, updated_at FROM dc_departments`); err != nil {
		return nil, fmt.Errorf("store: list departments: %w", err)
	}
	return out, nil
}

// SetPersonIdentity remembers the role key the person acts as.
func (db *DB) SetPersonIdentity(ctx context.Context, userID, role string, now time.Time) error {
	return db.setPref(ctx, userID, "identity", role, now)
}

// SetNoticesRead records when the person last read the notices.
func (db *DB) SetNoticesRead(ctx context.Context, userID string, at time.Time) error {
	return db.setPref(ctx, userID, "notices_read_at", Millis(at), at)
}

func (db *DB) setPref(ctx context.Context, userID, col string, val any, now time.Time) error {
	cols := []string{"userid", "identity", "notices_read_at", "updated_at"}
	row := []any{userID, "", int64(0), Millis(now)}
	for i, c := range cols {
		if c == col {
			row[i] = val
		}
	}
	// Only the named column and updated_at change on an existing row.
	q := `INSERT INTO person_prefs (userid, identity, notices_read_at, updated_at) VALUES (?, ?, ?, ?) `
	if db.dialect == MySQL {
		q += fmt.Sprintf(`ON DUPLICATE KEY UPDATE %s = VALUES(%s), updated_at = VALUES(updated_at)`, col, col)
	} else {
		q += fmt.Sprintf(`ON CONFLICT (userid) DO UPDATE SET %s = excluded.%s, updated_at = excluded.updated_at`, col, col)
	}
	if _, err := db.ExecContext(ctx, q, row...); err != nil {
		return fmt.Errorf("store: set %s of %s: %w", col, userID, err)
	}
	return nil
}

// SetFavourite adds (on) or removes a module from the person's favourites.
// Adding one already there keeps its place in the list.
func (db *DB) SetFavourite(ctx context.Context, userID, module string, on bool, now time.Time) error {
	q := `DELETE FROM person_favourites WHERE userid = ? AND module = ?`
	args := []any{userID, module}
	if on {
		q = `INSERT INTO person_favourites (userid, module, created_at) VALUES (?, ?, ?) `
		if db.dialect == MySQL {
			q += `ON DUPLICATE KEY UPDATE created_at = created_at`
		} else {
			q += `ON CONFLICT (userid, module) DO NOTHING`
		}
		args = append(args, Millis(now))
	}
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store: favourite %s of %s: %w", module, userID, err)
	}
	return nil
}

// TouchRecent records that the person used module now and keeps only their
// keep most recent modules.
func (db *DB) TouchRecent(ctx context.Context, userID, module string, now time.Time, keep int) error {
	return db.WithTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.upsert(ctx, tx, "person_recent", []string{"userid", "module", "used_at"}, []string{"userid", "module"},
			[][]any{{userID, module, Millis(now)}}); err != nil {
			return fmt.Errorf("store: recent %s of %s: %w", module, userID, err)
		}
		var mods []string
		if err := tx.SelectContext(ctx, &mods, `SELECT module FROM person_recent WHERE userid = ? ORDER BY used_at DESC, module`, userID); err != nil {
			return fmt.Errorf("store: recent of %s: %w", userID, err)
		}
		// MySQL refuses LIMIT inside IN (…), so the surplus is named here.
		for _, m := range mods[min(keep, len(mods)):] {
			if _, err := tx.ExecContext(ctx, `DELETE FROM person_recent WHERE userid = ? AND module = ?`, userID, m); err != nil {
				return fmt.Errorf("store: trim recent of %s: %w", userID, err)
			}
		}
		return nil
	})
}

// PersonActivity returns the person's favourite modules (oldest first) and
// recently used ones (newest first), in one query.
func (db *DB) PersonActivity(ctx context.Context, userID string) (favourites, recent []string, err error) {
	rows, err := db.hotQuery(ctx, `SELECT 'f', module, created_at FROM person_favourites WHERE userid = ?
		UNION ALL SELECT 'r', module, used_at FROM person_recent WHERE userid = ?`, userID, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: activity of %s: %w", userID, err)
	}
	defer rows.Close()
	type item struct {
		module string
		at     int64
	}
	var favs, recs []item
	for rows.Next() {
		var kind string
		var it item
		if err := rows.Scan(&kind, &it.module, &it.at); err != nil {
			return nil, nil, fmt.Errorf("store: activity of %s: %w", userID, err)
		}
		if kind == "f" {
			favs = append(favs, it)
		} else {
			recs = append(recs, it)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: activity of %s: %w", userID, err)
	}
	sortItems := func(s []item, desc bool) []string {
		slices.SortFunc(s, func(a, b item) int {
			if c := cmp.Compare(a.at, b.at); c != 0 {
				if desc {
					return -c
				}
				return c
			}
			return strings.Compare(a.module, b.module)
		})
		out := make([]string, len(s))
		for i, it := range s {
			out[i] = it.module
		}
		return out
	}
	return sortItems(favs, false), sortItems(recs, true), nil
}

// AllPersonRows reads every person in our records at once, in five
// queries (faculty, students, self-registered people, tags, counselees),
// for work over the whole university such as counting who holds each role.
// Prefs are left empty.
func (db *DB) AllPersonRows(ctx context.Context) ([]PersonRows, error) {
	var fac []DCFaculty
	if err := db.SelectContext(ctx, &fac, `SELECT staff_no, name, dept_code, gender, mobile, email, position, category, is_leader, status, updated_at FROM dc_faculty`); err != nil {
		return nil, fmt.Errorf("store: all faculty: %w", err)
	}
	var stu []DCStudent
	if err := db.SelectContext(ctx, &stu, `SELECT student_no, name, college_code, class_code, major, grade, level, gender, mobile, email, counselor_no, status, updated_at FROM dc_students`); err != nil {
		return nil, fmt.Errorf("store: all students: %w", err)
	}
	var ext []PersonExt
	if err := db.SelectContext(ctx, &ext, `SELECT userid, name, kind, org, created_at FROM people_ext`); err != nil {
		return nil, fmt.Errorf("store: all self-registered people: %w", err)
	}
	var tags []PersonTag
	if err := db.SelectContext(ctx, &tags, `SELECT userid, tag FROM person_tags ORDER BY userid, tag`); err != nil {
		return nil, fmt.Errorf("store: all person tags: %w", err)
	}
	var counts []struct {
		UserID string `db:"counselor_no"`
		N      int    `db:"n"`
	}
	if err := db.SelectContext(ctx, &counts, `SELECT counselor_no, COUNT(*) AS n FROM dc_students WHERE counselor_no <> '' GROUP BY counselor_no`); err != nil {
		return nil, fmt.Errorf("store: counselees: %w", err)
	}
	byID := map[string]*PersonRows{}
	get := func(id string) *PersonRows {
		p := byID[id]
		if p == nil {
			p = &PersonRows{UserID: id}
			byID[id] = p
		}
		return p
	}
	for i := range fac {
		get(fac[i].StaffNo).Faculty = &fac[i]
	}
	for i := range stu {
		get(stu[i].StudentNo).Student = &stu[i]
	}
	for i := range ext {
		get(ext[i].UserID).Ext = &ext[i]
	}
	for _, t := range tags {
		if p := byID[t.UserID]; p != nil {
			p.Tags = append(p.Tags, t.Tag)
		}
	}
	for _, c := range counts {
		if p := byID[c.UserID]; p != nil {
			p.Counselees = c.N
		}
	}
	out := make([]PersonRows, 0, len(byID))
	for _, p := range byID {
		out = append(out, *p)
	}
	return out, nil
}
