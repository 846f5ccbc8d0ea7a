package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/checkpoint"
	"github.com/claudehooks/claude-hooks-exporter/internal/histo"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/retry"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/tail"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

// Source yields complete spool lines; *tail.Tailer is the one the daemon uses.
type Source interface {
	Next(ctx context.Context, max int) ([]tail.Line, error)
	Positions() []tail.Position
	Backlog() int64
}

// Batch is what the sinks receive: the events decoded from one read, in log
// order, the spans the tracker closed while applying them, and the tracker's
// summary of every session they (or transcript usage, or expiry) changed.
// Events alias the source's buffers: a sink that keeps anything past Consume
// must copy it.
type Batch struct {
	Events   []hookevent.Event
	Spans    []timeline.Span
	Sessions []timeline.Summary
}

// Sink consumes batches. Consume must not keep the batch; an error makes the
// pipeline retry the same batch (the checkpoint does not move past it).
type Sink interface {
	Consume(ctx context.Context, b *Batch) error
}

// DurableSink is a Sink that accepts a batch before it is durable (the
// store's group commit). A checkpoint covers a batch only once every
// DurableSink has made it durable, so a crash never skips an event such a sink
// had accepted but not kept.
type DurableSink interface {
	Sink
	// Mark returns a mark covering every batch consumed so far.
	Mark() uint64
	// WaitDurable blocks until the batches up to mark are durable or ctx ends.
	WaitDurable(ctx context.Context, mark uint64) error
}

// Rejection reasons: the reason label of claude_hooks_records_rejected_total.
const (
	RejectMalformedRecord = "malformed_record" // a torn fragment or garbage line in the spool
	RejectInvalidJSON     = "invalid_json"     // the hook received invalid JSON (preserved in the spool)
	RejectEmpty           = "empty"            // the hook received an empty stdin
	RejectOversized       = "oversized"        // the payload was over the record size cap
	RejectInvalidEvent    = "invalid_event"    // JSON, but not a hook payload (no object, no hook_event_name)
	RejectNoSession       = "no_session_id"    // a hook payload without session_id
)

// RejectReasons lists every reason, so that each is exposed from the start.
var RejectReasons = []string{RejectMalformedRecord, RejectInvalidJSON, RejectEmpty, RejectOversized, RejectInvalidEvent, RejectNoSession}

// LagBuckets are the classic buckets of the ingest lag histogram, in seconds.
var LagBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// ProcessingBuckets are the classic buckets of the per-event processing time histogram.
var ProcessingBuckets = []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1}

// Options configures a Pipeline.
type Options struct {
	Tracker *session.Tracker
	// Transcripts, when set, follows the transcripts the events name and feeds
	// their token usage to the tracker; its state is checkpointed with the rest.
	Transcripts *transcript.Follower
	// TranscriptInterval is how often transcripts are polled while no event
	// arrives (default 1 s).
	TranscriptInterval time.Duration
	Sinks              []Sink
	// CheckpointPath is where offsets and state are persisted; "" disables
	// checkpoints (tests and dry runs).
	CheckpointPath string
	// CheckpointInterval is the longest time between checkpoints while events
	// flow (default 1 s). A checkpoint is also written on shutdown.
	CheckpointInterval time.Duration
	// DurableTimeout bounds how long the final checkpoint waits for the
	// durable sinks at shutdown (default 10 s); past it the checkpoint is not
	// written and the next start replays from the previous one.
	DurableTimeout time.Duration
	// BatchSize caps the lines read per batch (default 256: a batch and the
	// copies sinks make of it stay a few MiB at most).
	BatchSize int
	// ExpireInterval is how often idle sessions are expired (default 10 s).
	ExpireInterval time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
}

// Stats is the ingest side of the derived state, shown by the metrics collector.
type Stats struct {
	Applied            uint64            // records that became events and reached the tracker
	Rejected           map[string]uint64 // records refused, by reason
	Lag                *histo.Histogram  // receive time to processed, seconds
	Processing         *histo.Histogram  // read to sinks accepted, per event, seconds
	Backlog            int64             // spool bytes not yet read
	CheckpointFailures uint64            // checkpoint writes that failed since start
	LastCheckpoint     time.Time         // when the last checkpoint was written
	LastLag            time.Duration     // receive time to processed of the most recent event
	InvalidUTF8        uint64            // payloads whose invalid UTF-8 was replaced by U+FFFD
}

