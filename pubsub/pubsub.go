package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asaskevich/EventBus"
	"github.com/thejerf/suture/v4"
)

// ErrAlreadyServing is returned (wrapped with suture.ErrDoNotRestart) by a
// second concurrent Serve of one PubSub.
var ErrAlreadyServing = errors.New("pubsub: already serving")

// Options configures a PubSub. The zero value is valid.
type Options struct {
	// Logger receives the PubSub's log lines. Nil means slog.Default().
	Logger *slog.Logger
	// ReportInterval is how often Serve logs how many events slow
	// mailboxes dropped since the last report (only when some were).
	// Zero means 10 s.
	ReportInterval time.Duration
}

// PubSub fans events out to the mailboxes subscribed to their topics.
// Topic routing is decided by an EventBus with exactly one handler per
// topic, whose answers the PubSub keeps in a routing table (see EventBus
// in the package documentation); subscriber identity is the *Mailbox and
// lives in the PubSub's own registry, never in a func value.
//
// Publishing never blocks on a subscriber: every delivery is a
// non-blocking send into a mailbox (see [Mailbox] for what happens when it
// is full). Deliveries are serialised, so every mailbox sees events in one
// global publication order. All methods are safe for concurrent use;
// none of them may deadlock whatever subscribers do, including calling
// Subscribe, Unsubscribe or Close from the goroutine that reads a mailbox.
//
// A PubSub works whether or not Serve runs; Serve gives it a place in a
// suture supervisor tree and reports overflows in the log.
type PubSub struct {
	bus         EventBus.Bus
	log         *slog.Logger
	reportEvery time.Duration
	serving     atomic.Bool

	// mu guards everything below and is held for the whole of a delivery.
	// Lock order: mu, then the EventBus lock, then a mailbox's mu.
	mu sync.Mutex
	// topics, byTable and all are the routing table: the handler EventBus
	// routes each topic to, filled in by asking EventBus (see route.go).
	topics  map[string]*topic
	byTable map[tableKey]*topic // the table topics of topics, by table
	all     *topic              // topics[TopicAll()], or nil
	// last is the lookup of byTable by the previous single-change
	// publication (t may be nil: no subscriber): live traffic mostly
	// repeats a table, and comparing two short strings is cheaper than
	// hashing them. valid is cleared whenever byTable changes.
	last struct {
		key   tableKey
		t     *topic
		valid bool
	}
	members map[*Mailbox]*member
	// acks are the members made WithAck (ack_publish.go).
	acks    ackRegistry
	scratch batch
	// Counters of Stats, plain integers because they change only under mu.
	published, delivered, dropped uint64
	resyncs                       resyncCounters
}

// New returns a PubSub that logs to logger (nil means slog.Default()).
func New(logger *slog.Logger) *PubSub {
	return NewWithOptions(Options{Logger: logger})
}

// NewWithOptions returns a PubSub configured by opts.
func NewWithOptions(opts Options) *PubSub {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ReportInterval <= 0 {
		opts.ReportInterval = 10 * time.Second
	}
	return &PubSub{
		bus:         EventBus.New(),
		log:         opts.Logger,
		reportEvery: opts.ReportInterval,
		topics:      make(map[string]*topic),
		byTable:     make(map[tableKey]*topic),
		members:     make(map[*Mailbox]*member),
	}
}

// member is one mailbox's membership in this PubSub. Its scratch fields
// are used during a delivery, under PubSub.mu.
type member struct {
	mb *Mailbox
	// topics are the topics m holds: a slice, since a mailbox holds one
	// or two topics and a map would cost more than the rest of m.
	topics []*topic
	gen    uint64  // batch generation that last touched this member
	slots  []int32 // topic slots of the current batch that reach it
}

// topic is the single EventBus handler of one topic name and the list of
// its subscribers.
type topic struct {
	name    string
	key     tableKey // the table of a table topic
	isTable bool
	members []*member
	mbs     []*Mailbox // mbs[i] is members[i].mb: one pointer less to chase per delivery
	index   map[*member]int
}

// collect records which members topic slot s of batch b reaches. It runs
// under PubSub.mu and never blocks.
func (t *topic) collect(b *batch, s int32) {
	for _, m := range t.members {
		if m.gen != b.gen {
			m.gen = b.gen
			m.slots = m.slots[:0]
			b.touched = append(b.touched, m)
		}
		m.slots = append(m.slots, s)
	}
}

