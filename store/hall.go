package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The service hall's sealed columns: a form's values hold ID numbers and
// phones, so the whole column is sealed; an off-campus applicant's mobile
// is sealed with a lookup hash.
var (
	HallApplicationValues = SealedColumn{Table: "hall_applications", Key: "id", Column: "form_values"}
	HallApplicationMobile = SealedColumn{Table: "hall_applications", Key: "id", Column: "applicant_mobile",
		HashColumn: "applicant_mobile_hash", HashPurpose: HashPhone}
)

// Hall task states the store knows (package hall names the rest).
const (
	HallTaskWaiting = "waiting"
	HallTaskOpen    = "open"
)

// Hall card states.
const (
	HallCardLive  = "live"
	HallCardFinal = "final"
)

// HallProcess is one published version of a process definition.
type HallProcess struct {
	ID          int64  `db:"id"`
	Key         string `db:"process_key"`
	Version     int    `db:"version"`
	Owner       string `db:"owner"`
	Name        string `db:"name"`
	Definition  string `db:"definition"` // def.Process, JSON
	PublishedBy string `db:"published_by"`
	PublishedAt int64  `db:"published_at"`
}

const hallProcessCols = "id, process_key, version, owner, name, definition, published_by, published_at"

// PublishHallProcess stores p as the next version of its key and answers
// the version. Two publishers at once: one of them retries on the unique
// (key, version).
//
// audit, when set, is the audit entry of the publication of version v,
// written in the same transaction.
func (db *DB) PublishHallProcess(ctx context.Context, p HallProcess, audit func(v int) (AuditEntry, error)) (int, error) {
	for attempt := 0; ; attempt++ {
		var v int
		err := db.WithTx(ctx, func(tx *sqlx.Tx) error {
			var cur sql.NullInt64
			if err := tx.GetContext(ctx, &cur, "SELECT MAX(version) FROM hall_processes WHERE process_key = ?", p.Key); err != nil {
				return err
			}
			v = int(cur.Int64) + 1
			if _, err := tx.ExecContext(ctx, `INSERT INTO hall_processes (process_key, version, owner, name, definition, published_by, published_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, p.Key, v, p.Owner, p.Name, p.Definition, p.PublishedBy, p.PublishedAt); err != nil {
				return err
			}
			if audit == nil {
				return nil
			}
			e, err := audit(v)
			if err != nil {
				return err
			}
			return db.InsertAudit(ctx, tx, e)
		})
		if err == nil {
			return v, nil
		}
		if !IsUniqueViolation(err) || attempt >= 3 {
			return 0, fmt.Errorf("store: publish hall process %q: %w", p.Key, err)
		}
	}
}

// GetHallProcess reads version of key (0: the latest).
func (db *DB) GetHallProcess(ctx context.Context, key string, version int) (HallProcess, error) {
	var p HallProcess
	var err error
	if version == 0 {
		err = db.GetContext(ctx, &p, "SELECT "+hallProcessCols+" FROM hall_processes WHERE process_key = ? ORDER BY version DESC LIMIT 1", key)
	} else {
		err = db.GetContext(ctx, &p, "SELECT "+hallProcessCols+" FROM hall_processes WHERE process_key = ? AND version = ?", key, version)
	}
	if err != nil {
		return p, notFound(err, "store: get hall process %q v%d", key, version)
	}
	return p, nil
}

// LatestHallProcesses lists the latest version of every process, by key.
func (db *DB) LatestHallProcesses(ctx context.Context) ([]HallProcess, error) {
	var out []HallProcess
	err := db.SelectContext(ctx, &out, `SELECT `+hallProcessCols+` FROM hall_processes p
		WHERE version = (SELECT MAX(version) FROM hall_processes q WHERE q.process_key = p.process_key) ORDER BY process_key`)
	if err != nil {
		return nil, fmt.Errorf("store: list hall processes: %w", err)
	}
	return out, nil
}

// HallApplication is a row of hall_applications. Mobile and Values are
// plaintext here; they are sealed in the table.
type HallApplication struct {
	ID              int64  `db:"id"`
	ProcessKey      string `db:"process_key"`
	Version         int    `db:"version"`
	ApplicantUserID string `db:"applicant_userid"`
	ApplicantMobile string `db:"-"`
	ApplicantName   string `db:"applicant_name"`
	ApplicantKind   string `db:"applicant_kind"`
	Applicant       string `db:"applicant"` // def.Applicant without the mobile, JSON
	Values          []byte `db:"-"`         // def.Values, JSON
	State           string `db:"state"`
	StepID          string `db:"step_id"`
	Round           int    `db:"round"`
	CreatedAt       int64  `db:"created_at"`
	UpdatedAt       int64  `db:"updated_at"`
	DecidedAt       int64  `db:"decided_at"`
	ConfirmedAt     int64  `db:"confirmed_at"`
	UrgedAt         int64  `db:"urged_at"`

	SealedMobile []byte `db:"applicant_mobile"`
	SealedValues []byte `db:"form_values"`
}

const hallAppCols = `id, process_key, version, applicant_userid, applicant_mobile, applicant_name, applicant_kind, applicant,
	form_values, state, step_id, round, created_at, updated_at, decided_at, confirmed_at, urged_at`

func (db *DB) openHallApp(a *HallApplication) error {
	m, err := db.open(HallApplicationMobile, a.SealedMobile)
	if err != nil {
		return fmt.Errorf("store: open hall application %d mobile: %w", a.ID, err)
	}
	v, err := db.open(HallApplicationValues, a.SealedValues)
	if err != nil {
		return fmt.Errorf("store: open hall application %d values: %w", a.ID, err)
	}
	a.ApplicantMobile, a.Values = string(m), v
	a.SealedMobile, a.SealedValues = nil, nil
	return nil
}

// InsertHallApplication stores a new application through q and answers
// its id.
func (db *DB) InsertHallApplication(ctx context.Context, q sqlx.ExtContext, a HallApplication) (int64, error) {
	if err := db.needSealer("insert hall application", HallApplicationValues); err != nil {
		return 0, err
	}
	mobile, err := db.seal(HallApplicationMobile, []byte(a.ApplicantMobile))
	if err != nil {
		return 0, err
	}
	values, err := db.seal(HallApplicationValues, a.Values)
	if err != nil {
		return 0, err
	}
	res, err := db.ext(q).ExecContext(ctx, `INSERT INTO hall_applications (process_key, version, applicant_userid, applicant_mobile,
		applicant_mobile_hash, applicant_name, applicant_kind, applicant, form_values, state, step_id, round, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ProcessKey, a.Version, a.ApplicantUserID, mobile,
		db.mirrorHash(HallApplicationMobile, a.ApplicantMobile), a.ApplicantName, a.ApplicantKind, a.Applicant, values,
		a.State, a.StepID, max(a.Round, 1), a.CreatedAt, a.CreatedAt)
	if err != nil {
		return 0, fmt.Errorf("store: insert hall application (%s): %w", a.ProcessKey, err)
	}
	return res.LastInsertId()
}

// GetHallApplication reads application id through q (nil: the pool).
func (db *DB) GetHallApplication(ctx context.Context, q sqlx.ExtContext, id int64) (HallApplication, error) {
	var a HallApplication
	if err := db.needSealer("get hall application", HallApplicationValues); err != nil {
		return a, err
	}
	if err := sqlx.GetContext(ctx, db.ext(q), &a, "SELECT "+hallAppCols+" FROM hall_applications WHERE id = ?", id); err != nil {
		return a, notFound(err, "store: get hall application %d", id)
	}
	return a, db.openHallApp(&a)
}

// LockHallApplication touches application id inside tx, so changes to
// one application (two approvers of an all-of step deciding at once)
// are serialised; ErrNotFound when there is none.
func (db *DB) LockHallApplication(ctx context.Context, tx *sqlx.Tx, id int64, at int64) error {
	n, err := execCount(ctx, tx, "UPDATE hall_applications SET updated_at = ? WHERE id = ?", at, id)
	if err != nil {
		return fmt.Errorf("store: lock hall application %d: %w", id, err)
	}
	if n == 0 {
		// MySQL counts rows changed, and a touch in the same millisecond
		// changes none (the row is locked all the same).
		var c int
		if err := tx.GetContext(ctx, &c, "SELECT COUNT(*) FROM hall_applications WHERE id = ?", id); err != nil {
			return fmt.Errorf("store: lock hall application %d: %w", id, err)
		}
		if c == 0 {
			return fmt.Errorf("store: lock hall application %d: %w", id, ErrNotFound)
		}
	}
	return nil
}

// SetHallApplicationState moves application id from one of the states
// from to state at step, and says whether it did; decidedAt (non-zero)
// records the decision.
func (db *DB) SetHallApplicationState(ctx context.Context, q sqlx.ExtContext, id int64, from []string, state, step string, at, decidedAt int64) (bool, error) {
	if len(from) == 0 {
		return false, errors.New("store: set hall application state: no from states")
	}
	query, args, err := sqlx.In(`UPDATE hall_applications SET state = ?, step_id = ?, updated_at = ?,
		decided_at = CASE WHEN ? > 0 THEN ? ELSE decided_at END WHERE id = ? AND state IN (?)`,
		state, step, at, decidedAt, decidedAt, id, from)
	if err != nil {
		return false, err
	}
	n, err := execCount(ctx, db.ext(q), query, args...)
	if err != nil {
		return false, fmt.Errorf("store: set hall application %d %s: %w", id, state, err)
	}
	return n > 0, nil
}

// SetHallApplicationStep moves a submitted application to step.
func (db *DB) SetHallApplicationStep(ctx context.Context, q sqlx.ExtContext, id int64, step string, at int64) error {
	if _, err := db.ext(q).ExecContext(ctx, "UPDATE hall_applications SET step_id = ?, updated_at = ? WHERE id = ? AND state = 'submitted'", step, at, id); err != nil {
		return fmt.Errorf("store: set hall application %d step: %w", id, err)
	}
	return nil
}

// ResubmitHallApplication replaces a returned application's form and
// applicant, starts its next round at step and says whether it was
// returned.
func (db *DB) ResubmitHallApplication(ctx context.Context, q sqlx.ExtContext, id int64, values []byte, applicant, step string, at int64) (bool, error) {
	sealed, err := db.seal(HallApplicationValues, values)
	if err != nil {
		return false, err
	}
	n, err := execCount(ctx, db.ext(q), `UPDATE hall_applications SET form_values = ?, applicant = ?, state = 'submitted', step_id = ?,
		round = round + 1, updated_at = ?, decided_at = 0 WHERE id = ? AND state = 'returned'`, sealed, applicant, step, at, id)
	if err != nil {
		return false, fmt.Errorf("store: resubmit hall application %d: %w", id, err)
	}
	return n > 0, nil
}

// ConfirmHallApplication records the applicant's confirmation of an
// approved application and says whether it was approved.
func (db *DB) ConfirmHallApplication(ctx context.Context, q sqlx.ExtContext, id int64, at int64) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "UPDATE hall_applications SET state = 'confirmed', confirmed_at = ?, updated_at = ? WHERE id = ? AND state = 'approved'", at, at, id)
	if err != nil {
		return false, fmt.Errorf("store: confirm hall application %d: %w", id, err)
	}
	return n > 0, nil
}

// MarkHallUrged records an urge at at unless the last one was after
// notBefore, and says whether it did.
func (db *DB) MarkHallUrged(ctx context.Context, id int64, at, notBefore int64) (bool, error) {
	n, err := execCount(ctx, db.DB, "UPDATE hall_applications SET urged_at = ? WHERE id = ? AND state = 'submitted' AND urged_at <= ?", at, id, notBefore)
	if err != nil {
		return false, fmt.Errorf("store: urge hall application %d: %w", id, err)
	}
	return n > 0, nil
}

// HallApplicationsOf lists the applications of a member (userid) or of an
// off-campus applicant (mobile), newest first.
func (db *DB) HallApplicationsOf(ctx context.Context, userid, mobile string) ([]HallApplication, error) {
	if err := db.needSealer("list hall applications", HallApplicationValues); err != nil {
		return nil, err
	}
	var out []HallApplication
	var err error
	switch {
	case userid != "":
		err = db.SelectContext(ctx, &out, "SELECT "+hallAppCols+" FROM hall_applications WHERE applicant_userid = ? ORDER BY id DESC", userid)
	case mobile != "":
		hashes := db.sealer.Hashes(HashPhone, mobile)
		var query string
		var args []any
		if query, args, err = sqlx.In("SELECT "+hallAppCols+" FROM hall_applications WHERE applicant_userid = '' AND applicant_mobile_hash IN (?) ORDER BY id DESC", hashes); err == nil {
			err = db.SelectContext(ctx, &out, query, args...)
		}
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: list hall applications: %w", err)
	}
	for i := range out {
		if err := db.openHallApp(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// HallApplicationTimes are one application's figures for statistics.
type HallApplicationTimes struct {
	ProcessKey string `db:"process_key"`
	State      string `db:"state"`
	CreatedAt  int64  `db:"created_at"`
	DecidedAt  int64  `db:"decided_at"`
}

// HallApplicationTimesAll lists every application's process, state and
// times (no sealed columns).
func (db *DB) HallApplicationTimesAll(ctx context.Context) ([]HallApplicationTimes, error) {
	var out []HallApplicationTimes
	if err := db.SelectContext(ctx, &out, "SELECT process_key, state, created_at, decided_at FROM hall_applications ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: hall application times: %w", err)
	}
	return out, nil
}

// HallOverdueByProcess counts open tasks past their due time per process.
func (db *DB) HallOverdueByProcess(ctx context.Context, now int64) (map[string]int, error) {
	var rows []struct {
		Key string `db:"process_key"`
		N   int    `db:"n"`
	}
	err := db.SelectContext(ctx, &rows, `SELECT a.process_key, COUNT(*) AS n FROM hall_tasks t JOIN hall_applications a ON a.id = t.application_id
		WHERE t.state = 'open' AND t.due_at > 0 AND t.due_at <= ? GROUP BY a.process_key`, now)
	if err != nil {
		return nil, fmt.Errorf("store: hall overdue tasks: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Key] = r.N
	}
	return out, nil
}

// HallTask is a row of hall_tasks.
type HallTask struct {
	ID            int64  `db:"id"`
	ApplicationID int64  `db:"application_id"`
	Round         int    `db:"round"`
	StepID        string `db:"step_id"`
	Seq           int    `db:"seq"`
	Assignee      string `db:"assignee"`
	Origin        string `db:"origin"` // resolved (from the step's approvers) | transfer | added | reassign | reresolve
	State         string `db:"state"`
	OpenedAt      int64  `db:"opened_at"`
	DueAt         int64  `db:"due_at"`
	NextRemindAt  int64  `db:"next_remind_at"`
	RemindCount   int    `db:"remind_count"`
	Escalated     bool   `db:"escalated"`
	DecidedAt     int64  `db:"decided_at"`
	DecidedBy     string `db:"decided_by"`
	Comment       string `db:"comment"`
}

const hallTaskCols = "id, application_id, round, step_id, seq, assignee, origin, state, opened_at, due_at, next_remind_at, remind_count, escalated, decided_at, decided_by, comment"

// InsertHallTask stores a task through q and answers its id.
func (db *DB) InsertHallTask(ctx context.Context, q sqlx.ExtContext, t HallTask) (int64, error) {
	res, err := db.ext(q).ExecContext(ctx, `INSERT INTO hall_tasks (application_id, round, step_id, seq, assignee, origin, state, opened_at, due_at,
		next_remind_at, remind_count, escalated, decided_at, decided_by, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', '')`,
		t.ApplicationID, t.Round, t.StepID, t.Seq, t.Assignee, t.Origin, t.State, t.OpenedAt, t.DueAt, t.NextRemindAt, t.RemindCount, t.Escalated)
	if err != nil {
		return 0, fmt.Errorf("store: insert hall task (application %d, %s): %w", t.ApplicationID, t.StepID, err)
	}
	return res.LastInsertId()
}

// GetHallTask reads task id through q (nil: the pool).
func (db *DB) GetHallTask(ctx context.Context, q sqlx.ExtContext, id int64) (HallTask, error) {
	var t HallTask
	if err := sqlx.GetContext(ctx, db.ext(q), &t, "SELECT "+hallTaskCols+" FROM hall_tasks WHERE id = ?", id); err != nil {
		return t, notFound(err, "store: get hall task %d", id)
	}
	return t, nil
}

// HallTasksOfApplication lists an application's tasks by id.
func (db *DB) HallTasksOfApplication(ctx context.Context, q sqlx.ExtContext, appID int64) ([]HallTask, error) {
	var out []HallTask
	if err := sqlx.SelectContext(ctx, db.ext(q), &out, "SELECT "+hallTaskCols+" FROM hall_tasks WHERE application_id = ? ORDER BY id", appID); err != nil {
		return nil, fmt.Errorf("store: list hall tasks of application %d: %w", appID, err)
	}
	return out, nil
}

// HallTasksOf lists assignee's open tasks (open) or the others (handled,
// waiting ones left out), newest first.
func (db *DB) HallTasksOf(ctx context.Context, assignee string, open bool) ([]HallTask, error) {
	var out []HallTask
	cond := "state = 'open'"
	if !open {
		cond = "state NOT IN ('open', 'waiting')"
	}
	if err := db.SelectContext(ctx, &out, "SELECT "+hallTaskCols+" FROM hall_tasks WHERE assignee = ? AND "+cond+" ORDER BY id DESC", assignee); err != nil {
		return nil, fmt.Errorf("store: list hall tasks of %s: %w", assignee, err)
	}
	return out, nil
}

// CountOpenHallTasks counts assignee's open tasks (the approvals badge,
// on every workbench render: a count, not the tasks).
func (db *DB) CountOpenHallTasks(ctx context.Context, assignee string) (int, error) {
	var n int
	if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM hall_tasks WHERE assignee = ? AND state = 'open'", assignee); err != nil {
		return 0, fmt.Errorf("store: count hall tasks of %s: %w", assignee, err)
	}
	return n, nil
}

// OpenHallTasks lists every open task by id.
func (db *DB) OpenHallTasks(ctx context.Context) ([]HallTask, error) {
	var out []HallTask
	if err := db.SelectContext(ctx, &out, "SELECT "+hallTaskCols+" FROM hall_tasks WHERE state = 'open' ORDER BY id"); err != nil {
		return nil, fmt.Errorf("store: list open hall tasks: %w", err)
	}
	return out, nil
}

// DecideHallTask moves an open task to state, decided by by at at, and
// says whether it was open.
func (db *DB) DecideHallTask(ctx context.Context, q sqlx.ExtContext, id int64, state, by, comment string, at int64) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "UPDATE hall_tasks SET state = ?, decided_by = ?, comment = ?, decided_at = ? WHERE id = ? AND state = 'open'",
		state, by, comment, at, id)
	if err != nil {
		return false, fmt.Errorf("store: decide hall task %d: %w", id, err)
	}
	return n > 0, nil
}

// CloseHallTasks moves every open or waiting task of an application
// (only those of step in round, when step is set) to state, and answers
// how many.
func (db *DB) CloseHallTasks(ctx context.Context, q sqlx.ExtContext, appID int64, round int, step, state string, at int64) (int64, error) {
	query := "UPDATE hall_tasks SET state = ?, decided_at = ? WHERE application_id = ? AND state IN ('open', 'waiting')"
	args := []any{state, at, appID}
	if step != "" {
		query += " AND round = ? AND step_id = ?"
		args = append(args, round, step)
	}
	n, err := execCount(ctx, db.ext(q), query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: close hall tasks of application %d: %w", appID, err)
	}
	return n, nil
}

// OpenWaitingHallTask opens a waiting task with its clock, and says
// whether it was waiting.
func (db *DB) OpenWaitingHallTask(ctx context.Context, q sqlx.ExtContext, id int64, openedAt, dueAt, nextRemind int64) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "UPDATE hall_tasks SET state = 'open', opened_at = ?, due_at = ?, next_remind_at = ? WHERE id = ? AND state = 'waiting'",
		openedAt, dueAt, nextRemind, id)
	if err != nil {
		return false, fmt.Errorf("store: open hall task %d: %w", id, err)
	}
	return n > 0, nil
}

