// Package app is the claude-hooks-exporter command. It only wires: it parses
// the command line (kingpin: the command list, flags grouped by area, help
// and errors that name the mistake; promslog for --log.level and
// --log.format) and the optional config file, builds the daemon from that
// configuration (newDaemon: takes the state directory's lock, opens every
// part, starts nothing) and runs it (daemon.run: every goroutine owned by an
// errgroup that is waited for; shutdown stops the inputs, drains the
// pipeline, writes the last checkpoint, flushes the sinks). It also runs the
// hook, install, uninstall, import and version commands, each a few lines
// over the package that does the work.
//
// Features live in their own packages (legacy import in internal/legacy,
// collectors in internal/metrics). Nothing imports app.
package app
