package legacy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// File is one event file of the legacy raw_json directory.
type File struct {
	// Path is the file's path: the directory joined with the name for files
	// from Scan, the bare name for files from ParseName.
	Path string
	// Received is the capture time encoded in the file name (UTC, millisecond
	// precision).
	Received time.Time
	// Event is the hook_event_name part of the file name.
	Event string
	// SessionID is the session_id part of the file name.
	SessionID string
}

const (
	// stampLayout is the seconds part of the file name's time stamp; the
	// milliseconds follow after a dash, which time.Parse cannot express.
	stampLayout = "2006-01-02_15-04-05"
	// stampLen is the length of the whole stamp, YYYY-MM-DD_HH-MM-SS-mmm.
	stampLen  = len(stampLayout) + 4
	suffix    = ".json"
	prettyTag = "_pretty"
)

// ParseName parses a legacy event file name. It reports false for _pretty.json
// twins and for names of any other shape. The event name is the part up to the
// next underscore after the time stamp (event names hold none); the session id
// is the whole rest, which must not be empty.
func ParseName(name string) (File, bool) {
	if !strings.HasSuffix(name, suffix) || len(name) < stampLen+len("_E_S")+len(suffix) {
		return File{}, false
	}
	stem := strings.TrimSuffix(name, suffix)
	if strings.HasSuffix(stem, prettyTag) {
		return File{}, false
	}
	received, ok := parseStamp(stem[:stampLen])
	if !ok || stem[stampLen] != '_' {
		return File{}, false
	}
	event, session, ok := strings.Cut(stem[stampLen+1:], "_")
	if !ok || event == "" || session == "" {
		return File{}, false
	}
	return File{Path: name, Received: received, Event: event, SessionID: session}, true
}

// parseStamp parses YYYY-MM-DD_HH-MM-SS-mmm as a UTC time.
func parseStamp(s string) (time.Time, bool) {
	secs, ms := s[:len(stampLayout)], s[len(stampLayout):]
	if ms[0] != '-' || !allDigits(ms[1:]) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(stampLayout, secs, time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	n, err := strconv.Atoi(ms[1:])
	if err != nil {
		return time.Time{}, false
	}
	return t.Add(time.Duration(n) * time.Millisecond), true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Scan lists the event files of a legacy raw_json directory, sorted by capture
// time and then by name. Twins, subdirectories and files of other names are
// skipped. A directory that does not exist is an error (os.ErrNotExist).
func Scan(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scan legacy directory %s: %w", dir, err)
	}
	files := make([]File, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		f, ok := ParseName(e.Name())
		if !ok {
			continue
		}
		f.Path = filepath.Join(dir, e.Name())
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b File) int {
		if c := a.Received.Compare(b.Received); c != 0 {
			return c
		}
		return cmp.Compare(filepath.Base(a.Path), filepath.Base(b.Path))
	})
	return files, nil
}

// ID returns the spool record id of a legacy file: the first 16 bytes of the
// SHA-256 of its base name as 32 lowercase hex characters, the format of spool
// record ids. It depends on the name alone, so importing the same files again,
// from wherever the directory now lives, yields the same ids and the consumers
// that de-duplicate by id drop the repeats.
func ID(f File) string {
	sum := sha256.Sum256([]byte(filepath.Base(f.Path)))
	return hex.EncodeToString(sum[:16])
}
