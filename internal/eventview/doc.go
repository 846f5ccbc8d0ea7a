// Package eventview decides what is shown of a hook event anywhere outside
// the spool: its summary line, its payload without the prompt unless content
// capture is on, obvious secrets masked, the payload capped. The store keeps
// exactly this view, and the live stream serves it whether or not a store
// runs, so history and stream never disagree.
//
// It does no I/O and keeps no state.
package eventview
