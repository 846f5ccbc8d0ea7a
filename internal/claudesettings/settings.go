package claudesettings

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Mode is how Claude Code delivers events to the exporter.
type Mode string

// Modes.
const (
	// ModeCommand runs the claude-hooks-hook binary for every event; it appends
	// the payload to the spool directory itself.
	ModeCommand Mode = "command"
	// ModeHTTP POSTs every event to the exporter's ingest endpoint. SessionStart
	// and Setup accept only command handlers, so they stay in command mode.
	ModeHTTP Mode = "http"
)

// Handler settings written for every handler of ours.
const (
	// commandTimeout is the command handler's timeout in seconds. The handler is
	// async, so the timeout only bounds a stuck hook process.
	commandTimeout = 10
	// httpTimeout is the http handler's timeout in seconds. An http handler
	// blocks the agent until it answers, so it is kept short.
	httpTimeout = 5
)

// Options says which handler to install and for which events.
type Options struct {
	// Mode selects command or http delivery.
	Mode Mode
	// HookCommand is the absolute path of the claude-hooks-hook binary. It is
	// required in command mode, and in http mode when Events holds SessionStart
	// or Setup.
	HookCommand string
	// SpoolDir is the absolute spool directory, passed to the hook as --spool.dir.
	SpoolDir string
	// HTTPURL is the ingest URL, e.g. http://127.0.0.1:9469/v1/hooks (http mode).
	HTTPURL string
	// HTTPToken is an optional bearer token for http mode. A value of the form
	// $NAME or ${NAME} is written as a reference that Claude Code resolves from
	// its environment (the variable is listed in allowedEnvVars), which keeps the
	// secret out of settings.json; any other value is written literally.
	HTTPToken string
	// Events are the hook events to install handlers for. Handlers of ours on
	// events not listed are removed, so the file ends up with exactly this set.
	Events []string
}

// Change is one edit of the settings made (or, in a dry run, planned).
type Change struct {
	// Event is the hook event the change is about.
	Event string
	// Action is "add", "remove" or "update".
	Action string
	// Handler describes the handler: the new one for add and update, the old one
	// for remove.
	Handler string
}

// Change actions.
const (
	ActionAdd    = "add"
	ActionRemove = "remove"
	ActionUpdate = "update"
)

// matcherEvents are the events whose handlers are selected by a matcher (tool
// name, notification type, agent type, trigger, source, reason, ...). Their
// group gets matcher "*"; other events get no matcher (Claude Code ignores it).
var matcherEvents = map[string]bool{
	"PreToolUse":          true,
	"PostToolUse":         true,
	"PostToolUseFailure":  true,
	"PermissionRequest":   true,
	"PermissionDenied":    true,
	"Notification":        true,
	"SubagentStart":       true,
	"SubagentStop":        true,
	"PreCompact":          true,
	"PostCompact":         true,
	"SessionStart":        true,
	"SessionEnd":          true,
	"Setup":               true,
	"StopFailure":         true,
	"ConfigChange":        true,
	"InstructionsLoaded":  true,
	"UserPromptExpansion": true,
	"Elicitation":         true,
	"ElicitationResult":   true,
	// FileChanged's matcher also names files to watch; "*" registers none and
	// passes every change of the paths Claude Code already watches.
	"FileChanged": true,
}

// commandOnlyEvents accept only command handlers.
var commandOnlyEvents = map[string]bool{"SessionStart": true, "Setup": true}

// ownedKeys are the handler keys install writes. Updating a handler of ours
// rewrites these and leaves any other key the user added alone.
var ownedKeys = []string{"type", "command", "async", "timeout", "url", "headers", "allowedEnvVars"}

