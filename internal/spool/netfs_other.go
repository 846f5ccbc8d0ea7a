//go:build unix && !linux && !darwin

package spool

// OnNetworkFS reports whether dir is on a network filesystem. On this
// platform the check is not implemented and it always reports false.
func OnNetworkFS(dir string) (bool, error) {
	return false, nil
}