// ingestState is the persisted part of Stats.
type ingestState struct {
	Applied    uint64            `json:"applied"`
	Rejected   map[string]uint64 `json:"rejected"`
	Lag        *histo.Histogram  `json:"lag"`
	Processing *histo.Histogram  `json:"processing"`
	// InvalidUTF8 counts payloads whose invalid UTF-8 was replaced.
	InvalidUTF8 uint64 `json:"invalid_utf8,omitempty"`
}

// Pipeline runs the data path. Run is its only writer; Snapshot may be called
// concurrently (from a scrape).
type Pipeline struct {
	opts Options

	mu    sync.Mutex // guards state and lastCheckpoint, shared with Snapshot
	state ingestState

	lastCheckpoint time.Time
	lastLag        time.Duration
	// pending hands the latest checkpoint snapshot to the writer goroutine;
	// a newer snapshot replaces one not yet written.
	pending            chan snapshot
	saveFailed         atomic.Bool
	skipped            atomic.Bool // the saver dropped a snapshot at shutdown
	backlog            atomic.Int64
	checkpointFailures atomic.Uint64
}

// snapshot is a checkpoint with the durable sinks' marks it waits for.
type snapshot struct {
	cp    checkpoint.Checkpoint
	marks []uint64 // by durable sink, in Options.Sinks order
}

