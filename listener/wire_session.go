package listener

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// maxBatch is how many events the reader collects before handing them to
// the dispatcher even though more are buffered: it bounds the delay of the
// first event of a long burst.
const maxBatch = 1024

// wireSession is one LISTEN session on a connection taken over from pgx:
// its goroutine is the connection's only reader and writer.
type wireSession struct {
	l  *Listener
	d  *dispatcher
	nc net.Conn
	r  *wireReader

	wbuf     []byte
	inflight int  // queries sent whose ReadyForQuery has not been read
	broken   bool // the stream cannot be trusted: close without UNLISTEN

	batch    []pubsub.Event // read, not yet handed to the dispatcher
	received uint64         // change notifications not yet counted in l.received
	activity uint64         // notifications read, probes included
	probeDue time.Time      // zero when no probe is outstanding
}

// takeOver takes conn's socket from pgx. pgx may read ahead (a background
// reader runs during slow writes, and reads are buffered): SyncConn
// returns once nothing is buffered or being read, which holds on an idle
// connection that listens to nothing; it may ping, bounded by timeout and
// ctx. conn is closed on error and unusable on success.
func takeOver(ctx context.Context, conn *pgx.Conn, timeout time.Duration) (net.Conn, error) {
	pg := conn.PgConn()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	err := pg.SyncConn(sctx)
	cancel()
	if err == nil {
		hj, herr := pg.Hijack()
		switch {
		case herr != nil:
			err = herr
		case hj.Frontend.ReadBufferLen() > 0:
			_ = hj.Conn.Close()
			return nil, errors.New("listener: take over connection: pgx holds unread bytes")
		default:
			return hj.Conn, nil
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(cctx)
	return nil, fmt.Errorf("listener: take over connection: %w", err)
}

// listen sends LISTEN on the change channel and on the private probe
// channel, both quoted as identifiers, and reads the reply within one
// ProbeInterval. Notifications that arrive with the reply are kept in the
// batch, to be handed over after the Resync.
func (s *wireSession) listen(ctx context.Context) error {
	sql := "LISTEN " + pgx.Identifier{s.l.cfg.Channel}.Sanitize() + "; LISTEN " + pgx.Identifier{s.l.probeChannel}.Sanitize()
	if err := s.query(ctx, sql, time.Now().Add(s.l.cfg.ProbeInterval)); err != nil {
		return fmt.Errorf("listener: LISTEN: %w", err)
	}
	for s.inflight > 0 {
		typ, body, err := s.r.next()
		if err != nil {
			if isTimeout(err) && ctx.Err() != nil {
				return ctx.Err()
			}
			s.broken = true
			return fmt.Errorf("listener: LISTEN: %w", err)
		}
		if err := s.handle(typ, body); err != nil {
			return fmt.Errorf("listener: LISTEN: %w", err)
		}
	}
	return nil
}

// handle acts on one message. Change notifications are parsed into the
// batch; an ErrorResponse or a malformed message ends the session.
func (s *wireSession) handle(typ byte, body []byte) error {
	switch typ {
	case msgNotification:
		channel, payload, err := parseNotification(body)
		if err != nil {
			s.broken = true
			return err
		}
		s.activity++
		// The comparisons do not allocate; only a change gets a string,
		// which the event's fields then share.
		switch string(channel) {
		case s.l.cfg.Channel:
			s.change(string(payload))
		case s.l.probeChannel:
			s.probeDue = time.Time{}
		}
	case msgReadyForQuery:
		if s.inflight > 0 {
			s.inflight--
		}
	case msgErrorResponse:
		// A FATAL error precedes the server closing the socket; an ERROR
		// answers a probe or LISTEN that failed. Neither leaves a session
		// worth keeping.
		s.broken = true
		return parseError(body)
	}
	return nil
}

func (s *wireSession) change(payload string) {
	s.received++
	ev, err := ParsePayload(payload)
	if err != nil {
		s.l.invalids.Add(1)
		s.l.logInvalid(payload, err)
		return
	}
	s.batch = append(s.batch, ev)
}

// flush hands the batch to the dispatcher. It blocks while the dispatcher
// holds maxPending events, until it catches up or ctx ends.
func (s *wireSession) flush(ctx context.Context) {
	if s.received > 0 {
		s.l.received.Add(s.received)
		s.received = 0
	}
	if len(s.batch) == 0 {
		return
	}
	s.d.pushBatch(ctx, s.batch)
	clear(s.batch) // the dispatcher copied them; drop the payload references
	s.batch = s.batch[:0]
}

// probe notifies the probe channel. The write is bounded by
// ProbeInterval; the replies are read by the read loop.
func (s *wireSession) probe(ctx context.Context, counter uint64) error {
	s.l.probes.Add(1)
	sql := "NOTIFY " + pgx.Identifier{s.l.probeChannel}.Sanitize() + ", '" + strconv.FormatUint(counter, 10) + "'"
	if err := s.query(ctx, sql, time.Now().Add(s.l.cfg.ProbeInterval)); err != nil {
		return fmt.Errorf("listener: probe: %w", err)
	}
	return nil
}

// query writes a Query message, blocking until the socket takes it or
// deadline passes. The caller re-arms the read deadline afterwards.
func (s *wireSession) query(ctx context.Context, sql string, deadline time.Time) error {
	// armDeadline re-checks ctx: a future deadline must not hide the past
	// one that ends the session.
	if err := armDeadline(ctx, s.nc, deadline); err != nil {
		return err
	}
	s.wbuf = appendQuery(s.wbuf[:0], sql)
	if _, err := s.nc.Write(s.wbuf); err != nil {
		s.broken = true // a partial message may have gone out
		return err
	}
	s.inflight++
	return nil
}

// close ends the session's connection. A healthy one gets UNLISTEN and,
// once every reply is read, Terminate, all within closeTimeout; others
// are just closed. Notifications read meanwhile are dropped: the context
// has ended.
func (s *wireSession) close(healthy bool) {
	defer s.nc.Close()
	if !healthy || s.broken {
		return
	}
	if err := s.query(context.Background(), "UNLISTEN *", time.Now().Add(closeTimeout)); err != nil {
		return
	}
	for s.inflight > 0 {
		typ, _, err := s.r.next()
		if err != nil || typ == msgErrorResponse {
			return
		}
		if typ == msgReadyForQuery {
			s.inflight--
		}
	}
	_, _ = s.nc.Write([]byte(terminateMessage))
}
