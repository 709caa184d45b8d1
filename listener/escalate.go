package listener

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Consecutive failed connection attempts after which Serve logs at ERROR
// instead of WARN: soon for errors that only a person can fix (a wrong
// password, a database that does not exist), later for the rest (a
// server that is down or unreachable may be restarting).
const (
	escalateConfigAfter = 3
	escalateOtherAfter  = 10
)

// escalation reports whether the attempt-th consecutive failure err
// deserves an ERROR, with a hint for the operator.
func escalation(err error, attempt int) (hint string, escalate bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			return "authentication failed: check the user, the password and pg_hba.conf", attempt >= escalateConfigAfter
		case "3D000":
			return "the database does not exist: check the connection string", attempt >= escalateConfigAfter
		case "42501":
			return "the role may not connect to this database: GRANT CONNECT", attempt >= escalateConfigAfter
		}
	}
	if errors.Is(err, ErrConfigFile) {
		return "a certificate or key file named in the connection string cannot be read", attempt >= escalateConfigAfter
	}
	return "the server is unreachable or refuses connections: check the host, the port and that it runs", attempt >= escalateOtherAfter
}

// errorRecord is the last connection error as Stats reports it.
type errorRecord struct {
	msg string
	at  time.Time
}

// recordError keeps err as the last connection error. Its text never holds
// a password: connect's errors do not quote the connection string, and
// pgx's connect errors name the user and the database only.
func (l *Listener) recordError(err error) {
	if err == nil {
		return
	}
	l.lastErr.Store(&errorRecord{msg: err.Error(), at: l.cfg.Now()})
}

// lastError returns the last connection error's text, "" if none.
func (l *Listener) lastError() string {
	if e := l.lastErr.Load(); e != nil {
		return e.msg
	}
	return ""
}
