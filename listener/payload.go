package listener

import (
	"errors"
	"fmt"
	"strings"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// ErrInvalidPayload is wrapped by ParsePayload's errors.
var ErrInvalidPayload = errors.New("listener: invalid payload")

// ParsePayload parses a PhoenixKit change notification,
// "schema.table:OPERATION:row_id", into a TableChanged event.
//
// schema and table are split on the first "." (so a table name may hold
// dots); OPERATION is INSERT, UPDATE, DELETE or TRUNCATE; row_id is the
// rest of the payload after the second ":" and may be empty or hold
// colons (PhoenixKit rejects those; text keys can hold them). Anything
// else returns an error wrapping ErrInvalidPayload.
//
// ParsePayload does not allocate: the event's strings share the payload's
// memory.
func ParsePayload(payload string) (pubsub.Event, error) {
	ref, rest, ok := strings.Cut(payload, ":")
	if !ok {
		return pubsub.Event{}, invalid("no ':' separator")
	}
	opText, rowID, ok := strings.Cut(rest, ":")
	if !ok {
		return pubsub.Event{}, invalid("missing row id separator")
	}
	schema, table, ok := strings.Cut(ref, ".")
	if !ok || schema == "" || table == "" {
		return pubsub.Event{}, invalid("table reference is not schema.table")
	}
	op, ok := operation(opText)
	if !ok {
		return pubsub.Event{}, invalid("unknown operation")
	}
	return pubsub.Event{
		Kind:      pubsub.TableChanged,
		Schema:    schema,
		Table:     table,
		Operation: op,
		RowID:     rowID,
	}, nil
}

// operation maps the wire text to a constant so that events do not pin
// payload memory for it.
func operation(s string) (pubsub.Operation, bool) {
	switch s {
	case "INSERT":
		return pubsub.Insert, true
	case "UPDATE":
		return pubsub.Update, true
	case "DELETE":
		return pubsub.Delete, true
	case "TRUNCATE":
		return pubsub.Truncate, true
	}
	return "", false
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidPayload, reason) }
