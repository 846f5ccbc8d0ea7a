package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// Usage is a change of the token counts of one API response (one message id)
// in one session. The first line of a message counts it whole; a later line of
// the same message that reports other figures yields the difference, which may
// be negative (the last line of a message wins). Summing every Usage of a
// message gives its last line's figures.
type Usage struct {
	SessionID string // the session whose hooks named the transcript
	AgentID   string // the subagent's agent id; "" for the main conversation
	PromptID  string // the prompt (turn) the response belongs to; "" when the transcript has none
	Model     string // message.model
	MessageID string // message.id (requestId or the line's uuid when a line has none)

	Input         int64 // input_tokens
	Output        int64 // output_tokens
	CacheRead     int64 // cache_read_input_tokens
	CacheCreation int64 // cache_creation_input_tokens (5-minute and 1-hour cache writes)
	// CacheCreation1h is the part of CacheCreation written to the 1-hour cache
	// (cache_creation.ephemeral_1h_input_tokens), which is priced higher.
	CacheCreation1h int64
}

// Defaults of Options.
const (
	DefaultMaxFiles        = 1024
	DefaultMaxBytesPerPoll = 64 << 20
	DefaultMaxLineBytes    = 32 << 20
	DefaultMaxMessageIDs   = 16384
)

const (
	// recentPerFile is how many message ids per file keep their counted
	// figures, so a later line of the same message applies the difference.
	recentPerFile = 16
	// maxRetired is how many files no longer followed keep their offset, so a
	// session that comes back continues where it stopped.
	maxRetired = 256
	// fingerprintSize is how much of a file's start identifies it: a file that
	// no longer starts with those bytes was rewritten.
	fingerprintSize = 64
	readChunk       = 256 << 10
	// keepBuffer is the largest read buffer kept between polls.
	keepBuffer = 1 << 20
	// discoverEvery is how often (in polls) a main transcript's subagents
	// directory is listed even when the main transcript did not grow.
	discoverEvery = 32
	// maxBackoff is the longest wait, in polls, before a missing or unreadable
	// file is tried again.
	maxBackoff = 64
	// stateVersion changes whenever the meaning of the serialised state changes.
	stateVersion = 1
)

