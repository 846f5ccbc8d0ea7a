package spool

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultLockTimeout is how long Append waits for the spool file's lock before
// it writes without it.
const DefaultLockTimeout = 2 * time.Second

// maxLockBackoff caps the pause between two attempts to take the lock.
const maxLockBackoff = 2 * time.Millisecond

// ErrClosed is returned by Writer.Append after Close.
var ErrClosed = errors.New("spool writer closed")

// Options configure appending to a spool directory.
type Options struct {
	// Dir is the spool directory. It is created (mode 0700) when missing.
	Dir string
	// MaxRecordBytes is the payload cap that capture paths using these options
	// pass to Capture (DefaultMaxRecordBytes when <= 0); Append does not re-check it.
	MaxRecordBytes int
	// LockTimeout bounds the wait for the file lock (DefaultLockTimeout when
	// <= 0). When it passes, the records are written without the lock: a single
	// O_APPEND write is still positioned atomically on a local filesystem.
	LockTimeout time.Duration
	// Now returns the current time; its UTC day picks the file (time.Now when nil).
	Now func() time.Time
	// Sync makes every Append fsync the file after writing, and the directory
	// after opening a file, so records survive a power loss, not only a crash.
	Sync bool

	// write is syscall.Write unless a test simulates short or failing writes.
	write func(fd int, p []byte) (int, error)
	// waiting, when set, is called with the Writer's mutex held whenever a
	// caller starts waiting for a write in progress (an append queued behind
	// it, or Close), so that tests can order events without sleeping.
	waiting func()
}

// MaxBytes returns MaxRecordBytes, or DefaultMaxRecordBytes when it is not positive.
func (o Options) MaxBytes() int {
	if o.MaxRecordBytes <= 0 {
		return DefaultMaxRecordBytes
	}
	return o.MaxRecordBytes
}

func (o *Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o *Options) lockTimeout() time.Duration {
	if o.LockTimeout <= 0 {
		return DefaultLockTimeout
	}
	return o.LockTimeout
}

func (o *Options) writeFunc() func(int, []byte) (int, error) {
	if o.write == nil {
		return syscall.Write
	}
	return o.write
}

// FileName returns the name of the spool file for t's UTC day: spool-YYYYMMDD.jsonl.
func FileName(t time.Time) string {
	return "spool-" + t.UTC().Format("20060102") + ".jsonl"
}

