package def

import (
	"fmt"
	"strings"
	"testing"
)

func TestShippedValidate(t *testing.T) {
	ps := mustShipped(t)
	keys := map[string]bool{}
	for _, p := range ps {
		keys[p.Key] = true
		if problems := Validate(p, campus); problems != nil {
			t.Errorf("%s: %v", p.Key, problems)
		}
	}
	for _, k := range []string{"student_leave", "vpn_open", "mailbox_apply", "cert_reissue"} {
		if !keys[k] {
			t.Errorf("%s is not shipped", k)
		}
	}
}

// valid is a small publishable process the cases below break.
func valid() *Process {
	return &Process{
		Key: "seal_use", Name: "用印申请", Owner: "DZB", Audience: Faculty,
		Fields: []Field{
			{Key: "reason", Label: "用印事由", Type: LongText, Required: true, Summary: true},
			{Key: "copies", Label: "份数", Type: Number, Required: true},
		},
		Steps: []Step{
			{ID: "leader", Name: "部门负责人审批", Mode: AnyOf, Approvers: []Approver{{Kind: DeptLeader}}, LimitDays: 2,
				Next: []Edge{{When: "copies > 10", To: "office"}}},
			{ID: "office", Name: "党政办公室审批", Mode: AnyOf, Approvers: []Approver{{Kind: Post, Dept: "DZB", Post: "主任"}}},
		},
	}
}

