package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/sync/errgroup"

	"github.com/claudehooks/claude-hooks-exporter/internal/api"
	"github.com/claudehooks/claude-hooks-exporter/internal/checkpoint"
	"github.com/claudehooks/claude-hooks-exporter/internal/legacy"
	"github.com/claudehooks/claude-hooks-exporter/internal/live"
	"github.com/claudehooks/claude-hooks-exporter/internal/metrics"
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

// shutdownTimeout bounds each step of the shutdown that waits on others:
// HTTP connections closing and the trace exporter's last flush.
const shutdownTimeout = 5 * time.Second

// daemon is every part of a running serve, built by newDaemon and run by
// run. Its fields are what run starts and what close releases.
type daemon struct {
	cfg    *serveConfig
	logger *slog.Logger

	lock     *checkpoint.Lock
	traces   *tracing.Sink
	store    *store.Store // nil when the store is off
	broker   *live.Broker
	pipeline *pipeline.Pipeline
	tailer   *tail.Tailer
	writer   *spool.Writer
	legacy   *legacy.Watcher // nil without --legacy.raw-json-dir
	listener net.Listener
	http     *http.Server
	// trackerOpts configure the tracker; a store rebuild runs one of its own.
	trackerOpts session.Options

	closers []func() error // in the order they were opened
	ran     bool           // run started: it shuts the trace sink down itself
}

func runServe(ctx context.Context, cfg *serveConfig, env func(string) string, logger *slog.Logger) error {
	d, err := newDaemon(ctx, cfg, env, logger)
	if err != nil {
		return err
	}
	defer d.close()
	return d.run(ctx)
}

