package trigger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// trigFixture is a fresh database with a writing and a listening connection.
type trigFixture struct {
	url    string
	db     *pgx.Conn // writes and DDL
	listen *pgx.Conn // LISTENs; only used from the test goroutine
}

func setupTriggers(t *testing.T) *trigFixture {
	t.Helper()
	url := pgtest.NewDB(t, pg)
	f := &trigFixture{url: url, db: connect(t, url), listen: connect(t, url)}
	f.listenOn(t, trigger.DefaultChannel)
	return f
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func (f *trigFixture) listenOn(t *testing.T, channel string) {
	t.Helper()
	if _, err := f.listen.Exec(t.Context(), "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
}

// exec runs each statement on the writing connection, failing the test on error.
func (f *trigFixture) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := f.db.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func (f *trigFixture) ensure(t *testing.T, schema, table string, opts ...trigger.Option) {
	t.Helper()
	if err := trigger.Ensure(t.Context(), f.db, schema, table, opts...); err != nil {
		t.Fatalf("Ensure(%q, %q): %v", schema, table, err)
	}
}

// expect waits for exactly these payloads, in order, then checks that
// nothing else arrives shortly after.
func (f *trigFixture) expect(t *testing.T, want ...string) {
	t.Helper()
	got := f.collect(t, len(want), 5*time.Second)
	got = append(got, f.collect(t, -1, 300*time.Millisecond)...)
	if len(got) != len(want) {
		t.Fatalf("notifications:\n got  %q\n want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("notifications:\n got  %q\n want %q", got, want)
		}
	}
}

// collect gathers up to n payloads (n < 0: all) until the deadline.
func (f *trigFixture) collect(t *testing.T, n int, wait time.Duration) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(wait)
	for n < 0 || len(got) < n {
		ctx, cancel := context.WithDeadline(t.Context(), deadline)
		msg, err := f.listen.WaitForNotification(ctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
				return got
			}
			t.Fatal(err)
		}
		got = append(got, msg.Payload)
	}
	return got
}

// triggerNames lists the triggers either side installed on schema.table:
// PhoenixKit's prefix or this package's helper prefix.
func (f *trigFixture) triggerNames(t *testing.T, schema, table string) []string {
	t.Helper()
	rows, err := f.db.Query(t.Context(), `SELECT t.tgname::text FROM pg_trigger t
		JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND NOT t.tgisinternal
		  AND (starts_with(t.tgname, 'phoenix_kit_db_change_') OR starts_with(t.tgname, 'phoenixkitdb_'))
		ORDER BY 1`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func qt(schema, table string) string { return pgx.Identifier{schema, table}.Sanitize() }
