package replication

import (
	"bytes"

	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/pubsub"

	"github.com/phoenixkit/phoenixkitdb/internal/walflush"
)

// logicalMessage queues a logical decoding message (Config.Messages) as
// an event of its transaction, unless it was handed over before. It
// takes the next Seq like a change, so replays skip it the same way. A
// non-transactional message is not delivered (see Config.Messages): it
// is logged at WARN once per connection.
func (ss *session) logicalMessage(m *pglogrepl.LogicalDecodingMessage) {
	if m.Prefix == walflush.Prefix {
		return // package shape's WAL flush, not the application's
	}
	if !m.Transactional || !ss.inTxn {
		if !ss.warnedNonTx {
			ss.warnedNonTx = true
			ss.s.log.Warn("replication: ignoring non-transactional logical decoding messages; emit them with pg_logical_emit_message(true, ...)",
				"prefix", m.Prefix, "lsn", m.LSN.String())
		}
		return
	}
	ss.s.received.Add(1)
	if ss.skipAll {
		return
	}
	ss.idx++
	if ss.idx <= ss.skip {
		return
	}
	ss.chunk = append(ss.chunk, pubsub.Event{
		Kind:       pubsub.Message,
		Prefix:     m.Prefix,
		Content:    bytes.Clone(m.Content), // m aliases the receive buffer
		LSN:        ss.txnLSN,
		Seq:        uint64(ss.idx),
		CommitTime: ss.commitTime,
	})
	if len(ss.chunk) >= chunkSize {
		ss.flush()
	}
}

// SubscribeMessages calls EnsureStarted, then subscribes mb to the
// logical decoding messages with prefix prefix (pubsub.TopicMessage).
// Messages flow only when Config.Messages is set.
func (s *Source) SubscribeMessages(mb *pubsub.Mailbox, prefix string) error {
	s.EnsureStarted()
	return s.ps.Subscribe(mb, pubsub.TopicMessage(prefix))
}

// UnsubscribeMessages removes mb from the messages with prefix prefix.
func (s *Source) UnsubscribeMessages(mb *pubsub.Mailbox, prefix string) error {
	return s.ps.Unsubscribe(mb, pubsub.TopicMessage(prefix))
}