// Options configures a Follower. Zero values take the defaults.
type Options struct {
	// MaxFiles caps the transcripts followed at once; beyond it the least
	// recently grown one is retired (its offset is kept) (default 1024).
	MaxFiles int
	// MaxBytesPerPoll bounds the bytes one Poll reads (default 64 MiB); the rest
	// waits for the next Poll. A line being read is finished beyond the bound.
	MaxBytesPerPoll int64
	// MaxLineBytes is the longest line read; longer lines are skipped and
	// counted (default 32 MiB).
	MaxLineBytes int
	// MaxMessageIDs is how many counted message ids are remembered across all
	// files to recognise a message written again (default 16384). It is part of
	// the state: 8 bytes per id.
	MaxMessageIDs int
	// AllowedDirs, when not empty, restricts the transcripts followed to files
	// under these directories (hook payloads name the files the daemon reads).
	// Paths are always required to be absolute, clean and to end in ".jsonl".
	AllowedDirs []string
	// Logger receives debug logs (read errors, malformed lines).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.MaxBytesPerPoll <= 0 {
		o.MaxBytesPerPoll = DefaultMaxBytesPerPoll
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxMessageIDs <= 0 {
		o.MaxMessageIDs = DefaultMaxMessageIDs
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.AllowedDirs = slices.Clone(o.AllowedDirs)
	for i, d := range o.AllowedDirs {
		o.AllowedDirs[i] = filepath.Clean(d)
	}
	return o
}

// file is one followed transcript. Exported fields are its persisted state.
type file struct {
	Path    string `json:"path"`
	Session string `json:"session"`
	// Agent is the agent id of a subagent transcript; Sub marks one.
	Agent string `json:"agent,omitempty"`
	Sub   bool   `json:"sub,omitempty"`
	// Offset is just after the last complete line read.
	Offset int64 `json:"offset"`
	// FP is the hash of the file's first FPLen bytes (at most fingerprintSize).
	FP    uint64 `json:"fp,omitempty"`
	FPLen int    `json:"fp_len,omitempty"`
	// Prompt is the latest promptId seen in the file.
	Prompt string `json:"prompt,omitempty"`
	// Skip is set while the follower skips an oversized line.
	Skip bool `json:"skip,omitempty"`
	// Closing is set by Forget: the file is read to its end, then retired.
	Closing bool `json:"closing,omitempty"`
	// Recent are the counted figures of the file's last message ids.
	Recent []contribution `json:"recent,omitempty"`

	// Misses counts consecutive failed attempts to read the file; RetryAt is
	// the Poll number of the next attempt, LastGrowth that of the last complete
	// line read. They are persisted so that what a restored follower does is
	// what the original would have done.
	Misses     int    `json:"misses,omitempty"`
	RetryAt    uint64 `json:"retry_at,omitempty"`
	LastGrowth uint64 `json:"last_growth,omitempty"`
}

// contribution is what one message id has counted so far.
type contribution struct {
	ID           string `json:"id"`
	Model        string `json:"model,omitempty"`
	Prompt       string `json:"prompt,omitempty"`
	Agent        string `json:"agent,omitempty"`
	Input        int64  `json:"in,omitempty"`
	Output       int64  `json:"out,omitempty"`
	CacheRead    int64  `json:"cr,omitempty"`
	CacheWrite   int64  `json:"cw,omitempty"`
	CacheWrite1h int64  `json:"cw1h,omitempty"`
}

// Stats are the follower's counters since it was created (not persisted).
type Stats struct {
	Files          int    // transcripts followed now
	BytesRead      uint64 // bytes read from transcripts
	Lines          uint64 // complete lines read
	Malformed      uint64 // lines that looked relevant but did not parse
	Oversized      uint64 // lines longer than MaxLineBytes, skipped
	Duplicates     uint64 // assistant lines of a message id already counted elsewhere (replays)
	NoID           uint64 // assistant lines with usage but no message id, skipped
	Rewrites       uint64 // files found shrunk or rewritten, read again from the start
	ReadErrors     uint64 // failed attempts to read a file (missing files included)
	Evicted        uint64 // files retired beyond MaxFiles
	Rejected       uint64 // paths refused (not absolute, not .jsonl, outside AllowedDirs)
	UsagesReturned uint64 // Usage values returned by Poll
}

type stats struct {
	files                                                                    atomic.Int64
	bytes, lines, malformed, oversized, duplicates, noID, rewrites, readErrs atomic.Uint64
	evicted, rejected, usages                                                atomic.Uint64
}

// Follower follows Claude Code transcripts incrementally and turns their
// assistant lines into Usage values, each message counted once. It is used by
// one goroutine (the pipeline); only Stats may be called concurrently.
type Follower struct {
	opts         Options
	files        map[string]*file
	order        []*file // files sorted by path; nil when it must be rebuilt
	retired      map[string]*file
	retiredOrder []string
	// mains maps a session id to its main transcript's path.
	mains map[string]string
	// derived maps (session, agent) pairs to the subagent path derived for them.
	derived map[agentKey]string
	seen    *seenSet
	parser  parser
	strs    map[string]string // interned models and agent ids
	buf     []byte
	fpBuf   [fingerprintSize]byte
	seq     uint64 // polls so far
	out     []Usage
	st      stats
}

type agentKey struct{ session, agent string }

// NewFollower returns a follower with no files.
func NewFollower(opts Options) *Follower {
	opts = opts.withDefaults()
	return &Follower{
		opts:    opts,
		files:   map[string]*file{},
		retired: map[string]*file{},
		mains:   map[string]string{},
		derived: map[agentKey]string{},
		seen:    newSeenSet(opts.MaxMessageIDs),
		strs:    map[string]string{},
	}
}

// Stats returns the follower's counters. It is safe to call concurrently.
func (f *Follower) Stats() Stats {
	return Stats{
		Files:          int(f.st.files.Load()),
		BytesRead:      f.st.bytes.Load(),
		Lines:          f.st.lines.Load(),
		Malformed:      f.st.malformed.Load(),
		Oversized:      f.st.oversized.Load(),
		Duplicates:     f.st.duplicates.Load(),
		NoID:           f.st.noID.Load(),
		Rewrites:       f.st.rewrites.Load(),
		ReadErrors:     f.st.readErrs.Load(),
		Evicted:        f.st.evicted.Load(),
		Rejected:       f.st.rejected.Load(),
		UsagesReturned: f.st.usages.Load(),
	}
}

// Track registers the transcripts an event names: ev.TranscriptPath as the
// main transcript of ev.SessionID (or as a subagent transcript when its name is
// .../subagents/agent-<id>.jsonl), ev.AgentTranscriptPath as the transcript of
// subagent ev.AgentID, and, for an event inside a subagent, the path Claude
// Code keeps that subagent's transcript at (<dir of the main
// transcript>/<session id>/subagents/agent-<agent id>.jsonl). Registering a
// known file is a map lookup; Track does no I/O. A file of a forgotten
// session that an event names again is followed again from its offset.
func (f *Follower) Track(ev *hookevent.Event) {
	if ev.SessionID == "" {
		return
	}
	if ev.TranscriptPath != "" {
		f.track(ev.TranscriptPath, ev.SessionID, "", false)
	}
	if ev.AgentTranscriptPath != "" {
		f.track(ev.AgentTranscriptPath, ev.SessionID, ev.AgentID, true)
	}
	if ev.AgentID != "" {
		f.trackDerived(ev.SessionID, ev.AgentID)
	}
}

func (f *Follower) track(path, session, agent string, sub bool) {
	if fl := f.files[path]; fl != nil {
		// An event names the file: if it could not be read, try again now
		// (Claude Code creates a transcript when it first writes to it).
		fl.RetryAt = 0
		if fl.Closing || fl.Session != session {
			// The session resumed before its files were retired, or another
			// session's hooks name this transcript now (a resume that continues
			// the file): what follows is that session's.
			fl.Closing = false
			if fl.Session != session {
				fl.Session = strings.Clone(session)
			}
			if !fl.Sub {
				f.mains[fl.Session] = fl.Path
			}
		}
		return
	}
	if !f.acceptable(path) {
		f.st.rejected.Add(1)
		return
	}
	if id, ok := subagentName(path); ok {
		sub = true
		if agent == "" {
			agent = id
		}
	}
	if sub && agent == "" {
		return // a subagent transcript nobody can attribute
	}
	fl := f.add(path, session, agent, sub)
	if !fl.Sub {
		f.mains[fl.Session] = fl.Path
	}
}

// subagentName reports whether path is .../subagents/agent-<id>.jsonl, and the id.
func subagentName(path string) (string, bool) {
	base := filepath.Base(path)
	if !strings.HasPrefix(base, "agent-") || !strings.HasSuffix(base, ".jsonl") ||
		filepath.Base(filepath.Dir(path)) != "subagents" {
		return "", false
	}
	id := base[len("agent-") : len(base)-len(".jsonl")]
	return id, id != ""
}

func (f *Follower) trackDerived(session, agent string) {
	if path, ok := f.derived[agentKey{session, agent}]; ok {
		if fl := f.files[path]; fl != nil {
			fl.RetryAt = 0
		}
		return
	}
	main, ok := f.mains[session]
	if !ok {
		return // no main transcript known yet: try again with the next event
	}
	k := agentKey{strings.Clone(session), strings.Clone(agent)}
	if len(f.derived) >= 4*f.opts.MaxFiles {
		clear(f.derived)
	}
	if !safeName(session) || !safeName(agent) {
		f.derived[k] = ""
		return
	}
	path := filepath.Join(filepath.Dir(main), session, "subagents", "agent-"+agent+".jsonl")
	f.derived[k] = path
	f.track(path, session, agent, true)
}

// safeName reports whether an id can be a path element.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= 255 && !strings.ContainsAny(s, "/\\\x00")
}

