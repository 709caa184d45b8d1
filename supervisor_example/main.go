// Command supervisor_example is the host program `make run` starts: a suture
// supervisor tree as a host application would have one, a module Registry
// with phoenixkitdb's DB module enabled through it, a small demo schema with
// change triggers (or, with -source=wal, in a publication), and a live
// Activity page streaming every change.
//
// Without -database-url or DATABASE_URL it starts an embedded, throwaway
// PostgreSQL from the machine's binaries and writes a gentle stream of demo
// changes into it; the embedded server and its files are removed on exit.
//
// Usage:
//
//	go run ./supervisor_example [flags]
//
// Flags:
//
//	-addr           HTTP address of the Activity page (default 127.0.0.1:8080; port 0 picks one)
//	-allow-host     host names the page answers to besides 127.0.0.1, localhost and
//	                -addr's host ("*": any); requests naming another get 421
//	-database-url   PostgreSQL URL (default $DATABASE_URL; empty: embedded server)
//	-demo           create schema demo (three tables and their triggers) and write demo
//	                changes into it (default: on for the embedded server, off otherwise)
//	-watch          schema.table,... : install change triggers on these tables (with
//	                -source=wal: add them to the publication instead); with
//	                -database-url nothing else is ever written to the database
//	-source         notify (the Listener and row triggers, the default) or wal
//	                (logical replication from a slot; the embedded server runs
//	                with wal_level=logical either way)
//	-slot           the replication slot in WAL mode (default phoenixkitdb); kept
//	                on a database you name, dropped on exit on the embedded one
//	-publication    the publication in WAL mode (default phoenixkitdb)
//	-cluster        run three instances of the host in the process, each with its
//	                own supervisor, Registry and DB module wrapped by the cluster
//	                module, on an embedded NATS server (JetStream in a temporary
//	                directory, removed on exit); the page shows which one leads
//	                and can stop it
//	-nats-url       with -cluster: use this NATS server (JetStream enabled)
//	                instead of the embedded one
//	-drop-slot      drop the replication slot -slot names, on -database-url's
//	                database, and exit (WAL mode keeps it; see below)
//	-remove-triggers remove the change triggers of the -watch tables, or without
//	                -watch of the tables in -publication, on -database-url's
//	                database, and exit
//	-demo-interval  pause between demo writes (default 800ms)
//	-log-format     text (tint, colour on a terminal unless NO_COLOR is set) or json
//	-log-level      debug, info, warn or error
//
// Switching modes leaves things behind: after WAL mode a slot that retains
// WAL, after NOTIFY mode triggers that notify for nobody. At start the app
// logs what is left and names -drop-slot or -remove-triggers.
//
// SIGINT, SIGTERM or SIGHUP stops everything in order within two seconds
// (HTTP server, supervisor with the change source, embedded database) and exits
// 0. The embedded server and its files go even when the app is killed with
// SIGKILL (see watchdog.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lmittmann/tint"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// options are the parsed command line.
type options struct {
	addr         string
	databaseURL  string
	demo         bool
	watch        []watchTable
	demoInterval time.Duration
	logFormat    string
	logLevel     slog.Level
	source       phoenixkitdb.SourceKind
	slot         string
	publication  string
	cluster      bool
	natsURL      string
	allowHosts   []string
	// dropSlot and removeTriggers ask for a clean-up instead of a run
	// (see cleanUp).
	dropSlot, removeTriggers bool
}

func main() {
	if os.Getenv(watchdogEnv) != "" {
		os.Exit(runWatchdog(os.Stdin, os.Stdout, os.Stderr))
	}
	// A log write to a closed pipe (`make run | tee log`, then Ctrl-C kills
	// tee) must fail quietly rather than kill the app before its clean-up:
	// once SIGPIPE is notified, such writes return EPIPE instead.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	// After the first signal a second one kills the process the default way.
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, os.Getenv))
}

