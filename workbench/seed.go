package workbench

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"gopkg.in/yaml.v3"

	"github.com/wecomapp/wecomapp/store"
)

// seedCatalog is the catalog a fresh platform starts with: the 46 modules,
// the 56 roles with their workbenches and the campus overview.
//
//go:embed seed/catalog.yaml
var seedCatalog []byte

// seedFile is the format of seed/catalog.yaml.
type seedFile struct {
	Modules []struct {
		Key      string   `yaml:"key"`
		Name     string   `yaml:"name"`
		Category string   `yaml:"category"`
		Kind     string   `yaml:"kind"`
		Target   string   `yaml:"target"`
		Icon     string   `yaml:"icon"`
		Badge    string   `yaml:"badge"`
		Status   string   `yaml:"status"`
		Summary  string   `yaml:"summary"`
		Keywords []string `yaml:"keywords"`
	} `yaml:"modules"`
	Roles []struct {
		Key       string `yaml:"key"`
		Name      string `yaml:"name"`
		Identity  string `yaml:"identity"`
		Priority  int    `yaml:"priority"`
		Rule      string `yaml:"rule"`
		Enabled   *bool  `yaml:"enabled"` // default true
		Workbench struct {
			Name     string `yaml:"name"`
			Sections []struct {
				Title string `yaml:"title"`
				Tiles []struct {
					Module  string `yaml:"module"`
					Visible string `yaml:"visible"`
				} `yaml:"tiles"`
			} `yaml:"sections"`
		} `yaml:"workbench"`
	} `yaml:"roles"`
	Content []struct {
		Key       string `yaml:"key"`
		Kind      string `yaml:"kind"`
		Title     string `yaml:"title"`
		Body      string `yaml:"body"`
		Published string `yaml:"published"`
	} `yaml:"content"`
}

// Seed loads seed/catalog.yaml into the catalog tables when wb_modules is
// empty, in one transaction, and reports whether it did. Every rule is
// compiled first: a bad seed is an error naming the role (or module, tile,
// content) and changes nothing.
func (s *Service) Seed(ctx context.Context) (bool, error) {
	return s.seedFrom(ctx, seedCatalog)
}

func (s *Service) seedFrom(ctx context.Context, data []byte) (bool, error) {
	_, _, n, err := s.db.CountWB(ctx)
	if err != nil {
		return false, fmt.Errorf("workbench: seed: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	cat, content, err := parseSeed(data)
	if err != nil {
		return false, err
	}
	err = s.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		return s.db.SeedWB(ctx, tx, cat, content, s.now())
	})
	if err != nil {
		// Another instance seeding at the same moment wins; its catalog is the same.
		if store.IsUniqueViolation(err) {
			if _, _, n, cerr := s.db.CountWB(ctx); cerr == nil && n > 0 {
				return false, s.Reload(ctx)
			}
		}
		return false, fmt.Errorf("workbench: seed: %w", err)
	}
	s.bump(ctx)
	return true, nil
}