// ShiftHallTaskSeqs makes room after seq in a sequential step: waiting
// tasks of the step with a higher seq move one up.
func (db *DB) ShiftHallTaskSeqs(ctx context.Context, q sqlx.ExtContext, appID int64, round int, step string, after int) error {
	if _, err := db.ext(q).ExecContext(ctx, "UPDATE hall_tasks SET seq = seq + 1 WHERE application_id = ? AND round = ? AND step_id = ? AND seq > ? AND state = 'waiting'",
		appID, round, step, after); err != nil {
		return fmt.Errorf("store: shift hall tasks of application %d: %w", appID, err)
	}
	return nil
}

// DueHallReminders lists open tasks whose next reminder is due at now.
func (db *DB) DueHallReminders(ctx context.Context, now int64) ([]HallTask, error) {
	var out []HallTask
	if err := db.SelectContext(ctx, &out, "SELECT "+hallTaskCols+" FROM hall_tasks WHERE state = 'open' AND next_remind_at > 0 AND next_remind_at <= ? ORDER BY id", now); err != nil {
		return nil, fmt.Errorf("store: due hall reminders: %w", err)
	}
	return out, nil
}

// BumpHallReminder claims task id's reminder due at prev, setting the
// next one, and says whether this caller claimed it (another instance may
// have).
func (db *DB) BumpHallReminder(ctx context.Context, id, prev, next int64) (bool, error) {
	n, err := execCount(ctx, db.DB, "UPDATE hall_tasks SET next_remind_at = ?, remind_count = remind_count + 1 WHERE id = ? AND state = 'open' AND next_remind_at = ?", next, id, prev)
	if err != nil {
		return false, fmt.Errorf("store: bump hall reminder %d: %w", id, err)
	}
	return n > 0, nil
}