// IsSpoolFile reports whether the base name name is a spool file name as
// FileName makes them.
func IsSpoolFile(name string) bool {
	const prefix, suffix = "spool-", ".jsonl"
	if len(name) != len(prefix)+8+len(suffix) || name[:len(prefix)] != prefix || name[len(name)-len(suffix):] != suffix {
		return false
	}
	for _, c := range []byte(name[len(prefix) : len(prefix)+8]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// DefaultDir returns the spool directory used when none is configured:
// $XDG_STATE_HOME/claude-hooks-exporter/spool when XDG_STATE_HOME is an
// absolute path, else $HOME/.local/state/claude-hooks-exporter/spool, or ""
// when HOME is not set either.
func DefaultDir(env func(string) string) string {
	if d := env("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "claude-hooks-exporter", "spool")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "claude-hooks-exporter", "spool")
	}
	return ""
}

// Append writes recs to the spool file of the day in one write(2) under the
// file's lock, opening and closing the file around it. It is what the hook
// does once per process; long-lived capture paths use a Writer instead.
func Append(opts Options, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	if opts.Dir == "" {
		return errors.New("append to spool: no spool directory configured")
	}
	buf, ends, err := encodeAll(nil, nil, recs)
	if err != nil {
		return err
	}
	path := filepath.Join(opts.Dir, FileName(opts.now()))
	fd, err := openFile(opts.Dir, path)
	if err != nil {
		return err
	}
	if opts.Sync {
		if err := syncDir(opts.Dir); err != nil {
			_ = syscall.Close(fd)
			return err
		}
	}
	_, err = writeLocked(fd, &opts, buf, ends)
	closeErr := syscall.Close(fd)
	if err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	if closeErr != nil {
		return fmt.Errorf("close %s: %w", path, closeErr)
	}
	return nil
}

// Writer appends records for a long-lived capture path (HTTP ingest, import).
// It keeps the day's file open, reopens it when the UTC day changes or the
// file was removed or replaced, and is safe for concurrent use.
//
// Concurrent appends share writes (group commit): the first caller that finds
// no write in progress becomes the leader and writes its records; callers
// arriving meanwhile queue theirs in the next batch and wait. When the leader
// is done it hands the next batch to the first caller queued in it, who writes
// it with one lock, one write(2) and one unlock, and wakes the others with
// their results. Without contention an append is written by its own caller at
// once, as before.
type Writer struct {
	opts         Options
	lockTimeouts atomic.Uint64

	mu      sync.Mutex
	idle    sync.Cond // signalled when a leader stops writing; Close waits on it
	closed  bool
	writing bool   // a leader is writing; then next may fill up behind it
	next    *batch // the records queued for the next write
	spare   *batch // a batch's buffers kept for reuse

	// The file, touched only by the leader, and by Close once no one writes.
	fd        int // -1 when no file is open
	name      string
	path      string
	dev       uint64
	ino       uint64
	checkedAt time.Time // when the path was last seen to name the open file
	recheckAt time.Time // when to look again: recheckInterval later, or at midnight UTC
}

// batch is the records of one or more appends, written together.
type batch struct {
	buf     []byte   // the encoded records, one append's after the other
	ends    []int    // where each record ends in buf
	members []member // the appends in buf, in order
}

// member is one append's share of a batch: buf[previous member's end:end].
type member struct {
	end int
	w   *waiter // nil for a caller that leads without having waited
}

// waiter is how a queued caller learns its result, or that it is to write
// the next batch itself.
type waiter struct {
	done chan struct{} // one token per wake-up
	err  error
	lead bool
}

var waiters = sync.Pool{New: func() any { return &waiter{done: make(chan struct{}, 1)} }}

// maxKeptBuffer is the largest batch buffer kept for the next batch: one
// large batch should not pin its memory for the writer's lifetime.
const maxKeptBuffer = 1 << 20

// encodedOverhead is more than what Encode adds to a record's payload (or
// base64 text): the fixed keys, id, times, source and newlines.
const encodedOverhead = 192

// OpenWriter creates the spool directory if needed and opens the current
// day's file, so that configuration errors surface at start-up.
func OpenWriter(opts Options) (*Writer, error) {
	if opts.Dir == "" {
		return nil, errors.New("open spool writer: no spool directory configured")
	}
	w := &Writer{opts: opts, fd: -1, next: &batch{}, spare: &batch{}}
	w.idle.L = &w.mu
	now := w.opts.now()
	if err := w.reopen(FileName(now)); err != nil {
		return nil, err
	}
	w.checked(now)
	return w, nil
}

// Append writes recs contiguously, in one write(2) under the file's lock
// shared with concurrent appends. When it returns nil the records are in the
// file (and on disk when Options.Sync is set); an error means some of them
// may not be.
func (w *Writer) Append(recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		if err := validate(&recs[i]); err != nil {
			return fmt.Errorf("encode record %d: %w", i, err)
		}
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	b := w.next
	// One allocation of the batch's size: growing by doubling would copy a
	// large batch several times and hold up to twice its size.
	need := 0
	for i := range recs {
		need += len(recs[i].Payload) + base64.StdEncoding.EncodedLen(len(recs[i].Raw)) + encodedOverhead
	}
	b.buf = slices.Grow(b.buf, need)
	for i := range recs {
		b.buf = Encode(b.buf, recs[i])
		b.ends = append(b.ends, len(b.buf))
	}
	if !w.writing {
		// Nobody writes, so nothing else is queued: write at once.
		w.writing = true
		b.members = append(b.members, member{end: len(b.buf)})
		return w.lead(nil)
	}
	wt := waiters.Get().(*waiter)
	b.members = append(b.members, member{end: len(b.buf), w: wt})
	if w.opts.waiting != nil {
		w.opts.waiting()
	}
	w.mu.Unlock()
	<-wt.done
	if wt.lead {
		wt.lead = false
		w.mu.Lock()
		return w.lead(wt)
	}
	err := wt.err
	wt.err = nil
	waiters.Put(wt)
	return err
}

// maxLeadBatches bounds how many batches one leader writes before it hands
// the next one to a queued caller: its own caller is waiting for its reply.
const maxLeadBatches = 8

// lead writes the queued batch, of which self's records are part (self is
// nil for a caller that did not wait), and tells the other members their
// result. While more callers queued meanwhile it writes their batch too, up
// to maxLeadBatches, then hands the queue to the first caller in it. It
// returns self's result. It is called with w.mu held and w.writing set, and
// releases w.mu.
func (w *Writer) lead(self *waiter) error {
	var own error
	for round := 1; ; round++ {
		b := w.next
		w.next, w.spare = w.spare, nil
		w.mu.Unlock()

		written, err, syncErr := w.writeBatch(b)
		for i := range b.members {
			m := &b.members[i]
			var merr error
			switch {
			case m.end > written:
				merr = err // not (wholly) written
			case syncErr != nil:
				merr = syncErr // written but maybe not on disk
			}
			if round == 1 && m.w == self {
				own = merr
				continue
			}
			m.w.err = merr
			m.w.done <- struct{}{}
		}
		clear(b.members)
		b.members, b.buf, b.ends = b.members[:0], b.buf[:0], b.ends[:0]
		if cap(b.buf) > maxKeptBuffer {
			b.buf = nil
		}

		w.mu.Lock()
		w.spare = b
		if len(w.next.members) == 0 || round == maxLeadBatches {
			break
		}
	}
	if len(w.next.members) > 0 {
		next := w.next.members[0].w
		next.lead = true
		next.done <- struct{}{}
	} else {
		w.writing = false
		w.idle.Broadcast()
	}
	w.mu.Unlock()
	if self != nil {
		waiters.Put(self)
	}
	return own
}

// writeBatch writes b to the current file. written is how far b.buf is in
// the file: every record ending at or before it was written whole. syncErr is
// an fsync failure after writing.
func (w *Writer) writeBatch(b *batch) (written int, err, syncErr error) {
	if err := w.current(); err != nil {
		return 0, err, nil
	}
	locked := lockFile(w.fd, w.opts.lockTimeout())
	written, err = writeAll(w.fd, b.buf, b.ends, locked, w.opts.writeFunc())
	if locked {
		_ = syscall.Flock(w.fd, syscall.LOCK_UN) // closing the file releases it too
	} else {
		w.lockTimeouts.Add(uint64(len(b.members)))
	}
	if err != nil {
		err = fmt.Errorf("append to %s: %w", w.path, err)
	}
	if written > 0 && w.opts.Sync {
		if serr := syscall.Fsync(w.fd); serr != nil {
			syncErr = fmt.Errorf("append to %s: fsync: %w", w.path, serr)
		}
	}
	return written, err, syncErr
}

// LockTimeouts returns how many appends were written without the lock
// because it could not be had within Options.LockTimeout.
func (w *Writer) LockTimeouts() uint64 {
	return w.lockTimeouts.Load()
}

// Close waits for the appends already queued to be written, then closes the
// current file. Appends after Close return ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	for w.writing {
		if w.opts.waiting != nil {
			w.opts.waiting()
		}
		w.idle.Wait()
	}
	return w.closeFile()
}

