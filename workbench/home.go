package workbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
)

// Held is one identity a person holds: an entry of the identity switcher.
type Held struct {
	Role, Name, Workbench string
	Detail                string // the matched record's label
	Priority              int
}

// Home is a person's workbench page as the identity they act as.
type Home struct {
	Person        Person
	Identities    []Held // priority desc
	Current       Held
	Workbench     string // key
	WorkbenchName string
	Sections      []Section
	Favourites    []Tile // visible under the current identity, in the order added
	Recent        []Tile // visible under the current identity, last used first
}

// Section is an ordered group of tiles.
type Section struct {
	Title string
	Tiles []Tile
}

// Tile is one module on a page.
type Tile struct {
	Module, Name, Icon, Category, Summary, Kind, Status, Href string
	Keywords                                                  []string // for Search
	Badge                                                     int
	BadgeUnavailable                                          bool // the badge's source failed or timed out
	// Figure is the tile's key figure (校园卡 "余额 ¥123.45"), from the
	// figure source; FigureUnavailable: that source failed or timed out.
	Figure            string
	FigureUnavailable bool
	Favourite         bool
}

// recentKeep is how many recently used modules a person keeps.
const recentKeep = 8

// badgeTimeout bounds each badge source: a slow one costs its figure, not
// the page.
const badgeTimeout = 300 * time.Millisecond

// held is an identity with the record it matched.
type held struct {
	Held
	role *roleEntry
	rec  int
}

// resolve evaluates every enabled role on the record of its kind.
func (s *Service) resolve(c *catalog, p *Person) []held {
	var out []held
	for _, r := range c.roles {
		if !r.Enabled || r.rule == nil {
			continue
		}
		for i := range p.Records {
			rec := &p.Records[i]
			if rec.Env.Kind != r.Identity {
				continue
			}
			if r.rule.eval(&rec.Env, func(err error) {
				s.log.Warn("workbench: role rule failed at run time; counted false", zap.String("role", r.Key), zap.Error(err))
			}) {
				out = append(out, held{Held: Held{Role: r.Key, Name: r.Name, Workbench: r.Workbench, Detail: rec.Label, Priority: r.Priority}, role: r, rec: i})
				break
			}
		}
	}
	return out // c.roles is in priority order already
}

// Identities lists the identities p holds, highest priority first.
func (s *Service) Identities(ctx context.Context, p Person) []Held {
	hs := s.resolve(s.current(ctx), &p)
	out := make([]Held, len(hs))
	for i, h := range hs {
		out[i] = h.Held
	}
	return out
}

// pick chooses the identity: role when given (ErrNotHeld if not held),
// else the remembered one if still held, else the highest priority.
func pick(hs []held, role, remembered string) (held, error) {
	if len(hs) == 0 {
		return held{}, fmt.Errorf("workbench: the person holds no identity: %w", ErrNotHeld)
	}
	want := role
	if want == "" {
		want = remembered
	}
	for _, h := range hs {
		if h.Role == want {
			return h, nil
		}
	}
	if role != "" {
		return held{}, fmt.Errorf("workbench: role %s: %w", role, ErrNotHeld)
	}
	return hs[0], nil
}

// Home returns the person's workbench as role ("" = the remembered
// choice, else the highest-priority held role). An explicit role that
// differs from the remembered one becomes the remembered one. A role the
// person lacks, or a person holding no identity at all, is ErrNotHeld; an
// unknown userid is ErrNotMember.
func (s *Service) Home(ctx context.Context, userID, role string) (*Home, error) {
	return s.home(ctx, userID, role, true)
}

// Preview is Home for an admin previewing a person: it records nothing.
func (s *Service) Preview(ctx context.Context, userID, role string) (*Home, error) {
	return s.home(ctx, userID, role, false)
}

func (s *Service) home(ctx context.Context, userID, role string, record bool) (*Home, error) {
	c := s.current(ctx)
	p, prefs, err := s.person(ctx, userID)
	if err != nil {
		return nil, err
	}
	hs := s.resolve(c, &p)
	cur, err := pick(hs, role, prefs.Identity)
	if err != nil {
		return nil, err
	}
	if record && role != "" && role != prefs.Identity {
		if err := s.db.SetPersonIdentity(ctx, userID, role, s.now()); err != nil {
			return nil, fmt.Errorf("workbench: home of %s: %w", userID, err)
		}
	}
	h := &Home{Person: p, Current: cur.Held, Workbench: cur.Workbench, Identities: make([]Held, len(hs))}
	for i, x := range hs {
		h.Identities[i] = x.Held
	}
	favs, recent, err := s.db.PersonActivity(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("workbench: home of %s: %w", userID, err)
	}
	isFav := make(map[string]bool, len(favs))
	for _, f := range favs {
		isFav[f] = true
	}
	visible := map[string]*Module{}
	if w := c.workbenches[cur.Workbench]; w != nil {
		h.WorkbenchName = w.name
		env := &p.Records[cur.rec].Env
		for _, sec := range w.sections {
			out := Section{Title: sec.title}
			for _, t := range sec.tiles {
				if !s.tileVisible(c, t, env) {
					continue
				}
				visible[t.module.Key] = t.module
				out.Tiles = append(out.Tiles, tileOf(t.module, isFav[t.module.Key]))
			}
			if len(out.Tiles) > 0 {
				h.Sections = append(h.Sections, out)
			}
		}
	}
	for _, f := range favs {
		if m := visible[f]; m != nil {
			h.Favourites = append(h.Favourites, tileOf(m, true))
		}
	}
	for _, r := range recent {
		if m := visible[r]; m != nil && len(h.Recent) < recentKeep {
			h.Recent = append(h.Recent, tileOf(m, isFav[r]))
		}
	}
	if record {
		// Key figures are personal data (a balance, a salary): an admin's
		// preview shows the tiles without them. They are computed beside
		// the badges, under the same deadline.
		done := make(chan struct{})
		go func() { defer close(done); s.fillFigures(ctx, c, h) }()
		s.fillBadges(ctx, c, h, prefs)
		<-done
	} else {
		s.fillBadges(ctx, c, h, prefs)
	}
	return h, nil
}

