package phoenixkitdb_test

import (
	"errors"
	"testing"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/internal/changesource"
	"github.com/phoenixkit/phoenixkitdb/listener"
	"github.com/phoenixkit/phoenixkitdb/pgsql"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// The cluster module reaches a DB's plumbing through changesource.Of: Build
// makes a second source of the DB's kind from the same Config publishing
// to the PubSub given, and SetOverride redirects Changes and restores it
// on nil.
func TestPlumbingBuildAndOverride(t *testing.T) {
	for _, kind := range []phoenixkitdb.SourceKind{phoenixkitdb.SourceNotify, phoenixkitdb.SourceWAL} {
		db, err := phoenixkitdb.New(phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: kind,
			WAL: replication.Config{Slot: "s1"}, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		p := changesource.Of(db)
		if p == nil || p.WAL() != (kind == phoenixkitdb.SourceWAL) {
			t.Fatalf("%v: plumbing %v", kind, p)
		}
		own := db.Changes()
		ps := pubsub.New(quietLogger())
		src, err := p.Build(ps, changesource.Options{ConfirmLimit: func() pubsub.LSN { return 0 }})
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
		p.SetOverride(src)
		if db.Changes() != src {
			t.Fatal("SetOverride did not redirect Changes")
		}
		p.SetOverride(nil)
		if db.Changes() != own {
			t.Fatal("SetOverride(nil) did not restore the DB's own source")
		}
	}
	if changesource.Of(struct{}{}) != nil {
		t.Fatal("Of found plumbing in a value that holds none")
	}
}

// Every configuration error, whichever package finds it, wraps
// pgsql.ErrInvalidConfig as well as the reporting package's own.
func TestInvalidConfigHasOneTarget(t *testing.T) {
	for _, tc := range []struct {
		cfg phoenixkitdb.Config
		pkg error
	}{
		{phoenixkitdb.Config{ConnString: "postgres://x:y@[bad"}, listener.ErrInvalidConfig},
		{phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: phoenixkitdb.SourceWAL, WAL: replication.Config{Slot: "Bad"}}, replication.ErrInvalidConfig},
		// Settings of the WAL section reach the Source: FailoverSlot with
		// Temporary is refused by replication.New.
		{phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: phoenixkitdb.SourceWAL, WAL: replication.Config{FailoverSlot: true, Temporary: true}}, replication.ErrInvalidConfig},
		{phoenixkitdb.Config{ConnString: "postgres://localhost/x", Source: 7}, nil},
	} {
		_, err := phoenixkitdb.New(tc.cfg)
		if !errors.Is(err, pgsql.ErrInvalidConfig) || tc.pkg != nil && !errors.Is(err, tc.pkg) {
			t.Errorf("New(%+v) = %v, want it to wrap pgsql.ErrInvalidConfig and %v", tc.cfg, err, tc.pkg)
		}
	}
}
