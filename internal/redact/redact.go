package redact

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Mask replaces every secret found in text.
const Mask = "[REDACTED]"

// maxPasses bounds how many times Secrets reads its own output again. A second
// pass only confirms the first in all but contrived texts (a URL whose password
// hides a key assignment whose value hides the URL's "/"); past the bound the
// whole text is masked rather than spending more than linear time.
const maxPasses = 6

// Secrets returns text with every obvious secret replaced by Mask: provider keys
// by their prefix (sk-, ghp_ and the other GitHub prefixes, xox?-, AKIA, AIza,
// glpat-), JSON web tokens, the credential after "Bearer", "Basic" or "Token", the
// password in scheme://user:password@host, the value of an assignment whose key
// names a secret (api_key=..., "password": "...") and the body of a PEM private
// key. What names the secret (the key, the header, the URL's user, the PEM
// header) is kept so a reader sees what was hidden. Secrets that touch are
// masked as one.
//
// It hides at least what the former one-regexp-per-pattern implementation hid,
// and more: a PEM private key without its end marker is masked to the end of
// the text, and what lies between two PEM private keys is masked with them. Its output is a fixed point:
// Secrets(Secrets(x)) == Secrets(x). It runs in time linear in len(text).
func Secrets(text string) string {
	out, found := redactOnce(text)
	if !found {
		return text
	}
	for range maxPasses - 1 {
		next, found := redactOnce(out)
		if !found || next == out {
			return out
		}
		out = next
	}
	return Mask
}

// SecretsBytes is Secrets for text held in a byte slice, without copying it:
// it returns b itself and false when nothing is masked, else the masked text
// in a new slice and true. It does not keep b.
func SecretsBytes(b []byte) ([]byte, bool) {
	// Secrets returns its argument or a string it built: a view of b is not
	// kept past this call.
	s := unsafe.String(unsafe.SliceData(b), len(b))
	out := Secrets(s)
	if out == s {
		return b, false
	}
	return []byte(out), true
}

// Cap truncates text to at most max bytes on a UTF-8 boundary and says how much
// was cut. A max of zero or less returns "".
func Cap(text string, max int) string {
	if max <= 0 {
		return ""
	}
	if len(text) <= max {
		return text
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	var b strings.Builder
	b.Grow(cut + 32)
	b.WriteString(text[:cut])
	b.WriteString("…[truncated ")
	b.WriteString(strconv.Itoa(len(text) - cut))
	b.WriteString(" bytes]")
	return b.String()
}

// Content redacts secrets, then caps the result to max bytes: what may go on a span
// or into the store when content capture is enabled. Redaction runs first so a
// secret cut in half by the cap is still hidden.
func Content(text string, max int) string {
	return Cap(Secrets(text), max)
}

// Byte classes. Go's regexp \b and \s are ASCII only; the case-insensitive
// patterns also accept ſ (U+017F) for s and K (U+212A, Kelvin) for k, which
// is why folded runs look for those two encodings as well.
const (
	cWord      uint16 = 1 << iota // [0-9A-Za-z_]
	cToken                        // [A-Za-z0-9_-]: most provider keys, JWT segments, assignment keys
	cXox                          // [A-Za-z0-9-]: Slack tokens
	cAuth                         // [A-Za-z0-9._~+/=-]: credentials after Bearer, Basic, Token
	cSpace                        // [\t\n\f\r ]
	cValueStop                    // [\t\n\f\r "',;&]: ends an assignment's value
	cScheme                       // [a-zA-Z0-9+.-]: a URL scheme
	cUserStop                     // [\t\n\f\r :/@]: ends a URL's user
	cPassStop                     // [\t\n\f\r @/]: ends a URL's password
	cUpper                        // [0-9A-Z]: AWS key ids
)

// ſ and K in UTF-8.
const (
	longS  = "\xc5\xbf"
	kelvin = "\xe2\x84\xaa"
)

var classes = func() (t [256]uint16) {
	set := func(chars string, c uint16) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= c
		}
	}
	const (
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		lower  = "abcdefghijklmnopqrstuvwxyz"
		digits = "0123456789"
		alnum  = upper + lower + digits
		spaces = "\t\n\f\r "
	)
	set(alnum+"_", cWord)
	set(alnum+"_-", cToken)
	set(alnum+"-", cXox)
	set(alnum+"._~+/=-", cAuth)
	set(spaces, cSpace)
	set(spaces+`"',;&`, cValueStop)
	set(alnum+"+.-", cScheme)
	set(spaces+":/@", cUserStop)
	set(spaces+"@/", cPassStop)
	set(upper+digits, cUpper)
	return t
}()

