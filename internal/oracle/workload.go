package oracle

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Publications the workload's schema creates: PubLeaf lists the tables
// (partitions reported as themselves) and leaves out one; PubRoot is FOR
// ALL TABLES with publish_via_partition_root.
const (
	PubLeaf = "oracle_leaf"
	PubRoot = "oracle_root"
)

// FenceTable is the published table [Workload.Fence] writes to.
const FenceTable = "fence"

// WorkloadOptions configure a [Workload].
type WorkloadOptions struct {
	// Seed seeds every random choice; the same seed and server give the
	// same statements.
	Seed int64
	// Transactions is how many transactions Run commits (or rolls back,
	// for some prepared ones). Default 120.
	Transactions int
	// Latin1 keeps every text storable in a LATIN1 database.
	Latin1 bool
}

// Workload generates a schema and transactions over every built-in type
// and the cases logical decoding treats apart: TOASTed values updated and
// not, every replica identity, TRUNCATE of several tables with CASCADE
// and RESTART IDENTITY, ALTER TABLE between writes, partitions, rolled
// back savepoints, two-phase commit, logical messages, and one large
// transaction. It keeps what the tables hold, so that its updates and
// deletes hit rows. A Workload is used by one goroutine.
type Workload struct {
	opts   WorkloadOptions
	g      gen
	types  []valueType
	tables map[string]*table
	fence  int
	gid    int
	// Stats counts what Run did, by kind of operation.
	Stats map[string]int
}

// table is what the workload knows of one of its tables.
type table struct {
	name    string   // quoted, qualified
	cols    []column // the non-key columns, in order
	keys    []string // key of each live row, as text
	next    int      // last id used
	nextCol int      // for ALTER TABLE ADD COLUMN names
}

type column struct {
	name string // quoted
	typ  valueType
}

// NewWorkload returns a workload for opts.
func NewWorkload(opts WorkloadOptions) *Workload {
	if opts.Transactions <= 0 {
		opts.Transactions = 120
	}
	w := &Workload{opts: opts, g: gen{r: rand.New(rand.NewSource(opts.Seed)), latin1: opts.Latin1}, types: valueTypes(),
		tables: map[string]*table{}, Stats: map[string]int{}}
	valueCols := make([]column, len(w.types))
	for i, t := range w.types {
		valueCols[i] = column{name: "c" + strconv.Itoa(i) + "_" + colSuffix(t.sql), typ: t}
	}
	w.tables["vals"] = &table{name: "vals", cols: valueCols}
	w.tables["vals_full"] = &table{name: "vals_full", cols: valueCols}
	w.tables["alt"] = &table{name: "alt", cols: []column{{"c1", w.typeNamed("integer")}, {"c2", w.typeNamed("text")}}, nextCol: 3}
	return w
}

// colSuffix makes a column name part from a type name.
func colSuffix(sql string) string {
	var b strings.Builder
	for _, r := range sql {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '[':
			b.WriteString("_arr")
		case r == ' ' || r == '(':
			b.WriteByte('_')
		}
	}
	return b.String()
}

func (w *Workload) typeNamed(sql string) valueType {
	for _, t := range w.types {
		if t.sql == sql {
			return t
		}
	}
	panic("oracle: no type " + sql)
}

