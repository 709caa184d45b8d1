package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// leftoverTimeout is how long the app, its watchdog, the embedded
// PostgreSQL and the run directory may take to be gone after a signal.
const leftoverTimeout = 10 * time.Second

// TestMakeRunLeavesNothing runs `make run` as a user does and ends it the
// ways a user, a terminal or a process manager does: SIGTERM to make,
// SIGTERM or SIGHUP to the app, SIGKILL to the app, Ctrl-C (SIGINT to the
// terminal's process group). Each time, within a few seconds, no app, no watchdog, no
// PostgreSQL process and no run directory (with the data directory in it)
// may be left, and a graceful stop must leave make without an error.
func TestMakeRunLeavesNothing(t *testing.T) {
	t.Parallel() // waits on processes; its bounds are 10 s, not the 2 s of program.stop
	pgtest.Require(t, srv)
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("make is needed to test `make run`: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// The other tests' build first: make run's go build then finds the
	// program compiled and only links it, where the two would otherwise
	// compile it side by side.
	built.binary(t)
	for _, tc := range []struct {
		name string
		// stop ends the run; graceful says the app should exit 0 after it.
		stop     func(t *testing.T, mk *exec.Cmd, r *embeddedRun)
		graceful bool
		// makeOK says make itself must exit 0.
		makeOK bool
	}{
		{"SIGTERM to make", func(t *testing.T, mk *exec.Cmd, r *embeddedRun) { sendSignal(t, mk.Process.Pid, syscall.SIGTERM) }, true, false},
		{"SIGTERM to the app", func(t *testing.T, mk *exec.Cmd, r *embeddedRun) { sendSignal(t, r.app, syscall.SIGTERM) }, true, true},
		{"SIGHUP to the app", func(t *testing.T, mk *exec.Cmd, r *embeddedRun) { sendSignal(t, r.app, syscall.SIGHUP) }, true, true},
		{"Ctrl-C", func(t *testing.T, mk *exec.Cmd, r *embeddedRun) { sendSignal(t, -mk.Process.Pid, syscall.SIGINT) }, true, false},
		{"SIGKILL to the app", func(t *testing.T, mk *exec.Cmd, r *embeddedRun) { sendSignal(t, r.app, syscall.SIGKILL) }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := exec.Command(makeBin, "--no-print-directory", "-C", root, "run",
				"ARGS=-addr 127.0.0.1:0 -log-format json -demo-interval 100ms")
			// Not the make running these tests: its jobserver is not ours.
			env := os.Environ()
			for _, name := range []string{"DATABASE_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"} {
				env = withoutEnv(env, name)
			}
			mk.Env = env
			// A process group of its own stands for the terminal's
			// foreground group that Ctrl-C signals.
			mk.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			p := runProgram(t, mk)
			r := embedded(t, p)
			if !alive(r.postmaster) || !alive(r.watchdog) {
				t.Fatalf("postmaster %d or watchdog %d not running", r.postmaster, r.watchdog)
			}

			tc.stop(t, mk, r)
			err := waitExit(t, p)
			r.waitGone(t)
			logs := p.allLogs()
			if tc.graceful && !strings.Contains(logs, "embedded PostgreSQL stopped and removed") {
				t.Errorf("the app did not shut down in order:\n%s", logs)
			}
			if tc.graceful && strings.Contains(logs, "make: ***") {
				t.Errorf("make reported an error for a graceful stop:\n%s", logs)
			}
			if tc.makeOK && err != nil {
				t.Errorf("make exited with %v, want 0", err)
			}
		})
	}
}

// TestRunSurvivesClosedStderr: with its log pipe closed (`make run | tee`
// and Ctrl-C kills tee first), the app must not die of SIGPIPE; it still
// cleans up and exits 0.
func TestRunSurvivesClosedStderr(t *testing.T) {
	t.Parallel() // waits on processes; its bounds are 10 s, not the 2 s of program.stop
	pgtest.Require(t, srv)
	bin := built.binary(t)
	// Debug logs make the app write (and hit the closed pipe) constantly.
	p := startProgram(t, bin, "-demo-interval", "50ms")
	r := embedded(t, p)
	// Closing our end makes every later write of the app fail with EPIPE.
	p.closeLogs()
	<-p.done
	sendSignal(t, r.app, syscall.SIGINT)
	if err := waitExit(t, p); err != nil {
		t.Errorf("app exited with %v after its stderr was closed, want 0", err)
	}
	r.waitGone(t)
}

// embeddedRun is what an app running the embedded server consists of.
type embeddedRun struct {
	app, watchdog, postmaster int
	runDir, dataDir           string
}

// embedded reads the processes and directories of p's embedded run from
// its logs.
func embedded(t *testing.T, p *program) *embeddedRun {
	t.Helper()
	ready := p.waitLog(t, "embedded PostgreSQL ready")
	r := &embeddedRun{
		app:      p.pid,
		watchdog: int(ready["watchdog_pid"].(float64)),
		runDir:   ready["run_dir"].(string),
		dataDir:  ready["data_dir"].(string),
	}
	if !strings.HasPrefix(r.dataDir, r.runDir+"/") {
		t.Fatalf("data dir %s is not inside the run dir %s", r.dataDir, r.runDir)
	}
	r.postmaster = postmasterPID(t, r.dataDir)
	return r
}

// waitGone waits until nothing of r is left.
func (r *embeddedRun) waitGone(t *testing.T) {
	t.Helper()
	waitFor(t, leftoverTimeout, "no app, watchdog, PostgreSQL or run directory left", func() bool {
		_, err := os.Stat(r.runDir)
		return !alive(r.app) && !alive(r.watchdog) && !alive(r.postmaster) &&
			len(processesIn(r.runDir)) == 0 && errors.Is(err, os.ErrNotExist)
	})
}

// sendSignal sends sig to pid (a negative pid: its process group).
func sendSignal(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill(%d, %v): %v", pid, sig, err)
	}
}

// waitExit waits, up to leftoverTimeout, for p's log pipe to close (every
// process holding it has exited) and for p's command to exit, and returns
// its Wait error. Reading the logs to the end first keeps Wait from
// closing the pipe under the reader.
func waitExit(t *testing.T, p *program) error {
	t.Helper()
	deadline := time.NewTimer(leftoverTimeout)
	defer deadline.Stop()
	exited := make(chan error, 1)
	go func() {
		<-p.done
		exited <- p.cmd.Wait()
	}()
	select {
	case err := <-exited:
		return err
	case <-deadline.C:
		_ = p.cmd.Process.Kill()
		p.closeLogs()
		<-exited
		t.Fatalf("%s did not exit within %v", p.cmd.Path, leftoverTimeout)
		return nil
	}
}

// alive reports whether pid exists and is not a zombie (a zombie has
// exited; only its parent has not collected it yet).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