// triggers are the bytes at which scan tries the patterns: '-' ends sk-, xox?-
// and glpat-; '_' ends the GitHub prefixes; 'A' starts AKIA and AIza; 'J' ends
// eyJ; b, k and the first byte of K sit in bearer, basic and token; ':' and '='
// separate an assignment's key from its value.
var triggers = func() (t [256]uint8) {
	for _, c := range []byte("-_AJbBkK:=" + kelvin[:1]) {
		t[c] = 1
	}
	return t
}()

// span is a half-open byte range of the text to be masked.
type span struct{ start, end int }

// run remembers the end of the last maximal run of one byte class, so that the
// many overlapping candidates of an adversarial text ("sk-sk-sk-...") read each
// run once.
type run struct{ from, end int }

// scanner finds the secrets of one text in one pass over it. A pass matches
// every pattern on the text as given (overlapping matches included), which
// hides at least what applying the patterns one after the other did, but for
// three effects of a mask on the patterns applied after it, which it
// reproduces: a key is at a word boundary right after a key masked before it;
// an assignment's value runs on through a URL password; a PEM key runs on past
// an end marker another secret overlaps (see findKeys).
type scanner struct {
	s      string
	spans  []span // every secret found, unordered
	tokEnd int    // end of the furthest key, token or credential found so far
	urls   []span // URL passwords, in order, disjoint

	token, word, xox, auth, value run
	seg2, seg3                    run // the second and third segments of a JWT
}

// redactOnce masks every secret it finds in one pass over text and reports
// whether it found any.
func redactOnce(text string) (string, bool) {
	sc := scanner{s: text}
	sc.findURLs()
	sc.scan()
	sc.findKeys()
	if len(sc.spans) == 0 {
		return text, false
	}
	return sc.render(), true
}

// add records a secret at [start, end) unless the last one holds it already,
// as it does for each link of a chain such as sk-sk-sk-... or token=token=...
func (sc *scanner) add(start, end int) {
	if end <= start {
		return
	}
	if n := len(sc.spans); n > 0 && sc.spans[n-1].start <= start && end <= sc.spans[n-1].end {
		return
	}
	sc.spans = append(sc.spans, span{start, end})
}

// addToken records a key, token or credential; a later one may start right
// after it, inside a word, because the mask before it makes a word boundary.
func (sc *scanner) addToken(start, end int) {
	sc.add(start, end)
	sc.tokEnd = max(sc.tokEnd, end)
}

// boundary reports whether a key may start at i: \b before a word character,
// or i right after (or inside) a key found already.
func (sc *scanner) boundary(i int) bool {
	return i == 0 || classes[sc.s[i-1]]&cWord == 0 || i-1 < sc.tokEnd
}

// runEnd returns the end of the run of class bytes starting at p, with the
// case-folded ſ and K when folded is set.
func (sc *scanner) runEnd(m *run, p int, class uint16, folded bool) int {
	if m.from <= p && p < m.end {
		return m.end
	}
	s := sc.s
	i := p
	for i < len(s) {
		if classes[s[i]]&class != 0 {
			i++
			continue
		}
		if folded {
			if w := foldWidth(s, i); w > 0 {
				i += w
				continue
			}
		}
		break
	}
	*m = run{p, i}
	return i
}

// foldWidth returns the length of ſ or K at s[i:], or 0.
func foldWidth(s string, i int) int {
	switch {
	case strings.HasPrefix(s[i:], longS):
		return len(longS)
	case strings.HasPrefix(s[i:], kelvin):
		return len(kelvin)
	}
	return 0
}

// scan looks at every trigger byte once and tries the patterns anchored there.
func (sc *scanner) scan() {
	s := sc.s
	for i := 0; ; i++ {
		// Most bytes are no trigger: test eight at a time without a branch each.
		for i+8 <= len(s) {
			b := s[i : i+8]
			if triggers[b[0]]|triggers[b[1]]|triggers[b[2]]|triggers[b[3]]|
				triggers[b[4]]|triggers[b[5]]|triggers[b[6]]|triggers[b[7]] != 0 {
				break
			}
			i += 8
		}
		for i < len(s) && triggers[s[i]] == 0 {
			i++
		}
		if i >= len(s) {
			return
		}
		switch s[i] {
		case '-':
			sc.dash(i)
		case '_':
			sc.github(i)
		case 'A':
			sc.amazonGoogle(i)
		case 'J':
			sc.jwt(i)
		case 'b', 'B':
			sc.bearerBasic(i)
		case 'k', 'K':
			sc.tokenAuth(i, 1)
		case kelvin[0]:
			if strings.HasPrefix(s[i:], kelvin) {
				sc.tokenAuth(i, len(kelvin))
			}
		case ':', '=':
			sc.assignment(i)
		}
	}
}

