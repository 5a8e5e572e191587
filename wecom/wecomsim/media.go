package wecomsim

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"
)

// MediaTTL is how long a temporary media_id stays valid (3 days).
const MediaTTL = 72 * time.Hour

// mediaMaxBytes are the upload size caps per type (doc 90253 current text:
// image 10 MB, voice 2 MB, video 10 MB, file 20 MB); every type needs at
// least 5 bytes.
var mediaMaxBytes = map[string]int{
	"image": 10 << 20,
	"voice": 2 << 20,
	"video": 10 << 20,
	"file":  20 << 20,
}

const mediaMinBytes = 5

func (st *state) mediaExpired(m *mediaFile, now time.Time) bool {
	return !now.Before(m.Created.Add(MediaTTL))
}

// lookupMedia finds a valid media_id: unknown or expired is 40007.
func (s *Sim) lookupMedia(id string, now time.Time) (*mediaFile, error) {
	m := s.st.media[id]
	if m == nil || s.st.mediaExpired(m, now) {
		return nil, errf(40007, "media_id %q unknown or expired", id)
	}
	return m, nil
}

// handleMediaUpload: POST /cgi-bin/media/upload?type=file, multipart field
// "media" → {"errcode":0,"errmsg":"","type","media_id","created_at"} with
// created_at a string. Bad type 40004; no media part 44001; under 5 bytes
// 40006; over the type's cap 45001. Media ids are shared by all apps.
func (s *Sim) handleMediaUpload(c *call) (obj, error) {
	typ := c.query.Get("type")
	limit, ok := mediaMaxBytes[typ]
	if !ok {
		return nil, errf(40004, "type=%q: want image, voice, video or file", typ)
	}
	if len(c.body) > maxBodyBytes {
		return nil, errf(45001, "request body over %d bytes", maxBodyBytes)
	}
	_, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, errf(44001, "not a multipart body")
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errf(44001, "no multipart field \"media\"")
		}
		if err != nil {
			return nil, errf(44001, "multipart: %v", err)
		}
		if part.FormName() != "media" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
		if err != nil {
			return nil, errf(44001, "multipart: %v", err)
		}
		switch {
		case len(data) < mediaMinBytes:
			return nil, errf(40006, "%d bytes, at least %d", len(data), mediaMinBytes)
		case len(data) > limit:
			return nil, errf(45001, "more than %d bytes for type %s", limit, typ)
		}
		m := &mediaFile{
			ID:          "3sim" + randomHex(24),
			Type:        typ,
			Filename:    part.FileName(),
			ContentType: part.Header.Get("Content-Type"),
			Data:        data,
			Created:     c.now,
		}
		s.st.media[m.ID] = m
		return obj{"errmsg": "", "type": typ, "media_id": m.ID, "created_at": strconv.FormatInt(c.now.Unix(), 10)}, nil
	}
}

// handleMediaGet: GET /cgi-bin/media/get?media_id= → the file bytes with
// Content-Disposition; unknown or expired 40007 (JSON).
func (s *Sim) handleMediaGet(c *call) (*rawBody, error) {
	m, err := s.lookupMedia(c.query.Get("media_id"), c.now)
	if err != nil {
		return nil, err
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := http.Header{}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.Filename}))
	return &rawBody{ContentType: ct, Header: h, Data: m.Data}, nil
}

// MediaData returns an uploaded file's bytes, whatever its age.
func (s *Sim) MediaData(mediaID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.st.media[mediaID]
	if m == nil {
		return nil, false
	}
	return m.Data, true
}

// serveMediaLink serves an uploaded file at BaseURL/sim/media/{id}, the
// public link the simulator gives avatars (a CDN URL in WeCom).
func (s *Sim) serveMediaLink(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.st.media[r.PathValue("id")]
	s.mu.Unlock()
	if m == nil {
		http.NotFound(w, r)
		return
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(m.Data)
}