// acceptable reports whether the follower may read path.
func (f *Follower) acceptable(path string) bool {
	if len(path) > 4096 || !filepath.IsAbs(path) || !strings.HasSuffix(path, ".jsonl") ||
		strings.IndexByte(path, 0) >= 0 || filepath.Clean(path) != path {
		return false
	}
	if len(f.opts.AllowedDirs) == 0 {
		return true
	}
	for _, d := range f.opts.AllowedDirs {
		if within(d, path) {
			return true
		}
	}
	return false
}

// add starts following path, continuing from its retired state if any.
func (f *Follower) add(path, session, agent string, sub bool) *file {
	if len(f.files) >= f.opts.MaxFiles {
		f.evict()
	}
	fl := f.retired[path]
	if fl != nil {
		delete(f.retired, path)
		f.retiredOrder = slices.DeleteFunc(f.retiredOrder, func(p string) bool { return p == path })
		if fl.Session != session {
			fl.Session = strings.Clone(session)
		}
	} else {
		fl = &file{Path: strings.Clone(path), Session: strings.Clone(session), Agent: strings.Clone(agent), Sub: sub}
	}
	f.files[fl.Path] = fl
	f.order = nil
	f.st.files.Store(int64(len(f.files)))
	return fl
}

// evict retires one file to make room: a closing one, else one that cannot be
// read, else the one that grew least recently.
func (f *Follower) evict() {
	var victim *file
	rank := func(fl *file) int {
		switch {
		case fl.Closing:
			return 0
		case fl.Misses > 0:
			return 1
		}
		return 2
	}
	for _, fl := range f.sorted() {
		if victim == nil || rank(fl) < rank(victim) || rank(fl) == rank(victim) && fl.LastGrowth < victim.LastGrowth {
			victim = fl
		}
	}
	if victim != nil {
		f.st.evicted.Add(1)
		f.retire(victim)
	}
}

