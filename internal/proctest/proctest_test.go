package proctest

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFreeAddrIsLoopbackAndFree(t *testing.T) {
	addr := FreeAddr(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("FreeAddr = %s, want a 127.0.0.1 address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the address is not free: %v", err)
	}
	ln.Close()
}

func TestBufferKeepsTheTail(t *testing.T) {
	var b Buffer
	b.Write([]byte(strings.Repeat("a", 5000)))
	b.Write([]byte("END"))
	s := b.String()
	if !strings.HasSuffix(s, "END") || len(s) != len("...")+4000 {
		t.Fatalf("String() = %d bytes ending %q", len(s), s[len(s)-3:])
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, time.Minute, "the third call", func() (bool, error) {
		n++
		if n < 3 {
			return false, errors.New("not yet")
		}
		return true, nil
	})
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
}

func TestCPUTimeGrows(t *testing.T) {
	start := CPUTime(t)
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for CPUTime(t) <= start {
		for i := range 1_000_000 {
			x += i
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not grow while spinning (%d)", x)
		}
	}
}

func TestReadLinesSkipsBlankLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lines.jsonl")
	if err := os.WriteFile(path, []byte("{\"a\":1}\n\n  \n{\"b\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := ReadLines(t, path, 2)
	if len(got) != 2 || string(got[0]) != `{"a":1}` || string(got[1]) != `{"b":2}` {
		t.Errorf("ReadLines = %q, want the two documents", got)
	}
}