func (s *Service) tileVisible(c *catalog, t *tileEntry, env *Env) bool {
	if t.visible == nil {
		return false
	}
	return t.visible.eval(env, func(err error) {
		s.log.Warn("workbench: tile rule failed at run time; counted false", zap.Int64("tile", t.id),
			zap.String("module", t.module.Key), zap.String("version", c.version), zap.Error(err))
	})
}

func tileOf(m *Module, fav bool) Tile {
	return Tile{Module: m.Key, Name: m.Name, Icon: m.Icon, Category: m.Category, Summary: m.Summary, Kind: m.Kind,
		Status: m.Status, Href: m.Href(), Keywords: m.Keywords, Favourite: fav}
}

// badgeSource computes a badge; prefs are the person's, already read.
type badgeSource func(ctx context.Context, userID string, prefs store.PersonPrefs) (int, error)

// RegisterBadge makes fn the source of the badge named name (a module's
// Badge). It is called once per page with a 300 ms deadline; an error or a
// timeout marks the tiles BadgeUnavailable.
func (s *Service) RegisterBadge(name string, fn func(ctx context.Context, userID string) (int, error)) {
	s.badgeMu.Lock()
	defer s.badgeMu.Unlock()
	s.badges[name] = func(ctx context.Context, userID string, _ store.PersonPrefs) (int, error) { return fn(ctx, userID) }
}

// noticesBadge counts the notices published since the person last read
// them, from the catalog in memory: no query.
func (s *Service) noticesBadge(ctx context.Context, _ string, prefs store.PersonPrefs) (int, error) {
	c, now := s.cat.Load(), store.Millis(s.now())
	n := 0
	for _, at := range c.notices {
		if at > prefs.NoticesReadAt && at <= now {
			n++
		}
	}
	return n, nil
}

// Badge computes one badge source for a person, as their page would show
// it: the key figures of their WeCom workbench tile come from here.
func (s *Service) Badge(ctx context.Context, name, userID string) (int, error) {
	s.badgeMu.RLock()
	fn := s.badges[name]
	s.badgeMu.RUnlock()
	if fn == nil {
		return 0, fmt.Errorf("workbench: badge %q: no source", name)
	}
	_, prefs, err := s.person(ctx, userID)
	if err != nil {
		return 0, err
	}
	bctx, cancel := context.WithTimeout(ctx, badgeTimeout)
	defer cancel()
	n, err := fn(bctx, userID, prefs)
	if err != nil {
		return 0, fmt.Errorf("workbench: badge %s of %s: %w", name, userID, err)
	}
	return n, nil
}

type badgeResult struct {
	n  int
	ok bool
}

