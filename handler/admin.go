package handler

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/workbench"
)

// The admin console: PC pages behind the same sign-in, each needing a
// permission from the person's admin grants. Every change goes through a
// domain method that writes its audit row in the same transaction.

const grantsKey = "wecomapp.grants"

// requireAdmin lets through people holding any admin grant; each page then
// checks its own permission.
func (s *server) requireAdmin(c *gin.Context) {
	p := principal(c)
	gs, err := s.Admins.Grants(c.Request.Context(), p.UserID)
	if err != nil {
		s.respondError(c, err)
		c.Abort()
		return
	}
	if len(gs) == 0 {
		_ = s.render(c, http.StatusForbidden, "app_error", h5.AppError{Page: s.page(c, "没有权限"), Status: http.StatusForbidden,
			Message: "管理后台只对管理员开放。需要权限请联系教育信息中心。"})
		c.Abort()
		return
	}
	c.Set(grantsKey, gs)
	c.Next()
}

func (s *server) isAdmin(c *gin.Context, userID string) bool {
	if s.Admins == nil {
		return false
	}
	gs, err := s.Admins.Grants(c.Request.Context(), userID)
	return err == nil && len(gs) > 0
}

// forbidden is an admin page the person's grants do not cover.
type forbidden struct{ perm auth.Perm }

func (e forbidden) Error() string { return "admin: not allowed: " + string(e.perm) }

func (s *server) may(c *gin.Context, perm auth.Perm) error {
	gs, _ := c.Get(grantsKey)
	grants, _ := gs.([]auth.Grant)
	if !auth.Allowed(grants, perm) {
		return forbidden{perm}
	}
	return nil
}

// workbenchScope is how far the admin may shape workbenches: everywhere
// (super admin), or, for a department admin, only tiles shown to the people
// of their departments (workbench.ScopedVisible).
func workbenchScope(c *gin.Context) (all bool, depts []string) {
	gs, _ := c.Get(grantsKey)
	grants, _ := gs.([]auth.Grant)
	return auth.Scope(grants, auth.PermWorkbench)
}

// mayShapeCatalog: creating workbenches and sections, and editing modules,
// change what everyone sees; a department admin adds tiles instead.
func (s *server) mayShapeCatalog(c *gin.Context) error {
	if all, _ := workbenchScope(c); !all {
		return forbidden{auth.PermWorkbench}
	}
	return nil
}

// scopedTile checks that a department admin may change the tile id of
// workbench key: one made for exactly their departments.
func (s *server) scopedTile(c *gin.Context, key string, id int64) error {
	all, depts := workbenchScope(c)
	if all {
		return nil
	}
	def, err := s.Workbench.WorkbenchDef(c.Request.Context(), key)
	if err != nil {
		return err
	}
	for _, sec := range def.Sections {
		for _, t := range sec.Tiles {
			if t.ID == id && workbench.InScope(depts, t.Visible) {
				return nil
			}
		}
	}
	return &workbench.ValidationError{Field: fmt.Sprintf("tile:%d:visible", id), Msg: "这个应用不是为你的部门添加的，部门管理员只能修改自己部门的应用"}
}

func actor(c *gin.Context) store.Actor {
	return store.Actor{UserID: principal(c).UserID, IP: c.ClientIP(), UserAgent: c.Request.UserAgent()}
}

// adminNav is the console's navigation, each page with the permission it
// needs ("" for the overview, which every admin sees). Later issues add
// their pages here.
var adminNav = []struct {
	href, name string
	perm       auth.Perm
}{
	{"/admin/", "概览", ""}, {"/admin/roles", "角色与规则", auth.PermRoles}, {"/admin/workbenches", "工作台", auth.PermWorkbench},
	{"/admin/modules", "功能模块", auth.PermWorkbench}, {"/admin/preview", "以他人身份预览", auth.PermWorkbench},
	{"/admin/content", "校园概况内容", auth.PermContent}, {"/admin/grants", "管理员", auth.PermGrants}, {"/admin/audit", "操作日志", auth.PermAudit},
	{"/admin/sync", "通讯录同步", auth.PermContacts}, {"/admin/tagrules", "标签规则", auth.PermContacts},
	{"/admin/messages", "消息群发", auth.PermMessage}, {"/admin/reminders", "定时提醒", auth.PermMessage}, {"/admin/channels", "微信插件成员", auth.PermMessage}, {"/admin/calendar", "校历", auth.PermMessage},
	{adminHallHref, "网上办事大厅", auth.PermHall},
	{"/admin/attendance", "考勤统计", auth.PermAttendance},
	{adminDataHref, "数据模块", authPermData},
}