// Schema returns the DDL that creates the workload's types, tables and
// publications, to run once on an empty database.
func (w *Workload) Schema() []string {
	var cols []string
	for _, c := range w.tables["vals"].cols {
		cols = append(cols, c.name+" "+c.typ.sql)
	}
	valCols := strings.Join(cols, ",\n\t")
	weird := `"Odd Schema"."Tablé ""q"""`
	return []string{
		`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s', 'with space')`,
		`CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`,
		`CREATE DOMAIN short_text AS text`,
		`CREATE TYPE pair AS (a integer, b text, c double precision)`,
		"CREATE TABLE vals (id bigint PRIMARY KEY,\n\t" + valCols + ")",
		"CREATE TABLE vals_full (id bigint PRIMARY KEY,\n\t" + valCols + ")",
		`ALTER TABLE vals_full REPLICA IDENTITY FULL`,
		// Out of line: big uncompressed (EXTERNAL), blob incompressible.
		`CREATE TABLE toasty (id integer PRIMARY KEY, n integer, big text, blob bytea, doc jsonb)`,
		`ALTER TABLE toasty ALTER COLUMN big SET STORAGE EXTERNAL`,
		`CREATE TABLE toasty_full (id integer PRIMARY KEY, n integer, big text, blob bytea, doc jsonb)`,
		`ALTER TABLE toasty_full ALTER COLUMN big SET STORAGE EXTERNAL`,
		`ALTER TABLE toasty_full REPLICA IDENTITY FULL`,
		`CREATE TABLE ri_key (a integer, b text, v text, PRIMARY KEY (a, b))`,
		`CREATE TABLE ri_index (id integer PRIMARY KEY, code text NOT NULL, v integer)`,
		`CREATE UNIQUE INDEX ri_index_code ON ri_index (code)`,
		`ALTER TABLE ri_index REPLICA IDENTITY USING INDEX ri_index_code`,
		`CREATE TABLE ri_nothing (id integer, v text)`,
		`ALTER TABLE ri_nothing REPLICA IDENTITY NOTHING`,
		`CREATE TABLE tr_parent (id integer PRIMARY KEY, v text)`,
		`CREATE TABLE tr_child (id integer PRIMARY KEY, parent_id integer REFERENCES tr_parent, v text)`,
		`CREATE TABLE tr_seq (id serial PRIMARY KEY, v text)`,
		`CREATE TABLE tr_other (id integer PRIMARY KEY, v text)`,
		`CREATE TABLE alt (id integer PRIMARY KEY, c1 integer, c2 text)`,
		`CREATE TABLE part (k integer, id integer, v text, PRIMARY KEY (k, id)) PARTITION BY RANGE (k)`,
		`CREATE TABLE part_lo PARTITION OF part FOR VALUES FROM (MINVALUE) TO (100)`,
		// Another column order than the root's: rows reported as the
		// root's are converted.
		`CREATE TABLE part_hi (v text, id integer, k integer, PRIMARY KEY (k, id))`,
		`ALTER TABLE part ATTACH PARTITION part_hi FOR VALUES FROM (100) TO (MAXVALUE)`,
		`CREATE SCHEMA "Odd Schema"`,
		`CREATE TABLE ` + weird + ` (id integer PRIMARY KEY, "Mixed Col" text, "new-tuple" integer, "x]:y" text, "select" integer)`,
		`CREATE TABLE unpublished (id integer PRIMARY KEY, v text)`,
		`CREATE TABLE fence (id integer PRIMARY KEY)`,
		`CREATE PUBLICATION ` + PubLeaf + ` FOR TABLE vals, vals_full, toasty, toasty_full, ri_key, ri_index, ri_nothing,
			tr_parent, tr_child, tr_seq, tr_other, alt, part, ` + weird + `, fence`,
		`CREATE PUBLICATION ` + PubRoot + ` FOR ALL TABLES WITH (publish_via_partition_root = true)`,
	}
}

