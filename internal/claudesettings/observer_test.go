package claudesettings

import (
	"slices"
	"strings"
	"testing"
)

func TestObserverEvents(t *testing.T) {
	all := append(slices.Clone(allEvents), "WorktreeCreate", "WorktreeRemove")
	got := ObserverEvents(all)
	if !slices.Equal(got, allEvents) {
		t.Errorf("ObserverEvents = %q, want %q", got, allEvents)
	}
	if len(all) != 31 {
		t.Fatalf("test setup: %d events", len(all))
	}
}

// TestInstallRefusesNonObservers: asked to register an event whose hook
// changes Claude Code's behaviour, Install refuses and names the event.
func TestInstallRefusesNonObservers(t *testing.T) {
	for _, ev := range []string{"WorktreeCreate", "WorktreeRemove"} {
		o := commandOpts()
		o.Events = append(slices.Clone(o.Events), ev)
		_, _, err := Install(nil, o)
		if err == nil || !strings.Contains(err.Error(), ev) {
			t.Errorf("Install with %s: %v; want an error naming it", ev, err)
		}
	}
}

// TestInstallRemovesFormerWorktreeHooks: the WorktreeCreate and
// WorktreeRemove handlers an older install wrote are removed, and a user's
// own WorktreeCreate hook is kept.
func TestInstallRemovesFormerWorktreeHooks(t *testing.T) {
	in := []byte(`{"hooks": {
  "WorktreeCreate": [{"hooks": [
    {"type": "command", "command": "/opt/claude-hooks/bin/claude-hooks-hook --spool.dir /var/spool/claude-hooks", "async": true, "timeout": 10},
    {"type": "command", "command": "my-worktree-maker"}]}],
  "WorktreeRemove": [{"hooks": [
    {"type": "command", "command": "/opt/claude-hooks/bin/claude-hooks-hook --spool.dir /var/spool/claude-hooks", "async": true, "timeout": 10}]}]
}}`)
	out, changes, err := Install(in, commandOpts())
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, c := range changes {
		if c.Action == ActionRemove {
			removed = append(removed, c.Event)
		}
	}
	if !slices.Equal(removed, []string{"WorktreeCreate", "WorktreeRemove"}) {
		t.Errorf("removed %q, want both worktree handlers of ours", removed)
	}
	s := string(out)
	if !strings.Contains(s, "my-worktree-maker") || strings.Contains(s, "WorktreeRemove") {
		t.Errorf("settings after install keep the wrong worktree hooks:\n%s", s)
	}
	if strings.Count(s, "claude-hooks-hook") != len(allEvents) {
		t.Errorf("settings hold %d handlers of ours, want %d", strings.Count(s, "claude-hooks-hook"), len(allEvents))
	}
}
