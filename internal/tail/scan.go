package tail

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// candidate is a file found by a scan whose identity has to be established.
type candidate struct {
	path string
	info os.FileInfo
	file *os.File // open for reading its head; nil once a reader took it
	head []byte   // its first bytes, up to the fingerprint size
	// foreign: its name is not one Match accepts. It is followed only as a
	// file a reader knows (renamed, say spool-20260101.jsonl.1), never as new.
	foreign bool
}

func (c *candidate) close() {
	if c.file != nil {
		_ = c.file.Close() // opened for reading only: nothing to flush
		c.file = nil
	}
}

// scan lists the directory and brings the readers up to date: which file each
// one follows now, which files are new, truncated or gone. The caller holds t.mu.
func (t *Tailer) scan() {
	t.scans++
	t.ensureWatch()
	ents, err := os.ReadDir(t.dir)
	if err != nil {
		// A missing directory is waited for; any other error may pass. Either
		// way nothing is forgotten: readers are matched again once it lists.
		if !errors.Is(err, fs.ErrNotExist) {
			t.log.Warn("scan spool directory", "dir", t.dir, "err", err)
		}
		return
	}

	claimed := make(map[*reader]bool, len(t.readers))
	byPath := make(map[string]*reader, len(t.readers))
	for _, r := range t.readers {
		if !r.gone {
			byPath[r.path] = r
		}
	}
	var seen []os.FileInfo
	var rest []*candidate

	// A file renamed to a name Match refuses (spool-20260101.jsonl.1, .old)
	// still holds records a reader has not read to the end. Such names are
	// looked at only while a reader has lost its name: after a restart (its
	// ghost), or while it follows a file under such a name.
	lost := false
	if t.match != nil {
		named := make(map[string]bool, len(ents))
		for _, e := range ents {
			if e.Type().IsRegular() && t.match(e.Name()) {
				named[filepath.Join(t.dir, e.Name())] = true
			}
		}
		for _, r := range t.readers {
			if r.isGhost() || !named[r.path] {
				lost = true
				break
			}
		}
	}

	// Pass 1: files that did not change since the last scan keep their reader
	// without being opened.
	for _, e := range ents {
		foreign := t.match != nil && !t.match(e.Name())
		if !e.Type().IsRegular() || (foreign && !lost) {
			continue
		}
		p := filepath.Join(t.dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // removed since the listing
		}
		if r := byPath[p]; r != nil && r.info != nil && unchanged(r.info, fi) {
			seen = append(seen, fi)
			claimed[r] = true
			t.keepUnchanged(r, fi)
			continue
		}
		c, err := t.open(p)
		if err != nil {
			t.log.Debug("open spool file", "path", p, "err", err)
			continue
		}
		c.foreign = foreign
		seen = append(seen, c.info)
		rest = append(rest, c)
	}

	// Pass 2: every other file goes to the reader whose fingerprint its first
	// bytes start with. A longer fingerprint is stronger evidence, so it
	// chooses first; then the same inode (renamed, or written to in place),
	// then the same name. Inodes and names alone prove nothing: an inode is
	// reused soon after its file is deleted, a name after a rotation.
	type pair struct {
		c *candidate
		r *reader
	}
	var pairs []pair
	for _, c := range rest {
		for _, r := range t.readers {
			if !claimed[r] && (r.isGhost() || len(r.fp) > 0) && r.matches(c.head) {
				pairs = append(pairs, pair{c, r})
			}
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		if c := cmp.Compare(b.r.fpLen(), a.r.fpLen()); c != 0 {
			return c
		}
		if c := cmpBool(a.r.sameFile(a.c.info), b.r.sameFile(b.c.info)); c != 0 {
			return c
		}
		return cmpBool(a.r.path == a.c.path, b.r.path == b.c.path)
	})
	taken := make(map[*candidate]bool, len(rest))
	for _, p := range pairs {
		if claimed[p.r] || taken[p.c] {
			continue
		}
		claimed[p.r], taken[p.c] = true, true
		t.claim(p.r, p.c)
	}

	// Pass 3: what no fingerprint claimed is a copy of a followed file, or a
	// new file.
	for _, c := range rest {
		if taken[c] {
			continue
		}
		if c.foreign {
			c.close() // not a spool file's name, and no reader's file
			continue
		}
		if t.duplicate(c.head, claimed) {
			// A copy of a followed file (say between the copy and the truncate
			// of a copy-truncate rotation): reading it would repeat its lines.
			t.log.Debug("skip copy of followed file", "path", c.path)
			c.close()
			continue
		}
		// A reader with an empty fingerprint has read nothing, so it is as
		// good as a new one; it keeps its file by name and inode only after
		// every reader with content had its chance.
		r := t.find(claimed, func(r *reader) bool {
			return !r.isGhost() && len(r.fp) == 0 && r.path == c.path && os.SameFile(r.info, c.info)
		}, c.path)
		if r == nil {
			r = t.follow(c)
		} else {
			t.claim(r, c)
		}
		claimed[r] = true
	}

	// Readers whose file no name refers to any more.
	kept := t.readers[:0]
	for _, r := range t.readers {
		switch {
		case claimed[r]:
			kept = append(kept, r)
		case r.file == nil:
			if !r.isGhost() {
				t.log.Debug("forget removed file", "path", r.path, "offset", r.offset)
			}
		case inSeen(r.fileInfo, seen):
			// Its inode is in the directory but did not match: truncated and
			// written again. What was not read before the truncation is lost.
			t.log.Info("spool file truncated, reading it from the start", "path", r.path, "offset", r.offset)
			t.closeFile(r)
		default:
			// Removed or moved out of the directory: the open descriptor still
			// identifies it, so read it to its current end, unless it was
			// truncated and written again before it went.
			size, ok, _ := t.verify(r)
			if !ok {
				t.closeFile(r)
				continue
			}
			if !r.gone {
				t.log.Debug("spool file removed, reading it to the end", "path", r.path)
			}
			r.gone, r.size = true, size
			kept = append(kept, r)
		}
	}
	clear(t.readers[len(kept):])
	t.readers = kept
	t.sortReaders()
}