// retire stops following a file and remembers where it stopped.
func (f *Follower) retire(fl *file) {
	delete(f.files, fl.Path)
	f.order = nil
	f.st.files.Store(int64(len(f.files)))
	r := &file{Path: fl.Path, Session: fl.Session, Agent: fl.Agent, Sub: fl.Sub, Offset: fl.Offset,
		FP: fl.FP, FPLen: fl.FPLen, Prompt: fl.Prompt, Skip: fl.Skip, LastGrowth: fl.LastGrowth}
	if _, ok := f.retired[r.Path]; !ok {
		f.retiredOrder = append(f.retiredOrder, r.Path)
	}
	f.retired[r.Path] = r
	for len(f.retiredOrder) > maxRetired {
		delete(f.retired, f.retiredOrder[0])
		f.retiredOrder = f.retiredOrder[1:]
	}
}

// Forget stops following a session's transcripts, which the caller does when
// the session closed. They are not dropped at once: the next Poll reads each
// to its current end (Claude Code writes a response's lines before the hooks
// that follow it, so SessionEnd comes after the last of them), and retires it
// after a Poll that found nothing new in it. A retired file keeps its offset
// (the last 256 are remembered), so when the session resumes and an event
// names the file again it continues where it stopped. Lines appended after the
// file was retired, without a hook naming it again, are not read.
func (f *Follower) Forget(sessionID string) {
	for _, fl := range f.files {
		if fl.Session == sessionID {
			fl.Closing = true
		}
	}
	delete(f.mains, sessionID)
	for k := range f.derived {
		if k.session == sessionID {
			delete(f.derived, k)
		}
	}
}

// sorted returns the followed files sorted by path.
func (f *Follower) sorted() []*file {
	if f.order == nil {
		f.order = make([]*file, 0, len(f.files))
		for _, fl := range f.files {
			f.order = append(f.order, fl)
		}
		slices.SortFunc(f.order, func(a, b *file) int { return strings.Compare(a.Path, b.Path) })
	}
	return f.order
}