// Subscribe adds mb to topic. Subscribing a mailbox to a topic it already
// holds is a no-op. It fails for a nil or closed mailbox and an empty
// topic or one containing NUL. A mailbox subscribed to both a table topic
// and TopicAll receives one copy of a change per topic. A table topic
// named as a string (TopicTable's form) is read as PhoenixKit reads it:
// the schema ends at the first '.'; SubscribeTable takes the pair itself
// and is the only way to a schema that contains a '.'.
func (ps *PubSub) Subscribe(mb *Mailbox, topicName string) error {
	if err := checkTopic(mb, topicName); err != nil {
		return err
	}
	key, isTable := tableOf(topicName)
	return ps.subscribeLoop(mb, topicName, key, isTable)
}

// SubscribeTable adds mb to the topic of table schema.table, the one
// Broadcast and BroadcastChanges deliver its changes to. It is the pair
// that counts, never a topic name: "a.b"."c" and "a"."b.c" are distinct
// tables with distinct topics. For a schema without a '.', the topic is
// TopicTable(schema, table), shared with Subscribe by that name. It fails
// for a nil or closed mailbox and an empty schema or table, or one
// containing NUL.
func (ps *PubSub) SubscribeTable(mb *Mailbox, schema, table string) error {
	if mb == nil {
		return ErrNilMailbox
	}
	if err := checkTable(schema, table); err != nil {
		return err
	}
	key := tableKey{schema, table}
	return ps.subscribeLoop(mb, tableTopicName(key), key, true)
}

// UnsubscribeTable removes mb from the topic of table schema.table, as
// SubscribeTable names it. It is a no-op when mb does not hold it.
func (ps *PubSub) UnsubscribeTable(mb *Mailbox, schema, table string) error {
	if mb == nil {
		return ErrNilMailbox
	}
	if err := checkTable(schema, table); err != nil {
		return err
	}
	return ps.Unsubscribe(mb, tableTopicName(tableKey{schema, table}))
}

func checkTopic(mb *Mailbox, topicName string) error {
	if mb == nil {
		return ErrNilMailbox
	}
	if topicName == "" || strings.IndexByte(topicName, 0) >= 0 {
		return ErrInvalidTopic
	}
	return nil
}

func checkTable(schema, table string) error {
	if schema == "" || table == "" || strings.IndexByte(schema, 0) >= 0 || strings.IndexByte(table, 0) >= 0 {
		return fmt.Errorf("%w: table %q.%q", ErrInvalidTopic, schema, table)
	}
	return nil
}

// subscribeLoop subscribes mb to the topic named name (a table topic of
// key when isTable).
func (ps *PubSub) subscribeLoop(mb *Mailbox, name string, key tableKey, isTable bool) error {
	for {
		retry, err := ps.subscribe(mb, name, key, isTable)
		if !retry {
			return err
		}
		// A second PubSub: mb leaves solo mode first, without ps.mu
		// held, since demote waits for the other PubSub's lock.
		mb.demote()
	}
}

// subscribe is Subscribe under ps.mu; it reports retry when mb must leave
// solo mode first.
func (ps *PubSub) subscribe(mb *Mailbox, topicName string, key tableKey, isTable bool) (retry bool, err error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()

	m := ps.members[mb]
	if m == nil {
		if retry, err := mb.addOwner(ps); retry || err != nil {
			if err != nil {
				err = fmt.Errorf("pubsub: subscribe to %q: %w", topicName, err)
			}
			return retry, err
		}
		m = &member{mb: mb}
		ps.members[mb] = m
		ps.acks.join(m)
	}
	t := ps.topics[topicName]
	if t == nil {
		if t, err = ps.addTopic(topicName, key, isTable); err != nil {
			ps.forgetIfIdle(m)
			return false, fmt.Errorf("pubsub: subscribe to %q: %w", topicName, err)
		}
	}
	if _, ok := t.index[m]; ok {
		return false, nil
	}
	t.index[m] = len(t.members)
	t.members = append(t.members, m)
	t.mbs = append(t.mbs, mb)
	m.topics = append(m.topics, t)
	return false, nil
}

