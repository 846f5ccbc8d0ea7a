package hookevent

import (
	"encoding/binary"
	"math/bits"
	"testing"
)

func isSpecial(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }

// TestSpecial checks the word-at-a-time test of scanString against the byte
// test for every byte value at every position, among ordinary bytes of several
// kinds (ASCII, DEL, UTF-8 lead and continuation bytes), and with a second
// special byte further on.
func TestSpecial(t *testing.T) {
	fillers := []byte{'a', ' ', '!', '#', '[', ']', 0x7f, 0x80, 0xbf, 0xc3, 0xff}
	for _, filler := range fillers {
		for p := range 8 {
			for v := range 256 {
				for _, second := range []int{-1, '"', 0x00, '\\'} {
					var w [8]byte
					for k := range w {
						w[k] = filler
					}
					w[p] = byte(v)
					if second >= 0 && p < 7 {
						w[7] = byte(second)
					}
					first := -1
					for k, c := range w {
						if isSpecial(c) {
							first = k
							break
						}
					}
					s := special(binary.LittleEndian.Uint64(w[:]))
					got := -1
					if s != 0 {
						got = bits.TrailingZeros64(s) / 8
					}
					if got != first {
						t.Fatalf("special(% x): first special byte at %d, want %d", w, got, first)
					}
				}
			}
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"-7", -7, true},
		{"4187", 4187, true},
		{"999999999999999", 999999999999999, true},
		{"12345678901234567890", 12345678901234567890, true},
		{"12.5", 12.5, true},
		{"1e3", 1000, true},
		{"-2.5E-1", -0.25, true},
		{"1e400", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseNumber([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
