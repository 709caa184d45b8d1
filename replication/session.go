package replication

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// closeTimeout bounds the final status update and Close at the end of a
// session, so that Serve returns within about a second of ctx ending.
const closeTimeout = 400 * time.Millisecond

// session is one replication connection, from connect to close. Only the
// goroutine running Serve uses it.
type session struct {
	s         *Source
	conn      *pgconn.PgConn
	streaming bool // START_REPLICATION succeeded
	failover  bool // the slot is to be a failover slot (failover.go)

	// dmu orders socket deadline changes against the hook that wakes the
	// reader when ctx ends: once stopped, nobody moves the deadline back.
	dmu     sync.Mutex
	stopped bool

	ctx       context.Context      // Serve's, for the side connection of lookupTypes
	relations map[uint32]*relation // this connection's relation cache
	types     *typeCache           // this connection's type resolutions
	rowMsg    rowMsg               // the row message being decoded, reused
	cells     []pubsub.Cell        // the cells of the row being built, reused

	// The open transaction.
	inTxn       bool
	txnLSN      pubsub.LSN
	txnXid      uint32
	commitTime  time.Time
	idx         int        // events of the transaction seen so far
	skip        int        // events of the transaction handed over before
	skipAll     bool       // the whole transaction was handed over before
	txnTables   []txnTable // the tables it changed, for its commit marks
	chunk       []pubsub.Event
	warnedNonTx bool     // a non-transactional message was logged
	done        doneTxns // committed, their events still in chunk

	ack       pglogrepl.LSN // the position safe to confirm
	sentAck   pglogrepl.LSN // the position last confirmed
	serverEnd pglogrepl.LSN // the server's WAL end as last reported

	lastRecv   time.Time
	askedAt    time.Time // when a keepalive was last asked for
	nextStatus time.Time

	identity         serverIdentity // the server, as IDENTIFY_SYSTEM said
	walSenderTimeout time.Duration  // the server's; 0 when disabled
	busyUntil        time.Time      // the walsender was found at work: silence is fine until then

	gate gate // waiting hand-offs and the status cadence (ack.go)
}

// doneTxns are transactions whose Commit was read: their greatest commit
// LSN (transactions replayed whole left out) and end LSN.
type doneTxns struct {
	any    bool // a transaction not replayed whole committed
	commit pubsub.LSN
	end    pglogrepl.LSN
}

// run connects, prepares the slot, starts streaming and streams until the
// connection fails or ctx ends. It always closes the connection.
// streamedBefore says whether an earlier session of this Serve streamed.
func (ss *session) run(ctx context.Context, streamedBefore bool) error {
	s := ss.s
	ss.ctx = ctx
	ss.types = newTypeCache()
	pc, err := parseConnString(s.cfg.ConnString, s.cfg)
	if err != nil {
		return err
	}
	pc.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(&beforeRead{r: r, ss: ss, sleep: time.Sleep, now: time.Now}, w)
	}
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("replication: connect: %w", err)
	}
	ss.conn = conn
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = conn.Close(cctx)
	}()

	reason, start, err := ss.prepare(ctx)
	if err != nil {
		return err
	}
	ss.streaming = true
	if streamedBefore {
		s.reconnects.Add(1)
	}
	s.started.Store(true)
	ss.noteServer()
	if reason != "" {
		// In order: after everything published before, before anything
		// this connection publishes.
		s.resync(reason)
		s.owed = ""
	}
	ss.ack, ss.sentAck = start, start
	s.confirmed.Store(uint64(start))
	s.connected.Store(true)
	defer s.connected.Store(false)
	s.ready.Set(true)
	defer s.ready.Set(false)
	s.log.Info("replication: streaming", "slot", s.cfg.Slot, "publication", s.cfg.Publication,
		"backend_pid", conn.PID(), "from", start.String(), "reconnects", s.reconnects.Load())
	return ss.stream(ctx)
}

