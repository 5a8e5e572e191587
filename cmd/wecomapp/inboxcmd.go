package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/store"
)

const inboxUsage = `usage: wecomapp inbox <action> [flags]

Look at and operate the callback inbox: what arrived, what failed, what to
retry or delete.

actions:
  list     [--state S] [--kind K] [--receiver R] [--since 24h] [--limit 50]
           rows, newest first
  show     ID
           one row and its payload (the decrypted callback)
  requeue  ID... | --state dead|skipped [--kind K] [--receiver R] [--since D]
           back to pending, due now, attempts reset
  purge    --state done|skipped|dead --before DURATION [--kind K] [--receiver R] [--yes]
           delete rows that finished more than DURATION ago (dead rows need --yes)

Run 'wecomapp inbox <action> --help' for an action's flags. Requeue and
purge write an audit line (action, selection, count, OS user) to the log.`

func cmdInbox(ctx context.Context, e *env, args []string) error {
	fs := e.flags("inbox", "", "")
	fs.Usage = func() { fmt.Fprintln(e.stderr, inboxUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	actions := map[string]func(context.Context, *env, []string) error{
		"list": inboxList, "show": inboxShow, "requeue": inboxRequeue, "purge": inboxPurge,
	}
	act, ok := actions[fs.Arg(0)]
	if !ok {
		fs.Usage()
		return usageError{fmt.Sprintf("inbox: want list, show, requeue or purge, got %q", fs.Arg(0))}
	}
	return act(ctx, e, fs.Args()[1:])
}

// inboxFilter is the selection flags the actions share.
type inboxFilter struct {
	state, kind, receiver, since string
}

func (f *inboxFilter) register(fs *flag.FlagSet, withSince bool) {
	fs.StringVar(&f.kind, "kind", "", "only this kind, e.g. text, event.change_contact.update_user, unparsed")
	fs.StringVar(&f.receiver, "receiver", "", "only this receiver: an app name, or contacts")
	if withSince {
		fs.StringVar(&f.since, "since", "", "only rows received within this duration (24h) or since this time (2025-03-01T08:00:00Z)")
	}
}

// query builds the store query, refusing what the store would not
// recognise rather than matching nothing.
func (f *inboxFilter) query(now time.Time) (store.InboxQuery, error) {
	q := store.InboxQuery{State: store.InboxState(f.state), Kind: f.kind, Receiver: f.receiver}
	switch q.State {
	case "", store.InboxPending, store.InboxProcessing, store.InboxDone, store.InboxSkipped, store.InboxDead:
	default:
		return q, usageError{fmt.Sprintf("inbox: --state %q is not one of pending, processing, done, skipped, dead", f.state)}
	}
	if f.since != "" {
		if d, err := time.ParseDuration(f.since); err == nil && d > 0 {
			q.Since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, f.since); err == nil {
			q.Since = t
		} else {
			return q, usageError{fmt.Sprintf("inbox: --since %q is neither a duration (24h) nor an RFC 3339 time (2025-03-01T08:00:00Z)", f.since)}
		}
	}
	return q, nil
}

func inboxList(ctx context.Context, e *env, args []string) error {
	fs := e.flags("inbox list", "", "List inbox rows, newest first.")
	var f inboxFilter
	fs.StringVar(&f.state, "state", "", "only this state: pending, processing, done, skipped or dead")
	f.register(fs, true)
	limit := fs.Int("limit", 50, "at most this many rows (up to 1000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("inbox list: unexpected argument %q", fs.Arg(0))}
	}
	if *limit < 1 || *limit > 1000 {
		return usageError{fmt.Sprintf("inbox list: --limit %d is outside 1..1000", *limit)}
	}
	q, err := f.query(time.Now())
	if err != nil {
		return err
	}
	q.Limit = *limit
	db, err := e.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.ListInbox(ctx, q)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(e.stdout, "no rows")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tRECEIVER\tKIND\tATTEMPTS\tRECEIVED\tLAST ERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.State, r.Receiver, r.Kind, r.Attempts, stamp(r.ReceivedAt), oneLineClip(r.LastError, 80))
	}
	return tw.Flush()
}

