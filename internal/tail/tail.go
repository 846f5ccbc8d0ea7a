package tail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for the zero values of Options.
const (
	DefaultPollInterval = time.Second
	DefaultMaxLineBytes = 16 << 20
	// FingerprintSize is how many leading bytes of a file identify it.
	FingerprintSize = 1024
)

const (
	defaultReadSize  = 256 << 10 // bytes read per read(2) into a file's buffer
	defaultMaxOpen   = 64        // open descriptors kept at most (deleted files being drained excepted)
	defaultIdleScans = 10        // scans without change after which a fully read file is closed
	sampleSize       = 256       // bytes of an oversize line kept as a sample
	maxSpareBuffers  = 16
)

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("tailer closed")

// Options configures a Tailer.
type Options struct {
	// Dir is the directory whose files are followed. It may not exist yet: the
	// Tailer waits for it to appear.
	Dir string
	// Match selects the file names (base names) to follow; nil follows every
	// regular file.
	Match func(name string) bool
	// Start holds the positions from the last checkpoint. A file whose
	// fingerprint matches one resumes at its offset; every other file is read
	// from its beginning.
	Start []Position
	// PollInterval is the period of the directory scan that backs up the
	// fsnotify watch (default DefaultPollInterval).
	PollInterval time.Duration
	// MaxLineBytes caps a line; longer lines are skipped and returned with
	// Line.Oversize set (default DefaultMaxLineBytes).
	MaxLineBytes int
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger

	// Knobs for tests; zero means the default.
	fingerprintSize int
	readSize        int
	maxOpen         int
	idleScans       int
	noWatch         bool             // do not use fsnotify
	tick            <-chan time.Time // replaces the poll ticker
}

// Position is where reading of one file resumes: the checkpointed form of the
// Tailer's state for that file.
type Position struct {
	// Fingerprint is the hex SHA-256 of the file's first FingerprintSize bytes.
	Fingerprint string `json:"fp"`
	// FingerprintSize is how many leading bytes Fingerprint covers: fewer than
	// the package's FingerprintSize while the file was smaller than that.
	FingerprintSize int `json:"fp_size"`
	// Path is where the file was last seen; it is a hint, identity is the
	// fingerprint.
	Path string `json:"path"`
	// Offset is the byte offset just after the last line returned.
	Offset int64 `json:"offset"`
}

// Line is one complete line of a followed file.
type Line struct {
	// Path is the file the line was read from (its name when it was last seen).
	Path string
	// Offset is the byte offset of the line's first byte in the file.
	Offset int64
	// Len is the length of the line in the file, without its newline.
	Len int64
	// Data is the line without its newline. It is valid only until the next
	// call to Next. For an oversize line it holds only the line's first bytes
	// (at most 256), as a sample for logs.
	Data []byte
	// Oversize reports a line longer than Options.MaxLineBytes: it was
	// skipped, and the caller should count it.
	Oversize bool
}

// Tailer follows the files of a directory. Next must not be called
// concurrently with itself; Positions, Backlog and Close may be called from
// any goroutine.
type Tailer struct {
	dir     string
	match   func(string) bool
	maxLine int
	fpSize  int
	rdSize  int
	maxOpen int
	idleMax int
	log     *slog.Logger

	watcher *fsnotify.Watcher // nil when fsnotify is unavailable or disabled
	events  <-chan fsnotify.Event
	errs    <-chan error
	ticker  *time.Ticker
	tick    <-chan time.Time

	closeOnce sync.Once
	closed    chan struct{}

	mu            sync.Mutex // guards everything below
	isClosed      bool
	readers       []*reader // sorted by path, then discovery order
	lastWritten   *reader   // the reader of the last write notification, looked at first
	grown         bool      // a followed file was written to: read them all to their end
	nextID        uint64
	dirty         bool // a scan is due
	watching      bool
	parentWatched bool
	watchFailed   bool // logged that the watch could not be set
	dirInfo       os.FileInfo
	lines         []Line
	head          []byte   // scratch for verifying fingerprints
	spare         [][]byte // free read buffers
	retired       [][]byte // buffers that lines returned by the current Next point into
	scans         int      // number of scans, for tests
}

