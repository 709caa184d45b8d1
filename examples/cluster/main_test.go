package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

var srv *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m, &srv)) }

// TestClusterExample runs the example's three instances over an embedded
// NATS server: an order inserted with SQL reaches every instance, each
// exactly once, and the program ends cleanly when its context does.
func TestClusterExample(t *testing.T) {
	const n = 3
	url := pgtest.NewDB(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE TABLE public.orders (id bigint PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	exited := make(chan error, 1)
	go func() {
		err := run(runCtx, url, "", n, pw)
		pw.Close()
		exited <- err
	}()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("waiting for %s: the program ended: %v", what, <-exited)
			}
			return l
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
		return ""
	}
	for l := next("ready"); l != fmt.Sprintf("ready: %d instances", n); l = next("ready") {
		if !strings.Contains(l, "resync") {
			t.Fatalf("before ready: unexpected line %q", l)
		}
	}

	if _, err := conn.Exec(ctx, "INSERT INTO public.orders VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for len(got) < n {
		l := next("the insert at every instance")
		if strings.Contains(l, "resync") {
			continue // a leader's LISTEN is announced to followers in order
		}
		got[l]++
	}
	for i := 1; i <= n; i++ {
		want := fmt.Sprintf("instance %d: INSERT public.orders id=42", i)
		if got[want] != 1 {
			t.Errorf("%q seen %d times; all lines: %v", want, got[want], got)
		}
	}

	stop()
	if err := <-exited; !errors.Is(err, context.Canceled) {
		t.Fatalf("run ended with %v, want context.Canceled", err)
	}
}
