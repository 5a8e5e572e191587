package workbench

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Env is what a role rule or a tile's visibility rule sees: one identity
// record of a person. Rules are expr-lang boolean expressions over it, e.g.
// `kind == "faculty" && counselees > 0` or `"教务处" in dept_names`.
type Env struct {
	Kind       string   `expr:"kind"`       // faculty | student | alumnus | examinee | visitor
	Category   string   `expr:"category"`   // faculty: dc_faculty.category (leader, cadre, staff, non_staffed, counselor, retired); others: kind
	Position   string   `expr:"position"`   // 职务 / 班长 …
	Leader     bool     `expr:"leader"`     // dc_faculty.is_leader
	Status     string   `expr:"status"`     // active / enrolled / …
	Level      string   `expr:"level"`      // students: undergraduate | master | doctoral
	Grade      int      `expr:"grade"`      // students: year of entry
	Year       int      `expr:"year"`       // students: 1 for this academic year's freshmen, 2, 3, 4… (academic year starts Sep 1)
	Dept       string   `expr:"dept"`       // code of the record's own department (class for undergraduates)
	DeptName   string   `expr:"dept_name"`  // its name
	DeptKind   string   `expr:"dept_kind"`  // college, office, teaching, grade, class, postgrad, leaders
	Depts      []string `expr:"depts"`      // codes of dept and all its ancestors
	DeptNames  []string `expr:"dept_names"` // names of dept and all its ancestors
	College    string   `expr:"college"`    // students: college code
	Major      string   `expr:"major"`      // students
	Tags       []string `expr:"tags"`       // person_tags of the person
	Counselees int      `expr:"counselees"` // students whose counselor_no is this person
	Org        string   `expr:"org"`        // people_ext.org
}

// Record kinds: which table an identity record comes from.
const (
	KindFaculty  = "faculty"
	KindStudent  = "student"
	KindAlumnus  = "alumnus"
	KindExaminee = "examinee"
	KindVisitor  = "visitor"
)

// kinds is every record kind a role may apply to.
var kinds = map[string]bool{KindFaculty: true, KindStudent: true, KindAlumnus: true, KindExaminee: true, KindVisitor: true}

// rule is a compiled boolean expression. A rule that fails at run time
// counts as false and is logged once per catalog version.
type rule struct {
	src     string
	prog    *vm.Program // nil: always true (an empty visibility rule)
	logOnce sync.Once
}

// compileRule compiles src against Env. An empty src compiles to "always
// true" when allowEmpty, else it is an error.
func compileRule(src string, allowEmpty bool) (*rule, error) {
	if strings.TrimSpace(src) == "" {
		if allowEmpty {
			return &rule{src: src}, nil
		}
		return nil, fmt.Errorf("is empty; write a boolean expression such as kind == \"faculty\"")
	}
	p, err := expr.Compile(src, expr.Env(Env{}), expr.AsBool())
	if err != nil {
		return nil, err
	}
	return &rule{src: src, prog: p}, nil
}

// vms reuses expr virtual machines: one Run allocates its stack otherwise.
var vms = sync.Pool{New: func() any { return &vm.VM{} }}

// eval runs the rule on env. onErr is called once per rule with the run
// time error; the rule then counts as false.
func (r *rule) eval(env *Env, onErr func(error)) bool {
	if r.prog == nil {
		return true
	}
	m := vms.Get().(*vm.VM)
	out, err := m.Run(r.prog, env)
	vms.Put(m)
	if err != nil {
		r.logOnce.Do(func() { onErr(err) })
		return false
	}
	b, _ := out.(bool)
	return b
}

// ScopedVisible is the visibility rule of a tile a department admin adds:
// shown only to people of depts (or below them), and, when rule is not
// empty, only to those of them it matches.
func ScopedVisible(depts []string, rule string) string {
	scope := deptScope(depts)
	if strings.TrimSpace(rule) == "" {
		return scope
	}
	return scope + " && (" + rule + ")"
}

// InScope reports whether a tile's visibility rule is one ScopedVisible
// made for exactly depts: the tiles a department admin may change.
func InScope(depts []string, visible string) bool {
	scope := deptScope(depts)
	return visible == scope || strings.HasPrefix(visible, scope+" && (")
}

func deptScope(depts []string) string {
	parts := make([]string, len(depts))
	for i, d := range depts {
		parts[i] = strconv.Quote(d) + " in depts"
	}
	return "(" + strings.Join(parts, " || ") + ")"
}
