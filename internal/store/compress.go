package store

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// Payloads of compressMin bytes or more are stored compressed with S2 (block
// format) behind one zero byte, which no JSON text starts with: stored
// payloads written before compression, and small ones, are read as they are.
// Compression runs at about 0.8 GB/s on Go source and shrinks it by a third to
// a half; it is done as a batch is queued (Enqueue), so the queue holds the
// smaller form, and saves the store more than it costs (fewer pages to log,
// check point and cache: BenchmarkEnqueue).
const (
	compressedMark = 0x00
	compressMin    = 256
	// maxPackArena bounds the compression buffer Enqueue keeps between
	// batches: one of ~800 payloads of 2 KB.
	maxPackArena = 2 << 20
)

// packPayloads returns the stored form of each payload, compressed where it
// pays. The compressed ones are written to arena, which is reused when it has
// the room; the results alias it and the payloads, and are valid until the
// next call with the same arena. It returns the arena for that call.
func packPayloads(payloads [][]byte, arena []byte) (out [][]byte, _ []byte) {
	size := 0
	for _, p := range payloads {
		if len(p) >= compressMin {
			size += 1 + s2.MaxEncodedLen(len(p))
		}
	}
	arena = arena[:0]
	if cap(arena) < size {
		arena = make([]byte, 0, size)
	}
	out = make([][]byte, len(payloads))
	for i, p := range payloads {
		if len(p) < compressMin {
			out[i] = p
			continue
		}
		start := len(arena)
		arena = append(arena, compressedMark)
		enc := s2.Encode(arena[len(arena):cap(arena)], p)
		if 1+len(enc) >= len(p) {
			arena = arena[:start] // incompressible: keep it as it is
			out[i] = p
			continue
		}
		arena = arena[:len(arena)+len(enc)]
		out[i] = arena[start:len(arena):len(arena)]
	}
	return out, arena
}

// unpackPayload returns the payload a stored value holds.
func unpackPayload(data []byte) ([]byte, error) {
	if len(data) == 0 || data[0] != compressedMark {
		return data, nil
	}
	p, err := s2.Decode(nil, data[1:])
	if err != nil {
		return nil, fmt.Errorf("decompress payload: %w", err)
	}
	return p, nil
}
