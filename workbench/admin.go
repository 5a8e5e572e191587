package workbench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/store"
)

// Role is a role of the catalog: who holds it and the workbench it opens.
type Role struct {
	Key, Name string
	Identity  string // the record kind it applies to: faculty, student, alumnus, examinee, visitor
	Rule      string // expr-lang boolean expression over Env
	Workbench string
	Priority  int // higher wins as the default identity
	Enabled   bool
}

// WorkbenchDef is a workbench as the console edits it.
type WorkbenchDef struct {
	Key, Name string
	Sections  []SectionDef
}

// SectionDef is a section as the console edits it.
type SectionDef struct {
	ID    int64
	Title string
	Sort  int
	Tiles []TileDef
}

// TileDef is a tile as the console edits it.
type TileDef struct {
	ID      int64
	Module  string
	Visible string // expr rule over Env; "" = everyone holding the role
	Sort    int
	Section int64 // SaveTile: 0 keeps the tile in its section
}

var keyPattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

var badgePattern = regexp.MustCompile(`^[a-z0-9_]{0,32}$`)

func trimmed(s string) string { return strings.TrimSpace(s) }

// txq is what store writes take: the transaction of a save.
type txq = sqlx.ExtContext

// audit is what a save changed, for its audit row.
type audit struct {
	action, object string
	before, after  any
}

// save runs fn in a transaction with its audit row, then bumps the catalog
// version so every instance reloads.
func (s *Service) save(ctx context.Context, actor store.Actor, fn func(tx txq) (audit, error)) error {
	var a audit
	err := s.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if a, err = fn(tx); err != nil {
			return err
		}
		e, err := store.Audit(actor, a.action, a.object, a.before, a.after, s.now())
		if err != nil {
			return err
		}
		return s.db.InsertAudit(ctx, tx, e)
	})
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return err
		}
		return fmt.Errorf("workbench: save %s: %w", a.object, err)
	}
	s.bump(ctx)
	return nil
}

// validateRule compiles a rule for a save.
func validateRule(field, src string, allowEmpty bool) error {
	if _, err := compileRule(src, allowEmpty); err != nil {
		return invalid(field, "%s", err.Error())
	}
	return nil
}

// Roles lists the roles, highest priority first.
func (s *Service) Roles(ctx context.Context) ([]Role, error) {
	rows, err := s.db.WBRoles(ctx)
	if err != nil {
		return nil, fmt.Errorf("workbench: roles: %w", err)
	}
	out := make([]Role, 0, len(rows))
	for _, r := range rows {
		out = append(out, roleFromStore(r))
	}
	return out, nil
}

// SaveRole creates or replaces a role (audited "workbench.role.add" /
// "workbench.role.update"). Its rule must compile, its identity be a
// record kind and its workbench exist.
func (s *Service) SaveRole(ctx context.Context, actor store.Actor, r Role) error {
	switch {
	case !keyPattern.MatchString(r.Key):
		return invalid("key", "%q is not a key: use a-z, 0-9 and _", r.Key)
	case trimmed(r.Name) == "":
		return invalid("name", "is empty")
	case !kinds[r.Identity]:
		return invalid("identity", "%q is not one of faculty, student, alumnus, examinee, visitor", r.Identity)
	}
	if err := validateRule("rule", r.Rule, false); err != nil {
		return err
	}
	return s.save(ctx, actor, func(tx txq) (audit, error) {
		if _, err := s.db.WBWorkbench(ctx, tx, r.Workbench); errors.Is(err, store.ErrNotFound) {
			return audit{}, invalid("workbench", "no workbench %q", r.Workbench)
		} else if err != nil {
			return audit{}, err
		}
		a := audit{action: "workbench.role.update", object: "role/" + r.Key}
		before, err := s.db.WBRole(ctx, tx, r.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			a.action = "workbench.role.add"
		case err != nil:
			return a, err
		default:
			a.before = roleFromStore(before)
		}
		row := store.WBRole{Key: r.Key, Name: trimmed(r.Name), Identity: r.Identity, Rule: r.Rule,
			Workbench: r.Workbench, Priority: r.Priority, Enabled: r.Enabled}
		a.after = roleFromStore(row)
		return a, s.db.PutWBRole(ctx, tx, row, s.now())
	})
}

