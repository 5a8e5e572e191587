package wecom

import (
	"context"
	"fmt"
	"strconv"

	"go.uber.org/zap"
)

// Workbench custom display (工作台自定义展示, §7), through our own plumbing
// (silenceper has none).

// Workbench display types.
const (
	WorkbenchKeyData = "keydata"
	WorkbenchImage   = "image"
	WorkbenchList    = "list"
	WorkbenchWebview = "webview"
	WorkbenchNormal  = "normal" // plain icon, no custom data
)

// Workbench limits.
const (
	MaxWorkbenchKeyData    = 4
	MaxWorkbenchListItems  = 3
	MaxWorkbenchBatchUsers = 1000
)

// WorkbenchData is what a workbench tile shows: Type and the matching
// field.
type WorkbenchData struct {
	Type    string                `json:"type"`
	KeyData *WorkbenchKeyDataBody `json:"keydata,omitempty"`
	Image   *WorkbenchImageBody   `json:"image,omitempty"`
	List    *WorkbenchListBody    `json:"list,omitempty"`
	Webview *WorkbenchWebviewBody `json:"webview,omitempty"`
}

// WorkbenchKeyDataBody shows up to four key figures.
type WorkbenchKeyDataBody struct {
	Items []WorkbenchKeyDataItem `json:"items"`
}

