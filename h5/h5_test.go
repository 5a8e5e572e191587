package h5

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// pageViews maps every page to the view its handler renders it with.
var pageViews = map[string]any{
	"app_home": AppHome{}, "app_search": AppSearch{}, "app_module": AppModule{}, "app_soon": AppSoon{},
	"app_campus": AppCampus{}, "app_content": AppContent{}, "join": Join{}, "login": Login{},
	"signed_out": SignedOut{}, "app_error": AppError{},
	"admin_home": AdminHome{}, "admin_roles": AdminRoles{}, "admin_workbenches": AdminWorkbenches{},
	"admin_workbench": AdminWorkbench{}, "admin_preview": AdminPreview{}, "admin_grants": AdminGrants{},
	"admin_audit": AdminAudit{}, "admin_content": AdminContentList{}, "admin_content_edit": AdminContentEdit{},
	"admin_sync": AdminSync{}, "admin_sync_run": AdminSyncRun{}, "admin_tagrules": AdminTagRules{},
	"admin_modules": AdminModules{}, "register": Register{}, "register_form": RegisterForm{},
	"register_refused": RegisterRefused{}, "register_done": RegisterDone{},
	"app_messages": AppMessages{}, "app_messages_item": AppMessage{}, "admin_messages": AdminMessages{}, "admin_messages_report": AdminMessage{},
	"admin_reminders": AdminReminders{}, "admin_calendar": AdminCalendar{},
	"admin_channels": AdminChannels{}, "guest_login": GuestLogin{},
	"admin_hall": AdminHallList{}, "admin_hall_edit": AdminHallEdit{}, "admin_hall_simulate": AdminHallSimulate{},
	"admin_hall_stats": AdminHallStats{}, "admin_hall_app": AdminHallApplication{},
	"hall_home": HallHome{}, "hall_apply": HallApply{}, "hall_my": HallMy{}, "hall_app": HallApp{}, "hall_tasks": HallTasks{},
	"app_data": AppData{}, "app_data_row": AppDataRow{}, "admin_data": AdminData{}, "admin_data_edit": AdminDataEdit{}, "admin_data_preview": AdminDataPreview{},

	"admin_attendance": AdminAttendance{},
}

// homeView mirrors handler's view of the operator status page.
type homeView struct {
	Title, Version string
	Checks         []struct {
		Name, State string
		OK          bool
	}
	SimulatorURL string
	Callbacks    []string
	Try          []tryPerson
	Admin        *tryPerson
	Register     *tryPerson
	APIKey       *struct{ ID, Secret string }
	BaseURL      string
	TagID        int64
	TagName      string
	CASName      string
	Hall         bool
	Counselor    *tryPerson
}

type tryPerson struct{ Label, UserID, Name, Mobile string }

func pages(t *testing.T) map[string]*template.Template {
	t.Helper()
	p, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func render(t *testing.T, p map[string]*template.Template, page string, data any) string {
	t.Helper()
	tpl, ok := p[page]
	if !ok {
		t.Fatalf("no page %q", page)
	}
	var b bytes.Buffer
	if err := tpl.ExecuteTemplate(&b, "layout", data); err != nil {
		t.Fatalf("render %s with %T: %v", page, data, err)
	}
	return b.String()
}

func TestEveryPageIsThere(t *testing.T) {
	var got, want []string
	for name := range pages(t) {
		got = append(got, name)
	}
	for name := range pageViews {
		want = append(want, name)
	}
	want = append(want, "home")
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pages = %v\nwant    %v", got, want)
	}
}

// Zero values: what a handler that fills nothing (or a nil pointer) gets.
func TestZeroValuesRender(t *testing.T) {
	p := pages(t)
	for name, v := range pageViews {
		t.Run(name, func(t *testing.T) {
			out := render(t, p, name, v)
			// A pointer to the view works the same.
			ptr := reflect.New(reflect.TypeOf(v))
			render(t, p, name, ptr.Interface())
			if !strings.Contains(out, `<meta name="viewport"`) || !strings.Contains(out, AssetURL("weui/weui.min.css")) || !strings.Contains(out, AssetURL("app.css")) {
				t.Fatalf("layout lacks the viewport or a stylesheet:\n%s", out)
			}
		})
	}
	out := render(t, p, "home", homeView{Title: "wecomapp", Version: "v1", SimulatorURL: "http://x/wecomsim",
		Register: &tryPerson{Label: "自助注册", UserID: "202601010191", Name: "林思远", Mobile: "13900009901"},
		Hall:     true, Counselor: &tryPerson{Label: "辅导员", UserID: "T00039", Name: "韩然磊"}})
	for _, s := range []string{"Open the simulated phone", `href="http://x/wecomsim/phone"`, `class="ops"`, `href="/register"`, "<code>202601010191</code>", "<code>13900009901</code>",
		`data-testid="try-hall"`, "<code>T00039</code>", `href="/hall/"`, `href="/admin/hall"`} {
		if !strings.Contains(out, s) {
			t.Errorf("operator page lacks %q", s)
		}
	}
}

func tile(key, name string, badge int) Tile {
	return Tile{Module: key, Name: name, Icon: "📄", Category: "办公服务", Summary: name + "：在线办理、查看进度、接收提醒", Href: "/app/m/" + key, Status: "live", Badge: badge}
}

func sampleHome() AppHome {
	var secs []Section
	n := 0
	for _, title := range []string{"常用", "教学服务", "学工服务", "生活服务"} {
		s := Section{Title: title}
		for i := 0; i < 4; i++ {
			n++
			tl := tile(fmt.Sprintf("module_%02d", n), fmt.Sprintf("应用名称%02d", n), 0)
			if n == 3 {
				tl.Badge = 120
			}
			if n == 5 {
				tl.Badge = 7
			}
			if n == 6 {
				tl.BadgeUnavailable = true
			}
			if n == 7 {
				tl.Status = "soon"
			}
			s.Tiles = append(s.Tiles, tl)
		}
		secs = append(secs, s)
	}
	fav := []Tile{secs[0].Tiles[0], secs[1].Tiles[1], secs[2].Tiles[2], secs[3].Tiles[3]}
	for i := range fav {
		fav[i].Favourite = true
	}
	recent := []Tile{secs[0].Tiles[1], secs[0].Tiles[2], secs[1].Tiles[0], secs[2].Tiles[1], secs[3].Tiles[0], secs[3].Tiles[2], secs[1].Tiles[3], secs[2].Tiles[3]}
	return AppHome{
		Page:          Page{Title: "教职工工作台", Me: &Me{UserID: "T2019001", Name: "王建国", Identity: "辅导员", Admin: true}, Flash: "已切换到辅导员身份"},
		WorkbenchName: "辅导员工作台",
		Identities: []Identity{
			{Role: "staff", Name: "教职工", Detail: "教职工 · 计算机科学与工程学院"},
			{Role: "counselor", Name: "辅导员", Detail: "负责 126 名学生", Current: true},
			{Role: "doctoral", Name: "博士研究生", Detail: "博士生 · 计算机科学与技术"},
			{Role: "alumnus", Name: "校友", Detail: "2015届 计算机学院"},
		},
		Sections: secs, Favourites: fav, Recent: recent,
	}
}