// OverdueHallTasks lists open tasks past their due time not yet escalated.
func (db *DB) OverdueHallTasks(ctx context.Context, now int64) ([]HallTask, error) {
	var out []HallTask
	if err := db.SelectContext(ctx, &out, "SELECT "+hallTaskCols+" FROM hall_tasks WHERE state = 'open' AND escalated = 0 AND due_at > 0 AND due_at <= ? ORDER BY id", now); err != nil {
		return nil, fmt.Errorf("store: overdue hall tasks: %w", err)
	}
	return out, nil
}

// MarkHallEscalated claims task id's escalation and says whether this
// caller did.
func (db *DB) MarkHallEscalated(ctx context.Context, q sqlx.ExtContext, id int64) (bool, error) {
	n, err := execCount(ctx, db.ext(q), "UPDATE hall_tasks SET escalated = 1 WHERE id = ? AND state = 'open' AND escalated = 0", id)
	if err != nil {
		return false, fmt.Errorf("store: escalate hall task %d: %w", id, err)
	}
	return n > 0, nil
}

// HallCard is a row of hall_cards.
type HallCard struct {
	ID           int64  `db:"id"`
	TaskID       int64  `db:"task_id"`
	UserID       string `db:"userid"`
	MessageID    int64  `db:"message_id"`
	ResponseCode string `db:"response_code"`
	UsedCode     string `db:"used_code"`
	State        string `db:"state"`
	FinalText    string `db:"final_text"`
	UpdatedAt    int64  `db:"updated_at"`
}