// dash: sk-..., xox[abposr]-..., glpat-... ending at the '-' at i.
func (sc *scanner) dash(i int) {
	s := sc.s
	var start, min int
	var m *run
	class := cToken
	switch {
	case i >= 2 && s[i-2:i] == "sk":
		start, min, m = i-2, 20, &sc.token
	case i >= 4 && s[i-4:i-1] == "xox" && strings.IndexByte("abposr", s[i-1]) >= 0:
		start, min, m, class = i-4, 10, &sc.xox, cXox
	case i >= 5 && s[i-5:i] == "glpat":
		start, min, m = i-5, 20, &sc.token
	default:
		return
	}
	if !sc.boundary(start) {
		return
	}
	if end := sc.runEnd(m, i+1, class, false); end-(i+1) >= min {
		sc.addToken(start, end)
	}
}

// github: ghp_, gho_, ghu_, ghs_, ghr_ and github_pat_ tokens ending at the '_' at i.
func (sc *scanner) github(i int) {
	s := sc.s
	start := -1
	switch {
	case i >= 3 && s[i-3:i-1] == "gh" && strings.IndexByte("pousr", s[i-1]) >= 0:
		start = i - 3
	case i >= 10 && s[i-10:i] == "github_pat":
		start = i - 10
	default:
		return
	}
	if !sc.boundary(start) {
		return
	}
	if end := sc.runEnd(&sc.word, i+1, cWord, false); end-(i+1) >= 20 {
		sc.addToken(start, end)
	}
}

// amazonGoogle: AKIA followed by exactly 16 of [0-9A-Z] and a word boundary,
// AIza followed by 35 of [A-Za-z0-9_-].
func (sc *scanner) amazonGoogle(i int) {
	s := sc.s
	if len(s)-i < 20 || !sc.boundary(i) {
		return
	}
	switch s[i+1 : i+4] {
	case "KIA":
		end := i + 20
		if allIn(s[i+4:end], cUpper) && (end == len(s) || classes[s[end]]&cWord == 0) {
			sc.addToken(i, end)
		}
	case "Iza":
		end := i + 39
		if end <= len(s) && allIn(s[i+4:end], cToken) {
			sc.addToken(i, end)
		}
	}
}

func allIn(s string, class uint16) bool {
	for i := 0; i < len(s); i++ {
		if classes[s[i]]&class == 0 {
			return false
		}
	}
	return true
}

// jwt: eyJ and three dot-separated segments of at least 8, the 'J' at i.
func (sc *scanner) jwt(i int) {
	s := sc.s
	if i < 2 || s[i-2:i] != "ey" || !sc.boundary(i-2) {
		return
	}
	end := i + 1
	for k, m := range []*run{&sc.token, &sc.seg2, &sc.seg3} {
		if k > 0 {
			if end >= len(s) || s[end] != '.' {
				return
			}
			end++
		}
		from := end
		if end = sc.runEnd(m, from, cToken, false); end-from < 8 {
			return
		}
	}
	sc.addToken(i-2, end)
}

// bearerBasic: "bearer" or "basic" in any case starting at i.
func (sc *scanner) bearerBasic(i int) {
	if !sc.boundary(i) {
		return
	}
	for _, w := range [...]string{"earer", "asic"} {
		if n := foldedPrefix(sc.s[i+1:], w); n > 0 {
			sc.credential(i + 1 + n)
			return
		}
	}
}

// tokenAuth: "token" in any case, its k (k, K or K, w bytes long) at i.
func (sc *scanner) tokenAuth(i, w int) {
	s := sc.s
	if i < 2 || lower(s[i-2]) != 't' || lower(s[i-1]) != 'o' || !sc.boundary(i-2) {
		return
	}
	if n := foldedPrefix(s[i+w:], "en"); n > 0 {
		sc.credential(i + w + n)
	}
}

// credential masks what follows an authorization scheme ending at i: white
// space, then at least 12 characters of [A-Za-z0-9._~+/=-].
func (sc *scanner) credential(i int) {
	s := sc.s
	p := i
	for p < len(s) && classes[s[p]]&cSpace != 0 {
		p++
	}
	if p == i {
		return
	}
	end := sc.runEnd(&sc.auth, p, cAuth, true)
	if utf8.RuneCountInString(s[p:min(end, p+12*len(kelvin))]) >= 12 {
		sc.addToken(p, end)
	}
}

