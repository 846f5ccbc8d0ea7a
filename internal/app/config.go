package app

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
)

// stateDir is $XDG_STATE_HOME/claude-hooks-exporter, the default home of the
// spool, checkpoint and store, shared by hook and serve without configuration.
func stateDir(env func(string) string) string {
	if d := env("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "claude-hooks-exporter")
	}
	return filepath.Join(homeDir(env), ".local", "state", "claude-hooks-exporter")
}

func homeDir(env func(string) string) string {
	home := env("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	return home
}

// tildePath writes p with the home directory as ~, as a person would.
func tildePath(env func(string) string, p string) string {
	home := homeDir(env)
	if home != "" && home != "/" {
		if rest, ok := strings.CutPrefix(p, home+string(filepath.Separator)); ok {
			return "~" + string(filepath.Separator) + rest
		}
	}
	return p
}

// serveConfig is everything serve's flags set.
type serveConfig struct {
	listen          string
	tokenFile       string
	webConfigFile   string
	ingestRate      float64
	stateDir        string
	spoolDir        optionalString
	maxRecordBytes  byteSize
	checkpointEvery time.Duration
	pollInterval    time.Duration
	legacyDir       string
	legacyInterval  time.Duration

	idleTimeout     time.Duration
	maxSessions     int
	maxOpenCalls    int
	maxMCPTools     int
	captureContent  bool
	contentMaxBytes byteSize

	otlpEndpoint string
	otlpProtocol string
	otlpInsecure bool
	otlpHeaders  string

	transcripts    bool
	pprof          bool
	transcriptDirs string
	pricesFile     string

	storePath       optionalString
	storeMaxAge     time.Duration
	storeMaxBytes   byteSize
	storePayloadMax byteSize
	storeCommit     time.Duration

	web *webLimits

	memoryLimit byteSize
}

func serveFlags(cmd *kingpin.CmdClause, env func(string) string, c *serveConfig) {
	state := stateDir(env)
	cmd.Flag("web.listen-address", "Address (host:port) to serve ingest, /metrics and the API on; beyond loopback it needs --web.auth-token-file or --web.config.file.").Default("127.0.0.1:9469").StringVar(&c.listen)
	cmd.Flag("web.auth-token-file", "File holding the bearer token every request must carry (required beyond loopback).").PlaceHolder("FILE").StringVar(&c.tokenFile)
	cmd.Flag("web.config.file", "Exporter-toolkit web config (TLS, basic auth); counts as credentials for listening beyond loopback.").PlaceHolder("FILE").StringVar(&c.webConfigFile)
	cmd.Flag("web.ingest-rate-limit", "Ingest requests per second allowed per non-loopback client (burst twice that); 0 means unlimited. Loopback clients are not limited.").Default("1000").Float64Var(&c.ingestRate)
	c.web = webLimitFlags(cmd)
	c.memoryLimit = byteSize(defaultMemoryLimit)
	cmd.Flag("runtime.memory-limit", "Soft limit of the Go heap: the collector works harder near it instead of letting the heap double (large concurrent batches); 0 turns it off, GOMEMLIMIT in the environment wins.").Default(c.memoryLimit.String()).SetValue(&c.memoryLimit)
	cmd.Flag("web.enable-pprof", "Serve Go profiling endpoints under /debug/pprof/ (behind the same auth).").BoolVar(&c.pprof)
	cmd.Flag("state.dir", "Directory for the checkpoint, the lock and, by default, the spool and the store.").Default(tildePath(env, state)).StringVar(&c.stateDir)
	cmd.Flag("spool.dir", "Spool directory the hooks append to.").PlaceHolder("<state.dir>/spool").SetValue(&c.spoolDir)
	c.maxRecordBytes = spool.DefaultMaxRecordBytes
	cmd.Flag("spool.max-record-bytes", "Largest hook payload kept whole; larger ones are kept capped and counted as rejected.").Default(c.maxRecordBytes.String()).SetValue(&c.maxRecordBytes)
	cmd.Flag("spool.poll-interval", "Periodic spool scan in addition to file-system notifications.").Default("1s").DurationVar(&c.pollInterval)
	cmd.Flag("checkpoint.interval", "Longest time between checkpoints while events flow.").Default("1s").DurationVar(&c.checkpointEvery)
	cmd.Flag("session.idle-timeout", "Sessions with no event for this long are closed as expired.").Default("30m").DurationVar(&c.idleTimeout)
	cmd.Flag("session.max-open", "Cap on open sessions; the least recently active beyond it are expired and counted.").Default("1000").IntVar(&c.maxSessions)
	cmd.Flag("session.max-open-calls", "Cap on open tool calls and waits per session; overflow is counted.").Default("256").IntVar(&c.maxOpenCalls)
	cmd.Flag("metrics.max-mcp-tools", "Distinct MCP tools that get their own tool label; the rest are labelled other.").Default("50").IntVar(&c.maxMCPTools)
	cmd.Flag("traces.capture-content", "Put prompts, commands and tool output on spans (capped and redacted); off: only their sizes.").BoolVar(&c.captureContent)
	cmd.Flag("traces.content-max-bytes", "Cap on each captured content attribute.").Default("2KiB").SetValue(&c.contentMaxBytes)
	cmd.Flag("otlp.endpoint", "OTLP traces endpoint (default from OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT; none: no trace export).").PlaceHolder("URL").StringVar(&c.otlpEndpoint)
	cmd.Flag("otlp.protocol", "OTLP protocol: grpc or http/protobuf (default from OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL, else http/protobuf).").PlaceHolder("PROTOCOL").StringVar(&c.otlpProtocol)
	cmd.Flag("otlp.insecure", "Use plain-text OTLP (default from OTEL_EXPORTER_OTLP_INSECURE).").BoolVar(&c.otlpInsecure)
	cmd.Flag("otlp.headers", "Extra OTLP headers as key=value,key=value (default from OTEL_EXPORTER_OTLP_[TRACES_]HEADERS).").PlaceHolder("K=V,...").StringVar(&c.otlpHeaders)
	cmd.Flag("store.path", `SQLite event store for history, search and stream resume; "" turns it off (metrics and traces still work).`).PlaceHolder("<state.dir>/events.db").SetValue(&c.storePath)
	cmd.Flag("store.retention.time", "Events older than this are deleted from the store.").Default("30d").DurationVar(&c.storeMaxAge)
	cmd.Flag("store.retention.size", "The store is kept under this size; the oldest events go first.").Default("2GiB").SetValue(&c.storeMaxBytes)
	cmd.Flag("store.payload-max-bytes", "Payload bytes kept per stored event (the full payload stays in the spool).").Default("64KiB").SetValue(&c.storePayloadMax)
	cmd.Flag("store.commit-delay", "How long stored events gather before one transaction commits them (the live stream does not wait; 0 commits at once).").Default(store.DefaultCommitDelay.String()).DurationVar(&c.storeCommit)
	cmd.Flag("transcripts.enabled", "Follow the transcripts hook events name, for tokens, cost and models per session (on; --no-transcripts.enabled turns it off).").Default("true").BoolVar(&c.transcripts)
	cmd.Flag("transcripts.allowed-dirs", "Comma-separated directories transcripts may be read from (hook payloads name the files).").Default(tildePath(env, filepath.Join(homeDir(env), ".claude", "projects"))).StringVar(&c.transcriptDirs)
	cmd.Flag("prices.file", "Price table (YAML, the format of deploy/prices.yaml) replacing the built-in one.").PlaceHolder("FILE").StringVar(&c.pricesFile)
	cmd.Flag("legacy.raw-json-dir", "Also watch the seed notifier's raw_json directory and import new files into the spool.").PlaceHolder("DIR").StringVar(&c.legacyDir)
	cmd.Flag("legacy.scan-interval", "How often the legacy raw_json directory is scanned.").Default("2s").DurationVar(&c.legacyInterval)
}

// resolve fills in the defaults that depend on other flags and checks what
// the flag types cannot.
func (c *serveConfig) resolve(env func(string) string) error {
	c.stateDir = expandTilde(env, c.stateDir)
	if !c.spoolDir.set {
		c.spoolDir.v = filepath.Join(c.stateDir, "spool")
	}
	if !c.storePath.set {
		c.storePath.v = filepath.Join(c.stateDir, "events.db")
	}
	var dirs []string
	for _, d := range strings.Split(c.transcriptDirs, ",") {
		if d = strings.TrimSpace(d); d != "" {
			dirs = append(dirs, expandTilde(env, d))
		}
	}
	c.transcriptDirs = strings.Join(dirs, ",")
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		var ae *net.AddrError
		if ok := asAddrError(err, &ae); ok && strings.Contains(ae.Err, "missing port") {
			return fmt.Errorf("--web.listen-address %s: missing port (want host:port, e.g. 127.0.0.1:9469)", c.listen)
		}
		return fmt.Errorf("--web.listen-address %s: want host:port, e.g. 127.0.0.1:9469", c.listen)
	}
	if c.maxRecordBytes <= 0 {
		return fmt.Errorf("--spool.max-record-bytes must be positive, got %d", c.maxRecordBytes)
	}
	return nil
}

