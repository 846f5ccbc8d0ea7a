//go:build unix

package atomicfile

import (
	"os"
	"syscall"
)

// tryLock takes an exclusive flock on f without waiting. The lock lives as
// long as f is open.
func tryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