const hallCardCols = "id, task_id, userid, message_id, response_code, used_code, state, final_text, updated_at"

// InsertHallCard records task's card; a second card for the same task is
// not recorded (false).
func (db *DB) InsertHallCard(ctx context.Context, c HallCard) (bool, error) {
	_, err := db.ExecContext(ctx, "INSERT INTO hall_cards (task_id, userid, message_id, response_code, used_code, state, final_text, updated_at) VALUES (?, ?, ?, '', '', 'live', '', ?)",
		c.TaskID, c.UserID, c.MessageID, c.UpdatedAt)
	if IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: insert hall card of task %d: %w", c.TaskID, err)
	}
	return true, nil
}

// GetHallCard reads task's card.
func (db *DB) GetHallCard(ctx context.Context, taskID int64) (HallCard, error) {
	var c HallCard
	if err := db.GetContext(ctx, &c, "SELECT "+hallCardCols+" FROM hall_cards WHERE task_id = ?", taskID); err != nil {
		return c, notFound(err, "store: get hall card of task %d", taskID)
	}
	return c, nil
}

// HallCardsOfApplication lists the cards of an application's tasks.
func (db *DB) HallCardsOfApplication(ctx context.Context, appID int64) ([]HallCard, error) {
	var out []HallCard
	err := db.SelectContext(ctx, &out, `SELECT c.id, c.task_id, c.userid, c.message_id, c.response_code, c.used_code, c.state, c.final_text, c.updated_at
		FROM hall_cards c JOIN hall_tasks t ON t.id = c.task_id WHERE t.application_id = ? ORDER BY c.id`, appID)
	if err != nil {
		return nil, fmt.Errorf("store: list hall cards of application %d: %w", appID, err)
	}
	return out, nil
}

