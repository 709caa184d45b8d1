package shape

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/shape/internal/where"

	"github.com/phoenixkit/phoenixkitdb/internal/walflush"
)

// tkey identifies a table.
type tkey struct{ schema, table string }

// table is the router's state for one table with shapes.
type table struct {
	key    tkey
	info   *tableInfo        // of the table's first shape
	layout *pubsub.RowLayout // every column of info, for fetched rows
	fetchq *fetchQuery
	// shapes are the table's shapes, nopred those without a WHERE clause
	// (not in ix), in no order (see shapelist.go).
	shapes []*shape
	byID   map[uint64]*shape
	nopred []*shape
	// waiting are the shapes not live (their snapshot is being taken):
	// they keep the changes for later.
	waiting []*shape
	ix      *where.Index
	stamp   uint64 // the last change's stamp (see change.stamp)
	// keys maps the keys the shapes hold to them; byKid names the
	// shapes by their current kid.
	keys    keyIndex
	byKid   map[uint64]*shape
	nextKid uint64
	// unindexed are key sets of fresh snapshots not yet in keys (see
	// settle).
	unindexed []keySet
	// subscribed says the router's mailbox holds the table's topic.
	subscribed bool
}

// shape is the router's state for one shape. Its fields are ordered to
// keep it small: one is held per shape, idle or not.
type shape struct {
	id     uint64
	b      *bound
	tbl    *table
	info   *Shape
	layout *pubsub.RowLayout
	kid    uint64 // its key set in tbl.keys; 0: none yet
	nkeys  int    // the keys in its key set

	gen     uint64      // generation of its current snapshot
	snap    *pgSnapshot // nil once the stream passed it
	pending []pubsub.Event

	subs []*Subscription
	// idleSince is when its last subscriber left, as the router's clock
	// reads it (see router.since); 0 while it has some.
	idleSince time.Duration
	mark      uint64 // the stamp of the last change the index named it for
	seen      uint64 // the stamp of the last change it was a candidate for
	wpos      int32  // its place in tbl.waiting while not live
	spos      int32  // its place in tbl.shapes
	npos      int32  // its place in tbl.nopred, if it has no WHERE clause
	live      bool   // snapshot applied: changes are routed to it
	dropped   bool
	indexed   bool

	// proj is allocated with its first change (an idle shape has none).
	proj *shapeProj
}

// shapeProj holds a shape's projections of new rows, old rows and
// fetched rows onto its columns.
type shapeProj struct{ row, old, full projection }

// projs returns sh's projections.
func (sh *shape) projs() *shapeProj {
	if sh.proj == nil {
		sh.proj = &shapeProj{}
	}
	return sh.proj
}

// snapResult is the outcome of a snapshot query for a shape (sub nil) or
// for one subscriber of it.
type snapResult struct {
	sh  *shape
	sub *Subscription
	gen uint64
	s   *snapshot
	err error
	// started: the query runs, s.rows grows (see query.take); the
	// result follows.
	started bool
}

// router is the Manager's state, owned by the goroutine running Serve.
type router struct {
	m       *Manager
	tables  map[tkey]*table
	shapes  map[string]*shape
	nextID  uint64
	mb      *pubsub.Mailbox
	ctx     context.Context
	jobs    sync.WaitGroup
	results chan snapResult
	// started are the snapResults of snapshots whose rows are being
	// read (snapshotStarted), each before its result on results.
	started chan snapResult
	// sem bounds the snapshot queries running at once.
	sem chan struct{}
	// nb collects a batch's NOTIFY changes per table, in order.
	nb      map[*table][]pubsub.Event
	nbOrder []*table
	// cands and holderBuf are scratch slices of candidates.
	cands, holderBuf []*shape
	// epoch is the router's clock's zero.
	epoch time.Time
	// routed counts the (change, shape) pairs derive looked at: what
	// changes cost in shapes.
	routed uint64
	// txnSubs are the subscriptions sent a message of a transaction
	// whose end they were not sent yet (Subscription.txn), for the
	// source's commit marks (commit.go).
	txnSubs []*Subscription
	// idle are the shapes without subscribers, oldest first.
	idle idleQueue
}

