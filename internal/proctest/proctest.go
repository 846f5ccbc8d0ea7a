package proctest

import (
	"bytes"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreeAddr returns a loopback address whose port was free a moment ago.
// Another process could take it in between; that fails the start loudly.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}

// Buffer collects a child process's output for failure messages; it is safe
// for the process's writers and the test to use at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns the output, its last 4000 bytes when longer.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.String()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

// WaitFor polls cond every 20 ms until it reports true or timeout passes, then
// fails the test naming what it waited for and the last error cond returned.
// An error from cond does not stop the wait (a process may not be listening
// yet); a condition that can never hold should call tb.Fatal itself. It is for
// processes outside the test, which give no event to wait on.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		ok, err := cond()
		if err != nil {
			last = err
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, last)
		}
		<-tick.C
	}
}

// CPUTime returns the user+system CPU time this process has used so far:
// benchmarks report CPU per operation from two readings.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReadLines returns the non-blank lines of a file (the reference payloads in
// a package's testdata, one JSON document a line), failing tb when there are
// fewer than min.
func ReadLines(tb testing.TB, path string, min int) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	if len(out) < min {
		tb.Fatalf("%s: %d lines, want at least %d", path, len(out), min)
	}
	return out
}
