package app

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/sync/errgroup"

	"github.com/claudehooks/claude-hooks-exporter/internal/api"
	"github.com/claudehooks/claude-hooks-exporter/internal/live"
	"github.com/claudehooks/claude-hooks-exporter/internal/pipeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/pricing"
	"github.com/claudehooks/claude-hooks-exporter/internal/server"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/tail"
	"github.com/claudehooks/claude-hooks-exporter/internal/tracing"
	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

// serveConfig is everything serve's flags set.
type serveConfig struct {
	listen          string
	tokenFile       string
	webConfigFile   string
	ingestRate      float64
	stateDir        string
	spoolDir        string
	logLevel        string
	logFormat       string
	maxRecordBytes  int
	checkpointEvery time.Duration
	pollInterval    time.Duration
	legacyDir       string
	legacyInterval  time.Duration

	idleTimeout     time.Duration
	maxSessions     int
	maxOpenCalls    int
	maxMCPTools     int
	captureContent  bool
	contentMaxBytes int

	otlpEndpoint string
	otlpProtocol string
	otlpInsecure bool
	otlpHeaders  string

	transcripts    bool
	pprof          bool
	transcriptDirs string
	pricesFile     string

	storePath       string
	storeMaxAge     time.Duration
	storeMaxBytes   int64
	storePayloadMax int
	storeCommit     time.Duration

	web *webLimits
}

func serveFlags(env func(string) string) (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	state := stateDir(env)
	fs.String("config.file", "", "YAML file whose keys are flag names (web.listen-address: ...); flags on the command line win")
	fs.StringVar(&c.listen, "web.listen-address", "127.0.0.1:9469", "address to serve ingest, /metrics and the API on; beyond loopback it needs --web.auth-token-file")
	fs.StringVar(&c.tokenFile, "web.auth-token-file", "", "file holding the bearer token every request must carry (required beyond loopback)")
	fs.StringVar(&c.webConfigFile, "web.config.file", "", "exporter-toolkit web config (TLS, basic auth); counts as credentials for listening beyond loopback")
	fs.Float64Var(&c.ingestRate, "web.ingest-rate-limit", 1000, "ingest requests per second allowed per non-loopback client (burst twice that); 0 = unlimited. Loopback clients are not limited")
	fs.StringVar(&c.stateDir, "state.dir", state, "directory for the checkpoint (and, by default, the spool)")
	fs.StringVar(&c.spoolDir, "spool.dir", "", "spool directory the hooks append to (default <state.dir>/spool)")
	fs.IntVar(&c.maxRecordBytes, "spool.max-record-bytes", spool.DefaultMaxRecordBytes, "largest hook payload kept whole; larger ones are preserved capped and counted as rejected")
	fs.DurationVar(&c.checkpointEvery, "checkpoint.interval", time.Second, "longest time between checkpoints while events flow")
	fs.DurationVar(&c.pollInterval, "spool.poll-interval", time.Second, "periodic spool scan in addition to file-system notifications")
	fs.StringVar(&c.logLevel, "log.level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log.format", "logfmt", "log format: logfmt or json")
	fs.StringVar(&c.legacyDir, "legacy.raw-json-dir", "", "also watch the seed notifier's raw_json directory and import new files into the spool")
	fs.DurationVar(&c.legacyInterval, "legacy.scan-interval", 2*time.Second, "how often the legacy raw_json directory is scanned")
	fs.DurationVar(&c.idleTimeout, "session.idle-timeout", 30*time.Minute, "sessions with no event for this long are closed as expired")
	fs.IntVar(&c.maxSessions, "session.max-open", 1000, "cap on open sessions; the least recently active beyond it are expired and counted")
	fs.IntVar(&c.maxOpenCalls, "session.max-open-calls", 256, "cap on open tool calls and waits per session; overflow is counted")
	fs.IntVar(&c.maxMCPTools, "metrics.max-mcp-tools", 50, "distinct MCP tools that get their own tool label; the rest are labelled other")
	fs.BoolVar(&c.captureContent, "traces.capture-content", false, "put prompts, commands and tool output on spans (capped and redacted); off: only their sizes")
	fs.IntVar(&c.contentMaxBytes, "traces.content-max-bytes", 2048, "cap on each captured content attribute")
	fs.StringVar(&c.otlpEndpoint, "otlp.endpoint", "", "OTLP traces endpoint (default from OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT; none = no trace export)")
	fs.StringVar(&c.otlpProtocol, "otlp.protocol", "", "OTLP protocol: grpc or http/protobuf (default from OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL, else http/protobuf)")
	fs.BoolVar(&c.otlpInsecure, "otlp.insecure", false, "use plain-text OTLP (default from OTEL_EXPORTER_OTLP_INSECURE)")
	fs.BoolVar(&c.pprof, "web.enable-pprof", false, "serve Go profiling endpoints under /debug/pprof/ (behind the same auth)")
	fs.BoolVar(&c.transcripts, "transcripts.enabled", true, "follow the transcripts hook events name, for tokens, cost and models per session")
	fs.StringVar(&c.transcriptDirs, "transcripts.allowed-dirs", filepath.Join(env("HOME"), ".claude", "projects"), "comma-separated directories transcripts may be read from (hook payloads name the files)")
	fs.StringVar(&c.pricesFile, "prices.file", "", "price table (YAML, the format of deploy/prices.yaml) replacing the built-in one")
	fs.StringVar(&c.storePath, "store.path", "\x00default", "SQLite event store for history, search and stream resume (default <state.dir>/events.db; \"\" disables it: metrics and traces still work)")
	fs.DurationVar(&c.storeMaxAge, "store.retention.time", 30*24*time.Hour, "events older than this are deleted from the store")
	fs.Int64Var(&c.storeMaxBytes, "store.retention.size", 2<<30, "the store is kept under this many bytes; the oldest events go first")
	fs.IntVar(&c.storePayloadMax, "store.payload-max-bytes", 64<<10, "payload bytes kept per stored event (the full payload stays in the spool)")
	fs.DurationVar(&c.storeCommit, "store.commit-delay", store.DefaultCommitDelay, "how long stored events gather before one transaction commits them (the live stream does not wait; a query has what is queued committed first; 0 commits at once)")
	c.web = webLimitFlags(fs)
	fs.StringVar(&c.otlpHeaders, "otlp.headers", "", "extra OTLP headers as key=value,key=value (default from OTEL_EXPORTER_OTLP_[TRACES_]HEADERS)")
	return fs, c
}

