package listener_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
)

// tlsEnv is a private server with TLS on, certified by a CA generated for
// the test, and a database on it.
type tlsEnv struct {
	srv    *pgtest.Server
	plain  string // the database without TLS, for the test's own sessions
	bundle string // the sslrootcert file, holding the CA's certificate
}

// newTLSEnv starts the server and writes ca's certificate to the bundle.
func newTLSEnv(t *testing.T) (*tlsEnv, *pgtest.CA) {
	t.Helper()
	srv := ownServer(t)
	ca := newCA(t, "phoenixkitdb test CA 1")
	setServerCert(t, srv, ca)
	e := &tlsEnv{srv: srv, plain: pgtest.NewDB(t, srv), bundle: filepath.Join(t.TempDir(), "root.crt")}
	writeBundle(t, e.bundle, ca)
	return e, ca
}

func newCA(t *testing.T, name string) *pgtest.CA {
	t.Helper()
	ca, err := pgtest.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// setServerCert gives srv a certificate for 127.0.0.1 and localhost
// signed by ca and waits until new connections get it.
func setServerCert(t *testing.T, srv *pgtest.Server, ca *pgtest.CA) {
	t.Helper()
	cert, key, err := ca.Issue("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.SetTLS(ctx, cert, key); err != nil {
		t.Fatal(err)
	}
}

// writeBundle replaces the file at path with the certificates of cas,
// through a rename so that a reader never sees half a file.
func writeBundle(t *testing.T, path string, cas ...*pgtest.CA) {
	t.Helper()
	var pem []byte
	for _, ca := range cas {
		pem = append(pem, ca.CertPEM...)
	}
	if err := os.WriteFile(path+".tmp", pem, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// verifyFull returns plain with TLS required and the server's certificate
// checked against rootcert, host name included.
func verifyFull(t *testing.T, plain, rootcert string) string {
	t.Helper()
	u, err := url.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("sslmode", "verify-full")
	q.Set("sslrootcert", rootcert)
	u.RawQuery = q.Encode()
	return u.String()
}

// listenerUsesTLS checks in pg_stat_ssl that the Listener's one backend
// came in over TLS.
func listenerUsesTLS(t *testing.T, e *tlsEnv, app string) {
	t.Helper()
	pid := theBackend(t, e.srv, app)
	var ssl bool
	err := connect(t, e.plain).QueryRow(context.Background(), "SELECT ssl FROM pg_stat_ssl WHERE pid = $1", pid).Scan(&ssl)
	if err != nil {
		t.Fatal(err)
	}
	if !ssl {
		t.Fatalf("the Listener's backend %d does not use TLS", pid)
	}
}

// killListener terminates the Listener's backend.
func killListener(t *testing.T, srv *pgtest.Server, app string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.TerminateBackend(ctx, theBackend(t, srv, app)); err != nil {
		t.Fatal(err)
	}
}

var fastRetry = listener.Config{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}

// sslmode=verify-full end to end: connect, deliver, lose the backend,
// reconnect over TLS, deliver again.
func TestTLSVerifyFullSurvivesAKilledBackend(t *testing.T) {
	t.Parallel() // a server of its own; mostly waits on reconnections
	e, _ := newTLSEnv(t)
	b := setup(t, options{url: verifyFull(t, e.plain, e.bundle), cfg: fastRetry})
	expectResync(t, b.mb, 10*time.Second)
	listenerUsesTLS(t, e, b.app)
	writer := connect(t, e.plain)
	notify(t, writer, listener.DefaultChannel, "public.t:INSERT:1")
	expectChange(t, b.mb, "public.t:INSERT:1")

	killListener(t, e.srv, b.app)
	expectResync(t, b.mb, 15*time.Second)
	listenerUsesTLS(t, e, b.app)
	notify(t, writer, listener.DefaultChannel, "public.t:UPDATE:2")
	expectChange(t, b.mb, "public.t:UPDATE:2")
}

// A CA rotation: the bundle gets the new CA, the server a certificate
// signed by it; the running Listener reads the bundle again when it
// reconnects, as a fresh process would.
func TestTLSCARotationReachesTheRunningListener(t *testing.T) {
	t.Parallel() // a server of its own; mostly waits on reconnections
	e, _ := newTLSEnv(t)
	b := setup(t, options{url: verifyFull(t, e.plain, e.bundle), cfg: fastRetry})
	expectResync(t, b.mb, 10*time.Second)
	writer := connect(t, e.plain)
	notify(t, writer, listener.DefaultChannel, "public.t:INSERT:1")
	expectChange(t, b.mb, "public.t:INSERT:1")

	ca2 := newCA(t, "phoenixkitdb test CA 2")
	writeBundle(t, e.bundle, ca2) // the old CA is dropped
	setServerCert(t, e.srv, ca2)
	killListener(t, e.srv, b.app)

	expectResync(t, b.mb, 20*time.Second)
	listenerUsesTLS(t, e, b.app)
	notify(t, writer, listener.DefaultChannel, "public.t:UPDATE:2")
	expectChange(t, b.mb, "public.t:UPDATE:2")
}

// A missing sslrootcert is not a configuration error: New accepts the
// string, Serve logs the real cause and retries, and connects once the
// file appears.
func TestMissingRootCertIsRetriedUntilItAppears(t *testing.T) {
	t.Parallel() // a server of its own; mostly waits on reconnections
	e, ca := newTLSEnv(t)
	missing := filepath.Join(t.TempDir(), "later.crt")
	b := setup(t, options{url: verifyFull(t, e.plain, missing), cfg: fastRetry})
	eventually(t, 10*time.Second, "failed attempts", func() bool { return b.logs.Count("connect failed") >= 3 })
	logs := b.logs.String()
	for _, want := range []string{"unable to read CA file", missing, "no such file or directory"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log does not give the cause (%q):\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "details withheld") || strings.Contains(logs, "will not retry") {
		t.Fatalf("a missing file was reported as an unparsable string:\n%s", logs)
	}
	if !b.l.Running() || b.l.Connected() {
		t.Fatal("the Listener should be running and not connected")
	}
	writeBundle(t, missing, ca)
	expectResync(t, b.mb, 10*time.Second)
	notify(t, connect(t, e.plain), listener.DefaultChannel, "public.t:INSERT:1")
	expectChange(t, b.mb, "public.t:INSERT:1")
}
