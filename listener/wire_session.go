package listener

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/phoenixkit/phoenixkitdb/internal/strblock"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// sqlstateLockNotAvailable is lock_timeout's SQLSTATE.
const sqlstateLockNotAvailable = "55P03"

// maxBatch is how many events the reader collects before handing them to
// the dispatcher even though more are buffered: it bounds the delay of the
// first event of a long burst. It is also the size of a chunk (dispatch.go),
// 35 KiB: small enough that the chunk the reader refills after publishing
// it inline is still in the core's cache (with chunks of 1,024 events,
// 139 KiB, writing the events was a quarter of the reader's time in a
// profile), large enough that a PubSub call per chunk costs next to
// nothing per event.
const maxBatch = 256

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

	batch    *chunk         // read, not yet handed to the dispatcher; nil until the first change
	names    tableNames     // the tables of this session's changes, interned
	ids      strblock.Block // where row ids are copied
	received uint64         // change notifications not yet counted in l.received
	changes  uint64         // change notifications read in this session
	activity uint64         // messages read, probes' replies included
	probeDue time.Time      // zero when no probe is outstanding
	probeAt  time.Time      // when the outstanding probe was sent, for ProbeRTT
	cross    crossProbe     // the cross-session probe (crossprobe.go)
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

// sessionSettings returns the SQL that protects the Listener's session
// from server-side timeouts a role or database may set for ordinary
// clients: an idle listening session is healthy, and idle_session_timeout
// (PostgreSQL 14 and later, hence the version test) would end it at every
// quiet moment. They are sent as SQL with LISTEN rather than as startup
// parameters, which PgBouncer refuses unless told to ignore them.
//
// lock_timeout bounds the one lock the session ever waits for: the
// database-wide lock a notifying commit takes, which a big transaction
// holds while it writes its notifications to the queue. A probe that
// waited for it longer would stay silent and pass for a dead connection;
// this way the server answers within a quarter ProbeInterval, with an
// error that handle takes as a sign of life.
func sessionSettings(probeInterval time.Duration) string {
	lockTimeout := max(probeInterval/4, time.Millisecond)
	return "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; " +
		"SET lock_timeout = " + strconv.FormatInt(lockTimeout.Milliseconds(), 10) + "; " +
		"SELECT pg_catalog.set_config('idle_session_timeout', '0', false) " +
		"WHERE pg_catalog.current_setting('server_version_num')::int >= 140000; "
}

// listen applies sessionSettings, then sends LISTEN on the change channel
// and on the private probe channel, both quoted as identifiers, and reads
// the reply within one ProbeInterval. Notifications that arrive with the
// reply are kept in the batch, to be handed over after the Resync.
func (s *wireSession) listen(ctx context.Context) error {
	sql := sessionSettings(s.l.cfg.ProbeInterval) + "LISTEN " + pgx.Identifier{s.l.cfg.Channel}.Sanitize() + "; LISTEN " + pgx.Identifier{s.l.probeChannel}.Sanitize()
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
		if payload, ok := s.changePayload(body); ok {
			s.changes++
			s.change(payload)
			return nil
		}
		channel, payload, err := parseNotification(body)
		if err != nil {
			s.broken = true
			return err
		}
		// The comparisons do not allocate.
		switch string(channel) {
		case s.l.cfg.Channel:
			s.changes++
			s.change(payload)
		case s.l.probeChannel:
			if isCrossPayload(payload) {
				s.crossEcho(payload)
			} else {
				s.probeDue = time.Time{}
				if !s.probeAt.IsZero() {
					s.l.probeRTT.observe(time.Since(s.probeAt))
					s.probeAt = time.Time{}
				}
			}
		}
	case msgReadyForQuery:
		if s.inflight > 0 {
			s.inflight--
		}
	case msgErrorResponse:
		// A FATAL error precedes the server closing the socket; an ERROR
		// answers a probe or LISTEN that failed. Neither leaves a session
		// worth keeping, except a probe that gave up waiting for the
		// notification lock (see sessionSettings): the server answered.
		err := parseError(body)
		var pgErr *pgconn.PgError
		if !s.probeDue.IsZero() && errors.As(err, &pgErr) && pgErr.Code == sqlstateLockNotAvailable && pgErr.Severity == "ERROR" {
			s.probeDue = time.Time{}
			s.probeAt = time.Time{} // no echo will come
			s.l.log.Debug("listener: probe gave up waiting for the notification lock; the server is busy committing notifications",
				"channel", s.l.cfg.Channel)
			return nil
		}
		s.broken = true
		return err
	}
	return nil
}

// changePayload recognises a well-formed notification on the change
// channel, nearly every message of a burst, by its channel name in place:
// body is the sender's PID, the channel and the payload, both
// NUL-terminated. It returns the payload, aliasing body, and false for
// anything else, which parseNotification then handles (or rejects).
func (s *wireSession) changePayload(body []byte) ([]byte, bool) {
	ch := s.l.cfg.Channel
	start := 4 + len(ch) + 1
	if len(body) <= start || body[len(body)-1] != 0 || body[start-1] != 0 || string(body[4:start-1]) != ch {
		return nil, false
	}
	payload := body[start : len(body)-1]
	if bytes.IndexByte(payload, 0) >= 0 {
		return nil, false
	}
	return payload, true
}

// change parses a change notification's payload, which aliases the read
// buffer, into the batch.
func (s *wireSession) change(payload []byte) {
	s.received++
	if s.batch == nil {
		s.batch = s.d.newChunk()
	}
	// Parsed in place into the chunk's next slot, which counts only once
	// the payload proved valid.
	evs := s.batch.evs
	if len(evs) < cap(evs) {
		evs = evs[:len(evs)+1]
	} else {
		evs = append(evs, pubsub.Event{})
	}
	if err := parseChange(&evs[len(evs)-1], payload, &s.names, &s.ids); err != nil {
		s.l.invalids.Add(1)
		s.l.logInvalid(string(payload), err)
		return
	}
	s.batch.evs = evs
}

// batched returns the number of events in the batch.
func (s *wireSession) batched() int {
	if s.batch == nil {
		return 0
	}
	return len(s.batch.evs)
}

// flush hands the batch to the dispatcher. It blocks while the dispatcher
// holds maxPending events, until it catches up or ctx ends, and reports
// whether it blocked.
func (s *wireSession) flush(ctx context.Context) (blocked bool) {
	if s.received > 0 {
		s.l.received.Add(s.received)
		s.received = 0
	}
	if s.batched() == 0 {
		return false
	}
	// The chunk goes to the dispatcher as it is; the next one comes back.
	s.batch, blocked = s.d.pushChunk(ctx, s.batch)
	return blocked
}

// probe notifies the probe channel. The write is bounded by
// ProbeInterval; the replies are read by the read loop.
func (s *wireSession) probe(ctx context.Context, counter uint64) error {
	s.l.probes.Add(1)
	sql := "NOTIFY " + pgx.Identifier{s.l.probeChannel}.Sanitize() + ", '" + strconv.FormatUint(counter, 10) + "'"
	sent := time.Now()
	if err := s.query(ctx, sql, sent.Add(s.l.cfg.ProbeInterval)); err != nil {
		return fmt.Errorf("listener: probe: %w", err)
	}
	s.probeAt = sent
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