func (r *router) init(m *Manager) {
	r.m = m
	r.epoch = time.Now()
	r.tables = map[tkey]*table{}
	r.shapes = map[string]*shape{}
	r.results = make(chan snapResult)
	r.started = make(chan snapResult, 2*m.cfg.Snapshots)
	r.sem = make(chan struct{}, m.cfg.Snapshots)
	r.nb = map[*table][]pubsub.Event{}
}

// since returns the time from the router's epoch to t, at least 1ns (the
// monotonic clock: a step of the wall clock does not change a grace).
func (r *router) since(t time.Time) time.Duration {
	return max(t.Sub(r.epoch), 1)
}

// batchMax bounds the events the router takes from its mailbox at once.
const batchMax = 512

// run is Serve's body.
func (r *router) run(ctx context.Context) error {
	defer r.jobs.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.ctx = ctx
	opts := []pubsub.MailboxOption{pubsub.WithName("shape")}
	if !r.m.cfg.Notify {
		// The WAL source waits for the router instead of dropping, and
		// marks each transaction's end.
		opts = append(opts, pubsub.WithAck(), pubsub.WithCommits())
	}
	r.forgetTxns()
	r.mb = pubsub.NewMailbox(1<<14, opts...)
	defer func() {
		r.mb.Close()
		r.mb = nil
		for _, t := range r.tables {
			t.subscribed = false
		}
	}()
	for _, t := range r.tables {
		if err := r.subscribeTable(t); err != nil {
			return err
		}
	}
	for _, sh := range r.shapes {
		r.startShapeSnapshot(sh, true, 0)
	}
	tick := min(max(r.m.cfg.Grace/4, 5*time.Millisecond), time.Second)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	batch := make([]pubsub.Event, 0, batchMax)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-r.mb.C():
			if !ok {
				return errorf("mailbox closed")
			}
			batch = append(batch[:0], ev)
		drain:
			for len(batch) < batchMax {
				select {
				case ev, ok := <-r.mb.C():
					if !ok {
						break drain
					}
					batch = append(batch, ev)
				default:
					break drain
				}
			}
			r.handle(batch)
			if r.mb.AckMode() {
				_ = r.mb.Ack(batch[len(batch)-1])
			}
			clear(batch)
			r.serveWaiting()
		case req := <-r.m.reqs:
			r.subscribe(req)
		case res := <-r.results:
			r.snapshotDone(res)
		case res := <-r.started:
			r.snapshotStarted(res)
		case <-r.m.wake:
			r.reap()
		case now := <-ticker.C:
			r.expire(now)
		}
	}
}

// serveWaiting handles the Subscribe calls and snapshot results that are
// ready, so that a busy change stream does not keep subscribers waiting.
func (r *router) serveWaiting() {
	for {
		select {
		case req := <-r.m.reqs:
			r.subscribe(req)
		case res := <-r.results:
			r.snapshotDone(res)
		case res := <-r.started:
			r.snapshotStarted(res)
		default:
			return
		}
	}
}

// subscribeTable makes the router's mailbox receive t's changes.
func (r *router) subscribeTable(t *table) error {
	if t.subscribed || r.mb == nil {
		return nil
	}
	if err := r.m.ps.SubscribeTable(r.mb, t.key.schema, t.key.table); err != nil {
		return errorf("subscribing to %s: %w", quoteTable(t.key.schema, t.key.table), err)
	}
	t.subscribed = true
	return nil
}

// subscribe attaches a Subscribe call's subscription to its shape,
// creating the shape when needed.
func (r *router) subscribe(req *request) {
	b, sub := req.b, req.sub
	if sub.isClosed() {
		sub.finish(ErrClosed)
		return
	}
	sh := r.shapes[b.id]
	created := sh == nil
	if created {
		if len(r.shapes) >= r.m.cfg.MaxShapes && !r.evictIdle() {
			sub.finish(fmt.Errorf("%w: %d shapes are live and none is idle (Config.MaxShapes)", ErrTooManyShapes, len(r.shapes)))
			return
		}
		var err error
		if sh, err = r.newShape(b); err != nil {
			sub.finish(err)
			return
		}
	}
	sub.sh, sub.info = sh, sh.info
	sh.subs = append(sh.subs, sub)
	sh.idleSince = 0
	r.m.subsLive.Add(1)
	switch {
	case created:
		// With sub among its subscribers: the query knows what kind of
		// rows it waits for.
		r.startShapeSnapshot(sh, false, 0)
	case sh.live:
		r.startSubSnapshot(sub, false, 0)
	default:
		sub.waiting, sub.ownSnap = true, false
	}
}