func (s *server) adminPage(c *gin.Context, title, active string) h5.AdminPage {
	ap := h5.AdminPage{Page: s.page(c, title)}
	if ap.Me != nil {
		ap.Me.Admin = true
	}
	for _, n := range adminNav {
		// Each admin sees the pages their grants open.
		if n.perm == "" || s.may(c, n.perm) == nil {
			ap.Nav = append(ap.Nav, h5.AdminNavItem{Href: n.href, Name: n.name, Active: n.href == active})
		}
	}
	ap.Error = c.Query("error")
	return ap
}

// saved redirects after a successful change, with a flash message.
func saved(c *gin.Context, to, msg string) error {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	c.Redirect(http.StatusSeeOther, to+sep+"flash="+url.QueryEscape(msg))
	return nil
}

// fieldErrors turns a domain validation error into messages by field, or
// returns err unchanged when it is something else.
func fieldErrors(err error) (map[string]string, error) {
	var ve *workbench.ValidationError
	if errors.As(err, &ve) {
		return map[string]string{ve.Field: ve.Msg}, nil
	}
	var ge *auth.GrantError
	if errors.As(err, &ge) {
		return map[string]string{ge.Field: ge.Msg}, nil
	}
	return nil, err
}

func auditRow(e store.AuditEntry) h5.AuditRow {
	// "null" is how the log says the object did not exist (yet, or any more).
	for _, v := range []*string{&e.Before, &e.After} {
		if *v == "null" {
			*v = "（无）"
		}
	}
	return h5.AuditRow{ID: e.ID, At: e.At.Local().Format("2006-01-02 15:04:05"), Actor: e.Actor, Action: e.Action, Object: e.Object,
		Before: e.Before, After: e.After, IP: e.IP}
}

func (s *server) adminHome(c *gin.Context) error {
	ctx := c.Request.Context()
	v := h5.AdminHome{AdminPage: s.adminPage(c, "概览", "/admin/"), Open: map[string]bool{}}
	for _, n := range v.Nav {
		v.Open[n.Href] = true
	}
	var err error
	if v.Roles, v.Workbenches, v.Modules, err = s.Workbench.Counts(ctx); err != nil {
		return err
	}
	gs, err := s.Admins.List(ctx)
	if err != nil {
		return err
	}
	v.Grants = len(gs)
	if s.may(c, auth.PermAudit) == nil {
		rows, err := s.DB.ListAudit(ctx, store.AuditFilter{Limit: 10})
		if err != nil {
			return err
		}
		for _, r := range rows {
			v.RecentAudit = append(v.RecentAudit, auditRow(r))
		}
	}
	return s.render(c, http.StatusOK, "admin_home", v)
}

func adminRole(r workbench.Role) h5.AdminRole {
	return h5.AdminRole{Key: r.Key, Name: r.Name, Identity: r.Identity, Rule: r.Rule, Workbench: r.Workbench, Priority: r.Priority, Enabled: r.Enabled, Held: -1}
}

func (s *server) adminRoles(c *gin.Context) error {
	if err := s.may(c, auth.PermRoles); err != nil {
		return err
	}
	return s.renderRoles(c, http.StatusOK, nil, nil)
}

