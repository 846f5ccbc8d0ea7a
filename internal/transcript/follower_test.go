package transcript

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func golden(tb testing.TB, name, got string) {
	tb.Helper()
	goldentest.Compare(tb, filepath.Join("testdata", name), []byte(got))
}

// layout is where a session's transcripts live, as Claude Code lays them out.
type layout struct {
	main string
	dir  string // <project>/<session>/subagents
}

func newLayout(tb testing.TB, root, session string) layout {
	tb.Helper()
	proj := filepath.Join(root, "projects", "-home-dev-src-acme-api")
	l := layout{main: filepath.Join(proj, session+".jsonl"), dir: filepath.Join(proj, session, "subagents")}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return l
}

func (l layout) agent(id string) string { return filepath.Join(l.dir, "agent-"+id+".jsonl") }

func appendTo(tb testing.TB, path string, b []byte) {
	tb.Helper()
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := fd.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := fd.Close(); err != nil {
		tb.Fatal(err)
	}
}

func start(session, path string) *hookevent.Event {
	return &hookevent.Event{Name: "SessionStart", SessionID: session, TranscriptPath: path}
}

// drain polls until three Polls in a row find nothing (subagent transcripts
// are discovered by one Poll and read by the next) and returns what they found.
func drain(tb testing.TB, f *Follower) []Usage {
	tb.Helper()
	var out []Usage
	quiet := 0
	for range 1000 {
		us := f.Poll()
		out = append(out, us...)
		if len(us) > 0 {
			quiet = 0
			continue
		}
		if quiet++; quiet == 3 {
			return out
		}
	}
	tb.Fatal("follower never went quiet")
	return nil
}

const sampleSession = "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"

func writeSamples(tb testing.TB, l layout) {
	tb.Helper()
	for src, dst := range map[string]string{"transcript.jsonl": l.main, "transcript-subagent.jsonl": l.agent("a4d2c8f1e0b3a297")} {
		b, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			tb.Fatal(err)
		}
		appendTo(tb, dst, b)
	}
}

func formatUsages(us []Usage) string {
	var b strings.Builder
	for _, u := range us {
		fmt.Fprintf(&b, "%s agent=%q prompt=%q model=%s id=%s in=%d out=%d cache_read=%d cache_creation=%d cache_creation_1h=%d\n",
			u.SessionID, u.AgentID, u.PromptID, u.Model, u.MessageID, u.Input, u.Output, u.CacheRead, u.CacheCreation, u.CacheCreation1h)
	}
	return b.String()
}

// TestSamples: the shared sample transcripts, the subagent's found by listing
// <session>/subagents/; the duplicate line of msg_01Xk3b counts once.
func TestSamples(t *testing.T) {
	l := newLayout(t, t.TempDir(), sampleSession)
	writeSamples(t, l)
	f := NewFollower(Options{})
	f.Track(start(sampleSession, l.main))
	us := drain(t, f)
	golden(t, "samples.golden", formatUsages(us)+"--- totals\n"+formatTotals(sum(us)))
	want := map[key]totals{
		{sampleSession, "", "0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60", "claude-opus-4-6"}:                  {Input: 4, Output: 283, CacheRead: 33639, CacheCreation: 5551, CacheCreation1h: 5551},
		{sampleSession, "a4d2c8f1e0b3a297", "0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60", "claude-haiku-4-5"}: {Input: 9, Output: 71, CacheCreation: 3120},
	}
	if diff := cmp.Diff(want, sum(us)); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if st := f.Stats(); st.Files != 2 || st.Lines != 7 {
		t.Errorf("stats: %+v", st)
	}
}

var genSeeds = []uint64{1, 2, 3, 4}

