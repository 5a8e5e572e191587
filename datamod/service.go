package datamod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
)

// Dialects of the shared database.
const (
	DialectSQLite = "sqlite"
	DialectMySQL  = "mysql"
)

// DefaultTimeout bounds one query of a module without its own Timeout.
const DefaultTimeout = 2 * time.Second

// FigureTimeout caps a tile's figure query: the workbench renders many
// tiles at once, and a slow source must not hold the whole page.
const FigureTimeout = 300 * time.Millisecond

// DefaultPageSize is a list's page without the definition's PageSize.
const DefaultPageSize = 50

// Options builds a Service.
type Options struct {
	// Shared is the shared database, opened read-only (Open). Nil: every
	// module is Unavailable (no shared database configured).
	Shared *sqlx.DB
	// Dialect is Shared's: "sqlite" or "mysql".
	Dialect string
	// DB is our own database: the definitions (dm_definitions) and who
	// counsels whom (dc_students.counselor_no).
	DB     *store.DB
	Logger *zap.Logger
	Now    func() time.Time
}

// Service runs the data modules. It implements Source.
type Service struct {
	shared  *sqlx.DB
	dialect string
	db      *store.DB
	log     *zap.Logger
	now     func() time.Time

	mu      sync.Mutex
	logged  map[string]time.Time // module → last ErrUnavailable logged
	cache   []Definition         // the definitions, by key
	cacheAt time.Time
}

var _ Source = (*Service)(nil)

// definitionsTTL is how long the definitions are kept in memory: each
// workbench render asks for several, and a console edit on another
// instance shows within this.
const definitionsTTL = 5 * time.Second

// New builds the service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Dialect == "" {
		o.Dialect = DialectSQLite
	}
	return &Service{shared: o.Shared, dialect: o.Dialect, db: o.DB, log: o.Logger, now: o.Now, logged: map[string]time.Time{}}
}

// OpenOptions says how to reach the shared database (config.Shared: the
// lead builds it from cfg.Shared, as only cmd/wecomapp imports config).
type OpenOptions struct {
	// Driver is "sqlite" or "mysql".
	Driver string
	// DSN is a SQLite file ("file:data/shared.db") or a MySQL DSN.
	// Production must give MySQL credentials of a read-only account
	// (GRANT SELECT only): the queries built here only read, and the
	// account is what guarantees it. SQLite is opened with mode=ro and
	// query_only, so even a bug cannot write the demo's file.
	DSN          string
	MaxOpenConns int
}

// Open connects to the shared database read-only and pings it. It
// returns the handle and its dialect for Options.
func Open(ctx context.Context, o OpenOptions) (*sqlx.DB, string, error) {
	var driver, dsn string
	maxOpen := o.MaxOpenConns
	switch o.Driver {
	case DialectMySQL:
		cfg, err := mysql.ParseDSN(o.DSN)
		if err != nil {
			return nil, "", fmt.Errorf("datamod: parse shared mysql dsn: %w", err)
		}
		// Dates come back as text: the formats parse them, whatever the
		// column type.
		cfg.ParseTime = false
		cfg.Loc = time.UTC
		cfg.Collation = "utf8mb4_unicode_ci"
		cfg.MultiStatements = false
		cfg.InterpolateParams = true
		if cfg.Timeout == 0 {
			cfg.Timeout = 2 * time.Second
		}
		driver, dsn = "mysql", cfg.FormatDSN()
		if maxOpen == 0 {
			maxOpen = 20
		}
	case DialectSQLite:
		path, query, _ := strings.Cut(strings.TrimPrefix(o.DSN, "file:"), "?")
		if path == "" {
			return nil, "", errors.New("datamod: shared sqlite dsn names no file")
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, "", fmt.Errorf("datamod: shared sqlite dsn query: %w", err)
		}
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "busy_timeout(1000)")
		driver, dsn = "sqlite", "file:"+path+"?"+q.Encode()
		if maxOpen == 0 {
			maxOpen = 8
		}
	default:
		return nil, "", fmt.Errorf("datamod: unknown shared driver %q", o.Driver)
	}
	x, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, "", fmt.Errorf("datamod: open shared %s: %w", driver, err)
	}
	x.SetMaxOpenConns(maxOpen)
	x.SetMaxIdleConns(maxOpen)
	x.SetConnMaxLifetime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := x.PingContext(pctx); err != nil {
		x.Close()
		return nil, "", fmt.Errorf("datamod: connect to shared %s: %w", driver, err)
	}
	return x, o.Driver, nil
}