// recheckInterval is how long a Writer trusts that its path still names the
// open file before it stats the path again. Stat on every append cost a
// tenth of the daemon's ingest CPU; a file removed or replaced under a
// running daemon is rare, and the appends of this interval are what may go
// to the old file.
const recheckInterval = 100 * time.Millisecond

// current makes sure w.fd is today's file and still the one at its path:
// writing to a file that was removed would lose the records. It stats the
// path at most every recheckInterval (by Options.Now), and at once when the
// UTC day changes or the clock went back.
func (w *Writer) current() error {
	now := w.opts.now()
	if w.fd >= 0 && now.Before(w.recheckAt) && !now.Before(w.checkedAt) {
		return nil
	}
	name := FileName(now)
	if w.fd >= 0 && name == w.name {
		var st syscall.Stat_t
		if err := syscall.Stat(w.path, &st); err == nil && uint64(st.Dev) == w.dev && uint64(st.Ino) == w.ino {
			w.checked(now)
			return nil
		}
	}
	if err := w.reopen(name); err != nil {
		return err
	}
	w.checked(now)
	return nil
}

// checked notes that the path named the open file at now.
func (w *Writer) checked(now time.Time) {
	u := now.UTC()
	nextDay := time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC)
	w.checkedAt, w.recheckAt = now, now.Add(recheckInterval)
	if nextDay.Before(w.recheckAt) {
		w.recheckAt = nextDay
	}
}

func (w *Writer) reopen(name string) error {
	path := filepath.Join(w.opts.Dir, name)
	fd, err := openFile(w.opts.Dir, path)
	if err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		_ = syscall.Close(fd)
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if w.opts.Sync {
		if err := syncDir(w.opts.Dir); err != nil {
			_ = syscall.Close(fd)
			return err
		}
	}
	if err := w.closeFile(); err != nil {
		_ = syscall.Close(fd)
		return err
	}
	w.fd, w.name, w.path = fd, name, path
	w.dev, w.ino = uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // types differ between platforms
	return nil
}

func (w *Writer) closeFile() error {
	if w.fd < 0 {
		return nil
	}
	fd := w.fd
	w.fd = -1
	if err := syscall.Close(fd); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}

