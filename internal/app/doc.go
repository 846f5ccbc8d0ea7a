// Package app is the claude-hooks-exporter command: it parses flags and the
// optional config file, builds every part of the daemon, owns their lifetimes
// and the shutdown order (stop inputs, drain the pipeline, write the last
// checkpoint, flush the sinks), and runs the hook, install, uninstall, import
// and version subcommands.
//
// Nothing imports app; only app wires packages together.
package app
