//go:build !unix

package checkpoint

import (
	"errors"
	"os"
)

// tryLock is unsupported here: Save proceeds unlocked and Load's clean-up
// leaves temporary files alone, since it cannot tell whether a Save holds them.
func tryLock(f *os.File) error {
	return errors.ErrUnsupported
}
