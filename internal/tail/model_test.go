package tail

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fsnotify/fsnotify"
)

// TestModel drives a Tailer with random sequences of file-system actions and
// restarts, in the spirit of Vector's file source model test, and checks what
// it returns against a reference model: every complete line is returned
// exactly once and in file order, except the lines of a file destroyed before
// they were read (truncated in place, deleted, moved out), of which any prefix
// may be returned.
func TestModel(t *testing.T) {
	type modelTest struct {
		seed   int64
		fpSize int  // fingerprint size: small sizes exercise full fingerprints
		open   int  // open-file bound
		idle   int  // idle scans before a file is closed
		events bool // feed the notifications fsnotify would give, late
	}
	tests := []modelTest{
		{seed: 1},
		{seed: 2, fpSize: 24},
		{seed: 3, open: 2, idle: 1},
		{seed: 4, fpSize: 16, open: 3, idle: 2},
		{seed: 5},
		{seed: 6, fpSize: 40, open: 1, idle: 1},
		{seed: 7, open: 2},
		{seed: 8, fpSize: 24, idle: 1},
		{seed: 9, events: true},
		{seed: 10, fpSize: 24, events: true},
		{seed: 11, open: 2, idle: 1, events: true},
		{seed: 12, fpSize: 16, open: 3, idle: 2, events: true},
	}
	// More seeds on demand: go test -run TestModel -model.seeds=500 -model.steps=1200
	for i := range *modelSeeds {
		tests = append(tests, modelTest{
			seed: int64(1000 + i), fpSize: []int{0, 16, 24, 40, 64}[i%5], open: []int{0, 1, 2, 3}[i%4], idle: []int{0, 1, 2}[i%3],
			events: i%2 == 1,
		})
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("seed=%d", tt.seed), func(t *testing.T) {
			m := newModel(t, tt.seed, func(o *Options) {
				o.noWatch = true
				o.fingerprintSize, o.maxOpen, o.idleScans = tt.fpSize, tt.open, tt.idle
			})
			m.events = tt.events
			for step := range *modelSteps {
				m.step(step)
			}
			m.drain()
			m.check(true)
		})
	}
}

var (
	modelSeeds = flag.Int("model.seeds", 0, "random seeds TestModel runs beyond its fixed ones")
	modelSteps = flag.Int("model.steps", 400, "actions per TestModel run")
)

// mfile is the model of one file identity: the lines written to it.
type mfile struct {
	id        int
	name      string // in the spool directory; "" once it left it
	lines     []string
	partial   string // the written start of an unfinished line
	unended   string // that whole line
	destroyed bool   // truncated, deleted or moved out: unread lines may be lost
}

type model struct {
	*harness
	rng   *rand.Rand
	files []*mfile
	byID  map[int]*mfile
	names map[string]*mfile // files in the spool directory by name
	log   []string          // actions, for failure messages

	// events makes the model hand the Tailer the notifications fsnotify
	// would give for its actions, in order but late: each read delivers only
	// a random number of those pending, so reads without a scan see writes
	// whose notifications (or those of renames after them) did not come yet.
	events  bool
	pending []fsnotify.Event

	got      []string // lines returned since the start, minus rolled-back ones
	snapPos  []Position
	snapGot  int
	outCount int
}

func newModel(tb testing.TB, seed int64, configure func(*Options)) *model {
	return &model{
		harness: newHarness(tb, true, configure),
		rng:     rand.New(rand.NewSource(seed)),
		byID:    map[int]*mfile{},
		names:   map[string]*mfile{},
	}
}

var modelNames = []string{"a", "b", "c", "d", "e"}

// notify queues the notifications for an action on name (a base name in
// the spool directory) when the model feeds them.
func (m *model) notify(name string, ops ...fsnotify.Op) {
	if !m.events {
		return
	}
	for _, op := range ops {
		m.pending = append(m.pending, fsnotify.Event{Name: m.path(name), Op: op})
	}
}

// deliver hands the Tailer some of the pending notifications, oldest first.
// The caller holds m.tl.mu.
func (m *model) deliver() {
	if len(m.pending) == 0 {
		return
	}
	n := m.rng.Intn(len(m.pending) + 1)
	for _, ev := range m.pending[:n] {
		m.tl.noteEvent(ev)
	}
	m.pending = append(m.pending[:0], m.pending[n:]...)
}

func (m *model) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf(format, args...))
}

func (m *model) fail(format string, args ...any) {
	m.tb.Helper()
	tail := m.log[max(0, len(m.log)-40):]
	m.tb.Fatalf("%s\nlast actions:\n  %s", fmt.Sprintf(format, args...), strings.Join(tail, "\n  "))
}