// New returns a Tailer for opts.Dir. It does not read anything before the
// first call to Next.
func New(opts Options) (*Tailer, error) {
	if opts.Dir == "" {
		return nil, errors.New("new tailer: empty directory")
	}
	if opts.PollInterval < 0 || opts.MaxLineBytes < 0 {
		return nil, errors.New("new tailer: negative poll interval or line limit")
	}
	t := &Tailer{
		dir:     filepath.Clean(opts.Dir),
		match:   opts.Match,
		maxLine: cmpOr(opts.MaxLineBytes, DefaultMaxLineBytes),
		fpSize:  cmpOr(opts.fingerprintSize, FingerprintSize),
		rdSize:  cmpOr(opts.readSize, defaultReadSize),
		maxOpen: cmpOr(opts.maxOpen, defaultMaxOpen),
		idleMax: cmpOr(opts.idleScans, defaultIdleScans),
		log:     opts.Logger,
		closed:  make(chan struct{}),
		dirty:   true,
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range opts.Start {
		if p.FingerprintSize <= 0 || p.FingerprintSize > t.fpSize || p.Offset <= 0 {
			continue // nothing to resume: the file is read from its beginning
		}
		if p.Path != "" && !filepath.IsAbs(p.Path) {
			p.Path = filepath.Join(t.dir, p.Path)
		}
		t.nextID++
		t.readers = append(t.readers, &reader{
			id: t.nextID, path: p.Path,
			ghostHash: strings.ToLower(p.Fingerprint), ghostSize: p.FingerprintSize,
			offset: p.Offset, readOff: p.Offset, size: p.Offset,
		})
	}
	t.sortReaders()
	if opts.tick != nil {
		t.tick = opts.tick
	} else {
		t.ticker = time.NewTicker(cmpOr(opts.PollInterval, DefaultPollInterval))
		t.tick = t.ticker.C
	}
	if !opts.noWatch {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			// Polling alone still finds every change, only later.
			t.log.Warn("fsnotify unavailable, polling only", "dir", t.dir, "err", err)
		} else {
			t.watcher, t.events, t.errs = w, w.Events, w.Errors
		}
	}
	return t, nil
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Next returns up to max complete, non-empty lines, blocking until at least
// one exists, ctx is done or the Tailer is closed. Files come in name order,
// lines of one file in file order. The returned slice and the lines' Data are
// valid until the next call to Next.
func (t *Tailer) Next(ctx context.Context, max int) ([]Line, error) {
	if max < 1 {
		return nil, fmt.Errorf("next lines: max %d is not positive", max)
	}
	for {
		t.mu.Lock()
		if t.isClosed {
			t.mu.Unlock()
			return nil, ErrClosed
		}
		t.drainWakeups()
		lines := t.poll(max, false)
		t.mu.Unlock()
		if len(lines) > 0 {
			return lines, nil
		}
		if err := t.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// poll does one scan (when due or forced) and one read pass, without waiting.
// The caller holds t.mu.
func (t *Tailer) poll(max int, forceScan bool) []Line {
	t.releaseBuffers()
	if t.grown && !t.dirty && !forceScan {
		t.grown = false
		t.readOnFollowed()
	}
	if t.dirty || forceScan {
		t.dirty, t.grown = false, false
		t.scan()
	}
	return t.collect(max)
}

// readOnFollowed brings the sizes of the followed files up to date, as a
// scan would, when only writes to followed files were notified. All of them,
// not only the one written to, so that lines written before this read pass
// come in name order across files. A file that grew is read on only if its
// name still leads to it: a rename or removal whose notification is still on
// its way must be seen before the file is read on, so then, or when a file
// shrank, it asks for a scan instead. The caller holds t.mu.
func (t *Tailer) readOnFollowed() {
	for _, r := range t.readers {
		if !r.followed() {
			continue
		}
		fi, err := r.file.Stat()
		if err != nil || fi.Size() < r.size {
			t.dirty = true // for the scan to sort out
			return
		}
		if fi.Size() == r.size {
			continue
		}
		if named, err := os.Stat(r.path); err != nil || !os.SameFile(named, fi) {
			t.dirty = true
			return
		}
		r.size = fi.Size()
	}
}

// drainWakeups consumes pending notifications without blocking, so a caller
// that is never idle still notices new files. The caller holds t.mu.
func (t *Tailer) drainWakeups() {
	for {
		select {
		case ev, ok := <-t.events:
			if !ok {
				t.events = nil
				continue
			}
			t.noteEvent(ev)
		case err, ok := <-t.errs:
			if !ok {
				t.errs = nil
				continue
			}
			t.noteWatchError(err)
		case <-t.tick:
			t.dirty = true
		default:
			return
		}
	}
}

// wait blocks until something may have changed.
func (t *Tailer) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.closed:
		return ErrClosed
	case ev, ok := <-t.events:
		t.mu.Lock()
		if ok {
			t.noteEvent(ev)
		} else {
			t.events = nil
		}
		t.mu.Unlock()
	case err, ok := <-t.errs:
		t.mu.Lock()
		if ok {
			t.noteWatchError(err)
		} else {
			t.errs = nil
		}
		t.mu.Unlock()
	case <-t.tick:
		t.mu.Lock()
		t.dirty = true
		t.mu.Unlock()
	}
	return nil
}

func (t *Tailer) noteEvent(ev fsnotify.Event) {
	if ev.Op == fsnotify.Write && t.noteWrite(ev.Name) {
		return
	}
	t.dirty = true
	if filepath.Clean(ev.Name) == t.dir && ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0 {
		t.watching = false // the directory itself went away: watch it again when it is back
	}
}

// noteWrite handles a notification that the file at path was written to. For
// a file followed through an open descriptor no scan is needed: its name,
// identity and order did not change (a rename or removal brings an event of
// its own, which scans), so the next read pass reads every followed file on to
// its current end (readOnFollowed). Writes to files the Tailer does not follow
// do not matter. It reports false when a scan is needed: the file is unknown,
// closed or was removed. The caller holds t.mu.
func (t *Tailer) noteWrite(path string) bool {
	if r := t.lastWritten; r != nil && r.path == path && r.followed() {
		t.grown = true
		return true
	}
	for _, r := range t.readers {
		if r.path == path && r.followed() {
			t.grown, t.lastWritten = true, r
			return true
		}
	}
	if filepath.Dir(path) == t.dir && t.match != nil && !t.match(filepath.Base(path)) {
		return true // not a file we follow
	}
	return false
}

func (t *Tailer) noteWatchError(err error) {
	t.dirty = true
	// An overflow only means the scan has to find what the events would have said.
	t.log.Debug("fsnotify error", "dir", t.dir, "err", err)
}

// Positions returns, for every file the Tailer knows, the position just after
// the last line returned by Next. Store it with the results of processing those
// lines; a Tailer started with these positions returns each later line once.
func (t *Tailer) Positions() []Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := make([]Position, 0, len(t.readers))
	for _, r := range t.readers {
		ps = append(ps, r.position())
	}
	return ps
}

// Backlog returns the number of bytes in followed files beyond the positions
// of Positions, as of the last scan or read.
func (t *Tailer) Backlog() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, r := range t.readers {
		if !r.isGhost() && r.size > r.offset {
			n += r.size - r.offset
		}
	}
	return n
}

// Close releases the watch and every open file. A partial last line is never
// returned, also not on Close.
func (t *Tailer) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.closed)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.isClosed = true
		if t.ticker != nil {
			t.ticker.Stop()
		}
		if t.watcher != nil {
			if cerr := t.watcher.Close(); cerr != nil {
				err = fmt.Errorf("close watch on %s: %w", t.dir, cerr)
			}
		}
		for _, r := range t.readers {
			t.closeFile(r)
		}
	})
	return err
}

func (t *Tailer) sortReaders() {
	slices.SortStableFunc(t.readers, func(a, b *reader) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}
