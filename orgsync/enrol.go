package orgsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wecomapp/wecomapp/store"
)

// EnrolError is an enrolment WeCom refused: its errcode and what to do.
type EnrolError struct {
	UserID  string
	Code    int
	Message string
	Advice  string
}

func (e *EnrolError) Error() string {
	return fmt.Sprintf("orgsync: enrol %s: WeCom refused (errcode %d): %s", e.UserID, e.Code, e.Message)
}

// ErrNothingToEnrol is an enrolment whose plan held nothing for the
// person: no data-center record to make them from, or already a member.
var ErrNothingToEnrol = errors.New("orgsync: nothing to enrol (no data-center record, or already a member)")

// Enrol makes one person a member now, through the same machinery as the
// nightly run: their enrolment is recorded (so sync.members = registered
// keeps them), then a run limited to their own ops creates them in WeCom
// with their departments and tags. It waits up to wait for a running sync
// to end (ErrBusy after). It fails when the plan holds nothing for them:
// no data-center record to make them from, or already a member.
func (r *Runner) Enrol(ctx context.Context, userID, via, actor string, wait time.Duration) (*Result, error) {
	if err := r.opts.DB.PutEnrolment(ctx, nil, store.Enrolment{UserID: userID, Via: via, Actor: actor, EnrolledAt: store.Millis(r.opts.Now())}); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		res, err := r.Run(ctx, RunOptions{Trigger: TriggerSelfReg, Actor: actor, Only: []string{userID}})
		if errors.Is(err, ErrBusy) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		if err != nil {
			return res, err
		}
		created := false
		for _, op := range res.Plan.Ops {
			if op.UserID == userID {
				created = true
			}
		}
		if !created {
			return res, fmt.Errorf("enrol %s: %w", userID, ErrNothingToEnrol)
		}
		if res.Status != store.SyncConverged {
			if res.Report != nil && len(res.Report.Failures) > 0 {
				f := res.Report.Failures[0]
				return res, &EnrolError{UserID: userID, Code: f.Code, Message: f.Message, Advice: f.Advice}
			}
			return res, fmt.Errorf("orgsync: enrol %s: run %d ended %s", userID, res.RunID, res.Status)
		}
		return res, nil
	}
}