var envRef = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$`)

// Install merges handlers of ours for opts.Events into settings and returns the
// new document and the changes. A handler of ours that is already present is
// updated in place; handlers of ours on events not in opts.Events, or
// duplicated, are removed. With no changes out is settings unchanged. Empty
// settings count as {}. Install does no I/O.
func Install(settings []byte, opts Options) (out []byte, changes []Change, err error) {
	if err := opts.validate(); err != nil {
		return nil, nil, err
	}
	root, err := parseSettings(settings)
	if err != nil {
		return nil, nil, err
	}
	hooks, err := hooksObject(root, true)
	if err != nil {
		return nil, nil, err
	}
	wanted := make(map[string]bool, len(opts.Events))
	for _, ev := range opts.Events {
		if wanted[ev] {
			continue
		}
		wanted[ev] = true
		c, err := installEvent(hooks, ev, opts)
		if err != nil {
			return nil, nil, err
		}
		changes = append(changes, c...)
	}
	for _, ev := range eventNames(hooks) {
		if wanted[ev] {
			continue
		}
		changes = append(changes, removeOurs(hooks, ev, func(*object) bool { return true })...)
	}
	return finish(settings, root, hooks, changes)
}

// Uninstall removes every handler of ours from settings. Matcher groups and
// event arrays left empty by that are removed too, and so is the hooks key when
// it held only ours; everything else is left as it was. With no changes out is
// settings unchanged. Uninstall does no I/O.
func Uninstall(settings []byte) (out []byte, changes []Change, err error) {
	root, err := parseSettings(settings)
	if err != nil {
		return nil, nil, err
	}
	hooks, err := hooksObject(root, false)
	if err != nil || hooks == nil {
		return settings, nil, nil // no hooks object: nothing of ours to remove
	}
	for _, ev := range eventNames(hooks) {
		changes = append(changes, removeOurs(hooks, ev, func(*object) bool { return true })...)
	}
	return finish(settings, root, hooks, changes)
}

func finish(settings []byte, root, hooks *object, changes []Change) ([]byte, []Change, error) {
	if len(changes) == 0 {
		return settings, nil, nil
	}
	if len(hooks.members) == 0 {
		root.del("hooks")
	}
	out, err := format(root)
	if err != nil {
		return nil, nil, err
	}
	return out, changes, nil
}

func (o Options) validate() error {
	if len(o.Events) == 0 {
		return errors.New("no hook events to install")
	}
	if err := checkObserver(o.Events); err != nil {
		return err
	}
	needCommand := true
	switch o.Mode {
	case ModeCommand:
	case ModeHTTP:
		u, err := url.Parse(o.HTTPURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("http mode needs an http(s) ingest URL, got %q", o.HTTPURL)
		}
		if !isOurURL(o.HTTPURL) {
			return fmt.Errorf("ingest URL %q does not end in /v1/hooks", o.HTTPURL)
		}
		needCommand = slices.ContainsFunc(o.Events, func(ev string) bool { return commandOnlyEvents[ev] })
	default:
		return fmt.Errorf("unknown hook mode %q (want command or http)", o.Mode)
	}
	if needCommand {
		if !filepath.IsAbs(o.HookCommand) {
			return fmt.Errorf("hook command %q is not an absolute path", o.HookCommand)
		}
		if !isOurCommand(quoteCommand(o.HookCommand)) {
			return fmt.Errorf("hook command %q is not named claude-hooks-hook", o.HookCommand)
		}
		if !filepath.IsAbs(o.SpoolDir) {
			return fmt.Errorf("spool dir %q is not an absolute path", o.SpoolDir)
		}
	}
	return nil
}

// parseSettings parses a settings document; empty or blank input is {}.
func parseSettings(settings []byte) (*object, error) {
	if len(bytes.TrimSpace(settings)) == 0 {
		return &object{}, nil
	}
	v, err := parse(settings)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	root, ok := v.(*object)
	if !ok {
		return nil, errors.New("the top-level JSON value is not an object")
	}
	return root, nil
}

// hooksObject returns the settings' hooks object, creating it when create is
// set. It is nil when absent and create is false.
func hooksObject(root *object, create bool) (*object, error) {
	v, ok := root.get("hooks")
	if !ok {
		if !create {
			return nil, nil
		}
		h := &object{}
		root.set("hooks", h)
		return h, nil
	}
	h, ok := v.(*object)
	if !ok {
		return nil, errors.New(`settings key "hooks" is not an object`)
	}
	return h, nil
}

func eventNames(hooks *object) []string {
	names := make([]string, len(hooks.members))
	for i, m := range hooks.members {
		names[i] = m.key
	}
	return names
}

// eventArray returns the matcher groups of ev, creating the array when create
// is set.
func eventArray(hooks *object, ev string, create bool) (*array, error) {
	v, ok := hooks.get(ev)
	if !ok {
		if !create {
			return nil, nil
		}
		a := &array{}
		hooks.set(ev, a)
		return a, nil
	}
	a, ok := v.(*array)
	if !ok {
		return nil, fmt.Errorf("settings hooks.%s is not an array", ev)
	}
	return a, nil
}

// handlers returns a matcher group's handler list, or nil when the group is not
// of the documented shape (such groups are left alone).
func handlers(group value) (*object, *array) {
	g, ok := group.(*object)
	if !ok {
		return nil, nil
	}
	v, ok := g.get("hooks")
	if !ok {
		return g, nil
	}
	list, _ := v.(*array)
	return g, list
}

// matchesAll reports whether a matcher group runs for every occurrence of ev.
func matchesAll(g *object, ev string) bool {
	if !matcherEvents[ev] {
		return true
	}
	m, ok := g.get("matcher")
	if !ok {
		return true
	}
	s, ok := stringOf(m)
	return ok && (s == "" || s == "*")
}

func installEvent(hooks *object, ev string, opts Options) ([]Change, error) {
	want := desiredHandler(ev, opts)
	groups, err := eventArray(hooks, ev, false)
	if err != nil {
		return nil, err
	}
	// Keep the first handler of ours in a group that matches everything; every
	// other handler of ours for this event is stale or a duplicate.
	var keep *object
	if groups != nil {
		for _, group := range groups.elems {
			g, list := handlers(group)
			if list == nil || !matchesAll(g, ev) {
				continue
			}
			for _, h := range list.elems {
				if ho, ok := h.(*object); ok && isOurs(ho) {
					keep = ho
					break
				}
			}
			if keep != nil {
				break
			}
		}
	}
	var changes []Change
	if keep != nil {
		if updateHandler(keep, want) {
			changes = append(changes, Change{Event: ev, Action: ActionUpdate, Handler: describe(keep)})
		}
	}
	changes = append(changes, removeOurs(hooks, ev, func(h *object) bool { return h != keep })...)
	if keep == nil {
		groups, err := eventArray(hooks, ev, true)
		if err != nil {
			return nil, err
		}
		g := &object{}
		if matcherEvents[ev] {
			g.set("matcher", str("*"))
		}
		g.set("hooks", &array{elems: []value{want}})
		groups.elems = append(groups.elems, g)
		changes = append(changes, Change{Event: ev, Action: ActionAdd, Handler: describe(want)})
	}
	return changes, nil
}

// removeOurs removes the handlers of ours for ev that drop selects. A group left
// empty by that is removed, and so is the event when no group is left.
func removeOurs(hooks *object, ev string, drop func(h *object) bool) []Change {
	v, _ := hooks.get(ev)
	groups, ok := v.(*array)
	if !ok {
		return nil // absent, or not of the documented shape: nothing of ours in it
	}
	var changes []Change
	removedGroup := false
	kept := groups.elems[:0]
	for _, group := range groups.elems {
		_, list := handlers(group)
		if list == nil || len(list.elems) == 0 {
			kept = append(kept, group)
			continue
		}
		hs := list.elems[:0]
		for _, h := range list.elems {
			if ho, ok := h.(*object); ok && isOurs(ho) && drop(ho) {
				changes = append(changes, Change{Event: ev, Action: ActionRemove, Handler: describe(ho)})
				continue
			}
			hs = append(hs, h)
		}
		list.elems = hs
		if len(hs) == 0 {
			removedGroup = true
			continue
		}
		kept = append(kept, group)
	}
	groups.elems = kept
	if removedGroup && len(kept) == 0 {
		hooks.del(ev)
	}
	return changes
}

// desiredHandler is the handler of ours for ev.
func desiredHandler(ev string, opts Options) *object {
	h := &object{}
	if opts.Mode == ModeHTTP && !commandOnlyEvents[ev] {
		h.set("type", str("http"))
		h.set("url", str(opts.HTTPURL))
		h.set("timeout", num(httpTimeout))
		if opts.HTTPToken != "" {
			hdr := &object{}
			hdr.set("Authorization", str("Bearer "+opts.HTTPToken))
			h.set("headers", hdr)
			if m := envRef.FindStringSubmatch(opts.HTTPToken); m != nil {
				h.set("allowedEnvVars", &array{elems: []value{str(m[1] + m[2])}})
			}
		}
		return h
	}
	h.set("type", str("command"))
	h.set("command", str(quoteCommand(opts.HookCommand)+" --spool.dir "+shellQuote(opts.SpoolDir)))
	h.set("async", boolean(true))
	h.set("timeout", num(commandTimeout))
	return h
}

// updateHandler rewrites the keys of ours in h to match want, in place, and
// reports whether anything changed.
func updateHandler(h, want *object) bool {
	changed := false
	for _, k := range ownedKeys {
		wv, inWant := want.get(k)
		hv, inH := h.get(k)
		switch {
		case inWant && (!inH || !equal(hv, wv)):
			h.set(k, wv)
			changed = true
		case !inWant && inH:
			h.del(k)
			changed = true
		}
	}
	return changed
}

// isOurs reports whether a handler is one install wrote.
func isOurs(h *object) bool {
	t, _ := h.get("type")
	typ, _ := stringOf(t)
	switch typ {
	case "command":
		c, _ := h.get("command")
		cmd, _ := stringOf(c)
		return isOurCommand(cmd)
	case "http":
		u, _ := h.get("url")
		s, _ := stringOf(u)
		return isOurURL(s)
	}
	return false
}

// isOurCommand reports whether a command line runs our hook: its program's
// base name is claude-hooks-hook, or it runs "claude-hooks-exporter hook".
func isOurCommand(cmd string) bool {
	if strings.Contains(cmd, "claude-hooks-exporter hook") {
		return true
	}
	words := shellWords(cmd, 2)
	if len(words) == 0 {
		return false
	}
	switch programName(words[0]) {
	case "claude-hooks-hook":
		return true
	case "claude-hooks-exporter":
		return len(words) > 1 && words[1] == "hook"
	}
	return false
}

// programName is the base name of a program path without a Windows .exe
// suffix; it splits on both separators whatever the OS the file came from.
func programName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return strings.TrimSuffix(strings.TrimSuffix(p, ".exe"), ".EXE")
}

// isOurURL reports whether an http handler's URL is our ingest endpoint.
func isOurURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v1/hooks")
}

func describe(h *object) string {
	t, _ := h.get("type")
	typ, _ := stringOf(t)
	switch typ {
	case "command":
		c, _ := h.get("command")
		cmd, _ := stringOf(c)
		return "command " + cmd
	case "http":
		u, _ := h.get("url")
		s, _ := stringOf(u)
		return "http " + s
	}
	return typ
}
