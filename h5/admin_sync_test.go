package h5

import (
	"strings"
	"testing"
)

// Samples of the contacts-sync pages, for the render and hook tests.

func syncSample() AdminSync {
	kinds := []AdminSyncKind{{"create_user", "新建成员", 3}, {"disable_user", "停用成员", 106}}
	return AdminSync{AdminPage: adminPage("通讯录同步", "/admin/sync"), Configured: true, Running: true, Busy: true, Refresh: 3,
		Runs: []AdminSyncRunRow{
			{ID: 3, Started: "2026-12-01 02:00:00", Trigger: "console", TriggerLabel: "管理后台", Actor: "admin01", Status: "running", StatusLabel: "进行中", Duration: "已 3.0 秒", Href: "/admin/sync/3"},
			{ID: 2, Started: "2026-12-01 01:00:00", Trigger: "schedule", TriggerLabel: "定时", Actor: "system", Status: "guard", StatusLabel: "被安全阀拦下", Duration: "1.2 秒", Ops: 109, Kinds: kinds, Href: "/admin/sync/2"},
			{ID: 1, Started: "2026-11-30 01:00:00", Trigger: "cli", TriggerLabel: "命令行", Actor: "cli:root", Status: "converged", StatusLabel: "已完成", Duration: "2 分 5 秒", Ops: 259, Applied: 259, Calls: 262, BatchJobs: 2, Href: "/admin/sync/1"},
		},
		DryRun: &AdminSyncDryRun{Summary: "109 operations: create_user 3, disable_user 106", Ops: 109, Kinds: kinds, Departments: 47, Members: 212, Tags: 5, Rules: 5,
			Problems: []string{"warning: member S1: no mobile"}, Guard: &AdminSyncGuard{Message: "contacts: the plan would disable 106 of 212 members", Members: 106, MembersTotal: 212, Share: "5%"}},
	}
}

func syncRunSample() AdminSyncRun {
	return AdminSyncRun{AdminPage: adminPage("同步记录 #2", "/admin/sync"), Configured: true,
		Run:      AdminSyncRunRow{ID: 2, Status: "guard", StatusLabel: "被安全阀拦下", Ops: 109, Href: "/admin/sync/2", Summary: "109 operations"},
		Failures: []AdminSyncFailure{{Index: 4, Kind: "create_user", KindLabel: "新建成员", Object: "create_user member S1", Code: 60104, Message: "mobile existed", Advice: "the mobile number belongs to another member"}},
		Drift:    []string{"member T1"}, Steps: []AdminSyncStep{{"class_groups", "3 groups"}},
		HasPlan: true, PlanHref: "/admin/sync/2/plan.jsonl.gz", OpsTotal: 109,
		Ops:   []AdminSyncOp{{Index: 0, Kind: "disable_user", KindLabel: "停用成员", Object: "disable_user member S2", Reason: "数据中心已无此记录"}},
		Guard: &AdminSyncGuard{Members: 106, MembersTotal: 212, Share: "5%"}, Confirmable: true, ConfirmError: "请先勾选",
		Batch: &AdminSyncBatch{Jobs: 2, Members: 200},
	}
}

func tagRulesSample() AdminTagRules {
	r := AdminTagRule{Name: "2024级本科生", Rule: `kind == "student" && grade == 2024`, Enabled: true, Updated: "2026-12-01 09:00"}
	return AdminTagRules{AdminPage: adminPage("标签规则", "/admin/tagrules"), Rules: []AdminTagRule{r, {Name: "旧标签", Rule: "false"}}, Query: "级",
		Tags: 2710, MaxTags: 3000, WarnAt: 2700, TagsText: "2,710", MaxTagsText: "3,000", Warn: true, Edit: &r, Original: r.Name,
		FieldError: map[string]string{"rule": "规则有误：unknown name gradee"},
		Preview:    &AdminTagPreview{Name: r.Name, Count: 53, Members: []AdminTagMember{{"S2024001", "张三", "计算机2401班"}}},
		Delete:     &AdminTagRule{Name: "旧标签"}}
}

// The pages of the sync say what a person must know: a run in progress
// refreshes itself, the guard's confirmation needs the tick, the tag
// rule's error sits next to the rule, and the counter warns near the cap.
func TestSyncPages(t *testing.T) {
	p := pages(t)
	out := render(t, p, "admin_sync", syncSample())
	for _, s := range []string{`<meta http-equiv="refresh" content="3;url=/admin/sync">`, `class="st st_guard"`, "被安全阀拦下", "安全阀会拦下这次同步：将停用或删除 106 / 212 名成员", `disabled`} {
		if !strings.Contains(out, s) {
			t.Errorf("admin_sync lacks %q", s)
		}
	}
	idle := syncSample()
	idle.Running, idle.Busy, idle.Refresh, idle.Configured = false, false, 0, false
	out = render(t, p, "admin_sync", idle)
	if strings.Contains(out, "http-equiv") || strings.Contains(out, `action="/admin/sync/run"`) || !strings.Contains(out, "没有配置") {
		t.Errorf("admin_sync without a runner: want no refresh, no run button, a notice")
	}
	out = render(t, p, "admin_sync_run", syncRunSample())
	for _, s := range []string{`action="/admin/sync/2/confirm"`, `name="checked" value="1" required`, "确认并执行", "我已核对将被停用/删除的成员", `href="/admin/sync/2?kind=disable_user#ops"`, "60104", "the mobile number belongs to another member"} {
		if !strings.Contains(out, s) {
			t.Errorf("admin_sync_run lacks %q", s)
		}
	}
	out = render(t, p, "admin_tagrules", tagRulesSample())
	for _, s := range []string{`</textarea><span class="fe" data-testid="field-error">规则有误`, "2,710</b> / 3,000 个标签", "已接近", "下次同步", `href="/admin/tagrules?edit=2024%e7%ba%a7`, "删除企业微信里的标签 旧标签"} {
		if !strings.Contains(out, s) {
			t.Errorf("admin_tagrules lacks %q", s)
		}
	}
}