// Workbenches lists every workbench with its sections and tiles.
func (s *Service) Workbenches(ctx context.Context) ([]WorkbenchDef, error) {
	ws, err := s.db.WBWorkbenches(ctx)
	if err != nil {
		return nil, fmt.Errorf("workbench: workbenches: %w", err)
	}
	secs, err := s.db.WBSections(ctx, nil, "")
	if err != nil {
		return nil, fmt.Errorf("workbench: workbenches: %w", err)
	}
	tiles, err := s.db.WBTiles(ctx, nil, "")
	if err != nil {
		return nil, fmt.Errorf("workbench: workbenches: %w", err)
	}
	out := make([]WorkbenchDef, 0, len(ws))
	for _, w := range ws {
		out = append(out, assemble(w, secs, tiles))
	}
	return out, nil
}

// WorkbenchDef returns one workbench with its sections and tiles;
// store.ErrNotFound (wrapped) when there is none.
func (s *Service) WorkbenchDef(ctx context.Context, key string) (WorkbenchDef, error) {
	return s.workbenchDef(ctx, nil, key)
}

func (s *Service) workbenchDef(ctx context.Context, q txq, key string) (WorkbenchDef, error) {
	w, err := s.db.WBWorkbench(ctx, q, key)
	if err != nil {
		return WorkbenchDef{}, fmt.Errorf("workbench: %w", err)
	}
	secs, err := s.db.WBSections(ctx, q, key)
	if err != nil {
		return WorkbenchDef{}, fmt.Errorf("workbench: %w", err)
	}
	tiles, err := s.db.WBTiles(ctx, q, key)
	if err != nil {
		return WorkbenchDef{}, fmt.Errorf("workbench: %w", err)
	}
	return assemble(w, secs, tiles), nil
}

func assemble(w store.WBWorkbench, secs []store.WBSection, tiles []store.WBTile) WorkbenchDef {
	d := WorkbenchDef{Key: w.Key, Name: w.Name, Sections: []SectionDef{}}
	idx := map[int64]int{}
	for _, s := range secs {
		if s.Workbench != w.Key {
			continue
		}
		idx[s.ID] = len(d.Sections)
		d.Sections = append(d.Sections, SectionDef{ID: s.ID, Title: s.Title, Sort: s.Sort, Tiles: []TileDef{}})
	}
	for _, t := range tiles {
		if i, ok := idx[t.Section]; ok && t.Workbench == w.Key {
			d.Sections[i].Tiles = append(d.Sections[i].Tiles, tileDefOf(t))
		}
	}
	return d
}

func tileDefOf(t store.WBTile) TileDef {
	return TileDef{ID: t.ID, Module: t.Module, Visible: t.Visible, Sort: t.Sort, Section: t.Section}
}

func sectionObject(workbench string, id int64) string {
	return "workbench/" + workbench + "/section/" + strconv.FormatInt(id, 10)
}

func tileObject(workbench string, id int64) string {
	return "workbench/" + workbench + "/tile/" + strconv.FormatInt(id, 10)
}

// section reads a section of workbench through tx, or a ValidationError.
func (s *Service) section(ctx context.Context, tx txq, workbench string, id int64) (SectionDef, error) {
	sec, err := s.db.WBSection(ctx, tx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sec.Workbench != workbench) {
		return SectionDef{}, invalid("section", "workbench %q has no section %d", workbench, id)
	}
	if err != nil {
		return SectionDef{}, err
	}
	d := SectionDef{ID: sec.ID, Title: sec.Title, Sort: sec.Sort, Tiles: []TileDef{}}
	tiles, err := s.db.WBTiles(ctx, tx, workbench)
	if err != nil {
		return d, err
	}
	for _, t := range tiles {
		if t.Section == id {
			d.Tiles = append(d.Tiles, tileDefOf(t))
		}
	}
	return d, nil
}

