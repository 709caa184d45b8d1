package phoenixkitdb_test

import (
	"testing"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// NewChangeSource builds a second source of the DB's kind publishing to
// the PubSub given; SetChanges redirects Changes and restores it on nil.
func TestNewChangeSourceAndSetChanges(t *testing.T) {
	for _, kind := range []phoenixkitdb.SourceKind{phoenixkitdb.SourceNotify, phoenixkitdb.SourceWAL} {
		db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: kind, Slot: "s1", Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		own := db.Changes()
		ps := pubsub.New(quietLogger())
		src, err := db.NewChangeSource(ps)
		if err != nil {
			t.Fatal(err)
		}
		switch s := src.(type) {
		case *listener.Listener:
			if kind != phoenixkitdb.SourceNotify || s.PubSub() != ps || s == db.Listener() {
				t.Fatalf("%v: got a Listener that is not a new one on ps", kind)
			}
		case *replication.Source:
			if kind != phoenixkitdb.SourceWAL || s.PubSub() != ps || s.Slot() != "s1" || s == db.Replication() {
				t.Fatalf("%v: got a Source that is not a new one on ps with the DB's slot", kind)
			}
		default:
			t.Fatalf("%v: unexpected source %T", kind, src)
		}
		if db.Source() != kind {
			t.Fatalf("Source() = %v, want %v", db.Source(), kind)
		}
		db.SetChanges(src)
		if db.Changes() != src {
			t.Fatal("SetChanges did not redirect Changes")
		}
		db.SetChanges(nil)
		if db.Changes() != own {
			t.Fatal("SetChanges(nil) did not restore the DB's own source")
		}
	}
}

// NewChangeSourceWith builds the same kind of source as NewChangeSource;
// in WAL mode its ConfirmLimit is the replication Source's (the cluster
// module's tests show it bounding the slot).
func TestNewChangeSourceWith(t *testing.T) {
	for _, kind := range []phoenixkitdb.SourceKind{phoenixkitdb.SourceNotify, phoenixkitdb.SourceWAL} {
		db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: kind, Slot: "s2", Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		ps := pubsub.New(quietLogger())
		src, err := db.NewChangeSourceWith(ps, phoenixkitdb.ChangeSourceOptions{ConfirmLimit: func() pubsub.LSN { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		switch s := src.(type) {
		case *listener.Listener:
			if kind != phoenixkitdb.SourceNotify || s.PubSub() != ps {
				t.Fatalf("%v: got a Listener that is not a new one on ps", kind)
			}
		case *replication.Source:
			if kind != phoenixkitdb.SourceWAL || s.PubSub() != ps || s.Slot() != "s2" || s == db.Replication() {
				t.Fatalf("%v: got a Source that is not a new one on ps with the DB's slot", kind)
			}
		default:
			t.Fatalf("%v: unexpected source %T", kind, src)
		}
	}
}
