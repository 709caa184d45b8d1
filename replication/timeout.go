package replication

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// A silent server is not always a dead path.
//
// While a walsender replays a large transaction (committed rows of tables
// outside the publication are decoded and dropped one by one) it sends
// nothing, and it reads none of the Source's requests for a keepalive;
// it sends one by itself only every wal_sender_timeout/2 (30 s by
// default). Giving up after Config.Timeout of silence would reconnect in
// the middle of the replay, and the next walsender would replay the same
// transaction from the start, forever. So a connection silent past
// Config.Timeout is checked on a side connection first: if the
// session's walsender is at work (not waiting for the Source, nor idle
// with the request for a keepalive unanswered), the Source waits another
// Timeout and checks again. A frozen path fails the side connection as
// well (or leaves the walsender blocked writing, or idle), so it is
// still given up within about two Timeouts (Timeout plus at least 3 s).

const (
	// busyWarnEvery bounds the warnings that the Source waits for a busy
	// walsender.
	busyWarnEvery = time.Minute
	// minCheckTimeout is the least time a look at the walsender may
	// take (connecting included): on a loaded machine a short Timeout
	// would fail it while the path works.
	minCheckTimeout = 3 * time.Second
)

// walSenderTimeout reads the server's wal_sender_timeout (0: disabled)
// on the replication connection, before START_REPLICATION.
func walSenderTimeout(ctx context.Context, conn *pgconn.PgConn) (time.Duration, error) {
	res, err := conn.Exec(ctx, `SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_sender_timeout'`).ReadAll()
	if err == nil && (len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) != 1) {
		err = errors.New("unexpected result")
	}
	if err != nil {
		return 0, fmt.Errorf("replication: reading wal_sender_timeout: %w", err)
	}
	ms, err := strconv.ParseInt(string(res[0].Rows[0][0]), 10, 64)
	if err != nil || ms < 0 {
		return 0, fmt.Errorf("replication: reading wal_sender_timeout: %q", res[0].Rows[0][0])
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// openSide opens a short ordinary (not replication) connection with the
// Source's connection string, for queries the replication connection
// cannot run while it streams or waits. The caller closes it with
// closeSide. answered, if not nil, is set as soon as the server sends
// anything, so that an attempt that fails later (a backend held up at
// start by a lock, say) still shows that the server is reachable. A
// server sends something before its backend has started when it asks for
// a password or answers a TLS request; with trust authentication and no
// TLS it sends nothing until the backend is ready.
func openSide(ctx context.Context, cfg Config, answered *atomic.Bool) (*pgconn.PgConn, error) {
	pc, err := parseConnString(cfg.ConnString, cfg)
	if err != nil {
		return nil, err
	}
	delete(pc.RuntimeParams, "replication")
	pc.RuntimeParams["application_name"] = pc.RuntimeParams["application_name"] + " (check)"
	if answered != nil {
		// Below TLS, so that the server's answer to the TLS request
		// counts too.
		dial := pc.DialFunc
		pc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &answerConn{Conn: c, answered: answered}, nil
		}
	}
	return pgconn.ConnectConfig(ctx, pc)
}

// answerConn notes the first bytes the server sends.
type answerConn struct {
	net.Conn
	answered *atomic.Bool
}

func (c *answerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.answered.Store(true)
	}
	return n, err
}

// closeSide closes a side connection within closeTimeout.
func closeSide(conn *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}

// walsenderBusy reports, from pg_stat_activity on a side connection,
// whether the session's walsender is at work: it exists, is active, and
// waits neither for the client (wait event type Client: reading from or
// writing to the Source) nor for something to do (Activity: idle, so it
// would have answered the request for a keepalive). detail describes
// what was found, for the error and the log.
func (ss *session) walsenderBusy(ctx context.Context, answered *atomic.Bool) (busy bool, detail string, err error) {
	conn, err := openSide(ctx, ss.s.cfg, answered)
	if err != nil {
		return false, "", err
	}
	defer closeSide(conn)
	pid := ss.conn.PID()
	res, err := conn.Exec(ctx, `SELECT COALESCE(state, ''), COALESCE(wait_event_type, ''), COALESCE(wait_event, '')
FROM pg_catalog.pg_stat_activity WHERE pid = `+strconv.FormatUint(uint64(pid), 10)).ReadAll()
	if err != nil {
		return false, "", err
	}
	if len(res) != 1 || len(res[0].Rows) == 0 {
		return false, fmt.Sprintf("walsender %d is gone", pid), nil
	}
	row := res[0].Rows[0]
	state, waitType, wait := string(row[0]), string(row[1]), string(row[2])
	detail = fmt.Sprintf("walsender %d is %s", pid, state)
	if wait != "" {
		detail += ", waiting on " + waitType + "/" + wait
	} else {
		detail += ", on CPU"
	}
	busy = state == "active" && waitType != "Client" && waitType != "Activity"
	return busy, detail, nil
}

// checkSilence runs when the connection was silent past Config.Timeout:
// it returns an error wrapping ErrSilent unless the walsender is found at
// work, in which case it lets the session wait another Timeout.
func (ss *session) checkSilence(now time.Time, silent time.Duration) error {
	s := ss.s
	if now.Before(ss.busyUntil) {
		return nil
	}
	ctx := ss.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, max(s.cfg.Timeout, minCheckTimeout))
	defer cancel()
	var answered atomic.Bool
	busy, detail, err := ss.walsenderBusy(ctx, &answered)
	var pgErr *pgconn.PgError
	switch {
	case err != nil && (errors.As(err, &pgErr) || answered.Load()) && ss.walSenderTimeout > 0 &&
		silent < ss.walSenderTimeout/2+s.cfg.Timeout:
		// The server answered but refused the check (too many
		// connections, say), or did not finish starting its backend (a
		// lock held on a catalog every backend reads as it starts): the
		// path works. A busy walsender sends a keepalive every
		// wal_sender_timeout/2; wait for that long.
		ss.busyUntil = ss.lastRecv.Add(ss.walSenderTimeout/2 + s.cfg.Timeout)
		s.log.Warn("replication: the server has sent nothing for a while; the server answers, but the look at its walsender did not finish: waiting for the walsender's keepalive instead of reconnecting",
			"slot", s.cfg.Slot, "silent", silent.Round(time.Millisecond), "err", err,
			"wait_until", ss.busyUntil.Format(time.RFC3339), "wal_sender_timeout", ss.walSenderTimeout)
		return nil
	case err != nil:
		return fmt.Errorf("%w (silent for %v; checking on the walsender failed: %w)", ErrSilent, silent.Round(time.Millisecond), err)
	case !busy:
		return fmt.Errorf("%w (silent for %v; %s)", ErrSilent, silent.Round(time.Millisecond), detail)
	}
	ss.busyUntil = time.Now().Add(s.cfg.Timeout)
	s.busyWaits.Add(1)
	t := time.Now().UnixNano()
	if last := s.lastBusyLog.Load(); last == 0 || t-last >= int64(busyWarnEvery) {
		s.lastBusyLog.Store(t)
		s.log.Warn("replication: the server has sent nothing for a while, but its walsender is at work (replaying a large transaction, perhaps to tables outside the publication): waiting for it instead of reconnecting",
			"slot", s.cfg.Slot, "silent", silent.Round(time.Millisecond), "walsender", detail,
			"wal_sender_timeout", ss.walSenderTimeout, "timeout", s.cfg.Timeout)
	}
	return nil
}
