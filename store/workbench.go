package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// WBModule is a functional module (wb_modules): what a tile opens.
type WBModule struct {
	Key, Name, Category, Kind, Target, Icon, Badge, Status, Summary string
	Keywords                                                        []string
	Sort                                                            int
}

// WBRole is a role (wb_roles): who holds it (Rule over the record of kind
// Identity) and the workbench it opens.
type WBRole struct {
	Key, Name, Identity, Rule, Workbench string
	Priority                             int
	Enabled                              bool
}

// WBWorkbench is a workbench's header (wb_workbenches).
type WBWorkbench struct {
	Key, Name string
}

// WBSection is an ordered section of a workbench (wb_sections).
type WBSection struct {
	ID        int64
	Workbench string
	Title     string
	Sort      int
}

// WBTile is a tile of a section (wb_tiles): a module and who sees it.
type WBTile struct {
	ID        int64
	Section   int64
	Workbench string
	Module    string
	Visible   string
	Sort      int
}

// WBCatalog is the whole catalog, as the workbench keeps it in memory.
type WBCatalog struct {
	Modules     []WBModule // by sort, key
	Roles       []WBRole   // by priority desc, key
	Workbenches []WBWorkbench
	Sections    []WBSection // by workbench, sort, id
	Tiles       []WBTile    // by workbench, section, sort, id
}

// CampusContent is one piece of the campus overview (campus_content).
type CampusContent struct {
	Key, Kind, Title, Body string
	Sort                   int
	PublishedAt            int64 // Unix ms; notices and news
	UpdatedAt              int64
}

type moduleRow struct {
	Key      string `db:"module_key"`
	Name     string `db:"name"`
	Category string `db:"category"`
	Kind     string `db:"kind"`
	Target   string `db:"target"`
	Icon     string `db:"icon"`
	Badge    string `db:"badge"`
	Status   string `db:"status"`
	Summary  string `db:"summary"`
	Keywords string `db:"keywords"`
	Sort     int    `db:"sort_order"`
}

func (r moduleRow) module() (WBModule, error) {
	m := WBModule{Key: r.Key, Name: r.Name, Category: r.Category, Kind: r.Kind, Target: r.Target, Icon: r.Icon,
		Badge: r.Badge, Status: r.Status, Summary: r.Summary, Sort: r.Sort}
	if r.Keywords != "" {
		if err := json.Unmarshal([]byte(r.Keywords), &m.Keywords); err != nil {
			return m, fmt.Errorf("module %s keywords: %w", r.Key, err)
		}
	}
	return m, nil
}

type roleRow struct {
	Key       string `db:"role_key"`
	Name      string `db:"name"`
	Identity  string `db:"identity"`
	Priority  int    `db:"priority"`
	Rule      string `db:"rule"`
	Workbench string `db:"workbench"`
	Enabled   bool   `db:"enabled"`
}

func (r roleRow) role() WBRole {
	return WBRole{Key: r.Key, Name: r.Name, Identity: r.Identity, Priority: r.Priority, Rule: r.Rule, Workbench: r.Workbench, Enabled: r.Enabled}
}

type sectionRow struct {
	ID        int64  `db:"id"`
	Workbench string `db:"workbench"`
	Title     string `db:"title"`
	Sort      int    `db:"sort_order"`
}

type tileRow struct {
	ID        int64  `db:"id"`
	Section   int64  `db:"section_id"`
	Workbench string `db:"workbench"`
	Module    string `db:"module"`
	Visible   string `db:"visible"`
	Sort      int    `db:"sort_order"`
}

type contentRow struct {
	Key         string `db:"content_key"`
	Kind        string `db:"kind"`
	Title       string `db:"title"`
	Body        string `db:"body"`
	Sort        int    `db:"sort_order"`
	PublishedAt int64  `db:"published_at"`
	UpdatedAt   int64  `db:"updated_at"`
}

func (r contentRow) content() CampusContent {
	return CampusContent{Key: r.Key, Kind: r.Kind, Title: r.Title, Body: r.Body, Sort: r.Sort, PublishedAt: r.PublishedAt, UpdatedAt: r.UpdatedAt}
}

const (
	moduleCols  = `module_key, name, category, kind, target, icon, badge, status, summary, keywords, sort_order`
	roleCols    = `role_key, name, identity, priority, rule, workbench, enabled`
	sectionCols = `id, workbench, title, sort_order`
	tileCols    = `id, section_id, workbench, module, visible, sort_order`
	contentCols = `content_key, kind, title, body, sort_order, published_at, updated_at`
)

