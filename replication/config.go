package replication

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/internal/configerr"
	"github.com/phoenixkit/phoenixkitdb/internal/connstr"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// Defaults for the zero values of Config.
const (
	DefaultSlot            = "phoenixkitdb"
	DefaultPublication     = "phoenixkitdb"
	DefaultMinBackoff      = 100 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultStatusInterval  = 10 * time.Second
	DefaultTimeout         = 15 * time.Second
	DefaultConnectTimeout  = 10 * time.Second
	DefaultApplicationName = "phoenixkitdb-replication"
	DefaultStartGrace      = 2 * time.Second
	DefaultLagWarnBytes    = 1 << 30
	// DefaultBatchDelay is Config.BatchDelay's default.
	DefaultBatchDelay = time.Millisecond
	// DefaultSlotRetry and DefaultSlotRetryMax bound how often a Source
	// whose slot another reader holds tries to take it over: after
	// DefaultSlotRetry at first, then twice as long each time up to
	// DefaultSlotRetryMax (jittered). A TakeOverSlot Source, which ends
	// the holder, retries every DefaultSlotRetry.
	DefaultSlotRetry    = 200 * time.Millisecond
	DefaultSlotRetryMax = 2 * time.Second
	// DefaultSlotCreateTimeout is Config.SlotCreateTimeout's default.
	DefaultSlotCreateTimeout = 5 * time.Minute
)

// Errors returned by New and Serve; match them with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every configuration error that
	// retrying cannot fix, such as a connection string that does not
	// parse. It wraps pgsql.ErrInvalidConfig, the target shared by every
	// package's configuration errors.
	ErrInvalidConfig = configerr.New("replication")
	// ErrAlreadyRunning is returned by a second concurrent Serve (wrapped
	// with suture.ErrDoNotRestart).
	ErrAlreadyRunning = errors.New("replication: already running")
)

