package def

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/builtin"
)

// keyPattern is what process keys, field keys and step ids look like.
var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

const keyRule = "以小写字母开头，只含小写字母、数字和下划线，最长 32 个字符"

// Limits of a definition.
const (
	MaxLimitDays    = 60 // a step's time limit in working days
	maxNameRunes    = 40 // a process's name
	maxLabelRunes   = 30 // a field's label, a step's name
	maxOptionRunes  = 50
	maxDescRunes    = 1000
	maxTextLength   = 2000  // a text field's MaxLength
	maxLongTextRune = 20000 // a textarea's MaxLength
)

// reservedKeys are names a field key cannot take: conditions read the
// applicant and expr-lang's operators and functions by these names.
var reservedKeys = func() map[string]bool {
	m := map[string]bool{"applicant": true}
	for _, w := range []string{"in", "not", "and", "or", "matches", "contains", "let", "nil", "true", "false", "if", "else", "env"} {
		m[w] = true
	}
	for _, n := range builtin.Names {
		m[n] = true
	}
	return m
}()

// Validate says why p cannot be published (nil: it can). r answers
// whether each approver source could find anybody for p's audience
// (nil: not asked).
func Validate(p *Process, r Resolver) []Problem {
	var out []Problem
	add := func(where, format string, args ...any) {
		out = append(out, Problem{Where: where, Problem: fmt.Sprintf(format, args...)})
	}

	if !keyPattern.MatchString(p.Key) {
		add("key", "流程标识 %q 不符合要求：%s", p.Key, keyRule)
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(p.Name)); {
	case n == 0:
		add("name", "请填写流程名称")
	case n > maxNameRunes:
		add("name", "流程名称不能超过 %d 个字", maxNameRunes)
	}
	if strings.TrimSpace(p.Owner) == "" || strings.ContainsAny(p.Owner, " \t\n") {
		add("owner", "请填写主管部门的部门代码（数据中心的部门代码）")
	}
	if utf8.RuneCountInString(p.Description) > maxDescRunes {
		add("description", "流程说明不能超过 %d 个字", maxDescRunes)
	}
	switch p.Audience {
	case Students, Faculty, Members, OffCampus:
	default:
		add("audience", "申请对象 %q 无效，应为 students、faculty、members 或 offcampus", p.Audience)
	}

	out = append(out, validateFields(p)...)
	out = append(out, validateSteps(p, r)...)
	if _, problems := Compile(p); len(problems) > 0 {
		out = append(out, problems...)
	}
	return out
}

