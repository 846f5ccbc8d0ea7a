package redact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	alnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	filler   = "Q7xK2mZ9pL4vN8wR1tY6uB3zC5hJ0fDq7XkM2zP9lV4nW8rT1yU6bZ3cH5jF0d"
	alphaTok = alnum + "_-"
	// alphaPass is what a URL password and an assignment's value may hold.
	alphaPass = alnum + "!#$%()*+-.<>?[]^_`{|}~"
)

// body makes a secret of at least min and at most max bytes of alphabet from
// what the fuzzer gave, topped up from filler.
func body(raw, alphabet string, min, max int) string {
	var b strings.Builder
	for i := 0; i < len(raw) && b.Len() < max; i++ {
		if strings.IndexByte(alphabet, raw[i]) >= 0 {
			b.WriteByte(raw[i])
		}
	}
	for i := 0; b.Len() < min; i++ {
		if c := filler[i%len(filler)]; strings.IndexByte(alphabet, c) >= 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func pick(v uint8, choices ...string) string { return choices[int(v)%len(choices)] }

// secretKinds make one secret of each family from raw bytes and a variant:
// the text to embed and the part of it that must not be seen.
var secretKinds = []func(raw string, v uint8) (text, secret string){
	func(raw string, v uint8) (string, string) {
		t := "sk-ant-api03-" + body(raw, alphaTok, 16, 64)
		return t, t
	},
	func(raw string, v uint8) (string, string) { t := "sk-" + body(raw, alphaTok, 20, 64); return t, t },
	func(raw string, v uint8) (string, string) {
		t := pick(v, "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_") + body(raw, alnum+"_", 20, 64)
		return t, t
	},
	func(raw string, v uint8) (string, string) {
		t := "xox" + pick(v, "a", "b", "p", "o", "s", "r") + "-" + body(raw, alnum+"-", 10, 64)
		return t, t
	},
	func(raw string, v uint8) (string, string) {
		t := "AKIA" + body(raw, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16, 16)
		return t, t
	},
	func(raw string, v uint8) (string, string) { t := "AIza" + body(raw, alphaTok, 35, 35); return t, t },
	func(raw string, v uint8) (string, string) { t := "glpat-" + body(raw, alphaTok, 20, 64); return t, t },
	func(raw string, v uint8) (string, string) {
		a, b, c := raw, "", ""
		if n := len(raw) / 3; n > 0 {
			a, b, c = raw[:n], raw[n:2*n], raw[2*n:]
		}
		t := "eyJ" + body(a, alphaTok, 8, 40) + "." + body(b, alphaTok, 8, 40) + "." + body(c, alphaTok, 8, 40)
		return t, t
	},
	func(raw string, v uint8) (string, string) {
		s := body(raw, alnum+"._~+/=-", 12, 64)
		return pick(v, "Bearer ", "basic ", "TOKEN\t", "bearer  ", "baſic ", "to\u212aen ") + s, s
	},
	func(raw string, v uint8) (string, string) {
		s := body(raw, alphaPass+":", 6, 64)
		return pick(v, "https", "postgres", "git+ssh", "s3") + "://" + pick(v/4, "user", "me.x", "ghp") + ":" + s + "@host/x", s
	},
	func(raw string, v uint8) (string, string) {
		s := body(raw, alphaPass, 6, 64)
		key := pick(v, "password", "api_key", "API-KEY", "ClientSecret", "x_token", "PWD", "privateKey", "ſecret", "ACCESS_KEY", "passwd")
		open, end := "=", ""
		switch v / 10 % 5 {
		case 1:
			open = ": "
		case 2:
			key, open, end = `"`+key+`"`, `:"`, `"`
		case 3:
			open, end = " = '", "'"
		case 4:
			open = "\t:\n\t"
		}
		return key + open + s + end, s
	},
	func(raw string, v uint8) (string, string) {
		s := body(raw, alnum+"+/=\n", 16, 200)
		kind := pick(v, "RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED ")
		return "-----BEGIN " + kind + "PRIVATE KEY-----\n" + s + "\n-----END " + kind + "PRIVATE KEY-----", s
	},
}

// separators go around an embedded secret: none, space, a word character, punctuation, a wide character.
var separators = []string{"", " ", "\n", `"`, "x", "é", "=", "/", ":", "]", "\t"}

// embed puts the secret of kind k into text at a position chosen by at.
func embed(text, raw string, k, v, at, seps uint8) (in, secret string) {
	tok, secret := secretKinds[int(k)%len(secretKinds)](raw, v)
	i := int(at) % (len(text) + 1)
	left, right := separators[int(seps)%len(separators)], separators[int(seps)/len(separators)%len(separators)]
	return text[:i] + left + tok + right + text[i:], secret
}

// checkSecrets runs Secrets on in and checks what holds for every text: no
// panic, a fixed point, nothing shown that the former implementation hid.
func checkSecrets(tb testing.TB, in string) (out, old string) {
	tb.Helper()
	out = Secrets(in)
	if again := Secrets(out); again != out {
		tb.Errorf("Secrets is not idempotent on %q:\n once %q\ntwice %q", in, out, again)
	}
	return out, assertCoversOracle(tb, in, out)
}

func FuzzSecrets(f *testing.F) {
	for i, tt := range secretsTests {
		f.Add(tt.in, "", uint8(i), uint8(i), uint8(0), uint8(1))
	}
	corpus, err := os.ReadFile(filepath.Join("testdata", "corpus.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(corpus), "abc", uint8(9), uint8(0), uint8(200), uint8(12))
	f.Add("x://u:pwd=abc/def;@h", "Zz9", uint8(10), uint8(3), uint8(6), uint8(0))
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nk\n-----END RSA PRIVATE KEY-----", "", uint8(11), uint8(1), uint8(31), uint8(2))
	f.Fuzz(func(t *testing.T, text, raw string, k, v, at, seps uint8) {
		checkSecrets(t, text)
		in, secret := embed(text, raw, k, v, at, seps)
		out, old := checkSecrets(t, in)
		if !strings.Contains(old, secret) && strings.Contains(out, secret) {
			t.Errorf("Secrets(%q) = %q shows %q, which the former implementation hid", in, out, secret)
		}
	})
}

// TestSecretsEmbedded: a secret of every family, set apart by spaces in
// ordinary text, is never seen, whatever its body.
func TestSecretsEmbedded(t *testing.T) {
	raws := []string{"", "A-B_C.D/E+F=G~H!I" + strings.Repeat("Zy", 100)}
	spaces := uint8(1 + len(separators)) // separators[1], a space, on each side
	for k := range secretKinds {
		for v := range uint8(50) { // every key and separator of the assignments
			for _, raw := range raws {
				in, secret := embed("before  after", raw, uint8(k), v, 7, spaces)
				out, old := checkSecrets(t, in)
				if strings.Contains(old, secret) {
					t.Errorf("kind %d: the former implementation shows %q in %q", k, secret, old)
				}
				if strings.Contains(out, secret) {
					t.Errorf("kind %d: Secrets(%q) = %q shows %q", k, in, out, secret)
				}
			}
		}
	}
}
