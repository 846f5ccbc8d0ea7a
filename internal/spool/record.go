package spool

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// DefaultMaxRecordBytes is the payload size above which a capture is kept only
// as a capped, base64-encoded Raw prefix with Bad set to BadOversized.
const DefaultMaxRecordBytes = 8 << 20

// Sources of a record: which capture path wrote it.
const (
	SourceHook   = "hook"
	SourceHTTP   = "http"
	SourceImport = "import"
)

// Reasons a capture was not kept as a JSON payload (Record.Bad).
const (
	BadInvalidJSON = "invalid_json"
	BadEmpty       = "empty"
	BadOversized   = "oversized"
)

// formatVersion is the value of the "v" field this package writes and reads.
const formatVersion = 1

// ErrNotRecord is returned (wrapped) by Decode for a line that is not a
// complete spool record: a fragment left by a writer that died mid-record,
// garbage, a blank line or a record of an unknown version.
var ErrNotRecord = errors.New("not a spool record")

// Record is one captured event as it is stored in the spool.
type Record struct {
	// ID is 32 lowercase hex characters drawn from crypto/rand, unique per
	// captured event; replays of the spool carry the same ID.
	ID string
	// Received is the receive time in unix nanoseconds (UTC).
	Received int64
	// Source is the capture path: SourceHook, SourceHTTP or SourceImport.
	Source string
	// Payload is the event as compact JSON (normally an object) when Bad is "".
	// Records returned by Decode alias the decoded line here (no copy).
	Payload []byte
	// Bad is "" for a JSON payload, else BadInvalidJSON, BadEmpty or BadOversized.
	Bad string
	// Size is the size of the original input in bytes (before compaction or capping).
	Size int
	// Raw is, for Bad records only, the preserved input, capped at the
	// maximum record size.
	Raw []byte
}

// NewID returns a fresh record id: 32 lowercase hex characters, the first 12
// the receive time in Unix milliseconds and the other 20 random (80 bits).
// Ids of records captured later sort later, so the store's unique index on
// them grows at its end instead of at random places, which keeps the pages an
// insert touches in the cache (measured: 37 against 55 us per event into a
// store of 800,000 events).
func NewID(received time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(received.UnixMilli())<<16)
	// crypto/rand.Read never returns an error (it crashes the program if the
	// kernel cannot provide randomness).
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// Capture turns one received input into a Record with a fresh ID. The input is
// validated and compacted when it is a JSON value (any value is kept; hook
// payloads are objects). Blank input is marked BadEmpty, input that is not JSON
// BadInvalidJSON, and input longer than maxBytes (DefaultMaxRecordBytes when
// maxBytes <= 0) BadOversized; a Bad record keeps the first maxBytes of the
// input in Raw, which aliases payload. Size is len(payload).
func Capture(payload []byte, received time.Time, source string, maxBytes int) Record {
	return capture(payload, len(payload), received, source, maxBytes)
}

// CaptureValid is Capture for a payload the caller has already validated as
// one JSON value (HTTP ingest runs the event decoder first). A payload that is
// already on one line is kept as it is, skipping Capture's compaction pass;
// one with line breaks or surrounding space is compacted as Capture does.
func CaptureValid(payload []byte, received time.Time, source string, maxBytes int) Record {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRecordBytes
	}
	if len(payload) == 0 || len(payload) > maxBytes || bytes.IndexByte(payload, '\n') >= 0 || bytes.IndexByte(payload, '\r') >= 0 ||
		isSpace(payload[0]) || isSpace(payload[len(payload)-1]) {
		return Capture(payload, received, source, maxBytes)
	}
	return Record{ID: NewID(received), Received: received.UnixNano(), Source: source, Size: len(payload), Payload: payload}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// capture is Capture for an input of which only a prefix may be held in
// payload: size is the original input size (RunHook never holds more than
// maxBytes+1 bytes of stdin).
func capture(payload []byte, size int, received time.Time, source string, maxBytes int) Record {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxRecordBytes
	}
	r := Record{ID: NewID(received), Received: received.UnixNano(), Source: source, Size: size}
	switch {
	case size > maxBytes || len(payload) > maxBytes:
		r.Bad = BadOversized
		r.Raw = payload[:min(len(payload), maxBytes):min(len(payload), maxBytes)]
	case len(bytes.TrimSpace(payload)) == 0:
		r.Bad = BadEmpty
		r.Raw = payload[:len(payload):len(payload)]
	default:
		var buf bytes.Buffer
		buf.Grow(len(payload))
		// Compact validates while it compacts (one pass) and never HTML-escapes.
		if err := json.Compact(&buf, payload); err != nil {
			r.Bad = BadInvalidJSON
			r.Raw = payload[:len(payload):len(payload)]
			break
		}
		r.Payload = buf.Bytes()
	}
	return r
}

