package replication_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// idOf returns the id column of a change.
func idOf(t *testing.T, ev pubsub.Event) int64 {
	t.Helper()
	s, ok := ev.New.Text("id")
	if !ok {
		t.Fatalf("%v has no id", ev)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A full ack mailbox stops the Source: nothing is dropped anywhere, a
// plain mailbox gets only what the ack mailbox took, the slot is not
// confirmed past the unacknowledged transaction while the Source keeps
// the connection alive with status updates, and a WARN names the
// mailbox. Acknowledging resumes the stream; the slot is confirmed once
// everything is acknowledged.
func TestAckMailboxFullHoldsSlot(t *testing.T) {
	b := setup(t, options{noServe: true, cfg: replication.Config{StatusInterval: 100 * time.Millisecond}})
	acked := pubsub.NewMailbox(10, pubsub.WithAck(), pubsub.WithName("slow-consumer"))
	t.Cleanup(acked.Close)
	if err := b.src.SubscribeAll(acked); err != nil {
		t.Fatal(err)
	}
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	expectResync(t, acked, pubsub.ReasonStart, 10*time.Second)
	conn := connect(t, b.url)
	start := slotConfirmed(t, conn, b.cfg.Slot)

	// A transaction that fits, handed over whole but not acknowledged:
	// the slot is not confirmed past it, idle keepalives included.
	exec(t, conn, `INSERT INTO other VALUES (1, 'x')`)
	insert(t, conn, -4, 0, 5)
	var early []pubsub.Event
	for range 5 {
		early = append(early, next(t, acked, 30*time.Second))
	}
	exec(t, conn, `INSERT INTO other SELECT g, repeat('x', 100) FROM generate_series(2, 1000) g`)
	past := currentLSN(t, conn)
	time.Sleep(10 * b.cfg.StatusInterval) // status updates and idle keepalives
	if c := slotConfirmed(t, conn, b.cfg.Slot); c > pglogrepl.LSN(early[0].LSN) {
		t.Fatalf("confirmed_flush_lsn %v passed the unacknowledged transaction at %v", c, pglogrepl.LSN(early[0].LSN))
	}
	if err := acked.Ack(early[4]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "confirmed_flush_lsn past the acknowledged transaction", func() bool {
		return slotConfirmed(t, conn, b.cfg.Slot) >= past
	})
	for range 5 {
		next(t, b.mb, 30*time.Second)
	}

	insert(t, conn, 1, 30, 30) // one transaction of 30 rows
	var got []pubsub.Event
	for range 10 {
		got = append(got, next(t, acked, 30*time.Second))
	}
	eventually(t, 30*time.Second, "the Source waiting for the ack mailbox", func() bool { return b.src.Stats().WaitingForAck })
	_, lagBefore, _ := slotInfo(t, conn, b.cfg.Slot)
	insert(t, conn, 31, 130, 10) // ten more transactions while it waits
	eventually(t, 30*time.Second, "a WARN naming the mailbox", func() bool {
		return b.logs.Count(`level=WARN msg="replication: ack mailboxes are full`) > 0 && b.logs.Count("slow-consumer") > 0
	})
	// Confirming a transaction's commit LSN itself is safe: the server
	// sends again every transaction that commits at or after the
	// confirmed position (keepalives may report it between transactions).
	txnA := pglogrepl.LSN(got[0].LSN)
	if c := slotConfirmed(t, conn, b.cfg.Slot); c > txnA {
		t.Fatalf("confirmed_flush_lsn %v passed the unacknowledged transaction at %v", c, txnA)
	}
	if pid, lag, _ := slotInfo(t, conn, b.cfg.Slot); pid == 0 || lag <= lagBefore {
		t.Fatalf("slot active pid %d, lag %d after writes (was %d): want the connection kept and the lag grown", pid, lag, lagBefore)
	}
	if n := b.mb.Len(); n != 10 {
		t.Fatalf("the plain mailbox holds %d changes, want the 10 the ack mailbox took", n)
	}

	// Half of the transaction acknowledged: it resumes, but the
	// transaction still holds the slot.
	if err := acked.Ack(got[9]); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		got = append(got, next(t, acked, 30*time.Second))
	}
	eventually(t, 30*time.Second, "the Source waiting again", func() bool { return b.src.Stats().WaitingForAck })
	time.Sleep(3 * b.cfg.StatusInterval) // a few status updates: none may confirm txnA
	st := b.src.Stats()
	if c := slotConfirmed(t, conn, b.cfg.Slot); c > txnA || pglogrepl.LSN(st.ConfirmedLSN) > txnA {
		t.Fatalf("confirmed %v (Stats %v) with transaction %v partly unacknowledged", c, pglogrepl.LSN(st.ConfirmedLSN), txnA)
	}
	if c := slotConfirmed(t, conn, b.cfg.Slot); c < start {
		t.Fatalf("confirmed_flush_lsn went back from %v to %v", start, c)
	}

	// Everything acknowledged as it is read: all 130 arrive in order.
	for _, ev := range got[10:] {
		if err := acked.Ack(ev); err != nil {
			t.Fatal(err)
		}
	}
	for len(got) < 130 {
		ev := next(t, acked, 30*time.Second)
		if err := acked.Ack(ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	for i, ev := range got {
		if id := idOf(t, ev); id != int64(i+1) {
			t.Fatalf("change %d has id %d: lost, duplicated or reordered", i, id)
		}
		if i < 30 && (ev.LSN != got[0].LSN || ev.Seq != uint64(i+1)) {
			t.Fatalf("change %d of the first transaction at (%v, %d)", i, pglogrepl.LSN(ev.LSN), ev.Seq)
		}
	}
	end := currentLSN(t, conn)
	eventually(t, 30*time.Second, "confirmed_flush_lsn past every write", func() bool {
		return slotConfirmed(t, conn, b.cfg.Slot) >= end
	})
	c := &collector{t: t, next: 1}
	c.take(b.mb, 130, 30*time.Second)
	if acked.Dropped() != 0 || b.mb.Dropped() != 0 || b.ps.Stats().Dropped != 0 {
		t.Fatalf("dropped: ack %d, plain %d, pubsub %d", acked.Dropped(), b.mb.Dropped(), b.ps.Stats().Dropped)
	}
	if b.src.Stats().WaitingForAck {
		t.Fatal("still waiting")
	}
	if n := strings.Count(b.logs.String(), `msg="replication: ack mailboxes are full`); n != 1 {
		t.Fatalf("%d warnings in a few seconds: want one (at most one per 10 s)", n)
	}
}

// A Source stopped while it waits for a full ack mailbox returns at once,
// and records exactly what it handed over, in the middle of a chunk of
// several transactions: the next Serve hands over the rest, so every
// mailbox receives every change once and in order.
func TestAckStopWhileWaiting(t *testing.T) {
	b := setup(t, options{noServe: true, cfg: replication.Config{StatusInterval: 100 * time.Millisecond}})
	acked := pubsub.NewMailbox(10, pubsub.WithAck(), pubsub.WithName("slow-consumer"))
	t.Cleanup(acked.Close)
	if err := b.src.SubscribeAll(acked); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, b.url)
	// Create the slot, then write a backlog of ten transactions of four
	// rows that the next Serve reads in one go.
	b.stop = serve(t, b.src)
	waitReady(t, b.src)
	if err := b.stop(); err != context.Canceled {
		t.Fatalf("Serve: %v", err)
	}
	insert(t, conn, 1, 40, 4)

	b.stop = serve(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	expectResync(t, acked, pubsub.ReasonStart, 10*time.Second)
	eventually(t, 30*time.Second, "the Source waiting for the ack mailbox", func() bool { return b.src.Stats().WaitingForAck })
	began := time.Now()
	if err := b.stop(); err != context.Canceled {
		t.Fatalf("Serve: %v", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("Serve took %v to return", took)
	}
	handed := b.mb.Len()
	if handed == 0 || handed >= 40 {
		t.Fatalf("%d changes handed over before the stop", handed)
	}
	if got := b.src.Stats().Published; got != uint64(handed) {
		t.Fatalf("Stats.Published %d, want the %d handed over", got, handed)
	}

	b.stop = serve(t, b.src)
	c := &collector{t: t, next: 1}
	ca := &collector{t: t, next: 1}
	done := make(chan struct{})
	go func() {
		// The ack consumer: acknowledges each change as it reads it.
		defer close(done)
		for ca.next <= 40 {
			select {
			case ev := <-acked.C():
				if ev.Kind != pubsub.TableChanged || idOf(t, ev) != ca.next {
					t.Errorf("ack mailbox: got %v, want id %d", ev, ca.next)
					return
				}
				ca.next++
				if err := acked.Ack(ev); err != nil {
					t.Error(err)
					return
				}
			case <-time.After(30 * time.Second):
				t.Errorf("ack mailbox: no id %d", ca.next)
				return
			}
		}
	}()
	c.take(b.mb, 40, 30*time.Second)
	<-done
	expectNothing(t, b.mb)
	expectNothing(t, acked)
	t.Logf("%d of 40 changes handed over before the stop", handed)
}
