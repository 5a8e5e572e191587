package handler

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/workbench"
)

// The data modules' H5 pages: a person's own rows of the shared database
// (schedule, exams, scores, loans, network fee, campus card, salary slips,
// research) as datamod.Source gives them, formatted and masked. Every id
// in a URL or a form is only a question to the Source, which answers from
// the viewer's own rows (or, where a definition allows, a counselor's
// students'): ErrNotFound for unknown and not-yours alike, the same 404
// page. ErrUnavailable (the shared database down or slow) is the module's
// 503 page, never a 500, and only that module's: the workbench renders.

// dataMaxPage bounds ?page=: past it the offset is the shared database's
// cost for nobody's benefit.
const dataMaxPage = 1000

// dataDays are the timetable's columns.
var dataDays = [7]string{"周一", "周二", "周三", "周四", "周五", "周六", "周日"}

// RegisterDataFigures makes src the source of the data modules' tile key
// figures ("余额 ¥123.45"): a module src does not define, or one without a
// tile figure, shows none; a source that fails says 暂时无法使用 on its tile.
func RegisterDataFigures(wb *workbench.Service, src datamod.Source) {
	wb.RegisterFigures(func(ctx context.Context, module, userID string) (string, error) {
		c, err := src.Figure(ctx, module, datamod.Viewer{UserID: userID})
		if errors.Is(err, datamod.ErrNotFound) {
			return "", workbench.ErrNoFigure
		}
		if err != nil {
			return "", err
		}
		if c.Masked {
			// A tile is a glance, often over a shoulder: a sensitive
			// figure is not shown there at all.
			return "", workbench.ErrNoFigure
		}
		return strings.TrimSpace(c.Label + " " + c.Value), nil
	})
}

