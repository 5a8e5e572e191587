package wecomsim

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Async batch imports (docs/wecom.md §5.5): upload a CSV with media/upload,
// submit batch/syncuser|replaceuser|replaceparty → jobid, poll
// batch/getresult, and get batch_job_result at the callback URL given in
// the request. Jobs run one at a time as the contacts-sync tool (their
// changes are not echoed as change_contact), and they take time on the
// simulator's clock (see JobRowsPerSecond): a client that reads the result
// straight after submitting sees status 1 or 2, as it would on WeCom.
// WaitJobs runs them to the end; PauseJobs holds them.

// JobRowsPerSecond is how many rows of an import file the simulator works
// through per second of its clock. A job reports status 1 (started) for
// jobStartDelay after it was submitted, then 2 (running) with a percentage
// in proportion to the time spent, and finishes — status 3, percentage
// 100, the result rows, batch_job_result — ceil(rows / JobRowsPerSecond)
// seconds later: 1,000 rows take 1 + 10 s, the full demo university's
// 36,000 members 1 + 360 s. WeCom documents no rate; this one is slow
// enough that a client must poll, fast enough for a local run. The rows'
// effect on the contacts is applied at once when the job finishes (WeCom
// applies them as it goes; the simulator's reading).
const JobRowsPerSecond = 100

// jobStartDelay is how long a submitted job stays at status 1.
const jobStartDelay = time.Second

// Job types as getresult and batch_job_result name them.
const (
	jobSyncUser     = "sync_user"
	jobReplaceUser  = "replace_user"
	jobReplaceParty = "replace_party"
)

// keptJobs is how many job results getresult can still return (40089
// for older ones).
const keptJobs = 5

type job struct {
	ID       string
	Type     string
	Status   int // 3 once finished; until then derived from the clock (jobStatus)
	Total    int
	Result   []obj
	ErrCode  int // whole-job outcome, sent in batch_job_result
	ErrMsg   string
	start    time.Time // status 1 → 2 (simulator clock)
	due      time.Time // status 2 → 3
	finished time.Time // when it finished: due, shifted by any pause
	callback *Receiver
	table    *csvTable
}

// jobDuration is the running time of a job with n rows.
func jobDuration(n int) time.Duration {
	secs := (n + JobRowsPerSecond - 1) / JobRowsPerSecond
	return time.Duration(max(secs, 1)) * time.Second
}

// jobRunner wakes the job goroutine. paused, pausedAt and changed are
// guarded by Sim.mu.
type jobRunner struct {
	wake     chan struct{}
	paused   bool
	pausedAt time.Time     // simulator time the hold began; unfinished jobs are frozen there
	changed  chan struct{} // closed and replaced whenever a job finishes or the hold ends
}

func (jr *jobRunner) init() {
	jr.wake = make(chan struct{}, 1)
	jr.changed = make(chan struct{})
}

func (jr *jobRunner) poke() {
	select {
	case jr.wake <- struct{}{}:
	default:
	}
}

func (jr *jobRunner) signal() {
	close(jr.changed)
	jr.changed = make(chan struct{})
}

// runJobs finishes jobs when their time comes. Every API call and Advance
// also finish due jobs (advanceJobs), so what a client sees depends only on
// the simulator's clock; this goroutine makes batch_job_result go out on
// time when nobody calls.
func (s *Sim) runJobs() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		s.advanceJobs()
		wait := time.Duration(-1)
		if !s.jobs.paused {
			now := s.Now()
			for _, j := range s.st.jobs {
				if j.Status < 3 {
					wait = max(j.due.Sub(now), time.Millisecond)
				}
			}
		}
		s.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-s.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-s.jobs.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// advanceJobs finishes every job whose time has come. Runs under s.mu.
func (s *Sim) advanceJobs() {
	if s.jobs.paused {
		return
	}
	now := s.Now()
	for _, j := range s.st.jobs {
		if j.Status < 3 && !now.Before(j.due) {
			s.runJob(j)
			s.jobs.signal()
		}
	}
}

// jobStatus is what getresult reports for j at now: status and percentage.
// Runs under s.mu.
func (s *Sim) jobStatus(j *job, now time.Time) (status, percentage int) {
	if j.Status == 3 {
		return 3, 100
	}
	if s.jobs.paused {
		now = s.jobs.pausedAt
	}
	if now.Before(j.start) {
		return 1, 0
	}
	pct := int(now.Sub(j.start) * 100 / j.due.Sub(j.start))
	return 2, min(pct, 99)
}