func TestValidate(t *testing.T) {
	if problems := Validate(valid(), campus); problems != nil {
		t.Fatalf("the valid process: %v", problems)
	}
	f := func(x float64) *float64 { return &x }
	tests := []struct {
		name        string
		edit        func(p *Process)
		where, want string
	}{
		{"bad key", func(p *Process) { p.Key = "Seal-Use" }, "key", "流程标识 \"Seal-Use\" 不符合要求"},
		{"no name", func(p *Process) { p.Name = " " }, "name", "请填写流程名称"},
		{"no owner", func(p *Process) { p.Owner = "" }, "owner", "请填写主管部门"},
		{"bad audience", func(p *Process) { p.Audience = "alumni" }, "audience", "申请对象 \"alumni\" 无效"},
		{"bad field key", func(p *Process) { p.Fields[1].Key = "2copies" }, "fields[1]", "字段标识 \"2copies\" 不符合要求"},
		{"reserved field key", func(p *Process) { p.Fields[1].Key = "applicant" }, "fields[1]", "字段标识 applicant 是条件中的保留字"},
		{"builtin field key", func(p *Process) { p.Fields[1].Key = "len" }, "fields[1]", "字段标识 len 是条件中的保留字"},
		{"duplicate field key", func(p *Process) { p.Fields[1].Key = "reason" }, "fields[1]", "字段标识 reason 重复了"},
		{"choice without options", func(p *Process) { p.Fields[1] = Field{Key: "kind", Label: "类别", Type: Choice} }, "fields[1]", "选择字段类别没有选项"},
		{"duplicate option", func(p *Process) {
			p.Fields[1] = Field{Key: "kind", Label: "类别", Type: Choice, Options: []string{"公章", "合同章", "公章"}}
		}, "fields[1]", "类别的选项“公章”重复了"},
		{"min above max", func(p *Process) { p.Fields[1].Min, p.Fields[1].Max = f(5), f(1) }, "fields[1]", "份数的最小值 5 大于最大值 1"},
		{"range over a year", func(p *Process) {
			p.Fields[1] = Field{Key: "period", Label: "期限", Type: DateRange, Max: f(400)}
		}, "fields[1]", "期限的天数限制应为 1 到 366 之间的整数"},
		{"unknown type", func(p *Process) { p.Fields[1].Type = "money" }, "fields[1]", "字段类型 \"money\" 无效"},
		{"seven summary fields", func(p *Process) {
			for i := range 6 {
				p.Fields = append(p.Fields, Field{Key: fmt.Sprintf("f%d", i), Label: "项", Type: Text, Summary: true})
			}
		}, "fields", "摘要字段最多 6 个，现在有 7 个"},
		{"offcampus without phone", func(p *Process) {
			p.Audience = OffCampus
			p.Fields = append(p.Fields, Field{Key: "phone", Label: "联系电话", Type: Phone}) // not required
			p.Steps[0].Approvers = []Approver{{Kind: TagMembers, Tag: "党政办"}}
		}, "fields", "面向校外人员的流程需要一个必填的手机号码字段"},
		{"no steps", func(p *Process) { p.Steps = nil }, "steps", "流程至少需要一个审批步骤"},
		{"duplicate step", func(p *Process) { p.Steps[1].ID = "leader" }, "steps[1]", "步骤标识 leader 重复了"},
		{"bad step id", func(p *Process) { p.Steps[1].ID = "Office"; p.Steps[0].Next[0].To = "Office" }, "steps[1]", "步骤标识 \"Office\" 不符合要求"},
		{"edge to unknown step", func(p *Process) { p.Steps[0].Next[0].To = "offfice" }, "steps.leader.next[0]", "转到的步骤 offfice 不存在"},
		{"dead edge", func(p *Process) {
			p.Steps[0].Next = []Edge{{To: ""}, {When: "copies > 10", To: "office"}}
		}, "steps.leader.next[1]", "这条分支永远不会被选中"},
		{"unreachable step", func(p *Process) { p.Steps[0].Next = nil }, "steps.office", "从第一步出发到不了这一步"},
		{"cycle", func(p *Process) { p.Steps[1].Next = []Edge{{To: "leader"}} }, "steps.office.next[0]", "形成循环：leader → office → leader"},
		{"self loop", func(p *Process) { p.Steps[1].Next = []Edge{{When: "copies > 100", To: "office"}} }, "steps.office.next[0]", "形成循环：office → office"},
		{"condition on unknown field", func(p *Process) { p.Steps[0].Next[0].When = "pages > 10" }, "steps.leader.next[0]", "条件引用了不存在的字段 pages"},
		{"condition syntax", func(p *Process) { p.Steps[0].Next[0].When = "copies >> 10" }, "steps.leader.next[0]", "条件无法编译"},
		{"no approvers", func(p *Process) { p.Steps[1].Approvers = nil }, "steps.office", "没有设置审批人"},
		{"post without post", func(p *Process) { p.Steps[1].Approvers[0].Post = "" }, "steps.office.approvers[0]", "请填写职务"},
		{"post without dept", func(p *Process) { p.Steps[1].Approvers[0].Dept = "" }, "steps.office.approvers[0]", "请填写职务所在部门的部门代码"},
		{"college post without post", func(p *Process) { p.Steps[1].Approvers[0] = Approver{Kind: CollegePost} }, "steps.office.approvers[0]", "请填写学院中的职务"},
		{"tag without tag", func(p *Process) { p.Steps[1].Approvers[0] = Approver{Kind: TagMembers} }, "steps.office.approvers[0]", "请填写标签名称"},
		{"users without users", func(p *Process) { p.Steps[1].Approvers[0] = Approver{Kind: NamedUsers} }, "steps.office.approvers[0]", "请指定人员"},
		{"unknown kind", func(p *Process) { p.Steps[1].Approvers[0] = Approver{Kind: "boss"} }, "steps.office.approvers[0]", "审批人类型 \"boss\" 无效"},
		{"cc without tag", func(p *Process) { p.Steps[1].CC = []Approver{{Kind: TagMembers}} }, "steps.office.cc[0]", "请填写标签名称"},
		{"bad mode", func(p *Process) { p.Steps[1].Mode = "majority" }, "steps.office", "审批方式 \"majority\" 无效"},
		{"no mode", func(p *Process) { p.Steps[1].Mode = "" }, "steps.office", "审批方式 \"\" 无效"},
		{"negative limit", func(p *Process) { p.Steps[1].LimitDays = -1 }, "steps.office", "办理时限应为 0 到 60 个工作日"},
		{"limit over 60", func(p *Process) { p.Steps[1].LimitDays = 61 }, "steps.office", "办理时限应为 0 到 60 个工作日"},
		{"negative remind", func(p *Process) { p.Steps[1].RemindHours = -24 }, "steps.office", "催办间隔不能是负数"},
		{"counselor for faculty", func(p *Process) { p.Steps[0].Approvers = []Approver{{Kind: Counselor}} }, "steps.leader", "这一步不可能有审批人（辅导员：教职工没有辅导员）"},
		{"college head for offcampus", func(p *Process) {
			p.Audience = OffCampus
			p.Fields = append(p.Fields, Field{Key: "phone", Label: "联系电话", Type: Phone, Required: true})
			p.Steps[0].Approvers = []Approver{{Kind: CollegeHead}, {Kind: Counselor}}
			p.Steps[1].Approvers = []Approver{{Kind: TagMembers, Tag: "党政办"}}
		}, "steps.leader", "这一步不可能有审批人（学院负责人：校外申请人不属于任何学院或部门；辅导员：校外申请人没有辅导员）"},
		{"nobody holds the post", func(p *Process) { p.Steps[1].Approvers[0].Post = "校长助理" }, "steps.office", "这一步不可能有审批人（部门 DZB 的校长助理：没有人担任这个职务）"},
	}
	r := campus
	r.impossible = map[string]string{"post:DZB:校长助理": "没有人担任这个职务"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.edit(p)
			problems := Validate(p, r)
			for _, pr := range problems {
				if pr.Where == tt.where && strings.Contains(pr.Problem, tt.want) {
					return
				}
			}
			t.Errorf("problems %v, want one at %s saying %q", problems, tt.where, tt.want)
		})
	}
}

func TestValidateAnyPossibleSourceIsEnough(t *testing.T) {
	p := valid()
	p.Audience = Members
	// Faculty have a department leader, students a counselor: whichever
	// resolves. Only when neither could is the step a problem.
	p.Steps[0].Approvers = []Approver{{Kind: DeptLeader}, {Kind: Counselor}}
	r := campus
	r.impossible = map[string]string{"dept_leader": "没有部门设置了负责人"}
	if problems := Validate(p, r); problems != nil {
		t.Errorf("one impossible source of two: %v", problems)
	}
	r.impossible["counselor"] = "没有学生分配了辅导员"
	problems := Validate(p, r)
	if len(problems) != 1 || problems[0].Where != "steps.leader" ||
		problems[0].Problem != "这一步不可能有审批人（部门负责人：没有部门设置了负责人；辅导员：没有学生分配了辅导员）" {
		t.Errorf("both impossible: %v", problems)
	}
}
