package shape

import "github.com/phoenixkit/phoenixkitdb/pubsub"

// Transaction ends. In WAL mode the router's mailbox takes the source's
// commit marks (pubsub.Committed): one per table a transaction changed,
// all after its last change. At the first of them every subscription sent
// a message of the transaction (r.txnSubs) receives a Commit; the later
// marks of that transaction find nobody left. emit notes a subscription
// with one comparison per message, so routing costs what it did.

// commitMark sends Commit to the subscriptions whose transaction ended
// at or before mark's: a transaction of a lower LSN whose mark was not
// seen (a source without marks) ended too. Those in a later transaction
// (a waiting shape replaying older changes meanwhile) stay noted.
func (r *router) commitMark(mark *pubsub.Event) {
	kept := r.txnSubs[:0]
	for _, sub := range r.txnSubs {
		switch lsn := sub.txn; {
		case lsn == 0:
		case lsn > mark.LSN:
			kept = append(kept, sub)
		default:
			sub.txn = 0
			msg := Message{Kind: Commit, LSN: lsn}
			if lsn == mark.LSN {
				msg.Seq, msg.xid = mark.Seq, mark.Xid
			}
			r.send(sub, msg)
		}
	}
	clear(r.txnSubs[len(kept):])
	r.txnSubs = kept
}

// forgetTxns drops every due Commit: after a Resync, and when the router
// starts, every subscriber starts over from a snapshot.
func (r *router) forgetTxns() {
	for _, sub := range r.txnSubs {
		sub.txn = 0
	}
	clear(r.txnSubs)
	r.txnSubs = r.txnSubs[:0]
}
