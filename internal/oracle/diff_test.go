package oracle_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/internal/oracle"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// The differential tests run the workload against a database while two
// WAL Sources stream it (one per publication: partitions as themselves,
// and through publish_via_partition_root), then compare every event with
// what PostgreSQL's test_decoding plugin decoded from a slot created at
// the same point.

// TestOracle runs under the database's default settings.
func TestOracle(t *testing.T) {
	t.Parallel()
	diff(t, variant{})
}

// TestOracleHostileSettings runs with database defaults that change how
// values print. It needs the WAL source to pin its session's settings
// (issue 19 point 3): without that it fails, value by value.
func TestOracleHostileSettings(t *testing.T) {
	t.Parallel()
	diff(t, variant{settings: [][2]string{
		{"extra_float_digits", "0"},
		{"DateStyle", "SQL, DMY"},
		{"IntervalStyle", "iso_8601"},
		{"bytea_output", "escape"},
		{"TimeZone", "Asia/Kolkata"},
	}})
}

// TestOracleLatin1 runs in a LATIN1 database. It needs the WAL source to
// ask for client_encoding=UTF8 (issue 19 point 3): without that names and
// texts arrive as LATIN1 bytes.
func TestOracleLatin1(t *testing.T) {
	t.Parallel()
	diff(t, variant{latin1: true})
}

type variant struct {
	settings [][2]string // ALTER DATABASE ... SET, before the Sources connect
	latin1   bool
}

func seed(t *testing.T) int64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	return time.Now().UnixNano()
}

func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// database returns a fresh database's URL and name (LATIN1 when asked).
func database(t *testing.T, srv *pgtest.Server, latin1 bool) (url, name string) {
	t.Helper()
	if !latin1 {
		url = pgtest.NewDB(t, srv)
		u, err := neturl.Parse(url)
		if err != nil {
			t.Fatal(err)
		}
		return url, strings.TrimPrefix(u.Path, "/")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name = randomName("t_latin1_")
	admin := connect(t, srv.URL("postgres"))
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.DropDatabase(ctx, name); err != nil {
			t.Error(err)
		}
	})
	return srv.URL(name), name
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	// Go strings are UTF-8; in a LATIN1 database the default would be
	// LATIN1 and "é" would be stored as "Ã©".
	cfg.RuntimeParams["client_encoding"] = "UTF8"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// stream is one Source under test and what it delivered.
type stream struct {
	pub, slot string
	src       *replication.Source
	mb        *pubsub.Mailbox
	logs      *pgtest.LogBuffer
	stop      func() error
}