// SaveWorkbench creates a workbench (empty, for a new role) or renames one
// (audited "workbench.workbench.add" / "workbench.workbench.update").
func (s *Service) SaveWorkbench(ctx context.Context, actor store.Actor, key, name string) error {
	switch {
	case !keyPattern.MatchString(key):
		return invalid("key", "%q is not a key: use a-z, 0-9 and _", key)
	case trimmed(name) == "":
		return invalid("name", "is empty")
	}
	return s.save(ctx, actor, func(tx txq) (audit, error) {
		before, err := s.db.WBWorkbench(ctx, tx, key)
		action := "workbench.workbench.update"
		var prev any
		switch {
		case errors.Is(err, store.ErrNotFound):
			action = "workbench.workbench.add"
		case err != nil:
			return audit{}, err
		default:
			prev = before
		}
		w := store.WBWorkbench{Key: key, Name: trimmed(name)}
		if err := s.db.PutWBWorkbench(ctx, tx, w, s.now()); err != nil {
			return audit{}, err
		}
		return audit{action, "workbench/" + key, prev, w}, nil
	})
}

// AddSection appends a section to a workbench (audited
// "workbench.section.add") and returns its id.
func (s *Service) AddSection(ctx context.Context, actor store.Actor, workbench, title string) (int64, error) {
	if trimmed(title) == "" {
		return 0, invalid("title", "is empty")
	}
	var id int64
	err := s.save(ctx, actor, func(tx txq) (audit, error) {
		if _, err := s.db.WBWorkbench(ctx, tx, workbench); errors.Is(err, store.ErrNotFound) {
			return audit{}, invalid("workbench", "no workbench %q", workbench)
		} else if err != nil {
			return audit{}, err
		}
		sec, err := s.db.InsertWBSection(ctx, tx, store.WBSection{Workbench: workbench, Title: trimmed(title)})
		if err != nil {
			return audit{}, err
		}
		id = sec.ID
		return audit{"workbench.section.add", sectionObject(workbench, id), nil,
			SectionDef{ID: sec.ID, Title: sec.Title, Sort: sec.Sort, Tiles: []TileDef{}}}, nil
	})
	return id, err
}

// SaveSection changes a section's title and sort order (audited
// "workbench.section.update").
func (s *Service) SaveSection(ctx context.Context, actor store.Actor, workbench string, sec SectionDef) error {
	if trimmed(sec.Title) == "" {
		return invalid("title", "is empty")
	}
	return s.save(ctx, actor, func(tx txq) (audit, error) {
		before, err := s.section(ctx, tx, workbench, sec.ID)
		if err != nil {
			return audit{}, err
		}
		after := before
		after.Title, after.Sort = trimmed(sec.Title), sec.Sort
		if err := s.db.UpdateWBSection(ctx, tx, store.WBSection{ID: sec.ID, Workbench: workbench, Title: after.Title, Sort: after.Sort}); err != nil {
			return audit{}, err
		}
		return audit{"workbench.section.update", sectionObject(workbench, sec.ID), before, after}, nil
	})
}

// DeleteSection removes a section and its tiles (audited
// "workbench.section.delete", the section with its tiles as before).
func (s *Service) DeleteSection(ctx context.Context, actor store.Actor, workbench string, id int64) error {
	return s.save(ctx, actor, func(tx txq) (audit, error) {
		before, err := s.section(ctx, tx, workbench, id)
		if err != nil {
			return audit{}, err
		}
		if err := s.db.DeleteWBSection(ctx, tx, id); err != nil {
			return audit{}, err
		}
		return audit{"workbench.section.delete", sectionObject(workbench, id), before, nil}, nil
	})
}

// checkModule refuses a module the catalog lacks.
func (s *Service) checkModule(ctx context.Context, tx txq, key string) error {
	if _, err := s.db.WBModule(ctx, tx, key); errors.Is(err, store.ErrNotFound) {
		return invalid("module", "no module %q", key)
	} else if err != nil {
		return err
	}
	return nil
}

