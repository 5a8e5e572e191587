package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/workbench"
)

// The console's data modules (/admin/data): the definitions the Source
// runs, each editable as YAML or JSON (validated against the shared
// database's columns, audited), and "preview as", which renders a
// module's list as a given person sees it. Admins with the workbench
// permission see the list; editing and previewing read or shape what
// everyone's personal data pages show, so they need it everywhere (super
// admins), and a preview is audited as a view of that person's data.
//
// A preview shows the list only: datamod masks sensitive fields (salary,
// ID numbers) in every list, the person's own included — the unmasked
// values appear only on the person's own detail page, which no preview
// opens. So an admin never sees a salary here.

const adminDataHref = "/admin/data"

// authPermData opens the console's data modules: they are workbench
// modules.
const authPermData = auth.PermWorkbench

// dataEditor is what the console needs beyond the Source to edit
// definitions (*datamod.Service has it).
type dataEditor interface {
	Validate(ctx context.Context, def datamod.Definition) []datamod.Problem
	Put(ctx context.Context, def datamod.Definition, by string) error
}

// dataMaxDefinition bounds a definition's text.
const dataMaxDefinition = 64 << 10

func (s *server) mayEditData(c *gin.Context) error {
	if err := s.may(c, authPermData); err != nil {
		return err
	}
	return s.mayShapeCatalog(c)
}

func (s *server) adminData(c *gin.Context) error {
	if err := s.may(c, authPermData); err != nil {
		return err
	}
	v := h5.AdminData{AdminPage: s.adminPage(c, "数据模块", adminDataHref), CanEdit: s.mayShapeCatalog(c) == nil}
	if s.Data == nil {
		v.Error = "没有配置共享数据库（数据模块不可用）。"
		return s.render(c, http.StatusOK, "admin_data", v)
	}
	defs, err := s.Data.Definitions(c.Request.Context())
	if dataUnavailable(err) {
		v.Unavailable = true
		return s.render(c, http.StatusOK, "admin_data", v)
	}
	if err != nil {
		return err
	}
	for _, d := range defs {
		ad := h5.AdminDataDef{Key: d.Key, Title: d.Title, Source: d.Source, View: string(d.View), Fields: len(d.Fields), Counselors: d.Counselors}
		if ad.View == "" {
			ad.View = string(datamod.ListView)
		}
		for _, f := range d.Fields {
			ad.Sensitive = ad.Sensitive || f.Sensitive != datamod.NotSensitive
		}
		if d.Tile != nil {
			ad.Tile = d.Tile.Label + "（" + string(d.Tile.Agg) + "）"
		}
		v.Defs = append(v.Defs, ad)
	}
	return s.render(c, http.StatusOK, "admin_data", v)
}

// encodeDefinition is def as the editor shows it.
func encodeDefinition(def datamod.Definition, format string) (string, error) {
	if format == "json" {
		b, err := json.MarshalIndent(def, "", "  ")
		if err != nil {
			return "", fmt.Errorf("handler: encode definition %s: %w", def.Key, err)
		}
		return string(b), nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(def); err != nil {
		return "", fmt.Errorf("handler: encode definition %s: %w", def.Key, err)
	}
	return b.String(), nil
}

// decodeDefinition reads a definition as JSON (text starting with "{")
// or YAML, refusing unknown fields: a misspelt key is a mistake to show,
// not a field to drop.
func decodeDefinition(text string) (datamod.Definition, string, error) {
	var def datamod.Definition
	if strings.HasPrefix(strings.TrimSpace(text), "{") {
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&def); err != nil {
			return def, "json", fmt.Errorf("JSON 有误：%v", err)
		}
		return def, "json", nil
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&def); err != nil {
		return def, "yaml", fmt.Errorf("YAML 有误：%v", err)
	}
	return def, "yaml", nil
}

func (s *server) adminDataEdit(c *gin.Context) error {
	if err := s.mayEditData(c); err != nil {
		return err
	}
	if s.Data == nil {
		return store.ErrNotFound
	}
	key := c.Param("key")
	format := "yaml"
	if c.Query("format") == "json" {
		format = "json"
	}
	v := h5.AdminDataEdit{AdminPage: s.adminPage(c, "编辑数据模块 "+key, adminDataHref), Key: key, Format: format}
	def, err := s.Data.Definition(c.Request.Context(), key)
	switch {
	case errors.Is(err, datamod.ErrNotFound) && key == "new":
		v.New, v.Title = true, "新建数据模块"
		def = datamod.Definition{Key: "", Title: "", Source: "", Person: "person_id", RowKey: "id",
			Fields: []datamod.Field{{Column: "", Label: "", List: true}}}
	case errors.Is(err, datamod.ErrNotFound):
		return store.ErrNotFound
	case err != nil:
		return err
	}
	if v.Text, err = encodeDefinition(def, format); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_data_edit", v)
}

