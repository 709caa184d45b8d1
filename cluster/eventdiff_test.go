package cluster

import (
	"bytes"
	"fmt"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// eventDiff describes how got differs from want, field by field and, for
// rows, column by column (name, OID, DecodeOID, state, text); "" when
// they are equal. Commit times compare with Equal (a follower's is UTC).
func eventDiff(want, got pubsub.Event) string {
	var b bytes.Buffer
	field := func(name string, w, g any) {
		if w != g {
			fmt.Fprintf(&b, "%s: want %v, got %v; ", name, w, g)
		}
	}
	field("Kind", want.Kind, got.Kind)
	field("Schema", want.Schema, got.Schema)
	field("Table", want.Table, got.Table)
	field("Operation", want.Operation, got.Operation)
	field("RowID", want.RowID, got.RowID)
	field("Reason", want.Reason, got.Reason)
	field("LSN", want.LSN, got.LSN)
	field("Seq", want.Seq, got.Seq)
	field("Xid", want.Xid, got.Xid)
	field("Cascade", want.Cascade, got.Cascade)
	field("RestartIdentity", want.RestartIdentity, got.RestartIdentity)
	field("Prefix", want.Prefix, got.Prefix)
	if !want.CommitTime.Equal(got.CommitTime) {
		fmt.Fprintf(&b, "CommitTime: want %v, got %v; ", want.CommitTime, got.CommitTime)
	}
	if !bytes.Equal(want.Content, got.Content) {
		fmt.Fprintf(&b, "Content: want %q, got %q; ", want.Content, got.Content)
	}
	rowDiff(&b, "New", want.New, got.New)
	rowDiff(&b, "Old", want.Old, got.Old)
	return b.String()
}

func rowDiff(b *bytes.Buffer, name string, want, got *pubsub.Row) {
	if (want == nil) != (got == nil) {
		fmt.Fprintf(b, "%s: want nil %v, got nil %v; ", name, want == nil, got == nil)
		return
	}
	if want.Len() != got.Len() {
		fmt.Fprintf(b, "%s: want %d columns, got %d; ", name, want.Len(), got.Len())
		return
	}
	for i := range want.Len() {
		wc, gc := want.Layout().Column(i), got.Layout().Column(i)
		if wc != gc {
			fmt.Fprintf(b, "%s column %d: want %+v, got %+v; ", name, i, wc, gc)
		}
		ws, wt := want.At(i)
		gs, gt := got.At(i)
		if ws != gs || wt != gt {
			fmt.Fprintf(b, "%s.%s: want %v %q, got %v %q; ", name, wc.Name, ws, wt, gs, gt)
		}
	}
}
