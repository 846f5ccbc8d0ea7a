package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/retry"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Defaults of the group commit.
const (
	// DefaultCommitDelay is how long the writer waits after the first queued
	// batch for more to arrive before it commits them together.
	DefaultCommitDelay = 20 * time.Millisecond
	// maxGroupEvents caps the events of one transaction; a group this large
	// is committed without waiting out the delay.
	maxGroupEvents = 4096
	// DefaultQueueEvents bounds the events queued and not yet committed;
	// Enqueue blocks beyond it.
	DefaultQueueEvents = 16384
	// DefaultQueueBytes bounds the memory they hold (payloads and
	// queuedEventBytes an event): what waits for the writer waits in the
	// spool instead, not in the heap.
	DefaultQueueBytes = 4 << 20
	// queuedEventBytes is what a queued event holds besides its payload.
	queuedEventBytes = 512
)

// errStoreClosed is returned for work handed to a closed store.
var errStoreClosed = errors.New("store closed")

// item is one queued batch: only the events the store did not hold when it
// was numbered (their Seq set), every span and every session summary.
type item struct {
	events   []wire.Event
	spans    []timeline.Span
	sessions []timeline.Summary
	// fill says the summaries only fill in sessions without a row (EnqueueRebuilt).
	fill  bool
	bytes int // queuedBytes(events)
	mark  uint64
	// done is set for a synchronous Insert: the writer commits the item on
	// its own, reports the outcome and never retries it.
	done chan error
}

// queue is the state shared by Enqueue, Insert and the writer goroutine.
type queue struct {
	mu     sync.Mutex
	items  []*item
	events int // events in items
	bytes  int // queuedBytes of them
	// reserved is the highest seq handed out; pending the ids numbered but
	// not committed yet; maxTime the latest event time numbered or stored
	// (unix ns): an event after it cannot be a repeat.
	reserved int64
	maxTime  int64
	pending  map[string]int64
	marks    uint64 // items enqueued
	durable  uint64 // items committed (or, synchronous, finished)
	// changed is closed and replaced whenever durable, the committed seq or
	// the queue's length changes: the waiters' broadcast.
	changed chan struct{}
	wake    chan struct{} // cap 1: work for the writer
	// urgent asks the writer not to wait out the commit delay: a query is
	// waiting for what is queued (settle).
	urgent  bool
	closing bool
	done    chan struct{} // closed when the writer returns
	// fault is the store's health: failing commits, a declared failure
	// (recover.go).
	fault faultState

	// rmu serialises numbering (Enqueue and Insert), which reads the store
	// outside mu.
	rmu sync.Mutex
}

func (q *queue) init(reserved, maxTime int64) {
	q.reserved, q.maxTime = reserved, maxTime
	q.pending = map[string]int64{}
	q.changed = make(chan struct{})
	q.wake = make(chan struct{}, 1)
	q.done = make(chan struct{})
}

