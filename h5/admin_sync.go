package h5

// Views of the console's contacts-sync pages: the run history, one run, and
// the tag rules. The handler fills them from orgsync and contacts; the
// templates only read them.

// AdminSyncKind is how many operations of one kind a plan has.
type AdminSyncKind struct {
	Kind, Label string
	Count       int
}

// AdminSyncRunRow is one run of the history. Status is the stored code
// (running, converged, failed, guard, interrupted), StatusLabel its words.
type AdminSyncRunRow struct {
	ID                           int64
	Started, Finished, Duration  string
	Trigger, TriggerLabel, Actor string
	Status, StatusLabel          string
	Summary                      string
	Ops                          int
	Kinds                        []AdminSyncKind
	Applied, Failed, Calls       int
	// BatchJobs is how many WeCom import jobs the run used (0: none).
	BatchJobs int
	Href      string
}

// AdminSyncGuard is what the guard said about a plan: how many members it
// would disable or delete and how many departments it would delete, of
// how many, against the share allowed.
type AdminSyncGuard struct {
	Message                       string
	Members, MembersTotal         int
	Departments, DepartmentsTotal int
	Share                         string // "5%"
}

// AdminSyncDryRun is a dry run's outcome, shown on the history page.
type AdminSyncDryRun struct {
	Summary                         string
	Ops                             int
	Kinds                           []AdminSyncKind
	TagUsersAdded, TagUsersRemoved  int
	Departments, Members, Tags      int // in the desired state
	Rules                           int
	Problems                        []string
	ProblemsMore                    int // problems not listed
	Guard                           *AdminSyncGuard
	Took                            string
	MirrorMembers, MirrorDepartment int
}

// AdminSync is the run history (page admin_sync). Configured is false when
// the platform has no sync runner (then nothing can be run from here);
// Running when a run is in progress: the page refreshes itself every
// Refresh seconds. Busy is a run of this instance (立即同步 is off);
// Elsewhere a running row of another instance (it may also be one that
// died: the next run marks it interrupted).
type AdminSync struct {
	AdminPage
	Configured bool
	Running    bool
	Busy       bool
	Elsewhere  bool
	Refresh    int
	Runs       []AdminSyncRunRow
	DryRun     *AdminSyncDryRun
}

// AdminSyncFailure is one operation that failed, with what to do about it.
type AdminSyncFailure struct {
	Index           int
	Kind, KindLabel string
	Object          string
	Code            int
	Message, Advice string
}

// AdminSyncStep is what a step after the sync did (class groups).
type AdminSyncStep struct{ Name, Summary string }

// AdminSyncOp is one operation of a run's plan.
type AdminSyncOp struct {
	Index           int
	Kind, KindLabel string
	Object, Reason  string
}

// AdminSyncBatch is what a run's batch jobs did.
type AdminSyncBatch struct {
	Jobs, Calls                      int
	Departments, Members             int
	DepartmentsFailed, MembersFailed int
	Notes                            []string
}

// AdminSyncRun is one run (page admin_sync_run). Ops are the plan's first
// operations (OpsTotal in all; PlanError when the kept plan could not be
// read). Guard is set for a run the guard stopped; Confirmable when it is
// the newest run and so may be confirmed from here (ConfirmError says why
// a confirmation was refused).
type AdminSyncRun struct {
	AdminPage
	Configured       bool
	Run              AdminSyncRunRow
	Running          bool
	Refresh          int
	Skipped, Adopted int
	Problems         int
	Batch            *AdminSyncBatch
	Failures         []AdminSyncFailure
	Drift            []string
	Steps            []AdminSyncStep
	HasPlan          bool
	PlanHref         string
	PlanNotes        []string
	Ops              []AdminSyncOp
	OpsTotal         int
	// OpsKind, when set, limits Ops (and OpsTotal) to one kind.
	OpsKind                    string
	PlanError                  string
	Guard                      *AdminSyncGuard
	Confirmable                bool
	ConfirmError               string
	TagUsersAdded, TagUsersDel int
}

// AdminTagRule is one tag rule in the console.
type AdminTagRule struct {
	Name, Rule string
	Enabled    bool
	Updated    string
}

// AdminTagPreview is how many members a rule matches now, and the first
// of them.
type AdminTagPreview struct {
	Name    string
	Count   int
	Members []AdminTagMember
	// Problems are what building the tag found (too many members, a rule
	// that failed on some record).
	Problems []string
}

// AdminTagMember is one member a rule matches.
type AdminTagMember struct{ UserID, Name, Dept string }

// AdminTagRules lists and edits the tag rules (page admin_tagrules). Edit
// is the rule in the form (nil: the form is closed; Original its name
// before an edit, "" for a new rule); Tags is how many rules there are,
// of MaxTags WeCom allows a corp, with Warn from WarnAt; Query filters by
// name.
type AdminTagRules struct {
	AdminPage
	Rules []AdminTagRule
	// Matched is how many rules match Query (all when empty); Rules holds
	// the first of them.
	Matched int
	Query   string
	Tags    int
	MaxTags int
	WarnAt  int
	// TagsText and MaxTagsText are Tags and MaxTags with thousands
	// separators (2,710 / 3,000).
	TagsText, MaxTagsText string
	Warn                  bool
	Over                  bool
	Edit                  *AdminTagRule
	Original              string
	FieldError            map[string]string
	Preview               *AdminTagPreview
	// Delete is the rule whose deletion is being confirmed.
	Delete *AdminTagRule
}
