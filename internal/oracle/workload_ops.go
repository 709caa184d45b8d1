package oracle

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The workload's operations: each writes to one family of tables and
// keeps the workload's record of their rows.

// values returns an input text (or nil for NULL) for each column.
func (w *Workload) values(cols []column) []any {
	args := make([]any, len(cols))
	for i, c := range cols {
		if w.g.r.Intn(7) != 0 {
			args[i] = c.typ.gen(&w.g)
		}
	}
	return args
}

// casts returns "$from::text::type" for each column.
func casts(cols []column, from int) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "$" + strconv.Itoa(from+i) + "::text::" + c.typ.sql
	}
	return out
}

func (w *Workload) valsInsert(ctx context.Context, conn *pgx.Conn, name string) error {
	t := w.tables[name]
	t.next++
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	sql := "INSERT INTO " + t.name + " (id, " + strings.Join(names, ", ") + ") VALUES ($1, " + strings.Join(casts(t.cols, 2), ", ") + ")"
	if err := exec(ctx, conn, sql, append([]any{t.next}, w.values(t.cols)...)...); err != nil {
		return err
	}
	t.keys = append(t.keys, strconv.Itoa(t.next))
	return nil
}

// valsUpdate sets a few columns of a row, sometimes its key too.
func (w *Workload) valsUpdate(ctx context.Context, conn *pgx.Conn, name string) error {
	t := w.tables[name]
	if len(t.keys) == 0 {
		return w.valsInsert(ctx, conn, name)
	}
	k := w.g.r.Intn(len(t.keys))
	var sets []string
	var cols []column
	for _, i := range w.g.r.Perm(len(t.cols))[:1+w.g.r.Intn(3)] {
		cols = append(cols, t.cols[i])
	}
	for i, c := range casts(cols, 2) {
		sets = append(sets, cols[i].name+" = "+c)
	}
	args := append([]any{t.keys[k]}, w.values(cols)...)
	if w.g.r.Intn(5) == 0 {
		t.next++
		sets = append(sets, "id = "+strconv.Itoa(t.next))
		defer func() { t.keys[k] = strconv.Itoa(t.next) }()
	}
	return exec(ctx, conn, "UPDATE "+t.name+" SET "+strings.Join(sets, ", ")+" WHERE id = $1::text::bigint", args...)
}

// deleteOne deletes a known row of name by its integer key column.
func (w *Workload) deleteOne(ctx context.Context, conn *pgx.Conn, name, key string) error {
	t := w.tableOf(name)
	if len(t.keys) == 0 {
		return nil
	}
	k := w.g.r.Intn(len(t.keys))
	err := exec(ctx, conn, "DELETE FROM "+t.name+" WHERE "+key+" = $1::text::integer", t.keys[k])
	t.keys = slices.Delete(t.keys, k, k+1)
	return err
}

// toast writes TOASTed values: inserts them, updates a row without
// touching them (unchanged-toast in the new row), replaces one, deletes.
func (w *Workload) toast(ctx context.Context, conn *pgx.Conn) error {
	g := &w.g
	name := g.oneOf("toasty", "toasty_full")
	t := w.tableOf(name)
	doc := func() string { return `{"k": "` + g.noise(2500+g.r.Intn(3000)) + `", "n": 12345678901234567890}` }
	switch n := g.r.Intn(6); {
	case n < 2 || len(t.keys) == 0:
		t.next++
		t.keys = append(t.keys, strconv.Itoa(t.next))
		return exec(ctx, conn, "INSERT INTO "+name+" (id, n, big, blob, doc) VALUES ($1, $1, $2, $3::text::bytea, $4::text::jsonb)",
			t.next, g.noise(2100+g.r.Intn(6000))+g.text(5), g.hexBytes(2100+g.r.Intn(3000)), doc())
	case n < 4:
		k := t.keys[g.r.Intn(len(t.keys))]
		return exec(ctx, conn, "UPDATE "+name+" SET n = n + 1 WHERE id = $1::text::integer", k)
	case n < 5:
		k := t.keys[g.r.Intn(len(t.keys))]
		col, val := g.oneOf("big", "blob", "doc"), any(nil)
		switch col {
		case "big":
			val = g.noise(3000)
		case "blob":
			val = g.hexBytes(3000)
		default:
			val = doc()
		}
		typ := map[string]string{"big": "text", "blob": "bytea", "doc": "jsonb"}[col]
		return exec(ctx, conn, "UPDATE "+name+" SET "+col+" = $2::text::"+typ+", n = n + 1 WHERE id = $1::text::integer", k, val)
	default:
		return w.deleteOne(ctx, conn, name, "id")
	}
}