// Poll reads the complete lines appended to the followed transcripts since the
// last Poll and returns the usage they carry, in file order within each file
// (nil when none). It reads each file from its offset (never from the start,
// unless the file was rewritten), at most MaxBytesPerPoll in all (files take
// turns starting the Poll, so one large file does not starve the others); a
// partial last line waits for the next Poll. A missing or unreadable file is
// retried on later Polls, less often the longer it fails; it never stops the
// others. Poll also lists <dir>/<session>/subagents/ next to each main
// transcript that grew (and every 32 Polls) and follows the agent-*.jsonl
// files there.
func (f *Follower) Poll() []Usage {
	f.seq++
	f.out = nil
	files := f.sorted()
	budget := f.opts.MaxBytesPerPoll
	var drained, discover []*file
	if n := len(files); n > 0 {
		start := int(f.seq % uint64(n))
		for k := range n {
			fl := files[(start+k)%n]
			if fl.RetryAt > f.seq {
				continue
			}
			if budget <= 0 {
				break
			}
			grew, done := f.read(fl, &budget)
			if fl.Closing && !grew && done {
				drained = append(drained, fl)
			}
			if !fl.Sub && !fl.Closing && (grew || f.seq%discoverEvery == 1) {
				discover = append(discover, fl)
			}
		}
	}
	for _, fl := range drained {
		f.retire(fl)
	}
	for _, fl := range discover {
		f.discover(fl)
	}
	if cap(f.buf) > keepBuffer {
		f.buf = nil
	}
	f.st.usages.Add(uint64(len(f.out)))
	out := f.out
	f.out = nil
	return out
}

// discover follows the subagent transcripts next to a main transcript.
func (f *Follower) discover(main *file) {
	if !safeName(main.Session) {
		return
	}
	dir := filepath.Join(filepath.Dir(main.Path), main.Session, "subagents")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // usually: no subagent ran yet
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, "agent-") || !strings.HasSuffix(name, ".jsonl") {
			continue
		}
		path := filepath.Join(dir, name)
		if _, ok := f.files[path]; !ok {
			f.track(path, main.Session, "", true)
		}
	}
}

var errNotRegular = errors.New("not a regular file")

// errOutside: a path inside AllowedDirs whose symlinks lead outside them.
var errOutside = errors.New("resolves outside the allowed directories")

