package replication

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
)

// Slot creation waits for transactions.
//
// CREATE_REPLICATION_SLOT cannot finish while a transaction that has an
// xid (it wrote something) and was running when it began is still open:
// the slot's first snapshot needs them ended. A session left idle in a
// transaction holds it up for as long as it stays so. That is not a dead
// connection, so slot creation has a bound of its own,
// Config.SlotCreateTimeout, and while it waits the Source says, on a
// side connection, which backends hold it up.

const (
	// slotWaitWarnAfter is how long slot creation waits before the
	// Source names what holds it up, and slotWaitWarnEvery how often it
	// does so again.
	slotWaitWarnAfter = 2 * time.Second
	slotWaitWarnEvery = 5 * time.Second
	// slotWaitCheckTimeout bounds one look at pg_stat_activity.
	slotWaitCheckTimeout = 5 * time.Second
	// maxHolders bounds the backends named in one warning.
	maxHolders = 10
)

// createSlotWaiting creates the slot as createSlot does, bounded by
// Config.SlotCreateTimeout instead of Timeout, and warns every few
// seconds while it waits, naming the backends that hold it up. It
// returns once the goroutine it starts has ended.
func (ss *session) createSlotWaiting(ctx context.Context, temporary bool) (pglogrepl.LSN, error) {
	s := ss.s
	cctx, cancel := context.WithTimeout(ctx, s.cfg.SlotCreateTimeout)
	defer cancel()
	s.creatingSlot.Store(true)
	defer s.creatingSlot.Store(false)
	began := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ss.watchSlotCreation(cctx, done, began)
	}()
	lsn, err := ss.newSlot(cctx, temporary)
	close(done)
	wg.Wait()
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return 0, fmt.Errorf("%w: waited %v for the transactions open when it began to end: %w",
			ErrSlotCreateTimeout, s.cfg.SlotCreateTimeout, err)
	}
	if err == nil && time.Since(began) >= slotWaitWarnAfter {
		s.log.Info("replication: slot created", "slot", s.cfg.Slot, "waited", time.Since(began).Round(time.Millisecond))
	}
	return lsn, err
}

// watchSlotCreation warns, after slotWaitWarnAfter and then every
// slotWaitWarnEvery until done is closed or ctx ends, that slot
// creation waits and for which backends.
func (ss *session) watchSlotCreation(ctx context.Context, done <-chan struct{}, began time.Time) {
	s := ss.s
	pid := ss.conn.PID()
	t := time.NewTimer(slotWaitWarnAfter)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		holders, err := slotHolders(ctx, s.cfg, pid)
		select {
		case <-done:
			return
		default:
		}
		waited := time.Since(began).Round(time.Second)
		if err != nil {
			s.log.Warn("replication: creating the slot waits for transactions that were open when it began to end; cannot tell which",
				"slot", s.cfg.Slot, "waited", waited, "limit", s.cfg.SlotCreateTimeout, "err", err)
		} else {
			s.log.Warn("replication: creating the slot waits for transactions that were open when it began to end (CREATE_REPLICATION_SLOT needs them finished); end them or wait",
				"slot", s.cfg.Slot, "waited", waited, "limit", s.cfg.SlotCreateTimeout, "walsender_pid", pid, "holders", holders)
		}
		t.Reset(slotWaitWarnEvery)
	}
}

// slotHolders lists, on a side connection, the backends that may hold up
// the slot creation of walsender pid: those it waits for now
// (pg_blocking_pids) first, then every other one with an xid, oldest
// transaction first. Each is described as "pid=N application_name=...
// xact_age=... state=..."; without the pg_read_all_stats role the age
// and state of other roles' sessions are unknown and the others with an
// xid are not seen.
func slotHolders(ctx context.Context, cfg Config, pid uint32) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, slotWaitCheckTimeout)
	defer cancel()
	conn, err := openSide(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	defer closeSide(conn)
	w := strconv.FormatUint(uint64(pid), 10)
	res, err := conn.Exec(ctx, `SELECT a.pid, COALESCE(a.application_name, ''),
	COALESCE(round(EXTRACT(epoch FROM now() - a.xact_start))::bigint::text, ''), COALESCE(a.state, '')
FROM pg_catalog.pg_stat_activity AS a, (SELECT pg_catalog.pg_blocking_pids(`+w+`) AS pids) AS b
WHERE a.pid = ANY (b.pids) OR (a.backend_xid IS NOT NULL AND a.pid <> `+w+` AND a.pid <> pg_catalog.pg_backend_pid())
ORDER BY a.pid = ANY (b.pids) DESC, a.xact_start NULLS LAST
LIMIT `+strconv.Itoa(maxHolders)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, errors.New("unexpected result")
	}
	holders := make([]string, 0, len(res[0].Rows))
	for _, row := range res[0].Rows {
		age := "unknown"
		if secs, err := strconv.ParseInt(string(row[2]), 10, 64); err == nil {
			age = (time.Duration(secs) * time.Second).String()
		}
		state := string(row[3])
		if state == "" {
			state = "unknown"
		}
		holders = append(holders, fmt.Sprintf("pid=%s application_name=%q xact_age=%s state=%q", row[0], row[1], age, state))
	}
	return holders, nil
}