// Encode appends r to dst as one spool line, "\n" + JSON + "\n", and returns
// the extended slice. r is expected to come from Capture or Decode: Payload
// must be compact JSON when Bad is "" (Append checks this before writing).
// The layout is fixed (see docs/architecture.md) so that Decode's fast path
// can read it without a general JSON parser.
func Encode(dst []byte, r Record) []byte {
	dst = append(dst, "\n{\"v\":1,\"id\":"...)
	dst = appendString(dst, r.ID)
	dst = append(dst, ",\"t\":"...)
	dst = strconv.AppendInt(dst, r.Received, 10)
	dst = append(dst, ",\"src\":"...)
	dst = appendString(dst, r.Source)
	if r.Bad == "" {
		dst = append(dst, ",\"n\":"...)
		dst = strconv.AppendInt(dst, int64(r.Size), 10)
		dst = append(dst, ",\"len\":"...)
		dst = strconv.AppendInt(dst, int64(len(r.Payload)), 10)
		dst = append(dst, ",\"p\":"...)
		dst = append(dst, r.Payload...)
	} else {
		dst = append(dst, ",\"bad\":"...)
		dst = appendString(dst, r.Bad)
		dst = append(dst, ",\"n\":"...)
		dst = strconv.AppendInt(dst, int64(r.Size), 10)
		dst = append(dst, ",\"raw\":\""...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Raw)
		dst = append(dst, '"')
	}
	return append(dst, "}\n"...)
}

