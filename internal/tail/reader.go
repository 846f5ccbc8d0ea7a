package tail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// reader is the Tailer's state for one file identity.
type reader struct {
	id   uint64 // discovery order, breaks ties between equal paths
	path string // where the file was last seen

	// fp holds the file's first bytes (up to the fingerprint size) as last
	// verified. A reader restored from a Position knows only their hash
	// (ghostHash over ghostSize bytes) until a scan finds its file.
	fp        []byte
	ghostHash string
	ghostSize int

	info     os.FileInfo // stat of path at the last scan that saw the file
	file     *os.File    // nil when closed
	fileInfo os.FileInfo // stat of file when it was opened
	size     int64       // file size seen by the last scan: reads stop there

	offset  int64  // just after the last line returned or skipped
	readOff int64  // file offset of the end of buf
	buf     []byte // buf[start:] is the file content at [offset, readOff) unless skipping
	start   int
	pinned  bool // lines returned by the current Next point into buf

	skipping bool   // inside an oversize line that started at offset
	sample   []byte // first bytes of that line

	gone    bool // no path names the file any more: read it to the end, then forget it
	dropped bool // gone and read to the end: removed after the read pass
	idle    int  // consecutive scans that found it unchanged and fully read
}

func (r *reader) isGhost() bool { return r.ghostSize > 0 }

// followed reports that r reads its file, still under r.path as far as it
// knows, through an open descriptor: appends to it need no scan to be read.
func (r *reader) followed() bool {
	return r.file != nil && !r.gone && !r.dropped && !r.isGhost()
}

// sameFile reports whether fi is the file r last saw.
func (r *reader) sameFile(fi os.FileInfo) bool {
	return r.info != nil && os.SameFile(r.info, fi)
}

// fpLen is the number of leading bytes the fingerprint covers.
func (r *reader) fpLen() int {
	if r.isGhost() {
		return r.ghostSize
	}
	return len(r.fp)
}

// matches reports whether a file starting with head may be r's file: r's
// fingerprint is a prefix of head.
func (r *reader) matches(head []byte) bool {
	if r.isGhost() {
		if len(head) < r.ghostSize {
			return false
		}
		sum := sha256.Sum256(head[:r.ghostSize])
		return hex.EncodeToString(sum[:]) == r.ghostHash
	}
	return bytes.HasPrefix(head, r.fp)
}

func (r *reader) position() Position {
	if r.isGhost() {
		return Position{Fingerprint: r.ghostHash, FingerprintSize: r.ghostSize, Path: r.path, Offset: r.offset}
	}
	sum := sha256.Sum256(r.fp)
	return Position{Fingerprint: hex.EncodeToString(sum[:]), FingerprintSize: len(r.fp), Path: r.path, Offset: r.offset}
}

// rewind forgets everything read beyond off, which must be at a line start.
func (r *reader) rewind(off int64) {
	r.offset, r.readOff = off, off
	r.buf, r.start = r.buf[:0], 0
	r.skipping, r.sample = false, nil
}

// pending is the number of bytes read but not consumed.
func (r *reader) pending() int { return len(r.buf) - r.start }

// drained reports that every byte of the file known so far has been read and
// no complete line waits in the buffer: closing the file loses nothing.
func (r *reader) drained() bool {
	return r.readOff >= r.size && bytes.IndexByte(r.buf[r.start:], '\n') < 0
}

// readLines appends r's complete lines to out until out holds max lines or
// the file has no more complete lines. eof reports the latter.
func (t *Tailer) readLines(r *reader, out []Line, max int) (_ []Line, eof bool) {
	for len(out) < max {
		data := r.buf[r.start:]
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if r.skipping {
				r.start = len(r.buf) // the oversize line's middle is dropped as it streams by
			} else if len(data) > t.maxLine {
				r.skipping = true
				r.sample = bytes.Clone(data[:min(len(data), sampleSize)])
				r.start = len(r.buf)
			}
			n, err := t.fill(r)
			if err != nil {
				t.log.Warn("read spool file", "path", r.path, "err", err)
			}
			if n == 0 {
				return out, err == nil
			}
			continue
		}
		nl := r.readOff - int64(len(r.buf)-(r.start+i)) // file offset of the newline
		line := Line{Path: r.path, Offset: r.offset, Len: nl - r.offset}
		r.start += i + 1
		r.offset = nl + 1
		switch {
		case r.skipping:
			line.Oversize, line.Data = true, r.sample
			r.skipping, r.sample = false, nil
		case line.Len == 0:
			continue // the spool starts every record on a fresh line
		case line.Len > int64(t.maxLine):
			line.Oversize, line.Data = true, data[:min(i, sampleSize)]
			r.pinned = true
		default:
			line.Data = data[:i:i]
			r.pinned = true
		}
		out = append(out, line)
	}
	return out, false
}