// resolve returns path with its symlinks resolved, refusing it when that
// leaves AllowedDirs (themselves resolved): the check at Track compares text
// only, and a link inside an allowed directory may point anywhere.
func (f *Follower) resolve(path string) (string, error) {
	if len(f.opts.AllowedDirs) == 0 {
		return path, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	for _, d := range f.opts.AllowedDirs {
		if rd, err := filepath.EvalSymlinks(d); err == nil {
			d = rd
		}
		if within(d, real) {
			return real, nil
		}
	}
	f.st.rejected.Add(1)
	return "", errOutside
}

// within reports whether path is dir or below it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// fail records a failed attempt and schedules the next one: after 2, 4, ...
// up to 64 Polls, or at the next Poll after an event names the file.
func (f *Follower) fail(fl *file, err error) {
	f.st.readErrs.Add(1)
	if fl.Misses == 0 {
		f.opts.Logger.Debug("transcript not readable", "path", fl.Path, "err", err)
	}
	fl.Misses++
	fl.RetryAt = f.seq + uint64(min(1<<min(fl.Misses, 10), maxBackoff))
}

// read reads fl's new complete lines. grew reports whether it consumed any;
// done whether it reached the end of what the file had (not cut by the budget).
func (f *Follower) read(fl *file, budget *int64) (grew, done bool) {
	info, err := os.Stat(fl.Path)
	if err == nil && !info.Mode().IsRegular() {
		err = errNotRegular
	}
	if err != nil {
		f.fail(fl, err)
		return false, true
	}
	if info.Size() == fl.Offset && (fl.FPLen > 0 || fl.Offset == 0) {
		fl.Misses = 0
		return false, true
	}
	real, err := f.resolve(fl.Path)
	if err != nil {
		f.fail(fl, err)
		return false, true
	}
	fd, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		f.fail(fl, err)
		return false, true
	}
	defer fd.Close()
	if info, err = fd.Stat(); err == nil && !info.Mode().IsRegular() {
		err = errNotRegular
	}
	if err != nil {
		f.fail(fl, err)
		return false, true
	}
	fl.Misses = 0
	size := info.Size()
	if err := f.checkIdentity(fl, fd, size); err != nil {
		f.fail(fl, err)
		return false, true
	}
	buf := f.buf[:0]
	pos := fl.Offset // file offset of buf[0]
	done = true
	for {
		next := pos + int64(len(buf))
		if next >= size {
			break
		}
		if *budget <= 0 && len(buf) == 0 {
			done = false
			break
		}
		want := int(min(int64(readChunk), size-next))
		if cap(buf)-len(buf) < want {
			grown := make([]byte, len(buf), max(2*cap(buf), len(buf)+want))
			copy(grown, buf)
			buf = grown
		}
		n, rerr := fd.ReadAt(buf[len(buf):len(buf)+want], next)
		buf = buf[:len(buf)+n]
		*budget -= int64(n)
		f.st.bytes.Add(uint64(n))
		used, lines := f.lines(fl, buf)
		if lines > 0 {
			grew = true
		}
		pos += int64(used)
		buf = buf[:copy(buf, buf[used:])]
		if len(buf) > f.opts.MaxLineBytes {
			// Skip the rest of this line as it streams by.
			f.st.oversized.Add(1)
			f.opts.Logger.Debug("transcript line too long, skipped", "path", fl.Path, "offset", pos, "max_bytes", f.opts.MaxLineBytes)
			fl.Skip = true
			pos += int64(len(buf))
			buf = buf[:0]
		}
		fl.Offset = pos
		if rerr != nil || n == 0 {
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				f.fail(fl, rerr)
			}
			break // the file shrank under us: the next Poll sorts it out
		}
	}
	f.buf = buf[:0]
	if grew {
		fl.LastGrowth = f.seq
	}
	return grew, done
}

// checkIdentity restarts fl from the beginning when the file shrank below the
// offset or no longer starts with the bytes it started with (rewritten), and
// extends the fingerprint while the file is shorter than it.
func (f *Follower) checkIdentity(fl *file, fd *os.File, size int64) error {
	n := int(min(size, fingerprintSize))
	head := f.fpBuf[:n]
	if _, err := fd.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read fingerprint: %w", err)
	}
	rewritten := size < fl.Offset || fl.FPLen > n || fl.FPLen > 0 && hashID(head[:fl.FPLen]) != fl.FP
	if rewritten {
		f.st.rewrites.Add(1)
		f.opts.Logger.Debug("transcript rewritten, reading it again", "path", fl.Path, "size", size, "offset", fl.Offset)
		// Recent stays: a message read again applies only its difference, and
		// the seen set skips the others.
		fl.Offset, fl.Prompt, fl.Skip = 0, "", false
	}
	if n > fl.FPLen || rewritten {
		fl.FP, fl.FPLen = hashID(head), n
	}
	return nil
}

var (
	quotedAssistant = []byte(`"assistant"`)
	promptIDKey     = []byte(`"promptId"`)
)

// lines handles the complete lines in buf and returns the bytes consumed and
// the number of lines.
func (f *Follower) lines(fl *file, buf []byte) (used, lines int) {
	if fl.Skip {
		k := bytes.IndexByte(buf, '\n')
		if k < 0 {
			return len(buf), 0
		}
		fl.Skip = false
		used = k + 1
	}
	for {
		k := bytes.IndexByte(buf[used:], '\n')
		if k < 0 {
			return used, lines
		}
		f.line(fl, buf[used:used+k])
		used += k + 1
		lines++
	}
}

