package wecom_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wecomapp/wecomapp/wecom"
)

func TestWorkbench(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	tmpl := wecom.WorkbenchTemplate{WorkbenchData: wecom.WorkbenchData{Type: wecom.WorkbenchKeyData, KeyData: &wecom.WorkbenchKeyDataBody{
		Items: []wecom.WorkbenchKeyDataItem{{Key: "待办", Data: "0", JumpURL: "https://h5.example.edu.cn/todo"}},
	}}}
	if err := hall.SetWorkbenchTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	got, err := hall.GetWorkbenchTemplate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&tmpl, got); diff != "" {
		t.Errorf("template (-want +got):\n%s", diff)
	}

	mine := wecom.WorkbenchData{Type: wecom.WorkbenchKeyData, KeyData: &wecom.WorkbenchKeyDataBody{
		Items: []wecom.WorkbenchKeyDataItem{{Key: "待办", Data: "3", JumpURL: "https://h5.example.edu.cn/todo"}},
	}}
	if err := hall.SetWorkbenchData(ctx, "lihua", mine); err != nil {
		t.Fatal(err)
	}
	d, err := hall.GetWorkbenchData(ctx, "lihua")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&mine, d); diff != "" {
		t.Errorf("lihua's data (-want +got):\n%s", diff)
	}
	if err := hall.BatchSetWorkbenchData(ctx, []string{"wangfang", "chenjing"}, mine); err != nil {
		t.Fatal(err)
	}
	if d, err := hall.GetWorkbenchData(ctx, "chenjing"); err != nil || d.KeyData == nil || d.KeyData.Items[0].Data != "3" {
		t.Errorf("chenjing's data = %+v, %v", d, err)
	}
	if err := hall.SetWorkbenchData(ctx, "lihua", wecom.WorkbenchData{Type: wecom.WorkbenchList}); err == nil {
		t.Error("list type without its body accepted")
	}
}

// TestWorkbenchDataQuota: 10 calls a minute per member per app. The client
// spaces the calls so that the simulator (fixed one-minute windows) never
// answers 45009, and only that member's calls wait.
func TestWorkbenchDataQuota(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	if err := hall.SetWorkbenchTemplate(ctx, wecom.WorkbenchTemplate{WorkbenchData: wecom.WorkbenchData{Type: wecom.WorkbenchList, List: &wecom.WorkbenchListBody{}}}); err != nil {
		t.Fatal(err)
	}
	data := wecom.WorkbenchData{Type: wecom.WorkbenchList, List: &wecom.WorkbenchListBody{Items: []wecom.WorkbenchListItem{{Title: "通知"}}}}
	for i := 0; i < 25; i++ {
		if err := hall.SetWorkbenchData(ctx, "lihua", data); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if got := e.sim.CallCount("/cgi-bin/agent/set_workbench_data", 45009); got != 0 {
		t.Errorf("%d calls answered 45009", got)
	}
	waits := len(e.sleeps.list())
	if waits != 20 {
		t.Errorf("%d waits for 25 calls, want 20 (a burst of 5)", waits)
	}
	if err := hall.SetWorkbenchData(ctx, "wangfang", data); err != nil {
		t.Fatal(err)
	}
	if w := e.sleeps.list(); len(w) != waits {
		t.Errorf("another member waited: %v", w[waits:])
	}
}