// New builds a pipeline; call Restore before Run to continue from a checkpoint.
func New(opts Options) (*Pipeline, error) {
	if opts.Tracker == nil {
		return nil, errors.New("pipeline: no tracker")
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.DurableTimeout <= 0 {
		opts.DurableTimeout = 10 * time.Second
	}
	if opts.ExpireInterval <= 0 {
		opts.ExpireInterval = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TranscriptInterval <= 0 {
		opts.TranscriptInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{opts: opts, state: newIngestState()}, nil
}

func newIngestState() ingestState {
	return ingestState{
		Rejected:   map[string]uint64{},
		Lag:        histo.New(LagBuckets),
		Processing: histo.New(ProcessingBuckets),
	}
}

const (
	stateTracker    = "tracker"
	stateIngest     = "ingest"
	stateTranscript = "transcript"
	// checkpointVersion changes when the meaning of the stored state changes.
	checkpointVersion = 1
)

// Restore loads the checkpoint, restores the tracker and ingest state from it,
// and returns the tail positions to start from (nil when there is none).
func (p *Pipeline) Restore() ([]tail.Position, error) {
	if p.opts.CheckpointPath == "" {
		return nil, nil
	}
	cp, ok, err := checkpoint.Load(p.opts.CheckpointPath)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint %s: version %d, want %d", p.opts.CheckpointPath, cp.Version, checkpointVersion)
	}
	var positions []tail.Position
	if len(cp.Positions) > 0 {
		if err := json.Unmarshal(cp.Positions, &positions); err != nil {
			return nil, fmt.Errorf("checkpoint %s: positions: %w", p.opts.CheckpointPath, err)
		}
	}
	if b, ok := cp.State[stateTracker]; ok {
		if err := p.opts.Tracker.UnmarshalState(b); err != nil {
			return nil, fmt.Errorf("checkpoint %s: tracker state: %w", p.opts.CheckpointPath, err)
		}
	}
	if b, ok := cp.State[stateTranscript]; ok && p.opts.Transcripts != nil {
		if err := p.opts.Transcripts.UnmarshalState(b); err != nil {
			return nil, fmt.Errorf("checkpoint %s: transcript state: %w", p.opts.CheckpointPath, err)
		}
	}
	if b, ok := cp.State[stateIngest]; ok {
		st := newIngestState()
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("checkpoint %s: ingest state: %w", p.opts.CheckpointPath, err)
		}
		if st.Rejected == nil {
			st.Rejected = map[string]uint64{}
		}
		p.mu.Lock()
		p.state = st
		p.mu.Unlock()
	}
	return positions, nil
}

// Run reads, applies and delivers until ctx ends, then writes a last checkpoint.
// It returns nil on a clean shutdown.
func (p *Pipeline) Run(ctx context.Context, src Source) error {
	// Checkpoints are written by their own goroutine: two fsyncs take
	// milliseconds, and the events behind them must not wait for that.
	p.pending = make(chan snapshot, 1)
	saverDone := make(chan struct{})
	// A snapshot waiting for durable sinks is given up at shutdown: the
	// final checkpoint covers it.
	saveCtx, cancelSave := context.WithCancel(context.WithoutCancel(ctx))
	go func() { defer close(saverDone); p.saveLoop(saveCtx) }()
	defer func() {
		if p.pending != nil {
			cancelSave()
			close(p.pending)
			<-saverDone
		}
	}()
	stopSaver := func() {
		cancelSave()
		close(p.pending)
		<-saverDone
		p.pending = nil
	}
	var (
		batch      Batch
		nextExpire = p.opts.Now().Add(p.opts.ExpireInterval)
		dirty      bool
	)
	for {
		waitCtx, cancel := context.WithDeadline(ctx, p.nextWake(nextExpire, dirty))
		lines, err := src.Next(waitCtx, p.opts.BatchSize)
		cancel()
		if ctx.Err() != nil {
			stopSaver()
			return p.finish(src, dirty || p.skipped.Load())
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("read spool: %w", err)
		}
		start := p.opts.Now()
		batch.Events = batch.Events[:0]
		batch.Spans = batch.Spans[:0]
		if len(lines) > 0 {
			p.decode(lines, &batch)
		}
		if p.opts.Transcripts != nil && p.pollTranscripts() > 0 {
			dirty = true // usage changed the tracker state: a checkpoint is owed
		}
		if !start.Before(nextExpire) {
			batch.Spans = append(batch.Spans, p.opts.Tracker.Expire(start)...)
			nextExpire = start.Add(p.opts.ExpireInterval)
		}
		batch.Sessions = p.opts.Tracker.TakeSummaries(batch.Sessions[:0])
		p.backlog.Store(src.Backlog())
		if len(lines) == 0 && len(batch.Spans) == 0 && len(batch.Sessions) == 0 {
			if dirty || p.saveFailed.Load() {
				dirty = !p.checkpoint(src)
			}
			continue
		}
		if err := p.deliver(ctx, &batch); err != nil {
			stopSaver()
			return p.finish(src, dirty || p.skipped.Load())
		}
		p.observeProcessing(start, len(batch.Events))
		dirty = true
		if p.opts.Now().Sub(p.lastCheckpointTime()) >= p.opts.CheckpointInterval {
			dirty = !p.checkpoint(src)
		}
	}
}

// nextWake is when Next should give up waiting: at the next expiry, or soon if
// a checkpoint is owed, so an idle daemon still persists what it applied.
func (p *Pipeline) nextWake(nextExpire time.Time, dirty bool) time.Time {
	wake := nextExpire
	if dirty {
		if t := p.lastCheckpointTime().Add(p.opts.CheckpointInterval); t.Before(wake) {
			wake = t
		}
	}
	if p.opts.Transcripts != nil {
		if t := p.opts.Now().Add(p.opts.TranscriptInterval); t.Before(wake) {
			wake = t
		}
	}
	return wake
}

func (p *Pipeline) decode(lines []tail.Line, batch *Batch) {
	now := p.opts.Now()
	// p.mu guards only the ingest counters: transcript reads and tracker work
	// below must not hold up a concurrent scrape.
	for _, l := range lines {
		if l.Oversize {
			// Longer than any record a writer produces: not ours, or damaged.
			p.reject(RejectOversized, l, nil)
			continue
		}
		rec, err := spool.Decode(l.Data)
		if err != nil {
			p.reject(RejectMalformedRecord, l, err)
			continue
		}
		if rec.Bad != "" {
			p.reject(badReason(rec.Bad), l, nil)
			continue
		}
		payload, replaced := hookevent.ValidUTF8(rec.Payload)
		if replaced {
			// Served JSON must be valid UTF-8; the spool keeps the bytes.
			p.mu.Lock()
			p.state.InvalidUTF8++
			p.mu.Unlock()
		}
		ev, err := hookevent.Decode(payload)
		if err != nil {
			p.reject(RejectInvalidEvent, l, err)
			continue
		}
		if ev.SessionID == "" {
			p.reject(RejectNoSession, l, nil)
			continue
		}
		ev.ID = rec.ID
		ev.Received = time.Unix(0, rec.Received).UTC()
		batch.Events = append(batch.Events, ev)
		evp := &batch.Events[len(batch.Events)-1]
		if tr := p.opts.Transcripts; tr != nil {
			tr.Track(evp)
			if closesSpan(evp.Name) {
				// Read the transcript up to now so the closing turn or
				// subagent carries its last response's usage.
				p.pollTranscripts()
			}
		}
		n := len(batch.Spans)
		batch.Spans = append(batch.Spans, p.opts.Tracker.Apply(evp)...)
		if tr := p.opts.Transcripts; tr != nil {
			for _, sp := range batch.Spans[n:] {
				if sp.Kind == session.KindSession {
					tr.Forget(sp.SessionID)
				}
			}
		}
		p.mu.Lock()
		p.state.Applied++
		p.lastLag = max(now.Sub(ev.Received), 0)
		p.state.Lag.Observe(p.lastLag.Seconds())
		p.mu.Unlock()
	}
}

// closesSpan reports whether an event ends a turn, subagent or session.
func closesSpan(name string) bool {
	switch name {
	case "Stop", "StopFailure", "SubagentStop", "SessionEnd":
		return true
	}
	return false
}

// pollTranscripts feeds new transcript usage to the tracker and says how
// many usage records it applied.
func (p *Pipeline) pollTranscripts() int {
	us := p.opts.Transcripts.Poll()
	for _, u := range us {
		p.opts.Tracker.ApplyUsage(u)
	}
	return len(us)
}

func badReason(bad string) string {
	switch bad {
	case "empty":
		return RejectEmpty
	case "oversized":
		return RejectOversized
	default:
		return RejectInvalidJSON
	}
}

// reject counts a record.
func (p *Pipeline) reject(reason string, l tail.Line, err error) {
	p.mu.Lock()
	p.state.Rejected[reason]++
	p.mu.Unlock()
	if p.opts.Logger.Enabled(context.Background(), slog.LevelDebug) {
		sample := l.Data
		if len(sample) > 200 {
			sample = sample[:200]
		}
		p.opts.Logger.Debug("record rejected", "reason", reason, "path", l.Path, "offset", l.Offset, "err", err, "sample", string(sample))
	}
}

// deliver hands the batch to every sink, retrying a failing sink with backoff
// (internal/retry) until it accepts or ctx ends: the checkpoint never moves
// past an undelivered batch.
func (p *Pipeline) deliver(ctx context.Context, batch *Batch) error {
	for _, s := range p.opts.Sinks {
		if err := retry.Do(ctx, func() error { return s.Consume(ctx, batch) }, func(err error, wait time.Duration) {
			p.opts.Logger.Warn("sink refused a batch; retrying", "sink", fmt.Sprintf("%T", s), "retry_in", wait, "err", err)
		}); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pipeline) observeProcessing(start time.Time, n int) {
	if n == 0 {
		return
	}
	per := p.opts.Now().Sub(start).Seconds() / float64(n)
	p.mu.Lock()
	for range n {
		p.state.Processing.Observe(per)
	}
	p.mu.Unlock()
}

func (p *Pipeline) finish(src Source, dirty bool) error {
	if dirty && !p.checkpoint(src) {
		return errors.New("write the final checkpoint: see the log")
	}
	return nil
}

func (p *Pipeline) lastCheckpointTime() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastCheckpoint
}

// checkpoint snapshots positions and derived state together and hands the
// snapshot to the writer goroutine, or writes it here when none runs (the
// final checkpoint). It reports whether the snapshot was taken (or, written
// here, saved). A failed write is loud (error log, counter) and retried.
// A snapshot is written only once the durable sinks hold what it covers.
func (p *Pipeline) checkpoint(src Source) bool {
	if p.opts.CheckpointPath == "" {
		return true
	}
	cp, err := p.snapshotCheckpoint(src)
	if err != nil {
		p.saved(err)
		return false
	}
	snap := snapshot{cp: cp, marks: p.marks()}
	p.mu.Lock()
	p.lastCheckpoint = p.opts.Now() // paces the next snapshot and any retry
	p.mu.Unlock()
	if p.pending == nil {
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.DurableTimeout)
		defer cancel()
		if err := p.waitDurable(ctx, snap.marks); err != nil {
			p.saved(fmt.Errorf("final checkpoint not written, the sinks did not make the events durable: %w", err))
			return false
		}
		err := checkpoint.Save(p.opts.CheckpointPath, cp)
		p.saved(err)
		return err == nil
	}
	select {
	case <-p.pending: // drop the older snapshot not yet written
	default:
	}
	p.pending <- snap
	return true
}

