// Package hall is the online service hall's engine: applications run
// through the approval flows of published process definitions (package
// hall/def), each open task is a button_interaction template card on the
// approver's phone, and one tap on 同意 or 驳回 decides it (docs/wecom.md
// §3, §6, §8). Every state change is conditional on the state it leaves,
// so a double tap or a callback WeCom (or the inbox) delivers again
// changes nothing twice; every card of a task that is no longer open is
// replaced by its final text with update_template_card.
package hall

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/calendar"
	"github.com/wecomapp/wecomapp/hall/def"
	"github.com/wecomapp/wecomapp/notify"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Errors the engine answers; pages map them to words.
var (
	// ErrNotFound: no such process, application or task, or one the
	// viewer may not see (not told apart, so ids cannot be probed).
	ErrNotFound = errors.New("hall: not found")
	// ErrNotAssignee: the actor is not the task's assignee.
	ErrNotAssignee = errors.New("hall: not the task's assignee")
	// ErrAlreadyHandled: the task is no longer open (decided by this or
	// another approver, transferred, withdrawn).
	ErrAlreadyHandled = errors.New("hall: task already handled")
	// ErrNotApplicant: the person is not the application's applicant.
	ErrNotApplicant = errors.New("hall: not the applicant")
	// ErrState: the application is not in a state that allows this (e.g.
	// withdrawing an approved application, resubmitting one not returned).
	ErrState = errors.New("hall: not possible in the application's state")
	// ErrAudience: the applicant may not apply for this process.
	ErrAudience = errors.New("hall: the process is not open to this applicant")
	// ErrUrgedRecently: the applicant urged less than an hour ago.
	ErrUrgedRecently = errors.New("hall: urged less than an hour ago")
	// ErrNoApprover: a step resolved to nobody for this applicant.
	ErrNoApprover = errors.New("hall: a step has no approver")
)

// Application states.
const (
	StateSubmitted = "submitted" // in the flow, some task open
	StateApproved  = "approved"
	StateRejected  = "rejected"
	StateReturned  = "returned" // back to the applicant, who may resubmit
	StateWithdrawn = "withdrawn"
	StateConfirmed = "confirmed" // approved, and the applicant confirmed (ConfirmReturn)
)

// Task states.
const (
	TaskOpen        = "open"
	TaskApproved    = "approved"
	TaskRejected    = "rejected"
	TaskReturned    = "returned"
	TaskTransferred = "transferred" // handed to someone else (a new task)
	TaskCancelled   = "cancelled"   // the application was withdrawn, rejected or returned
	TaskSuperseded  = "superseded"  // another approver of an any-of step decided
)

// Action is a decision on a task.
type Action string

// The decisions an approver makes.
const (
	Approve Action = "approve"
	Reject  Action = "reject"
	Return  Action = "return" // back to the applicant for changes
)

// Trail actions (Entry.Action), besides the decisions above.
const (
	ActSubmit      = "submit"
	ActResubmit    = "resubmit"
	ActWithdraw    = "withdraw"
	ActUrge        = "urge"
	ActTransfer    = "transfer"
	ActAddApprover = "add_approver"
	ActReassign    = "reassign" // by an admin
	ActReResolve   = "reresolve"
	ActRemind      = "remind"
	ActEscalate    = "escalate"
	ActConfirm     = "confirm"
	ActApproved    = "approved" // the flow ended: the application is approved
)

// CardUpdater replaces a sent template card (message/update_template_card,
// docs/wecom.md §6); *wecom.Client satisfies it.
type CardUpdater interface {
	UpdateTemplateCard(ctx context.Context, u *wecom.CardUpdate) (*wecom.CardUpdateResult, error)
}

// CardCodes answers the response_code message/send returned for a
// recipient of an outbox message ("" while it is not sent yet, or when it
// went as a textcard); *notify.Service satisfies it.
type CardCodes interface {
	ResponseCode(ctx context.Context, messageID int64, userID string) (string, error)
}

