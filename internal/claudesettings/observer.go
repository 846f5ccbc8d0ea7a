package claudesettings

import (
	"fmt"
	"slices"
)

// The observer rule: install registers a hook only where its presence
// cannot change what Claude Code does.
//
//  1. Our handlers never decide anything: a command handler is async (Claude
//     Code does not wait for it and ignores its output and exit code) and the
//     hook binary prints nothing and never exits 2; an http handler gets 204
//     No Content from the daemon, an empty answer that Claude Code reads as
//     "no decision".
//  2. Some events change behaviour by having a hook at all, whatever it
//     answers: a WorktreeCreate hook replaces git's worktree creation and must
//     print the new worktree's path, a WorktreeRemove hook replaces its
//     removal. Those events are never registered (nonObserverEvents), and an
//     install removes any handler of ours a former version put there.
//  3. Events this version does not know are never registered: their hooks'
//     meaning is not known yet.

// nonObserverEvents are the events whose hooks replace something Claude
// Code would do itself, with the reason.
var nonObserverEvents = map[string]string{
	"WorktreeCreate": "a WorktreeCreate hook replaces git's worktree creation and must print the worktree path",
	"WorktreeRemove": "a WorktreeRemove hook replaces git's worktree removal",
}

// ObserverEvents returns the events of known that install may register: all
// but those whose hooks change what Claude Code does.
func ObserverEvents(known []string) []string {
	return slices.DeleteFunc(slices.Clone(known), func(ev string) bool {
		_, bad := nonObserverEvents[ev]
		return bad
	})
}

// checkObserver refuses events whose hooks change Claude Code's behaviour.
func checkObserver(events []string) error {
	for _, ev := range events {
		if why, bad := nonObserverEvents[ev]; bad {
			return fmt.Errorf("refusing to register %s: %s, and the exporter only observes", ev, why)
		}
	}
	return nil
}
