package replication

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Setup errors Serve reports (wrapped) in its log and in Stats.LastError;
// match them with errors.Is. Serve retries each with backoff, since a
// DBA may fix the cause while the Source runs.
var (
	// ErrWALLevel: the server's wal_level is not logical.
	ErrWALLevel = errors.New("replication: wal_level is not logical")
	// ErrNoPublication: the publication does not exist.
	ErrNoPublication = errors.New("replication: publication does not exist")
	// ErrSlotOtherDatabase: a slot of that name belongs to another
	// database or uses another output plugin.
	ErrSlotOtherDatabase = errors.New("replication: slot belongs to another database or plugin")
	// ErrSlotInUse: another reader streams from the slot. Serve waits and
	// retries every 200 ms.
	ErrSlotInUse = errors.New("replication: slot is in use")
	// ErrMessagesUnsupported: Config.Messages is set and the server is
	// older than PostgreSQL 14, whose pgoutput cannot send messages.
	ErrMessagesUnsupported = errors.New("replication: logical decoding messages need PostgreSQL 14 or later")
	// ErrUnsupportedServer: the server is older than MinServerVersion.
	ErrUnsupportedServer = errors.New("replication: unsupported PostgreSQL version")
	// ErrSilent: the connection stayed silent past Config.Timeout and a
	// look at its walsender on a side connection failed or found it not
	// at work (gone, idle, or blocked writing to the Source).
	ErrSilent = errors.New("replication: connection silent past the timeout; presumed dead")
	// ErrSlotCreateTimeout: creating the slot waited past
	// Config.SlotCreateTimeout for transactions open when it began.
	ErrSlotCreateTimeout = errors.New("replication: slot creation timed out")
)

// escalateAfter is how many consecutive failed attempts to connect make
// Serve log at ERROR instead of WARN: a server that is down may be
// restarting.
const escalateAfter = 10

// slotBusyError says which backend holds the slot.
type slotBusyError struct{ pid uint32 }

func (e *slotBusyError) Error() string {
	return fmt.Sprintf("%v: active for PID %d", ErrSlotInUse, e.pid)
}

func (e *slotBusyError) Unwrap() error { return ErrSlotInUse }

// escalation returns a hint for the operator and whether err is a setup
// error that only a person can fix (logged at ERROR at once).
func escalation(err error) (hint string, setup bool) {
	switch {
	case errors.Is(err, ErrWALLevel):
		return "set wal_level = logical in postgresql.conf and restart the server", true
	case errors.Is(err, ErrNoPublication):
		return "create it with replication.EnsurePublication (CREATE PUBLICATION ... FOR TABLE ...)", true
	case errors.Is(err, ErrSlotOtherDatabase):
		return "choose another Config.Slot, or drop the slot with pg_drop_replication_slot", true
	case errors.Is(err, ErrMessagesUnsupported):
		return "upgrade the server to PostgreSQL 14 or later, or turn Config.Messages off", true
	case errors.Is(err, ErrUnsupportedServer):
		return fmt.Sprintf("upgrade the server to PostgreSQL %d or later", MinServerVersion), true
	case errors.Is(err, ErrSlotCreateTimeout):
		return "a transaction that wrote something and stays open (idle in transaction?) blocks CREATE_REPLICATION_SLOT: end it (the WARN lines before name its pid and application_name) or raise Config.SlotCreateTimeout", true
	case errors.Is(err, ErrInvalidConfig):
		return "fix the connection string", true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "42501":
			return "the role needs the REPLICATION attribute: ALTER ROLE name REPLICATION (and pg_hba.conf must allow it)", true
		case "28P01", "28000":
			return "authentication failed: check the user, the password and pg_hba.conf (replication connections match the \"replication\" database there only for physical replication; logical ones match the database name)", true
		case "3D000":
			return "the database does not exist: check the connection string", true
		case "53400":
			return "raise max_replication_slots or max_wal_senders, or drop unused slots", true
		}
	}
	return "the server is unreachable or refuses connections: check the host, the port and that it runs", false
}

// errorRecord is the last error as Stats reports it.
type errorRecord struct {
	msg string
	at  time.Time
}

// recordError keeps err as the last error. Its text never holds a
// password: errors about the connection string do not quote it, and
// pgx's connect errors name the user and the database only.
func (s *Source) recordError(err error) {
	if err == nil {
		return
	}
	s.lastErr.Store(&errorRecord{msg: err.Error(), at: time.Now()})
}

// lastError returns the last error's text, "" if none.
func (s *Source) lastError() string {
	if e := s.lastErr.Load(); e != nil {
		return e.msg
	}
	return ""
}