// Ping checks the shared database answers.
func (s *Service) Ping(ctx context.Context) error {
	if s.shared == nil {
		return fmt.Errorf("datamod: no shared database configured: %w", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	if err := s.shared.PingContext(ctx); err != nil {
		return fmt.Errorf("datamod: ping shared database: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Definitions lists the modules' definitions by key.
func (s *Service) Definitions(ctx context.Context) ([]Definition, error) {
	s.mu.Lock()
	if s.cache != nil && s.now().Sub(s.cacheAt) < definitionsTTL {
		out := make([]Definition, len(s.cache))
		for i, d := range s.cache {
			out[i] = d.clone()
		}
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()
	rows, err := s.db.DMDefinitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("datamod: load definitions: %w", err)
	}
	out := make([]Definition, 0, len(rows))
	for _, r := range rows {
		var d Definition
		if err := json.Unmarshal([]byte(r.Definition), &d); err != nil {
			s.log.Error("datamod: a stored definition does not parse; skipped", zap.String("module", r.Key), zap.Error(err))
			continue
		}
		d.Key = r.Key
		out = append(out, d)
	}
	s.mu.Lock()
	s.cache, s.cacheAt = make([]Definition, len(out)), s.now()
	for i, d := range out {
		s.cache[i] = d.clone()
	}
	s.mu.Unlock()
	return out, nil
}

// clone is a deep copy: callers may edit what they are given (the
// console's form) without changing the cache.
func (d Definition) clone() Definition {
	c := d
	c.Fields = append([]Field(nil), d.Fields...)
	c.Filters = append([]Filter(nil), d.Filters...)
	c.Sort = append([]Sort(nil), d.Sort...)
	if d.Week != nil {
		w := *d.Week
		c.Week = &w
	}
	cloneFigure := func(f Figure) Figure {
		if f.Where != nil {
			m := make(map[string]string, len(f.Where))
			for k, v := range f.Where {
				m[k] = v
			}
			f.Where = m
		}
		return f
	}
	if d.Tile != nil {
		t := cloneFigure(*d.Tile)
		c.Tile = &t
	}
	c.Summary = nil
	for _, f := range d.Summary {
		c.Summary = append(c.Summary, cloneFigure(f))
	}
	return c
}

// Definition is one module's definition; ErrNotFound when there is none.
func (s *Service) Definition(ctx context.Context, key string) (Definition, error) {
	ds, err := s.Definitions(ctx)
	if err != nil {
		return Definition{}, err
	}
	for _, d := range ds {
		if d.Key == key {
			return d, nil
		}
	}
	return Definition{}, fmt.Errorf("datamod: module %q: %w", key, ErrNotFound)
}

// Put validates def and saves it (the console's edit; the caller audits
// it). A definition with problems is refused with them all in the error
// (a *ProblemsError).
func (s *Service) Put(ctx context.Context, def Definition, by string) error {
	if ps := s.Validate(ctx, def); len(ps) > 0 {
		return &ProblemsError{Problems: ps}
	}
	b, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("datamod: encode definition %s: %w", def.Key, err)
	}
	if err := s.db.PutDMDefinition(ctx, store.DMDefinition{Key: def.Key, Definition: string(b), UpdatedBy: by, UpdatedAt: s.now()}); err != nil {
		return fmt.Errorf("datamod: save definition %s: %w", def.Key, err)
	}
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
	return nil
}

// ProblemsError is Put's refusal: every problem of the definition.
type ProblemsError struct{ Problems []Problem }

func (e *ProblemsError) Error() string {
	var b strings.Builder
	b.WriteString("datamod: definition refused:")
	for _, p := range e.Problems {
		b.WriteString(" ")
		b.WriteString(p.String())
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Seed saves the shipped definitions (datamod/shipped/*.yaml) that our
// database does not have yet; definitions edited in the console stay.
func (s *Service) Seed(ctx context.Context) error {
	defs, err := Shipped()
	if err != nil {
		return err
	}
	rows := make([]store.DMDefinition, 0, len(defs))
	for _, d := range defs {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("datamod: encode shipped definition %s: %w", d.Key, err)
		}
		rows = append(rows, store.DMDefinition{Key: d.Key, Definition: string(b), UpdatedBy: "system", UpdatedAt: s.now()})
	}
	if _, err := s.db.SeedDMDefinitions(ctx, rows); err != nil {
		return fmt.Errorf("datamod: seed definitions: %w", err)
	}
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
	return nil
}

// Students are the students v counsels, by userid and name.
func (s *Service) Students(ctx context.Context, v Viewer) ([][2]string, error) {
	out, err := s.db.DMCounselees(ctx, v.UserID)
	if err != nil {
		return nil, fmt.Errorf("datamod: students of %s: %w", v.UserID, err)
	}
	return out, nil
}

// subject resolves whose rows v asks for: v's own, or a student's when v
// counsels them and def allows it; anything else is ErrNotFound.
func (s *Service) subject(ctx context.Context, def Definition, v Viewer, subject string) (string, error) {
	if v.UserID == "" {
		return "", fmt.Errorf("datamod: no viewer: %w", ErrNotFound)
	}
	if subject == "" || subject == v.UserID {
		return v.UserID, nil
	}
	if !def.Counselors {
		return "", fmt.Errorf("datamod: %s: %s may not see %s's rows: %w", def.Key, v.UserID, subject, ErrNotFound)
	}
	ok, err := s.db.DMCounsels(ctx, v.UserID, subject)
	if err != nil {
		return "", fmt.Errorf("datamod: whether %s counsels %s: %w", v.UserID, subject, err)
	}
	if !ok {
		return "", fmt.Errorf("datamod: %s: %s does not counsel %s: %w", def.Key, v.UserID, subject, ErrNotFound)
	}
	return subject, nil
}

// unavailable wraps a shared-database failure of module key as
// ErrUnavailable, logging it at most once a minute per module (a source
// down would otherwise log on every tile of every workbench render).
func (s *Service) unavailable(key string, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	now := s.now()
	s.mu.Lock()
	last, seen := s.logged[key]
	log := !seen || now.Sub(last) >= time.Minute
	if log {
		s.logged[key] = now
	}
	s.mu.Unlock()
	if log {
		s.log.Warn("datamod: the shared database did not answer a module's query; it shows as unavailable",
			zap.String("module", key), zap.Error(err))
	}
	return fmt.Errorf("datamod: query module %s: %w: %w", key, ErrUnavailable, err)
}

// timeout is def's query bound.
func timeout(def Definition) time.Duration {
	if def.Timeout > 0 {
		return def.Timeout
	}
	return DefaultTimeout
}

// isNoRows tells an absent row from a failure.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