func (s *server) renderRoles(c *gin.Context, status int, edit *h5.AdminRole, fe map[string]string) error {
	roles, err := s.Workbench.Roles(c.Request.Context())
	if err != nil {
		return err
	}
	v := h5.AdminRoles{AdminPage: s.adminPage(c, "角色与规则", "/admin/roles"), Edit: edit, FieldError: fe}
	holders, err := s.Workbench.Holders(c.Request.Context())
	if err != nil {
		// The count is a help, not the page: show "—".
		logctx.L(c.Request.Context(), s.log).Warn("role holders not counted", zap.Error(err))
	}
	for _, r := range roles {
		ar := adminRole(r)
		if holders != nil {
			ar.Held = holders[r.Key]
		}
		v.Roles = append(v.Roles, ar)
		if edit == nil && c.Query("edit") == r.Key {
			v.Edit = &ar
		}
	}
	if edit == nil && c.Query("edit") == "new" {
		v.Edit = &h5.AdminRole{Enabled: true, Held: -1}
	}
	return s.render(c, status, "admin_roles", v)
}

func (s *server) adminSaveRole(c *gin.Context) error {
	if err := s.may(c, auth.PermRoles); err != nil {
		return err
	}
	prio, err := strconv.Atoi(strings.TrimSpace(c.PostForm("priority")))
	r := workbench.Role{Key: strings.TrimSpace(c.PostForm("key")), Name: strings.TrimSpace(c.PostForm("name")), Identity: c.PostForm("identity"),
		Rule: strings.TrimSpace(c.PostForm("rule")), Workbench: strings.TrimSpace(c.PostForm("workbench")), Priority: prio, Enabled: c.PostForm("enabled") != ""}
	edit := adminRole(r)
	if err != nil {
		return s.renderRoles(c, http.StatusBadRequest, &edit, map[string]string{"priority": "优先级必须是整数"})
	}
	if err := s.Workbench.SaveRole(c.Request.Context(), actor(c), r); err != nil {
		fe, err := fieldErrors(err)
		if err != nil {
			return err
		}
		return s.renderRoles(c, http.StatusBadRequest, &edit, fe)
	}
	return saved(c, "/admin/roles", "已保存角色 "+r.Name)
}

func (s *server) adminWorkbenches(c *gin.Context) error {
	if err := s.may(c, auth.PermWorkbench); err != nil {
		return err
	}
	wbs, err := s.Workbench.Workbenches(c.Request.Context())
	if err != nil {
		return err
	}
	v := h5.AdminWorkbenches{AdminPage: s.adminPage(c, "工作台", "/admin/workbenches")}
	for _, w := range wbs {
		row := h5.AdminWorkbenchRow{Key: w.Key, Name: w.Name, Sections: len(w.Sections)}
		for _, sec := range w.Sections {
			row.Tiles += len(sec.Tiles)
		}
		v.Workbenches = append(v.Workbenches, row)
	}
	return s.render(c, http.StatusOK, "admin_workbenches", v)
}

// adminSaveWorkbench creates a workbench (key and name from the form) or
// renames the one in the path.
func (s *server) adminSaveWorkbench(c *gin.Context) error {
	if err := s.may(c, auth.PermWorkbench); err != nil {
		return err
	}
	if err := s.mayShapeCatalog(c); err != nil {
		return err
	}
	key := c.Param("key")
	if key == "" {
		key = strings.TrimSpace(c.PostForm("key"))
	}
	if err := s.Workbench.SaveWorkbench(c.Request.Context(), actor(c), key, c.PostForm("name")); err != nil {
		var ve *workbench.ValidationError
		if errors.As(err, &ve) {
			return badRequest{"工作台" + ve.Field + "：" + ve.Msg}
		}
		return err
	}
	return saved(c, "/admin/workbenches/"+url.PathEscape(key), "已保存工作台 "+strings.TrimSpace(c.PostForm("name")))
}

func (s *server) adminWorkbench(c *gin.Context) error {
	if err := s.may(c, auth.PermWorkbench); err != nil {
		return err
	}
	return s.renderWorkbench(c, http.StatusOK, nil)
}

