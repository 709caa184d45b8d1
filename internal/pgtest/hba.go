package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// reloadPoll is how often Reload looks for the new configuration.
const reloadPoll = 10 * time.Millisecond

// Reload makes the server re-read its configuration files
// (pg_reload_conf(), a SIGHUP to the postmaster) and returns once new
// sessions run with them: the postmaster applies a reload between
// accepting connections, so a session whose pg_conf_load_time() is later
// than before was started with the new pg_hba.conf, settings and TLS
// files. ctx bounds the wait. Servers made by External return ErrExternal.
func (s *Server) Reload(ctx context.Context) error {
	if s.external != nil {
		return ErrExternal
	}
	var before time.Time
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		// Two statements: this session may itself take the reload before
		// a later expression is evaluated.
		if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&before); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, "SELECT pg_reload_conf()")
		return err
	})
	if err != nil {
		return fmt.Errorf("pgtest: reload: %w", err)
	}
	for {
		var loaded time.Time
		err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&loaded)
		})
		if err != nil {
			return fmt.Errorf("pgtest: reload: %w", err)
		}
		if loaded.After(before) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: reload: the server did not reload: %w", ctx.Err())
		case <-time.After(reloadPoll):
		}
	}
}

// PrependHBA puts lines at the top of the server's pg_hba.conf, where they
// win over pgtest's trust lines, and reloads the configuration. A line
// such as "host all alice 127.0.0.1/32 scram-sha-256" makes a role
// authenticate with its password. ctx bounds the reload. Servers made by
// External return ErrExternal.
func (s *Server) PrependHBA(ctx context.Context, lines ...string) error {
	if s.external != nil {
		return ErrExternal
	}
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("pgtest: PrependHBA: a line holds a line break: %q", l)
		}
	}
	path := filepath.Join(s.dataDir, "pg_hba.conf")
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	text := "# Added by pgtest.\n" + strings.Join(lines, "\n") + "\n" + string(old)
	if err := s.writeOwned("pg_hba.conf", []byte(text), 0o600); err != nil {
		return err
	}
	return s.Reload(ctx)
}