// PendingHallCards lists cards that want an update: live cards of tasks
// no longer open, and final cards holding a response code not yet spent
// (pressed again).
func (db *DB) PendingHallCards(ctx context.Context) ([]HallCard, error) {
	const sel = `SELECT c.id, c.task_id, c.userid, c.message_id, c.response_code, c.used_code, c.state, c.final_text, c.updated_at
		FROM hall_cards c JOIN hall_tasks t ON t.id = c.task_id WHERE `
	var out []HallCard
	for _, cond := range []string{"c.state = 'live' AND t.state NOT IN ('open', 'waiting')", "c.state = 'final' AND c.response_code <> ''"} {
		var part []HallCard
		if err := db.SelectContext(ctx, &part, sel+cond+" ORDER BY c.id"); err != nil {
			return nil, fmt.Errorf("store: pending hall cards: %w", err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// GiveUpHallCard marks task's card final without an update (its codes
// expired, or it was shown as a textcard, which has none), and says
// whether it was live.
func (db *DB) GiveUpHallCard(ctx context.Context, taskID int64, at int64) (bool, error) {
	n, err := execCount(ctx, db.DB, "UPDATE hall_cards SET state = 'final', response_code = '', updated_at = ? WHERE task_id = ? AND state = 'live'", at, taskID)
	if err != nil {
		return false, fmt.Errorf("store: give up hall card of task %d: %w", taskID, err)
	}
	return n > 0, nil
}

// TasksWithoutHallCards lists open tasks whose card is not recorded (a
// submit that failed, or an instance that stopped between the two).
func (db *DB) TasksWithoutHallCards(ctx context.Context) ([]HallTask, error) {
	var out []HallTask
	err := db.SelectContext(ctx, &out, "SELECT "+hallTaskCols+" FROM hall_tasks t WHERE state = 'open' AND NOT EXISTS (SELECT 1 FROM hall_cards c WHERE c.task_id = t.id) ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: hall tasks without cards: %w", err)
	}
	return out, nil
}

// SetHallCardCode keeps a fresh response code for task's card unless it
// is the one already spent, and says whether it did.
func (db *DB) SetHallCardCode(ctx context.Context, taskID int64, code string, at int64) (bool, error) {
	n, err := execCount(ctx, db.DB, "UPDATE hall_cards SET response_code = ?, updated_at = ? WHERE task_id = ? AND used_code <> ? AND response_code <> ?",
		code, at, taskID, code, code)
	if err != nil {
		return false, fmt.Errorf("store: set hall card code of task %d: %w", taskID, err)
	}
	return n > 0, nil
}

// SpendHallCardCode records that code was used on task's card (final:
// the card now shows text), and says whether code was the card's current
// one.
func (db *DB) SpendHallCardCode(ctx context.Context, taskID int64, code string, final bool, text string, at int64) (bool, error) {
	query := "UPDATE hall_cards SET used_code = ?, response_code = '', updated_at = ? WHERE task_id = ? AND response_code = ?"
	args := []any{code, at, taskID, code}
	if final {
		query = "UPDATE hall_cards SET used_code = ?, response_code = '', state = 'final', final_text = ?, updated_at = ? WHERE task_id = ? AND response_code = ?"
		args = []any{code, text, at, taskID, code}
	}
	n, err := execCount(ctx, db.DB, query, args...)
	if err != nil {
		return false, fmt.Errorf("store: spend hall card code of task %d: %w", taskID, err)
	}
	return n > 0, nil
}

// HallAction is one line of an application's trail.
type HallAction struct {
	ID            int64  `db:"id"`
	ApplicationID int64  `db:"application_id"`
	TaskID        int64  `db:"task_id"`
	Actor         string `db:"actor"`
	Action        string `db:"action"`
	Comment       string `db:"comment"`
	At            int64  `db:"at"`
}

// InsertHallAction appends to the trail through q.
func (db *DB) InsertHallAction(ctx context.Context, q sqlx.ExtContext, a HallAction) error {
	if _, err := db.ext(q).ExecContext(ctx, "INSERT INTO hall_actions (application_id, task_id, actor, action, comment, at) VALUES (?, ?, ?, ?, ?, ?)",
		a.ApplicationID, a.TaskID, a.Actor, a.Action, a.Comment, a.At); err != nil {
		return fmt.Errorf("store: insert hall action %s (application %d): %w", a.Action, a.ApplicationID, err)
	}
	return nil
}

// HallActions lists an application's trail, oldest first.
func (db *DB) HallActions(ctx context.Context, appID int64) ([]HallAction, error) {
	var out []HallAction
	if err := db.SelectContext(ctx, &out, "SELECT id, application_id, task_id, actor, action, comment, at FROM hall_actions WHERE application_id = ? ORDER BY id", appID); err != nil {
		return nil, fmt.Errorf("store: list hall actions of application %d: %w", appID, err)
	}
	return out, nil
}

// HallPeopleNames answers the names of members (faculty, then students)
// by userid, for pages and cards; unknown ids are left out.
func (db *DB) HallPeopleNames(ctx context.Context, userids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(userids) == 0 {
		return out, nil
	}
	for _, q := range []string{"SELECT staff_no AS id, name FROM dc_faculty WHERE staff_no IN (?)", "SELECT student_no AS id, name FROM dc_students WHERE student_no IN (?)"} {
		query, args, err := sqlx.In(q, userids)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			ID   string `db:"id"`
			Name string `db:"name"`
		}
		if err := db.SelectContext(ctx, &rows, query, args...); err != nil {
			return nil, fmt.Errorf("store: hall people names: %w", err)
		}
		for _, r := range rows {
			if _, ok := out[r.ID]; !ok {
				out[r.ID] = r.Name
			}
		}
	}
	return out, nil
}

// HallProcessVersion is one published version of a process, for the
// designer's history.
type HallProcessVersion struct {
	Version     int    `db:"version"`
	Owner       string `db:"owner"`
	Name        string `db:"name"`
	PublishedBy string `db:"published_by"`
	PublishedAt int64  `db:"published_at"`
}

// HallProcessVersions lists key's versions, newest first (limit <= 0: all).
func (db *DB) HallProcessVersions(ctx context.Context, key string, limit int) ([]HallProcessVersion, error) {
	q := "SELECT version, owner, name, published_by, published_at FROM hall_processes WHERE process_key = ? ORDER BY version DESC"
	args := []any{key}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	var out []HallProcessVersion
	if err := db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("store: versions of hall process %q: %w", key, err)
	}
	return out, nil
}