// keywords name a secret in an assignment's key, lower case, by first letter.
// client_secret is found as secret.
var (
	keywordsA = []string{"apikey", "api_key", "api-key", "accesskey", "access_key", "access-key"}
	keywordsP = []string{"passwd", "password", "pwd", "privatekey", "private_key", "private-key"}
	keywordsS = []string{"secret"}
	keywordsT = []string{"token"}
)

// assignment: the ':' or '=' at i separates a key naming a secret
// ([A-Za-z0-9_-]* around a keyword, an optional quote, white space) from its
// value (white space, an optional quote, then at least four characters up to
// white space, a quote, ',', ';' or '&').
func (sc *scanner) assignment(i int) {
	s := sc.s
	j := i
	for j > 0 && classes[s[j-1]]&cSpace != 0 {
		j--
	}
	if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
		j--
	}
	k := j
back:
	for k > 0 {
		switch c := s[k-1]; {
		case classes[c]&cToken != 0:
			k--
		case c == longS[1] && k >= 2 && s[k-2] == longS[0]:
			k -= len(longS)
		case c == kelvin[2] && k >= 3 && s[k-3:k-1] == kelvin[:2]:
			k -= len(kelvin)
		default:
			break back
		}
	}
	if j-k < len("pwd") || !hasKeyword(s[k:j]) {
		return
	}
	v := i + 1
	for v < len(s) && classes[s[v]]&cSpace != 0 {
		v++
	}
	quoted := v < len(s) && (s[v] == '"' || s[v] == '\'')
	if quoted {
		v++
	}
	end := sc.valueEnd(v)
	if !quoted && tokenCount(s[k:j], s[v:end]) {
		return
	}
	if end > v && (utf8.RuneCountInString(s[v:min(end, v+4*utf8.UTFMax)]) >= 4 || sc.urlWithin(v, end)) {
		sc.add(v, end)
	}
}

// tokenCount reports whether an assignment is a count of tokens, not a
// secret: a key ending in "tokens" (input_tokens, max_tokens) and an unquoted
// number as its value (closing brackets of the JSON around it may follow).
func tokenCount(key, value string) bool {
	if len(key) < len("tokens") || !strings.EqualFold(key[len(key)-len("tokens"):], "tokens") {
		return false
	}
	value = strings.TrimRight(value, "}]")
	digits := 0
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digits > 0
}

