package traceid

import (
	"crypto/sha256"
	"encoding/hex"
)

// Trace is a 16-byte trace id, byte for byte the OpenTelemetry one.
type Trace [16]byte

// Span is an 8-byte span id, byte for byte the OpenTelemetry one.
type Span [8]byte

// String is the lowercase hex form, as OTLP/JSON and trace UIs show it.
func (t Trace) String() string { return hex.EncodeToString(t[:]) }

// String is the lowercase hex form.
func (s Span) String() string { return hex.EncodeToString(s[:]) }

// ForSession returns the trace id of a session: the 16 bytes of the session id
// when it is a UUID (so the trace id reads like the session id in any
// backend), otherwise the first 16 bytes of the SHA-256 of the session id. It
// is never the invalid zero id.
func ForSession(sessionID string) Trace {
	var id Trace
	if parseUUID(sessionID, &id) && id != (Trace{}) {
		return id
	}
	sum := sha256.Sum256([]byte(sessionID))
	copy(id[:], sum[:len(id)])
	if id == (Trace{}) {
		id[len(id)-1] = 1
	}
	return id
}

// ForSpan returns the span id of the span with the given key in a session: the
// first 8 bytes of SHA-256(sessionID + "\x00" + key). The separator keeps
// ("ab", "c") and ("a", "bc") apart. It is never the invalid zero id.
func ForSpan(sessionID, key string) Span {
	h := sha256.New()
	h.Write([]byte(sessionID))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var id Span
	copy(id[:], sum[:len(id)])
	if id == (Span{}) {
		id[len(id)-1] = 1
	}
	return id
}

// parseUUID decodes the canonical 8-4-4-4-12 hexadecimal form (either case) into id.
func parseUUID(s string, id *Trace) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	var buf [32]byte
	n := copy(buf[:], s[0:8])
	n += copy(buf[n:], s[9:13])
	n += copy(buf[n:], s[14:18])
	n += copy(buf[n:], s[19:23])
	copy(buf[n:], s[24:36])
	_, err := hex.Decode(id[:], buf[:])
	return err == nil
}