// broadcast wakes every waiter; the caller holds q.mu.
func (q *queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Enqueue numbers a batch at once and queues it for the writer, which commits
// queued batches together (after Options.CommitDelay, in one transaction) in
// the order they were queued. On return events[i].Seq is set as Insert would
// set it (an event the store holds or has queued keeps its seq, one older than
// MaxAge gets 0) and the batch will be stored; a commit that fails is retried
// until it succeeds or the store is closed. Enqueue copies the payloads
// (compressed, as they will be stored) and keeps the spans and the events'
// other contents: the caller may reuse the payloads' buffers on return, and
// must not change the rest. Spans and summaries are copied.
// It blocks while DefaultQueueEvents events, or DefaultQueueBytes of them,
// wait to be committed (an empty queue takes any batch), and fails only on ctx
// or a closed store. Use Mark and WaitDurable to learn when it is stored.
func (s *Store) Enqueue(ctx context.Context, events []wire.Event, spans []timeline.Span, sessions []timeline.Summary) error {
	if len(events) == 0 && len(spans) == 0 && len(sessions) == 0 {
		return nil
	}
	return s.enqueue(ctx, events, spans, sessions, false, nil)
}

// EnqueueRebuilt is Enqueue for a batch rebuilt from the spool beside the
// pipeline (after a corrupt store was moved aside): its summaries come from a
// tracker of the rebuild's own and only fill in sessions the store has no row
// for, so they never replace what the pipeline's tracker said.
func (s *Store) EnqueueRebuilt(ctx context.Context, events []wire.Event, spans []timeline.Span, sessions []timeline.Summary) error {
	if len(events) == 0 && len(spans) == 0 && len(sessions) == 0 {
		return nil
	}
	return s.enqueue(ctx, events, spans, sessions, true, nil)
}

// enqueue numbers and queues a batch; done marks a synchronous one.
func (s *Store) enqueue(ctx context.Context, events []wire.Event, spans []timeline.Span, sessions []timeline.Summary, fill bool, done chan error) error {
	q := &s.q
	q.rmu.Lock()
	defer q.rmu.Unlock()
	if err := s.waitSpace(ctx, len(events), queuedBytes(events)); err != nil {
		if errors.Is(err, errFailingFull) {
			// The queue is full and the writer cannot empty it: waiting
			// would stall the pipeline, and with it metrics and the stream.
			s.declareFailed(err)
			err = ErrFailed
		}
		if errors.Is(err, ErrFailed) {
			q.mu.Lock()
			q.fault.dropped += int64(len(events))
			q.mu.Unlock()
		}
		return err
	}
	fresh, err := s.number(ctx, events)
	if err != nil {
		if isCorrupt(err) {
			s.declareFailed(err)
			return ErrFailed
		}
		return err
	}
	s.pack(fresh)
	it := &item{events: fresh, spans: append([]timeline.Span(nil), spans...),
		sessions: append([]timeline.Summary(nil), sessions...), fill: fill, bytes: queuedBytes(fresh), done: done}
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return errStoreClosed
	}
	for i := range fresh {
		q.pending[fresh[i].ID] = fresh[i].Seq
		q.reserved = max(q.reserved, fresh[i].Seq)
		q.maxTime = max(q.maxTime, fresh[i].Time.UnixNano())
	}
	q.marks++
	it.mark = q.marks
	q.items = append(q.items, it)
	q.events += len(fresh)
	q.bytes += it.bytes
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// pack replaces the events' payloads by their stored form (compressed where
// it pays), copied into one allocation of their total size: the queue holds
// what will be stored and none of the caller's buffers. The caller holds rmu.
func (s *Store) pack(events []wire.Event) {
	in := s.packIn[:0]
	for i := range events {
		in = append(in, events[i].Payload)
	}
	packed, arena := packPayloads(in, s.packArena)
	total := 0
	for _, p := range packed {
		total += len(p)
	}
	own := make([]byte, 0, total)
	for i, p := range packed {
		if len(p) == 0 {
			events[i].Payload = nil
			continue
		}
		start := len(own)
		own = append(own, p...)
		events[i].Payload = own[start:len(own):len(own)]
	}
	clear(in)
	s.packIn = in
	if cap(s.packIn) > maxKeptArgs {
		s.packIn = nil
	}
	s.packArena = nil
	if cap(arena) <= maxPackArena {
		s.packArena = arena
	}
}

// waitSpace blocks while the queue has no room for n events holding nb
// bytes; an empty queue takes any batch. The caller holds rmu.
func (s *Store) waitSpace(ctx context.Context, n, nb int) error {
	q := &s.q
	return q.wait(ctx, func() (bool, error) {
		if q.fault.failed != nil {
			return false, ErrFailed
		}
		if q.closing {
			return false, errStoreClosed
		}
		room := q.events == 0 || (q.events+n <= DefaultQueueEvents && q.bytes+nb <= DefaultQueueBytes)
		if !room && q.fault.lastErr != nil {
			return false, fmt.Errorf("%w: %w", errFailingFull, q.fault.lastErr)
		}
		return room, nil
	})
}

// errFailingFull: the queue is full while commits fail.
var errFailingFull = errors.New("store queue full while commits fail")

// queuedBytes is the memory a queued batch holds, as the queue counts it.
func queuedBytes(events []wire.Event) int {
	n := len(events) * queuedEventBytes
	for i := range events {
		n += len(events[i].Payload)
	}
	return n
}

// wait blocks until cond, called under q.mu, holds or fails, ctx ends or
// the writer has returned (then cond decides once more, else the store is
// closed).
func (q *queue) wait(ctx context.Context, cond func() (bool, error)) error {
	for {
		q.mu.Lock()
		ok, err := cond()
		ch := q.changed
		q.mu.Unlock()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-q.done:
			q.mu.Lock()
			ok, err := cond()
			q.mu.Unlock()
			if ok || err != nil {
				return err
			}
			return errStoreClosed
		case <-ch:
		}
	}
}