// line handles one line. Only lines that mention "assistant" or "promptId"
// are parsed: a JSON string token "assistant" appears unescaped in every
// assistant line (type and role), and a promptId key in every line that sets
// the turn. Everything else (progress, system, summary, snapshots, unknown
// types) is skipped without parsing.
func (f *Follower) line(fl *file, l []byte) {
	f.st.lines.Add(1)
	asst := bytes.Contains(l, quotedAssistant)
	if !asst && !bytes.Contains(l, promptIDKey) {
		return
	}
	var r record
	if err := f.parser.parse(l, &r); err != nil {
		f.st.malformed.Add(1)
		f.opts.Logger.Debug("transcript line not parsable", "path", fl.Path, "offset", fl.Offset, "sample", string(l[:min(len(l), 200)]))
		return
	}
	if len(r.promptID) > 0 && string(r.promptID) != fl.Prompt {
		fl.Prompt = string(r.promptID)
	}
	if !asst || string(r.typ) != "assistant" || !r.hasUsage || string(r.model) == "<synthetic>" {
		return
	}
	id := r.msgID
	if len(id) == 0 {
		id = r.requestID
	}
	if len(id) == 0 {
		id = r.uuid
	}
	if len(id) == 0 {
		f.st.noID.Add(1)
		return
	}
	agent := fl.Agent
	if len(r.agentID) > 0 {
		agent = f.intern(r.agentID)
	}
	c := contribution{
		Model: f.intern(r.model), Prompt: fl.Prompt, Agent: agent,
		Input: r.input, Output: r.output, CacheRead: r.cacheRead, CacheWrite: r.cacheWrite,
		CacheWrite1h: min(r.cacheWrite1h, r.cacheWrite),
	}
	f.count(fl, id, c)
}

// intern returns b as a string shared by every equal value.
func (f *Follower) intern(b []byte) string {
	if s, ok := f.strs[string(b)]; ok {
		return s
	}
	if len(f.strs) >= 4096 {
		clear(f.strs)
	}
	s := string(b)
	f.strs[s] = s
	return s
}

// count applies one assistant line of message id: the difference to what the
// message counted so far when it is the latest message of the line's agent in
// this file (the lines of one response follow each other, with tool results
// possibly between them, and old transcripts interleave the sidechain lines of
// parallel subagents), nothing for a message counted before (a replay, or a
// copy in another file), or all of it for a new message.
func (f *Follower) count(fl *file, id []byte, c contribution) {
	// Only the latest message of the line's agent in this file is still being
	// written; an older one seen again is a replay.
	for i := len(fl.Recent) - 1; i >= 0; i-- {
		if fl.Recent[i].ID == string(id) {
			old := fl.Recent[i]
			c.ID = old.ID
			fl.Recent[i] = c
			f.emit(fl, old, c)
			return
		}
		if fl.Recent[i].Agent == c.Agent {
			break
		}
	}
	h := hashID(id)
	if f.seen.has(h) {
		f.st.duplicates.Add(1)
		return
	}
	f.seen.add(h)
	c.ID = string(id)
	if len(fl.Recent) >= recentPerFile {
		fl.Recent = slices.Delete(fl.Recent, 0, len(fl.Recent)-recentPerFile+1)
	}
	fl.Recent = append(fl.Recent, c)
	f.emit(fl, contribution{ID: c.ID}, c)
}

// emit returns the change from old to c as Usage values: one difference when
// the labels are the same, else old taken back and c added.
func (f *Follower) emit(fl *file, old, c contribution) {
	if old.Model == c.Model && old.Prompt == c.Prompt && old.Agent == c.Agent {
		f.push(fl, c, c.Input-old.Input, c.Output-old.Output, c.CacheRead-old.CacheRead, c.CacheWrite-old.CacheWrite, c.CacheWrite1h-old.CacheWrite1h)
		return
	}
	f.push(fl, old, -old.Input, -old.Output, -old.CacheRead, -old.CacheWrite, -old.CacheWrite1h)
	f.push(fl, c, c.Input, c.Output, c.CacheRead, c.CacheWrite, c.CacheWrite1h)
}

