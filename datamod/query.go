package datamod

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// sqlBuilder writes one statement from validated identifiers (quoted for
// the dialect) and collects its arguments: every value is a parameter.
type sqlBuilder struct {
	dialect string
	b       strings.Builder
	args    []any
	err     error
}

// id writes a quoted identifier; an identifier that is not one (a
// definition that bypassed Validate) fails the statement.
func (q *sqlBuilder) id(name string) *sqlBuilder {
	if !ValidIdent(name) {
		if q.err == nil {
			q.err = fmt.Errorf("datamod: %q is not an identifier", name)
		}
		return q
	}
	if q.dialect == DialectMySQL {
		q.b.WriteString("`" + name + "`")
	} else {
		q.b.WriteString(`"` + name + `"`)
	}
	return q
}

func (q *sqlBuilder) sql(s string) *sqlBuilder { q.b.WriteString(s); return q }

// selectFrom starts SELECT cols FROM source.
func (q *sqlBuilder) selectFrom(cols []string, source string) *sqlBuilder {
	q.sql("SELECT ")
	for i, c := range cols {
		if i > 0 {
			q.sql(", ")
		}
		q.id(c)
	}
	return q.sql(" FROM ").id(source)
}

func (q *sqlBuilder) arg(v any) *sqlBuilder {
	q.b.WriteString("?")
	q.args = append(q.args, v)
	return q
}

// where writes the person condition, then the filters and a figure's
// restrictions.
func (q *sqlBuilder) where(def Definition, person string, filters map[string]string, extra map[string]string) {
	q.sql(" WHERE ").id(def.Person).sql(" = ").arg(person)
	for _, f := range def.Filters {
		v := strings.TrimSpace(filters[f.Column])
		if v == "" {
			continue
		}
		switch f.Kind {
		case FilterChoice:
			q.sql(" AND ").id(f.Column).sql(" = ").arg(v)
		case FilterText:
			q.sql(" AND ").id(f.Column).sql(" LIKE ").arg("%" + likeEscape(v) + "%").sql(` ESCAPE '!'`)
		case FilterRange:
			from, to, _ := strings.Cut(v, "..")
			if from = strings.TrimSpace(from); from != "" {
				q.sql(" AND ").id(f.Column).sql(" >= ").arg(from)
			}
			if to = strings.TrimSpace(to); to != "" {
				// A date's "to" is the whole day: rows of that day with a
				// time compare above the bare date.
				if d, err := time.Parse("2006-01-02", to); err == nil {
					q.sql(" AND ").id(f.Column).sql(" < ").arg(d.AddDate(0, 0, 1).Format("2006-01-02"))
				} else {
					q.sql(" AND ").id(f.Column).sql(" <= ").arg(to)
				}
			}
		}
	}
	for _, c := range sortedKeys(extra) {
		q.sql(" AND ").id(c).sql(" = ").arg(extra[c])
	}
}

// order writes the definition's sort, then the row key so that pages do
// not overlap.
func (q *sqlBuilder) order(def Definition) {
	q.sql(" ORDER BY ")
	for _, o := range def.Sort {
		q.id(o.Column)
		if o.Desc {
			q.sql(" DESC")
		}
		q.sql(", ")
	}
	q.id(def.RowKey)
}

func likeEscape(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(s)
}