// newShape creates the shape of b, subscribing to its table's changes
// before anything is read.
func (r *router) newShape(b *bound) (*shape, error) {
	k := tkey{b.info.schema, b.info.name}
	t := r.tables[k]
	if t == nil {
		layout, err := layoutOf(b.info.cols)
		if err != nil {
			return nil, errorf("%w", err)
		}
		t = &table{key: k, info: b.info, layout: layout, byID: map[uint64]*shape{}, ix: where.NewIndex(),
			keys: newKeyIndex(), byKid: map[uint64]*shape{}}
		t.fetchq = newFetchQuery(b.info, layout)
		if err := r.subscribeTable(t); err != nil {
			return nil, err
		}
		r.tables[k] = t
	}
	layout := t.layout
	if sameColumns(t.info, b.info) {
		// One description per table, not one per shape.
		b.info = t.info
		if len(b.cols) == len(t.info.cols) {
			b.cols = t.info.cols
		}
	}
	if b.info != t.info || len(b.cols) != len(t.info.cols) {
		var err error
		if layout, err = layoutOf(b.cols); err != nil {
			return nil, errorf("%w", err)
		}
	}
	r.nextID++
	sh := &shape{id: r.nextID, b: b, tbl: t, layout: layout}
	sh.info = b.shapeInfo(fmt.Sprintf("%d-%d", sh.id, time.Now().UnixMicro()))
	putIn(&t.shapes, sh, inShapes)
	putIn(&t.waiting, sh, inWaiting)
	t.byID[sh.id] = sh
	if b.pred == nil {
		putIn(&t.nopred, sh, inNopred)
	}
	r.shapes[b.id] = sh
	r.m.shapesLive.Add(1)
	return sh, nil
}

// drop forgets sh, and its table when it was the last shape there.
func (r *router) drop(sh *shape) {
	sh.dropped = true
	t := sh.tbl
	delete(r.shapes, sh.b.id)
	delete(t.byID, sh.id)
	takeOut(&t.shapes, sh, inShapes)
	if sh.b.pred == nil {
		takeOut(&t.nopred, sh, inNopred)
	}
	sh.setLive(true) // off the waiting list
	if sh.indexed {
		t.ix.Remove(sh.id)
	}
	for _, sub := range sh.subs {
		sub.detached = true
		r.m.subsLive.Add(-1)
	}
	t.retireKid(sh)
	sh.subs, sh.pending = nil, nil
	r.m.shapesLive.Add(-1)
	if len(t.shapes) == 0 {
		delete(r.tables, t.key)
		if t.subscribed && r.mb != nil {
			_ = r.m.ps.UnsubscribeTable(r.mb, t.key.schema, t.key.table)
		}
	}
}

// setLive makes sh live or not, keeping its table's waiting list.
func (sh *shape) setLive(live bool) {
	if sh.live == live {
		return
	}
	sh.live = live
	t := sh.tbl
	if live {
		takeOut(&t.waiting, sh, inWaiting)
	} else {
		putIn(&t.waiting, sh, inWaiting)
	}
}

// evictIdle drops the shape idle the longest; false when none is idle.
func (r *router) evictIdle() bool {
	sh := r.idle.front()
	if sh == nil {
		return false
	}
	r.drop(sh)
	return true
}

// expire drops the shapes idle for longer than Grace.
func (r *router) expire(now time.Time) {
	for sh := r.idle.front(); sh != nil && r.since(now)-sh.idleSince >= r.m.cfg.Grace; sh = r.idle.front() {
		r.drop(sh)
	}
}