func asAddrError(err error, target **net.AddrError) bool {
	ae, ok := err.(*net.AddrError)
	if ok {
		*target = ae
	}
	return ok
}

// expandTilde turns a leading ~/ into the home directory, for defaults shown
// as ~/... and for values written so in the config file.
func expandTilde(env func(string) string, p string) string {
	if rest, ok := strings.CutPrefix(p, "~"+string(filepath.Separator)); ok {
		return filepath.Join(homeDir(env), rest)
	}
	return p
}

// optionalString is a string flag that knows whether it was set, so that ""
// can mean "off" while unset means "the default derived from another flag".
type optionalString struct {
	v   string
	set bool
}

func (o *optionalString) Set(s string) error { o.v, o.set = s, true; return nil }
func (o *optionalString) String() string     { return o.v }

// byteSize is a size flag: a plain number of bytes or a number with a unit
// (KiB, MiB, GiB, also KB, MB, GB as powers of 1024 like Prometheus).
type byteSize int64

func (b *byteSize) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*b = byteSize(n)
		return nil
	}
	n, err := units.ParseBase2Bytes(s)
	if err != nil {
		return fmt.Errorf("%q is not a size (want e.g. 65536, 64KiB, 8MiB, 2GiB)", s)
	}
	*b = byteSize(n)
	return nil
}

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// installConfig is what install's and uninstall's flags set.
type installConfig struct {
	settings  string
	dryRun    bool
	mode      string
	spoolDir  string
	url       string
	tokenFile string
	tokenEnv  string
	binDir    string
}

