package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// adminApplicationName is the application_name of pgtest's own sessions.
const adminApplicationName = "pgtest"

// admin opens a connection to the "postgres" database; the caller closes it.
func (s *Server) admin(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.URL("postgres"))
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	cfg.RuntimeParams["application_name"] = adminApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgtest: connecting to %s: %w", s.URL("postgres"), err)
	}
	return conn, nil
}

// withAdmin runs fn on a fresh admin connection and closes it.
func (s *Server) withAdmin(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.admin(ctx)
	if err != nil {
		return err
	}
	err = fn(conn)
	return errors.Join(err, conn.Close(context.WithoutCancel(ctx)))
}

// CreateDatabase creates database name (quoted as an identifier, so case
// and any character are kept) and returns its URL. ctx bounds the work.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", errors.New("pgtest: empty database name")
	}
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("pgtest: creating database %q: %w", name, err)
	}
	return s.URL(name), nil
}

// DropDatabase drops database name if it exists, terminating its sessions
// (DROP DATABASE IF EXISTS ... WITH (FORCE)). FORCE does not end a
// walsender streaming from one of the database's replication slots, and
// one still runs for a moment after its client has gone: DropDatabase
// ends those and tries again. ctx bounds the work.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		for {
			_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "55006" {
				return err
			}
			// "used by an active logical replication slot".
			_, terr := conn.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
				WHERE database = $1 AND active_pid IS NOT NULL`, name)
			if terr != nil {
				return errors.Join(err, terr)
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(10 * time.Millisecond): // the terminated walsender exits
			}
		}
	})
	if err != nil {
		return fmt.Errorf("pgtest: dropping database %q: %w", name, err)
	}
	return nil
}

// Backends returns, in ascending order, the pids of the sessions in
// pg_stat_activity whose application_name is applicationName, excluding the
// session running the query. ctx bounds the work.
func (s *Server) Backends(ctx context.Context, applicationName string) ([]int, error) {
	var pids []int
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx,
			"SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() ORDER BY pid",
			applicationName)
		if err != nil {
			return err
		}
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgtest: listing backends: %w", err)
	}
	return pids, nil
}

// TerminateBackend asks the backend with that pid to exit
// (pg_terminate_backend) without waiting for it to be gone. It returns an
// error when no such backend exists. ctx bounds the work.
func (s *Server) TerminateBackend(ctx context.Context, pid int) error {
	var ok bool
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok)
	})
	if err != nil {
		return fmt.Errorf("pgtest: terminating backend %d: %w", pid, err)
	}
	if !ok {
		return fmt.Errorf("pgtest: terminating backend %d: no such backend", pid)
	}
	return nil
}

// WithApplicationName returns the URL connection string rawURL with its
// application_name set to app, so that a test can find (and terminate)
// exactly the backends of one client through Backends. It panics on a
// string that is not a URL: test inputs come from URL.
func WithApplicationName(rawURL, app string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(fmt.Sprintf("pgtest: WithApplicationName: %v", err))
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}
