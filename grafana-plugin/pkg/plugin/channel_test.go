package plugin_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/grafana/grafana-plugin-sdk-go/live"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// sameFilter compares filters with their event names as sets.
var sameFilter = cmp.Options{cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })}

func TestChannelPath(t *testing.T) {
	tests := []struct {
		name   string
		filter wire.Filter
		want   string
	}{
		{name: "everything", want: "events"},
		{name: "uuid session", filter: wire.Filter{SessionID: "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"}, want: "events/u=Xwwqnjt9TEGeYo0fC3pMEw"},
		{name: "upper-case uuid is not canonical", filter: wire.Filter{SessionID: "5F0C2A9E-3B7D-4C41-9E62-8D1F0B7A4C13"}, want: "events/s=5F0C2A9E-3B7D-4C41-9E62-8D1F0B7A4C13"},
		{name: "other session", filter: wire.Filter{SessionID: "s1"}, want: "events/s=s1"},
		{name: "known events as a bit set", filter: wire.Filter{Events: []string{"Stop", "PreToolUse", "Stop"}}, want: "events/k=pc0"},
		{name: "custom events sorted and deduplicated", filter: wire.Filter{Events: []string{"Zed", "Custom", "Zed"}}, want: "events/e=Custom.Zed"},
		{name: "known and custom events", filter: wire.Filter{Events: []string{"Custom", "SessionStart"}}, want: "events/k=1/e=Custom"},
		{name: "all keys in order", filter: wire.Filter{SessionID: "s1", Events: []string{"PostToolUseFailure", "X"}, Tool: "mcp__github__create_issue", Agent: "Explore", Outcome: "failure", Text: "x"},
			want: "events/s=s1/k=sg/e=X/t=mcp__github__create_issue/a=Explore/o=failure/q=x"},
		{name: "text encoded", filter: wire.Filter{Text: "npm test"}, want: "events/q=.bnBtIHRlc3Q"},
		{name: "unicode text", filter: wire.Filter{Text: "日本語"}, want: "events/q=.5pel5pys6Kqe"},
		{name: "odd event name", filter: wire.Filter{Events: []string{"Pre.Tool", "Stop"}}, want: "events/k=pa8/e=.UHJlLlRvb2w"},
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
			want.Events = uniqueNames(want.Events)
			if diff := cmp.Diff(want, back, sameFilter); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func uniqueNames(evs []string) []string {
	var out []string
	for _, e := range evs {
		if !strings.Contains(","+strings.Join(out, ",")+",", ","+e+",") {
			out = append(out, e)
		}
	}
	return out
}

// editorEvents are the event names the query editor offers (HOOK_EVENTS in
// src/types.ts).
func editorEvents(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile("../../src/types.ts")
	if err != nil {
		tb.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)export const HOOK_EVENTS = \[(.*?)\];`).FindSubmatch(b)
	if m == nil {
		tb.Fatal("src/types.ts: no HOOK_EVENTS array")
	}
	var names []string
	for _, q := range regexp.MustCompile(`'([^']+)'`).FindAllSubmatch(m[1], -1) {
		names = append(names, string(q[1]))
	}
	if len(names) < 20 {
		tb.Fatalf("src/types.ts: HOOK_EVENTS has %d names, want the full list", len(names))
	}
	return names
}