func (s *server) adminDataSave(c *gin.Context) error {
	if err := s.mayEditData(c); err != nil {
		return err
	}
	if s.Data == nil {
		return store.ErrNotFound
	}
	ed, ok := s.Data.(dataEditor)
	if !ok {
		return badRequest{"这个数据源不支持在后台修改定义"}
	}
	ctx := c.Request.Context()
	key := c.Param("key")
	text := c.PostForm("definition")
	v := h5.AdminDataEdit{AdminPage: s.adminPage(c, "编辑数据模块 "+key, adminDataHref), Key: key, Text: text, New: key == "new"}
	if v.New {
		v.Title = "新建数据模块"
	}
	refuse := func(problems ...string) error {
		v.Problems = problems
		return s.render(c, http.StatusBadRequest, "admin_data_edit", v)
	}
	if len(text) > dataMaxDefinition {
		v.Text = ""
		return refuse(fmt.Sprintf("定义太长（上限 %d KB）", dataMaxDefinition>>10))
	}
	def, format, err := decodeDefinition(text)
	v.Format = format
	if err != nil {
		return refuse(err.Error())
	}
	before, err := s.Data.Definition(ctx, def.Key)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, datamod.ErrNotFound):
		return err
	case v.New && exists:
		return refuse("key: 数据模块 " + def.Key + " 已存在，请在它的编辑页修改")
	case !v.New && def.Key != key:
		return refuse("key: 不能修改模块的 key（" + key + "）；另建一个请用“新建数据模块”")
	}
	if ps := ed.Validate(ctx, def); len(ps) > 0 {
		return refuse(problemStrings(ps)...)
	}
	if err := ed.Put(ctx, def, principal(c).UserID); err != nil {
		var pe *datamod.ProblemsError
		if errors.As(err, &pe) {
			return refuse(problemStrings(pe.Problems)...)
		}
		return err
	}
	var was any
	if exists {
		was = before
	}
	e, err := store.Audit(actor(c), "data.definition.save", "data_module/"+def.Key, was, def, s.Now())
	if err != nil {
		return err
	}
	if err := s.DB.InsertAudit(ctx, nil, e); err != nil {
		return err
	}
	return saved(c, adminDataHref+"/"+url.PathEscape(def.Key)+"?format="+format, "已保存数据模块 "+def.Key)
}

func problemStrings(ps []datamod.Problem) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// adminDataPreview renders module key's list as ?user= sees it (their
// filters, pages and, for a counselor, ?student=), audited before the
// Source is asked: reading someone's rows is a view of personal data.
func (s *server) adminDataPreview(c *gin.Context) error {
	if err := s.mayEditData(c); err != nil {
		return err
	}
	if s.Data == nil {
		return store.ErrNotFound
	}
	ctx := c.Request.Context()
	key := c.Param("key")
	def, err := s.Data.Definition(ctx, key)
	if errors.Is(err, datamod.ErrNotFound) {
		return store.ErrNotFound
	}
	if err != nil && !dataUnavailable(err) {
		return err
	}
	v := h5.AdminDataPreview{AdminPage: s.adminPage(c, "预览数据模块 "+key, adminDataHref), Key: key, UserID: strings.TrimSpace(c.Query("user"))}
	if defs, err := s.Data.Definitions(ctx); err == nil {
		for _, d := range defs {
			v.Keys = append(v.Keys, d.Key)
		}
	}
	if v.UserID == "" {
		return s.render(c, http.StatusOK, "admin_data_preview", v)
	}
	m, err := s.Workbench.Module(ctx, v.UserID, "", key)
	switch {
	case errors.Is(err, workbench.ErrNotMember):
		v.NotFound = true
		return s.render(c, http.StatusOK, "admin_data_preview", v)
	case errors.Is(err, workbench.ErrNotVisible):
		v.Error = "这个模块不在 " + v.UserID + " 当前身份的工作台上：本人打开是“页面不存在”。"
		return s.render(c, http.StatusOK, "admin_data_preview", v)
	case err != nil:
		return err
	}
	e, err := store.Audit(actor(c), "data.preview", "person/"+v.UserID,
		nil, map[string]string{"module": key, "student": c.Query("student"), "query": c.Request.URL.RawQuery}, s.Now())
	if err != nil {
		return err
	}
	if err := s.DB.InsertAudit(ctx, nil, e); err != nil {
		return err
	}
	t := h5.Tile{Module: m.Key, Name: m.Name, Icon: m.Icon, Category: m.Category, Status: m.Status}
	var res h5.AppData
	if def.Key == "" {
		res = h5.AppData{Tile: t, Unavailable: true}
	} else {
		res, err = s.dataList(c, def, t, v.UserID, adminDataHref+"/"+url.PathEscape(key)+"/preview")
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		v.Error = v.UserID + " 看不到这些记录（例如所选学生不由 TA 负责）。"
		return s.render(c, http.StatusOK, "admin_data_preview", v)
	case dataUnavailable(err):
		res = h5.AppData{Tile: t, Unavailable: true}
	case err != nil:
		return err
	}
	res.Preview = v.UserID
	// The filter form and the pages stay in the preview, for this person.
	res.Action = adminDataHref + "/" + url.PathEscape(key) + "/preview"
	for i := range res.Rows {
		res.Rows[i].Href = "" // a row in full is the person's own page
	}
	if res.Week != nil {
		for i := range res.Week.Slots {
			res.Week.Slots[i].Href = ""
		}
	}
	res.PrevPage, res.NextPage = withUser(res.PrevPage, v.UserID), withUser(res.NextPage, v.UserID)
	v.Result = &res
	return s.render(c, http.StatusOK, "admin_data_preview", v)
}

// withUser keeps the previewed person on a page link (the request's query
// carries it already; a link built from it does too).
func withUser(link, user string) string {
	if link == "" || strings.Contains(link, "user=") {
		return link
	}
	sep := "?"
	if strings.Contains(link, "?") {
		sep = "&"
	}
	return link + sep + "user=" + url.QueryEscape(user)
}