// reap detaches the subscriptions closed since the last call.
func (r *router) reap() {
	for _, sub := range r.m.takeClosed() {
		sh := sub.sh
		if sh == nil || sub.detached {
			continue
		}
		sub.detached = true
		sub.pending = nil
		r.m.subsLive.Add(-1)
		sh.subs = slices.DeleteFunc(sh.subs, func(s *Subscription) bool { return s == sub })
		if len(sh.subs) == 0 {
			sh.idleSince = r.since(time.Now())
			r.idle.push(sh)
		}
	}
}

// startShapeSnapshot (re)takes sh's snapshot after delay; every
// subscriber waits for it, and gets Reset first when reset.
func (r *router) startShapeSnapshot(sh *shape, reset bool, delay time.Duration) {
	sh.setLive(false)
	sh.gen++
	sh.pending = nil
	for _, sub := range sh.subs {
		sub.waiting, sub.ownSnap = true, false
		sub.reset = sub.reset || reset || sub.streamed
		sub.streamed = false
		sub.gen++
		sub.pending = nil
	}
	q := newQuery(sh.b, sh.layout)
	q.pub = slices.ContainsFunc(sh.subs, func(sub *Subscription) bool { return !sub.batch })
	r.startJob(snapResult{sh: sh, gen: sh.gen}, q, delay)
}

// startSubSnapshot takes a snapshot for sub alone (a late subscriber, or
// one that fell behind: reset), while the shape goes on.
func (r *router) startSubSnapshot(sub *Subscription, reset bool, delay time.Duration) {
	sub.waiting, sub.ownSnap = true, true
	sub.reset = sub.reset || reset || sub.streamed
	sub.streamed = false
	sub.gen++
	sub.pending = nil
	q := newQuery(sub.sh.b, sub.sh.layout)
	q.pub = !sub.batch
	r.startJob(snapResult{sh: sub.sh, sub: sub, gen: sub.gen}, q, delay)
}

// startJob runs q in a goroutine of its own and hands the result to the
// router.
func (r *router) startJob(res snapResult, q *query, delay time.Duration) {
	ctx, pool, notify := r.ctx, r.m.pool, r.m.cfg.Notify
	r.jobs.Add(1)
	r.m.snapshots.Add(1)
	go func() {
		defer r.jobs.Done()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				r.m.snapshots.Add(-1)
				return
			}
		}
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			r.m.snapshots.Add(-1)
			return
		}
		var start func(*snapshot)
		if res.sub == nil {
			// A shape's snapshot goes to its SubscribeBatch subscribers
			// as it is read (a subscriber's own one comes whole).
			start = func(s *snapshot) {
				early := res
				early.s, early.started = s, true
				// Never waits: the job holds a connection the router may
				// need (a fetch). Should the router be that far behind,
				// the rows come whole with the result.
				select {
				case r.started <- early:
				default:
				}
			}
		}
		res.s, res.err = q.take(ctx, pool, notify, start)
		if res.err == nil && res.s.snap != nil && res.s.flushed < res.s.snap.lsn {
			if err := walflush.To(ctx, pool, res.s.snap.lsn); err != nil {
				res.err = fmt.Errorf("%w: %w", ErrSnapshot, err)
			}
		}
		<-r.sem
		select {
		case r.results <- res:
		case <-ctx.Done():
			r.m.snapshots.Add(-1)
		}
	}()
}

// retryDelay is how long a failed snapshot waits before it is retried.
const retryDelay = time.Second

