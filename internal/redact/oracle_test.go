package redact

import "regexp"

// oraclePatterns are the regular expressions Secrets used before it was
// rewritten for speed, kept as the reference it must never hide less than.
// Each keeps a non-secret prefix in group 1 and an optional tail in group 2.
var oraclePatterns = []*regexp.Regexp{
	regexp.MustCompile(`()\bsk-ant-[A-Za-z0-9_\-]{16,}`),
	regexp.MustCompile(`()\bsk-[A-Za-z0-9_\-]{20,}`),
	regexp.MustCompile(`()\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}`),
	regexp.MustCompile(`()\bxox[abposr]-[A-Za-z0-9\-]{10,}`),
	regexp.MustCompile(`()\bAKIA[0-9A-Z]{16}\b`),
	regexp.MustCompile(`()\bAIza[0-9A-Za-z_\-]{35}`),
	regexp.MustCompile(`()\bglpat-[A-Za-z0-9_\-]{20,}`),
	regexp.MustCompile(`()\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`),
	regexp.MustCompile(`(?i)(\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=\-]{12,}`),
	regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+(@)`),
	oracleAssignment,
	regexp.MustCompile(`(?s)(-----BEGIN [A-Z ]*PRIVATE KEY-----).*?-----END [A-Z ]*PRIVATE KEY-----`),
}

// oracleAssignment is the pattern of a key naming a secret and its value.
var oracleAssignment = regexp.MustCompile(`(?i)((?:api[_-]?key|apikey|secret|token|passwd|password|pwd|access[_-]?key|private[_-]?key|client[_-]?secret)[A-Za-z0-9_\-]*["']?\s*[:=]\s*["']?)[^\s"',;&]{4,}`)

// oracleCountKey and oracleNumber tell a count of tokens ("input_tokens":
// 12345): a key ending in "tokens", no quote before an unquoted number.
var (
	oracleCountKey = regexp.MustCompile(`(?i)tokens["']?\s*[:=]\s*$`)
	oracleNumber   = regexp.MustCompile(`^[-+.eE]*[0-9][-+.eE0-9]*[\]}]*$`)
)

func oracleTokenCount(keep, value string) bool {
	return oracleCountKey.MatchString(keep) && oracleNumber.MatchString(value)
}

// oracleSecrets is the former Secrets: each pattern in turn over the text the
// previous one left.
func oracleSecrets(text string) string {
	for _, re := range oraclePatterns {
		if !re.MatchString(text) {
			continue
		}
		text = re.ReplaceAllStringFunc(text, func(m string) string {
			sub := re.FindStringSubmatch(m)
			keep := ""
			if len(sub) > 1 {
				keep = sub[1]
			}
			if re == oracleAssignment && oracleTokenCount(keep, m[len(keep):]) {
				return m // a count of tokens, not a secret
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
