package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/phoenixkit/phoenixkitdb/internal/configerr"
)

// Defaults for the zero values of Config.
const (
	DefaultURL           = nats.DefaultURL
	DefaultStream        = "PHOENIXKITDB"
	DefaultSubject       = "phoenixkitdb"
	DefaultMaxAge        = time.Hour
	DefaultReplicas      = 1
	DefaultLeaseTTL      = time.Second
	DefaultDuplicates    = 5 * time.Minute
	DefaultRelayCapacity = 16384
	DefaultStartGrace    = 2 * time.Second
	// DefaultFollowerBufferBytes is Config.FollowerBufferBytes's default.
	DefaultFollowerBufferBytes = 8 << 20
)

// Errors; match them with errors.Is.
var (
	// ErrInvalidConfig wraps every configuration error New reports. It
	// wraps pgsql.ErrInvalidConfig, the target shared by every package's
	// configuration errors.
	ErrInvalidConfig = configerr.New("cluster")
	// ErrAlreadyRunning is returned (wrapped with suture.ErrDoNotRestart)
	// by a second concurrent Serve of one of the module's services.
	ErrAlreadyRunning = errors.New("cluster: already running")
)

// Config configures the cluster module. Zero values mean the documented
// defaults. Every instance of one database must use the same Stream and
// Subject; two databases need two streams (and two subject prefixes).
type Config struct {
	// URL is the NATS server URL (or a comma-separated list). Default
	// nats.DefaultURL ("nats://127.0.0.1:4222"). Ignored when NATSOptions
	// hold nats.InProcessServer.
	URL string
	// Stream is the JetStream stream that carries the changes. It is
	// created (or updated) on start. Default "PHOENIXKITDB". Letters,
	// digits, "-" and "_" only. The leader lease lives in the key-value
	// bucket Stream + "_LEADER".
	Stream string
	// Subject is the subject prefix: a change of schema.table goes to
	// <Subject>.<schema>.<table>, a Resync to <Subject>._resync. Default
	// "phoenixkitdb". Dot-separated tokens without spaces or wildcards.
	Subject string
	// MaxAge is how long the stream keeps a change: a follower away
	// longer gets a Resync when it comes back. Default 1 h.
	MaxAge time.Duration
	// Replicas is the stream's (and the lease bucket's) replica count on
	// a NATS cluster. Default 1.
	Replicas int
	// Duplicates is the stream's de-duplication window: a change a new
	// leader publishes again within it is dropped. It must cover a
	// failover (lease TTL plus the WAL source's confirm interval).
	// Default 5 min, capped at MaxAge.
	Duplicates time.Duration
	// LeaseTTL is how long a leader that stopped refreshing its lease
	// keeps it: another instance takes over after it. The leader
	// refreshes every LeaseTTL/5 and stops reading after 3/5 of it without
	// a successful refresh. Default 1 s (takeover within about 1.2 s of a
	// crash; at once after a clean stop, which releases the lease).
	LeaseTTL time.Duration
	// RelayCapacity is how many events the leader buffers between the
	// change source and the stream. When the stream cannot keep up past
	// it, followers get a Resync (reason "overflow") and the leader logs
	// a WARN (at most one per 10 s). Default 16384.
	RelayCapacity int
	// SingleChangeMessages makes the leader publish one stream message per
	// change, for consumers of the stream that want that shape. By default
	// (false) a transaction's consecutive changes to one table go in one
	// message, up to 1,024 changes and 64 KiB (and the server's
	// max_payload): a burst then costs JetStream far fewer messages.
	// Either way each change keeps its subject, <Subject>.<schema>.<table>,
	// and bodies are format 3 (docs/cluster.md).
	SingleChangeMessages bool
	// FollowerBufferBytes bounds the bytes of stream messages a follower
	// holds that its PubSub did not have yet: it asks the server for at
	// most half of it at a time, and for at most 4,096 messages, and asks
	// again only once it handed most of a pull over. A follower far
	// behind thus buffers at most this much, not 4,096 batches of 64 KiB.
	// Default 8 MiB. A pull must fit the largest message: it is at least
	// the server's max_payload plus 64 KiB (the subjects the server
	// counts too), so the bound is at least twice that (2.1 MiB with the
	// default max_payload of 1 MiB).
	FollowerBufferBytes int
	// StartGrace is how long EnsureStarted waits before it warns that the
	// follower is not running. Default 2 s.
	StartGrace time.Duration
	// Logger receives the module's logs. Nil means slog.Default().
	Logger *slog.Logger
	// NATSOptions pass through to nats.Connect (credentials, TLS, an
	// in-process server). They come after the module's own options
	// (unlimited reconnects; an ErrorHandler that logs the client's
	// asynchronous errors through Logger), so they win.
	NATSOptions []nats.Option
}

// withDefaults returns c with zero values replaced by defaults and
// validates it.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Replicas <= 0 {
		c.Replicas = DefaultReplicas
	}
	if c.Duplicates <= 0 {
		c.Duplicates = DefaultDuplicates
	}
	c.Duplicates = min(c.Duplicates, c.MaxAge)
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.RelayCapacity <= 0 {
		c.RelayCapacity = DefaultRelayCapacity
	}
	if c.FollowerBufferBytes <= 0 {
		c.FollowerBufferBytes = DefaultFollowerBufferBytes
	}
	if c.StartGrace <= 0 {
		c.StartGrace = DefaultStartGrace
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if !validName(c.Stream) {
		return c, fmt.Errorf("%w: stream name %q may hold only letters, digits, '-' and '_'", ErrInvalidConfig, c.Stream)
	}
	if len(c.Stream) > 200 {
		return c, fmt.Errorf("%w: stream name longer than 200 bytes", ErrInvalidConfig)
	}
	for _, tok := range strings.Split(c.Subject, ".") {
		if tok == "" || strings.ContainsAny(tok, " \t\r\n*>") {
			return c, fmt.Errorf("%w: subject prefix %q must be dot-separated tokens without spaces or wildcards", ErrInvalidConfig, c.Subject)
		}
	}
	return c, nil
}

// validName reports whether s is a non-empty run of letters, digits, '-'
// and '_' (what both stream and bucket names accept).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}
