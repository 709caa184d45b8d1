package oracle

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// CreateSourceSlot creates a logical slot named slot with the pgoutput
// plugin, for the source under test to find (a persistent slot of the
// replication package's kind). Create it next to the oracle's slot.
func CreateSourceSlot(ctx context.Context, conn *pgx.Conn, slot string) error {
	if _, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, slot); err != nil {
		return fmt.Errorf("oracle: creating slot %q: %w", slot, err)
	}
	return nil
}

// Collect reads events from mb until the INSERT of row fenceID into
// FenceTable (see Workload.Fence), which it includes, and returns them in
// order. It blocks until then, until mb is closed or until ctx ends; the
// error then says how many events came.
func Collect(ctx context.Context, mb *pubsub.Mailbox, fenceID int) ([]pubsub.Event, error) {
	want := strconv.Itoa(fenceID)
	var evs []pubsub.Event
	for {
		select {
		case ev, ok := <-mb.C():
			if !ok {
				return evs, fmt.Errorf("oracle: mailbox closed after %d events, before the fence", len(evs))
			}
			evs = append(evs, ev)
			if ev.Kind == pubsub.TableChanged && ev.Table == FenceTable && ev.Operation == "INSERT" {
				id, ok := ev.New.Text("id")
				if !ok {
					return evs, fmt.Errorf("oracle: a fence row arrived without its id (%d events so far)", len(evs))
				}
				if id == want {
					return evs, nil
				}
			}
		case <-ctx.Done():
			return evs, fmt.Errorf("oracle: %d events, no fence %d: %w", len(evs), fenceID, ctx.Err())
		}
	}
}

// Check compares events with the oracle's records for publication: it
// fills in o.Scope (the publication's) and o.TypeNames (of the events'
// columns) from conn when they are nil, and o.Label with the publication
// when empty, then calls Compare.
func Check(ctx context.Context, conn *pgx.Conn, recs []Record, events []pubsub.Event, publication string, o Options) (*Report, error) {
	var err error
	if o.Scope == nil {
		if o.Scope, err = LoadScope(ctx, conn, publication); err != nil {
			return nil, err
		}
	}
	if o.TypeNames == nil {
		if o.TypeNames, err = TypeNames(ctx, conn, events); err != nil {
			return nil, err
		}
	}
	if o.Label == "" {
		o.Label = publication
	}
	return Compare(recs, events, o), nil
}
