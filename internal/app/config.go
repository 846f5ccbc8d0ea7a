package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// stateDir is $XDG_STATE_HOME/claude-hooks-exporter, the default home of the
// spool, checkpoint and store, shared by hook and serve without configuration.
func stateDir(env func(string) string) string {
	if d := env("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "claude-hooks-exporter")
	}
	home := env("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	return filepath.Join(home, ".local", "state", "claude-hooks-exporter")
}

// parseFlags parses args into fs, after applying the YAML config file named by
// --config.file (if fs defines it). Command-line flags win over the file. The
// file is strict: a key that names no flag is an error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage{err}
	}
	if fs.NArg() > 0 && fs.Name() != "import" {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cf := fs.Lookup("config.file")
	if cf == nil || cf.Value.String() == "" {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return applyConfigFile(fs, cf.Value.String(), set)
}

func applyConfigFile(fs *flag.FlagSet, path string, set map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		return fmt.Errorf("parse config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || k == "config.file" {
			errs = append(errs, fmt.Errorf("config file %s: unknown key %q (keys are flag names, e.g. web.listen-address)", path, k))
			continue
		}
		if set[k] {
			continue
		}
		if err := fs.Set(k, yamlScalar(values[k])); err != nil {
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
