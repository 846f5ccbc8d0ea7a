package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/redact"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// benchNow is the clock of benchmark stores: generated histories are recent.
func benchNow() time.Time { return genBase.Add(20 * 24 * time.Hour) }

// BenchmarkInsert measures inserts in batches of 1024 generated events into a
// store that already holds 100k events. events/s is wall time (the machine is
// shared); cpu-us/event is the process's CPU time per event.
func BenchmarkInsert(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: filepath.Join(b.TempDir(), "events.db"), Now: benchNow})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := newGenerator(1)
	for range 100 {
		if err := s.Insert(ctx, g.generate(1024), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	batches := make([][]wire.Event, 64)
	for i := range batches {
		batches[i] = g.generate(1024)
	}
	b.ReportAllocs()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for b.Loop() {
		batch := batches[n%len(batches)]
		if n >= len(batches) {
			for i := range batch { // new ids: every event is new
				g.n++
				batch[i].ID = fmt.Sprintf("%032x", g.n)
			}
		}
		if err := s.Insert(ctx, batch, nil, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*1024)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n*1024), "cpu-us/event")
}

// BenchmarkInsertSmall measures the live case: one event per batch.
func BenchmarkInsertSmall(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: filepath.Join(b.TempDir(), "events.db"), Now: benchNow})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := newGenerator(2)
	insertAll(b, s, g.generate(20000), 1024)
	evs := g.generate(1 << 16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev := evs[i%len(evs)]
		ev.ID = fmt.Sprintf("small-%d", i)
		if err := s.Insert(ctx, []wire.Event{ev}, nil, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// The search benchmark's database: 1,000,000 generated events, built once per
// process (about a minute), or reused from $STORE_BENCH_DB when that file
// exists (it is created there when the variable names a missing file). With
// STORE_BENCH_MERGE=1 its full-text index is then merged, as an idle daemon's
// index maintenance does; without, it is as the inserts left it.
const millionEvents = 1_000_000

// searchCase is one query of the search benchmark with the seqs it must
// return (newest first, at most DefaultLimit).
type searchCase struct {
	name string
	f    wire.Filter
	want []int64
}

var million struct {
	once  sync.Once
	path  string
	cases []searchCase
	err   error
}

// searchFilters are the benchmark's queries; the session of the 700,000th
// generated event is added as the per-session query.
var searchFilters = []searchCase{
	{name: "text/command", f: wire.Filter{Text: "npm test -- src/billing"}},
	{name: "text/path-cjk", f: wire.Filter{Text: "src/計算/消費税"}},
	{name: "text/error", f: wire.Filter{Text: "exit code 128"}},
	{name: "text/chinese", f: wire.Filter{Text: "无法连接到数据库"}},
}

// millionDB builds (or reuses) the 1M-event database and returns its path and
// the queries with their expected answers, computed while generating.
func millionDB(tb testing.TB) (string, []searchCase) {
	tb.Helper()
	million.once.Do(func() {
		path := os.Getenv("STORE_BENCH_DB")
		if path == "" {
			dir, err := os.MkdirTemp("", "store-bench-")
			if err != nil {
				million.err = err
				return
			}
			benchDirs = append(benchDirs, dir)
			path = filepath.Join(dir, "events.db")
		}
		million.path = path
		million.cases, million.err = buildMillion(tb, path)
	})
	if million.err != nil {
		tb.Fatal(million.err)
	}
	return million.path, million.cases
}

// benchDirs are removed when the test binary ends.
var benchDirs []string

func buildMillion(tb testing.TB, path string) ([]searchCase, error) {
	ctx := context.Background()
	_, statErr := os.Stat(path)
	reuse := statErr == nil
	s, err := Open(ctx, Options{Path: path, Now: benchNow, MaxAge: -1, MaxBytes: -1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	cases := slices.Clone(searchFilters)
	cases = append(cases, searchCase{name: "session"}, searchCase{name: "session/tool"})
	var matches [][]int64 = make([][]int64, len(cases))
	start := time.Now()
	g := newGenerator(42)
	const chunk = 8192
	for done := 0; done < millionEvents; done += chunk {
		evs := g.generate(min(chunk, millionEvents-done))
		if err := s.Insert(ctx, evs, nil, nil); err != nil {
			return nil, err
		}
		if reuse && evs[0].Seq == 0 {
			return nil, fmt.Errorf("%s holds other events", path)
		}
		for i := range evs {
			if done+i == 700_000 {
				cases[len(cases)-2].f = wire.Filter{SessionID: evs[i].SessionID}
				cases[len(cases)-1].f = wire.Filter{SessionID: evs[i].SessionID, Tool: "Bash"}
			}
		}
		for c := range cases {
			if cases[c].f.SessionID == "" && cases[c].f.Text == "" {
				continue
			}
			for i := range evs {
				if cases[c].f.Match(&evs[i]) {
					matches[c] = append(matches[c], evs[i].Seq)
				}
			}
		}
	}
	if os.Getenv("STORE_BENCH_MERGE") != "" {
		t0 := time.Now()
		s.sinceMerge = s.mergeAfter
		for done := false; !done; {
			if done, err = s.mergeStep(ctx); err != nil {
				return nil, err
			}
		}
		tb.Logf("merged the index in %d steps, %v", s.mergeSteps.Load(), time.Since(t0).Round(time.Millisecond))
	}
	for c := range cases {
		m := matches[c]
		slices.Reverse(m)
		cases[c].want = m[:min(len(m), DefaultLimit)]
		tb.Logf("query %s: %d matching events", cases[c].name, len(m))
	}
	if !reuse {
		tb.Logf("generated %d events in %v", millionEvents, time.Since(start).Round(time.Second))
	}
	return cases, nil
}

// BenchmarkSearch runs a text query and a per-session query (newest first,
// limit 100) against 1,000,000 stored events after checking that each
// returns the right rows, and reports their latency percentiles.
func BenchmarkSearch(b *testing.B) {
	path, cases := millionDB(b)
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path, Now: benchNow, MaxAge: -1, MaxBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			page, err := s.Events(ctx, tc.f, 0, "", false)
			if err != nil {
				b.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, seqsOf(page.Events), cmpEmpty); diff != "" || len(tc.want) == 0 {
				b.Fatalf("%+v: wrong rows (-want +got):\n%s", tc.f, diff)
			}
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.Events(ctx, tc.f, 0, "", false); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles reports the p50 and p99 of lat in milliseconds.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return float64(lat[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkSize reports what the 1M-event database takes on disk, by table
// and index (SQLite's dbstat), and what the trigram index costs.
func BenchmarkSize(b *testing.B) {
	path, _ := millionDB(b)
	db, err := sql.Open("sqlite", dsn(path, nil))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	type part struct {
		name string
		size int64
	}
	var parts []part
	for b.Loop() {
		parts = parts[:0]
		rows, err := db.Query(`SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC`)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var p part
			if err := rows.Scan(&p.name, &p.size); err != nil {
				b.Fatal(err)
			}
			parts = append(parts, p)
		}
		rows.Close()
	}
	var total, fts int64
	for _, p := range parts {
		total += p.size
		if strings.HasPrefix(p.name, "events_fts") {
			fts += p.size
		}
		b.Logf("%-20s %8.1f MiB %6.1f B/event", p.name, float64(p.size)/(1<<20), float64(p.size)/millionEvents)
	}
	b.ReportMetric(float64(total)/(1<<20), "db-MiB")
	b.ReportMetric(float64(fts)/(1<<20), "fts-MiB")
	b.ReportMetric(float64(total)/millionEvents, "B/event")
	b.ReportMetric(100*float64(fts)/float64(total-fts), "fts-%-of-rest")
}

// BenchmarkIndexDetail compares the trigram index as stored (detail=none,
// checked with LIKE) with one that keeps positions (detail=full, answering
// substrings itself), over the same 100k events' text.
func BenchmarkIndexDetail(b *testing.B) {
	evs := newGenerator(9).generate(100_000)
	for _, detail := range []string{"none", "full"} {
		b.Run(detail, func(b *testing.B) {
			var size int64
			for b.Loop() {
				db, err := sql.Open("sqlite", dsn(filepath.Join(b.TempDir(), "fts.db"), nil))
				if err != nil {
					b.Fatal(err)
				}
				db.SetMaxOpenConns(1)
				if _, err := db.Exec(`CREATE VIRTUAL TABLE f USING fts5(tool, summary, error, content='', contentless_delete=1, detail=` + detail + `, tokenize='trigram')`); err != nil {
					b.Fatal(err)
				}
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				for i := range evs {
					if _, err := tx.Exec(`INSERT INTO f (rowid, tool, summary, error) VALUES (?, ?, ?, ?)`, i+1, null(evs[i].Tool), null(evs[i].Summary), null(evs[i].Error)); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				if err := db.QueryRow(`SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'f_%'`).Scan(&size); err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
			b.ReportMetric(float64(size)/float64(len(evs)), "B/event")
		})
	}
}

// BenchmarkFromEvent converts the sample events (capture off).
func BenchmarkFromEvent(b *testing.B) {
	evs := storetest.Events(b, "current")
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			_ = eventview.Of(&evs[i], 0, false)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkRedactPayload measures masking secrets in the sample payloads,
// part of FromEvent.
func BenchmarkRedactPayload(b *testing.B) {
	evs := storetest.Events(b, "current")
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			_ = redact.Secrets(string(evs[i].Raw))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkEnqueue measures the daemon's case under HTTP load: batches of 8
// events with 2 KB payloads (a Read's tool output: Go source) handed to Enqueue, committed by the group commit
// (default delay). cpu-us/event is the process's CPU time per event, commits
// included (the store is closed, so everything is committed, before it is read).
func BenchmarkEnqueue(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: filepath.Join(b.TempDir(), "events.db"), Now: benchNow})
	if err != nil {
		b.Fatal(err)
	}
	g := newGenerator(5)
	// Real tool output: 2 KB of Go source.
	src, err := os.ReadFile(filepath.Join("testdata", "tool-output.txt"))
	if err != nil {
		b.Fatal(err)
	}
	pad := string(src[:2048])
	evs := g.generate(1 << 14)
	for i := range evs {
		evs[i].Payload = fmt.Appendf(nil, `{"session_id":%q,"hook_event_name":%q,"tool_response":{"content":%q}}`, evs[i].SessionID, evs[i].Event, pad)
	}
	b.ReportAllocs()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	batch := make([]wire.Event, 8)
	for b.Loop() {
		for i := range batch {
			batch[i] = evs[(n+i)%len(evs)]
			batch[i].ID = benchID(os.Getenv("CHX_RANDOM_IDS") != "", n+i)
			batch[i].Time = benchNow().Add(time.Duration(n+i) * time.Microsecond)
		}
		if err := s.Enqueue(ctx, batch, nil, nil); err != nil {
			b.Fatal(err)
		}
		n += len(batch)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-us/event")
}

// benchID is the id of the i-th generated event: 32 hex digits, random (as
// spool.NewID makes them) or in order.
func benchID(random bool, i int) string {
	if random {
		return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	}
	return fmt.Sprintf("%032x", i)
}

// BenchmarkSQLiteFloor is the floor under Enqueue: the same driver, pragmas,
// S2-compressed 2 KB payloads and multi-row inserts, in transactions of 256
// rows (what the group commit gathers in 20 ms at ~13,000 events/s), into one
// table of a few columns with the payload inline, and none, one or three of
// the store's indexes. The CPU includes the WAL's autocheckpoint.
// Run: go test -run '^$' -bench SQLiteFloor -benchtime 400x ./internal/store
func BenchmarkSQLiteFloor(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "tool-output.txt"))
	if err != nil {
		b.Fatal(err)
	}
	packed, _ := packPayloads([][]byte{fmt.Appendf(nil, `{"session_id":"5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13","hook_event_name":"PostToolUse","tool_response":{"content":%q}}`, src[:2048])}, nil)
	payload := packed[0]
	for _, v := range []struct {
		name    string
		indexes string
	}{
		{"indexes=none", ""},
		{"indexes=id", `CREATE UNIQUE INDEX t_id ON t(id);`},
		{"indexes=id,session,time", `CREATE UNIQUE INDEX t_id ON t(id); CREATE INDEX t_session ON t(session_id, seq); CREATE INDEX t_time ON t(time);`},
	} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			p := url.Values{}
			for _, pr := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", fmt.Sprintf("wal_autocheckpoint(%d)", autoCheckpointPages), "cache_size(-4096)"} {
				p.Add("_pragma", pr)
			}
			db, err := sql.Open("sqlite", dsn(filepath.Join(b.TempDir(), "floor.db"), p))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.ExecContext(ctx, `CREATE TABLE t (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, time INTEGER NOT NULL, session_id TEXT NOT NULL, data BLOB);`+v.indexes); err != nil {
				b.Fatal(err)
			}
			conn, err := db.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			ins, err := newBulk(ctx, conn, `INSERT INTO t (seq, id, time, session_id, data)`, 5, bulkRows)
			if err != nil {
				b.Fatal(err)
			}
			defer ins.close()
			const tx = 256
			args := make([]any, 0, tx*5)
			start, cpu0 := time.Now(), cpuTime()
			n := 0
			for b.Loop() {
				args = args[:0]
				for range tx {
					n++
					args = append(args, n, fmt.Sprintf("%032x", n), benchNow().Add(time.Duration(n)*time.Microsecond).UnixNano(), "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", payload)
				}
				if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
					b.Fatal(err)
				}
				if err := ins.exec(ctx, args); err != nil {
					b.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-us/event")
		})
	}
}
