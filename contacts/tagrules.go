package contacts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/store"
)

// Env is what a tag rule sees: one data-center record of a member (a
// faculty row or a student row; a member with both is matched if either
// record is). Rules are expr-lang boolean expressions over it, e.g.
// `kind == "student" && level == "undergraduate" && grade == 2024 && "水产学院" in dept_names`.
//
// It mirrors workbench.Env field for field and tag for tag, so a rule that
// works as a workbench role works as a tag rule (contacts may not import
// workbench, hence the copy), with these differences: it has no year (a
// tag must not change by itself on Sep 1: write grade), no tags (tags are
// what these rules make), no counselees and no org (people outside the data
// center are not synced from it); and it has gender, which tags such as
// 女教职工 need.
type Env struct {
	Kind      string   `expr:"kind"`       // faculty | student
	Category  string   `expr:"category"`   // faculty: dc_faculty.category (leader, cadre, staff, non_staffed, counselor, retired); students: student
	Position  string   `expr:"position"`   // faculty: 职务
	Leader    bool     `expr:"leader"`     // dc_faculty.is_leader
	Status    string   `expr:"status"`     // active, retired / enrolled, suspended (left, graduated and withdrawn are in no tag)
	Level     string   `expr:"level"`      // students: undergraduate | master | doctoral
	Grade     int      `expr:"grade"`      // students: year of entry
	Dept      string   `expr:"dept"`       // code of the record's own department (the class for undergraduates, else the college)
	DeptName  string   `expr:"dept_name"`  // its name
	DeptKind  string   `expr:"dept_kind"`  // college, office, teaching, grade, class, postgrad, leaders
	Depts     []string `expr:"depts"`      // codes of dept and all its ancestors
	DeptNames []string `expr:"dept_names"` // names of dept and all its ancestors
	College   string   `expr:"college"`    // students: college code
	Major     string   `expr:"major"`      // students
	Gender    int      `expr:"gender"`     // 0 unknown, 1 male, 2 female (as the data center has it)
}

// Record kinds of Env.Kind.
const (
	EnvFaculty = "faculty"
	EnvStudent = "student"
)

// TagKindUser is the kind of tag rule whose tag lists the members the rule
// matches: the only kind today (tags of departments come later).
const TagKindUser = "user"

// MaxTagName is WeCom's limit on a tag name, in characters (40072,
// docs/wecom.md §5.4).
const MaxTagName = 32

// TagRule makes one WeCom tag: the members whose record matches Rule.
// Rules are data, kept in tag_rules and edited in the console.
type TagRule struct {
	Name string // the tag's name in WeCom, and the rule's key
	Rule string // an expr-lang boolean expression over Env
	Kind string // TagKindUser ("" means it too)
	// Enabled: a disabled rule freezes its tag: the sync leaves it as it is
	// in WeCom, neither maintaining nor deleting it. Deleting the rule
	// deletes the tag.
	Enabled   bool
	UpdatedAt time.Time
}

// ValidateTagRule checks a rule as the console saves it: a WeCom tag name,
// a known kind, and an expression that compiles to a boolean over Env. The
// error names the rule.
func ValidateTagRule(r TagRule) error {
	_, err := compileTagRule(r)
	return err
}

// tagRule is a compiled rule. keys, when set, are index keys ("c:"+code or
// "n:"+name) one of which a record's depts or dept_names must hold for the
// rule to match: the rule is evaluated only on such records.
type tagRule struct {
	TagRule
	prog *vm.Program
	keys []string
}

func compileTagRule(r TagRule) (*tagRule, error) {
	name := strings.TrimSpace(r.Name)
	switch {
	case name == "":
		return nil, errors.New("contacts: tag rule: the name is empty")
	case name != r.Name:
		return nil, fmt.Errorf("contacts: tag rule %q: the name has spaces around it", r.Name)
	case utf8.RuneCountInString(name) > MaxTagName:
		return nil, fmt.Errorf("contacts: tag rule %q: the name is longer than %d characters (WeCom's limit)", r.Name, MaxTagName)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(c rune) bool { return c < ' ' || c == 0x7f }):
		return nil, fmt.Errorf("contacts: tag rule %q: the name holds control characters", r.Name)
	}
	if r.Kind != "" && r.Kind != TagKindUser {
		return nil, fmt.Errorf("contacts: tag rule %q: kind %q: only %q is supported", r.Name, r.Kind, TagKindUser)
	}
	if strings.TrimSpace(r.Rule) == "" {
		return nil, fmt.Errorf("contacts: tag rule %q: the rule is empty; write a boolean expression such as kind == \"student\" && grade == 2024", r.Name)
	}
	p, err := expr.Compile(r.Rule, expr.Env(Env{}), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("contacts: tag rule %q: %w", r.Name, err)
	}
	out := &tagRule{TagRule: r, prog: p}
	out.Kind = TagKindUser
	if tree, err := parser.Parse(r.Rule); err == nil {
		out.keys = indexKeys(tree.Node)
	}
	return out, nil
}

