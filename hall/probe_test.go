package hall_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/hall"
)

// TestOthersCannotTellWhetherATaskIsOpen: transferring or adding an
// approver to someone else's task is refused as not theirs, whether the
// task is open or already decided — the answer never says which.
func TestOthersCannotTellWhetherATaskIsOpen(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.Local))
	r.publishShipped(t, "student_leave")
	ctx := context.Background()
	a := r.student(t)
	open, _, err := r.eng.Apply(ctx, a, "student_leave", leaveForm("2026-12-07", "2026-12-08"))
	if err != nil {
		t.Fatal(err)
	}
	done, _, err := r.eng.Apply(ctx, a, "student_leave", leaveForm("2026-12-14", "2026-12-15"))
	if err != nil {
		t.Fatal(err)
	}
	task := func(id int64) hall.Task {
		app, err := r.eng.Application(ctx, id, hall.Viewer{Admin: true})
		if err != nil {
			t.Fatal(err)
		}
		return app.Tasks[0]
	}
	decided := task(done)
	if err := r.eng.Decide(ctx, decided.ID, decided.Assignee, hall.Approve, ""); err != nil {
		t.Fatal(err)
	}
	stranger := r.u.DataCenter().Faculty[0].StaffNo
	for _, tk := range []hall.Task{task(open), decided} {
		if err := r.eng.Transfer(ctx, tk.ID, stranger, decided.Assignee, ""); !errors.Is(err, hall.ErrNotAssignee) {
			t.Errorf("a stranger transferring task %d (%s): %v, want not the assignee", tk.ID, tk.State, err)
		}
		if err := r.eng.AddApprover(ctx, tk.ID, stranger, decided.Assignee); !errors.Is(err, hall.ErrNotAssignee) {
			t.Errorf("a stranger adding to task %d (%s): %v, want not the assignee", tk.ID, tk.State, err)
		}
	}
	// The assignee is told a decided task is handled.
	if err := r.eng.Transfer(ctx, decided.ID, decided.Assignee, stranger, ""); !errors.Is(err, hall.ErrAlreadyHandled) {
		t.Errorf("the assignee transferring a decided task: %v", err)
	}
}
