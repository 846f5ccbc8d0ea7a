package plugin_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

func TestChannelPath(t *testing.T) {
	tests := []struct {
		name   string
		filter wire.Filter
		want   string
	}{
		{name: "everything", want: "events"},
		{name: "session", filter: wire.Filter{SessionID: "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"}, want: "events/s=5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"},
		{name: "events sorted and deduplicated", filter: wire.Filter{Events: []string{"Stop", "PreToolUse", "Stop"}}, want: "events/e=PreToolUse.Stop"},
		{name: "all keys in order", filter: wire.Filter{SessionID: "s1", Events: []string{"PostToolUseFailure"}, Tool: "mcp__github__create_issue", Agent: "Explore", Outcome: "failure", Text: "x"},
			want: "events/s=s1/e=PostToolUseFailure/t=mcp__github__create_issue/a=Explore/o=failure/q=x"},
		{name: "text encoded", filter: wire.Filter{Text: "npm test"}, want: "events/q=.bnBtIHRlc3Q"},
		{name: "unicode text", filter: wire.Filter{Text: "日本語"}, want: "events/q=.5pel5pys6Kqe"},
		{name: "odd event name", filter: wire.Filter{Events: []string{"Pre.Tool", "Stop"}}, want: "events/e=.UHJlLlRvb2wsU3RvcA"},
		{name: "slash in tool", filter: wire.Filter{Tool: "a/b=c"}, want: "events/t=.YS9iPWM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := plugin.ChannelPath(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ChannelPath = %q, want %q", got, tt.want)
			}
			back, err := plugin.ParseChannelPath(got)
			if err != nil {
				t.Fatalf("ParseChannelPath(%q): %v", got, err)
			}
			want := tt.filter
			want.Events = normEvents(want.Events)
			if diff := cmp.Diff(want, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func normEvents(evs []string) []string {
	var out []string
	for _, e := range evs {
		dup := false
		for _, o := range out {
			dup = dup || o == e
		}
		if !dup {
			out = append(out, e)
		}
	}
	for i := range out { // insertion sort: a handful of names
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestChannelPathErrors(t *testing.T) {
	if _, err := plugin.ChannelPath(wire.Filter{Outcome: "maybe"}); err == nil {
		t.Error("outcome maybe: no error")
	}
	long := wire.Filter{SessionID: strings.Repeat("a", plugin.MaxChannelPath)}
	if _, err := plugin.ChannelPath(long); err == nil {
		t.Error("path over the limit: no error")
	}
	fits := wire.Filter{SessionID: strings.Repeat("a", plugin.MaxChannelPath-len("events/s="))}
	if p, err := plugin.ChannelPath(fits); err != nil || len(p) != plugin.MaxChannelPath {
		t.Errorf("path at the limit: %q, %v", p, err)
	}
}

func TestParseChannelPathRefuses(t *testing.T) {
	for _, path := range []string{
		"",
		"logs",
		"events/",
		"events/x=1",
		"events/s",
		"events/s=a/s=b",            // repeated
		"events/t=Bash/s=a",         // out of order
		"events/o=maybe",            // outcome not in the set
		"events/e=Stop.PreToolUse",  // not sorted: not canonical
		"events/e=Stop..PreToolUse", // empty name
		"events/q=.%%%",             // not base64url
		"events/q=.YQ",              // "a" is plain: base64 form not canonical
		"events/q=",                 // empty value
		"events/s=a b",              // outside the plain set
		"events/" + strings.Repeat("s", plugin.MaxChannelPath),
	} {
		if f, err := plugin.ParseChannelPath(path); err == nil {
			t.Errorf("ParseChannelPath(%q) = %+v, want an error", path, f)
		}
	}
}

// Every filter a user can type maps to a valid Grafana channel path that
// parses back to the same filter.
func FuzzChannelPath(f *testing.F) {
	f.Add("5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", "PreToolUse,Stop", "Bash", "Explore", "npm test")
	f.Add("", "", "mcp__x__y", "", "日本語 / = .")
	f.Fuzz(func(t *testing.T, session, events, tool, agent, text string) {
		in := wire.Filter{SessionID: session, Tool: tool, Agent: agent, Text: text}
		for _, e := range strings.Split(events, ",") {
			if e != "" {
				in.Events = append(in.Events, e)
			}
		}
		p, err := plugin.ChannelPath(in)
		if err != nil {
			if len(p) == 0 && strings.Contains(err.Error(), "limit") {
				return
			}
			t.Fatalf("ChannelPath(%+v): %v", in, err)
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-/=.", r)) {
				t.Fatalf("path %q has %q, outside Grafana's channel characters", p, r)
			}
		}
		back, err := plugin.ParseChannelPath(p)
		if err != nil {
			t.Fatalf("ParseChannelPath(%q): %v", p, err)
		}
		in.Events = normEvents(in.Events)
		if diff := cmp.Diff(in, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", p, diff)
		}
	})
}
