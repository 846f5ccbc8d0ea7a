package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/template"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"go.yaml.in/yaml/v3"
)

// programName is the command's name in help and errors.
const programName = "claude-hooks-exporter"

// cli is the parsed command line: the kingpin application, its commands and
// what their flags set.
type cli struct {
	app        *kingpin.Application
	log        promslog.Config
	serve      *kingpin.CmdClause
	install    *kingpin.CmdClause
	uninstall  *kingpin.CmdClause
	importCmd  *kingpin.CmdClause
	hook       *kingpin.CmdClause
	version    *kingpin.CmdClause
	configFile *string
	serveCfg   serveConfig
	installCfg installConfig
	importCfg  importConfig
}

// newCLI declares every command and flag. env gives the defaults that depend
// on the user (state directory, home).
func newCLI(env func(string) string, stdout io.Writer) *cli {
	c := &cli{}
	a := kingpin.New(programName, "Turns Claude Code hook events into Prometheus metrics, OpenTelemetry traces, an event store and a live stream.")
	c.app = a
	a.Version(versionLine())
	a.HelpFlag.Short('h')
	a.UsageWriter(stdout)
	a.UsageTemplate(usageTemplate)
	a.UsageFuncs(template.FuncMap{"FlagGroups": flagGroups})
	c.log.Level, c.log.Format = promslog.NewLevel(), promslog.NewFormat()

	c.serve = a.Command("serve", "Run the daemon (the default command): follow the spool, serve /metrics, the API and the live stream, export traces.").Default()
	logFlags(c.serve, &c.log)
	c.configFile = c.serve.Flag("config.file", "YAML file whose keys are flag names (web.listen-address: ...); flags given on the command line win.").PlaceHolder("FILE").String()
	serveFlags(c.serve, env, &c.serveCfg)

	c.hook = a.Command("hook", "Capture one hook payload from stdin into the spool (what the claude-hooks-hook binary does). Run \"hook --help\" for its flags.")
	c.install = a.Command("install", "Install the binaries to a stable directory and add our hooks to Claude Code's settings.json (observer events only).")
	installFlags(c.install, env, &c.installCfg)
	c.uninstall = a.Command("uninstall", "Remove our hooks from Claude Code's settings.json; every other setting and hook stays.")
	uninstallFlags(c.uninstall, env, &c.installCfg)
	c.importCmd = a.Command("import", "Back-fill the spool from the legacy notifier's raw_json log directories.")
	logFlags(c.importCmd, &c.log)
	importFlags(c.importCmd, env, &c.importCfg)
	c.version = a.Command("version", "Print the version (same as --version).")
	return c
}

// logFlags adds --log.level and --log.format, as promslog's flag package
// does for a whole application, to the commands that log: install and
// uninstall print their outcome and have nothing to log.
func logFlags(cmd *kingpin.CmdClause, cfg *promslog.Config) {
	cmd.Flag(promslogflag.LevelFlagName, promslogflag.LevelFlagHelp).
		Default("info").HintOptions(promslog.LevelFlagOptions...).SetValue(cfg.Level)
	cmd.Flag(promslogflag.FormatFlagName, promslogflag.FormatFlagHelp).
		Default("logfmt").HintOptions(promslog.FormatFlagOptions...).SetValue(cfg.Format)
}

func versionLine() string {
	return fmt.Sprintf("%s %s (revision %s, %s)", programName, Version, revision(), goVersion())
}

// usageError is a mistake on the command line; Run prints it with a pointer
// to the command's help.
type usageError struct {
	err     error
	command string
}

func (e usageError) Error() string { return e.err.Error() }

