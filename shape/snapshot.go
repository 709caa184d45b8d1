package shape

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/internal/rowkey"
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"github.com/phoenixkit/phoenixkitdb/internal/walflush"
)

// pinSettings makes values print as the WAL source's walsender prints them
// (see replication's "Session settings"), for the current transaction.
const pinSettings = `SELECT set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
	set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true), set_config('TimeZone', 'UTC', true)`

// query is a shape's snapshot query, built for each snapshot (an idle
// shape does not hold it): only identifiers from the
// catalog (quoted) and the predicate's SQL with bound arguments.
type query struct {
	lock   string // LOCK TABLE of the shape's table, ACCESS SHARE
	sql    string
	args   []any
	layout *pubsub.RowLayout
	keyPos []int // positions of the key columns in layout
	// pub: a Subscribe (per-row) subscriber waits for these rows, so the
	// query makes their pubsub Rows too as it reads them, while the
	// server still sends the next ones (see snapshot.pubRows).
	pub bool
}

// newQuery builds the snapshot query of b with the shape's layout.
func newQuery(b *bound, layout *pubsub.RowLayout) *query {
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, c := range b.cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quoteIdent(c.Name))
	}
	sb.WriteString(" FROM ")
	sb.WriteString(quoteTable(b.info.schema, b.info.name))
	q := &query{layout: layout, lock: "LOCK TABLE " + quoteTable(b.info.schema, b.info.name) + " IN ACCESS SHARE MODE"}
	if b.pred != nil {
		where, args := b.pred.SQL(quoteIdent, 1)
		sb.WriteString(" WHERE ")
		sb.WriteString(where)
		q.args = args
	}
	q.sql = sb.String()
	for _, k := range b.info.key {
		for i, c := range b.cols {
			if c.Name == k {
				q.keyPos = append(q.keyPos, i)
			}
		}
	}
	return q
}

// snapshot is what a snapshot query returned.
type snapshot struct {
	snap *pgSnapshot // nil in NOTIFY mode
	// flushed is the server's WAL flush position read with snap: when it
	// is not before snap.lsn, what the rows show is durable already.
	flushed pubsub.LSN
	rows    *Rows
	// pub are rows' rows as pubsub Rows, made by the query when it
	// knew a per-row subscriber waits (query.pub), else for the first
	// subscriber that takes Insert messages; shared by the others.
	pub []*pubsub.Row
}

// pubRows returns s's rows as pubsub Rows, made once.
func (s *snapshot) pubRows() []*pubsub.Row {
	if len(s.pub) != s.rows.Len() {
		s.pub = make([]*pubsub.Row, s.rows.Len())
		for i := range s.pub {
			s.pub[i] = s.rows.Row(i)
		}
	}
	return s.pub
}

// take runs the query in a REPEATABLE READ READ ONLY transaction that
// first takes the table's ACCESS SHARE lock, then records
// pg_current_snapshot() and pg_current_wal_insert_lsn() (unless notify),
// so that the rows are exactly what that snapshot shows.
// The insert position, not pg_current_wal_lsn()'s write position: with
// synchronous_commit off a transaction is visible before its commit
// record is written.
//
// With start set, the rows are handed over while they are read: once the
// first row arrives, when they are durable already (see durable.go: the
// flush position read with the snapshot is past its insert position) or
// in NOTIFY mode, start gets the snapshot, whose Rows then grows, and
// ends complete or failed as take returns.
func (q *query) take(ctx context.Context, pool *pgxpool.Pool, notify bool, start func(*snapshot)) (*snapshot, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// The statements go in one round trip (a pipeline, run in order),
	// the query's text arguments bound as parameters, typed by the
	// server as when prepared.
	//
	// TRUNCATE is not MVCC-safe: a query whose snapshot predates a
	// TRUNCATE that commits before the query gets the table's lock reads
	// the emptied table, missing rows its snapshot shows (a subscriber
	// then gets Deletes for keys it never held). The weakest lock, taken
	// before the first statement fixes the snapshot, waits for such a
	// TRUNCATE to end and keeps the next one out until the rows are read.
	text := []int16{pgx.TextFormatCode}
	b := &pgconn.Batch{}
	b.ExecParams(q.lock, nil, nil, nil, nil)
	if !notify {
		// The first statement fixes the transaction's snapshot.
		b.ExecParams(`SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text`, nil, nil, nil, text)
	}
	b.ExecParams(pinSettings, nil, nil, nil, text)
	params := make([][]byte, len(q.args))
	for i, a := range q.args {
		s, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("%w: argument %d is a %T, not text", ErrSnapshot, i+1, a)
		}
		params[i] = []byte(s)
	}
	b.ExecParams(q.sql, params, nil, nil, text)
	out := &snapshot{}
	mrr := tx.Conn().PgConn().ExecBatch(ctx, b)
	rb, err := q.readBatch(mrr, out, notify, start)
	if cerr := mrr.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrSnapshot, err)
		if rb != nil {
			rb.fail(err)
		}
		return nil, err
	}
	rb.end()
	return out, nil
}