// number sets events[i].Seq and returns copies of the events to store: new
// ones get the next numbers, in order; a repeat (stored, queued, or earlier
// in the batch) keeps its seq and is not returned; one older than MaxAge gets
// 0. Without CaptureContent, prompts are removed first. The caller holds rmu.
func (s *Store) number(ctx context.Context, events []wire.Event) ([]wire.Event, error) {
	q := &s.q
	var cutoff int64
	if s.opts.MaxAge > 0 {
		cutoff = s.opts.Now().Add(-s.opts.MaxAge).UnixNano()
	}
	q.mu.Lock()
	last, maxTime := q.reserved, q.maxTime
	// Only an event no later than every event numbered so far can be a
	// repeat; live events come after, and skip both look-ups.
	var check []string
	seen := map[string]int64{}
	for i := range events {
		if t := events[i].Time.UnixNano(); t <= maxTime && (s.opts.MaxAge <= 0 || t >= cutoff) {
			if seq, ok := q.pending[events[i].ID]; ok {
				seen[events[i].ID] = seq
			} else {
				check = append(check, events[i].ID)
			}
		}
	}
	q.mu.Unlock()
	// The pending ids were read first: one committed since is in the table.
	if len(check) > 0 {
		stored, err := s.storedSeqs(ctx, check)
		if err != nil {
			return nil, err
		}
		for id, seq := range stored {
			seen[id] = seq
		}
	}
	fresh := make([]wire.Event, 0, len(events))
	for i := range events {
		ev := &events[i]
		t := ev.Time.UnixNano()
		if s.opts.MaxAge > 0 && t < cutoff {
			ev.Seq = 0
			continue
		}
		if seq, ok := seen[ev.ID]; ok {
			ev.Seq = seq
			continue
		}
		if !s.opts.CaptureContent {
			eventview.DropPrompt(ev)
		}
		last++
		ev.Seq = last
		seen[ev.ID] = last
		fresh = append(fresh, *ev)
	}
	return fresh, nil
}

// storedSeqs returns the seqs of those ids the events table holds.
func (s *Store) storedSeqs(ctx context.Context, ids []string) (map[string]int64, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, seq FROM events WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("look up events: %w", err)
	}
	defer rows.Close()
	found := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("look up events: %w", err)
		}
		found[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up events: %w", err)
	}
	return found, nil
}

// CommitStats reports the group commit: events numbered and not committed
// yet, transactions committed, and commits that failed (each is retried).
func (s *Store) CommitStats() (pending int, commits, failures int64) {
	s.q.mu.Lock()
	pending = s.q.events
	s.q.mu.Unlock()
	return pending, s.commits.Load(), s.commitFailures.Load()
}

// settleMax bounds how long a query waits for queued batches to commit.
const settleMax = time.Second

// settle waits until the batches queued before the call are committed,
// asking the writer to commit at once: a query then sees every event that was
// queued, and so streamed, before it (read your writes). Past settleMax (commits
// failing, or a closed store) the query answers with what is committed.
func (s *Store) settle(ctx context.Context) {
	q := &s.q
	q.mu.Lock()
	mark := q.marks
	if q.durable >= mark || q.done == nil {
		q.mu.Unlock()
		return
	}
	q.urgent = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, settleMax)
	defer cancel()
	_ = s.WaitDurable(ctx, mark)
}

// Mark returns a mark covering every batch queued so far, for WaitDurable.
func (s *Store) Mark() uint64 {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.q.marks
}

