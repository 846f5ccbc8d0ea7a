package server

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/semaphore"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// Appender is the spool writer ingest appends to. Append must not keep recs
// (the slice; the records' values it may) after it returns: the server reuses it.
type Appender interface {
	Append(recs ...spool.Record) error
}

// oneRecord holds the record of one POST /v1/hooks for Append, so that the
// variadic slice, which escapes through the interface, is not allocated per
// request.
var oneRecord = sync.Pool{New: func() any { return new([1]spool.Record) }}

// hookBodies holds the body buffers of POST /v1/hooks: a body is done with
// once Append has written it. Buffers over maxPooledBody are not kept.
var hookBodies = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBody = 64 << 10

// Options configures the HTTP handler.
type Options struct {
	Spool Appender
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Token, when not empty, is required as "Authorization: Bearer <token>" on
	// every route but /healthz.
	Token string
	// MaxRecordBytes caps one hook payload (POST /v1/hooks body, or one line of
	// POST /v1/events); default spool.DefaultMaxRecordBytes.
	MaxRecordBytes int
	// MaxBatchBytes caps a POST /v1/events body; default 64 MiB.
	MaxBatchBytes int64
	// AllowedHosts, when not empty, are the only Host header values accepted
	// (with or without port). The app sets it to the loopback names when the
	// daemon listens on loopback, which defeats DNS rebinding.
	AllowedHosts []string
	// IngestRate limits ingest requests per second per non-loopback client
	// (burst twice that); 0 means unlimited. Loopback clients, the local Claude
	// Code, are never limited.
	IngestRate float64
	// AllowCrossSite turns off the browser-origin protection: by default a
	// POST whose Sec-Fetch-Site or Origin says another site sent it is refused
	// with 403, and ingest takes only JSON content types (application/json,
	// application/x-ndjson), which a browser cannot send to another origin
	// without a CORS preflight this server never answers. Non-browser clients
	// (Claude Code's http hooks, curl with a JSON content type) are unaffected.
	AllowCrossSite bool
	// MaxInflightBytes bounds the request bodies ingest holds at once, for
	// every client, loopback included (default DefaultMaxInflightBytes). A
	// request waits until its declared size fits; one larger than the bound
	// waits until it is alone.
	MaxInflightBytes int64
	// BodyReadTimeout, when set, is the time a request has to send its body
	// from when it got its turn (MaxInflightBytes): the server's ReadTimeout
	// counts from the headers and would include the wait.
	BodyReadTimeout time.Duration
	// Ready reports whether the daemon is ready to serve (spool readable,
	// checkpoint fresh); nil means always ready.
	Ready  func() error
	Now    func() time.Time
	Logger *slog.Logger
	// Extra routes mounted as they are (the app adds the query API here).
	Extra map[string]http.Handler
}

// Server is the daemon's HTTP handler with its own request counters.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	ingested atomic.Uint64
	rejected *prometheus.CounterVec
	requests *prometheus.CounterVec
	limiter  *clientLimiter
	csrf     *http.CrossOriginProtection
	inflight *semaphore.Weighted

	// The counters' children, looked up once rather than per request.
	rejectedBy map[string]prometheus.Counter
	hooks      prometheus.Counter
	events     prometheus.Counter
}

// Ingest rejection reasons, the label values of
// claude_hooks_http_ingest_rejected_total.
const (
	ReasonTooLarge    = "too_large"
	ReasonInvalidJSON = "invalid_json"
	ReasonEmpty       = "empty"
	ReasonSpool       = "spool_error"
	ReasonAuth        = "unauthorized"
	ReasonHost        = "forbidden_host"
	ReasonMethod      = "bad_method"
	ReasonRateLimited = "rate_limited"
	ReasonCrossSite   = "cross_site"  // a browser request from another site, or a content type a browser sends cross-site
	ReasonClientGone  = "client_gone" // the client left while its request waited for room (MaxInflightBytes)
)