// prepare checks the server and the slot on the fresh connection, creates
// the slot when needed and sends START_REPLICATION. It returns the Resync
// reason this connection owes subscribers ("" for none) and the position
// the stream starts from. Setup steps are bounded by Config.Timeout, slot
// creation by Config.SlotCreateTimeout.
func (ss *session) prepare(ctx context.Context) (reason pubsub.Reason, start pglogrepl.LSN, err error) {
	s := ss.s
	slot := s.cfg.Slot
	sctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := checkServerVersion(ss.conn); err != nil {
		return "", 0, err
	}
	st, err := readState(sctx, ss.conn, slot, s.cfg.Publication)
	if err != nil {
		return "", 0, err
	}
	if st.walLevel != "logical" {
		return "", 0, fmt.Errorf("%w (it is %q)", ErrWALLevel, st.walLevel)
	}
	if !st.pubExists {
		return "", 0, fmt.Errorf("%w: %q", ErrNoPublication, s.cfg.Publication)
	}
	if s.cfg.Messages && st.serverVersion < 140000 {
		return "", 0, fmt.Errorf("%w (server version %d)", ErrMessagesUnsupported, st.serverVersion)
	}
	// Before the slot: a new history makes a missing slot expected.
	why, err := ss.checkServer(sctx, uint64(st.currentLSN))
	if err != nil {
		return "", 0, err
	}
	if why != "" {
		s.log.Error("replication: the server's history changed: changes delivered before may be gone, and new ones may have lower positions than those; starting afresh and sending every mailbox a Resync",
			"slot", slot, "why", why, "system_identifier", ss.identity.systemID, "timeline", ss.identity.timeline,
			"reason", pubsub.ReasonServer)
		s.owe(pubsub.ReasonServer)
	}
	if !s.started.Load() {
		reason = pubsub.ReasonStart
	}
	ss.failover = !s.cfg.Temporary && ss.useFailover(st)
	start = st.confirmed
	switch {
	case st.exists && st.activePID != 0:
		if s.cfg.TakeOverSlot {
			terminateHolder(sctx, ss.conn, slot, st.activePID, s.log)
		}
		return "", 0, &slotBusyError{pid: st.activePID}
	case st.exists && (!st.ours || st.temporary != s.cfg.Temporary):
		return "", 0, fmt.Errorf("%w: slot %q exists for another database, output plugin or persistence", ErrSlotOtherDatabase, slot)
	case s.cfg.Temporary:
		if start, err = ss.createSlotWaiting(ctx, true); err != nil {
			return "", 0, err
		}
		if s.started.Load() {
			reason = pubsub.ReasonReconnect
		}
	case st.exists && st.walStatus == "lost":
		s.log.Error("replication: the slot was invalidated (wal_status lost: it fell behind max_slot_wal_keep_size); changes since are gone: recreating it and sending every mailbox a Resync",
			"slot", slot, "reason", pubsub.ReasonSlot)
		if err := dropSlot(sctx, ss.conn, slot); err != nil {
			return "", 0, err
		}
		s.owe(pubsub.ReasonSlot)
		if start, err = ss.createSlotWaiting(ctx, false); err != nil {
			return "", 0, err
		}
		s.slotsCreated.Add(1)
	case !st.exists:
		switch {
		case why != "":
			s.log.Info("replication: creating slot on the new server", "slot", slot, "failover", ss.failover)
		case s.hadSlot.Load():
			ss.slotGone(st)
			s.owe(pubsub.ReasonSlot)
		default:
			s.log.Info("replication: creating slot", "slot", slot, "failover", ss.failover)
		}
		if start, err = ss.createSlotWaiting(ctx, false); err != nil {
			return "", 0, err
		}
		s.slotsCreated.Add(1)
	case ss.failover:
		changed, err := makeFailover(sctx, ss.conn, slot)
		if err != nil {
			return "", 0, err
		}
		if changed {
			s.log.Info("replication: made the slot a failover slot", "slot", slot)
		}
	}
	if !s.cfg.Temporary {
		s.hadSlot.Store(true)
	}
	if s.owed != "" {
		reason = s.owed
	}
	// Slot creation may have taken longer than a setup step may.
	cancel()
	sctx, cancelRest := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancelRest()
	if ss.walSenderTimeout, err = walSenderTimeout(sctx, ss.conn); err != nil {
		return "", 0, err
	}
	// Before START_REPLICATION: the connection takes simple queries
	// until it is in COPY mode.
	if err := ss.types.preload(sctx, pgconnQuery(ss.conn), s.cfg.Publication); err != nil {
		return "", 0, err
	}
	if err := startStream(sctx, ss.conn, slot, s.cfg.Publication, s.cfg.Messages); err != nil {
		return "", 0, err
	}
	return reason, start, nil
}

// owe records that the next connection to stream owes subscribers a
// Resync for reason, a new slot (pubsub.ReasonSlot) or a new server
// history (pubsub.ReasonServer, which wins), and forgets the position:
// the new slot or server's transactions are all new, whatever their LSNs.
func (s *Source) owe(reason pubsub.Reason) {
	if s.owed != pubsub.ReasonServer {
		s.owed = reason
	}
	s.resetPosition()
}