// readBatch reads the results of take's pipeline into out, handing the
// rows to start as they are read when it may (see take). It returns the
// builder of the rows once it made one.
func (q *query) readBatch(mrr *pgconn.MultiResultReader, out *snapshot, notify bool, start func(*snapshot)) (*rowsBuilder, error) {
	next := func() (*pgconn.ResultReader, error) {
		if !mrr.NextResult() {
			if err := mrr.Close(); err != nil {
				return nil, err
			}
			return nil, errors.New("a result is missing")
		}
		return mrr.ResultReader(), nil
	}
	rr, err := next() // the lock
	if err != nil {
		return nil, err
	}
	if _, err := rr.Close(); err != nil {
		return nil, err
	}
	if !notify {
		if rr, err = next(); err != nil {
			return nil, err
		}
		var s, l, f string
		for rr.NextRow() {
			if v := rr.Values(); len(v) == 3 {
				s, l, f = string(v[0]), string(v[1]), string(v[2])
			}
		}
		if _, err := rr.Close(); err != nil {
			return nil, err
		}
		lsn, err := pubsub.ParseLSN(l)
		if err != nil {
			return nil, err
		}
		if out.flushed, err = pubsub.ParseLSN(f); err != nil {
			return nil, err
		}
		if out.snap, err = parseSnapshot(s, lsn); err != nil {
			return nil, err
		}
	}
	if rr, err = next(); err != nil { // the settings
		return nil, err
	}
	if _, err := rr.Close(); err != nil {
		return nil, err
	}
	if rr, err = next(); err != nil {
		return nil, err
	}
	rb := newRowsBuilder(q.layout, q.keyPos)
	early := start != nil && (notify || out.flushed >= out.snap.lsn)
	var (
		pub   []*pubsub.Row
		cells []pubsub.Cell
	)
	if q.pub {
		cells = make([]pubsub.Cell, q.layout.Len())
	}
	for rr.NextRow() {
		raw := rr.Values()
		if err := rb.add(raw); err != nil {
			_, _ = rr.Close()
			return rb, err
		}
		if q.pub {
			row, err := rawRow(q.layout, raw, cells)
			if err != nil {
				_, _ = rr.Close()
				return rb, err
			}
			pub = append(pub, row)
		}
		if early {
			// After the first row: a query that fails at once (a
			// predicate's error) still fails Subscribe.
			early = false
			start(&snapshot{snap: out.snap, flushed: out.flushed, rows: rb.stream()})
		}
	}
	if _, err := rr.Close(); err != nil {
		return rb, err
	}
	out.rows, out.pub = rb.rows(), pub
	return rb, nil
}

