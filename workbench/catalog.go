package workbench

import (
	"net/url"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
)

// Module is a functional module: what a tile opens.
type Module struct {
	Key, Name, Category, Kind, Target, Icon, Badge, Status, Summary string
	Keywords                                                        []string
	Sort                                                            int // order in the console's list
}

// Module kinds and statuses.
const (
	ModuleBuiltin  = "builtin"  // an H5 page of ours: /app/m/{key}
	ModuleExternal = "external" // another system, reached with sign-on: /app/go/{key}
	ModuleProcess  = "process"  // a process of the online service hall
	StatusLive     = "live"
	StatusSoon     = "soon" // its capability arrives with a later issue
)

// Categories are the module categories of the catalog, in display order.
var Categories = []string{"校园概况", "办公服务", "教学服务", "学工服务", "科研服务", "人事服务", "财务服务", "图书馆服务", "网络服务",
	"生活服务", "网上服务大厅", "消息中心"}

// Href is where the module's tile leads: its page of ours, where it is
// counted as used (a live process module's sends on to its process's form
// in the service hall, HallHref), or the external system by sign-on.
func (m *Module) Href() string {
	if m.Kind == ModuleExternal {
		return "/app/go/" + m.Key
	}
	return "/app/m/" + m.Key
}

// HallHref is a live process module's form in the service hall (its
// Target is the process key), "" for any other module.
func (m *Module) HallHref() string {
	if m.Kind == ModuleProcess && m.Status == StatusLive && m.Target != "" {
		return "/hall/apply/" + url.PathEscape(m.Target)
	}
	return ""
}

// catalog is one version of the catalog, compiled; never changed once
// published (Service.cat swaps whole catalogs).
type catalog struct {
	version     string
	modules     map[string]*Module
	roles       []*roleEntry // priority desc, key
	roleByKey   map[string]*roleEntry
	workbenches map[string]*wbEntry
	notices     []int64 // publication times (Unix ms) of the notices
}

type roleEntry struct {
	Role
	rule *rule // nil: the stored rule does not compile; never held
}

type wbEntry struct {
	key, name string
	sections  []*sectionEntry
}

type sectionEntry struct {
	id    int64
	title string
	tiles []*tileEntry
}

type tileEntry struct {
	id      int64
	module  *Module
	visible *rule // nil: the stored rule does not compile; never visible
}

// buildCatalog compiles what the database holds. Saves and the seed
// validate every rule, so a rule that does not compile here was written
// around them: it is logged, and its role is held by no one, its tile seen
// by no one.
func buildCatalog(raw store.WBCatalog, content []store.CampusContent, log *zap.Logger) *catalog {
	c := &catalog{modules: map[string]*Module{}, roleByKey: map[string]*roleEntry{}, workbenches: map[string]*wbEntry{}}
	for _, m := range raw.Modules {
		c.modules[m.Key] = &Module{Key: m.Key, Name: m.Name, Category: m.Category, Kind: m.Kind, Target: m.Target, Icon: m.Icon,
			Badge: m.Badge, Status: m.Status, Summary: m.Summary, Keywords: m.Keywords, Sort: m.Sort}
	}
	for _, r := range raw.Roles {
		e := &roleEntry{Role: roleFromStore(r)}
		if rl, err := compileRule(r.Rule, false); err != nil {
			log.Error("workbench: stored role rule does not compile", zap.String("role", r.Key), zap.Error(err))
		} else {
			e.rule = rl
		}
		c.roles = append(c.roles, e)
		c.roleByKey[r.Key] = e
	}
	for _, w := range raw.Workbenches {
		c.workbenches[w.Key] = &wbEntry{key: w.Key, name: w.Name}
	}
	secs := map[int64]*sectionEntry{}
	for _, s := range raw.Sections {
		w := c.workbenches[s.Workbench]
		if w == nil {
			continue
		}
		e := &sectionEntry{id: s.ID, title: s.Title}
		w.sections = append(w.sections, e)
		secs[s.ID] = e
	}
	for _, t := range raw.Tiles {
		sec, m := secs[t.Section], c.modules[t.Module]
		if sec == nil || m == nil {
			continue
		}
		e := &tileEntry{id: t.ID, module: m}
		if rl, err := compileRule(t.Visible, true); err != nil {
			log.Error("workbench: stored tile rule does not compile", zap.Int64("tile", t.ID), zap.Error(err))
		} else {
			e.visible = rl
		}
		sec.tiles = append(sec.tiles, e)
	}
	for _, ct := range content {
		if ct.Kind == ContentNotice {
			c.notices = append(c.notices, ct.PublishedAt)
		}
	}
	return c
}

func roleFromStore(r store.WBRole) Role {
	return Role{Key: r.Key, Name: r.Name, Identity: r.Identity, Rule: r.Rule, Workbench: r.Workbench, Priority: r.Priority, Enabled: r.Enabled}
}
