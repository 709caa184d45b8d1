package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/lmittmann/tint"
	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// httpShutdownTimeout bounds the HTTP server's Shutdown. SSE streams end
// as soon as it starts (their request contexts are cancelled), so it is
// normally over in milliseconds.
const httpShutdownTimeout = 500 * time.Millisecond

// serve starts the database (embedded unless a URL was given), the app
// and the HTTP server, then waits for ctx to end and stops them in order:
// HTTP server, supervisor tree (change source, demo writer), the
// replication slot of the embedded demo in WAL mode, pool, embedded
// database. It returns nil after a clean stop.
func serve(ctx context.Context, opts options, logger *slog.Logger) (err error) {
	if opts.dropSlot || opts.removeTriggers {
		return cleanUp(ctx, opts, logger)
	}
	url := opts.databaseURL
	if url == "" {
		wd, werr := startWatchdog()
		if werr != nil {
			return werr
		}
		defer func() {
			if werr := wd.close(); werr != nil {
				err = errors.Join(err, fmt.Errorf("supervisor_example: watchdog: %w", werr))
			}
		}()
		// pgtest makes the server's directory under os.TempDir(): point it
		// into the run directory, which the watchdog removes however the app
		// ends. Nothing else in the app uses TMPDIR.
		if werr := os.Setenv("TMPDIR", wd.runDir); werr != nil {
			return fmt.Errorf("supervisor_example: %w", werr)
		}
		var srv *pgtest.Server
		srv, url, err = startEmbedded(ctx, logger, opts.logLevel, wd)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		defer func() {
			began := time.Now()
			if cerr := srv.Close(); cerr != nil {
				err = errors.Join(err, cerr)
				return
			}
			logger.Info("shutdown: embedded PostgreSQL stopped and removed", "took", time.Since(began).Round(time.Millisecond))
		}()
	}

	natsURL := opts.natsURL
	if opts.cluster && natsURL == "" {
		ns, nerr := startNATS(logger)
		if nerr != nil {
			return nerr
		}
		// Deferred before the app's close: the server stops after the
		// supervisor, so that a leader stopping cleanly releases its lease.
		defer func() {
			began := time.Now()
			if cerr := ns.close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("supervisor_example: NATS store: %w", cerr))
				return
			}
			logger.Info("shutdown: embedded NATS server stopped and its store removed", "took", time.Since(began).Round(time.Millisecond))
		}()
		natsURL = ns.url()
	}

	a, err := newApp(ctx, appConfig{
		ClusterNATS:     natsURL,
		ClusterEmbedded: opts.natsURL == "",
		DatabaseURL:     url,
		Logger:          logger,
		Demo:            opts.demo,
		Watch:           opts.watch,
		DemoInterval:    opts.demoInterval,
		DB:              phoenixkitdb.Config{Source: opts.source, WAL: replication.Config{Slot: opts.slot, Publication: opts.publication}},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer a.close()
	a.web.AllowedHosts = append(addrHosts(opts.addr), opts.allowHosts...)

	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("supervisor_example: %w (pick another address with -addr, e.g. -addr 127.0.0.1:0)", err)
	}

	supCtx, stopSup := context.WithCancel(context.Background())
	defer stopSup()
	supDone := a.serve(supCtx)

	// Request contexts derive from baseCtx, cancelled when Shutdown starts:
	// Shutdown alone would wait for SSE streams, which never go idle.
	baseCtx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	hs := &http.Server{
		Handler:           a.web.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(cancelRequests)
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Serve(ln) }()
	if exposed(ln.Addr()) {
		logger.Warn("the Activity page listens beyond this machine: anyone who can reach it sees every change "+
			"and can disable the module (no authentication); use -addr 127.0.0.1:PORT (the default) unless you mean it",
			"addr", ln.Addr().String())
	}
	logger.Info("Activity page ready; open it in a browser", "url", pageURL(ln.Addr()),
		"metrics", pageURL(ln.Addr())+"metrics", "pid", os.Getpid())

	select {
	case <-ctx.Done():
		logger.Info("shutdown: signal received; stopping")
	case err := <-httpDone:
		httpDone <- err
		logger.Error("HTTP server failed", tint.Err(err))
	}

	began := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	if serr := hs.Shutdown(sctx); serr != nil {
		logger.Warn("shutdown: HTTP server did not stop in time; closing connections", tint.Err(serr))
		_ = hs.Close()
	}
	cancel()
	if herr := <-httpDone; herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = fmt.Errorf("supervisor_example: HTTP server: %w", herr)
	}
	logger.Info("shutdown: HTTP server stopped", "took", time.Since(began).Round(time.Millisecond))

	began = time.Now()
	stopSup()
	if serr := <-supDone; serr != nil && !errors.Is(serr, context.Canceled) {
		err = errors.Join(err, fmt.Errorf("supervisor_example: supervisor: %w", serr))
	}
	logger.Info("shutdown: supervisor stopped (change source closed)", "took", time.Since(began).Round(time.Millisecond))
	endSlot(a, opts, logger)
	return err
}

// endSlot deals with the replication slot once the Source has stopped (WAL
// mode only): the embedded demo drops it, since nobody will resume from
// it; a database you named keeps it, so that a restart resumes where this
// run stopped and loses nothing, and the log says how to drop it.
func endSlot(a *app, opts options, logger *slog.Logger) {
	src := a.db.Replication()
	if src == nil {
		return
	}
	if opts.databaseURL != "" {
		logger.Info("shutdown: replication slot kept: the next run resumes from it; while it is unused it retains WAL, "+
			"so drop it when you are done (run once with -drop-slot, or replication.DropSlot)", "slot", src.Slot())
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if _, err := a.dropSlot(ctx); err != nil {
		logger.Warn("shutdown: dropping the replication slot failed", "slot", src.Slot(), tint.Err(err))
		return
	}
	logger.Info("shutdown: replication slot dropped", "slot", src.Slot())
}

// pageURL is the clickable URL of the Activity page served on addr.
func pageURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port)) + "/"
}

// exposed reports whether addr accepts connections from other machines:
// any address but a loopback one.
func exposed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return !ok || !tcp.IP.IsLoopback()
}
