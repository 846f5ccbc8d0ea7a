package redact

import (
	"flag"
	"math/rand/v2"
	"strings"
	"testing"
)

var (
	grammarCases = flag.Int("grammar.cases", 500, "texts TestSecretsGrammar generates")
	grammarSeed  = flag.Uint64("grammar.seed", 1, "seed of the texts TestSecretsGrammar generates")
)

// fragments are the pieces TestSecretsGrammar strings together: parts of every
// pattern, the characters that end them, masks, and folded letters.
var fragments = []string{
	"sk-", "sk-ant-", "ghp_", "github_pat_", "xoxb-", "AKIA", "AIza", "glpat-", "eyJ", "-----BEGIN RSA PRIVATE KEY-----",
	"-----END RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "-----END AKIA",
	"Bearer ", "basic ", "token ", "TOKEN", "baſic ", "to\u212aen", "ſ", "\u212a",
	"://", "https://", "x://u:", ":", "@", "/", "=", ";", ",", "&", `"`, "'", " ", "\t", "\n", ".", "-", "_",
	"password", "pwd", "api_key", "secret", "access-key", "PRIVATE KEY", "client_secret",
	"abcdefghij", "ABCDEFGHIJKLMNOP", "0123456789", "a", "Z9", "é", "日本", "\xff",
	Mask, "[", "]",
}

// TestSecretsGrammar checks, on texts made of fragments of the patterns, what
// FuzzSecrets checks on random bytes: a fixed point, and nothing shown that the
// former implementation hid.
func TestSecretsGrammar(t *testing.T) {
	r := rand.New(rand.NewPCG(*grammarSeed, 2))
	for range *grammarCases {
		var b strings.Builder
		for n := 1 + r.IntN(48); n > 0; n-- {
			f := fragments[r.IntN(len(fragments))]
			if r.IntN(4) == 0 {
				f = strings.Repeat(f, 1+r.IntN(4))
			}
			b.WriteString(f)
		}
		in := b.String()
		checkSecrets(t, in)
		if t.Failed() {
			t.Fatalf("stopped at %q", in)
		}
	}
}
