package handler

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomapp/wecomapp/h5"
)

type check struct {
	Name  string
	State string
	OK    bool
}

type homeView struct {
	Title        string
	Version      string
	Checks       []check
	SimulatorURL string
	Callbacks    []string
	Try          []TryPerson
	Register     *TryPerson
	APIKey       *TryKey
	BaseURL      string
	TagID        int64
	TagName      string
	Admin        *TryPerson
	CASName      string
	// Hall: the service hall runs; Counselor is the demo's counselor with
	// live leave cards (the Try list's 辅导员).
	Hall      bool
	Counselor *TryPerson
}

// TryKey is the demo's ingest API key, shown on the status page with a
// ready curl (simulator only).
type TryKey struct{ ID, Secret string }

// TryPerson is a demo member the status page suggests trying the platform
// as (the embedded default only).
type TryPerson struct {
	Label, UserID, Name string
	Mobile              string // for self-registration: the phone the data center has
}

// home is the landing page `make run` points at: what is running and
// where to go next.
func (s *server) home(c *gin.Context) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	v := homeView{Title: s.Title, Version: s.Version, Try: s.Try, Admin: s.TryAdmin, Register: s.TryRegister, APIKey: s.TryAPIKey, TagName: s.TryTagName, BaseURL: s.PublicURL,
		Hall: s.Hall != nil}
	for i := range s.Try {
		if s.Try[i].Label == "辅导员" {
			v.Counselor = &s.Try[i]
		}
	}
	if s.TryTagName != "" && s.DB != nil {
		// The tag's WeCom id, once the first sync made it.
		if tags, err := s.DB.ListMirrorTags(ctx, nil); err == nil {
			for _, t := range tags {
				if t.Name == s.TryTagName {
					v.TagID = t.ID
				}
			}
		}
	}
	if s.CAS != nil {
		v.CASName = s.CASName
	}
	if v.Title == "" {
		v.Title = "wecomapp"
	}
	v.Checks = append(v.Checks, s.databaseCheck(ctx)...)
	if err := s.Coord.Ping(ctx); err != nil {
		v.Checks = append(v.Checks, check{"coordination", "unreachable", false})
	} else {
		v.Checks = append(v.Checks, check{"coordination", "ok", true})
	}
	if s.Simulator != nil {
		v.SimulatorURL = s.PublicURL + s.SimulatorMount
		v.Checks = append(v.Checks, check{"WeCom", "built-in simulator", true})
	}
	for name := range s.Receivers {
		v.Callbacks = append(v.Callbacks, "POST "+s.PublicURL+"/wecom/callback/"+name)
	}
	sort.Strings(v.Callbacks)
	return s.render(c, http.StatusOK, "home", v)
}

func (s *server) databaseCheck(ctx context.Context) []check {
	if err := s.DB.PingContext(ctx); err != nil {
		return []check{{"database (" + string(s.DB.Dialect()) + ")", "unreachable", false}}
	}
	out := []check{{"database (" + string(s.DB.Dialect()) + ")", "ok", true}}
	if n, err := s.DB.Pending(ctx); err != nil || n > 0 {
		out = append(out, check{"migrations", fmt.Sprintf("%d pending", n), false})
	} else {
		out = append(out, check{"migrations", "applied", true})
	}
	return out
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *server) render(c *gin.Context, status int, page string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("handler: no page %q", page)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("handler: render %s: %w", page, err)
	}
	c.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
	c.Header("X-Content-Type-Options", "nosniff")
	// Pages are per person: never kept by a shared cache.
	c.Header("Cache-Control", "private, no-cache")
	c.Header("Vary", "Accept-Encoding")
	out := b.Bytes()
	// A workbench page is ~7 KB and ~2 KB gzipped: on a phone's network
	// the bytes cost more than the ~30 µs of compressing them.
	if len(out) > 1400 && strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") {
		zw := gzipPool.Get().(*gzip.Writer)
		var zb bytes.Buffer
		zw.Reset(&zb)
		if _, err := zw.Write(out); err == nil && zw.Close() == nil {
			out = zb.Bytes()
			c.Header("Content-Encoding", "gzip")
		}
		gzipPool.Put(zw)
	}
	c.Data(status, "text/html; charset=utf-8", out)
	return nil
}

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

func loadPages() (map[string]*template.Template, error) { return h5.Templates() }

func staticHandler() http.Handler {
	fs := http.FileServer(http.FS(h5.Static()))
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Asset URLs carry their content hash, so they can be cached for good.
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		// WeUI is 188 KB raw and 23 KB gzipped: send the precomputed gzip
		// to every client that takes it (all of them, in practice).
		w.Header().Add("Vary", "Accept-Encoding")
		if gz := h5.Gzipped(r.URL.Path); gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(r.URL.Path)))
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(len(gz)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(gz)
			}
			return
		}
		fs.ServeHTTP(w, r)
	}))
}