// run is the whole program: it returns the exit status once ctx ends and
// everything it started has stopped.
func run(ctx context.Context, args []string, stderr *os.File, getenv func(string) string) int {
	opts, err := parseFlags(args, stderr, getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	logger := newLogger(stderr, opts.logFormat, opts.logLevel, getenv)
	slog.SetDefault(logger)

	if err := serve(ctx, opts, logger); err != nil {
		if errors.Is(err, pgtest.ErrNoPostgres) {
			// The error lists where the binaries were looked for and the
			// package that provides them on the common systems.
			fmt.Fprintf(stderr, "supervisor_example: %v; or pass -database-url (or set DATABASE_URL) to use a server you have\n", err)
			return 1
		}
		logger.Error("supervisor_example: failed", tint.Err(err))
		return 1
	}
	return 0
}

// parseFlags parses args; the database URL defaults to $DATABASE_URL and
// -demo defaults to on exactly when the embedded database is used.
func parseFlags(args []string, out io.Writer, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("supervisor_example", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "HTTP `address` of the Activity page (port 0 picks a free one)")
	fs.StringVar(&o.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL `URL` (default $DATABASE_URL; empty starts an embedded server)")
	fs.BoolVar(&o.demo, "demo", false, "create schema demo (three tables, their triggers) and write a gentle stream of changes into it (default: on for the embedded server only)")
	watch := fs.String("watch", "", "install change triggers on these `tables` (schema.table,...); nothing else is written to a database you name")
	fs.DurationVar(&o.demoInterval, "demo-interval", 800*time.Millisecond, "pause between demo writes")
	fs.StringVar(&o.logFormat, "log-format", "text", "log `format`: text or json")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	source := fs.String("source", "notify", "change `source`: notify (Listener and row triggers) or wal (logical replication; -watch and -demo then fill a publication)")
	fs.StringVar(&o.slot, "slot", replication.DefaultSlot, "replication `slot` in WAL mode (kept on a database you name: drop it with replication.DropSlot when done)")
	fs.StringVar(&o.publication, "publication", replication.DefaultPublication, "`publication` whose tables WAL mode streams")
	fs.BoolVar(&o.cluster, "cluster", false, "run three instances in this process behind the cluster module (leader election, NATS JetStream); the page shows the leader and can stop it")
	fs.Func("allow-host", "comma-separated host `names` the page answers to besides 127.0.0.1, localhost and -addr's host (\"*\" for any; others get 421, which defeats DNS rebinding)", func(v string) error {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				o.allowHosts = append(o.allowHosts, h)
			}
		}
		return nil
	})
	fs.BoolVar(&o.dropSlot, "drop-slot", false, "drop the replication slot -slot names (what WAL mode leaves behind) on -database-url's database, then exit")
	fs.BoolVar(&o.removeTriggers, "remove-triggers", false, "remove the change triggers of the -watch tables, or without -watch of the tables in -publication (what NOTIFY mode leaves behind), on -database-url's database, then exit")
	fs.StringVar(&o.natsURL, "nats-url", "", "with -cluster: NATS server `URL` (JetStream enabled) instead of an embedded one")
	err := fs.Parse(args)
	if err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(out, "supervisor_example: unexpected arguments %q\n", fs.Args())
		return o, errors.New("unexpected arguments")
	}
	demoSet := false
	fs.Visit(func(f *flag.Flag) { demoSet = demoSet || f.Name == "demo" })
	if !demoSet {
		o.demo = o.databaseURL == ""
	}
	if o.watch, err = parseWatch(*watch); err != nil {
		fmt.Fprintf(out, "%v\n", err)
		return o, err
	}
	if err := o.logLevel.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(out, "supervisor_example: -log-level: %v\n", err)
		return o, err
	}
	switch *source {
	case "notify":
		o.source = phoenixkitdb.SourceNotify
	case "wal":
		o.source = phoenixkitdb.SourceWAL
	default:
		fmt.Fprintf(out, "supervisor_example: -source must be notify or wal, not %q\n", *source)
		return o, errors.New("bad -source")
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		fmt.Fprintf(out, "supervisor_example: -log-format must be text or json, not %q\n", o.logFormat)
		return o, errors.New("bad -log-format")
	}
	if o.natsURL != "" && !o.cluster {
		fmt.Fprintln(out, "supervisor_example: -nats-url needs -cluster")
		return o, errors.New("-nats-url without -cluster")
	}
	if (o.dropSlot || o.removeTriggers) && o.databaseURL == "" {
		fmt.Fprintln(out, "supervisor_example: -drop-slot and -remove-triggers clean up the database -database-url (or DATABASE_URL) names; the embedded one leaves nothing behind")
		return o, errors.New("clean-up without a database")
	}
	if o.demoInterval <= 0 {
		fmt.Fprintln(out, "supervisor_example: -demo-interval must be positive")
		return o, errors.New("bad -demo-interval")
	}
	return o, nil
}
