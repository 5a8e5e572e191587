package handler

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/wecomapp/wecomapp/hall"
)

// The service hall's attachments: POST /hall/files takes one file (the
// form's file input, sent by hall.js before the form) and answers its
// token, which the form then posts in the attachment field; GET
// /hall/files/{token} gives it back to whoever may read it (the uploader;
// once submitted, whoever may read the application). Bodies beyond the
// engine's limit are cut off, not read to the end.

// hallUpload answers {"token", "filename", "size"} or {"error"} (400).
func (s *server) hallUpload(c *gin.Context) error {
	_, _, v := hallWho(c)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, hall.MaxAttachmentSize+1<<20)
	fh, err := c.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.JSON(http.StatusRequestEntityTooLarge, gin.H{"error": fmt.Sprintf("文件超过 %d MB", hall.MaxAttachmentSize>>20)})
			return nil
		}
		c.JSON(http.StatusBadRequest, gin.H{"error": "请选择要上传的文件"})
		return nil
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("handler: open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, hall.MaxAttachmentSize+1))
	if err != nil {
		return fmt.Errorf("handler: read upload: %w", err)
	}
	a, err := s.Hall.Upload(c.Request.Context(), v, fh.Filename, data)
	var ae *hall.AttachmentError
	if errors.As(err, &ae) {
		c.JSON(http.StatusBadRequest, gin.H{"error": ae.Problem})
		return nil
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"token": a.Token, "filename": a.Filename, "size": a.Size, "href": "/hall/files/" + a.Token})
	return nil
}

// hallFile serves an attachment to whoever may read it; to anyone else
// the same 404 as a token that does not exist.
func (s *server) hallFile(c *gin.Context) error {
	_, _, v := hallWho(c)
	a, data, err := s.Hall.File(c.Request.Context(), c.Param("token"), v)
	if err != nil {
		return hallNotFound(err)
	}
	// Served as a download under its own type, never sniffed into HTML.
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "private, no-store")
	c.Header("Content-Length", strconv.Itoa(len(data)))
	c.Data(http.StatusOK, a.ContentType, data)
	return nil
}
