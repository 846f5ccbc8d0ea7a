package spool

import (
	"fmt"
	"syscall"
)

// OnNetworkFS reports whether dir is on NFS or SMB, where O_APPEND does not
// position writes atomically between clients and locks may not work, so
// concurrent hook processes could tear records. Callers warn; it is not fatal.
func OnNetworkFS(dir string) (bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	var name []byte
	for _, c := range st.Fstypename {
		if c == 0 {
			break
		}
		name = append(name, byte(c))
	}
	switch string(name) {
	case "nfs", "smbfs", "afpfs", "webdav":
		return true, nil
	}
	return false, nil
}
