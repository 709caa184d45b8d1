package writecost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is what every contender notifies on; nobody listens to it.
const channel = "writecost_bench"

// setup creates the schema, the source rows, the baseline functions and one
// table per contender, and warms each trigger up once. It returns the quoted
// table name of each contender.
func setup(ctx context.Context, conn *pgx.Conn, schema string, o Options) (map[Contender]string, error) {
	qs := pgx.Identifier{schema}.Sanitize()
	wideCol, wideExpr := "", ""
	if o.WideBytes > 0 {
		wideCol = ", body text"
		// Repeated md5 text: realistic width, compressible like most text.
		wideExpr = fmt.Sprintf(", substr(repeat(md5(i::text), %d), 1, %d)", o.WideBytes/32+1, o.WideBytes)
	}
	uuidCol, uuidExpr := ", uuid uuid", ", gen_random_uuid()"
	if o.NoUUID {
		uuidCol, uuidExpr = "", ""
	}
	stmts := []string{
		"CREATE SCHEMA " + qs,
		"SET search_path = " + qs + ", pg_catalog",
		baselineSQL,
		"CREATE UNLOGGED TABLE src (id bigint" + uuidCol + ", name text" + wideCol + ")",
		fmt.Sprintf("INSERT INTO src SELECT i%s, 'name ' || i%s FROM generate_series(1, %d) i", uuidExpr, wideExpr, o.Rows),
		"ANALYZE src",
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return nil, err
		}
	}
	tables := make(map[Contender]string)
	for _, c := range o.Contenders {
		name := "t_" + string(c)
		qt := pgx.Identifier{schema, name}.Sanitize()
		if _, err := conn.Exec(ctx, "CREATE TABLE "+qt+" (LIKE src)"); err != nil {
			return nil, err
		}
		if err := install(ctx, conn, c, schema, name, channel, o); err != nil {
			return nil, fmt.Errorf("install %s: %w", c, err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO "+qt+" SELECT * FROM src LIMIT 100"); err != nil {
			return nil, fmt.Errorf("warm up %s: %w", c, err)
		}
		tables[c] = qt
	}
	return tables, nil
}

// timeBulk empties the table, then times one INSERT of every source row
// (autocommit, so the commit that queues the notifications is included). cpu
// is the server process's CPU time for it, 0 if unknown.
func timeBulk(ctx context.Context, conn *pgx.Conn, qt string) (wall, cpu time.Duration, err error) {
	if _, err := conn.Exec(ctx, "TRUNCATE "+qt); err != nil {
		return 0, 0, err
	}
	cpu0, ok := backendCPU(ctx, conn)
	start := time.Now()
	_, err = conn.Exec(ctx, "INSERT INTO "+qt+" SELECT * FROM src")
	wall = time.Since(start)
	if cpu1, ok1 := backendCPU(ctx, conn); ok && ok1 {
		cpu = cpu1 - cpu0
	}
	return wall, cpu, err
}

// timeSingle times every connection committing o.Txns single-row INSERTs
// concurrently. The connections are long-lived (opened and warmed up once),
// as pooled ones are, so PL/pgSQL compilation is not counted.
func timeSingle(ctx context.Context, conns []*pgx.Conn, qt string, o Options) (time.Duration, error) {
	sql := "INSERT INTO " + qt + " (id, uuid, name) VALUES ($1, gen_random_uuid(), 'single')"
	if o.NoUUID {
		sql = "INSERT INTO " + qt + " (id, name) VALUES ($1, 'single')"
	}
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range o.Txns {
				if _, err := c.Exec(ctx, sql, int64(i*o.Txns+n)); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	return d, errors.Join(errs...)
}

// openClients opens o.Clients connections and warms every contender's
// trigger up on each.
func openClients(ctx context.Context, connString string, tables map[Contender]string, o Options) ([]*pgx.Conn, error) {
	var conns []*pgx.Conn
	for range o.Clients {
		c, err := pgx.Connect(ctx, connString)
		if err != nil {
			closeAll(ctx, conns)
			return nil, err
		}
		conns = append(conns, c)
		for _, qt := range tables {
			if _, err := c.Exec(ctx, "INSERT INTO "+qt+" (id) VALUES (0)"); err != nil {
				closeAll(ctx, conns)
				return nil, err
			}
		}
	}
	return conns, nil
}

func closeAll(ctx context.Context, conns []*pgx.Conn) {
	for _, c := range conns {
		c.Close(context.WithoutCancel(ctx))
	}
}