// Config configures a Source. Zero values mean the documented defaults.
type Config struct {
	// ConnString is an ordinary PostgreSQL connection string (URL or
	// key=value) reaching the server directly: replication connections do
	// not pass through transaction-mode poolers. The Source adds
	// replication=database itself. The role needs the REPLICATION
	// attribute (or superuser). It is parsed again on every connection
	// attempt, so files it names are read afresh. Required.
	ConnString string

	// Slot is the logical replication slot. Default DefaultSlot
	// ("phoenixkitdb"). PostgreSQL allows only lower-case letters, digits
	// and underscores, 1 to 63 bytes. A persistent slot is created when
	// missing and keeps the position across disconnects and restarts.
	Slot string

	// Publication names the publication whose tables are streamed.
	// Default DefaultPublication ("phoenixkitdb"). It must exist
	// (EnsurePublication creates it); while it does not, the
	// Source logs an ERROR and retries with backoff. 1 to 63 bytes, no NUL;
	// it is quoted as an identifier, so case matters.
	Publication string

	// Temporary makes the slot a temporary one, dropped by the server when
	// the connection ends: nothing is retained while the Source is away,
	// and, as with the Listener, every connection starts with a Resync.
	Temporary bool

	// PubSub receives the changes. Required.
	PubSub *pubsub.PubSub

	// Logger receives the Source's log lines. Nil means slog.Default().
	Logger *slog.Logger

	// MinBackoff and MaxBackoff bound the exponential, jittered delay
	// between connection attempts. Defaults 100 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration

	// StatusInterval is how often the Source reports its confirmed
	// position to the server (a standby status update). Default 10 s.
	// Keepalives that ask for a reply are answered at once; a
	// connection's first update follows its first hand-off within about a
	// second, and idle keepalives are answered, at most once a second,
	// when the position moved.
	StatusInterval time.Duration

	// Timeout is how long the replication connection may stay silent
	// before the Source checks on it. After a third of it without a
	// message the Source asks the server for a keepalive; after all of
	// it, it looks at its walsender on a short side connection (ordinary,
	// with ConnString). When the look fails without the server answering,
	// or finds the walsender gone, idle or blocked writing to the Source,
	// the connection is presumed dead and replaced, so a frozen network
	// path is found within about two Timeouts (the look may take 3 s at
	// least). A walsender at work (replaying a large transaction, which
	// sends nothing until wal_sender_timeout/2) is waited for, and looked
	// at again every Timeout. A server that answers the look's connection
	// but cannot finish it (it asked for a password or answered a TLS
	// request, and a lock on a catalog holds up its new backend) is
	// waited for until the walsender's own keepalive is due. It also
	// bounds each setup step but slot creation. Default 15 s.
	Timeout time.Duration

	// SlotCreateTimeout bounds the creation of the slot, which waits for
	// every transaction that wrote something and was open when it began
	// (a session idle in a transaction holds it up). While it waits, the
	// Source logs a WARN every few seconds naming the backends it waits
	// for (pid, application_name, transaction age); past the bound it
	// gives up with ErrSlotCreateTimeout, logged at ERROR, and tries again
	// with backoff. Default DefaultSlotCreateTimeout (5 min).
	SlotCreateTimeout time.Duration

	// ConnectTimeout bounds one connection attempt (a connect_timeout in
	// the string wins). Default 10 s.
	ConnectTimeout time.Duration

	// LagWarnBytes is the lag (server WAL end minus confirmed position)
	// past which the Source logs a WARN, at most once a minute. Default
	// 1 GiB.
	LagWarnBytes int64

	// StartGrace is how long EnsureStarted waits before it warns that the
	// Source is not running. Default DefaultStartGrace (2 s).
	StartGrace time.Duration

	// BatchDelay is how long the Source pauses before reading again while
	// it keeps up with a busy stream (its last read emptied the socket)
	// of transactions arriving faster than one per two BatchDelays; never
	// inside a transaction. What arrives meanwhile is then read, decoded
	// and handed over in one go: one wake-up, one read and one hand-off to
	// the PubSub per pause instead of several per transaction. On a busy machine that is
	// CPU the writers get back; the cost is up to BatchDelay of added
	// latency for a change that arrives during a pause, none at lower
	// rates. A backlog is never paused (the socket is not empty). Default
	// DefaultBatchDelay (1 ms); a negative value turns pausing off.
	BatchDelay time.Duration

	// ConfirmLimit, when set, bounds what the Source confirms to the
	// server: it never reports a written, flushed or applied position
	// beyond the LSN ConfirmLimit returns, even for transactions it handed
	// over whole, nor the server's WAL end from an idle keepalive. A
	// consumer that stores what the PubSub delivers somewhere else (the
	// cluster module's relay to NATS JetStream) returns the position up to
	// which everything handed to it is stored, or math.MaxUint64 when it
	// stores nothing pending; the slot then keeps the rest, and the next
	// reader of the slot reads it again. With a limit set, every Serve
	// also starts afresh from the slot's confirmed position instead of
	// skipping what an earlier Serve of this Source handed over, since the
	// consumer may have lost that. Nil means no limit. It is called from
	// the goroutine running Serve, before every status update: it must be
	// cheap, must not block, and must be safe to call concurrently with
	// the consumer.
	ConfirmLimit func() pubsub.LSN

	// TakeOverSlot makes the Source end the backend that holds the slot
	// (pg_terminate_backend of pg_replication_slots.active_pid) when it
	// finds the slot active, instead of waiting until that walsender goes.
	// Only for a consumer that knows the slot's other reader is dead or
	// fenced off: the cluster module's leader, which holds the lease, sets
	// it, so that a leader whose host vanished does not keep the slot
	// until the server's wal_sender_timeout (60 s by default). The role
	// must be the one of the walsender it ends or a member of
	// pg_signal_backend (a superuser's backend only a superuser can end);
	// without it the Source logs a WARN saying so and waits as without
	// this option. Default false.
	TakeOverSlot bool

	// Messages asks the server for logical decoding messages: what a
	// transaction writes with pg_logical_emit_message(true, prefix,
	// content) is delivered, in order with the transaction's changes, as
	// an Event of Kind pubsub.Message on pubsub.TopicMessage(prefix) (see
	// SubscribeMessages). Non-transactional messages (transactional =>
	// false) are not delivered: they belong to no transaction, so they
	// have no place in the commit order and no (LSN, Seq) that a replay
	// would repeat. Needs PostgreSQL 14 or later; on an older server Serve
	// fails with ErrMessagesUnsupported. Default false.
	Messages bool

	// FailoverSlot creates the slot as a failover slot (PostgreSQL 17's
	// FAILOVER option), and makes an existing slot one, so that a physical
	// standby keeps a copy of it that survives the standby's promotion:
	// after a failover the Source resumes on the new primary where it
	// left off, with no Resync. The servers need: on the primary,
	// synchronized_standby_slots naming the standby's physical slot (so
	// the Source never receives a change the standby has not got); on the
	// standby, sync_replication_slots = on, hot_standby_feedback = on,
	// primary_slot_name set and a dbname in primary_conninfo. See
	// docs/replication.md, "Failover". On a server older than 17 the
	// Source logs a WARN and creates an ordinary slot: after a failover it
	// finds the slot missing and sends every mailbox a Resync (Reason
	// pubsub.ReasonSlot). Not allowed with Temporary. Default false.
	FailoverSlot bool
}

