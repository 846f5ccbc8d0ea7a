package spool

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

// hookName is the hook command's name in messages.
const hookName = "claude-hooks-hook"

// RunHook is the whole hook command (claude-hooks-hook): it stamps the receive
// time, reads the hook payload from stdin, captures it and appends it to the
// spool with source "hook". Flags: --spool.dir (default DefaultDir(env)) and
// --spool.max-record-bytes (default DefaultMaxRecordBytes).
//
// Claude Code parses a hook's stdout and blocks the action on exit code 2, so
// RunHook never writes to stdout and never returns 2: it returns 0 when the
// input is in the spool (also when it was empty, not JSON or oversized: such
// input is kept as a Bad record) and 1, with one line on stderr, when it could
// not be kept. It holds at most max-record-bytes+1 bytes of stdin; the rest is
// read, counted and discarded.
func RunHook(args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	received := time.Now() // first: the payload carries no time of its own
	_ = stdout             // never written: Claude Code would parse it

	flags := flag.NewFlagSet(hookName, flag.ContinueOnError)
	flags.SetOutput(io.Discard) // its messages span lines; ours is one
	dir := flags.String("spool.dir", "", "spool directory (default $XDG_STATE_HOME/claude-hooks-exporter/spool or $HOME/.local/state/claude-hooks-exporter/spool)")
	maxBytes := flags.Int("spool.max-record-bytes", DefaultMaxRecordBytes, "largest payload kept as JSON; larger input is kept as a capped, base64 prefix")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: %s [flags] < payload.json\n", hookName)
			flags.SetOutput(stderr)
			flags.PrintDefaults()
			return 0
		}
		return fail(stderr, err)
	}
	if flags.NArg() > 0 {
		return fail(stderr, fmt.Errorf("unexpected argument %q", flags.Arg(0)))
	}
	if *maxBytes <= 0 {
		return fail(stderr, fmt.Errorf("--spool.max-record-bytes must be positive, got %d", *maxBytes))
	}
	if *dir == "" {
		if *dir = DefaultDir(env); *dir == "" {
			return fail(stderr, errors.New("no spool directory: set --spool.dir or HOME"))
		}
	}

	data, size, err := readCapped(stdin, *maxBytes)
	if err != nil {
		return fail(stderr, fmt.Errorf("read stdin: %w", err))
	}
	rec := capture(data, size, received, SourceHook, *maxBytes)

	_, statErr := os.Stat(*dir)
	creating := errors.Is(statErr, fs.ErrNotExist)
	opts := Options{
		Dir:            *dir,
		MaxRecordBytes: *maxBytes,
		// The receive time picks the file, so a record never lands in the
		// next day's file because the append ran past midnight.
		Now: func() time.Time { return received },
	}
	if err := Append(opts, rec); err != nil {
		// Counted where the daemon looks (claude_hooks_hook_failures_total,
		// /readyz): the hook's stderr reaches no one but Claude Code.
		if rerr := RecordFailure(*dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fail(stderr, err)
	}
	if creating { // warn once: when the hook creates the directory
		if nfs, err := OnNetworkFS(*dir); err == nil && nfs {
			fmt.Fprintf(stderr, "%s: warning: spool dir %s is on a network filesystem; concurrent hooks may tear records\n", hookName, *dir)
		}
	}
	return 0
}

// fail writes err as one stderr line and returns the hook's failure code.
func fail(stderr io.Writer, err error) int {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "%s: %s\n", hookName, msg)
	return 1
}

// readCapped reads r to its end but keeps at most maxBytes+1 bytes; size is the
// total number of bytes read. One byte more than maxBytes lets Capture tell
// "exactly maxBytes" from "more than maxBytes".
func readCapped(r io.Reader, maxBytes int) (data []byte, size int, err error) {
	if r == nil {
		return nil, 0, nil
	}
	limit := maxBytes + 1
	buf := make([]byte, 0, min(limit, 32<<10))
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(limit, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, len(buf), nil
		}
		if err != nil {
			return buf, len(buf), err
		}
	}
	rest, err := io.Copy(io.Discard, r)
	return buf, len(buf) + int(rest), err
}
