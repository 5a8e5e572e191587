package contacts

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/wecom"
)

// The first load of a whole university would be ~2,000 department/create
// and ~36,000 user/create calls. The asynchronous batch APIs
// (docs/wecom.md §5.5) take a CSV each: replaceparty for the departments,
// syncuser for the members. ApplyBatch runs the plan's creations through
// them; whatever a job refused, and every other kind of op, is left for
// the call-by-call Apply of a new plan (the mirror records what the jobs
// did, so the new plan holds only the rest).

// Batch thresholds and sizes.
const (
	// BatchMinCreates is how many creations of a kind make a batch job
	// worth it: below that, call by call is as quick and reports better.
	BatchMinCreates = 1000
	// BatchRowsPerFile caps a member file: WeCom takes files up to 20 MB
	// (one member row is ~100 bytes) but one job at a time per corp, so
	// smaller files show progress and lose less when one is refused.
	BatchRowsPerFile = 10000
)

// memberHeader and partyHeader are the batch templates' headers (§5.5).
var (
	memberHeader = []string{"姓名", "帐号", "手机号", "邮箱", "所在部门", "职位", "性别", "是否部门内领导", "排序", "禁用"}
	partyHeader  = []string{"部门名称", "部门ID", "父部门ID", "排序"}
)

// BatchOptions are what ApplyBatch needs besides the plan.
type BatchOptions struct {
	Client *wecom.Client // the contacts-sync client
	Mirror *Mirror
	Logger *zap.Logger
	// Wait sleeps between getresult polls; default a timer of 2 s (a test
	// passes one that advances the simulator's clock).
	Wait func(ctx context.Context) error
	// Progress, when set, hears each job's percentage.
	Progress func(job string, percentage int)
	Now      func() time.Time
}

// BatchReport is what ApplyBatch did.
type BatchReport struct {
	// Departments and Members are the rows the jobs created (and the
	// mirror now records); their Failed counterparts the rows refused,
	// left for the call-by-call run.
	Departments, Members             int
	DepartmentsFailed, MembersFailed int
	// Jobs are the job ids, in order; Calls the API calls made (uploads,
	// submissions, polls).
	Jobs  []string
	Calls int
	// Skipped says why a kind was not batched, when it was not.
	Skipped []string
	// Collected are jobs an earlier, killed run submitted whose results
	// this one recorded.
	Collected []string
}

// Batchable says whether a plan's creations are worth the batch APIs:
// BatchMinCreates departments or members to create.
func Batchable(plan *Plan) bool {
	d, u := batchOps(plan)
	return len(d) >= BatchMinCreates || len(u) >= BatchMinCreates
}

func batchOps(plan *Plan) (depts, users []Op) {
	for _, op := range plan.Ops {
		switch {
		case op.Kind == OpCreateDepartment && op.WantDepartment != nil && op.DeptFields != nil:
			depts = append(depts, op)
		case op.Kind == OpCreateUser && op.WantMember != nil && op.UserFields != nil && op.Reason != "gone":
			users = append(users, op)
		}
	}
	return depts, users
}

