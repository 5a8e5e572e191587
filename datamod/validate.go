package datamod

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// identRe is every identifier a definition may name (module key, source,
// columns): only these reach SQL, quoted, so a definition cannot inject.
var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)

// ValidIdent reports whether s may name a source or a column.
func ValidIdent(s string) bool { return identRe.MatchString(s) }

// Problem is one thing wrong with a definition, named by its path in the
// definition (fields[2].column) for the console to show next to it.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// column is a source column as the shared database describes it.
type column struct {
	Type    string
	Numeric bool
	Known   bool // the type is declared (a view's computed column may have none)
}

// Validate checks def against the rules and the shared database's actual
// columns: every identifier well-formed, the source and every column
// present, a week view's Week complete, sums and weighted averages over
// numeric columns. Nil means def may be saved.
func (s *Service) Validate(ctx context.Context, def Definition) []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	ident := func(path, v string) bool {
		if v == "" {
			add(path, "is required")
			return false
		}
		if !ValidIdent(v) {
			add(path, "%q is not an identifier (lower-case letters, digits and _, at most 64, not starting with a digit)", v)
			return false
		}
		return true
	}
	ident("key", def.Key)
	if strings.TrimSpace(def.Title) == "" {
		add("title", "is required")
	}
	var cols map[string]column
	if ident("source", def.Source) {
		c, err := s.columns(ctx, def.Source)
		switch {
		case err != nil:
			add("source", "the shared database did not answer (%v); try again when it is back", err)
		case len(c) == 0:
			add("source", "no table or view %q in the shared database", def.Source)
		default:
			cols = c
		}
	}
	// col checks an identifier naming a column of the source.
	col := func(path, v string) (column, bool) {
		if !ident(path, v) {
			return column{}, false
		}
		if cols == nil {
			return column{}, false
		}
		c, ok := cols[v]
		if !ok {
			add(path, "no column %q in %s", v, def.Source)
		}
		return c, ok
	}
	col("person", def.Person)
	col("row_key", def.RowKey)
	if len(def.Fields) == 0 {
		add("fields", "at least one field is required")
	}
	listed := false
	for _, f := range def.Fields {
		listed = listed || f.List
	}
	if len(def.Fields) > 0 && !listed {
		add("fields", "no field is shown in the list (list: true)")
	}
	seen := map[string]bool{}
	for i, f := range def.Fields {
		p := fmt.Sprintf("fields[%d]", i)
		col(p+".column", f.Column)
		if seen[f.Column] {
			add(p+".column", "%q is shown twice", f.Column)
		}
		seen[f.Column] = true
		if strings.TrimSpace(f.Label) == "" {
			add(p+".label", "is required")
		}
		if !validFormat(f.Format) {
			add(p+".format", "%q is not a format", f.Format)
		}
		if f.Decimals < 0 || f.Decimals > 6 {
			add(p+".decimals", "%d is outside 0..6", f.Decimals)
		}
		switch f.Sensitive {
		case NotSensitive, IDNumber, Phone, Salary:
		default:
			add(p+".sensitive", "%q is not a kind of sensitive field", f.Sensitive)
		}
	}
	for i, f := range def.Filters {
		p := fmt.Sprintf("filters[%d]", i)
		col(p+".column", f.Column)
		if strings.TrimSpace(f.Label) == "" {
			add(p+".label", "is required")
		}
		switch f.Kind {
		case FilterChoice, FilterText, FilterRange:
		default:
			add(p+".kind", "%q is not a filter kind (choice, text, date_range)", f.Kind)
		}
	}
	for i, o := range def.Sort {
		col(fmt.Sprintf("sort[%d].column", i), o.Column)
	}
	switch def.View {
	case "", ListView:
	case WeekView:
		if def.Week == nil {
			add("week", "a week view names its columns: weekday, start_period, end_period, title, subtitle")
			break
		}
		w := def.Week
		for _, c := range []struct{ path, v string }{{"week.weekday", w.Weekday}, {"week.start_period", w.StartPeriod},
			{"week.end_period", w.EndPeriod}, {"week.title", w.Title}} {
			col(c.path, c.v)
		}
		for _, c := range []struct{ path, v string }{{"week.subtitle", w.Subtitle}, {"week.weeks", w.Weeks}, {"week.semester", w.Semester}} {
			if c.v != "" {
				col(c.path, c.v)
			}
		}
		if w.Semester != "" && cols != nil {
			// The current semester and its first day come from the
			// semesters table (Week.Semester).
			sc, err := s.columns(ctx, "semesters")
			_, hasSem := sc["semester"]
			_, hasStart := sc["start_date"]
			if err != nil || !hasSem || !hasStart {
				add("week.semester", "the shared database has no semesters table with semester and start_date (YYYY-MM-DD), which the teaching week counts from")
			}
		}
	default:
		add("view", "%q is not a view (list, week)", def.View)
	}
	figure := func(p string, f Figure) {
		if strings.TrimSpace(f.Label) == "" {
			add(p+".label", "is required")
		}
		if !validFormat(f.Format) {
			add(p+".format", "%q is not a format", f.Format)
		}
		numeric := func(path, v string) {
			if c, ok := col(path, v); ok && c.Known && !c.Numeric {
				add(path, "%q is %s, not a number", v, c.Type)
			}
		}
		switch f.Agg {
		case Count:
			if f.Column != "" {
				col(p+".column", f.Column)
			}
		case Sum:
			numeric(p+".column", f.Column)
		case Latest:
			col(p+".column", f.Column)
		case WeightedAvg:
			numeric(p+".column", f.Column)
			numeric(p+".weight", f.Weight)
		default:
			add(p+".agg", "%q is not an aggregate (count, sum, latest, weighted_avg)", f.Agg)
		}
		for c := range f.Where {
			col(p+".where", c)
		}
	}
	if def.Tile != nil {
		figure("tile", *def.Tile)
	}
	for i, f := range def.Summary {
		figure(fmt.Sprintf("summary[%d]", i), f)
	}
	if def.Timeout < 0 || def.Timeout > 30*time.Second {
		add("timeout", "%v is outside 0..30s", def.Timeout)
	}
	if def.PageSize < 0 || def.PageSize > 500 {
		add("page_size", "%d is outside 0..500", def.PageSize)
	}
	return ps
}

func validFormat(f Format) bool {
	switch f {
	case "", Text, Number, Money, Date, DateTime, Duration, Percent, Weekday:
		return true
	}
	return false
}

// columns introspects source's columns in the shared database; an empty
// map when there is no such table or view.
func (s *Service) columns(ctx context.Context, source string) (map[string]column, error) {
	if s.shared == nil {
		return nil, fmt.Errorf("no shared database configured: %w", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	var q string
	if s.dialect == DialectMySQL {
		q = `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`
	} else {
		q = `SELECT name, type FROM pragma_table_info(?)`
	}
	rows, err := s.shared.QueryContext(ctx, q, source)
	if err != nil {
		return nil, fmt.Errorf("introspect %s: %w", source, err)
	}
	defer rows.Close()
	out := map[string]column{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("introspect %s: %w", source, err)
		}
		t := strings.ToLower(typ)
		numeric := false
		for _, n := range []string{"int", "real", "floa", "doub", "dec", "num"} {
			if strings.Contains(t, n) {
				numeric = true
			}
		}
		out[strings.ToLower(name)] = column{Type: typ, Numeric: numeric, Known: t != ""}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("introspect %s: %w", source, err)
	}
	return out, nil
}
