package def

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShippedJSONRoundTrip(t *testing.T) {
	for _, p := range mustShipped(t) {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseJSON(b)
		if err != nil {
			t.Fatalf("%s: %v", p.Key, err)
		}
		if d := cmp.Diff(p, q); d != "" {
			t.Errorf("%s: YAML and its JSON differ (-yaml +json):\n%s", p.Key, d)
		}
	}
}

func TestShippedReturnsNewValues(t *testing.T) {
	a := mustShipped(t)
	a[0].Fields[0].Label = "改过"
	if b := mustShipped(t); b[0].Fields[0].Label == "改过" {
		t.Error("a change to one Shipped result shows in the next")
	}
}

func TestYAMLAndJSONAgree(t *testing.T) {
	y := `
key: seal_use
name: 用印申请
owner: DZB
audience: faculty
fields:
  - {key: copies, label: 份数, type: number, required: true, min: 1, max: 50, integer: true}
  - {key: kind, label: 印章, type: choice, options: [公章, 合同章], multiple: true}
steps:
  - id: leader
    name: 部门负责人审批
    approvers: [{kind: dept_leader}]
    mode: any
    limit_days: 2
    remind_hours: 8
    cc: [{kind: users, users: [u1, u2]}]
    next: [{when: copies > 10, to: office}]
  - id: office
    name: 党政办公室审批
    approvers: [{kind: post, dept: DZB, post: 主任}]
    mode: all
`
	j := `{"key":"seal_use","name":"用印申请","owner":"DZB","audience":"faculty",
"fields":[{"key":"copies","label":"份数","type":"number","required":true,"min":1,"max":50,"integer":true},
{"key":"kind","label":"印章","type":"choice","options":["公章","合同章"],"multiple":true}],
"steps":[{"id":"leader","name":"部门负责人审批","approvers":[{"kind":"dept_leader"}],"mode":"any","limit_days":2,"remind_hours":8,
"cc":[{"kind":"users","users":["u1","u2"]}],"next":[{"when":"copies > 10","to":"office"}]},
{"id":"office","name":"党政办公室审批","approvers":[{"kind":"post","dept":"DZB","post":"主任"}],"mode":"all"}]}`
	py, err := ParseYAML([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	pj, err := ParseJSON([]byte(j))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(py, pj); d != "" {
		t.Errorf("(-yaml +json):\n%s", d)
	}
	if *pj.Fields[0].Max != 50 || pj.Steps[0].CC[0].Users[1] != "u2" {
		t.Errorf("parsed %+v", pj)
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	if _, err := ParseYAML([]byte("key: a\nname: 甲\nfields:\n  - key: x\n    requried: true\n")); err == nil || !strings.Contains(err.Error(), "requried") {
		t.Errorf("YAML with a misspelt key: %v", err)
	}
	if _, err := ParseJSON([]byte(`{"key":"a","steps":[{"id":"s","limit":3}]}`)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("JSON with an unknown key: %v", err)
	}
	if _, err := ParseJSON([]byte(`{"key":"a"} {"key":"b"}`)); err == nil {
		t.Error("JSON with two definitions parsed")
	}
	if _, err := ParseJSON([]byte(`{"key":"a"}]`)); err == nil {
		t.Error("JSON with trailing data parsed")
	}
}