func validateFields(p *Process) []Problem {
	var out []Problem
	add := func(where, format string, args ...any) {
		out = append(out, Problem{Where: where, Problem: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	summary, phone := 0, false
	for i, f := range p.Fields {
		where := fmt.Sprintf("fields[%d]", i)
		switch {
		case !keyPattern.MatchString(f.Key):
			add(where, "字段标识 %q 不符合要求：%s", f.Key, keyRule)
		case reservedKeys[f.Key]:
			add(where, "字段标识 %s 是条件中的保留字，请换一个", f.Key)
		case seen[f.Key]:
			add(where, "字段标识 %s 重复了", f.Key)
		}
		seen[f.Key] = true
		switch n := utf8.RuneCountInString(strings.TrimSpace(f.Label)); {
		case n == 0:
			add(where, "请填写字段名称")
		case n > maxLabelRunes:
			add(where, "字段名称不能超过 %d 个字", maxLabelRunes)
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			add(where, "%s的最小值 %s 大于最大值 %s", f.Label, formatNumber(*f.Min), formatNumber(*f.Max))
		}
		if f.MaxLength < 0 {
			add(where, "%s的长度上限不能是负数", f.Label)
		}
		switch f.Type {
		case Text, LongText:
			limit := maxTextLength
			if f.Type == LongText {
				limit = maxLongTextRune
			}
			if f.MaxLength > limit {
				add(where, "%s的长度上限不能超过 %d 个字", f.Label, limit)
			}
		case Choice:
			if len(f.Options) == 0 {
				add(where, "选择字段%s没有选项", f.Label)
			}
			for j, o := range f.Options {
				switch {
				case strings.TrimSpace(o) != o || o == "":
					add(where, "%s的第 %d 个选项为空或首尾有空格", f.Label, j+1)
				case utf8.RuneCountInString(o) > maxOptionRunes:
					add(where, "%s的选项“%s”超过 %d 个字", f.Label, o, maxOptionRunes)
				case slices.Index(f.Options, o) < j:
					add(where, "%s的选项“%s”重复了", f.Label, o)
				}
			}
		case DateRange:
			for _, b := range []*float64{f.Min, f.Max} {
				if b != nil && (*b != math.Trunc(*b) || *b < 1 || *b > MaxRangeDays) {
					add(where, "%s的天数限制应为 1 到 %d 之间的整数", f.Label, MaxRangeDays)
					break
				}
			}
		case Number, Date, Person, Department, Attachment, IDNumber:
		case Phone:
			if f.Required {
				phone = true
			}
		default:
			add(where, "字段类型 %q 无效", f.Type)
		}
		if f.Summary {
			summary++
		}
	}
	if summary > MaxSummary {
		add("fields", "摘要字段最多 %d 个，现在有 %d 个", MaxSummary, summary)
	}
	if p.Audience == OffCampus && !phone {
		add("fields", "面向校外人员的流程需要一个必填的手机号码字段（校外申请人凭手机号登录和接收通知）")
	}
	return out
}

// stepWhere names step i in problems: steps.<id>, or steps[i] when its id
// is not a valid one or not the first with it.
func stepWhere(p *Process, i int) string {
	id := p.Steps[i].ID
	if !keyPattern.MatchString(id) || slices.IndexFunc(p.Steps, func(s Step) bool { return s.ID == id }) < i {
		return fmt.Sprintf("steps[%d]", i)
	}
	return "steps." + id
}

func validateSteps(p *Process, r Resolver) []Problem {
	var out []Problem
	add := func(where, format string, args ...any) {
		out = append(out, Problem{Where: where, Problem: fmt.Sprintf(format, args...)})
	}
	if len(p.Steps) == 0 {
		add("steps", "流程至少需要一个审批步骤")
		return out
	}
	index := map[string]int{}
	for i, st := range p.Steps {
		where := stepWhere(p, i)
		switch _, dup := index[st.ID]; {
		case !keyPattern.MatchString(st.ID):
			add(where, "步骤标识 %q 不符合要求：%s", st.ID, keyRule)
		case dup:
			add(where, "步骤标识 %s 重复了", st.ID)
		default:
			index[st.ID] = i
		}
		switch n := utf8.RuneCountInString(strings.TrimSpace(st.Name)); {
		case n == 0:
			add(where, "请填写步骤名称")
		case n > maxLabelRunes:
			add(where, "步骤名称不能超过 %d 个字", maxLabelRunes)
		}
		switch st.Mode {
		case AnyOf, AllOf, Sequential:
		default:
			add(where, "审批方式 %q 无效，应为 any（一人审批即可）、all（全部同意）或 sequential（依次审批）", st.Mode)
		}
		if st.LimitDays < 0 || st.LimitDays > MaxLimitDays {
			add(where, "办理时限应为 0 到 %d 个工作日（0 表示不限）", MaxLimitDays)
		}
		if st.RemindHours < 0 {
			add(where, "催办间隔不能是负数（0 表示默认的 24 小时）")
		}

		if len(st.Approvers) == 0 {
			add(where, "没有设置审批人")
		}
		var reasons []string
		possible, asked := false, false
		for k, src := range st.Approvers {
			if msg := sourceProblem(src); msg != "" {
				add(fmt.Sprintf("%s.approvers[%d]", where, k), "%s", msg)
				continue
			}
			asked = true
			if why := impossible(p.Audience, src); why != "" {
				reasons = append(reasons, src.Describe()+"："+why)
				continue
			}
			if r == nil {
				possible = true
				continue
			}
			if ok, why := r.Possible(p.Audience, src); ok {
				possible = true
			} else {
				if why == "" {
					why = "找不到任何人"
				}
				reasons = append(reasons, src.Describe()+"："+why)
			}
		}
		if asked && !possible {
			add(where, "这一步不可能有审批人（%s）", strings.Join(reasons, "；"))
		}
		for k, src := range st.CC {
			if msg := sourceProblem(src); msg != "" {
				add(fmt.Sprintf("%s.cc[%d]", where, k), "%s", msg)
			}
		}
		for k, src := range st.EscalateTo {
			if msg := sourceProblem(src); msg != "" {
				add(fmt.Sprintf("%s.escalate_to[%d]", where, k), "%s", msg)
			}
		}
	}

	// The graph: edges, then what the first step reaches, then cycles.
	for i, st := range p.Steps {
		always := false
		for j, e := range st.Next {
			where := fmt.Sprintf("%s.next[%d]", stepWhere(p, i), j)
			if _, ok := index[e.To]; e.To != "" && !ok {
				add(where, "转到的步骤 %s 不存在", e.To)
			}
			if always {
				add(where, "前面有一条没有条件的分支，这条分支永远不会被选中")
			}
			if strings.TrimSpace(e.When) == "" {
				always = true
			}
		}
	}
	targets := func(i int) []int {
		var to []int
		for _, e := range p.Steps[i].Next {
			if j, ok := index[e.To]; ok {
				to = append(to, j)
			}
		}
		return to
	}
	reached := map[int]bool{0: true}
	queue := []int{0}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range targets(i) {
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i := range p.Steps {
		if !reached[i] && index[p.Steps[i].ID] == i {
			add(stepWhere(p, i), "从第一步出发到不了这一步：没有分支转到它（没有分支的步骤办完，流程就结束了）")
		}
	}
	out = append(out, cycles(p, index)...)
	return out
}

// cycles reports each edge that closes a loop in the flow, with the loop.
func cycles(p *Process, index map[string]int) []Problem {
	var out []Problem
	const (
		unseen = iota
		open
		done
	)
	state := make([]int, len(p.Steps))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = open
		stack = append(stack, i)
		for j, e := range p.Steps[i].Next {
			k, ok := index[e.To]
			if !ok {
				continue
			}
			switch state[k] {
			case unseen:
				visit(k)
			case open:
				var loop []string
				for _, s := range stack[slices.Index(stack, k):] {
					loop = append(loop, p.Steps[s].ID)
				}
				loop = append(loop, p.Steps[k].ID)
				out = append(out, Problem{Where: fmt.Sprintf("%s.next[%d]", stepWhere(p, i), j),
					Problem: "流程会回到已经过的步骤，形成循环：" + strings.Join(loop, " → ")})
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range p.Steps {
		if state[i] == unseen && index[p.Steps[i].ID] == i {
			visit(i)
		}
	}
	return out
}

// sourceProblem says what an approver source lacks ("" for nothing).
func sourceProblem(a Approver) string {
	switch a.Kind {
	case Counselor, CollegeHead, DeptLeader, ApplicantSelf:
	case CollegePost:
		if strings.TrimSpace(a.Post) == "" {
			return "请填写学院中的职务（如 党委副书记）"
		}
	case Post:
		if strings.TrimSpace(a.Post) == "" {
			return "请填写职务"
		}
		if strings.TrimSpace(a.Dept) == "" {
			return "请填写职务所在部门的部门代码"
		}
	case TagMembers:
		if strings.TrimSpace(a.Tag) == "" {
			return "请填写标签名称"
		}
	case NamedUsers:
		if len(a.Users) == 0 || slices.Contains(a.Users, "") {
			return "请指定人员"
		}
	default:
		return fmt.Sprintf("审批人类型 %q 无效", a.Kind)
	}
	return ""
}

// impossible says why src can never resolve for the audience, whatever
// the data: sources relative to a student's class or college have nobody
// for applicants who have none. ("" for none of these.)
func impossible(aud Audience, src Approver) string {
	switch src.Kind {
	case Counselor:
		switch aud {
		case Faculty:
			return "教职工没有辅导员"
		case OffCampus:
			return "校外申请人没有辅导员"
		}
	case CollegeHead, CollegePost, DeptLeader:
		// Faculty belong to a college through their department (see
		// Applicant.College); off-campus applicants to nothing.
		if aud == OffCampus {
			return "校外申请人不属于任何学院或部门"
		}
	}
	return ""
}

// Describe names an approver source in words, for designers and
// problems: 辅导员, 学院的党委副书记, 标签“信息中心运维”的成员.
func (a Approver) Describe() string {
	switch a.Kind {
	case Counselor:
		return "辅导员"
	case CollegeHead:
		return "学院负责人"
	case CollegePost:
		return "学院的" + a.Post
	case DeptLeader:
		return "部门负责人"
	case Post:
		return "部门 " + a.Dept + " 的" + a.Post
	case TagMembers:
		return "标签“" + a.Tag + "”的成员"
	case NamedUsers:
		return "指定人员 " + strings.Join(a.Users, "、")
	case ApplicantSelf:
		return "申请人本人"
	}
	return string(a.Kind)
}
