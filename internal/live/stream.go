package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Messages a stream ends with; each is a complete SSE message without an id,
// so the client's Last-Event-ID stays at the last event it received.
var (
	msgHeartbeat = []byte(": heartbeat\n\n")
	msgBehind    = []byte(`event: error` + "\n" + `data: {"error":"stream subscriber fell behind; reconnect with Last-Event-ID"}` + "\n\n")
	msgReplay    = []byte(`event: error` + "\n" + `data: {"error":"reading past events failed; reconnect with Last-Event-ID"}` + "\n\n")
)

// maxBatch caps the frames written between two flushes when a subscriber has
// a backlog, so a busy stream still flushes regularly.
const maxBatch = 256

// flushBytes is how much replayed data is gathered before a write.
const flushBytes = 32 << 10

// ServeHTTP serves GET /api/v1/stream: the filters of wire.ParseFilter, resume
// from the Last-Event-ID header or the last_event_id parameter (the header
// wins, as browsers send it on reconnect), then live events until the client
// goes away, falls behind, or Close is called.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use GET")
		return
	}
	q := r.URL.Query()
	f, err := wire.ParseFilter(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	after, resume, err := lastEventID(r.Header.Get("Last-Event-ID"), q.Get("last_event_id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sub, liveStart, backlog, err := b.subscribe(f, after, resume)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "live stream is shutting down")
		return
	}
	defer b.unsubscribe(sub)

	st := &stream{b: b, w: w, rc: http.NewResponseController(w), sub: sub}
	// A server ReadTimeout would otherwise cancel the request's context once it
	// passes, through the server's background read; streams are long-lived.
	_ = st.rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		// The write deadlines set here would outlive the stream on a kept-alive
		// connection and fail a later request on it; a stream's connection is
		// therefore not reused.
		h.Set("Connection", "close")
	}
	w.WriteHeader(http.StatusOK)

	start := b.opts.Now()
	reason, err := st.run(r.Context(), f, after, resume, liveStart, backlog)
	log := b.opts.Logger.Debug
	if reason == "fell behind" {
		log = b.opts.Logger.Info
	}
	log("stream ended", "remote", r.RemoteAddr, "reason", reason, "last_seq", st.sent,
		"seconds", b.opts.Now().Sub(start).Seconds(), "err", err)
}

// lastEventID parses the resume point; resume is false when neither is set.
func lastEventID(header, param string) (after int64, resume bool, err error) {
	name, v := "header \"Last-Event-ID\"", strings.TrimSpace(header)
	if v == "" {
		name, v = "query parameter \"last_event_id\"", strings.TrimSpace(param)
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%s: want a non-negative integer (the id of the last event received)", name)
	}
	return n, true, nil
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(wire.Error{Error: msg})
}

// stream is one connection's writer; it lives for one ServeHTTP call.
type stream struct {
	b          *Broker
	w          http.ResponseWriter
	rc         *http.ResponseController
	sub        *subscriber
	sent       int64 // highest seq delivered or skipped: later frames at or below it are duplicates
	noDeadline bool  // the ResponseWriter cannot set write deadlines
}

// run writes the resume backlog, then live events. It returns why it stopped.
func (st *stream) run(ctx context.Context, f wire.Filter, after int64, resume bool, liveStart int64, backlog []*frame) (string, error) {
	b := st.b
	if err := st.arm(); err != nil {
		return "write failed", err
	}
	if err := st.rc.Flush(); err != nil { // headers out: the client knows it is subscribed
		return "write failed", err
	}
	st.sent = liveStart
	if resume && after < liveStart {
		st.sent = after
		var err error
		if b.opts.Replay != nil {
			err = st.replay(ctx, f, liveStart)
		} else {
			err = st.writeBacklog(backlog)
		}
		if errors.Is(err, errReplay) {
			if werr := st.writeMsg(msgReplay); werr != nil {
				return "write failed", werr
			}
			return "replay failed", err
		}
		if err != nil {
			if ctx.Err() != nil {
				return "client gone", nil
			}
			return "write failed", err
		}
		// Everything up to liveStart that matched has been sent; what follows
		// comes from the buffer, which holds only seqs above liveStart.
		st.sent = liveStart
	}
	if resume && after > liveStart && b.opts.Replay != nil {
		// Ahead of what the store has committed: the client saw events
		// streamed before a crash that the pipeline now replays under the
		// same numbers (store DESIGN.md, Sequence numbers). It gets what
		// follows its id, never those again.
		st.sent = after
	}
	// Without a store, a resume point above liveStart is from an earlier
	// numbering (the broker restarted from 0): the client gets live events
	// from now.

	tick := time.NewTicker(b.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "client gone", nil
		case <-b.closed:
			return "closed", nil
		case <-st.sub.dropped:
			return "fell behind", st.writeMsg(msgBehind)
		case <-tick.C:
			if err := st.writeMsg(msgHeartbeat); err != nil {
				return "write failed", err
			}
		case fr := <-st.sub.ch:
			if err := st.arm(); err != nil {
				return "write failed", err
			}
			if err := st.writeFrame(fr); err != nil {
				return "write failed", err
			}
		drain:
			for range maxBatch - 1 {
				select {
				case fr = <-st.sub.ch:
					if err := st.writeFrame(fr); err != nil {
						return "write failed", err
					}
				default:
					break drain
				}
			}
			if err := st.rc.Flush(); err != nil {
				return "write failed", err
			}
		}
	}
}