// indexKeys finds, among the top-level conjuncts of a rule, one that
// requires a department: `dept == "X"`, `"X" in depts`, `"N" in
// dept_names` (dept is always the first of depts) or `college == "X"`. Most of a university's
// tags are a class's, a grade's or a college's, so evaluating each rule only
// on the records of its department (or college) turns 2,400 rules × 36,000 records into
// a few per record.
func indexKeys(n ast.Node) []string {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil
	}
	switch b.Operator {
	case "&&", "and":
		if k := indexKeys(b.Left); k != nil {
			return k
		}
		return indexKeys(b.Right)
	case "||", "or":
		// Both sides must be indexed, else the rule may match anywhere.
		l, r := indexKeys(b.Left), indexKeys(b.Right)
		if l == nil || r == nil {
			return nil
		}
		return append(l, r...)
	case "==":
		switch id, s := identString(b.Left, b.Right); id {
		case "dept":
			return []string{"c:" + s}
		case "college":
			return []string{"k:" + s}
		}
	case "in":
		str, sok := b.Left.(*ast.StringNode)
		id, iok := b.Right.(*ast.IdentifierNode)
		if sok && iok {
			switch id.Value {
			case "depts":
				return []string{"c:" + str.Value}
			case "dept_names":
				return []string{"n:" + str.Value}
			}
		}
	}
	return nil
}

// identString matches `ident == "s"` either way round.
func identString(a, b ast.Node) (string, string) {
	if id, ok := a.(*ast.IdentifierNode); ok {
		if s, ok := b.(*ast.StringNode); ok {
			return id.Value, s.Value
		}
	}
	if id, ok := b.(*ast.IdentifierNode); ok {
		if s, ok := a.(*ast.StringNode); ok {
			return id.Value, s.Value
		}
	}
	return "", ""
}

// vms reuses expr virtual machines: one Run allocates its stack otherwise.
var vms = sync.Pool{New: func() any { return &vm.VM{} }}

func (r *tagRule) eval(env *Env) (bool, error) {
	m := vms.Get().(*vm.VM)
	out, err := m.Run(r.prog, env)
	vms.Put(m)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// ruleSet is a set of compiled rules with their department index.
type ruleSet struct {
	rules     []*tagRule
	unindexed []int
	byKey     map[string][]int
	seen      []int // per rule: the last record stamp it was evaluated for
}

func newRuleSet(rules []*tagRule) *ruleSet {
	s := &ruleSet{rules: rules, byKey: map[string][]int{}, seen: make([]int, len(rules))}
	for i, r := range rules {
		if r.keys == nil {
			s.unindexed = append(s.unindexed, i)
			continue
		}
		for _, k := range r.keys {
			s.byKey[k] = append(s.byKey[k], i)
		}
	}
	for i := range s.seen {
		s.seen[i] = -1
	}
	return s
}

// candidates calls fn with each rule that may match a record with index
// keys keys (recordKeys), once each; stamp must differ from call to call.
func (s *ruleSet) candidates(keys []string, stamp int, fn func(i int)) {
	for _, i := range s.unindexed {
		fn(i)
	}
	for _, k := range keys {
		for _, i := range s.byKey[k] {
			if s.seen[i] != stamp {
				s.seen[i] = stamp
				fn(i)
			}
		}
	}
}

// deptKeys are the index keys of a department chain: its codes and names.
func deptKeys(codes, names []string) []string {
	keys := make([]string, 0, len(codes)+len(names))
	for _, c := range codes {
		keys = append(keys, "c:"+c)
	}
	for _, n := range names {
		keys = append(keys, "n:"+n)
	}
	return keys
}

// TagRules lists the tag rules by name.
func (m *Mirror) TagRules(ctx context.Context, q sqlx.ExtContext) ([]TagRule, error) {
	rows, err := m.db.ListTagRules(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	out := make([]TagRule, len(rows))
	for i, r := range rows {
		out[i] = TagRule{Name: r.Name, Rule: r.Rule, Kind: r.Kind, Enabled: r.Enabled, UpdatedAt: store.Time(r.UpdatedAt)}
	}
	return out, nil
}

// PutTagRule validates a rule (ValidateTagRule) and saves it, replacing
// the rule of the same name, through q.
func (m *Mirror) PutTagRule(ctx context.Context, q sqlx.ExtContext, r TagRule) error {
	if err := ValidateTagRule(r); err != nil {
		return err
	}
	if r.Kind == "" {
		r.Kind = TagKindUser
	}
	if err := m.db.PutTagRule(ctx, q, store.TagRule{Name: r.Name, Rule: r.Rule, Kind: r.Kind, Enabled: r.Enabled}, m.clock()); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// DeleteTagRule deletes a rule (the next sync deletes its tag), through q,
// and says whether there was one.
func (m *Mirror) DeleteTagRule(ctx context.Context, q sqlx.ExtContext, name string) (bool, error) {
	ok, err := m.db.DeleteTagRule(ctx, q, name)
	if err != nil {
		return false, fmt.Errorf("contacts: %w", err)
	}
	return ok, nil
}