// marks returns the durable sinks' marks, in order.
func (p *Pipeline) marks() []uint64 {
	var marks []uint64
	for _, s := range p.opts.Sinks {
		if d, ok := s.(DurableSink); ok {
			marks = append(marks, d.Mark())
		}
	}
	return marks
}

// waitDurable waits until every durable sink holds its mark.
func (p *Pipeline) waitDurable(ctx context.Context, marks []uint64) error {
	i := 0
	for _, s := range p.opts.Sinks {
		if d, ok := s.(DurableSink); ok {
			if err := d.WaitDurable(ctx, marks[i]); err != nil {
				return fmt.Errorf("%T: %w", s, err)
			}
			i++
		}
	}
	return nil
}

// saveLoop writes handed-over snapshots, each once its events are durable,
// until pending is closed. A snapshot whose wait ctx cuts short is dropped.
func (p *Pipeline) saveLoop(ctx context.Context) {
	for snap := range p.pending {
		if err := p.waitDurable(ctx, snap.marks); err != nil {
			p.skipped.Store(true) // shutting down: the final checkpoint covers it
			continue
		}
		p.saved(checkpoint.Save(p.opts.CheckpointPath, snap.cp))
	}
}

func (p *Pipeline) saved(err error) {
	p.saveFailed.Store(err != nil)
	if err != nil {
		p.checkpointFailures.Add(1)
		p.opts.Logger.Error("write checkpoint", "path", p.opts.CheckpointPath, "err", err)
	}
}