func adminPage(title, active string) AdminPage {
	nav := []AdminNavItem{{"/admin/", "概览", false}, {"/admin/roles", "角色与规则", false}, {"/admin/workbenches", "工作台", false},
		{"/admin/modules", "应用目录", false}, {"/admin/content", "校园概况", false}, {"/admin/grants", "管理员", false}, {"/admin/audit", "审计日志", false}}
	for i := range nav {
		nav[i].Active = nav[i].Href == active
	}
	return AdminPage{Page: Page{Title: title, Me: &Me{UserID: "admin01", Name: "张管理", Admin: true}, Flash: "已保存", Error: "规则有误"}, Nav: nav}
}

var audit = []AuditRow{{ID: 42, At: "2026-12-01 10:00:00", Actor: "admin01", Action: "workbench.tile.save", Object: "counselor/tile/12",
	Before: `{"visible":""}`, After: `{"visible":"counselees > 0"}`, IP: "10.0.0.8"}}

// samples are realistic views of every page.
func samples() map[string]any {
	home := sampleHome()
	role := AdminRole{Key: "counselor", Name: "辅导员", Identity: "faculty", Rule: `kind == "faculty" && counselees > 0`, Workbench: "counselor", Priority: 250, Enabled: true, Held: 12}
	campus := []ContentItem{{Key: "profile", Kind: "section", Title: "学校简介", Href: "/app/m/campus/profile"}, {Key: "map", Kind: "section", Title: "校园地图", Href: "/app/m/campus/map"}}
	notices := []ContentItem{{Key: "n1", Kind: "notice", Title: "关于元旦放假的通知", Href: "/app/m/campus/n1", Published: "2026-11-28", Unread: true}}
	news := []ContentItem{{Key: "w1", Kind: "news", Title: "我校获批国家重点实验室", Href: "/app/m/campus/w1", Published: "2026-11-20"}}
	return map[string]any{
		"app_home":   home,
		"app_search": AppSearch{Page: home.Page, Query: "请假", Results: []Tile{tile("student_leave", "学生请假", 2), {Module: "vpn", Name: "VPN 开通", Href: "/app/m/vpn", Status: "soon", Favourite: true}}},
		"app_module": AppModule{Page: home.Page, Tile: tile("library", "图书馆服务", 0), Body: []string{"借阅查询、续借、座位预约。", "开放时间 8:00–22:00。"}, External: "https://lib.example.edu.cn/sso?ticket=x"},
		"app_soon":   AppSoon{Page: home.Page, Tile: Tile{Module: "messages", Name: "消息中心", Icon: "💬", Href: "/app/m/messages", Status: "soon"}, Arrives: "消息中心上线后"},
		"app_campus": AppCampus{Page: Page{Title: "校园概况", Me: home.Me}, Sections: campus, Notices: notices, News: news},
		"app_content": AppContent{Page: Page{Title: "关于元旦放假的通知", Me: home.Me}, Item: ContentItem{Key: "n1", Kind: "notice", Title: "关于元旦放假的通知",
			Published: "2026-11-28", Body: []string{"各单位：", "元旦放假三天。"}}},
		"join":       Join{Page: Page{Title: "如何加入"}, Reason: "openid", Contact: "信息中心服务台 010-12345678"},
		"login":      Login{Page: Page{Title: "登录一站式服务平台"}, Return: "/admin/", QRHref: "/auth/qr?return=%2Fadmin%2F", CASHref: "/auth/cas?return=%2Fadmin%2F", CASName: "统一身份认证"},
		"signed_out": SignedOut{Page: Page{Title: "已退出"}, Everywhere: true},
		"app_error":  AppError{Page: Page{Title: "页面不存在", Me: home.Me}, Status: 404, Message: "没有这个应用。"},
		"admin_home": AdminHome{AdminPage: adminPage("概览", "/admin/"), Roles: 56, Workbenches: 56, Modules: 46, Grants: 3, RecentAudit: audit},
		"admin_roles": AdminRoles{AdminPage: adminPage("角色与规则", "/admin/roles"), Roles: []AdminRole{role, {Key: "alumnus", Name: "校友", Identity: "alumnus", Rule: `kind == "alumnus"`, Workbench: "alumnus", Priority: 100, Held: -1}},
			Edit: &role, FieldError: map[string]string{"rule": "规则第 1 列：unknown name counselee"}},
		"admin_workbenches": AdminWorkbenches{AdminPage: adminPage("工作台", "/admin/workbenches"), Workbenches: []AdminWorkbenchRow{{Key: "counselor", Name: "辅导员工作台", Sections: 3, Tiles: 14}}},
		"admin_workbench": AdminWorkbench{AdminPage: adminPage("辅导员工作台", "/admin/workbenches"), Key: "counselor", Name: "辅导员工作台",
			Sections: []AdminSection{{ID: 3, Title: "常用", Sort: 1, Tiles: []AdminTile{{ID: 12, Module: "student_leave", ModuleName: "学生请假", Icon: "📝", Visible: "counselees > 0", Sort: 1}}}},
			Modules:  []AdminModuleOption{{"student_leave", "学生请假"}, {"library", "图书馆服务"}}, FieldError: map[string]string{"tile:12:visible": "可见规则第 1 列：unknown name counselee"}},
		"admin_preview": AdminPreview{AdminPage: adminPage("预览工作台", "/admin/workbenches"), UserID: "T2019001", Role: "counselor", Identities: home.Identities, Home: &home},
		"admin_grants": AdminGrants{AdminPage: adminPage("管理员", "/admin/grants"), Roles: []string{"super", "dept_admin", "sender", "auditor"},
			Grants:     []AdminGrant{{UserID: "admin01", Name: "张管理", Role: "super", GrantedBy: "system", GrantedAt: "2026-11-01 09:00"}, {UserID: "T1", Name: "李老师", Role: "dept_admin", Depts: "D01,D02", GrantedBy: "admin01", GrantedAt: "2026-11-02 09:00"}},
			FieldError: map[string]string{"userid": "没有这个人"}},
		"admin_sync": syncSample(), "admin_sync_run": syncRunSample(), "admin_tagrules": tagRulesSample(),
		"admin_audit":        AdminAudit{AdminPage: adminPage("审计日志", "/admin/audit"), Rows: audit, Actor: "admin01", Action: "workbench.", Next: 41},
		"admin_content":      AdminContentList{AdminPage: adminPage("校园概况", "/admin/content"), Items: append(append(campus, notices...), news...)},
		"admin_content_edit": AdminContentEdit{AdminPage: adminPage("学校简介", "/admin/content"), Item: campus[0], BodyText: "第一段\n\n第二段", FieldError: map[string]string{"title": "标题不能为空"}},
		"register": Register{Page: Page{Title: "加入学校企业微信"}, Types: []RegisterType{{Key: "faculty", Name: "教职工", IDName: "工号", Href: "/register/start?type=faculty"},
			{Key: "student", Name: "学生", IDName: "学号", Href: "/register/start?type=student"}}, QR: "/register/qr.png", URL: "https://hall.example.edu.cn/register",
			Problem: "注册链接已失效，请重新选择身份。", Contact: "信息中心服务台 010-12345678"},
		"register_form": RegisterForm{Page: Page{Title: "填写注册信息"}, TypeName: "教职工", IDName: "工号", UserID: "T2019001", Name: "张三", Mobile: "1380013800",
			FieldError: map[string]string{"mobile": "手机号应为 11 位"}, Refusal: &RegisterRefusal{Check: "name_mismatch", Message: "姓名不一致。", Advice: "请联系人事处。"}},
		"register_refused": RegisterRefused{Page: Page{Title: "暂时不能注册"}, Refusal: RegisterRefusal{Check: "phone_differs", Message: "手机号不一致。", Advice: "请到人事处更新。"},
			Contact: "信息中心服务台 010-12345678"},
		"register_done": RegisterDone{Page: Page{Title: "开通成功"}, UserID: "T2019001", Name: "张三", TypeName: "教职工", Mobile: "138****8000", Welcomed: true,
			Contact: "信息中心服务台 010-12345678"},
		"app_messages": messagesSample(home.Page), "app_messages_item": messageSample(home.Page),
		"admin_messages": adminMessagesSample(), "admin_messages_report": adminReportSample(),
		"admin_reminders": adminRemindersSample(), "admin_calendar": adminCalendarSample(),
		"admin_hall": adminHallSample(), "admin_hall_edit": adminHallEditSample(), "admin_hall_simulate": adminHallSimulateSample(),
		"admin_hall_stats": adminHallStatsSample(), "admin_hall_app": adminHallAppSample(),
		"admin_attendance": adminAttendanceSample(),
		"admin_channels": AdminChannels{AdminPage: adminPage("微信插件成员", "/admin/channels"), Detected: 3,
			Marks: []AdminChannel{{UserID: "T00042", Name: "李老师", Client: "wechat", Note: "退休，只用微信", SetBy: "T00027", SetAt: "2026-12-01 09:00"}},
			Form:  AdminChannel{UserID: "nobody", Client: "wechat"}, FieldError: map[string]string{"userid": "通讯录里没有账号 nobody"}},
		"guest_login": GuestLogin{Page: Page{Title: "手机号登录", Flash: "验证码已发送至 139****5678"}, Return: "/hall/", Mobile: "13912345678",
			CodeSent: true, SentTo: "139****5678", Minutes: 5, FieldError: map[string]string{"code": "验证码不正确，还可以再试 4 次。"}, Wait: 42, WaitText: "42 秒"},
		"hall_home": hallHomeSample(home.Page), "hall_apply": hallApplySample(home.Page), "hall_my": hallMySample(home.Page),
		"hall_app": hallAppSample(home.Page), "hall_tasks": hallTasksSample(home.Page),
		"app_data": appDataSample(home.Page), "app_data_row": appDataRowSample(home.Page), "admin_data": adminDataSample(),
		"admin_data_edit": adminDataEditSample(), "admin_data_preview": adminDataPreviewSample(home.Page),
		"admin_modules": AdminModules{AdminPage: adminPage("应用目录", "/admin/modules"), Modules: []AdminModuleRow{{Key: "campus", Name: "校园概况", Category: "校园概况", Kind: "builtin", Icon: "🏫", Badge: "notices", Status: "live", Summary: "学校简介、历史沿革"},
			{Key: "oa", Name: "OA", Category: "办公服务", Kind: "external", Target: "https://oa.example.edu.cn/", Icon: "🗂️", Status: "live"}}},
	}
}

