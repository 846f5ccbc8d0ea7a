package claudesettings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// value is one node of a parsed settings document: *object, *array or raw (a
// scalar kept byte for byte as it was written). Keeping the user's key order and
// scalar spelling means an install changes only what it has to.
type value any

// raw is a JSON scalar (string, number, bool or null), compact, as written.
type raw []byte

type member struct {
	key string
	val value
}

// object is a JSON object that keeps its keys in document order.
type object struct{ members []member }

// array is a JSON array.
type array struct{ elems []value }

func (o *object) index(key string) int {
	for i, m := range o.members {
		if m.key == key {
			return i
		}
	}
	return -1
}

func (o *object) get(key string) (value, bool) {
	if i := o.index(key); i >= 0 {
		return o.members[i].val, true
	}
	return nil, false
}

// set replaces the value of key in place, or appends key when it is new.
func (o *object) set(key string, v value) {
	if i := o.index(key); i >= 0 {
		o.members[i].val = v
		return
	}
	o.members = append(o.members, member{key: key, val: v})
}

func (o *object) del(key string) bool {
	i := o.index(key)
	if i < 0 {
		return false
	}
	o.members = append(o.members[:i], o.members[i+1:]...)
	return true
}

// parse reads one JSON document. Duplicate keys keep the first position and the
// last value, as JavaScript's JSON.parse (Claude Code) does.
func parse(data []byte) (value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the top-level value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (value, error) {
	var rm json.RawMessage
	if err := dec.Decode(&rm); err != nil {
		return nil, err
	}
	switch rm[0] {
	case '{':
		return parseObject(rm)
	case '[':
		return parseArray(rm)
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, rm); err != nil {
			return nil, err
		}
		return raw(buf.Bytes()), nil
	}
}

func parseObject(data []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, err
	}
	o := &object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v is not a string", tok)
		}
		v, err := parseValue(dec)
		if err != nil {
			return nil, err
		}
		o.set(key, v)
	}
	return o, nil
}

func parseArray(data []byte) (*array, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '['
		return nil, err
	}
	a := &array{}
	for dec.More() {
		v, err := parseValue(dec)
		if err != nil {
			return nil, err
		}
		a.elems = append(a.elems, v)
	}
	return a, nil
}

// format writes v with two-space indentation and a trailing newline.
func format(v value) ([]byte, error) {
	var compact bytes.Buffer
	if err := writeCompact(&compact, v); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("indent settings: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeCompact(buf *bytes.Buffer, v value) error {
	switch v := v.(type) {
	case *object:
		buf.WriteByte('{')
		for i, m := range v.members {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(str(m.key))
			buf.WriteByte(':')
			if err := writeCompact(buf, m.val); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case *array:
		buf.WriteByte('[')
		for i, e := range v.elems {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCompact(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case raw:
		buf.Write(v)
	default:
		return fmt.Errorf("unexpected settings node %T", v)
	}
	return nil
}

// str encodes s as a JSON string without HTML escaping, so commands with & or >
// stay readable in the file.
func str(s string) raw {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return raw(bytes.TrimRight(buf.Bytes(), "\n"))
}

// num encodes an integer.
func num(n int) raw { return raw(fmt.Appendf(nil, "%d", n)) }

// boolean encodes a bool.
func boolean(b bool) raw {
	if b {
		return raw("true")
	}
	return raw("false")
}

// stringOf returns the string a raw scalar holds, and whether it is a string.
func stringOf(v value) (string, bool) {
	r, ok := v.(raw)
	if !ok || len(r) == 0 || r[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return "", false
	}
	return s, true
}

// equal reports whether two values mean the same JSON (key order in objects
// ignored, scalars compared by meaning: 10 equals 10.0, "\u0041" equals "A").
func equal(a, b value) bool {
	switch a := a.(type) {
	case *object:
		b, ok := b.(*object)
		if !ok || len(a.members) != len(b.members) {
			return false
		}
		for _, m := range a.members {
			bv, ok := b.get(m.key)
			if !ok || !equal(m.val, bv) {
				return false
			}
		}
		return true
	case *array:
		b, ok := b.(*array)
		if !ok || len(a.elems) != len(b.elems) {
			return false
		}
		for i := range a.elems {
			if !equal(a.elems[i], b.elems[i]) {
				return false
			}
		}
		return true
	case raw:
		b, ok := b.(raw)
		if !ok {
			return false
		}
		if bytes.Equal(a, b) {
			return true
		}
		var av, bv any
		if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
			return false
		}
		return av == bv
	}
	return false
}
