package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// verifyFullURL is srv's postgres database with the server's certificate
// checked against the CA certificates in the file rootcert.
func verifyFullURL(srv *pgtest.Server, rootcert string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=verify-full&sslrootcert=%s", srv.Host(), srv.Port(), rootcert)
}

// SetTLS turns TLS on and rotates the certificate: clients that trust the
// issuing CA connect with verify-full, others are refused.
func TestSetTLSAndRotate(t *testing.T) {
	s := ownServer(t, pgtest.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	trusts := func(name string, ca *pgtest.CA) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, ca.CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		return verifyFullURL(s, path)
	}
	cas := make([]*pgtest.CA, 2)
	urls := make([]string, 2)
	for i := range cas {
		ca, err := pgtest.NewCA(fmt.Sprintf("pgtest CA %d", i))
		if err != nil {
			t.Fatal(err)
		}
		cas[i], urls[i] = ca, trusts(fmt.Sprintf("ca%d.crt", i), ca)
	}
	for i, ca := range cas {
		cert, key, err := ca.Issue("127.0.0.1", "localhost")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetTLS(ctx, cert, key); err != nil {
			t.Fatal(err)
		}
		conn := connect(t, urls[i])
		var ssl bool
		if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
			t.Fatalf("CA %d: ssl = %v, %v", i, ssl, err)
		}
		if c, err := pgx.Connect(ctx, urls[1-i]); err == nil {
			_ = c.Close(ctx)
			t.Fatalf("CA %d: a client trusting only the other CA connected", i)
		}
	}
	connect(t, s.URL("postgres")) // without TLS still works
}

// PrependHBA's lines win over the trust lines once it returns.
func TestPrependHBA(t *testing.T) {
	s := ownServer(t, pgtest.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := connect(t, s.URL("postgres")).Exec(ctx, "CREATE ROLE pw_role LOGIN PASSWORD 'right'"); err != nil {
		t.Fatal(err)
	}
	url := func(pw string) string {
		return fmt.Sprintf("postgres://pw_role:%s@%s:%d/postgres?sslmode=disable", pw, s.Host(), s.Port())
	}
	connect(t, url("wrong")) // trust: any password
	if err := s.PrependHBA(ctx, "host all pw_role 127.0.0.1/32 scram-sha-256"); err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if c, err := pgx.Connect(ctx, url("wrong")); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		if c != nil {
			_ = c.Close(ctx)
		}
		t.Fatalf("wrong password after PrependHBA: %v, want SQLSTATE 28P01", err)
	}
	connect(t, url("right"))
}
