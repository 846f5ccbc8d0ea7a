package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FailuresFile is the file in the spool directory where hooks count the
// appends they could not make (disk full, no permission): the daemon exposes
// it as claude_hooks_hook_failures_total and /readyz reports recent ones.
// Its content is the count in decimal, padded with spaces to failuresWidth
// bytes, rewritten in place: once the file exists, recording a failure needs
// no new disk block, so it works on a full disk. EnsureFailuresFile creates it.
const FailuresFile = "hook-failures"

// failuresWidth is the fixed size of the counter's text.
const failuresWidth = 20

// EnsureFailuresFile creates the counter file (count 0) unless it exists; the
// daemon calls it at start, while there is room to.
func EnsureFailuresFile(dir string) error {
	path := filepath.Join(dir, FailuresFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.WriteString(pad(0))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

func pad(n uint64) string {
	s := strconv.FormatUint(n, 10)
	return s + strings.Repeat(" ", failuresWidth-len(s))
}

// RecordFailure adds one to the counter file, under its lock (taken with the
// spool's lock timeout; without it the count may miss a concurrent failure).
// It creates the file when it can.
func RecordFailure(dir string) error {
	path := filepath.Join(dir, FailuresFile)
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		if err := EnsureFailuresFile(dir); err != nil {
			return err
		}
		fd, err = syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("record hook failure: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer syscall.Close(fd)
	if lockFile(fd, DefaultLockTimeout) {
		defer syscall.Flock(fd, syscall.LOCK_UN)
	}
	buf := make([]byte, failuresWidth)
	n, _ := syscall.Pread(fd, buf, 0)
	count, _ := strconv.ParseUint(strings.TrimSpace(string(buf[:max(n, 0)])), 10, 64)
	if _, err := syscall.Pwrite(fd, []byte(pad(count+1)), 0); err != nil {
		return fmt.Errorf("record hook failure: %w", err)
	}
	return nil
}

// ReadFailures returns the count of failed hook appends and when the last was
// recorded (zero when none or no file).
func ReadFailures(dir string) (uint64, time.Time, error) {
	path := filepath.Join(dir, FailuresFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, time.Time{}, err
	}
	buf := make([]byte, failuresWidth)
	n, _ := f.ReadAt(buf, 0)
	count, err := strconv.ParseUint(strings.TrimSpace(string(buf[:n])), 10, 64)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read %s: %w", path, err)
	}
	if count == 0 {
		return 0, time.Time{}, nil
	}
	return count, fi.ModTime(), nil
}