// file returns the file under name, creating it in the model if needed.
func (m *model) file(name string) *mfile {
	if f := m.names[name]; f != nil {
		return f
	}
	f := &mfile{id: len(m.files), name: name}
	m.files = append(m.files, f)
	m.byID[f.id] = f
	m.names[name] = f
	return f
}

func (m *model) newLine(f *mfile) string {
	return fmt.Sprintf("f%d-%d-%s", f.id, len(f.lines), strings.Repeat("x", m.rng.Intn(60)))
}

// unusedName returns a name not in use, or "" if all are.
func (m *model) unusedName() string {
	var free []string
	for _, n := range modelNames {
		if m.names[n] == nil {
			free = append(free, n)
		}
	}
	if len(free) == 0 {
		return ""
	}
	return free[m.rng.Intn(len(free))]
}

// usedName returns a name in use, or "" if none is.
func (m *model) usedName() string {
	var used []string
	for _, n := range modelNames {
		if m.names[n] != nil {
			used = append(used, n)
		}
	}
	if len(used) == 0 {
		return ""
	}
	return used[m.rng.Intn(len(used))]
}

// destroy records that f's content is gone from the directory.
func (m *model) destroy(f *mfile) {
	f.destroyed = true
	if f.name != "" {
		delete(m.names, f.name)
		f.name = ""
	}
}

func (m *model) step(i int) {
	switch a := m.rng.Intn(100); {
	case a < 30: // append complete lines, finishing an unfinished one first
		name := modelNames[m.rng.Intn(len(modelNames))]
		if m.names[name] == nil {
			m.notify(name, fsnotify.Create)
		}
		f := m.file(name)
		var b strings.Builder
		if f.unended != "" {
			b.WriteString(f.unended[len(f.partial):] + "\n")
			f.lines = append(f.lines, f.unended)
			f.partial, f.unended = "", ""
		}
		for range 1 + m.rng.Intn(3) {
			line := m.newLine(f)
			b.WriteString("\n" + line + "\n")
			f.lines = append(f.lines, line)
		}
		m.logf("%d: append %q to %s (file %d)", i, b.String(), name, f.id)
		m.write(name, b.String())
		m.notify(name, fsnotify.Write)
	case a < 38: // start a line without finishing it
		name := modelNames[m.rng.Intn(len(modelNames))]
		if m.names[name] != nil && m.names[name].unended != "" {
			return
		}
		if m.names[name] == nil {
			m.notify(name, fsnotify.Create)
		}
		f := m.file(name)
		f.unended = m.newLine(f)
		f.partial = f.unended[:m.rng.Intn(len(f.unended))]
		m.logf("%d: append partial %q to %s (file %d)", i, f.partial, name, f.id)
		m.write(name, "\n"+f.partial)
		m.notify(name, fsnotify.Write)
	case a < 44: // rename within the directory
		from, to := m.usedName(), m.unusedName()
		if from == "" || to == "" {
			return
		}
		f := m.names[from]
		m.logf("%d: rename %s to %s (file %d)", i, from, to, f.id)
		m.rename(from, to)
		m.notify(from, fsnotify.Rename)
		m.notify(to, fsnotify.Create)
		delete(m.names, from)
		f.name, m.names[to] = to, f
	case a < 48: // move out of the directory
		name := m.usedName()
		if name == "" {
			return
		}
		m.outCount++
		m.logf("%d: move %s out (file %d)", i, name, m.names[name].id)
		m.rename(name, "out/"+strconv.Itoa(m.outCount))
		m.notify(name, fsnotify.Rename)
		m.destroy(m.names[name])
	case a < 52: // copy-truncate, the copy in the directory
		from, to := m.usedName(), m.unusedName()
		if from == "" || to == "" {
			return
		}
		f := m.names[from]
		m.logf("%d: copy-truncate %s to %s (file %d continues there)", i, from, to, f.id)
		m.copy(from, to)
		m.notify(to, fsnotify.Create, fsnotify.Write)
		m.truncate(from)
		m.notify(from, fsnotify.Write)
		delete(m.names, from)
		f.name, m.names[to] = to, f
		m.file(from) // a new, empty file under the old name
	case a < 55: // copy-truncate, the copy elsewhere
		name := m.usedName()
		if name == "" {
			return
		}
		m.outCount++
		m.logf("%d: copy-truncate %s out (file %d)", i, name, m.names[name].id)
		m.copy(name, "out/"+strconv.Itoa(m.outCount))
		m.truncate(name)
		m.notify(name, fsnotify.Write)
		m.destroy(m.names[name])
		m.file(name)
	case a < 57: // truncate in place
		name := m.usedName()
		if name == "" {
			return
		}
		m.logf("%d: truncate %s (file %d)", i, name, m.names[name].id)
		m.truncate(name)
		m.notify(name, fsnotify.Write)
		m.destroy(m.names[name])
		m.file(name)
	case a < 61: // delete
		name := m.usedName()
		if name == "" {
			return
		}
		m.logf("%d: delete %s (file %d)", i, name, m.names[name].id)
		m.remove(name)
		m.notify(name, fsnotify.Remove)
		m.destroy(m.names[name])
	case a < 85: // read one batch, with or without a scan first
		max, scan := 1+m.rng.Intn(8), m.rng.Intn(2) == 0
		got := m.read(max, scan)
		m.logf("%d: read max=%d scan=%v: %q", i, max, scan, got)
	case a < 88: // drain and check everything so far
		m.logf("%d: drain", i)
		m.drain()
		m.check(true)
	case a < 93: // checkpoint
		m.snapPos, m.snapGot = m.tl.Positions(), len(m.got)
		m.logf("%d: checkpoint %+v", i, m.snapPos)
	case a < 96: // clean restart from a fresh checkpoint
		m.snapPos, m.snapGot = m.tl.Positions(), len(m.got)
		m.logf("%d: restart from %+v", i, m.snapPos)
		m.restartFrom(m.snapPos)
	default: // crash: lines after the last checkpoint were never processed
		m.logf("%d: crash, back to %+v (%d lines)", i, m.snapPos, m.snapGot)
		m.got = m.got[:m.snapGot]
		m.restartFrom(m.snapPos)
	}
	m.check(false)
}

