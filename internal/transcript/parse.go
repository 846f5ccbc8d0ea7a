package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// record is what one transcript line tells the follower. Byte slices alias the
// line, or the parser's scratch buffer for strings that contained escapes.
type record struct {
	typ       []byte // top-level "type"
	promptID  []byte // top-level "promptId"
	agentID   []byte // top-level "agentId"
	uuid      []byte // top-level "uuid"
	requestID []byte // top-level "requestId"
	msgID     []byte // message.id
	model     []byte // message.model
	sidechain bool   // top-level "isSidechain"
	// hasUsage is set when message.usage is an object.
	hasUsage bool
	// usage: input_tokens, output_tokens, cache_read_input_tokens,
	// cache_creation_input_tokens, and cache_creation.ephemeral_1h_input_tokens.
	input, output, cacheRead, cacheWrite, cacheWrite1h int64
}

var errSyntax = errors.New("transcript line: malformed JSON")

// parser extracts a record from a line without decoding what it does not need:
// it walks the top-level object and message and usage, and skips every other
// value by scanning for its end (strings with bytes.IndexByte). It accepts every
// valid JSON line and rejects most invalid ones; FuzzParse holds it to
// go-json-experiment/json on valid input.
type parser struct {
	scratch []byte
}

// parse fills r from one line (without its newline).
func (p *parser) parse(b []byte, r *record) error {
	*r = record{}
	p.scratch = p.scratch[:0]
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSyntax
	}
	i, err := p.object(b, i, r, levelTop)
	if err != nil {
		return err
	}
	if skipWS(b, i) != len(b) {
		return errSyntax
	}
	return nil
}

// Object levels whose keys the parser looks at.
const (
	levelTop = iota
	levelMessage
	levelUsage
	levelCacheCreation
)

// object reads the object starting at b[i] == '{' and returns the index after
// its closing brace.
func (p *parser) object(b []byte, i int, r *record, level int) (int, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		key, end, err := p.str(b, i)
		if err != nil {
			return 0, err
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return 0, errSyntax
		}
		if i, err = p.member(b, i, r, level, key); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// member reads the value at b[i] of key at the given level.
func (p *parser) member(b []byte, i int, r *record, level int, key []byte) (int, error) {
	var dst *[]byte
	var num *int64
	switch level {
	case levelTop:
		switch string(key) {
		case "type":
			dst = &r.typ
		case "promptId":
			dst = &r.promptID
		case "agentId":
			dst = &r.agentID
		case "uuid":
			dst = &r.uuid
		case "requestId":
			dst = &r.requestID
		case "isSidechain":
			r.sidechain = false
			if bytes.HasPrefix(b[i:], []byte("true")) {
				r.sidechain = true
			}
		case "message":
			if b[i] == '{' {
				return p.object(b, i, r, levelMessage)
			}
			r.msgID, r.model, r.hasUsage = nil, nil, false
			r.input, r.output, r.cacheRead, r.cacheWrite, r.cacheWrite1h = 0, 0, 0, 0, 0
		}
	case levelMessage:
		switch string(key) {
		case "id":
			dst = &r.msgID
		case "model":
			dst = &r.model
		case "usage":
			r.input, r.output, r.cacheRead, r.cacheWrite, r.cacheWrite1h = 0, 0, 0, 0, 0
			r.hasUsage = b[i] == '{'
			if r.hasUsage {
				return p.object(b, i, r, levelUsage)
			}
		}
	case levelUsage:
		switch string(key) {
		case "input_tokens":
			num = &r.input
		case "output_tokens":
			num = &r.output
		case "cache_read_input_tokens":
			num = &r.cacheRead
		case "cache_creation_input_tokens":
			num = &r.cacheWrite
		case "cache_creation":
			r.cacheWrite1h = 0
			if b[i] == '{' {
				return p.object(b, i, r, levelCacheCreation)
			}
		}
	case levelCacheCreation:
		if string(key) == "ephemeral_1h_input_tokens" {
			num = &r.cacheWrite1h
		}
	}
	switch {
	case dst != nil:
		*dst = nil
		if b[i] == '"' {
			s, end, err := p.str(b, i)
			if err != nil {
				return 0, err
			}
			*dst = s
			return end, nil
		}
	case num != nil:
		end, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		*num = tokenCount(b[i:end])
		return end, nil
	}
	return skipValue(b, i)
}

// tokenCount reads a token count: a non-negative integer (1e3 and 5.0 are
// accepted as what they mean); anything else (null, a string, a negative or
// fractional number) counts as 0.
func tokenCount(v []byte) int64 {
	if len(v) == 0 || v[0] < '0' || v[0] > '9' {
		return 0
	}
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return n
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f < 0 || f >= 1<<63 || f != float64(int64(f)) {
		return 0
	}
	return int64(f)
}

// str reads the string starting at b[i] == '"' and returns its contents
// (unescaped into the scratch buffer when it has escapes) and the index after
// its closing quote.
func (p *parser) str(b []byte, i int) ([]byte, int, error) {
	end, err := skipString(b, i)
	if err != nil {
		return nil, 0, err
	}
	raw := b[i+1 : end-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, end, nil
	}
	var s string
	if err := json.Unmarshal(b[i:end], &s); err != nil {
		return nil, 0, errSyntax
	}
	start := len(p.scratch)
	p.scratch = append(p.scratch, s...)
	return p.scratch[start:len(p.scratch):len(p.scratch)], end, nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the closing quote of the string starting
// at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errSyntax
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errSyntax
	}
	// A literal or a number: up to the next delimiter.
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return 0, errSyntax
			}
			return j, nil
		case '"', '{', '[', ':':
			return 0, errSyntax
		}
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	return j, nil
}
