package workbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/store"
)

// Sentinel errors.
var (
	// ErrNotMember is returned by Person for a userid none of our records know.
	ErrNotMember = errors.New("workbench: not in our records")
	// ErrNotHeld is returned by SetIdentity and Home for a role the person lacks.
	ErrNotHeld = errors.New("workbench: identity not held")
	// ErrNotVisible is returned by Module for a module not on the person's
	// current workbench, so a guessed URL never opens it.
	ErrNotVisible = errors.New("workbench: module not visible")
)

// ValidationError is an admin save refused: which field and what is wrong.
type ValidationError struct{ Field, Msg string }

// Error says which field is wrong and why.
func (e *ValidationError) Error() string { return "workbench: " + e.Field + ": " + e.Msg }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// versionKey is the coord key every admin save bumps.
const versionKey = "workbench:catalog-version"

// refreshEvery bounds how long an instance trusts what it loaded when the
// version has not moved: org sync rewrites dc_departments outside the
// console, and a save whose version bump was lost still shows within it.
const refreshEvery = time.Minute

// Options configures a Service.
type Options struct {
	// Coord carries the catalog version between instances; nil means an
	// in-process store (a single instance).
	Coord coord.Store
	// Logger; nil means none.
	Logger *zap.Logger
	// Now is the clock (tests inject one); nil means time.Now.
	Now func() time.Time
	// Reload is how often an instance checks the catalog version; 0 means 2s.
	Reload time.Duration
	// FiguresChanged is told when a person's key figures (their badges) may
	// have changed: for userIDs, or for everyone (a notice was published).
	// The WeCom workbench tiles are refreshed from it. Nil: nobody listens.
	FiguresChanged func(ctx context.Context, everyone bool, userIDs []string)
}

// Service resolves identities and workbenches and edits the catalog.
type Service struct {
	db     *store.DB
	coord  coord.Store
	log    *zap.Logger
	now    func() time.Time
	reload time.Duration
	// holders caches Holders for one catalog.
	holdersMu  sync.Mutex
	holders    map[string]int
	holdersCat *catalog
	holdersAt  time.Time
	// changed is Options.FiguresChanged, or nil.
	changed func(ctx context.Context, everyone bool, userIDs []string)

	cat       atomic.Pointer[catalog]
	depts     atomic.Pointer[deptTree]
	checkedAt atomic.Int64 // Unix ns of the last version check
	reloadMu  sync.Mutex   // one reload at a time

	badgeMu sync.RWMutex
	badges  map[string]badgeSource

	// figures is the source of the tiles' key figures (RegisterFigures).
	figures atomic.Pointer[FigureSource]
}

// New loads the catalog and the department tree. An empty catalog is
// valid (Seed fills it).
func New(ctx context.Context, db *store.DB, opts Options) (*Service, error) {
	s := &Service{db: db, coord: opts.Coord, log: opts.Logger, now: opts.Now, reload: opts.Reload, badges: map[string]badgeSource{}, changed: opts.FiguresChanged}
	if s.coord == nil {
		s.coord = coord.NewMemory(nil)
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.reload <= 0 {
		s.reload = 2 * time.Second
	}
	s.badges["notices"] = s.noticesBadge
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the catalog and the department tree from the database now,
// whatever the version says.
func (s *Service) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	v, err := s.version(ctx)
	if err != nil {
		return err
	}
	return s.load(ctx, v)
}

// load reads everything under reloadMu and tags it with version v.
func (s *Service) load(ctx context.Context, v string) error {
	raw, err := s.db.LoadWBCatalog(ctx)
	if err != nil {
		return fmt.Errorf("workbench: load catalog: %w", err)
	}
	content, err := s.db.CampusContents(ctx)
	if err != nil {
		return fmt.Errorf("workbench: load catalog: %w", err)
	}
	c := buildCatalog(raw, content, s.log)
	c.version = v
	depts, err := s.db.DCDepartments(ctx)
	if err != nil {
		return fmt.Errorf("workbench: load departments: %w", err)
	}
	s.depts.Store(newDeptTree(depts, s.now()))
	s.cat.Store(c)
	s.checkedAt.Store(s.now().UnixNano())
	return nil
}

// version reads the catalog version from coord ("" before any save).
func (s *Service) version(ctx context.Context) (string, error) {
	b, err := s.coord.Get(ctx, versionKey)
	if errors.Is(err, coord.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("workbench: read catalog version: %w", err)
	}
	return string(b), nil
}

// bump gives the catalog a new version, so every instance reloads, and
// reloads this one at once.
func (s *Service) bump(ctx context.Context) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	v := strconv.FormatInt(s.now().UnixMilli(), 10) + "-" + hex.EncodeToString(rnd[:])
	if err := s.coord.Set(ctx, versionKey, []byte(v), 0); err != nil {
		// The change is committed; other instances see it with the next
		// bump, or within refreshEvery.
		s.log.Error("workbench: bump catalog version", zap.Error(err))
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if err := s.load(ctx, v); err != nil {
		// The change is committed: the save succeeded. This instance still
		// holds an older version, so its next check reloads.
		s.log.Warn("workbench: reload after save failed", zap.Error(err))
	}
}

// current returns the catalog, first checking the version when the last
// check is older than Options.Reload (and reloading everything when the
// version moved or the load is older than refreshEvery). A failing check keeps the catalog
// in hand: a page served from a catalog seconds old beats an error.
func (s *Service) current(ctx context.Context) *catalog {
	now := s.now()
	if now.UnixNano()-s.checkedAt.Load() < int64(s.reload) {
		return s.cat.Load()
	}
	if !s.reloadMu.TryLock() {
		return s.cat.Load() // another request is checking
	}
	defer s.reloadMu.Unlock()
	s.checkedAt.Store(now.UnixNano())
	v, err := s.version(ctx)
	if err != nil {
		s.log.Warn("workbench: catalog version check failed", zap.Error(err))
		return s.cat.Load()
	}
	if v != s.cat.Load().version || now.Sub(s.depts.Load().loaded) >= refreshEvery {
		if err := s.load(ctx, v); err != nil {
			s.log.Warn("workbench: catalog reload failed", zap.Error(err))
		}
	}
	return s.cat.Load()
}
