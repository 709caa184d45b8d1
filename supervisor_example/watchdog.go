package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The embedded PostgreSQL must not outlive the app, and neither may its
// files, however the app ends. Two mechanisms cover every exit path:
//
//   - pgtest starts the postmaster with a parent-death signal (SIGQUIT) from
//     an OS thread locked for the life of the app, so the server stops even
//     when the app is killed with SIGKILL;
//   - the app keeps all of the server's files in one run directory made by a
//     watchdog: this same binary, started in its own process group with
//     SIGINT, SIGTERM, SIGHUP and SIGPIPE ignored. The watchdog holds the read
//     end of a pipe whose only writer is the app. The kernel closes it when the
//     app ends, whether it exits or is killed, and the watchdog then stops
//     whatever still works inside the run directory (the postmaster is already
//     going) and removes the directory.
//
// On a normal exit the app has already removed everything and the watchdog
// finds nothing to do.

// watchdogEnv, when set, makes the binary run as the watchdog (see
// runWatchdog). Its value is ignored.
const watchdogEnv = "PHOENIXKITDB_EXAMPLE_WATCHDOG"

// runDirPrefix begins the name of every run directory, under os.TempDir().
const runDirPrefix = "phoenixkitdb-example-"

// Watchdog timings: how long the postmaster gets to finish its own
// immediate shutdown before it and its backends are killed, and how long
// the watchdog keeps trying before it gives up.
const (
	watchdogGrace   = 3 * time.Second
	watchdogGiveUp  = 15 * time.Second
	watchdogPollGap = 50 * time.Millisecond
)

// watchdog is the app's handle on its watchdog process.
type watchdog struct {
	cmd    *exec.Cmd
	pipe   *os.File // the app's end; closing it (or dying) triggers the clean-up
	runDir string
}

// startWatchdog starts the watchdog and returns once it has made the run
// directory. Close the returned watchdog after removing what is inside.
func startWatchdog() (*watchdog, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("supervisor_example: watchdog: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("supervisor_example: watchdog: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), watchdogEnv+"=1")
	cmd.Stdin = r
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("supervisor_example: watchdog: %w", err)
	}
	// Its own process group: a Ctrl-C in the terminal must not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("supervisor_example: watchdog: %w", err)
	}
	// Only the watchdog may hold the read end, or the app's death would not
	// close the pipe.
	r.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	dir, ok := strings.CutPrefix(strings.TrimSpace(line), "RUNDIR ")
	if err != nil || !ok || !isRunDir(dir) {
		w.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("supervisor_example: watchdog did not start (said %q, %v)", line, err)
	}
	return &watchdog{cmd: cmd, pipe: w, runDir: dir}, nil
}

// pid is the watchdog's process id.
func (wd *watchdog) pid() int { return wd.cmd.Process.Pid }

// close removes the run directory if it is empty, releases the watchdog
// and waits for it to exit (it removes anything left first).
func (wd *watchdog) close() error {
	_ = os.Remove(wd.runDir)
	wd.pipe.Close()
	return wd.cmd.Wait()
}

// runWatchdog is the watchdog's main: it makes the run directory, prints
// it, waits until its standard input ends (the app is gone), then stops
// every process still working inside the directory and removes it.
func runWatchdog(stdin io.Reader, stdout, stderr io.Writer) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	dir, err := os.MkdirTemp("", runDirPrefix)
	if err != nil {
		fmt.Fprintf(stderr, "supervisor_example watchdog: %v\n", err)
		return 1
	}
	// The server runs as another user when the app runs as root: it must be
	// able to traverse the directory to reach its own.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "supervisor_example watchdog: %v\n", err)
		_ = os.Remove(dir)
		return 1
	}
	fmt.Fprintf(stdout, "RUNDIR %s\n", dir)
	_, _ = io.Copy(io.Discard, stdin)
	if err := sweep(dir); err != nil {
		fmt.Fprintf(stderr, "supervisor_example watchdog: %v\n", err)
		return 1
	}
	return 0
}

// sweep waits for the processes working inside dir to end, kills those
// still there after watchdogGrace, and removes dir.
func sweep(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	began := time.Now()
	for {
		pids := processesIn(dir)
		if len(pids) == 0 {
			break
		}
		if time.Since(began) > watchdogGiveUp {
			return fmt.Errorf("processes %v still run in %s; leaving it", pids, dir)
		}
		if time.Since(began) > watchdogGrace {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(watchdogPollGap)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// processesIn lists the processes whose working directory is dir or
// inside it: initdb and the postmaster are started there and the
// postmaster's backends work in the data directory below it. Zombies have
// no working directory and are not listed.
func processesIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil {
			continue
		}
		if cwd == dir || strings.HasPrefix(cwd, dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isRunDir reports whether dir looks like a run directory, so that nothing
// else is ever removed.
func isRunDir(dir string) bool {
	return filepath.IsAbs(dir) && strings.HasPrefix(filepath.Base(dir), runDirPrefix)
}