// Unsubscribe removes mb from topic. It is a no-op when mb does not hold
// topic. Other subscribers of the topic are unaffected.
func (ps *PubSub) Unsubscribe(mb *Mailbox, topicName string) error {
	if mb == nil {
		return ErrNilMailbox
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	m, t := ps.members[mb], ps.topics[topicName]
	if m == nil || t == nil {
		return nil
	}
	if _, ok := t.index[m]; !ok {
		return nil
	}
	ps.remove(m, t)
	ps.forgetIfIdle(m)
	return nil
}

// detach removes mb from every topic of ps; Mailbox.Close calls it.
func (ps *PubSub) detach(mb *Mailbox) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	m := ps.members[mb]
	if m == nil {
		return
	}
	for len(m.topics) > 0 {
		ps.remove(m, m.topics[len(m.topics)-1])
	}
	ps.forgetIfIdle(m)
}

// remove takes m out of t, and t out of the bus when it has no member left.
// The caller holds ps.mu.
func (ps *PubSub) remove(m *member, t *topic) {
	i := t.index[m]
	last := len(t.members) - 1
	t.members[i] = t.members[last]
	t.mbs[i] = t.mbs[last]
	t.index[t.members[i]] = i
	t.members[last] = nil
	t.mbs[last] = nil
	t.members = t.members[:last]
	t.mbs = t.mbs[:last]
	delete(t.index, m)
	if j := slices.Index(m.topics, t); j >= 0 {
		m.topics = slices.Delete(m.topics, j, j+1)
	}
	if len(t.members) == 0 {
		ps.removeTopic(t)
	}
}

// forgetIfIdle drops a member with no topic left. The caller holds ps.mu.
func (ps *PubSub) forgetIfIdle(m *member) {
	if len(m.topics) > 0 {
		return
	}
	delete(ps.members, m.mb)
	ps.acks.leave(m)
	m.mb.removeOwner(ps)
}

// Subscribers returns how many mailboxes hold topic.
func (ps *PubSub) Subscribers(topicName string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if t := ps.topics[topicName]; t != nil {
		return len(t.members)
	}
	return 0
}

// Stats is a snapshot of a PubSub's counters.
type Stats struct {
	Topics    int    // topics with at least one subscriber
	Mailboxes int    // mailboxes with at least one subscription
	Published uint64 // events accepted by Broadcast and BroadcastChanges
	Delivered uint64 // events put into mailboxes (Resyncs excluded)
	Dropped   uint64 // events lost in full mailboxes
	// Resyncs counts the Resync events sent to mailboxes, by reason.
	Resyncs ResyncStats
}

// Stats returns the current counters.
func (ps *PubSub) Stats() Stats {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return Stats{
		Topics:    len(ps.topics),
		Mailboxes: len(ps.members),
		Published: ps.published,
		Delivered: ps.delivered,
		Dropped:   ps.dropped,
		Resyncs:   ps.resyncs.snapshot(),
	}
}

// String names the service in supervisor logs.
func (ps *PubSub) String() string { return "phoenixkitdb/pubsub" }

// Serve runs the PubSub as a suture service until ctx ends: it logs, at
// most once per ReportInterval, how many events slow mailboxes dropped.
// Subscriptions live in the PubSub, not in Serve, so they survive a
// restart. A second concurrent Serve returns ErrAlreadyServing wrapped
// with suture.ErrDoNotRestart.
func (ps *PubSub) Serve(ctx context.Context) error {
	if !ps.serving.CompareAndSwap(false, true) {
		return fmt.Errorf("%w (%w)", ErrAlreadyServing, suture.ErrDoNotRestart)
	}
	defer ps.serving.Store(false)

	ticker := time.NewTicker(ps.reportEvery)
	defer ticker.Stop()
	last := ps.Stats().Dropped
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			if now := ps.Stats().Dropped; now > last {
				ps.log.Warn("pubsub: slow mailboxes dropped events; each was sent a Resync",
					"dropped", now-last, "interval", ps.reportEvery)
				last = now
			}
		}
	}
}

// Serving reports whether Serve is running.
func (ps *PubSub) Serving() bool { return ps.serving.Load() }