// ext returns q, or the pool when q is nil.
func (db *DB) ext(q sqlx.ExtContext) sqlx.ExtContext {
	if q == nil {
		return db.DB
	}
	return q
}

// LoadWBCatalog reads the whole catalog.
func (db *DB) LoadWBCatalog(ctx context.Context) (WBCatalog, error) {
	var c WBCatalog
	mods, err := db.WBModules(ctx)
	if err != nil {
		return c, err
	}
	c.Modules = mods
	if c.Roles, err = db.WBRoles(ctx); err != nil {
		return c, err
	}
	if c.Workbenches, err = db.WBWorkbenches(ctx); err != nil {
		return c, err
	}
	if c.Sections, err = db.WBSections(ctx, nil, ""); err != nil {
		return c, err
	}
	if c.Tiles, err = db.WBTiles(ctx, nil, ""); err != nil {
		return c, err
	}
	return c, nil
}

// WBModules lists the modules by sort order and key.
func (db *DB) WBModules(ctx context.Context) ([]WBModule, error) {
	var rows []moduleRow
	if err := db.SelectContext(ctx, &rows, `SELECT `+moduleCols+` FROM wb_modules ORDER BY sort_order, module_key`); err != nil {
		return nil, fmt.Errorf("store: list modules: %w", err)
	}
	out := make([]WBModule, 0, len(rows))
	for _, r := range rows {
		m, err := r.module()
		if err != nil {
			return nil, fmt.Errorf("store: list modules: %w", err)
		}
		out = append(out, m)
	}
	return out, nil
}

// WBModule returns one module through q (nil: the pool) or ErrNotFound.
func (db *DB) WBModule(ctx context.Context, q sqlx.ExtContext, key string) (WBModule, error) {
	var r moduleRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, `SELECT `+moduleCols+` FROM wb_modules WHERE module_key = ?`, key); err != nil {
		return WBModule{}, notFound(err, "store: module %s", key)
	}
	m, err := r.module()
	if err != nil {
		return m, fmt.Errorf("store: %w", err)
	}
	return m, nil
}

// WBRoles lists the roles by priority (highest first) and key.
func (db *DB) WBRoles(ctx context.Context) ([]WBRole, error) {
	var rows []roleRow
	if err := db.SelectContext(ctx, &rows, `SELECT `+roleCols+` FROM wb_roles ORDER BY priority DESC, role_key`); err != nil {
		return nil, fmt.Errorf("store: list roles: %w", err)
	}
	out := make([]WBRole, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.role())
	}
	return out, nil
}

// WBRole returns one role through q (nil: the pool) or ErrNotFound.
func (db *DB) WBRole(ctx context.Context, q sqlx.ExtContext, key string) (WBRole, error) {
	var r roleRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, `SELECT `+roleCols+` FROM wb_roles WHERE role_key = ?`, key); err != nil {
		return WBRole{}, notFound(err, "store: role %s", key)
	}
	return r.role(), nil
}

// WBWorkbenches lists the workbench headers by key.
func (db *DB) WBWorkbenches(ctx context.Context) ([]WBWorkbench, error) {
	var rows []struct {
		Key  string `db:"wb_key"`
		Name string `db:"name"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT wb_key, name FROM wb_workbenches ORDER BY wb_key`); err != nil {
		return nil, fmt.Errorf("store: list workbenches: %w", err)
	}
	out := make([]WBWorkbench, 0, len(rows))
	for _, r := range rows {
		out = append(out, WBWorkbench{Key: r.Key, Name: r.Name})
	}
	return out, nil
}

// WBWorkbench returns one workbench header through q (nil: the pool) or
// ErrNotFound.
func (db *DB) WBWorkbench(ctx context.Context, q sqlx.ExtContext, key string) (WBWorkbench, error) {
	var w WBWorkbench
	err := db.ext(q).QueryRowxContext(ctx, `SELECT wb_key, name FROM wb_workbenches WHERE wb_key = ?`, key).Scan(&w.Key, &w.Name)
	if err != nil {
		return w, notFound(err, "store: workbench %s", key)
	}
	return w, nil
}