func (m *model) restartFrom(pos []Position) {
	m.tb.Helper()
	if err := m.tl.Close(); err != nil {
		m.tb.Fatal(err)
	}
	m.start(pos)
}

func (m *model) read(max int, scan bool) []string {
	m.tl.mu.Lock()
	m.deliver()
	lines := texts(m.tl.poll(max, scan))
	m.tl.mu.Unlock()
	if len(lines) > max {
		m.fail("read %d lines, max %d", len(lines), max)
	}
	m.got = append(m.got, lines...)
	return lines
}

// drain reads until a few scans in a row find nothing (a file waiting for a
// free descriptor gets one on the scan after another file was forgotten).
func (m *model) drain() {
	for empty := 0; empty < 3; {
		if len(m.read(100, true)) == 0 {
			empty++
		} else {
			empty = 0
		}
	}
}

// check verifies that, for every file, the lines returned are its first
// lines, in order, each once; complete requires all of them for files still
// in the directory.
func (m *model) check(complete bool) {
	m.tb.Helper()
	seen := map[int]int{} // file id -> lines returned
	for _, line := range m.got {
		id, seq, ok := parseLine(line)
		f := m.byID[id]
		if !ok || f == nil || seq >= len(f.lines) || f.lines[seq] != line {
			m.fail("returned a line never written completely: %q", line)
		}
		if seq != seen[id] {
			m.fail("file %d: returned line %d after %d lines (duplicate, gap or disorder): %q", id, seq, seen[id], line)
		}
		seen[id]++
	}
	if !complete {
		return
	}
	for _, f := range m.files {
		if !f.destroyed && seen[f.id] != len(f.lines) {
			m.fail("file %d (%s): %d of %d lines returned after draining; missing %q",
				f.id, f.name, seen[f.id], len(f.lines), f.lines[seen[f.id]:])
		}
	}
}

func parseLine(s string) (id, seq int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(s, "f"), "-", 3)
	if len(parts) != 3 {
		return 0, 0, false
	}
	id, err1 := strconv.Atoi(parts[0])
	seq, err2 := strconv.Atoi(parts[1])
	return id, seq, err1 == nil && err2 == nil
}

// TestModelHelpers keeps the model's own bookkeeping honest: the files it
// believes are in the directory are the ones there.
func TestModelHelpers(t *testing.T) {
	m := newModel(t, 42, func(o *Options) { o.noWatch = true })
	for step := range 200 {
		m.step(step)
	}
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk, inModel []string
	for _, e := range ents {
		onDisk = append(onDisk, e.Name())
	}
	for name := range m.names {
		inModel = append(inModel, name)
	}
	slices.Sort(inModel)
	if !slices.Equal(onDisk, inModel) {
		t.Fatalf("files on disk %q, in the model %q", onDisk, inModel)
	}
}