// find returns the first unclaimed reader accepted by ok, preferring one last
// seen at path.
func (t *Tailer) find(claimed map[*reader]bool, ok func(*reader) bool, path string) *reader {
	var found *reader
	for _, r := range t.readers {
		if claimed[r] || !ok(r) {
			continue
		}
		if r.path == path {
			return r
		}
		if found == nil {
			found = r
		}
	}
	return found
}

// duplicate reports a head that starts with the full fingerprint of a file
// already followed. Short fingerprints do not count: two small files may well
// share their first bytes.
func (t *Tailer) duplicate(head []byte, claimed map[*reader]bool) bool {
	for r := range claimed {
		if len(r.fp) == t.fpSize && bytes.HasPrefix(head, r.fp) {
			return true
		}
	}
	return false
}

func (t *Tailer) open(p string) (*candidate, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	c := &candidate{path: p, file: f}
	c.info, err = f.Stat()
	if err == nil && !c.info.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		c.head = make([]byte, t.fpSize)
		var n int
		n, err = f.ReadAt(c.head, 0)
		c.head = c.head[:n]
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("read head of %s: %w", p, err)
	}
	return c, nil
}

// keepUnchanged updates a reader whose file did not change since the last
// scan, and closes the file once it has been idle and fully read for a while.
func (t *Tailer) keepUnchanged(r *reader, fi os.FileInfo) {
	r.info = fi
	r.size = max(r.size, fi.Size())
	if r.file == nil || !r.drained() {
		return
	}
	r.idle++
	if r.idle >= t.idleMax {
		t.closeFile(r) // a change reopens it by name and fingerprint
	}
}

// claim makes r follow the candidate's file.
func (t *Tailer) claim(r *reader, c *candidate) {
	defer c.close()
	if r.isGhost() || len(c.head) > len(r.fp) {
		r.fp = append(make([]byte, 0, t.fpSize), c.head...)
		r.ghostHash, r.ghostSize = "", 0
	}
	r.gone, r.path, r.info, r.idle = false, c.path, c.info, 0
	size := c.info.Size()
	switch {
	case size < r.offset:
		// It still starts with what was read (the fingerprint matched), so
		// it was cut, not rewritten: everything before the cut was read
		// already. Reading from 0 would hand those lines out again.
		// Records start with a newline, so what is appended after the cut
		// starts a fresh line.
		t.log.Warn("spool file shrank below what was read; reading on from its new end", "path", r.path, "offset", r.offset, "size", size)
		r.rewind(size)
	case size < r.readOff:
		r.rewind(r.offset) // the unfinished last line was cut: read it again
	}
	r.size = size
	if r.file != nil && !os.SameFile(r.fileInfo, c.info) {
		t.closeFile(r) // it follows a copy now
	}
	if r.file == nil && size > r.readOff && t.slotFree(r) {
		r.file, r.fileInfo, c.file = c.file, c.info, nil
	}
}

