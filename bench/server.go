package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

// env is the server and database every section measures against.
type env struct {
	srv     *pgtest.Server
	owned   bool     // started here: restart and log timestamps are available
	dbName  string   // created for this run, dropped at the end
	extra   []string // more databases created by extraDB
	url     string   // the database's URL
	version string   // server_version
}

// openEnv starts a throwaway server, or wraps the one at databaseURL, and
// creates a fresh database on it.
func openEnv(ctx context.Context, databaseURL string) (*env, error) {
	return openEnvWith(ctx, databaseURL, nil)
}

// openEnvWith is openEnv with more server settings for a throwaway server
// (ignored for an external one).
func openEnvWith(ctx context.Context, databaseURL string, settings map[string]string) (*env, error) {
	e := &env{}
	var err error
	if databaseURL != "" {
		e.srv, err = pgtest.External(databaseURL)
	} else {
		// Millisecond timestamps in UTC: recovery.go reads the time of
		// "ready to accept connections" from the server log.
		all := map[string]string{
			"log_line_prefix": "%m [%p] ",
			"log_timezone":    "UTC",
		}
		for k, v := range settings {
			all[k] = v
		}
		e.srv, err = pgtest.Start(ctx, pgtest.Options{Settings: all})
		e.owned = err == nil
	}
	if err != nil {
		return nil, err
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	e.dbName = "phoenixkitdb_bench_" + hex.EncodeToString(rnd[:])
	if e.url, err = e.srv.CreateDatabase(ctx, e.dbName); err != nil {
		e.close()
		return nil, err
	}
	conn, err := pgx.Connect(ctx, e.url)
	if err != nil {
		e.close()
		return nil, err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&e.version); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// extraDB creates another database for this run and returns its URL.
// NOTIFY is per database, and PostgreSQL signals a listener in another
// database only when it lags far behind: contenders in databases of their
// own can run side by side without waking each other.
func (e *env) extraDB(ctx context.Context, suffix string) (string, error) {
	name := e.dbName + "_" + suffix
	u, err := e.srv.CreateDatabase(ctx, name)
	if err == nil {
		e.extra = append(e.extra, name)
	}
	return u, err
}

// close drops the database and stops an owned server.
func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range append(e.extra, e.dbName) {
		if name != "" {
			_ = e.srv.DropDatabase(ctx, name)
		}
	}
	_ = e.srv.Close()
}

// urlWithApp returns the database URL with application_name set, so that a
// contender's backend can be found in pg_stat_activity.
func (e *env) urlWithApp(app string) string { return withApp(e.url, app) }

// withApp returns dbURL with application_name set to app.
func withApp(dbURL, app string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

// backendOf waits until exactly one session named app is connected and
// returns its pid.
func (e *env) backendOf(ctx context.Context, app string) (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, err := e.srv.Backends(ctx, app)
		if err != nil {
			return 0, err
		}
		if len(pids) == 1 {
			return pids[0], nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d backends named %q", len(pids), app)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readyAt returns the time of the last "ready to accept connections" line in
// the server log written after since.
func (e *env) readyAt(since time.Time) (time.Time, error) {
	if !e.owned {
		return time.Time{}, errors.New("external server: no log")
	}
	var found time.Time
	for _, line := range strings.Split(e.srv.LogTail(200), "\n") {
		if !strings.Contains(line, "ready to accept connections") || len(line) < 27 {
			continue
		}
		t, err := time.Parse("2006-01-02 15:04:05.000 MST", line[:27])
		if err == nil && t.After(since.Add(-time.Millisecond)) {
			found = t
		}
	}
	if found.IsZero() {
		return found, errors.New(`no "ready to accept connections" in the server log`)
	}
	return found, nil
}