// longest returns the n longest names.
func longest(names []string, n int) []string {
	s := append([]string(nil), names...)
	for i := range s { // selection by length: a few dozen names
		for j := i + 1; j < len(s); j++ {
			if len(s[j]) > len(s[i]) {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[:n]
}

// Every channel the query editor can produce, built from its maximal filters
// on a data source with the longest uid Grafana allows (40 characters), is
// either accepted by the SDK's own parser on the whole "ds/<uid>/<path>"
// string and parses back to its filter, or is the plugin's ErrChannelTooLong,
// exactly when Grafana would refuse it. What a user typically combines (a
// session id, every event name the editor offers, a tool, an agent, an
// outcome and a short text) always fits.
func TestChannelEditorMaximal(t *testing.T) {
	evs := editorEvents(t)
	uids := []string{"claude-hooks", strings.Repeat("U", 40)}
	sessions := []string{"", "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", "a-session-id-that-is-not-a-uuid-at-all"}
	events := [][]string{nil, longest(evs, 4), evs, append(longest(evs, 4), "MyCustomEventName")}
	tools := []string{"", "Bash", "mcp__github__create_issue", "mcp__plugin_acme_internal-tools__create_pull_request_review"}
	agents := []string{"", "general-purpose", "a1b2c3d4e5f6a7b8c"}
	texts := []string{"", "npm test", "exit code 128", strings.Repeat("x", 40), "找不到文件 src/計算/消費税.go"}
	fits, tooLong := 0, 0
	for _, uid := range uids {
		for _, s := range sessions {
			for _, e := range events {
				for _, tool := range tools {
					for _, a := range agents {
						for _, o := range append([]string{""}, wire.Outcomes...) {
							for _, q := range texts {
								f := wire.Filter{SessionID: s, Events: e, Tool: tool, Agent: a, Outcome: o, Text: q}
								path, err := plugin.ChannelPath(f)
								if err != nil {
									t.Fatalf("ChannelPath(%+v): %v", f, err)
								}
								full := "ds/" + uid + "/" + path
								_, sdkErr := live.ParseChannel(full)
								ch, err := plugin.Channel(uid, f)
								switch {
								case err == nil && sdkErr == nil:
									fits++
									if ch != full {
										t.Fatalf("Channel = %q, want %q", ch, full)
									}
									parsed, _ := live.ParseChannel(ch)
									if parsed.Scope != "ds" || parsed.Namespace != uid || parsed.Path != path {
										t.Fatalf("live.ParseChannel(%q) = %+v", ch, parsed)
									}
									back, err := plugin.ParseChannelPath(parsed.Path)
									if err != nil {
										t.Fatalf("ParseChannelPath(%q): %v", parsed.Path, err)
									}
									if diff := cmp.Diff(f, back, sameFilter); diff != "" {
										t.Fatalf("round trip of %q (-want +got):\n%s", ch, diff)
									}
								case errors.Is(err, plugin.ErrChannelTooLong) && sdkErr != nil && len(full) > plugin.MaxChannel:
									tooLong++
								default:
									t.Fatalf("filter %+v on uid %q: Channel error %v, live.ParseChannel(%q) error %v", f, uid, err, full, sdkErr)
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d channels fit, %d are the plugin's too-long error", fits, tooLong)
	if fits == 0 || tooLong == 0 {
		t.Errorf("%d fit, %d too long: the cases do not reach both sides of the limit", fits, tooLong)
	}

	// The report: a session id, four event names, a tool and a short
	// text got "invalid channel ID" from Grafana. Now the typical maximum fits.
	for _, f := range []wire.Filter{
		{SessionID: sessions[1], Events: longest(evs, 4), Tool: "Bash", Text: "npm test"},
		{SessionID: sessions[1], Events: evs, Tool: "mcp__github__create_issue", Agent: "general-purpose", Outcome: "interrupted", Text: "npm test"},
	} {
		if ch, err := plugin.Channel(uids[1], f); err != nil {
			t.Errorf("Channel(%+v): %v", f, err)
		} else if _, err := live.ParseChannel(ch); err != nil {
			t.Errorf("live.ParseChannel(%q): %v", ch, err)
		}
	}
}

// Every name the editor offers is a known hook event, so that it takes one
// bit of the k segment rather than its name.
func TestChannelEditorEventsKnown(t *testing.T) {
	for _, e := range editorEvents(t) {
		p, err := plugin.ChannelPath(wire.Filter{Events: []string{e}})
		if err != nil || !strings.HasPrefix(p, "events/k=") {
			t.Errorf("event %s: path %q, %v; want a k segment", e, p, err)
		}
	}
}

func TestChannelErrors(t *testing.T) {
	if _, err := plugin.ChannelPath(wire.Filter{Outcome: "maybe"}); err == nil {
		t.Error("outcome maybe: no error")
	}
	if _, err := plugin.Channel("claude-hooks", wire.Filter{Outcome: "maybe"}); err == nil {
		t.Error("Channel with outcome maybe: no error")
	}
	const uid = "claude-hooks"
	prefix := len("ds/" + uid + "/events/s=")
	long := wire.Filter{SessionID: strings.Repeat("a", plugin.MaxChannel-prefix+1)}
	_, err := plugin.Channel(uid, long)
	if !errors.Is(err, plugin.ErrChannelTooLong) || !strings.Contains(err.Error(), "161 characters, 1 over the limit of 160") {
		t.Errorf("channel one over the limit: %v", err)
	}
	fits := wire.Filter{SessionID: strings.Repeat("a", plugin.MaxChannel-prefix)}
	if ch, err := plugin.Channel(uid, fits); err != nil || len(ch) != plugin.MaxChannel {
		t.Errorf("channel at the limit: %q, %v", ch, err)
	}
	if _, err := plugin.Channel("bad uid", wire.Filter{}); err == nil || !strings.Contains(err.Error(), "invalid channel ID") {
		t.Errorf("uid with a space: %v, want the SDK's refusal", err)
	}
}

func TestParseChannelPathRefuses(t *testing.T) {
	for _, path := range []string{
		"",
		"logs",
		"events/",
		"events/x=1",
		"events/s",
		"events/s=a/s=b",                      // repeated
		"events/t=Bash/s=a",                   // out of order
		"events/u=Xwwqnjt9TEGeYo0fC3pMEw/s=a", // two sessions
		"events/u=Xwwqnjt9TEGeYo0fC3pM",       // not 16 bytes
		"events/k=0",                          // empty set
		"events/k=zzzzzzzzzzzzz",              // bits beyond the known names
		"events/k=-1",                         // not a set
		"events/e=Stop",                       // a known name outside the bit set: not canonical
		"events/o=maybe",                      // outcome not in the set
		"events/e=Zed.Custom",                 // not sorted: not canonical
		"events/e=Custom..Zed",                // empty name
		"events/q=.%%%",                       // not base64url
		"events/q=.YQ",                        // "a" is plain: base64 form not canonical
		"events/q=",                           // empty value
		"events/s=a b",                        // outside the plain set
		"events/s=5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", // a UUID belongs in u
		"events/" + strings.Repeat("s", plugin.MaxChannel),
	} {
		if f, err := plugin.ParseChannelPath(path); err == nil {
			t.Errorf("ParseChannelPath(%q) = %+v, want an error", path, f)
		}
	}
}

// Every filter a user can type maps to a valid Grafana channel, or to the
// plugin's too-long error, and the channel's path parses back to the same
// filter.
func FuzzChannelPath(f *testing.F) {
	f.Add("5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", "PreToolUse,Stop", "Bash", "Explore", "npm test")
	f.Add("", "Custom,SessionEnd", "mcp__x__y", "", "日本語 / = .")
	f.Fuzz(func(t *testing.T, session, events, tool, agent, text string) {
		in := wire.Filter{SessionID: session, Tool: tool, Agent: agent, Text: text}
		for _, e := range strings.Split(events, ",") {
			if e != "" {
				in.Events = append(in.Events, e)
			}
		}
		ch, err := plugin.Channel("claude-hooks", in)
		if errors.Is(err, plugin.ErrChannelTooLong) {
			return
		}
		if err != nil {
			t.Fatalf("Channel(%+v): %v", in, err)
		}
		parsed, err := live.ParseChannel(ch)
		if err != nil {
			t.Fatalf("live.ParseChannel(%q): %v", ch, err)
		}
		back, err := plugin.ParseChannelPath(parsed.Path)
		if err != nil {
			t.Fatalf("ParseChannelPath(%q): %v", parsed.Path, err)
		}
		in.Events = uniqueNames(in.Events)
		if diff := cmp.Diff(in, back, sameFilter); diff != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", ch, diff)
		}
	})
}