// follow starts a reader for a file no reader knows: from its beginning.
func (t *Tailer) follow(c *candidate) *reader {
	t.nextID++
	r := &reader{id: t.nextID}
	t.readers = append(t.readers, r)
	t.log.Debug("follow new spool file", "path", c.path)
	t.claim(r, c)
	return r
}

// reopen opens a reader's file again after it was left closed with bytes to
// read (too many files were open). Only the very file the last scan saw under
// that name will do; anything else is for the next scan to sort out.
func (t *Tailer) reopen(r *reader) {
	if !t.slotFree(r) {
		return
	}
	c, err := t.open(r.path)
	if err != nil {
		t.log.Debug("reopen spool file", "path", r.path, "err", err)
		t.dirty = true
		return
	}
	defer c.close()
	if !r.sameFile(c.info) || !r.matches(c.head) || c.info.Size() < r.readOff {
		t.dirty = true
		return
	}
	r.file, r.fileInfo, c.file = c.file, c.info, nil
	r.size = max(r.size, c.info.Size())
}

// slotFree reports whether one more file may be opened, closing an idle one
// if needed. Files being drained after removal are never closed.
func (t *Tailer) slotFree(except *reader) bool {
	open := 0
	var idle *reader
	for _, r := range t.readers {
		if r.file == nil {
			continue
		}
		open++
		if r != except && !r.gone && r.drained() && idle == nil {
			idle = r
		}
	}
	if open < t.maxOpen {
		return true
	}
	if idle == nil {
		return false
	}
	t.closeFile(idle)
	return true
}

// collect reads up to max lines from the readers in order. The caller holds t.mu.
func (t *Tailer) collect(max int) []Line {
	out := t.lines[:0]
	drop := false
	for _, r := range t.readers {
		if len(out) >= max {
			break
		}
		if r.isGhost() {
			continue
		}
		if r.file == nil && r.size > r.readOff {
			t.reopen(r)
		}
		if r.file == nil && r.pending() == 0 {
			continue
		}
		var eof bool
		out, eof = t.readLines(r, out, max)
		if eof && r.gone {
			if r.pending() > 0 || r.skipping {
				t.log.Debug("drop unfinished last line of removed file", "path", r.path, "offset", r.offset)
			}
			t.closeFile(r)
			r.dropped, drop = true, true
		}
	}
	if drop {
		kept := t.readers[:0]
		for _, r := range t.readers {
			if !r.dropped {
				kept = append(kept, r)
			}
		}
		clear(t.readers[len(kept):])
		t.readers = kept
	}
	t.lines = out
	return out
}

// cmpBool orders true before false.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	default:
		return 1
	}
}

func unchanged(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

func inSeen(fi os.FileInfo, seen []os.FileInfo) bool {
	for _, s := range seen {
		if os.SameFile(fi, s) {
			return true
		}
	}
	return false
}

// ensureWatch (re)establishes the fsnotify watch on the directory, or on its
// parent while the directory does not exist.
func (t *Tailer) ensureWatch() {
	if t.watcher == nil {
		return
	}
	fi, err := os.Stat(t.dir)
	if err == nil && t.watching && t.dirInfo != nil && !os.SameFile(t.dirInfo, fi) {
		t.watching = false // replaced by another directory
	}
	if t.watching {
		return
	}
	parent := filepath.Dir(t.dir)
	if err != nil {
		if !t.parentWatched && t.watcher.Add(parent) == nil {
			t.parentWatched = true
		}
		return
	}
	_ = t.watcher.Remove(t.dir) // a stale watch on a replaced directory; usually none
	if err := t.watcher.Add(t.dir); err != nil {
		if !t.watchFailed {
			t.log.Warn("watch spool directory, polling only until it works", "dir", t.dir, "err", err)
			t.watchFailed = true
		}
		return
	}
	t.watchFailed = false
	t.watching, t.dirInfo = true, fi
	if t.parentWatched {
		_ = t.watcher.Remove(parent)
		t.parentWatched = false
	}
}
