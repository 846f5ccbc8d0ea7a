package plugin

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/grafana/grafana-plugin-sdk-go/live"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// MaxChannel is Grafana Live's limit on a whole channel id,
// "ds/<uid>/<path>" (the SDK's live.ParseChannel applies it).
const MaxChannel = 160

// maxChannelPath bounds the paths ParseChannelPath accepts: the room
// MaxChannel leaves beside the shortest prefix "ds/x/".
const maxChannelPath = MaxChannel - len("ds/x/")

// channelRoot is the first segment of every live channel path.
const channelRoot = "events"

// plain matches values written as they are; anything else is written as '.'
// followed by its unpadded base64url form. Both forms use only characters
// Grafana allows in a channel path ([A-Za-z0-9_\-/=.]).
var plain = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// channelKeys are the path's filter keys, in the order they are written:
// u a session id that is a UUID (its 16 bytes in base64url), s any other
// session id, k the known hook event names (a base-36 bit set over
// hookevent.KnownEvents), e the other event names, t tool, a agent,
// o outcome, q text.
var channelKeys = []string{"u", "s", "k", "e", "t", "a", "o", "q"}

// knownBit is the bit of each known hook event name in the k segment. The
// backend that writes a path is the one that reads it, so the bits need only
// be stable within one build.
var knownBit = func() map[string]uint64 {
	m := make(map[string]uint64, len(hookevent.KnownEvents))
	for i, e := range hookevent.KnownEvents {
		m[e] = 1 << i
	}
	return m
}()

// ErrChannelTooLong is returned by Channel when the filters make a channel id
// longer than Grafana Live accepts.
var ErrChannelTooLong = errors.New("the live filters are too long for a Grafana Live channel")

// Channel is the Grafana Live channel id, "ds/<uid>/<path>", of a live query
// with filter f on the data source uid. It is checked with the SDK's own
// parser, so a channel Grafana would refuse is this function's clear error
// (ErrChannelTooLong when it is the length) rather than Grafana's
// "invalid channel ID".
func Channel(uid string, f wire.Filter) (string, error) {
	path, err := ChannelPath(f)
	if err != nil {
		return "", err
	}
	ch := "ds/" + uid + "/" + path
	if len(ch) > MaxChannel {
		return "", fmt.Errorf("%w: %d characters, %d over the limit of %d; shorten the text, tool or agent filter, or choose fewer custom event names",
			ErrChannelTooLong, len(ch), len(ch)-MaxChannel, MaxChannel)
	}
	if _, err := live.ParseChannel(ch); err != nil {
		return "", fmt.Errorf("channel %q: %w (is the data source uid %q made of letters, digits, '-' and '_'?)", ch, err, uid)
	}
	return ch, nil
}

// ChannelPath encodes a live filter as the path of a Grafana Live channel,
// "events" followed by "/key=value" for each filter set (channelKeys). The
// same filter always gives the same path, so panels with equal filters share
// one upstream stream. Its length is checked by Channel, which knows the uid.
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
	if id, ok := canonicalUUID(f.SessionID); ok {
		b.WriteString("/u=" + base64.RawURLEncoding.EncodeToString(id[:]))
	} else {
		add("s", f.SessionID)
	}
	var mask uint64
	var other []string
	for _, e := range f.Events {
		if bit, ok := knownBit[e]; ok {
			mask |= bit
		} else {
			other = append(other, e)
		}
	}
	if mask != 0 {
		b.WriteString("/k=" + strconv.FormatUint(mask, 36))
	}
	if len(other) > 0 {
		slices.Sort(other)
		other = slices.Compact(other)
		all := true
		for _, e := range other {
			all = all && plain.MatchString(e)
		}
		if all {
			b.WriteString("/e=" + strings.Join(other, "."))
		} else {
			b.WriteString("/e=." + base64.RawURLEncoding.EncodeToString([]byte(strings.Join(other, ","))))
		}
	}
	add("t", f.Tool)
	add("a", f.Agent)
	add("o", f.Outcome)
	add("q", f.Text)
	return b.String(), nil
}

// canonicalUUID reports whether s is a UUID in its canonical lower-case form
// (what Claude Code's session ids are), which the u segment restores exactly.
func canonicalUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.UUID{}, false
	}
	id, err := uuid.Parse(s)
	if err != nil || id.String() != s {
		return uuid.UUID{}, false
	}
	return id, true
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
// ChannelPath writes, so one filter has one path and one upstream stream. The
// filter's event names come back sorted as hookevent.KnownEvents orders them,
// then the other names sorted.
func ParseChannelPath(path string) (wire.Filter, error) {
	var f wire.Filter
	if len(path) > maxChannelPath {
		return f, fmt.Errorf("%w: longer than %d characters", errChannel, maxChannelPath)
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
		switch key {
		case "u":
			b, err := base64.RawURLEncoding.DecodeString(raw)
			if err != nil || len(b) != 16 {
				return f, fmt.Errorf("%w: u: %q is not a base64url UUID", errChannel, raw)
			}
			f.SessionID = uuid.UUID(b).String()
			continue
		case "k":
			mask, err := strconv.ParseUint(raw, 36, 64)
			if err != nil || mask == 0 || bits.Len64(mask) > len(hookevent.KnownEvents) {
				return f, fmt.Errorf("%w: k: %q is not a set of known event names", errChannel, raw)
			}
			for i, e := range hookevent.KnownEvents {
				if mask&(1<<i) != 0 {
					f.Events = append(f.Events, e)
				}
			}
			continue
		case "e":
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
			f.Events = append(f.Events, evs...)
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
