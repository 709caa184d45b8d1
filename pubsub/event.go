package pubsub

import (
	"strconv"
	"strings"
	"time"
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

	// Message is a logical decoding message a transaction emitted with
	// pg_logical_emit_message(true, prefix, content), delivered in order
	// with the transaction's changes (WAL source only, when asked for).
	// Prefix and Content carry it; LSN, Seq and CommitTime place it.
	Message

	// Committed marks the end of a transaction (WAL source and cluster
	// follower only): every change of the transaction a mailbox receives
	// comes before the transaction's first Committed. It is opt-in: only
	// a mailbox made [WithCommits] receives it, once per topic it holds
	// that the transaction touched. A table topic's mark names the table
	// (Schema, Table) and Count is the transaction's changes to it;
	// [TopicAll]'s mark has no table and counts every change. LSN, Xid,
	// CommitTime and Seq place it, Seq following the transaction's
	// changes. NOTIFY mode has no transactions and sends none.
	Committed
)

// String returns "TableChanged", "Resync" or "Kind(N)".
func (k Kind) String() string {
	switch k {
	case TableChanged:
		return "TableChanged"
	case Resync:
		return "Resync"
	case Message:
		return "Message"
	case Committed:
		return "Committed"
	default:
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
}

// Operation is what a change did to its table: [Insert], [Update],
// [Delete] or [Truncate], spelled as PhoenixKit's payload spells it.
type Operation string

// The operations of a TableChanged event.
const (
	Insert   Operation = "INSERT"
	Update   Operation = "UPDATE"
	Delete   Operation = "DELETE"
	Truncate Operation = "TRUNCATE"
)

// Reason says why a Resync was sent. The constants below are the
// library's own; [PubSub.ResyncWith] takes any other.
type Reason string

// Reasons carried by Resync events in [Event.Reason].
const (
	// ReasonOverflow: the mailbox was full and lost events.
	ReasonOverflow Reason = "overflow"
	// ReasonListen: the Listener (re-)established LISTEN; notifications
	// sent while it was not listening are gone.
	ReasonListen Reason = "listen"
	// ReasonManual: [PubSub.Resync] was called without a reason.
	ReasonManual Reason = "resync"
	// ReasonStart: a WAL change source connected for the first time in
	// this process; what happened before it started is unknown.
	ReasonStart Reason = "start"
	// ReasonSlot: a WAL change source found its replication slot lost
	// (dropped or invalidated) and recreated it; changes in between are gone.
	ReasonSlot Reason = "slot"
	// ReasonReconnect: a WAL change source with a temporary slot
	// reconnected; changes while it was away are gone.
	ReasonReconnect Reason = "reconnect"
	// ReasonServer: a WAL change source found that the server's history
	// is not the one it streamed from (another cluster behind the address,
	// a point-in-time recovery or a restore, a standby promoted before it
	// replayed what was delivered): changes delivered before may be gone,
	// and later ones may carry lower LSNs than them.
	ReasonServer Reason = "server"
)

// Event is one message delivered to a [Mailbox].
//
// For TableChanged events Schema and Table name the table, Operation is
// [Insert], [Update], [Delete] or [Truncate] and RowID is the row's uuid or
// id as text ("" when the row has none, for TRUNCATE and for per-statement
// triggers). For Resync events only Kind and Reason are set.
//
// Events from the WAL change source (package replication) also carry the
// transaction's commit position and time and the row itself; events from
// NOTIFY leave those fields zero.
type Event struct {
	Kind Kind
	// Cascade and RestartIdentity are a WAL TRUNCATE's options (TRUNCATE
	// ... CASCADE, ... RESTART IDENTITY); false otherwise.
	Cascade, RestartIdentity bool
	// Count is a Committed mark's number of changes (in its padding:
	// Event is no bigger for it); 0 otherwise.
	Count     uint32
	Schema    string
	Table     string
	Operation Operation
	RowID     string
	// Reason says why a Resync was sent (ReasonOverflow, ReasonListen,
	// ReasonManual, ReasonStart, ReasonSlot, ReasonReconnect,
	// ReasonServer or a caller's own); empty for TableChanged.
	Reason Reason
	// LSN is the commit position of the change's transaction; 0 from NOTIFY.
	LSN LSN
	// Xid is the id of the change's transaction as pgoutput's Begin
	// message gives it (the low 32 bits of the transaction's xid8, as
	// pg_current_snapshot() lists them modulo 2^32); 0 from NOTIFY.
	// A snapshot-consistent consumer uses it to skip transactions its
	// snapshot already saw.
	Xid uint32
	// Seq is the change's position inside its transaction, counting from
	// 1; 0 from NOTIFY. (LSN, Seq) is unique and increasing along a WAL
	// stream: the key for consumers that must ignore a change they saw.
	Seq uint64
	// CommitTime is when the change's transaction committed; zero from NOTIFY.
	CommitTime time.Time
	// New is the row after an INSERT or UPDATE; nil from NOTIFY and for
	// DELETE and TRUNCATE. Receivers share it; it is immutable.
	New *Row
	// Prefix and Content are a Message's prefix and content.
	Prefix  string
	Content []byte
	// Old is the row before an UPDATE or DELETE, as far as the table's
	// replica identity provides it: the key columns by default (the other
	// columns [Absent]), every column with REPLICA IDENTITY FULL; nil when
	// the server sent none. Receivers share it; it is immutable.
	Old *Row
}

// String formats a change as PhoenixKit's payload "schema.table:OP:row_id",
// a Resync as "Resync(reason)" and a mark as "Committed(schema.table@LSN)".
func (e Event) String() string {
	switch e.Kind {
	case Resync:
		return "Resync(" + string(e.Reason) + ")"
	case Committed:
		return "Committed(" + e.Schema + "." + e.Table + "@" + e.LSN.String() + ")"
	}
	return e.Schema + "." + e.Table + ":" + string(e.Operation) + ":" + e.RowID
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

// tableOf reads a topic string of TopicTable's form as PhoenixKit does:
// schema and table split on the first "." after the prefix, as the
// payload parser splits them. Only Subscribe by name uses it; a schema
// containing '.' is reachable through SubscribeTable alone.
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