// replicaIdentity writes to the tables with a composite key, an index
// identity and no identity (inserts only).
func (w *Workload) replicaIdentity(ctx context.Context, conn *pgx.Conn) error {
	g := &w.g
	switch g.r.Intn(7) {
	case 0, 1:
		t := w.tableOf("ri_key")
		t.next++
		b := g.word(3) + "'" + strconv.Itoa(t.next)
		t.keys = append(t.keys, strconv.Itoa(t.next)+"\x00"+b)
		return exec(ctx, conn, "INSERT INTO ri_key (a, b, v) VALUES ($1, $2, $3)", t.next, b, g.text(6))
	case 2:
		t := w.tableOf("ri_key")
		if len(t.keys) == 0 {
			return nil
		}
		k := g.r.Intn(len(t.keys))
		a, b, _ := strings.Cut(t.keys[k], "\x00")
		if g.r.Intn(2) == 0 {
			return exec(ctx, conn, "UPDATE ri_key SET v = $3 WHERE a = $1::text::integer AND b = $2", a, b, g.text(6))
		}
		nb := b + "~"
		t.keys[k] = a + "\x00" + nb
		return exec(ctx, conn, "UPDATE ri_key SET b = $3, v = NULL WHERE a = $1::text::integer AND b = $2", a, b, nb)
	case 3:
		t := w.tableOf("ri_key")
		if len(t.keys) == 0 {
			return nil
		}
		k := g.r.Intn(len(t.keys))
		a, b, _ := strings.Cut(t.keys[k], "\x00")
		t.keys = slices.Delete(t.keys, k, k+1)
		return exec(ctx, conn, "DELETE FROM ri_key WHERE a = $1::text::integer AND b = $2", a, b)
	case 4:
		t := w.tableOf("ri_index")
		t.next++
		t.keys = append(t.keys, strconv.Itoa(t.next))
		return exec(ctx, conn, "INSERT INTO ri_index (id, code, v) VALUES ($1, $2, $3)", t.next, "code-"+strconv.Itoa(t.next)+":"+g.text(3), g.r.Intn(100))
	case 5:
		t := w.tableOf("ri_index")
		if len(t.keys) == 0 {
			return nil
		}
		k := t.keys[g.r.Intn(len(t.keys))]
		if g.r.Intn(2) == 0 {
			return exec(ctx, conn, "UPDATE ri_index SET v = v + 1 WHERE id = $1::text::integer", k)
		}
		return exec(ctx, conn, "UPDATE ri_index SET code = code || $2 WHERE id = $1::text::integer", k, g.text(2)+"!")
	default:
		return exec(ctx, conn, "INSERT INTO ri_nothing (id, v) VALUES ($1, $2)", g.r.Intn(1000), g.text(8))
	}
}

