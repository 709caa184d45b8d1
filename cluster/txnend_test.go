package cluster_test

import (
	"fmt"
	"testing"

	"github.com/phoenixkit/phoenixkitdb"
	"github.com/phoenixkit/phoenixkitdb/cluster"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// WAL source: every instance's mailboxes made WithCommits receive each
// transaction's end as the WAL source makes it on one machine (a mark
// per table after the last change, then TopicAll's, Seq following the
// changes), made by its follower from the stream; plain mailboxes receive
// none. Batched and one change a message alike.
func TestWALCommitMarksThroughCluster(t *testing.T) {
	t.Parallel()
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single=%v", single), func(t *testing.T) {
			t.Parallel()
			ns := startNATS(t)
			dbURL, run := walDB(t)
			o := instanceOpts{source: phoenixkitdb.SourceWAL, cluster: cluster.Config{SingleChangeMessages: single}}
			ins := []*instance{newInstance(t, ns, dbURL, o), newInstance(t, ns, dbURL, o)}
			var all, items []*pubsub.Mailbox
			for _, in := range ins {
				a, i := pubsub.NewMailbox(4096, pubsub.WithCommits()), pubsub.NewMailbox(4096, pubsub.WithCommits())
				t.Cleanup(a.Close)
				t.Cleanup(i.Close)
				if err := in.db.Changes().SubscribeAll(a); err != nil {
					t.Fatal(err)
				}
				if err := in.db.Changes().Subscribe(i, "public", "items"); err != nil {
					t.Fatal(err)
				}
				all, items = append(all, a), append(items, i)
			}
			waitReady(t, ins...)
			const rows = 300
			run(`INSERT INTO items SELECT g, 'x' FROM generate_series(1, 300) g`)
			run(`INSERT INTO items VALUES (1000, 'y')`)
			for i := range ins {
				for _, c := range []struct {
					mb       *pubsub.Mailbox
					table    string
					markSeqs [2]uint64
				}{{all[i], "", [2]uint64{rows + 2, 3}}, {items[i], "items", [2]uint64{rows + 1, 2}}} {
					for k, n := range []int{rows, 1} {
						var lsn pubsub.LSN
						for got := 0; got < n; {
							ev := next(t, c.mb)
							if ev.Kind == pubsub.Resync {
								continue
							}
							if got++; ev.Kind != pubsub.TableChanged || ev.Seq != uint64(got) {
								t.Fatalf("instance %d %q: got %v (%v, Seq %d), want change %d", i, c.table, ev, ev.Kind, ev.Seq, got)
							}
							lsn = ev.LSN
						}
						ev := next(t, c.mb)
						if ev.Kind != pubsub.Committed || ev.Table != c.table || ev.LSN != lsn || ev.Count != uint32(n) || ev.Seq != c.markSeqs[k] || ev.Xid == 0 {
							t.Fatalf("instance %d %q, transaction %d: got %+v, want its end", i, c.table, k, ev)
						}
					}
				}
				for n := 0; n < rows+1; {
					if ev := next(t, ins[i].mb); ev.Kind == pubsub.TableChanged {
						n++
					} else if ev.Kind != pubsub.Resync {
						t.Fatalf("plain mailbox of instance %d: %+v", i, ev)
					}
				}
			}
		})
	}
}
