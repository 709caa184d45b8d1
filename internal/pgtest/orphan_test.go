package pgtest_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// orphanHelperEnv makes the test binary act as orphanHelper instead of running tests.
const orphanHelperEnv = "PGTEST_ORPHAN_HELPER"

// orphanHelper starts a server, prints its data directory, and waits to be killed.
func orphanHelper() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("DATADIR", s.DataDir())
	// Block until the parent kills us (or closes stdin).
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = s.Close()
	return 0
}

// TestKilledTestBinaryTakesServerDown checks Pdeathsig: SIGKILL the process
// that started a server and the postmaster must exit too.
func TestKilledTestBinaryTakesServerDown(t *testing.T) {
	t.Parallel()
	pgtest.Require(t, srv)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanHelperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	dataDir, ok := strings.CutPrefix(strings.TrimSpace(line), "DATADIR ")
	if err != nil || !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dataDir)) })
	pidFile, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	if !alive(pid) {
		t.Fatalf("postmaster %d not running before the kill", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	eventually(t, 15*time.Second, fmt.Sprintf("orphaned postmaster %d to exit", pid), func() bool { return !alive(pid) })
}

// alive reports whether pid exists and is not a zombie.
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
