package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// ReplayFunc returns up to limit events with Seq > afterSeq that match f, in
// ascending Seq order: the store's EventsAfter. Every event handed to Publish
// must be readable through it, at once or, with Options.WaitStored, once
// WaitStored returned.
type ReplayFunc func(ctx context.Context, afterSeq int64, f wire.Filter, limit int) ([]wire.Event, error)

// Options configures a Broker. The zero value works: no store, a ring of
// RingSize events, default buffer and heartbeat.
type Options struct {
	// Replay serves resumes from the store. When nil, resumes are served from an
	// in-memory ring of the last published events (RingSize, RingBytes; the
	// store is optional); a resume point older than the ring gets what the ring
	// holds.
	Replay ReplayFunc
	// WaitStored, when set, blocks until the events published up to seq are
	// readable through Replay (the store commits after Publish); a resume
	// calls it before replaying.
	WaitStored func(ctx context.Context, seq int64) error
	// RingSize is the ring's length in events when Replay is nil (default 10000).
	RingSize int
	// RingBytes bounds the encoded events the ring keeps (default 8 MiB): the
	// oldest go first when either bound is reached. Frames published together
	// share one buffer, so the ring may hold up to one batch's more.
	RingBytes int
	// Buffer is each subscriber's buffer in events (default 4096). A subscriber
	// whose buffer is full when an event is published is dropped.
	Buffer int
	// Heartbeat is the interval of the ": heartbeat" comment (default 15 s).
	Heartbeat time.Duration
	// WriteTimeout bounds one write to a client (default 5 s). It also bounds how
	// long a stream whose client stopped reading outlives being dropped or Close.
	WriteTimeout time.Duration
	// StartSeq is the last Seq published before this process started (the
	// store's MaxSeq). Publish ignores events with Seq <= the last published Seq,
	// so the pipeline's replay after a crash is not streamed twice.
	StartSeq int64
	// AssignSeq makes the broker number events itself (Seq = last+1), for when
	// there is no store to do it.
	AssignSeq bool
	// Now is the clock for log durations (default time.Now).
	Now func() time.Time
	// Logger gets one debug line per ended stream (info when it was dropped)
	// and store read failures (default: discard).
	Logger *slog.Logger
}

// Default option values.
const (
	DefaultRingSize     = 10000
	DefaultRingBytes    = 8 << 20
	DefaultBuffer       = 4096
	DefaultHeartbeat    = 15 * time.Second
	DefaultWriteTimeout = 5 * time.Second
	// replayPage is how many events one ReplayFunc call asks for.
	replayPage = 1000
)

// errClosed is returned by subscribe after Close.
var errClosed = errors.New("live stream closed")

// Broker fans published events out to SSE subscribers. Publish, ServeHTTP and
// the accessors are safe for concurrent use.
type Broker struct {
	opts       Options
	replayPage int // ReplayFunc limit; tests lower it to cross page boundaries

	pubMu   sync.Mutex   // serialises Publish: seq assignment and encoding
	scratch bytes.Buffer // encoding buffer, guarded by pubMu
	enc     *json.Encoder

	mu        sync.Mutex // guards subs, ring, ringHead, closed against subscribe/unsubscribe
	subs      []*subscriber
	ring      []*frame // nil with a ReplayFunc; else the last len(ring) frames, oldest at ringHead once full
	ringPos   int      // next slot to write
	ringLen   int
	ringBytes int // len(data) of the frames in ring
	closing   bool

	last    atomic.Int64 // last published seq; written under pubMu and mu
	dropped atomic.Uint64
	closed  chan struct{}
	once    sync.Once
}

// frame is one published event, encoded once and shared by every subscriber.
type frame struct {
	seq  int64
	ev   wire.Event // without Payload: kept only for filtering
	data []byte     // "id: <seq>\nevent: hook\ndata: <json>\n\n"
}

// subscriber is one connected stream.
type subscriber struct {
	m       matcher
	ch      chan *frame
	dropped chan struct{} // closed by Publish when ch was full
}

