package phoenixkitdb

import (
	"log/slog"
	"testing"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// WALFailoverSlot reaches the replication Source's configuration.
func TestWALFailoverSlotPassedOn(t *testing.T) {
	for _, on := range []bool{false, true} {
		got := walSourceConfig(Config{WALFailoverSlot: on}, pubsub.New(nil), slog.New(slog.DiscardHandler))
		if got.FailoverSlot != on {
			t.Errorf("WALFailoverSlot %v gave replication.Config.FailoverSlot %v", on, got.FailoverSlot)
		}
	}
}
