package h5

// View structs: the handler fills them, the templates only read them.
// Every template renders with any of them at its zero value.

// Page is what every page has: its title, who is signed in and the banners.
type Page struct {
	Title string
	// Me is the person signed in, nil on pages seen before sign-in.
	Me           *Me
	Flash, Error string
	// InWeChat marks personal WeChat through the WeChat plugin: the same
	// pages, a body hook for the rare style difference.
	InWeChat bool
	// SimPublic is informational: the simulator banner itself comes from the
	// "simulator-public" block the handler fills in, so templates never print it twice.
	SimPublic bool
}

// Me is the person signed in.
type Me struct {
	UserID, Name string
	// Identity is the name of the role the person acts as.
	Identity string
	Admin    bool
}

// Identity is one entry of the identity switcher.
type Identity struct {
	Role, Name, Detail string
	Current            bool
}

// Tile is one module on a workbench.
type Tile struct {
	Module, Name, Icon, Category, Summary, Href, Status string
	Badge                                               int
	BadgeUnavailable, Favourite                         bool
	// Figure is the tile's key figure (a data module's "余额 ¥123.45");
	// FigureUnavailable: its source failed, the tile says 暂时无法使用.
	Figure            string
	FigureUnavailable bool
}

// Section is a titled group of tiles.
type Section struct {
	Title string
	Tiles []Tile
}

// AppHome is the workbench home (page app_home).
type AppHome struct {
	Page
	WorkbenchName      string
	Identities         []Identity
	Sections           []Section
	Favourites, Recent []Tile
	Query              string
	// CampusLink: the campus overview is on this workbench, so the home
	// links it beside the tiles.
	CampusLink bool
}

// AppSearch is the tile search results (page app_search).
type AppSearch struct {
	Page
	Query   string
	Results []Tile
}

// AppModule is a built-in module's page (page app_module).
type AppModule struct {
	Page
	Tile Tile
	// Body is the page text, one string per paragraph.
	Body []string
	// External is the deep link into the module's own system, if any.
	External string
}

// AppSoon is the honest "coming soon" page of a module whose capability
// arrives with a later release (page app_soon).
type AppSoon struct {
	Page
	Tile Tile
	// Arrives says when, e.g. "消息中心上线后".
	Arrives string
}

// ContentItem is one piece of campus content: a section, a notice or news.
type ContentItem struct {
	Key, Kind, Title, Href string
	Published              string
	Body                   []string
	Unread                 bool
}

// AppCampus is the campus overview module (page app_campus).
type AppCampus struct {
	Page
	Sections, Notices, News []ContentItem
}

// AppContent is one campus content item (page app_content).
type AppContent struct {
	Page
	Item ContentItem
}

// Join is the page for a visitor we cannot sign in (page join).
type Join struct {
	Page
	// Reason is "openid" (not a member of the corp) or "unknown" (a member
	// not in our records).
	Reason  string
	Contact string
}

// Login is the PC sign-in chooser (page login).
type Login struct {
	Page
	Return          string
	QRHref, CASHref string
	CASName         string
}

// SignedOut confirms sign-out (page signed_out).
type SignedOut struct {
	Page
	Everywhere bool
}

// AppError is an error page (page app_error).
type AppError struct {
	Page
	Status  int
	Message string
}

// AdminNavItem is one entry of the console's side navigation.
type AdminNavItem struct {
	Href, Name string
	Active     bool
}

// AdminPage is what every console page has.
type AdminPage struct {
	Page
	Nav []AdminNavItem
}

// AdminHome is the console's landing page (page admin_home).
type AdminHome struct {
	AdminPage
	Roles, Workbenches, Modules, Grants int
	RecentAudit                         []AuditRow
	// Open says which console pages (by href) the admin's grants open, so
	// the overview links only those.
	Open map[string]bool
}

// AdminRole is one role in the console.
type AdminRole struct {
	Key, Name, Identity, Rule, Workbench string
	Priority                             int
	Enabled                              bool
	// Held is how many people hold the role (demo), -1 when unknown.
	Held int
}

// AdminRoles lists roles and edits one (page admin_roles).
type AdminRoles struct {
	AdminPage
	Roles []AdminRole
	// Edit is the role in the form, nil for an empty "new role" form.
	Edit       *AdminRole
	FieldError map[string]string
}

// AdminWorkbenchRow is one workbench in the list.
type AdminWorkbenchRow struct {
	Key, Name       string
	Sections, Tiles int
}

// AdminWorkbenches lists workbenches (page admin_workbenches).
type AdminWorkbenches struct {
	AdminPage
	Workbenches []AdminWorkbenchRow
}

// AdminTile is one tile of a workbench being edited.
type AdminTile struct {
	ID                                int64
	Module, ModuleName, Icon, Visible string
	Sort                              int
}

// AdminSection is one section of a workbench being edited.
type AdminSection struct {
	ID    int64
	Title string
	Sort  int
	Tiles []AdminTile
}

// AdminModuleOption is a module offered when adding or changing a tile.
type AdminModuleOption struct{ Key, Name string }

// AdminWorkbench edits one workbench (page admin_workbench). FieldError keys:
// "title" (new section), "section", "module", "visible" (new tile),
// "section:{id}:title", "section:{id}:sort", "tile:{id}:module",
// "tile:{id}:visible", "tile:{id}:sort" (existing rows); every message is
// also listed at the top, whatever its key.
type AdminWorkbench struct {
	AdminPage
	Key, Name  string
	Sections   []AdminSection
	Modules    []AdminModuleOption
	FieldError map[string]string
}

// AdminPreview shows a workbench as a given person sees it (page admin_preview).
type AdminPreview struct {
	AdminPage
	UserID, Role string
	Identities   []Identity
	Home         *AppHome
	NotFound     bool
}

// AdminGrant is one admin grant.
type AdminGrant struct {
	UserID, Name, Role   string
	Depts                string
	GrantedBy, GrantedAt string
}

// AdminGrants lists and edits admin grants (page admin_grants).
type AdminGrants struct {
	AdminPage
	Grants     []AdminGrant
	Roles      []string
	FieldError map[string]string
}

// AuditRow is one audit entry.
type AuditRow struct {
	ID                                           int64
	At, Actor, Action, Object, Before, After, IP string
}

// AdminAudit is the audit log (page admin_audit). Next is the id to pass as
// before= for the next page, 0 when there is none.
type AdminAudit struct {
	AdminPage
	Rows          []AuditRow
	Actor, Action string
	Next          int64
}

// AdminContentList lists campus content (page admin_content).
type AdminContentList struct {
	AdminPage
	Items []ContentItem
}

// AdminContentEdit edits one content item (page admin_content_edit).
type AdminContentEdit struct {
	AdminPage
	Item       ContentItem
	BodyText   string
	FieldError map[string]string
}

// AdminModules lists the module catalog (page admin_modules).
type AdminModules struct {
	AdminPage
	Modules []AdminModuleRow
	// Edit is the module being edited (?edit=key), with FieldError naming
	// what is wrong after a refused save; Categories are the choices.
	Edit       *AdminModuleRow
	FieldError map[string]string
	Categories []string
}

// AdminModuleRow is one module of the catalog.
type AdminModuleRow struct {
	Key, Name, Category, Kind, Target, Icon, Badge, Status, Summary string
	Keywords                                                        string // comma-separated
}
