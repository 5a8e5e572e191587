package hall_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/hall"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// A tiny PDF: what DetectContentType calls application/pdf.
var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// TestAttachmentsGoWithTheApplication: a student's sick-leave certificate
// is sealed at rest, attaches to their application only, and is read by
// them and their approvers — nobody else, not by a guessed token, not by
// another student submitting it with their own form.
func TestAttachmentsGoWithTheApplication(t *testing.T) {
	db := storetest.SQLite(t)
	r := newRigOn(t, db, time.Date(2026, 12, 2, 9, 0, 0, 0, time.Local))
	r.publishShipped(t, "student_leave")
	ctx := context.Background()
	a := r.student(t)
	me := hall.Viewer{UserID: a.UserID}

	if _, err := r.eng.Upload(ctx, me, "virus.exe", []byte("MZ\x90\x00binary")); !isAttachmentError(err) {
		t.Errorf("an executable was taken: %v", err)
	}
	if _, err := r.eng.Upload(ctx, me, "证明.pdf", bytes.Repeat([]byte("x"), hall.MaxAttachmentSize+1)); !isAttachmentError(err) {
		t.Errorf("an 11 MB file was taken: %v", err)
	}
	att, err := r.eng.Upload(ctx, me, `C:\Users\zhang\医院证明.pdf`, pdf)
	if err != nil || att.Filename != "医院证明.pdf" || att.ContentType != "application/pdf" {
		t.Fatalf("upload: %+v %v", att, err)
	}
	storetest.NoPlaintext(t, db, "hall_attachments", "/Type /Catalog")

	// Another student cannot read it, nor attach it to their own form.
	var other string
	for _, p := range r.u.DataCenter().Students {
		if p.StudentNo != a.UserID && p.CounselorNo != "" && p.Status == "enrolled" {
			other = p.StudentNo
			break
		}
	}
	if _, _, err := r.eng.File(ctx, att.Token, hall.Viewer{UserID: other}); !errors.Is(err, hall.ErrNotFound) {
		t.Errorf("another student read the upload: %v", err)
	}
	oa, err := r.eng.Applicant(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	f := leaveForm("2026-12-07", "2026-12-08")
	f.Set("leave_type", "病假")
	f["attachment"] = []string{att.Token}
	if _, fe, err := r.eng.Apply(ctx, oa, "student_leave", f); err != nil || fe["attachment"] == "" {
		t.Errorf("another student attached it: %v %v", fe, err)
	}

	id, fe, err := r.eng.Apply(ctx, a, "student_leave", f)
	if err != nil || len(fe) > 0 {
		t.Fatalf("apply: %v %v", fe, err)
	}
	app, err := r.eng.Application(ctx, id, me)
	if err != nil {
		t.Fatal(err)
	}
	counselor := app.Tasks[0].Assignee
	for who, want := range map[string]bool{a.UserID: true, counselor: true, other: false} {
		_, data, err := r.eng.File(ctx, att.Token, hall.Viewer{UserID: who})
		if got := err == nil && bytes.Equal(data, pdf); got != want {
			t.Errorf("%s reading the certificate: %v (%v), want %v", who, got, err, want)
		}
	}
	if _, _, err := r.eng.File(ctx, strings.Repeat("A", 22), me); !errors.Is(err, hall.ErrNotFound) {
		t.Errorf("a guessed token: %v", err)
	}
	// Once given to one application it is not given to another.
	f2 := leaveForm("2026-12-14", "2026-12-15")
	f2["attachment"] = []string{att.Token}
	if _, fe, _ := r.eng.Apply(ctx, a, "student_leave", url.Values(f2)); fe["attachment"] == "" {
		t.Error("the same file was attached to a second application")
	}
}

func isAttachmentError(err error) bool {
	var ae *hall.AttachmentError
	return errors.As(err, &ae)
}