// New builds a Broker.
func New(opts Options) *Broker {
	if opts.RingSize <= 0 {
		opts.RingSize = DefaultRingSize
	}
	if opts.RingBytes <= 0 {
		opts.RingBytes = DefaultRingBytes
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Broker{opts: opts, replayPage: replayPage, closed: make(chan struct{})}
	b.enc = json.NewEncoder(&b.scratch)
	b.enc.SetEscapeHTML(false)
	if opts.Replay == nil {
		b.ring = make([]*frame, opts.RingSize)
	}
	b.last.Store(opts.StartSeq)
	return b
}

// Publish streams events that have just been stored, in the order given. It
// never blocks on a subscriber: one whose buffer is full is dropped (its stream
// ends with an error message) and counted. Events with Seq <= LastSeq are
// ignored, unless AssignSeq is set, in which case Publish numbers them. Publish
// keeps no reference to evs or their payloads.
func (b *Broker) Publish(evs []wire.Event) {
	if len(evs) == 0 {
		return
	}
	b.pubMu.Lock()
	defer b.pubMu.Unlock()

	if b.ring == nil && !b.opts.AssignSeq && b.skipUnwatched(evs) {
		return
	}
	last := b.last.Load()
	frames := make([]frame, 0, len(evs))
	ends := make([]int, 0, len(evs))
	b.scratch.Reset()
	for i := range evs {
		seq := evs[i].Seq
		if b.opts.AssignSeq {
			seq = last + 1
		} else if seq <= last {
			continue
		}
		// The copy lives in frames (no allocation per event); the encoder
		// reads it through a pointer.
		frames = append(frames, frame{seq: seq, ev: evs[i]})
		ev := &frames[len(frames)-1].ev
		ev.Seq = seq
		start := b.scratch.Len()
		if err := encodeFrame(&b.scratch, b.enc, ev); err != nil {
			// wire.Event always encodes; this would be a bug in its types.
			b.scratch.Truncate(start)
			frames = frames[:len(frames)-1]
			b.opts.Logger.Debug("encode stream event", "seq", seq, "id", evs[i].ID, "err", err)
			continue
		}
		ev.Payload = nil // filters do not need it; do not keep the caller's buffer
		last = seq
		ends = append(ends, b.scratch.Len())
	}
	if len(frames) == 0 {
		return
	}
	// One copy of the batch's bytes, shared by every subscriber and the ring.
	buf := bytes.Clone(b.scratch.Bytes())
	start := 0
	for i := range frames {
		frames[i].data = buf[start:ends[i]:ends[i]]
		start = ends[i]
	}
	if b.scratch.Cap() > 1<<20 {
		b.scratch = bytes.Buffer{} // do not keep a huge batch's buffer; enc writes through the same pointer
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range frames {
		fr := &frames[i]
		if b.ring != nil {
			b.keep(fr)
		}
		var low lowered
		for j := 0; j < len(b.subs); {
			s := b.subs[j]
			if !s.m.match(&fr.ev, &low) {
				j++
				continue
			}
			select {
			case s.ch <- fr:
				j++
			default:
				close(s.dropped)
				b.dropped.Add(1)
				b.subs[j] = b.subs[len(b.subs)-1]
				b.subs[len(b.subs)-1] = nil
				b.subs = b.subs[:len(b.subs)-1]
			}
		}
	}
	b.last.Store(last)
}

// keep adds fr to the ring, dropping the oldest frames while the ring is full
// or would hold more than RingBytes. The caller holds mu.
func (b *Broker) keep(fr *frame) {
	for b.ringLen == len(b.ring) || (b.ringLen > 0 && b.ringBytes+len(fr.data) > b.opts.RingBytes) {
		oldest := (b.ringPos - b.ringLen + len(b.ring)) % len(b.ring)
		b.ringBytes -= len(b.ring[oldest].data)
		b.ring[oldest] = nil
		b.ringLen--
	}
	b.ring[b.ringPos] = fr
	b.ringPos = (b.ringPos + 1) % len(b.ring)
	b.ringLen++
	b.ringBytes += len(fr.data)
}

// skipUnwatched advances LastSeq past evs without encoding them when no one
// is subscribed, and reports whether it did. Without a ring (the store
// replays) an event no subscriber receives is never read: a stream that
// subscribes later starts its live part after LastSeq and replays these from
// the store, as it does any event it missed. The caller holds pubMu.
func (b *Broker) skipUnwatched(evs []wire.Event) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.subs) > 0 {
		return false
	}
	last := b.last.Load()
	for i := range evs {
		last = max(last, evs[i].Seq)
	}
	b.last.Store(last)
	return true
}

