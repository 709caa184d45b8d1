package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// lagWarnEvery bounds the lag warnings.
const lagWarnEvery = time.Minute

// stream reads the replication stream until the connection fails or ctx
// ends. It wakes at least every min(StatusInterval, Timeout/3) to send
// status updates, ask a silent server for a keepalive, and give up on a
// connection silent for Timeout.
func (ss *session) stream(ctx context.Context) error {
	s := ss.s
	nc := ss.conn.Conn()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		ss.dmu.Lock()
		ss.stopped = true
		_ = nc.SetDeadline(time.Unix(1, 0))
		ss.dmu.Unlock()
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()
	ss.gate.ctx = ctx
	ss.relations = make(map[uint32]*relation)
	ss.chunk = make([]pubsub.Event, 0, chunkSize)
	tick := min(s.cfg.StatusInterval, s.cfg.Timeout/3)
	now := time.Now()
	ss.lastRecv = now
	ss.nextStatus = now.Add(s.cfg.StatusInterval)
	if !ss.setReadDeadline(now.Add(tick)) {
		return ctx.Err()
	}
	for {
		msg, err := ss.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				// Between transactions, what was decoded is handed over on a
				// clean stop, as it would have been before the next read.
				if !ss.inTxn {
					ss.flush()
				}
				ss.finalStatus()
				return ctx.Err()
			}
			if !pgconn.Timeout(err) {
				return fmt.Errorf("replication: receive: %w", err)
			}
			if err := ss.periodic(time.Now(), tick); err != nil {
				return err
			}
			continue
		}
		ss.lastRecv = time.Now()
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := ss.copyData(m.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication: server ended the stream: %w", pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyDone:
			return errors.New("replication: server ended the stream")
		}
		if err := ss.gate.halted; err != nil {
			// A hand-off stopped in its middle: what follows must not go out.
			ss.finalStatus()
			return err
		}
	}
}

// periodic runs when a read deadline passed: it ends a connection silent
// past Timeout whose walsender is not at work, asks a quiet server for a keepalive, sends the periodic
// status update, and sets the next deadline.
func (ss *session) periodic(now time.Time, tick time.Duration) error {
	s := ss.s
	silent := now.Sub(ss.lastRecv)
	if silent > s.cfg.Timeout {
		// A busy walsender is waited for (timeout.go).
		if err := ss.checkSilence(now, silent); err != nil {
			return err
		}
	}
	ask := silent > s.cfg.Timeout/3 && !ss.askedAt.After(ss.lastRecv)
	if ask || !now.Before(ss.nextStatus) {
		if err := ss.sendStatus(ask); err != nil {
			return err
		}
		if ask {
			ss.askedAt = now
		}
		ss.nextStatus = now.Add(s.cfg.StatusInterval)
	}
	if !ss.setReadDeadline(now.Add(tick)) {
		return context.Canceled
	}
	return nil
}

// setReadDeadline moves the read deadline unless the session was stopped;
// it reports whether it did.
func (ss *session) setReadDeadline(t time.Time) bool {
	ss.dmu.Lock()
	defer ss.dmu.Unlock()
	if ss.stopped {
		return false
	}
	_ = ss.conn.Conn().SetReadDeadline(t)
	ss.gate.deadline = t
	return true
}

// copyData handles one CopyData message of the stream.
func (ss *session) copyData(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("replication: %w", err)
		}
		ss.serverEnd = max(ss.serverEnd, pkm.ServerWALEnd)
		// Between transactions everything up to the server's position
		// was sent and handed on: confirming it keeps writes to tables
		// outside the publication from pinning WAL in the slot.
		if !ss.inTxn && len(ss.chunk) == 0 {
			ss.ack = max(ss.ack, pkm.ServerWALEnd)
		}
		if pkm.ReplyRequested || ss.idleStatusDue() {
			return ss.sendStatus(false)
		}
		ss.noteLag()
		return nil
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("replication: %w", err)
		}
		ss.serverEnd = max(ss.serverEnd, xld.ServerWALEnd)
		return ss.message(xld.WALData)
	}
	return nil
}

// confirmable is the position to confirm: ack, bounded by
// Config.ConfirmLimit and by what ack mailboxes did not acknowledge,
// never below what was confirmed already.
func (ss *session) confirmable() pglogrepl.LSN {
	pos := ss.ackLimit(ss.ack)
	if f := ss.s.cfg.ConfirmLimit; f != nil {
		pos = min(pos, pglogrepl.LSN(f()))
	}
	return max(pos, ss.sentAck)
}

// sendStatus reports ack, bounded by Config.ConfirmLimit, as written,
// flushed and applied; reply asks the server for a keepalive at once.
func (ss *session) sendStatus(reply bool) error {
	ss.dmu.Lock()
	if !ss.stopped {
		_ = ss.conn.Conn().SetWriteDeadline(time.Now().Add(ss.s.cfg.Timeout))
	}
	ss.dmu.Unlock()
	pos := ss.confirmable()
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), ss.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: pos,
		WALFlushPosition: pos,
		WALApplyPosition: pos,
		ReplyRequested:   reply,
	})
	if err != nil {
		return fmt.Errorf("replication: sending status update: %w", err)
	}
	ss.sentAck = pos
	ss.gate.lastStatus = time.Now()
	ss.s.confirmed.Store(uint64(pos))
	ss.noteLag()
	return nil
}

// finalStatus confirms the last position before a clean stop, so that the
// next reader (this process restarted, or a standby) starts right there.
func (ss *session) finalStatus() {
	if ss.confirmable() == ss.sentAck {
		return
	}
	ss.dmu.Lock()
	_ = ss.conn.Conn().SetWriteDeadline(time.Now().Add(closeTimeout))
	ss.dmu.Unlock()
	_ = ss.sendStatus(false)
}

// noteLag updates Stats.LagBytes and warns, at most once a minute, when
// the slot retains more than LagWarnBytes.
func (ss *session) noteLag() {
	s := ss.s
	lag := int64(0)
	if ss.serverEnd > ss.sentAck {
		lag = int64(ss.serverEnd - ss.sentAck)
	}
	s.lagBytes.Store(lag)
	if lag < s.cfg.LagWarnBytes {
		return
	}
	now := time.Now().UnixNano()
	if last := s.lastLagLog.Load(); last != 0 && now-last < int64(lagWarnEvery) {
		return
	}
	s.lastLagLog.Store(now)
	s.log.Warn("replication: the slot retains much WAL: subscribers or the Source fall behind",
		"slot", s.cfg.Slot, "lag_bytes", lag, "threshold", s.cfg.LagWarnBytes)
}
