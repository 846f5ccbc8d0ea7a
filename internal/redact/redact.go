package redact

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mask replaces every secret found in text.
const Mask = "[REDACTED]"

// patterns match secrets by shape. Each keeps a non-secret prefix in group 1
// where one exists (a key name, a URL's user), so the reader still sees what was hidden.
var patterns = []*regexp.Regexp{
	// Provider keys with a recognisable prefix.
	regexp.MustCompile(`()\bsk-ant-[A-Za-z0-9_\-]{16,}`),
	regexp.MustCompile(`()\bsk-[A-Za-z0-9_\-]{20,}`),
	regexp.MustCompile(`()\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}`),
	regexp.MustCompile(`()\bxox[abposr]-[A-Za-z0-9\-]{10,}`),
	regexp.MustCompile(`()\bAKIA[0-9A-Z]{16}\b`),
	regexp.MustCompile(`()\bAIza[0-9A-Za-z_\-]{35}`),
	regexp.MustCompile(`()\bglpat-[A-Za-z0-9_\-]{20,}`),
	// JSON web tokens.
	regexp.MustCompile(`()\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`),
	// Authorization headers.
	regexp.MustCompile(`(?i)(\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=\-]{12,}`),
	// Passwords in URLs: scheme://user:password@host.
	regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+(@)`),
	// key=value and "key": "value" assignments whose key names a secret.
	regexp.MustCompile(`(?i)((?:api[_-]?key|apikey|secret|token|passwd|password|pwd|access[_-]?key|private[_-]?key|client[_-]?secret)[A-Za-z0-9_\-]*["']?\s*[:=]\s*["']?)[^\s"',;&]{4,}`),
	// PEM private keys.
	regexp.MustCompile(`(?s)(-----BEGIN [A-Z ]*PRIVATE KEY-----).*?-----END [A-Z ]*PRIVATE KEY-----`),
}

// Secrets returns text with every obvious secret replaced by Mask.
func Secrets(text string) string {
	for _, re := range patterns {
		if !re.MatchString(text) {
			continue
		}
		text = re.ReplaceAllStringFunc(text, func(m string) string {
			sub := re.FindStringSubmatch(m)
			keep := ""
			if len(sub) > 1 {
				keep = sub[1]
			}
			tail := ""
			if len(sub) > 2 {
				tail = sub[2]
			}
			return keep + Mask + tail
		})
	}
	return text
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
