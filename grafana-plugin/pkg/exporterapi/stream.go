package exporterapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// DefaultIdleTimeout is how long a stream may stay silent before it is taken
// for dead: three of the exporter's 15 s heartbeats.
const DefaultIdleTimeout = 45 * time.Second

// StreamOptions configure one stream connection.
type StreamOptions struct {
	// Filter selects the events (its From and To are ignored: the stream is live).
	Filter wire.Filter
	// After resumes the stream after this sequence number (sent as
	// Last-Event-ID); zero starts at the live edge.
	After int64
	// IdleTimeout ends the connection when nothing, not even a heartbeat,
	// arrived for that long. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// OnOpen, when set, is called once the exporter accepted the stream.
	OnOpen func()
}

// EventError is an `event: error` message from the exporter, sent before it
// disconnects a subscriber (one that fell behind, for instance).
type EventError struct{ Message string }

func (e *EventError) Error() string { return "exporter ended the stream: " + e.Message }

// ErrStreamClosed is returned when the exporter closed the stream without an
// error message (it shut down, for instance).
var ErrStreamClosed = errors.New("exporter closed the stream")

// Stream opens GET /api/v1/stream and calls fn with each event, in order,
// until the connection ends, ctx ends or fn returns an error (which Stream
// returns). It never returns nil: a stream only ends by an error, ctx.Err()
// when ctx ended. The event passed to fn is not reused by Stream; its Payload
// is always nil (the stream carries it, but no reader of the stream needs it).
func (c *Client) Stream(ctx context.Context, opts StreamOptions, fn func(*wire.Event) error) error {
	f := opts.Filter
	f.From, f.To = time.Time{}, time.Time{}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := c.newRequest(ctx, RouteStream, f.Values())
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if opts.After > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(opts.After, 10))
	}
	idle := opts.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	errIdle := fmt.Errorf("stream silent for %s", idle)
	watchdog := time.AfterFunc(idle, func() { cancel(errIdle) })
	defer watchdog.Stop()

	resp, err := c.stream.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause == errIdle {
			return fmt.Errorf("GET %s: %w", RouteStream, cause)
		}
		return fmt.Errorf("GET %s: %w", RouteStream, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(RouteStream, resp)
	}
	if opts.OnOpen != nil {
		opts.OnOpen()
	}
	err = readSSE(resp.Body, func() { watchdog.Reset(idle) }, func(m *message) error {
		switch m.event {
		case "hook", "":
			var se streamEvent
			if err := json.Unmarshal(m.data, &se); err != nil {
				return &ProtocolError{Route: RouteStream, Err: fmt.Errorf("decode event %q: %w", m.id, err)}
			}
			ev := &se.Event
			if m.id != "" {
				if seq, err := strconv.ParseInt(m.id, 10, 64); err == nil && seq > 0 {
					ev.Seq = seq
				}
			}
			return fn(ev)
		case "error":
			var e wire.Error
			if json.Unmarshal(m.data, &e) == nil && e.Error != "" {
				return &EventError{Message: e.Error}
			}
			return &EventError{Message: string(m.data)}
		default:
			return nil // an event type this client does not know: skip it
		}
	})
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		if cause == errIdle {
			return fmt.Errorf("GET %s: %w", RouteStream, cause)
		}
		return ctx.Err()
	}
	return err
}

// streamEvent decodes a stream message into a wire.Event without its payload:
// the stream's readers show events, not raw payloads, and decoding the
// payload's base64 would be most of the work.
type streamEvent struct {
	wire.Event
	Payload skipJSON `json:"payload"` // shadows Event.Payload
}

// skipJSON accepts any JSON value and keeps nothing.
type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// message is one dispatched Server-Sent Event.
type message struct {
	id    string
	event string
	data  []byte
}

// maxLine caps one SSE line; an event's data line carries a whole wire.Event
// with its capped payload.
const maxLine = 16 << 20

// readSSE parses the text/event-stream format (WHATWG HTML §9.2.6): fields
// id, event and data, comments starting with ':', a blank line dispatching
// the event. alive is called for every line, heartbeats included.
func readSSE(r io.Reader, alive func(), dispatch func(*message) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		m       message
		data    bytes.Buffer
		hasData bool
		long    []byte
	)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				if len(long) > maxLine {
					return &ProtocolError{Route: RouteStream, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
				}
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ErrStreamClosed
			}
			return fmt.Errorf("read stream: %w", err)
		}
		alive()
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			if hasData {
				m.data = data.Bytes()
				if err := dispatch(&m); err != nil {
					return err
				}
			}
			m.event = ""
			data.Reset()
			hasData = false
			continue
		}
		if line[0] == ':' {
			continue // comment: the heartbeat
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "event":
			m.event = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				m.id = string(value) // the id persists across events until changed
			}
		}
	}
}