func (f *Follower) push(fl *file, c contribution, in, out, cr, cw, cw1h int64) {
	if in == 0 && out == 0 && cr == 0 && cw == 0 && cw1h == 0 {
		return
	}
	f.out = append(f.out, Usage{
		SessionID: fl.Session, AgentID: c.Agent, PromptID: c.Prompt, Model: c.Model, MessageID: c.ID,
		Input: in, Output: out, CacheRead: cr, CacheCreation: cw, CacheCreation1h: cw1h,
	})
}

// persisted is the serialised state.
type persisted struct {
	Version int `json:"v"`
	// Seq is the number of Polls so far.
	Seq     uint64  `json:"seq"`
	Files   []*file `json:"files"`
	Retired []*file `json:"retired,omitempty"`
	// Seen are the hashes of the remembered message ids, oldest first, 8 bytes
	// each, little endian (base64 in JSON).
	Seen []byte `json:"seen,omitempty"`
}

// MarshalState serialises what the follower knows: each file's offset,
// fingerprint, latest prompt id and recent message figures, the retired files'
// offsets, and the remembered message ids. Stored in the same checkpoint as
// the tracker state that the returned Usage went into, it makes a restart
// count every message exactly once. The output is deterministic.
func (f *Follower) MarshalState() ([]byte, error) {
	st := persisted{Version: stateVersion, Seq: f.seq, Files: f.sorted(), Seen: f.seen.marshal()}
	for _, p := range f.retiredOrder {
		st.Retired = append(st.Retired, f.retired[p])
	}
	b, err := json.Marshal(&st)
	if err != nil {
		return nil, fmt.Errorf("marshal transcript state: %w", err)
	}
	return b, nil
}

// UnmarshalState replaces the follower's state with one from MarshalState. A
// damaged state is refused and leaves the follower as it was.
func (f *Follower) UnmarshalState(b []byte) error {
	var st persisted
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("unmarshal transcript state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("unmarshal transcript state: version %d, want %d", st.Version, stateVersion)
	}
	if len(st.Seen)%8 != 0 {
		return errors.New("unmarshal transcript state: damaged message ids")
	}
	files := make(map[string]*file, len(st.Files))
	retired := make(map[string]*file, len(st.Retired))
	var retiredOrder []string
	for _, group := range []struct {
		list []*file
		into map[string]*file
	}{{st.Files, files}, {st.Retired, retired}} {
		for _, fl := range group.list {
			if fl == nil || fl.Path == "" || fl.Session == "" || fl.Offset < 0 || fl.FPLen < 0 || fl.FPLen > fingerprintSize {
				return errors.New("unmarshal transcript state: damaged file entry")
			}
			if _, dup := files[fl.Path]; dup {
				return fmt.Errorf("unmarshal transcript state: file %s twice", fl.Path)
			}
			if _, dup := retired[fl.Path]; dup {
				return fmt.Errorf("unmarshal transcript state: file %s twice", fl.Path)
			}
			if len(fl.Recent) > recentPerFile {
				fl.Recent = fl.Recent[len(fl.Recent)-recentPerFile:]
			}
			group.into[fl.Path] = fl
		}
	}
	for _, fl := range st.Retired {
		retiredOrder = append(retiredOrder, fl.Path)
	}
	f.files, f.order, f.retired, f.retiredOrder, f.seq = files, nil, retired, retiredOrder, st.Seq
	f.mains = map[string]string{}
	for _, fl := range f.sorted() {
		if !fl.Sub && !fl.Closing {
			f.mains[fl.Session] = fl.Path
		}
	}
	clear(f.derived)
	f.seen.load(st.Seen)
	f.st.files.Store(int64(len(f.files)))
	return nil
}

// Files lists the followed transcripts' paths, sorted (for tests and status).
func (f *Follower) Files() []string {
	out := make([]string, 0, len(f.files))
	for _, fl := range f.sorted() {
		out = append(out, fl.Path)
	}
	return out
}