// TestGenerated: long generated transcripts, read whole, give exactly the
// generator's totals (and the golden, which pins them).
func TestGenerated(t *testing.T) {
	var all strings.Builder
	for _, seed := range genSeeds {
		g := generate(seed, 400)
		l := newLayout(t, t.TempDir(), g.session)
		appendTo(t, l.main, g.main)
		for id, b := range g.agents {
			appendTo(t, l.agent(id), b)
		}
		f := NewFollower(Options{})
		f.Track(start(g.session, l.main))
		got := sum(drain(t, f))
		if diff := cmp.Diff(g.want, got); diff != "" {
			t.Errorf("seed %d (-generator +follower):\n%s", seed, diff)
		}
		if st := f.Stats(); st.Duplicates == 0 || st.Malformed != 0 {
			t.Errorf("seed %d: stats %+v: want replays recognised and nothing malformed", seed, st)
		}
		// The golden pins the totals by model, main conversation or subagents.
		grouped := map[key]totals{}
		for k, v := range got {
			g := key{Session: k.Session, Model: k.Model, Agent: "main"}
			if k.Agent != "" {
				g.Agent = "subagents"
			}
			t := grouped[g]
			t.add(Usage{Input: v.Input, Output: v.Output, CacheRead: v.CacheRead, CacheCreation: v.CacheCreation, CacheCreation1h: v.CacheCreation1h})
			grouped[g] = t
		}
		fmt.Fprintf(&all, "--- seed %d: %d bytes main, %d subagents, %d (session, agent, prompt, model) keys\n%s",
			seed, len(g.main), len(g.agents), len(got), formatTotals(grouped))
	}
	golden(t, "generated.golden", all.String())
}

// piece is one append of a scripted write.
type piece struct {
	path string
	data []byte
}

// pieces cuts each file into random pieces (anywhere, also inside lines) and
// interleaves the files' pieces in a random order that keeps each file's order.
func pieces(r *rand.Rand, files map[string][]byte) []piece {
	var queues [][]piece
	for _, path := range slicesSortedKeys(files) {
		b := files[path]
		var q []piece
		for len(b) > 0 {
			n := min(len(b), 1+r.IntN(3000))
			q = append(q, piece{path, b[:n]})
			b = b[n:]
		}
		queues = append(queues, q)
	}
	var out []piece
	for len(queues) > 0 {
		i := r.IntN(len(queues))
		out = append(out, queues[i][0])
		if queues[i] = queues[i][1:]; len(queues[i]) == 0 {
			queues = slices.Delete(queues, i, i+1)
		}
	}
	return out
}

func slicesSortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func genFiles(g generated, l layout) map[string][]byte {
	files := map[string][]byte{l.main: g.main}
	for id, b := range g.agents {
		files[l.agent(id)] = b
	}
	return files
}

// TestWrittenInPieces: transcripts appended in pieces cut anywhere (partial
// last lines), polled between pieces with a small read budget, as hook events
// arrive (SubagentStop naming the subagent's transcript), end with exact totals.
func TestWrittenInPieces(t *testing.T) {
	for _, seed := range genSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			g := generate(seed, 150)
			l := newLayout(t, t.TempDir(), g.session)
			f := NewFollower(Options{MaxBytesPerPoll: 4096})
			var got []Usage
			f.Track(start(g.session, l.main))
			for _, p := range pieces(r, genFiles(g, l)) {
				appendTo(t, p.path, p.data)
				if id, ok := subagentName(p.path); ok && r.IntN(4) == 0 {
					f.Track(&hookevent.Event{Name: "SubagentStop", SessionID: g.session, AgentID: id, AgentTranscriptPath: p.path, TranscriptPath: l.main})
				}
				if r.IntN(3) == 0 {
					got = append(got, f.Poll()...)
				}
			}
			got = append(got, drain(t, f)...)
			if diff := cmp.Diff(g.want, sum(got)); diff != "" {
				t.Errorf("(-generator +follower):\n%s", diff)
			}
		})
	}
}