// PauseJobs holds (true) or releases (false) batch jobs: while held, the
// clock stops for them — a job submitted meanwhile stays at status 1, a
// running one at its percentage — and further submissions get 302008.
// Released, they resume where they were.
func (s *Sim) PauseJobs(paused bool) {
	s.mu.Lock()
	switch {
	case paused && !s.jobs.paused:
		s.jobs.paused, s.jobs.pausedAt = true, s.Now()
	case !paused && s.jobs.paused:
		held := s.Now().Sub(s.jobs.pausedAt)
		for _, j := range s.st.jobs {
			if j.Status < 3 {
				j.start, j.due = j.start.Add(held), j.due.Add(held)
			}
		}
		s.jobs.paused = false
		s.jobs.signal()
	}
	s.mu.Unlock()
	s.jobs.poke()
}

// WaitJobs runs the submitted batch jobs to the end: it moves the
// simulator's clock forward to when the last one finishes (as Advance
// does: tokens and windows see the time pass) and returns once none is
// pending or running, or ctx ends. With jobs paused it waits for
// PauseJobs(false) or ctx.
func (s *Sim) WaitJobs(ctx context.Context) error {
	for {
		s.mu.Lock()
		busy := false
		for _, j := range s.st.jobs {
			if j.Status == 3 {
				continue
			}
			if !s.jobs.paused {
				if d := j.due.Sub(s.Now()); d > 0 {
					s.offset.Add(int64(d))
				}
				s.advanceJobs()
			}
			busy = busy || j.Status < 3
		}
		changed := s.jobs.changed
		s.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// runJob executes j under s.mu and sends batch_job_result.
func (s *Sim) runJob(j *job) {
	a := actor{kind: actorContacts}
	switch j.Type {
	case jobSyncUser:
		s.applyUserRows(a, j)
	case jobReplaceUser:
		s.replaceUsers(a, j)
	case jobReplaceParty:
		s.replaceParties(a, j)
	}
	j.Status, j.finished = 3, j.due
	if j.ErrCode == 0 {
		j.ErrMsg = "ok"
	} else {
		j.ErrMsg = errText(j.ErrCode)
	}
	s.log.Info("batch job finished", zap.String("jobid", j.ID), zap.String("type", j.Type),
		zap.Int("total", j.Total), zap.Int("errcode", j.ErrCode))
	// batch_job_result goes to the callback given with the job (doc 90980:
	// "如填写该项则任务完成后，通过callback推送事件给企业"); without one, to the
	// contacts-sync receiver, where the event is documented (通讯录回调通知 →
	// 异步任务完成通知). Which of the two WeCom uses when both exist is not
	// documented; the simulator sends to one, the job's.
	recv := s.opts.ContactCallback
	if j.callback != nil && j.callback.URL != "" {
		recv = *j.callback
	}
	if recv.URL != "" {
		s.enqueueCallback(outbound{
			recv:    recv,
			kind:    "batch_job_result",
			payload: s.batchJobXML(j),
		})
	}
}

// submitJob handles batch/syncuser|replaceuser|replaceparty: media_id
// missing 41006, unknown or expired 40007; another job pending or
// running 302008; a file that is empty, not UTF-8 or lacks a required
// column 40092.
func (s *Sim) submitJob(c *call, typ string) (obj, error) {
	f, err := c.fields()
	if err != nil {
		return nil, err
	}
	mediaID, _, err := f.str("media_id")
	if err != nil {
		return nil, err
	}
	if mediaID == "" {
		return nil, errf(41006, "media_id missing")
	}
	m, err := s.lookupMedia(mediaID, c.now)
	if err != nil {
		return nil, err
	}
	var cb Receiver
	hasCB, err := f.value("callback", &cb)
	if err != nil {
		return nil, err
	}
	for _, j := range s.st.jobs {
		if j.Status < 3 {
			return nil, errf(302008, "job %s is still running", j.ID)
		}
	}
	kind := memberColumns
	if typ == jobReplaceParty {
		kind = partyColumns
	}
	table, err := parseCSV(m.Data, kind)
	if err != nil {
		return nil, err
	}
	start := c.now.Add(jobStartDelay)
	j := &job{ID: "jobid_" + randomHex(16), Type: typ, Status: 1, Total: len(table.rows), table: table,
		start: start, due: start.Add(jobDuration(len(table.rows)))}
	if hasCB {
		j.callback = &cb
	}
	s.st.jobs = append(s.st.jobs, j)
	if len(s.st.jobs) > keptJobs {
		s.st.jobs = s.st.jobs[len(s.st.jobs)-keptJobs:]
	}
	s.st.jobIDs[j.ID] = true
	s.jobs.poke()
	return obj{"jobid": j.ID}, nil
}

func (s *Sim) handleBatchSyncUser(c *call) (obj, error)     { return s.submitJob(c, jobSyncUser) }
func (s *Sim) handleBatchReplaceUser(c *call) (obj, error)  { return s.submitJob(c, jobReplaceUser) }
func (s *Sim) handleBatchReplaceParty(c *call) (obj, error) { return s.submitJob(c, jobReplaceParty) }

// handleBatchGetResult: GET ?jobid= → status (1 started, 2 running, 3
// finished), type, total, percentage (100 when finished), result (empty
// until finished, docs/wecom.md §5.5). Unknown 40088; purged (older than the
// last 5) 40089. A whole-job failure such as the 45026 deletion guard shows
// only in batch_job_result's ErrCode (inference, §5.5); getresult then has
// status 3 and no rows.
func (s *Sim) handleBatchGetResult(c *call) (obj, error) {
	id := c.query.Get("jobid")
	if !s.st.jobIDs[id] {
		return nil, errf(40088, "jobid %q unknown", id)
	}
	for _, j := range s.st.jobs {
		if j.ID != id {
			continue
		}
		status, pct := s.jobStatus(j, c.now)
		result := []obj{}
		if status == 3 {
			result = append(result, j.Result...)
		}
		return obj{"status": status, "type": j.Type, "total": j.Total, "percentage": pct, "result": result}, nil
	}
	return nil, errf(40089, "result of job %s purged (only the last %d are kept)", id, keptJobs)
}

// csvTable is an import file: the canonical key of each column ("" =
// ignored) and the data rows.
type csvTable struct {
	cols []string
	rows [][]string
}

func (t *csvTable) has(key string) bool {
	for _, c := range t.cols {
		if c == key {
			return true
		}
	}
	return false
}

// row maps the non-empty cells of row i by key. An empty cell leaves the
// field unchanged (the simulator's reading of "columns absent from the
// file are not updated").
func (t *csvTable) row(i int) map[string]string {
	out := map[string]string{}
	for j, v := range t.rows[i] {
		if j < len(t.cols) && t.cols[j] != "" {
			if v = strings.TrimSpace(v); v != "" {
				out[t.cols[j]] = v
			}
		}
	}
	return out
}

// columnSet maps header names to keys and names the required keys.
type columnSet struct {
	names    map[string]string
	required []string
}

// memberColumns accepts the current member template
// (姓名,帐号,手机号,邮箱,所在部门,职位,性别,是否部门内领导,排序,别名,地址,座机,禁用,
// 禁用项说明…) and the older one (姓名,帐号,微信号,手机号,邮箱,所在部门,职位);
// unknown columns are ignored. Official template files were not retrieved
// (unconfirmed, §5.5).
var memberColumns = columnSet{
	names: map[string]string{
		"姓名": "name", "帐号": "userid", "账号": "userid", "UserID": "userid", "userid": "userid",
		"手机号": "mobile", "手机": "mobile", "邮箱": "email", "个人邮箱": "email", "企业邮箱": "biz_mail",
		"所在部门": "department", "职位": "position", "职务": "position", "性别": "gender",
		"是否部门内领导": "is_leader_in_dept", "排序": "order", "别名": "alias", "地址": "address",
		"座机": "telephone", "禁用": "disable",
	},
	required: []string{"name", "userid", "department"},
}

// partyColumns is the department template 部门名称,部门ID,父部门ID,排序.
var partyColumns = columnSet{
	names:    map[string]string{"部门名称": "name", "部门ID": "id", "父部门ID": "parentid", "排序": "order"},
	required: []string{"name", "id", "parentid"},
}

// parseCSV reads a UTF-8 import file (a BOM is skipped) and matches
// columns by header name.
func parseCSV(data []byte, set columnSet) (*csvTable, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, errf(40092, "file is not UTF-8")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errf(40092, "empty file")
	}
	if err != nil {
		return nil, errf(40092, "csv: %v", err)
	}
	t := &csvTable{cols: make([]string, len(header))}
	for i, h := range header {
		t.cols[i] = set.names[strings.TrimSpace(h)]
	}
	for _, k := range set.required {
		if !t.has(k) {
			return nil, errf(40092, "required column %q missing", k)
		}
	}
	if set.names["姓名"] != "" && !t.has("mobile") && !t.has("email") {
		return nil, errf(40092, "neither a mobile nor an email column")
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errf(40092, "csv: %v", err)
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		t.rows = append(t.rows, rec)
	}
	if len(t.rows) == 0 {
		return nil, errf(40092, "no data rows")
	}
	return t, nil
}

func splitInts(s string) ([]int64, error) {
	var out []int64
	for _, p := range strings.Split(s, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// pendingDepartment returns 其他(待设置部门), creating it under the root on
// first use.
func (s *Sim) pendingDepartment(a actor) int64 {
	st := s.st
	if st.pendingDept != 0 && st.depts[st.pendingDept] != nil {
		return st.pendingDept
	}
	id, err := s.createDepartment(a, fields{"name": rawJSON(pendingDeptName), "parentid": rawJSON(rootDeptID)})
	if err != nil {
		return rootDeptID
	}
	st.pendingDept = id
	return id
}

// memberRowFields turns a CSV row into user/create|update fields.
// Department ids that do not exist go to 其他(待设置部门) (91130/91131).
func (s *Sim) memberRowFields(a actor, row map[string]string) (fields, error) {
	f := fields{}
	for _, k := range []string{"userid", "name", "mobile", "email", "biz_mail", "position", "alias", "address", "telephone"} {
		if v, ok := row[k]; ok {
			f[k] = rawJSON(v)
		}
	}
	if v, ok := row["gender"]; ok {
		switch v {
		case "男":
			v = "1"
		case "女":
			v = "2"
		}
		f["gender"] = rawJSON(v)
	}
	if v, ok := row["department"]; ok {
		ids, err := splitInts(v)
		if err != nil {
			return nil, errf(40058, "所在部门 %q: %v", v, err)
		}
		for i, id := range ids {
			if s.st.depts[id] == nil {
				ids[i] = s.pendingDepartment(a)
			}
		}
		f["department"] = rawJSON(dedupe(ids))
	}
	for _, k := range []string{"order", "is_leader_in_dept"} {
		if v, ok := row[k]; ok {
			vals, err := splitInts(v)
			if err != nil {
				return nil, errf(40058, "%s %q: %v", k, v, err)
			}
			f[k] = rawJSON(vals)
		}
	}
	if v, ok := row["disable"]; ok {
		switch v {
		case "1":
			f["enable"] = rawJSON(0)
		case "0":
			f["enable"] = rawJSON(1)
		}
	}
	return f, nil
}

func dedupe(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// applyUserRows upserts every row (syncuser): existing members get the
// supplied columns, new ones are created. It returns the members in the
// file.
func (s *Sim) applyUserRows(a actor, j *job) map[string]bool {
	inFile := map[string]bool{}
	for i := range j.table.rows {
		row := j.table.row(i)
		userid := row["userid"]
		res := obj{"userid": userid, "errcode": 0, "errmsg": "ok"}
		err := s.applyUserRow(a, row)
		if err != nil {
			e := asError(err)
			res["errcode"], res["errmsg"] = e.Code, errText(e.Code)
		}
		if userid != "" {
			inFile[strings.ToLower(userid)] = true
		}
		j.Result = append(j.Result, res)
	}
	return inFile
}

func (s *Sim) applyUserRow(a actor, row map[string]string) error {
	if row["userid"] == "" {
		return errf(40003, "帐号 empty")
	}
	f, err := s.memberRowFields(a, row)
	if err != nil {
		return err
	}
	if s.st.user(row["userid"]) != nil {
		return s.updateUser(a, f)
	}
	return s.createUser(a, f)
}

// replaceUsers (replaceuser): the file becomes the truth. Members not in
// it are deleted afterwards — unless that trips the deletion guard (45026:
// more than 50 members and more than 20 % of them, or fewer than 50 and
// more than 80 %), which fails the whole job before anything changes. The
// corp creator is never deleted.
func (s *Sim) replaceUsers(a actor, j *job) {
	st := s.st
	inFile := map[string]bool{}
	for i := range j.table.rows {
		if id := j.table.row(i)["userid"]; id != "" {
			inFile[strings.ToLower(id)] = true
		}
	}
	var gone []*member
	for _, m := range st.sortedMembers() {
		key := strings.ToLower(m.UserID)
		if !inFile[key] && key != st.creator {
			gone = append(gone, m)
		}
	}
	n, current := len(gone), len(st.users)
	if (n > 50 && n*5 > current) || (n < 50 && n*5 > current*4) {
		j.ErrCode = 45026
		s.log.Warn("replaceuser deletion guard", zap.String("jobid", j.ID), zap.Int("deleting", n), zap.Int("members", current))
		return
	}
	s.applyUserRows(a, j)
	for _, m := range gone {
		if st.user(m.UserID) == m {
			_ = s.deleteUser(a, m.UserID)
		}
	}
}

// partyRow is one parsed department row.
type partyRow struct {
	index      int
	id, parent int64
	order      int64
	hasOrder   bool
	name       string
	err        error
}

// replaceParties (replaceparty): departments in the file are created or
// updated (parents first); departments not in it are deleted when empty,
// deepest first. Result rows carry action bits: 1 created, 2 renamed,
// 4 moved, 8 re-ordered.
func (s *Sim) replaceParties(a actor, j *job) {
	st := s.st
	rows := make([]*partyRow, len(j.table.rows))
	byID := map[int64]*partyRow{}
	for i := range j.table.rows {
		r := j.table.row(i)
		pr := &partyRow{index: i, name: r["name"]}
		var err1, err2 error
		pr.id, err1 = strconv.ParseInt(r["id"], 10, 64)
		pr.parent, err2 = strconv.ParseInt(r["parentid"], 10, 64)
		if err1 != nil || err2 != nil {
			pr.err = errf(40058, "部门ID/父部门ID must be numbers")
		}
		if v := r["order"]; v != "" && v != "0" {
			o, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				pr.err = errf(40058, "排序 %q", v)
			}
			pr.order, pr.hasOrder = o, true
		}
		if pr.err == nil {
			if byID[pr.id] != nil {
				pr.err = errf(40058, "部门ID %d listed twice", pr.id)
			} else {
				byID[pr.id] = pr
			}
		}
		rows[i] = pr
	}
	// Parents before children: a row is ready when its parent exists and is
	// not itself waiting in the file.
	done := map[int64]bool{}
	results := make([]obj, len(rows))
	for progress := true; progress; {
		progress = false
		for _, pr := range rows {
			if pr.err != nil || done[pr.id] || results[pr.index] != nil {
				continue
			}
			if pr.id != rootDeptID {
				if waiting := byID[pr.parent]; waiting != nil && waiting.err == nil && !done[pr.parent] {
					continue
				}
			}
			results[pr.index] = s.applyPartyRow(a, pr)
			done[pr.id] = true
			progress = true
		}
	}
	for i, pr := range rows {
		if results[i] != nil {
			continue
		}
		err := pr.err
		if err == nil {
			err = errf(60010, "department %d is in a parent loop in the file", pr.id)
		}
		e := asError(err)
		results[i] = obj{"action": 0, "partyid": pr.id, "errcode": e.Code, "errmsg": errText(e.Code)}
	}
	j.Result = results

	var gone []int64
	for id := range st.depts {
		if id != rootDeptID && byID[id] == nil {
			gone = append(gone, id)
		}
	}
	sort.Slice(gone, func(x, y int) bool { return st.depth(gone[x]) > st.depth(gone[y]) })
	for _, id := range gone {
		if len(st.byDept[id]) == 0 && len(st.kids[id]) == 0 {
			_ = s.deleteDepartment(a, id)
		}
	}
}

func (s *Sim) applyPartyRow(a actor, pr *partyRow) obj {
	st := s.st
	res := obj{"action": 0, "partyid": pr.id, "errcode": 0, "errmsg": "ok"}
	fail := func(err error) obj {
		e := asError(err)
		res["errcode"], res["errmsg"] = e.Code, errText(e.Code)
		return res
	}
	if d := st.depts[pr.id]; d != nil {
		before := *d
		f := fields{"id": rawJSON(pr.id), "name": rawJSON(pr.name)}
		if pr.id != rootDeptID {
			f["parentid"] = rawJSON(pr.parent)
		}
		if pr.hasOrder {
			f["order"] = rawJSON(pr.order)
		}
		if err := s.updateDepartment(a, f); err != nil {
			return fail(err)
		}
		after := st.depts[pr.id]
		action := 0
		if after.Name != before.Name {
			action |= 2
		}
		if after.ParentID != before.ParentID {
			action |= 4
		}
		if after.Order != before.Order {
			action |= 8
		}
		res["action"] = action
		return res
	}
	f := fields{"id": rawJSON(pr.id), "name": rawJSON(pr.name), "parentid": rawJSON(pr.parent)}
	if pr.hasOrder {
		f["order"] = rawJSON(pr.order)
	}
	if _, err := s.createDepartment(a, f); err != nil {
		return fail(err)
	}
	res["action"] = 1
	return res
}
