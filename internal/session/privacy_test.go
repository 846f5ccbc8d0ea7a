package session

import (
	"fmt"
	"strings"
	"testing"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/redact"
)

const (
	secretPrompt  = "Deploy project Falcon to the Zurich cluster before Friday"
	secretToken   = "sk-ant-api03-Zq9vX2mB7nK4pL8sT1wY6cR3"
	secretCommand = "curl -H 'Authorization: Bearer " + secretToken + "' https://deploy.internal/falcon --data-binary @release.tar"
	secretFile    = "FALCON_LAUNCH_CODES=alpha-bravo-charlie-delta-echo-foxtrot-golf-hotel-india-juliet"
	secretOutput  = "deployed falcon build 4711 to zurich-prod-3"
	secretError   = "Exit code 7: could not reach deploy.internal for falcon"
)

func privacyEvents(tb testing.TB) []*hookevent.Event {
	tb.Helper()
	payloads := []string{
		`{"session_id":"p","hook_event_name":"SessionStart","source":"startup"}`,
		`{"session_id":"p","prompt_id":"q1","hook_event_name":"UserPromptSubmit","prompt":"` + secretPrompt + `"}`,
		`{"session_id":"p","prompt_id":"q1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_use_id":"t1","tool_input":{"command":"` + strings.ReplaceAll(secretCommand, `'`, `'`) + `"}}`,
		`{"session_id":"p","prompt_id":"q1","hook_event_name":"PostToolUse","tool_name":"Bash","tool_use_id":"t1","tool_input":{"command":"` + secretCommand + `"},"tool_response":{"stdout":"` + secretOutput + `"},"duration_ms":900}`,
		`{"session_id":"p","prompt_id":"q1","hook_event_name":"PreToolUse","tool_name":"Write","tool_use_id":"t2","tool_input":{"file_path":"/srv/falcon/.env","content":"` + secretFile + `"}}`,
		`{"session_id":"p","prompt_id":"q1","hook_event_name":"PostToolUseFailure","tool_name":"Write","tool_use_id":"t2","tool_input":{"file_path":"/srv/falcon/.env","content":"` + secretFile + `"},"error":"` + secretError + `"}`,
		`{"session_id":"p","prompt_id":"q1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_use_id":"t3","tool_input":{"command":"` + secretCommand + `"}}`,
		`{"session_id":"p","prompt_id":"q1","hook_event_name":"Stop"}`,
		`{"session_id":"p","hook_event_name":"SessionEnd","reason":"logout"}`,
	}
	var evs []*hookevent.Event
	for i, p := range payloads {
		ev, err := hookevent.Decode([]byte(p))
		if err != nil {
			tb.Fatalf("payload %d: %v", i, err)
		}
		ev.Received = at(float64(i))
		evs = append(evs, &ev)
	}
	return evs
}

func stringAttrs(spans []Span) map[string][]string {
	out := map[string][]string{}
	for _, s := range spans {
		for _, a := range s.Attrs {
			if v, ok := a.Value.(string); ok {
				out[a.Key] = append(out[a.Key], v)
			}
		}
		out["span name"] = append(out["span name"], s.Name)
	}
	return out
}

func TestPrivacyCaptureOff(t *testing.T) {
	tr := New(Options{})
	var spans []Span
	for _, ev := range privacyEvents(t) {
		spans = append(spans, tr.Apply(ev)...)
	}
	if len(spans) != 5 {
		t.Fatalf("got %d spans, want 5", len(spans))
	}
	forbidden := []string{secretPrompt, secretCommand, secretToken, secretFile, secretOutput, secretError, "Falcon", "falcon build", "alpha-bravo"}
	for key, values := range stringAttrs(spans) {
		for _, v := range values {
			for _, f := range forbidden {
				if strings.Contains(v, f) {
					t.Errorf("attribute %s = %q carries content %q", key, v, f)
				}
			}
		}
	}
	sizes := map[string]bool{}
	for _, s := range spans {
		for _, a := range s.Attrs {
			if strings.HasSuffix(a.Key, ".size") {
				sizes[a.Key] = true
			}
		}
	}
	for _, k := range []string{AttrPromptSize, AttrCommandSize, AttrToolInputSize, AttrToolOutputSize, AttrToolErrorSize} {
		if !sizes[k] {
			t.Errorf("size attribute %s missing", k)
		}
	}
}

func TestPrivacyCaptureOn(t *testing.T) {
	const max = 60
	tr := New(Options{CaptureContent: true, ContentMaxBytes: max})
	var spans []Span
	for _, ev := range privacyEvents(t) {
		spans = append(spans, tr.Apply(ev)...)
	}
	attrs := stringAttrs(spans)
	for _, key := range []string{AttrPrompt, AttrCommand, AttrToolArguments, AttrToolResult, AttrToolError} {
		values := attrs[key]
		if len(values) == 0 {
			t.Errorf("captured attribute %s missing", key)
		}
		for _, v := range values {
			limit := len(redact.Cap(strings.Repeat("x", 10000), max))
			if len(v) > limit {
				t.Errorf("%s is %d bytes, over the cap of %d", key, len(v), limit)
			}
		}
	}
	for key, values := range attrs {
		for _, v := range values {
			if strings.Contains(v, secretToken[:16]) {
				t.Errorf("attribute %s = %q leaks the token", key, v)
			}
		}
	}
	var redacted bool
	for _, v := range attrs[AttrCommand] {
		redacted = redacted || strings.Contains(v, redact.Mask)
	}
	if !redacted {
		t.Errorf("command not redacted: %q", attrs[AttrCommand])
	}
	if got := attrs[AttrPrompt]; len(got) != 1 || !strings.HasPrefix(got[0], secretPrompt[:max-8]) {
		t.Errorf("captured prompt: %q", got)
	}
}

// TestPrivacyCaptureOnStateIsCapped: captured content held in open state is
// capped before it is stored, so checkpoints stay small as well.
func TestPrivacyCaptureOnStateIsCapped(t *testing.T) {
	tr := New(Options{CaptureContent: true, ContentMaxBytes: 64})
	long := strings.Repeat("lorem ipsum ", 10000)
	ev, err := hookevent.Decode([]byte(fmt.Sprintf(`{"session_id":"p","hook_event_name":"PreToolUse","tool_name":"Bash","tool_use_id":"t","tool_input":{"command":%q}}`, long)))
	if err != nil {
		t.Fatal(err)
	}
	tr.Apply(&ev)
	b, err := tr.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 4096 {
		t.Errorf("state is %d bytes with a %d-byte command", len(b), len(long))
	}
}

func TestCaptureWindow(t *testing.T) {
	const max = 64
	tr := New(Options{CaptureContent: true, ContentMaxBytes: max})
	pad := strings.Repeat("x", max-10)
	tests := []struct {
		name, in string
		leak     string
	}{
		{"secret across the cut", pad + " token=" + secretToken + strings.Repeat(" y", 5000), secretToken[:8]},
		{"private key ending beyond the window", pad + "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + strings.Repeat("A", 3000) + "\n-----END RSA PRIVATE KEY-----", "MIIEow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tr.capture(tc.in)
			if strings.Contains(got, tc.leak) {
				t.Errorf("capture leaks %q: %q", tc.leak, got)
			}
			if !strings.Contains(got, "[truncated ") || len(got) > max+40 {
				t.Errorf("capture not capped: %q", got)
			}
		})
	}
}