// List is a page of the subject's rows (the viewer's own, or a counselled
// student's), with the summary, the choice filters' values and, for a
// week view, the current week's timetable.
func (s *Service) List(ctx context.Context, key string, v Viewer, q Query) (Result, error) {
	def, err := s.Definition(ctx, key)
	if err != nil {
		return Result{}, err
	}
	person, err := s.subject(ctx, def, v, q.Subject)
	if err != nil {
		return Result{}, err
	}
	if s.shared == nil {
		return Result{}, s.unavailable(key, fmt.Errorf("no shared database configured"))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(def))
	defer cancel()
	var res Result
	filters := q.Filters
	var tt *Timetable
	if def.View == WeekView && def.Week != nil {
		tt = &Timetable{Periods: 12}
		if def.Week.Semester != "" {
			sem, start, err := s.semester(ctx)
			if err != nil {
				return Result{}, s.unavailable(key, err)
			}
			if sem != "" {
				tt.Week = teachingWeek(start, s.now())
				// The timetable is this semester's: a filter on the semester
				// column is set to it unless the viewer chose another.
				if filters[def.Week.Semester] == "" {
					f := map[string]string{}
					for k, v := range filters {
						f[k] = v
					}
					f[def.Week.Semester] = sem
					filters = f
				}
			}
		}
	}
	size := def.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	page := max(q.Page, 0)
	cols := selectColumns(def)
	b := (&sqlBuilder{dialect: s.dialect}).selectFrom(cols, def.Source)
	b.where(def, person, filters, nil)
	b.order(def)
	if tt != nil {
		// A timetable needs the whole week, not a page of it.
		size, page = 500, 0
	}
	b.sql(" LIMIT " + strconv.Itoa(size+1) + " OFFSET " + strconv.Itoa(page*size))
	raw, err := s.query(ctx, b, cols)
	if err != nil {
		return Result{}, s.unavailable(key, err)
	}
	if len(raw) > size {
		res.More = true
		raw = raw[:size]
	}
	for _, r := range raw {
		res.Rows = append(res.Rows, s.row(def, r, false, true))
	}
	if tt != nil {
		fillTimetable(tt, def, raw)
		res.Week = tt
	}
	for _, f := range def.Summary {
		c, err := s.figure(ctx, def, f, person, filters)
		if err != nil {
			return Result{}, s.unavailable(key, err)
		}
		res.Summary = append(res.Summary, c)
	}
	for _, f := range def.Filters {
		if f.Kind != FilterChoice {
			continue
		}
		ch, err := s.choices(ctx, def, f.Column, person)
		if err != nil {
			return Result{}, s.unavailable(key, err)
		}
		if res.Choices == nil {
			res.Choices = map[string][]string{}
		}
		res.Choices[f.Column] = ch
	}
	return res, nil
}

// Detail is one row of the subject's, every field shown; a row key of
// someone else's row is ErrNotFound like one that does not exist.
// Sensitive fields are shown only to the row's own person.
func (s *Service) Detail(ctx context.Context, key string, v Viewer, subject, rowKey string) (Row, error) {
	def, err := s.Definition(ctx, key)
	if err != nil {
		return Row{}, err
	}
	person, err := s.subject(ctx, def, v, subject)
	if err != nil {
		return Row{}, err
	}
	if s.shared == nil {
		return Row{}, s.unavailable(key, fmt.Errorf("no shared database configured"))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(def))
	defer cancel()
	cols := selectColumns(def)
	b := (&sqlBuilder{dialect: s.dialect}).selectFrom(cols, def.Source)
	b.sql(" WHERE ").id(def.Person).sql(" = ").arg(person).sql(" AND ").id(def.RowKey).sql(" = ").arg(rowKey)
	b.sql(" LIMIT 1")
	raw, err := s.query(ctx, b, cols)
	if err != nil {
		return Row{}, s.unavailable(key, err)
	}
	if len(raw) == 0 {
		return Row{}, fmt.Errorf("datamod: %s row %q of %s: %w", key, rowKey, person, ErrNotFound)
	}
	return s.row(def, raw[0], person == v.UserID, false), nil
}

// Figure is the module's tile figure for the viewer's own rows, queried
// within min(the module's timeout, FigureTimeout). ErrNotFound when the
// module has no tile figure.
func (s *Service) Figure(ctx context.Context, key string, v Viewer) (Cell, error) {
	def, err := s.Definition(ctx, key)
	if err != nil {
		return Cell{}, err
	}
	if def.Tile == nil || v.UserID == "" {
		return Cell{}, fmt.Errorf("datamod: %s has no tile figure: %w", key, ErrNotFound)
	}
	if s.shared == nil {
		return Cell{}, s.unavailable(key, fmt.Errorf("no shared database configured"))
	}
	ctx, cancel := context.WithTimeout(ctx, min(timeout(def), FigureTimeout))
	defer cancel()
	c, err := s.figure(ctx, def, *def.Tile, v.UserID, nil)
	if err != nil {
		return Cell{}, s.unavailable(key, err)
	}
	return c, nil
}

