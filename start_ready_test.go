package phoenixkitdb_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// When changes do not flow in time, Start's error says so once, names the
// component that is waiting (the Listener in NOTIFY mode, the WAL source
// in WAL mode) and quotes that component's last error.
func TestStartNotReadyNamesTheWaitingComponent(t *testing.T) {
	url := pgtest.NewDB(t, pg)
	for _, c := range []struct {
		name      string
		cfg       phoenixkitdb.Config
		waiting   string // the component and what it waits for
		other     string // the component that must not be named
		lastError string
	}{
		{
			name:      "notify",
			cfg:       phoenixkitdb.Config{ConnString: pg.URL("pkdb_no_such_database")},
			waiting:   "listener: the Listener has not connected yet: ",
			other:     "WAL source",
			lastError: "pkdb_no_such_database",
		},
		{
			// The shared server runs with wal_level=replica.
			name:      "wal",
			cfg:       phoenixkitdb.Config{ConnString: url, Source: phoenixkitdb.SourceWAL, WAL: replication.Config{Slot: "pkdb_ready_msg"}},
			waiting:   `replication: the WAL source has not started streaming from slot "pkdb_ready_msg" (publication "phoenixkitdb") yet: `,
			other:     "Listener",
			lastError: "wal_level",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Logger = quietLogger()
			db, err := phoenixkitdb.Start(t.Context(), c.cfg, phoenixkitdb.WithReadyTimeout(2*time.Second))
			if err == nil {
				_ = db.Close()
				t.Fatal("Start succeeded")
			}
			msg := err.Error()
			if !errors.Is(err, phoenixkitdb.ErrNotReady) {
				t.Errorf("error %q does not wrap ErrNotReady", msg)
			}
			if !strings.Contains(msg, c.waiting) || strings.Contains(msg, c.other) {
				t.Errorf("error %q: want it to say %q and not to name the %s", msg, c.waiting, c.other)
			}
			if !strings.Contains(msg, "(last error: ") || !strings.Contains(msg, c.lastError) {
				t.Errorf("error %q does not quote the last error (%s)", msg, c.lastError)
			}
			for _, said := range []string{"not ready", "flow", "last error"} {
				if n := strings.Count(msg, said); n > 1 {
					t.Errorf("error %q says %q %d times", msg, said, n)
				}
			}
		})
	}
}
