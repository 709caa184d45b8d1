package listener_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/thejerf/suture/v4"
)

// A role that authenticates with SCRAM on a private server, to see what
// the log says about wrong passwords and whether a password reaches it.
func TestLogsKeepTheirTextAndNeverThePassword(t *testing.T) {
	t.Parallel() // a role of its own; mostly waits on failed connection attempts
	const (
		role     = "pkdb_pw"
		password = "Right-Pw-7f3a" // the role's password
		wrong    = "Wrong-Pw-91c2"
	)
	srv := passwordRole(t, role, password)
	url := func(pw string) string {
		return fmt.Sprintf("postgres://%s:%s@%s:%d/postgres?sslmode=disable", role, pw, srv.Host(), srv.Port())
	}

	// The password "user": a substring redaction turned "user=" into
	// "xxxxx=" and so both mangled the line and told the password.
	short := setup(t, options{url: url("user"), cfg: fastRetry})
	eventually(t, 10*time.Second, "failed attempts", func() bool { return short.logs.Count("connect failed") >= 2 })
	logs := short.logs.String()
	for _, want := range []string{"user=" + role, "password authentication failed for user"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log lost %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "xxxxx") {
		t.Fatalf("the log was redacted by substring:\n%s", logs)
	}

	// Wrong and right passwords never appear, through failures,
	// a connection and a reconnect.
	bad := setup(t, options{url: url(wrong), cfg: fastRetry})
	eventually(t, 10*time.Second, "failed attempts", func() bool { return bad.logs.Count("connect failed") >= 2 })
	good := setup(t, options{url: url(password), cfg: fastRetry})
	expectResync(t, good.mb, 10*time.Second)
	killListener(t, srv, good.app)
	expectResync(t, good.mb, 10*time.Second)
	if err := good.stop(); err != context.Canceled {
		t.Fatalf("Serve = %v", err)
	}
	for _, b := range []*bundle{short, bad, good} {
		logs := b.logs.String()
		for _, pw := range []string{password, wrong} {
			if strings.Contains(logs, pw) {
				t.Fatalf("password %q in the log:\n%s", pw, logs)
			}
		}
	}
}

// A Connect func's *pgconn.ParseConfigError is logged and returned
// without the connection string: pgx masks passwords on a best-effort
// basis, and this string (spaces around "=") defeats it. New does not
// quote it either.
func TestUnparsableStringsAreNeverQuoted(t *testing.T) {
	const bad = "host=127.0.0.1 password = s3cret port=notaport"
	_, err := listener.New(listener.Config{ConnString: bad, PubSub: setup(t, options{noServe: true}).ps})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("New = %v", err)
	}
	b := setup(t, options{noServe: true, cfg: listener.Config{Connect: func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.Connect(ctx, bad)
	}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = b.l.Serve(ctx)
	if !errors.Is(err, suture.ErrDoNotRestart) || !errors.Is(err, listener.ErrInvalidConfig) {
		t.Fatalf("Serve = %v, want ErrInvalidConfig and ErrDoNotRestart", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(b.logs.String(), "s3cret") {
		t.Fatalf("Serve = %v; log:\n%s", err, b.logs.String())
	}
}
