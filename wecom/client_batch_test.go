package wecom_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
)

func TestUploadMediaAndSyncUsers(t *testing.T) {
	e := newEnv(t)
	cl := e.contacts(t)
	csv := "姓名,帐号,手机号,邮箱,所在部门,职位\n" +
		"新同学,s2024001,13600000001,,8,学生\n" +
		"李华,lihua,13800000002,lihua@example.edu.cn,2,副校长\n"
	m, err := cl.UploadMedia(ctx, wecom.MediaFile, "users.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.Type != wecom.MediaFile || m.CreatedAt.IsZero() {
		t.Errorf("media = %+v", m)
	}
	if got, ok := e.sim.MediaData(m.ID); !ok || !bytes.Equal(got, []byte(csv)) {
		t.Errorf("simulator stored %q", got)
	}
	job, err := cl.BatchSyncUser(ctx, wecom.BatchImport{MediaID: m.ID, ToInvite: wecom.Ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	// Jobs take time: read straight after submitting, it is not finished.
	if res, err := cl.BatchGetResult(ctx, job); err != nil || res.Status == wecom.JobFinished || len(res.Result) != 0 {
		t.Errorf("result right after submitting = %+v, %v; want status 1 or 2 and no rows", res, err)
	}
	if err := e.sim.WaitJobs(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := cl.BatchGetResult(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != wecom.JobFinished || res.Type != "sync_user" || res.Total != 2 || res.Percentage != 100 {
		t.Errorf("result = %+v", res)
	}
	var rows []string
	for _, r := range res.Result {
		rows = append(rows, r.UserID)
		if r.ErrCode != 0 {
			t.Errorf("row %s: %d %s", r.UserID, r.ErrCode, r.ErrMsg)
		}
	}
	if !cmp.Equal(rows, []string{"s2024001", "lihua"}) {
		t.Errorf("rows = %v", rows)
	}
	// Read back through the app: today the contacts-sync secret gets 48009.
	if u, err := e.hall(t).GetUser(ctx, "lihua"); err != nil || u.Position != "副校长" {
		t.Errorf("lihua after sync = %+v, %v", u, err)
	}
	// Batch jobs are not idempotent: a 503 is not resent.
	e.sim.AddFault(wecomsimFault("/cgi-bin/batch/syncuser", 503))
	if _, err := cl.BatchSyncUser(ctx, wecom.BatchImport{MediaID: m.ID}); !wecom.Uncertain(err) {
		t.Errorf("503 on syncuser: %v, want an uncertain error", err)
	}
	if n := e.calls("/cgi-bin/batch/syncuser"); n != 2 {
		t.Errorf("%d syncuser calls, want 2 (no resend)", n)
	}
}

func TestReplaceParty(t *testing.T) {
	e := newEnv(t)
	cl := e.contacts(t)
	csv := "部门名称,部门ID,父部门ID,排序\n示例大学,1,0,\n计算机学院,2,1,90000\n计算机科学系,3,2,200\n软件工程系,4,2,100\n外国语学院,5,1,80000\n党政办公室,6,1,70000\n学生工作处,7,1,60000\n2023级软件工程1班,8,4,0\n医学院,20,1,100\n"
	m, err := cl.UploadMedia(ctx, wecom.MediaFile, "party.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	job, err := cl.BatchReplaceParty(ctx, wecom.BatchImport{MediaID: m.ID, ToInvite: wecom.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.WaitJobs(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := cl.BatchGetResult(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Type != "replace_party" || res.Status != wecom.JobFinished {
		t.Errorf("result = %+v", res)
	}
	if d, err := e.hall(t).GetDepartment(ctx, 20); err != nil || d.Name != "医学院" {
		t.Errorf("department 20 = %+v, %v", d, err)
	}
}
