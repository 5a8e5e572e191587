package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wecomapp/wecomapp/apikey"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/store"
)

const apikeyUsage = `usage: wecomapp apikey <action> [flags]

Manage the keys business systems sign ingest API requests with
(POST /api/v1/messages). Creating and revoking are written to the audit
log as cli:$USER.

actions:
  create  --system NAME --scope SCOPE [--rate 60/min]
          make a key; prints its id and secret, the only time the secret
          is shown (it is stored sealed and cannot be read back)
  list    every key, revoked ones included; never a secret
  revoke  KEYID
          refuse the key's requests from now on, on every instance

SCOPE is whom the key may send to, terms separated by spaces:
  all                  anyone, the whole university included
  userids              any member by userid   userids:T1001,T1002  only these
  tags:12,13           these WeCom tags
  departments:5        department 5 and every department below it
  roles:counselor      these workbench roles
  mobiles              anyone by mobile number (SMS)`

func cmdAPIKey(ctx context.Context, e *env, args []string) error {
	fs := e.flags("apikey", "", "")
	fs.Usage = func() { fmt.Fprintln(e.stderr, apikeyUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	actions := map[string]func(context.Context, *env, []string) error{
		"create": apikeyCreate, "list": apikeyList, "revoke": apikeyRevoke,
	}
	act, ok := actions[fs.Arg(0)]
	if !ok {
		fs.Usage()
		return usageError{fmt.Sprintf("apikey: want create, list or revoke, got %q", fs.Arg(0))}
	}
	return act(ctx, e, fs.Args()[1:])
}

// scopeFlag collects --scope, which may be given several times.
type scopeFlag []string

func (f *scopeFlag) String() string     { return strings.Join(*f, " ") }
func (f *scopeFlag) Set(v string) error { *f = append(*f, v); return nil }

func apikeyCreate(ctx context.Context, e *env, args []string) error {
	fs := e.flags("apikey create", "", "Make an API key for a business system and print its id and secret, once.")
	system := fs.String("system", "", "the system the key is for (1 to 60 of A-Z a-z 0-9 - _ .); its messages' producer is api:NAME")
	var scope scopeFlag
	fs.Var(&scope, "scope", `whom the key may send to, e.g. "tags:12,13 departments:5 roles:counselor" (required; see wecomapp apikey --help)`)
	rate := fs.String("rate", apikey.DefaultRate.String(), "requests allowed: COUNT/s, COUNT/min or COUNT/h (at most 100 a second)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("apikey create: unexpected argument %q", fs.Arg(0))}
	}
	if *system == "" {
		return usageError{"apikey create: --system is required"}
	}
	// No default scope: whom a system may reach is the admin's decision.
	if len(scope) == 0 {
		return usageError{`apikey create: --scope is required, e.g. --scope "tags:12,13 departments:5" (see wecomapp apikey --help)`}
	}
	sc, err := apikey.ParseScope(scope...)
	if err != nil {
		return usageError{"apikey create: --scope: " + err.Error()}
	}
	r, err := apikey.ParseRate(*rate)
	if err != nil {
		return usageError{"apikey create: --rate: " + err.Error()}
	}
	keys, db, err := e.openAPIKeys(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	key, secret, err := keys.Create(ctx, cliActor(), apikey.Spec{System: *system, Scope: sc, Rate: r})
	var ae *apikey.Error
	if errors.As(err, &ae) && errors.Is(err, apikey.ErrInvalid) {
		return usageError{fmt.Sprintf("apikey create: --%s: %s", ae.Field, ae.Msg)}
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"key id", key.ID},
		{"secret", secret},
		{"system", key.System},
		{"producer", key.Producer()},
		{"scope", key.Scope.String()},
		{"rate", key.Rate.String()},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nThe secret is shown this once and cannot be read back: put it in the system's configuration now.\nIf it is lost, revoke the key and create another.")
	return nil
}

func apikeyList(ctx context.Context, e *env, args []string) error {
	fs := e.flags("apikey list", "", "List every API key, revoked ones included, oldest first. Secrets are never shown.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("apikey list: unexpected argument %q", fs.Arg(0))}
	}
	keys, db, err := e.openAPIKeys(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	all, err := keys.List(ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintln(e.stdout, "no keys")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tSYSTEM\tSCOPE\tRATE\tCREATED\tBY\tLAST USED\tREVOKED")
	for _, k := range all {
		revoked := "-"
		if k.Revoked() {
			revoked = clock(k.RevokedAt) + " by " + k.RevokedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.System, oneLineClip(k.Scope.String(), 60), k.Rate,
			clock(k.CreatedAt), k.CreatedBy, clock(k.LastUsedAt), revoked)
	}
	return tw.Flush()
}

func apikeyRevoke(ctx context.Context, e *env, args []string) error {
	fs := e.flags("apikey revoke", "KEYID", "Revoke an API key: its requests are refused from now on, on every instance. The key stays listed.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"apikey revoke: want one key id"}
	}
	keys, db, err := e.openAPIKeys(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	key, revoked, err := keys.Revoke(ctx, cliActor(), fs.Arg(0))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("apikey revoke: no key %q (wecomapp apikey list shows them)", fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if !revoked {
		fmt.Fprintf(e.stdout, "%s (system %s) was revoked already, at %s by %s\n", key.ID, key.System, clock(key.RevokedAt), key.RevokedBy)
		return nil
	}
	fmt.Fprintf(e.stdout, "revoked %s (system %s)\n", key.ID, key.System)
	return nil
}

// openAPIKeys opens the database and the keys over it. Creating, listing
// and revoking use no nonce or rate bucket, so an in-process coordination
// store does: the CLI needs no Redis.
func (e *env) openAPIKeys(ctx context.Context) (*apikey.Keys, *store.DB, error) {
	db, err := e.openDatabase(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	for _, m := range st {
		if !m.Applied {
			db.Close()
			return nil, nil, fmt.Errorf("apikey: the database is not migrated (%s is pending): run wecomapp migrate up", m.Name)
		}
	}
	keys, err := apikey.New(apikey.Options{DB: db, Coord: coord.NewMemory(nil)})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return keys, db, nil
}

// cliActor is who runs the command, as the audit log records it.
func cliActor() store.Actor {
	u := os.Getenv("USER")
	if u == "" {
		u = osUser()
	}
	return store.Actor{UserID: "cli:" + u}
}

// clock prints a time to the second, "-" for none.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

var _ flag.Value = (*scopeFlag)(nil)