func TestSamplesRender(t *testing.T) {
	p := pages(t)
	s := samples()
	if len(s) != len(pageViews) {
		t.Fatalf("%d samples for %d pages", len(s), len(pageViews))
	}
	for name, v := range s {
		if reflect.TypeOf(v) != reflect.TypeOf(pageViews[name]) {
			t.Fatalf("sample %s is a %T, the page takes %T", name, v, pageViews[name])
		}
		out := render(t, p, name, v)
		t.Logf("%-19s %6d bytes", name, len(out))
	}
}

// The workbench home as a busy person sees it stays well under the 60 KB budget.
func TestHomeWeight(t *testing.T) {
	h := sampleHome()
	n := 0
	for _, s := range h.Sections {
		n += len(s.Tiles)
	}
	if n != 16 || len(h.Identities) != 4 || len(h.Favourites) == 0 || len(h.Recent) == 0 {
		t.Fatalf("sample is not full: %d tiles, %d identities", n, len(h.Identities))
	}
	out := render(t, pages(t), "app_home", h)
	if len(out) >= 60*1024 {
		t.Fatalf("app_home weighs %d bytes, budget 60 KB", len(out))
	}
	t.Logf("app_home: %d bytes, %d tiles", len(out), strings.Count(out, `data-testid="tile"`))
}