// WBSections lists the sections of workbench ("" = all) through q (nil:
// the pool), by workbench, sort order and id.
func (db *DB) WBSections(ctx context.Context, q sqlx.ExtContext, workbench string) ([]WBSection, error) {
	query, args := `SELECT `+sectionCols+` FROM wb_sections`, []any{}
	if workbench != "" {
		query += ` WHERE workbench = ?`
		args = append(args, workbench)
	}
	var rows []sectionRow
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, query+` ORDER BY workbench, sort_order, id`, args...); err != nil {
		return nil, fmt.Errorf("store: list sections %s: %w", workbench, err)
	}
	out := make([]WBSection, 0, len(rows))
	for _, r := range rows {
		out = append(out, WBSection(r))
	}
	return out, nil
}

// WBSection returns one section through q (nil: the pool) or ErrNotFound.
func (db *DB) WBSection(ctx context.Context, q sqlx.ExtContext, id int64) (WBSection, error) {
	var r sectionRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, `SELECT `+sectionCols+` FROM wb_sections WHERE id = ?`, id); err != nil {
		return WBSection{}, notFound(err, "store: section %d", id)
	}
	return WBSection(r), nil
}

// WBTiles lists the tiles of workbench ("" = all) through q (nil: the
// pool), by workbench, section, sort order and id.
func (db *DB) WBTiles(ctx context.Context, q sqlx.ExtContext, workbench string) ([]WBTile, error) {
	query, args := `SELECT `+tileCols+` FROM wb_tiles`, []any{}
	if workbench != "" {
		query += ` WHERE workbench = ?`
		args = append(args, workbench)
	}
	var rows []tileRow
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, query+` ORDER BY workbench, section_id, sort_order, id`, args...); err != nil {
		return nil, fmt.Errorf("store: list tiles %s: %w", workbench, err)
	}
	out := make([]WBTile, 0, len(rows))
	for _, r := range rows {
		out = append(out, WBTile(r))
	}
	return out, nil
}

// WBTile returns one tile through q (nil: the pool) or ErrNotFound.
func (db *DB) WBTile(ctx context.Context, q sqlx.ExtContext, id int64) (WBTile, error) {
	var r tileRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, `SELECT `+tileCols+` FROM wb_tiles WHERE id = ?`, id); err != nil {
		return WBTile{}, notFound(err, "store: tile %d", id)
	}
	return WBTile(r), nil
}

// CountWB counts roles, workbenches and modules.
func (db *DB) CountWB(ctx context.Context) (roles, workbenches, modules int, err error) {
	for _, c := range []struct {
		table string
		dst   *int
	}{{"wb_roles", &roles}, {"wb_workbenches", &workbenches}, {"wb_modules", &modules}} {
		if err = db.GetContext(ctx, c.dst, `SELECT COUNT(*) FROM `+c.table); err != nil {
			return 0, 0, 0, fmt.Errorf("store: count %s: %w", c.table, err)
		}
	}
	return roles, workbenches, modules, nil
}

func moduleValues(m WBModule, now time.Time) ([]any, error) {
	kw := m.Keywords
	if kw == nil {
		kw = []string{}
	}
	b, err := json.Marshal(kw)
	if err != nil {
		return nil, fmt.Errorf("module %s keywords: %w", m.Key, err)
	}
	return []any{m.Key, m.Name, m.Category, m.Kind, m.Target, m.Icon, m.Badge, m.Status, m.Summary, string(b), m.Sort, Millis(now)}, nil
}

var (
	moduleWriteCols  = []string{"module_key", "name", "category", "kind", "target", "icon", "badge", "status", "summary", "keywords", "sort_order", "updated_at"}
	roleWriteCols    = []string{"role_key", "name", "identity", "priority", "rule", "workbench", "enabled", "updated_at"}
	contentWriteCols = []string{"content_key", "kind", "title", "body", "sort_order", "published_at", "updated_at"}
)

func roleValues(r WBRole, now time.Time) []any {
	return []any{r.Key, r.Name, r.Identity, r.Priority, r.Rule, r.Workbench, boolInt(r.Enabled), Millis(now)}
}

func contentValues(c CampusContent, now time.Time) []any {
	return []any{c.Key, c.Kind, c.Title, c.Body, c.Sort, c.PublishedAt, Millis(now)}
}

