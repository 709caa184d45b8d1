package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/replication"
	"github.com/phoenixkit/phoenixkitdb/trigger"
)

// countCap bounds row counting: the page shows "10000+" rather than scan
// a big table of a user's database.
const countCap = 10000

// tableInfo is one row of GET /api/tables.
type tableInfo struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	Rows   int64  `json:"rows"`
	More   bool   `json:"more,omitempty"` // more than Rows rows
}

// tableLister lists the watched tables.
type tableLister interface {
	Tables(ctx context.Context) ([]tableInfo, error)
}

// poolTables lists the watched tables of the pool's database: those with
// a change trigger, or, in WAL mode (publication set), those in the
// publication.
type poolTables struct {
	pool        *pgxpool.Pool
	publication string
}

// watched returns the watched tables, sorted.
func (p poolTables) watched(ctx context.Context) ([]pgsql.Table, error) {
	if p.publication != "" {
		return replication.ListPublishedTables(ctx, p.pool, p.publication)
	}
	return trigger.List(ctx, p.pool)
}

// Tables returns every watched table, sorted, with its row count up to
// countCap. A table that cannot be counted (no privilege) shows -1 rows.
func (p poolTables) Tables(ctx context.Context) ([]tableInfo, error) {
	ts, err := p.watched(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]tableInfo, 0, len(ts))
	for _, t := range ts {
		info := tableInfo{Schema: t.Schema, Table: t.Name}
		q := fmt.Sprintf(`SELECT count(*) FROM (SELECT FROM %s LIMIT %d) t`,
			pgx.Identifier{t.Schema, t.Name}.Sanitize(), countCap+1)
		if err := p.pool.QueryRow(ctx, q).Scan(&info.Rows); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			info.Rows = -1
		}
		if info.Rows > countCap {
			info.Rows, info.More = countCap, true
		}
		out = append(out, info)
	}
	return out, nil
}