// appendChunkBytes bounds the payload bytes of one spool append of a batch.
const appendChunkBytes = 4 << 20

// DefaultMaxInflightBytes is the default of Options.MaxInflightBytes.
const DefaultMaxInflightBytes = 32 << 20

// New builds the handler. Its own counters are registered on reg.
func New(opts Options, reg prometheus.Registerer) (*Server, error) {
	if opts.Spool == nil {
		return nil, errors.New("server: no spool writer")
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = spool.DefaultMaxRecordBytes
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = 64 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxInflightBytes <= 0 {
		opts.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts: opts,
		mux:  http.NewServeMux(),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "claude_hooks",
			Name:      "http_ingest_rejected_total",
			Help:      "HTTP ingest requests refused, by reason; a refused request appended nothing.",
		}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "claude_hooks",
			Name:      "http_ingest_records_total",
			Help:      "Hook payloads appended to the spool through HTTP ingest, by route.",
		}, []string{"route"}),
	}
	reasons := []string{ReasonTooLarge, ReasonInvalidJSON, ReasonEmpty, ReasonSpool, ReasonAuth, ReasonHost, ReasonMethod, ReasonRateLimited, ReasonCrossSite, ReasonClientGone}
	s.rejectedBy = make(map[string]prometheus.Counter, len(reasons))
	for _, r := range reasons {
		s.rejectedBy[r] = s.rejected.WithLabelValues(r)
	}
	s.hooks = s.requests.WithLabelValues("/v1/hooks")
	s.events = s.requests.WithLabelValues("/v1/events")
	if reg != nil {
		for _, c := range []prometheus.Collector{s.rejected, s.requests} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register http metrics: %w", err)
			}
		}
	}
	s.limiter = newClientLimiter(opts.IngestRate)
	s.csrf = http.NewCrossOriginProtection()
	s.inflight = semaphore.NewWeighted(opts.MaxInflightBytes)
	s.mux.HandleFunc("POST /v1/hooks", s.limited(s.handleHook, func() int64 { return int64(s.opts.MaxRecordBytes) }))
	s.mux.HandleFunc("POST /v1/events", s.limited(s.handleEvents, func() int64 { return s.opts.MaxBatchBytes }))
	s.mux.HandleFunc("/v1/hooks", s.methodNotAllowed)
	s.mux.HandleFunc("/v1/events", s.methodNotAllowed)
	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			EnableOpenMetrics: true,
			ErrorLog:          slogAdapter{opts.Logger},
		}))
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	for pattern, h := range opts.Extra {
		s.mux.Handle(pattern, h)
	}
	return s, nil
}

// ServeHTTP applies the Host check and auth, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.hostAllowed(r.Host) {
		s.reject(ReasonHost)
		httpError(w, http.StatusForbidden, fmt.Sprintf("host %q is not allowed: the daemon answers only to its loopback names", r.Host))
		return
	}
	if !s.opts.AllowCrossSite {
		// GET, HEAD and OPTIONS pass: they change nothing.
		if err := s.csrf.Check(r); err != nil {
			s.reject(ReasonCrossSite)
			httpError(w, http.StatusForbidden, "cross-site request refused: "+err.Error())
			return
		}
	}
	if s.opts.Token != "" && r.URL.Path != "/healthz" && !s.authorized(r) {
		s.reject(ReasonAuth)
		w.Header().Set("WWW-Authenticate", `Bearer realm="claude-hooks-exporter"`)
		httpError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// reject counts a refused request under reason, one of the Reason constants.
func (s *Server) reject(reason string) {
	s.rejectedBy[reason].Inc()
}

func (s *Server) hostAllowed(host string) bool {
	if len(s.opts.AllowedHosts) == 0 {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	for _, a := range s.opts.AllowedHosts {
		if strings.EqualFold(a, h) {
			return true
		}
	}
	return false
}

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.opts.Token)) == 1
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.reject(ReasonMethod)
	w.Header().Set("Allow", http.MethodPost)
	httpError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here: use POST")
}