func (s *server) renderWorkbench(c *gin.Context, status int, fe map[string]string) error {
	ctx := c.Request.Context()
	w, err := s.Workbench.WorkbenchDef(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	mods, err := s.Workbench.Modules(ctx)
	if err != nil {
		return err
	}
	byKey := map[string]workbench.Module{}
	v := h5.AdminWorkbench{AdminPage: s.adminPage(c, w.Name, "/admin/workbenches"), Key: w.Key, Name: w.Name, FieldError: fe}
	for _, m := range mods {
		byKey[m.Key] = m
		v.Modules = append(v.Modules, h5.AdminModuleOption{Key: m.Key, Name: m.Name})
	}
	for _, sec := range w.Sections {
		as := h5.AdminSection{ID: sec.ID, Title: sec.Title, Sort: sec.Sort}
		for _, t := range sec.Tiles {
			m := byKey[t.Module]
			as.Tiles = append(as.Tiles, h5.AdminTile{ID: t.ID, Module: t.Module, ModuleName: m.Name, Icon: m.Icon, Visible: t.Visible, Sort: t.Sort})
		}
		v.Sections = append(v.Sections, as)
	}
	return s.render(c, status, "admin_workbench", v)
}

// adminWorkbenchChange runs one edit of a workbench and answers with the
// page again: a redirect when it worked, the form with what is wrong when
// it did not.
func (s *server) adminWorkbenchChange(c *gin.Context, fn func(key string, a store.Actor) (string, error)) error {
	if err := s.may(c, auth.PermWorkbench); err != nil {
		return err
	}
	key := c.Param("key")
	msg, err := fn(key, actor(c))
	if err != nil {
		fe, err := fieldErrors(err)
		if err != nil {
			return err
		}
		return s.renderWorkbench(c, http.StatusBadRequest, fe)
	}
	return saved(c, "/admin/workbenches/"+url.PathEscape(key), msg)
}

func formID(c *gin.Context, name string) (int64, error) {
	raw := c.Param(name)
	if raw == "" {
		raw = c.PostForm(name)
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest{fmt.Sprintf("%s %q is not an id", name, raw)}
	}
	return id, nil
}

func formSort(c *gin.Context) (int, error) {
	raw := strings.TrimSpace(c.PostForm("sort"))
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, &workbench.ValidationError{Field: "sort", Msg: "排序必须是整数"}
	}
	return n, nil
}

func (s *server) adminAddSection(c *gin.Context) error {
	if err := s.mayShapeCatalog(c); err != nil {
		return err
	}
	return s.adminWorkbenchChange(c, func(key string, a store.Actor) (string, error) {
		_, err := s.Workbench.AddSection(c.Request.Context(), a, key, strings.TrimSpace(c.PostForm("title")))
		return "已添加分组", err
	})
}

func (s *server) adminSaveSection(c *gin.Context) error {
	if err := s.mayShapeCatalog(c); err != nil {
		return err
	}
	return s.adminWorkbenchChange(c, func(key string, a store.Actor) (string, error) {
		id, err := formID(c, "id")
		if err != nil {
			return "", err
		}
		sort, err := formSort(c)
		if err != nil {
			return "", err
		}
		return "已保存分组", s.Workbench.SaveSection(c.Request.Context(), a, key, workbench.SectionDef{ID: id, Title: strings.TrimSpace(c.PostForm("title")), Sort: sort})
	})
}

func (s *server) adminDeleteSection(c *gin.Context) error {
	if err := s.mayShapeCatalog(c); err != nil {
		return err
	}
	return s.adminWorkbenchChange(c, func(key string, a store.Actor) (string, error) {
		id, err := formID(c, "id")
		if err != nil {
			return "", err
		}
		return "已删除分组", s.Workbench.DeleteSection(c.Request.Context(), a, key, id)
	})
}

func (s *server) adminAddTile(c *gin.Context) error {
	return s.adminWorkbenchChange(c, func(key string, a store.Actor) (string, error) {
		sec, err := formID(c, "section")
		if err != nil {
			return "", err
		}
		visible := strings.TrimSpace(c.PostForm("visible"))
		if all, depts := workbenchScope(c); !all {
			visible = workbench.ScopedVisible(depts, visible)
		}
		_, err = s.Workbench.AddTile(c.Request.Context(), a, key, sec, c.PostForm("module"), visible)
		return "已添加磁贴", err
	})
}

