package workbench

import (
	"context"
	"fmt"
	"time"

	"github.com/wecomapp/wecomapp/store"
)

// Person is what our records say about a member: one Record per identity
// record (faculty, student, people_ext), and their tags.
type Person struct {
	UserID, Name string
	Records      []Record
	Tags         []string
}

// Record is one identity record of a person and what rules see of it.
type Record struct {
	Env   Env
	Label string // "教职工 · 教务处", "本科生 · 计算机24级1班"
}

// deptTree is the data center's department tree with each unit's chain to
// the root precomputed: rules read depts and dept_names on every page.
type deptTree struct {
	loaded time.Time
	units  map[string]*deptUnit
}

type deptUnit struct {
	name, kind string
	codes      []string // the unit and its ancestors, nearest first
	names      []string
}

func newDeptTree(rows []store.DCDepartment, now time.Time) *deptTree {
	byCode := make(map[string]store.DCDepartment, len(rows))
	for _, d := range rows {
		byCode[d.Code] = d
	}
	t := &deptTree{loaded: now, units: make(map[string]*deptUnit, len(rows))}
	for _, d := range rows {
		u := &deptUnit{name: d.Name, kind: d.Kind}
		seen := map[string]bool{}
		// seen guards against a cycle in data we do not control.
		for cur, ok := d, true; ok && !seen[cur.Code]; cur, ok = byCode[cur.ParentCode] {
			seen[cur.Code] = true
			u.codes = append(u.codes, cur.Code)
			u.names = append(u.names, cur.Name)
			if cur.ParentCode == "" {
				break
			}
		}
		t.units[d.Code] = u
	}
	return t
}

// unit returns the named unit, or an empty one for a code the tree lacks
// (a record may name a department the data center has not sent yet).
func (t *deptTree) unit(code string) *deptUnit {
	if u := t.units[code]; u != nil {
		return u
	}
	if code == "" {
		return &deptUnit{}
	}
	return &deptUnit{codes: []string{code}}
}

// academicTZ is the university's calendar zone: the academic year turns on
// Sep 1 in China, not in UTC.
var academicTZ = time.FixedZone("CST", 8*3600)

// studyYear is the student's year of study at now: 1 from Sep 1 of the
// year of entry, 2 from the next Sep 1, and so on (0 before the first
// Sep 1: admitted, not yet started).
func studyYear(grade int, now time.Time) int {
	now = now.In(academicTZ)
	start := now.Year()
	if now.Month() < time.September {
		start--
	}
	return start - grade + 1
}

// Person returns what our records hold on userID, or ErrNotMember.
func (s *Service) Person(ctx context.Context, userID string) (Person, error) {
	s.current(ctx) // keeps the department tree fresh
	p, _, err := s.person(ctx, userID)
	return p, err
}

// person reads the person and their prefs.
func (s *Service) person(ctx context.Context, userID string) (Person, store.PersonPrefs, error) {
	if userID == "" {
		return Person{}, store.PersonPrefs{}, ErrNotMember
	}
	rows, err := s.db.PersonRows(ctx, userID)
	if err != nil {
		return Person{}, store.PersonPrefs{}, fmt.Errorf("workbench: person %s: %w", userID, err)
	}
	if !rows.Known() {
		return Person{}, store.PersonPrefs{}, fmt.Errorf("workbench: person %s: %w", userID, ErrNotMember)
	}
	return buildPerson(rows, s.depts.Load(), s.now()), rows.Prefs, nil
}

var studentLevel = map[string]string{"undergraduate": "本科生", "master": "研究生", "doctoral": "博士生"}
var facultyCategory = map[string]string{"leader": "校领导", "non_staffed": "非编人员", "retired": "离退休"}
var extKind = map[string]string{KindAlumnus: "校友", KindExaminee: "考生", KindVisitor: "访客"}

// buildPerson turns the rows into records, each with its Env.
func buildPerson(rows store.PersonRows, tree *deptTree, now time.Time) Person {
	p := Person{UserID: rows.UserID, Tags: rows.Tags}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if f := rows.Faculty; f != nil {
		p.Name = f.Name
		u := tree.unit(f.DeptCode)
		env := Env{Kind: KindFaculty, Category: f.Category, Position: f.Position, Leader: f.IsLeader, Status: f.Status,
			Dept: f.DeptCode, DeptName: u.name, DeptKind: u.kind, Depts: u.codes, DeptNames: u.names,
			Tags: p.Tags, Counselees: rows.Counselees}
		label := facultyCategory[f.Category]
		if label == "" {
			label = "教职工"
		}
		p.Records = append(p.Records, Record{Env: env, Label: joinLabel(label, u.name)})
	}
	if st := rows.Student; st != nil {
		if p.Name == "" {
			p.Name = st.Name
		}
		dept := st.ClassCode
		if dept == "" {
			dept = st.CollegeCode
		}
		u := tree.unit(dept)
		env := Env{Kind: KindStudent, Category: KindStudent, Status: st.Status, Level: st.Level, Grade: st.Grade,
			Year: studyYear(st.Grade, now), Dept: dept, DeptName: u.name, DeptKind: u.kind, Depts: u.codes, DeptNames: u.names,
			College: st.CollegeCode, Major: st.Major, Tags: p.Tags, Counselees: rows.Counselees}
		label := studentLevel[st.Level]
		if label == "" {
			label = "学生"
		}
		p.Records = append(p.Records, Record{Env: env, Label: joinLabel(label, u.name)})
	}
	if e := rows.Ext; e != nil {
		if p.Name == "" {
			p.Name = e.Name
		}
		env := Env{Kind: e.Kind, Category: e.Kind, Status: "active", Org: e.Org, Depts: []string{}, DeptNames: []string{},
			Tags: p.Tags, Counselees: rows.Counselees}
		label := extKind[e.Kind]
		if label == "" {
			label = e.Kind
		}
		p.Records = append(p.Records, Record{Env: env, Label: joinLabel(label, e.Org)})
	}
	for i := range p.Records {
		if p.Records[i].Env.Depts == nil {
			p.Records[i].Env.Depts, p.Records[i].Env.DeptNames = []string{}, []string{}
		}
	}
	return p
}

func joinLabel(kind, where string) string {
	if where == "" {
		return kind
	}
	return kind + " · " + where
}
