package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers the leader's relay writes on the messages it stores, besides
// Nats-Msg-Id and the expected last message id or sequence. Every
// follower parses every header of every message, so a header goes only
// where the message id does not already say it.
const (
	// hdrTerm is the publishing leader's term (see elector: the lease
	// revision that began it), in decimal, on every message. A relay whose
	// publish is refused because the stream moved on reads it from the
	// stream's last message to tell a newer leader from an older one.
	hdrTerm = "Phoenixkitdb-Term"
	// hdrSlot is the replication slot the leader read (WAL mode only): a
	// new leader that has to create the slot tells from the stream's last
	// message whether it existed before (see pipeline.slotLost). Only on
	// messages whose id is not <slot>:<commit LSN>:<Seq> (Resyncs):
	// readLast takes slot and LSN from such an id.
	hdrSlot = "Phoenixkitdb-Slot"
	// hdrLSN is the commit LSN, in hex, of a message that has hdrSlot and
	// a commit LSN. Earlier development builds wrote both on every WAL
	// message.
	hdrLSN = "Phoenixkitdb-Lsn"
)

// streamLast is the stream's last message as a relay reads it: its
// sequence (the stream's last sequence, even when the message itself aged
// out) and, when the message is still stored, its id and term header.
type streamLast struct {
	seq  uint64
	id   string // Nats-Msg-Id; "" when unknown
	term uint64 // hdrTerm; 0 when absent (earlier releases) or unknown
	slot string // hdrSlot; "" when absent or unknown
	lsn  string // hdrLSN; "" when absent or unknown
}

// readLast reads the stream's last message. It waits setupTimeout at
// most.
func (c *Cluster) readLast(ctx context.Context, js jetstream.JetStream) (streamLast, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	s, err := js.Stream(ctx, c.cfg.Stream)
	if err != nil {
		return streamLast{}, fmt.Errorf("cluster: stream %q: %w", c.cfg.Stream, err)
	}
	st := s.CachedInfo().State
	l := streamLast{seq: st.LastSeq}
	if st.Msgs == 0 || st.LastSeq == 0 {
		return l, nil
	}
	m, err := s.GetMsg(ctx, st.LastSeq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return l, nil // aged out or deleted since: its sequence is what counts
	case err != nil:
		return streamLast{}, fmt.Errorf("cluster: read the stream's last message: %w", err)
	}
	l.id = m.Header.Get(jetstream.MsgIDHeader)
	l.term, _ = strconv.ParseUint(m.Header.Get(hdrTerm), 10, 64)
	l.slot, l.lsn = m.Header.Get(hdrSlot), m.Header.Get(hdrLSN)
	if l.slot == "" && slotID(l.id, c.slot) {
		// A WAL change's id names its slot and commit LSN (see outMsg).
		l.slot, l.lsn = c.slot, strings.Split(l.id, ":")[1]
	}
	return l, nil
}

// slotID reports whether id is a WAL change's message id read from slot:
// <slot>:<commit LSN in hex>:<Seq> (see elector.msgID). Slot names hold
// only lower-case letters, digits and underscores, never ':'.
func slotID(id, slot string) bool {
	rest, ok := strings.CutPrefix(id, slot+":")
	return ok && slot != "" && strings.Count(rest, ":") == 1
}

// wrongLastSeq reports whether err is JetStream's refusal of a publish
// whose expected last sequence was not the stream's.
func wrongLastSeq(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// outMsg builds the message that carries o for term n; slot is the
// replication slot in WAL mode, "" otherwise.
func outMsg(o *outgoing, n uint64, slot string) *nats.Msg {
	m := nats.NewMsg(o.subject)
	m.Data = o.body
	m.Header.Set(hdrTerm, strconv.FormatUint(n, 10))
	if slot != "" && !slotID(o.id, slot) {
		m.Header.Set(hdrSlot, slot)
		if o.lsn != 0 {
			m.Header.Set(hdrLSN, strconv.FormatUint(uint64(o.lsn), 16))
		}
	}
	return m
}

// errFenced ends a relay whose term is over: a newer leader stored a
// message after this term's last one.
var errFenced = errors.New("cluster: a newer leader published to the stream")

// refused handles a publish refused because the stream's last sequence
// was not the one the relay expected (see pipeline): it has settled the
// window. It reads the stream's last message and
//   - if that is a message of the window (its acknowledgement was lost),
//     counts it and those before it as stored;
//   - if a newer leader's term wrote it, returns errFenced: publishing on
//     would interleave this term's changes with the newer leader's;
//   - otherwise (an older leader's late message, stored before anything of
//     this term, or a message of no term) it expects that one from now on.
func (p *pipeline) refused(ctx context.Context) error {
	l, err := p.e.c.readLast(ctx, p.js)
	if err != nil {
		return err
	}
	for i, o := range p.win {
		if o.id == l.id && l.term == p.termN {
			for j := 0; j <= i; j++ {
				p.e.markStored(p.win[j])
				p.win[j] = nil
			}
			p.win = p.win[i+1:]
			p.lastSeq = l.seq
			return nil
		}
	}
	if l.term > p.termN {
		return fmt.Errorf("%w (term %d, after this term's %d)", errFenced, l.term, p.termN)
	}
	if l.term == p.termN {
		// This term's own message, already counted.
		p.lastSeq = l.seq
		return nil
	}
	p.e.c.log.Warn("cluster: the stream moved on before this term's next message; expecting its new last message",
		"term", p.termN, "expected_seq", p.lastSeq, "last_seq", l.seq, "last_term", l.term)
	p.lastSeq = l.seq
	return nil
}
