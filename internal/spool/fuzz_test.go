package spool

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// FuzzDecode: Decode never panics on any line, and whatever it accepts
// re-encodes to a line that decodes to the same record.
func FuzzDecode(f *testing.F) {
	if fh, err := os.Open("testdata/records.golden.jsonl"); err == nil {
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			f.Add(bytes.Clone(sc.Bytes()))
		}
		fh.Close()
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, p := range []string{`{"hook_event_name":"Stop","session_id":"s"}`, `not json`, ``, `{"a":"\n"}`} {
		f.Add(bytes.TrimSpace(Encode(nil, Capture([]byte(p), at, SourceHook, 64))))
	}
	f.Add([]byte(`{"v":1,"id":"torn`))
	f.Fuzz(func(t *testing.T, line []byte) {
		in := bytes.Clone(line)
		rec, err := Decode(line)
		if !bytes.Equal(in, line) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			return
		}
		// Decode trusts the declared length instead of validating the payload
		// (the event decoder validates it next), so only records whose payload is
		// JSON and whose fields are printable must survive a round trip.
		if rec.Bad == "" && !json.Valid(rec.Payload) || rec.Source == "" || !printable(rec.Source) || !printable(rec.ID) || !printable(rec.Bad) {
			return
		}
		again, err := Decode(bytes.TrimSpace(Encode(nil, rec)))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if again.ID != rec.ID || again.Received != rec.Received || again.Source != rec.Source ||
			again.Bad != rec.Bad || again.Size != rec.Size || !bytes.Equal(again.Payload, rec.Payload) || !bytes.Equal(again.Raw, rec.Raw) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", rec, again)
		}
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}