// WaitDurable blocks until every batch queued up to mark is committed, ctx
// ends or the store is closed with batches it could not commit.
func (s *Store) WaitDurable(ctx context.Context, mark uint64) error {
	q := &s.q
	return q.wait(ctx, func() (bool, error) { return q.durable >= mark || q.fault.released, nil })
}

// WaitSeq blocks until the events numbered up to seq are committed (and so
// readable through the queries), ctx ends or the store is closed. It asks the
// writer not to wait out the commit delay.
func (s *Store) WaitSeq(ctx context.Context, seq int64) error {
	q := &s.q
	return q.wait(ctx, func() (bool, error) {
		// Everything numbered is committed when nothing is queued: a seq
		// above every reserved one (an old stream's) is not waited for.
		if s.maxSeq.Load() >= seq || len(q.items) == 0 || q.fault.failed != nil {
			return true, nil
		}
		q.urgent = true
		select {
		case q.wake <- struct{}{}:
		default:
		}
		return false, nil
	})
}

// writer commits queued batches until Close, then commits what is left once.
func (s *Store) writer() {
	q := &s.q
	defer close(q.done)
	wait := retry.Backoff(0, 0)
	failing := false
	for {
		q.mu.Lock()
		n, closing, failed := len(q.items), q.closing, q.fault.failed
		q.mu.Unlock()
		if failed != nil {
			s.dropFailed()
			return
		}
		if n == 0 {
			if closing {
				return
			}
			<-q.wake
			continue
		}
		if !failing && !closing {
			s.linger()
		}
		group, sync := s.takeGroup()
		err := s.commitGroup(group)
		q.mu.Lock()
		closing = q.closing
		q.mu.Unlock()
		s.noteCommit(err)
		switch {
		case err == nil || sync:
			failing = false
			wait.Reset()
			s.finish(group, err)
			if isCorrupt(err) {
				s.declareFailed(err)
			}
		case isCorrupt(err):
			// Retrying cannot help: stop storing, so that nothing waits
			// for the store (recover.go).
			s.commitFailures.Add(1)
			s.declareFailed(err)
		case closing:
			// Not retried at shutdown: the spool still holds these events
			// and the pipeline's checkpoint has not passed them. Nothing
			// queued after them is committed either, so that the durable
			// mark never covers a lost batch.
			s.abandon(err)
			return
		default:
			s.commitFailures.Add(1)
			failing = true
			d := wait.NextBackOff()
			s.opts.Logger.Warn("store: commit failed; retrying", "events", countEvents(group), "retry_in", d, "err", err)
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-q.wake: // Close
				t.Stop()
			}
		}
	}
}

// linger waits up to CommitDelay for more batches, unless a full group is
// queued or the store is closing.
func (s *Store) linger() {
	q := &s.q
	if s.opts.CommitDelay <= 0 {
		return
	}
	t := time.NewTimer(s.opts.CommitDelay)
	defer t.Stop()
	for {
		q.mu.Lock()
		full := q.events >= maxGroupEvents || q.closing || q.urgent || (len(q.items) > 0 && q.items[0].done != nil)
		q.mu.Unlock()
		if full {
			return
		}
		select {
		case <-t.C:
			return
		case <-q.wake:
		}
	}
}

// takeGroup returns the queued items the next transaction commits (they stay
// queued until finish): a synchronous item alone, else the asynchronous items
// in front of the queue up to maxGroupEvents.
func (s *Store) takeGroup() ([]*item, bool) {
	q := &s.q
	q.mu.Lock()
	defer q.mu.Unlock()
	q.urgent = false
	if q.items[0].done != nil {
		return []*item{q.items[0]}, true
	}
	n, events := 0, 0
	for n < len(q.items) && q.items[n].done == nil && (n == 0 || events+len(q.items[n].events) <= maxGroupEvents) {
		events += len(q.items[n].events)
		n++
	}
	return append([]*item(nil), q.items[:n]...), false
}