// limited refuses ingest beyond the per-client rate with 429, refuses
// content types a browser may send cross-site without a preflight, and holds
// the request until its body fits in MaxInflightBytes. maxBody is the
// route's cap, assumed for a body of unknown length.
func (s *Server) limited(h http.HandlerFunc, maxBody func() int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.limiter.allow(r.RemoteAddr, s.opts.Now()) {
			s.reject(ReasonRateLimited)
			w.Header().Set("Retry-After", "1")
			httpError(w, http.StatusTooManyRequests, "ingest rate limit exceeded for this client; retry later")
			return
		}
		if !s.opts.AllowCrossSite && !jsonContentType(r.Header.Get("Content-Type")) {
			s.reject(ReasonCrossSite)
			httpError(w, http.StatusForbidden, "ingest takes Content-Type: application/json (or application/x-ndjson for /v1/events); "+
				"other types could come from a web page on another site")
			return
		}
		n := r.ContentLength
		if n < 0 || n > maxBody() {
			n = maxBody() // refused by the read if it is longer
		}
		n = min(max(n, 1), s.opts.MaxInflightBytes)
		if err := s.inflight.Acquire(r.Context(), n); err != nil {
			s.reject(ReasonClientGone)
			return
		}
		defer s.inflight.Release(n)
		if s.opts.BodyReadTimeout > 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout))
		}
		h(w, r)
	}
}

// jsonContentType reports whether a Content-Type is one ingest takes: none
// of them is a type a browser may send to another origin without asking
// first (text/plain, form encodings).
func jsonContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/jsonl", "application/json-seq":
		return true
	}
	return false
}

// handleHook appends one hook payload, what a Claude Code "type": "http" hook sends.
func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	received := s.opts.Now()
	buf := hookBodies.Get().(*[]byte)
	body, err := readCapped(r.Body, r.ContentLength, int64(s.opts.MaxRecordBytes), *buf)
	defer func() {
		if cap(body) <= maxPooledBody {
			*buf = body[:0]
			hookBodies.Put(buf)
		}
	}()
	if err != nil {
		s.refuse(w, err)
		return
	}
	rec, reason, msg := s.capture(body, received)
	if reason != "" {
		s.reject(reason)
		httpError(w, http.StatusBadRequest, msg)
		return
	}
	recs := oneRecord.Get().(*[1]spool.Record)
	recs[0] = rec
	err = s.opts.Spool.Append(recs[:]...)
	recs[0] = spool.Record{} // do not pin the body while pooled
	oneRecord.Put(recs)
	if err != nil {
		s.spoolFailed(w, err)
		return
	}
	s.hooks.Inc()
	// An empty 2xx body tells Claude Code the hook succeeded and asks for nothing.
	w.WriteHeader(http.StatusNoContent)
}