// AddTile appends a tile for module to a section (audited
// "workbench.tile.add") and returns its id. visible is an expr rule over
// Env ("" = everyone holding the role).
func (s *Service) AddTile(ctx context.Context, actor store.Actor, workbench string, section int64, module, visible string) (int64, error) {
	if err := validateRule("visible", visible, true); err != nil {
		return 0, err
	}
	var id int64
	err := s.save(ctx, actor, func(tx txq) (audit, error) {
		if _, err := s.section(ctx, tx, workbench, section); err != nil {
			return audit{}, err
		}
		if err := s.checkModule(ctx, tx, module); err != nil {
			return audit{}, err
		}
		t, err := s.db.InsertWBTile(ctx, tx, store.WBTile{Section: section, Workbench: workbench, Module: module, Visible: visible})
		if err != nil {
			return audit{}, err
		}
		id = t.ID
		return audit{"workbench.tile.add", tileObject(workbench, id), nil, tileDefOf(t)}, nil
	})
	return id, err
}

// tile reads a tile of workbench through tx, or a ValidationError.
func (s *Service) tile(ctx context.Context, tx txq, workbench string, id int64) (store.WBTile, error) {
	t, err := s.db.WBTile(ctx, tx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Workbench != workbench) {
		return t, invalid("tile", "workbench %q has no tile %d", workbench, id)
	}
	return t, err
}

// SaveTile changes a tile's module, visibility rule, sort order and (when
// t.Section is set) section (audited "workbench.tile.update").
func (s *Service) SaveTile(ctx context.Context, actor store.Actor, workbench string, t TileDef) error {
	if err := validateRule("visible", t.Visible, true); err != nil {
		return err
	}
	return s.save(ctx, actor, func(tx txq) (audit, error) {
		before, err := s.tile(ctx, tx, workbench, t.ID)
		if err != nil {
			return audit{}, err
		}
		if err := s.checkModule(ctx, tx, t.Module); err != nil {
			return audit{}, err
		}
		after := before
		after.Module, after.Visible, after.Sort = t.Module, t.Visible, t.Sort
		if t.Section != 0 && t.Section != before.Section {
			if _, err := s.section(ctx, tx, workbench, t.Section); err != nil {
				return audit{}, err
			}
			after.Section = t.Section
		}
		if err := s.db.UpdateWBTile(ctx, tx, after); err != nil {
			return audit{}, err
		}
		return audit{"workbench.tile.update", tileObject(workbench, t.ID), tileDefOf(before), tileDefOf(after)}, nil
	})
}

// DeleteTile removes a tile (audited "workbench.tile.delete").
func (s *Service) DeleteTile(ctx context.Context, actor store.Actor, workbench string, id int64) error {
	return s.save(ctx, actor, func(tx txq) (audit, error) {
		before, err := s.tile(ctx, tx, workbench, id)
		if err != nil {
			return audit{}, err
		}
		if err := s.db.DeleteWBTile(ctx, tx, id); err != nil {
			return audit{}, err
		}
		return audit{"workbench.tile.delete", tileObject(workbench, id), tileDefOf(before), nil}, nil
	})
}

// Modules lists the modules in their order.
func (s *Service) Modules(ctx context.Context) ([]Module, error) {
	rows, err := s.db.WBModules(ctx)
	if err != nil {
		return nil, fmt.Errorf("workbench: modules: %w", err)
	}
	out := make([]Module, 0, len(rows))
	for _, m := range rows {
		out = append(out, moduleFromStore(m))
	}
	return out, nil
}

func moduleFromStore(m store.WBModule) Module {
	kw := m.Keywords
	if kw == nil {
		kw = []string{}
	}
	return Module{Key: m.Key, Name: m.Name, Category: m.Category, Kind: m.Kind, Target: m.Target, Icon: m.Icon,
		Badge: m.Badge, Status: m.Status, Summary: m.Summary, Keywords: kw, Sort: m.Sort}
}

func moduleToStore(m Module) store.WBModule {
	return store.WBModule{Key: m.Key, Name: trimmed(m.Name), Category: m.Category, Kind: m.Kind, Target: m.Target, Icon: m.Icon,
		Badge: m.Badge, Status: m.Status, Summary: m.Summary, Keywords: m.Keywords, Sort: m.Sort}
}

