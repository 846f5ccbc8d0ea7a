package spool

import (
	"fmt"
	"syscall"
)

// Filesystem magic numbers (statfs f_type) of network filesystems.
const (
	nfsMagic  = 0x6969
	smbMagic  = 0x517b
	cifsMagic = 0xff534d42
	smb2Magic = 0xfe534d42
)

// OnNetworkFS reports whether dir is on NFS or SMB/CIFS, where O_APPEND does
// not position writes atomically between clients and locks may not work, so
// concurrent hook processes could tear records. Callers warn; it is not fatal.
func OnNetworkFS(dir string) (bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	switch uint32(st.Type) { //nolint:gosec // f_type is a 32-bit magic in a wider field
	case nfsMagic, smbMagic, cifsMagic, smb2Magic:
		return true, nil
	}
	return false, nil
}
