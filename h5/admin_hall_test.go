package h5

// Samples of the service hall's console pages, for the render, hook and
// escaping tests.

func adminHallSample() AdminHallList {
	return AdminHallList{AdminPage: adminPage("网上办事大厅", "/admin/hall"), Depts: []string{"XGC"},
		Processes: []AdminHallProcess{{Key: "student_leave", Name: "学生请假", Owner: "XGC", OwnerName: "学生工作处", Audience: "students", Version: 2,
			PublishedBy: "T00001", PublishedAt: "2026-12-01 09:00", Editable: true},
			{Key: "vpn_open", Name: "VPN 开通", Owner: "XXZX", Audience: "faculty", Version: 1, PublishedBy: "system", PublishedAt: "2026-11-30 09:00"}}}
}

func adminHallEditSample() AdminHallEdit {
	return AdminHallEdit{AdminPage: adminPage("编辑流程 学生请假", "/admin/hall"), Key: "student_leave", Version: 2, Action: "/admin/hall/student_leave/edit",
		Definition: `{"key": "student_leave", "name": "学生请假", "steps": [{"id": "office", "next": [{"when": "leave.days >", "to": ""}]}]}`,
		Problems: []AdminHallProblem{{Where: "steps.office", Place: "第 3 步“学生工作处审批”", Problem: "从第一步出发到不了这一步"},
			{Where: "steps.deputy.next[0]", Place: "第 2 步“学院党委副书记审批”的第 1 个分支", Problem: "条件无法编译（第 12 个字符）：unexpected token EOF"}},
		Checked: true, ParseError: "JSON 格式有误", OwnerName: "学生工作处", Depts: []string{"XGC"},
		Versions: []AdminHallVersion{{Version: 2, By: "T00001", At: "2026-12-01 09:00", Current: true, Simulate: "/admin/hall/student_leave/simulate?version=2"},
			{Version: 1, By: "system", At: "2026-11-30 09:00", Simulate: "/admin/hall/student_leave/simulate?version=1"}}}
}

func adminHallSimulateSample() AdminHallSimulate {
	return AdminHallSimulate{AdminPage: adminPage("模拟审批人：学生请假", "/admin/hall"), Key: "student_leave", Name: "学生请假", Version: 2, UserID: "S2024001",
		Applicant: &AdminHallApplicant{UserID: "S2024001", Name: "王小明", Kind: "student", College: "1000", Dept: "1000-01", Level: "undergraduate", Grade: 2024},
		Fields: []AdminHallFormField{{Key: "leave_type", Label: "请假类型", Type: "choice", Required: true, Options: []AdminOption{{Value: "事假", Name: "事假", Checked: true}}},
			{Key: "leave", Label: "请假时间", Type: "daterange", Required: true, Start: "2026-12-07", End: "2026-12-11"},
			{Key: "tags", Label: "类别", Type: "choice", Multiple: true, Options: []AdminOption{{Value: "a", Name: "a"}}},
			{Key: "reason", Label: "请假事由", Type: "textarea", Value: "回家", Error: "请填写请假事由"},
			{Key: "back", Label: "返校日期", Type: "date", Value: "2026-12-12"}, {Key: "files", Label: "附件", Type: "attachment"},
			{Key: "destination", Label: "去向", Type: "text", Value: "海滨市"}},
		Ran: true, Problem: "数据中心里没有 S9 这个人",
		Path: []AdminHallPathStep{{ID: "counselor", Name: "辅导员审批", Mode: "any", Sources: []string{"辅导员"}, LimitDays: 1,
			Approvers: []AdminHallPerson{{UserID: "T00042", Name: "李老师"}}, CC: []AdminHallPerson{{UserID: "T00043", Name: "赵老师"}}},
			{ID: "deputy", Name: "学院党委副书记审批", Mode: "any", Edge: "leave.days > 3", Sources: []string{"学院的党委副书记"},
				Warnings: []string{"条件 x > 1 运行出错，按不成立处理"}}}}
}

func adminHallStatsSample() AdminHallStats {
	ch := AdminHallChart{Title: "各流程申请数", Width: 620, Height: 90, LabelWidth: 160, Legend: []AdminHallLegend{{Class: "bar_a", Name: "申请数", X: 160}},
		Rows: []AdminHallChartRow{{Label: "学生请假", LabelY: 45, Bars: []AdminHallBar{{X: 160, Y: 30, W: 300, H: 20, Class: "bar_a", Value: "12", ValueX: 466, ValueY: 46}}}}}
	return AdminHallStats{AdminPage: adminPage("办理统计", "/admin/hall"),
		Rows:   []AdminHallStatRow{{Key: "student_leave", Name: "学生请假", Owner: "XGC", OwnerName: "学生工作处", Applications: 12, Decided: 10, Median: "5 小时 20 分", P90: "2 天 3 小时", OverdueOpen: 1}},
		Owners: []AdminHallStatRow{{Owner: "XGC", OwnerName: "学生工作处", Applications: 12, Decided: 10, OverdueOpen: 1}},
		Apps:   ch, Times: ch,
		Stuck: []AdminHallStuck{{TaskID: 31, ApplicationID: 7, Href: "/admin/hall/a/7", Process: "学生请假", Step: "辅导员审批", Assignee: "T00042", Name: "李老师", Due: "2026-12-01 18:00"}}}
}

func adminHallAppSample() AdminHallApplication {
	return AdminHallApplication{AdminPage: adminPage("申请 #7 学生请假", "/admin/hall"), ID: 7, ProcessKey: "student_leave", ProcessName: "学生请假", Version: 1,
		Applicant: "王小明（S2024001）", ApplicantKind: "student", State: "submitted", Step: "辅导员审批", Created: "2026-12-01 09:00", Decided: "2026-12-02 09:00",
		Values: []AdminHallKV{{Label: "请假时间", Value: "2026-12-07 至 2026-12-11，共 5 天"}},
		Tasks: []AdminHallTask{{ID: 31, Step: "辅导员审批", Assignee: "T00042", AssigneeName: "李老师", State: "open", Opened: "2026-12-01 09:00", Due: "2026-12-01 18:00", Open: true, Overdue: true},
			{ID: 30, Step: "辅导员审批", Assignee: "T00041", State: "transferred", Decided: "2026-12-01 09:30", DecidedBy: "T00041", Comment: "出差"}},
		Trail:       []AdminHallEntry{{At: "2026-12-01 09:00", Actor: "S2024001", Name: "王小明", Action: "submit", Comment: "请批准"}},
		CanReassign: true, Task: 31, To: "nobody", FieldError: map[string]string{"to": "nobody 不是在职的成员"}}
}
