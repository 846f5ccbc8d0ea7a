package transcript

import "encoding/binary"

// seenSet remembers the hashes of the last max message ids counted, across all
// files, so a message written again (a resumed session replays its history into
// the same or a new transcript; a rewritten file is read again from its start)
// is not counted twice. The oldest id is forgotten first.
type seenSet struct {
	max   int
	ids   map[uint64]struct{}
	order []uint64 // ring buffer of the ids in insertion order
	head  int      // index of the oldest id once the ring is full
}

func newSeenSet(max int) *seenSet {
	return &seenSet{max: max, ids: make(map[uint64]struct{}, min(max, 4096))}
}

// hashID is FNV-1a 64 of a message id: stable across processes, so the set can
// be persisted.
func hashID(id []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range id {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func (s *seenSet) has(h uint64) bool {
	_, ok := s.ids[h]
	return ok
}

func (s *seenSet) add(h uint64) {
	if _, ok := s.ids[h]; ok {
		return
	}
	if len(s.order) < s.max {
		s.order = append(s.order, h)
	} else {
		delete(s.ids, s.order[s.head])
		s.order[s.head] = h
		s.head = (s.head + 1) % s.max
	}
	s.ids[h] = struct{}{}
}

// marshal returns the ids oldest first, 8 bytes each, little endian.
func (s *seenSet) marshal() []byte {
	out := make([]byte, 0, 8*len(s.order))
	n := len(s.order)
	for k := range n {
		h := s.order[(s.head+k)%n]
		out = binary.LittleEndian.AppendUint64(out, h)
	}
	return out
}

// load replaces the set with ids from marshal; beyond max the oldest are dropped.
func (s *seenSet) load(b []byte) {
	*s = *newSeenSet(s.max)
	for i := 0; i+8 <= len(b); i += 8 {
		s.add(binary.LittleEndian.Uint64(b[i:]))
	}
}