// TestConcurrentWriter: a goroutine appends the transcripts in pieces while
// the follower polls; after the writer finishes, the totals are exact.
func TestConcurrentWriter(t *testing.T) {
	g := generate(9, 300)
	l := newLayout(t, t.TempDir(), g.session)
	appendTo(t, l.main, nil)
	ps := pieces(rand.New(rand.NewPCG(9, 9)), genFiles(g, l))
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(done)
		for _, p := range ps {
			fd, err := os.OpenFile(p.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err == nil {
				_, err = fd.Write(p.data)
				if cerr := fd.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	f := NewFollower(Options{MaxBytesPerPoll: 16 << 10})
	f.Track(start(g.session, l.main))
	var got []Usage
	polls := 0
	for running := true; running; polls++ {
		select {
		case <-done:
			running = false
		default:
		}
		got = append(got, f.Poll()...)
	}
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	got = append(got, drain(t, f)...)
	if diff := cmp.Diff(g.want, sum(got)); diff != "" {
		t.Errorf("after %d polls during the writes (-generator +follower):\n%s", polls, diff)
	}
}

// restart serialises f and returns a new follower restored from it.
func restart(tb testing.TB, f *Follower, opts Options) *Follower {
	tb.Helper()
	b, err := f.MarshalState()
	if err != nil {
		tb.Fatal(err)
	}
	n := NewFollower(opts)
	if err := n.UnmarshalState(b); err != nil {
		tb.Fatal(err)
	}
	again, err := n.MarshalState()
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		tb.Fatalf("state changed in a round trip:\n%s\n%s", b, again)
	}
	return n
}

// TestRestartMidTranscript: the follower is serialised and replaced by a
// restored one at random points while the transcripts are written; nothing is
// counted twice or missed.
func TestRestartMidTranscript(t *testing.T) {
	for _, seed := range genSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			g := generate(seed, 150)
			l := newLayout(t, t.TempDir(), g.session)
			opts := Options{MaxBytesPerPoll: 8192}
			f := NewFollower(opts)
			f.Track(start(g.session, l.main))
			var got []Usage
			restarts := 0
			for _, p := range pieces(r, genFiles(g, l)) {
				appendTo(t, p.path, p.data)
				if r.IntN(2) == 0 {
					got = append(got, f.Poll()...)
				}
				if r.IntN(4) == 0 {
					f = restart(t, f, opts)
					restarts++
					if r.IntN(2) == 0 {
						// The pipeline replays the spool after a restart: events
						// are tracked again.
						f.Track(start(g.session, l.main))
					}
				}
			}
			got = append(got, drain(t, f)...)
			if diff := cmp.Diff(g.want, sum(got)); diff != "" {
				t.Errorf("%d restarts (-generator +follower):\n%s", restarts, diff)
			}
		})
	}
}