// partition writes to the partitioned table, moving rows between
// partitions too.
func (w *Workload) partition(ctx context.Context, conn *pgx.Conn) error {
	g := &w.g
	t := w.tableOf("part")
	switch n := g.r.Intn(5); {
	case n < 2 || len(t.keys) == 0:
		t.next++
		k := g.r.Intn(200)
		t.keys = append(t.keys, strconv.Itoa(k)+" "+strconv.Itoa(t.next))
		return exec(ctx, conn, "INSERT INTO part (k, id, v) VALUES ($1, $2, $3)", k, t.next, g.text(5))
	case n < 4:
		i := g.r.Intn(len(t.keys))
		k, id, _ := strings.Cut(t.keys[i], " ")
		if n == 2 {
			return exec(ctx, conn, "UPDATE part SET v = $3 WHERE k = $1::text::integer AND id = $2::text::integer", k, id, g.text(5))
		}
		nk := g.r.Intn(200)
		t.keys[i] = strconv.Itoa(nk) + " " + id
		return exec(ctx, conn, "UPDATE part SET k = $3 WHERE k = $1::text::integer AND id = $2::text::integer", k, id, nk)
	default:
		i := g.r.Intn(len(t.keys))
		k, id, _ := strings.Cut(t.keys[i], " ")
		t.keys = slices.Delete(t.keys, i, i+1)
		return exec(ctx, conn, "DELETE FROM part WHERE k = $1::text::integer AND id = $2::text::integer", k, id)
	}
}

// oddNames writes to a table and columns whose names need quoting.
func (w *Workload) oddNames(ctx context.Context, conn *pgx.Conn) error {
	g := &w.g
	t := w.tableOf(`"Odd Schema"."Tablé ""q"""`)
	if len(t.keys) == 0 || g.r.Intn(2) == 0 {
		t.next++
		t.keys = append(t.keys, strconv.Itoa(t.next))
		return exec(ctx, conn, `INSERT INTO "Odd Schema"."Tablé ""q""" (id, "Mixed Col", "new-tuple", "x]:y", "select") VALUES ($1, $2, $3, $4, $5)`,
			t.next, g.text(6), g.r.Intn(10), g.text(4), g.r.Intn(10))
	}
	k := t.keys[g.r.Intn(len(t.keys))]
	return exec(ctx, conn, `UPDATE "Odd Schema"."Tablé ""q""" SET "x]:y" = $2, "new-tuple" = NULL WHERE id = $1::text::integer`, k, g.text(4))
}

func (w *Workload) unpublished(ctx context.Context, conn *pgx.Conn) error {
	t := w.tableOf("unpublished")
	t.next++
	return exec(ctx, conn, "INSERT INTO unpublished (id, v) VALUES ($1, $2)", t.next, w.g.text(4))
}

// MessagePrefixes returns the prefixes of the logical messages the
// workload emits (pg_logical_emit_message(true, prefix, content)), for a
// source that delivers messages by prefix. One holds the separator
// test_decoding prints after a prefix; one is empty.
func MessagePrefixes() []string { return []string{"oracle", "odd, sz: 3 content:x", ""} }

// message emits a transactional logical message.
func (w *Workload) message(ctx context.Context, conn *pgx.Conn) error {
	g := &w.g
	prefix := g.oneOf(MessagePrefixes()...)
	return exec(ctx, conn, "SELECT pg_logical_emit_message(true, $1, $2::text)", prefix, g.text(10))
}