func (p *Pipeline) snapshotCheckpoint(src Source) (checkpoint.Checkpoint, error) {
	positions, err := json.Marshal(src.Positions())
	if err != nil {
		return checkpoint.Checkpoint{}, fmt.Errorf("marshal positions: %w", err)
	}
	tracker, err := p.opts.Tracker.MarshalState()
	if err != nil {
		return checkpoint.Checkpoint{}, fmt.Errorf("marshal tracker state: %w", err)
	}
	p.mu.Lock()
	ingest, err := json.Marshal(&p.state)
	p.mu.Unlock()
	if err != nil {
		return checkpoint.Checkpoint{}, fmt.Errorf("marshal ingest state: %w", err)
	}
	state := map[string]json.RawMessage{stateTracker: tracker, stateIngest: ingest}
	if p.opts.Transcripts != nil {
		b, err := p.opts.Transcripts.MarshalState()
		if err != nil {
			return checkpoint.Checkpoint{}, fmt.Errorf("marshal transcript state: %w", err)
		}
		state[stateTranscript] = b
	}
	return checkpoint.Checkpoint{
		Version:   checkpointVersion,
		Positions: positions,
		State:     state,
	}, nil
}

// Snapshot calls fn with the current ingest statistics while holding the lock
// that Run takes to update them; fn must not keep the histograms.
func (p *Pipeline) Snapshot(fn func(Stats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(Stats{
		Applied:            p.state.Applied,
		Rejected:           p.state.Rejected,
		Lag:                p.state.Lag,
		Processing:         p.state.Processing,
		Backlog:            p.backlog.Load(),
		CheckpointFailures: p.checkpointFailures.Load(),
		LastCheckpoint:     p.lastCheckpoint,
		LastLag:            p.lastLag,
		InvalidUTF8:        p.state.InvalidUTF8,
	})
}