// WorkbenchKeyDataItem is one key figure. JumpURL is used when the app's
// homepage is H5, PagePath when it is a mini program.
type WorkbenchKeyDataItem struct {
	Key      string `json:"key"`
	Data     string `json:"data"`
	JumpURL  string `json:"jump_url,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// WorkbenchImageBody shows one image (best 3.35:1).
type WorkbenchImageBody struct {
	URL      string `json:"url"`
	JumpURL  string `json:"jump_url,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// WorkbenchListBody shows up to three lines.
type WorkbenchListBody struct {
	Items []WorkbenchListItem `json:"items"`
}

// WorkbenchListItem is one line (title ≤128 B).
type WorkbenchListItem struct {
	Title    string `json:"title"`
	JumpURL  string `json:"jump_url,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// WorkbenchWebviewBody embeds a page. Height is "single_row" or
// "double_row" (default). With EnableWebviewClick links inside must use
// wxwork://openurl?url=<encoded> and JumpURL is ignored.
type WorkbenchWebviewBody struct {
	URL                string `json:"url"`
	JumpURL            string `json:"jump_url,omitempty"`
	PagePath           string `json:"pagepath,omitempty"`
	Height             string `json:"height,omitempty"`
	HideTitle          bool   `json:"hide_title,omitempty"`
	EnableWebviewClick bool   `json:"enable_webview_click,omitempty"`
}

func (d *WorkbenchData) check() error {
	want := map[string]bool{
		WorkbenchKeyData: d.KeyData != nil, WorkbenchImage: d.Image != nil,
		WorkbenchList: d.List != nil, WorkbenchWebview: d.Webview != nil, WorkbenchNormal: true,
	}
	set, known := want[d.Type]
	switch {
	case !known:
		return fmt.Errorf("unknown workbench type %q", d.Type)
	case !set:
		return fmt.Errorf("workbench type %q without its %s body", d.Type, d.Type)
	case d.KeyData != nil && len(d.KeyData.Items) > MaxWorkbenchKeyData:
		return fmt.Errorf("keydata has %d items, at most %d", len(d.KeyData.Items), MaxWorkbenchKeyData)
	case d.List != nil && len(d.List.Items) > MaxWorkbenchListItems:
		return fmt.Errorf("list has %d items, at most %d", len(d.List.Items), MaxWorkbenchListItems)
	}
	return nil
}

// WorkbenchTemplate is the app's display type with its corp-wide default
// data. ReplaceUserData overwrites every user's own data when set.
type WorkbenchTemplate struct {
	WorkbenchData
	ReplaceUserData bool `json:"replace_user_data,omitempty"`
}

type workbenchTemplateRequest struct {
	AgentID int64 `json:"agentid"`
	WorkbenchTemplate
}

type workbenchTemplateResponse struct {
	apiResponse
	WorkbenchTemplate
}

// SetWorkbenchTemplate sets the app's workbench display type and default
// data (WorkbenchNormal reverts to the plain icon).
func (cl *Client) SetWorkbenchTemplate(ctx context.Context, t WorkbenchTemplate) error {
	const api = "agent/set_workbench_template"
	if err := t.check(); err != nil {
		return fmt.Errorf("wecom: %s agent %d: %w", api, cl.agentID, err)
	}
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		return cs.postJSON(api, nil, workbenchTemplateRequest{AgentID: cl.agentID, WorkbenchTemplate: t}, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: %s agent %d: %w", api, cl.agentID, err)
	}
	return nil
}

// GetWorkbenchTemplate reads the app's workbench template.
func (cl *Client) GetWorkbenchTemplate(ctx context.Context) (*WorkbenchTemplate, error) {
	const api = "agent/get_workbench_template"
	var out workbenchTemplateResponse
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		out = workbenchTemplateResponse{}
		return cs.postJSON(api, nil, map[string]int64{"agentid": cl.agentID}, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s agent %d: %w", api, cl.agentID, err)
	}
	return &out.WorkbenchTemplate, nil
}

type workbenchDataRequest struct {
	AgentID int64  `json:"agentid"`
	UserID  string `json:"userid"`
	WorkbenchData
}

// SetWorkbenchData sets one member's tile data. WeCom allows 10 calls a
// minute per member per app; the client waits for that quota.
func (cl *Client) SetWorkbenchData(ctx context.Context, userID string, d WorkbenchData) error {
	const api = "agent/set_workbench_data"
	if err := d.check(); err != nil {
		return fmt.Errorf("wecom: %s agent %d user %s: %w", api, cl.agentID, userID, err)
	}
	spec := callSpec{api: api, idempotent: true, fields: []zap.Field{zap.String("userid", userID)},
		buckets: perMinute(cl.corp.rlKey("workbench", strconv.FormatInt(cl.agentID, 10), userID), cl.corp.limits.WorkbenchDataPerUserPerMinute)}
	err := cl.do(ctx, spec, func(cs *callState) error {
		return cs.postJSON(api, nil, workbenchDataRequest{AgentID: cl.agentID, UserID: userID, WorkbenchData: d}, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: %s agent %d user %s: %w", api, cl.agentID, userID, err)
	}
	return nil
}

type batchWorkbenchRequest struct {
	AgentID    int64         `json:"agentid"`
	UserIDList []string      `json:"userid_list"`
	Data       WorkbenchData `json:"data"`
}

// BatchSetWorkbenchData sets the same tile data for up to 1000 members
// (100,000 person-times a minute per corp).
func (cl *Client) BatchSetWorkbenchData(ctx context.Context, userIDs []string, d WorkbenchData) error {
	const api = "agent/batch_set_workbench_data"
	if len(userIDs) == 0 || len(userIDs) > MaxWorkbenchBatchUsers {
		return fmt.Errorf("wecom: %s agent %d: %d users, want 1..%d", api, cl.agentID, len(userIDs), MaxWorkbenchBatchUsers)
	}
	if err := d.check(); err != nil {
		return fmt.Errorf("wecom: %s agent %d: %w", api, cl.agentID, err)
	}
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		return cs.postJSON(api, nil, batchWorkbenchRequest{AgentID: cl.agentID, UserIDList: userIDs, Data: d}, &apiResponse{})
	})
	if err != nil {
		return fmt.Errorf("wecom: %s agent %d (%d users): %w", api, cl.agentID, len(userIDs), err)
	}
	return nil
}

type workbenchDataResponse struct {
	apiResponse
	Data WorkbenchData `json:"data"`
}

// GetWorkbenchData reads what a member's tile shows (the app's default when
// the template was set with ReplaceUserData).
func (cl *Client) GetWorkbenchData(ctx context.Context, userID string) (*WorkbenchData, error) {
	const api = "agent/get_workbench_data"
	var out workbenchDataResponse
	err := cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		out = workbenchDataResponse{}
		return cs.postJSON(api, nil, map[string]any{"agentid": cl.agentID, "userid": userID}, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s agent %d user %s: %w", api, cl.agentID, userID, err)
	}
	return &out.Data, nil
}