// ApplyBatch creates the plan's new departments (replaceparty) and new
// members (syncuser, without invitations) through batch jobs, polling
// getresult until each ends, and records each row WeCom created in the
// mirror. replaceparty deletes the empty departments missing from its file,
// so it is used only on a corp whose department tree is the root alone
// (department/simplelist says so): a fresh corp. Member rows hold only
// what the template has; anything else (a main department other than the
// first) is left for the call-by-call run to update. Plan again after it.
func ApplyBatch(ctx context.Context, plan *Plan, opts BatchOptions) (*BatchReport, error) {
	if opts.Client == nil || opts.Mirror == nil {
		return nil, errors.New("contacts: batch: no client or no mirror")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Wait == nil {
		opts.Wait = func(ctx context.Context) error {
			t := time.NewTimer(2 * time.Second)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	b := &batcher{opts: opts, log: opts.Logger.Named("contacts"), rep: &BatchReport{}}
	depts, users := batchOps(plan)
	// A job a killed run submitted has run in WeCom all the same: collect
	// its result rather than submit its rows again.
	done, err := b.collect(ctx, depts, users)
	if err != nil {
		return b.rep, err
	}
	if len(done) > 0 {
		keep := func(ops []Op) []Op {
			var out []Op
			for _, op := range ops {
				if !done[opKey(op)] {
					out = append(out, op)
				}
			}
			return out
		}
		depts, users = keep(depts), keep(users)
	}
	if len(depts) >= BatchMinCreates {
		b.rep.Calls++
		refs, err := opts.Client.DepartmentSimpleList(ctx, 0)
		if err != nil {
			return b.rep, fmt.Errorf("contacts: batch: list departments: %w", err)
		}
		if len(refs) > 1 {
			b.rep.Skipped = append(b.rep.Skipped, fmt.Sprintf("departments: WeCom holds %d departments besides the root, and replaceparty would delete the empty ones missing from the file: created call by call", len(refs)-1))
		} else if err := b.departments(ctx, depts); err != nil {
			return b.rep, err
		}
	} else if len(depts) > 0 {
		b.rep.Skipped = append(b.rep.Skipped, fmt.Sprintf("departments: %d to create, fewer than %d: call by call", len(depts), BatchMinCreates))
	}
	if len(users) < BatchMinCreates {
		if len(users) > 0 {
			b.rep.Skipped = append(b.rep.Skipped, fmt.Sprintf("members: %d to create, fewer than %d: call by call", len(users), BatchMinCreates))
		}
		return b.rep, nil
	}
	// The members' departments must exist first: those the job did not
	// create go call by call now (no touches are handled here: the run's
	// own Apply deals with them).
	if sub := plan.departmentOps(); len(sub.Ops) > 0 {
		st, err := opts.Mirror.Load(ctx)
		if err != nil {
			return b.rep, err
		}
		have := map[int64]bool{}
		for _, d := range st.Departments {
			have[d.ID] = true
		}
		keep := map[int]bool{}
		for i, op := range sub.Ops {
			if op.Kind != OpCreateDepartment || !have[op.Department] {
				keep[i] = true
			}
		}
		if sub = sub.subset(keep, nil); len(sub.Ops) > 0 {
			rep, err := Apply(ctx, sub, ApplyOptions{Client: opts.Client, Mirror: opts.Mirror, Logger: opts.Logger, Now: opts.Now})
			if rep != nil {
				b.rep.Calls += rep.Calls
			}
			if err != nil {
				return b.rep, err
			}
		}
	}
	st, err := opts.Mirror.Load(ctx)
	if err != nil {
		return b.rep, err
	}
	have := map[int64]bool{RootDepartment: true}
	for _, d := range st.Departments {
		have[d.ID] = true
	}
	// A member whose departments are not all there waits for the
	// call-by-call run, which reports why.
	var ready []Op
	for _, op := range users {
		ok := true
		for _, d := range op.UserFields.Department {
			if !have[d] {
				ok = false
				break
			}
		}
		if ok {
			ready = append(ready, op)
		}
	}
	if len(ready) >= BatchMinCreates {
		for start := 0; start < len(ready); start += BatchRowsPerFile {
			if err := b.members(ctx, ready[start:min(start+BatchRowsPerFile, len(ready))]); err != nil {
				return b.rep, err
			}
		}
	} else if len(users) > 0 {
		b.rep.Skipped = append(b.rep.Skipped, fmt.Sprintf("members: %d ready to create, fewer than %d: call by call", len(ready), BatchMinCreates))
	}
	return b.rep, nil
}

type batcher struct {
	opts BatchOptions
	log  *zap.Logger
	rep  *BatchReport
}

// departments runs one replaceparty job with every department to create
// (parents come before children in the plan, and WeCom orders the file
// itself anyway).
func (b *batcher) departments(ctx context.Context, ops []Op) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(partyHeader)
	byID := map[int64]Op{}
	for _, op := range ops {
		f := op.DeptFields
		name, parent, order := "", int64(0), int64(0)
		if f.Name != nil {
			name = *f.Name
		}
		if f.ParentID != nil {
			parent = *f.ParentID
		}
		if f.Order != nil {
			order = *f.Order
		}
		_ = w.Write([]string{name, strconv.FormatInt(op.Department, 10), strconv.FormatInt(parent, 10), strconv.FormatInt(order, 10)})
		byID[op.Department] = op
	}
	w.Flush()
	res, err := b.job(ctx, "replace_party", "departments.csv", buf.Bytes(), b.opts.Client.BatchReplaceParty, nil)
	if err != nil {
		return err
	}
	var ok []Department
	for _, r := range res.Result {
		op, mine := byID[int64(r.PartyID)]
		if !mine {
			continue
		}
		if r.ErrCode != 0 {
			b.rep.DepartmentsFailed++
			b.log.Warn("batch department refused", zap.Int("department", r.PartyID), zap.Int("errcode", r.ErrCode), zap.String("errmsg", r.ErrMsg))
			continue
		}
		ok = append(ok, *op.WantDepartment)
	}
	if err := b.opts.Mirror.PutDepartments(context.WithoutCancel(ctx), nil, ok, b.opts.Now()); err != nil {
		return fmt.Errorf("contacts: batch: record %d departments: %w", len(ok), err)
	}
	b.rep.Departments += len(ok)
	return nil
}

// members runs one syncuser job for ops.
func (b *batcher) members(ctx context.Context, ops []Op) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(memberHeader)
	byID := map[string]Op{}
	for _, op := range ops {
		_ = w.Write(memberRow(op.UserID, op.UserFields))
		byID[strings.ToLower(op.UserID)] = op
	}
	w.Flush()
	invite := false
	res, err := b.job(ctx, "sync_user", "members.csv", buf.Bytes(), b.opts.Client.BatchSyncUser, &invite)
	if err != nil {
		return err
	}
	var ok []Member
	for _, r := range res.Result {
		op, mine := byID[strings.ToLower(r.UserID)]
		if !mine {
			continue
		}
		if r.ErrCode != 0 {
			b.rep.MembersFailed++
			b.log.Warn("batch member refused", zap.String("userid", r.UserID), zap.Int("errcode", r.ErrCode), zap.String("errmsg", r.ErrMsg))
			continue
		}
		m := *op.WantMember
		// The template has no main department: WeCom takes the first
		// listed, which memberRow puts first; the mirror says what WeCom
		// holds, so a different main is updated by the next plan.
		if len(m.Departments) > 0 {
			m.MainDepartment = firstDepartment(op.UserFields)
		}
		ok = append(ok, m)
	}
	if err := b.opts.Mirror.PutMembers(context.WithoutCancel(ctx), nil, ok, b.opts.Now()); err != nil {
		return fmt.Errorf("contacts: batch: record %d members: %w", len(ok), err)
	}
	b.rep.Members += len(ok)
	return nil
}

// firstDepartment is the department memberRow lists first: the main one
// when it is among them.
func firstDepartment(f *UserFields) int64 {
	if f.MainDepartment != nil && containsID(f.Department, *f.MainDepartment) {
		return *f.MainDepartment
	}
	if len(f.Department) > 0 {
		return f.Department[0]
	}
	return 0
}

func containsID(xs []int64, x int64) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// memberRow is a member's syncuser row: departments with the main one
// first, with their orders and leader flags aligned.
func memberRow(userID string, f *UserFields) []string {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	idx := make([]int, len(f.Department))
	for i := range idx {
		idx[i] = i
	}
	if main := firstDepartment(f); len(f.Department) > 0 && f.Department[0] != main {
		for i, d := range f.Department {
			if d == main {
				idx[0], idx[i] = idx[i], idx[0]
				break
			}
		}
	}
	var depts, orders, leaders []string
	for _, i := range idx {
		depts = append(depts, strconv.FormatInt(f.Department[i], 10))
		if i < len(f.Order) {
			orders = append(orders, strconv.FormatInt(f.Order[i], 10))
		}
		if i < len(f.IsLeaderInDept) {
			leaders = append(leaders, strconv.Itoa(f.IsLeaderInDept[i]))
		}
	}
	gender := ""
	if f.Gender != nil {
		switch *f.Gender {
		case 1:
			gender = "男"
		case 2:
			gender = "女"
		}
	}
	disable := "0"
	if f.Enable != nil && *f.Enable == 0 {
		disable = "1"
	}
	return []string{str(f.Name), userID, str(f.Mobile), str(f.Email), strings.Join(depts, ";"), str(f.Position), gender,
		strings.Join(leaders, ";"), strings.Join(orders, ";"), disable}
}

// job uploads data, submits it with submit and polls until it ends. A
// submission refused with 302008 (another job of the corp is running:
// someone else's import, or ours from a killed run) waits and tries again.
func (b *batcher) job(ctx context.Context, kind, filename string, data []byte,
	submit func(context.Context, wecom.BatchImport) (string, error), invite *bool) (*wecom.BatchResult, error) {
	b.rep.Calls++
	media, err := b.opts.Client.UploadMedia(ctx, wecom.MediaFile, filename, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("contacts: batch %s: upload %s: %w", kind, filename, err)
	}
	var jobID string
	for {
		b.rep.Calls++
		jobID, err = submit(ctx, wecom.BatchImport{MediaID: media.ID, ToInvite: invite})
		if !wecom.IsCode(err, 302008) {
			break
		}
		b.log.Info("another batch job is running; waiting", zap.String("job", kind))
		if err := b.opts.Wait(ctx); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("contacts: batch %s: submit: %w", kind, err)
	}
	b.rep.Jobs = append(b.rep.Jobs, jobID)
	if err := b.opts.Mirror.db.PutBatchJob(context.WithoutCancel(ctx), nil, jobID, kind, b.opts.Now()); err != nil {
		return nil, err
	}
	b.log.Info("batch job submitted", zap.String("job", kind), zap.String("jobid", jobID), zap.Int("bytes", len(data)))
	for {
		if err := b.opts.Wait(ctx); err != nil {
			return nil, err
		}
		b.rep.Calls++
		res, err := b.opts.Client.BatchGetResult(ctx, jobID)
		if err != nil {
			return nil, fmt.Errorf("contacts: batch %s: poll %s: %w", kind, jobID, err)
		}
		if b.opts.Progress != nil {
			b.opts.Progress(kind, res.Percentage)
		}
		if res.Status == wecom.JobFinished {
			if err := b.opts.Mirror.db.FinishBatchJob(context.WithoutCancel(ctx), nil, jobID, "finished", b.opts.Now()); err != nil {
				return nil, err
			}
			return res, nil
		}
	}
}

func opKey(op Op) string {
	if op.Kind == OpCreateDepartment {
		return "d:" + strconv.FormatInt(op.Department, 10)
	}
	return "u:" + strings.ToLower(op.UserID)
}

// collect polls the jobs a killed run left running to their end and
// records what they created among the plan's creations (by key).
func (b *batcher) collect(ctx context.Context, depts, users []Op) (map[string]bool, error) {
	db := b.opts.Mirror.db
	pending, err := db.PendingBatchJobs(ctx, nil)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	byKey := map[string]Op{}
	for _, op := range append(append([]Op(nil), depts...), users...) {
		byKey[opKey(op)] = op
	}
	done := map[string]bool{}
	for _, j := range pending {
		var res *wecom.BatchResult
		for {
			b.rep.Calls++
			res, err = b.opts.Client.BatchGetResult(ctx, j.JobID)
			if wecom.IsCode(err, 40088) || wecom.IsCode(err, 40089) {
				// Unknown or past the last 5 results: whatever it did, the
				// plan's ops redo (WeCom absorbs repeats as updates).
				b.log.Warn("batch job of an earlier run is lost; its rows are planned again", zap.String("jobid", j.JobID), zap.Error(err))
				if err := db.FinishBatchJob(context.WithoutCancel(ctx), nil, j.JobID, "lost", b.opts.Now()); err != nil {
					return nil, err
				}
				res = nil
				break
			}
			if err != nil {
				return nil, fmt.Errorf("contacts: batch: poll the earlier job %s: %w", j.JobID, err)
			}
			if res.Status == wecom.JobFinished {
				break
			}
			if err := b.opts.Wait(ctx); err != nil {
				return nil, err
			}
		}
		if res == nil {
			continue
		}
		var ds []Department
		var ms []Member
		for _, r := range res.Result {
			if r.ErrCode != 0 {
				continue
			}
			key := "u:" + strings.ToLower(r.UserID)
			if j.Kind == "replace_party" {
				key = "d:" + strconv.Itoa(r.PartyID)
			}
			op, ok := byKey[key]
			if !ok || done[key] {
				continue
			}
			done[key] = true
			if op.Kind == OpCreateDepartment {
				ds = append(ds, *op.WantDepartment)
			} else {
				m := *op.WantMember
				m.MainDepartment = firstDepartment(op.UserFields)
				ms = append(ms, m)
			}
		}
		wctx := context.WithoutCancel(ctx)
		if err := b.opts.Mirror.PutDepartments(wctx, nil, ds, b.opts.Now()); err != nil {
			return nil, err
		}
		if err := b.opts.Mirror.PutMembers(wctx, nil, ms, b.opts.Now()); err != nil {
			return nil, err
		}
		if err := db.FinishBatchJob(wctx, nil, j.JobID, "finished", b.opts.Now()); err != nil {
			return nil, err
		}
		b.rep.Departments += len(ds)
		b.rep.Members += len(ms)
		b.rep.Collected = append(b.rep.Collected, j.JobID)
		b.log.Info("collected the result of an earlier run's batch job", zap.String("jobid", j.JobID), zap.Int("departments", len(ds)), zap.Int("members", len(ms)))
	}
	return done, nil
}

// PendingBatch says whether a job an earlier run submitted may still be
// running (or finished unrecorded): the next run collects it first.
func (m *Mirror) PendingBatch(ctx context.Context) (bool, error) {
	js, err := m.db.PendingBatchJobs(ctx, nil)
	return len(js) > 0, err
}
