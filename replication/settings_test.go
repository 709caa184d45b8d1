package replication_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// pinned are the settings the Source promises to print values under
// (docs/replication.md), for the test's oracle sessions.
var pinned = map[string]string{
	"DateStyle":          "ISO, YMD",
	"IntervalStyle":      "postgres",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
	"client_encoding":    "UTF8",
	"TimeZone":           "UTC",
}

// pinnedConn connects to url with the pinned settings, whatever the
// database's and role's defaults.
func pinnedConn(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range pinned {
		cfg.RuntimeParams[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestPinnedSettingsBeatHostileDefaults: with database and role defaults
// that change how values print (ALTER DATABASE / ALTER ROLE ... SET), and
// the same settings in the connection string, each value's Text is what
// a session with the pinned settings prints.
func TestPinnedSettingsBeatHostileDefaults(t *testing.T) {
	srv := pgtest.Require(t, pg)
	u := pgtest.NewDB(t, srv)
	conn := connect(t, u)
	role := newSlotName() // a fresh lower-case name
	exec(t, conn, `CREATE ROLE `+role+` LOGIN REPLICATION`)
	t.Cleanup(func() {
		// After the Source and the role's connections stopped (cleanups
		// run last-in first-out); DROP ROLE drops its settings.
		_, _ = connect(t, srv.URL("postgres")).Exec(context.Background(), `DROP ROLE IF EXISTS `+role)
	})
	dbName := pgx.Identifier{currentDatabase(t, conn)}.Sanitize()
	exec(t, conn,
		`ALTER DATABASE `+dbName+` SET extra_float_digits = 0`,
		`ALTER DATABASE `+dbName+` SET DateStyle = 'SQL, DMY'`,
		`ALTER DATABASE `+dbName+` SET IntervalStyle = iso_8601`,
		`ALTER DATABASE `+dbName+` SET bytea_output = escape`,
		`ALTER DATABASE `+dbName+` SET TimeZone = 'Asia/Kolkata'`,
		`ALTER DATABASE `+dbName+` SET client_encoding = 'LATIN1'`,
		// The role's settings win over the database's.
		`ALTER ROLE `+role+` SET extra_float_digits = -5`,
		`ALTER ROLE `+role+` SET DateStyle = 'German'`,
		`ALTER ROLE `+role+` SET IntervalStyle = sql_standard`,
		`ALTER ROLE `+role+` SET TimeZone = 'America/St_Johns'`,
		`CREATE TYPE mood AS ENUM ('sad', 'ok')`,
		`CREATE TABLE vals (id int PRIMARY KEY, f8 float8, f4 float4, d date, ts timestamp, tz timestamptz, t time, ttz timetz,
			iv interval, by bytea, tx text, nu numeric, ar float8[], ra tstzrange, js jsonb, m mood)`,
		`GRANT SELECT ON vals TO `+role,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE vals`)
	ru, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	ru.User = url.User(role)
	q := ru.Query()
	// Hostile settings in the connection string too.
	q.Set("DateStyle", "Postgres, MDY")
	q.Set("options", "-c extra_float_digits=0 -c bytea_output=escape")
	ru.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx takes + literally
	b := setup(t, options{url: u, noSchema: true, cfg: replication.Config{ConnString: ru.String()}})
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)

	writer := pinnedConn(t, u)
	exec(t, writer,
		`INSERT INTO vals VALUES (1, 0.1::float8 + 0.2::float8, 0.1::float4 * 3, '2024-02-29', '2024-02-29 13:34:56.5', '2024-02-29 13:34:56.5+01',
			'13:34:56.123456', '13:34:56+05:30', '1 year 2 mons 3 days 04:05:06.7 ago', '\x00ff27e9', 'é ü ß', 1.5,
			'{0.30000000000000004,1e-300,-0}', '[2024-01-01 00:00+00,2024-06-01 00:00+00)', '{"a": 0.30000000000000004}', 'ok')`,
		`INSERT INTO vals VALUES (2, 1e100, 'NaN', '0044-03-15 BC', 'infinity', '-infinity', '00:00', '23:59:59-12', '-1 mons +2 days -00:00:01', '', '', 'NaN',
			'{}', 'empty', 'null', 'sad')`)
	oracle := pinnedConn(t, u)
	for range 2 {
		ev := next(t, b.mb, 10*time.Second)
		checkAgainstServer(t, oracle, "vals", ev.New)
	}
	// The hostile sessions do print differently: the test means something.
	hostile := connect(t, ru.String())
	var f8, d, iv, by string
	if err := hostile.QueryRow(context.Background(), `SELECT format('%s', f8), format('%s', d), format('%s', iv), format('%s', by) FROM vals WHERE id = 1`).
		Scan(&f8, &d, &iv, &by); err != nil {
		t.Fatal(err)
	}
	if f8 == "0.30000000000000004" || d == "2024-02-29" || iv == "-1 years -2 mons -3 days -04:05:06.7" || by == `\x00ff27e9` {
		t.Fatalf("the hostile session prints like the pinned one: %q %q %q %q", f8, d, iv, by)
	}
}

// currentDatabase returns the name of conn's database.
func currentDatabase(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var name string
	if err := conn.QueryRow(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestLatin1Database: in a LATIN1 database, schema and table names and
// texts arrive as valid UTF-8, and a subscription by the UTF-8 table name
// matches.
func TestLatin1Database(t *testing.T) {
	srv := pgtest.Require(t, pg)
	admin := connect(t, srv.URL("postgres"))
	name := "latin1_" + newSlotName()
	exec(t, admin, `CREATE DATABASE `+name+` ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.DropDatabase(ctx, name); err != nil {
			t.Error(err)
		}
	})
	u := srv.URL(name)
	conn := pinnedConn(t, u) // client_encoding UTF8: the server converts
	exec(t, conn,
		`CREATE SCHEMA "schéma"`,
		`CREATE TABLE "tablé" (id int PRIMARY KEY, "nâme" text)`,
		`CREATE TABLE "schéma"."tablé" (id int PRIMARY KEY, t text)`,
		`CREATE PUBLICATION phoenixkitdb FOR TABLE "tablé", "schéma"."tablé"`)
	b := setup(t, options{url: u, noSchema: true, noServe: true})
	mb := pubsub.NewMailbox(16)
	t.Cleanup(mb.Close)
	if err := b.src.Subscribe(mb, "public", "tablé"); err != nil {
		t.Fatal(err)
	}
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	expectResync(t, mb, pubsub.ReasonStart, 10*time.Second)
	exec(t, conn, `INSERT INTO "tablé" VALUES (1, 'é ÿ ©')`, `INSERT INTO "schéma"."tablé" VALUES (2, 'à')`)

	ev := next(t, mb, 10*time.Second)
	if ev.Table != "tablé" || ev.Schema != "public" || textOf(t, ev.New, "nâme") != "é ÿ ©" {
		t.Fatalf("got %v: %s", ev, rowString(ev.New))
	}
	checkAgainstServer(t, conn, "tablé", ev.New)
	for _, want := range []struct{ schema, table, row string }{{"public", "tablé", "id=1 nâme=é ÿ ©"}, {"schéma", "tablé", "id=2 t=à"}} {
		ev := next(t, b.mb, 10*time.Second)
		got := rowString(ev.New)
		if ev.Schema != want.schema || ev.Table != want.table || got != want.row || !utf8.ValidString(ev.Schema+ev.Table+got) {
			t.Fatalf("got %v %q, want %s.%s %q", ev, got, want.schema, want.table, want.row)
		}
	}
}
