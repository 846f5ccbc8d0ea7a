//go:build !unix

package atomicfile

import (
	"errors"
	"os"
)

// tryLock is unsupported here: WriteFile proceeds unlocked and RemoveLeftovers
// leaves temporary files alone, since it cannot tell whether a WriteFile holds them.
func tryLock(f *os.File) error {
	return errors.ErrUnsupported
}