// dataUnavailable: the shared database did not answer (the Source says
// so, or the request's time ran out waiting for it).
func dataUnavailable(err error) bool {
	return errors.Is(err, datamod.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// appDataModule renders module m's list when it is a data module (a live
// built-in module the Source defines); handled is false for any other
// module, which appModule then shows as before. t is m's tile, with the
// person's favourite star.
func (s *server) appDataModule(c *gin.Context, m workbench.Module, t h5.Tile) (handled bool, err error) {
	if s.Data == nil || m.Kind != workbench.ModuleBuiltin || m.Status != workbench.StatusLive {
		return false, nil
	}
	ctx := c.Request.Context()
	def, err := s.Data.Definition(ctx, m.Key)
	switch {
	case errors.Is(err, datamod.ErrNotFound):
		return false, nil
	case dataUnavailable(err):
		return true, s.renderDataUnavailable(c, t)
	case err != nil:
		return true, err
	}
	p := principal(c)
	v, err := s.dataList(c, def, t, p.UserID, "/app/m/"+url.PathEscape(m.Key))
	if dataUnavailable(err) {
		return true, s.renderDataUnavailable(c, t)
	}
	if err != nil {
		return true, err
	}
	return true, s.render(c, http.StatusOK, "app_data", v)
}

func (s *server) renderDataUnavailable(c *gin.Context, t h5.Tile) error {
	pg := s.page(c, t.Name)
	return s.render(c, http.StatusServiceUnavailable, "app_data", h5.AppData{Page: pg, Tile: t, Unavailable: true})
}

// dataFilters reads the list's filters from the query: f_{column} for a
// choice or a text, f_{column}_from and _to for a date range. Only the
// definition's filters are read; the Source binds every value as a
// parameter.
func dataFilters(c *gin.Context, def datamod.Definition) (map[string]string, []h5.DataFilter) {
	q := map[string]string{}
	var out []h5.DataFilter
	for _, f := range def.Filters {
		name := "f_" + f.Column
		hf := h5.DataFilter{Name: name, Label: f.Label, Kind: string(f.Kind)}
		switch f.Kind {
		case datamod.FilterRange:
			hf.From, hf.To = dateParam(c.Query(name+"_from")), dateParam(c.Query(name+"_to"))
			if hf.From != "" || hf.To != "" {
				q[f.Column] = hf.From + ".." + hf.To
			}
		default:
			hf.Value = clipRunes(strings.TrimSpace(c.Query(name)), 64)
			if hf.Value != "" {
				q[f.Column] = hf.Value
			}
		}
		out = append(out, hf)
	}
	return q, out
}

// dateParam is a YYYY-MM-DD date or nothing.
func dateParam(s string) string {
	s = strings.TrimSpace(s)
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return ""
	}
	for i, r := range s {
		if i != 4 && i != 7 && (r < '0' || r > '9') {
			return ""
		}
	}
	return s
}

// dataList asks the Source for the page of def's rows the request names,
// as viewer sees them, and builds the list view; base is the list's URL.
// A ?student= the viewer does not counsel (or on a module without
// counselors) is the Source's ErrNotFound.
func (s *server) dataList(c *gin.Context, def datamod.Definition, t h5.Tile, viewer, base string) (h5.AppData, error) {
	ctx := c.Request.Context()
	vw := datamod.Viewer{UserID: viewer}
	v := h5.AppData{Page: s.page(c, t.Name), Tile: t, Action: base}
	student := strings.TrimSpace(c.Query("student"))
	if student == viewer {
		student = ""
	}
	if student != "" && !def.Counselors {
		return v, store.ErrNotFound
	}
	if def.Counselors {
		students, err := s.Data.Students(ctx, vw)
		if err != nil {
			return v, err
		}
		for _, st := range students {
			v.Students = append(v.Students, h5.DataStudent{UserID: st[0], Name: st[1], Selected: st[0] == student})
			if st[0] == student {
				v.StudentName = st[1] + "（" + st[0] + "）"
			}
		}
		if student != "" && v.StudentName == "" {
			// Not one of theirs: the Source would refuse it too.
			return v, store.ErrNotFound
		}
	}
	v.Student = student
	filters, hf := dataFilters(c, def)
	page, _ := strconv.Atoi(c.Query("page"))
	page = min(max(page, 1), dataMaxPage)
	res, err := s.Data.List(ctx, def.Key, vw, datamod.Query{Subject: student, Filters: filters, Page: page - 1})
	if errors.Is(err, datamod.ErrNotFound) {
		return v, store.ErrNotFound
	}
	if err != nil {
		return v, err
	}
	for i := range hf {
		if hf[i].Kind != string(datamod.FilterChoice) {
			continue
		}
		col := strings.TrimPrefix(hf[i].Name, "f_")
		for _, ch := range res.Choices[col] {
			hf[i].Choices = append(hf[i].Choices, h5.DataChoice{Value: ch, Selected: ch == hf[i].Value})
		}
	}
	v.Filters = hf
	v.Summary = dataCells(res.Summary)
	rowHref := func(key string) string {
		h := base + "/r/" + url.PathEscape(key)
		if student != "" {
			h += "?student=" + url.QueryEscape(student)
		}
		return h
	}
	for _, r := range res.Rows {
		v.Rows = append(v.Rows, h5.DataRow{Key: r.Key, Href: rowHref(r.Key), Cells: dataCells(r.Cells)})
	}
	if res.Week != nil {
		v.Week = dataWeek(res.Week, rowHref)
	} else {
		v.PageNo = page
		pageURL := func(n int) string {
			q := c.Request.URL.Query()
			q.Set("page", strconv.Itoa(n))
			if student == "" {
				q.Del("student")
			}
			return base + "?" + q.Encode()
		}
		if page > 1 {
			v.PrevPage = pageURL(page - 1)
		}
		if res.More && page < dataMaxPage {
			v.NextPage = pageURL(page + 1)
		}
	}
	return v, nil
}

func dataCells(cs []datamod.Cell) []h5.DataCell {
	out := make([]h5.DataCell, 0, len(cs))
	for _, c := range cs {
		out = append(out, h5.DataCell{Column: c.Column, Label: c.Label, Value: c.Value, Masked: c.Masked})
	}
	return out
}

// dataWeek lays a timetable out on the grid: column 1 the periods, 2..8
// the days; row 1 the days, 2.. the periods.
func dataWeek(tt *datamod.Timetable, href func(string) string) *h5.DataWeek {
	periods := tt.Periods
	if periods <= 0 || periods > 12 {
		periods = 12
	}
	w := &h5.DataWeek{Week: tt.Week, Empty: true}
	for i, d := range dataDays {
		w.Days = append(w.Days, h5.DataHead{Label: d, Col: i + 2, Row: 1})
	}
	for p := 1; p <= periods; p++ {
		w.Periods = append(w.Periods, h5.DataHead{Label: strconv.Itoa(p), Col: 1, Row: p + 1})
	}
	for day, slots := range tt.Days {
		for _, sl := range slots {
			start, end := min(max(sl.Start, 1), periods), min(max(sl.End, sl.Start), periods)
			if end < start {
				end = start
			}
			w.Slots = append(w.Slots, h5.DataSlot{Title: sl.Title, Subtitle: sl.Subtitle, Href: href(sl.Key), Col: day + 2, Row: start + 1, Span: end - start + 1})
			w.Empty = false
		}
	}
	return w
}

// appDataRow is one row of a data module in full. The module must be on
// the person's workbench; the row is asked of the Source as theirs (or,
// with ?student=, as their student's where the definition allows), so a
// guessed key is the same 404 as a missing one.
func (s *server) appDataRow(c *gin.Context) error {
	p := principal(c)
	ctx := c.Request.Context()
	key := c.Param("key")
	m, err := s.myModule(c, key)
	if err != nil {
		return err
	}
	if s.Data == nil || m.Kind != workbench.ModuleBuiltin || m.Status != workbench.StatusLive {
		return store.ErrNotFound
	}
	base := "/app/m/" + url.PathEscape(key)
	t := h5.Tile{Module: m.Key, Name: m.Name, Icon: m.Icon, Category: m.Category, Summary: m.Summary, Status: m.Status, Href: base}
	def, err := s.Data.Definition(ctx, key)
	switch {
	case errors.Is(err, datamod.ErrNotFound):
		return store.ErrNotFound
	case dataUnavailable(err):
		return s.renderDataRowUnavailable(c, t, base)
	case err != nil:
		return err
	}
	student := strings.TrimSpace(c.Query("student"))
	if student == p.UserID {
		student = ""
	}
	if student != "" && !def.Counselors {
		return store.ErrNotFound
	}
	v := h5.AppDataRow{Page: s.page(c, t.Name), Tile: t, Back: base}
	if student != "" {
		v.Back += "?student=" + url.QueryEscape(student)
		v.StudentName = student
	}
	row, err := s.Data.Detail(ctx, key, datamod.Viewer{UserID: p.UserID}, student, c.Param("row"))
	switch {
	case errors.Is(err, datamod.ErrNotFound):
		return store.ErrNotFound
	case dataUnavailable(err):
		return s.renderDataRowUnavailable(c, t, v.Back)
	case err != nil:
		return err
	}
	v.Cells = dataCells(row.Cells)
	if student != "" {
		logctx.L(ctx, s.log).Info("data module row of a counselee viewed", zap.String("module", key), zap.String("viewer", p.UserID), zap.String("student", student))
	}
	return s.render(c, http.StatusOK, "app_data_row", v)
}

func (s *server) renderDataRowUnavailable(c *gin.Context, t h5.Tile, back string) error {
	return s.render(c, http.StatusServiceUnavailable, "app_data_row", h5.AppDataRow{Page: s.page(c, t.Name), Tile: t, Unavailable: true, Back: back})
}
