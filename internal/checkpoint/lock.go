package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockName is the lock file's name in the state directory.
const LockName = "lock"

// Lock is a held lock on a state directory: one daemon at a time reads its
// spool and writes its checkpoint and store.
type Lock struct{ f *os.File }

// LockedError says another process holds the state directory.
type LockedError struct {
	// Dir is the state directory.
	Dir string
	// PID is the holder's process id, 0 when the lock file does not say.
	PID int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("state dir %s is in use by another claude-hooks-exporter (pid %d); stop it first, or give this one its own --state.dir", e.Dir, e.PID)
	}
	return fmt.Sprintf("state dir %s is in use by another claude-hooks-exporter; stop it first, or give this one its own --state.dir", e.Dir)
}

// LockDir takes the lock of the state directory dir without waiting, and
// writes this process's id into the lock file. The lock is the operating
// system's (flock): it goes away with the process, however it ends, so a
// crash never leaves a stale lock behind. A held lock is a *LockedError.
func LockDir(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		b, _ := os.ReadFile(path)
		_ = f.Close() // not ours
		if errors.Is(err, errLocked) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // the pid is only a courtesy for the message above
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	return l.f.Close()
}