// withDefaults returns c with zero values replaced by defaults and
// validates it.
func (c Config) withDefaults() (Config, error) {
	if c.Slot == "" {
		c.Slot = DefaultSlot
	}
	if c.Publication == "" {
		c.Publication = DefaultPublication
	}
	if err := validSlot(c.Slot); err != nil {
		return c, err
	}
	if err := validIdentifier("publication", c.Publication); err != nil {
		return c, err
	}
	if c.FailoverSlot && c.Temporary {
		return c, fmt.Errorf("%w: FailoverSlot needs a persistent slot, and Temporary is set", ErrInvalidConfig)
	}
	if c.PubSub == nil {
		return c, fmt.Errorf("%w: PubSub is nil", ErrInvalidConfig)
	}
	if c.ConnString == "" {
		return c, fmt.Errorf("%w: ConnString is empty", ErrInvalidConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		return c, fmt.Errorf("%w: MaxBackoff %v is below MinBackoff %v", ErrInvalidConfig, c.MaxBackoff, c.MinBackoff)
	}
	if c.BatchDelay == 0 {
		c.BatchDelay = DefaultBatchDelay
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SlotCreateTimeout <= 0 {
		c.SlotCreateTimeout = DefaultSlotCreateTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.LagWarnBytes <= 0 {
		c.LagWarnBytes = DefaultLagWarnBytes
	}
	if c.StartGrace <= 0 {
		c.StartGrace = DefaultStartGrace
	}
	return c, nil
}

// validSlot applies PostgreSQL's rule for slot names (see
// pgsql.CheckSlotName), so a bad name fails in New and the name never
// needs quoting in replication commands.
func validSlot(s string) error {
	if err := pgsql.CheckSlotName(s); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// validIdentifier refuses names PostgreSQL cannot take intact.
func validIdentifier(kind, s string) error {
	if err := pgsql.CheckIdentifier(kind, s); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// parseConnString parses s into a pgconn config for a replication
// connection. Its errors never quote s: pgx masks passwords in them only
// on a best-effort basis.
func parseConnString(s string, c Config) (*pgconn.Config, error) {
	pc, err := pgconn.ParseConfig(s)
	if err != nil {
		return nil, fmt.Errorf("%w: connection string does not parse: %s", ErrInvalidConfig, connstr.Explain(s))
	}
	pc.RuntimeParams["replication"] = "database"
	pinSession(pc.RuntimeParams)
	if _, ok := pc.RuntimeParams["application_name"]; !ok {
		pc.RuntimeParams["application_name"] = DefaultApplicationName
	}
	if pc.ConnectTimeout == 0 {
		pc.ConnectTimeout = c.ConnectTimeout
	}
	// Go's default TCP keepalive finds a dead peer only after minutes.
	dialer := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}}
	pc.DialFunc = dialer.DialContext
	return pc, nil
}

// pinnedSettings are the session settings of every replication connection,
// sent in the startup packet. pgoutput prints each value with its type's
// output function in the walsender's session, so these decide the text
// subscribers get: whatever the role, the database (ALTER ... SET) or the
// connection string say, dates are ISO, intervals PostgreSQL's style,
// floats exact (shortest text that reads back to the same value), bytea
// hex, timestamptz in UTC, and every name and text UTF-8 (converted from
// the database's encoding by the server). Startup packet settings
// override role and database defaults, and the `options` parameter.
var pinnedSettings = [...][2]string{
	{"DateStyle", "ISO, YMD"},
	{"IntervalStyle", "postgres"},
	{"extra_float_digits", "3"},
	{"bytea_output", "hex"},
	{"client_encoding", "UTF8"},
	{"TimeZone", "UTC"},
}

// pinSession sets pinnedSettings in params, dropping a setting of the
// same name in another case: PostgreSQL's names are case-insensitive.
func pinSession(params map[string]string) {
	for _, kv := range pinnedSettings {
		for k := range params {
			if strings.EqualFold(k, kv[0]) {
				delete(params, k)
			}
		}
		params[kv[0]] = kv[1]
	}
}