// snapshotDone applies a snapshot query's result.
func (r *router) snapshotDone(res snapResult) {
	if res.started {
		r.snapshotStarted(res)
		return
	}
	// A job's start is queued before its result: apply it first.
	for {
		select {
		case st := <-r.started:
			r.snapshotStarted(st)
			continue
		default:
		}
		break
	}
	r.m.snapshots.Add(-1)
	sh := res.sh
	if sh.dropped {
		return
	}
	if sub := res.sub; sub != nil {
		if sub.detached || res.gen != sub.gen || !sub.waiting || !sub.ownSnap {
			return
		}
		if res.err != nil {
			r.snapshotFailed(sh, []*Subscription{sub}, res.err, func() { r.startSubSnapshot(sub, false, retryDelay) })
			return
		}
		s := res.s
		if r.m.cfg.Notify {
			s = heldRows(sh, s)
		}
		r.deliverSnapshot(sub, s)
		// Until the stream passes the snapshot, changes it saw may still
		// arrive: the subscription skips them (see emit).
		sub.snap = res.s.snap
		pending := sub.pending
		sub.pending = nil
		kept := pending[:0]
		for _, msg := range pending {
			if !sub.skips(&msg) {
				kept = append(kept, msg)
			}
		}
		if len(kept) > 0 && !sub.push(kept, true, r.m.cfg.Buffer) {
			r.startSubSnapshot(sub, true, 0)
		}
		return
	}
	if res.gen != sh.gen || sh.live {
		return
	}
	if res.err != nil {
		for _, sub := range sh.subs {
			if sub.streamed {
				// It holds some of the rows: Reset comes first.
				sub.streamed, sub.reset = false, true
			}
		}
		r.snapshotFailed(sh, sh.subs, res.err, func() { r.startShapeSnapshot(sh, false, retryDelay) })
		return
	}
	sh.snap = res.s.snap
	sh.setLive(true)
	if !sh.indexed && sh.b.pred != nil {
		sh.tbl.ix.Add(sh.id, sh.b.pred)
		sh.indexed = true
	}
	for _, sub := range sh.subs {
		if sub.waiting && !sub.ownSnap {
			if sub.streamed {
				sub.push([]Message{{Kind: UpToDate}}, false, 0)
				sub.waiting, sub.streamed = false, false
			} else {
				r.deliverSnapshot(sub, res.s)
			}
			sub.snap = nil // the shape's own filter covers it
		}
	}
	// The key set after the rows are handed over: the subscribers read
	// them meanwhile (nothing reads the key set before the pending
	// changes below).
	sh.tbl.setKeys(sh, res.s.rows.keyList())
	pending := sh.pending
	sh.pending = nil
	if r.m.cfg.Notify {
		r.notifyApply(sh.tbl, pending, []*shape{sh})
		return
	}
	for i := range pending {
		if pending[i].Kind == pubsub.Committed {
			r.commitMark(&pending[i])
			continue
		}
		r.walEvent(sh.tbl, &pending[i], sh)
	}
}

// snapshotStarted hands the rows of a shape's snapshot, as its query
// reads them, to the shape's SubscribeBatch subscribers waiting for it,
// and ends their Subscribe: UpToDate follows when the rows are complete
// (snapshotDone), or, should the query fail, Reset and a fresh snapshot.
func (r *router) snapshotStarted(res snapResult) {
	sh := res.sh
	if sh.dropped || res.gen != sh.gen || sh.live {
		return
	}
	for _, sub := range sh.subs {
		if !sub.batch || !sub.waiting || sub.ownSnap || sub.streamed {
			continue
		}
		msgs := make([]Message, 0, 2)
		if sub.reset {
			msgs = append(msgs, Message{Kind: Reset})
			r.m.resets.Add(1)
		}
		sub.push(append(msgs, Message{Kind: Snapshot, Rows: res.s.rows}), false, 0)
		sub.streamed, sub.reset = true, false
		sub.finish(nil)
	}
}

// snapshotFailed fails the Subscribe calls still waiting among subs and,
// when some subscriber already had its rows, retries.
func (r *router) snapshotFailed(sh *shape, subs []*Subscription, err error, retry func()) {
	if r.ctx.Err() != nil {
		return
	}
	r.m.log.Warn("shape: snapshot failed", "table", quoteTable(sh.b.info.schema, sh.b.info.name), "err", err)
	keep := false
	for _, sub := range slices.Clone(subs) {
		select {
		case <-sub.ready:
			keep = true
		default:
			sub.finish(err)
		}
	}
	if keep {
		retry()
	}
}

