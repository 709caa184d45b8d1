package listener_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/listener"
)

// A database whose sessions are ended after 1.5 s of idleness
// (idle_session_timeout), with statement and idle-in-transaction timeouts
// too, does not make the Listener flap: its session turns them off. The
// ProbeInterval is long enough that probing alone would not keep it alive.
// PostgreSQL 13 has no idle_session_timeout: there the other two are
// tested alone.
func TestIdleSessionTimeoutDoesNotEndTheSession(t *testing.T) {
	t.Parallel() // a database of its own; six quiet seconds of waiting
	settings := map[string]string{
		"idle_session_timeout":                "1.5s",
		"statement_timeout":                   "100ms",
		"idle_in_transaction_session_timeout": "1s",
	}
	var version int
	if err := connectTest(t, pgtest.NewDB(t, pg)).QueryRow(context.Background(),
		"SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 140000 {
		delete(settings, "idle_session_timeout")
	}
	url := dbWithSettings(t, settings)
	b := setup(t, options{url: url, cfg: listener.Config{ProbeInterval: 5 * time.Second}})
	expectResync(t, b.mb, 10*time.Second)

	// Six quiet seconds: with the setting in force the server ends an
	// idle session after 1.5 s, long before the first probe (2.5 s).
	quiet := time.Now().Add(6 * time.Second)
	for time.Now().Before(quiet) {
		select {
		case ev := <-b.mb.C():
			t.Fatalf("unexpected %v during the quiet period; stats %+v", ev, b.l.Stats())
		case <-time.After(time.Until(quiet)):
		}
	}
	sender := connectTest(t, url)
	if _, err := sender.Exec(context.Background(), "SET statement_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	notify(t, sender, listener.DefaultChannel, "public.t:INSERT:after-quiet")
	expectChange(t, b.mb, "public.t:INSERT:after-quiet")
	if s := b.l.Stats(); s.Reconnects != 0 || s.Resyncs != 1 {
		t.Fatalf("Reconnects = %d, Resyncs = %d; want 0 and 1; log:\n%s", s.Reconnects, s.Resyncs, b.logs.String())
	}
}

// dbWithSettings returns a fresh database with ALTER DATABASE ... SET for
// each setting, which every new session of it then gets.
func dbWithSettings(t *testing.T, settings map[string]string) string {
	t.Helper()
	dbURL := pgtest.NewDB(t, pg)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := connectTest(t, dbURL)
	for k, v := range settings {
		sql := "ALTER DATABASE " + pgx.Identifier{name}.Sanitize() + " SET " + k + " = '" + v + "'"
		if _, err := admin.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	return dbURL
}