// hooks are the data-testid attributes the browser tests rely on, per page.
var hooks = map[string][]string{
	"app_home":              {"person-name", "identity-current", "identity-switch", "identity-option", "tile", "badge", "badge-unavailable", "search", "favourites", "recent", "signout", "flash"},
	"app_search":            {"search", "tile", "badge", "fav"},
	"app_module":            {"module-title", "fav", "external"},
	"app_soon":              {"soon", "module-title"},
	"app_campus":            {"module-title", "content", "unread"},
	"app_content":           {"module-title"},
	"join":                  {"join", "contact"},
	"login":                 {"login-qr", "login-cas"},
	"signed_out":            {"signed-out"},
	"app_error":             {"app-error"},
	"admin_home":            {"admin-nav", "flash", "error", "signout", "person-name"},
	"admin_roles":           {"admin-nav", "field-error", "role-form"},
	"admin_workbenches":     {"admin-nav", "workbenches"},
	"admin_workbench":       {"admin-nav", "field-error", "admin-tile", "add-tile", "add-section"},
	"admin_preview":         {"admin-nav", "preview", "tile", "identity-option"},
	"admin_grants":          {"admin-nav", "field-error", "revoke"},
	"admin_audit":           {"admin-nav", "next", "audit"},
	"admin_sync":            {"admin-nav", "sync-runs", "sync-dry-run", "sync-run", "sync-running", "dry-run-result", "dry-run-guard", "sync-status"},
	"admin_sync_run":        {"admin-nav", "sync-guard", "sync-confirm", "sync-failures", "sync-plan", "sync-plan-download", "sync-steps", "sync-drift"},
	"admin_tagrules":        {"admin-nav", "tag-count", "tagrule-form", "field-error", "tagrule-preview", "tagrule-preview-result", "preview-member", "tagrules", "tagrule-search"},
	"admin_content":         {"admin-nav", "contents"},
	"admin_content_edit":    {"admin-nav", "field-error", "content-form"},
	"admin_modules":         {"admin-nav", "modules"},
	"app_messages":          {"module-title", "unread-count", "sources", "source", "messages", "message", "unread", "message-from"},
	"app_messages_item":     {"module-title", "message-item", "message-from", "msg-content", "msg-card", "msg-card-title", "msg-jump", "msg-action", "back"},
	"admin_messages":        {"admin-nav", "compose", "msgtype", "recipients", "to-all", "to-tags", "to-depts", "to-roles", "count", "recipient-count", "needs-approval", "do-count", "do-preview", "do-send", "preview", "preview-wecom", "preview-wechat", "drafts", "draft", "approve", "reject", "sent", "sent-message", "field-error", "next"},
	"admin_channels":        {"admin-nav", "detected", "channel-form", "channel-userid", "channel-client", "channel-save", "channels", "channel", "field-error"},
	"admin_reminders":       {"admin-nav", "firings-from", "new-reminder", "reminder-delete-confirm", "reminder-delete-yes", "reminder-send-confirm", "send-members", "reminder-send-yes", "reminder-edit", "reminder-form", "preset", "cron", "workdays", "audience", "recipients", "to-tags", "to-depts", "to-roles", "msgtype", "content", "enabled", "reminder-save", "field-error", "reminders", "reminder", "reminder-schedule", "firings", "firing", "firing-skipped", "edit", "toggle", "send-now", "delete", "reminder-pending", "reminder-approve", "reminder-sent", "reminder-sent-message"},
	"admin_calendar":        {"admin-nav", "years", "uncovered", "new-period", "period-delete-confirm", "period-delete-yes", "period-edit", "period-form", "period-kind", "period-audience", "period-save", "field-error", "periods", "period", "edit", "delete", "prev", "next", "days", "day"},
	"hall_home":             {"module-title", "hall-nav", "open-tasks", "processes", "process", "my-apps", "app", "app-state", "all-apps", "flash"},
	"hall_apply":            {"module-title", "apply-form", "field", "field-error", "range", "range-start", "range-end", "range-days", "attach", "attach-list", "attach-file", "attach-input", "attach-status", "apply-submit", "back", "error"},
	"hall_my":               {"module-title", "hall-nav", "filters", "filter", "apps", "app", "app-state", "back"},
	"hall_app":              {"module-title", "app-state", "app-step", "app-values", "value", "value-file", "app-applicant", "my-task", "decide-form", "comment", "approve", "reject", "return", "transfer-form", "transfer-to", "transfer", "add-form", "add-userid", "add-approver", "app-actions", "urged", "urge-note", "withdraw", "app-path", "task", "task-state", "task-assignee", "task-comment", "overdue", "trail", "trail-entry", "trail-action", "back"},
	"hall_tasks":            {"module-title", "hall-nav", "open-count", "task-tabs", "tab-open", "tab-done", "tasks", "task", "task-link", "task-state", "quick", "approve", "reject", "overdue", "back"},
	"admin_hall":            {"admin-nav", "new-process", "hall-stats-link", "open-application", "processes", "process", "process-version", "edit", "simulate"},
	"admin_hall_edit":       {"admin-nav", "simulate", "process-key", "current-version", "parse-error", "problems", "problem", "designer-form", "designer", "json-box", "definition", "validate", "publish", "versions", "version"},
	"admin_hall_simulate":   {"admin-nav", "simulate-form", "sim-userid", "sim-field", "field-error", "sim-run", "sim-applicant", "sim-problem", "sim-path", "sim-step", "sim-edge", "sim-approver", "sim-nobody", "sim-cc", "sim-warning", "sim-end"},
	"admin_hall_stats":      {"admin-nav", "charts", "chart-row", "chart-bar", "hall-stats", "stat", "stat-apps", "stat-decided", "stat-median", "stat-p90", "stat-overdue", "hall-owners", "owner", "stuck", "stuck-task"},
	"admin_hall_app":        {"admin-nav", "application", "app-state", "tasks", "task", "overdue", "reassign-form", "reassign-to", "reassign", "field-error", "trail", "trail-entry"},
	"app_data":              {"module-title", "fav", "student-picker", "student-select", "data-subject", "data-summary", "summary", "timetable", "week-number", "slot", "data-filters", "filter", "filter-go", "data-rows", "data-row", "masked", "pages", "prev-page", "next-page", "back"},
	"app_data_row":          {"module-title", "data-detail", "detail-cell", "masked", "back"},
	"admin_data":            {"admin-nav", "new-definition", "definitions", "definition", "edit", "preview"},
	"admin_data_edit":       {"admin-nav", "preview", "as-json", "problems", "problem", "definition-form", "definition", "save"},
	"admin_data_preview":    {"admin-nav", "preview-form", "preview-user", "preview-go", "data-preview", "data-summary", "data-rows", "data-row", "masked"},
	"admin_attendance":      {"admin-nav", "attendance-pull-form", "attendance-month", "attendance-pull", "attendance-show-form", "attendance-export", "attendance-differs", "attendance-stats", "attendance-row", "attendance-total", "attendance-pulls", "attendance-pull-row", "attendance-failures"},
	"admin_messages_report": {"admin-nav", "report-summary", "report-state", "outcomes", "count-total", "count-delivered", "count-read", "recall", "recall-confirm", "report", "report-row", "next"},
}