// deliverSnapshot queues a snapshot's rows and UpToDate for sub (after
// Reset when it had rows before) and ends its wait.
func (r *router) deliverSnapshot(sub *Subscription, s *snapshot) {
	n := s.rows.Len()
	if sub.batch {
		n = 1
	}
	msgs := make([]Message, 0, n+2)
	if sub.reset {
		msgs = append(msgs, Message{Kind: Reset})
		r.m.resets.Add(1)
	}
	if sub.batch {
		msgs = append(msgs, Message{Kind: Snapshot, Rows: s.rows})
	} else {
		for i, row := range s.pubRows() {
			msgs = append(msgs, Message{Kind: Insert, Key: s.rows.Key(i), Row: row, Seq: uint64(i + 1)})
		}
	}
	msgs = append(msgs, Message{Kind: UpToDate})
	sub.push(msgs, false, 0)
	sub.waiting, sub.ownSnap, sub.reset = false, false, false
	sub.finish(nil)
}

// emit hands msg to sh's subscribers, noting those sent a message of a
// transaction for its Commit.
func (r *router) emit(sh *shape, msg Message) {
	for _, sub := range sh.subs {
		if r.send(sub, msg) && msg.LSN != 0 && sub.txn != msg.LSN {
			if sub.txn == 0 {
				r.txnSubs = append(r.txnSubs, sub)
			}
			sub.txn = msg.LSN
		}
	}
}

// send hands msg to sub, or keeps it for after sub's own snapshot, and
// reports whether it did either.
func (r *router) send(sub *Subscription, msg Message) bool {
	if sub.waiting {
		if sub.ownSnap {
			sub.pending = append(sub.pending, msg)
			return true
		}
		return false
	}
	if sub.snap != nil && sub.skips(&msg) {
		return false
	}
	if !sub.push([]Message{msg}, true, r.m.cfg.Buffer) {
		r.startSubSnapshot(sub, true, 0)
		return false
	}
	return true
}

// skips reports whether msg comes from a transaction the subscription's
// own snapshot saw, and forgets that snapshot once the stream passed it.
func (sub *Subscription) skips(msg *Message) bool {
	if sub.snap == nil {
		return false
	}
	if sub.snap.passed(msg.LSN) {
		sub.snap = nil
		return false
	}
	return sub.snap.sees(msg.LSN, msg.xid)
}

// handle routes a batch of events from the mailbox.
func (r *router) handle(evs []pubsub.Event) {
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case pubsub.Resync:
			r.flushNotify()
			r.forgetTxns()
			r.m.log.Info("shape: changes may have been missed; every shape takes a fresh snapshot", "reason", ev.Reason)
			for _, sh := range r.shapes {
				r.startShapeSnapshot(sh, true, 0)
			}
		case pubsub.TableChanged:
			t := r.tables[tkey{ev.Schema, ev.Table}]
			if t == nil {
				continue
			}
			if r.m.cfg.Notify {
				if _, ok := r.nb[t]; !ok {
					r.nbOrder = append(r.nbOrder, t)
				}
				r.nb[t] = append(r.nb[t], *ev)
				for _, sh := range t.waiting {
					sh.pending = append(sh.pending, *ev)
				}
				continue
			}
			r.walEvent(t, ev, nil)
		case pubsub.Committed:
			if t := r.tables[tkey{ev.Schema, ev.Table}]; t != nil {
				for _, sh := range t.waiting {
					sh.pending = append(sh.pending, *ev)
				}
			}
			r.commitMark(ev)
		}
	}
	r.flushNotify()
}

// resyncTable makes every shape of t take a fresh snapshot, after a
// failure that may have lost some of its changes.
func (r *router) resyncTable(t *table, err error) {
	r.m.log.Warn("shape: fetching rows failed; the table's shapes take a fresh snapshot",
		"table", quoteTable(t.key.schema, t.key.table), "err", err)
	for _, sh := range slices.Clone(t.shapes) {
		r.startShapeSnapshot(sh, true, retryDelay)
	}
}

// sameColumns reports whether a and b describe the same columns and key.
func sameColumns(a, b *tableInfo) bool {
	if len(a.cols) != len(b.cols) || !slices.Equal(a.key, b.key) {
		return false
	}
	for i := range a.cols {
		if a.cols[i].Name != b.cols[i].Name || a.cols[i].OID != b.cols[i].OID || a.cols[i].Type != b.cols[i].Type {
			return false
		}
	}
	return true
}
