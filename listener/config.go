package listener

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/phoenixkit/phoenixkitdb/internal/configerr"
	"github.com/phoenixkit/phoenixkitdb/internal/connstr"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// DefaultChannel is PhoenixKit's notification channel.
const DefaultChannel = "phoenix_kit_db_changes"

// Defaults for the zero values of Config.
const (
	DefaultMinBackoff      = 100 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultProbeInterval   = 5 * time.Second
	DefaultConnectTimeout  = 10 * time.Second
	DefaultApplicationName = "phoenixkitdb-listener"
	DefaultStartGrace      = 2 * time.Second
)

// maxIdentifierBytes is PostgreSQL's NAMEDATALEN-1: LISTEN truncates
// longer channel names silently while pg_notify rejects them.
const maxIdentifierBytes = 63

// Errors returned by New and Serve; match them with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every configuration error that
	// retrying cannot fix, such as a connection string that does not
	// parse. It wraps pgsql.ErrInvalidConfig, the target shared by every
	// package's configuration errors.
	ErrInvalidConfig = configerr.New("listener")
	// ErrConfigFile is wrapped by connection errors about a file the
	// connection string names (sslrootcert, sslcert, sslkey) that cannot
	// be read or used. Serve retries them with backoff: the file may
	// appear or be completed, as a rotated certificate bundle is.
	ErrConfigFile = errors.New("listener: a file named in the connection string cannot be used")
	// ErrAlreadyRunning is returned by a second concurrent Serve (wrapped
	// with suture.ErrDoNotRestart).
	ErrAlreadyRunning = errors.New("listener: already running")
)

// Config configures a Listener. Zero values mean the documented defaults.
type Config struct {
	// ConnString is a PostgreSQL connection string (URL or key=value) for
	// the Listener's own connection. It must reach the server directly or
	// through a session-mode pooler: transaction pooling breaks LISTEN.
	// Unused when Connect is set.
	//
	// It is parsed again on every connection attempt, so the files it
	// names (sslrootcert, sslcert, sslkey, passfile) are read afresh, as
	// libpq does: a rotated CA bundle or client certificate takes effect at
	// the next reconnect without a restart. New refuses a string that does
	// not parse; a named certificate or key file that is missing or cannot
	// be used is retried with backoff (ErrConfigFile).
	ConnString string

	// Connect, when set, replaces ConnString: it must return a fresh,
	// dedicated connection on every call (for TLS set-ups, IAM tokens,
	// custom dialers). The Listener takes the connection's socket over
	// from pgx once connected. A *pgconn.ParseConfigError it returns ends
	// Serve for good, unless it is about a file that cannot be read (an
	// *fs.PathError beneath); every other error is retried with backoff.
	// Its errors are logged as they are, except a *pgconn.ParseConfigError,
	// whose text can quote a password: make sure the others never do.
	Connect func(ctx context.Context) (*pgx.Conn, error)

	// Channel is the notification channel. Default DefaultChannel. It is
	// quoted as an identifier, so case matters, and it must be 1 to 63 bytes.
	Channel string

	// PubSub receives the changes. Required.
	PubSub *pubsub.PubSub

	// Logger receives the Listener's log lines. Nil means slog.Default().
	Logger *slog.Logger

	// MinBackoff and MaxBackoff bound the exponential, jittered delay
	// between reconnection attempts. Defaults 100 ms and 30 s. After a
	// connection that was healthy for HealthyAfter, the first attempt is
	// immediate.
	MinBackoff, MaxBackoff time.Duration

	// ProbeInterval is how long the connection may stay silent before the
	// Listener sends a probe notification to itself. The connection is
	// dead when a probe is outstanding and nothing at all was read for
	// ProbeInterval (any traffic proves it alive, and time the Listener
	// spends waiting on its own slow subscribers does not count), so a
	// frozen connection is replaced within about 2 x ProbeInterval. Right
	// after LISTEN, and after 12 x ProbeInterval without a change, a
	// probe sent from a separate short connection checks that other
	// sessions' notifications arrive too (see the package documentation
	// on poolers). Default 5 s.
	ProbeInterval time.Duration

	// HealthyAfter is how long a connection must have lasted for the
	// backoff to start again from zero. Default 2 x ProbeInterval.
	HealthyAfter time.Duration

	// ConnectTimeout bounds one connection attempt (ConnString only; a
	// connect_timeout in the string wins). Default 10 s.
	ConnectTimeout time.Duration

	// KeepAlive configures TCP keepalive on the connection (ConnString
	// only). Zero means enabled with 5 s idle, 5 s interval, 3 probes, so the
	// kernel also notices a dead peer in about 20 s.
	KeepAlive net.KeepAliveConfig

	// StartGrace is how long EnsureStarted (and so Subscribe) waits before
	// it warns that the Listener is not running: at a normal start-up the
	// subscriptions come before the supervisor has started the service.
	// Default DefaultStartGrace (2 s).
	StartGrace time.Duration

	// Now returns the current time; nil means time.Now. Tests inject it.
	Now func() time.Time
}

