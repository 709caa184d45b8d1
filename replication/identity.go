package replication

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// The server's identity and history.
//
// Source.pos skips every transaction whose commit LSN is not past the
// last one handed over: that is what makes a replay after a restart
// exactly once. It is right only while the LSNs come from one history.
// A database restored from a backup, recovered to a point in time, or
// moved to a promoted standby that lagged behind has LSNs that go back,
// and its new commits would be skipped as replays. So every connection
// asks the server who it is (IDENTIFY_SYSTEM) before streaming, and the
// Source starts afresh, with a Resync (pubsub.ReasonServer), when the
// answer shows another history.

// serverIdentity is what IDENTIFY_SYSTEM tells: the cluster's system
// identifier (fixed by initdb, kept by backups and standbys) and the
// timeline (raised by every promotion and point-in-time recovery).
type serverIdentity struct {
	systemID uint64
	timeline uint32
}

// identify runs IDENTIFY_SYSTEM on the replication connection.
func identify(ctx context.Context, conn *pgconn.PgConn) (serverIdentity, error) {
	res, err := pglogrepl.IdentifySystem(ctx, conn)
	if err != nil {
		return serverIdentity{}, fmt.Errorf("replication: IDENTIFY_SYSTEM: %w", err)
	}
	id, err := strconv.ParseUint(res.SystemID, 10, 64)
	if err != nil || res.Timeline < 1 {
		return serverIdentity{}, fmt.Errorf("replication: IDENTIFY_SYSTEM: unexpected answer (system identifier %q, timeline %d)", res.SystemID, res.Timeline)
	}
	return serverIdentity{systemID: id, timeline: uint32(res.Timeline)}, nil
}

// historyChange says why the server's history is not the one the
// Source's position belongs to, "" when it is.
//
// prev is the identity of the last connection that streamed (zero before
// the first), cur this connection's, delivered the greatest commit LSN
// handed over (whole or in part), and walEnd the server's current WAL
// position. history returns the content of a timeline's history file.
//
// A new timeline of the same system keeps the history up to the point
// where it forked from the old one: when everything delivered lies
// before that point (a standby promoted with all of it), the position
// stays valid and nothing is said. Another system, a timeline that does
// not descend from the old one, a fork before the last delivered commit,
// or a WAL end before it (a restored snapshot of the same timeline) all
// mean the delivered changes may be gone and new ones may carry lower
// LSNs.
func historyChange(ctx context.Context, prev, cur serverIdentity, delivered, walEnd uint64,
	history func(context.Context, uint32) ([]byte, error)) (string, error) {
	switch {
	case prev == serverIdentity{}:
		return "", nil
	case prev.systemID != cur.systemID:
		return fmt.Sprintf("the server is another cluster: system identifier %d, was %d", cur.systemID, prev.systemID), nil
	case prev.timeline != cur.timeline:
		if cur.timeline < prev.timeline {
			return fmt.Sprintf("the server's timeline went back from %d to %d", prev.timeline, cur.timeline), nil
		}
		content, err := history(ctx, cur.timeline)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// The server has no history of it to give: nothing shows
			// the delivered changes are in it.
			return fmt.Sprintf("the server's timeline changed from %d to %d and its history cannot be read (%s)",
				prev.timeline, cur.timeline, pgErr.Message), nil
		}
		if err != nil {
			return "", err
		}
		forks, err := parseTimelineHistory(content)
		if err != nil {
			return fmt.Sprintf("the server's timeline changed from %d to %d and its history does not parse (%v)",
				prev.timeline, cur.timeline, err), nil
		}
		fork, ok := forks[prev.timeline]
		switch {
		case !ok:
			return fmt.Sprintf("the server's timeline %d does not descend from timeline %d", cur.timeline, prev.timeline), nil
		case delivered >= fork:
			return fmt.Sprintf("the server's timeline %d forked from timeline %d at %s, before the last delivered commit %s",
				cur.timeline, prev.timeline, pglogrepl.LSN(fork), pglogrepl.LSN(delivered)), nil
		}
	}
	if walEnd != 0 && walEnd < delivered {
		return fmt.Sprintf("the server's WAL ends at %s, before the last delivered commit %s (restored from a snapshot?)",
			pglogrepl.LSN(walEnd), pglogrepl.LSN(delivered)), nil
	}
	return "", nil
}

// errHistoryFile is wrapped by parseTimelineHistory's errors.
var errHistoryFile = errors.New("malformed timeline history file")

// parseTimelineHistory reads a timeline history file, one line per
// ancestor timeline: its number, a tab, the LSN where it ended (the
// next timeline's fork point), a tab and a free-text reason. Blank lines
// and lines starting with # are comments. It returns each ancestor's
// fork point.
func parseTimelineHistory(content []byte) (map[uint32]uint64, error) {
	forks := make(map[uint32]uint64)
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(nil, len(content)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, fmt.Errorf("%w: line %d has %d fields", errHistoryFile, n, len(fields))
		}
		tli, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: timeline %q", errHistoryFile, n, fields[0])
		}
		lsn, err := pglogrepl.ParseLSN(fields[1])
		if err != nil || !strings.Contains(fields[1], "/") {
			return nil, fmt.Errorf("%w: line %d: LSN %q", errHistoryFile, n, fields[1])
		}
		forks[uint32(tli)] = uint64(lsn)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", errHistoryFile, err)
	}
	return forks, nil
}

// timelineHistory returns the content of timeline's history file
// (TIMELINE_HISTORY) on the replication connection.
func timelineHistory(conn *pgconn.PgConn) func(context.Context, uint32) ([]byte, error) {
	return func(ctx context.Context, timeline uint32) ([]byte, error) {
		res, err := pglogrepl.TimelineHistory(ctx, conn, int32(timeline))
		if err != nil {
			return nil, fmt.Errorf("replication: TIMELINE_HISTORY %d: %w", timeline, err)
		}
		return res.Content, nil
	}
}

// checkServer identifies the server on the session's fresh connection
// and compares it with the last one streamed from. It returns why the
// position does not belong to this server's history ("" when it does);
// the caller resets it and sends a Resync. Stats report the identity.
func (ss *session) checkServer(ctx context.Context, walEnd uint64) (string, error) {
	s := ss.s
	cur, err := identify(ctx, ss.conn)
	if err != nil {
		return "", err
	}
	ss.identity = cur
	prev := serverIdentity{systemID: s.systemID.Load(), timeline: uint32(s.timeline.Load())}
	delivered := max(s.pos.lastCommit, s.pos.partialLSN)
	why, err := historyChange(ctx, prev, cur, uint64(delivered), walEnd, timelineHistory(ss.conn))
	if err != nil {
		return "", err
	}
	if why == "" && prev != (serverIdentity{}) && prev != cur {
		s.log.Info("replication: the server's timeline changed; everything delivered is in its history",
			"slot", s.cfg.Slot, "system_identifier", cur.systemID, "timeline", cur.timeline, "previous_timeline", prev.timeline)
	}
	return why, nil
}

// noteServer records the identity of a connection that starts streaming.
func (ss *session) noteServer() {
	ss.s.systemID.Store(ss.identity.systemID)
	ss.s.timeline.Store(uint64(ss.identity.timeline))
}

// resetPosition forgets what was handed over: the next transactions are
// delivered whatever their LSNs. It runs when the slot or the server's
// history is new, before the Resync that tells subscribers.
func (s *Source) resetPosition() {
	s.pos = position{}
	s.acks = ackLedger{lastWarn: s.acks.lastWarn}
}
