package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
)

// Defaults of Options.
const (
	DefaultPayloadMaxBytes = eventview.DefaultPayloadMaxBytes
	DefaultMaxAge          = 30 * 24 * time.Hour
	DefaultMaxBytes        = 2 << 30
)

// readConns is how many connections serve queries concurrently with the writer.
const readConns = 4

// Options configures a Store. Zero values take the defaults.
type Options struct {
	// Path is the database file; its directory is created when missing. The
	// file, its -wal and -shm are created 0600.
	Path string
	// PayloadMaxBytes caps the stored payload (default 64 KiB); a longer one is
	// cut and flagged Truncated. The full payload stays in the spool.
	PayloadMaxBytes int
	// MaxAge removes events older than this, by event time (default 30 days;
	// negative: no age limit).
	MaxAge time.Duration
	// MaxBytes caps the database and its write-ahead log together (default
	// 2 GiB; negative: no size limit). Inserts that cross it remove the oldest
	// events until the files are under it again.
	MaxBytes int64
	// CaptureContent allows prompts in the store. Off, Insert drops any prompt
	// that reaches it (from the summary and the payload), whatever built the event.
	CaptureContent bool
	// CommitDelay is how long the writer lets batches handed to Enqueue gather
	// before it commits them in one transaction (default DefaultCommitDelay;
	// negative: commit at once). A longer delay costs less CPU per event and
	// makes the queries see events later; the live stream does not wait for it.
	CommitDelay time.Duration
	// SkipCheck skips the quick check Open runs over every page (a corrupt
	// database is moved aside and the store asks for a rebuild).
	SkipCheck bool
	// Now is the clock of the age retention (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.PayloadMaxBytes == 0 {
		o.PayloadMaxBytes = DefaultPayloadMaxBytes
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.CommitDelay == 0 {
		o.CommitDelay = DefaultCommitDelay
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is the event store. Insert, EnforceRetention and RunRetention write
// through one connection, one at a time; queries run concurrently with them
// on their own connections and see only committed batches.
type Store struct {
	opts Options
	path string

	// wmu serialises the writer: w and the statements prepared on it.
	wmu   sync.Mutex
	wdb   *sql.DB
	w     *sql.Conn
	stmts writeStmts
	args  insertArgs // the writer's argument lists (under wmu)
	// packIn and packArena are Enqueue's buffers for compressing payloads
	// (under q.rmu).
	packIn    [][]byte
	packArena []byte

	r *sql.DB

	events atomic.Int64 // rows in events
	maxSeq atomic.Int64 // highest seq committed (or recorded in meta.last_seq)

	// q is the group commit: Enqueue and Insert number batches and queue
	// them; the writer goroutine commits them (queue.go).
	q              queue
	commits        atomic.Int64 // transactions the writer committed
	commitFailures atomic.Int64 // commits that failed and were retried
	// sizeRuns counts size-retention passes (tests observe it).
	sizeRuns atomic.Int64

	// The checkpointer folds the write-ahead log into the database on its own
	// connection, off the insert path; Insert pokes it after each commit.
	// Index maintenance (retention.go): guarded by wmu but lastInsert.
	lastInsert             atomic.Int64 // unix ns, by opts.Now
	merging                bool
	sinceMerge, mergeAfter int64
	mergeSteps             atomic.Int64 // tests observe it

	cdb           *sql.DB
	ckmu          sync.Mutex // held while checkpointing
	poke          chan struct{}
	stop, stopped chan struct{}
	checkpoints   atomic.Int64 // checkpoints run (tests observe it)
}

// checkpointInterval is the least time between two background checkpoints.
const checkpointInterval = 100 * time.Millisecond

// autoCheckpointPages is the log size (in pages) at which a commit
// checkpoints by itself: the fallback when the checkpointer falls behind.
const autoCheckpointPages = 8192

// Open opens the store at opts.Path, creating the database or migrating it to
// SchemaVersion.
func Open(ctx context.Context, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if opts.Path == "" {
		return nil, errors.New("open store: no path")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", opts.Path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// SQLite creates a new file with the process umask and gives the -wal and
	// -shm files the mode of the database: create it private first.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	_ = f.Close()

	return openChecked(ctx, opts, path)
}

// openOnce opens the database at path as it is.
func openOnce(ctx context.Context, opts Options, path string) (*Store, error) {
	// sinceMerge starts at the threshold: an index left in pieces by an
	// earlier run is merged at the first idle moment.
	s := &Store{opts: opts, path: path, mergeAfter: mergeAfterEvents, sinceMerge: mergeAfterEvents}
	if err := s.open(ctx); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// dsn is the driver's name for the database with the given pragmas.
func dsn(path string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: path, RawQuery: params.Encode()}
	return u.String()
}

func (s *Store) open(ctx context.Context) error {
	wp := url.Values{}
	// auto_vacuum only takes effect on a new database: it lets retention hand
	// freed pages back to the file system with incremental_vacuum.
	wp.Set("_auto_vacuum", "INCREMENTAL")
	wp.Add("_pragma", "busy_timeout(10000)")
	wp.Add("_pragma", "journal_mode(WAL)")
	// NORMAL in WAL mode: a commit survives a crash of the process (kill -9);
	// an operating system crash may lose the last commits, which the spool
	// still holds.
	wp.Add("_pragma", "synchronous(NORMAL)")
	// The WAL is reset after a checkpoint; this truncates what is left of it
	// so that its file does not keep the size of the largest batch.
	wp.Add("_pragma", "journal_size_limit(4194304)")
	wp.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", autoCheckpointPages))
	// 2 MiB: the daemon's memory target is 60 MiB, and 4 MiB cost ~3 MiB
	// more resident memory under HTTP load. Insert CPU with 2, 4 or 16 MiB
	// was within the machine's noise (0-7%) at 80,000 to 800,000 events
	// (BenchmarkEnqueue, docs/benchmarks.md).
	wp.Add("_pragma", "cache_size(-2048)")
	wp.Add("_pragma", "temp_store(MEMORY)")
	var err error
	if s.wdb, err = sql.Open("sqlite", dsn(s.path, wp)); err != nil {
		return err
	}
	s.wdb.SetMaxOpenConns(1)
	if s.w, err = s.wdb.Conn(ctx); err != nil {
		return err
	}
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	if !s.opts.SkipCheck {
		if err := s.quickCheck(ctx); err != nil {
			return err
		}
	}
	if err := migrate(ctx, s.w, s.opts.Now()); err != nil {
		return err
	}
	if err := s.prepare(ctx); err != nil {
		return err
	}

	rp := url.Values{}
	rp.Add("_pragma", "busy_timeout(10000)")
	rp.Add("_pragma", "query_only(1)")
	rp.Add("_pragma", "cache_size(-8192)")
	rp.Add("_pragma", "temp_store(MEMORY)")
	if s.r, err = sql.Open("sqlite", dsn(s.path, rp)); err != nil {
		return err
	}
	s.r.SetMaxOpenConns(readConns)
	s.r.SetMaxIdleConns(readConns)

	var n, seq int64
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	if err := s.w.QueryRowContext(ctx, `SELECT max(coalesce((SELECT value FROM meta WHERE key = 'last_seq'), 0),
		coalesce((SELECT max(seq) FROM events), 0))`).Scan(&seq); err != nil {
		return fmt.Errorf("read last seq: %w", err)
	}
	var maxTime sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT max(time) FROM events`).Scan(&maxTime); err != nil {
		return fmt.Errorf("read last event time: %w", err)
	}
	s.events.Store(n)
	s.maxSeq.Store(seq)
	s.q.init(seq, maxTime.Int64)

	cp := url.Values{}
	cp.Add("_pragma", "busy_timeout(10000)")
	cp.Add("_pragma", "cache_size(-512)") // a checkpoint copies pages; it needs no cache
	if s.cdb, err = sql.Open("sqlite", dsn(s.path, cp)); err != nil {
		return err
	}
	s.cdb.SetMaxOpenConns(1)
	s.poke, s.stop, s.stopped = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.checkpointer()
	go s.writer()
	return nil
}

// checkpointer runs a passive checkpoint (it never waits for readers or the
// writer) after commits, at most every checkpointInterval, until Close.
func (s *Store) checkpointer() {
	defer close(s.stopped)
	ctx := context.Background()
	for {
		select {
		case <-s.stop:
			return
		case <-s.poke:
		}
		s.ckmu.Lock()
		if _, err := s.cdb.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			s.opts.Logger.Debug("store checkpoint", "err", err)
		}
		s.ckmu.Unlock()
		s.checkpoints.Add(1)
		t := time.NewTimer(checkpointInterval)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// pokeCheckpointer asks for a checkpoint without waiting.
func (s *Store) pokeCheckpointer() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Close closes the store; a clean close folds the write-ahead log into the
// database file.
func (s *Store) Close() error {
	s.stopWriter()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w != nil {
		// Keeps the query planner's statistics current; cheap when nothing changed.
		if _, err := s.w.ExecContext(context.Background(), "PRAGMA optimize"); err != nil {
			s.opts.Logger.Debug("store optimize", "err", err)
		}
	}
	return s.closeAll()
}

func (s *Store) closeAll() error {
	var errs []error
	if s.stop != nil {
		close(s.stop)
		<-s.stopped
		s.stop = nil
	}
	if s.cdb != nil {
		errs = append(errs, s.cdb.Close())
	}
	s.stmts.close()
	if s.r != nil {
		// s.r stays set: queries racing with Close get the driver's error.
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
		s.w = nil
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
		s.wdb = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// MaxSeq returns the highest sequence number the store has committed (0 when
// none), also after retention removed that event. Enqueue numbers events
// above it before they are committed.
func (s *Store) MaxSeq(ctx context.Context) (int64, error) {
	return s.maxSeq.Load(), nil
}

// Stats returns the size of the database and its write-ahead log on disk, and
// how many events it holds.
func (s *Store) Stats(ctx context.Context) (bytes int64, events int64, err error) {
	bytes, err = s.size()
	return bytes, s.events.Load(), err
}

// size is the bytes the database and its write-ahead log take on disk.
func (s *Store) size() (int64, error) {
	var total int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store size: %w", err)
		}
		total += fi.Size()
	}
	return total, nil
}

// IntegrityCheck runs SQLite's integrity check and the full-text index's own,
// and returns an error listing what they found.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w == nil {
		return errors.New("integrity check: store closed")
	}
	rows, err := s.w.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO events_fts(events_fts) VALUES ('integrity-check')`); err != nil {
		return fmt.Errorf("integrity check: full-text index: %w", err)
	}
	return nil
}
