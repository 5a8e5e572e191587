package handler

import (
	"errors"
	"github.com/wecomapp/wecomapp/guest"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/workbench"
)

// The H5 pages a member opens from WeCom: their workbench, its modules and
// the campus overview. Every page needs a session; requireMember sends
// anyone without one to sign in.

const principalKey = "wecomapp.principal"

// requireMember lets a request through only with a live session; the
// others go to sign-in (OAuth inside WeCom, the chooser on a PC). A forged
// or expired cookie is simply no session.
func (s *server) requireMember(c *gin.Context) {
	p, ok := s.Sessions.Current(c.Request.Context())
	if ok && guest.IsGuest(p) {
		// A guest proved a phone number, not membership: the workbench,
		// messages and console are not theirs. Signing in as a member
		// replaces the guest's session.
		ok = false
	}
	s.admit(c, p, ok, nil)
}

// admit lets the request through as p; without a session (ok false) it
// sends a page request to sign in — to the guest sign-in when toGuest
// says so, else the member sign-in — and a form post to /login.
func (s *server) admit(c *gin.Context, p auth.Principal, ok bool, toGuest func() bool) {
	if !ok {
		get := c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead
		switch {
		case get && toGuest != nil && toGuest():
			c.Redirect(http.StatusFound, "/guest/login?return="+url.QueryEscape(auth.SafeReturnTo(withoutOAuthParams(c.Request.URL))))
		case get:
			c.Redirect(http.StatusFound, signInURL(c.Request))
		default:
			c.Redirect(http.StatusSeeOther, "/login")
		}
		c.Abort()
		return
	}
	if cameFromOAuth(c.Request) {
		// Signed in already: drop the code WeCom put on the home URL, so it
		// is not bookmarked or leaked through Referer.
		c.Redirect(http.StatusFound, withoutOAuthParams(c.Request.URL))
		c.Abort()
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

func principal(c *gin.Context) auth.Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(auth.Principal)
	return pr
}

// page is the frame every page shares.
func (s *server) page(c *gin.Context, title string) h5.Page {
	pg := h5.Page{Title: title, InWeChat: clientOf(c.Request) == clientWeChat, SimPublic: s.SimulatorPublic}
	if p, ok := c.Get(principalKey); ok {
		pr := p.(auth.Principal)
		pg.Me = &h5.Me{UserID: pr.UserID, Name: pr.Name}
	}
	pg.Flash = c.Query("flash")
	return pg
}

func appHomeView(pg h5.Page, h *workbench.Home) h5.AppHome {
	v := h5.AppHome{Page: pg, WorkbenchName: h.WorkbenchName}
	if v.Me != nil {
		v.Me.Name = h.Person.Name
		v.Me.Identity = h.Current.Name
	}
	for _, id := range h.Identities {
		v.Identities = append(v.Identities, h5.Identity{Role: id.Role, Name: id.Name, Detail: id.Detail, Current: id.Role == h.Current.Role})
	}
	for _, sec := range h.Sections {
		hs := h5.Section{Title: sec.Title}
		for _, t := range sec.Tiles {
			hs.Tiles = append(hs.Tiles, tileView(t))
			v.CampusLink = v.CampusLink || t.Module == "campus"
		}
		v.Sections = append(v.Sections, hs)
	}
	for _, t := range h.Favourites {
		v.Favourites = append(v.Favourites, tileView(t))
	}
	for _, t := range h.Recent {
		v.Recent = append(v.Recent, tileView(t))
	}
	return v
}

func tileView(t workbench.Tile) h5.Tile {
	return h5.Tile{Module: t.Module, Name: t.Name, Icon: t.Icon, Category: t.Category, Summary: t.Summary, Href: t.Href,
		Status: t.Status, Badge: t.Badge, BadgeUnavailable: t.BadgeUnavailable, Favourite: t.Favourite,
		Figure: t.Figure, FigureUnavailable: t.FigureUnavailable}
}

// appHome is the workbench of the identity the person acts as.
func (s *server) appHome(c *gin.Context) error {
	p := principal(c)
	h, err := s.Workbench.Home(c.Request.Context(), p.UserID, "")
	if errors.Is(err, workbench.ErrNotMember) {
		// Left our records since signing in.
		return s.join(c, "unknown")
	}
	if err != nil {
		return err
	}
	v := appHomeView(s.page(c, h.WorkbenchName), h)
	if v.Me != nil {
		v.Me.Admin = s.isAdmin(c, p.UserID)
	}
	return s.render(c, http.StatusOK, "app_home", v)
}

// appIdentity switches the identity the person acts as; the choice is
// remembered for their next visit.
func (s *server) appIdentity(c *gin.Context) error {
	p := principal(c)
	role := c.PostForm("role")
	err := s.Workbench.SetIdentity(c.Request.Context(), p.UserID, role)
	if errors.Is(err, workbench.ErrNotHeld) {
		return badRequest{"you do not hold the identity " + role}
	}
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/app/")
	return nil
}

// appFavourite stars or unstars a module.
func (s *server) appFavourite(c *gin.Context) error {
	p := principal(c)
	module := c.PostForm("module")
	on := c.PostForm("on") != "0"
	ctx := c.Request.Context()
	// Only a module on the person's own workbench can be a favourite.
	if _, err := s.Workbench.Module(ctx, p.UserID, "", module); errors.Is(err, workbench.ErrNotVisible) {
		return badRequest{"module " + module + " is not on your workbench"}
	} else if err != nil {
		return err
	}
	if err := s.Workbench.Favourite(ctx, p.UserID, module, on); err != nil {
		return err
	}
	ret := auth.SafeReturnTo(c.PostForm("return"))
	if ret == "/" {
		ret = "/app/"
	}
	c.Redirect(http.StatusSeeOther, ret)
	return nil
}

// appSearch filters the person's tiles.
func (s *server) appSearch(c *gin.Context) error {
	p := principal(c)
	h, err := s.Workbench.Home(c.Request.Context(), p.UserID, "")
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.Query("q"))
	v := h5.AppSearch{Page: s.page(c, "搜索"), Query: q}
	if v.Me != nil {
		v.Me.Name, v.Me.Identity = h.Person.Name, h.Current.Name
	}
	if q != "" {
		for _, t := range workbench.Search(h, q) {
			v.Results = append(v.Results, tileView(t))
		}
	}
	return s.render(c, http.StatusOK, "app_search", v)
}