func uninstallFlags(cmd *kingpin.CmdClause, env func(string) string, c *installConfig) {
	cmd.Flag("settings", "Claude Code settings file to edit.").Default(tildePath(env, filepath.Join(homeDir(env), ".claude", "settings.json"))).StringVar(&c.settings)
	cmd.Flag("dry-run", "Print the change as a unified diff of the settings file and write nothing.").BoolVar(&c.dryRun)
}

func installFlags(cmd *kingpin.CmdClause, env func(string) string, c *installConfig) {
	uninstallFlags(cmd, env, c)
	cmd.Flag("mode", "command: hooks run claude-hooks-hook (async, never blocking Claude Code); http: hooks POST to the daemon (SessionStart and Setup stay command hooks).").Default("command").EnumVar(&c.mode, "command", "http")
	cmd.Flag("bin-dir", "Directory the two binaries are installed to (and kept up to date on every install); the hooks run them from there, so make clean or moving the clone breaks nothing.").Default(tildePath(env, filepath.Join(homeDir(env), ".local", "bin"))).StringVar(&c.binDir)
	cmd.Flag("spool.dir", "Spool directory the command hooks append to.").Default(tildePath(env, filepath.Join(stateDir(env), "spool"))).StringVar(&c.spoolDir)
	cmd.Flag("http.url", "Daemon ingest URL for http mode.").Default("http://127.0.0.1:9469/v1/hooks").StringVar(&c.url)
	cmd.Flag("http.token-env", "http mode: name of an environment variable holding the daemon's bearer token; settings.json then holds only $NAME, and Claude Code must run with it set.").PlaceHolder("NAME").StringVar(&c.tokenEnv)
	cmd.Flag("web.auth-token-file", "http mode: file with the daemon's bearer token, written into settings.json itself (the file is then made readable by you only).").PlaceHolder("FILE").StringVar(&c.tokenFile)
}

// importConfig is what import's flags and arguments set.
type importConfig struct {
	spoolDir string
	maxBytes byteSize
	dirs     []string
}

func importFlags(cmd *kingpin.CmdClause, env func(string) string, c *importConfig) {
	cmd.Flag("spool.dir", "Spool directory to append the imported events to.").Default(tildePath(env, filepath.Join(stateDir(env), "spool"))).StringVar(&c.spoolDir)
	c.maxBytes = spool.DefaultMaxRecordBytes
	cmd.Flag("spool.max-record-bytes", "Largest payload kept whole.").Default(c.maxBytes.String()).SetValue(&c.maxBytes)
	cmd.Arg("DIR", "Legacy raw_json directories to import, e.g. ~/.claude/hooks/logs/raw_json; files are read in capture order and never changed.").Required().StringsVar(&c.dirs)
}