// parseSeed decodes and validates a seed catalog.
func parseSeed(data []byte) (store.WBCatalog, []store.CampusContent, error) {
	var f seedFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return store.WBCatalog{}, nil, fmt.Errorf("workbench: seed: parse catalog: %w", err)
	}
	var c store.WBCatalog
	mods := map[string]bool{}
	for i, m := range f.Modules {
		mod := Module{Key: m.Key, Name: m.Name, Category: m.Category, Kind: m.Kind, Target: m.Target, Icon: m.Icon,
			Badge: m.Badge, Status: m.Status, Summary: m.Summary, Keywords: m.Keywords, Sort: i + 1}
		if err := validateModule(mod); err != nil {
			return c, nil, fmt.Errorf("workbench: seed: module %q: %w", m.Key, err)
		}
		if mods[m.Key] {
			return c, nil, fmt.Errorf("workbench: seed: module %q appears twice", m.Key)
		}
		mods[m.Key] = true
		c.Modules = append(c.Modules, moduleToStore(mod))
	}
	roles := map[string]bool{}
	var secID, tileID int64
	for _, r := range f.Roles {
		switch {
		case !keyPattern.MatchString(r.Key):
			return c, nil, fmt.Errorf("workbench: seed: role %q: key: use a-z, 0-9 and _", r.Key)
		case roles[r.Key]:
			return c, nil, fmt.Errorf("workbench: seed: role %q appears twice", r.Key)
		case trimmed(r.Name) == "":
			return c, nil, fmt.Errorf("workbench: seed: role %q: name is empty", r.Key)
		case !kinds[r.Identity]:
			return c, nil, fmt.Errorf("workbench: seed: role %q: identity %q is not a record kind", r.Key, r.Identity)
		}
		roles[r.Key] = true
		if err := validateRule("rule", r.Rule, false); err != nil {
			return c, nil, fmt.Errorf("workbench: seed: role %q: %w", r.Key, err)
		}
		enabled := r.Enabled == nil || *r.Enabled
		c.Roles = append(c.Roles, store.WBRole{Key: r.Key, Name: r.Name, Identity: r.Identity, Rule: r.Rule, Workbench: r.Key,
			Priority: r.Priority, Enabled: enabled})
		name := r.Workbench.Name
		if trimmed(name) == "" {
			name = r.Name
		}
		c.Workbenches = append(c.Workbenches, store.WBWorkbench{Key: r.Key, Name: name})
		for si, sec := range r.Workbench.Sections {
			secID++
			if trimmed(sec.Title) == "" {
				return c, nil, fmt.Errorf("workbench: seed: role %q: section %d has no title", r.Key, si+1)
			}
			c.Sections = append(c.Sections, store.WBSection{ID: secID, Workbench: r.Key, Title: sec.Title, Sort: si + 1})
			for ti, t := range sec.Tiles {
				tileID++
				if !mods[t.Module] {
					return c, nil, fmt.Errorf("workbench: seed: role %q: section %q: no module %q", r.Key, sec.Title, t.Module)
				}
				if err := validateRule("visible", t.Visible, true); err != nil {
					return c, nil, fmt.Errorf("workbench: seed: role %q: tile %s: %w", r.Key, t.Module, err)
				}
				c.Tiles = append(c.Tiles, store.WBTile{ID: tileID, Section: secID, Workbench: r.Key, Module: t.Module, Visible: t.Visible, Sort: ti + 1})
			}
		}
	}
	var content []store.CampusContent
	keys := map[string]bool{}
	for i, ct := range f.Content {
		item := Content{Key: ct.Key, Kind: ct.Kind, Title: ct.Title, Body: ct.Body, Sort: i + 1}
		if ct.Published != "" {
			t, err := parseDate(ct.Published)
			if err != nil {
				return c, nil, fmt.Errorf("workbench: seed: content %q: published: %w", ct.Key, err)
			}
			item.Published = t
		}
		switch {
		case !keyPattern.MatchString(ct.Key) || keys[ct.Key]:
			return c, nil, fmt.Errorf("workbench: seed: content %q: key is not a key or appears twice", ct.Key)
		case ct.Kind != ContentSection && ct.Kind != ContentNotice && ct.Kind != ContentNews:
			return c, nil, fmt.Errorf("workbench: seed: content %q: kind %q is not section, notice or news", ct.Key, ct.Kind)
		case trimmed(ct.Title) == "":
			return c, nil, fmt.Errorf("workbench: seed: content %q: title is empty", ct.Key)
		}
		keys[ct.Key] = true
		content = append(content, contentToStore(item))
	}
	return c, content, nil
}

// parseDate reads a seed date ("2026-11-20" or with a time) in the
// university's zone.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.ParseInLocation(layout, s, academicTZ); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date like 2026-11-20", s)
}