// fillBadges computes each badge source the page shows, in parallel.
func (s *Service) fillBadges(ctx context.Context, c *catalog, h *Home, prefs store.PersonPrefs) {
	var names []string
	each := func(fn func(t *Tile)) {
		for i := range h.Sections {
			for j := range h.Sections[i].Tiles {
				fn(&h.Sections[i].Tiles[j])
			}
		}
		for i := range h.Favourites {
			fn(&h.Favourites[i])
		}
		for i := range h.Recent {
			fn(&h.Recent[i])
		}
	}
	each(func(t *Tile) {
		if m := c.modules[t.Module]; m != nil && m.Badge != "" && !slices.Contains(names, m.Badge) {
			names = append(names, m.Badge)
		}
	})
	if len(names) == 0 {
		return
	}
	results := make(map[string]badgeResult, len(names))
	type answer struct {
		name string
		badgeResult
	}
	ch := make(chan answer, len(names))
	s.badgeMu.RLock()
	for _, name := range names {
		fn := s.badges[name]
		if fn == nil {
			// No source yet (its capability comes later): no badge, rather
			// than a warning sign that looks like a failure.
			ch <- answer{name, badgeResult{0, true}}
			continue
		}
		go func() {
			bctx, cancel := context.WithTimeout(ctx, badgeTimeout)
			defer cancel()
			done := make(chan answer, 1)
			go func() {
				n, err := fn(bctx, h.Person.UserID, prefs)
				if err != nil {
					s.log.Warn("workbench: badge source failed", zap.String("badge", name), zap.Error(err))
				}
				done <- answer{name, badgeResult{n, err == nil}}
			}()
			select {
			case a := <-done:
				ch <- a
			case <-bctx.Done():
				// A source that ignores its context is abandoned, not waited for.
				if !errors.Is(ctx.Err(), context.Canceled) {
					s.log.Warn("workbench: badge source timed out", zap.String("badge", name))
				}
				ch <- answer{name: name}
			}
		}()
	}
	s.badgeMu.RUnlock()
	for range names {
		a := <-ch
		results[a.name] = a.badgeResult
	}
	each(func(t *Tile) {
		m := c.modules[t.Module]
		if m == nil || m.Badge == "" {
			return
		}
		r := results[m.Badge]
		t.Badge, t.BadgeUnavailable = r.n, !r.ok
	})
}

// SetIdentity remembers role as the identity the person acts as, if they
// hold it (else ErrNotHeld).
func (s *Service) SetIdentity(ctx context.Context, userID, role string) error {
	c := s.current(ctx)
	p, _, err := s.person(ctx, userID)
	if err != nil {
		return err
	}
	if role == "" {
		return fmt.Errorf("workbench: set identity of %s: no role: %w", userID, ErrNotHeld)
	}
	if _, err := pick(s.resolve(c, &p), role, ""); err != nil {
		return err
	}
	if err := s.db.SetPersonIdentity(ctx, userID, role, s.now()); err != nil {
		return fmt.Errorf("workbench: set identity of %s: %w", userID, err)
	}
	return nil
}

// Favourite adds (on) or removes module from the person's favourites.
func (s *Service) Favourite(ctx context.Context, userID, module string, on bool) error {
	if on && s.current(ctx).modules[module] == nil {
		return fmt.Errorf("workbench: favourite %s: unknown module: %w", module, ErrNotVisible)
	}
	if err := s.db.SetFavourite(ctx, userID, module, on, s.now()); err != nil {
		return fmt.Errorf("workbench: favourite %s of %s: %w", module, userID, err)
	}
	return nil
}

// Used records that the person opened module (their recent list keeps the
// last 8).
func (s *Service) Used(ctx context.Context, userID, module string) error {
	if s.current(ctx).modules[module] == nil {
		return fmt.Errorf("workbench: used %s: unknown module: %w", module, ErrNotVisible)
	}
	if err := s.db.TouchRecent(ctx, userID, module, s.now(), recentKeep); err != nil {
		return fmt.Errorf("workbench: used %s by %s: %w", module, userID, err)
	}
	return nil
}

// Module returns the module key if it is on the person's workbench as role
// ("" = the remembered choice) and visible to them, else ErrNotVisible (so
// a guessed URL never opens it); a role the person lacks is ErrNotVisible
// and ErrNotHeld.
func (s *Service) Module(ctx context.Context, userID, role, key string) (Module, error) {
	c := s.current(ctx)
	p, prefs, err := s.person(ctx, userID)
	if err != nil {
		return Module{}, err
	}
	cur, err := pick(s.resolve(c, &p), role, prefs.Identity)
	if err != nil {
		// Not held means not visible either: a caller checking only
		// ErrNotVisible still refuses.
		return Module{}, fmt.Errorf("workbench: module %s for %s: %w: %w", key, userID, ErrNotVisible, err)
	}
	if w := c.workbenches[cur.Workbench]; w != nil {
		env := &p.Records[cur.rec].Env
		for _, sec := range w.sections {
			for _, t := range sec.tiles {
				if t.module.Key == key && s.tileVisible(c, t, env) {
					return *t.module, nil
				}
			}
		}
	}
	return Module{}, fmt.Errorf("workbench: module %s for %s as %s: %w", key, userID, cur.Role, ErrNotVisible)
}

// Search returns the Home's tiles (every section) whose name, category,
// summary or a keyword contains q, ignoring case; each module once.
func Search(h *Home, q string) []Tile {
	q = strings.ToLower(strings.TrimSpace(q))
	if h == nil || q == "" {
		return nil
	}
	var out []Tile
	seen := map[string]bool{}
	for _, sec := range h.Sections {
		for _, t := range sec.Tiles {
			if seen[t.Module] || !tileMatches(t, q) {
				continue
			}
			seen[t.Module] = true
			out = append(out, t)
		}
	}
	return out
}

func tileMatches(t Tile, q string) bool {
	for _, f := range [...]string{t.Name, t.Category, t.Summary} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	for _, k := range t.Keywords {
		if strings.Contains(strings.ToLower(k), q) {
			return true
		}
	}
	return false
}