// newDaemon builds the daemon from its configuration: it takes the state
// directory's lock, opens the store, restores the checkpoint, opens the
// spool and binds the listen address, but starts nothing. On error it
// releases what it had opened.
func newDaemon(ctx context.Context, c *serveConfig, env func(string) string, logger *slog.Logger) (_ *daemon, err error) {
	d := &daemon{cfg: c, logger: logger}
	if c.memoryLimit > 0 && env("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(c.memoryLimit))
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	token, err := readToken(c.tokenFile)
	if err != nil {
		return nil, err
	}
	loopback := isLoopback(c.listen)
	if !loopback && token == "" && c.webConfigFile == "" {
		return nil, fmt.Errorf("refusing to listen on %s beyond loopback without --web.auth-token-file or --web.config.file: the daemon sees prompts and commands", c.listen)
	}
	if err := os.MkdirAll(c.stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	if d.lock, err = checkpoint.LockDir(c.stateDir); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.lock.Unlock)
	if err := os.MkdirAll(c.spoolDir.v, 0o700); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	if err := spool.EnsureFailuresFile(c.spoolDir.v); err != nil {
		logger.Warn("hook failures will not be counted", "err", err)
	}

	prices := pricing.Default()
	if c.pricesFile != "" {
		if prices, err = pricing.Load(c.pricesFile); err != nil {
			return nil, fmt.Errorf("--prices.file: %w", err)
		}
	}
	var follower *transcript.Follower
	if c.transcripts {
		follower = transcript.NewFollower(transcript.Options{AllowedDirs: strings.Split(c.transcriptDirs, ","), Logger: logger})
	}
	d.trackerOpts = session.Options{
		Prices:          prices,
		IdleTimeout:     c.idleTimeout,
		MaxSessions:     c.maxSessions,
		MaxOpenCalls:    c.maxOpenCalls,
		MaxMCPTools:     c.maxMCPTools,
		CaptureContent:  c.captureContent,
		ContentMaxBytes: int(c.contentMaxBytes),
	}
	tracker := session.New(d.trackerOpts)
	headers, err := tracing.ParseHeaders(c.otlpHeaders)
	if err != nil {
		return nil, fmt.Errorf("--otlp.headers: %w", err)
	}
	d.traces, err = tracing.New(ctx, tracing.Options{
		Headers:  headers,
		Env:      env,
		Endpoint: c.otlpEndpoint,
		Protocol: c.otlpProtocol,
		Insecure: c.otlpInsecure,
		Version:  Version,
		Logger:   logger,
	})
	if err != nil {
		return nil, fmt.Errorf("set up trace export: %w", err)
	}
	d.closers = append(d.closers, func() error {
		if d.ran {
			return nil // run flushed and shut it down in its place in the order
		}
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return d.traces.Shutdown(ctx)
	})
	var sinks []pipeline.Sink
	if d.traces.Enabled() {
		sinks = append(sinks, traceSink{d.traces})
	}
	if c.storePath.v != "" {
		d.store, err = store.Open(ctx, store.Options{
			Path:            c.storePath.v,
			PayloadMaxBytes: int(c.storePayloadMax),
			CommitDelay:     cmp.Or(c.storeCommit, -1),
			MaxAge:          c.storeMaxAge,
			MaxBytes:        int64(c.storeMaxBytes),
			CaptureContent:  c.captureContent,
			Logger:          logger,
		})
		if err != nil {
			return nil, fmt.Errorf("open event store: %w", err)
		}
		d.closers = append(d.closers, d.store.Close)
	}
	brokerOpts := live.Options{Logger: logger, AssignSeq: d.store == nil}
	if d.store != nil {
		brokerOpts.Replay = d.store.EventsAfter
		brokerOpts.WaitStored = d.store.WaitSeq
		if brokerOpts.StartSeq, err = d.store.MaxSeq(ctx); err != nil {
			return nil, fmt.Errorf("read event store: %w", err)
		}
	}
	d.broker = live.New(brokerOpts)
	d.closers = append(d.closers, func() error { d.broker.Close(); return nil })
	sinks = append(sinks, &historySink{store: d.store, broker: d.broker, payloadMax: int(c.storePayloadMax), capture: c.captureContent})
	d.pipeline, err = pipeline.New(pipeline.Options{
		Tracker:            tracker,
		Transcripts:        follower,
		Sinks:              sinks,
		CheckpointPath:     filepath.Join(c.stateDir, "checkpoint.json"),
		CheckpointInterval: c.checkpointEvery,
		Logger:             logger,
	})
	if err != nil {
		return nil, err
	}
	positions, err := d.pipeline.Restore()
	if err != nil {
		return nil, fmt.Errorf("restore checkpoint (move it away to start afresh): %w", err)
	}
	d.tailer, err = tail.New(tail.Options{
		Dir:          c.spoolDir.v,
		Match:        spool.IsSpoolFile,
		Start:        positions,
		PollInterval: c.pollInterval,
		Logger:       logger,
	})
	if err != nil {
		return nil, fmt.Errorf("follow spool: %w", err)
	}
	d.closers = append(d.closers, d.tailer.Close)
	d.writer, err = spool.OpenWriter(spool.Options{Dir: c.spoolDir.v, MaxRecordBytes: int(c.maxRecordBytes)})
	if err != nil {
		return nil, fmt.Errorf("open spool for HTTP ingest: %w", err)
	}
	d.closers = append(d.closers, d.writer.Close)
	if c.legacyDir != "" {
		d.legacy, err = legacy.NewWatcher(legacy.WatcherOptions{
			Dir:            c.legacyDir,
			MarkPath:       filepath.Join(c.stateDir, "legacy-import.json"),
			SpoolDir:       c.spoolDir.v,
			Spool:          d.writer,
			MaxRecordBytes: int(c.maxRecordBytes),
			Interval:       c.legacyInterval,
			Logger:         logger,
		})
		if err != nil {
			return nil, err
		}
	}

	handler, err := d.handler(tracker, token, loopback)
	if err != nil {
		return nil, err
	}
	d.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: c.web.readTimeout, IdleTimeout: c.web.idleTimeout}
	if d.listener, err = net.Listen("tcp", c.listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	d.closers = append(d.closers, func() error {
		if err := d.listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return d, nil
}

// handler builds the registry and the HTTP handler: ingest, /metrics, the
// API, the live stream and, when enabled, pprof.
func (d *daemon) handler(tracker *session.Tracker, token string, loopback bool) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	col, err := metrics.New(metrics.Options{
		Tracker:       tracker,
		Ingest:        ingestSnapshot(d.pipeline),
		RejectReasons: pipeline.RejectReasons,
		Version:       Version,
		Revision:      revision(),
	})
	if err != nil {
		return nil, err
	}
	rt := metrics.RuntimeOptions{Spans: d.traces, Stream: d.broker}
	if d.store != nil {
		rt.Store = d.store
	}
	rt.UTF8Replaced = func() (n uint64) {
		d.pipeline.Snapshot(func(s pipeline.Stats) { n = s.InvalidUTF8 })
		return n
	}
	rt.HookFailures = func() (uint64, error) {
		n, _, err := spool.ReadFailures(d.cfg.spoolDir.v)
		return n, err
	}
	for _, c := range []prometheus.Collector{col, metrics.NewRuntime(rt)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	var allowed []string
	if loopback {
		allowed = []string{"localhost", "127.0.0.1", "::1"}
	}
	apiOpts := api.Options{Status: statusFunc(time.Now(), d.pipeline, d.store, d.broker), Logger: d.logger}
	if d.store != nil {
		// A nil *store.Store must not become a non-nil History or RateCounter.
		apiOpts.Store, apiOpts.Rates = d.store, d.store
	}
	extra := map[string]http.Handler{
		"/api/v1/":           api.New(apiOpts),
		"GET /api/v1/stream": d.broker,
	}
	if d.cfg.pprof {
		extra["/debug/pprof/"] = http.HandlerFunc(pprof.Index)
		extra["/debug/pprof/profile"] = http.HandlerFunc(pprof.Profile)
		extra["/debug/pprof/symbol"] = http.HandlerFunc(pprof.Symbol)
		extra["/debug/pprof/trace"] = http.HandlerFunc(pprof.Trace)
	}
	return server.New(server.Options{
		Spool:            d.writer,
		Gatherer:         reg,
		Token:            token,
		MaxRecordBytes:   int(d.cfg.maxRecordBytes),
		AllowedHosts:     allowed,
		IngestRate:       d.cfg.ingestRate,
		AllowCrossSite:   d.cfg.web.allowCrossSite,
		MaxInflightBytes: int64(d.cfg.web.maxInflightBytes),
		BodyReadTimeout:  d.cfg.web.readTimeout,
		Ready:            readiness(d.cfg.spoolDir.v, d.pipeline, 3*d.cfg.checkpointEvery+10*time.Second, d.store),
		Logger:           d.logger,
		Extra:            extra,
	}, reg)
}

// run runs the daemon until ctx ends or a part fails, then shuts it down in
// order: the inputs (HTTP, retention, legacy watcher) stop first; the
// pipeline drains what reached the spool and writes its last checkpoint;
// then the trace sink flushes. Every goroutine is owned by one of two
// errgroups, and run returns only after both have been waited for.
func (d *daemon) run(ctx context.Context) error {
	d.ran = true
	d.logger.Info("serving", "address", d.listener.Addr().String(), "spool_dir", d.cfg.spoolDir.v, "state_dir", d.cfg.stateDir, "traces", d.traces.Enabled(), "version", Version)

	inputs, inputsCtx := errgroup.WithContext(ctx)
	// The pipeline outlives the inputs: it stops only once they have.
	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipe()
	var pipe errgroup.Group
	pipeFailed := make(chan struct{})
	pipe.Go(func() error {
		err := d.pipeline.Run(pipeCtx, d.tailer)
		if pipeCtx.Err() == nil {
			close(pipeFailed) // stopped on its own: an error
		}
		return err
	})

	inputs.Go(func() error {
		err := web.Serve(d.listener, d.http, &web.FlagConfig{WebConfigFile: &d.cfg.webConfigFile}, d.logger)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve http: %w", err)
	})
	inputs.Go(func() error {
		select {
		case <-inputsCtx.Done():
		case <-pipeFailed:
		}
		d.broker.Close() // end the streams so Shutdown does not wait for them
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := d.http.Shutdown(shutCtx); err != nil {
			return fmt.Errorf("shut down http: %w", err)
		}
		return nil
	})
	stopOnFailure := func(ctx context.Context) context.Context {
		ctx, cancel := context.WithCancel(ctx)
		inputs.Go(func() error {
			defer cancel()
			select {
			case <-ctx.Done():
			case <-pipeFailed:
			}
			return nil
		})
		return ctx
	}
	workCtx := stopOnFailure(inputsCtx)
	if d.store != nil {
		inputs.Go(func() error { return d.store.RunRetention(workCtx, time.Minute) })
		if d.store.NeedsRebuild() {
			rb := &storeRebuild{store: d.store, spoolDir: d.cfg.spoolDir.v, tracker: d.trackerOpts,
				payloadMax: int(d.cfg.storePayloadMax), capture: d.cfg.captureContent, logger: d.logger}
			inputs.Go(func() error {
				// The store is optional: a failed rebuild is reported, the daemon goes on.
				if err := ignoreCanceled(rb.run(workCtx)); err != nil {
					d.logger.Error("event store: rebuild failed; it is tried again at the next start", "err", err)
				}
				return nil
			})
		}
	}
	if d.legacy != nil {
		inputs.Go(func() error { return d.legacy.Run(workCtx) })
	}

	inputErr := inputs.Wait()
	stopPipe()
	pipeErr := pipe.Wait()
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	traceErr := d.traces.Shutdown(flushCtx)
	if errors.Is(inputErr, context.Canceled) && ctx.Err() != nil {
		inputErr = nil
	}
	if errors.Is(pipeErr, context.Canceled) {
		pipeErr = nil
	}
	d.logger.Info("stopped")
	return errors.Join(pipeErr, inputErr, traceErr)
}

// close releases what newDaemon opened, in reverse order.
func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](); err != nil {
			d.logger.Warn("close", "err", err)
		}
	}
	d.closers = nil
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

// traceSink adapts the tracing sink to the pipeline.
type traceSink struct{ s *tracing.Sink }

func (t traceSink) Consume(ctx context.Context, b *pipeline.Batch) error {
	if len(b.Spans) == 0 {
		return nil
	}
	return t.s.Export(ctx, b.Spans)
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

// readiness reports ready when the spool dir is readable, the store (when
// there is one) commits, and the checkpoint is not older than stale while the
// daemon has work.
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

// defaultMemoryLimit is --runtime.memory-limit's default: a soft limit, so
// the heap may pass it when it must, but garbage does not pile up to twice
// the live data under bursts (20 concurrent 60 MB batches peaked at 349 MiB
// RSS without it; 232 MiB with it; docs/reliability.md).
const defaultMemoryLimit = 192 << 20
