//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// faultSlotInvalidate: one Source removed from its supervisor, its slot
// pushed past max_slot_wal_keep_size until the server invalidates it
// (wal_status 'lost'), the Source added back.
const faultSlotInvalidate = "slot_invalidate"

// invalidateTimeout bounds the whole invalidation.
const invalidateTimeout = 60 * time.Second

// padSQL writes about 16 MiB of WAL outside the publication.
const padSQL = `INSERT INTO chaos_pad (pad) SELECT repeat(md5(g::text), 64) FROM generate_series(1, 8000) g`

// slotInvalidate stops a's Source and writes WAL outside the publication
// until its slot lags the others by more than 64 MiB, then sets
// max_slot_wal_keep_size between the two (in whole 16 MiB segments, with
// a segment of margin each way) and checkpoints until the server
// invalidates the slot; the setting is reset before the Source comes
// back. The other Sources stream and confirm all along, so their slots
// stay within the limit. The Source must then log an ERROR, drop and
// recreate the slot and send a Resync (reason slot).
func (in *injector) slotInvalidate(a *app) error {
	if err := a.sup.RemoveAndWait(a.lToken, stopTimeout); err != nil {
		in.Problem(fmt.Sprintf("%s: Source not stopped within %v: %v", a.name, stopTimeout, err))
	}
	defer func() { a.lToken = a.sup.Add(a.src) }()
	ctx, cancel := context.WithTimeout(context.Background(), invalidateTimeout)
	defer cancel()
	conn, err := connectWriter(ctx, in.dbURL, "chaos-slot")
	if err != nil {
		return err
	}
	defer closeConn(conn)
	defer func() {
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer rcancel()
		_, _ = conn.Exec(rctx, `ALTER SYSTEM RESET max_slot_wal_keep_size`)
		_, _ = conn.Exec(rctx, `SELECT pg_reload_conf()`)
	}()
	const seg = 16 << 20
	for {
		if err := execAll(ctx, conn, padSQL, `TRUNCATE chaos_pad`, `SELECT pg_switch_wal()`, `CHECKPOINT`); err != nil {
			return err
		}
		target, others, err := slotLags(ctx, conn, a.slot)
		if err != nil {
			return err
		}
		if target > others+4*seg {
			keepMB := (others/seg + 2) * (seg >> 20)
			if err := execAll(ctx, conn, fmt.Sprintf(`ALTER SYSTEM SET max_slot_wal_keep_size = '%dMB'`, keepMB),
				`SELECT pg_reload_conf()`); err != nil {
				return err
			}
			break
		}
	}
	for {
		var status string
		if err := conn.QueryRow(ctx, `SELECT COALESCE(wal_status, '') FROM pg_replication_slots WHERE slot_name = $1`,
			a.slot).Scan(&status); err != nil {
			return err
		}
		if status == "lost" {
			in.dropped(a)
			return nil
		}
		if err := execAll(ctx, conn, `SELECT pg_switch_wal()`, `CHECKPOINT`); err != nil {
			return err
		}
	}
}

// slotLags returns how many bytes of WAL the slot retains, and the most
// any other slot does.
func slotLags(ctx context.Context, conn *pgx.Conn, slot string) (target, others int64, err error) {
	rows, err := conn.Query(ctx, `SELECT slot_name, COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint
		FROM pg_replication_slots`)
	if err != nil {
		return 0, 0, err
	}
	var name string
	var lag int64
	_, err = pgx.ForEachRow(rows, []any{&name, &lag}, func() error {
		if name == slot {
			target = lag
		} else {
			others = max(others, lag)
		}
		return nil
	})
	return target, others, err
}

func execAll(ctx context.Context, conn *pgx.Conn, sqls ...string) error {
	for _, sql := range sqls {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	return nil
}