func (s *server) adminSaveTile(c *gin.Context) error {
	return s.adminWorkbenchChange(c, func(key string, a store.Actor) (string, error) {
		id, err := formID(c, "id")
		if err != nil {
			return "", err
		}
		sort, err := formSort(c)
		if err != nil {
			return "", err
		}
		if err := s.scopedTile(c, key, id); err != nil {
			return "", err
		}
		visible := strings.TrimSpace(c.PostForm("visible"))
		if all, depts := workbenchScope(c); !all && !workbench.InScope(depts, visible) {
			visible = workbench.ScopedVisible(depts, visible)
		}
		return "已保存磁贴", s.Workbench.SaveTile(c.Request.Context(), a, key, workbench.TileDef{ID: id, Module: c.PostForm("module"), Visible: visible, Sort: sort})
	})
}

func (s *server) adminDeleteTile(c *gin.Context) error {
	return s.adminWorkbenchChange(c, func(key string, a store.Actor) (string, error) {
		id, err := formID(c, "id")
		if err != nil {
			return "", err
		}
		if err := s.scopedTile(c, key, id); err != nil {
			return "", err
		}
		return "已删除磁贴", s.Workbench.DeleteTile(c.Request.Context(), a, key, id)
	})
}

func (s *server) adminModules(c *gin.Context) error {
	if err := s.may(c, auth.PermWorkbench); err != nil {
		return err
	}
	return s.renderModules(c, http.StatusOK, nil, nil)
}

func moduleRow(m workbench.Module) h5.AdminModuleRow {
	return h5.AdminModuleRow{Key: m.Key, Name: m.Name, Category: m.Category, Kind: m.Kind, Target: m.Target,
		Icon: m.Icon, Badge: m.Badge, Status: m.Status, Summary: m.Summary, Keywords: strings.Join(m.Keywords, ",")}
}

func (s *server) renderModules(c *gin.Context, status int, edit *h5.AdminModuleRow, fe map[string]string) error {
	mods, err := s.Workbench.Modules(c.Request.Context())
	if err != nil {
		return err
	}
	v := h5.AdminModules{AdminPage: s.adminPage(c, "功能模块", "/admin/modules"), Edit: edit, FieldError: fe, Categories: workbench.Categories}
	for _, m := range mods {
		row := moduleRow(m)
		v.Modules = append(v.Modules, row)
		if edit == nil && c.Query("edit") == m.Key {
			v.Edit = &row
		}
	}
	return s.render(c, status, "admin_modules", v)
}

// adminSaveModule edits a module: its name, category, where it leads (a
// university's own OA or mail address), icon, badge source and status.
func (s *server) adminSaveModule(c *gin.Context) error {
	if err := s.may(c, auth.PermWorkbench); err != nil {
		return err
	}
	if err := s.mayShapeCatalog(c); err != nil {
		return err
	}
	ctx := c.Request.Context()
	key := c.PostForm("key")
	mods, err := s.Workbench.Modules(ctx)
	if err != nil {
		return err
	}
	var m workbench.Module
	for _, x := range mods {
		if x.Key == key {
			m = x
		}
	}
	if m.Key == "" {
		return store.ErrNotFound
	}
	m.Name, m.Category, m.Kind = strings.TrimSpace(c.PostForm("name")), c.PostForm("category"), c.PostForm("kind")
	m.Target, m.Icon, m.Badge = strings.TrimSpace(c.PostForm("target")), strings.TrimSpace(c.PostForm("icon")), strings.TrimSpace(c.PostForm("badge"))
	m.Status, m.Summary, m.Keywords = c.PostForm("status"), strings.TrimSpace(c.PostForm("summary")), splitList(c.PostForm("keywords"))
	if err := s.Workbench.SaveModule(ctx, actor(c), m); err != nil {
		fe, err := fieldErrors(err)
		if err != nil {
			return err
		}
		row := moduleRow(m)
		return s.renderModules(c, http.StatusBadRequest, &row, fe)
	}
	return saved(c, "/admin/modules", "已保存应用 "+m.Name)
}

