package hookevent

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small JSON scanner specialised for one job: walk a payload once,
// validate it, and report where values lie, without building anything. It accepts
// exactly what encoding/json accepts (RFC 8259 grammar, any nesting depth, invalid
// UTF-8 inside strings) and decodes strings the way encoding/json does (invalid
// bytes and unpaired surrogates become U+FFFD), which the fuzz test checks.

// syntaxError is invalid JSON at an offset of the payload.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.off, e.msg)
}

// Unwrap lets errors.Is(err, ErrSyntax) match.
func (e *syntaxError) Unwrap() error { return ErrSyntax }

func errAt(off int, msg string) error { return &syntaxError{off: off, msg: msg} }

func errEnd(b []byte) error { return errAt(len(b), "unexpected end of input") }

func errChar(b []byte, i int, context string) error {
	return errAt(i, "unexpected character "+strconv.QuoteRune(rune(b[i]))+" "+context)
}

// String flags tell how a string's raw bytes differ from its decoded text.
const (
	strEscape   uint8 = 1 << iota // contains a backslash escape
	strNonASCII                   // may contain bytes >= 0x80 (possibly invalid UTF-8)
)

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special returns a word whose lowest set bit marks the first byte of x (read
// little-endian) that ends the fast path of a string: a control character, '"' or
// '\\'. Higher bits may be false positives; zero means none of the eight bytes is
// special.
func special(x uint64) uint64 {
	less := (x - lsb*0x20) &^ x
	quote := x ^ (lsb * '"')
	quote = (quote - lsb) &^ quote
	bslash := x ^ (lsb * '\\')
	bslash = (bslash - lsb) &^ bslash
	return (less | quote | bslash) & msb
}

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanString scans the string starting at b[i] == '"' and returns the index just
// past its closing quote and its flags.
func scanString(b []byte, i int) (int, uint8, error) {
	var flags uint8
	i++
	for {
		// Eight bytes at a time while none of them is special; long tool
		// responses are mostly string bytes.
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			if x&msb != 0 {
				flags |= strNonASCII
			}
			if s := special(x); s != 0 {
				i += bits.TrailingZeros64(s) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, flags, errEnd(b)
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, flags, nil
		case c == '\\':
			flags |= strEscape
			if i+1 >= len(b) {
				return i, flags, errEnd(b)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, flags, errEnd(b)
				}
				if _, ok := hex4(b[i+2 : i+6]); !ok {
					return i, flags, errAt(i, "invalid escape in string")
				}
				i += 6
			default:
				return i, flags, errAt(i, "invalid escape in string")
			}
		case c < ' ':
			return i, flags, errChar(b, i, "in string")
		default:
			if c >= utf8.RuneSelf {
				flags |= strNonASCII
			}
			i++
		}
	}
}

// hex4 decodes four hex digits.
func hex4(h []byte) (rune, bool) {
	var r rune
	for _, c := range h[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber scans the number starting at b[i] and returns the index past it.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, errEnd(b)
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return i, errChar(b, i, "in number")
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			if j >= len(b) {
				return j, errEnd(b)
			}
			return j, errChar(b, j, "after decimal point in number")
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			if j >= len(b) {
				return j, errEnd(b)
			}
			return j, errChar(b, j, "in exponent of number")
		}
		i = j
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// scanLiteral scans true, false or null at b[i].
func scanLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, errEnd(b)
		}
		if b[i+k] != lit[k] {
			return i + k, errChar(b, i+k, "in literal "+lit)
		}
	}
	return i + len(lit), nil
}

// scanScalar scans a value that is not an object or array.
func scanScalar(b []byte, i int) (int, error) {
	switch c := b[i]; c {
	case '"':
		end, _, err := scanString(b, i)
		return end, err
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return scanNumber(b, i)
		}
		return i, errChar(b, i, "looking for beginning of value")
	}
}

// scanKey scans an object member's name and colon at b[i] and returns the name's
// raw bytes (without quotes), its flags and the index of the member's value.
func scanKey(b []byte, i int) (key []byte, flags uint8, next int, err error) {
	if i >= len(b) {
		return nil, 0, i, errEnd(b)
	}
	if b[i] != '"' {
		return nil, 0, i, errChar(b, i, "looking for beginning of object key string")
	}
	end, flags, err := scanString(b, i)
	if err != nil {
		return nil, 0, end, err
	}
	key = b[i+1 : end-1]
	i = skipWS(b, end)
	if i >= len(b) {
		return nil, 0, i, errEnd(b)
	}
	if b[i] != ':' {
		return nil, 0, i, errChar(b, i, "after object key")
	}
	i = skipWS(b, i+1)
	if i >= len(b) {
		return nil, 0, i, errEnd(b)
	}
	return key, flags, i, nil
}

// maxDepth is the deepest nesting of objects and arrays accepted, counting the
// payload's own object: encoding/json's limit, so that whatever Decode accepts,
// encoding/json accepts too.
const maxDepth = 10000