// errReplay marks a ReplayFunc failure, which the client hears about.
var errReplay = errors.New("replay")

// replay writes the stored events in (st.sent, liveStart] that match f, a page
// at a time.
func (st *stream) replay(ctx context.Context, f wire.Filter, liveStart int64) error {
	b := st.b
	// The store answers the text query with its full-text index, which need
	// not agree with the substring match; the other fields are checked again.
	storeF := f
	storeF.Text = ""
	m := newMatcher(storeF)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	write := func() error {
		if buf.Len() == 0 {
			return nil
		}
		if err := st.arm(); err != nil {
			return err
		}
		_, err := st.w.Write(buf.Bytes())
		buf.Reset()
		return err
	}
	cursor := st.sent
	if b.opts.WaitStored != nil && cursor < liveStart {
		// Events are published before the store commits them: wait until
		// everything up to the live start can be read back.
		if err := b.opts.WaitStored(ctx, liveStart); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			b.opts.Logger.Warn("wait for stored stream events", "seq", liveStart, "err", err)
			return fmt.Errorf("%w up to seq %d: %w", errReplay, liveStart, err)
		}
	}
	for cursor < liveStart {
		evs, err := b.opts.Replay(ctx, cursor, f, b.replayPage)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			b.opts.Logger.Warn("replay stream events", "after_seq", cursor, "err", err)
			return fmt.Errorf("%w after seq %d: %w", errReplay, cursor, err)
		}
		for i := range evs {
			ev := &evs[i]
			if ev.Seq <= cursor {
				continue // not ascending: never send a seq twice
			}
			if ev.Seq > liveStart {
				cursor = liveStart // the rest is in the subscriber's buffer
				break
			}
			cursor = ev.Seq
			var low lowered
			if !m.match(ev, &low) {
				continue
			}
			if err := encodeFrame(&buf, enc, ev); err != nil {
				return fmt.Errorf("encode event %d: %w", ev.Seq, err)
			}
			st.sent = ev.Seq
			if buf.Len() >= flushBytes {
				if err := write(); err != nil {
					return err
				}
			}
		}
		if err := write(); err != nil {
			return err
		}
		if err := st.rc.Flush(); err != nil {
			return err
		}
		if len(evs) < b.replayPage {
			break
		}
	}
	return nil
}

// writeBacklog writes the ring's frames that match the subscriber's filter.
func (st *stream) writeBacklog(backlog []*frame) error {
	if len(backlog) == 0 {
		return nil
	}
	if err := st.arm(); err != nil {
		return err
	}
	for i, fr := range backlog {
		var low lowered
		if !st.sub.m.match(&fr.ev, &low) {
			continue
		}
		if i%maxBatch == 0 {
			if err := st.arm(); err != nil {
				return err
			}
		}
		if err := st.writeFrame(fr); err != nil {
			return err
		}
	}
	return st.rc.Flush()
}

// writeFrame writes one event unless it was already sent.
func (st *stream) writeFrame(fr *frame) error {
	if fr.seq <= st.sent {
		return nil
	}
	if _, err := st.w.Write(fr.data); err != nil {
		return err
	}
	st.sent = fr.seq
	return nil
}

// writeMsg writes and flushes one message that is not an event.
func (st *stream) writeMsg(msg []byte) error {
	if err := st.arm(); err != nil {
		return err
	}
	if _, err := st.w.Write(msg); err != nil {
		return err
	}
	return st.rc.Flush()
}

// arm sets the deadline of the writes that follow. It uses the real clock:
// deadlines are compared with it by the network poller.
func (st *stream) arm() error {
	if st.noDeadline {
		return nil
	}
	err := st.rc.SetWriteDeadline(time.Now().Add(st.b.opts.WriteTimeout))
	if errors.Is(err, http.ErrNotSupported) {
		st.noDeadline = true
		return nil
	}
	return err
}