// SeedWB writes a whole catalog and the campus content through tx into
// empty tables. Sections and tiles keep the ids they are given, so tiles
// can name their section before the database has seen it.
func (db *DB) SeedWB(ctx context.Context, tx sqlx.ExtContext, c WBCatalog, content []CampusContent, now time.Time) error {
	rows := make([][]any, 0, len(c.Modules))
	for _, m := range c.Modules {
		v, err := moduleValues(m, now)
		if err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
		rows = append(rows, v)
	}
	if err := insertRows(ctx, tx, "wb_modules", moduleWriteCols, rows); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	rows = rows[:0]
	for _, w := range c.Workbenches {
		rows = append(rows, []any{w.Key, w.Name, Millis(now)})
	}
	if err := insertRows(ctx, tx, "wb_workbenches", []string{"wb_key", "name", "updated_at"}, rows); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	rows = rows[:0]
	for _, r := range c.Roles {
		rows = append(rows, roleValues(r, now))
	}
	if err := insertRows(ctx, tx, "wb_roles", roleWriteCols, rows); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	rows = rows[:0]
	for _, s := range c.Sections {
		rows = append(rows, []any{s.ID, s.Workbench, s.Title, s.Sort})
	}
	if err := insertRows(ctx, tx, "wb_sections", []string{"id", "workbench", "title", "sort_order"}, rows); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	rows = rows[:0]
	for _, t := range c.Tiles {
		rows = append(rows, []any{t.ID, t.Section, t.Workbench, t.Module, t.Visible, t.Sort})
	}
	if err := insertRows(ctx, tx, "wb_tiles", []string{"id", "section_id", "workbench", "module", "visible", "sort_order"}, rows); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	rows = rows[:0]
	for _, ct := range content {
		rows = append(rows, contentValues(ct, now))
	}
	if err := insertRows(ctx, tx, "campus_content", contentWriteCols, rows); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	return nil
}

// PutWBModule inserts or replaces a module through q.
func (db *DB) PutWBModule(ctx context.Context, q sqlx.ExtContext, m WBModule, now time.Time) error {
	v, err := moduleValues(m, now)
	if err != nil {
		return fmt.Errorf("store: put %w", err)
	}
	if err := db.upsert(ctx, db.ext(q), "wb_modules", moduleWriteCols, []string{"module_key"}, [][]any{v}); err != nil {
		return fmt.Errorf("store: put module %s: %w", m.Key, err)
	}
	return nil
}

// PutWBRole inserts or replaces a role through q.
func (db *DB) PutWBRole(ctx context.Context, q sqlx.ExtContext, r WBRole, now time.Time) error {
	if err := db.upsert(ctx, db.ext(q), "wb_roles", roleWriteCols, []string{"role_key"}, [][]any{roleValues(r, now)}); err != nil {
		return fmt.Errorf("store: put role %s: %w", r.Key, err)
	}
	return nil
}

// PutWBWorkbench inserts or renames a workbench through q.
func (db *DB) PutWBWorkbench(ctx context.Context, q sqlx.ExtContext, w WBWorkbench, now time.Time) error {
	if err := db.upsert(ctx, db.ext(q), "wb_workbenches", []string{"wb_key", "name", "updated_at"}, []string{"wb_key"},
		[][]any{{w.Key, w.Name, Millis(now)}}); err != nil {
		return fmt.Errorf("store: put workbench %s: %w", w.Key, err)
	}
	return nil
}

// nextSort is one past the largest sort_order of table's rows matching
// col = val.
func (db *DB) nextSort(ctx context.Context, q sqlx.ExtContext, table, col string, val any) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, `SELECT COALESCE(MAX(sort_order), 0) + 1 FROM `+table+` WHERE `+col+` = ?`, val); err != nil {
		return 0, err
	}
	return n, nil
}

// InsertWBSection adds a section at the end of its workbench (when Sort is
// 0) through q and returns it with its id.
func (db *DB) InsertWBSection(ctx context.Context, q sqlx.ExtContext, s WBSection) (WBSection, error) {
	q = db.ext(q)
	if s.Sort == 0 {
		n, err := db.nextSort(ctx, q, "wb_sections", "workbench", s.Workbench)
		if err != nil {
			return s, fmt.Errorf("store: add section to %s: %w", s.Workbench, err)
		}
		s.Sort = n
	}
	res, err := q.ExecContext(ctx, `INSERT INTO wb_sections (workbench, title, sort_order) VALUES (?, ?, ?)`, s.Workbench, s.Title, s.Sort)
	if err != nil {
		return s, fmt.Errorf("store: add section to %s: %w", s.Workbench, err)
	}
	if s.ID, err = res.LastInsertId(); err != nil {
		return s, fmt.Errorf("store: add section to %s: %w", s.Workbench, err)
	}
	return s, nil
}