func TestHooks(t *testing.T) {
	p := pages(t)
	for name, v := range samples() {
		out := render(t, p, name, v)
		for _, h := range hooks[name] {
			if !strings.Contains(out, `data-testid="`+h+`"`) {
				t.Errorf("%s: no data-testid=%q", name, h)
			}
		}
	}
	out := render(t, p, "app_home", sampleHome())
	for _, s := range []string{`data-module="module_01"`, `>99&#43;<`, `>7<`, `data-testid="identity-current">辅导员<`, `data-testid="person-name">王建国<`,
		`action="/app/identity"`, `name="role" value="alumnus"`, `action="/app/search"`, `name="q"`, `action="/auth/logout"`, `action="/auth/logout?everywhere=1"`, `href="/admin/"`} {
		if !strings.Contains(out, s) {
			t.Errorf("app_home lacks %q", s)
		}
	}
	// One identity: nothing to switch to, but the current one still shows.
	one := sampleHome()
	one.Identities = one.Identities[1:2]
	out = render(t, p, "app_home", one)
	if strings.Contains(out, `data-testid="identity-switch"`) || !strings.Contains(out, `data-testid="identity-current">辅导员<`) {
		t.Errorf("single identity: want no switcher, the current identity shown")
	}
	// A person without favourites is told how to get them; no badge without a count.
	none := sampleHome()
	none.Favourites, none.Recent = nil, nil
	for i := range none.Sections {
		for j := range none.Sections[i].Tiles {
			none.Sections[i].Tiles[j].Badge, none.Sections[i].Tiles[j].BadgeUnavailable = 0, false
		}
	}
	out = render(t, p, "app_home", none)
	if strings.Contains(out, `data-testid="recent"`) || strings.Contains(out, `data-testid="badge"`) || !strings.Contains(out, "收藏") {
		t.Errorf("no favourites, recent or badges: page is wrong")
	}
	// Active console navigation entry is marked.
	out = render(t, p, "admin_roles", samples()["admin_roles"])
	if !regexp.MustCompile(`class="admin__link admin__link_on" href="/admin/roles" aria-current="page"`).MatchString(out) {
		t.Errorf("active nav entry not marked")
	}
	// The error sits next to the rule field.
	if !regexp.MustCompile(`name="rule"[^>]*>[^<]*</textarea><span class="fe" data-testid="field-error">规则第 1 列`).MatchString(out) {
		t.Errorf("rule error not next to its field:\n%s", out)
	}
	out = render(t, p, "admin_workbench", samples()["admin_workbench"])
	if !strings.Contains(out, `action="/admin/workbenches/counselor/tiles/12"`) || !strings.Contains(out, `form="tile-12"`) ||
		!strings.Contains(out, `action="/admin/workbenches/counselor/sections/3/delete"`) {
		t.Errorf("workbench forms do not post where the handler listens")
	}
	out = render(t, p, "admin_audit", samples()["admin_audit"])
	if !strings.Contains(out, `href="/admin/audit?actor=admin01&amp;action=workbench.&amp;before=41"`) {
		t.Errorf("next page link wrong")
	}
	j := render(t, p, "join", Join{Reason: "unknown"})
	if !strings.Contains(j, "还没有你的档案") || strings.Contains(j, "还不是学校企业微信的成员") {
		t.Errorf("join page does not follow its reason")
	}
}

const hostile = `<script>alert("x")</script>`

// Every value reaches the page escaped, whatever the field.
func TestEscaping(t *testing.T) {
	p := pages(t)
	for name, v := range samples() {
		hv := reflect.New(reflect.TypeOf(v)).Elem()
		hv.Set(reflect.ValueOf(v))
		poison(hv)
		out := render(t, p, name, hv.Interface())
		if strings.Contains(out, "<script>alert") {
			t.Errorf("%s: unescaped value in\n%s", name, out)
		}
		if !strings.Contains(out, "&lt;script&gt;") {
			t.Errorf("%s: the hostile value does not show at all", name)
		}
	}
	// A javascript: link never becomes one.
	out := render(t, p, "app_module", AppModule{Tile: Tile{Name: "x", Href: "javascript:alert(1)"}, External: "javascript:alert(1)"})
	if strings.Contains(out, "javascript:") {
		t.Errorf("javascript: URL kept")
	}
}