// selectColumns are the columns a query reads: the row key, the person,
// the fields and a week view's columns, each once.
func selectColumns(def Definition) []string {
	seen := map[string]bool{}
	var cols []string
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	add(def.RowKey)
	add(def.Person)
	for _, f := range def.Fields {
		add(f.Column)
	}
	if def.Week != nil {
		w := def.Week
		for _, c := range []string{w.Weekday, w.StartPeriod, w.EndPeriod, w.Title, w.Subtitle, w.Weeks, w.Semester} {
			add(c)
		}
	}
	return cols
}

// query runs b and returns its rows as column → value.
func (s *Service) query(ctx context.Context, b *sqlBuilder, cols []string) ([]map[string]any, error) {
	if b.err != nil {
		return nil, b.err
	}
	rows, err := s.shared.QueryContext(ctx, b.b.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = normalize(vals[i])
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// modernc's SQLite may end an interrupted query as if it had no more
	// rows: a deadline that passed makes the answer incomplete.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// normalize turns a driver value into string, int64, float64 or nil.
func normalize(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05")
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// row formats a raw row. own: the viewer is the row's person on its detail
// page (sensitive fields unmasked); list: only the list's fields.
func (s *Service) row(def Definition, r map[string]any, own, list bool) Row {
	out := Row{Key: str(r[def.RowKey])}
	for _, f := range def.Fields {
		if list && !f.List {
			continue
		}
		val := FormatValue(r[f.Column], f.Format, f.Decimals)
		masked := false
		if f.Sensitive != NotSensitive && !own && val != "" {
			val, masked = MaskValue(val, f.Sensitive), true
		}
		out.Cells = append(out.Cells, Cell{Column: f.Column, Label: f.Label, Value: val, Masked: masked})
	}
	return out
}

// figure computes one figure over person's rows (with filters and the
// figure's Where).
func (s *Service) figure(ctx context.Context, def Definition, f Figure, person string, filters map[string]string) (Cell, error) {
	b := &sqlBuilder{dialect: s.dialect}
	switch f.Agg {
	case Count:
		b.sql("SELECT COUNT(*)")
	case Sum:
		b.sql("SELECT SUM(").id(f.Column).sql(")")
	case WeightedAvg:
		b.sql("SELECT SUM(").id(f.Column).sql(" * ").id(f.Weight).sql("), SUM(").id(f.Weight).sql(")")
	case Latest:
		b.sql("SELECT ").id(f.Column)
	default:
		return Cell{}, fmt.Errorf("datamod: %s: unknown aggregate %q", def.Key, f.Agg)
	}
	b.sql(" FROM ").id(def.Source)
	b.where(def, person, filters, f.Where)
	if f.Agg == Latest {
		b.order(def)
		b.sql(" LIMIT 1")
	}
	if b.err != nil {
		return Cell{}, b.err
	}
	row := s.shared.QueryRowxContext(ctx, b.b.String(), b.args...)
	var value string
	switch f.Agg {
	case WeightedAvg:
		var num, den any
		if err := row.Scan(&num, &den); err != nil {
			return Cell{}, err
		}
		n, nok := toFloat(normalize(num))
		d, dok := toFloat(normalize(den))
		if nok && dok && d != 0 {
			format := f.Format
			if format == "" {
				format = Number
			}
			value = FormatValue(math.Round(n/d*100)/100, format, 2)
		}
	default:
		var x any
		if err := row.Scan(&x); err != nil {
			if isNoRows(err) { // Latest of no rows
				break
			}
			return Cell{}, err
		}
		x = normalize(x)
		format := f.Format
		if f.Agg == Count && format == "" {
			format = Number
		}
		decimals := 0
		if format == Number && f.Agg == Sum {
			decimals = 1
		}
		if x != nil {
			value = FormatValue(x, format, decimals)
		} else if f.Agg == Sum {
			value = FormatValue(int64(0), format, decimals)
		}
	}
	if err := ctx.Err(); err != nil {
		return Cell{}, err
	}
	c := Cell{Column: f.Column, Label: f.Label, Value: value}
	for _, fl := range def.Fields {
		if fl.Column == f.Column && fl.Sensitive != NotSensitive && value != "" {
			c.Value, c.Masked = MaskValue(value, fl.Sensitive), true
		}
	}
	return c, nil
}

// choices are column's distinct values among person's rows, in the
// definition's order of that column when it sorts by it.
func (s *Service) choices(ctx context.Context, def Definition, column, person string) ([]string, error) {
	b := &sqlBuilder{dialect: s.dialect}
	b.sql("SELECT DISTINCT ").id(column).sql(" FROM ").id(def.Source).sql(" WHERE ").id(def.Person).sql(" = ").arg(person)
	b.sql(" ORDER BY ").id(column)
	for _, o := range def.Sort {
		if o.Column == column && o.Desc {
			b.sql(" DESC")
		}
	}
	raw, err := s.query(ctx, b, []string{column})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range raw {
		if v := str(r[column]); v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

// semester is the shared database's current semester: the latest one
// started by now (semesters.start_date, YYYY-MM-DD, China time).
func (s *Service) semester(ctx context.Context) (string, time.Time, error) {
	today := s.now().In(cst).Format("2006-01-02")
	b := &sqlBuilder{dialect: s.dialect}
	b.sql("SELECT semester, start_date FROM semesters WHERE start_date <= ").arg(today).sql(" ORDER BY start_date DESC LIMIT 1")
	raw, err := s.query(ctx, b, []string{"semester", "start_date"})
	if err != nil {
		return "", time.Time{}, err
	}
	if len(raw) == 0 {
		return "", time.Time{}, nil
	}
	start, err := time.ParseInLocation("2006-01-02", firstN(str(raw[0]["start_date"]), 10), cst)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("semester start %q: %w", raw[0]["start_date"], err)
	}
	return str(raw[0]["semester"]), start, nil
}

var cst = time.FixedZone("CST", 8*3600)

// teachingWeek is the week of now counted from the semester's start
// (week 1 holds start; weeks begin on Monday).
func teachingWeek(start, now time.Time) int {
	now = now.In(cst)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
	// The Monday of start's week.
	monday := start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7))
	if day.Before(monday) {
		return 0
	}
	return int(day.Sub(monday).Hours()/24)/7 + 1
}

// fillTimetable lays raw rows out by weekday, those taught in tt.Week.
func fillTimetable(tt *Timetable, def Definition, raw []map[string]any) {
	w := def.Week
	for _, r := range raw {
		day, ok1 := toInt(r[w.Weekday])
		start, ok2 := toInt(r[w.StartPeriod])
		end, ok3 := toInt(r[w.EndPeriod])
		if !ok1 || !ok2 || !ok3 || day < 1 || day > 7 {
			continue
		}
		if w.Weeks != "" && tt.Week > 0 && !InWeeks(str(r[w.Weeks]), tt.Week) {
			continue
		}
		if end > tt.Periods {
			tt.Periods = end
		}
		sl := Slot{Key: str(r[def.RowKey]), Start: start, End: end, Title: str(r[w.Title])}
		if w.Subtitle != "" {
			sl.Subtitle = str(r[w.Subtitle])
		}
		tt.Days[day-1] = append(tt.Days[day-1], sl)
	}
	for d := range tt.Days {
		ss := tt.Days[d]
		for i := 1; i < len(ss); i++ {
			for j := i; j > 0 && ss[j].Start < ss[j-1].Start; j-- {
				ss[j], ss[j-1] = ss[j-1], ss[j]
			}
		}
	}
}

// InWeeks reports whether teaching week n is among spec: ranges and single
// weeks separated by commas ("1-16", "1-8,10-16", "3,5,7"), each
// optionally restricted to odd or even weeks ("1-16单", "2-16(双)"); a
// bare "单" or "双" is every odd or even week; "" is every week.
func InWeeks(spec string, n int) bool {
	spec = strings.NewReplacer("，", ",", "周", "", "(", "", ")", "", "（", "", "）", "", " ", "", "－", "-", "~", "-").Replace(spec)
	if spec == "" {
		return true
	}
	for _, part := range strings.Split(spec, ",") {
		parity := 0 // 1 odd, 2 even
		if p, ok := strings.CutSuffix(part, "单"); ok {
			part, parity = p, 1
		} else if p, ok := strings.CutSuffix(part, "双"); ok {
			part, parity = p, 2
		}
		if parity == 1 && n%2 == 0 || parity == 2 && n%2 == 1 {
			continue
		}
		if part == "" {
			return true
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if n >= a && n <= b {
			return true
		}
	}
	return false
}
