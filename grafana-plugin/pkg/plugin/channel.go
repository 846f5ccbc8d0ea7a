package plugin

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// MaxChannelPath is the longest channel path a live query may produce.
const MaxChannelPath = 160

// channelRoot is the first segment of every live channel path.
const channelRoot = "events"

// plain matches values written as they are; anything else is written as '.'
// followed by its unpadded base64url form. Both forms use only characters
// Grafana allows in a channel path ([A-Za-z0-9_\-/=.]).
var plain = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// channelKeys are the path's filter keys, in the order they are written.
var channelKeys = []string{"s", "e", "t", "a", "o", "q"}

// ChannelPath encodes a live filter as the path of a Grafana Live channel,
// "events" followed by "/key=value" for each filter set: s session, e event
// names (sorted, '.'-separated), t tool, a agent, o outcome, q text. The same
// filter always gives the same path, so panels with equal filters share one
// upstream stream. Paths longer than MaxChannelPath are an error.
func ChannelPath(f wire.Filter) (string, error) {
	if f.Outcome != "" && !slices.Contains(wire.Outcomes, f.Outcome) {
		return "", fmt.Errorf("outcome %q: want one of %s", f.Outcome, strings.Join(wire.Outcomes, ", "))
	}
	var b strings.Builder
	b.WriteString(channelRoot)
	add := func(key, v string) {
		if v != "" {
			b.WriteString("/" + key + "=" + encodeValue(v))
		}
	}
	add("s", f.SessionID)
	if len(f.Events) > 0 {
		evs := slices.Clone(f.Events)
		slices.Sort(evs)
		evs = slices.Compact(evs)
		all := true
		for _, e := range evs {
			all = all && plain.MatchString(e)
		}
		if all {
			b.WriteString("/e=" + strings.Join(evs, "."))
		} else {
			b.WriteString("/e=." + base64.RawURLEncoding.EncodeToString([]byte(strings.Join(evs, ","))))
		}
	}
	add("t", f.Tool)
	add("a", f.Agent)
	add("o", f.Outcome)
	add("q", f.Text)
	if b.Len() > MaxChannelPath {
		return "", fmt.Errorf("the live filters make a channel path of %d characters, over Grafana's limit of %d: shorten the text or session filter", b.Len(), MaxChannelPath)
	}
	return b.String(), nil
}

func encodeValue(v string) string {
	if plain.MatchString(v) {
		return v
	}
	return "." + base64.RawURLEncoding.EncodeToString([]byte(v))
}

func decodeValue(v string) (string, error) {
	if rest, ok := strings.CutPrefix(v, "."); ok {
		b, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil {
			return "", fmt.Errorf("value %q: %w", v, err)
		}
		if len(b) == 0 {
			return "", fmt.Errorf("value %q is empty", v)
		}
		return string(b), nil
	}
	if !plain.MatchString(v) {
		return "", fmt.Errorf("value %q has characters outside [A-Za-z0-9_-]", v)
	}
	return v, nil
}

// errChannel marks a path that ChannelPath could not have written.
var errChannel = errors.New("not a live channel path of this data source")

// ParseChannelPath is the inverse of ChannelPath. It accepts exactly the paths
// ChannelPath writes, so one filter has one path and one upstream stream.
func ParseChannelPath(path string) (wire.Filter, error) {
	var f wire.Filter
	if len(path) > MaxChannelPath {
		return f, fmt.Errorf("%w: longer than %d characters", errChannel, MaxChannelPath)
	}
	segs := strings.Split(path, "/")
	if segs[0] != channelRoot {
		return f, fmt.Errorf("%w: %q does not start with %q", errChannel, path, channelRoot)
	}
	next := 0 // index in channelKeys of the next key allowed
	for _, seg := range segs[1:] {
		key, raw, ok := strings.Cut(seg, "=")
		if !ok {
			return f, fmt.Errorf("%w: segment %q is not key=value", errChannel, seg)
		}
		i := slices.Index(channelKeys[next:], key)
		if i < 0 {
			return f, fmt.Errorf("%w: key %q unknown, repeated or out of order", errChannel, key)
		}
		next += i + 1
		if key == "e" {
			var evs []string
			if strings.HasPrefix(raw, ".") {
				v, err := decodeValue(raw)
				if err != nil {
					return f, fmt.Errorf("%w: e: %v", errChannel, err)
				}
				evs = strings.Split(v, ",")
			} else {
				evs = strings.Split(raw, ".")
			}
			for _, e := range evs {
				if e == "" {
					return f, fmt.Errorf("%w: empty event name in %q", errChannel, raw)
				}
			}
			f.Events = evs
			continue
		}
		v, err := decodeValue(raw)
		if err != nil {
			return f, fmt.Errorf("%w: %s: %v", errChannel, key, err)
		}
		switch key {
		case "s":
			f.SessionID = v
		case "t":
			f.Tool = v
		case "a":
			f.Agent = v
		case "o":
			if !slices.Contains(wire.Outcomes, v) {
				return f, fmt.Errorf("%w: outcome %q", errChannel, v)
			}
			f.Outcome = v
		case "q":
			f.Text = v
		}
	}
	if canon, err := ChannelPath(f); err != nil || canon != path {
		return wire.Filter{}, fmt.Errorf("%w: %q is not in canonical form", errChannel, path)
	}
	return f, nil
}