// truncate truncates several tables at once, with CASCADE and RESTART
// IDENTITY, a partition alone and the partitioned table.
func (w *Workload) truncate(ctx context.Context, conn *pgx.Conn) error {
	g := &w.g
	var stmt string
	var cleared []string
	switch g.r.Intn(6) {
	case 0:
		// Fill both so that CASCADE has something to do.
		if err := exec(ctx, conn, "INSERT INTO tr_parent (id, v) VALUES (1, 'p') ON CONFLICT DO NOTHING"); err != nil {
			return err
		}
		if err := exec(ctx, conn, "INSERT INTO tr_child (id, parent_id, v) VALUES (1, 1, 'c') ON CONFLICT DO NOTHING"); err != nil {
			return err
		}
		stmt = "TRUNCATE tr_parent CASCADE"
	case 1:
		if err := exec(ctx, conn, "INSERT INTO tr_seq (v) VALUES ($1), ($2)", g.text(3), g.text(3)); err != nil {
			return err
		}
		stmt = "TRUNCATE tr_seq RESTART IDENTITY"
	case 2:
		stmt, cleared = "TRUNCATE tr_other, tr_seq, ri_nothing, unpublished", []string{"tr_other", "unpublished"}
	case 3:
		stmt, cleared = "TRUNCATE ri_key, tr_parent, tr_child RESTART IDENTITY CASCADE", []string{"ri_key"}
	case 4:
		stmt = "TRUNCATE part_lo"
		t := w.tableOf("part")
		t.keys = slices.DeleteFunc(t.keys, func(k string) bool {
			n, _ := strconv.Atoi(strings.Split(k, " ")[0])
			return n < 100
		})
	default:
		stmt, cleared = "TRUNCATE part", []string{"part"}
	}
	for _, name := range cleared {
		w.tableOf(name).keys = nil
	}
	return exec(ctx, conn, stmt)
}

// alter changes table alt's columns (add with or without a default, drop,
// rename, change type), then writes a row through the new shape.
func (w *Workload) alter(ctx context.Context, conn *pgx.Conn) error {
	g := &w.g
	t := w.tables["alt"]
	pool := []string{"integer", "text", "numeric", "timestamp with time zone", "jsonb", "integer[]", "double precision", "mood"}
	var stmt string
	switch n := g.r.Intn(4); {
	case n == 0 || len(t.cols) == 0:
		typ := w.typeNamed(pool[g.r.Intn(len(pool))])
		name := "c" + strconv.Itoa(t.nextCol)
		t.nextCol++
		stmt = "ALTER TABLE alt ADD COLUMN " + name + " " + typ.sql
		if g.r.Intn(2) == 0 {
			// A default from the generator, quoted as a literal.
			stmt += " DEFAULT " + literal(typ.gen(&w.g)) + "::" + typ.sql
		}
		t.cols = append(t.cols, column{name, typ})
	case n == 1:
		i := g.r.Intn(len(t.cols))
		stmt = "ALTER TABLE alt DROP COLUMN " + t.cols[i].name
		t.cols = slices.Delete(t.cols, i, i+1)
	case n == 2:
		i := g.r.Intn(len(t.cols))
		name := "c" + strconv.Itoa(t.nextCol)
		t.nextCol++
		stmt = "ALTER TABLE alt RENAME COLUMN " + t.cols[i].name + " TO " + name
		t.cols[i].name = name
	default:
		i := g.r.Intn(len(t.cols))
		stmt = "ALTER TABLE alt ALTER COLUMN " + t.cols[i].name + " TYPE text USING " + t.cols[i].name + "::text"
		t.cols[i].typ = w.typeNamed("text")
	}
	if err := exec(ctx, conn, stmt); err != nil {
		return err
	}
	t.next++
	names := []string{"id"}
	for _, c := range t.cols {
		names = append(names, c.name)
	}
	sql := "INSERT INTO alt (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(append([]string{"$1"}, casts(t.cols, 2)...), ", ") + ")"
	if err := exec(ctx, conn, sql, append([]any{t.next}, w.values(t.cols)...)...); err != nil {
		return err
	}
	if t.next > 1 {
		return exec(ctx, conn, "UPDATE alt SET id = id WHERE id = $1", t.next-1)
	}
	return nil
}

// literal quotes s as an SQL string literal (standard_conforming_strings).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// bulk commits one transaction of 1,500 rows: more than a source hands
// over in one chunk.
func (w *Workload) bulk(ctx context.Context, conn *pgx.Conn) error {
	t := w.tableOf("tr_other")
	from := t.next + 1
	t.next += 1500
	return exec(ctx, conn, "INSERT INTO tr_other (id, v) SELECT g, 'bulk ' || g FROM generate_series($1::integer, $2::integer) AS g", from, t.next)
}