// fill reads more of r's file into its buffer and returns the number of bytes
// read; 0 with a nil error is the end of the file.
func (t *Tailer) fill(r *reader) (int, error) {
	if r.file == nil {
		return 0, nil
	}
	// Read only as far as the last scan (or readOnFollowed) saw the file:
	// what was appended since waits for the scan or read-on that its
	// notification (or the poll) brings, so files are read in name order as
	// the scan sees them. And the descriptor may hold other content by now,
	// truncated and written again: check before reading on, and leave it to
	// the next scan if so.
	if r.readOff >= r.size {
		return 0, nil
	}
	if _, ok, err := t.verify(r); err != nil || !ok {
		t.dirty = true
		return 0, err
	}
	t.makeRoom(r)
	old := len(r.buf)
	end := old + int(min(int64(cap(r.buf)-old), r.size-r.readOff))
	n, err := r.file.ReadAt(r.buf[old:end], r.readOff)
	r.buf = r.buf[:old+n]
	if n > 0 {
		t.growFingerprint(r, r.readOff, r.buf[old:])
		r.readOff += int64(n)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// verify reports whether r's open file still is r's file: it has not shrunk
// below what was read and still starts with r's fingerprint. It returns the
// file's size.
func (t *Tailer) verify(r *reader) (int64, bool, error) {
	fi, err := r.file.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("stat %s: %w", r.path, err)
	}
	size := fi.Size()
	if size < r.readOff {
		return size, false, nil
	}
	if size == r.readOff || len(r.fp) == 0 {
		return size, true, nil // nothing new to read, or nothing to compare yet
	}
	if cap(t.head) < len(r.fp) {
		t.head = make([]byte, t.fpSize)
	}
	head := t.head[:len(r.fp)]
	if _, err := r.file.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return size, false, fmt.Errorf("read head of %s: %w", r.path, err)
	}
	return size, bytes.Equal(head, r.fp), nil
}

// makeRoom ensures free space after r's buffered bytes without moving bytes
// that lines returned by the current Next still point into.
func (t *Tailer) makeRoom(r *reader) {
	minFree := t.rdSize / 4
	if cap(r.buf)-len(r.buf) >= minFree {
		return
	}
	keep := r.pending()
	size := t.rdSize
	for size-keep < minFree {
		size *= 2
	}
	if !r.pinned && cap(r.buf) == size {
		n := copy(r.buf[:cap(r.buf)], r.buf[r.start:]) // compact in place
		r.buf, r.start = r.buf[:n], 0
		return
	}
	var nb []byte
	if size == t.rdSize {
		nb = t.getBuffer()
	} else {
		nb = make([]byte, 0, size) // a long line
	}
	nb = append(nb, r.buf[r.start:]...)
	if cap(r.buf) > 0 {
		t.putBuffer(r.buf, r.pinned)
	}
	r.buf, r.start, r.pinned = nb, 0, false
}

// growFingerprint extends r's fingerprint with bytes just read at off.
func (t *Tailer) growFingerprint(r *reader, off int64, data []byte) {
	have := int64(len(r.fp))
	if r.isGhost() || have >= int64(t.fpSize) || off > have || off+int64(len(data)) <= have {
		return
	}
	end := min(int64(t.fpSize), off+int64(len(data)))
	r.fp = append(r.fp, data[have-off:end-off]...)
}

func (t *Tailer) getBuffer() []byte {
	if n := len(t.spare); n > 0 {
		b := t.spare[n-1]
		t.spare = t.spare[:n-1]
		return b[:0]
	}
	return make([]byte, 0, t.rdSize)
}

// putBuffer gives a buffer back; a pinned one only at the next call to Next.
func (t *Tailer) putBuffer(b []byte, pinned bool) {
	if cap(b) != t.rdSize {
		return // let odd sizes go
	}
	if pinned {
		t.retired = append(t.retired, b)
	} else if len(t.spare) < maxSpareBuffers {
		t.spare = append(t.spare, b[:0])
	}
}

// releaseBuffers is called at the start of Next: the lines returned by the
// previous call are no longer valid, so their buffers are free again.
func (t *Tailer) releaseBuffers() {
	for _, b := range t.retired {
		if len(t.spare) < maxSpareBuffers {
			t.spare = append(t.spare, b[:0])
		}
	}
	clear(t.retired)
	t.retired = t.retired[:0]
	clear(t.lines)
	t.lines = t.lines[:0]
	for _, r := range t.readers {
		r.pinned = false
	}
}

func (t *Tailer) closeFile(r *reader) {
	if r.file == nil {
		return
	}
	if err := r.file.Close(); err != nil {
		t.log.Debug("close spool file", "path", r.path, "err", err)
	}
	r.file, r.fileInfo = nil, nil
	if r.pending() == 0 && cap(r.buf) > 0 {
		t.putBuffer(r.buf, r.pinned)
		r.buf, r.start = nil, 0
	}
}