// skipValue scans the value at b[i] (not whitespace), nested in outer containers,
// and returns the index past it. It is iterative: nesting costs one bit per
// level, never stack.
func skipValue(b []byte, i, outer int) (int, error) {
	if i >= len(b) {
		return i, errEnd(b)
	}
	if c := b[i]; c != '{' && c != '[' {
		return scanScalar(b, i)
	}
	// Bit d of stack is set when the container at depth d is an object. The
	// first 512 levels live on the goroutine stack.
	stack := make([]uint64, 0, 8)
	depth := 0
	var err error
	for {
		// Scan one value at b[i]; containers push and start on their first element.
		switch c := b[i]; c {
		case '{', '[':
			if outer+depth >= maxDepth {
				return i, errAt(i, "exceeded max depth")
			}
			i = skipWS(b, i+1)
			if i >= len(b) {
				return i, errEnd(b)
			}
			if c == '{' && b[i] == '}' || c == '[' && b[i] == ']' {
				i++
				break
			}
			if w := depth >> 6; w >= len(stack) {
				stack = append(stack, 0)
			}
			if c == '{' {
				stack[depth>>6] |= 1 << (depth & 63)
				if _, _, i, err = scanKey(b, i); err != nil {
					return i, err
				}
			} else {
				stack[depth>>6] &^= 1 << (depth & 63)
			}
			depth++
			continue
		default:
			if i, err = scanScalar(b, i); err != nil {
				return i, err
			}
		}
		// A value ended: close finished containers, or move to the next element.
	closing:
		for {
			if depth == 0 {
				return i, nil
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, errEnd(b)
			}
			object := stack[(depth-1)>>6]>>((depth-1)&63)&1 == 1
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
				if object {
					if _, _, i, err = scanKey(b, i); err != nil {
						return i, err
					}
				} else if i >= len(b) {
					return i, errEnd(b)
				}
				break closing
			case '}':
				if !object {
					return i, errChar(b, i, "after array element")
				}
			case ']':
				if object {
					return i, errChar(b, i, "after object key:value pair")
				}
			default:
				if object {
					return i, errChar(b, i, "after object key:value pair")
				}
				return i, errChar(b, i, "after array element")
			}
			i++
			depth--
		}
	}
}

// writeString writes the decoded text of a string's raw bytes (between the
// quotes) to w, like encoding/json: invalid UTF-8 bytes and unpaired surrogate
// escapes become U+FFFD. raw must have passed scanString.
func writeString(w *strings.Builder, raw []byte, flags uint8) {
	if flags&strEscape == 0 && (flags&strNonASCII == 0 || utf8.Valid(raw)) {
		w.Write(raw)
		return
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			i += 2
			switch raw[i-1] {
			case 'b':
				w.WriteByte('\b')
			case 'f':
				w.WriteByte('\f')
			case 'n':
				w.WriteByte('\n')
			case 'r':
				w.WriteByte('\r')
			case 't':
				w.WriteByte('\t')
			case 'u':
				r, _ := hex4(raw[i:])
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2, _ = hex4(raw[i+2:])
					}
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						r = pair
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				w.WriteRune(r)
			default: // '"', '\\', '/'
				w.WriteByte(raw[i-1])
			}
		case c < utf8.RuneSelf:
			w.WriteByte(c)
			i++
		default:
			i += writeRune(w, raw[i:])
		}
	}
}

// writeRune writes the UTF-8 sequence at the start of p, or U+FFFD for an invalid
// byte, and returns the number of bytes consumed.
func writeRune(w *strings.Builder, p []byte) int {
	r, size := utf8.DecodeRune(p)
	if r == utf8.RuneError && size == 1 {
		w.WriteString("\uFFFD")
		return 1
	}
	w.Write(p[:size])
	return size
}

// writeCompact writes the valid JSON value raw without insignificant whitespace,
// with invalid UTF-8 inside strings replaced by U+FFFD so the text is valid UTF-8.
func writeCompact(w *strings.Builder, raw []byte) {
	inString := false
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c >= utf8.RuneSelf:
			i += writeRune(w, raw[i:])
			continue
		case inString && c == '\\':
			w.WriteByte(c)
			w.WriteByte(raw[i+1])
			i += 2
			continue
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\n' || c == '\r' || c == '\t'):
			i++
			continue
		}
		w.WriteByte(c)
		i++
	}
}

// parseNumber converts a scanned JSON number. ok is false when it overflows float64.
func parseNumber(raw []byte) (f float64, ok bool) {
	digits := raw
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	// Whole numbers of up to 15 digits are exact in float64: skip strconv.
	if len(digits) <= 15 {
		var n uint64
		whole := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				whole = false
				break
			}
			n = n*10 + uint64(c-'0')
		}
		if whole {
			f = float64(n)
			if len(digits) < len(raw) {
				f = -f
			}
			return f, true
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}