// commitGroup stores the group in one transaction and runs what follows a
// commit: the checkpointer poke and size retention.
func (s *Store) commitGroup(group []*item) error {
	var events []wire.Event
	var spans []timeline.Span
	var sessions, fills []timeline.Summary
	if len(group) == 1 && !group[0].fill {
		events, spans, sessions = group[0].events, group[0].spans, group[0].sessions
	} else {
		ne, ns, nm := 0, 0, 0
		for _, it := range group {
			ne, ns, nm = ne+len(it.events), ns+len(it.spans), nm+len(it.sessions)
		}
		events, spans, sessions = make([]wire.Event, 0, ne), make([]timeline.Span, 0, ns), make([]timeline.Summary, 0, nm)
		for _, it := range group {
			events = append(events, it.events...)
			spans = append(spans, it.spans...)
			if it.fill {
				fills = append(fills, it.sessions...)
			} else {
				sessions = append(sessions, it.sessions...)
			}
		}
	}
	ctx := context.Background()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w == nil {
		return errStoreClosed
	}
	if len(events) == 0 && len(spans) == 0 && len(sessions) == 0 && len(fills) == 0 {
		return nil
	}
	if err := s.insertTx(ctx, events, spans, sessions, fills); err != nil {
		return fmt.Errorf("insert %d events, %d spans: %w", len(events), len(spans), err)
	}
	s.commits.Add(1)
	added := int64(len(events))
	if added > 0 {
		s.maxSeq.Store(max(s.maxSeq.Load(), events[len(events)-1].Seq))
	}
	s.events.Add(added)
	s.sinceMerge += added
	s.lastInsert.Store(s.opts.Now().UnixNano())
	s.pokeCheckpointer()
	if s.opts.MaxBytes > 0 {
		if err := s.enforceSize(ctx); err != nil {
			s.opts.Logger.Warn("store size retention", "err", err)
		}
	}
	return nil
}

// finish removes a committed (or given up) group from the queue and wakes the
// waiters.
func (s *Store) finish(group []*item, err error) {
	q := &s.q
	q.mu.Lock()
	for _, it := range group {
		for i := range it.events {
			delete(q.pending, it.events[i].ID)
		}
		q.events -= len(it.events)
		q.bytes -= it.bytes
		q.durable = max(q.durable, it.mark)
	}
	clear(q.items[:len(group)])
	q.items = q.items[len(group):]
	q.broadcast()
	q.mu.Unlock()
	for _, it := range group {
		if it.done != nil {
			it.done <- err
		}
	}
}

// noteCommit records a commit's outcome for Health.
func (s *Store) noteCommit(err error) {
	q := &s.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil {
		q.fault.lastErr = nil
		return
	}
	if q.fault.lastErr == nil {
		q.fault.failingAt = s.opts.Now()
	}
	q.fault.lastErr = err
	q.broadcast() // a waiting Enqueue re-checks: full and failing
}

// dropFailed empties the queue of a failed store; synchronous inserts get
// ErrFailed. The events stay in the spool, and the rebuild marker says so.
func (s *Store) dropFailed() {
	q := &s.q
	q.mu.Lock()
	items := q.items
	q.items, q.events, q.bytes = nil, 0, 0
	clear(q.pending)
	q.fault.dropped += int64(countEvents(items))
	q.broadcast()
	q.mu.Unlock()
	for _, it := range items {
		if it.done != nil {
			it.done <- ErrFailed
		}
	}
}

// abandon drops every queued batch at close after a failed commit; their
// marks never become durable.
func (s *Store) abandon(err error) {
	q := &s.q
	q.mu.Lock()
	items := q.items
	q.items, q.events, q.bytes = nil, 0, 0
	clear(q.pending)
	q.broadcast()
	q.mu.Unlock()
	s.opts.Logger.Error("store: batches not committed at close; the next start stores them from the spool",
		"events", countEvents(items), "err", err)
	for _, it := range items {
		if it.done != nil {
			it.done <- err
		}
	}
}

func countEvents(group []*item) int {
	n := 0
	for _, it := range group {
		n += len(it.events)
	}
	return n
}

// stopWriter makes the writer commit what is queued and return.
func (s *Store) stopWriter() {
	q := &s.q
	q.mu.Lock()
	if q.done == nil {
		q.mu.Unlock()
		return
	}
	q.closing = true
	q.broadcast()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
}