// adminPreview renders a person's workbench as they would see it, without
// signing in as them or recording anything for them.
func (s *server) adminPreview(c *gin.Context) error {
	if err := s.may(c, auth.PermWorkbench); err != nil {
		return err
	}
	ctx := c.Request.Context()
	v := h5.AdminPreview{AdminPage: s.adminPage(c, "以他人身份预览", "/admin/preview"), UserID: strings.TrimSpace(c.Query("user")), Role: c.Query("role")}
	if v.UserID != "" {
		// A department admin previews only people of their departments: a
		// preview shows someone's identities.
		gs, _ := c.Get(grantsKey)
		if all, depts := auth.Scope(gs.([]auth.Grant), auth.PermWorkbench); !all {
			p, err := s.Workbench.Person(ctx, v.UserID)
			if err != nil && !errors.Is(err, workbench.ErrNotMember) {
				return err
			}
			if !inDepts(p, depts) {
				v.NotFound = true
				return s.render(c, http.StatusOK, "admin_preview", v)
			}
		}
		h, err := s.Workbench.Preview(ctx, v.UserID, v.Role)
		switch {
		case errors.Is(err, workbench.ErrNotMember):
			v.NotFound = true
		case errors.Is(err, workbench.ErrNotHeld):
			v.Error = v.UserID + " 没有身份 " + v.Role
		case err != nil:
			return err
		default:
			home := appHomeView(h5.Page{Title: h.WorkbenchName, Me: &h5.Me{UserID: v.UserID}}, h)
			v.Home = &home
			v.Identities = home.Identities
			v.Role = h.Current.Role
		}
	}
	return s.render(c, http.StatusOK, "admin_preview", v)
}

// inDepts: one of p's records is in (or under) one of depts.
func inDepts(p workbench.Person, depts []string) bool {
	for _, r := range p.Records {
		for _, d := range r.Env.Depts {
			if slices.Contains(depts, d) {
				return true
			}
		}
	}
	return false
}

func (s *server) adminContent(c *gin.Context) error {
	if err := s.may(c, auth.PermContent); err != nil {
		return err
	}
	items, err := s.Workbench.Campus(c.Request.Context())
	if err != nil {
		return err
	}
	v := h5.AdminContentList{AdminPage: s.adminPage(c, "校园概况内容", "/admin/content")}
	for _, it := range items {
		ci := contentView(it)
		ci.Href = "/admin/content/" + url.PathEscape(it.Key)
		v.Items = append(v.Items, ci)
	}
	return s.render(c, http.StatusOK, "admin_content", v)
}

func (s *server) adminContentEdit(c *gin.Context) error {
	if err := s.may(c, auth.PermContent); err != nil {
		return err
	}
	key := c.Param("key")
	var it workbench.Content
	if key != "new" {
		var err error
		if it, err = s.Workbench.ContentItem(c.Request.Context(), key); err != nil {
			return err
		}
	} else {
		it.Kind = "notice"
		it.Published = s.Now()
	}
	return s.renderContentEdit(c, http.StatusOK, it, nil)
}

func (s *server) renderContentEdit(c *gin.Context, status int, it workbench.Content, fe map[string]string) error {
	ci := contentView(it)
	ci.Href = "/admin/content/" + url.PathEscape(it.Key)
	if it.Key == "" {
		ci.Href = "/admin/content/new"
	}
	v := h5.AdminContentEdit{AdminPage: s.adminPage(c, "编辑 "+it.Title, "/admin/content"), Item: ci, BodyText: it.Body, FieldError: fe}
	return s.render(c, status, "admin_content_edit", v)
}

func (s *server) adminSaveContent(c *gin.Context) error {
	if err := s.may(c, auth.PermContent); err != nil {
		return err
	}
	key := c.Param("key")
	if key == "new" {
		key = strings.TrimSpace(c.PostForm("key"))
	}
	it := workbench.Content{Key: key, Kind: c.PostForm("kind"), Title: strings.TrimSpace(c.PostForm("title")), Body: c.PostForm("body")}
	if raw := strings.TrimSpace(c.PostForm("published")); raw != "" {
		t, err := time.ParseInLocation("2006-01-02", raw, time.Local)
		if err != nil {
			return s.renderContentEdit(c, http.StatusBadRequest, it, map[string]string{"published": "日期格式为 2006-01-02"})
		}
		it.Published = t
	}
	if err := s.Workbench.SaveContent(c.Request.Context(), actor(c), it); err != nil {
		fe, err := fieldErrors(err)
		if err != nil {
			return err
		}
		return s.renderContentEdit(c, http.StatusBadRequest, it, fe)
	}
	return saved(c, "/admin/content", "已保存 "+it.Title)
}