// parse parses args, then applies the config file named by --config.file to
// the flags not given on the command line. help is true when --help or
// --version printed something and nothing else is to be done.
func (c *cli) parse(args []string) (cmd string, help bool, err error) {
	exited := false
	c.app.Terminate(func(int) { exited = true })
	cmd, err = c.app.Parse(args)
	if exited {
		return "", true, nil
	}
	if err != nil {
		err = c.explain(args, err)
		cmd := commandOf(c.app, args)
		if strings.HasPrefix(err.Error(), "unknown command") {
			cmd = ""
		}
		return "", false, usageError{err: err, command: cmd}
	}
	if cmd == "serve" && *c.configFile != "" {
		if err := c.applyConfigFile(args, *c.configFile); err != nil {
			return "", false, err
		}
	}
	return cmd, false, nil
}

// explain rewrites kingpin's errors for the mistakes people make: a mistyped
// flag or command gets the nearest name suggested.
func (c *cli) explain(args []string, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown long flag '--"); ok {
		name = strings.TrimSuffix(name, "'")
		if s := nearest(name, c.flagNames(commandOf(c.app, args))); s != "" {
			return fmt.Errorf("unknown flag --%s; did you mean --%s?", name, s)
		}
		return fmt.Errorf("unknown flag --%s", name)
	}
	if strings.Contains(msg, "required argument 'DIR'") {
		return errors.New("import needs at least one DIR: the legacy raw_json directory, e.g. ~/.claude/hooks/logs/raw_json")
	}
	if word, ok := strings.CutPrefix(msg, "unexpected "); ok && !strings.HasPrefix(word, "-") {
		var names []string
		for _, cm := range c.app.Model().Commands {
			names = append(names, cm.Name)
		}
		if s := nearest(word, names); s != "" {
			return fmt.Errorf("unknown command %q; did you mean %q?", word, s)
		}
		return fmt.Errorf("unknown command or argument %q (commands: %s)", word, strings.Join(names, ", "))
	}
	// A bad flag value: kingpin's error does not say which flag. Setting the
	// values again in order fails at the same one.
	if pc, perr := c.app.ParseContext(args); perr == nil {
		for _, el := range pc.Elements {
			fc, ok := el.Clause.(*kingpin.FlagClause)
			if !ok || el.Value == nil {
				continue
			}
			if ferr := fc.Model().Value.Set(*el.Value); ferr != nil {
				return fmt.Errorf("--%s=%s: %v", fc.Model().Name, *el.Value, ferr)
			}
		}
	}
	return err
}

// commandOf is the command args name (the default command when none).
func commandOf(a *kingpin.Application, args []string) string {
	for _, arg := range args {
		if strings.HasPrefix(arg, "-") {
			continue
		}
		for _, cm := range a.Model().Commands {
			if cm.Name == arg {
				return arg
			}
		}
		break
	}
	return "serve"
}

// flagNames are the names of the global flags and those of cmd.
func (c *cli) flagNames(cmd string) []string {
	var names []string
	for _, f := range c.app.Model().Flags {
		names = append(names, f.Name)
	}
	if cl := c.app.GetCommand(cmd); cl != nil {
		for _, f := range cl.Model().Flags {
			names = append(names, f.Name)
		}
	}
	return names
}

// nearest returns the candidate closest to s by edit distance when it is
// close enough to be the one meant, else "".
func nearest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// applyConfigFile sets the flags named by the keys of a YAML file, except
// those given on the command line. The file is strict: a key that names no
// flag is an error.
func (c *cli) applyConfigFile(args []string, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		return fmt.Errorf("parse config file %s: %w", path, err)
	}
	set := map[string]bool{}
	if pc, err := c.app.ParseContext(args); err == nil {
		for _, el := range pc.Elements {
			if fc, ok := el.Clause.(*kingpin.FlagClause); ok {
				set[fc.Model().Name] = true
			}
		}
	}
	flags := map[string]*kingpin.FlagModel{}
	for _, f := range append(c.app.Model().Flags, c.serve.Model().Flags...) {
		flags[f.Name] = f
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		f := flags[k]
		if f == nil || k == "config.file" || k == "help" || k == "version" {
			errs = append(errs, fmt.Errorf("config file %s: unknown key %q (keys are flag names, e.g. web.listen-address)", path, k))
			continue
		}
		if set[k] {
			continue
		}
		if err := f.Value.Set(yamlScalar(values[k])); err != nil {
			errs = append(errs, fmt.Errorf("config file %s: %s: %w", path, k, err))
		}
	}
	return errors.Join(errs...)
}

func yamlScalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v)
	}
}

// flagGroup is the flags of one area in the help.
type flagGroup struct {
	Title string
	Flags []*kingpin.FlagModel
}

// areas names the flag groups of the help by the part of the flag name
// before the first dot, in the order they are shown.
var areas = []struct{ prefix, title string }{
	{"", "General"},
	{"log", "Logging"},
	{"web", "Web server (ingest, /metrics, API)"},
	{"state", "State"},
	{"spool", "Spool"},
	{"checkpoint", "State"},
	{"session", "Sessions"},
	{"metrics", "Metrics"},
	{"traces", "Traces"},
	{"otlp", "Traces"},
	{"store", "Event store"},
	{"transcripts", "Tokens and cost"},
	{"prices", "Tokens and cost"},
	{"legacy", "Legacy import"},
	{"http", "HTTP hooks"},
	{"bin", "Binaries"},
	{"hook", "Binaries"},
}

// flagGroups sorts flags into the areas, keeping their order within each.
func flagGroups(flags []*kingpin.FlagModel) []flagGroup {
	var groups []flagGroup
	index := map[string]int{}
	title := func(name string) string {
		prefix, _, ok := strings.Cut(name, ".")
		if !ok {
			prefix = ""
		}
		for _, a := range areas {
			if a.prefix == prefix {
				return a.title
			}
		}
		return "General"
	}
	for _, a := range areas {
		if _, ok := index[a.title]; !ok {
			index[a.title] = len(groups)
			groups = append(groups, flagGroup{Title: a.title})
		}
	}
	for _, f := range flags {
		if f.Hidden {
			continue
		}
		i := index[title(f.Name)]
		groups[i].Flags = append(groups[i].Flags, f)
	}
	out := groups[:0]
	for _, g := range groups {
		if len(g.Flags) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// usageTemplate is kingpin's default template with the flags grouped by area.
const usageTemplate = `{{define "FormatCommand" -}}
{{if .FlagSummary}} {{.FlagSummary}}{{end -}}
{{range .Args}}{{if not .Hidden}} {{if not .Required}}[{{end}}{{if .PlaceHolder}}{{.PlaceHolder}}{{else}}<{{.Name}}>{{end}}{{if .Value|IsCumulative}}...{{end}}{{if not .Required}}]{{end}}{{end}}{{end -}}
{{end -}}

{{define "FormatCommands" -}}
{{range .FlattenedCommands -}}
{{if not .Hidden}}  {{.FullCommand}}{{if .Default}} (default){{end}}
{{.Help|Wrap 4}}
{{end -}}
{{end -}}
{{end -}}

{{define "FormatUsage" -}}
{{template "FormatCommand" .}}{{if .Commands}} <command> [<args> ...]{{end}}
{{if .Help}}
{{.Help|Wrap 0 -}}
{{end -}}

{{end -}}

{{if .Context.SelectedCommand -}}
usage: {{.App.Name}} {{.Context.SelectedCommand}}{{template "FormatUsage" .Context.SelectedCommand}}
{{- else -}}
usage: {{.App.Name}}{{template "FormatUsage" .App}}
{{- end}}
{{if .Context.Args -}}
Args:
{{.Context.Args|ArgsToTwoColumns|FormatTwoColumns}}
{{end -}}
{{range .Context.Flags|FlagGroups -}}
{{.Title}} flags:
{{.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{end -}}
{{if not .Context.SelectedCommand -}}
{{if .App.Commands -}}
Commands:
{{template "FormatCommands" .App -}}
Run "{{.App.Name}} <command> --help" for the flags of a command.
{{end -}}
{{end -}}
`