// encodeAll validates recs and encodes them into buf, recording where each
// record ends so that an unlocked short write can restart the cut record.
func encodeAll(buf []byte, ends []int, recs []Record) ([]byte, []int, error) {
	for i := range recs {
		if err := validate(&recs[i]); err != nil {
			return buf, ends, fmt.Errorf("encode record %d: %w", i, err)
		}
		buf = Encode(buf, recs[i])
		ends = append(ends, len(buf))
	}
	return buf, ends, nil
}

// validate rejects records that would not decode: Encode is total, so this is
// where programming errors are caught before they reach the log.
func validate(r *Record) error {
	switch {
	case !isHexID(r.ID):
		return fmt.Errorf("id %q is not 32 lowercase hex digits", r.ID)
	case r.Source == "":
		return errors.New("no source")
	case r.Bad == "" && len(r.Payload) == 0:
		return errors.New("no payload")
	case r.Bad == "" && bytes.IndexByte(r.Payload, '\n') >= 0:
		return errors.New("payload is not compact JSON")
	}
	return nil
}

// openFile opens path for appending, creating the spool directory when it is
// missing. The common case costs one open(2).
func openFile(dir, path string) (int, error) {
	fd, err := openAppend(path)
	if err == syscall.ENOENT {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return -1, fmt.Errorf("create spool dir: %w", err)
		}
		fd, err = openAppend(path)
	}
	if err != nil {
		return -1, fmt.Errorf("open spool file: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	return fd, nil
}

func openAppend(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func syncDir(dir string) error {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open spool dir for fsync: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	err = syscall.Fsync(fd)
	_ = syscall.Close(fd)
	if err != nil {
		return fmt.Errorf("fsync spool dir %s: %w", dir, err)
	}
	return nil
}

// writeLocked writes buf under the file's lock, taken with the options'
// timeout, then unlocks and optionally fsyncs. timedOut reports that the lock
// could not be had and buf was written without it.
func writeLocked(fd int, o *Options, buf []byte, ends []int) (timedOut bool, err error) {
	locked := lockFile(fd, o.lockTimeout())
	_, err = writeAll(fd, buf, ends, locked, o.writeFunc())
	if locked {
		_ = syscall.Flock(fd, syscall.LOCK_UN) // closing the file releases it too
	}
	if err == nil && o.Sync {
		if err = syscall.Fsync(fd); err != nil {
			err = fmt.Errorf("fsync: %w", err)
		}
	}
	return !locked, err
}

// lockFile takes an exclusive flock on fd, retrying a non-blocking attempt
// with a short, jittered, growing backoff until timeout. A blocking flock could
// hang a hook behind a stuck holder, so the wait is polled: the holder is
// another process and there is no event to wait on. It reports false when the
// lock could not be had in time or locks are not supported here.
func lockFile(fd int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	backoff := 20 * time.Microsecond
	for {
		switch err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err {
		case nil:
			return true
		case syscall.EINTR:
			continue
		case syscall.EWOULDBLOCK:
		default:
			return false // e.g. ENOLCK: an O_APPEND write is the best left
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(left, backoff/2+rand.N(backoff)))
		backoff = min(2*backoff, maxLockBackoff)
	}
}

// maxRestarts bounds how often an unlocked short write restarts the record it cut.
const maxRestarts = 3

// writeAll writes buf with as few write(2) calls as the kernel allows: one,
// unless a write comes back short. Under the lock nothing else writes, so the
// rest is simply continued. Without the lock another process may have
// appended in between, so the cut record is written again from its leading
// newline: the cut part stays behind as a fragment line readers skip, and the
// record itself lands whole. It returns how far buf is in the file: on an
// error, the records ending at or before that offset were written whole.
func writeAll(fd int, buf []byte, ends []int, locked bool, write func(int, []byte) (int, error)) (int, error) {
	off, restarts := 0, 0
	for off < len(buf) {
		n, err := write(fd, buf[off:])
		if n > 0 {
			off += n
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return off, fmt.Errorf("write (%d of %d bytes written): %w", off, len(buf), err)
		case n <= 0:
			return off, fmt.Errorf("write (%d of %d bytes written): no progress", off, len(buf))
		}
		if off < len(buf) && !locked && restarts < maxRestarts {
			off = recordStart(ends, off)
			restarts++
		}
	}
	return off, nil
}

// recordStart returns the offset at which the record containing off begins.
func recordStart(ends []int, off int) int {
	start := 0
	for _, e := range ends {
		if e > off {
			break
		}
		start = e
	}
	return start
}
