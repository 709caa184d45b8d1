package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/phoenixkit/phoenixkitdb"
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

// tableLister lists the triggered tables.
type tableLister interface {
	Tables(ctx context.Context) ([]tableInfo, error)
}

// poolTables lists the triggered tables of the pool's database.
type poolTables struct{ pool *pgxpool.Pool }

// Tables returns every table with a change trigger, sorted, with its row
// count up to countCap. A table that cannot be counted (no privilege)
// shows -1 rows.
func (p poolTables) Tables(ctx context.Context) ([]tableInfo, error) {
	ts, err := phoenixkitdb.ListTriggeredTables(ctx, p.pool)
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
