package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Defaults of a slotReader.
const (
	// slotReadTimeout bounds one read of the slot's state, connection
	// included: a scrape never waits longer for the server.
	slotReadTimeout = 2 * time.Second
	// slotReadMaxAge is how long a read (or a failure) is reused, so that
	// scrapes close together (several Prometheus servers, a dashboard
	// refresh) cost the server one connection.
	slotReadMaxAge = 5 * time.Second
)

// walStatuses are the values of pg_replication_slots.wal_status, in the
// order the status label takes them; each is exported as 0 or 1.
var walStatuses = [...]string{"reserved", "extended", "unreserved", "lost"}

// slotQuery reads a slot's state in one round trip. Columns that not every
// supported server version has (wal_status and safe_wal_size came with
// PostgreSQL 13) are read through to_jsonb, so the query parses on all of
// them. A standby measures the lag from the WAL it has replayed. The
// walsender's backend_start is when the current stream was established.
const slotQuery = `SELECT s.slot_name IS NOT NULL,
	COALESCE(s.active, false),
	COALESCE(to_jsonb(s) ->> 'wal_status', ''),
	COALESCE(to_jsonb(s) ->> 'safe_wal_size', ''),
	COALESCE((s.confirmed_flush_lsn - '0/0'::pg_lsn)::text, ''),
	COALESCE(((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)
		- s.confirmed_flush_lsn)::text, ''),
	COALESCE((SELECT extract(epoch FROM a.backend_start)::text FROM pg_catalog.pg_stat_activity AS a
		WHERE a.pid = s.active_pid), '')
FROM (SELECT 1) AS one
LEFT JOIN pg_catalog.pg_replication_slots AS s ON s.slot_name = $1`

// slotReading is what one read of pg_replication_slots found.
type slotReading struct {
	at  time.Time // when the read was made
	err error     // why it failed; the fields below are then zero

	exists, active bool
	walStatus      string // "" when the server does not say
	safeWALSize    *float64
	confirmed      *float64 // confirmed_flush_lsn as a byte position
	lag            *float64 // the server's WAL position minus confirmed
	// walsenderStart is when the walsender that holds the slot connected;
	// zero when none does.
	walsenderStart time.Time
}

// slotReader reads a replication slot's state from the server on a short
// connection of its own, at most once per slotReadMaxAge and for at most
// slotReadTimeout. It is safe for concurrent use: one read runs at a
// time, and a scrape that arrives meanwhile waits for it (bounded by the
// timeout) and shares its result.
type slotReader struct {
	slot    string
	config  func() (*pgconn.Config, error)
	timeout time.Duration
	maxAge  time.Duration
	now     func() time.Time

	mu   sync.Mutex
	last slotReading
}

func newSlotReader(slot string, config func() (*pgconn.Config, error)) *slotReader {
	return &slotReader{slot: slot, config: config, timeout: slotReadTimeout, maxAge: slotReadMaxAge, now: time.Now}
}

// read returns the last reading if it is younger than maxAge, else reads
// again. It blocks for at most about timeout (twice that for a scrape
// that waited for another's read).
func (r *slotReader) read() slotReading {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.at.IsZero() && r.now().Sub(r.last.at) < r.maxAge {
		return r.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	got, err := r.query(ctx)
	if err != nil {
		got = slotReading{err: err}
	}
	got.at = r.now()
	r.last = got
	return got
}

func (r *slotReader) query(ctx context.Context) (slotReading, error) {
	pc, err := r.config()
	if err != nil {
		return slotReading{}, err
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return slotReading{}, fmt.Errorf("metrics: reading slot %q: %w", r.slot, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	res := conn.ExecParams(ctx, slotQuery, [][]byte{[]byte(r.slot)}, nil, nil, nil).Read()
	if res.Err != nil {
		return slotReading{}, fmt.Errorf("metrics: reading slot %q: %w", r.slot, res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 7 {
		return slotReading{}, fmt.Errorf("metrics: reading slot %q: %w", r.slot, errors.New("unexpected result"))
	}
	return parseSlotRow(res.Rows[0])
}

// parseSlotRow turns slotQuery's row (text format) into a reading.
func parseSlotRow(row [][]byte) (slotReading, error) {
	var st slotReading
	st.exists = string(row[0]) == "t"
	st.active = string(row[1]) == "t"
	st.walStatus = string(row[2])
	nums := []**float64{&st.safeWALSize, &st.confirmed, &st.lag}
	for i, p := range nums {
		s := string(row[3+i])
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return slotReading{}, fmt.Errorf("metrics: reading the slot: column %d: %q is not a number", 4+i, s)
		}
		*p = &v
	}
	if s := string(row[6]); s != "" {
		sec, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return slotReading{}, fmt.Errorf("metrics: reading the slot: backend_start: %q is not a number", s)
		}
		st.walsenderStart = time.Unix(0, int64(sec*1e9))
	}
	return st, nil
}
