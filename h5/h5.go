// Package h5 holds the server-rendered pages' templates and static assets,
// embedded in the binary. Templates get view structs built in handler/ and
// never touch the database; html/template escapes every value.
package h5

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"path"
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

var (
	hashOnce sync.Once
	hashes   map[string]string
)

// AssetURL names an asset with its content hash, so browsers (and WeCom's
// in-app browser, which caches hard) can keep assets forever and still see
// a new version at once.
func AssetURL(name string) string {
	hashOnce.Do(func() {
		hashes = map[string]string{}
		_ = fs.WalkDir(Static(), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(Static(), p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			hashes[p] = hex.EncodeToString(sum[:6])
			return nil
		})
	})
	return "/static/" + path.Clean(name) + "?v=" + hashes[name]
}

// Templates parses every page with the shared layout. Each page template
// defines "title" and "content"; render it by executing "layout".
func Templates() (map[string]*template.Template, error) {
	pages, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"asset": AssetURL}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := path.Base(p)
		if name == "layout.html" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", p)
		if err != nil {
			return nil, fmt.Errorf("h5: parse %s: %w", name, err)
		}
		out[name[:len(name)-len(".html")]] = t
	}
	return out, nil
}
