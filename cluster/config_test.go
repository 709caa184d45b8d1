package cluster_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

func newDB(t *testing.T, logger *slog.Logger) *phoenixkitdb.DB {
	t.Helper()
	db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	for _, cfg := range []cluster.Config{
		{Stream: "a.b"},
		{Stream: "has space"},
		{Subject: "a..b"},
		{Subject: "a.*"},
		{Subject: "a b"},
	} {
		if _, err := cluster.New(cfg, newDB(t, quiet())); !errors.Is(err, cluster.ErrInvalidConfig) {
			t.Errorf("New(%+v): %v, want ErrInvalidConfig", cfg, err)
		}
	}
	if _, err := cluster.New(cluster.Config{}, nil); !errors.Is(err, cluster.ErrInvalidConfig) {
		t.Errorf("New with a nil DB: %v", err)
	}
	cl, err := cluster.New(cluster.Config{}, newDB(t, quiet()))
	if err != nil {
		t.Fatal(err)
	}
	if cl.Key() != "db" || len(cl.Children()) != 3 {
		t.Fatalf("key %q, %d children", cl.Key(), len(cl.Children()))
	}
}

// Subscribing through Changes() while the cluster module does not run
// warns after StartGrace, naming the cluster module.
func TestEnsureStartedWarnsWhenNotRunning(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	db := newDB(t, logger)
	if _, err := cluster.New(cluster.Config{StartGrace: 10 * time.Millisecond, Logger: logger}, db); err != nil {
		t.Fatal(err)
	}
	mb := pubsub.NewMailbox(1)
	defer mb.Close()
	if err := db.Changes().SubscribeAll(mb); err != nil {
		t.Fatal(err)
	}
	poll(t, "the warning", func() bool { return strings.Contains(logs.String(), "cluster module is not running") })
	if db.Changes().Running() || db.Ready() {
		t.Fatal("a cluster module that never ran reports running or ready")
	}
}