// hasKeyword reports whether key contains one of the keywords in any case.
// key holds only [A-Za-z0-9_-], ſ and K, for which c|0x20 lowers a letter.
func hasKeyword(key string) bool {
	for i := 0; i+len("pwd") <= len(key); i++ {
		var words []string
		next := key[i+1] | 0x20
		switch key[i] | 0x20 {
		case 'a':
			if next != 'p' && next != 'c' {
				continue
			}
			words = keywordsA
		case 'p':
			if next != 'a' && next != 'w' && next != 'r' {
				continue
			}
			words = keywordsP
		case 's':
			if next != 'e' {
				continue
			}
			words = keywordsS
		case 't':
			if next != 'o' {
				continue
			}
			words = keywordsT
		case longS[0] | 0x20:
			words = keywordsS
		default:
			continue
		}
		for _, w := range words {
			if foldedPrefix(key[i:], w) > 0 {
				return true
			}
		}
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// lower folds an ASCII upper-case letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// foldedPrefix returns the length of the prefix of s that equals word (lower
// case ASCII) in any case, ſ standing for s and K for k, or 0.
func foldedPrefix(s, word string) int {
	n := 0
	for i := 0; i < len(word); i++ {
		w := word[i]
		switch {
		case n < len(s) && lower(s[n]) == w:
			n++
		case w == 's' && strings.HasPrefix(s[n:], longS):
			n += len(longS)
		case w == 'k' && strings.HasPrefix(s[n:], kelvin):
			n += len(kelvin)
		default:
			return 0
		}
	}
	return n
}

// valueEnd returns where an assignment's value starting at v ends. A stop
// byte inside a URL password does not end it: that password was masked
// before assignments were looked for.
func (sc *scanner) valueEnd(v int) int {
	m := &sc.value
	if m.from <= v && v < m.end {
		return m.end
	}
	s := sc.s
	i := v
	for {
		for i < len(s) && classes[s[i]]&cValueStop == 0 {
			i++
		}
		if i == len(s) {
			break
		}
		if u := sc.urlAt(i); u >= 0 {
			i = sc.urls[u].end
			continue
		}
		break
	}
	*m = run{v, i}
	return i
}

// urlAt returns the index of the URL password holding byte i, or -1.
func (sc *scanner) urlAt(i int) int {
	u, _ := slices.BinarySearchFunc(sc.urls, i, func(p span, i int) int { return cmp.Compare(p.end-1, i) })
	if u < len(sc.urls) && sc.urls[u].start <= i {
		return u
	}
	return -1
}

// urlWithin reports whether a URL password overlaps [start, end).
func (sc *scanner) urlWithin(start, end int) bool {
	u, _ := slices.BinarySearchFunc(sc.urls, start, func(p span, i int) int { return cmp.Compare(p.end-1, i) })
	return u < len(sc.urls) && sc.urls[u].start < end
}

// findURLs records the password of every scheme://user:password@ in the text.
func (sc *scanner) findURLs() {
	s := sc.s
	for off := 0; ; {
		j := strings.Index(s[off:], "://")
		if j < 0 {
			return
		}
		i := off + j
		off = i + len("://")
		k := i
		for k > 0 && classes[s[k-1]]&cScheme != 0 && !isLetter(s[k-1]) {
			k--
		}
		if k == 0 || !isLetter(s[k-1]) {
			continue
		}
		user := off
		p := user
		for p < len(s) && classes[s[p]]&cUserStop == 0 {
			p++
		}
		if p == user || p == len(s) || s[p] != ':' {
			continue
		}
		pass := p + 1
		e := pass
		for e < len(s) && classes[s[e]]&cPassStop == 0 {
			e++
		}
		if e == pass || e == len(s) || s[e] != '@' {
			continue
		}
		sc.urls = append(sc.urls, span{pass, e})
		sc.add(pass, e)
	}
}

const (
	beginMarker = "-----BEGIN "
	endMarker   = "-----END "
)

// markerEnd returns the end of "-----BEGIN [A-Z ]*PRIVATE KEY-----" (or END,
// as head says) at s[i:], or -1.
func markerEnd(s string, i int, head string) int {
	j := i + len(head)
	for j < len(s) && ('A' <= s[j] && s[j] <= 'Z' || s[j] == ' ') {
		j++
	}
	if !strings.HasSuffix(s[i+len(head):j], "PRIVATE KEY") || !strings.HasPrefix(s[j:], "-----") {
		return -1
	}
	return j + len("-----")
}

// findKeys masks PEM private keys: from the first header to the last end
// marker after it, so that keys whose end marker another secret overlaps stay
// hidden; a header with no end marker after it, to the end of the text, unless
// what follows it is already a Mask.
func (sc *scanner) findKeys() {
	s := sc.s
	if !strings.Contains(s, "PRIVATE KEY-----") {
		return // every marker ends so; 'P' is rarer than '-'
	}
	lastStart, lastEnd := -2, -1 // not looked for yet
	for off := 0; ; {
		j := strings.Index(s[off:], beginMarker)
		if j < 0 {
			return
		}
		b := off + j
		e := markerEnd(s, b, beginMarker)
		if e >= 0 && lastStart == -2 {
			lastStart, lastEnd = lastMarker(s)
		}
		switch {
		case e < 0:
			off = b + len(beginMarker)
		case lastStart >= e:
			sc.add(e, lastEnd)
			off = lastEnd
		case strings.HasPrefix(s[e:], Mask):
			off = e + len(Mask)
		default:
			sc.add(e, len(s))
			return
		}
	}
}

// lastMarker returns where the last PEM private key end marker starts and
// ends, or -1, -1.
func lastMarker(s string) (start, end int) {
	for hi := len(s); ; {
		j := strings.LastIndex(s[:hi], endMarker)
		if j < 0 {
			return -1, -1
		}
		if e := markerEnd(s, j, endMarker); e >= 0 {
			return j, e
		}
		hi = j
	}
}

// render replaces each run of overlapping or touching spans by one Mask.
func (sc *scanner) render() string {
	slices.SortFunc(sc.spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	s := sc.s
	var b strings.Builder
	b.Grow(len(s) + len(Mask))
	last := 0
	for i := 0; i < len(sc.spans); {
		start, end := sc.spans[i].start, sc.spans[i].end
		for i++; i < len(sc.spans) && sc.spans[i].start <= end; i++ {
			end = max(end, sc.spans[i].end)
		}
		b.WriteString(s[last:start])
		b.WriteString(Mask)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}
