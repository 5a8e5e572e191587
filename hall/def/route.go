package def

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Compiled is a process with its routing conditions compiled, to route
// many applications. Safe for concurrent use; the Process it was compiled
// from must not change afterwards.
type Compiled struct {
	p      *Process
	steps  map[string]int // step id → index in p.Steps (the first of duplicates)
	edges  [][]edge       // by step index
	fields []Field
}

type edge struct {
	when, to string
	where    string      // "steps.s1.next[0]"
	prog     *vm.Program // nil: always holds
}

// Compile compiles p's conditions, each a boolean expr-lang expression
// over the env its fields make (see Env): a condition naming a field the
// form does not have, or comparing a text with a number, does not
// compile. Compiled is nil when any condition does not; problems say
// which, in words for the designer.
func Compile(p *Process) (*Compiled, []Problem) {
	c := &Compiled{p: p, steps: map[string]int{}, edges: make([][]edge, len(p.Steps)), fields: p.Fields}
	shape := envShape(p.Fields)
	var problems []Problem
	for i, st := range p.Steps {
		if _, dup := c.steps[st.ID]; !dup {
			c.steps[st.ID] = i
		}
		for j, e := range st.Next {
			ce := edge{when: e.When, to: e.To, where: fmt.Sprintf("%s.next[%d]", stepWhere(p, i), j)}
			if strings.TrimSpace(e.When) != "" {
				prog, err := expr.Compile(e.When, expr.Env(shape), expr.AsBool())
				if err != nil {
					problems = append(problems, Problem{Where: ce.where, Problem: conditionProblem(p.Fields, e.When, err)})
					continue
				}
				ce.prog = prog
			}
			c.edges[i] = append(c.edges[i], ce)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return c, nil
}

// envShape is what conditions are compiled against: a zero value of each
// field's type by key, and the applicant.
func envShape(fields []Field) map[string]any {
	m := map[string]any{"applicant": Applicant{}}
	for _, f := range fields {
		m[f.Key] = zeroValue(f)
	}
	return m
}

func zeroValue(f Field) any {
	switch f.Type {
	case Number:
		return float64(0)
	case Department:
		return int64(0)
	case DateRange:
		return Range{}
	case Attachment:
		return []string{}
	case Choice:
		if f.Multiple {
			return []string{}
		}
	}
	return ""
}

// rangeProps and applicantProps are what conditions may read of a date
// range and of the applicant (Range's and Applicant's expr tags).
var (
	rangeProps     = []string{"start", "end", "days"}
	applicantProps = []string{"userid", "name", "kind", "college", "dept", "grade", "level", "mobile"}
)

var unknownName = regexp.MustCompile(`^unknown name (\S+)$`)

// conditionProblem says in words why src does not compile.
func conditionProblem(fields []Field, src string, err error) string {
	var fe *file.Error
	if !errors.As(err, &fe) {
		if got, ok := strings.CutPrefix(err.Error(), "expected bool, but got "); ok {
			return "条件的结果须为成立或不成立（布尔值），现在是 " + got
		}
		return "条件无法编译：" + err.Error()
	}
	if m := unknownName.FindStringSubmatch(fe.Message); m != nil {
		return "条件引用了不存在的字段 " + m[1]
	}
	// A property the range or the applicant lacks: expr names the Go
	// type; the designer knows the field.
	if tree, perr := parser.Parse(src); perr == nil {
		var msg string
		ast.Find(tree.Node, func(n ast.Node) bool {
			m, ok := n.(*ast.MemberNode)
			if !ok {
				return false
			}
			id, ok1 := m.Node.(*ast.IdentifierNode)
			prop, ok2 := m.Property.(*ast.StringNode)
			if !ok1 || !ok2 {
				return false
			}
			if id.Value == "applicant" && !slices.Contains(applicantProps, prop.Value) {
				msg = "条件引用了申请人不存在的属性 " + prop.Value + "（可用：" + strings.Join(applicantProps, "、") + "）"
				return true
			}
			i := slices.IndexFunc(fields, func(f Field) bool { return f.Key == id.Value })
			if i >= 0 && fields[i].Type == DateRange && !slices.Contains(rangeProps, prop.Value) {
				msg = "条件引用了不存在的字段 " + id.Value + "." + prop.Value + "（日期范围有 start、end、days）"
				return true
			}
			return false
		})
		if msg != "" {
			return msg
		}
	}
	return fmt.Sprintf("条件无法编译（第 %d 个字符）：%s", fe.Column+1, fe.Message)
}

// Process is the process c was compiled from.
func (c *Compiled) Process() *Process { return c.p }

// Step is the step id names.
func (c *Compiled) Step(id string) (Step, bool) {
	i, ok := c.steps[id]
	if !ok {
		return Step{}, false
	}
	return c.p.Steps[i], true
}

// NextStep is where the flow goes after step from for env: the first edge
// whose condition holds; ok is false when the flow ends there (the
// application is approved). from "" asks for the first step. A condition
// failing at run time counts as false (Next also returns it).
func (c *Compiled) NextStep(from string, env Env) (stepID string, ok bool, err error) {
	stepID, ok, _, err = c.Next(from, env)
	return stepID, ok, err
}

// Next is NextStep with the conditions that failed at run time, for the
// engine to record on the application.
func (c *Compiled) Next(from string, env Env) (stepID string, ok bool, warnings []Problem, err error) {
	if from == "" {
		if len(c.p.Steps) == 0 {
			return "", false, nil, fmt.Errorf("def: process %s has no steps", c.p.Key)
		}
		return c.p.Steps[0].ID, true, nil, nil
	}
	i, found := c.steps[from]
	if !found {
		return "", false, nil, fmt.Errorf("def: process %s has no step %q", c.p.Key, from)
	}
	to, _, warnings := c.next(i, c.env(env))
	if to != "" {
		if _, found := c.steps[to]; !found {
			return "", false, warnings, fmt.Errorf("def: process %s: step %s leads to unknown step %q", c.p.Key, from, to)
		}
	}
	return to, to != "", warnings, nil
}

// next follows step i's first edge that holds: its target ("" for the
// end) and its condition.
func (c *Compiled) next(i int, env map[string]any) (to, when string, warnings []Problem) {
	for _, e := range c.edges[i] {
		holds, err := e.eval(env)
		if err != nil {
			warnings = append(warnings, Problem{Where: e.where,
				Problem: fmt.Sprintf("条件 %s 运行出错，按不成立处理：%s", e.when, firstLine(err.Error()))})
		}
		if holds {
			return e.to, e.when, warnings
		}
	}
	return "", "", warnings
}

// vms reuses expr virtual machines: one Run allocates its stack otherwise.
var vms = sync.Pool{New: func() any { return &vm.VM{} }}

func (e *edge) eval(env map[string]any) (bool, error) {
	if e.prog == nil {
		return true, nil
	}
	m := vms.Get().(*vm.VM)
	out, err := m.Run(e.prog, env)
	vms.Put(m)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("the condition gave %T, not a bool", out)
	}
	return b, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// env is what conditions see of env: every field of the form by key (nil
// when left empty or of the wrong type), typed as Values says, and the
// applicant.
func (c *Compiled) env(env Env) map[string]any {
	m := make(map[string]any, len(c.fields)+1)
	for _, f := range c.fields {
		v, _ := normalizeValue(f, env.Form[f.Key])
		m[f.Key] = v
	}
	m["applicant"] = env.Applicant
	return m
}

// Path is the way an application with env would take from the first
// step, each step with its approvers and CC recipients resolved by r
// (nil: not resolved): duplicates removed, order kept, the applicant left
// out except where a source is ApplicantSelf. A step that resolves to
// nobody is still on the path, with no approvers: the engine decides what
// then. A flow that returns to a step it passed is an error, as is a
// resolver's.
func (c *Compiled) Path(env Env, r Resolver) ([]PathStep, error) {
	if len(c.p.Steps) == 0 {
		return nil, fmt.Errorf("def: process %s has no steps", c.p.Key)
	}
	vars := c.env(env)
	var path []PathStep
	seen := map[int]bool{}
	id, via := c.p.Steps[0].ID, ""
	for id != "" {
		i, ok := c.steps[id]
		if !ok {
			return path, fmt.Errorf("def: process %s leads to unknown step %q", c.p.Key, id)
		}
		if seen[i] {
			return path, fmt.Errorf("def: process %s returns to step %s: its flow has a cycle", c.p.Key, id)
		}
		seen[i] = true
		st := c.p.Steps[i]
		ps := PathStep{Step: st, Edge: via}
		if r != nil {
			var err error
			if ps.Approvers, err = resolve(r, env.Applicant, st.Approvers); err != nil {
				return path, fmt.Errorf("def: resolving the approvers of step %s of %s: %w", id, c.p.Key, err)
			}
			if ps.CC, err = resolve(r, env.Applicant, st.CC); err != nil {
				return path, fmt.Errorf("def: resolving the CC of step %s of %s: %w", id, c.p.Key, err)
			}
		}
		id, via, ps.Warnings = c.next(i, vars)
		path = append(path, ps)
	}
	return path, nil
}

// resolve is the userids srcs name for a, without duplicates and without
// the applicant (who does not approve or get copies of their own
// application) unless named by ApplicantSelf.
func resolve(r Resolver, a Applicant, srcs []Approver) ([]string, error) {
	var out []string
	for _, src := range srcs {
		ids, err := r.Resolve(a, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Describe(), err)
		}
		for _, id := range ids {
			if id == "" || slices.Contains(out, id) {
				continue
			}
			if a.UserID != "" && id == a.UserID && src.Kind != ApplicantSelf {
				continue
			}
			out = append(out, id)
		}
	}
	return out, nil
}