// handleEvents appends a batch, one JSON document a line. One bad line
// refuses the whole request, naming the line. A spool failure part way
// through a batch of more than appendChunkBytes answers 503 with the number
// of lines already appended.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	received := s.opts.Now()
	body, err := readCapped(r.Body, r.ContentLength, s.opts.MaxBatchBytes, nil)
	if err != nil {
		s.refuse(w, err)
		return
	}
	// Records alias body (no copy), so lines are cut from it directly.
	var recs []spool.Record
	line := 0
	for rest := body; len(rest) > 0; {
		var b []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			b, rest = rest[:i], rest[i+1:]
		} else {
			b, rest = rest, nil
		}
		line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		if len(b) > s.opts.MaxRecordBytes {
			s.reject(ReasonTooLarge)
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("line %d: payload of %d bytes exceeds the %d byte limit", line, len(b), s.opts.MaxRecordBytes))
			return
		}
		rec, reason, msg := s.capture(b, received)
		if reason != "" {
			s.reject(reason)
			httpError(w, http.StatusBadRequest, fmt.Sprintf("line %d: %s", line, msg))
			return
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		s.reject(ReasonEmpty)
		httpError(w, http.StatusBadRequest, "empty batch: send one JSON document a line")
		return
	}
	// Appended in parts of at most appendChunkBytes: the spool's encoding
	// of a part, not of the whole batch, is held beside the body.
	done := 0
	for done < len(recs) {
		end, size := done, 0
		for end < len(recs) && (end == done || size+len(recs[end].Payload) <= appendChunkBytes) {
			size += len(recs[end].Payload)
			end++
		}
		if err := s.opts.Spool.Append(recs[done:end]...); err != nil {
			if done == 0 {
				s.spoolFailed(w, err)
				return
			}
			// The first lines are in the spool: say how many, so that a
			// client resends only the rest.
			s.events.Add(float64(done))
			s.reject(ReasonSpool)
			s.opts.Logger.Error("append to spool", "err", err, "accepted", done, "lines", len(recs))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"accepted\":%d,\"error\":\"the spool could not take the rest of the batch; resend the lines after the first %d\"}\n", done, done)
			return
		}
		done = end
	}
	s.events.Add(float64(len(recs)))
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"accepted\":%d}\n", len(recs))
}

func (s *Server) capture(body []byte, received time.Time) (spool.Record, string, string) {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return spool.Record{}, ReasonEmpty, "empty payload: send the hook's JSON object"
	case len(body) > s.opts.MaxRecordBytes:
		return spool.Record{}, ReasonTooLarge, fmt.Sprintf("payload exceeds the %d byte limit", s.opts.MaxRecordBytes)
	}
	// The event decoder validates the JSON in one fast pass, so the spool can
	// skip its own compaction for payloads already on one line.
	if _, err := hookevent.Decode(trimmed); err != nil {
		switch {
		case errors.Is(err, hookevent.ErrNotObject):
			return spool.Record{}, ReasonInvalidJSON, "payload is not a JSON object"
		case errors.Is(err, hookevent.ErrNoEventName):
			return spool.Record{}, ReasonInvalidJSON, "payload has no hook_event_name: send a Claude Code hook payload"
		default:
			return spool.Record{}, ReasonInvalidJSON, "payload is not valid JSON"
		}
	}
	return spool.CaptureValid(trimmed, received, "http", s.opts.MaxRecordBytes), "", ""
}

var errTooLarge = errors.New("request body too large")

func (s *Server) refuse(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		s.reject(ReasonTooLarge)
		httpError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	httpError(w, http.StatusBadRequest, "read request body: "+err.Error())
}

func (s *Server) spoolFailed(w http.ResponseWriter, err error) {
	s.reject(ReasonSpool)
	s.opts.Logger.Error("append to spool", "err", err)
	httpError(w, http.StatusServiceUnavailable, "the spool could not take the event; retry later")
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			httpError(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ready\n")
}

// readCapped reads the whole body, or fails with errTooLarge past limit bytes.
// size is the declared length (-1 when unknown): a body of known size is read
// into a buffer of that size, without growing and copying it.
// It reads into buf when buf has the room the size asks for.
func readCapped(r io.Reader, size, limit int64, buf []byte) ([]byte, error) {
	if size > limit {
		return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, limit)
	}
	capacity := int64(512)
	if size >= 0 {
		// The whole declared size: growing by doubling would hold up to
		// twice the body while copying. What a request may hold is bounded
		// by Options.MaxInflightBytes before it gets here.
		capacity = size + 1 // +1: room to read the end of the body
	}
	b := buf[:0]
	if int64(cap(b)) < capacity {
		b = make([]byte, 0, capacity)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(int64(cap(b)), limit+1)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, limit)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Write(append(b, '\n'))
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Println(v ...any) { a.l.Error("serve metrics", "err", fmt.Sprint(v...)) }