// moduleArrives says which capability brings a "coming soon" module to life.
func moduleArrives(m workbench.Module) string {
	switch {
	case m.Kind == "process" || m.Category == "网上服务大厅":
		return "网上服务大厅上线后"
	case m.Category == "消息中心":
		return "消息中心上线后"
	default:
		return "对接共享数据库后"
	}
}

// myModule is module key of the signed-in person's current workbench; a
// module not on it is not found, however the URL was guessed.
func (s *server) myModule(c *gin.Context, key string) (workbench.Module, error) {
	m, err := s.Workbench.Module(c.Request.Context(), principal(c).UserID, "", key)
	if errors.Is(err, workbench.ErrNotVisible) {
		return m, store.ErrNotFound
	}
	return m, err
}

// appModule opens a module of the person's current workbench; a module
// not on it is not found, however the URL was guessed.
func (s *server) appModule(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	key := c.Param("key")
	m, err := s.myModule(c, key)
	if err != nil {
		return err
	}
	if err := s.Workbench.Used(ctx, p.UserID, key); err != nil {
		return err
	}
	t := h5.Tile{Module: m.Key, Name: m.Name, Icon: m.Icon, Category: m.Category, Summary: m.Summary, Status: m.Status,
		Href: "/app/m/" + url.PathEscape(key)}
	if h, err := s.Workbench.Preview(ctx, p.UserID, ""); err == nil {
		for _, f := range h.Favourites {
			t.Favourite = t.Favourite || f.Module == key
		}
	}
	if m.Kind == "external" && m.Status != "soon" {
		c.Redirect(http.StatusFound, "/app/go/"+url.PathEscape(key))
		return nil
	}
	if h := m.HallHref(); h != "" {
		// Counted as used above: on to the process's form.
		c.Redirect(http.StatusFound, h)
		return nil
	}
	if m.Status == "soon" {
		return s.render(c, http.StatusOK, "app_soon", h5.AppSoon{Page: s.page(c, m.Name), Tile: t, Arrives: moduleArrives(m)})
	}
	if m.Key == "campus" {
		return s.appCampus(c)
	}
	if handled, err := s.appDataModule(c, m, t); handled {
		return err // a data module's list (data.go)
	}
	return s.render(c, http.StatusOK, "app_module", h5.AppModule{Page: s.page(c, m.Name), Tile: t, Body: paragraphs(m.Summary)})
}

// appGo opens an external system with a one-time sign-on ticket it can
// validate at /sso/serviceValidate (CAS protocol).
func (s *server) appGo(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	key := c.Param("key")
	m, err := s.myModule(c, key)
	if err != nil {
		return err
	}
	if m.Kind != workbench.ModuleExternal {
		return store.ErrNotFound
	}
	if err := s.Workbench.Used(ctx, p.UserID, key); err != nil {
		return err
	}
	ticket, err := s.Sessions.IssueTicket(ctx, p.UserID, m.Target)
	if err != nil {
		return err
	}
	sep := "?"
	if strings.Contains(m.Target, "?") {
		sep = "&"
	}
	c.Redirect(http.StatusFound, m.Target+sep+"ticket="+url.QueryEscape(ticket))
	return nil
}

// appCampus is the campus overview: its sections, notices and news.
func (s *server) appCampus(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	items, err := s.Workbench.Campus(ctx)
	if err != nil {
		return err
	}
	v := h5.AppCampus{Page: s.page(c, "校园概况")}
	for _, it := range items {
		ci := contentView(it)
		switch it.Kind {
		case "notice":
			v.Notices = append(v.Notices, ci)
		case "news":
			v.News = append(v.News, ci)
		default:
			v.Sections = append(v.Sections, ci)
		}
	}
	// Seeing the list of notices is reading them, for the badge.
	if err := s.Workbench.MarkNoticesRead(ctx, p.UserID); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "app_campus", v)
}

func contentView(it workbench.Content) h5.ContentItem {
	ci := h5.ContentItem{Key: it.Key, Kind: it.Kind, Title: it.Title, Href: "/app/campus/" + url.PathEscape(it.Key), Body: paragraphs(it.Body)}
	if !it.Published.IsZero() {
		ci.Published = it.Published.Format("2006-01-02")
	}
	return ci
}

// appContent is one campus-overview item.
func (s *server) appContent(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	// The campus overview is a module like any other: only those whose
	// workbench shows it may read it.
	if _, err := s.Workbench.Module(ctx, p.UserID, "", "campus"); errors.Is(err, workbench.ErrNotVisible) {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	it, err := s.Workbench.ContentItem(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "app_content", h5.AppContent{Page: s.page(c, it.Title), Item: contentView(it)})
}

// paragraphs splits text at blank lines.
func paragraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