// UpdateWBSection changes a section's title and sort order through q.
func (db *DB) UpdateWBSection(ctx context.Context, q sqlx.ExtContext, s WBSection) error {
	if _, err := db.ext(q).ExecContext(ctx, `UPDATE wb_sections SET title = ?, sort_order = ? WHERE id = ?`, s.Title, s.Sort, s.ID); err != nil {
		return fmt.Errorf("store: update section %d: %w", s.ID, err)
	}
	return nil
}

// DeleteWBSection removes a section and its tiles through q.
func (db *DB) DeleteWBSection(ctx context.Context, q sqlx.ExtContext, id int64) error {
	q = db.ext(q)
	if _, err := q.ExecContext(ctx, `DELETE FROM wb_tiles WHERE section_id = ?`, id); err != nil {
		return fmt.Errorf("store: delete tiles of section %d: %w", id, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM wb_sections WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete section %d: %w", id, err)
	}
	return nil
}

// InsertWBTile adds a tile at the end of its section (when Sort is 0)
// through q and returns it with its id.
func (db *DB) InsertWBTile(ctx context.Context, q sqlx.ExtContext, t WBTile) (WBTile, error) {
	q = db.ext(q)
	if t.Sort == 0 {
		n, err := db.nextSort(ctx, q, "wb_tiles", "section_id", t.Section)
		if err != nil {
			return t, fmt.Errorf("store: add tile to section %d: %w", t.Section, err)
		}
		t.Sort = n
	}
	res, err := q.ExecContext(ctx, `INSERT INTO wb_tiles (section_id, workbench, module, visible, sort_order) VALUES (?, ?, ?, ?, ?)`,
		t.Section, t.Workbench, t.Module, t.Visible, t.Sort)
	if err != nil {
		return t, fmt.Errorf("store: add tile to section %d: %w", t.Section, err)
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return t, fmt.Errorf("store: add tile to section %d: %w", t.Section, err)
	}
	return t, nil
}

// UpdateWBTile changes a tile's section, module, visibility and sort order
// through q.
func (db *DB) UpdateWBTile(ctx context.Context, q sqlx.ExtContext, t WBTile) error {
	if _, err := db.ext(q).ExecContext(ctx, `UPDATE wb_tiles SET section_id = ?, module = ?, visible = ?, sort_order = ? WHERE id = ?`,
		t.Section, t.Module, t.Visible, t.Sort, t.ID); err != nil {
		return fmt.Errorf("store: update tile %d: %w", t.ID, err)
	}
	return nil
}

// DeleteWBTile removes a tile through q.
func (db *DB) DeleteWBTile(ctx context.Context, q sqlx.ExtContext, id int64) error {
	if _, err := db.ext(q).ExecContext(ctx, `DELETE FROM wb_tiles WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete tile %d: %w", id, err)
	}
	return nil
}

// CampusContents lists the campus content by kind, sort order, newest
// publication first and key.
func (db *DB) CampusContents(ctx context.Context) ([]CampusContent, error) {
	var rows []contentRow
	if err := db.SelectContext(ctx, &rows, `SELECT `+contentCols+` FROM campus_content ORDER BY kind, sort_order, published_at DESC, content_key`); err != nil {
		return nil, fmt.Errorf("store: list campus content: %w", err)
	}
	out := make([]CampusContent, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.content())
	}
	return out, nil
}

// CampusContentByKey returns one piece through q (nil: the pool) or
// ErrNotFound.
func (db *DB) CampusContentByKey(ctx context.Context, q sqlx.ExtContext, key string) (CampusContent, error) {
	var r contentRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, `SELECT `+contentCols+` FROM campus_content WHERE content_key = ?`, key); err != nil {
		return CampusContent{}, notFound(err, "store: campus content %s", key)
	}
	return r.content(), nil
}

// PutCampusContent inserts or replaces a piece through q; UpdatedAt
// becomes now.
func (db *DB) PutCampusContent(ctx context.Context, q sqlx.ExtContext, c CampusContent, now time.Time) error {
	if err := db.upsert(ctx, db.ext(q), "campus_content", contentWriteCols, []string{"content_key"}, [][]any{contentValues(c, now)}); err != nil {
		return fmt.Errorf("store: put campus content %s: %w", c.Key, err)
	}
	return nil
}