// parseHeaders reads key=value,key=value.
func parseHeaders(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	h := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--otlp.headers: %q is not key=value", kv)
		}
		h[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return h, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log.level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "logfmt", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log.format %q: want logfmt or json", format)
	}
}

// isLoopback reports whether a listen address binds loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read --web.auth-token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--web.auth-token-file %s is empty", path)
	}
	return tok, nil
}

func runServe(ctx context.Context, args []string, env func(string) string, stderr io.Writer) error {
	fs, c := serveFlags(env)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	logger, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	if c.spoolDir == "" {
		c.spoolDir = filepath.Join(c.stateDir, "spool")
	}
	if c.storePath == "\x00default" {
		c.storePath = filepath.Join(c.stateDir, "events.db")
	}
	token, err := readToken(c.tokenFile)
	if err != nil {
		return err
	}
	loopback := isLoopback(c.listen)
	if !loopback && token == "" && c.webConfigFile == "" {
		return fmt.Errorf("refusing to listen on %s beyond loopback without --web.auth-token-file or --web.config.file: the daemon sees prompts and commands", c.listen)
	}
	if err := os.MkdirAll(c.stateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	if err := os.MkdirAll(c.spoolDir, 0o700); err != nil {
		return fmt.Errorf("create spool dir: %w", err)
	}
	if err := spool.EnsureFailuresFile(c.spoolDir); err != nil {
		logger.Warn("hook failures will not be counted", "err", err)
	}

	prices := pricing.Default()
	if c.pricesFile != "" {
		if prices, err = pricing.Load(c.pricesFile); err != nil {
			return fmt.Errorf("--prices.file: %w", err)
		}
	}
	var follower *transcript.Follower
	if c.transcripts {
		var dirs []string
		for _, d := range strings.Split(c.transcriptDirs, ",") {
			if d = strings.TrimSpace(d); d != "" {
				dirs = append(dirs, d)
			}
		}
		follower = transcript.NewFollower(transcript.Options{AllowedDirs: dirs, Logger: logger})
	}
	trackerOpts := session.Options{
		Prices:          prices,
		IdleTimeout:     c.idleTimeout,
		MaxSessions:     c.maxSessions,
		MaxOpenCalls:    c.maxOpenCalls,
		MaxMCPTools:     c.maxMCPTools,
		CaptureContent:  c.captureContent,
		ContentMaxBytes: c.contentMaxBytes,
	}
	tracker := session.New(trackerOpts)
	headers, err := parseHeaders(c.otlpHeaders)
	if err != nil {
		return err
	}
	traces, err := tracing.New(ctx, tracing.Options{
		Headers:  headers,
		Env:      env,
		Endpoint: c.otlpEndpoint,
		Protocol: c.otlpProtocol,
		Insecure: c.otlpInsecure,
		Version:  Version,
		Logger:   logger,
	})
	if err != nil {
		return fmt.Errorf("set up trace export: %w", err)
	}
	var sinks []pipeline.Sink
	if traces.Enabled() {
		sinks = append(sinks, traceSink{traces})
	}
	var st *store.Store
	if c.storePath != "" {
		st, err = store.Open(ctx, store.Options{
			Path:            c.storePath,
			PayloadMaxBytes: c.storePayloadMax,
			CommitDelay:     cmp.Or(c.storeCommit, -1),
			MaxAge:          c.storeMaxAge,
			MaxBytes:        c.storeMaxBytes,
			CaptureContent:  c.captureContent,
			Logger:          logger,
		})
		if err != nil {
			return fmt.Errorf("open event store: %w", err)
		}
		defer st.Close()
	}
	brokerOpts := live.Options{Logger: logger, AssignSeq: st == nil}
	if st != nil {
		brokerOpts.Replay = st.EventsAfter
		brokerOpts.WaitStored = st.WaitSeq
		if brokerOpts.StartSeq, err = st.MaxSeq(ctx); err != nil {
			return fmt.Errorf("read event store: %w", err)
		}
	}
	broker := live.New(brokerOpts)
	defer broker.Close()
	sinks = append(sinks, &historySink{store: st, broker: broker, payloadMax: c.storePayloadMax, capture: c.captureContent})
	pl, err := pipeline.New(pipeline.Options{
		Tracker:            tracker,
		Transcripts:        follower,
		Sinks:              sinks,
		CheckpointPath:     filepath.Join(c.stateDir, "checkpoint.json"),
		CheckpointInterval: c.checkpointEvery,
		Logger:             logger,
	})
	if err != nil {
		return err
	}
	positions, err := pl.Restore()
	if err != nil {
		return fmt.Errorf("restore checkpoint (move it away to start afresh): %w", err)
	}
	tailer, err := tail.New(tail.Options{
		Dir:          c.spoolDir,
		Match:        spool.IsSpoolFile,
		Start:        positions,
		PollInterval: c.pollInterval,
		Logger:       logger,
	})
	if err != nil {
		return fmt.Errorf("follow spool: %w", err)
	}
	defer tailer.Close()

	writer, err := spool.OpenWriter(spool.Options{Dir: c.spoolDir, MaxRecordBytes: c.maxRecordBytes})
	if err != nil {
		return fmt.Errorf("open spool for HTTP ingest: %w", err)
	}
	defer writer.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	cols, err := newCollectors(tracker, pl, traces, st, broker, c.spoolDir)
	if err != nil {
		return err
	}
	for _, col := range cols {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	var allowed []string
	if loopback {
		allowed = []string{"localhost", "127.0.0.1", "::1"}
	}
	extra := map[string]http.Handler{}
	if c.pprof {
		extra["/debug/pprof/"] = http.HandlerFunc(pprof.Index)
		extra["/debug/pprof/profile"] = http.HandlerFunc(pprof.Profile)
		extra["/debug/pprof/symbol"] = http.HandlerFunc(pprof.Symbol)
		extra["/debug/pprof/trace"] = http.HandlerFunc(pprof.Trace)
	}
	apiHandler := api.New(api.Options{Store: st, Status: statusFunc(time.Now(), pl, st, broker), Logger: logger})
	extra["/api/v1/"] = apiHandler
	extra["GET /api/v1/stream"] = broker
	srv, err := server.New(server.Options{
		Spool:            writer,
		Gatherer:         reg,
		Token:            token,
		MaxRecordBytes:   c.maxRecordBytes,
		AllowedHosts:     allowed,
		IngestRate:       c.ingestRate,
		AllowCrossSite:   c.web.allowCrossSite,
		MaxInflightBytes: c.web.maxInflightBytes,
		BodyReadTimeout:  c.web.readTimeout,
		Ready:            readiness(c.spoolDir, pl, 3*c.checkpointEvery+10*time.Second, st),
		Logger:           logger,
		Extra:            extra,
	}, reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: c.web.readTimeout, IdleTimeout: c.web.idleTimeout}
	logger.Info("serving", "address", ln.Addr().String(), "spool_dir", c.spoolDir, "state_dir", c.stateDir, "traces", traces.Enabled(), "version", Version)

	// Inputs (HTTP, legacy watcher) stop first; the pipeline drains what reached
	// the spool and writes its last checkpoint; then the trace sink flushes.
	inputs, inputsCtx := errgroup.WithContext(ctx)
	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipe()
	pipeDone := make(chan error, 1)
	go func() { pipeDone <- pl.Run(pipeCtx, tailer) }()

	inputs.Go(func() error {
		err := web.Serve(ln, httpSrv, &web.FlagConfig{WebConfigFile: &c.webConfigFile}, logger)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve http: %w", err)
	})
	if st != nil {
		inputs.Go(func() error { return st.RunRetention(inputsCtx, time.Minute) })
		if st.NeedsRebuild() {
			rb := &storeRebuild{store: st, spoolDir: c.spoolDir, tracker: trackerOpts, payloadMax: c.storePayloadMax, capture: c.captureContent, logger: logger}
			inputs.Go(func() error {
				// The store is optional: a failed rebuild is reported, the daemon goes on.
				if err := ignoreCanceled(rb.run(inputsCtx)); err != nil {
					logger.Error("event store: rebuild failed; it is tried again at the next start", "err", err)
				}
				return nil
			})
		}
	}
	inputs.Go(func() error {
		<-inputsCtx.Done()
		broker.Close() // end the streams so Shutdown does not wait for them
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return httpSrv.Shutdown(shutCtx)
	})
	if c.legacyDir != "" {
		inputs.Go(func() error {
			return watchLegacy(inputsCtx, &legacyWatcher{dir: c.legacyDir, markPath: filepath.Join(c.stateDir, "legacy-import.json"),
				spoolDir: c.spoolDir, w: writer, maxBytes: c.maxRecordBytes, logger: logger}, c.legacyInterval)
		})
	}
	var pipeErr error
	select {
	case pipeErr = <-pipeDone:
		// The pipeline stopped on its own: an error. Stop the inputs too.
		stopPipe()
	case <-inputsCtx.Done():
	}
	inputErr := inputs.Wait()
	if pipeErr == nil {
		stopPipe()
		pipeErr = <-pipeDone
	}
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	traceErr := traces.Shutdown(flushCtx)
	if inputErr != nil && ctx.Err() != nil && errors.Is(inputErr, context.Canceled) {
		inputErr = nil
	}
	logger.Info("stopped")
	return errors.Join(pipeErr, inputErr, traceErr)
}

// hookFailureRecent is how long after a hook's failed append /readyz says so.
const hookFailureRecent = time.Minute

// ignoreCanceled drops the error of work cut short by shutdown.
func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// traceSink adapts the tracing sink to the pipeline.
type traceSink struct{ s *tracing.Sink }

func (t traceSink) Consume(ctx context.Context, b *pipeline.Batch) error {
	if len(b.Spans) == 0 {
		return nil
	}
	return t.s.Export(ctx, b.Spans)
}

// readiness reports ready when the spool dir is readable and the checkpoint is
// not older than stale while the daemon has work.
func readiness(spoolDir string, pl *pipeline.Pipeline, stale time.Duration, st *store.Store) func() error {
	return func() error {
		if _, err := os.ReadDir(spoolDir); err != nil {
			return fmt.Errorf("spool dir unreadable: %w", err)
		}
		if n, last, err := spool.ReadFailures(spoolDir); err == nil && n > 0 && time.Since(last) < hookFailureRecent {
			return fmt.Errorf("hooks failed to append to the spool (%d so far, the last at %s): is its disk full or unwritable?", n, last.UTC().Format(time.RFC3339))
		}
		if st != nil {
			if err := st.Health(); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		var err error
		pl.Snapshot(func(s pipeline.Stats) {
			if s.Backlog > 0 && !s.LastCheckpoint.IsZero() && time.Since(s.LastCheckpoint) > stale {
				err = fmt.Errorf("checkpoint is %s old with %d bytes of backlog", time.Since(s.LastCheckpoint).Round(time.Second), s.Backlog)
			}
		})
		return err
	}
}