// Options configure an Engine.
type Options struct {
	DB       *store.DB
	Messages notify.Submitter
	Cards    CardUpdater
	// CardCodes, when set, lets a card be finalised before its approver
	// pressed it (another approver decided, the applicant withdrew).
	CardCodes CardCodes
	// Calendar answers the working-day calendar (due dates); nil counts
	// Monday to Friday.
	Calendar func(ctx context.Context) (*calendar.Calendar, error)
	// PublicURL is the platform's https origin, for the links on cards.
	PublicURL string
	Logger    *zap.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Resolver finds approvers; default the data-center resolver over DB
	// (NewResolver).
	Resolver *Resolver
}

// Engine runs the service hall.
type Engine struct {
	db       *store.DB
	msgs     notify.Submitter
	cards    CardUpdater
	codes    CardCodes
	calendar func(ctx context.Context) (*calendar.Calendar, error)
	public   string
	log      *zap.Logger
	now      func() time.Time
	res      *Resolver

	mu         sync.Mutex
	compiled   map[string]*compiledProcess // "key@version"
	resolvedAt time.Time                   // Tick's last ReResolve
	calCache   *calendar.Calendar
	calAt      time.Time
}

// New returns an engine.
func New(opts Options) (*Engine, error) {
	if opts.DB == nil || opts.Messages == nil || opts.Cards == nil {
		return nil, errors.New("hall: DB, Messages and Cards are required")
	}
	e := &Engine{db: opts.DB, msgs: opts.Messages, cards: opts.Cards, codes: opts.CardCodes, calendar: opts.Calendar,
		public: strings.TrimRight(opts.PublicURL, "/"), log: opts.Logger, now: opts.Now, res: opts.Resolver,
		compiled: map[string]*compiledProcess{}}
	if e.log == nil {
		e.log = zap.NewNop()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.res == nil {
		e.res = NewResolver(opts.DB)
	}
	return e, nil
}

// Resolver is the engine's resolver (for the designer's simulator).
func (e *Engine) Resolver() *Resolver { return e.res }

// ProcessInfo is a published process as lists show it (its latest
// version).
type ProcessInfo struct {
	Key         string
	Version     int
	Name        string
	Owner       string
	Description string
	Audience    def.Audience
	PublishedBy string
	PublishedAt time.Time
}

// Viewer is who looks at or acts on an application: a member (UserID) or
// an off-campus applicant signed in by phone (Mobile, E.164); Admin sees
// every application (the console).
type Viewer struct {
	UserID string
	Mobile string
	Admin  bool
}

// Application is an application with what its pages show.
type Application struct {
	ID              int64
	ProcessKey      string
	Version         int
	ProcessName     string
	Owner           string
	ApplicantUserID string // "" for an off-campus applicant
	ApplicantMobile string // off-campus applicants (E.164)
	ApplicantName   string
	ApplicantKind   string
	Values          def.Values
	// Summary are the key facts (the summary fields), as on the cards.
	Summary     []def.KV
	State       string
	Step        string // the current step's id ("" once decided)
	StepName    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DecidedAt   time.Time // zero while undecided
	ConfirmedAt time.Time
	// Reminders is how many reminders its approvers were sent, over its
	// whole history (returns and resubmissions included); set by
	// Application.
	Reminders int
	// Process is the definition version the application runs under, for
	// rendering its fields (set by Application, nil in lists).
	Process *def.Process
	// Tasks (oldest first) and Trail (oldest first), set by Application.
	Tasks []Task
	Trail []Entry
}

// Task is one approver's task.
type Task struct {
	ID            int64
	ApplicationID int64
	StepID        string
	StepName      string
	Seq           int // order within a sequential step
	Assignee      string
	AssigneeName  string
	State         string
	OpenedAt      time.Time
	DueAt         time.Time // zero: no time limit
	RemindCount   int
	Escalated     bool
	DecidedAt     time.Time
	DecidedBy     string
	Comment       string
	// Overdue: open past DueAt (as of the engine's clock).
	Overdue bool
}

// TaskItem is a task with its application, for an approver's list.
type TaskItem struct {
	Task
	App Application // without Tasks, Trail and Process
}

// Entry is one line of an application's trail.
type Entry struct {
	ID      int64
	TaskID  int64 // 0 for the application as a whole
	Actor   string
	Name    string // the actor's name when known
	Action  string // Approve, Reject, Return or an Act* constant
	Comment string
	At      time.Time
}

// ProcessStats are one process's figures.
type ProcessStats struct {
	Key          string
	Name         string
	Owner        string
	Applications int
	Decided      int
	// MedianDecision and P90Decision are the time from submission to the
	// decision of decided applications (0 with none).
	MedianDecision time.Duration
	P90Decision    time.Duration
	OverdueOpen    int // open tasks past their due time
}

// Publish validates p (def.Validate with the engine's resolver) and, when
// nothing is wrong, stores it as the next version of its key (1, 2, …);
// problems come back instead of a version (0, nil error) when it cannot be
// published. Applications already submitted keep running under the
// version they were submitted with.
func (e *Engine) Publish(ctx context.Context, p *def.Process, by string) (int, []def.Problem, error) {
	return e.publish(ctx, p, by, nil)
}

// PublishAudited is Publish by an admin: the publication's audit entry
// (the previous and the new version's definitions) is written with it, in
// one transaction.
func (e *Engine) PublishAudited(ctx context.Context, p *def.Process, actor store.Actor) (int, []def.Problem, error) {
	return e.publish(ctx, p, actor.UserID, &actor)
}

// OpenTasks counts userid's open tasks (the approvals badge).
func (e *Engine) OpenTasks(ctx context.Context, userid string) (int, error) {
	return e.db.CountOpenHallTasks(ctx, userid)
}

// Versions lists key's published versions, newest first (limit <= 0:
// all).
func (e *Engine) Versions(ctx context.Context, key string, limit int) ([]store.HallProcessVersion, error) {
	return e.db.HallProcessVersions(ctx, key, limit)
}

// Processes lists the latest version of every published process.
func (e *Engine) Processes(ctx context.Context) ([]ProcessInfo, error) { return e.processes(ctx) }

// Process answers the latest version of a process (version 0) or the
// given one; ErrNotFound when there is none.
func (e *Engine) Process(ctx context.Context, key string, version int) (*def.Process, error) {
	return e.process(ctx, key, version)
}

// Applicant builds the applicant a member is, from the data-center tables:
// the faculty record when there is one, else the student record
// (ErrNotFound for nobody we know).
func (e *Engine) Applicant(ctx context.Context, userid string) (def.Applicant, error) {
	return e.res.Applicant(ctx, userid)
}

// ApplicantFor is the record of userid that may apply for a process of
// aud: a teacher who also studies here applies for student leave as a
// student (ErrNotFound when no record may).
func (e *Engine) ApplicantFor(ctx context.Context, userid string, aud def.Audience) (def.Applicant, error) {
	return e.res.ApplicantFor(ctx, userid, aud)
}

// Apply submits an application: the form is parsed (field errors come back
// with id 0 and a nil error), its path worked out, and the first step's
// tasks opened, each with its card on the approver's phone.
func (e *Engine) Apply(ctx context.Context, a def.Applicant, key string, raw url.Values) (int64, def.FieldErrors, error) {
	return e.apply(ctx, a, key, raw)
}

// Resubmit sends a returned application through the flow again from the
// first step, with the new form; its history is kept.
func (e *Engine) Resubmit(ctx context.Context, appID int64, a def.Applicant, raw url.Values) (def.FieldErrors, error) {
	return e.resubmit(ctx, appID, a, raw)
}

// Decide records actor's decision on a task: ErrNotAssignee, ErrAlreadyHandled
// or nil. The flow moves on (any-of: the step is decided and the other
// tasks superseded; all-of: once everyone approved; sequential: the next
// approver's task opens), the applicant hears of the decision, and every
// card of a task no longer open is finalised.
func (e *Engine) Decide(ctx context.Context, taskID int64, actor string, action Action, comment string) error {
	return e.decide(ctx, taskID, actor, action, comment)
}

// Press is the inbox handler for template_card_event (register it for
// wecom.KindTemplateCard): EventKey "approve:<task>" or "reject:<task>"
// from the presser (FromUserName). The event's fresh ResponseCode is
// stored for the presser's card first, so the card reaches its final
// state even when the press changes nothing (a retried callback, a task
// already handled by someone else). It is idempotent.
func (e *Engine) Press(ctx context.Context, ev *wecom.Event) error { return e.press(ctx, ev) }

// Withdraw withdraws an undecided application (its applicant only).
func (e *Engine) Withdraw(ctx context.Context, appID int64, a Viewer) error {
	return e.withdraw(ctx, appID, a)
}

// Urge reminds the current assignees of an application, at most once an
// hour (ErrUrgedRecently).
func (e *Engine) Urge(ctx context.Context, appID int64, a Viewer) error { return e.urge(ctx, appID, a) }

// Transfer hands an open task from its assignee to another member, who
// gets a new task and card.
func (e *Engine) Transfer(ctx context.Context, taskID int64, from, to, comment string) error {
	return e.transfer(ctx, taskID, from, to, comment, ActTransfer)
}

// AddApprover adds an approver to the open task's step (by its assignee):
// in an any-of or all-of step a task is opened for them at once; in a
// sequential step they come after the current one.
func (e *Engine) AddApprover(ctx context.Context, taskID int64, by, userid string) error {
	return e.addApprover(ctx, taskID, by, userid)
}

// Reassign gives an open task to another member, by an admin; recorded in
// the audit log as well as the trail.
func (e *Engine) Reassign(ctx context.Context, taskID int64, admin store.Actor, to string) error {
	return e.reassign(ctx, taskID, admin, to)
}

// ConfirmReturn records the applicant's confirmation of an approved
// application of a process with ConfirmReturn (leave: back on campus).
func (e *Engine) ConfirmReturn(ctx context.Context, appID int64, a Viewer) error {
	return e.confirmReturn(ctx, appID, a)
}

// Tick does the engine's timed work as of now: reminders to assignees of
// open tasks every RemindHours, escalation of overdue tasks (once),
// re-resolving assignees (ReResolve, at most every 5 minutes), sending
// cards a failed submit left out, and finalising cards whose response
// codes arrived late. Call it every minute or so from one loop per
// instance; it is safe on several at once.
func (e *Engine) Tick(ctx context.Context, now time.Time) error { return e.tick(ctx, now) }

// ReResolve transfers each open task whose assignee no longer resolves
// for its step (the org changed) to the newly resolved approver.
func (e *Engine) ReResolve(ctx context.Context) error { return e.reResolve(ctx) }

// Application answers an application with its tasks and trail, when the
// viewer is its applicant, an assignee of one of its tasks, or an admin
// (ErrNotFound otherwise).
func (e *Engine) Application(ctx context.Context, id int64, v Viewer) (*Application, error) {
	return e.application(ctx, id, v)
}

// MyApplications lists the viewer's own applications, newest first.
func (e *Engine) MyApplications(ctx context.Context, v Viewer) ([]Application, error) {
	return e.myApplications(ctx, v)
}

// MyTasks lists userid's tasks: the open ones (open) or the handled ones,
// newest first.
func (e *Engine) MyTasks(ctx context.Context, userid string, open bool) ([]TaskItem, error) {
	return e.myTasks(ctx, userid, open)
}

// Stats are the figures per process and owner department.
func (e *Engine) Stats(ctx context.Context) ([]ProcessStats, error) { return e.stats(ctx) }

// TaskURL is the H5 page of a task (the card's link).
func (e *Engine) TaskURL(taskID int64) string {
	return fmt.Sprintf("%s/hall/tasks/%d", e.public, taskID)
}

// ApplicationURL is the H5 page of an application (the applicant's notice).
func (e *Engine) ApplicationURL(appID int64) string {
	return fmt.Sprintf("%s/hall/a/%d", e.public, appID)
}