// poison puts the hostile string in every string of v (following pointers,
// slices and maps), so each field's escaping is exercised.
func poison(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(hostile + v.String())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Elem().Type())
			c.Elem().Set(v.Elem())
			poison(c.Elem())
			v.Set(c)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			poison(v.Field(i))
		}
	case reflect.Slice:
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := 0; i < c.Len(); i++ {
			poison(c.Index(i))
		}
		v.Set(c)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			poison(e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

// The pages are served with "default-src 'self'; style-src 'self'": an inline
// script or style attribute would be dead, so there must be none.
func TestNoInlineScriptOrStyle(t *testing.T) {
	p := pages(t)
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`)
	for name, v := range samples() {
		out := render(t, p, name, v)
		if regexp.MustCompile(`\sstyle=|<style|\son[a-z]+=`).MatchString(out) {
			t.Errorf("%s: inline style or event handler", name)
		}
		if inlineScript.MatchString(out) {
			t.Errorf("%s: inline script", name)
		}
	}
}

// The handler adds the simulator banner by redefining "simulator-public".
func TestSimulatorBanner(t *testing.T) {
	p := pages(t)
	for _, name := range []string{"app_home", "admin_home", "home"} {
		if _, err := p[name].New("simulator-public").Parse(`<p class="simulator-public">SIM</p>`); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(render(t, p, "app_home", sampleHome()), `<p class="simulator-public">SIM</p><main>`) {
		t.Errorf("banner not shown")
	}
}

func TestGzipped(t *testing.T) {
	for _, name := range []string{"weui/weui.min.css", "app.css", "app.js"} {
		raw, err := fs.ReadFile(Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		gz := Gzipped(name)
		if gz == nil {
			t.Fatalf("%s: no gzip", name)
		}
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("%s: gzip does not give the file back (%v)", name, err)
		}
		t.Logf("%s: %d bytes, gzip %d", name, len(raw), len(gz))
	}
	if Gzipped("nope.css") != nil || Gzipped("../h5.go") != nil {
		t.Errorf("gzip of a file that is not an asset")
	}
	if !bytes.Equal(Gzipped("/app.css"), Gzipped("app.css")) {
		t.Errorf("leading slash changes the answer")
	}
}

func TestAssetURLFollowsContent(t *testing.T) {
	a := scanAssets(fstest.MapFS{"app.css": {Data: []byte("a{}")}})
	b := scanAssets(fstest.MapFS{"app.css": {Data: []byte("b{}")}})
	ua, ub := assetURL(a, "app.css"), assetURL(b, "app.css")
	if ua == ub || !strings.HasPrefix(ua, "/static/app.css?v=") || len(ua) == len("/static/app.css?v=") {
		t.Fatalf("urls %q and %q", ua, ub)
	}
	if assetURL(a, "app.css") != ua {
		t.Fatalf("not stable")
	}
	if !strings.HasPrefix(AssetURL("weui/weui.min.css"), "/static/weui/weui.min.css?v=") || strings.HasSuffix(AssetURL("weui/weui.min.css"), "=") {
		t.Fatalf("weui url %q", AssetURL("weui/weui.min.css"))
	}
	// Incompressible content gets no gzip: plain is cheaper.
	if g := scanAssets(fstest.MapFS{"x": {Data: []byte("x")}}).gz["x"]; g != nil {
		t.Fatalf("gzip of one byte kept")
	}
}

func TestBadgeText(t *testing.T) {
	for n, want := range map[int]string{1: "1", 99: "99", 100: "99+"} {
		if got := badgeText(n); got != want {
			t.Errorf("badge(%d) = %q, want %q", n, got, want)
		}
	}
}

func messagesSample(pg Page) AppMessages {
	pg.Title = "消息中心"
	return AppMessages{Page: pg, Unread: 2, Source: "api:xg", Sources: []MessageSource{{Key: "api:xg", Name: "学工系统", Href: "/app/messages?source=api%3Axg", Current: true}, {Key: "console", Name: "管理员通知", Href: "/app/messages?source=console"}},
		Items: []MessageItem{{ID: 12, Href: "/app/messages/12", Title: "奖学金评定结果公示", Summary: "请于 12 月 5 日前确认", From: "学工系统", At: "2026-12-01 09:30", Unread: true},
			{ID: 9, Href: "/app/messages/9", Title: "元旦放假安排", From: "管理员通知", At: "2026-11-28 16:00"}}, More: true}
}

func messageSample(pg Page) AppMessage {
	pg.Title = "请假审批"
	return AppMessage{Page: pg, Item: MessageItem{ID: 12, Title: "请假审批", From: "学工系统", At: "2026-12-01 09:30"},
		Content: MsgContent{MsgType: "template_card", Blocks: []MsgBlock{{Kind: "h", Level: 2, Spans: []MsgSpan{{Text: "说明"}}}, {Kind: "p", Spans: []MsgSpan{{Text: "请及时处理，"}, {Text: "今天截止", Bold: true, Color: "warning"}, {Text: "详情", Href: "https://xg.example.edu.cn/leave/1"}, {Text: "id", Code: true}}},
			{Kind: "quote", Spans: []MsgSpan{{Text: "引用"}}}, {Kind: "code", Code: "a := 1"}},
			Card: &MsgCard{Source: "学工系统", Title: "请假审批", Desc: "王同学申请病假", Emphasis: "2", EmphasisDesc: "天", Quote: "身体不适", Sub: "请在 24 小时内处理",
				Fields: []MsgField{{Key: "申请人", Value: "王小明"}, {Key: "附件", Value: "病历", Href: "https://xg.example.edu.cn/f/1"}}, Jumps: []MsgLink{{Title: "查看详情", Href: "https://xg.example.edu.cn/leave/1"}},
				Action: "https://xg.example.edu.cn/leave/1", Button: "审批", Interactive: true},
			Articles: []MsgArticle{{Title: "图书馆闭馆通知", Desc: "12 月 3 日闭馆", Href: "https://lib.example.edu.cn/n/1"}}}}
}

func adminMessagesSample() AdminMessages {
	opt := func(v, n string, on bool) AdminOption { return AdminOption{Value: v, Name: n, Checked: on} }
	return AdminMessages{AdminPage: adminPage("消息群发", "/admin/messages"),
		Form: MessageForm{MsgType: "markdown", Title: "停水通知", Content: "# 停水\n**明天**停水", URL: "https://hq.example.edu.cn/n/1", SendAt: "2026-12-02T08:00", Token: "0123456789abcdef0123456789abcdef",
			Tags: []AdminOption{opt("3", "2024级本科生", true)}, Depts: []AdminOption{{Value: "2", Name: "计算机学院", Depth: 1}}, Roles: []AdminOption{opt("counselor", "辅导员", false)}, Children: true, UserIDs: "T2019001"},
		FieldError: map[string]string{"to": "请选择接收人"}, Counted: true, Members: 1520, Threshold: 1000,
		Preview: &MessagePreview{WeCom: MsgContent{MsgType: "markdown", Blocks: []MsgBlock{{Kind: "h", Level: 1, Spans: []MsgSpan{{Text: "停水"}}}}},
			WeChat: &MsgCard{Title: "停水", Desc: "明天停水", Action: "https://hall.example.edu.cn/app/messages/…", Button: "详情"}},
		Drafts: []AdminMessageRow{{ID: 4, Href: "/admin/messages/drafts/4", Summary: "全校停电通知", MsgType: "text", By: "admin02", At: "2026-12-01 10:00", Reach: 24000}},
		Sent:   []AdminMessageRow{{ID: 31, Href: "/admin/messages/31", Summary: "停水通知", MsgType: "markdown", By: "admin01", At: "2026-12-01 09:00", SendAt: "2026-12-01 12:00", State: "done", Named: 1}},
		Next:   31}
}

func adminReportSample() AdminMessage {
	return AdminMessage{AdminPage: adminPage("发送报告", "/admin/messages"), ID: 31, Summary: "停水通知", MsgType: "markdown", State: "done", Lane: "broadcast", By: "admin01",
		At: "2026-12-01 09:00", SendAt: "2026-12-01 12:00", Content: MsgContent{MsgType: "text", Blocks: []MsgBlock{{Kind: "p", Spans: []MsgSpan{{Text: "明天停水"}}}}},
		Outcomes: []AdminOutcome{{Key: "delivered", Name: "已送达", N: 1500}, {Key: "invalid", Name: "无效成员", N: 20}}, Total: 1520, Read: 300, Outcome: "delivered",
		Rows: []AdminReportRow{{UserID: "S2024001", Channel: "wecom", Outcome: "delivered", At: "2026-12-01 12:00", ReadAt: "2026-12-01 12:30"}}, Next: 880, CanRecall: true}
}

func adminRemindersSample() AdminReminders {
	row := AdminReminderRow{ID: 7, Name: "学生健康打卡提醒", Schedule: "每个工作日 08:00", Cron: "0 8 * * *", To: []string{"标签 2024级本科生", "部门 计算机学院（含下级）"},
		Audience: "students", Workdays: true, Enabled: true, MsgType: "text", Summary: "请在 9:00 前完成健康打卡", LastFired: "2026-09-30 08:00",
		Firings: []AdminReminderFiring{{At: "2026-09-30 08:00 周三"}, {At: "2026-10-01", Until: "2026-10-07", Skipped: true, Reason: "国庆节", Days: 7},
			{At: "2026-10-10 08:00 周六", Reason: "调休上班 国庆节"}, {At: "2028-01-03 08:00 周一", Guessed: true}}, FiringsNote: "两年内只发送这些次"}
	off := row
	off.ID, off.Enabled, off.Name = 8, false, "教职工通勤班车提醒"
	wide := row
	wide.ID, wide.Name, wide.Pending, wide.Reach, wide.UpdatedBy = 9, "全校学生晨检提醒", true, 31104, "T00027"
	opt := func(v, n string, on bool) AdminOption { return AdminOption{Value: v, Name: n, Checked: on} }
	ap := adminPage("定时提醒", "/admin/reminders")
	ap.Me = &Me{UserID: "T00031", Name: "周敏", Admin: true}
	return AdminReminders{AdminPage: ap, Rules: []AdminReminderRow{row, off, wide}, From: "2026-09-29", Today: "2026-09-28",
		Edit: &ReminderForm{ID: 7, Name: "学生健康打卡提醒", Preset: "custom", Time: "08:00", Cron: "0 8 * * 1-5x", Audience: "students", Workdays: true, Enabled: true,
			MsgType: "markdown", Content: "**请在 9:00 前**完成健康打卡", Tags: []AdminOption{opt("3", "2024级本科生", true)}, Depts: []AdminOption{{Value: "2", Name: "计算机学院", Depth: 1}},
			Roles: []AdminOption{opt("counselor", "辅导员", false)}, Children: true},
		FieldError: map[string]string{"schedule": "不是有效的 cron 表达式", "to": "请选择接收人"}, Delete: &row, Send: &row, Members: 12, Threshold: 1000,
		Sent: []AdminMessageRow{{ID: 41, Href: "/admin/messages/41", Summary: "请在 9:00 前完成健康打卡", MsgType: "text", By: "T00027", At: "2026-09-30 08:00", State: "done"}}}
}

func adminCalendarSample() AdminCalendar {
	work := AdminDayKind{Kind: "workday", Label: "工作日", Working: true}
	hol := AdminDayKind{Kind: "holiday", Label: "法定节假日", Name: "国庆节"}
	vac := AdminDayKind{Kind: "vacation", Label: "假期", Name: "2027 年寒假"}
	mk := AdminDayKind{Kind: "makeup_workday", Label: "调休上班", Name: "国庆节", Working: true}
	p := AdminCalendarPeriod{ID: 3, Name: "2027 年寒假", Kind: "vacation", Start: "2027-01-18", End: "2027-02-26", Audience: "students", CreatedBy: "admin01", Added: "2026-11-30 10:00", Days: 40}
	return AdminCalendar{AdminPage: adminPage("校历", "/admin/calendar"), From: "2026-09-30", Prev: "2026-08-01", Next: "2026-11-29",
		Days: []AdminCalendarDay{{Date: "2026-09-30", Weekday: "周三", All: work, Students: vac, Faculty: work}, {Date: "2026-10-01", Weekday: "周四", All: hol, Students: hol, Faculty: hol},
			{Date: "2026-10-10", Weekday: "周六", All: mk, Students: mk, Faculty: mk}, {Date: "2028-01-03", Weekday: "周一", All: AdminDayKind{Kind: "workday", Label: "工作日", Working: true, Guessed: true}}},
		Periods: []AdminCalendarPeriod{p}, Edit: &p, Delete: &p, FieldError: map[string]string{"end": "结束日期早于开始日期"}, FirstYear: 2002, LastYear: 2027, Uncovered: []int{2028}}
}

func hallAppRowSample() HallAppRow {
	return HallAppRow{ID: 42, Href: "/hall/a/42", Process: "学生请假", Summary: []HallKV{{Key: "leave_type", Label: "请假类型", Value: "事假"}, {Key: "leave", Label: "请假时间", Value: "2026-12-07 至 2026-12-11，共 5 天"}},
		State: "submitted", StateName: "审批中", StateClass: "wait", Step: "学院党委副书记审批", Applicant: "王小明", Date: "2026-12-02 09:30"}
}

func hallHomeSample(pg Page) HallHome {
	pg.Title, pg.Flash = "网上服务大厅", "已提交申请"
	done := hallAppRowSample()
	done.ID, done.Href, done.State, done.StateName, done.StateClass, done.Step = 41, "/hall/a/41", "approved", "已通过", "ok", ""
	return HallHome{Page: pg, Processes: []HallProcess{{Key: "student_leave", Name: "学生请假", Description: "学生因事、因病离校时申请请假。", Href: "/hall/apply/student_leave", Audience: "学生"},
		{Key: "vpn_open", Name: "VPN开通", Href: "/hall/apply/vpn_open", Audience: "校内师生"}}, Apps: []HallAppRow{hallAppRowSample(), done}, AllApps: 7, OpenTasks: 3}
}

func hallApplySample(pg Page) HallApply {
	pg.Title, pg.Error = "学生请假", "有 1 项需要修改，请看下面标红的地方。"
	return HallApply{Page: pg, Key: "student_leave", Name: "学生请假", Description: "请假 3 天以内由辅导员审批。", Action: "/hall/apply/student_leave",
		Token: "0123456789abcdef0123456789abcdef", Back: "/hall/", Fields: []HallField{
			{Key: "leave_type", Label: "请假类型", Type: "choice", Required: true, Options: []HallOption{{Value: "事假", Checked: true}, {Value: "病假"}}},
			{Key: "campus", Label: "校区", Type: "choice", Select: true, Options: []HallOption{{Value: "东校区"}, {Value: "西校区", Checked: true}}},
			{Key: "items", Label: "材料", Type: "choice", Multiple: true, Options: []HallOption{{Value: "证明"}, {Value: "通知", Checked: true}}},
			{Key: "leave", Label: "请假时间", Type: "daterange", Required: true, Start: "2026-12-07", End: "2026-12-11", Days: 5, MaxDays: "366", MinDays: "1", Help: "含开始和结束当天"},
			{Key: "reason", Label: "请假事由", Type: "textarea", Required: true, MaxLength: 500, Error: "请填写请假事由"},
			{Key: "destination", Label: "去向", Type: "text", MaxLength: 100, Value: "上海"},
			{Key: "days", Label: "天数", Type: "number", Min: "1", Max: "30", Step: "1", InputMode: "numeric", Value: "5"},
			{Key: "back", Label: "返校日期", Type: "date", Value: "2026-12-12"},
			{Key: "teacher", Label: "导师", Type: "person", Pattern: `[A-Za-z0-9_.@\-]{1,64}`, Value: "T2019001"},
			{Key: "dept", Label: "部门", Type: "department", Pattern: "[0-9]{1,12}", InputMode: "numeric", Value: "12"},
			{Key: "attachment", Label: "附件", Type: "attachment", Files: []HallFile{{Token: "tok1", Name: "医院证明.pdf", Href: "/hall/files/tok1"}}},
			{Key: "phone", Label: "紧急联系人电话", Type: "phone", Required: true, Pattern: `(\+?86)?1[3-9][0-9]{9}`, Value: "13800138000"},
			{Key: "id_number", Label: "身份证号", Type: "idnumber", Pattern: "[0-9]{17}[0-9Xx]", Value: "11010519491231002X"},
		}}
}

func hallMySample(pg Page) HallMy {
	pg.Title = "我的申请"
	return HallMy{Page: pg, State: "submitted", Filters: []HallFilter{{Key: "", Name: "全部", Href: "/hall/my"}, {Key: "submitted", Name: "审批中", Href: "/hall/my?state=submitted", Current: true}},
		Apps: []HallAppRow{hallAppRowSample()}}
}

func hallTaskRowSample() HallTaskRow {
	return HallTaskRow{ID: 7, Anchor: "task-7", Step: "辅导员审批", Assignee: "T2019001", AssigneeName: "王建国", State: "open", StateName: "待审批", StateClass: "wait",
		Opened: "2026-12-02 09:30", Due: "2026-12-03 09:30", Overdue: true, Mine: true, Open: true, Comment: "请补充材料",
		DecideURL: "/hall/tasks/7/decide", TransferURL: "/hall/tasks/7/transfer", AddURL: "/hall/tasks/7/add"}
}

func hallAppSample(pg Page) HallApp {
	pg.Title = "学生请假"
	t := hallTaskRowSample()
	done := t
	done.ID, done.Anchor, done.State, done.StateName, done.StateClass, done.Open, done.Mine, done.Overdue, done.Decided = 6, "task-6", "approved", "已同意", "ok", false, false, false, "2026-12-02 10:00"
	return HallApp{Page: pg, App: hallAppRowSample(), Values: []HallKV{{Key: "reason", Label: "请假事由", Value: "回家"}, {Key: "phone", Label: "紧急联系人电话", Value: "138****8000"},
		{Key: "attachment", Label: "附件", Value: "1 个文件", Files: []HallFile{{Token: "tok1", Name: "医院证明.pdf", Href: "/hall/files/tok1"}}}},
		Tasks: []HallTaskRow{done, t}, Trail: []HallEntry{{At: "2026-12-02 09:30", Who: "王小明", Action: "提交申请"}, {At: "2026-12-02 10:00", Who: "王建国", Action: "同意", Comment: "同意"}},
		Applicant: true, CanWithdraw: true, CanUrge: true, Urged: true, UrgeNote: "已催办，10:30 后可以再次催办", CanConfirm: true, CanResubmit: true, ResubmitHref: "/hall/a/42/resubmit",
		WithdrawURL: "/hall/a/42/withdraw", UrgeURL: "/hall/a/42/urge", ConfirmURL: "/hall/a/42/confirm", Confirmed: "2026-12-12 08:00", MyTasks: []HallTaskRow{t}, Back: "/hall/my"}
}

func hallTasksSample(pg Page) HallTasks {
	pg.Title = "我的待办"
	return HallTasks{Page: pg, Open: true, OpenCount: 1, Items: []HallTaskItem{{Task: hallTaskRowSample(), App: hallAppRowSample(), Href: "/hall/a/42#task-7"}}}
}