// appendString appends s as a JSON string. Plain strings (the ids, sources and
// reasons we write) are copied verbatim; anything else goes through
// encoding/json so the line stays valid JSON whatever the caller passed.
func appendString(dst []byte, s string) []byte {
	if plain(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// plain reports whether s needs no escaping in JSON: printable ASCII without
// quote or backslash.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Decode parses one spool line (without its newline). Records in the layout
// Encode writes are read by a hand-written parser without copying: Payload
// aliases line. Other shapes of a version-1 record (reordered keys, extra
// fields, whitespace) go through encoding/json. A fragment, garbage or a blank
// line yields an error wrapping ErrNotRecord; readers skip blank lines first,
// since every record is preceded by one.
func Decode(line []byte) (Record, error) {
	if r, ok := decodeFast(line); ok {
		return r, nil
	}
	return decodeSlow(line)
}

// Fixed pieces of the layout Encode writes.
const (
	encHead  = `{"v":1,"id":"`
	encT     = `","t":`
	encSrc   = `,"src":"`
	encN     = `,"n":`
	encLen   = `,"len":`
	encP     = `,"p":`
	encBad   = `,"bad":"`
	encRaw   = `,"raw":"`
	encRawNd = `"}`
)

// decodeFast parses exactly the layout Encode writes. It reports false for
// anything else, including every strict prefix of a record: a good record
// declares its payload length before the payload, and a bad record must end
// with the closing quote of its base64 text, which cannot occur inside it.
func decodeFast(b []byte) (Record, bool) {
	var r Record
	if len(b) < len(encHead)+32 || string(b[:len(encHead)]) != encHead {
		return r, false
	}
	i := len(encHead)
	id := b[i : i+32]
	if !isHexID(id) {
		return r, false
	}
	i += 32
	if !hasAt(b, i, encT) {
		return r, false
	}
	i += len(encT)
	t, i, ok := parseInt(b, i)
	if !ok || !hasAt(b, i, encSrc) {
		return r, false
	}
	i += len(encSrc)
	src, i, ok := parseToken(b, i)
	if !ok {
		return r, false
	}
	r.ID = string(id)
	r.Received = t
	r.Source = src
	switch {
	case hasAt(b, i, encN):
		n, j, ok := parseInt(b, i+len(encN))
		if !ok || !hasAt(b, j, encLen) {
			return r, false
		}
		l, j, ok := parseInt(b, j+len(encLen))
		if !ok || !hasAt(b, j, encP) {
			return r, false
		}
		j += len(encP)
		if l <= 0 || int64(len(b)-j-1) != l || b[len(b)-1] != '}' || n < 0 {
			return r, false
		}
		r.Size = int(n)
		r.Payload = b[j : j+int(l) : j+int(l)]
		return r, true
	case hasAt(b, i, encBad):
		bad, j, ok := parseToken(b, i+len(encBad))
		if !ok || bad == "" || !hasAt(b, j, encN) {
			return r, false
		}
		n, j, ok := parseInt(b, j+len(encN))
		if !ok || n < 0 || !hasAt(b, j, encRaw) {
			return r, false
		}
		j += len(encRaw)
		if len(b)-len(encRawNd) < j || string(b[len(b)-len(encRawNd):]) != encRawNd {
			return r, false
		}
		enc := b[j : len(b)-len(encRawNd)]
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
		m, err := base64.StdEncoding.Decode(raw, enc)
		if err != nil || int64(m) > n {
			return r, false
		}
		r.Bad = bad
		r.Size = int(n)
		r.Raw = raw[:m:m]
		return r, true
	}
	return r, false
}

// hasAt reports whether b holds s at offset i.
func hasAt(b []byte, i int, s string) bool {
	return i >= 0 && len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// isHexID reports whether b is 32 lowercase hex digits.
func isHexID[T string | []byte](b T) bool {
	if len(b) != 32 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseInt reads an optionally negative decimal int64 at b[i:] and returns it
// with the offset after it. Out-of-range numbers are left to encoding/json.
func parseInt(b []byte, i int) (int64, int, bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var v uint64 // 19 decimal digits always fit
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if i-start == 19 {
			return 0, i, false
		}
		v = v*10 + uint64(c)
	}
	if i == start || v > math.MaxInt64 {
		return 0, i, false
	}
	if neg {
		return -int64(v), i, true
	}
	return int64(v), i, true
}

// parseToken reads a plain string whose opening quote precedes b[i] and returns
// it with the offset after its closing quote. Known values are interned so the
// fast path allocates only the id.
func parseToken(b []byte, i int) (string, int, bool) {
	end := bytes.IndexByte(b[i:], '"')
	if end < 0 {
		return "", i, false
	}
	tok := b[i : i+end]
	if bytes.IndexByte(tok, '\\') >= 0 {
		return "", i, false
	}
	return intern(tok), i + end + 1, true
}

// intern returns the constant for a known source or reason, else a copy of b.
func intern(b []byte) string {
	switch string(b) {
	case SourceHook:
		return SourceHook
	case SourceHTTP:
		return SourceHTTP
	case SourceImport:
		return SourceImport
	case BadInvalidJSON:
		return BadInvalidJSON
	case BadEmpty:
		return BadEmpty
	case BadOversized:
		return BadOversized
	}
	return string(b)
}

// envelope is a version-1 record as encoding/json sees it, for shapes the
// fast path does not read. Pointers tell absent fields from zero ones.
type envelope struct {
	V   *int            `json:"v"`
	ID  string          `json:"id"`
	T   *int64          `json:"t"`
	Src string          `json:"src"`
	N   *int            `json:"n"`
	Len *int            `json:"len"`
	P   json.RawMessage `json:"p"`
	Bad string          `json:"bad"`
	Raw []byte          `json:"raw"` // base64 in the line
}

// decodeSlow reads any version-1 record shape with encoding/json.
func decodeSlow(line []byte) (Record, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return Record{}, fmt.Errorf("blank line: %w", ErrNotRecord)
	}
	var e envelope
	if err := json.Unmarshal(line, &e); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrNotRecord, err)
	}
	switch {
	case e.V == nil:
		return Record{}, fmt.Errorf("no version field: %w", ErrNotRecord)
	case *e.V != formatVersion:
		return Record{}, fmt.Errorf("unsupported version %d: %w", *e.V, ErrNotRecord)
	case !isHexID(e.ID):
		return Record{}, fmt.Errorf("bad record id %q: %w", e.ID, ErrNotRecord)
	case e.T == nil:
		return Record{}, fmt.Errorf("no receive time: %w", ErrNotRecord)
	case e.Src == "":
		return Record{}, fmt.Errorf("no source: %w", ErrNotRecord)
	case e.N != nil && *e.N < 0:
		return Record{}, fmt.Errorf("negative size %d: %w", *e.N, ErrNotRecord)
	}
	r := Record{ID: e.ID, Received: *e.T, Source: e.Src, Bad: e.Bad}
	if e.Bad != "" {
		r.Raw = e.Raw
		r.Size = len(e.Raw)
		if e.N != nil {
			if *e.N < len(e.Raw) {
				return Record{}, fmt.Errorf("raw input of %d bytes exceeds its size %d: %w", len(e.Raw), *e.N, ErrNotRecord)
			}
			r.Size = *e.N
		}
		return r, nil
	}
	if len(e.P) == 0 {
		return Record{}, fmt.Errorf("no payload: %w", ErrNotRecord)
	}
	if e.Len != nil && *e.Len != len(e.P) {
		return Record{}, fmt.Errorf("payload length %d, declared %d: %w", len(e.P), *e.Len, ErrNotRecord)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, e.P); err != nil { // cannot fail after Unmarshal; kept for safety
		return Record{}, fmt.Errorf("compact payload: %w: %w", ErrNotRecord, err)
	}
	r.Payload = buf.Bytes()
	r.Size = len(e.P)
	if e.N != nil {
		r.Size = *e.N
	}
	return r, nil
}