func inboxShow(ctx context.Context, e *env, args []string) error {
	fs := e.flags("inbox show", "ID", "Print one inbox row and its payload, the decrypted callback XML.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"inbox show: want one row id"}
	}
	id, err := parseID(fs.Arg(0))
	if err != nil {
		return err
	}
	db, err := e.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := db.GetInbox(ctx, id)
	if err != nil {
		return fmt.Errorf("inbox show %d: %w", id, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"id", strconv.FormatInt(r.ID, 10)},
		{"state", string(r.State)},
		{"receiver", r.Receiver},
		{"kind", r.Kind},
		{"dedup key", r.DedupKey},
		{"from user", r.FromUser},
		{"agent id", strconv.FormatInt(r.AgentID, 10)},
		{"create time", stamp(r.CreateTime * 1000)},
		{"msg id", r.MsgID},
		{"event key", r.EventKey},
		{"attempts", strconv.Itoa(r.Attempts)},
		{"lease owner", r.LeaseOwner},
		{"lease until", stamp(r.LeaseUntil)},
		{"next attempt", stamp(r.NextAttemptAt)},
		{"received", stamp(r.ReceivedAt)},
		{"finished", stamp(r.DoneAt)},
		{"last error", r.LastError},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.PayloadErr != nil {
		fmt.Fprintf(e.stdout, "payload: cannot be opened: %v\n", r.PayloadErr)
		return nil
	}
	fmt.Fprintf(e.stdout, "payload (%d bytes):\n%s\n", len(r.Payload), r.Payload)
	return nil
}

func inboxRequeue(ctx context.Context, e *env, args []string) error {
	fs := e.flags("inbox requeue", "[ID...]", "Put dead or skipped rows back in the queue, due now, with their attempts reset: by id, or every row matching --state (dead or skipped) and the other filters.")
	var f inboxFilter
	fs.StringVar(&f.state, "state", "", "requeue every row in this state (dead or skipped) that matches the filters")
	f.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := parseID(a)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	byFilter := f.state != "" || f.kind != "" || f.receiver != "" || f.since != ""
	switch {
	case len(ids) > 0 && byFilter:
		return usageError{"inbox requeue: give row ids or filters, not both"}
	case len(ids) == 0 && f.state != string(store.InboxDead) && f.state != string(store.InboxSkipped):
		return usageError{"inbox requeue: give row ids, or --state dead or --state skipped (with --kind, --receiver, --since to narrow it)"}
	}
	q, err := f.query(time.Now())
	if err != nil {
		return err
	}
	db, audit, err := e.openForOperation(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	defer audit.Sync() //nolint:errcheck // stderr sync fails on some terminals
	now := time.Now()
	if len(ids) > 0 {
		var done []int64
		var failed []error
		for _, id := range ids {
			if err := db.RequeueInbox(ctx, id, now); err != nil {
				failed = append(failed, fmt.Errorf("inbox: requeue %d: %w", id, err))
				fmt.Fprintf(e.stderr, "not requeued: %d: %v\n", id, reason(err))
				continue
			}
			done = append(done, id)
			fmt.Fprintf(e.stdout, "requeued %d\n", id)
		}
		audit.Info("inbox requeue", zap.String("action", "requeue"), zap.Int64s("ids", done), zap.Int("count", len(done)),
			zap.Int("failed", len(failed)), zap.String("os_user", osUser()))
		return errors.Join(failed...)
	}
	done, err := db.RequeueInboxMatching(ctx, q, now)
	audit.Info("inbox requeue", zap.String("action", "requeue"), filterFields(q, time.Time{}),
		zap.Int64s("ids", firstIDs(done)), zap.Int("count", len(done)), zap.String("os_user", osUser()), zap.NamedError("failure", err))
	fmt.Fprintf(e.stdout, "requeued %d rows\n", len(done))
	return err
}

func inboxPurge(ctx context.Context, e *env, args []string) error {
	fs := e.flags("inbox purge", "", "Delete rows in one final state that finished more than --before ago. Dead rows were never handled: deleting them needs --yes.")
	var f inboxFilter
	fs.StringVar(&f.state, "state", "", "done, skipped or dead (required)")
	f.register(fs, false)
	before := fs.Duration("before", 0, fmt.Sprintf("delete rows that finished more than this long ago (required, at least %v)", inbox.MinRetention))
	yes := fs.Bool("yes", false, "confirm deleting dead rows")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("inbox purge: unexpected argument %q", fs.Arg(0))}
	}
	state := store.InboxState(f.state)
	switch {
	case state != store.InboxDone && state != store.InboxSkipped && state != store.InboxDead:
		return usageError{fmt.Sprintf("inbox purge: --state must be done, skipped or dead, got %q", f.state)}
	case *before <= 0:
		return usageError{"inbox purge: --before DURATION is required (e.g. --before 720h)"}
	case *before < inbox.MinRetention:
		// A purged row no longer recognises a re-delivery or a replay.
		return usageError{fmt.Sprintf("inbox purge: --before %v is shorter than %v: WeCom's re-deliveries and replays of those callbacks would be processed again", *before, inbox.MinRetention)}
	case state == store.InboxDead && !*yes:
		return usageError{"inbox purge: dead rows are callbacks that were never handled; add --yes to delete them (or requeue them instead)"}
	}
	db, audit, err := e.openForOperation(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	defer audit.Sync() //nolint:errcheck // stderr sync fails on some terminals
	p := store.InboxPurge{State: state, Before: time.Now().Add(-*before), Kind: f.kind, Receiver: f.receiver}
	var total int64
	const batch = 1000
	for {
		n, perr := db.PurgeInboxMatching(ctx, p, batch)
		total += n
		if perr != nil {
			err = perr
			break
		}
		if n < batch {
			break
		}
	}
	audit.Info("inbox purge", zap.String("action", "purge"), filterFields(store.InboxQuery{State: state, Kind: f.kind, Receiver: f.receiver}, p.Before),
		zap.Int64("count", total), zap.String("os_user", osUser()), zap.NamedError("failure", err))
	fmt.Fprintf(e.stdout, "purged %d %s rows that finished before %s\n", total, state, p.Before.UTC().Format(time.RFC3339))
	return err
}

// openForOperation opens the database and the audit logger for the
// actions that change rows. The audit lines are written at info whatever
// log.level says: who changed what must not depend on the verbosity.
func (e *env) openForOperation(ctx context.Context) (*store.DB, *zap.Logger, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	w := e.stderr
	if w == nil {
		w = os.Stderr
	}
	audit, err := newLogger(config.Log{Level: "info", Format: cfg.Log.Format}, w)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return db, audit.Named("audit"), nil
}

func filterFields(q store.InboxQuery, before time.Time) zap.Field {
	m := map[string]string{"state": string(q.State)}
	if q.Kind != "" {
		m["kind"] = q.Kind
	}
	if q.Receiver != "" {
		m["receiver"] = q.Receiver
	}
	if !q.Since.IsZero() {
		m["since"] = q.Since.UTC().Format(time.RFC3339)
	}
	if !before.IsZero() {
		m["finished_before"] = before.UTC().Format(time.RFC3339)
	}
	return zap.Any("filters", m)
}

// firstIDs keeps an audit line bounded when a filter matched many rows.
func firstIDs(ids []int64) []int64 {
	const max = 100
	if len(ids) > max {
		return ids[:max]
	}
	return ids
}

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Getuid())
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{fmt.Sprintf("inbox: %q is not a row id", s)}
	}
	return id, nil
}

// reason is why a requeue was refused, in the operator's terms.
func reason(err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "no such row"
	case errors.Is(err, store.ErrConflict):
		return "not dead or skipped"
	}
	return err.Error()
}

func stamp(ms int64) string {
	if ms <= 0 {
		return "-"
	}
	return store.Time(ms).Format("2006-01-02 15:04:05Z")
}

func oneLineClip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
