package shape_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/internal/shapetest"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// schema is every test's tables: items (the shapes' table), marks (a
// marker table to find a quiet point) and other (not published). In
// NOTIFY mode triggers send PhoenixKit's payloads.
const schema = shapetest.Tables + `
CREATE TABLE other (id bigint PRIMARY KEY, v text);
CREATE PUBLICATION phoenixkitdb FOR TABLE items, marks;
CREATE FUNCTION notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		PERFORM pg_notify('phoenix_kit_db_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':TRUNCATE:');
		RETURN NULL;
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('phoenix_kit_db_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':DELETE:' || OLD.id);
		RETURN OLD;
	END IF;
	PERFORM pg_notify('phoenix_kit_db_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || ':' || TG_OP || ':' || NEW.id);
	RETURN NEW;
END $$;
CREATE TRIGGER items_rows AFTER INSERT OR UPDATE OR DELETE ON items FOR EACH ROW EXECUTE FUNCTION notify_change();
CREATE TRIGGER items_truncate AFTER TRUNCATE ON items FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
CREATE TRIGGER marks_rows AFTER INSERT OR UPDATE OR DELETE ON marks FOR EACH ROW EXECUTE FUNCTION notify_change();
`

// bundle is what setup returns.
type bundle struct {
	url  string
	pool *pgxpool.Pool
	ps   *pubsub.PubSub
	m    *shape.Manager
	src  *replication.Source // WAL mode
	l    *listener.Listener  // NOTIFY mode
	slot string
}

type options struct {
	notify bool
	cfg    shape.Config
	srv    *pgtest.Server // default: the package's shared server
}

// setup makes a database with the schema, the change source of the mode
// and a Manager, all running until the test ends.
func setup(t *testing.T, o options) *bundle {
	t.Helper()
	srv := o.srv
	if srv == nil {
		srv = pgtest.Require(t, pg)
	}
	b := &bundle{url: pgtest.NewDB(t, srv)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, schema); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pcfg, err := pgxpool.ParseConfig(b.url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 4 // pgxpool's default on two cores: snapshots and fetches wait for connections
	b.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	b.ps = pubsub.New(logger)
	var source interface {
		Serve(context.Context) error
		WaitReady(context.Context) error
	}
	if o.notify {
		b.l, err = listener.New(listener.Config{ConnString: b.url, PubSub: b.ps, Logger: logger, MaxBackoff: time.Second})
		source = b.l
	} else {
		var s [6]byte
		_, _ = rand.Read(s[:])
		b.slot = "t_" + hex.EncodeToString(s[:])
		b.src, err = replication.New(replication.Config{ConnString: b.url, Slot: b.slot, PubSub: b.ps, Logger: logger, MaxBackoff: time.Second})
		source = b.src
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.cfg
	cfg.Pool, cfg.Changes, cfg.Notify, cfg.Logger = b.pool, b.ps, o.notify, logger
	b.m, err = shape.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, svc := range []interface{ Serve(context.Context) error }{b.ps, source, b.m} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = svc.Serve(runCtx)
		}()
	}
	t.Cleanup(func() {
		stop()
		wg.Wait()
		b.pool.Close()
		if b.slot != "" {
			dropSlot(t, b.url, b.slot)
		}
	})
	if err := source.WaitReady(ctx); err != nil {
		t.Fatalf("source not ready: %v", err)
	}
	return b
}

// dropSlot drops the test's slot so that its database can be dropped.
func dropSlot(t *testing.T, url, slot string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("dropSlot: %v", err)
		return
	}
	defer conn.Close(context.Background())
	for {
		_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot)
		if err == nil || ctx.Err() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // the walsender is still exiting
	}
}

// exec runs statements on the pool.
func (b *bundle) exec(t *testing.T, sqls ...string) {
	t.Helper()
	for _, s := range sqls {
		if _, err := b.pool.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