func startStream(t *testing.T, url, pub string, conn *pgx.Conn) *stream {
	t.Helper()
	ctx := t.Context()
	s := &stream{pub: pub, slot: randomName("src_"), logs: &pgtest.LogBuffer{}}
	if err := oracle.CreateSourceSlot(ctx, conn, s.slot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropSlot(t, url, s.slot) })
	log := slog.New(slog.NewTextHandler(s.logs, nil))
	ps := pubsub.New(log)
	var err error
	s.src, err = replication.New(replication.Config{ConnString: url, Slot: s.slot, Publication: pub, PubSub: ps, Logger: log,
		MaxBackoff: time.Second, Messages: true})
	if err != nil {
		t.Fatal(err)
	}
	s.mb = pubsub.NewMailbox(1 << 20)
	t.Cleanup(s.mb.Close)
	if err := s.src.SubscribeAll(s.mb); err != nil {
		t.Fatal(err)
	}
	for _, p := range oracle.MessagePrefixes() {
		if err := s.src.SubscribeMessages(s.mb, p); err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.src.Serve(sctx) }()
	done := false
	s.stop = func() error {
		if done {
			return nil
		}
		done = true
		cancel()
		select {
		case err := <-errc:
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case <-time.After(10 * time.Second):
			return fmt.Errorf("Serve did not return within 10 s")
		}
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func dropSlot(t *testing.T, url, slot string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("dropSlot: %v", err)
		return
	}
	defer conn.Close(context.Background())
	// The walsender may still be going away.
	for {
		err := oracle.DropSlot(ctx, conn, slot)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Errorf("dropSlot: %v", err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func diff(t *testing.T, v variant) {
	srv := pgtest.Require(t, pg)
	seed := seed(t)
	t.Logf("seed %d (rerun with -oracle.seed=%d)", seed, seed)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	url, name := database(t, srv, v.latin1)
	admin := connect(t, url)
	for _, s := range v.settings {
		// Names and values are the test's constants; quote_literal is
		// for the value all the same.
		var lit string
		if err := admin.QueryRow(ctx, `SELECT quote_literal($1::text)`, s[1]).Scan(&lit); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` SET `+s[0]+` = `+lit); err != nil {
			t.Fatal(err)
		}
	}
	conn := connect(t, url) // after ALTER DATABASE: its defaults apply
	w := oracle.NewWorkload(oracle.WorkloadOptions{Seed: seed, Latin1: v.latin1})
	for _, stmt := range w.Schema() {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("schema: %s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { rollbackPrepared(t, url) })
	oracleSlot := randomName("oracle_")
	if err := oracle.CreateSlot(ctx, conn, oracleSlot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropSlot(t, url, oracleSlot) })
	streams := []*stream{startStream(t, url, oracle.PubLeaf, conn), startStream(t, url, oracle.PubRoot, conn)}

	start := time.Now()
	if err := w.Run(ctx, conn); err != nil {
		t.Fatal(err)
	}
	fence, err := w.Fence(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("workload: %v in %v", statsLine(w.Stats), time.Since(start).Round(time.Millisecond))
	events := make([][]pubsub.Event, len(streams))
	for i, s := range streams {
		events[i], err = oracle.Collect(ctx, s.mb, fence)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.pub, err, s.logs.String())
		}
		if err := s.stop(); err != nil {
			t.Errorf("%s: Serve: %v", s.pub, err)
		}
		if d := s.mb.Dropped(); d != 0 {
			t.Fatalf("%s: the mailbox dropped %d events", s.pub, d)
		}
	}
	recs, err := oracle.ReadSlot(ctx, connect(t, url), oracleSlot)
	if err != nil {
		t.Fatal(err)
	}
	if v.latin1 {
		// The oracle must have seen the non-ASCII table: else the
		// variant proves nothing.
		var enc string
		if err := conn.QueryRow(ctx, `SHOW server_encoding`).Scan(&enc); err != nil || enc != "LATIN1" {
			t.Fatalf("server_encoding %q, %v", enc, err)
		}
		found := false
		for _, r := range recs {
			found = found || r.Change.Rel.Table == `Tablé "q"`
		}
		if !found {
			t.Fatal(`no change of "Tablé ""q""" in the oracle's output`)
		}
	}
	for i, s := range streams {
		rep, err := oracle.Check(ctx, conn, recs, events[i], s.pub, oracle.Options{Seed: seed, Latin1: v.latin1, Messages: true})
		if err != nil {
			t.Fatal(err)
		}
		// The workload must have produced what it is for.
		if rep.Expected < 300 || rep.Columns["new unchanged-toast"] == 0 || rep.Columns["old present"] == 0 || rep.Columns["new null"] == 0 {
			t.Errorf("%s: too little compared, the workload or the filter is broken: %d changes, columns %v", s.pub, rep.Expected, rep.Columns)
		}
		if !rep.OK() {
			t.Errorf("%s", rep)
			continue
		}
		t.Logf("%s", rep)
	}
}

func statsLine(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// rollbackPrepared rolls back what a failed workload left prepared: a
// prepared transaction would keep the database from being dropped.
func rollbackPrepared(t *testing.T, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("rollbackPrepared: %v", err)
		return
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT gid FROM pg_prepared_xacts WHERE database = current_database()`)
	if err != nil {
		t.Errorf("rollbackPrepared: %v", err)
		return
	}
	gids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Errorf("rollbackPrepared: %v", err)
		return
	}
	for _, gid := range gids {
		var lit string
		err := conn.QueryRow(ctx, `SELECT quote_literal($1::text)`, gid).Scan(&lit)
		if err == nil {
			_, err = conn.Exec(ctx, `ROLLBACK PREPARED `+lit)
		}
		if err != nil {
			t.Errorf("rollbackPrepared: %v", err)
		}
	}
}