// withDefaults returns c with zero values replaced by defaults and
// validates it.
func (c Config) withDefaults() (Config, error) {
	if c.Channel == "" {
		c.Channel = DefaultChannel
	}
	if err := validChannel(c.Channel); err != nil {
		return c, err
	}
	if c.PubSub == nil {
		return c, fmt.Errorf("%w: PubSub is nil", ErrInvalidConfig)
	}
	if c.ConnString == "" && c.Connect == nil {
		return c, fmt.Errorf("%w: neither ConnString nor Connect is set", ErrInvalidConfig)
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
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.HealthyAfter <= 0 {
		c.HealthyAfter = 2 * c.ProbeInterval
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.KeepAlive == (net.KeepAliveConfig{}) {
		c.KeepAlive = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}
	}
	if c.StartGrace <= 0 {
		c.StartGrace = DefaultStartGrace
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// validChannel refuses channel names PostgreSQL cannot take intact.
func validChannel(ch string) error {
	switch {
	case ch == "":
		return fmt.Errorf("%w: empty channel", ErrInvalidConfig)
	case len(ch) > maxIdentifierBytes:
		return fmt.Errorf("%w: channel is %d bytes, PostgreSQL allows %d", ErrInvalidConfig, len(ch), maxIdentifierBytes)
	}
	for i := 0; i < len(ch); i++ {
		if ch[i] == 0 {
			return fmt.Errorf("%w: channel contains a NUL byte", ErrInvalidConfig)
		}
	}
	return nil
}

// parseConnString parses s into a pgx config for the Listener's dedicated
// connection. It reads the files s names, so it runs on every connection
// attempt. validated says that New has parsed s already, past its syntax
// (see configError). Its errors never quote s.
func parseConnString(s string, c Config, validated bool) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(s)
	if err != nil {
		return nil, configError(err, validated)
	}
	cc.OnNotification = nil
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = DefaultApplicationName
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = c.ConnectTimeout
	}
	dialer := &net.Dialer{KeepAliveConfig: c.KeepAlive}
	cc.DialFunc = dialer.DialContext
	return cc, nil
}

// configError replaces an error holding a *pgconn.ParseConfigError with
// one that does not quote the connection string: pgx masks passwords in
// it only on a best-effort basis, and a malformed string can defeat that.
// Other errors are returned as they are.
//
// pgx parses the string's syntax first and reads the files it names
// (sslrootcert, sslcert, sslkey) afterwards, so the cause beneath a
// failure is free of the string once the syntax is known good: when a
// file could not be read (an *fs.PathError beneath), or when validated
// says New parsed the same string past its syntax and only files can have
// changed since (a certificate being rewritten). Such errors keep pgx's
// cause ("unable to read CA file: open ...: no such file or directory"),
// wrap ErrConfigFile and are retried. Anything else wraps
// ErrInvalidConfig, with pgx's details replaced by a hint that names the
// faulty part without quoting it (internal/connstr).
func configError(err error, validated bool) error {
	var pce *pgconn.ParseConfigError
	if !errors.As(err, &pce) {
		return err
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) || validated {
		msg := ErrConfigFile.Error()
		if inner := pce.Unwrap(); inner != nil {
			msg += ": " + inner.Error()
		}
		return &connStringError{msg: msg, errs: []error{ErrConfigFile, err}}
	}
	return &connStringError{
		msg:  "listener: invalid config: connection string does not parse: " + connstr.Explain(pce.ConnString),
		errs: []error{ErrInvalidConfig, err},
	}
}

// connStringError is an error about the connection string whose text is
// fixed by configError. errors.Is and errors.As reach the sentinel and
// the *pgconn.ParseConfigError beneath.
type connStringError struct {
	msg  string
	errs []error
}

func (e *connStringError) Error() string { return e.msg }

func (e *connStringError) Unwrap() []error { return e.errs }
