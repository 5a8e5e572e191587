// Package h5 holds the server-rendered pages' templates and static assets,
// embedded in the binary. Templates get view structs (views.go) built in
// handler/ and never touch the database; html/template escapes every value.
//
// The look is WeUI's (vendored CSS, static/weui/), the one WeCom and WeChat
// users know; app.css adds our few bits. Nothing needs JavaScript: forms post,
// links link, <details> opens the identity switcher.
package h5

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Static is the asset tree served under /static/.
func Static() fs.FS {
	sub, _ := fs.Sub(staticFiles, "static")
	return sub
}

// assets is what is computed once over the static tree: the content hash
// and the gzip of each file.
type assets struct {
	hash map[string]string
	gz   map[string][]byte
}

var (
	assetsOnce sync.Once
	assetsAll  assets
)

func loadAssets() assets {
	assetsOnce.Do(func() { assetsAll = scanAssets(Static()) })
	return assetsAll
}

// scanAssets hashes and compresses every file of fsys. A file whose gzip
// is not smaller than itself gets no gzip: serving it plain is cheaper.
func scanAssets(fsys fs.FS) assets {
	a := assets{hash: map[string]string{}, gz: map[string][]byte{}}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.hash[p] = hex.EncodeToString(sum[:6])
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		_, _ = w.Write(b)
		if w.Close() == nil && z.Len() < len(b) {
			a.gz[p] = z.Bytes()
		}
		return nil
	})
	return a
}

// assetURL is AssetURL over a given scan, so tests can change content.
func assetURL(a assets, name string) string {
	name = path.Clean(strings.TrimPrefix(name, "/"))
	return "/static/" + name + "?v=" + a.hash[name]
}

// AssetURL names an asset with its content hash, so browsers (and WeCom's
// in-app browser, which caches hard) can keep assets forever and still see
// a new version at once.
func AssetURL(name string) string { return assetURL(loadAssets(), name) }

// Gzipped is the gzip (computed once, at best compression) of the static
// asset name, a path under Static() such as "weui/weui.min.css"; nil when
// there is no such asset or compressing it would not make it smaller. The
// static handler answers Accept-Encoding: gzip with it (Content-Encoding:
// gzip, Vary: Accept-Encoding). Callers must not modify the slice.
func Gzipped(name string) []byte {
	return loadAssets().gz[path.Clean(strings.TrimPrefix(name, "/"))]
}

// badgeText is a badge count as WeChat shows it: past 99, "99+".
func badgeText(n int) string {
	if n > 99 {
		return "99+"
	}
	return strconv.Itoa(n)
}

// labels are the Chinese names of the codes pages show, by group.
var labels = map[string]map[string]string{
	"identity": {"faculty": "教职工", "student": "学生", "alumnus": "校友", "examinee": "考生", "visitor": "访客"},
	"admin":    {"super": "超级管理员", "dept_admin": "部门管理员", "sender": "消息发送员", "auditor": "审计员"},
	"content":  {"section": "栏目", "notice": "通知公告", "news": "学校新闻"},
	"module":   {"builtin": "内置页面", "external": "外部系统", "process": "办事流程"},
	"status":   {"live": "已上线", "soon": "即将上线"},
}

// label is the name of code in group, the code itself when it has none.
func label(group, code string) string {
	if l, ok := labels[group][code]; ok {
		return l
	}
	return code
}

// editRole is the role the roles form shows: a fresh, enabled one when nil.
func editRole(r *AdminRole) AdminRole {
	if r == nil {
		return AdminRole{Enabled: true, Held: -1}
	}
	return *r
}

// funcs are the functions every template may call.
func funcs() template.FuncMap {
	return template.FuncMap{
		"asset":    AssetURL,
		"badge":    badgeText,
		"label":    label,
		"editRole": editRole,
		"q":        url.QueryEscape,
		"list":     func(s ...string) []string { return s },
	}
}

// Templates parses every page with the shared layout and partials. Each page
// template (templates/{page}.html) defines "title" and "content"; render it
// by executing "layout". Files named _*.html are partials shared by every
// page, not pages.
func Templates() (map[string]*template.Template, error) {
	pages, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := path.Base(p)
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		// The page comes last, so its defines override the layout's blocks.
		t, err := template.New(name).Funcs(funcs()).ParseFS(templateFiles, "templates/layout.html", "templates/_*.html", p)
		if err != nil {
			return nil, fmt.Errorf("h5: parse %s: %w", name, err)
		}
		out[strings.TrimSuffix(name, ".html")] = t
	}
	return out, nil
}
