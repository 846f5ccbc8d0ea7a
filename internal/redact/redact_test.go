package redact

import (
	"strings"
	"testing"
)

func TestSecrets(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text untouched", "go test ./... -run TestFoo", "go test ./... -run TestFoo"},
		{"anthropic key", "export ANTHROPIC=sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "export ANTHROPIC=" + Mask},
		{"github token", "git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x/y", "git clone https://" + Mask + "@github.com/x/y"},
		{"aws key id", "AKIAABCDEFGHIJKLMNOP is mine", Mask + " is mine"},
		{"bearer header", `curl -H "Authorization: Bearer abcdef0123456789xyz" api`, `curl -H "Authorization: Bearer ` + Mask + `" api`},
		{"url password", "psql postgres://admin:hunter2secret@db:5432/app", "psql postgres://admin:" + Mask + "@db:5432/app"},
		{"assignment", "API_KEY=abcd1234efgh ./run", "API_KEY=" + Mask + " ./run"},
		{"json secret", `{"password": "correct horse"}`, `{"password": "` + Mask + ` horse"}`},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "token " + Mask},
		{"pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----" + Mask},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Secrets(tt.in); got != tt.want {
				t.Errorf("Secrets(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCap(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "abc", 10, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"cut", "abcdefgh", 3, "abc…[truncated 5 bytes]"},
		{"utf8 boundary", "日本語", 4, "日…[truncated 6 bytes]"},
		{"zero", "abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Cap(tt.in, tt.max); got != tt.want {
				t.Errorf("Cap(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestContentRedactsBeforeCapping(t *testing.T) {
	in := "key sk-ant-api03-" + strings.Repeat("x", 40)
	got := Content(in, 20)
	if strings.Contains(got, "xxxx") {
		t.Fatalf("Content leaked part of a secret: %q", got)
	}
	if !strings.HasPrefix(got, "key "+Mask) {
		t.Fatalf("Content = %q, want the mask first", got)
	}
}

func BenchmarkSecrets(b *testing.B) {
	text := strings.Repeat("npm test -- src/billing && git status; ", 50)
	b.ReportAllocs()
	for b.Loop() {
		Secrets(text)
	}
}