// rawRow returns the row of layout whose columns' texts are raw (nil for
// NULL), as the server sent them in text format; cells is scratch of the
// layout's length.
func rawRow(layout *pubsub.RowLayout, raw [][]byte, cells []pubsub.Cell) (*pubsub.Row, error) {
	if len(raw) != len(cells) {
		return nil, fmt.Errorf("%d columns for %d", len(raw), len(cells))
	}
	for i, v := range raw {
		if v == nil {
			cells[i] = pubsub.Cell{State: pubsub.Null}
		} else {
			cells[i] = pubsub.Cell{State: pubsub.Present, Text: v}
		}
	}
	row, err := pubsub.NewRow(layout, cells)
	clear(cells) // drop references to the connection's buffer
	return row, err
}

// readRows reads text-format rows into Rows of layout and their keys.
func readRows(rows pgx.Rows, layout *pubsub.RowLayout, keyPos []int) ([]*pubsub.Row, []string, error) {
	defer rows.Close()
	var (
		out   []*pubsub.Row
		keys  []string
		cells = make([]pubsub.Cell, layout.Len())
		texts = make([]string, len(keyPos))
	)
	for rows.Next() {
		row, err := rawRow(layout, rows.RawValues(), cells)
		if err != nil {
			return nil, nil, err
		}
		for i, p := range keyPos {
			_, texts[i] = row.At(p)
		}
		out = append(out, row)
		keys = append(keys, rowkey.Format(texts))
	}
	return out, keys, rows.Err()
}

// fetchQuery fetches rows of a table by key: every column, for keys
// given as their columns' texts.
type fetchQuery struct {
	sql    string
	layout *pubsub.RowLayout
	keyPos []int
}

// newFetchQuery builds the fetch by key of the table info describes.
func newFetchQuery(info *tableInfo, layout *pubsub.RowLayout) *fetchQuery {
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, c := range info.cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("t." + quoteIdent(c.Name))
	}
	sb.WriteString(" FROM " + quoteTable(info.schema, info.name) + " t WHERE (")
	for i, k := range info.key {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("t." + quoteIdent(k))
	}
	sb.WriteString(") IN (SELECT ")
	for i, k := range info.key {
		if i > 0 {
			sb.WriteString(", ")
		}
		// The type is the catalog's format_type, not caller text.
		fmt.Fprintf(&sb, "u.k%d::%s", i, info.typeOf[k])
	}
	sb.WriteString(" FROM unnest(")
	for i := range info.key {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "$%d::text[]", i+1)
	}
	sb.WriteString(") AS u(")
	for i := range info.key {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "k%d", i)
	}
	sb.WriteString("))")
	f := &fetchQuery{sql: sb.String(), layout: layout}
	for _, k := range info.key {
		f.keyPos = append(f.keyPos, info.colIndex(k))
	}
	return f
}

// fetch returns the current rows of keys (each its key columns' texts)
// by their formatted key; keys whose row is gone are missing. With
// durable, it returns once the server has flushed the WAL of what the
// rows show (see durable.go): the WAL mode's rule for every row it keeps.
func (f *fetchQuery) fetch(ctx context.Context, pool *pgxpool.Pool, keys [][]string, durable bool) (map[string]*pubsub.Row, error) {
	cols := make([][]string, len(f.keyPos))
	for _, k := range keys {
		for i := range cols {
			cols[i] = append(cols[i], k[i])
		}
	}
	args := []any{pgx.QueryResultFormats{pgx.TextFormatCode}}
	for _, c := range cols {
		args = append(args, c)
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, pinSettings); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, f.sql, args...)
	if err != nil {
		return nil, err
	}
	got, gotKeys, err := readRows(rows, f.layout, f.keyPos)
	if err != nil {
		return nil, err
	}
	if durable {
		// Read after the rows: past the commit of everything they show.
		var ins, flushed string
		if err := tx.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text`).Scan(&ins, &flushed); err != nil {
			return nil, err
		}
		if ins != flushed {
			lsn, err := pubsub.ParseLSN(ins)
			if err != nil {
				return nil, err
			}
			_ = tx.Rollback(ctx) // no connection held while waiting
			if err := walflush.To(ctx, pool, lsn); err != nil {
				return nil, err
			}
		}
	}
	out := make(map[string]*pubsub.Row, len(got))
	for i, r := range got {
		out[gotKeys[i]] = r
	}
	return out, nil
}
