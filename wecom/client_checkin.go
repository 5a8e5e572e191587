package wecom

import (
	"context"
	"fmt"
	"time"

	"github.com/silenceper/wechat/v2/work/checkin"
)

// Checkin (打卡, §9), through silenceper: its GetCheckinDataRequest sends
// exactly the documented fields and its response structs follow WxJava's
// names. The response types are aliases so callers need not import
// silenceper. Token: the 打卡 app's secret, or an app listed in 打卡 → 可调用
// 接口的应用 (48002 otherwise).

// Checkin record kinds (opencheckindatatype).
const (
	CheckinOnOffDuty = 1
	CheckinOutside   = 2
	CheckinAll       = 3
)

// Checkin query limits.
const (
	MaxCheckinUsers = 100
	MaxCheckinSpan  = 30 * 24 * time.Hour
)

type (
	// CheckinRecord is one checkin/getcheckindata row.
	CheckinRecord = checkin.GetCheckinDataItem
	// CheckinDayData is one member-day of checkin/getcheckin_daydata.
	CheckinDayData = checkin.DayDataItem
	// CheckinMonthData is one member of checkin/getcheckin_monthdata.
	CheckinMonthData = checkin.MonthDataItem
)

// CheckinQuery selects records: up to 100 members over at most 30 days.
// Kind is used by GetCheckinData only (default CheckinAll).
type CheckinQuery struct {
	Kind    int
	Start   time.Time
	End     time.Time
	UserIDs []string
}

func (q CheckinQuery) request() (*checkin.GetCheckinDataRequest, error) {
	switch {
	case len(q.UserIDs) == 0 || len(q.UserIDs) > MaxCheckinUsers:
		return nil, fmt.Errorf("%d users, want 1..%d", len(q.UserIDs), MaxCheckinUsers)
	case q.End.Before(q.Start) || q.End.Sub(q.Start) > MaxCheckinSpan:
		return nil, fmt.Errorf("range %s..%s: want start ≤ end within 30 days", q.Start.Format(time.DateOnly), q.End.Format(time.DateOnly))
	}
	kind := q.Kind
	if kind == 0 {
		kind = CheckinAll
	}
	return &checkin.GetCheckinDataRequest{OpenCheckinDataType: int64(kind), StartTime: q.Start.Unix(), EndTime: q.End.Unix(), UserIDList: q.UserIDs}, nil
}

// GetCheckinData returns raw checkin records (600 calls/min per corp).
func (cl *Client) GetCheckinData(ctx context.Context, q CheckinQuery) ([]*CheckinRecord, error) {
	const api = "checkin/getcheckindata"
	req, err := q.request()
	if err != nil {
		return nil, fmt.Errorf("wecom: %s: %w", api, err)
	}
	var out []*CheckinRecord
	spec := callSpec{api: api, idempotent: true, buckets: perMinute(cl.corp.rlKey("checkin"), cl.corp.limits.CheckinPerMinute)}
	err = cl.do(ctx, spec, func(cs *callState) error {
		r, err := checkin.NewClient(cs.sdk(cl.corp.corpID, cl.agentID)).GetCheckinData(req)
		if err == nil {
			out = r.CheckinData
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s (%d users from %s): %w", api, len(q.UserIDs), q.Start.Format(time.DateOnly), err)
	}
	return out, nil
}

// GetCheckinDayData returns daily reports.
func (cl *Client) GetCheckinDayData(ctx context.Context, q CheckinQuery) ([]CheckinDayData, error) {
	const api = "checkin/getcheckin_daydata"
	req, err := q.request()
	if err != nil {
		return nil, fmt.Errorf("wecom: %s: %w", api, err)
	}
	req.OpenCheckinDataType = 0 // not a field of this API
	var out []CheckinDayData
	err = cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		r, err := checkin.NewClient(cs.sdk(cl.corp.corpID, cl.agentID)).GetDayData(req)
		if err == nil {
			out = r.Datas
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s (%d users from %s): %w", api, len(q.UserIDs), q.Start.Format(time.DateOnly), err)
	}
	return out, nil
}

// GetCheckinMonthData returns monthly reports.
func (cl *Client) GetCheckinMonthData(ctx context.Context, q CheckinQuery) ([]CheckinMonthData, error) {
	const api = "checkin/getcheckin_monthdata"
	req, err := q.request()
	if err != nil {
		return nil, fmt.Errorf("wecom: %s: %w", api, err)
	}
	req.OpenCheckinDataType = 0
	var out []CheckinMonthData
	err = cl.do(ctx, callSpec{api: api, idempotent: true}, func(cs *callState) error {
		r, err := checkin.NewClient(cs.sdk(cl.corp.corpID, cl.agentID)).GetMonthData(req)
		if err == nil {
			out = r.Datas
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: %s (%d users from %s): %w", api, len(q.UserIDs), q.Start.Format(time.DateOnly), err)
	}
	return out, nil
}
