package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
)

var srv *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &srv)) }

// TestQuickstart runs the README's program as a user would: it must load,
// print a change made with SQL, reload after its connection is killed,
// and exit 0 on SIGTERM.
func TestQuickstart(t *testing.T) {
	url := pgtest.NewDB(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE TABLE public.orders (id bigint PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(build(t))
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	exited := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("quickstart's log:\n%s", stderr.String())
		}
	})
	expect := func(want string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q", want)
				}
				if line == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %q within 30 s", want)
			}
		}
	}

	// Printed once changes flow and the mailbox is subscribed.
	expect("loaded: 0 orders")
	if _, err := conn.Exec(ctx, "INSERT INTO public.orders VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	expect("change: INSERT public.orders 42")

	// A lost connection means a reload. The Listener's session is the one
	// named by its default application_name; the pool's sessions survive.
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity
		WHERE datname = pg_catalog.current_database() AND application_name = $1`, listener.DefaultApplicationName).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d Listener sessions (want 1): %v", killed, err)
	}
	expect("loaded: 1 orders")

	go func() { exited <- cmd.Wait() }()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("exit status %d after SIGTERM", exit.ExitCode())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
}

// build compiles the program into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "quickstart")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Without DATABASE_URL the program says to set it, at once, instead of
// letting pgx fall back to defaults and fail with a connection error.
func TestQuickstartWithoutDatabaseURL(t *testing.T) {
	bin := build(t)
	for _, env := range [][]string{nil, {"DATABASE_URL="}} {
		cmd := exec.Command(bin)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "DATABASE_URL=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Fatalf("with %q: exit %v, want status 2; output:\n%s", env, err, out)
		}
		if !strings.Contains(string(out), "set DATABASE_URL") {
			t.Fatalf("with %q: output %q does not say to set DATABASE_URL", env, out)
		}
	}
}