// TestRestartAtEveryLine: the sample transcript, restarting after every
// single byte appended.
func TestRestartAtEveryByte(t *testing.T) {
	l := newLayout(t, t.TempDir(), sampleSession)
	b, err := os.ReadFile(filepath.Join("testdata", "transcript.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	whole := NewFollower(Options{})
	appendTo(t, l.main, nil)
	whole.Track(start(sampleSession, l.main))
	f := whole
	var got []Usage
	for i := range b {
		appendTo(t, l.main, b[i:i+1])
		got = append(got, f.Poll()...)
		f = restart(t, f, Options{})
	}
	want := map[key]totals{{sampleSession, "", "0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60", "claude-opus-4-6"}: {Input: 4, Output: 283, CacheRead: 33639, CacheCreation: 5551, CacheCreation1h: 5551}}
	if diff := cmp.Diff(want, sum(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func assistantLine(id, model string, out int) string {
	return fmt.Sprintf(`{"type":"assistant","message":{"id":%q,"model":%q,"usage":{"input_tokens":1,"output_tokens":%d}}}`+"\n", id, model, out)
}

func TestLastLineWins(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	f := NewFollower(Options{})
	f.Track(start("s", l.main))
	appendTo(t, l.main, []byte(`{"type":"user","promptId":"p1"}`+"\n"+assistantLine("m1", "claude-opus-4-6", 5)))
	got := f.Poll()
	appendTo(t, l.main, []byte(`{"type":"user","message":{"content":"tool result"},"promptId":"p1"}`+"\n"+assistantLine("m1", "claude-opus-4-6", 50)))
	got = append(got, f.Poll()...)
	appendTo(t, l.main, []byte(assistantLine("m1", "claude-opus-4-6", 40)))
	got = append(got, f.Poll()...)
	appendTo(t, l.main, []byte(assistantLine("m1", "claude-sonnet-4-5", 40)))
	got = append(got, f.Poll()...)
	want := []Usage{
		{SessionID: "s", PromptID: "p1", Model: "claude-opus-4-6", MessageID: "m1", Input: 1, Output: 5},
		{SessionID: "s", PromptID: "p1", Model: "claude-opus-4-6", MessageID: "m1", Output: 45},
		{SessionID: "s", PromptID: "p1", Model: "claude-opus-4-6", MessageID: "m1", Output: -10},
		{SessionID: "s", PromptID: "p1", Model: "claude-opus-4-6", MessageID: "m1", Input: -1, Output: -40},
		{SessionID: "s", PromptID: "p1", Model: "claude-sonnet-4-5", MessageID: "m1", Input: 1, Output: 40},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestRewrite: a transcript rewritten (shorter, or with another start) is read
// again from its start without counting its messages twice.
func TestRewrite(t *testing.T) {
	tests := []struct {
		name    string
		rewrite string
		want    int64 // output tokens in all
	}{
		{"truncated then written again with one more message", assistantLine("m1", "x", 10) + assistantLine("m2", "x", 20) + assistantLine("m3", "x", 30), 60},
		{"replaced by a file with the same messages and a new one, longer", `{"type":"summary","summary":"a longer first line than before, so the fingerprint differs"}` + "\n" + assistantLine("m1", "x", 10) + assistantLine("m2", "x", 20) + assistantLine("m3", "x", 30), 60},
		{"the latest message grew in the rewrite", assistantLine("m1", "x", 10) + assistantLine("m2", "x", 25), 35},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t, t.TempDir(), "s")
			appendTo(t, l.main, []byte(assistantLine("m1", "x", 10)+assistantLine("m2", "x", 20)+strings.Repeat(`{"type":"progress"}`+"\n", 20)))
			f := NewFollower(Options{})
			f.Track(start("s", l.main))
			got := f.Poll()
			tmp := l.main + ".tmp"
			appendTo(t, tmp, []byte(tc.rewrite))
			if err := os.Rename(tmp, l.main); err != nil {
				t.Fatal(err)
			}
			got = append(got, drain(t, f)...)
			var out int64
			for _, u := range got {
				out += u.Output
			}
			if out != tc.want {
				t.Errorf("output tokens = %d, want %d (%s)", out, tc.want, formatUsages(got))
			}
			if f.Stats().Rewrites != 1 {
				t.Errorf("rewrites = %d, want 1", f.Stats().Rewrites)
			}
		})
	}
}

// TestCopiedIntoAnotherSession: a session resumed under a new id whose
// transcript starts with a copy of the old conversation counts only what is new.
func TestCopiedIntoAnotherSession(t *testing.T) {
	root := t.TempDir()
	a, b := newLayout(t, root, "old"), newLayout(t, root, "new")
	old := assistantLine("m1", "x", 10) + assistantLine("m2", "x", 20)
	appendTo(t, a.main, []byte(old))
	appendTo(t, b.main, []byte(old+assistantLine("m3", "x", 30)))
	f := NewFollower(Options{})
	f.Track(start("old", a.main))
	got := drain(t, f)
	f.Track(start("new", b.main))
	got = append(got, drain(t, f)...)
	want := map[key]totals{{"old", "", "", "x"}: {Input: 2, Output: 30}, {"new", "", "", "x"}: {Input: 1, Output: 30}}
	if diff := cmp.Diff(want, sum(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMissingFileIsRetried(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	f := NewFollower(Options{})
	f.Track(start("s", l.main))
	for range 5 {
		if us := f.Poll(); len(us) != 0 {
			t.Fatalf("usage from a missing file: %v", us)
		}
	}
	appendTo(t, l.main, []byte(assistantLine("m1", "x", 7)))
	got := drain(t, f)
	if len(got) != 1 || got[0].Output != 7 {
		t.Fatalf("after the file appeared: %v", got)
	}
	if f.Stats().ReadErrors == 0 {
		t.Error("missing file not counted as a read error")
	}
}

func TestOversizedLineSkipped(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	f := NewFollower(Options{MaxLineBytes: 1000})
	f.Track(start("s", l.main))
	big := `{"type":"assistant","message":{"id":"big","usage":{"output_tokens":1000000},"content":"` + strings.Repeat("x", 5000) + `"}}` + "\n"
	// The oversized line arrives in pieces, across Polls and a restart.
	appendTo(t, l.main, []byte(assistantLine("m1", "x", 1)+big[:2000]))
	got := f.Poll()
	if n := f.Stats().Oversized; n != 1 {
		t.Errorf("oversized = %d, want 1", n)
	}
	f = restart(t, f, Options{MaxLineBytes: 1000})
	appendTo(t, l.main, []byte(big[2000:]+assistantLine("m2", "x", 2)))
	got = append(got, drain(t, f)...)
	if diff := cmp.Diff(map[key]totals{{"s", "", "", "x"}: {Input: 2, Output: 3}}, sum(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLongLineAcrossBudget: a line longer than the per-Poll budget is still
// read whole.
func TestLongLineAcrossBudget(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	f := NewFollower(Options{MaxBytesPerPoll: 100})
	f.Track(start("s", l.main))
	long := `{"type":"assistant","message":{"id":"m","model":"x","content":"` + strings.Repeat("y", 600<<10) + `","usage":{"output_tokens":9}}}` + "\n"
	appendTo(t, l.main, []byte(long))
	got := drain(t, f)
	if len(got) != 1 || got[0].Output != 9 {
		t.Fatalf("got %v", formatUsages(got))
	}
}

func TestForgetDrainsThenRetires(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	f := NewFollower(Options{})
	f.Track(start("s", l.main))
	appendTo(t, l.main, []byte(assistantLine("m1", "x", 1)))
	got := f.Poll()
	// The last response is written, SessionEnd arrives and the session closes
	// before the follower polled again.
	appendTo(t, l.main, []byte(assistantLine("m2", "x", 2)))
	f.Forget("s")
	got = append(got, f.Poll()...)
	if len(got) != 2 {
		t.Fatalf("lines before Forget not all read: %s", formatUsages(got))
	}
	f.Poll()
	if files := f.Files(); len(files) != 0 {
		t.Fatalf("still following %v after draining", files)
	}
	// Appended while nobody follows: read when the session resumes.
	appendTo(t, l.main, []byte(assistantLine("m3", "x", 3)))
	if us := f.Poll(); len(us) != 0 {
		t.Fatalf("retired file read: %v", us)
	}
	f = restart(t, f, Options{})
	f.Track(&hookevent.Event{Name: "SessionStart", Source: "resume", SessionID: "s", TranscriptPath: l.main})
	got = append(got, drain(t, f)...)
	if diff := cmp.Diff(map[key]totals{{"s", "", "", "x"}: {Input: 3, Output: 6}}, sum(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDerivedSubagentPath: an event inside a subagent makes the follower read
// the subagent's transcript before SubagentStop names it.
func TestDerivedSubagentPath(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	appendTo(t, l.main, nil)
	f := NewFollower(Options{})
	f.Track(start("s", l.main))
	f.Poll() // the directory listing finds nothing yet
	appendTo(t, l.agent("ag1"), []byte(`{"isSidechain":true,"agentId":"ag1","type":"user","promptId":"p"}`+"\n"+assistantLine("m1", "x", 4)))
	f.Track(&hookevent.Event{Name: "PreToolUse", SessionID: "s", AgentID: "ag1", TranscriptPath: l.main})
	got := f.Poll()
	if diff := cmp.Diff(map[key]totals{{"s", "ag1", "p", "x"}: {Input: 1, Output: 4}}, sum(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMaxFiles(t *testing.T) {
	root := t.TempDir()
	f := NewFollower(Options{MaxFiles: 2})
	var got []Usage
	var mains []string
	for i := range 4 {
		l := newLayout(t, root, fmt.Sprint("s", i))
		appendTo(t, l.main, []byte(assistantLine(fmt.Sprint("m", i), "x", 1)))
		f.Track(start(fmt.Sprint("s", i), l.main))
		got = append(got, f.Poll()...)
		mains = append(mains, l.main)
	}
	if n := len(f.Files()); n != 2 {
		t.Errorf("following %d files, want 2", n)
	}
	if f.Stats().Evicted != 2 {
		t.Errorf("evicted = %d, want 2", f.Stats().Evicted)
	}
	// An evicted file comes back at its offset.
	appendTo(t, mains[0], []byte(assistantLine("m9", "x", 1)))
	f.Track(start("s0", mains[0]))
	got = append(got, drain(t, f)...)
	if len(got) != 5 {
		t.Errorf("got %d usages, want 5:\n%s", len(got), formatUsages(got))
	}
}

func TestPathsRefused(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "projects")
	l := newLayout(t, root, "s")
	f := NewFollower(Options{AllowedDirs: []string{allowed}})
	for _, p := range []string{"relative.jsonl", "/etc/passwd", filepath.Join(root, "x.jsonl"), allowed + "/../x.jsonl", filepath.Join(root, "projectsX", "a.jsonl")} {
		f.Track(start("s", p))
	}
	if files := f.Files(); len(files) != 0 {
		t.Errorf("followed refused paths: %v", files)
	}
	f.Track(start("s", l.main))
	if files := f.Files(); !slices.Equal(files, []string{l.main}) {
		t.Errorf("files = %v", files)
	}
	f.Track(&hookevent.Event{Name: "PreToolUse", SessionID: "../../x", AgentID: "a", TranscriptPath: l.main})
	f.Track(&hookevent.Event{Name: "PreToolUse", SessionID: "s", AgentID: "../../etc", TranscriptPath: l.main})
	if files := f.Files(); len(files) != 1 {
		t.Errorf("derived a subagent path from unsafe ids: %v", files)
	}
}

// TestFIFODoesNotBlock: a payload naming a FIFO must not hang the pipeline.
func TestFIFODoesNotBlock(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	if err := syscall.Mkfifo(l.main, 0o600); err != nil {
		t.Fatal(err)
	}
	f := NewFollower(Options{})
	f.Track(start("s", l.main))
	if us := f.Poll(); len(us) != 0 {
		t.Fatalf("usage from a FIFO: %v", us)
	}
	if f.Stats().ReadErrors != 1 {
		t.Errorf("read errors = %d, want 1", f.Stats().ReadErrors)
	}
}

func TestUnmarshalStateRejects(t *testing.T) {
	for _, tc := range []struct{ name, state string }{
		{"not json", `{`},
		{"wrong version", `{"v":2}`},
		{"seen not a multiple of 8", `{"v":1,"files":[],"seen":"AAAA"}`},
		{"no path", `{"v":1,"files":[{"session":"s","offset":1}]}`},
		{"negative offset", `{"v":1,"files":[{"path":"/a.jsonl","session":"s","offset":-1}]}`},
		{"twice", `{"v":1,"files":[{"path":"/a.jsonl","session":"s"}],"retired":[{"path":"/a.jsonl","session":"s"}]}`},
		{"null file", `{"v":1,"files":[null]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFollower(Options{})
			f.Track(start("keep", "/keep.jsonl"))
			if err := f.UnmarshalState([]byte(tc.state)); err == nil {
				t.Fatal("damaged state accepted")
			}
			if files := f.Files(); !slices.Equal(files, []string{"/keep.jsonl"}) {
				t.Errorf("a refused state replaced the follower's: %v", files)
			}
		})
	}
}

func TestSeenSetBound(t *testing.T) {
	s := newSeenSet(3)
	for i := range 5 {
		s.add(uint64(i))
	}
	if s.has(0) || s.has(1) || !s.has(2) || !s.has(4) {
		t.Errorf("set holds the wrong ids: %v", s.ids)
	}
	n := newSeenSet(3)
	n.load(s.marshal())
	if !slices.Equal(n.order, []uint64{2, 3, 4}) {
		t.Errorf("round trip order %v", n.order)
	}
	n.add(5)
	if n.has(2) || !n.has(5) {
		t.Errorf("oldest not dropped after a round trip: %v", n.ids)
	}
}

// TestResumeBeforeRetired: a session that resumes before its files were
// retired keeps being followed, subagents included.
func TestResumeBeforeRetired(t *testing.T) {
	l := newLayout(t, t.TempDir(), "s")
	appendTo(t, l.main, []byte(assistantLine("m1", "x", 1)))
	f := NewFollower(Options{})
	f.Track(start("s", l.main))
	got := f.Poll()
	f.Forget("s")
	f.Track(&hookevent.Event{Name: "SessionStart", Source: "resume", SessionID: "s", TranscriptPath: l.main})
	f.Poll()
	f.Poll()
	appendTo(t, l.agent("ag"), []byte(assistantLine("m2", "x", 2)))
	f.Track(&hookevent.Event{Name: "PreToolUse", SessionID: "s", AgentID: "ag", TranscriptPath: l.main})
	appendTo(t, l.main, []byte(assistantLine("m3", "x", 3)))
	got = append(got, f.Poll()...)
	if diff := cmp.Diff(map[key]totals{{"s", "", "", "x"}: {Input: 2, Output: 4}, {"s", "ag", "", "x"}: {Input: 1, Output: 2}}, sum(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSymlinkOutsideAllowedDirs (issue 14, item 7): a link inside an allowed
// directory that points outside it is not followed; an allowed directory that
// is itself a link still works.
func TestSymlinkOutsideAllowedDirs(t *testing.T) {
	root := t.TempDir()
	l := newLayout(t, root, "s")
	secret := filepath.Join(root, "secret.jsonl")
	appendTo(t, secret, []byte(assistantLine("m1", "claude-opus-4-1", 7)))
	if err := os.Symlink(secret, l.main); err != nil {
		t.Fatal(err)
	}
	f := NewFollower(Options{AllowedDirs: []string{filepath.Join(root, "projects")}})
	f.Track(start("s", l.main))
	if us := f.Poll(); len(us) != 0 {
		t.Fatalf("read a file outside the allowed directories through a link: %v", us)
	}
	if f.Stats().Rejected == 0 {
		t.Error("the link was not counted as rejected")
	}

	// The allowed directory is a link to the real one.
	real := t.TempDir()
	lr := newLayout(t, real, "s2")
	appendTo(t, lr.main, []byte(assistantLine("m2", "claude-opus-4-1", 5)))
	linked := filepath.Join(t.TempDir(), "projects")
	if err := os.Symlink(filepath.Join(real, "projects"), linked); err != nil {
		t.Fatal(err)
	}
	g := NewFollower(Options{AllowedDirs: []string{linked}})
	g.Track(start("s2", filepath.Join(linked, strings.TrimPrefix(lr.main, filepath.Join(real, "projects")))))
	if us := g.Poll(); len(us) != 1 {
		t.Fatalf("through a linked allowed directory: %d usages, want 1", len(us))
	}
}