// encodeFrame appends one SSE message for ev.
func encodeFrame(buf *bytes.Buffer, enc *json.Encoder, ev *wire.Event) error {
	var num [20]byte
	buf.WriteString("id: ")
	buf.Write(strconv.AppendInt(num[:0], ev.Seq, 10))
	buf.WriteString("\nevent: hook\ndata: ")
	payload := ev.Payload
	if len(payload) == 0 || bytes.IndexByte(payload, '\n') >= 0 || bytes.IndexByte(payload, '\r') >= 0 {
		if err := enc.Encode(ev); err != nil { // compact, one line, ends in "\n"
			return err
		}
		buf.WriteByte('\n')
		return nil
	}
	// The payload is already one line of JSON (it comes from the spool):
	// splice it in rather than let encoding/json re-validate and re-compact
	// it, which costs more than the rest of the event.
	rest := *ev
	rest.Payload = nil
	if err := enc.Encode(&rest); err != nil {
		return err
	}
	b := buf.Bytes()
	buf.Truncate(len(b) - 2) // drop "}\n"
	buf.WriteString(`,"payload":`)
	buf.Write(payload)
	buf.WriteString("}\n\n")
	return nil
}

// subscribe registers a subscriber that receives every matching event
// published from now on. It returns the last seq published before it (the
// live start) and, when there is no ReplayFunc and resume is set, the ring's
// frames after afterSeq up to that point.
func (b *Broker) subscribe(f wire.Filter, afterSeq int64, resume bool) (*subscriber, int64, []*frame, error) {
	s := &subscriber{
		m:       newMatcher(f),
		ch:      make(chan *frame, b.opts.Buffer),
		dropped: make(chan struct{}),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil, 0, nil, errClosed
	}
	b.subs = append(b.subs, s)
	liveStart := b.last.Load()
	var backlog []*frame
	if resume && b.ring != nil && afterSeq < liveStart {
		oldest := (b.ringPos - b.ringLen + len(b.ring)) % len(b.ring)
		for i := range b.ringLen {
			fr := b.ring[(oldest+i)%len(b.ring)]
			if fr.seq > afterSeq {
				backlog = append(backlog, fr)
			}
		}
	}
	return s, liveStart, backlog, nil
}

// unsubscribe removes s unless Publish already dropped it.
func (b *Broker) unsubscribe(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, o := range b.subs {
		if o == s {
			b.subs[i] = b.subs[len(b.subs)-1]
			b.subs[len(b.subs)-1] = nil
			b.subs = b.subs[:len(b.subs)-1]
			return
		}
	}
}

// Subscribers returns the number of connected streams that have not been dropped.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Dropped returns how many subscribers were dropped for falling behind.
func (b *Broker) Dropped() uint64 { return b.dropped.Load() }

// LastSeq returns the Seq of the last published event (StartSeq before any).
func (b *Broker) LastSeq() int64 { return b.last.Load() }

// Close ends every stream and refuses new ones (503); call it when the HTTP
// server shuts down (http.Server.RegisterOnShutdown) so Shutdown does not wait
// on open streams. Publish keeps working. Close is idempotent.
func (b *Broker) Close() {
	b.once.Do(func() {
		b.mu.Lock()
		b.closing = true
		b.mu.Unlock()
		close(b.closed)
	})
}

// matcher is a wire.Filter prepared for repeated matching: the same answers
// as wire.Filter.Match, with the text query lowered once per subscriber and
// each event's text fields lowered at most once per Publish.
type matcher struct {
	f    wire.Filter // Text cleared
	text string      // lower-cased Text
}

func newMatcher(f wire.Filter) matcher {
	m := matcher{f: f, text: strings.ToLower(f.Text)}
	m.f.Text = ""
	return m
}

// lowered caches an event's lower-cased text fields.
type lowered struct {
	done                  bool
	summary, errMsg, tool string
}

func (m *matcher) match(ev *wire.Event, low *lowered) bool {
	if !m.f.Match(ev) {
		return false
	}
	if m.text == "" {
		return true
	}
	if !low.done {
		*low = lowered{done: true, summary: strings.ToLower(ev.Summary), errMsg: strings.ToLower(ev.Error), tool: strings.ToLower(ev.Tool)}
	}
	return strings.Contains(low.summary, m.text) || strings.Contains(low.errMsg, m.text) || strings.Contains(low.tool, m.text)
}
