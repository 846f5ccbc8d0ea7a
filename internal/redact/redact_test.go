package redact

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	pemBody   = "\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
	jwt       = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	skKey     = "sk-abcdefghijklmnopqrstuvwx"
	awsKeyID  = "AKIAIOSFODNN7EXAMPLE"
	googleKey = "AIzaSyA1bcdefghijklmnopqrstuvwxyz-_0123"
	glpat     = "glpat-abcdefghijklmnopqrst"
)

// secretsTests are the cases of TestSecrets. oracleDiffers marks where the
// former implementation (oracleSecrets) hides less, or masks two touching
// secrets as two; everywhere else both give want.
var secretsTests = []struct {
	name, in, want string
	oracleDiffers  bool
}{
	{name: "plain text untouched", in: "go test ./... -run TestFoo", want: "go test ./... -run TestFoo"},
	{name: "empty", in: "", want: ""},
	{name: "anthropic key", in: "export ANTHROPIC=sk-ant-api03-abcdefghijklmnopqrstuvwxyz", want: "export ANTHROPIC=" + Mask},
	{name: "github token", in: "git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x/y", want: "git clone https://" + Mask + "@github.com/x/y"},
	{name: "aws key id", in: "AKIAABCDEFGHIJKLMNOP is mine", want: Mask + " is mine"},
	{name: "bearer header", in: `curl -H "Authorization: Bearer abcdef0123456789xyz" api`, want: `curl -H "Authorization: Bearer ` + Mask + `" api`},
	{name: "url password", in: "psql postgres://admin:hunter2secret@db:5432/app", want: "psql postgres://admin:" + Mask + "@db:5432/app"},
	{name: "assignment", in: "API_KEY=abcd1234efgh ./run", want: "API_KEY=" + Mask + " ./run"},
	{name: "json secret", in: `{"password": "correct horse"}`, want: `{"password": "` + Mask + ` horse"}`},
	{name: "jwt", in: "token " + jwt, want: "token " + Mask},
	{name: "pem", in: "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", want: "-----BEGIN RSA PRIVATE KEY-----" + Mask},

	// Provider keys, each family.
	{name: "openai project key", in: "key: sk-proj-abcdefghijklmnopqrstuvwx", want: "key: " + Mask},
	{name: "sk too short", in: "sk-abcdefghijklmnopqrs", want: "sk-abcdefghijklmnopqrs"},
	{name: "sk inside a word", in: "task-runner-configuration-file", want: "task-runner-configuration-file"},
	{name: "github oauth and server tokens", in: "gho_abcdefghijklmnopqrstuvwxyz ghs_ABCDEFGHIJKLMNOPQRSTUV", want: Mask + " " + Mask},
	{name: "github fine-grained token", in: "GH=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", want: "GH=" + Mask},
	{name: "github token stops at a dash", in: "ghu_abcdefghijklmnopqrstuvwxyz-rest", want: Mask + "-rest"},
	{name: "slack token", in: "slack xoxb-123456789012-abcdefghij done", want: "slack " + Mask + " done"},
	{name: "slack token too short before an underscore", in: "xoxp-abc_defghijklmn", want: "xoxp-abc_defghijklmn"},
	{name: "aws key id in text", in: "id " + awsKeyID + ", region", want: "id " + Mask + ", region"},
	{name: "aws key id too long", in: awsKeyID + "X", want: awsKeyID + "X"},
	{name: "aws key id before lower case", in: awsKeyID + "x", want: awsKeyID + "x"},
	{name: "google api key", in: "key=" + googleKey + "&q=1", want: "key=" + Mask + "&q=1"},
	{name: "google api key masks 35 characters", in: googleKey + "tail", want: Mask + "tail"},
	{name: "gitlab token", in: "PRIVATE-TOKEN: " + glpat, want: "PRIVATE-TOKEN: " + Mask},
	{name: "jwt with a short segment", in: "eyJhbGciOi.eyJzdWIi.short", want: "eyJhbGciOi.eyJzdWIi.short"},
	{name: "jwt inside a word", in: "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3.dozjgNryP4J3jV", want: "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3.dozjgNryP4J3jV"},

	// Authorization headers.
	{name: "basic header", in: "Authorization: Basic dXNlcjpwYXNzd29yZA==", want: "Authorization: Basic " + Mask},
	{name: "bearer any case and tab", in: "BEARER\tabcdefghijkl/+=", want: "BEARER\t" + Mask},
	{name: "token header", in: "Authorization: token 0123456789abcdef", want: "Authorization: token " + Mask},
	{name: "credential too short", in: "Bearer abcdefghijk", want: "Bearer abcdefghijk"},
	{name: "bearer inside a word", in: "mybearer abcdefghijklmnop", want: "mybearer abcdefghijklmnop"},
	{name: "long s folds to s", in: "baſic abcdefghijklmnop", want: "baſic " + Mask},
	{name: "kelvin sign folds to k", in: "to\u212aen abcdefghijklmnop", want: "to\u212aen " + Mask},
	{name: "credential of folded letters", in: "token ſſſſſſſſſſſſ end", want: "token " + Mask + " end"},

	// Passwords in URLs.
	{name: "url password with colon", in: "ftp://u:pa:ss@h/x", want: "ftp://u:" + Mask + "@h/x"},
	{name: "url port is no password", in: "http://host:8080/path", want: "http://host:8080/path"},
	{name: "url without user", in: "redis://:pw@cache:6379", want: "redis://:pw@cache:6379"},
	{name: "url whose scheme has no letter", in: "1://u:pw@h", want: "1://u:pw@h"},
	{name: "url user holds a token", in: "https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz01@github.com/o/r", want: "https://x-access-token:" + Mask},
	{name: "several urls", in: "a://u:p@h b://v:q@i", want: "a://u:" + Mask + "@h b://v:" + Mask + "@i"},

	// Assignments.
	{name: "password", in: "password=hunter2", want: "password=" + Mask},
	{name: "quoted with spaces", in: "PASSWORD = 'hunter2'", want: "PASSWORD = '" + Mask + "'"},
	{name: "yaml", in: "db_password: s3cr3t!\nuser: bob", want: "db_password: " + Mask + "\nuser: bob"},
	{name: "query string", in: "client_secret=abcd&grant_type=x", want: "client_secret=" + Mask + "&grant_type=x"},
	{name: "json without spaces", in: `{"apiKey":"abcd1234","n":1}`, want: `{"apiKey":"` + Mask + `","n":1}`},
	{name: "quote before the colon", in: `'access-key' : "abcd1234"`, want: `'access-key' : "` + Mask + `"`},
	{name: "value too short", in: "pwd=abc", want: "pwd=abc"},
	{name: "value of three wide characters", in: "pwd=日本語", want: "pwd=日本語"},
	{name: "value of four wide characters", in: "pwd=日本語だ", want: "pwd=" + Mask},
	{name: "go short declaration", in: "token := newToken()", want: "token := newToken()"},
	{name: "go assignment", in: "token = newToken()", want: "token = " + Mask},
	{name: "token counts", in: `{"input_tokens":12345,"output_tokens":678,"usage":{"cache_read_input_tokens": 123456}}`,
		want: `{"input_tokens":12345,"output_tokens":678,"usage":{"cache_read_input_tokens": 123456}}`},
	{name: "quoted token count", in: `{"max_tokens":"32000000"}`, want: `{"max_tokens":"` + Mask + `"}`},
	{name: "numeric token", in: "api_token=12345678", want: "api_token=" + Mask},
	{name: "numeric password after tokens", in: "tokens_password=12345678", want: "tokens_password=" + Mask},
	{name: "tokens naming a secret", in: "TOKENS=abcd1234efgh", want: "TOKENS=" + Mask},
	{name: "key word inside a longer name", in: "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", want: "AWS_SECRET_ACCESS_KEY=" + Mask},
	{name: "private key name", in: "private_key=abcdefgh", want: "private_key=" + Mask},
	{name: "key alone names no secret", in: "key=abcdefgh monkey=abcdefgh", want: "key=abcdefgh monkey=abcdefgh"},
	{name: "long s in the key", in: "ſecret=abcd", want: "ſecret=" + Mask},
	{name: "kelvin sign in the key", in: "api\u212aey: abcd", want: "api\u212aey: " + Mask},
	{name: "many keys without values", in: "api_key=; api_key=, api_key=", want: "api_key=; api_key=, api_key="},
	{name: "keys as values", in: "api_key= api_key= api_key=", want: "api_key= " + Mask + " " + Mask, oracleDiffers: true},
	{name: "keys chained", in: "token=token=token=abcd", want: "token=" + Mask},
	{name: "value runs through a url password", in: "x://pwd:a;b@h end", want: "x://pwd:" + Mask + " end"},
	{name: "url password found once a value is masked", in: "x://u:pwd=abc/def;@h", want: "x://u:" + Mask, oracleDiffers: true},

	// PEM private keys.
	{name: "pem then text", in: "-----BEGIN PRIVATE KEY-----" + pemBody + "-----END PRIVATE KEY-----\nafter", want: "-----BEGIN PRIVATE KEY-----" + Mask + "\nafter"},
	{name: "openssh key", in: "cat id:\n-----BEGIN OPENSSH PRIVATE KEY-----" + pemBody + "-----END OPENSSH PRIVATE KEY-----", want: "cat id:\n-----BEGIN OPENSSH PRIVATE KEY-----" + Mask},
	{name: "pem without end marker", in: "-----BEGIN EC PRIVATE KEY-----" + pemBody, want: "-----BEGIN EC PRIVATE KEY-----" + Mask, oracleDiffers: true},
	{name: "pem header already masked", in: "-----BEGIN RSA PRIVATE KEY-----" + Mask + " more", want: "-----BEGIN RSA PRIVATE KEY-----" + Mask + " more"},
	{name: "two pem keys mask what lies between",
		in:            "-----BEGIN RSA PRIVATE KEY-----\nk1\n-----END RSA PRIVATE KEY-----\nbetween\n-----BEGIN EC PRIVATE KEY-----\nk2\n-----END EC PRIVATE KEY-----\ntail",
		want:          "-----BEGIN RSA PRIVATE KEY-----" + Mask + "\ntail",
		oracleDiffers: true},
	{name: "pem end marker hiding a key id",
		in:   "-----BEGIN RSA PRIVATE KEY-----\nk1\n-----END " + awsKeyID + " PRIVATE KEY-----\nmiddle\n-----END RSA PRIVATE KEY-----\ntail",
		want: "-----BEGIN RSA PRIVATE KEY-----" + Mask + "\ntail"},
	{name: "certificate untouched", in: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", want: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
	{name: "pem end marker alone", in: "-----END RSA PRIVATE KEY-----", want: "-----END RSA PRIVATE KEY-----"},

	// Position, number, overlap.
	{name: "secret at start", in: skKey + " at start", want: Mask + " at start"},
	{name: "secret at end", in: "at end " + skKey, want: "at end " + Mask},
	{name: "secret is the text", in: skKey, want: Mask},
	{name: "several secrets", in: "a=1 password=hunter22 " + awsKeyID + " " + skKey, want: "a=1 password=" + Mask + " " + Mask + " " + Mask},
	{name: "key inside a credential", in: "Bearer sk-ant-api03-abcdefghijklmnopqrst", want: "Bearer " + Mask},
	{name: "key as a value", in: "password=" + skKey, want: "password=" + Mask},
	{name: "key swallowing an assignment's key", in: "sk-abcdefghijklmnopqrst_token=hunter22", want: Mask + "=" + Mask, oracleDiffers: true},
	{name: "touching keys are one mask", in: googleKey + glpat, want: Mask, oracleDiffers: true},
	{name: "keys repeated in one word", in: "sk-sk-sk-sk-sk-sk-sk-sk-sk-", want: Mask},
	{name: "masked text stays", in: "password=" + Mask, want: "password=" + Mask},

	// Unicode around secrets.
	{name: "accents around", in: "clé=é " + skKey + " ü", want: "clé=é " + Mask + " ü"},
	{name: "accent before is a boundary", in: "é" + skKey, want: "é" + Mask},
	{name: "wide characters around an assignment", in: "日本語password=秘密の値です日本", want: "日本語password=" + Mask},
	{name: "invalid utf-8 in a value", in: "pwd=\xff\xfe\xfd\xfc ok", want: "pwd=" + Mask + " ok"},
}

func TestSecrets(t *testing.T) {
	for _, tt := range secretsTests {
		t.Run(tt.name, func(t *testing.T) {
			got := Secrets(tt.in)
			if got != tt.want {
				t.Errorf("Secrets(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := Secrets(got); again != got {
				t.Errorf("Secrets(Secrets(%q)) = %q, want %q", tt.in, again, got)
			}
			if old := oracleSecrets(tt.in); (old != tt.want) != tt.oracleDiffers {
				t.Errorf("former implementation gives %q; oracleDiffers = %v", old, tt.oracleDiffers)
			}
			assertCoversOracle(t, tt.in, got)
		})
	}
}

// TestSecretsBytes: the byte-slice form masks as Secrets does, hands back the
// caller's slice when nothing is masked, and never writes to it.
func TestSecretsBytes(t *testing.T) {
	for _, tt := range secretsTests {
		in := []byte(tt.in)
		got, masked := SecretsBytes(in)
		if string(got) != tt.want || masked != (tt.want != tt.in) {
			t.Errorf("SecretsBytes(%q) = %q, %v; want %q, %v", tt.in, got, masked, tt.want, tt.want != tt.in)
		}
		if string(in) != tt.in {
			t.Errorf("SecretsBytes(%q) changed its input to %q", tt.in, in)
		}
		if !masked && len(in) > 0 && &got[0] != &in[0] {
			t.Errorf("SecretsBytes(%q) copied a text without secrets", tt.in)
		}
	}
	if got, masked := SecretsBytes(nil); got != nil || masked {
		t.Errorf("SecretsBytes(nil) = %q, %v", got, masked)
	}
}

// assertCoversOracle fails if out, what Secrets made of in, shows anything
// the former implementation hid: every piece of out between masks must appear
// in what the former implementation left. It returns what that left.
func assertCoversOracle(tb testing.TB, in, out string) string {
	tb.Helper()
	old := oracleSecrets(in)
	for _, piece := range strings.Split(out, Mask) {
		if !strings.Contains(old, piece) {
			tb.Errorf("Secrets(%q) = %q shows %q, which the former implementation hid: %q", in, out, piece, old)
		}
	}
	return old
}

// TestSecretsUnchanged: large and adversarial texts without a secret come
// back as they were, as the very same string.
func TestSecretsUnchanged(t *testing.T) {
	source := readBench(t, "source.txt")
	tests := []struct{ name, in string }{
		{"1 MiB of a", strings.Repeat("a", 1<<20)},
		{"source code", source},
		{"prose", readBench(t, "prose.txt")},
		{"command", benchCommand()},
		{"many keys without values", strings.Repeat("api_key=; ", 1<<14)},
		{"many short values", strings.Repeat("password=abc ", 1<<14)},
		{"many prefixes", strings.Repeat("sk- ghp_ xoxb- AKIA AIza glpat- eyJ Bearer token ", 1<<12)},
		{"many urls without password", strings.Repeat("https://example.com:8443/path ", 1<<12)},
		{"many pem headers of no private key", strings.Repeat("-----BEGIN CERTIFICATE-----\n", 1<<12)},
		{"long runs", strings.Repeat("x", 1<<16) + "://" + strings.Repeat("y", 1<<16) + ":" + strings.Repeat("z", 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Secrets(tt.in)
			if got != tt.in {
				t.Fatalf("Secrets changed a text without secrets; first difference at byte %d", firstDiff(got, tt.in))
			}
			if unsafe.StringData(got) != unsafe.StringData(tt.in) {
				t.Error("Secrets copied a text without secrets")
			}
		})
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestSecretsPathological: adversarial texts of 1 MiB are redacted as the
// patterns say (their speed is in BenchmarkSecretsPathological).
func TestSecretsPathological(t *testing.T) {
	const size = 1 << 20
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	tests := []struct{ name, in, want string }{
		{"keys chained", fill("token="), "token=" + Mask},
		{"key runs into values", fill("api_key="), "api_key=" + Mask},
		{"keys without values", fill("password=; "), fill("password=; ")},
		{"keys as values", fill("password: "), "password: " + strings.Repeat(Mask+" ", size/len("password: ")-1)},
		{"prefixes in one word", fill("sk-"), Mask},
		{"jwt prefixes in one word", fill("eyJ"), fill("eyJ")},
		{"bearer without credential", fill("Bearer "), fill("Bearer ")},
		{"pem headers without end", fill("-----BEGIN RSA PRIVATE KEY-----"), "-----BEGIN RSA PRIVATE KEY-----" + Mask},
		{"urls without at", fill("a://b:c"), fill("a://b:c")},
		{"dense secrets", fill(awsKeyID + " password=hunter2secret "), strings.Repeat(Mask+" password="+Mask+" ", size/len(awsKeyID+" password=hunter2secret "))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Secrets(tt.in)
			if got != tt.want {
				t.Errorf("Secrets(%.40q... %d bytes) = %.80q... (%d bytes), want %.80q... (%d bytes)", tt.in, len(tt.in), got, len(got), tt.want, len(tt.want))
			}
			if again := Secrets(got); again != got {
				t.Errorf("not idempotent")
			}
		})
	}
}

// TestSecretsCorpus redacts a realistic text with many secrets against a golden file.
func TestSecretsCorpus(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := Secrets(string(in))
	golden := filepath.Join("testdata", "corpus.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("Secrets(corpus) mismatch (-want +got):\n%s", diff)
	}
	if again := Secrets(got); again != got {
		t.Errorf("Secrets is not idempotent on the corpus:\n%s", cmp.Diff(got, again))
	}
	assertCoversOracle(t, string(in), got)
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
