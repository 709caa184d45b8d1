package pubsub

import (
	"strconv"
	"strings"
)

// Kind tells what an [Event] means.
type Kind uint8

const (
	// TableChanged is a row (or, for TRUNCATE and per-statement triggers,
	// a statement) change on one table.
	TableChanged Kind = iota + 1

	// Resync means "changes may have been missed: reload what you show".
	// A mailbox receives one after its subscriptions were (re-)established
	// by the Listener and after it overflowed. It arrives in order: after
	// every event the mailbox did receive and before any later event.
	Resync
)

// String returns "TableChanged", "Resync" or "Kind(N)".
func (k Kind) String() string {
	switch k {
	case TableChanged:
		return "TableChanged"
	case Resync:
		return "Resync"
	default:
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
}

// Reasons carried by Resync events in [Event.Reason].
const (
	// ReasonOverflow: the mailbox was full and lost events.
	ReasonOverflow = "overflow"
	// ReasonListen: the Listener (re-)established LISTEN; notifications
	// sent while it was not listening are gone.
	ReasonListen = "listen"
	// ReasonManual: [PubSub.Resync] was called without a reason.
	ReasonManual = "resync"
)

// Event is one message delivered to a [Mailbox].
//
// For TableChanged events Schema and Table name the table, Operation is
// "INSERT", "UPDATE", "DELETE" or "TRUNCATE" and RowID is the row's uuid or
// id as text ("" when the row has none, for TRUNCATE and for per-statement
// triggers). For Resync events only Kind and Reason are set.
type Event struct {
	Kind      Kind
	Schema    string
	Table     string
	Operation string
	RowID     string
	// Reason says why a Resync was sent (ReasonOverflow, ReasonListen,
	// ReasonManual or a caller's own); empty for TableChanged.
	Reason string
}

// String formats a change as PhoenixKit's payload "schema.table:OP:row_id"
// and a Resync as "Resync(reason)".
func (e Event) String() string {
	if e.Kind == Resync {
		return "Resync(" + e.Reason + ")"
	}
	return e.Schema + "." + e.Table + ":" + e.Operation + ":" + e.RowID
}

const topicPrefix = "phoenix_kit_db:"

// TopicAll returns the topic that carries every table's changes,
// "phoenix_kit_db:all" as in PhoenixKit.
func TopicAll() string { return topicPrefix + "all" }

// TopicTable returns the topic of one table's changes,
// "phoenix_kit_db:" + schema + "." + table as in PhoenixKit.
func TopicTable(schema, table string) string { return topicPrefix + schema + "." + table }

// tableKey identifies a table topic without building its name.
type tableKey struct{ schema, table string }

// tableOf is the inverse of TopicTable: schema and table split on the
// first "." after the prefix, as the payload parser splits them.
func tableOf(topic string) (tableKey, bool) {
	rest, ok := strings.CutPrefix(topic, topicPrefix)
	if !ok {
		return tableKey{}, false
	}
	schema, table, ok := strings.Cut(rest, ".")
	if !ok || schema == "" || table == "" {
		return tableKey{}, false
	}
	return tableKey{schema, table}, true
}
