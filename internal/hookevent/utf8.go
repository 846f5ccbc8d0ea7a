package hookevent

import (
	"bytes"
	"unicode/utf8"
)

// replacement is U+FFFD in UTF-8.
var replacement = []byte("\uFFFD")

// ValidUTF8 returns p when it is valid UTF-8, else a copy with every invalid
// byte sequence replaced by U+FFFD, and reports whether it replaced any. JSON
// strings must be UTF-8: a payload with raw invalid bytes (the spool keeps
// what it received) would make everything that serves it (the query API, the
// stream) invalid JSON for a strict client. Replacing bytes inside a JSON
// string keeps the document valid; outside strings a payload has none.
func ValidUTF8(p []byte) ([]byte, bool) {
	if utf8.Valid(p) {
		return p, false
	}
	return bytes.ToValidUTF8(p, replacement), true
}