func (s *server) adminGrants(c *gin.Context) error {
	if err := s.may(c, auth.PermGrants); err != nil {
		return err
	}
	return s.renderGrants(c, http.StatusOK, nil)
}

func (s *server) renderGrants(c *gin.Context, status int, fe map[string]string) error {
	ctx := c.Request.Context()
	gs, err := s.Admins.List(ctx)
	if err != nil {
		return err
	}
	v := h5.AdminGrants{AdminPage: s.adminPage(c, "管理员", "/admin/grants"), FieldError: fe,
		Roles: []string{auth.AdminSuper, auth.AdminDept, auth.AdminSender, auth.AdminAuditor}}
	for _, g := range gs {
		ag := h5.AdminGrant{UserID: g.UserID, Role: g.Role, Depts: strings.Join(g.Depts, ","), GrantedBy: g.GrantedBy, GrantedAt: g.GrantedAt.Local().Format("2006-01-02 15:04")}
		if p, err := s.Workbench.Person(ctx, g.UserID); err == nil {
			ag.Name = p.Name
		}
		v.Grants = append(v.Grants, ag)
	}
	return s.render(c, status, "admin_grants", v)
}

func splitList(raw string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '，' }) {
		out = append(out, f)
	}
	return out
}

func (s *server) adminGrant(c *gin.Context) error {
	if err := s.may(c, auth.PermGrants); err != nil {
		return err
	}
	ctx := c.Request.Context()
	g := auth.Grant{UserID: strings.TrimSpace(c.PostForm("userid")), Role: c.PostForm("role"), Depts: splitList(c.PostForm("depts"))}
	if _, err := s.Workbench.Person(ctx, g.UserID); errors.Is(err, workbench.ErrNotMember) {
		return s.renderGrants(c, http.StatusBadRequest, map[string]string{"userid": "没有这个人：" + g.UserID})
	} else if err != nil {
		return err
	}
	if err := s.Admins.Grant(ctx, actor(c), g); err != nil {
		fe, err := fieldErrors(err)
		if err != nil {
			return err
		}
		return s.renderGrants(c, http.StatusBadRequest, fe)
	}
	return saved(c, "/admin/grants", "已授权 "+g.UserID)
}

func (s *server) adminRevoke(c *gin.Context) error {
	if err := s.may(c, auth.PermGrants); err != nil {
		return err
	}
	if err := s.Admins.Revoke(c.Request.Context(), actor(c), c.PostForm("userid"), c.PostForm("role")); err != nil {
		fe, err := fieldErrors(err)
		if err != nil {
			return err
		}
		return s.renderGrants(c, http.StatusBadRequest, fe)
	}
	return saved(c, "/admin/grants", "已撤销 "+c.PostForm("userid")+" 的 "+c.PostForm("role"))
}

func (s *server) adminAudit(c *gin.Context) error {
	if err := s.may(c, auth.PermAudit); err != nil {
		return err
	}
	f := store.AuditFilter{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")), Limit: 50}
	f.Before, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	rows, err := s.DB.ListAudit(c.Request.Context(), f)
	if err != nil {
		return err
	}
	v := h5.AdminAudit{AdminPage: s.adminPage(c, "操作日志", "/admin/audit"), Actor: f.Actor, Action: f.Action}
	for _, r := range rows {
		v.Rows = append(v.Rows, auditRow(r))
	}
	if len(rows) == f.Limit {
		v.Next = rows[len(rows)-1].ID
	}
	return s.render(c, http.StatusOK, "admin_audit", v)
}

// auditTx records an admin's action at at, in the transaction of the
// change it describes.
func (s *server) auditTx(c *gin.Context, tx sqlx.ExtContext, action, object string, before, after any, at time.Time) error {
	e, err := store.Audit(actor(c), action, object, before, after, at)
	if err != nil {
		return err
	}
	return s.DB.InsertAudit(c.Request.Context(), tx, e)
}
