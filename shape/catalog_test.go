package shape_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/shape"
)

// TestCatalog checks what Subscribe reads from the catalog, in one round
// trip for tables of built-in and enum types: the key PostgreSQL
// identifies rows by (primary key, replica identity index, "id" with
// REPLICA IDENTITY FULL), the refusals (REPLICA IDENTITY NOTHING, no key,
// not published), and the built-in type a domain, an enum and arrays of
// them decode as.
func TestCatalog(t *testing.T) {
	b := setup(t, options{})
	b.exec(t, `CREATE TYPE mood AS ENUM ('sad', 'ok');
		CREATE DOMAIN posint AS int CHECK (VALUE > 0);
		CREATE TABLE k_pk (c text, b int, a int, PRIMARY KEY (a, b));
		CREATE TABLE k_ri (id int PRIMARY KEY, u int NOT NULL UNIQUE);
		ALTER TABLE k_ri REPLICA IDENTITY USING INDEX k_ri_u_key;
		CREATE TABLE k_full (v text, id int);
		ALTER TABLE k_full REPLICA IDENTITY FULL;
		CREATE TABLE k_nothing (id int PRIMARY KEY);
		ALTER TABLE k_nothing REPLICA IDENTITY NOTHING;
		CREATE TABLE k_none (id int);
		CREATE TABLE k_types (id int PRIMARY KEY, e mood, es mood[], d posint, ds posint[]);
		ALTER PUBLICATION phoenixkitdb ADD TABLE k_pk, k_ri, k_full, k_nothing, k_none, k_types`)
	// A Manager of its own on a pool that counts the catalog's round
	// trips.
	tr := &catalogTracer{}
	pcfg, err := pgxpool.ParseConfig(b.url)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m, err := shape.New(shape.Config{Pool: pool, Changes: b.ps, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Serve(runCtx) })
	defer wg.Wait()
	defer stop()

	for _, c := range []struct {
		table string
		key   []string
		err   error
	}{
		{"k_pk", []string{"b", "a"}, nil}, // table order
		{"k_ri", []string{"u"}, nil},
		{"k_full", []string{"id"}, nil},
		{"k_nothing", nil, shape.ErrDefinition},
		{"k_none", nil, shape.ErrDefinition},
		{"other", nil, shape.ErrNotPublished},
		{"nope", nil, shape.ErrDefinition},
	} {
		tr.n.Store(0)
		sub, err := m.Subscribe(ctx, shape.Definition{Table: c.table})
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: %v, want %v", c.table, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.table, err)
		}
		if got := sub.Shape().Key; !slices.Equal(got, c.key) {
			t.Errorf("%s: key %q, want %q", c.table, got, c.key)
		}
		if n := tr.n.Load(); n != 1 {
			t.Errorf("%s: %d round trips to the catalog, want 1", c.table, n)
		}
		sub.Close()
	}
	sub, err := m.Subscribe(ctx, shape.Definition{Table: "k_types"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	want := map[string]uint32{"id": 23, "e": 25, "es": 1009, "d": 23, "ds": 1007} // int4, text, text[], int4, int4[]
	for _, col := range sub.Shape().Columns {
		if col.DecodeOID != want[col.Name] {
			t.Errorf("k_types.%s (%s): decodes as OID %d, want %d", col.Name, col.Type, col.DecodeOID, want[col.Name])
		}
	}
}

// catalogTracer counts the round trips of statements that read the
// catalog: a batch counts once.
type catalogTracer struct{ n atomic.Int32 }

func isCatalog(sql string) bool {
	return strings.Contains(sql, "pg_class") || strings.Contains(sql, "pg_attribute") || strings.Contains(sql, "pg_publication_tables")
}

func (c *catalogTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if isCatalog(d.SQL) {
		c.n.Add(1)
	}
	return ctx
}

func (c *catalogTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *catalogTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if d.Batch != nil && slices.ContainsFunc(d.Batch.QueuedQueries, func(q *pgx.QueuedQuery) bool { return isCatalog(q.SQL) }) {
		c.n.Add(1)
	}
	return ctx
}

func (c *catalogTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *catalogTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