// validateModule checks what a module's tile and page need.
func validateModule(m Module) error {
	switch {
	case !keyPattern.MatchString(m.Key):
		return invalid("key", "%q is not a key: use a-z, 0-9 and _", m.Key)
	case trimmed(m.Name) == "":
		return invalid("name", "is empty")
	case !slices.Contains(Categories, m.Category):
		return invalid("category", "%q is not one of %s", m.Category, strings.Join(Categories, " "))
	case m.Kind != ModuleBuiltin && m.Kind != ModuleExternal && m.Kind != ModuleProcess:
		return invalid("kind", "%q is not builtin, external or process", m.Kind)
	case m.Status != StatusLive && m.Status != StatusSoon:
		return invalid("status", "%q is not live or soon", m.Status)
	case !badgePattern.MatchString(m.Badge):
		return invalid("badge", "%q is not a badge source name", m.Badge)
	case m.Kind == ModuleProcess && trimmed(m.Target) == "":
		return invalid("target", "a process module names its process key")
	}
	if m.Kind == ModuleExternal {
		u, err := url.Parse(m.Target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalid("target", "%q is not an absolute http(s) URL", m.Target)
		}
	}
	return nil
}

// SaveModule creates or replaces a module (audited "workbench.module.add" /
// "workbench.module.update").
func (s *Service) SaveModule(ctx context.Context, actor store.Actor, m Module) error {
	if err := validateModule(m); err != nil {
		return err
	}
	return s.save(ctx, actor, func(tx txq) (audit, error) {
		a := audit{action: "workbench.module.update", object: "module/" + m.Key}
		before, err := s.db.WBModule(ctx, tx, m.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			a.action = "workbench.module.add"
		case err != nil:
			return a, err
		default:
			a.before = moduleFromStore(before)
		}
		row := moduleToStore(m)
		if err := s.db.PutWBModule(ctx, tx, row, s.now()); err != nil {
			return a, err
		}
		a.after = moduleFromStore(row)
		return a, nil
	})
}

// Counts counts the catalog's roles, workbenches and modules.
func (s *Service) Counts(ctx context.Context) (roles, workbenches, modules int, err error) {
	roles, workbenches, modules, err = s.db.CountWB(ctx)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("workbench: counts: %w", err)
	}
	return roles, workbenches, modules, nil
}

// holdersTTL is how long a count of role holders is reused: counting reads
// everyone in our records.
const holdersTTL = time.Minute

// Holders counts, for each role key, the people who hold it now, so the
// console shows at once a rule that matches nobody (or everybody). It reads
// the whole of our records (a few hundred milliseconds at full scale) and
// is cached for a minute per instance, and refreshed on catalog changes.
func (s *Service) Holders(ctx context.Context) (map[string]int, error) {
	c := s.current(ctx)
	s.holdersMu.Lock()
	defer s.holdersMu.Unlock()
	if s.holders != nil && s.holdersCat == c && s.now().Before(s.holdersAt.Add(holdersTTL)) {
		return s.holders, nil
	}
	all, err := s.db.AllPersonRows(ctx)
	if err != nil {
		return nil, fmt.Errorf("workbench: count role holders: %w", err)
	}
	tree, now := s.depts.Load(), s.now()
	out := map[string]int{}
	for _, rows := range all {
		p := buildPerson(rows, tree, now)
		for _, h := range s.resolve(c, &p) {
			out[h.Role]++
		}
	}
	s.holders, s.holdersCat, s.holdersAt = out, c, now
	return out, nil
}

// RoleHolders lists the userids of the people who hold any of roles now
// (the message center's recipients by role), sorted.
func (s *Service) RoleHolders(ctx context.Context, roles []string) ([]string, error) {
	want := map[string]bool{}
	for _, r := range roles {
		want[r] = true
	}
	c := s.current(ctx)
	for r := range want {
		if _, ok := c.roleByKey[r]; !ok {
			return nil, fmt.Errorf("workbench: no role %q", r)
		}
	}
	all, err := s.db.AllPersonRows(ctx)
	if err != nil {
		return nil, fmt.Errorf("workbench: role holders: %w", err)
	}
	tree, now := s.depts.Load(), s.now()
	var out []string
	for _, rows := range all {
		p := buildPerson(rows, tree, now)
		for _, h := range s.resolve(c, &p) {
			if want[h.Role] {
				out = append(out, p.UserID)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
