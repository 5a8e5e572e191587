package wecom_test

import (
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

func TestCheckin(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	// The env clock is Monday 2025-03-03 09:17 UTC; look at the week before.
	end := e.clock.Now().Truncate(24 * time.Hour)
	start := end.Add(-7 * 24 * time.Hour)
	q := wecom.CheckinQuery{Kind: wecom.CheckinAll, Start: start, End: end, UserIDs: []string{"lihua", "chenjing"}}
	recs, err := hall.GetCheckinData(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := e.sim.Checkins("lihua", start, end)
	var got int
	for _, r := range recs {
		if r.UserID == "lihua" {
			got++
		}
	}
	if len(want) == 0 || got != len(want) {
		t.Errorf("lihua: %d records through the client, simulator has %d", got, len(want))
	}
	if recs[0].GroupName != wecomsim.CheckinGroupName {
		t.Errorf("group = %q", recs[0].GroupName)
	}
	days, err := hall.GetCheckinDayData(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) == 0 || days[0].BaseInfo.RuleInfo.GroupName != wecomsim.CheckinGroupName {
		t.Errorf("day data = %+v", days)
	}
	months, err := hall.GetCheckinMonthData(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(months) != 2 {
		t.Errorf("month data for %d members, want 2", len(months))
	}
	if _, err := hall.GetCheckinData(ctx, wecom.CheckinQuery{Start: start, End: start.Add(40 * 24 * time.Hour), UserIDs: []string{"lihua"}}); err == nil {
		t.Error("40-day range accepted")
	}
}