// exec runs one statement of the workload.
func exec(ctx context.Context, conn *pgx.Conn, sql string, args ...any) error {
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("oracle: workload: %s: %w", firstLine(sql), err)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Run creates nothing: it runs the transactions on conn (after Schema).
// It stops at the first error, which names the statement. conn must use
// client_encoding UTF8 (Go strings are UTF-8; pgx does not ask for it),
// and so must the one that ran Schema.
func (w *Workload) Run(ctx context.Context, conn *pgx.Conn) error {
	if enc := conn.PgConn().ParameterStatus("client_encoding"); enc != "UTF8" {
		return fmt.Errorf("oracle: workload: the connection's client_encoding is %q, not UTF8", enc)
	}
	for i := 0; i < w.opts.Transactions; i++ {
		if err := w.transaction(ctx, conn, i); err != nil {
			_, _ = conn.Exec(ctx, "ROLLBACK")
			return fmt.Errorf("transaction %d (seed %d): %w", i, w.opts.Seed, err)
		}
	}
	return nil
}

// Fence commits a row in FenceTable and returns its id: a source has
// delivered everything before it once it delivers that row.
func (w *Workload) Fence(ctx context.Context, conn *pgx.Conn) (int, error) {
	w.fence++
	return w.fence, exec(ctx, conn, `INSERT INTO fence (id) VALUES ($1)`, w.fence)
}

// op is one operation of a transaction.
type op func(ctx context.Context, conn *pgx.Conn) error

// transaction runs transaction number i: a few operations, sometimes
// with a savepoint rolled back, sometimes prepared for two-phase commit.
func (w *Workload) transaction(ctx context.Context, conn *pgx.Conn, i int) error {
	r := w.g.r
	if i == w.opts.Transactions/2 {
		w.Stats["bulk"]++
		return w.bulk(ctx, conn)
	}
	if err := exec(ctx, conn, "BEGIN"); err != nil {
		return err
	}
	twoPhase := r.Intn(12) == 0
	saved := w.snapshot()
	for range 1 + r.Intn(6) {
		if !twoPhase && r.Intn(10) == 0 {
			if err := w.rolledBack(ctx, conn); err != nil {
				return err
			}
			continue
		}
		if err := w.randomOp(twoPhase)(ctx, conn); err != nil {
			return err
		}
	}
	if !twoPhase {
		return exec(ctx, conn, "COMMIT")
	}
	w.gid++
	gid := fmt.Sprintf("oracle_%d_%d", w.opts.Seed, w.gid)
	if err := exec(ctx, conn, `PREPARE TRANSACTION '`+gid+`'`); err != nil {
		return err
	}
	// Another transaction commits between PREPARE and COMMIT PREPARED:
	// the prepared one comes after it in commit order.
	if err := exec(ctx, conn, `INSERT INTO ri_nothing (id, v) VALUES ($1, 'between')`, r.Intn(1000)); err != nil {
		return err
	}
	if r.Intn(4) == 0 {
		w.Stats["rollback prepared"]++
		w.restore(saved)
		return exec(ctx, conn, `ROLLBACK PREPARED '`+gid+`'`)
	}
	w.Stats["two-phase"]++
	return exec(ctx, conn, `COMMIT PREPARED '`+gid+`'`)
}

// rolledBack runs a savepoint whose operations are rolled back, keeping
// the workload's knowledge of the rows as it was.
func (w *Workload) rolledBack(ctx context.Context, conn *pgx.Conn) error {
	saved := w.snapshot()
	if err := exec(ctx, conn, "SAVEPOINT s"); err != nil {
		return err
	}
	for range 1 + w.g.r.Intn(3) {
		if err := w.randomOp(true)(ctx, conn); err != nil {
			return err
		}
	}
	w.restore(saved)
	w.Stats["savepoint rollback"]++
	return exec(ctx, conn, "ROLLBACK TO SAVEPOINT s")
}

// snapshot copies the row keys of every table.
func (w *Workload) snapshot() map[string][]string {
	s := map[string][]string{}
	for name, t := range w.tables {
		s[name] = slices.Clone(t.keys)
	}
	return s
}

func (w *Workload) restore(s map[string][]string) {
	for name, keys := range s {
		w.tables[name].keys = keys
	}
	for name := range w.tables {
		if _, ok := s[name]; !ok {
			w.tables[name].keys = nil
		}
	}
}

// tableOf returns the workload's record of table name, made on first use.
func (w *Workload) tableOf(name string) *table {
	t := w.tables[name]
	if t == nil {
		t = &table{name: name}
		w.tables[name] = t
	}
	return t
}

// randomOp picks an operation. rowsOnly leaves out DDL and TRUNCATE
// (inside savepoints rolled back and prepared transactions, whose effect
// on the workload's knowledge would be hard to undo).
func (w *Workload) randomOp(rowsOnly bool) op {
	type choice struct {
		weight int
		name   string
		op     op
		ddl    bool
	}
	choices := []choice{
		{8, "vals insert", func(ctx context.Context, c *pgx.Conn) error { return w.valsInsert(ctx, c, "vals") }, false},
		{8, "vals_full insert", func(ctx context.Context, c *pgx.Conn) error { return w.valsInsert(ctx, c, "vals_full") }, false},
		{6, "vals update", func(ctx context.Context, c *pgx.Conn) error { return w.valsUpdate(ctx, c, "vals") }, false},
		{6, "vals_full update", func(ctx context.Context, c *pgx.Conn) error { return w.valsUpdate(ctx, c, "vals_full") }, false},
		{2, "vals delete", func(ctx context.Context, c *pgx.Conn) error { return w.deleteOne(ctx, c, "vals", "id") }, false},
		{2, "vals_full delete", func(ctx context.Context, c *pgx.Conn) error { return w.deleteOne(ctx, c, "vals_full", "id") }, false},
		{4, "toast", w.toast, false},
		{4, "replica identity", w.replicaIdentity, false},
		{3, "partition", w.partition, false},
		{2, "odd names", w.oddNames, false},
		{2, "unpublished", w.unpublished, false},
		{2, "message", w.message, false},
		{3, "truncate", w.truncate, true},
		{4, "alter", w.alter, true},
	}
	total := 0
	for _, c := range choices {
		if !rowsOnly || !c.ddl {
			total += c.weight
		}
	}
	n := w.g.r.Intn(total)
	for _, c := range choices {
		if rowsOnly && c.ddl {
			continue
		}
		if n < c.weight {
			w.Stats[c.name]++
			return c.op
		}
		n -= c.weight
	}
	panic("unreachable")
}
