package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// closeStepTimeout is how long Close waits after each signal before escalating.
const closeStepTimeout = 5 * time.Second

// pollInterval is the pause between readiness probes.
const pollInterval = 20 * time.Millisecond

// signalFor maps a pg_ctl shutdown mode to the postmaster's signal.
func signalFor(mode string) (syscall.Signal, error) {
	switch mode {
	case "smart":
		return syscall.SIGTERM, nil
	case "fast":
		return syscall.SIGINT, nil
	case "immediate":
		return syscall.SIGQUIT, nil
	}
	return 0, fmt.Errorf("pgtest: unknown shutdown mode %q (want smart, fast or immediate)", mode)
}

// Stop shuts the postmaster down in mode "smart" (wait for clients to
// disconnect), "fast" (disconnect them, clean shutdown) or "immediate" (abort,
// crash recovery on the next start) and waits until it has exited. Stopping a
// server that is not running returns nil. Stop on an External server returns
// ErrExternal. A smart shutdown with a client that never leaves blocks
// forever: use StopContext to bound it.
func (s *Server) Stop(mode string) error {
	return s.StopContext(context.Background(), mode)
}

// StopContext is Stop with a bound: when ctx ends before the postmaster has
// exited it returns ctx's error, leaving the shutdown in progress.
func (s *Server) StopContext(ctx context.Context, mode string) error {
	if s.external != nil {
		return ErrExternal
	}
	sig, err := signalFor(mode)
	if err != nil {
		return err
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	p := s.current()
	if p == nil || p.exited() {
		return nil
	}
	s.logger.Debug("pgtest: stopping", "mode", mode, "pid", p.proc.Pid)
	if err := p.signal(sig); err != nil {
		return fmt.Errorf("pgtest: signalling postgres: %w", err)
	}
	select {
	case <-p.done:
		s.logger.Debug("pgtest: stopped", "mode", mode, "exit", p.err)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pgtest: waiting for %s shutdown: %w", mode, ctx.Err())
	}
}

// Resume starts the server again on the same data directory and port and
// returns once it accepts connections; ctx bounds the wait (a minute when ctx
// has no deadline). It fails if the server is running, closed (ErrClosed) or
// External (ErrExternal), or if another process took the port meanwhile.
func (s *Server) Resume(ctx context.Context) error {
	if s.external != nil {
		return ErrExternal
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if p := s.current(); p != nil && !p.exited() {
		return fmt.Errorf("pgtest: resume: server is already running (pid %d)", p.proc.Pid)
	}
	_, err := s.launch(ctx)
	return err
}

// Restart is Stop(mode) followed by Resume(ctx).
func (s *Server) Restart(ctx context.Context, mode string) error {
	if err := s.StopContext(ctx, mode); err != nil {
		return err
	}
	return s.Resume(ctx)
}

// launch starts the postmaster on s.port and waits until it accepts
// connections. On failure the postmaster is gone when launch returns, and
// bindFailed tells whether the cause was the port being taken. The caller
// holds s.ctl.
func (s *Server) launch(ctx context.Context) (bindFailed bool, err error) {
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return false, fmt.Errorf("pgtest: %w", err)
	}
	fi, err := logFile.Stat()
	if err != nil {
		logFile.Close()
		return false, fmt.Errorf("pgtest: %w", err)
	}
	logStart := fi.Size()
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), "-D", s.dataDir, "-p", strconv.Itoa(s.port))
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	attr := s.sysProcAttr()
	attr.Pdeathsig = syscall.SIGQUIT
	// Own process group: a Ctrl-C in the terminal reaches only the test
	// binary, which then shuts the server down itself.
	attr.Setpgid = true
	cmd.SysProcAttr = attr
	p, err := startProcess(cmd)
	// The child has its own copy of the descriptor.
	logFile.Close()
	if err != nil {
		return false, fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	s.logger.Debug("pgtest: postgres started", "pid", p.proc.Pid, "port", s.port, "user", s.userName())

	if err := s.waitReady(ctx, p); err != nil {
		if !p.exited() {
			_ = s.shutdown(p)
		}
		return s.logSince(logStart, "could not bind"), err
	}
	s.logger.Info("pgtest: postgres ready", "url", s.URL("postgres"))
	return false, nil
}

// waitReady polls real connections until one succeeds, the postmaster exits
// or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastErr error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("pgtest: postgres exited during startup (%v); server log:\n%s", p.err, s.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready: %w (last connection error: %v); server log:\n%s", ctx.Err(), lastErr, s.LogTail(20))
		case <-timer.C:
		}
		if lastErr = s.probe(ctx); lastErr == nil {
			return nil
		}
		timer.Reset(pollInterval)
	}
}

// probe opens and closes one connection.
func (s *Server) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// shutdown stops p for Close and failed starts: fast, then immediate, then
// SIGKILL, waiting closeStepTimeout after each of the first two. It returns
// once p has been reaped.
func (s *Server) shutdown(p *process) error {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT} {
		if err := p.signal(sig); err != nil {
			return fmt.Errorf("pgtest: signalling postgres: %w", err)
		}
		timer := time.NewTimer(closeStepTimeout)
		select {
		case <-p.done:
			timer.Stop()
			return nil
		case <-timer.C:
			s.logger.Warn("pgtest: postgres did not stop, escalating", "signal", sig)
		}
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgtest: killing postgres: %w", err)
	}
	<-p.done
	return fmt.Errorf("pgtest: postgres had to be killed; server log:\n%s", s.LogTail(20))
}

// sysProcAttr returns the attributes shared by initdb and postgres.
func (s *Server) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: s.as.credential()}
}

// logSince reports whether the log written after offset contains substr.
func (s *Server) logSince(offset int64, substr string) bool {
	b, err := os.ReadFile(s.logPath)
	if err != nil || int64(len(b)) < offset {
		return false
	}
	return strings.Contains(string(b[offset:]), substr)
}
