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
// loads the publication's scope and the type names of the events' columns
// from conn, then calls Compare.
func Check(ctx context.Context, conn *pgx.Conn, recs []Record, events []pubsub.Event, publication string, seed int64) (*Report, error) {
	scope, err := LoadScope(ctx, conn, publication)
	if err != nil {
		return nil, err
	}
	types, err := TypeNames(ctx, conn, events)
	if err != nil {
		return nil, err
	}
	return Compare(recs, events, Options{Scope: scope, TypeNames: types, Seed: seed, Label: publication}), nil
}
