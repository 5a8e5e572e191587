// Command wecomapp is the WeCom-first one-stop service platform: one binary
// that serves WeCom callbacks, the H5 workbenches and the admin console,
// runs the background workers, and carries its own WeCom simulator for
// local runs and tests.
//
// main only wires: it builds everything from the configuration, owns the
// signal context and holds no business rules.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "wecomapp:", oneLine(err))
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode is the process's exit status for what run returned: 0 for a
// --help that was asked for (the usage was printed, nothing went wrong), 2
// for a command-line mistake or a sync the guard stopped, 1 for any other
// failure.
func exitCode(err error) int {
	var ue usageError
	var gs guardStopped
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue), errors.As(err, &gs):
		return 2
	}
	return 1
}

// oneLine keeps the exit message on one line whatever the error wraps.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand gets: where to write and how to read the
// configuration.
type env struct {
	stdout, stderr io.Writer
	configPath     string
	configOptional bool
	environ        []string
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server and background workers", cmdServe},
		{"migrate", "apply (up) or list (status) database migrations", cmdMigrate},
		{"seed", "load the demo university into our records (data-center tables, self-registered people, tags)", cmdSeed},
		{"dc", "check or load the data center's CSV exports into the data-center tables", cmdDC},
		{"sync", "sync WeCom's contacts with the data center (plan, guard, apply; --dry-run plans only)", cmdSync},
		{"sim", "run the WeCom simulator standalone", cmdSim},
		{"config", "print the effective configuration (dump) or check it (check)", cmdConfig},
		{"inbox", "list, show, requeue or purge callbacks in the inbox", cmdInbox},
		{"apikey", "create, list or revoke the ingest API's keys (business systems sign with them)", cmdAPIKey},
		{"rekey", "re-encrypt sealed columns under security.data_key (after a key rotation)", cmdRekey},
		{"version", "print the version", cmdVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: wecomapp [--config config.yaml] <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'wecomapp <command> --help' for a command's flags.\n")
	fmt.Fprintf(w, "Every config key can be set by environment: WECOMAPP_SERVER_ADDR=:8080 (see config.yaml).\n")
}

// run is main without the process: tests call it with their own context,
// arguments and writers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wecomapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stderr) }
	defaultConfig := "config.yaml"
	if v := os.Getenv("WECOMAPP_CONFIG"); v != "" {
		defaultConfig = v
	}
	configPath := fs.String("config", defaultConfig, "configuration file (env WECOMAPP_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		usage(stderr)
		return usageError{"no command given"}
	}
	name := fs.Arg(0)
	if name == "help" {
		usage(stdout)
		return nil
	}
	e := &env{stdout: stdout, stderr: stderr, configPath: *configPath, configOptional: *configPath == "config.yaml", environ: os.Environ()}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, fs.Args()[1:])
		}
	}
	usage(stderr)
	return usageError{fmt.Sprintf("unknown command %q", name)}
}

// flags makes a subcommand's flag set with a --help that lists its flags.
func (e *env) flags(name, argsUsage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: wecomapp %s [flags] %s\n\n%s\n\nflags:\n", name, argsUsage, summary)
		fs.PrintDefaults()
	}
	return fs
}
